#!/usr/bin/env python3
"""soak.py [--bin DIR] [--seconds S] [--samples FILE] [MINUTES]: the soak
run of './run soak' (docs/testing.md, "Soak").

Starts the three servers of examples/ from DIR (default build/soak/examples)
on 127.0.0.1, ports the kernel picks:
  cfut-httpd      the HTTP server,
  cfut-chat       the line chat,
  cfut-echo serve the transport's echo server, raw TCP and WebSocket;
then drives them for MINUTES (default 10; --seconds S instead) with real
clients that come and go:
  httpd:  wrk, 8 keep-alive connections (runs of at most 15 s, each with
          new connections), and beside it ab without keep-alive (a new
          connection per request: connection churn);
  echo:   tests/echo_client.py (a connection of 2,000 requests, 32 in
          flight, then another) over TCP, and tests/soak/ws_load.mjs (the
          npm package ws: 4 connections of 500 requests, 16 in flight,
          each replaced when done) over WebSocket;
  chat:   Python clients, 4 lanes: each connects, waits for the welcome,
          sends 100 lines at ~100 lines/s while reading what the others
          say, then leaves, by turns with a clean close (the server must
          then close too), a reset, or a reset in the middle of a line;
          and one observer that stays connected throughout;
  rude:   ~20 connections a second, in turn to httpd and to echo's two
          listeners, that send part of a request (an HTTP head, a frame, a
          WebSocket upgrade) and leave, half of them with a reset.
Each second it samples each server's RSS (/proc/PID/status VmRSS) and
open descriptors (/proc/PID/fd). At the end the clients leave, the
descriptors must come back, then each server gets SIGTERM (the chat
SIGINT) and must exit 0 with nothing on stderr.

Verdict per server (PASS/FAIL), the allowed drift:
  - RSS at the end (clients gone) <= RSS after the warm-up (the first
    10% of the run, at least 3 s, at most 60 s) + max(2 MiB, 10%);
  - open descriptors at the end == before the first client came;
  - no client error; something served; exit status 0, stderr empty.
Prints a table; exits 0 when every server passes. --samples FILE writes
every sample (CSV: second, server, rss_kib, fds).

The smoke run of the test suite (tests/meson.build, 'soak-smoke': the
ASan+UBSan build, a few seconds, --servers HTTPD CHAT ECHO --no-rss
--skip-missing) judges everything but RSS (the sanitizer's quarantine
grows it); there LeakSanitizer checks each server's exit.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
NODE_DIR = os.path.join(TOP, "tests", "ws")


class Stats:
    """What one server's clients did: counts and the first few errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = 0
        self.notes = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def error(self, what, n=1):
        with self.lock:
            self.errors += n
            if len(self.notes) < 5:
                self.notes.append(what)


class Server:
    """A server process, its ports, its stderr and its samples."""

    def __init__(self, name, cmd, n_ports):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.ports = []
        for _ in range(n_ports):
            line = self.proc.stdout.readline()
            m = re.search(r":(\d+)/?$", line.strip())
            if not line.startswith("listening on ") or m is None:
                self.proc.kill()
                sys.exit("soak: %s did not start: %r" % (name, line))
            self.ports.append(int(m.group(1)))
        self.err = []
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr),
                         daemon=True).start()
        threading.Thread(target=lambda: [None for _ in self.proc.stdout],
                         daemon=True).start()
        self.samples = []  # (second, rss_kib, fds)
        self.stats = Stats()

    def sample(self, t):
        """Appends (t, RSS in KiB, open descriptors); None if it is gone."""
        pid = self.proc.pid
        try:
            with open("/proc/%d/status" % pid) as f:
                rss = next(int(l.split()[1]) for l in f
                           if l.startswith("VmRSS:"))
            fds = len(os.listdir("/proc/%d/fd" % pid))
        except (OSError, StopIteration):
            return None
        self.samples.append((t, rss, fds))
        return rss, fds


def run(cmd, timeout):
    """Runs a client; returns (exit status, stdout+stderr)."""
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return "timeout", out


def number(pattern, text, default=0):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else default


# ---- the drivers: each loops until 'until' ----

def drive_wrk(srv, until):
    """Keep-alive load: wrk, 8 connections, runs of at most 15 s."""
    url = "http://127.0.0.1:%d/" % srv.ports[0]
    while True:
        left = int(until - time.time())
        if left < 1:
            return
        d = min(15, left)
        rc, out = run(["wrk", "-t1", "-c8", "-d%ds" % d, "--timeout", "10s",
                       url], d + 60)
        n = number(r"(\d+) requests in", out, -1)
        if rc != 0 or n < 0:
            srv.stats.error("wrk exited %s: %s" % (rc, out.strip()[-200:]))
            time.sleep(1)
            continue
        srv.stats.add("wrk requests", n)
        srv.stats.add("wrk runs")
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write "
                      r"(\d+), timeout (\d+)", out)
        bad = sum(int(x) for x in m.groups()) if m else 0
        bad += number(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            srv.stats.error("wrk: %s" % " ".join(
                l.strip() for l in out.splitlines()
                if "errors" in l or "Non-2xx" in l), bad)


def drive_ab(srv, until):
    """Connection churn: ab without keep-alive, 4 at once, a new
    connection per request; runs of 500, a pause between them (bounds the
    rate of new connections, so that ports in TIME_WAIT stay few)."""
    url = "http://127.0.0.1:%d/" % srv.ports[0]
    while time.time() < until - 1:
        rc, out = run(["ab", "-q", "-n", "500", "-c", "4", "-s", "10", url],
                      120)
        done = number(r"Complete requests:\s+(\d+)", out, -1)
        if rc != 0 or done < 0:
            srv.stats.error("ab exited %s: %s" % (rc, out.strip()[-200:]))
        else:
            srv.stats.add("ab requests", done)
            srv.stats.add("ab connections", done)
            bad = number(r"Failed requests:\s+(\d+)", out) + \
                number(r"Non-2xx responses:\s+(\d+)", out)
            if bad:
                srv.stats.error("ab: %d failed or non-2xx" % bad, bad)
        time.sleep(min(2.0, max(0.0, until - time.time())))


def drive_echo_tcp(srv, until):
    """tests/echo_client.py: connections of 2,000 requests, 32 in flight."""
    client = os.path.join(TOP, "tests", "echo_client.py")
    while time.time() < until:
        rc, out = run([sys.executable, client, "127.0.0.1",
                       str(srv.ports[0]), "2000", "32"], 120)
        if rc == 0:
            srv.stats.add("tcp requests", number(r"(\d+) completed", out))
            srv.stats.add("tcp connections")
        else:
            srv.stats.error("echo_client.py exited %s: %s"
                            % (rc, out.strip()[-200:]))
            time.sleep(1)


def drive_echo_ws(srv, until, node):
    """tests/soak/ws_load.mjs (npm ws): runs of at most 30 s."""
    script = os.path.join(HERE, "ws_load.mjs")
    while True:
        left = int(until - time.time())
        if left < 1:
            return
        d = min(30, left)
        rc, out = run([node, script, NODE_DIR, str(srv.ports[1]), str(d),
                       "4", "500", "16"], d + 60)
        try:
            st = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            st = None
        if rc != 0 or st is None:
            srv.stats.error("ws_load.mjs exited %s: %s"
                            % (rc, out.strip()[-200:]))
            time.sleep(1)
            continue
        srv.stats.add("ws requests", st["requests"])
        srv.stats.add("ws connections", st["connections"])
        if st["errors"]:
            srv.stats.error("ws: %s" % st["first_error"], st["errors"])


def chat_session(srv, until, lane, turn, observer=False):
    """One chat client: connect, welcome, talk and read, leave."""
    st = srv.stats
    try:
        s = socket.create_connection(("127.0.0.1", srv.ports[0]), timeout=10)
    except OSError as e:
        st.error("chat connect: %s" % e)
        time.sleep(1)
        return
    st.add("chat connections")
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the welcome")
            buf += chunk
        if not buf.startswith(b"*** welcome, "):
            raise ConnectionError("no welcome: %r" % buf[:60])
        s.setblocking(False)
        sent, next_send = 0, time.time()
        n_lines = 10 ** 9 if observer else 100
        while time.time() < until and sent < n_lines:
            now = time.time()
            if not observer and now >= next_send:
                s.sendall(b"lane %d turn %d line %d %s\n"
                          % (lane, turn, sent, b"x" * (sent % 50)))
                st.add("chat lines sent")
                sent += 1
                next_send = now + 0.01
            r, _, _ = select.select([s], [], [], 0.01 if not observer
                                    else 0.2)
            if r:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed while we stayed")
                st.add("chat lines received", chunk.count(b"\n"))
                if b"*** missed" in chunk:
                    st.add("chat missed notices")
        s.setblocking(True)
        s.settimeout(10)
        how = turn % 3 if not observer else 0
        if how == 0:  # a clean close: the server must close its end too
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                st.add("chat lines received", chunk.count(b"\n"))
            st.add("chat clean leaves")
        else:  # a reset, after a whole line or in the middle of one
            if how == 2:
                s.sendall(b"lane %d cut in the midd" % lane)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            st.add("chat resets")
    except (OSError, ConnectionError) as e:
        st.error("chat lane %d: %s" % (lane, e))
    finally:
        s.close()


def drive_rude(servers, until):
    """Clients that leave in the middle: ~20 connections a second, in turn
    to each listener, each sending part of a request (an HTTP head, a
    transport frame, a WebSocket upgrade) and then closing, half of them
    with a reset. The servers' error paths must free what they hold."""
    httpd, echo = servers
    partial = [
        (httpd, 0, b"GET / HTTP/1.1\r\nHost: a\r\nX-Half: "),
        (echo, 0, b"\x00\x00\x00\x30\x01\x01\x00\x00" + b"\x07" * 9),
        (echo, 1, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket"
                  b"\r\nConnection: Upgrade\r\nSec-WebSocket-Ver"),
        (httpd, 0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\n"),
    ]
    k = 0
    while time.time() < until:
        srv, port, data = partial[k % len(partial)]
        try:
            s = socket.create_connection(("127.0.0.1", srv.ports[port]),
                                         timeout=10)
            s.sendall(data)
            if k % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            s.close()
            srv.stats.add("rude connections")
        except OSError as e:
            srv.stats.error("rude client: %s" % e)
        k += 1
        time.sleep(0.05)


def drive_chat(srv, until, lane):
    turn = 0
    while time.time() < until:
        chat_session(srv, until, lane, turn)
        turn += 1


# ---- the run ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("minutes", nargs="?", type=float, default=10.0)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--bin", default=os.path.join(TOP, "build", "soak",
                                                   "examples"))
    ap.add_argument("--servers", nargs=3, metavar=("HTTPD", "CHAT", "ECHO"),
                    help="the three programs (instead of --bin)")
    ap.add_argument("--samples")
    ap.add_argument("--no-rss", action="store_true",
                    help="do not judge RSS (a sanitizer build)")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (meson's SKIP) when a client is missing")
    args = ap.parse_args()
    duration = args.seconds if args.seconds is not None else args.minutes * 60
    if duration < 5:
        sys.exit("soak: at least 5 seconds")
    warm = min(60.0, max(3.0, duration * 0.1))
    node = shutil.which("node") or shutil.which("nodejs")
    missing = [p for p in ("wrk", "ab") if shutil.which(p) is None]
    if node is None:
        missing.append("node")
    if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", "ws",
                                       "package.json")):
        missing.append("the npm package ws in tests/ws (npm ci there)")
    if missing:
        print("soak: %smissing: %s (./run soak installs them)"
              % ("SKIP: " if args.skip_missing else "", ", ".join(missing)))
        return 77 if args.skip_missing else 1
    b = args.bin
    progs = args.servers or [os.path.join(b, p) for p in
                             ("cfut-httpd", "cfut-chat", "cfut-echo")]
    if args.servers:
        b = os.path.dirname(progs[0])
    servers = [
        Server("httpd", [progs[0], "127.0.0.1:0"], 1),
        Server("chat", [progs[1], "127.0.0.1:0"], 1),
        Server("echo", [progs[2], "serve", "--listen", "127.0.0.1:0",
                        "--ws-listen", "127.0.0.1:0"], 2),
    ]
    httpd, chat, echo = servers
    time.sleep(1)
    t0 = time.time()
    idle = {s.name: s.sample(0) for s in servers}
    until = t0 + duration
    say = lambda m: print("soak: %s" % m, file=sys.stderr, flush=True)
    say("%.0f s of load on httpd :%d, chat :%d, echo :%d (tcp) :%d (ws); "
        "warm-up %.0f s" % (duration, httpd.ports[0], chat.ports[0],
                            echo.ports[0], echo.ports[1], warm))

    drivers = [threading.Thread(target=drive_wrk, args=(httpd, until)),
               threading.Thread(target=drive_ab, args=(httpd, until)),
               threading.Thread(target=drive_echo_tcp, args=(echo, until)),
               threading.Thread(target=drive_echo_ws,
                                args=(echo, until, node)),
               threading.Thread(target=chat_session,
                                args=(chat, until, 99, 0, True)),
               threading.Thread(target=drive_rude,
                                args=((httpd, echo), until))]
    drivers += [threading.Thread(target=drive_chat, args=(chat, until, k))
                for k in range(4)]
    for d in drivers:
        d.daemon = True
        d.start()

    # Sample every second while the clients run; note the warm-up point.
    warm_rss = {}
    gone = set()
    last_report = t0
    while any(d.is_alive() for d in drivers):
        t = time.time() - t0
        for s in servers:
            got = s.sample(round(t, 1))
            if got is None:
                if s.name not in gone:
                    gone.add(s.name)
                    say("%s is gone (exit %s)" % (s.name, s.proc.poll()))
            elif s.name not in warm_rss and t >= warm:
                warm_rss[s.name] = got[0]
        if time.time() - last_report >= 60:
            last_report = time.time()
            say("%.0f s: " % t + ", ".join(
                "%s %d KiB %d fds" % (s.name, s.samples[-1][1],
                                       s.samples[-1][2])
                for s in servers if s.samples))
        time.sleep(max(0.0, 1.0 - (time.time() - t0 - t)))
        if time.time() > until + 180:
            say("clients still running 180 s after the end")
            break

    # The clients are gone: wait (up to 15 s) for the descriptors to come
    # back, then the end sample.
    settle = time.time() + 15
    while time.time() < settle:
        if all(s.sample(round(time.time() - t0, 1)) is not None and
               s.samples[-1][2] == idle[s.name][1] for s in servers):
            break
        time.sleep(0.5)
    end = {s.name: s.sample(round(time.time() - t0, 1)) for s in servers}

    # SIGTERM (SIGINT for the chat: both stop each server): each must
    # exit 0 with nothing on stderr.
    exits = {}
    for s in servers:
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGINT if s is chat else signal.SIGTERM)
    for s in servers:
        try:
            exits[s.name] = s.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()
            exits[s.name] = "hung"
    time.sleep(0.2)  # the stderr readers

    if args.samples:
        with open(args.samples, "w") as f:
            f.write("second,server,rss_kib,fds\n")
            for s in servers:
                for t, rss, fds in s.samples:
                    f.write("%s,%s,%d,%d\n" % (t, s.name, rss, fds))

    # The table.
    print("soak: %.1f min of load (%.0f s), warm-up %.0f s, servers from %s"
          % (duration / 60, duration, warm, b))
    print("allowed drift: %sfds end == fds before the clients; 0 client "
          "errors; exit 0, empty stderr"
          % ("" if args.no_rss else
             "RSS end <= RSS after warm-up + max(2 MiB, 10%); "))
    hdr = ("server", "served", "errors", "RSS KiB warm/max/end",
           "fds idle/max/end", "exit", "verdict")
    fmt = "%-6s %-22s %6s  %-24s %-16s %-5s %s"
    print(fmt % hdr)
    all_ok = True
    for s in servers:
        st = s.stats
        c = st.counts
        if s.name == "httpd":
            served = c.get("wrk requests", 0) + c.get("ab requests", 0)
            what = "requests"
        elif s.name == "echo":
            served = c.get("tcp requests", 0) + c.get("ws requests", 0)
            what = "requests"
        else:
            served = c.get("chat lines received", 0)
            what = "lines"
        rss_max = max(r for _, r, _ in s.samples) if s.samples else 0
        fd_max = max(f for _, _, f in s.samples) if s.samples else 0
        w = warm_rss.get(s.name)
        e, i = end[s.name], idle[s.name]
        why = []
        if served == 0:
            why.append("nothing served")
        if st.errors:
            why.append("client errors")
        if w is None or e is None or i is None:
            why.append("no samples")
        else:
            if not args.no_rss and e[0] > w + max(2048, w // 10):
                why.append("RSS grew %d KiB" % (e[0] - w))
            if e[1] != i[1]:
                why.append("fds %d, were %d" % (e[1], i[1]))
        stderr = "".join(s.err).strip()
        if exits[s.name] != 0:
            why.append("exit %s" % exits[s.name])
        if stderr:
            why.append("stderr: %s" % stderr[:200])
        ok = not why
        all_ok = all_ok and ok
        print(fmt % (s.name, "%d %s" % (served, what), st.errors,
                     "%s/%d/%s" % (w if w is not None else "?", rss_max,
                                   e[0] if e else "?"),
                     "%s/%d/%s" % (i[1] if i else "?", fd_max,
                                   e[1] if e else "?"),
                     exits[s.name], "PASS" if ok else
                     "FAIL (%s)" % "; ".join(why)))
    for s in servers:
        print("  %s: %s" % (s.name, ", ".join(
            "%s %d" % kv for kv in sorted(s.stats.counts.items()))))
        for n in s.stats.notes:
            print("  %s error: %s" % (s.name, n))
    print("soak: %s" % ("PASS" if all_ok else "FAIL"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
