#!/usr/bin/env python3
"""run_ws_test.py CFUT_ECHO WS_TEST_MJS: starts `cfut-echo serve --ws-listen
127.0.0.1:0 --shuffle --delay-ms 5` (under $CFUT_TEST_WRAPPER when set:
valgrind in the memcheck pass), runs the Node.js client (tests/ws, the npm
package `ws`) against the port it prints, then stops the server with
SIGTERM and requires a clean exit: the server frees everything it holds
and the sanitizer or valgrind finds no leak or error.

Exits 77 (meson's SKIP) with the reason when Node.js or the `ws` package
is missing (./run test installs both), never 0 without running."""
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading

SKIP = 77


def main():
    echo, script = sys.argv[1], os.path.abspath(sys.argv[2])
    here = os.path.dirname(script)
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        print("SKIP: Node.js is not installed (./run test installs nodejs)")
        return SKIP
    if not os.path.isfile(os.path.join(here, "node_modules", "ws",
                                       "package.json")):
        print("SKIP: the npm package ws is not installed in %s "
              "(./run test runs npm ci there)" % here)
        return SKIP

    wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
    slow = bool(wrapper)
    cmd = wrapper + [echo, "serve", "--ws-listen", "127.0.0.1:0",
                     "--shuffle", "--delay-ms", "5"]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    port = None
    try:
        line = srv.stdout.readline()
        print(line.strip())
        if not line.startswith("listening on ws://"):
            print("cfut-echo did not start: %r" % line)
            return 1
        port = line.split()[2].rsplit(":", 1)[1].rstrip("/")
        # Keep reading the server's output so it never blocks on a pipe.
        threading.Thread(target=lambda: [print("server:", l.rstrip())
                                         for l in srv.stdout],
                         daemon=True).start()
        r = subprocess.run([node, script, port],
                           timeout=600 if slow else 120)
        if r.returncode != 0:
            print("the Node.js client failed (exit %d)" % r.returncode)
            return 1
    except subprocess.TimeoutExpired:
        print("the Node.js client timed out")
        return 1
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
        try:
            rc = srv.wait(timeout=300 if slow else 30)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
            print("cfut-echo did not stop after SIGTERM")
            return 1
    if rc != 0:
        print("cfut-echo exited with %d after SIGTERM (a leak or an error "
              "report above?)" % rc)
        return 1
    print("cfut-echo stopped cleanly after SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
