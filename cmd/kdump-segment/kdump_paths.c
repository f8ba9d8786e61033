/* SPDX-License-Identifier: MIT */
/*
 * From PATH arguments to targets: a file, a partition directory (its
 * segments sorted by base offset) or a data directory (its partitions
 * sorted by topic, then number), each segment with the index files found
 * beside its .log.
 */
/* realpath(3) is XSI: it names the partition of "." or "../x". */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "kdump.h"
#include "banned.h"

/* Digits in a segment file name (Kafka pads offsets to 20). */
#define KD_NAME_DIGITS 20

enum seg_ext { EXT_NONE = 0, EXT_LOG, EXT_INDEX, EXT_TIMEINDEX };

static const char *const ext_names[] = { "", ".log", ".index", ".timeindex" };

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static enum seg_ext
ext_of(const char *name)
{
	if (has_suffix(name, ".log"))
		return EXT_LOG;
	if (has_suffix(name, ".timeindex"))
		return EXT_TIMEINDEX;
	if (has_suffix(name, ".index"))
		return EXT_INDEX;
	return EXT_NONE;
}

/* "00000000000000000042.log" -> 42; false for any other shape. */
static bool
segment_name(const char *name, int64_t *base, enum seg_ext *ext)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < KD_NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > ((uint64_t)INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*ext = ext_of(name);
	if (*ext == EXT_NONE || strcmp(name + i, ext_names[*ext]) != 0)
		return false;
	*base = (int64_t)v;
	return true;
}

/* "orders-3" -> ("orders", 3). The topic is everything before the last '-'. */
static bool
topic_partition(const char *name, char **topic, int32_t *partition)
{
	const char *dash = strrchr(name, '-');
	const char *p;
	int64_t v = 0;

	if (dash == NULL || dash == name || dash[1] == '\0')
		return false;
	for (p = dash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > INT32_MAX / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v > INT32_MAX || (dash[1] == '0' && dash[2] != '\0'))
		return false;
	if (topic != NULL) {
		*topic = xmalloc((size_t)(dash - name) + 1);
		memcpy(*topic, name, (size_t)(dash - name));
		(*topic)[dash - name] = '\0';
	}
	*partition = (int32_t)v;
	return true;
}

static char *
join_path(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = xmalloc(a + b + 2);

	memcpy(p, dir, a);
	if (a > 0 && dir[a - 1] != '/')
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

static char *
dir_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (slash == NULL)
		return xstrdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	d = xmalloc(n + 1);
	memcpy(d, path, n);
	d[n] = '\0';
	return d;
}

/* Replace the extension `from` of `path` with `to`; NULL if it lacks it. */
static char *
swap_ext(const char *path, const char *from, const char *to)
{
	size_t n = strlen(path), f = strlen(from), t = strlen(to);
	char *p;

	if (!has_suffix(path, from))
		return NULL;
	p = xmalloc(n - f + t + 1);
	memcpy(p, path, n - f);
	memcpy(p + n - f, to, t + 1);
	return p;
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *
kd_sibling(const char *log_path, const char *ext)
{
	char *p = swap_ext(log_path, ".log", ext);

	if (p != NULL && !exists(p)) {
		free(p);
		p = NULL;
	}
	return p;
}

/* Topic and partition of the directory holding `dir`, from its real name. */
static void
part_naming(struct kd_part *part, const char *dir)
{
	char *real = realpath(dir, NULL);

	part->topic = NULL;
	part->partition = -1;
	if (!topic_partition(base_name(real ? real : dir), &part->topic,
	    &part->partition))
		part->partition = -1;
	free(real);
}

static struct kd_target *
target_new(struct kd_targets *t, enum kd_target_kind kind)
{
	struct kd_target *tg;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	tg = &t->v[t->n++];
	memset(tg, 0, sizeof(*tg));
	tg->kind = kind;
	tg->part.partition = -1;
	return tg;
}

static struct kd_segment *
seg_for(struct kd_part *part, size_t *cap, int64_t base)
{
	size_t i;

	for (i = 0; i < part->nsegs; i++)
		if (part->segs[i].base_offset == base)
			return &part->segs[i];
	if (part->nsegs == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		part->segs = xrealloc(part->segs, *cap * sizeof(*part->segs));
	}
	memset(&part->segs[part->nsegs], 0, sizeof(*part->segs));
	part->segs[part->nsegs].base_offset = base;
	part->segs[part->nsegs].base_known = true;
	return &part->segs[part->nsegs++];
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct kd_segment *x = a, *y = b;

	return x->base_offset < y->base_offset ? -1 :
	    x->base_offset > y->base_offset;
}

/*
 * Fill `part` with the segments of partition directory `dir`. Index files
 * without a .log (orphans, which Kafka deletes at startup) are ignored.
 * Returns the number of segment files seen, or -1 if unreadable.
 */
static int
load_partition(struct kd_ctx *ctx, const char *dir, struct kd_part *part)
{
	struct dirent *de;
	size_t cap = 0, i, kept;
	enum seg_ext ext;
	int64_t base;
	int seen = 0;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		log_warn("unable to open directory '%s'", dir);
		kd_fail(ctx, EXIT_NOINPUT);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct kd_segment *s;
		char **slot;

		if (!segment_name(de->d_name, &base, &ext))
			continue;
		seen++;
		s = seg_for(part, &cap, base);
		slot = ext == EXT_LOG ? &s->log : ext == EXT_INDEX ? &s->index :
		    &s->timeindex;
		free(*slot);
		*slot = join_path(dir, de->d_name);
	}
	closedir(d);
	for (i = kept = 0; i < part->nsegs; i++) {
		struct kd_segment *s = &part->segs[i];

		if (s->log == NULL) {
			log_info("ignoring index files without a log: base "
			    "offset %" PRId64 " in '%s'", s->base_offset, dir);
			free(s->index);
			free(s->timeindex);
			continue;
		}
		part->segs[kept++] = *s;
	}
	part->nsegs = kept;
	if (kept > 1)
		qsort(part->segs, kept, sizeof(*part->segs), seg_cmp);
	return seen;
}

struct part_name {
	char *name;
	char *topic;
	int32_t partition;
};

static int
part_name_cmp(const void *a, const void *b)
{
	const struct part_name *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	if (c != 0)
		return c;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * A data directory: every subdirectory named <topic>-<N>, in order, and
 * (when verifying) the checkpoint files beside them.
 */
static void
load_data_dir(struct kd_ctx *ctx, struct kd_targets *t, const char *dir,
    struct part_name *names, size_t n)
{
	const struct kd_opts *o = ctx->o;
	struct kd_target *tg;
	struct dirent *de;
	size_t i;
	DIR *d;

	qsort(names, n, sizeof(*names), part_name_cmp);
	for (i = 0; i < n; i++) {
		char *path = join_path(dir, names[i].name);

		tg = target_new(t, KD_TARGET_PART);
		tg->part.dir = path;
		tg->part.topic = names[i].topic;
		tg->part.partition = names[i].partition;
		load_partition(ctx, path, &tg->part);
		free(names[i].name);
	}
	if (o->mode != KD_MODE_VERIFY || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, "-checkpoint"))
			continue;
		tg = target_new(t, KD_TARGET_CHECKPOINT);
		tg->path = join_path(dir, de->d_name);
	}
	closedir(d);
}

static int
add_dir(struct kd_ctx *ctx, struct kd_targets *t, const char *path)
{
	struct part_name *names = NULL;
	size_t n = 0, cap = 0;
	struct kd_target *tg;
	struct dirent *de;
	enum seg_ext ext;
	int64_t base;
	bool segfiles = false;
	int32_t pn;
	DIR *d;

	d = opendir(path);
	if (d == NULL) {
		log_warn("unable to open directory '%s'", path);
		kd_fail(ctx, EXIT_NOINPUT);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (segment_name(de->d_name, &base, &ext)) {
			segfiles = true;
			continue;
		}
		if (de->d_name[0] == '.' ||
		    !topic_partition(de->d_name, NULL, &pn))
			continue;
		sub = join_path(path, de->d_name);
		if (!is_dir(sub)) {
			free(sub);
			continue;
		}
		free(sub);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n].name = xstrdup(de->d_name);
		topic_partition(de->d_name, &names[n].topic,
		    &names[n].partition);
		n++;
	}
	closedir(d);
	if (segfiles || n == 0) {
		for (cap = 0; cap < n; cap++) {
			free(names[cap].name);
			free(names[cap].topic);
		}
		free(names);
		tg = target_new(t, KD_TARGET_PART);
		tg->part.dir = xstrdup(path);
		part_naming(&tg->part, path);
		if (load_partition(ctx, path, &tg->part) == 0 &&
		    tg->part.topic == NULL)
			log_warnx("no segments or partitions in '%s'", path);
		return 0;
	}
	load_data_dir(ctx, t, path, names, n);
	free(names);
	return 0;
}

static void
fill_part(struct kd_part *part, const char *log, const char *index,
    const char *timeindex)
{
	const char *any = log ? log : index ? index : timeindex;
	struct kd_segment *s;
	enum seg_ext ext;
	int64_t base;

	part->dir = dir_name(any);
	part_naming(part, part->dir);
	part->segs = xcalloc(1, sizeof(*part->segs));
	part->nsegs = 1;
	s = &part->segs[0];
	s->log = log ? xstrdup(log) : NULL;
	s->index = index ? xstrdup(index) : NULL;
	s->timeindex = timeindex ? xstrdup(timeindex) : NULL;
	s->base_known = segment_name(base_name(any), &base, &ext);
	s->base_offset = s->base_known ? base : 0;
}

/* An .index or .timeindex PATH: dumped alone, or standing for its segment. */
static void
add_index_file(struct kd_ctx *ctx, struct kd_targets *t, const char *path,
    enum seg_ext ext)
{
	char *log, *index = NULL, *timeindex = NULL;
	struct kd_target *tg;

	if (ctx->o->mode == KD_MODE_DUMP) {
		tg = target_new(t, ext == EXT_INDEX ? KD_TARGET_INDEX :
		    KD_TARGET_TIMEINDEX);
		tg->path = xstrdup(path);
		fill_part(&tg->part, NULL, ext == EXT_INDEX ? path : NULL,
		    ext == EXT_INDEX ? NULL : path);
		return;
	}
	log = swap_ext(path, ext_names[ext], ".log");
	if (log != NULL && !exists(log)) {
		free(log);
		log = NULL;
	}
	if (log != NULL) {
		index = kd_sibling(log, ".index");
		timeindex = kd_sibling(log, ".timeindex");
	} else if (ext == EXT_INDEX) {
		index = xstrdup(path);
	} else {
		timeindex = xstrdup(path);
	}
	fill_part(&target_new(t, KD_TARGET_PART)->part, log, index, timeindex);
	free(log);
	free(index);
	free(timeindex);
}

int
kd_targets_add(struct kd_ctx *ctx, struct kd_targets *t, const char *path)
{
	char *index, *timeindex;
	struct kd_target *tg;
	struct stat st;
	enum seg_ext ext;

	if (stat(path, &st) < 0) {
		log_warn("unable to open '%s'", path);
		kd_fail(ctx, EXIT_NOINPUT);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(ctx, t, path);
	if (!S_ISREG(st.st_mode)) {
		log_warnx("'%s' is not a file or a directory", path);
		kd_fail(ctx, EXIT_NOINPUT);
		return -1;
	}
	if (access(path, R_OK) < 0) {
		log_warn("unable to open '%s'", path);
		kd_fail(ctx, EXIT_NOINPUT);
		return -1;
	}
	ext = ext_of(path);
	if (ext == EXT_INDEX || ext == EXT_TIMEINDEX) {
		add_index_file(ctx, t, path, ext);
		return 0;
	}
	if (ext == EXT_NONE && strstr(base_name(path), "checkpoint") != NULL) {
		tg = target_new(t, KD_TARGET_CHECKPOINT);
		tg->path = xstrdup(path);
		return 0;
	}
	/* Anything else is read as a log segment, whatever its name. */
	index = kd_sibling(path, ".index");
	timeindex = kd_sibling(path, ".timeindex");
	fill_part(&target_new(t, KD_TARGET_PART)->part, path, index,
	    timeindex);
	free(index);
	free(timeindex);
	return 0;
}

void
kd_targets_free(struct kd_targets *t)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		struct kd_part *p = &t->v[i].part;

		for (j = 0; j < p->nsegs; j++) {
			free(p->segs[j].log);
			free(p->segs[j].index);
			free(p->segs[j].timeindex);
		}
		free(p->segs);
		free(p->dir);
		free(p->topic);
		free(t->v[i].path);
	}
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
