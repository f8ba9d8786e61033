#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cron-lag.sh: consumer lag for Prometheus and for cron's mail, in one run.
#
# Writes the lag of every consumer group to node_exporter's textfile
# collector directory (kgroups writes a temporary file and renames it, so a
# scrape never reads half a file; kgroups_last_success_timestamp_seconds
# lets an alert fire when this job stops running), and alerts on the exit
# status: 1 means some partition is more than MAX_LAG records or
# MAX_LAG_SECONDS seconds behind; 64 and up mean kgroups itself failed
# (69 no broker, 75 timeout, ...), which is worth an alert too.
#
# Crontab, every minute (cron mails whatever this prints):
#   * * * * * KLOG_BROKERS=broker1:9092 /usr/local/share/klog/cron-lag.sh
set -u

OUT=${OUT:-/var/lib/node_exporter/textfile/kafka_lag.prom}
MAX_LAG=${MAX_LAG:-10000}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-300}
KGROUPS=${KGROUPS:-kgroups}

"$KGROUPS" lag --all --format prom --output "$OUT" \
    --max-lag "$MAX_LAG" --max-lag-seconds "$MAX_LAG_SECONDS"
status=$?
case $status in
0)	;;
1)	echo "consumer lag over $MAX_LAG records or $MAX_LAG_SECONDS s:" \
	    "see $OUT or 'kgroups lag --all'" ;;
*)	echo "kgroups lag failed with status $status" ;;
esac
exit "$status"
