# SPDX-License-Identifier: MIT
"""kfakerepl: a scripted stand-in for replicad's peers (tests).

Plays both sides replicad talks to, so its follower logic can be tested
exactly, without ctrld or cluster-mode brokers: the local logd's
replica.sock (ReplicaState, ReplicaAppend, ReplicaTruncate; the follower
log kept in memory, its leader-epoch-checkpoint written in the partition
directory as logd does) and one or more leaders on TCP (Fetch v11 with
replica_id, OffsetForLeaderEpoch v3; epoch answers as Kafka's
LeaderEpochFileCache.endOffsetFor). Run with Debian's /usr/bin/python3:

  kfakerepl.py DATA_DIR SCENARIO.json [--state FILE] [--addr-file FILE]

SCENARIO: {"broker_id": 2, "partitions": [{"topic": "t", "partition": 0,
  "leaders": {"1": {"epoch": 3, "log_start": 0, "batches": [[0, 5], ...],
                    "per_fetch": 0, "partial_tail": false}},
  "phases": [{"leader": 1, "epoch": E}, ...],
  "follower": {"batches": [[0, 5], [1, 4]], "log_start": 0,
               "epoch_cache": true}}]}
A batch [E, N] is N records written at leader epoch E; a log's batches
take consecutive offsets from its log start. Record values depend only on
(epoch, offset), so the same batch on two logs is the same bytes. A
leader's epoch cache is its batches' epochs plus its own epoch starting
at its log end. Phases switch the partition's leader (and version) each
time the follower has caught up with the current one; a phase's "epoch"
makes the local logd announce another epoch than the leader's (fencing
tests). A leader with "down": true gets an address nobody listens on.

Every request replicad sends and every change of the follower log is
written to --state as JSON after each change: {"events": [...],
"partitions": {"t-0": {"follower": [[base, last, epoch, crc], ...],
"leader": [...], "phase": N, "done": bool}}}. The process runs until
killed; the addresses ("local PATH", then one "ID HOST:PORT" line per
leader) go to --addr-file once everything listens.
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

API_FETCH, API_EPOCH = 1, 23
REPLICA_STATE, REPLICA_APPEND, REPLICA_TRUNCATE = 32010, 32011, 32012
NONE, OUT_OF_RANGE, CORRUPT, UNKNOWN_TP = 0, 1, 2, 3
NOT_LEADER, FENCED, UNKNOWN_EPOCH = 6, 74, 75
TS = 1700000000000

LOCK = threading.Condition()


def make_batch(base, epoch, count):
    """A batch of `count` records whose values depend on epoch and offset."""
    values = [b"e%d-o%d" % (epoch, base + i) for i in range(count)]
    b = bytearray(kwire.record_batch(values, timestamp=TS))
    struct.pack_into(">q", b, 0, base)
    struct.pack_into(">i", b, 12, epoch)
    return bytes(b)


def batch_info(b):
    base, _, epoch, _, crc = struct.unpack_from(">qiibI", b, 0)
    last = base + struct.unpack_from(">i", b, 23)[0]
    return [base, last, epoch, crc]


def build_log(start, spec):
    out, off = [], start
    for epoch, count in spec:
        out.append(make_batch(off, epoch, count))
        off += count
    return out


def log_end(batches, start):
    return batch_info(batches[-1])[1] + 1 if batches else start


def cache_of(batches):
    """[(epoch, start)] of a run of batches, as logd's assign() keeps it."""
    out = []
    for b in batches:
        base, _, epoch, _ = batch_info(b)
        if not out or epoch > out[-1][0]:
            out.append((epoch, base))
    return out


def end_offset_for(cache, epoch, leo):
    """Kafka's LeaderEpochFileCache.endOffsetFor."""
    if epoch < 0 or not cache:
        return -1, -1
    if cache[-1][0] == epoch:
        return epoch, leo
    higher = [e for e in cache if e[0] > epoch]
    if not higher:
        return -1, -1
    floor = [e for e in cache if e[0] <= epoch]
    if not floor:
        return epoch, higher[0][1]
    return floor[-1][0], higher[0][1]


class Leader:
    def __init__(self, lid, spec):
        self.id = lid
        self.epoch = spec["epoch"]
        self.start = spec.get("log_start", 0)
        self.batches = build_log(self.start, spec["batches"])
        self.partial_tail = spec.get("partial_tail", False)
        self.per_fetch = spec.get("per_fetch", 0)
        self.down = spec.get("down", False)
        self.leo = log_end(self.batches, self.start)
        self.cache = cache_of(self.batches)
        if not self.cache or self.epoch > self.cache[-1][0]:
            self.cache.append((self.epoch, self.leo))


class Part:
    def __init__(self, data_dir, spec):
        self.topic, self.partition = spec["topic"], spec["partition"]
        self.key = "%s-%d" % (self.topic, self.partition)
        self.dir = os.path.join(data_dir, self.key)
        os.makedirs(self.dir, exist_ok=True)
        self.leaders = {int(k): Leader(int(k), v)
                        for k, v in spec["leaders"].items()}
        self.phases = spec.get("phases") or [
            {"leader": min(self.leaders)}]
        self.phase = 0
        f = spec.get("follower", {})
        self.start = f.get("log_start", 0)
        self.log = build_log(self.start, f.get("batches", []))
        self.hw = 0
        self.cache = cache_of(self.log) if f.get("epoch_cache", True) else []
        self.write_cache()

    def leader(self):
        return self.leaders[self.phases[self.phase]["leader"]]

    def epoch(self):
        """The leader epoch the local logd announces (a phase may lie)."""
        return self.phases[self.phase].get("epoch", self.leader().epoch)

    def leo(self):
        return log_end(self.log, self.start)

    def write_cache(self):
        text = "0\n%d\n" % len(self.cache)
        text += "".join("%d %d\n" % e for e in self.cache)
        tmp = os.path.join(self.dir, "leader-epoch-checkpoint.tmp")
        with open(tmp, "w") as fh:
            fh.write(text)
        os.rename(tmp, os.path.join(self.dir, "leader-epoch-checkpoint"))

    def caught_up(self):
        ld = self.leader()
        return [batch_info(b) for b in self.log] == \
            [batch_info(b) for b in ld.batches] and self.hw == ld.leo

    def maybe_next_phase(self, world):
        if self.phase + 1 < len(self.phases) and self.caught_up():
            self.phase += 1
            world.version += 1
            world.event("phase", part=self.key, phase=self.phase,
                        leader=self.leader().id, epoch=self.leader().epoch)
            LOCK.notify_all()


class World:
    def __init__(self, data_dir, scenario, state_path):
        self.broker_id = scenario["broker_id"]
        self.parts = [Part(data_dir, p) for p in scenario["partitions"]]
        self.version = 1
        self.events = []
        self.state_path = state_path
        self.addrs = {}

    def find(self, topic, partition):
        for p in self.parts:
            if p.topic == topic and p.partition == partition:
                return p
        return None

    def event(self, kind, **kw):
        kw["kind"] = kind
        self.events.append(kw)

    def save(self):
        if not self.state_path:
            return
        out = {"events": self.events, "partitions": {}}
        for p in self.parts:
            out["partitions"][p.key] = {
                "follower": [batch_info(b) for b in p.log],
                "follower_log_start": p.start, "follower_hw": p.hw,
                "leader": [batch_info(b) for b in p.leader().batches],
                "phase": p.phase, "done": p.phase + 1 == len(p.phases)
                and p.caught_up()}
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh)
        os.rename(tmp, self.state_path)


WORLD = None


class Framed(socketserver.BaseRequestHandler):
    """Kafka framing: read requests, answer each in order."""

    def handle(self):
        while True:
            head = self.recv(4)
            if head is None:
                return
            frame = self.recv(struct.unpack(">i", head)[0])
            if frame is None:
                return
            r = kwire.Reader(frame)
            api, ver, corr = r.i16(), r.i16(), r.i32()
            r.string()                          # client_id
            body = self.answer(api, ver, r)
            if body is None:
                return
            out = struct.pack(">i", corr) + body
            try:
                self.request.sendall(struct.pack(">i", len(out)) + out)
            except OSError:
                return

    def recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)


class LocalLogd(Framed):
    def answer(self, api, ver, r):
        with LOCK:
            if api == REPLICA_STATE:
                return self.state(r)
            if api == REPLICA_APPEND:
                return self.append(r)
            if api == REPLICA_TRUNCATE:
                return self.truncate(r)
        return None

    def state(self, r):
        known, wait_ms = r.i64(), r.i32()
        deadline = time.time() + wait_ms / 1000.0
        while known == WORLD.version and time.time() < deadline:
            LOCK.wait(deadline - time.time())
        body = struct.pack(">h", NONE) + kwire.kstr(None)
        body += struct.pack(">iqi", WORLD.broker_id, WORLD.version,
                            len(WORLD.parts))
        for p in WORLD.parts:
            ld = p.leader()
            host, port = WORLD.addrs[ld.id]
            last = p.cache[-1][0] if p.cache else -1
            body += kwire.kstr(p.topic) + struct.pack(">ii", p.partition,
                                                      ld.id)
            body += kwire.kstr(host) + struct.pack(
                ">iiqqiq", port, p.epoch(), p.start, p.leo(), last, p.hw)
        return body

    def check(self, p, epoch):
        if p is None:
            return UNKNOWN_TP
        if epoch != p.epoch():
            return FENCED
        return NONE

    def append(self, r):
        topic, part, epoch, hw = r.string(), r.i32(), r.i32(), r.i64()
        data = r.bytes_()
        p = WORLD.find(topic, part)
        code = self.check(p, epoch)
        batches = []
        pos = 0
        while code == NONE and pos < len(data):
            blen = struct.unpack_from(">i", data, pos + 8)[0]
            b = data[pos:pos + 12 + blen]
            if len(b) != 12 + blen or \
                    kwire.crc32c(b[21:]) != struct.unpack_from(">I", b, 17)[0]:
                code = CORRUPT
            batches.append(b)
            pos += 12 + blen
        if code == NONE and batches and batch_info(batches[0])[0] != p.leo():
            code = OUT_OF_RANGE
        WORLD.event("append", part=p.key if p else topic, epoch=epoch,
                    hw=hw, batches=[batch_info(b) for b in batches],
                    error=code)
        if code == NONE:
            p.log.extend(batches)
            for b in batches:
                base, _, e, _ = batch_info(b)
                if not p.cache or e > p.cache[-1][0]:
                    p.cache.append((e, base))
            p.write_cache()
            p.hw = min(hw, p.leo())
            p.maybe_next_phase(WORLD)
        WORLD.save()
        return struct.pack(">h", code) + kwire.kstr(None) + struct.pack(
            ">qq", p.leo() if p else -1, p.hw if p else -1)

    def truncate(self, r):
        topic, part, epoch, offset = r.string(), r.i32(), r.i32(), r.i64()
        p = WORLD.find(topic, part)
        code = self.check(p, epoch)
        WORLD.event("truncate", part=p.key if p else topic, epoch=epoch,
                    offset=offset, error=code,
                    leo=p.leo() if p else -1)
        if code == NONE:
            if offset < p.start or offset > p.leo():
                p.log, p.start, p.cache = [], offset, []
            else:
                p.log = [b for b in p.log if batch_info(b)[1] < offset]
                p.cache = [e for e in p.cache if e[1] < offset]
            p.hw = min(p.hw, p.leo())
            p.write_cache()
        WORLD.save()
        return struct.pack(">h", code) + kwire.kstr(None) + struct.pack(
            ">q", p.leo() if p else -1)


class LeaderConn(Framed):
    def answer(self, api, ver, r):
        lid = self.server.leader_id
        if api == API_FETCH and ver == 11:
            return self.fetch(lid, r)
        if api == API_EPOCH and ver == 3:
            with LOCK:
                return self.epoch(lid, r)
        return None

    @staticmethod
    def leader_of(lid, p, current):
        """(leader, error) for a request naming `current` epoch."""
        if p is None or lid not in p.leaders:
            return None, UNKNOWN_TP
        if p.leader().id != lid:
            return None, NOT_LEADER
        ld = p.leaders[lid]
        if current < ld.epoch:
            return None, FENCED
        if current > ld.epoch:
            return None, UNKNOWN_EPOCH
        return ld, NONE

    def epoch(self, lid, r):
        replica = r.i32()
        topics = []
        for _ in range(r.i32()):
            name, parts = r.string(), []
            for _ in range(r.i32()):
                part, current, asked = r.i32(), r.i32(), r.i32()
                p = WORLD.find(name, part)
                ld, code = self.leader_of(lid, p, current)
                e, end = end_offset_for(ld.cache, asked, ld.leo) \
                    if ld else (-1, -1)
                WORLD.event("epoch", leader=lid, replica=replica,
                            part="%s-%d" % (name, part), current=current,
                            asked=asked, error=code, answer=[e, end])
                parts.append(struct.pack(">hiiq", code, part, e, end))
            topics.append(kwire.kstr(name) + struct.pack(">i", len(parts)) +
                          b"".join(parts))
        WORLD.save()
        return struct.pack(">ii", 0, len(topics)) + b"".join(topics)

    def read_fetch(self, r):
        hdr = r.take(">iiiibii")
        wants = []
        for _ in range(r.i32()):
            name = r.string()
            for _ in range(r.i32()):
                part, current, offset, _, maxb = r.take(">iiqqi")
                wants.append((name, part, current, offset, maxb))
        return hdr, wants

    def fetch(self, lid, r):
        (replica, max_wait, _, _, iso, sid, sepoch), wants = \
            self.read_fetch(r)
        deadline = time.time() + max_wait / 1000.0
        with LOCK:
            WORLD.event("fetch", leader=lid, replica=replica,
                        max_wait=max_wait, isolation=iso, session=[sid, sepoch],
                        parts=[[w[0], w[1], w[2], w[3]] for w in wants])
            WORLD.save()
            while True:
                out, any_data = self.fetch_once(lid, wants)
                left = deadline - time.time()
                if any_data or left <= 0:
                    break
                LOCK.wait(min(left, 0.05))
        body = b""
        for name, parts in out:
            body += kwire.kstr(name) + struct.pack(">i", len(parts))
            body += b"".join(parts)
        return struct.pack(">ihii", 0, NONE, 0, len(out)) + body

    def fetch_once(self, lid, wants):
        out, any_data = [], False
        for name, part, current, offset, maxb in wants:
            p = WORLD.find(name, part)
            ld, code = self.leader_of(lid, p, current)
            rec, hw, start = b"", -1, -1
            if ld is not None:
                hw, start = ld.leo, ld.start
                if offset < ld.start or offset > ld.leo:
                    code = OUT_OF_RANGE
                else:
                    rec = self.records(ld, offset, maxb)
                    any_data = any_data or bool(rec) or \
                        (p.hw != hw and offset == ld.leo)
            if code != NONE:
                any_data = True
            pd = struct.pack(">ihqqqi", part, code, hw, -1, start, -1)
            pd += struct.pack(">i", -1) + kwire.kbytes(rec)
            if not out or out[-1][0] != name:
                out.append((name, []))
            out[-1][1].append(pd)
        return out, any_data

    @staticmethod
    def records(ld, offset, maxb):
        """Whole batches from `offset`; with partial_tail, when the
        answer is cut (per_fetch batches), half of the next one too."""
        rec, nxt, n = b"", None, 0
        for b in ld.batches:
            if batch_info(b)[1] < offset:
                continue
            if rec and (len(rec) + len(b) > maxb or n == ld.per_fetch):
                nxt = b
                break
            rec += b
            n += 1
        if ld.partial_tail and nxt is not None:
            rec += nxt[:len(nxt) // 2]
        return rec


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global WORLD
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("scenario")
    ap.add_argument("--state")
    ap.add_argument("--addr-file")
    a = ap.parse_args()
    with open(a.scenario) as fh:
        scenario = json.load(fh)
    WORLD = World(a.data_dir, scenario, a.state)
    ids = sorted({lid for p in WORLD.parts for lid in p.leaders})
    down = {lid for p in WORLD.parts for lid, ld in p.leaders.items()
            if ld.down}
    for lid in ids:
        if lid in down:
            # A port nobody listens on: bound, then closed again.
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            WORLD.addrs[lid] = s.getsockname()[:2]
            s.close()
            continue
        srv = TCPServer(("127.0.0.1", 0), LeaderConn)
        srv.leader_id = lid
        WORLD.addrs[lid] = srv.server_address[:2]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    path = os.path.join(a.data_dir, "replica.sock")
    if os.path.exists(path):
        os.unlink(path)
    local = UnixServer(path, LocalLogd)
    threading.Thread(target=local.serve_forever, daemon=True).start()
    with LOCK:
        WORLD.save()
    if a.addr_file:
        with open(a.addr_file + ".tmp", "w") as fh:
            fh.write("local %s\n" % path)
            for lid in ids:
                fh.write("%d %s:%d\n" % ((lid,) + tuple(WORLD.addrs[lid])))
        os.rename(a.addr_file + ".tmp", a.addr_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
