/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for plog_flush.c: rolls deferred with plog_defer_roll_flush
 * leave the recovery point until a flush job finishes; jobs chain (each
 * starts where the last ended); a cut under a job, a job out of order,
 * a failed sync and a segment deleted under a job all leave the recovery
 * point where it is known true; plog_flush covers what no job did; a
 * restart from the recovery point a job left validates only what is
 * above it.
 */
#include <string.h>

#include "plog.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char root[64];

/* Segments of 2 KiB: a roll every few batches. */
static void
small_config(struct plog_config *c)
{
	plog_config_init(c);
	c->segment_bytes = 2048;
	c->index_interval_bytes = 256;
	c->index_max_bytes = 1 << 16;
}

/* A log of small segments with deferred roll flushes, in root/name. */
static struct plog *
open_deferred(const char *name, char *dir, size_t size)
{
	struct plog_config c;
	struct plog *log = NULL;
	struct err e;

	snprintf(dir, size, "%s/%s", root, name);
	lt_rmrf(dir);
	small_config(&c);
	CHECKF(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0, "%s", e.msg);
	if (log != NULL)
		plog_defer_roll_flush(log);
	return log;
}

/* Append `count` batches of 3 records of 100 bytes (rolls every ~5). */
static void
fill(struct plog *log, int count)
{
	struct plog_append_info info;
	struct err e;
	int i;

	for (i = 0; i < count; i++) {
		struct buf b = BUF_INIT;

		CHECK(lt_batch(&b, 3, 1000 + i, 1, 100, i) == 0);
		CHECKF(plog_append(log, b.data, b.len,
		    PLOG_APPEND_ASSIGN_OFFSETS, 0, &info, &e) == 0, "%s",
		    e.msg);
		buf_release(&b);
	}
}

static int64_t
active_base(struct plog *log)
{
	struct plog_segment_info si;
	struct err e;

	CHECK(plog_segment_info(log, plog_segment_count(log) - 1, &si,
	    &e) == 0);
	return si.base_offset;
}

/* take, run and finish one job; its end, or -1 when none was due. */
static int64_t
flush_once(struct plog *log)
{
	struct plog_flush_job *job;
	struct err e;
	int64_t end;
	int r = plog_flush_take(log, &job, &e);

	CHECKF(r >= 0, "%s", e.msg);
	if (r <= 0)
		return -1;
	CHECKF(plog_flush_job_run(job, &e) == 0, "%s", e.msg);
	plog_flush_job_finish(log, job, true);
	end = plog_flush_job_end(job);
	plog_flush_job_free(job);
	return end;
}

static void
test_flush__deferred_roll(void)
{
	struct plog_flush_job *job;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t base;

	log = open_deferred("defer", dir, sizeof(dir));
	CHECK(!plog_flush_due(log));
	fill(log, 40);
	CHECK(plog_segment_count(log) > 5);
	base = active_base(log);
	/* The rolls synced nothing and moved nothing. */
	CHECK(plog_recovery_point(log) == 0);
	CHECK(plog_flush_due(log));
	CHECK(plog_flush_take(log, &job, &e) == 1);
	CHECK(plog_flush_job_end(job) == base);
	/* Taken: the next job would start at its end. */
	CHECK(!plog_flush_due(log));
	CHECK(plog_recovery_point(log) == 0);
	CHECK(plog_flush_job_run(job, &e) == 0);
	plog_flush_job_finish(log, job, true);
	plog_flush_job_free(job);
	CHECK(plog_recovery_point(log) == base);
	CHECK(flush_once(log) == -1);
	/* More rolls: the next job starts at the last one's end. */
	fill(log, 20);
	CHECK(active_base(log) > base);
	CHECK(flush_once(log) == active_base(log));
	CHECK(plog_recovery_point(log) == active_base(log));
	CHECK(plog_close(log, &e) == 0);
}

/* Reopen `dir` unclean from `rp` and check what recovery did. */
static void
reopen_check(const char *dir, int64_t rp, int64_t end, int validated)
{
	struct plog_config c;
	struct plog_report rep;
	struct plog *log;
	struct err e;

	small_config(&c);
	CHECKF(plog_open(dir, &c, rp, 0, 0, &rep, &log, &e) == 0, "%s", e.msg);
	CHECK(plog_end_offset(log) == end);
	CHECKF(rep.segments_recovered == validated, "%d segments validated, "
	    "wanted %d", rep.segments_recovered, validated);
	CHECK(rep.ntruncations == 0);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_flush__restart_from_job(void)
{
	struct plog *log;
	char dir[128];
	int64_t base, end;
	size_t nsegs;

	log = open_deferred("restart", dir, sizeof(dir));
	fill(log, 40);
	base = flush_once(log);
	CHECK(base == active_base(log));
	end = plog_end_offset(log);
	nsegs = plog_segment_count(log);
	plog_free(log);	/* no flush, no clean close */
	/* From the job's recovery point only the active segment is read... */
	reopen_check(dir, base, end, 1);
	/* ... from 0 every segment, and all of it is there. */
	reopen_check(dir, 0, end, (int)nsegs);
}

static void
test_flush__cut_under_job(void)
{
	struct plog_flush_job *job;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t rp;

	log = open_deferred("cut", dir, sizeof(dir));
	fill(log, 40);
	CHECK(plog_flush_take(log, &job, &e) == 1);
	/* A follower's truncation into a rolled segment. */
	CHECK(plog_truncate_to(log, 20, &e) == 0);
	CHECK(plog_flush_job_run(job, &e) == 0);
	plog_flush_job_finish(log, job, true);
	plog_flush_job_free(job);
	CHECK(plog_recovery_point(log) == 0);
	/* The next job starts from the recovery point again. */
	fill(log, 20);
	rp = flush_once(log);
	CHECK(rp == active_base(log) && rp > 20);
	CHECK(plog_recovery_point(log) == rp);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_flush__out_of_order(void)
{
	struct plog_flush_job *first, *second;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t mid;

	log = open_deferred("order", dir, sizeof(dir));
	fill(log, 20);
	CHECK(plog_flush_take(log, &first, &e) == 1);
	mid = plog_flush_job_end(first);
	fill(log, 20);
	CHECK(plog_flush_take(log, &second, &e) == 1);
	CHECK(plog_flush_job_run(second, &e) == 0);
	/* What lies below the second job is not synced yet. */
	plog_flush_job_finish(log, second, true);
	CHECK(plog_recovery_point(log) == 0);
	CHECK(plog_flush_job_run(first, &e) == 0);
	plog_flush_job_finish(log, first, true);
	CHECK(plog_recovery_point(log) == mid);
	/* The second's range is taken again. */
	CHECK(flush_once(log) == active_base(log));
	CHECK(plog_recovery_point(log) == active_base(log));
	plog_flush_job_free(first);
	plog_flush_job_free(second);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_flush__failed_sync(void)
{
	struct plog_flush_job *job;
	struct plog *log;
	struct buf b = BUF_INIT;
	struct err e;
	char dir[128];

	log = open_deferred("failed", dir, sizeof(dir));
	fill(log, 20);
	CHECK(plog_flush_take(log, &job, &e) == 1);
	plog_flush_job_finish(log, job, false);
	plog_flush_job_free(job);
	CHECK(plog_recovery_point(log) == 0);
	CHECK(lt_batch(&b, 1, 1, 1, 10, 0) == 0);
	CHECK(plog_append(log, b.data, b.len, PLOG_APPEND_ASSIGN_OFFSETS, 0,
	    NULL, &e) == -1);
	CHECKF(e.code == EXIT_IOERR && strstr(e.msg, "failed sync") != NULL,
	    "%s", e.msg);
	buf_release(&b);
	plog_free(log);
}

static void
test_flush__segments_deleted_under_job(void)
{
	struct plog_flush_job *job;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];

	log = open_deferred("deleted", dir, sizeof(dir));
	fill(log, 40);
	CHECK(plog_flush_take(log, &job, &e) == 1);
	small_config(&c);
	c.retention_bytes = 1;
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(plog_retention(log, 0, plog_end_offset(log), NULL, &e) == 0);
	CHECK(plog_segment_count(log) == 1);
	/* The job's descriptors still name the deleted files. */
	CHECKF(plog_flush_job_run(job, &e) == 0, "%s", e.msg);
	plog_flush_job_finish(log, job, true);
	plog_flush_job_free(job);
	CHECK(plog_recovery_point(log) == 0);
	CHECK(plog_close(log, &e) == 0);
}

static void
test_flush__plog_flush_covers(void)
{
	struct plog *log;
	struct err e;
	char dir[128];

	log = open_deferred("covers", dir, sizeof(dir));
	fill(log, 40);
	CHECK(plog_flush_due(log));
	CHECK(plog_flush(log, &e) == 0);
	CHECK(plog_recovery_point(log) == plog_end_offset(log));
	CHECK(!plog_flush_due(log));
	CHECK(flush_once(log) == -1);
	CHECK(plog_close(log, &e) == 0);
}

int
main(void)
{
	if (lt_tmpdir(root, sizeof(root)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_flush__deferred_roll);
	TEST(test_flush__restart_from_job);
	TEST(test_flush__cut_under_job);
	TEST(test_flush__out_of_order);
	TEST(test_flush__failed_sync);
	TEST(test_flush__segments_deleted_under_job);
	TEST(test_flush__plog_flush_covers);
	if (getenv("KLOG_UNIT_KEEP") == NULL)
		lt_rmrf(root);
	TEST_DONE();
}
