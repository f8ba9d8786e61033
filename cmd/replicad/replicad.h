/* SPDX-License-Identifier: MIT */
/*
 * replicad: the follower side of replication, one per broker host beside
 * its logd. It learns the partitions its broker follows from the local
 * logd (ReplicaState on <data_dir>/replica.sock), fetches them from each
 * leader's logd (Fetch v11 with replica_id = its broker id), and appends
 * the batches unchanged through ReplicaAppend. After every leader or epoch
 * change it asks the leader OffsetForLeaderEpoch and truncates the local
 * log to the divergence point first (KIP-101/279).
 *
 * One thread, one poll loop (replicad_loop.c): the long poll on the local
 * logd and one connection per leader are non-blocking; ReplicaAppend and
 * ReplicaTruncate are quick local calls made synchronously on a second
 * local connection, so a partition's state never changes under a request.
 *
 * Files: replicad.c (main, commands), replicad_conn.c (a framed Kafka
 * connection), replicad_local.c (replica.sock), replicad_parts.c
 * (partition and leader tables, back-off), replicad_epoch.c (truncation),
 * replicad_fetch.c (Fetch), replicad_loop.c (the daemon), replicad_ctl.c
 * (the admin socket and `replicad status`).
 */
#ifndef KLOG_REPLICAD_H
#define KLOG_REPLICAD_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "ctlproto.h"
#include "err.h"

#define RD_CLIENT_ID "replicad"
#define RD_REPLICA_SOCKET "replica.sock"	/* the local logd's */
#define RD_CTL_SOCKET "replicad.sock"		/* ours */

#define RD_STATE_WAIT_MS 1000		/* ReplicaState long poll */
#define RD_FETCH_WAIT_MS 500		/* Fetch max_wait_ms */
#define RD_FETCH_MAX_BYTES (8 << 20)
#define RD_PART_MAX_BYTES (1 << 20)
#define RD_REQUEST_TIMEOUT_MS 30000	/* leader requests, local calls */
#define RD_CONNECT_TIMEOUT_MS 5000
#define RD_BACKOFF_MIN_MS 100
#define RD_BACKOFF_MAX_MS 5000
#define RD_TRUNCATE_ROUNDS_MAX 64	/* OffsetForLeaderEpoch rounds */
#define RD_ERROR_MAX 1024		/* room for a struct err and a name */
#define RD_NAME_MAX 320

/* Fetch v11 and OffsetForLeaderEpoch v3: the non-flexible versions. */
#define RD_FETCH_VERSION 11
#define RD_EPOCH_VERSION 3

/* ------------------------------------------------------------------ */
/* Command line                                                       */

enum rd_command {
	RD_CMD_RUN,
	RD_CMD_STATUS
};

struct rd_opts {
	enum rd_command command;
	const char *data_dir;		/* -d */
	const char *manifest;		/* -m */
	int32_t broker_id;		/* -i; -1 when not given */
	const char *source_addr;	/* -s; the manifest host with -m */
	bool json;			/* status -j */
	bool check_only;		/* run -n */
	bool log_timestamps;
	int verbosity;			/* enum log_level */
	int ready_fd;			/* -1: none */
};

/* ------------------------------------------------------------------ */
/* A framed Kafka connection (replicad_conn.c)                        */

/*
 * A request's outcome: `body` reads the response body after the
 * correlation id (valid only during the call), or `failure` says why
 * there is none (the connection was lost, timed out or sent garbage).
 */
typedef void (*rconn_cb)(void *arg, struct breader *body,
    const struct err *failure);

struct rcall {
	int32_t corr;
	rconn_cb cb;
	void *arg;
	int64_t deadline;		/* monotonic ms */
};

struct rconn {
	char name[RD_NAME_MAX];		/* for messages: "broker 2 (h:p)" */
	int fd;				/* -1: closed */
	bool connecting;		/* a TCP connect in progress */
	int64_t connect_deadline;
	struct buf out;
	size_t out_sent;
	struct buf in;
	size_t in_off;
	struct rcall *q;		/* requests in flight, oldest first */
	size_t qhead, qlen, qcap;
	int32_t next_corr;
	size_t req_start;		/* the request being built */
	bool building;
	bool failed;			/* closed by a failure not yet taken */
	struct err failure;
};

void rconn_init(struct rconn *c, const char *name);
/* Set the name messages use (cut to fit). */
void rconn_set_name(struct rconn *c, const char *name);
/* Close without running callbacks and free the buffers. */
void rconn_release(struct rconn *c);
/* Close, failing every request in flight with `why` (callbacks run). */
void rconn_close(struct rconn *c, const struct err *why);
/* Connect to a Unix socket (at once). EXIT_UNAVAILABLE naming `path`. */
int rconn_open_unix(struct rconn *c, const char *path, struct err *e);
/*
 * Start a non-blocking TCP connect to host:port, from `source` (a local
 * address to bind, or NULL). Completion or failure comes through
 * rconn_io(); a failure to start is returned (EXIT_UNAVAILABLE,
 * EXIT_NOHOST).
 */
int rconn_open_tcp(struct rconn *c, const char *host, int32_t port,
    const char *source, struct err *e);
bool rconn_is_open(const struct rconn *c);
bool rconn_is_ready(const struct rconn *c);	/* open and connected */
size_t rconn_inflight(const struct rconn *c);
/*
 * The failure that closed the connection since the last call, if any:
 * true once per failure, with `out` filled.
 */
bool rconn_take_failure(struct rconn *c, struct err *out);

/* Build a request: write the body into the returned buffer, then send. */
struct buf *rconn_begin(struct rconn *c, int16_t api_key, int16_t version);
int rconn_send(struct rconn *c, rconn_cb cb, void *arg, int timeout_ms,
    struct err *e);
/*
 * Send the request being built and wait for its answer (this connection
 * only); the body is copied into `resp`. -1 with `e` set when the
 * connection fails (it is then closed) or the wait times out.
 */
int rconn_call(struct rconn *c, int timeout_ms, struct buf *resp,
    struct err *e);

/* poll(2) events wanted (0 when closed), and the I/O for `revents`. */
short rconn_events(const struct rconn *c);
void rconn_io(struct rconn *c, short revents);
/* Fail the connection when its oldest request or connect is overdue. */
void rconn_expire(struct rconn *c, int64_t now);
/* The earliest deadline (request or connect), INT64_MAX when none. */
int64_t rconn_deadline(const struct rconn *c);

/* ------------------------------------------------------------------ */
/* Partitions and leaders (replicad_parts.c)                          */

/* Exponential back-off, RD_BACKOFF_MIN_MS doubling to RD_BACKOFF_MAX_MS. */
struct rd_backoff {
	int ms;				/* 0: not backing off */
	int64_t retry_at;		/* monotonic ms */
};

enum rd_pstate {
	RD_P_TRUNCATING,	/* OffsetForLeaderEpoch before fetching */
	RD_P_FETCHING,
	RD_P_BACKOFF,		/* an error: retry at backoff.retry_at */
	RD_P_WAITING,		/* fenced: wait for a fresh ReplicaState */
	RD_P_NO_LEADER		/* the partition is offline */
};

struct rd_part {
	char topic[CTLPROTO_NAME_MAX + 1];
	int32_t partition;
	/* from ReplicaState */
	int32_t leader;
	char leader_host[CTLPROTO_HOST_MAX];
	int32_t leader_port;
	int32_t leader_epoch;
	/* the local log, as the last local answer said */
	int64_t log_start;
	int64_t leo;
	int64_t hw;
	/* the leader, as the last Fetch said (-1: not yet) */
	int64_t leader_hw;
	int64_t leader_log_start;
	int64_t hw_passed;		/* leader HW last given to logd */
	enum rd_pstate state;
	bool need_truncate;		/* OffsetForLeaderEpoch first */
	int truncate_rounds;
	bool stalled;			/* got part of a batch: fetch it first */
	bool seen;			/* in the latest ReplicaState */
	bool stale;			/* local logd reconnected: resync */
	uint64_t seq;			/* request it waits on; 0: none */
	int32_t asked_epoch;		/* leader_epoch in that request */
	struct rd_backoff backoff;
	uint64_t appended_batches;	/* since replicad started */
	char error[RD_ERROR_MAX];	/* "" while healthy */
};

struct replicad;

struct rd_leader {
	struct replicad *rd;
	int32_t id;
	char host[CTLPROTO_HOST_MAX];
	int32_t port;
	struct rconn conn;
	struct rd_backoff backoff;
	bool down_logged;		/* this outage was logged */
	bool used;			/* some partition follows it */
	uint64_t fetch_seq;		/* Fetch in flight; 0: none */
	uint64_t epoch_seq;		/* OffsetForLeaderEpoch in flight */
	size_t rr;			/* round-robin start of the next Fetch */
};

struct replicad {
	const struct rd_opts *opts;
	char data_dir[PATH_MAX];
	char sock_path[PATH_MAX];	/* the local logd's replica.sock */
	char ctl_path[PATH_MAX];	/* our replicad.sock */
	const char *source_addr;	/* bind leader connections here */
	int32_t broker_id;		/* from ReplicaState; -1 until known */
	int64_t version;		/* ReplicaState known; -1: none */
	struct rconn state_conn;	/* the ReplicaState long poll */
	struct rconn apply_conn;	/* ReplicaAppend, ReplicaTruncate */
	bool state_inflight;
	struct rd_backoff local_backoff;
	bool local_down_logged;
	char local_error[RD_ERROR_MAX];	/* "" while connected */
	struct rd_part **parts;		/* sorted by topic, partition */
	size_t nparts;
	struct rd_leader **leaders;
	size_t nleaders;
	uint64_t next_seq;
	int ctl_fd;
	struct buf req;			/* scratch for local requests */
	struct buf resp;
	int exit_code;			/* set with stop for a fatal error */
	volatile sig_atomic_t *stop;
};

void rd_backoff_reset(struct rd_backoff *b);
/* Double the delay (or start it) and set the retry time from `now`. */
void rd_backoff_step(struct rd_backoff *b, int64_t now);
bool rd_backoff_waiting(const struct rd_backoff *b, int64_t now);

const char *rd_pstate_name(enum rd_pstate s);
struct rd_part *rd_part_find(const struct replicad *rd, const char *topic,
    int32_t partition);
/* Sort the table after partitions were added. */
void rd_parts_sort(struct replicad *rd);
/* Drop the partitions not `seen` in the latest ReplicaState. */
void rd_parts_sweep(struct replicad *rd);
/* Whether `p` has a leader with an address to fetch from. */
bool rd_part_has_leader(const struct rd_part *p);
/* A fresh start for `p` (new leader or epoch): truncate, then fetch. */
void rd_part_restart(struct rd_part *p);
/*
 * Record an error on `p`: state BACKOFF or WAITING, the message, and the
 * next retry time; the error is logged at warning level when it differs
 * from the partition's current one (so a retry loop logs once).
 */
void rd_part_fail(struct rd_part *p, enum rd_pstate state, int64_t now,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The partition works again: clear its error and back-off. */
void rd_part_ok(struct rd_part *p);
/* Whether `p` may go into a request to its leader now. */
bool rd_part_eligible(const struct rd_part *p, int64_t now);

/* The leader with broker id `id` (created if needed; NULL when OOM). */
struct rd_leader *rd_leader_get(struct replicad *rd, int32_t id,
    const char *host, int32_t port);
struct rd_leader *rd_leader_find(const struct replicad *rd, int32_t id);
/* Close and free the leaders no partition follows any more. */
void rd_leaders_sweep(struct replicad *rd);
void rd_leader_free(struct rd_leader *l);
/*
 * The connection to `l` failed (or a request on it): log it once per
 * outage, back off, and put its partitions in back-off with the reason.
 */
void rd_leader_fail(struct rd_leader *l, const struct err *why, int64_t now);
/* A request to `l` succeeded: the outage (if any) is over. */
void rd_leader_ok(struct rd_leader *l);

/* A Kafka error code's name for messages ("UNKNOWN_ERROR" if unknown). */
const char *rd_error_name(int16_t code);

/* ------------------------------------------------------------------ */
/* The local logd (replicad_local.c)                                  */

/* Connect, reconnect after back-off, keep the ReplicaState poll going. */
void rd_local_tick(struct replicad *rd, int64_t now);
/* The local logd is gone: close, log once, back off, resync later. */
void rd_local_down(struct replicad *rd, const struct err *why, int64_t now);
/*
 * ReplicaAppend `len` bytes of whole batches (maybe none, to pass the
 * leader's high watermark on) for `p`. Updates the partition from the
 * answer and its state on refusals. 0 when appended; -1 otherwise.
 */
int rd_local_append(struct replicad *rd, struct rd_part *p,
    const uint8_t *records, size_t len, int64_t leader_hw, int64_t now);
/*
 * ReplicaTruncate `p` to `offset`, logged at info level with `why`.
 * 0 when done (p->leo updated); -1 with the partition's state set.
 */
int rd_local_truncate(struct replicad *rd, struct rd_part *p, int64_t offset,
    const char *why, int64_t now);

/* ------------------------------------------------------------------ */
/* Leaders: truncation (replicad_epoch.c) and fetching (replicad_fetch.c) */

/* Send OffsetForLeaderEpoch for `l`'s partitions that need it. */
void rd_epoch_send(struct replicad *rd, struct rd_leader *l, int64_t now);
/* Send a Fetch for `l`'s partitions that are fetching. */
void rd_fetch_send(struct replicad *rd, struct rd_leader *l, int64_t now);

/*
 * The shared steps of both requests (replicad_parts.c). A request's
 * `seq` marks the partitions it carries (rd_part.seq) and the request
 * itself (rd_leader.fetch_seq or epoch_seq).
 */

/* Writes one partition's fields of a request. */
typedef void (*rd_put_part_fn)(struct buf *b, const struct rd_part *p);
/*
 * Write parts[0..n) as a request's topics array: consecutive partitions
 * of one topic share its entry; `put` writes each partition's fields.
 */
void rd_put_topics(struct buf *b, struct rd_part **parts, size_t n,
    rd_put_part_fn put);
/*
 * Send the request built on `l`'s connection for parts[0..n), with `cb`
 * and a timeout of `timeout_ms`. Returns the request's new seq, set on
 * the partitions; 0 when it could not be sent (the leader then failed).
 */
uint64_t rd_leader_send(struct rd_leader *l, rconn_cb cb, int timeout_ms,
    struct rd_part **parts, size_t n, int64_t now);

/* Parses a leader's answer to request `seq`; -1 when it is malformed. */
typedef int (*rd_answer_fn)(struct replicad *rd, struct rd_leader *l,
    struct breader *r, uint64_t seq, int64_t now);
/*
 * `l` answered request `seq` with `body` (NULL: the request failed; the
 * loop takes the failure from the connection). `read` parses it; a
 * malformed answer closes the connection, naming the `api`. Partitions
 * the answer left out are freed to go into the next request.
 */
void rd_leader_answer(struct rd_leader *l, struct breader *body,
    uint64_t seq, rd_answer_fn read, const char *api);

/* ------------------------------------------------------------------ */
/* The daemon (replicad_loop.c) and the admin socket (replicad_ctl.c) */

/* Run until SIGTERM/SIGINT; the exit code. */
int rd_run(const struct rd_opts *o, const char *data_dir,
    const char *source_addr);

/* Listen on <data_dir>/replicad.sock (refusing a second replicad). */
int rd_ctl_listen(struct replicad *rd, struct err *e);
void rd_ctl_accept(struct replicad *rd);
void rd_ctl_close(struct replicad *rd);
/* `replicad status`: ask a running replicad; the exit code. */
int rd_status_main(const struct rd_opts *o, const char *data_dir);

#endif
