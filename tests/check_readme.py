#!/usr/bin/env python3
"""check_readme.py README.md CC LIB INCDIR...: compiles the first ```c block
of README.md against the library and runs it, so that the README's example
never rots. The block must print its expected output, given in a comment
on its first line as: /* prints: TEXT */ (or the test expects exit 0 only)."""
import os, re, subprocess, sys, tempfile

readme, cc, lib, incdirs = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4:]
text = open(readme).read()
m = re.search(r"```c\n(.*?)```", text, re.S)
if not m:
    print("README.md has no ```c block")
    sys.exit(1)
code = m.group(1)
want = re.search(r"/\* prints: (.*?) \*/", code)
with tempfile.TemporaryDirectory() as tmp:
    src, exe = os.path.join(tmp, "readme.c"), os.path.join(tmp, "readme")
    open(src, "w").write(code)
    r = subprocess.run(cc + ["-std=c11", "-Wall", "-Wextra", "-Werror", "-o",
                             exe, src, lib, "-lpthread"]
                       + [f"-I{d}" for d in incdirs],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("README example does not compile:\n" + r.stderr)
        sys.exit(1)
    r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    ok = r.returncode == 0 and (want is None or r.stdout.strip() == want.group(1))
    print(f"README example printed {r.stdout.strip()!r}, exit {r.returncode}")
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    sys.exit(0 if ok else 1)
