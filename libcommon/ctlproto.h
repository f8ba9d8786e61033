/* SPDX-License-Identifier: MIT */
/*
 * The private requests between ctrld, logd and replicad
 * (docs/cluster-protocol.md): API keys 32000-32004 and 32010-32012, all
 * version 0, in Kafka's non-flexible encodings, and ClusterState, the
 * controller's view of brokers, topics and partitions.
 *
 * Writers append a message *body* (no frame, no header) to a buf; wrap it
 * with proto_frame_begin_request()/proto_frame_begin_response() and
 * proto_frame_end(). Readers decode a body from a breader positioned after
 * the request header (or the response's correlation id); they do not
 * require the reader to end there (check br_left() for strictness).
 *
 * Decoders trust nothing: every array count is checked against the bytes
 * left and against a hard cap below, strings must fit their fixed buffers
 * and hold no NUL byte, a topic's partitions must be numbered 0..n-1 in
 * order (so partitions[p] is partition p), and nothing recurses.
 *
 * Ownership: a decoded message owns what its pointers point to (except
 * ReplicaAppend's records, which borrow the frame); release it with the
 * matching ctlproto_release_*(). A decoder that fails has already released
 * everything and left *out zeroed, so callers release only on success.
 * Writers only read the struct; a message built by hand (pointing at the
 * caller's own arrays) must not be passed to a release function.
 * Messages without a release function own no memory.
 */
#ifndef KLOG_CTLPROTO_H
#define KLOG_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "err.h"

enum ctlproto_api_key {
	API_KLOG_BROKER_HEARTBEAT = 32000,	/* logd -> ctrld */
	API_KLOG_ALTER_ISR = 32001,		/* logd (leader) -> ctrld */
	API_KLOG_CONTROLLED_SHUTDOWN = 32002,	/* logd -> ctrld */
	API_KLOG_DESCRIBE_CLUSTER = 32003,	/* ctrld status -> ctrld */
	API_KLOG_APPLY_TOPICS = 32004,		/* ctrld apply -> ctrld */
	API_KLOG_REPLICA_STATE = 32010,		/* replicad -> local logd */
	API_KLOG_REPLICA_APPEND = 32011,	/* replicad -> local logd */
	API_KLOG_REPLICA_TRUNCATE = 32012	/* replicad -> local logd */
};

#define CTLPROTO_VERSION 0	/* the only version of every private API */

/* Limits: longer strings and larger counts are refused by the decoders. */
#define CTLPROTO_NAME_MAX 249		/* topic name (Kafka's limit) */
#define CTLPROTO_HOST_MAX 256		/* host buffer, NUL included */
#define CTLPROTO_RACK_MAX 64		/* rack buffer, NUL included */
#define CTLPROTO_ID_MAX 64		/* cluster id buffer, NUL included */
#define CTLPROTO_MSG_MAX 256		/* error message buffer (truncated) */
#define CTLPROTO_ACTION_MAX 32		/* ApplyTopics action word */
#define CTLPROTO_MAX_REPLICAS 32	/* replicas (and ISR) per partition */
#define CTLPROTO_MAX_BROKERS 4096
#define CTLPROTO_MAX_TOPICS 65536
#define CTLPROTO_MAX_PARTITIONS 65536	/* per topic */
#define CTLPROTO_MAX_CONFIGS 256	/* per topic */
#define CTLPROTO_MAX_TOTAL_PARTITIONS (1 << 18)	/* in one ClusterState */
#define CTLPROTO_MAX_ITEMS (1 << 17)	/* flat lists: ISR items, actions,
					   replica partitions, broker ages */

/* True for the eight private keys above. */
bool ctlproto_is_private(int api_key);
/* "BrokerHeartbeat", ... or NULL for any other key. */
const char *ctlproto_api_name(int api_key);

/* ------------------------------------------------------------------ */
/* ClusterState                                                       */

struct ctl_config {
	char *key;			/* owned */
	char *value;			/* owned */
};

struct cluster_broker {
	int32_t id;
	char host[CTLPROTO_HOST_MAX];
	int32_t port;
	char rack[CTLPROTO_RACK_MAX];	/* "" = none (null on the wire) */
	bool alive;
};

struct cluster_partition {
	int32_t partition;		/* == its index in the topic */
	int32_t leader;			/* -1: offline */
	int32_t leader_epoch;
	int32_t partition_epoch;	/* bumped by any leader or ISR change */
	int32_t nreplicas;
	int32_t nisr;
	int32_t replicas[CTLPROTO_MAX_REPLICAS];	/* [0] is preferred */
	int32_t isr[CTLPROTO_MAX_REPLICAS];
};

struct cluster_topic {
	char name[CTLPROTO_NAME_MAX + 1];
	bool internal;
	struct ctl_config *configs;	/* only the keys set for this topic */
	int32_t nconfigs;
	struct cluster_partition *partitions;	/* partitions[p] is p */
	int32_t npartitions;
};

struct cluster_state {
	char cluster_id[CTLPROTO_ID_MAX];
	int64_t version;		/* metadata log offset of last change */
	struct cluster_broker *brokers;
	int32_t nbrokers;
	struct cluster_topic *topics;
	int32_t ntopics;
};

/* An empty state (version -1); the same as zeroing it and setting that. */
void cluster_state_init(struct cluster_state *s);
/* Free what `s` owns and leave it empty; `s` itself is not freed. */
void cluster_state_release(struct cluster_state *s);
/* Release and free a heap state; NULL is a no-op. */
void cluster_state_free(struct cluster_state *s);
/*
 * Deep copy of `src` into *out (which is overwritten, not released
 * first). 0, or -1 with EXIT_SOFTWARE when out of memory (*out empty).
 */
int cluster_state_copy(const struct cluster_state *src,
    struct cluster_state *out, struct err *e);
/* A heap deep copy (free with cluster_state_free), NULL when out of memory. */
struct cluster_state *cluster_state_dup(const struct cluster_state *src);

/* Release what a topic owns (configs, partitions) and zero it. */
void cluster_topic_release(struct cluster_topic *t);
/* Deep copy of one topic; 0, or -1 when out of memory (*out zeroed). */
int cluster_topic_copy(const struct cluster_topic *src,
    struct cluster_topic *out);

/* Index of a topic / broker in `s`, or -1 (for callers that modify it). */
int32_t cluster_state_topic_index(const struct cluster_state *s,
    const char *name);
int32_t cluster_state_broker_index(const struct cluster_state *s, int32_t id);
/* Is `id` among v[0..n) (replicas, ISR)? */
bool cluster_ids_contain(const int32_t *v, int32_t n, int32_t id);
/* Lookups; NULL when absent. Pointers stay valid until `s` changes. */
const struct cluster_topic *cluster_state_topic(const struct cluster_state *s,
    const char *name);
const struct cluster_partition *cluster_state_partition(
    const struct cluster_state *s, const char *topic, int32_t partition);
const struct cluster_broker *cluster_state_broker(
    const struct cluster_state *s, int32_t id);
/* A topic's own value for `key`, or NULL when it does not set it. */
const char *cluster_topic_config(const struct cluster_topic *t,
    const char *key);
bool cluster_partition_has_replica(const struct cluster_partition *p,
    int32_t broker);
bool cluster_partition_in_isr(const struct cluster_partition *p,
    int32_t broker);

void ctlproto_write_cluster_state(struct buf *b, const struct cluster_state *s);
int ctlproto_read_cluster_state(struct breader *r, struct cluster_state *out,
    struct err *e);
/* One Topic of ClusterState (also the metadata log's topic record). */
void ctlproto_write_topic(struct buf *b, const struct cluster_topic *t);
int ctlproto_read_topic(struct breader *r, struct cluster_topic *out,
    struct err *e);
/* One Partition of ClusterState (no allocation; nothing to release). */
void ctlproto_write_partition(struct buf *b, const struct cluster_partition *p);
int ctlproto_read_partition(struct breader *r, struct cluster_partition *out,
    struct err *e);

/* ------------------------------------------------------------------ */
/* 32000 BrokerHeartbeat                                              */

struct ctl_heartbeat_req {
	int32_t broker_id;
	int64_t incarnation;		/* random per logd start */
	char host[CTLPROTO_HOST_MAX];
	int32_t port;
	int64_t known_version;		/* -1: none */
	int32_t wait_ms;		/* long poll when nothing changed */
	bool shutting_down;
};

struct ctl_heartbeat_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];	/* "" = null */
	int32_t session_timeout_ms;
	struct cluster_state *state;	/* NULL: known_version is current */
};

void ctlproto_write_heartbeat_req(struct buf *b,
    const struct ctl_heartbeat_req *m);
int ctlproto_read_heartbeat_req(struct breader *r,
    struct ctl_heartbeat_req *out, struct err *e);
void ctlproto_write_heartbeat_resp(struct buf *b,
    const struct ctl_heartbeat_resp *m);
int ctlproto_read_heartbeat_resp(struct breader *r,
    struct ctl_heartbeat_resp *out, struct err *e);
void ctlproto_release_heartbeat_resp(struct ctl_heartbeat_resp *m);

/* ------------------------------------------------------------------ */
/* 32001 AlterIsr                                                     */

/*
 * Both directions list partitions grouped by topic on the wire; here they
 * are one flat array. Writers group consecutive items of the same topic
 * (so sort or cluster them by topic to keep the request small).
 */
struct ctl_isr_item {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	int32_t leader_epoch;
	int32_t partition_epoch;
	int32_t nisr;
	int32_t isr[CTLPROTO_MAX_REPLICAS];	/* the proposed new ISR */
};

struct ctl_alter_isr_req {
	int32_t broker_id;
	int64_t incarnation;
	struct ctl_isr_item *items;
	int32_t nitems;
};

/* ctrld's state of the partition after the request (always present). */
struct ctl_isr_result {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	int16_t error_code;
	int32_t leader;
	int32_t leader_epoch;
	int32_t partition_epoch;
	int32_t nisr;
	int32_t isr[CTLPROTO_MAX_REPLICAS];
};

struct ctl_alter_isr_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	struct ctl_isr_result *results;
	int32_t nresults;
};

void ctlproto_write_alter_isr_req(struct buf *b,
    const struct ctl_alter_isr_req *m);
int ctlproto_read_alter_isr_req(struct breader *r,
    struct ctl_alter_isr_req *out, struct err *e);
void ctlproto_release_alter_isr_req(struct ctl_alter_isr_req *m);
void ctlproto_write_alter_isr_resp(struct buf *b,
    const struct ctl_alter_isr_resp *m);
int ctlproto_read_alter_isr_resp(struct breader *r,
    struct ctl_alter_isr_resp *out, struct err *e);
void ctlproto_release_alter_isr_resp(struct ctl_alter_isr_resp *m);

/* ------------------------------------------------------------------ */
/* 32002 ControlledShutdown                                           */

struct ctl_shutdown_req {
	int32_t broker_id;
	int64_t incarnation;
};

struct ctl_shutdown_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	int32_t remaining_leaderships;
};

void ctlproto_write_shutdown_req(struct buf *b,
    const struct ctl_shutdown_req *m);
int ctlproto_read_shutdown_req(struct breader *r,
    struct ctl_shutdown_req *out, struct err *e);
void ctlproto_write_shutdown_resp(struct buf *b,
    const struct ctl_shutdown_resp *m);
int ctlproto_read_shutdown_resp(struct breader *r,
    struct ctl_shutdown_resp *out, struct err *e);

/* ------------------------------------------------------------------ */
/* 32003 DescribeCluster (the request body is empty)                  */

struct ctl_broker_age {
	int32_t broker_id;
	int64_t last_heartbeat_ms_ago;	/* -1: never heard from */
};

struct ctl_describe_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	int32_t controller_epoch;
	struct cluster_state state;	/* embedded; empty on errors */
	struct ctl_broker_age *ages;
	int32_t nages;
};

void ctlproto_write_describe_resp(struct buf *b,
    const struct ctl_describe_resp *m);
int ctlproto_read_describe_resp(struct breader *r,
    struct ctl_describe_resp *out, struct err *e);
void ctlproto_release_describe_resp(struct ctl_describe_resp *m);
/* Milliseconds since broker `id`'s last heartbeat, or -1 (never). */
int64_t ctl_describe_heartbeat_age(const struct ctl_describe_resp *m,
    int32_t id);

/* ------------------------------------------------------------------ */
/* 32004 ApplyTopics                                                  */

struct ctl_apply_topic {
	char name[CTLPROTO_NAME_MAX + 1];
	int32_t partitions;
	int16_t replication_factor;
	struct ctl_config *configs;
	int32_t nconfigs;
};

struct ctl_apply_req {
	bool dry_run;
	struct ctl_apply_topic *topics;
	int32_t ntopics;
};

struct ctl_apply_action {
	char topic[CTLPROTO_NAME_MAX + 1];
	char action[CTLPROTO_ACTION_MAX];	/* create, add-partitions,
						   set-config, unset-config,
						   unchanged, not-in-manifest,
						   error */
	char *detail;				/* owned; NULL writes "" */
};

struct ctl_apply_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	struct ctl_apply_action *actions;
	int32_t nactions;
};

void ctlproto_write_apply_req(struct buf *b, const struct ctl_apply_req *m);
int ctlproto_read_apply_req(struct breader *r, struct ctl_apply_req *out,
    struct err *e);
void ctlproto_release_apply_req(struct ctl_apply_req *m);
void ctlproto_write_apply_resp(struct buf *b, const struct ctl_apply_resp *m);
int ctlproto_read_apply_resp(struct breader *r, struct ctl_apply_resp *out,
    struct err *e);
void ctlproto_release_apply_resp(struct ctl_apply_resp *m);

/* ------------------------------------------------------------------ */
/* 32010 ReplicaState (replicad -> local logd)                        */

struct ctl_replica_state_req {
	int64_t known_version;
	int32_t wait_ms;
};

struct ctl_replica_partition {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	int32_t leader;
	char leader_host[CTLPROTO_HOST_MAX];
	int32_t leader_port;
	int32_t leader_epoch;
	int64_t log_start_offset;
	int64_t log_end_offset;
	int32_t last_epoch;		/* -1: empty leader-epoch cache */
	int64_t high_watermark;
};

struct ctl_replica_state_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	int32_t broker_id;
	int64_t version;
	struct ctl_replica_partition *partitions;
	int32_t npartitions;
};

void ctlproto_write_replica_state_req(struct buf *b,
    const struct ctl_replica_state_req *m);
int ctlproto_read_replica_state_req(struct breader *r,
    struct ctl_replica_state_req *out, struct err *e);
void ctlproto_write_replica_state_resp(struct buf *b,
    const struct ctl_replica_state_resp *m);
int ctlproto_read_replica_state_resp(struct breader *r,
    struct ctl_replica_state_resp *out, struct err *e);
void ctlproto_release_replica_state_resp(struct ctl_replica_state_resp *m);

/* ------------------------------------------------------------------ */
/* 32011 ReplicaAppend, 32012 ReplicaTruncate                         */

struct ctl_replica_append_req {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	int32_t leader_epoch;
	int64_t leader_high_watermark;
	const uint8_t *records;		/* borrowed from the frame */
	int32_t records_len;
};

struct ctl_replica_append_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	int64_t log_end_offset;
	int64_t high_watermark;
};

struct ctl_replica_truncate_req {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	int32_t leader_epoch;
	int64_t offset;
};

struct ctl_replica_truncate_resp {
	int16_t error_code;
	char error_message[CTLPROTO_MSG_MAX];
	int64_t log_end_offset;
};

void ctlproto_write_replica_append_req(struct buf *b,
    const struct ctl_replica_append_req *m);
int ctlproto_read_replica_append_req(struct breader *r,
    struct ctl_replica_append_req *out, struct err *e);
void ctlproto_write_replica_append_resp(struct buf *b,
    const struct ctl_replica_append_resp *m);
int ctlproto_read_replica_append_resp(struct breader *r,
    struct ctl_replica_append_resp *out, struct err *e);
void ctlproto_write_replica_truncate_req(struct buf *b,
    const struct ctl_replica_truncate_req *m);
int ctlproto_read_replica_truncate_req(struct breader *r,
    struct ctl_replica_truncate_req *out, struct err *e);
void ctlproto_write_replica_truncate_resp(struct buf *b,
    const struct ctl_replica_truncate_resp *m);
int ctlproto_read_replica_truncate_resp(struct breader *r,
    struct ctl_replica_truncate_resp *out, struct err *e);

/* Copy an error message into a response's buffer (truncating; NULL: ""). */
void ctlproto_set_message(char dst[CTLPROTO_MSG_MAX], const char *msg);

#endif
