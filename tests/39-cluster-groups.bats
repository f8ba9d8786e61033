#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The group coordinator in cluster mode, on three brokers with ctrld and
# replicad from a generated manifest: every broker names the leader of
# the group's __consumer_offsets partition as its coordinator and the
# others answer NOT_COORDINATOR; an offset commit is answered only once
# its record is replicated (COORDINATOR_NOT_AVAILABLE when the followers
# do not fetch it in time, and OffsetFetch does not return it); kcons -G
# members and a kafka-python consumer share a group, and kill -9 of the
# coordinator moves it to the new leader of its offsets partition, which
# loads it from its log: the committed offsets survive, no record is
# skipped, and only records not committed yet come twice.
bats_require_minimum_version 1.5.0
load helpers

# Raw group requests (kwire), one line each:
#   part GROUP N              the group's partition of __consumer_offsets
#   find ADDR GROUP           FindCoordinator v1: "error=E node=N HOST:PORT"
#   fetch ADDR GROUP          OffsetFetch v3 of every committed partition:
#                             "error=E T:P=OFFSET ..." (sorted)
#   commit ADDR GROUP T P OFF OffsetCommit v2 as an admin (generation -1):
#                             "error=E"
#   describe ADDR GROUP       DescribeGroups v0: "error=E state=S members=N"
GQ_PY='
import struct, sys
sys.path.insert(0, sys.argv[1])
import kwire
from kwire import kstr
cmd, args = sys.argv[2], sys.argv[3:]
if cmd == "part":
    h = 0
    for ch in args[0]:
        h = (31 * h + ord(ch)) & 0xffffffff
    print((h & 0x7fffffff) % int(args[1]))
    sys.exit(0)
c = kwire.Conn(args[0], timeout=30)
if cmd == "find":
    r = c.recv(c.send(10, 1, kstr(args[1]) + b"\x00"))
    r.i32()
    err = r.i16()
    r.string()
    node, host, port = r.i32(), r.string(), r.i32()
    print("error=%d node=%d %s:%d" % (err, node, host, port))
elif cmd == "fetch":
    r = c.recv(c.send(9, 3, kstr(args[1]) + struct.pack(">i", -1)))
    r.i32()
    parts = []
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, off = r.i32(), r.i64()
            r.string()
            r.i16()
            parts.append("%s:%d=%d" % (t, p, off))
    print(" ".join(["error=%d" % r.i16()] + sorted(parts)))
elif cmd == "commit":
    g, t, p, off = args[1], args[2], int(args[3]), int(args[4])
    body = (kstr(g) + struct.pack(">i", -1) + kstr("") +
            struct.pack(">qi", -1, 1) + kstr(t) + struct.pack(">iiq", 1, p, off) +
            kstr(""))
    r = c.recv(c.send(8, 2, body))
    r.i32()
    r.string()
    r.i32()
    r.i32()
    print("error=%d" % r.i16())
elif cmd == "describe":
    r = c.recv(c.send(15, 0, struct.pack(">i", 1) + kstr(args[1])))
    r.i32()
    err = r.i16()
    r.string()
    state = r.string()
    r.string()
    r.string()
    print("error=%d state=%s members=%d" % (err, state, r.i32()))
'

# A kafka-python group member: "P O VALUE" lines until STOPFILE exists.
MEMBER_PY='
import os, sys
from kafka import KafkaConsumer
boot, group, topic, stop = sys.argv[1:5]
c = KafkaConsumer(topic, bootstrap_servers=boot.split(","), group_id=group,
                  auto_offset_reset="earliest", enable_auto_commit=True,
                  auto_commit_interval_ms=300, session_timeout_ms=6000,
                  heartbeat_interval_ms=500, max_poll_interval_ms=30000,
                  request_timeout_ms=10000, retry_backoff_ms=200)
while not os.path.exists(stop):
    for msgs in c.poll(timeout_ms=200).values():
        for m in msgs:
            sys.stdout.write("%d %d %s\n" % (m.partition, m.offset,
                                             m.value.decode()))
    sys.stdout.flush()
c.close()
'

OFFSETS_PARTS=10

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	LOGD=$BIN_DIR/logd
	CTRLD=$BIN_DIR/ctrld
	KCONS=$BIN_DIR/kcons
	KPROD=$BIN_DIR/kprod
	RD=$BIN_DIR/replicad
}

teardown() {
	touch "$BATS_TEST_TMPDIR/stop"
	kill_daemons
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log \
	    "$BATS_TEST_TMPDIR"/*.err 2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*.log >&2
		return 1
	fi
}

gq() {
	timeout 60 "$PY" -c "$GQ_PY" "$BATS_TEST_DIRNAME/tools" "$@"
}

# free_ports N: N loopback ports free right now, one per line.
free_ports() {
	"$PY" - "$1" <<-'EOF'
	import socket, sys
	socks = [socket.socket() for _ in range(int(sys.argv[1]))]
	for s in socks:
	    s.bind(("127.0.0.1", 0))
	print("\n".join(str(s.getsockname()[1]) for s in socks))
	EOF
}

# start_cluster [LOGD ARGS...]: a manifest on free loopback ports (ctrld's
# session timeout 5 s; topic "events": 6 partitions on all three brokers,
# min.insync.replicas 2), ctrld, brokers 1..3 and their replicads.
start_cluster() {
	local ports i
	mapfile -t ports < <(free_ports 4)
	cat >cluster.yaml <<-EOF
	cluster: c3
	controller:
	  host: 127.0.0.1
	  port: ${ports[0]}
	  data_dir: $BATS_TEST_TMPDIR/ctrld
	  session_timeout_ms: 5000
	  heartbeat_interval_ms: 500
	defaults:
	  offsets_topic_partitions: $OFFSETS_PARTS
	brokers:
	EOF
	for i in 1 2 3; do
		printf '  - {id: %d, host: 127.0.0.1, port: %d, data_dir: %s}\n' \
		    "$i" "${ports[$i]}" "$BATS_TEST_TMPDIR/b$i" >>cluster.yaml
		printf -v "ADDR_$i" '127.0.0.1:%s' "${ports[$i]}"
	done
	cat >>cluster.yaml <<-EOF
	topics:
	  - name: events
	    partitions: 6
	    replication_factor: 3
	    configs: {min.insync.replicas: 2}
	EOF
	BOOT=$ADDR_1,$ADDR_2,$ADDR_3
	"$CTRLD" run -m cluster.yaml --addr-file ctrld.addr >>ctrld.log 2>&1 &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s ctrld.addr
	for i in 1 2 3; do
		start_broker "$i" "$@"
	done
	for i in 1 2 3; do
		start_replicad "$i"
	done
	wait_for 30000 healthy
}

# start_broker ID [LOGD ARGS...]: sets PID_<ID>.
start_broker() {
	local id=$1
	shift
	rm -f "b$id.addr"
	"$LOGD" -m cluster.yaml -i "$id" --addr-file "b$id.addr" \
	    -o shutdown.timeout.ms=5000 -o group.initial.rebalance.delay.ms=0 \
	    "$@" >>"b$id.log" 2>&1 &
	printf -v "PID_$id" %s $!
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s "b$id.addr"
}

# start_replicad ID: the follower of broker ID; sets RPID_<ID>.
start_replicad() {
	"$RD" run -m cluster.yaml -i "$1" >>"r$1.log" 2>&1 &
	printf -v "RPID_$1" %s $!
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
}

# healthy: ctrld sees every broker up and every ISR full.
healthy() {
	timeout 10 "$CTRLD" status -m cluster.yaml >/dev/null
}

# offsets_leader GROUP: ctrld's leader of the group's offsets partition.
offsets_leader() {
	local p
	p=$(gq part "$1" "$OFFSETS_PARTS")
	timeout 10 "$CTRLD" status -m cluster.yaml -J | jq -r --argjson p "$p" \
	    '.partitions[] | select(.topic == "__consumer_offsets" and
	    .partition == $p) | .leader'
}

# group_is ADDR STATE N: DescribeGroups of g at ADDR: STATE with N members.
group_is() {
	[ "$(gq describe "$1" g)" = "error=0 state=$2 members=$3" ]
}

# leader_moved GROUP OLD: the offsets partition has a leader other than OLD.
leader_moved() {
	local l
	l=$(offsets_leader "$1")
	[ -n "$l" ] && [ "$l" != "$2" ] && [ "$l" != -1 ]
}

# coordinator_is ADDR GROUP ID: FindCoordinator at ADDR names broker ID.
coordinator_is() {
	local want="ADDR_$3"
	[ "$(gq find "$1" "$2")" = "error=0 node=$3 ${!want}" ]
}

# produce FROM TO [PACE]: values r-FROM .. r-(TO-1), keyed (so spread
# over the partitions), acks=all; with PACE, 100 records every 0.1 s.
produce() {
	seq "$1" $(($2 - 1)) | awk -v pace="${3:-}" '{
	    print "k" $1 "\tr-" $1; fflush()
	    if (pace != "" && NR % 100 == 0) system("sleep 0.1") }' |
	    timeout 90 "$KPROD" -b "$BOOT" -t events -K '\t' -w 60s
}

# member NAME: a kcons group member, "P O VALUE" lines in NAME.out.
member() {
	"$KCONS" -b "$BOOT" -v -G g -t events -f '%p %o %s\n' \
	    -X session.timeout.ms=6000 -X heartbeat.interval.ms=300 \
	    -X auto.commit.interval.ms=300 -X max.poll.interval.ms=30000 \
	    >"$1.out" 2>"$1.err" &
	printf -v "MPID_$1" %s $!
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
}

py_member() {
	"$PY" -c "$MEMBER_PY" "$BOOT" g events "$BATS_TEST_TMPDIR/stop" \
	    >"$1.out" 2>"$1.err" &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
}

# distinct_values N: the members wrote N different values or more.
distinct_values() {
	[ "$(cat a.out b.out py.out | awk '{ print $3 }' | sort -u | wc -l)" \
	    -ge "$1" ]
}

# committed_sum ADDR N: the group's committed offsets at ADDR add up to N.
committed_sum() {
	local out
	out=$(gq fetch "$1" g) || return 1
	[[ $out == "error=0 "* ]] || return 1
	[ "$(tr ' ' '\n' <<<"${out#error=0 }" | awk -F= '{ s += $2 }
	    END { print s + 0 }')" -eq "$2" ]
}

# committed_since ADDR FILE: g's committed offsets at ADDR are all at
# least those in FILE ("T:P=OFFSET" lines).
committed_since() {
	local out
	out=$(gq fetch "$1" g) || return 1
	[[ $out == "error=0 "* ]] || return 1
	tr ' ' '\n' <<<"${out#error=0 }" | awk 'NR == FNR {
	    split($1, k, "="); want[k[1]] = k[2]; next }
	    { split($1, k, "="); got[k[1]] = k[2] }
	    END { for (p in want) if (!(p in got) || got[p] < want[p]) exit 1 }' \
	    "$2" -
}

@test "every broker names the leader of the group's offsets partition; the others answer NOT_COORDINATOR" {
	start_cluster
	# The loops count with $id: bats's run overwrites a global $i.
	local leader id a
	leader=$(offsets_leader g)
	[ -n "$leader" ] && [ "$leader" -ge 1 ]
	for id in 1 2 3; do
		a="ADDR_$id"
		wait_for 10000 coordinator_is "${!a}" g "$leader"
		run -0 gq fetch "${!a}" g
		if [ "$id" = "$leader" ]; then
			[ "$output" = "error=0" ]
		else
			[ "$output" = "error=16" ]
		fi
	done
	grep -q "coordinating 0 groups: topic=__consumer_offsets partition=$(gq \
	    part g "$OFFSETS_PARTS") " "b$leader.log"
}

@test "a commit is answered once replicated: without fetching followers, COORDINATOR_NOT_AVAILABLE and not in OffsetFetch" {
	start_cluster -o replica.lag.time.max.ms=600000
	local leader a id pid
	leader=$(offsets_leader g)
	a="ADDR_$leader"
	wait_for 10000 coordinator_is "${!a}" g "$leader"
	run -0 gq commit "${!a}" g events 0 5
	[ "$output" = "error=0" ]
	run -0 gq fetch "${!a}" g
	[ "$output" = "error=0 events:0=5" ]
	# The followers stop fetching: the high watermark stays behind.
	for id in 1 2 3; do
		[ "$id" = "$leader" ] && continue
		pid="RPID_$id"
		kill -KILL "${!pid}"
	done
	run -0 gq commit "${!a}" g events 0 9
	[ "$output" = "error=15" ]
	run -0 gq fetch "${!a}" g
	[ "$output" = "error=0 events:0=5" ]
	# Back in sync, commits go through again.
	for id in 1 2 3; do
		[ "$id" = "$leader" ] || start_replicad "$id"
	done
	run -0 gq commit "${!a}" g events 0 12
	[ "$output" = "error=0" ]
	run -0 gq fetch "${!a}" g
	[ "$output" = "error=0 events:0=12" ]
}

@test "kill -9 of the coordinator: the group moves, committed offsets survive, nothing is skipped" {
	start_cluster
	local old new victim a id f
	produce 0 3000
	member a
	member b
	py_member py
	old=$(offsets_leader g)
	a="ADDR_$old"
	wait_for 60000 group_is "${!a}" Stable 3
	wait_for 60000 distinct_values 3000
	wait_for 30000 committed_sum "${!a}" 3000
	run -0 gq fetch "${!a}" g
	echo "${output#error=0 }" | tr ' ' '\n' >before
	[ "$(wc -l <before)" -eq 6 ]
	# Records keep coming while the coordinator dies: some are written
	# by the members and not committed yet.
	produce 3000 6000 pace &
	local feeder=$!
	wait_for 30000 distinct_values 3300
	# What the members wrote so far; later lines came after the kill.
	for f in a b py; do
		wc -l <"$f.out" >"$f.at_kill"
	done
	victim="PID_$old"
	kill -KILL "${!victim}"
	local survivors=()
	for id in 1 2 3; do
		a="ADDR_$id"
		[ "$id" = "$old" ] || survivors+=("${!a}")
	done
	# ctrld elects a new leader of the offsets partition, which loads g.
	wait_for 30000 leader_moved g "$old"
	new=$(offsets_leader g)
	a="ADDR_$new"
	wait_for 30000 coordinator_is "${survivors[0]}" g "$new"
	wait_for 30000 coordinator_is "${survivors[1]}" g "$new"
	grep -q "coordinating 1 groups: topic=__consumer_offsets partition=$(gq \
	    part g "$OFFSETS_PARTS") " "b$new.log"
	# Nothing committed before the kill is lost, and every member joins.
	wait_for 30000 committed_since "${!a}" before
	wait_for 60000 group_is "${!a}" Stable 3

	wait "$feeder"
	wait_for 90000 distinct_values 6000
	wait_for 30000 committed_sum "${!a}" 6000
	touch stop
	kill -TERM "$MPID_a" "$MPID_b"
	wait "$MPID_a"
	wait "$MPID_b"

	# Every record came; after the kill nothing committed came again.
	cat a.out b.out py.out | awk '{ print $3 }' | sort -u >seen
	seq 0 5999 | sed 's/^/r-/' | sort >want
	diff -u want seen
	for f in a b py; do
		tail -n +$(($(cat "$f.at_kill") + 1)) "$f.out"
	done >after_kill
	awk 'NR == FNR { split($1, k, "[:=]"); c[k[2]] = k[3]; next }
	    $2 < c[$1] { bad++; print "committed before the kill, yet again: " $0 }
	    END { exit bad > 0 }' before after_kill
	echo "$(($(cat a.out b.out py.out | wc -l) - $(cat a.out b.out py.out |
	    awk '{ print $1, $2 }' | sort -u | wc -l))) records came twice" >&3
}
