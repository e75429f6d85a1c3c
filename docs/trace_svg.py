#!/usr/bin/env python3
"""trace_svg.py TRACE.json OUT.svg [TITLE]: draws a cfut trace (written with
CFUT_TRACE=FILE) as a small SVG timeline, one row per task, for the
tutorial. Perfetto (https://ui.perfetto.dev) shows the same file
interactively; this is a static picture that can be checked into docs/.

Rows: the executor (where it parks) and each task; threads that woke a
task from outside appear as extra rows. Poll slices are orange when the
poll returned Pending and green when Ready; grey is the executor parked.
Markers: triangle = spawn/block_on, dot + arrow = wake (from the task or
thread that woke; from the executor's row when the reactor woke it),
square = finish, cross = cancel, purple diamond = reactor event. Long idle gaps are cut
short and labelled with their real length, so short polls stay visible."""
import json
import sys
from html import escape

src, dst = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else src
events = json.load(open(src))["traceEvents"]

# ---- rows ----
rows = {}
for e in events:
    if e["ph"] == "M" and e["name"] == "thread_name":
        rows[(e["pid"], e["tid"])] = e["args"]["name"]
for e in events:  # wakes from other threads get a row of their own
    if e["name"] == "wake" and e["args"].get("remote"):
        rows.setdefault((e["pid"], -e["args"]["thread"]),
                        f"thread {e['args']['thread']} (not the executor's)")
order = sorted(rows, key=lambda k: (k[0], k[1] if k[1] >= 0 else 1e9 - k[1]))
row_y = {k: 60 + i * 34 for i, k in enumerate(order)}

# ---- time axis: piecewise, long gaps cut to CAP microseconds ----
CAP = 40.0
stamps = sorted({e["ts"] for e in events if e["ph"] != "M"})
t0 = stamps[0]
cuts = []  # (start, end) of the gaps that were cut
acc, mapped = 0.0, {stamps[0]: 0.0}
for a, b in zip(stamps, stamps[1:]):
    gap = b - a
    if gap > CAP:
        cuts.append((a, b))
        gap = CAP
    acc += gap
    mapped[b] = acc
LEFT, WIDTH = 230, 640
scale = WIDTH / max(acc, 1.0)


def span(us):
    return f"{us / 1000:.1f} ms" if us >= 1000 else f"{us:.0f} us"


def x(ts):
    return LEFT + mapped[ts] * scale


# ---- drawing ----
height = 60 + len(order) * 34 + 86
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 40}"'
       f' height="{height}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       '<defs><marker id="ah" markerWidth="8" markerHeight="8" refX="7" '
       'refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#3366cc"/>'
       '</marker></defs>',
       f'<text x="10" y="24" font-size="15" font-weight="bold">'
       f'{escape(title)}</text>']
for k in order:
    y = row_y[k]
    out.append(f'<text x="10" y="{y + 4}">{escape(rows[k])}</text>')
    out.append(f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + WIDTH}" y2="{y}" '
               'stroke="#ddd"/>')
bottom = 60 + len(order) * 34 - 20
for a, b in cuts:  # mark the cut gaps with their real length
    xm = (x(a) + x(b)) / 2
    out.append(f'<line x1="{xm}" y1="44" x2="{xm}" y2="{bottom}" '
               'stroke="#999" stroke-dasharray="2,3"/>')
    out.append(f'<text x="{xm}" y="{bottom + 14}" text-anchor="middle" '
               f'fill="#666" font-size="10">{span(b - a)}</text>')

open_slice = {}
marks = []  # instants are drawn after the slices, on top of them
for e in events:
    ph, key = e["ph"], (e["pid"], e["tid"])
    if ph == "M" or key not in row_y:
        continue
    y = row_y[key]
    if ph == "i":
        marks.append(e)
    elif ph == "B":
        open_slice[key] = e
    elif ph == "E" and key in open_slice:
        b = open_slice.pop(key)
        res = e.get("args", {}).get("result")
        color = {"Pending": "#f5a623", "Ready": "#43a047"}.get(res, "#bbb")
        x0, x1 = x(b["ts"]), x(e["ts"])
        tip = escape(b["name"] + (" -> " + res if res else "") +
                     (", suspended at " + e["args"]["suspended_at"]
                      if "suspended_at" in e.get("args", {}) else ""))
        out.append(f'<rect x="{x0}" y="{y - 9}" width="{max(x1 - x0, 4)}" '
                   f'height="18" fill="{color}" rx="2"><title>{tip}</title>'
                   '</rect>')
for e in marks:
    key = (e["pid"], e["tid"])
    y = row_y[key]
    if True:
        xi, n = x(e["ts"]), e["name"]
        if n in ("spawn", "block_on"):
            out.append(f'<path d="M{xi - 9},{y - 6} l8,6 l-8,6 z" '
                       'fill="#555"/>')
        elif n == "wake":
            a = e["args"]
            src_key = ((e["pid"], -a["thread"]) if a.get("remote")
                       else (e["pid"], a["by_task"]))
            out.append(f'<circle cx="{xi}" cy="{y}" r="3" fill="#3366cc" '
                       'stroke="white"/>')
            if src_key in row_y and src_key != key:
                ys = row_y[src_key]
                yd = y + 4 if ys > y else y - 4
                out.append(f'<line x1="{xi}" y1="{ys}" x2="{xi}" y2="{yd}" '
                           'stroke="#3366cc" marker-end="url(#ah)"/>')
        elif n == "finish":
            out.append(f'<rect x="{xi + 2}" y="{y - 5}" width="10" '
                       'height="10" fill="#222"/>')
        elif n == "cancel":
            out.append(f'<path d="M{xi + 2},{y - 5} l10,10 m0,-10 l-10,10" '
                       'stroke="#c62828" stroke-width="2"/>')
        else:  # a reactor event ("timer fired", "fd 5 readable")
            out.append(f'<path d="M{xi},{y - 6} l4,6 l-4,6 l-4,-6 z" '
                       f'fill="#7b1fa2"><title>{escape(n)}</title></path>')
            out.append(f'<text x="{xi}" y="{y - 10}" text-anchor="middle" '
                       f'font-size="9" fill="#7b1fa2">{escape(n)}</text>')

ly = height - 46
legend = [("#f5a623", "poll -> Pending"), ("#43a047", "poll -> Ready"),
          ("#bbb", "executor parked")]
for i, (c, label) in enumerate(legend):
    out.append(f'<rect x="{10 + i * 150}" y="{ly - 10}" width="14" '
               f'height="12" fill="{c}"/>')
    out.append(f'<text x="{30 + i * 150}" y="{ly}">{label}</text>')
out.append(f'<text x="10" y="{ly + 20}" fill="#555">triangle: spawned (or block_on); '
           'blue dot/arrow: wake (from who woke); black square: finish; '
           'red cross: cancel; purple: reactor event.</text>')
out.append(f'<text x="10" y="{ly + 36}" fill="#555">Dotted lines: idle '
           'time cut short (its real length below).</text>')
out.append('</svg>')
open(dst, "w").write("\n".join(out) + "\n")
