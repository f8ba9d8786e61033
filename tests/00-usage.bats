#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Usage conventions of every program in bin/ (found by glob, so new
# programs are covered without editing this file): -h/--help on stdout with
# exit 0, -V/--version with exit 0, and a bad flag reported on stderr as one
# "prog: ..." line followed by the usage, with exit 64 and nothing on stdout.
bats_require_minimum_version 1.5.0
load helpers

# Program names in $BIN_DIR, one per line.
programs() {
	local p
	for p in "$BIN_DIR"/*; do
		[ -f "$p" ] && [ -x "$p" ] && echo "${p##*/}"
	done
	return 0
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	PROGS=$(programs)
	[ -n "$PROGS" ] || skip "no programs in $BIN_DIR (run make)"
}

@test "bin/ holds kdump-segment" {
	[ -x "$BIN_DIR/kdump-segment" ]
}

@test "--help: exit 0, usage on stdout, nothing on stderr" {
	for p in $PROGS; do
		echo "# $p"
		run -0 --separate-stderr "$BIN_DIR/$p" --help
		[[ $output == *"usage: $p"* ]]
		[ -z "$stderr" ]
	done
}

@test "-h is --help" {
	for p in $PROGS; do
		echo "# $p"
		run -0 --separate-stderr "$BIN_DIR/$p" -h
		[[ $output == *"usage: $p"* ]]
		[ -z "$stderr" ]
	done
}

@test "--version: exit 0, program name and version on stdout" {
	for p in $PROGS; do
		echo "# $p"
		run -0 --separate-stderr "$BIN_DIR/$p" --version
		[[ ${lines[0]} == "$p "[0-9]* ]]
		[ -z "$stderr" ]
	done
}

@test "-V is --version" {
	for p in $PROGS; do
		echo "# $p"
		run -0 --separate-stderr "$BIN_DIR/$p" -V
		[[ ${lines[0]} == "$p "[0-9]* ]]
	done
}

@test "unknown long option: exit 64, one message line then usage on stderr" {
	for p in $PROGS; do
		echo "# $p"
		run -64 --separate-stderr "$BIN_DIR/$p" --no-such-option
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "$p: "*"--no-such-option"* ]]
		[[ ${stderr_lines[1]} == "usage: $p"* ]]
	done
}

@test "unknown short option: exit 64 with the message on stderr" {
	for p in $PROGS; do
		echo "# $p"
		run -64 --separate-stderr "$BIN_DIR/$p" -%
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "$p: "* ]]
		[[ $stderr == *"usage: $p"* ]]
	done
}

@test "--help output fits in 80 columns" {
	for p in $PROGS; do
		echo "# $p"
		run -0 "$BIN_DIR/$p" --help
		for line in "${lines[@]}"; do
			[ "${#line}" -le 80 ] || { echo "too long: $line"; false; }
		done
	done
}
