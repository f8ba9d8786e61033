/* SPDX-License-Identifier: MIT */
/*
 * Flush jobs: making rolled segments durable off the log's thread (see
 * plog.h, plog_defer_roll_flush). A job owns descriptors of its own (the
 * .log dup'd, the rolled indexes opened by name), so the thread that runs
 * it never touches the plog, and a segment deleted or replaced meanwhile
 * only costs a useless sync of the old file. The recovery point moves
 * when the log's thread finishes a job, and only if the log was not cut
 * in between (its generation).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plog_impl.h"
#include "util.h"
#include "banned.h"

struct flush_file {
	int fd;
	bool data_only;		/* fdatasync (a .log); else fsync */
	char *path;		/* for the error message */
};

struct plog_flush_job {
	int64_t from;		/* the recovery point, or the previous job's end */
	int64_t upto;		/* durable below this once run */
	uint64_t gen;
	size_t n;
	struct flush_file *files;	/* 3 per segment at most */
};

void
plog_defer_roll_flush(struct plog *log)
{
	log->defer_roll_flush = true;
}

/*
 * What the next job covers: from the recovery point, or the end of the
 * jobs already taken in this generation, up to what rolls left unsynced
 * (never into the active segment: a truncation may have made an older
 * segment active again). Empty when *upto <= *from. The log has an
 * active segment.
 */
static void
flush_range(const struct plog *log, int64_t *from, int64_t *upto)
{
	*from = log->recovery_point;
	if (log->flush_taken_gen == log->gen && log->flush_taken > *from)
		*from = log->flush_taken;
	*upto = log->flush_wanted;
	if (*upto > plog_active(log)->base_offset)
		*upto = plog_active(log)->base_offset;
}

bool
plog_flush_due(const struct plog *log)
{
	int64_t from, upto;

	if (!log->defer_roll_flush || log->readonly || log->nsegs == 0)
		return false;
	flush_range(log, &from, &upto);
	return upto > from;
}

static int
add_file(struct plog_flush_job *job, int fd, bool data_only,
    const char *path, struct err *e)
{
	struct flush_file *f = &job->files[job->n];

	if (fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open '%s' to sync it",
		    path);
	f->fd = fd;
	f->data_only = data_only;
	f->path = strdup(path);
	job->n++;
	if (f->path == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	return 0;
}

/* The unsynced files of rolled segment s. */
static int
add_segment(struct plog_flush_job *job, const struct seg *s, struct err *e)
{
	if (s->dirty && s->fd >= 0 &&
	    add_file(job, fcntl(s->fd, F_DUPFD_CLOEXEC, 0), true, s->log_path,
	    e) < 0)
		return -1;
	if (!s->indexes_unsynced)
		return 0;
	if (add_file(job, open(s->oidx.path, O_RDONLY | O_CLOEXEC), false,
	    s->oidx.path, e) < 0 ||
	    add_file(job, open(s->tidx.path, O_RDONLY | O_CLOEXEC), false,
	    s->tidx.path, e) < 0)
		return -1;
	return 0;
}

int
plog_flush_take(struct plog *log, struct plog_flush_job **out,
    struct err *e)
{
	struct plog_flush_job *job;
	int64_t from, upto;
	size_t first, i;

	*out = NULL;
	if (!plog_flush_due(log))
		return 0;
	flush_range(log, &from, &upto);
	first = plog_seg_index(log, from);
	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->files = calloc(3 * (log->nsegs - first),
	    sizeof(*job->files))) == NULL) {
		free(job);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	for (i = first; i < log->nsegs && log->segs[i]->base_offset < upto;
	    i++)
		if (add_segment(job, log->segs[i], e) < 0) {
			plog_flush_job_free(job);
			return err_wrap(e, "log '%s': flush job", log->dir);
		}
	job->from = from;
	job->upto = upto;
	job->gen = log->gen;
	log->flush_taken = upto;
	log->flush_taken_gen = log->gen;
	*out = job;
	return 1;
}

int
plog_flush_job_run(struct plog_flush_job *job, struct err *e)
{
	size_t i;

	for (i = 0; i < job->n; i++) {
		const struct flush_file *f = &job->files[i];

		if ((f->data_only ? fdatasync(f->fd) : fsync(f->fd)) < 0)
			return err_sys(e, EXIT_IOERR, "unable to fsync '%s'",
			    f->path);
	}
	return 0;
}

void
plog_flush_job_finish(struct plog *log, const struct plog_flush_job *job,
    bool ok)
{
	int64_t upto = job->upto;
	size_t i;

	if (!ok) {
		log->failed = true;
		return;
	}
	/* Cut meanwhile: not known durable. The next job starts over. */
	if (job->gen != log->gen)
		return;
	/* A job before it did not finish: the next starts over from there. */
	if (job->from > log->recovery_point) {
		log->flush_taken = log->recovery_point;
		return;
	}
	if (upto > plog_end_offset(log))
		upto = plog_end_offset(log);
	if (upto <= log->recovery_point)
		return;
	for (i = plog_seg_index(log, log->recovery_point); i < log->nsegs &&
	    log->segs[i]->base_offset < upto; i++) {
		struct seg *s = log->segs[i];

		if (s->active)
			break;
		s->dirty = false;
		s->indexes_unsynced = false;
	}
	log->recovery_point = upto;
}

int64_t
plog_flush_job_end(const struct plog_flush_job *job)
{
	return job->upto;
}

void
plog_flush_job_free(struct plog_flush_job *job)
{
	size_t i;

	if (job == NULL)
		return;
	for (i = 0; i < job->n; i++) {
		close(job->files[i].fd);
		free(job->files[i].path);
	}
	free(job->files);
	free(job);
}
