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
 * read with every line checked, errors naming file:line.
 */
#ifndef KLOG_CKPT_H
#define KLOG_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
