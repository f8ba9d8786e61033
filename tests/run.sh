#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the C unit tests and the Bats suites against one build tree, echoes
# their TAP output and ends with one line: "N passed, N failed[, N skipped]".
# A test program that dies without reporting counts as a failure. With
# TESTS_STRICT=1 (CI) a skipped Bats test counts as failed.
# With RESULTS_FILE set, also appends "passed failed skipped" to that file.
set -u
cd "$(dirname "$0")/.." || exit 70

bin=bin
obj=build
filter=
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--obj) obj=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	*) echo "usage: tests/run.sh [--bin DIR] [--obj DIR] [--filter GLOB]" >&2; exit 64 ;;
	esac
done

passed=0 failed=0 skipped=0

# Echo TAP lines from stdin and count them; returns how many results it saw.
tally() {
	local line seen=0
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*) failed=$((failed + 1)); seen=$((seen + 1)) ;;
		"ok "*"# skip"* | "ok "*"# SKIP"*)
			seen=$((seen + 1))
			if [ "${TESTS_STRICT:-0}" = 1 ]; then
				failed=$((failed + 1))
				echo "# strict mode: a skipped test counts as failed"
			else
				skipped=$((skipped + 1))
			fi ;;
		"ok "*) passed=$((passed + 1)); seen=$((seen + 1)) ;;
		esac
	done
	return $((seen > 0 ? 0 : 1))
}

for t in "$obj"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case $t in *.o | *.d) continue ;; esac
	if [ -n "$filter" ]; then case ${t##*/} in $filter) ;; *) continue ;; esac; fi
	echo "# unit: ${t##*/}"
	out=$("$t" 2>&1)
	status=$?
	tally <<<"$out"
	if [ $status -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
		echo "not ok - ${t##*/} exited with status $status"
		failed=$((failed + 1))
	fi
done

if command -v bats >/dev/null; then
	suites=(tests/*.bats)
	if [ -n "$filter" ]; then
		suites=(tests/$filter.bats)
	fi
	if [ -e "${suites[0]}" ]; then
		# Two files at a time when GNU parallel is there (tests within
		# a file stay in order); BATS_JOBS=1 runs them one by one.
		jobs=()
		if [ "${BATS_JOBS:-2}" -gt 1 ] && command -v parallel >/dev/null; then
			jobs=(--jobs "${BATS_JOBS:-2}" --no-parallelize-within-files)
		fi
		echo "# bats: ${#suites[@]} files ${jobs[*]}"
		out=$(BIN_DIR=$PWD/$bin TOOLS_DIR=$PWD/$obj/tools \
		    bats --tap "${jobs[@]}" "${suites[@]}" 2>&1)
		status=$?
		tally <<<"$out"
		if [ $status -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
			echo "not ok - bats exited with status $status"
			failed=$((failed + 1))
		fi
	fi
else
	echo "not ok - bats is not installed (run ./install.sh --deps)"
	failed=$((failed + 1))
fi

[ -n "${RESULTS_FILE:-}" ] && echo "$passed $failed $skipped" >>"$RESULTS_FILE"
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
