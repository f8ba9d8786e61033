# SPDX-License-Identifier: MIT
"""kchaos: producers that keep a history, and the checker of that history.

For the replication fault tests (tests/38-replication-faults.bats) and
bench/replication; run with Debian's /usr/bin/python3, which has
python3-confluent-kafka and python3-kafka. The design follows the plan in
RELIABILITY.md ("History and checker"), which follows Jepsen's.

Every record has a unique value, "WRITER:SEQUENCE" (nine digits) padded
with '.' to --size bytes, and every producer appends one JSON line per
record to a history file once the record's fate is known:

  {"w": "c", "s": 17, "p": 0, "r": "ok", "o": 4711, "ts": SENT, "t": DONE}
  {"w": "c", "s": 18, "p": 0, "r": "fail", "e": "NOT_ENOUGH_REPLICAS", ...}
  {"w": "c", "s": 19, "p": 0, "r": "info", "e": "_TRANSPORT", ...}

"ok" is acknowledged (with its offset when the client says), "fail" a
definite failure (the record cannot be in the log: refused before the
append, or never sent), "info" an indeterminate one (it may or may not be
in the log: a timeout, a lost connection, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
NOT_LEADER_OR_FOLLOWER, which logd also answers to a parked acks=all
request after the append). Errors also carry "retriable": whether a client
is expected to retry them (Kafka's retriable errors, a lost connection, an
unanswered request). "ts" and "t" are wall-clock milliseconds of the send
and of the outcome, comparable with the fault log of tests/cluster.bash.

Commands:

  produce BROKERS TOPIC HISTORY [--writer W] [--client confluent|kafka-python]
          [--acks all|1] [--retries N] [--partition P | --partitions N]
          [--rate R] [--count N] [--duration S] [--stop-file PATH]
          [--size B] [--timeout-ms MS] [--drain-s S]
      Produce at R records a second (0: as fast as the client takes them)
      until COUNT records, DURATION seconds, PATH exists or SIGTERM. By
      default retries=0 and no idempotence, so every outcome is precise.
      At the stop, what was produced has S seconds (15) to be delivered;
      records not sent by then are purged (fail _PURGE_QUEUE).
      Prints "writer W sent N ok A fail F info I first_error E" and exits 0
      (the history is the result; the checker judges it).
  zombie ADDR TOPIC PARTITION HISTORY [--writer W] [--interval-ms MS]
          [--stop-file PATH] [--drain-s S]
      One raw connection to one broker (tests/tools/kwire.py), one acks=all
      Produce v3 of one record every MS, answers read in order, never
      reconnecting and never redirected: what a client that had not yet
      noticed a leader change would send. It stops sending at the first
      error answer. For the paused-leader (zombie) scenario.
  feed WRITER [--rate R] [--count N] [--size B] [--stop-file PATH]
          [--sent-file PATH]
      Write record values, one a line, to stdout at R a second, for kprod
      and kcat; the number written goes to PATH at the end.
  import WRITER SENT [--placed FILE] [--all-acked] [--partition P]
      History lines for SENT values written by `feed` to a producer that
      keeps no history: "ok" for those in FILE (kprod -o '%l %p %o\\n'
      lines) or all of them with --all-acked (kcat exited 0), "info" for
      the rest.
  read BROKERS TOPIC [--client confluent|kafka-python]
      The final log through a real client: every record from the log start
      to the high watermark, as "PARTITION OFFSET VALUE" lines.
  leader BROKERS TOPIC PARTITION [--client confluent|kafka-python]
      The partition's leader (a broker id, -1 for none) as the client's
      own Metadata request finds it.
  check --log READBACK [--dups-ok W,..] [--lossy W,..] HISTORY...
      READBACK holds the final log as "PARTITION OFFSET VALUE" lines (kcons
      -f '%p %o %s\\n' from the beginning, after the faults healed). Prints
      one summary line and exits 1 when there is a lost acknowledged write,
      a duplicate (unless the writer is in --dups-ok), a record out of its
      writer's order within a partition (first copies only), an
      acknowledged record at another offset than acknowledged, or a
      definitely failed write in the log. Writers in --lossy (acks=1) have
      their losses counted, not failed. A producer without idempotence may
      write a batch twice even with retries=0: librdkafka resends a batch
      answered NOT_LEADER_FOR_PARTITION without counting a retry (it takes
      that error as "not appended"), while logd, like Kafka, gives that
      answer to an acks=all request whose batch it appended before it lost
      the leadership; such writers belong in --dups-ok.
  timeline --nemesis FILE [--partition P] [--json] HISTORY...
      For each fault in FILE (tests/cluster.bash's nemesis.jsonl) that
      names a partition (or all faults, with --partition), the time from
      the fault until a record sent after it is acknowledged on that
      partition, the longest gap between acknowledgements up to the next
      fault, and the errors meanwhile; then p50 and max of each.
"""
import argparse
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Kafka error codes by name (the subset a producer meets), and the ones
# that prove the record was not appended.
CODES = {
    "NONE": 0, "CORRUPT_MESSAGE": 2, "UNKNOWN_TOPIC_OR_PARTITION": 3,
    "LEADER_NOT_AVAILABLE": 5, "NOT_LEADER_OR_FOLLOWER": 6,
    "REQUEST_TIMED_OUT": 7, "MESSAGE_TOO_LARGE": 10,
    "NOT_ENOUGH_REPLICAS": 19, "NOT_ENOUGH_REPLICAS_AFTER_APPEND": 20,
    "INVALID_REQUIRED_ACKS": 21, "TOPIC_AUTHORIZATION_FAILED": 29,
    "KAFKA_STORAGE_ERROR": 56, "FENCED_LEADER_EPOCH": 74,
    "INVALID_RECORD": 87,
}
NAMES = {v: k for k, v in CODES.items()}
DEFINITE = {2, 3, 10, 19, 21, 29, 87}
# Errors a client is expected to retry (Kafka's retriable errors, and a
# lost connection or an unanswered request): "retriable" in the history.
RETRIABLE = {5, 6, 7, 19, 20, 56, 74}
LOCAL_RETRIABLE = {"_TRANSPORT", "_TIMED_OUT", "_DISCONNECTED", "_NO_ANSWER",
                   "KafkaConnectionError", "RequestTimedOutError"}
# librdkafka's local errors that mean "never sent": purged from the queue,
# or refused by the client before queueing.
LOCAL_DEFINITE = {"_PURGE_QUEUE", "_UNKNOWN_TOPIC", "_UNKNOWN_PARTITION",
                  "_MSG_SIZE_TOO_LARGE"}

VALUE_RE = re.compile(r"^([A-Za-z0-9_]+):([0-9]{9})\.*$")


def die(msg, status=2):
    print("kchaos: " + msg, file=sys.stderr)
    sys.exit(status)


def now_ms():
    return int(time.time() * 1000)


def value_of(writer, seq, size):
    return ("%s:%09d" % (writer, seq)).ljust(size, ".").encode()


def parse_value(v):
    """(writer, seq) of one of our values, or None."""
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    m = VALUE_RE.match(v)
    return (m.group(1), int(m.group(2))) if m else None


class History:
    """The history file: one JSON line per record outcome, thread-safe."""

    def __init__(self, path, writer):
        self.f = open(path, "a", buffering=1)
        self.writer = writer
        self.lock = threading.Lock()
        self.count = {"ok": 0, "fail": 0, "info": 0}
        self.errors = {}
        self.first_error = None

    def add(self, seq, part, result, sent, offset=None, error=None,
            code=None):
        rec = {"w": self.writer, "s": seq, "p": part, "r": result}
        if offset is not None and offset >= 0:
            rec["o"] = offset
        if error is not None:
            rec["e"] = error
            if code is not None:
                rec["c"] = code
            rec["retriable"] = (code in RETRIABLE if code is not None and
                                code >= 0 else error in LOCAL_RETRIABLE)
        rec["ts"] = sent
        rec["t"] = now_ms()
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.f.write(line)
            self.count[result] += 1
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1
                if self.first_error is None:
                    self.first_error = error

    def summary(self, sent):
        return ("writer %s sent %d ok %d fail %d info %d first_error %s"
                % (self.writer, sent, self.count["ok"], self.count["fail"],
                   self.count["info"], self.first_error or "none"))

    def close(self):
        self.f.close()


class Stopper:
    """When to stop: a count, a duration, a file appearing, SIGTERM."""

    def __init__(self, count=None, duration=None, stop_file=None):
        self.count = count
        self.deadline = (time.monotonic() + duration) if duration else None
        self.stop_file = stop_file
        self.signalled = False
        self._checked = 0.0
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, *_):
        self.signalled = True

    def done(self, seq):
        if self.signalled:
            return True
        if self.count is not None and seq >= self.count:
            return True
        t = time.monotonic()
        if self.deadline is not None and t >= self.deadline:
            return True
        if self.stop_file and t - self._checked > 0.05:
            self._checked = t
            if os.path.exists(self.stop_file):
                return True
        return False


def wait_due(start, rate, seq, idle=time.sleep):
    """Wait until record `seq` is due at `rate` records a second (0: at
    once), calling idle(seconds) meanwhile (a client's poll, or sleep)."""
    if rate <= 0:
        return
    while True:
        delay = start + seq / rate - time.monotonic()
        if delay <= 0:
            return
        idle(min(delay, 0.05))


# ---- produce ----

def produce_confluent(a, hist, stopper):
    from confluent_kafka import Producer
    conf = {
        "bootstrap.servers": a.brokers,
        "acks": a.acks,
        "message.send.max.retries": a.retries,
        "enable.idempotence": False,
        "message.timeout.ms": a.timeout_ms,
        "request.timeout.ms": min(a.timeout_ms, 10000),
        "linger.ms": 5,
        "batch.num.messages": 200,
        "queue.buffering.max.messages": 200000,
        "max.in.flight.requests.per.connection": 5,
        "socket.keepalive.enable": True,
        # A broker that was down gets a reconnect attempt within 1 s, not
        # librdkafka's default 10 s back-off: after a restart it may lead
        # again at once, and the back-off would be measured as downtime.
        "reconnect.backoff.max.ms": 1000,
        "log_level": 0,
    }
    if os.environ.get("KCHAOS_DEBUG"):
        # librdkafka's debug contexts (e.g. "metadata,broker,msg"),
        # logged to stderr.
        conf.update(debug=os.environ["KCHAOS_DEBUG"], log_level=7)
    p = Producer(conf)
    sent_at = {}

    def report(err, msg):
        _, seq = parse_value(msg.value())
        ts = sent_at.pop(seq, None)
        if err is None:
            hist.add(seq, msg.partition(), "ok", ts, offset=msg.offset())
            return
        name, code = err.name(), err.code()
        if code >= 0:
            definite = code in DEFINITE
        else:
            definite = name in LOCAL_DEFINITE
        hist.add(seq, msg.partition(), "fail" if definite else "info", ts,
                 error=name, code=code)

    start = time.monotonic()
    seq = 0
    while not stopper.done(seq):
        wait_due(start, a.rate, seq, p.poll)
        part = a.partition if a.partition is not None else seq % a.partitions
        try:
            sent_at[seq] = now_ms()
            p.produce(a.topic, value_of(a.writer, seq, a.size),
                      partition=part, on_delivery=report)
        except BufferError:
            p.poll(0.05)
            continue
        seq += 1
        p.poll(0)
    # Give what was produced --drain-s to be delivered; records still
    # queued then were never sent: fail them now, precisely.
    p.flush(a.drain_s)
    p.purge(in_queue=True, in_flight=False)
    left = p.flush(a.timeout_ms / 1000.0 + 15)
    for s in sorted(sent_at):
        part = a.partition if a.partition is not None else s % a.partitions
        hist.add(s, part, "info", sent_at[s], error="_UNREPORTED")
    if left:
        print("kchaos: %d deliveries unreported" % left, file=sys.stderr)
    return seq


def produce_kafka_python(a, hist, stopper):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    kw = {}
    if "delivery_timeout_ms" in KafkaProducer.DEFAULT_CONFIG:
        kw["delivery_timeout_ms"] = a.timeout_ms    # not in kafka-python 2.0
    # One request in flight: retries cannot reorder records.
    p = KafkaProducer(bootstrap_servers=a.brokers.split(","),
                      acks="all" if a.acks in ("all", "-1") else int(a.acks),
                      retries=a.retries, retry_backoff_ms=200,
                      max_in_flight_requests_per_connection=1,
                      linger_ms=5, request_timeout_ms=10000,
                      max_block_ms=a.timeout_ms, **kw)
    pending = {}
    lock = threading.Lock()

    def done(seq, part, ts, md=None, exc=None):
        with lock:
            pending.pop(seq, None)
        if exc is None:
            hist.add(seq, part, "ok", ts, offset=md.offset)
            return
        code = getattr(exc, "errno", None)
        name = type(exc).__name__
        if isinstance(code, int) and code in NAMES:
            name = NAMES[code]
        definite = isinstance(code, int) and code in DEFINITE
        hist.add(seq, part, "fail" if definite else "info", ts, error=name,
                 code=code if isinstance(code, int) else None)

    start = time.monotonic()
    seq = 0
    while not stopper.done(seq):
        wait_due(start, a.rate, seq)
        part = a.partition if a.partition is not None else seq % a.partitions
        ts = now_ms()
        with lock:
            pending[seq] = (part, ts)
        try:
            fut = p.send(a.topic, value_of(a.writer, seq, a.size),
                         partition=part)
        except KafkaError as e:
            done(seq, part, ts, exc=e)
        else:
            fut.add_callback(lambda md, s=seq, q=part, t=ts: done(s, q, t, md))
            fut.add_errback(lambda e, s=seq, q=part, t=ts: done(s, q, t,
                                                               exc=e))
        seq += 1
    try:
        p.flush(timeout=a.drain_s + a.timeout_ms / 1000.0)
    except KafkaError:
        pass
    with lock:
        left = dict(pending)
    for s, (part, ts) in sorted(left.items()):
        hist.add(s, part, "info", ts, error="_UNREPORTED")
    p.close(timeout=5)
    return seq


def cmd_produce(a):
    if a.partition is None and a.partitions < 1:
        die("--partitions must be at least 1")
    hist = History(a.history, a.writer)
    stopper = Stopper(a.count, a.duration, a.stop_file)
    if a.client == "confluent":
        sent = produce_confluent(a, hist, stopper)
    else:
        sent = produce_kafka_python(a, hist, stopper)
    hist.close()
    print(hist.summary(sent), flush=True)
    if hist.errors:
        print("errors " + " ".join("%s:%d" % kv for kv in
                                   sorted(hist.errors.items())), flush=True)
    # Every outcome is written; skip librdkafka's teardown, which can wait
    # seconds for a dead broker.
    os._exit(0)


# ---- zombie: a raw client stuck to one broker ----

def cmd_zombie(a):
    import kwire
    hist = History(a.history, a.writer)
    stopper = Stopper(None, None, a.stop_file)
    conn = kwire.Conn(a.addr, timeout=None, client_id="kchaos-zombie")
    outstanding = []                # [(corr, seq, sent_ms)], in send order
    cv = threading.Condition()
    state = {"closed": False, "error_seen": False, "sent": 0}

    def receiver():
        while True:
            with cv:
                while not outstanding and not state["closed"]:
                    cv.wait()
                if not outstanding:
                    return
                corr, seq, ts = outstanding[0]
            try:
                err, base = conn.read_produce(corr)
            except (EOFError, OSError, ValueError, struct.error):
                with cv:
                    state["closed"] = True
                    cv.notify_all()
                return
            with cv:
                outstanding.pop(0)
                if err != 0:
                    state["error_seen"] = True
                cv.notify_all()
            if err == 0:
                hist.add(seq, a.partition, "ok", ts, offset=base)
            else:
                hist.add(seq, a.partition,
                         "fail" if err in DEFINITE else "info", ts,
                         error=NAMES.get(err, "ERROR_%d" % err), code=err)

    rt = threading.Thread(target=receiver, daemon=True)
    rt.start()
    seq = 0
    while not stopper.done(seq):
        with cv:
            if state["closed"] or state["error_seen"]:
                break
            if len(outstanding) >= a.max_outstanding:
                cv.wait(0.05)
                continue
        batch = kwire.record_batch([value_of(a.writer, seq, a.size)])
        body = conn.produce_body(a.topic, a.partition, batch, acks=-1,
                                 timeout_ms=a.request_timeout_ms)
        ts = now_ms()
        try:
            with cv:
                corr = conn.send(kwire.API_PRODUCE, 3, body)
                outstanding.append((corr, seq, ts))
                cv.notify_all()
        except OSError:
            hist.add(seq, a.partition, "info", ts, error="_TRANSPORT")
            seq += 1
            break
        seq += 1
        time.sleep(a.interval_ms / 1000.0)
    # Wait for the answers to what was sent, then give up on the rest.
    deadline = time.monotonic() + a.drain_s
    with cv:
        while outstanding and not state["closed"] and \
                time.monotonic() < deadline:
            cv.wait(0.1)
        left = list(outstanding)
        outstanding.clear()
        state["closed"] = True
        cv.notify_all()
    # The receiver ends when the broker closed the connection; still
    # blocked in recv, it had no answer in time.
    why = "_NO_ANSWER" if rt.is_alive() else "_DISCONNECTED"
    for _corr, s, ts in left:
        hist.add(s, a.partition, "info", ts, error=why)
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
    hist.close()
    print(hist.summary(seq), flush=True)


# ---- feed and import: histories for kprod and kcat ----

def cmd_feed(a):
    stopper = Stopper(a.count, None, a.stop_file)
    out = sys.stdout.buffer
    start = time.monotonic()
    seq = 0
    try:
        while not stopper.done(seq):
            wait_due(start, a.rate, seq)
            # Whatever is due now, in one write.
            due = seq + 1
            if a.rate > 0:
                due = max(due, int((time.monotonic() - start) * a.rate))
            if a.count is not None:
                due = min(due, a.count)
            chunk = b"".join(value_of(a.writer, s, a.size) + b"\n"
                             for s in range(seq, due))
            out.write(chunk)
            out.flush()
            seq = due
    except BrokenPipeError:
        pass
    if a.sent_file:
        with open(a.sent_file + ".tmp", "w") as f:
            f.write("%d\n" % seq)
        os.replace(a.sent_file + ".tmp", a.sent_file)
    try:
        out.close()
    except BrokenPipeError:
        pass
    os._exit(0)


def cmd_import(a):
    placed = {}
    if a.placed:
        for line in open(a.placed):
            f = line.split()
            if len(f) == 3:
                # kprod's %l counts input lines from 1.
                placed[int(f[0]) - 1] = (int(f[1]), int(f[2]))
    out = sys.stdout
    for seq in range(a.sent):
        rec = {"w": a.writer, "s": seq, "p": a.partition}
        if seq in placed:
            rec.update(p=placed[seq][0], r="ok", o=placed[seq][1])
        elif a.all_acked:
            rec["r"] = "ok"
        else:
            rec.update(r="info", e="_NOT_ACKNOWLEDGED")
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")


# ---- read: the final log through a real client ----

def cmd_read(a):
    """Every record from the log start to the end offsets at the start
    (the high watermark), as "PARTITION OFFSET VALUE" lines sorted by
    partition and offset."""
    out = []
    if a.client == "confluent":
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": a.brokers, "group.id": "kchaos",
                      "enable.auto.commit": False, "log_level": 0,
                      "auto.offset.reset": "earliest"})
        md = c.list_topics(a.topic, timeout=15)
        parts = sorted(md.topics[a.topic].partitions)
        ends = {}
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(a.topic, p),
                                             timeout=15)
            if hi > lo:
                ends[p] = hi
        c.assign([TopicPartition(a.topic, p, 0) for p in ends])
        done = set()
        deadline = time.monotonic() + 120
        while len(done) < len(ends) and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            p = m.partition()
            if m.offset() < ends[p]:
                out.append((p, m.offset(), m.value().decode()))
            if m.offset() + 1 >= ends[p]:
                done.add(p)
        c.close()
        if len(done) < len(ends):
            die("read: partitions %s not read to their end in 120 s"
                % sorted(set(ends) - done), 1)
    else:
        from kafka import KafkaConsumer, TopicPartition as KTP
        c = KafkaConsumer(bootstrap_servers=a.brokers.split(","),
                          enable_auto_commit=False, group_id=None,
                          auto_offset_reset="earliest",
                          consumer_timeout_ms=15000)
        parts = sorted(c.partitions_for_topic(a.topic))
        tps = [KTP(a.topic, p) for p in parts]
        ends = c.end_offsets(tps)
        c.assign(tps)
        c.seek_to_beginning()
        want = {tp.partition: e for tp, e in ends.items()}
        for m in c:
            if m.offset < want[m.partition]:
                out.append((m.partition, m.offset, m.value.decode()))
            if all(c.position(tp) >= want[tp.partition] for tp in tps):
                break
        c.close()
    out.sort()
    sys.stdout.write("".join("%d %d %s\n" % r for r in out))


# ---- leader: a partition's leader through a real client's Metadata ----

def cmd_leader(a):
    """Print the leader's broker id of TOPIC/PARTITION as the client's
    Metadata request learns it (-1 when it has none)."""
    if a.client == "confluent":
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": a.brokers,
                          "log_level": 0}).list_topics(a.topic, timeout=15)
        print(md.topics[a.topic].partitions[a.partition].leader)
    else:
        from kafka import KafkaConsumer, TopicPartition as KTP
        c = KafkaConsumer(bootstrap_servers=a.brokers.split(","),
                          group_id=None, enable_auto_commit=False)
        c.topics()                      # one Metadata request
        # kafka-python keeps its metadata in the client's ClusterMetadata.
        leader = c._client.cluster.leader_for_partition(
            KTP(a.topic, a.partition))
        print(-1 if leader is None else leader)
        c.close()


# ---- check ----

def load_histories(paths):
    """{(writer, seq): record}; a record reported twice is a bug."""
    out = {}
    for path in paths:
        for n, line in enumerate(open(path), 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                die("%s:%d: not JSON: %r" % (path, n, line[:80]))
            key = (rec["w"], rec["s"])
            if key in out:
                die("%s:%d: record %s:%d has two outcomes"
                    % (path, n, key[0], key[1]), 1)
            out[key] = rec
    return out


def load_log(path):
    """[(partition, offset, (writer, seq) or None)] in file order."""
    out = []
    for n, line in enumerate(open(path), 1):
        f = line.rstrip("\n").split(" ", 2)
        if len(f) != 3:
            die("%s:%d: expected 'PARTITION OFFSET VALUE'" % (path, n))
        out.append((int(f[0]), int(f[1]), parse_value(f[2])))
    return out


class Report:
    def __init__(self):
        self.counts = {}
        self.shown = {}

    def bad(self, kind, msg):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.shown.get(kind, 0) < 10:
            self.shown[kind] = self.shown.get(kind, 0) + 1
            print("check: %s: %s" % (kind, msg), file=sys.stderr)

    def n(self, kind):
        return self.counts.get(kind, 0)


def cmd_check(a):
    hist = load_histories(a.history)
    log = load_log(a.log)
    dups_ok = set(filter(None, (a.dups_ok or "").split(",")))
    lossy = set(filter(None, (a.lossy or "").split(",")))
    rep = Report()

    where = {}                          # (w, s) -> [(p, o)]
    foreign = 0
    last = {}                           # (w, p) -> (seq, offset)
    prev_off = {}
    for p, o, key in log:
        if o <= prev_off.get(p, -1):
            rep.bad("nonmonotonic-offsets", "partition %d: offset %d after %d"
                    % (p, o, prev_off[p]))
        prev_off[p] = o
        if key is None:
            foreign += 1
            continue
        where.setdefault(key, []).append((p, o))
        if len(where[key]) > 1:
            continue                    # a duplicate, counted below
        w = key[0]
        if (w, p) in last and key[1] < last[(w, p)][0]:
            rep.bad("out-of-order", "partition %d offset %d: %s:%d after "
                    "%s:%d at offset %d" % (p, o, w, key[1], w,
                                            last[(w, p)][0], last[(w, p)][1]))
        if (w, p) not in last or key[1] > last[(w, p)][0]:
            last[(w, p)] = (key[1], o)

    dups = dups_allowed = 0
    for key, places in where.items():
        if len(places) > 1:
            if key[0] in dups_ok:
                dups_allowed += len(places) - 1
            else:
                dups += len(places) - 1
                rep.bad("duplicate", "%s:%d at %s" % (key[0], key[1], places))

    acked = lossy_acked = lossy_lost = indet = indet_visible = 0
    unknown = sum(1 for k in where if k not in hist)
    for key, rec in hist.items():
        places = where.get(key)
        r = rec["r"]
        if r == "ok":
            if key[0] in lossy:
                lossy_acked += 1
                if not places:
                    lossy_lost += 1
                continue
            acked += 1
            if not places:
                rep.bad("lost", "%s:%d acknowledged at partition %s offset %s"
                        % (key[0], key[1], rec.get("p"), rec.get("o")))
            elif "o" in rec and (rec["p"], rec["o"]) not in places:
                rep.bad("inconsistent-offsets", "%s:%d acknowledged at %d/%d, "
                        "found at %s" % (key[0], key[1], rec["p"], rec["o"],
                                         places))
        elif r == "fail":
            if places:
                rep.bad("failed-visible", "%s:%d failed with %s, found at %s"
                        % (key[0], key[1], rec.get("e"), places))
        else:
            indet += 1
            if places:
                indet_visible += 1

    line = ("acked %d lost %d duplicates %d out_of_order %d "
            "inconsistent_offsets %d failed_visible %d indeterminate %d "
            "visible %d read %d foreign %d unknown %d"
            % (acked, rep.n("lost"), dups, rep.n("out-of-order"),
               rep.n("inconsistent-offsets"), rep.n("failed-visible"),
               indet, indet_visible, len(log), foreign, unknown))
    if dups_ok:
        line += " duplicates_allowed %d" % dups_allowed
    if lossy:
        line += " lossy_acked %d lossy_lost %d" % (lossy_acked, lossy_lost)
    print(line)
    failed = (rep.n("lost") + dups + rep.n("out-of-order") +
              rep.n("inconsistent-offsets") + rep.n("failed-visible") +
              rep.n("nonmonotonic-offsets"))
    sys.exit(1 if failed else 0)


# ---- timeline ----

def pct(values, q):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def cmd_timeline(a):
    faults = [json.loads(x) for x in open(a.nemesis) if x.strip()]
    kinds = set(a.faults.split(","))
    faults = [f for f in faults if f["f"] in kinds]
    recs = []
    for path in a.history:
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                if "t" in r:            # imported histories have no times
                    recs.append(r)
    recs.sort(key=lambda r: r["t"])
    rows = []
    for i, f in enumerate(faults):
        part = f.get("partition", a.partition)
        if part is None:
            continue
        t0 = f["t"]
        t1 = faults[i + 1]["t"] if i + 1 < len(faults) else float("inf")
        oks = [r for r in recs if r["r"] == "ok" and r.get("p") == part]
        before = [r["t"] for r in oks if r["t"] <= t0]
        after = [r["t"] for r in oks if t0 < r["t"] <= t1]
        # Unavailability: until the first record sent after the fault is
        # acknowledged (acknowledgements of earlier sends may still be
        # arriving from the old leader just after it).
        sent_after = [r["t"] for r in oks
                      if r.get("ts") is not None and t0 < r["ts"] and
                      r["t"] <= t1]
        first = min(sent_after) - t0 if sent_after else None
        gap = None
        if after:
            points = ([before[-1]] if before else [t0]) + after
            gap = max(y - x for x, y in zip(points, points[1:]))
        errs = {}
        for r in recs:
            if r["r"] != "ok" and r.get("p") == part and t0 <= r["t"] <= t1:
                errs[r.get("e")] = errs.get(r.get("e"), 0) + 1
        rows.append({"fault": f["f"], "broker": f["broker"], "partition": part,
                     "unavailable_ms": first, "max_gap_ms": gap,
                     "errors": errs})
    if a.json:
        print(json.dumps(rows))
        return
    for n, r in enumerate(rows, 1):
        errs = " ".join("%s:%d" % kv for kv in sorted(r["errors"].items()))
        print("fault %d %s broker %d partition %d: writes acknowledged "
              "again after %s ms, longest gap %s ms, errors %d%s"
              % (n, r["fault"], r["broker"], r["partition"],
                 r["unavailable_ms"], r["max_gap_ms"],
                 sum(r["errors"].values()), " (%s)" % errs if errs else ""))
    firsts = [r["unavailable_ms"] for r in rows
              if r["unavailable_ms"] is not None]
    gaps = [r["max_gap_ms"] for r in rows if r["max_gap_ms"] is not None]
    print("faults %d recovered %d unavailable_ms p50 %s max %s "
          "max_gap_ms p50 %s max %s errors %d"
          % (len(rows), len(firsts), pct(firsts, 0.5),
             max(firsts) if firsts else None, pct(gaps, 0.5),
             max(gaps) if gaps else None,
             sum(sum(r["errors"].values()) for r in rows)))


# ---- main ----

def main():
    ap = argparse.ArgumentParser(prog="kchaos.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("produce")
    p.add_argument("brokers")
    p.add_argument("topic")
    p.add_argument("history")
    p.add_argument("--writer", default="c")
    p.add_argument("--client", choices=("confluent", "kafka-python"),
                   default="confluent")
    p.add_argument("--acks", default="all")
    p.add_argument("--retries", type=int, default=0)
    p.add_argument("--partition", type=int)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--count", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--stop-file")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--timeout-ms", type=int, default=30000)
    p.add_argument("--drain-s", type=float, default=15)
    p.set_defaults(fn=cmd_produce)

    r = sub.add_parser("read")
    r.add_argument("brokers")
    r.add_argument("topic")
    r.add_argument("--client", choices=("confluent", "kafka-python"),
                   default="confluent")
    r.set_defaults(fn=cmd_read)

    z = sub.add_parser("zombie")
    z.add_argument("addr")
    z.add_argument("topic")
    z.add_argument("partition", type=int)
    z.add_argument("history")
    z.add_argument("--writer", default="z")
    z.add_argument("--interval-ms", type=int, default=20)
    z.add_argument("--max-outstanding", type=int, default=500)
    z.add_argument("--request-timeout-ms", type=int, default=30000)
    z.add_argument("--stop-file")
    z.add_argument("--drain-s", type=float, default=40)
    z.add_argument("--size", type=int, default=100)
    z.set_defaults(fn=cmd_zombie)

    f = sub.add_parser("feed")
    f.add_argument("writer")
    f.add_argument("--rate", type=float, default=1000)
    f.add_argument("--count", type=int)
    f.add_argument("--size", type=int, default=100)
    f.add_argument("--stop-file")
    f.add_argument("--sent-file")
    f.set_defaults(fn=cmd_feed)

    i = sub.add_parser("import")
    i.add_argument("writer")
    i.add_argument("sent", type=int)
    i.add_argument("--placed")
    i.add_argument("--all-acked", action="store_true")
    i.add_argument("--partition", type=int)
    i.set_defaults(fn=cmd_import)

    ld = sub.add_parser("leader")
    ld.add_argument("brokers")
    ld.add_argument("topic")
    ld.add_argument("partition", type=int)
    ld.add_argument("--client", choices=("confluent", "kafka-python"),
                    default="confluent")
    ld.set_defaults(fn=cmd_leader)

    c = sub.add_parser("check")
    c.add_argument("--log", required=True)
    c.add_argument("--dups-ok")
    c.add_argument("--lossy")
    c.add_argument("history", nargs="+")
    c.set_defaults(fn=cmd_check)

    t = sub.add_parser("timeline")
    t.add_argument("--nemesis", required=True)
    t.add_argument("--faults", default="kill,kill-logd,term,pause")
    t.add_argument("--partition", type=int)
    t.add_argument("--json", action="store_true")
    t.add_argument("history", nargs="+")
    t.set_defaults(fn=cmd_timeline)

    a = ap.parse_args()
    for name in ("writer",):
        w = getattr(a, name, None)
        if w is not None and not re.match(r"^[A-Za-z0-9_]+$", w):
            die("a writer name is letters, digits and '_': %r" % w, 64)
    a.fn(a)


if __name__ == "__main__":
    main()
