#!/usr/bin/env bats
# The README's first command: examples/quickstart.sh sets up, starts logd,
# pipes records through kprod and reads them back with kcons.
bats_require_minimum_version 1.5.0
load helpers

teardown() {
	KLOG_DEMO_DIR=$BATS_TEST_TMPDIR/demo "$BATS_TEST_DIRNAME/../examples/quickstart.sh" stop || true
}

@test "quickstart: records piped through kprod come back through kcons" {
	export KLOG_DEMO_DIR=$BATS_TEST_TMPDIR/demo KLOG_PORT=0 KLOG_RECORDS=20000
	run "$BATS_TEST_DIRNAME/../examples/quickstart.sh"
	# Shown when the test fails.
	printf '# %s\n' "${lines[@]}"
	[ "$status" -eq 0 ]
	[[ $output == *"produced 20000 records, read back 20000"* ]]
	[[ $output == *"offset 19999: record 20000"* ]] || [[ $output == *": record 20000"* ]]
	[ -s "$KLOG_DEMO_DIR/logd.pid" ]
	kill -0 "$(cat "$KLOG_DEMO_DIR/logd.pid")"
	run -0 "$BATS_TEST_DIRNAME/../examples/quickstart.sh" stop
	[[ $output == *"logd stopped"* ]]
	[ -f "$KLOG_DEMO_DIR/data/.klog_cleanshutdown" ]
}
