#!/usr/bin/env bats
# kprod and kcons together in the pipelines operators write, and kcons
# reading what another Kafka client produced.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	kill_daemons
}

@test "seq 1 1000000 | kprod, then kcons -e | sort -n equals the input" {
	start_logd b -o num.partitions=3
	export KLOG_BROKERS=$LOGD_ADDR
	seq 1 1000000 >in.txt
	run -0 "$BIN_DIR/kprod" -t numbers -z lz4 in.txt
	"$BIN_DIR/kcons" -t numbers -e | sort -n >out.txt
	cmp in.txt out.txt
	# Spread over all three partitions, each in the order produced.
	run -0 "$BIN_DIR/kcons" -t numbers -e -f '%p\n'
	[ "$(sort -u <<<"$output" | tr '\n' ' ')" = "0 1 2 " ]
	for p in 0 1 2; do
		"$BIN_DIR/kcons" -t numbers -p "$p" -e >part.txt
		sort -n -c part.txt
	done
}

@test "kafka-python producer -> kcons: keys, values, headers and partitions as sent" {
	start_logd b
	run -0 "$PY" - "$LOGD_ADDR" <<'PYEOF'
import sys
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
b = sys.argv[1]
KafkaAdminClient(bootstrap_servers=b).create_topics([NewTopic('py', 2, 1)])
p = KafkaProducer(bootstrap_servers=b, compression_type='gzip')
for i in range(100):
    p.send('py', key=b'k%d' % i, value=b'v%d' % i, partition=i % 2,
           headers=[('n', str(i).encode())])
p.flush()
PYEOF
	run -0 "$BIN_DIR/kcons" -b "$LOGD_ADDR" -t py -e -J
	[ "${#lines[@]}" -eq 100 ]
	run -0 "$PY" -c '
import json, sys
seen = {}
for line in sys.stdin:
    r = json.loads(line)
    i = int(r["value"][1:])
    assert r["key"] == "k%d" % i, r
    assert r["partition"] == i % 2, r
    assert r["headers"] == [{"key": "n", "value": str(i)}], r
    seen[i] = r["offset"]
assert sorted(seen) == list(range(100)), sorted(seen)
print("ok")' <<<"$output"
	[ "$output" = ok ]
}
