/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for segment.c: file names, batch header checks, the index
 * entry rule, seg_fit limits, reads checked against a plain header walk
 * (also with a lying index entry), rebuilds that reproduce the indexes,
 * and deletion.
 */
#include <string.h>

#include "segment.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char dir[64];

static struct seg_params
params(uint64_t interval, size_t index_bytes)
{
	struct seg_params p;

	p.index_interval_bytes = interval;
	p.index_max_bytes = index_bytes;
	p.max_batch_bytes = 1 << 20;
	return p;
}

/* Append `n` batches of 1-4 records at consecutive offsets; sizes out. */
static int
fill(struct seg *s, int n, uint32_t *sizes)
{
	struct buf b = BUF_INIT;
	struct err e;
	int i, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		buf_clear(&b);
		r = lt_batch(&b, 1 + i % 4, 1000 + 10 * i, 1,
		    30 + (size_t)(i * 7) % 90, i);
		if (r < 0)
			break;
		lt_set_base(b.data, s->next_offset);
		sizes[i] = (uint32_t)b.len;
		if (seg_fit(s, b.data, b.len, 1 << 30) != b.len)
			r = -1;
		else
			r = seg_append(s, b.data, b.len, &e);
	}
	buf_release(&b);
	return r;
}

static void
test_segment__names(void)
{
	struct err e;
	const char *ext;
	char buf[64];
	int64_t base;

	CHECK(seg_file_path(buf, sizeof(buf), "/d", 42, ".log", &e) == 0);
	CHECK(strcmp(buf, "/d/00000000000000000042.log") == 0);
	CHECK(seg_file_path(buf, 10, "/d", 42, ".log", &e) == -1);
	CHECK(seg_parse_file_name("00000000000000000042.log", &base,
	    &ext) == 1);
	CHECK(base == 42 && strcmp(ext, ".log") == 0);
	CHECK(seg_parse_file_name("09223372036854775807.timeindex", &base,
	    &ext) == 1 && base == INT64_MAX);
	CHECK(seg_parse_file_name("09223372036854775808.log", &base,
	    &ext) == 0);
	CHECK(seg_parse_file_name("0000000000000000042.log", &base, &ext) == 0);
	CHECK(seg_parse_file_name("00000000000000000042.log.deleted", &base,
	    &ext) == 0);
	CHECK(seg_parse_file_name("00000000000000000042.snapshot", &base,
	    &ext) == 0);
	CHECK(seg_parse_file_name("0000000000000000004x.log", &base,
	    &ext) == 0);
}

static void
test_segment__batch_header(void)
{
	struct seg_batch_info bi;
	struct buf b = BUF_INIT;
	uint8_t h[REC_BATCH_HEADER_SIZE];
	struct err e;

	CHECK(lt_batch(&b, 3, 500, 2, 10, 0) == 0);
	lt_set_base(b.data, 77);
	CHECK(seg_batch_header(b.data, b.len, 9, &bi, &e) == 0);
	CHECK(bi.base_offset == 77 && bi.last_offset == 79);
	CHECK(bi.max_timestamp == 504 && bi.position == 9 && bi.size == b.len);
	CHECK(seg_batch_header(b.data, b.len - 1, 9, &bi, &e) == -1);
	CHECK(strstr(e.msg, "truncated batch at position 9") != NULL);
	CHECK(seg_batch_header(b.data, 60, 0, &bi, &e) == -1);
	memcpy(h, b.data, sizeof(h));
	h[REC_OFF_MAGIC] = 1;
	CHECK(seg_batch_header(h, b.len, 0, &bi, &e) == -1);
	CHECK(strstr(e.msg, "magic") != NULL);
	memcpy(h, b.data, sizeof(h));
	be32_store(h + REC_OFF_LENGTH, 48);
	CHECK(seg_batch_header(h, b.len, 0, &bi, &e) == -1);
	memcpy(h, b.data, sizeof(h));
	be64_store(h, (uint64_t)-5);
	CHECK(seg_batch_header(h, b.len, 0, &bi, &e) == -1);
	memcpy(h, b.data, sizeof(h));
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)-1);
	CHECK(seg_batch_header(h, b.len, 0, &bi, &e) == -1);
	buf_release(&b);
}

static void
test_segment__index_rule(void)
{
	struct seg_params p = params(256, 1 << 16);
	struct idx_offset_entry oe;
	struct idx_time_entry te;
	uint32_t sizes[200];
	struct seg *s;
	struct err e;
	uint64_t since = 0, pos = 0;
	size_t n = 0, i;
	int k;

	CHECK(seg_create(dir, 1000, &p, 0, &s, &e) == 0);
	CHECK(seg_create(dir, 1000, &p, 0, &(struct seg *){ NULL }, &e) == -1);
	CHECK(e.code == EXIT_CANTCREAT);
	CHECK(fill(s, 200, sizes) == 0);
	CHECK(s->next_offset > 1000 && s->max_timestamp > 1000);
	/* the expected entries: before a batch, if > interval since the last */
	for (k = 0, i = 0; k < 200; k++) {
		if (since > 256) {
			CHECK(i < s->oidx.entries);
			idx_offset_entry_at(&s->oidx, i, &oe);
			CHECKF(oe.position == pos, "entry %zu at %" PRIu32
			    " want %" PRIu64, i, oe.position, pos);
			since = 0;
			i++;
			n++;
		}
		since += sizes[k];
		pos += sizes[k];
	}
	CHECK(s->oidx.entries == n && s->tidx.entries == n);
	CHECK(s->size == pos && s->bytes_since_index == since);
	/* timestamps grow with offsets here, so each time entry matches */
	for (i = 0; i < n; i++) {
		idx_offset_entry_at(&s->oidx, i, &oe);
		idx_time_entry_at(&s->tidx, i, &te);
		CHECK(te.offset == oe.offset);
	}
	/* the roll adds the final time entry (if it adds news) and trims */
	CHECK(idx_last_time_entry(&s->tidx, &te, &e) == 1);
	i = te.timestamp < s->max_timestamp ? 1 : 0;
	CHECK(seg_make_inactive(s, &e) == 0);
	CHECK(s->tidx.entries == n + i);
	CHECK(idx_last_time_entry(&s->tidx, &te, &e) == 1);
	CHECK(te.timestamp == s->max_timestamp &&
	    te.offset == s->next_offset - 1);
	CHECK(seg_largest_timestamp(s, false) == s->max_timestamp);
	seg_free(s);
}

static void
test_segment__fit(void)
{
	struct seg_params p = params(0, 36);	/* 4 offset, 3 time entries */
	struct buf b = BUF_INIT;
	size_t one, fit;
	struct seg *s;
	struct err e;
	int k;

	CHECK(seg_create(dir, 0, &p, 0, &s, &e) == 0);
	for (k = 0; k < 6; k++)
		CHECK(lt_batch(&b, 1, 1 + k, 0, 100, k) == 0);
	one = b.len / 6;
	for (k = 0; k < 6; k++)
		lt_set_base(b.data + one * (size_t)k, k);
	/* the segment size limit, in whole batches */
	CHECK(seg_fit(s, b.data, b.len, one * 2 + one / 2) == one * 2);
	CHECK(seg_fit(s, b.data, b.len, one - 1) == 0);
	/*
	 * Index room: entries before batches 1 and 2 fill the time index
	 * (its last slot is kept for the roll).
	 */
	fit = seg_fit(s, b.data, b.len, 1 << 20);
	CHECK(fit == one * 3);
	CHECK(seg_append(s, b.data, fit, &e) == 0);
	CHECK(s->oidx.entries == 2 && s->tidx.entries == 2);
	CHECK(idx_full(&s->tidx));
	CHECK(seg_fit(s, b.data + fit, b.len - fit, 1 << 20) == 0);
	/* offsets beyond the relative range */
	lt_set_base(b.data + fit, (int64_t)INT32_MAX + 1);
	CHECK(seg_fit(s, b.data + fit, one, 1 << 20) == 0);
	CHECK(seg_close(s, &e) == 0);
	buf_release(&b);
}

/* Reference read: walk headers from the start. */
static void
reference_read(struct seg *s, int64_t offset, uint64_t max_bytes,
    int64_t max_offset, uint64_t *pos_out, uint64_t *len_out)
{
	uint8_t h[REC_BATCH_HEADER_SIZE];
	uint64_t pos = 0, start = UINT64_MAX, end = 0;

	while (pos < s->size &&
	    pread(s->fd, h, sizeof(h), (off_t)pos) == (ssize_t)sizeof(h)) {
		int64_t base = (int64_t)be64_load(h);
		int64_t last = base + (int32_t)be32_load(h + 23);
		uint64_t size = be32_load(h + 8) + 12u;

		if (start == UINT64_MAX && last >= offset) {
			start = pos;
			end = pos;
			if (last >= max_offset)
				break;
			end = pos + size;
		} else if (start != UINT64_MAX) {
			if (last >= max_offset ||
			    end + size - start > max_bytes)
				break;
			end += size;
		}
		pos += size;
	}
	*pos_out = start;
	*len_out = end - (start == UINT64_MAX ? 0 : start);
}

static void
check_reads(struct seg *s)
{
	static const uint64_t budgets[] = { 0, 100, 500, 1000, 3000, 100000 };
	struct seg_slice sl;
	struct err e;
	uint64_t pos, len;
	int64_t o;
	size_t b;
	int bad = 0;

	for (o = s->base_offset; o < s->next_offset && bad < 5; o += 3)
		for (b = 0; b < ARRAY_SIZE(budgets); b++) {
			int64_t mo = b % 2 ? s->next_offset : o + 40;

			reference_read(s, o, budgets[b], mo, &pos, &len);
			int r = seg_read(s, o, budgets[b], mo, &sl, &e);

			if (r != 1 || sl.position != pos || sl.length != len) {
				bad++;
				CHECKF(0, "offset %" PRId64 " budget %" PRIu64
				    ": %d %" PRIu64 "+%" PRIu64 " want %" PRIu64
				    "+%" PRIu64 " %s", o, budgets[b], r,
				    sl.position, sl.length, pos, len,
				    r < 0 ? e.msg : "");
			}
		}
	CHECK(seg_read(s, s->next_offset, 100, INT64_MAX, &sl, &e) == 0);
}

static void
test_segment__reads(void)
{
	struct seg_params p = params(256, 1 << 16);
	struct seg_batch_info bi;
	uint32_t sizes[300];
	struct seg *s;
	struct err e;

	CHECK(seg_create(dir, 5000, &p, 0, &s, &e) == 0);
	CHECK(fill(s, 300, sizes) == 0);
	check_reads(s);
	/* an entry pointing into the middle of a batch is not believed */
	be32_store(s->oidx.map + 8 * 10 + 4, be32_load(s->oidx.map + 8 * 10 + 4)
	    + 5);
	check_reads(s);
	CHECK(seg_find_batch(s, 5000, &bi, &e) == 1 && bi.position == 0);
	/* nor one pointing at the wrong batch */
	be32_store(s->oidx.map + 8 * 20 + 4,
	    be32_load(s->oidx.map + 8 * 19 + 4));
	check_reads(s);
	seg_free(s);
}

static void
test_segment__rebuild(void)
{
	struct seg_params p = params(300, 1 << 16);
	struct seg_recovery rec;
	uint8_t *oi, *ti;
	size_t on, tn;
	uint32_t sizes[150];
	struct seg *s;
	struct err e;
	int64_t next, maxts;

	CHECK(seg_create(dir, 20000, &p, 0, &s, &e) == 0);
	CHECK(fill(s, 150, sizes) == 0);
	on = s->oidx.entries * 8;
	tn = s->tidx.entries * 12;
	oi = malloc(on);
	ti = malloc(tn);
	memcpy(oi, s->oidx.map, on);
	memcpy(ti, s->tidx.map, tn);
	next = s->next_offset;
	maxts = s->max_timestamp;
	CHECK(seg_recover(s, 0, &rec, &e) == 0);
	CHECK(rec.bytes_cut == 0 && rec.batches == 150);
	CHECK(rec.next_offset == next && s->max_timestamp == maxts);
	CHECK(s->oidx.entries * 8 == on && memcmp(s->oidx.map, oi, on) == 0);
	CHECK(s->tidx.entries * 12 == tn && memcmp(s->tidx.map, ti, tn) == 0);
	/* rebuilding below a minimum offset cuts at the first batch */
	CHECK(seg_recover(s, 20001, &rec, &e) == 0);
	CHECK(rec.bytes_cut > 0 && rec.valid_bytes == 0 && s->size == 0);
	CHECK(strstr(rec.reason, "below the expected 20001") != NULL);
	CHECK(s->next_offset == 20000);
	free(oi);
	free(ti);
	CHECK(seg_close(s, &e) == 0);
}

static void
test_segment__delete(void)
{
	struct seg_params p = params(10, 4096);
	uint32_t sizes[20];
	struct seg *s;
	struct err e;
	char path[128];

	CHECK(seg_create(dir, 777, &p, 0, &s, &e) == 0);
	CHECK(fill(s, 20, sizes) == 0);
	CHECK(seg_make_inactive(s, &e) == 0);
	seg_free(s);
	CHECK(seg_open(dir, 777, &p, 0, &s, &e) == 0);
	CHECK(!s->active && s->fd == -1 && s->size > 0);
	CHECK(seg_largest_timestamp(s, false) > 1000);
	CHECK(seg_delete(s, &e) == 0);
	lt_seg_path(path, sizeof(path), dir, 777, ".log");
	CHECK(!lt_exists(path));
	lt_seg_path(path, sizeof(path), dir, 777, ".log.deleted");
	CHECK(!lt_exists(path));
	lt_seg_path(path, sizeof(path), dir, 777, ".index");
	CHECK(!lt_exists(path));
	lt_seg_path(path, sizeof(path), dir, 777, ".timeindex");
	CHECK(!lt_exists(path));
	CHECK(seg_open(dir, 777, &p, 0, &s, &e) == -1 &&
	    e.code == EXIT_NOINPUT);
}

int
main(void)
{
	if (lt_tmpdir(dir, sizeof(dir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_segment__names);
	TEST(test_segment__batch_header);
	TEST(test_segment__index_rule);
	TEST(test_segment__fit);
	TEST(test_segment__reads);
	TEST(test_segment__rebuild);
	TEST(test_segment__delete);
	lt_rmrf(dir);
	TEST_DONE();
}
