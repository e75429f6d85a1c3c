#!/usr/bin/env python3
"""check_without_check.py SRCDIR SANITIZE: `meson setup` works on a machine
without the Check library: configured with pkg-config and cmake unable to
find it (every other .pc file stays visible: only check.pc is hidden),
cfut configures, says that the Check suites are skipped, and
registers its other tests (lessons, build checks) but no Check suite."""
import json, os, subprocess, sys, tempfile

srcdir, sanitize = os.path.realpath(sys.argv[1]), sys.argv[2]
failures = []
with tempfile.TemporaryDirectory() as tmp:
    build = os.path.join(tmp, "build")
    # A pkg-config search path with every .pc file of this machine but
    # Check's, so that the other dependencies (nettle) are still found.
    pcdir = os.path.join(tmp, "pc")
    os.mkdir(pcdir)
    pc_path = subprocess.run(["pkg-config", "--variable", "pc_path",
                              "pkg-config"], capture_output=True, text=True,
                             check=True).stdout.strip()
    for d in pc_path.split(":") + os.environ.get("PKG_CONFIG_PATH",
                                                 "").split(":"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            dst = os.path.join(pcdir, name)
            if name.endswith(".pc") and name != "check.pc" and \
                    not os.path.exists(dst):
                os.symlink(os.path.join(d, name), dst)
    env = dict(os.environ, PKG_CONFIG_LIBDIR=pcdir, PKG_CONFIG_PATH="")
    opts = []
    if sanitize != "none":
        opts = [f"-Db_sanitize={sanitize}", "-Db_lundef=false"]
    r = subprocess.run(["meson", "setup", build, srcdir] + opts, env=env,
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    if r.returncode != 0:
        failures.append(f"meson setup failed without Check:\n{out}")
    else:
        if "dependency check found: NO" not in out:
            failures.append("Check was found after all: the test proves "
                            "nothing here")
        if "the Check suites are skipped" not in out:
            failures.append("no message saying the Check suites are skipped")
        tests = json.loads(subprocess.run(
            ["meson", "introspect", build, "--tests"], capture_output=True,
            text=True, check=True).stdout)
        names = sorted(t["name"] for t in tests)
        print(f"{len(names)} tests registered without Check")
        if any(n in ("future", "executor", "mpsc") for n in names):
            failures.append(f"Check suites registered anyway: {names}")
        if "readme-blocks" not in names or "01_poll_by_hand" not in names:
            failures.append(f"the other tests are missing: {names}")

for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
