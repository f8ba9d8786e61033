/* SPDX-License-Identifier: MIT */
/*
 * Small utilities (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

static void
oom(size_t n)
{
	char msg[80];
	int len = snprintf(msg, sizeof(msg), "out of memory allocating %zu bytes\n", n);

	if (len > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)len);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		oom(count * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

int64_t
clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dir_fsync_of(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		if (n >= sizeof(dir))
			return err_set(e, EXIT_IOERR, "path too long: '%s'", path);
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open directory '%s'", dir);
	if (fsync(fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync directory '%s'", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    struct err *e)
{
	char tmp[PATH_MAX];
	const char *p = data, *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int fd;

	/*
	 * "<path>.tmp" unless that name would pass the 255-byte limit (long
	 * topic names); then a short hidden name in the same directory.
	 */
	if (strlen(base) + 4 <= 255) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
			return err_set(e, EXIT_IOERR, "path too long: '%s'", path);
	} else if (snprintf(tmp, sizeof(tmp), "%.*s.tmp-%ld",
	    (int)(base - path), path, (long)getpid()) >= (int)sizeof(tmp)) {
		return err_set(e, EXIT_IOERR, "path too long: '%s'", path);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to create '%s'", tmp);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, EXIT_IOERR, "unable to write '%s'", tmp);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync '%s'", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_sys(e, EXIT_IOERR, "unable to close '%s'", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_sys(e, EXIT_IOERR, "unable to rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	return dir_fsync_of(path, e);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int
file_read_all(const char *path, size_t max, char **out, size_t *out_len,
    struct err *e)
{
	struct stat st;
	char *data;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to open '%s'", path);
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
		if (errno == 0 || (size_t)st.st_size > max)
			err_set(e, EXIT_DATAERR, "file '%s' is larger than %zu bytes",
			    path, max);
		else
			err_sys(e, EXIT_IOERR, "unable to stat '%s'", path);
		close(fd);
		return -1;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		return err_set(e, EXIT_OSERR, "out of memory reading '%s'", path);
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, EXIT_IOERR, "unable to read '%s'", path);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*out = data;
	if (out_len != NULL)
		*out_len = len;
	return 0;
}
