#!/bin/sh
# SPDX-License-Identifier: MIT
# klog installer.
#   ./install.sh [PREFIX]          build and install binaries and man pages
#                                  under PREFIX (default /usr/local; honours DESTDIR)
#   ./install.sh --deps            install the Debian packages klog builds and tests with
#   ./install.sh --deps --if-missing   the same, only when something is missing
set -eu
cd "$(dirname "$0")"

# Build dependencies, then the real Kafka clients the tests talk to.
BUILD_PKGS="gcc make pkg-config libyaml-dev libssh2-1-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev"
TEST_PKGS="bats parallel kcat jq python3-kafka python3-confluent-kafka python3-lz4 python3-snappy python3-zstandard mandoc clang openssh-server openssh-client"

deps_missing() {
	for p in $BUILD_PKGS $TEST_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 0
	done
	return 1
}

install_deps() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "install.sh: installing packages needs root; run: sudo $0 --deps" >&2
		exit 77
	fi
	if ! command -v apt-get >/dev/null; then
		echo "install.sh: apt-get not found; install by hand: $BUILD_PKGS $TEST_PKGS" >&2
		exit 69
	fi
	echo "install.sh: installing $BUILD_PKGS $TEST_PKGS" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $BUILD_PKGS $TEST_PKGS >/dev/null
}

case "${1:-}" in
--deps)
	if [ "${2:-}" = "--if-missing" ] && ! deps_missing; then
		exit 0
	fi
	install_deps
	;;
-h | --help)
	sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//'
	;;
-*)
	echo "install.sh: unknown option '$1'" >&2
	exit 64
	;;
*)
	prefix=${1:-/usr/local}
	make --no-print-directory all
	make --no-print-directory install PREFIX="$prefix"
	;;
esac
