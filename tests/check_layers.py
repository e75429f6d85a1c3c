#!/usr/bin/env python3
"""check_layers.py SRCDIR COMPILE_COMMANDS: the layering of the library is
enforced by the build: every library source is compiled with the include
directories of its own folder and of the folders below it only
(futures <- channels, futures <- runtime, {runtime, channels} <-
transport), so an include that breaks the layering does not compile.
Reads meson's compile_commands.json and names each source compiled with an
include directory of a folder it must not use."""
import json, os, shlex, sys

srcdir, db = os.path.realpath(sys.argv[1]), sys.argv[2]
allowed = {
    "futures": {"futures"},
    "runtime": {"runtime", "futures"},
    "channels": {"channels", "futures"},
    "transport": {"transport", "runtime", "channels", "futures"},
}
entries = json.load(open(db))
builddir = os.path.realpath(os.path.dirname(db))
checked, bad = 0, []
for e in entries:
    src = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(src, srcdir)
    folder = rel.split(os.sep)[0]
    if folder not in allowed or rel.count(os.sep) != 1:
        continue  # tests, examples, benchmarks see everything
    args = e.get("arguments") or shlex.split(e["command"])
    incs = []
    for i, a in enumerate(args):
        if a == "-I" and i + 1 < len(args):
            incs.append(args[i + 1])
        elif a.startswith("-I"):
            incs.append(a[2:])
    checked += 1
    for inc in incs:
        path = os.path.realpath(os.path.join(e["directory"], inc))
        for root in (builddir, srcdir):
            r = os.path.relpath(path, root)
            if r.startswith(".."):
                continue
            top = r.split(os.sep)[0]
            if top in allowed and top not in allowed[folder]:
                bad.append(f"{rel}: compiled with -I{inc} ({top}/), which "
                           f"{folder}/ must not use")
            break
for b in bad:
    print(b)
print(f"{checked} library sources checked")
print(f"{checked - len(set(b.split(':')[0] for b in bad))} passed, "
      f"{len(set(b.split(':')[0] for b in bad))} failed")
sys.exit(1 if bad or checked == 0 else 0)
