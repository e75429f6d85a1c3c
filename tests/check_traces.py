#!/usr/bin/env python3
"""check_traces.py [--update] SRCDIR EXE...: every lesson that runs an
executor (its source calls cfut_executor_new) has its timeline in
docs/traces/: the trace it writes (CFUT_TRACE=FILE) as NAME.json, drawn by
docs/trace_svg.py as NAME.svg, and linked from its chapter of
docs/tutorial.md. Checked, for each such lesson (each EXE is a lesson
executable, named like its lesson):
  - both files exist, and the tutorial's chapter links the picture;
  - NAME.svg is what docs/trace_svg.py draws from NAME.json;
  - NAME.json is current: a fresh run writes the same events (the same
    rows, polls, results, wakes and their causes, in the same order),
    timestamps aside;
  - no file in docs/traces/ belongs to no such lesson.
With --update it writes the files instead ('./run traces' does this)."""
import json, os, re, subprocess, sys, tempfile

args = sys.argv[1:]
update = args[:1] == ["--update"]
if update:
    args = args[1:]
src = os.path.realpath(args[0])
exes = {os.path.basename(e): e for e in args[1:]}
traces = os.path.join(src, "docs", "traces")
render = os.path.join(src, "docs", "trace_svg.py")
failures = []


def fail(msg):
    failures.append(msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_traced(exe, path):
    r = subprocess.run([exe], env=dict(os.environ, CFUT_TRACE=path),
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        fail(f"{os.path.basename(exe)} exited with {r.returncode} "
             f"under CFUT_TRACE: {r.stderr}")


def draw(json_path, svg_path, title):
    subprocess.run([sys.executable, render, json_path, svg_path, title],
                   check=True)


def shape(path):
    """The events of a trace without their times (and with fd numbers,
    which depend on what the process inherited, left out)."""
    out = []
    for e in json.loads(read(path))["traceEvents"]:
        e = {k: v for k, v in e.items() if k not in ("ts", "dur")}
        out.append(re.sub(r"\bfd \d+", "fd N", json.dumps(e, sort_keys=True)))
    return out


mb = read(os.path.join(src, "examples", "meson.build"))
m = re.search(r"^lessons = \[(.*?)\]", mb, re.S | re.M)
lessons = re.findall(r"'([^']+)'", m.group(1)) if m else []
running = [n for n in lessons if "cfut_executor_new" in
           read(os.path.join(src, "examples", n + ".c"))]
tutorial = read(os.path.join(src, "docs", "tutorial.md"))
chapters = dict(re.findall(
    r"^## Lesson \d\d:[^\n]*\(`examples/(\d\d_\w+)\.c`\)\n(.*?)(?=^## |\Z)",
    tutorial, re.S | re.M))

if update:
    os.makedirs(traces, exist_ok=True)
    for f in os.listdir(traces):
        os.remove(os.path.join(traces, f))
for name in running:
    exe = exes.get(name)
    js = os.path.join(traces, name + ".json")
    svg = os.path.join(traces, name + ".svg")
    title = f"lesson {name[:2]}: examples/{name}.c"
    if exe is None:
        fail(f"no executable given for {name}")
        continue
    if update:
        run_traced(exe, js)
        draw(js, svg, title)
        print(f"wrote docs/traces/{name}.json and .svg")
        continue
    if f"(traces/{name}.svg)" not in chapters.get(name, ""):
        fail(f"the tutorial's chapter on {name} does not show "
             f"traces/{name}.svg")
    if not (os.path.exists(js) and os.path.exists(svg)):
        fail(f"docs/traces/{name}.json or .svg is missing: run "
             "'./run traces'")
        continue
    with tempfile.TemporaryDirectory() as d:
        fresh_svg = os.path.join(d, "t.svg")
        draw(js, fresh_svg, title)
        if read(fresh_svg) != read(svg):
            fail(f"docs/traces/{name}.svg is not drawn from its .json: "
                 "run './run traces'")
        fresh = os.path.join(d, "t.json")
        run_traced(exe, fresh)
        if os.path.exists(fresh) and shape(fresh) != shape(js):
            a, b = shape(js), shape(fresh)
            i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y),
                     min(len(a), len(b)))
            fail(f"docs/traces/{name}.json is not what the lesson writes "
                 f"now (event {i}: {a[i] if i < len(a) else 'none'} vs "
                 f"{b[i] if i < len(b) else 'none'}): run './run traces'")
if not update and os.path.isdir(traces):
    for f in sorted(os.listdir(traces)):
        if os.path.splitext(f)[0] not in running:
            fail(f"docs/traces/{f} belongs to no lesson that runs an "
                 "executor")

print(f"{len(running)} lesson timelines {'written' if update else 'checked'}")
for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
