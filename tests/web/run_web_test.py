#!/usr/bin/env python3
"""run_web_test.py SRCDIR CFUT_ECHO SCREENSHOT: the page of examples/web in
a real browser. Builds cfut for WebAssembly (web/build.sh, cached in
SRCDIR/build/web), starts `cfut-echo serve --ws-listen 127.0.0.1:0` (under
$CFUT_TEST_WRAPPER when set: valgrind in the memcheck pass) and runs
web_test.mjs, which serves the page, drives Debian's chromium (headless,
through the npm package playwright-core) and kills the server mid-run.

Exits 77 (meson's SKIP) with the reason when chromium, emscripten,
Node.js or playwright-core is missing (./run test installs them), never
0 without running."""
import os
import shlex
import shutil
import subprocess
import sys
import threading

SKIP = 77


def main():
    src, echo, shot = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    here = os.path.join(src, "tests", "web")
    node = shutil.which("node") or shutil.which("nodejs")
    chromium = shutil.which("chromium")
    missing = [what for what, ok in [
        ("Node.js (apt-get install nodejs)", node),
        ("chromium (apt-get install chromium)", chromium),
        ("emscripten (apt-get install emscripten)", shutil.which("emcc")),
        ("the npm package playwright-core (npm ci in tests/web)",
         os.path.isfile(os.path.join(here, "node_modules", "playwright-core",
                                     "package.json"))),
    ] if not ok]
    if missing:
        print("SKIP: missing " + ", ".join(missing) + " (./run test "
              "installs them)")
        return SKIP

    b = subprocess.run([os.path.join(src, "web", "build.sh"),
                        os.path.join(src, "build", "web")],
                       stdout=subprocess.PIPE, text=True)
    if b.returncode != 0:
        print("the WebAssembly build failed (web/build.sh)")
        return 1
    pagedir = b.stdout.strip().splitlines()[-1]

    wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
    slow = bool(wrapper)
    srv = subprocess.Popen(wrapper + [echo, "serve", "--ws-listen",
                                      "127.0.0.1:0"],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        print(line.strip())
        if not line.startswith("listening on ws://"):
            print("cfut-echo did not start: %r" % line)
            return 1
        port = line.split()[2].rsplit(":", 1)[1].rstrip("/")
        threading.Thread(target=lambda: [print("server:", l.rstrip())
                                         for l in srv.stdout],
                         daemon=True).start()
        env = dict(os.environ, CHROMIUM=chromium)
        r = subprocess.run([node, os.path.join(here, "web_test.mjs"),
                            pagedir, port, str(srv.pid), shot,
                            "slow" if slow else "fast"],
                           env=env, timeout=900 if slow else 300)
        return 0 if r.returncode == 0 else 1
    except subprocess.TimeoutExpired:
        print("the browser test timed out")
        return 1
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()


if __name__ == "__main__":
    sys.exit(main())
