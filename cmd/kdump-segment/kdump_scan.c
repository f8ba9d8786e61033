/* SPDX-License-Identifier: MIT */
/*
 * The log scanner: walks the record batches of one .log file, checking the
 * framing, magic, CRC and offset order of each, and hands every readable
 * batch to a callback. Damage does not end the walk: after an unreadable
 * header it searches forward for the next batch whose CRC checks, and says
 * how many bytes it skipped. Every problem names the file and the byte
 * position where it starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "kdump.h"
#include "banned.h"

/* The fewest bytes that can be a batch: the header with no records. */
#define KD_MIN_BATCH REC_BATCH_HEADER_SIZE

void
kd_part_begin(struct kd_ctx *ctx)
{
	ctx->have_prev = false;
	ctx->prev_last = -1;
}

int32_t
kd_last_sequence(const struct rec_batch *b)
{
	int64_t s;

	if (b->base_sequence < 0)
		return -1;
	/* Sequences wrap from INT32_MAX to 0 (Kafka's incrementSequence). */
	s = (int64_t)b->base_sequence + b->last_offset_delta;
	if (s > INT32_MAX)
		s -= (int64_t)INT32_MAX + 1;
	return (int32_t)s;
}

static void
batch_list_add(struct kd_batch_list *l, const struct rec_batch *b,
    uint64_t pos)
{
	struct kd_batch_info *bi;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	bi = &l->v[l->n++];
	bi->pos = pos;
	bi->base_offset = b->base_offset;
	bi->last_offset = rec_batch_last_offset(b);
	bi->max_timestamp = b->max_timestamp;
}

/* Whether the file holds only zero bytes from `pos` to its end. */
static int
zero_tail(struct kd_file *f, uint64_t pos, struct err *e)
{
	const uint8_t *p;
	size_t got, i;

	while (pos < f->size) {
		p = kd_file_read(f, pos, 1 << 16, &got, e);
		if (p == NULL)
			return -1;
		if (got == 0)
			break;
		for (i = 0; i < got; i++)
			if (p[i] != 0)
				return 0;
		pos += got;
	}
	return 1;
}

/*
 * Find the first position at or after `from` where a whole batch with a
 * good CRC starts. Returns 1 and sets *found, 0 when there is none, -1 on
 * a read error.
 */
static int
resync(struct kd_scan *s, uint64_t from, uint64_t *found, struct err *e)
{
	size_t max = s->ctx->o->max_batch_bytes, got, size;
	struct kd_file *f = &s->f;
	struct rec_batch b;
	struct err ignored;
	const uint8_t *p;
	uint64_t c;

	for (c = from; c + KD_MIN_BATCH <= f->size; c++) {
		p = kd_file_read(f, c, REC_OFF_MAGIC + 1, &got, e);
		if (p == NULL)
			return -1;
		if (got < REC_OFF_MAGIC + 1 || p[REC_OFF_MAGIC] != REC_MAGIC)
			continue;
		if (rec_batch_size_peek(p, got, max, &size, &ignored) != 1 ||
		    size > f->size - c)
			continue;
		p = kd_file_read(f, c, size, &got, e);
		if (p == NULL)
			return -1;
		if (got == size && rec_batch_parse(p, size, &b, &ignored) == 0 &&
		    rec_batch_crc_ok(&b)) {
			*found = c;
			return 1;
		}
	}
	return 0;
}

/*
 * The bytes at `pos` are not a readable batch (`why` says what is wrong).
 * Report it, and return where to go on: the next good batch, or the end
 * of the file; UINT64_MAX on a read error.
 */
static uint64_t
bad_batch(struct kd_scan *s, uint64_t pos, const char *why, struct err *e)
{
	struct kd_ctx *ctx = s->ctx;
	const char *path = s->seg->log;
	uint64_t left = s->f.size - pos, next;
	int r;

	r = zero_tail(&s->f, pos, e);
	if (r < 0)
		return UINT64_MAX;
	if (r > 0) {
		kd_problem(ctx, path, pos, "%" PRIu64 " zero bytes at the end "
		    "of the file (preallocated or never written)", left);
		return s->f.size;
	}
	r = resync(s, pos + 1, &next, e);
	if (r < 0)
		return UINT64_MAX;
	if (r > 0) {
		kd_problem(ctx, path, pos, "%s: skipped %" PRIu64 " bytes of "
		    "garbage to the next batch at position %" PRIu64, why,
		    next - pos, next);
		return next;
	}
	kd_problem(ctx, path, pos, "%s: %" PRIu64 " bytes of garbage at the "
	    "end of the file", why, left);
	return s->f.size;
}

/* Offset checks that need no record: order, segment base, count. */
static void
check_offsets(struct kd_scan *s, const struct rec_batch *b, uint64_t pos)
{
	struct kd_ctx *ctx = s->ctx;
	const char *path = s->seg->log;

	if (s->seg->base_known && b->base_offset < s->seg->base_offset)
		kd_problem(ctx, path, pos, "batch base offset %" PRId64
		    " is below the segment base offset %" PRId64,
		    b->base_offset, s->seg->base_offset);
	if (s->check_order && ctx->have_prev && b->base_offset <= ctx->prev_last)
		kd_problem(ctx, path, pos, "batch base offset %" PRId64
		    " is not above the previous last offset %" PRId64,
		    b->base_offset, ctx->prev_last);
	if ((int64_t)b->record_count > (int64_t)b->last_offset_delta + 1)
		kd_problem(ctx, path, pos, "batch at offset %" PRId64 ": record "
		    "count %" PRId32 " does not fit last offset delta %" PRId32,
		    b->base_offset, b->record_count, b->last_offset_delta);
}

static int
scan_fail(struct kd_scan *s, const struct err *e)
{
	log_warnx("%s", e->msg);
	kd_fail(s->ctx, e->code ? e->code : EXIT_IOERR);
	kd_file_close(&s->f);
	return -1;
}

int
kd_scan_log(struct kd_scan *s)
{
	struct kd_ctx *ctx = s->ctx;
	const char *path = s->seg->log;
	size_t max = ctx->o->max_batch_bytes, got, size;
	struct err e = { 0 }, why = { 0 };
	struct rec_batch b;
	const uint8_t *p;
	uint64_t pos, left, next = 0;
	int32_t length;
	uint32_t crc;
	bool crc_ok;
	int r;

	if (kd_file_open(&s->f, path, &e) < 0) {
		/* Retention may delete a segment between listing and open. */
		if (errno == ENOENT) {
			log_warnx("'%s' disappeared before it could be read",
			    path);
			return -1;
		}
		log_warnx("%s", e.msg);
		kd_fail(ctx, e.code);
		return -1;
	}
	s->size = s->f.size;
	pos = s->end = s->start;
	while (pos < s->f.size && !ctx->stop) {
		left = s->f.size - pos;
		p = kd_file_read(&s->f, pos, REC_BATCH_HEADER_SIZE, &got, &e);
		if (p == NULL)
			return scan_fail(s, &e);
		if (got <= REC_OFF_MAGIC) {
			r = zero_tail(&s->f, pos, &e);
			if (r < 0)
				return scan_fail(s, &e);
			kd_problem(ctx, path, pos, r ? "%" PRIu64 " zero bytes "
			    "at the end of the file (preallocated or never "
			    "written)" : "incomplete batch header: %" PRIu64
			    " bytes at the end of the file", left);
			break;
		}
		length = (int32_t)be32_load(p + REC_OFF_LENGTH);
		if (p[REC_OFF_MAGIC] != REC_MAGIC || length <
		    REC_BATCH_HEADER_SIZE - REC_BATCH_LOG_OVERHEAD) {
			snprintf(why.msg, sizeof(why.msg), "invalid batch "
			    "header (magic %d, length %" PRId32 ")",
			    (int8_t)p[REC_OFF_MAGIC], length);
			pos = bad_batch(s, pos, why.msg, &e);
			if (pos == UINT64_MAX)
				return scan_fail(s, &e);
			continue;
		}
		size = (size_t)length + REC_BATCH_LOG_OVERHEAD;
		if (size > left) {
			r = resync(s, pos + 1, &next, &e);
			if (r < 0)
				return scan_fail(s, &e);
			if (r == 0) {
				/* The usual end of a live or crashed log. */
				kd_problem(ctx, path, pos, "incomplete batch at "
				    "the end of the file: %" PRIu64 " of %zu "
				    "bytes present", left, size);
				break;
			}
			kd_problem(ctx, path, pos, "batch length %" PRId32 " runs "
			    "past the end of the file: skipped %" PRIu64 " bytes "
			    "of garbage to the next batch at position %" PRIu64,
			    length, next - pos, next);
			pos = next;
			continue;
		}
		if (size > max) {
			kd_problem(ctx, path, pos, "batch of %zu bytes exceeds "
			    "the limit of %zu (see -M); skipped", size, max);
			pos += size;
			continue;
		}
		p = kd_file_read(&s->f, pos, size, &got, &e);
		if (p == NULL)
			return scan_fail(s, &e);
		if (got < size)
			break;	/* shrank under us; already reported */
		if (rec_batch_parse(p, size, &b, &why) < 0) {
			kd_problem(ctx, path, pos, "%s", why.msg);
			pos += size;
			continue;
		}
		crc_ok = true;
		if (!s->skip_crc && (crc = rec_batch_crc_compute(p, size)) !=
		    b.crc) {
			crc_ok = false;
			kd_problem(ctx, path, pos, "batch at offset %" PRId64
			    ": crc mismatch: stored 0x%08" PRIx32 ", computed "
			    "0x%08" PRIx32, b.base_offset, b.crc, crc);
		}
		check_offsets(s, &b, pos);
		if (s->collect != NULL)
			batch_list_add(s->collect, &b, pos);
		ctx->have_prev = true;
		ctx->prev_last = rec_batch_last_offset(&b);
		pos += size;
		s->end = pos;
		r = s->fn != NULL ? s->fn(s, &b, pos - size, crc_ok) : 1;
		if (r <= 0)
			break;
	}
	kd_file_close(&s->f);
	return 0;
}
