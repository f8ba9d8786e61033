/* SPDX-License-Identifier: MIT */
/*
 * One-pass validation of uncompressed RecordBatch v2 batches, for the
 * broker's produce path: the same checks, verdicts and messages as
 * rec_batch_validate_iter (record.h), without a reader or a record struct
 * per record. Compressed batches keep the iterator path.
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
 * Returns 0, or -1 with EXIT_DATAERR and the message rec_batch_validate
 * would give. A compressed batch is refused with EXIT_SOFTWARE.
 */
int rec_check_plain(const struct rec_batch *b, unsigned flags,
    struct err *e);

/*
 * Validate any parsed batch: rec_check_plain when it is uncompressed,
 * else rec_batch_validate_iter with the caller's iterator (borrowed).
 */
int rec_check_batch(struct rec_iter *it, const struct rec_batch *b,
    unsigned flags, struct err *e);

#endif
