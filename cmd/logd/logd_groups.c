/* SPDX-License-Identifier: MIT */
/*
 * The group coordinator's state machine and storage. A group moves
 * Empty -> PreparingRebalance (members (re)join) -> CompletingRebalance
 * (the leader computes assignments) -> Stable (SyncGroup delivered them);
 * a member joining, leaving or missing its session timeout starts over.
 * Requests that must wait (a JoinGroup until every member has joined, a
 * follower's SyncGroup until the leader's) park in the event loop and are
 * re-run when a group changes; the flags on each member say when they can
 * be answered.
 *
 * Committed offsets and group metadata are records in __consumer_offsets
 * with Kafka's layouts (offset key v1 + value v3, group key v2 + value v1,
 * which Burrow decodes), so a restarted coordinator rebuilds every group by
 * replaying that topic. In cluster mode a commit or an assignment takes
 * effect only once the partition's high watermark passes its batch; which
 * partitions this broker coordinates, and their loading, are
 * logd_group_coord.c's.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "ctlproto.h"
#include "hash.h"
#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "plog.h"
#include "proto.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* Kafka's offsets.commit.timeout.ms: how long a write may wait for the ISR. */
#define GROUP_WRITE_TIMEOUT_MS 5000

#define KEY_OFFSET_V1 1
#define KEY_GROUP_V2 2
#define VALUE_OFFSET_V3 3
#define VALUE_GROUP_V1 1

const char *
group_state_name(enum group_state s)
{
	switch (s) {
	case GROUP_EMPTY: return "Empty";
	case GROUP_PREPARING: return "PreparingRebalance";
	case GROUP_COMPLETING: return "CompletingRebalance";
	case GROUP_STABLE: return "Stable";
	case GROUP_DEAD: return "Dead";
	}
	return "Dead";
}

/*
 * Kafka counts the topic's partitions (its groupMetadataTopicPartitionCount),
 * so that every broker agrees even when their settings differ.
 */
static int32_t
offsets_partition_count(struct logd *ld)
{
	const struct cluster_state *s = cluster_current_state(ld);
	const struct cluster_topic *ct = s ? cluster_state_topic(s,
	    OFFSETS_TOPIC) : NULL;
	const struct topic *t;

	if (ct != NULL && ct->npartitions > 0)
		return ct->npartitions;
	t = topic_find(ld, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
	if (t != NULL && t->npartitions > 0)
		return t->npartitions;
	return ld->cfg.offsets_topic_partitions;
}

int32_t
groups_partition_for(struct logd *ld, const char *group)
{
	return hash_kafka_abs(hash_java_string(group, strlen(group))) %
	    offsets_partition_count(ld);
}

int
groups_ensure_topic(struct logd *ld, struct err *e)
{
	struct tconf conf;
	int rc;

	if (topic_find(ld, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC)) != NULL)
		return 0;
	if (ld->cluster != NULL)
		return err_set(e, EXIT_TEMPFAIL, "%s is ctrld's "
		    "to create, and this broker has no replica of it yet",
		    OFFSETS_TOPIC);
	tconf_init(&conf);
	/* Kafka's settings for the offsets topic. */
	rc = tconf_set(&conf, "cleanup.policy", "compact", e);
	if (rc == 0)
		rc = tconf_set(&conf, "segment.bytes", "104857600", e);
	if (rc == 0)
		rc = topic_create(ld, OFFSETS_TOPIC, ld->cfg.offsets_topic_partitions,
		    &conf, NULL, e);
	tconf_release(&conf);
	if (rc == 0)
		log_info("created %s with %" PRId32 " partitions", OFFSETS_TOPIC,
		    ld->cfg.offsets_topic_partitions);
	return rc;
}

static void
blob_free(struct blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = -1;
}

void
member_free(struct member *m)
{
	int32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nprotocols; i++) {
		free(m->protocols[i].name);
		blob_free(&m->protocols[i].metadata);
	}
	free(m->protocols);
	blob_free(&m->assignment);
	free(m->id);
	free(m->instance_id);
	free(m->client_id);
	free(m->client_host);
	free(m);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct member *
member_new(const char *id, const char *instance_id, const char *client_id,
    const char *client_host)
{
	struct member *m = xcalloc(1, sizeof(*m));

	m->id = xstrdup(id);
	m->instance_id = dup_or_null(instance_id);
	m->client_id = xstrdup(client_id ? client_id : "");
	m->client_host = xstrdup(client_host ? client_host : "");
	m->assignment.len = -1;
	return m;
}

static void
subscribed_clear(struct group *g)
{
	size_t i;

	for (i = 0; i < g->nsubscribed; i++)
		free(g->subscribed[i]);
	free(g->subscribed);
	g->subscribed = NULL;
	g->nsubscribed = 0;
	g->subscribed_known = false;
}

void
committed_array_free(struct committed *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].topic);
		free(c[i].metadata);
	}
	free(c);
}

static void
group_free(struct group *g)
{
	size_t i;

	for (i = 0; i < g->npcommits; i++)
		committed_array_free(g->pcommits[i].c, g->pcommits[i].n);
	free(g->pcommits);
	subscribed_clear(g);
	for (i = 0; i < g->nmembers; i++)
		member_free(g->members[i]);
	for (i = 0; i < g->noffsets; i++) {
		free(g->offsets[i].topic);
		free(g->offsets[i].metadata);
	}
	for (i = 0; i < g->npending; i++)
		free(g->pending[i].id);
	free(g->pending);
	free(g->members);
	free(g->offsets);
	free(g->id);
	free(g->protocol_type);
	free(g->protocol);
	free(g->leader);
	free(g);
}

void
groups_free(struct logd *ld)
{
	size_t i;

	for (i = 0; i < ld->ngroups; i++)
		group_free(ld->groups[i]);
	free(ld->groups);
	ld->groups = NULL;
	ld->ngroups = 0;
	groups_coord_release(ld);
}

/* Take `g` out of the registry and free it. */
static void
group_unlink(struct logd *ld, struct group *g)
{
	size_t i;

	for (i = 0; i < ld->ngroups; i++)
		if (ld->groups[i] == g) {
			ld->groups[i] = ld->groups[--ld->ngroups];
			break;
		}
	group_free(g);
}

size_t
groups_drop_partition(struct logd *ld, int32_t partition)
{
	size_t i, kept = 0, dropped;

	for (i = 0; i < ld->ngroups; i++) {
		if (ld->groups[i]->partition == partition)
			group_free(ld->groups[i]);
		else
			ld->groups[kept++] = ld->groups[i];
	}
	dropped = ld->ngroups - kept;
	ld->ngroups = kept;
	return dropped;
}

struct group *
group_find(struct logd *ld, const char *id)
{
	size_t i;

	for (i = 0; i < ld->ngroups; i++)
		if (strcmp(ld->groups[i]->id, id) == 0)
			return ld->groups[i];
	return NULL;
}

struct group *
group_get_or_create(struct logd *ld, const char *id)
{
	struct group *g = group_find(ld, id);

	if (g != NULL)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->id = xstrdup(id);
	g->state = GROUP_EMPTY;
	g->empty_since_ms = clock_wall_ms();
	g->partition = groups_partition_for(ld, id);
	ld->groups = xrealloc(ld->groups, (ld->ngroups + 1) * sizeof(*ld->groups));
	ld->groups[ld->ngroups++] = g;
	return g;
}

struct member *
group_find_member(const struct group *g, const char *id)
{
	size_t i;

	for (i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i]->id, id) == 0)
			return g->members[i];
	return NULL;
}

int
group_add_member(struct group *g, struct member *m)
{
	g->members = xrealloc(g->members, (g->nmembers + 1) * sizeof(*g->members));
	g->members[g->nmembers++] = m;
	return 0;
}

void
group_pending_add(struct group *g, const char *id, int64_t deadline_ms)
{
	g->pending = xrealloc(g->pending, (g->npending + 1) * sizeof(*g->pending));
	g->pending[g->npending].id = xstrdup(id);
	g->pending[g->npending].deadline_ms = deadline_ms;
	g->npending++;
}

bool
group_pending_take(struct group *g, const char *id)
{
	size_t i;

	for (i = 0; i < g->npending; i++)
		if (strcmp(g->pending[i].id, id) == 0) {
			free(g->pending[i].id);
			g->pending[i] = g->pending[--g->npending];
			return true;
		}
	return false;
}

/* Forget pending ids whose holders never came back. */
static void
expire_pending(struct group *g, int64_t now)
{
	size_t i = 0;

	while (i < g->npending) {
		if (now < g->pending[i].deadline_ms) {
			i++;
			continue;
		}
		free(g->pending[i].id);
		g->pending[i] = g->pending[--g->npending];
	}
}

static bool
member_supports(const struct member *m, const char *protocol)
{
	int32_t i;

	for (i = 0; i < m->nprotocols; i++)
		if (strcmp(m->protocols[i].name, protocol) == 0)
			return true;
	return false;
}

bool
group_supports_protocols(const struct group *g, const struct member *m,
    const char *protocol_type)
{
	int32_t i;
	size_t j;

	if (g->nmembers == 0 || g->protocol_type == NULL)
		return true;
	if (strcmp(g->protocol_type, protocol_type) != 0)
		return false;
	/* At least one of m's protocols must be supported by everyone else. */
	for (i = 0; i < m->nprotocols; i++) {
		bool all = true;

		for (j = 0; j < g->nmembers && all; j++)
			if (g->members[j] != m &&
			    !member_supports(g->members[j], m->protocols[i].name))
				all = false;
		if (all)
			return true;
	}
	return false;
}

const char *
group_select_protocol(const struct group *g)
{
	const char *best = NULL;
	size_t i, j, best_votes = 0;

	if (g->nmembers == 0)
		return NULL;
	/* Kafka: candidates are supported by all; each member votes for
	 * its most preferred candidate. */
	for (i = 0; i < (size_t)g->members[0]->nprotocols; i++) {
		const char *cand = g->members[0]->protocols[i].name;
		size_t votes = 0;
		bool all = true;

		for (j = 0; j < g->nmembers && all; j++)
			all = member_supports(g->members[j], cand);
		if (!all)
			continue;
		for (j = 0; j < g->nmembers; j++) {
			const struct member *m = g->members[j];
			int32_t k;

			for (k = 0; k < m->nprotocols; k++) {
				bool supported = true;
				size_t x;

				for (x = 0; x < g->nmembers && supported; x++)
					supported = member_supports(g->members[x],
					    m->protocols[k].name);
				if (supported) {
					if (strcmp(m->protocols[k].name, cand) == 0)
						votes++;
					break;
				}
			}
		}
		if (best == NULL || votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

static void
subscribed_add(struct group *g, struct proto_str topic)
{
	size_t i;

	for (i = 0; i < g->nsubscribed; i++)
		if (proto_str_eq(topic, g->subscribed[i]))
			return;
	g->subscribed = xrealloc(g->subscribed,
	    (g->nsubscribed + 1) * sizeof(*g->subscribed));
	g->subscribed[g->nsubscribed] = xcalloc(1, (size_t)topic.len + 1);
	memcpy(g->subscribed[g->nsubscribed], topic.p, (size_t)topic.len);
	g->nsubscribed++;
}

/*
 * Add the topics of one member's subscription, read as Kafka reads it
 * for this: the ConsumerProtocol v0 prefix (version, topics, user data)
 * of the metadata it offered for the chosen protocol. False when that
 * does not parse.
 */
static bool
subscribed_add_member(struct group *g, const struct member *m)
{
	const struct blob *meta = NULL;
	struct breader r;
	int32_t i, n;

	for (i = 0; i < m->nprotocols; i++)
		if (strcmp(m->protocols[i].name, g->protocol) == 0)
			meta = &m->protocols[i].metadata;
	if (meta == NULL || meta->len < 2)
		return false;
	br_init(&r, meta->data, (size_t)meta->len);
	(void)br_i16(&r);		/* any version: v0 is a prefix */
	n = proto_read_array_len(&r, false, 2);
	for (i = 0; i < n && br_ok(&r); i++) {
		struct proto_str t = proto_read_str(&r, false);

		if (br_ok(&r))
			subscribed_add(g, t);
	}
	(void)proto_read_bytes(&r, true);	/* user_data */
	return br_ok(&r);
}

/*
 * Kafka's computeSubscribedTopics, at the start of each generation:
 * known only for a consumer group with members and a chosen protocol
 * whose every subscription parses.
 */
static void
subscribed_update(struct group *g)
{
	size_t i;

	subscribed_clear(g);
	if (g->nmembers == 0 || g->protocol == NULL ||
	    g->protocol_type == NULL ||
	    strcmp(g->protocol_type, "consumer") != 0)
		return;
	for (i = 0; i < g->nmembers; i++)
		if (!subscribed_add_member(g, g->members[i])) {
			log_warnx("group=%s: unreadable subscription of member "
			    "%s; every topic counts as subscribed", g->id,
			    g->members[i]->id);
			subscribed_clear(g);
			return;
		}
	g->subscribed_known = true;
}

bool
group_subscribed_to(const struct group *g, const char *topic)
{
	size_t i;

	if (!g->subscribed_known)
		return true;
	for (i = 0; i < g->nsubscribed; i++)
		if (strcmp(g->subscribed[i], topic) == 0)
			return true;
	return false;
}

void
group_rebalance(struct logd *ld, struct group *g, int64_t now)
{
	int64_t timeout = 0;
	size_t i;

	for (i = 0; i < g->nmembers; i++) {
		struct member *m = g->members[i];

		if (m->rebalance_timeout_ms > timeout)
			timeout = m->rebalance_timeout_ms;
		/* A pending SyncGroup of the old generation must give up. */
		if (g->state == GROUP_COMPLETING && !m->sync_ready) {
			m->sync_ready = true;
			m->sync_error = KERR_REBALANCE_IN_PROGRESS;
		}
	}
	/*
	 * An empty group waits group.initial.rebalance.delay.ms for more
	 * members before the first assignment, as Kafka does.
	 */
	if (g->state == GROUP_EMPTY && ld->cfg.group_initial_delay_ms < timeout)
		timeout = ld->cfg.group_initial_delay_ms;
	/* Kafka's storeGroup callback ignores a generation that is over. */
	g->sync_pending = false;
	if (g->state != GROUP_PREPARING) {
		g->join_deadline_ms = now + timeout;
		g->initial_join = g->state == GROUP_EMPTY;
	}
	g->state = GROUP_PREPARING;
	ld->appended = true;
}

void
group_remove_member(struct logd *ld, struct group *g, struct member *m,
    int64_t now)
{
	size_t i;

	for (i = 0; i < g->nmembers; i++)
		if (g->members[i] == m)
			break;
	if (i == g->nmembers)
		return;
	memmove(g->members + i, g->members + i + 1,
	    (g->nmembers - i - 1) * sizeof(*g->members));
	g->nmembers--;
	if (g->leader != NULL && strcmp(g->leader, m->id) == 0) {
		free(g->leader);
		g->leader = NULL;
	}
	member_free(m);
	if (g->nmembers == 0) {
		struct err e = { 0 };

		g->state = GROUP_EMPTY;
		g->generation++;
		g->sync_pending = false;
		free(g->protocol);
		g->protocol = NULL;
		subscribed_clear(g);
		g->empty_since_ms = clock_wall_ms();
		if (groups_store_metadata(ld, g, &e) < 0)
			log_warnx("group=%s: storing metadata: %s", g->id, e.msg);
		ld->appended = true;
		return;
	}
	group_rebalance(ld, g, now);
	group_try_complete_join(ld, g, now);
}

void
group_try_complete_join(struct logd *ld, struct group *g, int64_t now)
{
	const char *proto;
	struct err e = { 0 };
	size_t i, joined = 0;

	if (g->state != GROUP_PREPARING)
		return;
	for (i = 0; i < g->nmembers; i++)
		if (g->members[i]->joined)
			joined++;
	if (joined < g->nmembers && now < g->join_deadline_ms)
		return;
	/*
	 * A group starting from Empty waits out the initial delay even once
	 * everyone present has joined, so that more members can come.
	 */
	if (joined == g->nmembers && g->nmembers > 0 &&
	    now < g->join_deadline_ms && g->initial_join &&
	    ld->cfg.group_initial_delay_ms > 0)
		return;
	/* Members that did not rejoin in time are out. */
	for (i = 0; i < g->nmembers;) {
		struct member *m = g->members[i];

		if (m->joined) {
			i++;
			continue;
		}
		log_info("group=%s: member %s did not rejoin in time", g->id,
		    m->id);
		memmove(g->members + i, g->members + i + 1,
		    (g->nmembers - i - 1) * sizeof(*g->members));
		g->nmembers--;
		if (g->leader != NULL && strcmp(g->leader, m->id) == 0) {
			free(g->leader);
			g->leader = NULL;
		}
		member_free(m);
	}
	g->generation++;
	free(g->protocol);
	g->protocol = NULL;
	if (g->nmembers == 0) {
		g->state = GROUP_EMPTY;
		g->empty_since_ms = clock_wall_ms();
	} else {
		proto = group_select_protocol(g);
		g->protocol = proto ? xstrdup(proto) : NULL;
		if (g->leader == NULL)
			g->leader = xstrdup(g->members[0]->id);
		g->state = GROUP_COMPLETING;
	}
	subscribed_update(g);
	for (i = 0; i < g->nmembers; i++) {
		struct member *m = g->members[i];

		m->joined = false;
		m->join_ready = true;
		m->join_error = KERR_NONE;
		m->sync_ready = false;
		m->session_deadline_ms = now + m->session_timeout_ms;
	}
	log_info("group=%s: generation %" PRId32 " with %zu members, protocol "
	    "%s, leader %s", g->id, g->generation, g->nmembers,
	    g->protocol ? g->protocol : "-", g->leader ? g->leader : "-");
	if (groups_store_metadata(ld, g, &e) < 0)
		log_warnx("group=%s: storing metadata: %s", g->id, e.msg);
	ld->appended = true;
}

void
group_set_offset(struct group *g, const struct committed *c)
{
	size_t i;

	for (i = 0; i < g->noffsets; i++) {
		struct committed *x = &g->offsets[i];

		if (x->partition == c->partition && strcmp(x->topic, c->topic) == 0) {
			if (x->log_offset > c->log_offset && c->log_offset >= 0)
				return;
			free(x->metadata);
			x->log_offset = c->log_offset;
			x->offset = c->offset;
			x->leader_epoch = c->leader_epoch;
			x->metadata = xstrdup(c->metadata ? c->metadata : "");
			x->commit_ms = c->commit_ms;
			return;
		}
	}
	g->offsets = xrealloc(g->offsets, (g->noffsets + 1) * sizeof(*g->offsets));
	g->offsets[g->noffsets] = *c;
	g->offsets[g->noffsets].topic = xstrdup(c->topic);
	g->offsets[g->noffsets].metadata = xstrdup(c->metadata ? c->metadata : "");
	g->noffsets++;
}

static void
group_drop_offset(struct group *g, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < g->noffsets; i++) {
		struct committed *x = &g->offsets[i];

		if (x->partition == partition && strcmp(x->topic, topic) == 0) {
			free(x->topic);
			free(x->metadata);
			g->offsets[i] = g->offsets[--g->noffsets];
			return;
		}
	}
}

const struct committed *
group_offset(const struct group *g, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < g->noffsets; i++)
		if (g->offsets[i].partition == partition &&
		    strcmp(g->offsets[i].topic, topic) == 0)
			return &g->offsets[i];
	return NULL;
}

/* Record layouts of __consumer_offsets (big-endian, int16 versions first). */

static void
put_offset_key(struct buf *b, const char *group, const char *topic,
    int32_t partition)
{
	buf_put_i16(b, KEY_OFFSET_V1);
	proto_put_cstr(b, group);
	proto_put_cstr(b, topic);
	buf_put_i32(b, partition);
}

static void
put_offset_value(struct buf *b, const struct committed *c)
{
	buf_put_i16(b, VALUE_OFFSET_V3);
	buf_put_i64(b, c->offset);
	buf_put_i32(b, c->leader_epoch);
	proto_put_cstr(b, c->metadata ? c->metadata : "");
	buf_put_i64(b, c->commit_ms);
}

static void
put_group_key(struct buf *b, const char *group)
{
	buf_put_i16(b, KEY_GROUP_V2);
	proto_put_cstr(b, group);
}

/* The group's metadata; its members only when they have assignments. */
static void
put_group_value(struct buf *b, const struct group *g, bool members)
{
	size_t i;

	buf_put_i16(b, VALUE_GROUP_V1);
	proto_put_cstr(b, g->protocol_type ? g->protocol_type : "");
	buf_put_i32(b, g->generation);
	proto_put_cstr(b, g->protocol);
	proto_put_cstr(b, g->leader);
	buf_put_i32(b, members ? (int32_t)g->nmembers : 0);
	for (i = 0; members && i < g->nmembers; i++) {
		const struct member *m = g->members[i];
		struct blob sub = { NULL, -1 };
		int32_t k;

		for (k = 0; k < m->nprotocols && g->protocol != NULL; k++)
			if (strcmp(m->protocols[k].name, g->protocol) == 0)
				sub = m->protocols[k].metadata;
		proto_put_cstr(b, m->id);
		proto_put_cstr(b, m->client_id);
		proto_put_cstr(b, m->client_host);
		buf_put_i32(b, m->rebalance_timeout_ms);
		buf_put_i32(b, m->session_timeout_ms);
		proto_put_bytes(b, sub.data, sub.len < 0 ? 0 : sub.len);
		proto_put_bytes(b, m->assignment.data,
		    m->assignment.len < 0 ? 0 : m->assignment.len);
	}
}

/*
 * Records for one group's partition, appended as one batch: add each
 * (key, value) with writer_add (value NULL for a tombstone), then
 * writer_commit.
 */
struct writer {
	struct rec_builder rb;
	struct buf key, value;
	int64_t now;
};

static void
writer_init(struct writer *w)
{
	rec_builder_init(&w->rb, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	buf_init(&w->key);
	buf_init(&w->value);
	w->now = clock_wall_ms();
}

static void
writer_release(struct writer *w)
{
	rec_builder_release(&w->rb);
	buf_release(&w->key);
	buf_release(&w->value);
}

/* Add the record whose key is in w->key and value in w->value. */
static int
writer_add(struct writer *w, bool tombstone)
{
	struct rec_bytes k = { w->key.data, (int32_t)w->key.len };
	struct rec_bytes v = { w->value.data, (int32_t)w->value.len };
	int rc;

	if (tombstone) {
		v.data = NULL;
		v.len = -1;
	}
	rc = w->key.failed || w->value.failed ? -1 :
	    rec_builder_add(&w->rb, w->now, k, v, NULL, 0);
	buf_clear(&w->key);
	buf_clear(&w->value);
	return rc;
}

/*
 * The partition a write for `group` goes to: in cluster mode only one we
 * lead, and for a waited write (`durable`) only with enough in-sync
 * replicas, refused before anything is written as Kafka's acks=-1
 * appends are. NULL with `e` set otherwise.
 */
static struct partition *
writer_partition(struct logd *ld, const char *group, bool durable,
    struct err *e)
{
	struct proto_str name = { OFFSETS_TOPIC, (int32_t)strlen(OFFSETS_TOPIC) };
	int32_t idx = groups_partition_for(ld, group);
	struct partition *p;

	if (groups_ensure_topic(ld, e) < 0)
		return NULL;
	p = partition_find(ld, name, idx);
	if (p == NULL) {
		err_set(e, EXIT_SOFTWARE, "no %s partition %" PRId32 " for "
		    "group '%s'", OFFSETS_TOPIC, idx, group);
		return NULL;
	}
	if (ld->cluster == NULL)
		return p;
	if (p->role != PART_LEADER) {
		err_set(e, EXIT_TEMPFAIL, "not the leader of %s-%" PRId32,
		    OFFSETS_TOPIC, idx);
		return NULL;
	}
	if (durable && (int64_t)p->nisr < tconf_i64(&p->topic->conf,
	    &ld->cfg.topic_defaults, TCONF_MIN_INSYNC_REPLICAS)) {
		err_set(e, EXIT_TEMPFAIL, "%s-%" PRId32 " has %zu in-sync "
		    "replicas, fewer than min.insync.replicas", OFFSETS_TOPIC,
		    idx, p->nisr);
		return NULL;
	}
	return p;
}

static int
writer_commit(struct logd *ld, struct writer *w, const char *group,
    struct group_write *out, struct err *e)
{
	struct buf batch = BUF_INIT;
	struct plog_append_info info;
	struct partition *p;
	bool appended;
	int rc = -1;

	if (out != NULL)
		*out = (struct group_write){ -1, -1, -1, -1, 0 };
	if (w->rb.count == 0)
		return 0;
	p = writer_partition(ld, group, out != NULL, e);
	if (p == NULL)
		return -1;
	w->rb.leader_epoch = p->leader_epoch;
	if (rec_builder_finish(&w->rb, &batch, e) < 0)
		goto out;
	appended = plog_append(p->log, batch.data, batch.len,
	    PLOG_APPEND_ASSIGN_OFFSETS, w->now, &info, e) == 0;
	flusher_submit(ld, p);
	if (!appended)
		goto out;
	/* Alone this commits it; with followers, their fetches will. */
	replica_update_hw(ld, p);
	ld->appended = true;
	if (out != NULL)
		*out = (struct group_write){ p->id, p->leader_epoch,
		    info.first_offset, info.last_offset + 1,
		    clock_mono_ms() + GROUP_WRITE_TIMEOUT_MS };
	rc = 0;
out:
	buf_release(&batch);
	return rc;
}

/*
 * Append what the writer holds unless adding it failed (rc < 0: out of
 * memory), and release it either way.
 */
static int
writer_finish(struct logd *ld, struct writer *w, const char *group, int rc,
    struct group_write *out, struct err *e)
{
	if (rc < 0)
		err_set(e, EXIT_OSERR, "out of memory");
	else
		rc = writer_commit(ld, w, group, out, e);
	writer_release(w);
	return rc;
}

int
groups_store_offsets(struct logd *ld, struct group *g,
    const struct committed *c, size_t n, struct group_write *out,
    struct err *e)
{
	struct writer w;
	size_t i;
	int rc = 0;

	writer_init(&w);
	for (i = 0; i < n && rc == 0; i++) {
		put_offset_key(&w.key, g->id, c[i].topic, c[i].partition);
		put_offset_value(&w.value, &c[i]);
		rc = writer_add(&w, false);
	}
	return writer_finish(ld, &w, g->id, rc, out, e);
}

int
groups_store_metadata(struct logd *ld, struct group *g, struct err *e)
{
	struct writer w;
	int rc;

	writer_init(&w);
	put_group_key(&w.key, g->id);
	put_group_value(&w.value, g, g->state == GROUP_STABLE);
	rc = writer_add(&w, false);
	return writer_finish(ld, &w, g->id, rc, NULL, e);
}

int
groups_store_sync(struct logd *ld, struct group *g, struct group_write *out,
    struct err *e)
{
	struct writer w;
	int rc;

	writer_init(&w);
	put_group_key(&w.key, g->id);
	put_group_value(&w.value, g, true);
	rc = writer_add(&w, false);
	return writer_finish(ld, &w, g->id, rc, out, e);
}

/* Tombstones for every offset and the metadata of `g`. */
int
groups_store_tombstones(struct logd *ld, struct group *g, struct err *e)
{
	struct writer w;
	size_t i;
	int rc = 0;

	writer_init(&w);
	for (i = 0; i < g->noffsets && rc == 0; i++) {
		put_offset_key(&w.key, g->id, g->offsets[i].topic,
		    g->offsets[i].partition);
		rc = writer_add(&w, true);
	}
	if (rc == 0) {
		put_group_key(&w.key, g->id);
		rc = writer_add(&w, true);
	}
	return writer_finish(ld, &w, g->id, rc, NULL, e);
}

int
group_delete(struct logd *ld, struct group *g, struct err *e)
{
	if (groups_store_tombstones(ld, g, e) < 0)
		return -1;
	group_unlink(ld, g);
	return 0;
}

static bool
committed_listed(const struct committed *which, size_t n, const char *topic,
    int32_t partition)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (which[i].partition == partition &&
		    strcmp(which[i].topic, topic) == 0)
			return true;
	return false;
}

int
group_delete_offsets(struct logd *ld, struct group *g,
    const struct committed *which, size_t n, bool *gone, struct err *e)
{
	struct writer w;
	size_t i, kept = 0;
	bool dead;
	int rc = 0;

	*gone = false;
	writer_init(&w);
	for (i = 0; i < g->noffsets && rc == 0; i++) {
		const struct committed *c = &g->offsets[i];

		if (!committed_listed(which, n, c->topic, c->partition)) {
			kept++;
			continue;
		}
		put_offset_key(&w.key, g->id, c->topic, c->partition);
		rc = writer_add(&w, true);
	}
	/* Kafka: an Empty group without offsets is Dead, and goes. */
	dead = g->state == GROUP_EMPTY && kept == 0;
	if (rc == 0 && dead) {
		put_group_key(&w.key, g->id);
		rc = writer_add(&w, true);
	}
	if (writer_finish(ld, &w, g->id, rc, NULL, e) < 0)
		return -1;
	if (dead) {
		group_unlink(ld, g);
		*gone = true;
		return 0;
	}
	for (i = 0; i < n; i++)
		group_drop_offset(g, which[i].topic, which[i].partition);
	return 0;
}

/* Replay: apply one record of __consumer_offsets, from batch `base`. */
static void
replay_record(struct logd *ld, const struct rec_record *r, int64_t base)
{
	struct breader k, v;
	char group[256], topic[256];
	int16_t kver;
	struct group *g;

	if (r->key.len < 2)
		return;
	br_init(&k, r->key.data, (size_t)r->key.len);
	kver = br_i16(&k);
	if (!proto_str_copy(proto_read_str(&k, false), group, sizeof(group)))
		return;
	if (kver == 0 || kver == KEY_OFFSET_V1) {
		struct committed c;
		int16_t vver;
		char meta[4097];

		if (!proto_str_copy(proto_read_str(&k, false), topic,
		    sizeof(topic)))
			return;
		memset(&c, 0, sizeof(c));
		c.topic = topic;
		c.partition = br_i32(&k);
		if (!br_ok(&k))
			return;
		if (r->value.len < 0) {
			g = group_find(ld, group);
			if (g != NULL)
				group_drop_offset(g, topic, c.partition);
			return;
		}
		br_init(&v, r->value.data, (size_t)r->value.len);
		vver = br_i16(&v);
		c.offset = br_i64(&v);
		c.leader_epoch = vver >= 3 ? br_i32(&v) : -1;
		if (!proto_str_copy(proto_read_str(&v, false), meta, sizeof(meta)))
			meta[0] = '\0';
		c.metadata = meta;
		c.commit_ms = br_i64(&v);
		c.log_offset = base;
		if (!br_ok(&v) || vver < 0 || vver > 3)
			return;
		group_set_offset(group_get_or_create(ld, group), &c);
		return;
	}
	if (kver != KEY_GROUP_V2)
		return;
	if (r->value.len < 0) {
		g = group_find(ld, group);
		if (g != NULL && g->noffsets == 0)
			group_unlink(ld, g);
		return;
	}
	/*
	 * Group metadata: keep the protocol type and generation. Members are
	 * not restored: after a coordinator restart they rejoin, as after a
	 * Kafka coordinator move they must heartbeat and would be expired.
	 */
	br_init(&v, r->value.data, (size_t)r->value.len);
	(void)br_i16(&v);
	{
		struct proto_str type = proto_read_str(&v, false);
		int32_t gen = br_i32(&v);

		if (!br_ok(&v))
			return;
		g = group_get_or_create(ld, group);
		free(g->protocol_type);
		g->protocol_type = type.len > 0 ? xcalloc(1, (size_t)type.len + 1) :
		    NULL;
		if (g->protocol_type != NULL)
			memcpy(g->protocol_type, type.p, (size_t)type.len);
		g->generation = gen;
		g->state = GROUP_EMPTY;
	}
}

/* Replay the batches of one slice; *next moves past each. */
static int
replay_slice(struct logd *ld, const struct buf *data, int64_t *next,
    struct rec_iter *it, struct err *e)
{
	size_t pos = 0;

	while (pos < data->len) {
		struct rec_batch b;
		struct rec_record r;
		int more;

		if (rec_batch_parse(data->data + pos, data->len - pos, &b, e) < 0 ||
		    rec_iter_reset(it, &b, e) < 0)
			return -1;
		while ((more = rec_iter_next(it, &r, e)) > 0)
			replay_record(ld, &r, b.base_offset);
		if (more < 0)
			return -1;
		*next = rec_batch_last_offset(&b) + 1;
		pos += b.size;
	}
	return 0;
}

int
groups_replay(struct logd *ld, struct partition *p, int64_t *next,
    int64_t end, struct err *e)
{
	struct plog_slice s;
	struct rec_iter it;
	struct buf data = BUF_INIT;
	ssize_t n;
	int rc;

	if (*next < plog_start_offset(p->log))
		*next = plog_start_offset(p->log);
	if (*next >= end)
		return 0;
	rc = plog_read(p->log, *next, GROUPS_REPLAY_BYTES, end, &s, e);
	if (rc != 0)
		return err_wrap(e, "replaying %s-%" PRId32, OFFSETS_TOPIC, p->id);
	if (s.length == 0) {
		/* Nothing below `end` any more (a compacted tail): done. */
		*next = end;
		return 0;
	}
	if (buf_reserve(&data, s.length) < 0)
		return err_set(e, EXIT_OSERR, "out of memory replaying %s-%"
		    PRId32, OFFSETS_TOPIC, p->id);
	n = pread(s.fd, data.data, s.length, (off_t)s.position);
	if (n != (ssize_t)s.length) {
		buf_release(&data);
		return err_sys(e, EXIT_IOERR, "reading %s-%" PRId32,
		    OFFSETS_TOPIC, p->id);
	}
	data.len = (size_t)n;
	rec_iter_init(&it, 64u << 20);
	rc = replay_slice(ld, &data, next, &it, e);
	rec_iter_release(&it);
	buf_release(&data);
	if (rc < 0)
		return err_wrap(e, "replaying %s-%" PRId32 " at offset %" PRId64,
		    OFFSETS_TOPIC, p->id, *next);
	return 0;
}

/* Drop committed offsets of empty groups after offsets.retention.minutes. */
static void
expire_offsets(struct logd *ld, int64_t wall)
{
	size_t i;

	for (i = 0; i < ld->ngroups;) {
		struct group *g = ld->groups[i];
		struct err e = { 0 };

		if (g->state != GROUP_EMPTY || !group_loaded(ld, g) ||
		    wall - g->empty_since_ms < ld->cfg.offsets_retention_ms) {
			i++;
			continue;
		}
		log_info("group=%s: offsets expired after %" PRId64 " ms empty",
		    g->id, ld->cfg.offsets_retention_ms);
		if (group_delete(ld, g, &e) < 0) {
			log_warnx("group=%s: expiring offsets: %s", g->id, e.msg);
			i++;
		}
	}
}

void
groups_tick(struct logd *ld, int64_t now)
{
	size_t i, j;

	groups_load_step(ld);
	for (i = 0; i < ld->ngroups; i++) {
		struct group *g = ld->groups[i];

		if (!group_loaded(ld, g))
			continue;
		group_settle_commits(ld, g, now);
		group_settle_sync(ld, g, now);
		for (j = 0; j < g->nmembers;) {
			struct member *m = g->members[j];

			/* Members waiting in a join are timed by the join. */
			if (g->state == GROUP_PREPARING && m->joined) {
				j++;
				continue;
			}
			if (now < m->session_deadline_ms) {
				j++;
				continue;
			}
			log_info("group=%s: member %s session timed out after %"
			    PRId32 " ms", g->id, m->id, m->session_timeout_ms);
			group_remove_member(ld, g, m, now);
		}
		expire_pending(g, now);
		group_try_complete_join(ld, g, now);
	}
	if (now >= ld->next_offset_expiry_ms) {
		expire_offsets(ld, clock_wall_ms());
		ld->next_offset_expiry_ms = now + 60000;
	}
}
