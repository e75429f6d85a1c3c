#!/usr/bin/env python3
"""trace_svg.py TRACE.json OUT.svg [TITLE]: draws a cfut trace (written with
CFUT_TRACE=FILE) as a small SVG timeline, one row per task, for the
tutorial. Perfetto (https://ui.perfetto.dev) shows the same file
interactively, with the same arrows; this is a static picture that can be
checked into docs/ ('./run traces' draws the lessons').

Rows: the executor (where it parks, and where the reactor's events and a
paused clock's jumps show), each task, and each thread that woke a task
from outside. Poll slices are orange when the poll returned Pending and
green when Ready; grey is the executor parked; a lavender band is a jump of
a paused clock (virtual time). Arrows are the trace's flows: each runs from
where a wake happened (a task's poll, another thread, the reactor) to the
poll of the woken task that the wake queued. Markers: triangle =
spawn/block_on, dot = woken here, square = finish, cross = cancel, purple
diamond = reactor event. Long gaps are drawn short (a gap of g us takes
about CAP * (1 + log10(g / CAP)) us) and labelled with their length, so
short polls stay visible and longer waits still look longer."""
import json
import math
import sys
from html import escape

src, dst = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else src
events = json.load(open(src))["traceEvents"]

# ---- rows: the executor's first, then tasks, then other threads ----
rows = {}
for e in events:
    if e["ph"] == "M" and e["name"] == "thread_name":
        rows[(e["pid"], e["tid"])] = e["args"]["name"]
order = sorted(rows)
row_y = {k: 60 + i * 34 for i, k in enumerate(order)}

# ---- time axis: piecewise, long gaps drawn short ----
CAP = 40.0
stamps = set()
for e in events:
    if e["ph"] != "M":
        stamps.add(e["ts"])
        if e["ph"] == "X":
            stamps.add(e["ts"] + e["dur"])
stamps = sorted(stamps)
cuts = []  # (start, end) of the gaps drawn short
acc, mapped = 0.0, {stamps[0]: 0.0}
for a, b in zip(stamps, stamps[1:]):
    gap = b - a
    if gap > CAP:
        cuts.append((a, b))
        gap = CAP * (1 + math.log10(gap / CAP))
    acc += gap
    mapped[b] = acc
LEFT, WIDTH = 270, 600
scale = WIDTH / max(acc, 1.0)


def span(us):
    return f"{us / 1000:.1f} ms" if us >= 1000 else f"{us:.0f} us"


def x(ts):
    return round(LEFT + mapped[ts] * scale, 2)


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
virtual = [(e["ts"], e["ts"] + e["dur"]) for e in events
           if e["ph"] == "X" and e["name"].startswith("paused clock")]
bottom = 60 + len(order) * 34 - 20
for a, b in cuts:  # mark the gaps drawn short with their length
    xm = (x(a) + x(b)) / 2
    is_virtual = any(va <= a + 1 and b <= vb + 1 for va, vb in virtual)
    out.append(f'<line x1="{xm}" y1="44" x2="{xm}" y2="{bottom}" '
               'stroke="#999" stroke-dasharray="2,3"/>')
    out.append(f'<text x="{xm}" y="{bottom + 14}" text-anchor="middle" '
               f'fill="#666" font-size="10">{span(b - a)}'
               f'{" (virtual)" if is_virtual else ""}</text>')

open_slice = {}
marks, flow_start, flows = [], {}, []
for e in events:
    ph, key = e["ph"], (e["pid"], e["tid"])
    if ph == "M" or key not in row_y:
        continue
    y = row_y[key]
    if ph == "i":
        marks.append(e)
    elif ph == "s":
        flow_start[e["id"]] = (e["ts"], key)
    elif ph == "f" and e["id"] in flow_start:
        flows.append((flow_start.pop(e["id"]), (e["ts"], key)))
    elif ph == "X" and e["name"].startswith("paused clock"):
        marks.append(e)  # drawn over the parked slice it lies in
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
                   f'height="18" fill="{color}" rx="2" fill-opacity="0.85">'
                   f'<title>{tip}</title></rect>')
for (ts0, k0), (ts1, k1) in flows:  # the wakes' arrows, over the slices
    x0, y0, x1, y1 = x(ts0), row_y[k0], x(ts1), row_y[k1]
    if k0 == k1:  # a task woke itself: an arc to its next poll
        out.append(f'<path d="M{x0},{y0 - 9} Q{(x0 + x1) / 2},{y0 - 24} '
                   f'{x1},{y1 - 9}" fill="none" stroke="#3366cc" '
                   'marker-end="url(#ah)"/>')
    else:
        y1 += -9 if y0 < y1 else 9
        out.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" '
                   'stroke="#3366cc" marker-end="url(#ah)"/>')
label_end = {}  # per row: where the last reactor label ends
for e in marks:
    y = row_y[(e["pid"], e["tid"])]
    xi, n = x(e["ts"]), e["name"]
    if e["ph"] == "X":  # a paused clock's jump
        x1 = x(e["ts"] + e["dur"])
        out.append(f'<rect x="{xi}" y="{y - 6}" width="{max(x1 - xi, 2)}" '
                   f'height="12" fill="#b39ddb"><title>{escape(n)} (virtual '
                   'time)</title></rect>')
    elif n in ("spawn", "block_on"):
        out.append(f'<path d="M{xi - 9},{y - 6} l8,6 l-8,6 z" fill="#555"/>')
    elif n == "wake":
        out.append(f'<circle cx="{xi}" cy="{y}" r="3" fill="#3366cc" '
                   'stroke="white"/>')
    elif n == "finish":
        out.append(f'<rect x="{xi + 2}" y="{y - 5}" width="10" height="10" '
                   'fill="#222"/>')
    elif n == "cancel":
        out.append(f'<path d="M{xi + 2},{y - 5} l10,10 m0,-10 l-10,10" '
                   'stroke="#c62828" stroke-width="2"/>')
    else:  # a reactor event ("timer fired", "fd 5 readable")
        out.append(f'<path d="M{xi},{y - 6} l4,6 l-4,6 l-4,-6 z" '
                   f'fill="#7b1fa2"><title>{escape(n)}</title></path>')
        if xi - label_end.get(y, -1e9) > 4.5 * len(n) / 2 + 4:
            out.append(f'<text x="{xi}" y="{y - 10}" text-anchor="middle" '
                       f'font-size="9" fill="#7b1fa2">{escape(n)}</text>')
            label_end[y] = xi + 4.5 * len(n) / 2  # crowded: tooltips only

ly = height - 46
legend = [("#f5a623", "poll -> Pending"), ("#43a047", "poll -> Ready"),
          ("#bbb", "executor parked"), ("#b39ddb", "paused clock (virtual)")]
for i, (c, label) in enumerate(legend):
    out.append(f'<rect x="{10 + i * 160}" y="{ly - 10}" width="14" '
               f'height="12" fill="{c}"/>')
    out.append(f'<text x="{30 + i * 160}" y="{ly}">{label}</text>')
out.append(f'<text x="10" y="{ly + 20}" fill="#555">arrow: a wake, from '
           'where it happened to the poll it queued (dot: woken here).</text>')
out.append(f'<text x="10" y="{ly + 36}" fill="#555">triangle: spawned; '
           'square: finished; red cross: cancelled; purple: reactor event; '
           'dotted line: a gap drawn short (its length below).</text>')
out.append('</svg>')
open(dst, "w").write("\n".join(out) + "\n")
