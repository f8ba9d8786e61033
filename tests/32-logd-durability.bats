#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What logd writes and syncs at start and on flush: a restart leaves the
# leader-epoch checkpoints of empty partitions alone, the open file limit
# is raised to the hard limit (or a low one is warned about), and a flush
# syncs the .log only: after kill -9 with flush.messages=1 nothing
# acknowledged is lost and a stale active index is rebuilt from the log;
# a roll leaves the sync of the old segment to the flusher thread and the
# recovery point follows it.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	KD=$BIN_DIR/kdump-segment
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	kill_daemons
	no_sanitizer_reports
}

kclient() {
	"$PY" "$BATS_TEST_DIRNAME/tools/kclient.py" "$@"
}

wait_logd_exit() {
	LOGD_RC=0
	wait "$LOGD_PID" || LOGD_RC=$?
}

# epoch_files DIR: inode, mtime (ns) and content of every partition's
# leader-epoch-checkpoint under the data directory DIR.
epoch_files() {
	local f
	for f in "$1"/*-*/leader-epoch-checkpoint; do
		printf '%s %s %s\n' "$f" "$(stat -c '%i %.9Y' "$f")" \
		    "$(tr '\n' , <"$f")"
	done
}

# nofile_bin ULIMIT-ARGS...: a logd wrapper under `ulimit ARGS`; echoes
# the directory to use as BIN_DIR.
nofile_bin() {
	local wrap=$BATS_TEST_TMPDIR/nofile-bin
	mkdir -p "$wrap"
	printf '#!/bin/bash\nulimit %s || exit 71\nexec %q "$@"\n' "$*" \
	    "$BIN_DIR/logd" >"$wrap/logd"
	chmod +x "$wrap/logd"
	echo "$wrap"
}

# soft_hard PID: the soft and hard open file limits of PID.
soft_hard() {
	awk '/^Max open files/ { print $4, $5 }' "/proc/$1/limits"
}

@test "restarts leave the leader-epoch checkpoints of empty partitions unwritten" {
	start_logd e
	run -0 kclient create "$LOGD_ADDR" empty 40
	run -0 kcat -b "$LOGD_ADDR" -P -t full -p 0 -m 5 < <(seq 1 10)
	stop_logd
	run -0 epoch_files "$LOGD_DIR"
	before=$output
	[ "${#lines[@]}" -eq 41 ]
	[[ ${lines[0]} == *" 0,1,0 0," ]]
	sleep 0.05	# a rewrite would get a later mtime even on coarse clocks

	start_logd e
	run -0 epoch_files "$LOGD_DIR"
	[ "$output" = "$before" ]
	# An unclean start (recovery) does not write them either.
	kill -KILL "$LOGD_PID"
	wait_logd_exit
	start_logd e
	run -0 epoch_files "$LOGD_DIR"
	[ "$output" = "$before" ]
	run -0 kcat -b "$LOGD_ADDR" -P -t empty -p 7 -m 5 <<<"x"
	run -0 kcat -b "$LOGD_ADDR" -Q -t empty:7:-1 -m 5
	[ "$output" = "empty [7] offset 1" ]
	stop_logd
	run -0 cat "$LOGD_DIR/empty-7/leader-epoch-checkpoint"
	[ "$output" = "$(printf '0\n1\n0 0')" ]
}

@test "the open file limit is raised to the hard limit: 200 partitions under ulimit -Sn 256" {
	local hard wrap
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] && [ "$hard" -ge 1024 ] ||
	    skip "hard open file limit $hard: not between 1024 and unlimited"
	wrap=$(nofile_bin -Sn 256)
	BIN_DIR=$wrap start_logd n
	run -0 soft_hard "$LOGD_PID"
	[ "$output" = "$hard $hard" ]
	run -0 grep -F "info: open file limit raised to $hard (was 256)" n.log
	run -0 kclient create "$LOGD_ADDR" many 200
	run -0 kcat -b "$LOGD_ADDR" -P -t many -p 199 -m 5 <<<"last"
	stop_logd

	BIN_DIR=$wrap start_logd n
	[ "$(find "/proc/$LOGD_PID/fd" -mindepth 1 | wc -l)" -gt 600 ]
	run -0 kcat -b "$LOGD_ADDR" -C -t many -p 199 -o beginning -e -q -m 5
	[ "$output" = last ]
	run -1 grep -F "is low for" n.log
	stop_logd
}

@test "a hard open file limit too low for the partitions found is warned about" {
	local wrap
	wrap=$(nofile_bin -n 256)
	BIN_DIR=$wrap start_logd low
	run -0 grep -F "info: open file limit: 256" low.log
	run -0 kclient create "$LOGD_ADDR" some 60
	stop_logd
	BIN_DIR=$wrap start_logd low
	run -0 grep -F "warning: open file limit 256 is low for 60 partitions (3 open files each)" low.log
	[[ $output == *"at least $((60 * 3 + 256))" ]]
	stop_logd
}

@test "kill -9 after flush.messages=1 appends: nothing lost, a stale index rebuilt" {
	local idx=00000000000000000000.index tidx=00000000000000000000.timeindex
	start_logd d -o log.flush.interval.messages=1
	run -0 kclient create "$LOGD_ADDR" d 1
	# Batches of one record above index.interval.bytes (4096): every
	# batch after the first gets an index entry.
	run -0 kclient produce "$LOGD_ADDR" d hist --count 200 --sync --size 5000
	[ "$output" = "acked 200 failed 0 sent 200 first_error none" ]
	# The active index is preallocated: 199 entries, then zeros.
	cp "$LOGD_DIR/d-0/$idx" good.index
	run -0 cmp -n 8 -i 1592:0 good.index /dev/zero
	kill -KILL "$LOGD_PID"
	wait_logd_exit
	[ "$LOGD_RC" -eq 137 ]
	# A power loss could leave the indexes as of an earlier sync: keep 10
	# offset entries and zero the rest, and zero the time index.
	dd if=/dev/zero of="$LOGD_DIR/d-0/$idx" bs=8 seek=10 count=190 \
	    conv=notrunc status=none
	dd if=/dev/zero of="$LOGD_DIR/d-0/$tidx" bs=12 count=200 \
	    conv=notrunc status=none

	start_logd d
	run -0 grep -F "recovered topic=d partition=0: 1 segments validated, 1 indexes rebuilt" d.log
	kcat -b "$LOGD_ADDR" -C -t d -o beginning -e -q -m 10 -f '%p %o %s\n' >readback
	run -0 --separate-stderr kclient check readback hist
	[[ $output == "acked 200 read 200 "* ]]
	# Lookups by offset go through the rebuilt index.
	run -0 kcat -b "$LOGD_ADDR" -C -t d -o 150 -c 1 -e -q -m 10 -f '%o\n'
	[ "$output" = 150 ]
	stop_logd
	# The clean stop trimmed the rebuilt index: the very entries lost.
	[ "$(file_size "$LOGD_DIR/d-0/$idx")" -eq 1592 ]
	run -0 cmp -n 1592 "$LOGD_DIR/d-0/$idx" good.index
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/d-0"
	[[ $output == *" problems=0" ]]
}

@test "rolls sync on the flusher thread: the recovery point follows, kill -9 loses nothing" {
	local last rp
	start_logd d -o log.segment.bytes=65536
	run -0 kclient create "$LOGD_ADDR" d 1
	# 200 batches of one 5,000-byte record: a roll every 13 batches.
	run -0 kclient produce "$LOGD_ADDR" d hist --count 200 --sync --size 5000
	[ "$output" = "acked 200 failed 0 sent 200 first_error none" ]
	last=$(cd "$LOGD_DIR/d-0" && ls *.log | tail -1)
	last=$((10#${last%.log}))
	[ "$last" -gt 150 ]
	# The last roll's sync finishes on its own: the recovery point
	# reaches the active segment's base (nothing asked for a flush).
	recovery_point() {
		timeout 30 "$BIN_DIR/logd" ctl -j -d "$LOGD_DIR" topics |
		    jq -r 'select(.topic == "d") | .recovery_point'
	}
	recovery_point_is() { [ "$(recovery_point)" = "$1" ]; }
	wait_for 10000 recovery_point_is "$last" || {
		echo "recovery point $(recovery_point), active segment at $last" >&2
		return 1
	}
	kill -KILL "$LOGD_PID"
	wait_logd_exit
	[ "$LOGD_RC" -eq 137 ]
	start_logd d
	run -0 grep -F "recovered topic=d partition=0:" d.log
	kcat -b "$LOGD_ADDR" -C -t d -o beginning -e -q -m 10 -f '%p %o %s\n' >readback
	run -0 --separate-stderr kclient check readback hist
	[[ $output == "acked 200 read 200 "* ]]
	run -0 --separate-stderr "$KD" -C "$LOGD_DIR/d-0"
	[[ $output == *" problems=0" ]]
}

@test "a roll never waits for the disk on the event loop: each rolled segment is synced once, by the flusher thread" {
	local wrap=$BATS_TEST_TMPDIR/strace-bin main base f n_main n_other
	mkdir -p "$wrap"
	# LeakSanitizer cannot run under ptrace (it aborts at exit): an ASan
	# logd skips the leak check here; the other tests keep it.
	printf '#!/bin/bash\nexport ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\nexec strace -f -qq -y -e trace=fdatasync -o %q %q "$@"\n' \
	    "$BATS_TEST_TMPDIR/syncs" "$BIN_DIR/logd" >"$wrap/logd"
	chmod +x "$wrap/logd"
	BIN_DIR=$wrap start_logd d -o log.segment.bytes=65536
	main=$(pgrep -P "$LOGD_PID" -x logd)
	[ -n "$main" ]
	# A killed strace leaves logd running: teardown kills it too.
	echo "$main" >>"$BATS_TEST_TMPDIR/.pids"
	run -0 kclient create "$LOGD_ADDR" d 1
	run -0 kclient produce "$LOGD_ADDR" d hist --count 200 --sync --size 5000
	[ "$output" = "acked 200 failed 0 sent 200 first_error none" ]
	rolled() { ls "$LOGD_DIR/d-0" | grep '\.log$' | sed '$d'; }
	[ "$(rolled | wc -l)" -gt 10 ]
	synced_by_flusher() {
		local f
		for f in $(rolled); do
			grep -Eq "^[0-9]+ +fdatasync\([0-9]+<.*/d-0/$f>\) = 0" \
			    "$BATS_TEST_TMPDIR/syncs" || return 1
		done
	}
	wait_for 10000 synced_by_flusher
	# strace blocks SIGTERM: stop logd itself; strace ends with it.
	kill -TERM "$main"
	wait "$LOGD_PID"
	# The loop (thread id = process id) synced no rolled segment; the
	# flusher synced each exactly once.
	for f in $(rolled); do
		n_main=$(grep -Ec "^$main +fdatasync\([0-9]+<.*/d-0/$f>\)" \
		    "$BATS_TEST_TMPDIR/syncs" || true)
		n_other=$(grep -E "fdatasync\([0-9]+<.*/d-0/$f>\)" \
		    "$BATS_TEST_TMPDIR/syncs" | grep -Evc "^$main +" || true)
		[ "$n_main" -eq 0 ] && [ "$n_other" -eq 1 ] || {
			echo "$f: $n_main syncs on the loop, $n_other on other threads" >&2
			grep -F "$f" "$BATS_TEST_TMPDIR/syncs" >&2
			return 1
		}
	done
}
