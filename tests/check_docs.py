#!/usr/bin/env python3
"""check_docs.py SRCDIR: the documentation stands on its own and agrees
with the code.
  1. Links: every relative link in the repository's Markdown files points
     at a file of the repository (a clone holds nothing outside it), and no
     file mentions the ../shared/ folder of the workspace cfut was written
     in.
  2. Lessons: examples/meson.build's 'lessons' list is the one source of
     the lesson list. The files examples/NN_*.c and examples/expected/,
     README.md's table, docs/tutorial.md's table (with the README's ideas,
     word for word) and the tutorial's "## Lesson NN" chapters list the
     same lessons in the same order.
  3. The map of the code: docs/design.md's "Map of the code" names every
     source file of futures/, runtime/, channels/ and transport/, and no
     file that does not exist."""
import os, re, subprocess, sys

src = os.path.realpath(sys.argv[1])
failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(src, rel)) as f:
        return f.read()


# ---- 1. links ----
try:
    files = subprocess.run(["git", "-C", src, "ls-files"], capture_output=True,
                           text=True, check=True).stdout.split()
except (OSError, subprocess.CalledProcessError):
    files = [os.path.relpath(os.path.join(d, f), src)
             for d, _, fs in os.walk(src) if "/build" not in d
             and "/.git" not in d for f in fs]
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
n_links = 0
for rel in files:
    path = os.path.join(src, rel)
    if not os.path.isfile(path):
        continue
    try:
        text = open(path, encoding="utf-8").read()
    except UnicodeDecodeError:
        continue
    if "../shared/" in text and rel != "tests/check_docs.py":
        fail(f"{rel} refers to ../shared/, which is not in the repository")
    if not rel.endswith(".md"):
        continue
    for m in link.finditer(text):
        target = m.group(1).split("#")[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        n_links += 1
        dest = os.path.realpath(os.path.join(os.path.dirname(path), target))
        if not dest.startswith(src + os.sep) and dest != src:
            fail(f"{rel}: link {target} leaves the repository")
        elif not os.path.exists(dest):
            fail(f"{rel}: link {target} points at nothing")
print(f"{n_links} relative links checked")

# ---- 2. lessons ----
mb = read("examples/meson.build")
m = re.search(r"^lessons = \[(.*?)\]", mb, re.S | re.M)
lessons = re.findall(r"'([^']+)'", m.group(1)) if m else []
if not lessons:
    fail("examples/meson.build has no 'lessons' list")
on_disk = sorted(f[:-2] for f in os.listdir(os.path.join(src, "examples"))
                 if re.match(r"\d\d_.*\.c$", f))
if on_disk != lessons:
    fail(f"lesson files {on_disk} differ from examples/meson.build {lessons}")
for name in lessons:
    if not os.path.exists(os.path.join(src, "examples", "expected",
                                       name + ".txt")):
        fail(f"examples/expected/{name}.txt is missing")

readme_rows = re.findall(  # (a last column, the exercise, is optional)
    r"^\| (\d\d) \| \[(\d\d_\w+)\.c\]\(examples/(\d\d_\w+)\.c\) \| (.*?) \|"
    r"(?: .* \|)?$",
    read("README.md"), re.M)
tutorial = read("docs/tutorial.md")
tut_rows = re.findall(r"^\| (\d\d) \| `examples/(\d\d_\w+)\.c` \| (.*) \|$",
                      tutorial, re.M)
chapters = re.findall(r"^## Lesson (\d\d): .*\(`examples/(\d\d_\w+)\.c`\)$",
                      tutorial, re.M)


def same_lessons(what, numbered):
    """'numbered' lists (NN, name) pairs: the lessons in order, NN right."""
    names = [name for _, name in numbered]
    if names != lessons or any(num != name[:2] for num, name in numbered):
        fail(f"{what} lists {names}, not {lessons}")


same_lessons("README.md's lesson table",
             [(r[0], r[1]) for r in readme_rows if r[1] == r[2]])
same_lessons("docs/tutorial.md's lesson table", [(r[0], r[1]) for r in tut_rows])
same_lessons("docs/tutorial.md's chapters", chapters)
ideas = {r[1]: r[3] for r in readme_rows}
for num, name, idea in tut_rows:
    if name in ideas and idea != ideas[name]:
        fail(f"docs/tutorial.md says lesson {num} is '{idea}', README.md "
             f"says '{ideas[name]}'")
print(f"{len(lessons)} lessons checked in 5 places")

# ---- 3. the map of the code ----
m = re.search(r"^## Map of the code\n(.*?)(?=^## )", read("docs/design.md"),
              re.S | re.M)
if not m:
    fail("docs/design.md has no '## Map of the code' section")
named = set(re.findall(r"`((?:futures|runtime|channels|transport)/[\w.]+)`",
                       m.group(1) if m else ""))
mapped = ["futures", "runtime", "channels", "transport"]
n_mapped = 0
for folder in mapped:
    for f in sorted(os.listdir(os.path.join(src, folder))):
        if not re.search(r"\.(c|h|h\.in)$", f):
            continue
        n_mapped += 1
        if f"{folder}/{f}" not in named:
            fail(f"docs/design.md's map of the code does not name {folder}/{f}")
for rel in sorted(named):
    if not os.path.exists(os.path.join(src, rel)):
        fail(f"docs/design.md's map of the code names {rel}, which is gone")
print(f"{n_mapped} files of {', '.join(mapped)} found in the map of the code")

for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
