#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Replication end to end: ctrld, two brokers (logd and replicad each, from
# tests/cluster.bash) and real producers. What a follower holds must be
# the leader's batches byte for byte: the same base and last offsets,
# partition leader epochs and CRCs in `kdump-segment --json` of both
# partition directories. Then the follower's side of the faults: its
# replicad killed and restarted mid-stream, its logd restarted under a
# running replicad, and a failed leader coming back as a follower that
# must cut what it alone had (truncation by leader epoch) before it
# catches up.
bats_require_minimum_version 1.5.0
load helpers
load cluster

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	CL_IDS=(1 2)
	CLUSTER_SESSION_MS=2000
	CLUSTER_LAG_MS=4000
	CLUSTER_TOPICS='  - {name: events, partitions: 2, replication_factor: 2, configs: {min.insync.replicas: 1}}'
	cluster_start
}

teardown() {
	cluster_teardown
	if grep -l 'Sanitizer\|runtime error:' "$CL_DIR"/*.log 2>/dev/null; then
		cat "$CL_DIR"/*.log >&2
		return 1
	fi
}

# produce N [FIRST [KPROD ARGS...]]: N numbered records into "events"
# with acks=all.
produce() {
	local n=$1 first=${2:-1}
	shift 2 || shift $#
	seq "$first" $((first + n - 1)) |
	    timeout 60 "$BIN_DIR/kprod" -b "$BROKERS" -t events \
	    -X linger.ms=5 -X batch.num.messages=50 -v "$@" >/dev/null \
	    2>>"$CL_DIR/kprod.log"
}

# batches ID P: broker ID's batches of events-P as "base last epoch crc"
# lines, from kdump-segment --json (read-only; safe on a live broker).
batches() {
	"$BIN_DIR/kdump-segment" --json "$CL_DIR/b$1/events-$2" |
	    jq -r 'select(.type == "batch") |
	    "\(.base_offset) \(.last_offset) \(.leader_epoch) \(.crc) \(.crc_valid)"'
}

# same_batches P: both brokers hold the same batches of events-P, and
# some.
same_batches() {
	batches 1 "$1" >"b1.events-$1.txt"
	batches 2 "$1" >"b2.events-$1.txt"
	[ -s "b1.events-$1.txt" ] || return 1
	diff -u "b1.events-$1.txt" "b2.events-$1.txt" >&2
}

# replicated N: both partitions caught up on both brokers, with N records
# in all (high watermarks), and identical batches.
replicated() {
	local p sum=0 leo hw
	all_caught_up events 2 || return 1
	for p in 0 1; do
		read -r leo hw < <(offsets_of "$(leader_of events "$p")" events "$p")
		sum=$((sum + hw))
	done
	[ "$sum" = "$1" ] || return 1
	same_batches 0 && same_batches 1
}

# back_in_sync: both brokers in both ISRs again, caught up, with the same
# batches (a broker out of the ISR does not count for all_caught_up).
back_in_sync() {
	isr_size_is events 0 2 && isr_size_is events 1 2 &&
	    all_caught_up events 2 && same_batches 0 2>/dev/null &&
	    same_batches 1 2>/dev/null
}

# follower_of P: the broker that follows events-P.
follower_of() {
	followers_of events "$1"
}

# status_ok ID: `replicad status` of broker ID exits 0.
status_ok() {
	"$BIN_DIR/replicad" status -m "$CL_DIR/cluster.yaml" -i "$1" >/dev/null
}

# status_in_sync ID: broker ID's replicad follows one partition of events
# and some others, every one fetching, without error, with the leader's
# high watermark at the local log end.
status_in_sync() {
	"$BIN_DIR/replicad" status -m "$CL_DIR/cluster.yaml" -i "$1" --json |
	    jq -e --argjson id "$1" '.broker_id == $id and
	    .unhealthy == 0 and .local_logd.connected and
	    ([.partitions[] | select(.topic == "events")] | length) == 1 and
	    all(.partitions[]; .state == "fetching" and .lag == 0 and
	        .error == null and .log_end_offset == .leader_high_watermark)' \
	    >/dev/null
}

@test "the follower holds the leader's batches byte for byte; status shows no lag" {
	produce 2000
	wait_for 30000 replicated 2000
	grep -q ' true$' b1.events-0.txt
	[ "$(grep -vc ' true$' b1.events-0.txt)" = 0 ]
	# Each broker follows one partition of events (and some of
	# __consumer_offsets): all fetching, none behind (once the next long
	# poll brought the high watermark the last fetch moved).
	for id in 1 2; do
		wait_for 10000 status_in_sync "$id"
	done
	f=$(follower_of 0)
	run -0 "$BIN_DIR/replicad" status -m "$CL_DIR/cluster.yaml" -i "$f"
	[[ $output == *"broker_id: $f"* ]]
	[[ $output == *"events "*" 0 "*" fetching   -"* ]]
}

@test "a follower's replicad killed mid-stream: restarted, it catches up exactly" {
	produce 500
	wait_for 30000 replicated 500
	kill -KILL "$RD_PID_2"
	reap "$RD_PID_2"
	produce 1500 501
	start_replicad_member 2
	wait_for 30000 replicated 2000
	wait_for 10000 status_ok 2
	# Nothing diverged: the restart's epoch check cut nothing.
	run -1 grep -q "info: truncating" "$CL_DIR/r2.log"
}

@test "the follower's logd restarted under a running replicad: it resyncs" {
	produce 500
	wait_for 30000 replicated 500
	kill_logd 2
	wait_for 10000 grep -q "connection closed; retrying with back-off" "$CL_DIR/r2.log"
	run -1 "$BIN_DIR/replicad" status -m "$CL_DIR/cluster.yaml" -i 2
	[[ $output == *"local_logd: unreachable"* ]]
	produce 500 501
	start_logd_member 2
	wait_for 30000 replicated 1000
	wait_for 10000 status_ok 2
	[ "$(grep -c "connection closed; retrying with back-off" "$CL_DIR/r2.log")" -ge 1 ]
	grep -q "connected to the local logd" "$CL_DIR/r2.log"
}

@test "a failed leader returns as a follower, cuts what only it had by leader epoch, and matches" {
	produce 500
	wait_for 30000 replicated 500
	old=$(leader_of events 0)
	new=$((3 - old))
	read -r before _ < <(offsets_of "$old" events 0)
	# The follower stops fetching for a moment (shorter than the lag time,
	# so it stays in the ISR): what the leader takes now only it has.
	pause_replicad "$new"
	seq 1 300 | timeout 30 "$BIN_DIR/kprod" -b "$(broker_addr "$old")" \
	    -t events -p 0 -a 1 >/dev/null
	read -r alone _ < <(offsets_of "$old" events 0)
	[ "$alone" -gt "$before" ]
	kill_broker "$old"
	resume_replicad "$new"
	wait_for 20000 leader_is events 0 "$new"
	wait_for 20000 leader_is events 1 "$new"
	# Without idempotence: each logd reserves producer ids on its own, so
	# the new leader may hand out an id the old one used, whose replicated
	# sequence state then refuses the new producer's first batch.
	produce 200 1001 -X enable.idempotence=false
	start_broker "$old"
	wait_for 30000 back_in_sync
	# The returning broker cut its own records at the end of the epoch
	# the new leader had, then took the new leader's.
	grep -q "info: truncating topic=events partition=0 from=$alone to=$before leader=$new leader_epoch=[0-9]*: epoch [0-9]* ends at $before on the leader" \
	    "$CL_DIR/r$old.log"
	read -r leo _ < <(offsets_of "$old" events 0)
	[ "$leo" -gt "$before" ]
	wait_for 10000 status_ok "$old"
}
