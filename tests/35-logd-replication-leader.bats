#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The leader side of replication, as far as one broker shows it: every
# partition leads with ISR = itself, so the high watermark is the log end
# offset; OffsetForLeaderEpoch answers from the leader-epoch cache (fenced
# by current_leader_epoch as Fetch is), which lives in each partition's
# leader-epoch-checkpoint across restarts; replication-offset-checkpoint
# holds the high watermarks; acks=all is answered at once and in request
# order; a Fetch with a replica id that is no follower is refused.
# Then in cluster mode against a scripted ctrld (tools/kprivate.py
# fake-ctrld), with krepl playing follower 2 by its replica Fetch requests:
# acks=all waiting for the ISR (and failing when the ISR shrinks below
# min.insync.replicas, when leadership moves, at the timeout), consumers
# held below the high watermark, ISR expansion and shrink proposals, and
# the high watermark and epochs across a restart. Raw requests come from
# tools/krepl.py.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

krepl() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/krepl.py" "$@"
}

# krepl_is ANSWER COMMAND ARGS...: `krepl COMMAND` on this test's broker
# succeeds and prints exactly ANSWER.
krepl_is() {
	local want=$1 command=$2
	shift 2
	run -0 krepl "$command" "$LOGD_ADDR" "$@"
	[ "$output" = "$want" ]
}

# produce TOPIC N: N records to partition 0 with acks=all, one request.
produce() {
	run -0 krepl produce "$LOGD_ADDR" "$1" 0 "$2"
	[[ $output == "correlation_id 1 error 0 base_offset "* ]]
}

# restart_logd: stop the running broker cleanly and start it again.
restart_logd() {
	stop_logd
	start_logd b "$@"
}

@test "logd advertises OffsetForLeaderEpoch 0-3" {
	run -0 "$BIN_DIR/logd" -V
	[[ $output == *"OffsetForLeaderEpoch key 23  versions 0-3"* ]]
}

@test "OffsetForLeaderEpoch: the current epoch ends at the log end, in v0-3" {
	start_logd b
	produce ep 5
	krepl_is "error 0 leader_epoch - end_offset 5" epoch ep 0 0 --version 0
	for v in 1 2 3; do
		krepl_is "error 0 leader_epoch 0 end_offset 5" \
		    epoch ep 0 0 --version "$v"
	done
	# A follower's request (v3 with its replica id) gets the same answer.
	krepl_is "error 0 leader_epoch 0 end_offset 5" \
	    epoch ep 0 0 --replica-id 7
	produce ep 2
	krepl_is "error 0 leader_epoch 0 end_offset 7" epoch ep 0 0
}

@test "OffsetForLeaderEpoch: undefined and unknown epochs, fencing, unknown partitions" {
	start_logd b
	produce ep 3
	# Undefined (-1) and above every known epoch: no answer, no error.
	krepl_is "error 0 leader_epoch -1 end_offset -1" epoch ep 0 -1
	krepl_is "error 0 leader_epoch -1 end_offset -1" epoch ep 0 1
	# current_leader_epoch newer than ours: UNKNOWN_LEADER_EPOCH (75).
	krepl_is "error 75 leader_epoch -1 end_offset -1" \
	    epoch ep 0 0 --current 1
	krepl_is "error 0 leader_epoch 0 end_offset 3" epoch ep 0 0 --current 0
	krepl_is "error 3 leader_epoch -1 end_offset -1" epoch ep 1 0
	krepl_is "error 3 leader_epoch -1 end_offset -1" \
	    epoch nosuch 0 0 --version 2
}

@test "a data directory that led at a later epoch keeps it: fencing, older epochs" {
	start_logd b
	produce ep 5
	stop_logd
	# As a cluster leader would have left it: epoch 3 from offset 2.
	printf '0\n2\n0 0\n3 2\n' >b/ep-0/leader-epoch-checkpoint
	start_logd b
	krepl_is "error 0 leader_epoch 3 end_offset 5" epoch ep 0 3
	krepl_is "error 0 leader_epoch 0 end_offset 2" epoch ep 0 0
	krepl_is "error 0 leader_epoch 0 end_offset 2" epoch ep 0 2
	# An older current_leader_epoch is fenced (74), a newer unknown (75),
	# in OffsetForLeaderEpoch and Fetch alike.
	krepl_is "error 74 leader_epoch -1 end_offset -1" \
	    epoch ep 0 3 --current 2
	krepl_is "error 75 leader_epoch -1 end_offset -1" \
	    epoch ep 0 3 --current 4
	run -0 krepl fetch "$LOGD_ADDR" ep 0 0 --current 2
	[[ $output == "error 74 "*" records 0" ]]
	run -0 krepl fetch "$LOGD_ADDR" ep 0 0 --current 4
	[[ $output == "error 75 "*" records 0" ]]
	krepl_is "error 0 high_watermark 5 log_start_offset 0 records 5" \
	    fetch ep 0 0 --current 3
	# New batches carry epoch 3; the cache did not change.
	produce ep 1
	run -0 "$BIN_DIR/kdump-segment" b/ep-0
	[[ ${lines[-1]} == "batch base_offset=5 "*" leader_epoch=3 "* ]]
	[ "$(cat b/ep-0/leader-epoch-checkpoint)" = "$(printf '0\n2\n0 0\n3 2')" ]
}

@test "OffsetForLeaderEpoch below every known epoch: the first known start (KIP-279)" {
	start_logd b
	produce ep 4
	stop_logd
	printf '0\n1\n3 2\n' >b/ep-0/leader-epoch-checkpoint
	start_logd b
	krepl_is "error 0 leader_epoch 1 end_offset 2" epoch ep 0 1
	krepl_is "error 0 leader_epoch 3 end_offset 4" epoch ep 0 3
}

@test "leader-epoch-checkpoint: written at creation, kept across clean and kill -9 restarts" {
	start_logd b
	produce ep 5
	[ "$(cat b/ep-0/leader-epoch-checkpoint)" = "$(printf '0\n1\n0 0')" ]
	restart_logd
	[ "$(cat b/ep-0/leader-epoch-checkpoint)" = "$(printf '0\n1\n0 0')" ]
	krepl_is "error 0 leader_epoch 0 end_offset 5" epoch ep 0 0
	produce ep 1
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" || true
	start_logd b
	[ "$(cat b/ep-0/leader-epoch-checkpoint)" = "$(printf '0\n1\n0 0')" ]
	krepl_is "error 0 leader_epoch 0 end_offset 6" epoch ep 0 0
	# No temporary file is left beside it.
	[ ! -e b/ep-0/leader-epoch-checkpoint.tmp ]
}

@test "leader-epoch-checkpoint: entries beyond the log end are dropped at start" {
	start_logd b
	produce ep 3
	stop_logd
	# Epoch 4 started at 3 but nothing of it reached the log.
	printf '0\n2\n0 0\n4 3\n' >b/ep-0/leader-epoch-checkpoint
	start_logd b
	[ "$(cat b/ep-0/leader-epoch-checkpoint)" = "$(printf '0\n1\n0 0')" ]
	krepl_is "error 0 leader_epoch 0 end_offset 3" epoch ep 0 0
}

@test "a damaged leader-epoch-checkpoint stops logd, naming file and line (exit 65)" {
	start_logd b
	produce ep 2
	stop_logd
	printf '0\n2\n0 0\n' >b/ep-0/leader-epoch-checkpoint
	run -65 --separate-stderr "$BIN_DIR/logd" -d b -l 127.0.0.1:0
	[[ $stderr == *"b/ep-0/leader-epoch-checkpoint:3: expected 2 entries, found 1"* ]]
	printf '0\n2\n3 0\n1 5\n' >b/ep-0/leader-epoch-checkpoint
	run -65 --separate-stderr "$BIN_DIR/logd" -d b -l 127.0.0.1:0
	[[ $stderr == *"b/ep-0/leader-epoch-checkpoint:4: epoch not above the previous entry's"* ]]
}

@test "replication-offset-checkpoint: every partition's high watermark at shutdown" {
	start_logd b -o num.partitions=2
	run -0 krepl produce "$LOGD_ADDR" hw 0 5
	run -0 krepl produce "$LOGD_ADDR" hw 1 3
	run -0 krepl produce "$LOGD_ADDR" a.b 0 1
	stop_logd
	[ "$(cat b/replication-offset-checkpoint)" = \
	    "$(printf '0\n4\na.b 0 1\na.b 1 0\nhw 0 5\nhw 1 3')" ]
	# Read back at the next start; alone, the log end offsets rule.
	start_logd b
	krepl_is "error 0 offset 5" offsets hw 0 -1
}

@test "high watermark equals the log end offset after kill -9 and restart" {
	start_logd b
	seq 1 100 | "$BIN_DIR/kprod" -b "$LOGD_ADDR" -t crash -X linger.ms=0
	produce crash 7
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" || true
	start_logd b
	krepl_is "error 0 offset 107" offsets crash 0 -1
	krepl_is "error 0 high_watermark 107 log_start_offset 0 records 7" \
	    fetch crash 0 100
	krepl_is "error 0 leader_epoch 0 end_offset 107" epoch crash 0 0
}

@test "acks=all alone: answered at once, pipelined answers in request order" {
	start_logd b
	run -0 krepl produce "$LOGD_ADDR" all 0 3 --requests 5
	[ "$output" = "$(printf 'correlation_id %d error 0 base_offset %d\n' \
	    1 0 2 3 3 6 4 9 5 12)" ]
	# acks=all and acks=1 interleaved on one connection, still in order.
	run -0 krepl produce "$LOGD_ADDR" all 0 1 --requests 3 --acks 1
	[ "$output" = "$(printf 'correlation_id %d error 0 base_offset %d\n' \
	    1 15 2 16 3 17)" ]
	krepl_is "error 0 high_watermark 18 log_start_offset 0 records 18" \
	    fetch all 0 0
	# Real clients: kprod and kcat use acks=all.
	seq 1 50 | "$BIN_DIR/kprod" -b "$LOGD_ADDR" -t all
	run -0 timeout 30 kcat -b "$LOGD_ADDR" -P -t all -X acks=all <<<"kcat"
	krepl_is "error 0 offset 69" offsets all 0 -1
}

@test "acks=all with an ISR below min.insync.replicas: refused, nothing written" {
	start_logd b -o min.insync.replicas=2
	krepl_is "correlation_id 1 error 19 base_offset -1" produce isr 0 4
	krepl_is "correlation_id 1 error 0 base_offset 0" \
	    produce isr 0 4 --acks 1
	krepl_is "error 0 offset 4" offsets isr 0 -1
}

@test "Fetch with a replica id that is no follower is refused" {
	start_logd b
	produce rf 4
	# Broker 5 is no replica; broker 0 is this leader itself.
	krepl_is "error 6 high_watermark 4 log_start_offset 0 records 0" \
	    fetch rf 0 0 --replica-id 5
	krepl_is "error 6 high_watermark 4 log_start_offset -1 records 0" \
	    fetch rf 0 0 --replica-id 0 --version 4
	# Consumers still read, up to the high watermark.
	krepl_is "error 0 high_watermark 4 log_start_offset 0 records 4" \
	    fetch rf 0 0
	krepl_is "error 1 high_watermark 4 log_start_offset 0 records 0" \
	    fetch rf 0 5
	kill -0 "$LOGD_PID"
}

@test "replica.lag.time.max.ms: checked by logd -n" {
	run -0 "$BIN_DIR/logd" -n -d d -o replica.lag.time.max.ms=30000
	run -78 --separate-stderr "$BIN_DIR/logd" -n -d d \
	    -o replica.lag.time.max.ms=0
	[[ $stderr == *"replica.lag.time.max.ms"* ]]
}

# ------------------------------------------------------------------
# Cluster mode: this broker is 1, krepl plays follower 2.

put_state() {
	cat >state.json.tmp && mv state.json.tmp state.json
}

# state VERSION LEADER EPOCH PARTITION_EPOCH ISR [CONFIGS]: topic t with
# one partition on brokers 1 and 2; CONFIGS are JSON object members.
state() {
	put_state <<-EOF
	{"cluster_id": "c1", "version": $1,
	 "brokers": [{"id": 1, "host": "127.0.0.1", "port": ${PORT:-9}},
	             {"id": 2, "host": "127.0.0.2", "port": 9999}],
	 "topics": [{"name": "t", "configs": {${6:-}}, "partitions": [
	   {"leader": $2, "leader_epoch": $3, "partition_epoch": $4,
	    "replicas": [1, 2], "isr": [$5]}]}]}
	EOF
}

start_fake_ctrld() {
	rm -f fake.addr
	"$PY" "$BATS_TEST_DIRNAME/tools/kprivate.py" fake-ctrld \
	    --listen 127.0.0.1:0 --state state.json --addr-file fake.addr \
	    --log fake.log 2>>fake.err &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s fake.addr
	CTRLD_ADDR=$(cat fake.addr)
}

# start_member [ARGS...]: broker 1 of cluster c1, data directory b1.
start_member() {
	start_logd b1 -i 1 -o controller="$CTRLD_ADDR" -o cluster.id=c1 \
	    -o replica.lag.time.max.ms=600000 "$@"
	PORT=${LOGD_ADDR##*:}
}

# leading EPOCH / following EPOCH: our role for t-0 at that leader epoch.
leading() {
	[[ $(krepl epoch "$LOGD_ADDR" t 0 "$1" --current "$1") == \
	    "error 0 leader_epoch $1 "* ]]
}

following() {
	[[ $(krepl epoch "$LOGD_ADDR" t 0 "$1" --current "$1") == "error 6 "* ]]
}

# cluster_leader ISR [CONFIGS] [LOGD ARGS...]: broker 1 leads t-0 at
# leader epoch 3, partition epoch 5, with that ISR.
cluster_leader() {
	local isr=$1 conf=${2:-}
	shift 2 || shift $#
	state 1 1 3 5 "$isr" "$conf"
	start_fake_ctrld
	start_member "$@"
	state 2 1 3 5 "$isr" "$conf"
	wait_for 10000 leading 3
}

# state_version_is V: broker 1 applied ctrld's state version V.
state_version_is() {
	[ "$(timeout 10 "$BIN_DIR/logd" ctl -d "$BATS_TEST_TMPDIR/b1" -j status |
	    jq -r .controller_link.state_version)" = "$1" ]
}

# alter_isr_sent JQ_CONDITION: an AlterIsr matching it reached ctrld.
alter_isr_sent() {
	[ -f fake.log ] && jq -s -e "[.[] | select(.api == \"AlterIsr\" and
	    $1)] | length > 0" fake.log >/dev/null
}

# krepl_bg OUT ARGS...: krepl in the background, its output in OUT.
krepl_bg() {
	local out=$1
	shift
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/krepl.py" "$@" >"$out" &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
}

@test "cluster: acks=all waits for the follower; consumers read below the high watermark" {
	cluster_leader "1, 2"
	krepl_bg p1.out produce "$LOGD_ADDR" t 0 3 --timeout 10000 --quiet-for 300
	wait_for 5000 grep -q "no answer within 300 ms" p1.out
	# Appended, but not committed: consumers see nothing yet.
	krepl_is "error 0 high_watermark 0 log_start_offset 0 records 0" \
	    fetch t 0 0
	krepl_is "error 0 offset 0" offsets t 0 -1
	# Follower 2 reads up to the log end, then asks from 3: committed.
	krepl_is "error 0 high_watermark 0 log_start_offset 0 records 3" \
	    fetch t 0 0 --replica-id 2 --current 3
	[ "$(cat p1.out)" = "no answer within 300 ms" ]
	krepl_is "error 0 high_watermark 3 log_start_offset 0 records 0" \
	    fetch t 0 3 --replica-id 2 --current 3
	wait_for 5000 grep -q "^correlation_id 1 error 0 base_offset 0$" p1.out
	krepl_is "error 0 high_watermark 3 log_start_offset 0 records 3" \
	    fetch t 0 0
	# Nobody fetches the next write: REQUEST_TIMED_OUT (7) at timeout_ms.
	krepl_is "correlation_id 1 error 7 base_offset 3" \
	    produce t 0 2 --timeout 300
	krepl_is "correlation_id 1 error 0 base_offset 5" produce t 0 1 --acks 1
	krepl_is "error 0 offset 3" offsets t 0 -1
	# A replica's ListOffsets sees the log end; the follower catches up.
	krepl_is "error 0 offset 6" offsets t 0 -1 --replica-id 2
	krepl_is "error 0 high_watermark 6 log_start_offset 0 records 0" \
	    fetch t 0 6 --replica-id 2 --current 3
	# Not a replica, or past our log end: refused, nothing recorded.
	run -0 krepl fetch "$LOGD_ADDR" t 0 0 --replica-id 3 --current 3
	[[ $output == "error 6 "*" records 0" ]]
	run -0 krepl fetch "$LOGD_ADDR" t 0 7 --replica-id 2 --current 3
	[[ $output == "error 1 "*" records 0" ]]
}

@test "cluster: acks=all ends with NOT_ENOUGH_REPLICAS_AFTER_APPEND or NOT_LEADER_OR_FOLLOWER" {
	local conf='"min.insync.replicas": "2"'
	cluster_leader "1, 2" "$conf"
	krepl_bg p1.out produce "$LOGD_ADDR" t 0 2 --timeout 10000 --quiet-for 300
	wait_for 5000 grep -q "no answer within 300 ms" p1.out
	# ctrld drops follower 2 from the ISR: below min.insync.replicas.
	state 3 1 3 6 "1" "$conf"
	wait_for 5000 grep -q "^correlation_id 1 error 20 base_offset 0$" p1.out
	# Now refused up front (NOT_ENOUGH_REPLICAS), nothing appended.
	krepl_is "correlation_id 1 error 19 base_offset -1" produce t 0 1
	krepl_is "error 0 offset 2" offsets t 0 -1 --replica-id 2
	# The ISR grows back; a write waits, then leadership moves to 2.
	state 4 1 3 7 "1, 2" "$conf"
	wait_for 10000 state_version_is 4
	krepl_bg p2.out produce "$LOGD_ADDR" t 0 2 --timeout 10000 --quiet-for 300
	wait_for 5000 grep -q "no answer within 300 ms" p2.out
	state 5 2 4 8 "2, 1" "$conf"
	wait_for 5000 grep -q "^correlation_id 1 error 6 base_offset 2$" p2.out
	# A follower now: clients are sent to the leader; old epochs fenced.
	wait_for 5000 following 4
	krepl_is "correlation_id 1 error 6 base_offset -1" \
	    produce t 0 1 --acks 1
	run -0 krepl fetch "$LOGD_ADDR" t 0 0
	[[ $output == "error 6 "*" records 0" ]]
	run -0 krepl fetch "$LOGD_ADDR" t 0 0 --current 3
	[[ $output == "error 74 "*" records 0" ]]
	krepl_is "error 6 offset -1" offsets t 0 -1
	krepl_is "error 6 leader_epoch -1 end_offset -1" epoch t 0 3
}

@test "cluster: a follower that caught up is proposed for the ISR, one that lags dropped" {
	cluster_leader "1" "" -o replica.lag.time.max.ms=400
	run -0 krepl produce "$LOGD_ADDR" t 0 3 --acks 1
	# Alone in the ISR, the high watermark follows the log end.
	krepl_is "error 0 offset 3" offsets t 0 -1
	krepl_is "error 0 high_watermark 3 log_start_offset 0 records 3" \
	    fetch t 0 0 --replica-id 2 --current 3
	run -0 krepl fetch "$LOGD_ADDR" t 0 3 --replica-id 2 --current 3
	wait_for 5000 alter_isr_sent '.broker_id == 1 and .topic == "t" and
	    .leader_epoch == 3 and .partition_epoch == 5 and .isr == [1, 2]'
	grep -q "proposing ISR change (follower caught up): topic=t partition=0 leader_epoch=3 isr=1 new_isr=1,2" b1.log
	# The first proposal was the only one: it was caught up only once.
	[ "$(jq -s '[.[] | select(.api == "AlterIsr")] | length' fake.log)" = 1 ]
	# It stops fetching while a record arrives: dropped after the lag.
	wait_for 10000 bash -c "timeout 10 '$BIN_DIR/logd' ctl -d b1 -j status |
	    jq -e '.cluster_partitions[] | select(.topic == \"t\") |
	    select(.isr == [1, 2])' >/dev/null"
	run -0 krepl produce "$LOGD_ADDR" t 0 1 --acks 1
	wait_for 10000 alter_isr_sent '.isr == [1] and .partition_epoch == 6'
	grep -q "follower out of sync: topic=t partition=0 broker=2 log_end_offset=3 leader_log_end_offset=4" b1.log
}

@test "cluster: the high watermark comes back from its checkpoint; a new epoch starts at the log end" {
	cluster_leader "1, 2"
	run -0 krepl produce "$LOGD_ADDR" t 0 5 --acks 1
	# (The one batch holding offsets 0-4 comes back whole.)
	krepl_is "error 0 high_watermark 3 log_start_offset 0 records 5" \
	    fetch t 0 3 --replica-id 2 --current 3
	# SIGTERM: ctrld moves leadership to broker 2 first, then we exit.
	stop_logd
	grep -qx "t 0 3" b1/replication-offset-checkpoint
	# Back, and leader again at epoch 5: the followers' positions are
	# unknown, so the high watermark stays where it was.
	state 10 1 5 9 "1, 2"
	start_member
	wait_for 10000 leading 5
	krepl_is "error 0 offset 3" offsets t 0 -1
	krepl_is "error 0 offset 5" offsets t 0 -1 --replica-id 2
	[ "$(cat b1/t-0/leader-epoch-checkpoint)" = "$(printf '0\n2\n3 0\n5 5')" ]
	krepl_is "error 0 leader_epoch 3 end_offset 5" epoch t 0 3
	krepl_is "error 0 leader_epoch 3 end_offset 5" \
	    epoch t 0 4 --replica-id 2 --current 5
	krepl_is "error 0 high_watermark 5 log_start_offset 0 records 0" \
	    fetch t 0 5 --replica-id 2 --current 5
}
