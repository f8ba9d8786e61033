/* SPDX-License-Identifier: MIT */
/*
 * --summary and --count. The summary reads every record (to measure the
 * uncompressed size and the exact timestamp range) and keeps totals per
 * partition and overall; --count only walks batch headers and adds up
 * their record counts, which stay exact after compaction.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "kdump.h"
#include "banned.h"

static void
idset_add(struct kd_idset *s, int64_t id)
{
	size_t i, mask;
	int64_t *old;
	size_t oldcap;

	if (id < 0 || id == INT64_MAX)
		return;
	if ((s->n + 1) * 2 > s->cap) {
		old = s->slots;
		oldcap = s->cap;
		s->cap = s->cap ? s->cap * 2 : 64;
		s->slots = xcalloc(s->cap, sizeof(*s->slots));
		s->n = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i] != 0)
				idset_add(s, old[i] - 1);
		free(old);
	}
	mask = s->cap - 1;
	for (i = (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15u) >> 29) & mask;
	    s->slots[i] != 0; i = (i + 1) & mask)
		if (s->slots[i] == id + 1)
			return;
	s->slots[i] = id + 1;
	s->n++;
}

void
kd_stats_init(struct kd_stats *st)
{
	memset(st, 0, sizeof(*st));
}

void
kd_stats_release(struct kd_stats *st)
{
	free(st->producers.slots);
	memset(&st->producers, 0, sizeof(st->producers));
}

static void
stats_add(struct kd_stats *to, const struct kd_stats *from)
{
	size_t i;

	to->segments += from->segments;
	to->batches += from->batches;
	to->records += from->records;
	to->control_batches += from->control_batches;
	to->control_records += from->control_records;
	to->transactional_batches += from->transactional_batches;
	to->bytes += from->bytes;
	to->stored_record_bytes += from->stored_record_bytes;
	to->uncompressed_record_bytes += from->uncompressed_record_bytes;
	for (i = 0; i < ARRAY_SIZE(to->codec_batches); i++)
		to->codec_batches[i] += from->codec_batches[i];
	if (from->have_offsets) {
		if (!to->have_offsets || from->first_offset < to->first_offset)
			to->first_offset = from->first_offset;
		if (!to->have_offsets || from->last_offset > to->last_offset)
			to->last_offset = from->last_offset;
		to->have_offsets = true;
	}
	if (from->have_timestamps) {
		if (!to->have_timestamps ||
		    from->min_timestamp < to->min_timestamp)
			to->min_timestamp = from->min_timestamp;
		if (!to->have_timestamps ||
		    from->max_timestamp > to->max_timestamp)
			to->max_timestamp = from->max_timestamp;
		to->have_timestamps = true;
	}
	for (i = 0; i < from->producers.cap; i++)
		if (from->producers.slots[i] != 0)
			idset_add(&to->producers, from->producers.slots[i] - 1);
}

static void
note_timestamp(struct kd_stats *st, int64_t ts)
{
	if (!st->have_timestamps || ts < st->min_timestamp)
		st->min_timestamp = ts;
	if (!st->have_timestamps || ts > st->max_timestamp)
		st->max_timestamp = ts;
	st->have_timestamps = true;
}

static int
summary_batch(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct kd_ctx *ctx = s->ctx;
	struct kd_stats *st = &ctx->part;
	enum compress_codec codec = rec_batch_codec(b);
	size_t stored = b->size - REC_OFF_RECORDS;
	struct rec_record r;
	struct err e = { 0 };
	int rc;

	(void)crc_ok;
	st->batches++;
	st->bytes += b->size;
	st->codec_batches[codec]++;
	st->stored_record_bytes += stored;
	if (b->attributes & REC_ATTR_CONTROL) {
		st->control_batches++;
		st->control_records += (uint64_t)b->record_count;
	} else {
		st->records += (uint64_t)b->record_count;
	}
	if (b->attributes & REC_ATTR_TRANSACTIONAL)
		st->transactional_batches++;
	if (!st->have_offsets || b->base_offset < st->first_offset)
		st->first_offset = b->base_offset;
	if (!st->have_offsets || rec_batch_last_offset(b) > st->last_offset)
		st->last_offset = rec_batch_last_offset(b);
	st->have_offsets = true;
	idset_add(&st->producers, b->producer_id);
	if (rec_iter_reset(&ctx->it, b, &e) < 0) {
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
		return 1;
	}
	st->uncompressed_record_bytes += codec == COMPRESS_NONE ? stored :
	    ctx->it.inflated.len;
	while ((rc = rec_iter_next(&ctx->it, &r, &e)) > 0)
		note_timestamp(st, r.timestamp);
	if (rc < 0)
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
	return 1;
}

int
kd_summary_part(struct kd_ctx *ctx, const struct kd_part *part)
{
	struct kd_part_summary *ps;
	struct kd_scan s;
	size_t i;

	kd_part_begin(ctx);
	kd_stats_release(&ctx->part);
	kd_stats_init(&ctx->part);
	for (i = 0; i < part->nsegs && !ctx->stop; i++) {
		if (part->segs[i].log == NULL)
			continue;
		memset(&s, 0, sizeof(s));
		s.ctx = ctx;
		s.part = part;
		s.seg = &part->segs[i];
		s.check_order = true;
		s.fn = summary_batch;
		if (kd_scan_log(&s) == 0) {
			ctx->files++;
			ctx->part.segments++;
		}
	}
	stats_add(&ctx->total, &ctx->part);
	ctx->sums = xrealloc(ctx->sums, (ctx->nsums + 1) * sizeof(*ctx->sums));
	ps = &ctx->sums[ctx->nsums++];
	ps->dir = xstrdup(part->dir);
	ps->topic = part->topic ? xstrdup(part->topic) : NULL;
	ps->partition = part->partition;
	ps->st = ctx->part;
	ps->nproducers = ctx->part.producers.n;
	memset(&ps->st.producers, 0, sizeof(ps->st.producers));
	kd_stats_release(&ctx->part);
	return 0;
}

static void
json_opt_i64(struct json_obj *o, const char *key, bool have, int64_t v)
{
	if (have)
		json_obj_i64(o, key, v);
	else
		json_obj_null(o, key);
}

static double
ratio(const struct kd_stats *st)
{
	return st->stored_record_bytes == 0 ? 0.0 :
	    (double)st->uncompressed_record_bytes /
	    (double)st->stored_record_bytes;
}

static void
stats_json(struct json_obj *o, const struct kd_stats *st, uint64_t producers)
{
	struct json_obj c;
	int i;

	json_obj_u64(o, "segments", st->segments);
	json_obj_u64(o, "batches", st->batches);
	json_obj_u64(o, "records", st->records);
	json_obj_u64(o, "control_batches", st->control_batches);
	json_obj_u64(o, "control_records", st->control_records);
	json_obj_u64(o, "transactional_batches", st->transactional_batches);
	json_obj_u64(o, "bytes", st->bytes);
	json_obj_u64(o, "stored_record_bytes", st->stored_record_bytes);
	json_obj_u64(o, "uncompressed_record_bytes",
	    st->uncompressed_record_bytes);
	json_obj_key(o, "compression_ratio");
	if (st->stored_record_bytes == 0)
		json_put_null(o->b);
	else
		json_put_double(o->b, ratio(st), 2);
	json_obj_key(o, "codecs");
	json_obj_begin(&c, o->b);
	for (i = COMPRESS_NONE; i <= COMPRESS_ZSTD; i++)
		if (st->codec_batches[i] > 0)
			json_obj_u64(&c, compress_codec_name(i),
			    st->codec_batches[i]);
	json_obj_end(&c);
	json_opt_i64(o, "first_offset", st->have_offsets, st->first_offset);
	json_opt_i64(o, "last_offset", st->have_offsets, st->last_offset);
	json_opt_i64(o, "min_timestamp", st->have_timestamps,
	    st->min_timestamp);
	json_opt_i64(o, "max_timestamp", st->have_timestamps,
	    st->max_timestamp);
	json_obj_u64(o, "producers", producers);
}

static void
summary_json(struct kd_ctx *ctx)
{
	struct buf *l = &ctx->line;
	struct json_obj o, p;
	struct json_arr a;
	size_t i;

	json_obj_begin(&o, l);
	json_obj_cstr(&o, "type", "summary");
	json_obj_i64(&o, "version", 1);
	json_obj_u64(&o, "files", ctx->files);
	json_obj_u64(&o, "partitions", ctx->nsums);
	stats_json(&o, &ctx->total, ctx->total.producers.n);
	json_obj_u64(&o, "problems", ctx->problems);
	json_obj_key(&o, "partition_summaries");
	json_arr_begin(&a, l);
	for (i = 0; i < ctx->nsums; i++) {
		const struct kd_part_summary *ps = &ctx->sums[i];

		json_arr_next(&a);
		json_obj_begin(&p, l);
		json_obj_cstr(&p, "dir", ps->dir);
		if (ps->topic != NULL) {
			json_obj_cstr(&p, "topic", ps->topic);
			json_obj_i64(&p, "partition", ps->partition);
		}
		stats_json(&p, &ps->st, ps->nproducers);
		json_obj_end(&p);
	}
	json_arr_end(&a);
	json_obj_end(&o);
	buf_putc(l, '\n');
}

static void
text_opt(struct buf *l, const char *name, bool have, int64_t v)
{
	if (have)
		buf_printf(l, "%-26s %" PRId64 "\n", name, v);
	else
		buf_printf(l, "%-26s -\n", name);
}

static void
summary_text(struct kd_ctx *ctx)
{
	const struct kd_stats *st = &ctx->total;
	struct buf *l = &ctx->line;
	size_t i;
	int c;

#define ROW(name, v) buf_printf(l, "%-26s %" PRIu64 "\n", name, (uint64_t)(v))
	ROW("files", ctx->files);
	ROW("partitions", ctx->nsums);
	ROW("segments", st->segments);
	ROW("batches", st->batches);
	ROW("records", st->records);
	ROW("control_batches", st->control_batches);
	ROW("control_records", st->control_records);
	ROW("transactional_batches", st->transactional_batches);
	ROW("bytes", st->bytes);
	ROW("stored_record_bytes", st->stored_record_bytes);
	ROW("uncompressed_record_bytes", st->uncompressed_record_bytes);
#undef ROW
	if (st->stored_record_bytes > 0)
		buf_printf(l, "%-26s %.2f\n", "compression_ratio", ratio(st));
	else
		buf_printf(l, "%-26s -\n", "compression_ratio");
	buf_printf(l, "%-26s", "codecs");
	for (c = COMPRESS_NONE; c <= COMPRESS_ZSTD; c++)
		if (st->codec_batches[c] > 0)
			buf_printf(l, " %s=%" PRIu64, compress_codec_name(c),
			    st->codec_batches[c]);
	buf_putc(l, '\n');
	text_opt(l, "first_offset", st->have_offsets, st->first_offset);
	text_opt(l, "last_offset", st->have_offsets, st->last_offset);
	text_opt(l, "min_timestamp", st->have_timestamps, st->min_timestamp);
	text_opt(l, "max_timestamp", st->have_timestamps, st->max_timestamp);
	buf_printf(l, "%-26s %zu\n", "producers", st->producers.n);
	buf_printf(l, "%-26s %" PRIu64 "\n", "problems", ctx->problems);
	if (ctx->nsums < 2)
		return;
	for (i = 0; i < ctx->nsums; i++) {
		const struct kd_part_summary *ps = &ctx->sums[i];

		buf_put_str(l, "partition dir=");
		kd_put_word(l, ps->dir, strlen(ps->dir));
		if (ps->topic != NULL) {
			buf_put_str(l, " topic=");
			kd_put_word(l, ps->topic, strlen(ps->topic));
			buf_printf(l, " partition=%" PRId32, ps->partition);
		}
		buf_printf(l, " segments=%" PRIu64 " batches=%" PRIu64
		    " records=%" PRIu64 " bytes=%" PRIu64, ps->st.segments,
		    ps->st.batches, ps->st.records, ps->st.bytes);
		if (ps->st.have_offsets)
			buf_printf(l, " first_offset=%" PRId64 " last_offset=%"
			    PRId64, ps->st.first_offset, ps->st.last_offset);
		buf_putc(l, '\n');
	}
}

void
kd_summary_print(struct kd_ctx *ctx)
{
	if (ctx->o->json)
		summary_json(ctx);
	else
		summary_text(ctx);
	kd_emit(ctx);
}

void
kd_summary_release(struct kd_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nsums; i++) {
		free(ctx->sums[i].dir);
		free(ctx->sums[i].topic);
	}
	free(ctx->sums);
	ctx->sums = NULL;
	ctx->nsums = 0;
}

static int
count_batch(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct kd_stats *st = &s->ctx->total;

	(void)pos;
	(void)crc_ok;
	st->batches++;
	if (b->attributes & REC_ATTR_CONTROL)
		st->control_records += (uint64_t)b->record_count;
	else
		st->records += (uint64_t)b->record_count;
	return 1;
}

int
kd_count_part(struct kd_ctx *ctx, const struct kd_part *part)
{
	struct kd_scan s;
	size_t i;

	kd_part_begin(ctx);
	for (i = 0; i < part->nsegs && !ctx->stop; i++) {
		if (part->segs[i].log == NULL)
			continue;
		memset(&s, 0, sizeof(s));
		s.ctx = ctx;
		s.part = part;
		s.seg = &part->segs[i];
		s.check_order = true;
		s.skip_crc = true;
		s.fn = count_batch;
		if (kd_scan_log(&s) == 0)
			ctx->files++;
	}
	return 0;
}

void
kd_count_print(struct kd_ctx *ctx)
{
	const struct kd_stats *st = &ctx->total;
	struct json_obj o;

	if (ctx->o->json) {
		json_obj_begin(&o, &ctx->line);
		json_obj_cstr(&o, "type", "count");
		json_obj_i64(&o, "version", 1);
		json_obj_u64(&o, "records", st->records);
		json_obj_u64(&o, "control_records", st->control_records);
		json_obj_u64(&o, "batches", st->batches);
		json_obj_u64(&o, "files", ctx->files);
		json_obj_end(&o);
		buf_putc(&ctx->line, '\n');
	} else {
		buf_printf(&ctx->line, "%" PRIu64 "\n", st->records);
	}
	kd_emit(ctx);
}
