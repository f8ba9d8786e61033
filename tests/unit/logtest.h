/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the log-store unit tests (index, segment, plog,
 * ckpt, logdir): temporary directories, deterministic batches and small
 * file utilities. Header-only; everything is static inline.
 */
#ifndef KLOG_LOGTEST_H
#define KLOG_LOGTEST_H

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "record.h"

/* Create a fresh directory under /tmp into buf (at least 64 bytes). */
static inline int
lt_tmpdir(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/klog-unit-XXXXXX");
	return mkdtemp(buf) != NULL ? 0 : -1;
}

/* Remove a directory tree (what these tests create: 3 levels at most). */
static inline void
lt_rmrf(const char *path)
{
	struct dirent *d;
	char sub[4096];
	struct stat st;
	DIR *dir;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((dir = opendir(path)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0)
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s", path,
			    d->d_name) < (int)sizeof(sub))
				lt_rmrf(sub);
		}
		closedir(dir);
	}
	rmdir(path);
}

static inline long long
lt_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static inline int
lt_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* "<dir>/<20-digit base><ext>" */
static inline void
lt_seg_path(char *buf, size_t size, const char *dir, int64_t base,
    const char *ext)
{
	snprintf(buf, size, "%s/%020" PRId64 "%s", dir, base, ext);
}

/* Read a whole file into a malloc'd buffer; *len_out gets its size. */
static inline uint8_t *
lt_read_file(const char *path, size_t *len_out)
{
	long long n = lt_file_size(path);
	uint8_t *p;
	FILE *f;

	if (n < 0 || (f = fopen(path, "rb")) == NULL)
		return NULL;
	p = malloc((size_t)n + 1);
	if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len_out = (size_t)n;
	return p;
}

static inline int
lt_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int r;

	if (f == NULL)
		return -1;
	r = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

/* XOR one byte of a file at `pos`. */
static inline int
lt_flip_byte(const char *path, long long pos)
{
	int fd = open(path, O_RDWR);
	uint8_t c;
	int r = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &c, 1, pos) == 1) {
		c ^= 0x5a;
		if (pwrite(fd, &c, 1, pos) == 1)
			r = 0;
	}
	close(fd);
	return r;
}

/*
 * Append one batch of `n` records (base offset 0) to `out`: record i has
 * timestamp ts + i * step, key "k<i>" and a value of `vsize` bytes
 * derived from `seed` and i; lt_batch does not compress.
 */
static inline int
lt_batch_codec(struct buf *out, enum compress_codec codec, int n, int64_t ts,
    int64_t step, size_t vsize, int seed)
{
	struct rec_builder b;
	struct err e;
	uint8_t val[4096];
	char key[16];
	int i, r = 0;

	if (vsize > sizeof(val))
		vsize = sizeof(val);
	rec_builder_init(&b, codec, COMPRESS_LEVEL_DEFAULT);
	for (i = 0; i < n && r == 0; i++) {
		struct rec_bytes k, v;
		size_t j;

		for (j = 0; j < vsize; j++)
			val[j] = (uint8_t)('a' + (seed + i + (int)j) % 26);
		k.data = (const uint8_t *)key;
		k.len = snprintf(key, sizeof(key), "k%d", i);
		v.data = val;
		v.len = (int32_t)vsize;
		r = rec_builder_add(&b, ts + i * step, k, v, NULL, 0);
	}
	if (r == 0)
		r = rec_builder_finish(&b, out, &e);
	rec_builder_release(&b);
	return r;
}

static inline int
lt_batch(struct buf *out, int n, int64_t ts, int64_t step, size_t vsize,
    int seed)
{
	return lt_batch_codec(out, COMPRESS_NONE, n, ts, step, vsize, seed);
}

/* Overwrite the base offset of the batch at the start of p. */
static inline void
lt_set_base(uint8_t *p, int64_t base)
{
	rec_batch_set_base_offset(p, base);
}

#endif
