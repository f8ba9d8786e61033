/* SPDX-License-Identifier: MIT */
/*
 * The administrative calls of kgroups: ListGroups on every coordinator
 * (with DescribeGroups for states and member counts), the admin-style
 * OffsetCommit v2-7 of reset-offsets (generation -1, no member id),
 * OffsetDelete v0 and DeleteGroups v0-1. Blocking, one request at a
 * time, like kgroups_wire.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

int
kg_offset_commit(struct kg *kg, struct kcl_conn *c, const char *group,
    const struct kg_part *parts, size_t n, struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	struct buf *b;
	int32_t nt, np, t, j;
	size_t i;
	int v, rc = -1;

	(void)kg;
	if ((v = kg_version(c, API_OFFSET_COMMIT, 2, 7, e)) < 0)
		return -1;
	b = kcl_request_begin(c, API_OFFSET_COMMIT, (int16_t)v);
	proto_put_cstr(b, group);
	buf_put_i32(b, -1);		/* generation: an admin commit */
	proto_put_cstr(b, "");		/* member_id */
	if (v >= 7)
		proto_put_cstr(b, NULL);	/* group_instance_id */
	if (v <= 4)
		buf_put_i64(b, -1);	/* retention: the broker's */
	buf_put_i32(b, (int32_t)n);
	for (i = 0; i < n; i++) {
		proto_put_cstr(b, parts[i].topic);
		buf_put_i32(b, 1);
		buf_put_i32(b, parts[i].partition);
		buf_put_i64(b, parts[i].target);
		if (v >= 6)
			buf_put_i32(b, -1);	/* leader epoch */
		proto_put_cstr(b, "");
	}
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (v >= 3)
		(void)br_i32(&r);
	nt = proto_read_array_len(&r, false, 6);
	for (t = 0; t < nt && br_ok(&r); t++) {
		struct proto_str name = proto_read_str(&r, false);

		np = proto_read_array_len(&r, false, 6);
		for (j = 0; j < np && br_ok(&r); j++) {
			int32_t id = br_i32(&r);
			int16_t code = br_i16(&r);

			if (br_ok(&r) && code != KERR_NONE) {
				err_set(e, code == KERR_UNKNOWN_MEMBER_ID ||
				    code == KERR_REBALANCE_IN_PROGRESS ||
				    code == KERR_ILLEGAL_GENERATION ?
				    EXIT_TEMPFAIL : EXIT_FAIL, "group '%s' "
				    "topic '%.*s' partition %" PRId32 ": commit "
				    "refused: %s", group, (int)name.len, name.p,
				    id, kg_kerr_name(code));
				goto out;
			}
		}
	}
	if (!br_ok(&r)) {
		kg_malformed(c, API_OFFSET_COMMIT, e);
		goto out;
	}
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

int
kg_delete_group(struct kg *kg, struct kcl_conn *c, const char *group,
    struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	struct buf *b;
	int16_t code;
	int v, rc = -1;

	(void)kg;
	if ((v = kg_version(c, API_DELETE_GROUPS, 0, 1, e)) < 0)
		return -1;
	b = kcl_request_begin(c, API_DELETE_GROUPS, (int16_t)v);
	buf_put_i32(b, 1);
	proto_put_cstr(b, group);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	(void)br_i32(&r);
	if (proto_read_array_len(&r, false, 4) != 1) {
		kg_malformed(c, API_DELETE_GROUPS, e);
		goto out;
	}
	(void)proto_read_str(&r, false);
	code = br_i16(&r);
	if (!br_ok(&r)) {
		kg_malformed(c, API_DELETE_GROUPS, e);
		goto out;
	}
	if (code == KERR_GROUP_ID_NOT_FOUND)
		err_set(e, EXIT_NOUSER, "group '%s' does not exist", group);
	else if (code == KERR_NON_EMPTY_GROUP)
		err_set(e, EXIT_TEMPFAIL, "group '%s' still has members; "
		    "stop its consumers first", group);
	else if (code != KERR_NONE)
		err_set(e, EXIT_TEMPFAIL, "group '%s': DeleteGroups: %s",
		    group, kg_kerr_name(code));
	else
		rc = 0;
out:
	buf_release(&resp);
	return rc;
}

static void
put_offset_delete(struct buf *b, const char *group, const struct kg_part *parts,
    size_t n)
{
	size_t i, j, ntopics = 0;

	proto_put_cstr(b, group);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(parts[i].topic, parts[i - 1].topic) != 0)
			ntopics++;
	buf_put_i32(b, (int32_t)ntopics);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(parts[j].topic,
		    parts[i].topic) == 0; j++)
			;
		proto_put_cstr(b, parts[i].topic);
		buf_put_i32(b, (int32_t)(j - i));
		for (; i < j; i++)
			buf_put_i32(b, parts[i].partition);
	}
}

/* Turn OffsetDelete's group-level error into `e`. */
static int
offset_delete_error(const char *group, int16_t code, struct err *e)
{
	switch (code) {
	case KERR_GROUP_ID_NOT_FOUND:
		return err_set(e, EXIT_NOUSER, "group '%s' does not exist",
		    group);
	case KERR_NON_EMPTY_GROUP:
		return err_set(e, EXIT_TEMPFAIL, "group '%s' has members and "
		    "is not a consumer group; stop its members first", group);
	case KERR_INVALID_GROUP_ID:
		return err_set(e, EXIT_USAGE, "invalid group id '%s'", group);
	default:
		return err_set(e, EXIT_TEMPFAIL, "group '%s': OffsetDelete: %s",
		    group, kg_kerr_name(code));
	}
}

int
kg_offset_delete(struct kg *kg, struct kcl_conn *c, const char *group,
    struct kg_part *parts, size_t n, struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	int32_t nt, np, t, j;
	int16_t code;
	size_t i;
	int rc = -1;

	(void)kg;
	if (kg_version(c, API_OFFSET_DELETE, 0, 0, e) < 0)
		return -1;
	put_offset_delete(kcl_request_begin(c, API_OFFSET_DELETE, 0), group,
	    parts, n);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	/* A partition the broker leaves out counts as failed. */
	for (i = 0; i < n; i++)
		parts[i].error = KERR_UNKNOWN_SERVER_ERROR;
	br_init(&r, resp.data, resp.len);
	code = br_i16(&r);
	(void)br_i32(&r);			/* throttle_time_ms */
	nt = proto_read_array_len(&r, false, 6);
	for (t = 0; t < nt && br_ok(&r); t++) {
		struct proto_str name = proto_read_str(&r, false);

		np = proto_read_array_len(&r, false, 6);
		for (j = 0; j < np && br_ok(&r); j++) {
			int32_t id = br_i32(&r);
			int16_t pcode = br_i16(&r);

			for (i = 0; br_ok(&r) && i < n; i++)
				if (parts[i].partition == id &&
				    proto_str_eq(name, parts[i].topic))
					parts[i].error = pcode;
		}
	}
	if (!br_ok(&r)) {
		kg_malformed(c, API_OFFSET_DELETE, e);
		goto out;
	}
	if (code != KERR_NONE) {
		offset_delete_error(group, code, e);
		goto out;
	}
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

void
kg_listed_free(struct kg_listed *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].protocol_type);
		free(v[i].state);
	}
	free(v);
}

static int
listed_cmp(const void *a, const void *b)
{
	const struct kg_listed *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* Fill state and member counts of v[from..n) from coordinator `c`. */
static int
describe_listed(struct kcl_conn *c, struct kg_listed *v, size_t from,
    size_t n, struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	struct buf *b;
	int32_t ng, i, nm, k;
	size_t j;
	int ver, rc = -1;

	if (from == n)
		return 0;
	if ((ver = kg_version(c, API_DESCRIBE_GROUPS, 0, 4, e)) < 0)
		return -1;
	b = kcl_request_begin(c, API_DESCRIBE_GROUPS, (int16_t)ver);
	buf_put_i32(b, (int32_t)(n - from));
	for (j = from; j < n; j++)
		proto_put_cstr(b, v[j].id);
	if (ver >= 3)
		proto_put_bool(b, false);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (ver >= 1)
		(void)br_i32(&r);
	ng = proto_read_array_len(&r, false, 2);
	for (i = 0; i < ng && br_ok(&r); i++) {
		struct proto_str id, state;

		(void)br_i16(&r);
		id = proto_read_str(&r, false);
		state = proto_read_str(&r, false);
		(void)proto_read_str(&r, false);
		(void)proto_read_str(&r, false);
		nm = proto_read_array_len(&r, false, 18);
		for (k = 0; k < nm && br_ok(&r); k++) {
			(void)proto_read_str(&r, false);
			if (ver >= 4)
				(void)proto_read_str(&r, true);
			(void)proto_read_str(&r, false);
			(void)proto_read_str(&r, false);
			(void)proto_read_bytes(&r, true);
			(void)proto_read_bytes(&r, true);
		}
		if (ver >= 3)
			(void)br_i32(&r);
		for (j = from; j < n && br_ok(&r); j++)
			if (proto_str_eq(id, v[j].id) && v[j].state == NULL) {
				v[j].state = kg_str_dup(state);
				v[j].nmembers = nm;
				break;
			}
	}
	if (!br_ok(&r)) {
		kg_malformed(c, API_DESCRIBE_GROUPS, e);
		goto out;
	}
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

/* ListGroups on one coordinator, appending groups not seen yet. */
static int
list_one(struct kg *kg, int32_t broker, struct kg_listed **v, size_t *n,
    struct err *e)
{
	struct buf resp = BUF_INIT;
	struct kcl_conn *c;
	struct breader r;
	size_t from = *n, j;
	int32_t ng, i;
	int16_t code;
	int ver, rc = -1;

	if ((c = kcl_conn(kg->k, broker, e)) == NULL ||
	    (ver = kg_version(c, API_LIST_GROUPS, 0, 2, e)) < 0)
		return -1;
	(void)kcl_request_begin(c, API_LIST_GROUPS, (int16_t)ver);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (ver >= 1)
		(void)br_i32(&r);
	code = br_i16(&r);
	ng = proto_read_array_len(&r, false, 4);
	for (i = 0; i < ng && br_ok(&r); i++) {
		struct proto_str id = proto_read_str(&r, false);
		struct proto_str type = proto_read_str(&r, false);

		if (!br_ok(&r))
			break;
		for (j = 0; j < *n; j++)
			if (proto_str_eq(id, (*v)[j].id))
				break;
		if (j < *n)
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		memset(&(*v)[*n], 0, sizeof(**v));
		(*v)[*n].id = kg_str_dup(id);
		(*v)[*n].protocol_type = kg_str_dup(type);
		(*v)[*n].coordinator = kcl_conn_broker(c);
		(*n)++;
	}
	if (!br_ok(&r)) {
		kg_malformed(c, API_LIST_GROUPS, e);
		goto out;
	}
	if (code != KERR_NONE) {
		err_set(e, EXIT_TEMPFAIL, "broker %s: ListGroups: %s",
		    kcl_conn_name(c), kg_kerr_name(code));
		goto out;
	}
	rc = describe_listed(c, *v, from, *n, e);
out:
	buf_release(&resp);
	return rc;
}

int
kg_list_groups(struct kg *kg, struct kg_listed **out, size_t *nout,
    struct err *e)
{
	const struct kcl_topic *t = kcl_topic(kg->k, "__consumer_offsets");
	struct kg_listed *v = NULL;
	int32_t *seen = NULL, i;
	size_t n = 0, nseen = 0, j;
	int rc = -1;

	/* Groups live on the leaders of __consumer_offsets partitions. */
	if (t == NULL || t->npartitions == 0) {
		if (list_one(kg, -1, &v, &n, e) < 0)
			goto out;
	} else {
		seen = xcalloc((size_t)t->npartitions, sizeof(*seen));
		for (i = 0; i < t->npartitions; i++) {
			int32_t l = t->parts[i].leader;

			for (j = 0; j < nseen && seen[j] != l; j++)
				;
			if (l < 0 || j < nseen)
				continue;
			seen[nseen++] = l;
			if (list_one(kg, l, &v, &n, e) < 0)
				goto out;
		}
	}
	for (j = 0; j < n; j++)
		if (v[j].state == NULL)
			v[j].state = xstrdup("Unknown");
	if (n > 1)
		qsort(v, n, sizeof(*v), listed_cmp);
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	kg_listed_free(v, n);
	free(seen);
	return rc;
}
