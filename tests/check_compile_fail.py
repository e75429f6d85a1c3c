#!/usr/bin/env python3
"""check_compile_fail.py CC CFLAGS INCDIR... -- SNIPPET...: compiles each
snippet with this build's compiler and flags (-std=c11 -Wall -Wextra
-Wpedantic -Werror, plus CFLAGS, one shell-quoted string) and checks the
outcome its header comment states: "expect: OK" must compile; "expect:
REGEX" must fail with a diagnostic matching REGEX (so it fails for the
reason it is about, not another); "warns: REGEX" must print a diagnostic
matching REGEX (a warning that a diagnostic pragma turned on stays a
warning under -Werror). "variants: switch goto" (the default) says which
coroutine variants to try (goto: -DCFUT_CORO_GOTO=1).
Exits non-zero naming the snippets whose outcome differs."""
import os, re, shlex, subprocess, sys

args = sys.argv[1:]
sep = args.index("--")
cc, cflags = shlex.split(args[0]), shlex.split(args[1])
incdirs, snippets = args[2:sep], args[sep + 1:]
flags = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"] + cflags
inc = [f"-I{d}" for d in incdirs]
variants = {"switch": [], "goto": ["-DCFUT_CORO_GOTO=1"]}
bad = total = 0
for path in snippets:
    text = open(path).read()
    m = re.search(r"(expect|warns): (.*)", text)
    kind, expect = m.group(1), m.group(2).strip()
    m = re.search(r"variants: (.*)", text)
    names = m.group(1).split() if m else ["switch", "goto"]
    for v in names:
        total += 1
        r = subprocess.run(cc + flags + variants[v] + inc +
                           ["-c", path, "-o", os.devnull],
                           capture_output=True, text=True)
        name = f"{os.path.basename(path)} ({v})"
        if expect == "OK":
            ok = r.returncode == 0
            why = "does not compile"
        elif kind == "warns":
            ok = re.search(expect, r.stderr) is not None
            why = f"no diagnostic matching '{expect}'"
        else:
            ok = r.returncode != 0 and re.search(expect, r.stderr) is not None
            why = ("compiles" if r.returncode == 0 else
                   f"fails without a diagnostic matching '{expect}'")
        print(f"{name}: {'ok' if ok else 'FAILED: ' + why}")
        if not ok:
            print(r.stderr[-3000:])
            bad += 1
print(f"{total - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
