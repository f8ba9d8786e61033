# SPDX-License-Identifier: MIT
# A real OpenSSH server on loopback for the tests of ctrld's SSH host
# commands (`load helpers; load sshd`; tests/42-ctrld-ssh.bats). Debian's
# openssh-server (/usr/sbin/sshd) and openssh-client (ssh, ssh-keygen,
# ssh-keyscan) must be installed; nothing of the machine's own sshd is
# used or touched.
#
# sshd_start makes, under SSHT (default: the file's BATS_FILE_TMPDIR),
#   home/                 a fake HOME, exported, so that ctrld's defaults
#                         ~/.ssh/id_ed25519 and ~/.ssh/known_hosts are the
#                         ones exercised: home/.ssh/id_ed25519 (no
#                         passphrase), the key sshd accepts
#   sshd/                 host key, authorized_keys, sshd_config, the pid
#                         file and sshd's log (sshd/sshd.log)
# and starts sshd listening on every address of SSHD_ADDRS (127.0.0.11,
# .12 and .13, the "hosts") on one free port, SSHD_PORT. As root sshd lets
# root log in (with a key only); as another user it runs as that user and
# only that user can log in. SSH_USER is the user to log in as either way.
# SSH_AUTH_SOCK is unset: an agent of the caller's must not offer keys.
#
# sshm_manifest FILE writes a cluster manifest with ssh settings for the
# brokers on 127.0.0.11.. and the controller on 127.0.0.11 (see there).
# sshd_teardown (for teardown_file) kills every process started under
# SSHT (logd, replicad, ctrld started through `ctrld up`, clients) and
# sshd.

SSHT=${SSHT:-$BATS_FILE_TMPDIR}
SSHD_ADDRS=(127.0.0.11 127.0.0.12 127.0.0.13)
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
PY=${PY:-/usr/bin/python3}

# ------------------------------------------------------------------
# sshd

# sshd_free_port: a port in 20000-29999 that every SSHD_ADDRS address can
# bind right now (a few random tries); prints it.
sshd_free_port() {
	"$PY" - "${SSHD_ADDRS[@]}" <<-'EOF'
	import random, socket, sys
	for _ in range(50):
	    port = random.randint(20000, 29999)
	    socks = []
	    try:
	        for h in sys.argv[1:]:
	            s = socket.socket()
	            socks.append(s)
	            s.bind((h, port))
	    except OSError:
	        continue
	    finally:
	        for s in socks:
	            s.close()
	    print(port)
	    sys.exit(0)
	sys.exit("sshd_free_port: no free port found")
	EOF
}

# port_answers HOST PORT: something accepts TCP connections there.
port_answers() {
	(exec 8<>"/dev/tcp/$1/$2") 2>/dev/null
}

# sshd_setup: keys, fake HOME and sshd_config (once per SSHT).
sshd_setup() {
	local d=$SSHT/sshd a
	export HOME=$SSHT/home
	export SSH_USER SSHD_PORT SSHD_CFG=$d/sshd_config SSHD_LOG=$d/sshd.log
	export SSHD_PIDFILE=$d/sshd.pid SSH_KEY=$HOME/.ssh/id_ed25519
	export SSHT
	unset SSH_AUTH_SOCK SSH_AGENT_PID
	SSH_USER=$(id -un)
	[ -f "$SSHD_CFG" ] && return 0
	mkdir -p "$d" "$HOME/.ssh"
	chmod 700 "$HOME" "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C "klog-test@$(hostname)" \
	    -f "$SSH_KEY" || return 1
	ssh-keygen -q -t ed25519 -N '' -C klog-test-host \
	    -f "$d/host_ed25519" || return 1
	cp "$SSH_KEY.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	SSHD_PORT=$(sshd_free_port) || return 1
	{
		for a in "${SSHD_ADDRS[@]}"; do
			echo "ListenAddress $a:$SSHD_PORT"
		done
		cat <<-EOF
		HostKey $d/host_ed25519
		AuthorizedKeysFile $d/authorized_keys
		PidFile $SSHD_PIDFILE
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PermitRootLogin prohibit-password
		AllowUsers $SSH_USER
		LogLevel VERBOSE
		MaxStartups 100:30:200
		MaxSessions 50
		Subsystem sftp internal-sftp
		EOF
	} >"$SSHD_CFG"
	echo "$SSHD_PORT" >"$d/port"
}

# sshd_start: set up (first call) and start sshd; returns once every
# address answers on SSHD_PORT. Callable again after sshd_stop: same
# port, same host key.
sshd_start() {
	local a i
	sshd_setup || return 1
	SSHD_PORT=$(cat "$SSHT/sshd/port")
	if [ "$(id -u)" = 0 ]; then
		# The privilege separation directory (root only).
		mkdir -p /run/sshd && chmod 755 /run/sshd
	fi
	"$SSHD_BIN" -t -f "$SSHD_CFG" || return 1
	rm -f "$SSHD_PIDFILE"
	"$SSHD_BIN" -f "$SSHD_CFG" -E "$SSHD_LOG" 3>&- || {
		echo "sshd did not start; its log:" >&2
		cat "$SSHD_LOG" >&2
		return 1
	}
	for a in "${SSHD_ADDRS[@]}"; do
		if ! wait_for 10000 port_answers "$a" "$SSHD_PORT"; then
			echo "sshd does not answer on $a:$SSHD_PORT; its log:" >&2
			tail -n 30 "$SSHD_LOG" >&2
			return 1
		fi
	done
	i=$(cat "$SSHD_PIDFILE" 2>/dev/null)
	[ -n "$i" ] || wait_for 5000 test -s "$SSHD_PIDFILE"
}

# sshd_pid: the listening sshd's pid (empty when not running).
sshd_pid() {
	local pid
	pid=$(cat "$SSHD_PIDFILE" 2>/dev/null) || return 0
	if [ -n "$pid" ] && grep -qF "$SSHD_CFG" "/proc/$pid/cmdline" \
	    2>/dev/null; then
		echo "$pid"
	fi
}

# sshd_stop: stop the listening sshd (sessions already open live on
# until they end); returns once no address answers any more.
sshd_stop() {
	local pid a
	pid=$(sshd_pid)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_for 10000 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid"
	for a in "${SSHD_ADDRS[@]}"; do
		wait_for 5000 eval "! port_answers $a $SSHD_PORT" || return 1
	done
	rm -f "$SSHD_PIDFILE"
}

# sshd_known_hosts [FILE]: append the host key for every address in
# OpenSSH's "[addr]:port" form to FILE (default ~/.ssh/known_hosts), as
# ssh-keyscan sees it.
sshd_known_hosts() {
	local f=${1:-$HOME/.ssh/known_hosts} a out
	for a in "${SSHD_ADDRS[@]}"; do
		out=$(ssh-keyscan -T 5 -t ed25519 -p "$SSHD_PORT" "$a" 2>/dev/null)
		if [ -z "$out" ]; then
			echo "ssh-keyscan found no key on $a:$SSHD_PORT" >&2
			return 1
		fi
		printf '%s\n' "$out" >>"$f"
	done
	chmod 600 "$f"
}

# ssh_to ADDR CMD...: the OpenSSH client, as the test user with the fake
# HOME's key and known_hosts, never prompting.
ssh_to() {
	local a=$1
	shift
	timeout 30 ssh -F none -p "$SSHD_PORT" -i "$SSH_KEY" \
	    -o BatchMode=yes -o IdentitiesOnly=yes \
	    -o UserKnownHostsFile="$HOME/.ssh/known_hosts" \
	    -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
	    -l "$SSH_USER" "$a" "$@"
}

# ------------------------------------------------------------------
# The manifest

# sshm_ports N: N+1 ports free on their hosts: the controller's on
# 127.0.0.11, then broker i's on SSHD_ADDRS[i-1]; from 9600-9699, which
# no other suite uses. One a line.
sshm_ports() {
	"$PY" - "$1" "${SSHD_ADDRS[@]}" <<-'EOF'
	import random, socket, sys
	n = int(sys.argv[1])
	hosts = sys.argv[2:]
	want = [hosts[0]] + [hosts[(i) % len(hosts)] for i in range(n)]
	cands = list(range(9600, 9700))
	random.shuffle(cands)
	out, used = [], set()
	for h in want:
	    for p in cands:
	        if (h, p) in used or p in out:
	            continue
	        s = socket.socket()
	        try:
	            s.bind((h, p))
	        except OSError:
	            continue
	        finally:
	            s.close()
	        used.add((h, p))
	        out.append(p)
	        break
	    else:
	        sys.exit("sshm_ports: no free port in 9600-9699 on " + h)
	print("\n".join(map(str, out)))
	EOF
}

# sshm_manifest FILE: a manifest for SSHM_N brokers (3) on 127.0.0.11,
# .12, .13, each with ssh settings (user SSH_USER, port SSHD_PORT, its own
# install_dir SSHM_ROOT/hosts/b<id>/klog: the "hosts" share one file
# system) and an absolute data_dir SSHM_ROOT/b<id>; the controller on
# 127.0.0.11 on another port, data_dir SSHM_ROOT/ctrl, ssh install_dir
# SSHM_ROOT/hosts/ctl/klog. Short controller timeouts (3 s session, 300 ms
# heartbeat, rebalance every second) keep failover and rebalance quick.
# No identity: ~/.ssh/id_ed25519 is the default key.
#
# Settings (read when called):
#   SSHM_ROOT        where data and install dirs go ($SSHT/cluster)
#   SSHM_N           number of brokers (3)
#   SSHM_CLUSTER     cluster id (sshtest)
#   SSHM_TOPICS      YAML lines for `topics:`; default "events", 3
#                    partitions, replication factor SSHM_N (at most 3),
#                    min.insync.replicas 2 (1 with one broker)
#   SSHM_SSH_EXTRA   more "key: value" pairs for every ssh mapping
#                    (e.g. "identity: /x/key")
#   SSHM_SSH_PORT_<id>  another ssh port for broker <id>
#   SSHM_CTRL_SSH    "own" (default): controller.ssh with its own
#                    install_dir; "inherit": no controller.ssh (it takes
#                    broker 1's settings); "none": not managed
#   SSHM_PORTS       "P0 P1 ...": reuse these ports (controller, brokers)
#                    rather than choosing free ones (for variants of a
#                    manifest whose cluster is running)
# Sets and exports SSHM_BROKERS (host:port,... for clients), SSHM_CTRL
# (host:port), SSHM_PORTS, SSHM_HOST_<id>, SSHM_ADDR_<id>, SSHM_DATA_<id>,
# SSHM_INSTALL_<id>, SSHM_CTRL_DATA, SSHM_CTRL_INSTALL.
sshm_manifest() {
	local f=$1 n=${SSHM_N:-3} root=${SSHM_ROOT:-$SSHT/cluster} ports i h
	local rf isr extra='' sp v
	if [ -n "${SSHM_PORTS:-}" ]; then
		read -r -a ports <<<"$SSHM_PORTS"
	else
		mapfile -t ports < <(sshm_ports "$n")
		[ "${#ports[@]}" -eq $((n + 1)) ] || return 1
	fi
	SSHM_PORTS=${ports[*]}
	[ -z "${SSHM_SSH_EXTRA:-}" ] || extra=", $SSHM_SSH_EXTRA"
	mkdir -p "$root"
	SSHM_CTRL=${SSHD_ADDRS[0]}:${ports[0]}
	SSHM_CTRL_DATA=$root/ctrl
	SSHM_CTRL_INSTALL=$root/hosts/ctl/klog
	cat >"$f" <<-EOF
	cluster: ${SSHM_CLUSTER:-sshtest}
	controller:
	  host: ${SSHD_ADDRS[0]}
	  port: ${ports[0]}
	  data_dir: $SSHM_CTRL_DATA
	  session_timeout_ms: 3000
	  heartbeat_interval_ms: 300
	  auto_leader_rebalance: true
	  leader_rebalance_interval_ms: 1000
	EOF
	case ${SSHM_CTRL_SSH:-own} in
	own)
		printf '  ssh: {user: %s, port: %s, install_dir: %s%s}\n' \
		    "$SSH_USER" "$SSHD_PORT" "$SSHM_CTRL_INSTALL" "$extra" >>"$f"
		;;
	inherit) SSHM_CTRL_INSTALL=$root/hosts/b1/klog ;;
	none) SSHM_CTRL_INSTALL= ;;
	esac
	cat >>"$f" <<-EOF
	defaults:
	  offsets_topic_partitions: 3
	brokers:
	EOF
	SSHM_BROKERS=
	for ((i = 1; i <= n; i++)); do
		h=${SSHD_ADDRS[(i - 1) % ${#SSHD_ADDRS[@]}]}
		v="SSHM_SSH_PORT_$i"
		sp=${!v:-$SSHD_PORT}
		cat >>"$f" <<-EOF
		  - id: $i
		    host: $h
		    port: ${ports[i]}
		    data_dir: $root/b$i
		    ssh: {user: $SSH_USER, port: $sp, install_dir: $root/hosts/b$i/klog$extra}
		EOF
		printf -v "SSHM_HOST_$i" %s "$h"
		printf -v "SSHM_ADDR_$i" %s "$h:${ports[i]}"
		printf -v "SSHM_DATA_$i" %s "$root/b$i"
		printf -v "SSHM_INSTALL_$i" %s "$root/hosts/b$i/klog"
		export "SSHM_HOST_$i" "SSHM_ADDR_$i" "SSHM_DATA_$i" "SSHM_INSTALL_$i"
		SSHM_BROKERS+=${SSHM_BROKERS:+,}$h:${ports[i]}
	done
	echo "topics:" >>"$f"
	if [ -n "${SSHM_TOPICS:-}" ]; then
		printf '%s\n' "$SSHM_TOPICS" >>"$f"
	else
		rf=$((n < 3 ? n : 3))
		isr=$((rf < 2 ? 1 : 2))
		cat >>"$f" <<-EOF
		  - name: events
		    partitions: 3
		    replication_factor: $rf
		    configs: {min.insync.replicas: $isr}
		EOF
	fi
	export SSHM_BROKERS SSHM_CTRL SSHM_PORTS SSHM_CTRL_DATA SSHM_CTRL_INSTALL
}

# ------------------------------------------------------------------
# Processes

# sshm_pid KIND DIR: the pid in DIR/KIND.pid when that process runs
# bin/KIND (what `ctrld up` wrote); empty otherwise.
sshm_pid() {
	local pid
	pid=$(cat "$2/$1.pid" 2>/dev/null) || return 0
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
	    grep -qF "bin/$1"; then
		echo "$pid"
	fi
}

# sshm_pids_under DIR: the processes (never this shell) that run a
# program installed under DIR, or logd, replicad, ctrld, kprod, kcons or
# tail with DIR in their arguments; one pid a line. Bats's own processes
# and sshd are never among them.
sshm_pids_under() {
	local p argv0 cmd
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if [ "$p" = $$ ] || [ "$p" = "$BASHPID" ]; then
			continue
		fi
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		case $cmd in
		*"$1"*) ;;
		*) continue ;;
		esac
		argv0=${cmd%% *}
		case $argv0 in
		"$1"/* | */logd | */replicad | */ctrld | */kprod | */kcons | \
		    logd | replicad | ctrld | kprod | kcons | tail | */tail)
			echo "$p" ;;
		esac
	done
}

# sshd_teardown: for teardown_file. Kills the daemons `ctrld up` started
# (the pid files in the data dirs under SSHT), then, as a safety net, any
# program started from SSHT (sshm_pids_under), then sshd. Shows the
# end of sshd's log when asked (SSHD_SHOW_LOG=1).
sshd_teardown() {
	local f pid kind
	[ -n "${SSHT:-}" ] && [ -d "$SSHT" ] || return 0
	while IFS= read -r f; do
		kind=${f##*/}
		kind=${kind%.pid}
		pid=$(sshm_pid "$kind" "${f%/*}")
		[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	done < <(find "$SSHT" -name '*.pid' \
	    \( -name logd.pid -o -name replicad.pid -o -name ctrld.pid \) \
	    2>/dev/null)
	for pid in $(sshm_pids_under "$SSHT"); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ "${SSHD_SHOW_LOG:-}" = 1 ] && [ -f "${SSHD_LOG:-}" ]; then
		echo "----- sshd.log (last 30 lines)" >&2
		tail -n 30 "$SSHD_LOG" >&2
	fi
	sshd_stop
}
