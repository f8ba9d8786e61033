/* SPDX-License-Identifier: MIT */
/*
 * The parts of log compaction that work on keys and batches, not files
 * (plog_compact in plog_compact.c drives them over a log): a 128-bit key
 * digest, Kafka's bounded offset map (key digest -> latest offset, like
 * its SkimpyOffsetMap) and the batch filter that keeps what a cleaner
 * pass must keep, preserving offsets, producer fields and codec.
 *
 * Memory is bounded by the caller: the map never grows past the bytes it
 * was given, and the filter reuses its buffers across batches.
 */
#ifndef KLOG_CLEANER_H
#define KLOG_CLEANER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "record.h"

/*
 * A key's digest: MurmurHash3 x64 128 (public-domain algorithm). Two
 * keys with the same digest count as one key, as two keys with the same
 * MD5 do in Kafka; at 128 bits that is not expected to happen.
 */
struct cln_digest {
	uint64_t h1;
	uint64_t h2;
};

void cln_digest(const void *key, size_t len, struct cln_digest *out);

/* MurmurHash3 x64 128 with a seed (the digest uses a fixed one). */
void cln_murmur3_128(const void *key, size_t len, uint32_t seed,
    struct cln_digest *out);

/* One slot: CLN_SLOT_BYTES of the budget. */
struct cln_slot {
	uint64_t h1;
	uint64_t h2;
	int64_t offset;		/* -1: empty */
};

#define CLN_SLOT_BYTES ((uint64_t)sizeof(struct cln_slot))

/*
 * Open addressing with linear probing. Kafka fills its map to at most
 * 90% (log.cleaner.io.buffer.load.factor); so does this one.
 */
struct cln_map {
	struct cln_slot *slots;	/* owned */
	size_t nslots;
	size_t count;		/* distinct keys */
	size_t limit;		/* count never exceeds this */
};

/*
 * Allocate a map within `bytes`, sized down to what `max_keys` keys
 * need when that is less (so a small dirty part costs little). Returns
 * 0, or -1 with EXIT_USAGE when `bytes` holds no key at 90%, EXIT_OSERR.
 * Release with cln_map_release().
 */
int cln_map_init(struct cln_map *m, uint64_t bytes, uint64_t max_keys,
    struct err *e);
void cln_map_release(struct cln_map *m);

/*
 * Map the key to `offset` (replacing its previous offset). Returns 1, or
 * 0 when the key is new and the map is at its limit (nothing changes).
 */
int cln_map_put(struct cln_map *m, const struct cln_digest *d,
    int64_t offset);

/* The key's offset, or -1 when it is not in the map. */
int64_t cln_map_get(const struct cln_map *m, const struct cln_digest *d);

/*
 * The batch filter: one pass's rules (Kafka's Cleaner.cleanInto with
 * MemoryRecords.filterTo). Embedded: cln_filter_init/cln_filter_release.
 */
struct cln_filter {
	const struct cln_map *map;
	int64_t map_end;	/* the map covers offsets below this; later
				 * records are kept as they are */
	int64_t now_ms;
	int64_t delete_retention_ms;
	size_t max_batch_bytes;	/* a rebuilt batch that would grow past
				 * this is kept as it was; 0: no limit */
	struct rec_iter it;
	struct rec_builder b;
	struct rec_record *kept;	/* the batch's surviving records */
	size_t cap;
};

/* `max_inflate` bounds one batch's decompressed records. */
void cln_filter_init(struct cln_filter *f, size_t max_inflate);
void cln_filter_release(struct cln_filter *f);

/* What cln_filter_batch() did with a batch. */
enum cln_outcome {
	CLN_DROPPED,		/* nothing written */
	CLN_COPIED,		/* the original bytes */
	CLN_REBUILT,		/* survivors in a new batch, same codec */
	CLN_EMPTIED		/* a batch without records (see below) */
};

struct cln_batch_result {
	enum cln_outcome outcome;
	int32_t records_read;
	int32_t records_kept;
	int32_t records_removed;
	int32_t tombstones_dropped;	/* removed: horizon passed */
};

/*
 * Filter batch `b` (parsed, CRC checked) and append what survives to
 * `out`. Control batches are copied. A record is kept when its offset
 * is at or past map_end, when it has no key (a compacted topic refuses
 * them at produce; they are not ours to drop), or when its offset is at
 * least the map's offset for its key and, for a tombstone (null value),
 * the batch has no delete horizon yet or now_ms is before it. A batch
 * keeping a tombstone without a horizon gets one: now_ms +
 * delete_retention_ms (KIP-534: attribute bit 6, base timestamp =
 * horizon). A batch that keeps everything and needs no horizon is
 * copied byte for byte; one that keeps some is rebuilt with its base
 * offset, last offset delta, producer fields, leader epoch, attributes
 * and codec (recompressed), each record at its original offset; should
 * that batch come out larger than the original and than max_batch_bytes
 * (a new horizon widens timestamp deltas, another compressor may do
 * worse), the original is copied instead, since recovery would cut an
 * oversized batch. One that keeps none is dropped, or, with
 * `retain_empty`, replaced by a batch without records
 * (rec_batch_append_empty). Returns 0, or -1 with EXIT_DATAERR
 * (malformed records) or EXIT_OSERR.
 */
int cln_filter_batch(struct cln_filter *f, const struct rec_batch *b,
    bool retain_empty, struct buf *out, struct cln_batch_result *res,
    struct err *e);

#endif
