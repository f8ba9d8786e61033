/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ckpt.c: round trips, topic name rules, and a table of
 * malformed checkpoint files, each refused with the right line.
 */
#include <string.h>

#include "ckpt.h"
#include "util.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

static char dir[64];

static void
test_ckpt__round_trip(void)
{
	struct ckpt c, d;
	struct err e;
	char path[128];
	int64_t off;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint",
	    dir);
	ckpt_init(&c);
	ckpt_init(&d);
	CHECK(ckpt_set(&c, "orders", 0, 42, &e) == 0);
	CHECK(ckpt_set(&c, "orders", 1, 0, &e) == 0);
	CHECK(ckpt_set(&c, "a.b_c-d", 7, INT64_MAX, &e) == 0);
	CHECK(ckpt_set(&c, "orders", 0, 43, &e) == 0);	/* replaces */
	CHECK(c.count == 3);
	CHECK(ckpt_write(path, &c, &e) == 0);
	text = (char *)lt_read_file(path, &len);
	CHECK(text != NULL && len == strlen("0\n3\norders 0 43\norders 1 0\n"
	    "a.b_c-d 7 9223372036854775807\n"));
	CHECK(text != NULL && memcmp(text, "0\n3\norders 0 43\n", 16) == 0);
	free(text);
	CHECK(ckpt_read(path, &d, &e) == 0);
	CHECK(d.count == 3);
	CHECK(ckpt_get(&d, "orders", 0, &off) == 1 && off == 43);
	CHECK(ckpt_get(&d, "orders", 1, &off) == 1 && off == 0);
	CHECK(ckpt_get(&d, "a.b_c-d", 7, &off) == 1 && off == INT64_MAX);
	CHECK(ckpt_get(&d, "orders", 2, &off) == 0);
	CHECK(ckpt_get(&d, "order", 0, &off) == 0);
	/* reading again replaces the contents */
	CHECK(ckpt_read(path, &d, &e) == 0);
	CHECK(d.count == 3);
	/* empty */
	ckpt_release(&c);
	CHECK(ckpt_write(path, &c, &e) == 0);
	CHECK(ckpt_read(path, &d, &e) == 0);
	CHECK(d.count == 0);
	/* no temp file is left behind */
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint.tmp",
	    dir);
	CHECK(!lt_exists(path));
	/* missing */
	snprintf(path, sizeof(path), "%s/absent", dir);
	CHECK(ckpt_read(path, &d, &e) == -1);
	CHECK(e.code == EXIT_NOINPUT);
	ckpt_release(&c);
	ckpt_release(&d);
}

static void
test_ckpt__topics(void)
{
	struct ckpt c;
	struct err e;
	char long_name[300];

	CHECK(ckpt_topic_valid("t"));
	CHECK(ckpt_topic_valid("__consumer_offsets"));
	CHECK(ckpt_topic_valid("a-b.c_D9"));
	CHECK(ckpt_topic_valid("..."));
	CHECK(!ckpt_topic_valid(""));
	CHECK(!ckpt_topic_valid("."));
	CHECK(!ckpt_topic_valid(".."));
	CHECK(!ckpt_topic_valid("a b"));
	CHECK(!ckpt_topic_valid("a/b"));
	CHECK(!ckpt_topic_valid("caf\xc3\xa9"));
	memset(long_name, 'x', sizeof(long_name));
	long_name[249] = '\0';
	CHECK(ckpt_topic_valid(long_name));
	long_name[249] = 'x';
	long_name[250] = '\0';
	CHECK(!ckpt_topic_valid(long_name));
	ckpt_init(&c);
	CHECK(ckpt_set(&c, "a b", 0, 1, &e) == -1 && e.code == EXIT_DATAERR);
	CHECK(ckpt_set(&c, "t", -1, 1, &e) == -1);
	CHECK(ckpt_set(&c, "t", 0, -1, &e) == -1);
	CHECK(c.count == 0);
	ckpt_release(&c);
}

static void
test_ckpt__malformed(void)
{
	static const struct {
		const char *text;
		const char *where;	/* expected "file:line" suffix */
		const char *what;	/* expected substring */
	} cases[] = {
		{ "", ":1:", "missing version" },
		{ "0\n", ":2:", "missing entry count" },
		{ "1\n0\n", ":1:", "version" },
		{ "00\n0\n", ":1:", "version" },
		{ "x\n0\n", ":1:", "version" },
		{ "0\n-1\n", ":2:", "count" },
		{ "0\n1x\n", ":2:", "count" },
		{ "0\n\n", ":2:", "count" },
		{ "0\n2\nt 0 1\n", ":3:", "expected 2 entries, found 1" },
		{ "0\n1\nt 0 1\nt 1 1\n", ":4:", "more entries" },
		{ "0\n0\n\n", ":3:", "more entries" },
		{ "0\n1\nt 0\n", ":3:", "expected '<topic>" },
		{ "0\n1\nt\n", ":3:", "expected '<topic>" },
		{ "0\n1\nt 0 1 2\n", ":3:", "invalid offset" },
		{ "0\n1\nt  0 1\n", ":3:", "invalid partition" },
		{ "0\n1\nt -1 1\n", ":3:", "invalid partition" },
		{ "0\n1\nt 2147483648 1\n", ":3:", "invalid partition" },
		{ "0\n1\nt 0 -5\n", ":3:", "invalid offset" },
		{ "0\n1\nt 0 9223372036854775808\n", ":3:", "invalid offset" },
		{ "0\n1\nt 0 1\r\n", ":3:", "invalid offset" },
		{ "0\n1\nt/x 0 1\n", ":3:", "invalid topic" },
		{ "0\n1\n 0 1\n", ":3:", "invalid topic" },
		{ "0\n2\nt 0 1\nt 0 2\n", ":4:", "duplicate entry for t-0" },
		{ "0\n3\na 0 1\nb 0 1\na 0 2\n", ":5:",
		    "duplicate entry for a-0" },
	};
	struct ckpt c;
	struct err e;
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/bad", dir);
	ckpt_init(&c);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(lt_write_file(path, cases[i].text,
		    strlen(cases[i].text)) == 0);
		e.code = 0;
		e.msg[0] = '\0';
		CHECKF(ckpt_read(path, &c, &e) == -1 &&
		    e.code == EXIT_DATAERR &&
		    strstr(e.msg, cases[i].where) != NULL &&
		    strstr(e.msg, cases[i].what) != NULL && c.count == 0,
		    "case %zu: %s", i, e.msg);
		CHECK(strncmp(e.msg, path, strlen(path)) == 0);
	}
	/* a missing final newline is tolerated */
	CHECK(lt_write_file(path, "0\n1\nt 0 1", 9) == 0);
	CHECK(ckpt_read(path, &c, &e) == 0 && c.count == 1);
	ckpt_release(&c);
}

int
main(void)
{
	if (lt_tmpdir(dir, sizeof(dir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_ckpt__round_trip);
	TEST(test_ckpt__topics);
	TEST(test_ckpt__malformed);
	lt_rmrf(dir);
	TEST_DONE();
}
