/* SPDX-License-Identifier: MIT */
/*
 * Tests for buf: growth, sticky failure on the writers, and compaction
 * of a consumed prefix with and without slack.
 */
#include <string.h>

#include "buf.h"
#include "tinytest.h"
#include "banned.h"

static void
test_buf__put_and_grow(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < 1000; i++)
		buf_put(&b, "abc", 3);
	buf_putc(&b, '!');
	CHECK(!b.failed && b.len == 3001 && b.cap >= b.len);
	CHECK(memcmp(b.data, "abcabc", 6) == 0 && b.data[3000] == '!');
	buf_clear(&b);
	CHECK(b.len == 0 && b.cap > 0);
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

static void
test_buf__compact(void)
{
	struct buf b = BUF_INIT;
	size_t off;

	/* Everything consumed: emptied, whatever the slack. */
	buf_put(&b, "0123456789", 10);
	off = 10;
	buf_compact(&b, &off, 100);
	CHECK(b.len == 0 && off == 0);

	/* No slack: the rest moves to the front at once. */
	buf_put(&b, "0123456789", 10);
	off = 4;
	buf_compact(&b, &off, 0);
	CHECK(off == 0 && b.len == 6 && memcmp(b.data, "456789", 6) == 0);

	/* Within the slack nothing moves; past it, it does. */
	off = 2;
	buf_compact(&b, &off, 2);
	CHECK(off == 2 && b.len == 6 && memcmp(b.data, "456789", 6) == 0);
	off = 3;
	buf_compact(&b, &off, 2);
	CHECK(off == 0 && b.len == 3 && memcmp(b.data, "789", 3) == 0);

	/* Nothing consumed: nothing changes. */
	off = 0;
	buf_compact(&b, &off, 0);
	CHECK(off == 0 && b.len == 3);
	buf_release(&b);
}

int
main(void)
{
	TEST(test_buf__put_and_grow);
	TEST(test_buf__compact);
	TEST_DONE();
}
