/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by plog.c and plog_ops.c; not part of the API. The
 * segment array is sorted by base offset and its last element is the
 * active segment (a read-only log may have none).
 */
#ifndef KLOG_PLOG_IMPL_H
#define KLOG_PLOG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plog.h"
#include "segment.h"

struct plog {
	char *dir;
	struct plog_config cfg;
	struct seg **segs;	/* sorted by base offset; last is active */
	size_t nsegs;
	size_t cap;
	int64_t start_offset;
	int64_t recovery_point;
	int64_t empty_end;	/* end of a read-only log without segments */
	int64_t last_flush_ms;
	int64_t cleaner_checkpoint;	/* -1 until set; see plog_compact */
	uint64_t gen;		/* bumped when a segment is removed, cut or
				 * replaced: compaction jobs check it */
	/* Rolls whose sync is left to flush jobs (plog_flush.c). */
	bool defer_roll_flush;
	int64_t flush_wanted;	/* rolls left everything below this unsynced */
	int64_t flush_taken;	/* jobs taken so far cover up to here */
	uint64_t flush_taken_gen;	/* ... in this generation */
	bool readonly;
	bool failed;		/* a segment holds bytes past its valid end,
				 * or the disk refused a sync */
};

static inline struct seg *
plog_active(const struct plog *log)
{
	return log->nsegs > 0 ? log->segs[log->nsegs - 1] : NULL;
}

static inline struct seg_params
plog_params(const struct plog_config *c)
{
	struct seg_params p;

	p.index_interval_bytes = (uint64_t)c->index_interval_bytes;
	p.index_max_bytes = (size_t)c->index_max_bytes;
	p.max_batch_bytes = (size_t)c->max_batch_bytes;
	return p;
}

/* Index of the segment holding `offset`: the last base <= offset, or 0. */
static inline size_t
plog_seg_index(const struct plog *log, int64_t offset)
{
	size_t lo = 0, hi = log->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (log->segs[mid]->base_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? lo - 1 : 0;
}

/* Append a segment (taking ownership; freed on failure). 0 or -1. */
int plog_push_seg(struct plog *log, struct seg *s, struct err *e);
/* Delete segment i's files and drop it from the array (a new generation). */
int plog_delete_seg(struct plog *log, size_t i, struct err *e);
/* fsync every dirty segment below `upto`; the recovery point follows. */
int plog_flush_upto(struct plog *log, int64_t upto, struct err *e);
/* fsync the log's directory (after creating, renaming, removing). */
int plog_dir_fsync(const struct plog *log, struct err *e);
/*
 * 0 when `log` may change; -1 with EXIT_SOFTWARE (opened read-only) or
 * EXIT_IOERR (failed after a partial write) otherwise.
 */
int plog_check_writable(const struct plog *log, struct err *e);

#endif
