#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Replication under faults (the RELIABILITY.md plan, CI-sized): a real
# cluster of ctrld, three logd and three replicad on loopback
# (tests/cluster.bash), a topic with replication factor 3 and
# min.insync.replicas 2, producers that keep a history of every record's
# fate (tests/tools/kchaos.py: acknowledged with its offset, definitely
# failed, or indeterminate) and, after the faults heal, a final read of
# the log checked against those histories (lost acknowledged writes,
# duplicates, order, offsets, failed writes that became visible) and a
# comparison of every in-sync replica's batches below the high watermark
# (offsets, leader epochs, CRCs; tests/tools/kreplicas.py).
#
# The faults: kill -9 of the leader, repeated; a follower down for a
# while, and one that stops fetching; two brokers of three down; a leader
# dying with records nobody replicated; SIGTERM of the leader (controlled
# shutdown); SIGSTOP of the leader past the session timeout; kafka-python
# and kcat across a failover. Each test prints its figures (acked, lost,
# unavailability per fault) as "#" lines.
#
# KLOG_SOAK=1 (make test-long) runs more faults, longer.
bats_require_minimum_version 1.5.0
load helpers
load cluster

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	KD=$BIN_DIR/kdump-segment
	RATE=2000
	KILLS=4		# leader kill -9 rounds
	BOUNCES=2	# SIGTERM rounds
	ROUNDS=1	# rounds of the other faults
	DOWN_S=3	# seconds a follower stays down
	if [ -n "${KLOG_SOAK:-}" ]; then
		KILLS=30
		BOUNCES=10
		ROUNDS=5
		DOWN_S=20
	fi
}

teardown() {
	cluster_teardown
	# A sanitizer build reports into the daemons' logs.
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log \
	    2>/dev/null; then
		cat "$BATS_TEST_TMPDIR"/*.log >&2
		return 1
	fi
}

# ------------------------------------------------------------------
# Producers in the background

# start_producer NAME ARGS...: kchaos produce to topic "events" with
# history h.NAME.jsonl, summary NAME.out, stopped by stop_producer NAME.
start_producer() {
	local name=$1
	shift
	rm -f "stop.$name"
	"${KCHAOS[@]}" produce "$BROKERS" events "h.$name.jsonl" \
	    --writer "$name" --stop-file "stop.$name" "$@" >"$name.out" 2>&1 \
	    3>&- &
	printf -v "PROD_PID_$name" %s $!
	cl_client $!
}

# stop_producer NAME: stop it and wait until every outcome is written.
stop_producer() {
	local v="PROD_PID_$1"
	touch "stop.$1"
	wait "${!v}"
	echo "# $(head -n 1 "$1.out")" >&3
}

# start_kprod NAME ARGS...: kprod (idempotent, acks=all, retrying) fed by
# kchaos feed at RATE/2 lines a second; placed lines in NAME.placed.
start_kprod() {
	local name=$1
	shift
	rm -f "stop.$name" "$name.sent"
	"${KCHAOS[@]}" feed "$name" --rate $((RATE / 2)) --stop-file "stop.$name" \
	    --sent-file "$name.sent" 3>&- |
	    "$BIN_DIR/kprod" -b "$BROKERS" -t events -o '%l %p %o\n' \
	    -X linger.ms=2 "$@" >"$name.placed" 2>"$name.err" 3>&- &
	printf -v "KPROD_PID_$name" %s $!
	cl_client $!
}

# stop_kprod NAME: end its input, wait for it (KPROD_STATUS) and write
# its history h.NAME.jsonl.
stop_kprod() {
	local v="KPROD_PID_$1"
	touch "stop.$1"
	KPROD_STATUS=0
	wait "${!v}" || KPROD_STATUS=$?
	kchaos import "$1" "$(cat "$1.sent")" --placed "$1.placed" \
	    >"h.$1.jsonl"
	echo "# kprod $1: exit $KPROD_STATUS, $(cat "$1.sent") sent," \
	    "$(wc -l <"$1.placed") acknowledged" >&3
}

# start_kcat NAME: kcat -P (librdkafka's idempotent producer, acks=all,
# retrying) fed by kchaos feed at RATE/4 lines a second.
start_kcat() {
	local name=$1
	rm -f "stop.$name" "$name.sent"
	"${KCHAOS[@]}" feed "$name" --rate $((RATE / 4)) --stop-file "stop.$name" \
	    --sent-file "$name.sent" 3>&- |
	    kcat -P -b "$BROKERS" -t events -X enable.idempotence=true \
	    -X acks=all -X linger.ms=5 >"$name.err" 2>&1 3>&- &
	printf -v "KCAT_PID_$name" %s $!
	cl_client $!
}

# stop_kcat NAME: end its input, wait for it (KCAT_STATUS) and write its
# history h.NAME.jsonl: kcat names no offsets, and exits 0 only when every
# record was delivered.
stop_kcat() {
	local v="KCAT_PID_$1" all=
	touch "stop.$1"
	KCAT_STATUS=0
	wait "${!v}" || KCAT_STATUS=$?
	[ "$KCAT_STATUS" -ne 0 ] || all=--all-acked
	kchaos import "$1" "$(cat "$1.sent")" $all >"h.$1.jsonl"
	echo "# kcat $1: exit $KCAT_STATUS, $(cat "$1.sent") sent" >&3
}

# acked NAME [PARTITION]: how many records of history NAME (on one
# partition) are acknowledged so far.
acked() {
	local n
	n=$(grep -c "\"p\":${2:-[0-9]*},\"r\":\"ok\"" "h.$1.jsonl" 2>/dev/null)
	echo "${n:-0}"
}

# acked_at_least NAME N
acked_at_least() {
	[ "$(acked "$1")" -ge "$2" ]
}

# acked_on_at_least NAME PARTITION N
acked_on_at_least() {
	[ "$(acked "$1" "$2")" -ge "$3" ]
}

# more_acked_on NAME PARTITION N: wait until N more records of NAME are
# acknowledged on PARTITION than now.
more_acked_on() {
	wait_for 60000 acked_on_at_least "$1" "$2" $(($(acked "$1" "$2") + $3))
}

# errors_of NAME: "NAME:COUNT ..." of the failed and indeterminate records.
errors_of() {
	jq -r 'select(.r != "ok") | .e' "h.$1.jsonl" | sort | uniq -c |
	    awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }'
}

# ------------------------------------------------------------------
# The end of every scenario

# final_check HISTORIES... [-- CHECK ARGS]: wait until the ISR members
# caught up, read the log back with kcons, check every history against it
# and compare the replicas of every partition. Sets CHECK (the checker's
# summary line).
final_check() {
	local hist=() extra=() p
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		hist+=("h.$1.jsonl")
		shift
	done
	[ $# -eq 0 ] || { shift; extra=("$@"); }
	wait_for 60000 all_caught_up events 3
	readback events all.raw
	sort -n -k1,1 -k2,2 all.raw >all.txt
	run --separate-stderr kchaos check --log all.txt "${extra[@]}" \
	    "${hist[@]}"
	CHECK=$output
	echo "# check: $CHECK" >&3
	[ -z "$stderr" ] || printf '%s\n' "${stderr_lines[@]}"
	[ "$status" -eq 0 ]
	[[ $CHECK == "acked "*" lost 0 duplicates 0 out_of_order 0 inconsistent_offsets 0 failed_visible 0 "* ]]
	for p in 0 1 2; do
		run --separate-stderr compare_replicas events "$p"
		echo "# replicas: $output" >&3
		[ -z "$stderr" ] || printf '%s\n' "${stderr_lines[@]}"
		[ "$status" -eq 0 ]
		[[ $output == *" identical above_hw "* ]]
	done
}

# verify_logs: kdump-segment finds no problem in any broker's events logs.
verify_logs() {
	local id
	for id in "${CL_IDS[@]}"; do
		run -0 --separate-stderr "$KD" -q -C "b$id"/events-*
	done
}

# ------------------------------------------------------------------

@test "kill -9 of the leader, repeated, under acks=all: acked records survive once, in order; replicas identical" {
	local r leader t0
	cluster_start
	start_producer c --partitions 3 --rate "$RATE"
	start_kprod k
	start_kcat kc
	wait_for 30000 acked_at_least c 2000
	for ((r = 1; r <= KILLS; r++)); do
		leader=$(leader_of events 0)
		# Odd rounds crash the host (logd and replicad), even ones logd
		# alone: its replicad must find it again.
		t0=$(now_ms)
		if ((r % 2)); then
			kill_broker "$leader" partition=0
		else
			kill_logd "$leader" partition=0
		fi
		wait_for 30000 leader_is_not events 0 "$leader"
		echo "# kill $r: broker $leader, new leader $(leader_of events 0) after $(($(now_ms) - t0)) ms" >&3
		if ((r % 2)); then
			start_broker "$leader"
		else
			start_logd_member "$leader"
		fi
		wait_for 60000 isr_size_is events 0 3
		# Writes go on, on the new leader, before the next kill.
		more_acked_on c 0 300
	done
	stop_producer c
	stop_kprod k
	stop_kcat kc
	[ "$KPROD_STATUS" -eq 0 ]
	[ "$KCAT_STATUS" -eq 0 ]
	run -0 kchaos timeline --nemesis nemesis.jsonl h.c.jsonl
	echo "# unavailability per kill (partition 0): ${lines[-1]}" >&3
	# The producer without idempotence may have written a batch twice
	# (see kchaos.py check); the idempotent kprod and kcat may not.
	final_check c k kc -- --dups-ok c
	verify_logs
}

@test "a follower down for a while catches up and rejoins the ISR; a stalled one leaves it" {
	local f t0
	cluster_start
	f=$(followers_of events 0 | head -n 1)
	# Partition 0 only: the follower leads another partition.
	start_producer c --partition 0 --rate "$RATE"
	wait_for 30000 acked_at_least c 2000

	# Down: ctrld drops it from the ISR after the session timeout, and
	# acks=all goes on with the two left (min.insync.replicas 2).
	t0=$(now_ms)
	kill_broker "$f"
	wait_for 30000 isr_size_is events 0 2
	echo "# follower $f killed: out of the ISR after $(($(now_ms) - t0)) ms" >&3
	local n
	n=$(acked c)
	wait_for $((DOWN_S * 10000)) acked_at_least c $((n + DOWN_S * RATE))
	t0=$(now_ms)
	start_broker "$f"
	wait_for 60000 isr_has events 0 "$f"
	echo "# follower $f back: in the ISR again $(($(now_ms) - t0)) ms after its restart" >&3

	# Stalled: logd up, replicad stopped. The leader proposes dropping it
	# after replica.lag.time.max.ms; it rejoins once it fetches again.
	t0=$(now_ms)
	pause_replicad "$f"
	wait_for 60000 isr_size_is events 0 2
	echo "# replicad $f stopped: out of the ISR after $(($(now_ms) - t0)) ms (replica.lag.time.max.ms ${CLUSTER_LAG_MS:-6000})" >&3
	[ $(($(now_ms) - t0)) -ge $((${CLUSTER_LAG_MS:-6000} / 2)) ]
	t0=$(now_ms)
	resume_replicad "$f"
	wait_for 60000 isr_has events 0 "$f"
	echo "# replicad $f resumed: in the ISR again after $(($(now_ms) - t0)) ms" >&3

	stop_producer c
	# Nothing failed: the ISR never went below min.insync.replicas.
	run -0 errors_of c
	[[ -z $output || $output == "_PURGE_QUEUE:"* ]]
	final_check c
}

@test "two brokers of three down: acks=all refused with NOT_ENOUGH_REPLICAS, nothing appended; acks=1 works" {
	local leader f1 f2 before after
	cluster_start
	leader=$(leader_of events 0)
	read -r f1 f2 < <(followers_of events 0 | xargs)
	run -0 kchaos produce "$BROKERS" events h.a.jsonl --writer a \
	    --partition 0 --count 500 --rate 0
	[[ $output == "writer a sent 500 ok 500 fail 0 info 0 "* ]]
	wait_for 30000 caught_up events 0

	kill_broker "$f1"
	kill_broker "$f2"
	wait_for 30000 isr_size_is events 0 1
	[ "$(isr_of events 0)" = "$leader" ]
	read -r before _ < <(offsets_of "$leader" events 0)

	# acks=all: every record refused before the append.
	run -0 kchaos produce "$BROKERS" events h.n.jsonl --writer n \
	    --partition 0 --count 200 --rate 0
	echo "# acks=all with the ISR at 1: ${lines[0]}" >&3
	[[ ${lines[0]} == "writer n sent 200 ok 0 fail 200 info 0 first_error NOT_ENOUGH_REPLICAS" ]]
	# kprod retries NOT_ENOUGH_REPLICAS until its delivery timeout.
	run -1 --separate-stderr "$BIN_DIR/kprod" -b "$BROKERS" -t events -p 0 \
	    -X delivery.timeout.ms=3000 -X retry.backoff.ms=200 < <(seq -f 'kn:%09g' 1 50)
	echo "# kprod acks=all: ${stderr_lines[*]}" >&3
	read -r after _ < <(offsets_of "$leader" events 0)
	[ "$after" = "$before" ]

	# acks=1 is answered by the leader alone.
	run -0 kchaos produce "$BROKERS" events h.one.jsonl --writer one \
	    --acks 1 --partition 0 --count 200 --rate 0
	echo "# acks=1 with the ISR at 1: $output" >&3
	[[ $output == "writer one sent 200 ok 200 fail 0 info 0 "* ]]

	start_broker "$f1"
	start_broker "$f2"
	wait_for 60000 isr_size_is events 0 3
	run -0 kchaos produce "$BROKERS" events h.b.jsonl --writer b \
	    --partition 0 --count 200 --rate 0
	[[ $output == "writer b sent 200 ok 200 fail 0 info 0 "* ]]
	final_check a n one b
	run -1 grep -c 'kn:' all.txt
}

@test "divergence: a dead leader's unreplicated tail is truncated by leader epoch when it returns" {
	local r old new f1 f2 base leo epoch lossy= writers=(a)
	# The followers stop fetching for a few seconds; they must stay in
	# the ISR meanwhile, or nobody could take over.
	CLUSTER_LAG_MS=60000 cluster_start
	run -0 kchaos produce "$BROKERS" events h.a.jsonl --writer a \
	    --partition 0 --count 1000 --rate 0
	[[ $output == "writer a sent 1000 ok 1000 fail 0 info 0 "* ]]
	for ((r = 1; r <= ROUNDS; r++)); do
		wait_for 30000 caught_up events 0
		old=$(leader_of events 0)
		epoch=$(leader_epoch_of events 0)
		read -r f1 f2 < <(followers_of events 0 | xargs)
		read -r base _ < <(offsets_of "$old" events 0)

		# Records only the leader gets: acks=1 while no follower fetches.
		pause_replicad "$f1"
		pause_replicad "$f2"
		run -0 kchaos produce "$BROKERS" events "h.u$r.jsonl" \
		    --writer "u$r" --acks 1 --partition 0 --count 500 --rate 0
		[[ $output == "writer u$r sent 500 ok 500 fail 0 info 0 "* ]]
		lossy+=${lossy:+,}u$r
		writers+=("u$r" "b$r")
		read -r leo _ < <(offsets_of "$old" events 0)
		[ "$leo" = $((base + 500)) ]
		kill_broker "$old" partition=0
		wait_for 30000 leader_is_not events 0 "$old"
		new=$(leader_of events 0)
		[ "$(leader_epoch_of events 0)" -gt "$epoch" ]
		# Only now: a fetch answer the stopped replicads hold may carry
		# the old leader's tail, which their logd must refuse at the new
		# epoch.
		wait_for 30000 sees_leader "$f1" events 0 "$new"
		wait_for 30000 sees_leader "$f2" events 0 "$new"
		resume_replicad "$f1"
		resume_replicad "$f2"
		read -r leo _ < <(offsets_of "$new" events 0)
		[ "$leo" = "$base" ]

		# The new leader takes writes at the same offsets.
		run -0 kchaos produce "$BROKERS" events "h.b$r.jsonl" \
		    --writer "b$r" --partition 0 --count 1000 --rate 0
		[[ $output == "writer b$r sent 1000 ok 1000 fail 0 info 0 "* ]]

		start_broker "$old"
		wait_for 60000 isr_size_is events 0 3
		run -0 grep "truncating topic=events partition=0 from=$((base + 500)) to=$base " "r$old.log"
		echo "# round $r: old leader $old: ${output#*: info: }" >&3
	done
	final_check "${writers[@]}" -- --lossy "$lossy"
	[[ $CHECK == *" lossy_acked $((500 * ROUNDS)) lossy_lost $((500 * ROUNDS))" ]]
}

@test "SIGTERM of the leader moves leadership first: only retriable errors, kprod delivers every record once" {
	local r leader
	cluster_start
	start_producer c --partitions 3 --rate "$RATE"
	start_kprod k
	wait_for 30000 acked_at_least c 2000
	for ((r = 1; r <= BOUNCES; r++)); do
		leader=$(leader_of events 0)
		term_broker "$leader" partition=0
		[ "$TERM_STATUS" -eq 0 ]
		# The broker exits only once ctrld moved its leaderships.
		leader_is_not events 0 "$leader"
		run -0 grep -c "controlled shutdown: leadership moved in" "b$leader.log"
		echo "# bounce $r: broker $leader stopped in $TERM_MS ms; new leader $(leader_of events 0)" >&3
		start_broker "$leader"
		wait_for 60000 isr_size_is events 0 3
		more_acked_on c 0 300
	done
	stop_producer c
	stop_kprod k
	[ "$KPROD_STATUS" -eq 0 ]
	run -0 kchaos timeline --nemesis nemesis.jsonl h.c.jsonl
	printf '# %s\n' "${lines[@]}" >&3
	# Every error a producer without retries saw is one a client retries.
	run -0 jq -r 'select(.r != "ok" and .e != "_PURGE_QUEUE" and
	    .retriable != true) | "\(.s) \(.e)"' h.c.jsonl
	[ -z "$output" ]
	final_check c k -- --dups-ok c
}

@test "SIGSTOP of the leader past the session timeout, then SIGCONT: fenced, nothing acknowledged for the old epoch" {
	local r old new t_pause t_resume f zpid zombies=()
	cluster_start
	start_producer c --partitions 3 --rate "$RATE"
	wait_for 30000 acked_at_least c 2000
	for ((r = 1; r <= ROUNDS; r++)); do
		old=$(leader_of events 0)
		# A client stuck to the old leader, never redirected.
		rm -f "stop.z$r"
		"${KCHAOS[@]}" zombie "$(broker_addr "$old")" events 0 \
		    "h.z$r.jsonl" --writer "z$r" --stop-file "stop.z$r" \
		    >"z$r.out" 2>&1 3>&- &
		zpid=$!
		cl_client "$zpid"
		zombies+=("z$r")
		wait_for 30000 acked_at_least "z$r" 100

		pause_broker "$old" partition=0
		t_pause=$(now_ms)
		wait_for 30000 leader_is_not events 0 "$old"
		new=$(leader_of events 0)
		echo "# round $r: broker $old stopped; broker $new leads after $(($(now_ms) - t_pause)) ms" >&3
		# The followers follow the new leader before the old one wakes.
		for f in $(followers_of events 0); do
			[ "$f" = "$old" ] || wait_for 30000 sees_leader "$f" events 0 "$new"
		done
		more_acked_on c 0 300

		resume_broker "$old" partition=0
		t_resume=$(now_ms)
		wait_for 30000 sees_leader "$old" events 0 "$new"
		echo "# round $r: broker $old resumed: knows it is fenced after $(($(now_ms) - t_resume)) ms" >&3
		touch "stop.z$r"
		wait "$zpid"
		echo "# round $r: zombie client: $(cat "z$r.out"); $(errors_of "z$r")" >&3
		# Nothing sent to the old leader after it froze was acknowledged.
		run -0 jq -r --argjson t "$t_pause" \
		    'select(.ts > $t and .r == "ok") | .s' "h.z$r.jsonl"
		[ -z "$output" ]
		jq -r --argjson t "$t_pause" \
		    'select(.ts > $t) | "\(.w):\(.s | tostring | ("000000000" + .) | .[-9:])."' \
		    "h.z$r.jsonl" >>frozen.txt
		wait_for 60000 isr_size_is events 0 3
	done
	stop_producer c
	final_check c "${zombies[@]}" -- --dups-ok c
	# Nor did any of it reach the log.
	[ -s frozen.txt ]
	run -1 grep -c -F -f frozen.txt all.txt
}

# client_sees_leader CLIENT ID: the client's Metadata names ID as the
# leader of events-0.
client_sees_leader() {
	[ "$(kchaos leader "$BROKERS" events 0 --client "$1")" = "$2" ]
}

@test "kafka-python and kcat find the new leader through Metadata and keep producing after kill -9" {
	local r leader new
	cluster_start
	start_producer kp --client kafka-python --retries 20 --partitions 3 \
	    --rate $((RATE / 4))
	start_kcat kc
	wait_for 30000 acked_at_least kp 500

	for ((r = 1; r <= ROUNDS; r++)); do
		leader=$(leader_of events 0)
		kill_broker "$leader" partition=0
		wait_for 30000 leader_is_not events 0 "$leader"
		new=$(leader_of events 0)
		# Each client's own Metadata names the new leader...
		wait_for 30000 client_sees_leader confluent "$new"
		wait_for 30000 client_sees_leader kafka-python "$new"
		run -0 kcat -L -b "$BROKERS" -t events
		[[ $output == *"partition 0, leader $new,"* ]]
		# ... and both producers go on: kafka-python writes to
		# partition 0 again.
		more_acked_on kp 0 300
		start_broker "$leader"
		wait_for 60000 isr_size_is events 0 3
	done
	stop_producer kp
	stop_kcat kc
	[ "$KCAT_STATUS" -eq 0 ]
	run -0 kchaos timeline --nemesis nemesis.jsonl h.kp.jsonl
	echo "# kafka-python: ${lines[-1]}" >&3
	# kafka-python retries without idempotence: a retried batch may be
	# written twice (counted, allowed); kcat's idempotent one may not.
	final_check kp kc -- --dups-ok kp
	# The same log through kafka-python's and kcat's consumers.
	kchaos read "$BROKERS" events --client kafka-python >kafka-python.txt
	diff -u all.txt kafka-python.txt
	kcat -C -b "$BROKERS" -t events -o beginning -e -q -f '%p %o %s\n' |
	    sort -n -k1,1 -k2,2 >kcat.txt
	diff -u all.txt kcat.txt
}
