#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Log compaction on logs written by the real log store (tests/tools/mklog)
# and compacted by tests/tools/compact (one plog_compact pass): the latest
# record per key survives at its offset, kdump-segment --verify finds
# nothing wrong with the result in any codec, the ratio gates a pass, a
# small offset map cleans a prefix, the high watermark bounds the pass,
# and a log reopens and compacts again.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_tool mklog
	require_tool compact
	KD=$BIN_DIR/kdump-segment
	CP=$TOOLS_DIR/compact
	cd "$BATS_TEST_TMPDIR" || return 1
}

# mk ARGS... DIR: write a partition directory through the log store.
mk() {
	run -0 "$TOOLS_DIR/mklog" "$@"
}

# field NAME: the value of "NAME value" in $output.
field() {
	local line
	for line in "${lines[@]}"; do
		if [[ $line == "$1 "* ]]; then
			echo "${line#* }"
			return 0
		fi
	done
	return 1
}

@test "compact keeps the latest record of each key at its offset" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$KD" -c t-0
	[ "$output" = 1000 ]
	run -0 --separate-stderr "$CP" -r 0 --segment-bytes 4096 t-0
	[ -z "$stderr" ]
	[ "$(field ran)" = 1 ]
	[ "$(field checkpoint)" = 990 ]
	[ "$(field records_kept)" = 10 ]
	[ "$(field records_removed)" = 980 ]
	[ "$(field keys_mapped)" = 10 ]
	# 10 latest below the active segment, the 10 records in it
	run -0 "$KD" -c t-0
	[ "$output" = 20 ]
	run -0 "$KD" -R -j t-0
	[ "${#lines[@]}" -eq 20 ]
	[[ ${lines[0]} == '{"topic":"t","partition":0,"offset":980,'*'"key":"key-0","value":"value-980x'* ]]
	[[ ${lines[9]} == *'"offset":989,'*'"key":"key-9","value":"value-989x'* ]]
	[[ ${lines[19]} == *'"offset":999,'* ]]
	run -0 --separate-stderr "$KD" -C t-0
	[[ $output == *" problems=0" ]]
	[ -z "$stderr" ]
}

@test "every codec: the compacted log verifies clean" {
	local z
	for z in none gzip snappy lz4 zstd; do
		mk -k 7 -n 600 -b 13 -z "$z" --segment-bytes 3000 "$z-0"
		run -0 "$CP" -r 0 --segment-bytes 3000 "$z-0"
		[ "$(field ran)" = 1 ]
		[ "$(field records_removed)" -ge 490 ]
		run -0 --separate-stderr "$KD" -C "$z-0"
		[[ $output == *" problems=0" ]]
		run -0 "$KD" -R -j "$z-0"
		[[ ${lines[0]} == *'"key":"key-'* ]]
	done
}

@test "a second pass merges the small cleaned segments into one" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$CP" -r 0 --segment-bytes 4096 t-0
	[ "$(field segments_written)" -gt 10 ]
	before=$(ls t-0/*.log | wc -l)
	# the checkpoint is not kept: all of it is dirty again
	run -0 "$CP" -r 0 --segment-bytes 4096 t-0
	[ "$(field ran)" = 1 ]
	[ "$(field segments_written)" = 1 ]
	[ "$(field records_removed)" = 0 ]
	[ "$(ls t-0/*.log | wc -l)" -eq 2 ]
	[ "$before" -gt 2 ]
	run -0 "$KD" -c t-0
	[ "$output" = 20 ]
	run -0 "$KD" -C t-0
	[[ $output == *" problems=0" ]]
}

@test "below min.cleanable.dirty.ratio nothing changes" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	sum=$(cat t-0/*.log | cksum)
	# half of the log is below the checkpoint
	run -0 "$CP" -r 0.9 -c 500 --segment-bytes 4096 t-0
	[ "$(field ran)" = 0 ]
	[ "$(field checkpoint)" = 500 ]
	[ "$(cat t-0/*.log | cksum)" = "$sum" ]
	run -0 "$CP" -r 0.4 -c 500 --segment-bytes 4096 t-0
	[ "$(field ran)" = 1 ]
}

@test "a small offset map cleans a prefix and moves the checkpoint there" {
	mk -k 200 -n 1000 -b 10 --segment-bytes 4096 t-0
	# 40 slots of 24 bytes hold 36 keys
	run -0 "$CP" -r 0 -m 960 --segment-bytes 4096 t-0
	[ "$(field map_full)" = 1 ]
	[ "$(field checkpoint)" = 36 ]
	cp1=$(field checkpoint)
	run -0 "$CP" -r 0 -m 960 -c "$cp1" --segment-bytes 4096 t-0
	[ "$(field first_dirty_offset)" = 36 ]
	[ "$(field checkpoint)" = 72 ]
	run -0 "$KD" -C t-0
	[[ $output == *" problems=0" ]]
	# a map for no key at all is a usage error
	run -64 --separate-stderr "$CP" -r 0 -m 24 --segment-bytes 4096 t-0
	[[ $stderr == *"holds no key"* ]]
}

@test "nothing at or above the high watermark's segment is cleaned" {
	mk -k 10 -n 1000 -b 10 --segment-bytes 4096 t-0
	run -0 "$CP" -r 0 -u 500 --segment-bytes 4096 t-0
	[ "$(field first_uncleanable_offset)" -le 500 ]
	hw=$(field first_uncleanable_offset)
	[ "$(field checkpoint)" = "$hw" ]
	run -0 "$KD" -c t-0
	[ "$output" -eq $((10 + 1000 - hw)) ]
}

@test "usage errors and a missing directory" {
	run -64 --separate-stderr "$CP"
	[[ $stderr == "compact: missing directory"* ]]
	run -64 --separate-stderr "$CP" -r 2 t-0
	[[ $stderr == *"-r: '2' is not a ratio in [0, 1]"* ]]
	run -66 --separate-stderr "$CP" nowhere
	[[ $stderr == *"no such directory"* ]]
	run -0 "$CP" -h
	[[ ${lines[0]} == "usage: compact "* ]]
}
