#!/usr/bin/env python3
"""oom_sweep.py BUILDDIR [--max-n N] [--jobs J] [--only NAME...]

The allocation-failure sweep ('./run test --oom'): reruns every test case
of every Check suite of BUILDDIR (an ASan+UBSan build) with "fail the Nth
allocation" for N = 1, 2, ... 32, then growing by a third each time, until
a run no longer reaches N (or N passes --max-n), then the same with "fail every allocation from the Nth on".
testkit's counting allocator does the failing (CFUT_OOM_NTH, CFUT_OOM_MODE)
and logs where it failed (CFUT_OOM_LOG).

Each test of each run must end cleanly:
- it passes: its own assertions held, and its teardown found no block
  and no waker still alive (a leak fails the teardown);
- or one of its own assertions failed after the injected failure: a call
  reported the failure to the test, which expected success (the sweep
  counts these; it cannot tell which call it was);
- never a crash, a sanitizer report, a timeout, a misuse abort, a leak
  (the teardown's counts of blocks and wakers), or an assertion failing
  in a run where nothing was injected.
It prints the number of (test case, N) runs, of test runs, the distinct
allocation sites reached, and every defect; exit status 1 if any.
"""
import argparse, concurrent.futures, json, os, re, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("builddir")
ap.add_argument("--max-n", type=int, default=300)
ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
ap.add_argument("--only", nargs="*", default=[])
ap.add_argument("--timeout", type=int, default=20)
args = ap.parse_args()

tests = json.loads(subprocess.run(
    ["meson", "introspect", args.builddir, "--tests"],
    check=True, capture_output=True, text=True).stdout)
exes = {}
for t in tests:
    cmd = t["cmd"]
    if cmd and os.path.basename(cmd[0]).startswith("test_") and \
            os.access(cmd[0], os.X_OK) and \
            open(cmd[0], "rb").read(4) == b"\x7fELF":
        if not args.only or t["name"] in args.only:
            exes[t["name"]] = cmd[0]

# Check's verbose lines: FILE:LINE:RESULT:TCASE:TEST:ITER: MESSAGE
LINE = re.compile(r"^[^:\n]*:\d+:([PFE]):([^:]+):([^:]+):\d+: ?(.*)$", re.M)
DEFECT_MSG = re.compile(r"leaked|not dropped|Received signal|timeout|"
                        r"Early exit", re.I)


def run(exe, tcase, n, mode, log):
    env = dict(os.environ, CK_RUN_CASE=tcase, CK_VERBOSITY="verbose",
               CK_FORK="yes", CK_DEFAULT_TIMEOUT=str(args.timeout),
               CFUT_OOM_NTH=str(n), CFUT_OOM_MODE=mode, CFUT_OOM_LOG=log,
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    try:
        r = subprocess.run([exe], env=env, capture_output=True, text=True,
                           timeout=args.timeout * 20)
        out = r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        out = f"x:0:E:{tcase}:(whole case):0: the run did not end\n"
    return LINE.findall(out)


def list_cases(exe):
    env = dict(os.environ, CK_VERBOSITY="verbose", CK_FORK="yes",
               ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([exe], env=env, capture_output=True, text=True,
                       timeout=600)
    cases = []
    for res, tcase, test, msg in LINE.findall(r.stdout + r.stderr):
        if tcase not in cases:
            cases.append(tcase)
    return cases


def sweep(name, exe, tcase):
    """Returns (runs, test_runs, asserted, sites, defects, last_n)."""
    runs = test_runs = asserted = 0
    sites, defects = set(), []
    last = {}
    for mode in ("once", "from"):
        n = 1
        while n <= args.max_n:
            fd, log = tempfile.mkstemp(prefix="oom-")
            os.close(fd)
            results = run(exe, tcase, n, mode, log)
            injected = open(log).read().splitlines()
            os.unlink(log)
            runs += 1
            test_runs += len(results)
            for line in injected:
                sites.add(" ".join(line.split()[2:]))
            for res, tc, test, msg in results:
                if res == "P":
                    continue
                where = f"{name}:{tc}:{test} N={n} {mode}"
                if res == "E" or DEFECT_MSG.search(msg):
                    defects.append(f"{where}: {msg}")
                elif not injected:
                    defects.append(f"{where}: failed without an injected "
                                   f"failure: {msg}")
                else:
                    asserted += 1
            if not injected:
                break
            # Every N up to 32, then a third further each time: the early
            # allocations (setup, first use) are where paths differ most.
            n = n + 1 if n < 32 else n + max(1, n // 3)
        last[mode] = n
    return runs, test_runs, asserted, sites, defects, last


jobs = []
with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
    for name, exe in sorted(exes.items()):
        for tcase in list_cases(exe):
            jobs.append(pool.submit(sweep, name, exe, tcase))
    total_runs = total_tests = total_asserted = 0
    all_sites, all_defects = set(), []
    capped = 0
    for j in jobs:
        runs, test_runs, asserted, sites, defects, last = j.result()
        total_runs += runs
        total_asserted += asserted
        total_tests += test_runs
        all_sites |= sites
        all_defects += defects
        capped += sum(1 for v in last.values() if v > args.max_n)

for d in all_defects:
    print("DEFECT", d)
print(f"oom sweep: {len(exes)} suites, {len(jobs)} test cases, "
      f"{total_runs} (test case, N) runs, {total_tests} test runs "
      f"({total_asserted} ended on the test's assertion after the failure), "
      f"{len(all_sites)} distinct allocation sites failed, "
      f"{capped} sweeps stopped at --max-n {args.max_n}, "
      f"{len(all_defects)} defects")
sys.exit(1 if all_defects else 0)
