/* SPDX-License-Identifier: MIT */
/*
 * A partition log: the ordered segments of one `<topic>-<partition>/`
 * directory, laid out exactly as Kafka does (see segment.h and index.h).
 * Offsets run from the log start offset (first readable) to the log end
 * offset (next to be written); batches are stored as given, so a read
 * returns a file range to hand to sendfile(2).
 *
 * Invariants: segment base offsets increase; only the last segment (the
 * active one) is written; every offset below the recovery point is on
 * disk (fsynced). One thread at a time: callers serialise access. The
 * one exception is compaction's plog_compact_step(), which may run on
 * another thread because it reads only a snapshot the job owns.
 *
 * Resources: the active segment holds one fd and two read-write index
 * mappings (sparse files of index_max_bytes). Older segments hold no fd
 * until first read, then keep it; their indexes are mapped read-only on
 * first lookup. A long log read from its start therefore ends up holding
 * one fd per segment (acceptable for now; an LRU could cap it later).
 */
#ifndef KLOG_PLOG_H
#define KLOG_PLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "Never" for flush_messages / flush_ms (Kafka uses Long.MAX_VALUE). */
#define PLOG_NEVER INT64_MAX

/* Per-log settings, named after Kafka's topic configs. */
struct plog_config {
	int64_t segment_bytes;		/* segment.bytes: 1 GiB, <= INT32_MAX */
	int64_t segment_ms;		/* segment.ms: 7 days */
	int64_t index_interval_bytes;	/* index.interval.bytes: 4096 */
	int64_t index_max_bytes;	/* segment.index.bytes: 10 MiB */
	int64_t retention_ms;		/* retention.ms: 7 days, -1 unlimited */
	int64_t retention_bytes;	/* retention.bytes: -1 unlimited */
	int64_t flush_messages;		/* flush.messages: PLOG_NEVER */
	int64_t flush_ms;		/* flush.ms: PLOG_NEVER */
	int64_t max_batch_bytes;	/* max.message.bytes: 1048588; recovery
					 * treats larger batches as corrupt */
};

/* Fill Kafka's defaults. */
void plog_config_init(struct plog_config *c);

/* Check ranges; 0 or -1 with EXIT_CONFIG naming the setting. */
int plog_config_check(const struct plog_config *c, struct err *e);

struct plog;

/* What open() had to repair; at most PLOG_REPORT_MAX cuts are detailed. */
#define PLOG_REPORT_MAX 4

struct plog_truncation {
	char path[512];		/* the segment's .log */
	uint64_t position;	/* where it was cut */
	uint64_t bytes_cut;
	char reason[256];
};

struct plog_report {
	int segments;		/* segments after open */
	int segments_recovered;	/* validated batch by batch */
	int indexes_rebuilt;	/* segments whose indexes were rebuilt */
	int segments_deleted;	/* after a cut, the segments above it */
	int files_removed;	/* leftovers: *.deleted, *.tmp, orphans,
				 * *.cleaned, segments a swap replaced */
	int swaps_completed;	/* compactions finished (see plog_compact) */
	int ntruncations;	/* may exceed PLOG_REPORT_MAX */
	struct plog_truncation truncations[PLOG_REPORT_MAX];
};

enum plog_open_flags {
	/* The directory was shut down cleanly: trust it, scan nothing. */
	PLOG_OPEN_CLEAN = 1 << 0,
	/*
	 * Inspect only: change no file, recover nothing (a torn tail is
	 * ignored in memory, a bad index is bypassed), refuse all writes.
	 */
	PLOG_OPEN_READONLY = 1 << 1
};

/*
 * Open (creating `dir` if missing, unless read-only) the partition log in
 * `dir`. First finishes a compaction interrupted by a crash, as Kafka
 * does: *.cleaned files are removed, and each "<base>.log.swap" (which
 * exists only once its cleaned segment was complete and fsynced) replaces
 * the segments whose base offsets lie in [base, its next offset): their
 * files are removed, then the *.swap files take their plain names (a
 * read-only open does this in memory only, reading the .swap files). A
 * *.swap at or above the lowest *.cleaned base was not committed and is
 * removed. Then removes leftovers (*.deleted, *.tmp, unparsable *.swap
 * and *.cleaned names, index files without a .log). Then:
 *  - without PLOG_OPEN_CLEAN, every segment from the one holding
 *    `recovery_point` on is validated batch by batch (seg_recover) and its
 *    indexes rebuilt; at the first invalid byte the segment is cut there
 *    and all later segments are deleted (an emptied segment that is not
 *    the first goes too); recovered data is fsynced;
 *  - the other segments get an index sanity check (all entries of the
 *    active one, first and last of older ones); missing or failing
 *    indexes are rebuilt from the .log;
 *  - the log end offset and the active segment's max timestamp come from
 *    scanning batch headers after the last index entry.
 * An empty directory gets a first segment based at log_start_offset. The
 * log start offset becomes max(log_start_offset, first base), at most the
 * log end offset; the recovery point becomes the log end offset (read-only:
 * `recovery_point`, clamped). `report` may be NULL. *out is owned by the
 * caller, freed by plog_close(). Returns 0, or -1 with EXIT_CONFIG (bad
 * config), EXIT_NOINPUT (read-only and missing), EXIT_IOERR/EXIT_CANTCREAT.
 */
int plog_open(const char *dir, const struct plog_config *cfg,
    int64_t recovery_point, int64_t log_start_offset, unsigned flags,
    struct plog_report *report, struct plog **out, struct err *e);

/*
 * Trim the active segment's indexes to their entries, close every file and
 * free `log` (always, even when an error is returned). Does not fsync:
 * call plog_flush() first for a clean shutdown. NULL is a no-op.
 */
int plog_close(struct plog *log, struct err *e);

/*
 * Close every file and free `log` without trimming or writing anything:
 * after a failure, or to simulate a crash in tests. NULL is a no-op.
 */
void plog_free(struct plog *log);

/*
 * Replace the settings (copied). Segment sizes apply from the next append,
 * index sizes from the next segment. 0 or -1 with EXIT_CONFIG.
 */
int plog_set_config(struct plog *log, const struct plog_config *cfg,
    struct err *e);

enum plog_append_flags {
	/*
	 * Give the batches consecutive offsets from the log end offset by
	 * rewriting their base offsets in place (the leader's produce path).
	 * Without it (replication), each batch keeps its offsets, which must
	 * not go below the log end offset; gaps are allowed.
	 */
	PLOG_APPEND_ASSIGN_OFFSETS = 1 << 0
};

struct plog_append_info {
	int64_t first_offset;	/* base offset of the first batch */
	int64_t last_offset;	/* last offset of the last batch */
	int64_t log_end_offset;	/* after the append */
	int64_t max_timestamp;	/* largest batch max timestamp, -1 none */
	int64_t segment_base;	/* segment holding the first batch */
	uint64_t position;	/* the first batch's position in it */
	int batches;
	int rolls;		/* segments rolled by this append */
};

/*
 * Append `len` bytes of whole record batches already validated by the
 * caller (CRC, records); only their headers are read here. The buffer is
 * written to when offsets are assigned. Rolls first when the active
 * segment is full (segment_bytes, index space, offsets beyond u32 range)
 * or too old (segment_ms: the batches' max timestamp minus the segment's
 * first batch's, or `now_ms` minus its creation when there are no
 * timestamps). All batches that fit the active segment go in with one
 * write(2). Honours flush_messages and flush_ms (`now_ms`, wall clock).
 * `info` may be NULL.
 * Errors: EXIT_DATAERR for a malformed header, a batch larger than
 * segment_bytes or max_batch_bytes (recovery would cut it), or
 * (replication) an offset below the log end offset, before anything is
 * written; EXIT_IOERR when a write fails (the partial
 * write is cut back; batches written to earlier segments by this call
 * stay, as plog_end_offset() shows); EXIT_SOFTWARE on a read-only or
 * failed log.
 */
int plog_append(struct plog *log, uint8_t *batches, size_t len,
    unsigned flags, int64_t now_ms, struct plog_append_info *info,
    struct err *e);

/* A byte range of one segment file to send as is. */
struct plog_slice {
	int fd;			/* owned by the log; valid until the segment
				 * is deleted (retention, truncation,
				 * compaction, close); -1 for an empty slice
				 * at the log end */
	uint64_t position;
	uint64_t length;	/* 0: nothing to return yet */
	int64_t base_offset;	/* of the first batch in the range */
};

/* Return value of plog_read() for an offset outside the log. */
#define PLOG_OUT_OF_RANGE 1

/*
 * The whole batches starting with the one holding `offset` (or, in a gap,
 * the next one): at least one batch even if larger than max_bytes, then
 * more while the total stays <= max_bytes, never crossing into the next
 * segment, and only batches whose last offset is < max_offset (the high
 * watermark; pass plog_end_offset() when unbounded). An offset equal to
 * the log end offset, or one whose batch ends at or above max_offset,
 * gives an empty slice. Returns 0; PLOG_OUT_OF_RANGE with `e` set
 * (EXIT_DATAERR) when offset < log start offset or > log end offset;
 * -1 on I/O error or corrupt data.
 */
int plog_read(struct plog *log, int64_t offset, uint64_t max_bytes,
    int64_t max_offset, struct plog_slice *out, struct err *e);

/*
 * The first record at or above the log start offset whose timestamp is
 * >= ts: returns 1 with *offset_out and *ts_out set, 0 if there is none
 * (the caller answers with the log end offset), -1 on error. The special
 * ListOffsets timestamps (-1 latest, -2 earliest) are the caller's.
 */
int plog_offset_for_timestamp(struct plog *log, int64_t ts,
    int64_t *offset_out, int64_t *ts_out, struct err *e);

/*
 * Remove everything at and after `offset`: the batch holding it (all of
 * it, as in Kafka) and everything later, deleting whole segments above it
 * and fixing indexes. At or below the first segment's base, every segment
 * goes and the log restarts empty at `offset`. Afterwards the log end
 * offset is the end of the last remaining batch (so it may be below
 * `offset`); the recovery point and log start offset are lowered to it if
 * above. The cut is fsynced. No-op when offset >= log end offset.
 * 0 or -1 (EXIT_USAGE for a negative offset, EXIT_IOERR).
 */
int plog_truncate_to(struct plog *log, int64_t offset, struct err *e);

/*
 * Remove every segment and restart the log empty at `offset` (any value,
 * above the log end offset too): a follower whose leader's log no longer
 * overlaps its own (Kafka's truncateFullyAndStartAt). The log start
 * offset, log end offset and recovery point all become `offset`; the
 * cleaner checkpoint is unset. 0 or -1 (EXIT_USAGE for a negative
 * offset, EXIT_IOERR; a log left without a segment is marked failed).
 */
int plog_reset_at(struct plog *log, int64_t offset, struct err *e);

/*
 * Raise the log start offset to `offset` (DeleteRecords) and delete the
 * segments that lie entirely below it (never the active one). No-op when
 * offset <= log start offset. Returns 0, PLOG_OUT_OF_RANGE (EXIT_DATAERR)
 * when offset > log end offset, or -1.
 */
int plog_delete_records_before(struct plog *log, int64_t offset,
    struct err *e);

struct plog_retention_result {
	int deleted_by_start;	/* wholly below the log start offset */
	int deleted_by_time;
	int deleted_by_size;
	uint64_t bytes_deleted;
	int64_t log_start_offset;	/* after */
};

/*
 * Apply retention, oldest segments first, each stopping at the first
 * segment that is kept:
 *  - segments wholly below the log start offset;
 *  - by time (retention_ms >= 0): a segment whose largest timestamp (the
 *    .log's mtime when it has none) is more than retention_ms before
 *    now_ms; if that reaches a non-empty active segment it is rolled
 *    first, then deleted;
 *  - by size (retention_bytes >= 0): while the log minus the oldest
 *    segment stays >= retention_bytes (never the active segment).
 * Only segments whose offsets are all below `upper_bound` go (the high
 * watermark, so unreplicated data is kept; INT64_MAX for none). The log
 * start offset advances to the first remaining segment's base. `result`
 * may be NULL. 0 or -1.
 */
int plog_retention(struct plog *log, int64_t now_ms, int64_t upper_bound,
    struct plog_retention_result *result, struct err *e);

/* Start a new segment at the log end offset now (no-op if the active one
 * is empty). The old one is flushed and the recovery point advanced. */
int plog_roll(struct plog *log, int64_t now_ms, struct err *e);

/*
 * fsync the .log and indexes of every segment with unflushed data and
 * advance the recovery point to the log end offset. 0 or -1 (EXIT_IOERR).
 */
int plog_flush(struct plog *log, struct err *e);

/* plog_flush() if flush_ms has passed since the last flush. 0 or -1. */
int plog_maybe_flush(struct plog *log, int64_t now_ms, struct err *e);

/*
 * Rolling off the log's thread. By default a roll makes everything below
 * the new segment durable before it returns (as Kafka: the recovery point
 * moves to the new base), which stalls the caller for as long as the
 * disk takes to write the old segment (a second for a 1 GiB segment).
 * After plog_defer_roll_flush(log) a roll only records what is to be
 * synced; the owner hands it to another thread:
 *
 *   plog_flush_take(log, &job)     on the log's thread, after an append,
 *                                  roll or retention: 1 when a job is due
 *   plog_flush_job_run(job)        on any thread: fdatasync/fsync the
 *                                  job's own descriptors, nothing else
 *   plog_flush_job_finish(log,job) on the log's thread: the recovery
 *                                  point moves to the job's end
 *   plog_flush_job_free(job)
 *
 * Until a job finishes the recovery point stays where it was, so a crash
 * in between only makes the next start validate more. A job that finds
 * the log cut under it (truncation, a reset, a swap: another generation)
 * changes nothing; the next job starts again from the recovery point.
 * plog_flush() syncs whatever jobs have not.
 */
struct plog_flush_job;

void plog_defer_roll_flush(struct plog *log);

/* Whether a roll left something for plog_flush_take (cheap). */
bool plog_flush_due(const struct plog *log);

/*
 * The descriptors (dup'd, or opened by name for rolled indexes) of what
 * the rolls since the last job left unsynced. 1 with *out the caller's,
 * 0 when nothing is due, -1 with EXIT_IOERR (a file could not be opened)
 * or EXIT_OSERR.
 */
int plog_flush_take(struct plog *log, struct plog_flush_job **out,
    struct err *e);

/* Thread-safe: touches the job alone. 0, or -1 naming the file. */
int plog_flush_job_run(struct plog_flush_job *job, struct err *e);

/*
 * After run: `ok` false marks the log failed (data the disk refused may
 * be gone, so nothing more is appended); true moves the recovery point.
 */
void plog_flush_job_finish(struct plog *log,
    const struct plog_flush_job *job, bool ok);

/* The offset below which the job makes the log durable. */
int64_t plog_flush_job_end(const struct plog_flush_job *job);

void plog_flush_job_free(struct plog_flush_job *job);

int64_t plog_start_offset(const struct plog *log);
int64_t plog_end_offset(const struct plog *log);
int64_t plog_recovery_point(const struct plog *log);
/* Bytes in all segment files. */
uint64_t plog_size(const struct plog *log);
size_t plog_segment_count(const struct plog *log);
const char *plog_dir(const struct plog *log);

struct plog_segment_info {
	int64_t base_offset;
	uint64_t size;
	const char *path;	/* borrowed from the log; the .log file */
	int64_t largest_timestamp;	/* -1 when none */
	bool active;
};

/* Describe segment i (0 = oldest); 0, or -1 (EXIT_USAGE) if out of range. */
int plog_segment_info(struct plog *log, size_t i,
    struct plog_segment_info *out, struct err *e);

/* The header fields of one batch, as plog_scan_batches() reports them. */
struct plog_batch_header {
	int64_t base_offset;
	int64_t last_offset;
	int64_t max_timestamp;
	int64_t producer_id;	/* -1: none */
	int16_t producer_epoch;
	int16_t attributes;
	int32_t base_sequence;
	int64_t segment_base;	/* the segment holding it */
	uint64_t position;	/* its position in that segment's .log */
	uint32_t size;		/* whole batch, header included */
};

/* Called for each batch; 0 goes on, any other value stops the scan. */
typedef int (*plog_batch_fn)(void *arg, const struct plog_batch_header *h);

/*
 * Call fn for every batch whose last offset is >= `from` (raised to the
 * log start offset), oldest first, up to the log end offset. Only the
 * 61-byte headers are read (pread through a 4 KiB window, so a run of
 * small batches costs one read): no CRC check, no decompression, no
 * allocation; segments that had no open fd are left without one. The
 * cost is O(batches scanned). Returns 0 at the end, fn's
 * non-zero value when it stopped the scan, or -1 with EXIT_IOERR or
 * EXIT_DATAERR (a header that does not parse) naming the segment.
 */
int plog_scan_batches(struct plog *log, int64_t from, plog_batch_fn fn,
    void *arg, struct err *e);

/*
 * Log compaction (cleanup.policy=compact), Kafka's LogCleaner for one
 * log; see plog_compact.c for the design. Settings of one pass; fill with
 * plog_compact_opts_init() and adjust.
 */
struct plog_compact_opts {
	double min_cleanable_ratio;	/* min.cleanable.dirty.ratio: 0.5 */
	int64_t delete_retention_ms;	/* delete.retention.ms: 1 day */
	uint64_t offset_map_bytes;	/* log.cleaner.dedupe.buffer.size:
					 * 128 MiB; 24 bytes per key */
	int64_t now_ms;			/* wall clock of the pass */
	uint64_t io_bytes_per_sec;	/* log.cleaner.io.max.bytes.per.second:
					 * 0 = unlimited */
	int64_t first_uncleanable_offset;	/* the high watermark: nothing
					 * at or above it is cleaned;
					 * INT64_MAX = no bound */
	unsigned crash_at;		/* tests only: 0, or stop before the
					 * n-th file operation of a swap as
					 * a crash would (see plog_compact) */
	/*
	 * Polled before every read and while throttled (at least every
	 * 50 ms): true abandons the pass with EXIT_TEMPFAIL, as for a
	 * shutdown. Called on the thread running the step; NULL: never.
	 */
	bool (*stop)(void *arg);
	void *stop_arg;
};

/* Kafka's defaults, now_ms = the wall clock, no bound, no throttle. */
void plog_compact_opts_init(struct plog_compact_opts *o);

struct plog_compact_result {
	bool ran;		/* false: nothing dirty or below the ratio */
	double dirty_ratio;	/* cleanable / (clean + cleanable) bytes */
	int64_t first_dirty_offset;	/* where the dirty part started */
	int64_t first_uncleanable_offset;	/* base of the first segment
					 * that could not be cleaned */
	int64_t checkpoint;	/* cleaner checkpoint after the pass */
	bool map_full;		/* only a prefix of the dirty part fitted */
	uint64_t keys_mapped;	/* distinct keys in the offset map */
	int segments_cleaned;	/* old segments replaced */
	int segments_written;	/* cleaned segments that replaced them */
	uint64_t bytes_before;	/* of the replaced segments */
	uint64_t bytes_after;	/* of the cleaned segments */
	uint64_t batches_read;
	uint64_t batches_kept;	/* empty ones included */
	uint64_t batches_emptied;	/* kept without records: a
					 * producer's last, a group's last */
	uint64_t records_read;
	uint64_t records_kept;
	uint64_t records_removed;	/* superseded or expired */
	uint64_t tombstones_dropped;	/* removed past their horizon */
	uint64_t throttled_ms;	/* slept for io_bytes_per_sec */
};

/*
 * One cleaner pass over `log`, as Kafka's Cleaner.doClean:
 *  - the dirty part runs from the cleaner checkpoint (the log start
 *    offset when unset or out of range) to the base of the segment that
 *    holds min(first_uncleanable_offset, active base); the clean part is
 *    the segments below the checkpoint. Nothing happens (0, ran false)
 *    unless dirty bytes > 0 and dirty / (clean + dirty) >=
 *    min_cleanable_ratio;
 *  - an offset map (key digest -> latest offset) is built over the dirty
 *    part in at most offset_map_bytes; if it fills up, only the prefix
 *    that fitted is cleaned;
 *  - every segment from the first one to the end of the mapped range is
 *    rewritten, in groups of consecutive segments that fit one segment
 *    (segment_bytes, index_max_bytes, 2^31 offsets); a group becomes one
 *    segment at its first base offset, swapped in atomically. Records
 *    keep their offsets and batches their base and last offsets and
 *    producer fields.
 * The cleaner checkpoint then moves to the end of the mapped range.
 * `out` may be NULL. Returns 0, or -1 with EXIT_USAGE (bad options, an
 * offset map too small for one key), EXIT_SOFTWARE (read-only or failed
 * log), EXIT_DATAERR (a corrupt batch: nothing is swapped for its
 * group), EXIT_IOERR/EXIT_OSERR, EXIT_TEMPFAIL (opts.stop). A failure
 * before a group's swap commits leaves the log as it was; after it, the
 * log is marked failed and the next plog_open() completes the swap. Read
 * slices of replaced segments become invalid (descriptors duplicated
 * from them still read the old bytes). Runs the steps below in a row on
 * the caller's thread.
 */
int plog_compact(struct plog *log, const struct plog_compact_opts *o,
    struct plog_compact_result *out, struct err *e);

/*
 * The same pass in steps, so that a cleaner thread can do the reading
 * and writing while the log's own thread keeps serving (Kafka's
 * LogCleaner threads). The log's thread calls prepare, commit, finish
 * and free; step may run on any thread, one call at a time, and touches
 * nothing of the log: only the job's snapshot of it (segment bases and
 * sizes, index sizes, a descriptor of its own for each .log, so that
 * retention or truncation deleting a file does not disturb it).
 *
 *   plog_compact_prepare(log)   plan; snapshot when the pass is to run
 *   plog_compact_step(job)      1: a group is cleaned (*.cleaned files)
 *   plog_compact_commit(log)    swap it in; then step again
 *   ...                         until step returns 0
 *   plog_compact_finish(log)    move the cleaner checkpoint
 *   plog_compact_job_free(job)
 *
 * The log keeps a generation, bumped whenever it removes or cuts a
 * segment (retention, record deletion, truncation, a swap). A commit or
 * finish that finds another generation than the job's (its own swaps
 * excepted) returns PLOG_COMPACT_STALE, removes the cleaned files and
 * changes nothing: the caller may retry with a new job. Appends and
 * rolls do not make a job stale; the active segment is never cleaned.
 */
struct plog_compact_job;

/* Return value of commit and finish when the log changed under the job. */
#define PLOG_COMPACT_STALE 1

/*
 * Plan a pass over `log` (see plog_compact) and, when it is to run
 * (plog_compact_job_result(job)->ran), snapshot the segments it reads.
 * The options are copied. *out is the caller's, freed with
 * plog_compact_job_free(), also when the pass does not run. Returns 0,
 * or -1 with EXIT_USAGE, EXIT_SOFTWARE (read-only or failed log),
 * EXIT_IOERR (a segment could not be opened), EXIT_OSERR.
 */
int plog_compact_prepare(struct plog *log, const struct plog_compact_opts *o,
    struct plog_compact_job **out, struct err *e);

/*
 * Do the next part of the pass: the first call scans the batch headers
 * and builds the offset map; every call then writes the next group's
 * cleaned segment (complete and fsynced, under *.cleaned names).
 * Returns 1 when a group waits for plog_compact_commit(), 0 when the
 * pass has nothing left to write (or did not run), -1 with EXIT_TEMPFAIL
 * (opts.stop said so), EXIT_DATAERR (a corrupt batch), EXIT_USAGE (an
 * offset map too small for one key), EXIT_IOERR, EXIT_OSERR or
 * EXIT_SOFTWARE (the last group is not committed yet). After -1 the job
 * is over: only free it.
 */
int plog_compact_step(struct plog_compact_job *job, struct err *e);

/*
 * Swap the group the last step wrote into `log` (the log the job was
 * prepared on), by the protocol described at plog_compact. Returns 0,
 * PLOG_COMPACT_STALE (the log changed: the cleaned files are removed,
 * the job is over), or -1 (see plog_compact; the job is over, and after
 * a failure past the commit point the log is marked failed).
 */
int plog_compact_commit(struct plog *log, struct plog_compact_job *job,
    struct err *e);

/*
 * After step returned 0: move the log's cleaner checkpoint to the end of
 * the mapped range. 0, PLOG_COMPACT_STALE (the log changed since the
 * last commit: the checkpoint stays), or -1 with EXIT_SOFTWARE (the pass
 * is not complete).
 */
int plog_compact_finish(struct plog *log, struct plog_compact_job *job,
    struct err *e);

/* Whether `log` is still as the job saw it (its generation). */
bool plog_compact_current(const struct plog *log,
    const struct plog_compact_job *job);

/* What the pass did so far; borrowed from the job. */
const struct plog_compact_result *plog_compact_job_result(
    const struct plog_compact_job *job);

/*
 * Remove the cleaned files not committed, close the job's descriptors
 * and free it. NULL is a no-op. Not concurrently with a step.
 */
void plog_compact_job_free(struct plog_compact_job *job);

/*
 * Kafka's cleaner checkpoint: the offset below which the log has been
 * compacted (cleaner-offset-checkpoint in the data directory, kept by
 * the caller; see logdir.h). -1 when unset.
 */
int64_t plog_cleaner_checkpoint(const struct plog *log);
void plog_set_cleaner_checkpoint(struct plog *log, int64_t offset);

#endif
