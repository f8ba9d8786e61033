/* SPDX-License-Identifier: MIT */
/*
 * The log's side of compaction (plog.h): swapping a cleaned segment in
 * for the old segments of its group, moving the cleaner checkpoint, and
 * plog_compact(), which runs a whole pass on the caller's thread. All of
 * it runs on the log's thread; plog_compact.c writes what is swapped.
 *
 * The swap of a group [S1..Sn] for its cleaned segment C (base of S1):
 *   a. (the step) C was written as <base>.{log,index,timeindex}.cleaned,
 *      fsynced, directory fsynced;
 *   b. rename C to *.swap (indexes first, .log last), fsync dir: once
 *      <base>.log.swap exists the swap is committed;
 *   c. rename each file of S1..Sn to *.deleted, fsync dir, unlink them;
 *   d. rename C to its plain names (.log first), fsync dir.
 * plog_open() removes *.cleaned and the *.swap beside them (a crash in a,
 * or in b before the .log's rename: the old set stays) and finishes a
 * committed swap (a crash after it: the new set): it removes the segment
 * files whose bases lie in [C's base, C's next offset) and gives the
 * *.swap files their names. Groups are swapped one after the other; a
 * crash between groups leaves the first ones cleaned and the others as
 * they were, still a correct log: every record removed has a newer one
 * for its key that stays.
 *
 * Before b, the log must still be as the job's snapshot saw it: the same
 * generation (nothing removed or cut since prepare, or since the job's
 * own last swap) and the group's segments at the same bases with the
 * same sizes. Otherwise C is removed and nothing changes. Old segments
 * are freed after the swap; a reader that duplicated a descriptor of
 * one (logd's responses do) still reads its bytes until it closes it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plog.h"
#include "plog_compact_impl.h"
#include "plog_impl.h"
#include "segment.h"
#include "banned.h"

/*
 * Count one swap operation; 1 when crash_at says to stop before it (the
 * files stay as they are, as after a crash).
 */
static int
crash_point(struct plog *log, struct plog_compact_job *j, struct err *e)
{
	if (j->o.crash_at == 0 || ++j->ops != j->o.crash_at)
		return 0;
	log->failed = true;
	err_set(e, EXIT_SOFTWARE, "stopped before swap operation %u "
	    "(simulated crash)", j->ops);
	return 1;
}

/* Step c: rename the old segments' files to *.deleted, then unlink them. */
static int
retire_old(struct plog *log, struct plog_compact_job *j, size_t i, size_t k,
    struct err *e)
{
	char gone[PATH_MAX];
	size_t n, f;

	for (n = i; n <= k; n++) {
		struct seg *s = log->segs[n];
		const char *paths[3] = { s->log_path, s->oidx.path,
		    s->tidx.path };

		for (f = 0; f < 3; f++) {
			if (snprintf(gone, sizeof(gone), "%s.deleted",
			    paths[f]) >= (int)sizeof(gone))
				return err_set(e, EXIT_SOFTWARE, "path too "
				    "long: '%s'", paths[f]);
			if (crash_point(log, j, e))
				return -1;
			if (rename(paths[f], gone) < 0 && (errno != ENOENT ||
			    f == 0))
				return err_sys(e, EXIT_IOERR, "unable to "
				    "rename '%s'", paths[f]);
		}
	}
	if (plog_dir_fsync(log, e) < 0)
		return -1;
	for (n = i; n <= k; n++) {
		struct seg *s = log->segs[n];
		const char *paths[3] = { s->log_path, s->oidx.path,
		    s->tidx.path };

		for (f = 0; f < 3; f++) {
			snprintf(gone, sizeof(gone), "%s.deleted", paths[f]);
			if (crash_point(log, j, e))
				return -1;
			if (unlink(gone) < 0 && errno != ENOENT)
				return err_sys(e, EXIT_IOERR, "unable to "
				    "remove '%s'", gone);
		}
	}
	return 0;
}

/* Put the cleaned segment in place of log->segs[i..k] in the array. */
static void
replace_segments(struct plog *log, struct plog_compact_job *j, size_t i,
    size_t k, struct seg *c)
{
	size_t n;

	j->res.segments_cleaned += (int)(k - i + 1);
	j->res.segments_written++;
	for (n = i; n <= k; n++) {
		j->res.bytes_before += log->segs[n]->size;
		seg_free(log->segs[n]);
	}
	j->res.bytes_after += c->size;
	log->segs[i] = c;
	memmove(log->segs + i + 1, log->segs + k + 1,
	    (log->nsegs - k - 1) * sizeof(*log->segs));
	log->nsegs -= k - i;
	log->gen++;
	j->gen = log->gen;
}

/* Steps b..d for log->segs[i..k] and the job's cleaned segment. */
static int
swap_in(struct plog *log, struct plog_compact_job *j, size_t i, size_t k,
    struct err *e)
{
	struct seg *c = j->cleaned;

	j->cleaned = NULL;
	if (crash_point(log, j, e))
		goto stop;
	if (seg_rename(c, ".swap", e) < 0 || plog_dir_fsync(log, e) < 0) {
		/* Not committed unless the .log got its new name. */
		if (strstr(c->log_path, ".swap") == NULL) {
			seg_delete(c, NULL);
			return -1;
		}
		goto failed;
	}
	if (retire_old(log, j, i, k, e) < 0)
		goto failed;
	if (crash_point(log, j, e))
		goto stop;
	if (seg_rename(c, "", e) < 0 || plog_dir_fsync(log, e) < 0)
		goto failed;
	if (crash_point(log, j, e))
		goto stop;
	replace_segments(log, j, i, k, c);
	return 0;
failed:
	/* Committed: the next plog_open() finishes what is left. */
	log->failed = true;
	err_wrap(e, "swap interrupted; reopen the log to complete it");
stop:
	seg_free(c);
	return -1;
}

/*
 * Whether the group's old segments are in the log as the snapshot saw
 * them; *at is where the first one is.
 */
static bool
group_holds(const struct plog *log, const struct plog_compact_job *j,
    size_t *at)
{
	size_t n = j->gj - j->gi + 1, i, k;

	if (log->gen != j->gen || strcmp(log->dir, j->dir) != 0)
		return false;
	i = plog_seg_index(log, j->segs[j->gi].base);
	/* The active segment is never replaced. */
	if (i + n >= log->nsegs)
		return false;
	for (k = 0; k < n; k++) {
		const struct seg *s = log->segs[i + k];
		const struct snap_seg *t = &j->segs[j->gi + k];

		if (s->base_offset != t->base || s->size != t->size)
			return false;
	}
	*at = i;
	return true;
}

bool
plog_compact_current(const struct plog *log,
    const struct plog_compact_job *j)
{
	return log->gen == j->gen && strcmp(log->dir, j->dir) == 0;
}

/* Drop the job's uncommitted output; it can do nothing more. */
static void
discard(struct plog_compact_job *j)
{
	if (j->cleaned != NULL)
		seg_delete(j->cleaned, NULL);
	j->cleaned = NULL;
	j->over = true;
}

int
plog_compact_commit(struct plog *log, struct plog_compact_job *j,
    struct err *e)
{
	size_t i;

	if (j->cleaned == NULL)
		return err_set(e, EXIT_SOFTWARE, "log '%s': compaction: "
		    "nothing to commit", log->dir);
	if (log->readonly || log->failed) {
		discard(j);
		return err_set(e, EXIT_IOERR, "log '%s': compaction: the log "
		    "is %s", log->dir, log->readonly ? "read-only" : "failed");
	}
	if (!group_holds(log, j, &i)) {
		discard(j);
		return PLOG_COMPACT_STALE;
	}
	if (swap_in(log, j, i, i + (j->gj - j->gi), e) < 0) {
		j->over = true;
		return err_wrap(e, "log '%s': compaction", log->dir);
	}
	return 0;
}

int
plog_compact_finish(struct plog *log, struct plog_compact_job *j,
    struct err *e)
{
	if (!j->res.ran)
		return 0;
	if (j->over || !j->mapped || j->cleaned != NULL ||
	    j->next < j->nlist)
		return err_set(e, EXIT_SOFTWARE, "log '%s': compaction: the "
		    "pass is not complete", log->dir);
	if (!plog_compact_current(log, j))
		return PLOG_COMPACT_STALE;
	log->cleaner_checkpoint = j->map_end;
	j->res.checkpoint = j->map_end;
	return 0;
}

int
plog_compact(struct plog *log, const struct plog_compact_opts *o,
    struct plog_compact_result *out, struct err *e)
{
	struct plog_compact_job *j;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (plog_compact_prepare(log, o, &j, e) < 0)
		return -1;
	while ((r = plog_compact_step(j, e)) == 1)
		if ((r = plog_compact_commit(log, j, e)) != 0)
			break;
	if (r == 0)
		r = plog_compact_finish(log, j, e);
	/* Nothing else touches the log meanwhile. */
	if (r == PLOG_COMPACT_STALE)
		r = err_set(e, EXIT_SOFTWARE, "log '%s': compaction: the log "
		    "changed during the pass", log->dir);
	if (out != NULL)
		*out = j->res;
	plog_compact_job_free(j);
	return r;
}
