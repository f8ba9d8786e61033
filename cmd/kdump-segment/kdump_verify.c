/* SPDX-License-Identifier: MIT */
/*
 * --verify: every check kdump-segment knows, on every segment of a
 * partition: batch framing, CRC, offset order within and across segments,
 * each record of each batch (decompressed), and both indexes against the
 * log. Also Kafka checkpoint files ("0\nN\ntopic partition offset\n..."),
 * which are dumped or checked here. Problems go through kd_problem();
 * the verdict line is printed once at the end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "log.h"
#include "opt.h"
#include "kdump.h"
#include "banned.h"

#define KD_CHECKPOINT_MAX (64u * 1024 * 1024)

/* Deep check of one batch: every record, and record timestamps. */
static int
verify_batch(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct kd_ctx *ctx = s->ctx;
	struct rec_record r;
	struct err e = { 0 };
	bool ts_reported = false;
	int rc;

	ctx->total.batches++;
	if (!crc_ok)
		return 1;	/* reported; its records prove nothing */
	if (rec_iter_reset(&ctx->it, b, &e) < 0) {
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
		return 1;
	}
	while ((rc = rec_iter_next(&ctx->it, &r, &e)) > 0) {
		ctx->total.records++;
		if (!ts_reported && !(b->attributes & REC_ATTR_LOG_APPEND_TIME) &&
		    r.timestamp > b->max_timestamp) {
			kd_problem(ctx, s->seg->log, pos, "batch at offset %"
			    PRId64 ": record at offset %" PRId64 " has "
			    "timestamp %" PRId64 ", above the batch's max "
			    "timestamp %" PRId64, b->base_offset, r.offset,
			    r.timestamp, b->max_timestamp);
			ts_reported = true;
		}
	}
	if (rc < 0)
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
	return 1;
}

static void
verify_segment(struct kd_ctx *ctx, const struct kd_part *part,
    const struct kd_segment *seg)
{
	struct kd_batch_list bl = { NULL, 0, 0 };
	struct kd_log_view view = { false, false, 0, &bl };
	struct kd_scan s;
	struct kd_index ix;
	struct stat st;

	memset(&s, 0, sizeof(s));
	if (seg->log != NULL) {
		if (seg->base_known && ctx->have_prev &&
		    seg->base_offset <= ctx->prev_last)
			kd_problem(ctx, seg->log, 0, "segment base offset %"
			    PRId64 " is not above the previous segment's last "
			    "offset %" PRId64, seg->base_offset, ctx->prev_last);
		s.ctx = ctx;
		s.part = part;
		s.seg = seg;
		s.check_order = true;
		s.collect = &bl;
		s.fn = verify_batch;
		view.read = kd_scan_log(&s) == 0;
		view.size = s.size;
		view.live = stat(seg->log, &st) == 0 &&
		    (uint64_t)st.st_size > s.size;
		ctx->files++;
		ctx->total.segments++;
	} else {
		log_warnx("no log for '%s': checking the index alone",
		    seg->index ? seg->index : seg->timeindex);
	}
	if (seg->index != NULL &&
	    kd_index_load(ctx, seg->index, false, seg->base_offset, &ix) == 0) {
		ctx->files++;
		kd_verify_index(ctx, seg, &ix, &view);
		kd_index_release(&ix);
	}
	if (seg->timeindex != NULL && kd_index_load(ctx, seg->timeindex, true,
	    seg->base_offset, &ix) == 0) {
		ctx->files++;
		kd_verify_timeindex(ctx, seg, &ix, &view);
		kd_index_release(&ix);
	}
	free(bl.v);
}

int
kd_verify_part(struct kd_ctx *ctx, const struct kd_part *part)
{
	size_t i;

	kd_part_begin(ctx);
	for (i = 0; i < part->nsegs && !ctx->stop; i++)
		verify_segment(ctx, part, &part->segs[i]);
	return 0;
}

void
kd_verify_print(struct kd_ctx *ctx)
{
	const struct kd_stats *t = &ctx->total;
	struct json_obj o;

	if (ctx->o->json) {
		json_obj_begin(&o, &ctx->line);
		json_obj_cstr(&o, "type", "verify");
		json_obj_i64(&o, "version", 1);
		json_obj_u64(&o, "files", ctx->files);
		json_obj_u64(&o, "segments", t->segments);
		json_obj_u64(&o, "batches", t->batches);
		json_obj_u64(&o, "records", t->records);
		json_obj_u64(&o, "index_entries", ctx->index_entries);
		json_obj_u64(&o, "problems", ctx->problems);
		json_obj_bool(&o, "ok", ctx->problems == 0 &&
		    ctx->fail_code == 0);
		json_obj_end(&o);
	} else if (!ctx->o->quiet) {
		buf_printf(&ctx->line, "verify files=%" PRIu64 " segments=%"
		    PRIu64 " batches=%" PRIu64 " records=%" PRIu64
		    " index_entries=%" PRIu64 " problems=%" PRIu64, ctx->files,
		    t->segments, t->batches, t->records, ctx->index_entries,
		    ctx->problems);
	} else {
		return;
	}
	buf_putc(&ctx->line, '\n');
	kd_emit(ctx);
}

/* Split off the next line of `text`; returns its length, *next after it. */
static size_t
next_line(const char *text, size_t len, size_t at, size_t *next)
{
	const char *nl = memchr(text + at, '\n', len - at);
	size_t end = nl ? (size_t)(nl - text) : len;

	*next = nl ? end + 1 : len;
	return end - at;
}

static bool
parse_num(const char *s, size_t n, int64_t max, int64_t *out)
{
	char tmp[32];
	struct err e;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return opt_parse_i64("", tmp, 0, max, out, &e) == 0;
}

static void
print_checkpoint_entry(struct kd_ctx *ctx, const char *path, const char *topic,
    size_t tlen, int64_t partition, int64_t offset)
{
	struct buf *l = &ctx->line;
	struct json_obj o;

	if (ctx->o->json) {
		json_obj_begin(&o, l);
		json_obj_cstr(&o, "type", "checkpoint_entry");
		json_obj_cstr(&o, "file", path);
		json_obj_key(&o, "topic");
		json_put_str(l, topic, tlen);
		json_obj_i64(&o, "partition", partition);
		json_obj_i64(&o, "offset", offset);
		json_obj_end(&o);
	} else {
		buf_put_str(l, "entry topic=");
		kd_put_word(l, topic, tlen);
		buf_printf(l, " partition=%" PRId64 " offset=%" PRId64,
		    partition, offset);
	}
	buf_putc(l, '\n');
	kd_emit(ctx);
}

/* One "topic partition offset" line; false when malformed. */
static bool
checkpoint_entry(struct kd_ctx *ctx, const char *path, const char *s,
    size_t n)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	int64_t partition, offset;

	if (sp1 == NULL || sp1 == s)
		return false;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (sp2 == NULL ||
	    !parse_num(sp1 + 1, (size_t)(sp2 - sp1 - 1), INT32_MAX, &partition) ||
	    !parse_num(sp2 + 1, n - (size_t)(sp2 + 1 - s), INT64_MAX, &offset))
		return false;
	if (ctx->o->mode == KD_MODE_DUMP)
		print_checkpoint_entry(ctx, path, s, (size_t)(sp1 - s),
		    partition, offset);
	return true;
}

int
kd_checkpoint(struct kd_ctx *ctx, const char *path)
{
	struct buf data = BUF_INIT;
	struct err e = { 0 };
	const char *text;
	size_t at = 0, next, n, line = 0, entries = 0;
	int64_t version = -1, count = -1;

	if (ctx->o->mode != KD_MODE_DUMP && ctx->o->mode != KD_MODE_VERIFY) {
		log_warnx("'%s' is a checkpoint file: skipped", path);
		return 0;
	}
	if (kd_file_slurp(path, KD_CHECKPOINT_MAX, &data, &e) < 0) {
		log_warnx("%s", e.msg);
		kd_fail(ctx, e.code);
		buf_release(&data);
		return -1;
	}
	ctx->files++;
	text = (const char *)data.data;
	if (!ctx->o->json && ctx->o->mode == KD_MODE_DUMP)
		kd_print_file(ctx, "checkpoint", path, data.len, NULL, NULL);
	while (at < data.len && !ctx->stop) {
		n = next_line(text, data.len, at, &next);
		line++;
		if (line == 1) {
			if (!parse_num(text + at, n, INT32_MAX, &version) ||
			    version != 0)
				kd_problem(ctx, path, at, "line 1: expected "
				    "version 0");
		} else if (line == 2) {
			if (!parse_num(text + at, n, INT32_MAX, &count))
				kd_problem(ctx, path, at, "line 2: expected "
				    "the number of entries");
		} else if ((int64_t)entries >= count && count >= 0) {
			kd_problem(ctx, path, at, "line %zu: more entries than "
			    "the %" PRId64 " announced", line, count);
			break;
		} else if (checkpoint_entry(ctx, path, text + at, n)) {
			entries++;
		} else {
			kd_problem(ctx, path, at, "line %zu: expected 'topic "
			    "partition offset'", line);
		}
		at = next;
	}
	if (!ctx->stop && line < 2)
		kd_problem(ctx, path, data.len, "missing version or entry "
		    "count line");
	else if (!ctx->stop && count >= 0 && (int64_t)entries < count)
		kd_problem(ctx, path, data.len, "%zu entries, %" PRId64
		    " announced", entries, count);
	buf_release(&data);
	return 0;
}
