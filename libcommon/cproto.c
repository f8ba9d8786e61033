/* SPDX-License-Identifier: MIT */
/*
 * ConsumerProtocol subscription and assignment codecs (see cproto.h).
 * Every count is checked against the bytes left before it sizes an
 * allocation, so hostile member metadata cannot make us allocate more
 * than the frame it came in.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cproto.h"
#include "proto.h"
#include "banned.h"

static char *
dup_str(struct proto_str s)
{
	char *p;

	if (s.len < 0)
		return NULL;
	p = malloc((size_t)s.len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s.p, (size_t)s.len);
	p[s.len] = '\0';
	return p;
}

static uint8_t *
dup_bytes(struct proto_str s)
{
	uint8_t *p;

	if (s.len <= 0)
		return NULL;
	p = malloc((size_t)s.len);
	if (p != NULL)
		memcpy(p, s.p, (size_t)s.len);
	return p;
}

/* [topic string, partitions [i32]]: 0, or -1 when malformed. */
static int
read_topic_parts(struct breader *r, struct cproto_topic_parts **out,
    int32_t *nout)
{
	int32_t n = proto_read_array_len(r, false, 6), i, j;
	struct cproto_topic_parts *v;

	*out = NULL;
	*nout = 0;
	if (!br_ok(r))
		return -1;
	if (n == 0)
		return 0;
	v = calloc((size_t)n, sizeof(*v));
	if (v == NULL)
		return -1;
	*out = v;
	for (i = 0; i < n; i++) {
		struct proto_str t = proto_read_str(r, false);
		int32_t np = proto_read_array_len(r, false, 4);

		if (!br_ok(r))
			return -1;
		v[i].topic = dup_str(t);
		if (v[i].topic == NULL)
			return -1;
		*nout = i + 1;
		if (np > 0) {
			v[i].partitions = malloc((size_t)np * sizeof(int32_t));
			if (v[i].partitions == NULL)
				return -1;
		}
		for (j = 0; j < np; j++)
			v[i].partitions[j] = br_i32(r);
		v[i].npartitions = np;
	}
	return br_ok(r) ? 0 : -1;
}

static void
free_topic_parts(struct cproto_topic_parts *v, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++) {
		free(v[i].topic);
		free(v[i].partitions);
	}
	free(v);
}

static void
put_topic_parts(struct buf *b, const struct cproto_topic_parts *v, int32_t n)
{
	int32_t i, j;

	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		proto_put_cstr(b, v[i].topic);
		buf_put_i32(b, v[i].npartitions);
		for (j = 0; j < v[i].npartitions; j++)
			buf_put_i32(b, v[i].partitions[j]);
	}
}

int
cproto_assignment_decode(const void *data, size_t len,
    struct cproto_assignment *out, struct err *e)
{
	struct breader r;
	struct proto_str ud;

	memset(out, 0, sizeof(*out));
	out->user_data_len = -1;
	if (len == 0)
		return 0;
	br_init(&r, data, len);
	out->version = br_i16(&r);
	if (!br_ok(&r) || out->version < 0)
		return err_set(e, EXIT_PROTOCOL, "consumer assignment: bad "
		    "version");
	if (read_topic_parts(&r, &out->topics, &out->ntopics) < 0)
		return err_set(e, EXIT_PROTOCOL, "consumer assignment: "
		    "malformed topic partitions");
	/* Some clients end the assignment before user_data; accept that. */
	if (br_left(&r) == 0)
		return 0;
	ud = proto_read_bytes(&r, true);
	if (!br_ok(&r))
		return err_set(e, EXIT_PROTOCOL, "consumer assignment: "
		    "malformed user data");
	out->user_data = dup_bytes(ud);
	out->user_data_len = ud.len;
	return 0;
}

void
cproto_assignment_release(struct cproto_assignment *a)
{
	if (a == NULL)
		return;
	free_topic_parts(a->topics, a->ntopics);
	free(a->user_data);
	memset(a, 0, sizeof(*a));
}

int
cproto_subscription_decode(const void *data, size_t len,
    struct cproto_subscription *out, struct err *e)
{
	struct breader r;
	struct proto_str ud;
	int32_t n, i;

	memset(out, 0, sizeof(*out));
	out->user_data_len = -1;
	out->generation = -1;
	if (len == 0)
		return 0;
	br_init(&r, data, len);
	out->version = br_i16(&r);
	n = proto_read_array_len(&r, false, 2);
	if (!br_ok(&r) || out->version < 0)
		return err_set(e, EXIT_PROTOCOL, "consumer subscription: "
		    "malformed header");
	if (n > 0) {
		out->topics = calloc((size_t)n, sizeof(*out->topics));
		if (out->topics == NULL)
			return err_set(e, EXIT_SOFTWARE, "out of memory");
	}
	for (i = 0; i < n; i++) {
		struct proto_str t = proto_read_str(&r, false);

		if (!br_ok(&r) || (out->topics[i] = dup_str(t)) == NULL)
			return err_set(e, EXIT_PROTOCOL, "consumer "
			    "subscription: malformed topic list");
		out->ntopics = i + 1;
	}
	if (br_left(&r) == 0)
		return 0;
	ud = proto_read_bytes(&r, true);
	if (!br_ok(&r))
		return err_set(e, EXIT_PROTOCOL, "consumer subscription: "
		    "malformed user data");
	out->user_data = dup_bytes(ud);
	out->user_data_len = ud.len;
	if (out->version < 1 || br_left(&r) == 0)
		return 0;
	if (read_topic_parts(&r, &out->owned, &out->nowned) < 0)
		return err_set(e, EXIT_PROTOCOL, "consumer subscription: "
		    "malformed owned partitions");
	if (out->version < 2 || br_left(&r) == 0)
		return 0;
	out->generation = br_i32(&r);
	if (out->version >= 3 && br_left(&r) > 0)
		out->rack = dup_str(proto_read_str(&r, true));
	if (!br_ok(&r))
		return err_set(e, EXIT_PROTOCOL, "consumer subscription: "
		    "malformed generation or rack");
	return 0;
}

void
cproto_subscription_release(struct cproto_subscription *s)
{
	int32_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ntopics; i++)
		free(s->topics[i]);
	free(s->topics);
	free(s->user_data);
	free_topic_parts(s->owned, s->nowned);
	free(s->rack);
	memset(s, 0, sizeof(*s));
}

void
cproto_assignment_encode(struct buf *b, const struct cproto_assignment *a)
{
	buf_put_i16(b, a->version);
	put_topic_parts(b, a->topics, a->ntopics);
	proto_put_bytes(b, a->user_data, a->user_data_len < 0 ? -1 :
	    a->user_data_len);
}

void
cproto_subscription_encode(struct buf *b, const struct cproto_subscription *s)
{
	int32_t i;

	buf_put_i16(b, s->version);
	buf_put_i32(b, s->ntopics);
	for (i = 0; i < s->ntopics; i++)
		proto_put_cstr(b, s->topics[i]);
	proto_put_bytes(b, s->user_data, s->user_data_len < 0 ? -1 :
	    s->user_data_len);
	if (s->version >= 1)
		put_topic_parts(b, s->owned, s->nowned);
	if (s->version >= 2)
		buf_put_i32(b, s->generation);
	if (s->version >= 3)
		proto_put_cstr(b, s->rack);
}
