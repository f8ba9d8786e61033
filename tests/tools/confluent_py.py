# SPDX-License-Identifier: MIT
"""confluent-kafka-python (librdkafka) driver for the logd Bats tests.

Run with Debian's /usr/bin/python3 ("$PY" in helpers.bash), which has
python3-confluent-kafka. Each subcommand does one client operation and
prints its outcome as plain lines that the tests compare exactly:

  produce  ADDR TOPIC N [-p PARTS] [-X KEY=VALUE]...
           N records "key-I"/"value-I" to partition I % PARTS; one line per
           delivery report, in the order they arrive: "P O" or "P error NAME".
  consume  ADDR TOPIC
           assign() every partition at offset 0 and read up to the high
           watermarks; one line per record: "P O KEY VALUE".
  create   ADDR NAME:PARTS[:RF] [-c KEY=VALUE]... [--validate-only]
           or NAME=ASSIGNMENT, replica lists per partition such as "0|0"
           (two partitions on broker 0) or "0,1" (one with two replicas)
  delete   ADDR NAME...
  partitions ADDR TOPIC COUNT [--assign ASSIGNMENT] [--validate-only]
  describe ADDR TOPIC          "name=value source=NAME" per config entry
  metadata ADDR                cluster, brokers, topics and partitions
  delete-offsets ADDR GROUP TOPIC:P[,P...]...
           librdkafka's rd_kafka_DeleteConsumerGroupOffsets (OffsetDelete),
           through ctypes: confluent-kafka 1.7.0 has no binding for it.
           "group error NAME", or "TOPIC P ok|error NAME" per partition.

Admin results print "NAME ok" or "NAME error CODE_NAME: message" per topic
and exit 1 if any failed.
"""
import argparse
import ctypes
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic)

TIMEOUT = 15.0


def conf(a, extra=()):
    # Warnings and errors only: librdkafka's informational lines (such as
    # BGQUEUE "Purging 1 unserved events" when a slow admin client is
    # destroyed) would otherwise mix into the output the tests compare.
    c = {"bootstrap.servers": a.addr, "socket.timeout.ms": 10000,
         "log_level": 4}
    for kv in extra:
        k, v = kv.split("=", 1)
        c[k] = v
    return c


def cmd_produce(a):
    p = Producer(conf(a, a.X))
    reports = []

    def on_delivery(err, msg):
        if err is not None:
            reports.append("%d error %s" % (msg.partition(), err.name()))
        else:
            reports.append("%d %d" % (msg.partition(), msg.offset()))

    for i in range(a.n):
        p.produce(a.topic, key=b"key-%d" % i, value=b"value-%d" % i,
                  partition=i % a.p, on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(TIMEOUT)
    for r in reports:
        print(r)
    if left:
        print("%d undelivered" % left)
        return 1
    return 0


def cmd_consume(a):
    c = Consumer(conf(a, ["group.id=klog-tests", "enable.auto.commit=false",
                          "enable.partition.eof=true"]))
    md = c.list_topics(a.topic, timeout=TIMEOUT).topics[a.topic]
    if md.error is not None:
        print("metadata: %s" % md.error.name(), file=sys.stderr)
        return 1
    parts = sorted(md.partitions)
    ends = {p: c.get_watermark_offsets(TopicPartition(a.topic, p),
                                       timeout=TIMEOUT)[1] for p in parts}
    c.assign([TopicPartition(a.topic, p, 0) for p in parts])
    got = {p: [] for p in parts}
    pos = {p: 0 for p in parts}
    deadline = time.monotonic() + TIMEOUT
    while any(pos[p] < ends[p] for p in parts):
        if time.monotonic() > deadline:
            print("timed out at %s, ends %s" % (pos, ends), file=sys.stderr)
            return 1
        m = c.poll(0.5)
        if m is None or (m.error() is not None and
                         m.error().code() == -191):   # _PARTITION_EOF
            continue
        if m.error() is not None:
            print("consume error: %s" % m.error(), file=sys.stderr)
            return 1
        got[m.partition()].append(m)
        pos[m.partition()] = m.offset() + 1
    c.close()
    for p in parts:
        for m in got[p]:
            k, v = m.key(), m.value()
            print("%d %d %s %s" % (p, m.offset(),
                  "null" if k is None else k.decode(),
                  "null" if v is None else v.decode()))
    return 0


def results(futures):
    rc = 0
    for name, f in sorted(futures.items(), key=lambda kv: str(kv[0])):
        try:
            f.result(timeout=TIMEOUT)
            print("%s ok" % name)
        except KafkaException as e:
            err = e.args[0]
            print("%s error %s: %s" % (name, err.name(), err.str()))
            rc = 1
    return rc


def assignment(text):
    return [[int(b) for b in part.split(",")] for part in text.split("|")]


def cmd_create(a):
    topics = []
    config = dict(kv.split("=", 1) for kv in a.c)
    for spec in a.topics:
        if "=" in spec:
            name, assign = spec.split("=", 1)
            topics.append(NewTopic(name, len(assignment(assign)),
                                   replica_assignment=assignment(assign),
                                   config=config))
            continue
        f = spec.split(":")
        topics.append(NewTopic(f[0], int(f[1]),
                               int(f[2]) if len(f) > 2 else -1,
                               config=config))
    ad = AdminClient(conf(a))
    return results(ad.create_topics(topics, operation_timeout=10,
                                    request_timeout=TIMEOUT,
                                    validate_only=a.validate_only))


def cmd_delete(a):
    ad = AdminClient(conf(a))
    return results(ad.delete_topics(a.topics, operation_timeout=10,
                                    request_timeout=TIMEOUT))


def cmd_partitions(a):
    ad = AdminClient(conf(a))
    kw = {}
    if a.assign:
        kw["replica_assignment"] = assignment(a.assign)
    return results(ad.create_partitions([NewPartitions(a.topic, a.count, **kw)],
                                        operation_timeout=10,
                                        request_timeout=TIMEOUT,
                                        validate_only=a.validate_only))


def cmd_describe(a):
    ad = AdminClient(conf(a))
    res = ConfigResource(ConfigResource.Type.TOPIC, a.topic)
    try:
        entries = ad.describe_configs([res],
                                      request_timeout=TIMEOUT)[res].result()
    except KafkaException as e:
        print("error %s" % e.args[0].name())
        return 1
    for name in sorted(entries):
        e = entries[name]
        print("%s=%s source=%s" % (name, e.value, ConfigSource(e.source).name))
    return 0


def cmd_metadata(a):
    ad = AdminClient(conf(a))
    md = ad.list_topics(timeout=TIMEOUT)
    print("cluster_id=%s controller_id=%d orig_broker_id=%d" %
          (md.cluster_id, md.controller_id, md.orig_broker_id))
    for b in sorted(md.brokers.values(), key=lambda b: b.id):
        print("broker %d %s:%d" % (b.id, b.host, b.port))
    for t in sorted(md.topics.values(), key=lambda t: t.topic):
        if t.topic.startswith("__"):
            continue
        print("topic %s partitions=%d error=%s" % (t.topic, len(t.partitions),
                                                   t.error))
        for p in sorted(t.partitions.values(), key=lambda p: p.id):
            print("  partition %d leader=%d replicas=%s isrs=%s error=%s" %
                  (p.id, p.leader, p.replicas, p.isrs, p.error))
    return 0


class _TopicPartition(ctypes.Structure):
    _fields_ = [("topic", ctypes.c_char_p), ("partition", ctypes.c_int32),
                ("offset", ctypes.c_int64), ("metadata", ctypes.c_void_p),
                ("metadata_size", ctypes.c_size_t),
                ("opaque", ctypes.c_void_p), ("err", ctypes.c_int),
                ("_private", ctypes.c_void_p)]


class _TopicPartitionList(ctypes.Structure):
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int),
                ("elems", ctypes.POINTER(_TopicPartition))]


def _rdkafka():
    lib = ctypes.CDLL("librdkafka.so.1")
    vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
    sigs = {
        "rd_kafka_conf_new": (vp, []),
        "rd_kafka_conf_set": (ctypes.c_int, [vp, cp, cp, cp, sz]),
        "rd_kafka_new": (vp, [ctypes.c_int, vp, cp, sz]),
        "rd_kafka_destroy": (None, [vp]),
        "rd_kafka_queue_new": (vp, [vp]),
        "rd_kafka_queue_destroy": (None, [vp]),
        "rd_kafka_queue_poll": (vp, [vp, ctypes.c_int]),
        "rd_kafka_event_error": (ctypes.c_int, [vp]),
        "rd_kafka_event_error_string": (cp, [vp]),
        "rd_kafka_event_destroy": (None, [vp]),
        "rd_kafka_err2name": (cp, [ctypes.c_int]),
        "rd_kafka_error_name": (cp, [vp]),
        "rd_kafka_topic_partition_list_new": (vp, [ctypes.c_int]),
        "rd_kafka_topic_partition_list_add": (vp, [vp, cp, ctypes.c_int32]),
        "rd_kafka_topic_partition_list_destroy": (None, [vp]),
        "rd_kafka_DeleteConsumerGroupOffsets_new": (vp, [cp, vp]),
        "rd_kafka_DeleteConsumerGroupOffsets_destroy": (None, [vp]),
        "rd_kafka_DeleteConsumerGroupOffsets": (None, [vp, ctypes.POINTER(vp),
                                                      sz, vp, vp]),
        "rd_kafka_event_DeleteConsumerGroupOffsets_result": (vp, [vp]),
        "rd_kafka_DeleteConsumerGroupOffsets_result_groups":
            (ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        "rd_kafka_group_result_error": (vp, [vp]),
        "rd_kafka_group_result_partitions":
            (ctypes.POINTER(_TopicPartitionList), [vp]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


def cmd_delete_offsets(a):
    lib = _rdkafka()
    errstr = ctypes.create_string_buffer(512)
    c = lib.rd_kafka_conf_new()
    for k, v in conf(a).items():
        if lib.rd_kafka_conf_set(c, k.encode(), str(v).encode(), errstr,
                                 len(errstr)) != 0:
            print("conf %s: %s" % (k, errstr.value.decode()), file=sys.stderr)
            return 1
    rk = lib.rd_kafka_new(0, c, errstr, len(errstr))    # RD_KAFKA_PRODUCER
    if not rk:
        print("rd_kafka_new: %s" % errstr.value.decode(), file=sys.stderr)
        return 1
    parts = lib.rd_kafka_topic_partition_list_new(len(a.partitions))
    for spec in a.partitions:
        topic, ps = spec.split(":")
        for p in ps.split(","):
            lib.rd_kafka_topic_partition_list_add(parts, topic.encode(), int(p))
    req = lib.rd_kafka_DeleteConsumerGroupOffsets_new(a.group.encode(), parts)
    q = lib.rd_kafka_queue_new(rk)
    lib.rd_kafka_DeleteConsumerGroupOffsets(rk, (ctypes.c_void_p * 1)(req), 1,
                                            None, q)
    ev = lib.rd_kafka_queue_poll(q, int(TIMEOUT * 1000))
    rc = 0
    if not ev:
        print("timed out", file=sys.stderr)
        rc = 1
    elif lib.rd_kafka_event_error(ev):
        print("request error %s: %s" % (
            lib.rd_kafka_err2name(lib.rd_kafka_event_error(ev)).decode(),
            lib.rd_kafka_event_error_string(ev).decode()))
        rc = 1
    else:
        n = ctypes.c_size_t()
        res = lib.rd_kafka_event_DeleteConsumerGroupOffsets_result(ev)
        groups = lib.rd_kafka_DeleteConsumerGroupOffsets_result_groups(
            res, ctypes.byref(n))
        for i in range(n.value):
            gerr = lib.rd_kafka_group_result_error(groups[i])
            if gerr:
                print("group error %s" % lib.rd_kafka_error_name(gerr).decode())
                rc = 1
                continue
            pl = lib.rd_kafka_group_result_partitions(groups[i])
            rows = []
            for j in range(pl.contents.cnt if pl else 0):
                tp = pl.contents.elems[j]
                rows.append("%s %d %s" % (
                    tp.topic.decode(), tp.partition, "ok" if tp.err == 0 else
                    "error " + lib.rd_kafka_err2name(tp.err).decode()))
                rc = rc or (1 if tp.err else 0)
            print("\n".join(sorted(rows)))
    if ev:
        lib.rd_kafka_event_destroy(ev)
    lib.rd_kafka_queue_destroy(q)
    lib.rd_kafka_DeleteConsumerGroupOffsets_destroy(req)
    lib.rd_kafka_topic_partition_list_destroy(parts)
    lib.rd_kafka_destroy(rk)
    return rc


def main():
    ap = argparse.ArgumentParser(prog="confluent_py.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("produce")
    s.add_argument("addr")
    s.add_argument("topic")
    s.add_argument("n", type=int)
    s.add_argument("-p", type=int, default=1)
    s.add_argument("-X", action="append", default=[])
    s = sub.add_parser("consume")
    s.add_argument("addr")
    s.add_argument("topic")
    s = sub.add_parser("create")
    s.add_argument("addr")
    s.add_argument("topics", nargs="+")
    s.add_argument("-c", action="append", default=[])
    s.add_argument("--validate-only", action="store_true")
    s = sub.add_parser("delete")
    s.add_argument("addr")
    s.add_argument("topics", nargs="+")
    s = sub.add_parser("partitions")
    s.add_argument("addr")
    s.add_argument("topic")
    s.add_argument("count", type=int)
    s.add_argument("--assign")
    s.add_argument("--validate-only", action="store_true")
    s = sub.add_parser("describe")
    s.add_argument("addr")
    s.add_argument("topic")
    s = sub.add_parser("metadata")
    s.add_argument("addr")
    s = sub.add_parser("delete-offsets")
    s.add_argument("addr")
    s.add_argument("group")
    s.add_argument("partitions", nargs="+")
    a = ap.parse_args()
    return globals()["cmd_" + a.cmd.replace("-", "_")](a) or 0


if __name__ == "__main__":
    sys.exit(main())
