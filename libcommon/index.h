/* SPDX-License-Identifier: MIT */
/*
 * Sparse segment indexes, Kafka's .index and .timeindex files. Entries only
 * grow: relative offsets and positions strictly, timestamps strictly. The
 * active segment's index is preallocated to max_bytes and mapped read-write;
 * trimming cuts the file to its entries and drops to a read-only mapping,
 * which older segments create lazily on first lookup. Lookups are binary
 * searches on the mapping; nothing is copied or allocated per entry.
 *
 * File formats (big-endian, no header; offsets relative to the segment's
 * base offset, which the file name carries):
 *
 *   .index      off size field            .timeindex  off size field
 *                 0   4  relative offset                0   8  timestamp (ms)
 *                 4   4  position in .log               8   4  relative offset
 *
 * An offset entry (o, p) says: the batch starting at byte p of the .log has
 * last offset base + o. A time entry (t, o) says: every batch appended up to
 * the moment the entry was written has max timestamp <= t, and t was first
 * seen in the batch whose last offset is base + o.
 */
#ifndef KLOG_INDEX_H
#define KLOG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDX_OFFSET_ENTRY_SIZE 8
#define IDX_TIME_ENTRY_SIZE 12
/*
 * Largest relative offset an entry may hold. The field is 4 bytes; Kafka
 * reads it as a signed int, so we stay within INT32_MAX to agree with it.
 */
#define IDX_MAX_RELATIVE_OFFSET INT32_MAX

enum idx_kind {
	IDX_OFFSET = 0,
	IDX_TIME = 1
};

enum idx_open_flags {
	/*
	 * Create the file if missing, extend it (sparse) to max_bytes and map
	 * it read-write: the index of the active segment.
	 */
	IDX_OPEN_WRITABLE = 1 << 0,
	/* With WRITABLE: forget the existing entries (a rebuild). */
	IDX_OPEN_TRUNCATE = 1 << 1,
	/* Without WRITABLE: a missing file opens as an empty index. */
	IDX_OPEN_MISSING_OK = 1 << 2
};

struct idx_offset_entry {
	int64_t offset;		/* absolute: base + relative */
	uint32_t position;
};

struct idx_time_entry {
	int64_t timestamp;
	int64_t offset;		/* absolute: base + relative */
};

/*
 * One open index. Embedded by its segment: idx_open() fills it,
 * idx_release() frees what it holds. Fields are read-only to callers.
 */
struct idx {
	enum idx_kind kind;
	char *path;		/* owned */
	int64_t base_offset;
	int fd;			/* open only while writable, else -1 */
	uint8_t *map;		/* NULL until mapped (or when empty) */
	size_t map_len;
	size_t entries;
	size_t max_entries;	/* capacity while writable */
	size_t file_len;	/* file size found at open */
	size_t reserved;	/* bytes known to be backed by disk blocks */
	bool writable;
	bool missing;		/* the file did not exist at open */
	bool unsynced;		/* entries changed since the last msync */
};

/* Entry size of an index kind (8 or 12). */
size_t idx_entry_size(enum idx_kind kind);

/*
 * Open the index at `path` (copied) of a segment based at `base_offset`.
 * Without IDX_OPEN_WRITABLE the file must exist (or, with
 * IDX_OPEN_MISSING_OK, is taken as empty); only its size is read
 * (entries = size / entry size, a partial tail entry ignored) and it is
 * mapped on first use. With it the file is created when missing, extended
 * to max_bytes rounded down to whole entries (never shrunk below its
 * entries) and mapped read-write. Returns 0, or -1 with EXIT_NOINPUT when a
 * read-only index is missing, EXIT_IOERR/EXIT_CANTCREAT for system errors,
 * EXIT_SOFTWARE when max_bytes holds fewer than 2 entries. On failure `ix`
 * holds nothing to release.
 */
int idx_open(struct idx *ix, enum idx_kind kind, const char *path,
    int64_t base_offset, size_t max_bytes, unsigned flags, struct err *e);

/* Unmap and close without trimming; `ix` may be released twice. */
void idx_release(struct idx *ix);

/*
 * Back the next `more` entries of a writable index with disk blocks now,
 * so that appending them cannot fail for lack of space. 0 or -1
 * (EXIT_IOERR, typically ENOSPC).
 */
int idx_reserve(struct idx *ix, size_t more, struct err *e);

/*
 * Cut a writable index file to its entries, optionally msync and fsync
 * it, and drop to a read-only mapping. A no-op on a read-only index. 0 or -1
 * (EXIT_IOERR); on failure the index stays writable. Pass ix->unsynced as
 * `sync` to sync only an index whose entries changed.
 */
int idx_trim(struct idx *ix, bool sync, struct err *e);

/* Reopen a trimmed index read-write with room for max_bytes (see open). */
int idx_make_writable(struct idx *ix, size_t max_bytes, struct err *e);

/*
 * Write back the mapped entries and fsync (writable indexes only; a no-op
 * when nothing changed since the last sync).
 */
int idx_flush(struct idx *ix, struct err *e);

/* Whether no entry can be appended (the time index keeps one spare slot
 * for the entry written when its segment is rolled). */
bool idx_full(const struct idx *ix);

/*
 * Append an offset entry. `offset` must be above the last entry's and at
 * most base + IDX_MAX_RELATIVE_OFFSET, `position` above the last entry's.
 * Returns 0, or -1 with EXIT_SOFTWARE (order, range, full or read-only)
 * or EXIT_IOERR (no disk space for the next page of the file).
 */
int idx_append_offset(struct idx *ix, int64_t offset, uint32_t position,
    struct err *e);

/*
 * Append a time entry if `timestamp` is above the last entry's; otherwise
 * do nothing and return 0. `offset` must not be below the last entry's.
 * `spare` allows using the slot kept free for the roll. Errors as
 * idx_append_offset.
 */
int idx_append_time(struct idx *ix, int64_t timestamp, int64_t offset,
    bool spare, struct err *e);

/*
 * Read entry i (< ix->entries). The index must have been mapped: any
 * lookup or idx_map() does it.
 */
void idx_offset_entry_at(const struct idx *ix, size_t i,
    struct idx_offset_entry *out);
void idx_time_entry_at(const struct idx *ix, size_t i,
    struct idx_time_entry *out);

/* Map a read-only index now (lookups do it themselves). 0 or -1. */
int idx_map(struct idx *ix, struct err *e);

/*
 * Find the last entry whose offset is <= target. Returns 1 with *out set,
 * 0 when there is none (then *out is {base_offset, 0}: scan from the
 * start), -1 if the index could not be mapped (EXIT_IOERR).
 */
int idx_lookup_offset(struct idx *ix, int64_t target,
    struct idx_offset_entry *out, struct err *e);

/*
 * Find the last entry whose timestamp is <= target. Returns 1 with *out
 * set, 0 when there is none (then *out is {-1, base_offset}), or -1.
 */
int idx_lookup_time(struct idx *ix, int64_t target, struct idx_time_entry *out,
    struct err *e);

/*
 * Find the last offset entry with position <= max_position and offset <
 * offset_below (both grow with the entry number). 1 with *out set, 0 if
 * none, -1 if the index could not be mapped.
 */
int idx_lookup_bound(struct idx *ix, uint64_t max_position,
    int64_t offset_below, struct idx_offset_entry *out, struct err *e);

/* The last entry: 1 with *out set, 0 if empty, -1 if it can't be mapped. */
int idx_last_offset_entry(struct idx *ix, struct idx_offset_entry *out,
    struct err *e);
int idx_last_time_entry(struct idx *ix, struct idx_time_entry *out,
    struct err *e);

/*
 * Drop every entry whose offset is >= `offset` (writable indexes only;
 * dropped bytes are zeroed). 0 or -1 (EXIT_SOFTWARE if read-only).
 */
int idx_truncate_to(struct idx *ix, int64_t offset, struct err *e);

/*
 * Sanity check against the segment: the file size is a whole number of
 * entries, offsets are strictly increasing and below `offset_limit`,
 * positions strictly increasing and below `log_size` (offset index),
 * timestamps strictly increasing (time index). With `full` every entry is
 * checked; without, only the first and the last (cheap for old segments
 * whose lookups validate what they read anyway; a mapping made for the
 * check is dropped again). Returns 0, or -1 with
 * EXIT_DATAERR naming the file, the entry and the problem.
 */
int idx_check(struct idx *ix, uint64_t log_size, int64_t offset_limit,
    bool full, struct err *e);

#endif
