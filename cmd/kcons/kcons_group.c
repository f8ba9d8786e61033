/* SPDX-License-Identifier: MIT */
/*
 * Consumer-group mode (-G): membership through the group coordinator
 * (FindCoordinator, JoinGroup with KIP-394 member ids, SyncGroup), the
 * rejoin loop, and the consume loop's side: what the heartbeat thread
 * reported (kcons_heartbeat.c sends the heartbeats, on a connection of
 * its own, so that a blocked stdout does not get us evicted), periodic
 * commits, set-up and the end. What a member gives up and takes in a
 * rebalance, eager or cooperative, is kcons_rebalance.c's.
 *
 * Commits are at-least-once: only `written` offsets (records known to
 * have reached stdout) are committed, never more, and never lower than
 * what this member committed before. With --commit-before a batch is
 * committed before it is printed (at-most-once). Joins and commits wait
 * for their answer (other connections keep being served, and a
 * cooperative member keeps printing meanwhile).
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

/*
 * What a JoinGroup or SyncGroup error code asks for. An unknown member id
 * or a generation gone means the partitions we hold are lost.
 */
static enum g_step
join_code(struct kc *kc, int16_t code, struct err *e)
{
	struct kc_group *g = kc->g;

	switch (code) {
	case KERR_NONE:
		return G_OK;
	case KERR_MEMBER_ID_REQUIRED:
	case KERR_REBALANCE_IN_PROGRESS:
		return G_AGAIN;
	case KERR_UNKNOWN_MEMBER_ID:
		g->member_id[0] = '\0';
		g->lost = true;
		return G_AGAIN;
	case KERR_ILLEGAL_GENERATION:
		g->lost = true;
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
		kg_put_subscription(b, kc, g->protocols[k]);
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

/* SyncGroup: on G_OK our assignment is in *a (release it). */
static enum g_step
sync_group(struct kc *kc, struct kcl_conn *c, const struct joined *j,
    struct cproto_assignment *a, struct err *e)
{
	struct kc_group *g = kc->g;
	struct g_call *call;
	struct breader br;
	struct buf enc, *b;
	struct proto_str bytes;
	size_t *offs = xcalloc(j->nmembers + 1, sizeof(*offs)), i;
	int16_t code;
	int v, rc;

	buf_init(&enc);
	if (j->leader && kg_compute_assignments(kc, j, &enc, offs, e) < 0) {
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
	    (size_t)bytes.len : 0, a, e);
	kg_call_free(g, call);
	if (rc < 0) {
		cproto_assignment_release(a);
		return G_FATAL;
	}
	g->generation = j->generation;
	free(g->protocol);
	g->protocol = xstrdup(j->protocol);
	return G_OK;
}

/* The heartbeat thread starts with the first join. */
static int
start_heartbeats(struct kc *kc, struct err *e)
{
	struct kc_group *g = kc->g;
	struct kc_hb_settings s;

	if (g->hb != NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	s.client = kc->cfg;
	s.group = g->id;
	s.topics = (const char *const *)kc->o->topics;
	s.ntopics = kc->o->ntopics;
	s.heartbeat_ms = g->heartbeat_ms;
	s.max_poll_ms = g->rebalance_ms;
	s.backoff_ms = kc->s.backoff_max_ms;
	if (kc_hb_start(&s, &g->hb, e) < 0)
		return -1;
	kc->out.on_write = kc_hb_progress;
	kc->out.on_write_arg = g->hb;
	return 0;
}

/*
 * JoinGroup and SyncGroup until both succeed; the assignment in *a.
 * Heartbeats pause while joining and start once JoinGroup answered.
 */
static int
join_and_sync(struct kc *kc, struct cproto_assignment *a)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	struct kcl_conn *c;
	enum g_step step;
	int again = 0;

	for (;;) {
		struct joined j;

		if (kc_signalled || kc->stop)
			return -1;
		if (g->lost)
			kg_prepare_join(kc);
		kc_hb_member(g->hb, g->member_id, -1);
		g->generation = -1;
		memset(&j, 0, sizeof(j));
		step = G_RETRY;
		if ((c = kg_coordinator(kc, &e)) != NULL) {
			step = join_group(kc, c, &j, &e);
			if (step == G_OK) {
				kc_hb_member(g->hb, g->member_id,
				    j.generation);
				step = sync_group(kc, c, &j, a, &e);
			}
		}
		joined_release(&j);
		if (step == G_OK)
			return 0;
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
}

/* Where the partitions new to us start: committed offsets, else -o. */
static int
start_fresh(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	struct kcl_conn *c;
	enum g_step step;
	size_t i, n = 0;

	for (i = 0; i < kc->nparts; i++)
		n += kc->parts[i].fresh;
	if (n == 0)
		return 0;
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
		if (!kg_trouble(kc, &e) ||
		    !kg_pause_ms(kc, kc->s.backoff_max_ms))
			return -1;
	}
	/* Start offsets (and the -e snapshot) of what is new to us. */
	if (kc_resolve_offsets(kc, &e) < 0) {
		kc_fail(kc, &e);
		return -1;
	}
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (!p->fresh || p->state == KC_P_RESOLVE)
			continue;
		p->fresh = false;
		p->written = p->out_offset;
		p->commit_done = p->committed;
		log_debug("group '%s': topic '%s' partition %" PRId32 " starts "
		    "at %" PRId64 " (committed %" PRId64 ")", g->id, p->topic,
		    p->id, p->out_offset, p->committed);
	}
	return 0;
}

/* Join, sync, and start the partitions assigned; -1 when kcons stops. */
static int
rejoin(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct cproto_assignment a;
	struct err e = { 0 };
	size_t revoked;

	if (start_heartbeats(kc, &e) < 0) {
		kc_fail(kc, &e);
		return -1;
	}
	kg_prepare_join(kc);
	memset(&a, 0, sizeof(a));
	if (join_and_sync(kc, &a) < 0)
		return -1;
	revoked = kg_take_assignment(kc, &a);
	cproto_assignment_release(&g->prev);
	g->prev = a;
	g->prev_gen = g->generation;
	if (start_fresh(kc) < 0)
		return -1;
	kc->trouble_since = 0;
	g->assigned = true;
	/* KIP-429: what we gave up goes to its new owner in the next round. */
	g->need_join = g->lost || (g->cooperative && revoked > 0);
	if (g->cooperative && revoked > 0)
		log_info("group '%s': %zu partitions revoked: joining again",
		    g->id, revoked);
	return 0;
}

/* What the heartbeat thread found out. */
static void
take_reports(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct kc_hb_report r;

	if (g->hb == NULL || kc_hb_take(g->hb, &r) == 0)
		return;
	if (r.flags & KC_HB_FATAL) {
		kc_fail(kc, &r.fatal);
		return;
	}
	if (r.flags & KC_HB_COORDINATOR)
		g->coordinator = -1;
	if (r.flags & KC_HB_TROUBLE)
		(void)kg_trouble(kc, &r.trouble);
	else if ((r.flags & KC_HB_OK) && kc->trouble_since != 0 &&
	    !kc->need_metadata)
		kc->trouble_since = 0;
	if (r.flags & KC_HB_NEW_MEMBER)
		g->member_id[0] = '\0';
	if (r.flags & KC_HB_LOST)
		g->lost = true;
	if ((r.flags & KC_HB_REJOIN) && !g->need_join)
		log_info("group '%s': rebalancing", g->id);
	if (r.flags & (KC_HB_LOST | KC_HB_REJOIN))
		g->need_join = true;
}

/* The loop's side */

bool
kc_group_tick(struct kc *kc, int64_t now)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };

	kc_group_alive(kc);
	take_reports(kc);
	if (g->need_join && !kc->stop) {
		g->serve = g->cooperative;
		if (rejoin(kc) < 0) {
			g->serve = false;
			return false;
		}
		g->serve = false;
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
	return !kc->stop;
}

int64_t
kc_group_poll_ms(const struct kc *kc, int64_t now)
{
	const struct kc_group *g = kc->g;
	int64_t t = g->commit_due - now;

	if (g->need_join)
		return 0;
	return t < 0 ? 0 : t;
}

int
kc_group_poll_fd(const struct kc *kc)
{
	return kc->g->hb != NULL ? kc_hb_fd(kc->g->hb) : -1;
}

void
kc_group_alive(struct kc *kc)
{
	if (kc->g != NULL && kc->g->hb != NULL)
		kc_hb_progress(kc->g->hb);
}

bool
kc_group_lost(const struct kc *kc)
{
	const struct kc_group *g = kc->g;

	return g->lost || (g->hb != NULL && kc_hb_lost(g->hb));
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

/*
 * -a range,roundrobin: each name known to cproto. As in Java, the
 * member rebalances cooperatively only when every assignor it offers
 * supports that (-a cooperative-sticky), else eagerly, whichever
 * assignor the group picks: a group never mixes the two, and offering
 * "range,cooperative-sticky" is how a group moves over to cooperative.
 */
static int
parse_assignors(struct kc_group *g, const char *arg, struct err *e)
{
	const char *p = arg;

	g->cooperative = true;
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
			    "'%s' (use range, roundrobin, sticky or "
			    "cooperative-sticky)", name);
		if (!cproto_assignor_cooperative(name))
			g->cooperative = false;
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
	g->prev_gen = -1;
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
	/* Heartbeats end first: nothing may speak for us once we left. */
	if (g->hb != NULL) {
		kc_hb_stop(g->hb);
		kc->out.on_write = NULL;
		take_reports(kc);
	}
	kc_group_written(kc);
	if (g->generation >= 0 && !g->lost && kg_commit_written(kc, &e) < 0)
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
	kc_hb_free(g->hb);
	kc->out.on_write = NULL;
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
