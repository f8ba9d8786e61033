/* SPDX-License-Identifier: MIT */
/*
 * Partitioners. murmur2 (the default) places a keyed record exactly where
 * the Java producer does, toPositive(murmur2(key)) % partitions over all
 * partitions, and keeps unkeyed records on one "sticky" partition until its
 * batch is sealed, then moves to the next partition that has a leader.
 * crc32 is librdkafka's "consistent" partitioner (a null key hashes as
 * empty bytes); random and roundrobin ignore keys. An explicit partition
 * (-p, or "partition" in a JSON record) always wins.
 */
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "kprod.h"
#include "banned.h"

void
kp_picker_init(struct kp_picker *pk, enum kp_partitioner kind)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pk->kind = kind;
	pk->sticky = -1;
	pk->rr_next = 0;
	pk->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	    ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
	if (pk->rng == 0)
		pk->rng = 1;
}

/* xorshift64*: plenty for spreading records. */
static uint64_t
rng_next(struct kp_picker *pk)
{
	uint64_t x = pk->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	pk->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* The first partition from `from` on (wrapping) that has a leader. */
static int32_t
available_from(const struct kprod *kp, int32_t from)
{
	int32_t n = kp->nparts, i;

	for (i = 0; i < n; i++) {
		int32_t p = (int32_t)(((int64_t)from + i) % n);

		if (kp->parts[p]->leader >= 0)
			return p;
	}
	return (int32_t)(((int64_t)from % n + n) % n);
}

static int32_t
sticky(struct kprod *kp)
{
	struct kp_picker *pk = &kp->picker;

	if (pk->sticky < 0 || pk->sticky >= kp->nparts ||
	    kp->parts[pk->sticky]->leader < 0)
		pk->sticky = available_from(kp,
		    (int32_t)(rng_next(pk) % (uint64_t)kp->nparts));
	return pk->sticky;
}

int32_t
kp_pick(struct kprod *kp, const struct kp_rec *r)
{
	struct kp_picker *pk = &kp->picker;
	int32_t n = kp->nparts, p;

	if (r->partition >= 0)
		return r->partition;
	if (kp->o->partition >= 0)
		return kp->o->partition;
	if (n == 1)
		return 0;	/* what every partitioner would pick */
	switch (pk->kind) {
	case KP_PART_MURMUR2:
		if (r->key.len >= 0)
			return hash_murmur2_partition(r->key.data,
			    (size_t)r->key.len, n);
		return sticky(kp);
	case KP_PART_CRC32:
		return (int32_t)(hash_crc32(r->key.data, r->key.len > 0 ?
		    (size_t)r->key.len : 0) % (uint32_t)n);
	case KP_PART_RANDOM:
		return (int32_t)(rng_next(pk) % (uint64_t)n);
	case KP_PART_ROUNDROBIN:
		p = available_from(kp, pk->rr_next);
		pk->rr_next = (p + 1) % n;
		return p;
	}
	return 0;
}

void
kp_picker_batch_sealed(struct kprod *kp, int32_t partition)
{
	struct kp_picker *pk = &kp->picker;

	if (pk->kind == KP_PART_MURMUR2 && partition == pk->sticky &&
	    kp->nparts > 1)
		pk->sticky = available_from(kp, (partition + 1) % kp->nparts);
}
