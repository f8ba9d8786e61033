/* SPDX-License-Identifier: MIT */
/*
 * The group and offset APIs kgroups needs, as blocking calls over the
 * client core: FindCoordinator v0-2, DescribeGroups v0-4, OffsetFetch
 * v2-5, ListOffsets v1-3 and Fetch v4-11 (one record's timestamp), plus
 * the decoding helpers kgroups_admin.c shares. Requests for partitions go
 * to each partition's leader, one request per leader.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "record.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

#define COORD_WAIT_MS 10000

char *
kg_str_dup(struct proto_str s)
{
	char *p = xmalloc(s.len > 0 ? (size_t)s.len + 1 : 1);

	if (s.len > 0)
		memcpy(p, s.p, (size_t)s.len);
	p[s.len > 0 ? s.len : 0] = '\0';
	return p;
}

const char *
kg_kerr_name(int16_t code)
{
	const char *n = proto_error_name(code);

	return n ? n : "unknown error";
}

/* The version to use, or -1 with `e` naming the API and range. */
int
kg_version(struct kcl_conn *c, int16_t api, int16_t min, int16_t max,
    struct err *e)
{
	int v = kcl_version(c, api, min, max);

	if (v < 0)
		err_set(e, EXIT_PROTOCOL, "broker %s does not support %s "
		    "v%d-%d", kcl_conn_name(c), proto_api_name(api), min, max);
	return v;
}

int
kg_malformed(struct kcl_conn *c, int16_t api, struct err *e)
{
	return err_set(e, EXIT_PROTOCOL, "broker %s: malformed %s response",
	    kcl_conn_name(c), proto_api_name(api));
}

static void
sleep_ms(struct kg *kg, int ms)
{
	struct err e = { 0 };

	(void)kcl_poll(kg->k, NULL, 0, ms, &e);
}

struct kcl_conn *
kg_coordinator(struct kg *kg, const char *group, int32_t *id, struct err *e)
{
	int64_t deadline = clock_mono_ms() + COORD_WAIT_MS;
	struct buf resp = BUF_INIT;
	struct kcl_conn *c, *cc = NULL;

	for (;;) {
		struct breader r;
		int16_t code;
		int v;

		if ((c = kcl_conn(kg->k, -1, e)) == NULL ||
		    (v = kg_version(c, API_FIND_COORDINATOR, 0, 2, e)) < 0)
			goto out;
		{
			struct buf *b = kcl_request_begin(c,
			    API_FIND_COORDINATOR, (int16_t)v);

			proto_put_cstr(b, group);
			if (v >= 1)
				buf_put_i8(b, 0);	/* key_type: group */
		}
		if (kcl_request_wait(c, &resp, e) < 0)
			goto out;
		br_init(&r, resp.data, resp.len);
		if (v >= 1)
			(void)br_i32(&r);
		code = br_i16(&r);
		if (v >= 1)
			(void)proto_read_str(&r, true);
		*id = br_i32(&r);
		if (!br_ok(&r)) {
			kg_malformed(c, API_FIND_COORDINATOR, e);
			goto out;
		}
		if (code == KERR_NONE)
			break;
		if ((code != KERR_COORDINATOR_NOT_AVAILABLE &&
		    code != KERR_COORDINATOR_LOAD_IN_PROGRESS) ||
		    clock_mono_ms() >= deadline) {
			err_set(e, code == KERR_INVALID_GROUP_ID ?
			    EXIT_USAGE : EXIT_TEMPFAIL, "no coordinator for "
			    "group '%s': %s", group, kg_kerr_name(code));
			goto out;
		}
		sleep_ms(kg, 200);
	}
	/* A coordinator the cached metadata does not know yet. */
	if (kcl_broker(kg->k, *id) == NULL &&
	    kcl_metadata(kg->k, NULL, 0, false, e) < 0)
		goto out;
	cc = kcl_conn(kg->k, *id, e);
out:
	buf_release(&resp);
	return cc;
}

int
kg_describe(struct kg *kg, struct kcl_conn *c, struct kg_group *g,
    struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	int32_t ng, nm, i;
	int16_t code;
	int v, rc = -1;

	(void)kg;
	if ((v = kg_version(c, API_DESCRIBE_GROUPS, 0, 4, e)) < 0)
		return -1;
	{
		struct buf *b = kcl_request_begin(c, API_DESCRIBE_GROUPS,
		    (int16_t)v);

		buf_put_i32(b, 1);
		proto_put_cstr(b, g->id);
		if (v >= 3)
			proto_put_bool(b, false);
	}
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (v >= 1)
		(void)br_i32(&r);
	ng = proto_read_array_len(&r, false, 2);
	if (ng != 1) {
		kg_malformed(c, API_DESCRIBE_GROUPS, e);
		goto out;
	}
	code = br_i16(&r);
	(void)proto_read_str(&r, false);
	g->state = kg_str_dup(proto_read_str(&r, false));
	g->protocol_type = kg_str_dup(proto_read_str(&r, false));
	g->protocol = kg_str_dup(proto_read_str(&r, false));
	nm = proto_read_array_len(&r, false, 18);
	if (!br_ok(&r)) {
		kg_malformed(c, API_DESCRIBE_GROUPS, e);
		goto out;
	}
	if (code != KERR_NONE) {
		err_set(e, code == KERR_GROUP_ID_NOT_FOUND ? EXIT_NOUSER :
		    EXIT_TEMPFAIL, "group '%s': %s", g->id, kg_kerr_name(code));
		goto out;
	}
	g->members = xcalloc(nm > 0 ? (size_t)nm : 1, sizeof(*g->members));
	for (i = 0; i < nm; i++) {
		struct kg_member *m = &g->members[i];
		struct proto_str asg;
		struct err de = { 0 };

		m->id = kg_str_dup(proto_read_str(&r, false));
		if (v >= 4)
			(void)proto_read_str(&r, true);
		m->client_id = kg_str_dup(proto_read_str(&r, false));
		m->host = kg_str_dup(proto_read_str(&r, false));
		(void)proto_read_bytes(&r, true);
		asg = proto_read_bytes(&r, true);
		g->nmembers = (size_t)i + 1;
		if (!br_ok(&r)) {
			kg_malformed(c, API_DESCRIBE_GROUPS, e);
			goto out;
		}
		/* Non-consumer groups (connect, ...) use other layouts. */
		if (strcmp(g->protocol_type, "consumer") == 0 && asg.len > 0 &&
		    cproto_assignment_decode(asg.p, (size_t)asg.len, &m->asg,
		    &de) < 0)
			log_warnx("group '%s' member '%s': %s", g->id, m->id,
			    de.msg);
	}
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

int
kg_offset_fetch(struct kg *kg, struct kcl_conn *c, struct kg_group *g,
    struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	int32_t nt, np, i, j;
	int16_t code = KERR_NONE;
	int v, rc = -1;

	(void)kg;
	if ((v = kg_version(c, API_OFFSET_FETCH, 2, 5, e)) < 0)
		return -1;
	{
		struct buf *b = kcl_request_begin(c, API_OFFSET_FETCH,
		    (int16_t)v);

		proto_put_cstr(b, g->id);
		buf_put_i32(b, -1);		/* every committed partition */
	}
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (v >= 3)
		(void)br_i32(&r);
	nt = proto_read_array_len(&r, false, 6);
	for (i = 0; i < nt && br_ok(&r); i++) {
		struct proto_str t = proto_read_str(&r, false);

		np = proto_read_array_len(&r, false, 16);
		for (j = 0; j < np && br_ok(&r); j++) {
			int32_t id = br_i32(&r);
			int64_t off = br_i64(&r);
			int16_t pcode;
			struct kg_part *p;

			if (v >= 5)
				(void)br_i32(&r);
			(void)proto_read_str(&r, true);
			pcode = br_i16(&r);
			if (!br_ok(&r) || pcode != KERR_NONE || off < 0)
				continue;
			g->parts = xrealloc(g->parts, (g->nparts + 1) *
			    sizeof(*g->parts));
			p = &g->parts[g->nparts++];
			memset(p, 0, sizeof(*p));
			p->topic = kg_str_dup(t);
			p->partition = id;
			p->committed = off;
			p->start = p->end = p->lag = p->lag_ms = -1;
			p->member = -1;
		}
	}
	code = br_i16(&r);
	if (!br_ok(&r)) {
		kg_malformed(c, API_OFFSET_FETCH, e);
		goto out;
	}
	if (code != KERR_NONE) {
		err_set(e, EXIT_TEMPFAIL, "group '%s': OffsetFetch: %s", g->id,
		    kg_kerr_name(code));
		goto out;
	}
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

/*
 * The leader of a partition; -2 for a partition that does not exist (its
 * offsets stay unknown: a group may keep commits for deleted topics), -1
 * with `e` set when it has no leader.
 */
static int32_t
leader_of(struct kg *kg, const struct kg_part *p, struct err *e)
{
	const struct kcl_topic *t = kcl_topic(kg->k, p->topic);

	if (t == NULL || t->error == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
	    p->partition < 0 || p->partition >= t->npartitions) {
		log_debug("topic '%s' partition %" PRId32 " does not exist",
		    p->topic, p->partition);
		return -2;
	}
	if (t->parts[p->partition].leader < 0) {
		err_set(e, EXIT_TEMPFAIL, "topic '%s' partition %" PRId32
		    " has no leader", p->topic, p->partition);
		return -1;
	}
	return t->parts[p->partition].leader;
}

static size_t
find_part(const struct kg_part *parts, const size_t *idx, size_t n,
    struct proto_str topic, int32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (parts[idx[i]].partition == id &&
		    proto_str_eq(topic, parts[idx[i]].topic))
			return idx[i];
	return SIZE_MAX;
}

/*
 * Group parts by leader: fills leaders[] with the leader of each part,
 * marking unknown partitions done, and returns 0, or -1 when one has no
 * leader.
 */
static int
leaders_of(struct kg *kg, const struct kg_part *parts, size_t n,
    int32_t *leaders, bool *done, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		leaders[i] = leader_of(kg, &parts[i], e);
		if (leaders[i] == -1)
			return -1;
		if (leaders[i] == -2)
			done[i] = true;
	}
	return 0;
}

/* The parts led by `leader` not yet done, into idx; returns the count. */
static size_t
take_leader(const int32_t *leaders, bool *done, size_t n, int32_t leader,
    size_t *idx)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (!done[i] && leaders[i] == leader) {
			idx[m++] = i;
			done[i] = true;
		}
	return m;
}

int
kg_list_offsets(struct kg *kg, struct kg_part *parts, size_t n, int64_t ts,
    int64_t *out, struct err *e)
{
	int32_t *leaders = xcalloc(n ? n : 1, sizeof(*leaders));
	bool *done = xcalloc(n ? n : 1, sizeof(*done));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
	struct buf resp = BUF_INIT;
	size_t i, m;
	int rc = -1;

	for (i = 0; i < n; i++)
		out[i] = -1;
	if (leaders_of(kg, parts, n, leaders, done, e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct kcl_conn *c;
		struct breader r;
		struct buf *b;
		int32_t nt, np, t, j;
		int v;
		size_t k;

		if (done[i])
			continue;
		m = take_leader(leaders, done, n, leaders[i], idx);
		if ((c = kcl_conn(kg->k, leaders[i], e)) == NULL ||
		    (v = kg_version(c, API_LIST_OFFSETS, 1, 3, e)) < 0)
			goto out;
		b = kcl_request_begin(c, API_LIST_OFFSETS, (int16_t)v);
		buf_put_i32(b, -1);			/* replica_id */
		if (v >= 2)
			buf_put_i8(b, 0);		/* read_uncommitted */
		buf_put_i32(b, (int32_t)m);
		for (k = 0; k < m; k++) {
			proto_put_cstr(b, parts[idx[k]].topic);
			buf_put_i32(b, 1);
			buf_put_i32(b, parts[idx[k]].partition);
			buf_put_i64(b, ts);
		}
		if (kcl_request_wait(c, &resp, e) < 0)
			goto out;
		br_init(&r, resp.data, resp.len);
		if (v >= 2)
			(void)br_i32(&r);
		nt = proto_read_array_len(&r, false, 6);
		for (t = 0; t < nt && br_ok(&r); t++) {
			struct proto_str name = proto_read_str(&r, false);

			np = proto_read_array_len(&r, false, 22);
			for (j = 0; j < np && br_ok(&r); j++) {
				int32_t id = br_i32(&r);
				int16_t code = br_i16(&r);
				int64_t off;

				(void)br_i64(&r);
				off = br_i64(&r);
				k = find_part(parts, idx, m, name, id);
				if (!br_ok(&r) || k == SIZE_MAX)
					continue;
				if (code != KERR_NONE) {
					err_set(e, code ==
					    KERR_UNKNOWN_TOPIC_OR_PARTITION ?
					    EXIT_NOUSER : EXIT_TEMPFAIL,
					    "topic '%s' partition %" PRId32
					    ": ListOffsets: %s", parts[k].topic,
					    id, kg_kerr_name(code));
					goto out;
				}
				out[k] = off;
			}
		}
		if (!br_ok(&r)) {
			kg_malformed(c, API_LIST_OFFSETS, e);
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&resp);
	free(leaders);
	free(done);
	free(idx);
	return rc;
}

/* The timestamp of the first record at or after `offset`, or -1. */
static int64_t
record_ts(struct proto_str records, int64_t offset)
{
	const uint8_t *p = (const uint8_t *)records.p;
	size_t len = records.len > 0 ? (size_t)records.len : 0, pos = 0;
	struct rec_iter it;
	int64_t ts = -1;

	rec_iter_init(&it, (size_t)64 << 20);
	while (pos < len && ts < 0) {
		struct rec_batch bt;
		struct rec_record rec;
		struct err e = { 0 };
		int rc;

		if (rec_batch_parse(p + pos, len - pos, &bt, &e) < 0)
			break;	/* a partial batch at the end */
		pos += bt.size;
		if ((bt.attributes & REC_ATTR_CONTROL) ||
		    rec_batch_last_offset(&bt) < offset)
			continue;
		if (rec_iter_reset(&it, &bt, &e) < 0)
			break;
		while ((rc = rec_iter_next(&it, &rec, &e)) > 0)
			if (rec.offset >= offset) {
				ts = (bt.attributes & REC_ATTR_LOG_APPEND_TIME) ?
				    bt.max_timestamp : rec.timestamp;
				break;
			}
		if (rc < 0)
			break;
	}
	rec_iter_release(&it);
	return ts;
}

static void
put_fetch(struct buf *b, int v, const struct kg_part *parts,
    const size_t *idx, size_t m)
{
	size_t k;

	buf_put_i32(b, -1);			/* replica_id */
	buf_put_i32(b, 0);			/* max_wait_ms: answer now */
	buf_put_i32(b, 0);			/* min_bytes */
	buf_put_i32(b, 16 << 20);		/* max_bytes */
	buf_put_i8(b, 0);			/* read_uncommitted */
	if (v >= 7) {
		buf_put_i32(b, 0);		/* no fetch session */
		buf_put_i32(b, -1);
	}
	buf_put_i32(b, (int32_t)m);
	for (k = 0; k < m; k++) {
		const struct kg_part *p = &parts[idx[k]];

		proto_put_cstr(b, p->topic);
		buf_put_i32(b, 1);
		buf_put_i32(b, p->partition);
		if (v >= 9)
			buf_put_i32(b, -1);	/* current_leader_epoch */
		buf_put_i64(b, p->committed);
		if (v >= 5)
			buf_put_i64(b, -1);	/* log_start_offset */
		buf_put_i32(b, 1 << 20);
	}
	if (v >= 7)
		buf_put_i32(b, 0);		/* forgotten topics */
	if (v >= 11)
		proto_put_cstr(b, "");		/* rack_id */
}

int
kg_fetch_lag_ms(struct kg *kg, struct kg_part *parts, size_t n,
    struct err *e)
{
	int32_t *leaders = xcalloc(n ? n : 1, sizeof(*leaders));
	bool *done = xcalloc(n ? n : 1, sizeof(*done));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
	struct buf resp = BUF_INIT;
	size_t i, m;
	int rc = -1;

	for (i = 0; i < n; i++) {
		/* Caught up or never committed: nothing to fetch. */
		if (parts[i].lag == 0)
			parts[i].lag_ms = 0;
		if (parts[i].lag <= 0)
			done[i] = true;
	}
	if (leaders_of(kg, parts, n, leaders, done, e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct kcl_conn *c;
		struct breader r;
		int32_t nt, np, t, j, na;
		int v;

		if (done[i])
			continue;
		m = take_leader(leaders, done, n, leaders[i], idx);
		if ((c = kcl_conn(kg->k, leaders[i], e)) == NULL ||
		    (v = kg_version(c, API_FETCH, 4, 11, e)) < 0)
			goto out;
		put_fetch(kcl_request_begin(c, API_FETCH, (int16_t)v), v,
		    parts, idx, m);
		if (kcl_request_wait(c, &resp, e) < 0)
			goto out;
		br_init(&r, resp.data, resp.len);
		(void)br_i32(&r);
		if (v >= 7) {
			(void)br_i16(&r);
			(void)br_i32(&r);
		}
		nt = proto_read_array_len(&r, false, 6);
		for (t = 0; t < nt && br_ok(&r); t++) {
			struct proto_str name = proto_read_str(&r, false);

			np = proto_read_array_len(&r, false, 30);
			for (j = 0; j < np && br_ok(&r); j++) {
				int32_t id = br_i32(&r);
				int16_t code = br_i16(&r);
				struct proto_str recs;
				size_t k;
				int64_t ts;

				br_skip(&r, 16);	/* hw, lso */
				if (v >= 5)
					(void)br_i64(&r);
				na = proto_read_array_len(&r, true, 16);
				if (na > 0)
					br_skip(&r, (size_t)na * 16);
				if (v >= 11)
					(void)br_i32(&r);
				recs = proto_read_bytes(&r, true);
				k = find_part(parts, idx, m, name, id);
				if (!br_ok(&r) || k == SIZE_MAX)
					continue;
				if (code != KERR_NONE) {
					log_warnx("topic '%s' partition %" PRId32
					    ": Fetch: %s", parts[k].topic, id,
					    kg_kerr_name(code));
					continue;
				}
				ts = record_ts(recs, parts[k].committed);
				if (ts >= 0)
					parts[k].lag_ms = kg->now_ms > ts ?
					    kg->now_ms - ts : 0;
			}
		}
		if (!br_ok(&r)) {
			kg_malformed(c, API_FETCH, e);
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&resp);
	free(leaders);
	free(done);
	free(idx);
	return rc;
}
