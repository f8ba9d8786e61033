#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a fresh Debian machine: install what is missing, build,
# start a local klog broker, pipe records through kprod into a topic and
# read them back with kcons. The broker keeps running afterwards.
#
#   examples/quickstart.sh          set up, run, leave logd running
#   examples/quickstart.sh stop     stop the broker it started
#
# Environment: KLOG_DEMO_DIR (default ./demo), KLOG_PORT (default 9092;
# 0 picks a free port), KLOG_RECORDS (default 100000).
set -eu
cd "$(dirname "$0")/.."
dir=${KLOG_DEMO_DIR:-$PWD/demo}
port=${KLOG_PORT:-9092}
records=${KLOG_RECORDS:-100000}

if [ "${1:-}" = stop ]; then
	if [ -f "$dir/logd.pid" ] && kill -TERM "$(cat "$dir/logd.pid")" 2>/dev/null; then
		while kill -0 "$(cat "$dir/logd.pid")" 2>/dev/null; do sleep 0.1; done
		echo "quickstart: logd stopped; its data stays in $dir"
	else
		echo "quickstart: no logd running from $dir"
	fi
	rm -f "$dir/logd.pid"
	exit 0
fi

./install.sh --deps --if-missing || {
	echo "quickstart: installing the dependencies failed (exit $?)" >&2
	exit 69
}
make --no-print-directory -j2 all >/dev/null || {
	echo "quickstart: the build failed (exit $?); run make to see why" >&2
	exit 70
}

mkdir -p "$dir"
if [ -f "$dir/logd.pid" ] && kill -0 "$(cat "$dir/logd.pid")" 2>/dev/null; then
	echo "quickstart: logd already running (pid $(cat "$dir/logd.pid"))"
else
	rm -f "$dir/addr"
	bin/logd -d "$dir/data" -l "127.0.0.1:$port" --addr-file "$dir/addr" \
	    >>"$dir/logd.log" 2>&1 &
	echo $! >"$dir/logd.pid"
	for _ in $(seq 100); do
		[ -s "$dir/addr" ] && break
		kill -0 "$(cat "$dir/logd.pid")" 2>/dev/null || {
			echo "quickstart: logd failed to start; see $dir/logd.log" >&2
			exit 69
		}
		sleep 0.1
	done
fi
brokers=$(cat "$dir/addr")
export KLOG_BROKERS=$brokers

stop_cmd="examples/quickstart.sh stop"
[ -z "${KLOG_DEMO_DIR:-}" ] || stop_cmd="KLOG_DEMO_DIR=$dir $stop_cmd"
topic=quickstart-$(date +%s)
echo "quickstart: broker at $brokers, data in $dir/data, topic $topic"
seq 1 "$records" | sed 's/^/record /' | bin/kprod -t "$topic" -z lz4 -v
got=$(bin/kcons -t "$topic" -e | wc -l)
echo "quickstart: produced $records records, read back $got"
bin/kcons -t "$topic" -o -3 -e -f 'partition %p offset %o: %s\n'
[ "$got" -eq "$records" ] || { echo "quickstart: records missing" >&2; exit 1; }
cat <<MSG

logd keeps running (pid $(cat "$dir/logd.pid"), log in $dir/logd.log):
  export KLOG_BROKERS=$brokers
  seq 1 10 | bin/kprod -t mytopic          # produce
  bin/kcons -t mytopic -e                  # consume to the end
  bin/logd ctl -d $dir/data topics         # offsets and sizes
Stop it with: $stop_cmd
MSG
