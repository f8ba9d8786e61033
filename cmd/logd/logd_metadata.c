/* SPDX-License-Identifier: MIT */
/*
 * Metadata (v0-6): this broker, the cluster id, the controller (this
 * broker while logd runs alone) and the topics asked for, creating unknown
 * ones when auto-creation is allowed. In cluster mode the answer is
 * ctrld's view instead: its live brokers and every topic of the cluster
 * with leaders, replicas and ISRs, whether this broker holds a replica or
 * not, and no auto-creation.
 */
#include <string.h>

#include "ctlproto.h"
#include "log.h"
#include "logd.h"
#include "banned.h"

static void
put_partition(struct req *q, const struct partition *p)
{
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;

	buf_put_i16(b, KERR_NONE);
	buf_put_i32(b, p->id);
	buf_put_i32(b, q->ld->cfg.broker_id);	/* leader */
	buf_put_i32(b, 1);			/* replicas */
	buf_put_i32(b, q->ld->cfg.broker_id);
	buf_put_i32(b, 1);			/* isr */
	buf_put_i32(b, q->ld->cfg.broker_id);
	if (v >= 5)
		buf_put_i32(b, 0);		/* offline replicas */
}

/* A topic entry up to its partitions: error, name, internal, count. */
static void
put_topic_head(struct req *q, int16_t code, const char *name, size_t len,
    bool internal, int32_t npartitions)
{
	struct buf *b = q->out;

	buf_put_i16(b, code);
	proto_put_str(b, name, len);
	if (q->hdr.api_version >= 1)
		proto_put_bool(b, internal);
	buf_put_i32(b, npartitions);
}

static void
put_topic(struct req *q, const struct topic *t)
{
	int32_t i;

	put_topic_head(q, KERR_NONE, t->name, strlen(t->name), t->internal,
	    t->npartitions);
	for (i = 0; i < t->npartitions; i++)
		put_partition(q, t->parts[i]);
}

static void
put_topic_error(struct req *q, struct proto_str name, int16_t code)
{
	put_topic_head(q, code, name.p, (size_t)name.len, false, 0);
}

/* Answer for one requested topic, creating it when allowed. */
static void
put_requested_topic(struct req *q, struct proto_str name, bool auto_create)
{
	struct logd *ld = q->ld;
	struct topic *t = topic_find(ld, name.p, (size_t)name.len);
	const char *why;
	char cname[256];
	struct err e = { 0 };
	int code;

	if (t != NULL) {
		put_topic(q, t);
		return;
	}
	code = topic_name_check(name.p, (size_t)name.len, &why);
	if (code != KERR_NONE) {
		put_topic_error(q, name, (int16_t)code);
		return;
	}
	if (!auto_create || !proto_str_copy(name, cname, sizeof(cname))) {
		put_topic_error(q, name, KERR_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	if (topic_create(ld, cname, ld->cfg.num_partitions, NULL, &t, &e) < 0) {
		log_warnx("auto-creating topic '%s' for %s: %s", cname,
		    q->c->peer, e.msg);
		put_topic_error(q, name, e.code == EXIT_DATAERR ?
		    KERR_INVALID_TOPIC_EXCEPTION : KERR_KAFKA_STORAGE_ERROR);
		return;
	}
	log_info("auto-created topic '%s' with %d partitions for %s", cname,
	    ld->cfg.num_partitions, q->c->peer);
	put_topic(q, t);
}

static void
put_ids(struct buf *b, const int32_t *v, int32_t n)
{
	int32_t i;

	buf_put_i32(b, n);
	for (i = 0; i < n; i++)
		buf_put_i32(b, v[i]);
}

static bool
broker_alive(const struct cluster_state *s, int32_t id)
{
	const struct cluster_broker *b = cluster_state_broker(s, id);

	return b != NULL && b->alive;
}

static void
put_cluster_partition(struct req *q, const struct cluster_state *s,
    const struct cluster_partition *cp)
{
	struct buf *b = q->out;
	int32_t offline[CTLPROTO_MAX_REPLICAS], noffline = 0, i;

	buf_put_i16(b, cp->leader < 0 ? KERR_LEADER_NOT_AVAILABLE : KERR_NONE);
	buf_put_i32(b, cp->partition);
	buf_put_i32(b, cp->leader);
	put_ids(b, cp->replicas, cp->nreplicas);
	put_ids(b, cp->isr, cp->nisr);
	if (q->hdr.api_version < 5)
		return;
	for (i = 0; i < cp->nreplicas; i++)
		if (!broker_alive(s, cp->replicas[i]))
			offline[noffline++] = cp->replicas[i];
	put_ids(b, offline, noffline);
}

static void
put_cluster_topic(struct req *q, const struct cluster_state *s,
    const struct cluster_topic *t)
{
	int32_t i;

	put_topic_head(q, KERR_NONE, t->name, strlen(t->name), t->internal,
	    t->npartitions);
	for (i = 0; i < t->npartitions; i++)
		put_cluster_partition(q, s, &t->partitions[i]);
}

static void
put_cluster_broker(struct req *q, int32_t id, const char *host, int32_t port,
    const char *rack)
{
	buf_put_i32(q->out, id);
	proto_put_cstr(q->out, host);
	buf_put_i32(q->out, port);
	if (q->hdr.api_version >= 1)
		proto_put_cstr(q->out, rack != NULL && *rack ? rack : NULL);
}

/*
 * The live brokers ctrld knows, and always this one: a client that
 * reached us must be able to come back even before ctrld's state says
 * we are alive.
 */
static void
put_cluster_brokers(struct req *q, const struct cluster_state *s)
{
	struct logd *ld = q->ld;
	int32_t i, n = 0;
	bool self = false;

	for (i = 0; s != NULL && i < s->nbrokers; i++)
		if (s->brokers[i].alive || s->brokers[i].id == ld->cfg.broker_id) {
			n++;
			self = self || s->brokers[i].id == ld->cfg.broker_id;
		}
	buf_put_i32(q->out, n + !self);
	if (!self)
		put_cluster_broker(q, ld->cfg.broker_id, ld->cfg.advertise.host,
		    ld->cfg.advertise.port, NULL);
	for (i = 0; s != NULL && i < s->nbrokers; i++) {
		const struct cluster_broker *br = &s->brokers[i];

		if (br->alive || br->id == ld->cfg.broker_id)
			put_cluster_broker(q, br->id, br->host, br->port,
			    br->rack);
	}
}

/* A requested topic ctrld does not have (or no state yet: retriable). */
static void
put_cluster_missing(struct req *q, const struct cluster_state *s,
    struct proto_str name)
{
	const char *why;
	int code = topic_name_check(name.p, (size_t)name.len, &why);

	if (code == KERR_NONE)
		code = s == NULL ? KERR_LEADER_NOT_AVAILABLE :
		    KERR_UNKNOWN_TOPIC_OR_PARTITION;
	put_topic_error(q, name, (int16_t)code);
}

/*
 * Cluster mode. The controller id is this broker: kafka-python's admin
 * client sends CreateTopics there (and gets ctrld's refusal), librdkafka
 * accepts any id, and -1 would make kafka-python give up.
 */
static enum handle_result
cluster_metadata(struct req *q, int32_t ntopics, const uint8_t *topics_at)
{
	const struct cluster_state *s = cluster_current_state(q->ld);
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	int32_t i;

	put_cluster_brokers(q, s);
	if (v >= 2)
		proto_put_cstr(b, q->ld->cfg.cluster_id);
	if (v >= 1)
		buf_put_i32(b, q->ld->cfg.broker_id);	/* controller */
	if (ntopics == -1 || (v == 0 && ntopics == 0)) {
		buf_put_i32(b, s != NULL ? s->ntopics : 0);
		for (i = 0; s != NULL && i < s->ntopics; i++)
			put_cluster_topic(q, s, &s->topics[i]);
		return HANDLE_DONE;
	}
	buf_put_i32(b, ntopics);
	br_init(r, topics_at, (size_t)(q->body.end - topics_at));
	for (i = 0; i < ntopics; i++) {
		struct proto_str name = proto_read_str(r, false);
		char cname[CTLPROTO_NAME_MAX + 1];
		const struct cluster_topic *t = NULL;

		if (s != NULL && proto_str_copy(name, cname, sizeof(cname)))
			t = cluster_state_topic(s, cname);
		if (t != NULL)
			put_cluster_topic(q, s, t);
		else
			put_cluster_missing(q, s, name);
	}
	return HANDLE_DONE;
}

enum handle_result
handle_metadata(struct req *q)
{
	struct logd *ld = q->ld;
	struct breader *r = &q->body;
	struct buf *b = q->out;
	int16_t v = q->hdr.api_version;
	bool auto_create = ld->cfg.auto_create_topics;
	const uint8_t *topics_at;
	int32_t ntopics, i;
	size_t k;

	/* v0: an empty list means all topics; v1+: null means all. */
	ntopics = proto_read_array_len(r, v >= 1, 2);
	topics_at = r->p;
	for (i = 0; i < ntopics; i++)
		(void)proto_read_str(r, false);
	if (v >= 4)
		auto_create = proto_read_bool(r) && auto_create;
	if (!br_ok(r))
		return HANDLE_CLOSE;

	if (v >= 3)
		buf_put_i32(b, 0);		/* throttle_time_ms */
	if (ld->cluster != NULL)
		return cluster_metadata(q, ntopics, topics_at);
	buf_put_i32(b, 1);			/* brokers */
	buf_put_i32(b, ld->cfg.broker_id);
	proto_put_cstr(b, ld->cfg.advertise.host);
	buf_put_i32(b, ld->cfg.advertise.port);
	if (v >= 1)
		proto_put_cstr(b, NULL);	/* rack */
	if (v >= 2)
		proto_put_cstr(b, ld->cfg.cluster_id);
	if (v >= 1)
		buf_put_i32(b, ld->cfg.broker_id);	/* controller */

	if (ntopics == -1 || (v == 0 && ntopics == 0)) {
		buf_put_i32(b, (int32_t)ld->ntopics);
		for (k = 0; k < ld->ntopics; k++)
			put_topic(q, ld->topics[k]);
		return HANDLE_DONE;
	}
	buf_put_i32(b, ntopics);
	br_init(r, topics_at, (size_t)(q->body.end - topics_at));
	for (i = 0; i < ntopics; i++)
		put_requested_topic(q, proto_read_str(r, false), auto_create);
	return HANDLE_DONE;
}
