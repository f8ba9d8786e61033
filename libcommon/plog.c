/* SPDX-License-Identifier: MIT */
/*
 * A partition log (see plog.h): configuration, opening and recovering a
 * directory of segments, closing, flushing and the segment array that
 * plog_ops.c (appends, reads, truncation, retention) works on.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog.h"
#include "plog_impl.h"
#include "record.h"
#include "segment.h"
#include "util.h"
#include "banned.h"

void
plog_config_init(struct plog_config *c)
{
	c->segment_bytes = 1073741824;
	c->segment_ms = 7LL * 24 * 3600 * 1000;
	c->index_interval_bytes = 4096;
	c->index_max_bytes = 10485760;
	c->retention_ms = 7LL * 24 * 3600 * 1000;
	c->retention_bytes = -1;
	c->flush_messages = PLOG_NEVER;
	c->flush_ms = PLOG_NEVER;
	c->max_batch_bytes = 1048588;
}

static int
check_range(const char *name, int64_t v, int64_t min, int64_t max,
    struct err *e)
{
	if (v < min || v > max)
		return err_set(e, EXIT_CONFIG, "%s: %" PRId64 " is not in [%"
		    PRId64 ", %" PRId64 "]", name, v, min, max);
	return 0;
}

int
plog_config_check(const struct plog_config *c, struct err *e)
{
	if (check_range("segment_bytes", c->segment_bytes,
	    REC_BATCH_HEADER_SIZE, INT32_MAX, e) < 0 ||
	    check_range("segment_ms", c->segment_ms, 1, INT64_MAX, e) < 0 ||
	    check_range("index_interval_bytes", c->index_interval_bytes, 0,
	    INT32_MAX, e) < 0 ||
	    check_range("index_max_bytes", c->index_max_bytes,
	    2 * IDX_TIME_ENTRY_SIZE, INT32_MAX, e) < 0 ||
	    check_range("retention_ms", c->retention_ms, -1, INT64_MAX,
	    e) < 0 ||
	    check_range("retention_bytes", c->retention_bytes, -1, INT64_MAX,
	    e) < 0 ||
	    check_range("flush_messages", c->flush_messages, 1, INT64_MAX,
	    e) < 0 ||
	    check_range("flush_ms", c->flush_ms, 0, INT64_MAX, e) < 0 ||
	    check_range("max_batch_bytes", c->max_batch_bytes,
	    REC_BATCH_HEADER_SIZE, INT32_MAX, e) < 0)
		return -1;
	return 0;
}

int64_t
plog_end_offset(const struct plog *log)
{
	return log->nsegs > 0 ? plog_active(log)->next_offset : log->empty_end;
}

int64_t
plog_start_offset(const struct plog *log)
{
	return log->start_offset;
}

int64_t
plog_recovery_point(const struct plog *log)
{
	return log->recovery_point;
}

const char *
plog_dir(const struct plog *log)
{
	return log->dir;
}

size_t
plog_segment_count(const struct plog *log)
{
	return log->nsegs;
}

uint64_t
plog_size(const struct plog *log)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < log->nsegs; i++)
		n += log->segs[i]->size;
	return n;
}

/* See plog_impl.h for these four. */
int
plog_dir_fsync(const struct plog *log, struct err *e)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/.", log->dir) >= (int)sizeof(path))
		return err_set(e, EXIT_SOFTWARE, "path too long: '%s'",
		    log->dir);
	return dir_fsync_of(path, e);
}

int
plog_push_seg(struct plog *log, struct seg *s, struct err *e)
{
	if (log->nsegs == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 8;
		struct seg **p = realloc(log->segs, cap * sizeof(*p));

		if (p == NULL) {
			seg_free(s);
			return err_set(e, EXIT_OSERR, "out of memory");
		}
		log->segs = p;
		log->cap = cap;
	}
	log->segs[log->nsegs++] = s;
	return 0;
}

int
plog_delete_seg(struct plog *log, size_t i, struct err *e)
{
	struct seg *s = log->segs[i];

	memmove(log->segs + i, log->segs + i + 1,
	    (log->nsegs - i - 1) * sizeof(*log->segs));
	log->nsegs--;
	log->gen++;
	return seg_delete(s, e);
}

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
push_i64(int64_t **v, size_t *n, size_t *cap, int64_t x, struct err *e)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		int64_t *p = realloc(*v, c * sizeof(*p));

		if (p == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int
remove_file(struct plog *log, const char *name, struct plog_report *rep,
    struct err *e)
{
	char path[PATH_MAX];

	if (log->readonly)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", log->dir, name) >=
	    (int)sizeof(path))
		return err_set(e, EXIT_SOFTWARE, "path too long: '%s/%s'",
		    log->dir, name);
	if (unlink(path) == 0)
		rep->files_removed++;
	else if (errno != ENOENT)
		return err_sys(e, EXIT_IOERR, "unable to remove '%s'", path);
	return 0;
}

/*
 * Completing a compaction swap interrupted by a crash (see plog_compact
 * for the protocol). A "<base>.log.swap" exists only once the cleaned
 * segment was complete, fsynced and all its files renamed from .cleaned;
 * it then replaces the old segments whose base offsets lie in
 * [its base, its next offset). A ".swap" at or above the lowest base of a
 * ".cleaned" file belongs to a swap that had not reached that point.
 */
struct swap_file {
	int64_t base;
	int kind;		/* index into seg_exts */
};

struct swap_plan {
	struct swap_file *files;	/* every parsable *.swap file */
	size_t n, cap;
	int64_t min_cleaned;	/* lowest base of a *.cleaned; INT64_MAX */
	int64_t *logs;		/* bases of the committed .log.swap files */
	size_t nlogs;
	int64_t lo, hi;		/* old segments replaced: [lo, hi) */
};

static const char *const seg_exts[] = { ".log", ".index", ".timeindex" };

static void
swap_plan_release(struct swap_plan *p)
{
	free(p->files);
	free(p->logs);
}

/*
 * If `name` is a segment file name followed by `suffix`, return 1 with
 * *base and *kind (index into seg_exts) set; else 0.
 */
static int
parse_suffixed(const char *name, const char *suffix, int64_t *base, int *kind)
{
	size_t n = strlen(name), m = strlen(suffix), i;
	const char *ext;
	char tmp[64];

	if (n <= m || n - m >= sizeof(tmp) || strcmp(name + n - m, suffix) != 0)
		return 0;
	memcpy(tmp, name, n - m);
	tmp[n - m] = '\0';
	if (!seg_parse_file_name(tmp, base, &ext))
		return 0;
	for (i = 0; i < ARRAY_SIZE(seg_exts); i++)
		if (strcmp(ext, seg_exts[i]) == 0)
			*kind = (int)i;
	return 1;
}

static bool
swap_committed(const struct swap_plan *p, int64_t base)
{
	return base < p->min_cleaned;
}

/* Where the committed swap segment at `base` ends: its next offset. */
static int
swap_end(struct plog *log, int64_t base, int64_t *end, struct err *e)
{
	struct seg_params params = plog_params(&log->cfg);
	struct seg *s;
	int r;

	if (seg_open_as(log->dir, base, ".swap", &params, SEG_OPEN_READONLY,
	    &s, e) < 0)
		return -1;
	r = seg_load_tail(s, e);
	*end = s->next_offset;
	seg_free(s);
	return r < 0 ? -1 : 0;
}

/*
 * Find the *.swap files, remove the *.cleaned ones (nothing is removed
 * when read-only) and work out which old segments the committed swaps
 * replace.
 */
static int
plan_swaps(struct plog *log, struct plog_report *rep, struct swap_plan *p,
    struct err *e)
{
	struct dirent *d;
	size_t i, caplogs = 0;
	int64_t base, end;
	DIR *dir;
	int kind, r = -1;

	memset(p, 0, sizeof(*p));
	p->min_cleaned = INT64_MAX;
	p->lo = INT64_MAX;
	p->hi = INT64_MIN;
	if ((dir = opendir(log->dir)) == NULL)
		return err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to open log directory '%s'", log->dir);
	while ((errno = 0, d = readdir(dir)) != NULL) {
		if (parse_suffixed(d->d_name, ".cleaned", &base, &kind)) {
			if (base < p->min_cleaned)
				p->min_cleaned = base;
			if (remove_file(log, d->d_name, rep, e) < 0)
				goto out;
			continue;
		}
		if (!parse_suffixed(d->d_name, ".swap", &base, &kind))
			continue;
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 8;
			struct swap_file *f = realloc(p->files,
			    cap * sizeof(*f));

			if (f == NULL) {
				err_set(e, EXIT_OSERR, "out of memory");
				goto out;
			}
			p->files = f;
			p->cap = cap;
		}
		p->files[p->n].base = base;
		p->files[p->n].kind = kind;
		p->n++;
	}
	if (errno != 0) {
		err_sys(e, EXIT_IOERR, "unable to read log directory '%s'",
		    log->dir);
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		base = p->files[i].base;
		if (p->files[i].kind != 0 || !swap_committed(p, base))
			continue;
		if (push_i64(&p->logs, &p->nlogs, &caplogs, base, e) < 0 ||
		    swap_end(log, base, &end, e) < 0)
			goto out;
		if (base < p->lo)
			p->lo = base;
		if (end > p->hi)
			p->hi = end;
	}
	if (p->nlogs > 1)
		qsort(p->logs, p->nlogs, sizeof(*p->logs), cmp_i64);
	r = 0;
out:
	closedir(dir);
	return r;
}

/* Whether a plain segment file at `base` is replaced by a committed swap. */
static bool
swap_replaces(const struct swap_plan *p, int64_t base)
{
	return p->nlogs > 0 && base >= p->lo && base < p->hi;
}

/*
 * Finish the swaps: remove the old segment files they replace and the
 * uncommitted *.swap files, fsync the directory, then rename every
 * committed *.swap file to its plain name and fsync again.
 */
static int
apply_swaps(struct plog *log, const struct swap_plan *p,
    struct plog_report *rep, struct err *e)
{
	char from[PATH_MAX], to[PATH_MAX];
	const char *ext;
	struct dirent *d;
	int64_t base;
	size_t i;
	DIR *dir;

	if ((dir = opendir(log->dir)) == NULL)
		return err_sys(e, EXIT_IOERR, "unable to open log directory "
		    "'%s'", log->dir);
	while ((errno = 0, d = readdir(dir)) != NULL) {
		if (!seg_parse_file_name(d->d_name, &base, &ext) ||
		    !swap_replaces(p, base))
			continue;
		if (remove_file(log, d->d_name, rep, e) < 0) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	for (i = 0; i < p->n; i++) {
		snprintf(to, sizeof(to), "%020" PRId64 "%s.swap",
		    p->files[i].base, seg_exts[p->files[i].kind]);
		if (!swap_committed(p, p->files[i].base) &&
		    remove_file(log, to, rep, e) < 0)
			return -1;
	}
	/* The old files must be gone before the new ones take their names. */
	if (plog_dir_fsync(log, e) < 0)
		return -1;
	for (i = 0; i < p->n; i++) {
		if (!swap_committed(p, p->files[i].base))
			continue;
		if (seg_file_path(to, sizeof(to), log->dir, p->files[i].base,
		    seg_exts[p->files[i].kind], e) < 0)
			return -1;
		if (snprintf(from, sizeof(from), "%s.swap", to) >=
		    (int)sizeof(from))
			return err_set(e, EXIT_SOFTWARE, "path too long: '%s'",
			    to);
		if (rename(from, to) < 0)
			return err_sys(e, EXIT_IOERR, "unable to rename '%s'",
			    from);
	}
	rep->swaps_completed += (int)p->nlogs;
	return plog_dir_fsync(log, e);
}

/*
 * List the segment base offsets in the directory (sorted into *bases_out,
 * caller frees), removing leftovers of interrupted operations. A
 * read-only log cannot finish a swap, so it takes the committed
 * "<base>.log.swap" files in place of the segments they replace.
 */
static int
list_segments(struct plog *log, struct plog_report *rep,
    const struct swap_plan *plan, int64_t **bases_out, size_t *n_out,
    struct err *e)
{
	static const char *const junk[] = { ".deleted", ".tmp", ".swap",
	    ".cleaned" };
	int64_t *logs = NULL, *idxs = NULL, base;
	size_t nlogs = 0, caplogs = 0, nidxs = 0, capidxs = 0, i;
	char orphan[32];
	const char *ext;
	struct dirent *d;
	DIR *dir;
	int r = -1;

	if ((dir = opendir(log->dir)) == NULL)
		return err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to open log directory '%s'", log->dir);
	while ((errno = 0, d = readdir(dir)) != NULL) {
		bool removed = false;

		for (i = 0; i < ARRAY_SIZE(junk) && !removed; i++) {
			if (!has_suffix(d->d_name, junk[i]))
				continue;
			if (remove_file(log, d->d_name, rep, e) < 0)
				goto out;
			removed = true;
		}
		if (removed || !seg_parse_file_name(d->d_name, &base, &ext))
			continue;
		if (log->readonly && swap_replaces(plan, base))
			continue;
		if (strcmp(ext, ".log") == 0) {
			if (push_i64(&logs, &nlogs, &caplogs, base, e) < 0)
				goto out;
		} else if (push_i64(&idxs, &nidxs, &capidxs, base, e) < 0) {
			goto out;
		}
	}
	if (errno != 0) {
		err_sys(e, EXIT_IOERR, "unable to read log directory '%s'",
		    log->dir);
		goto out;
	}
	for (i = 0; log->readonly && i < plan->nlogs; i++)
		if (push_i64(&logs, &nlogs, &caplogs, plan->logs[i], e) < 0)
			goto out;
	if (nlogs > 1)
		qsort(logs, nlogs, sizeof(*logs), cmp_i64);
	for (i = 0; i < nidxs; i++) {
		if (nlogs > 0 && bsearch(&idxs[i], logs, nlogs, sizeof(*logs),
		    cmp_i64) != NULL)
			continue;
		snprintf(orphan, sizeof(orphan), "%020" PRId64 ".index",
		    idxs[i]);
		if (remove_file(log, orphan, rep, e) < 0)
			goto out;
		snprintf(orphan, sizeof(orphan), "%020" PRId64 ".timeindex",
		    idxs[i]);
		if (remove_file(log, orphan, rep, e) < 0)
			goto out;
	}
	*bases_out = logs;
	*n_out = nlogs;
	logs = NULL;
	r = 0;
out:
	closedir(dir);
	free(logs);
	free(idxs);
	return r;
}

static void
note_truncation(struct plog_report *rep, const struct seg *s,
    const struct seg_recovery *rec)
{
	struct plog_truncation *t;

	if (rep->ntruncations++ >= PLOG_REPORT_MAX)
		return;
	t = &rep->truncations[rep->ntruncations - 1];
	snprintf(t->path, sizeof(t->path), "%s", s->log_path);
	t->position = rec->valid_bytes;
	t->bytes_cut = rec->bytes_cut;
	memcpy(t->reason, rec->reason, sizeof(t->reason));
}

/* Check segment i's indexes; rebuild (or, read-only, bypass) bad ones. */
static int
check_segment(struct plog *log, size_t i, struct plog_report *rep,
    struct err *e)
{
	struct seg *s = log->segs[i];
	int64_t limit = i + 1 < log->nsegs ? log->segs[i + 1]->base_offset :
	    INT64_MAX;
	struct seg_recovery rec;
	struct err ierr;

	if (!seg_indexes_missing(s) && seg_check_indexes(s, limit, &ierr) == 0)
		return 0;
	if (log->readonly) {
		seg_bypass_indexes(s);
		return 0;
	}
	if (seg_recover(s, s->base_offset, &rec, e) < 0)
		return -1;
	rep->indexes_rebuilt++;
	if (rec.bytes_cut > 0)
		note_truncation(rep, s, &rec);
	return 0;
}

/*
 * Unclean shutdown: validate segments from the one holding the recovery
 * point on. At the first cut, everything above goes.
 */
static int
recover_from(struct plog *log, size_t first, struct plog_report *rep,
    struct err *e)
{
	struct seg_recovery rec;
	size_t i;

	for (i = first; i < log->nsegs; i++) {
		struct seg *s = log->segs[i];
		int64_t min = s->base_offset;

		if (i > 0 && log->segs[i - 1]->tail_known)
			min = log->segs[i - 1]->next_offset;
		if (seg_recover(s, min, &rec, e) < 0)
			return -1;
		rep->segments_recovered++;
		rep->indexes_rebuilt++;
		if (rec.bytes_cut == 0)
			continue;
		note_truncation(rep, s, &rec);
		while (log->nsegs > i + 1) {
			if (plog_delete_seg(log, log->nsegs - 1, e) < 0)
				return -1;
			rep->segments_deleted++;
		}
		/* An emptied segment above another only confuses. */
		if (s->size == 0 && i > 0) {
			if (plog_delete_seg(log, i, e) < 0)
				return -1;
			rep->segments_deleted++;
		}
		return seg_make_active(plog_active(log), e);
	}
	return 0;
}

static int
load_segments(struct plog *log, int64_t recovery_point, unsigned flags,
    struct plog_report *rep, struct err *e)
{
	bool clean = (flags & PLOG_OPEN_CLEAN) || log->readonly;
	size_t first = log->nsegs, i;
	struct seg_recovery rec;
	struct seg *last;
	int r;

	if (!clean)
		first = plog_seg_index(log, recovery_point);
	for (i = 0; i < first && i < log->nsegs; i++)
		if (check_segment(log, i, rep, e) < 0)
			return -1;
	if (first < log->nsegs && recover_from(log, first, rep, e) < 0)
		return -1;
	last = plog_active(log);
	if (last->tail_known)
		return 0;
	if ((r = seg_load_tail(last, e)) <= 0)
		return r;
	/* The active segment disagrees with its index or ends mid-batch. */
	if (seg_recover(last, last->base_offset, &rec, e) < 0)
		return -1;
	rep->segments_recovered++;
	rep->indexes_rebuilt++;
	if (rec.bytes_cut > 0)
		note_truncation(rep, last, &rec);
	return 0;
}

int
plog_flush_upto(struct plog *log, int64_t upto, struct err *e)
{
	size_t i;

	for (i = plog_seg_index(log, log->recovery_point); i < log->nsegs;
	    i++) {
		if (log->segs[i]->base_offset >= upto)
			break;
		if (seg_flush(log->segs[i], e) < 0)
			return -1;
	}
	if (upto > plog_end_offset(log))
		upto = plog_end_offset(log);
	if (upto > log->recovery_point)
		log->recovery_point = upto;
	return 0;
}

int
plog_open(const char *dir, const struct plog_config *cfg,
    int64_t recovery_point, int64_t log_start_offset, unsigned flags,
    struct plog_report *report, struct plog **out, struct err *e)
{
	struct plog_report scratch;
	struct seg_params params;
	struct swap_plan plan;
	int64_t *bases = NULL;
	struct plog *log;
	size_t n = 0, i;
	struct seg *s;

	if (report == NULL)
		report = &scratch;
	memset(report, 0, sizeof(*report));
	if (plog_config_check(cfg, e) < 0)
		return -1;
	if (log_start_offset < 0)
		log_start_offset = 0;
	log = calloc(1, sizeof(*log));
	if (log == NULL || (log->dir = strdup(dir)) == NULL) {
		free(log);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	memset(&plan, 0, sizeof(plan));
	log->cfg = *cfg;
	log->readonly = flags & PLOG_OPEN_READONLY;
	log->cleaner_checkpoint = -1;
	params = plog_params(cfg);
	if (!log->readonly && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err_sys(e, EXIT_CANTCREAT,
		    "unable to create log directory '%s'", dir);
		goto fail;
	}
	if (plan_swaps(log, report, &plan, e) < 0 ||
	    (!log->readonly && plan.n > 0 &&
	    apply_swaps(log, &plan, report, e) < 0) ||
	    list_segments(log, report, &plan, &bases, &n, e) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		unsigned sf = (i + 1 == n ? SEG_OPEN_ACTIVE : 0) |
		    (log->readonly ? SEG_OPEN_READONLY : 0);
		bool swapped = log->readonly && plan.nlogs > 0 &&
		    bsearch(&bases[i], plan.logs, plan.nlogs,
		    sizeof(*plan.logs), cmp_i64) != NULL;

		if (seg_open_as(dir, bases[i], swapped ? ".swap" : "",
		    &params, sf, &s, e) < 0 || plog_push_seg(log, s, e) < 0)
			goto fail;
	}
	if (n == 0 && log->readonly) {
		log->empty_end = log_start_offset;
	} else if (n == 0) {
		if (seg_create(dir, log_start_offset, &params, clock_wall_ms(),
		    &s, e) < 0 || plog_push_seg(log, s, e) < 0)
			goto fail;
	} else if (load_segments(log, recovery_point, flags, report, e) < 0) {
		goto fail;
	}
	log->start_offset = log_start_offset;
	if (log->nsegs > 0 && log->segs[0]->base_offset > log->start_offset)
		log->start_offset = log->segs[0]->base_offset;
	if (log->start_offset > plog_end_offset(log))
		log->start_offset = plog_end_offset(log);
	if (log->readonly) {
		log->recovery_point = recovery_point < 0 ? 0 : recovery_point;
		if (log->recovery_point > plog_end_offset(log))
			log->recovery_point = plog_end_offset(log);
	} else {
		/* What was validated is now made durable before it counts. */
		for (i = 0; i < log->nsegs; i++)
			if (seg_flush(log->segs[i], e) < 0)
				goto fail;
		log->recovery_point = plog_end_offset(log);
	}
	log->last_flush_ms = clock_wall_ms();
	report->segments = (int)log->nsegs;
	free(bases);
	swap_plan_release(&plan);
	*out = log;
	return 0;
fail:
	err_wrap(e, "log '%s'", dir);
	free(bases);
	swap_plan_release(&plan);
	plog_free(log);
	return -1;
}

int
plog_close(struct plog *log, struct err *e)
{
	int r = 0;
	size_t i;

	if (log == NULL)
		return 0;
	for (i = 0; i < log->nsegs; i++)
		if (seg_close(log->segs[i], r < 0 ? NULL : e) < 0)
			r = -1;
	free(log->segs);
	free(log->dir);
	free(log);
	return r;
}

void
plog_free(struct plog *log)
{
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->nsegs; i++)
		seg_free(log->segs[i]);
	free(log->segs);
	free(log->dir);
	free(log);
}

int
plog_set_config(struct plog *log, const struct plog_config *cfg,
    struct err *e)
{
	size_t i;

	if (plog_config_check(cfg, e) < 0)
		return -1;
	log->cfg = *cfg;
	for (i = 0; i < log->nsegs; i++)
		log->segs[i]->params = plog_params(cfg);
	return 0;
}

int
plog_flush(struct plog *log, struct err *e)
{
	if (log->readonly)
		return 0;
	if (plog_flush_upto(log, INT64_MAX, e) < 0)
		return err_wrap(e, "log '%s': flush", log->dir);
	log->last_flush_ms = clock_wall_ms();
	return 0;
}

int
plog_maybe_flush(struct plog *log, int64_t now_ms, struct err *e)
{
	if (log->cfg.flush_ms == PLOG_NEVER ||
	    now_ms - log->last_flush_ms < log->cfg.flush_ms)
		return 0;
	if (plog_flush(log, e) < 0)
		return -1;
	log->last_flush_ms = now_ms;
	return 0;
}

int
plog_segment_info(struct plog *log, size_t i, struct plog_segment_info *out,
    struct err *e)
{
	struct seg *s;

	if (i >= log->nsegs)
		return err_set(e, EXIT_USAGE, "log '%s': no segment %zu",
		    log->dir, i);
	s = log->segs[i];
	out->base_offset = s->base_offset;
	out->size = s->size;
	out->path = s->log_path;
	out->largest_timestamp = seg_largest_timestamp(s, false);
	out->active = i + 1 == log->nsegs;
	return 0;
}
