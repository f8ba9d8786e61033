/* SPDX-License-Identifier: MIT */
/*
 * kcons internals shared by its files: the options, the offset grammar,
 * the per-partition consume state, the compiled output format and the
 * stdout writer. One thread drives everything from kcl_poll(); fetch
 * callbacks queue the next Fetch at once, then keep the record bytes they
 * received for printing while that Fetch is on its way (pipelining
 * without a second thread). Standalone, the callback that the main loop's
 * kcl_poll() runs prints them straight from the response; otherwise (group
 * mode, or a callback run by another wait) it copies them into `pending`
 * and the main loop formats them. Group
 * mode adds one thread, the heartbeat thread (kcons_heartbeat.c), which
 * shares nothing with this one but a small locked struct.
 *
 * Offsets: for each partition `fetch_offset` is where the next Fetch
 * starts (past every complete batch already received) and `out_offset`
 * the next record to print. Records below out_offset are dropped, so a
 * reconnect or a refetch never prints a record twice.
 */
#ifndef KCONS_H
#define KCONS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "kconf.h"
#include "proto.h"
#include "record.h"

/* Set by SIGINT/SIGTERM: stop cleanly at the next chance. */
extern volatile sig_atomic_t kc_signalled;

enum kc_start {
	KC_START_BEGINNING = 0,	/* the log start offset */
	KC_START_END,		/* the high watermark: new records only */
	KC_START_OFFSET,	/* an absolute offset */
	KC_START_TAIL,		/* -N: N records before the end */
	KC_START_SKIP,		/* +N: N records after the start */
	KC_START_TIME,		/* first record with timestamp >= value */
	KC_START_STORED		/* -o stored: the group's committed offset */
};

enum kc_stop {
	KC_STOP_NONE = 0,
	KC_STOP_END,		/* the end when kcons started (:end, -e) */
	KC_STOP_OFFSET,		/* before this offset */
	KC_STOP_TIME		/* at the first record with ts >= value */
};

/* -o, possibly given twice (a start and a stop: -o s@T1 -o e@T2). */
struct kc_offset_spec {
	enum kc_start start;
	int64_t start_value;
	bool start_set;
	enum kc_stop stop;
	int64_t stop_value;
	bool stop_set;
};

enum kc_reset {
	KC_RESET_ERROR = 0,	/* auto.offset.reset=error (default) */
	KC_RESET_EARLIEST,
	KC_RESET_LATEST
};

struct kc_opts {
	const char *brokers;		/* -b, else KLOG_BROKERS, else config */
	const char *config_file;	/* -F */
	struct kconf conf;		/* -X and the config file */
	bool conf_dump;			/* -X dump */
	char **topics;			/* -t, deduplicated, in order given */
	size_t ntopics;
	int32_t *partitions;		/* -p, deduplicated; NULL: all */
	size_t npartitions;
	struct kc_offset_spec offset;	/* -o */
	bool exit_at_end;		/* -e */
	uint64_t count;			/* -c; 0: no limit */
	const char *format;		/* -f */
	bool json;			/* -J */
	struct buf delim;		/* -D or -0, escapes decoded */
	bool delim_set;
	struct buf key_delim;		/* -K */
	bool key_delim_set;
	bool null_literal;		/* -Z: NULL shows as "NULL" */
	bool unbuffered;		/* -u */
	int64_t idle_ms;		/* -i; 0: none */
	int64_t timeout_ms;		/* -m; 0: wait forever */
	int verbose;
	bool quiet;
	const char *group;		/* -G: consumer-group mode */
	const char *assignor;		/* -a: "range,roundrobin" */
	bool commit_before;		/* -B: at-most-once */
};

/* Settings from -X / the config file, read once. */
struct kc_settings {
	int32_t fetch_wait_ms;		/* fetch.wait.max.ms */
	int32_t fetch_min_bytes;	/* fetch.min.bytes */
	int32_t fetch_max_bytes;	/* fetch.max.bytes */
	int32_t part_max_bytes;		/* max.partition.fetch.bytes */
	enum kc_reset reset;		/* auto.offset.reset */
	bool check_crcs;		/* check.crcs */
	int32_t backoff_ms;		/* retry.backoff.ms */
	int32_t backoff_max_ms;		/* retry.backoff.max.ms */
};

enum kc_part_state {
	KC_P_RESOLVE = 0,	/* start offset not known yet */
	KC_P_ACTIVE,		/* fetching */
	KC_P_RESET,		/* out of range: asking ListOffsets again */
	KC_P_DONE,		/* stop reached, or nothing to read */
	KC_P_IDLE		/* group mode: not assigned to us */
};

struct kc;

struct kc_part {
	struct kc *kc;
	const char *topic;		/* borrowed from the options */
	int32_t id;
	int32_t leader;			/* broker id; -1 while unknown */
	int32_t leader_epoch;
	enum kc_part_state state;
	bool inflight;			/* in a Fetch being answered */
	bool reset_inflight;		/* a ListOffsets for the reset is out */
	bool need_leader;		/* the leader moved or is unknown */
	uint32_t gen;			/* bumped on reset: drops stale data */
	int64_t fetch_offset;
	int64_t out_offset;
	int64_t end;			/* stop before this offset; INT64_MAX */
	int64_t stop_ts;		/* stop at this timestamp; INT64_MAX */
	int64_t high_watermark;		/* from the last Fetch; -1 unknown */
	int32_t max_bytes;		/* grows for batches larger */
	/* ListOffsets answers while resolving (-1: not asked or none) */
	int64_t q_earliest, q_latest, q_time;
	int16_t q_error;
	uint64_t records;		/* printed from this partition */
	/*
	 * Group mode: the group's committed offset when assigned (-1: none),
	 * the next offset whose record is known written to stdout, and the
	 * last offset this member committed (never committed lower).
	 */
	int64_t committed;
	int64_t written;
	int64_t commit_done;
	bool fresh;			/* assigned by this rebalance */
};

/* One broker we fetch from; a Fetch in flight lists its partitions. */
struct kc_leader {
	struct kc *kc;
	int32_t id;
	bool inflight;
	size_t *parts;			/* indexes into kc->parts */
	size_t nparts;
	size_t rotate;			/* first partition of the next Fetch */
	int64_t retry_at;		/* monotonic ms; 0: now */
	int32_t backoff_ms;
};

/*
 * Record bytes received and not printed yet: pending[off, off + len), or
 * data[0, len) when `data` is set (borrowed from a Fetch response, valid
 * only during its callback).
 */
struct kc_chunk {
	struct kc_part *p;
	uint32_t gen;
	const uint8_t *data;
	size_t off;
	size_t len;
};

/* Compiled -f / default / --json output. */
enum kc_tok {
	KC_TOK_LIT = 0,
	KC_TOK_VALUE,
	KC_TOK_KEY,
	KC_TOK_VALUE_LEN,
	KC_TOK_KEY_LEN,
	KC_TOK_VALUE_LEN_BE32,
	KC_TOK_TOPIC,
	KC_TOK_PARTITION,
	KC_TOK_OFFSET,
	KC_TOK_TIMESTAMP,
	KC_TOK_TIME,			/* %T{...}: formatted timestamp */
	KC_TOK_HEADERS
};

enum kc_enc {
	KC_ENC_RAW = 0,
	KC_ENC_HEX,
	KC_ENC_BASE64,
	KC_ENC_JSON
};

struct kc_op {
	enum kc_tok tok;
	enum kc_enc enc;
	size_t off, len;		/* literal bytes in fmt->lits */
	char *tfmt;			/* KC_TOK_TIME: strftime format */
	bool iso;			/* KC_TOK_TIME: ISO 8601 with ms, UTC */
	bool local;			/* KC_TOK_TIME: local time zone */
	int64_t cache_sec;		/* last second formatted */
	char cache[128];
	size_t cache_len;
};

struct kc_fmt {
	struct kc_op *ops;
	size_t nops;
	struct buf lits;
	bool json;
	bool value_only;		/* fast path: value then a literal */
	const char *null_str;		/* for null bytes: "" or "NULL" */
	size_t null_len;
};

enum kc_out_mode {
	KC_OUT_FULL = 0,		/* write when full or idle */
	KC_OUT_RECORD			/* write after every record (tty, -u) */
};

struct kc_out {
	int fd;
	struct buf b;
	size_t flush_at;
	enum kc_out_mode mode;
	bool closed;			/* EPIPE: the reader went away */
	bool failed;			/* another write error (exit 74) */
	bool hold;			/* records only buffer: no flush */
	void (*on_write)(void *arg);	/* after each write that moved bytes */
	void *on_write_arg;
};

struct kc_topic {
	const char *name;		/* borrowed from the options */
	int32_t npartitions;
	int32_t *map;			/* partition id -> parts index, -1 */
};

struct kc_group;
struct lo_req;

struct kc {
	const struct kc_opts *o;
	struct kc_group *g;		/* group mode state; NULL standalone */
	struct kc_settings s;
	struct kcl_config cfg;		/* what kcl_new() was given */
	struct kcl *k;
	struct kc_topic *topics;
	size_t ntopics;
	struct kc_part *parts;
	size_t nparts;
	struct kc_leader **leaders;
	size_t nleaders;
	struct buf pending;
	struct kc_chunk *chunks;
	size_t nchunks, capchunks;
	bool borrow;			/* fetch callbacks may print in place */
	struct rec_iter it;
	struct kc_fmt fmt;
	struct kc_out out;
	uint64_t records_out;
	uint64_t bytes_out;
	bool stop;			/* a limit, EPIPE, signal or error */
	struct err fail;		/* first fatal error (code 0: none) */
	bool need_metadata;
	int64_t metadata_at;		/* monotonic ms of the next refresh */
	int32_t metadata_backoff_ms;
	int64_t trouble_since;		/* monotonic ms; 0: all is well */
	struct err trouble;		/* what went wrong most recently */
	int64_t last_record_ms;		/* monotonic: for -i */
	struct lo_req *lo_abandoned;	/* kcons_offsets.c's, after a signal */
};

/*
 * kcons.c: kc_fail() records the first fatal error and stops; kc_trouble()
 * notes a problem kcons retries (warned once per outage; -m counts from
 * its start).
 */
void kc_fail(struct kc *kc, const struct err *e);
void kc_trouble(struct kc *kc, const struct err *e);

/*
 * kcons_spec.c: parse one -o argument into spec (a start, a stop or
 * both); EXIT_USAGE naming what is wrong. kc_time_parse reads one TIME
 * and sets *end past it.
 */
int kc_offset_parse(struct kc_offset_spec *spec, const char *arg,
    int64_t now_ms, struct err *e);
int kc_time_parse(const char *s, int64_t now_ms, int64_t *out,
    const char **end, struct err *e);

/*
 * kcons_offsets.c: the start (and -e end) of every partition, waiting up
 * to -m for leaders; a reset query for one partition on connection c;
 * leaders from fresh metadata (EXIT_NOUSER when a topic is gone);
 * kc_offsets_release() frees queries abandoned on a signal (after the
 * client stopped polling).
 */
int kc_resolve_offsets(struct kc *kc, struct err *e);
void kc_offsets_release(struct kc *kc);
void kc_reset_send(struct kc *kc, struct kc_part *p, struct kcl_conn *c);
int kc_refresh_metadata(struct kc *kc, struct err *e);

/*
 * kcons_fetch.c: consume until every partition is done, a limit, a
 * closed stdout, a signal or an error (then kc->fail says which); the
 * leader entry for a broker id (created on first use); the partition
 * of a (topic, id) from a response, or NULL when it is not ours.
 */
int kc_consume(struct kc *kc);
struct kc_leader *kc_leader_get(struct kc *kc, int32_t id);
struct kc_part *kc_part_find(struct kc *kc, struct proto_str topic,
    int32_t id);

/*
 * kcons_group.c, kcons_coord.c: consumer-group mode (every partition
 * is KC_P_IDLE until assigned). kc_group_new() reads -a and the group
 * settings (EXIT_USAGE, EXIT_CONFIG); kc_group_tick() runs from the
 * consume loop (joins, rebalances, what the heartbeat thread reported,
 * periodic commits; false when kcons must stop); kc_group_poll_ms()
 * caps the loop's wait and kc_group_poll_fd() (-1: none) is a pipe to
 * poll that wakes it when the heartbeat thread has news;
 * kc_group_written() notes that everything printed so far reached
 * stdout; kc_group_lost() says the partitions are no longer ours (the
 * membership is gone: print nothing more); kc_group_alive() tells the
 * heartbeat thread the main thread is not stuck (it waits on brokers,
 * not on stdout; a no-op outside group mode); kc_group_before_print()
 * commits ahead of printing for --commit-before (false: do not print);
 * kc_group_finish() stops the heartbeat thread, commits and leaves the
 * group; kc_group_free().
 */
int kc_group_new(struct kc *kc, struct err *e);
bool kc_group_tick(struct kc *kc, int64_t now);
int64_t kc_group_poll_ms(const struct kc *kc, int64_t now);
int kc_group_poll_fd(const struct kc *kc);
void kc_group_written(struct kc *kc);
bool kc_group_before_print(struct kc *kc);
bool kc_group_assigned(const struct kc *kc);
bool kc_group_lost(const struct kc *kc);
void kc_group_alive(struct kc *kc);
void kc_group_finish(struct kc *kc);
void kc_group_free(struct kc *kc);

/* kcons_fetch.c: print every record fetched so far. */
void kc_drain_pending(struct kc *kc);

/*
 * kcons_format.c: compile -f (or the default, or -J) once, EXIT_USAGE on
 * a bad format; format one record into kc->out, writing it out as the
 * output mode says (-1 when kcons must stop); decode \n \t \xNN ... of
 * -D and -K. The writer: kc_out_flush() writes everything buffered and
 * returns -1 after EPIPE (o->closed) or another error (o->failed, logged);
 * kc_out_flush_ready() writes only what stdout takes without blocking
 * and keeps the rest (the same return values).
 */
int kc_fmt_compile(struct kc_fmt *f, const struct kc_opts *o,
    struct err *e);
void kc_fmt_release(struct kc_fmt *f);
int kc_fmt_record(struct kc *kc, const struct kc_part *p,
    const struct rec_batch *b, const struct rec_record *r);
int kc_unescape(const char *s, struct buf *out, struct err *e);

void kc_out_init(struct kc_out *o, int fd, bool unbuffered);
void kc_out_release(struct kc_out *o);
int kc_out_flush(struct kc_out *o);
int kc_out_flush_ready(struct kc_out *o);

#endif
