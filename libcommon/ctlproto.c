/* SPDX-License-Identifier: MIT */
/*
 * Codecs of the private requests and responses (see ctlproto.h and
 * docs/cluster-protocol.md). Each reader decodes field by field with the
 * sticky breader, checks counts before any allocation, and on failure
 * releases what it built, so *out is either complete or zeroed.
 */
#include <stdlib.h>
#include <string.h>

#include "ctlproto_impl.h"
#include "proto.h"
#include "banned.h"

/* Minimum wire sizes of array elements, for the count checks. */
#define MIN_ISR_TOPIC 6		/* name, partitions count */
#define MIN_ISR_REQ_PART 16	/* partition, epochs, isr count */
#define MIN_ISR_RESP_PART 22	/* partition, error, leader, epochs, isr */
#define MIN_AGE 12
#define MIN_APPLY_TOPIC 12	/* name, partitions, rf, configs */
#define MIN_CONFIG 4
#define MIN_ACTION 6		/* three strings */
#define MIN_REPLICA_PART 48

static const struct {
	int key;
	const char *name;
} api_names[] = {
	{ API_KLOG_BROKER_HEARTBEAT, "BrokerHeartbeat" },
	{ API_KLOG_ALTER_ISR, "AlterIsr" },
	{ API_KLOG_CONTROLLED_SHUTDOWN, "ControlledShutdown" },
	{ API_KLOG_DESCRIBE_CLUSTER, "DescribeCluster" },
	{ API_KLOG_APPLY_TOPICS, "ApplyTopics" },
	{ API_KLOG_REPLICA_STATE, "ReplicaState" },
	{ API_KLOG_REPLICA_APPEND, "ReplicaAppend" },
	{ API_KLOG_REPLICA_TRUNCATE, "ReplicaTruncate" },
};

const char *
ctlproto_api_name(int api_key)
{
	size_t i;

	for (i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
		if (api_names[i].key == api_key)
			return api_names[i].name;
	return NULL;
}

bool
ctlproto_is_private(int api_key)
{
	return ctlproto_api_name(api_key) != NULL;
}

static void
get_topic_name(struct breader *r, char *dst)
{
	ctlproto_get_fixed(r, dst, CTLPROTO_NAME_MAX + 1, false,
	    "bad topic name");
	if (br_ok(r) && dst[0] == '\0')
		br_fail(r, "empty topic name");
}

/* ------------------------------------------------------------------ */
/* BrokerHeartbeat                                                    */

void
ctlproto_write_heartbeat_req(struct buf *b, const struct ctl_heartbeat_req *m)
{
	buf_put_i32(b, m->broker_id);
	buf_put_i64(b, m->incarnation);
	proto_put_cstr(b, m->host);
	buf_put_i32(b, m->port);
	buf_put_i64(b, m->known_version);
	buf_put_i32(b, m->wait_ms);
	proto_put_bool(b, m->shutting_down);
}

int
ctlproto_read_heartbeat_req(struct breader *r, struct ctl_heartbeat_req *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->broker_id = br_i32(r);
	out->incarnation = br_i64(r);
	ctlproto_get_fixed(r, out->host, sizeof(out->host), false, "bad host");
	out->port = br_i32(r);
	out->known_version = br_i64(r);
	out->wait_ms = br_i32(r);
	out->shutting_down = proto_read_bool(r);
	return ctlproto_finish(r, "BrokerHeartbeat request", e);
}

void
ctlproto_write_heartbeat_resp(struct buf *b, const struct ctl_heartbeat_resp *m)
{
	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, m->session_timeout_ms);
	proto_put_bool(b, m->state != NULL);
	if (m->state != NULL)
		ctlproto_write_cluster_state(b, m->state);
}

int
ctlproto_read_heartbeat_resp(struct breader *r, struct ctl_heartbeat_resp *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->session_timeout_ms = br_i32(r);
	if (proto_read_bool(r) && br_ok(r)) {
		out->state = malloc(sizeof(*out->state));
		if (out->state == NULL)
			br_fail(r, ctlproto_oom);
		else
			ctlproto_get_cluster_state(r, out->state);
	}
	if (!br_ok(r))
		ctlproto_release_heartbeat_resp(out);
	return ctlproto_finish(r, "BrokerHeartbeat response", e);
}

void
ctlproto_release_heartbeat_resp(struct ctl_heartbeat_resp *m)
{
	cluster_state_free(m->state);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* AlterIsr: flat items on our side, grouped by topic on the wire     */

/* Items from `i` on with the same topic as items[i]. */
static int32_t
run_length(const char *first, const char *(*name_at)(const void *, int32_t),
    const void *v, int32_t i, int32_t n)
{
	int32_t j = i;

	while (j < n && strcmp(name_at(v, j), first) == 0)
		j++;
	return j - i;
}

static int32_t
count_runs(const char *(*name_at)(const void *, int32_t), const void *v,
    int32_t n)
{
	int32_t i = 0, runs = 0;

	while (i < n) {
		i += run_length(name_at(v, i), name_at, v, i, n);
		runs++;
	}
	return runs;
}

static const char *
isr_item_name(const void *v, int32_t i)
{
	return ((const struct ctl_isr_item *)v)[i].topic;
}

static const char *
isr_result_name(const void *v, int32_t i)
{
	return ((const struct ctl_isr_result *)v)[i].topic;
}

void
ctlproto_write_alter_isr_req(struct buf *b, const struct ctl_alter_isr_req *m)
{
	int32_t i = 0, k, run;

	buf_put_i32(b, m->broker_id);
	buf_put_i64(b, m->incarnation);
	buf_put_i32(b, count_runs(isr_item_name, m->items, m->nitems));
	while (i < m->nitems) {
		run = run_length(m->items[i].topic, isr_item_name, m->items, i,
		    m->nitems);
		proto_put_cstr(b, m->items[i].topic);
		buf_put_i32(b, run);
		for (k = i; k < i + run; k++) {
			const struct ctl_isr_item *it = &m->items[k];

			buf_put_i32(b, it->partition);
			buf_put_i32(b, it->leader_epoch);
			buf_put_i32(b, it->partition_epoch);
			ctlproto_put_ids(b, it->isr, it->nisr);
		}
		i += run;
	}
}

/*
 * Grow a flat array by `more` zeroed elements, within CTLPROTO_MAX_ITEMS.
 * Returns the first new element, or NULL with the reader failed.
 */
static void *
grow_items(struct breader *r, void **v, int32_t *n, int32_t more, size_t size)
{
	uint8_t *p;

	if (!br_ok(r) || more == 0)
		return NULL;
	if (more > CTLPROTO_MAX_ITEMS - *n) {
		br_fail(r, "too many items");
		return NULL;
	}
	p = realloc(*v, (size_t)(*n + more) * size);
	if (p == NULL) {
		br_fail(r, ctlproto_oom);
		return NULL;
	}
	memset(p + (size_t)*n * size, 0, (size_t)more * size);
	*v = p;
	*n += more;
	return p + (size_t)(*n - more) * size;
}

static void
get_isr_items(struct breader *r, struct ctl_alter_isr_req *out)
{
	int32_t t, k, np, nt = ctlproto_get_count(r, MIN_ISR_TOPIC,
	    CTLPROTO_MAX_TOPICS, "too many topics");
	char name[CTLPROTO_NAME_MAX + 1];

	for (t = 0; t < nt && br_ok(r); t++) {
		struct ctl_isr_item *it;
		void *v = out->items;

		get_topic_name(r, name);
		np = ctlproto_get_count(r, MIN_ISR_REQ_PART,
		    CTLPROTO_MAX_PARTITIONS, "too many partitions");
		it = grow_items(r, &v, &out->nitems, np, sizeof(*it));
		out->items = v;
		for (k = 0; k < np && it != NULL && br_ok(r); k++, it++) {
			memcpy(it->topic, name, sizeof(name));
			it->partition = br_i32(r);
			it->leader_epoch = br_i32(r);
			it->partition_epoch = br_i32(r);
			ctlproto_get_ids(r, it->isr, &it->nisr,
			    "too many ISR members");
		}
	}
}

int
ctlproto_read_alter_isr_req(struct breader *r, struct ctl_alter_isr_req *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->broker_id = br_i32(r);
	out->incarnation = br_i64(r);
	get_isr_items(r, out);
	if (!br_ok(r))
		ctlproto_release_alter_isr_req(out);
	return ctlproto_finish(r, "AlterIsr request", e);
}

void
ctlproto_release_alter_isr_req(struct ctl_alter_isr_req *m)
{
	free(m->items);
	memset(m, 0, sizeof(*m));
}

void
ctlproto_write_alter_isr_resp(struct buf *b, const struct ctl_alter_isr_resp *m)
{
	int32_t i = 0, k, run;

	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, count_runs(isr_result_name, m->results, m->nresults));
	while (i < m->nresults) {
		run = run_length(m->results[i].topic, isr_result_name,
		    m->results, i, m->nresults);
		proto_put_cstr(b, m->results[i].topic);
		buf_put_i32(b, run);
		for (k = i; k < i + run; k++) {
			const struct ctl_isr_result *x = &m->results[k];

			buf_put_i32(b, x->partition);
			buf_put_i16(b, x->error_code);
			buf_put_i32(b, x->leader);
			buf_put_i32(b, x->leader_epoch);
			buf_put_i32(b, x->partition_epoch);
			ctlproto_put_ids(b, x->isr, x->nisr);
		}
		i += run;
	}
}

static void
get_isr_results(struct breader *r, struct ctl_alter_isr_resp *out)
{
	int32_t t, k, np, nt = ctlproto_get_count(r, MIN_ISR_TOPIC,
	    CTLPROTO_MAX_TOPICS, "too many topics");
	char name[CTLPROTO_NAME_MAX + 1];

	for (t = 0; t < nt && br_ok(r); t++) {
		struct ctl_isr_result *x;
		void *v = out->results;

		get_topic_name(r, name);
		np = ctlproto_get_count(r, MIN_ISR_RESP_PART,
		    CTLPROTO_MAX_PARTITIONS, "too many partitions");
		x = grow_items(r, &v, &out->nresults, np, sizeof(*x));
		out->results = v;
		for (k = 0; k < np && x != NULL && br_ok(r); k++, x++) {
			memcpy(x->topic, name, sizeof(name));
			x->partition = br_i32(r);
			x->error_code = br_i16(r);
			x->leader = br_i32(r);
			x->leader_epoch = br_i32(r);
			x->partition_epoch = br_i32(r);
			ctlproto_get_ids(r, x->isr, &x->nisr,
			    "too many ISR members");
		}
	}
}

int
ctlproto_read_alter_isr_resp(struct breader *r, struct ctl_alter_isr_resp *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	get_isr_results(r, out);
	if (!br_ok(r))
		ctlproto_release_alter_isr_resp(out);
	return ctlproto_finish(r, "AlterIsr response", e);
}

void
ctlproto_release_alter_isr_resp(struct ctl_alter_isr_resp *m)
{
	free(m->results);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* ControlledShutdown                                                 */

void
ctlproto_write_shutdown_req(struct buf *b, const struct ctl_shutdown_req *m)
{
	buf_put_i32(b, m->broker_id);
	buf_put_i64(b, m->incarnation);
}

int
ctlproto_read_shutdown_req(struct breader *r, struct ctl_shutdown_req *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->broker_id = br_i32(r);
	out->incarnation = br_i64(r);
	return ctlproto_finish(r, "ControlledShutdown request", e);
}

void
ctlproto_write_shutdown_resp(struct buf *b, const struct ctl_shutdown_resp *m)
{
	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, m->remaining_leaderships);
}

int
ctlproto_read_shutdown_resp(struct breader *r, struct ctl_shutdown_resp *out,
    struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->remaining_leaderships = br_i32(r);
	return ctlproto_finish(r, "ControlledShutdown response", e);
}

/* ------------------------------------------------------------------ */
/* DescribeCluster                                                    */

void
ctlproto_write_describe_resp(struct buf *b, const struct ctl_describe_resp *m)
{
	int32_t i;

	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, m->controller_epoch);
	ctlproto_write_cluster_state(b, &m->state);
	buf_put_i32(b, m->nages);
	for (i = 0; i < m->nages; i++) {
		buf_put_i32(b, m->ages[i].broker_id);
		buf_put_i64(b, m->ages[i].last_heartbeat_ms_ago);
	}
}

int
ctlproto_read_describe_resp(struct breader *r, struct ctl_describe_resp *out,
    struct err *e)
{
	int32_t i, n;

	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->controller_epoch = br_i32(r);
	ctlproto_get_cluster_state(r, &out->state);
	n = ctlproto_get_count(r, MIN_AGE, CTLPROTO_MAX_BROKERS,
	    "too many broker ages");
	out->ages = ctlproto_get_array(r, n, sizeof(*out->ages));
	out->nages = br_ok(r) ? n : 0;
	for (i = 0; i < out->nages; i++) {
		out->ages[i].broker_id = br_i32(r);
		out->ages[i].last_heartbeat_ms_ago = br_i64(r);
	}
	if (!br_ok(r))
		ctlproto_release_describe_resp(out);
	return ctlproto_finish(r, "DescribeCluster response", e);
}

void
ctlproto_release_describe_resp(struct ctl_describe_resp *m)
{
	cluster_state_release(&m->state);
	free(m->ages);
	memset(m, 0, sizeof(*m));
	cluster_state_init(&m->state);
}

/* ------------------------------------------------------------------ */
/* ApplyTopics                                                        */

void
ctlproto_write_apply_req(struct buf *b, const struct ctl_apply_req *m)
{
	int32_t i, k;

	proto_put_bool(b, m->dry_run);
	buf_put_i32(b, m->ntopics);
	for (i = 0; i < m->ntopics; i++) {
		const struct ctl_apply_topic *t = &m->topics[i];

		proto_put_cstr(b, t->name);
		buf_put_i32(b, t->partitions);
		buf_put_i16(b, t->replication_factor);
		buf_put_i32(b, t->nconfigs);
		for (k = 0; k < t->nconfigs; k++) {
			proto_put_cstr(b, t->configs[k].key);
			proto_put_cstr(b, t->configs[k].value);
		}
	}
}

static void
get_apply_topic(struct breader *r, struct ctl_apply_topic *t)
{
	int32_t k, n;

	get_topic_name(r, t->name);
	t->partitions = br_i32(r);
	t->replication_factor = br_i16(r);
	n = ctlproto_get_count(r, MIN_CONFIG, CTLPROTO_MAX_CONFIGS,
	    "too many configs");
	t->configs = ctlproto_get_array(r, n, sizeof(*t->configs));
	t->nconfigs = br_ok(r) ? n : 0;
	for (k = 0; k < t->nconfigs && br_ok(r); k++) {
		t->configs[k].key = ctlproto_get_dup(r, "bad config key");
		t->configs[k].value = ctlproto_get_dup(r, "bad config value");
	}
}

int
ctlproto_read_apply_req(struct breader *r, struct ctl_apply_req *out,
    struct err *e)
{
	int32_t i, n;

	memset(out, 0, sizeof(*out));
	out->dry_run = proto_read_bool(r);
	n = ctlproto_get_count(r, MIN_APPLY_TOPIC, CTLPROTO_MAX_TOPICS,
	    "too many topics");
	out->topics = ctlproto_get_array(r, n, sizeof(*out->topics));
	out->ntopics = br_ok(r) ? n : 0;
	for (i = 0; i < out->ntopics && br_ok(r); i++)
		get_apply_topic(r, &out->topics[i]);
	if (!br_ok(r))
		ctlproto_release_apply_req(out);
	return ctlproto_finish(r, "ApplyTopics request", e);
}

void
ctlproto_release_apply_req(struct ctl_apply_req *m)
{
	int32_t i, k;

	for (i = 0; i < m->ntopics; i++) {
		for (k = 0; k < m->topics[i].nconfigs; k++) {
			free(m->topics[i].configs[k].key);
			free(m->topics[i].configs[k].value);
		}
		free(m->topics[i].configs);
	}
	free(m->topics);
	memset(m, 0, sizeof(*m));
}

void
ctlproto_write_apply_resp(struct buf *b, const struct ctl_apply_resp *m)
{
	int32_t i;

	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, m->nactions);
	for (i = 0; i < m->nactions; i++) {
		proto_put_cstr(b, m->actions[i].topic);
		proto_put_cstr(b, m->actions[i].action);
		proto_put_cstr(b, m->actions[i].detail ? m->actions[i].detail :
		    "");
	}
}

int
ctlproto_read_apply_resp(struct breader *r, struct ctl_apply_resp *out,
    struct err *e)
{
	int32_t i, n;

	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	n = ctlproto_get_count(r, MIN_ACTION, CTLPROTO_MAX_ITEMS,
	    "too many actions");
	out->actions = ctlproto_get_array(r, n, sizeof(*out->actions));
	out->nactions = br_ok(r) ? n : 0;
	for (i = 0; i < out->nactions && br_ok(r); i++) {
		struct ctl_apply_action *a = &out->actions[i];

		/* An action may concern no topic (""), e.g. an error. */
		ctlproto_get_fixed(r, a->topic, sizeof(a->topic), false,
		    "bad topic name");
		ctlproto_get_fixed(r, a->action, sizeof(a->action), false,
		    "bad action");
		a->detail = ctlproto_get_dup(r, "bad detail");
	}
	if (!br_ok(r))
		ctlproto_release_apply_resp(out);
	return ctlproto_finish(r, "ApplyTopics response", e);
}

void
ctlproto_release_apply_resp(struct ctl_apply_resp *m)
{
	int32_t i;

	for (i = 0; i < m->nactions; i++)
		free(m->actions[i].detail);
	free(m->actions);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* ReplicaState                                                       */

void
ctlproto_write_replica_state_req(struct buf *b,
    const struct ctl_replica_state_req *m)
{
	buf_put_i64(b, m->known_version);
	buf_put_i32(b, m->wait_ms);
}

int
ctlproto_read_replica_state_req(struct breader *r,
    struct ctl_replica_state_req *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->known_version = br_i64(r);
	out->wait_ms = br_i32(r);
	return ctlproto_finish(r, "ReplicaState request", e);
}

void
ctlproto_write_replica_state_resp(struct buf *b,
    const struct ctl_replica_state_resp *m)
{
	int32_t i;

	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i32(b, m->broker_id);
	buf_put_i64(b, m->version);
	buf_put_i32(b, m->npartitions);
	for (i = 0; i < m->npartitions; i++) {
		const struct ctl_replica_partition *p = &m->partitions[i];

		proto_put_cstr(b, p->topic);
		buf_put_i32(b, p->partition);
		buf_put_i32(b, p->leader);
		proto_put_cstr(b, p->leader_host);
		buf_put_i32(b, p->leader_port);
		buf_put_i32(b, p->leader_epoch);
		buf_put_i64(b, p->log_start_offset);
		buf_put_i64(b, p->log_end_offset);
		buf_put_i32(b, p->last_epoch);
		buf_put_i64(b, p->high_watermark);
	}
}

static void
get_replica_partition(struct breader *r, struct ctl_replica_partition *p)
{
	get_topic_name(r, p->topic);
	p->partition = br_i32(r);
	p->leader = br_i32(r);
	/* "" when the leader is unknown (offline partition). */
	ctlproto_get_fixed(r, p->leader_host, sizeof(p->leader_host), false,
	    "bad leader host");
	p->leader_port = br_i32(r);
	p->leader_epoch = br_i32(r);
	p->log_start_offset = br_i64(r);
	p->log_end_offset = br_i64(r);
	p->last_epoch = br_i32(r);
	p->high_watermark = br_i64(r);
}

int
ctlproto_read_replica_state_resp(struct breader *r,
    struct ctl_replica_state_resp *out, struct err *e)
{
	int32_t i, n;

	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->broker_id = br_i32(r);
	out->version = br_i64(r);
	n = ctlproto_get_count(r, MIN_REPLICA_PART, CTLPROTO_MAX_ITEMS,
	    "too many partitions");
	out->partitions = ctlproto_get_array(r, n, sizeof(*out->partitions));
	out->npartitions = br_ok(r) ? n : 0;
	for (i = 0; i < out->npartitions && br_ok(r); i++)
		get_replica_partition(r, &out->partitions[i]);
	if (!br_ok(r))
		ctlproto_release_replica_state_resp(out);
	return ctlproto_finish(r, "ReplicaState response", e);
}

void
ctlproto_release_replica_state_resp(struct ctl_replica_state_resp *m)
{
	free(m->partitions);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* ReplicaAppend, ReplicaTruncate                                     */

void
ctlproto_write_replica_append_req(struct buf *b,
    const struct ctl_replica_append_req *m)
{
	proto_put_cstr(b, m->topic);
	buf_put_i32(b, m->partition);
	buf_put_i32(b, m->leader_epoch);
	buf_put_i64(b, m->leader_high_watermark);
	proto_put_bytes(b, m->records, m->records_len < 0 ? 0 :
	    m->records_len);
}

int
ctlproto_read_replica_append_req(struct breader *r,
    struct ctl_replica_append_req *out, struct err *e)
{
	struct proto_str rec;

	memset(out, 0, sizeof(*out));
	get_topic_name(r, out->topic);
	out->partition = br_i32(r);
	out->leader_epoch = br_i32(r);
	out->leader_high_watermark = br_i64(r);
	rec = proto_read_bytes(r, false);
	if (br_ok(r)) {
		out->records = (const uint8_t *)rec.p;
		out->records_len = rec.len;
	}
	if (!br_ok(r))
		memset(out, 0, sizeof(*out));
	return ctlproto_finish(r, "ReplicaAppend request", e);
}

void
ctlproto_write_replica_append_resp(struct buf *b,
    const struct ctl_replica_append_resp *m)
{
	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i64(b, m->log_end_offset);
	buf_put_i64(b, m->high_watermark);
}

int
ctlproto_read_replica_append_resp(struct breader *r,
    struct ctl_replica_append_resp *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->log_end_offset = br_i64(r);
	out->high_watermark = br_i64(r);
	return ctlproto_finish(r, "ReplicaAppend response", e);
}

void
ctlproto_write_replica_truncate_req(struct buf *b,
    const struct ctl_replica_truncate_req *m)
{
	proto_put_cstr(b, m->topic);
	buf_put_i32(b, m->partition);
	buf_put_i32(b, m->leader_epoch);
	buf_put_i64(b, m->offset);
}

int
ctlproto_read_replica_truncate_req(struct breader *r,
    struct ctl_replica_truncate_req *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	get_topic_name(r, out->topic);
	out->partition = br_i32(r);
	out->leader_epoch = br_i32(r);
	out->offset = br_i64(r);
	return ctlproto_finish(r, "ReplicaTruncate request", e);
}

void
ctlproto_write_replica_truncate_resp(struct buf *b,
    const struct ctl_replica_truncate_resp *m)
{
	buf_put_i16(b, m->error_code);
	ctlproto_put_message(b, m->error_message);
	buf_put_i64(b, m->log_end_offset);
}

int
ctlproto_read_replica_truncate_resp(struct breader *r,
    struct ctl_replica_truncate_resp *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->error_code = br_i16(r);
	ctlproto_get_message(r, out->error_message);
	out->log_end_offset = br_i64(r);
	return ctlproto_finish(r, "ReplicaTruncate response", e);
}
