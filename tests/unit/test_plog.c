/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for plog.c (and through it segment.c): appends over many
 * small segments checked against a model of what was appended, reads and
 * their limits, lookups by offset and timestamp, truncation, record
 * deletion, retention, crash recovery (cut tails, flipped bytes, lost or
 * garbage indexes, untrimmed indexes), replication appends and restarts
 * at any offset (plog_reset_at), a full disk,
 * leftovers, rolls by time, flushing, read-only opens and batch header
 * scans.
 */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "plog.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

#define MAXB 2048

/* What the log should hold: one row per appended batch. */
struct model {
	int n;
	int64_t base[MAXB];
	int64_t last[MAXB];
	int64_t ts0[MAXB];	/* record i has timestamp ts0 + i * step */
	int64_t step[MAXB];
	uint32_t size[MAXB];
	int64_t seg[MAXB];	/* base of the segment it went to */
	uint64_t pos[MAXB];	/* its position there */
};

static char root[64];
static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
mkdir_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", root, name);
	lt_rmrf(buf);
}

static void
small_config(struct plog_config *c)
{
	plog_config_init(c);
	c->segment_bytes = 2048;
	c->index_interval_bytes = 256;
	c->index_max_bytes = 1 << 16;
}

/* Append one batch of n records; assign offsets unless base >= 0. */
static int
append(struct plog *log, struct model *m, int n, int64_t ts, int64_t step,
    size_t vsize, int64_t base, int64_t now)
{
	struct plog_append_info info;
	struct buf b = BUF_INIT;
	struct err e;
	int r;

	if (lt_batch(&b, n, ts, step, vsize, m->n) < 0)
		return -1;
	if (base >= 0)
		lt_set_base(b.data, base);
	r = plog_append(log, b.data, b.len, base >= 0 ? 0 :
	    PLOG_APPEND_ASSIGN_OFFSETS, now, &info, &e);
	if (r == 0 && m->n < MAXB) {
		m->base[m->n] = info.first_offset;
		m->last[m->n] = info.last_offset;
		m->ts0[m->n] = ts;
		m->step[m->n] = step;
		m->size[m->n] = (uint32_t)b.len;
		m->seg[m->n] = info.segment_base;
		m->pos[m->n] = info.position;
		m->n++;
	}
	buf_release(&b);
	return r;
}

/* Fill with `count` batches of 1-5 records, timestamps 1000 + 10*offset. */
static void
fill(struct plog *log, struct model *m, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		int n = 1 + (int)(rnd() % 5);
		int64_t next = plog_end_offset(log);

		CHECK(append(log, m, n, 1000 + 10 * next, 10, 20 + rnd() % 60,
		    -1, 0) == 0);
	}
}

/* Batch header at a file position. */
static int
header_at(int fd, uint64_t pos, int64_t *base, int64_t *last, uint32_t *size)
{
	uint8_t h[REC_BATCH_HEADER_SIZE];

	if (pread(fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h))
		return -1;
	*base = (int64_t)be64_load(h);
	*last = *base + (int32_t)be32_load(h + REC_OFF_LAST_OFFSET_DELTA);
	*size = be32_load(h + REC_OFF_LENGTH) + REC_BATCH_LOG_OVERHEAD;
	return 0;
}

/* Every offset of the first `upto` model batches reads back its batch. */
static void
check_offsets(struct plog *log, const struct model *m, int upto)
{
	struct plog_slice sl;
	int64_t base, last, o;
	uint32_t size;
	struct err e;
	int k, bad = 0;

	for (k = 0; k < upto && bad < 5; k++) {
		if (m->last[k] < plog_start_offset(log))
			continue;
		for (o = m->base[k]; o <= m->last[k] && bad < 5; o++) {
			if (o < plog_start_offset(log))
				continue;
			if (plog_read(log, o, 1, plog_end_offset(log), &sl,
			    &e) != 0 || sl.length != m->size[k] ||
			    sl.base_offset != m->base[k] ||
			    header_at(sl.fd, sl.position, &base, &last,
			    &size) < 0 || base != m->base[k] ||
			    last != m->last[k]) {
				bad++;
				CHECKF(0, "offset %" PRId64 " (batch %d): "
				    "len %" PRIu64 " base %" PRId64 " %s", o, k,
				    sl.length, sl.base_offset, e.msg);
			}
		}
	}
}

/* Reading everything in large slices yields the model's batches in order. */
static void
check_scan(struct plog *log, const struct model *m, int upto)
{
	int64_t off = plog_start_offset(log), base, last;
	struct plog_slice sl;
	uint32_t size;
	struct err e;
	int k = 0;

	while (k < upto && m->last[k] < off)
		k++;
	while (off < plog_end_offset(log)) {
		uint64_t p;

		if (plog_read(log, off, 1 << 20, plog_end_offset(log), &sl,
		    &e) != 0 || sl.length == 0) {
			CHECKF(0, "scan at %" PRId64 ": %s", off, e.msg);
			return;
		}
		for (p = sl.position; p < sl.position + sl.length; p += size) {
			if (header_at(sl.fd, p, &base, &last, &size) < 0 ||
			    k >= upto || base != m->base[k] ||
			    last != m->last[k]) {
				CHECKF(0, "scan: batch %d at %" PRIu64, k, p);
				return;
			}
			k++;
			off = last + 1;
		}
	}
	CHECKF(k == upto, "scan saw %d of %d batches", k, upto);
}

static void
test_plog__config(void)
{
	struct plog_config c;
	struct err e;

	plog_config_init(&c);
	CHECK(c.segment_bytes == 1073741824);
	CHECK(c.segment_ms == 604800000);
	CHECK(c.index_interval_bytes == 4096);
	CHECK(c.index_max_bytes == 10485760);
	CHECK(c.retention_ms == 604800000);
	CHECK(c.retention_bytes == -1);
	CHECK(c.flush_messages == PLOG_NEVER && c.flush_ms == PLOG_NEVER);
	CHECK(c.max_batch_bytes == 1048588);
	CHECK(plog_config_check(&c, &e) == 0);
	c.segment_bytes = (int64_t)INT32_MAX + 1;
	CHECK(plog_config_check(&c, &e) == -1);
	CHECK(e.code == EXIT_CONFIG && strstr(e.msg, "segment_bytes") != NULL);
	plog_config_init(&c);
	c.index_max_bytes = 16;
	CHECK(plog_config_check(&c, &e) == -1);
	plog_config_init(&c);
	c.retention_ms = -2;
	CHECK(plog_config_check(&c, &e) == -1);
}

static void
test_plog__append_read(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	size_t i, nsegs;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "append-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, &rep, &log, &e) == 0);
	CHECK(rep.segments == 1);
	CHECK(plog_end_offset(log) == 0 && plog_start_offset(log) == 0);
	fill(log, &m, 300);
	nsegs = plog_segment_count(log);
	CHECKF(nsegs > 20, "%zu segments", nsegs);
	CHECK(plog_end_offset(log) == m.last[m.n - 1] + 1);
	/* segments are named by their first batch's base offset */
	for (i = 0; i < nsegs; i++) {
		CHECK(plog_segment_info(log, i, &si, &e) == 0);
		CHECK(si.size <= 2048);
		CHECK(si.active == (i + 1 == nsegs));
		lt_seg_path(p, sizeof(p), dir, si.base_offset, ".log");
		CHECK(strcmp(p, si.path) == 0);
		CHECK(lt_file_size(p) == (long long)si.size);
	}
	CHECK(plog_segment_info(log, nsegs, &si, &e) == -1);
	/* each batch starts a segment at position 0 or follows the last */
	for (i = 1; i < (size_t)m.n; i++)
		CHECK(m.seg[i] == m.seg[i - 1] ?
		    m.pos[i] == m.pos[i - 1] + m.size[i - 1] :
		    m.pos[i] == 0 && m.seg[i] == m.base[i]);
	/* the recovery point follows rolls */
	CHECK(plog_recovery_point(log) == m.seg[m.n - 1]);
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
	/* the active segment's indexes were trimmed */
	lt_seg_path(p, sizeof(p), dir, m.seg[m.n - 1], ".index");
	CHECK(lt_file_size(p) % 8 == 0 && lt_file_size(p) < 1 << 16);

	/* one call with many batches spreads them over several segments */
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, &rep, &log, &e) == 0);
	{
		struct plog_append_info info;
		struct buf b = BUF_INIT;
		int64_t end = plog_end_offset(log), o = end;
		int k;

		for (k = 0; k < 40; k++)
			CHECK(lt_batch(&b, 2, 5000, 1, 90, k) == 0);
		CHECK(plog_append(log, b.data, b.len,
		    PLOG_APPEND_ASSIGN_OFFSETS,
		    0, &info, &e) == 0);
		CHECK(info.first_offset == end && info.last_offset == end + 79);
		CHECK(info.batches == 40 && info.rolls >= 3);
		CHECK(plog_end_offset(log) == end + 80);
		for (k = 0; k < 40 && m.n < MAXB; k++, o += 2) {
			m.base[m.n] = o;
			m.last[m.n] = o + 1;
			m.size[m.n] = (uint32_t)(b.len / 40);
			m.n++;
		}
		buf_release(&b);
	}
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__read_limits(void)
{
	static struct model m;
	struct plog_slice sl;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int k;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "limits-0");
	small_config(&c);
	c.segment_bytes = 1 << 20;
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 20; k++)
		CHECK(append(log, &m, 3, 1000, 1, 100, -1, 0) == 0);
	/* max_bytes below one batch still returns that batch */
	CHECK(plog_read(log, 4, 0, 60, &sl, &e) == 0);
	CHECK(sl.length == m.size[1] && sl.base_offset == 3);
	CHECK(sl.position == m.pos[1]);
	CHECK(plog_read(log, 4, m.size[1] - 1, 60, &sl, &e) == 0);
	CHECK(sl.length == m.size[1]);
	/* exactly three batches, and one byte short of three */
	CHECK(plog_read(log, 3, m.size[1] + m.size[2] + m.size[3], 60, &sl,
	    &e) == 0);
	CHECK(sl.length == m.size[1] + m.size[2] + m.size[3]);
	CHECK(plog_read(log, 3, m.size[1] + m.size[2] + m.size[3] - 1, 60,
	    &sl, &e) == 0);
	CHECK(sl.length == m.size[1] + m.size[2]);
	/* max_offset: only batches that end below it */
	CHECK(plog_read(log, 0, 1 << 20, 9, &sl, &e) == 0);
	CHECK(sl.length == m.size[0] + m.size[1] + m.size[2]);
	CHECK(plog_read(log, 0, 1 << 20, 8, &sl, &e) == 0);
	CHECK(sl.length == m.size[0] + m.size[1]);
	CHECK(plog_read(log, 7, 1 << 20, 8, &sl, &e) == 0);
	CHECK(sl.length == 0);
	/* everything */
	CHECK(plog_read(log, 0, UINT64_MAX, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.position == 0 && sl.length == plog_size(log));
	/* the end, and beyond */
	CHECK(plog_read(log, 60, 100, 60, &sl, &e) == 0);
	CHECK(sl.length == 0 && sl.base_offset == 60);
	CHECK(plog_read(log, 61, 100, 61, &sl, &e) == PLOG_OUT_OF_RANGE);
	CHECK(e.code == EXIT_DATAERR && strstr(e.msg, "out of range") != NULL);
	CHECK(plog_read(log, -1, 100, 61, &sl, &e) == PLOG_OUT_OF_RANGE);
	/* never across a segment */
	CHECK(plog_roll(log, 0, &e) == 0);
	CHECK(plog_segment_count(log) == 2);
	CHECK(plog_roll(log, 0, &e) == 0);	/* empty active: no-op */
	CHECK(plog_segment_count(log) == 2);
	CHECK(append(log, &m, 3, 1000, 1, 100, -1, 0) == 0);
	CHECK(m.seg[20] == 60 && m.pos[20] == 0);
	CHECK(plog_read(log, 50, UINT64_MAX, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 48 && sl.length == m.size[16] + m.size[17] +
	    m.size[18] + m.size[19]);
	CHECK(plog_read(log, 61, UINT64_MAX, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 60 && sl.length == m.size[20]);
	CHECK(plog_close(log, &e) == 0);
}

/* The first model record at or after `from` with timestamp >= ts. */
static int
model_ts(const struct model *m, int64_t ts, int64_t from, int64_t *off,
    int64_t *found_ts)
{
	int k;
	int64_t i;

	for (k = 0; k < m->n; k++)
		for (i = 0; i <= m->last[k] - m->base[k]; i++) {
			int64_t t = m->ts0[k] + i * m->step[k];

			if (m->base[k] + i >= from && t >= ts) {
				*off = m->base[k] + i;
				*found_ts = t;
				return 1;
			}
		}
	return 0;
}

static void
check_timestamps(struct plog *log, const struct model *m, int64_t lo,
    int64_t hi, int64_t stride)
{
	int64_t ts, off = -1, got_ts = -1, want = -1, want_ts = -1;
	struct err e;
	int bad = 0;

	for (ts = lo; ts <= hi && bad < 5; ts += stride) {
		int r = plog_offset_for_timestamp(log, ts, &off, &got_ts, &e);
		int w = model_ts(m, ts, plog_start_offset(log), &want,
		    &want_ts);

		if (r != w || (r == 1 && (off != want || got_ts != want_ts))) {
			bad++;
			CHECKF(0, "ts %" PRId64 ": got %d %" PRId64 "@%" PRId64
			    ", want %d %" PRId64 "@%" PRId64, ts, r, off,
			    got_ts, w, want, want_ts);
		}
	}
}

static void
test_plog__timestamps(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t off, ts;
	int k;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "ts-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 200);
	check_timestamps(log, &m, 0, 1000 + 10 * plog_end_offset(log) + 20, 7);
	CHECK(plog_offset_for_timestamp(log, INT64_MAX, &off, &ts, &e) == 0);
	/* the largest timestamp of each segment is known */
	for (k = 0; k < m.n; k++) {
		int64_t want = m.ts0[k] + (m.last[k] - m.base[k]) * m.step[k];
		size_t i;

		if (k + 1 < m.n && m.seg[k + 1] == m.seg[k])
			continue;	/* not the segment's last batch */
		for (i = 0; i < plog_segment_count(log); i++) {
			CHECK(plog_segment_info(log, i, &si, &e) == 0);
			if (si.base_offset == m.seg[k])
				CHECKF(si.largest_timestamp == want, "segment %"
				    PRId64 ": %" PRId64 " want %" PRId64,
				    si.base_offset, si.largest_timestamp, want);
		}
	}
	CHECK(plog_close(log, &e) == 0);

	/* out-of-order timestamps inside and across batches */
	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "ts-1");
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 150; k++) {
		int64_t t = 100000 + (int64_t)(rnd() % 5000);

		CHECK(append(log, &m, 1 + (int)(rnd() % 4), t,
		    (int64_t)(rnd() % 3) - 1, 30, -1, 0) == 0);
	}
	check_timestamps(log, &m, 99990, 105010, 13);
	CHECK(plog_close(log, &e) == 0);
	/* the same answers after a clean reopen, and after recovery */
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	check_timestamps(log, &m, 99990, 105010, 13);
	plog_free(log);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	check_timestamps(log, &m, 99990, 105010, 13);
	/* records below the log start offset are not answers */
	CHECK(plog_delete_records_before(log, m.base[10] + 1, &e) == 0);
	check_timestamps(log, &m, 99990, 105010, 13);
	/* inside compressed batches too */
	for (k = 0; k < 20; k++) {
		struct plog_append_info info;
		struct buf b = BUF_INIT;
		enum compress_codec z = (enum compress_codec)(1 + k % 4);

		CHECK(lt_batch_codec(&b, z, 7, 200000 + 100 * k, 3, 40, k) == 0);
		CHECK(plog_append(log, b.data, b.len, PLOG_APPEND_ASSIGN_OFFSETS,
		    0, &info, &e) == 0);
		m.base[m.n] = info.first_offset;
		m.last[m.n] = info.last_offset;
		m.ts0[m.n] = 200000 + 100 * k;
		m.step[m.n] = 3;
		m.n++;
		buf_release(&b);
	}
	check_timestamps(log, &m, 199990, 202100, 5);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__truncate(void)
{
	static struct model m;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	int k, mid;
	size_t nsegs;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "trunc-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 200; k++)
		CHECK(append(log, &m, 4, 1000 + k, 0, 40, -1, 0) == 0);
	nsegs = plog_segment_count(log);

	/* inside a batch: the whole batch goes */
	CHECK(plog_truncate_to(log, m.base[190] + 2, &e) == 0);
	CHECK(plog_end_offset(log) == m.base[190]);
	CHECK(plog_recovery_point(log) <= m.base[190]);
	m.n = 190;
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	/* beyond the end: nothing */
	CHECK(plog_truncate_to(log, 100000, &e) == 0);
	CHECK(plog_end_offset(log) == m.base[190]);

	/* at a segment boundary: that segment is emptied, later ones go */
	for (mid = 100; m.seg[mid] == m.seg[mid - 1]; mid++)
		;
	CHECK(plog_truncate_to(log, m.base[mid], &e) == 0);
	CHECK(plog_end_offset(log) == m.base[mid]);
	CHECK(plog_segment_count(log) < nsegs);
	lt_seg_path(p, sizeof(p), dir, m.seg[mid], ".log");
	CHECK(lt_file_size(p) == 0);
	lt_seg_path(p, sizeof(p), dir, m.seg[m.n - 1], ".log");
	CHECK(!lt_exists(p));
	m.n = mid;
	check_offsets(log, &m, m.n);
	/* appends go on from there, in the emptied segment */
	CHECK(append(log, &m, 2, 5000, 1, 40, -1, 0) == 0);
	CHECK(m.base[mid] == m.last[mid - 1] + 1 && m.pos[mid] == 0);
	check_offsets(log, &m, m.n);

	/* inside an older segment, which becomes active again */
	CHECK(plog_truncate_to(log, m.base[30] + 1, &e) == 0);
	CHECK(plog_end_offset(log) == m.base[30]);
	m.n = 30;
	check_offsets(log, &m, m.n);
	for (k = 0; k < 40; k++)
		CHECK(append(log, &m, 3, 9000 + k, 0, 40, -1, 0) == 0);
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);

	/* at 0: an empty log at 0 */
	CHECK(plog_truncate_to(log, 0, &e) == 0);
	CHECK(plog_end_offset(log) == 0 && plog_start_offset(log) == 0);
	CHECK(plog_segment_count(log) == 1 && plog_size(log) == 0);
	CHECK(plog_truncate_to(log, -1, &e) == -1 && e.code == EXIT_USAGE);
	memset(&m, 0, sizeof(m));
	CHECK(append(log, &m, 2, 1, 1, 10, -1, 0) == 0);
	CHECK(m.base[0] == 0);
	CHECK(plog_close(log, &e) == 0);
}

/* plog_reset_at: everything goes, the log restarts anywhere. */
static void
test_plog__reset_at(void)
{
	static struct model m;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	int64_t first_seg;
	int k;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "reset-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 60; k++)
		CHECK(append(log, &m, 4, 1000 + k, 0, 40, -1, 0) == 0);
	first_seg = m.seg[0];
	CHECK(plog_segment_count(log) > 1);
	/* above the log end: a follower whose leader moved past it */
	CHECK(plog_reset_at(log, 100000, &e) == 0);
	CHECK(plog_start_offset(log) == 100000);
	CHECK(plog_end_offset(log) == 100000);
	CHECK(plog_recovery_point(log) == 100000);
	CHECK(plog_segment_count(log) == 1);
	lt_seg_path(p, sizeof(p), dir, first_seg, ".log");
	CHECK(!lt_exists(p));
	lt_seg_path(p, sizeof(p), dir, 100000, ".log");
	CHECK(lt_exists(p) && lt_file_size(p) == 0);
	/* a replica append goes on from there, and survives a reopen */
	m.n = 0;
	CHECK(append(log, &m, 3, 5000, 1, 40, 100000, 0) == 0);
	CHECK(plog_end_offset(log) == 100003);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	CHECK(plog_start_offset(log) == 100000);
	check_offsets(log, &m, m.n);
	/* below the log start: the same */
	CHECK(plog_reset_at(log, 7, &e) == 0);
	CHECK(plog_start_offset(log) == 7 && plog_end_offset(log) == 7);
	CHECK(plog_reset_at(log, -1, &e) == -1 && e.code == EXIT_USAGE);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__delete_records(void)
{
	static struct model m;
	struct plog_slice sl;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	size_t nsegs;
	int k;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "delrec-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 100; k++)
		CHECK(append(log, &m, 2, 1000, 1, 60, -1, 0) == 0);
	nsegs = plog_segment_count(log);
	/* inside the first segment: nothing deleted, reads below refused */
	CHECK(plog_delete_records_before(log, 3, &e) == 0);
	CHECK(plog_start_offset(log) == 3);
	CHECK(plog_segment_count(log) == nsegs);
	CHECK(plog_read(log, 2, 1, INT64_MAX, &sl, &e) == PLOG_OUT_OF_RANGE);
	CHECK(plog_read(log, 3, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 2);	/* the batch holding 3 */
	/* never backwards */
	CHECK(plog_delete_records_before(log, 1, &e) == 0);
	CHECK(plog_start_offset(log) == 3);
	/* past the third segment's base: two segments go */
	{
		int64_t third = 0;
		int s = 0;

		for (k = 1; k < m.n; k++)
			if (m.seg[k] != m.seg[k - 1] && ++s == 2)
				third = m.seg[k];
		CHECK(plog_delete_records_before(log, third + 1, &e) == 0);
		CHECK(plog_segment_count(log) == nsegs - 2);
		CHECK(plog_start_offset(log) == third + 1);
	}
	check_offsets(log, &m, m.n);
	/* up to the end: all but the active segment go */
	CHECK(plog_delete_records_before(log, plog_end_offset(log) + 1, &e) ==
	    PLOG_OUT_OF_RANGE);
	CHECK(plog_delete_records_before(log, plog_end_offset(log), &e) == 0);
	CHECK(plog_segment_count(log) == 1);
	CHECK(plog_start_offset(log) == plog_end_offset(log));
	CHECK(plog_read(log, plog_end_offset(log), 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.length == 0);
	CHECK(append(log, &m, 2, 1000, 1, 60, -1, 0) == 0);
	CHECK(plog_read(log, m.base[m.n - 1], 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.length == m.size[m.n - 1]);
	CHECK(plog_close(log, &e) == 0);
	/* a reopen takes the log start offset from the caller */
	CHECK(plog_open(dir, &c, 0, m.base[m.n - 1] + 1, PLOG_OPEN_CLEAN, NULL,
	    &log, &e) == 0);
	CHECK(plog_start_offset(log) == m.base[m.n - 1] + 1);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__retention(void)
{
	static struct model m;
	struct plog_retention_result res;
	struct plog_segment_info si;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t ts2, end;
	size_t nsegs;
	uint64_t s0, s1;
	int k;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "retain-0");
	small_config(&c);
	c.retention_ms = 1000;
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 120; k++)
		CHECK(append(log, &m, 2, 100000 + 100 * k, 1, 60, -1, 0) == 0);
	nsegs = plog_segment_count(log);
	CHECK(nsegs > 6);
	CHECK(plog_segment_info(log, 2, &si, &e) == 0);
	ts2 = si.largest_timestamp;
	CHECK(ts2 > 100000);
	/* nothing old enough */
	CHECK(plog_retention(log, ts2 - 5000, INT64_MAX, &res, &e) == 0);
	CHECK(res.deleted_by_time == 0 && plog_segment_count(log) == nsegs);
	/* the high watermark holds deletions back */
	CHECK(plog_segment_info(log, 1, &si, &e) == 0);
	CHECK(plog_retention(log, ts2 + 1001, si.base_offset, &res, &e) == 0);
	CHECK(res.deleted_by_time == 1 && plog_segment_count(log) == nsegs - 1);
	CHECK(res.log_start_offset == si.base_offset);
	/* segments 1 and 2 are more than 1000 ms older than now */
	CHECK(plog_retention(log, ts2 + 1001, INT64_MAX, &res, &e) == 0);
	CHECK(res.deleted_by_time == 2 && plog_segment_count(log) == nsegs - 3);
	CHECK(res.bytes_deleted > 0);
	CHECK(plog_segment_info(log, 0, &si, &e) == 0);
	CHECK(plog_start_offset(log) == si.base_offset);
	check_offsets(log, &m, m.n);
	/* everything expired: the active segment is rolled, then deleted */
	end = plog_end_offset(log);
	CHECK(plog_retention(log, INT64_MAX / 2, INT64_MAX, &res, &e) == 0);
	CHECK(plog_segment_count(log) == 1 && plog_size(log) == 0);
	CHECK(plog_end_offset(log) == end && plog_start_offset(log) == end);
	CHECK(res.deleted_by_time == (int)nsegs - 3);
	CHECK(plog_recovery_point(log) == end);
	/* an empty active segment is never rolled for retention */
	CHECK(plog_retention(log, INT64_MAX / 2, INT64_MAX, &res, &e) == 0);
	CHECK(res.deleted_by_time == 0 && plog_segment_count(log) == 1);
	CHECK(append(log, &m, 2, 1, 1, 60, -1, 0) == 0);
	CHECK(m.base[m.n - 1] == end);
	CHECK(plog_close(log, &e) == 0);

	/* by size */
	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "retain-1");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 120; k++)
		CHECK(append(log, &m, 2, 1000, 1, 60, -1, 0) == 0);
	nsegs = plog_segment_count(log);
	CHECK(plog_segment_info(log, 0, &si, &e) == 0);
	s0 = si.size;
	CHECK(plog_segment_info(log, 1, &si, &e) == 0);
	s1 = si.size;
	c.retention_bytes = (int64_t)(plog_size(log) - s0 - s1);
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(plog_retention(log, 0, INT64_MAX, &res, &e) == 0);
	CHECK(res.deleted_by_size == 2 && res.bytes_deleted == s0 + s1);
	CHECK(plog_segment_count(log) == nsegs - 2);
	CHECK(plog_retention(log, 0, INT64_MAX, &res, &e) == 0);
	CHECK(res.deleted_by_size == 0);
	c.retention_bytes = 0;
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(plog_retention(log, 0, INT64_MAX, &res, &e) == 0);
	CHECK(plog_segment_count(log) == 1 && plog_size(log) > 0);
	CHECK(plog_segment_info(log, 0, &si, &e) == 0);
	CHECK(plog_start_offset(log) == si.base_offset);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__recover_cut(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], path[256];
	int trial;

	small_config(&c);
	for (trial = 0; trial < 40; trial++) {
		int64_t rp, want_end;
		long long size, cut;
		int k, keep;
		uint64_t boundary = 0;

		memset(&m, 0, sizeof(m));
		mkdir_in(dir, sizeof(dir), "cut-0");
		CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
		fill(log, &m, 60 + (int)(rnd() % 40));
		rp = plog_recovery_point(log);
		CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
		    &e) == 0);
		snprintf(path, sizeof(path), "%s", si.path);
		size = (long long)si.size;
		/* the cut points include both ends and every kind of middle */
		cut = trial == 0 ? 0 : trial == 1 ? size :
		    (long long)(rnd() % (uint64_t)(size + 1));
		CHECK(truncate(path, cut) == 0);
		plog_free(log);	/* a crash: nothing trimmed or written */

		/* acknowledged batches wholly before the cut survive */
		keep = 0;
		for (k = 0; k < m.n; k++) {
			if (m.seg[k] == si.base_offset &&
			    (long long)(m.pos[k] + m.size[k]) > cut)
				break;
			keep = k + 1;
			if (m.seg[k] == si.base_offset)
				boundary = m.pos[k] + m.size[k];
		}
		want_end = keep > 0 ? m.last[keep - 1] + 1 : 0;
		CHECK(plog_open(dir, &c, rp, 0, 0, &rep, &log, &e) == 0);
		CHECKF(plog_end_offset(log) == want_end, "trial %d cut %lld: "
		    "end %" PRId64 " want %" PRId64, trial, cut,
		    plog_end_offset(log), want_end);
		CHECK(rep.segments_recovered == 1);
		if ((uint64_t)cut == boundary) {
			CHECK(rep.ntruncations == 0);
		} else {
			CHECK(rep.ntruncations == 1);
			CHECK(strcmp(rep.truncations[0].path, path) == 0);
			CHECK(rep.truncations[0].position == boundary);
			CHECK(rep.truncations[0].bytes_cut ==
			    (uint64_t)cut - boundary);
		}
		check_offsets(log, &m, keep);
		check_scan(log, &m, keep);
		/* appends continue right after the last surviving batch */
		m.n = keep;
		CHECK(append(log, &m, 3, 7, 1, 10, -1, 0) == 0);
		CHECK(m.base[keep] == want_end);
		check_offsets(log, &m, m.n);
		CHECK(plog_close(log, &e) == 0);
	}
}

static void
test_plog__recover_flip(void)
{
	static struct model m;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	size_t nsegs, segi = 0;
	int k, victim = -1;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "flip-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 200);
	nsegs = plog_segment_count(log);
	CHECK(plog_close(log, &e) == 0);
	/* the middle batch of the middle segment, not at position 0 */
	for (k = 1; k + 2 < m.n; k++) {
		if (m.seg[k] != m.seg[k - 1])
			segi++;
		if (segi == nsegs / 2 && m.pos[k] > 0 && victim < 0 &&
		    m.seg[k + 1] == m.seg[k] && m.seg[k + 2] == m.seg[k])
			victim = k + 1;
	}
	CHECK(victim > 0);
	lt_seg_path(p, sizeof(p), dir, m.seg[victim], ".log");
	CHECK(lt_flip_byte(p, (long long)m.pos[victim] +
	    REC_BATCH_HEADER_SIZE + 3) == 0);
	/* no checkpoint: everything is recovered */
	CHECK(plog_open(dir, &c, 0, 0, 0, &rep, &log, &e) == 0);
	CHECK(plog_end_offset(log) == m.base[victim]);
	CHECK(rep.segments_recovered == (int)(nsegs / 2 + 1));
	CHECK(rep.ntruncations == 1);
	CHECK(strcmp(rep.truncations[0].path, p) == 0);
	CHECK(rep.truncations[0].position == m.pos[victim]);
	CHECKF(strstr(rep.truncations[0].reason, "crc") != NULL, "%s",
	    rep.truncations[0].reason);
	CHECK(rep.segments_deleted == (int)(nsegs - nsegs / 2 - 1));
	CHECK(plog_segment_count(log) == nsegs / 2 + 1);
	check_offsets(log, &m, victim);
	check_scan(log, &m, victim);
	m.n = victim;
	CHECK(append(log, &m, 1, 5, 1, 10, -1, 0) == 0);
	CHECK(m.base[victim] == m.last[victim - 1] + 1);
	CHECK(plog_close(log, &e) == 0);

	/* a batch whose offsets go backwards is corrupt as well */
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
	{
		int fd = open(p, O_RDWR);
		uint8_t b8[8];

		be64_store(b8, (uint64_t)m.base[victim - 1]);
		CHECK(pwrite(fd, b8, 8, (off_t)m.pos[victim]) == 8);
		close(fd);
	}
	CHECK(plog_open(dir, &c, m.seg[victim], 0, 0, &rep, &log, &e) == 0);
	CHECK(plog_end_offset(log) == m.base[victim]);
	CHECK(rep.ntruncations == 1 &&
	    strstr(rep.truncations[0].reason, "below") != NULL);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__recover_indexes(void)
{
	static struct model m;
	static const char *const exts[] = { ".index", ".timeindex" };
	struct plog_segment_info si;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	uint8_t *orig[64][2];
	size_t olen[64][2], len, nsegs, i, j;
	int64_t bases[64];
	uint8_t junk[64];

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "idx-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 150);
	nsegs = plog_segment_count(log);
	CHECK(nsegs >= 6 && nsegs <= 64);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	for (i = 0; i < nsegs; i++) {
		CHECK(plog_segment_info(log, i, &si, &e) == 0);
		bases[i] = si.base_offset;
	}
	CHECK(plog_close(log, &e) == 0);
	/* as closed: the active segment's indexes are trimmed too */
	for (i = 0; i < nsegs; i++)
		for (j = 0; j < 2; j++) {
			lt_seg_path(p, sizeof(p), dir, bases[i], exts[j]);
			orig[i][j] = lt_read_file(p, &olen[i][j]);
		}
	CHECK(olen[1][0] > 8 && olen[1][1] > 12);

	/* lose one, garble three, lose both of the active segment */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd();
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	for (i = 0; i < nsegs; i++) {
		CHECK(plog_segment_info(log, i, &si, &e) == 0);
		lt_seg_path(p, sizeof(p), dir, si.base_offset, ".index");
		if (i == 1)
			unlink(p);
		if (i == 2)
			CHECK(lt_write_file(p, junk, 64) == 0);
		if (i == 3)
			CHECK(lt_write_file(p, junk, 13) == 0);
		if (i == nsegs - 1)
			unlink(p);
		lt_seg_path(p, sizeof(p), dir, si.base_offset, ".timeindex");
		if (i == 4)
			CHECK(lt_write_file(p, junk, 36) == 0);
		if (i == nsegs - 1)
			unlink(p);
	}
	plog_free(log);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, &rep, &log, &e) == 0);
	CHECKF(rep.indexes_rebuilt == 5, "%d rebuilt", rep.indexes_rebuilt);
	CHECK(rep.ntruncations == 0);
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	check_timestamps(log, &m, 0, 1000 + 10 * plog_end_offset(log), 11);
	CHECK(plog_close(log, &e) == 0);
	/* rebuilt indexes are byte for byte the ones appends wrote */
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	for (i = 0; i < nsegs; i++) {
		CHECK(plog_segment_info(log, i, &si, &e) == 0);
		bases[i] = si.base_offset;
	}
	CHECK(plog_close(log, &e) == 0);
	for (i = 0; i < nsegs; i++)
		for (j = 0; j < 2; j++) {
			uint8_t *now;

			lt_seg_path(p, sizeof(p), dir, bases[i], exts[j]);
			now = lt_read_file(p, &len);
			CHECKF(now != NULL && len == olen[i][j] &&
			    memcmp(now, orig[i][j], len) == 0,
			    "segment %zu %s differs", i, exts[j]);

			free(now);
			free(orig[i][j]);
		}
}

static void
test_plog__recover_untrimmed(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	int64_t rp;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "untrim-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 100);
	rp = plog_recovery_point(log);
	CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
	    &e) == 0);
	plog_free(log);
	lt_seg_path(p, sizeof(p), dir, si.base_offset, ".index");
	CHECK(lt_file_size(p) == 1 << 16);
	/* recovery from the checkpointed point */
	CHECK(plog_open(dir, &c, rp, 0, 0, &rep, &log, &e) == 0);
	CHECK(rep.segments_recovered == 1 && rep.ntruncations == 0);
	CHECK(plog_end_offset(log) == m.last[m.n - 1] + 1);
	check_offsets(log, &m, m.n);
	fill(log, &m, 20);
	CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
	    &e) == 0);
	plog_free(log);
	/* a marker that lies: the active index fails its check, is rebuilt */
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, &rep, &log, &e) == 0);
	CHECK(rep.segments_recovered + rep.indexes_rebuilt >= 1);
	CHECK(plog_end_offset(log) == m.last[m.n - 1] + 1);
	check_offsets(log, &m, m.n);
	check_scan(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__clean_reopen(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t end;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "clean-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 150);
	end = plog_end_offset(log);
	CHECK(plog_flush(log, &e) == 0);
	CHECK(plog_recovery_point(log) == end);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, end, 0, PLOG_OPEN_CLEAN, &rep, &log, &e) == 0);
	CHECK(rep.segments_recovered == 0 && rep.indexes_rebuilt == 0);
	CHECK(rep.ntruncations == 0 && rep.files_removed == 0);
	CHECK(plog_end_offset(log) == end && plog_recovery_point(log) == end);
	CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
	    &e) == 0);
	CHECK(si.largest_timestamp == 1000 + 10 * m.base[m.n - 1] +
	    10 * (m.last[m.n - 1] - m.base[m.n - 1]));
	check_offsets(log, &m, m.n);
	/* appending after a clean reopen keeps the index rule */
	fill(log, &m, 30);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, 0, &rep, &log, &e) == 0);
	CHECK(rep.ntruncations == 0);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__replica(void)
{
	static struct model m;
	struct plog_slice sl;
	struct plog_config c;
	struct plog *log;
	struct buf b = BUF_INIT;
	struct err e;
	char dir[128];
	int64_t far;
	size_t first;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "replica-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(append(log, &m, 3, 100, 1, 10, 0, 0) == 0);
	CHECK(append(log, &m, 2, 100, 1, 10, 10, 0) == 0);	/* gap 3..9 */
	CHECK(plog_end_offset(log) == 12);
	CHECK(append(log, &m, 1, 100, 1, 10, 11, 0) == -1);
	CHECK(append(log, &m, 1, 100, 1, 10, 12, 0) == 0);
	/* a batch going backwards inside one call: nothing is written */
	CHECK(lt_batch(&b, 1, 100, 1, 10, 0) == 0);
	first = b.len;
	CHECK(lt_batch(&b, 1, 100, 1, 10, 0) == 0);
	lt_set_base(b.data, 20);
	lt_set_base(b.data + first, 19);
	CHECK(plog_append(log, b.data, b.len, 0, 0, NULL, &e) == -1);
	CHECK(e.code == EXIT_DATAERR && strstr(e.msg, "previous") != NULL);
	CHECK(plog_end_offset(log) == 13);
	lt_set_base(b.data + first, 25);
	CHECK(plog_append(log, b.data, b.len, 0, 0, NULL, &e) == 0);
	CHECK(plog_end_offset(log) == 26);
	buf_release(&b);
	/* batches that recovery would cut are refused */
	c.max_batch_bytes = 100;
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(append(log, &m, 3, 100, 1, 40, 26, 0) == -1);
	CHECK(plog_end_offset(log) == 26);
	c.max_batch_bytes = 1 << 20;
	CHECK(plog_set_config(log, &c, &e) == 0);
	/* reads in a gap return the next batch */
	CHECK(plog_read(log, 5, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 10 && sl.length == m.size[1]);
	CHECK(plog_read(log, 22, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 25);
	/* offsets too far for the segment: a new segment at the batch */
	far = 26 + (int64_t)INT32_MAX + 10;
	CHECK(append(log, &m, 2, 100, 1, 10, far, 0) == 0);
	CHECK(plog_segment_count(log) == 2);
	CHECK(m.seg[m.n - 1] == far && m.pos[m.n - 1] == 0);
	CHECK(plog_end_offset(log) == far + 2);
	CHECK(plog_read(log, 1000, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == far);
	CHECK(plog_read(log, 1000, 1, far, &sl, &e) == 0);
	CHECK(sl.length == 0);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(plog_end_offset(log) == far + 2);
	CHECK(plog_read(log, 5, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(sl.base_offset == 10);
	/* assigned offsets continue at the end */
	CHECK(append(log, &m, 1, 100, 1, 10, -1, 0) == 0);
	CHECK(m.base[m.n - 1] == far + 2);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__enospc(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct rlimit old, lim;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t end;
	int k, r;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "enospc-0");
	plog_config_init(&c);
	c.index_max_bytes = 4096;
	c.index_interval_bytes = 100;
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 20; k++)
		CHECK(append(log, &m, 5, 1000, 1, 60, -1, 0) == 0);
	CHECK(plog_segment_info(log, 0, &si, &e) == 0);
	CHECK(si.size > 4096);
	end = plog_end_offset(log);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = si.size + 300;	/* room for part of a batch */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	r = append(log, &m, 10, 1000, 1, 100, -1, 0);
	lim.rlim_cur = si.size;		/* room for nothing */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK(append(log, &m, 10, 1000, 1, 100, -1, 0) == -1);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(r == -1);
	/* no half batch is left for a read to serve */
	CHECK(lt_file_size(si.path) == (long long)si.size);
	CHECK(plog_end_offset(log) == end);
	{
		struct plog_append_info info;
		struct buf b = BUF_INIT;

		CHECK(lt_batch(&b, 10, 1000, 1, 100, 1) == 0);
		CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
		signal(SIGXFSZ, SIG_IGN);
		CHECK(plog_append(log, b.data, b.len,
		    PLOG_APPEND_ASSIGN_OFFSETS,
		    0, &info, &e) == -1);
		CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
		signal(SIGXFSZ, SIG_DFL);
		CHECK(e.code == EXIT_IOERR && strstr(e.msg, si.path) != NULL);
		buf_release(&b);
	}
	/* and the log goes on */
	CHECK(append(log, &m, 10, 1000, 1, 100, -1, 0) == 0);
	CHECK(m.base[m.n - 1] == end);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__leftovers(void)
{
	static const char *const junk[] = {
		"00000000000000000000.log.deleted",
		    "00000000000000000000.index.tmp",
		"x.swap", "y.cleaned", "00000000000000099999.index",
		"00000000000000099999.timeindex",
	};
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	size_t i;

	mkdir_in(dir, sizeof(dir), "leftover-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(plog_close(log, &e) == 0);
	for (i = 0; i < ARRAY_SIZE(junk); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, junk[i]);
		CHECK(lt_write_file(p, "junk", 4) == 0);
	}
	snprintf(p, sizeof(p), "%s/leader-epoch-checkpoint", dir);
	CHECK(lt_write_file(p, "0\n0\n", 4) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, &rep, &log, &e) == 0);
	CHECK(rep.files_removed == (int)ARRAY_SIZE(junk));
	for (i = 0; i < ARRAY_SIZE(junk); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, junk[i]);
		CHECK(!lt_exists(p));
	}
	snprintf(p, sizeof(p), "%s/leader-epoch-checkpoint", dir);
	CHECK(lt_exists(p));
	CHECK(plog_close(log, &e) == 0);

	/* an empty directory starts at the log start offset */
	mkdir_in(dir, sizeof(dir), "leftover-1");
	CHECK(plog_open(dir, &c, 0, 500, 0, NULL, &log, &e) == 0);
	CHECK(plog_end_offset(log) == 500 && plog_start_offset(log) == 500);
	lt_seg_path(p, sizeof(p), dir, 500, ".log");
	CHECK(lt_exists(p));
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__roll_by_time(void)
{
	static struct model m;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "rolltime-0");
	plog_config_init(&c);
	c.segment_ms = 1000;
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(append(log, &m, 2, 10000, 1, 10, -1, 0) == 0);
	/* max timestamps 10001, then 1000 and 1001 later */
	CHECK(append(log, &m, 2, 11000, 1, 10, -1, 0) == 0);
	CHECK(plog_segment_count(log) == 1);
	CHECK(append(log, &m, 2, 11001, 1, 10, -1, 0) == 0);
	CHECK(plog_segment_count(log) == 2);
	CHECK(m.seg[2] == m.base[2] && m.pos[2] == 0);
	/* without timestamps the wall clock since creation counts */
	CHECK(plog_roll(log, 50000, &e) == 0);
	CHECK(append(log, &m, 1, -1, 0, 10, -1, 50100) == 0);
	CHECK(plog_segment_count(log) == 3);
	CHECK(append(log, &m, 1, -1, 0, 10, -1, 51000) == 0);
	CHECK(plog_segment_count(log) == 3);
	CHECK(append(log, &m, 1, -1, 0, 10, -1, 51001) == 0);
	CHECK(plog_segment_count(log) == 4);
	check_offsets(log, &m, m.n);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__flush(void)
{
	static struct model m;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "flush-0");
	plog_config_init(&c);
	c.flush_messages = 10;
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(plog_recovery_point(log) == 0);
	CHECK(append(log, &m, 3, 1, 1, 10, -1, 0) == 0);
	CHECK(append(log, &m, 3, 1, 1, 10, -1, 0) == 0);
	CHECK(append(log, &m, 3, 1, 1, 10, -1, 0) == 0);
	CHECK(plog_recovery_point(log) == 0);
	CHECK(append(log, &m, 3, 1, 1, 10, -1, 0) == 0);
	CHECK(plog_recovery_point(log) == 12);
	c.flush_messages = PLOG_NEVER;
	c.flush_ms = 1000;
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(plog_maybe_flush(log, 0, &e) == 0);	/* not yet */
	CHECK(append(log, &m, 3, 1, 1, 10, -1, 0) == 0);
	CHECK(plog_recovery_point(log) == 12);
	CHECK(plog_maybe_flush(log, clock_wall_ms() + 5000, &e) == 0);
	CHECK(plog_recovery_point(log) == 15);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_plog__readonly(void)
{
	static struct model m;
	struct plog_segment_info si;
	struct plog_slice sl;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256], lp[256];
	long long isize;
	int k, keep = 0;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "ro-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	fill(log, &m, 80);
	CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
	    &e) == 0);
	snprintf(lp, sizeof(lp), "%s", si.path);
	plog_free(log);
	CHECK(si.size > 100);
	CHECK(truncate(lp, (off_t)si.size - 5) == 0);
	lt_seg_path(p, sizeof(p), dir, si.base_offset, ".index");
	isize = lt_file_size(p);
	for (k = 0; k < m.n; k++)
		if (m.seg[k] != si.base_offset ||
		    m.pos[k] + m.size[k] <= si.size - 5)
			keep = k + 1;
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_READONLY, NULL, &log,
	    &e) == 0);
	CHECK(plog_end_offset(log) == m.last[keep - 1] + 1);
	check_offsets(log, &m, keep);
	{
		uint8_t x[1] = { 0 };

		CHECK(plog_append(log, x, 1, 0, 0, NULL, &e) == -1);
	}
	CHECK(e.code == EXIT_SOFTWARE);
	CHECK(plog_truncate_to(log, 0, &e) == -1);
	CHECK(plog_read(log, 0, 1, INT64_MAX, &sl, &e) == 0);
	CHECK(plog_close(log, &e) == 0);
	/* nothing was changed on disk */
	CHECK(lt_file_size(lp) == (long long)si.size - 5);
	CHECK(lt_file_size(p) == isize);

	mkdir_in(dir, sizeof(dir), "ro-missing");
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_READONLY, NULL, &log,
	    &e) == -1);
	CHECK(e.code == EXIT_NOINPUT);
	CHECK(!lt_exists(dir));
}

/* One batch of n records from producer `pid` (epoch, base sequence). */
static int
producer_batch(struct buf *out, int n, int64_t pid, int16_t epoch,
    int32_t seq, int64_t ts)
{
	struct rec_builder b;
	struct err e;
	int i, r = 0;

	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	b.producer_id = pid;
	b.producer_epoch = epoch;
	b.base_sequence = seq;
	for (i = 0; i < n && r == 0; i++) {
		struct rec_bytes k = { (const uint8_t *)"key", 3 };
		struct rec_bytes v = { (const uint8_t *)"value-value", 11 };

		r = rec_builder_add(&b, ts + i, k, v, NULL, 0);
	}
	if (r == 0)
		r = rec_builder_finish(&b, out, &e);
	rec_builder_release(&b);
	return r;
}

struct scan_seen {
	int n;
	int stop_after;		/* return 7 after this many, 0: never */
	struct plog_batch_header h[MAXB];
};

static int
scan_collect(void *arg, const struct plog_batch_header *h)
{
	struct scan_seen *s = arg;

	if (s->n < MAXB)
		s->h[s->n] = *h;
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after ? 7 : 0;
}

/* How many file descriptors this process has open. */
static int
open_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void
test_plog__scan_batches(void)
{
	static struct scan_seen seen;
	static struct model m;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], p[256];
	int k, bad = 0, fds;

	memset(&m, 0, sizeof(m));
	mkdir_in(dir, sizeof(dir), "scan-0");
	small_config(&c);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	/* an empty log reports nothing */
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == 0);
	CHECK(seen.n == 0);
	for (k = 0; k < 150; k++) {
		struct plog_append_info info;
		struct buf b = BUF_INIT;
		int n = 1 + k % 4;

		CHECK(producer_batch(&b, n, k % 5 == 4 ? -1 : k % 3,
		    (int16_t)(k / 50), k * 10, 1000 + k) == 0);
		CHECK(plog_append(log, b.data, b.len,
		    PLOG_APPEND_ASSIGN_OFFSETS, 0, &info, &e) == 0);
		m.base[m.n] = info.first_offset;
		m.last[m.n] = info.last_offset;
		m.size[m.n] = (uint32_t)b.len;
		m.seg[m.n] = info.segment_base;
		m.pos[m.n] = info.position;
		m.n++;
		buf_release(&b);
	}
	CHECKF(plog_segment_count(log) > 5, "%zu segments",
	    plog_segment_count(log));
	/* everything, in order, with the producer fields */
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == 0);
	CHECKF(seen.n == m.n, "saw %d of %d", seen.n, m.n);
	for (k = 0; k < m.n && k < seen.n && bad < 5; k++) {
		const struct plog_batch_header *h = &seen.h[k];

		if (h->base_offset != m.base[k] ||
		    h->last_offset != m.last[k] ||
		    h->segment_base != m.seg[k] || h->position != m.pos[k] ||
		    h->size != m.size[k] ||
		    h->producer_id != (k % 5 == 4 ? -1 : k % 3) ||
		    h->producer_epoch != k / 50 || h->base_sequence != k * 10 ||
		    h->max_timestamp != 1000 + k + k % 4 ||
		    h->attributes != 0) {
			bad++;
			CHECKF(0, "batch %d: base %" PRId64 " seg %" PRId64
			    " pos %" PRIu64 " pid %" PRId64 " seq %" PRId32, k,
			    h->base_offset, h->segment_base, h->position,
			    h->producer_id, h->base_sequence);
		}
	}
	/* from inside a batch: the batch holding it first */
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, m.last[70], scan_collect, &seen,
	    &e) == 0);
	CHECK(seen.n == m.n - 70 && seen.h[0].base_offset == m.base[70]);
	/* a scan after a clean reopen leaves no segment fd open */
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	fds = open_fds();
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == 0);
	CHECK(seen.n == m.n);
	CHECKF(open_fds() == fds, "%d fds, %d before", open_fds(), fds);
	/* the callback stops the scan and its value comes back */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 10;
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == 7);
	CHECK(seen.n == 10);
	/* nothing below the log start offset */
	CHECK(m.last[101] > m.base[101]);
	CHECK(plog_delete_records_before(log, m.base[101] + 1, &e) == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == 0);
	CHECK(seen.n == m.n - 101 && seen.h[0].base_offset == m.base[101]);
	/* past the end: nothing */
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, plog_end_offset(log), scan_collect,
	    &seen, &e) == 0);
	CHECK(seen.n == 0);
	/* a header that no longer parses is an error naming the segment */
	lt_seg_path(p, sizeof(p), dir, m.seg[m.n - 1], ".log");
	CHECK(lt_flip_byte(p, (long long)m.pos[m.n - 1] + REC_OFF_MAGIC) == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(plog_scan_batches(log, 0, scan_collect, &seen, &e) == -1);
	CHECK(e.code == EXIT_DATAERR && strstr(e.msg, p) != NULL);
	CHECK(seen.n == m.n - 102);
	plog_free(log);
}

int
main(void)
{
	if (lt_tmpdir(root, sizeof(root)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_plog__config);
	TEST(test_plog__append_read);
	TEST(test_plog__read_limits);
	TEST(test_plog__timestamps);
	TEST(test_plog__truncate);
	TEST(test_plog__reset_at);
	TEST(test_plog__delete_records);
	TEST(test_plog__retention);
	TEST(test_plog__recover_cut);
	TEST(test_plog__recover_flip);
	TEST(test_plog__recover_indexes);
	TEST(test_plog__recover_untrimmed);
	TEST(test_plog__clean_reopen);
	TEST(test_plog__replica);
	TEST(test_plog__enospc);
	TEST(test_plog__leftovers);
	TEST(test_plog__roll_by_time);
	TEST(test_plog__flush);
	TEST(test_plog__readonly);
	TEST(test_plog__scan_batches);
	if (getenv("KLOG_UNIT_KEEP") == NULL)
		lt_rmrf(root);
	else
		printf("# kept %s\n", root);
	TEST_DONE();
}
