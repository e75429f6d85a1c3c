#!/usr/bin/env python3
"""test_chat.py CFUT_CHAT: starts the chat server (examples/chat.c) on a
port the kernel picks (under $CFUT_TEST_WRAPPER when set: valgrind in the
'valgrindscripts' setup), then, with the standard library only:

  - 50 clients connect and wait for the server's welcome (each is then
    subscribed), and each sends 200 lines; every client must receive every
    other client's 200 lines, in each sender's order, and none of its own;
  - meanwhile 20 more clients leave abruptly: half reset the connection
    (SO_LINGER 0) in the middle of a line, half close it in the middle of
    a line; the 50 must see no difference (their lines are ignored);
  - a line longer than the server's limit is refused with a notice;
  - SIGINT: the server tells the clients it stops and exits with status 0
    (under valgrind: no leak, no error).
"""
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading

N_CLIENTS, N_LINES, N_ABRUPT = 50, 200, 20
chat = sys.argv[1]
wrapper = shlex.split(os.environ.get("CFUT_TEST_WRAPPER", ""))
slow = 10 if wrapper else 1
failures = []


def fail(msg):
    failures.append(msg)


def welcome(f):
    """Reads the welcome line; returns the name the server gave us."""
    line = f.readline()
    if not line.startswith("*** welcome, "):
        raise AssertionError("no welcome: %r" % line)
    return line.split(", ", 1)[1].strip()


def client(k, barrier, names):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(120 * slow)
    f = s.makefile("r", encoding="ascii", newline="\n")
    names[k] = welcome(f)
    barrier.wait()
    # Send from another thread while this one reads, as a real client.
    lines = "".join("c%d %d %s\n" % (k, i, "x" * (i % 37))
                    for i in range(N_LINES))

    def send():
        for i in range(0, len(lines), 1000):  # in pieces that cut lines
            s.sendall(lines[i:i + 1000].encode())
    sender = threading.Thread(target=send)
    sender.start()
    seen = {}  # sender index -> next line number expected
    want = (N_CLIENTS - 1) * N_LINES
    got = 0
    while got < want:
        line = f.readline()
        if not line:
            fail("client %d: the server closed after %d lines" % (k, got))
            break
        if line.startswith("*** missed"):
            fail("client %d: %s" % (k, line.strip()))
        if line.startswith("*** ") or ": x" in line:
            continue  # news, or an abrupt client's cut line
        name, text = line.rstrip("\n").split(": ", 1)
        tag, num, pad = (text.split(" ") + [""])[:3]
        j, i = int(tag[1:]), int(num)
        if j == k:
            fail("client %d got its own line %r" % (k, line))
        if names.get(j) != name:
            fail("client %d: line %r from %s, not %s" % (k, line, name,
                                                         names.get(j)))
        if i != seen.get(j, 0) or pad != "x" * (i % 37):
            fail("client %d: from c%d got %r, expected line %d" %
                 (k, j, text, seen.get(j, 0)))
            break
        seen[j] = i + 1
        got += 1
    sender.join()
    barrier.wait()  # every client has every line: now stop
    s.close()


def abrupt(k):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("r", encoding="ascii", newline="\n")
    welcome(f)
    s.sendall(b"x%d whole line\nx%d cut in the midd" % (k, k))
    if k % 2 == 0:  # reset: the kernel sends RST, not FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    s.close()


stopping = False
srv = subprocess.Popen(wrapper + [chat, "127.0.0.1:0"],
                       stdout=subprocess.PIPE, text=True)
try:
    first = srv.stdout.readline()
    if not first.startswith("listening on "):
        sys.exit("cfut-chat did not start: %r" % first)
    port = int(first.rsplit(":", 1)[1])

    # A line over the limit is refused; the connection stays usable.
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("r", encoding="ascii", newline="\n")
    welcome(f)
    s.sendall(b"y" * 600 + b"\nshort\n")
    line = f.readline()
    if line != "*** line too long\n":
        fail("a long line: got %r" % line)
    s.close()

    names = {}
    barrier = threading.Barrier(N_CLIENTS, timeout=300 * slow)
    threads = [threading.Thread(target=client, args=(k, barrier, names))
               for k in range(N_CLIENTS)]
    threads += [threading.Thread(target=abrupt, args=(k,))
                for k in range(N_ABRUPT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300 * slow)
        if t.is_alive():
            fail("a client thread is stuck")
            break
    print("%d clients x %d lines, %d abrupt: %s" %
          (N_CLIENTS, N_LINES, N_ABRUPT,
           "FAILED" if failures else "every line in order"))

    # Stopping: a connected client hears about it, then the server exits.
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("r", encoding="ascii", newline="\n")
    welcome(f)
    srv.send_signal(signal.SIGINT)
    stopping = True
    rest = f.read()
    if "*** server shutting down\n" not in rest:
        fail("no shutdown notice: %r" % rest)
    s.close()
finally:
    if not stopping:  # (a second SIGINT would end it the hard way)
        srv.send_signal(signal.SIGINT)
    try:
        code = srv.wait(timeout=60 * slow)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()
        sys.exit("cfut-chat did not stop after SIGINT")
if code != 0:
    fail("cfut-chat exited with status %d after SIGINT" % code)
for msg in failures[:20]:
    print(msg)
if failures:
    sys.exit(1)
print("cfut-chat stopped cleanly after SIGINT")
