/* SPDX-License-Identifier: MIT */
/*
 * Group mode's requests to the coordinator: the call helpers (a request
 * whose answer is copied out, then waited for or checked later),
 * FindCoordinator, OffsetCommit of the written offsets (never more than
 * was written, never lower than this member committed before; ahead of
 * printing for --commit-before), OffsetFetch of newly assigned
 * partitions, and LeaveGroup.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "util.h"
#include "kcons.h"
#include "kcons_group.h"
#include "banned.h"

/* Calls */

static void
call_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct g_call *call = arg;

	(void)k;
	call->done = true;
	call->version = r->api_version;
	if (r->failure != NULL) {
		call->fail = *r->failure;
		return;
	}
	buf_put(&call->body, r->body->p, br_left(r->body));
}

void
kg_call_free(struct kc_group *g, struct g_call *call)
{
	struct g_call **pp;

	for (pp = &g->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == call) {
			*pp = call->next;
			buf_release(&call->body);
			free(call);
			return;
		}
}

/* Send the request built on c; NULL with e set when it cannot go. */
struct g_call *
kg_call_send(struct kc_group *g, struct kcl_conn *c, struct err *e)
{
	struct g_call *call = xcalloc(1, sizeof(*call));

	buf_init(&call->body);
	call->next = g->calls;
	g->calls = call;
	if (kcl_request_send(c, call_cb, call, false, e) < 0) {
		kg_call_free(g, call);
		return NULL;
	}
	return call;
}

/*
 * One round of a wait: print if a cooperative join allows it, and count
 * as progress (waiting on the group is not the stall max.poll.interval.ms
 * is about). true when the wait must give up: on a signal, and while
 * printing on any stop.
 */
static bool
wait_round(struct kc *kc)
{
	const struct kc_group *g = kc->g;

	kg_serve(kc);
	kc_group_alive(kc);
	return !g->finishing && (kc_signalled || (g->serve && kc->stop));
}

/*
 * Wait for a call, serving every connection (and printing, during a
 * cooperative join). 0 with the body to read in br, -1 with e set (the
 * call is freed), or 1 when interrupted first (the call stays listed:
 * its callback may still run).
 */
int
kg_call_wait(struct kc *kc, struct g_call *call, struct breader *br,
    struct err *e)
{
	while (!call->done) {
		if (wait_round(kc))
			return 1;
		if (kcl_poll(kc->k, NULL, 0, 200, e) < 0)
			return -1;
	}
	if (call->fail.code != 0) {
		*e = call->fail;
		kg_call_free(kc->g, call);
		return -1;
	}
	br_init(br, call->body.data, call->body.len);
	return 0;
}

const char *
kg_error_name(int16_t code)
{
	const char *n = proto_error_name(code);

	return n ? n : "unknown error";
}

bool
kg_coordinator_error(int16_t code)
{
	return code == KERR_NOT_COORDINATOR ||
	    code == KERR_COORDINATOR_NOT_AVAILABLE ||
	    code == KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

/* Sleep ms while serving the connections; false on a signal. */
bool
kg_pause_ms(struct kc *kc, int32_t ms)
{
	int64_t until = clock_mono_ms() + ms, now;
	struct err e = { 0 };

	while ((now = clock_mono_ms()) < until) {
		if (wait_round(kc))
			return false;
		if (kcl_poll(kc->k, NULL, 0, until - now > 200 ? 200 :
		    (int)(until - now), &e) < 0)
			return false;
	}
	return true;
}

/* Note a retriable failure; false once -m has run out (kcons fails). */
bool
kg_trouble(struct kc *kc, struct err *e)
{
	int64_t now = clock_mono_ms();
	struct err f;

	kc_trouble(kc, e);
	if (kc->o->timeout_ms > 0 && now - kc->trouble_since >=
	    kc->o->timeout_ms) {
		f = *e;
		f.code = f.code == EXIT_UNAVAILABLE ? EXIT_UNAVAILABLE :
		    EXIT_TEMPFAIL;
		err_wrap(&f, "group '%s': giving up after %" PRId64 " ms",
		    kc->g->id, kc->o->timeout_ms);
		kc_fail(kc, &f);
		return false;
	}
	return true;
}

static int
find_coordinator(struct kc *kc, struct err *e)
{
	struct kc_group *g = kc->g;
	struct kcl_conn *c = kcl_conn(kc->k, -1, e);
	struct g_call *call;
	struct breader br;
	int16_t code;
	int32_t node;
	int v, rc;

	if (c == NULL)
		return -1;
	v = kcl_version(c, API_FIND_COORDINATOR, 0, 2);
	if (v < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "FindCoordinator v0-2", kcl_conn_name(c));
	{
		struct buf *b = kcl_request_begin(c, API_FIND_COORDINATOR,
		    (int16_t)v);

		proto_put_cstr(b, g->id);
		if (v >= 1)
			buf_put_i8(b, 0);	/* key_type: group */
	}
	if ((call = kg_call_send(g, c, e)) == NULL)
		return -1;
	if ((rc = kg_call_wait(kc, call, &br, e)) != 0)
		return rc < 0 ? -1 : err_set(e, EXIT_TEMPFAIL, "interrupted");
	if (v >= 1)
		(void)br_i32(&br);
	code = br_i16(&br);
	if (v >= 1)
		(void)proto_read_str(&br, true);
	node = br_i32(&br);
	rc = br_ok(&br) ? 0 : -1;
	kg_call_free(g, call);
	if (rc < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s: malformed "
		    "FindCoordinator response", kcl_conn_name(c));
	if (code != KERR_NONE)
		return err_set(e, EXIT_TEMPFAIL, "group '%s': no coordinator: "
		    "%s", g->id, kg_error_name(code));
	if (kcl_broker(kc->k, node) == NULL &&
	    kc_refresh_metadata(kc, e) < 0)
		return -1;
	g->coordinator = node;
	log_debug("group '%s': coordinator is broker %" PRId32, g->id, node);
	return 0;
}

/* The coordinator's connection, looking it up first if needed. */
struct kcl_conn *
kg_coordinator(struct kc *kc, struct err *e)
{
	struct kc_group *g = kc->g;
	struct kcl_conn *c;

	if (g->coordinator < 0 && find_coordinator(kc, e) < 0)
		return NULL;
	c = kcl_conn(kc->k, g->coordinator, e);
	if (c == NULL)
		g->coordinator = -1;
	return c;
}

/*
 * Commit target[i] for every partition i with target[i] above what we
 * committed last. 0, or -1 with e set (membership trouble also asks for
 * a rejoin).
 */
static int
commit_offsets(struct kc *kc, const int64_t *target, struct err *e)
{
	struct kc_group *g = kc->g;
	struct kcl_conn *c;
	struct g_call *call;
	struct breader br;
	struct buf *b;
	size_t i, j, n = 0, ntopics = 0;
	int v, rc, failed = 0;
	int16_t first = KERR_NONE;

	for (i = 0; i < kc->nparts; i++)
		if (target[i] >= 0 && target[i] > kc->parts[i].commit_done)
			n++;
	if (n == 0)
		return 0;
	if ((c = kg_coordinator(kc, e)) == NULL)
		return -1;
	v = kcl_version(c, API_OFFSET_COMMIT, 2, 7);
	if (v < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "OffsetCommit v2-7", kcl_conn_name(c));
	b = kcl_request_begin(c, API_OFFSET_COMMIT, (int16_t)v);
	proto_put_cstr(b, g->id);
	buf_put_i32(b, g->generation);
	proto_put_cstr(b, g->member_id);
	if (v >= 7)
		proto_put_cstr(b, NULL);	/* group_instance_id */
	if (v <= 4)
		buf_put_i64(b, -1);		/* retention: the broker's */
	for (i = 0; i < kc->ntopics; i++) {
		for (j = 0; j < kc->nparts; j++)
			if (kc->parts[j].topic == kc->topics[i].name &&
			    target[j] >= 0 &&
			    target[j] > kc->parts[j].commit_done)
				break;
		if (j < kc->nparts)
			ntopics++;
	}
	buf_put_i32(b, (int32_t)ntopics);
	for (i = 0; i < kc->ntopics; i++) {
		size_t np = 0;

		for (j = 0; j < kc->nparts; j++)
			if (kc->parts[j].topic == kc->topics[i].name &&
			    target[j] >= 0 &&
			    target[j] > kc->parts[j].commit_done)
				np++;
		if (np == 0)
			continue;
		proto_put_cstr(b, kc->topics[i].name);
		buf_put_i32(b, (int32_t)np);
		for (j = 0; j < kc->nparts; j++) {
			const struct kc_part *p = &kc->parts[j];

			if (p->topic != kc->topics[i].name || target[j] < 0 ||
			    target[j] <= p->commit_done)
				continue;
			buf_put_i32(b, p->id);
			buf_put_i64(b, target[j]);
			if (v >= 6)
				buf_put_i32(b, -1);	/* leader epoch */
			proto_put_cstr(b, "");		/* metadata */
		}
	}
	if ((call = kg_call_send(g, c, e)) == NULL) {
		g->coordinator = -1;
		return -1;
	}
	if ((rc = kg_call_wait(kc, call, &br, e)) != 0) {
		if (rc < 0)
			g->coordinator = -1;
		return rc < 0 ? -1 : err_set(e, EXIT_TEMPFAIL, "interrupted");
	}
	if (v >= 3)
		(void)br_i32(&br);
	{
		int32_t nt = proto_read_array_len(&br, false, 6), t, k;

		for (t = 0; t < nt && br_ok(&br); t++) {
			struct proto_str name = proto_read_str(&br, false);
			int32_t np = proto_read_array_len(&br, false, 6);

			for (k = 0; k < np && br_ok(&br); k++) {
				int32_t id = br_i32(&br);
				int16_t code = br_i16(&br);
				struct kc_part *p;

				if (!br_ok(&br))
					break;
				p = kc_part_find(kc, name, id);
				if (p == NULL)
					continue;
				if (code == KERR_NONE) {
					p->commit_done =
					    target[p - kc->parts];
					log_debug("group '%s': committed "
					    "topic '%s' partition %" PRId32
					    " offset %" PRId64, g->id,
					    p->topic, p->id, p->commit_done);
				} else if (!failed++) {
					first = code;
				}
			}
		}
	}
	rc = br_ok(&br) ? 0 : -1;
	kg_call_free(g, call);
	if (rc < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s: malformed "
		    "OffsetCommit response", kcl_conn_name(c));
	if (failed == 0)
		return 0;
	if (kg_coordinator_error(first))
		g->coordinator = -1;
	if (first == KERR_UNKNOWN_MEMBER_ID)
		g->member_id[0] = '\0';
	if (first == KERR_UNKNOWN_MEMBER_ID ||
	    first == KERR_ILLEGAL_GENERATION)
		g->lost = true;
	if (g->lost || first == KERR_REBALANCE_IN_PROGRESS)
		g->need_join = true;
	return err_set(e, EXIT_TEMPFAIL, "group '%s': commit failed: %s",
	    g->id, kg_error_name(first));
}

/* Commit the written offsets of the partitions we own. */
int
kg_commit_written(struct kc *kc, struct err *e)
{
	int64_t *target = xcalloc(kc->nparts + 1, sizeof(*target));
	size_t i;
	int rc;

	for (i = 0; i < kc->nparts; i++)
		target[i] = kc->parts[i].state == KC_P_IDLE ||
		    kc->parts[i].state == KC_P_RESOLVE ? -1 :
		    kc->parts[i].written;
	rc = commit_offsets(kc, target, e);
	free(target);
	return rc;
}

void
kc_group_written(struct kc *kc)
{
	size_t i;

	if (kc->out.closed || kc->out.failed || kc->out.b.len > 0)
		return;
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (p->state != KC_P_IDLE && p->state != KC_P_RESOLVE &&
		    p->out_offset > p->written)
			p->written = p->out_offset;
	}
}

bool
kc_group_before_print(struct kc *kc)
{
	int64_t *target;
	struct err e = { 0 };
	size_t i;
	int rc;

	if (!kc->o->commit_before)
		return true;
	target = xcalloc(kc->nparts + 1, sizeof(*target));
	for (i = 0; i < kc->nparts; i++)
		target[i] = -1;
	for (i = 0; i < kc->nchunks; i++) {
		struct kc_part *p = kc->chunks[i].p;

		if (kc->chunks[i].gen == p->gen && p->state == KC_P_ACTIVE)
			target[p - kc->parts] = p->fetch_offset < p->end ?
			    p->fetch_offset : p->end;
	}
	rc = commit_offsets(kc, target, &e);
	free(target);
	if (rc == 0)
		return true;
	/* Print nothing: the partitions restart from the group's offsets. */
	log_warnx("%s; not printing the fetched records", e.msg);
	kc->g->need_join = true;
	return false;
}

/* The committed offsets of the partitions just assigned. */
enum g_step
kg_fetch_committed(struct kc *kc, struct kcl_conn *c, struct err *e)
{
	struct kc_group *g = kc->g;
	struct g_call *call;
	struct breader br;
	struct buf *b;
	size_t i, j, ntopics = 0;
	int16_t top = KERR_NONE, bad = KERR_NONE;
	int v, rc;

	v = kcl_version(c, API_OFFSET_FETCH, 1, 5);
	if (v < 0) {
		err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "OffsetFetch v1-5", kcl_conn_name(c));
		return G_FATAL;
	}
	b = kcl_request_begin(c, API_OFFSET_FETCH, (int16_t)v);
	proto_put_cstr(b, g->id);
	for (i = 0; i < kc->ntopics; i++) {
		for (j = 0; j < kc->nparts; j++)
			if (kc->parts[j].topic == kc->topics[i].name &&
			    kc->parts[j].state == KC_P_RESOLVE)
				break;
		ntopics += j < kc->nparts;
	}
	buf_put_i32(b, (int32_t)ntopics);
	for (i = 0; i < kc->ntopics; i++) {
		size_t np = 0;

		for (j = 0; j < kc->nparts; j++)
			np += kc->parts[j].topic == kc->topics[i].name &&
			    kc->parts[j].state == KC_P_RESOLVE;
		if (np == 0)
			continue;
		proto_put_cstr(b, kc->topics[i].name);
		buf_put_i32(b, (int32_t)np);
		for (j = 0; j < kc->nparts; j++)
			if (kc->parts[j].topic == kc->topics[i].name &&
			    kc->parts[j].state == KC_P_RESOLVE)
				buf_put_i32(b, kc->parts[j].id);
	}
	if ((call = kg_call_send(g, c, e)) == NULL) {
		g->coordinator = -1;
		return G_RETRY;
	}
	if ((rc = kg_call_wait(kc, call, &br, e)) != 0) {
		g->coordinator = -1;
		return rc < 0 ? G_RETRY : G_FATAL;
	}
	if (v >= 3)
		(void)br_i32(&br);
	{
		int32_t nt = proto_read_array_len(&br, false, 6), t, k;

		for (t = 0; t < nt && br_ok(&br); t++) {
			struct proto_str name = proto_read_str(&br, false);
			int32_t np = proto_read_array_len(&br, false, 16);

			for (k = 0; k < np && br_ok(&br); k++) {
				int32_t id = br_i32(&br);
				int64_t off = br_i64(&br);
				int16_t code;
				struct kc_part *p;

				if (v >= 5)
					(void)br_i32(&br);
				(void)proto_read_str(&br, true);
				code = br_i16(&br);
				if (!br_ok(&br))
					break;
				p = kc_part_find(kc, name, id);
				if (p == NULL || p->state != KC_P_RESOLVE)
					continue;
				if (code != KERR_NONE)
					bad = code;
				else
					p->committed = off;
			}
		}
	}
	if (v >= 2)
		top = br_i16(&br);
	rc = br_ok(&br) ? 0 : -1;
	kg_call_free(g, call);
	if (rc < 0) {
		err_set(e, EXIT_PROTOCOL, "broker %s: malformed OffsetFetch "
		    "response", kcl_conn_name(c));
		return G_FATAL;
	}
	if (top == KERR_NONE)
		top = bad;
	if (top == KERR_NONE)
		return G_OK;
	if (kg_coordinator_error(top))
		g->coordinator = -1;
	err_set(e, EXIT_TEMPFAIL, "group '%s': OffsetFetch: %s", g->id,
	    kg_error_name(top));
	/* UNSTABLE_OFFSET_COMMIT and the like clear up: ask again. */
	return kg_coordinator_error(top) || top == 88 ? G_RETRY : G_FATAL;
}

void
kg_leave_group(struct kc *kc)
{
	struct kc_group *g = kc->g;
	struct err e = { 0 };
	struct kcl_conn *c;
	struct g_call *call;
	struct breader br;
	struct buf *b;
	int v;

	if (g->member_id[0] == '\0' || (c = kg_coordinator(kc, &e)) == NULL)
		return;
	v = kcl_version(c, API_LEAVE_GROUP, 0, 3);
	if (v < 0)
		return;
	b = kcl_request_begin(c, API_LEAVE_GROUP, (int16_t)v);
	proto_put_cstr(b, g->id);
	if (v <= 2) {
		proto_put_cstr(b, g->member_id);
	} else {
		buf_put_i32(b, 1);
		proto_put_cstr(b, g->member_id);
		proto_put_cstr(b, NULL);
	}
	if ((call = kg_call_send(g, c, &e)) == NULL)
		return;
	if (kg_call_wait(kc, call, &br, &e) == 0) {
		kg_call_free(g, call);
		log_debug("group '%s': left", g->id);
	}
}
