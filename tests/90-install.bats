#!/usr/bin/env bats
# install.sh puts the programs and man pages under a PREFIX (with DESTDIR),
# and the installed kdump-segment runs on its own.
bats_require_minimum_version 1.5.0
load helpers

# install_to PREFIX: install.sh PREFIX; on failure its output is shown
# (CI once saw it exit 2, the status of a failed make, unexplained).
install_to() {
	run "$BATS_TEST_DIRNAME/../install.sh" "$1"
	[ "$status" -eq 0 ] || {
		echo "install.sh $1: exit $status; its output:" >&2
		printf '%s\n' "$output" >&2
		return 1
	}
}

@test "install.sh installs binaries and man pages under PREFIX" {
	prefix=$BATS_TEST_TMPDIR/prefix
	install_to "$prefix"
	[ -x "$prefix/bin/kdump-segment" ]
	[ -f "$prefix/share/man/man1/kdump-segment.1" ]
	[ -f "$prefix/share/man/man5/klog-segment.5" ]
	run -0 "$prefix/bin/kdump-segment" --version
	[[ $output == kdump-segment* ]]
}

@test "installed kdump-segment verifies a log written by the store" {
	prefix=$BATS_TEST_TMPDIR/prefix
	install_to "$prefix"
	run -0 "$TOOLS_DIR/mklog" -n 500 -b 50 "$BATS_TEST_TMPDIR/t-0"
	run -0 "$prefix/bin/kdump-segment" --verify "$BATS_TEST_TMPDIR/t-0"
}

@test "make install honours DESTDIR" {
	dest=$BATS_TEST_TMPDIR/dest
	run -0 make -C "$BATS_TEST_DIRNAME/.." --no-print-directory install \
	    DESTDIR="$dest" PREFIX=/opt/klog
	[ -x "$dest/opt/klog/bin/kdump-segment" ]
	[ -f "$dest/opt/klog/share/man/man5/klog-segment.5" ]
}

@test "install.sh rejects an unknown option with exit 64" {
	run -64 --separate-stderr "$BATS_TEST_DIRNAME/../install.sh" --bogus
	[[ $stderr == *"unknown option '--bogus'"* ]]
}
