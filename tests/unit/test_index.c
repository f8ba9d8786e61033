/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for index.c: offset and time index files, lookups at, below
 * and above entries, ordering rules, capacity, trimming, truncation and
 * the sanity check.
 */
#include <string.h>

#include "index.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char dir[64];

static void
path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
test_index__empty(void)
{
	struct idx ix;
	struct idx_offset_entry oe;
	struct idx_time_entry te;
	struct err e;
	char p[128];

	path_of(p, sizeof(p), "empty.index");
	CHECK(idx_open(&ix, IDX_OFFSET, p, 100, 4096, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(ix.missing);
	CHECK(ix.entries == 0);
	CHECK(ix.max_entries == 512);
	CHECK(lt_file_size(p) == 4096);
	CHECK(idx_lookup_offset(&ix, 150, &oe, &e) == 0);
	CHECK(oe.offset == 100 && oe.position == 0);
	CHECK(idx_last_offset_entry(&ix, &oe, &e) == 0);
	CHECK(idx_check(&ix, 0, INT64_MAX, true, &e) == 0);
	CHECK(idx_trim(&ix, true, &e) == 0);
	CHECK(lt_file_size(p) == 0);
	CHECK(!ix.writable);
	CHECK(idx_lookup_offset(&ix, 150, &oe, &e) == 0);
	idx_release(&ix);

	path_of(p, sizeof(p), "empty.timeindex");
	CHECK(idx_open(&ix, IDX_TIME, p, 100, 4096, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(ix.max_entries == 341);
	CHECK(idx_lookup_time(&ix, 5, &te, &e) == 0);
	CHECK(te.timestamp == -1 && te.offset == 100);
	/* -1 is "no timestamp": never indexed */
	CHECK(idx_append_time(&ix, -1, 100, false, &e) == 0);
	CHECK(ix.entries == 0);
	idx_release(&ix);

	path_of(p, sizeof(p), "absent.index");
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, 0, &e) == -1);
	CHECK(e.code == EXIT_NOINPUT);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, IDX_OPEN_MISSING_OK,
	    &e) == 0);
	CHECK(ix.missing && ix.entries == 0);
	idx_release(&ix);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 8, IDX_OPEN_WRITABLE, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE);
}

static void
test_index__offset_lookup(void)
{
	struct idx ix;
	struct idx_offset_entry oe;
	struct err e;
	char p[128];
	int i;

	path_of(p, sizeof(p), "lookup.index");
	CHECK(idx_open(&ix, IDX_OFFSET, p, 1000, 1 << 16, IDX_OPEN_WRITABLE,
	    &e) == 0);
	/* entries (1010, 100), (1020, 200), ... (1100, 1000) */
	for (i = 1; i <= 10; i++)
		CHECK(idx_append_offset(&ix, 1000 + 10 * i, (uint32_t)(100 * i),
		    &e) == 0);
	CHECK(ix.entries == 10);
	CHECK(idx_lookup_offset(&ix, 1000, &oe, &e) == 0);
	CHECK(oe.offset == 1000 && oe.position == 0);
	CHECK(idx_lookup_offset(&ix, 1009, &oe, &e) == 0);
	CHECK(idx_lookup_offset(&ix, 1010, &oe, &e) == 1);
	CHECK(oe.offset == 1010 && oe.position == 100);
	CHECK(idx_lookup_offset(&ix, 1011, &oe, &e) == 1);
	CHECK(oe.offset == 1010 && oe.position == 100);
	CHECK(idx_lookup_offset(&ix, 1059, &oe, &e) == 1);
	CHECK(oe.offset == 1050 && oe.position == 500);
	CHECK(idx_lookup_offset(&ix, 1060, &oe, &e) == 1);
	CHECK(oe.offset == 1060 && oe.position == 600);
	CHECK(idx_lookup_offset(&ix, 1100, &oe, &e) == 1);
	CHECK(oe.offset == 1100 && oe.position == 1000);
	CHECK(idx_lookup_offset(&ix, INT64_MAX, &oe, &e) == 1);
	CHECK(oe.offset == 1100);
	CHECK(idx_lookup_offset(&ix, 0, &oe, &e) == 0);

	/* bound: position <= P and offset < O */
	CHECK(idx_lookup_bound(&ix, 550, INT64_MAX, &oe, &e) == 1);
	CHECK(oe.position == 500);
	CHECK(idx_lookup_bound(&ix, 10000, 1045, &oe, &e) == 1);
	CHECK(oe.offset == 1040);
	CHECK(idx_lookup_bound(&ix, 99, INT64_MAX, &oe, &e) == 0);
	CHECK(idx_lookup_bound(&ix, 10000, 1010, &oe, &e) == 0);

	/* order and range rules */
	CHECK(idx_append_offset(&ix, 1100, 2000, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE);
	CHECK(idx_append_offset(&ix, 1200, 1000, &e) == -1);
	CHECK(idx_append_offset(&ix, 1000 + (int64_t)INT32_MAX + 1, 5000,
	    &e) == -1);
	CHECK(idx_append_offset(&ix, 1000 + (int64_t)INT32_MAX, 5000, &e) == 0);
	CHECK(ix.entries == 11);

	/* truncation drops entries at and above an offset */
	CHECK(idx_truncate_to(&ix, 1055, &e) == 0);
	CHECK(ix.entries == 5);
	CHECK(idx_truncate_to(&ix, 1050, &e) == 0);
	CHECK(ix.entries == 4);
	CHECK(idx_lookup_offset(&ix, 5000, &oe, &e) == 1);
	CHECK(oe.offset == 1040);
	CHECK(idx_append_offset(&ix, 1045, 450, &e) == 0);
	CHECK(idx_check(&ix, 451, INT64_MAX, true, &e) == 0);
	CHECK(idx_check(&ix, 450, INT64_MAX, true, &e) == -1);
	CHECK(idx_check(&ix, 10000, 1045, true, &e) == -1);
	idx_release(&ix);
}

static void
test_index__time_lookup(void)
{
	struct idx ix;
	struct idx_time_entry te;
	struct err e;
	char p[128];

	path_of(p, sizeof(p), "lookup.timeindex");
	CHECK(idx_open(&ix, IDX_TIME, p, 50, 1 << 12, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(idx_append_time(&ix, 1000, 55, false, &e) == 0);
	CHECK(idx_append_time(&ix, 1000, 60, false, &e) == 0);	/* not larger */
	CHECK(idx_append_time(&ix, 999, 61, false, &e) == 0);	/* not larger */
	CHECK(ix.entries == 1);
	CHECK(idx_append_time(&ix, 2000, 70, false, &e) == 0);
	CHECK(idx_append_time(&ix, 3000, 70, false,
	    &e) == 0);	/* same offset */
	CHECK(idx_append_time(&ix, 4000, 65, false, &e) == -1);	/* goes back */
	CHECK(ix.entries == 3);
	CHECK(idx_lookup_time(&ix, 999, &te, &e) == 0);
	CHECK(te.timestamp == -1 && te.offset == 50);
	CHECK(idx_lookup_time(&ix, 1000, &te, &e) == 1);
	CHECK(te.timestamp == 1000 && te.offset == 55);
	CHECK(idx_lookup_time(&ix, 2500, &te, &e) == 1);
	CHECK(te.timestamp == 2000 && te.offset == 70);
	CHECK(idx_lookup_time(&ix, 1 << 30, &te, &e) == 1);
	CHECK(te.timestamp == 3000);
	CHECK(idx_last_time_entry(&ix, &te, &e) == 1);
	CHECK(te.timestamp == 3000 && te.offset == 70);
	CHECK(idx_check(&ix, 0, INT64_MAX, true, &e) == 0);
	CHECK(idx_check(&ix, 0, 70, true, &e) == -1);
	CHECK(idx_truncate_to(&ix, 70, &e) == 0);
	CHECK(ix.entries == 1);
	idx_release(&ix);
}

static void
test_index__capacity(void)
{
	struct idx ix;
	struct err e;
	char p[128];
	int i;

	path_of(p, sizeof(p), "small.index");
	/* 35 bytes round down to 4 entries */
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 35, IDX_OPEN_WRITABLE, &e) == 0);
	CHECK(ix.max_entries == 4);
	CHECK(lt_file_size(p) == 32);
	for (i = 0; i < 4; i++) {
		CHECK(!idx_full(&ix));
		CHECK(idx_append_offset(&ix, i + 1, (uint32_t)(i + 1),
		    &e) == 0);
	}
	CHECK(idx_full(&ix));
	CHECK(idx_append_offset(&ix, 10, 10, &e) == -1);
	idx_release(&ix);

	/* the time index keeps one slot for the roll's final entry */
	path_of(p, sizeof(p), "small.timeindex");
	CHECK(idx_open(&ix, IDX_TIME, p, 0, 36, IDX_OPEN_WRITABLE, &e) == 0);
	CHECK(ix.max_entries == 3);
	CHECK(idx_append_time(&ix, 1, 1, false, &e) == 0);
	CHECK(!idx_full(&ix));
	CHECK(idx_append_time(&ix, 2, 2, false, &e) == 0);
	CHECK(idx_full(&ix));
	CHECK(idx_append_time(&ix, 3, 3, false, &e) == -1);
	CHECK(idx_append_time(&ix, 3, 3, true, &e) == 0);
	CHECK(idx_append_time(&ix, 4, 4, true, &e) == -1);
	CHECK(ix.entries == 3);
	idx_release(&ix);
}

static void
test_index__trim_and_reopen(void)
{
	struct idx ix;
	struct idx_offset_entry oe;
	struct err e;
	char p[128];
	int i;

	path_of(p, sizeof(p), "trim.index");
	CHECK(idx_open(&ix, IDX_OFFSET, p, 7, 1 << 20, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(lt_file_size(p) == 1 << 20);
	CHECK(!ix.unsynced);	/* a new index has nothing to sync */
	/* enough entries to cross the reserve chunk and a page */
	for (i = 0; i < 5000; i++)
		CHECK(idx_append_offset(&ix, 7 + 2 * i + 1,
		    (uint32_t)(64 * i + 64),
		    &e) == 0);
	CHECK(ix.unsynced);
	CHECK(idx_flush(&ix, &e) == 0);
	CHECK(!ix.unsynced);
	CHECK(idx_truncate_to(&ix, 7 + 2 * 5000, &e) == 0 && !ix.unsynced);
	CHECK(idx_truncate_to(&ix, 7 + 2 * 4999 + 1, &e) == 0 && ix.unsynced);
	CHECK(idx_append_offset(&ix, 7 + 2 * 4999 + 1, 64 * 4999 + 64,
	    &e) == 0);
	CHECK(idx_trim(&ix, ix.unsynced, &e) == 0);
	CHECK(!ix.unsynced);
	CHECK(lt_file_size(p) == 5000 * 8);
	idx_release(&ix);

	CHECK(idx_open(&ix, IDX_OFFSET, p, 7, 1 << 20, 0, &e) == 0);
	CHECK(ix.entries == 5000 && !ix.writable && ix.map == NULL);
	CHECK(idx_check(&ix, 64 * 5001, INT64_MAX, false, &e) == 0);
	CHECK(ix.map == NULL);	/* the light check maps and unmaps */
	CHECK(idx_check(&ix, 64 * 5001, INT64_MAX, true, &e) == 0);
	CHECK(idx_lookup_offset(&ix, 7 + 2 * 2500 + 2, &oe, &e) == 1);
	CHECK(oe.offset == 7 + 2 * 2500 + 1 && oe.position == 64 * 2500 + 64);
	CHECK(idx_append_offset(&ix, 100000, 1, &e) == -1);	/* read-only */
	CHECK(idx_truncate_to(&ix, 10, &e) == -1);
	CHECK(idx_make_writable(&ix, 1 << 20, &e) == 0);
	CHECK(ix.writable && ix.entries == 5000);
	CHECK(lt_file_size(p) == 1 << 20);
	CHECK(idx_append_offset(&ix, 100000, 64 * 5001, &e) == 0);
	CHECK(idx_lookup_offset(&ix, 100000, &oe, &e) == 1);
	CHECK(oe.position == 64 * 5001);
	CHECK(idx_trim(&ix, false, &e) == 0);
	CHECK(lt_file_size(p) == 5001 * 8);
	idx_release(&ix);
	idx_release(&ix);	/* twice is harmless */
}

static void
test_index__check(void)
{
	uint8_t bytes[64];
	struct idx ix;
	struct err e;
	char p[128];

	/* a partial entry */
	path_of(p, sizeof(p), "odd.index");
	memset(bytes, 0, sizeof(bytes));
	CHECK(lt_write_file(p, bytes, 12) == 0);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, 0, &e) == 0);
	CHECK(ix.entries == 1);
	CHECK(idx_check(&ix, 100, INT64_MAX, true, &e) == -1);
	CHECK(e.code == EXIT_DATAERR && strstr(e.msg, "multiple") != NULL);
	idx_release(&ix);

	/* entries not increasing: a zero tail, as an untrimmed index has */
	path_of(p, sizeof(p), "zeros.index");
	be32_store(bytes, 5);
	be32_store(bytes + 4, 100);
	CHECK(lt_write_file(p, bytes, 32) == 0);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, 0, &e) == 0);
	CHECK(idx_check(&ix, 1000, INT64_MAX, true, &e) == -1);
	CHECK(strstr(e.msg, "not above") != NULL);
	CHECK(idx_check(&ix, 1000, INT64_MAX, false, &e) == -1);
	idx_release(&ix);

	/* position beyond the log */
	CHECK(lt_write_file(p, bytes, 8) == 0);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, 0, &e) == 0);
	CHECK(idx_check(&ix, 101, INT64_MAX, true, &e) == 0);
	CHECK(idx_check(&ix, 100, INT64_MAX, true, &e) == -1);
	CHECK(strstr(e.msg, "beyond") != NULL);
	idx_release(&ix);

	/* a writable index reopened untrimmed counts its zeros as entries */
	path_of(p, sizeof(p), "untrimmed.index");
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(idx_append_offset(&ix, 3, 300, &e) == 0);
	idx_release(&ix);
	CHECK(lt_file_size(p) == 4096);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096, IDX_OPEN_WRITABLE,
	    &e) == 0);
	CHECK(ix.entries == 512);
	CHECK(idx_full(&ix));
	CHECK(idx_check(&ix, 1000, INT64_MAX, true, &e) == -1);
	idx_release(&ix);
	CHECK(idx_open(&ix, IDX_OFFSET, p, 0, 4096,
	    IDX_OPEN_WRITABLE | IDX_OPEN_TRUNCATE, &e) == 0);
	CHECK(ix.entries == 0 && !ix.missing);
	idx_release(&ix);

	/* time index: timestamps must grow */
	path_of(p, sizeof(p), "bad.timeindex");
	memset(bytes, 0, sizeof(bytes));
	be64_store(bytes, 2000);
	be32_store(bytes + 8, 1);
	be64_store(bytes + 12, 1000);
	be32_store(bytes + 20, 2);
	CHECK(lt_write_file(p, bytes, 24) == 0);
	CHECK(idx_open(&ix, IDX_TIME, p, 0, 4096, 0, &e) == 0);
	CHECK(idx_check(&ix, 0, INT64_MAX, true, &e) == -1);
	idx_release(&ix);
}

int
main(void)
{
	if (lt_tmpdir(dir, sizeof(dir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_index__empty);
	TEST(test_index__offset_lookup);
	TEST(test_index__time_lookup);
	TEST(test_index__capacity);
	TEST(test_index__trim_and_reopen);
	TEST(test_index__check);
	lt_rmrf(dir);
	TEST_DONE();
}
