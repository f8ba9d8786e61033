#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The three-broker example (examples/cluster-3.yaml) on this machine:
# ctrld, three logd and three replicad on 127.0.0.1, data and logs under
# /tmp/klog-cluster3. Records go in with acks=all and come back out.
#
#   examples/cluster.sh up         build, start everything, produce, consume
#   examples/cluster.sh status     ctrld status: brokers, leaders, ISRs
#   examples/cluster.sh failover   kill -9 the leader of events-0, show the
#                                  new leader, produce again, restart it
#   examples/cluster.sh down       stop everything (SIGTERM; leaderships
#                                  move first)
#
# Environment: KLOG_MANIFEST (default examples/cluster-3.yaml; its brokers
# must be ids 1-3), KLOG_RUN_DIR (pid and log files, default
# /tmp/klog-cluster3/run), KLOG_RECORDS (default 10000).
set -eu
cd "$(dirname "$0")/.."
manifest=${KLOG_MANIFEST:-examples/cluster-3.yaml}
records=${KLOG_RECORDS:-10000}
run=${KLOG_RUN_DIR:-/tmp/klog-cluster3/run}
ids="1 2 3"

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit "${2:-1}"; }

# pidfile NAME -> running? (the pid file names a live process)
running() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

# start NAME CMD...: in the background, log in $run/NAME.log
start() {
	local name=$1; shift
	if running "$name"; then say "$name already running"; return; fi
	"$@" >>"$run/$name.log" 2>&1 &
	echo $! >"$run/$name.pid"
}

stop() {
	local name=$1
	running "$name" || { rm -f "$run/$name.pid"; return 0; }
	kill -TERM "$(cat "$run/$name.pid")"
	for _ in $(seq 200); do running "$name" || break; sleep 0.1; done
	running "$name" && kill -KILL "$(cat "$run/$name.pid")"
	rm -f "$run/$name.pid"
}

# Wait until ctrld reports every partition healthy (exit 0), at most $1 s.
wait_healthy() {
	for _ in $(seq $(($1 * 5))); do
		bin/ctrld status -m "$manifest" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

wait_logd() {	# ID: until its admin socket answers, at most 30 s
	for _ in $(seq 150); do
		bin/logd ctl -m "$manifest" -i "$1" status >/dev/null 2>&1 &&
		    return 0
		running "logd-$1" || return 1
		sleep 0.2
	done
	return 1
}

brokers() {
	bin/ctrld status -m "$manifest" --json |
	    jq -r '[.brokers[] | "\(.host):\(.port)"] | join(",")'
}

leader_of() {	# TOPIC PARTITION -> broker id
	bin/ctrld status -m "$manifest" --json |
	    jq -r --arg t "$1" --argjson p "$2" \
	    '.partitions[] | select(.topic == $t and .partition == $p) | .leader'
}

up() {
	./install.sh --deps --if-missing
	make --no-print-directory -j2 all >/dev/null
	mkdir -p "$run"
	start ctrld bin/ctrld run -m "$manifest"
	for i in $ids; do start "logd-$i" bin/logd -m "$manifest" -i "$i"; done
	# replicad appends through its logd's admin socket: start it once
	# that broker answers.
	for i in $ids; do
		wait_logd "$i" || die "logd $i did not start; see $run/logd-$i.log" 69
		start "replicad-$i" bin/replicad -m "$manifest" -i "$i"
	done
	wait_healthy 60 || die "the cluster did not become healthy; logs in $run" 69
	bin/ctrld status -m "$manifest"
	export KLOG_BROKERS; KLOG_BROKERS=$(brokers)
	seq 1 "$records" | sed 's/^/event /' |
	    bin/kprod -t events -a all -v
	got=$(bin/kcons -t events -e | wc -l)
	say "produced $records records with acks=all, read back $got"
	cat <<MSG

Running; logs in $run. Try:
  export KLOG_BROKERS=$KLOG_BROKERS
  examples/cluster.sh failover      # kill -9 a leader, watch ctrld status
  kcat -b $KLOG_BROKERS -L          # leaders, replicas and ISRs
  examples/cluster.sh down
MSG
}

failover() {
	local old new t0 ms
	old=$(leader_of events 0)
	[ -n "$old" ] && [ "$old" != -1 ] || die "events-0 has no leader"
	say "events-0 is led by broker $old; kill -9 of its logd"
	kill -KILL "$(cat "$run/logd-$old.pid")"
	t0=$(date +%s%N)
	for _ in $(seq 300); do
		new=$(leader_of events 0)
		[ "$new" != "$old" ] && [ "$new" != -1 ] && break
		sleep 0.1
	done
	[ "$new" != "$old" ] || die "no new leader for events-0"
	ms=$((($(date +%s%N) - t0) / 1000000))
	say "broker $new leads events-0, $ms ms after the kill"
	bin/ctrld status -m "$manifest" || true
	export KLOG_BROKERS; KLOG_BROKERS=$(brokers)
	seq 1 1000 | sed 's/^/after failover /' | bin/kprod -t events -a all
	say "1000 more records acknowledged by the two remaining brokers"
	start "logd-$old" bin/logd -m "$manifest" -i "$old"
	wait_healthy 120 || die "broker $old did not rejoin; see $run/logd-$old.log"
	say "broker $old is back in every ISR"
	bin/ctrld status -m "$manifest"
}

down() {
	for i in $ids; do stop "replicad-$i"; done
	for i in $ids; do stop "logd-$i"; done
	stop ctrld
	say "stopped; data stays where $manifest puts it"
}

case ${1:-up} in
up) up ;;
status) bin/ctrld status -m "$manifest" ;;
failover) failover ;;
down) down ;;
*) die "unknown command '$1' (valid: up, status, failover, down)" 64 ;;
esac
