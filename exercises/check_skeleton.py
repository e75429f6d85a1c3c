#!/usr/bin/env python3
"""check_skeleton.py CHECK: proves that no check of an exercise passes
vacuously. CHECK is a check program built with the exercise's untouched
skeleton; each of its checks (CHECK --list) is run alone (CHECK --only
NAME) and must report FAIL: exit status 1 and a FAIL line. A check that
passes on the skeleton checks nothing the learner has to write.

The skeleton is meant to fail, so it runs without $CFUT_TEST_WRAPPER
(valgrind would only report what an unfinished exercise does not free),
and each check forks (exkit's default) so that a crash fails that check
alone."""
import os, subprocess, sys

check = sys.argv[1]
env = dict(os.environ)
env.pop("CK_FORK", None)
names = subprocess.run([check, "--list"], capture_output=True, text=True,
                       check=True, env=env).stdout.split()
if not names:
    print(f"{check} --list names no check")
    sys.exit(1)
bad = []
for name in names:
    r = subprocess.run([check, "--only", name], capture_output=True,
                       text=True, timeout=120, env=env)
    failed = r.returncode == 1 and "  FAIL  " in r.stdout
    print(f"{name}: {'fails on the skeleton, as it should' if failed else 'DOES NOT FAIL on the skeleton'}")
    if not failed:
        bad.append(name)
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
print(f"{len(names) - len(bad)} passed, {len(bad)} failed")
sys.exit(1 if bad else 0)
