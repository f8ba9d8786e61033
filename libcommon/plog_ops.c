/* SPDX-License-Identifier: MIT */
/*
 * Partition log operations (see plog.h): appends with rolls, reads as
 * file ranges, lookups by time, truncation, record deletion and
 * retention. Every change keeps the segment array sorted with the active
 * segment last, and never leaves the log without one.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "plog.h"
#include "plog_impl.h"
#include "record.h"
#include "segment.h"
#include "util.h"
#include "banned.h"

int
plog_check_writable(const struct plog *log, struct err *e)
{
	if (log->readonly)
		return err_set(e, EXIT_SOFTWARE, "log '%s' is open read-only",
		    log->dir);
	if (log->failed)
		return err_set(e, EXIT_IOERR, "log '%s' failed after a partial "
		    "write or a failed sync; reopen it to recover", log->dir);
	return 0;
}

/*
 * Make a new active segment at `base` (>= the log end offset). An empty
 * active segment at that very base is kept as it is.
 */
static int
roll_to(struct plog *log, int64_t base, int64_t now_ms, struct err *e)
{
	struct seg_params params = plog_params(&log->cfg);
	struct seg *old = plog_active(log), *s;

	if (old->size == 0 && old->base_offset == base)
		return 0;
	if (log->defer_roll_flush ? seg_make_inactive_unsynced(old, e) < 0 :
	    seg_make_inactive(old, e) < 0)
		return -1;
	if (seg_create(log->dir, base, &params, now_ms, &s, e) < 0 ||
	    plog_push_seg(log, s, e) < 0)
		return -1;
	/* As Kafka: rolling makes everything before the new segment durable. */
	if (!log->defer_roll_flush)
		return plog_flush_upto(log, base, e);
	if (base > log->flush_wanted)
		log->flush_wanted = base;
	return 0;
}

int
plog_roll(struct plog *log, int64_t now_ms, struct err *e)
{
	if (plog_check_writable(log, e) < 0)
		return -1;
	if (plog_active(log)->size == 0)
		return 0;
	if (roll_to(log, plog_end_offset(log), now_ms, e) < 0)
		return err_wrap(e, "log '%s': roll", log->dir);
	return 0;
}

/* segment.ms, measured as Kafka does. */
static bool
time_to_roll(const struct plog *log, const struct seg *s, int64_t max_ts,
    int64_t now_ms)
{
	int64_t waited;

	if (s->size == 0)
		return false;
	if (s->first_batch_timestamp >= 0)
		waited = max_ts - s->first_batch_timestamp;
	else
		waited = now_ms - s->created_ms;
	return waited > log->cfg.segment_ms;
}

/*
 * Check the headers, assign or check offsets. Fills info's offsets and
 * max timestamp. Nothing is written on failure (beyond base offsets).
 */
static int
prepare_batches(struct plog *log, uint8_t *batches, size_t len, bool assign,
    struct plog_append_info *info, struct err *e)
{
	int64_t next = plog_end_offset(log);
	struct seg_batch_info bi;
	size_t pos;

	info->max_timestamp = -1;
	info->batches = 0;
	for (pos = 0; pos < len; pos += bi.size) {
		if (seg_batch_header(batches + pos, len - pos, pos, &bi, e) < 0)
			return -1;
		/* What recovery would cut must not go in. */
		if (bi.size > (uint64_t)log->cfg.segment_bytes ||
		    bi.size > (uint64_t)log->cfg.max_batch_bytes)
			return err_set(e, EXIT_DATAERR,
			    "batch at position %zu: %" PRIu32 " bytes exceed "
			    "segment_bytes %" PRId64 " or max_batch_bytes %"
			    PRId64, pos, bi.size, log->cfg.segment_bytes,
			    log->cfg.max_batch_bytes);
		if (assign) {
			rec_batch_set_base_offset(batches + pos, next);
			bi.last_offset = next +
			    (bi.last_offset - bi.base_offset);
			bi.base_offset = next;
		} else if (bi.base_offset < next) {
			return err_set(e, EXIT_DATAERR,
			    "batch at position %zu: base offset %" PRId64
			    " is below %s %" PRId64, pos,
			    bi.base_offset, pos == 0 ? "the log end offset" :
			    "the previous batch's end", next);
		}
		if (pos == 0)
			info->first_offset = bi.base_offset;
		if (bi.max_timestamp > info->max_timestamp)
			info->max_timestamp = bi.max_timestamp;
		next = bi.last_offset + 1;
		info->batches++;
	}
	info->last_offset = next - 1;
	return 0;
}

int
plog_append(struct plog *log, uint8_t *batches, size_t len, unsigned flags,
    int64_t now_ms, struct plog_append_info *info, struct err *e)
{
	struct plog_append_info scratch;
	size_t pos = 0;

	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	if (plog_check_writable(log, e) < 0)
		return -1;
	if (len == 0)
		return err_set(e, EXIT_SOFTWARE, "log '%s': empty append",
		    log->dir);
	if (prepare_batches(log, batches, len,
	    flags & PLOG_APPEND_ASSIGN_OFFSETS, info, e) < 0)
		return err_wrap(e, "log '%s': append", log->dir);
	if (time_to_roll(log, plog_active(log), info->max_timestamp, now_ms)) {
		if (roll_to(log, info->first_offset, now_ms, e) < 0)
			return err_wrap(e, "log '%s': roll", log->dir);
		info->rolls++;
	}
	while (pos < len) {
		struct seg *s = plog_active(log);
		size_t fit = seg_fit(s, batches + pos, len - pos,
		    (uint64_t)log->cfg.segment_bytes);
		int64_t base = (int64_t)be64_load(batches + pos);

		if (fit == 0) {
			if (s->size == 0 && s->base_offset == base)
				return err_set(e, EXIT_SOFTWARE,
				    "log '%s': batch at offset %" PRId64
				    " fits no segment", log->dir, base);
			if (roll_to(log, base, now_ms, e) < 0)
				return err_wrap(e, "log '%s': roll", log->dir);
			info->rolls++;
			continue;
		}
		if (pos == 0) {
			info->segment_base = s->base_offset;
			info->position = s->size;
		}
		if (seg_append(s, batches + pos, fit, e) < 0) {
			if (s->failed)
				log->failed = true;
			return -1;
		}
		pos += fit;
	}
	info->log_end_offset = plog_end_offset(log);
	if (plog_end_offset(log) - log->recovery_point >=
	    log->cfg.flush_messages || (log->cfg.flush_ms != PLOG_NEVER &&
	    now_ms - log->last_flush_ms >= log->cfg.flush_ms)) {
		if (plog_flush(log, e) < 0)
			return -1;
		log->last_flush_ms = now_ms;
	}
	return 0;
}

int
plog_read(struct plog *log, int64_t offset, uint64_t max_bytes,
    int64_t max_offset, struct plog_slice *out, struct err *e)
{
	int64_t end = plog_end_offset(log);
	struct seg_slice ss;
	size_t i;

	out->fd = -1;
	out->position = 0;
	out->length = 0;
	out->base_offset = offset;
	if (offset < log->start_offset || offset > end) {
		err_set(e, EXIT_DATAERR, "log '%s': offset %" PRId64
		    " out of range [%" PRId64 ", %" PRId64 "]", log->dir,
		    offset, log->start_offset, end);
		return PLOG_OUT_OF_RANGE;
	}
	if (offset == end)
		return 0;
	for (i = plog_seg_index(log, offset); i < log->nsegs; i++) {
		int r = seg_read(log->segs[i], offset, max_bytes, max_offset,
		    &ss, e);

		if (r < 0)
			return err_wrap(e, "log '%s': read at %" PRId64,
			    log->dir, offset);
		if (r == 1) {
			out->fd = ss.fd;
			out->position = ss.position;
			out->length = ss.length;
			out->base_offset = ss.base_offset;
			return 0;
		}
		/* In a gap: the data, if any, is in a later segment. */
		if (i + 1 < log->nsegs &&
		    log->segs[i + 1]->base_offset >= max_offset)
			break;
	}
	return 0;
}

int
plog_offset_for_timestamp(struct plog *log, int64_t ts, int64_t *offset_out,
    int64_t *ts_out, struct err *e)
{
	size_t i;
	int r;

	for (i = plog_seg_index(log, log->start_offset); i < log->nsegs; i++) {
		struct seg *s = log->segs[i];

		if (seg_largest_timestamp(s, false) < ts)
			continue;
		r = seg_find_timestamp(s, ts, log->start_offset, offset_out,
		    ts_out, e);
		if (r < 0)
			return err_wrap(e, "log '%s': lookup of timestamp %"
			    PRId64, log->dir, ts);
		if (r == 1)
			return 1;
	}
	return 0;
}

/* Header window of plog_scan_batches(). */
#define SCAN_WINDOW 4096

/* Report the batches of segment s from position `pos` on. */
static int
scan_segment(struct seg *s, uint64_t pos, int64_t from, plog_batch_fn fn,
    void *arg, struct err *e)
{
	uint8_t win[SCAN_WINDOW];
	uint64_t win_pos = 0;
	size_t win_len = 0;

	while (pos < s->size) {
		uint64_t left = s->size - pos;
		size_t need = left < REC_BATCH_HEADER_SIZE ? (size_t)left :
		    REC_BATCH_HEADER_SIZE;
		struct plog_batch_header h;
		struct seg_batch_info bi;
		const uint8_t *p;
		int r;

		if (win_len == 0 || pos < win_pos ||
		    pos + need > win_pos + win_len) {
			size_t n = left < SCAN_WINDOW ? (size_t)left :
			    SCAN_WINDOW;

			if (seg_pread(s, win, n, pos, e) < 0)
				return -1;
			win_pos = pos;
			win_len = n;
		}
		p = win + (pos - win_pos);
		/* Only the header is in the window; `left` bounds the batch. */
		if (seg_batch_header(p, left > SIZE_MAX ? SIZE_MAX :
		    (size_t)left, pos, &bi, e) < 0)
			return err_wrap(e, "segment '%s'", s->log_path);
		pos += bi.size;
		if (bi.last_offset < from)
			continue;
		h.base_offset = bi.base_offset;
		h.last_offset = bi.last_offset;
		h.max_timestamp = bi.max_timestamp;
		h.producer_id = (int64_t)be64_load(p + REC_OFF_PRODUCER_ID);
		h.producer_epoch = (int16_t)be16_load(p +
		    REC_OFF_PRODUCER_EPOCH);
		h.attributes = (int16_t)be16_load(p + REC_OFF_ATTRIBUTES);
		h.base_sequence = (int32_t)be32_load(p +
		    REC_OFF_BASE_SEQUENCE);
		h.segment_base = s->base_offset;
		h.position = bi.position;
		h.size = bi.size;
		r = fn(arg, &h);
		if (r != 0)
			return r;
	}
	return 0;
}

int
plog_scan_batches(struct plog *log, int64_t from, plog_batch_fn fn,
    void *arg, struct err *e)
{
	size_t i;

	if (from < log->start_offset)
		from = log->start_offset;
	for (i = plog_seg_index(log, from); i < log->nsegs; i++) {
		struct seg *s = log->segs[i];
		struct seg_batch_info bi;
		uint64_t pos = 0;
		bool had_fd;
		int r;

		/* Only the first segment scanned can start below `from`. */
		if (s->base_offset < from) {
			r = seg_find_batch(s, from, &bi, e);
			if (r < 0)
				return err_wrap(e, "log '%s': scan from %"
				    PRId64, log->dir, from);
			if (r == 0)
				continue;
			pos = bi.position;
		}
		had_fd = s->fd >= 0;
		r = scan_segment(s, pos, from, fn, arg, e);
		/* A scan at open must not leave every old segment's fd open. */
		if (!had_fd && s->fd >= 0 && !s->active) {
			close(s->fd);
			s->fd = -1;
		}
		if (r < 0)
			return err_wrap(e, "log '%s': scan from %" PRId64,
			    log->dir, from);
		if (r != 0)
			return r;
	}
	return 0;
}

int
plog_truncate_to(struct plog *log, int64_t offset, struct err *e)
{
	struct seg_params params = plog_params(&log->cfg);
	uint64_t cut;
	struct seg *s;
	size_t i;

	if (plog_check_writable(log, e) < 0)
		return -1;
	if (offset < 0)
		return err_set(e, EXIT_USAGE, "log '%s': cannot truncate to "
		    "negative offset %" PRId64, log->dir, offset);
	if (offset >= plog_end_offset(log))
		return 0;
	/* A compaction job must not swap in what was read before the cut. */
	log->gen++;
	if (offset <= log->segs[0]->base_offset) {
		while (log->nsegs > 0)
			if (plog_delete_seg(log, log->nsegs - 1, e) < 0)
				goto fail;
		if (seg_create(log->dir, offset, &params, clock_wall_ms(), &s,
		    e) < 0 || plog_push_seg(log, s, e) < 0)
			goto fail;
		log->start_offset = offset;
	} else {
		i = plog_seg_index(log, offset);
		while (log->nsegs > i + 1)
			if (plog_delete_seg(log, log->nsegs - 1, e) < 0)
				goto fail;
		if (seg_make_active(log->segs[i], e) < 0 ||
		    seg_truncate_to(log->segs[i], offset, &cut, e) < 0)
			goto fail;
	}
	if (log->start_offset > plog_end_offset(log))
		log->start_offset = plog_end_offset(log);
	if (log->recovery_point > plog_end_offset(log))
		log->recovery_point = plog_end_offset(log);
	return 0;
fail:
	/* Without an active segment the log cannot go on. */
	if (log->nsegs == 0)
		log->failed = true;
	return err_wrap(e, "log '%s': truncate to %" PRId64, log->dir, offset);
}

/* Delete the oldest segments while the next one starts <= start offset. */
static int
delete_below_start(struct plog *log, struct plog_retention_result *res,
    struct err *e)
{
	while (log->nsegs > 1 &&
	    log->segs[1]->base_offset <= log->start_offset) {
		res->bytes_deleted += log->segs[0]->size;
		res->deleted_by_start++;
		if (plog_delete_seg(log, 0, e) < 0)
			return -1;
	}
	return 0;
}

int
plog_delete_records_before(struct plog *log, int64_t offset, struct err *e)
{
	struct plog_retention_result res;

	if (plog_check_writable(log, e) < 0)
		return -1;
	if (offset > plog_end_offset(log)) {
		err_set(e, EXIT_DATAERR, "log '%s': offset %" PRId64
		    " is above the log end offset %" PRId64, log->dir, offset,
		    plog_end_offset(log));
		return PLOG_OUT_OF_RANGE;
	}
	if (offset <= log->start_offset)
		return 0;
	log->start_offset = offset;
	memset(&res, 0, sizeof(res));
	if (delete_below_start(log, &res, e) < 0)
		return err_wrap(e, "log '%s': delete records", log->dir);
	return 0;
}

/* The offset below which all of segment i lies. */
static int64_t
seg_upper(const struct plog *log, size_t i)
{
	return i + 1 < log->nsegs ? log->segs[i + 1]->base_offset :
	    plog_end_offset(log);
}

static int
retain_by_time(struct plog *log, int64_t now_ms, int64_t upper_bound,
    struct plog_retention_result *res, struct err *e)
{
	while (log->nsegs > 0) {
		struct seg *s = log->segs[0];

		if (now_ms - seg_largest_timestamp(s, true) <=
		    log->cfg.retention_ms || seg_upper(log, 0) > upper_bound)
			return 0;
		if (log->nsegs == 1) {
			if (s->size == 0)
				return 0;
			if (roll_to(log, plog_end_offset(log), now_ms, e) < 0)
				return -1;
		}
		res->bytes_deleted += s->size;
		res->deleted_by_time++;
		if (plog_delete_seg(log, 0, e) < 0)
			return -1;
	}
	return 0;
}

static int
retain_by_size(struct plog *log, int64_t upper_bound,
    struct plog_retention_result *res, struct err *e)
{
	int64_t diff = (int64_t)plog_size(log) - log->cfg.retention_bytes;

	while (log->nsegs > 1 && diff - (int64_t)log->segs[0]->size >= 0 &&
	    seg_upper(log, 0) <= upper_bound) {
		diff -= (int64_t)log->segs[0]->size;
		res->bytes_deleted += log->segs[0]->size;
		res->deleted_by_size++;
		if (plog_delete_seg(log, 0, e) < 0)
			return -1;
	}
	return 0;
}

int
plog_retention(struct plog *log, int64_t now_ms, int64_t upper_bound,
    struct plog_retention_result *result, struct err *e)
{
	struct plog_retention_result scratch;
	int r = 0;

	if (result == NULL)
		result = &scratch;
	memset(result, 0, sizeof(*result));
	if (plog_check_writable(log, e) < 0)
		return -1;
	if (delete_below_start(log, result, e) < 0 ||
	    (log->cfg.retention_ms >= 0 &&
	    retain_by_time(log, now_ms, upper_bound, result, e) < 0) ||
	    (log->cfg.retention_bytes >= 0 &&
	    retain_by_size(log, upper_bound, result, e) < 0))
		r = err_wrap(e, "log '%s': retention", log->dir);
	if (log->nsegs > 0 && log->segs[0]->base_offset > log->start_offset)
		log->start_offset = log->segs[0]->base_offset;
	if (log->start_offset > plog_end_offset(log))
		log->start_offset = plog_end_offset(log);
	result->log_start_offset = log->start_offset;
	return r;
}
