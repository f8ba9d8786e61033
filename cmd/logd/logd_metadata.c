/* SPDX-License-Identifier: MIT */
/*
 * Metadata (v0-6): this broker, the cluster id, the controller (this
 * broker while logd runs alone) and the topics asked for, creating unknown
 * ones when auto-creation is allowed.
 */
#include <string.h>

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

static void
put_topic(struct req *q, const struct topic *t)
{
	struct buf *b = q->out;
	int32_t i;

	buf_put_i16(b, KERR_NONE);
	proto_put_cstr(b, t->name);
	if (q->hdr.api_version >= 1)
		proto_put_bool(b, t->internal);
	buf_put_i32(b, t->npartitions);
	for (i = 0; i < t->npartitions; i++)
		put_partition(q, t->parts[i]);
}

static void
put_topic_error(struct req *q, struct proto_str name, int16_t code)
{
	struct buf *b = q->out;

	buf_put_i16(b, code);
	proto_put_str(b, name.p, (size_t)name.len);
	if (q->hdr.api_version >= 1)
		proto_put_bool(b, false);
	buf_put_i32(b, 0);
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
