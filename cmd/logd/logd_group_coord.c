/* SPDX-License-Identifier: MIT */
/*
 * Which groups this broker coordinates. Alone, all of them: every
 * partition of __consumer_offsets is replayed at start-up. In cluster
 * mode, those of the offsets partitions it leads, as Kafka's
 * GroupMetadataManager does: becoming leader starts loading the
 * partition (its records up to the log end offset of that moment, one
 * slice at a time within a time budget, so that a large partition does
 * not stall the event loop), and its groups answer
 * COORDINATOR_LOAD_IN_PROGRESS until the load ends; losing leadership
 * drops its groups, so their members' next requests get NOT_COORDINATOR
 * and they find the new coordinator. FindCoordinator names the leader
 * from ctrld's state.
 *
 * Commits and the leader's assignment are Kafka's acks=-1 appends: they
 * count once the partition's high watermark passes them
 * (replica_ack_ready), and their failures map to the coordinator errors
 * Kafka's GroupMetadataManager answers.
 *
 * The table of owned partitions belongs to this file, for the one struct
 * logd of the process; only the event loop thread touches it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlproto.h"
#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

/*
 * Loading may take LOAD_BUDGET_US of every LOAD_WINDOW_US (groups_tick
 * runs every 100 ms): at most a fifth of the loop's time, and never much
 * more than a slice beyond the budget at once.
 */
#define LOAD_WINDOW_US 100000
#define LOAD_BUDGET_US 20000

/* An offsets partition this broker leads: loading, then loaded. */
struct coord_owned {
	int32_t partition;
	int32_t epoch;		/* the leader epoch it was loaded for; -1:
				 * abandoned (the partition went away) */
	bool loading;
	int64_t next;		/* loading: the next offset to replay */
	int64_t end;		/* loading: the log end offset at the start */
	int64_t started_us;
};

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
groups_coord_release(struct logd *ld)
{
	free(ld->coord.v);
	memset(&ld->coord, 0, sizeof(ld->coord));
}

static struct coord_owned *
owned_find(const struct group_coord *gc, int32_t partition)
{
	size_t i;

	for (i = 0; i < gc->n; i++)
		if (gc->v[i].partition == partition)
			return &gc->v[i];
	return NULL;
}

static void
owned_remove(struct group_coord *gc, int32_t partition)
{
	struct coord_owned *o = owned_find(gc, partition);

	if (o != NULL)
		*o = gc->v[--gc->n];
}

static struct coord_owned *
owned_add(struct group_coord *gc, int32_t partition)
{
	gc->v = xrealloc(gc->v, (gc->n + 1) * sizeof(*gc->v));
	memset(&gc->v[gc->n], 0, sizeof(gc->v[0]));
	gc->v[gc->n].partition = partition;
	return &gc->v[gc->n++];
}

static struct partition *
offsets_partition(struct logd *ld, int32_t idx)
{
	struct proto_str name = { OFFSETS_TOPIC, (int32_t)strlen(OFFSETS_TOPIC) };

	return partition_find(ld, name, idx);
}

static size_t
groups_of(const struct logd *ld, int32_t partition)
{
	size_t i, n = 0;

	for (i = 0; i < ld->ngroups; i++)
		n += ld->groups[i]->partition == partition;
	return n;
}

int16_t
groups_coordinator_error(struct logd *ld, const char *group)
{
	const struct coord_owned *o;
	const struct partition *p;
	int32_t idx;

	if (ld->cluster == NULL)
		return KERR_NONE;
	idx = groups_partition_for(ld, group);
	o = owned_find(&ld->coord, idx);
	if (o != NULL && o->loading)
		return KERR_COORDINATOR_LOAD_IN_PROGRESS;
	p = offsets_partition(ld, idx);
	if (o == NULL || p == NULL || p->role != PART_LEADER ||
	    p->leader_epoch != o->epoch)
		return KERR_NOT_COORDINATOR;
	return KERR_NONE;
}

bool
group_loaded(const struct logd *ld, const struct group *g)
{
	const struct coord_owned *o;

	if (ld->cluster == NULL)
		return true;
	o = owned_find(&ld->coord, g->partition);
	return o != NULL && !o->loading && o->epoch >= 0;
}

bool
groups_loading(const struct logd *ld)
{
	size_t i;

	for (i = 0; ld->cluster != NULL && i < ld->coord.n; i++)
		if (ld->coord.v[i].loading)
			return true;
	return false;
}

/* Single-broker mode: every group is ours; the topic is made on demand. */
static int16_t
find_self(struct logd *ld, int32_t *id, const char **host, int32_t *port,
    const char **why)
{
	struct err e = { 0 };

	if (groups_ensure_topic(ld, &e) < 0) {
		log_warnx("creating %s: %s", OFFSETS_TOPIC, e.msg);
		*why = "the offsets topic could not be created";
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	*id = ld->cfg.broker_id;
	*host = ld->cfg.advertise.host;
	*port = ld->cfg.advertise.port;
	return KERR_NONE;
}

int16_t
groups_find_coordinator(struct logd *ld, const char *group, int32_t *id,
    const char **host, int32_t *port, const char **why)
{
	const struct cluster_state *s = cluster_current_state(ld);
	const struct cluster_topic *ct;
	const struct cluster_partition *cp;
	const struct cluster_broker *b;

	*why = NULL;
	if (ld->cluster == NULL)
		return find_self(ld, id, host, port, why);
	ct = s != NULL ? cluster_state_topic(s, OFFSETS_TOPIC) : NULL;
	if (ct == NULL || ct->npartitions <= 0) {
		*why = "no state from ctrld with the offsets topic yet";
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	/* groups_partition_for counts ctrld's partitions: in range. */
	cp = &ct->partitions[groups_partition_for(ld, group)];
	if (cp->leader < 0) {
		*why = "the group's offsets partition has no leader";
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	if (cp->leader == ld->cfg.broker_id) {
		*id = ld->cfg.broker_id;
		*host = ld->cfg.advertise.host;
		*port = ld->cfg.advertise.port;
		return KERR_NONE;
	}
	b = cluster_state_broker(s, cp->leader);
	if (b == NULL || !b->alive) {
		*why = "the leader of the group's offsets partition is down";
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	*id = b->id;
	*host = b->host;
	*port = b->port;
	return KERR_NONE;
}

/* Forget partition `idx` and its groups; parked requests re-check. */
static void
unload(struct logd *ld, int32_t idx, const char *why)
{
	size_t n = groups_drop_partition(ld, idx);

	owned_remove(&ld->coord, idx);
	/* Parked JoinGroups and SyncGroups answer NOT_COORDINATOR now. */
	ld->appended = true;
	log_info("dropped %zu groups (%s): topic=%s partition=%" PRId32, n,
	    why, OFFSETS_TOPIC, idx);
}

static void
load_done(struct logd *ld, struct coord_owned *o)
{
	o->loading = false;
	ld->appended = true;
	log_info("coordinating %zu groups: topic=%s partition=%" PRId32
	    " leader_epoch=%" PRId32 " load_ms=%" PRId64,
	    groups_of(ld, o->partition), OFFSETS_TOPIC, o->partition, o->epoch,
	    (mono_us() - o->started_us) / 1000);
}

/*
 * Replay one slice of o's partition. A partition that went away meanwhile
 * (the hook drops it first when its role changes) is abandoned; an
 * unreadable one is taken as loaded with what was read, as Kafka does
 * when a load fails.
 */
static void
load_slice(struct logd *ld, struct coord_owned *o)
{
	struct partition *p = offsets_partition(ld, o->partition);
	struct err e = { 0 };

	if (p == NULL || p->role != PART_LEADER || p->leader_epoch != o->epoch) {
		groups_drop_partition(ld, o->partition);
		o->loading = false;
		o->epoch = -1;
		return;
	}
	if (groups_replay(ld, p, &o->next, o->end, &e) < 0) {
		log_errorx("%s; coordinating the groups read before it",
		    e.msg);
		o->next = o->end;
	}
	if (o->next >= o->end)
		load_done(ld, o);
}

void
groups_load_step(struct logd *ld)
{
	struct group_coord *gc = &ld->coord;
	int64_t t = mono_us();
	size_t i;

	if (t - gc->window_us >= LOAD_WINDOW_US) {
		gc->window_us = t;
		gc->spent_us = 0;
	}
	for (i = 0; i < gc->n && gc->spent_us < LOAD_BUDGET_US; i++) {
		struct coord_owned *o = &gc->v[i];

		while (o->loading && gc->spent_us < LOAD_BUDGET_US) {
			int64_t t0 = mono_us();

			load_slice(ld, o);
			gc->spent_us += mono_us() - t0;
		}
	}
}

static void
load_begin(struct logd *ld, struct partition *p)
{
	struct coord_owned *o = owned_add(&ld->coord, p->id);

	o->epoch = p->leader_epoch;
	o->loading = true;
	o->next = plog_start_offset(p->log);
	o->end = plog_end_offset(p->log);
	o->started_us = mono_us();
	if (o->next < o->end)
		log_info("loading groups: topic=%s partition=%" PRId32
		    " leader_epoch=%" PRId32 " from=%" PRId64 " to=%" PRId64,
		    OFFSETS_TOPIC, p->id, p->leader_epoch, o->next, o->end);
	/* Small partitions, the usual case, are done before we return. */
	groups_load_step(ld);
}

void
groups_partition_moved(struct logd *ld, struct partition *p)
{
	const struct coord_owned *o;

	if (ld->cluster == NULL || strcmp(p->topic->name, OFFSETS_TOPIC) != 0)
		return;
	o = owned_find(&ld->coord, p->id);
	if (p->role == PART_LEADER && o != NULL && o->epoch == p->leader_epoch)
		return;
	/*
	 * A new leader epoch reloads even when we led before: another
	 * broker may have led (and written) in between.
	 */
	if (o != NULL)
		unload(ld, p->id, p->role == PART_LEADER ? "new leader epoch" :
		    "no longer the leader");
	if (p->role == PART_LEADER)
		load_begin(ld, p);
}

int
groups_load(struct logd *ld, struct err *e)
{
	struct topic *t = topic_find(ld, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
	int32_t i;

	if (t == NULL || ld->cluster != NULL)
		return 0;
	for (i = 0; i < t->npartitions; i++) {
		struct partition *p = t->parts[i];
		int64_t next = plog_start_offset(p->log);
		int64_t end = plog_end_offset(p->log);

		while (next < end)
			if (groups_replay(ld, p, &next, end, e) < 0)
				return -1;
	}
	if (ld->ngroups > 0)
		log_info("loaded %zu consumer groups from %s", ld->ngroups,
		    OFFSETS_TOPIC);
	return 0;
}

/* Durable writes */

/* Kafka's mapping of a failed coordinator append to the client's error. */
static int16_t
coordinator_append_error(int16_t error)
{
	switch (error) {
	case KERR_NONE:
		return KERR_NONE;
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KERR_NOT_ENOUGH_REPLICAS:
	case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case KERR_REQUEST_TIMED_OUT:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	case KERR_NOT_LEADER_OR_FOLLOWER:
	case KERR_KAFKA_STORAGE_ERROR:
		return KERR_NOT_COORDINATOR;
	default:
		return error;
	}
}

bool
group_write_settled(struct logd *ld, const struct group_write *w,
    bool expired, int16_t *error)
{
	struct partition *p;
	int16_t e = KERR_NONE;

	*error = KERR_NONE;
	if (w->required < 0 || ld->cluster == NULL)
		return true;
	p = offsets_partition(ld, w->partition);
	if (p == NULL)
		e = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	else if (!replica_ack_ready(ld, p, w->epoch, w->required, &e)) {
		if (!expired)
			return false;
		e = KERR_REQUEST_TIMED_OUT;
	}
	if (e != KERR_NONE)
		log_debug("coordinator write not replicated (%s): topic=%s "
		    "partition=%" PRId32 " offset=%" PRId64, proto_error_name(e),
		    OFFSETS_TOPIC, w->partition, w->base_offset);
	*error = coordinator_append_error(e);
	return true;
}

void
group_settle_sync(struct logd *ld, struct group *g, int64_t now)
{
	int16_t error;

	if (!g->sync_pending)
		return;
	if (g->state != GROUP_COMPLETING || g->generation != g->sync_generation) {
		g->sync_pending = false;
		return;
	}
	if (group_write_settled(ld, &g->sync_write,
	    now >= g->sync_write.deadline_ms, &error))
		group_sync_done(ld, g, error, now);
}

void
group_sync_done(struct logd *ld, struct group *g, int16_t error, int64_t now)
{
	size_t i;

	g->sync_pending = false;
	ld->appended = true;
	if (error == KERR_NONE) {
		g->state = GROUP_STABLE;
		for (i = 0; i < g->nmembers; i++) {
			g->members[i]->sync_ready = true;
			g->members[i]->sync_error = KERR_NONE;
		}
		return;
	}
	/* Kafka's resetAndPropagateAssignmentError, then a new rebalance. */
	log_warnx("group=%s: assignment of generation %" PRId32 " not stored: "
	    "%s", g->id, g->generation, proto_error_name(error));
	for (i = 0; i < g->nmembers; i++) {
		struct member *m = g->members[i];

		free(m->assignment.data);
		m->assignment.data = NULL;
		m->assignment.len = 0;
		m->sync_ready = true;
		m->sync_error = error;
	}
	group_rebalance(ld, g, now);
}

void
group_add_pending_commit(struct group *g, const struct group_write *w,
    struct committed *c, size_t n)
{
	g->pcommits = xrealloc(g->pcommits,
	    (g->npcommits + 1) * sizeof(*g->pcommits));
	g->pcommits[g->npcommits].w = *w;
	g->pcommits[g->npcommits].c = c;
	g->pcommits[g->npcommits].n = n;
	g->npcommits++;
}

static void
pending_commit_remove(struct group *g, size_t i)
{
	committed_array_free(g->pcommits[i].c, g->pcommits[i].n);
	memmove(g->pcommits + i, g->pcommits + i + 1,
	    (g->npcommits - i - 1) * sizeof(*g->pcommits));
	g->npcommits--;
}

void
group_settle_commits(struct logd *ld, struct group *g, int64_t now)
{
	size_t i = 0, k;
	int16_t error;

	while (i < g->npcommits) {
		struct pending_commit *pc = &g->pcommits[i];

		if (!group_write_settled(ld, &pc->w, now >= pc->w.deadline_ms,
		    &error)) {
			i++;
			continue;
		}
		if (error != KERR_NONE)
			log_warnx("group=%s: commit of %zu offsets not stored: %s: "
			    "topic=%s partition=%" PRId32 " offset=%" PRId64, g->id,
			    pc->n, proto_error_name(error), OFFSETS_TOPIC,
			    pc->w.partition, pc->w.base_offset);
		for (k = 0; error == KERR_NONE && k < pc->n; k++) {
			pc->c[k].log_offset = pc->w.base_offset;
			group_set_offset(g, &pc->c[k]);
		}
		pending_commit_remove(g, i);
	}
}

void
group_drop_pending_commit(struct group *g, const struct group_write *w)
{
	size_t i;

	for (i = 0; i < g->npcommits; i++)
		if (g->pcommits[i].w.partition == w->partition &&
		    g->pcommits[i].w.base_offset == w->base_offset) {
			pending_commit_remove(g, i);
			return;
		}
}
