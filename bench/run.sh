#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: run every benchmark in bench/ in turn (pass --quick for
# small runs). Each prints its machine, commands and ratios; copy the
# results into docs/benchmarks.md with the machine they came from.
set -u
cd "$(dirname "$0")/.."
status=0
for b in bench/log-append bench/produce-consume bench/pipeline-produce \
    bench/pipeline-consume bench/replication; do
	[ -x "$b" ] || continue
	echo "=== $b $*"
	"$b" "$@" || { echo "$b failed" >&2; status=1; }
done
exit $status
