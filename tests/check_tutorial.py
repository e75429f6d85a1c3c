#!/usr/bin/env python3
"""check_tutorial.py SRCDIR EXE...: what docs/tutorial.md quotes is what the
lessons say and do. Every code block of the tutorial is fenced and says
what it holds:
  ```output [LESSON]  what the lesson prints: the whole of its expected
                      output (examples/expected/LESSON.txt, which the
                      'examples' suite holds to the real output) or an
                      exact excerpt;
  ```trace [LESSON]   lines of the lesson's narration (CFUT_TRACE=-), run
                      here: whole or an exact excerpt (fd numbers aside:
                      they depend on what the process inherited);
  ```c                lines of the lesson's source, an exact excerpt;
  ```c fragment, ```text, ```sh   anything else (code that is not a
                      lesson's, diagrams, commands, compiler messages).
LESSON defaults to the lesson of the enclosing "## Lesson NN" chapter. An
excerpt is one or more runs of consecutive lines, separated by a line
"...", found in that order (a quoted C line may be indented differently).
An indented (unfenced) code block is an error: it would go unchecked.
Each EXE is a lesson executable, named like its lesson."""
import os, re, subprocess, sys

src = os.path.realpath(sys.argv[1])
exes = {os.path.basename(e): e for e in sys.argv[2:]}
failures = []
n_blocks = 0


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


def is_excerpt(quote, real, loose=False):
    """True when the runs of 'quote' (split at '...' lines) are runs of
    consecutive lines of 'real', in order."""
    norm = (lambda s: s.strip()) if loose else (lambda s: s.rstrip())
    real = [norm(line) for line in real]
    runs, run = [], []
    for line in quote:
        if line.strip() == "...":
            if run:
                runs.append(run)
            run = []
        else:
            run.append(norm(line))
    if run:
        runs.append(run)
    at = 0
    for run in runs:
        for i in range(at, len(real) - len(run) + 1):
            if real[i:i + len(run)] == run:
                at = i + len(run)
                break
        else:
            return False
    return True


narration = {}


def narrate(lesson):
    """The lesson's CFUT_TRACE=- narration, as lines."""
    if lesson not in narration:
        exe = exes.get(lesson)
        if exe is None:
            return None
        r = subprocess.run([exe], env=dict(os.environ, CFUT_TRACE="-"),
                           capture_output=True, text=True, timeout=300)
        narration[lesson] = r.stderr.splitlines()
    return narration[lesson]


lessons = {f[:-2] for f in os.listdir(os.path.join(src, "examples"))
           if re.match(r"\d\d_.*\.c$", f)}
text = read("docs/tutorial.md").split("\n")
chapter = None
fence = None  # (info, start line, [lines], the fence's indentation)
prev_blank = True
for no, raw in enumerate(text, 1):
    quoted = re.match(r"^((?:> ?)*)(.*)$", raw)
    prefix, line = quoted.group(1), quoted.group(2)
    if fence is not None:
        if line.strip() == "```":
            info, start, body, _ = fence
            fence = None
            n_blocks += 1
            words = info.split()
            kind = words[0] if words else ""
            if kind not in ("output", "trace", "c", "text", "sh"):
                fail(f"docs/tutorial.md:{start}: a code block must say what "
                     f"it holds (output, trace, c, c fragment, text, sh), "
                     f"not '{info}'")
                continue
            if kind in ("text", "sh") or words[1:2] == ["fragment"]:
                continue
            lesson = words[1] if len(words) > 1 else chapter
            if lesson not in lessons:
                fail(f"docs/tutorial.md:{start}: a {kind} block outside a "
                     "lesson's chapter must name its lesson")
                continue
            if kind == "output":
                real = read(f"examples/expected/{lesson}.txt").splitlines()
                what = f"{lesson}'s output"
            elif kind == "trace":
                real = narrate(lesson)
                what = f"{lesson}'s CFUT_TRACE=- narration"
                if real is None:
                    fail(f"docs/tutorial.md:{start}: no executable given "
                         f"for {lesson}")
                    continue
            else:
                real = read(f"examples/{lesson}.c").splitlines()
                what = f"examples/{lesson}.c"
            if kind == "trace":  # fd numbers depend on what was inherited
                body = [re.sub(r"\bfd \d+", "fd N", l) for l in body]
                real = [re.sub(r"\bfd \d+", "fd N", l) for l in real]
            if not is_excerpt(body, real, loose=(kind == "c")):
                fail(f"docs/tutorial.md:{start}: this {kind} block is not "
                     f"(an excerpt of) {what}")
        else:
            indent = len(line) - len(line.lstrip(" "))
            fence[2].append(line[min(indent, fence[3]):])
        continue
    m = re.match(r"^( *)```(.*)$", line)
    if m:
        fence = (m.group(2).strip(), no, [], len(m.group(1)))
        continue
    h = re.match(r"^## Lesson (\d\d):.*\(`examples/(\d\d_\w+)\.c`\)", line)
    if h:
        chapter = h.group(2)
    elif line.startswith("## "):
        chapter = None
    if line.startswith("    ") and line.strip() and prev_blank and \
            not prefix:
        fail(f"docs/tutorial.md:{no}: an indented code block; fence it and "
             "say what it holds")
    prev_blank = not line.strip()
if fence is not None:
    fail(f"docs/tutorial.md:{fence[1]}: a code block is never closed")

print(f"{n_blocks} blocks checked")
for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
