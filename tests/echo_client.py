#!/usr/bin/env python3
"""echo_client.py HOST PORT [N] [INFLIGHT]: a client for the cfut wire
format (docs/wire-format.md) written with the Python standard library only
and no cfut code: proof that the document is enough. It sends N requests
(default 1000) with up to INFLIGHT (default 32) pending at once to
`cfut-echo serve`, checks that every response carries the id of a pending
request and its request's payload (in any order), counts the responses
that came back out of order, and exits 0 when all N were answered."""
import os
import socket
import struct
import sys

VERSION = 1
REQUEST, RESPONSE, ERROR = 1, 2, 3
HEADER = struct.Struct(">IBBH16s")  # length, version, kind, reserved, id


def new_id():
    """16 random bytes in UUID v4 layout."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return bytes(b)


def encode(kind, rid, payload):
    return HEADER.pack(20 + len(payload), VERSION, kind, 0, rid) + payload


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def read_frame(sock):
    length, version, kind, reserved, rid = HEADER.unpack(read_exact(sock, 24))
    if length < 20 or length > (1 << 20) or version != VERSION \
            or kind not in (RESPONSE, ERROR) or reserved != 0:
        raise ValueError("protocol error in frame header")
    return kind, rid, read_exact(sock, length - 20)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    inflight = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    sock = socket.create_connection((host, port), timeout=30)
    pending = {}  # id -> (sequence number, payload)
    sent = done = out_of_order = 0
    next_expected = 0
    while done < total:
        batch = b""
        while sent < total and len(pending) < inflight:
            rid = new_id()
            payload = b"py-%d" % sent
            pending[rid] = (sent, payload)
            batch += encode(REQUEST, rid, payload)
            sent += 1
        if batch:
            sock.sendall(batch)
        kind, rid, payload = read_frame(sock)
        if rid not in pending:
            raise ValueError("response for an unknown id")
        seq, want = pending.pop(rid)
        if kind != RESPONSE or payload != want:
            raise ValueError("wrong response for request %d" % seq)
        if seq != next_expected:
            out_of_order += 1
        next_expected = seq + 1
        done += 1
    sock.close()
    print("python client: %d completed, 0 errors, %d out of order"
          % (done, out_of_order))
    return 0


if __name__ == "__main__":
    sys.exit(main())
