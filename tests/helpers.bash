# SPDX-License-Identifier: MIT
# Shared helpers for every Bats file (`load helpers`): where the programs
# and test tools live, waiting on a condition against a deadline instead of
# sleeping, and small file surgery for corruption tests. Later suites add
# their daemon starters here (start_logd ...), killed by pid in teardown.

BIN_DIR=${BIN_DIR:-$BATS_TEST_DIRNAME/../bin}
TOOLS_DIR=${TOOLS_DIR:-$BATS_TEST_DIRNAME/../build/tools}
FIXTURES=$BATS_TEST_DIRNAME/fixtures

# Milliseconds on a clock that only moves forward within a test.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# wait_for TIMEOUT_MS CMD [ARG...]
# Run CMD until it succeeds, polling every 20 ms, for at most TIMEOUT_MS.
# Returns 0 as soon as CMD succeeds; prints what timed out and returns 1.
wait_for() {
	local timeout=$1 deadline
	shift
	deadline=$(($(now_ms) + timeout))
	until "$@"; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "wait_for: timed out after ${timeout} ms: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# require_tool NAME: skip the test when a helper from tests/tools is not
# built (TESTS_STRICT=1 in CI turns the skip into a failure).
require_tool() {
	[ -x "$TOOLS_DIR/$1" ] || skip "$1 is not built (make tools)"
}

# write_bytes FILE POSITION HEX: overwrite bytes in place ("ff00" = 2 bytes).
write_bytes() {
	local file=$1 pos=$2 hex=$3 esc=
	while [ -n "$hex" ]; do
		esc+="\\x${hex:0:2}"
		hex=${hex:2}
	done
	printf "$esc" | dd of="$file" bs=1 seek="$pos" conv=notrunc status=none
}

# file_size FILE: its size in bytes.
file_size() {
	stat -c %s "$1"
}
