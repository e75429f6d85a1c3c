#!/usr/bin/env python3
"""check_exercises.py SRCDIR: the exercises, the lessons they follow and
the documents that point at them agree.
  1. exercises/README.md's table is the one list of exercises: its rows,
     the NN_topic folders on disk and exercises/meson.build's 'exercises'
     list name the same exercises in the same order; each folder holds a
     README.md, check.c, the learner's file and its header, and
     exercises/solutions/NN_topic/ holds the reference solution.
  2. Each exercise follows a lesson named by file (examples/NN_topic.c):
     that lesson exists (examples/meson.build's 'lessons' list), the
     exercises follow the lessons in their order, and the exercise's own
     README names the same lesson.
  3. docs/tutorial.md's chapter of each lesson ends with one line
     "Exercise: [NN_topic](../exercises/NN_topic/README.md): ..." per
     exercise that follows it, and has no other such line; README.md's
     lesson table has an exercise column that names the same exercises.
When the lessons are renumbered or reordered, this test says what to
update."""
import os, re, sys

src = os.path.realpath(sys.argv[1])
failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(src, rel)) as f:
        return f.read()


# ---- 1. the list of exercises ----
rows = re.findall(
    r"^\| (\d\d) \| \[(\d\d_\w+)\]\((\d\d_\w+)/README\.md\) "
    r"\| \[examples/(\d\d_\w+)\.c\]\(\.\./examples/(\d\d_\w+)\.c\) "
    r"\| (.+) \|$",
    read("exercises/README.md"), re.M)
if not rows:
    fail("exercises/README.md has no table of exercises")
exercises = []
for num, folder, link, lesson, lesson_link, idea in rows:
    if folder != link or not folder.startswith(num + "_"):
        fail(f"exercises/README.md: row {num} names {folder} but links {link}")
    if lesson != lesson_link:
        fail(f"exercises/README.md: row {num} names lesson {lesson} but "
             f"links {lesson_link}")
    exercises.append((num, folder, lesson, idea))
folders = [e[1] for e in exercises]

on_disk = sorted(d for d in os.listdir(os.path.join(src, "exercises"))
                 if re.match(r"\d\d_\w+$", d))
if on_disk != folders:
    fail(f"exercise folders {on_disk} differ from exercises/README.md's "
         f"table {folders}")
mb = read("exercises/meson.build")
built = re.findall(r"^\s*\['(\d\d_\w+)', '(\w+)'\],", mb, re.M)
if [b[0] for b in built] != folders:
    fail(f"exercises/meson.build builds {[b[0] for b in built]}, not "
         f"{folders}")
learner_file = dict(built)
for folder in folders:
    name = learner_file.get(folder)
    need = ["README.md", "check.c"]
    if name:
        need += [name + ".c", name + ".h"]
    for f in need:
        if not os.path.isfile(os.path.join(src, "exercises", folder, f)):
            fail(f"exercises/{folder}/{f} is missing")
    if name and not os.path.isfile(os.path.join(
            src, "exercises", "solutions", folder, name + ".c")):
        fail(f"exercises/solutions/{folder}/{name}.c is missing")
for i, (num, folder, _, _) in enumerate(exercises):
    if num != f"{i + 1:02d}":
        fail(f"exercise {folder} is number {num}, not {i + 1:02d}: number "
             "them in order, from 01")

# ---- 2. the lessons they follow ----
m = re.search(r"^lessons = \[(.*?)\]", read("examples/meson.build"),
              re.S | re.M)
lessons = re.findall(r"'([^']+)'", m.group(1)) if m else []
if not lessons:
    fail("examples/meson.build has no 'lessons' list")
last = -1
for num, folder, lesson, _ in exercises:
    if lesson not in lessons or not os.path.isfile(
            os.path.join(src, "examples", lesson + ".c")):
        fail(f"exercise {folder} follows examples/{lesson}.c, which is not "
             "a lesson (renumbered? update exercises/README.md)")
        continue
    pos = lessons.index(lesson)
    if pos < last:
        fail(f"exercise {folder} follows {lesson}, which comes before the "
             "lesson of the exercise before it: exercises follow the "
             "lessons in order")
    last = pos
    readme = read(f"exercises/{folder}/README.md")
    said = re.findall(r"^Follows lesson \[examples/(\d\d_\w+)\.c\]"
                      r"\(\.\./\.\./examples/(\d\d_\w+)\.c\)", readme, re.M)
    if said != [(lesson, lesson)]:
        fail(f"exercises/{folder}/README.md should say \"Follows lesson "
             f"[examples/{lesson}.c](../../examples/{lesson}.c)\" on a line "
             "of its own")
print(f"{len(exercises)} exercises checked against {len(lessons)} lessons")

# ---- 3. the tutorial and the README point at them ----
tutorial = read("docs/tutorial.md")
chapters = re.split(r"^(?=## )", tutorial, flags=re.M)
by_lesson = {}
for num, folder, lesson, idea in exercises:
    by_lesson.setdefault(lesson, []).append((folder, idea))
seen = set()
for chapter in chapters:
    head = re.match(r"## Lesson \d\d: .*\(`examples/(\d\d_\w+)\.c`\)$",
                    chapter, re.M)
    lines = re.findall(r"^Exercise: \[(\d\d_\w+)\]\(\.\./exercises/"
                       r"(\d\d_\w+)/README\.md\): (.+)$", chapter, re.M)
    if head is None:
        if lines:
            fail(f"docs/tutorial.md has an 'Exercise:' line outside the "
                 f"lessons' chapters: {lines[0][0]}")
        continue
    lesson = head.group(1)
    seen.add(lesson)
    want = by_lesson.get(lesson, [])
    got = [(a, c) for a, b, c in lines if a == b]
    if [g[0] for g in got] != [w[0] for w in want] or len(got) != len(lines):
        fail(f"docs/tutorial.md, lesson {lesson}: its 'Exercise:' lines "
             f"name {[g[0] for g in got]}, not {[w[0] for w in want]}")
    if lines and not chapter.rstrip().splitlines()[-1].startswith(
            "Exercise: "):
        fail(f"docs/tutorial.md, lesson {lesson}: the 'Exercise:' line "
             "ends the chapter")
for lesson in by_lesson:
    if lesson not in seen:
        fail(f"docs/tutorial.md has no chapter for lesson {lesson}")

readme_rows = re.findall(
    r"^\| (\d\d) \| \[(\d\d_\w+)\.c\]\(examples/\d\d_\w+\.c\) \| .*? \| "
    r"(.*) \|$", read("README.md"), re.M)
if len(readme_rows) != len(lessons):
    fail(f"README.md's lesson table has {len(readme_rows)} rows with an "
         f"exercise column, for {len(lessons)} lessons")
for _, lesson, cell in readme_rows:
    want = [f"[{f[:2]}](exercises/{f}/README.md)"
            for f, _ in by_lesson.get(lesson, [])]
    if cell != (", ".join(want) if want else "—"):
        fail(f"README.md, lesson {lesson}: the exercise column says "
             f"'{cell}', not '{', '.join(want) if want else '—'}'")
print("docs/tutorial.md and README.md checked")

for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
