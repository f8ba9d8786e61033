#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Running logd: topic administration through the admin clients of
# kafka-python and confluent-kafka (create, list, describe, grow, delete,
# and the errors Kafka gives), the command line and configuration checks
# with their exit codes and messages, the admin socket (logd ctl), and
# SIGTERM / restart keeping every record and every offset.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	LOGD=$BIN_DIR/logd
	KD=$BIN_DIR/kdump-segment
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

ctl() {
	timeout 30 "$LOGD" ctl "$@"
}

# partition_dirs: the partition directories of LOGD_DIR, one line each.
partition_dirs() {
	find "$LOGD_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' \
	    -printf '%f\n' | sort
}

# all_json: stdin is one JSON object per line (and nothing else).
all_json() {
	"$PY" -c 'import json,sys; [json.loads(l) for l in sys.stdin]'
}

# stop_clean: SIGTERM the broker; it must exit 0.
stop_clean() {
	local rc=0
	stop_logd || rc=$?
	[ "$rc" -eq 0 ]
}

# -------------------------------------------------- kafka-python admin

@test "kafka-python create_topics: partition counts honoured" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" four:4 one:1
	[ "$output" = ok ]
	run -0 kp topic "$LOGD_ADDR" four
	[ "$output" = "partitions=4 error=0" ]
	run -0 partition_dirs
	[ "$(tr '\n' ' ' <<<"$output")" = "four-0 four-1 four-2 four-3 one-0 " ]
	[ -f "$LOGD_DIR/topics.d/four.conf" ]
	run -0 kp list "$LOGD_ADDR"
	[ "$output" = "four
one" ]
}

@test "kafka-python create_topics: replication factor 2 is INVALID_REPLICATION_FACTOR" {
	start_logd b
	run -1 kp create "$LOGD_ADDR" two:1:2
	[ "$output" = "error InvalidReplicationFactorError" ]
	run -0 kp list "$LOGD_ADDR"
	[ -z "$output" ]
	run -0 partition_dirs
	[ -z "$output" ]
	run -1 grep "created topic" "$LOGD_DIR.log"
}

@test "kafka-python create_topics: an existing topic is TopicAlreadyExists" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" dup:3
	run -1 kp create "$LOGD_ADDR" dup:1
	[ "$output" = "error TopicAlreadyExistsError" ]
	run -0 kp topic "$LOGD_ADDR" dup
	[ "$output" = "partitions=3 error=0" ]
}

@test "kafka-python describe_configs: topic values and the override set at creation" {
	start_logd b -o log.retention.bytes=123456789
	run -0 kp create "$LOGD_ADDR" conf:1 -c retention.ms=3600000 -c cleanup.policy=delete
	run -0 --separate-stderr kp describe "$LOGD_ADDR" conf
	[[ $output == *"retention.ms=3600000 source=1"* ]]
	[[ $output == *"cleanup.policy=delete source=1"* ]]
	[[ $output == *"retention.bytes=123456789 source=4"* ]]
	[[ $output == *"max.message.bytes=1048588 source=5"* ]]
	[[ $output == *"segment.bytes=1073741824 source=5"* ]]
	[[ $output == *"message.timestamp.type=CreateTime source=5"* ]]
	[[ $output == *"min.insync.replicas=1 source=5"* ]]
	# The override outlives a restart (topics.d).
	stop_clean
	start_logd b
	run -0 --separate-stderr kp describe "$LOGD_ADDR" conf
	[[ $output == *"retention.ms=3600000 source=1"* ]]
}

@test "kafka-python delete_topics: the topic and its directories are gone" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" gone:2 kept:1
	seq 1 5 | kc -P -t gone -p 1
	run -0 kp delete "$LOGD_ADDR" gone
	[ "$output" = ok ]
	run -0 kp list "$LOGD_ADDR"
	[ "$output" = kept ]
	run -0 partition_dirs
	[ "$output" = kept-0 ]
	[ ! -e "$LOGD_DIR/topics.d/gone.conf" ]
	run -1 kp delete "$LOGD_ADDR" gone
	[ "$output" = "error UnknownTopicOrPartitionError" ]
	# A topic created again under the name starts empty, at offset 0.
	run -0 kp create "$LOGD_ADDR" gone:2
	echo fresh | kc -P -t gone -p 1
	run -0 kc -C -t gone -p 1 -o beginning -e -q -f '%o %s\n'
	[ "$output" = "0 fresh" ]
}

@test "kafka-python create_partitions: the count grows, shrinking is refused" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" grow:2
	run -0 kp partitions "$LOGD_ADDR" grow 5
	[ "$output" = ok ]
	run -0 kp topic "$LOGD_ADDR" grow
	[ "$output" = "partitions=5 error=0" ]
	run -0 partition_dirs
	[ "$(tr '\n' ' ' <<<"$output")" = "grow-0 grow-1 grow-2 grow-3 grow-4 " ]
	echo four | kc -P -t grow -p 4
	run -0 kc -C -t grow -p 4 -e -q -f '%o %s\n'
	[ "$output" = "0 four" ]
	run -1 kp partitions "$LOGD_ADDR" grow 3
	[ "$output" = "error InvalidPartitionsError" ]
	run -1 kp partitions "$LOGD_ADDR" grow 5
	[ "$output" = "error InvalidPartitionsError" ]
	run -0 kp topic "$LOGD_ADDR" grow
	[ "$output" = "partitions=5 error=0" ]
}

# ------------------------------------------------ confluent-kafka admin

@test "confluent-kafka create_topics: configs applied, validate_only creates nothing" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" v1:2 v2:1 --validate-only -c retention.ms=60000
	[ "$output" = "v1 ok
v2 ok" ]
	run -0 partition_dirs
	[ -z "$output" ]
	run -1 ck create "$LOGD_ADDR" v3:1 --validate-only -c retention.ms=soon
	[[ $output == "v3 error INVALID_CONFIG: "*"retention.ms"* ]]
	run -1 ck create "$LOGD_ADDR" v4:1 -c no.such.setting=1
	[[ $output == "v4 error INVALID_CONFIG: "*"no.such.setting"* ]]
	run -0 ck create "$LOGD_ADDR" v1:2 -c retention.ms=60000
	[ "$output" = "v1 ok" ]
	run -0 ck describe "$LOGD_ADDR" v1
	[[ $output == *"retention.ms=60000 source=DYNAMIC_TOPIC_CONFIG"* ]]
	run -0 partition_dirs
	[ "$(tr '\n' ' ' <<<"$output")" = "v1-0 v1-1 " ]
	run -1 ck create "$LOGD_ADDR" v1:1 v5:0
	[[ $output == "v1 error TOPIC_ALREADY_EXISTS: topic 'v1' already exists"* ]]
	[[ $output == *"v5 error INVALID_PARTITIONS: "* ]]
}

@test "confluent-kafka describe_configs: every topic setting with its source" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" d:1 -c max.message.bytes=5000 \
	    -c message.timestamp.type=LogAppendTime
	run -0 --separate-stderr ck describe "$LOGD_ADDR" d
	[[ $output == *"max.message.bytes=5000 source=DYNAMIC_TOPIC_CONFIG"* ]]
	[[ $output == *"message.timestamp.type=LogAppendTime source=DYNAMIC_TOPIC_CONFIG"* ]]
	[[ $output == *"retention.ms=604800000 source=DEFAULT_CONFIG"* ]]
	[[ $output == *"cleanup.policy=delete source=DEFAULT_CONFIG"* ]]
	run -1 ck describe "$LOGD_ADDR" nosuch
	[ "$output" = "error UNKNOWN_TOPIC_OR_PART" ]
}

@test "confluent-kafka create_partitions and delete_topics" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" cp:1
	run -0 ck partitions "$LOGD_ADDR" cp 3
	[ "$output" = "cp ok" ]
	run -0 ck metadata "$LOGD_ADDR"
	[[ $output == *"topic cp partitions=3 error=None"* ]]
	run -1 ck partitions "$LOGD_ADDR" cp 2
	[[ $output == "cp error INVALID_PARTITIONS: "* ]]
	run -1 ck partitions "$LOGD_ADDR" nosuch 2
	[[ $output == "nosuch error UNKNOWN_TOPIC_OR_PART: "* ]]
	run -0 ck delete "$LOGD_ADDR" cp
	[ "$output" = "cp ok" ]
	run -0 partition_dirs
	[ -z "$output" ]
	run -1 ck delete "$LOGD_ADDR" cp
	[[ $output == "cp error UNKNOWN_TOPIC_OR_PART: "* ]]
}

@test "confluent-kafka replica assignments: only this broker, one replica" {
	start_logd b
	run -1 ck create "$LOGD_ADDR" 'as1=0|0' as2=1 as3=0,0
	[ "$output" = "as1 ok
as2 error INVALID_REPLICA_ASSIGNMENT: unknown broker id 1
as3 error INVALID_REPLICA_ASSIGNMENT: 2 replicas assigned, but one logd holds exactly one replica" ]
	run -0 ck partitions "$LOGD_ADDR" as1 4 --assign '0|0'
	run -1 ck partitions "$LOGD_ADDR" as1 5 --assign 3
	[ "$output" = "as1 error INVALID_REPLICA_ASSIGNMENT: unknown broker id 3" ]
	run -0 ck partitions "$LOGD_ADDR" as1 6 --validate-only
	run -0 partition_dirs
	[ "$(tr '\n' ' ' <<<"$output")" = "as1-0 as1-1 as1-2 as1-3 " ]
}

@test "topic names of up to 249 characters can be created, used and deleted" {
	start_logd b
	for n in 1 232 233 242 243 246 247 249; do
		name=$(printf 't%.0s' $(seq "$n"))
		echo "# $n characters"
		run -0 --separate-stderr ck create "$LOGD_ADDR" "$name:1"
		[ "$output" = "$name ok" ]
		echo "v$n" | kc -P -t "$name"
		run -0 kc -C -t "$name" -e -q
		[ "$output" = "v$n" ]
		run -0 --separate-stderr ck delete "$LOGD_ADDR" "$name"
		[ "$output" = "$name ok" ]
		[ ! -e "$LOGD_DIR/$name-0" ]
	done
}

@test "delete.topic.enable=false: DeleteTopics is TOPIC_DELETION_DISABLED" {
	start_logd b -o delete.topic.enable=false
	run -0 ck create "$LOGD_ADDR" stay:1
	run -1 ck delete "$LOGD_ADDR" stay
	[[ $output == "stay error TOPIC_DELETION_DISABLED: "* ]]
	[ -d "$LOGD_DIR/stay-0" ]
}

# ------------------------------------------------------ command line

@test "logd -n: configuration OK, exit 0, nothing created" {
	run -0 --separate-stderr lg -n -d "$BATS_TEST_TMPDIR/data" -o num.partitions=3
	[ "$output" = "configuration OK" ]
	[ -z "$stderr" ]
	[ ! -e "$BATS_TEST_TMPDIR/data" ]
	printf 'data.dir: %s\nnum.partitions: 2\nlog.retention.hours: 24\n' \
	    "$BATS_TEST_TMPDIR/data" >ok.yaml
	run -0 --separate-stderr lg -n -c ok.yaml
	[ "$output" = "configuration OK" ]
}

@test "config file: an unknown setting exits 78 naming file:line:col" {
	printf 'data.dir: /tmp/x\nnum.partitions: 3\n\nbogus.key: 1\n' >c.yaml
	run -78 --separate-stderr lg -n -c c.yaml
	[ -z "$output" ]
	[ "$stderr" = "logd: error: c.yaml:4:1: unknown setting 'bogus.key'" ]
}

@test "config file: a bad value exits 78 naming file:line:col of the value" {
	printf 'data.dir: /tmp/x\nnum.partitions: zero\n' >c.yaml
	run -78 --separate-stderr lg -n -c c.yaml
	[ "$stderr" = "logd: error: c.yaml:2:17: num.partitions: expected a number, got 'zero'" ]
	printf 'data.dir: /tmp/x\nauto.create.topics.enable: [true]\n' >c.yaml
	run -78 --separate-stderr lg -n -c c.yaml
	[ "$stderr" = "logd: error: c.yaml:2:28: auto.create.topics.enable: expected a single value" ]
}

@test "config file: malformed YAML or a missing file exits 78" {
	printf 'data.dir: [unclosed\n' >bad.yaml
	run -78 --separate-stderr lg -n -c bad.yaml
	[[ $stderr == "logd: error: bad.yaml:2:1: "* ]]
	printf 'a: b\n c: d: e\n' >bad2.yaml
	run -78 --separate-stderr lg -n -c bad2.yaml
	[ "$stderr" = "logd: error: bad2.yaml:2:3: mapping values are not allowed in this context" ]
	printf -- '- a\n- b\n' >list.yaml
	run -78 --separate-stderr lg -n -c list.yaml
	[[ $stderr == "logd: error: list.yaml:1:1: expected a mapping of settings (key: value)" ]]
	run -78 --separate-stderr lg -n -c missing.yaml
	[[ $stderr == *"missing.yaml"* ]]
}

@test "logd -o: bad values exit 78, a malformed pair 64, each naming the key" {
	run -78 --separate-stderr lg -n -d data -o num.partitions=0
	[ "$stderr" = "logd: error: -o: num.partitions: 0 is out of range [1, 1000000]" ]
	run -78 --separate-stderr lg -n -d data -o num.partitions=abc
	[ "$stderr" = "logd: error: -o: num.partitions: expected a number, got 'abc'" ]
	run -78 --separate-stderr lg -n -d data -o auto.create.topics.enable=maybe
	[ "$stderr" = "logd: error: -o: auto.create.topics.enable: expected true or false, got 'maybe'" ]
	run -78 --separate-stderr lg -n -d data -o nosuch=1
	[ "$stderr" = "logd: error: -o: unknown setting 'nosuch'" ]
	run -78 --separate-stderr lg -n -d data -o default.replication.factor=3
	[[ $stderr == "logd: error: default.replication.factor: 3 needs a cluster"* ]]
	run -64 --separate-stderr lg -n -d data -o novalue
	[ "${stderr_lines[0]}" = "logd: -o: expected key=value, got 'novalue'" ]
	[[ ${stderr_lines[1]} == "usage: logd "* ]]
	run -78 --separate-stderr lg -n
	[ "$stderr" = "logd: error: no data directory: set data.dir in the config or --data-dir" ]
}

@test "logd -o: a broker topic default with a bad value names the key given" {
	run -78 --separate-stderr lg -n -d data -o log.retention.ms=soon
	[[ $stderr == "logd: error: -o: log.retention.ms: "* ]]
}

@test "a second logd on the same data directory exits 75 naming the first" {
	start_logd b
	first=$LOGD_PID
	run -75 --separate-stderr lg -d "$LOGD_DIR" -l 127.0.0.1:0
	[[ $stderr == *"error: data directory '$LOGD_DIR' is in use by another process (pid $first)" ]]
	# The first one is untouched and still serves.
	kill -0 "$first"
	echo still | kc -P -t here
	run -0 kc -C -t here -e -q
	[ "$output" = still ]
}

@test "a data directory of broker 0 is refused to broker 1 and to another cluster" {
	start_logd b
	stop_clean
	run -78 --separate-stderr lg -d "$LOGD_DIR" -l 127.0.0.1:0 -i 1
	[[ $stderr == *"error: data directory '$LOGD_DIR' belongs to broker 0, not broker 1" ]]
	run -78 --separate-stderr lg -d "$LOGD_DIR" -l 127.0.0.1:0 -o cluster.id=other
	[[ $stderr == *"error: data directory '$LOGD_DIR' belongs to cluster '"*"', not 'other'" ]]
	grep -qx 'broker.id=0' "$LOGD_DIR/meta.properties"
	# And broker 0 still starts on it.
	start_logd b
}

# ------------------------------------------------------------ logd ctl

@test "logd ctl status: text and JSON describe the running broker" {
	start_logd b -i 3
	run -0 ck create "$LOGD_ADDR" s:2
	cluster=$(sed -n 's/^cluster.id=//p' "$LOGD_DIR/meta.properties")
	run -0 --separate-stderr ctl -d "$LOGD_DIR" status
	[ "${lines[0]}" = "broker_id: 3" ]
	[ "${lines[1]}" = "cluster_id: $cluster" ]
	[ "${lines[2]}" = "listen: $LOGD_ADDR" ]
	[ "${lines[3]}" = "advertise: $LOGD_ADDR" ]
	[ "${lines[4]}" = "data_dir: $LOGD_DIR" ]
	[ "${lines[5]}" = "topics: 1" ]
	[ "${lines[6]}" = "partitions: 2" ]
	[[ ${lines[8]} == "requests: "* ]]
	[ "${lines[9]}" = "pid: $LOGD_PID" ]
	run -0 --separate-stderr ctl -j -d "$LOGD_DIR" status
	all_json <<<"$output"
	[ "$(jq -c '[.broker_id, .cluster_id, .listen, .topics, .partitions, .pid]' <<<"$output")" = \
	    "[3,\"$cluster\",\"$LOGD_ADDR\",1,2,$LOGD_PID]" ]
	# -c FILE finds the data directory through the configuration.
	printf 'data.dir: %s\n' "$LOGD_DIR" >c.yaml
	run -0 ctl -c c.yaml -j status
	[ "$(jq .pid <<<"$output")" = "$LOGD_PID" ]
}

@test "logd ctl topics: offsets, segments and sizes per partition" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" a:2 b:1
	seq 1 7 | kc -P -t a -p 1
	run -0 --separate-stderr ctl -d "$LOGD_DIR" topics
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[0]} == "TOPIC "*"PARTITION"*"START-OFFSET"*"END-OFFSET"*"HIGH-WATERMARK"*"SEGMENTS"*"BYTES" ]]
	read -r -a f <<<"${lines[2]}"
	[ "${f[*]:0:6}" = "a 1 0 7 7 1" ]
	[ "${f[6]}" -eq "$(file_size "$LOGD_DIR/a-1/00000000000000000000.log")" ]
	run -0 --separate-stderr ctl -j -d "$LOGD_DIR" topics
	all_json <<<"$output"
	[ "$(jq -c '[.topic, .partition, .log_start_offset, .log_end_offset, .high_watermark, .segments]' <<<"$output" | tr '\n' ' ')" = \
	    '["a",0,0,0,0,1] ["a",1,0,7,7,1] ["b",0,0,0,0,1] ' ]
}

@test "logd ctl flush and retention: retention drops expired segments now" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" r:1 -c segment.bytes=1024 -c retention.ms=3600000
	old=$(($(now_ms) - 7200000))
	run -0 kp produce "$LOGD_ADDR" r 20 --ts "$old" --step 1 --batch-each
	run -0 --separate-stderr ctl -d "$LOGD_DIR" flush
	[ "$output" = flushed ]
	run -0 --separate-stderr ctl -j -d "$LOGD_DIR" flush
	[ "$output" = '{"flushed":true}' ]
	run -0 ctl -j -d "$LOGD_DIR" topics
	[ "$(jq -c '[.log_start_offset, .log_end_offset]' <<<"$output")" = "[0,20]" ]
	[ "$(jq .segments <<<"$output")" -gt 1 ]
	run -0 --separate-stderr ctl -j -d "$LOGD_DIR" retention
	all_json <<<"$output"
	[ "$(jq -c '[.topic, .log_start_offset, .log_end_offset, .segments, .size]' <<<"$output")" = '["r",20,20,1,0]' ]
	run -0 kc -C -t r -o beginning -e -q
	[ -z "$output" ]
	echo next | kc -P -t r
	run -0 kc -C -t r -o beginning -e -q -f '%o %s\n'
	[ "$output" = "20 next" ]
	run -0 ctl -d "$LOGD_DIR" retention
	[[ ${lines[1]} == "r "* ]]
}

@test "logd ctl: exit 69 without a logd, 1 on a refused command, 64 on usage" {
	mkdir empty
	run -69 --separate-stderr ctl -d empty status
	[[ $stderr == "logd: ctl: unable to connect to 'empty/logd.sock': "*"(is logd running?)" ]]
	run -78 --separate-stderr ctl status
	[ "$stderr" = "logd: ctl: no data directory: set data.dir in the config or --data-dir" ]
	start_logd b
	run -1 --separate-stderr ctl -d "$LOGD_DIR" bogus
	[ "$stderr" = "logd: ctl: unknown command 'bogus' (use status, topics, flush, retention or compact)" ]
	[ -z "$output" ]
	run -64 --separate-stderr ctl -d "$LOGD_DIR"
	[ "$stderr" = "logd: ctl: expected one command" ]
	run -64 --separate-stderr ctl -d "$LOGD_DIR" status topics
	run -64 --separate-stderr ctl -x -d "$LOGD_DIR" status
	# After a clean stop nobody answers: 69 again.
	stop_clean
	run -69 --separate-stderr ctl -d "$LOGD_DIR" status
}

# ------------------------------------------------- signals and restart

@test "SIGTERM: exit 0, clean-shutdown marker, restart without recovery serves the same records" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" keep:2
	seq 0 99 | kc -P -t keep -p 0 -K: -z zstd
	seq 100 149 | kc -P -t keep -p 1
	run -0 kc -C -t keep -o beginning -e -q -f '%p %o %s\n'
	printf '%s\n' "$output" | sort >before.txt
	stop_clean
	[ -f "$LOGD_DIR/.klog_cleanshutdown" ]
	grep -q 'info: stopped$' "$LOGD_DIR.log"
	run -0 "$KD" -C "$LOGD_DIR"
	[[ $output == *" problems=0" ]]
	n=$(wc -l <"$LOGD_DIR.log")
	start_logd b
	run -0 kc -C -t keep -o beginning -e -q -f '%p %o %s\n'
	diff -u before.txt <(printf '%s\n' "$output" | sort)
	[ "$(wc -l <before.txt)" -eq 150 ]
	tail -n +$((n + 1)) "$LOGD_DIR.log" >restart.log
	grep -q "loaded 1 topics" restart.log
	run -1 grep -i recover restart.log
	[ ! -e "$LOGD_DIR/.klog_cleanshutdown" ]
}

@test "SIGINT stops cleanly too" {
	start_logd b
	echo x | kc -P -t i
	kill -INT "$LOGD_PID"
	rc=0
	wait "$LOGD_PID" || rc=$?
	[ "$rc" -eq 0 ]
	[ -f "$LOGD_DIR/.klog_cleanshutdown" ]
}

@test "restart: offsets continue after the last record, never reused" {
	start_logd b
	run -0 ck produce "$LOGD_ADDR" cont 5
	stop_clean
	start_logd b
	run -0 ck produce "$LOGD_ADDR" cont 3
	[ "$(tr '\n' ' ' <<<"$output")" = "0 5 0 6 0 7 " ]
	# After a kill -9 (recovery) too.
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" || true
	start_logd b
	run -0 ck produce "$LOGD_ADDR" cont 2
	[ "$(tr '\n' ' ' <<<"$output")" = "0 8 0 9 " ]
	run -0 ck consume "$LOGD_ADDR" cont
	[ "$(cut -d' ' -f2,3 <<<"$output" | tr '\n' ' ')" = \
	    "0 key-0 1 key-1 2 key-2 3 key-3 4 key-4 5 key-0 6 key-1 7 key-2 8 key-0 9 key-1 " ]
	stop_clean
	run -0 "$KD" -C "$LOGD_DIR"
}

@test "SIGHUP: a changed config file applies to new topics, bad files are kept out" {
	printf 'num.partitions: 1\n' >c.yaml
	start_logd b -c "$BATS_TEST_TMPDIR/c.yaml"
	echo x | kc -P -t before
	printf 'num.partitions: 4\n' >c.yaml
	kill -HUP "$LOGD_PID"
	wait_for 5000 grep -q 'SIGHUP: configuration reloaded' "$LOGD_DIR.log"
	echo y | kc -P -t after
	run -0 ck metadata "$LOGD_ADDR"
	[[ $output == *"topic after partitions=4 "* ]]
	[[ $output == *"topic before partitions=1 "* ]]
	printf 'num.partitions: [\n' >c.yaml
	kill -HUP "$LOGD_PID"
	wait_for 5000 grep -q 'SIGHUP: keeping the running configuration' "$LOGD_DIR.log"
	echo z | kc -P -t third
	run -0 ck metadata "$LOGD_ADDR"
	[[ $output == *"topic third partitions=4 "* ]]
}
