/* SPDX-License-Identifier: MIT */
/*
 * One log segment: `<20-digit base offset>.log` (record batches v2, back to
 * back, exactly as received) with its sparse `.index` and `.timeindex`
 * (see index.h); segment.c writes and recovers, segment_read.c reads.
 * Only the active segment (the last of a partition log) is written; its
 * indexes are mapped read-write. Older segments keep read-only
 * index mappings made on first use, and their .log is opened on first read
 * and then kept open (fds are bounded by the number of segments read).
 *
 * Invariants: `size` bytes of the .log are whole batches with increasing
 * offsets, all within [base, base + IDX_MAX_RELATIVE_OFFSET]; index entries
 * are written by one rule (see seg_append), so a rebuild reproduces them.
 * Nothing here allocates per record or per batch on the append path.
 */
#ifndef KLOG_SEGMENT_H
#define KLOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "index.h"

/* Filled by the caller; copied into the segment. */
struct seg_params {
	uint64_t index_interval_bytes;	/* bytes between index entries */
	size_t index_max_bytes;		/* preallocated size of each index */
	size_t max_batch_bytes;		/* recovery: larger ones are corrupt */
};

/* The header fields of one batch, as found in a segment or a buffer. */
struct seg_batch_info {
	int64_t base_offset;
	int64_t last_offset;
	int64_t max_timestamp;
	uint64_t position;	/* in the .log (or the buffer) */
	uint32_t size;		/* whole batch, header included */
};

/* Longest file-name suffix a segment may carry (see seg_create_as). */
#define SEG_SUFFIX_MAX 15

struct seg {
	int64_t base_offset;
	char *log_path;		/* owned: ".../<base>.log" + suffix */
	char suffix[SEG_SUFFIX_MAX + 1];	/* "" or ".cleaned", ".swap" */
	int fd;			/* .log; -1 until first needed */
	uint64_t size;		/* bytes of whole batches */
	struct idx oidx;	/* .index */
	struct idx tidx;	/* .timeindex */
	struct seg_params params;
	bool active;		/* writable indexes, takes appends */
	bool readonly;		/* opened for inspection only */
	bool dirty;		/* appended or truncated since the last fsync */
	bool indexes_unsynced;	/* rolled without syncing its indexes */
	bool failed;		/* a partial write could not be cut back */
	bool tail_known;	/* the fields below are valid */
	int64_t next_offset;	/* after the last batch; base when empty */
	int64_t max_timestamp;	/* largest batch max timestamp, -1 none */
	int64_t offset_of_max_timestamp;
	int64_t first_batch_timestamp;	/* for segment.ms; -1 none */
	int64_t created_ms;	/* wall clock; segment.ms fallback */
	uint64_t bytes_since_index;
};

/* Outcome of seg_recover(). */
struct seg_recovery {
	uint64_t valid_bytes;	/* kept */
	uint64_t bytes_cut;	/* removed from the end; 0 if all valid */
	int64_t next_offset;
	int batches;
	char reason[256];	/* why the cut was made, when bytes_cut > 0 */
};

enum seg_open_flags {
	SEG_OPEN_ACTIVE = 1 << 0,	/* writable indexes, .log opened now */
	SEG_OPEN_READONLY = 1 << 1	/* never modify any file */
};

/*
 * Format "<dir>/<20-digit base><ext>" into buf; ext includes the dot.
 * 0, or -1 with EXIT_SOFTWARE when it does not fit.
 */
int seg_file_path(char *buf, size_t size, const char *dir, int64_t base,
    const char *ext, struct err *e);

/*
 * If `name` is "<20 digits><ext>" with ext one of ".log", ".index",
 * ".timeindex", set *base and *ext (borrowed from name) and return 1;
 * otherwise return 0.
 */
int seg_parse_file_name(const char *name, int64_t *base, const char **ext);

/*
 * Check the header of the batch at p[0..len): at least the 61-byte header,
 * a batch length that fits in `len`, magic 2, a non-negative last offset
 * delta and base offset. Fills *out (position = `position`). Does not check
 * the CRC or the records. 0, or -1 with EXIT_DATAERR.
 */
int seg_batch_header(const uint8_t *p, size_t len, uint64_t position,
    struct seg_batch_info *out, struct err *e);

/*
 * Create the files of a new, empty, active segment in `dir` (the .log must
 * not exist; stale index files are overwritten). *out is owned by the
 * caller (seg_close / seg_free / seg_delete). 0 or -1 (EXIT_CANTCREAT,
 * EXIT_IOERR).
 */
int seg_create(const char *dir, int64_t base, const struct seg_params *p,
    int64_t now_ms, struct seg **out, struct err *e);

/*
 * seg_create() for files named with `suffix` after the usual names
 * ("<base>.log.cleaned", "<base>.index.cleaned", ...): the log cleaner
 * writes its output this way, out of sight of plog_open(), and renames it
 * into place with seg_rename(). The suffix has at most SEG_SUFFIX_MAX
 * characters (EXIT_SOFTWARE).
 */
int seg_create_as(const char *dir, int64_t base, const char *suffix,
    const struct seg_params *p, int64_t now_ms, struct seg **out,
    struct err *e);

/*
 * Rename the segment's three files to carry `suffix` instead of their
 * current one, updating its paths; open files and mappings stay valid.
 * Toward a suffix the indexes go first and the .log last; toward the
 * plain names ("") the .log goes first. Either way the .log's name tells
 * which state the segment is in, and index files never get ahead of it
 * (see plog_open's completion of ".swap" files). Does not fsync the
 * directory. 0, or -1 with EXIT_IOERR (files renamed before the failure
 * keep their new names; the paths say which) or EXIT_SOFTWARE.
 */
int seg_rename(struct seg *s, const char *suffix, struct err *e);

/*
 * Open an existing segment. Only the sizes are read; a missing index file
 * opens as an empty index with `missing` noted (seg_indexes_missing), to be
 * rebuilt by the caller. The tail fields are unknown until seg_load_tail()
 * or seg_recover(). 0 or -1 (EXIT_NOINPUT when the .log is missing).
 */
int seg_open(const char *dir, int64_t base, const struct seg_params *p,
    unsigned flags, struct seg **out, struct err *e);
/* seg_open() of files named with `suffix` (see seg_create_as). */
int seg_open_as(const char *dir, int64_t base, const char *suffix,
    const struct seg_params *p, unsigned flags, struct seg **out,
    struct err *e);

/* Whether an index file was missing at open. */
bool seg_indexes_missing(const struct seg *s);

/*
 * Ignore the indexes from now on (lookups scan from position 0): for a
 * read-only segment whose index failed its check.
 */
void seg_bypass_indexes(struct seg *s);

/*
 * Trim the active indexes (msync and fsync those with entries not yet
 * synced: the close of a clean shutdown), close and free. NULL is a no-op.
 */
int seg_close(struct seg *s, struct err *e);
/* Close and free without trimming (after a failure). NULL is a no-op. */
void seg_free(struct seg *s);

/*
 * Delete the segment: rename its three files to "*.deleted", fsync the
 * directory, unlink them, free `s`. `s` is freed even on failure; a crash
 * in between leaves *.deleted files that the next open removes.
 */
int seg_delete(struct seg *s, struct err *e);

/* The .log fd (opened now if it was not). -1 on failure. */
int seg_fd(struct seg *s, struct err *e);

/*
 * Read exactly `len` bytes of the .log at `pos`. 0, or -1 with EXIT_IOERR
 * naming the segment (an early end of file included).
 */
int seg_pread(struct seg *s, void *buf, size_t len, uint64_t pos,
    struct err *e);

/*
 * Validate the whole .log from position 0 and rebuild both indexes: each
 * batch must parse, have a good CRC, be at most max_batch_bytes, start at
 * or above `min_offset` and after the previous batch, and keep its offsets
 * relative to base within range. At the first invalid byte the file is cut
 * there (out->bytes_cut, out->reason). The segment becomes active for the
 * duration; a segment that was not active is made inactive again (final
 * time-index entry, trimmed indexes). Fills the tail fields. 0, or -1
 * with `e` set on I/O errors (invalid data is not an error).
 */
int seg_recover(struct seg *s, int64_t min_offset, struct seg_recovery *out,
    struct err *e);

/*
 * Sanity-check both indexes against the .log (see idx_check), fully for
 * the active segment, first and last entries otherwise. `offset_limit` is
 * the next segment's base (INT64_MAX for the last). 0, or -1 EXIT_DATAERR.
 */
int seg_check_indexes(struct seg *s, int64_t offset_limit, struct err *e);

/*
 * Learn the tail fields (next offset, max timestamp, bytes since the last
 * index entry, first batch timestamp) by scanning batch headers from the
 * last index entry. Returns 0; 1 when the .log does not end on a batch
 * boundary or disagrees with the index (the caller recovers it; a
 * read-only segment instead ignores the bad tail and shrinks `size`); -1
 * on I/O error.
 */
int seg_load_tail(struct seg *s, struct err *e);

/*
 * How many bytes of whole batches from data[0..len) the segment can take:
 * its size stays within segment_bytes, offsets stay within range and both
 * indexes have room for the entries the batches add. 0 unless active.
 * `data` must hold valid headers (seg_batch_header).
 */
size_t seg_fit(const struct seg *s, const uint8_t *data, size_t len,
    uint64_t segment_bytes);

/*
 * Append whole batches (offsets final, as checked by seg_fit) with one
 * write(2) and add index entries: before a batch, if more than
 * index_interval_bytes were appended since the last entry, an offset entry
 * (batch last offset, batch position) and a time entry (max timestamp so
 * far, offset of the batch where it was seen) are added. A short or failed
 * write is cut back so no partial batch stays: -1 with EXIT_IOERR naming
 * the segment; if even the cut fails, EXIT_IOERR says so and the segment
 * must not be written again.
 */
int seg_append(struct seg *s, const uint8_t *data, size_t len, struct err *e);

/*
 * Find the first batch whose last offset is >= offset. Uses the offset
 * index, then reads batch headers with pread; an index entry that does not
 * match the .log is ignored (scan from 0). 1 with *out set, 0 when there
 * is none in this segment, -1 on I/O error or corrupt header (EXIT_DATAERR).
 */
int seg_find_batch(struct seg *s, int64_t offset, struct seg_batch_info *out,
    struct err *e);

/* A run of whole batches in a segment file. */
struct seg_slice {
	int fd;			/* the segment's; do not close */
	uint64_t position;
	uint64_t length;	/* 0: nothing readable below max_offset */
	int64_t base_offset;	/* of the first batch */
	int64_t last_offset;	/* of the last batch in the slice */
};

/*
 * The batches from the one holding `offset` on: at least that batch, then
 * more while the total stays <= max_bytes; only batches whose last offset
 * is < max_offset. 1 with *out set, 0 if no batch here holds or follows
 * `offset`, -1 on error.
 */
int seg_read(struct seg *s, int64_t offset, uint64_t max_bytes,
    int64_t max_offset, struct seg_slice *out, struct err *e);

/*
 * The first record at or after `min_offset` whose timestamp is >= ts:
 * time index, then offset index, then batch headers, then the records of
 * the one batch. 1 with *offset_out and *ts_out set, 0 if none here, -1.
 */
int seg_find_timestamp(struct seg *s, int64_t ts, int64_t min_offset,
    int64_t *offset_out, int64_t *ts_out, struct err *e);

/*
 * Remove the batch holding `offset` (or the first after it) and all later
 * batches; fsync the cut. The segment must be active. Sets *cut_out to the
 * bytes removed. 0 or -1.
 */
int seg_truncate_to(struct seg *s, int64_t offset, uint64_t *cut_out,
    struct err *e);

/* Make indexes writable and learn the tail. 0 or -1. */
int seg_make_active(struct seg *s, struct err *e);

/*
 * Roll: add the final time-index entry (the segment's max timestamp),
 * fsync the .log if dirty, trim and fsync both indexes. 0 or -1.
 */
int seg_make_inactive(struct seg *s, struct err *e);

/*
 * Roll without waiting for the disk: as seg_make_inactive, but the .log
 * stays dirty and the trimmed indexes are marked unsynced, for a later
 * seg_flush() (or a flush job, plog_flush_take) to make durable.
 */
int seg_make_inactive_unsynced(struct seg *s, struct err *e);

/*
 * fdatasync the .log if dirty, and fsync the indexes of a segment rolled
 * unsynced; an active segment's indexes are left to the page cache (crash
 * recovery rebuilds them from the .log). 0 or -1 (EXIT_IOERR).
 */
int seg_flush(struct seg *s, struct err *e);

/*
 * The largest record timestamp in the segment (the last time-index entry
 * for inactive segments), or -1 if none is known. With `or_mtime`, fall
 * back to the .log's modification time (retention, as Kafka does).
 */
int64_t seg_largest_timestamp(struct seg *s, bool or_mtime);

#endif
