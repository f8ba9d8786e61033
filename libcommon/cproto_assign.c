/* SPDX-License-Identifier: MIT */
/*
 * The range and roundrobin consumer-group assignors (see cproto.h). Both
 * are pure functions of the member ids, their subscriptions and the
 * partition counts, so every client library computing them for the same
 * group reaches the same answer: that is the whole point of copying the
 * Java algorithms to the letter (member order is by member id, topics by
 * name, partitions ascending).
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

/* Sticky */

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
 * The partitions a member says it owned, with the generation they date
 * from: its StickyAssignorUserData ([topic string, [i32]], then in v1 the
 * generation i32: what Java's StickyAssignor and librdkafka send), else
 * the owned partitions of a v1+ subscription. *tp is allocated (free
 * with free_parts) only when *allocated; 0, or -1 when out of memory.
 */
static int
member_owned(const struct cproto_subscription *s,
    struct cproto_topic_parts **tp, int32_t *ntp, int32_t *gen,
    int *allocated)
{
	struct cproto_topic_parts *v;
	struct breader r;
	int32_t n, i, j;

	*tp = s->owned;
	*ntp = s->nowned;
	*gen = s->generation;
	*allocated = 0;
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
		/* Unreadable user data: fall back on the owned partitions. */
		free_parts(v, n);
		return 0;
	}
	if (br_left(&r) >= 4)
		*gen = br_i32(&r);
	*tp = v;
	*ntp = n;
	*allocated = 1;
	return 0;
}

struct slot {
	size_t member;			/* owner; SIZE_MAX: none */
	int32_t gen;			/* generation of the claim */
};

/* The partition index of (topic ti, p) in the flat slot table. */
static size_t
slot_of(const size_t *base, size_t ti, int32_t p)
{
	return base[ti] + (size_t)p;
}

/*
 * Balanced, and keeping previous owners where possible: every member
 * keeps the partitions it owned (a partition claimed twice goes to the
 * newer generation, then the member first by id); the others go one by
 * one to the least loaded member subscribed; then partitions move from
 * the most to the least loaded member while their loads differ by two or
 * more, which changes as few owners as that balance allows.
 */
static int
assign_sticky(struct ctx *c)
{
	size_t *base = calloc(c->ntopics + 1, sizeof(*base));
	size_t nslots = 0, i, k, m, *load = NULL;
	struct slot *sl = NULL;
	int rc = -1, moved;

	if (base == NULL)
		return -1;
	for (i = 0; i < c->ntopics; i++) {
		base[i] = nslots;
		nslots += c->topics[i].npartitions > 0 ?
		    (size_t)c->topics[i].npartitions : 0;
	}
	sl = calloc(nslots + 1, sizeof(*sl));
	load = calloc(c->nmembers + 1, sizeof(*load));
	if (sl == NULL || load == NULL)
		goto out;
	for (i = 0; i < nslots; i++)
		sl[i].member = SIZE_MAX;
	for (k = 0; k < c->nmembers; k++) {
		const struct cproto_member *mb;
		struct cproto_topic_parts *tp;
		int32_t ntp, gen, t, j;
		int alloc;

		m = c->order[k];
		mb = &c->members[m];
		if (mb->sub == NULL)
			continue;
		if (member_owned(mb->sub, &tp, &ntp, &gen, &alloc) < 0)
			goto out;
		for (t = 0; t < ntp; t++) {
			int ti = find_topic(c, tp[t].topic);

			if (ti < 0 || !subscribed(mb, tp[t].topic))
				continue;
			for (j = 0; j < tp[t].npartitions; j++) {
				int32_t p = tp[t].partitions[j];
				struct slot *s;

				if (p < 0 || p >= c->topics[ti].npartitions)
					continue;
				s = &sl[slot_of(base, (size_t)ti, p)];
				if (s->member == SIZE_MAX || gen > s->gen) {
					s->member = m;
					s->gen = gen;
				}
			}
		}
		if (alloc)
			free_parts(tp, ntp);
	}
	for (i = 0; i < nslots; i++)
		if (sl[i].member != SIZE_MAX)
			load[sl[i].member]++;
	/* Unowned partitions, in topic and partition order. */
	for (k = 0; k < c->ntopics; k++) {
		size_t ti = c->torder[k];
		int32_t p;

		for (p = 0; p < c->topics[ti].npartitions; p++) {
			struct slot *s = &sl[slot_of(base, ti, p)];
			size_t best = SIZE_MAX, j;

			if (s->member != SIZE_MAX)
				continue;
			for (j = 0; j < c->nmembers; j++) {
				m = c->order[j];
				if (subscribed(&c->members[m],
				    c->topics[ti].topic) &&
				    (best == SIZE_MAX || load[m] < load[best]))
					best = m;
			}
			if (best == SIZE_MAX)
				continue;
			s->member = best;
			load[best]++;
		}
	}
	/* Moves from overloaded members; each lowers the sum of squares. */
	do {
		moved = 0;
		for (k = c->ntopics; k-- > 0 && !moved;) {
			size_t ti = c->torder[k];
			int32_t p;

			for (p = c->topics[ti].npartitions; p-- > 0 &&
			    !moved;) {
				struct slot *s = &sl[slot_of(base, ti, p)];
				size_t best = SIZE_MAX, j;

				if (s->member == SIZE_MAX)
					continue;
				for (j = 0; j < c->nmembers; j++) {
					m = c->order[j];
					if (subscribed(&c->members[m],
					    c->topics[ti].topic) &&
					    load[m] + 1 < load[s->member] &&
					    (best == SIZE_MAX ||
					    load[m] < load[best]))
						best = m;
				}
				if (best == SIZE_MAX)
					continue;
				load[s->member]--;
				load[best]++;
				s->member = best;
				moved = 1;
			}
		}
	} while (moved);
	for (k = 0; k < c->ntopics; k++) {
		int32_t p;

		for (p = 0; p < c->topics[k].npartitions; p++) {
			size_t o = sl[slot_of(base, k, p)].member;

			if (o != SIZE_MAX && acc_add(&c->acc[o], (int32_t)k,
			    p) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(base);
	free(sl);
	free(load);
	return rc;
}

int
cproto_assignor_known(const char *name)
{
	return strcmp(name, "range") == 0 ||
	    strcmp(name, "roundrobin") == 0 || strcmp(name, "sticky") == 0;
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
	    strcmp(assignor, "sticky") == 0 ? assign_sticky(&c) :
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
