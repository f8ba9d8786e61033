/* SPDX-License-Identifier: MIT */
/*
 * Small utilities: clocks, atomic file replacement, and allocation wrappers
 * that abort on OOM. The x* allocators are for programs only; libcommon
 * itself reports allocation failure through struct err.
 */
#ifndef KLOG_UTIL_H
#define KLOG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Wall clock in milliseconds since the epoch (record timestamps). */
int64_t clock_wall_ms(void);
/* Monotonic clock in milliseconds (timeouts, intervals). */
int64_t clock_mono_ms(void);

/*
 * Replace `path` with `len` bytes atomically: write "<path>.tmp" (or a
 * hidden ".tmp-<pid>" beside it when that name is too long), fsync it,
 * rename over `path`, fsync the directory. A crash leaves the old or the
 * new contents, never a mix. Returns 0 or -1 with `e` set.
 */
int file_write_atomic(const char *path, const void *data, size_t len,
    struct err *e);

/* fsync the directory holding `path` (after create, rename, unlink). */
int dir_fsync_of(const char *path, struct err *e);

/*
 * Read a whole small file into a NUL-terminated malloc'd buffer (caller
 * frees). Files larger than `max` are an error. Sets errno-class codes:
 * EXIT_NOINPUT when missing, EXIT_IOERR otherwise.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *out_len,
    struct err *e);

#endif
