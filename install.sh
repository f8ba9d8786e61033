#!/bin/sh
# SPDX-License-Identifier: MIT
# klog installer.
#   ./install.sh [PREFIX]          build and install binaries and man pages
#                                  under PREFIX (default /usr/local; honours DESTDIR)
#   ./install.sh --deps            install the Debian packages klog builds and tests with
#   ./install.sh --deps --if-missing   the same, only when something is missing
#   ./install.sh --bench-deps [--if-missing]  what `make bench` runs against:
#                                  Redis, NATS, iperf3, gnuplot and the peers' C clients
set -eu
cd "$(dirname "$0")"

# Build dependencies, then the real Kafka clients the tests talk to.
BUILD_PKGS="gcc make pkg-config libyaml-dev libssh2-1-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev"
# `make bench`: the peers it measures (servers and C client libraries),
# iperf3 for the loopback limit, gnuplot for the latency plot, time(1).
BENCH_PKGS="redis-server nats-server libnats-dev libhiredis-dev iperf3 gnuplot-nox time"
TEST_PKGS="bats parallel kcat jq strace python3-kafka python3-confluent-kafka python3-lz4 python3-snappy python3-zstandard mandoc clang openssh-server openssh-client"

deps_missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 0
	done
	return 1
}

install_pkgs() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "install.sh: installing packages needs root; run: sudo $0 $opt" >&2
		exit 77
	fi
	if ! command -v apt-get >/dev/null; then
		echo "install.sh: apt-get not found; install by hand: $*" >&2
		exit 69
	fi
	echo "install.sh: installing $*" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    "$@" >/dev/null
}

# The benchmarks start their own servers on loopback ports; the packaged
# services would only sit idle (and take 6379 and 4222).
stop_bench_services() {
	command -v systemctl >/dev/null || return 0
	systemctl disable --now redis-server nats-server >/dev/null 2>&1 || true
}

opt=${1:-}
case "$opt" in
--deps)
	if [ "${2:-}" = "--if-missing" ] && ! deps_missing $BUILD_PKGS $TEST_PKGS; then
		exit 0
	fi
	install_pkgs $BUILD_PKGS $TEST_PKGS
	;;
--bench-deps)
	if [ "${2:-}" = "--if-missing" ] && ! deps_missing $BENCH_PKGS; then
		exit 0
	fi
	install_pkgs $BENCH_PKGS
	stop_bench_services
	;;
-h | --help)
	sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
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
