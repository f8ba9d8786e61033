#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# klog against its peers on the same machine with the same payloads: N
# records of SIZE bytes (the lines of one pre-generated file: a 10-digit
# sequence number padded with 'x'), one partition / stream, all servers on
# 127.0.0.1, each run on a freshly started server in a fresh directory:
#   klog        `cat file | kprod -a 1` into logd (one partition, logd's
#               defaults: no fsync), then `kcons -e >/dev/null`;
#   klog-fsync  the same with logd -o log.flush.interval.ms=1000 (fsync
#               every second, what Redis's appendfsync everysec does);
#   redis-aof   Redis Streams, appendonly yes, appendfsync everysec: XADD
#               KEY * v LINE pipelined (build/bench/redis_stream, hiredis,
#               1000 commands a window, the next window sent before the
#               replies to the last are read), then XREAD COUNT 1000 until
#               every entry has come back;
#   redis       the same with appendonly no (memory only);
#   nats        NATS JetStream (nats-server -js, file store): js_PublishAsync
#               with up to 65536 unacknowledged, then a pull consumer
#               fetching batches of 10000 (build/bench/nats_js, libnats).
# The order of the competitors rotates from run to run. Prints every run,
# the median and best records/s of each, the ratios klog/peer for produce
# and consume, the servers' CPU seconds for producing, the machine, the
# versions and the commands. Every run is checked: logd's log end offset
# and kcons's output byte for byte against the input; the peers' clients
# check every value read back, in order, and the publish acknowledgments.
#
# The peers' clients load the input into memory before their clock starts
# and time from their first command to the last reply (after connecting,
# and after creating the stream or consumer); klog is timed around the
# whole `cat file | kprod` and `kcons` processes, start-up included. Any
# bias is in the peers' favour.
#
# Redis and NATS are skipped, with what to install, when their server or
# client library is missing; BENCH_INSTALL=1 installs them with apt-get
# (as root). Every server started is stopped on exit, failure included.
#
# usage: bench/peers.sh [--quick] [--records N] [--size BYTES] [--runs R]
#                       [--only LIST]
# LIST: comma-separated from klog,klog-fsync,redis-aof,redis,nats.
# Environment (flags win): BENCH_RECORDS (10000000), BENCH_SIZE (100),
# BENCH_RUNS (3), BENCH_PEERS (LIST), BENCH_INSTALL, BENCH_BUILD (where
# bench/ helpers are built, default build), BENCH_REDIS_PIPELINE (1000),
# BENCH_REDIS_COUNT (1000), BENCH_NATS_PENDING (65536), BENCH_NATS_BATCH
# (10000), LIMITS_OUT (a file from bench/limits.sh: klog is also put
# against those limits).
set -eu
cd "$(dirname "$0")/.." || exit 70

usage="usage: bench/peers.sh [--quick] [--records N] [--size BYTES] [--runs R] [--only LIST]"
records=${BENCH_RECORDS:-10000000}
size=${BENCH_SIZE:-100}
runs=${BENCH_RUNS:-3}
only=${BENCH_PEERS:-klog,klog-fsync,redis-aof,redis,nats}
pipeline=${BENCH_REDIS_PIPELINE:-1000}
xcount=${BENCH_REDIS_COUNT:-1000}
pending=${BENCH_NATS_PENDING:-65536}
nbatch=${BENCH_NATS_BATCH:-10000}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) records=1000000; runs=3; shift ;;
	--records) records=${2:?$usage}; shift 2 ;;
	--size) size=${2:?$usage}; shift 2 ;;
	--runs) runs=${2:?$usage}; shift 2 ;;
	--only) only=${2:?$usage}; shift 2 ;;
	-h | --help) echo "$usage"; exit 0 ;;
	*) echo "$usage" >&2; exit 64 ;;
	esac
done
case $records$size$runs$pipeline$xcount$pending$nbatch in
*[!0-9]*) echo "$usage" >&2; exit 64 ;;
esac
[ "$records" -gt 0 ] && [ "$size" -ge 11 ] && [ "$runs" -gt 0 ] &&
    [ "$pipeline" -gt 0 ] && [ "$xcount" -gt 0 ] && [ "$pending" -gt 0 ] &&
    [ "$nbatch" -gt 0 ] || { echo "$usage (--size at least 11)" >&2; exit 64; }
want=()
for c in ${only//,/ }; do
	case $c in
	klog | klog-fsync | redis-aof | redis | nats) want+=("$c") ;;
	*) echo "peers: unknown competitor '$c' (klog, klog-fsync, redis-aof, redis, nats)" >&2; exit 64 ;;
	esac
done
[ ${#want[@]} -gt 0 ] || { echo "$usage" >&2; exit 64; }
wants() { case " ${want[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

for b in bin/logd bin/kprod bin/kcons; do
	[ -x "$b" ] || make --no-print-directory "$b" >&2
done

# install_pkgs PKG...: apt-get install, only with BENCH_INSTALL=1 as root.
install_pkgs() {
	[ "${BENCH_INSTALL:-0}" = 1 ] && [ "$(id -u)" = 0 ] &&
	    command -v apt-get >/dev/null || return 1
	echo "peers: installing $*" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# The peers' clients: C files beside this script, built into
# $BENCH_BUILD/bench with their library's pkg-config flags. The Makefile
# builds them when it knows them; otherwise they are compiled here.
bdir=${BENCH_BUILD:-build}/bench
# build_helper NAME PKG: make sure $bdir/NAME is built and current.
build_helper() {
	local name=$1 pkg=$2 src out=$bdir/$1
	src=bench/peers/$name.c
	[ -f "$src" ] || src=bench/$name.c
	[ -x "$out" ] && [ "$out" -nt "$src" ] && return 0
	if [ "$bdir" = build/bench ] &&
	    make --no-print-directory "$out" >/dev/null 2>&1; then
		return 0
	fi
	mkdir -p "$bdir"
	# shellcheck disable=SC2046
	${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -Wall -Wextra \
	    -Ilibcommon $(pkg-config --cflags "$pkg") -o "$out" "$src" \
	    $(pkg-config --libs "$pkg")
}

# Which peers can run: the server and the client library, or skip.
skipped=()
if wants redis-aof || wants redis; then
	miss=()
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || miss+=(redis-server)
	pkg-config --exists hiredis 2>/dev/null || miss+=(libhiredis-dev)
	[ ${#miss[@]} -eq 0 ] || install_pkgs "${miss[@]}" || true
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null ||
	    ! pkg-config --exists hiredis 2>/dev/null; then
		skipped+=("Redis Streams: needs ${miss[*]} (apt-get install ${miss[*]}, or BENCH_INSTALL=1 as root)")
		want=("${want[@]/redis-aof/}") want=("${want[@]/redis/}")
	elif ! build_helper redis_stream hiredis; then
		echo "peers: could not build $bdir/redis_stream" >&2
		exit 1
	fi
fi
if wants nats; then
	miss=()
	command -v nats-server >/dev/null || miss+=(nats-server)
	pkg-config --exists libnats 2>/dev/null || miss+=(libnats-dev)
	[ ${#miss[@]} -eq 0 ] || install_pkgs "${miss[@]}" || true
	if ! command -v nats-server >/dev/null || ! pkg-config --exists libnats 2>/dev/null; then
		skipped+=("NATS JetStream: needs ${miss[*]} (apt-get install ${miss[*]}, or BENCH_INSTALL=1 as root)")
		want=("${want[@]/nats/}")
	elif ! build_helper nats_js libnats; then
		echo "peers: could not build $bdir/nats_js" >&2
		exit 1
	fi
fi
read -r -a want <<<"${want[*]}"		# drop the emptied entries
[ ${#want[@]} -gt 0 ] || { printf 'peers: skipped %s\n' "${skipped[@]}" >&2; exit 69; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/klog-peers.XXXXXX")
logd_pid='' redis_pid='' nats_pid='' client_pid='' server_log=''
# stop PID: TERM it and wait for it to go.
stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	local rc=$?
	stop "$client_pid"
	stop "$logd_pid"
	stop "$redis_pid"
	stop "$nats_pid"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] &&
	    [ -n "$server_log" ] && [ -s "$server_log" ]; then
		echo "peers: failed; the server's log ($server_log):" >&2
		tail -20 "$server_log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hz=$(getconf CLK_TCK)
calc() { awk "BEGIN { printf $1 }"; }
# cpu_ticks PID: utime + stime of PID in clock ticks.
cpu_ticks() {
	local stat f
	stat=$(<"/proc/$1/stat")
	read -r -a f <<<"${stat##*) }"
	echo $((f[11] + f[12]))
}
# field KEY LINE: the value of KEY=VALUE in a line of key=value pairs.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# start_logd DIR [LOGD OPTIONS]: sets logd_pid and addr.
start_logd() {
	local dir=$1
	shift
	server_log=$dir/logd.log
	bin/logd -q -d "$dir/data" -l 127.0.0.1:0 --addr-file "$dir/addr" "$@" \
	    2>"$server_log" &
	logd_pid=$!
	for _ in $(seq 200); do
		[ -s "$dir/addr" ] && break
		kill -0 "$logd_pid" 2>/dev/null || { echo "peers: logd exited" >&2; exit 1; }
		sleep 0.05
	done
	[ -s "$dir/addr" ] || { echo "peers: logd did not start" >&2; exit 1; }
	addr=$(cat "$dir/addr")
}

# start_redis DIR yes|no: redis-server on a random free port on 127.0.0.1
# (another is tried if it is taken), its files in DIR, RDB snapshots and
# AOF rewrites off (both fork the server mid-run; with 10M entries a
# rewrite would land in the measurement); sets redis_pid and port.
start_redis() {
	local dir=$1 aof=$2 attempt
	server_log=$dir/redis.log
	for attempt in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
		    --save '' --appendonly "$aof" --appendfsync everysec \
		    --auto-aof-rewrite-percentage 0 --daemonize no \
		    --logfile "$server_log" >/dev/null 2>&1 &
		redis_pid=$!
		for _ in $(seq 200); do
			kill -0 "$redis_pid" 2>/dev/null || break
			if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
				return 0
			fi
			sleep 0.05
		done
		stop "$redis_pid"
		redis_pid=
		echo "peers: redis-server on port $port: attempt $attempt failed: $(tail -1 "$server_log" 2>/dev/null)" >&2
	done
	echo "peers: redis-server did not start" >&2
	exit 1
}

# start_nats DIR: nats-server -js on a port of its choosing on 127.0.0.1
# (read from its ports file), its file store in DIR; sets nats_pid and url.
start_nats() {
	local dir=$1 pf
	server_log=$dir/nats.log
	nats-server -js -sd "$dir/js" -a 127.0.0.1 -p -1 --ports_file_dir "$dir" \
	    -l "$server_log" >/dev/null 2>&1 &
	nats_pid=$!
	url=
	for _ in $(seq 200); do
		kill -0 "$nats_pid" 2>/dev/null || { echo "peers: nats-server exited" >&2; exit 1; }
		pf=$dir/nats-server_$nats_pid.ports
		if [ -s "$pf" ] && grep -q 'Server is ready' "$server_log" 2>/dev/null; then
			url=$(sed -n 's/.*"\(nats:\/\/[^"]*\)".*/\1/p' "$pf")
			[ -n "$url" ] && return 0
		fi
		sleep 0.05
	done
	echo "peers: nats-server did not start" >&2
	exit 1
}

# client WHAT OUT CMD...: run the client CMD with its output in OUT,
# setting SECS to its wall time; stops the benchmark if it fails. It runs
# in the background, waited for, so that a signal stops the benchmark at
# once (the EXIT trap stops the client and the servers).
# With --cat FILE first, CMD reads FILE through a pipe (cat FILE | CMD);
# client_pid is then CMD's (cat ends with it).
client() {
	local what=$1 out=$2 start end
	shift 2
	start=$EPOCHREALTIME
	if [ "$1" = --cat ]; then
		local file=$2
		shift 2
		# shellcheck disable=SC2002 # kprod reads a pipe, as in use
		cat "$file" | "$@" >"$out" &
	else
		"$@" >"$out" &
	fi
	client_pid=$!
	wait "$client_pid" || { echo "peers: $what failed: $*" >&2; exit 1; }
	end=$EPOCHREALTIME
	client_pid=
	SECS=$(calc "\"%.4f\", $end - $start")
}

# The input, as bench/pipeline-produce makes it.
input=$tmp/input.txt
awk -v n="$records" -v s="$size" 'BEGIN {
	pad = sprintf("%*s", s - 10, ""); gsub(/ /, "x", pad)
	for (i = 0; i < n; i++) printf "%010d%s\n", i, pad
}' >"$input"
cat "$input" >/dev/null

# run_one NAME RUN: one run of one competitor on a fresh server; sets
# P_RATE, C_RATE (records/s) and P_CPU (the server's CPU seconds while
# producing).
run_one() {
	local name=$1 r=$2 dir=$tmp/$1-$2 line t0 end
	mkdir -p "$dir"
	case $name in
	klog | klog-fsync)
		if [ "$name" = klog ]; then
			start_logd "$dir"
		else
			start_logd "$dir" -o log.flush.interval.ms=1000
		fi
		# The topic exists before the clock starts, as the peers' streams do.
		printf '' | bin/kprod -q -a 1 -b "$addr" -t bench
		t0=$(cpu_ticks "$logd_pid")
		client "$name run $r: kprod" /dev/null --cat "$input" \
		    bin/kprod -q -a 1 -b "$addr" -t bench
		P_CPU=$(calc "\"%.2f\", ($(cpu_ticks "$logd_pid") - $t0) / $hz")
		P_RATE=$(calc "\"%.0f\", $records / $SECS")
		end=$(bin/logd ctl -d "$dir/data" topics | awk '$1 == "bench" && $2 == 0 { print $4 }')
		[ "$end" = "$records" ] || {
			echo "peers: $name run $r: log end offset $end, expected $records" >&2
			exit 1
		}
		client "$name run $r: kcons" /dev/null bin/kcons -b "$addr" -t bench -e
		C_RATE=$(calc "\"%.0f\", $records / $SECS")
		bin/kcons -b "$addr" -t bench -e | cmp -s - "$input" || {
			echo "peers: $name run $r: kcons's output differs from the input" >&2
			exit 1
		}
		stop "$logd_pid"
		logd_pid=
		;;
	redis-aof | redis)
		if [ "$name" = redis ]; then start_redis "$dir" no; else start_redis "$dir" yes; fi
		t0=$(cpu_ticks "$redis_pid")
		client "$name run $r: produce" "$dir/out" "$bdir/redis_stream" \
		    -a "127.0.0.1:$port" -k bench -P "$pipeline" -f "$input" produce
		line=$(<"$dir/out")
		P_CPU=$(calc "\"%.2f\", ($(cpu_ticks "$redis_pid") - $t0) / $hz")
		P_RATE=$(field records_per_s "$line")
		client "$name run $r: consume" "$dir/out" "$bdir/redis_stream" \
		    -a "127.0.0.1:$port" -k bench -C "$xcount" -f "$input" consume
		line=$(<"$dir/out")
		C_RATE=$(field records_per_s "$line")
		stop "$redis_pid"
		redis_pid=
		;;
	nats)
		start_nats "$dir"
		t0=$(cpu_ticks "$nats_pid")
		client "$name run $r: produce" "$dir/out" "$bdir/nats_js" -u "$url" \
		    -m "$pending" -f "$input" produce
		line=$(<"$dir/out")
		P_CPU=$(calc "\"%.2f\", ($(cpu_ticks "$nats_pid") - $t0) / $hz")
		P_RATE=$(field records_per_s "$line")
		client "$name run $r: consume" "$dir/out" "$bdir/nats_js" -u "$url" \
		    -b "$nbatch" -f "$input" consume
		line=$(<"$dir/out")
		C_RATE=$(field records_per_s "$line")
		NATS_ACKS=$(field ack_policy "$line")
		stop "$nats_pid"
		nats_pid=
		;;
	esac
	server_log=
	rm -rf "$dir"
}

label() {
	case $1 in
	klog) echo "klog (kprod -a 1 -> logd)" ;;
	klog-fsync) echo "klog, logd fsync every 1 s" ;;
	redis-aof) echo "Redis Streams, AOF everysec" ;;
	redis) echo "Redis Streams, no AOF" ;;
	nats) echo "NATS JetStream, file store" ;;
	esac
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')
echo "# klog against Redis Streams and NATS JetStream, same payloads, same machine"
echo "machine: $(nproc) cpus${cpu:+ ($cpu)}," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)," \
    "linux $(uname -r); data directories on $fs"
echo "records: $records x $size bytes, one partition/stream, servers on 127.0.0.1," \
    "a fresh server per run; $runs runs, order rotating; medians"
for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo

declare -A prod cons pcpu
NATS_ACKS=
for r in $(seq 1 "$runs"); do
	n=${#want[@]}
	for ((i = 0; i < n; i++)); do
		who=${want[$(((i + r - 1) % n))]}
		run_one "$who" "$r"
		prod[$who]+=" $P_RATE"
		cons[$who]+=" $C_RATE"
		pcpu[$who]+=" $P_CPU"
		printf '  run %d  %-11s produce %10s records/s  consume %10s records/s  server cpu %6s s\n' \
		    "$r" "$who" "$P_RATE" "$C_RATE" "$P_CPU"
	done
done

# stats VALUES...: "median best".
stats() {
	printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f %.0f\n", m, v[NR] }'
}
med_cpu() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo
printf '  %-30s %14s %12s %14s %12s %10s\n' "" "produce/s" "best" "consume/s" "best" "server cpu"
declare -A pmed cmed
raw=()
for who in "${want[@]}"; do
	# shellcheck disable=SC2086
	read -r pm pb < <(stats ${prod[$who]})
	# shellcheck disable=SC2086
	read -r cm cb < <(stats ${cons[$who]})
	# shellcheck disable=SC2086
	pc=$(med_cpu ${pcpu[$who]})
	pmed[$who]=$pm cmed[$who]=$cm
	printf '  %-30s %14s %12s %14s %12s %8s s\n' "$(label "$who")" "$pm" "$pb" "$cm" "$cb" "$pc"
	k=${who//-/_}
	raw+=("${k}_produce_rps=$pm ${k}_consume_rps=$cm ${k}_produce_server_cpu_s=$pc")
done
echo

# ratio A B: A / B to two decimals, or "-" when either is missing.
ratio() {
	if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then calc "\"%.2f\", $1 / $2"; else echo -; fi
}
if [ -n "${pmed[klog]:-}" ]; then
	for peer in redis-aof redis nats klog-fsync; do
		[ -n "${pmed[$peer]:-}" ] || continue
		target=
		case $peer in
		redis-aof | redis) target=" (issue 8 target: 10x XADD)" ;;
		nats) target=" (issue 8 target: 40x publish)" ;;
		esac
		printf '  ratio  klog / %-10s produce %6sx  consume %6sx%s\n' "$peer" \
		    "$(ratio "${pmed[klog]}" "${pmed[$peer]}")" \
		    "$(ratio "${cmed[klog]}" "${cmed[$peer]}")" "$target"
		raw+=("klog_over_${peer//-/_}_produce=$(ratio "${pmed[klog]}" "${pmed[$peer]}")")
	done
fi
if [ -n "${pmed[klog-fsync]:-}" ] && [ -n "${pmed[redis-aof]:-}" ]; then
	printf '  ratio  klog-fsync / redis-aof produce %6sx  (both fsync once a second)\n' \
	    "$(ratio "${pmed[klog-fsync]}" "${pmed[redis-aof]}")"
fi
if [ -n "${LIMITS_OUT:-}" ] && [ -r "$LIMITS_OUT" ] && [ -n "${pmed[klog]:-}" ]; then
	# shellcheck disable=SC1090
	. "$LIMITS_OUT"
	[ -z "${LIMIT_PIPE_LINES_PER_S:-}" ] ||
	    echo "  limits klog produce = $(ratio "${pmed[klog]}" "$LIMIT_PIPE_LINES_PER_S")x the pipe's lines/s (read+memchr) from $LIMITS_OUT"
	[ -z "${LIMIT_SENDFILE_MBS:-}" ] ||
	    echo "  limits klog consume = $(calc "\"%.3f\", ${cmed[klog]} * $size / 1e6 / $LIMIT_SENDFILE_MBS")x sendfile to loopback (values only)"
fi
echo
echo "raw: ${raw[*]}"
echo

vers="kprod $(bin/kprod -V 2>/dev/null | head -1 | awk '{ print $NF }')"
if wants redis || wants redis-aof; then
	vers+="; redis-server $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'), hiredis $(pkg-config --modversion hiredis)"
fi
if wants nats; then
	vers+="; nats-server $(nats-server --version | awk '{ print $NF }'), libnats $(pkg-config --modversion libnats)"
	[ -z "$NATS_ACKS" ] || vers+=" (pull consumer ack policy: $NATS_ACKS)"
fi
echo "versions: $vers"
repeat="bench/peers.sh --records $records --size $size --runs $runs --only $(IFS=,; echo "${want[*]}")"
envs=
[ "$pipeline" = 1000 ] || envs+="BENCH_REDIS_PIPELINE=$pipeline "
[ "$xcount" = 1000 ] || envs+="BENCH_REDIS_COUNT=$xcount "
[ "$pending" = 65536 ] || envs+="BENCH_NATS_PENDING=$pending "
[ "$nbatch" = 10000 ] || envs+="BENCH_NATS_BATCH=$nbatch "
echo "repeat:  $envs$repeat"
echo "commands (\$IN: the input file, a fresh server each):"
wants klog && echo "  logd -q -d \$DIR/data -l 127.0.0.1:0; cat \$IN | kprod -q -a 1 -b ADDR -t bench; kcons -b ADDR -t bench -e >/dev/null"
wants klog-fsync && echo "  the same with logd -o log.flush.interval.ms=1000"
if wants redis-aof || wants redis; then
	echo "  redis-server --bind 127.0.0.1 --port PORT --dir \$DIR --save '' --appendonly yes|no --appendfsync everysec --auto-aof-rewrite-percentage 0"
	echo "  $bdir/redis_stream -a 127.0.0.1:PORT -k bench -P $pipeline -f \$IN produce; ... -C $xcount -f \$IN consume"
fi
if wants nats; then
	echo "  nats-server -js -sd \$DIR/js -a 127.0.0.1 -p -1"
	echo "  $bdir/nats_js -u URL -m $pending -f \$IN produce; ... -b $nbatch -f \$IN consume"
fi
