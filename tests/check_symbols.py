#!/usr/bin/env python3
"""check_symbols.py LIB.so: every symbol the shared library exports starts
with cfut_ (libraries' own _init/_fini aside), so cfut never collides with
its users' names. In an ASan build, the ODR indicators ASan adds for
exported variables (__odr_asan.NAME, __odr_asan_gen_NAME) are checked by
the NAME they stand for."""
import subprocess, sys

out = subprocess.run(["nm", "-D", "--defined-only", sys.argv[1]],
                     capture_output=True, text=True, check=True).stdout
allowed = {"_init", "_fini", "_edata", "_end", "__bss_start"}
bad, n = [], 0
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3:
        continue
    kind, name = parts[1], parts[2].split("@")[0]
    if name in allowed:
        continue
    for odr in ("__odr_asan.", "__odr_asan_gen_"):
        if name.startswith(odr):
            name = name[len(odr):]
    n += 1
    if not name.startswith("cfut_"):
        bad.append(f"{kind} {name}")
for b in bad:
    print("not prefixed with cfut_:", b)
print(f"{n} exported symbols checked")
print(f"{n - len(bad)} passed, {len(bad)} failed")
sys.exit(1 if bad or n == 0 else 0)
