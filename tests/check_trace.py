#!/usr/bin/env python3
"""check_trace.py EXE [--remote-wake] [--suspended] [--reactor] [--virtual]:
runs a lesson with CFUT_TRACE=FILE and checks that FILE is a Chrome
trace-event JSON document ({"traceEvents": [...]}, each event with
ph/ts/pid/tid/name) holding the executor's events: named task rows, spawn
or block_on, poll slices whose begin/end pairs balance and whose ends carry
the poll's result, a finish, and wakes drawn as flows: each flow end
("f", bound to its enclosing slice) comes right after the begin of a poll
on its row and has a flow start ("s") with its id before it. With
--remote-wake a wake from another thread whose flow starts on that
thread's own row; with --suspended a poll end naming the await it
suspended at; with --reactor a timer event and a wake caused by a readable
fd; with --virtual (a paused clock) "paused clock" slices whose jumps the
timestamps include. Then runs it with CFUT_TRACE=- and checks that the
narration names the tasks. Under the 'valgrindscripts' setup,
$CFUT_TEST_WRAPPER wraps the lesson."""
import json, os, shlex, subprocess, sys, tempfile

exe, flags = sys.argv[1], set(sys.argv[2:])
wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "trace.json")
    env = dict(os.environ, CFUT_TRACE=path)
    r = subprocess.run(wrapper + [exe], env=env, capture_output=True,
                       text=True, timeout=300)
    check(r.returncode == 0, f"exit status {r.returncode}: {r.stderr}")
    with open(path) as f:
        doc = json.load(f)

events = doc["traceEvents"]
for e in events:
    for k in ("ph", "ts", "pid", "tid", "name"):
        check(k in e, f"event without {k}: {e}")
rows = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
        if e["ph"] == "M" and e["name"] == "thread_name"}
check(any(n.startswith("task 1 '") for n in rows.values()),
      f"no task row named: {rows}")
check(any(e["name"] in ("spawn", "block_on") for e in events), "no spawn")
depth = {}
ends = []
for e in events:
    key = (e["pid"], e["tid"])
    if e["ph"] == "B":
        depth[key] = depth.get(key, 0) + 1
    elif e["ph"] == "E":
        depth[key] = depth.get(key, 0) - 1
        check(depth[key] >= 0, f"E without B on {key}")
        if e["tid"] != 0:
            ends.append(e)
check(all(v == 0 for v in depth.values()), f"unbalanced B/E: {depth}")
check(ends and all(e["args"]["result"] in ("Pending", "Ready") for e in ends),
      "a poll end without its result")
check(any(e["name"] == "finish" for e in events), "no finish")
if "--remote-wake" in flags:
    check(any(e["ph"] == "i" and e["name"] == "wake" and e["args"]["remote"]
              for e in events),
          "no wake from another thread")
if "--reactor" in flags:
    check(any(e["name"] == "timer fired" for e in events), "no timer event")
    check(any(e["ph"] == "i" and e["name"] == "wake" and
              "readable" in e["args"]["cause"]
              for e in events), "no wake caused by a readable fd")
starts = {}
prev = {}
n_flows = 0
for e in events:
    key = (e["pid"], e["tid"])
    if e["ph"] == "s":
        check(e.get("cat") == "wake" and "id" in e, f"a bad flow start: {e}")
        starts[e.get("id")] = key
    elif e["ph"] == "f":
        n_flows += 1
        check(e.get("bp") == "e", f"a flow end not bound to its slice: {e}")
        check(e.get("id") in starts, f"a flow end without a start: {e}")
        p = prev.get(key)
        check(p is not None and p["ph"] == "B" and p["name"].startswith(
            "poll "), f"a flow end not at the start of a poll: {e}")
    if e["ph"] != "M":
        prev[key] = e
check(n_flows > 0, "no wake drawn as a flow")
if "--remote-wake" in flags:
    remote_rows = {k for k, n in rows.items() if "not the executor's" in n}
    check(any(k in remote_rows for k in starts.values()),
          f"no flow starts on another thread's row: {rows}")
if "--virtual" in flags:
    jumps = [e for e in events
             if e["ph"] == "X" and e["name"].startswith("paused clock")]
    total_us = sum(e["args"]["virtual_ns"] for e in jumps) / 1e3
    last = max(e["ts"] for e in events if e["ph"] != "M")
    check(jumps and last >= total_us,
          f"paused clock: jumps of {total_us} us, last event at {last} us")
if "--suspended" in flags:
    check(any("suspended_at" in e.get("args", {}) for e in ends),
          "no poll end naming its await")

env = dict(os.environ, CFUT_TRACE="-")
r = subprocess.run(wrapper + [exe], env=env, capture_output=True, text=True,
                   timeout=300)
check(r.returncode == 0, f"text mode: exit status {r.returncode}")
check("cfut trace: task 1 '" in r.stderr, f"text mode: {r.stderr}")
check(" polled -> Ready" in r.stderr, f"text mode: {r.stderr}")

for f in failures:
    print("FAIL:", f)
print(f"{len(events)} events checked")
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
