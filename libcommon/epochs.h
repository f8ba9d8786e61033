/* SPDX-License-Identifier: MIT */
/*
 * A partition's leader-epoch cache: the (epoch, start offset) pairs that
 * say which leader epoch wrote which offsets, kept in the partition
 * directory as Kafka's `leader-epoch-checkpoint` ("0\n<count>\n" then
 * "<epoch> <start offset>\n" lines, replaced atomically on every change
 * of its content).
 * Followers truncate by it (OffsetForLeaderEpoch, KIP-101/279).
 */
#ifndef KLOG_EPOCHS_H
#define KLOG_EPOCHS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct epoch_entry {
	int32_t epoch;
	int64_t start_offset;
};

struct epoch_cache;

/* Load <dir>/leader-epoch-checkpoint (absent = empty). A malformed file
 * is an error naming the file and line. The caller frees with
 * epoch_cache_close(). */
int epoch_cache_open(const char *dir, struct epoch_cache **out,
    struct err *e);
void epoch_cache_close(struct epoch_cache *c);

/*
 * Hold back the writes of the following changes, in memory only, until
 * epoch_cache_flush(). For a sequence of changes during which the log
 * gains nothing (opening a partition: trimming to the recovered log, then
 * starting to lead), so that the file is written once, for the net
 * change, and not at all when there is none. The file meanwhile keeps
 * the earlier entries, a superset of what the truncations leave.
 */
void epoch_cache_defer(struct epoch_cache *c);
/*
 * End a deferral and persist the entries if they differ from what the
 * file holds. 0, or -1 with the write's error (retried on the next
 * change or flush).
 */
int epoch_cache_flush(struct epoch_cache *c, struct err *e);

/* The latest epoch, or -1 when empty. */
int32_t epoch_cache_latest(const struct epoch_cache *c);
size_t epoch_cache_count(const struct epoch_cache *c);
const struct epoch_entry *epoch_cache_entry(const struct epoch_cache *c,
    size_t i);

/*
 * Record that `epoch` starts at `start_offset` and persist it, as Kafka's
 * assign(): the latest epoch again at or after its start is a no-op (the
 * common case, one call per appended batch); otherwise every entry with
 * an epoch >= `epoch` or a start offset >= `start_offset` is dropped
 * (it described a truncated log) and the new one appended. 0, or -1 with
 * EXIT_SOFTWARE (a negative epoch or offset), EXIT_OSERR, or the write's
 * error (the entry is then in memory but not on disk).
 */
int epoch_cache_assign(struct epoch_cache *c, int32_t epoch,
    int64_t start_offset, struct err *e);
/* The log was truncated to `end_offset`: drop entries starting at or
 * after it, and persist. */
int epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset,
    struct err *e);
/* The log now starts at `start_offset` (retention, or a follower's reset):
 * drop entries wholly below it and move the first one up to it. */
int epoch_cache_truncate_from_start(struct epoch_cache *c,
    int64_t start_offset, struct err *e);
/* Forget every entry and persist (the log was emptied and restarted
 * elsewhere, Kafka's truncateFullyAndStartAt). */
int epoch_cache_clear(struct epoch_cache *c, struct err *e);

/*
 * OffsetForLeaderEpoch's answer for `epoch` on a log whose end offset is
 * `log_end_offset`: the largest known epoch <= `epoch` and the offset where
 * the next higher epoch starts (or the log end offset when it is the
 * latest). An undefined (negative) epoch, one above every known one, or
 * an empty cache gives (-1, -1). An epoch below every known one gives
 * (`epoch`, start of the first known epoch), as Kafka since KIP-279.
 */
void epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t epoch,
    int64_t log_end_offset, int32_t *out_epoch, int64_t *out_end_offset);

#endif
