#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kprod against a real logd: records back in order (read with kcat -C, or
# byte for byte with kdump-segment on logd's data directory), key
# placement against the Java partitioner, delimiters, keys, headers and
# nulls, the JSON envelope with binary data, every codec on disk, each
# exit status, signals, a broker killed or restarted mid-run, acks, and
# idempotence through a TCP proxy that drops a Produce response.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	KP=$BIN_DIR/kprod
	KD=$BIN_DIR/kdump-segment
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	[ -n "${GEN_PID:-}" ] && kill "$GEN_PID" 2>/dev/null
	kill_daemons
}

# consume TOPIC [KCAT ARGS...]: every record of TOPIC, read with kcat.
consume() {
	local t=$1
	shift
	kcat -C -b "$LOGD_ADDR" -t "$t" -o beginning -e -q "$@"
}

# count TOPIC: how many records TOPIC holds.
count() {
	consume "$1" -f 'x\n' | wc -l
}

# records TOPIC: TOPIC's records in the klog envelope, from the segment
# files of every partition (exact bytes, timestamps and headers).
records() {
	local d
	for d in "$LOGD_DIR/$1"-[0-9]*; do
		"$KD" -jR "$d"
	done
}

# summary_count: the record count of kprod's -v summary in $stderr.
summary_count() {
	sed -n 's/.*info: \([0-9]*\) records (.*delivered.*/\1/p' <<<"$stderr"
}

@test "seq 1 100000: every record comes back, in order, exit 0" {
	start_logd b
	run -0 --separate-stderr bash -c "seq 1 100000 | '$KP' -b $LOGD_ADDR -t seq"
	[ -z "$output" ]
	[ -z "$stderr" ]
	consume seq >got.txt
	seq 1 100000 | diff -u - got.txt
}

@test "a pipe on stdin is widened to 1 MiB so a fast writer can run ahead" {
	start_logd b
	# The writer watches its end of the pipe (F_GETPIPE_SZ = 1032) until
	# kprod has widened it, then writes one record and reports the size.
	cat >writer.py <<'PY'
import fcntl, sys, time
deadline = time.time() + 10
while fcntl.fcntl(1, 1032) < 1 << 20 and time.time() < deadline:
    time.sleep(0.01)
print(fcntl.fcntl(1, 1032), file=sys.stderr)
print("one")
PY
	run -0 --separate-stderr bash -c "'$PY' writer.py | '$KP' -b $LOGD_ADDR -t wide"
	[ "$stderr" = 1048576 ]
	[ "$(consume wide)" = one ]
}

@test "-v prints a summary with the delivered count and rate" {
	start_logd b
	run -0 --separate-stderr bash -c "seq 1 5000 | '$KP' -v -b $LOGD_ADDR -t sum"
	[[ $stderr == *"kprod: info: 5000 records ("*" MB) delivered to 'sum' in "*" records/s"*"0 failed"* ]]
	[ "$(count sum)" -eq 5000 ]
}

@test "keyed records land in the partition the Java client picks (murmur2)" {
	start_logd b -o num.partitions=6
	# Kafka's UtilsTest.testMurmur2 vectors: the Java int each key hashes to
	declare -A want=(
		[21]=-973932308 [foobar]=-790332482 [abc]=479470107
		[a-little-bit-long-string]=-985981536
		[a-little-bit-longer-string]=-1486304829
		[lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8]=-58897971
	)
	for k in "${!want[@]}"; do echo "$k:v"; done >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t keyed -K : in.txt
	consume keyed -f '%k %p\n' >got.txt
	[ "$(wc -l <got.txt)" -eq 6 ]
	for k in "${!want[@]}"; do
		p=$(((want[$k] & 0x7fffffff) % 6))
		grep -qx "$k $p" got.txt || { echo "key $k: want partition $p"; cat got.txt; false; }
	done
}

@test "1000 keys match kafka-python's Java-compatible murmur2 partitioner" {
	start_logd b -o num.partitions=7
	seq 1 1000 | sed 's/^/order-/; s/$/\tpayload/' >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t many -K '\t' in.txt
	consume many -f '%k %p\n' >got.txt
	run -0 "$PY" -c '
import sys
from kafka.partitioner.default import murmur2
n = 0
for line in open(sys.argv[1]):
    k, p = line.split()
    want = (murmur2(k.encode()) & 0x7fffffff) % 7
    assert int(p) == want, (k, p, want)
    n += 1
assert n == 1000, n
' got.txt
}

@test "-P crc32 is librdkafka's consistent partitioner; -P roundrobin cycles" {
	start_logd b -o num.partitions=5
	seq 1 300 | sed 's/^/k/; s/$/:v/' >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t crc -K : -P crc32 in.txt
	consume crc -f '%k %p\n' >got.txt
	run -0 "$PY" -c '
import sys, zlib
n = 0
for line in open(sys.argv[1]):
    k, p = line.split()
    assert int(p) == zlib.crc32(k.encode()) % 5, (k, p)
    n += 1
assert n == 300
' got.txt
	seq 0 99 >rr.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t rr -P roundrobin rr.txt
	consume rr -f '%s %p\n' >got.txt
	[ "$(wc -l <got.txt)" -eq 100 ]
	# consecutive records go to consecutive partitions
	run -0 "$PY" -c '
import sys
rows = sorted((int(v), int(p)) for v, p in (l.split() for l in open(sys.argv[1])))
first = rows[0][1]
for v, p in rows:
    assert p == (first + v) % 5, (v, p)
' got.txt
}

@test "unkeyed records spread over partitions in sticky batches; -p pins one" {
	start_logd b -o num.partitions=4
	run -0 bash -c "seq 1 200000 | '$KP' -b $LOGD_ADDR -t sticky -X batch.size=16384"
	consume sticky -f '%p %s\n' >got.txt
	[ "$(wc -l <got.txt)" -eq 200000 ]
	[ "$(cut -d' ' -f1 got.txt | sort -u | wc -l)" -eq 4 ]
	# each partition holds its records in input order
	for p in 0 1 2 3; do
		awk -v p=$p '$1 == p { print $2 }' got.txt >part.txt
		sort -n part.txt | diff -q - part.txt
	done
	run -0 bash -c "seq 1 1000 | '$KP' -b $LOGD_ADDR -t pinned -p 2"
	consume pinned -f '%p\n' | sort | uniq -c >got.txt
	[ "$(cat got.txt | tr -s ' ')" = " 1000 2" ]
}

@test "-K splits key from value; no delimiter means a null key; -k fills in" {
	start_logd b
	printf 'k1::v1\nno key here\n::empty key\nk3::a::b\n' >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t kd -K '::' in.txt
	consume kd -f '%K|%k|%s\n' >got.txt
	printf '%s\n' '2|k1|v1' '-1||no key here' '0||empty key' '2|k3|a::b' |
	    diff -u - got.txt
	printf 'a:1\nb\n' | "$KP" -b "$LOGD_ADDR" -t kk -K : -k fixed
	consume kk -f '%k=%s\n' >got.txt
	printf '%s\n' 'a=1' 'fixed=b' | diff -u - got.txt
}

@test "-H adds headers to every record: repeated, null and empty values" {
	start_logd b
	run -0 bash -c "printf 'one\ntwo\n' | '$KP' -b $LOGD_ADDR -t hd -H trace=abc -H trace=def -H nul -H empty= -H 'eq=a=b'"
	records hd >got.json
	run -0 "$PY" -c '
import json, sys
want = [{"key": "trace", "value": "abc"}, {"key": "trace", "value": "def"},
        {"key": "nul", "value": None}, {"key": "empty", "value": ""},
        {"key": "eq", "value": "a=b"}]
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["value"] for r in recs] == ["one", "two"], recs
for r in recs:
    assert r["headers"] == want, r["headers"]
' got.json
}

@test "-Z sends empty keys and values as null; without it they stay empty" {
	start_logd b
	printf ':\nk:\n:v\n' >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t z1 -K : -Z in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t z2 -K : in.txt
	consume z1 -f '%K %S\n' >got.txt
	printf '%s\n' '-1 -1' '1 -1' '-1 1' | diff -u - got.txt
	consume z2 -f '%K %S\n' >got.txt
	printf '%s\n' '0 0' '1 0' '0 1' | diff -u - got.txt
}

@test "-0 and -D: NUL, escaped and multi-byte delimiters, across read boundaries" {
	start_logd b
	printf 'a\0b b\0\0c' >nul.bin
	run -0 "$KP" -b "$LOGD_ADDR" -t nul -0 nul.bin
	consume nul -f '[%s]\n' >got.txt
	printf '%s\n' '[a]' '[b b]' '[]' '[c]' | diff -u - got.txt
	printf 'x\x1ey\x1e' >rs.bin
	run -0 "$KP" -b "$LOGD_ADDR" -t rs -D '\x1e' rs.bin
	[ "$(consume rs -f '%s,')" = "x,y," ]
	# 300000 records split by a 3-byte delimiter, read through a pipe
	seq 1 300000 | tr '\n' '#' | sed 's/#/<|>/g' >multi.bin
	run -0 bash -c "cat multi.bin | '$KP' -b $LOGD_ADDR -t multi -D '<|>'"
	consume multi >got.txt
	seq 1 300000 | diff -q - got.txt
	run -0 bash -c "printf 'p\tq\tr' | '$KP' -b $LOGD_ADDR -t tab -D '\t'"
	[ "$(consume tab -f '%s.')" = "p.q.r." ]
}

@test "a last record without delimiter is sent; empty lines are empty records" {
	start_logd b
	printf 'a\n\nb' >in.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t last in.txt
	consume last -f '%S:%s\n' >got.txt
	printf '%s\n' '1:a' '0:' '1:b' | diff -u - got.txt
	run -0 "$KP" -b "$LOGD_ADDR" -t empty /dev/null
	run -0 "$KP" -b "$LOGD_ADDR" -t empty2 </dev/null
}

@test "files are read in order, each ending a record; - reads stdin; -W: one record per file" {
	start_logd b
	printf '1\n2' >f1
	printf '3\n' >f2
	run -0 bash -c "printf 'in\n' | '$KP' -b $LOGD_ADDR -t files f1 - f2"
	consume files -f '%s,' >got.txt
	[ "$(cat got.txt)" = "1,2,in,3," ]
	head -c 5000 /dev/urandom >bin1
	printf 'two\nlines\n' >txt2
	run -0 "$KP" -b "$LOGD_ADDR" -t whole -W bin1 txt2
	records whole >got.json
	run -0 "$PY" -c '
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def b(v):
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()
assert len(recs) == 2, recs
assert b(recs[0]["value"]) == open("bin1", "rb").read()
assert b(recs[1]["value"]) == b"two\nlines\n"
' got.json
}

@test "-J: binary keys, values and headers round-trip through base64" {
	start_logd b
	run -0 "$PY" -c '
import base64, json, random
random.seed(7)
with open("in.json", "w") as f:
    for i in range(500):
        val = bytes(random.randrange(256) for _ in range(random.randrange(0, 300)))
        key = bytes(random.randrange(256) for _ in range(random.randrange(1, 20)))
        hv = bytes(random.randrange(256) for _ in range(8))
        f.write(json.dumps({"key": {"base64": base64.b64encode(key).decode()},
            "value": {"base64": base64.b64encode(val).decode()},
            "headers": [{"key": "h", "value": {"base64": base64.b64encode(hv).decode()}}],
            "timestamp": 1700000000000 + i}) + "\n")
'
	run -0 "$KP" -b "$LOGD_ADDR" -t bin -J in.json
	records bin >got.json
	run -0 "$PY" -c '
import base64, json
def b(v):
    if v is None:
        return None
    return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()
sent = [json.loads(l) for l in open("in.json")]
got = [json.loads(l) for l in open("got.json")]
assert len(got) == len(sent) == 500
for s, g in zip(sent, got):
    assert b(g["key"]) == b(s["key"]) and b(g["value"]) == b(s["value"])
    assert [(h["key"], b(h["value"])) for h in g["headers"]] == \
        [(h["key"], b(h["value"])) for h in s["headers"]]
    assert g["timestamp"] == s["timestamp"]
'
}

@test "-J: null vs empty, duplicate and null headers, partition and timestamp honoured" {
	start_logd b -o num.partitions=3
	cat >in.json <<'EOF'
{"key":null,"value":"","headers":[{"key":"d","value":"1"},{"key":"d","value":"2"},{"key":"n","value":null}]}
{"key":"","value":null,"partition":2,"timestamp":1600000000123}
{"value":"caf\u00e9 \ud83d\ude00","partition":1,"topic":"elsewhere","offset":99,"leader_epoch":4,"extra":[1,{"x":true}]}

{"key":"k","value":"v","headers":null,"timestamp":null,"partition":null,"key_error":"ignored"}
EOF
	run -0 "$KP" -b "$LOGD_ADDR" -t env -J -p -1 in.json
	records env >got.json
	run -0 "$PY" -c '
import json
got = {json.loads(l)["value"]: json.loads(l) for l in open("got.json")}
assert len(got) == 4, got
a = got[""]
assert a["key"] is None and a["headers"] == [
    {"key": "d", "value": "1"}, {"key": "d", "value": "2"}, {"key": "n", "value": None}]
b = got[None]
assert b["key"] == "" and b["partition"] == 2 and b["timestamp"] == 1600000000123
c = got["caf\u00e9 \U0001F600"]
assert c["partition"] == 1 and c["key"] is None and c["headers"] == []
assert got["v"]["key"] == "k"
'
}

@test "kcons --json | kprod --json copies a topic losslessly" {
	[ -x "$BIN_DIR/kcons" ] || skip "kcons is not built"
	"$BIN_DIR/kcons" --help | grep -q -- '--json' || skip "kcons has no --json"
	start_logd b -o num.partitions=3
	run -0 "$PY" -c '
import base64, json, random
random.seed(3)
with open("src.json", "w") as f:
    for i in range(300):
        v = bytes(random.randrange(256) for _ in range(random.randrange(0, 50)))
        k = None if i % 7 == 0 else ("" if i % 11 == 0 else "k%d" % i)
        hs = [{"key": "a", "value": None}, {"key": "a", "value": ""}] if i % 5 == 0 else []
        f.write(json.dumps({"key": k, "value": {"base64": base64.b64encode(v).decode()},
            "headers": hs, "partition": i % 3, "timestamp": 1700000000000 + i}) + "\n")
'
	run -0 "$KP" -b "$LOGD_ADDR" -t src -J src.json
	run -0 bash -c "'$BIN_DIR/kcons' -b $LOGD_ADDR -t src -e -J | '$KP' -b $LOGD_ADDR -t dst -J"
	records src >a.json
	records dst >b.json
	run -0 "$PY" -c '
import json
def load(p):
    out = []
    for l in open(p):
        r = json.loads(l)
        out.append((r["partition"], r["offset"], r["timestamp"], json.dumps(r["key"]),
                    json.dumps(r["value"]), json.dumps(r["headers"])))
    return sorted(out)
a, b = load("a.json"), load("b.json")
assert len(a) == 300 and a == b, (len(a), len(b))
'
}

@test "every codec: the batches on disk say so and the records read back" {
	start_logd b
	seq 1 20000 | sed 's/$/ some text that compresses well/' >in.txt
	for z in none gzip snappy lz4 zstd; do
		run -0 "$KP" -b "$LOGD_ADDR" -t "codec-$z" -z "$z" in.txt
		"$KD" -j "$LOGD_DIR/codec-$z-0" >batches.json
		run -0 "$PY" -c '
import json, sys
bs = [json.loads(l) for l in open("batches.json") if l.startswith("{\"type\":\"batch\"")]
assert bs and all(b["compression"] == sys.argv[1] for b in bs), sys.argv[1]
assert sum(b["count"] for b in bs) == 20000
' "$z"
		consume "codec-$z" | diff -q in.txt -
	done
	run -0 "$KP" -b "$LOGD_ADDR" -t codec-x -X compression.type=lz4 in.txt
	"$KD" -j "$LOGD_DIR/codec-x-0" | grep -q '"compression":"lz4"'
}

@test "exit 67: unknown topic when the broker does not create topics" {
	start_logd b -o auto.create.topics.enable=false
	run -67 --separate-stderr "$KP" -b "$LOGD_ADDR" -t nosuch -m 300ms </dev/null
	[[ $stderr == "kprod: error: topic 'nosuch' does not exist"* ]]
	run -67 --separate-stderr "$KP" -b "$LOGD_ADDR" -t nosuch -m 300ms \
	    -X allow.auto.create.topics=false </dev/null
	[ "$stderr" = "kprod: error: topic 'nosuch' does not exist" ]
}

@test "exit 67: -p names a partition the topic does not have" {
	start_logd b -o num.partitions=2
	run -0 bash -c "echo x | '$KP' -b $LOGD_ADDR -t made"
	run -67 --separate-stderr "$KP" -b "$LOGD_ADDR" -t made -p 2 </dev/null
	[ "$stderr" = "kprod: error: partition 2 does not exist: topic 'made' has 2 partitions" ]
}

@test "exit 65: a bad JSON line names its line and column; earlier lines are delivered" {
	start_logd b
	printf '{"value":"a"}\n{"value":"b"}\n{"value":"c",}\n{"value":"d"}\n' >in.json
	run -65 --separate-stderr "$KP" -b "$LOGD_ADDR" -t bad -J in.json
	[ "$stderr" = "kprod: error: line 3: column 14: expected a string key" ]
	[ "$(consume bad -f '%s')" = "ab" ]
	printf '{"key":"k"}\n' >nov.json
	run -65 --separate-stderr "$KP" -b "$LOGD_ADDR" -t bad -J nov.json
	[ "$stderr" = 'kprod: error: line 1: column 1: no "value" field' ]
	printf '{"value":{"base64":"!!"}}\n' >b64.json
	run -65 --separate-stderr "$KP" -b "$LOGD_ADDR" -t bad -J b64.json
	[ "$stderr" = "kprod: error: line 1: column 20: bad base64 string: invalid character at position 0" ]
	printf '{"value":"x","partition":7}\n' >part.json
	run -65 --separate-stderr "$KP" -b "$LOGD_ADDR" -t bad -J part.json
	[ "$stderr" = "kprod: error: line 1: partition 7 does not exist (topic 'bad' has 1)" ]
	printf '[1]\n{"value":"x","value":"y"}\n' >dup.json
	run -65 --separate-stderr "$KP" -b "$LOGD_ADDR" -t bad -J dup.json
	[ "$stderr" = "kprod: error: line 1: column 1: expected a JSON object (the klog record envelope)" ]
}

@test "-E skip: bad records are reported and skipped, the rest delivered, exit 0" {
	start_logd b
	printf '{"value":"a"}\nnot json\n{"value":"b"}\n{"value":2}\n' >in.json
	run -0 --separate-stderr "$KP" -b "$LOGD_ADDR" -t skip -J -E skip in.json
	[[ ${stderr_lines[0]} == "kprod: warning: line 2: column 1: unexpected character (skipped)" ]]
	[[ ${stderr_lines[1]} == "kprod: warning: line 4: column 10: expected null, a string"*"(skipped)" ]]
	[[ $stderr == *"2 bad input records skipped"* ]]
	[ "$(consume skip -f '%s')" = "ab" ]
}

@test "exit 66: a missing input file, before anything is sent" {
	start_logd b
	echo ok >f1
	run -66 --separate-stderr "$KP" -b "$LOGD_ADDR" -t miss f1 nosuchfile
	[ "$stderr" = "kprod: error: unable to open 'nosuchfile': No such file or directory" ]
	run -66 --separate-stderr "$KP" -b "$LOGD_ADDR" -t miss .
	[ "$stderr" = "kprod: error: '.' is a directory" ]
	[ ! -d "$LOGD_DIR/miss-0" ]
}

@test "exit 69: no broker reachable" {
	run -69 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -m 200ms </dev/null
	[[ $stderr == "kprod: error: "*"127.0.0.1:1"* ]]
	KLOG_BROKERS=127.0.0.1:1 run -69 --separate-stderr "$KP" -t t -m 200ms </dev/null
}

@test "exit 78: unknown -X property, bad values, bad -F file" {
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -X bogus=1
	[ "$stderr" = "kprod: error: -X: unknown property 'bogus'" ]
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -X acks=2 </dev/null
	[ "$stderr" = "kprod: error: acks: expected 0, 1, all or -1, got '2'" ]
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -X batch.size=x </dev/null
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -X enable.idempotence=true -a 1 </dev/null
	[ "$stderr" = "kprod: error: enable.idempotence=true needs acks=all" ]
	printf 'linger.ms=5\nthis is not a property line\n' >bad.conf
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -F bad.conf </dev/null
	[ "$stderr" = "kprod: error: bad.conf:2: expected key=value" ]
	printf 'no.such.key=1\n' >bad2.conf
	run -78 --separate-stderr "$KP" -b 127.0.0.1:1 -t t -F bad2.conf </dev/null
	[ "$stderr" = "kprod: error: bad2.conf:1: unknown property 'no.such.key'" ]
}

@test "exit 64: usage errors" {
	run -64 --separate-stderr "$KP" -b x </dev/null
	[ "${stderr_lines[0]}" = "kprod: no topic given (use -t topic)" ]
	[[ ${stderr_lines[1]} == "usage: kprod "* ]]
	run -64 --separate-stderr "$KP" -t 'bad topic' </dev/null
	run -64 --separate-stderr "$KP" -t t -p 1 -P random </dev/null
	[ "${stderr_lines[0]}" = "kprod: options -p and -P cannot be used together" ]
	run -64 --separate-stderr "$KP" -t t -J -K : </dev/null
	[ "${stderr_lines[0]}" = "kprod: option -K cannot be used with -J" ]
	run -64 --separate-stderr "$KP" -t t -D '\q' </dev/null
	run -64 --separate-stderr "$KP" -t t -0 -D x </dev/null
	run -64 --separate-stderr "$KP" -t t -z brotli </dev/null
	run -64 --separate-stderr "$KP" -t t -a 2 </dev/null
	run -64 --separate-stderr "$KP" -t t -X novalue </dev/null
	run -64 --separate-stderr "$KP" -t t -c 0 </dev/null
	run -64 --separate-stderr "$KP" -t t --partition </dev/null
	[ "${stderr_lines[0]}" = "kprod: option '--partition' needs a value" ]
}

@test "-X list and -X dump show the properties" {
	run -0 --separate-stderr "$KP" -X list
	[[ $output == *"linger.ms (queue.buffering.max.ms)"*"5"* ]]
	[[ $output == *"enable.idempotence"* ]]
	run -0 --separate-stderr "$KP" -X dump -X linger.ms=20 -a 1 -z zstd
	[[ $output == *"linger.ms=20"* ]]
	[[ $output == *"acks=1"* ]]
	[[ $output == *"compression.type=zstd"* ]]
	[[ $output == *"enable.idempotence=false"* ]]
}

@test "acks 0, 1 and all all deliver every record" {
	start_logd b
	for a in 0 1 all; do
		run -0 --separate-stderr bash -c "seq 1 30000 | '$KP' -v -b $LOGD_ADDR -t acks-$a -a $a"
		[ "$(summary_count)" -eq 30000 ]
		consume "acks-$a" | diff -q <(seq 1 30000) -
	done
}

@test "-c stops after N records; records over message.max.bytes fail with exit 1" {
	start_logd b
	run -0 bash -c "seq 1 1000 | '$KP' -b $LOGD_ADDR -t cnt -c 10"
	[ "$(consume cnt -f '%s,')" = "1,2,3,4,5,6,7,8,9,10," ]
	{ echo small; head -c 3000 /dev/zero | tr '\0' x; echo; echo after; } >in.txt
	run -1 --separate-stderr "$KP" -b "$LOGD_ADDR" -t big -X message.max.bytes=2048 in.txt
	[[ ${stderr_lines[0]} == "kprod: error: line 2 not delivered: MESSAGE_TOO_LARGE"* ]]
	[[ $stderr == *"1 of 3 records not delivered (1 failed, 0 still pending at exit)"* ]]
	[ "$(consume big -f '%s,')" = "small,after," ]
}

@test "back-pressure: a tiny buffer.memory pauses input and drops nothing" {
	start_logd b
	run -0 bash -c "seq 1 100000 | '$KP' -b $LOGD_ADDR -t bp -X buffer.memory=4096 -X batch.size=2048"
	consume bp | diff -q <(seq 1 100000) -
}

@test "--progress reports the rate on stderr" {
	start_logd b
	run -0 --separate-stderr bash -c "(seq 1 1000; sleep 1.3; seq 1001 2000) | '$KP' -s -b $LOGD_ADDR -t prog"
	[[ $stderr == *"kprod: progress: 1000 records acknowledged"*"records/s now"* ]]
	[ "$(count prog)" -eq 2000 ]
}

@test "an interactive tty sends each line at once, without waiting for linger" {
	start_logd b
	run -0 "$PY" -c '
import os, pty, subprocess, sys, time
kp, addr = sys.argv[1], sys.argv[2]
m, s = pty.openpty()
p = subprocess.Popen([kp, "-b", addr, "-t", "tty", "-X", "linger.ms=600000"],
                     stdin=s, stdout=subprocess.DEVNULL)
os.close(s)
def count():
    r = subprocess.run(["kcat", "-C", "-b", addr, "-t", "tty", "-e", "-q", "-o",
                        "beginning"], capture_output=True)
    return r.stdout.count(b"\n")
for n, line in enumerate([b"first\n", b"second\n"], 1):
    os.write(m, line)
    deadline = time.time() + 5
    while count() < n:
        assert time.time() < deadline, "line %d not sent within 5 s" % n
        time.sleep(0.05)
    assert p.poll() is None, "kprod exited early"
os.write(m, b"\x04")
sys.exit(p.wait(timeout=10))
' "$KP" "$LOGD_ADDR"
	[ "$(consume tty -f '%s,')" = "first,second," ]
}

@test "SIGTERM during a big pipe delivers everything read so far, exit 0" {
	start_logd b
	mkfifo in.fifo
	seq 1 100000000 >in.fifo &
	GEN_PID=$!
	"$KP" -v -s -b "$LOGD_ADDR" -t term <in.fifo 2>err.txt &
	kpid=$!
	wait_for 20000 grep -q "progress:" err.txt
	kill -TERM "$kpid"
	status=0
	wait "$kpid" || status=$?
	cat err.txt
	[ "$status" -eq 0 ]
	stderr=$(cat err.txt)
	sent=$(summary_count)
	[ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" -lt 100000000 ]
	[ "$(count term)" -eq "$sent" ]
	# and they are the first records of the input, in order
	consume term | diff -q <(seq 1 "$sent") -
}

@test "a broker killed mid-run: exit 1 and the undelivered count on stderr" {
	start_logd b
	mkfifo in.fifo
	(seq 1 100000; sleep 3; seq 100001 200000) >in.fifo &
	GEN_PID=$!
	"$KP" -s -b "$LOGD_ADDR" -t killed -X delivery.timeout.ms=1500 <in.fifo 2>err.txt &
	kpid=$!
	wait_for 20000 grep -q "progress: 100000 records acknowledged" err.txt
	kill -KILL "$LOGD_PID"
	status=0
	wait "$kpid" || status=$?
	cat err.txt
	[ "$status" -eq 1 ]
	grep -q "kprod: error: 100000 of 200000 records not delivered (100000 failed, 0 still pending at exit)" err.txt
	grep -q "not delivered: delivery timed out" err.txt
}

@test "a dead broker and a short flush timeout: exit 75 with the pending count" {
	start_logd b
	mkfifo in.fifo
	(seq 1 1000; sleep 2.5; seq 1001 1500) >in.fifo &
	GEN_PID=$!
	"$KP" -s -w 500ms -b "$LOGD_ADDR" -t flush <in.fifo 2>err.txt &
	kpid=$!
	wait_for 20000 grep -q "progress: 1000 records acknowledged" err.txt
	kill -KILL "$LOGD_PID"
	status=0
	wait "$kpid" || status=$?
	cat err.txt
	[ "$status" -eq 75 ]
	grep -q "kprod: error: flush timeout (500 ms) with 500 records undelivered" err.txt
	grep -q "500 of 1500 records not delivered (0 failed, 500 still pending at exit)" err.txt
}

# kproxy: a TCP proxy in front of logd that can drop the Nth Produce
# response (closing the client connection, so the producer must retry a
# batch the broker already appended) and hide an API from ApiVersions.
write_proxy() {
	cat >kproxy.py <<'EOF'
import os, socket, struct, sys, threading
listen_file, upstream_file = sys.argv[1], sys.argv[2]
drop_nth = int(sys.argv[3]) if len(sys.argv) > 3 else 0
hide_api = int(sys.argv[4]) if len(sys.argv) > 4 else -1
lock = threading.Lock()
state = {"produce": 0}

def frames(sock):
    buf = b""
    while True:
        while len(buf) >= 4:
            n = struct.unpack(">i", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            yield buf[:4 + n]
            buf = buf[4 + n:]
        try:
            d = sock.recv(1 << 16)
        except OSError:
            return
        if not d:
            return
        buf += d

def hide(frame):
    corr, err, n = struct.unpack(">ihi", frame[4:14])
    body, keep = frame[14:14 + 6 * n], []
    for i in range(n):
        e = body[6 * i:6 * i + 6]
        if struct.unpack(">h", e[:2])[0] != hide_api:
            keep.append(e)
    rest = frame[14 + 6 * n:]
    out = struct.pack(">ihi", corr, err, len(keep)) + b"".join(keep) + rest
    return struct.pack(">i", len(out)) + out

def serve(c):
    host, port = open(upstream_file).read().strip().rsplit(":", 1)
    u = socket.create_connection((host, int(port)))
    apis = {}
    def close():
        for s in (c, u):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    def up():
        for f in frames(c):
            api, ver, corr = struct.unpack(">hhi", f[4:12])
            apis[corr] = api
            u.sendall(f)
        close()
    threading.Thread(target=up, daemon=True).start()
    for f in frames(u):
        api = apis.pop(struct.unpack(">i", f[4:8])[0], None)
        if api == 18 and hide_api >= 0:
            f = hide(f)
        if api == 0:
            with lock:
                state["produce"] += 1
                drop = state["produce"] == drop_nth
            if drop:
                print("dropped produce response %d" % drop_nth, flush=True)
                break
        c.sendall(f)
    close()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(listen_file + ".tmp", "w") as f:
    f.write("127.0.0.1:%d\n" % srv.getsockname()[1])
os.rename(listen_file + ".tmp", listen_file)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
}

# start_proxy DROP_NTH HIDE_API: a logd behind kproxy; sets PROXY_ADDR.
start_proxy() {
	write_proxy
	"$PY" kproxy.py proxy.addr "$BATS_TEST_TMPDIR/p.addr" "$@" >proxy.log 2>&1 &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s proxy.addr
	PROXY_ADDR=$(cat proxy.addr)
	start_logd p -a "$PROXY_ADDR"
}

@test "idempotence: a Produce response lost mid-flight is retried without duplicates" {
	start_proxy 3
	run -0 --separate-stderr bash -c "seq 1 50000 | '$KP' -v -b $PROXY_ADDR -t idem -X batch.size=16384"
	cat proxy.log
	grep -q "dropped produce response 3" proxy.log
	[[ $stderr == *"50000 records"*"delivered"*"0 failed, "[1-9]*" retries, idempotent"* ]]
	LOGD_ADDR=$PROXY_ADDR consume idem | diff -u <(seq 1 50000) - | head -20
	[ "$(LOGD_ADDR=$PROXY_ADDR count idem)" -eq 50000 ]
}

@test "without idempotence the same lost response duplicates records (the proxy works)" {
	start_proxy 3
	run -0 --separate-stderr bash -c "seq 1 50000 | '$KP' -v -b $PROXY_ADDR -t dup -X batch.size=16384 -X enable.idempotence=false"
	grep -q "dropped produce response 3" proxy.log
	[ "$(LOGD_ADDR=$PROXY_ADDR count dup)" -gt 50000 ]
}

@test "a broker without InitProducerId: a warning by default, exit 69 when required" {
	start_proxy 0 22
	run -0 --separate-stderr bash -c "seq 1 100 | '$KP' -v -b $PROXY_ADDR -t noidem"
	[[ ${stderr_lines[0]} == "kprod: warning: broker "*" does not support InitProducerId, which idempotence needs; producing without idempotence"* ]]
	[[ $stderr != *", idempotent"* ]]
	[ "$(LOGD_ADDR=$PROXY_ADDR count noidem)" -eq 100 ]
	run -69 --separate-stderr "$KP" -b "$PROXY_ADDR" -t noidem -X enable.idempotence=true </dev/null
	[[ $stderr == "kprod: error: enable.idempotence=true: broker "*" does not support InitProducerId"* ]]
}

@test "logd killed with requests in flight and restarted: every record exactly once, in order" {
	start_logd r
	addr=$LOGD_ADDR
	mkfifo in.fifo
	"$PY" -c '
import sys, time
out = sys.stdout
for i in range(1, 300001):
    out.write("%d\n" % i)
    if i % 2000 == 0:
        out.flush()
        time.sleep(0.01)
' >in.fifo &
	GEN_PID=$!
	"$KP" -v -s -b "$addr" -t restart <in.fifo 2>err.txt &
	kpid=$!
	wait_for 20000 grep -q "progress:" err.txt
	# Frozen first, so that requests are in flight, unanswered (some
	# appended, some not) when it dies.
	kill -STOP "$LOGD_PID"
	sleep 0.3
	kill -KILL "$LOGD_PID"
	kill -CONT "$LOGD_PID" 2>/dev/null || true
	start_logd r -l "$addr"
	status=0
	wait "$kpid" || status=$?
	cat err.txt
	[ "$status" -eq 0 ]
	grep -q "300000 records (.*; 0 failed, [1-9][0-9]* retries, idempotent" err.txt
	consume restart >got.txt
	seq 1 300000 | diff -q - got.txt
}

@test "idempotence: a batch the broker refuses breaks the sequence; the rest is renumbered and delivered once, in order" {
	start_logd b -o message.max.bytes=20000
	"$PY" -c '
for i in range(1, 200001):
    print(i)
    if i == 100000:
        print("B" * 30000)
' >in.txt
	run -1 --separate-stderr "$KP" -v -b "$LOGD_ADDR" -t reset -X batch.size=2048 in.txt
	[ "${stderr_lines[0]}" = "kprod: error: partition 0: 1 record from line 100001 not delivered: MESSAGE_TOO_LARGE" ]
	[[ $stderr == *"kprod: info: partition 0: new producer id "* ]]
	[[ $stderr == *"1 of 200001 records not delivered (1 failed, 0 still pending at exit)"* ]]
	consume reset >got.txt
	seq 1 200000 | diff -q - got.txt
	# the batches after the refused one carry a new producer id from 0
	"$KD" -j "$LOGD_DIR/reset-0" >batches.json
	run -0 "$PY" -c '
import json
bs = [json.loads(l) for l in open("batches.json") if "\"batch\"" in l]
ids = []
for b in bs:
    if not ids or ids[-1][0] != b["producer_id"]:
        assert b["base_sequence"] == 0, b
        ids.append((b["producer_id"], b["base_sequence"]))
    else:
        assert b["base_sequence"] == last + 1, (b, last)
    last = b["last_sequence"]
assert len(ids) == 2, ids
'
}

@test "the usage text is the man page's SYNOPSIS, word for word" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run -0 "$KP" --help
	usage=$(sed -n '/^usage:/,/^$/p' <<<"$output" | sed 's/^usage: //' |
	    tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')
	synopsis=$(mandoc -Tascii -O width=200 "$BATS_TEST_DIRNAME/../man/man1/kprod.1" |
	    col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
	    tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')
	[ "$usage" = "$synopsis" ] || { echo "usage:    $usage"; echo "synopsis: $synopsis"; false; }
}

@test "-o reports each acknowledged record: topic, partition, offset, line, timestamp" {
	start_logd b -o num.partitions=3
	printf '{"key":"k%d","value":"v%d","timestamp":%d}\n' 1 1 1000 2 2 2000 3 3 3000 4 4 4000 >in.json
	run -0 --separate-stderr "$KP" -b "$LOGD_ADDR" -t rep -J -o '%t|%p|%o|%l|%T\n' in.json
	[ -z "$stderr" ]
	sort -t'|' -k4n <<<"$output" >got.txt
	consume rep -f '%p %o %s\n' >placed.txt
	for n in 1 2 3 4; do
		IFS='|' read -r t p o l ts < <(sed -n "${n}p" got.txt)
		[ "$t" = rep ] && [ "$l" = "$n" ] && [ "$ts" = "${n}000" ]
		grep -qx "$p $o v$n" placed.txt
	done
	# a closed stdout ends the report, not the producing
	run -0 bash -c "seq 1 100000 | '$KP' -b $LOGD_ADDR -t rep2 -o '%o\n' | head -1"
	[ "$output" = 0 ]
	[ "$(count rep2)" -eq 100000 ]
	run -64 --separate-stderr "$KP" -t rep -o '%x'
}

@test "back-pressure: with the broker frozen, kprod stops reading its input" {
	start_logd b
	mkfifo in.fifo
	yes record >in.fifo &
	GEN_PID=$!
	"$KP" -s -b "$LOGD_ADDR" -t frozen -w 300ms -X buffer.memory=65536 \
	    <in.fifo 2>err.txt &
	kpid=$!
	wait_for 20000 grep -q "progress:" err.txt
	kill -STOP "$LOGD_PID"
	sleep 0.5
	r1=$(awk '/^rchar/ { print $2 }' "/proc/$kpid/io")
	sleep 1
	r2=$(awk '/^rchar/ { print $2 }' "/proc/$kpid/io")
	kill -TERM "$kpid"
	status=0
	wait "$kpid" || status=$?
	kill -CONT "$LOGD_PID"
	cat err.txt
	echo "read $r1 then $r2 bytes"
	[ "$r1" -eq "$r2" ]
	[ "$status" -eq 75 ]
	grep -q "flush timeout (300 ms) with [0-9]* records undelivered" err.txt
}

@test "a second signal exits at once with 75, even while waiting on a frozen broker" {
	start_logd b
	kill -STOP "$LOGD_PID"
	"$KP" -b "$LOGD_ADDR" -t t </dev/null 2>err.txt &
	kpid=$!
	sleep 0.5
	kill -TERM "$kpid"
	sleep 0.2
	kill -TERM "$kpid"
	status=0
	wait "$kpid" || status=$?
	kill -CONT "$LOGD_PID"
	[ "$status" -eq 75 ]
	grep -qx "kprod: error: second signal: exiting without delivering what is pending" err.txt
}

@test "linger.ms=0 with one request in flight: a backlog leaves in big batches, in order" {
	# While no request slot is free a lingered batch keeps growing (as in
	# Kafka's producer) instead of being sealed per read and sent one
	# small batch per round trip. The broker is frozen for a second while
	# small writes keep coming, to make the backlog.
	start_logd b
	mkfifo in.fifo
	"$PY" -c '
import os, time
n, end = 0, time.monotonic() + 2.5
while time.monotonic() < end:
    os.write(1, "".join("%d\n" % (n + i) for i in range(1, 21)).encode())
    n += 20
    time.sleep(0.001)
open("gen.count", "w").write("%d\n" % n)
' >in.fifo &
	GEN_PID=$!
	"$KP" -b "$LOGD_ADDR" -t backlog -X max.in.flight=1 -X linger.ms=0 \
	    <in.fifo 2>err.txt &
	kpid=$!
	# frozen only once kprod is sending, not while it looks up the topic
	wait_for 10000 test -s "$LOGD_DIR/backlog-0/00000000000000000000.log"
	kill -STOP "$LOGD_PID"
	sleep 1
	kill -CONT "$LOGD_PID"
	status=0
	wait "$kpid" || status=$?
	wait "$GEN_PID"
	GEN_PID=
	cat err.txt
	[ "$status" -eq 0 ]
	n=$(cat gen.count)
	consume backlog >got.txt
	seq 1 "$n" | diff -q - got.txt
	# a quarter of the records (a third were written while frozen) came in
	# batches of 1000 records or more; one per write was about 20
	"$KD" -j "$LOGD_DIR/backlog-0" |
	    sed -n 's/^{"type":"batch".*"count":\([0-9]*\),.*/\1/p' >counts.txt
	big=$(awk '$1 >= 1000 { s += $1 } END { print s + 0 }' counts.txt)
	echo "$n records in $(wc -l <counts.txt) batches, $big in batches of 1000+"
	[ "$big" -ge $((n / 4)) ]
}
