# SPDX-License-Identifier: MIT
# A three-broker klog cluster on loopback for the replication fault tests
# (`load helpers; load cluster`) and bench/replication (which sources both
# files with CL_DIR and BIN_DIR set). One ctrld, and per broker a logd and
# its replicad, all started from one manifest written into CL_DIR with free
# ports. Brokers bind their own loopback addresses 127.0.0.11, .12 and .13
# (as /work/shared/design/RELIABILITY.md suggests, so that firewall rules
# could tell them apart; replicad binds its leader connections to its
# broker's host) and fall back to 127.0.0.1 where those cannot be bound.
#
# Settings, read by cluster_manifest (set them before calling it):
#   CLUSTER_SESSION_MS   ctrld's session timeout (3000)
#   CLUSTER_HEARTBEAT_MS its heartbeat long poll (300)
#   CLUSTER_LAG_MS       logd's replica.lag.time.max.ms (6000)
#   CLUSTER_REBALANCE    auto_leader_rebalance (false: leaders only move
#                        when a test makes them)
#   CLUSTER_TOPICS       YAML list items for `topics:`; by default "events",
#                        3 partitions, replication factor 3,
#                        min.insync.replicas 2
#   CLUSTER_LOGD_OPTS    extra logd arguments (an array is not exportable:
#                        a string split on spaces)
#
# Processes: CTRLD_PID, LOGD_PID_<id>, RD_PID_<id>; their logs are
# CL_DIR/ctrld.log, CL_DIR/b<id>.log, CL_DIR/r<id>.log. Faults are logged
# as JSON lines in CL_DIR/nemesis.jsonl ({"t": ms, "f": kind, "broker": id,
# ...}) for `kchaos.py timeline`. cluster_teardown kills what is left and,
# when the test failed, prints the end of every log (and copies the logs to
# $KLOG_TEST_LOGS/<test> when that is set).

CL_DIR=${CL_DIR:-$BATS_TEST_TMPDIR}
CL_IDS=(1 2 3)
TOOLS_PY=${TOOLS_PY:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools}

# ------------------------------------------------------------------
# Manifest

# cluster_hosts: one address per broker; 127.0.0.1x when this machine lets
# a socket bind it (Linux answers on all of 127/8), else 127.0.0.1.
cluster_hosts() {
	"$PY" - <<-'EOF'
	import socket
	hosts = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
	try:
	    for h in hosts:
	        s = socket.socket()
	        s.bind((h, 0))
	        s.close()
	except OSError:
	    hosts = ["127.0.0.1"] * 3
	print("\n".join(hosts))
	EOF
}

# cluster_ports HOST...: a port free right now on each HOST, one a line.
cluster_ports() {
	"$PY" - "$@" <<-'EOF'
	import socket, sys
	socks = []
	for h in sys.argv[1:]:
	    s = socket.socket()
	    s.bind((h, 0))
	    socks.append(s)
	print("\n".join(str(s.getsockname()[1]) for s in socks))
	EOF
}

# cluster_manifest: write CL_DIR/cluster.yaml (see the settings above) and
# set BROKER_HOST_<id>, BROKER_ADDR_<id>, BROKERS (all, comma-separated)
# and CTRL_ADDR.
cluster_manifest() {
	local hosts ports i
	mapfile -t hosts < <(cluster_hosts)
	mapfile -t ports < <(cluster_ports 127.0.0.1 "${hosts[@]}")
	CTRL_ADDR=127.0.0.1:${ports[0]}
	cat >"$CL_DIR/cluster.yaml" <<-EOF
	cluster: faults
	controller:
	  host: 127.0.0.1
	  port: ${ports[0]}
	  data_dir: $CL_DIR/ctrld
	  session_timeout_ms: ${CLUSTER_SESSION_MS:-3000}
	  heartbeat_interval_ms: ${CLUSTER_HEARTBEAT_MS:-300}
	  auto_leader_rebalance: ${CLUSTER_REBALANCE:-false}
	defaults:
	  offsets_topic_partitions: 3
	brokers:
	EOF
	BROKERS=
	for i in "${CL_IDS[@]}"; do
		printf '  - {id: %d, host: %s, port: %d, data_dir: %s}\n' \
		    "$i" "${hosts[i - 1]}" "${ports[i]}" "$CL_DIR/b$i" \
		    >>"$CL_DIR/cluster.yaml"
		printf -v "BROKER_HOST_$i" %s "${hosts[i - 1]}"
		printf -v "BROKER_ADDR_$i" %s "${hosts[i - 1]}:${ports[i]}"
		BROKERS+=${BROKERS:+,}${hosts[i - 1]}:${ports[i]}
	done
	echo "topics:" >>"$CL_DIR/cluster.yaml"
	if [ -n "${CLUSTER_TOPICS:-}" ]; then
		printf '%s\n' "$CLUSTER_TOPICS" >>"$CL_DIR/cluster.yaml"
	else
		cat >>"$CL_DIR/cluster.yaml" <<-EOF
		  - name: events
		    partitions: 3
		    replication_factor: 3
		    configs: {min.insync.replicas: 2}
		EOF
	fi
}

# broker_addr ID: the broker's host:port.
broker_addr() {
	local v="BROKER_ADDR_$1"
	echo "${!v}"
}

# ------------------------------------------------------------------
# Processes

# cl_remember PID: note a daemon this file started, for cluster_teardown.
cl_remember() {
	echo "$1" >>"$CL_DIR/.cluster-pids"
}

# cl_client PID: note a client started in the background from CL_DIR (a
# producer, say), for cluster_teardown to kill if a test fails before it
# stopped it.
cl_client() {
	echo "$1" >>"$CL_DIR/.client-pids"
}

# The daemons close fd 3, Bats's channel for "#" lines, so that a test
# never waits for them to exit.

# start_ctrld_member: ctrld run on the manifest; sets CTRLD_PID.
start_ctrld_member() {
	rm -f "$CL_DIR/ctrld.addr"
	"$BIN_DIR/ctrld" run -m "$CL_DIR/cluster.yaml" \
	    --addr-file "$CL_DIR/ctrld.addr" >>"$CL_DIR/ctrld.log" 2>&1 3>&- &
	CTRLD_PID=$!
	cl_remember "$CTRLD_PID"
	if ! wait_for 15000 test -s "$CL_DIR/ctrld.addr"; then
		echo "ctrld did not start; its log:" >&2
		cat "$CL_DIR/ctrld.log" >&2
		return 1
	fi
}

# start_logd_member ID: the broker's logd; sets LOGD_PID_<ID>.
start_logd_member() {
	local id=$1 pid
	rm -f "$CL_DIR/b$id.addr"
	# shellcheck disable=SC2086 # CLUSTER_LOGD_OPTS is a word list
	"$BIN_DIR/logd" -m "$CL_DIR/cluster.yaml" -i "$id" \
	    --addr-file "$CL_DIR/b$id.addr" \
	    -o replica.lag.time.max.ms="${CLUSTER_LAG_MS:-6000}" \
	    -o shutdown.timeout.ms=5000 ${CLUSTER_LOGD_OPTS:-} \
	    >>"$CL_DIR/b$id.log" 2>&1 3>&- &
	pid=$!
	printf -v "LOGD_PID_$id" %s "$pid"
	cl_remember "$pid"
	if ! wait_for 15000 test -s "$CL_DIR/b$id.addr"; then
		echo "logd $id did not start; its log:" >&2
		tail -n 30 "$CL_DIR/b$id.log" >&2
		return 1
	fi
}

# start_replicad_member ID: the broker's replicad; sets RD_PID_<ID>.
start_replicad_member() {
	local id=$1 pid
	rm -f "$CL_DIR/r$id.ready"
	"$BIN_DIR/replicad" run -m "$CL_DIR/cluster.yaml" -i "$id" \
	    --ready-fd 3 3>"$CL_DIR/r$id.ready" >>"$CL_DIR/r$id.log" 2>&1 &
	pid=$!
	printf -v "RD_PID_$id" %s "$pid"
	cl_remember "$pid"
	if ! wait_for 15000 test -s "$CL_DIR/r$id.ready"; then
		echo "replicad $id did not start; its log:" >&2
		tail -n 30 "$CL_DIR/r$id.log" >&2
		return 1
	fi
}

# start_broker ID: logd, then replicad.
start_broker() {
	start_logd_member "$1" && start_replicad_member "$1"
}

# cluster_start: manifest, ctrld, three brokers; returns once ctrld
# reports every broker up and every ISR full (`ctrld status` exit 0).
cluster_start() {
	local i
	cluster_manifest
	start_ctrld_member || return 1
	for i in "${CL_IDS[@]}"; do
		start_broker "$i" || return 1
	done
	wait_for 30000 cluster_healthy
}

# pid_of KIND ID: the pid of logd or replicad of broker ID.
pid_of() {
	local v
	case $1 in
	logd) v="LOGD_PID_$2" ;;
	replicad) v="RD_PID_$2" ;;
	*) echo "pid_of: logd or replicad, not '$1'" >&2; return 64 ;;
	esac
	echo "${!v:-}"
}

# alive PID: the process exists (a stopped one counts) and is not a zombie.
alive() {
	local state
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# reap PID: wait for a child that was killed; its status is not wanted.
reap() {
	wait "$1" 2>/dev/null || true
}

# nemesis FAULT ID [KEY=NUMBER...]: log a fault with the time it happened.
# No subshell here: bash would announce a killed child ("Killed ...") at
# the fork, before reap could take it quietly.
nemesis() {
	local f=$1 id=$2 kv extra= us=${EPOCHREALTIME/[.,]/}
	shift 2
	for kv in "$@"; do
		extra+=", \"${kv%%=*}\": ${kv#*=}"
	done
	printf '{"t": %s, "f": "%s", "broker": %s%s}\n' $((us / 1000)) "$f" \
	    "$id" "$extra" >>"$CL_DIR/nemesis.jsonl"
}

# kill_broker ID [KEY=NUMBER...]: kill -9 logd and replicad of broker ID
# (a host crash); logged as fault "kill".
kill_broker() {
	local id=$1 l r
	shift
	l=$(pid_of logd "$id")
	r=$(pid_of replicad "$id")
	kill -KILL "$l" "$r"
	nemesis kill "$id" "$@"
	reap "$l"
	reap "$r"
}

# kill_logd ID [KEY=NUMBER...]: kill -9 logd alone (replicad lives on and
# must reconnect when logd is back); logged as fault "kill-logd".
kill_logd() {
	local id=$1 l
	shift
	l=$(pid_of logd "$id")
	kill -KILL "$l"
	nemesis kill-logd "$id" "$@"
	reap "$l"
}

# term_broker ID [KEY=NUMBER...]: SIGTERM logd (controlled shutdown) and
# wait for it; sets TERM_STATUS (logd's exit status) and TERM_MS (how long
# it took). replicad is stopped after it. Logged as fault "term".
term_broker() {
	local id=$1 l r t0
	shift
	l=$(pid_of logd "$id")
	r=$(pid_of replicad "$id")
	t0=$(now_ms)
	kill -TERM "$l"
	nemesis term "$id" "$@"
	TERM_STATUS=0
	wait "$l" || TERM_STATUS=$?
	TERM_MS=$(($(now_ms) - t0))
	kill -TERM "$r"
	reap "$r"
}

# pause_broker ID / resume_broker ID [KEY=NUMBER...]: SIGSTOP / SIGCONT
# logd and replicad (a frozen host); faults "pause" and "resume".
pause_broker() {
	local id=$1
	shift
	kill -STOP "$(pid_of logd "$id")" "$(pid_of replicad "$id")"
	nemesis pause "$id" "$@"
}

resume_broker() {
	local id=$1
	shift
	kill -CONT "$(pid_of logd "$id")" "$(pid_of replicad "$id")"
	nemesis resume "$id" "$@"
}

# pause_replicad ID / resume_replicad ID: a follower that stops fetching
# while its logd stays up (faults "pause-replicad", "resume-replicad").
pause_replicad() {
	kill -STOP "$(pid_of replicad "$1")"
	nemesis pause-replicad "$1"
}

resume_replicad() {
	kill -CONT "$(pid_of replicad "$1")"
	nemesis resume-replicad "$1"
}

# cluster_teardown: for teardown(). Kills the clients noted with
# cl_client that still run in CL_DIR, and every daemon cluster.bash
# started that still runs this test's manifest (never another process
# that reused a pid); then shows the logs when the test failed.
cluster_teardown() {
	local pid dir
	dir=$(realpath "$CL_DIR")
	if [ -f "$CL_DIR/.client-pids" ]; then
		while read -r pid; do
			if alive "$pid" &&
			    [ "$(readlink "/proc/$pid/cwd")" = "$dir" ]; then
				kill -KILL "$pid" 2>/dev/null || true
				reap "$pid"
			fi
		done <"$CL_DIR/.client-pids"
		rm -f "$CL_DIR/.client-pids"
	fi
	if [ -f "$CL_DIR/.cluster-pids" ]; then
		while read -r pid; do
			if alive "$pid" && grep -qF "$CL_DIR/cluster.yaml" \
			    "/proc/$pid/cmdline" 2>/dev/null; then
				kill -KILL "$pid" 2>/dev/null || true
				reap "$pid"
			fi
		done <"$CL_DIR/.cluster-pids"
		rm -f "$CL_DIR/.cluster-pids"
	fi
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
		cluster_show_logs
	fi
}

# cluster_show_logs: the last lines of every daemon log (stderr), and a
# copy of all logs and histories under $KLOG_TEST_LOGS/<test name>.
cluster_show_logs() {
	local f dest
	for f in "$CL_DIR"/ctrld.log "$CL_DIR"/b?.log "$CL_DIR"/r?.log \
	    "$CL_DIR"/nemesis.jsonl; do
		[ -s "$f" ] || continue
		echo "----- ${f##*/} (last 25 lines)" >&2
		tail -n 25 "$f" >&2
	done
	if [ -n "${KLOG_TEST_LOGS:-}" ]; then
		dest=$KLOG_TEST_LOGS/${BATS_TEST_NAME:-cluster}
		mkdir -p "$dest"
		cp "$CL_DIR"/*.log "$CL_DIR"/*.jsonl "$CL_DIR"/*.txt \
		    "$CL_DIR/cluster.yaml" "$dest"/ 2>/dev/null || true
		echo "----- logs copied to $dest" >&2
	fi
}

# ------------------------------------------------------------------
# The controller's view

# ctrld_json: `ctrld status -J`, which exits 0 when healthy and 1 when
# degraded, printing the state either way.
ctrld_json() {
	local rc=0
	timeout 15 "$BIN_DIR/ctrld" status -J -t 10s \
	    -m "$CL_DIR/cluster.yaml" || rc=$?
	[ "$rc" -le 1 ]
}

# cluster_healthy: every broker up, no partition under-replicated.
cluster_healthy() {
	timeout 15 "$BIN_DIR/ctrld" status -q -t 10s \
	    -m "$CL_DIR/cluster.yaml" >/dev/null 2>&1
}

# part_field TOPIC P JQ: one jq expression over the partition's object
# in ctrld's status (fields leader, leader_epoch, partition_epoch,
# replicas, isr).
part_field() {
	ctrld_json | jq -r --arg t "$1" --argjson p "$2" \
	    ".partitions[] | select(.topic == \$t and .partition == \$p) | $3"
}

# leader_of TOPIC P: the leader's id (-1: offline).
leader_of() {
	part_field "$1" "$2" .leader
}

# leader_epoch_of TOPIC P
leader_epoch_of() {
	part_field "$1" "$2" .leader_epoch
}

# isr_of TOPIC P: the ISR as "1,2,3" (ctrld's order).
isr_of() {
	part_field "$1" "$2" '.isr | join(",")'
}

# followers_of TOPIC P: the replicas other than the leader, one a line.
followers_of() {
	part_field "$1" "$2" '.leader as $l | .replicas[] | select(. != $l)'
}

# leader_is_not TOPIC P ID: led, by someone other than ID (for wait_for).
leader_is_not() {
	local l
	l=$(leader_of "$1" "$2") || return 1
	[ -n "$l" ] && [ "$l" != -1 ] && [ "$l" != "$3" ]
}

# leader_is TOPIC P ID
leader_is() {
	[ "$(leader_of "$1" "$2")" = "$3" ]
}

# isr_size_is TOPIC P N
isr_size_is() {
	[ "$(part_field "$1" "$2" '.isr | length')" = "$3" ]
}

# isr_has TOPIC P ID: ID is in the ISR.
isr_has() {
	[ "$(part_field "$1" "$2" ".isr | index($3) != null")" = true ]
}

# broker_is ID STATE: ctrld says the broker is STATE (up, down, ...).
broker_is() {
	[ "$(ctrld_json | jq -r --argjson id "$1" \
	    '.brokers[] | select(.id == $id) | .state')" = "$2" ]
}

# ------------------------------------------------------------------
# What the brokers say

# logd_topics ID: `logd ctl -j topics` of a running broker.
logd_topics() {
	timeout 15 "$BIN_DIR/logd" ctl -j -d "$CL_DIR/b$1" topics
}

# offsets_of ID TOPIC P: "log_end_offset high_watermark" on broker ID.
offsets_of() {
	logd_topics "$1" | jq -r --arg t "$2" --argjson p "$3" \
	    'select(.topic == $t and .partition == $p) |
	     "\(.log_end_offset) \(.high_watermark)"'
}

# role_of ID TOPIC P: "role leader leader_epoch" as broker ID sees it.
role_of() {
	timeout 15 "$BIN_DIR/logd" ctl -j -d "$CL_DIR/b$1" status |
	    jq -r --arg t "$2" --argjson p "$3" \
	    '.cluster_partitions[] | select(.topic == $t and .partition == $p) |
	     "\(.role) \(.leader) \(.leader_epoch)"'
}

# sees_leader ID TOPIC P LEADER: broker ID knows LEADER leads the
# partition (it applied ctrld's state).
sees_leader() {
	[ "$(role_of "$1" "$2" "$3" | cut -d' ' -f2)" = "$4" ]
}

# caught_up TOPIC P: the partition is led, its ISR holds every replica
# that is up, and on each ISR member the log end offset equals the
# leader's, whose high watermark has reached it. Use after producers
# stopped, before comparing replicas.
caught_up() {
	local t=$1 p=$2 leader isr id leo hw want
	leader=$(leader_of "$t" "$p") || return 1
	[ -n "$leader" ] && [ "$leader" != -1 ] || return 1
	isr=$(isr_of "$t" "$p") || return 1
	read -r want hw < <(offsets_of "$leader" "$t" "$p") || return 1
	[ -n "$want" ] && [ "$hw" = "$want" ] || return 1
	for id in ${isr//,/ }; do
		read -r leo hw < <(offsets_of "$id" "$t" "$p") || return 1
		[ "$leo" = "$want" ] || return 1
	done
}

# all_caught_up TOPIC PARTITIONS: caught_up for partitions 0..N-1.
all_caught_up() {
	local p
	for ((p = 0; p < $2; p++)); do
		caught_up "$1" "$p" || return 1
	done
}

# compare_replicas TOPIC P [ID...]: the replicas' batches below the
# leader's high watermark are the same (base and last offset, leader
# epoch, CRC) on every broker given (default: the ISR). Prints the tool's
# summary line; returns 1 on any difference.
compare_replicas() {
	local t=$1 p=$2 leader ids=() id dirs=()
	shift 2
	leader=$(leader_of "$t" "$p") || return 1
	if [ $# -gt 0 ]; then
		ids=("$@")
	else
		read -r -a ids <<<"$(isr_of "$t" "$p" | tr , ' ')"
	fi
	for id in "${ids[@]}"; do
		dirs+=("b$id=$CL_DIR/b$id/$t-$p")
	done
	logd_topics "$leader" >"$CL_DIR/hw.$t-$p.json" || return 1
	"$PY" "$TOOLS_PY/kreplicas.py" --kdump "$BIN_DIR/kdump-segment" \
	    --hw-from "$CL_DIR/hw.$t-$p.json" "${dirs[@]}"
}

# ------------------------------------------------------------------
# Clients

# kchaos ARGS...: tests/tools/kchaos.py (producers, history, checker).
# In the background, run "${KCHAOS[@]}" instead: then $! is python's pid,
# not that of a subshell running the function.
kchaos() {
	"$PY" "$TOOLS_PY/kchaos.py" "$@"
}
KCHAOS=("$PY" "$TOOLS_PY/kchaos.py")

# readback TOPIC FILE: every record of TOPIC from the beginning to the
# high watermark as "PARTITION OFFSET VALUE" lines, read with kcons.
readback() {
	timeout 120 "$BIN_DIR/kcons" -b "$BROKERS" -t "$1" -o beginning -e \
	    -f '%p %o %s\n' >"$2"
}
