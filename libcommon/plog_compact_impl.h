/* SPDX-License-Identifier: MIT */
/*
 * Internals of log compaction shared by plog_compact.c (planning, the
 * snapshot and the cleaning, which may run on a cleaner thread) and
 * plog_compact_swap.c (swapping cleaned segments into the log on the
 * log's own thread); not part of the API. A job's fields belong to
 * whichever thread holds the job: the caller hands it over whole.
 */
#ifndef KLOG_PLOG_COMPACT_IMPL_H
#define KLOG_PLOG_COMPACT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cleaner.h"
#include "plog.h"
#include "record.h"
#include "segment.h"

/* Producer id -> last offset of its last data batch; open addressing. */
struct pid_map {
	int64_t *keys;		/* -1: empty */
	int64_t *vals;
	size_t cap;		/* a power of two */
	size_t n;
};

/* One segment as prepare saw it; the steps read nothing else. */
struct snap_seg {
	int64_t base;
	uint64_t size;		/* bytes of whole batches at prepare */
	uint64_t oidx_bytes;	/* index entries, in bytes */
	uint64_t tidx_bytes;
	int fd;			/* the job's own; -1 once no longer needed */
	char *path;		/* the .log's name at prepare, for messages */
};

/* A pread window over one snapshot segment, reused across segments. */
struct reader {
	struct snap_seg *s;
	uint8_t *buf;
	size_t cap;
	size_t chunk;		/* preferred read size */
	uint64_t win_pos;
	size_t win_len;
};

struct plog_compact_job {
	struct plog_compact_opts o;
	struct plog_compact_result res;
	char *dir;
	struct plog_config cfg;
	uint64_t gen;		/* the log's generation the snapshot matches */
	struct snap_seg *segs;	/* every segment, the active one last */
	size_t nsegs;
	size_t dirty_idx;	/* the segment holding first_dirty */
	uint64_t dirty_pos;	/* its first batch at or above first_dirty */
	size_t nlist;		/* segments rewritten: [0, nlist) */
	size_t next;		/* first segment of the next group */
	int64_t first_dirty;
	int64_t first_uncleanable;
	int64_t map_end;	/* offsets below are in the map's range */
	uint64_t dirty_records;
	struct pid_map pids;
	struct cln_map map;
	struct cln_filter filter;
	struct reader rd;
	struct rec_iter it;
	struct buf out;
	bool mapped;		/* headers scanned, map built */
	bool over;		/* failed or stale: only free it */
	struct seg *cleaned;	/* written, waiting for commit */
	size_t gi, gj;		/* the old segments it replaces */
	unsigned ops;		/* swap file operations so far (crash_at) */
	int64_t started_ms;
	uint64_t io_bytes;
};

#endif
