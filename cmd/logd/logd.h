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
	struct tconf topic_defaults;	/* broker-level topic defaults */
};

/* Command-line options; everything else comes from logd_config. */
struct logd_opts {
	const char *config_path;
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
struct producer_entry;

/* The idempotent producers of one partition (logd_producers.c). */
struct producer_table {
	struct producer_entry *slots;	/* open addressing; NULL when empty */
	uint32_t cap;			/* a power of two, or 0 */
	uint32_t count;
};

struct partition {
	struct topic *topic;
	int32_t id;
	struct plog *log;
	int32_t leader_epoch;
	int64_t high_watermark;
	struct producer_table producers;
};

struct topic {
	char *name;
	int32_t npartitions;
	struct partition **parts;
	struct tconf conf;		/* this topic's overrides */
	bool internal;
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
	struct conn *park_next;
	bool want_write;		/* EPOLLOUT registered */
	bool read_paused;		/* back-pressure: EPOLLIN removed */
	bool peer_closed;		/* EOF read: answer what came, then close */
	char *park_member;		/* the group member a parked request is */
	bool closing;
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
	char bound_addr[NET_ADDR_MAX];
	struct conn *conns;
	size_t nconns;
	struct conn *parked;
	bool appended;			/* data arrived: re-check parked fetches */
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
/* Recompute a partition's log settings after a config change. */
void partition_apply_config(struct logd *ld, struct partition *p);
void topics_run_retention(struct logd *ld, int64_t now_ms);
/* Compact every compacted topic's partitions that are dirty enough. */
void topics_run_compaction(struct logd *ld, int64_t now_ms);
void topics_flush_due(struct logd *ld, int64_t now_ms);
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
/* Value of `key=` in properties text, copied to dst; false if absent. */
bool store_prop_get(const char *text, const char *key, char *dst,
    size_t size);

/* logd_ctl.c: the admin socket */
int ctl_listen(struct logd *ld, struct err *e);
/* `logd ctl ...`: argv[0] is "ctl". Returns the exit status. */
int ctl_main(int argc, char **argv);
void ctl_accept(struct logd *ld);
/* Remove the socket file at shutdown. */
void ctl_unlink(struct logd *ld);

#endif
