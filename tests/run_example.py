#!/usr/bin/env python3
"""run_example.py EXE EXPECTED: runs a lesson and compares its standard
output with the expected-output file, so that lessons never rot. Under the
'valgrindscripts' test setup, $CFUT_TEST_WRAPPER (valgrind) wraps the lesson."""
import os, shlex, subprocess, sys

exe, expected = sys.argv[1], sys.argv[2]
wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
r = subprocess.run(wrapper + [exe], capture_output=True, text=True,
                   timeout=300)
want = open(expected).read()
ok = True
if r.returncode != 0:
    print(f"{exe} exited with {r.returncode}")
    ok = False
if r.stdout != want:
    import difflib
    print("output differs from", expected)
    sys.stdout.writelines(difflib.unified_diff(
        want.splitlines(True), r.stdout.splitlines(True), "expected", "got"))
    ok = False
if r.stderr:
    sys.stderr.write(r.stderr)
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
