#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kgroups against a real logd: list, describe (lag = end - committed),
# lag as table/JSON/Prometheus, --output written by rename, threshold exit
# codes, reset-offsets dry run and --execute, refusal (75) while a member
# is active, delete-offsets (kept for subscribed topics: 1), delete,
# unknown groups (67) and usage errors (64). Groups are made with
# confluent_kafka under Debian's python ("$PY").
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	"$PY" -c 'import confluent_kafka' 2>/dev/null ||
	    skip "python3-confluent-kafka is not installed"
	start_logd b -o group.initial.rebalance.delay.ms=0
	KG=$BIN_DIR/kgroups
}

teardown() {
	kill_daemons
}

# seed TOPIC GROUP N COMMIT: a 2-partition TOPIC with N records spread
# over both partitions, and GROUP committing offset COMMIT on each.
seed() {
	timeout 60 "$PY" - "$LOGD_ADDR" "$@" <<'PYEOF'
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
addr, topic, group, n, at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
admin = AdminClient({'bootstrap.servers': addr})
for f in admin.create_topics([NewTopic(topic, 2, 1)]).values():
    f.result()
p = Producer({'bootstrap.servers': addr})
for i in range(n):
    p.produce(topic, value=b'v%d' % i, partition=i % 2)
p.flush(10)
c = Consumer({'bootstrap.servers': addr, 'group.id': group, 'enable.auto.commit': False})
c.commit(offsets=[TopicPartition(topic, 0, at), TopicPartition(topic, 1, at)], asynchronous=False)
c.close()
PYEOF
}

# committed GROUP TOPIC: "P=OFFSET" per partition, read by confluent_kafka.
committed() {
	timeout 60 "$PY" - "$LOGD_ADDR" "$@" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
addr, group, topic = sys.argv[1:4]
c = Consumer({'bootstrap.servers': addr, 'group.id': group})
for tp in c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10):
    print('%d=%d' % (tp.partition, tp.offset))
c.close()
PYEOF
}

# start_member GROUP TOPIC: a consumer in the background until ./stop exists.
start_member() {
	rm -f stop
	timeout 120 "$PY" - "$LOGD_ADDR" "$@" >member.log 2>&1 <<'PYEOF' &
import sys, os
from confluent_kafka import Consumer
addr, group, topic = sys.argv[1:4]
c = Consumer({'bootstrap.servers': addr, 'group.id': group,
              'enable.auto.commit': False, 'client.id': 'kg-member'})
c.subscribe([topic])
while not os.path.exists('stop'):
    c.poll(0.1)
c.close()
PYEOF
	MEMBER_PID=$!
}

group_stable() {
	"$KG" -b "$LOGD_ADDR" describe "$1" 2>/dev/null | grep -q '^STATE *Stable$'
}

@test "list shows the group with its state" {
	seed t1 g1 10 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" list
	[ "${lines[0]}" = "GROUP  STATE  MEMBERS  PROTOCOL-TYPE  COORDINATOR" ]
	[[ ${lines[1]} == "g1     Empty  0"* ]]
	run -0 "$KG" -b "$LOGD_ADDR" list -s stable
	[ "${#lines[@]}" -eq 1 ]
	run -0 "$KG" -b "$LOGD_ADDR" list -J
	echo "$output" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["version"]==1; assert [g["group"] for g in d["groups"]]==["g1"]'
}

@test "describe: summary block and lag = end offset - committed" {
	seed t1 g1 10 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" describe g1
	[ "${lines[0]}" = "GROUP        g1" ]
	[ "${lines[2]}" = "STATE        Empty" ]
	[ "${lines[5]}" = "TOTAL-LAG    6" ]
	[[ ${lines[6]} == "TOPIC  PARTITION  CURRENT-OFFSET  LOG-START-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID  CLIENT-ID  HOST" ]]
	read -r -a row <<<"${lines[7]}"
	[ "${row[*]}" = "t1 0 2 0 5 3 - - -" ]
	read -r -a row <<<"${lines[8]}"
	[ "${row[*]}" = "t1 1 2 0 5 3 - - -" ]
	run -0 "$KG" -b "$LOGD_ADDR" describe --json g1
	echo "$output" | "$PY" -c '
import json,sys
d=json.load(sys.stdin); g=d["groups"][0]
assert d["version"]==1 and g["total_lag"]==6
for p in g["partitions"]:
    assert p["lag"]==p["log_end_offset"]-p["current_offset"]==3'
}

@test "lag: table, json and prom; lag seconds from the committed record" {
	seed t1 g1 10 2
	seed t2 g2 4 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1
	[ "${lines[0]}" = "GROUP  TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  LAG-SECONDS" ]
	read -r -a row <<<"${lines[1]}"
	[ "${row[*]:0:6}" = "g1 t1 0 2 5 3" ]
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" lag --all --format json
	echo "$output" | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
assert d["version"]==1 and d["exceeded"] is False
g={x["group"]:x for x in d["groups"]}
assert g["g1"]["sum_lag"]==6 and g["g1"]["max_lag"]==3
assert g["g2"]["sum_lag"]==0 and g["g2"]["max_lag_seconds"]==0
assert 0 < g["g1"]["max_lag_seconds"] < 120'
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" lag -a -f prom
	[[ $output == *'kafka_consumergroup_group_lag{group="g1",topic="t1",partition="0"} 3'* ]]
	[[ $output == *'kafka_consumergroup_group_max_lag{group="g1"} 3'* ]]
	[[ $output == *'kafka_consumergroup_group_sum_lag{group="g1"} 6'* ]]
	[[ $output == *'kafka_consumergroup_group_sum_lag{group="g2"} 0'* ]]
	[[ $output == *'kafka_consumergroup_group_lag_seconds{group="g2",topic="t2",partition="0"} 0.000'* ]]
	[[ $output == *$'\nkgroups_last_success_timestamp_seconds '[0-9]* ]]
	[[ $output == *'# TYPE kafka_consumergroup_group_lag gauge'* ]]
}

@test "lag --output writes the file by rename, nothing on stdout" {
	seed t1 g1 10 2
	echo old >lag.prom
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1 -f prom \
	    --output "$BATS_TEST_TMPDIR/lag.prom"
	[ -z "$output" ]
	grep -q '^kafka_consumergroup_group_sum_lag{group="g1"} 6$' lag.prom
	[ ! -e lag.prom.tmp ]
	run -73 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1 -f prom \
	    --output "$BATS_TEST_TMPDIR/no/such/dir/lag.prom"
	[[ $stderr == "kgroups: "* ]]
}

@test "lag thresholds: exit 1 when exceeded, 0 when within" {
	seed t1 g1 10 2
	run -1 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1 --max-lag 2
	[[ $stderr == *"exceeds --max-lag 2"* ]]
	[[ $output == GROUP* ]]
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1 --max-lag 3
	[ -z "$stderr" ]
	run -0 "$KG" -b "$LOGD_ADDR" lag g1 --max-lag-seconds 3600
	run -1 "$KG" -b "$LOGD_ADDR" lag g1 --max-lag-seconds 0
	run -1 --separate-stderr "$KG" -b "$LOGD_ADDR" lag g1 -f json -L 0
	echo "$output" | "$PY" -c 'import json,sys; assert json.load(sys.stdin)["exceeded"] is True'
}

@test "reset-offsets: dry run changes nothing; --execute commits the plan" {
	seed t1 g1 10 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" reset-offsets g1 \
	    --topic t1 --to-earliest
	[[ $stderr == *"dry run"* ]]
	read -r -a row <<<"${lines[1]}"
	[ "${row[*]}" = "t1 0 2 -> 0" ]
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=2' ]
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" reset-offsets g1 \
	    -t t1:1 --to-offset 4 --execute
	[ -z "$stderr" ]
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=4' ]
	run -0 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A --shift-by -1 -e -J
	echo "$output" | "$PY" -c '
import json,sys
d=json.load(sys.stdin); assert d["executed"] is True
assert [(p["old_offset"],p["new_offset"]) for p in d["partitions"]]==[(2,1),(4,3)]'
	run -0 committed g1 t1
	[ "$output" = $'0=1\n1=3' ]
	run -0 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A --to-latest -e
	run -0 committed g1 t1
	[ "$output" = $'0=5\n1=5' ]
	run -0 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A --by-duration -1h -e
	run -0 committed g1 t1
	[ "$output" = $'0=0\n1=0' ]
	run -0 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A -e \
	    --to-datetime 2999-01-01T00:00:00+01:00
	run -0 committed g1 t1
	[ "$output" = $'0=5\n1=5' ]
	run -67 --separate-stderr "$KG" -b "$LOGD_ADDR" reset-offsets g1 \
	    -t nosuch --to-earliest
	[[ $stderr == *"topic 'nosuch' does not exist"* ]]
}

@test "reset-offsets and delete are refused (75) while a member is active" {
	seed t1 g1 10 2
	start_member g1 t1
	wait_for 30000 group_stable g1
	run -0 "$KG" -b "$LOGD_ADDR" describe g1
	[[ $output == *"kg-member"* ]]
	run -0 "$KG" -b "$LOGD_ADDR" describe --members g1
	[[ $output == *"t1:0,1"* ]]
	run -75 --separate-stderr "$KG" -b "$LOGD_ADDR" reset-offsets g1 \
	    -A --to-earliest --execute
	[ -z "$output" ]
	[[ $stderr == *"state Stable, 1 members"* ]]
	run -75 --separate-stderr "$KG" -b "$LOGD_ADDR" delete g1
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=2' ]
	touch stop
	wait "$MEMBER_PID"
}

@test "delete removes an empty group; then it is unknown (67)" {
	seed t1 g1 10 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" delete g1
	[ "$output" = "deleted group g1" ]
	run -67 --separate-stderr "$KG" -b "$LOGD_ADDR" delete g1
	[ -z "$output" ]
	[[ $stderr == "kgroups: error: group 'g1' does not exist" ]]
}

@test "delete-offsets: an Empty group's offsets go, and stay gone after a restart" {
	seed t1 g1 10 2
	seed t2 g1 4 2
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" delete-offsets g1 \
	    --topic t1:1
	[ -z "$stderr" ]
	[ "${lines[0]}" = "TOPIC  PARTITION  RESULT" ]
	read -r -a row <<<"${lines[1]}"
	[ "${row[*]}" = "t1 1 deleted" ]
	[ "${#lines[@]}" -eq 2 ]
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=-1001' ]
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" describe g1
	[ "$(printf '%s\n' "${lines[@]:7}" | awk '{print $1, $2, $3}')" = "t1 0 2
t2 0 2
t2 1 2" ]
	stop_logd
	start_logd b -o group.initial.rebalance.delay.ms=0
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=-1001' ]
	# -A: every partition of each committed topic. With no offset left,
	# the Empty group is gone (as in Kafka).
	run -0 --separate-stderr "$KG" -b "$LOGD_ADDR" delete-offsets g1 -A -J
	[ -z "$stderr" ]
	echo "$output" | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
assert d["version"]==1 and d["group"]=="g1" and d["state"]=="Empty"
assert d["deleted"]==4 and d["failed"]==0
assert [(p["topic"],p["partition"],p["deleted"],p["error"]) for p in d["partitions"]]==[
    ("t1",0,True,None),("t1",1,True,None),("t2",0,True,None),("t2",1,True,None)]'
	run -67 --separate-stderr "$KG" -b "$LOGD_ADDR" describe g1
	[[ $stderr == *"group 'g1' does not exist"* ]]
	run -0 committed g1 t2
	[ "$output" = $'0=-1001\n1=-1001' ]
}

@test "delete-offsets: an active member's topics are kept (1); the others go" {
	seed t1 g1 10 2
	seed t2 g1 4 2
	start_member g1 t1
	wait_for 30000 group_stable g1
	run -1 --separate-stderr "$KG" -b "$LOGD_ADDR" delete-offsets g1 \
	    -t t1 -t t2
	[ "${lines[0]}" = "TOPIC  PARTITION  RESULT" ]
	[ "$(printf '%s\n' "${lines[@]:1}" | awk '{print $1, $2, $3}')" = "t1 0 GROUP_SUBSCRIBED_TO_TOPIC
t1 1 GROUP_SUBSCRIBED_TO_TOPIC
t2 0 deleted
t2 1 deleted" ]
	[ "${stderr_lines[0]}" = "kgroups: error: group 'g1' topic 't1' partition 0: offset not deleted: GROUP_SUBSCRIBED_TO_TOPIC (a member of the group subscribes to the topic)" ]
	[[ ${stderr_lines[1]} == *"topic 't1' partition 1: offset not deleted"* ]]
	[ "${#stderr_lines[@]}" -eq 2 ]
	run -0 committed g1 t1
	[ "$output" = $'0=2\n1=2' ]
	run -0 committed g1 t2
	[ "$output" = $'0=-1001\n1=-1001' ]
	run -1 --separate-stderr "$KG" -b "$LOGD_ADDR" delete-offsets g1 -A --json
	echo "$output" | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
assert d["state"]=="Stable" and d["deleted"]==0 and d["failed"]==2
assert {p["error"] for p in d["partitions"]}=={"GROUP_SUBSCRIBED_TO_TOPIC"}
assert [p["deleted"] for p in d["partitions"]]==[False,False]'
	touch stop
	wait "$MEMBER_PID"
}

@test "unknown group: 67 with the message on stderr, nothing on stdout" {
	for cmd in "describe nosuch" "lag nosuch" "reset-offsets nosuch -A --to-earliest" \
	    "delete-offsets nosuch -A" "delete-offsets nosuch -t t1"; do
		run -67 --separate-stderr "$KG" -b "$LOGD_ADDR" $cmd
		[ -z "$output" ]
		[[ $stderr == *"group 'nosuch' does not exist"* ]]
	done
}

@test "usage errors exit 64 and list the valid commands" {
	run -64 --separate-stderr "$KG" -b "$LOGD_ADDR" frobnicate
	[[ ${stderr_lines[0]} == *"(valid: list, describe, lag, reset-offsets, delete-offsets, delete)" ]]
	run -64 "$KG" -b "$LOGD_ADDR"
	run -64 "$KG" -b "$LOGD_ADDR" describe
	run -64 "$KG" -b "$LOGD_ADDR" lag
	run -64 "$KG" -b "$LOGD_ADDR" lag -a g1
	run -64 "$KG" -b "$LOGD_ADDR" lag g1 -f yaml
	run -64 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A
	run -64 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A --to-earliest --to-latest
	run -64 "$KG" -b "$LOGD_ADDR" reset-offsets g1 --to-earliest
	run -64 "$KG" -b "$LOGD_ADDR" reset-offsets g1 -A --to-datetime yesterday
	run -64 "$KG" -b "$LOGD_ADDR" describe g1 --execute
	run -64 "$KG" -b "$LOGD_ADDR" list --members
	run -64 --separate-stderr "$KG" -b "$LOGD_ADDR" delete-offsets g1
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "kgroups: delete-offsets: give -t topic or -A, not neither" ]
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets g1 -A -t t1
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets g1 -A --to-earliest
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets g1 -A --execute
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets -A
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets g1 g2 -A
	run -64 "$KG" -b "$LOGD_ADDR" delete-offsets g1 -t t1:x
	run -64 "$KG" -b "$LOGD_ADDR" delete g1 -A
}

@test "no broker: 69" {
	run -69 --separate-stderr "$KG" -b 127.0.0.1:1 -X socket.connection.setup.timeout.ms=500 list
	[ -z "$output" ]
}

@test "examples/cron-lag.sh: textfile written, status 1 over the threshold" {
	seed t1 g1 10 2
	KGROUPS=$KG KLOG_BROKERS=$LOGD_ADDR OUT=$BATS_TEST_TMPDIR/lag.prom \
	    MAX_LAG=100 run -0 "$BATS_TEST_DIRNAME/../examples/cron-lag.sh"
	[ -z "$output" ]
	grep -q '^kafka_consumergroup_group_max_lag{group="g1"} 3$' lag.prom
	KGROUPS=$KG KLOG_BROKERS=$LOGD_ADDR OUT=$BATS_TEST_TMPDIR/lag.prom \
	    MAX_LAG=1 run -1 "$BATS_TEST_DIRNAME/../examples/cron-lag.sh"
	[[ $output == *"consumer lag over 1 records"* ]]
	grep -q '^kgroups_last_success_timestamp_seconds ' lag.prom
}
