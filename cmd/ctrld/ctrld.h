/* SPDX-License-Identifier: MIT */
/*
 * ctrld internals (docs/cluster-protocol.md, "Controller"). ctrld.c parses
 * the command line; ctrld_run.c starts the daemon; ctrld_mlog.c is the
 * metadata log; ctrld_state.c the partition state machine (liveness,
 * elections, ISR changes, controlled shutdown, rebalance) and
 * ctrld_topics.c topic creation and `apply`, both pure functions on
 * struct ctrld_state that queue metadata records; ctrld_server.c the event
 * loop and ctrld_api.c the request handlers; ctrld_client.c,
 * ctrld_status.c and ctrld_apply.c the operator commands.
 */
#ifndef KLOG_CTRLD_H
#define KLOG_CTRLD_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "ctlproto.h"
#include "err.h"
#include "manifest.h"
#include "net.h"
#include "proto.h"

#define CTRLD_LOG_NAME "metadata.log"
#define CTRLD_LOCK_NAME ".lock"
#define CTRLD_JSON_VERSION 1
#define CTRLD_OFFSETS_TOPIC "__consumer_offsets"
#define CTRLD_TIMEOUT_MS 5000		/* status and apply */
#define CTRLD_SNAPSHOT_MIN (1u << 20)	/* rewrite threshold floor */
#define CTRLD_MAX_REQUEST (16 << 20)	/* largest request frame accepted */

#define CTRLD_HOST_TIMEOUT_MS 60000	/* host commands: per remote step */
#define CTRLD_CONNECT_TIMEOUT_MS 10000
#define CTRLD_ROLLING_WAIT_MS 300000
#define CTRLD_JOBS 10
#define CTRLD_LOG_LINES 100
#define CTRLD_MAX_SELECTED 1024		/* -b ids */

enum ctrld_cmd {
	CTRLD_RUN,
	CTRLD_STATUS,
	CTRLD_APPLY,
	CTRLD_DEPLOY,
	CTRLD_UP,
	CTRLD_DOWN,
	CTRLD_RESTART,
	CTRLD_HOSTS,
	CTRLD_LOGS
};

struct ctrld_opts {
	enum ctrld_cmd cmd;
	const char *manifest_path;	/* -m */
	const char *listen;		/* run -l: overrides controller host:port */
	const char *data_dir;		/* run -d: overrides controller.data_dir */
	const char *controller;		/* status, apply -c: controller address */
	const char *addr_file;		/* run --addr-file */
	int ready_fd;			/* run --ready-fd, -1 */
	int verbosity;
	bool log_timestamps;
	bool check_only;		/* run -n */
	bool json;			/* status, apply -J */
	bool execute;			/* apply -e */
	int64_t timeout_ms;		/* status, apply -t; host commands */
	bool timeout_set;
	uint64_t snapshot_min;		/* run --snapshot-min */
	/* Host commands (docs/ssh-management.md). */
	int32_t brokers[CTRLD_MAX_SELECTED];	/* -b */
	size_t nbrokers;
	int jobs;			/* -j */
	const char *bin_dir;		/* deploy --bin-dir */
	bool force;			/* down, restart --force */
	bool rolling;			/* restart --rolling */
	int64_t wait_ms;		/* restart --rolling --wait */
	int64_t lines;			/* logs -n */
	bool follow;			/* logs -f */
	const char *process;		/* logs --process */
	const char *ssh_config;		/* -F */
	const char *known_hosts;	/* --known-hosts */
	bool accept_new_host_keys;
	int64_t connect_timeout_ms;	/* --connect-timeout */
	bool connect_timeout_set;
};

/* ------------------------------------------------------------------ */
/* Metadata log (ctrld_mlog.c)                                        */

/*
 * Record: length u32 (of type + body), crc32c u32 (of type + body),
 * type i16, body. Bodies:
 *   EPOCH      controller_epoch i32
 *   BROKER     id i32, alive bool, incarnation i64
 *   TOPIC      a ClusterState Topic (ctlproto_write_topic): full state
 *   PARTITION  topic string, a ClusterState Partition
 */
enum mlog_type {
	MLOG_EPOCH = 1,
	MLOG_BROKER = 2,
	MLOG_TOPIC = 3,
	MLOG_PARTITION = 4
};

#define MLOG_HEADER 10			/* length, crc, type */
#define MLOG_RECORD_MAX (64u << 20)	/* a longer length is corruption */

struct mlog {
	char path[PATH_MAX];
	int fd;
	int lock_fd;
	uint64_t size;			/* bytes of valid records */
	uint64_t base_size;		/* size after the last rewrite or replay */
	uint64_t snapshot_min;
};

/* Called for each valid record in order; -1 (with e) stops the replay. */
typedef int (*mlog_replay_fn)(void *arg, int16_t type, struct breader *body,
    uint64_t offset, struct err *e);

/*
 * Create `dir` when missing, lock <dir>/.lock (EXIT_TEMPFAIL when another
 * ctrld holds it) and open <dir>/metadata.log, creating it empty.
 */
int mlog_open(struct mlog *l, const char *dir, uint64_t snapshot_min,
    struct err *e);
/*
 * Read every record, checking lengths and CRCs; a torn or corrupt tail is
 * cut off (the file truncated there) with a warning naming the file and
 * offset. *nrecords gets the number of records replayed.
 */
int mlog_replay(struct mlog *l, mlog_replay_fn fn, void *arg,
    size_t *nrecords, struct err *e);
/* Append framed records and fdatasync before returning. */
int mlog_append(struct mlog *l, const struct buf *records, struct err *e);
/* True when the log has grown enough to be worth rewriting. */
bool mlog_wants_rewrite(const struct mlog *l);
/* Replace the log with `records` (temp file, fsync, rename, dir fsync). */
int mlog_rewrite(struct mlog *l, const struct buf *records, struct err *e);
void mlog_close(struct mlog *l);

/* Frame a record: begin reserves the header, end fills it in. */
size_t mlog_rec_begin(struct buf *b);
void mlog_rec_end(struct buf *b, size_t start, enum mlog_type type);

/* ------------------------------------------------------------------ */
/* State machine (ctrld_state.c, ctrld_topics.c)                      */

/* What ctrld knows of a broker beyond ClusterState (not all persisted). */
struct ctrld_broker {
	int32_t id;
	int64_t incarnation;		/* registered one; 0: none (persisted) */
	int64_t old_incarnations[4];	/* refused with STALE_BROKER_EPOCH */
	int64_t last_hb_ms;		/* monotonic; ctrld's start until heard */
	bool heard;			/* a heartbeat arrived in this run */
	bool shutting_down;		/* not electable until it restarts */
};

struct ctrld_state {
	struct cluster_state cs;	/* brokers in manifest order */
	struct ctrld_broker *rt;	/* parallel to cs.brokers */
	const struct manifest *m;
	int32_t controller_epoch;
	int32_t topics_created;		/* rotates assignment start positions */
	struct buf pending;		/* framed records not yet in the log */
	int32_t npending;
};

/* Brokers from the manifest, all alive (until replay says otherwise). */
void cst_init(struct ctrld_state *s, const struct manifest *m, int64_t now);
void cst_release(struct ctrld_state *s);
/* mlog_replay_fn applying one record (arg is the ctrld_state). */
int cst_replay_record(void *arg, int16_t type, struct breader *body,
    uint64_t offset, struct err *e);
/* A new controller epoch (queued) and version epoch << 32. */
void cst_start_epoch(struct ctrld_state *s);
/* Every record needed to rebuild the current state (for a rewrite). */
void cst_snapshot(const struct ctrld_state *s, struct buf *out);
/* The queued records are durable: count them into the version. */
void cst_committed(struct ctrld_state *s);

/*
 * Request handlers: validate, change the state, queue records, and
 * return a Kafka error code with `msg` (CTLPROTO_MSG_MAX) saying why.
 */
int16_t cst_heartbeat(struct ctrld_state *s, const struct ctl_heartbeat_req *q,
    int64_t now, char *msg);
/* Fills out->results (malloc'd; the caller frees them). */
int16_t cst_alter_isr(struct ctrld_state *s, const struct ctl_alter_isr_req *q,
    struct ctl_alter_isr_resp *out);
int16_t cst_controlled_shutdown(struct ctrld_state *s,
    const struct ctl_shutdown_req *q, int32_t *remaining, char *msg);
/* Declare brokers silent for session_timeout_ms dead. */
void cst_check_sessions(struct ctrld_state *s, int64_t now);
/* Give leadership back to preferred replicas that are in the ISR. */
void cst_rebalance(struct ctrld_state *s);
/* Milliseconds since broker i's last heartbeat in this run, or -1. */
int64_t cst_heartbeat_age(const struct ctrld_state *s, int32_t i,
    int64_t now);
int32_t cst_leaderships(const struct ctrld_state *s, int32_t broker);

/* Queue a topic's full state; insert or replace one (taking ownership). */
void cst_queue_topic(struct ctrld_state *s, const struct cluster_topic *t);
void cst_put_topic(struct ctrld_state *s, struct cluster_topic *t);
/* "1,2,3" */
void cst_format_ids(const int32_t *v, int32_t n, char *dst, size_t size);

/* ctrld_topics.c */
/* Create the manifest's topics and __consumer_offsets (empty log). */
void cst_bootstrap(struct ctrld_state *s);
/*
 * Compare requested topics with the state; unless q->dry_run, create
 * topics, add partitions and set configs. out->actions is malloc'd
 * (release with ctlproto_release_apply_resp).
 */
void cst_apply(struct ctrld_state *s, const struct ctl_apply_req *q,
    struct ctl_apply_resp *out);
/* The ApplyTopics request that says "what the manifest says". */
void ctrld_manifest_request(const struct manifest *m, bool dry_run,
    struct ctl_apply_req *out);

/* ------------------------------------------------------------------ */
/* Daemon (ctrld_run.c, ctrld_server.c, ctrld_api.c)                  */

enum ctrld_handled {
	CTRLD_DONE,		/* a response was appended */
	CTRLD_PARK,		/* hold the request; re-run later */
	CTRLD_CLOSE		/* malformed: close the connection */
};

struct ctrld_conn {
	struct ctrld_conn *next, *prev;
	int fd;
	char peer[NET_ADDR_MAX];
	struct buf in;
	size_t in_off;
	struct buf out;
	size_t out_off;
	bool parked;
	int64_t park_deadline_ms;
	bool want_write;
	bool peer_closed;
};

struct ctrld {
	const struct ctrld_opts *o;
	struct manifest *m;
	struct ctrld_state st;
	struct mlog log;
	int epfd;
	int listen_fd;
	char bound[NET_ADDR_MAX];
	struct ctrld_conn *conns;
	size_t nconns;
	int64_t next_session_check_ms;
	int64_t next_rebalance_ms;
	bool changed;			/* committed since parked ones ran */
	bool stopping;
};

int ctrld_run(const struct ctrld_opts *o);
int ctrld_serve(struct ctrld *c, volatile sig_atomic_t *stop, struct err *e);
/* Make queued records durable and tell parked heartbeats; exits on I/O errors. */
void ctrld_commit(struct ctrld *c);
/*
 * Run one request (header already read) and append the response frame to
 * `out`. `final` forbids parking (deadline passed or shutting down).
 */
enum ctrld_handled ctrld_dispatch(struct ctrld *c, struct ctrld_conn *conn,
    const struct proto_req_header *h, struct breader *body, int64_t now,
    bool final, struct buf *out);

/* ------------------------------------------------------------------ */
/* Operator commands (ctrld_client.c, ctrld_status.c, ctrld_apply.c)  */

/*
 * The controller address: -c, else the manifest's controller.host:port
 * (the manifest is loaded into *m when given; NULL otherwise).
 */
int ctrld_client_target(const struct ctrld_opts *o, struct manifest **m,
    char *addr, size_t addr_size, struct err *e);
/*
 * One blocking request: connect (EXIT_UNAVAILABLE naming `addr`), send,
 * and read the response body after the correlation id into `resp`, all
 * within timeout_ms. EXIT_PROTOCOL for a malformed answer.
 */
int ctrld_call(const char *addr, int16_t api_key, const struct buf *body,
    int64_t timeout_ms, struct buf *resp, struct err *e);
int ctrld_status(const struct ctrld_opts *o);
int ctrld_apply(const struct ctrld_opts *o);

/* Host commands over SSH (ctrld_deploy.c, ctrld_procs.c, ctrld_hosts.c,
 * ctrld_logs.c; the shared machinery in ctrld_fleet.[ch]). */
int ctrld_deploy(const struct ctrld_opts *o);
int ctrld_procs(const struct ctrld_opts *o);	/* up, down, restart */
int ctrld_hosts(const struct ctrld_opts *o);
int ctrld_logs(const struct ctrld_opts *o);

#endif
