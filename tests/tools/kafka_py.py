# SPDX-License-Identifier: MIT
"""kafka-python (2.0.x) driver for the logd Bats tests.

Run with Debian's /usr/bin/python3 ("$PY" in helpers.bash), which has
python3-kafka. Each subcommand does one client operation against a broker
and prints its outcome as plain lines that the tests compare exactly:

  produce  ADDR TOPIC N [-p PARTS] [-z CODEC] [--acks A] [--ts MS [--step MS]]
           [--batch-each]
           N records, key "key-I", value "value-I" padded to 100 bytes,
           headers h=I, dup=a, dup=b; record I goes to partition I % PARTS,
           with timestamp MS + I * STEP when --ts is given, and in a batch
           of its own with --batch-each. Prints "sent N" once every send
           is acknowledged.
  consume  ADDR TOPIC
           assign() every partition, read from the beginning to the end
           offsets; one line per record: "P O KEY VALUE HEADERS TS".
  create   ADDR NAME:PARTS[:RF] [-c KEY=VALUE]... [--validate-only]
  delete   ADDR NAME...
  list     ADDR                      topic names, sorted
  describe ADDR TOPIC                "name=value source=N" per config entry
  partitions ADDR TOPIC COUNT        create_partitions
  topic    ADDR TOPIC                "partitions=N" from Metadata

Admin errors print "error ErrorClassName" and exit 1; success prints "ok".
"""
import argparse
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import KafkaError

TIMEOUT_MS = 15000


def value_of(i):
    return ("value-%d" % i).ljust(100, "x")


def cmd_produce(a):
    kw = {}
    if a.z != "none":
        kw["compression_type"] = a.z
    p = KafkaProducer(bootstrap_servers=a.addr, acks=a.acks,
                      request_timeout_ms=TIMEOUT_MS, linger_ms=50,
                      batch_size=1 << 20, retries=0, **kw)
    futures = []
    for i in range(a.n):
        futures.append(p.send(
            a.topic, key=b"key-%d" % i, value=value_of(i).encode(),
            partition=i % a.p,
            headers=[("h", b"%d" % i), ("dup", b"a"), ("dup", b"b")],
            timestamp_ms=None if a.ts is None else a.ts + i * a.step))
        if a.batch_each:
            p.flush(timeout=TIMEOUT_MS / 1000)
    p.flush(timeout=TIMEOUT_MS / 1000)
    for f in futures:
        f.get(timeout=TIMEOUT_MS / 1000)
    p.close(timeout=5)
    print("sent %d" % a.n)


def fmt_bytes(b):
    if b is None:
        return "null"
    return b.decode("utf-8", "backslashreplace")


def cmd_consume(a):
    c = KafkaConsumer(bootstrap_servers=a.addr, enable_auto_commit=False,
                      group_id=None, request_timeout_ms=TIMEOUT_MS + 1000,
                      consumer_timeout_ms=TIMEOUT_MS)
    parts = c.partitions_for_topic(a.topic)
    if not parts:
        print("no partitions for %s" % a.topic, file=sys.stderr)
        return 1
    tps = [TopicPartition(a.topic, p) for p in sorted(parts)]
    c.assign(tps)
    c.seek_to_beginning()
    ends = c.end_offsets(tps)
    got = {tp: [] for tp in tps}
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while any(c.position(tp) < ends[tp] for tp in tps):
        if time.monotonic() > deadline:
            print("timed out: positions %s, ends %s" %
                  ({tp.partition: c.position(tp) for tp in tps},
                   {tp.partition: ends[tp] for tp in tps}), file=sys.stderr)
            return 1
        for tp, recs in c.poll(timeout_ms=500).items():
            got[tp].extend(recs)
    c.close()
    for tp in tps:
        for r in got[tp]:
            hdrs = ",".join("%s=%s" % (k, fmt_bytes(v)) for k, v in r.headers)
            print("%d %d %s %s %s %d" % (r.partition, r.offset,
                  fmt_bytes(r.key), fmt_bytes(r.value), hdrs or "-",
                  r.timestamp))
    return 0


def admin(a):
    return KafkaAdminClient(bootstrap_servers=a.addr,
                            request_timeout_ms=TIMEOUT_MS)


def report(fn):
    try:
        fn()
    except KafkaError as e:
        print("error %s" % type(e).__name__)
        return 1
    print("ok")
    return 0


def cmd_create(a):
    topics = []
    for spec in a.topics:
        f = spec.split(":")
        topics.append(NewTopic(f[0], int(f[1]), int(f[2]) if len(f) > 2 else 1,
                               topic_configs=dict(kv.split("=", 1)
                                                  for kv in a.c)))
    ad = admin(a)
    rc = report(lambda: ad.create_topics(topics, validate_only=a.validate_only))
    ad.close()
    return rc


def cmd_delete(a):
    ad = admin(a)
    rc = report(lambda: ad.delete_topics(a.topics))
    ad.close()
    return rc


def cmd_list(a):
    ad = admin(a)
    for t in sorted(ad.list_topics()):
        print(t)
    ad.close()


def cmd_describe(a):
    ad = admin(a)
    res = ad.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                              a.topic)])
    for resp in res:
        for r in resp.resources:
            err, msg, _, name, entries = r[:5]
            if err:
                print("error %d %s" % (err, msg))
                return 1
            for e in sorted(entries, key=lambda e: e[0]):
                print("%s=%s source=%d" % (e[0], e[1], e[3]))
    ad.close()
    return 0


def cmd_partitions(a):
    ad = admin(a)
    rc = report(lambda: ad.create_partitions(
        {a.topic: NewPartitions(total_count=a.count)}))
    ad.close()
    return rc


def cmd_topic(a):
    ad = admin(a)
    for t in ad.describe_topics([a.topic]):
        print("partitions=%d error=%d" % (len(t["partitions"]),
                                          t["error_code"]))
    ad.close()


def main():
    ap = argparse.ArgumentParser(prog="kafka_py.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("produce")
    s.add_argument("addr")
    s.add_argument("topic")
    s.add_argument("n", type=int)
    s.add_argument("-p", type=int, default=1)
    s.add_argument("-z", default="none")
    s.add_argument("--acks", type=int, default=1)
    s.add_argument("--ts", type=int)
    s.add_argument("--step", type=int, default=0)
    s.add_argument("--batch-each", action="store_true")
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
    s = sub.add_parser("list")
    s.add_argument("addr")
    s = sub.add_parser("describe")
    s.add_argument("addr")
    s.add_argument("topic")
    s = sub.add_parser("partitions")
    s.add_argument("addr")
    s.add_argument("topic")
    s.add_argument("count", type=int)
    s = sub.add_parser("topic")
    s.add_argument("addr")
    s.add_argument("topic")
    a = ap.parse_args()
    return globals()["cmd_" + a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
