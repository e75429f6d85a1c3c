#!/usr/bin/env python3
"""bench/report.py: turns a benchmark run into bench/RESULTS.md, the plot
bench/results.svg and the headline block of bench/README.md.

    report.py RUN.jsonl [--count COUNT.jsonl] [--out-dir bench]
    report.py --callgrind PREFIX     (used by run_bench --count)

RUN.jsonl is a run saved by bench/run_bench (bench/runs/<date>.jsonl): a
{"meta": ...} line, then the JSON lines of bench/README.md. COUNT.jsonl is
the matching instruction-count run ({"name", "impl", "instr_per_op"}).

--callgrind PREFIX reads the callgrind dumps PREFIX.1, PREFIX.2, ... that
benchkit's --count mode triggers (labelled "benchkit NAME IMPL OPS", one
for one batch and one for two batches of the same workload) and prints one
line per workload and impl: instr_per_op = (I(2 batches) - I(1 batch)) /
(ops(2) - ops(1)), so start-up and per-call set-up cancel out.
"""

import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

# The workloads of bench/README.md (and the issues), in report order.
ORDER = [
    "spawn_complete",
    "coro_await_ready",
    "oneshot_create_send_recv",
    "oneshot_pingpong",
    "mpsc_throughput",
    "join_ready_2",
    "join_ready_8",
    "join_ready_64",
    "join_pending_8",
    "join_pending_64",
    "join_pending_1024",
    "select_2",
    "and_then_chain_1",
    "and_then_chain_10",
    "and_then_chain_100",
    "timer_insert_cancel",
    "timer_insert_cancel_1000000",
    "socketpair_rtt",
    "reqresp_socketpair_inflight_1",
    "reqresp_socketpair_inflight_64",
    "http_keepalive_c1",
    "http_keepalive_c50",
    "http_keepalive_c500",
]

# Columns of the plot: (label, predicate on impl names).
PLOT_GROUPS = [
    ("floor", lambda i: is_floor(i)),
    ("cfut", None),
    ("futures-rs (best)", lambda i: i.startswith("futures-rs")),
    ("tokio-current-thread", lambda i: i == "tokio-current-thread"),
    ("tokio-multi-thread", lambda i: i == "tokio-multi-thread"),
]


def is_cfut(impl):
    return impl == "cfut" or impl.startswith("cfut-")


def is_floor(impl):
    return impl == "floor" or impl.startswith("floor-")


def is_peer(impl):
    return not is_floor(impl) and not is_cfut(impl)


# ---- callgrind dumps ---------------------------------------------------------


def parse_callgrind(prefix):
    """Prints instr_per_op lines from the dumps PREFIX.N."""
    dumps = []
    for path in glob.glob(glob.escape(prefix) + ".*"):
        suffix = path[len(prefix) + 1:]
        if not suffix.isdigit():
            continue
        label = total = None
        with open(path, errors="replace") as f:
            for line in f:
                tag = "desc: Trigger: Client Request: "
                if line.startswith(tag):
                    label = line[len(tag):].strip()
                elif line.startswith("totals:") or line.startswith("summary:"):
                    total = int(line.split()[1])
        if label and label.startswith("benchkit ") and total is not None:
            dumps.append((int(suffix), label, total))
    dumps.sort()
    seen = {}
    order = []
    for _, label, total in dumps:
        _, name, impl, ops = label.split(" ")
        key = (name, impl)
        if key not in seen:
            seen[key] = []
            order.append(key)
        seen[key].append((int(ops), total))
    for key in order:
        pts = sorted(seen[key])
        if len(pts) < 2 or pts[-1][0] == pts[0][0]:
            continue
        (o1, i1), (o2, i2) = pts[0], pts[-1]
        line = {
            "name": key[0],
            "impl": key[1],
            "instr_per_op": round((i2 - i1) / (o2 - o1), 2),
            "instr_per_op_incl_setup": round(i1 / o1, 2),
            "ops": o2 - o1,
        }
        print(json.dumps(line))
    sys.stdout.flush()


# ---- loading runs --------------------------------------------------------------


def load(path):
    meta, rows = {}, []
    if not path:
        return meta, rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if "meta" in obj:
                meta.update(obj["meta"])
            elif "meta_end" in obj:
                meta.update(obj["meta_end"])
            elif "name" in obj and "impl" in obj:
                rows.append(obj)
    return meta, rows


def workload_order(names):
    known = [n for n in ORDER if n in names]
    return known + sorted(n for n in names if n not in ORDER)


def workload_rank(name):
    return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)


def impl_rank(impl):
    if is_floor(impl):
        return (0, impl)
    if is_cfut(impl):
        return (1, impl)
    return (2, impl)


# ---- formatting ----------------------------------------------------------------


def fmt_ns(x):
    if x is None:
        return "–"
    if x >= 1000:
        return "%.2f µs" % (x / 1000)
    if x >= 100:
        return "%.0f ns" % x
    if x >= 10:
        return "%.1f ns" % x
    return "%.2f ns" % x


def fmt_ratio(x):
    if x is None:
        return "–"
    if x >= 100:
        return "%.0f×" % x
    if x >= 10:
        return "%.1f×" % x
    return "%.2f×" % x


def fmt_instr(x):
    if x is None:
        return "–"
    return "%.1f" % x if x < 100 else "%.0f" % x


class Results:
    def __init__(self, rows, counts):
        self.t = {}  # name -> impl -> row
        for r in rows:
            if "ns_per_op" in r:
                self.t.setdefault(r["name"], {})[r["impl"]] = r
        self.c = {}  # name -> impl -> instr/op
        for r in counts:
            if "instr_per_op" in r:
                self.c.setdefault(r["name"], {})[r["impl"]] = r["instr_per_op"]
        self.names = workload_order(set(self.t) | set(self.c))
        self.sys = {}  # (name, impl) -> system calls per op

    def add_syscalls(self, rows):
        for r in rows:
            if "syscalls_per_op" in r:
                self.sys[(r["name"], r["impl"])] = r["syscalls_per_op"]

    def ns(self, name, impl):
        r = self.t.get(name, {}).get(impl)
        return r["ns_per_op"] if r else None

    def floor_impl(self, name, impl="cfut"):
        """The floor that impl is measured against: floor-X for cfut-X when
        the program has one, else floor (else the fastest floor-*)."""
        row = self.t.get(name, {})
        if impl.startswith("cfut-") and "floor-" + impl[5:] in row:
            return "floor-" + impl[5:]
        if "floor" in row:
            return "floor"
        return self.best(name, is_floor)[0]

    def floor(self, name, impl="cfut"):
        f = self.floor_impl(name, impl)
        return None if f is None else self.ns(name, f)

    def cfut_floor(self, name):
        """(cfut impl, cfut ns, floor impl, floor ns) for the best variant."""
        ci, cn = self.cfut(name)
        fi = self.floor_impl(name, ci or "cfut")
        return ci, cn, fi, None if fi is None else self.ns(name, fi)

    def best(self, name, pred):
        """(impl, ns) of the fastest impl matching pred, or (None, None)."""
        cands = [(r["ns_per_op"], i) for i, r in self.t.get(name, {}).items()
                 if pred(i)]
        if not cands:
            return None, None
        ns, impl = min(cands)
        return impl, ns

    def cfut(self, name):
        """(impl, ns) of the primary cfut figure: impl "cfut" when the
        workload has it, else "cfut-coro" (coro_await_ready: the
        hand-written coroutine; "cfut-async" is its async-function
        variant), else the fastest cfut-* variant."""
        for impl in ("cfut", "cfut-coro"):
            if self.ns(name, impl) is not None:
                return impl, self.ns(name, impl)
        return self.best(name, is_cfut)

    def instr(self, name, impl):
        return self.c.get(name, {}).get(impl)

    def peer(self, name):
        return self.best(name, is_peer)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---- system calls ----------------------------------------------------------------


def strace_counts(path):
    """{syscall: calls} from a 'strace -c' summary."""
    calls = {}
    if not path or not os.path.exists(path):
        return calls
    for line in open(path):
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(f) in (5, 6) and f[3].isdigit() and f[-1] != "total":
            try:
                float(f[0])
            except ValueError:
                continue
            calls[f[-1]] = calls.get(f[-1], 0) + int(f[3])
    return calls


def strace_line(path, base_path, name, impl, ops):
    """The syscalls_per_op line of one workload: its calls minus the
    program's start-up calls, per op."""
    one, base = strace_counts(path), strace_counts(base_path)
    by = {}
    for k, v in one.items():
        d = (v - base.get(k, 0)) / ops
        if d >= 0.005:
            by[k] = round(d, 3)
    return {"name": name, "impl": impl,
            "syscalls_per_op": round(sum(by.values()), 3), "by_call": by}


# ---- targets (issues 2-14) -----------------------------------------------------


def targets(res):
    """[(issue, text, figure, met or None)] for every target of the issues."""
    out = []

    def cf(name):
        return res.cfut(name)[1]

    def abs_t(issue, name, limit, unit_div=1.0, unit="ns"):
        v = cf(name)
        shown = None if v is None else "%s (%s)" % (fmt_ns(v), res.cfut(name)[0])
        out.append((issue, "%s ≤ %s" % (name, fmt_ns(limit)),
                    shown, None if v is None else v <= limit))

    def floor_t(issue, name, limit=2.0):
        ci, cn, fi, fn = res.cfut_floor(name)
        r = ratio(cn, fn)
        shown = None
        if r is not None:
            shown = "%s (%s %s vs %s %s)" % (fmt_ratio(r), ci, fmt_ns(cn), fi, fmt_ns(fn))
            ri = ratio(res.instr(name, ci), res.instr(name, fi))
            if ri is not None:
                shown += "; instructions %s" % fmt_ratio(ri)
        out.append((issue, "%s ≤ %g× floor" % (name, limit), shown,
                    None if r is None else r <= limit))

    def flat_t(issue, big, small, limit, what):
        r = ratio(cf(big), cf(small))
        out.append((issue, "%s per %s ≤ %g× %s" % (big, what, limit, small),
                    None if r is None else "%s (%s vs %s)" % (
                        fmt_ratio(r), fmt_ns(cf(big)), fmt_ns(cf(small))),
                    None if r is None else r <= limit))

    def peer_t(issue, name, factor, peer="tokio-current-thread"):
        r = ratio(res.ns(name, peer), cf(name))
        out.append((issue, "%s ≥ %g× faster than %s" % (name, factor, peer),
                    None if r is None else "%s (%s vs %s)" % (
                        fmt_ratio(r), fmt_ns(cf(name)), fmt_ns(res.ns(name, peer))),
                    None if r is None else r >= factor))

    abs_t(2, "spawn_complete", 15)
    floor_t(2, "coro_await_ready")
    flat_t(3, "join_pending_1024", "join_pending_8", 2, "child")
    flat_t(3, "and_then_chain_100", "and_then_chain_10", 1.5, "link")
    for n in ["join_ready_2", "join_ready_8", "join_ready_64", "join_pending_8",
              "join_pending_64", "join_pending_1024", "select_2",
              "and_then_chain_1", "and_then_chain_10", "and_then_chain_100"]:
        floor_t(3, n)
    abs_t(4, "oneshot_create_send_recv", 10)
    abs_t(4, "oneshot_pingpong", 35)
    abs_t(4, "mpsc_throughput", 8)
    for n in ["oneshot_create_send_recv", "oneshot_pingpong", "mpsc_throughput"]:
        floor_t(4, n)
    abs_t(6, "reqresp_socketpair_inflight_1", 5500)
    abs_t(6, "reqresp_socketpair_inflight_64", 190)
    peer_t(8, "spawn_complete", 10)
    peer_t(8, "oneshot_pingpong", 3)
    peer_t(8, "mpsc_throughput", 3)
    peer_t(8, "reqresp_socketpair_inflight_64", 2)
    # Issue 14 (hot paths): the ≤ 2× floor targets of the combinators,
    # mpsc and oneshot are listed above (issues 3 and 4); these are new.
    floor_t(14, "spawn_complete")
    peer_t(14, "spawn_complete", 12)
    floor_t(14, "reqresp_socketpair_inflight_64")
    peer_t(14, "reqresp_socketpair_inflight_64", 2.5)
    floor_t(14, "reqresp_socketpair_inflight_1", 1.3)
    floor_t(14, "http_keepalive_c1", 1.0)

    def sys_t(issue, name):
        c, f = res.sys.get((name, "cfut")), res.sys.get((name, "floor"))
        out.append((issue, "%s: system calls per request ≤ the floor's" % name,
                    None if c is None or f is None else "%.2f vs floor %.2f" % (c, f),
                    None if c is None or f is None else c <= f + 0.005))

    sys_t(14, "reqresp_socketpair_inflight_1")
    sys_t(14, "http_keepalive_c1")
    listed = {t[1] for t in out}
    for n in res.names:
        if res.cfut_floor(n)[1] is not None and res.cfut_floor(n)[3] is not None:
            if "%s ≤ 2× floor" % n not in listed:
                floor_t(8, n)
    return out


# ---- RESULTS.md ----------------------------------------------------------------


NOTES = ("<!-- notes: hand-written below this line; report.py keeps it when "
         "it regenerates the part above -->")


def kept_notes(path):
    """The hand-written part of an existing RESULTS.md: what follows the
    NOTES marker, or the whole file when report.py did not write it."""
    if not os.path.exists(path):
        return ""
    text = open(path).read()
    if NOTES in text:
        return text[text.index(NOTES) + len(NOTES):].strip("\n")
    if "Generated by `bench/report.py`" in text:
        return ""
    return text.strip("\n")


def write_results(path, meta, cmeta, res, run_path, count_path, svg_name, svg_count,
                  baseline=None, baseline_path=None, sys_rows=()):
    notes = kept_notes(path)
    L = []
    L.append("# cfut benchmark results")
    L.append("")
    L.append("Generated by `bench/report.py` from `%s`%s. Regenerate everything "
             "(run, count run, this file, the plot, the README headline) with "
             "`./run bench --report`; see [README.md](README.md) for how to read it."
             % (os.path.relpath(run_path, os.path.dirname(path)),
                "" if not count_path else " and `%s`" % os.path.relpath(
                    count_path, os.path.dirname(path))))
    L.append("")
    L.append("| | |")
    L.append("| --- | --- |")
    L.append("| date | %s |" % meta.get("date", "?"))
    L.append("| mode | %s%s |" % (
        "quick (3 reps ≥ 10 ms)" if meta.get("quick") else "full (7 reps ≥ 50 ms)",
        ", filter `%s`" % meta["filter"] if meta.get("filter") else ""))
    L.append("| CPU | %s, %s logical CPUs |" % (meta.get("cpu", "?"), meta.get("cpus", "?")))
    L.append("| kernel | %s |" % meta.get("kernel", "?"))
    L.append("| load average (1, 5, 15 min) | %s at the start, %s at the end |" % (
        " ".join(meta.get("loadavg_start", [])) or "?",
        " ".join(meta.get("loadavg_end", [])) or "?"))
    L.append("| C compiler | %s (%s) |" % (meta.get("cc", "?"), meta.get("build", "")))
    L.append("| Rust | %s (peers: tokio 1.24.2, futures 0.3.21 from Debian, "
             "opt-level 3, LTO) |" % (meta.get("rustc") or "not available"))
    if cmeta:
        L.append("| instruction counts | %s, `--tool=callgrind`, run %s |"
                 % (cmeta.get("valgrind", "valgrind"), cmeta.get("date", "?")))
    L.append("| machine note | a 2-core VM shared with other jobs: timings are noisy; "
             "compare only figures from one run, read medians and ratios, "
             "use the instruction counts for regressions |")
    L.append("")
    L.append("![ns per op, log scale](%s)" % svg_name)
    L.append("")
    if svg_count:
        L.append("Instructions per op (callgrind, `--count`): the same comparison "
                 "without the machine's noise.")
        L.append("")
        L.append("![instructions per op, log scale](%s)" % svg_count)
        L.append("")

    # Summary: one row per workload.
    L.append("## Summary")
    L.append("")
    L.append("Median ns per op. *cfut* is impl `cfut` (for coro_await_ready, `cfut-coro`); "
             "*cfut ÷ floor* is the abstraction's overhead (1 = free); "
             "*peer ÷ cfut* > 1 means cfut is faster than the fastest peer.")
    L.append("")
    hdr = ("| workload | floor | cfut | cfut ÷ floor | fastest cfut variant | best peer "
           "| peer ÷ cfut | tokio-ct ÷ cfut |")
    sep = "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |"
    if res.c:
        hdr += " instr/op cfut | instr/op floor | instr ÷ floor |"
        sep += " ---: | ---: | ---: |"
    L.append(hdr)
    L.append(sep)
    for n in res.names:
        ci, cn, fi, fl = res.cfut_floor(n)
        pi, pn = res.peer(n)
        bi, bn = res.best(n, is_cfut)
        bfn = res.floor(n, bi) if bi else None
        row = "| `%s` | %s%s | %s%s | %s | %s | %s | %s | %s |" % (
            n, fmt_ns(fl), "" if fi in (None, "floor") else " (%s)" % fi, fmt_ns(cn),
            "" if ci in (None, "cfut") else " (%s)" % ci,
            fmt_ratio(ratio(cn, fl)),
            "–" if bi in (None, ci) else "%s %s (%s ÷ floor)" % (
                bi, fmt_ns(bn), fmt_ratio(ratio(bn, bfn))),
            "–" if pi is None else "%s (%s)" % (fmt_ns(pn), pi),
            fmt_ratio(ratio(pn, cn)),
            fmt_ratio(ratio(res.ns(n, "tokio-current-thread"), cn)))
        if res.c:
            cc = res.c.get(n, {})
            c_instr = cc.get(ci)
            f_instr = cc.get(fi or "floor")
            row += " %s | %s | %s |" % (fmt_instr(c_instr), fmt_instr(f_instr),
                                        fmt_ratio(ratio(c_instr, f_instr)))
        L.append(row)
    L.append("")

    if baseline:
        bmeta, bres = baseline
        L.append("## Instructions before and after (issue 14)")
        L.append("")
        L.append("Instructions per op of impl `cfut` (callgrind, `--count`): "
                 "*before* is the baseline count run `%s` (%s), *after* this "
                 "report's count run. Counts do not move with the machine's "
                 "load, so the two runs compare." % (
                     os.path.relpath(baseline_path, os.path.dirname(path)),
                     bmeta.get("date", "?")))
        L.append("")
        L.append("| workload | before | after | after ÷ before | floor | after ÷ floor |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for n in res.names:
            ci, _, fi, _ = res.cfut_floor(n)
            before = bres.c.get(n, {}).get(ci or "cfut")
            after = res.c.get(n, {}).get(ci or "cfut")
            fl = res.c.get(n, {}).get(fi or "floor")
            if before is None and after is None:
                continue
            L.append("| `%s` | %s | %s | %s | %s | %s |" % (
                n, fmt_instr(before), fmt_instr(after),
                fmt_ratio(ratio(after, before)), fmt_instr(fl),
                fmt_ratio(ratio(after, fl))))
        L.append("")

    if sys_rows:
        L.append("## System calls per op")
        L.append("")
        L.append("`./run bench --syscalls` (part of `--report`): each workload of "
                 "bench_transport and bench_io alone under `strace -f -c`, "
                 "with --count's fixed ops; the program's own start-up "
                 "(measured with no workload) is subtracted. For the transport "
                 "one op is one completed request. `http_keepalive_c1`: the "
                 "server process under `strace -f -c` while one kept-alive "
                 "connection makes 20,000 requests "
                 "(`bench/http_bench.py --syscalls`).")
        L.append("")
        L.append("| workload | impl | system calls per op | by call |")
        L.append("| --- | --- | ---: | --- |")
        for r in sorted(sys_rows, key=lambda r: (workload_rank(r["name"]),
                                                 impl_rank(r["impl"]))):
            by = ", ".join("%s %.2f" % (k, v) for k, v in sorted(
                r["by_call"].items(), key=lambda kv: -kv[1]))
            L.append("| `%s` | %s | %.2f | %s |" % (
                r["name"], r["impl"], r["syscalls_per_op"], by or "–"))
        L.append("")

    # Targets.
    L.append("## Targets (issues 2–14)")
    L.append("")
    L.append("Measured on impl `cfut` (`cfut-coro` for coro_await_ready), not on "
             "the fastest variant; the variants are in the last table. Where a "
             "count run is there, the instruction ratio is given beside the "
             "timed one: it is not what the target measures, but it is immune "
             "to the machine's load. "
             "Issue 2 is the foundation (spawn_complete ≤ 15 ns, coro_await_ready "
             "≤ 2× floor); issue 5 has no numeric target (timer_insert_cancel and "
             "socketpair_rtt are recorded above); issue 14's ≤ 2× floor targets "
             "for the combinators, oneshot and mpsc are the rows of issues 3 "
             "and 4.")
    L.append("")
    L.append("| issue | target | measured | status |")
    L.append("| ---: | --- | --- | --- |")
    n_met = n_missed = n_open = 0
    for issue, text, shown, met in targets(res):
        if met is None:
            status = "not measured yet"
            n_open += 1
        elif met:
            status = "**met**"
            n_met += 1
        else:
            status = "**missed**"
            n_missed += 1
        L.append("| %d | %s | %s | %s |" % (issue, text, shown or "–", status))
    L.append("")
    L.append("%d met, %d missed, %d not measured yet (workload not in this run)."
             % (n_met, n_missed, n_open))
    L.append("")

    # Every line.
    L.append("## Every result")
    L.append("")
    L.append("| workload | impl | median | min – max | ops/rep | ÷ floor | instr/op |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for n in res.names:
        impls = set(res.t.get(n, {})) | set(res.c.get(n, {}))
        for i in sorted(impls, key=impl_rank):
            r = res.t.get(n, {}).get(i)
            instr = res.c.get(n, {}).get(i)
            if r:
                L.append("| `%s` | %s | %s | %s – %s | %d | %s | %s |" % (
                    n, i, fmt_ns(r["ns_per_op"]), fmt_ns(r["min"]), fmt_ns(r["max"]),
                    r["ops"], "–" if is_floor(i) else fmt_ratio(ratio(r["ns_per_op"], res.floor(n, i))),
                    fmt_instr(instr)))
            else:
                L.append("| `%s` | %s | – | – | – | – | %s |" % (n, i, fmt_instr(instr)))
    L.append("")
    L.append("## Notes")
    L.append("")
    L.append("Analysis by the workloads' authors (causes of missed targets, "
             "what limits them), written by hand; figures quoted in it come "
             "from their own runs, the tables above from the run named at "
             "the top.")
    L.append("")
    L.append(NOTES)
    if notes:
        L.append("")
        L.append(notes)
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))
    return n_met, n_missed, n_open


# ---- the plot ------------------------------------------------------------------


def plot_series(res, count=False):
    """(names, column labels, rows of values) for the time or count plot."""
    if count:
        names = [n for n in res.names if n in res.c]
        labels = ["floor", "cfut"]
        rows = []
        for n in names:
            ci, _, fi, _ = res.cfut_floor(n)
            if ci is None:  # no timed figure: take impl cfut from the counts
                ci = "cfut" if "cfut" in res.c[n] else None
                fi = "floor"
            rows.append([res.instr(n, fi or "floor"), res.instr(n, ci) if ci else None])
        return names, labels, rows
    names = [n for n in res.names if n in res.t]
    labels = [label for label, _ in PLOT_GROUPS]
    rows = [[res.cfut(n)[1] if pred is None else res.best(n, pred)[1]
             for _, pred in PLOT_GROUPS] for n in names]
    return names, labels, rows


def write_plot(path, meta, res, png=False, count=False):
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot is missing: no plot (apt-get install gnuplot)",
              file=sys.stderr)
        return False
    names, labels, vals = plot_series(res, count)
    flat = [v for row in vals for v in row if v]
    if not flat:
        return False
    lo = 10 ** math.floor(math.log10(min(flat)))
    hi = 10 ** math.ceil(math.log10(max(flat)) + 0.3)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.txt")
        with open(data, "w") as f:
            for n, row in zip(names, vals):
                f.write('"%s" %s\n' % (n.replace("_", "\\\\_"), " ".join(
                    "%.4g" % v if v else "-" for v in row)))
        cols = " , ".join(
            "'%s' using %d%s title '%s'" % (data, k + 2, ":xtic(1)" if k == 0 else "", label)
            for k, label in enumerate(labels))
        width = max(900, (40 if count else 80) * len(names) + 200)
        if png:
            terminal = 'set terminal pngcairo size %d,560 font "sans,10"' % width
        else:
            terminal = ('set terminal svg size %d,560 dynamic font "sans,11" '
                        'background rgb "white"' % width)
        what = ("instructions per op under callgrind" if count else
                "median ns per op")
        title = "cfut benchmarks: %s (log scale, lower is better)  %s, %s" % (
            what, meta.get("date", ""), meta.get("cpu", ""))
        script = """
%s
set output '%s'
set title "%s"
set datafile missing "-"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "10^{%%L}"
set yrange [%g:%g]
set ylabel "%s"
set grid ytics
set xtics rotate by -35 scale 0 font ",10"
set key top left horizontal
set bmargin 9
set rmargin 14
plot %s
""" % (terminal, path, title.replace('"', "'"), lo, hi,
       "instructions per op" if count else "ns per op", cols)
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if r.returncode != 0:
            print("report.py: gnuplot failed:\n" + r.stderr, file=sys.stderr)
            return False
    return True


# ---- README headline -------------------------------------------------------------

BEGIN = "<!-- headline:begin (written by report.py) -->"
END = "<!-- headline:end -->"


def update_readme(path, meta, res, tally):
    if not os.path.exists(path):
        return
    text = open(path).read()
    if BEGIN not in text or END not in text:
        return
    L = [BEGIN, ""]
    L.append("From the run of %s (%s; %s). Medians; *cfut ÷ floor* is the overhead "
             "of the abstraction, *tokio-ct ÷ cfut* and *best peer ÷ cfut* above 1 "
             "mean cfut is faster." % (
                 meta.get("date", "?"),
                 "quick mode" if meta.get("quick") else "full mode",
                 "shared 2-core VM, noisy"))
    L.append("")
    L.append("| workload | cfut | cfut ÷ floor | tokio-ct ÷ cfut | best peer ÷ cfut |")
    L.append("| --- | ---: | ---: | ---: | ---: |")
    for n in res.names:
        ci, cn, fi, fn = res.cfut_floor(n)
        if cn is None:
            continue
        pi, pn = res.peer(n)
        L.append("| `%s` | %s | %s | %s | %s |" % (
            n, fmt_ns(cn), fmt_ratio(ratio(cn, fn)),
            fmt_ratio(ratio(res.ns(n, "tokio-current-thread"), cn)),
            "–" if pi is None else "%s (%s)" % (fmt_ratio(ratio(pn, cn)), pi)))
    L.append("")
    L.append("Targets: %d met, %d missed, %d not measured yet "
             "(details in [RESULTS.md](RESULTS.md#targets-issues-214))." % tally)
    L.append("")
    L.append(END)
    pre = text[:text.index(BEGIN)]
    post = text[text.index(END) + len(END):]
    with open(path, "w") as f:
        f.write(pre + "\n".join(L) + post)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", nargs="?", help="a saved run (bench/runs/<date>.jsonl)")
    ap.add_argument("--count", help="the matching count run (<date>-count.jsonl)")
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--png", metavar="FILE",
                    help="also render the plot as a PNG (a preview; not checked in)")
    ap.add_argument("--baseline-count", metavar="FILE",
                    help="an earlier count run: RESULTS.md then has a before/after "
                         "instruction table")
    ap.add_argument("--syscalls", metavar="FILE",
                    help="the matching system-call run (<date>-syscalls.jsonl)")
    ap.add_argument("--strace", metavar="FILE",
                    help="print a syscalls_per_op line from a 'strace -f -c' "
                         "summary (with --strace-base and --strace-label)")
    ap.add_argument("--strace-base", metavar="FILE",
                    help="the summary of the same program with no workload")
    ap.add_argument("--strace-label", nargs=3, metavar=("NAME", "IMPL", "OPS"))
    ap.add_argument("--callgrind", metavar="PREFIX",
                    help="print instr_per_op lines from callgrind dumps PREFIX.N")
    a = ap.parse_args()
    if a.strace:
        name, impl, ops = a.strace_label
        print(json.dumps(strace_line(a.strace, a.strace_base, name, impl,
                                     int(ops))))
        return 0
    if a.callgrind:
        parse_callgrind(a.callgrind)
        return 0
    if not a.run:
        ap.error("a run file is needed")
    meta, rows = load(a.run)
    cmeta, counts = load(a.count)
    _, sys_rows = load(a.syscalls)
    res = Results(rows, counts)
    res.add_syscalls(sys_rows)
    if not res.names:
        print("report.py: no results in %s" % a.run, file=sys.stderr)
        return 1
    out = a.out_dir
    os.makedirs(out, exist_ok=True)
    svg = os.path.join(out, "results.svg")
    write_plot(svg, meta, res)
    svg_count = os.path.join(out, "results-instr.svg")
    has_count = bool(res.c) and write_plot(svg_count, meta, res, count=True)
    if a.png:
        write_plot(a.png, meta, res, png=True)
        if res.c:
            write_plot(a.png.replace(".png", "-instr.png"), meta, res, png=True, count=True)
    baseline = None
    if a.baseline_count:
        bmeta, bcounts = load(a.baseline_count)
        baseline = (bmeta, Results([], bcounts))
    tally = write_results(os.path.join(out, "RESULTS.md"), meta, cmeta, res,
                          a.run, a.count, "results.svg",
                          "results-instr.svg" if has_count else None,
                          baseline, a.baseline_count, sys_rows)
    update_readme(os.path.join(out, "README.md"), meta, res, tally)
    print("report.py: wrote %s, %s (%d met, %d missed, %d not measured)" % (
        os.path.join(out, "RESULTS.md"), svg, *tally), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
