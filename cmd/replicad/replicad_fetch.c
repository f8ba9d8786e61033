/* SPDX-License-Identifier: MIT */
/*
 * Fetching from a leader: one Fetch v11 at a time per leader, with every
 * partition it leads that is ready (replica_id = our broker id, fetch
 * offset = the local log end offset, 500 ms long poll, no fetch session),
 * and the answer's whole batches handed to the local logd unchanged with
 * the leader's high watermark. The partitions' order rotates so none
 * starves behind busy ones, and a partition that got only part of a
 * batch goes first next time: the leader always gives the first
 * partition with data one whole batch (KIP-74), however large.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "record.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

/* The whole batches of a partition's answer that are new to us. */
struct span {
	size_t skip;			/* bytes of batches below our LEO */
	size_t end;			/* end of the last whole batch */
	size_t nbatches;		/* whole batches in [skip, end) */
	int64_t first;			/* base offset of the first of them */
};

/*
 * Find the whole batches in rec[0..len): a trailing partial batch (the
 * leader cuts at the size limit) is left out. -1 with the position when
 * a batch header is impossible.
 */
static int
scan_batches(const uint8_t *rec, size_t len, int64_t leo, struct span *s,
    size_t *bad_at)
{
	size_t pos = 0;

	memset(s, 0, sizeof(*s));
	while (len - pos >= REC_BATCH_LOG_OVERHEAD) {
		const uint8_t *b = rec + pos;
		int32_t blen = (int32_t)be32_load(b + REC_OFF_LENGTH);
		size_t size;
		int64_t last;

		if (blen < REC_BATCH_HEADER_SIZE - REC_BATCH_LOG_OVERHEAD) {
			*bad_at = pos;
			return -1;
		}
		size = REC_BATCH_LOG_OVERHEAD + (size_t)blen;
		if (size > len - pos)
			break;
		last = (int64_t)be64_load(b + REC_OFF_BASE_OFFSET) +
		    (int32_t)be32_load(b + REC_OFF_LAST_OFFSET_DELTA);
		pos += size;
		if (s->nbatches == 0 && last < leo) {
			s->skip = pos;
			continue;
		}
		if (s->nbatches++ == 0)
			s->first = (int64_t)be64_load(b + REC_OFF_BASE_OFFSET);
		s->end = pos;
	}
	if (s->nbatches == 0)
		s->end = s->skip;
	return 0;
}

/*
 * The leader's first new batch starts below our log end: the two logs
 * split that epoch's records into batches differently, which one leader
 * per epoch never does, so ours are not its records. Cut back to the
 * batch's start and take the leader's.
 */
static int
cut_to_batch(struct replicad *rd, struct rd_leader *l, struct rd_part *p,
    int64_t base, int64_t now)
{
	char why[RD_ERROR_MAX];

	snprintf(why, sizeof(why), "the batch from %s at offset %" PRId64
	    " spans the local log end", l->conn.name, base);
	if (rd_local_truncate(rd, p, base, why, now) < 0)
		return -1;
	if (p->leo == base)
		return 0;
	/* Batches end elsewhere here too: fetch again from where it is. */
	rd_part_ok(p);
	return -1;
}

static void
got_records(struct replicad *rd, struct rd_leader *l, struct rd_part *p,
    int64_t hw, const uint8_t *rec, size_t len, int64_t now)
{
	struct span s;
	size_t bad_at = 0;

	if (scan_batches(rec, len, p->leo, &s, &bad_at) < 0) {
		rd_part_fail(p, RD_P_BACKOFF, now, "%s sent a malformed batch "
		    "header %zu bytes into the answer at fetch offset %" PRId64,
		    l->conn.name, bad_at, p->leo);
		return;
	}
	p->stalled = s.nbatches == 0 && len > s.skip;
	if (s.nbatches > 0 && s.first < p->leo && cut_to_batch(rd, l, p,
	    s.first, now) < 0)
		return;
	/* An empty append still passes a new high watermark on. */
	if (s.nbatches == 0 && hw == p->hw_passed) {
		rd_part_ok(p);
		return;
	}
	if (rd_local_append(rd, p, rec + s.skip, s.end - s.skip, hw, now) < 0)
		return;
	if (s.nbatches > 0)
		log_debug("topic=%s partition=%" PRId32 ": appended %zu batches,"
		    " log end offset %" PRId64 ", leader high watermark %"
		    PRId64, p->topic, p->partition, s.nbatches, p->leo, hw);
	p->appended_batches += s.nbatches;
	rd_part_ok(p);
}

static void
out_of_range(struct replicad *rd, struct rd_leader *l, struct rd_part *p,
    int64_t log_start, int64_t now)
{
	char why[RD_ERROR_MAX];

	if (log_start >= 0 && p->leo < log_start) {
		/* Retention on the leader passed our end: start over there. */
		snprintf(why, sizeof(why), "the log on %s starts at %" PRId64
		    ", after the local log end", l->conn.name, log_start);
		if (rd_local_truncate(rd, p, log_start, why, now) == 0)
			rd_part_ok(p);
		return;
	}
	/* Ahead of the leader: only the epoch check may say where to cut. */
	p->need_truncate = true;
	p->truncate_rounds = 0;
	rd_part_fail(p, RD_P_BACKOFF, now, "%s: fetch offset %" PRId64 " is "
	    "out of range (leader log start %" PRId64 "); checking for "
	    "divergence again", l->conn.name, p->leo, log_start);
}

static void
answer(struct replicad *rd, struct rd_leader *l, struct rd_part *p,
    int16_t code, int64_t hw, int64_t log_start, struct proto_str rec,
    int64_t now)
{
	if (code == KERR_NONE) {
		p->leader_hw = hw;
		p->leader_log_start = log_start;
	}
	switch (code) {
	case KERR_NONE:
		got_records(rd, l, p, hw, (const uint8_t *)rec.p,
		    rec.len > 0 ? (size_t)rec.len : 0, now);
		return;
	case KERR_OFFSET_OUT_OF_RANGE:
		out_of_range(rd, l, p, log_start, now);
		return;
	case KERR_FENCED_LEADER_EPOCH:
	case KERR_UNKNOWN_LEADER_EPOCH:
	case KERR_NOT_LEADER_OR_FOLLOWER:
		rd_part_fail(p, RD_P_WAITING, now, "%s answered Fetch at "
		    "leader_epoch %" PRId32 " with %s; waiting for a fresh "
		    "state", l->conn.name, p->leader_epoch, rd_error_name(code));
		return;
	default:
		rd_part_fail(p, RD_P_BACKOFF, now, "%s answered Fetch at offset %"
		    PRId64 " with %s", l->conn.name, p->leo, rd_error_name(code));
	}
}

/* One partition of the answer; the reader is left after it. */
static void
read_partition(struct replicad *rd, struct rd_leader *l, struct breader *r,
    const char *topic, uint64_t seq, int64_t now)
{
	int32_t part = br_i32(r), naborted, k;
	int16_t code = br_i16(r);
	int64_t hw = br_i64(r), log_start;
	struct proto_str rec;
	struct rd_part *p;

	br_i64(r);			/* last_stable_offset */
	log_start = br_i64(r);
	naborted = proto_read_array_len(r, true, 16);
	for (k = 0; k < naborted && br_ok(r); k++)
		br_skip(r, 16);
	br_i32(r);			/* preferred_read_replica */
	rec = proto_read_bytes(r, true);
	if (!br_ok(r) || topic == NULL)
		return;
	p = rd_part_find(rd, topic, part);
	if (p == NULL || p->seq != seq)
		return;
	p->seq = 0;
	answer(rd, l, p, code, hw, log_start, rec, now);
}

/* Parse the answer; -1 when it is malformed. */
static int
read_answer(struct replicad *rd, struct rd_leader *l, struct breader *r,
    uint64_t seq, int64_t now)
{
	int32_t nt, np, i, j;
	int16_t code;
	size_t k;

	br_i32(r);			/* throttle_time_ms */
	code = br_i16(r);
	br_i32(r);			/* session_id */
	if (br_ok(r) && code != KERR_NONE) {
		for (k = 0; k < rd->nparts; k++)
			if (rd->parts[k]->seq == seq)
				rd_part_fail(rd->parts[k], RD_P_BACKOFF, now,
				    "%s refused Fetch: %s", l->conn.name,
				    rd_error_name(code));
		return 0;
	}
	nt = proto_read_array_len(r, false, 6);
	for (i = 0; i < nt && br_ok(r); i++) {
		char topic[CTLPROTO_NAME_MAX + 1];
		bool named = proto_str_copy(proto_read_str(r, false), topic,
		    sizeof(topic));

		np = proto_read_array_len(r, false, 42);
		for (j = 0; j < np && br_ok(r); j++)
			read_partition(rd, l, r, named ? topic : NULL, seq, now);
	}
	return br_ok(r) ? 0 : -1;
}

static void
fetch_cb(void *arg, struct breader *body, const struct err *failure)
{
	struct rd_leader *l = arg;
	uint64_t seq = l->fetch_seq;

	(void)failure;		/* the loop takes it from the connection */
	l->fetch_seq = 0;
	rd_leader_answer(l, body, seq, read_answer, "Fetch");
}

static bool
wants_fetch(const struct rd_part *p, const struct rd_leader *l, int64_t now)
{
	return p->leader == l->id && !p->need_truncate &&
	    p->state != RD_P_NO_LEADER && rd_part_eligible(p, now);
}

/*
 * The partitions to fetch, stalled ones first, the rest rotated by the
 * leader's round-robin counter.
 */
static size_t
collect(struct replicad *rd, struct rd_leader *l, struct rd_part **out,
    int64_t now)
{
	size_t i, n = 0, nstalled = 0, start;
	struct rd_part **rest = xcalloc(rd->nparts + 1, sizeof(*rest));
	size_t nrest = 0;

	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];

		if (!wants_fetch(p, l, now))
			continue;
		if (p->stalled)
			out[nstalled++] = p;
		else
			rest[nrest++] = p;
	}
	n = nstalled;
	start = nrest > 0 ? l->rr++ % nrest : 0;
	for (i = 0; i < nrest; i++)
		out[n++] = rest[(start + i) % nrest];
	free(rest);
	return n;
}

static void
put_part(struct buf *b, const struct rd_part *p)
{
	buf_put_i32(b, p->partition);
	buf_put_i32(b, p->leader_epoch);
	buf_put_i64(b, p->leo);
	buf_put_i64(b, -1);			/* log_start_offset */
	buf_put_i32(b, RD_PART_MAX_BYTES);
}

/* Fetch v11; consecutive partitions of one topic share its entry. */
static void
write_request(struct buf *b, int32_t replica_id, struct rd_part **parts,
    size_t n)
{
	buf_put_i32(b, replica_id);
	buf_put_i32(b, RD_FETCH_WAIT_MS);
	buf_put_i32(b, 1);			/* min_bytes */
	buf_put_i32(b, RD_FETCH_MAX_BYTES);
	buf_put_i8(b, 0);			/* read_uncommitted */
	buf_put_i32(b, 0);			/* no fetch session */
	buf_put_i32(b, -1);
	rd_put_topics(b, parts, n, put_part);
	buf_put_i32(b, 0);			/* forgotten_topics_data */
	proto_put_str(b, "", 0);		/* rack_id */
}

void
rd_fetch_send(struct replicad *rd, struct rd_leader *l, int64_t now)
{
	struct rd_part **parts;
	size_t n;

	if (l->fetch_seq != 0 || !rconn_is_ready(&l->conn) || rd->broker_id < 0)
		return;
	parts = xcalloc(rd->nparts + 1, sizeof(*parts));
	n = collect(rd, l, parts, now);
	if (n > 0) {
		write_request(rconn_begin(&l->conn, API_FETCH,
		    RD_FETCH_VERSION), rd->broker_id, parts, n);
		l->fetch_seq = rd_leader_send(l, fetch_cb, RD_FETCH_WAIT_MS +
		    RD_REQUEST_TIMEOUT_MS, parts, n, now);
	}
	free(parts);
}
