#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# logd's group coordinator and log compaction, with the clients users
# have: kcat and confluent-kafka (librdkafka 2.0.2), kafka-python 2.0.2,
# and raw requests (tests/tools/kgroup.py) where exact error codes and
# versions matter. Groups must split partitions with every record read
# exactly once, survive restarts through __consumer_offsets (whose records
# Burrow must be able to decode), expire dead members, and refuse what
# Kafka refuses. Compacted topics keep the latest value per key with their
# offsets, drop tombstones after delete.retention.ms, refuse records
# without keys, and stay valid across a SIGKILL during compaction.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KD=$BIN_DIR/kdump-segment
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

# no_sanitizer_reports: fail when a broker log holds an ASan/UBSan report.
no_sanitizer_reports() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.log; do
		[ -f "$f" ] || continue
		if grep -E -q 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			return 1
		fi
	done
}

# kg / kp / ck SUBCOMMAND ARGS...: the group, kafka-python and
# confluent-kafka drivers, bounded in time.
kg() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/kgroup.py" "$@"
}

kp() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/kafka_py.py" "$@"
}

ck() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/confluent_py.py" "$@"
}

ctl() {
	timeout 30 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" "$@"
}

# start_groups NAME [LOGD ARGS...]: a broker without the initial delay.
start_groups() {
	local name=$1
	shift
	start_logd "$name" -o group.initial.rebalance.delay.ms=0 "$@"
}

# restart: SIGTERM the broker (must exit 0) and start it again on the
# same data directory.
restart() {
	local dir=$LOGD_DIR rc=0
	stop_logd || rc=$?
	[ "$rc" -eq 0 ]
	start_groups "$(basename "$dir")" "$@"
}

# start_member NAME GROUP TOPIC CLIENT [-X K=V]...: a group consumer in
# the background writing NAME.out; MEMBER_PID is the pid of the Python
# process itself (no timeout wrapper, so SIGKILL reaches the client;
# teardown kills it). All members close (leave) when the file "stop"
# appears. fd 3 is closed so that Bats does not wait for it.
start_member() {
	local name=$1 group=$2 topic=$3 client=$4
	shift 4
	"$PY" "$BATS_TEST_DIRNAME/tools/kgroup.py" member \
	    "$LOGD_ADDR" "$group" "$topic" "$BATS_TEST_TMPDIR/$name.out" \
	    "$BATS_TEST_TMPDIR/stop" "$client" "$@" \
	    >"$BATS_TEST_TMPDIR/$name.err" 2>&1 3>&- &
	MEMBER_PID=$!
	echo "$MEMBER_PID" >>"$BATS_TEST_TMPDIR/.pids"
}

# group_is GROUP STATE N "ASSIGNMENTS": DescribeGroups shows the state,
# N members and, sorted, the assignments ("t:0,1 t:2,3 ").
group_is() {
	local out
	out=$(kg describe "$LOGD_ADDR" "$1" 2>/dev/null) || return 1
	[[ $(head -n 1 <<<"$out") == *" state=$2 "*" members=$3" ]] || return 1
	[ "$(awk '/^ /{print $2}' <<<"$out" | sort | tr '\n' ' ')" = "$4" ]
}

# records_seen N: the members' files hold N records together.
records_seen() {
	[ "$(cat "$BATS_TEST_TMPDIR"/*.out | grep -c '^rec ')" -eq "$1" ]
}

# only_assigned FILE: every record in FILE is from a partition of the
# assignment it had last.
only_assigned() {
	awk '/^assigned/ { delete ok; n = split($2, a, ",")
		for (i = 1; i <= n; i++) { split(a[i], b, ":"); ok[b[2]] = 1 } }
	     /^rec/ && !($2 in ok) { bad++ }
	     END { exit bad > 0 }' "$1"
}

# exactly_once N: the members' records are N distinct (partition, offset)
# pairs, none read twice.
exactly_once() {
	local all distinct
	all=$(cat "$BATS_TEST_TMPDIR"/*.out | grep -c '^rec ')
	distinct=$(cat "$BATS_TEST_TMPDIR"/*.out | awk '/^rec/{print $2, $3}' |
	    sort -u | wc -l)
	[ "$all" -eq "$1" ]
	[ "$distinct" -eq "$1" ]
}

# stop_members PID...: ask every member to leave and wait for them.
stop_members() {
	local pid
	touch "$BATS_TEST_TMPDIR/stop"
	for pid; do
		wait "$pid"
	done
}

# split_test STRATEGY CONSUMERS PARTITIONS "ASSIGNMENTS"
split_test() {
	local strategy=$1 n=$2 parts=$3 expect=$4 i pids=()
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:"$parts"
	for ((i = 1; i <= n; i++)); do
		start_member "m$i" g t ck -X partition.assignment.strategy="$strategy" \
		    -X client.id="ck$i"
		pids+=("$MEMBER_PID")
	done
	wait_for 30000 group_is g Stable "$n" "$expect"
	run -0 kg describe "$LOGD_ADDR" g
	[[ ${lines[0]} == "g error=0 state=Stable type=consumer proto=$strategy members=$n" ]]
	run -0 ck produce "$LOGD_ADDR" t 600 -p "$parts"
	wait_for 30000 records_seen 600
	stop_members "${pids[@]}"
	exactly_once 600
	for ((i = 1; i <= n; i++)); do
		grep -q '^rec ' "m$i.out"
		only_assigned "m$i.out"
	done
	# Every partition's committed offset is its end.
	run -0 kg fetch "$LOGD_ADDR" g
	[ "$(awk '{s += $3} END {print s}' <<<"$output")" -eq 600 ]
}

@test "FindCoordinator answers with the broker (raw v0-2, kafka-python)" {
	start_groups b
	run -0 --separate-stderr kg find "$LOGD_ADDR" g
	[ "${lines[0]}" = "v0 error=0 node=0 $LOGD_ADDR" ]
	[ "${lines[1]}" = "v1 error=0 node=0 $LOGD_ADDR" ]
	[ "${lines[2]}" = "v2 error=0 node=0 $LOGD_ADDR" ]
	[ "${lines[3]}" = "kafka-python coordinator=0" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "__consumer_offsets is internal in Metadata; kafka-python topics() hides it" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:1
	run -0 kg find "$LOGD_ADDR" g
	run -0 --separate-stderr kg metadata "$LOGD_ADDR"
	[ "$output" = "__consumer_offsets internal=1 error=0
t internal=0 error=0" ]
	run -0 --separate-stderr "$PY" -c '
import sys
from kafka import KafkaConsumer
print(" ".join(sorted(KafkaConsumer(bootstrap_servers=sys.argv[1]).topics())))' \
	    "$LOGD_ADDR"
	[ "$output" = "t" ]
}

@test "kcat -G consumes everything and commits; offsets survive a restart" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:3
	run -0 ck produce "$LOGD_ADDR" t 30 -p 3
	run -0 --separate-stderr timeout 30 kcat -b "$LOGD_ADDR" -G gk t -e -q \
	    -X auto.offset.reset=earliest -f '%p %o\n'
	[ "${#lines[@]}" -eq 30 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 30 ]
	expected="t 0 10
t 1 10
t 2 10"
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gk
	[ "$output" = "$expected" ]
	restart
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gk
	[ "$output" = "$expected" ]
	run -0 --separate-stderr kg committed "$LOGD_ADDR" gk t 3
	[ "$output" = "$expected" ]
	run -0 --separate-stderr kg describe "$LOGD_ADDR" gk
	[ "$output" = "gk error=0 state=Empty type=consumer proto=- members=0" ]
	# kcat resumes where the group stopped: nothing left.
	run -0 --separate-stderr timeout 30 kcat -b "$LOGD_ADDR" -G gk t -e -q \
	    -X auto.offset.reset=earliest -f '%p %o\n'
	[ "$output" = "" ]
}

@test "two confluent consumers split 4 partitions (range), each record once" {
	split_test range 2 4 "t:0,1 t:2,3 "
}

@test "three confluent consumers split 6 partitions (roundrobin), each record once" {
	split_test roundrobin 3 6 "t:0,3 t:1,4 t:2,5 "
}

@test "a SIGKILLed consumer expires after session.timeout.ms; its partitions move" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:4
	start_member m1 g t ck -X client.id=ck1
	pid1=$MEMBER_PID
	wait_for 30000 group_is g Stable 1 "t:0,1,2,3 "
	start_member m2 g t ck -X client.id=ck2
	pid2=$MEMBER_PID
	wait_for 30000 group_is g Stable 2 "t:0,1 t:2,3 "
	kill -KILL "$pid2"
	wait "$pid2" 2>/dev/null || true
	t0=$(now_ms)
	# Still two members until the 6 s session timeout.
	group_is g Stable 2 "t:0,1 t:2,3 "
	wait_for 20000 group_is g Stable 1 "t:0,1,2,3 "
	elapsed=$(($(now_ms) - t0))
	[ "$elapsed" -ge 4000 ]
	grep -q 'session timed out after 6000 ms' b.log
	# Records keep flowing, all to the survivor.
	rm -f m2.out
	run -0 ck produce "$LOGD_ADDR" t 40 -p 4
	wait_for 30000 records_seen 40
	stop_members "$pid1"
	exactly_once 40
}

@test "kafka-python and confluent consumers share a group (range)" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:2
	start_member m1 g t kp
	pid1=$MEMBER_PID
	start_member m2 g t ck
	pid2=$MEMBER_PID
	wait_for 40000 group_is g Stable 2 "t:0 t:1 "
	run -0 kg describe "$LOGD_ADDR" g
	[ "${lines[0]}" = "g error=0 state=Stable type=consumer proto=range members=2" ]
	[ "$(printf '%s\n' "${lines[@]:1}" | awk '{print $1}' | sort | tr '\n' ' ')" = "ck kp " ]
	run -0 ck produce "$LOGD_ADDR" t 20 -p 2
	wait_for 30000 records_seen 20
	stop_members "$pid1" "$pid2"
	exactly_once 20
	grep -q '^rec ' m1.out
	grep -q '^rec ' m2.out
	only_assigned m1.out
	only_assigned m2.out
}

@test "members without a common protocol get INCONSISTENT_GROUP_PROTOCOL" {
	start_groups b
	run -0 --separate-stderr kg mismatch "$LOGD_ADDR" g
	[ "$output" = "A error=0
B error=23" ]
	# kafka-python with a custom-named assignor against that member.
	run -0 --separate-stderr "$PY" -c '
import sys
from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import InconsistentGroupProtocolError
class Custom(RangePartitionAssignor):
    name = "custom"
c = KafkaConsumer("t", bootstrap_servers=sys.argv[1], group_id="g",
                  partition_assignment_strategy=[Custom],
                  session_timeout_ms=6000)
try:
    c.poll(timeout_ms=5000)
    print("joined")
except InconsistentGroupProtocolError:
    print("INCONSISTENT_GROUP_PROTOCOL")' "$LOGD_ADDR"
	[ "$output" = "INCONSISTENT_GROUP_PROTOCOL" ]
}

@test "DescribeGroups: unknown group is Dead with error 0; ListGroups lists groups" {
	start_groups b
	run -0 --separate-stderr kg describe "$LOGD_ADDR" nosuch
	[ "$output" = "nosuch error=0 state=Dead type= proto=- members=0" ]
	run -0 ck create "$LOGD_ADDR" t:1
	run -0 kg commit "$LOGD_ADDR" gadmin t 0=1
	run -0 kg join "$LOGD_ADDR" gjoin
	run -0 --separate-stderr kg list "$LOGD_ADDR" kp
	[ "$output" = "gadmin -
gjoin consumer" ]
	run -0 --separate-stderr kg list "$LOGD_ADDR" ck
	[ "$output" = "gadmin -
gjoin consumer" ]
	run -0 --separate-stderr kg describe "$LOGD_ADDR" gadmin gjoin
	[ "${lines[0]}" = "gadmin error=0 state=Empty type= proto=- members=0" ]
	[[ ${lines[1]} == "gjoin error=0 state=CompletingRebalance type=consumer proto=range members=1" ]]
}

@test "DeleteGroups: an empty group and its offsets go (after restart too); a live one is NON_EMPTY" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:2
	run -0 --separate-stderr kg commit "$LOGD_ADDR" ge t 0=5 1=7
	[ "$output" = "t 0 error=0
t 1 error=0" ]
	run -0 kg join "$LOGD_ADDR" glive
	run -0 --separate-stderr kg delete "$LOGD_ADDR" ge glive nosuch
	[ "$output" = "ge NoError
glive NonEmptyGroupError
nosuch GroupIdNotFoundError" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" ge
	[ "$output" = "" ]
	run -0 --separate-stderr kg describe "$LOGD_ADDR" ge
	[ "$output" = "ge error=0 state=Dead type= proto=- members=0" ]
	restart
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" ge
	[ "$output" = "" ]
	run -0 --separate-stderr kg list "$LOGD_ADDR" kp
	[ "$output" = "glive consumer" ]
}

@test "admin OffsetCommit (generation -1, no member): empty group yes, active group no" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:2
	run -0 --separate-stderr kg commit "$LOGD_ADDR" g t 0=3 1=4
	[ "$output" = "t 0 error=0
t 1 error=0" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" g
	[ "$output" = "t 0 3
t 1 4" ]
	# An unknown partition is refused alone.
	run -0 --separate-stderr kg commit "$LOGD_ADDR" g t 1=9 5=1
	[ "$output" = "t 1 error=0
t 5 error=3" ]
	# A member joins: admin commits are now refused (UNKNOWN_MEMBER_ID).
	run -0 kg join "$LOGD_ADDR" g
	run -0 --separate-stderr kg commit "$LOGD_ADDR" g t 0=100
	[ "$output" = "t 0 error=25" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" g
	[ "$output" = "t 0 3
t 1 9" ]
}

@test "JoinGroup v0-3 and v5 (MEMBER_ID_REQUIRED); session timeout bounds" {
	start_groups b
	for v in 0 1 2 3; do
		run -0 --separate-stderr kg join "$LOGD_ADDR" "g$v" -v "$v"
		[[ $output == "error=0 gen=1 proto=range leader=yes ms="* ]]
	done
	run -0 --separate-stderr kg join "$LOGD_ADDR" g5 -v 5 -P roundrobin -P range
	[ "${lines[0]}" = "error=79 member_id=set" ]
	[[ ${lines[1]} == "error=0 gen=1 proto=roundrobin leader=yes ms="* ]]
	run -0 --separate-stderr kg join "$LOGD_ADDR" gs -s 5999
	[[ $output == "error=26 gen=-1 "* ]]
	run -0 --separate-stderr kg join "$LOGD_ADDR" gs -s 1800001 -r 1800001
	[[ $output == "error=26 gen=-1 "* ]]
	run -0 --separate-stderr kg join "$LOGD_ADDR" gs -s 6000
	[[ $output == "error=0 gen=1 "* ]]
	run -0 --separate-stderr kg join "$LOGD_ADDR" gl -s 1800000 -r 1800000
	[[ $output == "error=0 gen=1 "* ]]
}

@test "group.initial.rebalance.delay.ms (3000 by default) delays the first assignment" {
	start_logd b
	run -0 --separate-stderr kg join "$LOGD_ADDR" g -s 10000 -r 10000
	[[ $output =~ ^error=0\ gen=1\ proto=range\ leader=yes\ ms=([0-9]+)$ ]]
	ms=${BASH_REMATCH[1]}
	[ "$ms" -ge 2700 ]
	[ "$ms" -lt 6000 ]
	# Capped by the rebalance timeout.
	run -0 --separate-stderr kg join "$LOGD_ADDR" g2 -s 10000 -r 1000 -v 1
	[[ $output =~ ms=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 2500 ]
	stop_logd
	start_groups b
	run -0 --separate-stderr kg join "$LOGD_ADDR" g3 -s 10000 -r 10000
	[[ $output =~ ms=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 1000 ]
}

@test "__consumer_offsets records decode with Burrow's layouts" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t1:1
	run -0 ck produce "$LOGD_ADDR" t1 3
	run -0 --separate-stderr timeout 30 kcat -b "$LOGD_ADDR" -G gk t1 -e -q \
	    -X auto.offset.reset=earliest -f '%o\n'
	[ "${#lines[@]}" -eq 3 ]
	run -0 kg commit "$LOGD_ADDR" gadm t1 0=2
	run -0 kg delete "$LOGD_ADDR" gadm
	stop_logd
	"$KD" --json -R "$LOGD_DIR"/__consumer_offsets-* >recs.json
	run -0 --separate-stderr kg decode recs.json
	printf '%s\n' "$output" >decoded
	grep -qx 'group v2/1 gk type=consumer gen=1 proto=range leader=set rdkafka@127.0.0.1=t1:0' decoded
	[ "$(grep ' gk t1 0 ' decoded | tail -n 1)" = "offset v1/3 gk t1 0 offset=3 epoch=-1 meta=" ]
	# kcat left: generation 2, no members.
	[ "$(grep '^group v2/1 gk ' decoded | tail -n 1)" = "group v2/1 gk type=consumer gen=2 proto=None leader=none " ]
	grep -qx 'offset v1/3 gadm t1 0 offset=2 epoch=-1 meta=admin' decoded
	grep -qx 'offset-key v1 gadm t1 0 tombstone' decoded
	grep -qx 'group-key v2 gadm tombstone' decoded
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
}

# produce_kv TOPIC ROUNDS KEYS FILLER [TOMBSTONE_KEY]: ROUNDS updates of
# keys k0..k(KEYS-1) ("vK-R"), then a tombstone, then FILLER records
# "z-I" of key z, one small batch each; prints nothing on success.
produce_kv() {
	timeout 60 "$PY" - "$LOGD_ADDR" "$@" <<'EOF'
import sys
from confluent_kafka import Producer
addr, topic, rounds, keys, filler = sys.argv[1:6]
tomb = sys.argv[6] if len(sys.argv) > 6 else None
errs = []
p = Producer({"bootstrap.servers": addr, "linger.ms": 0})
def dr(e, m):
    if e is not None:
        errs.append(e.name())
def one(k, v):
    p.produce(topic, key=k, value=v, on_delivery=dr)
    p.flush(15)
for r in range(int(rounds)):
    for k in range(int(keys)):
        one(b"k%d" % k, b"v%d-%d" % (k, r))
if tomb:
    one(tomb.encode(), None)
for i in range(int(filler)):
    one(b"z", b"z-%d" % i)
if errs:
    sys.exit("errors: %s" % errs)
EOF
}

@test "compaction through logd: latest value per key, offsets kept, tombstones expire" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" ct:1 -c cleanup.policy=compact \
	    -c segment.bytes=1024 -c min.cleanable.dirty.ratio=0.01 \
	    -c delete.retention.ms=1000
	run -0 produce_kv ct 20 5 30 k1
	# Offsets: round R key K at 5R+K, the tombstone at 100, z at 101-130.
	run -0 ctl compact
	horizon=$(($(now_ms) + 1100))
	grep -q 'compacted topic=ct partition=0' b.log
	run -0 --separate-stderr ck consume "$LOGD_ADDR" ct
	[ "$(grep ' k' <<<"$output")" = "0 95 k0 v0-19
0 97 k2 v2-19
0 98 k3 v3-19
0 99 k4 v4-19
0 100 k1 null" ]
	[ "${lines[-1]}" = "0 130 z z-29" ]
	[ "$(grep -c ' z ' <<<"$output")" -lt 30 ]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/ct-0"
	[[ $output == "verify files="*" problems=0" ]]
	# A record without a key is refused (CORRUPT_MESSAGE).
	run -0 --separate-stderr "$PY" -c '
import sys
from confluent_kafka import Producer
out = []
p = Producer({"bootstrap.servers": sys.argv[1]})
p.produce("ct", value=b"nokey", on_delivery=lambda e, m: out.append(e.name() if e else "ok"))
p.flush(15)
print(out)' "$LOGD_ADDR"
	[ "$output" = "['INVALID_MSG']" ]
	grep -q 'a compacted topic needs a key on every record' b.log
	# Once delete.retention.ms (1 s) has passed since the tombstone was
	# first kept, the next cleaning (it needs new dirty data) drops it.
	past_horizon() {
		[ "$(now_ms)" -ge "$horizon" ]
	}
	wait_for 5000 past_horizon
	run -0 produce_kv ct 0 0 30
	run -0 ctl compact
	run -0 --separate-stderr ck consume "$LOGD_ADDR" ct
	[ "$(grep ' k' <<<"$output")" = "0 95 k0 v0-19
0 97 k2 v2-19
0 98 k3 v3-19
0 99 k4 v4-19" ]
	[ "${lines[-1]}" = "0 160 z z-29" ]
	stop_logd
	grep -Eq '^ct 0 [0-9]+$' "$LOGD_DIR/cleaner-offset-checkpoint"
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
}

# latest_values: "KEY VALUE" of the last record of each key of big-0.
latest_values() {
	"$KD" --json -R "$LOGD_DIR/big-0" | jq -r '"\(.key) \(.value)"' |
	    awk '{v[$1] = $2} END {for (k in v) print k, v[k]}' |
	    sed 's/-x*$//' | sort
}

@test "SIGKILL during compaction leaves a valid log with the latest values" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" big:1 -c cleanup.policy=compact \
	    -c segment.bytes=65536 -c min.cleanable.dirty.ratio=0.01
	run -0 timeout 60 "$PY" - "$LOGD_ADDR" <<'EOF'
import sys
from confluent_kafka import Producer
errs = []
# Batches must fit in a segment (RECORD_LIST_TOO_LARGE otherwise).
p = Producer({"bootstrap.servers": sys.argv[1], "linger.ms": 5,
              "batch.size": 16384, "queue.buffering.max.messages": 200000})
for i in range(40000):
    k = i % 200
    p.produce("big", key=b"k%d" % k, value=b"v%d-%d-" % (k, i // 200) + b"x" * 100,
              on_delivery=lambda e, m: e and errs.append(e.name()))
    p.poll(0)
assert p.flush(30) == 0 and not errs, errs[:3]
EOF
	timeout 30 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" compact >/dev/null 2>&1 &
	ctl_pid=$!
	# Kill as soon as the cleaner has written something (the pass takes
	# about 100 ms, mostly with such files present).
	cleaning() {
		compgen -G "$LOGD_DIR/big-0/*.cleaned" >/dev/null ||
		    compgen -G "$LOGD_DIR/big-0/*.swap" >/dev/null ||
		    compgen -G "$LOGD_DIR/big-0/*.deleted" >/dev/null
	}
	wait_for 5000 cleaning
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" 2>/dev/null || true
	wait "$ctl_pid" || true
	# Recovery on restart, then a clean stop: the log verifies and the
	# last value of every key is the one of round 199. (Read with
	# kdump-segment: librdkafka 2.0.2 gives up with MSG_SIZE_TOO_LARGE
	# after 10 fetch answers holding only empty batches, and the first
	# cleaning leaves one such segment per rewritten group.)
	start_groups b
	stop_logd
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
	expected=$(for ((k = 0; k < 200; k++)); do echo "k$k v$k-199"; done | sort)
	[ "$(latest_values)" = "$expected" ]
	# Compaction can finish now; nothing changes for readers.
	start_groups b
	run -0 ctl compact
	stop_logd
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
	[ "$(latest_values)" = "$expected" ]
	run -0 "$KD" -c "$LOGD_DIR/big-0"
	[ "$output" -lt 1000 ]
}

@test "__consumer_offsets is compacted too; offsets survive it and a restart" {
	# One offsets partition with small segments, created before the
	# coordinator would create it (logd has no AlterConfigs).
	start_groups b -o offsets.topic.num.partitions=1
	run -0 ck create "$LOGD_ADDR" __consumer_offsets:1 \
	    -c cleanup.policy=compact -c segment.bytes=1024 \
	    -c min.cleanable.dirty.ratio=0.01
	run -0 ck create "$LOGD_ADDR" t:2
	run -0 timeout 60 "$PY" - "$LOGD_ADDR" "$BATS_TEST_DIRNAME/tools" <<'EOF'
import contextlib, io, sys
sys.path.insert(0, sys.argv[2])
import kgroup
for i in range(1, 61):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        kgroup.cmd_commit([sys.argv[1], "gc", "t", "0=%d" % i, "1=%d" % (2 * i)])
    assert out.getvalue() == "t 0 error=0\nt 1 error=0\n", out.getvalue()
EOF
	size() {
		ctl topics | awk '$1 == "__consumer_offsets" {print $7}'
	}
	before=$(size)
	run -0 ctl compact
	after=$(size)
	[ "$after" -lt $((before / 2)) ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gc
	[ "$output" = "t 0 60
t 1 120" ]
	restart -o offsets.topic.num.partitions=1
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gc
	[ "$output" = "t 0 60
t 1 120" ]
	stop_logd
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
}

# od GROUP TOPIC:P[,P...]...: a raw OffsetDelete v0; "error=E", then
# "TOPIC P error=E" per partition in the order of the response.
od() {
	timeout 60 "$PY" - "$LOGD_ADDR" "$BATS_TEST_DIRNAME/tools" "$@" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[2])
import kwire
from kwire import kstr
addr, group, specs = sys.argv[1], sys.argv[3], sys.argv[4:]
body = kstr(group) + struct.pack(">i", len(specs))
for spec in specs:
    t, ps = spec.split(":")
    ps = [int(p) for p in ps.split(",")]
    body += kstr(t) + struct.pack(">i%di" % len(ps), len(ps), *ps)
c = kwire.Conn(addr)
r = c.recv(c.send(47, 0, body))
err, _throttle = r.i16(), r.i32()
print("error=%d" % err)
for _ in range(r.i32()):
    t = r.string()
    for _ in range(r.i32()):
        p, e = r.i32(), r.i16()
        print("%s %d error=%d" % (t, p, e))
assert r.left() == 0, "%d bytes left" % r.left()
EOF
}

# join_typed GROUP TYPE: a raw JoinGroup v2 of a member of protocol type
# TYPE (it stays a member for its 10 s session); prints the error code.
join_typed() {
	timeout 60 "$PY" - "$LOGD_ADDR" "$BATS_TEST_DIRNAME/tools" "$@" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[2])
import kwire
from kwire import kbytes, kstr
addr, group, ptype = sys.argv[1], sys.argv[3], sys.argv[4]
body = (kstr(group) + struct.pack(">ii", 10000, 10000) + kstr("") +
        kstr(ptype) + struct.pack(">i", 1) + kstr("default") + kbytes(b"x"))
c = kwire.Conn(addr, timeout=30)
r = c.recv(c.send(11, 2, body))
r.i32()
print("error=%d" % r.i16())
EOF
}

@test "OffsetDelete v0: an Empty group's offsets become tombstones, gone after a restart too" {
	start_groups b
	run -0 --separate-stderr "$PY" -c '
import sys
sys.path.insert(0, sys.argv[2])
import kwire
print(kwire.Conn(sys.argv[1]).api_versions()[1][47])' \
	    "$LOGD_ADDR" "$BATS_TEST_DIRNAME/tools"
	[ "$output" = "(0, 0)" ]
	run -0 ck create "$LOGD_ADDR" t:2 u:1
	run -0 kg commit "$LOGD_ADDR" ge t 0=5 1=7
	run -0 kg commit "$LOGD_ADDR" ge u 0=3
	# Repeats count once; unknown partitions are refused alone.
	run -0 --separate-stderr od ge u:0 t:1,1,9 nosuch:0 t:1
	[ "$output" = "error=0
nosuch 0 error=3
t 1 error=0
t 9 error=3
u 0 error=0" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" ge
	[ "$output" = "t 0 5" ]
	restart
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" ge
	[ "$output" = "t 0 5" ]
	# Its last offset gone, an Empty group is Dead, as in Kafka.
	run -0 --separate-stderr od ge t:0
	[ "$output" = "error=0
t 0 error=0" ]
	run -0 --separate-stderr kg describe "$LOGD_ADDR" ge
	[ "$output" = "ge error=0 state=Dead type= proto=- members=0" ]
	run -0 --separate-stderr od ge t:0
	[ "$output" = "error=69" ]
	restart
	run -0 --separate-stderr kg list "$LOGD_ADDR" kp
	[ "$output" = "" ]
	stop_logd
	"$KD" --json -R "$LOGD_DIR"/__consumer_offsets-* >recs.json
	run -0 --separate-stderr kg decode recs.json
	printf '%s\n' "$output" >decoded
	grep -qx 'offset-key v1 ge t 1 tombstone' decoded
	grep -qx 'offset-key v1 ge u 0 tombstone' decoded
	grep -qx 'offset-key v1 ge t 0 tombstone' decoded
	grep -qx 'group-key v2 ge tombstone' decoded
}

@test "OffsetDelete: members keep their subscribed topics (86); unknown 69, empty id 24, other types 68" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:2 u:1
	run -0 kg commit "$LOGD_ADDR" gs t 0=5 1=7
	run -0 kg commit "$LOGD_ADDR" gs u 0=3
	# A member subscribing to "t" (kgroup.py join), for its 10 s session.
	run -0 kg join "$LOGD_ADDR" gs
	run -0 --separate-stderr od gs t:0,1 u:0
	[ "$output" = "error=0
t 0 error=86
t 1 error=86
u 0 error=0" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gs
	[ "$output" = "t 0 5
t 1 7" ]
	run -0 --separate-stderr kg describe "$LOGD_ADDR" gs
	[[ $output == "gs error=0 state=CompletingRebalance type=consumer proto=range members=1"* ]]
	run -0 --separate-stderr od nosuch t:0
	[ "$output" = "error=69" ]
	run -0 --separate-stderr od "" t:0
	[ "$output" = "error=24" ]
	run -0 --separate-stderr join_typed gc connect
	[ "$output" = "error=0" ]
	run -0 --separate-stderr od gc t:0
	[ "$output" = "error=68" ]
}

@test "librdkafka's DeleteConsumerGroupOffsets against logd" {
	start_groups b
	run -0 ck create "$LOGD_ADDR" t:2 u:1
	run -0 kg commit "$LOGD_ADDR" gr t 0=5 1=7
	run -0 kg commit "$LOGD_ADDR" gr u 0=3
	run -0 --separate-stderr ck delete-offsets "$LOGD_ADDR" gr t:1
	[ "$output" = "t 1 ok" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gr
	[ "$output" = "t 0 5
u 0 3" ]
	start_member m1 gr t ck
	wait_for 30000 group_is gr Stable 1 "t:0,1 "
	run -1 --separate-stderr ck delete-offsets "$LOGD_ADDR" gr t:0 u:0
	[ "$output" = "t 0 error GROUP_SUBSCRIBED_TO_TOPIC
u 0 ok" ]
	run -0 --separate-stderr kg fetch "$LOGD_ADDR" gr
	[ "$output" = "t 0 5" ]
	stop_members "$MEMBER_PID"
	run -1 --separate-stderr ck delete-offsets "$LOGD_ADDR" nosuch t:0
	[[ $output == "request error GROUP_ID_NOT_FOUND:"* ]]
}
