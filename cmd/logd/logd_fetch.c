/* SPDX-License-Identifier: MIT */
/*
 * Fetch (v4-11): whole batches, sent with sendfile straight from the
 * segment files: below the high watermark for consumers (replica_id < 0),
 * up to the log end for followers (replica_id = a follower's broker id),
 * whose fetch offsets are their positions (logd_replica.c). Only the
 * leader serves either. A fetch that finds fewer than min_bytes parks
 * until data arrives or max_wait_ms passes (the event loop re-runs it
 * when one of its partitions gets data or a higher high watermark).
 * The first partition with data always gets at least one whole batch,
 * even past the size limits, so consumers never stall on a large batch
 * (KIP-74).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "record.h"
#include "banned.h"

/* Slices one partition's answer may join (see read_partition). */
#define FETCH_MAX_SLICES 16

struct fetch_part {
	struct proto_str topic;
	int32_t index;
	int32_t leader_epoch;
	int64_t offset;
	int32_t max_bytes;
	/* results */
	struct partition *p;
	int16_t error;
	struct plog_slice slices[FETCH_MAX_SLICES];
	int nslices;
	uint64_t bytes;		/* sum of the slices' lengths */
};

/*
 * Whether every batch in the slice holds no records (compaction keeps such
 * batches to mark where a cleaned segment ends); *next is the offset after
 * the slice. One 61-byte read settles it for ordinary data.
 */
static bool
slice_is_empty_batches(const struct plog_slice *s, int64_t *next)
{
	uint64_t pos = s->position, end = s->position + s->length;
	uint8_t h[REC_BATCH_HEADER_SIZE];

	while (pos + REC_BATCH_HEADER_SIZE <= end) {
		if (pread(s->fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h))
			return false;
		if (be32_load(h + REC_OFF_RECORD_COUNT) != 0)
			return false;
		*next = (int64_t)be64_load(h + REC_OFF_BASE_OFFSET) +
		    (int32_t)be32_load(h + REC_OFF_LAST_OFFSET_DELTA) + 1;
		pos += be32_load(h + REC_OFF_LENGTH) + REC_BATCH_LOG_OVERHEAD;
	}
	return pos == end;
}

/*
 * Who may read how far: the error for this partition, or KERR_NONE with
 * *max_offset the bound (a follower's fetch is recorded on the way).
 * Offsets past the high watermark but within the log are no error for a
 * consumer, just nothing yet (as in Kafka, after a leader change).
 */
static int16_t
check_partition(struct req *q, struct fetch_part *f, int32_t replica_id,
    int64_t *max_offset)
{
	struct partition *p = f->p;
	int16_t error = replica_check_leader(p, f->leader_epoch);

	if (error != KERR_NONE)
		return error;
	if (replica_id >= 0) {
		*max_offset = plog_end_offset(p->log);
		return replica_follower_fetch(q->ld, p, replica_id, f->offset,
		    q->now_ms);
	}
	if (f->offset < plog_start_offset(p->log) ||
	    f->offset > plog_end_offset(p->log))
		return KERR_OFFSET_OUT_OF_RANGE;
	*max_offset = p->high_watermark;
	return KERR_NONE;
}

/* Find the data for one partition within `budget` response bytes. */
static void
read_partition(struct req *q, struct fetch_part *f, int32_t replica_id,
    size_t budget, bool first_data)
{
	struct err e = { 0 };
	struct plog_slice *s;
	int64_t offset = f->offset, max_offset = -1;
	size_t limit;
	int rc;

	f->nslices = 0;
	f->bytes = 0;
	f->p = partition_find(q->ld, f->topic, f->index);
	if (f->p == NULL) {
		f->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	f->error = check_partition(q, f, replica_id, &max_offset);
	if (f->error != KERR_NONE)
		return;
	if (f->max_bytes <= 0)
		return;
	limit = (size_t)f->max_bytes < budget ? (size_t)f->max_bytes : budget;
	/* With limit 0 plog_read still returns one batch; skip unless first. */
	if (limit == 0 && !first_data)
		return;
	/*
	 * One segment's slice normally. A slice of nothing but empty batches
	 * (left by compaction) would give consumers answers without records,
	 * which librdkafka takes for a record too large to fetch; so read on
	 * into the next segments until records or the end turn up.
	 */
	while (f->nslices < FETCH_MAX_SLICES &&
	    (f->nslices == 0 || f->bytes < limit)) {
		int64_t next = offset;

		s = &f->slices[f->nslices];
		rc = plog_read(f->p->log, offset, f->nslices == 0 ? limit :
		    limit - f->bytes, max_offset, s, &e);
		if (rc == PLOG_OUT_OF_RANGE && f->nslices == 0) {
			f->error = KERR_OFFSET_OUT_OF_RANGE;
			return;
		}
		if (rc < 0 && f->nslices == 0) {
			log_warnx("fetch read failed: topic=%s partition=%" PRId32
			    " offset=%" PRId64 ": %s", f->p->topic->name,
			    f->index, offset, e.msg);
			f->error = KERR_KAFKA_STORAGE_ERROR;
			return;
		}
		if (rc != 0 || s->length == 0)
			break;
		f->nslices++;
		f->bytes += s->length;
		if (!slice_is_empty_batches(s, &next) || next <= offset)
			break;
		offset = next;
	}
}

static struct fetch_part *
parse_fetch(struct req *q, int32_t *replica_id, int32_t *min_bytes,
    int32_t *max_wait, int32_t *max_bytes, int32_t *nparts_out,
    int32_t *ntopics_out)
{
	struct breader *r = &q->body;
	int16_t v = q->hdr.api_version;
	struct fetch_part *parts = NULL;
	int32_t ntopics, i, n = 0, cap = 0;

	*replica_id = br_i32(r);
	*max_wait = br_i32(r);
	*min_bytes = br_i32(r);
	*max_bytes = br_i32(r);
	(void)br_i8(r);				/* isolation_level */
	if (v >= 7) {
		(void)br_i32(r);		/* session_id */
		(void)br_i32(r);		/* session_epoch */
	}
	ntopics = proto_read_array_len(r, false, 6);
	for (i = 0; i < ntopics && br_ok(r); i++) {
		struct proto_str topic = proto_read_str(r, false);
		int32_t np = proto_read_array_len(r, false, 16), j;

		for (j = 0; j < np && br_ok(r); j++) {
			struct fetch_part *f;

			if (n == cap) {
				struct fetch_part *grown;

				cap = cap ? cap * 2 : 16;
				grown = realloc(parts, (size_t)cap * sizeof(*parts));
				if (grown == NULL) {
					free(parts);
					return NULL;
				}
				parts = grown;
			}
			f = &parts[n++];
			memset(f, 0, sizeof(*f));
			f->topic = topic;
			f->index = br_i32(r);
			f->leader_epoch = v >= 9 ? br_i32(r) : -1;
			f->offset = br_i64(r);
			if (v >= 5)
				(void)br_i64(r);	/* log_start_offset */
			f->max_bytes = br_i32(r);
		}
	}
	/* forgotten_topics_data and rack_id: no fetch sessions here. */
	if (!br_ok(r)) {
		free(parts);
		return NULL;
	}
	*nparts_out = n;
	*ntopics_out = ntopics;
	if (parts == NULL)
		parts = calloc(1, sizeof(*parts));
	return parts;
}

static void
put_response(struct req *q, struct fetch_part *parts, int32_t n)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t i, ntopics = 0;

	buf_put_i32(b, 0);			/* throttle_time_ms */
	if (v >= 7) {
		buf_put_i16(b, KERR_NONE);
		buf_put_i32(b, 0);		/* session_id */
	}
	/* Consecutive partitions of one topic form one topic entry. */
	for (i = 0; i < n; i++)
		if (i == 0 || parts[i].topic.p != parts[i - 1].topic.p)
			ntopics++;
	buf_put_i32(b, ntopics);
	for (i = 0; i < n; i++) {
		struct fetch_part *f = &parts[i];
		int32_t j, count = 0;

		if (i > 0 && f->topic.p == parts[i - 1].topic.p)
			continue;
		for (j = i; j < n && parts[j].topic.p == f->topic.p; j++)
			count++;
		proto_put_str(b, f->topic.p, (size_t)f->topic.len);
		buf_put_i32(b, count);
		for (j = i; j < i + count; j++) {
			struct fetch_part *g = &parts[j];
			int k;
			int64_t hw = g->p ? g->p->high_watermark : -1;
			int64_t lso = g->p ? plog_start_offset(g->p->log) : -1;

			buf_put_i32(b, g->index);
			buf_put_i16(b, g->error);
			buf_put_i64(b, hw);
			buf_put_i64(b, hw);	/* last_stable_offset */
			if (v >= 5)
				buf_put_i64(b, lso);
			buf_put_i32(b, -1);	/* aborted_transactions: null */
			if (v >= 11)
				buf_put_i32(b, -1);	/* preferred_read_replica */
			buf_put_i32(b, (int32_t)g->bytes);
			for (k = 0; k < g->nslices; k++)
				if (resp_add_file(q->resp, g->slices[k].fd,
				    (off_t)g->slices[k].position,
				    g->slices[k].length) < 0)
					q->out->failed = true;
		}
	}
}

enum handle_result
handle_fetch(struct req *q)
{
	struct fetch_part *parts;
	int32_t replica_id, min_bytes, max_wait, max_bytes, n, ntopics, i;
	size_t total = 0, budget;
	bool any_error = false;

	parts = parse_fetch(q, &replica_id, &min_bytes, &max_wait, &max_bytes,
	    &n, &ntopics);
	if (parts == NULL)
		return HANDLE_CLOSE;
	budget = max_bytes > 0 ? (size_t)max_bytes : 0;
	for (i = 0; i < n; i++) {
		struct fetch_part *f = &parts[i];

		read_partition(q, f, replica_id,
		    budget > total ? budget - total : 0, total == 0);
		total += f->bytes;
		if (f->error != KERR_NONE)
			any_error = true;
	}
	if (!q->final && !any_error && max_wait > 0 &&
	    (int64_t)total < (int64_t)min_bytes && q->waited_ms < max_wait) {
		if (q->waited_ms == 0)
			q->c->park_deadline_ms = q->now_ms + max_wait;
		/* Only data for these partitions (or their high watermark
		 * moving) re-runs us; broad wakes and the deadline still do. */
		park_watch_begin(q->c, (size_t)n);
		for (i = 0; i < n; i++)
			if (parts[i].p != NULL)
				park_watch_add(q->c, parts[i].p);
		free(parts);
		return HANDLE_PARK;
	}
	put_response(q, parts, n);
	free(parts);
	return HANDLE_DONE;
}
