#!/usr/bin/env python3
"""check_subproject.py SRCDIR SANITIZE: cfut as a meson subproject builds
only the library. Configures a small parent project whose
subprojects/cfut is this source tree and which takes dependency('cfut'),
with this build's sanitizer (SANITIZE, as b_sanitize); counts what cfut
contributes (libraries only: no executable, no test); builds the parent's
program and runs it. Then asks for cfut's tests and lessons
(-Dcfut:examples=enabled -Dcfut:tests=enabled) and checks that they
appear."""
import json, os, subprocess, sys, tempfile

srcdir, sanitize = os.path.realpath(sys.argv[1]), sys.argv[2]

PARENT = """project('parent', 'c', default_options: ['c_std=c11'])
cfut_dep = dependency('cfut')
executable('app', 'app.c', dependencies: cfut_dep)
"""
APP = """#include <cfut.h>
#include <stdio.h>

int main(void) {
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    uint64_t v = 42, out = 0;
    struct cfut_ready r;
    cfut_ready_init(&r, &v, sizeof v);
    int rc = cfut_block_on(ex, &r.base, &out);
    printf("%llu\\n", (unsigned long long)out);
    cfut_executor_free(ex);
    return rc;
}
"""


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r.stdout


def cfut_targets(build):
    targets = json.loads(run(["meson", "introspect", build, "--targets"]))
    tests = json.loads(run(["meson", "introspect", build, "--tests"]))
    mine = [t for t in targets if t.get("subproject") == "cfut"]
    kinds = {}
    for t in mine:
        kinds[t["type"]] = kinds.get(t["type"], 0) + 1
    n_tests = sum(1 for t in tests if t["name"] and
                  any(s.startswith("cfut:") for s in t.get("suite", [])))
    return mine, kinds, n_tests


failures = []
with tempfile.TemporaryDirectory() as tmp:
    parent = os.path.join(tmp, "parent")
    os.makedirs(os.path.join(parent, "subprojects"))
    os.symlink(srcdir, os.path.join(parent, "subprojects", "cfut"))
    with open(os.path.join(parent, "meson.build"), "w") as f:
        f.write(PARENT)
    with open(os.path.join(parent, "app.c"), "w") as f:
        f.write(APP)
    build = os.path.join(tmp, "build")
    opts = []
    if sanitize != "none":
        opts = [f"-Db_sanitize={sanitize}", "-Db_lundef=false"]
    run(["meson", "setup", build, parent] + opts)

    mine, kinds, n_tests = cfut_targets(build)
    print(f"cfut as a subproject: {len(mine)} targets {kinds}, "
          f"{n_tests} tests")
    others = sorted(t["name"] for t in mine if not t["type"].endswith(
        "library"))
    if others:
        failures.append(f"cfut builds more than its library: {others}")
    if n_tests != 0:
        failures.append(f"cfut registers {n_tests} tests as a subproject")
    if not any(t["name"] == "cfut" and t["type"] == "shared library"
               for t in mine):
        failures.append("no shared library 'cfut' among cfut's targets")

    run(["ninja", "-C", build, "app"])
    out = run([os.path.join(build, "app")]).strip()
    print(f"the parent's app printed {out!r}")
    if out != "42":
        failures.append(f"the parent's app printed {out!r}, not '42'")

    run(["meson", "setup", "--reconfigure", build, parent,
         "-Dcfut:examples=enabled", "-Dcfut:tests=enabled"] + opts)
    mine, kinds, n_tests = cfut_targets(build)
    print(f"asked for tests and lessons: {len(mine)} targets {kinds}, "
          f"{n_tests} tests")
    if kinds.get("executable", 0) == 0 or n_tests == 0:
        failures.append("asking for cfut's tests and lessons added none")

for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
