/* SPDX-License-Identifier: MIT */
/*
 * Replica assignment: leaders and replicas spread evenly over brokers,
 * rack alternation puts each partition's replicas in distinct racks,
 * adding partitions later equals creating them at once, bad factors.
 */
#include <string.h>

#include "rassign.h"
#include "tinytest.h"

static const struct rassign_broker plain[3] = {
	{ 3, NULL }, { 1, NULL }, { 2, NULL },
};

static const struct rassign_broker racked[6] = {
	{ 1, "a" }, { 2, "a" }, { 3, "b" }, { 4, "b" }, { 5, "c" }, { 6, "c" },
};

static int
count_of(const int32_t *v, size_t n, int32_t id)
{
	size_t i;
	int c = 0;

	for (i = 0; i < n; i++)
		c += v[i] == id;
	return c;
}

static void
test_rassign__spread(void)
{
	int32_t out[6 * 3], leaders[6];
	struct err e = { 0 };
	int32_t p, id;

	CHECK(rassign_replicas(plain, 3, 3, 0, 0, 6, out, &e) == 0);
	for (p = 0; p < 6; p++) {
		leaders[p] = out[p * 3];
		/* Three distinct brokers per partition. */
		CHECK(out[p * 3] != out[p * 3 + 1]);
		CHECK(out[p * 3] != out[p * 3 + 2]);
		CHECK(out[p * 3 + 1] != out[p * 3 + 2]);
	}
	for (id = 1; id <= 3; id++) {
		CHECKF(count_of(leaders, 6, id) == 2, "broker %d leads %d", id,
		    count_of(leaders, 6, id));
		CHECK(count_of(out, 18, id) == 6);
	}
	/* Start 0 over brokers sorted by id: partition 0 leads on broker 1. */
	CHECK(out[0] == 1 && out[3] == 2 && out[6] == 3);
}

static void
test_rassign__followers_spread(void)
{
	int32_t out[4 * 2];
	struct err e = { 0 };
	int second[5] = { 0 };
	int32_t p;
	const struct rassign_broker four[4] = { { 1, NULL }, { 2, NULL },
		{ 3, NULL }, { 4, NULL } };

	CHECK(rassign_replicas(four, 4, 2, 1, 0, 4, out, &e) == 0);
	for (p = 0; p < 4; p++)
		second[out[p * 2 + 1]]++;
	for (p = 1; p <= 4; p++)
		CHECKF(second[p] == 1, "broker %d follows %d", p, second[p]);
}

static void
test_rassign__racks(void)
{
	int32_t out[12 * 3], leaders[12];
	size_t order[6];
	struct err e = { 0 };
	int32_t p, id;

	CHECK(rassign_order(racked, 6, order, &e) == 0);
	/* a, b, c, a, b, c */
	CHECK(racked[order[0]].id == 1 && racked[order[1]].id == 3 &&
	    racked[order[2]].id == 5 && racked[order[3]].id == 2);
	CHECK(rassign_replicas(racked, 6, 3, 2, 0, 12, out, &e) == 0);
	for (p = 0; p < 12; p++) {
		const char *r[3];
		int j;

		leaders[p] = out[p * 3];
		for (j = 0; j < 3; j++)
			r[j] = racked[out[p * 3 + j] - 1].rack;
		CHECKF(strcmp(r[0], r[1]) && strcmp(r[0], r[2]) &&
		    strcmp(r[1], r[2]), "partition %d racks %s %s %s", p, r[0],
		    r[1], r[2]);
	}
	for (id = 1; id <= 6; id++)
		CHECK(count_of(leaders, 12, id) == 2);
}

static void
test_rassign__add_equals_create(void)
{
	int32_t all[9 * 2], part[9 * 2];
	struct err e = { 0 };
	int32_t start;

	CHECK(rassign_replicas(racked, 6, 2, 4, 0, 9, all, &e) == 0);
	start = rassign_start_of(racked, 6, all[0]);
	CHECK(rassign_replicas(racked, 6, 2, start, 0, 4, part, &e) == 0);
	CHECK(rassign_replicas(racked, 6, 2, start, 4, 5, part + 8, &e) == 0);
	CHECK(memcmp(all, part, sizeof(all)) == 0);
}

static void
test_rassign__bad_factor(void)
{
	int32_t out[8];
	struct err e = { 0 };

	CHECK(rassign_replicas(plain, 3, 4, 0, 0, 1, out, &e) == -1 &&
	    e.code == EXIT_USAGE);
	CHECK(rassign_replicas(plain, 3, 0, 0, 0, 1, out, &e) == -1);
	CHECK(rassign_replicas(plain, 0, 1, 0, 0, 1, out, &e) == -1);
	CHECK(rassign_replicas(plain, 1, 1, 0, 0, 2, out, &e) == 0 &&
	    out[0] == 3 && out[1] == 3);
}

int
main(void)
{
	TEST(test_rassign__spread);
	TEST(test_rassign__followers_spread);
	TEST(test_rassign__racks);
	TEST(test_rassign__add_equals_create);
	TEST(test_rassign__bad_factor);
	TEST_DONE();
}
