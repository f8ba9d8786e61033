/* SPDX-License-Identifier: MIT */
/*
 * Group coordinator requests: FindCoordinator (v0-2), JoinGroup (v0-5),
 * SyncGroup (v0-3), Heartbeat (v0-3), LeaveGroup (v0-3), OffsetCommit
 * (v2-7), OffsetFetch (v1-5), DescribeGroups (v0-4), ListGroups (v0-2)
 * and DeleteGroups (v0-1). A JoinGroup parks until the join phase ends; a
 * follower's SyncGroup until the leader sends the assignments, and in
 * cluster mode every SyncGroup until those are replicated; the
 * connection remembers which member it waits for (conn->park_member).
 * Every group request first checks that this broker coordinates the
 * group (groups_coordinator_error), on re-runs too: a group whose
 * partition moved away answers NOT_COORDINATOR.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "util.h"
#include "banned.h"

#define GROUP_ID_MAX 255

/* Copy a group or member id; false (with *code set) if unusable. */
static bool
read_id(struct proto_str s, char *dst, size_t size)
{
	return proto_str_copy(s, dst, size);
}

static char *
str_dup(struct proto_str s)
{
	char *p;

	if (s.len < 0)
		return NULL;
	p = xmalloc((size_t)s.len + 1);
	memcpy(p, s.p, (size_t)s.len);
	p[s.len] = '\0';
	return p;
}

static struct blob
blob_dup(struct proto_str s)
{
	struct blob b = { NULL, s.len };

	if (s.len > 0) {
		b.data = xmalloc((size_t)s.len);
		memcpy(b.data, s.p, (size_t)s.len);
	}
	return b;
}

/*
 * Kafka's validateGroupStatus: the id copied into `group`, then
 * INVALID_GROUP_ID for an empty (or too long) id, or whether this broker
 * coordinates it.
 */
static int16_t
group_error(struct logd *ld, struct proto_str gid, char *group, size_t size)
{
	if (!read_id(gid, group, size) || group[0] == '\0') {
		group[0] = '\0';
		return KERR_INVALID_GROUP_ID;
	}
	return groups_coordinator_error(ld, group);
}

static void
park_done(struct conn *c)
{
	free(c->park_member);
	c->park_member = NULL;
}

/* A member id as Kafka makes them: client id, '-', random hex. */
static char *
new_member_id(struct proto_str client_id)
{
	uint8_t raw[16];
	char hex[40], *id;
	size_t i, n = client_id.len > 0 ? (size_t)client_id.len : 0;

	if (n > 180)
		n = 180;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0x5a, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	id = xmalloc(n + 1 + 32 + 1);
	if (n > 0)
		memcpy(id, client_id.p, n);
	id[n] = '-';
	memcpy(id + n + 1, hex, 32);
	id[n + 33] = '\0';
	return id;
}

enum handle_result
handle_find_coordinator(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version, code;
	const char *msg = NULL, *host = "";
	int32_t id = -1, port = -1;
	struct proto_str key;
	int8_t key_type = 0;
	char *group;

	key = proto_read_str(r, false);
	if (v >= 1)
		key_type = br_i8(r);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	if (key_type != 0) {
		code = KERR_COORDINATOR_NOT_AVAILABLE;
		msg = "transactions are not supported";
	} else {
		group = str_dup(key);
		code = groups_find_coordinator(q->ld, group, &id, &host, &port,
		    &msg);
		free(group);
	}
	if (code != KERR_NONE) {
		id = -1;
		host = "";
		port = -1;
	}
	if (v >= 1) {
		buf_put_i32(b, 0);		/* throttle_time_ms */
		buf_put_i16(b, code);
		proto_put_cstr(b, msg);
	} else {
		buf_put_i16(b, code);
	}
	buf_put_i32(b, id);
	proto_put_cstr(b, host);
	buf_put_i32(b, port);
	return HANDLE_DONE;
}

static void
put_join_response(struct req *q, int16_t code, const struct group *g,
    const char *member_id)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	bool leader = g != NULL && code == KERR_NONE && g->leader != NULL &&
	    member_id != NULL && strcmp(g->leader, member_id) == 0;
	size_t i;

	if (v >= 2)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i16(b, code);
	buf_put_i32(b, g && code == KERR_NONE ? g->generation : -1);
	proto_put_cstr(b, g && code == KERR_NONE && g->protocol ? g->protocol :
	    "");
	proto_put_cstr(b, g && code == KERR_NONE && g->leader ? g->leader : "");
	proto_put_cstr(b, member_id ? member_id : "");
	if (!leader) {
		buf_put_i32(b, 0);
		return;
	}
	buf_put_i32(b, (int32_t)g->nmembers);
	for (i = 0; i < g->nmembers; i++) {
		const struct member *m = g->members[i];
		struct blob meta = { NULL, 0 };
		int32_t k;

		for (k = 0; k < m->nprotocols; k++)
			if (strcmp(m->protocols[k].name, g->protocol) == 0)
				meta = m->protocols[k].metadata;
		proto_put_cstr(b, m->id);
		if (v >= 5)
			proto_put_cstr(b, m->instance_id);
		proto_put_bytes(b, meta.data, meta.len < 0 ? 0 : meta.len);
	}
}

/* Replace a member's offered protocols; true if they changed. */
static bool
set_protocols(struct member *m, struct member_protocol *p, int32_t n)
{
	bool changed = n != m->nprotocols;
	int32_t i;

	for (i = 0; !changed && i < n; i++)
		changed = strcmp(p[i].name, m->protocols[i].name) != 0 ||
		    p[i].metadata.len != m->protocols[i].metadata.len ||
		    (p[i].metadata.len > 0 && memcmp(p[i].metadata.data,
		    m->protocols[i].metadata.data,
		    (size_t)p[i].metadata.len) != 0);
	for (i = 0; i < m->nprotocols; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata.data);
	}
	free(m->protocols);
	m->protocols = p;
	m->nprotocols = n;
	return changed;
}

static void
free_protocols(struct member_protocol *p, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].metadata.data);
	}
	free(p);
}

/* The first run of a JoinGroup: register the member; returns an error
 * code to answer at once, or KERR_NONE to wait for the join phase. */
static int16_t
join_first(struct req *q, struct group *g, struct proto_str member_id,
    struct proto_str instance_id, struct proto_str protocol_type,
    struct member_protocol *protos, int32_t nprotos, int32_t session_ms,
    int32_t rebalance_ms, struct member **out, char *issued, size_t issued_size)
{
	struct logd *ld = q->ld;
	struct member *m;
	char *ptype = str_dup(protocol_type), id[GROUP_ID_MAX + 64];
	bool created = false, changed;

	*out = NULL;
	if (member_id.len <= 0 && q->hdr.api_version >= 4) {
		/* KIP-394: hand out an id; the client joins again with it. */
		char *nid = new_member_id(q->hdr.client_id);

		group_pending_add(g, nid, q->now_ms + session_ms);
		snprintf(issued, issued_size, "%s", nid);
		free(nid);
		free_protocols(protos, nprotos);
		free(ptype);
		return KERR_MEMBER_ID_REQUIRED;
	}
	if (member_id.len <= 0 ||
	    (read_id(member_id, id, sizeof(id)) && group_pending_take(g, id))) {
		char *nid = member_id.len > 0 ? xstrdup(id) :
		    new_member_id(q->hdr.client_id), *cid;

		cid = str_dup(q->hdr.client_id);
		m = member_new(nid, NULL, cid, q->c->peer);
		free(cid);
		free(nid);
		if (instance_id.len >= 0)
			m->instance_id = str_dup(instance_id);
		group_add_member(g, m);
		created = true;
	} else if (!read_id(member_id, id, sizeof(id)) ||
	    (m = group_find_member(g, id)) == NULL) {
		free_protocols(protos, nprotos);
		free(ptype);
		return KERR_UNKNOWN_MEMBER_ID;
	}
	m->session_timeout_ms = session_ms;
	m->rebalance_timeout_ms = rebalance_ms;
	changed = set_protocols(m, protos, nprotos);
	if (!group_supports_protocols(g, m, ptype)) {
		if (created)
			group_remove_member(ld, g, m, q->now_ms);
		free(ptype);
		return KERR_INCONSISTENT_GROUP_PROTOCOL;
	}
	if (g->protocol_type == NULL || g->nmembers == 1) {
		free(g->protocol_type);
		g->protocol_type = ptype;
	} else {
		free(ptype);
	}
	m->joined = true;
	m->join_ready = false;
	m->session_deadline_ms = q->now_ms + session_ms;
	*out = m;
	/* A follower rejoining a stable group unchanged needs no rebalance. */
	if (g->state == GROUP_STABLE && !created && !changed &&
	    (g->leader == NULL || strcmp(g->leader, m->id) != 0)) {
		m->joined = false;
		m->join_ready = true;
		m->join_error = KERR_NONE;
		return KERR_NONE;
	}
	if (g->state != GROUP_PREPARING)
		group_rebalance(ld, g, q->now_ms);
	group_try_complete_join(ld, g, q->now_ms);
	return KERR_NONE;
}

enum handle_result
handle_join_group(struct req *q)
{
	struct breader *r = &q->body;
	int16_t v = q->hdr.api_version, code;
	struct proto_str gid, member_id, instance_id = { NULL, -1 }, ptype;
	struct member_protocol *protos;
	int32_t session_ms, rebalance_ms, n, i;
	char group[GROUP_ID_MAX + 1], issued[GROUP_ID_MAX + 64];
	struct group *g;
	struct member *m;

	gid = proto_read_str(r, false);
	session_ms = br_i32(r);
	rebalance_ms = v >= 1 ? br_i32(r) : session_ms;
	member_id = proto_read_str(r, false);
	if (v >= 5)
		instance_id = proto_read_str(r, true);
	ptype = proto_read_str(r, false);
	n = proto_read_array_len(r, false, 6);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	protos = xcalloc((size_t)n + 1, sizeof(*protos));
	for (i = 0; i < n; i++) {
		protos[i].name = str_dup(proto_read_str(r, false));
		protos[i].metadata = blob_dup(proto_read_bytes(r, false));
	}
	if (!br_ok(r) || !read_id(gid, group, sizeof(group))) {
		free_protocols(protos, n);
		return br_ok(r) ? (put_join_response(q, KERR_INVALID_GROUP_ID,
		    NULL, NULL), HANDLE_DONE) : HANDLE_CLOSE;
	}
	code = group[0] != '\0' ? groups_coordinator_error(q->ld, group) :
	    KERR_NONE;
	if (q->c->park_member != NULL && code != KERR_NONE) {
		/* The partition moved while we waited. */
		free_protocols(protos, n);
		put_join_response(q, code, NULL, q->c->park_member);
		park_done(q->c);
		return HANDLE_DONE;
	}
	if (q->c->park_member != NULL) {
		/* A re-run: is the join phase over for our member? */
		free_protocols(protos, n);
		g = group_find(q->ld, group);
		if (q->final && g != NULL)
			group_try_complete_join(q->ld, g, q->now_ms);
		m = g ? group_find_member(g, q->c->park_member) : NULL;
		if (m == NULL) {
			put_join_response(q, KERR_UNKNOWN_MEMBER_ID, NULL,
			    q->c->park_member);
		} else if (m->join_ready) {
			m->join_ready = false;
			put_join_response(q, m->join_error, g, m->id);
		} else if (q->final) {
			put_join_response(q, KERR_REBALANCE_IN_PROGRESS, NULL,
			    m->id);
		} else {
			return HANDLE_PARK;
		}
		park_done(q->c);
		return HANDLE_DONE;
	}
	if (group[0] == '\0' || code != KERR_NONE) {
		free_protocols(protos, n);
		put_join_response(q, group[0] == '\0' ? KERR_INVALID_GROUP_ID :
		    code, NULL, NULL);
		return HANDLE_DONE;
	}
	if (session_ms < q->ld->cfg.group_min_session_ms ||
	    session_ms > q->ld->cfg.group_max_session_ms) {
		free_protocols(protos, n);
		put_join_response(q, KERR_INVALID_SESSION_TIMEOUT, NULL, NULL);
		return HANDLE_DONE;
	}
	if (n == 0 || ptype.len <= 0) {
		free_protocols(protos, n);
		put_join_response(q, KERR_INCONSISTENT_GROUP_PROTOCOL, NULL, NULL);
		return HANDLE_DONE;
	}
	g = group_get_or_create(q->ld, group);
	issued[0] = '\0';
	code = join_first(q, g, member_id, instance_id, ptype, protos, n,
	    session_ms, rebalance_ms, &m, issued, sizeof(issued));
	if (code != KERR_NONE) {
		put_join_response(q, code, NULL, m ? m->id :
		    issued[0] ? issued : NULL);
		return HANDLE_DONE;
	}
	if (m->join_ready) {
		m->join_ready = false;
		put_join_response(q, m->join_error, g, m->id);
		return HANDLE_DONE;
	}
	q->c->park_member = xstrdup(m->id);
	q->c->park_deadline_ms = (g->join_deadline_ms > q->now_ms ?
	    g->join_deadline_ms : q->now_ms) + 1000;
	return HANDLE_PARK;
}

static void
put_sync_response(struct req *q, int16_t code, const struct member *m)
{
	struct buf *b = q->out;

	if (q->hdr.api_version >= 1)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i16(b, code);
	if (code == KERR_NONE && m != NULL && m->assignment.len > 0)
		proto_put_bytes(b, m->assignment.data, m->assignment.len);
	else
		proto_put_bytes(b, NULL, 0);
}

/*
 * The leader's SyncGroup: take every member's assignment and write them.
 * The group turns Stable, and the members get them, once the record is
 * durable (at once when alone); a failed write fails the generation.
 */
static void
sync_leader(struct req *q, struct group *g, const uint8_t *assign_at,
    int32_t nassign)
{
	struct breader r;
	struct err e = { 0 };
	size_t i;
	int32_t k;

	for (i = 0; i < g->nmembers; i++) {
		free(g->members[i]->assignment.data);
		g->members[i]->assignment.data = NULL;
		g->members[i]->assignment.len = 0;
	}
	br_init(&r, assign_at, (size_t)(q->body.end - assign_at));
	for (k = 0; k < nassign; k++) {
		struct proto_str mid = proto_read_str(&r, false);
		struct proto_str a = proto_read_bytes(&r, false);
		char id[GROUP_ID_MAX + 64];
		struct member *m;

		if (!read_id(mid, id, sizeof(id)) ||
		    (m = group_find_member(g, id)) == NULL)
			continue;
		free(m->assignment.data);
		m->assignment = blob_dup(a);
	}
	g->sync_pending = true;
	g->sync_generation = g->generation;
	if (groups_store_sync(q->ld, g, &g->sync_write, &e) < 0) {
		log_warnx("group=%s: storing the assignment: %s", g->id, e.msg);
		group_sync_done(q->ld, g, KERR_COORDINATOR_NOT_AVAILABLE,
		    q->now_ms);
		return;
	}
	group_settle_sync(q->ld, g, q->now_ms);
}

/* Wait as member `m` until its sync_ready flag is set. */
static enum handle_result
sync_park(struct req *q, const struct group *g, const struct member *m)
{
	int64_t deadline = q->now_ms + m->session_timeout_ms;

	/* The leader waits for its write, which times out on its own. */
	if (g->sync_pending && g->sync_write.deadline_ms + 1000 > deadline)
		deadline = g->sync_write.deadline_ms + 1000;
	q->c->park_member = xstrdup(m->id);
	q->c->park_deadline_ms = deadline;
	return HANDLE_PARK;
}

/* A parked SyncGroup's re-run: is our member's assignment settled? */
static enum handle_result
sync_rerun(struct req *q, const char *group, int16_t code)
{
	struct group *g = code == KERR_NONE ? group_find(q->ld, group) : NULL;
	struct member *m;

	if (g != NULL)
		group_settle_sync(q->ld, g, q->now_ms);
	m = g ? group_find_member(g, q->c->park_member) : NULL;
	if (code != KERR_NONE)
		put_sync_response(q, code, NULL);
	else if (m == NULL)
		put_sync_response(q, KERR_UNKNOWN_MEMBER_ID, NULL);
	else if (m->sync_ready)
		put_sync_response(q, m->sync_error, m);
	else if (q->final)
		put_sync_response(q, KERR_REBALANCE_IN_PROGRESS, NULL);
	else
		return HANDLE_PARK;
	park_done(q->c);
	return HANDLE_DONE;
}

enum handle_result
handle_sync_group(struct req *q)
{
	struct breader *r = &q->body;
	int16_t v = q->hdr.api_version;
	struct proto_str gid, mid;
	char group[GROUP_ID_MAX + 1], id[GROUP_ID_MAX + 64];
	const uint8_t *assign_at;
	int32_t generation, n, i;
	struct group *g;
	struct member *m;
	int16_t code;

	gid = proto_read_str(r, false);
	generation = br_i32(r);
	mid = proto_read_str(r, false);
	if (v >= 3)
		(void)proto_read_str(r, true);	/* group_instance_id */
	n = proto_read_array_len(r, false, 6);
	assign_at = r->p;
	for (i = 0; i < n; i++) {
		(void)proto_read_str(r, false);
		(void)proto_read_bytes(r, false);
	}
	if (!br_ok(r))
		return HANDLE_CLOSE;
	if (!read_id(gid, group, sizeof(group)) || group[0] == '\0') {
		put_sync_response(q, KERR_INVALID_GROUP_ID, NULL);
		return HANDLE_DONE;
	}
	code = groups_coordinator_error(q->ld, group);
	if (q->c->park_member != NULL)
		return sync_rerun(q, group, code);
	if (code != KERR_NONE) {
		put_sync_response(q, code, NULL);
		return HANDLE_DONE;
	}
	g = group_find(q->ld, group);
	m = g && read_id(mid, id, sizeof(id)) ? group_find_member(g, id) : NULL;
	if (m == NULL) {
		put_sync_response(q, KERR_UNKNOWN_MEMBER_ID, NULL);
		return HANDLE_DONE;
	}
	if (generation != g->generation) {
		put_sync_response(q, KERR_ILLEGAL_GENERATION, NULL);
		return HANDLE_DONE;
	}
	m->session_deadline_ms = q->now_ms + m->session_timeout_ms;
	switch (g->state) {
	case GROUP_PREPARING:
		put_sync_response(q, KERR_REBALANCE_IN_PROGRESS, NULL);
		return HANDLE_DONE;
	case GROUP_STABLE:
		put_sync_response(q, KERR_NONE, m);
		return HANDLE_DONE;
	case GROUP_COMPLETING:
		/* A leader's retry while its write is pending waits for it. */
		if (g->leader != NULL && strcmp(g->leader, m->id) == 0 &&
		    !g->sync_pending)
			sync_leader(q, g, assign_at, n);
		if (m->sync_ready) {
			put_sync_response(q, m->sync_error, m);
			return HANDLE_DONE;
		}
		return sync_park(q, g, m);
	default:
		put_sync_response(q, KERR_UNKNOWN_MEMBER_ID, NULL);
		return HANDLE_DONE;
	}
}

/* A coordinated group's answer to a member's heartbeat. */
static int16_t
heartbeat_code(struct req *q, const struct group *g, struct member *m,
    int32_t generation)
{
	if (m == NULL)
		return KERR_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return KERR_ILLEGAL_GENERATION;
	m->session_deadline_ms = q->now_ms + m->session_timeout_ms;
	return g->state == GROUP_PREPARING ? KERR_REBALANCE_IN_PROGRESS :
	    KERR_NONE;
}

enum handle_result
handle_heartbeat(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	struct proto_str gid, mid;
	char group[GROUP_ID_MAX + 1], id[GROUP_ID_MAX + 64];
	int32_t generation;
	struct group *g;
	struct member *m;
	int16_t code;

	gid = proto_read_str(r, false);
	generation = br_i32(r);
	mid = proto_read_str(r, false);
	if (q->hdr.api_version >= 3)
		(void)proto_read_str(r, true);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	code = group_error(q->ld, gid, group, sizeof(group));
	g = code == KERR_NONE ? group_find(q->ld, group) : NULL;
	m = g && read_id(mid, id, sizeof(id)) ? group_find_member(g, id) : NULL;
	if (code == KERR_NONE)
		code = heartbeat_code(q, g, m, generation);
	if (q->hdr.api_version >= 1)
		buf_put_i32(b, 0);
	buf_put_i16(b, code);
	return HANDLE_DONE;
}

static int16_t
leave_one(struct req *q, struct group *g, struct proto_str mid)
{
	char id[GROUP_ID_MAX + 64];
	struct member *m;

	m = g && read_id(mid, id, sizeof(id)) ? group_find_member(g, id) : NULL;
	if (m == NULL)
		return KERR_UNKNOWN_MEMBER_ID;
	log_info("group=%s: member %s left", g->id, m->id);
	group_remove_member(q->ld, g, m, q->now_ms);
	return KERR_NONE;
}

enum handle_result
handle_leave_group(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	char group[GROUP_ID_MAX + 1];
	struct proto_str gid = proto_read_str(r, false);
	struct group *g;
	int32_t n, i;
	int16_t gcode;

	if (v <= 2) {
		struct proto_str mid = proto_read_str(r, false);
		int16_t code;

		if (!br_ok(r))
			return HANDLE_CLOSE;
		code = group_error(q->ld, gid, group, sizeof(group));
		g = code == KERR_NONE ? group_find(q->ld, group) : NULL;
		if (v >= 1)
			buf_put_i32(b, 0);
		buf_put_i16(b, code != KERR_NONE ? code : leave_one(q, g, mid));
		return HANDLE_DONE;
	}
	n = proto_read_array_len(r, false, 4);
	{
		const uint8_t *at = r->p;

		for (i = 0; i < n; i++) {
			(void)proto_read_str(r, false);
			(void)proto_read_str(r, true);
		}
		if (!br_ok(r))
			return HANDLE_CLOSE;
		br_init(r, at, (size_t)(q->body.end - at));
	}
	buf_put_i32(b, 0);
	gcode = group_error(q->ld, gid, group, sizeof(group));
	if (gcode != KERR_NONE) {
		/* Kafka answers a group error without the members. */
		buf_put_i16(b, gcode);
		buf_put_i32(b, 0);
		return HANDLE_DONE;
	}
	g = group_find(q->ld, group);
	buf_put_i16(b, KERR_NONE);
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		struct proto_str mid = proto_read_str(r, false);
		struct proto_str inst = proto_read_str(r, true);

		proto_put_str(b, mid.p, mid.len > 0 ? (size_t)mid.len : 0);
		if (inst.len >= 0)
			proto_put_str(b, inst.p, (size_t)inst.len);
		else
			proto_put_cstr(b, NULL);
		buf_put_i16(b, leave_one(q, g, mid));
	}
	return HANDLE_DONE;
}
