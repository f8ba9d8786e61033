/* SPDX-License-Identifier: MIT */
/*
 * Log compaction on keys and batches (see cleaner.h): the key digest, the
 * bounded offset map and the batch filter. Files are plog_compact.c's.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleaner.h"
#include "record.h"
#include "banned.h"

/* Any fixed value: digests only need to agree within one pass. */
#define CLN_DIGEST_SEED 0x6b6c6f67u

/* Kafka's log.cleaner.io.buffer.load.factor. */
#define CLN_LOAD_PERCENT 90

static uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void
cln_murmur3_128(const void *key, size_t len, uint32_t seed,
    struct cln_digest *out)
{
	const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
	const uint8_t *data = key, *tail;
	uint64_t h1 = seed, h2 = seed, k1, k2;
	size_t i, nblocks = len / 16, rest = len & 15;

	for (i = 0; i < nblocks; i++) {
		k1 = load_le64(data + i * 16);
		k2 = load_le64(data + i * 16 + 8);
		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
		h1 = rotl64(h1, 27);
		h1 += h2;
		h1 = h1 * 5 + 0x52dce729;
		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
		h2 = rotl64(h2, 31);
		h2 += h1;
		h2 = h2 * 5 + 0x38495ab5;
	}
	tail = data + nblocks * 16;
	k1 = 0;
	k2 = 0;
	/* The reference's fall-through switch, as two loops. */
	for (i = rest; i > 8; i--)
		k2 ^= (uint64_t)tail[i - 1] << ((i - 9) * 8);
	if (rest > 8) {
		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
	}
	for (i = rest > 8 ? 8 : rest; i > 0; i--)
		k1 ^= (uint64_t)tail[i - 1] << ((i - 1) * 8);
	if (rest > 0) {
		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
	}
	h1 ^= (uint64_t)len;
	h2 ^= (uint64_t)len;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	h2 += h1;
	out->h1 = h1;
	out->h2 = h2;
}

void
cln_digest(const void *key, size_t len, struct cln_digest *out)
{
	cln_murmur3_128(key, len, CLN_DIGEST_SEED, out);
}

int
cln_map_init(struct cln_map *m, uint64_t bytes, uint64_t max_keys,
    struct err *e)
{
	uint64_t n = bytes / CLN_SLOT_BYTES, need;
	size_t i;

	memset(m, 0, sizeof(*m));
	/* Enough slots for max_keys at the load limit, plus one. */
	need = max_keys / CLN_LOAD_PERCENT * 100 +
	    (max_keys % CLN_LOAD_PERCENT) * 100 / CLN_LOAD_PERCENT + 2;
	if (max_keys < UINT64_MAX / 2 && need < n)
		n = need;
	if (n * CLN_LOAD_PERCENT / 100 < 1)
		return err_set(e, EXIT_USAGE, "an offset map of %" PRIu64
		    " bytes holds no key (%" PRIu64 " bytes per key at %d%%)",
		    bytes, CLN_SLOT_BYTES, CLN_LOAD_PERCENT);
	if (n > SIZE_MAX / sizeof(*m->slots))
		return err_set(e, EXIT_USAGE, "offset map of %" PRIu64
		    " bytes is too large", bytes);
	m->slots = malloc((size_t)n * sizeof(*m->slots));
	if (m->slots == NULL)
		return err_set(e, EXIT_OSERR, "out of memory for an offset map "
		    "of %" PRIu64 " slots", n);
	m->nslots = (size_t)n;
	m->limit = (size_t)(n * CLN_LOAD_PERCENT / 100);
	for (i = 0; i < m->nslots; i++)
		m->slots[i].offset = -1;
	return 0;
}

void
cln_map_release(struct cln_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The slot holding d, or the empty slot where it would go. */
static struct cln_slot *
map_find(const struct cln_map *m, const struct cln_digest *d)
{
	size_t i = (size_t)(d->h1 % m->nslots);

	/* The load limit keeps an empty slot, so this ends. */
	for (;;) {
		struct cln_slot *s = &m->slots[i];

		if (s->offset < 0 || (s->h1 == d->h1 && s->h2 == d->h2))
			return s;
		if (++i == m->nslots)
			i = 0;
	}
}

int
cln_map_put(struct cln_map *m, const struct cln_digest *d, int64_t offset)
{
	struct cln_slot *s = map_find(m, d);

	if (s->offset < 0) {
		if (m->count >= m->limit)
			return 0;
		s->h1 = d->h1;
		s->h2 = d->h2;
		m->count++;
	}
	s->offset = offset;
	return 1;
}

int64_t
cln_map_get(const struct cln_map *m, const struct cln_digest *d)
{
	return m->nslots > 0 ? map_find(m, d)->offset : -1;
}

void
cln_filter_init(struct cln_filter *f, size_t max_inflate)
{
	memset(f, 0, sizeof(*f));
	rec_iter_init(&f->it, max_inflate);
	rec_builder_init(&f->b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
}

void
cln_filter_release(struct cln_filter *f)
{
	rec_iter_release(&f->it);
	rec_builder_release(&f->b);
	free(f->kept);
	f->kept = NULL;
	f->cap = 0;
}

/* Whether record r of a batch survives; counts a dropped tombstone. */
static bool
keep_record(const struct cln_filter *f, const struct rec_record *r,
    bool horizon_passed, struct cln_batch_result *res)
{
	struct cln_digest d;

	if (r->offset >= f->map_end || r->key.len < 0)
		return true;
	cln_digest(r->key.data, (size_t)r->key.len, &d);
	if (r->offset < cln_map_get(f->map, &d))
		return false;
	if (r->value.len < 0 && horizon_passed) {
		res->tombstones_dropped++;
		return false;
	}
	return true;
}

static int
keep_push(struct cln_filter *f, size_t n, const struct rec_record *r,
    struct err *e)
{
	if (n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct rec_record *p = realloc(f->kept, cap * sizeof(*p));

		if (p == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		f->kept = p;
		f->cap = cap;
	}
	f->kept[n] = *r;
	return 0;
}

/* Write the survivors kept[0..n) as a batch standing for b. */
static int
rebuild(struct cln_filter *f, const struct rec_batch *b, size_t n,
    bool new_horizon, struct buf *out, struct err *e)
{
	struct rec_builder *w = &f->b;
	size_t i;

	rec_builder_reset(w);
	w->codec = rec_batch_codec(b);
	w->level = COMPRESS_LEVEL_DEFAULT;
	w->attributes = (int16_t)(b->attributes & (REC_ATTR_LOG_APPEND_TIME |
	    REC_ATTR_TRANSACTIONAL | REC_ATTR_CONTROL));
	w->producer_id = b->producer_id;
	w->producer_epoch = b->producer_epoch;
	w->base_sequence = b->base_sequence;
	w->leader_epoch = b->leader_epoch;
	w->base_offset = b->base_offset;
	w->last_offset_delta = b->last_offset_delta;
	if (new_horizon) {
		int64_t h = f->delete_retention_ms > INT64_MAX - f->now_ms ?
		    INT64_MAX : f->now_ms + f->delete_retention_ms;

		rec_builder_set_delete_horizon(w, h);
	} else if (b->attributes & REC_ATTR_DELETE_HORIZON) {
		rec_builder_set_delete_horizon(w, b->base_timestamp);
	}
	for (i = 0; i < n; i++)
		if (rec_builder_add_record(w, (int32_t)(f->kept[i].offset -
		    b->base_offset), &f->kept[i]) < 0)
			return err_set(e, EXIT_OSERR, "out of memory "
			    "rebuilding the batch at offset %" PRId64,
			    b->base_offset);
	return rec_builder_finish(w, out, e);
}

static int
copy_batch(const struct rec_batch *b, struct buf *out, struct err *e)
{
	buf_put(out, b->data, b->size);
	if (out->failed)
		return err_set(e, EXIT_OSERR, "out of memory");
	return 0;
}

int
cln_filter_batch(struct cln_filter *f, const struct rec_batch *b,
    bool retain_empty, struct buf *out, struct cln_batch_result *res,
    struct err *e)
{
	bool has_horizon = b->attributes & REC_ATTR_DELETE_HORIZON;
	bool passed = has_horizon && f->now_ms >= b->base_timestamp;
	bool tombstone_kept = false;
	struct rec_record r;
	size_t n = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (b->attributes & REC_ATTR_CONTROL) {
		res->outcome = CLN_COPIED;
		return copy_batch(b, out, e);
	}
	if (rec_iter_reset(&f->it, b, e) < 0)
		return -1;
	while ((rc = rec_iter_next(&f->it, &r, e)) > 0) {
		res->records_read++;
		if (!keep_record(f, &r, passed, res)) {
			res->records_removed++;
			continue;
		}
		if (keep_push(f, n, &r, e) < 0)
			return -1;
		n++;
		if (r.value.len < 0)
			tombstone_kept = true;
	}
	if (rc < 0)
		return -1;
	res->records_kept = (int32_t)n;
	if (n > 0 && n == (size_t)res->records_read &&
	    (!tombstone_kept || has_horizon)) {
		res->outcome = CLN_COPIED;
		return copy_batch(b, out, e);
	}
	if (n > 0) {
		size_t at = out->len;

		res->outcome = CLN_REBUILT;
		if (rebuild(f, b, n, tombstone_kept && !has_horizon, out,
		    e) < 0)
			return -1;
		if (f->max_batch_bytes == 0 || out->len - at <= b->size ||
		    out->len - at <= f->max_batch_bytes)
			return 0;
		/* Too big to write: this batch stays as it was. */
		out->len = at;
		res->outcome = CLN_COPIED;
		res->records_kept = res->records_read;
		res->records_removed = 0;
		res->tombstones_dropped = 0;
		return copy_batch(b, out, e);
	}
	if (!retain_empty) {
		res->outcome = CLN_DROPPED;
		return 0;
	}
	res->outcome = CLN_EMPTIED;
	if (b->record_count == 0)
		return copy_batch(b, out, e);
	return rec_batch_append_empty(b, out, e);
}
