/* SPDX-License-Identifier: MIT */
/*
 * The klog record envelope (docs: RECORD-JSON.md): one record as one JSON
 * object, written by kcons --json and kdump-segment --json, read by kprod
 * --json. This is the only writer of the envelope, so every tool emits the
 * same field names, order and byte-field encoding:
 *
 *   {"topic":T,"partition":N,"offset":N,"timestamp":N,
 *    "timestamp_type":"create"|"log_append","key":B,"value":B,
 *    "headers":[{"key":"k","value":B},...],"leader_epoch":N}
 *
 * where B is null, a JSON string (valid UTF-8) or {"base64":"..."}.
 */
#ifndef KLOG_RECJSON_H
#define KLOG_RECJSON_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "record.h"

/*
 * Append the envelope of `rec`, a record of `batch`, to `b` (no newline).
 * With `topic` NULL the topic and partition fields are left out (a segment
 * whose partition is unknown). Header keys are written as strings (bytes
 * that are not UTF-8 become U+FFFD); every byte field is lossless.
 * Returns 0, or -1 with EXIT_DATAERR when the record's header bytes are
 * malformed; `b` then holds what it held before the call. Out of memory
 * shows as b->failed, as for every buf writer.
 */
int recjson_put_record(struct buf *b, const char *topic, int32_t partition,
    const struct rec_batch *batch, const struct rec_record *rec,
    struct err *e);

/* "create" or "log_append": the batch's timestamp type, envelope names. */
const char *recjson_timestamp_type(const struct rec_batch *batch);

#endif
