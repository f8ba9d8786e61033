/* SPDX-License-Identifier: MIT */
/*
 * Idempotent producers, per partition, as Kafka's ProducerStateManager
 * keeps them: for each producer id its epoch and the sequence numbers and
 * offsets of its last 5 batches. Produce checks a record set against that
 * state before appending (producers_check) and records it only once the
 * batches are in the log (producers_commit), so a refused or failed
 * append leaves the state as it was.
 *
 * The table is an open-addressing hash (linear probing, backward-shift
 * deletion) keyed by producer id, grown by doubling and at most half full;
 * it allocates only when it grows, never per batch or record. At most
 * PRODUCERS_MAX producers are kept per partition: a new one beyond that
 * evicts the producer whose last batch is oldest, which then gets
 * UNKNOWN_PRODUCER_ID if it goes on with a sequence other than 0.
 *
 * The state is not persisted: when a partition is opened it is rebuilt by
 * reading the header of every batch in its log (plog_scan_batches: 61
 * bytes per batch, no CRC check, no decompression, O(batches)). So it
 * follows crash recovery (a cut tail takes its batches' state with it) and
 * forgets producers whose batches retention had deleted by then; during a
 * run, retention does not purge it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* Batches remembered per producer (Kafka's NumBatchesToRetain). */
#define PRODUCER_BATCHES 5
/* Producers remembered per partition; the oldest is evicted beyond. */
#define PRODUCERS_MAX 1024
/* Distinct producers one partition's record set may carry. */
#define PRODUCERS_PER_SET 32
#define TABLE_MIN_CAP 8
#define NO_PRODUCER (-1)

struct producer_batch {
	int64_t first_offset;
	int64_t timestamp;	/* max timestamp, for LogAppendTime answers */
	int32_t first_seq;
	int32_t last_seq;
	int32_t offset_delta;	/* last offset - first offset */
};

struct producer_entry {
	int64_t id;		/* NO_PRODUCER marks a free slot */
	int16_t epoch;
	int nbatches;		/* 1..PRODUCER_BATCHES, oldest first */
	struct producer_batch batches[PRODUCER_BATCHES];
};

/* A producer's state as if the batches checked so far were appended. */
struct producer_work {
	int64_t id;
	int16_t epoch;
	int32_t last_seq;
	bool known;
};

/* Header fields of the batch at data[0..], which validation accepted. */
struct batch_fields {
	int64_t base_offset;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int16_t attributes;
	int32_t first_seq;
	int32_t delta;		/* last offset delta */
	size_t size;
};

static void
batch_fields(const uint8_t *p, struct batch_fields *out)
{
	out->base_offset = (int64_t)be64_load(p + REC_OFF_BASE_OFFSET);
	out->max_timestamp = (int64_t)be64_load(p + REC_OFF_MAX_TIMESTAMP);
	out->producer_id = (int64_t)be64_load(p + REC_OFF_PRODUCER_ID);
	out->producer_epoch = (int16_t)be16_load(p + REC_OFF_PRODUCER_EPOCH);
	out->attributes = (int16_t)be16_load(p + REC_OFF_ATTRIBUTES);
	out->first_seq = (int32_t)be32_load(p + REC_OFF_BASE_SEQUENCE);
	out->delta = (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA);
	out->size = (size_t)be32_load(p + REC_OFF_LENGTH) +
	    REC_BATCH_LOG_OVERHEAD;
}

/* seq + n, wrapping from INT32_MAX to 0 as producers do. */
static int32_t
seq_add(int32_t seq, int32_t n)
{
	return seq > INT32_MAX - n ? n - (INT32_MAX - seq) - 1 : seq + n;
}

static bool
in_sequence(int32_t last_seq, int32_t next)
{
	return last_seq == INT32_MAX ? next == 0 : next == last_seq + 1;
}

static uint32_t
slot_of(const struct producer_table *t, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & (t->cap - 1);
}

static struct producer_entry *
table_find(const struct producer_table *t, int64_t id)
{
	uint32_t i;

	if (t->cap == 0)
		return NULL;
	for (i = slot_of(t, id); t->slots[i].id != NO_PRODUCER;
	    i = (i + 1) & (t->cap - 1))
		if (t->slots[i].id == id)
			return &t->slots[i];
	return NULL;
}

/* Put `ent` (not present) in its slot; the table has room. */
static struct producer_entry *
table_place(struct producer_table *t, const struct producer_entry *ent)
{
	uint32_t i = slot_of(t, ent->id);

	while (t->slots[i].id != NO_PRODUCER)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = *ent;
	t->count++;
	return &t->slots[i];
}

static int
table_grow(struct producer_table *t, uint32_t cap)
{
	struct producer_table n = { NULL, cap, 0 };
	uint32_t i;

	n.slots = malloc((size_t)cap * sizeof(*n.slots));
	if (n.slots == NULL)
		return -1;
	for (i = 0; i < cap; i++)
		n.slots[i].id = NO_PRODUCER;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].id != NO_PRODUCER)
			table_place(&n, &t->slots[i]);
	free(t->slots);
	*t = n;
	return 0;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void
table_remove(struct producer_table *t, struct producer_entry *ent)
{
	uint32_t mask = t->cap - 1, hole = (uint32_t)(ent - t->slots), j;

	for (j = (hole + 1) & mask; t->slots[j].id != NO_PRODUCER;
	    j = (j + 1) & mask) {
		uint32_t home = slot_of(t, t->slots[j].id);

		/* Move j into the hole unless its home lies in (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	t->slots[hole].id = NO_PRODUCER;
	t->count--;
}

static int64_t
entry_last_offset(const struct producer_entry *ent)
{
	const struct producer_batch *b = &ent->batches[ent->nbatches - 1];

	return b->first_offset + b->offset_delta;
}

/* Make room for one more producer by forgetting the least recent one. */
static void
table_evict_oldest(struct producer_table *t)
{
	struct producer_entry *oldest = NULL;
	uint32_t i;

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].id != NO_PRODUCER && (oldest == NULL ||
		    entry_last_offset(&t->slots[i]) <
		    entry_last_offset(oldest)))
			oldest = &t->slots[i];
	log_debug("forgetting producer %" PRId64 " (last offset %" PRId64
	    "): more than %d producers", oldest->id,
	    entry_last_offset(oldest), PRODUCERS_MAX);
	table_remove(t, oldest);
}

/* A new, empty entry for `id` (not present); NULL when out of memory. */
static struct producer_entry *
table_insert(struct producer_table *t, int64_t id)
{
	struct producer_entry ent;

	if (t->count >= PRODUCERS_MAX)
		table_evict_oldest(t);
	if ((t->count + 1) * 2 > t->cap &&
	    table_grow(t, t->cap ? t->cap * 2 : TABLE_MIN_CAP) < 0)
		return NULL;
	memset(&ent, 0, sizeof(ent));
	ent.id = id;
	return table_place(t, &ent);
}

/*
 * Remember an appended batch: a new epoch starts the producer afresh,
 * and only the last PRODUCER_BATCHES batches are kept. Replaying the log
 * at open and committing a produce go through here alike.
 */
static void
record_batch(struct producer_table *t, const struct batch_fields *f,
    int64_t first_offset)
{
	struct producer_entry *ent = table_find(t, f->producer_id);
	struct producer_batch *b;

	if (ent == NULL) {
		ent = table_insert(t, f->producer_id);
		if (ent == NULL) {
			log_warnx("out of memory: producer %" PRId64 " is "
			    "forgotten", f->producer_id);
			return;
		}
	}
	if (ent->epoch != f->producer_epoch)
		ent->nbatches = 0;
	ent->epoch = f->producer_epoch;
	if (ent->nbatches == PRODUCER_BATCHES) {
		memmove(&ent->batches[0], &ent->batches[1],
		    (PRODUCER_BATCHES - 1) * sizeof(ent->batches[0]));
		ent->nbatches--;
	}
	b = &ent->batches[ent->nbatches++];
	b->first_offset = first_offset;
	b->timestamp = f->max_timestamp;
	b->first_seq = f->first_seq;
	b->last_seq = seq_add(f->first_seq, f->delta);
	b->offset_delta = f->delta;
}

/* Only batches with a producer id and a sequence carry producer state. */
static bool
has_producer(const struct batch_fields *f)
{
	return f->producer_id >= 0 && f->first_seq >= 0 &&
	    (f->attributes & REC_ATTR_CONTROL) == 0;
}

static const struct producer_batch *
find_duplicate(const struct producer_entry *ent, const struct batch_fields *f)
{
	int32_t last_seq = seq_add(f->first_seq, f->delta);
	int i;

	if (ent == NULL || ent->epoch != f->producer_epoch)
		return NULL;
	for (i = 0; i < ent->nbatches; i++)
		if (ent->batches[i].first_seq == f->first_seq &&
		    ent->batches[i].last_seq == last_seq)
			return &ent->batches[i];
	return NULL;
}

/* The working state of producer `id`, started from the table. */
static struct producer_work *
work_get(const struct producer_table *t, struct producer_work *work,
    size_t *nwork, int64_t id)
{
	const struct producer_entry *ent;
	struct producer_work *w;
	size_t i;

	for (i = *nwork; i-- > 0;)
		if (work[i].id == id)
			return &work[i];
	if (*nwork == PRODUCERS_PER_SET)
		return NULL;
	w = &work[(*nwork)++];
	ent = table_find(t, id);
	w->id = id;
	w->known = ent != NULL;
	w->epoch = ent != NULL ? ent->epoch : 0;
	w->last_seq = ent != NULL ? ent->batches[ent->nbatches - 1].last_seq :
	    0;
	return w;
}

/* Kafka's epoch and sequence rules for one new batch. */
static int16_t
check_sequence(const struct producer_work *w, const struct batch_fields *f)
{
	if (!w->known)
		return f->first_seq == 0 ? KERR_NONE : KERR_UNKNOWN_PRODUCER_ID;
	if (f->producer_epoch < w->epoch)
		return KERR_INVALID_PRODUCER_EPOCH;
	if (f->producer_epoch > w->epoch)
		return f->first_seq == 0 ? KERR_NONE :
		    KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	return in_sequence(w->last_seq, f->first_seq) ? KERR_NONE :
	    KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

int16_t
producers_check(const struct producer_table *t, const uint8_t *data,
    size_t len, struct producer_verdict *out)
{
	struct producer_work work[PRODUCERS_PER_SET];
	size_t nwork = 0, pos, nbatches = 0, ndup = 0;
	struct batch_fields f;

	out->duplicate = false;
	out->base_offset = -1;
	out->timestamp = -1;
	for (pos = 0; pos < len; pos += f.size) {
		const struct producer_batch *dup;
		struct producer_work *w;
		int16_t err;

		batch_fields(data + pos, &f);
		nbatches++;
		if (f.producer_id < 0)
			continue;
		/* As Kafka's LogValidator: an id needs a sequence and epoch. */
		if (f.first_seq < 0 || f.producer_epoch < 0)
			return KERR_CORRUPT_MESSAGE;
		/* Checked against what was appended before this request. */
		dup = find_duplicate(table_find(t, f.producer_id), &f);
		if (dup != NULL) {
			if (ndup++ == 0) {
				out->base_offset = dup->first_offset;
				out->timestamp = dup->timestamp;
			}
			continue;
		}
		w = work_get(t, work, &nwork, f.producer_id);
		if (w == NULL)
			return KERR_INVALID_REQUEST;
		err = check_sequence(w, &f);
		if (err != KERR_NONE)
			return err;
		w->known = true;
		w->epoch = f.producer_epoch;
		w->last_seq = seq_add(f.first_seq, f.delta);
	}
	if (ndup == 0)
		return KERR_NONE;
	/* Half retried, half new: no client does it, and it cannot be both. */
	if (ndup != nbatches)
		return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	out->duplicate = true;
	return KERR_NONE;
}

void
producers_commit(struct producer_table *t, const uint8_t *data, size_t len,
    int64_t from, int64_t to)
{
	struct batch_fields f;
	size_t pos;

	for (pos = 0; pos < len; pos += f.size) {
		batch_fields(data + pos, &f);
		if (f.base_offset < from || f.base_offset + f.delta >= to)
			continue;
		if (has_producer(&f))
			record_batch(t, &f, f.base_offset);
	}
}

struct load_state {
	struct producer_table *t;
	uint64_t batches;
};

static int
load_batch(void *arg, const struct plog_batch_header *h)
{
	struct load_state *ls = arg;
	struct batch_fields f;

	ls->batches++;
	f.base_offset = h->base_offset;
	f.max_timestamp = h->max_timestamp;
	f.producer_id = h->producer_id;
	f.producer_epoch = h->producer_epoch;
	f.attributes = h->attributes;
	f.first_seq = h->base_sequence;
	f.delta = (int32_t)(h->last_offset - h->base_offset);
	f.size = h->size;
	if (has_producer(&f))
		record_batch(ls->t, &f, f.base_offset);
	return 0;
}

void
producers_load(struct partition *p)
{
	struct load_state ls = { &p->producers, 0 };
	struct err e = { 0 };
	int64_t t0 = clock_mono_ms();

	producers_release(&p->producers);
	if (plog_scan_batches(p->log, 0, load_batch, &ls, &e) < 0)
		log_warnx("producer state incomplete, continuing producers may "
		    "get OUT_OF_ORDER_SEQUENCE_NUMBER: topic=%s partition=%"
		    PRId32 ": %s", p->topic->name, p->id, e.msg);
	if (p->producers.count > 0)
		log_debug("loaded %" PRIu32 " producers from %" PRIu64
		    " batch headers in %" PRId64 " ms: topic=%s partition=%"
		    PRId32, p->producers.count, ls.batches,
		    clock_mono_ms() - t0, p->topic->name, p->id);
}

void
producers_release(struct producer_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
}
