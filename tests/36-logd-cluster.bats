#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# logd in cluster mode (docs/cluster-protocol.md): the controller setting
# and -m/-i, ctrld's state applied to topics and partitions (against a
# scripted ctrld, tools/kprivate.py fake-ctrld, so every case is exact),
# Metadata's cluster view, topic administration refused, the private APIs
# of replica.sock and their validation, AlterIsr, controlled shutdown and
# the ctrld link's outages; then three real brokers with a real ctrld:
# the same leaders everywhere, failover after kill -9, and leadership
# moving away before a SIGTERM'd broker exits.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	LOGD=$BIN_DIR/logd
	CTRLD=$BIN_DIR/ctrld
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

# kpriv SUBCOMMAND ARGS...: the private-API driver (tools/kprivate.py).
kpriv() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/kprivate.py" "$@"
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

# put_state: the scripted ctrld's ClusterState (JSON on stdin), replaced
# atomically so it never reads half a file.
put_state() {
	cat >state.json.tmp && mv state.json.tmp state.json
}

# start_fake_ctrld [ADDR]: serve state.json; sets CTRLD_ADDR.
start_fake_ctrld() {
	rm -f fake.addr
	"$PY" "$BATS_TEST_DIRNAME/tools/kprivate.py" fake-ctrld \
	    --listen "${1:-127.0.0.1:0}" --state state.json --addr-file fake.addr \
	    --log fake.log 2>>fake.err &
	FAKE_PID=$!
	echo "$FAKE_PID" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s fake.addr
	CTRLD_ADDR=$(cat fake.addr)
}

# start_member NAME ID [ARGS...]: a cluster-mode logd of cluster c1.
# Nobody fetches from its partitions, so only tests that want AlterIsr get
# a short replica.lag.time.max.ms (a later -o wins).
start_member() {
	local name=$1 id=$2
	shift 2
	start_logd "$name" -i "$id" -o controller="$CTRLD_ADDR" \
	    -o cluster.id=c1 -o replica.lag.time.max.ms=600000 "$@"
}

# empty_state VERSION: cluster c1 with no topics and no brokers.
empty_state() {
	put_state <<-EOF
	{"cluster_id": "c1", "version": $1, "brokers": [], "topics": []}
	EOF
}

# two_topic_state VERSION SELF_PORT: broker 1 (us) and 2; topic t with a
# partition led here and one followed, "far" without us, "dark" offline.
two_topic_state() {
	put_state <<-EOF
	{"cluster_id": "c1", "version": $1,
	 "brokers": [{"id": 1, "host": "127.0.0.1", "port": $2},
	             {"id": 2, "host": "127.0.0.2", "port": 9999},
	             {"id": 3, "host": "127.0.0.3", "port": 9998, "alive": false}],
	 "topics": [
	  {"name": "t", "configs": {"retention.ms": "3600000"}, "partitions": [
	    {"leader": 1, "leader_epoch": 3, "partition_epoch": 5,
	     "replicas": [1, 2], "isr": [1, 2]},
	    {"leader": 2, "leader_epoch": 4, "partition_epoch": 1,
	     "replicas": [2, 1], "isr": [2, 1]}]},
	  {"name": "far", "partitions": [
	    {"leader": 2, "leader_epoch": 0, "partition_epoch": 0,
	     "replicas": [2], "isr": [2]}]},
	  {"name": "dark", "partitions": [
	    {"leader": -1, "leader_epoch": 2, "partition_epoch": 3,
	     "replicas": [3, 1], "isr": [3]}]}]}
	EOF
}

# two_topic_member [LOGD ARGS...]: member b1 (broker 1) started on an
# empty state, then two_topic_state (version 2) applied.
two_topic_member() {
	empty_state 1
	start_fake_ctrld
	start_member b1 1 "$@"
	two_topic_state 2 "${LOGD_ADDR##*:}"
	wait_for 10000 state_version_is b1 2
}

# fake_logged FILTER [JQ ARGS...]: some request in fake.log matches the
# jq condition (jq 1.6's -e only looks at the last line's result).
fake_logged() {
	local filter=$1
	shift
	jq -s -e "$@" "[.[] | select($filter)] | length > 0" fake.log >/dev/null
}

# status_json NAME: `logd ctl -j status` of a member.
status_json() {
	timeout 10 "$LOGD" ctl -d "$BATS_TEST_TMPDIR/$1" -j status
}

# state_version_is NAME V: the member applied ctrld's state version V.
state_version_is() {
	[ "$(status_json "$1" | jq -r .controller_link.state_version)" = "$2" ]
}

# role_of NAME TOPIC PARTITION: "role leader epoch isr" of a partition.
role_of() {
	status_json "$1" | jq -r --arg t "$2" --argjson p "$3" \
	    '.cluster_partitions[] | select(.topic == $t and .partition == $p) |
	    "\(.role) \(.leader) \(.leader_epoch) \(.isr | join(","))"'
}

# role_is NAME TOPIC PARTITION ROLE: role_of prints exactly ROLE.
role_is() {
	run -0 role_of "$1" "$2" "$3"
	[ "$output" = "$4" ]
}

# ------------------------------------------------------------------
# Configuration

@test "controller= turns on cluster mode; bad values exit 78 naming the setting" {
	run -0 lg -n -d d -o controller=127.0.0.1:9 -o cluster.id=c1
	[ "$output" = "configuration OK" ]
	run -78 --separate-stderr lg -n -d d -o controller=nowhere -o cluster.id=c1
	[[ "$stderr" == *"controller: expected ctrld's host:port, got 'nowhere'"* ]]
	run -78 --separate-stderr lg -n -d d -o controller=127.0.0.1:0 -o cluster.id=c1
	[[ "$stderr" == *"controller: expected ctrld's host:port"* ]]
	run -78 --separate-stderr lg -n -d d -o controller=127.0.0.1:9
	[[ "$stderr" == *"controller: cluster mode needs cluster.id"* ]]
	run -78 --separate-stderr lg -n -d d -o broker.heartbeat.interval.ms=5
	[[ "$stderr" == *"broker.heartbeat.interval.ms"* ]]
	run -78 --separate-stderr lg -n -d d -o controlled.shutdown.timeout.ms=x
	[[ "$stderr" == *"controlled.shutdown.timeout.ms"* ]]
	printf 'data.dir: d\ncluster.id: c1\ncontroller: "bad:port:9"\n' >b.yaml
	run -78 --separate-stderr lg -n -c b.yaml
	[[ "$stderr" == *"b.yaml:3:13: controller: expected ctrld's host:port"* ]]
}

@test "logd -m -i: the broker's section of the manifest, flags still override" {
	local m=$BATS_TEST_DIRNAME/../examples/cluster-3.yaml
	run -0 lg -n -m "$m" -i 2
	[ "$output" = "configuration OK" ]
	run -64 --separate-stderr lg -n -m "$m"
	[[ "$stderr" == *"-m needs --broker-id (-i) to pick the broker's section"* ]]
	run -78 --separate-stderr lg -n -m "$m" -i 9
	[[ "$stderr" == *"cluster-3.yaml: no broker with id 9 in the manifest"* ]]
	run -78 --separate-stderr lg -n -m missing.yaml -i 1
	[[ "$stderr" == *"missing.yaml"* ]]
	printf 'cluster: x\nbrokers: [\n' >broken.yaml
	run -78 --separate-stderr lg -n -m broken.yaml -i 1
	[[ "$stderr" == *"broken.yaml:"* ]]
	# A data directory of its own here: the example's is under /tmp.
	start_logd b2 -m "$m" -i 2
	run -0 status_json b2
	[ "$(jq -r '"\(.broker_id) \(.cluster_id) \(.mode) \(.controller)"' \
	    <<<"$output")" = "2 cluster3 cluster 127.0.0.1:9490" ]
	[ "$(jq -r .advertise <<<"$output")" = "127.0.0.1:9492" ]
}

@test "logd ctl -m -i finds the broker's data directory in the manifest" {
	local ports
	mapfile -t ports < <(free_ports 2)
	cat >m.yaml <<-EOF
	cluster: c1
	controller: {host: 127.0.0.1, port: ${ports[0]}, data_dir: ctrld}
	brokers:
	  - {id: 4, host: 127.0.0.1, port: ${ports[1]}, data_dir: b4}
	EOF
	"$LOGD" -m m.yaml -i 4 --addr-file b4.addr >>b4.log 2>&1 &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s b4.addr
	[ "$(cat b4.addr)" = "127.0.0.1:${ports[1]}" ]
	[ -S b4/replica.sock ]
	run -0 timeout 10 "$LOGD" ctl -m m.yaml -i 4 status
	[[ "$output" == *"mode: cluster"* ]]
	[[ "$output" == *"controller: 127.0.0.1:${ports[0]}"* ]]
	# Nobody listens there: the link is down and says why.
	wait_for 10000 grep -q "heartbeat link: unable to connect" b4.log
	run -0 timeout 10 "$LOGD" ctl -m m.yaml -i 4 status
	[[ "$output" == *"controller_link: down"* ]]
	[[ "$output" == *"controller_error: unable to connect to 127.0.0.1:${ports[0]}"* ]]
	run -64 timeout 10 "$LOGD" ctl -m m.yaml status
}

@test "a single-broker logd has no replica.sock and says mode single" {
	start_logd solo
	[ ! -e solo/replica.sock ]
	run -0 status_json solo
	[ "$(jq -r .mode <<<"$output")" = "single" ]
}

# ------------------------------------------------------------------
# ctrld's state, against a scripted ctrld

@test "before ctrld answers the broker serves nothing; then its state makes topics and roles" {
	empty_state 1
	start_fake_ctrld
	# A state for another cluster is refused, loudly.
	put_state <<-EOF
	{"cluster_id": "other", "version": 5, "brokers": [], "topics": []}
	EOF
	start_member b1 1
	wait_for 10000 grep -q "ctrld runs cluster 'other' but this broker belongs to cluster 'c1'" b1.log
	run -0 kpriv metadata "$LOGD_ADDR" --brokers
	[ "$output" = "broker 1 ${LOGD_ADDR}" ]
	[ "$(status_json b1 | jq -r .controller_link.state_version)" = "-1" ]
	two_topic_state 6 "${LOGD_ADDR##*:}"
	wait_for 10000 state_version_is b1 6
	# Local logs only for topics with a replica here; configs from ctrld.
	[ -d b1/t-0 ] && [ -d b1/t-1 ] && [ -d b1/dark-0 ]
	[ ! -e b1/far-0 ]
	grep -qx 'retention.ms=3600000' b1/topics.d/t.conf
	role_is b1 t 0 "leader 1 3 1,2"
	role_is b1 t 1 "follower 2 4 2,1"
	role_is b1 dark 0 "follower -1 2 3"
	grep -q "first cluster state from ctrld: version 6, 3 brokers, 3 topics" b1.log
	grep -q "leading 1 partitions, following 2" b1.log
	# The heartbeat says who we are, with a random incarnation.
	fake_logged '.api == "BrokerHeartbeat" and .broker_id == 1 and
	    .host == "127.0.0.1" and (.port | tostring) == $p and
	    .wait_ms == 500 and .incarnation > 0' --arg p "${LOGD_ADDR##*:}"
}

@test "Metadata in cluster mode: ctrld's live brokers and every topic, offline leaders -1" {
	two_topic_member
	run -0 kpriv metadata "$LOGD_ADDR" --brokers --controller
	[ "$output" = "controller 1
broker 1 ${LOGD_ADDR}
broker 2 127.0.0.2:9999
dark 0 leader=-1 replicas=3,1 isr=3 error=5
far 0 leader=2 replicas=2 isr=2 error=0
t 0 leader=1 replicas=1,2 isr=1,2 error=0
t 1 leader=2 replicas=2,1 isr=2,1 error=0" ]
	# librdkafka sees the same, and no topic is created by asking.
	run -0 timeout 30 "$PY" "$BATS_TEST_DIRNAME/tools/confluent_py.py" \
	    metadata "$LOGD_ADDR"
	[[ "$output" == *"  partition 1 leader=2 replicas=[2, 1] isrs=[2, 1] error=None"* ]]
	run -0 kcat -b "$LOGD_ADDR" -L -t nosuch -m 5
	[[ "$output" == *"Broker: Unknown topic or partition"* ]]
	[ ! -e b1/topics.d/nosuch.conf ]
}

@test "ctrld's changes apply: new epochs and roles, grown and deleted topics, configs" {
	two_topic_member
	local port=${LOGD_ADDR##*:}
	put_state <<-EOF
	{"cluster_id": "c1", "version": 3,
	 "brokers": [{"id": 1, "host": "127.0.0.1", "port": $port},
	             {"id": 2, "host": "127.0.0.2", "port": 9999}],
	 "topics": [
	  {"name": "t", "configs": {"retention.ms": "60000"}, "partitions": [
	    {"leader": 2, "leader_epoch": 4, "partition_epoch": 6,
	     "replicas": [1, 2], "isr": [2, 1]},
	    {"leader": 1, "leader_epoch": 5, "partition_epoch": 2,
	     "replicas": [2, 1], "isr": [1]},
	    {"leader": 1, "leader_epoch": 0, "partition_epoch": 0,
	     "replicas": [1], "isr": [1]}]}]}
	EOF
	wait_for 10000 state_version_is b1 3
	role_is b1 t 0 "follower 2 4 2,1"
	role_is b1 t 1 "leader 1 5 1"
	role_is b1 t 2 "leader 1 0 1"
	grep -qx 'partitions=3' b1/topics.d/t.conf
	grep -qx 'retention.ms=60000' b1/topics.d/t.conf
	grep -q "topic=t partition=0: follower, leader 2 epoch 4, isr \[2,1\]" b1.log
	# A topic ctrld no longer has goes here too.
	put_state <<-EOF
	{"cluster_id": "c1", "version": 4, "brokers": [], "topics": []}
	EOF
	wait_for 10000 state_version_is b1 4
	[ ! -e b1/t-0 ] && [ ! -e b1/topics.d/t.conf ]
	grep -q "deleted topic 't': ctrld no longer has it" b1.log
}

@test "CreateTopics, DeleteTopics and CreatePartitions are refused: ctrld owns topics" {
	two_topic_member
	local ck=("$PY" "$BATS_TEST_DIRNAME/tools/confluent_py.py")
	run -1 timeout 30 "${ck[@]}" create "$LOGD_ADDR" fresh:3
	[ "$output" = "fresh error POLICY_VIOLATION: topics are managed by ctrld: edit the manifest and run ctrld apply" ]
	run -1 timeout 30 "${ck[@]}" partitions "$LOGD_ADDR" t 4
	[ "$output" = "t error POLICY_VIOLATION: topics are managed by ctrld: edit the manifest and run ctrld apply" ]
	run -1 timeout 30 "${ck[@]}" delete "$LOGD_ADDR" t
	[[ "$output" == "t error POLICY_VIOLATION"* ]]
	# kafka-python sends CreateTopics to the controller id we report.
	run -1 timeout 30 "$PY" "$BATS_TEST_DIRNAME/tools/kafka_py.py" \
	    create "$LOGD_ADDR" fresh:1
	[ "$output" = "error PolicyViolationError" ]
	[ ! -e b1/topics.d/fresh.conf ] && [ -d b1/t-0 ]
}

# ------------------------------------------------------------------
# replica.sock

@test "private APIs: only on replica.sock, never in ApiVersions, closed on the client port" {
	empty_state 1
	start_fake_ctrld
	start_member b1 1
	[ -S b1/replica.sock ]
	run -0 kpriv tcp-private "$LOGD_ADDR" 32010
	[ "$output" = "closed" ]
	run -0 kpriv tcp-private "$LOGD_ADDR" 32011
	[ "$output" = "closed" ]
	grep -q "unknown API key" b1.log
	run -0 "$PY" -c '
import sys; sys.path.insert(0, sys.argv[1])
import kwire
err, apis, _ = kwire.Conn(sys.argv[2]).api_versions(0)
print(err, sorted(k for k in apis if k >= 32000))' \
	    "$BATS_TEST_DIRNAME/tools" "$LOGD_ADDR"
	[ "$output" = "0 []" ]
	# On replica.sock the normal APIs work too.
	run -0 kpriv state b1/replica.sock
	[ "$(jq -r '"\(.error) \(.broker_id) \(.partitions | length)"' \
	    <<<"$output")" = "0 1 0" ]
}

@test "ReplicaState: the followed partitions with their leaders; a long poll ends on a change" {
	two_topic_member
	run -0 kpriv state b1/replica.sock
	[ "$(jq -c '.partitions[]' <<<"$output")" = '{"high_watermark":0,"last_epoch":-1,"leader":-1,"leader_epoch":2,"leader_host":"","leader_port":-1,"log_end_offset":0,"log_start_offset":0,"partition":0,"topic":"dark"}
{"high_watermark":0,"last_epoch":-1,"leader":2,"leader_epoch":4,"leader_host":"127.0.0.2","leader_port":9999,"log_end_offset":0,"log_start_offset":0,"partition":1,"topic":"t"}' ]
	local v
	v=$(jq -r .version <<<"$output")
	# Nothing changes: held for wait_ms.
	run -0 kpriv state b1/replica.sock --known "$v" --wait-ms 400
	[ "$(jq -r .version <<<"$output")" = "$v" ]
	[ "$(jq -r .waited_ms <<<"$output")" -ge 350 ]
	# The followed partition's epoch moves: answered at once.
	kpriv state b1/replica.sock --known "$v" --wait-ms 20000 >poll.json &
	local poll=$!
	sleep 0.3
	sed 's/"leader_epoch": 4/"leader_epoch": 6/; s/"version": 2/"version": 3/' \
	    state.json | put_state
	wait "$poll"
	[ "$(jq -r '.partitions[1].leader_epoch' poll.json)" = "6" ]
	[ "$(jq -r .version poll.json)" != "$v" ]
	[ "$(jq -r .waited_ms poll.json)" -lt 10000 ]
}

@test "ReplicaAppend: offsets and epochs kept, high watermark from the leader, every check" {
	two_topic_member
	local s=b1/replica.sock
	run -0 kpriv append $s t 1 4 --base 0 --count 3 --batch-epoch 2 --hw 2
	[ "$(jq -r '"\(.error) \(.log_end_offset) \(.high_watermark)"' <<<"$output")" = "0 3 2" ]
	run -0 kpriv append $s t 1 4 --base 3 --count 2 --batches 2 --batch-epoch 4 --hw 50
	[ "$(jq -r '"\(.error) \(.log_end_offset) \(.high_watermark)"' <<<"$output")" = "0 7 7" ]
	[ "$(tr '\n' ' ' <b1/t-1/leader-epoch-checkpoint)" = "0 2 2 0 4 3 " ]
	# The data is there as sent: offsets and leader epochs kept.
	run -0 "$BIN_DIR/kdump-segment" --json b1/t-1/00000000000000000000.log
	[ "$(jq -s -c '[.[] | select(.type == "batch") | [.base_offset, .leader_epoch]]' <<<"$output")" = "[[0,2],[3,4],[5,4]]" ]
	run -0 kpriv append $s t 1 4 --base 3 --count 2
	[ "$(jq -r '"\(.error_name) \(.log_end_offset) \(.message)"' <<<"$output")" = "OFFSET_OUT_OF_RANGE 7 first batch at offset 3 is below the log end offset 7" ]
	run -0 kpriv append $s t 1 3 --base 7
	[ "$(jq -r '"\(.error_name) \(.message)"' <<<"$output")" = "FENCED_LEADER_EPOCH leader epoch 3 of t-1 is not the current 4" ]
	run -0 kpriv append $s t 0 3 --base 0
	[ "$(jq -r '"\(.error_name) \(.message)"' <<<"$output")" = "NOT_LEADER_OR_FOLLOWER broker 1 is the leader of t-0, not a follower" ]
	run -0 kpriv append $s nosuch 0 4
	[ "$(jq -r .error_name <<<"$output")" = "UNKNOWN_TOPIC_OR_PARTITION" ]
	run -0 kpriv append $s t 1 4 --base 7 --batches 2 --bad-crc
	[ "$(jq -r '"\(.error_name) \(.log_end_offset) \(.message)"' <<<"$output")" = "CORRUPT_MESSAGE 7 batch at offset 8: bad CRC" ]
	run -0 kpriv append $s t 1 4 --base 7 --partial
	[ "$(jq -r '"\(.error_name) \(.log_end_offset)"' <<<"$output")" = "CORRUPT_MESSAGE 7" ]
	# A compacted leader's gap is taken as Kafka does.
	run -0 kpriv append $s t 1 4 --base 10 --count 1 --batch-epoch 4 --hw 8
	[ "$(jq -r '"\(.error) \(.log_end_offset) \(.high_watermark)"' <<<"$output")" = "0 11 8" ]
}

@test "ReplicaTruncate: cut the tail and its epochs; outside the log, start over there" {
	two_topic_member
	local s=b1/replica.sock
	kpriv append $s t 1 4 --base 0 --count 3 --batch-epoch 2 --hw 6 >/dev/null
	kpriv append $s t 1 4 --base 3 --count 3 --batch-epoch 4 --hw 6 >/dev/null
	run -0 kpriv truncate $s t 1 4 3
	[ "$(jq -r '"\(.error) \(.log_end_offset)"' <<<"$output")" = "0 3" ]
	[ "$(tr '\n' ' ' <b1/t-1/leader-epoch-checkpoint)" = "0 1 2 0 " ]
	run -0 kpriv state $s
	[ "$(jq -r '.partitions[1] | "\(.log_end_offset) \(.high_watermark) \(.last_epoch)"' <<<"$output")" = "3 3 2" ]
	run -0 kpriv truncate $s t 1 3 0
	[ "$(jq -r .error_name <<<"$output")" = "FENCED_LEADER_EPOCH" ]
	run -0 kpriv truncate $s t 1 4 -1
	[ "$(jq -r .error_name <<<"$output")" = "INVALID_REQUEST" ]
	# The leader's log start moved past our end: restart at it.
	run -0 kpriv truncate $s t 1 4 100
	[ "$(jq -r '"\(.error) \(.log_end_offset)"' <<<"$output")" = "0 100" ]
	[ -e b1/t-1/00000000000000000100.log ]
	[ ! -e b1/t-1/00000000000000000000.log ]
	[ "$(tr '\n' ' ' <b1/t-1/leader-epoch-checkpoint)" = "0 0 " ]
	run -0 kpriv state $s
	[ "$(jq -r '.partitions[1] | "\(.log_start_offset) \(.log_end_offset)"' <<<"$output")" = "100 100" ]
	run -0 kpriv append $s t 1 4 --base 100 --count 2 --batch-epoch 4 --hw 102
	[ "$(jq -r '"\(.error) \(.log_end_offset) \(.high_watermark)"' <<<"$output")" = "0 102 102" ]
	# Below our log start: the same.
	run -0 kpriv truncate $s t 1 4 50
	[ "$(jq -r '"\(.error) \(.log_end_offset)"' <<<"$output")" = "0 50" ]
}

# ------------------------------------------------------------------
# AlterIsr, controlled shutdown, outages

@test "AlterIsr: a lagging follower leaves the ISR once ctrld confirms" {
	two_topic_member -o replica.lag.time.max.ms=300
	# Broker 2 never fetches t-0 from us.
	wait_for 10000 grep -q '"api": "AlterIsr"' fake.log
	run -0 jq -c 'select(.api == "AlterIsr") |
	    [.broker_id, .topic, .partition, .leader_epoch, .partition_epoch, .isr]' fake.log
	[ "${lines[0]}" = '[1,"t",0,3,5,[1]]' ]
	wait_for 10000 bash -c "timeout 10 '$LOGD' ctl -d b1 -j status | jq -e \
	    '.cluster_partitions[] | select(.topic == \"t\" and .partition == 0) |
	    select(.isr == [1] and .partition_epoch == 6 and
	    .isr_change_pending == false)' >/dev/null"
	grep -q "topic=t partition=0: isr \[1\] (partition epoch 6)" b1.log
}

@test "SIGTERM: ControlledShutdown first, exit once ctrld moved our leaderships" {
	two_topic_member
	stop_logd
	fake_logged '.api == "ControlledShutdown" and .broker_id == 1'
	fake_logged '.api == "BrokerHeartbeat" and .shutting_down'
	grep -q "controlled shutdown: asking ctrld to move 1 leaderships away" b1.log
	grep -q "controlled shutdown: leadership moved in" b1.log
}

@test "SIGTERM while ctrld is unreachable stops at once; controlled shutdown is bounded" {
	two_topic_member -o controlled.shutdown.timeout.ms=800
	# A ctrld that takes the request but never moves anything: the bound.
	kill -STOP "$FAKE_PID"
	local t0=$(now_ms)
	stop_logd
	kill -CONT "$FAKE_PID"
	[ $(($(now_ms) - t0)) -lt 8000 ]
	grep -Eq "controlled shutdown: (still leading 1 partitions after [0-9]+ ms|ctrld unreachable)" b1.log
	# Now with ctrld gone for good: no wait at all.
	kill -KILL "$FAKE_PID"
	start_member b2 1
	wait_for 10000 grep -q "heartbeat link: unable to connect" b2.log
	t0=$(now_ms)
	stop_logd
	[ $(($(now_ms) - t0)) -lt 5000 ]
	grep -q "controlled shutdown: ctrld unreachable" b2.log
}

@test "ctrld outage: logged once, the broker keeps serving its last state, recovery logged" {
	two_topic_member
	kill -KILL "$FAKE_PID"
	wait_for 10000 grep -q "heartbeat link: .*retrying, serving the last known cluster state meanwhile" b1.log
	sleep 1.5
	[ "$(grep -c 'heartbeat link: .*retrying' b1.log)" = "1" ]
	run -0 kpriv metadata "$LOGD_ADDR"
	[[ "$output" == *"t 0 leader=1 replicas=1,2 isr=1,2 error=0"* ]]
	run -0 status_json b1
	[ "$(jq -r .controller_link.connected <<<"$output")" = "false" ]
	[ "$(jq -r .controller_link.last_error <<<"$output")" != "null" ]
	start_fake_ctrld "$CTRLD_ADDR"
	wait_for 10000 grep -q "heartbeat link is back after" b1.log
	run -0 status_json b1
	[ "$(jq -r .controller_link.connected <<<"$output")" = "true" ]
}

# ------------------------------------------------------------------
# Three brokers and a real ctrld

# start_cluster: a manifest on free loopback ports, ctrld and brokers
# 1..3 (session timeout SESSION_MS, 4 s: short for a test, long enough for
# a loaded 2-core machine; followers stay in the ISR: no replicad here).
SESSION_MS=4000
start_cluster() {
	[ -x "$CTRLD" ] || skip "ctrld is not built"
	local ports i
	mapfile -t ports < <(free_ports 4)
	cat >cluster.yaml <<-EOF
	cluster: c3
	controller:
	  host: 127.0.0.1
	  port: ${ports[0]}
	  data_dir: $BATS_TEST_TMPDIR/ctrld
	  session_timeout_ms: $SESSION_MS
	  heartbeat_interval_ms: 200
	brokers:
	EOF
	for i in 1 2 3; do
		printf '  - {id: %d, host: 127.0.0.1, port: %d, data_dir: %s}\n' \
		    "$i" "${ports[$i]}" "$BATS_TEST_TMPDIR/b$i" >>cluster.yaml
		printf -v "ADDR_$i" '127.0.0.1:%s' "${ports[$i]}"
	done
	cat >>cluster.yaml <<-EOF
	topics:
	  - {name: events, partitions: 6, replication_factor: 3}
	EOF
	"$CTRLD" run -m cluster.yaml --addr-file ctrld.addr >>ctrld.log 2>&1 &
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s ctrld.addr
	for i in 1 2 3; do
		start_broker "$i"
	done
}

# start_broker ID: a broker of cluster.yaml; sets PID_<ID>.
start_broker() {
	rm -f "b$1.addr"
	"$LOGD" -m cluster.yaml -i "$1" --addr-file "b$1.addr" \
	    -o replica.lag.time.max.ms=600000 -o shutdown.timeout.ms=5000 \
	    >>"b$1.log" 2>&1 &
	printf -v "PID_$1" %s $!
	echo $! >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s "b$1.addr"
}

ctrld_view() {
	timeout 10 "$CTRLD" status -m cluster.yaml -J | kpriv ctrld-view
}

# same_view ADDR: the broker's Metadata equals ctrld's view.
same_view() {
	[ "$(kpriv metadata "$1")" = "$(ctrld_view)" ]
}

# events_in_sync: ctrld has every broker up and every events ISR full
# (a stall of a loaded machine may have cost a broker its session).
events_in_sync() {
	timeout 10 "$CTRLD" status -m cluster.yaml -J | jq -e \
	    '([.brokers[] | select(.state != "up")] | length == 0) and
	    ([.partitions[] | select(.topic == "events" and
	    (.isr | length) < 3)] | length == 0)' >/dev/null
}

# leader_of ADDR TOPIC PARTITION: from the broker's Metadata.
leader_of() {
	kpriv metadata "$1" | sed -n "s/^$2 $3 leader=\([-0-9]*\) .*/\1/p"
}

@test "three brokers and ctrld: every broker's Metadata shows ctrld's leaders and ISRs" {
	start_cluster
	local i
	for i in 1 2 3; do
		local a="ADDR_$i"
		wait_for 15000 same_view "${!a}"
	done
	run -0 kpriv metadata "$ADDR_2" --brokers
	[ "${lines[0]}" = "broker 1 $ADDR_1" ]
	[ "${lines[1]}" = "broker 2 $ADDR_2" ]
	[ "${lines[2]}" = "broker 3 $ADDR_3" ]
	[[ "$output" == *"events 5 leader="* ]]
	# Each broker holds the partitions it replicates (all of them: RF 3).
	for i in 1 2 3; do
		[ -d "b$i/events-5" ]
	done
}

@test "kill -9 of a leader: the survivors' Metadata names a new leader once the session times out" {
	start_cluster
	wait_for 15000 events_in_sync
	wait_for 15000 same_view "$ADDR_1"
	local old victim pid t0
	old=$(leader_of "$ADDR_1" events 0)
	[ -n "$old" ] && [ "$old" -ge 1 ]
	victim="PID_$old"
	t0=$(now_ms)
	kill -KILL "${!victim}"
	local i a
	for i in 1 2 3; do
		[ "$i" = "$old" ] && continue
		a="ADDR_$i"
		wait_for $((2 * SESSION_MS)) bash -c "l=\$(\"$PY\" \"$BATS_TEST_DIRNAME/tools/kprivate.py\" \
		    metadata ${!a} | sed -n 's/^events 0 leader=\([-0-9]*\) .*/\1/p');
		    [ -n \"\$l\" ] && [ \"\$l\" != $old ] && [ \"\$l\" != -1 ]"
	done
	echo "# new leader after $(($(now_ms) - t0)) ms (session timeout" \
	    "$SESSION_MS ms)" >&3
	[ $(($(now_ms) - t0)) -lt $((2 * SESSION_MS)) ]
	for i in 1 2 3; do
		[ "$i" = "$old" ] && continue
		a="ADDR_$i"
		wait_for 10000 same_view "${!a}"
	done
}

@test "SIGTERM of a leader: leadership moves before it exits" {
	start_cluster
	wait_for 15000 events_in_sync
	wait_for 15000 same_view "$ADDR_1"
	local old victim other a
	old=$(leader_of "$ADDR_1" events 0)
	victim="PID_$old"
	kill -TERM "${!victim}"
	wait "${!victim}"
	grep -q "controlled shutdown: leadership moved in" "b$old.log"
	# No leaderless wait for a session timeout: another broker leads now.
	other=$((old % 3 + 1))
	a="ADDR_$other"
	wait_for 1500 bash -c "l=\$(\"$PY\" \"$BATS_TEST_DIRNAME/tools/kprivate.py\" \
	    metadata ${!a} | sed -n 's/^events 0 leader=\([-0-9]*\) .*/\1/p');
	    [ -n \"\$l\" ] && [ \"\$l\" != $old ] && [ \"\$l\" != -1 ]"
	# Degraded (exit 1): one broker is down.
	run -1 timeout 10 "$CTRLD" status -m cluster.yaml -J
	[ "$(jq -r --argjson b "$old" '[.partitions[] | select(.leader == $b)] | length' <<<"$output")" = "0" ]
}
