#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# logd with the Kafka clients users already have: kcat (librdkafka 2.0.2),
# kafka-python 2.0.2 and confluent-kafka-python 1.7.0, each test against
# its own broker on 127.0.0.1. Records must come back exactly once and in
# order, with their keys, headers, null and binary values; every codec
# must round-trip and be stored as sent; metadata, auto-creation and the
# produce checks (size, acks, timestamps) must match what Kafka does; and
# what the clients wrote must verify on disk (kdump-segment -C).
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KD=$BIN_DIR/kdump-segment
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

# consume TOPIC [KCAT ARGS...]: every record from the beginning as
# "partition offset key=value" lines, kcat exiting at the end.
consume() {
	local topic=$1
	shift
	kc -C -t "$topic" -o beginning -e -q -f '%p %o %k=%s\n' "$@"
}

# same_lines FILE: $output is exactly the lines of FILE.
same_lines() {
	diff -u "$1" <(printf '%s\n' "$output")
}

# codecs_on_disk PARTITION_DIR: the sorted distinct "compression" fields.
codecs_on_disk() {
	"$KD" --json "$1" | jq -r .compression | sort -u | tr '\n' ' '
}

# stop_and_verify: SIGTERM the broker, which must exit 0, then check its
# whole data directory (segments, indexes, checkpoints) with kdump-segment.
stop_and_verify() {
	local rc=0
	stop_logd || rc=$?
	[ "$rc" -eq 0 ]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR"
	[[ $output == "verify files="*" problems=0" ]]
	[ -z "$stderr" ]
}

clock_past() {
	[ "$(now_ms)" -gt "$1" ]
}

# end_offset_is TOPIC PARTITION N: logd ctl reports log end offset N.
end_offset_is() {
	[ "$(timeout 10 "$BIN_DIR/logd" ctl -j -d "$LOGD_DIR" topics |
	    jq -r "select(.topic == \"$1\" and .partition == $2) | .log_end_offset")" = "$3" ]
}

# ---------------------------------------------------------------- kcat

@test "kcat -L: the broker at its address as controller, and every topic" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" alpha:2 beta:1
	run -0 --separate-stderr kc -L
	[[ ${lines[0]} == "Metadata for all topics (from broker "*": $LOGD_ADDR/"*"):" ]]
	[ "${lines[1]}" = " 1 brokers:" ]
	[ "${lines[2]}" = "  broker 0 at $LOGD_ADDR (controller)" ]
	[ "${lines[3]}" = " 2 topics:" ]
	[ "${lines[4]}" = '  topic "alpha" with 2 partitions:' ]
	[ "${lines[5]}" = "    partition 0, leader 0, replicas: 0, isrs: 0" ]
	[ "${lines[6]}" = "    partition 1, leader 0, replicas: 0, isrs: 0" ]
	[ "${lines[7]}" = '  topic "beta" with 1 partitions:' ]
	[ "${lines[8]}" = "    partition 0, leader 0, replicas: 0, isrs: 0" ]
	[ "${#lines[@]}" -eq 9 ]
}

@test "kcat -L: the advertised address and broker id are what clients see" {
	start_logd b -i 5 -a localhost:7
	run -0 --separate-stderr kc -L -m 3
	[ "${lines[1]}" = " 1 brokers:" ]
	[ "${lines[2]}" = "  broker 5 at localhost:7 (controller)" ]
}

@test "kcat -P/-C: keyed records come back once each, in order" {
	start_logd b
	seq 0 999 | sed 's/.*/key-&:value-&/' >in.txt
	run -0 --separate-stderr kc -P -t keyed -K: <in.txt
	[ -z "$stderr" ]
	run -0 --separate-stderr consume keyed
	awk -F: '{ print "0 " NR-1 " " $1 "=" $2 }' in.txt >want.txt
	same_lines want.txt
	stop_and_verify
}

@test "kcat headers: repeated keys keep their order and duplicates" {
	start_logd b
	printf 'v1\nv2\n' >in.txt
	run -0 kc -P -t hdr -H a=1 -H a=2 -H b=x -H a=3 <in.txt
	run -0 --separate-stderr kc -C -t hdr -e -q -f '%o %h %s\n'
	[ "$output" = "0 a=1,a=2,b=x,a=3 v1
1 a=1,a=2,b=x,a=3 v2" ]
	run -0 --separate-stderr kc -C -t hdr -e -q -J -c 1
	[ "$(jq -c .headers <<<"$output")" = '["a","1","a","2","b","x","a","3"]' ]
	# kafka-python reads the same headers from the same bytes.
	run -0 --separate-stderr kp consume "$LOGD_ADDR" hdr
	[ "$(cut -d' ' -f1-5 <<<"$output")" = "0 0 null v1 a=1,a=2,b=x,a=3
0 1 null v2 a=1,a=2,b=x,a=3" ]
	stop_and_verify
}

@test "kcat binary values: all 256 byte values, whole-file and with -l -D" {
	start_logd b
	"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >all.bin
	"$PY" -c 'import sys; sys.stdout.buffer.write(
	    bytes(range(256)) + b"|~|" + bytes(range(255, -1, -1)))' >two.bin
	run -0 kc -P -t bin all.bin
	run -0 kc -P -t bin -l -D '|~|' two.bin
	run -0 kc -C -t bin -e -q -f '%o %S\n'
	[ "$output" = "0 256
1 256
2 256" ]
	kc -C -t bin -e -q -o 0 -c 1 -f '%s' >out0.bin
	kc -C -t bin -e -q -o 1 -c 1 -f '%s' >out1.bin
	kc -C -t bin -e -q -o 2 -c 1 -f '%s' >out2.bin
	cmp all.bin out0.bin
	cmp all.bin out1.bin
	"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(255, -1, -1)))' >rev.bin
	cmp rev.bin out2.bin
	stop_and_verify
}

@test "kcat empty values, null values (-Z) and null keys stay distinct" {
	start_logd b
	printf 'k1:\n:v2\nk3:v3\n' | kc -P -t empty -K:
	printf 'k1:\n:v2\n' | kc -P -t nulls -K: -Z
	printf 'a\nb\n' | kc -P -t nokey
	run -0 kc -C -t empty -e -q -f '%o %K %S %k=%s\n'
	[ "$output" = "0 2 0 k1=
1 0 2 =v2
2 2 2 k3=v3" ]
	run -0 kc -C -t nulls -e -q -f '%o %K %S %k=%s\n'
	[ "$output" = "0 2 -1 k1=
1 -1 2 =v2" ]
	run -0 kc -C -t nokey -e -q -f '%o %K %S %s\n'
	[ "$output" = "0 -1 1 a
1 -1 1 b" ]
	# On disk too: null is null and empty is "".
	run -0 "$KD" -jR "$LOGD_DIR/empty-0" "$LOGD_DIR/nulls-0"
	[ "$(jq -c '[.key, .value]' <<<"$output" | tr '\n' ' ')" = \
	    '["k1",""] ["","v2"] ["k3","v3"] ["k1",null] [null,"v2"] ' ]
	stop_and_verify
}

@test "kcat -o beginning, end, N, -N and -c pick the right records" {
	start_logd b
	seq 0 9 | kc -P -t offs
	seq 10 19 | kc -P -t offs
	run -0 --separate-stderr kc -C -t offs -e -q -o beginning -f '%o:%s '
	[ "$output" = "$(for i in $(seq 0 19); do printf '%d:%d ' "$i" "$i"; done)" ]
	run -0 --separate-stderr kc -C -t offs -e -q -o end -f '%o:%s '
	[ -z "$output" ]
	run -0 --separate-stderr kc -C -t offs -e -q -o 13 -f '%o:%s '
	[ "$output" = "13:13 14:14 15:15 16:16 17:17 18:18 19:19 " ]
	run -0 --separate-stderr kc -C -t offs -e -q -o -3 -f '%o:%s '
	[ "$output" = "17:17 18:18 19:19 " ]
	run -0 --separate-stderr kc -C -t offs -e -q -o 5 -c 2 -f '%o:%s '
	[ "$output" = "5:5 6:6 " ]
	run -0 --separate-stderr kc -C -t offs -e -q -o 20 -f '%o:%s '
	[ -z "$output" ]
	# Past the end: OFFSET_OUT_OF_RANGE, then auto.offset.reset decides.
	run -0 --separate-stderr kc -C -t offs -e -o 100 -f '%o:%s '
	[ -z "$output" ]
	[[ $stderr == *"offset reset (at offset 100, broker 0) to END"*"Offset out of range"* ]]
	run -0 --separate-stderr kc -C -t offs -e -q -o 100 -X auto.offset.reset=earliest -f '%o '
	[ "$output" = "$(seq -s ' ' 0 19) " ]
}

@test "a record larger than the consumer's fetch sizes is still delivered" {
	start_logd b
	head -c 900000 /dev/urandom >big.bin
	run -0 kc -P -t big big.bin
	kc -C -t big -e -q -f '%s' -X fetch.message.max.bytes=1024 \
	    -X fetch.max.bytes=1000 -X message.max.bytes=1000 \
	    -X receive.message.max.bytes=2000000 >out.bin
	cmp big.bin out.bin
	stop_and_verify
}

@test "kcat -o s@TIME starts at the first record at or after TIME" {
	start_logd b
	seq 0 2 | kc -P -t times
	run -0 kc -C -t times -e -q -f '%T\n'
	t1=${lines[2]}
	wait_for 5000 clock_past "$((t1 + 1))"
	seq 3 5 | kc -P -t times
	run -0 kc -C -t times -e -q -o 3 -f '%T\n'
	t2=${lines[0]}
	tlast=${lines[2]}	# 3-5 may span milliseconds
	[ "$t2" -gt "$((t1 + 1))" ]
	run -0 --separate-stderr kc -C -t times -e -q -o "s@$((t1 + 1))" -f '%o '
	[ "$output" = "3 4 5 " ]
	run -0 --separate-stderr kc -C -t times -e -q -o "s@$t1" -f '%o '
	[[ $output == *"2 3 4 5 " ]]
	run -0 --separate-stderr kc -C -t times -e -q -o "s@$((tlast + 1))" -f '%o '
	[ -z "$output" ]
	run -0 --separate-stderr kc -Q -t "times:0:$((t1 + 1))"
	[ "$output" = "times [0] offset 3" ]
	run -0 --separate-stderr kc -Q -t "times:0:$((tlast + 1))"
	[ "$output" = "times [0] offset -1" ]
}

@test "kcat -o s@TIME inside one batch starts at the exact record" {
	start_logd b
	base=$(($(now_ms) - 100000))
	run -0 kp create "$LOGD_ADDR" one:1
	run -0 kp produce "$LOGD_ADDR" one 10 --ts "$base" --step 1000
	run -0 "$KD" --json "$LOGD_DIR/one-0"
	[ "${#lines[@]}" -eq 1 ]		# one batch of 10
	run -0 --separate-stderr kc -C -t one -e -q -o "s@$((base + 4500))" -f '%o %T\n'
	[ "$output" = "5 $((base + 5000))
6 $((base + 6000))
7 $((base + 7000))
8 $((base + 8000))
9 $((base + 9000))" ]
}

@test "kcat -e exits 0 at the end, also on an empty topic" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" void:2
	run -0 --separate-stderr kc -C -t void -e
	[ -z "$output" ]
	[[ $stderr == *"Reached end of topic void [0] at offset 0"* ]]
	[[ $stderr == *"Reached end of topic void [1] at offset 0"* ]]
	echo x | kc -P -t void -p 1
	run -0 --separate-stderr kc -C -t void -e -f '%p %o %s\n'
	[ "$output" = "1 0 x" ]
}

@test "kcat producer: default settings and enable.idempotence=false both work" {
	start_logd b
	seq 0 4 | kc -P -t idem
	seq 5 9 | kc -P -t idem -X enable.idempotence=false
	seq 10 14 | kc -P -t idem -X enable.idempotence=false -X acks=1
	seq 15 19 | kc -P -t idem -X acks=0
	# acks=0 gets no answer: wait until the broker has appended it.
	wait_for 5000 end_offset_is idem 0 20
	run -0 --separate-stderr consume idem
	[ "${#lines[@]}" -eq 20 ]
	for i in $(seq 0 19); do
		[ "${lines[$i]}" = "0 $i =$i" ]
	done
	stop_and_verify
}

@test "kcat -X enable.idempotence=true: records once, batches carry producer ids" {
	start_logd b
	seq 0 999 | kc -P -t idem -X enable.idempotence=true
	seq 1000 1009 | kc -P -t idem -X enable.idempotence=true -z zstd
	run -0 ck produce "$LOGD_ADDR" idem 3 -X enable.idempotence=true
	[ "$(tr '\n' ' ' <<<"$output")" = "0 1010 0 1011 0 1012 " ]
	run -0 --separate-stderr kc -C -t idem -e -q -f '%o %s\n' -c 1010
	[ "$output" = "$(seq 0 1009 | awk '{ print $1 " " $1 }')" ]
	# Each producer session got its own id, epoch 0, sequences from 0 on.
	"$KD" --json "$LOGD_DIR/idem-0" | "$PY" -c '
import json, sys
seqs = {}
for b in map(json.loads, sys.stdin):
    assert b["producer_id"] >= 0 and b["producer_epoch"] == 0, b
    want = seqs.get(b["producer_id"], 0)
    assert b["base_sequence"] == want, (b, want)
    assert b["last_sequence"] == want + b["count"] - 1, b
    seqs[b["producer_id"]] = want + b["count"]
assert sorted(seqs.values()) == [3, 10, 1000], seqs'
	stop_and_verify
}

# ---------------------------------------------------------------- codecs

# kcat_codec CODEC: 300 compressible keyed records through kcat -z CODEC;
# they must come back intact. Leaves the sorted codecs on disk in $codecs.
# A long linger keeps them in one batch: librdkafka sends a batch that
# does not shrink (a small tail, say) uncompressed.
kcat_codec() {
	local z=$1
	start_logd b
	seq 0 299 | sed 's/.*/key-&:value-& the quick brown fox jumps over it/' >in.txt
	run -0 --separate-stderr kc -P -t "z$z" -K: -z "$z" \
	    -X linger.ms=2000 <in.txt
	[ -z "$stderr" ]
	run -0 --separate-stderr consume "z$z"
	awk -F: '{ print "0 " NR-1 " " $1 "=" $2 }' in.txt >want.txt
	same_lines want.txt
	codecs=$(codecs_on_disk "$LOGD_DIR/z$z-0")
}

@test "kcat -z none: records intact, stored uncompressed" {
	kcat_codec none
	[ "$codecs" = "none " ]
	stop_and_verify
}

@test "kcat -z gzip: records intact, stored gzip-compressed" {
	kcat_codec gzip
	[ "$codecs" = "gzip " ]
	stop_and_verify
}

@test "kcat -z snappy: records intact, stored snappy-compressed" {
	kcat_codec snappy
	[ "$codecs" = "snappy " ]
	stop_and_verify
}

@test "kcat -z zstd: records intact, stored zstd-compressed" {
	kcat_codec zstd
	[ "$codecs" = "zstd " ]
	stop_and_verify
}

@test "kcat -z lz4: records intact (librdkafka 2.0.2 sends them uncompressed here)" {
	kcat_codec lz4
	stop_and_verify
}

@test "kafka-python compression_type gzip, snappy, lz4, zstd: stored as asked" {
	start_logd b
	for z in none gzip snappy lz4 zstd; do
		echo "# $z"
		run -0 kp create "$LOGD_ADDR" "p$z:1"
		run -0 kp produce "$LOGD_ADDR" "p$z" 40 -z "$z"
		[ "$output" = "sent 40" ]
		[ "$(codecs_on_disk "$LOGD_DIR/p$z-0")" = "$z " ]
		run -0 --separate-stderr consume "p$z"
		[ "${#lines[@]}" -eq 40 ]
		for i in 0 17 39; do
			[[ ${lines[$i]} == "0 $i key-$i=value-${i}xxx"* ]]
		done
		run -0 --separate-stderr kp consume "$LOGD_ADDR" "p$z"
		[ "${#lines[@]}" -eq 40 ]
		[[ ${lines[39]} == "0 39 key-39 value-39xxx"*" h=39,dup=a,dup=b "* ]]
	done
	stop_and_verify
}

# ---------------------------------------------------------- kafka-python

@test "kafka-python: producer to consumer with assign(), 3 partitions" {
	start_logd b
	run -0 kp create "$LOGD_ADDR" kp:3
	run -0 --separate-stderr kp produce "$LOGD_ADDR" kp 60 -p 3
	[ "$output" = "sent 60" ]
	run -0 --separate-stderr kp consume "$LOGD_ADDR" kp
	[ "${#lines[@]}" -eq 60 ]
	for p in 0 1 2; do
		for o in $(seq 0 19); do
			i=$((o * 3 + p))
			printf '%d %d key-%d %s h=%d,dup=a,dup=b\n' "$p" "$o" "$i" \
			    "$(printf 'value-%d%*s' "$i" $((94 - ${#i})) '' | tr ' ' x)" "$i"
		done
	done >want.txt
	output=$(cut -d' ' -f1-5 <<<"$output")
	same_lines want.txt
	# kcat sees the same offsets.
	run -0 --separate-stderr kc -C -t kp -p 2 -o -1 -e -q -f '%o %k\n'
	[ "$output" = "19 key-59" ]
	stop_and_verify
}

# -------------------------------------------------------- confluent-kafka

@test "confluent-kafka: delivery reports without errors, consecutive offsets" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" ck:3
	run -0 --separate-stderr ck produce "$LOGD_ADDR" ck 60 -p 3
	[ "${#lines[@]}" -eq 60 ]
	for p in 0 1 2; do
		[ "$(grep "^$p " <<<"$output" | tr '\n' ' ')" = \
		    "$(seq 0 19 | sed "s/^/$p /" | tr '\n' ' ')" ]
	done
	run -0 --separate-stderr ck consume "$LOGD_ADDR" ck
	for p in 0 1 2; do
		for o in $(seq 0 19); do
			echo "$p $o key-$((o * 3 + p)) value-$((o * 3 + p))"
		done
	done >want.txt
	same_lines want.txt
	stop_and_verify
}

@test "confluent-kafka: second producer session continues the offsets" {
	start_logd b
	run -0 ck produce "$LOGD_ADDR" again 5
	[ "$(tr '\n' ' ' <<<"$output")" = "0 0 0 1 0 2 0 3 0 4 " ]
	run -0 ck produce "$LOGD_ADDR" again 3
	[ "$(tr '\n' ' ' <<<"$output")" = "0 5 0 6 0 7 " ]
	run -0 ck consume "$LOGD_ADDR" again
	[ "${lines[5]}" = "0 5 key-0 value-0" ]
	[ "${#lines[@]}" -eq 8 ]
}

# ------------------------------------------------------------- metadata

@test "metadata: controller, leaders, replicas and ISR are this broker" {
	start_logd b -i 7
	run -0 ck create "$LOGD_ADDR" m:2
	cluster=$(sed -n 's/^cluster.id=//p' "$LOGD_DIR/meta.properties")
	[ -n "$cluster" ]
	run -0 --separate-stderr ck metadata "$LOGD_ADDR"
	[ "$output" = "cluster_id=$cluster controller_id=7 orig_broker_id=7
broker 7 $LOGD_ADDR
topic m partitions=2 error=None
  partition 0 leader=7 replicas=[7] isrs=[7] error=None
  partition 1 leader=7 replicas=[7] isrs=[7] error=None" ]
}

@test "metadata: kcat -P auto-creates an unknown topic with num.partitions" {
	start_logd b -o num.partitions=3
	seq 0 8 | kc -P -t auto -p -1
	run -0 --separate-stderr kc -L -t auto
	[ "${lines[4]}" = '  topic "auto" with 3 partitions:' ]
	[ -d "$LOGD_DIR/auto-0" ] && [ -d "$LOGD_DIR/auto-1" ] && [ -d "$LOGD_DIR/auto-2" ]
	[ ! -e "$LOGD_DIR/auto-3" ]
	run -0 --separate-stderr consume auto
	[ "$(cut -d= -f2 <<<"$output" | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 " ]
	[[ $(grep -c "auto-created topic 'auto' with 3 partitions" "$LOGD_DIR.log") -eq 1 ]]
	stop_and_verify
}

@test "metadata: auto.create.topics.enable=false refuses unknown topics" {
	start_logd b -o auto.create.topics.enable=false
	run -1 --separate-stderr kc -P -t nosuch -X topic.metadata.propagation.max.ms=1000 <<<"x"
	[[ $stderr == *"Delivery failed for message: Broker: Unknown topic or partition"* ]]
	run -0 --separate-stderr kc -L -t nosuch
	[ "${lines[4]}" = '  topic "nosuch" with 0 partitions: Broker: Unknown topic or partition' ]
	run -1 --separate-stderr kc -C -t nosuch -e
	[[ $stderr == *"Topic nosuch error: Broker: Unknown topic or partition"* ]]
	[ ! -e "$LOGD_DIR/nosuch-0" ]
	[ ! -e "$LOGD_DIR/topics.d/nosuch.conf" ]
	# Explicit creation still works.
	run -0 ck create "$LOGD_ADDR" nosuch:1
	echo x | kc -P -t nosuch
	run -0 consume nosuch
	[ "$output" = "0 0 =x" ]
}

@test "metadata: invalid topic names are refused, nothing is created" {
	start_logd b
	run -1 --separate-stderr kc -P -t 'bad name' <<<"x"
	[[ $stderr == *"Delivery failed for message: Broker: Invalid topic"* ]]
	run -1 --separate-stderr kc -P -t '../escape' <<<"x"
	[[ $stderr == *"Broker: Invalid topic"* ]]
	long=$(printf 'x%.0s' $(seq 250))
	run -1 --separate-stderr ck create "$LOGD_ADDR" "$long:1" ..:1 'a/b:1' ok.name_-1:1
	[[ $output == *".. error TOPIC_EXCEPTION: topic name cannot be '.' or '..'"* ]]
	[[ $output == *"a/b error TOPIC_EXCEPTION: topic names use only ASCII letters, digits, '.', '_' and '-'"* ]]
	[[ $output == *"$long error TOPIC_EXCEPTION: topic name is longer than 249 characters"* ]]
	[[ $output == *"ok.name_-1 ok"* ]]
	run -0 kp list "$LOGD_ADDR"
	[ "$output" = "ok.name_-1" ]
	[ ! -e "$BATS_TEST_TMPDIR/escape-0" ]
	run -0 ls "$LOGD_DIR"
	[ "$(grep -- '-[0-9]*$' <<<"$output")" = "ok.name_-1-0" ]
}

# ----------------------------------------------------- produce validation

@test "produce: a batch over max.message.bytes is refused, nothing appended" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" small:1 -c max.message.bytes=300
	head -c 600 /dev/zero | tr '\0' 'y' >big.txt
	run -1 --separate-stderr kc -P -t small big.txt
	[[ $stderr == *"Delivery failed for message: Broker: Message size too large"* ]]
	echo fits | kc -P -t small
	run -0 consume small
	[ "$output" = "0 0 =fits" ]
	run -0 "$BIN_DIR/logd" ctl -j -d "$LOGD_DIR" topics
	[ "$(jq -c '[.topic, .log_end_offset]' <<<"$output")" = '["small",1]' ]
	stop_and_verify
}

@test "produce: min.insync.replicas=2 refuses acks=all, acks=1 works" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" isr:1 -c min.insync.replicas=2
	run -1 --separate-stderr kc -P -t isr -X acks=all -X retries=0 <<<"all"
	[[ $stderr == *"Delivery failed for message: Broker: Not enough in-sync replicas"* ]]
	run -0 --separate-stderr kc -P -t isr -X acks=1 <<<"one"
	run -0 ck produce "$LOGD_ADDR" isr 1 -X acks=all -X retries=0
	[ "$output" = "0 error NOT_ENOUGH_REPLICAS" ]
	run -0 consume isr
	[ "$output" = "0 0 =one" ]
	stop_and_verify
}

@test "produce: LogAppendTime topics carry the broker's time, not the client's" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" lat:1 -c message.timestamp.type=LogAppendTime
	run -0 ck create "$LOGD_ADDR" ct:1
	t0=$(now_ms)
	run -0 kp produce "$LOGD_ADDR" lat 3 --ts 1000000000000 --step 1
	run -0 kp produce "$LOGD_ADDR" ct 3 --ts 1000000000000 --step 1
	t1=$(now_ms)
	run -0 --separate-stderr kc -C -t lat -e -q -J
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		[ "$(jq -r .tstype <<<"$l")" = logappend ]
		ts=$(jq -r .ts <<<"$l")
		[ "$ts" -ge "$t0" ] && [ "$ts" -le "$t1" ]
	done
	run -0 --separate-stderr kc -C -t ct -e -q -J
	[ "$(jq -r '"\(.tstype) \(.ts)"' <<<"$output" | tr '\n' ' ')" = \
	    "create 1000000000000 create 1000000000001 create 1000000000002 " ]
	run -0 "$KD" --json "$LOGD_DIR/lat-0"
	[ "$(jq -r .timestamp_type <<<"$output")" = log_append ]
	stop_and_verify
}

@test "produce: a compacted topic refuses records without a key" {
	start_logd b
	run -0 ck create "$LOGD_ADDR" cmp:1 -c cleanup.policy=compact
	run -1 --separate-stderr kc -P -t cmp -X retries=0 <<<"nokey"
	[[ $stderr == *"Delivery failed for message: Broker: Invalid message"* ]]
	grep -q "rejecting produce from .*topic=cmp partition=0 position=0: .*a compacted topic needs a key on every record" "$LOGD_DIR.log"
	run -0 kc -P -t cmp -K: <<<"k:v"
	run -0 kc -C -t cmp -e -q -f '%o %k %s\n'
	[ "$output" = "0 k v" ]
	stop_and_verify
}

# ------------------------------------------------------------ on disk

@test "kdump-segment -C accepts the partitions of a running broker" {
	start_logd b
	seq 0 9 | kc -P -t live
	run -0 kp create "$LOGD_ADDR" live3:3
	run -0 kp produce "$LOGD_ADDR" live3 30 -p 3
	for d in "$LOGD_DIR"/live-0 "$LOGD_DIR"/live3-[012]; do
		run -0 --separate-stderr "$KD" -C "$d"
		[[ $output == "verify "*" problems=0" ]]
	done
}
