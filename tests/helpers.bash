# SPDX-License-Identifier: MIT
# Shared helpers for every Bats file (`load helpers`): where the programs
# and test tools live, waiting on a condition against a deadline instead of
# sleeping, and small file surgery for corruption tests. Later suites add
# their daemon starters here (start_logd ...), killed by pid in teardown,
# and the client wrappers several suites share (kc, kp, ck, lg).

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

# Debian's Python, which has python3-kafka and python3-confluent-kafka
# (a pyenv python3 earlier in PATH would not).
PY=${PY:-/usr/bin/python3}

# start_logd NAME [LOGD ARGS...]
# Start a logd with data directory $BATS_TEST_TMPDIR/NAME on a free
# loopback port, wait until it listens, and set LOGD_ADDR, LOGD_PID and
# LOGD_DIR (and LOGD_ADDR_<NAME>, LOGD_PID_<NAME> for several brokers).
# Its log goes to $BATS_TEST_TMPDIR/NAME.log. Extra arguments go to logd.
start_logd() {
	local name=$1 dir
	shift
	dir=$BATS_TEST_TMPDIR/$name
	mkdir -p "$dir"
	rm -f "$dir.addr"
	"$BIN_DIR/logd" -d "$dir" -l 127.0.0.1:0 --addr-file "$dir.addr" \
	    -o shutdown.timeout.ms=5000 "$@" >>"$dir.log" 2>&1 &
	LOGD_PID=$!
	LOGD_DIR=$dir
	echo "$LOGD_PID" >>"$BATS_TEST_TMPDIR/.pids"
	if ! wait_for 10000 test -s "$dir.addr"; then
		echo "logd '$name' did not start; its log:" >&2
		cat "$dir.log" >&2
		return 1
	fi
	LOGD_ADDR=$(cat "$dir.addr")
	printf -v "LOGD_ADDR_$name" %s "$LOGD_ADDR"
	printf -v "LOGD_PID_$name" %s "$LOGD_PID"
}

# stop_logd [PID]: SIGTERM and wait for the exit; returns logd's status.
stop_logd() {
	local pid=${1:-$LOGD_PID}
	kill -TERM "$pid" 2>/dev/null || return 0
	wait "$pid"
}

# kill_daemons: for teardown(); kills every daemon a test started.
kill_daemons() {
	local pid
	[ -f "$BATS_TEST_TMPDIR/.pids" ] || return 0
	while read -r pid; do
		kill -KILL "$pid" 2>/dev/null || true
		# Reap it here so bash prints no "Killed" job message.
		wait "$pid" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/.pids"
	rm -f "$BATS_TEST_TMPDIR/.pids"
}

# no_sanitizer_reports: for teardown(); fails when a daemon's log in the
# test's directory holds an ASan, LSan, TSan or UBSan report (they only
# appear with sanitizer builds, such as make check-asan's).
no_sanitizer_reports() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.log; do
		[ -f "$f" ] || continue
		if grep -E -q 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			return 1
		fi
	done
}

# kc ARGS...: kcat against this test's broker (LOGD_ADDR), bounded in
# time: KC_TIMEOUT seconds (30 unless a suite sets it).
kc() {
	timeout "${KC_TIMEOUT:-30}" kcat -b "$LOGD_ADDR" "$@"
}

# kp / ck SUBCOMMAND ARGS...: the kafka-python and confluent-kafka drivers
# (tests/tools/kafka_py.py, confluent_py.py), bounded in time.
kp() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/kafka_py.py" "$@"
}

ck() {
	timeout 60 "$PY" "$BATS_TEST_DIRNAME/tools/confluent_py.py" "$@"
}

# lg ARGS...: logd runs that must exit by themselves (-n, refusals).
lg() {
	timeout 10 "$BIN_DIR/logd" "$@"
}
