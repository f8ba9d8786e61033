/* SPDX-License-Identifier: MIT */
/*
 * --lookup-offset and --lookup-timestamp: which segment, batch and byte
 * position hold an offset, or the first offset whose timestamp is at or
 * after a time (Kafka's ListOffsets by timestamp). The indexes choose
 * where to start reading; the answer always comes from the log itself, so
 * a stale or damaged index only costs time (and is reported by --verify).
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "kdump.h"
#include "banned.h"

struct lookup_hit {
	bool seen;		/* a batch at or past the target was met */
	bool found;		/* ... and it holds the target */
	const struct kd_segment *seg;
	uint64_t pos;
	size_t size;
	int64_t base_offset;
	int64_t last_offset;
	int64_t max_timestamp;
	bool have_record;	/* time lookups: the record found */
	int64_t offset;
	int64_t timestamp;
	uint64_t entry_pos;	/* index entry used, UINT64_MAX if none */
	uint64_t start;		/* where reading started */
};

static void
hit_batch(struct lookup_hit *h, const struct kd_scan *s,
    const struct rec_batch *b, uint64_t pos)
{
	h->seen = true;
	h->seg = s->seg;
	h->pos = pos;
	h->size = b->size;
	h->base_offset = b->base_offset;
	h->last_offset = rec_batch_last_offset(b);
	h->max_timestamp = b->max_timestamp;
}

static int
find_offset(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct lookup_hit *h = s->arg;
	int64_t target = s->ctx->o->lookup;

	(void)crc_ok;
	if (rec_batch_last_offset(b) < target)
		return 1;
	hit_batch(h, s, b, pos);
	h->found = b->base_offset <= target;
	return 0;
}

static int
find_time(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct kd_ctx *ctx = s->ctx;
	struct lookup_hit *h = s->arg;
	int64_t target = ctx->o->lookup;
	struct rec_record r;
	struct err e = { 0 };
	int rc;

	(void)crc_ok;
	if (b->max_timestamp < target)
		return 1;
	if (rec_iter_reset(&ctx->it, b, &e) < 0) {
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
		return 1;
	}
	while ((rc = rec_iter_next(&ctx->it, &r, &e)) > 0) {
		if (r.timestamp < target)
			continue;
		hit_batch(h, s, b, pos);
		h->found = h->have_record = true;
		h->offset = r.offset;
		h->timestamp = r.timestamp;
		return 0;
	}
	if (rc < 0)
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
	return 1;
}

static void
print_hit(struct kd_ctx *ctx, const struct kd_part *part,
    const struct lookup_hit *h)
{
	bool by_time = ctx->o->mode == KD_MODE_LOOKUP_TIME;
	struct buf *l = &ctx->line;
	struct json_obj o;

	if (ctx->o->json) {
		json_obj_begin(&o, l);
		json_obj_cstr(&o, "type", "lookup");
		if (part->topic != NULL) {
			json_obj_cstr(&o, "topic", part->topic);
			json_obj_i64(&o, "partition", part->partition);
		}
		json_obj_i64(&o, by_time ? "timestamp" : "offset",
		    ctx->o->lookup);
		json_obj_bool(&o, "found", h->found);
		if (h->found) {
			if (by_time) {
				json_obj_i64(&o, "record_offset", h->offset);
				json_obj_i64(&o, "record_timestamp",
				    h->timestamp);
			}
			json_obj_cstr(&o, "file", h->seg->log);
			json_obj_u64(&o, "position", h->pos);
			json_obj_u64(&o, "size", h->size);
			json_obj_i64(&o, "base_offset", h->base_offset);
			json_obj_i64(&o, "last_offset", h->last_offset);
			json_obj_i64(&o, "max_timestamp", h->max_timestamp);
			json_obj_key(&o, "index_entry");
			if (h->entry_pos == UINT64_MAX)
				json_put_null(l);
			else
				json_put_u64(l, h->entry_pos);
			json_obj_u64(&o, "read_from", h->start);
		} else if (h->seen) {
			json_obj_i64(&o, "next_offset", h->base_offset);
		}
		json_obj_end(&o);
	} else {
		buf_printf(l, "lookup %s=%" PRId64 " found=%s",
		    by_time ? "timestamp" : "offset", ctx->o->lookup,
		    h->found ? "true" : "false");
		if (part->topic != NULL) {
			buf_put_str(l, " topic=");
			kd_put_word(l, part->topic, strlen(part->topic));
			buf_printf(l, " partition=%" PRId32, part->partition);
		}
		if (h->found) {
			if (by_time)
				buf_printf(l, " record_offset=%" PRId64
				    " record_timestamp=%" PRId64, h->offset,
				    h->timestamp);
			buf_put_str(l, " file=");
			kd_put_word(l, h->seg->log, strlen(h->seg->log));
			buf_printf(l, " position=%" PRIu64 " size=%zu base_offset=%"
			    PRId64 " last_offset=%" PRId64 " max_timestamp=%"
			    PRId64, h->pos, h->size, h->base_offset,
			    h->last_offset, h->max_timestamp);
			if (h->entry_pos == UINT64_MAX)
				buf_put_str(l, " index_entry=none");
			else
				buf_printf(l, " index_entry=%" PRIu64,
				    h->entry_pos);
			buf_printf(l, " read_from=%" PRIu64, h->start);
		} else if (h->seen) {
			buf_printf(l, " next_offset=%" PRId64, h->base_offset);
		}
	}
	buf_putc(l, '\n');
	kd_emit(ctx);
}

/* The first segment that can hold `offset`, by the base offsets. */
static size_t
first_segment(const struct kd_part *part, int64_t offset)
{
	size_t i, best = 0;

	for (i = 0; i < part->nsegs; i++)
		if (part->segs[i].base_known &&
		    part->segs[i].base_offset <= offset)
			best = i;
	return best;
}

int
kd_lookup_part(struct kd_ctx *ctx, const struct kd_part *part)
{
	bool by_time = ctx->o->mode == KD_MODE_LOOKUP_TIME;
	struct lookup_hit h;
	struct kd_scan s;
	struct kd_file f;
	struct err e = { 0 };
	uint64_t entry = UINT64_MAX;
	size_t i;

	memset(&h, 0, sizeof(h));
	h.entry_pos = UINT64_MAX;
	i = by_time ? 0 : first_segment(part, ctx->o->lookup);
	for (; i < part->nsegs && !h.seen && !ctx->stop; i++) {
		const struct kd_segment *seg = &part->segs[i];

		if (seg->log == NULL)
			continue;
		if (kd_file_open(&f, seg->log, &e) < 0) {
			log_warnx("%s", e.msg);
			kd_fail(ctx, e.code);
			return -1;
		}
		memset(&s, 0, sizeof(s));
		entry = UINT64_MAX;
		if (by_time)
			s.start = kd_seek_time(ctx, seg, &f, ctx->o->lookup);
		else
			s.start = kd_seek_offset(ctx, seg, &f, ctx->o->lookup,
			    &entry);
		kd_file_close(&f);
		s.ctx = ctx;
		s.part = part;
		s.seg = seg;
		s.fn = by_time ? find_time : find_offset;
		s.arg = &h;
		kd_part_begin(ctx);
		if (kd_scan_log(&s) < 0)
			return -1;
		ctx->files++;
		h.entry_pos = entry;
		h.start = s.start;
	}
	if (!h.found)
		ctx->not_found = true;
	print_hit(ctx, part, &h);
	return 0;
}
