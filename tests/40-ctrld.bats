#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# ctrld, the controller: usage and exit codes, the manifest bootstrap, the
# metadata log across kill -9, torn and corrupt tails, `ctrld apply` (dry
# run, --execute, refusals), `ctrld status` (tables, JSON, 69 when down),
# and with fake brokers (tests/tools/kctl_broker, which only sends the
# broker side of the private protocol): death after the session timeout,
# elections with and without unclean election, AlterIsr fencing,
# controlled shutdown and the preferred-leader rebalance.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	CTRLD=$BIN_DIR/ctrld
	KB=$TOOLS_DIR/kctl_broker
	cd "$BATS_TEST_TMPDIR" || return 1
	write_manifest m.yaml
}

teardown() {
	kill_daemons
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log 2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*.log >&2
		return 1
	fi
}

# write_manifest FILE [TOPICS...]: three brokers (never listening: the
# fake brokers only talk to ctrld), a 1 s session, a 300 ms rebalance.
# TOPICS are YAML lines replacing the default topic list.
write_manifest() {
	local file=$1
	shift
	cat >"$file" <<-EOF
	cluster: bats
	controller:
	  host: 127.0.0.1
	  port: 9
	  data_dir: ctrl
	  session_timeout_ms: 1000
	  leader_rebalance_interval_ms: 300
	defaults:
	  partitions: 1
	  replication_factor: 2
	  offsets_topic_partitions: 3
	brokers:
	  - { id: 1, host: 127.0.0.1, port: 19091, data_dir: b1 }
	  - { id: 2, host: 127.0.0.1, port: 19092, data_dir: b2 }
	  - { id: 3, host: 127.0.0.1, port: 19093, data_dir: b3 }
	topics:
	EOF
	if [ $# -eq 0 ]; then
		set -- \
		    "  - { name: events, partitions: 3, replication_factor: 3, configs: { min.insync.replicas: 2 } }" \
		    "  - { name: logs, partitions: 2, replication_factor: 2 }" \
		    "  - { name: solo, partitions: 1, replication_factor: 1 }" \
		    "  - { name: dirty, partitions: 1, replication_factor: 2, configs: { unclean.leader.election.enable: true } }"
	fi
	printf '%s\n' "$@" >>"$file"
}

# start_ctrld [ARGS...]: ctrld run on a free port; sets CTRL and CTRLD_PID.
start_ctrld() {
	rm -f ctrl.addr
	"$CTRLD" run -m m.yaml -l 127.0.0.1:0 --addr-file ctrl.addr "$@" \
	    >>ctrld.log 2>&1 &
	CTRLD_PID=$!
	echo "$CTRLD_PID" >>"$BATS_TEST_TMPDIR/.pids"
	if ! wait_for 10000 test -s ctrl.addr; then
		cat ctrld.log >&2
		return 1
	fi
	CTRL=$(cat ctrl.addr)
}

# start_broker ID [INCARNATION]: a fake broker heartbeating to ctrld.
start_broker() {
	local id=$1 inc=${2:-$((100 + $1))}
	"$KB" -c "$CTRL" -i "$id" -p "$((19090 + id))" -I "$inc" run \
	    >>"broker$id.log" 2>&1 &
	printf -v "BROKER_PID_$id" %s "$!"
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
}

# kill_broker ID: kill -9 a fake broker (and reap it quietly).
kill_broker() {
	local pid
	pid=$(eval echo "\$BROKER_PID_$1")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
}

# kb ID ARGS...: a one-shot kctl_broker command as broker ID.
kb() {
	local id=$1
	shift
	"$KB" -c "$CTRL" -i "$id" -p "$((19090 + id))" -I "${KB_INC:-$((100 + id))}" "$@"
}

status_json() {
	"$CTRLD" status -J -c "$CTRL"
}

# part TOPIC P: "leader leader_epoch partition_epoch isr" from status.
part() {
	status_json | jq -r --arg t "$1" --argjson p "$2" \
	    '.partitions[] | select(.topic == $t and .partition == $p) |
	     "\(.leader) \(.leader_epoch) \(.partition_epoch) \(.isr | join(","))"'
}

leader_of() {
	part "$1" "$2" | cut -d' ' -f1
}

# leader_is TOPIC P BROKER: for wait_for.
leader_is() {
	[ "$(leader_of "$1" "$2")" = "$3" ]
}

broker_state_is() {
	[ "$(status_json | jq -r --argjson id "$1" \
	    '.brokers[] | select(.id == $id) | .state')" = "$2" ]
}

# partitions: every partition's full state, one line each, for comparing.
partitions() {
	status_json | jq -c '.partitions[] | [.topic, .partition, .leader,
	    .leader_epoch, .partition_epoch, .replicas, .isr]'
}

# record_starts FILE: the offset of every record of a metadata log.
record_starts() {
	"$PY" - "$1" <<-'EOF'
	import struct, sys
	data = open(sys.argv[1], "rb").read()
	off = 0
	while off + 10 <= len(data):
	    print(off)
	    (length,) = struct.unpack(">I", data[off:off + 4])
	    off += 8 + length
	EOF
}

@test "usage: no command, unknown command, misplaced options: exit 64" {
	run -64 --separate-stderr "$CTRLD"
	[[ ${stderr_lines[0]} == "ctrld: no command given; commands: run, status, apply, deploy, up, down, restart, hosts, logs" ]]
	[[ ${stderr_lines[1]} == "usage: ctrld"* ]]
	run -64 --separate-stderr "$CTRLD" stats -m m.yaml
	[[ ${stderr_lines[0]} == "ctrld: unknown command 'stats'; commands: run, status, apply, deploy, up, down, restart, hosts, logs" ]]
	run -64 --separate-stderr "$CTRLD" status --execute -m m.yaml
	[[ ${stderr_lines[0]} == "ctrld: option --execute does not apply to 'status'" ]]
	run -64 --separate-stderr "$CTRLD" run
	[[ ${stderr_lines[0]} == "ctrld: run needs the manifest (-m)" ]]
	run -64 --separate-stderr "$CTRLD" apply -c 127.0.0.1:9
	[[ ${stderr_lines[0]} == "ctrld: apply needs the manifest (-m)" ]]
	run -64 --separate-stderr "$CTRLD" status -m m.yaml -t soon
	[[ ${stderr_lines[0]} == "ctrld: "*"--timeout"* ]]
	run -64 --separate-stderr "$CTRLD" status -m m.yaml extra
	[[ ${stderr_lines[0]} == "ctrld: unexpected argument 'extra'" ]]
	[ -z "$output" ]
}

@test "a bad manifest: exit 78 naming file:line:col, for every command" {
	sed -i 's/port: 19092/port: nineteen/' m.yaml
	for cmd in run status apply; do
		run -78 --separate-stderr "$CTRLD" "$cmd" -m m.yaml
		[[ $stderr == *"m.yaml:"[0-9]*:[0-9]*": "* ]]
		[[ $stderr == *"port"* ]]
	done
	run -66 --separate-stderr "$CTRLD" run -m missing.yaml
}

@test "run -n checks the manifest" {
	run -0 --separate-stderr "$CTRLD" run -n -m m.yaml
	[ "$output" = "configuration OK" ]
	[ ! -e ctrl ]
}

@test "status: exit 69 naming the controller when it is down" {
	start_ctrld
	stop_logd "$CTRLD_PID"
	run -69 --separate-stderr "$CTRLD" status -c "$CTRL"
	[[ $stderr == *"controller unreachable"*"$CTRL"* ]]
	[ -z "$output" ]
	run -69 --separate-stderr "$CTRLD" apply -m m.yaml -c "$CTRL"
	[[ $stderr == *"$CTRL"* ]]
}

@test "bootstrap: the manifest's topics and __consumer_offsets, spread over brokers" {
	start_ctrld
	run -0 --separate-stderr "$CTRLD" status -c "$CTRL"
	[[ ${lines[0]} == "ID"*"HOST:PORT"*"RACK"*"STATE"*"LAST-HEARTBEAT" ]]
	[[ $output == *"TOPIC"*"PARTITION"*"LEADER"*"EPOCH"*"REPLICAS"*"ISR"*"FLAGS"* ]]
	[[ ${lines[-1]} == "healthy: 3 brokers (0 down), 10 partitions (0 under-replicated, 0 under-min-isr, 0 offline), controller epoch 1" ]]
	run -0 status_json
	[ "$(jq -r '.partitions | map(.topic) | unique | join(" ")' <<<"$output")" = "__consumer_offsets dirty events logs solo" ]
	[ "$(jq '[.partitions[] | select(.topic == "__consumer_offsets")] | length' <<<"$output")" = 3 ]
	# Each broker leads one of the three events partitions.
	[ "$(jq -r '[.partitions[] | select(.topic == "events") | .leader] | sort | join(",")' <<<"$output")" = "1,2,3" ]
	[ "$(jq '[.partitions[] | select(.leader_epoch != 0 or .partition_epoch != 0)] | length' <<<"$output")" = 0 ]
	grep -q "topic=events created: 3 partitions, replication factor 3" ctrld.log
}

@test "kill -9 and restart: the same partitions and epochs from the metadata log" {
	start_ctrld
	start_broker 2
	start_broker 3
	# Broker 1 never heartbeats: it dies and its leaderships move.
	wait_for 5000 broker_state_is 1 down
	wait_for 5000 leader_is events 0 2
	before=$(partitions)
	kill -9 "$CTRLD_PID"
	wait "$CTRLD_PID" 2>/dev/null || true
	start_ctrld
	[ "$(partitions)" = "$before" ]
	run -1 status_json
	[ "$(jq .controller_epoch <<<"$output")" = 2 ]
	[ "$(jq -r '.brokers[0].state' <<<"$output")" = down ]
	grep -q "replayed [0-9]* records from '.*/ctrl/metadata.log'" ctrld.log
}

@test "a torn tail is cut with a warning naming the file and offset" {
	start_ctrld
	stop_logd "$CTRLD_PID"
	log=$BATS_TEST_TMPDIR/ctrl/metadata.log
	last=$(record_starts "$log" | tail -n 2 | head -n 1)
	truncate -s $((last + 5)) "$log"
	start_ctrld
	grep -q "warning: metadata log '$log': torn record header at offset $last" ctrld.log
	run -0 "$CTRLD" status -c "$CTRL"
	# Cut mid-body this time.
	stop_logd "$CTRLD_PID"
	last=$(record_starts "$log" | tail -n 1)
	truncate -s $(($(file_size "$log") - 2)) "$log"
	start_ctrld
	grep -q "metadata log '$log': torn record at offset $last" ctrld.log
	run -0 "$CTRLD" status -c "$CTRL"
}

@test "a corrupt record is cut at its offset and the rest replays" {
	start_ctrld
	stop_logd "$CTRLD_PID"
	log=$BATS_TEST_TMPDIR/ctrl/metadata.log
	# The second record (a topic): flip a byte of its body.
	second=$(record_starts "$log" | sed -n 2p)
	write_bytes "$log" $((second + 12)) ff
	start_ctrld
	grep -q "metadata log '$log': CRC mismatch at offset $second" ctrld.log
	# Topics before it replayed; the ones after it are gone.
	run -0 status_json
	[ "$(jq '[.partitions[] | .topic] | unique | length' <<<"$output")" = 1 ]
}

@test "a second ctrld on the same data directory: exit 75" {
	start_ctrld
	run -75 --separate-stderr "$CTRLD" run -m m.yaml -l 127.0.0.1:0
	[[ $stderr == *"in use by another ctrld (pid $CTRLD_PID)"* ]]
}

@test "apply: dry run by default, --execute creates, adds partitions, sets configs" {
	start_ctrld
	run -0 --separate-stderr "$CTRLD" apply -m m.yaml -c "$CTRL"
	[[ $output == *"dry run: 0 changes, 0 refused"* ]]
	write_manifest m2.yaml \
	    "  - { name: events, partitions: 5, replication_factor: 3, configs: { min.insync.replicas: 2, retention.ms: 60000 } }" \
	    "  - { name: logs, partitions: 2, replication_factor: 2 }" \
	    "  - { name: fresh, partitions: 4, replication_factor: 2 }"
	run -0 --separate-stderr "$CTRLD" apply -m m2.yaml -c "$CTRL"
	[[ $output == *"events"*"add-partitions"*"3 -> 5"* ]]
	[[ $output == *"events"*"set-config"*"retention.ms=60000"* ]]
	[[ $output == *"fresh"*"create"*"partitions=4 replication_factor=2"* ]]
	[[ $output == *"solo"*"not-in-manifest"* ]]
	[[ $output == *"logs"*"unchanged"* ]]
	[[ ${lines[-1]} == "dry run: 3 changes, 0 refused (apply them with --execute)" ]]
	# Nothing changed yet.
	[ "$(status_json | jq '.partitions | length')" = 10 ]
	run -0 --separate-stderr "$CTRLD" apply -m m2.yaml -c "$CTRL" --execute
	[[ ${lines[-1]} == "applied 3 changes, 0 refused" ]]
	run -0 status_json
	[ "$(jq '[.partitions[] | select(.topic == "events")] | length' <<<"$output")" = 5 ]
	[ "$(jq '[.partitions[] | select(.topic == "fresh")] | length' <<<"$output")" = 4 ]
	# New partitions keep the leader spread going.
	[ "$(jq -r '[.partitions[] | select(.topic == "events") | .replicas[0]] | join(",")' <<<"$output")" = "1,2,3,1,2" ]
	run -0 "$CTRLD" apply -m m2.yaml -c "$CTRL" -J
	[ "$(jq .changes <<<"$output")" = 0 ]
	[ "$(jq -r '.actions[] | select(.topic == "events") | .action' <<<"$output")" = unchanged ]
	# Survives a restart.
	stop_logd "$CTRLD_PID"
	start_ctrld
	[ "$(status_json | jq '[.partitions[] | select(.topic == "fresh")] | length')" = 4 ]
}

@test "apply refuses shrinking partitions and changing the replication factor: exit 1" {
	start_ctrld
	write_manifest m3.yaml \
	    "  - { name: events, partitions: 2, replication_factor: 3 }" \
	    "  - { name: logs, partitions: 2, replication_factor: 3 }"
	run -1 --separate-stderr "$CTRLD" apply -m m3.yaml -c "$CTRL" --execute
	[[ $output == *"events"*"error"*"partitions 3 -> 2: removing partitions is refused"* ]]
	[[ $output == *"logs"*"error"*"replication factor 2 -> 3"* ]]
	[ "$(status_json | jq '[.partitions[] | select(.topic == "events")] | length')" = 3 ]
}

@test "broker death: leaders move within the ISR, epochs bumped, the dead broker leaves ISRs" {
	start_ctrld
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 1 up
	[ "$(part events 0)" = "1 0 0 1,2,3" ]
	kill_broker 1
	wait_for 5000 broker_state_is 1 down
	[ "$(part events 0)" = "2 1 1 2,3" ]
	[ "$(part events 1)" = "2 0 1 2,3" ]
	run -1 "$CTRLD" status -c "$CTRL"
	[[ $output == *"1      127.0.0.1:19091"*"down"* ]]
	[[ ${lines[-1]} == "degraded: 3 brokers (1 down),"* ]]
	grep -q "info: broker 1 is dead: no heartbeat for [0-9]* ms (session timeout 1000 ms)" ctrld.log
	grep -q "info: topic=events partition=0: leader 1 -> 2, leader epoch 1, partition epoch 1, isr \[2,3\] (broker 1 died)" ctrld.log
}

@test "unclean election off: the partition goes offline; on: another replica leads" {
	start_ctrld
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 3 up
	# Assignment rotates: solo lives on broker 3 alone, dirty on 1 and 2.
	[ "$(part solo 0)" = "3 0 0 3" ]
	[ "$(part dirty 0)" = "1 0 0 1,2" ]
	run -0 kb 1 alter-isr dirty 0 1
	[ "$output" = "NONE leader=1 leader_epoch=0 partition_epoch=1 isr=1" ]
	kill_broker 3
	kill_broker 1
	wait_for 5000 broker_state_is 3 down
	wait_for 5000 broker_state_is 1 down
	# solo: unclean.leader.election.enable is false, nobody else: offline.
	[ "$(part solo 0)" = "-1 1 1 3" ]
	run -1 status_json
	[ "$(jq -r '.partitions[] | select(.topic == "solo") | .flags | join(",")' <<<"$output")" = offline ]
	# dirty allows it: broker 2 leads although it was out of the ISR.
	[ "$(part dirty 0)" = "2 1 2 2" ]
	grep -q "warning: topic=dirty partition=0: unclean election of broker 2 outside the isr" ctrld.log
	# solo comes back with its broker.
	start_broker 3 303
	wait_for 3000 leader_is solo 0 3
	[ "$(part solo 0)" = "3 2 2 3" ]
}

@test "AlterIsr: stale partition epoch, not the leader, ineligible replicas" {
	start_ctrld
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 3 up
	run -0 kb 1 alter-isr events 0 1,2
	[ "$output" = "NONE leader=1 leader_epoch=0 partition_epoch=1 isr=1,2" ]
	run -1 kb 1 alter-isr events 0 1,2,3 0
	[ "$output" = "INVALID_UPDATE_VERSION leader=1 leader_epoch=0 partition_epoch=1 isr=1,2" ]
	run -1 kb 2 alter-isr events 0 1,2,3
	[ "$output" = "NOT_LEADER_OR_FOLLOWER leader=1 leader_epoch=0 partition_epoch=1 isr=1,2" ]
	run -1 kb 1 alter-isr events 0 2,3
	[[ $output == "INVALID_REQUEST "* ]]
	run -1 kb 1 alter-isr events 0 1,2,9
	[[ $output == "INELIGIBLE_REPLICA "* ]]
	run -1 kb 1 alter-isr logs 0 1,2
	[[ $output == "NOT_LEADER_OR_FOLLOWER leader=2 "* ]]
	run -0 kb 1 alter-isr events 0 1,2,3
	[ "$output" = "NONE leader=1 leader_epoch=0 partition_epoch=2 isr=1,2,3" ]
}

@test "heartbeats: unknown broker, wrong address, stale incarnation are refused" {
	start_ctrld
	run -1 --separate-stderr "$KB" -c "$CTRL" -i 7 -p 19097 heartbeat
	[[ $output == "INVALID_REQUEST "* ]]
	[[ $stderr == *"broker id 7 is not in the manifest"* ]]
	run -1 --separate-stderr "$KB" -c "$CTRL" -i 1 -p 19099 heartbeat
	[[ $stderr == *"broker 1 is 127.0.0.1:19091 in the manifest, not 127.0.0.1:19099"* ]]
	KB_INC=5 run -0 kb 1 heartbeat
	KB_INC=6 run -0 kb 1 heartbeat
	KB_INC=5 run -1 --separate-stderr kb 1 heartbeat
	[[ $output == "STALE_BROKER_EPOCH "* ]]
	grep -q "broker 1 restarted (incarnation 5 -> 6)" ctrld.log
}

@test "controlled shutdown: SIGTERM moves the broker's leaderships first" {
	start_ctrld
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 1 up
	[ "$(leader_of events 0)" = 1 ]
	kill -TERM "$BROKER_PID_1"
	wait "$BROKER_PID_1"
	[ "$(part events 0)" = "2 1 1 2,3" ]
	grep -q "controlled shutdown: NONE" broker1.log
	grep -q "info: broker 1: controlled shutdown, moving [0-9]* leaderships" ctrld.log
	grep -q "topic=events partition=0: leader 1 -> 2, .*(controlled shutdown of broker 1)" ctrld.log
	# It moved before the session ran out: the broker is not dead yet.
	run -1 grep -q "broker 1 is dead" ctrld.log
	run -0 kb 2 shutdown
	[[ $output == "NONE remaining="* ]]
}

@test "preferred leader returns once the broker is back in the ISR" {
	start_ctrld
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 1 up
	kill_broker 1
	wait_for 5000 leader_is events 0 2
	start_broker 1 201
	wait_for 3000 broker_state_is 1 up
	# Back, but out of the ISR: still led by 2.
	[ "$(part events 0)" = "2 1 1 2,3" ]
	run -0 kb 2 alter-isr events 0 2,3,1
	wait_for 3000 leader_is events 0 1
	[ "$(part events 0)" = "1 2 3 2,3,1" ]
	grep -q "topic=events partition=0: leader 2 -> 1, leader epoch 2, partition epoch 3, .*(preferred leader)" ctrld.log
}

@test "the metadata log is rewritten past --snapshot-min and replays the same" {
	start_ctrld --snapshot-min 1k
	start_broker 1
	start_broker 2
	start_broker 3
	wait_for 3000 broker_state_is 1 up
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kb 1 alter-isr events 0 1,2 >/dev/null
		kb 1 alter-isr events 0 1,2,3 >/dev/null
	done
	grep -q "metadata log '.*' rewritten" ctrld.log
	before=$(partitions)
	[ "$(part events 0)" = "1 0 20 1,2,3" ]
	kill -9 "$CTRLD_PID"
	wait "$CTRLD_PID" 2>/dev/null || true
	start_ctrld --snapshot-min 1k
	[ "$(partitions)" = "$before" ]
}

@test "malformed and foreign requests close the connection; ctrld keeps serving" {
	start_ctrld
	"$PY" - "${CTRL%:*}" "${CTRL##*:}" <<-'EOF2'
	import socket, struct, sys
	def send(body):
	    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
	    s.sendall(struct.pack(">i", len(body)) + body)
	    s.settimeout(5)
	    assert s.recv(100) == b"", "expected the connection closed"
	    s.close()
	hdr = lambda key, ver: struct.pack(">hhih", key, ver, 7, 1) + b"x"
	send(hdr(18, 0))                             # ApiVersions: not served here
	send(hdr(32000, 1) + b"\0" * 40)             # an unknown version
	send(hdr(32000, 0) + b"\0\0\0\1")            # a truncated heartbeat
	send(hdr(32001, 0) + struct.pack(">iqi", 1, 1, 0x7fffffff))  # hostile count
	send(hdr(32010, 0) + b"\0" * 12)             # logd's API, not ctrld's
	EOF2
	run -0 "$CTRLD" status -c "$CTRL"
	grep -q "closing connection from 127.0.0.1:[0-9]*: unknown request (api key 18" ctrld.log
	grep -q "AlterIsr request: array length exceeds the frame" ctrld.log
}
