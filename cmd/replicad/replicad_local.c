/* SPDX-License-Identifier: MIT */
/*
 * The local logd, over <data_dir>/replica.sock (docs/cluster-protocol.md,
 * APIs 32010-32012). Two connections: one carries the ReplicaState long
 * poll, which logd holds up to a second, and the other the appends and
 * truncations, which would otherwise queue behind it (logd answers one
 * request per connection at a time). A lost local logd marks every
 * partition stale: once it is back, each one starts over with the
 * truncation check, since a restart may have cut its log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

void
rd_local_down(struct replicad *rd, const struct err *why, int64_t now)
{
	size_t i;

	if (!rd->local_down_logged)
		log_warnx("%s; retrying with back-off", why->msg);
	rd->local_down_logged = true;
	snprintf(rd->local_error, sizeof(rd->local_error), "%s", why->msg);
	rconn_close(&rd->state_conn, NULL);
	rconn_close(&rd->apply_conn, NULL);
	rconn_take_failure(&rd->state_conn, NULL);
	rconn_take_failure(&rd->apply_conn, NULL);
	rd->state_inflight = false;
	rd->version = -1;
	rd_backoff_step(&rd->local_backoff, now);
	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];

		p->stale = true;
		p->seq = 0;
		p->state = RD_P_WAITING;
		snprintf(p->error, sizeof(p->error), "%s", why->msg);
	}
}

static int
local_connect(struct replicad *rd, struct err *e)
{
	if (rconn_open_unix(&rd->state_conn, rd->sock_path, e) < 0 ||
	    rconn_open_unix(&rd->apply_conn, rd->sock_path, e) < 0) {
		rconn_close(&rd->state_conn, NULL);
		return -1;
	}
	if (rd->local_down_logged || rd->broker_id < 0)
		log_info("connected to the local logd at '%s'", rd->sock_path);
	rd->local_down_logged = false;
	return 0;
}

/* The partition `s` describes, new or with another leader or epoch. */
static void
part_take(struct rd_part *p, const struct ctl_replica_partition *s,
    bool is_new)
{
	if (is_new)
		log_info("following topic=%s partition=%" PRId32 " leader=%"
		    PRId32 " leader_epoch=%" PRId32 " log_end_offset=%" PRId64,
		    s->topic, s->partition, s->leader, s->leader_epoch,
		    s->log_end_offset);
	else if (!p->stale)
		log_info("new leader topic=%s partition=%" PRId32 " leader=%"
		    PRId32 "->%" PRId32 " leader_epoch=%" PRId32 "->%" PRId32,
		    s->topic, s->partition, p->leader, s->leader,
		    p->leader_epoch, s->leader_epoch);
	snprintf(p->topic, sizeof(p->topic), "%s", s->topic);
	p->partition = s->partition;
	p->leader = s->leader;
	snprintf(p->leader_host, sizeof(p->leader_host), "%s", s->leader_host);
	p->leader_port = s->leader_port;
	p->leader_epoch = s->leader_epoch;
	p->log_start = s->log_start_offset;
	p->leo = s->log_end_offset;
	p->hw = s->high_watermark;
	rd_part_restart(p);
}

static bool
part_changed(const struct rd_part *p, const struct ctl_replica_partition *s)
{
	return p->stale || p->leader != s->leader ||
	    p->leader_epoch != s->leader_epoch ||
	    p->leader_port != s->leader_port ||
	    strcmp(p->leader_host, s->leader_host) != 0;
}

/* Drop adjacent duplicates of the sorted table (a logd bug, not trusted). */
static void
parts_dedup(struct replicad *rd)
{
	size_t i, n = 0;

	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];

		if (n > 0 && rd->parts[n - 1]->partition == p->partition &&
		    strcmp(rd->parts[n - 1]->topic, p->topic) == 0) {
			free(p);
			continue;
		}
		rd->parts[n++] = p;
	}
	rd->nparts = n;
}

/* Rebuild the leader table from the partitions' leaders. */
static void
leaders_update(struct replicad *rd)
{
	size_t i;

	for (i = 0; i < rd->nleaders; i++)
		rd->leaders[i]->used = false;
	for (i = 0; i < rd->nparts; i++) {
		const struct rd_part *p = rd->parts[i];
		struct rd_leader *l;

		if (!rd_part_has_leader(p))
			continue;
		l = rd_leader_get(rd, p->leader, p->leader_host, p->leader_port);
		if (l == NULL)
			log_fatalx(EXIT_OSERR, "out of memory");
		l->used = true;
	}
	rd_leaders_sweep(rd);
}

/*
 * Replace the partition table with the one in `resp`: partitions keep
 * their state (and our newer log end offset) while leader and epoch stay;
 * the others start over.
 */
static void
apply_partitions(struct replicad *rd, const struct ctl_replica_state_resp *resp)
{
	struct rd_part **next;
	size_t i, n = 0;

	next = xcalloc((size_t)resp->npartitions + 1, sizeof(*next));
	for (i = 0; i < (size_t)resp->npartitions; i++) {
		const struct ctl_replica_partition *s = &resp->partitions[i];
		struct rd_part *p = rd_part_find(rd, s->topic, s->partition);
		bool is_new = p == NULL;

		/* Only followers fetch; a leader listed here is not one. */
		if (s->leader == rd->broker_id || (p != NULL && p->seen))
			continue;
		if (is_new)
			p = xcalloc(1, sizeof(*p));
		if (is_new || part_changed(p, s))
			part_take(p, s, is_new);
		else
			p->log_start = s->log_start_offset;
		p->seen = true;
		next[n++] = p;
	}
	rd_parts_sweep(rd);
	free(rd->parts);
	rd->parts = next;
	rd->nparts = n;
	rd_parts_sort(rd);
	parts_dedup(rd);
	for (i = 0; i < rd->nparts; i++)
		rd->parts[i]->seen = false;
	leaders_update(rd);
}

/* The broker id the local logd reports; -i must agree with it. */
static int
check_broker(struct replicad *rd, int32_t id)
{
	if (rd->opts->broker_id >= 0 && rd->opts->broker_id != id) {
		log_errorx("the logd at '%s' is broker %" PRId32 ", not %" PRId32
		    " as -i says", rd->sock_path, id, rd->opts->broker_id);
		rd->exit_code = EXIT_CONFIG;
		*rd->stop = 1;
		return -1;
	}
	if (rd->broker_id != id)
		log_info("replicating for broker %" PRId32, id);
	rd->broker_id = id;
	return 0;
}

static void
state_cb(void *arg, struct breader *body, const struct err *failure)
{
	struct replicad *rd = arg;
	struct ctl_replica_state_resp resp;
	int64_t now = clock_mono_ms();
	struct err e = { 0 };

	(void)failure;		/* taken by rd_local_tick() */
	rd->state_inflight = false;
	if (body == NULL)
		return;
	if (ctlproto_read_replica_state_resp(body, &resp, &e) < 0) {
		err_wrap(&e, "local logd ('%s'): bad ReplicaState answer",
		    rd->sock_path);
		rd_local_down(rd, &e, now);
		return;
	}
	if (resp.error_code != KERR_NONE) {
		snprintf(rd->local_error, sizeof(rd->local_error), "local logd "
		    "refused ReplicaState: %s%s%s",
		    rd_error_name(resp.error_code),
		    resp.error_message[0] ? ": " : "", resp.error_message);
		if (!rd->local_down_logged)
			log_warnx("%s; retrying with back-off", rd->local_error);
		rd->local_down_logged = true;
		rd_backoff_step(&rd->local_backoff, now);
		ctlproto_release_replica_state_resp(&resp);
		return;
	}
	if (check_broker(rd, resp.broker_id) == 0) {
		rd->local_error[0] = '\0';
		rd->local_down_logged = false;
		rd_backoff_reset(&rd->local_backoff);
		apply_partitions(rd, &resp);
		rd->version = resp.version;
	}
	ctlproto_release_replica_state_resp(&resp);
}

static void
send_state(struct replicad *rd, int64_t now)
{
	struct ctl_replica_state_req m = { rd->version, RD_STATE_WAIT_MS };
	struct err e = { 0 };
	struct buf *b;

	b = rconn_begin(&rd->state_conn, API_KLOG_REPLICA_STATE,
	    CTLPROTO_VERSION);
	ctlproto_write_replica_state_req(b, &m);
	if (rconn_send(&rd->state_conn, state_cb, rd,
	    RD_STATE_WAIT_MS + RD_REQUEST_TIMEOUT_MS, &e) < 0) {
		rd_local_down(rd, &e, now);
		return;
	}
	rd->state_inflight = true;
}

void
rd_local_tick(struct replicad *rd, int64_t now)
{
	struct err e = { 0 };

	if (rconn_take_failure(&rd->state_conn, &e))
		rd_local_down(rd, &e, now);
	if (rd_backoff_waiting(&rd->local_backoff, now))
		return;
	if (!rconn_is_open(&rd->state_conn) && local_connect(rd, &e) < 0) {
		rd_local_down(rd, &e, now);
		return;
	}
	if (!rd->state_inflight)
		send_state(rd, now);
}

/* Run the request built on apply_conn; the answer is in rd->resp. */
static int
local_call(struct replicad *rd, int64_t now)
{
	struct err e = { 0 };

	if (rconn_call(&rd->apply_conn, RD_REQUEST_TIMEOUT_MS, &rd->resp,
	    &e) == 0)
		return 0;
	rd_local_down(rd, &e, now);
	return -1;
}

/* A refusal both calls share: fenced means a fresher state is coming. */
static void
local_refused(struct rd_part *p, const char *what, int16_t code,
    const char *msg, int64_t now)
{
	bool fenced = code == KERR_FENCED_LEADER_EPOCH ||
	    code == KERR_NOT_LEADER_OR_FOLLOWER ||
	    code == KERR_UNKNOWN_LEADER_EPOCH ||
	    code == KERR_UNKNOWN_TOPIC_OR_PARTITION;

	rd_part_fail(p, fenced ? RD_P_WAITING : RD_P_BACKOFF, now,
	    "local logd refused %s at leader_epoch %" PRId32 ": %s%s%s", what,
	    p->leader_epoch, rd_error_name(code), *msg ? ": " : "", msg);
}

int
rd_local_append(struct replicad *rd, struct rd_part *p,
    const uint8_t *records, size_t len, int64_t leader_hw, int64_t now)
{
	struct ctl_replica_append_req m;
	struct ctl_replica_append_resp r;
	struct breader br;
	struct err e = { 0 };

	memset(&m, 0, sizeof(m));
	snprintf(m.topic, sizeof(m.topic), "%s", p->topic);
	m.partition = p->partition;
	m.leader_epoch = p->leader_epoch;
	m.leader_high_watermark = leader_hw;
	m.records = records;
	m.records_len = (int32_t)len;
	ctlproto_write_replica_append_req(rconn_begin(&rd->apply_conn,
	    API_KLOG_REPLICA_APPEND, CTLPROTO_VERSION), &m);
	if (local_call(rd, now) < 0)
		return -1;
	br_init(&br, rd->resp.data, rd->resp.len);
	if (ctlproto_read_replica_append_resp(&br, &r, &e) < 0) {
		err_wrap(&e, "local logd: bad ReplicaAppend answer");
		rd_local_down(rd, &e, now);
		return -1;
	}
	if (r.error_code == KERR_OFFSET_OUT_OF_RANGE &&
	    r.log_end_offset != p->leo) {
		/* Our idea of its end was wrong: check divergence again. */
		rd_part_fail(p, RD_P_BACKOFF, now, "local log end offset is %"
		    PRId64 ", not %" PRId64 "; checking for divergence again",
		    r.log_end_offset, p->leo);
		p->leo = r.log_end_offset;
		p->need_truncate = true;
		p->truncate_rounds = 0;
		return -1;
	}
	if (r.error_code != KERR_NONE) {
		local_refused(p, "the append", r.error_code, r.error_message,
		    now);
		return -1;
	}
	p->leo = r.log_end_offset;
	p->hw = r.high_watermark;
	p->hw_passed = leader_hw;
	return 0;
}

int
rd_local_truncate(struct replicad *rd, struct rd_part *p, int64_t offset,
    const char *why, int64_t now)
{
	struct ctl_replica_truncate_req m;
	struct ctl_replica_truncate_resp r;
	struct breader br;
	struct err e = { 0 };
	int64_t old = p->leo;

	log_info("truncating topic=%s partition=%" PRId32 " from=%" PRId64
	    " to=%" PRId64 " leader=%" PRId32 " leader_epoch=%" PRId32 ": %s",
	    p->topic, p->partition, old, offset, p->leader, p->leader_epoch,
	    why);
	memset(&m, 0, sizeof(m));
	snprintf(m.topic, sizeof(m.topic), "%s", p->topic);
	m.partition = p->partition;
	m.leader_epoch = p->leader_epoch;
	m.offset = offset;
	ctlproto_write_replica_truncate_req(rconn_begin(&rd->apply_conn,
	    API_KLOG_REPLICA_TRUNCATE, CTLPROTO_VERSION), &m);
	if (local_call(rd, now) < 0)
		return -1;
	br_init(&br, rd->resp.data, rd->resp.len);
	if (ctlproto_read_replica_truncate_resp(&br, &r, &e) < 0) {
		err_wrap(&e, "local logd: bad ReplicaTruncate answer");
		rd_local_down(rd, &e, now);
		return -1;
	}
	if (r.error_code != KERR_NONE) {
		local_refused(p, "the truncation", r.error_code,
		    r.error_message, now);
		return -1;
	}
	/* Outside the log (above its end, below its start) it restarts. */
	if (offset > old || offset < p->log_start)
		p->log_start = r.log_end_offset;
	p->leo = r.log_end_offset;
	if (p->hw > p->leo)
		p->hw = p->leo;
	return 0;
}
