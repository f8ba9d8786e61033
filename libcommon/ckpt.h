/* SPDX-License-Identifier: MIT */
/*
 * Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
 * log-start-offset-checkpoint, replication-offset-checkpoint): text, one
 * item per line,
 *
 *   0                          version
 *   <count>                    number of entries that follow
 *   <topic> <partition> <offset>   count times, single spaces
 *
 * Written atomically (temp file, fsync, rename, fsync of the directory);
 * read with every line checked, errors naming file:line. The framing
 * (version, count, one entry a line) is also offered on its own for
 * other files of the same shape (leader-epoch-checkpoint).
 */
#ifndef KLOG_CKPT_H
#define KLOG_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Kafka's limit on topic name length. */
#define CKPT_TOPIC_MAX 249

struct ckpt_entry {
	char topic[CKPT_TOPIC_MAX + 1];
	int32_t partition;
	int64_t offset;
};

/* A set of entries; embedded: ckpt_init(), ckpt_release(). */
struct ckpt {
	struct ckpt_entry *entries;	/* owned */
	size_t count;
	size_t cap;
};

void ckpt_init(struct ckpt *c);
void ckpt_release(struct ckpt *c);

/*
 * Whether `topic` is a legal Kafka topic name: 1 to 249 characters from
 * [A-Za-z0-9._-], and neither "." nor "..".
 */
bool ckpt_topic_valid(const char *topic);

/*
 * Set the offset of topic-partition, adding the entry if it is new.
 * 0, or -1 with EXIT_DATAERR (bad topic, negative partition or offset) or
 * EXIT_OSERR (out of memory).
 */
int ckpt_set(struct ckpt *c, const char *topic, int32_t partition,
    int64_t offset, struct err *e);

/* 1 with *offset_out set when topic-partition is present, else 0. */
int ckpt_get(const struct ckpt *c, const char *topic, int32_t partition,
    int64_t *offset_out);

/*
 * Read `path` into `c` (initialised, emptied first). Returns 0, or -1 with
 * EXIT_NOINPUT when the file does not exist (callers usually treat that
 * as empty), EXIT_DATAERR "path:line: problem" for a malformed file
 * (unknown version, bad count, bad or duplicate entry, wrong number of
 * entries, trailing data), EXIT_IOERR otherwise.
 */
int ckpt_read(const char *path, struct ckpt *c, struct err *e);

/* Replace `path` atomically with the entries of `c`. 0 or -1. */
int ckpt_write(const char *path, const struct ckpt *c, struct err *e);

/*
 * Takes one entry line (`len` bytes, no newline). Returns 0, or -1 with
 * `e` set: EXIT_DATAERR with just the problem ("invalid offset"), which
 * the reader prefixes with "path:line: ", or any other code, passed on.
 */
typedef int ckpt_line_fn(void *arg, const char *line, size_t len,
    struct err *e);
/* Appends entry `i` of the file, newline included, to `b`. */
typedef void ckpt_put_fn(const void *arg, size_t i, struct buf *b);

/*
 * Read a file in checkpoint format, at most `max_size` bytes: check the
 * version and the count, and hand each entry line to `fn(arg, ...)`.
 * Errors as ckpt_read() (except duplicates), and whatever `fn` sets.
 */
int ckpt_read_lines(const char *path, size_t max_size, ckpt_line_fn *fn,
    void *arg, struct err *e);

/*
 * Replace `path` atomically with a file in checkpoint format of `count`
 * entries, each written by `fn(arg, i, b)`. 0, or -1 with EXIT_OSERR (out
 * of memory) or file_write_atomic()'s error.
 */
int ckpt_write_lines(const char *path, size_t count, ckpt_put_fn *fn,
    const void *arg, struct err *e);

/* A decimal without sign or leading zeros (except "0"), at most max. */
bool ckpt_parse_num(const char *s, size_t len, int64_t max, int64_t *out);

#endif
