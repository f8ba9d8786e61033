#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: every benchmark in bench/ in turn, each printing its
# machine, commands, medians and ratios measured in the same run; copy the
# results into docs/benchmarks.md with the machine they came from.
#
#   bench/run.sh            full size (issue 8's 10 M records; about an hour)
#   bench/run.sh --quick    each bench's --quick size
#   bench/run.sh --smoke    seconds each, tiny counts: checks that every
#                           bench still runs end to end (CI); speeds mean
#                           nothing. Ends with "N passed, N failed" and,
#                           when RESULTS_FILE is set, adds "N N 0" to it.
set -u
cd "$(dirname "$0")/.." || exit 70

mode=full
case ${1:-} in
'') ;;
--quick) mode=quick ;;
--smoke) mode=smoke ;;
-h | --help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "usage: bench/run.sh [--quick | --smoke]" >&2; exit 64 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name, then its arguments at full size, quick size and smoke size. The
# latency plot goes to docs/ only from a full run.
benches=(
	"limits.sh|--out $tmp/limits.env|--quick --out $tmp/limits.env|--records 20000 --mib 8 --seconds 1 --runs 1 --out $tmp/limits.env"
	"throughput|--records 10000000|--quick|--records 20000 --runs 1 --seconds 1"
	"peers.sh|--records 10000000|--quick|--records 20000 --runs 1"
	"latency||--quick --out $tmp|--seconds 1 --rate 5000 --runs 1 --warmup 1 --out $tmp"
	"scaling||--quick|--records 20000 --runs 1 --partitions '1 8' --producers '1 2' --fetchers 50 --idle-secs 1"
	"idle||--quick|--topics 50 --secs 1 --runs 1"
	"durability||--quick|--records 20000 --runs 1"
	"log-append||--quick|--total 16"
	"replication||--quick|--records 20000 --runs 1 --kills 1"
)

export LIMITS_OUT=$tmp/limits.env
passed=0 failed=0 status=0
for entry in "${benches[@]}"; do
	IFS='|' read -r name full quick smoke <<<"$entry"
	case $mode in
	full) args=$full ;;
	quick) args=$quick ;;
	smoke) args=$smoke ;;
	esac
	b=bench/$name
	echo "=== $b $args"
	start=$(date +%s)
	if eval "\"$b\" $args"; then
		passed=$((passed + 1))
		echo "=== $b: ok ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		status=1
		echo "=== $b: FAILED ($(($(date +%s) - start)) s)" >&2
	fi
done
if [ "$mode" = smoke ]; then
	echo "bench smoke: $passed passed, $failed failed"
	[ -n "${RESULTS_FILE:-}" ] && echo "$passed $failed 0" >>"$RESULTS_FILE"
fi
exit $status
