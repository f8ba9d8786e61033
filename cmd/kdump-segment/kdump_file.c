/* SPDX-License-Identifier: MIT */
/*
 * The read-only file window every reader goes through: files are opened
 * O_RDONLY, never locked or mapped, and read with pread() only up to the
 * size they had when opened, so a directory a broker is writing is safe to
 * read (and a file truncated meanwhile just ends early).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "kdump.h"
#include "banned.h"

/* Bytes read ahead per window refill: many small batches per read(). */
#define KD_WINDOW (256u * 1024)

int
kd_file_open(struct kd_file *f, const char *path, struct err *e)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	buf_init(&f->win);
	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return err_sys(e, errno == EIO ? EXIT_IOERR : EXIT_NOINPUT,
		    "unable to open '%s'", path);
	if (fstat(f->fd, &st) < 0) {
		err_sys(e, EXIT_IOERR, "unable to stat '%s'", path);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

const uint8_t *
kd_file_read(struct kd_file *f, uint64_t pos, size_t n, size_t *got,
    struct err *e)
{
	static const uint8_t none[1];
	uint64_t avail;
	size_t want, have = 0;

	*got = 0;
	if (pos >= f->size)
		return none;
	avail = f->size - pos;
	if (n > avail)
		n = (size_t)avail;
	if (pos >= f->win_pos && pos + n <= f->win_pos + f->win.len) {
		*got = n;
		return f->win.data + (pos - f->win_pos);
	}
	want = n < KD_WINDOW ? KD_WINDOW : n;
	if (want > avail)
		want = (size_t)avail;
	buf_clear(&f->win);
	f->win_pos = pos;
	if (buf_reserve(&f->win, want) < 0) {
		err_set(e, EXIT_OSERR, "out of memory reading '%s'", f->path);
		return NULL;
	}
	while (have < want) {
		ssize_t r = pread(f->fd, f->win.data + have, want - have,
		    (off_t)(pos + have));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_sys(e, EXIT_IOERR, "unable to read '%s'", f->path);
			return NULL;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	f->win.len = have;
	if (have < want) {
		/* Truncated under us (retention, recovery): stop there. */
		log_warnx("'%s' shrank while being read", f->path);
		f->size = pos + have;
		if (n > have)
			n = have;
	}
	*got = n;
	return f->win.data;
}

void
kd_file_close(struct kd_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	buf_release(&f->win);
}

int
kd_file_slurp(const char *path, size_t max, struct buf *out, struct err *e)
{
	struct kd_file f;
	const uint8_t *p;
	uint64_t pos = 0;
	size_t got;

	if (kd_file_open(&f, path, e) < 0)
		return -1;
	if (f.size > max) {
		kd_file_close(&f);
		return err_set(e, EXIT_DATAERR, "'%s' is larger than %zu bytes",
		    path, max);
	}
	while (pos < f.size) {
		p = kd_file_read(&f, pos, KD_WINDOW, &got, e);
		if (p == NULL) {
			kd_file_close(&f);
			return -1;
		}
		if (got == 0)
			break;
		buf_put(out, p, got);
		pos += got;
	}
	kd_file_close(&f);
	if (out->failed)
		return err_set(e, EXIT_OSERR, "out of memory reading '%s'", path);
	return 0;
}
