/* SPDX-License-Identifier: MIT */
/*
 * Offset (.index) and time (.timeindex) indexes: loading with structural
 * checks, dumping, verification against the batches of their log, and
 * seeking (the largest entry at or below a target gives a position to
 * start reading from). Entry layouts, big-endian:
 *
 *   .index      0  u32 offset - segment base   4  u32 position in the .log
 *   .timeindex  0  i64 timestamp               8  u32 offset - segment base
 *
 * As in Kafka, an all-zero entry after the first ends the valid entries
 * (files are preallocated and zero-filled); a file of nothing but zeros
 * is the empty index of a live, active segment.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "kdump.h"
#include "banned.h"

#define KD_INDEX_MAX (1024u * 1024 * 1024)
#define KD_OFFSET_ENTRY 8
#define KD_TIME_ENTRY 12

static bool
all_zero(const uint8_t *p, size_t n)
{
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

/* Monotonicity: offsets and positions strictly increasing (offset index). */
static void
check_offset_order(struct kd_ctx *ctx, const char *path,
    const struct kd_index_entry *prev, const struct kd_index_entry *x)
{
	if (x->relative <= prev->relative)
		kd_problem(ctx, path, x->pos, "entry offset %" PRId64 " is not "
		    "above the previous entry's offset %" PRId64, x->offset,
		    prev->offset);
	if (x->log_pos <= prev->log_pos)
		kd_problem(ctx, path, x->pos, "entry position %" PRIu32 " is "
		    "not above the previous entry's position %" PRIu32,
		    x->log_pos, prev->log_pos);
}

/* Timestamps and offsets non-decreasing (time index). */
static void
check_time_order(struct kd_ctx *ctx, const char *path,
    const struct kd_index_entry *prev, const struct kd_index_entry *x)
{
	if (x->timestamp < prev->timestamp)
		kd_problem(ctx, path, x->pos, "entry timestamp %" PRId64 " is "
		    "below the previous entry's timestamp %" PRId64,
		    x->timestamp, prev->timestamp);
	if (x->relative < prev->relative)
		kd_problem(ctx, path, x->pos, "entry offset %" PRId64 " is "
		    "below the previous entry's offset %" PRId64, x->offset,
		    prev->offset);
}

/*
 * Read an index into out->v. With `report`, structural problems (size,
 * order, data after the end marker) are reported; without, they are not
 * (seeking only needs a best effort). Returns 0 or -1 (unreadable).
 */
static int
index_read(struct kd_ctx *ctx, const char *path, bool is_time, int64_t base,
    bool report, struct kd_index *out)
{
	size_t es = is_time ? KD_TIME_ENTRY : KD_OFFSET_ENTRY, n, i;
	struct buf data = BUF_INIT;
	struct err e = { 0 };
	const uint8_t *p;

	memset(out, 0, sizeof(*out));
	if (kd_file_slurp(path, KD_INDEX_MAX, &data, &e) < 0) {
		if (report && errno == ENOENT) {
			log_warnx("'%s' disappeared before it could be read",
			    path);
		} else if (report) {
			log_warnx("%s", e.msg);
			kd_fail(ctx, e.code);
		}
		buf_release(&data);
		return -1;
	}
	out->file_size = data.len;
	n = data.len / es;
	if (report && data.len % es != 0)
		kd_problem(ctx, path, n * es, "size %zu is not a multiple of "
		    "the entry size %zu: %zu bytes of a partial entry",
		    data.len, es, data.len % es);
	out->v = xcalloc(n ? n : 1, sizeof(*out->v));
	for (i = 0; i < n; i++) {
		struct kd_index_entry *x = &out->v[out->n];

		p = data.data + i * es;
		if (i == 0 && all_zero(p, data.len))
			break;
		if (i > 0 && all_zero(p, es)) {
			if (report && !all_zero(p, data.len - i * es))
				kd_problem(ctx, path, i * es, "non-zero bytes "
				    "after the end of the entries");
			break;
		}
		x->pos = i * es;
		if (is_time) {
			x->timestamp = (int64_t)be64_load(p);
			x->relative = be32_load(p + 8);
		} else {
			x->relative = be32_load(p);
			x->log_pos = be32_load(p + 4);
		}
		x->offset = base + x->relative;
		if (report && out->n > 0) {
			if (is_time)
				check_time_order(ctx, path, x - 1, x);
			else
				check_offset_order(ctx, path, x - 1, x);
		}
		out->n++;
	}
	buf_release(&data);
	return 0;
}

int
kd_index_load(struct kd_ctx *ctx, const char *path, bool is_time,
    int64_t base, struct kd_index *out)
{
	return index_read(ctx, path, is_time, base, true, out);
}

void
kd_index_release(struct kd_index *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

static void
print_entry(struct kd_ctx *ctx, const char *path, bool is_time,
    const struct kd_index_entry *x)
{
	struct buf *l = &ctx->line;
	struct json_obj o;

	if (ctx->o->json) {
		json_obj_begin(&o, l);
		json_obj_cstr(&o, "type", is_time ? "time_index_entry" :
		    "index_entry");
		json_obj_cstr(&o, "file", path);
		json_obj_u64(&o, "position", x->pos);
		if (is_time)
			json_obj_i64(&o, "timestamp", x->timestamp);
		json_obj_i64(&o, "offset", x->offset);
		json_obj_u64(&o, "relative_offset", x->relative);
		if (!is_time)
			json_obj_u64(&o, "log_position", x->log_pos);
		json_obj_end(&o);
	} else if (is_time) {
		buf_printf(l, "entry position=%" PRIu64 " timestamp=%" PRId64
		    " offset=%" PRId64 " relative_offset=%" PRIu32, x->pos,
		    x->timestamp, x->offset, x->relative);
	} else {
		buf_printf(l, "entry position=%" PRIu64 " offset=%" PRId64
		    " relative_offset=%" PRIu32 " log_position=%" PRIu32,
		    x->pos, x->offset, x->relative, x->log_pos);
	}
	buf_putc(l, '\n');
	kd_emit(ctx);
}

int
kd_dump_index(struct kd_ctx *ctx, const struct kd_target *t)
{
	bool is_time = t->kind == KD_TARGET_TIMEINDEX;
	const struct kd_segment *seg = &t->part.segs[0];
	struct kd_index ix;
	size_t i;

	if (kd_index_load(ctx, t->path, is_time, seg->base_offset, &ix) < 0)
		return -1;
	ctx->files++;
	kd_print_file(ctx, is_time ? "timeindex" : "index", t->path,
	    ix.file_size, &t->part, seg);
	for (i = 0; i < ix.n && !ctx->stop; i++)
		print_entry(ctx, t->path, is_time, &ix.v[i]);
	ctx->index_entries += ix.n;
	kd_index_release(&ix);
	return 0;
}

/* The batch starting at byte `pos`, or NULL (batches sorted by pos). */
static const struct kd_batch_info *
batch_at(const struct kd_batch_list *l, uint64_t pos)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].pos == pos)
			return &l->v[mid];
		if (l->v[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
kd_verify_index(struct kd_ctx *ctx, const struct kd_segment *seg,
    const struct kd_index *ix, const struct kd_log_view *log)
{
	const struct kd_batch_info *bi;
	size_t i;

	ctx->index_entries += ix->n;
	if (!log->read)
		return;
	for (i = 0; i < ix->n; i++) {
		const struct kd_index_entry *x = &ix->v[i];

		if (x->log_pos >= log->size && log->live)
			break;	/* indexes a batch appended after the scan */
		if (x->log_pos >= log->size) {
			kd_problem(ctx, seg->index, x->pos, "entry for offset %"
			    PRId64 " points to position %" PRIu32 ", past the "
			    "end of the log (%" PRIu64 " bytes)", x->offset,
			    x->log_pos, log->size);
			continue;
		}
		bi = batch_at(log->batches, x->log_pos);
		if (bi == NULL)
			kd_problem(ctx, seg->index, x->pos, "entry for offset %"
			    PRId64 " points to position %" PRIu32 ", which is "
			    "not the start of a batch", x->offset, x->log_pos);
		else if (bi->last_offset != x->offset)
			kd_problem(ctx, seg->index, x->pos, "entry offset %"
			    PRId64 " does not match the batch at position %"
			    PRIu32 " (last offset %" PRId64 ")", x->offset,
			    x->log_pos, bi->last_offset);
	}
}

void
kd_verify_timeindex(struct kd_ctx *ctx, const struct kd_segment *seg,
    const struct kd_index *ix, const struct kd_log_view *log)
{
	const struct kd_batch_list *batches = log->batches;
	int64_t first, last;
	size_t i;

	ctx->index_entries += ix->n;
	if (!log->read || ix->n == 0)
		return;
	if (batches->n == 0 && log->live)
		return;
	if (batches->n == 0) {
		kd_problem(ctx, seg->timeindex, 0, "%zu entries but the log "
		    "has no batches", ix->n);
		return;
	}
	first = batches->v[0].base_offset;
	if (seg->base_known && seg->base_offset < first)
		first = seg->base_offset;
	last = batches->v[batches->n - 1].last_offset;
	for (i = 0; i < ix->n; i++) {
		const struct kd_index_entry *x = &ix->v[i];

		if (x->offset > last && log->live)
			break;
		if (x->offset < first || x->offset > last)
			kd_problem(ctx, seg->timeindex, x->pos, "entry offset %"
			    PRId64 " is outside the offsets of the segment (%"
			    PRId64 "..%" PRId64 ")", x->offset, first, last);
	}
}

/* Whether the batch header at `pos` ends at `last_offset`. */
static bool
batch_ends_at(struct kd_file *f, uint64_t pos, int64_t last_offset)
{
	struct err e = { 0 };
	const uint8_t *p;
	size_t got;

	p = kd_file_read(f, pos, REC_BATCH_HEADER_SIZE, &got, &e);
	if (p == NULL || got < REC_BATCH_HEADER_SIZE ||
	    p[REC_OFF_MAGIC] != REC_MAGIC)
		return false;
	return (int64_t)be64_load(p + REC_OFF_BASE_OFFSET) +
	    (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA) == last_offset;
}

uint64_t
kd_seek_offset(struct kd_ctx *ctx, const struct kd_segment *seg,
    struct kd_file *f, int64_t offset, uint64_t *entry_pos)
{
	struct kd_index ix;
	uint64_t start = 0;
	size_t i, best = SIZE_MAX;

	*entry_pos = UINT64_MAX;
	if (seg->index == NULL ||
	    index_read(ctx, seg->index, false, seg->base_offset, false, &ix) < 0)
		return 0;
	/* The last entry at or below the target; entries are sorted. */
	for (i = 0; i < ix.n && ix.v[i].offset <= offset; i++)
		best = i;
	if (best != SIZE_MAX) {
		if (batch_ends_at(f, ix.v[best].log_pos, ix.v[best].offset)) {
			start = ix.v[best].log_pos;
			*entry_pos = ix.v[best].pos;
		} else {
			log_warnx("%s: position %" PRIu64 ": entry does not "
			    "match the log; reading it from the start",
			    seg->index, ix.v[best].pos);
		}
	}
	kd_index_release(&ix);
	return start;
}

uint64_t
kd_seek_time(struct kd_ctx *ctx, const struct kd_segment *seg,
    struct kd_file *f, int64_t timestamp)
{
	struct kd_index ix;
	uint64_t entry, start = 0;
	size_t i, best = SIZE_MAX;

	if (seg->timeindex == NULL || index_read(ctx, seg->timeindex, true,
	    seg->base_offset, false, &ix) < 0)
		return 0;
	/*
	 * Every batch up to the one holding the offset of an entry has a
	 * max timestamp at or below the entry's: the first batch reaching
	 * `timestamp` comes later.
	 */
	for (i = 0; i < ix.n && ix.v[i].timestamp < timestamp; i++)
		best = i;
	if (best != SIZE_MAX)
		start = kd_seek_offset(ctx, seg, f, ix.v[best].offset, &entry);
	kd_index_release(&ix);
	return start;
}
