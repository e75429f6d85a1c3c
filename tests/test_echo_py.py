#!/usr/bin/env python3
"""test_echo_py.py CFUT_ECHO ECHO_CLIENT: starts `cfut-echo serve --listen
127.0.0.1:0 --shuffle`, reads the port it prints, runs the standard-library
Python client (tests/echo_client.py) against it, then stops the server.
Exits non-zero unless the Python client got every echo back. First it
runs the client's self-test (error statuses as docs/wire-format.md has
them)."""
import subprocess
import sys

echo, client = sys.argv[1], sys.argv[2]
# The client's decoding of error statuses against docs/wire-format.md.
subprocess.run([sys.executable, client, "--self-test"], check=True,
               timeout=60)
srv = subprocess.Popen([echo, "serve", "--listen", "127.0.0.1:0", "--shuffle"],
                       stdout=subprocess.PIPE, text=True)
try:
    line = srv.stdout.readline()
    print(line.strip())
    if not line.startswith("listening on "):
        sys.exit("cfut-echo did not start: %r" % line)
    port = line.split()[2].rsplit(":", 1)[1]
    r = subprocess.run([sys.executable, client, "127.0.0.1", port, "2000",
                        "64"], timeout=120)
    sys.exit(r.returncode)
finally:
    srv.kill()
    srv.wait()
