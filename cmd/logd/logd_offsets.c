/* SPDX-License-Identifier: MIT */
/*
 * ListOffsets (v0-3): -2 is the log start offset, -1 the high watermark,
 * a timestamp >= 0 the first record at or after it. v0 answers with an
 * array of offsets; sarama and Burrow require exactly one element, so one
 * is what they get. Only the leader answers; a replica (replica_id >= 0)
 * sees up to the log end offset, as Kafka's followers do, consumers only
 * what is committed.
 */
#include <inttypes.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "banned.h"

#define TS_LATEST (-1)
#define TS_EARLIEST (-2)
/* Kafka's debugging consumer: may ask any replica. */
#define DEBUGGING_REPLICA_ID (-2)

/* Resolve one query; returns a Kafka error code. */
static int16_t
lookup(struct partition *p, int32_t replica_id, int64_t ts, int64_t *offset,
    int64_t *found_ts)
{
	int64_t visible = replica_id >= 0 ? plog_end_offset(p->log) :
	    p->high_watermark;
	struct err e = { 0 };
	int rc;

	*found_ts = -1;
	if (replica_id != DEBUGGING_REPLICA_ID) {
		int16_t error = replica_check_leader(p, -1);

		if (error != KERR_NONE)
			return error;
	}
	if (ts == TS_LATEST) {
		*offset = visible;
		return KERR_NONE;
	}
	if (ts == TS_EARLIEST) {
		*offset = plog_start_offset(p->log);
		return KERR_NONE;
	}
	if (ts < 0)
		return KERR_INVALID_REQUEST;
	rc = plog_offset_for_timestamp(p->log, ts, offset, found_ts, &e);
	if (rc < 0) {
		log_warnx("timestamp lookup failed: topic=%s partition=%" PRId32
		    " timestamp=%" PRId64 ": %s", p->topic->name, p->id, ts,
		    e.msg);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	/* Records above the high watermark are not visible yet. */
	if (rc == 0 || *offset >= visible) {
		*offset = -1;
		*found_ts = -1;
	}
	return KERR_NONE;
}

enum handle_result
handle_list_offsets(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t ntopics, i, replica_id;

	replica_id = br_i32(r);
	if (v >= 2)
		(void)br_i8(r);			/* isolation_level */
	ntopics = proto_read_array_len(r, false, 6);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	if (v >= 2)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i32(b, ntopics);
	for (i = 0; i < ntopics && br_ok(r); i++) {
		struct proto_str name = proto_read_str(r, false);
		int32_t nparts = proto_read_array_len(r, false, 12), j;

		proto_put_str(b, name.p, name.len > 0 ? (size_t)name.len : 0);
		buf_put_i32(b, nparts);
		for (j = 0; j < nparts && br_ok(r); j++) {
			int32_t index = br_i32(r), max_num = 1;
			int64_t ts = br_i64(r), offset = -1, found_ts = -1;
			struct partition *p;
			int16_t error;

			if (v == 0)
				max_num = br_i32(r);
			if (!br_ok(r))
				break;
			p = partition_find(q->ld, name, index);
			error = p ? lookup(p, replica_id, ts, &offset,
			    &found_ts) : KERR_UNKNOWN_TOPIC_OR_PARTITION;
			buf_put_i32(b, index);
			buf_put_i16(b, error);
			if (v == 0) {
				int32_t count = error == KERR_NONE &&
				    offset >= 0 && max_num > 0 ? 1 : 0;

				buf_put_i32(b, count);
				if (count)
					buf_put_i64(b, offset);
			} else {
				buf_put_i64(b, found_ts);
				buf_put_i64(b, offset);
			}
		}
	}
	return br_ok(r) ? HANDLE_DONE : HANDLE_CLOSE;
}
