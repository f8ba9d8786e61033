#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kcons -G against a real logd: three members share a 6-partition topic
# and deliver every record once (with -e, and stopped by SIGTERM); a
# member killed with -9 hands its partitions over within the session
# timeout without a record skipped; members stopped and restarted resume
# at the committed offsets, also across a logd restart; kcat -G and a
# confluent-kafka Consumer share a group with kcons (range); -o stored,
# --commit-before (at-most-once), a closed pipe committing nothing
# beyond what was written, and the usage errors of group mode. The
# heartbeat thread: a member whose stdout is blocked longer than the
# session timeout stays a member, and one blocked longer than
# max.poll.interval.ms leaves and comes back. cooperative-sticky
# (KIP-429): kcons members alone, with eager members moving over, and
# with confluent-kafka members doing incremental assignment, each record
# once and partitions that stay never revoked.
bats_require_minimum_version 1.5.0
load helpers

# "create ADDR TOPIC PARTS" and "produce ADDR TOPIC PARTS FROM TO [SIZE]":
# values r-FROM .. r-(TO-1), record i in partition i % PARTS (padded to
# SIZE bytes when given), batched.
FEED_PY='
import sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
cmd, addr, topic, parts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if cmd == "create":
    a = AdminClient({"bootstrap.servers": addr})
    for f in a.create_topics([NewTopic(topic, parts, 1)]).values():
        f.result(15)
    sys.exit(0)
lo, hi = int(sys.argv[5]), int(sys.argv[6])
size = int(sys.argv[7]) if len(sys.argv) > 7 else 0
p = Producer({"bootstrap.servers": addr, "linger.ms": 20})
errs = []
def cb(err, msg):
    if err is not None:
        errs.append(str(err))
for i in range(lo, hi):
    v = "r-%d" % i
    p.produce(topic, value=v + "." * (size - len(v)), partition=i % parts,
              on_delivery=cb)
    p.poll(0)
if p.flush(30) or errs:
    sys.exit("produce failed: %s" % errs)
'

# A confluent-kafka group member: prints values until STOPFILE exists.
MEMBER_PY='
import os, sys
from confluent_kafka import Consumer
addr, group, topic, stop = sys.argv[1:5]
c = Consumer({"bootstrap.servers": addr, "group.id": group,
              "auto.offset.reset": "earliest",
              "partition.assignment.strategy": "range",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
c.subscribe([topic])
while not os.path.exists(stop):
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    sys.stdout.write(m.value().decode() + "\n")
    sys.stdout.flush()
c.close()
'

# A confluent-kafka member with cooperative-sticky and incremental
# assignment: prints values until STOPFILE exists; its rebalance events
# ("assign P,P", "revoke P", then "closing") go to LOG. It commits what
# it printed before giving partitions up.
COOP_PY='
import os, sys
from confluent_kafka import Consumer, KafkaException
addr, group, topic, stop, log = sys.argv[1:6]
logf = open(log, "w", buffering=1)
def on_assign(c, parts):
    logf.write("assign %s\n" % ",".join(str(p.partition) for p in parts))
    c.incremental_assign(parts)
def on_revoke(c, parts):
    logf.write("revoke %s\n" % ",".join(str(p.partition) for p in parts))
    try:
        c.commit(asynchronous=False)
    except KafkaException:
        pass        # nothing new to commit
c = Consumer({"bootstrap.servers": addr, "group.id": group,
              "auto.offset.reset": "earliest",
              "partition.assignment.strategy": "cooperative-sticky",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
              "auto.commit.interval.ms": 300})
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
while not os.path.exists(stop):
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    sys.stdout.write(m.value().decode() + "\n")
    sys.stdout.flush()
logf.write("closing\n")
c.close()
'

# Quick group timings for the tests.
GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=300
    -X auto.commit.interval.ms=300 -X max.poll.interval.ms=20000)

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KCONS=$BIN_DIR/kcons
	start_logd g -o group.initial.rebalance.delay.ms=0
}

teardown() {
	touch "$BATS_TEST_TMPDIR/stop"
	kill_daemons
}

create() {
	timeout 30 "$PY" -c "$FEED_PY" create "$LOGD_ADDR" "$@"
}

# produce TOPIC PARTS FROM TO [SIZE]
produce() {
	timeout 60 "$PY" -c "$FEED_PY" produce "$LOGD_ADDR" "$@"
}

kcons() {
	timeout 30 "$KCONS" -b "$LOGD_ADDR" "$@"
}

# member NAME ARGS...: a kcons group member in the background, its
# output in NAME.out, its messages (-v) in NAME.err, its pid in PID_NAME.
member() {
	local name=$1
	shift
	"$KCONS" -b "$LOGD_ADDR" -v "${GROUP_X[@]}" "$@" >"$name.out" \
	    2>"$name.err" &
	printf -v "PID_$name" %s "$!"
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
}

# seq_values FROM TO: the values r-FROM .. r-(TO-1), sorted.
seq_values() {
	local i
	for ((i = $1; i < $2; i++)); do echo "r-$i"; done | sort
}

total_lines() {
	cat "$@" | wc -l
}

# lines_at_least N FILES...: the files hold N lines or more together.
lines_at_least() {
	local n=$1
	shift
	[ "$(total_lines "$@")" -ge "$n" ]
}

# distinct_at_least N FILES...
distinct_at_least() {
	local n=$1
	shift
	[ "$(sort -u "$@" | wc -l)" -ge "$n" ]
}

# assigned NAME N: the member's latest assignment has N partitions.
assigned() {
	[ "$(grep 'partitions assigned' "$1.err" | tail -n 1 |
	    sed 's/.*: \([0-9]*\) partitions assigned/\1/')" = "$2" ]
}

# latest_parts NAME: the partitions of the member's latest assignment
# (its -v -v lines), sorted, one per line.
latest_parts() {
	awk '/assigned topic/ { buf = buf $NF "\n" }
	    /partitions assigned/ { last = buf; buf = "" }
	    END { printf "%s", last }' "$1.err" | sort -n
}

# revoked_parts NAME: every partition the member revoked (-v -v), sorted.
revoked_parts() {
	awk '/revoked topic/ { print $NF }' "$1.err" | sort -n
}

# py_owned LOG: the partitions a COOP_PY member owns now, sorted.
py_owned() {
	[ -f "$1" ] || return 0
	awk '/^closing/ { exit }
	    /^(assign|revoke) / { n = split($2, p, ",")
		for (i = 1; i <= n; i++) own[p[i]] = ($1 == "assign") }
	    END { for (k in own) if (own[k]) print k }' "$1" | sort -n
}

# py_count LOG N: the COOP_PY member owns N partitions.
py_count() {
	[ "$(py_owned "$1" | wc -l)" -eq "$2" ]
}

# py_revoked LOG: what it revoked before closing, sorted.
py_revoked() {
	awk '/^closing/ { exit }
	    /^revoke ./ { n = split($2, p, ","); for (i = 1; i <= n; i++)
		print p[i] }' "$1" | sort -n
}

# exactly_once FROM TO FILES...: the files hold each of r-FROM .. r-(TO-1)
# once (values cut at their first dot: padded records).
exactly_once() {
	local from=$1 to=$2
	shift 2
	cut -d. -f1 "$@" | sort >all
	seq_values "$from" "$to" >want
	diff -u want all
}

# members_of GROUP N: kgroups describe shows N members.
members_of() {
	"$BIN_DIR/kgroups" -b "$LOGD_ADDR" describe "$1" >describe.out &&
	    grep -q "^MEMBERS  *$2\$" describe.out
}

@test "three members with -e deliver every record exactly once" {
	create six 6
	produce six 6 0 1200
	member a -G g -e -t six
	member b -G g -e -t six
	member c -G g -e -t six
	wait "$PID_a"
	wait "$PID_b"
	wait "$PID_c"
	sort a.out b.out c.out >all
	seq_values 0 1200 >want
	diff -u want all
}

@test "three members share the partitions (range: two each) and stop on SIGTERM" {
	create six 6
	member a -G g -t six
	member b -G g -t six
	member c -G g -t six
	wait_for 20000 assigned a 2
	wait_for 20000 assigned b 2
	wait_for 20000 assigned c 2
	produce six 6 0 600
	wait_for 20000 lines_at_least 600 a.out b.out c.out
	kill -TERM "$PID_a" "$PID_b" "$PID_c"
	wait "$PID_a"
	wait "$PID_b"
	wait "$PID_c"
	[ "$(wc -l <a.out)" -eq 200 ]
	[ "$(wc -l <b.out)" -eq 200 ]
	[ "$(wc -l <c.out)" -eq 200 ]
	sort a.out b.out c.out >all
	seq_values 0 600 >want
	diff -u want all
	# Clean exits left the group: the logd log says so.
	[ "$(grep -c 'left' "$BATS_TEST_TMPDIR/g.log")" -ge 3 ]
}

@test "a member killed with -9: its partitions move on, nothing is skipped" {
	create six 6
	member a -G g -t six
	member b -G g -t six
	member c -G g -t six
	wait_for 20000 assigned a 2
	wait_for 20000 assigned b 2
	wait_for 20000 assigned c 2
	produce six 6 0 600
	wait_for 20000 lines_at_least 600 a.out b.out c.out
	kill -KILL "$PID_c"
	wait "$PID_c" || true
	produce six 6 600 1200
	# The session timeout (6 s) evicts c; a and b take its partitions.
	wait_for 30000 distinct_at_least 1200 a.out b.out c.out
	wait_for 10000 assigned a 3
	wait_for 10000 assigned b 3
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	sort -u a.out b.out c.out >all
	seq_values 0 1200 >want
	diff -u want all
	# Repeats come only from c's uncommitted window.
	sort a.out b.out c.out | uniq -d >dups
	sort c.out >c.sorted
	[ -z "$(comm -23 dups c.sorted)" ]
}

@test "sticky: a member leaving moves only its partitions, nothing is lost" {
	create six 6
	member a -v -G g -a sticky -t six
	member b -v -G g -a sticky -t six
	member c -v -G g -a sticky -t six
	wait_for 20000 assigned a 2
	wait_for 20000 assigned b 2
	wait_for 20000 assigned c 2
	latest_parts a >a.before
	latest_parts b >b.before
	produce six 6 0 600
	wait_for 20000 lines_at_least 600 a.out b.out c.out
	kill -TERM "$PID_c"
	wait "$PID_c"
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	latest_parts a >a.after
	latest_parts b >b.after
	# Both kept what they had.
	[ -z "$(comm -23 a.before a.after)" ]
	[ -z "$(comm -23 b.before b.after)" ]
	produce six 6 600 1200
	wait_for 20000 lines_at_least 1200 a.out b.out c.out
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	sort a.out b.out c.out >all
	seq_values 0 1200 >want
	diff -u want all
}

@test "stopped members resume at the committed offsets" {
	create six 6
	member a -G g -t six
	member b -G g -t six
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	produce six 6 0 600
	wait_for 20000 lines_at_least 600 a.out b.out
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	produce six 6 600 900
	member r -G g -e -t six
	wait "$PID_r"
	sort r.out >got
	seq_values 600 900 >want
	diff -u want got
	# Nothing left: a last run prints nothing.
	run -0 kcons -G g -e -t six
	[ -z "$output" ]
}

@test "groups and committed offsets survive a logd restart" {
	create six 6
	produce six 6 0 300
	run -0 kcons -G g -e -t six
	[ "${#lines[@]}" -eq 300 ]
	stop_logd
	start_logd g -o group.initial.rebalance.delay.ms=0
	produce six 6 300 450
	run -0 kcons -G g -e -o stored -t six
	[ "$(printf '%s\n' "${lines[@]}" | sort)" = "$(seq_values 300 450)" ]
}

@test "kcat -G and a confluent-kafka Consumer share a group with kcons (range)" {
	create six 6
	"$PY" -c "$MEMBER_PY" "$LOGD_ADDR" g six "$BATS_TEST_TMPDIR/stop" \
	    >py.out 2>py.err &
	PID_py=$!
	echo "$PID_py" >>"$BATS_TEST_TMPDIR/.pids"
	kcat -b "$LOGD_ADDR" -G g -u -f '%s\n' -q -X auto.offset.reset=earliest \
	    -X partition.assignment.strategy=range \
	    -X session.timeout.ms=6000 six >kcat.out 2>kcat.err &
	PID_kcat=$!
	echo "$PID_kcat" >>"$BATS_TEST_TMPDIR/.pids"
	member k -G g -a range -t six
	wait_for 30000 assigned k 2
	sleep 1
	produce six 6 0 600
	wait_for 30000 lines_at_least 600 py.out kcat.out k.out
	sleep 1
	touch "$BATS_TEST_TMPDIR/stop"
	kill -TERM "$PID_k" "$PID_kcat"
	wait "$PID_k"
	wait "$PID_py"
	sort py.out kcat.out k.out >all
	seq_values 0 600 >want
	diff -u want all
	[ "$(wc -l <k.out)" -eq 200 ]
	[ "$(wc -l <py.out)" -eq 200 ]
	[ "$(wc -l <kcat.out)" -eq 200 ]
}

@test "-o stored: auto.offset.reset decides for partitions without a commit" {
	create six 6
	produce six 6 0 60
	run -1 kcons -G g -e -o stored -t six
	[[ "$output" == *"has no committed offset"* ]]
	run -0 kcons -G g -e -o stored -X auto.offset.reset=latest -t six
	[ -z "$output" ]
	run -0 kcons -G g2 -e -o stored -X auto.offset.reset=earliest -t six
	[ "${#lines[@]}" -eq 60 ]
	# Other -o forms only apply without a committed offset.
	produce six 6 60 66
	run -0 kcons -G g2 -e -o beginning -t six
	[ "$(printf '%s\n' "${lines[@]}" | sort)" = "$(seq_values 60 66)" ]
}

@test "at-least-once by default, at-most-once with --commit-before" {
	create one 1
	produce one 1 0 100
	run -0 kcons -G least -c 5 -t one
	[ "${#lines[@]}" -eq 5 ]
	run -0 kcons -G least -e -t one
	[ "${#lines[@]}" -eq 95 ]
	[ "${lines[0]}" = "r-5" ]
	# -B commits what was fetched before printing: the rest is skipped.
	run -0 kcons -G most -B -c 5 -t one
	[ "${#lines[@]}" -eq 5 ]
	run -0 kcons -G most -B -e -t one
	[ "${#lines[@]}" -lt 95 ]
	[ "${lines[0]:-}" != "r-5" ]
}

@test "a closed pipe commits nothing beyond what was written" {
	create big 1
	produce big 1 0 3000 1000
	timeout 30 "$KCONS" -b "$LOGD_ADDR" -G g -t big 2>err | head -n 5 >first
	[ "$(wc -l <first)" -eq 5 ]
	run -0 kcons -G g -e -t big
	n=${#lines[@]}
	# Something is left (the pipe took far less than 3 MB) ...
	[ "$n" -gt 0 ]
	# ... and the rest follows the committed offset without a gap.
	[ "$(printf '%s\n' "${lines[@]}" | cut -c1-8 | tr -d .)" = \
	    "$(for ((i = 3000 - n; i < 3000; i++)); do echo "r-$i"; done)" ]
}

@test "a member whose stdout blocks longer than session.timeout.ms stays a member" {
	create six 6
	# a's reader reads nothing until the file "go" exists.
	mkfifo a.fifo
	(while [ ! -e go ]; do sleep 0.05; done; cat) <a.fifo >a.out &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	"$KCONS" -b "$LOGD_ADDR" -v "${GROUP_X[@]}" -G g -t six >a.fifo \
	    2>a.err &
	PID_a=$!
	echo "$PID_a" >>"$BATS_TEST_TMPDIR/.pids"
	member b -G g -t six
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	# 1.5 MB for a: far more than a pipe holds, so its writes block.
	produce six 6 0 3000 1000
	wait_for 20000 lines_at_least 1500 b.out
	grep 'partitions assigned' a.err b.err >assignments
	grep -c 'timed out' g.log >timeouts || true
	# Twice the session timeout (6 s) with a's stdout blocked: both stay
	# members of the same generation.
	deadline=$(($(now_ms) + 12000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		members_of g 2
		[ ! -s a.out ]
		sleep 1
	done
	grep 'partitions assigned' a.err b.err | diff -u assignments -
	[ "$(grep -c 'timed out' g.log)" -eq "$(cat timeouts)" ]
	touch go
	wait_for 20000 lines_at_least 3000 a.out b.out
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	exactly_once 0 3000 a.out b.out
	[ "$(wc -l <a.out)" -eq 1500 ]
}

@test "a member blocked longer than max.poll.interval.ms leaves, then comes back" {
	create six 6
	mkfifo a.fifo
	(while [ ! -e go ]; do sleep 0.05; done; cat) <a.fifo >a.out &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	"$KCONS" -b "$LOGD_ADDR" -v "${GROUP_X[@]}" \
	    -X max.poll.interval.ms=7000 -G g -t six >a.fifo 2>a.err &
	PID_a=$!
	echo "$PID_a" >>"$BATS_TEST_TMPDIR/.pids"
	member b -G g -t six
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	produce six 6 0 3000 1000
	# After 7 s without progress a leaves; b takes everything.
	wait_for 30000 assigned b 6
	grep -q 'max.poll.interval.ms (7000): leaving the group' a.err
	members_of g 1
	touch go
	wait_for 30000 assigned a 3
	wait_for 30000 distinct_at_least 3000 a.out b.out
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	# Nothing lost; repeats only from what a printed after it left.
	cut -d. -f1 a.out b.out | sort -u >all
	seq_values 0 3000 >want
	diff -u want all
	cut -d. -f1 a.out b.out | sort | uniq -d >dups
	cut -d. -f1 a.out | sort >a.sorted
	[ -z "$(comm -23 dups a.sorted)" ]
}

@test "cooperative-sticky: members come and go, partitions that stay are never revoked" {
	create six 6
	member a -v -G g -a cooperative-sticky -t six
	wait_for 20000 assigned a 6
	produce six 6 0 600
	member b -v -G g -a cooperative-sticky -t six
	# Two rounds: a revokes three (withheld from b in the first), and b
	# gets them in the second.
	wait_for 20000 assigned b 3
	wait_for 20000 assigned a 3
	latest_parts a >a.kept
	[ "$(revoked_parts a)" = "$(printf '%s\n' 0 1 2 3 4 5 |
	    comm -23 - a.kept)" ]
	grep -q 'generation [0-9]*: 0 partitions assigned' b.err
	produce six 6 600 1200
	member c -v -G g -a cooperative-sticky -t six
	wait_for 20000 assigned c 2
	wait_for 20000 assigned a 2
	wait_for 20000 assigned b 2
	latest_parts a >a.after
	latest_parts b >b.after
	# What a and b still have, they had all along.
	[ -z "$(comm -12 a.after <(revoked_parts a))" ]
	[ -z "$(comm -12 b.after <(revoked_parts b))" ]
	[ "$(revoked_parts b | wc -l)" -eq 1 ]
	produce six 6 1200 1800
	kill -TERM "$PID_b"
	wait "$PID_b"
	wait_for 20000 assigned a 3
	wait_for 20000 assigned c 3
	produce six 6 1800 2400
	wait_for 20000 lines_at_least 2400 a.out b.out c.out
	kill -TERM "$PID_a" "$PID_c"
	wait "$PID_a"
	wait "$PID_c"
	exactly_once 0 2400 a.out b.out c.out
	grep -q 'protocol cooperative-sticky' g.log
}

@test "cooperative-sticky: eager members offering it too share the group" {
	create six 6
	# a offers cooperative-sticky only: the group can pick nothing else.
	member a -G g -a cooperative-sticky -t six
	wait_for 20000 assigned a 6
	member b -G g -a range,cooperative-sticky -t six
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	produce six 6 0 600
	member c -G g -a roundrobin,cooperative-sticky -t six
	wait_for 20000 assigned c 2
	wait_for 20000 assigned a 2
	wait_for 20000 assigned b 2
	produce six 6 600 1200
	wait_for 20000 lines_at_least 1200 a.out b.out c.out
	kill -TERM "$PID_a" "$PID_b" "$PID_c"
	wait "$PID_a"
	wait "$PID_b"
	wait "$PID_c"
	exactly_once 0 1200 a.out b.out c.out
	grep -q 'protocol cooperative-sticky' g.log
	[ "$(grep -c 'protocol range\|protocol roundrobin' g.log)" -eq 0 ]
}

@test "cooperative-sticky: kcons and confluent-kafka (incremental assign) share a group" {
	create six 6
	member a -v -G g -a cooperative-sticky -t six
	wait_for 20000 assigned a 6
	produce six 6 0 600
	"$PY" -c "$COOP_PY" "$LOGD_ADDR" g six "$BATS_TEST_TMPDIR/stop" \
	    py.log >py.out 2>py.err &
	PID_py=$!
	echo "$PID_py" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 30000 py_count py.log 3
	wait_for 20000 assigned a 3
	produce six 6 600 1200
	member b -v -G g -a cooperative-sticky -t six
	wait_for 30000 assigned b 2
	wait_for 20000 assigned a 2
	wait_for 20000 py_count py.log 2
	produce six 6 1200 1800
	wait_for 20000 lines_at_least 1800 a.out b.out py.out
	# Each gave up only what moved: a three then one, py one.
	latest_parts a >a.after
	[ "$(revoked_parts a | wc -l)" -eq 4 ]
	[ -z "$(comm -12 a.after <(revoked_parts a))" ]
	[ "$(py_revoked py.log | wc -l)" -eq 1 ]
	[ -z "$(comm -12 <(py_owned py.log) <(py_revoked py.log))" ]
	# py leaves: a and b take its two.
	touch "$BATS_TEST_TMPDIR/stop"
	wait "$PID_py"
	wait_for 20000 assigned a 3
	wait_for 20000 assigned b 3
	produce six 6 1800 2400
	wait_for 20000 lines_at_least 2400 a.out b.out py.out
	kill -TERM "$PID_a" "$PID_b"
	wait "$PID_a"
	wait "$PID_b"
	exactly_once 0 2400 a.out b.out py.out
}

@test "group mode usage errors exit 64" {
	run -64 "$KCONS" -b "$LOGD_ADDR" -o stored -t x
	[[ "$output" == *"-o stored needs -G"* ]]
	run -64 "$KCONS" -b "$LOGD_ADDR" -B -t x
	run -64 "$KCONS" -b "$LOGD_ADDR" -G g -a sticky-ish -t x
	[[ "$output" == *"unknown assignor 'sticky-ish' (use range, roundrobin, sticky or cooperative-sticky)"* ]]
	run -64 "$KCONS" -b "$LOGD_ADDR" -G g -p 0 -t x
	run -78 "$KCONS" -b "$LOGD_ADDR" -G g -X heartbeat.interval.ms=9000 \
	    -X session.timeout.ms=6000 -t x
}

@test "a session timeout the coordinator refuses exits 78" {
	create six 6
	run -78 kcons -G g -X session.timeout.ms=1000 \
	    -X heartbeat.interval.ms=100 -t six
	[[ "$output" == *"session.timeout.ms 1000 is refused"* ]]
}
