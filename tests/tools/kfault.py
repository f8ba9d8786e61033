# SPDX-License-Identifier: MIT
"""kfault: hostile and timing-sensitive clients for the logd fault tests.

Run with Debian's /usr/bin/python3. Every command prints "client
HOST:PORT" for the connection under test (so a test can find logd's log
line about it), then what it observed; it exits 0 when logd behaved as
expected and 1 (with the reason on stderr) when not.

  kfault.py bad ADDR TOPIC CASE [ARG]
      Send one malformed request (CASE below) while a well-behaved
      "canary" connection produces to and fetches from topic "canary"
      before and after it; TOPIC's log end must not move.
  kfault.py canary ADDR TOPIC
      One produce + fetch round trip.
  kfault.py longpoll ADDR TOPIC MAX_WAIT_MS DELAY_MS
      Park a Fetch at the log end, produce one record DELAY_MS later on
      another connection; print "latency_ms L total_ms T".
  kfault.py park ADDR TOPIC MAX_WAIT_MS
      Park a Fetch at the log end; print "parked" once sent, then
      "answered_ms T error E records N" (or "closed_ms T").
  kfault.py idle ADDR TIMEOUT_S
      Open a connection, send nothing; print "closed_after_s S".
  kfault.py maxconn ADDR
      Two connections work; a third is closed by logd at once; the first
      two still work afterwards.

Cases of "bad": random [N] (N seeded random blobs), size PREFIX (a bare
size prefix, e.g. 0x80000000, -1, max+1: logd must close at once),
size-exact MAX (a Produce frame of exactly MAX bytes must work),
truncated-frame (the client hangs up mid-frame), unknown-api [KEY],
fetch-v0, metadata-v12 (closed without an answer), bad-crc,
bad-crc-second, truncated-batch (CORRUPT_MESSAGE, connection kept),
records-overflow (Produce v3 records longer than the frame: closed),
api-versions-v3 (error 35 in the v0 layout, then v0 on the same socket).
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402

CORRUPT_MESSAGE = 2
CANARY = "canary"
UNSUPPORTED_VERSION = 35


def die(msg):
    print("kfault: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        die(msg)


def canary_round(c, topic, tag):
    """Produce one record and read it back on the canary connection."""
    value = ("canary-%s-%d" % (tag, time.monotonic_ns())).encode()
    err, base = c.produce(topic, 0, kwire.record_batch([value]))
    expect(err == 0, "canary produce failed with error %d" % err)
    err, _hw, recs = c.fetch(topic, 0, base, max_wait_ms=0, min_bytes=0)
    expect(err == 0, "canary fetch failed with error %d" % err)
    expect(recs and recs[0] == (base, value),
           "canary read %r at offset %d" % (recs[:1], base))
    return base


def log_end(c, topic):
    err, hw, _ = c.fetch(topic, 0, 0, max_wait_ms=0, min_bytes=0,
                         max_bytes=1)
    expect(err == 0, "fetch for the log end: error %d" % err)
    return hw


def expect_closed(c, what, timeout=5.0, half_close=False):
    """logd must close the connection without answering."""
    if half_close:
        c.sock.shutdown(socket.SHUT_WR)
    secs, got = c.wait_closed(timeout)
    expect(secs is not None, "%s: connection still open after %.0f s"
           % (what, timeout))
    expect(got == b"", "%s: got %d unexpected response bytes"
           % (what, len(got)))
    print("closed_after_ms %d" % (secs * 1000))


def client(c):
    print("client %s" % c.local(), flush=True)


# ---- the malformed requests ----

def bad_random(addr, topic, arg):
    """Seeded random blobs, half with a size prefix that matches their
    length so the header parser sees random fields."""
    seeds = int(arg or 40)
    by_logd = 0
    for seed in range(seeds):
        rnd = random.Random(seed)
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
        if seed % 2:
            body = struct.pack(">i", len(body)) + body
        c = kwire.Conn(addr)
        c.send_raw(body)
        secs, _got = c.wait_closed(0.3)
        if secs is not None:
            by_logd += 1
        else:
            # A plausible size prefix leaves logd waiting for the rest.
            c.sock.shutdown(socket.SHUT_WR)
            secs, _got = c.wait_closed(5.0)
            expect(secs is not None, "random blob %d: connection still open "
                   "after the client hung up" % seed)
        c.close()
    print("random_blobs %d closed_by_logd %d" % (seeds, by_logd))


def bad_size(addr, topic, arg):
    size = int(arg, 0)
    c = kwire.Conn(addr)
    client(c)
    c.send_raw(struct.pack(">I", size & 0xFFFFFFFF) + b"\0" * 16)
    expect_closed(c, "size prefix %s" % arg, timeout=3.0)


def bad_size_exact(addr, topic, arg):
    """A Produce frame of exactly ARG bytes (the largest allowed) works."""
    want = int(arg, 0)
    c = kwire.Conn(addr)
    client(c)
    pad = want - 200
    for _ in range(8):
        batch = kwire.record_batch([b"x" * pad])
        frame = (c.header(kwire.API_PRODUCE, 3) +
                 c.produce_body(topic, 0, batch))
        c.corr -= 1
        if len(frame) == want:
            break
        pad += want - len(frame)
    expect(len(frame) == want, "cannot build a %d-byte frame" % want)
    corr = c.send(kwire.API_PRODUCE, 3, c.produce_body(topic, 0, batch))
    err, base = c.read_produce(corr)
    print("frame_bytes %d produce_error %d base_offset %d"
          % (want, err, base))
    expect(err == 0, "produce of a %d-byte frame: error %d" % (want, err))


def bad_truncated(addr, topic, arg):
    """Announce 100 bytes, send a valid header and 20 bytes, hang up."""
    c = kwire.Conn(addr)
    client(c)
    frame = c.header(kwire.API_METADATA, 1) + b"\0" * 20
    c.send_raw(struct.pack(">i", 100) + frame)
    time.sleep(0.1)
    c.close()
    print("sent %d of 104 bytes, then closed" % (4 + len(frame)))


def bad_unknown_api(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    corr = c.send(int(arg or 999), 0, b"\0" * 8)
    print("correlation_id %d" % corr)
    expect_closed(c, "unknown API key")


def bad_fetch_v0(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    body = (struct.pack(">iii", -1, 100, 1) + struct.pack(">i", 1) +
            kwire.kstr(topic) + struct.pack(">i", 1) +
            struct.pack(">iqi", 0, 0, 1024))
    corr = c.send(kwire.API_FETCH, 0, body)
    print("correlation_id %d" % corr)
    expect_closed(c, "Fetch v0")


def bad_metadata_v12(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    # Flexible layout: compact array of topics (null = 0), then flags and
    # tagged fields.
    corr = c.send(kwire.API_METADATA, 12, b"\x00\x01\x00\x00", flexible=True)
    print("correlation_id %d" % corr)
    expect_closed(c, "Metadata v12")


def produce_expect_error(c, topic, records, want):
    err, base = c.produce(topic, 0, records)
    print("produce_error %d base_offset %d" % (err, base))
    expect(err == want, "produce answered error %d, expected %d"
           % (err, want))
    # The connection stays usable.
    verr, apis, _ = c.api_versions(0)
    expect(verr == 0 and kwire.API_PRODUCE in apis,
           "ApiVersions after the rejected produce failed")


def bad_crc(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    batch = bytearray(kwire.record_batch([b"bad-crc-%d" % i
                                          for i in range(5)]))
    batch[17] ^= 0x01                           # inside the CRC field
    produce_expect_error(c, topic, bytes(batch), CORRUPT_MESSAGE)


def bad_crc_second(addr, topic, arg):
    """A good batch followed by one with a bad CRC: neither is written."""
    c = kwire.Conn(addr)
    client(c)
    good = kwire.record_batch([b"good-%d" % i for i in range(3)])
    bad = bytearray(kwire.record_batch([b"bad-%d" % i for i in range(3)]))
    bad[-1] ^= 0x01                             # last byte of the last value
    produce_expect_error(c, topic, good + bytes(bad), CORRUPT_MESSAGE)


def bad_truncated_batch(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    batch = kwire.record_batch([b"truncated-%d" % i for i in range(5)])
    produce_expect_error(c, topic, batch[:len(batch) - 10], CORRUPT_MESSAGE)


def bad_records_overflow(addr, topic, arg):
    """Produce v3 whose records length runs past the end of the frame."""
    c = kwire.Conn(addr)
    client(c)
    batch = kwire.record_batch([b"overflow"])
    body = c.produce_body(topic, 0, batch)
    # Rewrite the records length (the last int32 before the batch).
    at = len(body) - len(batch) - 4
    body = body[:at] + struct.pack(">i", len(batch) + 1000) + batch
    corr = c.send(kwire.API_PRODUCE, 3, body)
    print("correlation_id %d" % corr)
    expect_closed(c, "records past the frame")


def bad_api_versions_v3(addr, topic, arg):
    c = kwire.Conn(addr)
    client(c)
    # Header v2 and a flexible body: compact strings name and version
    # (length + 1), then an empty tagged-field section.
    body = b"\x06kwire" + b"\x041.0" + b"\x00"
    corr = c.send(kwire.API_API_VERSIONS, 3, body, flexible=True)
    r = c.recv(corr)
    err = r.i16()
    apis = {}
    for _ in range(r.i32()):
        k, lo, hi = r.take(">hhh")
        apis[k] = (lo, hi)
    print("v3_error %d apis %s trailing %d" % (err, apis, r.left()))
    expect(err == UNSUPPORTED_VERSION, "ApiVersions v3: error %d, expected 35"
           % err)
    expect(apis.get(kwire.API_API_VERSIONS) == (0, 2),
           "ApiVersions v3: ApiVersions range %s, expected (0, 2)"
           % (apis.get(kwire.API_API_VERSIONS),))
    expect(r.left() == 0, "ApiVersions v3: %d bytes after the v0 layout"
           % r.left())
    err, apis, r = c.api_versions(0)
    print("v0_error %d apis %d" % (err, len(apis)))
    expect(err == 0, "ApiVersions v0 after v3: error %d" % err)
    for k in (kwire.API_PRODUCE, kwire.API_FETCH, kwire.API_METADATA,
              kwire.API_API_VERSIONS):
        expect(k in apis, "ApiVersions v0 after v3: API %d missing" % k)


BAD = {
    "random": bad_random,
    "size": bad_size,
    "size-exact": bad_size_exact,
    "truncated-frame": bad_truncated,
    "unknown-api": bad_unknown_api,
    "fetch-v0": bad_fetch_v0,
    "metadata-v12": bad_metadata_v12,
    "bad-crc": bad_crc,
    "bad-crc-second": bad_crc_second,
    "truncated-batch": bad_truncated_batch,
    "records-overflow": bad_records_overflow,
    "api-versions-v3": bad_api_versions_v3,
}


def cmd_bad(addr, topic, case, arg=None):
    if case not in BAD:
        die("unknown case %s" % case)
    canary = kwire.Conn(addr, client_id="canary")
    canary.metadata([CANARY])                   # auto-creates it
    canary_round(canary, CANARY, "before")
    end = log_end(canary, topic)
    BAD[case](addr, topic, arg)
    canary_round(canary, CANARY, "after")
    # Nothing of the malformed request was appended.
    after = log_end(canary, topic)
    if case != "size-exact":
        expect(after == end, "log end of %s moved from %d to %d"
               % (topic, end, after))
    canary.close()
    print("canary ok")


def cmd_canary(addr, topic):
    c = kwire.Conn(addr, client_id="canary")
    print("offset %d" % canary_round(c, topic, "solo"))


def cmd_longpoll(addr, topic, max_wait_ms, delay_ms):
    c = kwire.Conn(addr, timeout=int(max_wait_ms) / 1000 + 10)
    client(c)
    end = log_end(c, topic)
    t0 = time.monotonic()
    corr = c.fetch_send(topic, 0, end, max_wait_ms=int(max_wait_ms),
                        min_bytes=1)
    time.sleep(int(delay_ms) / 1000)
    p = kwire.Conn(addr, client_id="producer")
    tp = time.monotonic()
    err, base = p.produce(topic, 0, kwire.record_batch([b"wake-up"]))
    expect(err == 0, "produce: error %d" % err)
    err, _hw, recs = c.fetch_recv(corr)
    t1 = time.monotonic()
    expect(err == 0, "fetch: error %d" % err)
    expect(recs[:1] == [(base, b"wake-up")], "fetch returned %r" % recs[:1])
    print("latency_ms %d total_ms %d" % ((t1 - tp) * 1000, (t1 - t0) * 1000))


def cmd_park(addr, topic, max_wait_ms):
    c = kwire.Conn(addr, timeout=int(max_wait_ms) / 1000 + 30)
    client(c)
    end = log_end(c, topic)
    t0 = time.monotonic()
    corr = c.fetch_send(topic, 0, end, max_wait_ms=int(max_wait_ms),
                        min_bytes=1)
    print("parked", flush=True)
    try:
        err, _hw, recs = c.fetch_recv(corr)
    except (EOFError, ConnectionResetError):
        print("closed_ms %d" % ((time.monotonic() - t0) * 1000))
        sys.exit(1)
    print("answered_ms %d error %d records %d"
          % ((time.monotonic() - t0) * 1000, err, len(recs)))


def cmd_idle(addr, timeout):
    c = kwire.Conn(addr)
    client(c)
    secs, got = c.wait_closed(float(timeout))
    expect(secs is not None, "idle connection still open after %s s"
           % timeout)
    expect(got == b"", "idle connection received %d bytes" % len(got))
    print("closed_after_s %.2f" % secs)


def cmd_maxconn(addr):
    a = kwire.Conn(addr)
    b = kwire.Conn(addr)
    for conn in (a, b):
        expect(conn.api_versions(0)[0] == 0, "ApiVersions on an allowed "
               "connection failed")
    c = kwire.Conn(addr)
    client(c)
    secs, got = c.wait_closed(3.0)
    expect(secs is not None, "third connection still open")
    expect(got == b"", "third connection received %d bytes" % len(got))
    print("third_closed_after_ms %d" % (secs * 1000))
    for conn in (a, b):
        expect(conn.api_versions(1)[0] == 0, "an allowed connection stopped "
               "working")
    print("first two ok")


def main(argv):
    if len(argv) < 2:
        die("usage: see the module docstring")
    cmd, args = argv[1], argv[2:]
    fn = {"bad": cmd_bad, "canary": cmd_canary, "longpoll": cmd_longpoll,
          "park": cmd_park, "idle": cmd_idle, "maxconn": cmd_maxconn}.get(cmd)
    if fn is None:
        die("unknown command %s" % cmd)
    try:
        fn(*args)
    except (EOFError, OSError, ValueError, AssertionError,
            struct.error) as e:
        die("%s: %s: %s" % (cmd, type(e).__name__, e))


if __name__ == "__main__":
    main(sys.argv)
