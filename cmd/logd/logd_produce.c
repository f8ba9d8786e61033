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
 * Versions 0-2 are advertised only because librdkafka enables gzip and
 * snappy just when Produce v0 is in the broker's range; it then sends v7.
 * Their magic 0/1 message sets are refused (UNSUPPORTED_FOR_MESSAGE_FORMAT).
 */
#include <inttypes.h>
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
	bool log_append_time;

	res->log_start_offset = plog_start_offset(p->log);
	if (recs.len < 0) {
		res->error = KERR_CORRUPT_MESSAGE;
		return;
	}
	res->error = validate_batches(q, p, data, len, it);
	if (res->error != KERR_NONE)
		return;
	/* One replica is in sync: acks=all can only meet min.insync.replicas=1. */
	if (acks == -1 &&
	    tconf_i64(&p->topic->conf, bd, TCONF_MIN_INSYNC_REPLICAS) > 1) {
		res->error = KERR_NOT_ENOUGH_REPLICAS;
		return;
	}
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
		return;
	}
	if (log_append_time)
		append_time = clock_wall_ms();
	stamp_batches(p, data, len, append_time);
	if (plog_append(p->log, data, len, PLOG_APPEND_ASSIGN_OFFSETS,
	    clock_wall_ms(), &info, &e) < 0) {
		log_warnx("append failed: topic=%s partition=%" PRId32 ": %s",
		    p->topic->name, p->id, e.msg);
		res->error = KERR_KAFKA_STORAGE_ERROR;
		/* Batches that reached earlier segments stay: remember them. */
		producers_commit(&p->producers, data, len, end,
		    plog_end_offset(p->log));
		return;
	}
	producers_commit(&p->producers, data, len, info.first_offset,
	    info.last_offset + 1);
	p->high_watermark = plog_end_offset(p->log);
	q->ld->appended = true;
	res->base_offset = info.first_offset;
	res->log_append_time = append_time;
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

enum handle_result
handle_produce(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version, acks;
	int32_t ntopics, i;
	struct rec_iter it;

	if (v >= 3)
		(void)proto_read_str(r, true);	/* transactional_id */
	acks = br_i16(r);
	(void)br_i32(r);			/* timeout_ms */
	if (!br_ok(r) || !produce_well_formed(*r))
		return HANDLE_CLOSE;
	ntopics = proto_read_array_len(r, false, 6);
	rec_iter_init(&it, LOGD_MAX_INFLATE);
	buf_put_i32(b, ntopics);
	for (i = 0; i < ntopics && br_ok(r); i++) {
		struct proto_str name = proto_read_str(r, false);
		int32_t nparts = proto_read_array_len(r, false, 8), j;

		proto_put_str(b, name.p, name.len > 0 ? (size_t)name.len : 0);
		buf_put_i32(b, nparts);
		for (j = 0; j < nparts && br_ok(r); j++) {
			int32_t index = br_i32(r);
			struct proto_str recs = proto_read_bytes(r, true);
			struct produce_result res = { KERR_NONE, -1, -1, -1 };
			struct partition *p;

			if (!br_ok(r))
				break;
			p = partition_find(q->ld, name, index);
			if (acks != 0 && acks != 1 && acks != -1)
				res.error = KERR_INVALID_REQUIRED_ACKS;
			else if (p == NULL)
				res.error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else
				produce_partition(q, p, recs, acks, &it, &res);
			buf_put_i32(b, index);
			buf_put_i16(b, res.error);
			buf_put_i64(b, res.base_offset);
			if (v >= 2)
				buf_put_i64(b, res.log_append_time);
			if (v >= 5)
				buf_put_i64(b, res.log_start_offset);
		}
	}
	rec_iter_release(&it);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	if (v >= 1)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	if (acks == 0) {
		resp_free(q->resp);
		q->resp = NULL;
	}
	return HANDLE_DONE;
}
