#!/usr/bin/env python3
"""sweep.py oom|faults BUILDDIR [--max-n N] [--seeds S] [--jobs J]
                                [--only SUITE...]

Reruns the Check suites of BUILDDIR (an ASan+UBSan build) under injected
failures, and checks that every test still ends cleanly.

sweep.py oom: the allocation-failure sweep ('./run test --oom'): reruns every test case
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

sweep.py faults: the system-call fault sweep ('./run test --faults'): runs
the suites that make system calls with tests/faults/cfut_faults.c preloaded,
for seeds 1..S, in two modes (see that file): 'transparent' faults (EINTR,
short writes), under which every test must pass as it does without them;
and 'errors' (ECONNRESET, ENOMEM, EMFILE, ENFILE), under which a test may
fail its own assertions after a fault but never crash, hang or leak. A
failing seed replays with CFUT_FAULT_MODE, CFUT_FAULT_SEED and
LD_PRELOAD as the defect line prints them.
"""
import argparse, concurrent.futures, json, os, re, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("kind", choices=["oom", "faults"])
ap.add_argument("builddir")
ap.add_argument("--seeds", type=int, default=20)
ap.add_argument("--rate", type=int, default=16)
ap.add_argument("--modes", nargs="*", default=["transparent", "errors"])
ap.add_argument("--max-n", type=int, default=300)
ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
ap.add_argument("--only", nargs="*", default=[])
ap.add_argument("--timeout", type=int, default=20)
args = ap.parse_args()
if os.environ.get("CFUT_TEST_WRAPPER"):
    # Under valgrind's test setup: the sweeps run the ASan build's tests.
    print("sweep.py: not under a test wrapper (valgrind)")
    sys.exit(77)

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
# Check's and testkit's own words for a defect, whole phrases: a test's
# assertion quotes its expression, so a bare word ("timeout" in
# cfut_request_init_timeout) would make a clean failure a defect.
DEFECT_MSG = re.compile(r"allocation\(s\) leaked|counting waker\(s\) not dropped|"
                        r"Received signal|Test timeout expired|"
                        r"Early exit with return value")


def run(exe, extra_env, tcase=None):
    """Runs a Check suite (one test case, or all) with 'extra_env'; returns
    its verbose result lines (RESULT, TCASE, TEST, MESSAGE)."""
    env = dict(os.environ, CK_VERBOSITY="verbose", CK_FORK="yes",
               CK_DEFAULT_TIMEOUT=str(args.timeout),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:"
                            "verify_asan_link_order=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
               **extra_env)
    if tcase is not None:
        env["CK_RUN_CASE"] = tcase
    try:
        r = subprocess.run([exe], env=env, capture_output=True, text=True,
                           timeout=args.timeout * 20)
        out = r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        out = f"x:0:E:{tcase}:(whole run):0: the run did not end\n"
    return LINE.findall(out)


def list_cases(exe):
    cases = []
    for res, tcase, test, msg in run(exe, {}):
        if tcase not in cases:
            cases.append(tcase)
    return cases


def judge(results, where, injected, must_pass):
    """Classifies one run's results: (asserted, defects)."""
    asserted, defects = 0, []
    for res, tc, test, msg in results:
        if res == "P":
            continue
        w = f"{where} {tc}:{test}"
        if res == "E" or DEFECT_MSG.search(msg) or must_pass:
            defects.append(f"{w}: {msg}")
        elif not injected:
            defects.append(f"{w}: failed with nothing injected: {msg}")
        else:
            asserted += 1
    return asserted, defects


class Tally:
    def __init__(self):
        self.runs = self.tests = self.asserted = self.capped = 0
        self.injected = 0
        self.sites, self.defects = set(), []

    def add(self, other):
        for k in ("runs", "tests", "asserted", "capped", "injected"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.sites |= other.sites
        self.defects += other.defects


def log_file():
    fd, path = tempfile.mkstemp(prefix="sweep-")
    os.close(fd)
    return path


def sweep_oom(name, exe, tcase):
    t = Tally()
    for mode in ("once", "from"):
        n = 1
        while True:
            if n > args.max_n:
                t.capped += 1
                break
            log = log_file()
            results = run(exe, {"CFUT_OOM_NTH": str(n), "CFUT_OOM_MODE": mode,
                                "CFUT_OOM_LOG": log}, tcase)
            injected = open(log).read().splitlines()
            os.unlink(log)
            t.runs += 1
            t.tests += len(results)
            t.injected += len(injected)
            for line in injected:
                t.sites.add(" ".join(line.split()[2:]))
            a, d = judge(results, f"{name} N={n} {mode}:", injected, False)
            t.asserted += a
            t.defects += d
            if not injected:
                break
            # Every N up to 32, then a third further each time: the early
            # allocations (setup, first use) are where paths differ most.
            n = n + 1 if n < 32 else n + max(1, n // 3)
    return t


def sweep_faults(name, exe, seed, mode):
    t = Tally()
    log = log_file()
    env = {"LD_PRELOAD": preload, "CFUT_FAULT_MODE": mode,
           "CFUT_FAULT_SEED": str(seed), "CFUT_FAULT_RATE": str(args.rate),
           "CFUT_FAULT_LOG": log}
    results = run(exe, env)
    n = sum(1 for l in open(log).read().splitlines()
            if l.startswith("fault "))
    os.unlink(log)
    t.runs, t.tests, t.injected = 1, len(results), n
    replay = " ".join(f"{k}={v}" for k, v in env.items()
                      if k != "CFUT_FAULT_LOG")
    a, d = judge(results, f"{name} ({replay} {exe}):", n > 0,
                 mode == "transparent")
    t.asserted, t.defects = a, d
    return t


# The suites that make system calls: the reactor, I/O, networking, the
# transport and what runs on them.
FAULT_SUITES = ["executor", "driver", "reactor", "time", "io", "fd_stream",
                "tcp", "signal", "blocking", "bufio", "server", "transport",
                "ws"]
preload = os.path.join(args.builddir, "tests", "libcfut_faults.so")

total = Tally()
jobs = []
with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
    for name, exe in sorted(exes.items()):
        if args.kind == "oom":
            for tcase in list_cases(exe):
                jobs.append(pool.submit(sweep_oom, name, exe, tcase))
        elif name in FAULT_SUITES:
            for seed in range(1, args.seeds + 1):
                for mode in args.modes:
                    jobs.append(pool.submit(sweep_faults, name, exe, seed,
                                            mode))
    for j in jobs:
        try:
            total.add(j.result())
        except Exception as e:  # a run that could not start: say so, go on
            t = Tally()
            t.defects.append(f"a run could not be made: {e!r}")
            total.add(t)

for d in total.defects:
    print("DEFECT", d)
if args.kind == "oom":
    print(f"oom sweep: {len(exes)} suites, {len(jobs)} test cases, "
          f"{total.runs} (test case, N) runs, {total.tests} test runs "
          f"({total.asserted} ended on the test's assertion after the "
          f"failure), {len(total.sites)} distinct allocation sites failed, "
          f"{total.capped} sweeps stopped at --max-n {args.max_n}, "
          f"{len(total.defects)} defects")
else:
    print(f"fault sweep: {len(jobs)} runs (suite, seed, mode) of "
          f"{len(set(n for n in exes if n in FAULT_SUITES))} suites, "
          f"{total.tests} test runs, {total.injected} faults injected, "
          f"{total.asserted} tests ended on their assertion after a fault, "
          f"{len(total.defects)} defects")
sys.exit(1 if total.defects else 0)
