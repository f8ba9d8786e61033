/* SPDX-License-Identifier: MIT */
/*
 * Produce (v0-7): validate each partition's batches in place (structure,
 * CRC, every record, sizes, codec), stamp the leader epoch (and the
 * broker's time for LogAppendTime topics), and append them with one write;
 * offsets are assigned by rewriting each batch's base offset. acks=0
 * requests get no response at all, as Kafka clients expect.
 *
 * Batches of idempotent producers (producer id >= 0) are checked against
 * the partition's producer state first (logd_producers.c): a retried batch
 * is acknowledged with its original offset and not appended again; a
 * sequence gap, a stale epoch or an unknown producer refuses the
 * partition's whole record set.
 *
 * Only the leader takes writes. acks=all (-1) is refused up front when the
 * ISR is smaller than min.insync.replicas; otherwise the answer waits until
 * the high watermark passes every appended batch. The request then parks
 * "after the append": its per-partition results stay on the connection
 * (conn->park_state) and each re-run by the event loop only re-checks
 * them, so nothing is appended twice, and the requests behind it on the
 * connection wait their turn, keeping answers in request order.
 *
 * Versions 0-2 are advertised only because librdkafka enables gzip and
 * snappy just when Produce v0 is in the broker's range; it then sends v7.
 * Their magic 0/1 message sets are refused (UNSUPPORTED_FOR_MESSAGE_FORMAT).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* Decompressed bytes one batch may inflate to during validation. */
#define LOGD_MAX_INFLATE (256u << 20)

struct produce_result {
	int16_t error;
	int64_t base_offset;
	int64_t log_append_time;
	int64_t log_start_offset;
	/* acks=all: the high watermark that settles it (-1: settled) and the
	 * leader epoch it was appended in */
	int64_t required;
	int32_t epoch;
};

/* One partition of the request; names point into the current frame. */
struct produce_item {
	struct proto_str topic;
	int32_t index;
	struct proto_str records;
};

/* The request's shape, parsed afresh on every run. */
struct produce_req {
	int16_t acks;
	int32_t timeout_ms;
	int32_t ntopics;
	struct proto_str *topics;	/* each topic entry's name */
	int32_t *topic_parts;		/* and how many items it holds */
	int32_t nitems;
	struct produce_item *items;
};

/*
 * The results of a request parked after its append, in item order, kept
 * on the connection until it is answered (one block; conn_close frees it).
 */
struct produce_wait {
	int32_t correlation_id;
	int32_t nitems;
	struct produce_result res[];
};

/*
 * Check every batch of a partition's record set; returns a Kafka error
 * code (KERR_NONE when all is well). Before v8, Kafka reports invalid
 * records as CORRUPT_MESSAGE, so do we.
 */
static int16_t
validate_batches(struct req *q, struct partition *p, uint8_t *data,
    size_t len, struct rec_iter *it)
{
	const struct topic *t = p->topic;
	const struct tconf *bd = &q->ld->cfg.topic_defaults;
	int64_t max_bytes = tconf_i64(&t->conf, bd, TCONF_MAX_MESSAGE_BYTES);
	int64_t segment_bytes = tconf_i64(&t->conf, bd, TCONF_SEGMENT_BYTES);
	unsigned flags = REC_VALIDATE_PRODUCE;
	size_t pos = 0;
	struct err e = { 0 };

	if (tconf_has(&t->conf, bd, TCONF_CLEANUP_POLICY, "compact"))
		flags |= REC_VALIDATE_KEYS;
	if (len == 0)
		return KERR_CORRUPT_MESSAGE;
	if ((int64_t)len > segment_bytes)
		return KERR_RECORD_LIST_TOO_LARGE;
	while (pos < len) {
		struct rec_batch b;

		if (len - pos > REC_OFF_MAGIC && data[pos + REC_OFF_MAGIC] < 2)
			return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
		if (rec_batch_parse(data + pos, len - pos, &b, &e) < 0)
			goto corrupt;
		if ((int64_t)b.size > max_bytes)
			return KERR_MESSAGE_TOO_LARGE;
		if (rec_batch_codec(&b) == COMPRESS_ZSTD &&
		    q->hdr.api_version < 7)
			return KERR_UNSUPPORTED_COMPRESSION_TYPE;
		if (rec_batch_validate_iter(it, &b, flags, &e) < 0)
			goto corrupt;
		pos += b.size;
	}
	return KERR_NONE;
corrupt:
	log_warnx("rejecting produce from %s: topic=%s partition=%" PRId32
	    " position=%zu: %s", q->c->peer, t->name, p->id, pos, e.msg);
	return KERR_CORRUPT_MESSAGE;
}

/* Stamp broker-owned fields that lie outside the CRC, or recompute it. */
static void
stamp_batches(struct partition *p, uint8_t *data, size_t len,
    int64_t append_time)
{
	size_t pos = 0;

	while (pos < len) {
		size_t size = (size_t)be32_load(data + pos + REC_OFF_LENGTH) +
		    REC_BATCH_LOG_OVERHEAD;

		rec_batch_set_leader_epoch(data + pos, p->leader_epoch);
		if (append_time >= 0)
			rec_batch_set_log_append_time(data + pos, size,
			    append_time);
		pos += size;
	}
}

static void
produce_partition(struct req *q, struct partition *p, struct proto_str recs,
    int16_t acks, struct rec_iter *it, struct produce_result *res)
{
	const struct tconf *bd = &q->ld->cfg.topic_defaults;
	uint8_t *data = (uint8_t *)(uintptr_t)recs.p;
	size_t len = recs.len > 0 ? (size_t)recs.len : 0;
	struct plog_append_info info;
	struct producer_verdict pv;
	struct err e = { 0 };
	int64_t append_time = -1, end = plog_end_offset(p->log);
	bool log_append_time, appended;

	res->log_start_offset = plog_start_offset(p->log);
	res->error = replica_check_leader(p, -1);
	if (res->error != KERR_NONE)
		return;
	if (recs.len < 0) {
		res->error = KERR_CORRUPT_MESSAGE;
		return;
	}
	res->error = validate_batches(q, p, data, len, it);
	if (res->error != KERR_NONE)
		return;
	/* Refused before anything is written: a definite failure. */
	if (acks == -1 && (int64_t)p->nisr <
	    tconf_i64(&p->topic->conf, bd, TCONF_MIN_INSYNC_REPLICAS)) {
		res->error = KERR_NOT_ENOUGH_REPLICAS;
		return;
	}
	res->epoch = p->leader_epoch;
	log_append_time = strcmp(tconf_value(&p->topic->conf, bd,
	    TCONF_MESSAGE_TIMESTAMP_TYPE, NULL), "LogAppendTime") == 0;
	res->error = producers_check(&p->producers, data, len, &pv);
	if (res->error != KERR_NONE) {
		log_debug("refusing produce from %s: %s: topic=%s partition=%"
		    PRId32, q->c->peer, proto_error_name(res->error),
		    p->topic->name, p->id);
		return;
	}
	/* A retry of batches already written: acknowledge, append nothing. */
	if (pv.duplicate) {
		log_debug("duplicate batch from %s acknowledged: topic=%s "
		    "partition=%" PRId32 " offset=%" PRId64, q->c->peer,
		    p->topic->name, p->id, pv.base_offset);
		res->base_offset = pv.base_offset;
		res->log_append_time = log_append_time ? pv.timestamp : -1;
		/* The original may not be replicated yet; our end covers it. */
		if (acks == -1)
			res->required = end;
		return;
	}
	if (log_append_time)
		append_time = clock_wall_ms();
	stamp_batches(p, data, len, append_time);
	appended = plog_append(p->log, data, len, PLOG_APPEND_ASSIGN_OFFSETS,
	    clock_wall_ms(), &info, &e) == 0;
	/* Also after a failure: batches before it may have rolled. */
	flusher_submit(q->ld, p);
	if (!appended) {
		log_warnx("append failed: topic=%s partition=%" PRId32 ": %s",
		    p->topic->name, p->id, e.msg);
		res->error = KERR_KAFKA_STORAGE_ERROR;
		/* Batches that reached earlier segments stay: remember them. */
		producers_commit(&p->producers, data, len, end,
		    plog_end_offset(p->log));
		replica_update_hw(q->ld, p);
		return;
	}
	producers_commit(&p->producers, data, len, info.first_offset,
	    info.last_offset + 1);
	/* Alone, this commits it; with followers, their fetches will. */
	replica_update_hw(q->ld, p);
	/* Fetches parked on p (followers wait for the log end offset). */
	park_wake_partition(q->ld, p);
	res->base_offset = info.first_offset;
	res->log_append_time = append_time;
	if (acks == -1)
		res->required = info.last_offset + 1;
}

/* Walk the topic array once so nothing is appended from a malformed request. */
static bool
produce_well_formed(struct breader r)
{
	int32_t ntopics = proto_read_array_len(&r, false, 6), i, j;

	for (i = 0; i < ntopics && br_ok(&r); i++) {
		int32_t nparts;

		(void)proto_read_str(&r, false);
		nparts = proto_read_array_len(&r, false, 8);
		for (j = 0; j < nparts && br_ok(&r); j++) {
			(void)br_i32(&r);
			(void)proto_read_bytes(&r, true);
		}
	}
	return br_ok(&r) && br_left(&r) == 0;
}

static void
produce_req_release(struct produce_req *pr)
{
	free(pr->topics);
	free(pr->topic_parts);
	free(pr->items);
}

/* The number of partitions in a well-formed topic array. */
static int32_t
produce_count_items(struct breader r)
{
	int32_t ntopics = proto_read_array_len(&r, false, 6), i, j, n = 0;

	for (i = 0; i < ntopics; i++) {
		int32_t np;

		(void)proto_read_str(&r, false);
		np = proto_read_array_len(&r, false, 8);
		for (j = 0; j < np; j++) {
			(void)br_i32(&r);
			(void)proto_read_bytes(&r, true);
		}
		n += np;
	}
	return n;
}

/*
 * Parse the request into pr (release it in every case). Counts are
 * bounded by the frame's bytes, so are the arrays. 0, or -1 when it is
 * malformed or memory ran out.
 */
static int
produce_req_parse(struct req *q, struct produce_req *pr)
{
	struct breader *r = &q->body;
	int32_t i, j, n;

	memset(pr, 0, sizeof(*pr));
	if (q->hdr.api_version >= 3)
		(void)proto_read_str(r, true);	/* transactional_id */
	pr->acks = br_i16(r);
	pr->timeout_ms = br_i32(r);
	if (!br_ok(r) || !produce_well_formed(*r))
		return -1;
	n = produce_count_items(*r);
	pr->ntopics = proto_read_array_len(r, false, 6);
	pr->topics = calloc((size_t)pr->ntopics + 1, sizeof(*pr->topics));
	pr->topic_parts = calloc((size_t)pr->ntopics + 1,
	    sizeof(*pr->topic_parts));
	pr->items = calloc((size_t)n + 1, sizeof(*pr->items));
	if (pr->topics == NULL || pr->topic_parts == NULL || pr->items == NULL)
		return -1;
	for (i = 0; i < pr->ntopics; i++) {
		pr->topics[i] = proto_read_str(r, false);
		pr->topic_parts[i] = proto_read_array_len(r, false, 8);
		for (j = 0; j < pr->topic_parts[i]; j++) {
			struct produce_item *it = &pr->items[pr->nitems++];

			it->topic = pr->topics[i];
			it->index = br_i32(r);
			it->records = proto_read_bytes(r, true);
		}
	}
	return 0;
}

/* First run: append every partition's records, in request order. */
static void
produce_all(struct req *q, const struct produce_req *pr,
    struct produce_result *res)
{
	struct rec_iter it;
	int32_t k;

	rec_iter_init(&it, LOGD_MAX_INFLATE);
	for (k = 0; k < pr->nitems; k++) {
		const struct produce_item *x = &pr->items[k];
		struct partition *p;

		res[k] = (struct produce_result){ KERR_NONE, -1, -1, -1, -1, -1 };
		p = partition_find(q->ld, x->topic, x->index);
		if (pr->acks != 0 && pr->acks != 1 && pr->acks != -1)
			res[k].error = KERR_INVALID_REQUIRED_ACKS;
		else if (p == NULL)
			res[k].error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		else
			produce_partition(q, p, x->records, pr->acks, &it,
			    &res[k]);
		if (res[k].error != KERR_NONE)
			res[k].required = -1;
	}
	rec_iter_release(&it);
}

/*
 * Settle what acks=all can settle now; `expired` times out the rest.
 * Returns how many partitions still wait.
 */
static int32_t
produce_settle(struct req *q, const struct produce_req *pr,
    struct produce_result *res, bool expired)
{
	int32_t k, waiting = 0;

	for (k = 0; k < pr->nitems; k++) {
		const struct produce_item *x = &pr->items[k];
		struct partition *p;

		if (res[k].required < 0)
			continue;
		p = partition_find(q->ld, x->topic, x->index);
		if (p == NULL) {
			res[k].error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (!replica_ack_ready(q->ld, p, res[k].epoch,
		    res[k].required, &res[k].error)) {
			if (!expired) {
				waiting++;
				continue;
			}
			res[k].error = KERR_REQUEST_TIMED_OUT;
		}
		res[k].required = -1;
	}
	return waiting;
}

static void
produce_put_response(struct req *q, const struct produce_req *pr,
    const struct produce_result *res)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t i, j, k = 0;

	buf_put_i32(b, pr->ntopics);
	for (i = 0; i < pr->ntopics; i++) {
		proto_put_str(b, pr->topics[i].p, (size_t)pr->topics[i].len);
		buf_put_i32(b, pr->topic_parts[i]);
		for (j = 0; j < pr->topic_parts[i]; j++, k++) {
			buf_put_i32(b, pr->items[k].index);
			buf_put_i16(b, res[k].error);
			buf_put_i64(b, res[k].base_offset);
			if (v >= 2)
				buf_put_i64(b, res[k].log_append_time);
			if (v >= 5)
				buf_put_i64(b, res[k].log_start_offset);
		}
	}
	if (v >= 1)
		buf_put_i32(b, 0);		/* throttle_time_ms */
}

/*
 * The results of this request: kept from the append when it was parked
 * (a re-run), else a fresh block. NULL with q->close_reason when out of
 * memory, or when a re-run finds no state of its own (never append twice).
 */
static struct produce_wait *
produce_wait_get(struct req *q, int32_t nitems)
{
	struct produce_wait *w = q->c->park_state;

	if (q->c->parked) {
		if (w == NULL || w->correlation_id != q->hdr.correlation_id ||
		    w->nitems != nitems) {
			q->close_reason = "parked produce lost its results";
			return NULL;
		}
		return w;
	}
	free(w);
	q->c->park_state = NULL;
	w = calloc(1, sizeof(*w) + (size_t)nitems * sizeof(w->res[0]));
	if (w == NULL) {
		q->close_reason = "out of memory for produce results";
		return NULL;
	}
	w->correlation_id = q->hdr.correlation_id;
	w->nitems = nitems;
	return w;
}

enum handle_result
handle_produce(struct req *q)
{
	struct produce_req pr;
	struct produce_wait *w;
	bool first = !q->c->parked;
	int32_t waiting;

	if (produce_req_parse(q, &pr) < 0) {
		produce_req_release(&pr);
		return HANDLE_CLOSE;
	}
	w = produce_wait_get(q, pr.nitems);
	if (w == NULL) {
		produce_req_release(&pr);
		return HANDLE_CLOSE;
	}
	if (first)
		produce_all(q, &pr, w->res);
	waiting = produce_settle(q, &pr, w->res,
	    q->final || pr.timeout_ms <= 0);
	if (waiting > 0) {
		/* Parked after the append: the loop re-runs us to re-check. */
		if (first)
			q->c->park_deadline_ms = q->now_ms + pr.timeout_ms;
		q->c->park_state = w;
		produce_req_release(&pr);
		return HANDLE_PARK;
	}
	q->c->park_state = NULL;
	if (pr.acks == 0) {
		resp_free(q->resp);
		q->resp = NULL;
	} else {
		produce_put_response(q, &pr, w->res);
	}
	free(w);
	produce_req_release(&pr);
	return HANDLE_DONE;
}
