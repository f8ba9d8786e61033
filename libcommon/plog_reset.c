/* SPDX-License-Identifier: MIT */
/*
 * plog_reset_at(): empty a partition log and restart it at any offset.
 * A follower needs it when the leader's log no longer overlaps its own:
 * the leader's log start moved past our end (retention), or we must
 * start below our own log start. Segments go newest first, so a crash
 * midway leaves a shorter prefix of the old log, never a hole.
 */
#include <inttypes.h>

#include "plog_impl.h"
#include "util.h"
#include "banned.h"

int
plog_reset_at(struct plog *log, int64_t offset, struct err *e)
{
	struct seg_params params = plog_params(&log->cfg);
	struct seg *s;

	if (plog_check_writable(log, e) < 0)
		return -1;
	if (offset < 0)
		return err_set(e, EXIT_USAGE, "log '%s': cannot restart at "
		    "negative offset %" PRId64, log->dir, offset);
	/* A compaction job must not swap in anything read before this. */
	log->gen++;
	while (log->nsegs > 0)
		if (plog_delete_seg(log, log->nsegs - 1, e) < 0)
			goto fail;
	if (seg_create(log->dir, offset, &params, clock_wall_ms(), &s, e) < 0 ||
	    plog_push_seg(log, s, e) < 0)
		goto fail;
	log->start_offset = offset;
	log->recovery_point = offset;
	log->cleaner_checkpoint = -1;
	return plog_dir_fsync(log, e);
fail:
	/* Without an active segment the log cannot go on. */
	if (log->nsegs == 0)
		log->failed = true;
	return err_wrap(e, "log '%s': restart at %" PRId64, log->dir, offset);
}
