/* SPDX-License-Identifier: MIT */
/*
 * Committed offsets and group listings: OffsetCommit (v2-7), OffsetFetch
 * (v1-5), DescribeGroups (v0-4), ListGroups (v0-2), DeleteGroups (v0-1),
 * OffsetDelete (v0). A commit is validated (generation, member, metadata
 * size, partition), written to __consumer_offsets as one batch, and only
 * once that batch is durable (at once alone; in cluster mode when the
 * high watermark passes it, the request parked after the append
 * meanwhile) applied and answered; deletions write their tombstones
 * first. Groups this broker does not coordinate get Kafka's errors.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "util.h"
#include "banned.h"

#define GROUP_ID_MAX 255

/* Whether a commit to `g` by (generation, member) may go ahead. */
static int16_t
commit_allowed(struct group *g, int32_t generation, struct proto_str mid,
    int64_t now)
{
	char id[GROUP_ID_MAX + 64];
	struct member *m;

	/* Admin-style commits, by groups without members. */
	if (generation < 0 && mid.len <= 0)
		return g->nmembers == 0 ? KERR_NONE : KERR_UNKNOWN_MEMBER_ID;
	if (!proto_str_copy(mid, id, sizeof(id)) ||
	    (m = group_find_member(g, id)) == NULL)
		return KERR_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return KERR_ILLEGAL_GENERATION;
	if (g->state == GROUP_COMPLETING)
		return KERR_REBALANCE_IN_PROGRESS;
	m->session_deadline_ms = now + m->session_timeout_ms;
	return KERR_NONE;
}

/* OffsetCommit's fields, walked afresh on every run of the request. */
struct commit_req {
	struct proto_str gid, mid;
	int32_t generation;
	int32_t ntopics;
	const uint8_t *topics_at;	/* the topic array in the frame */
	size_t nparts;
};

/*
 * A commit waiting for its record to be replicated (cluster mode), kept on
 * the connection while parked: one block, which conn_close frees. The
 * offsets themselves wait in the group (group_add_pending_commit).
 */
struct commit_wait {
	int16_t api_key;		/* a re-run knows its own state */
	int32_t correlation_id;
	struct group_write w;
	size_t ncodes;
	int16_t codes[];		/* each partition's, request order */
};

/* Check the structure and count the partitions; -1 when malformed. */
static int
commit_parse(struct req *q, struct commit_req *cr)
{
	struct breader *r = &q->body;
	int16_t v = q->hdr.api_version;
	int32_t i, j;

	memset(cr, 0, sizeof(*cr));
	cr->gid = proto_read_str(r, false);
	cr->generation = br_i32(r);
	cr->mid = proto_read_str(r, false);
	if (v >= 7)
		(void)proto_read_str(r, true);	/* group_instance_id */
	if (v <= 4)
		(void)br_i64(r);		/* retention_time_ms */
	cr->ntopics = proto_read_array_len(r, false, 6);
	cr->topics_at = r->p;
	for (i = 0; i < cr->ntopics && br_ok(r); i++) {
		int32_t np;

		(void)proto_read_str(r, false);
		np = proto_read_array_len(r, false, 14);
		for (j = 0; j < np && br_ok(r); j++) {
			(void)br_i32(r);
			(void)br_i64(r);
			if (v >= 6)
				(void)br_i32(r);
			(void)proto_read_str(r, true);
			cr->nparts++;
		}
	}
	return br_ok(r) ? 0 : -1;
}

/* A committed entry from the request's fields (strings copied). */
static void
commit_entry(struct committed *c, struct proto_str topic, int32_t part,
    int64_t off, int32_t epoch, struct proto_str meta, int64_t commit_ms)
{
	char *t = xmalloc((size_t)topic.len + 1);
	char *md = xmalloc(meta.len > 0 ? (size_t)meta.len + 1 : 1);

	memcpy(t, topic.p, (size_t)topic.len);
	t[topic.len] = '\0';
	if (meta.len > 0)
		memcpy(md, meta.p, (size_t)meta.len);
	md[meta.len > 0 ? meta.len : 0] = '\0';
	c->topic = t;
	c->partition = part;
	c->offset = off;
	c->leader_epoch = epoch;
	c->metadata = md;
	c->commit_ms = commit_ms;
	c->log_offset = -1;
}

/*
 * Walk the partitions, giving each its code: `gcode`, or a refusal of
 * its own; collect those whose code is NONE into out[] (the caller frees
 * them with committed_array_free). Returns how many were collected.
 */
static size_t
commit_collect(struct req *q, const struct commit_req *cr, int16_t *codes,
    int16_t gcode, int64_t commit_ms, struct committed *out)
{
	struct breader r;
	size_t k = 0, n = 0;
	int32_t i, j;

	br_init(&r, cr->topics_at, (size_t)(q->body.end - cr->topics_at));
	for (i = 0; i < cr->ntopics; i++) {
		struct proto_str topic = proto_read_str(&r, false);
		int32_t np = proto_read_array_len(&r, false, 14);

		for (j = 0; j < np; j++, k++) {
			int32_t part = br_i32(&r);
			int64_t off = br_i64(&r);
			int32_t epoch = q->hdr.api_version >= 6 ? br_i32(&r) : -1;
			struct proto_str meta = proto_read_str(&r, true);

			codes[k] = gcode;
			if (gcode == KERR_NONE && meta.len >
			    q->ld->cfg.offset_metadata_max_bytes)
				codes[k] = 12;	/* OFFSET_METADATA_TOO_LARGE */
			else if (gcode == KERR_NONE &&
			    partition_find(q->ld, topic, part) == NULL)
				codes[k] = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			if (codes[k] == KERR_NONE)
				commit_entry(&out[n++], topic, part, off, epoch,
				    meta, commit_ms);
		}
	}
	return n;
}

/* The commit is durable: into the cache, as from batch `base`. */
static void
commit_apply(struct group *g, struct committed *c, size_t n, int64_t base)
{
	size_t k;

	for (k = 0; k < n; k++) {
		c[k].log_offset = base;
		group_set_offset(g, &c[k]);
	}
}

/* The response mirrors the request; accepted partitions get store_code. */
static void
commit_put_response(struct req *q, const struct commit_req *cr,
    const int16_t *codes, int16_t store_code)
{
	struct buf *b = q->out;
	struct breader r;
	size_t k = 0;
	int32_t i, j;

	if (q->hdr.api_version >= 3)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i32(b, cr->ntopics);
	br_init(&r, cr->topics_at, (size_t)(q->body.end - cr->topics_at));
	for (i = 0; i < cr->ntopics; i++) {
		struct proto_str topic = proto_read_str(&r, false);
		int32_t np = proto_read_array_len(&r, false, 14);

		proto_put_str(b, topic.p, (size_t)topic.len);
		buf_put_i32(b, np);
		for (j = 0; j < np; j++, k++) {
			int32_t part = br_i32(&r);

			(void)br_i64(&r);
			if (q->hdr.api_version >= 6)
				(void)br_i32(&r);
			(void)proto_read_str(&r, true);
			buf_put_i32(b, part);
			buf_put_i16(b, codes[k] == KERR_NONE ? store_code :
			    codes[k]);
		}
	}
}

/* The group a commit is for, and whether it may commit (gcode). */
static struct group *
commit_group(struct req *q, const struct commit_req *cr, char *group,
    size_t size, int16_t *gcode)
{
	struct group *g;

	if (!proto_str_copy(cr->gid, group, size) || group[0] == '\0') {
		*gcode = KERR_INVALID_GROUP_ID;
		return NULL;
	}
	*gcode = groups_coordinator_error(q->ld, group);
	if (*gcode != KERR_NONE)
		return NULL;
	g = cr->generation < 0 && cr->mid.len <= 0 ?
	    group_get_or_create(q->ld, group) : group_find(q->ld, group);
	*gcode = g ? commit_allowed(g, cr->generation, cr->mid, q->now_ms) :
	    KERR_UNKNOWN_MEMBER_ID;
	return g;
}

/* Keep what a re-run needs on the connection, and park. */
static enum handle_result
commit_park(struct req *q, const struct group_write *w, const int16_t *codes,
    size_t ncodes)
{
	struct commit_wait *cw = xcalloc(1, sizeof(*cw) +
	    (ncodes + 1) * sizeof(cw->codes[0]));

	cw->api_key = q->hdr.api_key;
	cw->correlation_id = q->hdr.correlation_id;
	cw->w = *w;
	cw->ncodes = ncodes;
	memcpy(cw->codes, codes, ncodes * sizeof(cw->codes[0]));
	free(q->c->park_state);
	q->c->park_state = cw;
	q->c->park_deadline_ms = w->deadline_ms;
	return HANDLE_PARK;
}

/*
 * A parked commit's re-run: answer once its record is durable (its
 * offsets in the cache first), failed, or timed out; nothing is written
 * again. A group deleted or unloaded meanwhile took its pending offsets
 * with it, as Kafka drops them for a Dead group.
 */
static enum handle_result
commit_rerun(struct req *q, const struct commit_req *cr)
{
	struct commit_wait *cw = q->c->park_state;
	char group[GROUP_ID_MAX + 1];
	struct group *g;
	int16_t store_code;

	if (cw == NULL || cw->api_key != q->hdr.api_key ||
	    cw->correlation_id != q->hdr.correlation_id ||
	    cw->ncodes != cr->nparts) {
		q->close_reason = "parked offset commit lost its state";
		return HANDLE_CLOSE;
	}
	g = proto_str_copy(cr->gid, group, sizeof(group)) ?
	    group_find(q->ld, group) : NULL;
	if (g != NULL)
		group_settle_commits(q->ld, g, q->now_ms);
	if (!group_write_settled(q->ld, &cw->w, q->final, &store_code))
		return HANDLE_PARK;
	/* Answered as failed (a shutdown's last run): never applied later. */
	if (store_code != KERR_NONE && g != NULL)
		group_drop_pending_commit(g, &cw->w);
	commit_put_response(q, cr, cw->codes, store_code);
	free(cw);
	q->c->park_state = NULL;
	return HANDLE_DONE;
}

/*
 * The first run: validate, write the accepted commits as one batch, and
 * answer once it is durable (at once when alone; parked in cluster mode).
 */
enum handle_result
handle_offset_commit(struct req *q)
{
	struct commit_req cr;
	char group[GROUP_ID_MAX + 1];
	struct committed *accepted;
	struct group_write w;
	struct err e = { 0 };
	int16_t *codes, gcode, store_code = KERR_NONE;
	int64_t commit_ms = clock_wall_ms();
	enum handle_result res = HANDLE_DONE;
	struct group *g;
	size_t n;

	if (commit_parse(q, &cr) < 0)
		return HANDLE_CLOSE;
	if (q->c->parked)
		return commit_rerun(q, &cr);
	g = commit_group(q, &cr, group, sizeof(group), &gcode);
	codes = xcalloc(cr.nparts + 1, sizeof(*codes));
	accepted = xcalloc(cr.nparts + 1, sizeof(*accepted));
	n = commit_collect(q, &cr, codes, gcode, commit_ms, accepted);
	if (n > 0 && groups_store_offsets(q->ld, g, accepted, n, &w, &e) < 0) {
		log_warnx("group=%s: storing offsets: %s", group, e.msg);
		store_code = KERR_COORDINATOR_NOT_AVAILABLE;
	} else if (n > 0 && !group_write_settled(q->ld, &w, false,
	    &store_code)) {
		group_add_pending_commit(g, &w, accepted, n);
		accepted = NULL;
		n = 0;
		res = commit_park(q, &w, codes, cr.nparts);
	} else if (n > 0 && store_code == KERR_NONE) {
		commit_apply(g, accepted, n, w.base_offset);
	}
	if (res == HANDLE_DONE)
		commit_put_response(q, &cr, codes, store_code);
	committed_array_free(accepted, n);
	free(codes);
	return res;
}

static void
put_fetched(struct req *q, const struct committed *c, int32_t partition,
    int16_t code)
{
	struct buf *b = q->out;

	buf_put_i32(b, partition);
	buf_put_i64(b, c ? c->offset : -1);
	if (q->hdr.api_version >= 5)
		buf_put_i32(b, c ? c->leader_epoch : -1);
	proto_put_cstr(b, c ? c->metadata : "");
	buf_put_i16(b, code);
}

/*
 * OffsetFetch for a group we do not coordinate, as Kafka's
 * getErrorResponse: v2+ has the error at the top and no partitions, v1
 * gives it to each partition asked for.
 */
static enum handle_result
fetch_error(struct req *q, int16_t code, const uint8_t *topics_at,
    int32_t ntopics)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t i, j;

	if (v >= 3)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	if (v >= 2) {
		buf_put_i32(b, 0);
		buf_put_i16(b, code);
		return HANDLE_DONE;
	}
	br_init(r, topics_at, (size_t)(q->body.end - topics_at));
	buf_put_i32(b, ntopics);
	for (i = 0; i < ntopics; i++) {
		struct proto_str t = proto_read_str(r, false);
		int32_t np = proto_read_array_len(r, false, 4);

		proto_put_str(b, t.p, (size_t)t.len);
		buf_put_i32(b, np);
		for (j = 0; j < np; j++)
			put_fetched(q, NULL, br_i32(r), code);
	}
	return HANDLE_DONE;
}

static int
committed_cmp(const void *a, const void *b)
{
	const struct committed *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

enum handle_result
handle_offset_fetch(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	char group[GROUP_ID_MAX + 1], topic[256];
	struct proto_str gid = proto_read_str(r, false);
	const uint8_t *topics_at;
	struct group *g;
	int32_t ntopics, i, j;

	ntopics = proto_read_array_len(r, v >= 2, 6);
	topics_at = r->p;
	for (i = 0; i < ntopics && br_ok(r); i++) {
		int32_t np;

		(void)proto_read_str(r, false);
		np = proto_read_array_len(r, false, 4);
		br_skip(r, (size_t)np * 4);
	}
	if (!br_ok(r))
		return HANDLE_CLOSE;
	g = NULL;
	if (proto_str_copy(gid, group, sizeof(group))) {
		int16_t code = groups_coordinator_error(q->ld, group);

		if (code != KERR_NONE)
			return fetch_error(q, code, topics_at, ntopics);
		g = group_find(q->ld, group);
	}
	if (v >= 3)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	if (ntopics < 0) {
		/* Every committed partition, grouped by topic. */
		size_t k, ntop = 0;

		if (g != NULL && g->noffsets > 0)
			qsort(g->offsets, g->noffsets, sizeof(*g->offsets),
			    committed_cmp);
		for (k = 0; g != NULL && k < g->noffsets; k++)
			if (k == 0 || strcmp(g->offsets[k].topic,
			    g->offsets[k - 1].topic) != 0)
				ntop++;
		buf_put_i32(b, (int32_t)ntop);
		for (k = 0; g != NULL && k < g->noffsets;) {
			size_t end = k;

			while (end < g->noffsets &&
			    strcmp(g->offsets[end].topic, g->offsets[k].topic) == 0)
				end++;
			proto_put_cstr(b, g->offsets[k].topic);
			buf_put_i32(b, (int32_t)(end - k));
			for (; k < end; k++)
				put_fetched(q, &g->offsets[k],
				    g->offsets[k].partition, KERR_NONE);
		}
	} else {
		br_init(r, topics_at, (size_t)(q->body.end - topics_at));
		buf_put_i32(b, ntopics);
		for (i = 0; i < ntopics; i++) {
			struct proto_str t = proto_read_str(r, false);
			int32_t np = proto_read_array_len(r, false, 4);
			bool ok = proto_str_copy(t, topic, sizeof(topic));

			proto_put_str(b, t.p, (size_t)t.len);
			buf_put_i32(b, np);
			for (j = 0; j < np; j++) {
				int32_t part = br_i32(r);

				put_fetched(q, g && ok ? group_offset(g, topic,
				    part) : NULL, part, KERR_NONE);
			}
		}
	}
	if (v >= 2)
		buf_put_i16(b, KERR_NONE);
	return HANDLE_DONE;
}

/* A group Kafka cannot describe here: the error and empty fields. */
static void
put_describe_error(struct req *q, struct proto_str name, int16_t code)
{
	struct buf *b = q->out;

	buf_put_i16(b, code);
	proto_put_str(b, name.p, (size_t)name.len);
	proto_put_cstr(b, "");			/* state */
	proto_put_cstr(b, "");			/* protocol_type */
	proto_put_cstr(b, "");			/* protocol */
	buf_put_i32(b, 0);			/* members */
	if (q->hdr.api_version >= 3)
		buf_put_i32(b, INT32_MIN);	/* authorized_operations */
}

static void
put_described(struct req *q, struct proto_str name, const struct group *g)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	size_t i;

	buf_put_i16(b, KERR_NONE);
	proto_put_str(b, name.p, (size_t)name.len);
	/* An unknown group is "Dead" without an error (kafkajs relies on it). */
	proto_put_cstr(b, group_state_name(g ? g->state : GROUP_DEAD));
	proto_put_cstr(b, g && g->protocol_type ? g->protocol_type : "");
	proto_put_cstr(b, g && g->protocol ? g->protocol : "");
	if (g == NULL || g->state == GROUP_EMPTY) {
		buf_put_i32(b, 0);
	} else {
		buf_put_i32(b, (int32_t)g->nmembers);
		for (i = 0; i < g->nmembers; i++) {
			const struct member *m = g->members[i];
			struct blob meta = { NULL, 0 };
			int32_t k;

			for (k = 0; k < m->nprotocols && g->protocol; k++)
				if (strcmp(m->protocols[k].name, g->protocol) == 0)
					meta = m->protocols[k].metadata;
			proto_put_cstr(b, m->id);
			if (v >= 4)
				proto_put_cstr(b, m->instance_id);
			proto_put_cstr(b, m->client_id);
			proto_put_cstr(b, m->client_host);
			proto_put_bytes(b, meta.data, meta.len < 0 ? 0 : meta.len);
			proto_put_bytes(b, m->assignment.data,
			    m->assignment.len < 0 ? 0 : m->assignment.len);
		}
	}
	if (v >= 3)
		buf_put_i32(b, INT32_MIN);	/* authorized_operations */
}

enum handle_result
handle_describe_groups(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	const uint8_t *at;
	int32_t n, i;

	n = proto_read_array_len(r, false, 2);
	at = r->p;
	for (i = 0; i < n; i++)
		(void)proto_read_str(r, false);
	if (v >= 3)
		(void)proto_read_bool(r);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	br_init(r, at, (size_t)(q->body.end - at));
	if (v >= 1)
		buf_put_i32(b, 0);
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		struct proto_str name = proto_read_str(r, false);
		char group[GROUP_ID_MAX + 1];
		int16_t code = KERR_NONE;
		struct group *g = NULL;

		if (proto_str_copy(name, group, sizeof(group))) {
			code = groups_coordinator_error(q->ld, group);
			g = code == KERR_NONE ? group_find(q->ld, group) : NULL;
		}
		if (code != KERR_NONE)
			put_describe_error(q, name, code);
		else
			put_described(q, name, g);
	}
	return HANDLE_DONE;
}

/*
 * The groups this broker coordinates (kgroups asks every broker); while
 * a partition loads, its groups are left out and the error says so, as
 * Kafka's handleListGroups does.
 */
enum handle_result
handle_list_groups(struct req *q)
{
	struct buf *b = q->out;
	size_t i, n = 0;

	if (q->hdr.api_version >= 1)
		buf_put_i32(b, 0);
	buf_put_i16(b, groups_loading(q->ld) ?
	    KERR_COORDINATOR_LOAD_IN_PROGRESS : KERR_NONE);
	for (i = 0; i < q->ld->ngroups; i++)
		n += group_loaded(q->ld, q->ld->groups[i]);
	buf_put_i32(b, (int32_t)n);
	for (i = 0; i < q->ld->ngroups; i++) {
		const struct group *g = q->ld->groups[i];

		if (!group_loaded(q->ld, g))
			continue;
		proto_put_cstr(b, g->id);
		proto_put_cstr(b, g->protocol_type ? g->protocol_type : "");
	}
	return HANDLE_DONE;
}

/* DeleteGroups of one group: its tombstones written, it is gone. */
static int16_t
delete_one(struct req *q, struct proto_str name)
{
	char group[GROUP_ID_MAX + 1];
	struct err e = { 0 };
	struct group *g;
	int16_t code;

	if (!proto_str_copy(name, group, sizeof(group)))
		return KERR_GROUP_ID_NOT_FOUND;
	code = groups_coordinator_error(q->ld, group);
	if (code != KERR_NONE)
		return code;
	g = group_find(q->ld, group);
	if (g == NULL)
		return KERR_GROUP_ID_NOT_FOUND;
	if (g->nmembers > 0)
		return KERR_NON_EMPTY_GROUP;
	if (group_delete(q->ld, g, &e) < 0) {
		log_warnx("deleting group '%s': %s", group, e.msg);
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	log_info("deleted group '%s' for %s", group, q->c->peer);
	return KERR_NONE;
}

enum handle_result
handle_delete_groups(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	const uint8_t *at;
	int32_t n, i;

	n = proto_read_array_len(r, false, 2);
	at = r->p;
	for (i = 0; i < n; i++)
		(void)proto_read_str(r, false);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	br_init(r, at, (size_t)(q->body.end - at));
	buf_put_i32(b, 0);			/* throttle_time_ms */
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		struct proto_str name = proto_read_str(r, false);

		proto_put_str(b, name.p, (size_t)name.len);
		buf_put_i16(b, delete_one(q, name));
	}
	return HANDLE_DONE;
}

/* One partition of an OffsetDelete request and its outcome. */
struct od_part {
	struct proto_str topic;		/* borrowed from the request */
	int32_t partition;
	int16_t code;
};

static bool
od_same_topic(const struct od_part *x, const struct od_part *y)
{
	return x->topic.len == y->topic.len && (x->topic.len == 0 ||
	    memcmp(x->topic.p, y->topic.p, (size_t)x->topic.len) == 0);
}

static int
od_part_cmp(const void *a, const void *b)
{
	const struct od_part *x = a, *y = b;
	int32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
	int c = n > 0 ? memcmp(x->topic.p, y->topic.p, (size_t)n) : 0;

	if (c == 0)
		c = (x->topic.len > y->topic.len) -
		    (x->topic.len < y->topic.len);
	return c ? c : (x->partition > y->partition) -
	    (x->partition < y->partition);
}

/*
 * The partitions of an OffsetDelete request, sorted by topic and
 * partition without repeats (Kafka keys both by name), into *out
 * (xmalloc'd, the caller frees it). -1 when the request is malformed.
 */
static int
od_read(struct breader *r, struct od_part **out, size_t *nout)
{
	const uint8_t *at;
	struct od_part *v;
	size_t n = 0, k, m;
	int32_t nt, np, i, j;

	nt = proto_read_array_len(r, false, 6);
	at = r->p;
	for (i = 0; i < nt && br_ok(r); i++) {
		(void)proto_read_str(r, false);
		np = proto_read_array_len(r, false, 4);
		br_skip(r, (size_t)(np > 0 ? np : 0) * 4);
		n += np > 0 ? (size_t)np : 0;
	}
	if (!br_ok(r))
		return -1;
	v = xcalloc(n + 1, sizeof(*v));
	br_init(r, at, (size_t)(r->end - at));
	for (i = 0, k = 0; i < nt; i++) {
		struct proto_str t = proto_read_str(r, false);

		np = proto_read_array_len(r, false, 4);
		for (j = 0; j < np; j++, k++) {
			v[k].topic = t;
			v[k].partition = br_i32(r);
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), od_part_cmp);
	for (k = 0, m = 0; k < n; k++)
		if (m == 0 || od_part_cmp(&v[m - 1], &v[k]) != 0)
			v[m++] = v[k];
	*out = v;
	*nout = m;
	return 0;
}

/*
 * Kafka's group checks for OffsetDelete: an empty id is invalid, an
 * unknown group is not found, and a group with members must be a
 * consumer group (whose subscribed topics are then kept). `id` receives
 * the group id.
 */
static int16_t
od_group_error(struct logd *ld, struct proto_str gid, char *id, size_t size,
    struct group **out)
{
	struct group *g;
	int16_t code;

	*out = NULL;
	id[0] = '\0';
	if (gid.len <= 0)
		return KERR_INVALID_GROUP_ID;
	if (!proto_str_copy(gid, id, size))
		return KERR_GROUP_ID_NOT_FOUND;
	code = groups_coordinator_error(ld, id);
	if (code != KERR_NONE)
		return code;
	if ((g = group_find(ld, id)) == NULL || g->state == GROUP_DEAD)
		return KERR_GROUP_ID_NOT_FOUND;
	if (g->state != GROUP_EMPTY && (g->protocol_type == NULL ||
	    strcmp(g->protocol_type, "consumer") != 0))
		return KERR_NON_EMPTY_GROUP;
	*out = g;
	return KERR_NONE;
}

/*
 * Decide each partition: unknown ones and, while the group has members,
 * those of subscribed topics are refused; the rest are deleted (their
 * commits, when there are any), or all get COORDINATOR_NOT_AVAILABLE
 * when the tombstones could not be written. `g` may be gone after.
 */
static void
od_apply(struct req *q, struct group *g, const char *group,
    struct od_part *v, size_t n)
{
	struct committed *which = xcalloc(n + 1, sizeof(*which));
	size_t k, nwhich = 0;
	struct err e = { 0 };
	bool gone = false;

	for (k = 0; k < n; k++) {
		char *t;

		if (partition_find(q->ld, v[k].topic, v[k].partition) == NULL) {
			v[k].code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		t = xmalloc((size_t)v[k].topic.len + 1);
		memcpy(t, v[k].topic.p, (size_t)v[k].topic.len);
		t[v[k].topic.len] = '\0';
		if (g->state != GROUP_EMPTY && group_subscribed_to(g, t)) {
			v[k].code = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
			free(t);
			continue;
		}
		v[k].code = KERR_NONE;
		which[nwhich].topic = t;
		which[nwhich++].partition = v[k].partition;
	}
	if (nwhich > 0 && group_delete_offsets(q->ld, g, which, nwhich, &gone,
	    &e) < 0) {
		log_warnx("group=%s: deleting offsets: %s", group, e.msg);
		for (k = 0; k < n; k++)
			if (v[k].code == KERR_NONE)
				v[k].code = KERR_COORDINATOR_NOT_AVAILABLE;
	} else if (nwhich > 0) {
		log_info("group=%s: offsets of %zu partitions deleted for %s%s",
		    group, nwhich, q->c->peer,
		    gone ? "; the group is gone" : "");
	}
	for (k = 0; k < nwhich; k++)
		free(which[k].topic);
	free(which);
}

enum handle_result
handle_offset_delete(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	struct proto_str gid = proto_read_str(r, false);
	char group[GROUP_ID_MAX + 1];
	struct od_part *v = NULL;
	struct group *g;
	size_t n = 0, k, end, ntopics = 0;
	int16_t gcode;

	if (od_read(r, &v, &n) < 0)
		return HANDLE_CLOSE;
	gcode = od_group_error(q->ld, gid, group, sizeof(group), &g);
	if (gcode == KERR_NONE)
		od_apply(q, g, group, v, n);
	buf_put_i16(b, gcode);
	buf_put_i32(b, 0);			/* throttle_time_ms */
	/* With a group error, Kafka answers no partitions at all. */
	for (k = 0; gcode == KERR_NONE && k < n; k++)
		if (k == 0 || !od_same_topic(&v[k - 1], &v[k]))
			ntopics++;
	buf_put_i32(b, (int32_t)ntopics);
	for (k = 0; ntopics > 0 && k < n; k = end) {
		for (end = k + 1; end < n && od_same_topic(&v[k], &v[end]);
		    end++)
			;
		proto_put_str(b, v[k].topic.p, (size_t)v[k].topic.len);
		buf_put_i32(b, (int32_t)(end - k));
		for (; k < end; k++) {
			buf_put_i32(b, v[k].partition);
			buf_put_i16(b, v[k].code);
		}
	}
	free(v);
	return HANDLE_DONE;
}
