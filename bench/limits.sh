#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Limits of this machine, measured in this run, for the other benchmarks to
# be read against:
#   - loopback TCP bandwidth: one iperf3 stream over 127.0.0.1 (server on a
#     random free port, -t SECS);
#   - sendfile(2) from a page-cached file into a loopback TCP socket whose
#     reader discards what it reads (build/bench/sendfile_rate), logd's
#     Fetch path;
#   - sequential write bandwidth into the page cache (dd bs=1M) and with a
#     final fdatasync (dd bs=1M conv=fdatasync), in the benchmark directory;
#   - lines/s read from a pipe: `cat file | pipe_lines` (read() into 4 MiB,
#     memchr per line: build/bench/pipe_lines), kprod's input path, with
#     `cat file | wc -l` beside it, over N lines of 100 bytes + newline.
# Each is measured RUNS times in rounds; the median is reported. Every
# result is one line `KEY=VALUE  # text` (valid shell), and the same
# assignments go to the file named by --out / $LIMITS_OUT, which other
# benchmarks can source. VALUE is empty when a limit could not be measured.
#
# usage: bench/limits.sh [--quick] [--records N] [--mib MIB] [--seconds S]
#                        [--runs R] [--dir DIR] [--out FILE]
# Sizes also come from the environment: BENCH_RECORDS, BENCH_MIB,
# BENCH_SECS, BENCH_RUNS, LIMITS_OUT (the flags win). BENCH_INSTALL=1 lets
# it apt-get install iperf3 when missing (as root).
set -eu
cd "$(dirname "$0")/.." || exit 70

usage="usage: bench/limits.sh [--quick] [--records N] [--mib MIB] [--seconds S] [--runs R] [--dir DIR] [--out FILE]"
records=${BENCH_RECORDS:-10000000}
mib=${BENCH_MIB:-1024}
secs=${BENCH_SECS:-3}
runs=${BENCH_RUNS:-3}
out=${LIMITS_OUT:-}
dir=
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) records=1000000; mib=128; secs=1; args+=(--quick); shift ;;
	--records) records=${2:?$usage}; args+=(--records "$2"); shift 2 ;;
	--mib) mib=${2:?$usage}; args+=(--mib "$2"); shift 2 ;;
	--seconds) secs=${2:?$usage}; args+=(--seconds "$2"); shift 2 ;;
	--runs) runs=${2:?$usage}; args+=(--runs "$2"); shift 2 ;;
	--dir) dir=${2:?$usage}; args+=(--dir "$2"); shift 2 ;;
	--out) out=${2:?$usage}; shift 2 ;;
	-h | --help) echo "$usage"; exit 0 ;;
	*) echo "$usage" >&2; exit 64 ;;
	esac
done
case $records$mib$secs$runs in
*[!0-9]*) echo "$usage" >&2; exit 64 ;;
esac
[ "$records" -gt 0 ] && [ "$mib" -gt 0 ] && [ "$secs" -gt 0 ] &&
    [ "$runs" -gt 0 ] || { echo "$usage" >&2; exit 64; }

# The C helpers: built by the Makefile from bench/*.c into
# $BENCH_BUILD/bench (default build/bench, the Makefile's O=build).
bdir=${BENCH_BUILD:-build}/bench
for h in sendfile_rate pipe_lines; do
	if [ ! -x "$bdir/$h" ]; then
		if [ "$bdir" = build/bench ]; then
			make --no-print-directory "$bdir/$h" >&2
		else
			echo "limits: $bdir/$h is not built" >&2
			exit 66
		fi
	fi
done

if ! command -v iperf3 >/dev/null && [ "${BENCH_INSTALL:-0}" = 1 ] &&
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "limits: installing iperf3" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null 2>&1 || true
fi

made_dir=
if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/klog-limits.XXXXXX")
	made_dir=$dir
else
	mkdir -p "$dir"
fi
work=$(mktemp -d "$dir/limits.XXXXXX")
iperf_pid=
cleanup() {
	local rc=$?
	if [ -n "$iperf_pid" ] && kill -0 "$iperf_pid" 2>/dev/null; then
		kill -TERM "$iperf_pid" 2>/dev/null || true
		wait "$iperf_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	[ -z "$made_dir" ] || rm -rf "$made_dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

calc() { awk "BEGIN { printf $1 }"; }
# field KEY LINE: the value of KEY=VALUE in a line of key=value pairs.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
# median VALUES...: the median of the non-empty values (empty if none).
median() {
	printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f\n", m }'
}
# elapsed START END: seconds between two $EPOCHREALTIME readings.
elapsed() { calc "\"%.4f\", $2 - $1"; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
fs=$(df -PT "$work" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
echo "# machine limits (loopback TCP, sendfile, page-cache writes, pipe reads)"
echo "machine: $(nproc) cpus${cpu:+ ($cpu)}, ${mem:-? GiB}, linux $(uname -r); directory on $fs"
echo "sizes:   dd ${mib} MiB; sendfile file ${mib} MiB for ${secs} s; iperf3 ${secs} s;" \
    "pipe $records lines of 100 bytes + newline; $runs runs, medians"
echo

# loopback_mbs: one iperf3 TCP stream over 127.0.0.1 for $secs s; sets
# MBS (empty, with the reason on stderr, on failure). The server takes one
# client (-1) on a random port, retried if the port is taken. Not run in a
# subshell, so that the EXIT trap knows the server's pid.
loopback_mbs() {
	local port json mbs attempt why=
	for attempt in 1 2 3; do
		port=$((20000 + RANDOM % 40000))
		iperf3 -s -1 -B 127.0.0.1 -p "$port" >"$work/iperf-s.out" 2>&1 &
		iperf_pid=$!
		json=
		for _ in $(seq 50); do
			kill -0 "$iperf_pid" 2>/dev/null || break	# port taken
			json=$(timeout $((secs + 30)) iperf3 -c 127.0.0.1 -p "$port" \
			    -t "$secs" -J 2>&1) && break
			json=
			sleep 0.1
		done
		kill -TERM "$iperf_pid" 2>/dev/null || true
		wait "$iperf_pid" 2>/dev/null || true
		iperf_pid=
		mbs=$(printf '%s\n' "$json" | awk '
		    /"sum_received"/ { r = 1 }
		    r && /"bits_per_second"/ {
			v = $2; gsub(/[^0-9.e+]/, "", v); printf "%.1f", v / 8 / 1e6; exit
		    }')
		if [ -n "$mbs" ]; then
			MBS=$mbs
			return 0
		fi
		why+="$(printf '  attempt %d (port %d): %s' "$attempt" "$port" \
		    "$(printf '%s\n' "$json" | grep '"error"' || tail -1 "$work/iperf-s.out")")
"
	done
	printf 'limits: iperf3 failed:\n%s' "$why" >&2
	MBS=
	return 1
}

# dd_mbs [FLAGS]: MB/s of dd writing $mib MiB of zeros to a new file.
dd_mbs() {
	local start end
	rm -f "$work/dd.out"
	start=$EPOCHREALTIME
	# shellcheck disable=SC2086 # no flag or one
	dd if=/dev/zero of="$work/dd.out" bs=1M count="$mib" ${1:-} status=none
	end=$EPOCHREALTIME
	rm -f "$work/dd.out"
	calc "\"%.1f\", $mib * 1048576 / 1e6 / ($end - $start)"
}

# The pipe input: the same lines as bench/pipeline-produce (a 10-digit
# sequence number padded with 'x' to 100 bytes), read once to cache it.
input=$work/lines.txt
awk -v n="$records" 'BEGIN {
	pad = sprintf("%90s", ""); gsub(/ /, "x", pad)
	for (i = 0; i < n; i++) printf "%010d%s\n", i, pad
}' >"$input"
cat "$input" >/dev/null

have_iperf=1
command -v iperf3 >/dev/null || have_iperf=
declare -a tcp sf wr fds pl wc
for r in $(seq 1 "$runs"); do
	t=
	if [ -n "$have_iperf" ]; then
		loopback_mbs || true
		t=$MBS
	fi
	tcp+=("$t")

	line=$("$bdir/sendfile_rate" -d "$work" -s "${mib}m" -t "$secs")
	s=$(field mb_per_s "$line")
	sf+=("$s")

	w=$(dd_mbs)
	wr+=("$w")
	f=$(dd_mbs conv=fdatasync)
	fds+=("$f")

	start=$EPOCHREALTIME
	# shellcheck disable=SC2002 # the pipe is what is measured
	line=$(cat "$input" | "$bdir/pipe_lines")
	end=$EPOCHREALTIME
	n=$(field lines "$line")
	if [ "$n" != "$records" ]; then
		echo "limits: pipe_lines counted $n lines, expected $records" >&2
		exit 1
	fi
	p=$(calc "\"%.0f\", $records / ($end - $start)")
	pl+=("$p")

	start=$EPOCHREALTIME
	# shellcheck disable=SC2002
	n=$(cat "$input" | wc -l)
	end=$EPOCHREALTIME
	if [ "$n" != "$records" ]; then
		echo "limits: wc -l counted $n lines, expected $records" >&2
		exit 1
	fi
	c=$(calc "\"%.0f\", $records / ($end - $start)")
	wc+=("$c")

	printf '  run %d  tcp %8s MB/s  sendfile %8s MB/s  write %7s MB/s  fdatasync %7s MB/s  pipe %9s lines/s  wc -l %9s lines/s\n' \
	    "$r" "${t:--}" "$s" "$w" "$f" "$p" "$c"
done
echo

m_tcp=$(median "${tcp[@]}")
m_sf=$(median "${sf[@]}")
m_wr=$(median "${wr[@]}")
m_fs=$(median "${fds[@]}")
m_pl=$(median "${pl[@]}")
m_wc=$(median "${wc[@]}")
m_pl=${m_pl%.*}
m_wc=${m_wc%.*}

# recs MB/S: the same bandwidth in 100-byte values per second (millions).
recs() { calc "\"%.1f\", $1 / 100"; }
all() { local IFS=' '; echo "$*"; }

results=()
if [ -n "$m_tcp" ]; then
	results+=("LIMIT_TCP_LOOPBACK_MBS=$m_tcp	# loopback TCP, iperf3, 1 stream, $secs s: $m_tcp MB/s (= $(recs "$m_tcp") M 100-byte values/s); runs: $(all "${tcp[@]}")")
elif [ -z "$have_iperf" ]; then
	results+=("LIMIT_TCP_LOOPBACK_MBS=	# loopback TCP: not measured, iperf3 is not installed (apt-get install iperf3, or BENCH_INSTALL=1)")
else
	results+=("LIMIT_TCP_LOOPBACK_MBS=	# loopback TCP: not measured, iperf3 failed (see above)")
fi
results+=("LIMIT_SENDFILE_MBS=$m_sf	# sendfile, page-cached ${mib} MiB file to a loopback socket, $secs s: $(calc "\"%.2f\", $m_sf / 1000") GB/s (= $(recs "$m_sf") M 100-byte values/s); runs: $(all "${sf[@]}")")
results+=("LIMIT_WRITE_MBS=$m_wr	# sequential write to the page cache, dd bs=1M, ${mib} MiB: $m_wr MB/s; runs: $(all "${wr[@]}")")
results+=("LIMIT_WRITE_FDATASYNC_MBS=$m_fs	# sequential write + fdatasync, dd bs=1M conv=fdatasync, ${mib} MiB: $m_fs MB/s; runs: $(all "${fds[@]}")")
results+=("LIMIT_PIPE_LINES_PER_S=$m_pl	# lines/s from a pipe, cat | read()+memchr, $records lines of 101 bytes: $(calc "\"%.2f\", $m_pl / 1e6") M lines/s ($(calc "\"%.0f\", $m_pl * 101 / 1e6") MB/s); runs: $(all "${pl[@]}")")
results+=("LIMIT_PIPE_WC_LINES_PER_S=$m_wc	# lines/s from a pipe, cat | wc -l (reference): $(calc "\"%.2f\", $m_wc / 1e6") M lines/s; runs: $(all "${wc[@]}")")
printf '%s\n' "${results[@]}"

if [ -n "$out" ]; then
	{
		echo "# machine limits measured by bench/limits.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf 'LIMIT_MACHINE=%q\n' "$(nproc) cpus${cpu:+ ($cpu)}, ${mem:-? GiB}, linux $(uname -r)"
		printf 'LIMIT_CPUS=%s\nLIMIT_KERNEL=%q\nLIMIT_RUNS=%s\n' "$(nproc)" "$(uname -r)" "$runs"
		printf '%s\n' "${results[@]}"
	} >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
	echo "env file: $out"
fi
echo
repeat="bench/limits.sh --records $records --mib $mib --seconds $secs --runs $runs"
[ -z "$made_dir" ] && repeat="$repeat --dir $dir"
[ -z "$out" ] || repeat="$repeat --out $out"
echo "repeat:  $repeat"
echo "commands:"
echo "  iperf3 -s -1 -B 127.0.0.1 -p PORT & iperf3 -c 127.0.0.1 -p PORT -t $secs -J"
echo "  $bdir/sendfile_rate -d \$DIR -s ${mib}m -t $secs"
echo "  dd if=/dev/zero of=\$DIR/dd.out bs=1M count=$mib [conv=fdatasync]"
echo "  cat \$DIR/lines.txt | $bdir/pipe_lines;  cat \$DIR/lines.txt | wc -l"
