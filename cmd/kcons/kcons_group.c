/* SPDX-License-Identifier: MIT */
/*
 * Consumer-group mode (-G): membership through the group coordinator
 * (FindCoordinator, JoinGroup with KIP-394 member ids, SyncGroup,
 * Heartbeat, LeaveGroup), the client-side assignment done by the leader
 * (cproto_assign), and offset commits. The protocol is eager: before
 * rejoining, every owned partition is drained to stdout, its written
 * offsets are committed and it goes back to KC_P_IDLE; after SyncGroup
 * the new partitions start at their committed offsets (OffsetFetch) or,
 * without one, where -o says.
 *
 * Commits are at-least-once: only `written` offsets (records known to
 * have reached stdout) are committed, never more, and never lower than
 * what this member committed before. With --commit-before a batch is
 * committed before it is printed (at-most-once). Joins and commits wait
 * for their answer (other connections keep being served); heartbeats
 * are sent from the consume loop without waiting.
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

/* Membership */

/*
 * Our subscription, as JoinGroup member metadata: v1 with the partitions
 * of the last assignment as owned ones, and for "sticky" the same again
 * as StickyAssignorUserData v1 (with its generation), which is what the
 * Java and librdkafka sticky assignors read.
 */
static void
put_subscription(struct buf *b, const struct kc *kc, const char *protocol)
{
	const struct kc_group *g = kc->g;
	struct cproto_subscription s;
	struct buf ud;
	int32_t i, j;

	buf_init(&ud);
	memset(&s, 0, sizeof(s));
	s.version = 1;
	s.topics = kc->o->topics;
	s.ntopics = (int32_t)kc->o->ntopics;
	s.user_data_len = -1;
	s.owned = g->prev.topics;
	s.nowned = g->prev.ntopics;
	if (strcmp(protocol, "sticky") == 0 && g->prev.ntopics > 0) {
		buf_put_i32(&ud, g->prev.ntopics);
		for (i = 0; i < g->prev.ntopics; i++) {
			proto_put_cstr(&ud, g->prev.topics[i].topic);
			buf_put_i32(&ud, g->prev.topics[i].npartitions);
			for (j = 0; j < g->prev.topics[i].npartitions; j++)
				buf_put_i32(&ud,
				    g->prev.topics[i].partitions[j]);
		}
		buf_put_i32(&ud, g->prev_gen);
		s.user_data = ud.data;
		s.user_data_len = (int32_t)ud.len;
	}
	cproto_subscription_encode(b, &s);
	buf_release(&ud);
}

struct joined {
	int32_t generation;
	char *protocol;
	bool leader;
	size_t nmembers;
	char **ids;
	struct cproto_subscription *subs;
};

static void
joined_release(struct joined *j)
{
	size_t i;

	for (i = 0; i < j->nmembers; i++) {
		free(j->ids[i]);
		cproto_subscription_release(&j->subs[i]);
	}
	free(j->ids);
	free(j->subs);
	free(j->protocol);
}

static char *
str_of(struct proto_str s)
{
	char *p = xmalloc(s.len > 0 ? (size_t)s.len + 1 : 1);

	if (s.len > 0)
		memcpy(p, s.p, (size_t)s.len);
	p[s.len > 0 ? s.len : 0] = '\0';
	return p;
}

/* What the JoinGroup error code asks for. */
static enum g_step
join_code(struct kc *kc, int16_t code, struct err *e)
{
	struct kc_group *g = kc->g;

	switch (code) {
	case KERR_NONE:
		return G_OK;
	case KERR_MEMBER_ID_REQUIRED:
		return G_AGAIN;
	case KERR_UNKNOWN_MEMBER_ID:
		g->member_id[0] = '\0';
		return G_AGAIN;
	case KERR_REBALANCE_IN_PROGRESS:
	case KERR_ILLEGAL_GENERATION:
		return G_AGAIN;
	case KERR_NOT_COORDINATOR:
	case KERR_COORDINATOR_NOT_AVAILABLE:
	case KERR_COORDINATOR_LOAD_IN_PROGRESS:
		g->coordinator = -1;
		err_set(e, EXIT_TEMPFAIL, "group '%s': %s", g->id,
		    kg_error_name(code));
		return G_RETRY;
	case KERR_INVALID_SESSION_TIMEOUT:
		err_set(e, EXIT_CONFIG, "group '%s': session.timeout.ms %"
		    PRId32 " is refused by the coordinator (%s)", g->id,
		    g->session_ms, kg_error_name(code));
		return G_FATAL;
	default:
		err_set(e, EXIT_FAIL, "group '%s': cannot join: %s (error %d)",
		    g->id, kg_error_name(code), code);
		return G_FATAL;
	}
}

static enum g_step
join_group(struct kc *kc, struct kcl_conn *c, struct joined *j, struct err *e)
{
	struct kc_group *g = kc->g;
	struct g_call *call;
	struct breader br;
	struct buf *b;
	struct proto_str mid, leader;
	int16_t code;
	int32_t n, i;
	size_t k;
	int v, rc;
	enum g_step step;

	v = kcl_version(c, API_JOIN_GROUP, 0, 5);
	if (v < 0) {
		err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "JoinGroup v0-5", kcl_conn_name(c));
		return G_FATAL;
	}
	b = kcl_request_begin(c, API_JOIN_GROUP, (int16_t)v);
	proto_put_cstr(b, g->id);
	buf_put_i32(b, g->session_ms);
	if (v >= 1)
		buf_put_i32(b, g->rebalance_ms);
	proto_put_cstr(b, g->member_id);
	if (v >= 5)
		proto_put_cstr(b, NULL);	/* group_instance_id */
	proto_put_cstr(b, "consumer");
	buf_put_i32(b, (int32_t)g->nprotocols);
	for (k = 0; k < g->nprotocols; k++) {
		size_t at;

		proto_put_cstr(b, g->protocols[k]);
		at = b->len;
		buf_put_i32(b, 0);
		put_subscription(b, kc, g->protocols[k]);
		be32_store(b->data + at, (uint32_t)(b->len - at - 4));
	}
	if ((call = kg_call_send(g, c, e)) == NULL) {
		g->coordinator = -1;
		return G_RETRY;
	}
	if ((rc = kg_call_wait(kc, call, &br, e)) != 0) {
		g->coordinator = -1;
		return rc < 0 ? G_RETRY : G_FATAL;
	}
	if (v >= 2)
		(void)br_i32(&br);
	code = br_i16(&br);
	j->generation = br_i32(&br);
	j->protocol = str_of(proto_read_str(&br, true));
	leader = proto_read_str(&br, true);
	mid = proto_read_str(&br, true);
	if (br_ok(&br) && mid.len > 0) {
		free(g->member_id);
		g->member_id = str_of(mid);
	}
	j->leader = br_ok(&br) && code == KERR_NONE && mid.len > 0 &&
	    leader.len == mid.len && memcmp(leader.p, mid.p,
	    (size_t)mid.len) == 0;
	n = proto_read_array_len(&br, false, 6);
	if (n > 0) {
		j->ids = xcalloc((size_t)n, sizeof(*j->ids));
		j->subs = xcalloc((size_t)n, sizeof(*j->subs));
	}
	for (i = 0; i < n && br_ok(&br); i++) {
		struct proto_str id = proto_read_str(&br, false), meta;

		if (v >= 5)
			(void)proto_read_str(&br, true);
		meta = proto_read_bytes(&br, true);
		if (!br_ok(&br))
			break;
		j->ids[j->nmembers] = str_of(id);
		if (cproto_subscription_decode(meta.p, meta.len > 0 ?
		    (size_t)meta.len : 0, &j->subs[j->nmembers], e) < 0) {
			log_warnx("group '%s': member %s: %s", g->id,
			    j->ids[j->nmembers], e->msg);
			cproto_subscription_release(&j->subs[j->nmembers]);
			memset(&j->subs[j->nmembers], 0, sizeof(*j->subs));
		}
		j->nmembers++;
	}
	rc = br_ok(&br) ? 0 : -1;
	kg_call_free(g, call);
	if (rc < 0) {
		err_set(e, EXIT_PROTOCOL, "broker %s: malformed JoinGroup "
		    "response", kcl_conn_name(c));
		return G_FATAL;
	}
	step = join_code(kc, code, e);
	if (step == G_OK)
		log_debug("group '%s': joined generation %" PRId32 " as %s%s "
		    "(assignor %s)", g->id, j->generation, g->member_id,
		    j->leader ? ", the leader" : "", j->protocol);
	return step;
}

/* The leader's work: every member's assignment, encoded for SyncGroup. */
static int
compute_assignments(struct kc *kc, const struct joined *j, struct buf *enc,
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

/* Take the partitions of an assignment: KC_P_RESOLVE until started. */
static void
take_assignment(struct kc *kc, const struct cproto_assignment *a)
{
	int32_t t, k;
	size_t n = 0;

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
			p->state = KC_P_RESOLVE;
			p->gen++;
			p->committed = -1;
			p->need_leader = p->leader < 0;
			n++;
			log_debug("group '%s': assigned topic '%s' partition %"
			    PRId32, kc->g->id, p->topic, p->id);
		}
	}
	log_info("group '%s': generation %" PRId32 ": %zu partitions "
	    "assigned", kc->g->id, kc->g->generation, n);
}

static enum g_step
sync_group(struct kc *kc, struct kcl_conn *c, const struct joined *j,
    struct err *e)
{
	struct kc_group *g = kc->g;
	struct cproto_assignment a;
	struct g_call *call;
	struct breader br;
	struct buf enc, *b;
	struct proto_str bytes;
	size_t *offs = xcalloc(j->nmembers + 1, sizeof(*offs)), i;
	int16_t code;
	int v, rc;

	buf_init(&enc);
	if (j->leader && compute_assignments(kc, j, &enc, offs, e) < 0) {
		free(offs);
		buf_release(&enc);
		return e->code == EXIT_UNAVAILABLE ? G_RETRY : G_FATAL;
	}
	v = kcl_version(c, API_SYNC_GROUP, 0, 3);
	if (v < 0) {
		free(offs);
		buf_release(&enc);
		err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "SyncGroup v0-3", kcl_conn_name(c));
		return G_FATAL;
	}
	b = kcl_request_begin(c, API_SYNC_GROUP, (int16_t)v);
	proto_put_cstr(b, g->id);
	buf_put_i32(b, j->generation);
	proto_put_cstr(b, g->member_id);
	if (v >= 3)
		proto_put_cstr(b, NULL);
	buf_put_i32(b, j->leader ? (int32_t)j->nmembers : 0);
	for (i = 0; j->leader && i < j->nmembers; i++) {
		proto_put_cstr(b, j->ids[i]);
		proto_put_bytes(b, enc.data + offs[i],
		    (int32_t)(offs[i + 1] - offs[i]));
	}
	free(offs);
	buf_release(&enc);
	if ((call = kg_call_send(g, c, e)) == NULL) {
		g->coordinator = -1;
		return G_RETRY;
	}
	if ((rc = kg_call_wait(kc, call, &br, e)) != 0) {
		g->coordinator = -1;
		return rc < 0 ? G_RETRY : G_FATAL;
	}
	if (v >= 1)
		(void)br_i32(&br);
	code = br_i16(&br);
	bytes = proto_read_bytes(&br, true);
	if (!br_ok(&br)) {
		kg_call_free(g, call);
		err_set(e, EXIT_PROTOCOL, "broker %s: malformed SyncGroup "
		    "response", kcl_conn_name(c));
		return G_FATAL;
	}
	if (code != KERR_NONE) {
		kg_call_free(g, call);
		return join_code(kc, code, e);
	}
	rc = cproto_assignment_decode(bytes.p, bytes.len > 0 ?
	    (size_t)bytes.len : 0, &a, e);
	kg_call_free(g, call);
	if (rc < 0) {
		cproto_assignment_release(&a);
		return G_FATAL;
	}
	g->generation = j->generation;
	free(g->protocol);
	g->protocol = xstrdup(j->protocol);
	take_assignment(kc, &a);
	cproto_assignment_release(&g->prev);
	g->prev = a;
	g->prev_gen = g->generation;
	return G_OK;
}

/* Give back every partition: print, commit what was written, forget. */
static void
revoke_all(struct kc *kc)
{
	struct err e = { 0 };
	size_t i, n = 0;

	for (i = 0; i < kc->nparts; i++)
		n += kc->parts[i].state != KC_P_IDLE;
	if (n == 0)
		return;
	kc_drain_pending(kc);
	if (kc->out.b.len > 0)
		(void)kc_out_flush(&kc->out);
	kc_group_written(kc);
	if (kg_commit_written(kc, &e) < 0)
		log_warnx("%s (the partitions' new owners may repeat records)",
		    e.msg);
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (p->state == KC_P_IDLE)
			continue;
		p->state = KC_P_IDLE;
		p->gen++;
	}
	log_debug("group '%s': %zu partitions revoked", kc->g->id, n);
}

/* Join, sync, and start the partitions assigned; -1 when kcons stops. */
static int
rejoin(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	struct kcl_conn *c;
	enum g_step step;
	size_t i;
	int again = 0;

	revoke_all(kc);
	g->generation = -1;
	for (;;) {
		struct joined j;

		if (kc_signalled || kc->stop)
			return -1;
		memset(&j, 0, sizeof(j));
		step = G_RETRY;
		if ((c = kg_coordinator(kc, &e)) != NULL) {
			step = join_group(kc, c, &j, &e);
			if (step == G_OK)
				step = sync_group(kc, c, &j, &e);
		}
		joined_release(&j);
		if (step == G_OK)
			break;
		if (step == G_FATAL) {
			kc_fail(kc, &e);
			return -1;
		}
		if (step == G_RETRY && (!kg_trouble(kc, &e) ||
		    !kg_pause_ms(kc, kc->s.backoff_max_ms)))
			return -1;
		/* A new member id is used at once; other retries slow down. */
		if (step == G_AGAIN && ++again > 2 &&
		    !kg_pause_ms(kc, kc->s.backoff_ms))
			return -1;
	}
	for (;;) {
		if ((c = kg_coordinator(kc, &e)) != NULL)
			step = kg_fetch_committed(kc, c, &e);
		else
			step = G_RETRY;
		if (step == G_OK)
			break;
		if (step == G_FATAL) {
			kc_fail(kc, &e);
			return -1;
		}
		if (!kg_trouble(kc, &e) || !kg_pause_ms(kc, kc->s.backoff_max_ms))
			return -1;
	}
	/* Start offsets (and the -e snapshot) of what is new to us. */
	if (kc_resolve_offsets(kc, &e) < 0) {
		kc_fail(kc, &e);
		return -1;
	}
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (p->state == KC_P_IDLE || p->state == KC_P_RESOLVE)
			continue;
		p->written = p->out_offset;
		p->commit_done = p->committed;
		log_debug("group '%s': topic '%s' partition %" PRId32 " starts "
		    "at %" PRId64 " (committed %" PRId64 ")", g->id, p->topic,
		    p->id, p->out_offset, p->committed);
	}
	kc->trouble_since = 0;
	g->assigned = true;
	g->need_join = false;
	g->hb_due = clock_mono_ms() + g->heartbeat_ms;
	return 0;
}

/* Heartbeats */

static void
heartbeat_send(struct kc *kc, int64_t now)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	struct kcl_conn *c;
	struct buf *b;
	int v;

	g->hb_due = now + g->heartbeat_ms;
	if ((c = kg_coordinator(kc, &e)) == NULL) {
		(void)kg_trouble(kc, &e);
		g->hb_due = now + kc->s.backoff_max_ms;
		return;
	}
	v = kcl_version(c, API_HEARTBEAT, 0, 3);
	if (v < 0) {
		err_set(&e, EXIT_PROTOCOL, "broker %s does not support "
		    "Heartbeat v0-3", kcl_conn_name(c));
		kc_fail(kc, &e);
		return;
	}
	b = kcl_request_begin(c, API_HEARTBEAT, (int16_t)v);
	proto_put_cstr(b, g->id);
	buf_put_i32(b, g->generation);
	proto_put_cstr(b, g->member_id);
	if (v >= 3)
		proto_put_cstr(b, NULL);
	g->hb = kg_call_send(g, c, &e);
	if (g->hb == NULL) {
		g->coordinator = -1;
		(void)kg_trouble(kc, &e);
	}
}

static void
heartbeat_done(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct g_call *call = g->hb;
	struct breader br;
	struct err e = { 0 };
	int16_t code;

	g->hb = NULL;
	if (call->fail.code != 0) {
		g->coordinator = -1;
		g->hb_due = clock_mono_ms() + kc->s.backoff_max_ms;
		(void)kg_trouble(kc, &call->fail);
		kg_call_free(g, call);
		return;
	}
	br_init(&br, call->body.data, call->body.len);
	if (call->version >= 1)
		(void)br_i32(&br);
	code = br_i16(&br);
	if (!br_ok(&br))
		code = KERR_NONE;
	kg_call_free(g, call);
	switch (code) {
	case KERR_NONE:
		if (kc->trouble_since != 0 && !kc->need_metadata)
			kc->trouble_since = 0;
		return;
	case KERR_REBALANCE_IN_PROGRESS:
		log_info("group '%s': rebalancing", g->id);
		g->need_join = true;
		return;
	case KERR_UNKNOWN_MEMBER_ID:
		g->member_id[0] = '\0';
		/* FALLTHROUGH */
	case KERR_ILLEGAL_GENERATION:
		log_warnx("group '%s': %s: joining again", g->id,
		    kg_error_name(code));
		g->need_join = true;
		return;
	default:
		if (kg_coordinator_error(code)) {
			g->coordinator = -1;
			err_set(&e, EXIT_TEMPFAIL, "group '%s': heartbeat: %s",
			    g->id, kg_error_name(code));
			(void)kg_trouble(kc, &e);
			return;
		}
		err_set(&e, EXIT_FAIL, "group '%s': heartbeat failed: %s",
		    g->id, kg_error_name(code));
		kc_fail(kc, &e);
	}
}

/* The loop's side */

bool
kc_group_tick(struct kc *kc, int64_t now)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };

	if (g->hb != NULL && g->hb->done)
		heartbeat_done(kc);
	if (g->need_join) {
		if (g->hb != NULL)
			return true;	/* its answer first: one at a time */
		if (rejoin(kc) < 0)
			return false;
		now = clock_mono_ms();
		g->commit_due = now + g->commit_ms;
	}
	if (kc->stop)
		return false;
	if (now >= g->commit_due) {
		g->commit_due = now + g->commit_ms;
		if (kg_commit_written(kc, &e) < 0)
			log_warnx("%s", e.msg);
	}
	if (g->hb == NULL && !g->need_join && now >= g->hb_due)
		heartbeat_send(kc, now);
	return !kc->stop;
}

int64_t
kc_group_poll_ms(const struct kc *kc, int64_t now)
{
	const struct kc_group *g = kc->g;
	int64_t t = g->commit_due - now;

	/* A rejoin waits for the heartbeat in flight, whose answer wakes us. */
	if (g->need_join)
		return g->hb == NULL ? 0 : t < 0 ? 0 : t;
	if (g->hb == NULL && g->hb_due - now < t)
		t = g->hb_due - now;
	return t < 0 ? 0 : t;
}

bool
kc_group_assigned(const struct kc *kc)
{
	return kc->g->assigned && !kc->g->need_join;
}

/* Set-up and the end */

static int
read_group_settings(struct kc *kc, struct kc_group *g, struct err *e)
{
	const struct kconf *c = &kc->o->conf;
	int64_t v;

	if (kconf_i64(c, "session.timeout.ms", 45000, 1, INT32_MAX, &v, e) < 0)
		return -1;
	g->session_ms = (int32_t)v;
	if (kconf_i64(c, "heartbeat.interval.ms", 3000, 1, INT32_MAX, &v,
	    e) < 0)
		return -1;
	g->heartbeat_ms = (int32_t)v;
	if (g->heartbeat_ms >= g->session_ms)
		return err_set(e, EXIT_CONFIG, "heartbeat.interval.ms (%" PRId32
		    ") must be below session.timeout.ms (%" PRId32 ")",
		    g->heartbeat_ms, g->session_ms);
	if (kconf_i64(c, "max.poll.interval.ms", 300000, 1, INT32_MAX, &v,
	    e) < 0)
		return -1;
	g->rebalance_ms = (int32_t)v;
	if (kconf_i64(c, "auto.commit.interval.ms", 5000, 1, INT32_MAX, &v,
	    e) < 0)
		return -1;
	g->commit_ms = (int32_t)v;
	return 0;
}

/* -a range,roundrobin: each name once, known to cproto. */
static int
parse_assignors(struct kc_group *g, const char *arg, struct err *e)
{
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ",");
		char *name = xmalloc(n + 1);

		memcpy(name, p, n);
		name[n] = '\0';
		g->protocols = xrealloc(g->protocols, (g->nprotocols + 1) *
		    sizeof(*g->protocols));
		g->protocols[g->nprotocols++] = name;
		if (!cproto_assignor_known(name))
			return err_set(e, EXIT_USAGE, "-a: unknown assignor "
			    "'%s' (use range, roundrobin or sticky)", name);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return 0;
}

int
kc_group_new(struct kc *kc, struct err *e)
{
	struct kc_group *g = xcalloc(1, sizeof(*g));

	kc->g = g;
	g->id = kc->o->group;
	g->coordinator = -1;
	g->generation = -1;
	g->member_id = xstrdup("");
	g->need_join = true;
	if (parse_assignors(g, kc->o->assignor ? kc->o->assignor :
	    "range,roundrobin", e) < 0 || read_group_settings(kc, g, e) < 0)
		return -1;
	return 0;
}

void
kc_group_finish(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };

	if (g == NULL)
		return;
	g->finishing = true;
	kc_group_written(kc);
	if (g->generation >= 0 && kg_commit_written(kc, &e) < 0)
		log_warnx("%s", e.msg);
	kg_leave_group(kc);
}

void
kc_group_free(struct kc *kc)
{
	struct kc_group *g = kc->g;
	size_t i;

	if (g == NULL)
		return;
	while (g->calls != NULL) {
		struct g_call *next = g->calls->next;

		buf_release(&g->calls->body);
		free(g->calls);
		g->calls = next;
	}
	for (i = 0; i < g->nprotocols; i++)
		free(g->protocols[i]);
	free(g->protocols);
	free(g->member_id);
	free(g->protocol);
	cproto_assignment_release(&g->prev);
	free(g);
	kc->g = NULL;
}
