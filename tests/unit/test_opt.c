/* SPDX-License-Identifier: MIT */
/*
 * Option value parsing: whole-string numbers, ranges, units, and the error
 * text naming the option and the value.
 */
#include <stdint.h>
#include <string.h>

#include "opt.h"
#include "tinytest.h"

static void
test_opt__numbers(void)
{
	struct err e = { 0 };
	uint64_t u;
	int64_t i;

	CHECK(opt_parse_u64("-n", "42", 0, 100, &u, &e) == 0 && u == 42);
	CHECK(opt_parse_u64("-n", "101", 0, 100, &u, &e) == -1);
	CHECK(e.code == EXIT_USAGE && strstr(e.msg, "-n: 101 is out of range"));
	CHECK(opt_parse_u64("-n", "-1", 0, 100, &u, &e) == -1);
	CHECK(opt_parse_u64("-n", "12x", 0, 100, &u, &e) == -1);
	CHECK(strstr(e.msg, "'12x'") != NULL);
	CHECK(opt_parse_u64("-n", "", 0, 100, &u, &e) == -1);
	CHECK(opt_parse_u64("-n", "99999999999999999999999", 0, UINT64_MAX,
	    &u, &e) == -1);
	CHECK(opt_parse_i64("-o", "-5", INT64_MIN, INT64_MAX, &i, &e) == 0 &&
	    i == -5);
	CHECK(opt_parse_i64("-o", " 5", INT64_MIN, INT64_MAX, &i, &e) == -1);
	CHECK(opt_parse_i64("-o", "5 ", INT64_MIN, INT64_MAX, &i, &e) == -1);
}

static void
test_opt__durations_and_sizes(void)
{
	struct err e = { 0 };
	uint64_t u;
	int64_t ms;

	CHECK(opt_parse_dur_ms("-t", "250", 0, INT64_MAX, &ms, &e) == 0 && ms == 250);
	CHECK(opt_parse_dur_ms("-t", "3s", 0, INT64_MAX, &ms, &e) == 0 && ms == 3000);
	CHECK(opt_parse_dur_ms("-t", "2h", 0, INT64_MAX, &ms, &e) == 0 &&
	    ms == 7200000);
	CHECK(opt_parse_dur_ms("-t", "-1h", INT64_MIN, 0, &ms, &e) == 0 &&
	    ms == -3600000);
	CHECK(opt_parse_dur_ms("-t", "7d", 0, INT64_MAX, &ms, &e) == 0 &&
	    ms == 604800000);
	CHECK(opt_parse_dur_ms("-t", "3 s", 0, INT64_MAX, &ms, &e) == -1);
	CHECK(opt_parse_dur_ms("-t", "3y", 0, INT64_MAX, &ms, &e) == -1);
	CHECK(strstr(e.msg, "bad duration '3y'") != NULL);
	CHECK(opt_parse_dur_ms("-t", "9223372036854775807d", 0, INT64_MAX, &ms,
	    &e) == -1);
	CHECK(opt_parse_size("-s", "16k", 0, UINT64_MAX, &u, &e) == 0 &&
	    u == 16384);
	CHECK(opt_parse_size("-s", "1MiB", 0, UINT64_MAX, &u, &e) == 0 &&
	    u == 1048576);
	CHECK(opt_parse_size("-s", "2g", 0, UINT64_MAX, &u, &e) == 0 &&
	    u == 2147483648ULL);
	CHECK(opt_parse_size("-s", "10", 0, UINT64_MAX, &u, &e) == 0 && u == 10);
	CHECK(opt_parse_size("-s", "1q", 0, UINT64_MAX, &u, &e) == -1);
	CHECK(opt_parse_size("-s", "-1k", 0, UINT64_MAX, &u, &e) == -1);
	CHECK(opt_parse_size("-s", "2k", 0, 1024, &u, &e) == -1);
}

int
main(void)
{
	TEST(test_opt__numbers);
	TEST(test_opt__durations_and_sizes);
	TEST_DONE();
}
