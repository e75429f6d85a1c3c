#!/usr/bin/env python3
"""bench/http_bench.py: the http_keepalive_c{1,50,500} benchmark: wrk
(Debian's package) against four HTTP servers that give the same answer to
GET / (examples/httpd.c and its twins), C connections kept alive:

  cfut                  cfut's httpd (build/release/bench/http_cfut)
  floor                 a thread per connection, blocking I/O, the same
                        parser (build/release/bench/http_floor)
  tokio-current-thread  bench/peers/rust's httpd
  tokio-multi-thread    the same, --multi-thread (one worker per CPU)

Each line (bench/README.md's format) has ns_per_op = 1e9 / requests per
second (wall time per request, the median run), min and max over the runs,
ops = requests in the median run, and two fields of its own: req_per_s and
cpu_s_per_100k, the server's CPU time (utime + stime of every thread, from
/proc/PID/stat) per 100,000 requests. wrk runs on the same 2 cores as the
server (1 thread at c=1, 2 above), so the figures are for this machine as a
whole, not the server alone.

  bench/http_bench.py [--quick] [--filter S] [--build DIR] [--peers DIR]
                      [--seconds N] [--runs N]
  bench/http_bench.py --syscalls [N]   strace -c -f over N keep-alive
                      requests (default 20000) for cfut and the floor:
                      system calls per request, by name
Servers that are not built are skipped with a message on stderr.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def say(msg):
    print("http_bench: " + msg, file=sys.stderr, flush=True)


def servers(build, peers):
    rust = os.path.join(peers, "target", "release", "httpd")
    return [("cfut", [os.path.join(build, "bench", "http_cfut"),
                      "127.0.0.1:0"]),
            ("floor", [os.path.join(build, "bench", "http_floor"), "0"]),
            ("tokio-current-thread", [rust, "127.0.0.1:0"]),
            ("tokio-multi-thread", [rust, "--multi-thread", "127.0.0.1:0"])]


def start(cmd, wrap=()):
    p = subprocess.Popen(list(wrap) + cmd, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on "):
        p.kill()
        raise RuntimeError("%s did not start: %r" % (cmd[0], line))
    return p, int(line.rsplit(":", 1)[1])


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def cpu_seconds(pid):
    """utime + stime of every thread of 'pid' (fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wrk(port, conns, seconds):
    threads = 1 if conns == 1 else 2
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns,
                          "-d%ds" % seconds, "http://127.0.0.1:%d/" % port],
                         capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", out)
    if errors:
        raise RuntimeError("wrk saw errors:\n" + out)
    return n


def run_one(name, impl, cmd, conns, seconds, runs):
    p, port = start(cmd)
    try:
        wrk(port, conns, 1)  # warm up: connections, caches, thread pools
        rows = []
        for _ in range(runs):
            c0, t0 = cpu_seconds(p.pid), time.monotonic()
            n = wrk(port, conns, seconds)
            t1, c1 = time.monotonic(), cpu_seconds(p.pid)
            rows.append((n / (t1 - t0), (c1 - c0) / n * 1e5, n))
    finally:
        stop(p)
    rows.sort()
    rps, cpu, n = rows[len(rows) // 2]
    return {"name": name, "impl": impl, "ns_per_op": round(1e9 / rps, 1),
            "min": round(1e9 / rows[-1][0], 1),
            "max": round(1e9 / rows[0][0], 1), "ops": n,
            "req_per_s": round(rps), "cpu_s_per_100k": round(cpu, 3)}


def syscalls(build, n_req):
    """strace -c -f over 'n_req' requests on one kept-alive connection."""
    import socket
    req = b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"
    for impl, cmd in servers(build, "")[:2]:
        if not os.path.exists(cmd[0]):
            say("%s is not built: skipped" % cmd[0])
            continue
        out = "/tmp/http_bench_strace.%d" % os.getpid()
        p, port = start(cmd, ["strace", "-c", "-f", "-o", out])
        s = socket.create_connection(("127.0.0.1", port))
        for _ in range(n_req):
            s.sendall(req)
            got = b""
            while not got.endswith(b"Hello, world!\n"):
                got += s.recv(4096)
        s.close()
        time.sleep(0.2)
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            os.kill(int(f.read().split()[0]), signal.SIGTERM)  # the server
        p.wait(timeout=20)
        table = open(out).read()
        os.unlink(out)
        counts = {}
        for line in table.splitlines():
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                counts[f[-1]] = int(f[3])
        total = sum(counts.values())
        per = {k: round(v / n_req, 2) for k, v in sorted(
            counts.items(), key=lambda kv: -kv[1]) if v / n_req >= 0.01}
        # The same line as bench/run_bench --syscalls writes for the
        # socket workloads, so report.py puts it in the same table.
        print(json.dumps({"name": "http_keepalive_c1", "impl": impl,
                          "syscalls_per_op": round(total / n_req, 2),
                          "by_call": per, "requests": n_req}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--filter", default="")
    ap.add_argument("--build", default=os.path.join(top, "build", "release"))
    ap.add_argument("--peers",
                    default=os.path.join(top, "bench", "peers", "rust"))
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--syscalls", type=int, nargs="?", const=20000)
    a = ap.parse_args()
    if a.syscalls:
        return syscalls(a.build, a.syscalls)
    seconds = a.seconds or (1 if a.quick else 3)
    runs = a.runs or (1 if a.quick else 3)
    ok = True
    for conns in (1, 50, 500):
        name = "http_keepalive_c%d" % conns
        if a.filter not in name:
            continue
        for impl, cmd in servers(a.build, a.peers):
            if not os.path.exists(cmd[0]):
                say("%s is not built: %s skipped" % (cmd[0], impl))
                continue
            try:
                row = run_one(name, impl, cmd, conns, seconds, runs)
                print(json.dumps(row), flush=True)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                say("%s %s failed: %s" % (name, impl, e))
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
