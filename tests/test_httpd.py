#!/usr/bin/env python3
"""test_httpd.py CFUT_HTTPD: starts the HTTP server (examples/httpd.c) on a
port the kernel picks with a short head deadline (under $CFUT_TEST_WRAPPER
when set: valgrind in the 'valgrindscripts' setup), then checks it:

  - with curl (Debian's package): GET / and a 404 on one connection
    (curl -v says it re-used it), HEAD, 405, Connection: close, HTTP/1.0;
  - with raw sockets: pipelined requests answered in order in one read,
    keep-alive across writes; hostile requests: a line that never ends, a
    1 MB header, too many fields, a body, a folded line, a bare CR, a bad
    version, partial headers left hanging (408 once the deadline passes,
    while another connection is served meanwhile);
  - SIGTERM: the server exits with status 0 (under valgrind: no leak).
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

httpd = sys.argv[1]
wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
slow = 10 if wrapper else 1
HEAD_MS = 1000 * slow  # the server's deadline for a whole head
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30 * slow)
    return s


def read_all(s):
    """Reads until the server closes (what a client of a closing server
    sees)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def exchange(raw):
    """Sends 'raw' on a new connection, then returns all it gets."""
    s = connect()
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before we are done
    data = read_all(s)
    s.close()
    return data


def read_responses(s, n):
    """Reads 'n' whole responses (each with a Content-Length)."""
    data, out = b"", []
    while len(out) < n:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode()
            length = int(head.lower().split("content-length: ")[1]
                         .split("\r\n")[0])
            end = head_end + 4 + length
            if len(data) >= end:
                out.append((head, data[head_end + 4:end]))
                data = data[end:]
                continue
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return out


def curl(*args):
    r = subprocess.run(["curl", "-s", "--max-time", str(30 * slow)] +
                       list(args), capture_output=True, text=True)
    return r.stdout, r.stderr


srv = subprocess.Popen(wrapper + [httpd, "127.0.0.1:0", str(HEAD_MS)],
                       stdout=subprocess.PIPE, text=True)
try:
    first = srv.stdout.readline()
    if not first.startswith("listening on "):
        sys.exit("cfut-httpd did not start: %r" % first)
    port = int(first.rsplit(":", 1)[1])
    url = "http://127.0.0.1:%d" % port

    # ---- curl: correctness and keep-alive ----
    if shutil.which("curl") is None:
        sys.exit("curl is missing (apt-get install curl)")
    out, err = curl("-v", url + "/", url + "/missing")
    check(out == "Hello, world!\nNot Found\n", "curl: GET / then a 404")
    check("Re-using existing connection" in err and
          err.count("Connected to") == 1,
          "curl -v: both requests on one connection")
    out, _ = curl("-i", "-X", "DELETE", url + "/")
    check(out.startswith("HTTP/1.1 405 ") and "Allow: GET, HEAD" in out,
          "curl: DELETE is 405 with Allow")
    out, _ = curl("-I", url + "/")
    check(out.startswith("HTTP/1.1 200 ") and "Content-Length: 14" in out,
          "curl: HEAD has the length and no body")
    out, err = curl("-v", "-H", "Connection: close", url + "/", url + "/")
    check(err.count("Connected to") == 2 and "Connection: close" in err,
          "curl: Connection: close ends the connection")
    out, _ = curl("-i", "--http1.0", url + "/")
    check(out.startswith("HTTP/1.1 200 ") and "Connection: close" in out,
          "curl: HTTP/1.0 closes by default")
    out, _ = curl("-i", "--http1.0", "-H", "Connection: keep-alive",
                  url + "/")
    check("Connection: keep-alive" in out, "curl: HTTP/1.0 keep-alive")

    # ---- raw sockets: pipelining and keep-alive ----
    s = connect()
    req = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    s.sendall(req * 3 + b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n" + req +
              b"PUT / HTTP/1.1\r\nHost: t\r\n\r\n")
    got = read_responses(s, 6)
    codes = [h.split(" ")[1] for h, _ in got]
    check(codes == ["200", "200", "200", "404", "200", "405"],
          "pipelining: 6 requests in one write, answers in order (%s)" %
          codes)
    s.sendall(req[:10])  # the next request in pieces
    time.sleep(0.1)
    s.sendall(req[10:])
    got = read_responses(s, 1)
    check(len(got) == 1 and got[0][1] == b"Hello, world!\n",
          "keep-alive: a request in two pieces on the same connection")
    s.close()

    # ---- hostile requests ----
    data = exchange(b"A" * 100000)
    check(data.startswith(b"HTTP/1.1 414 "), "a line that never ends: 414")
    data = exchange(b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * (1 << 20) +
                    b"\r\n\r\n")
    check(data.startswith(b"HTTP/1.1 431 "), "a 1 MB header: 431")
    data = exchange(b"GET / HTTP/1.1\r\nHost: t\r\n" +
                    b"".join(b"X%d: y\r\n" % i for i in range(100)) +
                    b"\r\n")
    check(data.startswith(b"HTTP/1.1 431 "), "100 header fields: 431")
    data = exchange(b"GET / HTTP/1.1\r\nHost: t\r\n" +
                    b"X: " + b"b" * 300 + b"\r\n" * 1 +
                    (b"Y: " + b"c" * 4000 + b"\r\n") * 3 + b"\r\n")
    check(data.startswith(b"HTTP/1.1 431 "), "a head over 8 KB: 431")
    data = exchange(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
                    b"hello")
    check(data.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in data,
          "a request with a body: 413 and close")
    data = exchange(b"GET / HTTP/1.1\r\nHost: t\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    check(data.startswith(b"HTTP/1.1 501 ") and b"Connection: close" in data,
          "Transfer-Encoding: 501 and close")
    for raw, what in [
            (b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", "a folded line"),
            (b"GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", "a bare CR"),
            (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", "a space before ':'"),
            (b"GET / HTTP/1.1\r\n\r\n", "no Host"),
            (b"GET /\r\n\r\n", "no version"),
            (b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n", "a bad method"),
            (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
             "a bad Content-Length")]:
        data = exchange(raw)
        check(data.startswith(b"HTTP/1.1 400 "), what + ": 400")
    data = exchange(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n")
    check(data.startswith(b"HTTP/1.1 505 "), "HTTP/2.0 in a 1.x head: 505")
    data = exchange(b"GET / HTTP/1.1\nHost: t\nConnection: close\n\n")
    check(data.startswith(b"HTTP/1.1 200 "), "bare LF line endings: 200")

    # Slowloris: partial headers, a byte at a time; another client is
    # served meanwhile, and the slow one gets 408 at the deadline.
    slowc = connect()
    start = time.time()
    slowc.sendall(b"GET / HTTP/1.1\r\nHo")
    out, _ = curl(url + "/")
    check(out == "Hello, world!\n", "served while a slow client hangs")
    closed = b""
    slowc.settimeout(0.2)
    while time.time() - start < 10 * HEAD_MS / 1000:
        try:
            slowc.sendall(b"x")
            chunk = slowc.recv(65536)
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        closed += chunk
        if not chunk:
            break
    waited = time.time() - start
    check(closed.startswith(b"HTTP/1.1 408 ") and
          waited >= HEAD_MS / 1000 * 0.9,
          "partial headers: 408 at the deadline (%.1f s)" % waited)
    slowc.close()
    # A connection closed in the middle of a head: nothing to answer.
    s = connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost")
    s.shutdown(socket.SHUT_WR)
    check(read_all(s) == b"", "a head cut by the end of stream: closed")
    s.close()
    # An idle keep-alive connection at the stop is closed, not waited for.
    idle = connect()
    idle.sendall(req)
    read_responses(idle, 1)
finally:
    srv.send_signal(signal.SIGTERM)
    try:
        code = srv.wait(timeout=60 * slow)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()
        sys.exit("cfut-httpd did not stop after SIGTERM")
check(code == 0, "SIGTERM: exit status 0 (was %d)" % code)
if failures:
    sys.exit(1)
