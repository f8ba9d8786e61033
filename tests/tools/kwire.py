# SPDX-License-Identifier: MIT
"""kwire: a tiny Kafka wire-protocol client for tests (no dependencies).

Just enough of the protocol to send well-formed and deliberately broken
requests to logd and read its answers: frames, request headers v1/v2,
record batches v2 with CRC-32C, ApiVersions, Metadata, Produce v3 and
Fetch v4. Imported by kfault.py; run with Debian's /usr/bin/python3.
"""
import socket
import struct
import time

API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA = 0, 1, 2, 3
API_API_VERSIONS = 18

# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as record batches use.
_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    """A zigzag varint, as records use for lengths and deltas."""
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


def read_varint(buf, pos):
    shift = z = 0
    while True:
        b = buf[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return (z >> 1) ^ -(z & 1), pos


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    if isinstance(s, str):
        s = s.encode()
    return struct.pack(">h", len(s)) + s


def kbytes(b):
    if b is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(b)) + b


def record_batch(values, timestamp=None, key=None):
    """One uncompressed v2 batch of `values` (bytes), base offset 0."""
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    recs = bytearray()
    for i, v in enumerate(values):
        body = (b"\x00" + varint(0) + varint(i) +
                (varint(-1) if key is None else varint(len(key)) + key) +
                varint(len(v)) + v + varint(0))
        recs += varint(len(body)) + body
    after_crc = (struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, -1, -1,
                             -1, len(values)) + bytes(recs))
    crc = crc32c(after_crc)
    after_len = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def parse_batches(data):
    """Records of a run of v2 batches: [(offset, value bytes)]."""
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base, blen = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + blen
        if end > len(data):
            break
        attrs = struct.unpack_from(">h", data, pos + 21)[0]
        count = struct.unpack_from(">i", data, pos + 57)[0]
        if attrs & 0x07:
            raise ValueError("compressed batch at offset %d" % base)
        p = pos + 61
        for _ in range(count):
            length, p = read_varint(data, p)
            rend = p + length
            p += 1                              # attributes
            _, p = read_varint(data, p)         # timestamp delta
            odelta, p = read_varint(data, p)
            klen, p = read_varint(data, p)
            if klen > 0:
                p += klen
            vlen, p = read_varint(data, p)
            value = None if vlen < 0 else bytes(data[p:p + vlen])
            out.append((base + odelta, value))
            p = rend
        pos = end
    return out


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def i8(self):
        return self.take(">b")

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def left(self):
        return len(self.d) - self.p


class Conn:
    """One TCP connection; requests numbered by correlation id."""

    def __init__(self, addr, timeout=10.0, client_id="kwire"):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_id = client_id
        self.corr = 0

    def local(self):
        host, port = self.sock.getsockname()[:2]
        return "%s:%d" % (host, port)

    def close(self):
        self.sock.close()

    def header(self, api, version, flexible=False):
        self.corr += 1
        h = struct.pack(">hhi", api, version, self.corr) + kstr(self.client_id)
        if flexible:
            h += b"\x00"                        # no tagged fields
        return h

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, api, version, body, flexible=False):
        frame = self.header(api, version, flexible) + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        return self.corr

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes"
                               % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv(self, corr):
        """The next response body; checks the correlation id."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        data = self.recv_exact(size)
        got = struct.unpack_from(">i", data)[0]
        if got != corr:
            raise ValueError("correlation id %d, expected %d" % (got, corr))
        return Reader(data[4:])

    def wait_closed(self, timeout):
        """Seconds until the peer closed (EOF or reset), or None on timeout.
        Bytes that arrive first are returned too: (seconds, bytes)."""
        start = time.monotonic()
        got = bytearray()
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                got += chunk
                if time.monotonic() - start > timeout:
                    return None, bytes(got)
        except socket.timeout:
            return None, bytes(got)
        except ConnectionResetError:
            pass
        return time.monotonic() - start, bytes(got)

    # ---- requests ----

    def api_versions(self, version=0):
        corr = self.send(API_API_VERSIONS, version, b"")
        r = self.recv(corr)
        err = r.i16()
        apis = {}
        for _ in range(r.i32()):
            k, lo, hi = r.take(">hhh")
            apis[k] = (lo, hi)
        return err, apis, r

    def metadata(self, topics, version=4, auto_create=True):
        body = struct.pack(">i", len(topics)) + b"".join(kstr(t) for t in topics)
        if version >= 4:
            body += struct.pack(">?", auto_create)
        corr = self.send(API_METADATA, version, body)
        r = self.recv(corr)
        if version >= 3:
            r.i32()
        brokers = []
        for _ in range(r.i32()):
            node, host, port = r.i32(), r.string(), r.i32()
            if version >= 1:
                r.string()
            brokers.append((node, host, port))
        if version >= 2:
            r.string()
        if version >= 1:
            r.i32()
        topics_out = {}
        for _ in range(r.i32()):
            err, name = r.i16(), r.string()
            if version >= 1:
                r.i8()
            parts = {}
            for _ in range(r.i32()):
                perr, idx = r.i16(), r.i32()
                r.i32()                         # leader
                for _ in range(r.i32()):
                    r.i32()
                for _ in range(r.i32()):
                    r.i32()
                if version >= 5:
                    for _ in range(r.i32()):
                        r.i32()
                parts[idx] = perr
            topics_out[name] = (err, parts)
        return topics_out

    def produce_body(self, topic, partition, records, acks=1, timeout_ms=5000):
        return (kstr(None) + struct.pack(">hi", acks, timeout_ms) +
                struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1) +
                struct.pack(">i", partition) + kbytes(records))

    def produce(self, topic, partition, records, acks=1):
        """Produce v3; returns (error code, base offset)."""
        corr = self.send(API_PRODUCE, 3,
                         self.produce_body(topic, partition, records, acks))
        return self.read_produce(corr)

    def read_produce(self, corr):
        r = self.recv(corr)
        assert r.i32() == 1
        r.string()
        assert r.i32() == 1
        r.i32()                                 # partition
        err, base = r.i16(), r.i64()
        r.i64()                                 # log_append_time
        return err, base

    def fetch_send(self, topic, partition, offset, max_wait_ms=500,
                   min_bytes=1, max_bytes=1 << 20):
        body = (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0) +
                struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1) +
                struct.pack(">iqi", partition, offset, max_bytes))
        return self.send(API_FETCH, 4, body)

    def fetch_recv(self, corr):
        """Fetch v4 answer for one partition: (error, high watermark,
        [(offset, value)])."""
        r = self.recv(corr)
        r.i32()                                 # throttle
        assert r.i32() == 1
        r.string()
        assert r.i32() == 1
        r.i32()                                 # partition
        err, hw = r.i16(), r.i64()
        r.i64()                                 # last stable offset
        naborted = r.i32()
        for _ in range(max(naborted, 0)):
            r.i64()
            r.i64()
        recs = r.bytes_() or b""
        return err, hw, parse_batches(recs)

    def fetch(self, topic, partition, offset, **kw):
        return self.fetch_recv(self.fetch_send(topic, partition, offset, **kw))
