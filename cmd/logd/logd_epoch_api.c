/* SPDX-License-Identifier: MIT */
/*
 * OffsetForLeaderEpoch (v0-3): for each partition, the end offset of the
 * asked leader epoch on this leader's log (the largest known epoch at or
 * below it, ending where the next one starts, or at the log end for the
 * current one), from the leader-epoch cache. Followers ask it after every
 * leader change and truncate their logs to the answer (KIP-101/279).
 * Only the leader answers (others get NOT_LEADER_OR_FOLLOWER), and a
 * current_leader_epoch (v2+) other than ours is fenced as in Fetch.
 */
#include "epochs.h"
#include "logd.h"
#include "plog.h"
#include "banned.h"

struct epoch_answer {
	int16_t error;
	int32_t epoch;
	int64_t end_offset;
};

static void
answer(struct partition *p, int32_t current_epoch, int32_t epoch,
    struct epoch_answer *a)
{
	a->epoch = -1;
	a->end_offset = -1;
	if (p == NULL) {
		a->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	a->error = replica_check_leader(p, current_epoch);
	if (a->error != KERR_NONE || p->epochs == NULL)
		return;
	epoch_cache_end_offset_for(p->epochs, epoch, plog_end_offset(p->log),
	    &a->epoch, &a->end_offset);
}

/* Walk the request once so a malformed one gets no partial answer. */
static bool
well_formed(struct breader r, int16_t v)
{
	int32_t ntopics = proto_read_array_len(&r, false, 6), i, j;

	for (i = 0; i < ntopics && br_ok(&r); i++) {
		int32_t nparts;

		(void)proto_read_str(&r, false);
		nparts = proto_read_array_len(&r, false, v >= 2 ? 12 : 8);
		for (j = 0; j < nparts && br_ok(&r); j++) {
			(void)br_i32(&r);
			if (v >= 2)
				(void)br_i32(&r);
			(void)br_i32(&r);
		}
	}
	return br_ok(&r) && br_left(&r) == 0;
}

enum handle_result
handle_offset_for_leader_epoch(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t ntopics, i;

	if (v >= 3)
		(void)br_i32(r);	/* replica_id: answers do not depend on it */
	if (!br_ok(r) || !well_formed(*r, v))
		return HANDLE_CLOSE;
	if (v >= 2)
		buf_put_i32(b, 0);	/* throttle_time_ms */
	ntopics = proto_read_array_len(r, false, 6);
	buf_put_i32(b, ntopics);
	for (i = 0; i < ntopics; i++) {
		struct proto_str name = proto_read_str(r, false);
		int32_t nparts = proto_read_array_len(r, false, 8), j;

		proto_put_str(b, name.p, (size_t)name.len);
		buf_put_i32(b, nparts);
		for (j = 0; j < nparts; j++) {
			int32_t index = br_i32(r);
			int32_t current = v >= 2 ? br_i32(r) : -1;
			int32_t epoch = br_i32(r);
			struct epoch_answer a;

			answer(partition_find(q->ld, name, index), current,
			    epoch, &a);
			buf_put_i16(b, a.error);
			buf_put_i32(b, index);
			if (v >= 1)
				buf_put_i32(b, a.epoch);
			buf_put_i64(b, a.end_offset);
		}
	}
	return HANDLE_DONE;
}
