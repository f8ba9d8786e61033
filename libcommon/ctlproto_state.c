/* SPDX-License-Identifier: MIT */
/*
 * ClusterState (see ctlproto.h): ownership, deep copies, lookups and its
 * wire codec, plus the bounded field readers every private message uses.
 * A decoded state always has partitions[p].partition == p, so lookups by
 * partition number are array indexing.
 */
#include <stdlib.h>
#include <string.h>

#include "ctlproto_impl.h"
#include "proto.h"
#include "banned.h"

const char ctlproto_oom[] = "out of memory";

/* Minimum wire sizes of array elements, for proto_read_array_len. */
#define MIN_BROKER 13		/* id, host, port, rack, alive */
#define MIN_TOPIC 11		/* name, internal, configs, partitions */
#define MIN_CONFIG 4		/* two strings */
#define MIN_PARTITION 24	/* four int32, two arrays */

void
ctlproto_get_fixed(struct breader *r, char *dst, size_t size, bool nullable,
    const char *why)
{
	struct proto_str s = proto_read_str(r, nullable);

	dst[0] = '\0';
	if (!br_ok(r) || s.len < 0)
		return;
	if ((size_t)s.len >= size || memchr(s.p, '\0', (size_t)s.len)) {
		br_fail(r, why);
		return;
	}
	memcpy(dst, s.p, (size_t)s.len);
	dst[s.len] = '\0';
}

char *
ctlproto_get_dup(struct breader *r, const char *why)
{
	struct proto_str s = proto_read_str(r, false);
	char *p;

	if (!br_ok(r))
		return NULL;
	if (memchr(s.p, '\0', (size_t)s.len)) {
		br_fail(r, why);
		return NULL;
	}
	p = malloc((size_t)s.len + 1);
	if (p == NULL) {
		br_fail(r, ctlproto_oom);
		return NULL;
	}
	memcpy(p, s.p, (size_t)s.len);
	p[s.len] = '\0';
	return p;
}

int32_t
ctlproto_get_count(struct breader *r, size_t min_elem, int32_t cap,
    const char *why)
{
	int32_t n = proto_read_array_len(r, false, min_elem);

	if (br_ok(r) && n > cap) {
		br_fail(r, why);
		return 0;
	}
	return br_ok(r) ? n : 0;
}

void *
ctlproto_get_array(struct breader *r, int32_t n, size_t size)
{
	void *p;

	if (!br_ok(r) || n <= 0)
		return NULL;
	p = calloc((size_t)n, size);
	if (p == NULL)
		br_fail(r, ctlproto_oom);
	return p;
}

void
ctlproto_get_ids(struct breader *r, int32_t *dst, int32_t *n, const char *why)
{
	int32_t i, count = ctlproto_get_count(r, 4, CTLPROTO_MAX_REPLICAS, why);

	for (i = 0; i < count; i++)
		dst[i] = br_i32(r);
	*n = br_ok(r) ? count : 0;
}

void
ctlproto_put_ids(struct buf *b, const int32_t *v, int32_t n)
{
	int32_t i;

	buf_put_i32(b, n);
	for (i = 0; i < n; i++)
		buf_put_i32(b, v[i]);
}

void
ctlproto_get_message(struct breader *r, char *dst)
{
	struct proto_str s = proto_read_str(r, true);
	size_t n;

	dst[0] = '\0';
	if (!br_ok(r) || s.len < 0)
		return;
	n = (size_t)s.len < CTLPROTO_MSG_MAX - 1 ? (size_t)s.len :
	    CTLPROTO_MSG_MAX - 1;
	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

void
ctlproto_put_message(struct buf *b, const char *msg)
{
	proto_put_cstr(b, msg != NULL && msg[0] != '\0' ? msg : NULL);
}

void
ctlproto_set_message(char dst[CTLPROTO_MSG_MAX], const char *msg)
{
	size_t n = msg ? strlen(msg) : 0;

	if (n > CTLPROTO_MSG_MAX - 1)
		n = CTLPROTO_MSG_MAX - 1;
	if (n > 0)
		memcpy(dst, msg, n);
	dst[n] = '\0';
}

int
ctlproto_finish(const struct breader *r, const char *what, struct err *e)
{
	if (br_ok(r))
		return 0;
	return err_set(e, r->fail == ctlproto_oom ? EXIT_SOFTWARE :
	    EXIT_PROTOCOL, "%s: %s at byte %zu", what, r->fail, r->fail_at);
}

/* ------------------------------------------------------------------ */

void
cluster_state_init(struct cluster_state *s)
{
	memset(s, 0, sizeof(*s));
	s->version = -1;
}

static void
configs_free(struct ctl_config *c, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++) {
		free(c[i].key);
		free(c[i].value);
	}
	free(c);
}

void
cluster_topic_release(struct cluster_topic *t)
{
	configs_free(t->configs, t->nconfigs);
	free(t->partitions);
	memset(t, 0, sizeof(*t));
}

void
cluster_state_release(struct cluster_state *s)
{
	int32_t i;

	for (i = 0; i < s->ntopics; i++)
		cluster_topic_release(&s->topics[i]);
	free(s->topics);
	free(s->brokers);
	cluster_state_init(s);
}

void
cluster_state_free(struct cluster_state *s)
{
	if (s == NULL)
		return;
	cluster_state_release(s);
	free(s);
}

static char *
dup_cstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

int
cluster_topic_copy(const struct cluster_topic *src, struct cluster_topic *out)
{
	int32_t i;

	*out = *src;
	out->configs = NULL;
	out->nconfigs = 0;
	out->partitions = NULL;
	out->npartitions = 0;
	if (src->nconfigs > 0) {
		out->configs = calloc((size_t)src->nconfigs,
		    sizeof(*out->configs));
		if (out->configs == NULL)
			goto fail;
		out->nconfigs = src->nconfigs;
	}
	for (i = 0; i < src->nconfigs; i++) {
		out->configs[i].key = dup_cstr(src->configs[i].key);
		out->configs[i].value = dup_cstr(src->configs[i].value);
		if (!out->configs[i].key || !out->configs[i].value)
			goto fail;
	}
	if (src->npartitions > 0) {
		out->partitions = malloc((size_t)src->npartitions *
		    sizeof(*out->partitions));
		if (out->partitions == NULL)
			goto fail;
		memcpy(out->partitions, src->partitions,
		    (size_t)src->npartitions * sizeof(*out->partitions));
		out->npartitions = src->npartitions;
	}
	return 0;
fail:
	cluster_topic_release(out);
	return -1;
}

int
cluster_state_copy(const struct cluster_state *src, struct cluster_state *out,
    struct err *e)
{
	int32_t i;

	cluster_state_init(out);
	memcpy(out->cluster_id, src->cluster_id, sizeof(out->cluster_id));
	out->version = src->version;
	if (src->nbrokers > 0) {
		out->brokers = malloc((size_t)src->nbrokers *
		    sizeof(*out->brokers));
		if (out->brokers == NULL)
			goto fail;
		memcpy(out->brokers, src->brokers,
		    (size_t)src->nbrokers * sizeof(*out->brokers));
		out->nbrokers = src->nbrokers;
	}
	if (src->ntopics > 0) {
		out->topics = calloc((size_t)src->ntopics, sizeof(*out->topics));
		if (out->topics == NULL)
			goto fail;
	}
	for (i = 0; i < src->ntopics; i++) {
		if (cluster_topic_copy(&src->topics[i], &out->topics[i]) < 0)
			goto fail;
		out->ntopics = i + 1;
	}
	return 0;
fail:
	cluster_state_release(out);
	return err_set(e, EXIT_SOFTWARE, "copying cluster state: out of memory");
}

struct cluster_state *
cluster_state_dup(const struct cluster_state *src)
{
	struct cluster_state *s = malloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	if (cluster_state_copy(src, s, NULL) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int32_t
cluster_state_topic_index(const struct cluster_state *s, const char *name)
{
	int32_t i;

	for (i = 0; i < s->ntopics; i++)
		if (strcmp(s->topics[i].name, name) == 0)
			return i;
	return -1;
}

int32_t
cluster_state_broker_index(const struct cluster_state *s, int32_t id)
{
	int32_t i;

	for (i = 0; i < s->nbrokers; i++)
		if (s->brokers[i].id == id)
			return i;
	return -1;
}

const struct cluster_topic *
cluster_state_topic(const struct cluster_state *s, const char *name)
{
	int32_t i = cluster_state_topic_index(s, name);

	return i < 0 ? NULL : &s->topics[i];
}

const struct cluster_partition *
cluster_state_partition(const struct cluster_state *s, const char *topic,
    int32_t partition)
{
	const struct cluster_topic *t = cluster_state_topic(s, topic);

	if (t == NULL || partition < 0 || partition >= t->npartitions)
		return NULL;
	return &t->partitions[partition];
}

bool
cluster_ids_contain(const int32_t *v, int32_t n, int32_t id)
{
	int32_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

int64_t
ctl_describe_heartbeat_age(const struct ctl_describe_resp *m, int32_t id)
{
	int32_t i;

	for (i = 0; i < m->nages; i++)
		if (m->ages[i].broker_id == id)
			return m->ages[i].last_heartbeat_ms_ago;
	return -1;
}

const struct cluster_broker *
cluster_state_broker(const struct cluster_state *s, int32_t id)
{
	int32_t i = cluster_state_broker_index(s, id);

	return i < 0 ? NULL : &s->brokers[i];
}

const char *
cluster_topic_config(const struct cluster_topic *t, const char *key)
{
	int32_t i;

	for (i = 0; i < t->nconfigs; i++)
		if (strcmp(t->configs[i].key, key) == 0)
			return t->configs[i].value;
	return NULL;
}

static bool
ids_have(const int32_t *v, int32_t n, int32_t id)
{
	int32_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

bool
cluster_partition_has_replica(const struct cluster_partition *p,
    int32_t broker)
{
	return ids_have(p->replicas, p->nreplicas, broker);
}

bool
cluster_partition_in_isr(const struct cluster_partition *p, int32_t broker)
{
	return ids_have(p->isr, p->nisr, broker);
}

/* ------------------------------------------------------------------ */

void
ctlproto_write_partition(struct buf *b, const struct cluster_partition *p)
{
	buf_put_i32(b, p->partition);
	buf_put_i32(b, p->leader);
	buf_put_i32(b, p->leader_epoch);
	buf_put_i32(b, p->partition_epoch);
	ctlproto_put_ids(b, p->replicas, p->nreplicas);
	ctlproto_put_ids(b, p->isr, p->nisr);
}

static void
get_partition(struct breader *r, struct cluster_partition *out)
{
	memset(out, 0, sizeof(*out));
	out->partition = br_i32(r);
	out->leader = br_i32(r);
	out->leader_epoch = br_i32(r);
	out->partition_epoch = br_i32(r);
	ctlproto_get_ids(r, out->replicas, &out->nreplicas,
	    "too many replicas");
	ctlproto_get_ids(r, out->isr, &out->nisr, "too many ISR members");
}

int
ctlproto_read_partition(struct breader *r, struct cluster_partition *out,
    struct err *e)
{
	get_partition(r, out);
	return ctlproto_finish(r, "partition", e);
}

void
ctlproto_write_topic(struct buf *b, const struct cluster_topic *t)
{
	int32_t i;

	proto_put_cstr(b, t->name);
	proto_put_bool(b, t->internal);
	buf_put_i32(b, t->nconfigs);
	for (i = 0; i < t->nconfigs; i++) {
		proto_put_cstr(b, t->configs[i].key);
		proto_put_cstr(b, t->configs[i].value);
	}
	buf_put_i32(b, t->npartitions);
	for (i = 0; i < t->npartitions; i++)
		ctlproto_write_partition(b, &t->partitions[i]);
}

/* Decode one topic into a zeroed *out; the caller releases on failure. */
static void
get_topic(struct breader *r, struct cluster_topic *out)
{
	int32_t i, n;

	ctlproto_get_fixed(r, out->name, sizeof(out->name), false,
	    "bad topic name");
	if (br_ok(r) && out->name[0] == '\0')
		br_fail(r, "empty topic name");
	out->internal = proto_read_bool(r);
	n = ctlproto_get_count(r, MIN_CONFIG, CTLPROTO_MAX_CONFIGS,
	    "too many configs");
	out->configs = ctlproto_get_array(r, n, sizeof(*out->configs));
	out->nconfigs = br_ok(r) ? n : 0;
	for (i = 0; i < out->nconfigs && br_ok(r); i++) {
		out->configs[i].key = ctlproto_get_dup(r, "bad config key");
		out->configs[i].value = ctlproto_get_dup(r, "bad config value");
	}
	n = ctlproto_get_count(r, MIN_PARTITION, CTLPROTO_MAX_PARTITIONS,
	    "too many partitions");
	out->partitions = ctlproto_get_array(r, n, sizeof(*out->partitions));
	out->npartitions = br_ok(r) ? n : 0;
	for (i = 0; i < out->npartitions && br_ok(r); i++) {
		get_partition(r, &out->partitions[i]);
		if (br_ok(r) && out->partitions[i].partition != i)
			br_fail(r, "partitions not numbered 0..n-1");
	}
}

int
ctlproto_read_topic(struct breader *r, struct cluster_topic *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	get_topic(r, out);
	if (!br_ok(r))
		cluster_topic_release(out);
	return ctlproto_finish(r, "topic", e);
}

void
ctlproto_write_cluster_state(struct buf *b, const struct cluster_state *s)
{
	int32_t i;

	proto_put_cstr(b, s->cluster_id);
	buf_put_i64(b, s->version);
	buf_put_i32(b, s->nbrokers);
	for (i = 0; i < s->nbrokers; i++) {
		const struct cluster_broker *k = &s->brokers[i];

		buf_put_i32(b, k->id);
		proto_put_cstr(b, k->host);
		buf_put_i32(b, k->port);
		proto_put_cstr(b, k->rack[0] ? k->rack : NULL);
		proto_put_bool(b, k->alive);
	}
	buf_put_i32(b, s->ntopics);
	for (i = 0; i < s->ntopics; i++)
		ctlproto_write_topic(b, &s->topics[i]);
}

static void
get_brokers(struct breader *r, struct cluster_state *out)
{
	int32_t i, n = ctlproto_get_count(r, MIN_BROKER, CTLPROTO_MAX_BROKERS,
	    "too many brokers");

	out->brokers = ctlproto_get_array(r, n, sizeof(*out->brokers));
	out->nbrokers = br_ok(r) ? n : 0;
	for (i = 0; i < out->nbrokers && br_ok(r); i++) {
		struct cluster_broker *k = &out->brokers[i];

		k->id = br_i32(r);
		ctlproto_get_fixed(r, k->host, sizeof(k->host), false,
		    "bad broker host");
		k->port = br_i32(r);
		ctlproto_get_fixed(r, k->rack, sizeof(k->rack), true,
		    "bad broker rack");
		k->alive = proto_read_bool(r);
	}
}

/* Decode into an initialised *out; the caller releases on failure. */
static void
get_cluster_state(struct breader *r, struct cluster_state *out)
{
	int64_t total = 0;
	int32_t i, n;

	ctlproto_get_fixed(r, out->cluster_id, sizeof(out->cluster_id), false,
	    "bad cluster id");
	out->version = br_i64(r);
	get_brokers(r, out);
	n = ctlproto_get_count(r, MIN_TOPIC, CTLPROTO_MAX_TOPICS,
	    "too many topics");
	out->topics = ctlproto_get_array(r, n, sizeof(*out->topics));
	out->ntopics = br_ok(r) ? n : 0;
	for (i = 0; i < out->ntopics && br_ok(r); i++) {
		get_topic(r, &out->topics[i]);
		total += out->topics[i].npartitions;
		if (total > CTLPROTO_MAX_TOTAL_PARTITIONS)
			br_fail(r, "too many partitions in all");
	}
}

int
ctlproto_read_cluster_state(struct breader *r, struct cluster_state *out,
    struct err *e)
{
	cluster_state_init(out);
	get_cluster_state(r, out);
	if (!br_ok(r))
		cluster_state_release(out);
	return ctlproto_finish(r, "cluster state", e);
}

void
ctlproto_get_cluster_state(struct breader *r, struct cluster_state *out)
{
	cluster_state_init(out);
	get_cluster_state(r, out);
}
