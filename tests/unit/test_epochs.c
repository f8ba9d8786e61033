/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for epochs.c: Kafka's LeaderEpochFileCache semantics for
 * assign, truncation from either end and end_offset_for (the cases of
 * Kafka's LeaderEpochFileCacheTest), persistence across reopen, deferred
 * writes (none when the content is unchanged), and a
 * table of malformed checkpoint files refused with file:line.
 */
#include <string.h>
#include <sys/stat.h>

#include "epochs.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char dir[64];

/* A fresh cache in its own directory "<dir>/<name>". */
static struct epoch_cache *
fresh(const char *name, char *path, size_t size)
{
	struct epoch_cache *c = NULL;
	struct err e = { 0 };

	snprintf(path, size, "%s/%s", dir, name);
	lt_rmrf(path);
	mkdir(path, 0755);
	if (epoch_cache_open(path, &c, &e) < 0)
		printf("# open: %s\n", e.msg);
	return c;
}

/* The entries as "e:o e:o ..." for compact checks. */
static const char *
dump(const struct epoch_cache *c)
{
	static char s[512];
	size_t i, n = 0;

	s[0] = '\0';
	for (i = 0; i < epoch_cache_count(c) && n < sizeof(s) - 40; i++) {
		const struct epoch_entry *x = epoch_cache_entry(c, i);

		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%d:%lld",
		    i ? " " : "", (int)x->epoch, (long long)x->start_offset);
	}
	return s;
}

static void
end_for(const struct epoch_cache *c, int32_t epoch, int64_t leo,
    int32_t *oe, int64_t *oo)
{
	epoch_cache_end_offset_for(c, epoch, leo, oe, oo);
}

static void
test_epochs__assign(void)
{
	char path[128];
	struct epoch_cache *c = fresh("assign", path, sizeof(path));
	struct err e = { 0 };

	CHECK(c != NULL && epoch_cache_count(c) == 0);
	CHECK(epoch_cache_latest(c) == -1);
	CHECK(epoch_cache_entry(c, 0) == NULL);
	CHECK(epoch_cache_assign(c, 2, 6, &e) == 0);
	CHECK(epoch_cache_assign(c, 2, 9, &e) == 0);	/* same epoch later */
	CHECK(strcmp(dump(c), "2:6") == 0);
	CHECK(epoch_cache_assign(c, 3, 10, &e) == 0);
	CHECK(epoch_cache_assign(c, 5, 10, &e) == 0);	/* replaces 3 at 10 */
	CHECKF(strcmp(dump(c), "2:6 5:10") == 0, "%s", dump(c));
	CHECK(epoch_cache_latest(c) == 5);
	/* The latest epoch at a lower offset moves its start down. */
	CHECK(epoch_cache_assign(c, 5, 8, &e) == 0);
	CHECKF(strcmp(dump(c), "2:6 5:8") == 0, "%s", dump(c));
	/* A lower epoch drops the entries it contradicts (truncated log). */
	CHECK(epoch_cache_assign(c, 4, 7, &e) == 0);
	CHECKF(strcmp(dump(c), "2:6 4:7") == 0, "%s", dump(c));
	CHECK(epoch_cache_assign(c, 6, 5, &e) == 0);
	CHECKF(strcmp(dump(c), "6:5") == 0, "%s", dump(c));
	/* Invalid entries change nothing. */
	CHECK(epoch_cache_assign(c, -1, 5, &e) == -1 &&
	    e.code == EXIT_SOFTWARE);
	CHECK(epoch_cache_assign(c, 7, -1, &e) == -1);
	CHECK(strcmp(dump(c), "6:5") == 0);
	epoch_cache_close(c);
	epoch_cache_close(NULL);
}

static void
test_epochs__end_offset_for(void)
{
	char path[128];
	struct epoch_cache *c = fresh("endfor", path, sizeof(path));
	struct err e = { 0 };
	int32_t oe;
	int64_t oo;

	/* Empty: nothing known. */
	end_for(c, 0, 100, &oe, &oo);
	CHECK(oe == -1 && oo == -1);
	CHECK(epoch_cache_assign(c, 1, 10, &e) == 0);
	CHECK(epoch_cache_assign(c, 3, 20, &e) == 0);
	CHECK(epoch_cache_assign(c, 5, 30, &e) == 0);
	/* The latest epoch ends at the log end offset. */
	end_for(c, 5, 42, &oe, &oo);
	CHECK(oe == 5 && oo == 42);
	/* A known older epoch ends where the next starts. */
	end_for(c, 3, 42, &oe, &oo);
	CHECK(oe == 3 && oo == 30);
	end_for(c, 1, 42, &oe, &oo);
	CHECK(oe == 1 && oo == 20);
	/* An unknown epoch between two: the one below, and the next start. */
	end_for(c, 4, 42, &oe, &oo);
	CHECK(oe == 3 && oo == 30);
	end_for(c, 2, 42, &oe, &oo);
	CHECK(oe == 1 && oo == 20);
	/* Below every known epoch: as asked, up to the first start. */
	end_for(c, 0, 42, &oe, &oo);
	CHECK(oe == 0 && oo == 10);
	/* Undefined, or above every known epoch. */
	end_for(c, -1, 42, &oe, &oo);
	CHECK(oe == -1 && oo == -1);
	end_for(c, 6, 42, &oe, &oo);
	CHECK(oe == -1 && oo == -1);
	epoch_cache_close(c);
}

static void
test_epochs__truncate(void)
{
	char path[128];
	struct epoch_cache *c = fresh("trunc", path, sizeof(path));
	struct err e = { 0 };

	CHECK(epoch_cache_assign(c, 2, 6, &e) == 0);
	CHECK(epoch_cache_assign(c, 3, 8, &e) == 0);
	CHECK(epoch_cache_assign(c, 4, 11, &e) == 0);
	/* From the end: entries starting at or after the new end go. */
	CHECK(epoch_cache_truncate_from_end(c, 12, &e) == 0);
	CHECK(strcmp(dump(c), "2:6 3:8 4:11") == 0);
	CHECK(epoch_cache_truncate_from_end(c, 11, &e) == 0);
	CHECK(strcmp(dump(c), "2:6 3:8") == 0);
	CHECK(epoch_cache_truncate_from_end(c, -1, &e) == 0);
	CHECK(strcmp(dump(c), "2:6 3:8") == 0);
	CHECK(epoch_cache_assign(c, 4, 11, &e) == 0);
	/* From the start: exclusive, the owner of the new start moves up. */
	CHECK(epoch_cache_truncate_from_start(c, 5, &e) == 0);
	CHECK(strcmp(dump(c), "2:6 3:8 4:11") == 0);
	CHECK(epoch_cache_truncate_from_start(c, 6, &e) == 0);
	CHECK(strcmp(dump(c), "2:6 3:8 4:11") == 0);
	CHECK(epoch_cache_truncate_from_start(c, 9, &e) == 0);
	CHECKF(strcmp(dump(c), "3:9 4:11") == 0, "%s", dump(c));
	CHECK(epoch_cache_truncate_from_start(c, 11, &e) == 0);
	CHECKF(strcmp(dump(c), "4:11") == 0, "%s", dump(c));
	CHECK(epoch_cache_truncate_from_start(c, 50, &e) == 0);
	CHECKF(strcmp(dump(c), "4:50") == 0, "%s", dump(c));
	CHECK(epoch_cache_truncate_from_end(c, 0, &e) == 0);
	CHECK(epoch_cache_count(c) == 0 && epoch_cache_latest(c) == -1);
	CHECK(epoch_cache_assign(c, 7, 3, &e) == 0);
	CHECK(epoch_cache_clear(c, &e) == 0 && epoch_cache_count(c) == 0);
	epoch_cache_close(c);
}

static void
test_epochs__persist(void)
{
	char path[128], file[192];
	struct epoch_cache *c = fresh("persist", path, sizeof(path)), *d;
	struct err e = { 0 };
	size_t len;
	char *text;

	snprintf(file, sizeof(file), "%s/leader-epoch-checkpoint", path);
	/* Nothing is written until something changes. */
	CHECK(!lt_exists(file));
	CHECK(epoch_cache_assign(c, 0, 0, &e) == 0);
	CHECK(epoch_cache_assign(c, 3, 120, &e) == 0);
	text = (char *)lt_read_file(file, &len);
	CHECK(text != NULL && len == 14 &&
	    memcmp(text, "0\n2\n0 0\n3 120\n", 14) == 0);
	free(text);
	snprintf(file, sizeof(file), "%s/leader-epoch-checkpoint.tmp", path);
	CHECK(!lt_exists(file));
	CHECK(epoch_cache_open(path, &d, &e) == 0);
	CHECK(strcmp(dump(d), "0:0 3:120") == 0);
	epoch_cache_close(d);
	/* Truncations are persisted too. */
	CHECK(epoch_cache_truncate_from_end(c, 120, &e) == 0);
	CHECK(epoch_cache_open(path, &d, &e) == 0);
	CHECK(strcmp(dump(d), "0:0") == 0);
	epoch_cache_close(d);
	epoch_cache_close(c);
	/* A directory that is gone: the write fails, naming the file. */
	c = fresh("gone", path, sizeof(path));
	lt_rmrf(path);
	e.msg[0] = '\0';
	CHECK(epoch_cache_assign(c, 1, 1, &e) == -1);
	CHECK(strstr(e.msg, "leader-epoch-checkpoint") != NULL);
	epoch_cache_close(c);
}

/* The inode of `file`, or 0 when it is missing. */
static unsigned long
inode_of(const char *file)
{
	struct stat st;

	return stat(file, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static void
test_epochs__defer(void)
{
	char path[128], file[192];
	struct epoch_cache *c = fresh("defer", path, sizeof(path)), *d;
	struct err e = { 0 };
	unsigned long ino;

	snprintf(file, sizeof(file), "%s/leader-epoch-checkpoint", path);
	CHECK(epoch_cache_assign(c, 0, 0, &e) == 0);
	ino = inode_of(file);
	CHECK(ino != 0);
	epoch_cache_close(c);
	/*
	 * An empty log's start: truncation at end offset 0 drops (0, 0), as
	 * Kafka's truncateFromEnd, and leading again re-adds it. Deferred,
	 * the file is not rewritten (a rewrite renames a new inode in).
	 */
	CHECK(epoch_cache_open(path, &c, &e) == 0);
	epoch_cache_defer(c);
	CHECK(epoch_cache_truncate_from_end(c, 0, &e) == 0);
	CHECK(epoch_cache_count(c) == 0 && inode_of(file) == ino);
	CHECK(epoch_cache_truncate_from_start(c, 0, &e) == 0);
	CHECK(epoch_cache_assign(c, 0, 0, &e) == 0);
	CHECK(epoch_cache_flush(c, &e) == 0);
	CHECK(strcmp(dump(c), "0:0") == 0 && inode_of(file) == ino);
	/* Undeferred, a change back to the file's content writes nothing. */
	CHECK(epoch_cache_clear(c, &e) == 0);
	CHECK(inode_of(file) != ino);
	ino = inode_of(file);
	CHECK(epoch_cache_clear(c, &e) == 0 && inode_of(file) == ino);
	epoch_cache_close(c);
	/* A net change is written once, at the flush. */
	CHECK(epoch_cache_open(path, &c, &e) == 0);
	epoch_cache_defer(c);
	CHECK(epoch_cache_assign(c, 2, 10, &e) == 0);
	CHECK(epoch_cache_assign(c, 3, 20, &e) == 0);
	CHECK(inode_of(file) == ino);
	CHECK(epoch_cache_open(path, &d, &e) == 0 &&
	    epoch_cache_count(d) == 0);
	epoch_cache_close(d);
	CHECK(epoch_cache_flush(c, &e) == 0 && inode_of(file) != ino);
	CHECK(epoch_cache_open(path, &d, &e) == 0 &&
	    strcmp(dump(d), "2:10 3:20") == 0);
	epoch_cache_close(d);
	/* A truncation that changes the content still persists. */
	CHECK(epoch_cache_truncate_from_end(c, 20, &e) == 0);
	CHECK(epoch_cache_open(path, &d, &e) == 0 &&
	    strcmp(dump(d), "2:10") == 0);
	epoch_cache_close(d);
	epoch_cache_close(c);
}

static void
test_epochs__malformed(void)
{
	static const struct {
		const char *text;
		const char *where;
		const char *what;
	} cases[] = {
		{ "", ":1:", "missing version" },
		{ "0\n", ":2:", "missing entry count" },
		{ "1\n0\n", ":1:", "version" },
		{ "0\nx\n", ":2:", "count" },
		{ "0\n2\n0 0\n", ":3:", "expected 2 entries, found 1" },
		{ "0\n1\n0 0\n1 5\n", ":4:", "more entries" },
		{ "0\n1\n0\n", ":3:", "expected '<epoch> <start offset>'" },
		{ "0\n1\n-1 0\n", ":3:", "invalid epoch" },
		{ "0\n1\n2147483648 0\n", ":3:", "invalid epoch" },
		{ "0\n1\n0 -4\n", ":3:", "invalid start offset" },
		{ "0\n1\n0 4 5\n", ":3:", "invalid start offset" },
		{ "0\n2\n3 0\n3 5\n", ":4:", "epoch not above" },
		{ "0\n2\n3 5\n4 5\n", ":4:", "start offset not above" },
		{ "0\n2\n3 5\n1 9\n", ":4:", "epoch not above" },
	};
	char path[128], file[192];
	struct epoch_cache *c;
	struct err e;
	size_t i;

	snprintf(path, sizeof(path), "%s/bad", dir);
	mkdir(path, 0755);
	snprintf(file, sizeof(file), "%s/leader-epoch-checkpoint", path);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(lt_write_file(file, cases[i].text,
		    strlen(cases[i].text)) == 0);
		e.code = 0;
		e.msg[0] = '\0';
		c = (struct epoch_cache *)&e;	/* must be reset to NULL */
		CHECKF(epoch_cache_open(path, &c, &e) == -1 &&
		    e.code == EXIT_DATAERR && c == NULL &&
		    strstr(e.msg, cases[i].where) != NULL &&
		    strstr(e.msg, cases[i].what) != NULL,
		    "case %zu: %s", i, e.msg);
		CHECK(strncmp(e.msg, file, strlen(file)) == 0);
	}
	/* A missing final newline is tolerated. */
	CHECK(lt_write_file(file, "0\n1\n4 7", 7) == 0);
	CHECK(epoch_cache_open(path, &c, &e) == 0 &&
	    epoch_cache_latest(c) == 4);
	epoch_cache_close(c);
}

int
main(void)
{
	if (lt_tmpdir(dir, sizeof(dir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_epochs__assign);
	TEST(test_epochs__end_offset_for);
	TEST(test_epochs__truncate);
	TEST(test_epochs__persist);
	TEST(test_epochs__defer);
	TEST(test_epochs__malformed);
	lt_rmrf(dir);
	TEST_DONE();
}
