#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Log compaction on logs written by the real log store (tests/tools/mklog)
# and compacted by tests/tools/compact (one plog_compact pass): the latest
# record per key survives at its offset, kdump-segment --verify finds
# nothing wrong with the result in any codec, the ratio gates a pass, a
# small offset map cleans a prefix, the high watermark bounds the pass,
# and a log reopens and compacts again. Then logd's cleaner thread, with
# passes slowed down by log.cleaner.io.max.bytes.per.second: clients are
# served while a pass runs, SIGTERM stops a pass at once and leaves no
# cleaner files, SIGKILL leaves a log that recovers with the latest value
# of every key, retention or a topic deletion during a pass discards it
# safely, and `logd ctl compact [TOPIC[-P]]` answers when its pass is done.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_tool mklog
	require_tool compact
	KD=$BIN_DIR/kdump-segment
	CP=$TOOLS_DIR/compact
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

# mk ARGS... DIR: write a partition directory through the log store.
mk() {
	run -0 "$TOOLS_DIR/mklog" "$@"
}

# field NAME: the value of "NAME value" in $output.
field() {
	local line
	for line in "${lines[@]}"; do
		if [[ $line == "$1 "* ]]; then
			echo "${line#* }"
			return 0
		fi
	done
	return 1
}

@test "compact keeps the latest record of each key at its offset" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$KD" -c t-0
	[ "$output" = 1000 ]
	run -0 --separate-stderr "$CP" -r 0 --segment-bytes 4096 t-0
	[ -z "$stderr" ]
	[ "$(field ran)" = 1 ]
	[ "$(field checkpoint)" = 990 ]
	[ "$(field records_kept)" = 10 ]
	[ "$(field records_removed)" = 980 ]
	[ "$(field keys_mapped)" = 10 ]
	# 10 latest below the active segment, the 10 records in it
	run -0 "$KD" -c t-0
	[ "$output" = 20 ]
	run -0 "$KD" -R -j t-0
	[ "${#lines[@]}" -eq 20 ]
	[[ ${lines[0]} == '{"topic":"t","partition":0,"offset":980,'*'"key":"key-0","value":"value-980x'* ]]
	[[ ${lines[9]} == *'"offset":989,'*'"key":"key-9","value":"value-989x'* ]]
	[[ ${lines[19]} == *'"offset":999,'* ]]
	run -0 --separate-stderr "$KD" -C t-0
	[[ $output == *" problems=0" ]]
	[ -z "$stderr" ]
}

@test "every codec: the compacted log verifies clean" {
	local z
	for z in none gzip snappy lz4 zstd; do
		mk -k 7 -n 600 -b 13 -z "$z" --segment-bytes 3000 "$z-0"
		run -0 "$CP" -r 0 --segment-bytes 3000 "$z-0"
		[ "$(field ran)" = 1 ]
		[ "$(field records_removed)" -ge 490 ]
		run -0 --separate-stderr "$KD" -C "$z-0"
		[[ $output == *" problems=0" ]]
		run -0 "$KD" -R -j "$z-0"
		[[ ${lines[0]} == *'"key":"key-'* ]]
	done
}

@test "a second pass merges the small cleaned segments into one" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$CP" -r 0 --segment-bytes 4096 t-0
	[ "$(field segments_written)" -gt 10 ]
	before=$(ls t-0/*.log | wc -l)
	# the checkpoint is not kept: all of it is dirty again
	run -0 "$CP" -r 0 --segment-bytes 4096 t-0
	[ "$(field ran)" = 1 ]
	[ "$(field segments_written)" = 1 ]
	[ "$(field records_removed)" = 0 ]
	[ "$(ls t-0/*.log | wc -l)" -eq 2 ]
	[ "$before" -gt 2 ]
	run -0 "$KD" -c t-0
	[ "$output" = 20 ]
	run -0 "$KD" -C t-0
	[[ $output == *" problems=0" ]]
}

@test "below min.cleanable.dirty.ratio nothing changes" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	sum=$(cat t-0/*.log | cksum)
	# half of the log is below the checkpoint
	run -0 "$CP" -r 0.9 -c 500 --segment-bytes 4096 t-0
	[ "$(field ran)" = 0 ]
	[ "$(field checkpoint)" = 500 ]
	[ "$(cat t-0/*.log | cksum)" = "$sum" ]
	run -0 "$CP" -r 0.4 -c 500 --segment-bytes 4096 t-0
	[ "$(field ran)" = 1 ]
}

@test "a small offset map cleans a prefix and moves the checkpoint there" {
	mk -k 200 -n 1000 -b 10 --segment-bytes 4096 t-0
	# 40 slots of 24 bytes hold 36 keys
	run -0 "$CP" -r 0 -m 960 --segment-bytes 4096 t-0
	[ "$(field map_full)" = 1 ]
	[ "$(field checkpoint)" = 36 ]
	cp1=$(field checkpoint)
	run -0 "$CP" -r 0 -m 960 -c "$cp1" --segment-bytes 4096 t-0
	[ "$(field first_dirty_offset)" = 36 ]
	[ "$(field checkpoint)" = 72 ]
	run -0 "$KD" -C t-0
	[[ $output == *" problems=0" ]]
	# a map for no key at all is a usage error
	run -64 --separate-stderr "$CP" -r 0 -m 24 --segment-bytes 4096 t-0
	[[ $stderr == *"holds no key"* ]]
}

@test "nothing at or above the high watermark's segment is cleaned" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$CP" -r 0 -u 500 --segment-bytes 4096 t-0
	[ "$(field first_uncleanable_offset)" -le 500 ]
	hw=$(field first_uncleanable_offset)
	[ "$(field checkpoint)" = "$hw" ]
	run -0 "$KD" -c t-0
	[ "$output" -eq $((10 + 1000 - hw)) ]
}

@test "usage errors and a missing directory" {
	run -64 --separate-stderr "$CP"
	[[ $stderr == "compact: missing directory"* ]]
	run -64 --separate-stderr "$CP" -r 2 t-0
	[[ $stderr == *"-r: '2' is not a ratio in [0, 1]"* ]]
	run -66 --separate-stderr "$CP" nowhere
	[[ $stderr == *"no such directory"* ]]
	run -0 "$CP" -h
	[[ ${lines[0]} == "usage: compact "* ]]
}

# ctl ARGS...: logd ctl on the test's broker, bounded in time.
ctl() {
	timeout 60 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" "$@"
}

# create_big [-c KEY=VALUE]...: topic "big", one partition of 64 KiB
# segments, cleaned at any dirty ratio; cleanup.policy comes with -c.
create_big() {
	ck create "$LOGD_ADDR" big:1 -c segment.bytes=65536 \
	    -c min.cleanable.dirty.ratio=0.01 "$@"
}

# produce_rounds TOPIC ROUNDS: ROUNDS rounds of the keys k0..k199, the
# value of key K in round R being "vK-R-" and 100 x's (23 KiB a round),
# in batches of at most $BATCH bytes (16384), which must fit a segment.
produce_rounds() {
	awk -v n="$2" 'BEGIN {
		pad = sprintf("%100s", ""); gsub(/ /, "x", pad)
		for (i = 0; i < n * 200; i++)
			printf "k%d:v%d-%d-%s\n", i % 200, i % 200, int(i / 200), pad
	}' | timeout 60 "$BIN_DIR/kprod" -q -b "$LOGD_ADDR" -t "$1" -K : \
	    -X batch.size="${BATCH:-16384}"
}

# latest_values DIR: "KEY VALUE" of the last record of each key in DIR.
latest_values() {
	"$KD" --json -R "$1" | jq -r '"\(.key) \(.value)"' |
	    awk '{v[$1] = $2} END {for (k in v) print k, v[k]}' |
	    sed 's/-x*$//' | sort
}

# expected_values ROUND: what latest_values shows after ROUND rounds.
expected_values() {
	local k
	for ((k = 0; k < 200; k++)); do echo "k$k v$k-$(($1 - 1))"; done | sort
}

# started TOPIC: a pass over TOPIC has begun.
started() {
	grep -q "compaction started: topic=$1 " "$LOGD_DIR.log"
}

# cleaning DIR: the cleaner has a cleaned segment in DIR.
cleaning() {
	compgen -G "$1/*.cleaned" >/dev/null
}

# leftovers DIR: the names of compaction files left in DIR (and below).
leftovers() {
	find "$1" \( -name '*.cleaned' -o -name '*.swap' -o -name '*.deleted' \) -print
}

# verify_log: the whole data directory verifies clean.
verify_log() {
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
	[ -z "$stderr" ]
}

# keeps_latest ROUNDS: the data directory verifies clean and big-0 holds
# the latest value of every key after ROUNDS rounds.
keeps_latest() {
	verify_log
	[ "$(latest_values "$LOGD_DIR/big-0")" = "$(expected_values "$1")" ]
}

# throttled_pass RATE ROUNDS [CREATE_BIG ARGS...]: a broker whose cleaner
# reads RATE bytes/s, topic "big" written by ROUNDS rounds, and `ctl
# compact big` started in the background (ctl_pid, output in ctl.out).
throttled_pass() {
	local rate=$1 rounds=$2
	shift 2
	start_logd b -o log.cleaner.io.max.bytes.per.second="$rate"
	run -0 create_big "$@"
	run -0 produce_rounds big "$rounds"
	ctl compact big >ctl.out 2>&1 &
	ctl_pid=$!
}

@test "logd: clients are served while a throttled pass runs on the cleaner thread" {
	throttled_pass 600000 100 -c cleanup.policy=compact
	wait_for 10000 started big
	# A produce and a full read of another topic, during the pass (about
	# 9 s at this rate): answered in a fraction of its time.
	t0=$(now_ms)
	run -0 --separate-stderr timeout 30 sh -c 'seq 1 100 |
	    "$1" -q -b "$3" -t other && "$2" -q -b "$3" -t other -e' sh \
	    "$BIN_DIR/kprod" "$BIN_DIR/kcons" "$LOGD_ADDR"
	t1=$(now_ms)
	[ "${#lines[@]}" -eq 100 ]
	[ "${lines[99]}" = 100 ]
	[ $((t1 - t0)) -lt 4000 ]
	# ... and the pass was still running then.
	kill -0 "$ctl_pid"
	run -1 grep -q 'compacted topic=big' "$LOGD_DIR.log"
	wait "$ctl_pid"
	[[ $(head -1 ctl.out) == "TOPIC "* ]]
	grep -q 'compacted topic=big partition=0: .* ms throttled' "$LOGD_DIR.log"
	echo "# produce and read: $((t1 - t0)) ms during the pass:" \
	    "$(grep -o 'compacted topic=big.*' "$LOGD_DIR.log")" >&3
	[ -z "$(leftovers "$LOGD_DIR")" ]
	stop_logd
	keeps_latest 100
	run -0 "$KD" -c "$LOGD_DIR/big-0"
	[ "$output" -lt 1000 ]
}

@test "logd: SIGTERM during a pass stops it promptly and leaves no cleaner files" {
	throttled_pass 200000 60 -c cleanup.policy=compact
	# Once a cleaned segment is being written (some seconds of the pass
	# are left at this rate), stop the broker.
	wait_for 30000 cleaning "$LOGD_DIR/big-0"
	t0=$(now_ms)
	kill -TERM "$LOGD_PID"
	wait "$LOGD_PID"
	t1=$(now_ms)
	echo "# logd exited $((t1 - t0)) ms after SIGTERM" >&3
	[ $((t1 - t0)) -lt 3000 ]
	status=0
	wait "$ctl_pid" || status=$?
	[ "$status" -eq 1 ]
	[ "$(cat ctl.out)" = "logd: ctl: logd is shutting down" ]
	# A clean shutdown: no compaction files, the marker, a valid log.
	[ -z "$(leftovers "$LOGD_DIR")" ]
	[ -e "$LOGD_DIR/.klog_cleanshutdown" ]
	keeps_latest 60
	# Unthrottled, the next pass completes.
	start_logd b
	run -0 ctl compact big
	grep -q 'compacted topic=big partition=0' "$LOGD_DIR.log"
	stop_logd
	keeps_latest 60
}

@test "logd: SIGKILL during a threaded pass leaves a log that recovers with the latest values" {
	throttled_pass 300000 60 -c cleanup.policy=compact
	wait_for 30000 cleaning "$LOGD_DIR/big-0"
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" 2>/dev/null || true
	wait "$ctl_pid" || true
	# Recovery removes the cleaned files or completes a committed swap.
	start_logd b
	grep -q 'compaction' "$LOGD_DIR.log" || true
	stop_logd
	[ -z "$(leftovers "$LOGD_DIR")" ]
	keeps_latest 60
	start_logd b
	run -0 ctl compact big
	stop_logd
	keeps_latest 60
	run -0 "$KD" -c "$LOGD_DIR/big-0"
	[ "$output" -lt 1000 ]
}

@test "logd: retention during a pass (compact,delete) discards it, the retry completes, the log stays valid" {
	throttled_pass 500000 60 -c cleanup.policy=compact,delete \
	    -c retention.bytes=700000
	wait_for 10000 started big
	# Retention deletes the oldest segments the pass is reading.
	run -0 ctl retention
	grep -q 'retention deleted [0-9]* segments .* topic=big partition=0' \
	    "$LOGD_DIR.log"
	wait "$ctl_pid"
	grep -q 'compaction discarded: topic=big partition=0: the log changed' \
	    "$LOGD_DIR.log"
	grep -q 'compacted topic=big partition=0' "$LOGD_DIR.log"
	[ -z "$(leftovers "$LOGD_DIR")" ]
	run -0 ctl -j topics
	start=$(jq -r 'select(.topic == "big") | .log_start_offset' <<<"$output")
	[ "$start" -gt 0 ]
	stop_logd
	# The last round lies past what retention removed.
	keeps_latest 60
}

@test "logd: deleting a topic during its pass stops the pass; the broker goes on" {
	throttled_pass 300000 60 -c cleanup.policy=compact
	wait_for 10000 started big
	run -0 ck delete "$LOGD_ADDR" big
	[ "$output" = "big ok" ]
	# Nothing is left to compact: the waiting client is answered at once.
	t0=$(now_ms)
	wait "$ctl_pid"
	[ $(($(now_ms) - t0)) -lt 3000 ]
	[ -z "$(compgen -G "$LOGD_DIR/big-0*")" ]
	# The same name again: a new log, compacted from scratch.
	run -0 create_big -c cleanup.policy=compact
	run -0 produce_rounds big 3
	run -0 ctl compact big
	stop_logd
	[ -z "$(leftovers "$LOGD_DIR")" ]
	keeps_latest 3
}

@test "logd ctl compact: one topic or partition, and what it refuses" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" c:2 -c cleanup.policy=compact \
	    -c segment.bytes=8192 -c min.cleanable.dirty.ratio=0.01
	run -0 ck create "$LOGD_ADDR" x-1:1 -c cleanup.policy=compact
	run -0 ck create "$LOGD_ADDR" plain:1
	BATCH=4096 run -0 produce_rounds c 5
	run -0 --separate-stderr ctl compact c-1
	grep -q 'compacted topic=c partition=1' "$LOGD_DIR.log"
	run -1 grep -q 'compacted topic=c partition=0' "$LOGD_DIR.log"
	run -0 --separate-stderr ctl -j compact c
	grep -q 'compacted topic=c partition=0' "$LOGD_DIR.log"
	[ "$(jq -r 'select(.topic == "c") | .partition' <<<"$output")" = "0
1" ]
	# A whole topic name wins over TOPIC-PARTITION.
	run -0 ctl compact x-1
	run -1 --separate-stderr ctl compact c-2
	[ "$stderr" = "logd: ctl: unknown topic or partition 'c-2'" ]
	run -1 --separate-stderr ctl compact nosuch
	[ "$stderr" = "logd: ctl: unknown topic or partition 'nosuch'" ]
	run -1 --separate-stderr ctl compact plain
	[ "$stderr" = "logd: ctl: topic 'plain' is not compacted (cleanup.policy has no compact)" ]
	run -64 --separate-stderr ctl compact c extra
	[ "$stderr" = "logd: ctl: expected one command" ]
	run -64 --separate-stderr ctl status c
	[ "$stderr" = "logd: ctl: expected one command" ]
	run -0 ctl compact
	stop_logd
	verify_log
}
