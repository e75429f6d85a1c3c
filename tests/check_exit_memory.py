#!/usr/bin/env python3
"""check_exit_memory.py VALGRIND PROGRAM...: a clean cfut program gives back
everything it allocated, the per-thread block cache included: run under
valgrind --leak-check=full --show-leak-kinds=all, each PROGRAM exits 0 and
valgrind reports "in use at exit: 0 bytes in 0 blocks"."""
import os, re, subprocess, sys, tempfile

valgrind, programs = sys.argv[1], sys.argv[2:]
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for exe in programs:
        log = os.path.join(tmp, "vg.log")
        r = subprocess.run([valgrind, "--leak-check=full",
                            "--show-leak-kinds=all", f"--log-file={log}",
                            exe], capture_output=True, text=True,
                           timeout=300)
        report = open(log).read()
        m = re.search(r"in use at exit: ([\d,]+ bytes in [\d,]+ blocks)",
                      report)
        in_use = m.group(1) if m else "(no heap summary)"
        ok = r.returncode == 0 and in_use == "0 bytes in 0 blocks"
        print(f"{os.path.basename(exe)}: exit {r.returncode}, "
              f"in use at exit: {in_use}")
        if not ok:
            print(report)
            failed += 1
print(f"{len(programs) - failed} passed, {failed} failed")
sys.exit(1 if failed or not programs else 0)
