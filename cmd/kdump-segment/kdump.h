/* SPDX-License-Identifier: MIT */
/*
 * kdump-segment internals shared by its files: the options, the run
 * context (output line buffer, problem counters, exit status), the segment
 * model built from the PATH arguments, the read-only file window and the
 * log scanner. Everything here is read-only on the data: files are opened
 * O_RDONLY and only up to the size they had when opened.
 */
#ifndef KDUMP_H
#define KDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "record.h"

enum kd_mode {
	KD_MODE_DUMP = 0,
	KD_MODE_VERIFY,
	KD_MODE_SUMMARY,
	KD_MODE_COUNT,
	KD_MODE_LOOKUP_OFFSET,
	KD_MODE_LOOKUP_TIME
};

enum kd_decode {
	KD_DECODE_TEXT = 0,
	KD_DECODE_HEX,
	KD_DECODE_BASE64
};

struct kd_opts {
	enum kd_mode mode;
	bool json;
	bool records;		/* -r: records under their batches */
	bool batches;		/* false with -R (records only) */
	enum kd_decode decode;
	bool has_offset;
	int64_t offset;		/* -o: start at the batch holding it */
	bool has_position;
	uint64_t position;	/* -p: start at this byte of the log */
	uint64_t max_records;	/* -m; UINT64_MAX when unlimited */
	size_t max_batch_bytes;	/* -M: stored and decompressed bound */
	int64_t lookup;		/* -L offset or -T timestamp (ms) */
	int verbose;
	bool quiet;
	char *const *paths;
	int npaths;
};

/* One segment: the files sharing a base offset in a partition directory. */
struct kd_segment {
	char *log;		/* NULL when the .log is missing */
	char *index;		/* NULL when absent */
	char *timeindex;	/* NULL when absent */
	int64_t base_offset;	/* from the file name; 0 when not a number */
	bool base_known;
};

/* A partition (or the directory of a file given alone). */
struct kd_part {
	char *dir;
	char *topic;		/* NULL when the name is not <topic>-<N> */
	int32_t partition;
	struct kd_segment *segs;
	size_t nsegs;
};

enum kd_target_kind {
	KD_TARGET_PART = 0,	/* a partition: its segments, in order */
	KD_TARGET_INDEX,	/* an .index dumped on its own */
	KD_TARGET_TIMEINDEX,	/* a .timeindex dumped on its own */
	KD_TARGET_CHECKPOINT	/* a Kafka checkpoint file */
};

struct kd_target {
	enum kd_target_kind kind;
	struct kd_part part;	/* for files: one segment, with its topic */
	char *path;		/* the file, for the non-partition kinds */
};

struct kd_targets {
	struct kd_target *v;
	size_t n;
	size_t cap;
};

/* What a scan learns about each batch (index checks and lookups). */
struct kd_batch_info {
	uint64_t pos;
	int64_t base_offset;
	int64_t last_offset;
	int64_t max_timestamp;
};

struct kd_batch_list {
	struct kd_batch_info *v;
	size_t n;
	size_t cap;
};

/* A set of non-negative ids (producer ids), open addressing. */
struct kd_idset {
	int64_t *slots;		/* id + 1; 0 marks a free slot */
	size_t cap;
	size_t n;
};

/* Totals for --summary, kept per partition and overall. */
struct kd_stats {
	uint64_t segments;
	uint64_t batches;
	uint64_t records;
	uint64_t control_batches;
	uint64_t control_records;
	uint64_t transactional_batches;
	uint64_t bytes;
	uint64_t stored_record_bytes;
	uint64_t uncompressed_record_bytes;
	uint64_t codec_batches[5];
	bool have_offsets;
	int64_t first_offset;
	int64_t last_offset;
	bool have_timestamps;
	int64_t min_timestamp;
	int64_t max_timestamp;
	struct kd_idset producers;
};

struct kd_part_summary {
	char *dir;
	char *topic;		/* NULL when unknown */
	int32_t partition;
	struct kd_stats st;	/* producers set released; see nproducers */
	uint64_t nproducers;
};

struct kd_ctx {
	const struct kd_opts *o;
	struct buf line;	/* the output line being composed */
	struct rec_iter it;
	uint64_t problems;
	int fail_code;		/* first non-data failure (66, 74), or 0 */
	bool not_found;		/* a lookup found nothing (exit 1) */
	bool stop;		/* stdout closed or a limit reached */
	bool write_failed;	/* stdout failed with something else than EPIPE */
	uint64_t records_out;	/* records printed so far (-m) */
	uint64_t files;
	uint64_t index_entries;
	bool have_prev;		/* a batch was seen in this partition */
	int64_t prev_last;	/* its last offset (order check) */
	struct kd_stats total;
	struct kd_stats part;
	struct kd_part_summary *sums;	/* --summary, one per partition */
	size_t nsums;
};

/* A read-only window on a file, sized as it was when opened. */
struct kd_file {
	const char *path;
	int fd;
	uint64_t size;
	struct buf win;		/* bytes [win_pos, win_pos + win.len) */
	uint64_t win_pos;
};

/* One scan of a log segment; the callback sees every readable batch. */
struct kd_scan;
typedef int kd_batch_fn(struct kd_scan *s, const struct rec_batch *b,
    uint64_t pos, bool crc_ok);

struct kd_scan {
	struct kd_ctx *ctx;
	const struct kd_part *part;
	const struct kd_segment *seg;
	struct kd_file f;
	uint64_t start;		/* first byte to read */
	bool skip_crc;		/* --count: framing only */
	bool check_order;	/* compare with ctx->prev_last */
	struct kd_batch_list *collect;	/* NULL or where to record batches */
	kd_batch_fn *fn;	/* return 1 to go on, 0 to stop, -1 on error */
	void *arg;
	uint64_t end;		/* position after the last complete batch */
	uint64_t size;		/* file size seen by the scan */
};

/* kdump-segment.c */
int kd_emit(struct kd_ctx *ctx);
void kd_problem(struct kd_ctx *ctx, const char *file, uint64_t pos,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void kd_fail(struct kd_ctx *ctx, int code);

/* kdump_paths.c, kdump_file.c */
int kd_targets_add(struct kd_ctx *ctx, struct kd_targets *t, const char *path);
void kd_targets_free(struct kd_targets *t);
int kd_file_open(struct kd_file *f, const char *path, struct err *e);
const uint8_t *kd_file_read(struct kd_file *f, uint64_t pos, size_t n,
    size_t *got, struct err *e);
void kd_file_close(struct kd_file *f);
int kd_file_slurp(const char *path, size_t max, struct buf *out,
    struct err *e);
char *kd_sibling(const char *log_path, const char *ext);

/* kdump_scan.c */
int kd_scan_log(struct kd_scan *s);
int32_t kd_last_sequence(const struct rec_batch *b);
void kd_part_begin(struct kd_ctx *ctx);

/* kdump_print.c */
void kd_print_file(struct kd_ctx *ctx, const char *kind, const char *path,
    uint64_t size, const struct kd_part *part, const struct kd_segment *seg);
void kd_put_text(struct buf *b, const void *data, int64_t len,
    enum kd_decode dec);
/* A name in text output: bare when it is a plain word, else quoted. */
void kd_put_word(struct buf *b, const void *data, size_t len);
int kd_dump_segment(struct kd_ctx *ctx, const struct kd_part *part, size_t i);

/* kdump_index.c */
struct kd_index_entry {
	uint64_t pos;		/* byte position of the entry in its file */
	int64_t timestamp;	/* time index only */
	int64_t offset;		/* absolute: segment base + relative */
	uint32_t relative;
	uint32_t log_pos;	/* offset index only */
};

struct kd_index {
	struct kd_index_entry *v;
	size_t n;
	uint64_t file_size;
};

int kd_index_load(struct kd_ctx *ctx, const char *path, bool is_time,
    int64_t base, struct kd_index *out);
void kd_index_release(struct kd_index *ix);
int kd_dump_index(struct kd_ctx *ctx, const struct kd_target *t);
/*
 * What verification knows about the log of an index: whether it was read,
 * its batches, the size it was read up to, and whether it has grown since
 * (a live segment: entries past what was read are then not errors).
 */
struct kd_log_view {
	bool read;
	bool live;
	uint64_t size;
	const struct kd_batch_list *batches;
};

void kd_verify_index(struct kd_ctx *ctx, const struct kd_segment *seg,
    const struct kd_index *ix, const struct kd_log_view *log);
void kd_verify_timeindex(struct kd_ctx *ctx, const struct kd_segment *seg,
    const struct kd_index *ix, const struct kd_log_view *log);
uint64_t kd_seek_offset(struct kd_ctx *ctx, const struct kd_segment *seg,
    struct kd_file *f, int64_t offset, uint64_t *entry_pos);
uint64_t kd_seek_time(struct kd_ctx *ctx, const struct kd_segment *seg,
    struct kd_file *f, int64_t timestamp);

/* kdump_verify.c, kdump_summary.c, kdump_lookup.c */
int kd_verify_part(struct kd_ctx *ctx, const struct kd_part *part);
int kd_summary_part(struct kd_ctx *ctx, const struct kd_part *part);
void kd_summary_print(struct kd_ctx *ctx);
void kd_summary_release(struct kd_ctx *ctx);
int kd_count_part(struct kd_ctx *ctx, const struct kd_part *part);
void kd_count_print(struct kd_ctx *ctx);
void kd_verify_print(struct kd_ctx *ctx);
int kd_lookup_part(struct kd_ctx *ctx, const struct kd_part *part);
int kd_checkpoint(struct kd_ctx *ctx, const char *path);

void kd_stats_init(struct kd_stats *st);
void kd_stats_release(struct kd_stats *st);

#endif
