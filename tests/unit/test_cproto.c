/* SPDX-License-Identifier: MIT */
/*
 * ConsumerProtocol codecs and the range/roundrobin assignors, checked
 * against the examples of the Java RangeAssignor/RoundRobinAssignor
 * javadoc and unit tests (RangeAssignorTest, RoundRobinAssignorTest).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cproto.h"
#include "util.h"
#include "tinytest.h"

/* "t0:0,1 t1:2" for an assignment (topics and partitions in order). */
static void
render(const struct cproto_assignment *a, char *dst, size_t size)
{
	size_t off = 0;
	int32_t i, j;

	dst[0] = '\0';
	for (i = 0; i < a->ntopics; i++) {
		off += (size_t)snprintf(dst + off, size - off, "%s%s:",
		    i ? " " : "", a->topics[i].topic);
		for (j = 0; j < a->topics[i].npartitions; j++)
			off += (size_t)snprintf(dst + off, size - off, "%s%d",
			    j ? "," : "", (int)a->topics[i].partitions[j]);
	}
}

struct mspec {
	const char *id;
	const char *topics[4];
	const char *want;
};

static void
run_case(const char *assignor, const struct cproto_topic_meta *topics,
    size_t ntopics, const struct mspec *ms, size_t n)
{
	struct cproto_subscription subs[8] = { { 0 } };
	struct cproto_member members[8] = { { 0 } };
	struct cproto_assignment out[8];
	struct err e = { 0 };
	char got[256];
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&subs[i], 0, sizeof(subs[i]));
		subs[i].topics = (char **)(uintptr_t)ms[i].topics;
		while (subs[i].ntopics < 4 && ms[i].topics[subs[i].ntopics])
			subs[i].ntopics++;
		members[i].member_id = ms[i].id;
		members[i].sub = &subs[i];
	}
	CHECK(cproto_assign(assignor, members, n, topics, ntopics, out,
	    &e) == 0);
	for (i = 0; i < n; i++) {
		render(&out[i], got, sizeof(got));
		CHECKF(strcmp(got, ms[i].want) == 0, "%s: member %s got '%s', "
		    "want '%s'", assignor, ms[i].id, got, ms[i].want);
		cproto_assignment_release(&out[i]);
	}
}

/* RangeAssignor javadoc: two members, t0 and t1 with 3 partitions each. */
static void
test_cproto__range_javadoc(void)
{
	static const struct cproto_topic_meta t[] = { { "t0", 3 },
	    { "t1", 3 } };
	static const struct mspec m[] = {
		{ "C0", { "t0", "t1" }, "t0:0,1 t1:0,1" },
		{ "C1", { "t0", "t1" }, "t0:2 t1:2" },
	};

	run_case("range", t, 2, m, 2);
}

/* RangeAssignorTest.testMultipleConsumersMixedTopics */
static void
test_cproto__range_mixed_topics(void)
{
	static const struct cproto_topic_meta t[] = { { "topic1", 3 },
	    { "topic2", 2 } };
	static const struct mspec m[] = {
		{ "consumer1", { "topic1" }, "topic1:0" },
		{ "consumer2", { "topic1", "topic2" }, "topic1:1 topic2:0,1" },
		{ "consumer3", { "topic1" }, "topic1:2" },
	};

	run_case("range", t, 2, m, 3);
}

/* Members sorted by id (not join order); the first get the extra ones. */
static void
test_cproto__range_sorted_and_extra(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 7 } };
	static const struct mspec m[] = {
		{ "m-c", { "x" }, "x:5,6" },
		{ "m-a", { "x" }, "x:0,1,2" },
		{ "m-b", { "x" }, "x:3,4" },
	};
	static const struct cproto_topic_meta t6[] = { { "six", 6 } };
	static const struct mspec m6[] = {
		{ "b", { "six" }, "six:2,3" },
		{ "c", { "six" }, "six:4,5" },
		{ "a", { "six" }, "six:0,1" },
	};
	static const struct mspec more[] = {
		{ "a", { "x" }, "x:0" },
		{ "b", { "x" }, "" },
	};
	static const struct cproto_topic_meta one[] = { { "x", 1 } };

	run_case("range", t, 1, m, 3);
	run_case("range", t6, 1, m6, 3);
	run_case("range", one, 1, more, 2);
}

/* RoundRobinAssignor javadoc: the same two members and topics. */
static void
test_cproto__roundrobin_javadoc(void)
{
	static const struct cproto_topic_meta t[] = { { "t1", 3 },
	    { "t0", 3 } };
	static const struct mspec m[] = {
		{ "C1", { "t0", "t1" }, "t0:1 t1:0,2" },
		{ "C0", { "t0", "t1" }, "t0:0,2 t1:1" },
	};

	run_case("roundrobin", t, 2, m, 2);
}

/* RoundRobinAssignor javadoc: members with different subscriptions. */
static void
test_cproto__roundrobin_uneven(void)
{
	static const struct cproto_topic_meta t[] = { { "t0", 1 },
	    { "t1", 2 }, { "t2", 3 } };
	static const struct mspec m[] = {
		{ "C0", { "t0" }, "t0:0" },
		{ "C1", { "t0", "t1" }, "t1:0" },
		{ "C2", { "t0", "t1", "t2" }, "t1:1 t2:0,1,2" },
	};

	run_case("roundrobin", t, 3, m, 3);
}

/* Ids compare as bytes: "c10" sorts before "c2". */
static void
test_cproto__roundrobin_id_order(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 5 } };
	static const struct mspec m[] = {
		{ "c2", { "x" }, "x:1,3" },
		{ "c10", { "x" }, "x:0,2,4" },
	};

	run_case("roundrobin", t, 1, m, 2);
}

/* Sticky: members that owned partitions, by subscription v1 or user data. */
struct sspec {
	const char *id;
	const char *topics[3];
	int32_t owned[6];		/* partitions of topic "x", -1 ends */
	int32_t gen;			/* >= 0: owned goes in user data v1 */
	const char *want;
};

static void
run_sticky(const struct cproto_topic_meta *topics, size_t ntopics,
    const struct sspec *ms, size_t n)
{
	static char x_name[] = "x";
	struct cproto_subscription subs[8] = { { 0 } };
	struct cproto_topic_parts owned[8];
	struct cproto_member members[8] = { { 0 } };
	struct cproto_assignment out[8];
	struct buf ud[8];
	struct err e = { 0 };
	char got[256];
	size_t i;
	int32_t k;

	for (i = 0; i < n; i++) {
		buf_init(&ud[i]);
		subs[i].topics = (char **)(uintptr_t)ms[i].topics;
		while (subs[i].ntopics < 3 && ms[i].topics[subs[i].ntopics])
			subs[i].ntopics++;
		subs[i].user_data_len = -1;
		subs[i].generation = -1;
		owned[i].topic = x_name;
		owned[i].partitions = (int32_t *)(uintptr_t)ms[i].owned;
		for (k = 0; k < 6 && ms[i].owned[k] >= 0; k++)
			;
		owned[i].npartitions = k;
		if (ms[i].gen >= 0) {
			buf_put_i32(&ud[i], 1);
			buf_put_i16(&ud[i], 1);
			buf_put(&ud[i], "x", 1);
			buf_put_i32(&ud[i], k);
			for (k = 0; k < owned[i].npartitions; k++)
				buf_put_i32(&ud[i], ms[i].owned[k]);
			buf_put_i32(&ud[i], ms[i].gen);
			subs[i].user_data = ud[i].data;
			subs[i].user_data_len = (int32_t)ud[i].len;
		} else if (k > 0) {
			subs[i].version = 1;
			subs[i].owned = &owned[i];
			subs[i].nowned = 1;
		}
		members[i].member_id = ms[i].id;
		members[i].sub = &subs[i];
	}
	CHECK(cproto_assign("sticky", members, n, topics, ntopics, out,
	    &e) == 0);
	for (i = 0; i < n; i++) {
		render(&out[i], got, sizeof(got));
		CHECKF(strcmp(got, ms[i].want) == 0, "sticky: member %s got "
		    "'%s', want '%s'", ms[i].id, got, ms[i].want);
		cproto_assignment_release(&out[i]);
		buf_release(&ud[i]);
	}
}

static void
test_cproto__sticky_fresh_is_balanced(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 6 } };
	static const struct sspec m[] = {
		{ "c", { "x" }, { -1 }, -1, "x:2,5" },
		{ "a", { "x" }, { -1 }, -1, "x:0,3" },
		{ "b", { "x" }, { -1 }, -1, "x:1,4" },
	};

	run_sticky(t, 1, m, 3);
}

/* A member joins: each old member keeps two of its three. */
static void
test_cproto__sticky_keeps_owners(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 6 } };
	static const struct sspec m[] = {
		{ "a", { "x" }, { 0, 1, 2, -1 }, -1, "x:0,1" },
		{ "b", { "x" }, { 3, 4, 5, -1 }, -1, "x:3,4" },
		{ "c", { "x" }, { -1 }, -1, "x:2,5" },
	};
	/* A member left: nothing moves, its partitions are shared out. */
	static const struct sspec left[] = {
		{ "a", { "x" }, { 0, 1, -1 }, -1, "x:0,1,4" },
		{ "b", { "x" }, { 2, 3, -1 }, -1, "x:2,3,5" },
	};

	run_sticky(t, 1, m, 3);
	run_sticky(t, 1, left, 2);
}

/* Two claims on one partition (user data v1): the newer generation wins. */
static void
test_cproto__sticky_generation_wins(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 4 } };
	static const struct sspec m[] = {
		{ "a", { "x" }, { 0, 1, 2, -1 }, 1, "x:1,2" },
		{ "b", { "x" }, { 0, -1 }, 2, "x:0,3" },
	};

	run_sticky(t, 1, m, 2);
}

/* Different subscriptions: balanced as far as they allow. */
static void
test_cproto__sticky_mixed_subscriptions(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 2 },
	    { "y", 2 } };
	static const struct sspec m[] = {
		{ "a", { "x" }, { -1 }, -1, "x:0,1" },
		{ "b", { "x", "y" }, { -1 }, -1, "y:0,1" },
	};

	run_sticky(t, 2, m, 2);
}

static void
test_cproto__unknown_assignor(void)
{
	struct cproto_assignment out[1];
	struct err e = { 0 };

	CHECK(cproto_assign("sticky-ish", NULL, 0, NULL, 0, out, &e) < 0);
	CHECK(e.code == EXIT_USAGE);
	CHECK(cproto_assignor_known("range"));
	CHECK(cproto_assignor_known("roundrobin"));
	CHECK(cproto_assignor_known("sticky"));
	CHECK(!cproto_assignor_known("cooperative-sticky"));
}

static void
test_cproto__codec_roundtrip(void)
{
	static char a_name[] = "a", bb_name[] = "bb";
	static char *topics[] = { a_name, bb_name };
	static int32_t parts[] = { 3, 1 };
	struct cproto_topic_parts tp = { bb_name, parts, 2 };
	struct cproto_subscription s, d;
	struct cproto_assignment a, da;
	struct err e = { 0 };
	struct buf b;

	memset(&s, 0, sizeof(s));
	s.version = 1;
	s.topics = topics;
	s.ntopics = 2;
	s.user_data_len = -1;
	s.owned = &tp;
	s.nowned = 1;
	buf_init(&b);
	cproto_subscription_encode(&b, &s);
	CHECK(cproto_subscription_decode(b.data, b.len, &d, &e) == 0);
	CHECK(d.version == 1 && d.ntopics == 2);
	CHECK(d.ntopics == 2 && strcmp(d.topics[1], "bb") == 0);
	CHECK(d.nowned == 1 && d.owned[0].npartitions == 2 &&
	    d.owned[0].partitions[0] == 3);
	cproto_subscription_release(&d);

	memset(&a, 0, sizeof(a));
	a.topics = &tp;
	a.ntopics = 1;
	a.user_data_len = -1;
	buf_clear(&b);
	cproto_assignment_encode(&b, &a);
	CHECK(cproto_assignment_decode(b.data, b.len, &da, &e) == 0);
	CHECK(da.ntopics == 1 && strcmp(da.topics[0].topic, "bb") == 0 &&
	    da.topics[0].npartitions == 2 && da.topics[0].partitions[1] == 1);
	cproto_assignment_release(&da);
	/* Truncated: an error, never a crash. */
	CHECK(cproto_assignment_decode(b.data, 5, &da, &e) < 0);
	cproto_assignment_release(&da);
	/* An empty assignment (none yet). */
	CHECK(cproto_assignment_decode(b.data, 0, &da, &e) == 0 &&
	    da.ntopics == 0);
	buf_release(&b);
}

int
main(void)
{
	TEST(test_cproto__range_javadoc);
	TEST(test_cproto__range_mixed_topics);
	TEST(test_cproto__range_sorted_and_extra);
	TEST(test_cproto__roundrobin_javadoc);
	TEST(test_cproto__roundrobin_uneven);
	TEST(test_cproto__roundrobin_id_order);
	TEST(test_cproto__sticky_fresh_is_balanced);
	TEST(test_cproto__sticky_keeps_owners);
	TEST(test_cproto__sticky_generation_wins);
	TEST(test_cproto__sticky_mixed_subscriptions);
	TEST(test_cproto__unknown_assignor);
	TEST(test_cproto__codec_roundtrip);
	TEST_DONE();
}
