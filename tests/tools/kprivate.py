# SPDX-License-Identifier: MIT
"""kprivate: klog's private cluster APIs for tests (docs/cluster-protocol.md).

Two roles, both speaking Kafka framing with the layouts of libcommon/ctlproto.c:

  fake-ctrld   a scripted controller: BrokerHeartbeat answers with the
               ClusterState of a JSON file (re-read when it changes; a
               version not above the current one becomes the next one),
               AlterIsr is accepted, ControlledShutdown moves leaderships
               to another ISR member; every request is logged as a JSON
               line, so tests can check what logd sent.
  state, append, truncate
               replicad's requests on a logd's replica.sock, answers
               printed as one JSON line.
  tcp-private  a private request on the client port: prints "closed" when
               logd drops the connection without answering.
  metadata, ctrld-view
               a broker's Metadata (v5, all topics), or `ctrld status -J`
               on stdin, as the same sorted lines, one per partition:
               "TOPIC P leader=L replicas=A,B isr=A,B error=E".

Run with Debian's /usr/bin/python3; imports kwire.py from this directory.
"""
import argparse
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402

BROKER_HEARTBEAT, ALTER_ISR, CONTROLLED_SHUTDOWN = 32000, 32001, 32002
REPLICA_STATE, REPLICA_APPEND, REPLICA_TRUNCATE = 32010, 32011, 32012

ERRORS = {0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
          3: "UNKNOWN_TOPIC_OR_PARTITION", 6: "NOT_LEADER_OR_FOLLOWER",
          42: "INVALID_REQUEST", 56: "KAFKA_STORAGE_ERROR",
          74: "FENCED_LEADER_EPOCH"}


def kbool(v):
    return struct.pack(">?", bool(v))


def ids(v):
    return struct.pack(">i", len(v)) + b"".join(struct.pack(">i", x) for x in v)


def read_ids(r):
    return [r.i32() for _ in range(r.i32())]


# ---------------------------------------------------------------- state

def encode_state(s):
    out = kwire.kstr(s["cluster_id"]) + struct.pack(">q", s["version"])
    out += struct.pack(">i", len(s["brokers"]))
    for b in s["brokers"]:
        out += (struct.pack(">i", b["id"]) + kwire.kstr(b["host"]) +
                struct.pack(">i", b["port"]) + kwire.kstr(b.get("rack")) +
                kbool(b.get("alive", True)))
    out += struct.pack(">i", len(s["topics"]))
    for t in s["topics"]:
        out += kwire.kstr(t["name"]) + kbool(t.get("internal", False))
        confs = t.get("configs", {})
        out += struct.pack(">i", len(confs))
        for k, v in sorted(confs.items()):
            out += kwire.kstr(k) + kwire.kstr(str(v))
        out += struct.pack(">i", len(t["partitions"]))
        for i, p in enumerate(t["partitions"]):
            out += struct.pack(">iiii", i, p["leader"], p["leader_epoch"],
                               p["partition_epoch"])
            out += ids(p["replicas"]) + ids(p["isr"])
    return out


class Ctrld:
    """The fake controller's state: a JSON file plus in-memory changes."""

    def __init__(self, path, log_path, session_ms):
        self.path = path
        self.log_path = log_path
        self.session_ms = session_ms
        self.cv = threading.Condition()
        self.mtime = None
        self.state = None
        with self.cv:
            self.reload()

    def reload(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self.mtime:
            return
        with open(self.path) as f:
            state = json.load(f)
        # A file edited after our own changes must still read as news.
        if self.state is not None and state["version"] <= self.state["version"]:
            state["version"] = self.state["version"] + 1
        self.state = state
        self.mtime = mtime
        self.cv.notify_all()

    def log(self, entry):
        if not self.log_path:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def changed(self):
        self.state["version"] += 1
        self.cv.notify_all()

    def partition(self, topic, index):
        for t in self.state["topics"]:
            if t["name"] == topic and index < len(t["partitions"]):
                return t["partitions"][index]
        return None

    def heartbeat(self, r):
        req = {"api": "BrokerHeartbeat", "broker_id": r.i32(),
               "incarnation": r.i64(), "host": r.string(), "port": r.i32(),
               "known_version": r.i64(), "wait_ms": r.i32(),
               "shutting_down": r.i8() != 0}
        self.log(req)
        deadline = time.monotonic() + req["wait_ms"] / 1000.0
        with self.cv:
            while True:
                self.reload()
                if self.state["version"] != req["known_version"]:
                    body = kbool(True) + encode_state(self.state)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    body = kbool(False)
                    break
                self.cv.wait(min(left, 0.05))
        return (struct.pack(">h", 0) + kwire.kstr(None) +
                struct.pack(">i", self.session_ms) + body)

    def alter_isr(self, r):
        broker, inc = r.i32(), r.i64()
        results = []
        with self.cv:
            self.reload()
            for _ in range(r.i32()):
                topic = r.string()
                for _ in range(r.i32()):
                    idx, lep, pep = r.i32(), r.i32(), r.i32()
                    isr = read_ids(r)
                    self.log({"api": "AlterIsr", "broker_id": broker,
                              "incarnation": inc, "topic": topic,
                              "partition": idx, "leader_epoch": lep,
                              "partition_epoch": pep, "isr": isr})
                    p = self.partition(topic, idx)
                    err = 0
                    if p is None:
                        err = 3
                    elif p["leader"] != broker:
                        err = 6
                    elif lep != p["leader_epoch"]:
                        err = 74
                    elif pep != p["partition_epoch"]:
                        err = 95
                    else:
                        p["isr"] = isr
                        p["partition_epoch"] += 1
                        self.changed()
                    results.append((topic, idx, err, p))
        out = struct.pack(">h", 0) + kwire.kstr(None)
        out += struct.pack(">i", len(results))
        for topic, idx, err, p in results:
            p = p or {"leader": -1, "leader_epoch": -1,
                      "partition_epoch": -1, "isr": []}
            out += kwire.kstr(topic) + struct.pack(">i", 1)
            out += struct.pack(">ihiii", idx, err, p["leader"],
                               p["leader_epoch"], p["partition_epoch"])
            out += ids(p["isr"])
        return out

    def shutdown(self, r):
        broker, inc = r.i32(), r.i64()
        self.log({"api": "ControlledShutdown", "broker_id": broker,
                  "incarnation": inc})
        remaining = 0
        with self.cv:
            self.reload()
            for t in self.state["topics"]:
                for p in t["partitions"]:
                    others = [b for b in p["isr"] if b != broker]
                    if p["leader"] == broker and not others:
                        remaining += 1
                    elif p["leader"] == broker:
                        p["leader"] = others[0]
                        p["leader_epoch"] += 1
                        p["partition_epoch"] += 1
                        p["isr"] = others
                    elif broker in p["isr"] and others:
                        p["isr"] = others
                        p["partition_epoch"] += 1
            self.changed()
        return struct.pack(">h", 0) + kwire.kstr(None) + \
            struct.pack(">i", remaining)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        ctrld = self.server.ctrld
        sock = self.request
        while True:
            try:
                head = recv_exact(sock, 4)
            except EOFError:
                return
            frame = recv_exact(sock, struct.unpack(">i", head)[0])
            r = kwire.Reader(frame)
            key, _version, corr = r.i16() & 0xFFFF, r.i16(), r.i32()
            r.string()                          # client id
            if key == BROKER_HEARTBEAT:
                body = ctrld.heartbeat(r)
            elif key == ALTER_ISR:
                body = ctrld.alter_isr(r)
            elif key == CONTROLLED_SHUTDOWN:
                body = ctrld.shutdown(r)
            else:
                return
            out = struct.pack(">i", corr) + body
            sock.sendall(struct.pack(">i", len(out)) + out)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    return bytes(buf)


def fake_ctrld(args):
    host, port = args.listen.rsplit(":", 1)
    server = Server((host, int(port)), Handler)
    server.ctrld = Ctrld(args.state, args.log, args.session_ms)
    addr = "%s:%d" % server.server_address[:2]
    if args.addr_file:
        tmp = args.addr_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(addr + "\n")
        os.rename(tmp, args.addr_file)
    server.serve_forever()


# ---------------------------------------------------------------- replicad

class UnixConn(kwire.Conn):
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.client_id = "kprivate"
        self.corr = 0


def answer_head(r):
    code = r.i16()
    return {"error": code, "error_name": ERRORS.get(code, str(code)),
            "message": r.string()}


def replica_state(args):
    c = UnixConn(args.socket, timeout=args.wait_ms / 1000.0 + 10)
    t0 = time.monotonic()
    corr = c.send(REPLICA_STATE, 0, struct.pack(">qi", args.known,
                                                 args.wait_ms))
    r = c.recv(corr)
    out = answer_head(r)
    out["waited_ms"] = int((time.monotonic() - t0) * 1000)
    out["broker_id"], out["version"] = r.i32(), r.i64()
    parts = []
    for _ in range(r.i32()):
        parts.append({"topic": r.string(), "partition": r.i32(),
                      "leader": r.i32(), "leader_host": r.string(),
                      "leader_port": r.i32(), "leader_epoch": r.i32(),
                      "log_start_offset": r.i64(), "log_end_offset": r.i64(),
                      "last_epoch": r.i32(), "high_watermark": r.i64()})
    out["partitions"] = parts
    return out


def batch(base, count, epoch, bad_crc=False):
    """One uncompressed batch of `count` records at `base`, stamped with
    the partition leader epoch `epoch` (outside the CRC)."""
    b = bytearray(kwire.record_batch([b"r%d" % i for i in range(count)]))
    struct.pack_into(">q", b, 0, base)
    struct.pack_into(">i", b, 12, epoch)
    if bad_crc:
        b[-1] ^= 0xFF
    return bytes(b)


def replica_append(args):
    records = b""
    base = args.base
    for i in range(args.batches):
        records += batch(base, args.count, args.batch_epoch,
                         args.bad_crc and i == args.batches - 1)
        base += args.count
    if args.partial:
        records = records[:-7]
    c = UnixConn(args.socket)
    body = (kwire.kstr(args.topic) +
            struct.pack(">iiq", args.partition, args.epoch, args.hw) +
            kwire.kbytes(records))
    r = c.recv(c.send(REPLICA_APPEND, 0, body))
    out = answer_head(r)
    out["log_end_offset"], out["high_watermark"] = r.i64(), r.i64()
    return out


def replica_truncate(args):
    c = UnixConn(args.socket)
    body = (kwire.kstr(args.topic) +
            struct.pack(">iiq", args.partition, args.epoch, args.offset))
    r = c.recv(c.send(REPLICA_TRUNCATE, 0, body))
    out = answer_head(r)
    out["log_end_offset"] = r.i64()
    return out


def metadata(args):
    """Metadata v5 for all topics, as sorted lines (see view_lines)."""
    c = kwire.Conn(args.addr)
    r = c.recv(c.send(kwire.API_METADATA, 5, struct.pack(">i?", -1, False)))
    r.i32()                                     # throttle
    brokers = []
    for _ in range(r.i32()):
        brokers.append((r.i32(), r.string(), r.i32()))
        r.string()                              # rack
    r.string()                                  # cluster id
    controller = r.i32()
    parts = []
    for _ in range(r.i32()):
        terr, name = r.i16(), r.string()
        r.i8()                                  # internal
        for _ in range(r.i32()):
            perr, idx, leader = r.i16(), r.i32(), r.i32()
            replicas, isr = read_ids(r), read_ids(r)
            read_ids(r)                         # offline replicas
            parts.append((name, idx, leader, replicas, isr, perr or terr))
    lines = ["controller %d" % controller] if args.controller else []
    if args.brokers:
        lines += ["broker %d %s:%d" % b for b in sorted(brokers)]
    return "\n".join(lines + view_lines(parts))


def view_lines(parts):
    """One line per partition: what Metadata and ctrld status share."""
    return ["%s %d leader=%d replicas=%s isr=%s error=%d" %
            (t, i, lead, ",".join(map(str, reps)), ",".join(map(str, isr)),
             err) for t, i, lead, reps, isr, err in sorted(parts)]


def ctrld_view(_args):
    """`ctrld status -J` on stdin, as the lines `metadata` prints."""
    doc = json.load(sys.stdin)
    return "\n".join(view_lines(
        (p["topic"], p["partition"], p["leader"], p["replicas"], p["isr"],
         5 if p["leader"] < 0 else 0) for p in doc["partitions"]))


def tcp_private(args):
    c = kwire.Conn(args.addr)
    c.send(args.key, 0, struct.pack(">qi", -1, 0))
    secs, got = c.wait_closed(5.0)
    if secs is None:
        return "open"
    return "closed" if not got else "answered"


def main():
    ap = argparse.ArgumentParser(prog="kprivate")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fake-ctrld")
    f.add_argument("--listen", default="127.0.0.1:0")
    f.add_argument("--addr-file")
    f.add_argument("--state", required=True)
    f.add_argument("--log")
    f.add_argument("--session-ms", type=int, default=6000)
    s = sub.add_parser("state")
    s.add_argument("socket")
    s.add_argument("--known", type=int, default=-1)
    s.add_argument("--wait-ms", type=int, default=0)
    a = sub.add_parser("append")
    a.add_argument("socket")
    a.add_argument("topic")
    a.add_argument("partition", type=int)
    a.add_argument("epoch", type=int)
    a.add_argument("--hw", type=int, default=0)
    a.add_argument("--base", type=int, default=0)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--batches", type=int, default=1)
    a.add_argument("--batch-epoch", type=int, default=0)
    a.add_argument("--bad-crc", action="store_true")
    a.add_argument("--partial", action="store_true")
    t = sub.add_parser("truncate")
    t.add_argument("socket")
    t.add_argument("topic")
    t.add_argument("partition", type=int)
    t.add_argument("epoch", type=int)
    t.add_argument("offset", type=int)
    m = sub.add_parser("metadata")
    m.add_argument("addr")
    m.add_argument("--brokers", action="store_true")
    m.add_argument("--controller", action="store_true")
    sub.add_parser("ctrld-view")
    p = sub.add_parser("tcp-private")
    p.add_argument("addr")
    p.add_argument("key", type=int)
    args = ap.parse_args()
    if args.cmd == "fake-ctrld":
        fake_ctrld(args)
        return
    run = {"state": replica_state, "append": replica_append,
           "truncate": replica_truncate, "tcp-private": tcp_private,
           "metadata": metadata, "ctrld-view": ctrld_view}
    out = run[args.cmd](args)
    print(out if isinstance(out, str) else json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
