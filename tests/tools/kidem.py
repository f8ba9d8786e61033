# SPDX-License-Identifier: MIT
"""kidem: hand-built idempotent-producer requests for the logd tests.

No dependencies; run with Debian's /usr/bin/python3.

  kidem.py create ADDR TOPIC PARTITIONS [KEY=VALUE...]
      CreateTopics v0 (configs as KEY=VALUE); prints "error=NAME".
  kidem.py initpid ADDR [--tid ID] [--count N]
      InitProducerId v1 (transactional id null unless --tid; "" is
      empty), N times on one connection; one line each:
      "error=NAME pid=ID epoch=E".
  kidem.py produce ADDR TOPIC SPEC...
      One Produce v7 request, acks=-1. SPEC is [PART:]PID/EPOCH/SEQ/COUNT,
      one record batch of COUNT records whose values are "PID-SEQ" for
      each record's sequence number; the batches of a partition go in the
      order given. Prints "p=PART error=NAME base=OFFSET" per partition.
  kidem.py flood ADDR TOPIC FIRST_PID N
      N requests on one connection, producer FIRST_PID+i sending its
      sequence 0 (one record) to partition 0; prints "errors=E".
  kidem.py mkseg PATH SPEC...
      Write a segment file of batches, SPEC BASE_OFFSET:PID/EPOCH/SEQ/COUNT
      (sequence numbers wrap from 2147483647 to 0, as producers do).
  kidem.py proxy ADDR_FILE UPSTREAM_FILE --drop-every N
      A TCP proxy on 127.0.0.1 (its address goes to ADDR_FILE) to the
      broker whose address UPSTREAM_FILE holds (read at each connection).
      Every Nth Produce response is not delivered: the proxy closes the
      client's connection instead, so the client retries a batch the
      broker has already written. Prints "dropped K" as it goes.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

ERRORS = {
    -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION", 15: "COORDINATOR_NOT_AVAILABLE",
    36: "TOPIC_ALREADY_EXISTS", 42: "INVALID_REQUEST",
    45: "OUT_OF_ORDER_SEQUENCE_NUMBER", 46: "DUPLICATE_SEQUENCE_NUMBER",
    47: "INVALID_PRODUCER_EPOCH", 53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    59: "UNKNOWN_PRODUCER_ID",
}

INT32_MAX = 2**31 - 1

CRC_TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    CRC_TABLE.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    s = s.encode()
    return struct.pack(">h", len(s)) + s


def seq_add(seq, n):
    return seq + n if seq <= INT32_MAX - n else n - (INT32_MAX - seq) - 1


def batch(pid, epoch, seq, count, base=0):
    """A v2 batch of `count` records, CRC-32C over attributes..end."""
    ts = int(time.time() * 1000)
    recs = bytearray()
    for i in range(count):
        value = ("%d-%d" % (pid, seq_add(seq, i))).encode()
        body = (b"\x00" + varint(0) + varint(i) + varint(-1) +
                varint(len(value)) + value + varint(0))
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, count - 1, ts, ts, pid, epoch,
                            seq, count) + bytes(recs)
    after_len = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", base, len(after_len)) + after_len


def parse_spec(spec):
    part = 0
    if ":" in spec:
        p, spec = spec.split(":", 1)
        part = int(p)
    pid, epoch, seq, count = (int(x) for x in spec.split("/"))
    return part, pid, epoch, seq, count


class Conn:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        self.corr = 0

    def call(self, api, version, body):
        self.corr += 1
        frame = struct.pack(">hhi", api, version, self.corr) + \
            kstr("kidem") + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self.recv(4))[0]
        data = self.recv(size)
        corr = struct.unpack_from(">i", data)[0]
        if corr != self.corr:
            sys.exit("kidem: correlation id %d, expected %d" %
                     (corr, self.corr))
        return data[4:]

    def recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                sys.exit("kidem: connection closed")
            buf += chunk
        return bytes(buf)


def err_name(code):
    return ERRORS.get(code, str(code))


def cmd_create(a):
    configs = [kv.split("=", 1) for kv in a.configs]
    body = struct.pack(">i", 1) + kstr(a.topic) + \
        struct.pack(">ihi", a.partitions, 1, 0) + \
        struct.pack(">i", len(configs)) + \
        b"".join(kstr(k) + kstr(v) for k, v in configs) + \
        struct.pack(">i", 10000)
    r = Conn(a.addr).call(19, 0, body)
    n = struct.unpack_from(">i", r)[0]
    assert n == 1
    tl = struct.unpack_from(">h", r, 4)[0]
    code = struct.unpack_from(">h", r, 6 + tl)[0]
    print("error=%s" % err_name(code))


def cmd_initpid(a):
    c = Conn(a.addr)
    for _ in range(a.count):
        r = c.call(22, 1, kstr(a.tid) + struct.pack(">i", 60000))
        _, code, pid, epoch = struct.unpack(">ihqh", r)
        print("error=%s pid=%d epoch=%d" % (err_name(code), pid, epoch))


def produce_request(topic, parts):
    body = kstr(None) + struct.pack(">hi", -1, 30000) + struct.pack(">i", 1)
    body += kstr(topic) + struct.pack(">i", len(parts))
    for part, data in parts:
        body += struct.pack(">ii", part, len(data)) + data
    return body


def parse_produce(r):
    tl = struct.unpack_from(">h", r, 4)[0]
    off = 6 + tl
    n = struct.unpack_from(">i", r, off)[0]
    off += 4
    out = []
    for _ in range(n):
        part, code, base, _, _ = struct.unpack_from(">ihqqq", r, off)
        off += 30
        out.append((part, code, base))
    return out


def cmd_produce(a):
    parts = {}
    order = []
    for spec in a.specs:
        part, pid, epoch, seq, count = parse_spec(spec)
        if part not in parts:
            parts[part] = b""
            order.append(part)
        parts[part] += batch(pid, epoch, seq, count)
    r = Conn(a.addr).call(0, 7, produce_request(
        a.topic, [(p, parts[p]) for p in order]))
    for part, code, base in parse_produce(r):
        print("p=%d error=%s base=%d" % (part, err_name(code), base))


def cmd_flood(a):
    c = Conn(a.addr)
    errors = 0
    for i in range(a.n):
        r = c.call(0, 7, produce_request(
            a.topic, [(0, batch(a.first_pid + i, 0, 0, 1))]))
        errors += sum(1 for _, code, _ in parse_produce(r) if code != 0)
    print("errors=%d" % errors)


def cmd_mkseg(a):
    with open(a.path, "wb") as f:
        for spec in a.specs:
            base, rest = spec.split(":", 1)
            pid, epoch, seq, count = (int(x) for x in rest.split("/"))
            f.write(batch(pid, epoch, seq, count, int(base)))


def read_frame(sock):
    """One size-prefixed frame (with its prefix), or None at the end."""
    buf = bytearray()
    need = 4
    while len(buf) < need:
        try:
            chunk = sock.recv(need - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
        if need == 4 and len(buf) == 4:
            need = 4 + struct.unpack(">i", buf)[0]
    return bytes(buf)


class Proxy:
    def __init__(self, upstream_file, drop_every):
        self.upstream_file = upstream_file
        self.drop_every = drop_every
        self.produced = 0
        self.dropped = 0
        self.lock = threading.Lock()

    def serve(self, client):
        with open(self.upstream_file) as f:
            host, port = f.read().strip().rsplit(":", 1)
        server = socket.create_connection((host, int(port)))
        pending = {}

        def close():
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def upward():
            while True:
                frame = read_frame(client)
                if frame is None:
                    break
                api, _, corr = struct.unpack_from(">hhi", frame, 4)
                pending[corr] = api
                try:
                    server.sendall(frame)
                except OSError:
                    break
            close()

        threading.Thread(target=upward, daemon=True).start()
        while True:
            frame = read_frame(server)
            if frame is None:
                break
            corr = struct.unpack_from(">i", frame, 4)[0]
            if pending.pop(corr, None) == 0:
                with self.lock:
                    self.produced += 1
                    drop = self.produced % self.drop_every == 0
                    if drop:
                        self.dropped += 1
                        print("dropped %d" % self.dropped, flush=True)
                if drop:
                    break
            try:
                client.sendall(frame)
            except OSError:
                break
        close()
        client.close()
        server.close()


def cmd_proxy(a):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = a.addr_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("127.0.0.1:%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.addr_file)
    proxy = Proxy(a.upstream_file, a.drop_every)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=proxy.serve, args=(client,),
                         daemon=True).start()


def main():
    ap = argparse.ArgumentParser(prog="kidem")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("create")
    p.add_argument("addr")
    p.add_argument("topic")
    p.add_argument("partitions", type=int)
    p.add_argument("configs", nargs="*")
    p = sub.add_parser("initpid")
    p.add_argument("addr")
    p.add_argument("--tid", default=None)
    p.add_argument("--count", type=int, default=1)
    p = sub.add_parser("produce")
    p.add_argument("addr")
    p.add_argument("topic")
    p.add_argument("specs", nargs="+")
    p = sub.add_parser("flood")
    p.add_argument("addr")
    p.add_argument("topic")
    p.add_argument("first_pid", type=int)
    p.add_argument("n", type=int)
    p = sub.add_parser("mkseg")
    p.add_argument("path")
    p.add_argument("specs", nargs="+")
    p = sub.add_parser("proxy")
    p.add_argument("addr_file")
    p.add_argument("upstream_file")
    p.add_argument("--drop-every", type=int, required=True)
    a = ap.parse_args()
    {"create": cmd_create, "initpid": cmd_initpid, "produce": cmd_produce,
     "flood": cmd_flood, "mkseg": cmd_mkseg, "proxy": cmd_proxy}[a.cmd](a)


if __name__ == "__main__":
    main()
