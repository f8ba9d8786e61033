/* SPDX-License-Identifier: MIT */
/*
 * Truncation before fetching (KIP-101, KIP-279): after every leader or
 * epoch change replicad asks the leader OffsetForLeaderEpoch v3 for its
 * latest local epoch and cuts the local log where the two diverge, never
 * by the high watermark alone. The rules are those of Kafka's
 * AbstractFetcherThread.getOffsetTruncationState: when the leader answers
 * an older epoch than asked, the follower's own end offset for that epoch
 * bounds the cut, and when the follower does not know that epoch it cuts
 * to the end of its largest epoch below it and asks again. The follower's
 * epochs come from its leader-epoch-checkpoint, which logd replaces
 * atomically and only changes on replicad's own appends and truncations.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "log.h"
#include "proto.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

struct truncation {
	int64_t offset;			/* cut the log here (if below LEO) */
	bool done;			/* false: ask again afterwards */
	char why[RD_ERROR_MAX];		/* for the log line */
};

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The partition's leader-epoch cache, from its directory. */
static int
load_cache(const struct replicad *rd, const struct rd_part *p,
    struct epoch_cache **out, struct err *e)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s-%" PRId32, rd->data_dir,
	    p->topic, p->partition) >= sizeof(dir))
		return err_set(e, EXIT_CONFIG, "partition directory name too "
		    "long in '%s'", rd->data_dir);
	return epoch_cache_open(dir, out, e);
}

/*
 * Where to cut `p` after the leader answered (leader_epoch, leader_end)
 * for epoch `asked`, given the local cache.
 */
static void
plan(const struct rd_part *p, const struct epoch_cache *c, int32_t asked,
    int32_t leader_epoch, int64_t leader_end, struct truncation *t)
{
	int32_t fe;
	int64_t fo;

	t->done = true;
	if (leader_end < 0) {
		/* Older than anything the leader knows: nothing is proven. */
		t->offset = p->log_start;
		snprintf(t->why, sizeof(t->why), "leader knows no end offset "
		    "for epoch %" PRId32 "; copying the log again", asked);
		return;
	}
	if (leader_epoch < 0) {
		t->offset = min64(leader_end, p->leo);
		snprintf(t->why, sizeof(t->why), "leader's end offset %" PRId64
		    " for epoch %" PRId32, leader_end, asked);
		return;
	}
	epoch_cache_end_offset_for(c, leader_epoch, p->leo, &fe, &fo);
	if (fo < 0) {
		t->offset = min64(leader_end, p->leo);
		snprintf(t->why, sizeof(t->why), "epoch %" PRId32 " ends at %"
		    PRId64 " on the leader and is unknown here",
		    leader_epoch, leader_end);
	} else if (fe != leader_epoch) {
		t->offset = min64(fo, p->leo);
		t->done = false;
		snprintf(t->why, sizeof(t->why), "leader answered epoch %" PRId32
		    " (asked %" PRId32 "), unknown here; local epoch %" PRId32
		    " ends at %" PRId64 ", asking again", leader_epoch, asked,
		    fe, fo);
	} else {
		t->offset = min64(min64(fo, leader_end), p->leo);
		snprintf(t->why, sizeof(t->why), "epoch %" PRId32 " ends at %"
		    PRId64 " on the leader and at %" PRId64 " here (asked %"
		    PRId32 ")", leader_epoch, leader_end, fo, asked);
	}
}

/* Truncation is over for `p`: fetch from its (new) log end offset. */
static void
truncation_done(struct rd_part *p)
{
	p->need_truncate = false;
	p->truncate_rounds = 0;
	rd_part_ok(p);
}

static void
answer_none(struct replicad *rd, struct rd_part *p, int32_t leader_epoch,
    int64_t leader_end, int64_t now)
{
	struct epoch_cache *c = NULL;
	struct truncation t;
	struct err e = { 0 };

	if (load_cache(rd, p, &c, &e) < 0) {
		rd_part_fail(p, RD_P_BACKOFF, now, "%s", e.msg);
		return;
	}
	plan(p, c, p->asked_epoch, leader_epoch, leader_end, &t);
	epoch_cache_close(c);
	if (t.offset < p->leo) {
		if (rd_local_truncate(rd, p, t.offset, t.why, now) < 0)
			return;
	} else {
		log_debug("topic=%s partition=%" PRId32 ": nothing to truncate "
		    "at %" PRId64 ": %s", p->topic, p->partition, p->leo, t.why);
	}
	if (t.done) {
		truncation_done(p);
		return;
	}
	if (++p->truncate_rounds >= RD_TRUNCATE_ROUNDS_MAX)
		rd_part_fail(p, RD_P_BACKOFF, now, "no divergence point after %d "
		    "OffsetForLeaderEpoch rounds", p->truncate_rounds);
}

static void
answer(struct replicad *rd, struct rd_leader *l, struct rd_part *p,
    int16_t code, int32_t leader_epoch, int64_t leader_end, int64_t now)
{
	switch (code) {
	case KERR_NONE:
		answer_none(rd, p, leader_epoch, leader_end, now);
		return;
	case KERR_FENCED_LEADER_EPOCH:
	case KERR_UNKNOWN_LEADER_EPOCH:
	case KERR_NOT_LEADER_OR_FOLLOWER:
		rd_part_fail(p, RD_P_WAITING, now, "broker %" PRId32 " answered "
		    "OffsetForLeaderEpoch at leader_epoch %" PRId32 " with %s; "
		    "waiting for a fresh state", l->id, p->leader_epoch,
		    rd_error_name(code));
		return;
	default:
		rd_part_fail(p, RD_P_BACKOFF, now, "broker %" PRId32 " answered "
		    "OffsetForLeaderEpoch with %s", l->id, rd_error_name(code));
	}
}

/* Parse the answer; -1 when it is malformed. */
static int
read_answer(struct replicad *rd, struct rd_leader *l, struct breader *r,
    uint64_t seq, int64_t now)
{
	int32_t nt, np, i, j;

	br_i32(r);			/* throttle_time_ms */
	nt = proto_read_array_len(r, false, 6);
	for (i = 0; i < nt && br_ok(r); i++) {
		char topic[CTLPROTO_NAME_MAX + 1];
		struct proto_str name = proto_read_str(r, false);
		bool named = proto_str_copy(name, topic, sizeof(topic));

		np = proto_read_array_len(r, false, 18);
		for (j = 0; j < np && br_ok(r); j++) {
			int16_t code = br_i16(r);
			int32_t part = br_i32(r), epoch = br_i32(r);
			int64_t end = br_i64(r);
			struct rd_part *p;

			if (!br_ok(r) || !named)
				continue;
			p = rd_part_find(rd, topic, part);
			if (p == NULL || p->seq != seq)
				continue;
			p->seq = 0;
			answer(rd, l, p, code, epoch, end, now);
		}
	}
	return br_ok(r) ? 0 : -1;
}

static void
epoch_cb(void *arg, struct breader *body, const struct err *failure)
{
	struct rd_leader *l = arg;
	uint64_t seq = l->epoch_seq;

	(void)failure;		/* the loop takes it from the connection */
	l->epoch_seq = 0;
	rd_leader_answer(l, body, seq, read_answer, "OffsetForLeaderEpoch");
}

/*
 * An empty cache gives nothing to ask with. An empty log needs nothing;
 * records of unknown epochs cannot be checked against the leader, and
 * keeping them by the high watermark is what KIP-101 fixed, so they go
 * and are fetched again.
 */
static void
no_epochs(struct replicad *rd, struct rd_part *p, int64_t now)
{
	if (p->leo > p->log_start && rd_local_truncate(rd, p, p->log_start,
	    "records without a leader-epoch cache; copying the log again",
	    now) < 0)
		return;
	truncation_done(p);
}

/* Whether `p` goes into the next OffsetForLeaderEpoch to `l`. */
static bool
wants_epoch(const struct rd_part *p, const struct rd_leader *l, int64_t now)
{
	return p->leader == l->id && p->need_truncate &&
	    p->state != RD_P_NO_LEADER && rd_part_eligible(p, now);
}

/* Pick the partitions and their epochs; returns how many are to ask. */
static size_t
collect(struct replicad *rd, struct rd_leader *l, struct rd_part **out,
    int64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];
		struct epoch_cache *c = NULL;
		struct err e = { 0 };

		if (!wants_epoch(p, l, now))
			continue;
		if (load_cache(rd, p, &c, &e) < 0) {
			rd_part_fail(p, RD_P_BACKOFF, now, "%s", e.msg);
			continue;
		}
		p->asked_epoch = epoch_cache_latest(c);
		epoch_cache_close(c);
		if (p->asked_epoch < 0) {
			no_epochs(rd, p, now);
			continue;
		}
		out[n++] = p;
	}
	return n;
}

static void
put_part(struct buf *b, const struct rd_part *p)
{
	buf_put_i32(b, p->partition);
	buf_put_i32(b, p->leader_epoch);
	buf_put_i32(b, p->asked_epoch);
}

/* The request body: partitions are sorted, so topics come in runs. */
static void
write_request(struct buf *b, int32_t replica_id, struct rd_part **parts,
    size_t n)
{
	buf_put_i32(b, replica_id);
	rd_put_topics(b, parts, n, put_part);
}

void
rd_epoch_send(struct replicad *rd, struct rd_leader *l, int64_t now)
{
	struct rd_part **parts;
	size_t n, i;

	if (l->epoch_seq != 0 || !rconn_is_ready(&l->conn) || rd->broker_id < 0)
		return;
	parts = xcalloc(rd->nparts + 1, sizeof(*parts));
	n = collect(rd, l, parts, now);
	/* A local truncation in collect() may have lost the local logd. */
	for (i = 0; i < n; i++)
		if (parts[i]->stale)
			n = 0;
	if (n == 0 || !rconn_is_ready(&l->conn)) {
		free(parts);
		return;
	}
	write_request(rconn_begin(&l->conn, API_OFFSET_FOR_LEADER_EPOCH,
	    RD_EPOCH_VERSION), rd->broker_id, parts, n);
	l->epoch_seq = rd_leader_send(l, epoch_cb, RD_REQUEST_TIMEOUT_MS,
	    parts, n, now);
	for (i = 0; i < n && l->epoch_seq != 0; i++)
		log_debug("topic=%s partition=%" PRId32 ": asking %s for the end "
		    "of epoch %" PRId32 " (log end offset %" PRId64 ")",
		    parts[i]->topic, parts[i]->partition, l->conn.name,
		    parts[i]->asked_epoch, parts[i]->leo);
	free(parts);
}
