# SPDX-License-Identifier: MIT
"""kgroup: consumer-group driver for the logd Bats tests (34-logd-groups).

Run with Debian's /usr/bin/python3 ("$PY"), which has kafka-python 2.0.2
and confluent-kafka 1.7.0. Raw requests go through kwire.Conn so that the
exact error codes and versions are visible; the rest uses the clients.

  find ADDR GROUP              FindCoordinator v0-2 raw, then kafka-python
  join ADDR GROUP [-v V] [-s SESSION_MS] [-r REBALANCE_MS] [-P PROTO]...
                               one raw JoinGroup (MEMBER_ID_REQUIRED is
                               followed by a second join with the id),
                               "error=E gen=G proto=P leader=yes|no ms=T"
  mismatch ADDR GROUP          member A offers "range"; B offers only
                               "custom": B's error code
  describe ADDR GROUP...       raw DescribeGroups v1: "G error=E state=S
                               type=T proto=P members=N", then one
                               " client_id topic:p,p" line per member
  list ADDR [kp|ck]            groups (kafka-python admin or confluent)
  delete ADDR GROUP...         kafka-python delete_consumer_groups
  commit ADDR GROUP TOPIC P=OFF...
                               raw OffsetCommit v2, generation -1, member ""
  fetch ADDR GROUP             kafka-python list_consumer_group_offsets
  committed ADDR GROUP TOPIC PARTS   confluent committed()
  member ADDR GROUP TOPIC OUT STOP [kp|ck] [-X K=V]...
                               a group consumer: "assigned t:p,..." and
                               "rec P O KEY" lines to OUT; closes (leaves
                               the group) when the file STOP exists
  metadata ADDR                raw Metadata v1: "TOPIC internal=0|1"
  decode FILE                  kdump-segment --json -R output of
                               __consumer_offsets, decoded with Burrow's
                               layouts
"""
import base64
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402
from kwire import Reader, kbytes, kstr  # noqa: E402

API_OFFSET_COMMIT, API_FIND_COORDINATOR, API_JOIN_GROUP = 8, 10, 11
API_LEAVE_GROUP, API_DESCRIBE_GROUPS = 13, 15


def consumer_meta(topics):
    """ConsumerProtocol subscription: version, topics, user data."""
    b = struct.pack(">hi", 0, len(topics))
    for t in topics:
        b += kstr(t)
    return b + kbytes(b"")


def cmd_find(a):
    c = kwire.Conn(a[0])
    for v in range(3):
        body = kstr(a[1]) + (b"\x00" if v >= 1 else b"")
        r = c.recv(c.send(API_FIND_COORDINATOR, v, body))
        if v >= 1:
            r.i32()
        err = r.i16()
        if v >= 1:
            r.string()
        node, host, port = r.i32(), r.string(), r.i32()
        print("v%d error=%d node=%d %s:%d" % (v, err, node, host, port))
    from kafka import KafkaAdminClient
    adm = KafkaAdminClient(bootstrap_servers=a[0])
    print("kafka-python coordinator=%d" %
          adm._find_coordinator_ids([a[1]])[a[1]])
    adm.close()


def join_once(c, v, group, member, session, rebalance, protos):
    body = kstr(group) + struct.pack(">i", session)
    if v >= 1:
        body += struct.pack(">i", rebalance)
    body += kstr(member)
    if v >= 5:
        body += kstr(None)
    body += kstr("consumer") + struct.pack(">i", len(protos))
    for p in protos:
        body += kstr(p) + kbytes(consumer_meta(["t"]))
    r = c.recv(c.send(API_JOIN_GROUP, v, body))
    if v >= 2:
        r.i32()
    err, gen = r.i16(), r.i32()
    proto, leader, mid = r.string(), r.string(), r.string()
    return err, gen, proto, leader, mid


def opts(a, flags):
    """Tiny getopt: flags maps "-x" to a default (list = repeatable)."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in flags.items()}
    pos = []
    i = 0
    while i < len(a):
        if a[i] in flags:
            if isinstance(flags[a[i]], list):
                out[a[i]].append(a[i + 1])
            else:
                out[a[i]] = a[i + 1]
            i += 2
        else:
            pos.append(a[i])
            i += 1
    return pos, out


def cmd_join(a):
    pos, o = opts(a, {"-v": "2", "-s": "10000", "-r": "10000", "-P": []})
    v = int(o["-v"])
    protos = o["-P"] or ["range"]
    c = kwire.Conn(pos[0], timeout=30)
    t0 = time.monotonic()
    err, gen, proto, leader, mid = join_once(
        c, v, pos[1], "", int(o["-s"]), int(o["-r"]), protos)
    if err == 79:
        print("error=79 member_id=%s" % ("set" if mid else "empty"))
        t0 = time.monotonic()
        err, gen, proto, leader, mid = join_once(
            c, v, pos[1], mid, int(o["-s"]), int(o["-r"]), protos)
    ms = int((time.monotonic() - t0) * 1000)
    print("error=%d gen=%d proto=%s leader=%s ms=%d" % (
        err, gen, proto, "yes" if mid and leader == mid else "no", ms))


def cmd_mismatch(a):
    ca, cb = kwire.Conn(a[0], timeout=30), kwire.Conn(a[0], timeout=30)
    err, *_ = join_once(ca, 2, a[1], "", 10000, 10000, ["range"])
    print("A error=%d" % err)
    err, *_ = join_once(cb, 2, a[1], "", 10000, 10000, ["custom"])
    print("B error=%d" % err)


def assignment_text(raw):
    if not raw:
        return "-"
    r = Reader(raw)
    r.i16()
    parts = []
    for _ in range(r.i32()):
        t = r.string()
        ps = [r.i32() for _ in range(r.i32())]
        parts.append("%s:%s" % (t, ",".join(str(p) for p in sorted(ps))))
    return " ".join(sorted(parts)) or "-"


def describe(addr, groups):
    c = kwire.Conn(addr)
    body = struct.pack(">i", len(groups)) + b"".join(kstr(g) for g in groups)
    r = c.recv(c.send(API_DESCRIBE_GROUPS, 1, body))
    r.i32()
    out = []
    for _ in range(r.i32()):
        err, gid, state, ptype, proto = (r.i16(), r.string(), r.string(),
                                         r.string(), r.string())
        members = []
        for _ in range(r.i32()):
            _mid, cid, _host = r.string(), r.string(), r.string()
            r.bytes_()
            members.append("%s %s" % (cid, assignment_text(r.bytes_())))
        out.append("%s error=%d state=%s type=%s proto=%s members=%d" % (
            gid, err, state, ptype, proto or "-", len(members)))
        out.extend(" " + m for m in sorted(members))
    return out


def cmd_describe(a):
    print("\n".join(describe(a[0], a[1:])))


def cmd_list(a):
    if len(a) > 1 and a[1] == "ck":
        from confluent_kafka.admin import AdminClient
        groups = AdminClient({"bootstrap.servers": a[0]}).list_groups(
            timeout=10)
        rows = ["%s %s" % (g.id, g.protocol_type or "-") for g in groups]
    else:
        from kafka import KafkaAdminClient
        adm = KafkaAdminClient(bootstrap_servers=a[0])
        rows = ["%s %s" % (g, t or "-")
                for g, t in adm.list_consumer_groups()]
        adm.close()
    print("\n".join(sorted(rows)))


def cmd_delete(a):
    from kafka import KafkaAdminClient
    adm = KafkaAdminClient(bootstrap_servers=a[0])
    for g, e in sorted(adm.delete_consumer_groups(a[1:])):
        print("%s %s" % (g, e.__name__))
    adm.close()


def cmd_commit(a):
    c = kwire.Conn(a[0])
    parts = [tuple(int(x) for x in s.split("=")) for s in a[3:]]
    body = (kstr(a[1]) + struct.pack(">i", -1) + kstr("") +
            struct.pack(">q", -1) + struct.pack(">i", 1) + kstr(a[2]) +
            struct.pack(">i", len(parts)))
    for p, off in parts:
        body += struct.pack(">iq", p, off) + kstr("admin")
    r = c.recv(c.send(API_OFFSET_COMMIT, 2, body))
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err = r.i32(), r.i16()
            print("%s %d error=%d" % (t, p, err))


def cmd_fetch(a):
    from kafka import KafkaAdminClient
    adm = KafkaAdminClient(bootstrap_servers=a[0])
    offs = adm.list_consumer_group_offsets(a[1])
    for tp in sorted(offs):
        print("%s %d %d" % (tp.topic, tp.partition, offs[tp].offset))
    adm.close()


def cmd_committed(a):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": a[0], "group.id": a[1]})
    tps = [TopicPartition(a[2], p) for p in range(int(a[3]))]
    for tp in c.committed(tps, timeout=15):
        print("%s %d %d" % (tp.topic, tp.partition, tp.offset))
    c.close()


def cmd_member(a):
    pos, o = opts(a, {"-X": []})
    addr, group, topic, out, stop = pos[:5]
    client = pos[5] if len(pos) > 5 else "ck"
    f = open(out, "a", buffering=1)
    if client == "kp":
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        class L(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, tps):
                f.write("assigned %s\n" % ",".join(sorted(
                    "%s:%d" % (t.topic, t.partition) for t in tps)))

        kw = {"bootstrap_servers": addr, "group_id": group,
              "client_id": "kp", "auto_offset_reset": "earliest",
              "session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}
        for kv in o["-X"]:
            k, v = kv.split("=", 1)
            kw[k] = int(v) if v.isdigit() else v
        c = KafkaConsumer(**kw)
        c.subscribe([topic], listener=L())
        while not os.path.exists(stop):
            for recs in c.poll(timeout_ms=200).values():
                for m in recs:
                    f.write("rec %d %d %s\n" % (m.partition, m.offset,
                                                m.key.decode()))
            c.commit()
        c.close()
        return
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": addr, "group.id": group,
            "client.id": "ck", "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
            "enable.auto.commit": False}
    for kv in o["-X"]:
        k, v = kv.split("=", 1)
        conf[k] = v
    c = Consumer(conf)

    def on_assign(cons, tps):
        f.write("assigned %s\n" % ",".join(sorted(
            "%s:%d" % (t.topic, t.partition) for t in tps)))

    c.subscribe([topic], on_assign=on_assign)
    while not os.path.exists(stop):
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        f.write("rec %d %d %s\n" % (m.partition(), m.offset(),
                                    m.key().decode()))
        c.commit(message=m, asynchronous=False)
    c.close()


def cmd_metadata(a):
    c = kwire.Conn(a[0])
    r = c.recv(c.send(kwire.API_METADATA, 1, struct.pack(">i", -1)))
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), r.string()
    r.i32()
    rows = []
    for _ in range(r.i32()):
        err, name, internal = r.i16(), r.string(), r.i8()
        for _ in range(r.i32()):
            r.i16(), r.i32(), r.i32()
            [r.i32() for _ in range(r.i32())]
            [r.i32() for _ in range(r.i32())]
        rows.append("%s internal=%d error=%d" % (name, internal, err))
    print("\n".join(sorted(rows)))


def field(x):
    """kdump-segment --json: text as a string, other bytes as base64."""
    if x is None:
        return None
    if isinstance(x, dict):
        return base64.b64decode(x["base64"])
    return x.encode()


def cmd_decode(a):
    """Burrow 1.2.1's decoder: offset key v0/1 + value v0/1/3, group key
    v2 + value v0/1; prints one line per record, keys in order."""
    for line in open(a[0]):
        j = json.loads(line)
        if "key" not in j:
            continue
        k = Reader(field(j["key"]))
        kv = k.i16()
        val = field(j.get("value"))
        v = Reader(val) if val is not None else None
        if kv in (0, 1):
            g, t, p = k.string(), k.string(), k.i32()
            if v is None:
                print("offset-key v%d %s %s %d tombstone" % (kv, g, t, p))
                continue
            vv = v.i16()
            assert vv in (0, 1, 3), vv
            off = v.i64()
            epoch = v.i32() if vv == 3 else -1
            meta, ts = v.string(), v.i64()
            assert v.left() == 0 and ts > 1600000000000
            print("offset v%d/%d %s %s %d offset=%d epoch=%d meta=%s" % (
                kv, vv, g, t, p, off, epoch, meta))
        elif kv == 2:
            g = k.string()
            if v is None:
                print("group-key v2 %s tombstone" % g)
                continue
            vv = v.i16()
            assert vv in (0, 1), vv
            ptype, gen, proto, leader = (v.string(), v.i32(), v.string(),
                                         v.string())
            members = []
            for _ in range(v.i32()):
                _mid, cid, host = v.string(), v.string(), v.string()
                if vv >= 1:
                    v.i32()
                v.i32()
                v.bytes_()
                members.append("%s@%s=%s" % (cid, host.split(":")[0],
                                             assignment_text(v.bytes_())))
            assert v.left() == 0
            print("group v2/%d %s type=%s gen=%d proto=%s leader=%s %s" % (
                vv, g, ptype, gen, proto, "set" if leader else "none",
                " ".join(sorted(members))))
        else:
            raise SystemExit("unknown key version %d" % kv)


def main():
    cmds = {n[4:]: f for n, f in globals().items() if n.startswith("cmd_")}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 64
    cmds[sys.argv[1]](sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
