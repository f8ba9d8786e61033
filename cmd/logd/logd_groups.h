/* SPDX-License-Identifier: MIT */
/*
 * The group coordinator's state (logd_groups.c) shared with its request
 * handlers (logd_group_api.c): consumer groups with their members, the
 * classic rebalance state machine, and committed offsets, all persisted
 * as records in the compacted __consumer_offsets topic.
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
};

const char *group_state_name(enum group_state s);

/* The __consumer_offsets partition holding `group`, and its partition. */
int32_t groups_partition_for(const struct logd *ld, const char *group);
/* Create __consumer_offsets if needed; 0 or -1. */
int groups_ensure_topic(struct logd *ld, struct err *e);

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

/* Persistence: append records to the group's partition. */
int groups_store_offsets(struct logd *ld, struct group *g,
    const struct committed *c, size_t n, struct err *e);
int groups_store_metadata(struct logd *ld, struct group *g, struct err *e);
int groups_store_tombstones(struct logd *ld, struct group *g, struct err *e);
void group_set_offset(struct group *g, const struct committed *c);
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

/* Rebuild every group from __consumer_offsets (at start-up). */
int groups_load(struct logd *ld, struct err *e);
void groups_free(struct logd *ld);
/* Timers: session expiry, join deadlines, offset expiry. */
void groups_tick(struct logd *ld, int64_t now);

#endif
