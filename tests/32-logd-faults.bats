#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# logd under faults, with real processes, signals and files: kill -9 under
# produce load (every acknowledged record survives exactly once, in order),
# clean and crash restarts, malformed and hostile requests next to a
# well-behaved client, a full disk (file size limit), retention by time, by
# size and on the timer, long polls (latency, idle CPU, SIGTERM while
# parked), the idle timeout and max.connections.
#
# KLOG_SOAK=1 runs the kill -9 test for 50 rounds instead of 5.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	KD=$BIN_DIR/kdump-segment
	TOOLS_PY=$BATS_TEST_DIRNAME/tools
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	kill_daemons
	# A sanitizer build reports into the daemon's log.
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log 2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*.log >&2
		return 1
	fi
}

kfault() {
	"$PY" "$TOOLS_PY/kfault.py" "$@"
}

kclient() {
	"$PY" "$TOOLS_PY/kclient.py" "$@"
}

# log_mark: the current length of the running logd's log, for log_since.
log_mark() {
	wc -l <"$LOGD_DIR.log"
}

# log_since MARK: what logd logged after log_mark returned MARK.
log_since() {
	tail -n +"$(($1 + 1))" "$LOGD_DIR.log"
}

# roundtrip: kcat sees the broker, and a record produced with kcat comes
# back from a kcat consumer.
roundtrip() {
	local v
	v="rt-$RANDOM-$(now_ms)"
	run -0 kcat -b "$LOGD_ADDR" -L -m 5
	[[ $output == *"broker 0 at $LOGD_ADDR"* ]]
	run -0 kcat -b "$LOGD_ADDR" -P -t roundtrip -m 5 <<<"$v"
	run -0 kcat -b "$LOGD_ADDR" -C -t roundtrip -o -1 -e -q -m 5
	[ "$output" = "$v" ]
}

logd_alive() {
	kill -0 "$LOGD_PID"
}

# wait_logd_exit: wait for the running logd to end; sets LOGD_RC.
wait_logd_exit() {
	LOGD_RC=0
	wait "$LOGD_PID" || LOGD_RC=$?
}

# acked_at_least FILE N: FILE (a kclient history) holds N "ok" lines.
acked_at_least() {
	[ -f "$1" ] && [ "$(grep -c '^ok ' "$1")" -ge "$2" ]
}

# cpu_ticks PID: user + system CPU time of PID in clock ticks.
cpu_ticks() {
	local stat f
	stat=$(<"/proc/$1/stat")
	# Fields after "(comm) ": state is f[0], utime f[11], stime f[12].
	read -r -a f <<<"${stat##*) }"
	echo $((f[11] + f[12]))
}

# earliest TOPIC: log start offset of partition 0 (ListOffsets -2).
earliest() {
	local out
	out=$(kcat -b "$LOGD_ADDR" -Q -t "$1:0:-2" -m 5) || return 1
	[[ $out =~ \[0\]\ offset\ ([0-9]+) ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

earliest_above() {
	local s
	s=$(earliest "$1") && [ "$s" -gt "$2" ]
}

# ctl_field NAME: one field of `logd ctl status`.
ctl_field() {
	"$BIN_DIR/logd" ctl -d "$LOGD_DIR" status | sed -n "s/^$1: //p"
}

ctl_at_least() {
	[ "$(ctl_field "$1")" -ge "$2" ]
}

# requests_settled: logd answered no request for 300 ms.
requests_settled() {
	local r
	r=$(ctl_field requests)
	sleep 0.3
	[ "$(ctl_field requests)" = "$r" ]
}

# nsegs DIR: how many segments a partition directory holds.
nsegs() {
	local f n=0
	for f in "$1"/*.log; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# readback FILE TOPIC: every record as "partition offset value" lines.
readback() {
	kcat -b "$LOGD_ADDR" -C -t "$2" -o beginning -e -q -m 10 \
	    -f '%p %o %s\n' >"$1"
}

# --- kill -9 and restarts -------------------------------------------------

@test "kill -9 under produce load, repeated: acked records survive once, in order" {
	local rounds=5 r mark ppid need hist=()
	[ -z "$KLOG_SOAK" ] || rounds=50
	# Small segments, so kills land near rolls and recovery sees several.
	start_logd kd -o log.segment.bytes=262144
	run -0 kclient create "$LOGD_ADDR" load 3
	for ((r = 1; r <= rounds; r++)); do
		kclient produce "$LOGD_ADDR" load "hist.$r" --round "$r" \
		    --partitions 3 --stop-file "stop.$r" >"prod.$r.out" 2>&1 &
		ppid=$!
		hist+=("hist.$r")
		# Kill at a different point each round, mid-stream.
		need=$((1000 + RANDOM % 4000))
		wait_for 30000 acked_at_least "hist.$r" "$need"
		kill -KILL "$LOGD_PID"
		wait_logd_exit
		[ "$LOGD_RC" -eq 137 ]
		# The producer stops at its first failed delivery, or now.
		touch "stop.$r"
		wait "$ppid"
		echo "# round $r: killed after $need acks; producer: $(cat "prod.$r.out")" >&3
		mark=$(log_mark)
		start_logd kd -o log.segment.bytes=262144
		run -0 log_since "$mark"
		[[ $output == *"no clean-shutdown marker in '$LOGD_DIR'"* ]]
		[[ $output == *"recovered topic=load partition="* ]]
		run -0 --separate-stderr "$KD" -q -C "$LOGD_DIR"
	done
	readback all.txt load
	run -0 --separate-stderr kclient check all.txt "${hist[@]}"
	echo "# $rounds kills: $output" >&3
	[[ $output == *" lost 0 problems 0" ]]
	stop_logd
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == *" problems=0" ]]
	echo "# segments: $(nsegs "$LOGD_DIR/load-0") $(nsegs "$LOGD_DIR/load-1") $(nsegs "$LOGD_DIR/load-2")" >&3
}

@test "restart after SIGTERM is clean; after kill -9 it recovers; offsets continue" {
	start_logd p
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 < <(seq 1 100)
	stop_logd
	[ -f "$LOGD_DIR/.klog_cleanshutdown" ]
	run -0 grep -c 'info: stopped' p.log
	mark=$(log_mark)
	start_logd p
	[ ! -f "$LOGD_DIR/.klog_cleanshutdown" ]
	run -0 log_since "$mark"
	[[ $output == *"loaded 1 topics from '$LOGD_DIR'"* ]]
	[[ $output != *"clean-shutdown"* && $output != *"recover"* ]]
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 < <(seq 101 150)
	run -0 kcat -b "$LOGD_ADDR" -Q -t t:0:-1 -m 5
	[ "$output" = "t [0] offset 150" ]

	kill -KILL "$LOGD_PID"
	wait_logd_exit
	[ "$LOGD_RC" -eq 137 ]
	[ ! -f "$LOGD_DIR/.klog_cleanshutdown" ]
	mark=$(log_mark)
	start_logd p
	run -0 log_since "$mark"
	[[ $output == *"no clean-shutdown marker in '$LOGD_DIR'"* ]]
	[[ $output == *"recovered topic=t partition=0"* ]]
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 < <(seq 151 200)
	run -0 kcat -b "$LOGD_ADDR" -C -t t -o beginning -e -q -m 5 -f '%o %s\n'
	[ "$output" = "$(paste -d ' ' <(seq 0 199) <(seq 1 200))" ]
	run -0 "$KD" -c "$LOGD_DIR/t-0"
	[ "$output" = 200 ]
	stop_logd
}

# --- malformed requests ---------------------------------------------------

# start_bad: a logd with a 1 MiB request limit and debug logging, and the
# topic the malformed produces go to.
start_bad() {
	start_logd bad -v -o socket.request.max.bytes=1048576
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 <<<"first"
	T_COUNT=$("$KD" -c "$LOGD_DIR/t-0")
}

# bad CASE [ARG]: send one malformed request (kfault checks the canary
# and the log end); sets CLIENT to its address. Afterwards logd must be
# running, serve kcat, and have appended nothing to topic t.
bad() {
	run -0 --separate-stderr kfault bad "$LOGD_ADDR" t "$@"
	[[ $output == *"canary ok" ]]
	[[ ${lines[0]} =~ ^client\ (127\.0\.0\.1:[0-9]+)$ ]] &&
	    CLIENT=${BASH_REMATCH[1]}
	BAD_OUTPUT=$output
	logd_alive
	roundtrip
	run -0 "$KD" -c "$LOGD_DIR/t-0"
	[ "$output" = "$T_COUNT" ]
}

@test "malformed: random bytes close the connection, nothing else" {
	start_bad
	bad random 40
	[[ $BAD_OUTPUT == "random_blobs 40 closed_by_logd "* ]]
	run -0 grep -c "closing connection from 127.0.0.1:[0-9]*: " bad.log
}

@test "malformed: size prefixes of 2 GiB, -1, 9 and above socket.request.max.bytes are refused" {
	local size want rss0 rss1
	start_bad
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$LOGD_PID/status")
	for size in 0x80000000:-2147483648 0x7fffffff:2147483647 \
	    0xffffffff:-1 9:9 1048577:1048577; do
		want=${size#*:}
		bad size "${size%%:*}"
		run -0 grep -F "closing connection from $CLIENT: request size $want outside [10, 1048576] (socket.request.max.bytes)" bad.log
	done
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$LOGD_PID/status")
	echo "# RSS ${rss0} kB -> ${rss1} kB" >&3
	[ $((rss1 - rss0)) -lt 51200 ]
}

@test "malformed: a request of exactly socket.request.max.bytes is served" {
	start_bad
	run -0 --separate-stderr kfault bad "$LOGD_ADDR" t size-exact 1048576
	[[ ${lines[1]} == "frame_bytes 1048576 produce_error 0 base_offset 1" ]]
	run -0 "$KD" -c "$LOGD_DIR/t-0"
	[ "$output" = 2 ]
	roundtrip
}

@test "malformed: a frame cut short by the client is dropped" {
	start_bad
	bad truncated-frame
	run -0 grep -F "connection from $CLIENT closed by peer" bad.log
}

@test "malformed: unknown API key 999 closes the connection, logged" {
	start_bad
	bad unknown-api 999
	run -0 grep -F "closing connection from $CLIENT: unknown v0 request (correlation id 1): unknown API key" bad.log
}

@test "malformed: Fetch v0 and Metadata v12 close the connection, logged" {
	start_bad
	bad fetch-v0
	run -0 grep -F "closing connection from $CLIENT: Fetch v0 request (correlation id 1): unsupported API version" bad.log
	bad metadata-v12
	run -0 grep -F "closing connection from $CLIENT: Metadata v12 request (correlation id 1): unsupported API version" bad.log
}

@test "malformed: a batch with a bad CRC gets CORRUPT_MESSAGE and appends nothing" {
	start_bad
	bad bad-crc
	[[ $BAD_OUTPUT == *"produce_error 2 base_offset -1"* ]]
	run -0 grep -F "rejecting produce from $CLIENT: topic=t partition=0 position=0: batch at offset 0: bad CRC" bad.log
}

@test "malformed: a good batch followed by a bad one: CORRUPT_MESSAGE, neither written" {
	start_bad
	bad bad-crc-second
	[[ $BAD_OUTPUT == *"produce_error 2 base_offset -1"* ]]
	run -0 grep -F "rejecting produce from $CLIENT: topic=t partition=0 position=" bad.log
	[[ $output == *"bad CRC"* ]]
}

@test "malformed: a truncated batch gets CORRUPT_MESSAGE and appends nothing" {
	start_bad
	bad truncated-batch
	[[ $BAD_OUTPUT == *"produce_error 2 base_offset -1"* ]]
	run -0 grep -F "rejecting produce from $CLIENT: topic=t partition=0 position=0: truncated batch" bad.log
}

@test "malformed: Produce v3 records longer than the frame close the connection" {
	start_bad
	bad records-overflow
	run -0 grep -F "closing connection from $CLIENT: Produce v3 request (correlation id 1): malformed request" bad.log
}

@test "ApiVersions v3: error 35 in the v0 layout, and the connection stays open" {
	start_bad
	bad api-versions-v3
	[[ $BAD_OUTPUT == *"v3_error 35 apis {18: (0, 2)} trailing 0"* ]]
	[[ $BAD_OUTPUT == *"v0_error 0 apis "* ]]
	run -1 grep -F "closing connection from $CLIENT" bad.log
}

# --- disk full ------------------------------------------------------------

# limited_bin KIB: a directory whose "logd" runs the real one under
# `ulimit -f KIB` (bash counts it in KiB); logd ignores SIGXFSZ, so writes
# past the limit fail with EFBIG.
limited_bin() {
	local wrap=$BATS_TEST_TMPDIR/ulimit-bin
	mkdir -p "$wrap"
	printf '#!/bin/bash\nulimit -f %d\nexec %q "$@"\n' "$1" \
	    "$BIN_DIR/logd" >"$wrap/logd"
	chmod +x "$wrap/logd"
	echo "$wrap"
}

@test "disk full (ulimit -f): KAFKA_STORAGE_ERROR, reads go on, restart recovers" {
	local limit_kb=256 wrap
	wrap=$(limited_bin "$limit_kb")
	BIN_DIR=$wrap start_logd full -o log.segment.bytes=1048576 \
	    -o log.index.size.max.bytes=65536
	run -0 kclient create "$LOGD_ADDR" full 1
	run -0 kclient produce "$LOGD_ADDR" full hist.1 --round 1
	echo "# under the limit: $output" >&3
	[[ $output == *" first_error KAFKA_STORAGE_ERROR" ]]
	logd_alive
	run -0 grep -F "append failed: topic=full partition=0: " full.log
	[[ $output == *"File too large"* ]]
	# Still failing once the little room left after the cut is used up,
	# and still serving everything acknowledged.
	run -0 kclient produce "$LOGD_ADDR" full hist.2 --round 2
	echo "# again: $output" >&3
	[[ $output == *" first_error KAFKA_STORAGE_ERROR" ]]
	readback full.txt full
	run -0 --separate-stderr kclient check full.txt hist.1 hist.2
	echo "# $output" >&3
	[[ $output == "acked "*" lost 0 problems 0" ]]
	[ "$(file_size "$LOGD_DIR/full-0/00000000000000000000.log")" -le $((limit_kb * 1024)) ]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/full-0"
	[[ $output == *" problems=0" ]]
	roundtrip
	stop_logd

	start_logd full
	run -0 kclient produce "$LOGD_ADDR" full hist.3 --round 3 --count 200
	[ "$output" = "acked 200 failed 0 sent 200 first_error none" ]
	readback full.txt full
	run -0 --separate-stderr kclient check full.txt hist.1 hist.2 hist.3
	[[ $output == *" lost 0 problems 0" ]]
	stop_logd
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
}

# The 10 MiB offset index cannot be preallocated under a 256 KiB limit.
@test "disk full at CreateTopics: the failed topic does not appear after a restart" {
	local wrap
	wrap=$(limited_bin 256)
	BIN_DIR=$wrap start_logd cfull
	run -1 kclient create "$LOGD_ADDR" ghost 1 retention.ms=1000
	[[ $output == "error KAFKA_STORAGE_ERROR: "* ]]
	logd_alive
	run -0 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" topics
	[[ $output != *ghost* ]]
	stop_logd
	start_logd cfull
	# BUG: logd adopts the partition directory the failed creation left
	# behind, so the topic the client was told was not created exists,
	# with default settings instead of retention.ms=1000.
	run -0 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" topics
	[[ $output != *ghost* ]]
	run -0 kclient create "$LOGD_ADDR" ghost 1 retention.ms=1000
}

# --- retention ------------------------------------------------------------

@test "retention by time: logd ctl retention deletes old segments, log start advances" {
	local start day_ago=$(($(date +%s%3N) - 86400000))
	start_logd ret
	run -0 kclient create "$LOGD_ADDR" old 1 segment.bytes=1024 retention.ms=60000
	run -0 kclient produce "$LOGD_ADDR" old h.old --count 100 --sync --timestamp "$day_ago"
	run -0 kclient produce "$LOGD_ADDR" old h.new --round 1 --count 10 --sync
	run -0 "$BIN_DIR/logd" ctl -j -d "$LOGD_DIR" topics
	[[ $output == *'"topic":"old","partition":0,"log_start_offset":0,"log_end_offset":110,'* ]]
	local segs_before
	segs_before=$(nsegs "$LOGD_DIR/old-0")
	[ "$segs_before" -ge 5 ]
	run -0 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" retention
	start=$(earliest old)
	echo "# segments $segs_before -> $(nsegs "$LOGD_DIR/old-0"), log start 0 -> $start" >&3
	[ "$start" -gt 0 ] && [ "$start" -le 100 ]
	[ "$(nsegs "$LOGD_DIR/old-0")" -lt "$segs_before" ]
	run -0 grep -F "retention deleted" ret.log
	[[ $output == *"topic=old partition=0 log_start_offset=$start" ]]
	# A consumer from the beginning starts at the new log start.
	run -0 kcat -b "$LOGD_ADDR" -C -t old -o beginning -e -q -m 5 -f '%o\n'
	[ "$output" = "$(seq "$start" 109)" ]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/old-0"
}

@test "retention by size: old segments go until the partition fits retention.bytes" {
	local start size
	start_logd rsz
	run -0 kclient create "$LOGD_ADDR" big 1 segment.bytes=1024 retention.bytes=3000
	run -0 kclient produce "$LOGD_ADDR" big h --count 100 --sync
	run -0 "$BIN_DIR/logd" ctl -d "$LOGD_DIR" retention
	start=$(earliest big)
	size=$(cat "$LOGD_DIR"/big-0/*.log | wc -c)
	echo "# log start $start, $size bytes left" >&3
	[ "$start" -gt 0 ]
	[ "$size" -ge 3000 ] && [ "$size" -lt $((3000 + 2048)) ]
	run -0 kcat -b "$LOGD_ADDR" -C -t big -o beginning -e -q -m 5 -f '%o\n'
	[ "$output" = "$(seq "$start" 99)" ]
}

@test "retention on the timer (log.retention.check.interval.ms) without ctl" {
	local day_ago=$(($(date +%s%3N) - 86400000))
	start_logd rt -o log.retention.check.interval.ms=200
	run -0 kclient create "$LOGD_ADDR" old 1 segment.bytes=1024 retention.ms=1000
	run -0 kclient produce "$LOGD_ADDR" old h --count 50 --sync --timestamp "$day_ago"
	wait_for 10000 earliest_above old 0
	wait_for 5000 grep -q "retention deleted .* topic=old partition=0" rt.log
}

# --- long polls -----------------------------------------------------------

@test "long poll: a parked Fetch is answered as soon as a record arrives" {
	start_logd lp
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 <<<"first"
	run -0 --separate-stderr kfault longpoll "$LOGD_ADDR" t 10000 1000
	echo "# ${lines[1]} (max_wait 10000 ms, record produced after 1000 ms)" >&3
	[[ ${lines[1]} =~ ^latency_ms\ ([0-9]+)\ total_ms\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 2000 ]
	[ "${BASH_REMATCH[2]}" -lt 3000 ]
}

@test "long poll: consumers parked at the log end cost logd no CPU" {
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	start_logd idle
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 <<<"first"
	kfault park "$LOGD_ADDR" t 10000 >park.out 2>&1 &
	kcat -b "$LOGD_ADDR" -C -t t -o end -q -X fetch.wait.max.ms=10000 \
	    >kcat.out 2>&1 &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 5000 grep -q parked park.out
	# kcat is connected and its startup requests are done.
	wait_for 10000 ctl_at_least connections 2
	wait_for 10000 requests_settled
	t0=$(cpu_ticks "$LOGD_PID")
	sleep 2 # the measurement window, not a wait for a condition
	t1=$(cpu_ticks "$LOGD_PID")
	echo "# logd CPU over 2 s with 2 parked consumers: $(((t1 - t0) * 1000 / hz)) ms" >&3
	[ $(((t1 - t0) * 1000 / hz)) -le 50 ]
}

@test "SIGTERM while a long poll is parked: answered, exit 0 within the timeout" {
	local t0 elapsed ppid
	start_logd term
	run -0 kcat -b "$LOGD_ADDR" -P -t t -m 5 <<<"first"
	kfault park "$LOGD_ADDR" t 30000 >park.out 2>&1 &
	ppid=$!
	wait_for 5000 grep -q parked park.out
	t0=$(now_ms)
	kill -TERM "$LOGD_PID"
	wait_logd_exit
	elapsed=$(($(now_ms) - t0))
	echo "# logd exited $LOGD_RC after $elapsed ms (shutdown.timeout.ms=5000)" >&3
	[ "$LOGD_RC" -eq 0 ]
	[ "$elapsed" -lt 5000 ]
	wait "$ppid"
	run -0 cat park.out
	[[ ${lines[2]} =~ ^answered_ms\ [0-9]+\ error\ 0\ records\ 0$ ]]
	run -0 grep -c "info: stopped" term.log
}

# --- connection limits ----------------------------------------------------

@test "connections.max.idle.ms: an idle connection is closed" {
	start_logd idle -o connections.max.idle.ms=500
	run -0 --separate-stderr kfault idle "$LOGD_ADDR" 5
	echo "# ${lines[1]} (connections.max.idle.ms=500)" >&3
	[[ ${lines[0]} =~ ^client\ (127\.0\.0\.1:[0-9]+)$ ]]
	run -0 grep -F "closing idle connection from ${BASH_REMATCH[1]}" idle.log
	roundtrip
}

@test "max.connections: a third connection is refused and logged, two keep working" {
	start_logd mc -o max.connections=2
	run -0 --separate-stderr kfault maxconn "$LOGD_ADDR"
	[[ ${lines[0]} =~ ^client\ (127\.0\.0\.1:[0-9]+)$ ]]
	[ "${lines[2]}" = "first two ok" ]
	run -0 grep -F "refusing connection from ${BASH_REMATCH[1]}: max.connections (2) reached" mc.log
	wait_for 5000 roundtrip
}
