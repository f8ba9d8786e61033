/* SPDX-License-Identifier: MIT */
/*
 * The group coordinator's state (logd_groups.c) shared with its request
 * handlers (logd_group_api.c, logd_offset_api.c): consumer groups with
 * their members, the classic rebalance state machine, and committed
 * offsets, all persisted as records in the compacted __consumer_offsets
 * topic. In cluster mode this broker coordinates only the groups of the
 * offsets partitions it leads, loaded from those partitions when it
 * becomes their leader, and a commit or an assignment counts only once
 * the partition's high watermark passes its records.
 */
#ifndef LOGD_GROUPS_H
#define LOGD_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "logd.h"

#define OFFSETS_TOPIC "__consumer_offsets"

enum group_state {
	GROUP_EMPTY,
	GROUP_PREPARING,	/* PreparingRebalance: collecting joins */
	GROUP_COMPLETING,	/* CompletingRebalance: waiting for the leader's sync */
	GROUP_STABLE,
	GROUP_DEAD
};

struct blob {
	uint8_t *data;
	int32_t len;		/* -1: null */
};

struct member_protocol {
	char *name;
	struct blob metadata;
};

struct member {
	char *id;
	char *instance_id;		/* NULL: dynamic member */
	char *client_id;
	char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	struct member_protocol *protocols;
	int32_t nprotocols;
	struct blob assignment;
	int64_t session_deadline_ms;	/* monotonic */
	bool joined;			/* joined in the current rebalance */
	bool join_ready;		/* its JoinGroup can be answered */
	int16_t join_error;
	bool sync_ready;		/* its SyncGroup can be answered */
	int16_t sync_error;
};

struct committed {
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	char *metadata;
	int64_t commit_ms;
	int64_t log_offset;	/* its batch in __consumer_offsets; -1: none */
};

/*
 * A write to a group's __consumer_offsets partition and what makes it
 * durable: the high watermark passing `required` while the partition is
 * still led at `epoch` (Kafka's appends with acks=-1).
 */
struct group_write {
	int32_t partition;
	int32_t epoch;		/* the leader epoch of the append */
	int64_t base_offset;	/* the batch's first offset */
	int64_t required;	/* settled once the high watermark is here;
				 * -1: nothing to wait for */
	int64_t deadline_ms;	/* monotonic: REQUEST_TIMED_OUT after it */
};

/*
 * Commits written but not durable yet (cluster mode). They belong to the
 * group, not to the request, so that they enter the cache once durable
 * even if the client is gone by then, as Kafka's append callback does.
 */
struct pending_commit {
	struct group_write w;
	struct committed *c;	/* owned, with their strings */
	size_t n;
};

/* A member id handed out with MEMBER_ID_REQUIRED, not joined yet. */
struct pending_member {
	char *id;
	int64_t deadline_ms;	/* monotonic: forgotten after this */
};

struct group {
	char *id;
	enum group_state state;
	int32_t generation;
	char *protocol_type;		/* NULL until a member joins */
	char *protocol;			/* chosen at the end of a join */
	char *leader;			/* member id */
	struct member **members;
	size_t nmembers;
	int64_t join_deadline_ms;	/* PREPARING: complete the join then */
	bool initial_join;		/* this rebalance began from Empty */
	struct pending_member *pending;	/* KIP-394 ids, not members yet */
	size_t npending;
	struct committed *offsets;
	size_t noffsets;
	int64_t empty_since_ms;		/* wall clock, for offset expiry */
	/*
	 * The topics the members subscribe to, taken at the end of each
	 * join (Kafka's subscribedTopics); unknown (every topic counts as
	 * subscribed) before the first generation, for non-consumer groups
	 * and when a member's subscription does not parse.
	 */
	char **subscribed;
	size_t nsubscribed;
	bool subscribed_known;
	int32_t partition;		/* its __consumer_offsets partition */
	/*
	 * The leader's SyncGroup: its assignment record is being replicated
	 * (cluster mode); the group turns Stable, and the members get their
	 * assignments, once it is durable (group_settle_sync).
	 */
	bool sync_pending;
	int32_t sync_generation;
	struct group_write sync_write;
	struct pending_commit *pcommits;	/* in append order */
	size_t npcommits;
};

const char *group_state_name(enum group_state s);

/*
 * The __consumer_offsets partition holding `group`: Java's hashCode of
 * the id modulo the topic's partition count (ctrld's in cluster mode,
 * else the local topic's, else offsets.topic.num.partitions).
 */
int32_t groups_partition_for(struct logd *ld, const char *group);
/* Single-broker mode: create __consumer_offsets if needed; 0 or -1. In
 * cluster mode ctrld creates it: -1 while this broker lacks it. */
int groups_ensure_topic(struct logd *ld, struct err *e);

/*
 * Coordination (Kafka's validateGroupStatus): KERR_NONE when this broker
 * coordinates `group`, else COORDINATOR_LOAD_IN_PROGRESS while its
 * partition is being loaded or NOT_COORDINATOR when another broker leads
 * it. Always KERR_NONE in single-broker mode.
 */
int16_t groups_coordinator_error(struct logd *ld, const char *group);
/*
 * FindCoordinator: the leader of the group's partition (this broker when
 * alone), *host borrowed (valid until the cluster state changes).
 * KERR_NONE, or COORDINATOR_NOT_AVAILABLE with *why when the partition
 * is offline, its leader down, or the offsets topic cannot be created.
 */
int16_t groups_find_coordinator(struct logd *ld, const char *group,
    int32_t *id, const char **host, int32_t *port, const char **why);
/* Whether `g` belongs to a loaded partition (ListGroups, timers). */
bool group_loaded(const struct logd *ld, const struct group *g);
/* ListGroups: whether some offsets partition is still being loaded. */
bool groups_loading(const struct logd *ld);
/*
 * Called from replica_role_changed for every partition whose role or
 * leader epoch changed (p's fields already the new ones): an offsets
 * partition we now lead is (re)loaded from its log, in steps that
 * groups_tick continues; one we stopped leading has its groups dropped.
 * No-op for other topics and in single-broker mode.
 */
void groups_partition_moved(struct logd *ld, struct partition *p);

struct group *group_find(struct logd *ld, const char *id);
struct group *group_get_or_create(struct logd *ld, const char *id);
struct member *group_find_member(const struct group *g, const char *id);
/* Remove a member; starts a rebalance (or empties the group). */
void group_remove_member(struct logd *ld, struct group *g, struct member *m,
    int64_t now);
/* Start (or restart) a rebalance: every member must rejoin. */
void group_rebalance(struct logd *ld, struct group *g, int64_t now);
/* Finish the join phase if everyone rejoined or the deadline passed. */
void group_try_complete_join(struct logd *ld, struct group *g, int64_t now);
struct member *member_new(const char *id, const char *instance_id,
    const char *client_id, const char *client_host);
void member_free(struct member *m);
int group_add_member(struct group *g, struct member *m);
/* KIP-394: remember an id given out, or take it back when it joins. */
void group_pending_add(struct group *g, const char *id, int64_t deadline_ms);
bool group_pending_take(struct group *g, const char *id);

/* The protocol every member supports that most members prefer, or NULL. */
const char *group_select_protocol(const struct group *g);
bool group_supports_protocols(const struct group *g, const struct member *m,
    const char *protocol_type);

/*
 * Persistence: append records to the group's partition. Metadata and
 * tombstones are written and forgotten, as Kafka writes them; commits
 * and the leader's assignment fill *out with what settles them. These
 * return 0, or -1 with `e` set: an append or memory failure, or in
 * cluster mode not leading the partition, or (for the waited writes)
 * an ISR below min.insync.replicas, when nothing is written.
 */
int groups_store_offsets(struct logd *ld, struct group *g,
    const struct committed *c, size_t n, struct group_write *out,
    struct err *e);
int groups_store_metadata(struct logd *ld, struct group *g, struct err *e);
/* The leader's SyncGroup: the group with every member's assignment. */
int groups_store_sync(struct logd *ld, struct group *g,
    struct group_write *out, struct err *e);
int groups_store_tombstones(struct logd *ld, struct group *g, struct err *e);
/*
 * Whether a write is settled: true with *error KERR_NONE once durable,
 * or with the coordinator error Kafka answers for a failed append
 * (COORDINATOR_NOT_AVAILABLE for too few in-sync replicas or a timeout,
 * NOT_COORDINATOR when leadership moved); false while it waits, unless
 * `expired`, which times it out.
 */
bool group_write_settled(struct logd *ld, const struct group_write *w,
    bool expired, int16_t *error);
/*
 * Settle a pending SyncGroup assignment (now >= its deadline times it
 * out): Stable with the assignments, or the error to every waiting
 * member and a new rebalance, as Kafka's storeGroup callback does.
 */
void group_settle_sync(struct logd *ld, struct group *g, int64_t now);
/* The assignment is durable (KERR_NONE: Stable) or failed with `error`. */
void group_sync_done(struct logd *ld, struct group *g, int16_t error,
    int64_t now);
/*
 * Put a commit into the cache, unless the cache already holds one from a
 * later batch (two commits settling out of order): Kafka's olderThan.
 */
void group_set_offset(struct group *g, const struct committed *c);
/* Free n committed entries with their strings, and the array. */
void committed_array_free(struct committed *c, size_t n);
/* Keep commits c[0..n) written by `w` until durable; takes c. */
void group_add_pending_commit(struct group *g, const struct group_write *w,
    struct committed *c, size_t n);
/* Apply the pending commits that are durable now, drop failed ones. */
void group_settle_commits(struct logd *ld, struct group *g, int64_t now);
/* Forget the pending commit written by `w` (its request gave up). */
void group_drop_pending_commit(struct group *g, const struct group_write *w);
const struct committed *group_offset(const struct group *g, const char *topic,
    int32_t partition);
int group_delete(struct logd *ld, struct group *g, struct err *e);
/* Whether the members of `g` subscribe to `topic` (true when unknown). */
bool group_subscribed_to(const struct group *g, const char *topic);
/*
 * OffsetDelete: remove the commits of which[0..n) (distinct pairs; only
 * topic and partition are read) that `g` has, appending their tombstones
 * first. An Empty group left without offsets is deleted as well (with
 * the tombstone of its metadata), as Kafka's cleanupGroupMetadata does:
 * then `g` is freed and *gone is true. 0, or -1 with `e` set and nothing
 * changed.
 */
int group_delete_offsets(struct logd *ld, struct group *g,
    const struct committed *which, size_t n, bool *gone, struct err *e);

/* Single-broker mode: rebuild every group from __consumer_offsets (at
 * start-up). In cluster mode partitions load as we come to lead them. */
int groups_load(struct logd *ld, struct err *e);
void groups_free(struct logd *ld);
/* Timers: loading, session expiry, join deadlines, offset expiry. */
void groups_tick(struct logd *ld, int64_t now);

/* Between logd_groups.c and logd_group_coord.c. */

/* The bytes one replay step reads (one plog_read). */
#define GROUPS_REPLAY_BYTES (1u << 20)
/* Free every group of offsets partition `partition`; how many went. */
size_t groups_drop_partition(struct logd *ld, int32_t partition);
/*
 * Replay the batches of `p` from *next (raised to the log start) below
 * `end`, one read of at most GROUPS_REPLAY_BYTES (or one larger batch);
 * *next moves past them, to `end` when nothing is left. 0, or -1 with
 * `e` set for an unreadable or corrupt batch.
 */
int groups_replay(struct logd *ld, struct partition *p, int64_t *next,
    int64_t end, struct err *e);
/* Continue loading offsets partitions, within the loader's time budget. */
void groups_load_step(struct logd *ld);
/* Forget which partitions are owned (groups_free). */
void groups_coord_release(struct logd *ld);

#endif
