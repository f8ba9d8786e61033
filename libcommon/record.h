/* SPDX-License-Identifier: MIT */
/*
 * Kafka RecordBatch v2 (magic 2): the one byte format klog uses on disk, on
 * the wire and for replication. A batch is validated once, given its base
 * offset by rewriting 8 bytes in place (outside the CRC), and otherwise
 * moved as is. Parsing never copies: records point into the batch (or into
 * the iterator's decompression buffer).
 *
 * Batch header (big-endian; the CRC-32C covers bytes 21..end):
 *
 *   off size field                 off size field
 *     0   8  base_offset            27   8  base_timestamp
 *     8   4  batch_length (= size-12) 35 8  max_timestamp
 *    12   4  partition_leader_epoch  43   8  producer_id
 *    16   1  magic (2)              51   2  producer_epoch
 *    17   4  crc                    53   4  base_sequence
 *    21   2  attributes             57   4  record_count
 *    23   4  last_offset_delta      61   .. records (maybe compressed)
 *
 * Record (varints are zigzag): length varint, attributes i8,
 * timestamp_delta varlong, offset_delta varint, key_length varint, key,
 * value_length varint, value, header_count varint, then per header
 * key_length varint, key, value_length varint, value. Length -1 is null.
 */
#ifndef KLOG_RECORD_H
#define KLOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "compress.h"
#include "err.h"

#define REC_MAGIC 2
#define REC_BATCH_HEADER_SIZE 61
/* base_offset + batch_length: the bytes not counted by batch_length */
#define REC_BATCH_LOG_OVERHEAD 12

enum rec_batch_field_offset {
	REC_OFF_BASE_OFFSET = 0,
	REC_OFF_LENGTH = 8,
	REC_OFF_LEADER_EPOCH = 12,
	REC_OFF_MAGIC = 16,
	REC_OFF_CRC = 17,
	REC_OFF_ATTRIBUTES = 21,
	REC_OFF_LAST_OFFSET_DELTA = 23,
	REC_OFF_BASE_TIMESTAMP = 27,
	REC_OFF_MAX_TIMESTAMP = 35,
	REC_OFF_PRODUCER_ID = 43,
	REC_OFF_PRODUCER_EPOCH = 51,
	REC_OFF_BASE_SEQUENCE = 53,
	REC_OFF_RECORD_COUNT = 57,
	REC_OFF_RECORDS = 61
};

enum rec_attr {
	REC_ATTR_COMPRESSION_MASK = 0x07,
	REC_ATTR_LOG_APPEND_TIME = 0x08,
	REC_ATTR_TRANSACTIONAL = 0x10,
	REC_ATTR_CONTROL = 0x20,
	REC_ATTR_DELETE_HORIZON = 0x40
};

/* A parsed batch header; `data` borrows the whole batch (size bytes). */
struct rec_batch {
	int64_t base_offset;
	int32_t length;
	int32_t leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t record_count;
	const uint8_t *data;
	size_t size;		/* length + REC_BATCH_LOG_OVERHEAD */
};

static inline int64_t
rec_batch_last_offset(const struct rec_batch *b)
{
	return b->base_offset + b->last_offset_delta;
}

static inline enum compress_codec
rec_batch_codec(const struct rec_batch *b)
{
	return (enum compress_codec)(b->attributes & REC_ATTR_COMPRESSION_MASK);
}

/*
 * Read the size of the batch starting at `p` from its first 17 bytes (the
 * length and magic), without needing the rest. Returns 1 and sets *size when
 * enough bytes are present to know it, 0 when fewer than 17 bytes are
 * given, and -1 (EXIT_DATAERR) for a length below the header size, above
 * `max_size`, or a magic other than 2.
 */
int rec_batch_size_peek(const uint8_t *p, size_t len, size_t max_size,
    size_t *size, struct err *e);

/*
 * Parse the batch header at data[0..len): checks that the header fits, the
 * batch_length is sane and fits in `len`, magic is 2, record_count and
 * last_offset_delta are not negative, and the codec is known. Does not
 * check the CRC (rec_batch_crc_ok) or the records (rec_batch_validate).
 * Returns 0, or -1 with EXIT_DATAERR and the reason.
 */
int rec_batch_parse(const void *data, size_t len, struct rec_batch *out,
    struct err *e);

/* CRC-32C over attributes..end of a batch of `size` bytes. */
uint32_t rec_batch_crc_compute(const uint8_t *batch, size_t size);
bool rec_batch_crc_ok(const struct rec_batch *b);

struct rec_iter;

enum rec_validate_flags {
	/*
	 * A batch from a producer: at least one record, offset deltas exactly
	 * 0..count-1 (so last_offset_delta == count - 1), not a control batch.
	 * Without it the rules are the log's, which compaction loosens:
	 * deltas strictly increasing and at most last_offset_delta.
	 */
	REC_VALIDATE_PRODUCE = 1 << 0,
	/* Every record must have a non-null key (compacted topics). */
	REC_VALIDATE_KEYS = 1 << 1
};

/*
 * Check the CRC and every record: lengths, varints, count, offset and
 * timestamp deltas, headers. Decompresses as needed, at most
 * `max_decompressed` bytes. Returns 0, or -1 with EXIT_DATAERR naming the
 * record index and the reason.
 */
int rec_batch_validate(const struct rec_batch *b, unsigned flags,
    size_t max_decompressed, struct err *e);
/*
 * The same, reusing the caller's iterator (and its decompression buffer
 * and limit), so a broker validating many batches allocates once. An
 * uncompressed batch goes to the one-pass validator (rec_check_plain,
 * record_check.h) and a compressed one to rec_batch_validate_walk, with
 * the same verdicts and messages either way. Validation only: afterwards
 * the iterator's position is unspecified, so rec_iter_reset() it before
 * reading records.
 */
int rec_batch_validate_iter(struct rec_iter *it, const struct rec_batch *b,
    unsigned flags, struct err *e);
/*
 * The per-record walk: rec_iter_reset, then rec_iter_next over every
 * record with the REC_VALIDATE_* rules applied to each. Compressed
 * batches need it; for uncompressed ones it is the reference that
 * tests/unit/test_record_check.c holds rec_check_plain to. Returns as
 * rec_batch_validate, and leaves `it` at the end of the batch (or at the
 * bad record).
 */
int rec_batch_validate_walk(struct rec_iter *it, const struct rec_batch *b,
    unsigned flags, struct err *e);
/*
 * The batch-level checks both validators start with: the CRC, and with
 * REC_VALIDATE_PRODUCE no control batch, at least one record, and a last
 * offset delta of record_count - 1.
 */
int rec_batch_check_header(const struct rec_batch *b, unsigned flags,
    struct err *e);

/* Rewrite fields outside the CRC in place. */
void rec_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void rec_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
/*
 * Stamp a batch with the broker's time (message.timestamp.type =
 * LogAppendTime): sets the attribute bit and max_timestamp, then
 * recomputes the CRC.
 */
void rec_batch_set_log_append_time(uint8_t *batch, size_t size,
    int64_t timestamp);

/* A byte field; len -1 means null (data is then NULL). */
struct rec_bytes {
	const uint8_t *data;
	int32_t len;
};

struct rec_header {
	struct rec_bytes key;
	struct rec_bytes value;
};

/* One record; every pointer borrows from the batch or iterator buffer. */
struct rec_record {
	int64_t offset;
	int64_t timestamp;
	int8_t attributes;
	struct rec_bytes key;
	struct rec_bytes value;
	int32_t header_count;
	const uint8_t *headers;	/* raw header bytes, see rec_header_next */
	size_t headers_len;
};

/*
 * Iterate the records of a batch without per-record allocation. For a
 * compressed batch the records are inflated once into `inflated`, which
 * the iterator owns and reuses across rec_iter_reset() calls.
 */
struct rec_iter {
	const struct rec_batch *batch;
	struct breader r;
	struct buf inflated;
	int32_t index;		/* records returned so far */
	int64_t prev_delta;	/* last offset delta, for order checks */
	size_t max_decompressed;
};

void rec_iter_init(struct rec_iter *it, size_t max_decompressed);
/* Start on batch `b` (borrowed until the next reset or release). */
int rec_iter_reset(struct rec_iter *it, const struct rec_batch *b,
    struct err *e);
/* 1 with *out filled, 0 at the end of the batch, -1 on malformed data. */
int rec_iter_next(struct rec_iter *it, struct rec_record *out, struct err *e);
void rec_iter_release(struct rec_iter *it);

/*
 * Walk a record's headers: init a reader on rec->headers/headers_len, then
 * call rec_header_next rec->header_count times. Returns 0 or -1.
 */
int rec_header_next(struct breader *r, struct rec_header *out, struct err *e);

/*
 * Builds one batch in memory; reusable across batches after reset. By
 * default records get offset deltas 0, 1, 2... and the batch base offset
 * 0 (the log assigns offsets). The log cleaner instead rebuilds a batch
 * in place: it sets base_offset and last_offset_delta to the original's
 * and adds the surviving records at their original deltas
 * (rec_builder_add_at, rec_builder_add_record), so every offset stays.
 */
struct rec_builder {
	struct buf records;	/* header room, then the record bodies */
	struct buf scratch;	/* header room, then compression output */
	int32_t count;
	int64_t base_timestamp;
	int64_t max_timestamp;
	enum compress_codec codec;
	int level;
	int16_t attributes;	/* transactional/control/timestamp-type bits,
				 * never codec; delete horizon: see below */
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t leader_epoch;
	int64_t base_offset;	/* written as is by finish; 0 by default */
	int32_t last_offset_delta;	/* -1 (default): the last record's */
	int32_t last_delta;	/* delta of the last record added, -1 none */
	bool fixed_base_timestamp;	/* a delete horizon holds the base */
};

void rec_builder_init(struct rec_builder *b, enum compress_codec codec,
    int level);
/*
 * Start a new batch, keeping codec, level, producer fields and the
 * attribute bits other than the delete horizon; base_offset goes back to
 * 0 and last_offset_delta to -1.
 */
void rec_builder_reset(struct rec_builder *b);
void rec_builder_release(struct rec_builder *b);

/*
 * Append one record at the next offset delta (the previous one + 1);
 * headers may be NULL when nheaders is 0. 0 or -1 on OOM.
 */
int rec_builder_add(struct rec_builder *b, int64_t timestamp,
    struct rec_bytes key, struct rec_bytes value,
    const struct rec_header *headers, int32_t nheaders);

/*
 * Append one record at `offset_delta`, which must be above the previous
 * record's (gaps are allowed, as in a compacted batch). 0, or -1 on OOM
 * or a delta that is negative or not increasing.
 */
int rec_builder_add_at(struct rec_builder *b, int32_t offset_delta,
    int64_t timestamp, struct rec_bytes key, struct rec_bytes value,
    const struct rec_header *headers, int32_t nheaders);

/*
 * Append a copy of a record read with rec_iter_next() (its timestamp,
 * key, value and raw header bytes) at `offset_delta`; rules and return
 * values as rec_builder_add_at.
 */
int rec_builder_add_record(struct rec_builder *b, int32_t offset_delta,
    const struct rec_record *r);

/*
 * Give the batch Kafka's delete horizon (KIP-534): attribute bit 6 set
 * and the base timestamp fixed at `horizon_ms`, record timestamps then
 * being deltas from it. Call before the first record; the next reset
 * clears it.
 */
void rec_builder_set_delete_horizon(struct rec_builder *b, int64_t horizon_ms);

/* Uncompressed size the batch would have now (an upper bound to plan with). */
static inline size_t
rec_builder_size(const struct rec_builder *b)
{
	/* records holds the header room once there is a record */
	return b->records.len > 0 ? b->records.len : REC_BATCH_HEADER_SIZE;
}

/*
 * Append the finished batch (base offset b->base_offset, CRC set) to
 * `out`. The last offset delta is b->last_offset_delta when it is set,
 * else the last record's. A builder with no records, or a
 * last_offset_delta below the last record's delta, is an error
 * (EXIT_SOFTWARE).
 */
int rec_builder_finish(struct rec_builder *b, struct buf *out, struct err *e);

/*
 * Finish as rec_builder_finish, but move the batch instead of copying it:
 * `out`'s contents are dropped, `out` then holds exactly the batch, and
 * its old memory goes to the builder, which is reset (rec_builder_reset)
 * and ready for the next batch. The caller still owns `out`. Errors as
 * rec_builder_finish; on error `out` and the builder are unchanged.
 */
int rec_builder_seal(struct rec_builder *b, struct buf *out, struct err *e);

/*
 * Append to `out` a batch without records standing for `b`, as Kafka's
 * cleaner keeps one to preserve a producer's last sequence
 * (DefaultRecordBatch.writeEmptyHeader): the same base offset, last
 * offset delta, leader epoch, producer id, epoch and base sequence, max
 * timestamp and transactional/control/timestamp-type bits; no codec, no
 * delete horizon, base timestamp -1, record count 0; CRC set. 0, or -1
 * with EXIT_OSERR.
 */
int rec_batch_append_empty(const struct rec_batch *b, struct buf *out,
    struct err *e);

#endif
