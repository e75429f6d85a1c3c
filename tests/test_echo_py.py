#!/usr/bin/env python3
"""test_echo_py.py CFUT_ECHO ECHO_CLIENT: starts `cfut-echo serve --listen
127.0.0.1:0 --shuffle` (under $CFUT_TEST_WRAPPER when set: valgrind in the
'valgrindscripts' setup), reads the port it prints, runs the
standard-library Python client (tests/echo_client.py) against it, then
stops the server with SIGTERM and requires a clean exit (status 0: under
valgrind, no leak and no error). Exits non-zero unless the Python client got
every echo back. First it runs the client's self-test (error statuses as
docs/wire-format.md has them)."""
import os
import shlex
import signal
import subprocess
import sys

echo, client = sys.argv[1], sys.argv[2]
wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
slow = 10 if wrapper else 1
# The client's decoding of error statuses against docs/wire-format.md.
subprocess.run([sys.executable, client, "--self-test"], check=True,
               timeout=60)
srv = subprocess.Popen(wrapper + [echo, "serve", "--listen", "127.0.0.1:0",
                                  "--shuffle"],
                       stdout=subprocess.PIPE, text=True)
rc = 1
try:
    line = srv.stdout.readline()
    print(line.strip())
    if not line.startswith("listening on "):
        sys.exit("cfut-echo did not start: %r" % line)
    port = line.split()[2].rsplit(":", 1)[1]
    r = subprocess.run([sys.executable, client, "127.0.0.1", port, "2000",
                        "64"], timeout=120 * slow)
    rc = r.returncode
finally:
    srv.send_signal(signal.SIGTERM)
    try:
        code = srv.wait(timeout=60 * slow)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()
        sys.exit("cfut-echo did not stop after SIGTERM")
if code != 0:
    sys.exit("cfut-echo exited with status %d after SIGTERM" % code)
print("cfut-echo stopped cleanly after SIGTERM")
sys.exit(rc)
