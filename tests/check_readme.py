#!/usr/bin/env python3
"""check_readme.py README.md CC CFLAGS LDFLAGS LIB INCDIR...: compiles every
```c block of README.md against the library, with this build's compiler and
flags, runs it and checks what it prints, so that no example in the README
rots.

The rules the README follows (and this test enforces):
  - Every block fenced as ```c is a complete program: it has main(), it
    compiles under -std=c11 -Wall -Wextra -Werror, and it exits 0.
  - A block that shows its output says so on one line of its own code:
    /* prints: TEXT */ ; the program's standard output, stripped, must then
    be TEXT (use \\n inside TEXT for a line break).
  - A block that is deliberately not a complete program (a fragment quoted
    for reading) is fenced as ```c fragment: it is not compiled, and this
    test lists it. Fencing C as ```text to escape the test is refused: a
    block in another language that calls cfut functions or macros fails.
"""
import os, re, subprocess, sys, tempfile

readme, cc, cflags, ldflags, lib = sys.argv[1:6]
incdirs = sys.argv[6:]
cc, cflags, ldflags = cc.split(), cflags.split(), ldflags.split()
text = open(readme).read()

blocks = []  # (info string, code, line number)
for m in re.finditer(r"^```([^\n]*)\n(.*?)^```", text, re.S | re.M):
    line = text.count("\n", 0, m.start()) + 1
    blocks.append((m.group(1).strip(), m.group(2), line))

looks_like_c = re.compile(r"\b(cfut_[a-z0-9_]+|CFUT_[A-Z0-9_]+)\s*\(")
passed, failed, fragments = 0, 0, 0
with tempfile.TemporaryDirectory() as tmp:
    for n, (info, code, line) in enumerate(blocks):
        where = f"README.md:{line}"
        if info == "c fragment":
            fragments += 1
            print(f"{where}: a fragment (not compiled)")
            continue
        if info != "c":
            if looks_like_c.search(code):
                print(f"{where}: a ```{info} block that calls cfut code: "
                      "fence it as ```c (or ```c fragment)")
                failed += 1
            continue
        if not re.search(r"\bmain\s*\(", code):
            print(f"{where}: a ```c block without main(): make it a "
                  "complete program or fence it as ```c fragment")
            failed += 1
            continue
        src = os.path.join(tmp, f"block{n}.c")
        exe = os.path.join(tmp, f"block{n}")
        with open(src, "w") as f:
            f.write(code)
        r = subprocess.run(cc + ["-std=c11", "-Wall", "-Wextra", "-Werror"]
                           + cflags + [f"-I{d}" for d in incdirs]
                           + ["-o", exe, src, lib] + ldflags,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{where}: does not compile:\n{r.stderr}")
            failed += 1
            continue
        r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        want = re.search(r"/\* prints: (.*?) \*/", code)
        got = r.stdout.strip()
        ok = r.returncode == 0
        if want is not None:
            ok = ok and got == want.group(1).replace("\\n", "\n")
        print(f"{where}: printed {got!r}, exit {r.returncode}"
              + ("" if ok else f"; expected {want.group(1)!r}, exit 0"
                 if want else "; expected exit 0"))
        if r.stderr:
            print(r.stderr)
        if ok:
            passed += 1
        else:
            failed += 1
if passed == 0:
    print("README.md has no ```c block")
    failed += 1
print(f"{fragments} fragment(s) listed")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
