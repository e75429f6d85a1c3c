#!/usr/bin/env python3
"""test_echo_addr.py CFUT_ECHO: cfut-echo's HOST:PORT handling and its error
messages. The server refuses a host name with a message saying host names
are not resolved there; the client resolves one (this machine's own name,
when it resolves) and names one that does not resolve by its resolver
error; localhost and a bracketed IPv6 address ([::1]) serve and connect;
a port in use and a refused connection are reported by their system error
(EADDRINUSE, ECONNREFUSED) with the system's text. Exits non-zero on the
first check that fails."""
import socket
import subprocess
import sys

echo = sys.argv[1]


def run(*args):
    return subprocess.run([echo, *args], capture_output=True, text=True,
                          timeout=60)


def check(cond, what, proc=None):
    if not cond:
        detail = ""
        if proc is not None:
            detail = "\nstdout: %r\nstderr: %r" % (proc.stdout, proc.stderr)
        sys.exit("FAIL: %s%s" % (what, detail))
    print("ok: %s" % what)


def serve(addr):
    """Starts a server on 'addr'; returns it and the port it prints."""
    srv = subprocess.Popen([echo, "serve", "--listen", addr],
                           stdout=subprocess.PIPE, text=True)
    line = srv.stdout.readline()
    if not line.startswith("listening on "):
        srv.kill()
        sys.exit("FAIL: cfut-echo serve --listen %s: %r" % (addr, line))
    return srv, int(line.split()[2].rsplit(":", 1)[1])


def round_trip(listen, connect_host):
    srv, port = serve(listen)
    try:
        p = run("client", "--connect", "%s:%d" % (connect_host, port),
                "--requests", "50", "--inflight", "4")
        check(p.returncode == 0 and "completed: 50" in p.stdout,
              "serve on %s, client to %s" % (listen, connect_host), p)
    finally:
        srv.kill()
        srv.wait()
    return port


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


p = run("serve", "--listen", "example.com:7000")
check(p.returncode == 1 and "host names are not resolved" in p.stderr
      and "CFUT_EHOSTNAME" in p.stderr, "a host name is refused clearly", p)

p = run("client", "--connect", "no-such-host.invalid:7000", "--requests",
        "1", "--inflight", "1")
check(p.returncode != 0 and ("CFUT_EAI_NONAME" in p.stderr
                             or "CFUT_EAI_AGAIN" in p.stderr),
      "the client names a host that does not resolve", p)

p = run("serve", "--listen", "300.1.1.1:7000")
check(p.returncode == 1 and "CFUT_EADDR" in p.stderr,
      "a malformed address is refused", p)

p = run("serve", "--listen", "::1:7000")
check(p.returncode == 2 and "usage" in p.stderr,
      "an IPv6 address needs brackets", p)

round_trip("localhost:0", "localhost")
try:  # a real lookup: this machine's name, if the system resolves it
    me = socket.gethostname()
    v4 = [a for a in socket.getaddrinfo(me, 1, socket.AF_INET)]
except OSError:
    v4 = []
if v4 and me != "localhost":
    round_trip("0.0.0.0:0", me)
else:
    print("skip: this machine's name does not resolve to IPv4")
round_trip("127.0.0.1:0", "localhost")
if have_ipv6_loopback():
    round_trip("[::1]:0", "[::1]")
    round_trip("[::1]:0", "localhost")  # localhost falls back to ::1
else:
    print("skip: no IPv6 loopback on this machine")

srv, port = serve("127.0.0.1:0")
try:
    p = run("serve", "--listen", "127.0.0.1:%d" % port)
    check(p.returncode == 1 and "EADDRINUSE" in p.stderr
          and "in use" in p.stderr.lower(), "a port in use is EADDRINUSE", p)
finally:
    srv.kill()
    srv.wait()

with socket.socket() as s:  # a port bound but not listening: refused
    s.bind(("127.0.0.1", 0))
    free_port = s.getsockname()[1]
    p = run("client", "--connect", "127.0.0.1:%d" % free_port, "--requests",
            "1", "--inflight", "1")
check(p.returncode == 1 and "ECONNREFUSED" in p.stderr
      and "refused" in p.stderr.lower(), "a refused connection is named", p)
