#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kcons against a real logd: every -o form (offsets, tails, ranges, times
# in ms, ISO 8601 and -DURATION), -e ending while a producer keeps
# writing, -c, -p lists, several topics, the output formats (golden files
# compared with diff -u) and the JSON envelope with binary, null and empty
# fields, a closed pipe, idle and signal stops, the exit codes (64, 67,
# 69, 78, 1), a broker restarted mid-follow (SIGTERM and kill -9) without
# a record lost or repeated, and a follower that costs no CPU while idle.
bats_require_minimum_version 1.5.0
load helpers

# Creates TOPIC with PARTS partitions (PARTS > 0) and produces the records
# described by the JSON lines on stdin: {"p":P,"k":K,"v":V,"ts":MS,
# "ago":MS,"h":[[name,V],...]} where K and V are a string, null, or
# {"hex":"00ff"}; "ago" is a timestamp that many ms before now.
# "stream ADDR TOPIC STOPFILE" produces s-0, s-1, ... every 5 ms until
# STOPFILE exists (30 s at most) and prints how many it sent.
FEED_PY='
import json, sys, time, os
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

def dec(x):
    if x is None or isinstance(x, str):
        return x
    return bytes.fromhex(x["hex"])

def fail(errs):
    def cb(err, msg):
        if err is not None:
            errs.append(str(err))
    return cb

if sys.argv[1] == "stream":
    addr, topic, stop = sys.argv[2:5]
    p = Producer({"bootstrap.servers": addr, "linger.ms": 0})
    errs, n, end = [], 0, time.time() + 30
    while not os.path.exists(stop) and time.time() < end:
        p.produce(topic, value="s-%d" % n, on_delivery=fail(errs))
        p.poll(0)
        n += 1
        time.sleep(0.005)
    if p.flush(15) or errs:
        sys.exit("stream failed: %s" % errs)
    print(n)
    sys.exit(0)

addr, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
if parts > 0:
    a = AdminClient({"bootstrap.servers": addr})
    for f in a.create_topics([NewTopic(topic, parts, 1)]).values():
        f.result(15)
p = Producer({"bootstrap.servers": addr, "linger.ms": 0})
errs = []
now = int(time.time() * 1000)
for line in sys.stdin:
    r = json.loads(line)
    kw = {"partition": r.get("p", 0), "value": dec(r.get("v")),
          "key": dec(r.get("k")), "on_delivery": fail(errs)}
    if "ts" in r:
        kw["timestamp"] = r["ts"]
    if "ago" in r:
        kw["timestamp"] = now - r["ago"]
    if "h" in r:
        kw["headers"] = [(k, dec(v)) for k, v in r["h"]]
    p.produce(topic, **kw)
    p.flush(15)
if p.flush(15) or errs:
    sys.exit("produce failed: %s" % errs)
'

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KCONS=$BIN_DIR/kcons
	EXPECTED=$FIXTURES/expected
}

teardown() {
	[ -n "${STREAM_STOP:-}" ] && touch "$STREAM_STOP"
	kill_daemons
}

# kcons ARGS...: against this test's broker, bounded in time.
kcons() {
	timeout 30 "$KCONS" -b "$LOGD_ADDR" "$@"
}

# produce TOPIC [KCAT ARGS...]: stdin lines as records, with kcat.
produce() {
	local topic=$1
	shift
	timeout 30 kcat -b "$LOGD_ADDR" -P -t "$topic" "$@"
}

# feed TOPIC PARTS: the JSON-described records on stdin (see FEED_PY).
feed() {
	timeout 60 "$PY" -c "$FEED_PY" "$LOGD_ADDR" "$@"
}

# ten TOPIC: one partition holding v0 .. v9 at offsets 0 .. 9.
ten() {
	seq 0 9 | sed 's/^/v/' | produce "$1"
}

# lines_are WORD...: $output is exactly these lines.
lines_are() {
	diff -u <(printf '%s\n' "$@") <(printf '%s\n' "$output")
}

# cpu_ticks PID: utime + stime of PID in clock ticks.
cpu_ticks() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) }
	set -- $stat
	echo $((${12} + ${13}))
}

# exits_with PID N: wait for the background job PID; its status must be N.
exits_with() {
	local rc=0
	wait "$1" || rc=$?
	[ "$rc" -eq "$2" ] || { echo "exit status $rc, expected $2" >&2; return 1; }
}

# line_count FILE N: FILE has at least N lines.
line_count() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# gold: the fixed data set behind the golden files, in topic "gold".
gold() {
	feed gold 1 <<'EOF'
{"k":"k1","v":"hello","ts":1700000000000,"h":[["trace","abc"],["x",null],["trace",{"hex":"00ff"}]]}
{"k":null,"v":"","ts":1700000000001}
{"k":"","v":null,"ts":1700000000002}
{"k":{"hex":"fffe"},"v":{"hex":"0001ff"},"ts":1700000000003}
{"k":"caf\u00e9","v":"tab\there","ts":1700000061234}
{"k":"q\"uote","v":"line1\nline2","ts":1700000061235,"h":[["h",""],["n",null]]}
EOF
}

# ---------------------------------------------------------------- basics

@test "values one per line from the beginning; -e exits at the end" {
	start_logd b
	ten t
	run -0 --separate-stderr kcons -t t -e
	lines_are v0 v1 v2 v3 v4 v5 v6 v7 v8 v9
	[ -z "$stderr" ]
}

@test "-e on an empty topic and with -o end: nothing, exit 0" {
	start_logd b
	feed empty 3 </dev/null
	run -0 --separate-stderr kcons -t empty -e
	[ -z "$output" ]
	ten t
	run -0 --separate-stderr kcons -t t -o end -e
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "-e with empty partitions beside full ones; -v sums up on stderr" {
	start_logd b
	printf '{"p":1,"v":"only"}\n{"p":1,"v":"here"}\n' | feed mixed 4
	run -0 --separate-stderr kcons -t mixed -e -v
	lines_are only here
	[[ $stderr == *"kcons: info: 2 records, 10 bytes written"* ]]
	[[ $stderr == *"topic 'mixed' partition 1: 2 records, next offset 2 (end reached)"* ]]
	[[ $stderr == *"topic 'mixed' partition 0: 0 records, next offset 0"* ]]
}

@test "compressed batches: every codec reads back" {
	start_logd b
	seq 1 1000 >want.txt
	for z in gzip snappy lz4 zstd; do
		produce "z-$z" -z "$z" <want.txt
		run -0 --separate-stderr kcons -t "z-$z" -e
		diff -u want.txt <(printf '%s\n' "$output")
		run -0 kcons -t "z-$z" -o 500:503
		lines_are 501 502 503
	done
}

@test "-o offsets, tails, skips and ranges" {
	start_logd b
	ten t
	run -0 kcons -t t -e -o beginning
	[ "${#lines[@]}" -eq 10 ]
	run -0 kcons -t t -e -o start
	[ "${#lines[@]}" -eq 10 ]
	run -0 kcons -t t -e -o 7
	lines_are v7 v8 v9
	run -0 kcons -t t -e -o -3
	lines_are v7 v8 v9
	run -0 kcons -t t -e -o -100
	[ "${#lines[@]}" -eq 10 ]
	run -0 kcons -t t -e -o +8
	lines_are v8 v9
	run -0 kcons -t t -e -o +100
	[ -z "$output" ]
	run -0 kcons -t t -e -o 10
	[ -z "$output" ]
	# Ranges stop by themselves, without -e.
	run -0 kcons -t t -o 2:5
	lines_are v2 v3 v4
	run -0 kcons -t t -o -3:end
	lines_are v7 v8 v9
	run -0 kcons -t t -o :3
	lines_are v0 v1 v2
	run -0 kcons -t t -o :end
	[ "${#lines[@]}" -eq 10 ]
}

@test "-o N outside the log: exit 1 naming partition and offset, or auto.offset.reset" {
	start_logd b
	ten t
	run -1 --separate-stderr kcons -t t -e -o 11
	[ -z "$output" ]
	[ "$stderr" = "kcons: error: topic 't' partition 0: offset 11 is out of range (the log holds offsets 0 to 10; see auto.offset.reset)" ]
	run -0 --separate-stderr kcons -t t -e -o 11 -X auto.offset.reset=earliest
	[ "${#lines[@]}" -eq 10 ]
	[[ $stderr == *"offset 11 is out of range: starting at the earliest offset 0"* ]]
	run -0 --separate-stderr kcons -t t -e -o 11 -X auto.offset.reset=latest
	[ -z "$output" ]
	run -78 --separate-stderr kcons -t t -e -X auto.offset.reset=sometimes
	[[ $stderr == *"auto.offset.reset: expected earliest, latest or error"* ]]
}

@test "-o @TIME: milliseconds, ISO 8601, s@/e@ and time ranges" {
	start_logd b
	feed times 1 <<'EOF'
{"v":"a","ts":1700000000000}
{"v":"b","ts":1700000060000}
{"v":"c","ts":1700000120000}
{"v":"d","ts":1700000180000}
EOF
	run -0 kcons -t times -e -o @1700000060000
	lines_are b c d
	run -0 kcons -t times -e -o @1700000060001
	lines_are c d
	run -0 kcons -t times -e -o s@1700000120000
	lines_are c d
	run -0 kcons -t times -e -o @2023-11-14T22:14:20Z
	lines_are b c d
	run -0 kcons -t times -e -o @2023-11-14T22:14:20.001Z
	lines_are c d
	run -0 kcons -t times -e -o @2023-11-15T00:14:20+02:00
	lines_are b c d
	run -0 kcons -t times -e -o @2023-11-14T22:14
	lines_are b c d
	run -0 kcons -t times -e -o @2023-11-14
	lines_are a b c d
	run -0 kcons -t times -e -o @2023-11-15
	[ -z "$output" ]
	# Stops: the record at the stop time is not printed; no -e needed.
	run -0 kcons -t times -o @1700000060000:1700000180000
	lines_are b c
	run -0 kcons -t times -o @2023-11-14T22:14:20Z:2023-11-14T22:16:20Z
	lines_are b c
	run -0 kcons -t times -o @2023-11-14T22:14:20:@2023-11-14T22:15:20
	lines_are b
	run -0 kcons -t times -o e@1700000120000
	lines_are a b
	run -0 kcons -t times -o s@1700000060000 -o e@1700000120000
	lines_are b
	run -0 kcons -t times -o 1:@1700000180000
	lines_are b c
}

@test "-o @-DURATION: relative to now" {
	start_logd b
	feed recent 1 <<'EOF'
{"v":"3h","ago":10800000}
{"v":"2h","ago":7200000}
{"v":"30m","ago":1800000}
{"v":"1m","ago":60000}
EOF
	run -0 kcons -t recent -e -o @-1h
	lines_are 30m 1m
	run -0 kcons -t recent -e -o @-150m
	lines_are 2h 30m 1m
	run -0 kcons -t recent -e -o @-1d
	lines_are 3h 2h 30m 1m
	run -0 kcons -t recent -e -o @-10s
	[ -z "$output" ]
	run -0 kcons -t recent -o @-4h:-1h
	lines_are 3h 2h
}

@test "bad offsets are usage errors, never offset 0" {
	start_logd b
	ten t
	for o in bogus 12abc - + @ @yesterday @2024-13-01 @2024-02-30 \
	    @2024-05-01T25:00 1: :x s@x e@ -1h 1:2:3 '' ' 1' 0x10 \
	    99999999999999999999 s@1:2 end:@; do
		echo "# -o '$o'"
		run -64 --separate-stderr kcons -t t -e -o "$o"
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "kcons: -o"* ]]
		[[ ${stderr_lines[1]} == "usage: kcons"* ]]
	done
	run -64 --separate-stderr kcons -t t -e -o stored
	[ "${stderr_lines[0]}" = "kcons: -o stored needs -G group (committed offsets belong to a consumer group)" ]
	run -64 --separate-stderr kcons -t t -o 1 -o 2
	[[ ${stderr_lines[0]} == "kcons: -o: the start is given twice"* ]]
}

# ---------------------------------------------------------------- stops

@test "-e terminates while a producer keeps writing" {
	start_logd b
	ten live
	STREAM_STOP=$BATS_TEST_TMPDIR/stop
	timeout 60 "$PY" -c "$FEED_PY" stream "$LOGD_ADDR" live "$STREAM_STOP" \
	    >stream.out 2>stream.err &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	local pid=$!
	# Wait until the stream has written 50 records.
	run -0 kcons -t live -o 10 -c 50
	# The producer is still writing while each of these runs.
	for i in 1 2 3; do
		run -0 --separate-stderr kcons -t live -e
		[ "${#lines[@]}" -ge 60 ]
		[ "${lines[0]}" = v0 ]
		[ "${lines[10]}" = s-0 ]
		[ -z "$stderr" ]
	done
	kill -0 "$pid"
	touch "$STREAM_STOP"
	wait "$pid"
	total=$(($(cat stream.out) + 10))
	run -0 kcons -t live -e
	[ "${#lines[@]}" -eq "$total" ]
}

@test "-c N exits after N records of all partitions" {
	start_logd b
	for i in $(seq 0 29); do
		echo "{\"p\":$((i % 3)),\"v\":\"r$i\"}"
	done | feed three 3
	run -0 --separate-stderr kcons -t three -c 7
	[ "${#lines[@]}" -eq 7 ]
	run -0 kcons -t three -c 30
	[ "${#lines[@]}" -eq 30 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort | uniq | wc -l)" -eq 30 ]
	run -0 kcons -t three -c 100 -e
	[ "${#lines[@]}" -eq 30 ]
	run -64 --separate-stderr kcons -t three -c 0
	[[ ${stderr_lines[0]} == "kcons: -c: 0 is out of range"* ]]
}

@test "-i: exit 0 when no record came for the idle time" {
	start_logd b
	ten t
	run -0 --separate-stderr kcons -t t -i 300ms
	[ "${#lines[@]}" -eq 10 ]
	[ -z "$stderr" ]
}

@test "SIGTERM and SIGINT while following: exit 0, output written" {
	start_logd b
	ten t
	for sig in TERM INT; do
		rm -f out.txt
		"$KCONS" -b "$LOGD_ADDR" -t t >out.txt 2>err.txt &
		local pid=$!
		wait_for 10000 line_count out.txt 10
		kill -"$sig" "$pid"
		exits_with "$pid" 0
		[ "$(wc -l <out.txt)" -eq 10 ]
		[ ! -s err.txt ]
	done
}

# ---------------------------------------------------------------- partitions

@test "-p: one partition, a list, duplicates; a missing partition is 67" {
	start_logd b
	for i in $(seq 0 8); do
		echo "{\"p\":$((i % 3)),\"v\":\"p$((i % 3))-$i\"}"
	done | feed parts 3
	run -0 kcons -t parts -e -p 1
	lines_are p1-1 p1-4 p1-7
	run -0 kcons -t parts -e -p 2,0,2
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "p0-0 p0-3 p0-6 p2-2 p2-5 p2-8 " ]
	run -0 kcons -t parts -e -o -1 -p 0,1,2 -f '%p %o %s\n'
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "0 2 p0-6 1 2 p1-7 2 2 p2-8 " ]
	run -67 --separate-stderr kcons -t parts -e -p 0,3
	[ -z "$output" ]
	[ "$stderr" = "kcons: error: topic 'parts' has no partition 3 (it has 3)" ]
	for p in x 1,,2 -1 1, 2147483648; do
		run -64 --separate-stderr kcons -t parts -e -p "$p"
		[[ ${stderr_lines[0]} == "kcons: -p"* ]]
	done
}

@test "several topics: -t a,b and repeated -t" {
	start_logd b
	echo a1 | produce ta
	echo b1 | produce tb
	run -0 kcons -t ta,tb -e -f '%t %s\n'
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "ta a1 tb b1 " ]
	run -0 kcons -t ta -t tb -t ta -e -f '%t %s\n'
	[ "${#lines[@]}" -eq 2 ]
	run -67 --separate-stderr kcons -t ta,nope -e
	[ "$stderr" = "kcons: error: topic 'nope' does not exist" ]
}

# ---------------------------------------------------------------- output

@test "formats: golden output of tokens, modifiers and delimiters" {
	start_logd b
	gold
	{
		for f in '%p %o %T %K %S k=%k{json} v=%s{json} h=%h{json}\n' \
		    '%o %T{iso} %T{%Y-%m-%d %H:%M:%S} %T{local:%H:%M %z}|\n' \
		    '%o %k{hex} %s{hex} %k{base64} %s{base64}\n' \
		    '%t/%p/%o 100%% \x41\t%S\n'; do
			echo "== -f $f"
			TZ=XYZ-9 timeout 30 "$KCONS" -b "$LOGD_ADDR" -t gold -e -f "$f"
		done
		echo "== -Z -K ' => ' -o :3"
		kcons -t gold -Z -K ' => ' -o :3
		echo "== -K : -D '|\n' -o 4"
		kcons -t gold -K : -D '|\n' -o 4 -e
		echo "== -Z -f '%o [%h]\n' -o 1"
		kcons -t gold -e -Z -f '%o [%h]\n' -o 1
		echo "== -f '%o [%h]\n' -o 5"
		kcons -t gold -e -f '%o [%h]\n' -o 5
		echo "== default, values of offsets 4 and 5"
		kcons -t gold -e -o 4
	} >formats.txt
	diff -u "$EXPECTED/kcons-formats.txt" formats.txt
}

@test "--json: golden envelopes; base64 for binary, null versus empty" {
	start_logd b
	gold
	run -0 --separate-stderr kcons -t gold -e -J
	[ -z "$stderr" ]
	diff -u "$EXPECTED/kcons-json.txt" <(printf '%s\n' "$output")
	# Every byte comes back: decode and compare with what was produced.
	"$PY" -c '
import base64, json, sys
def b(x):
    if x is None or isinstance(x, str):
        return None if x is None else x.encode()
    return base64.b64decode(x["base64"])
rs = [json.loads(l) for l in sys.stdin]
want = [(b"k1", b"hello"), (None, b""), (b"", None), (b"\xff\xfe", b"\x00\x01\xff"),
        ("café".encode(), b"tab\there"), (b"q\"uote", b"line1\nline2")]
assert [(b(r["key"]), b(r["value"])) for r in rs] == want, rs
h = rs[0]["headers"]
assert [(x["key"], b(x["value"])) for x in h] == [("trace", b"abc"), ("x", None), ("trace", b"\x00\xff")], h
assert rs[5]["headers"] == [{"key": "h", "value": ""}, {"key": "n", "value": None}]
' <<<"$output"
	run -0 kcons -t gold -e -J -c 1 -u
	[ "${#lines[@]}" -eq 1 ]
}

@test "-0 and %R: NUL-delimited and length-framed binary values" {
	start_logd b
	gold
	kcons -t gold -e -0 >nul.bin
	[ "$(od -An -c nul.bin | tr -s ' \n' ' ')" = " h e l l o \\0 \\0 \\0 \\0 001 377 \\0 t a b \\t h e r e \\0 l i n e 1 \\n l i n e 2 \\0 " ]
	kcons -t gold -e -o 3:4 -f '%R%s' >framed.bin
	[ "$(od -An -tx1 framed.bin | tr -s ' \n' ' ')" = " 00 00 00 03 00 01 ff " ]
	kcons -t gold -e -o 2:3 -f '%R' >null.bin
	[ "$(od -An -tx1 null.bin | tr -s ' \n' ' ')" = " ff ff ff ff " ]
}

@test "closed pipe: head -n 10 ends kcons quietly with status 0" {
	start_logd b
	seq 1 20000 | produce big
	timeout 30 "$KCONS" -b "$LOGD_ADDR" -t big -e 2>err.txt | head -n 10 >out.txt
	[ "${PIPESTATUS[0]}" -eq 0 ]
	[ ! -s err.txt ]
	[ "$(wc -l <out.txt)" -eq 10 ]
	# Following with nothing more to read: the reader leaving is noticed.
	timeout 30 "$KCONS" -b "$LOGD_ADDR" -t big -o -3 2>err.txt | head -n 2 >out.txt
	[ "${PIPESTATUS[0]}" -eq 0 ]
	[ ! -s err.txt ]
	[ "$(cat out.txt | tr '\n' ' ')" = "19998 19999 " ]
}

@test "output mixing and format errors are usage errors" {
	for args in "-J -f %s" "-J -K :" "-J -Z" "-J -0" "-f %s -K :" \
	    "-f %s -D x" "-f %s -0"; do
		echo "# $args"
		run -64 --separate-stderr "$KCONS" -b 127.0.0.1:1 -t t $args
		[[ ${stderr_lines[0]} == "kcons: option -"*" cannot be used with"* ]]
	done
	for f in '%x' '%' '%s{bogus}' '%T{nope}' '%o{hex}' '%s{hex' '\q' '\x4'; do
		echo "# -f $f"
		run -64 --separate-stderr "$KCONS" -b 127.0.0.1:1 -t t -f "$f"
		[[ ${stderr_lines[0]} == "kcons: -f: "* ]]
		[[ ${stderr_lines[1]} == "usage: kcons"* ]]
	done
	run -64 --separate-stderr "$KCONS" -b 127.0.0.1:1 -t t -D '\z'
	[[ ${stderr_lines[0]} == "kcons: -D: unknown escape"* ]]
	run -64 --separate-stderr "$KCONS" -b 127.0.0.1:1
	[ "${stderr_lines[0]}" = "kcons: no topic given (use -t topic)" ]
	run -64 --separate-stderr "$KCONS" -b 127.0.0.1:1 -t t extra
	[ "${stderr_lines[0]}" = "kcons: unexpected argument 'extra'" ]
}

# ---------------------------------------------------------------- failures

@test "exit codes: unknown topic 67, no broker 69, -X unknown 78" {
	start_logd b
	run -67 --separate-stderr kcons -t nope -e
	[ -z "$output" ]
	[ "$stderr" = "kcons: error: topic 'nope' does not exist" ]
	run -69 --separate-stderr timeout 30 "$KCONS" -b 127.0.0.1:1 -t t -e
	[ "$stderr" = "kcons: error: no broker reachable: unable to connect to 127.0.0.1:1: Connection refused" ]
	run -78 --separate-stderr kcons -t t -X no.such.property=1
	[ "$stderr" = "kcons: error: -X: unknown property 'no.such.property'" ]
	run -78 --separate-stderr kcons -t t -X fetch.wait.max.ms=soon
	[[ $stderr == "kcons: error: -X: fetch.wait.max.ms: expected a number"* ]]
	printf 'bootstrap.servers=%s\nbogus=1\n' "$LOGD_ADDR" >bad.conf
	run -78 --separate-stderr "$KCONS" -F bad.conf -t t
	[ "$stderr" = "kcons: error: bad.conf:2: unknown property 'bogus'" ]
	run -66 --separate-stderr "$KCONS" -F missing.conf -t t
	run -64 --separate-stderr "$KCONS" -X nonsense -t t
	[[ ${stderr_lines[0]} == "kcons: -X: expected key=value"* ]]
	KLOG_BROKERS= KLOG_CONFIG=/dev/null HOME=$BATS_TEST_TMPDIR \
	    run -64 --separate-stderr "$KCONS" -t t
	[[ ${stderr_lines[0]} == "kcons: no brokers given"* ]]
}

@test "brokers from KLOG_BROKERS and the config file; -X list and dump" {
	start_logd b
	ten t
	KLOG_BROKERS=$LOGD_ADDR run -0 timeout 30 "$KCONS" -t t -e -c 1
	[ "$output" = v0 ]
	printf 'bootstrap.servers=%s\nfetch.wait.max.ms=100\n' "$LOGD_ADDR" >k.conf
	KLOG_CONFIG=$PWD/k.conf run -0 timeout 30 "$KCONS" -t t -e -c 1
	[ "$output" = v0 ]
	run -0 "$KCONS" -X list
	[[ $output == *fetch.wait.max.ms* && $output == *auto.offset.reset* ]]
	run -0 "$KCONS" -F k.conf -X check.crcs=false -X dump
	[[ $output == *"fetch.wait.max.ms=100"* && $output == *"check.crcs=false"* ]]
}

# ---------------------------------------------------------------- resilience

# restart_follow HOW: a follower survives its broker going away (HOW is
# "term" or "kill") and coming back on the same address.
restart_follow() {
	start_logd b
	seq 1 100 | produce r
	"$KCONS" -b "$LOGD_ADDR" -t r -m 30s >out.txt 2>err.txt &
	local pid=$! addr=$LOGD_ADDR
	echo "$pid" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 line_count out.txt 100
	if [ "$1" = term ]; then
		stop_logd
	else
		kill -KILL "$LOGD_PID"
		wait "$LOGD_PID" || true
	fi
	# The follower notices, and retries without losing its place.
	wait_for 10000 grep -q 'retrying' err.txt
	start_logd b -l "$addr"
	[ "$LOGD_ADDR" = "$addr" ]
	seq 101 200 | produce r
	wait_for 20000 line_count out.txt 200
	seq 201 300 | produce r
	wait_for 20000 line_count out.txt 300
	kill -TERM "$pid"
	exits_with "$pid" 0
	diff -u <(seq 1 300) out.txt
	[[ $(cat err.txt) == "kcons: warning: broker $addr"*"; retrying"* ]]
}

@test "broker restart (SIGTERM) during a follow: nothing lost, nothing twice" {
	restart_follow term
}

@test "broker restart (kill -9) during a follow: nothing lost, nothing twice" {
	restart_follow kill
}

@test "a broker gone for longer than -m: exit 69 naming it" {
	start_logd b
	ten t
	"$KCONS" -b "$LOGD_ADDR" -t t -m 1s >out.txt 2>err.txt &
	local pid=$! addr=$LOGD_ADDR
	wait_for 10000 line_count out.txt 10
	stop_logd
	exits_with "$pid" 69
	[[ $(tail -1 err.txt) == "kcons: error: giving up after 1000 ms: "*"$addr"* ]]
}

@test "long poll: an idle follower costs no CPU" {
	start_logd b
	ten t
	"$KCONS" -b "$LOGD_ADDR" -t t >out.txt 2>err.txt &
	local pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 line_count out.txt 10
	local t0 t1
	t0=$(cpu_ticks "$pid")
	sleep 2		# the measuring window, not a wait for something
	t1=$(cpu_ticks "$pid")
	echo "ticks: $((t1 - t0))"
	# Two seconds of following: a few Fetches, well under 5% of a CPU.
	[ $((t1 - t0)) -le 10 ]
	# And new records still show up at once, flushed to the pipe.
	echo late | produce t
	wait_for 5000 line_count out.txt 11
	kill -TERM "$pid"
	exits_with "$pid" 0
}

@test "man page SYNOPSIS is the usage text" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run -0 "$KCONS" --help
	local usage syn
	usage=$(printf '%s\n' "$output" | sed -n '1,/^$/p' | sed 's/^usage: //' | tr -s ' \n' ' ')
	syn=$(mandoc -Tascii "$BATS_TEST_DIRNAME/../man/man1/kcons.1" | col -b |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \n' ' ')
	[ "$(echo $usage)" = "$(echo $syn)" ]
}
