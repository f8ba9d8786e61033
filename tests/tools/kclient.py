# SPDX-License-Identifier: MIT
"""kclient: confluent-kafka (librdkafka) helpers for the logd fault tests.

Run with Debian's /usr/bin/python3 (it has python3-confluent-kafka).

  kclient.py create ADDR TOPIC PARTITIONS [KEY=VALUE...]
      CreateTopics through the AdminClient, with topic configs. Prints
      "created ..." or "error NAME: message" (exit 1).
  kclient.py produce ADDR TOPIC HISTORY [--round R] [--partitions P]
                     [--count N] [--size S] [--timestamp MS] [--sync]
                     [--stop-file PATH] [--timeout-ms MS]
      Produce with acks=1 and no retries, so every record has a precise
      outcome, and append one line per delivery report to HISTORY:
          ok ROUND SEQ PARTITION OFFSET
          fail ROUND SEQ PARTITION ERROR_NAME
      Values are "rRR-SSSSSSSSS" padded with '.' to S bytes; record SEQ
      goes to partition SEQ % P. Without --count it produces until the
      first failed delivery, then waits for the outstanding reports.
      --sync waits for each record's report before sending the next one
      (one record per batch). With --stop-file PATH it also stops once PATH
      exists, failing the records it had not sent yet (_PURGE_QUEUE).
      Prints "acked A failed F sent N first_error E".
  kclient.py check READBACK HISTORY...
      READBACK holds "PARTITION OFFSET VALUE" lines (kcat -f '%p %o %s\\n').
      Checks that every acknowledged record is at its acknowledged offset
      exactly once, that each partition holds records in production order
      with no duplicates, and that nothing foreign is present. Prints
      "acked N read M unacked_present U" and exits 1 on any violation.
"""
import argparse
import os
import sys


def cmd_create(a):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
    configs = dict(kv.split("=", 1) for kv in a.configs)
    admin = AdminClient({"bootstrap.servers": a.addr})
    fut = admin.create_topics([NewTopic(a.topic, a.partitions, 1,
                                        config=configs)],
                              operation_timeout=10, request_timeout=10)
    try:
        fut[a.topic].result(timeout=15)
    except KafkaException as e:
        err = e.args[0]
        print("error %s: %s" % (err.name(), err.str()))
        sys.exit(1)
    print("created %s partitions=%d %s" % (a.topic, a.partitions,
                                           " ".join(a.configs)))


def value_of(rnd, seq, size):
    v = b"r%02d-%09d" % (rnd, seq)
    return v.ljust(size, b".")


def parse_value(v):
    head = v.split(b".", 1)[0] if isinstance(v, bytes) else v.split(".", 1)[0]
    if isinstance(head, bytes):
        head = head.decode()
    if len(head) != 13 or head[0] != "r" or head[3] != "-":
        raise ValueError("foreign value %r" % v)
    return int(head[1:3]), int(head[4:])


def cmd_produce(a):
    from confluent_kafka import Producer
    p = Producer({
        "bootstrap.servers": a.addr,
        "acks": 1,
        "message.send.max.retries": 0,
        "enable.idempotence": False,
        "message.timeout.ms": a.timeout_ms,
        "linger.ms": 1 if a.sync else 5,
        "batch.num.messages": 1 if a.sync else 500,
        "queue.buffering.max.messages": 5000,
        "max.in.flight.requests.per.connection": 5,
        "socket.keepalive.enable": True,
        "log_level": 0,
    })
    out = open(a.history, "a", buffering=1)
    st = {"acked": 0, "failed": 0, "first_error": None, "done": 0}

    def report(err, msg):
        _, seq = parse_value(msg.value())
        st["done"] += 1
        if err is None:
            st["acked"] += 1
            out.write("ok %d %d %d %d\n" % (a.round, seq, msg.partition(),
                                            msg.offset()))
        else:
            st["failed"] += 1
            if st["first_error"] is None:
                st["first_error"] = err.name()
            out.write("fail %d %d %d %s\n" % (a.round, seq,
                                              seq % a.partitions, err.name()))

    seq = 0
    sent = 0
    stopped = False
    while True:
        if a.count is not None and seq >= a.count:
            break
        if a.count is None and st["failed"] > 0:
            break
        if a.stop_file and seq % 64 == 0 and os.path.exists(a.stop_file):
            stopped = True
            break
        kw = {}
        if a.timestamp is not None:
            kw["timestamp"] = a.timestamp + seq
        try:
            p.produce(a.topic, value_of(a.round, seq, a.size),
                      partition=seq % a.partitions, on_delivery=report,
                      **kw)
        except BufferError:
            p.poll(0.05)
            continue
        seq += 1
        sent += 1
        if a.sync:
            while st["done"] < sent:
                p.poll(0.1)
        else:
            p.poll(0)
    if stopped or (a.count is None and st["failed"] > 0):
        # Records still queued were never sent: fail them now rather than
        # wait for message.timeout.ms.
        p.purge(in_queue=True, in_flight=False)
    left = p.flush(a.timeout_ms / 1000.0 + 10)
    out.close()
    print("acked %d failed %d sent %d first_error %s" %
          (st["acked"], st["failed"], sent, st["first_error"] or "none"),
          flush=True)
    if left:
        print("kclient: %d deliveries unreported" % left, file=sys.stderr)
        os._exit(1)
    # Every report is in; skip librdkafka's teardown, which waits seconds
    # for a dead broker.
    os._exit(0)


def cmd_check(a):
    acked = {}                  # (round, seq) -> (partition, offset)
    for path in a.history:
        for line in open(path):
            f = line.split()
            if not f:
                continue
            key = (int(f[1]), int(f[2]))
            if f[0] == "ok":
                if key in acked:
                    fail("record %s acknowledged twice" % (key,))
                acked[key] = (int(f[3]), int(f[4]))
    logs = {}                   # partition -> [(offset, (round, seq))]
    for line in open(a.readback):
        f = line.rstrip("\n").split(" ", 2)
        if len(f) != 3:
            continue
        part, off = int(f[0]), int(f[1])
        logs.setdefault(part, []).append((off, parse_value(f[2])))
    at = {}
    seen = set()
    problems = 0
    for part, recs in sorted(logs.items()):
        prev_off, prev_key = -1, None
        for off, key in recs:
            if off <= prev_off:
                problems += complain("partition %d: offset %d after %d"
                                     % (part, off, prev_off))
            if prev_key is not None and key <= prev_key:
                problems += complain("partition %d offset %d: %s after %s "
                                     "(duplicate or out of order)"
                                     % (part, off, key, prev_key))
            if key in seen:
                problems += complain("record %s present twice" % (key,))
            seen.add(key)
            at[(part, off)] = key
            prev_off, prev_key = off, key
    lost = 0
    for key, (part, off) in sorted(acked.items()):
        got = at.get((part, off))
        if got != key:
            lost += 1
            if lost <= 10:
                complain("acknowledged %s at partition %d offset %d: found %s"
                         % (key, part, off, got))
    problems += lost
    unacked = len(seen - set(acked))
    print("acked %d read %d unacked_present %d lost %d problems %d"
          % (len(acked), len(seen), unacked, lost, problems))
    if problems:
        sys.exit(1)


def complain(msg):
    print("check: " + msg, file=sys.stderr)
    return 1


def fail(msg):
    print("check: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(prog="kclient.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("addr")
    c.add_argument("topic")
    c.add_argument("partitions", type=int)
    c.add_argument("configs", nargs="*")
    c.set_defaults(fn=cmd_create)
    p = sub.add_parser("produce")
    p.add_argument("addr")
    p.add_argument("topic")
    p.add_argument("history")
    p.add_argument("--round", type=int, default=0)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--count", type=int)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--timestamp", type=int)
    p.add_argument("--timeout-ms", type=int, default=3000)
    p.add_argument("--sync", action="store_true")
    p.add_argument("--stop-file")
    p.set_defaults(fn=cmd_produce)
    k = sub.add_parser("check")
    k.add_argument("readback")
    k.add_argument("history", nargs="+")
    k.set_defaults(fn=cmd_check)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
