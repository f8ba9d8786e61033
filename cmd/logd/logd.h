/* SPDX-License-Identifier: MIT */
/*
 * logd internals shared by its files: the broker's configuration, its
 * topics and partitions, client connections with their queued responses,
 * and the request handlers. One event loop thread owns all of it.
 */
#ifndef LOGD_H
#define LOGD_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "bytes.h"
#include "err.h"
#include "net.h"
#include "proto.h"
#include "tconf.h"

struct plog;
struct logdir;
struct cluster;
struct cluster_state;
struct json_obj;

/* Broker settings: built-in defaults, then the config file, then flags. */
struct logd_config {
	int32_t broker_id;
	char data_dir[PATH_MAX];
	struct net_addr listen;
	struct net_addr advertise;
	bool advertise_set;
	char cluster_id[64];
	int32_t num_partitions;
	int32_t default_replication_factor;
	bool auto_create_topics;
	bool delete_topic_enable;
	int64_t retention_check_interval_ms;
	int64_t socket_request_max_bytes;
	int64_t connections_max_idle_ms;
	int64_t max_connections;
	int64_t shutdown_timeout_ms;
	int64_t max_conn_output_bytes;
	/* group coordinator */
	int32_t offsets_topic_partitions;
	int64_t group_initial_delay_ms;
	int64_t group_min_session_ms;
	int64_t group_max_session_ms;
	int64_t offsets_retention_ms;
	int64_t offset_metadata_max_bytes;
	/* replication, leader side (logd_replica.c) */
	int64_t replica_lag_time_max_ms;	/* ISR shrink after this lag */
	/* the log cleaner (logd_cleaner.c) */
	int64_t cleaner_io_bytes_per_sec;	/* 0: unthrottled */
	int64_t cleaner_dedupe_buffer_bytes;	/* the offset map's bound */
	struct tconf topic_defaults;	/* broker-level topic defaults */
	/* cluster mode (logd_cluster.c): set by `controller` or -m */
	bool cluster_mode;
	struct net_addr controller;	/* ctrld's address */
	int64_t heartbeat_interval_ms;	/* BrokerHeartbeat long-poll wait */
	int64_t controlled_shutdown_timeout_ms;
};

/* Command-line options; everything else comes from logd_config. */
struct logd_opts {
	const char *config_path;
	const char *manifest_path;	/* -m: the broker's section of it */
	const char *data_dir;
	const char *listen;
	const char *advertise;
	const char *broker_id;
	const char **overrides;		/* "key=value" from -o */
	size_t noverrides;
	bool check_only;
	int ready_fd;
	const char *addr_file;
	int verbosity;
	bool log_timestamps;
};

struct topic;
struct group;

/* The __consumer_offsets partitions this broker leads as group
 * coordinator, loading or loaded (logd_group_coord.c; cluster mode). */
struct coord_owned;
struct group_coord {
	struct coord_owned *v;
	size_t n;
	int64_t window_us;		/* the loading budget's window began */
	int64_t spent_us;		/* loading time spent in it */
};
struct producer_entry;

/* The idempotent producers of one partition (logd_producers.c). */
struct producer_table {
	struct producer_entry *slots;	/* open addressing; NULL when empty */
	uint32_t cap;			/* a power of two, or 0 */
	uint32_t count;
};

/* A partition's part in replication (docs/cluster-protocol.md). */
enum part_role {
	PART_LEADER,		/* single-broker mode: every partition */
	PART_FOLLOWER,		/* replicad appends to it; clients refused */
	PART_NONE		/* cluster mode before ctrld's state arrives */
};

/* The leader's view of one follower, from its replica Fetch requests. */
struct follower {
	int32_t broker_id;
	int64_t log_end_offset;		/* its fetch offset; -1 = unknown */
	int64_t last_fetch_ms;
	int64_t leader_leo_at_fetch;	/* our LEO when it last fetched */
	int64_t last_caught_up_ms;
};

struct epoch_cache;
struct ckpt;

struct partition {
	struct topic *topic;
	int32_t id;
	struct plog *log;
	int32_t leader_epoch;
	int64_t high_watermark;
	struct producer_table producers;
	/* Replication. Single-broker mode: PART_LEADER, replicas = isr =
	 * { own id }, and the high watermark follows the log end offset. */
	enum part_role role;
	int32_t leader_id;		/* -1 = none */
	int32_t partition_epoch;
	int32_t *replicas;		/* owned; first = preferred leader */
	size_t nreplicas;
	int32_t *isr;			/* owned; confirmed by ctrld */
	size_t nisr;
	struct follower *followers;	/* owned; leader only */
	size_t nfollowers;
	bool isr_change_pending;	/* an AlterIsr is in flight */
	struct epoch_cache *epochs;	/* leader-epoch-checkpoint */
	int32_t *proposed_isr;		/* owned; our AlterIsr in flight */
	size_t nproposed_isr;
	struct park_watch *watchers;	/* parked Fetches waiting on p */
};

struct topic {
	char *name;
	int32_t npartitions;
	struct partition **parts;
	struct tconf conf;		/* this topic's overrides */
	bool internal;
};

/*
 * One partition a parked Fetch waits on (logd_net.c): linked into the
 * partition's watchers, so that data for p re-runs only those fetches.
 * The nodes are the connection's (conn->park_watches); `p` is NULL once
 * the partition went away.
 */
struct park_watch {
	struct conn *c;
	struct partition *p;
	struct park_watch *next, *prev;	/* p->watchers */
};

/* An entry of the parked requests' deadline heap (a copy of the
 * deadline, so that sifting does not touch the connections). */
struct park_slot {
	int64_t deadline_ms;
	struct conn *c;
};

/* A slice of a segment file to send with sendfile(2) at mem offset `at`. */
struct resp_file {
	size_t at;
	int fd;				/* a dup the response owns */
	off_t pos;
	size_t len;
};

/* One response frame: memory bytes with file slices spliced in. */
struct resp {
	struct resp *next;
	struct buf mem;
	struct resp_file *files;
	size_t nfiles, files_cap;
	size_t mem_sent;		/* bytes of mem already written */
	size_t file_idx;		/* next file slice to send */
	size_t total;			/* mem.len + sum of file lens */
};

struct conn {
	int fd;
	char peer[NET_ADDR_MAX];
	struct buf in;			/* received, unprocessed from in_off */
	size_t in_off;
	struct resp *out_head, *out_tail;
	size_t out_bytes;		/* queued, not yet written */
	int64_t last_active_ms;
	bool parked;			/* the head request waits (long poll) */
	int64_t park_since_ms;
	int64_t park_deadline_ms;
	struct conn *park_next, *park_prev;	/* ld->parked */
	struct conn *other_next, *other_prev;	/* ld->parked_other */
	bool park_other;		/* on ld->parked_other */
	bool park_ready;		/* on ld->ready: re-run next turn */
	struct conn *ready_next, *ready_prev;
	size_t park_heap_idx;		/* in ld->park_heap while parked */
	struct park_watch *park_watches;	/* owned; a parked Fetch's */
	size_t park_nwatches, park_watches_cap;
	bool park_watch_all;		/* the watch list is incomplete */
	bool want_write;		/* EPOLLOUT registered */
	bool read_paused;		/* back-pressure: EPOLLIN removed */
	bool peer_closed;		/* EOF read: answer what came, then close */
	char *park_member;		/* the group member a parked request is */
	void *park_state;		/* a parked handler's own state (one
					 * malloc'd block, freed with the conn) */
	bool closing;
	bool replica;			/* from replica.sock: private APIs */
	struct conn *next, *prev;	/* all connections */
};

struct logd {
	struct logd_config cfg;
	struct logdir *dir;		/* owns every partition's log */
	struct topic **topics;		/* sorted by name */
	size_t ntopics, topics_cap;
	int epfd;
	int listen_fd;
	int ctl_fd;			/* admin Unix socket */
	int replica_fd;			/* replica.sock listener; -1 = none */
	char bound_addr[NET_ADDR_MAX];
	struct conn *conns;
	size_t nconns;
	/*
	 * Parked requests (logd_net.c): all of them, those no partition
	 * wakes (re-run on any data), the ones woken for the next turn,
	 * and a min-heap by deadline.
	 */
	struct conn *parked;
	struct conn *parked_other;
	struct conn *ready_head, *ready_tail;
	struct park_slot *park_heap;
	size_t npark_heap, park_heap_cap;
	bool data_woken;		/* some partition's data moved */
	/* Something a parked request may wait on changed (a group, a role,
	 * the cluster state): re-run every parked request next turn. Data
	 * and high watermark moves use park_wake_partition() instead. */
	bool appended;
	/* Partitions with a flush.ms policy (topics_flush_due walks only
	 * these); rebuilt when flush_parts_stale. */
	struct partition **flush_parts;
	size_t nflush_parts, flush_parts_cap;
	bool flush_parts_stale;
	int64_t next_retention_ms;
	int64_t next_flush_check_ms;
	int64_t next_idle_check_ms;
	int64_t next_checkpoint_ms;
	uint64_t requests;
	int64_t pid_next;		/* next producer id to hand out */
	int64_t pid_block_end;		/* last id of the reserved block */
	const struct logd_opts *opts;	/* for SIGHUP reloads */
	struct group **groups;		/* the group coordinator's groups */
	size_t ngroups;
	int64_t next_group_tick_ms;
	int64_t next_offset_expiry_ms;
	struct cleaner *cleaner;	/* the log cleaner thread; NULL: none */
	struct flusher *flusher;	/* syncs rolled segments; NULL: none */
	struct cluster *cluster;	/* NULL: single-broker mode */
	struct ckpt *hw_checkpoint;	/* replication-offset-checkpoint at start */
	int64_t next_replica_tick_ms;
	struct group_coord coord;	/* offsets partitions we coordinate */
};

/* The outcome of running a request handler. */
enum handle_result {
	HANDLE_DONE,		/* response queued (or none for acks=0) */
	HANDLE_PARK,		/* wait for data or the deadline, then re-run */
	HANDLE_CLOSE		/* protocol violation: close the connection */
};

struct req {
	struct logd *ld;
	struct conn *c;
	struct proto_req_header hdr;
	struct breader body;		/* request body after the header */
	uint8_t *frame;			/* the whole frame, writable in place */
	size_t frame_len;
	int64_t now_ms;
	int64_t waited_ms;		/* time since first parked, 0 first run */
	bool final;			/* last run: must answer, never park */
	struct resp *resp;		/* the response being built */
	struct buf *out;		/* == &resp->mem */
	const char *close_reason;
};

/* logd_config.c */
void logd_config_init(struct logd_config *cfg);
void logd_config_release(struct logd_config *cfg);
int logd_config_load(struct logd_config *cfg, const struct logd_opts *o,
    struct err *e);
/* SIGHUP: re-read the configuration and apply what can change live. */
void logd_reload(struct logd *ld);

/* logd_net.c */
int logd_serve(struct logd *ld, const struct logd_opts *o,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
    struct err *e);
/*
 * A Fetch about to park names the partitions whose data wakes it:
 * park_watch_begin() drops the connection's previous set and makes room
 * for `n`, park_watch_add() adds one. A request parked without watches
 * is re-run whenever any partition's data moves (acks=all produces,
 * offset commits) and by every broad wake (ld->appended).
 */
void park_watch_begin(struct conn *c, size_t n);
void park_watch_add(struct conn *c, struct partition *p);
/* p's log end offset or high watermark moved: its watchers and the
 * requests that watch nothing re-run on the next loop turn. */
void park_wake_partition(struct logd *ld, struct partition *p);
/* p is being freed: unlink its watchers and re-run them. */
void park_partition_gone(struct logd *ld, struct partition *p);
struct resp *resp_new(void);
void resp_free(struct resp *r);
/* Splice `len` bytes of `fd` from `pos` at the current end of mem. */
int resp_add_file(struct resp *r, int fd, off_t pos, size_t len);

/* logd_api.c */
enum handle_result logd_dispatch(struct req *q);
/* Append the ApiVersions table (for `logd --version` too). */
void logd_api_versions_print(void);

/* Handlers, one file each. */
enum handle_result handle_metadata(struct req *q);
enum handle_result handle_produce(struct req *q);
enum handle_result handle_fetch(struct req *q);
enum handle_result handle_list_offsets(struct req *q);
enum handle_result handle_create_topics(struct req *q);
enum handle_result handle_delete_topics(struct req *q);
enum handle_result handle_create_partitions(struct req *q);
enum handle_result handle_describe_configs(struct req *q);
enum handle_result handle_find_coordinator(struct req *q);
enum handle_result handle_join_group(struct req *q);
enum handle_result handle_sync_group(struct req *q);
enum handle_result handle_heartbeat(struct req *q);
enum handle_result handle_leave_group(struct req *q);
enum handle_result handle_offset_commit(struct req *q);
enum handle_result handle_offset_fetch(struct req *q);
enum handle_result handle_describe_groups(struct req *q);
enum handle_result handle_list_groups(struct req *q);
enum handle_result handle_delete_groups(struct req *q);
enum handle_result handle_offset_delete(struct req *q);
enum handle_result handle_init_producer_id(struct req *q);
enum handle_result handle_offset_for_leader_epoch(struct req *q);

/* logd_topics.c */
int topics_load(struct logd *ld, struct err *e);
void topics_close(struct logd *ld, bool clean);
struct topic *topic_find(struct logd *ld, const char *name, size_t len);
struct partition *partition_find(struct logd *ld, struct proto_str topic,
    int32_t id);
/* Validate a topic name as Kafka does; 0 or a KERR_ code with `why`. */
int topic_name_check(const char *name, size_t len, const char **why);
int topic_create(struct logd *ld, const char *name, int32_t partitions,
    const struct tconf *conf, struct topic **out, struct err *e);
int topic_delete(struct logd *ld, struct topic *t, struct err *e);
int topic_add_partitions(struct logd *ld, struct topic *t, int32_t total,
    struct err *e);
/* Replace a topic's config overrides (saved, applied to its logs). */
int topic_set_config(struct logd *ld, struct topic *t, const struct tconf *conf,
    struct err *e);
/* Recompute a partition's log settings after a config change. */
void partition_apply_config(struct logd *ld, struct partition *p);
void topics_run_retention(struct logd *ld, int64_t now_ms);
/* Compact every compacted topic's partitions that are dirty enough. */
void topics_run_compaction(struct logd *ld, int64_t now_ms);
/* Whether the topic's cleanup.policy includes compact. */
bool topic_is_compacted(const struct logd *ld, const struct topic *t);
struct plog_compact_opts;
/* A compaction pass's settings for `p` (topic, broker, now). */
void partition_compact_opts(const struct logd *ld, const struct partition *p,
    int64_t now_ms, struct plog_compact_opts *o);
/* flush.ms: flush the partitions that have one and are due. */
void topics_flush_due(struct logd *ld, int64_t now_ms);
/* Whether some partition has a flush.ms policy (the timer is needed). */
bool topics_flush_timed(const struct logd *ld);
int topics_flush_all(struct logd *ld, struct err *e);

/* logd_producers.c: idempotent producer state per partition */
struct producer_verdict {
	bool duplicate;		/* all batches were appended before */
	int64_t base_offset;	/* then: the original first offset */
	int64_t timestamp;	/* and that batch's max timestamp */
};
/*
 * Check a validated record set against the producers' epochs and
 * sequences without changing anything. Returns KERR_NONE (appendable, or
 * a duplicate to acknowledge without appending when out->duplicate), or
 * INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER,
 * UNKNOWN_PRODUCER_ID, CORRUPT_MESSAGE (an id without sequence or epoch)
 * or INVALID_REQUEST (too many producers in one set).
 */
int16_t producers_check(const struct producer_table *t, const uint8_t *data,
    size_t len, struct producer_verdict *out);
/* Record the batches of an appended set whose offsets lie in [from, to). */
void producers_commit(struct producer_table *t, const uint8_t *data,
    size_t len, int64_t from, int64_t to);
/* Rebuild p->producers from the batch headers of p->log. */
void producers_load(struct partition *p);
void producers_release(struct producer_table *t);

/* logd_producer_id.c: the producer-id-block file */
int producer_ids_open(struct logd *ld, struct err *e);

/* logd_store.c: meta.properties and the logdir (lock, marker, checkpoints) */
int store_open(struct logd *ld, struct err *e);
void store_close(struct logd *ld, bool clean);
void store_checkpoint(struct logd *ld);
/* Write replication-offset-checkpoint: every partition's high watermark. */
void store_checkpoint_hw(struct logd *ld);
/* The high watermark replication-offset-checkpoint held at start. */
bool store_hw_get(const struct logd *ld, const char *topic,
    int32_t partition, int64_t *out);
/* Value of `key=` in properties text, copied to dst; false if absent. */
bool store_prop_get(const char *text, const char *key, char *dst,
    size_t size);

/*
 * logd_replica.c: the leader's replication bookkeeping (follower
 * positions, high watermark, ISR shrink/expand proposals, acks=all
 * waiters) and role changes. Called by logd_cluster.c when ctrld's state
 * changes a partition, and by the fetch and produce paths.
 */
/* Single-broker defaults for a new or loaded partition (role leader). */
void replica_init_standalone(struct logd *ld, struct partition *p);
/* ctrld made us leader or follower of `p` (fields already updated from
 * the state: role, leader_id, leader_epoch, partition_epoch, replicas,
 * isr); `old_role`/`old_epoch` are what they were. */
void replica_role_changed(struct logd *ld, struct partition *p,
    enum part_role old_role, int32_t old_epoch);
/* ctrld confirmed (or refused) an ISR change; p->isr is current. */
void replica_isr_changed(struct logd *ld, struct partition *p);
/* Periodic: ISR shrink/expand checks (every replica.lag.time.max.ms/2). */
void replica_tick(struct logd *ld, int64_t now_ms);
void replica_release(struct partition *p);
/* At load or creation: open p->epochs (trimmed to the log) and set the
 * single-broker defaults, or in cluster mode PART_NONE with the
 * checkpointed high watermark. 0, or -1 for a corrupt epoch file. */
int replica_open(struct logd *ld, struct partition *p, struct err *e);
/* The log end offset or a follower moved: raise the high watermark to
 * the ISR's smallest log end offset (never lower it); wakes waiters. */
void replica_update_hw(struct logd *ld, struct partition *p);
/* A replica Fetch from `broker_id` at `fetch_offset`: record it (lag,
 * high watermark, ISR expansion). KERR_NONE, NOT_LEADER_OR_FOLLOWER when
 * we do not lead p or the sender is not one of its followers, or
 * OFFSET_OUT_OF_RANGE (nothing recorded) outside the log. */
int16_t replica_follower_fetch(struct logd *ld, struct partition *p,
    int32_t broker_id, int64_t fetch_offset, int64_t now_ms);
/* acks=all: whether a write appended at leader epoch `epoch` that needs
 * the high watermark at `required` is settled, with *error NONE,
 * NOT_LEADER_OR_FOLLOWER or NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
bool replica_ack_ready(struct logd *ld, const struct partition *p,
    int32_t epoch, int64_t required, int16_t *error);
/* Requests that need the leader: KERR_NONE, or FENCED_LEADER_EPOCH /
 * UNKNOWN_LEADER_EPOCH for a `current_epoch` (-1: none) older / newer
 * than ours, else NOT_LEADER_OR_FOLLOWER when we do not lead p. */
int16_t replica_check_leader(const struct partition *p, int32_t current_epoch);

/*
 * logd_cluster.c: the link to ctrld (BrokerHeartbeat long poll, AlterIsr,
 * ControlledShutdown) and applying ctrld's state to topics and partitions.
 * All no-ops in single-broker mode (ld->cluster == NULL).
 */
/* Ask ctrld to set p's ISR (the leader's proposal); sets
 * p->isr_change_pending; the answer arrives via replica_isr_changed. */
void cluster_alter_isr(struct logd *ld, struct partition *p,
    const int32_t *isr, size_t nisr);
/* Before topics_load: allocate ld->cluster when cfg.cluster_mode. */
int cluster_new(struct logd *ld, struct err *e);
/* In logd_serve, before announcing: replica.sock, the mailbox eventfd
 * and the ctrld link threads. */
int cluster_serve_start(struct logd *ld, struct err *e);
/* The mailbox eventfd fired: apply what the link threads delivered. */
void cluster_on_event(struct logd *ld);
/* Timers: retries of a state that could not be applied in full. */
void cluster_tick(struct logd *ld, int64_t now_ms);
/* After SIGTERM: false while a controlled shutdown is still moving our
 * leaderships away (bounded by controlled.shutdown.timeout.ms). */
bool cluster_stop_ready(struct logd *ld);
/* Leaving the loop: stop accepting on replica.sock, drop the eventfd. */
void cluster_serve_stop(struct logd *ld);
/* Join the link threads and free ld->cluster (NULL-safe). */
void cluster_free(struct logd *ld);
/* A partition ctrld no longer assigns: PART_NONE, no leader, no sets. */
void cluster_partition_unassigned(struct partition *p);
/* Metadata's cluster view; NULL before the first state or standalone. */
const struct cluster_state *cluster_current_state(const struct logd *ld);
/* `logd ctl status`: the cluster section (text or JSON object members). */
void cluster_ctl_status(struct logd *ld, struct buf *out,
    struct json_obj *o);

/* logd_replica_api.c: private APIs on replica.sock (replicad) */
enum handle_result handle_replica_state(struct req *q);
enum handle_result handle_replica_append(struct req *q);
enum handle_result handle_replica_truncate(struct req *q);
/* ReplicaState's version: changes whenever a followed partition's
 * leader or epoch does (or the followed set changes). */
int64_t cluster_replica_version(const struct logd *ld);

/*
 * logd_flusher.c: the thread that syncs segments a roll left unsynced
 * (epoll tag &ld->flusher). flusher_submit after anything that may roll
 * (append, retention); without the thread it syncs right away.
 */
struct flusher;
int flusher_start(struct logd *ld, struct err *e);
void flusher_stop(struct logd *ld);
void flusher_on_wakeup(struct logd *ld);
void flusher_submit(struct logd *ld, struct partition *p);
/* Before p is freed: its queued jobs finish nothing. */
void flusher_forget(struct logd *ld, struct partition *p);

/*
 * logd_cleaner.c: the log cleaner thread. It only writes cleaned
 * segments from a snapshot; the loop plans, swaps them in and answers.
 */
struct cleaner;
/* In logd_serve: the thread and its eventfd (epoll tag &ld->cleaner). */
int cleaner_start(struct logd *ld, struct err *e);
/* Leaving the loop: stop and join the thread, remove uncommitted files,
 * answer waiting ctl clients. NULL-safe, idempotent. */
void cleaner_stop(struct logd *ld);
/* The eventfd fired: commit a cleaned group or finish a pass. */
void cleaner_on_wakeup(struct logd *ld);
/* Queue a pass over `p` (the timer's; skipped when queued or running). */
void cleaner_schedule(struct logd *ld, struct partition *p);
/* `logd ctl compact`: queue `parts`; the cleaner owns `fd` from now on
 * and answers it (ctl_reply) once all are done or after a timeout. */
void cleaner_compact(struct logd *ld, struct partition **parts, size_t n,
    int fd, bool json);
/* The partition goes away (topic deletion): drop it, stop its pass. */
void cleaner_forget(struct logd *ld, struct partition *p);
/* Timers: ctl clients waiting too long get their answer. */
int64_t cleaner_next_deadline(const struct logd *ld);
void cleaner_tick(struct logd *ld, int64_t now_ms);

/* logd_ctl.c: the admin socket */
int ctl_listen(struct logd *ld, struct err *e);
/* `logd ctl ...`: argv[0] is "ctl". Returns the exit status. */
int ctl_main(int argc, char **argv);
void ctl_accept(struct logd *ld);
/* Remove the socket file at shutdown. */
void ctl_unlink(struct logd *ld);
/* Answer a deferred command on `fd` and close it: "error: ..." when
 * `error` is set, else "ok" and the partitions as `topics` lists them. */
void ctl_reply(struct logd *ld, int fd, bool json, const char *error);

#endif
