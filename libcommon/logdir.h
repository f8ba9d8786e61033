/* SPDX-License-Identifier: MIT */
/*
 * A data directory: the partition logs of one broker, laid out as Kafka
 * lays out a log.dirs entry:
 *
 *   <dir>/.lock                              flock(2)ed while open for writing
 *   <dir>/.klog_cleanshutdown                present only after a clean close
 *   <dir>/recovery-point-offset-checkpoint   see ckpt.h
 *   <dir>/log-start-offset-checkpoint
 *   <dir>/cleaner-offset-checkpoint          compacted logs' cleaner
 *                                            checkpoints (plog_compact)
 *   <dir>/<topic>-<partition>/               one plog each (see plog.h)
 *   <dir>/<topic>-<partition>.<ms>-delete/   being removed (ld_remove)
 *
 * Opening loads every partition (recovering them unless the clean-shutdown
 * marker was there) and removes the marker; a clean close flushes every
 * log, writes the checkpoints, closes the logs, then writes the marker.
 */
#ifndef KLOG_LOGDIR_H
#define KLOG_LOGDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "err.h"
#include "plog.h"

#define LD_LOCK_FILE ".lock"
#define LD_CLEAN_SHUTDOWN_FILE ".klog_cleanshutdown"
#define LD_RECOVERY_POINT_FILE "recovery-point-offset-checkpoint"
#define LD_LOG_START_FILE "log-start-offset-checkpoint"
#define LD_CLEANER_FILE "cleaner-offset-checkpoint"

struct logdir;

/* One partition of a data directory; owned by the logdir. */
struct ld_partition {
	char topic[CKPT_TOPIC_MAX + 1];
	int32_t partition;
	struct plog *log;
	struct plog_report report;	/* what opening it repaired */
};

enum ld_open_flags {
	/*
	 * Inspect only: no lock, the marker is left alone, every log is
	 * opened with PLOG_OPEN_READONLY and nothing is written.
	 */
	LD_OPEN_READONLY = 1 << 0,
	/* Create the directory (one level) if it does not exist. */
	LD_OPEN_CREATE = 1 << 1
};

/*
 * Open the data directory `path`: take an exclusive flock on <path>/.lock
 * (unless read-only), note and (after loading) remove the clean-shutdown
 * marker, read the checkpoint files (missing ones count as empty) and
 * open every `<topic>-<partition>` subdirectory as a plog with `cfg`,
 * its recovery point and log start offset (0 when not checkpointed) and
 * its cleaner checkpoint (plog_set_cleaner_checkpoint, when present).
 * Names are split at the last '-'; entries whose partition is not a
 * non-negative integer or whose topic is not a legal name are ignored.
 * Partitions are ordered by topic, then partition. *out is owned by the
 * caller: ld_close() or ld_free(). Returns 0, or -1 with EXIT_TEMPFAIL
 * when another process holds the lock, EXIT_NOINPUT when the directory is
 * missing, EXIT_DATAERR for a malformed checkpoint (file:line), or the
 * error of the first log that fails to open.
 */
int ld_open(const char *path, const struct plog_config *cfg, unsigned flags,
    struct logdir **out, struct err *e);

/* Whether the marker of a clean shutdown was found at open. */
bool ld_clean_shutdown(const struct logdir *ld);
const char *ld_path(const struct logdir *ld);

size_t ld_count(const struct logdir *ld);
/* Partition i (< ld_count()); borrowed until ld_close()/ld_free(). */
const struct ld_partition *ld_partition_at(const struct logdir *ld, size_t i);

/* The log of topic-partition, or NULL if there is none. Borrowed. */
struct plog *ld_get(const struct logdir *ld, const char *topic,
    int32_t partition);

/*
 * Create topic-partition: its directory and an empty log with `cfg` (NULL:
 * the directory's default). *out (may be NULL) borrows the new log.
 * 0, or -1 with EXIT_DATAERR (bad topic name or partition), EXIT_CANTCREAT
 * (exists), EXIT_SOFTWARE (read-only), EXIT_IOERR.
 */
int ld_create(struct logdir *ld, const char *topic, int32_t partition,
    const struct plog_config *cfg, struct plog **out, struct err *e);

/*
 * Remove topic-partition: close its log, rename its directory to
 * "<topic>-<partition>.<ms>-delete" (as Kafka does, shortening the topic
 * so the name fits in 255 bytes), then delete it. A
 * crash after the rename leaves a directory that the next ld_open()
 * removes. Logs of other partitions stay valid. 0, or -1 with
 * EXIT_DATAERR (no such partition), EXIT_SOFTWARE (read-only), EXIT_IOERR.
 */
int ld_remove(struct logdir *ld, const char *topic, int32_t partition,
    struct err *e);

/*
 * Write the recovery-point and log-start checkpoint files from the logs'
 * current values, and the cleaner checkpoint file with every log whose
 * cleaner checkpoint is set (plog_cleaner_checkpoint() >= 0) when there
 * is one or the file existed at open. 0 or -1.
 */
int ld_checkpoint(struct logdir *ld, struct err *e);

/* plog_flush() every log, then ld_checkpoint(). 0 or -1. */
int ld_flush(struct logdir *ld, struct err *e);

/*
 * Clean shutdown: flush every log, write the checkpoints, close the logs
 * (trimming indexes), then create the clean-shutdown marker (fsynced).
 * If a step fails the marker is not written, so the next open recovers.
 * Read-only: just closes. `ld` is freed in every case. 0 or -1.
 */
int ld_close(struct logdir *ld, struct err *e);

/*
 * Release everything without flushing, trimming or writing anything (as a
 * crash would leave it, for tests; or after a failure). NULL is a no-op.
 */
void ld_free(struct logdir *ld);

#endif
