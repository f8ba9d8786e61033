#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Idempotent producers: InitProducerId (unique ids across restarts, no
# transactions), and Produce's per-partition epoch and sequence checks as
# Kafka makes them: a retried batch is acknowledged with its original
# offset and not written again, gaps, stale epochs and unknown producers
# are refused without writing anything, and the state is rebuilt from the
# log after a clean or a crashed restart. Real clients (kcat and
# confluent-kafka with enable.idempotence) and hand-built requests
# (tools/kidem.py) both drive it.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KD=$BIN_DIR/kdump-segment
	KC_TIMEOUT=60
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

kidem() {
	timeout 120 "$PY" "$BATS_TEST_DIRNAME/tools/kidem.py" "$@"
}

# crash_logd: SIGKILL the broker and reap it.
crash_logd() {
	local rc=0
	kill -KILL "$LOGD_PID"
	wait "$LOGD_PID" || rc=$?
	[ "$rc" -eq 137 ]
}

# records PARTITION_DIR: the exact number of records on disk.
records() {
	"$KD" --count "$LOGD_DIR/$1"
}

# write_producer: produce.py ADDR TOPIC PARTITIONS N BATCH, a
# confluent-kafka producer with enable.idempotence sending N records,
# record i to partition i % PARTITIONS with value "P-K" (its K-th there),
# reconnecting fast; prints "left=L failed=F" after the final flush.
write_producer() {
	cat >produce.py <<'EOF'
import sys
from confluent_kafka import Producer

addr, topic = sys.argv[1], sys.argv[2]
parts, n, batch = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
p = Producer({"bootstrap.servers": addr, "enable.idempotence": True,
              "linger.ms": 2, "batch.num.messages": batch,
              "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
              "retry.backoff.ms": 10})
failed = []


def report(err, msg):
    if err is not None:
        failed.append(err)


for i in range(n):
    part = i % parts
    value = ("%d-%d" % (part, i // parts)).encode()
    while True:
        try:
            p.produce(topic, value=value, partition=part, on_delivery=report)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
left = p.flush(60)
print("left=%d failed=%d" % (left, len(failed)))
EOF
}

# check_partitions TOPIC PARTITIONS N: partition P holds exactly
# "P-0" .. "P-(N-1)", in that order.
check_partitions() {
	local p
	for ((p = 0; p < $2; p++)); do
		seq 0 $(($3 - 1)) | sed "s/^/$p-/" >"expected-$p"
		run -0 --separate-stderr kc -C -t "$1" -p "$p" -o beginning -e -q -f '%s\n'
		diff -u "expected-$p" <(printf '%s\n' "$output")
	done
}

# produce_is TOPIC SPEC... EXPECTED: one request; its answer must be EXPECTED.
produce_is() {
	local expected=${*: -1}
	run -0 kidem produce "$LOGD_ADDR" "${@:1:$#-1}"
	[ "$output" = "$expected" ]
}

@test "logd advertises InitProducerId 0-1" {
	run -0 "$BIN_DIR/logd" -V
	[[ $output == *"InitProducerId   key 22  versions 0-1"* ]]
}

@test "InitProducerId: distinct ids from a reserved block; transactional ids refused" {
	start_logd b
	[ ! -e "$LOGD_DIR/producer-id-block" ]
	run -0 kidem initpid "$LOGD_ADDR" --count 3
	[ "$output" = "error=NONE pid=0 epoch=0
error=NONE pid=1 epoch=0
error=NONE pid=2 epoch=0" ]
	grep -qx 'block.start=0' "$LOGD_DIR/producer-id-block"
	grep -qx 'block.end=999' "$LOGD_DIR/producer-id-block"
	run -0 kidem initpid "$LOGD_ADDR" --tid my-txn
	[ "$output" = "error=TRANSACTIONAL_ID_AUTHORIZATION_FAILED pid=-1 epoch=-1" ]
	run -0 kidem initpid "$LOGD_ADDR" --tid ""
	[ "$output" = "error=INVALID_REQUEST pid=-1 epoch=-1" ]
	grep -q "refusing transactional id 'my-txn'" "$LOGD_DIR.log"
	# a later connection goes on from the same block
	run -0 kidem initpid "$LOGD_ADDR"
	[ "$output" = "error=NONE pid=3 epoch=0" ]
}

@test "InitProducerId: ids never repeat across clean and kill -9 restarts" {
	start_logd b
	run -0 kidem initpid "$LOGD_ADDR" --count 2
	[ "${lines[1]}" = "error=NONE pid=1 epoch=0" ]
	stop_logd
	start_logd b
	run -0 kidem initpid "$LOGD_ADDR" --count 2
	[ "$output" = "error=NONE pid=1000 epoch=0
error=NONE pid=1001 epoch=0" ]
	crash_logd
	start_logd b
	run -0 kidem initpid "$LOGD_ADDR"
	[ "$output" = "error=NONE pid=2000 epoch=0" ]
	grep -qx 'block.end=2999' "$LOGD_DIR/producer-id-block"
	# a block is used up, then the next one is reserved
	run -0 kidem initpid "$LOGD_ADDR" --count 1000
	[ "${lines[998]}" = "error=NONE pid=2999 epoch=0" ]
	[ "${lines[999]}" = "error=NONE pid=3000 epoch=0" ]
	grep -qx 'block.end=3999' "$LOGD_DIR/producer-id-block"
}

@test "a damaged producer-id-block file stops logd from starting (65)" {
	start_logd b
	run -0 kidem initpid "$LOGD_ADDR"
	stop_logd
	printf 'version=1\nblock.end=banana\n' >"$LOGD_DIR/producer-id-block"
	run -65 --separate-stderr "$BIN_DIR/logd" -d "$LOGD_DIR" -l 127.0.0.1:0
	[[ $stderr == *"producer-id-block' lacks a valid block.end"* ]]
}

@test "a retried batch is acknowledged with its original offset and not appended" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	produce_is t 5/0/0/3 "p=0 error=NONE base=0"
	produce_is t 5/0/3/2 "p=0 error=NONE base=3"
	run -0 records t-0
	[ "$output" = 5 ]
	produce_is t 5/0/0/3 "p=0 error=NONE base=0"
	produce_is t 5/0/3/2 "p=0 error=NONE base=3"
	run -0 records t-0
	[ "$output" = 5 ]
	produce_is t 5/0/5/1 "p=0 error=NONE base=5"
	run -0 --separate-stderr kc -C -t t -o beginning -e -q -f '%o %s\n'
	[ "$output" = "0 5-0
1 5-1
2 5-2
3 5-3
4 5-4
5 5-5" ]
}

@test "only the last 5 batches of a producer count as duplicates" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	for s in 0 1 2 3 4 5; do
		produce_is t "5/0/$s/1" "p=0 error=NONE base=$s"
	done
	produce_is t 5/0/0/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 5/0/1/1 "p=0 error=NONE base=1"
	# same sequence range only: a batch overlapping a retained one is a gap
	produce_is t 5/0/4/2 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	run -0 records t-0
	[ "$output" = 6 ]
}

@test "a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is appended" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	produce_is t 5/0/0/2 "p=0 error=NONE base=0"
	produce_is t 5/0/3/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 5/0/1/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	run -0 records t-0
	[ "$output" = 2 ]
	produce_is t 5/0/2/1 "p=0 error=NONE base=2"
}

@test "epochs: a stale one is INVALID_PRODUCER_EPOCH, a new one restarts at sequence 0" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	produce_is t 5/1/0/2 "p=0 error=NONE base=0"
	produce_is t 5/0/2/1 "p=0 error=INVALID_PRODUCER_EPOCH base=-1"
	produce_is t 5/0/0/1 "p=0 error=INVALID_PRODUCER_EPOCH base=-1"
	produce_is t 5/2/2/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 5/2/0/1 "p=0 error=NONE base=2"
	# the old epoch's batches are no longer duplicates
	produce_is t 5/1/0/2 "p=0 error=INVALID_PRODUCER_EPOCH base=-1"
	produce_is t 5/2/1/1 "p=0 error=NONE base=3"
	run -0 records t-0
	[ "$output" = 4 ]
}

@test "an unknown producer must start at sequence 0 (UNKNOWN_PRODUCER_ID)" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	produce_is t 9/0/5/1 "p=0 error=UNKNOWN_PRODUCER_ID base=-1"
	run -0 records t-0
	[ "$output" = 0 ]
	produce_is t 9/0/0/1 "p=0 error=NONE base=0"
	# plain producers (id -1) are not checked at all
	produce_is t -- -1/-1/-1/2 "p=0 error=NONE base=1"
	produce_is t -- -1/-1/-1/2 "p=0 error=NONE base=3"
}

@test "several batches and several producers in one request" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 2
	produce_is t 7/0/0/1 7/0/1/2 8/0/0/2 9/0/0/1 7/0/3/1 "p=0 error=NONE base=0"
	run -0 records t-0
	[ "$output" = 7 ]
	produce_is t 8/0/2/1 7/0/4/1 "p=0 error=NONE base=7"
	run -0 kidem produce "$LOGD_ADDR" t 7/0/5/1 1:7/0/0/2 1:8/0/0/1
	[ "$output" = "p=0 error=NONE base=9
p=1 error=NONE base=0" ]
	# each partition keeps its own sequences
	produce_is t 1:7/0/2/1 "p=1 error=NONE base=3"
	run -0 --separate-stderr kc -C -t t -p 0 -o beginning -e -q -f '%s '
	[ "$output" = "7-0 7-1 7-2 8-0 8-1 9-0 7-3 8-2 7-4 7-5 " ]
}

@test "a refused record set leaves its partition's producer state unchanged" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 2
	# a good batch followed by a gap: neither goes in
	produce_is t 5/0/0/1 5/0/5/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	run -0 records t-0
	[ "$output" = 0 ]
	produce_is t 5/0/0/1 "p=0 error=NONE base=0"
	# one partition refused, the other written
	run -0 kidem produce "$LOGD_ADDR" t 5/0/1/1 1:5/0/0/1 1:5/0/2/1
	[ "$output" = "p=0 error=NONE base=1
p=1 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1" ]
	produce_is t 1:5/0/0/1 "p=1 error=NONE base=0"
	# a retry mixing written and new batches is refused as a whole
	produce_is t 5/0/1/1 5/0/2/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 5/0/2/1 "p=0 error=NONE base=2"
	run -0 records t-0
	[ "$output" = 3 ]
}

@test "sequences continue after a kill -9 restart and after a clean restart" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	for s in 0 1 2; do
		produce_is t "5/3/$s/1" "p=0 error=NONE base=$s"
	done
	produce_is t 6/0/0/4 "p=0 error=NONE base=3"
	crash_logd
	start_logd b
	grep -q 'logs were recovered' "$LOGD_DIR.log"
	produce_is t 5/3/2/1 "p=0 error=NONE base=2"
	produce_is t 6/0/0/4 "p=0 error=NONE base=3"
	produce_is t 5/3/4/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 5/2/3/1 "p=0 error=INVALID_PRODUCER_EPOCH base=-1"
	produce_is t 5/3/3/1 "p=0 error=NONE base=7"
	stop_logd
	start_logd b
	produce_is t 5/3/3/1 "p=0 error=NONE base=7"
	produce_is t 6/0/5/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is t 6/0/4/1 "p=0 error=NONE base=8"
	produce_is t 5/3/4/1 "p=0 error=NONE base=9"
	run -0 records t-0
	[ "$output" = 10 ]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/t-0"
	[[ $output == *" problems=0" ]]
}

@test "state is rebuilt from the log at open, sequences wrapping past 2147483647" {
	mkdir -p b/w-0
	run -0 kidem mkseg b/w-0/00000000000000000000.log \
	    0:3/0/2147483646/1 1:3/0/2147483647/3 4:4/1/0/2
	start_logd b
	produce_is w 3/0/2/1 "p=0 error=NONE base=6"
	produce_is w 3/0/2147483647/3 "p=0 error=NONE base=1"
	produce_is w 3/0/0/1 "p=0 error=OUT_OF_ORDER_SEQUENCE_NUMBER base=-1"
	produce_is w 4/0/2/1 "p=0 error=INVALID_PRODUCER_EPOCH base=-1"
	produce_is w 4/1/2/1 "p=0 error=NONE base=7"
	run -0 --separate-stderr kc -C -t w -o beginning -e -q -f '%s '
	[ "$output" = "3-2147483646 3-2147483647 3-0 3-1 4-0 4-1 3-2 4-2 " ]
}

@test "beyond 1024 producers in a partition the least recent one is forgotten" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" t 1
	run -0 kidem flood "$LOGD_ADDR" t 100 1025
	[ "$output" = "errors=0" ]
	produce_is t 100/0/1/1 "p=0 error=UNKNOWN_PRODUCER_ID base=-1"
	produce_is t 101/0/1/1 "p=0 error=NONE base=1025"
	produce_is t 1124/0/0/1 "p=0 error=NONE base=1024"
}

@test "producers whose batches retention deleted are forgotten at the next start" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" r 1 segment.bytes=200 retention.bytes=150
	for s in 0 1 2 3; do
		produce_is r "20/0/$s/1" "p=0 error=NONE base=$s"
	done
	for s in 0 1 2 3; do
		produce_is r "21/0/$s/1" "p=0 error=NONE base=$((s + 4))"
	done
	run -0 "$BIN_DIR/logd" ctl -j -d "$LOGD_DIR" retention
	[ "$(jq -c 'select(.topic == "r") | [.log_start_offset,
	    .log_end_offset, .segments]' <<<"$output")" = "[4,8,2]" ]
	stop_logd
	start_logd b
	produce_is r 20/0/4/1 "p=0 error=UNKNOWN_PRODUCER_ID base=-1"
	produce_is r 21/0/4/1 "p=0 error=NONE base=8"
}

@test "kcat with enable.idempotence=true: round trip, batches carry the producer id" {
	start_logd b
	seq 1 3000 | sed 's/^/line-/' >expected
	run -0 kc -P -t k -X enable.idempotence=true -X batch.num.messages=100 \
	    <expected
	run -0 --separate-stderr kc -C -t k -o beginning -e -q -f '%s\n'
	diff -u expected <(printf '%s\n' "$output")
	[ -s "$LOGD_DIR/producer-id-block" ]
	# one producer, epoch 0, sequences without holes from 0
	run -0 bash -c "'$KD' --json '$LOGD_DIR/k-0' | jq -s -c \
	    'map(select(.type == \"batch\")) |
	     [(map(.producer_id) | unique), (map(.producer_epoch) | unique),
	      (.[0].base_sequence),
	      ([range(1; length) as \$i | .[\$i].base_sequence -
	        .[\$i - 1].last_sequence] | unique)]'"
	[ "$output" = "[[0],[0],0,[1]]" ]
}

@test "confluent-kafka with enable.idempotence: every record exactly once, in order" {
	start_logd b
	run -0 kidem create "$LOGD_ADDR" c 4
	write_producer
	run -0 --separate-stderr timeout 120 "$PY" produce.py "$LOGD_ADDR" c 4 40000 200
	[ "$output" = "left=0 failed=0" ]
	check_partitions c 4 10000
	run -0 bash -c "'$KD' --json '$LOGD_DIR' | jq -s -c \
	    'map(select(.type == \"batch\")) |
	     [(map(.producer_id) | unique), (map(.producer_epoch) | unique)]'"
	[ "$output" = "[[0],[0]]" ]
}

@test "confluent-kafka retrying batches whose responses were lost: no duplicates" {
	kidem proxy proxy.addr b.addr --drop-every 7 >proxy.log 2>&1 &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 10000 test -s proxy.addr
	start_logd b -v -a "$(cat proxy.addr)"
	run -0 kidem create "$LOGD_ADDR" c 2
	write_producer
	run -0 --separate-stderr timeout 120 "$PY" produce.py "$(cat proxy.addr)" c 2 6000 50
	[ "$output" = "left=0 failed=0" ]
	check_partitions c 2 3000
	# responses were lost, and the retried batches were not written again
	drops=$(grep -c '^dropped' proxy.log)
	dups=$(grep -c 'duplicate batch from .* acknowledged' "$LOGD_DIR.log")
	echo "drops=$drops dups=$dups"
	[ "$drops" -ge 3 ]
	[ "$dups" -ge "$drops" ]
}
