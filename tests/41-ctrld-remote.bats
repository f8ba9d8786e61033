#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# ctrld's remote script (cmd/ctrld/ctrld_remote.sh, docs/ssh-management.md)
# run locally, without SSH, the way ctrld runs it on a host:
# `sh -c SCRIPT klog-remote ACTION ARG...` with HOME a fresh directory.
# probe on an empty home; prepare, copy, commit and switch with fake
# releases (checksums, corrupted uploads, the atomic switch of `current`,
# pruning); start and stop with the real ctrld and logd from a release,
# processes that ignore SIGTERM, exit at once or never listen; logs.
# REMOTE_SH picks the shell (default sh, dash on Debian; the usage test
# also runs the install steps under dash and bash --posix).
bats_require_minimum_version 1.5.0
load helpers

setup() {
	SCRIPT=$(cat "$BATS_TEST_DIRNAME/../cmd/ctrld/ctrld_remote.sh")
	H=$BATS_TEST_TMPDIR/home
	K=$H/klog
	mkdir -p "$H"
	# Not the home directory: the script must cd there itself.
	cd "$BATS_TEST_TMPDIR" || return 1
	make_fake_src src 1.0.0
}

teardown() {
	local f pid
	# Whatever a test left running: every pid file under the test's
	# directory (started through `start`), checked to be one of ours.
	while IFS= read -r f; do
		pid=$(cat "$f")
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		    grep -q "$BATS_TEST_TMPDIR"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done < <(find "$BATS_TEST_TMPDIR" -name '*.pid' 2>/dev/null)
	kill_daemons
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*/*.log \
	    2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*/*.log >&2
		return 1
	fi
}

# remote ACTION ARG...: the script as ctrld runs it on a host.
remote() {
	HOME=$H ${REMOTE_SH:-sh} -c "$SCRIPT" klog-remote "$@"
}

# make_fake_src DIR VERSION: release files with a bin/ctrld that prints
# VERSION, a bin/logd and a manifest, not executable (commit makes bin/*
# executable).
make_fake_src() {
	mkdir -p "$1/bin"
	printf '#!/bin/sh\necho "ctrld %s (fake)"\necho second line\n' "$2" \
	    >"$1/bin/ctrld"
	printf '#!/bin/sh\necho "logd %s (fake)"\n' "$2" >"$1/bin/logd"
	printf 'cluster: fake-%s\n' "$2" >"$1/cluster.yaml"
	chmod 644 "$1/bin/ctrld" "$1/bin/logd"
}

# sums DIR: DIR/SHA256SUMS over every other file, as deploy writes it.
sums() {
	local list
	list=$(cd "$1" && find . -type f ! -name SHA256SUMS -printf '%P\n' |
	    sort | xargs sha256sum) || return 1
	printf '%s\n' "$list" >"$1/SHA256SUMS"
}

# releases: the names in the release directory, space-separated.
releases() {
	(cd "$K/releases" && echo *)
}

# stage REL [SRC]: the upload of release REL, as deploy makes it: prepare,
# SRC's files (default src) in the partial directory, SHA256SUMS.
stage() {
	local rel=$1 src=${2:-src}
	remote prepare klog "$rel" >/dev/null
	cp -R "$src"/. "$K/releases/$rel.partial/"
	sums "$K/releases/$rel.partial"
}

# install_release REL [SRC]: stage and commit (keeping 10).
install_release() {
	stage "$@"
	remote commit klog "$1" 10 >/dev/null
}

# kv KEY: the value of KEY= in $output.
kv() {
	sed -n "s/^$1=//p" <<<"$output"
}

# real_release REL MANIFEST-LINES...: a release with copies of the built
# logd, replicad and ctrld and a cluster manifest: the controller on
# 127.0.0.31:9731 (data dir ctrl), broker 1 on 127.0.0.31:9732 (data dir
# b1), both under the test's directory. Extra lines replace the manifest.
real_release() {
	local rel=$1 p
	shift
	rm -rf real && mkdir -p real/bin
	for p in logd replicad ctrld; do
		cp "$BIN_DIR/$p" real/bin/
	done
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" >real/cluster.yaml
	else
		cat >real/cluster.yaml <<-EOF
		cluster: remote
		controller:
		  host: 127.0.0.31
		  port: 9731
		  data_dir: $BATS_TEST_TMPDIR/ctrl
		brokers:
		  - { id: 1, host: 127.0.0.31, port: 9732, data_dir: $BATS_TEST_TMPDIR/b1 }
		topics:
		  - { name: events, partitions: 1 }
		EOF
	fi
	install_release "$rel" real
}

# fake_daemon FILE MODE: a stand-in for a daemon. MODE listen: writes
# its --addr-file and ignores SIGTERM; quiet: never listens (but stops on
# SIGTERM).
fake_daemon() {
	cat >"$1" <<-'EOF'
	#!/bin/sh
	addr=
	while [ $# -gt 0 ]; do
		case $1 in --addr-file) addr=$2; shift ;; esac
		shift
	done
	echo "fake daemon $$ up"
	EOF
	case $2 in
	listen) cat >>"$1" <<-'EOF'
		trap 'echo "SIGTERM ignored"' TERM
		echo 127.0.0.1:1 >"$addr"
		EOF
		;;
	esac
	echo 'while :; do sleep 0.1; done' >>"$1"
	chmod 755 "$1"
}

# gone PID: the process exited (a zombie nobody reaped counts).
gone() {
	local st
	kill -0 "$1" 2>/dev/null || return 0
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st:0:1}" = Z ]
}

@test "probe: an empty home; a data directory; unknown process kinds" {
	run -0 --separate-stderr remote probe klog "$BATS_TEST_TMPDIR/data" logd replicad
	[ "${lines[0]}" = "release=-" ]
	[ "${lines[1]}" = "releases=" ]
	[ "${lines[2]}" = "version=-" ]
	[ "${lines[3]}" = "logd=stopped" ]
	[ "${lines[4]}" = "replicad=stopped" ]
	[ "${lines[5]}" = "data_dir=missing" ]
	[ "${lines[6]}" = "data_kb=0" ]
	[[ ${lines[7]} =~ ^avail_kb=[0-9]+$ ]]
	[ "${#lines[@]}" -eq 8 ]
	[ -z "$stderr" ]
	[ ! -e "$K" ]

	# A present data directory, a relative one (to HOME), a stale pid file.
	mkdir -p "$H/data"
	head -c 300000 /dev/zero >"$H/data/blob"
	echo 1 >"$H/data/logd.pid"
	run -0 --separate-stderr remote probe klog data logd ctrld
	[ "$(kv logd)" = stopped ]
	[ "$(kv ctrld)" = stopped ]
	[ "$(kv data_dir)" = present ]
	[ "$(kv data_kb)" -ge 290 ]
	[[ $(kv avail_kb) =~ ^[0-9]+$ ]]

	run -1 --separate-stderr remote probe klog data kafka
	[[ $stderr == *"unknown process kind 'kafka'"* ]]
}

@test "usage: unknown actions, wrong argument counts, bad arguments: exit 1" {
	run -1 --separate-stderr remote
	[[ $stderr == "klog-remote: usage: "* ]]
	run -1 --separate-stderr remote frobnicate
	[ "$stderr" = "klog-remote: unknown action 'frobnicate' (probe, prepare, copy, commit, switch, start, stop, logs)" ]
	for args in "probe klog" "prepare klog" "prepare klog r 1" \
	    "commit klog r" "switch klog r 1 2" "start logd klog data 1" \
	    "stop logd data 5" "logs f 10"; do
		# shellcheck disable=SC2086
		run -1 --separate-stderr remote $args
		[[ $stderr == "klog-remote: usage: ${args%% *} "* ]]
		[ -z "$output" ]
	done
	run -1 --separate-stderr remote start kafka klog data 1 5
	[[ $stderr == *"unknown process kind 'kafka'"* ]]
	run -1 --separate-stderr remote stop logd data 5 maybe
	[[ $stderr == *"FORCE must be 0 or 1"* ]]
	run -1 --separate-stderr remote commit klog ../x 3
	[[ $stderr == *"bad release name '../x'"* ]]
	run -1 --separate-stderr remote switch klog r many
	[[ $stderr == *"KEEP must be a whole number"* ]]
	run -1 --separate-stderr remote copy klog r /etc/passwd
	[[ $stderr == *"bad file name '/etc/passwd'"* ]]
	run -1 --separate-stderr remote copy klog r bin/../../x
	[[ $stderr == *"bad file name"* ]]
	# No HOME to go to.
	run -1 --separate-stderr env -u HOME sh -c "$SCRIPT" klog-remote probe klog data
	[[ $stderr == *"cannot enter the home directory"* ]]
}

@test "the install steps under dash and bash --posix" {
	command -v dash >/dev/null || skip "dash is not installed"
	local sh n=0
	for sh in dash "bash --posix"; do
		n=$((n + 1))
		REMOTE_SH=$sh
		make_fake_src "src$n" "$n.0.0"
		install_release "r$n" "src$n"
		run -0 --separate-stderr remote probe klog data logd
		[ "$(kv release)" = "r$n" ]
		[ "$(kv version)" = "ctrld $n.0.0 (fake)" ]
		run -0 --separate-stderr remote prepare klog "r$n"
		[ "${lines[1]}" = complete=1 ]
	done
	[ "$(readlink "$K/current")" = releases/r2 ]
}

@test "prepare, commit: a release installed, current pointing at it" {
	run -0 --separate-stderr remote prepare klog 1.0.0-aaaa
	[[ ${lines[0]} =~ ^avail_kb=[0-9]+$ ]]
	[ "${lines[1]}" = complete=0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ -d "$K/releases/1.0.0-aaaa.partial/bin" ]

	# What is already uploaded comes back with its checksum.
	cp src/bin/logd src/cluster.yaml "$K/releases/1.0.0-aaaa.partial/bin/"
	mv "$K/releases/1.0.0-aaaa.partial/bin/cluster.yaml" "$K/releases/1.0.0-aaaa.partial/"
	run -0 --separate-stderr remote prepare klog 1.0.0-aaaa
	[ "${lines[1]}" = complete=0 ]
	[ "$(printf '%s\n' "${lines[@]:2}" | sort)" = "$(
	    cd src && sha256sum bin/logd cluster.yaml | sort |
	    sed 's/^\([0-9a-f]*\)  /have \1 /')" ]

	cp src/bin/ctrld "$K/releases/1.0.0-aaaa.partial/bin/"
	sums "$K/releases/1.0.0-aaaa.partial"
	run -0 --separate-stderr remote commit klog 1.0.0-aaaa 3
	[ "$output" = release=1.0.0-aaaa ]
	[ -z "$stderr" ]
	[ -L "$K/current" ]
	[ "$(readlink "$K/current")" = releases/1.0.0-aaaa ]
	[ ! -e "$K/releases/1.0.0-aaaa.partial" ]
	[ -x "$K/current/bin/ctrld" ] && [ -x "$K/current/bin/logd" ]
	[ "$(stat -c %a "$K/current/cluster.yaml")" = 644 ]
	cmp src/cluster.yaml "$K/current/cluster.yaml"
	[ -z "$(find "$K" -name 'current.tmp.*')" ]

	run -0 --separate-stderr remote probe klog data logd
	[ "$(kv release)" = 1.0.0-aaaa ]
	[ "$(kv releases)" = 1.0.0-aaaa ]
	[ "$(kv version)" = "ctrld 1.0.0 (fake)" ]

	# Complete: nothing to upload, no partial directory left behind
	# by the check.
	run -0 --separate-stderr remote prepare klog 1.0.0-aaaa
	[ "${lines[1]}" = complete=1 ]
	[ "${#lines[@]}" -eq 2 ]
	[ ! -e "$K/releases/1.0.0-aaaa.partial" ]

	# A new release: current's files come back with their checksums.
	run -0 --separate-stderr remote prepare klog 2.0.0-bbbb
	[ "${lines[1]}" = complete=0 ]
	[ "$(printf '%s\n' "${lines[@]:2}" | sort)" = "$(
	    cd src && sha256sum bin/ctrld bin/logd cluster.yaml | sort |
	    sed 's/^\([0-9a-f]*\)  /current \1 /')" ]

	# A release directory that does not check out is not complete, and
	# commit replaces it.
	echo garbage >>"$K/releases/1.0.0-aaaa/bin/logd"
	run -0 --separate-stderr remote prepare klog 1.0.0-aaaa
	[ "${lines[1]}" = complete=0 ]
	cp -R src/. "$K/releases/1.0.0-aaaa.partial/"
	sums "$K/releases/1.0.0-aaaa.partial"
	run -0 --separate-stderr remote commit klog 1.0.0-aaaa 3
	cmp src/bin/logd "$K/current/bin/logd"

	# An install directory that cannot be made.
	touch "$H/notadir"
	run -1 --separate-stderr remote prepare notadir 1.0.0-aaaa
	[[ $stderr == "cannot create directory notadir/releases: "* ]]
	# Absolute install directories work the same.
	run -0 --separate-stderr remote prepare "$BATS_TEST_TMPDIR/abs" r
	[ -d "$BATS_TEST_TMPDIR/abs/releases/r.partial/bin" ]
}

@test "copy: files current already has, into the upload" {
	install_release r1
	remote prepare klog r2 >/dev/null
	run -0 --separate-stderr remote copy klog r2 bin/ctrld cluster.yaml
	[ -z "$output" ] && [ -z "$stderr" ]
	cmp src/bin/ctrld "$K/releases/r2.partial/bin/ctrld"
	cmp src/cluster.yaml "$K/releases/r2.partial/cluster.yaml"
	# cp -p: the mode comes along.
	[ -x "$K/releases/r2.partial/bin/ctrld" ]
	# Into a directory the upload does not have yet.
	mkdir -p "$K/current/share/doc"
	echo doc >"$K/current/share/doc/README"
	run -0 --separate-stderr remote copy klog r2 share/doc/README
	cmp "$K/current/share/doc/README" "$K/releases/r2.partial/share/doc/README"
	run -1 --separate-stderr remote copy klog r2 bin/nothere
	[[ $stderr == *"cannot copy klog/current/bin/nothere to klog/releases/r2.partial/bin/nothere"* ]]

	# The copies and an uploaded file make a release.
	printf 'changed\n' >"$K/releases/r2.partial/bin/logd"
	sums "$K/releases/r2.partial"
	run -0 --separate-stderr remote commit klog r2 3
	[ "$output" = release=r2 ]
	[ "$(cat "$K/current/bin/logd")" = changed ]
}

@test "commit: a corrupted upload fails naming its files; current stays" {
	install_release r1
	stage r2
	echo corrupt >>"$K/releases/r2.partial/bin/logd"
	truncate -s 3 "$K/releases/r2.partial/cluster.yaml"
	run -1 --separate-stderr remote commit klog r2 3
	[ -z "$output" ]
	[ "$stderr" = "checksums do not match in klog/releases/r2.partial: bin/logd, cluster.yaml; the upload was corrupted or the disk is full" ]
	[ "$(readlink "$K/current")" = releases/r1 ]
	[ -d "$K/releases/r2.partial" ] && [ ! -e "$K/releases/r2" ]

	# A file SHA256SUMS lists but the upload lacks.
	stage r3
	rm "$K/releases/r3.partial/bin/ctrld"
	run -1 --separate-stderr remote commit klog r3 3
	[[ $stderr == *": bin/ctrld; the upload was corrupted or the disk is full" ]]

	# No SHA256SUMS, no upload.
	remote prepare klog r4 >/dev/null
	run -1 --separate-stderr remote commit klog r4 3
	[[ $stderr == *"r4.partial/SHA256SUMS is missing"* ]]
	run -1 --separate-stderr remote commit klog r5 3
	[[ $stderr == *"no upload of release r5"* ]]
	[ "$(readlink "$K/current")" = releases/r1 ]
}

@test "switch: back and forth; KEEP prunes the oldest releases and stale uploads" {
	local r t=1700000000
	for r in r1 r2 r3 r4 r5 r6; do
		install_release "$r"
		t=$((t + 100))
		touch -d "@$t" "$K/releases/$r"
	done
	[ "$(readlink "$K/current")" = releases/r6 ]
	run -0 --separate-stderr remote switch klog r2 10
	[ "$output" = release=r2 ]
	[ "$(readlink "$K/current")" = releases/r2 ]
	[ "$(releases)" = "r1 r2 r3 r4 r5 r6" ]

	# Two stale uploads and the one of the release switched to.
	mkdir "$K/releases/r7.partial" "$K/releases/r2.partial" "$K/releases/r8.partial"
	run -0 --separate-stderr remote switch klog r3 2
	[ "$output" = release=r3 ]
	# r3 and the two newest others (r6, r5), by modification time.
	[ "$(releases)" = "r3 r5 r6" ]
	run -0 --separate-stderr remote probe klog data
	[ "$(kv releases)" = "r3 r5 r6" ]
	[ "$(kv release)" = r3 ]

	mkdir "$K/releases/r3.partial"
	run -0 --separate-stderr remote switch klog r5 0
	[ "$(releases)" = "r5" ]
	run -1 --separate-stderr remote switch klog r3 3
	[ "$stderr" = "release r3 is not in klog/releases" ]
	[ "$(readlink "$K/current")" = releases/r5 ]
	[ -z "$(find "$K" -name 'current.tmp.*')" ]
}

@test "switch: current is replaced atomically, never missing" {
	install_release a
	install_release b
	# A reader that records every moment current does not resolve.
	(
		while [ ! -e stop ]; do
			[ -e "$K/current/cluster.yaml" ] || echo missing >>gaps
		done
	) 3>&- &
	local reader=$! i
	echo "$reader" >>"$BATS_TEST_TMPDIR/.pids"
	for i in $(seq 1 15); do
		remote switch klog a 3 >/dev/null
		remote switch klog b 3 >/dev/null
	done
	touch stop
	wait "$reader"
	[ ! -e gaps ]
	[ "$(readlink "$K/current")" = releases/b ]
}

@test "start and stop the real ctrld and logd; already running; stopped=none" {
	real_release 0.1.0-real
	local c=$BATS_TEST_TMPDIR/ctrl b=$BATS_TEST_TMPDIR/b1 cpid lpid
	run -0 --separate-stderr remote start ctrld klog "$c" - 20
	[[ $output =~ ^started=[0-9]+$ ]]
	[ -z "$stderr" ]
	cpid=$(kv started)
	[ "$(cat "$c/ctrld.pid")" = "$cpid" ]
	[ "$(cat "$c/ctrld.addr")" = 127.0.0.31:9731 ]
	# Through current, not the release it points to; its own session
	# (setsid did not fork: the pid is the daemon's).
	[ "$(tr '\0' ' ' <"/proc/$cpid/cmdline")" = "$K/current/bin/ctrld run -m $K/current/cluster.yaml --addr-file $c/ctrld.addr --log-timestamps " ]
	[ "$(ps -o sid= -p "$cpid" | tr -d ' ')" = "$cpid" ]
	grep -Eq '^[0-9-]+T[0-9:.]+Z ctrld\[[0-9]+\]: ' "$c/ctrld.log"

	run -0 --separate-stderr remote start logd klog "$b" 1 20
	[[ $output =~ ^started=[0-9]+$ ]]
	lpid=$(kv started)
	[ "$(cat "$b/logd.addr")" = 127.0.0.31:9732 ]
	[ "$(tr '\0' ' ' <"/proc/$lpid/cmdline")" = "$K/current/bin/logd -m $K/current/cluster.yaml -i 1 --addr-file $b/logd.addr --log-timestamps " ]

	run -0 --separate-stderr remote probe klog "$b" logd replicad
	[ "$(kv logd)" = "$lpid" ]
	[ "$(kv replicad)" = stopped ]
	[ "$(kv version)" = "ctrld 0.1.0 (klog)" ]
	[ "$(kv data_dir)" = present ]

	run -0 --separate-stderr remote start logd klog "$b" 1 20
	[ "$output" = "already=$lpid" ]
	run -0 --separate-stderr remote start ctrld klog "$c" - 20
	[ "$output" = "already=$cpid" ]

	run -0 --separate-stderr remote stop logd "$b" 20 0
	[ "$output" = "stopped=$lpid" ]
	[ -z "$stderr" ]
	gone "$lpid"
	[ ! -e "$b/logd.pid" ]
	grep -q 'info: stopped' "$b/logd.log"
	run -0 --separate-stderr remote stop logd "$b" 20 0
	[ "$output" = stopped=none ]
	run -0 --separate-stderr remote probe klog "$b" logd
	[ "$(kv logd)" = stopped ]

	# A pid file naming some other process is stale: not that process.
	sleep 60 3>&- &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	echo "$!" >"$b/logd.pid"
	run -0 --separate-stderr remote stop logd "$b" 20 0
	[ "$output" = stopped=none ]
	[ ! -e "$b/logd.pid" ]
	kill -0 "$(tail -n 1 "$BATS_TEST_TMPDIR/.pids")"

	run -0 --separate-stderr remote stop ctrld "$c" 20 1
	[ "$output" = "stopped=$cpid" ]
	gone "$cpid"
}

@test "start replicad: one second alive is started" {
	real_release r
	fake_daemon "$K/releases/r/bin/replicad" quiet
	run -0 --separate-stderr remote start replicad klog data 2 5
	[[ $output =~ ^started=[0-9]+$ ]]
	[[ $(tr '\0' ' ' <"/proc/$(kv started)/cmdline") == *"/current/bin/replicad run -m $K/current/cluster.yaml -i 2 --log-timestamps "* ]]
	[ -f "$H/data/replicad.pid" ]
	run -0 --separate-stderr remote stop replicad data 5 0
	[[ $output =~ ^stopped=[0-9]+$ ]]
}

@test "stop: a process ignoring SIGTERM: not killed without FORCE, killed with it" {
	real_release r
	fake_daemon "$K/releases/r/bin/logd" listen
	local d=$BATS_TEST_TMPDIR/b1 pid
	run -0 --separate-stderr remote start logd klog "$d" 1 10
	pid=$(kv started)
	[ -n "$pid" ]

	run -1 --separate-stderr remote stop logd "$d" 1 0
	[ -z "$output" ]
	[ "$stderr" = "logd pid $pid still running after 1s; not killed (use --force)" ]
	kill -0 "$pid"
	[ "$(cat "$d/logd.pid")" = "$pid" ]
	grep -q 'SIGTERM ignored' "$d/logd.log"

	run -0 --separate-stderr remote stop logd "$d" 1 1
	[ "$output" = "killed=$pid" ]
	gone "$pid"
	[ ! -e "$d/logd.pid" ]
}

@test "start: no klog installed: exit 3" {
	run -3 --separate-stderr remote start logd klog data 1 5
	[ -z "$output" ]
	[ "$stderr" = "no klog installed in $K ($K/current/bin/logd missing); run ctrld deploy" ]
	run -3 --separate-stderr remote start ctrld "$BATS_TEST_TMPDIR/opt" data - 5
	[ "$stderr" = "no klog installed in $BATS_TEST_TMPDIR/opt ($BATS_TEST_TMPDIR/opt/current/bin/ctrld missing); run ctrld deploy" ]
	[ ! -e "$H/data" ]
}

@test "start: a logd that exits at once: exit 1 with its log's last lines" {
	real_release bad "cluster: remote" \
	    "controller: { host: 127.0.0.31, port: nineteen, data_dir: /nonexistent }" \
	    "brokers: [ { id: 1, host: 127.0.0.31, port: 9732, data_dir: /nonexistent } ]"
	local d=$BATS_TEST_TMPDIR/b1
	run -1 --separate-stderr remote start logd klog "$d" 1 10
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "logd exited during start; last lines of $d/logd.log:" ]
	[ "${stderr_lines[1]}" = "logd: error: $K/current/cluster.yaml:2:39: controller.port: expected a whole number, got 'nineteen'" ]
	[ ! -e "$d/logd.pid" ]
	# Only the last 20 lines.
	seq 1 40 >"$d/logd.log"
	run -1 --separate-stderr remote start logd klog "$d" 1 10
	[ "${#stderr_lines[@]}" -eq 21 ]
	[ "$stderr" = "logd exited during start; last lines of $d/logd.log:
$(tail -n 20 "$d/logd.log")" ]

	# An unwritable data directory.
	touch "$BATS_TEST_TMPDIR/file"
	run -1 --separate-stderr remote start logd klog "$BATS_TEST_TMPDIR/file/d" 1 10
	[[ $stderr == "cannot create directory $BATS_TEST_TMPDIR/file/d: "* ]]
}

@test "start: a ctrld that never listens: exit 1 after the timeout, left running" {
	real_release r
	fake_daemon "$K/releases/r/bin/ctrld" quiet
	local d=$BATS_TEST_TMPDIR/ctrl pid
	run -1 --separate-stderr remote start ctrld klog "$d" - 1
	[ -z "$output" ]
	pid=$(cat "$d/ctrld.pid")
	[ "$stderr" = "ctrld pid $pid not listening after 1s; see $d/ctrld.log" ]
	kill -0 "$pid"
	run -0 --separate-stderr remote stop ctrld "$d" 5 0
	[ "$output" = "stopped=$pid" ]
}

@test "logs: the last lines, following, a missing log" {
	mkdir -p "$H/data"
	seq 1 10 >"$H/data/logd.log"
	run -0 --separate-stderr remote logs data/logd.log 3 0
	[ "$output" = "$(printf '8\n9\n10')" ]
	run -0 --separate-stderr remote logs "$H/data/logd.log" 1 0
	[ "$output" = 10 ]

	# Not through a function: $! must be tail's pid (the script execs it).
	HOME=$H sh -c "$SCRIPT" klog-remote logs data/logd.log 2 1 \
	    >follow.out 2>&1 3>&- &
	echo "$!" >>"$BATS_TEST_TMPDIR/.pids"
	wait_for 5000 grep -qx 10 follow.out
	echo eleven >>"$H/data/logd.log"
	wait_for 5000 grep -qx eleven follow.out
	[ "$(head -n 1 follow.out)" = 9 ]

	run -1 --separate-stderr remote logs data/replicad.log 10 0
	[ "$stderr" = "no log data/replicad.log" ]
	[ -z "$output" ]
}
