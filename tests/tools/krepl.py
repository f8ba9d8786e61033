# SPDX-License-Identifier: MIT
"""krepl: raw requests for logd's replication leader side (tests).

Run with Debian's /usr/bin/python3. Each command prints what logd
answered as "key value" pairs on one line per partition (or request), so
a Bats test can compare it exactly; it exits 0 unless the answer could
not be read (then 1, with the reason on stderr).

  krepl.py epoch ADDR TOPIC PARTITION EPOCH [--current N] [--version V]
           [--replica-id N]
      OffsetForLeaderEpoch (default v3, current_leader_epoch -1, replica
      id -1): "error E leader_epoch L end_offset O".
  krepl.py fetch ADDR TOPIC PARTITION OFFSET [--replica-id N]
           [--current N] [--version V] [--max-wait MS]
      Fetch (default v11, replica id -1): "error E high_watermark H
      log_start_offset S records N".
  krepl.py produce ADDR TOPIC PARTITION COUNT [--acks A] [--timeout MS]
           [--requests R] [--quiet-for MS]
      R Produce v7 requests of COUNT records each, all sent before any
      answer is read (pipelined), after a Metadata request that creates
      the topic when auto-creation is on; one line per answer, in the
      order the answers came: "correlation_id C error E base_offset B".
      --quiet-for first checks that nothing is answered for MS ms and
      says so ("no answer within MS ms", or "answered within MS ms"),
      so a test can act while the answer is still held back.
  krepl.py offsets ADDR TOPIC PARTITION TIMESTAMP [--replica-id N]
      ListOffsets v1: "error E offset O".
"""
import argparse
import os
import select
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402

API_OFFSET_FOR_LEADER_EPOCH = 23


def die(msg):
    print("krepl: " + msg, file=sys.stderr)
    sys.exit(1)


def one_partition(r, topic):
    """Position `r` at the single partition of the single topic."""
    if r.i32() != 1:
        die("expected one topic in the answer")
    name = r.string()
    if name != topic:
        die("answer for topic %r, expected %r" % (name, topic))
    if r.i32() != 1:
        die("expected one partition in the answer")


def cmd_epoch(a):
    c = kwire.Conn(a.addr)
    v = a.version
    body = b""
    if v >= 3:
        body += struct.pack(">i", a.replica_id)
    body += struct.pack(">i", 1) + kwire.kstr(a.topic) + struct.pack(">i", 1)
    body += struct.pack(">i", a.partition)
    if v >= 2:
        body += struct.pack(">i", a.current)
    body += struct.pack(">i", a.epoch)
    r = c.recv(c.send(API_OFFSET_FOR_LEADER_EPOCH, v, body))
    if v >= 2:
        r.i32()                                 # throttle_time_ms
    one_partition(r, a.topic)
    err, part = r.i16(), r.i32()
    epoch = r.i32() if v >= 1 else None
    end = r.i64()
    if part != a.partition or r.left() != 0:
        die("malformed OffsetForLeaderEpoch v%d answer" % v)
    print("error %d leader_epoch %s end_offset %d"
          % (err, "-" if epoch is None else epoch, end))


def cmd_fetch(a):
    c = kwire.Conn(a.addr)
    v = a.version
    body = struct.pack(">iiiib", a.replica_id, a.max_wait, 1, 1 << 20, 0)
    if v >= 7:
        body += struct.pack(">ii", 0, -1)       # no fetch session
    body += struct.pack(">i", 1) + kwire.kstr(a.topic) + struct.pack(">i", 1)
    body += struct.pack(">i", a.partition)
    if v >= 9:
        body += struct.pack(">i", a.current)
    body += struct.pack(">q", a.offset)
    if v >= 5:
        body += struct.pack(">q", -1)           # log_start_offset
    body += struct.pack(">i", 1 << 20)
    if v >= 7:
        body += struct.pack(">i", 0)            # forgotten topics
    if v >= 11:
        body += kwire.kstr("")                  # rack_id
    r = c.recv(c.send(kwire.API_FETCH, v, body))
    r.i32()                                     # throttle_time_ms
    if v >= 7:
        r.i16()
        r.i32()
    one_partition(r, a.topic)
    r.i32()                                     # partition
    err, hw = r.i16(), r.i64()
    r.i64()                                     # last_stable_offset
    lso = r.i64() if v >= 5 else -1
    naborted = r.i32()
    for _ in range(max(naborted, 0)):
        r.i64()
        r.i64()
    if v >= 11:
        r.i32()                                 # preferred_read_replica
    recs = kwire.parse_batches(r.bytes_() or b"")
    print("error %d high_watermark %d log_start_offset %d records %d"
          % (err, hw, lso, len(recs)))


def cmd_produce(a):
    # Produce never creates topics; Metadata does (auto.create.topics),
    # on a connection of its own so the correlation ids start at 1.
    m = kwire.Conn(a.addr)
    m.metadata([a.topic])
    m.close()
    c = kwire.Conn(a.addr)
    corrs = []
    for i in range(a.requests):
        batch = kwire.record_batch([b"krepl-%d-%d" % (i, j)
                                    for j in range(a.count)])
        body = (kwire.kstr(None) + struct.pack(">hi", a.acks, a.timeout) +
                struct.pack(">i", 1) + kwire.kstr(a.topic) +
                struct.pack(">i", 1) + struct.pack(">i", a.partition) +
                kwire.kbytes(batch))
        corrs.append(c.send(kwire.API_PRODUCE, 7, body))
    if a.acks == 0:
        return
    if a.quiet_for > 0:
        ready, _, _ = select.select([c.sock], [], [], a.quiet_for / 1000.0)
        print("%s within %d ms" % ("answered" if ready else "no answer",
                                   a.quiet_for), flush=True)
    for corr in corrs:
        # Reading in send order checks the order logd answered in.
        r = c.recv(corr)
        one_partition(r, a.topic)
        r.i32()
        err, base = r.i16(), r.i64()
        print("correlation_id %d error %d base_offset %d"
              % (corr, err, base), flush=True)


def cmd_offsets(a):
    c = kwire.Conn(a.addr)
    body = (struct.pack(">ii", a.replica_id, 1) + kwire.kstr(a.topic) +
            struct.pack(">i", 1) + struct.pack(">iq", a.partition,
                                               a.timestamp))
    r = c.recv(c.send(kwire.API_LIST_OFFSETS, 1, body))
    one_partition(r, a.topic)
    r.i32()
    err = r.i16()
    r.i64()                                     # timestamp
    print("error %d offset %d" % (err, r.i64()))


def add_command(sub, name, last):
    """A subcommand on ADDR TOPIC PARTITION and one more number, `last`."""
    c = sub.add_parser(name)
    c.add_argument("addr")
    c.add_argument("topic")
    c.add_argument("partition", type=int)
    c.add_argument(last, type=int)
    return c


def main(argv):
    p = argparse.ArgumentParser(prog="krepl.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = add_command(sub, "epoch", "epoch")
    e.add_argument("--current", type=int, default=-1)
    e.add_argument("--version", type=int, default=3)
    e.add_argument("--replica-id", type=int, default=-1)
    f = add_command(sub, "fetch", "offset")
    f.add_argument("--replica-id", type=int, default=-1)
    f.add_argument("--current", type=int, default=-1)
    f.add_argument("--version", type=int, default=11)
    f.add_argument("--max-wait", type=int, default=0)
    q = add_command(sub, "produce", "count")
    q.add_argument("--acks", type=int, default=-1)
    q.add_argument("--timeout", type=int, default=5000)
    q.add_argument("--requests", type=int, default=1)
    q.add_argument("--quiet-for", type=int, default=0)
    o = add_command(sub, "offsets", "timestamp")
    o.add_argument("--replica-id", type=int, default=-1)
    a = p.parse_args(argv[1:])
    {"epoch": cmd_epoch, "fetch": cmd_fetch, "produce": cmd_produce,
     "offsets": cmd_offsets}[a.cmd](a)


if __name__ == "__main__":
    main(sys.argv)
