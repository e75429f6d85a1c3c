#!/usr/bin/env python3
"""echo_client.py HOST PORT [N] [INFLIGHT]: a client for the cfut wire
format (docs/wire-format.md) written with the Python standard library only
and no cfut code: proof that the document is enough. It sends N requests
(default 1000) with up to INFLIGHT (default 32) pending at once to
`cfut-echo serve`, checks that every response carries the id of a pending
request and its request's payload (in any order), counts the responses
that came back out of order, and exits 0 when all N were answered. An
error response is reported with its status's name and message.

echo_client.py --self-test: decodes the error response of the worked example
in docs/wire-format.md and checks the status table against that page."""
import os
import socket
import struct
import sys

VERSION = 1
REQUEST, RESPONSE, ERROR = 1, 2, 3
HEADER = struct.Struct(">IBBH16s")  # length, version, kind, reserved, id

# Statuses of error responses (docs/wire-format.md): 0 or negative; a
# negated errno in Linux numbering, or one of cfut's own codes (-4001 down).
STATUS_NAMES = {
    -5: "CFUT_EIO", -11: "CFUT_EAGAIN", -12: "CFUT_ENOMEM",
    -16: "CFUT_EBUSY", -22: "CFUT_EINVAL", -35: "CFUT_EDEADLK",
    -71: "CFUT_EPROTO", -90: "CFUT_EMSGSIZE", -104: "CFUT_ECONNRESET",
    -110: "CFUT_ETIMEDOUT", -125: "CFUT_ECANCELED",
    -4001: "CFUT_ECLOSED", -4002: "CFUT_EEOF", -4003: "CFUT_ENOTFOUND",
    -4004: "CFUT_EFULL", -4005: "CFUT_EADDR", -4006: "CFUT_ESTATE",
    -4007: "CFUT_EHOSTNAME", -4008: "CFUT_EAI_NONAME", -4009: "CFUT_EAI_AGAIN",
    -4010: "CFUT_EAI_FAIL", -4011: "CFUT_EAI_NODATA",
}


def status_name(status):
    """Names a wire status: cfut's name, else the Linux errno it stands for."""
    if status in STATUS_NAMES:
        return STATUS_NAMES[status]
    if -4000 < status < 0:
        return "errno %d (Linux numbering)" % -status
    return "unknown status %d" % status


def decode_error(payload):
    """An error response's payload: (status, message)."""
    if len(payload) < 4:
        raise ValueError("error response without a status")
    (status,) = struct.unpack(">i", payload[:4])
    return status, payload[4:].decode("utf-8", "replace")


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


def self_test():
    """The worked example's error response, byte for byte from the page."""
    frame = bytes.fromhex(
        "00000021" "01" "03" "0000"
        "6b1f4e0a9c3d4f218a55d0e7139b2c46" "fffff05d") + b"not found"
    length, version, kind, reserved, rid = HEADER.unpack(frame[:24])
    assert (length, version, kind, reserved) == (0x21, 1, ERROR, 0)
    assert length == len(frame) - 4
    status, message = decode_error(frame[24:])
    assert (status, status_name(status), message) == \
        (-4003, "CFUT_ENOTFOUND", "not found"), (status, message)
    assert status_name(-98) == "errno 98 (Linux numbering)"
    print("python client: self-test passed (%s: %s)"
          % (status_name(status), message))
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
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
        if kind == ERROR:
            status, message = decode_error(payload)
            raise ValueError("request %d failed: %s (%d): %s"
                             % (seq, status_name(status), status, message))
        if payload != want:
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
