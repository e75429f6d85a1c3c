#!/usr/bin/env python3
"""check_lessons.py SRCDIR: the lessons can be read in order without meeting
anything untaught. Each lesson (examples/meson.build's 'lessons' list, in
that order) opens with a comment whose "Builds on:" and "API introduced:"
lines say what it takes from earlier lessons and what it teaches. Checked:
  1. "Builds on:" names only earlier lessons (by number), each one real.
  2. Every name in "API introduced:" (cfut_... and CFUT_... identifiers;
     'cfut_io_new/free' stands for cfut_io_new and cfut_io_free) is
     declared in a public header, is used in the lesson's own code, and
     appears in no earlier lesson's code. Introducing X_init or X_new
     introduces the type X too (cfut_sleep_init: struct cfut_sleep).
  3. Every cfut_... or CFUT_... name a lesson's code uses (comments and
     string literals left out) was introduced by that lesson or an earlier
     one.
  4. No lesson is longer than LIMIT lines (one idea per lesson)."""
import os, re, sys

LIMIT = 200

src = os.path.realpath(sys.argv[1])
failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


NAME = re.compile(r"\b(?:cfut|CFUT)_\w+")


def strip_code(text):
    """The code without comments, string and character literals."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def section(header, label):
    """The text of 'label:' in a lesson's opening comment, up to the next
    'Label:' line."""
    m = re.search(r"^ \* " + label + r":(.*?)(?=^ \* [A-Z][\w ]*:|\Z)",
                  header, re.S | re.M)
    return re.sub(r"\s*\n\s*\*\s*", " ", m.group(1)).strip() if m else None


def expand(text):
    """The identifiers an "API introduced:" list names."""
    names = []
    for m in re.finditer(r"\b((?:cfut|CFUT)_\w+)\b(?!\.h)((?:/\w+)*)", text):
        first, rest = m.group(1), m.group(2)
        names.append(first)
        if rest:
            prefix = first[:first.rfind("_") + 1]
            names += [prefix + alt for alt in rest.split("/")[1:]]
    return names


# The public API: identifiers declared in the public headers, and the
# clone and drop calls that cfut_channel.h's declaration macros declare for
# a pair of handle types: CFUT_CHANNEL_DECLARE_HANDLE(L, S) declares
# L_clone, S_clone, L_drop and S_drop (_CLONE and _DROP: one of the two).
DECLARE = re.compile(
    r"\bCFUT_CHANNEL_DECLARE_(HANDLE|CLONE|DROP)\(\s*(\w+)\s*,\s*(\w+)\s*\)")
public = set()
for folder in ("futures", "runtime", "channels", "transport"):
    d = os.path.join(src, folder)
    for f in os.listdir(d):
        if f.endswith((".h", ".h.in")) and not f.endswith("_int.h"):
            code = strip_code(read(f"{folder}/{f}"))
            public |= set(NAME.findall(code))
            for kind, loc, sync in DECLARE.findall(code):
                verbs = {"HANDLE": ("clone", "drop"), "CLONE": ("clone",),
                         "DROP": ("drop",)}[kind]
                public |= {f"{h}_{v}" for h in (loc, sync) for v in verbs}

mb = read("examples/meson.build")
m = re.search(r"^lessons = \[(.*?)\]", mb, re.S | re.M)
lessons = re.findall(r"'([^']+)'", m.group(1)) if m else []
if not lessons:
    fail("examples/meson.build has no 'lessons' list")

taught = {}  # name -> the lesson that introduced it
seen_code = {}  # name -> the first lesson whose code uses it
n_names = 0
for idx, name in enumerate(lessons):
    num = int(name[:2])
    text = read(f"examples/{name}.c")
    lines = text.count("\n")
    if lines > LIMIT:
        fail(f"{name}.c has {lines} lines (at most {LIMIT}: one idea per "
             "lesson; split or trim it)")
    head = re.match(r"/\*(.*?)\*/", text, re.S)
    if head is None:
        fail(f"{name}.c does not open with its lesson comment")
        continue
    header = head.group(0)
    title = re.search(r"Lesson (\d\d):", header)
    if title is None or int(title.group(1)) != num:
        fail(f"{name}.c: its comment does not say 'Lesson {name[:2]}:'")
    builds = section(header, "Builds on")
    intro = section(header, "API introduced")
    if builds is None or intro is None:
        fail(f"{name}.c: the comment needs 'Builds on:' and "
             "'API introduced:' lines")
        continue
    # 1. Builds on earlier lessons only.
    for ref in re.findall(r"\b(\d\d)\b", builds):
        r = int(ref)
        if r >= num:
            fail(f"{name}.c builds on lesson {ref}, which is not earlier")
        elif not any(int(l[:2]) == r for l in lessons):
            fail(f"{name}.c builds on lesson {ref}, which does not exist")
    code = strip_code(text)
    used = set(NAME.findall(code))
    # 2. What it introduces is real, used here, and new.
    for api in expand(intro):
        n_names += 1
        if api not in public:
            fail(f"{name}.c introduces {api}, which no public header "
                 "declares")
        if api not in used:
            fail(f"{name}.c introduces {api} but its code does not use it")
        if api in seen_code:
            fail(f"{name}.c introduces {api}, but lesson "
                 f"{seen_code[api]} already uses it")
        elif api in taught:
            fail(f"{name}.c introduces {api} again (lesson {taught[api]} "
                 "did)")
        taught.setdefault(api, name[:2])
        kind = re.match(r"(cfut_\w+)_(?:init|new)$", api)
        if kind and kind.group(1) in public:
            taught.setdefault(kind.group(1), name[:2])
    # 3. What it uses was taught here or before.
    for api in sorted(used):
        if api not in taught:
            fail(f"{name}.c uses {api}, which no lesson up to it introduces")
        seen_code.setdefault(api, name[:2])

print(f"{len(lessons)} lessons, {n_names} introduced names checked")
for f in failures:
    print("FAIL:", f)
print("0 passed, 1 failed" if failures else "1 passed, 0 failed")
sys.exit(1 if failures else 0)
