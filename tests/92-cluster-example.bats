#!/usr/bin/env bats
# The README's cluster walkthrough: examples/cluster.sh starts ctrld and
# three brokers with replicad from examples/cluster-3.yaml, produces with
# acks=all and reads back, fails a leader over and stops everything. The
# manifest is the example's with free ports and directories of the test.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	local ports
	ports=($("$PY" -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'))
	export KLOG_MANIFEST=$BATS_TEST_TMPDIR/cluster-3.yaml
	export KLOG_RUN_DIR=$BATS_TEST_TMPDIR/run KLOG_RECORDS=5000
	sed -e "s/9490/${ports[0]}/; s/9491/${ports[1]}/; s/9492/${ports[2]}/" \
	    -e "s/9493/${ports[3]}/" \
	    -e "s|/tmp/klog-cluster3|$BATS_TEST_TMPDIR|" \
	    "$BATS_TEST_DIRNAME/../examples/cluster-3.yaml" >"$KLOG_MANIFEST"
}

teardown() {
	"$BATS_TEST_DIRNAME/../examples/cluster.sh" down || true
}

@test "cluster example: up, failover, down keep every acknowledged record" {
	local ex=$BATS_TEST_DIRNAME/../examples/cluster.sh
	run -0 "$ex" up
	[[ $output == *"produced 5000 records with acks=all, read back 5000"* ]]
	[[ $output == *"healthy: 3 brokers (0 down)"* ]]
	run -0 "$ex" failover
	[[ $output == *"1000 more records acknowledged"* ]]
	[[ $output == *"is back in every ISR"* ]]
	brokers=$("$BIN_DIR/ctrld" status -m "$KLOG_MANIFEST" --json |
	    jq -r '[.brokers[] | "\(.host):\(.port)"] | join(",")')
	run -0 "$BIN_DIR/kcons" -b "$brokers" -t events -e
	[ "${#lines[@]}" -eq 6000 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 6000 ]
	run -0 "$ex" down
	[[ $output == *"stopped"* ]]
	[ ! -e "$KLOG_RUN_DIR/ctrld.pid" ]
}

@test "cluster example: an unknown command exits 64 naming the valid ones" {
	run -64 "$BATS_TEST_DIRNAME/../examples/cluster.sh" bogus
	[[ $output == *"unknown command 'bogus'"*"up, status, failover, down"* ]]
}
