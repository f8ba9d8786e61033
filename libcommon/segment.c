/* SPDX-License-Identifier: MIT */
/*
 * One log segment (see segment.h): its files' life cycle, the index-entry
 * rule shared by appends and rebuilds, appends, recovery, truncation, roll
 * and deletion. Reading and lookups are in segment_read.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "record.h"
#include "segment.h"
#include "util.h"
#include "banned.h"

/* Recovery reads the .log in chunks of this size (more for big batches). */
#define RECOVER_CHUNK (1u << 20)

int
seg_file_path(char *buf, size_t size, const char *dir, int64_t base,
    const char *ext, struct err *e)
{
	int n = snprintf(buf, size, "%s/%020" PRId64 "%s", dir, base, ext);

	if (n < 0 || (size_t)n >= size)
		return err_set(e, EXIT_SOFTWARE,
		    "path too long: '%s/%020" PRId64 "%s'", dir, base, ext);
	return 0;
}

int
seg_parse_file_name(const char *name, int64_t *base, const char **ext)
{
	static const char *const exts[] = { ".log", ".index", ".timeindex" };
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
		if (v > INT64_MAX)
			return 0;
	}
	for (i = 0; i < ARRAY_SIZE(exts); i++) {
		if (strcmp(name + 20, exts[i]) == 0) {
			*base = (int64_t)v;
			*ext = name + 20;
			return 1;
		}
	}
	return 0;
}

int
seg_batch_header(const uint8_t *p, size_t len, uint64_t position,
    struct seg_batch_info *out, struct err *e)
{
	int32_t length, delta;
	int64_t base;

	if (len < REC_BATCH_HEADER_SIZE)
		return err_set(e, EXIT_DATAERR,
		    "truncated batch header at position %" PRIu64
		    ": %zu of %d bytes", position, len, REC_BATCH_HEADER_SIZE);
	length = (int32_t)be32_load(p + REC_OFF_LENGTH);
	if (length < REC_BATCH_HEADER_SIZE - REC_BATCH_LOG_OVERHEAD)
		return err_set(e, EXIT_DATAERR,
		    "batch at position %" PRIu64 ": length %" PRId32
		    " below the header size", position, length);
	if ((size_t)length + REC_BATCH_LOG_OVERHEAD > len)
		return err_set(e, EXIT_DATAERR,
		    "truncated batch at position %" PRIu64
		    ": %zu bytes, %zu present", position,
		    (size_t)length + REC_BATCH_LOG_OVERHEAD, len);
	if (p[REC_OFF_MAGIC] != REC_MAGIC)
		return err_set(e, EXIT_DATAERR,
		    "batch at position %" PRIu64 ": unsupported magic %d",
		    position, (int8_t)p[REC_OFF_MAGIC]);
	base = (int64_t)be64_load(p + REC_OFF_BASE_OFFSET);
	delta = (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA);
	if (base < 0 || delta < 0 || base > INT64_MAX - delta)
		return err_set(e, EXIT_DATAERR,
		    "batch at position %" PRIu64 ": bad offsets (base %" PRId64
		    ", last delta %" PRId32 ")", position, base, delta);
	out->base_offset = base;
	out->last_offset = base + delta;
	out->max_timestamp = (int64_t)be64_load(p + REC_OFF_MAX_TIMESTAMP);
	out->position = position;
	out->size = (uint32_t)length + REC_BATCH_LOG_OVERHEAD;
	return 0;
}

int
seg_pread(struct seg *s, void *buf, size_t len, uint64_t pos, struct err *e)
{
	const char *path = s->log_path;
	uint8_t *p = buf;
	int fd;

	if ((fd = seg_fd(s, e)) < 0)
		return -1;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, EXIT_IOERR,
			    "segment '%s': read at position %" PRIu64, path,
			    pos);
		if (n == 0)
			return err_set(e, EXIT_IOERR,
			    "segment '%s': unexpected end of file at %" PRIu64,
			    path, pos);
		p += n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static struct seg *
seg_alloc(const char *dir, int64_t base, const char *suffix,
    const struct seg_params *p, struct err *e)
{
	char path[PATH_MAX], ext[SEG_SUFFIX_MAX + 8];
	struct seg *s;

	if (strlen(suffix) > SEG_SUFFIX_MAX) {
		err_set(e, EXIT_SOFTWARE, "segment suffix '%s' too long",
		    suffix);
		return NULL;
	}
	snprintf(ext, sizeof(ext), ".log%s", suffix);
	if (seg_file_path(path, sizeof(path), dir, base, ext, e) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->log_path = strdup(path)) == NULL) {
		free(s);
		err_set(e, EXIT_OSERR, "out of memory");
		return NULL;
	}
	memcpy(s->suffix, suffix, strlen(suffix) + 1);
	s->base_offset = base;
	s->params = *p;
	s->fd = -1;
	s->oidx.fd = -1;
	s->tidx.fd = -1;
	s->next_offset = base;
	s->max_timestamp = -1;
	s->offset_of_max_timestamp = base;
	s->first_batch_timestamp = -1;
	return s;
}

/*
 * Path of one of the segment's files with another extension (and the
 * given suffix): "<dir>/<base>" + ext + suffix.
 */
static int
sibling_path_as(const struct seg *s, const char *ext, const char *suffix,
    char *buf, size_t size, struct err *e)
{
	size_t n = strlen(s->log_path) - strlen(".log") - strlen(s->suffix);
	size_t m = strlen(ext), k = strlen(suffix);

	if (n + m + k + 1 > size)
		return err_set(e, EXIT_SOFTWARE, "path too long: '%s'",
		    s->log_path);
	memcpy(buf, s->log_path, n);
	memcpy(buf + n, ext, m);
	memcpy(buf + n + m, suffix, k + 1);
	return 0;
}

static int
sibling_path(const struct seg *s, const char *ext, char *buf, size_t size,
    struct err *e)
{
	return sibling_path_as(s, ext, s->suffix, buf, size, e);
}

static int
open_indexes(struct seg *s, unsigned flags, struct err *e)
{
	char path[PATH_MAX];

	if (sibling_path(s, ".index", path, sizeof(path), e) < 0 ||
	    idx_open(&s->oidx, IDX_OFFSET, path, s->base_offset,
	    s->params.index_max_bytes, flags, e) < 0)
		return -1;
	if (sibling_path(s, ".timeindex", path, sizeof(path), e) < 0 ||
	    idx_open(&s->tidx, IDX_TIME, path, s->base_offset,
	    s->params.index_max_bytes, flags, e) < 0)
		return -1;
	return 0;
}

int
seg_create(const char *dir, int64_t base, const struct seg_params *p,
    int64_t now_ms, struct seg **out, struct err *e)
{
	return seg_create_as(dir, base, "", p, now_ms, out, e);
}

int
seg_create_as(const char *dir, int64_t base, const char *suffix,
    const struct seg_params *p, int64_t now_ms, struct seg **out,
    struct err *e)
{
	struct seg *s = seg_alloc(dir, base, suffix, p, e);

	if (s == NULL)
		return -1;
	s->fd = open(s->log_path, O_RDWR | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC, 0644);
	if (s->fd < 0) {
		err_sys(e, EXIT_CANTCREAT, "unable to create segment '%s'",
		    s->log_path);
		goto fail;
	}
	if (open_indexes(s, IDX_OPEN_WRITABLE | IDX_OPEN_TRUNCATE, e) < 0)
		goto fail;
	/* The new file must survive a crash as much as its data will. */
	if (dir_fsync_of(s->log_path, e) < 0)
		goto fail;
	s->active = true;
	s->tail_known = true;
	s->created_ms = now_ms;
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		unlink(s->log_path);
	seg_free(s);
	return -1;
}

int
seg_open(const char *dir, int64_t base, const struct seg_params *p,
    unsigned flags, struct seg **out, struct err *e)
{
	return seg_open_as(dir, base, "", p, flags, out, e);
}

int
seg_open_as(const char *dir, int64_t base, const char *suffix,
    const struct seg_params *p, unsigned flags, struct seg **out,
    struct err *e)
{
	bool ro = flags & SEG_OPEN_READONLY;
	struct seg *s = seg_alloc(dir, base, suffix, p, e);
	struct stat st;

	if (s == NULL)
		return -1;
	s->readonly = ro;
	if (stat(s->log_path, &st) < 0) {
		err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to stat segment '%s'", s->log_path);
		goto fail;
	}
	if ((uint64_t)st.st_size > UINT32_MAX) {
		err_set(e, EXIT_DATAERR,
		    "segment '%s': size %lld exceeds 4 GiB", s->log_path,
		    (long long)st.st_size);
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	if ((flags & SEG_OPEN_ACTIVE) && !ro) {
		if (seg_fd(s, e) < 0 ||
		    open_indexes(s, IDX_OPEN_WRITABLE, e) < 0)
			goto fail;
		s->active = true;
	} else if (open_indexes(s, IDX_OPEN_MISSING_OK, e) < 0) {
		goto fail;
	}
	s->created_ms = clock_wall_ms();
	*out = s;
	return 0;
fail:
	seg_free(s);
	return -1;
}

bool
seg_indexes_missing(const struct seg *s)
{
	return s->oidx.missing || s->tidx.missing;
}

void
seg_bypass_indexes(struct seg *s)
{
	s->oidx.entries = 0;
	s->tidx.entries = 0;
}

int
seg_fd(struct seg *s, struct err *e)
{
	if (s->fd >= 0)
		return s->fd;
	s->fd = open(s->log_path, s->readonly ? O_RDONLY | O_CLOEXEC :
	    O_RDWR | O_APPEND | O_CLOEXEC);
	if (s->fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open segment '%s'",
		    s->log_path);
	return s->fd;
}

void
seg_free(struct seg *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	idx_release(&s->oidx);
	idx_release(&s->tidx);
	free(s->log_path);
	free(s);
}

int
seg_close(struct seg *s, struct err *e)
{
	int r = 0;

	if (s == NULL)
		return 0;
	if (s->active && !s->failed) {
		/* As on roll: the last time entry carries the max timestamp. */
		if (s->max_timestamp >= 0 && idx_append_time(&s->tidx,
		    s->max_timestamp, s->offset_of_max_timestamp, true, e) < 0)
			r = -1;
		/*
		 * Flushes leave the indexes to the page cache (see
		 * seg_flush): a close, clean as far as the data directory is
		 * concerned, makes them durable.
		 */
		if (idx_trim(&s->oidx, s->oidx.unsynced, e) < 0 ||
		    idx_trim(&s->tidx, s->tidx.unsynced, e) < 0)
			r = -1;
	}
	seg_free(s);
	return r;
}

int
seg_delete(struct seg *s, struct err *e)
{
	const char *paths[3] = { s->log_path, s->oidx.path, s->tidx.path };
	char gone[3][PATH_MAX];
	bool renamed[3] = { false, false, false };
	int r = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (paths[i] == NULL)
			continue;
		if (snprintf(gone[i], sizeof(gone[i]), "%s.deleted",
		    paths[i]) >= (int)sizeof(gone[i])) {
			r = err_set(e, EXIT_SOFTWARE, "path too long: '%s'",
			    paths[i]);
			continue;
		}
		if (rename(paths[i], gone[i]) == 0)
			renamed[i] = true;
		else if (errno != ENOENT || i == 0)
			r = err_sys(e, EXIT_IOERR, "unable to rename '%s'",
			    paths[i]);
	}
	if (dir_fsync_of(s->log_path, r < 0 ? NULL : e) < 0)
		r = -1;
	for (i = 0; i < 3; i++)
		if (renamed[i] && unlink(gone[i]) < 0 && r == 0)
			r = err_sys(e, EXIT_IOERR, "unable to remove '%s'",
			    gone[i]);
	seg_free(s);
	return r;
}

/* Rename one file of `s` (its path in *path) to `to`; *path follows. */
static int
rename_one(char **path, const char *to, struct err *e)
{
	char *p = strdup(to);

	if (p == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (rename(*path, to) < 0) {
		err_sys(e, EXIT_IOERR, "unable to rename '%s' to '%s'", *path,
		    to);
		free(p);
		return -1;
	}
	free(*path);
	*path = p;
	return 0;
}

int
seg_rename(struct seg *s, const char *suffix, struct err *e)
{
	char log[PATH_MAX], oidx[PATH_MAX], tidx[PATH_MAX];
	bool log_first = suffix[0] == '\0';

	if (strlen(suffix) > SEG_SUFFIX_MAX)
		return err_set(e, EXIT_SOFTWARE, "segment suffix '%s' too long",
		    suffix);
	if (s->readonly)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' is read-only",
		    s->log_path);
	if (sibling_path_as(s, ".log", suffix, log, sizeof(log), e) < 0 ||
	    sibling_path_as(s, ".index", suffix, oidx, sizeof(oidx), e) < 0 ||
	    sibling_path_as(s, ".timeindex", suffix, tidx, sizeof(tidx), e) < 0)
		return -1;
	if (log_first && rename_one(&s->log_path, log, e) < 0)
		return -1;
	if (rename_one(&s->oidx.path, oidx, e) < 0 ||
	    rename_one(&s->tidx.path, tidx, e) < 0)
		return -1;
	if (!log_first && rename_one(&s->log_path, log, e) < 0)
		return -1;
	memcpy(s->suffix, suffix, strlen(suffix) + 1);
	return 0;
}

/*
 * The index-entry rule, the same for appends and rebuilds (Kafka's):
 * before a batch, if more than index_interval_bytes went in since the last
 * entry, index this batch. In recovery a full index just stops growing.
 */
static int
index_batch(struct seg *s, const struct seg_batch_info *bi, struct err *e)
{
	if (bi->position == 0)
		s->first_batch_timestamp = bi->max_timestamp;
	if (bi->max_timestamp > s->max_timestamp) {
		s->max_timestamp = bi->max_timestamp;
		s->offset_of_max_timestamp = bi->last_offset;
	}
	if (s->bytes_since_index > s->params.index_interval_bytes &&
	    !idx_full(&s->oidx) && !idx_full(&s->tidx)) {
		if (idx_append_offset(&s->oidx, bi->last_offset,
		    (uint32_t)bi->position, e) < 0 ||
		    idx_append_time(&s->tidx, s->max_timestamp,
		    s->offset_of_max_timestamp, false, e) < 0)
			return -1;
		s->bytes_since_index = 0;
	}
	s->bytes_since_index += bi->size;
	return 0;
}

/* A window over the .log for recovery: whole batches in memory. */
struct window {
	uint8_t *buf;
	size_t cap;
	uint64_t pos;
	size_t len;
};

static int
window_get(struct window *w, struct seg *s, uint64_t pos, size_t need,
    uint64_t file_size, const uint8_t **out, struct err *e)
{
	size_t n;

	if (pos >= w->pos && pos + need <= w->pos + w->len) {
		*out = w->buf + (pos - w->pos);
		return 0;
	}
	if (need > w->cap) {
		uint8_t *p = realloc(w->buf, need);

		if (p == NULL)
			return err_set(e, EXIT_OSERR,
			    "out of memory reading segment '%s'", s->log_path);
		w->buf = p;
		w->cap = need;
	}
	n = file_size - pos < w->cap ? (size_t)(file_size - pos) : w->cap;
	if (seg_pread(s, w->buf, n, pos, e) < 0)
		return -1;
	w->pos = pos;
	w->len = n;
	*out = w->buf;
	return 0;
}

/* Reopen an index empty and writable, for a rebuild. */
static int
index_restart(struct idx *ix, size_t max_bytes, struct err *e)
{
	char path[PATH_MAX];
	enum idx_kind kind = ix->kind;
	int64_t base = ix->base_offset;

	if (snprintf(path, sizeof(path), "%s", ix->path) >= (int)sizeof(path))
		return err_set(e, EXIT_SOFTWARE, "path too long: '%s'",
		    ix->path);
	idx_release(ix);
	return idx_open(ix, kind, path, base, max_bytes,
	    IDX_OPEN_WRITABLE | IDX_OPEN_TRUNCATE, e);
}

/*
 * Check the batch at `pos` fully. 0 with *bi set when valid; 1 with
 * `why` set when not; -1 on I/O error.
 */
static int
recover_batch(struct seg *s, struct window *w, uint64_t pos,
    uint64_t file_size, int64_t min_offset, struct seg_batch_info *bi,
    struct err *why, struct err *e)
{
	uint64_t left = file_size - pos;
	const uint8_t *p;
	struct rec_batch b;
	size_t need;

	need = left < REC_BATCH_HEADER_SIZE ? (size_t)left :
	    REC_BATCH_HEADER_SIZE;
	if (window_get(w, s, pos, need, file_size, &p, e) < 0)
		return -1;
	if (seg_batch_header(p, left > SIZE_MAX ? SIZE_MAX : (size_t)left, pos,
	    bi, why) < 0)
		return 1;
	if (bi->size > s->params.max_batch_bytes) {
		err_set(why, EXIT_DATAERR, "batch at position %" PRIu64
		    ": size %" PRIu32 " exceeds max_batch_bytes %zu", pos,
		    bi->size, s->params.max_batch_bytes);
		return 1;
	}
	if (window_get(w, s, pos, bi->size, file_size, &p, e) < 0)
		return -1;
	if (rec_batch_parse(p, bi->size, &b, why) < 0) {
		err_wrap(why, "batch at position %" PRIu64, pos);
		return 1;
	}
	if (!rec_batch_crc_ok(&b)) {
		err_set(why, EXIT_DATAERR, "batch at position %" PRIu64
		    ": bad crc (stored %08" PRIx32 ", computed %08" PRIx32 ")",
		    pos, b.crc, rec_batch_crc_compute(p, bi->size));
		return 1;
	}
	if (bi->base_offset < min_offset) {
		err_set(why, EXIT_DATAERR, "batch at position %" PRIu64
		    ": base offset %" PRId64 " below the expected %" PRId64,
		    pos, bi->base_offset, min_offset);
		return 1;
	}
	if (bi->last_offset - s->base_offset > IDX_MAX_RELATIVE_OFFSET) {
		err_set(why, EXIT_DATAERR, "batch at position %" PRIu64
		    ": last offset %" PRId64 " too far above the base %" PRId64,
		    pos, bi->last_offset, s->base_offset);
		return 1;
	}
	return 0;
}

int
seg_recover(struct seg *s, int64_t min_offset, struct seg_recovery *out,
    struct err *e)
{
	struct window w = { NULL, 0, 0, 0 };
	bool was_active = s->active;
	struct seg_batch_info bi;
	uint64_t file_size, pos = 0;
	struct err why;
	struct stat st;
	int r = -1;

	memset(out, 0, sizeof(*out));
	err_clear(&why);
	if (s->readonly)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' is read-only",
		    s->log_path);
	if (seg_fd(s, e) < 0)
		return -1;
	if (fstat(s->fd, &st) < 0)
		return err_sys(e, EXIT_IOERR, "unable to stat segment '%s'",
		    s->log_path);
	file_size = (uint64_t)st.st_size;
	if (index_restart(&s->oidx, s->params.index_max_bytes, e) < 0 ||
	    index_restart(&s->tidx, s->params.index_max_bytes, e) < 0)
		return -1;
	s->active = true;
	s->size = 0;
	s->next_offset = s->base_offset;
	s->max_timestamp = -1;
	s->offset_of_max_timestamp = s->base_offset;
	s->first_batch_timestamp = -1;
	s->bytes_since_index = 0;
	if (min_offset < s->base_offset)
		min_offset = s->base_offset;
	w.cap = file_size < RECOVER_CHUNK ? (size_t)file_size : RECOVER_CHUNK;
	w.buf = malloc(w.cap ? w.cap : 1);
	if (w.buf == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	while (pos < file_size) {
		int v = recover_batch(s, &w, pos, file_size, min_offset, &bi,
		    &why, e);

		if (v < 0)
			goto out;
		if (v > 0)
			break;
		if (index_batch(s, &bi, e) < 0)
			goto out;
		pos += bi.size;
		s->size = pos;
		s->next_offset = bi.last_offset + 1;
		min_offset = s->next_offset;
		out->batches++;
	}
	if (pos < file_size) {
		if (ftruncate(s->fd, (off_t)pos) < 0) {
			err_sys(e, EXIT_IOERR, "unable to truncate segment '%s'"
			    " to %" PRIu64, s->log_path, pos);
			goto out;
		}
		out->bytes_cut = file_size - pos;
		memcpy(out->reason, why.msg, sizeof(out->reason));
	}
	out->valid_bytes = pos;
	out->next_offset = s->next_offset;
	s->tail_known = true;
	s->dirty = true;
	r = 0;
	if (!was_active)
		r = seg_make_inactive(s, e);
out:
	free(w.buf);
	return r;
}

int
seg_check_indexes(struct seg *s, int64_t offset_limit, struct err *e)
{
	if (idx_check(&s->oidx, s->size, offset_limit, s->active, e) < 0 ||
	    idx_check(&s->tidx, s->size, offset_limit, s->active, e) < 0)
		return -1;
	return 0;
}

size_t
seg_fit(const struct seg *s, const uint8_t *data, size_t len,
    uint64_t segment_bytes)
{
	size_t oroom = s->oidx.max_entries - s->oidx.entries;
	size_t troom = s->tidx.max_entries - s->tidx.entries;
	uint64_t since = s->bytes_since_index;
	size_t pos = 0;

	if (!s->active || s->readonly || s->failed)
		return 0;
	troom = troom > 0 ? troom - 1 : 0;	/* the spare for the roll */
	while (pos < len) {
		const uint8_t *p = data + pos;
		uint64_t size = (uint64_t)be32_load(p + REC_OFF_LENGTH) +
		    REC_BATCH_LOG_OVERHEAD;
		int64_t base = (int64_t)be64_load(p + REC_OFF_BASE_OFFSET);
		int64_t last = base +
		    (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA);

		if (s->size + pos + size > segment_bytes ||
		    base < s->base_offset ||
		    last - s->base_offset > IDX_MAX_RELATIVE_OFFSET)
			break;
		if (since > s->params.index_interval_bytes) {
			if (oroom == 0 || troom == 0)
				break;
			oroom--;
			troom--;
			since = 0;
		}
		since += size;
		pos += (size_t)size;
	}
	return pos;
}

/* How many index entries appending data[0..len) adds. */
static size_t
entries_needed(const struct seg *s, const uint8_t *data, size_t len)
{
	uint64_t since = s->bytes_since_index;
	size_t pos = 0, n = 0;

	while (pos < len) {
		uint64_t size = (uint64_t)be32_load(data + pos +
		    REC_OFF_LENGTH) + REC_BATCH_LOG_OVERHEAD;

		if (since > s->params.index_interval_bytes) {
			n++;
			since = 0;
		}
		since += size;
		pos += (size_t)size;
	}
	return n;
}

int
seg_append(struct seg *s, const uint8_t *data, size_t len, struct err *e)
{
	uint64_t old = s->size;
	size_t done = 0, pos;
	struct seg_batch_info bi;
	size_t more;

	if (!s->active || s->readonly || s->failed)
		return err_set(e, EXIT_SOFTWARE,
		    "segment '%s' does not take appends", s->log_path);
	if (seg_fd(s, e) < 0)
		return -1;
	/* Index space first: once the data is in, indexing must not fail. */
	more = entries_needed(s, data, len);
	if (idx_reserve(&s->oidx, more, e) < 0 ||
	    idx_reserve(&s->tidx, more, e) < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(s->fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			goto short_write;
		}
		done += (size_t)n;
	}
	s->dirty = true;
	for (pos = 0; pos < len; pos += bi.size) {
		const uint8_t *p = data + pos;

		bi.base_offset = (int64_t)be64_load(p + REC_OFF_BASE_OFFSET);
		bi.last_offset = bi.base_offset +
		    (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA);
		bi.max_timestamp = (int64_t)be64_load(p +
		    REC_OFF_MAX_TIMESTAMP);
		bi.position = old + pos;
		bi.size = be32_load(p + REC_OFF_LENGTH) +
		    REC_BATCH_LOG_OVERHEAD;
		if (index_batch(s, &bi, e) < 0)
			return -1;
		s->size = old + pos + bi.size;
		s->next_offset = bi.last_offset + 1;
	}
	return 0;
short_write:
	err_sys(e, EXIT_IOERR, "segment '%s': write of %zu bytes at position %"
	    PRIu64 " failed after %zu", s->log_path, len, old, done);
	if (done > 0 && ftruncate(s->fd, (off_t)old) < 0) {
		s->failed = true;
		return err_sys(e, EXIT_IOERR, "segment '%s': a partial "
		    "write at position %" PRIu64 " could not be cut back",
		    s->log_path, old);
	}
	return -1;
}

int
seg_truncate_to(struct seg *s, int64_t offset, uint64_t *cut_out,
    struct err *e)
{
	struct seg_batch_info bi;
	int r;

	*cut_out = 0;
	if (!s->active || s->readonly)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' is not active",
		    s->log_path);
	if ((r = seg_find_batch(s, offset, &bi, e)) <= 0)
		return r;
	if (ftruncate(s->fd, (off_t)bi.position) < 0)
		return err_sys(e, EXIT_IOERR, "unable to truncate segment '%s'",
		    s->log_path);
	/* A cut that a crash could undo would resurrect replaced data. */
	if (fsync(s->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to fsync segment '%s'",
		    s->log_path);
	*cut_out = s->size - bi.position;
	s->size = bi.position;
	s->dirty = true;
	if (idx_truncate_to(&s->oidx, bi.base_offset, e) < 0 ||
	    idx_truncate_to(&s->tidx, bi.base_offset, e) < 0)
		return -1;
	s->tail_known = false;
	r = seg_load_tail(s, e);
	if (r > 0)
		return err_set(e, EXIT_SOFTWARE, "segment '%s': index "
		    "inconsistent after truncation", s->log_path);
	return r;
}

int
seg_make_active(struct seg *s, struct err *e)
{
	struct seg_recovery rec;
	int r;

	if (s->active)
		return 0;
	if (s->readonly)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' is read-only",
		    s->log_path);
	if (seg_fd(s, e) < 0 ||
	    idx_make_writable(&s->oidx, s->params.index_max_bytes, e) < 0 ||
	    idx_make_writable(&s->tidx, s->params.index_max_bytes, e) < 0)
		return -1;
	s->active = true;
	if ((r = seg_load_tail(s, e)) <= 0)
		return r;
	/* The index disagrees with the data: rebuild from the data. */
	return seg_recover(s, s->base_offset, &rec, e);
}

int
seg_make_inactive_unsynced(struct seg *s, struct err *e)
{
	if (!s->active)
		return 0;
	if (s->max_timestamp >= 0 && idx_append_time(&s->tidx,
	    s->max_timestamp, s->offset_of_max_timestamp, true, e) < 0)
		return -1;
	if (idx_trim(&s->oidx, false, e) < 0 || idx_trim(&s->tidx, false, e) < 0)
		return -1;
	s->indexes_unsynced = true;
	s->active = false;
	return 0;
}

int
seg_make_inactive(struct seg *s, struct err *e)
{
	if (seg_make_inactive_unsynced(s, e) < 0)
		return -1;
	return seg_flush(s, e);
}

/* fsync a closed index by name (a rolled segment no longer holds it). */
static int
fsync_index_file(const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open index '%s'",
		    path);
	if (fsync(fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync index '%s'", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Only the .log: the indexes of an active segment are derived data. Every
 * start without the clean-shutdown marker rebuilds them from the segment
 * holding the recovery point on, which is at or below the active segment
 * (plog.c, load_segments), so a stale or torn active index never
 * survives a crash. A rolled segment's indexes are final and trusted
 * once the recovery point passes it, so they are synced with its .log
 * (indexes_unsynced); a clean close syncs the active ones in seg_close().
 */
int
seg_flush(struct seg *s, struct err *e)
{
	if (s->dirty && s->fd >= 0 && fdatasync(s->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to fsync segment '%s'",
		    s->log_path);
	s->dirty = false;
	if (s->indexes_unsynced && !s->active &&
	    (fsync_index_file(s->oidx.path, e) < 0 ||
	    fsync_index_file(s->tidx.path, e) < 0))
		return -1;
	s->indexes_unsynced = false;
	return 0;
}
