/* SPDX-License-Identifier: MIT */
/*
 * ConsumerProtocol codecs and the assignors: range and roundrobin
 * checked against the examples of the Java RangeAssignor and
 * RoundRobinAssignor javadoc and unit tests (RangeAssignorTest,
 * RoundRobinAssignorTest); sticky and cooperative-sticky by their
 * guarantees (balance, stickiness, and for cooperative-sticky that a
 * partition still owned by one member is never given to another in the
 * same round), also over simulated sequences of rebalances.
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

/*
 * Cooperative-sticky: each member's owned partitions of topic "x" go in
 * its subscription; `gen` goes in the subscription (v2) when ud is 0, in
 * the 4 bytes of Java's CooperativeStickyAssignor user data when ud is
 * 'j' (v1), in librdkafka's StickyAssignorUserData when ud is 'r' (v1).
 */
struct cspec {
	const char *id;
	const char *topics[3];
	int32_t owned[8];		/* partitions of topic "x", -1 ends */
	int32_t gen;
	char ud;
	const char *want;
};

static void
run_coop(const struct cproto_topic_meta *topics, size_t ntopics,
    const struct cspec *ms, size_t n)
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
		owned[i].topic = x_name;
		owned[i].partitions = (int32_t *)(uintptr_t)ms[i].owned;
		for (k = 0; k < 8 && ms[i].owned[k] >= 0; k++)
			;
		owned[i].npartitions = k;
		subs[i].owned = &owned[i];
		subs[i].nowned = 1;
		subs[i].version = ms[i].ud ? 1 : 2;
		subs[i].generation = ms[i].ud ? -1 : ms[i].gen;
		subs[i].user_data_len = -1;
		if (ms[i].ud == 'r') {
			buf_put_i32(&ud[i], 1);
			buf_put_i16(&ud[i], 1);
			buf_put(&ud[i], "x", 1);
			buf_put_i32(&ud[i], k);
			for (k = 0; k < owned[i].npartitions; k++)
				buf_put_i32(&ud[i], ms[i].owned[k]);
		}
		if (ms[i].ud != 0) {
			buf_put_i32(&ud[i], ms[i].gen);
			subs[i].user_data = ud[i].data;
			subs[i].user_data_len = (int32_t)ud[i].len;
		}
		members[i].member_id = ms[i].id;
		members[i].sub = &subs[i];
	}
	CHECK(cproto_assign("cooperative-sticky", members, n, topics, ntopics,
	    out, &e) == 0);
	for (i = 0; i < n; i++) {
		render(&out[i], got, sizeof(got));
		CHECKF(strcmp(got, ms[i].want) == 0, "cooperative-sticky: "
		    "member %s got '%s', want '%s'", ms[i].id, got,
		    ms[i].want);
		cproto_assignment_release(&out[i]);
		buf_release(&ud[i]);
	}
}

static void
test_cproto__coop_fresh_is_balanced(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 6 } };
	static const struct cspec m[] = {
		{ "c", { "x" }, { -1 }, -1, 0, "x:2,5" },
		{ "a", { "x" }, { -1 }, -1, 0, "x:0,3" },
		{ "b", { "x" }, { -1 }, -1, 0, "x:1,4" },
	};

	run_coop(t, 1, m, 3);
}

/*
 * KIP-429's example: b joins while a owns everything. The first round
 * gives b nothing (what moves to it is still a's), a keeps three; once
 * a revoked them and joined again, the second round hands them to b.
 */
static void
test_cproto__coop_withholds_moving(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 6 } };
	static const struct cspec first[] = {
		{ "a", { "x" }, { 0, 1, 2, 3, 4, 5, -1 }, 3, 0, "x:0,1,2" },
		{ "b", { "x" }, { -1 }, -1, 0, "" },
	};
	static const struct cspec second[] = {
		{ "a", { "x" }, { 0, 1, 2, -1 }, 4, 0, "x:0,1,2" },
		{ "b", { "x" }, { -1 }, 4, 0, "x:3,4,5" },
	};

	run_coop(t, 1, first, 2);
	run_coop(t, 1, second, 2);
}

/* A member left: its partitions are nobody's, so they move at once. */
static void
test_cproto__coop_member_left(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 6 } };
	static const struct cspec m[] = {
		{ "a", { "x" }, { 0, 1, -1 }, 5, 0, "x:0,1,4" },
		{ "b", { "x" }, { 2, 3, -1 }, 5, 0, "x:2,3,5" },
	};

	run_coop(t, 1, m, 2);
}

/*
 * A stale claim (an older generation) neither keeps a partition nor
 * holds it back; a claim at the same generation by two members holds it
 * back from everyone until both gave it up.
 */
static void
test_cproto__coop_generations(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 4 } };
	static const struct cspec stale[] = {
		{ "a", { "x" }, { 0, 1, 2, -1 }, 5, 0, "x:0,1" },
		{ "b", { "x" }, { 0, 1, 2, 3, -1 }, 4, 0, "x:3" },
	};
	static const struct cspec twice[] = {
		{ "a", { "x" }, { 0, 1, -1 }, 5, 0, "x:1" },
		{ "b", { "x" }, { 0, 2, -1 }, 5, 0, "x:2,3" },
	};

	run_coop(t, 1, stale, 2);
	run_coop(t, 1, twice, 2);
}

/* Generations from Java's 4-byte user data and librdkafka's sticky one. */
static void
test_cproto__coop_user_data_generation(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 4 } };
	static const struct cspec older[] = {
		{ "a", { "x" }, { 0, 1, 2, 3, -1 }, 7, 'j', "x:0,1" },
		{ "b", { "x" }, { 0, -1 }, 6, 'r', "" },
	};
	static const struct cspec newer[] = {
		{ "a", { "x" }, { 1, 2, 3, -1 }, 7, 'j', "x:1,2" },
		{ "b", { "x" }, { 0, -1 }, 8, 'r', "x:0" },
	};

	run_coop(t, 1, older, 2);
	run_coop(t, 1, newer, 2);
}

/* A topic its owner stopped following is held back all the same. */
static void
test_cproto__coop_unsubscribed_owner(void)
{
	static const struct cproto_topic_meta t[] = { { "x", 1 }, { "y", 1 } };
	static const struct cspec m[] = {
		{ "a", { "y" }, { 0, -1 }, 5, 0, "y:0" },
		{ "b", { "x", "y" }, { -1 }, 5, 0, "" },
	};

	run_coop(t, 2, m, 2);
}

/*
 * Simulated group: members come and go; after each change the group
 * rebalances (each member reports what it owns, revokes what it was not
 * given and joins again if it revoked anything) until a round revokes
 * nothing. Checked every round: no partition given to two members or to
 * one while another still owns it; at the end: every partition owned,
 * loads within one, at most two rounds, and no partition moved that the
 * balance did not require.
 */
#define SIM_PARTS 14
#define SIM_MEMBERS 6

struct sim {
	const struct cproto_topic_meta *topics;
	int present[SIM_MEMBERS];
	int own[SIM_MEMBERS][SIM_PARTS];	/* by slot: x:0-7, y:0-5 */
	int32_t gen;
};

static const struct cproto_topic_meta sim_topics[] = { { "x", 8 },
    { "y", 6 } };

static int
sim_slot(const char *topic, int32_t p)
{
	return topic[0] == 'x' ? p : 8 + p;
}

/* One round; returns how many partitions members revoked. */
static int
sim_round(struct sim *sm)
{
	static char xn[] = "x", yn[] = "y";
	static const char *const both[] = { "x", "y" };
	static const char *const ids[SIM_MEMBERS] = { "m0", "m1", "m2", "m3",
	    "m4", "m5" };
	struct cproto_subscription subs[SIM_MEMBERS];
	struct cproto_member members[SIM_MEMBERS];
	struct cproto_topic_parts tp[SIM_MEMBERS][2];
	int32_t parts[SIM_MEMBERS][2][8];
	struct cproto_assignment out[SIM_MEMBERS];
	int given[SIM_PARTS], idx[SIM_MEMBERS];
	struct err e = { 0 };
	size_t n = 0, i;
	int revoked = 0, s, m, t;
	int32_t k, j;

	memset(subs, 0, sizeof(subs));
	for (m = 0; m < SIM_MEMBERS; m++) {
		if (!sm->present[m])
			continue;
		tp[m][0].topic = xn;
		tp[m][1].topic = yn;
		tp[m][0].partitions = parts[m][0];
		tp[m][1].partitions = parts[m][1];
		tp[m][0].npartitions = tp[m][1].npartitions = 0;
		for (s = 0; s < SIM_PARTS; s++)
			if (sm->own[m][s]) {
				struct cproto_topic_parts *q =
				    &tp[m][s < 8 ? 0 : 1];

				q->partitions[q->npartitions++] =
				    s < 8 ? s : s - 8;
			}
		subs[n].version = 2;
		subs[n].topics = (char **)(uintptr_t)both;
		subs[n].ntopics = 2;
		subs[n].user_data_len = -1;
		subs[n].owned = tp[m];
		subs[n].nowned = 2;
		subs[n].generation = sm->gen;
		members[n].member_id = ids[m];
		members[n].sub = &subs[n];
		idx[n++] = m;
	}
	CHECK(cproto_assign("cooperative-sticky", members, n, sm->topics, 2,
	    out, &e) == 0);
	for (s = 0; s < SIM_PARTS; s++)
		given[s] = -1;
	for (i = 0; i < n; i++) {
		m = idx[i];
		for (t = 0; t < out[i].ntopics; t++)
			for (j = 0; j < out[i].topics[t].npartitions; j++) {
				s = sim_slot(out[i].topics[t].topic,
				    out[i].topics[t].partitions[j]);
				CHECKF(given[s] < 0, "slot %d given twice", s);
				given[s] = m;
				for (k = 0; k < SIM_MEMBERS; k++)
					CHECKF(k == m || !sm->present[k] ||
					    !sm->own[k][s], "slot %d given to "
					    "m%d while m%d owns it", s, m,
					    (int)k);
			}
	}
	for (i = 0; i < n; i++) {
		m = idx[i];
		for (s = 0; s < SIM_PARTS; s++) {
			revoked += sm->own[m][s] && given[s] != m;
			sm->own[m][s] = given[s] == m;
		}
		cproto_assignment_release(&out[i]);
	}
	sm->gen++;
	return revoked;
}

/* Rebalance until stable; check the end state and what moved. */
static void
sim_settle(struct sim *sm, const char *what)
{
	int before[SIM_MEMBERS][SIM_PARTS], load[SIM_MEMBERS] = { 0 };
	int rounds = 0, moved = 0, needed = 0, lo = SIM_PARTS, hi = 0;
	int m, s, owners, nm = 0;

	memcpy(before, sm->own, sizeof(before));
	do
		rounds++;
	while (sim_round(sm) > 0 && rounds < 5);
	CHECKF(rounds <= 2, "%s: %d rounds", what, rounds);
	for (s = 0; s < SIM_PARTS; s++) {
		for (m = 0, owners = 0; m < SIM_MEMBERS; m++)
			owners += sm->present[m] && sm->own[m][s];
		CHECKF(owners == 1, "%s: slot %d has %d owners", what, s,
		    owners);
	}
	for (m = 0; m < SIM_MEMBERS; m++) {
		int kept = 0, had = 0;

		if (!sm->present[m])
			continue;
		nm++;
		for (s = 0; s < SIM_PARTS; s++) {
			load[m] += sm->own[m][s];
			had += before[m][s];
			kept += before[m][s] && sm->own[m][s];
		}
		moved += had - kept;
		lo = load[m] < lo ? load[m] : lo;
		hi = load[m] > hi ? load[m] : hi;
	}
	CHECKF(hi - lo <= 1, "%s: loads from %d to %d", what, lo, hi);
	/* Only what members above the balanced share had must move. */
	for (m = 0; m < SIM_MEMBERS; m++) {
		int had = 0;

		if (!sm->present[m])
			continue;
		for (s = 0; s < SIM_PARTS; s++)
			had += before[m][s];
		if (had > (SIM_PARTS + nm - 1) / nm)
			needed += had - (SIM_PARTS + nm - 1) / nm;
	}
	CHECKF(moved <= needed, "%s: %d partitions moved, %d needed",
	    what, moved, needed);
}

static void
test_cproto__coop_simulated_group(void)
{
	struct sim sm;

	memset(&sm, 0, sizeof(sm));
	sm.topics = sim_topics;
	sm.gen = 1;
	sm.present[0] = 1;
	sim_settle(&sm, "m0 alone");
	sm.present[1] = 1;
	sim_settle(&sm, "m1 joins");
	sm.present[2] = 1;
	sm.present[3] = 1;
	sim_settle(&sm, "m2 and m3 join");
	sm.present[1] = 0;
	memset(sm.own[1], 0, sizeof(sm.own[1]));
	sim_settle(&sm, "m1 leaves");
	sm.present[4] = 1;
	sm.present[5] = 1;
	sm.present[0] = 0;
	memset(sm.own[0], 0, sizeof(sm.own[0]));
	sim_settle(&sm, "m0 leaves, m4 and m5 join");
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
	CHECK(cproto_assignor_known("cooperative-sticky"));
	CHECK(cproto_assignor_cooperative("cooperative-sticky"));
	CHECK(!cproto_assignor_cooperative("sticky"));
	CHECK(!cproto_assignor_cooperative("range"));
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
	TEST(test_cproto__coop_fresh_is_balanced);
	TEST(test_cproto__coop_withholds_moving);
	TEST(test_cproto__coop_member_left);
	TEST(test_cproto__coop_generations);
	TEST(test_cproto__coop_user_data_generation);
	TEST(test_cproto__coop_unsubscribed_owner);
	TEST(test_cproto__coop_simulated_group);
	TEST(test_cproto__unknown_assignor);
	TEST(test_cproto__codec_roundtrip);
	TEST_DONE();
}
