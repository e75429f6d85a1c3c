#!/usr/bin/env python3
"""count_lines.py SRCDIR [--check]: counts the non-blank, non-comment lines
of cfut's two programs and of their tokio twins (bench/peers/rust/src/bin),
and prints a table. With --check it fails unless the chat in C is at most
twice as long as the tokio one (issue 13's bar).

Comments: C's /* ... */ and //, Rust's // (doc comments too) and /* */; a
line with code and a comment counts as code. The HTTP parser of the C
server (examples/http_parse.c) is counted apart, since the tokio server
uses a library for it (httparse).
"""
import os
import re
import sys


def code_lines(path):
    text = open(path).read()
    # Comments go, strings stay (no comment marker sits in a string here
    # that would matter: a "//" in a string would only drop its own line).
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    n = 0
    for line in text.splitlines():
        line = re.sub(r"(^|\s)//.*$", "", line).strip()
        if line:
            n += 1
    return n


def main():
    top = sys.argv[1]
    rust = os.path.join(top, "bench", "peers", "rust", "src", "bin")
    rows = [("chat", ["examples/chat.c"], [os.path.join(rust, "chat.rs")]),
            ("httpd", ["examples/httpd.c"], [os.path.join(rust, "httpd.rs")]),
            ("httpd with its parser",
             ["examples/httpd.c", "examples/http_parse.c",
              "examples/http_parse.h"], [os.path.join(rust, "httpd.rs")])]
    print("| program | cfut (C) | tokio (Rust) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    ratios = {}
    for name, c_files, rs_files in rows:
        c = sum(code_lines(os.path.join(top, f)) for f in c_files)
        rs = sum(code_lines(f) for f in rs_files)
        ratios[name] = c / rs
        print("| %s | %d | %d | %.2f× |" % (name, c, rs, c / rs))
    if "--check" in sys.argv and ratios["chat"] > 2.0:
        sys.exit("the chat in C is %.2f× the tokio one (the bar is 2×)" %
                 ratios["chat"])


if __name__ == "__main__":
    main()
