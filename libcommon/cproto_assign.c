/* SPDX-License-Identifier: MIT */
/*
 * The consumer-group assignors (see cproto.h). range and roundrobin are
 * pure functions of the member ids, their subscriptions and the
 * partition counts, so every client library computing them for the same
 * group reaches the same answer: that is the whole point of copying the
 * Java algorithms to the letter (member order is by member id, topics by
 * name, partitions ascending). sticky and cooperative-sticky also read
 * what each member owned; only the leader computes them, so they need
 * not match Java's choices, only its guarantees (balance, stickiness,
 * and for cooperative-sticky no partition handed over in the round its
 * owner is still consuming it).
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cproto.h"
#include "proto.h"
#include "banned.h"

/* One member's growing answer, as (topic index, partition) pairs. */
struct pick {
	int32_t topic;
	int32_t partition;
};

struct acc {
	struct pick *v;
	size_t n, cap;
};

struct ctx {
	const struct cproto_member *members;
	size_t nmembers;
	size_t *order;			/* member indexes sorted by id */
	const struct cproto_topic_meta *topics;
	size_t ntopics;
	size_t *torder;			/* topic indexes sorted by name */
	struct acc *acc;		/* per member (original order) */
};

static const struct ctx *sort_ctx;

static int
member_cmp(const void *a, const void *b)
{
	const struct cproto_member *m = sort_ctx->members;

	return strcmp(m[*(const size_t *)a].member_id,
	    m[*(const size_t *)b].member_id);
}

static int
topic_cmp(const void *a, const void *b)
{
	const struct cproto_topic_meta *t = sort_ctx->topics;

	return strcmp(t[*(const size_t *)a].topic, t[*(const size_t *)b].topic);
}

static int
subscribed(const struct cproto_member *m, const char *topic)
{
	int32_t i;

	if (m->sub == NULL)
		return 0;
	for (i = 0; i < m->sub->ntopics; i++)
		if (m->sub->topics[i] != NULL &&
		    strcmp(m->sub->topics[i], topic) == 0)
			return 1;
	return 0;
}

static int
acc_add(struct acc *a, int32_t topic, int32_t partition)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct pick *v = realloc(a->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n].topic = topic;
	a->v[a->n].partition = partition;
	a->n++;
	return 0;
}

/* Java RangeAssignor.assign(), one topic at a time. */
static int
assign_range(struct ctx *c)
{
	size_t *subs = malloc((c->nmembers + 1) * sizeof(*subs));
	size_t t, i, n;

	if (subs == NULL)
		return -1;
	for (t = 0; t < c->ntopics; t++) {
		size_t ti = c->torder[t];
		const struct cproto_topic_meta *tm = &c->topics[ti];
		int32_t per, extra, start, len, p;

		for (i = 0, n = 0; i < c->nmembers; i++)
			if (subscribed(&c->members[c->order[i]], tm->topic))
				subs[n++] = c->order[i];
		if (n == 0 || tm->npartitions <= 0)
			continue;
		per = tm->npartitions / (int32_t)n;
		extra = tm->npartitions % (int32_t)n;
		for (i = 0; i < n; i++) {
			start = per * (int32_t)i +
			    ((int32_t)i < extra ? (int32_t)i : extra);
			len = per + ((int32_t)i + 1 > extra ? 0 : 1);
			for (p = start; p < start + len; p++)
				if (acc_add(&c->acc[subs[i]], (int32_t)ti,
				    p) < 0) {
					free(subs);
					return -1;
				}
		}
	}
	free(subs);
	return 0;
}

/*
 * Java RoundRobinAssignor.assign(): a circular iterator over the sorted
 * members; each partition goes to the next member subscribed to its topic.
 */
static int
assign_roundrobin(struct ctx *c)
{
	size_t t, next = 0, tries;
	int32_t p;

	if (c->nmembers == 0)
		return 0;
	for (t = 0; t < c->ntopics; t++) {
		size_t ti = c->torder[t];
		const struct cproto_topic_meta *tm = &c->topics[ti];

		for (p = 0; p < tm->npartitions; p++) {
			for (tries = 0; tries < c->nmembers; tries++) {
				size_t m = c->order[next];

				next = (next + 1) % c->nmembers;
				if (!subscribed(&c->members[m], tm->topic))
					continue;
				if (acc_add(&c->acc[m], (int32_t)ti, p) < 0)
					return -1;
				break;
			}
		}
	}
	return 0;
}

static int
pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	int c = strcmp(sort_ctx->topics[x->topic].topic,
	    sort_ctx->topics[y->topic].topic);

	if (c != 0)
		return c;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* Turn one member's picks into an assignment (topics sorted). */
static int
build(const struct ctx *c, struct acc *a, struct cproto_assignment *out)
{
	size_t i, j;
	int32_t k;

	memset(out, 0, sizeof(*out));
	out->user_data_len = -1;
	if (a->n == 0)
		return 0;
	sort_ctx = c;
	qsort(a->v, a->n, sizeof(*a->v), pick_cmp);
	out->topics = calloc(a->n, sizeof(*out->topics));
	if (out->topics == NULL)
		return -1;
	for (i = 0; i < a->n; i = j) {
		struct cproto_topic_parts *tp = &out->topics[out->ntopics];
		const char *name = c->topics[a->v[i].topic].topic;
		size_t len = strlen(name);

		for (j = i; j < a->n && a->v[j].topic == a->v[i].topic; j++)
			;
		tp->topic = malloc(len + 1);
		tp->partitions = malloc((j - i) * sizeof(int32_t));
		out->ntopics++;
		if (tp->topic == NULL || tp->partitions == NULL)
			return -1;
		memcpy(tp->topic, name, len + 1);
		for (k = 0; k < (int32_t)(j - i); k++)
			tp->partitions[k] = a->v[i + (size_t)k].partition;
		tp->npartitions = (int32_t)(j - i);
	}
	return 0;
}

/* Sticky and cooperative-sticky */

static void
free_parts(struct cproto_topic_parts *v, int32_t n)
{
	int32_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].topic);
		free(v[i].partitions);
	}
	free(v);
}

static int
find_topic(const struct ctx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntopics; i++)
		if (strcmp(c->topics[i].topic, name) == 0)
			return (int)i;
	return -1;
}

/*
 * StickyAssignorUserData v0/v1 ([topic string, [i32]], then in v1 the
 * generation i32), what Java's StickyAssignor and librdkafka's sticky
 * assignors send. 1 with *tp allocated (free with free_parts), 0 when
 * the user data is absent or not in that layout, -1 when out of memory.
 */
static int
sticky_user_data(const struct cproto_subscription *s,
    struct cproto_topic_parts **tp, int32_t *ntp, int32_t *gen)
{
	struct cproto_topic_parts *v;
	struct breader r;
	int32_t n, i, j;

	if (s->user_data == NULL || s->user_data_len <= 0)
		return 0;
	br_init(&r, s->user_data, (size_t)s->user_data_len);
	n = proto_read_array_len(&r, false, 6);
	if (!br_ok(&r) || n <= 0)
		return 0;
	v = calloc((size_t)n, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < n && br_ok(&r); i++) {
		struct proto_str t = proto_read_str(&r, false);
		int32_t np = proto_read_array_len(&r, false, 4);

		if (!br_ok(&r))
			break;
		v[i].topic = malloc((size_t)t.len + 1);
		v[i].partitions = malloc(((size_t)np + 1) * sizeof(int32_t));
		if (v[i].topic == NULL || v[i].partitions == NULL) {
			free_parts(v, i + 1);
			return -1;
		}
		memcpy(v[i].topic, t.p, (size_t)t.len);
		v[i].topic[t.len] = '\0';
		for (j = 0; j < np; j++)
			v[i].partitions[j] = br_i32(&r);
		v[i].npartitions = np;
	}
	if (!br_ok(&r)) {
		free_parts(v, n);
		return 0;
	}
	*gen = br_left(&r) >= 4 ? br_i32(&r) : -1;
	*tp = v;
	*ntp = n;
	return 1;
}

/*
 * What a member claims to own and the generation the claim dates from.
 * Eager "sticky": its StickyAssignorUserData, else the owned partitions
 * of a v1+ subscription. "cooperative-sticky": the owned partitions
 * (the ones it is consuming), dated by the subscription's generation
 * (v2+), else its user data: Java's CooperativeStickyAssignor sends the
 * generation alone (4 bytes), librdkafka StickyAssignorUserData. *tp is
 * allocated (free with free_parts) only when *allocated; 0, or -1 when
 * out of memory.
 */
static int
member_claims(const struct cproto_subscription *s, int cooperative,
    struct cproto_topic_parts **tp, int32_t *ntp, int32_t *gen,
    int *allocated)
{
	struct cproto_topic_parts *ud;
	int32_t nud, udgen = -1;
	int rc;

	*tp = s->owned;
	*ntp = s->nowned;
	*gen = s->generation;
	*allocated = 0;
	if (cooperative && (*gen >= 0 || s->user_data_len < 4))
		return 0;
	if (cooperative && s->user_data_len == 4) {
		*gen = (int32_t)be32_load(s->user_data);
		return 0;
	}
	rc = sticky_user_data(s, &ud, &nud, &udgen);
	if (rc <= 0)
		return rc;
	if (cooperative) {
		*gen = udgen;
		free_parts(ud, nud);
		return 0;
	}
	*tp = ud;
	*ntp = nud;
	*gen = udgen;
	*allocated = 1;
	return 0;
}

/*
 * One partition: the claim that won (newest generation, then the member
 * first by id; `contested` when another member claimed it at that same
 * generation) and its owner as the assignment goes on.
 */
struct slot {
	size_t claimant;		/* SIZE_MAX: nobody claimed it */
	int32_t gen;
	int contested;
	size_t member;			/* owner; SIZE_MAX: none */
};

struct sticky {
	struct ctx *c;
	int cooperative;
	size_t *base;			/* topic index -> first slot */
	size_t nslots;
	struct slot *sl;
	size_t *load;			/* partitions per member */
};

/* The partition index of (topic ti, p) in the flat slot table. */
static struct slot *
slot_of(const struct sticky *st, size_t ti, int32_t p)
{
	return &st->sl[st->base[ti] + (size_t)p];
}

static void
claim(struct slot *s, size_t m, int32_t gen)
{
	if (s->claimant == SIZE_MAX || gen > s->gen) {
		s->claimant = m;
		s->gen = gen;
		s->contested = 0;
	} else if (gen == s->gen) {
		s->contested = 1;
	}
}

/* Every member's claims; a claim on a topic it follows makes it owner. */
static int
sticky_claims(struct sticky *st)
{
	struct ctx *c = st->c;
	size_t k;

	for (k = 0; k < c->nmembers; k++) {
		size_t m = c->order[k];
		const struct cproto_member *mb = &c->members[m];
		struct cproto_topic_parts *tp;
		int32_t ntp, gen, t, j;
		int alloc;

		if (mb->sub == NULL)
			continue;
		if (member_claims(mb->sub, st->cooperative, &tp, &ntp, &gen,
		    &alloc) < 0)
			return -1;
		for (t = 0; t < ntp; t++) {
			int ti = find_topic(c, tp[t].topic);

			/* A cooperative claim holds back all it names. */
			if (!st->cooperative && !subscribed(mb, tp[t].topic))
				continue;
			for (j = 0; ti >= 0 && j < tp[t].npartitions; j++) {
				int32_t p = tp[t].partitions[j];

				if (p >= 0 && p < c->topics[ti].npartitions)
					claim(slot_of(st, (size_t)ti, p), m,
					    gen);
			}
		}
		if (alloc)
			free_parts(tp, ntp);
	}
	/* Claims on topics a member no longer follows give no ownership. */
	for (k = 0; k < c->ntopics; k++) {
		int32_t p;

		for (p = 0; p < c->topics[k].npartitions; p++) {
			struct slot *s = slot_of(st, k, p);

			s->member = SIZE_MAX;
			if (s->claimant == SIZE_MAX ||
			    !subscribed(&c->members[s->claimant],
			    c->topics[k].topic))
				continue;
			s->member = s->claimant;
			st->load[s->member]++;
		}
	}
	return 0;
}

/* The least loaded member following topic ti (first by id); SIZE_MAX. */
static size_t
least_loaded(const struct sticky *st, size_t ti, size_t below)
{
	const struct ctx *c = st->c;
	size_t best = SIZE_MAX, j, m;

	for (j = 0; j < c->nmembers; j++) {
		m = c->order[j];
		if (!subscribed(&c->members[m], c->topics[ti].topic) ||
		    st->load[m] + 1 >= below)
			continue;
		if (best == SIZE_MAX || st->load[m] < st->load[best])
			best = m;
	}
	return best;
}

/* Unowned partitions, in topic and partition order, to the least loaded. */
static void
sticky_fill(struct sticky *st)
{
	struct ctx *c = st->c;
	size_t k, best;
	int32_t p;

	for (k = 0; k < c->ntopics; k++) {
		size_t ti = c->torder[k];

		for (p = 0; p < c->topics[ti].npartitions; p++) {
			struct slot *s = slot_of(st, ti, p);

			if (s->member != SIZE_MAX)
				continue;
			best = least_loaded(st, ti, SIZE_MAX);
			if (best == SIZE_MAX)
				continue;
			s->member = best;
			st->load[best]++;
		}
	}
}

/*
 * Moves from overloaded members to members with two or more fewer, the
 * last partitions first; each lowers the sum of squared loads, so this
 * ends, having changed as few owners as that balance allows.
 */
static void
sticky_balance(struct sticky *st)
{
	struct ctx *c = st->c;
	size_t k, best;
	int32_t p;
	int moved;

	do {
		moved = 0;
		for (k = c->ntopics; k-- > 0 && !moved;) {
			size_t ti = c->torder[k];

			for (p = c->topics[ti].npartitions; p-- > 0 &&
			    !moved;) {
				struct slot *s = slot_of(st, ti, p);

				if (s->member == SIZE_MAX)
					continue;
				best = least_loaded(st, ti,
				    st->load[s->member]);
				if (best == SIZE_MAX)
					continue;
				st->load[s->member]--;
				st->load[best]++;
				s->member = best;
				moved = 1;
			}
		}
	} while (moved);
}

/*
 * KIP-429: a partition another member is still consuming is not given
 * to its new owner in this round; the old owner sees it missing, revokes
 * it and joins again, and the next round hands it over.
 */
static int
withheld(const struct slot *s)
{
	return s->claimant != SIZE_MAX &&
	    (s->claimant != s->member || s->contested);
}

/*
 * Balanced, and keeping previous owners where possible: every member
 * keeps the partitions it owned (a partition claimed twice goes to the
 * newer generation, then the member first by id); the others go one by
 * one to the least loaded member subscribed; then partitions move from
 * the most to the least loaded member while their loads differ by two or
 * more. With `cooperative`, moving partitions are withheld (withheld()).
 */
static int
assign_sticky(struct ctx *c, int cooperative)
{
	struct sticky st;
	size_t i, k;
	int32_t p;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	st.c = c;
	st.cooperative = cooperative;
	st.base = calloc(c->ntopics + 1, sizeof(*st.base));
	if (st.base == NULL)
		return -1;
	for (i = 0; i < c->ntopics; i++) {
		st.base[i] = st.nslots;
		st.nslots += c->topics[i].npartitions > 0 ?
		    (size_t)c->topics[i].npartitions : 0;
	}
	st.sl = calloc(st.nslots + 1, sizeof(*st.sl));
	st.load = calloc(c->nmembers + 1, sizeof(*st.load));
	if (st.sl == NULL || st.load == NULL)
		goto out;
	for (i = 0; i < st.nslots; i++)
		st.sl[i].claimant = SIZE_MAX;
	if (sticky_claims(&st) < 0)
		goto out;
	sticky_fill(&st);
	sticky_balance(&st);
	for (k = 0; k < c->ntopics; k++) {
		for (p = 0; p < c->topics[k].npartitions; p++) {
			const struct slot *s = slot_of(&st, k, p);

			if (s->member == SIZE_MAX || (cooperative &&
			    withheld(s)))
				continue;
			if (acc_add(&c->acc[s->member], (int32_t)k, p) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(st.base);
	free(st.sl);
	free(st.load);
	return rc;
}

int
cproto_assignor_known(const char *name)
{
	return strcmp(name, "range") == 0 ||
	    strcmp(name, "roundrobin") == 0 || strcmp(name, "sticky") == 0 ||
	    cproto_assignor_cooperative(name);
}

int
cproto_assignor_cooperative(const char *name)
{
	return strcmp(name, "cooperative-sticky") == 0;
}

int
cproto_assign(const char *assignor, const struct cproto_member *members,
    size_t nmembers, const struct cproto_topic_meta *topics, size_t ntopics,
    struct cproto_assignment *out, struct err *e)
{
	struct ctx c;
	size_t i;
	int rc = -1;

	if (!cproto_assignor_known(assignor))
		return err_set(e, EXIT_USAGE, "unknown assignor '%s'",
		    assignor);
	memset(&c, 0, sizeof(c));
	c.members = members;
	c.nmembers = nmembers;
	c.topics = topics;
	c.ntopics = ntopics;
	c.order = calloc(nmembers + 1, sizeof(*c.order));
	c.torder = calloc(ntopics + 1, sizeof(*c.torder));
	c.acc = calloc(nmembers + 1, sizeof(*c.acc));
	for (i = 0; i < nmembers; i++)
		out[i].ntopics = 0, out[i].topics = NULL,
		    out[i].user_data = NULL;
	if (c.order == NULL || c.torder == NULL || c.acc == NULL)
		goto out;
	for (i = 0; i < nmembers; i++)
		c.order[i] = i;
	for (i = 0; i < ntopics; i++)
		c.torder[i] = i;
	sort_ctx = &c;
	qsort(c.order, nmembers, sizeof(*c.order), member_cmp);
	qsort(c.torder, ntopics, sizeof(*c.torder), topic_cmp);
	if ((strcmp(assignor, "range") == 0 ? assign_range(&c) :
	    strcmp(assignor, "sticky") == 0 ? assign_sticky(&c, 0) :
	    cproto_assignor_cooperative(assignor) ? assign_sticky(&c, 1) :
	    assign_roundrobin(&c)) < 0)
		goto out;
	for (i = 0; i < nmembers; i++)
		if (build(&c, &c.acc[i], &out[i]) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0) {
		for (i = 0; i < nmembers; i++)
			cproto_assignment_release(&out[i]);
		err_set(e, EXIT_SOFTWARE, "out of memory assigning partitions");
	}
	for (i = 0; c.acc != NULL && i < nmembers; i++)
		free(c.acc[i].v);
	free(c.acc);
	free(c.order);
	free(c.torder);
	sort_ctx = NULL;
	return rc;
}
