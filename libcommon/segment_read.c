/* SPDX-License-Identifier: MIT */
/*
 * Reading a segment (see segment.h): batch lookups by offset through the
 * index and pread of batch headers, read slices, timestamp lookups, and
 * learning the tail of a segment that was not scanned at open. Headers are
 * read through a small window, so a run of small batches costs one pread
 * rather than one per batch. Index entries are trusted only once the
 * header they point at agrees with them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "record.h"
#include "segment.h"
#include "banned.h"

/* Header window for scans. */
#define SCAN_WINDOW 4096
/* Bound on one batch's inflated records during a timestamp lookup. */
#define SEG_MAX_INFLATE (128u << 20)

struct scan {
	struct seg *s;
	uint64_t limit;		/* headers are read below this position */
	uint64_t win_pos;
	size_t win_len;
	uint8_t win[SCAN_WINDOW];
};

static void
scan_init(struct scan *sc, struct seg *s, uint64_t limit)
{
	sc->s = s;
	sc->limit = limit;
	sc->win_pos = 0;
	sc->win_len = 0;
}

/*
 * Read the header of the batch at `pos`: 1 with *out set, 0 at the limit,
 * -1 with EXIT_DATAERR (bad or cut header) or EXIT_IOERR.
 */
static int
scan_header(struct scan *sc, uint64_t pos, struct seg_batch_info *out,
    struct err *e)
{
	uint64_t left;
	size_t need;

	if (pos >= sc->limit)
		return 0;
	left = sc->limit - pos;
	need = left < REC_BATCH_HEADER_SIZE ? (size_t)left :
	    REC_BATCH_HEADER_SIZE;
	if (pos < sc->win_pos || pos + need > sc->win_pos + sc->win_len) {
		size_t n = left < SCAN_WINDOW ? (size_t)left : SCAN_WINDOW;

		if (seg_pread(sc->s, sc->win, n, pos, e) < 0)
			return -1;
		sc->win_pos = pos;
		sc->win_len = n;
	}
	if (seg_batch_header(sc->win + (pos - sc->win_pos),
	    left > SIZE_MAX ? SIZE_MAX : (size_t)left, pos, out, e) < 0)
		return err_wrap(e, "segment '%s'", sc->s->log_path);
	return 1;
}

int
seg_find_batch(struct seg *s, int64_t offset, struct seg_batch_info *out,
    struct err *e)
{
	struct idx_offset_entry ent;
	struct seg_batch_info bi;
	struct scan sc;
	uint64_t pos;
	int indexed, r;
	bool first = true;

	indexed = idx_lookup_offset(&s->oidx, offset, &ent, e);
	if (indexed < 0)
		return -1;
	pos = ent.position;
	scan_init(&sc, s, s->size);
	for (;;) {
		r = scan_header(&sc, pos, &bi, e);
		/* An entry that does not point at its batch is not trusted. */
		if (first && indexed == 1 && (r <= 0 ||
		    bi.last_offset != ent.offset)) {
			indexed = 0;
			pos = 0;
			continue;
		}
		first = false;
		if (r <= 0)
			return r;
		if (bi.last_offset >= offset) {
			*out = bi;
			return 1;
		}
		pos += bi.size;
	}
}

/*
 * Learn the tail fields from the last index entry on. A read-only segment
 * whose index disagrees is scanned from 0 instead, and one with a bad tail
 * is shortened in memory only.
 */
int
seg_load_tail(struct seg *s, struct err *e)
{
	struct idx_offset_entry oe = { s->base_offset, 0 };
	struct idx_time_entry te = { -1, s->base_offset };
	struct seg_batch_info bi;
	struct err scan_err;
	struct scan sc;
	int64_t next;
	uint64_t pos;
	int io, it, r;

again:
	if ((io = idx_last_offset_entry(&s->oidx, &oe, e)) < 0 ||
	    (it = idx_last_time_entry(&s->tidx, &te, e)) < 0)
		return -1;
	s->max_timestamp = it ? te.timestamp : -1;
	s->offset_of_max_timestamp = it ? te.offset : s->base_offset;
	s->first_batch_timestamp = -1;
	pos = io ? oe.position : 0;
	next = s->base_offset;
	if (io && oe.position >= s->size)
		goto bad_index;
	scan_init(&sc, s, s->size);
	if (io) {
		r = scan_header(&sc, 0, &bi, &scan_err);
		if (r < 0 && scan_err.code == EXIT_IOERR)
			return err_set(e, scan_err.code, "%s", scan_err.msg);
		if (r == 1)
			s->first_batch_timestamp = bi.max_timestamp;
	}
	while ((r = scan_header(&sc, pos, &bi, &scan_err)) == 1) {
		if ((io && pos == oe.position && bi.last_offset != oe.offset) ||
		    bi.base_offset < next)
			goto bad_index;
		if (pos == 0)
			s->first_batch_timestamp = bi.max_timestamp;
		if (bi.max_timestamp > s->max_timestamp) {
			s->max_timestamp = bi.max_timestamp;
			s->offset_of_max_timestamp = bi.last_offset;
		}
		next = bi.last_offset + 1;
		pos += bi.size;
	}
	if (r < 0) {
		if (scan_err.code == EXIT_IOERR)
			return err_set(e, scan_err.code, "%s", scan_err.msg);
		if (io && pos == oe.position)
			goto bad_index;
		if (!s->readonly)
			return 1;
		s->size = pos;
	}
	if (it && te.offset >= next)
		goto bad_index;
	s->next_offset = next;
	s->bytes_since_index = s->size - (io ? oe.position : 0);
	s->tail_known = true;
	return 0;
bad_index:
	if (!s->readonly)
		return 1;
	seg_bypass_indexes(s);
	goto again;
}

int
seg_read(struct seg *s, int64_t offset, uint64_t max_bytes,
    int64_t max_offset, struct seg_slice *out, struct err *e)
{
	struct seg_batch_info bi;
	struct idx_offset_entry ent;
	struct scan sc;
	uint64_t end, first_end, limit;
	bool jumped = false;
	int r;

	if ((r = seg_find_batch(s, offset, &bi, e)) <= 0)
		return r;
	if ((out->fd = seg_fd(s, e)) < 0)
		return -1;
	out->position = bi.position;
	out->base_offset = bi.base_offset;
	out->length = 0;
	if (bi.last_offset >= max_offset)
		return 1;
	end = first_end = bi.position + bi.size;
	limit = max_bytes >= s->size - bi.position ? s->size :
	    bi.position + max_bytes;
	/*
	 * Batches before an index entry's position all end below its offset,
	 * so the index can vouch for most of the run without reading headers.
	 */
	r = idx_lookup_bound(&s->oidx, limit, max_offset, &ent, e);
	if (r < 0)
		return -1;
	if (r == 1 && ent.position > end) {
		end = ent.position;
		jumped = true;
	}
	scan_init(&sc, s, s->size);
	for (;;) {
		r = scan_header(&sc, end, &bi, e);
		/* The entry we jumped to must be where its batch starts. */
		if (jumped && (r <= 0 || bi.last_offset != ent.offset)) {
			jumped = false;
			end = first_end;
			continue;
		}
		jumped = false;
		if (r < 0)
			return -1;
		if (r == 0 || bi.last_offset >= max_offset ||
		    end + bi.size - out->position > max_bytes)
			break;
		end += bi.size;
	}
	out->length = end - out->position;
	return 1;
}

/* Find the record in the batch `bi`; 1 found, 0 not in it, -1. */
static int
search_batch(struct seg *s, const struct seg_batch_info *bi, int64_t ts,
    int64_t min_offset, int64_t *offset_out, int64_t *ts_out, struct err *e)
{
	struct rec_iter it;
	struct rec_record rec;
	struct rec_batch b;
	uint8_t *buf;
	int r = -1;

	buf = malloc(bi->size);
	if (buf == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	rec_iter_init(&it, SEG_MAX_INFLATE);
	if (seg_pread(s, buf, bi->size, bi->position, e) < 0)
		goto out;
	if (rec_batch_parse(buf, bi->size, &b, e) < 0 ||
	    rec_iter_reset(&it, &b, e) < 0) {
		err_wrap(e, "segment '%s': batch at position %" PRIu64,
		    s->log_path, bi->position);
		goto out;
	}
	while ((r = rec_iter_next(&it, &rec, e)) == 1) {
		if (rec.offset >= min_offset && rec.timestamp >= ts) {
			*offset_out = rec.offset;
			*ts_out = rec.timestamp;
			break;
		}
	}
	if (r < 0)
		err_wrap(e, "segment '%s'", s->log_path);
out:
	rec_iter_release(&it);
	free(buf);
	return r;
}

int
seg_find_timestamp(struct seg *s, int64_t ts, int64_t min_offset,
    int64_t *offset_out, int64_t *ts_out, struct err *e)
{
	struct idx_time_entry te;
	struct seg_batch_info bi;
	struct scan sc;
	uint64_t pos;
	int r;

	if (idx_lookup_time(&s->tidx, ts, &te, e) < 0)
		return -1;
	if (te.offset < min_offset)
		te.offset = min_offset;
	if ((r = seg_find_batch(s, te.offset, &bi, e)) <= 0)
		return r;
	scan_init(&sc, s, s->size);
	for (pos = bi.position; (r = scan_header(&sc, pos, &bi, e)) == 1;
	    pos += bi.size) {
		if (bi.max_timestamp < ts || bi.last_offset < min_offset)
			continue;
		r = search_batch(s, &bi, ts, min_offset, offset_out, ts_out, e);
		if (r != 0)
			return r;
	}
	return r;
}

int64_t
seg_largest_timestamp(struct seg *s, bool or_mtime)
{
	struct idx_time_entry te;
	struct stat st;
	int64_t ts = -1;

	if (s->tail_known)
		ts = s->max_timestamp;
	else if (idx_last_time_entry(&s->tidx, &te, NULL) == 1)
		ts = te.timestamp;
	if (ts < 0 && or_mtime && stat(s->log_path, &st) == 0)
		ts = (int64_t)st.st_mtim.tv_sec * 1000 +
		    st.st_mtim.tv_nsec / 1000000;
	return ts;
}
