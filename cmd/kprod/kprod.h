/* SPDX-License-Identifier: MIT */
/*
 * kprod: the pipeline producer. Records come from stdin or files (split on
 * a delimiter, or as klog JSON envelopes), go into one open batch per
 * partition (rec_builder), are sealed into batches when full, flushed, or
 * lingered with a request slot free (else they keep growing), and leave in
 * Produce requests, one per broker carrying the ready batch of each of its
 * partitions, pipelined up to max.in.flight. A batch
 * lives until the broker acknowledges it or it fails for good; retries
 * resend the same bytes, so with idempotence a retry can never duplicate.
 *
 * Files: kprod.c (main, options), kprod_conf.c (client properties),
 * kprod_input.c (reading, splitting, JSON), kprod_part.c (partitioners),
 * kprod_batch.c (batches and their life), kprod_send.c (requests,
 * retries, idempotence), kprod_out.c (the -o report), kprod_run.c
 * (start-up, the event loop, signals, progress and the summary).
 */
#ifndef KPROD_H
#define KPROD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "compress.h"
#include "err.h"
#include "jsonparse.h"
#include "kconf.h"
#include "record.h"

#define KP_DELIM_MAX 32

enum kp_partitioner {
	KP_PART_MURMUR2,	/* Java's: murmur2 of keys, else sticky */
	KP_PART_CRC32,		/* librdkafka "consistent" */
	KP_PART_RANDOM,
	KP_PART_ROUNDROBIN
};

enum kp_idempotence {
	KP_IDEMP_OFF,
	KP_IDEMP_DEFAULT,	/* on when the broker can, else a warning */
	KP_IDEMP_REQUIRED	/* -X enable.idempotence=true */
};

/* Command-line options (kprod.c); the properties live in `conf`. */
struct kp_opts {
	const char *topic;
	const char *brokers;		/* -b */
	const char *config_file;	/* -F */
	const char *acks;		/* -a, applied over the properties */
	const char *compression;	/* -z */
	const char *partitioner;	/* -P */
	char **files;
	int nfiles;
	int32_t partition;		/* -p; -1: the partitioner decides */
	uint8_t delim[KP_DELIM_MAX];
	size_t delim_len;
	uint8_t key_delim[KP_DELIM_MAX];
	size_t key_delim_len;		/* 0: no key splitting */
	const char *key;		/* -k */
	const char *output;		/* -o: report format */
	struct rec_header *headers;	/* -H, in order */
	int32_t nheaders;
	bool null_empty;		/* -Z */
	bool json;			/* -J */
	bool whole_file;		/* -W */
	bool skip_bad;			/* -E skip */
	bool progress;			/* -s */
	bool quiet;
	bool dump;			/* -X dump */
	int verbose;
	uint64_t count;			/* -c; 0: no limit */
	int64_t flush_timeout_ms;	/* -w */
	int64_t metadata_timeout_ms;	/* -m */
	struct kconf conf;		/* -X and -F */
};

/* Effective settings, resolved from the properties (kprod_conf.c). */
struct kp_cfg {
	struct kcl_config client;
	int16_t acks;
	enum compress_codec codec;
	int level;
	size_t batch_size;
	int64_t batch_records;
	int64_t linger_ms;
	size_t buffer_bytes;
	int64_t buffer_records;
	int64_t retries;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	int64_t delivery_timeout_ms;
	int max_inflight;
	enum kp_idempotence idempotence;
	size_t max_request;
	bool auto_create;
	int64_t metadata_max_age_ms;
	enum kp_partitioner partitioner;
};

int kp_conf_resolve(struct kp_opts *o, struct kp_cfg *out, struct err *e);
/* -X list: every accepted property with its default and meaning. */
void kp_conf_list(void);
/* -X dump: the effective properties, defaults included. */
void kp_conf_dump(const struct kp_cfg *c);
extern const char *const kp_conf_keys[];
const char *kp_partitioner_name(enum kp_partitioner p);
int kp_partitioner_parse(const char *s, enum kp_partitioner *out);

/* One input record; every pointer borrows until the next record. */
struct kp_rec {
	struct rec_bytes key;
	struct rec_bytes value;
	const struct rec_header *headers;
	int32_t nheaders;
	int64_t timestamp;	/* when has_timestamp; else now */
	bool has_timestamp;
	int32_t partition;	/* -1: the partitioner decides */
	uint64_t recno;		/* 1-based line or record number */
};

struct kp_hdr_off;

struct kp_input {
	const struct kp_opts *o;
	int fd;			/* -1 when no file is open */
	int next_file;		/* index into o->files */
	const char *name;	/* for messages */
	bool is_tty;
	bool file_eof;		/* the current file hit its end */
	bool done;		/* every input is exhausted */
	uint8_t *buf;
	size_t cap, start, end, scan;
	size_t max_record;	/* longest record kept (message.max.bytes) */
	bool skipping;		/* dropping an oversized record */
	uint64_t recno;
	uint64_t bytes_read;
	struct jp_doc jd;
	struct buf jbytes;	/* decoded JSON byte fields */
	struct buf jtmp;	/* an escaped base64 string, unescaped */
	struct kp_hdr_off *joff;	/* header fields' places in jbytes */
	struct rec_header *jh;
	size_t jh_cap;
};

enum kp_next {
	KP_NEXT_NONE,		/* no complete record in the buffer */
	KP_NEXT_RECORD,		/* *out is a record */
	KP_NEXT_SKIP,		/* a blank JSON line: nothing to send */
	KP_NEXT_TOO_LONG,	/* a record over max_record was dropped */
	KP_NEXT_BAD		/* malformed: `e` says why (EXIT_DATAERR) */
};

int kp_input_open(struct kp_input *in, const struct kp_opts *o,
    size_t max_record, struct err *e);
void kp_input_close(struct kp_input *in);
/* One read() from the current input; 0 at the end of all, -1 on error. */
long kp_input_fill(struct kp_input *in, struct err *e);
/* Whether the current input has more bytes ready without blocking. */
bool kp_input_ready(const struct kp_input *in);
enum kp_next kp_input_next(struct kp_input *in, struct kp_rec *out,
    struct err *e);
/* "line" or "record", for messages about input positions. */
const char *kp_input_unit(const struct kp_input *in);

struct kprod;

/* Partitioners (kprod_part.c). */
struct kp_picker {
	enum kp_partitioner kind;
	int32_t sticky;		/* current sticky partition, -1 none */
	int32_t rr_next;
	uint64_t rng;
};

void kp_picker_init(struct kp_picker *pk, enum kp_partitioner kind);
int32_t kp_pick(struct kprod *kp, const struct kp_rec *r);
/* The sticky partition's batch was sealed: move on to the next one. */
void kp_picker_batch_sealed(struct kprod *kp, int32_t partition);

struct kp_batch;
struct kp_req;

/* A record's input number and timestamp, kept for the -o report. */
struct kp_rec_meta {
	uint64_t recno;
	int64_t ts;
};

struct kp_part {
	int32_t id;
	int32_t leader;		/* broker id, -1 when none */
	struct rec_builder rb;	/* the open batch */
	int64_t open_since;	/* monotonic ms of its first record */
	size_t open_bytes;	/* payload bytes in it */
	size_t open_mem;	/* its charge against buffer.memory */
	struct kp_rec_meta *meta;	/* -o: per record of the open batch */
	size_t meta_cap;
	uint64_t open_recno;	/* input number of its first record */
	struct kp_batch *qhead, *qtail;	/* sealed, waiting, by sequence */
	int inflight;
	int64_t backoff_until;
	bool draining;		/* resend only once nothing is in flight */
	bool need_reset;	/* its sequence broke: needs a new id */
	int64_t pid;
	int16_t epoch;
	int32_t next_seq;
};

struct kp_stats {
	uint64_t read;		/* records taken from the input */
	uint64_t acked;
	uint64_t acked_bytes;
	uint64_t failed;
	uint64_t abandoned;	/* still pending at the flush deadline */
	uint64_t skipped;	/* bad input records skipped (-E skip) */
	uint64_t retries;
};

struct kp_broker_state {
	int32_t id;
	int64_t backoff_until;
};

struct kprod {
	const struct kp_opts *o;
	struct kp_cfg cfg;
	struct kcl *k;
	struct kp_part **parts;
	int32_t nparts;
	struct kp_picker picker;
	struct kp_input in;
	struct kp_stats st;
	size_t buffered;	/* bytes held, sealed or not, until acked */
	uint64_t pending;	/* records not yet acked or failed */
	bool idempotent;
	int64_t pid;		/* the latest producer id obtained */
	int16_t epoch;
	bool need_metadata;
	int64_t metadata_next;	/* earliest next refresh (monotonic ms) */
	int64_t metadata_at;	/* last successful refresh */
	int64_t produce_timeout_ms;
	struct kp_broker_state *brokers;
	size_t nbrokers;
	struct kp_batch *free_batches;
	size_t nfree;
	struct kp_req *reqs;	/* Produce requests in flight */
	uint64_t serial;	/* batches sealed so far */
	int32_t send_rr;	/* where the next request starts */
	struct buf outline;	/* -o report lines being written */
	bool out_closed;	/* stdout is gone: no more report */
	bool out_failed;	/* ... and not by EPIPE */
	int failure_msgs;	/* failure lines printed so far */
	int fatal_code;		/* a condition that ends the run */
	struct err fatal;
	uint64_t batches_sent;
};

/*
 * A sealed batch: its bytes (header stamped, CRC set) and what is needed
 * to retry, report and account for it. It is in its partition's queue,
 * in exactly one request (req_next), or on the free list.
 */
struct kp_batch {
	struct kp_batch *next, *prev;	/* partition queue, or free list */
	struct kp_batch *req_next;	/* in the request carrying it */
	struct kp_part *part;
	struct buf data;
	uint64_t serial;		/* seal order */
	uint64_t first_recno;
	int64_t created;		/* monotonic ms of its first record */
	size_t bytes;			/* payload bytes */
	size_t mem;			/* charged to kp->buffered */
	int32_t count;
	int32_t base_seq;
	int attempts;
	bool maybe_written;		/* an attempt's outcome is unknown */
	struct kp_rec_meta *meta;	/* -o only */
	char why[120];			/* the last error */
};

struct kp_req {
	struct kprod *kp;
	struct kp_req *next, *prev;	/* kp->reqs */
	struct kp_batch *batches;
	int16_t version;
};

/*
 * Batches (kprod_batch.c). The functions returning int64_t give the next
 * time (monotonic ms) they need to run again, or INT64_MAX.
 */
int kp_parts_update(struct kprod *kp, struct err *e);
int kp_append(struct kprod *kp, int32_t partition, const struct kp_rec *r,
    int64_t now_wall, int64_t now);
void kp_seal(struct kprod *kp, struct kp_part *p);
/* Whether the open batch lingered long enough to be sent. */
bool kp_open_due(const struct kprod *kp, const struct kp_part *p,
    int64_t now);
/*
 * Seal the open batches past their delivery timeout (all with `flush`);
 * lingered ones are sealed by kp_send_ready() when they can be sent.
 */
int64_t kp_seal_due(struct kprod *kp, int64_t now, bool flush);
/* Fail queued batches older than delivery.timeout.ms. */
int64_t kp_expire(struct kprod *kp, int64_t now);
void kp_queue_insert(struct kp_part *p, struct kp_batch *b);
void kp_queue_unlink(struct kp_part *p, struct kp_batch *b);
/* `base` is the offset of its first record, -1 when unknown. */
void kp_batch_acked(struct kprod *kp, struct kp_batch *b, int64_t base);
/* Report the batch's records as not delivered, and free it. */
void kp_batch_failed(struct kprod *kp, struct kp_batch *b, const char *why);
void kp_fail_record(struct kprod *kp, uint64_t recno, const char *why);
/* Give up on everything pending (flush timeout, second signal). */
void kp_abandon(struct kprod *kp);
void kp_parts_free(struct kprod *kp);

/* The -o report (kprod_out.c). */
int kp_format_check(const char *fmt, struct err *e);
void kp_report_note(struct kp_part *p, uint64_t recno, int64_t ts);
void kp_report_batch(struct kprod *kp, const struct kp_batch *b,
    int64_t base);

/* Requests (kprod_send.c). */
int64_t kp_send_ready(struct kprod *kp, int64_t now);
/* New producer ids where sequences broke. */
int64_t kp_reset_partitions(struct kprod *kp);
/* 0; -1 with `e`; -2 when the broker lacks InitProducerId. */
int kp_init_producer_id(struct kprod *kp, struct err *e);

/* Signals (kprod.c): the number of SIGINT/SIGTERM received. */
int kp_signals(void);

int kp_run(struct kp_opts *o);
/* -X dump: resolve the properties and print them. */
int kp_dump(struct kp_opts *o);

#endif
