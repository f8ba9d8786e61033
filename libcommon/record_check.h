/* SPDX-License-Identifier: MIT */
/*
 * One-pass validation of uncompressed RecordBatch v2 batches: the same
 * checks, verdicts and messages as the per-record walk
 * (rec_batch_validate_walk, record.h), without a reader or a record
 * struct per record. rec_batch_validate and rec_batch_validate_iter call
 * it for every uncompressed batch, so callers normally go through them;
 * compressed batches keep the walk.
 */
#ifndef KLOG_RECORD_CHECK_H
#define KLOG_RECORD_CHECK_H

#include "err.h"
#include "record.h"

/*
 * Validate the parsed, uncompressed batch `b` (rec_batch_codec(b) must be
 * COMPRESS_NONE): CRC, then with REC_VALIDATE_PRODUCE the producer rules,
 * then every record's length, varints, fields, headers and offset delta,
 * the record count and trailing bytes; REC_VALIDATE_KEYS as in record.h.
 * Returns 0, or -1 with EXIT_DATAERR and the message
 * rec_batch_validate_walk would give. A compressed batch is refused with
 * EXIT_SOFTWARE.
 */
int rec_check_plain(const struct rec_batch *b, unsigned flags,
    struct err *e);

#endif
