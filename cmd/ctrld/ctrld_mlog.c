/* SPDX-License-Identifier: MIT */
/*
 * The metadata log: <controller.data_dir>/metadata.log, an append-only
 * file of CRC-32C-checked records, each the full new state of one broker,
 * topic or partition. A batch of records is fdatasync'd before anyone is
 * told about the change it describes, so a crash loses only changes that
 * were never announced: a torn tail is cut off on replay. When the file
 * has grown well past its last rewrite it is replaced by a snapshot
 * (temp file, fsync, rename), which also bounds start-up time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "ctrld.h"
#include "log.h"
#include "util.h"
#include "banned.h"

#define MLOG_READ_MAX (1ull << 30)

size_t
mlog_rec_begin(struct buf *b)
{
	size_t start = b->len;
	uint8_t *p = buf_extend(b, MLOG_HEADER);

	if (p != NULL)
		memset(p, 0, MLOG_HEADER);
	return start;
}

void
mlog_rec_end(struct buf *b, size_t start, enum mlog_type type)
{
	uint8_t *p;
	uint32_t len;

	if (b->failed || b->len < start + MLOG_HEADER)
		return;
	p = b->data + start;
	len = (uint32_t)(b->len - start - 8);
	be16_store(p + 8, (uint16_t)type);
	be32_store(p, len);
	be32_store(p + 4, crc32c(0, p + 8, len));
}

static int
make_dir(const char *dir, struct err *e)
{
	char path[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return err_set(e, EXIT_CANTCREAT, "bad data directory '%s'", dir);
	memcpy(path, dir, n + 1);
	/* mkdir -p: every prefix, then the whole path. */
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_sys(e, EXIT_CANTCREAT, "unable to create "
			    "directory '%s'", path);
		path[i] = dir[i];
	}
	return 0;
}

static int
take_lock(struct mlog *l, const char *dir, struct err *e)
{
	char path[PATH_MAX], pid[24];
	int n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CTRLD_LOCK_NAME) >=
	    (int)sizeof(path))
		return err_set(e, EXIT_CANTCREAT, "path too long: '%s'", dir);
	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->lock_fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to open '%s'", path);
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		char held[24] = "";
		ssize_t r;

		if (errno != EWOULDBLOCK)
			return err_sys(e, EXIT_IOERR, "unable to lock '%s'",
			    path);
		r = pread(l->lock_fd, held, sizeof(held) - 1, 0);
		held[r > 0 ? r : 0] = '\0';
		held[strcspn(held, "\n")] = '\0';
		return err_set(e, EXIT_TEMPFAIL, "controller data directory "
		    "'%s' is in use by another ctrld%s%s%s", dir,
		    held[0] ? " (pid " : "", held, held[0] ? ")" : "");
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(l->lock_fd, 0) < 0 ||
	    pwrite(l->lock_fd, pid, (size_t)n, 0) != n)
		return err_sys(e, EXIT_IOERR, "unable to write '%s'", path);
	return 0;
}

static int
open_log(struct mlog *l, struct err *e)
{
	struct stat st;

	l->fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to open '%s'", l->path);
	if (fstat(l->fd, &st) < 0)
		return err_sys(e, EXIT_IOERR, "unable to stat '%s'", l->path);
	l->size = (uint64_t)st.st_size;
	return 0;
}

int
mlog_open(struct mlog *l, const char *dir, uint64_t snapshot_min,
    struct err *e)
{
	memset(l, 0, sizeof(*l));
	l->fd = l->lock_fd = -1;
	l->snapshot_min = snapshot_min;
	if (snprintf(l->path, sizeof(l->path), "%s/%s", dir, CTRLD_LOG_NAME) >=
	    (int)sizeof(l->path))
		return err_set(e, EXIT_CANTCREAT, "path too long: '%s'", dir);
	if (make_dir(dir, e) < 0 || take_lock(l, dir, e) < 0)
		return -1;
	if (open_log(l, e) < 0)
		return -1;
	/* A new file must survive a crash as an entry of its directory. */
	return dir_fsync_of(l->path, e);
}

/* Cut the file at `off` after a torn or corrupt record. */
static int
cut_tail(struct mlog *l, uint64_t off, const char *why, struct err *e)
{
	log_warnx("metadata log '%s': %s at offset %" PRIu64 "; cutting "
	    "%" PRIu64 " bytes from there", l->path, why, off, l->size - off);
	if (ftruncate(l->fd, (off_t)off) < 0 || fdatasync(l->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to truncate '%s' at "
		    "offset %" PRIu64, l->path, off);
	l->size = off;
	return 0;
}

/* Why the record at p[0..left) is not valid, or NULL when it is. */
static const char *
check_record(const uint8_t *p, uint64_t left, uint32_t *len)
{
	if (left < MLOG_HEADER)
		return "torn record header";
	*len = be32_load(p);
	if (*len < 2 || *len > MLOG_RECORD_MAX)
		return "bad record length";
	if (*len > left - 8)
		return "torn record";
	if (crc32c(0, p + 8, *len) != be32_load(p + 4))
		return "CRC mismatch";
	return NULL;
}

int
mlog_replay(struct mlog *l, mlog_replay_fn fn, void *arg, size_t *nrecords,
    struct err *e)
{
	char *data = NULL;
	size_t len = 0;
	uint64_t off = 0;
	int rc = 0;

	*nrecords = 0;
	if (file_read_all(l->path, MLOG_READ_MAX, &data, &len, e) < 0)
		return -1;
	while (off < len && rc == 0) {
		const uint8_t *p = (const uint8_t *)data + off;
		const char *why;
		struct breader body;
		uint32_t rlen = 0;

		why = check_record(p, len - off, &rlen);
		if (why != NULL) {
			rc = cut_tail(l, off, why, e);
			break;
		}
		br_init(&body, p + MLOG_HEADER, rlen - 2);
		rc = fn(arg, (int16_t)be16_load(p + 8), &body, off, e);
		if (rc < 0)
			err_wrap(e, "metadata log '%s': offset %" PRIu64,
			    l->path, off);
		off += 8 + (uint64_t)rlen;
		(*nrecords)++;
	}
	free(data);
	l->base_size = l->size;
	return rc;
}

int
mlog_append(struct mlog *l, const struct buf *records, struct err *e)
{
	const uint8_t *p = records->data;
	size_t left = records->len;

	if (records->failed)
		return err_set(e, EXIT_SOFTWARE, "metadata records: out of "
		    "memory");
	while (left > 0) {
		ssize_t n = write(l->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, EXIT_IOERR, "unable to write '%s'",
			    l->path);
		p += n;
		left -= (size_t)n;
		l->size += (uint64_t)n;
	}
	if (fdatasync(l->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to fdatasync '%s'",
		    l->path);
	return 0;
}

bool
mlog_wants_rewrite(const struct mlog *l)
{
	uint64_t limit = 4 * l->base_size;

	if (limit < l->snapshot_min)
		limit = l->snapshot_min;
	return l->size > limit;
}

int
mlog_rewrite(struct mlog *l, const struct buf *records, struct err *e)
{
	uint64_t before = l->size;

	if (records->failed)
		return err_set(e, EXIT_SOFTWARE, "metadata snapshot: out of "
		    "memory");
	if (file_write_atomic(l->path, records->data, records->len, e) < 0)
		return -1;
	close(l->fd);
	if (open_log(l, e) < 0)
		return -1;
	l->base_size = l->size;
	log_info("metadata log '%s' rewritten: %" PRIu64 " -> %" PRIu64
	    " bytes", l->path, before, l->size);
	return 0;
}

void
mlog_close(struct mlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	l->fd = l->lock_fd = -1;
}
