/* SPDX-License-Identifier: MIT */
/*
 * Topic administration: CreateTopics (v0-4), DeleteTopics (v0-3),
 * CreatePartitions (v0-1) and DescribeConfigs (v0-2). One logd holds one
 * replica of everything, so replication factors other than 1 (or -1, the
 * broker default) and assignments naming other brokers are refused with
 * the errors Kafka gives. In cluster mode ctrld owns the topics, so the
 * first three answer POLICY_VIOLATION.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd.h"
#include "banned.h"

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4

/* Cluster mode: what CreateTopics, DeleteTopics and CreatePartitions get. */
#define CLUSTER_MANAGED_MSG \
	"topics are managed by ctrld: edit the manifest and run ctrld apply"

/* Check that an assignment's broker ids name only this broker. */
static int16_t
read_assignment_brokers(struct breader *r, int32_t self, char *msg,
    size_t msg_size)
{
	int32_t n = proto_read_array_len(r, false, 4), k;
	int16_t code = KERR_NONE;

	if (n != 1) {
		snprintf(msg, msg_size, "%" PRId32 " replicas assigned, but one "
		    "logd holds exactly one replica", n);
		code = KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	for (k = 0; k < n && br_ok(r); k++) {
		int32_t id = br_i32(r);

		if (id != self && code == KERR_NONE) {
			snprintf(msg, msg_size, "unknown broker id %" PRId32, id);
			code = KERR_INVALID_REPLICA_ASSIGNMENT;
		}
	}
	return code;
}

struct create_req {
	struct proto_str name;
	int32_t partitions;
	int16_t replication;
	int16_t error;
	char msg[600];
	struct tconf conf;
};

static void
create_parse_topic(struct req *q, struct create_req *c)
{
	struct breader *r = &q->body;
	int32_t self = q->ld->cfg.broker_id;
	int32_t nassign, nconf, k;

	c->name = proto_read_str(r, false);
	c->partitions = br_i32(r);
	c->replication = br_i16(r);
	nassign = proto_read_array_len(r, false, 8);
	for (k = 0; k < nassign && br_ok(r); k++) {
		int16_t code;

		(void)br_i32(r);		/* partition index */
		code = read_assignment_brokers(r, self, c->msg, sizeof(c->msg));
		if (code != KERR_NONE && c->error == KERR_NONE)
			c->error = code;
	}
	if (nassign > 0 && c->error == KERR_NONE) {
		if (c->partitions != -1 || c->replication != -1) {
			c->error = KERR_INVALID_REQUEST;
			snprintf(c->msg, sizeof(c->msg), "give either assignments "
			    "or partitions and replication factor, not both");
		}
		c->partitions = nassign;
		c->replication = 1;
	}
	nconf = proto_read_array_len(r, false, 4);
	for (k = 0; k < nconf && br_ok(r); k++) {
		struct proto_str key = proto_read_str(r, false);
		struct proto_str val = proto_read_str(r, true);
		char kbuf[128], vbuf[256];
		struct err e = { 0 };

		if (!br_ok(r) || c->error != KERR_NONE || val.len < 0)
			continue;
		if (!proto_str_copy(key, kbuf, sizeof(kbuf)) ||
		    !proto_str_copy(val, vbuf, sizeof(vbuf)) ||
		    tconf_set(&c->conf, kbuf, vbuf, &e) < 0) {
			c->error = KERR_INVALID_CONFIG;
			snprintf(c->msg, sizeof(c->msg), "%s",
			    e.msg[0] ? e.msg : "config name or value too long");
		}
	}
}

static void
create_check(struct req *q, struct create_req *c)
{
	struct logd *ld = q->ld;
	const char *why = NULL;

	if (ld->cluster != NULL) {
		c->error = KERR_POLICY_VIOLATION;
		snprintf(c->msg, sizeof(c->msg), "%s", CLUSTER_MANAGED_MSG);
		return;
	}
	if (c->error != KERR_NONE)
		return;
	c->error = (int16_t)topic_name_check(c->name.p, (size_t)c->name.len,
	    &why);
	if (c->error != KERR_NONE) {
		snprintf(c->msg, sizeof(c->msg), "%s", why);
		return;
	}
	if (topic_find(ld, c->name.p, (size_t)c->name.len) != NULL) {
		c->error = KERR_TOPIC_ALREADY_EXISTS;
		snprintf(c->msg, sizeof(c->msg), "topic '%.*s' already exists",
		    (int)c->name.len, c->name.p);
		return;
	}
	if (c->partitions == -1)
		c->partitions = ld->cfg.num_partitions;
	if (c->replication == -1)
		c->replication = (int16_t)ld->cfg.default_replication_factor;
	if (c->partitions <= 0 || c->partitions > 1000000) {
		c->error = KERR_INVALID_PARTITIONS;
		snprintf(c->msg, sizeof(c->msg),
		    "number of partitions must be from 1 to 1000000, got %" PRId32,
		    c->partitions);
	} else if (c->replication != 1) {
		c->error = KERR_INVALID_REPLICATION_FACTOR;
		snprintf(c->msg, sizeof(c->msg), "replication factor %d is "
		    "larger than the 1 broker available", c->replication);
	}
}

enum handle_result
handle_create_topics(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	struct create_req *reqs;
	int32_t n, i, j;
	bool validate_only = false;

	n = proto_read_array_len(r, false, 16);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	reqs = calloc((size_t)n + 1, sizeof(*reqs));
	if (reqs == NULL)
		return HANDLE_CLOSE;
	for (i = 0; i < n && br_ok(r); i++) {
		tconf_init(&reqs[i].conf);
		create_parse_topic(q, &reqs[i]);
	}
	(void)br_i32(r);			/* timeout_ms */
	if (v >= 1)
		validate_only = proto_read_bool(r);
	if (!br_ok(r))
		goto malformed;

	if (v >= 2)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		struct create_req *c = &reqs[i];
		struct err e = { 0 };
		char name[256];

		for (j = 0; j < i; j++)
			if (reqs[j].name.len == c->name.len &&
			    memcmp(reqs[j].name.p, c->name.p,
			    (size_t)c->name.len) == 0 && c->error == KERR_NONE) {
				c->error = KERR_INVALID_REQUEST;
				snprintf(c->msg, sizeof(c->msg),
				    "topic named twice in one request");
			}
		create_check(q, c);
		if (c->error == KERR_NONE && !validate_only) {
			proto_str_copy(c->name, name, sizeof(name));
			if (topic_create(q->ld, name, c->partitions, &c->conf,
			    NULL, &e) < 0) {
				c->error = e.code == EXIT_DATAERR ?
				    KERR_INVALID_TOPIC_EXCEPTION :
				    KERR_KAFKA_STORAGE_ERROR;
				snprintf(c->msg, sizeof(c->msg), "%s", e.msg);
				log_warnx("creating topic '%s': %s", name, e.msg);
			} else {
				log_info("created topic '%s' with %" PRId32
				    " partitions for %s", name, c->partitions,
				    q->c->peer);
			}
		}
		proto_put_str(b, c->name.p, (size_t)c->name.len);
		buf_put_i16(b, c->error);
		if (v >= 1)
			proto_put_cstr(b, c->error != KERR_NONE ? c->msg : NULL);
	}
	for (i = 0; i < n; i++)
		tconf_release(&reqs[i].conf);
	free(reqs);
	return HANDLE_DONE;
malformed:
	for (i = 0; i < n; i++)
		tconf_release(&reqs[i].conf);
	free(reqs);
	return HANDLE_CLOSE;
}

enum handle_result
handle_delete_topics(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	const uint8_t *names_at;
	int32_t n, i;

	n = proto_read_array_len(r, false, 2);
	names_at = r->p;
	for (i = 0; i < n; i++)
		(void)proto_read_str(r, false);
	(void)br_i32(r);			/* timeout_ms */
	if (!br_ok(r))
		return HANDLE_CLOSE;
	br_init(r, names_at, (size_t)(q->body.end - names_at));
	if (q->hdr.api_version >= 1)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		struct proto_str name = proto_read_str(r, false);
		struct topic *t = topic_find(q->ld, name.p, (size_t)name.len);
		int16_t code = KERR_NONE;
		struct err e = { 0 };

		if (q->ld->cluster != NULL)
			code = KERR_POLICY_VIOLATION;	/* v0-3: no message */
		else if (t == NULL)
			code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		else if (!q->ld->cfg.delete_topic_enable)
			code = KERR_TOPIC_DELETION_DISABLED;
		else if (t->internal)
			code = KERR_INVALID_REQUEST;
		else if (topic_delete(q->ld, t, &e) < 0) {
			log_warnx("deleting topic '%.*s': %s", (int)name.len,
			    name.p, e.msg);
			code = KERR_KAFKA_STORAGE_ERROR;
		} else {
			log_info("deleted topic '%.*s' for %s", (int)name.len,
			    name.p, q->c->peer);
		}
		proto_put_str(b, name.p, (size_t)name.len);
		buf_put_i16(b, code);
	}
	return HANDLE_DONE;
}

enum handle_result
handle_create_partitions(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	struct buf results = BUF_INIT;
	int32_t n, i, nresults = 0;
	bool validate_only;
	const uint8_t *topics_at;

	n = proto_read_array_len(r, false, 10);
	topics_at = r->p;
	for (i = 0; i < n && br_ok(r); i++) {
		int32_t na, k;

		(void)proto_read_str(r, false);
		(void)br_i32(r);
		na = proto_read_array_len(r, true, 4);
		for (k = 0; k < na && br_ok(r); k++) {
			int32_t nb = proto_read_array_len(r, false, 4);

			br_skip(r, (size_t)nb * 4);
		}
	}
	(void)br_i32(r);			/* timeout_ms */
	validate_only = proto_read_bool(r);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	br_init(r, topics_at, (size_t)(q->body.end - topics_at));
	for (i = 0; i < n; i++) {
		struct proto_str name = proto_read_str(r, false);
		int32_t count = br_i32(r), na, k;
		struct topic *t = topic_find(q->ld, name.p, (size_t)name.len);
		int16_t code = KERR_NONE;
		char msg[600] = "";
		struct err e = { 0 };

		na = proto_read_array_len(r, true, 4);
		for (k = 0; k < na; k++) {
			int16_t c = read_assignment_brokers(r,
			    q->ld->cfg.broker_id, msg, sizeof(msg));

			if (c != KERR_NONE && code == KERR_NONE)
				code = c;
		}
		if (q->ld->cluster != NULL) {
			code = KERR_POLICY_VIOLATION;
			snprintf(msg, sizeof(msg), "%s", CLUSTER_MANAGED_MSG);
		} else if (t == NULL) {
			code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			snprintf(msg, sizeof(msg), "unknown topic");
		} else if (code == KERR_NONE && count <= t->npartitions) {
			code = KERR_INVALID_PARTITIONS;
			snprintf(msg, sizeof(msg), "topic has %" PRId32
			    " partitions, which is not less than the %" PRId32
			    " requested", t->npartitions, count);
		} else if (code == KERR_NONE && count > 1000000) {
			code = KERR_INVALID_PARTITIONS;
			snprintf(msg, sizeof(msg), "at most 1000000 partitions");
		} else if (code == KERR_NONE && na >= 0 &&
		    na != count - t->npartitions) {
			code = KERR_INVALID_REPLICA_ASSIGNMENT;
			snprintf(msg, sizeof(msg), "%" PRId32 " assignments for "
			    "%" PRId32 " new partitions", na,
			    count - t->npartitions);
		}
		if (code == KERR_NONE && !validate_only) {
			if (topic_add_partitions(q->ld, t, count, &e) < 0) {
				code = KERR_KAFKA_STORAGE_ERROR;
				snprintf(msg, sizeof(msg), "%s", e.msg);
			} else {
				log_info("topic '%s' now has %" PRId32
				    " partitions", t->name, count);
			}
		}
		proto_put_str(&results, name.p, (size_t)name.len);
		buf_put_i16(&results, code);
		proto_put_cstr(&results, code != KERR_NONE ? msg : NULL);
		nresults++;
	}
	buf_put_i32(b, 0);			/* throttle_time_ms */
	buf_put_i32(b, nresults);
	buf_put(b, results.data, results.len);
	if (results.failed)
		b->failed = true;
	buf_release(&results);
	return HANDLE_DONE;
}

/* Whether `name` was asked for (a null key list asks for everything). */
static bool
key_wanted(const uint8_t *keys_at, int32_t nkeys, const uint8_t *end,
    const char *name)
{
	struct breader r;
	int32_t i;

	if (nkeys < 0)
		return true;
	br_init(&r, keys_at, (size_t)(end - keys_at));
	for (i = 0; i < nkeys; i++)
		if (proto_str_eq(proto_read_str(&r, false), name))
			return true;
	return false;
}

static void
put_config_entry(struct req *q, const char *name, const char *value,
    bool read_only, enum tconf_source source, bool synonyms,
    const struct tconf_def *d, const struct topic *t)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;

	proto_put_cstr(b, name);
	proto_put_cstr(b, value);
	proto_put_bool(b, read_only);
	if (v == 0)
		proto_put_bool(b, source == TCONF_SOURCE_DEFAULT);
	else
		buf_put_i8(b, (int8_t)source);
	proto_put_bool(b, false);		/* is_sensitive */
	if (v < 1)
		return;
	if (!synonyms || d == NULL) {
		buf_put_i32(b, 0);
		return;
	}
	/* Synonyms in precedence order: topic, broker, built-in default. */
	{
		const struct tconf *bd = &q->ld->cfg.topic_defaults;
		int32_t count = 1;

		if (t != NULL && t->conf.values[d->id] != NULL)
			count++;
		if (bd->values[d->id] != NULL)
			count++;
		buf_put_i32(b, count);
		if (t != NULL && t->conf.values[d->id] != NULL) {
			proto_put_cstr(b, d->name);
			proto_put_cstr(b, t->conf.values[d->id]);
			buf_put_i8(b, TCONF_SOURCE_TOPIC);
		}
		if (bd->values[d->id] != NULL) {
			proto_put_cstr(b, d->broker_name);
			proto_put_cstr(b, bd->values[d->id]);
			buf_put_i8(b, TCONF_SOURCE_BROKER);
		}
		proto_put_cstr(b, d->broker_name);
		proto_put_cstr(b, d->default_value);
		buf_put_i8(b, TCONF_SOURCE_DEFAULT);
	}
}

enum handle_result
handle_describe_configs(struct req *q)
{
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	const uint8_t *res_at;
	bool synonyms = false;
	int32_t n, i;

	n = proto_read_array_len(r, false, 7);
	res_at = r->p;
	for (i = 0; i < n && br_ok(r); i++) {
		int32_t nk, k;

		(void)br_i8(r);
		(void)proto_read_str(r, false);
		nk = proto_read_array_len(r, true, 2);
		for (k = 0; k < nk; k++)
			(void)proto_read_str(r, false);
	}
	if (v >= 1)
		synonyms = proto_read_bool(r);
	if (!br_ok(r))
		return HANDLE_CLOSE;
	br_init(r, res_at, (size_t)(q->body.end - res_at));
	buf_put_i32(b, 0);			/* throttle_time_ms */
	buf_put_i32(b, n);
	for (i = 0; i < n; i++) {
		int8_t type = br_i8(r);
		struct proto_str name = proto_read_str(r, false);
		int32_t nkeys = proto_read_array_len(r, true, 2), k;
		const uint8_t *keys_at = r->p;
		const struct topic *t = NULL;
		int16_t code = KERR_NONE;
		const char *msg = NULL;
		char self[16];
		size_t count_at, c;
		int32_t count = 0;

		for (k = 0; k < nkeys; k++)
			(void)proto_read_str(r, false);
		snprintf(self, sizeof(self), "%" PRId32, q->ld->cfg.broker_id);
		if (type == RESOURCE_TOPIC) {
			t = topic_find(q->ld, name.p, (size_t)name.len);
			if (t == NULL) {
				code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				msg = "unknown topic";
			}
		} else if (type == RESOURCE_BROKER) {
			if (name.len != 0 && !proto_str_eq(name, self)) {
				code = KERR_INVALID_REQUEST;
				msg = "no such broker here";
			}
		} else {
			code = KERR_INVALID_REQUEST;
			msg = "only topic and broker resources";
		}
		buf_put_i16(b, code);
		proto_put_cstr(b, msg);
		buf_put_i8(b, type);
		proto_put_str(b, name.p, (size_t)name.len);
		count_at = b->len;
		buf_put_i32(b, 0);
		for (c = 0; code == KERR_NONE && c < TCONF_COUNT; c++) {
			const struct tconf_def *d = tconf_def((enum tconf_id)c);
			const char *key = t ? d->name : d->broker_name, *val;
			enum tconf_source src;

			if (!key_wanted(keys_at, nkeys, r->p, key))
				continue;
			val = tconf_value(t ? &t->conf : NULL,
			    &q->ld->cfg.topic_defaults, d->id, &src);
			put_config_entry(q, key, val, t == NULL, src, synonyms,
			    d, t);
			count++;
		}
		if (!b->failed)
			be32_store(b->data + count_at, (uint32_t)count);
	}
	return HANDLE_DONE;
}
