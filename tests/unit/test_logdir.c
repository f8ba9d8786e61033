/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for logdir.c: creating partitions, clean and unclean
 * shutdowns (marker, checkpoints, recovery), directory enumeration rules,
 * the lock, read-only opens and malformed checkpoints.
 */
#include <string.h>
#include <sys/stat.h>

#include "logdir.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char root[64];

static int
append_n(struct plog *log, int batches, int records)
{
	struct buf b = BUF_INIT;
	struct err e;
	int i, r = 0;

	for (i = 0; i < batches && r == 0; i++) {
		buf_clear(&b);
		r = lt_batch(&b, records, 1000 + i, 1, 50, i);
		if (r == 0)
			r = plog_append(log, b.data, b.len,
			    PLOG_APPEND_ASSIGN_OFFSETS, 0, NULL, &e);
	}
	buf_release(&b);
	return r;
}

static void
path_in(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
test_logdir__lifecycle(void)
{
	const struct ld_partition *p;
	struct plog_config c;
	struct logdir *ld, *ld2;
	struct plog *log;
	struct err e;
	char dir[128], path[256];
	const char *want;
	size_t len;
	char *text;

	snprintf(dir, sizeof(dir), "%s/data", root);
	plog_config_init(&c);
	c.segment_bytes = 4096;
	c.index_max_bytes = 1 << 16;
	CHECK(ld_open(dir, &c, 0, &ld, &e) == -1 && e.code == EXIT_NOINPUT);
	CHECK(ld_open(dir, &c, LD_OPEN_CREATE, &ld, &e) == 0);
	CHECK(!ld_clean_shutdown(ld) && ld_count(ld) == 0);
	CHECK(ld_get(ld, "orders", 0) == NULL);
	CHECK(ld_create(ld, "orders", 1, NULL, &log, &e) == 0);
	CHECK(append_n(log, 50, 3) == 0);
	CHECK(ld_create(ld, "orders", 0, NULL, &log, &e) == 0);
	CHECK(append_n(log, 5, 2) == 0);
	CHECK(ld_create(ld, "my-topic", 3, NULL, NULL, &e) == 0);
	CHECK(ld_create(ld, "orders", 0, NULL, NULL, &e) == -1);
	CHECK(e.code == EXIT_CANTCREAT);
	CHECK(ld_create(ld, "bad topic", 0, NULL, NULL, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(ld_create(ld, "t", -1, NULL, NULL, &e) == -1);
	CHECK(ld_count(ld) == 3);
	p = ld_partition_at(ld, 0);
	CHECK(p != NULL && strcmp(p->topic, "my-topic") == 0 &&
	    p->partition == 3);
	p = ld_partition_at(ld, 1);
	CHECK(strcmp(p->topic, "orders") == 0 && p->partition == 0);
	CHECK(ld_partition_at(ld, 3) == NULL);
	path_in(path, sizeof(path), dir, "my-topic-3/00000000000000000000.log");
	CHECK(lt_exists(path));
	/* a second writer is refused; a reader is not */
	CHECK(ld_open(dir, &c, 0, &ld2, &e) == -1);
	CHECK(e.code == EXIT_TEMPFAIL && strstr(e.msg, "in use") != NULL);
	CHECK(ld_open(dir, &c, LD_OPEN_READONLY, &ld2, &e) == 0);
	CHECK(ld_count(ld2) == 3);
	CHECK(plog_end_offset(ld_get(ld2, "orders", 1)) == 150);
	CHECK(ld_create(ld2, "x", 0, NULL, NULL, &e) == -1);
	CHECK(ld_close(ld2, &e) == 0);
	path_in(path, sizeof(path), dir, LD_CLEAN_SHUTDOWN_FILE);
	CHECK(!lt_exists(path));

	/* clean close: checkpoints, then the marker */
	CHECK(ld_close(ld, &e) == 0);
	CHECK(lt_exists(path));
	path_in(path, sizeof(path), dir, LD_RECOVERY_POINT_FILE);
	text = (char *)lt_read_file(path, &len);
	want = "0\n3\nmy-topic 3 0\norders 0 10\norders 1 150\n";
	CHECK(text != NULL && len == strlen(want) &&
	    memcmp(text, want, len) == 0);
	free(text);
	path_in(path, sizeof(path), dir, LD_LOG_START_FILE);
	text = (char *)lt_read_file(path, &len);
	CHECK(text != NULL && len == strlen("0\n3\nmy-topic 3 0\norders 0 0\n"
	    "orders 1 0\n"));
	free(text);

	/* a clean reopen scans nothing and removes the marker */
	CHECK(ld_open(dir, &c, 0, &ld, &e) == 0);
	CHECK(ld_clean_shutdown(ld));
	path_in(path, sizeof(path), dir, LD_CLEAN_SHUTDOWN_FILE);
	CHECK(!lt_exists(path));
	CHECK(ld_count(ld) == 3);
	p = ld_partition_at(ld, 2);
	CHECK(p->report.segments_recovered == 0 &&
	    p->report.indexes_rebuilt == 0);
	CHECK(plog_end_offset(p->log) == 150);
	CHECK(plog_segment_count(p->log) > 2);
	/* records deleted before an offset survive through the checkpoint */
	CHECK(plog_delete_records_before(p->log, 7, &e) == 0);
	CHECK(append_n(p->log, 3, 3) == 0);
	CHECK(ld_checkpoint(ld, &e) == 0);
	/* a crash: no marker, logs recovered from their recovery points */
	ld_free(ld);
	CHECK(ld_open(dir, &c, 0, &ld, &e) == 0);
	CHECK(!ld_clean_shutdown(ld));
	p = ld_partition_at(ld, 2);
	CHECK(p->report.segments_recovered >= 1);
	CHECK(plog_end_offset(p->log) == 159);
	CHECK(plog_start_offset(p->log) == 7);
	CHECK(ld_close(ld, &e) == 0);
}

static void
test_logdir__enumeration(void)
{
	static const char *const ignored[] = {
		"notapartition", "x-", "x-01", "x-abc", "x-+1", "-3",
		"x-99999999999", "bad topic-0", "orders-0.abc-delete",
		"orders-0-future-",
	};
	struct plog_config c;
	struct logdir *ld;
	struct err e;
	char dir[128], path[256];
	size_t i;

	snprintf(dir, sizeof(dir), "%s/enum", root);
	plog_config_init(&c);
	c.index_max_bytes = 4096;
	CHECK(ld_open(dir, &c, LD_OPEN_CREATE, &ld, &e) == 0);
	CHECK(ld_close(ld, &e) == 0);
	for (i = 0; i < ARRAY_SIZE(ignored); i++) {
		path_in(path, sizeof(path), dir, ignored[i]);
		CHECK(mkdir(path, 0755) == 0);
	}
	path_in(path, sizeof(path), dir, "file-0");
	CHECK(lt_write_file(path, "x", 1) == 0);
	path_in(path, sizeof(path), dir, "a-b-c-12");
	CHECK(mkdir(path, 0755) == 0);
	path_in(path, sizeof(path), dir, "z-0");
	CHECK(mkdir(path, 0755) == 0);
	CHECK(ld_open(dir, &c, 0, &ld, &e) == 0);
	CHECK(ld_count(ld) == 2);
	CHECK(ld_get(ld, "a-b-c", 12) != NULL);
	CHECK(ld_get(ld, "z", 0) != NULL);
	CHECK(ld_get(ld, "z", 1) == NULL);
	CHECK(ld_close(ld, &e) == 0);
}

static void
test_logdir__bad_checkpoint(void)
{
	struct plog_config c;
	struct logdir *ld;
	struct err e;
	char dir[128], path[256];

	snprintf(dir, sizeof(dir), "%s/badckpt", root);
	plog_config_init(&c);
	c.index_max_bytes = 4096;
	CHECK(ld_open(dir, &c, LD_OPEN_CREATE, &ld, &e) == 0);
	CHECK(ld_create(ld, "t", 0, NULL, NULL, &e) == 0);
	CHECK(ld_close(ld, &e) == 0);
	path_in(path, sizeof(path), dir, LD_LOG_START_FILE);
	CHECK(lt_write_file(path, "0\n1\nt 0\n", 8) == 0);
	CHECK(ld_open(dir, &c, 0, &ld, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECKF(strstr(e.msg, LD_LOG_START_FILE ":3:") != NULL, "%s", e.msg);
	/* the failed open released the lock and kept the marker */
	path_in(path, sizeof(path), dir, LD_CLEAN_SHUTDOWN_FILE);
	CHECK(lt_exists(path));
	path_in(path, sizeof(path), dir, LD_LOG_START_FILE);
	unlink(path);
	CHECK(ld_open(dir, &c, 0, &ld, &e) == 0);
	CHECK(ld_clean_shutdown(ld) && ld_count(ld) == 1);
	CHECK(ld_close(ld, &e) == 0);
	/* a bad config is refused before anything is touched */
	c.segment_bytes = 1;
	CHECK(ld_open(dir, &c, 0, &ld, &e) == -1 && e.code == EXIT_CONFIG);
}

int
main(void)
{
	if (lt_tmpdir(root, sizeof(root)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_logdir__lifecycle);
	TEST(test_logdir__enumeration);
	TEST(test_logdir__bad_checkpoint);
	lt_rmrf(root);
	TEST_DONE();
}
