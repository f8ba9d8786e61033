#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# ctrld's SSH host commands (docs/ssh-management.md) end to end, against a
# real OpenSSH server (tests/sshd.bash) listening on 127.0.0.11, .12 and
# .13, the three "hosts" of a three-broker cluster (all on this machine,
# each broker with its own install_dir). In order, on one cluster: deploy
# (a release per content, byte-identical programs, nothing uploaded twice,
# a changed manifest makes a new release), up (controller, then brokers;
# healthy), produce and consume through the brokers it started, hosts
# (table and JSON), logs (last lines, -f until a signal), a rolling
# restart under an acks=all producer (no acknowledged record lost), down.
# Then the refusals: a key sshd does not accept, an unknown and a changed
# host key (and --accept-new-host-keys), sshd stopped, one host of three
# unreachable, a host without klog, a bad manifest, usage errors.
#
# The tests of the first part build on each other's cluster, but each
# brings it to the state it needs (cluster_up) so that any one of them can
# run alone (bats -f).
bats_require_minimum_version 1.5.0
load helpers
load sshd

setup_file() {
	[ -x "${SSHD_BIN:-/usr/sbin/sshd}" ] || return 0
	sshd_start
	sshd_known_hosts
	export M=$SSHT/cluster.yaml
	SSHM_TOPICS=$(cat <<-EOF
	  - name: events
	    partitions: 3
	    replication_factor: 3
	    configs: {min.insync.replicas: 2}
	  - name: ordered
	    partitions: 1
	    replication_factor: 3
	    configs: {min.insync.replicas: 2}
	EOF
	) sshm_manifest "$M"
}

teardown_file() {
	local f bad=0
	[ -x "${SSHD_BIN:-/usr/sbin/sshd}" ] || return 0
	sshd_teardown
	# A sanitizer build (make check-asan deploys build-asan/bin) reports
	# into the daemons' logs on the hosts.
	for f in "$SSHT"/cluster/*/{logd,replicad,ctrld}.log; do
		[ -f "$f" ] || continue
		if grep -E -q 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	return $bad
}

setup() {
	[ -x "${SSHD_BIN:-/usr/sbin/sshd}" ] ||
	    skip "openssh-server is not installed (/usr/sbin/sshd)"
	CTRLD=$BIN_DIR/ctrld
	KCHAOS_PY=$BATS_TEST_DIRNAME/tools/kchaos.py
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	local pid dir
	# Clients a test left in the background (still in this test's
	# directory: never a process that reused the pid).
	dir=$(realpath "$BATS_TEST_TMPDIR")
	if [ -f "$BATS_TEST_TMPDIR/.client-pids" ]; then
		while read -r pid; do
			[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] ||
			    continue
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/.client-pids"
		rm -f "$BATS_TEST_TMPDIR/.client-pids"
	fi
	# A test that stopped sshd and failed before starting it again.
	if [ -x "${SSHD_BIN:-/usr/sbin/sshd}" ] && [ -z "$(sshd_pid)" ]; then
		sshd_start
	fi
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
		show_logs
	fi
}

# show_logs: the end of sshd's log and of every daemon's log (stderr).
show_logs() {
	local f
	for f in "$SSHD_LOG" "$SSHT"/cluster/*/{logd,replicad,ctrld}.log; do
		[ -s "$f" ] || continue
		echo "----- $f (last 20 lines)" >&2
		tail -n 20 "$f" >&2
	done
}

# client PID: a background client for teardown to kill if need be.
client() {
	echo "$1" >>"$BATS_TEST_TMPDIR/.client-pids"
}

# c ARGS...: ctrld, bounded in time.
c() {
	timeout "${C_TIMEOUT:-120}" "$CTRLD" "$@"
}

# ------------------------------------------------------------------
# What the hosts hold

# install_dir_of ID: broker ID's install_dir ("ctl": the controller's).
install_dir_of() {
	local v="SSHM_INSTALL_$1"
	[ "$1" = ctl ] && v=SSHM_CTRL_INSTALL
	echo "${!v}"
}

# data_dir_of ID: broker ID's data_dir ("ctl": the controller's).
data_dir_of() {
	local v="SSHM_DATA_$1"
	[ "$1" = ctl ] && v=SSHM_CTRL_DATA
	echo "${!v}"
}

# release_of ID: the release INSTALL/current points at ("" when none).
release_of() {
	local l
	l=$(readlink "$(install_dir_of "$1")/current" 2>/dev/null) || return 0
	echo "${l##*/}"
}

# pid_of KIND ID: the pid of a running KIND (logd, replicad, ctrld) of
# broker ID or of the controller ("ctl"), from its pid file.
pid_of() {
	sshm_pid "$1" "$(data_dir_of "$2")"
}

# all_pids: "KIND ID PID" of every process the manifest has (PID "-" for
# one not running).
all_pids() {
	local i k p
	for i in 1 2 3; do
		for k in logd replicad; do
			p=$(pid_of "$k" "$i")
			echo "$k $i ${p:--}"
		done
	done
	p=$(pid_of ctrld ctl)
	echo "ctrld ctl ${p:--}"
}

# not_running PID: no such process, or a zombie.
not_running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	[ "${s:0:1}" = Z ]
}

# start_ticks PID: when the process started (clock ticks since boot).
start_ticks() {
	local s
	s=$(cat "/proc/$1/stat") || return 1
	s=${s##*) }
	read -r -a s <<<"$s"
	# Field 22 of stat(5), the 20th after the command name.
	echo "${s[19]}"
}

# healthy: `ctrld status` says every broker up, nothing under-replicated.
healthy() {
	timeout 15 "$CTRLD" status -q -t 5s -m "$M" >/dev/null 2>&1
}

# cluster_up: the cluster deployed (the current manifest) and running,
# and healthy, whatever the tests before left.
cluster_up() {
	local out
	if ! out=$(c deploy -m "$M" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
	if ! out=$(c up -m "$M" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
	wait_for 60000 healthy
}

# row TARGET: the summary row of TARGET ("broker 1", "controller") among
# the lines of the last `run`, with runs of spaces squeezed to one.
row() {
	printf '%s\n' "${lines[@]}" | tr -s ' ' | grep -E "^$1 " | head -n 1
}

# ------------------------------------------------------------------
# The cluster's life

@test "deploy: a release per content on every host, byte-identical programs, nothing uploaded twice, a new release for a changed manifest" {
	local i r rel rel2 inode l p
	run -0 --separate-stderr c deploy -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	[[ ${lines[0]} =~ ^TARGET\ +HOST\ +RESULT\ +DETAIL$ ]]
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok release "*": "[1-9]*" uploaded"* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 ok release "* ]]
	[ "${lines[-1]}" = "deploy: 4 targets: 4 ok, 0 failed, 0 unreachable" ]
	# Progress on stderr, prefixed with the target.
	[[ $stderr == *"[broker 2 127.0.0.12] "* ]]
	[[ $stderr == *"[controller 127.0.0.11] "* ]]

	rel=$(release_of 1)
	[[ $rel =~ ^[^/]+-[0-9a-f]{12}$ ]]
	for i in 1 2 3 ctl; do
		r=$(install_dir_of "$i")
		[ -L "$r/current" ]
		[ "$(readlink "$r/current")" = "releases/$rel" ]
		# The same programs and manifest: the same release everywhere.
		[ "$(release_of "$i")" = "$rel" ]
		for p in logd replicad ctrld kprod kcons kgroups kdump-segment; do
			cmp "$BIN_DIR/$p" "$r/current/bin/$p"
			[ -x "$r/current/bin/$p" ]
		done
		cmp "$M" "$r/current/cluster.yaml"
		(cd "$r/current" && sha256sum -c --quiet SHA256SUMS)
		[ ! -e "$r/releases/$rel.partial" ]
	done
	# The name: version, then the first 12 hex digits of the SHA-256 of
	# SHA256SUMS.
	r=$(install_dir_of 1)/current
	[ "${rel##*-}" = "$(sha256sum "$r/SHA256SUMS" | cut -c1-12)" ]
	[[ $("$CTRLD" -V) == *"${rel%-*}"* ]]
	inode=$(stat -c '%i %Y' "$r/bin/logd")

	# Again: nothing to upload, nothing rewritten.
	run -0 --separate-stderr c deploy -m "$M"
	for i in 1 2 3; do
		l=$(row "broker $i")
		[[ $l == "broker $i 127.0.0.1$i ok "* ]]
		[[ $l =~ release\ $rel:.*[^0-9]0\ uploaded ]]
	done
	[[ $(row controller) =~ release\ $rel:.*[^0-9]0\ uploaded ]]
	[ "$(stat -c '%i %Y' "$r/bin/logd")" = "$inode" ]

	# A new topic: a new release; the programs are copied on the host
	# from the current release (cp -p keeps their time), only the
	# manifest and SHA256SUMS travel.
	cat >>"$M" <<-EOF
	  - name: extra
	    partitions: 1
	    replication_factor: 3
	EOF
	run -0 --separate-stderr c deploy -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	rel2=$(release_of 1)
	[[ $rel2 =~ ^[^/]+-[0-9a-f]{12}$ ]]
	[ "$rel2" != "$rel" ]
	for i in 1 2 3 ctl; do
		r=$(install_dir_of "$i")
		[ "$(release_of "$i")" = "$rel2" ]
		cmp "$M" "$r/current/cluster.yaml"
		cmp "$BIN_DIR/logd" "$r/current/bin/logd"
		# The old release is kept.
		[ -d "$r/releases/$rel" ]
		[ "$(stat -c %Y "$r/releases/$rel/bin/logd")" = \
		    "$(stat -c %Y "$r/current/bin/logd")" ]
	done
	for i in 1 2 3; do
		[[ $(row "broker $i") =~ release\ $rel2:\ 1\ uploaded.*\ 7\ copied ]]
	done
}

@test "up: the controller, then the brokers; healthy; up again: already running" {
	local i k pid ctl out first again
	c deploy -m "$M" >/dev/null 2>&1
	# Run alone after the others: from nothing.
	[ "$(all_pids | grep -vc ' -$')" = 0 ] || c down -m "$M" >/dev/null 2>&1
	run -0 --separate-stderr c up -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	first=("${lines[@]}")
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok "* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 ok "* ]]
	[ "${lines[-1]}" = "up: 4 targets: 4 ok, 0 failed, 0 unreachable" ]

	ctl=$(pid_of ctrld ctl)
	[ -n "$ctl" ]
	[[ $(row controller) == *"$ctl"* ]]
	for i in 1 2 3; do
		for k in logd replicad; do
			pid=$(pid_of "$k" "$i")
			[ -n "$pid" ]
			[[ $(row "broker $i") == *"$pid"* ]]
			# Run from the current release, with its manifest.
			[ "$(readlink "/proc/$pid/exe")" = \
			    "$(realpath "$(install_dir_of "$i")/current/bin/$k")" ]
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "current/cluster.yaml"
			# The controller started first.
			[ "$(start_ticks "$ctl")" -le "$(start_ticks "$pid")" ]
		done
		[ -s "$(data_dir_of "$i")/logd.log" ]
	done
	wait_for 30000 healthy

	run -0 --separate-stderr c up -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	again=("${lines[@]}")
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok "*"already running"* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 ok "*"$ctl"* ]]
	[[ $(row controller) == *"already running"* ]]
	# Nothing restarted.
	[ "$(pid_of ctrld ctl)" = "$ctl" ]
	[ "$(all_pids | grep -c ' -$')" = 0 ]

	# The DETAIL texts of docs/ssh-management.md's example.
	lines=("${first[@]}")
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok logd pid $(pid_of logd "$i") started, replicad pid $(pid_of replicad "$i") started" ]]
	done
	lines=("${again[@]}")
	[ "$(row controller)" = "controller 127.0.0.11 ok ctrld pid $ctl already running" ]
}

@test "produce and consume through the brokers ctrld started: every record back once, in order" {
	cluster_up
	run -0 --separate-stderr bash -c "seq 1 2000 | timeout 60 '$BIN_DIR/kprod' -q -b '$SSHM_BROKERS' -t ordered"
	run -0 --separate-stderr timeout 60 "$BIN_DIR/kcons" -q -b "$SSHM_BROKERS" -t ordered -o beginning -e
	[ "$output" = "$(seq 1 2000)" ]
	# Three partitions: each value once; in order within a partition.
	run -0 --separate-stderr bash -c "seq 1 3000 | timeout 60 '$BIN_DIR/kprod' -q -b '$SSHM_BROKERS' -t events -P roundrobin"
	timeout 60 "$BIN_DIR/kcons" -q -b "$SSHM_BROKERS" -t events -o beginning -e \
	    -f '%p %o %s\n' >events.txt
	[ "$(cut -d' ' -f3 events.txt | sort -n)" = "$(seq 1 3000)" ]
	run -0 awk '{ if (($1 in last) && ($3 <= last[$1] || $2 <= off[$1])) bad++;
	    last[$1] = $3; off[$1] = $2 } END { print bad + 0, length(last) }' events.txt
	[ "$output" = "0 3" ]
}

@test "hosts: the table and --json: reachable, release, processes with pids, data size" {
	local i rel js
	cluster_up
	rel=$(release_of 1)
	run -0 --separate-stderr c hosts -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	[[ ${lines[0]} =~ ^TARGET\ +HOST\ +REACHABLE\ +RELEASE\ +PROCESSES\ +DATA\ +FREE$ ]]
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i yes $rel logd $(pid_of logd "$i"), replicad $(pid_of replicad "$i") "* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 yes $rel ctrld $(pid_of ctrld ctl) "* ]]
	[ "${lines[-1]}" = "hosts: 4 targets: 4 ok, 0 failed, 0 unreachable" ]

	run -0 --separate-stderr c hosts -m "$M" --json
	js=$output
	echo "# $(jq -c '.targets[0]' <<<"$js")" >&3
	for i in 1 2 3; do
		run -0 jq -e --argjson id "$i" --arg rel "$rel" \
		    --argjson logd "$(pid_of logd "$i")" \
		    --argjson rd "$(pid_of replicad "$i")" '
		    [.targets[] | select(.broker_id == $id)] | length == 1 and
		    (.[0] | .reachable == true and .release == $rel and
		     (.releases | index($rel) != null) and
		     .processes == {logd: $logd, replicad: $rd} and
		     .data_dir_exists == true and .data_bytes > 0 and
		     .free_bytes > 0)' <<<"$js"
	done
	run -0 jq -e --arg rel "$rel" --argjson pid "$(pid_of ctrld ctl)" '
	    [.targets[] | select(.target == "controller")] | length == 1 and
	    (.[0] | .broker_id == null and .reachable == true and
	     .release == $rel and .processes == {ctrld: $pid} and
	     .data_bytes > 0)' <<<"$js"
	run -0 jq -e '.summary == {targets: 4, reachable: 4, unreachable: 0}' <<<"$js"
}

@test "logs: the last lines; -f follows until SIGTERM or SIGINT" {
	local pid st marker sig
	cluster_up
	[ "$(wc -l <"$(data_dir_of 1)/logd.log")" -ge 5 ]
	run -0 --separate-stderr c logs -m "$M" -b 1 -n 5
	[ "${#lines[@]}" -eq 5 ]
	for l in "${lines[@]}"; do
		grep -qxF -- "$l" "$(data_dir_of 1)/logd.log"
	done
	run -0 --separate-stderr c logs -m "$M" -b 2 --process replicad -n 3
	[ "${#lines[@]}" -ge 1 ]
	grep -qxF -- "${lines[-1]}" "$(data_dir_of 2)/replicad.log"
	run -0 --separate-stderr c logs -m "$M" --process ctrld -n 2
	grep -qxF -- "${lines[-1]}" "$(data_dir_of ctl)/ctrld.log"

	for sig in TERM INT; do
		marker="klog-test-marker-$sig-$RANDOM$RANDOM"
		# env --default-signal: bash starts background jobs with
		# SIGINT ignored.
		env --default-signal=INT timeout -k 10 60 "$CTRLD" logs -m "$M" -b 2 -f -n 1 \
		    >"f.$sig.out" 2>"f.$sig.err" 3>&- &
		pid=$!
		client "$pid"
		wait_for 15000 test -s "f.$sig.out"
		echo "$marker" >>"$(data_dir_of 2)/logd.log"
		wait_for 15000 grep -qxF "$marker" "f.$sig.out"
		# The signal goes to ctrld itself, as ^C would reach it in a
		# terminal; timeout (there only to bound a hang) exits with its
		# status. Not to timeout: it would pass the signal on to its
		# whole process group, and in ASan builds that group also
		# holds LeakSanitizer's tracer while ctrld exits.
		kill -"$sig" "$(pgrep -P "$pid" -x ctrld)"
		st=0
		wait "$pid" || st=$?
		echo "# logs -f: SIG$sig: exit $st; stderr: $(cat "f.$sig.err")" >&3
		# The normal end of -f.
		[ "$st" -eq 0 ]
		# The remote tail ended with the session.
		wait_for 10000 no_tail_on "$(data_dir_of 2)/logd.log"
	done
}

# no_tail_on FILE: no tail process follows FILE.
no_tail_on() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case $cmd in
		tail\ *"$1"*) return 1 ;;
		esac
	done
	return 0
}

@test "-b picks brokers: down -b 2 stops broker 2 alone; a rolling restart refuses an unhealthy cluster; up -b 2" {
	local before i k p
	cluster_up
	before=$(all_pids)
	run -0 --separate-stderr c down -m "$M" -b 2
	printf '# %s\n' "${lines[@]}" >&3
	[ "${#lines[@]}" -eq 3 ]
	[[ $(row "broker 2") == "broker 2 127.0.0.12 ok "*"stopped"* ]]
	[ "${lines[-1]}" = "down: 1 target: 1 ok, 0 failed, 0 unreachable" ]
	[ -z "$(pid_of logd 2)" ]
	[ -z "$(pid_of replicad 2)" ]
	while read -r k i p; do
		[ "$i" = 2 ] || [ "$(pid_of "$k" "$i")" = "$p" ]
	done <<<"$before"

	# Broker 2 is down: the rollout does not start.
	run -1 --separate-stderr c restart -m "$M" --rolling -b 1 --wait 2s
	printf '# %s\n' "${lines[@]}" >&3
	[[ $(row "broker 1") == "broker 1 127.0.0.11 failed "*"not restarted"* ]]
	[ "$(pid_of logd 1)" = "$(grep '^logd 1 ' <<<"$before" | cut -d' ' -f3)" ]

	run -0 --separate-stderr c up -m "$M" -b 2
	[[ $(row "broker 2") == "broker 2 127.0.0.12 ok "*"started"* ]]
	[ "${lines[-1]}" = "up: 1 target: 1 ok, 0 failed, 0 unreachable" ]
	wait_for 30000 healthy
}

@test "deploy resumes an interrupted upload: only missing or wrong files travel; three old releases are kept" {
	local inst rel n
	SSHM_ROOT=$BATS_TEST_TMPDIR/r SSHM_PORTS=$SSHM_PORTS sshm_manifest r.yaml
	inst=$BATS_TEST_TMPDIR/r/hosts/b1/klog
	run -0 --separate-stderr c deploy -m r.yaml -b 1
	rel=$(readlink "$inst/current")
	rel=${rel##*/}
	# As if the upload had stopped: no current, a partial release with a
	# file missing and one cut short.
	rm "$inst/current"
	mv "$inst/releases/$rel" "$inst/releases/$rel.partial"
	rm "$inst/releases/$rel.partial/bin/kcons"
	truncate -s 1000 "$inst/releases/$rel.partial/bin/kprod"
	run -0 --separate-stderr c deploy -m r.yaml -b 1
	printf '# %s\n' "${lines[@]}" >&3
	[[ $(row "broker 1") == "broker 1 127.0.0.11 ok release $rel: 2 uploaded "*", 0 copied on the host, 6 unchanged" ]]
	[ "$(readlink "$inst/current")" = "releases/$rel" ]
	[ ! -e "$inst/releases/$rel.partial" ]
	cmp "$BIN_DIR/kcons" "$inst/current/bin/kcons"
	cmp "$BIN_DIR/kprod" "$inst/current/bin/kprod"
	(cd "$inst/current" && sha256sum -c --quiet SHA256SUMS)

	# Older releases (as left by earlier deploys), then a new one: the
	# current release and the three newest others stay.
	for n in 1 2 3 4; do
		mkdir -p "$inst/releases/0.1.0-old00000000$n/bin"
		touch -d "-$n hours" "$inst/releases/0.1.0-old00000000$n"
	done
	echo "# changed" >>r.yaml
	run -0 --separate-stderr c deploy -m r.yaml -b 1
	run -0 ls "$inst/releases"
	[ "${lines[*]}" = "$(printf '%s\n' "$(basename "$(readlink "$inst/current")")" \
	    "$rel" 0.1.0-old000000001 0.1.0-old000000002 | sort | tr '\n' ' ' | sed 's/ $//')" ]
}

@test "restart --rolling under an acks=all producer: every process restarted, no acknowledged record lost" {
	local before after k i old new st t0 kp
	cluster_up
	before=$(all_pids)
	rm -f stop.k k.sent
	"$PY" "$KCHAOS_PY" feed k --rate 300 --stop-file stop.k --sent-file k.sent 3>&- |
	    timeout 300 "$BIN_DIR/kprod" -b "$SSHM_BROKERS" -t events \
	    -o '%l %p %o\n' -X linger.ms=2 >k.placed 2>k.err 3>&- &
	kp=$!
	client "$kp"
	# kprod's report (-o) is buffered: time, not its lines, says the
	# stream is flowing.
	sleep 1

	t0=$(now_ms)
	run --separate-stderr c restart -m "$M" --rolling --wait 60s
	echo "# restart --rolling: $(($(now_ms) - t0)) ms" >&3
	printf '# %s\n' "${lines[@]}" >&3
	printf '# %s\n' "${stderr_lines[@]}" | grep -E 'healthy|waiting' >&3 || true
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$stderr" >&2
		false
	fi
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok "* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 ok "* ]]
	[[ ${lines[-1]} == "restart"*": 4 targets: 4 ok, 0 failed, 0 unreachable" ]]

	# Writes go on after the restart; every record fed was acknowledged
	# (kprod exits 0 only then).
	sleep 1
	touch stop.k
	st=0
	wait "$kp" || st=$?
	echo "# kprod: exit $st, $(cat k.sent) sent, $(wc -l <k.placed) acknowledged" >&3
	[ "$st" -eq 0 ] || { cat k.err >&2; false; }
	[ "$(cat k.sent)" -gt 300 ]
	[ "$(wc -l <k.placed)" = "$(cat k.sent)" ]

	# Every process has a new pid.
	after=$(all_pids)
	echo "# before: $(tr ' \n' ': ' <<<"$before")" >&3
	echo "# after:  $(tr ' \n' ': ' <<<"$after")" >&3
	while read -r k i old; do
		new=$(pid_of "$k" "$i")
		[ "$old" != - ]
		[ -n "$new" ]
		[ "$new" != "$old" ]
	done <<<"$before"
	wait_for 60000 healthy

	# Every acknowledged record is there once, in order, at its offset.
	"$PY" "$KCHAOS_PY" import k "$(cat k.sent)" --placed k.placed >h.k.jsonl
	timeout 120 "$BIN_DIR/kcons" -q -b "$SSHM_BROKERS" -t events -o beginning -e \
	    -f '%p %o %s\n' | sort -n -k1,1 -k2,2 >all.txt
	run -0 --separate-stderr "$PY" "$KCHAOS_PY" check --log all.txt h.k.jsonl
	echo "# check: $output" >&3
	[[ $output == "acked "*" lost 0 duplicates 0 out_of_order 0 inconsistent_offsets 0 failed_visible 0 "* ]]
}

@test "down: every process stops; down again: nothing running, exit 0" {
	local pids k i pid
	cluster_up
	pids=$(all_pids)
	run -0 --separate-stderr c down -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok "*"stopped"* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 ok "*"stopped"* ]]
	[ "${lines[-1]}" = "down: 4 targets: 4 ok, 0 failed, 0 unreachable" ]
	while read -r k i pid; do
		[ "$pid" != - ]
		# Gone (or a zombie until init reaps it).
		wait_for 5000 not_running "$pid"
		[ ! -e "$(data_dir_of "$i")/$k.pid" ]
	done <<<"$pids"
	# SIGTERM was enough (no --force).
	[[ $output != *killed* ]]
	run -0 --separate-stderr c down -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	[ "${lines[-1]}" = "down: 4 targets: 4 ok, 0 failed, 0 unreachable" ]
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i ok "*"not running"* ]]
	done
	run ! healthy
}

# ------------------------------------------------------------------
# Refusals

@test "a key sshd does not accept: 69, 'no key accepted' naming each host" {
	local i
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/other_key"
	SSHM_PORTS=$SSHM_PORTS SSHM_SSH_EXTRA="identity: $BATS_TEST_TMPDIR/other_key" \
	    sshm_manifest wrongkey.yaml
	run -69 c hosts -m wrongkey.yaml
	printf '# %s\n' "${lines[@]}" >&3
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i no "*"no key accepted"* ]]
		[[ $output == *"127.0.0.1$i:$SSHD_PORT: no key accepted"* ]]
	done
	[[ $output == *"other_key"* ]]
	[[ ${lines[-1]} == "hosts: 4 targets: 0 ok, 0 failed, 4 unreachable" ]]
}

@test "an unknown host key: 69 naming --accept-new-host-keys; with it, known_hosts learns [addr]:port; a changed key is refused" {
	local i kh
	# Another fake HOME: the same key, no known_hosts.
	mkdir -p home2/.ssh
	cp "$HOME/.ssh/id_ed25519" "$HOME/.ssh/id_ed25519.pub" home2/.ssh/
	kh=$BATS_TEST_TMPDIR/home2/.ssh/known_hosts
	HOME=$BATS_TEST_TMPDIR/home2 run -69 c hosts -m "$M"
	printf '# %s\n' "${lines[@]}" >&3
	[[ $output == *"--accept-new-host-keys"* ]]
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i no "* ]]
	done
	[ ! -s "$kh" ]

	HOME=$BATS_TEST_TMPDIR/home2 run -0 c hosts -m "$M" --accept-new-host-keys
	printf '# %s\n' "${lines[@]}" >&3
	[ "$(stat -c %a "$kh")" = 600 ]
	for i in 1 2 3; do
		grep -q "^\[127.0.0.1$i\]:$SSHD_PORT ssh-ed25519 " "$kh"
		# OpenSSH reads what ctrld wrote.
		ssh-keygen -F "[127.0.0.1$i]:$SSHD_PORT" -f "$kh" | grep -q ssh-ed25519
	done
	# Whole lines only (the controller on broker 1's host may have
	# learnt the key at the same time).
	run grep -cvE "^\[127\.0\.0\.1[123]\]:$SSHD_PORT ssh-ed25519 [A-Za-z0-9+/]+=*\$" "$kh"
	[ "$output" = 0 ]
	# ... and each key once: a worker that finds it already there under
	# the lock appends nothing.
	echo "# known_hosts: $(wc -l <"$kh") lines" >&3
	[ "$(wc -l <"$kh")" -eq 3 ]
	[ -z "$(sort "$kh" | uniq -d)" ]
	HOME=$BATS_TEST_TMPDIR/home2 run -0 c hosts -m "$M"

	# A changed key: refused, even with --accept-new-host-keys.
	ssh-keygen -q -t ed25519 -N '' -f impostor
	for i in 1 2 3; do
		echo "[127.0.0.1$i]:$SSHD_PORT $(cut -d' ' -f1,2 impostor.pub)"
	done >changed_hosts
	run -69 c hosts -m "$M" --known-hosts changed_hosts
	printf '# %s\n' "${lines[@]}" >&3
	[[ $output == *"does not match"* ]]
	[[ $(row "broker 2") == "broker 2 127.0.0.12 no "*"does not match"* ]]
	run -69 c hosts -m "$M" --known-hosts changed_hosts --accept-new-host-keys
	[[ $output == *"does not match"* ]]
	[ "$(wc -l <changed_hosts)" = 3 ]
}

@test "sshd stopped: 69, 'connect' and the address" {
	sshd_stop
	run -69 c hosts -m "$M" --connect-timeout 5s
	printf '# %s\n' "${lines[@]}" >&3
	[[ $(row "broker 1") == "broker 1 127.0.0.11 no "*"connect"* ]]
	[[ $output == *"127.0.0.12:$SSHD_PORT"* ]]
	[[ $output == *"onnection refused"* ]]
	[[ ${lines[-1]} == "hosts: 4 targets: 0 ok, 0 failed, 4 unreachable" ]]
	run -69 c up -m "$M" --connect-timeout 5s
	sshd_start
}

@test "one host of three unreachable: exit 1, the others ok" {
	local closed
	closed=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.13", 0)); print(s.getsockname()[1])')
	c deploy -m "$M" >/dev/null 2>&1
	SSHM_PORTS=$SSHM_PORTS SSHM_SSH_PORT_3=$closed sshm_manifest onedown.yaml
	run -1 --separate-stderr c hosts -m onedown.yaml
	printf '# %s\n' "${lines[@]}" >&3
	[[ $(row "broker 1") == "broker 1 127.0.0.11 yes "* ]]
	[[ $(row "broker 2") == "broker 2 127.0.0.12 yes "* ]]
	[[ $(row "broker 3") == "broker 3 127.0.0.13 no "*"127.0.0.13:$closed"* ]]
	[[ $(row controller) == "controller 127.0.0.11 yes "* ]]
	[ "${lines[-1]}" = "hosts: 4 targets: 3 ok, 0 failed, 1 unreachable" ]
	[[ $stderr == *"[broker 3 127.0.0.13] "*"127.0.0.13:$closed"* ]]
	run -1 --separate-stderr c hosts -m onedown.yaml --json
	run -0 jq -e --arg addr "127.0.0.13:$closed" '
	    .summary == {targets: 4, reachable: 3, unreachable: 1} and
	    ([.targets[] | select(.reachable == false) | .broker_id] == [3]) and
	    (.targets[] | select(.broker_id == 3) | .error | contains($addr))' <<<"$output"
}

@test "up on hosts without klog: exit 1, 'run ctrld deploy'" {
	local i
	SSHM_ROOT=$BATS_TEST_TMPDIR/fresh sshm_manifest fresh.yaml
	mkdir -p "$BATS_TEST_TMPDIR/fresh/hosts/b1/klog"	# empty
	run -1 --separate-stderr c up -m fresh.yaml
	printf '# %s\n' "${lines[@]}" >&3
	for i in 1 2 3; do
		[[ $(row "broker $i") == "broker $i 127.0.0.1$i failed "*"run ctrld deploy"* ]]
	done
	[[ $(row controller) == "controller 127.0.0.11 failed "*"run ctrld deploy"* ]]
	[ "${lines[-1]}" = "up: 4 targets: 0 ok, 4 failed, 0 unreachable" ]
	[ ! -e "$BATS_TEST_TMPDIR/fresh/b1/logd.pid" ]
	run -1 --separate-stderr c up -m fresh.yaml -b 2
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} == "broker 2 "* ]]
}

@test "a bad manifest: 78 naming the key; usage errors: 64" {
	cat >rel.yaml <<-EOF
	cluster: bad
	controller: {host: 127.0.0.11, port: 9699, data_dir: /tmp/x-ctl}
	brokers:
	  - {id: 1, host: 127.0.0.11, port: 9698, data_dir: b1, ssh: {port: $SSHD_PORT}}
	EOF
	run -78 --separate-stderr c up -m rel.yaml
	echo "# ${stderr_lines[0]}" >&3
	[[ $stderr == *"data_dir"* ]]
	[[ $stderr == *"rel.yaml"* ]]

	run -64 --separate-stderr c logs -m "$M"
	echo "# ${stderr_lines[0]}" >&3
	run -64 --separate-stderr c deploy -m "$M" --bogus
	echo "# ${stderr_lines[0]}" >&3
	[[ $stderr == *"bogus"* ]]
	run -64 --separate-stderr c hosts
	echo "# ${stderr_lines[0]}" >&3
	run -64 --separate-stderr c up -m "$M" --rolling
	run -64 --separate-stderr c logs -m "$M" -b 1 --process nosuch
}
