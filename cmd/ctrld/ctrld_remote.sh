# SPDX-License-Identifier: MIT
# klog-remote: the remote side of ctrld's host commands (deploy, up, down,
# restart, hosts, logs; docs/ssh-management.md). ctrld embeds this file and
# runs it over SSH as
#
#   sh -c '<this script>' klog-remote ACTION ARG...
#
# with nothing on the host but a POSIX sh, coreutils and setsid. Results go
# to stdout as key=value lines (prepare: also "have HASH NAME" and "current
# HASH NAME"), messages to stderr. Exit status: 0 ok, 1 failed, 3 klog is
# not installed. Relative paths are relative to the home directory.
#
# POSIX sh only (dash runs it on Debian): no bashisms, every command that
# could read stdin gets </dev/null (stdin is the SSH channel, which ctrld
# may never close).

set -u
LC_ALL=C
export LC_ALL

if [ -z "${HOME:-}" ] || ! cd "$HOME" 2>/dev/null; then
	echo "klog-remote: cannot enter the home directory '${HOME:-}'" >&2
	exit 1
fi
home=${HOME%/}

die() {
	printf '%s\n' "$*" >&2
	exit 1
}

usage() {
	die "klog-remote: usage: $1"
}

# norm PATH: "~" and "~/dir" mean the home directory (the current one).
norm() {
	case $1 in
	'') die "klog-remote: empty path" ;;
	\~) printf '.' ;;
	\~/*) printf '%s' "${1#\~/}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# absolute PATH: PATH made absolute against the home directory (no
# symbolic link resolved).
absolute() {
	case $1 in
	/*) printf '%s' "$1" ;;
	.) printf '%s' "$home" ;;
	*) printf '%s/%s' "$home" "${1#./}" ;;
	esac
}

check_kind() {
	case $1 in
	logd | replicad | ctrld) ;;
	*) die "klog-remote: unknown process kind '$1' (logd, replicad or ctrld)" ;;
	esac
}

check_uint() {
	case $2 in
	'' | *[!0-9]*) die "klog-remote: $1 must be a whole number, not '$2'" ;;
	esac
}

check_release() {
	case $1 in
	'' | . | .. | */* | *.partial) die "klog-remote: bad release name '$1'" ;;
	esac
}

# alive PID: the process exists and is not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	st=$(cat "/proc/$1/stat" 2>/dev/null </dev/null) || return 1
	st=${st##*) }
	case $st in
	Z* | X* | x* | '') return 1 ;;
	esac
	return 0
}

# running KIND PIDFILE: prints the pid when PIDFILE names a live process
# whose command line holds bin/KIND (not a recycled pid).
running() {
	[ -f "$2" ] || return 1
	rp=$(head -n 1 "$2" 2>/dev/null </dev/null) || return 1
	case $rp in
	'' | *[!0-9]*) return 1 ;;
	esac
	alive "$rp" || return 1
	cmd=$(tr '\000' ' ' 2>/dev/null <"/proc/$rp/cmdline") || return 1
	case $cmd in
	*"bin/$1"*) printf '%s' "$rp" ;;
	*) return 1 ;;
	esac
}

# avail_kb PATH: "avail_kb=N", the free KiB on the file system of PATH or
# of its nearest existing parent. When df fails, no line (ctrld then has
# no figure, rather than a wrong one) and a warning.
avail_kb() {
	p=$1
	while [ ! -e "$p" ]; do
		case $p in
		*/*) p=${p%/*}; [ -n "$p" ] || p=/ ;;
		*) p=. ;;
		esac
	done
	a=$(df -Pk -- "$p" 2>/dev/null </dev/null | awk 'NR == 2 { print $4 }')
	case $a in
	'' | *[!0-9]*) echo "warning: df -Pk $p failed; free space unknown" >&2 ;;
	*) echo "avail_kb=$a" ;;
	esac
}

# hashes TAG DIR: "TAG HASH NAME" for every file under DIR but SHA256SUMS,
# NAME relative to DIR.
hashes() {
	[ -d "$2" ] || return 0
	(cd "$2" && find . -type f ! -path ./SHA256SUMS -exec sha256sum -- {} + \
	    </dev/null) | while read -r h n; do
		case $h in
		\\*) continue ;; # a name sha256sum had to escape
		esac
		printf '%s %s %s\n' "$1" "$h" "${n#./}"
	done
}

# mkdir_p DIR: mkdir -p, failing with a message naming DIR.
mkdir_p() {
	if ! err=$(mkdir -p -- "$1" 2>&1 </dev/null); then
		die "cannot create directory $1: ${err##*: }"
	fi
}

# switch INSTALL RELEASE KEEP: point INSTALL/current at the release with
# one rename, then prune old releases and stale uploads.
do_switch() {
	install=$1 rel=$2 keep=$3
	[ -d "$install/releases/$rel" ] ||
		die "release $rel is not in $install/releases"
	tmp=$install/current.tmp.$$
	rm -f -- "$tmp"
	ln -s -- "releases/$rel" "$tmp" ||
		die "cannot create the link $tmp"
	if ! mv -T -f -- "$tmp" "$install/current"; then
		rm -f -- "$tmp"
		die "cannot switch $install/current to releases/$rel"
	fi
	# Newest first (release names are ours: no newline in them); the
	# current release and its upload never go.
	n=0
	# shellcheck disable=SC2012
	ls -t -- "$install/releases" | while IFS= read -r r; do
		case $r in
		"$rel" | "$rel.partial") continue ;;
		*.partial) ;;
		*)
			n=$((n + 1))
			[ "$n" -gt "$keep" ] || continue
			;;
		esac
		rm -rf -- "$install/releases/$r" ||
			echo "warning: cannot remove $install/releases/$r" >&2
	done
	echo "release=$rel"
}

[ $# -ge 1 ] || usage "klog-remote ACTION ARG... (probe, prepare, copy, commit, switch, start, stop, logs)"
action=$1
shift

case $action in
probe)
	[ $# -ge 2 ] || usage "probe INSTALL DATA KIND..."
	install=$(norm "$1") || exit 1
	data=$(norm "$2") || exit 1
	shift 2
	for k in "$@"; do check_kind "$k"; done
	release=-
	if [ -L "$install/current" ]; then
		t=$(readlink -- "$install/current" </dev/null) && t=${t%/} &&
			[ -n "$t" ] && release=${t##*/}
	fi
	releases=
	for d in "$install"/releases/*; do
		[ -d "$d" ] || continue
		r=${d##*/}
		case $r in *.partial) continue ;; esac
		releases=$releases${releases:+ }$r
	done
	version=-
	if [ -x "$install/current/bin/ctrld" ]; then
		v=$("$install/current/bin/ctrld" -V </dev/null 2>/dev/null | head -n 1)
		[ -n "$v" ] && version=$v
	fi
	echo "release=$release"
	echo "releases=$releases"
	echo "version=$version"
	for k in "$@"; do
		if pid=$(running "$k" "$data/$k.pid"); then
			echo "$k=$pid"
		else
			echo "$k=stopped"
		fi
	done
	kb=0
	if [ -d "$data" ]; then
		echo "data_dir=present"
		kb=$(du -sk -- "$data" 2>/dev/null | tail -n 1)
		kb=${kb%%[!0-9]*}
		[ -n "$kb" ] || kb=0
	else
		echo "data_dir=missing"
	fi
	echo "data_kb=$kb"
	avail_kb "$data"
	;;

prepare)
	[ $# -eq 2 ] || usage "prepare INSTALL RELEASE"
	install=$(norm "$1") || exit 1
	rel=$2
	check_release "$rel"
	partial=$install/releases/$rel.partial
	mkdir_p "$install/releases"
	avail_kb "$install"
	rd=$install/releases/$rel
	if [ -f "$rd/SHA256SUMS" ] &&
	    (cd "$rd" && sha256sum -c --quiet --status SHA256SUMS \
	    </dev/null >/dev/null 2>&1); then
		echo "complete=1"
		exit 0
	fi
	mkdir_p "$partial/bin"
	echo "complete=0"
	hashes have "$partial"
	hashes current "$install/current"
	;;

copy)
	[ $# -ge 2 ] || usage "copy INSTALL RELEASE NAME..."
	install=$(norm "$1") || exit 1
	rel=$2
	check_release "$rel"
	shift 2
	partial=$install/releases/$rel.partial
	for name in "$@"; do
		case /$name/ in
		//* | */../* | */./*) die "klog-remote: bad file name '$name'" ;;
		esac
		case $name in
		*/*) mkdir_p "$partial/${name%/*}" ;;
		*) mkdir_p "$partial" ;;
		esac
		cp -p -- "$install/current/$name" "$partial/$name" ||
			die "cannot copy $install/current/$name to $partial/$name"
	done
	;;

commit)
	[ $# -eq 3 ] || usage "commit INSTALL RELEASE KEEP"
	install=$(norm "$1") || exit 1
	rel=$2 keep=$3
	check_release "$rel"
	check_uint KEEP "$keep"
	partial=$install/releases/$rel.partial
	[ -d "$partial" ] || die "no upload of release $rel: $partial is missing"
	[ -f "$partial/SHA256SUMS" ] ||
		die "$partial/SHA256SUMS is missing; the upload was incomplete"
	if ! out=$(cd "$partial" && sha256sum -c --quiet SHA256SUMS 2>&1 </dev/null); then
		bad=$(printf '%s\n' "$out" | sed -n 's/: FAILED.*$//p' |
		    tr '\n' ' ' | sed 's/ $//; s/ /, /g')
		[ -n "$bad" ] || bad=$(printf '%s\n' "$out" | head -n 3 | tr '\n' ' ')
		die "checksums do not match in $partial: $bad; the upload was corrupted or the disk is full"
	fi
	for f in "$partial"/bin/*; do
		[ -f "$f" ] || continue
		chmod 755 -- "$f" || die "cannot chmod $f"
	done
	rd=$install/releases/$rel
	if [ -e "$rd" ] || [ -L "$rd" ]; then
		# There without a partial upload only when incomplete.
		rm -rf -- "$rd" || die "cannot remove the incomplete $rd"
	fi
	mv -f -- "$partial" "$rd" || die "cannot rename $partial to $rd"
	do_switch "$install" "$rel" "$keep"
	;;

switch)
	[ $# -eq 3 ] || usage "switch INSTALL RELEASE KEEP"
	install=$(norm "$1") || exit 1
	check_release "$2"
	check_uint KEEP "$3"
	do_switch "$install" "$2" "$3"
	;;

start)
	[ $# -eq 5 ] || usage "start KIND INSTALL DATA ID TIMEOUT_S"
	kind=$1
	check_kind "$kind"
	install=$(norm "$2") || exit 1
	install=$(absolute "$install")
	data=$(norm "$3") || exit 1
	data=$(absolute "$data")
	id=$4 timeout=$5
	check_uint TIMEOUT_S "$timeout"
	bin=$install/current/bin/$kind
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		echo "no klog installed in $install ($bin missing); run ctrld deploy" >&2
		exit 3
	fi
	pidfile=$data/$kind.pid
	log=$data/$kind.log
	if pid=$(running "$kind" "$pidfile"); then
		echo "already=$pid"
		exit 0
	fi
	mkdir_p "$data"
	rm -f -- "$data/$kind.addr" "$pidfile"
	{ : >>"$log"; } 2>/dev/null || die "cannot write $log"
	manifest=$install/current/cluster.yaml
	case $kind in
	logd) set -- -m "$manifest" -i "$id" --addr-file "$data/logd.addr" \
	    --log-timestamps ;;
	replicad) set -- run -m "$manifest" -i "$id" --log-timestamps ;;
	ctrld) set -- run -m "$manifest" --addr-file "$data/ctrld.addr" \
	    --log-timestamps ;;
	esac
	# A background job of a non-interactive shell is no process group
	# leader, so setsid execs in place: $! is the daemon's pid. It keeps
	# no descriptor of ours (the SSH channel would stay open).
	setsid "$bin" "$@" </dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- \
	    7>&- 8>&- 9>&- &
	pid=$!
	echo "$pid" >"$pidfile" || {
		kill -TERM "$pid" 2>/dev/null
		die "cannot write $pidfile"
	}
	i=0
	while :; do
		if ! alive "$pid"; then
			{
				echo "$kind exited during start; last lines of $log:"
				tail -n 20 -- "$log" </dev/null
			} >&2
			rm -f -- "$pidfile"
			exit 1
		fi
		case $kind in
		replicad) [ "$i" -lt 10 ] || break ;;
		*)
			[ ! -s "$data/$kind.addr" ] || break
			if [ "$i" -ge $((timeout * 10)) ]; then
				echo "$kind pid $pid not listening after ${timeout}s; see $log" >&2
				exit 1
			fi
			;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "started=$pid"
	;;

stop)
	[ $# -eq 4 ] || usage "stop KIND DATA TIMEOUT_S FORCE"
	kind=$1
	check_kind "$kind"
	data=$(norm "$2") || exit 1
	timeout=$3 force=$4
	check_uint TIMEOUT_S "$timeout"
	case $force in
	0 | 1) ;;
	*) die "klog-remote: FORCE must be 0 or 1, not '$force'" ;;
	esac
	pidfile=$data/$kind.pid
	if ! pid=$(running "$kind" "$pidfile"); then
		rm -f -- "$pidfile"
		echo "stopped=none"
		exit 0
	fi
	kill -TERM "$pid" 2>/dev/null
	i=0
	while alive "$pid" && [ "$i" -lt $((timeout * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! alive "$pid"; then
		rm -f -- "$pidfile"
		echo "stopped=$pid"
		exit 0
	fi
	if [ "$force" = 0 ]; then
		die "$kind pid $pid still running after ${timeout}s; not killed (use --force)"
	fi
	kill -KILL "$pid" 2>/dev/null
	i=0
	while alive "$pid"; do
		[ "$i" -lt 100 ] ||
			die "$kind pid $pid still running 10s after SIGKILL"
		sleep 0.1
		i=$((i + 1))
	done
	rm -f -- "$pidfile"
	echo "killed=$pid"
	;;

logs)
	[ $# -eq 3 ] || usage "logs FILE LINES FOLLOW"
	file=$(norm "$1") || exit 1
	lines=$2 follow=$3
	check_uint LINES "$lines"
	[ -f "$file" ] || die "no log $file"
	case $follow in
	1) exec tail -n "$lines" -F -- "$file" </dev/null ;;
	0) exec tail -n "$lines" -- "$file" </dev/null ;;
	*) die "klog-remote: FOLLOW must be 0 or 1, not '$follow'" ;;
	esac
	;;

*)
	die "klog-remote: unknown action '$action' (probe, prepare, copy, commit, switch, start, stop, logs)"
	;;
esac
exit 0
