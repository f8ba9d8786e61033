/* SPDX-License-Identifier: MIT */
/*
 * What a group member does around a rebalance: the subscription it
 * sends in JoinGroup, the leader's assignment, and the partitions it
 * gives up and takes. Two protocols, as Kafka's ConsumerCoordinator:
 *
 *   eager        before joining, print what was fetched, commit what was
 *                written and give up every partition; take what SyncGroup
 *                gives as new;
 *   cooperative  (KIP-429, when every assignor offered supports it:
 *                cooperative-sticky) before joining only commit; keep
 *                consuming while the join waits; after SyncGroup revoke
 *                only the partitions no longer given (printed, committed,
 *                given up), take the new ones, and join again at once if
 *                anything was revoked, so that the next round can hand
 *                it to its new owner.
 *
 * A membership lost (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, left after
 * max.poll.interval.ms) gives up everything without committing: the
 * partitions may already belong to others.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cproto.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "kcons.h"
#include "kcons_group.h"
#include "banned.h"

/* The subscription */

/* StickyAssignorUserData v1: the last assignment, then its generation. */
static void
put_sticky_user_data(struct buf *ud, const struct kc_group *g)
{
	int32_t i, j;

	buf_put_i32(ud, g->prev.ntopics);
	for (i = 0; i < g->prev.ntopics; i++) {
		proto_put_cstr(ud, g->prev.topics[i].topic);
		buf_put_i32(ud, g->prev.topics[i].npartitions);
		for (j = 0; j < g->prev.topics[i].npartitions; j++)
			buf_put_i32(ud, g->prev.topics[i].partitions[j]);
	}
	buf_put_i32(ud, g->prev_gen);
}

/*
 * Our subscription, as JoinGroup member metadata. Eager assignors: v1,
 * the last assignment as owned partitions, and for "sticky" the same
 * again as StickyAssignorUserData v1 (what the Java and librdkafka
 * sticky assignors read). cooperative-sticky: v2, the partitions owned
 * now with their generation, also as the 4-byte user data of Java's
 * CooperativeStickyAssignor; a member that rebalances eagerly owns
 * nothing when it joins, so it says so (else a cooperative leader would
 * wait for it to revoke what it already gave up).
 */
void
kg_put_subscription(struct buf *b, const struct kc *kc, const char *protocol)
{
	const struct kc_group *g = kc->g;
	bool coop = cproto_assignor_cooperative(protocol);
	struct cproto_subscription s;
	struct buf ud;

	buf_init(&ud);
	memset(&s, 0, sizeof(s));
	s.version = coop ? 2 : 1;
	s.topics = kc->o->topics;
	s.ntopics = (int32_t)kc->o->ntopics;
	s.user_data_len = -1;
	s.generation = g->prev_gen;
	if (!coop || g->cooperative) {
		s.owned = g->prev.topics;
		s.nowned = g->prev.ntopics;
	}
	if (coop)
		buf_put_i32(&ud, g->prev_gen);
	else if (strcmp(protocol, "sticky") == 0 && g->prev.ntopics > 0)
		put_sticky_user_data(&ud, g);
	if (ud.len > 0) {
		s.user_data = ud.data;
		s.user_data_len = (int32_t)ud.len;
	}
	cproto_subscription_encode(b, &s);
	buf_release(&ud);
}

/* The leader */

int
kg_compute_assignments(struct kc *kc, const struct joined *j, struct buf *enc,
    size_t *offs, struct err *e)
{
	struct cproto_member *m = xcalloc(j->nmembers + 1, sizeof(*m));
	struct cproto_assignment *out = xcalloc(j->nmembers + 1,
	    sizeof(*out));
	struct cproto_topic_meta *tm = NULL;
	const char **names = NULL;
	size_t i, nnames = 0, ntm = 0, k;
	int32_t t;
	int rc = -1;

	for (i = 0; i < j->nmembers; i++) {
		m[i].member_id = j->ids[i];
		m[i].sub = &j->subs[i];
		for (t = 0; t < j->subs[i].ntopics; t++) {
			for (k = 0; k < nnames; k++)
				if (strcmp(names[k], j->subs[i].topics[t]) == 0)
					break;
			if (k < nnames)
				continue;
			names = xrealloc(names, (nnames + 1) * sizeof(*names));
			names[nnames++] = j->subs[i].topics[t];
		}
	}
	/* Other members may follow topics we do not: ask about them too. */
	if (kcl_metadata(kc->k, names, nnames, false, e) < 0)
		goto out;
	tm = xcalloc(nnames + 1, sizeof(*tm));
	for (k = 0; k < nnames; k++) {
		const struct kcl_topic *kt = kcl_topic(kc->k, names[k]);

		if (kt == NULL || kt->npartitions <= 0) {
			log_warnx("group '%s': topic '%s' is unknown: nobody "
			    "gets it", kc->g->id, names[k]);
			continue;
		}
		tm[ntm].topic = names[k];
		tm[ntm].npartitions = kt->npartitions;
		ntm++;
	}
	if (cproto_assign(j->protocol, m, j->nmembers, tm, ntm, out, e) < 0)
		goto out;
	for (i = 0; i < j->nmembers; i++) {
		offs[i] = enc->len;
		cproto_assignment_encode(enc, &out[i]);
		cproto_assignment_release(&out[i]);
	}
	offs[j->nmembers] = enc->len;
	rc = 0;
out:
	free(m);
	free(out);
	free(tm);
	free(names);
	return rc;
}

/* Giving partitions up */

static bool
owned(const struct kc_part *p)
{
	return p->state != KC_P_IDLE;
}

/*
 * Give up the owned partitions not in keep[] (NULL: all): print what was
 * fetched, commit what was written, forget them.
 */
static size_t
revoke(struct kc *kc, const bool *keep)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	size_t i, n = 0;
	bool serve = g->serve;

	for (i = 0; i < kc->nparts; i++)
		n += owned(&kc->parts[i]) && (keep == NULL || !keep[i]);
	if (n == 0)
		return 0;
	kc_drain_pending(kc);
	if (kc->out.b.len > 0)
		(void)kc_out_flush(&kc->out);
	kc_group_written(kc);
	/* Printed during the commit, records would go uncommitted. */
	g->serve = false;
	if (kg_commit_written(kc, &e) < 0)
		log_warnx("%s (the partitions' new owners may repeat records)",
		    e.msg);
	g->serve = serve;
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (!owned(p) || (keep != NULL && keep[i]))
			continue;
		p->state = KC_P_IDLE;
		p->gen++;
		p->fresh = false;
		if (keep != NULL)
			log_debug("group '%s': revoked topic '%s' partition %"
			    PRId32, g->id, p->topic, p->id);
	}
	log_debug("group '%s': %zu partitions revoked", g->id, n);
	return n;
}

/* The membership is gone: drop everything, commit nothing. */
static void
lose_all(struct kc *kc)
{
	struct kc_group *g = kc->g;
	size_t i, n = 0;

	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (!owned(p))
			continue;
		p->state = KC_P_IDLE;
		p->gen++;		/* what was fetched is not printed */
		p->fresh = false;
		n++;
	}
	/* Formatted and not written: not ours to print any more. */
	kc->out.b.len = 0;
	if (n > 0)
		log_info("group '%s': %zu partitions lost (records written "
		    "since the last commit are printed again by their next "
		    "owners)", g->id, n);
	/* A cooperative claim says "still consuming": claim nothing. */
	if (g->cooperative) {
		cproto_assignment_release(&g->prev);
		g->prev_gen = -1;
	}
	g->generation = -1;
	g->lost = false;
}

void
kg_prepare_join(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };

	if (g->lost) {
		lose_all(kc);
		return;
	}
	if (!g->cooperative) {
		(void)revoke(kc, NULL);
		return;
	}
	/* Cooperative: keep everything; commit, as Java does before joining. */
	if (kc->out.b.len > 0)
		(void)kc_out_flush(&kc->out);
	kc_group_written(kc);
	if (kg_commit_written(kc, &e) < 0)
		log_warnx("%s", e.msg);
}

/* Taking partitions */

/* keep[i]: partition i is in the assignment. */
static void
mark_given(struct kc *kc, const struct cproto_assignment *a, bool *keep)
{
	int32_t t, k;

	for (t = 0; t < a->ntopics; t++) {
		struct proto_str name = { a->topics[t].topic,
		    (int32_t)strlen(a->topics[t].topic) };

		for (k = 0; k < a->topics[t].npartitions; k++) {
			int32_t id = a->topics[t].partitions[k];
			struct kc_part *p = kc_part_find(kc, name, id);

			if (p == NULL) {
				log_warnx("group '%s': assigned topic '%s' "
				    "partition %" PRId32 " that kcons does "
				    "not know: ignored", kc->g->id,
				    a->topics[t].topic, id);
				continue;
			}
			keep[p - kc->parts] = true;
		}
	}
}

size_t
kg_take_assignment(struct kc *kc, const struct cproto_assignment *a)
{
	struct kc_group *g = kc->g;
	bool *keep = xcalloc(kc->nparts + 1, sizeof(*keep));
	size_t i, n = 0, added = 0, revoked;

	mark_given(kc, a, keep);
	revoked = revoke(kc, keep);
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (!keep[i])
			continue;
		n++;
		log_debug("group '%s': assigned topic '%s' partition %" PRId32,
		    g->id, p->topic, p->id);
		if (owned(p))
			continue;
		p->state = KC_P_RESOLVE;
		p->gen++;
		p->committed = -1;
		p->need_leader = p->leader < 0;
		p->fresh = true;
		added++;
	}
	free(keep);
	log_info("group '%s': generation %" PRId32 ": %zu partitions "
	    "assigned", g->id, g->generation, n);
	if (g->cooperative)
		log_info("group '%s': generation %" PRId32 ": %zu kept, %zu "
		    "added, %zu revoked", g->id, g->generation, n - added,
		    added, revoked);
	return revoked;
}

/*
 * Printing while a cooperative join waits, only as far as standard output
 * takes it without blocking: the main thread must stay free to answer
 * the coordinator (and tell the heartbeat thread the new generation) in
 * time. What does not fit stays buffered; what was fetched is formatted
 * once the buffer is below its usual size.
 */
void
kg_serve(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct kc_out *o = &kc->out;

	/* --commit-before would commit from inside this wait: not then. */
	if (!g->serve || g->serving || kc->stop || kc->o->commit_before)
		return;
	g->serving = true;
	if (kc_out_flush_ready(o) == 0 && o->b.len < o->flush_at) {
		o->hold = true;
		kc_drain_pending(kc);
		o->hold = false;
		(void)kc_out_flush_ready(o);
	}
	if (o->closed || o->failed)
		kc->stop = true;
	kc_group_written(kc);
	g->serving = false;
}
