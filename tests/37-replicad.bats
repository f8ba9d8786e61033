#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# replicad, the follower: usage and exit codes, the manifest, waiting for
# a local logd that is not there yet, the admin socket (`replicad status`,
# text and JSON), and its follower logic against tests/tools/kfakerepl.py,
# which plays the local logd's replica.sock and the leaders exactly as
# scripted: truncation by leader epoch (KIP-101 and KIP-279's rules, the
# second OffsetForLeaderEpoch round), a leader change, a log behind the
# leader's log start, trailing partial batches, fenced epochs, a leader
# that is down, and a local logd restart. The follower must end with the
# leader's batches, byte for byte (offsets, epochs, CRCs).
bats_require_minimum_version 1.5.0
load helpers

setup() {
	RD=$BIN_DIR/replicad
	FAKE=$BATS_TEST_DIRNAME/tools/kfakerepl.py
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	kill_daemons
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log \
	    2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*.log >&2
		return 1
	fi
}

write_manifest() {
	cat >m.yaml <<-EOF
	cluster: bats
	controller:
	  host: 127.0.0.1
	  port: 9
	  data_dir: ctrl
	brokers:
	  - { id: 1, host: 127.0.0.1, port: 19091, data_dir: b1 }
	  - { id: 2, host: 127.0.0.1, port: 19092, data_dir: b2 }
	topics:
	  - { name: events, partitions: 1, replication_factor: 2 }
	EOF
}

# wait_ready PID FILE LOG: a daemon started in the background, killed in
# teardown; wait until it writes FILE, showing its LOG if it never does.
wait_ready() {
	echo "$1" >>"$BATS_TEST_TMPDIR/.pids"
	if ! wait_for 10000 test -s "$2"; then
		cat "$3" >&2
		return 1
	fi
}

# start_replicad DIR [ARGS...]: replicad run on DIR, ready once its admin
# socket listens (--ready-fd); sets RD_PID. Its log is DIR.replicad.log.
start_replicad() {
	local dir=$1
	shift
	rm -f "$dir.ready"
	"$RD" run -d "$dir" --ready-fd 3 "$@" 3>"$dir.ready" \
	    >>"$dir.replicad.log" 2>&1 &
	RD_PID=$!
	wait_ready "$RD_PID" "$dir.ready" "$dir.replicad.log"
}

# start_fake DIR SCENARIO: the fake local logd and leaders for DIR, their
# state in DIR.json; sets FAKE_PID.
start_fake() {
	local dir=$1 scenario=$2
	mkdir -p "$dir"
	rm -f "$dir.addrs"
	"$PY" "$FAKE" "$dir" "$scenario" --state "$dir.json" \
	    --addr-file "$dir.addrs" >>"$dir.fake.log" 2>&1 &
	FAKE_PID=$!
	wait_ready "$FAKE_PID" "$dir.addrs" "$dir.fake.log"
}

# fake_query DIR EXPR: evaluate a Python expression over the fake's state
# `s` (and `p`, its partitions) and print it.
fake_query() {
	"$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))
p = s["partitions"]
print(eval(sys.argv[2]))' "$1.json" "$2"
}

# all_done DIR: every partition is in its last phase and caught up.
all_done() {
	[ "$(fake_query "$1" 'all(v["done"] for v in p.values())')" = True ]
}

# same_as_leader DIR: the follower logs hold the leaders' batches.
same_as_leader() {
	run -0 fake_query "$1" \
	    '[k for k, v in sorted(p.items()) if v["follower"] != v["leader"]]'
	[ "$output" = "[]" ]
}

# replicate_all DIR SCENARIO: replicad on DIR against the scripted fake
# until every partition is done; the follower then has the leaders' logs.
replicate_all() {
	start_fake "$1" "$2"
	start_replicad "$1"
	wait_for 20000 all_done "$1"
	same_as_leader "$1"
}

# events DIR KIND FIELDS: one line per event of KIND with those fields.
events() {
	fake_query "$1" "'\\n'.join(' '.join(str(e.get(f)) for f in
	    '$3'.split()) for e in s['events'] if e['kind'] == '$2')"
}

@test "usage errors: exit 64 with the reason" {
	run -64 --separate-stderr "$RD"
	[[ ${stderr_lines[0]} == "replicad: give -d dir, or -m manifest and -i id" ]]
	[[ ${stderr_lines[1]} == "usage: replicad"* ]]
	[ -z "$output" ]
	run -64 --separate-stderr "$RD" frobnicate -d .
	[[ ${stderr_lines[0]} == "replicad: unknown command 'frobnicate' (use run or status)" ]]
	run -64 --separate-stderr "$RD" status -d . extra
	[[ ${stderr_lines[0]} == "replicad: unexpected argument 'extra'" ]]
	run -64 --separate-stderr "$RD" run -d . -m m.yaml -i 1
	[[ ${stderr_lines[0]} == "replicad: give -d or -m, not both" ]]
	run -64 --separate-stderr "$RD" run -m m.yaml
	[[ ${stderr_lines[0]} == "replicad: -m needs -i (this broker's id)" ]]
	run -64 --separate-stderr "$RD" run -d . -j
	[[ ${stderr_lines[0]} == "replicad: -j is for status" ]]
	run -64 --separate-stderr "$RD" status -d . -n
	[[ ${stderr_lines[0]} == "replicad: -n, -s, --ready-fd and --log-timestamps are for run" ]]
	run -64 --separate-stderr "$RD" run -d . -i -1
	[[ ${stderr_lines[0]} == "replicad: -i"* ]]
	run -64 --separate-stderr "$RD" run -d . --ready-fd x
	[[ ${stderr_lines[0]} == "replicad: --ready-fd"* ]]
	run -64 --separate-stderr "$RD" run -d
	[[ ${stderr_lines[0]} == "replicad: option -d needs a value" ]]
}

@test "status with no replicad running: exit 69 naming the socket" {
	mkdir d
	run -69 --separate-stderr "$RD" status -d d
	[ "$stderr" = "replicad: status: unable to connect to 'd/replicad.sock': No such file or directory (is replicad running?)" ]
	[ -z "$output" ]
}

@test "run on a missing data directory: exit 66" {
	run -66 --separate-stderr "$RD" run -d nowhere
	[[ $stderr == *"data directory 'nowhere': No such file or directory"* ]]
	touch afile
	run -66 --separate-stderr "$RD" -d afile
	[[ $stderr == *"'afile' is not a directory"* ]]
}

@test "manifest: -n checks it, the broker's data dir is used, 78 and 66 when bad" {
	write_manifest
	mkdir b2
	run -0 --separate-stderr "$RD" run -n -m m.yaml -i 2
	[ "$output" = "configuration OK" ]
	run -69 --separate-stderr "$RD" status -m m.yaml -i 2
	[[ $stderr == *"/b2/replicad.sock'"* ]]
	run -78 --separate-stderr "$RD" run -n -m m.yaml -i 7
	[ "$stderr" = "replicad: error: m.yaml: no broker with id 7" ]
	run -78 --separate-stderr "$RD" status -m m.yaml -i 7
	sed -i 's/port: 19092/port: nineteen/' m.yaml
	run -78 --separate-stderr "$RD" run -n -m m.yaml -i 2
	[[ $stderr == *"m.yaml:"[0-9]*:[0-9]*": "*"port"* ]]
	run -66 --separate-stderr "$RD" run -m missing.yaml -i 2
}

@test "no local logd yet: keeps retrying, says so once, status exits 1, SIGTERM exits 0" {
	mkdir d
	start_replicad d
	wait_for 5000 grep -q "unable to connect to 'd/replica.sock'" d.replicad.log
	run -1 --separate-stderr "$RD" status -d d
	[[ $output == *"local_logd: unreachable: unable to connect to 'd/replica.sock': No such file or directory"* ]]
	run -1 --separate-stderr "$RD" status -d d --json
	run -0 "$PY" -c 'import json, sys
s = json.loads(sys.argv[1])
assert s["local_logd"]["connected"] is False, s
assert "d/replica.sock" in s["local_logd"]["error"], s
assert s["partitions"] == [] and s["unhealthy"] == 1, s' "$output"
	sleep 1
	[ "$(grep -c "unable to connect" d.replicad.log)" = 1 ]
	stop_logd "$RD_PID"
	[ ! -e d/replicad.sock ]
	grep -q "info: stopped" d.replicad.log
}

@test "-i names another broker than the local logd: exit 78" {
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": []}
	EOF
	start_fake d s.json
	run -78 --separate-stderr timeout 10 "$RD" run -d d -i 3
	[[ $stderr == *"error: the logd at 'd/replica.sock' is broker 2, not 3 as -i says"* ]]
	[ ! -e d/replicad.sock ]
}

@test "a second replicad on the same data directory: exit 73" {
	mkdir d
	start_replicad d
	run -73 --separate-stderr "$RD" run -d d
	[[ $stderr == *"another replicad runs on 'd'"* ]]
	run -1 "$RD" status -d d
}

@test "truncates to the divergence point by leader epoch, then copies the leader" {
	# t-0: the leader answers epoch 0 ending at 5, but here epoch 0 ends
	# at 3 (KIP-279): cut at 3, not 5. t-1: the leader answers epoch 2,
	# unknown here: cut to the end of local epoch 1 (7), ask again with
	# epoch 1, then cut at 5. t-2: agrees, nothing to cut.
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": [
	 {"topic": "t", "partition": 0,
	  "leaders": {"1": {"epoch": 3, "batches": [[0, 3], [0, 2], [2, 3], [2, 1]]}},
	  "follower": {"batches": [[0, 3], [1, 4]]}},
	 {"topic": "t", "partition": 1,
	  "leaders": {"1": {"epoch": 4, "batches": [[0, 5], [2, 3]]}},
	  "follower": {"batches": [[0, 5], [1, 2], [3, 3]]}},
	 {"topic": "t", "partition": 2,
	  "leaders": {"1": {"epoch": 1, "batches": [[0, 2], [1, 2], [1, 2]]}},
	  "follower": {"batches": [[0, 2], [1, 2]]}}
	]}
	EOF
	replicate_all d s.json
	run -0 events d epoch "part asked answer"
	[ "${lines[0]}" = "t-0 1 [0, 5]" ]
	[ "${lines[1]}" = "t-1 3 [2, 8]" ]
	[ "${lines[2]}" = "t-2 1 [1, 6]" ]
	[ "${lines[3]}" = "t-1 1 [0, 5]" ]
	[ "${#lines[@]}" = 4 ]
	run -0 events d truncate "part leo offset"
	[ "$output" = "t-0 7 3
t-1 10 7
t-1 7 5" ]
	grep -q "info: truncating topic=t partition=0 from=7 to=3 leader=1 leader_epoch=3: epoch 0 ends at 5 on the leader and at 3 here (asked 1)" d.replicad.log
	grep -q "info: truncating topic=t partition=1 from=10 to=7 leader=1 leader_epoch=4: leader answered epoch 2 (asked 3), unknown here; local epoch 1 ends at 7, asking again" d.replicad.log
	run -0 --separate-stderr "$RD" status -d d
	[[ $output == *"unhealthy: 0"* ]]
	[[ $output == *"partitions: 3"* ]]
	[ "$(grep -c ' fetching   -$' <<<"$output")" = 3 ]
}

@test "Fetch and OffsetForLeaderEpoch carry the replica id, epochs and offsets" {
	cat >s.json <<-'EOF'
	{"broker_id": 5, "partitions": [
	 {"topic": "a", "partition": 0,
	  "leaders": {"1": {"epoch": 7, "batches": [[6, 2], [7, 3]]}},
	  "follower": {"batches": [[6, 2]]}},
	 {"topic": "a", "partition": 1,
	  "leaders": {"1": {"epoch": 7, "batches": [[7, 1]]}}},
	 {"topic": "b", "partition": 0,
	  "leaders": {"1": {"epoch": 2, "batches": []}}}
	]}
	EOF
	replicate_all d s.json
	run -0 events d epoch "leader replica part current asked"
	[ "$output" = "1 5 a-0 7 6" ]
	# Every Fetch: replica id, a 500 ms long poll, read_uncommitted, no
	# session, and all three partitions in one request once truncated.
	run -0 events d fetch "replica max_wait isolation session"
	[ "$(sort -u <<<"$output")" = "5 500 0 [0, -1]" ]
	last_fetch_has() {
		[ "$(fake_query d "sorted([e['parts'] for e in s['events'] if e['kind'] == 'fetch'][-1])")" = "$1" ]
	}
	wait_for 5000 last_fetch_has "[['a', 0, 7, 5], ['a', 1, 7, 1], ['b', 0, 2, 0]]"
	# The leader's high watermark reaches logd, with empty appends too.
	run -0 fake_query d "[v['follower_hw'] for k, v in sorted(p.items())]"
	[ "$output" = "[5, 1, 0]" ]
}

@test "a leader change: truncate to the new leader's end of our epoch, then fetch from it" {
	# Broker 1 led at epoch 3 and had [3, 2] at 9-10 that broker 2, the
	# new leader at epoch 4, never got.
	cat >s.json <<-'EOF'
	{"broker_id": 3, "partitions": [
	 {"topic": "t", "partition": 0,
	  "leaders": {"1": {"epoch": 3, "batches": [[0, 2], [0, 3], [3, 4], [3, 2]]},
	              "2": {"epoch": 4, "batches": [[0, 2], [0, 3], [3, 4], [4, 5], [4, 1]]}},
	  "phases": [{"leader": 1}, {"leader": 2}],
	  "follower": {"batches": [[0, 2]]}}
	]}
	EOF
	replicate_all d s.json
	run -0 events d epoch "leader asked answer"
	[ "$output" = "1 0 [0, 5]
2 3 [3, 9]" ]
	run -0 events d truncate "leo offset"
	[ "$output" = "11 9" ]
	grep -q "info: new leader topic=t partition=0 leader=1->2 leader_epoch=3->4" d.replicad.log
	grep -q "info: truncating topic=t partition=0 from=11 to=9 leader=2 leader_epoch=4: epoch 3 ends at 9 on the leader and at 11 here (asked 3)" d.replicad.log
	run -0 "$RD" status -d d --json
	run -0 "$PY" -c 'import json, sys
s = json.loads(sys.argv[1])
(q,) = s["partitions"]
assert (q["topic"], q["partition"], q["leader"], q["leader_epoch"]) == ("t", 0, 2, 4), q
assert (q["log_end_offset"], q["leader_high_watermark"], q["lag"]) == (15, 15, 0), q
assert q["state"] == "fetching" and q["error"] is None, q
assert s["broker_id"] == 3 and s["state_version"] == 2, s
assert [l["broker_id"] for l in s["leaders"]] == [2], s' "$output"
}

@test "records without a leader-epoch cache are copied again from the log start" {
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": [
	 {"topic": "v", "partition": 0,
	  "leaders": {"1": {"epoch": 2, "batches": [[0, 2], [1, 3], [2, 4]]}},
	  "follower": {"batches": [[0, 2], [0, 7]], "epoch_cache": false}}
	]}
	EOF
	replicate_all d s.json
	run -0 events d truncate "leo offset"
	[ "$output" = "9 0" ]
	run -0 events d epoch "part"
	[ -z "$output" ]
	grep -q "truncating topic=v partition=0 from=9 to=0 .*records without a leader-epoch cache; copying the log again" d.replicad.log
}

@test "behind the leader's log start: the log restarts there; partial batches are cut" {
	# The leader answers one batch and half of the next each time.
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": [
	 {"topic": "u", "partition": 0,
	  "leaders": {"1": {"epoch": 1, "log_start": 100, "per_fetch": 1,
	                    "partial_tail": true,
	                    "batches": [[1, 5], [1, 3], [1, 2], [1, 1]]}},
	  "follower": {"batches": [[0, 4]]}}
	]}
	EOF
	replicate_all d s.json
	run -0 events d truncate "leo offset"
	[ "$output" = "4 100" ]
	run -0 fake_query d "p['u-0']['follower_log_start']"
	[ "$output" = 100 ]
	# Every append held whole batches, one at a time (or none, to pass
	# the high watermark on).
	run -0 events d append "error batches"
	[ "$(grep -c '^0 \[\[[0-9]*, [0-9]*, 1, [0-9]*\]\]$' <<<"$output")" = 4 ]
	[ "$(grep -vc -e '^0 \[\[[0-9]*, [0-9]*, 1, [0-9]*\]\]$' -e '^0 \[\]$' \
	    <<<"$output")" = 0 ]
	grep -q "truncating topic=u partition=0 from=4 to=100 .*starts at 100, after the local log end" d.replicad.log
}

@test "fenced and unknown epochs, a leader that is down: status exit 1 with the errors" {
	cat >s.json <<-'EOF'
	{"broker_id": 3, "partitions": [
	 {"topic": "t", "partition": 0,
	  "leaders": {"1": {"epoch": 3, "batches": [[0, 2]]}},
	  "phases": [{"leader": 1, "epoch": 5}]},
	 {"topic": "t", "partition": 1,
	  "leaders": {"1": {"epoch": 3, "batches": [[0, 2]]}},
	  "phases": [{"leader": 1, "epoch": 2}]},
	 {"topic": "w", "partition": 0,
	  "leaders": {"7": {"epoch": 1, "batches": [[0, 2]], "down": true}}}
	]}
	EOF
	start_fake d s.json
	start_replicad d
	status_errors() {
		[ "$("$RD" status -d d | grep -c -e ' waiting ' -e ' backoff ')" = 3 ]
	}
	wait_for 10000 status_errors
	run -1 --separate-stderr "$RD" status -d d
	[[ $output == *"unhealthy: 3"* ]]
	[[ $output == *" waiting    broker 1 (127.0.0.1:"*") answered Fetch at leader_epoch 5 with UNKNOWN_LEADER_EPOCH; waiting for a fresh state"* ]]
	[[ $output == *" waiting    broker 1 (127.0.0.1:"*") answered Fetch at leader_epoch 2 with FENCED_LEADER_EPOCH; waiting for a fresh state"* ]]
	[[ $output == *" backoff    broker 7 (127.0.0.1:"*"): unable to connect: Connection refused"* ]]
	sleep 1
	# Retries with back-off log each problem once.
	[ "$(grep -c "broker 7 .*Connection refused" d.replicad.log)" = 1 ]
	[ "$(grep -c "FENCED_LEADER_EPOCH" d.replicad.log)" = 1 ]
}

@test "the local logd restarts: replicad reconnects, resyncs and catches up" {
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": [
	 {"topic": "t", "partition": 0,
	  "leaders": {"1": {"epoch": 3, "batches": [[0, 2], [3, 4]]}},
	  "follower": {"batches": [[0, 2], [1, 1]]}}
	]}
	EOF
	start_fake d s.json
	start_replicad d
	wait_for 20000 all_done d
	kill -TERM "$FAKE_PID"
	wait "$FAKE_PID" || true
	wait_for 5000 grep -q "local logd ('d/replica.sock'): connection closed; retrying with back-off" d.replicad.log
	run -1 "$RD" status -d d
	[[ $output == *"local_logd: unreachable: "* ]]
	start_fake d s.json
	wait_for 20000 all_done d
	same_as_leader d
	run -0 "$RD" status -d d
	[[ $output == *"local_logd: connected"* ]]
	grep -q "connected to the local logd at 'd/replica.sock'" d.replicad.log
	# The restarted logd's log diverged again: cut again by epoch.
	[ "$(grep -c "truncating topic=t partition=0 from=3 to=2" d.replicad.log)" = 2 ]
}

@test "SIGTERM while long polling: exit 0 at once, the admin socket removed" {
	cat >s.json <<-'EOF'
	{"broker_id": 2, "partitions": [
	 {"topic": "t", "partition": 0,
	  "leaders": {"1": {"epoch": 1, "batches": [[1, 1]]}}}
	]}
	EOF
	start_fake d s.json
	start_replicad d -q
	wait_for 20000 all_done d
	start=$(now_ms)
	stop_logd "$RD_PID"
	[ $(($(now_ms) - start)) -lt 1000 ]
	[ ! -e d/replicad.sock ]
	[ ! -s d.replicad.log ]
}
