/* SPDX-License-Identifier: MIT */
/*
 * Replica assignment (see rassign.h), after Kafka's AdminUtils
 * assignReplicasToBrokersRackUnaware/RackAware with a fixed start index
 * and the replica shift derived from the partition number, so the result
 * is a pure function of its inputs.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rassign.h"
#include "banned.h"

static bool
has_rack(const struct rassign_broker *b)
{
	return b->rack != NULL && b->rack[0] != '\0';
}

static bool
all_racked(const struct rassign_broker *brokers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!has_rack(&brokers[i]))
			return false;
	return n > 0;
}

static const struct rassign_broker *sort_base;

/* By rack (when racked), then id. qsort needs the base: one caller. */
static int
cmp_broker(const void *a, const void *b)
{
	const struct rassign_broker *x = &sort_base[*(const size_t *)a];
	const struct rassign_broker *y = &sort_base[*(const size_t *)b];
	int c = 0;

	if (has_rack(x) && has_rack(y))
		c = strcmp(x->rack, y->rack);
	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

int
rassign_order(const struct rassign_broker *brokers, size_t n, size_t *order,
    struct err *e)
{
	size_t *sorted, *next, i, r, nracks = 0, taken = 0;
	size_t *rack_start;

	for (i = 0; i < n; i++)
		order[i] = i;
	sort_base = brokers;
	qsort(order, n, sizeof(*order), cmp_broker);
	if (!all_racked(brokers, n))
		return 0;
	/* Racks are now runs of `order`; deal one from each run in turn. */
	sorted = malloc(3 * n * sizeof(*sorted));
	if (sorted == NULL)
		return err_set(e, EXIT_SOFTWARE, "assignment: out of memory");
	memcpy(sorted, order, n * sizeof(*sorted));
	rack_start = sorted + n;
	next = sorted + 2 * n;
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(brokers[sorted[i]].rack,
		    brokers[sorted[i - 1]].rack) != 0)
			rack_start[nracks++] = i;
	for (r = 0; r < nracks; r++)
		next[r] = rack_start[r];
	for (r = 0; taken < n; r = (r + 1) % nracks) {
		size_t end = r + 1 < nracks ? rack_start[r + 1] : n;

		if (next[r] < end)
			order[taken++] = sorted[next[r]++];
	}
	free(sorted);
	return 0;
}

static size_t
count_racks(const struct rassign_broker *brokers, const size_t *order,
    size_t n)
{
	size_t i, j, racks = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(brokers[order[i]].rack,
			    brokers[order[j]].rack) == 0)
				break;
		racks += j == i;
	}
	return racks;
}

/* Kafka's replicaIndex: the k-th candidate after the first replica. */
static size_t
replica_index(size_t first, int64_t shift, int64_t k, size_t n)
{
	return (first + 1 + (size_t)((shift + k) % (int64_t)(n - 1))) % n;
}

/* Whether brokers[idx] shares a rack with one of chosen[0..nc). */
static bool
rack_taken(const struct rassign_broker *brokers, const size_t *chosen,
    int32_t nc, size_t idx)
{
	int32_t j;

	for (j = 0; j < nc; j++)
		if (strcmp(brokers[chosen[j]].rack, brokers[idx].rack) == 0)
			return true;
	return false;
}

static bool
broker_taken(const size_t *chosen, int32_t nc, size_t idx)
{
	int32_t j;

	for (j = 0; j < nc; j++)
		if (chosen[j] == idx)
			return true;
	return false;
}

static size_t
distinct_racks(const struct rassign_broker *brokers, const size_t *chosen,
    int32_t nc)
{
	size_t count = 0;
	int32_t j;

	for (j = 0; j < nc; j++)
		count += !rack_taken(brokers, chosen, j, chosen[j]);
	return count;
}

/*
 * Replicas of one partition into chosen[0..rf) (indexes into brokers).
 * Rack-aware, a candidate is skipped while its rack (or itself) already
 * holds a replica and unused racks (brokers) remain, as Kafka does.
 */
static void
assign_one(const struct rassign_broker *brokers, const size_t *order,
    size_t n, size_t nracks, int32_t rf, int64_t p, int64_t start,
    size_t *chosen)
{
	size_t first = (size_t)((p + start) % (int64_t)n);
	int64_t shift = start + p / (int64_t)n, k = 0;
	int32_t nc = 1;

	chosen[0] = order[first];
	if (nracks > 0)
		shift *= (int64_t)nracks;
	while (nc < rf && k < 4 * (int64_t)n) {
		size_t idx = order[replica_index(first, shift, k++, n)];
		bool rack_ok = nracks == 0 ||
		    !rack_taken(brokers, chosen, nc, idx) ||
		    distinct_racks(brokers, chosen, nc) == nracks;

		if (rack_ok && !broker_taken(chosen, nc, idx))
			chosen[nc++] = idx;
	}
}

int
rassign_replicas(const struct rassign_broker *brokers, size_t n, int32_t rf,
    int32_t start, int32_t first, int32_t count, int32_t *out, struct err *e)
{
	size_t *order, nracks = 0, chosen[64];
	int32_t i, j;

	if (n == 0)
		return err_set(e, EXIT_USAGE, "no brokers to assign replicas to");
	if (rf < 1 || (size_t)rf > n || rf > 64)
		return err_set(e, EXIT_USAGE, "replication factor %d with %zu "
		    "brokers", (int)rf, n);
	order = malloc(n * sizeof(*order));
	if (order == NULL)
		return err_set(e, EXIT_SOFTWARE, "assignment: out of memory");
	if (rassign_order(brokers, n, order, e) < 0) {
		free(order);
		return -1;
	}
	if (all_racked(brokers, n))
		nracks = count_racks(brokers, order, n);
	if (start < 0)
		start = -(start + 1);
	for (i = 0; i < count; i++) {
		assign_one(brokers, order, n, nracks, rf, (int64_t)first + i,
		    start % (int32_t)n, chosen);
		for (j = 0; j < rf; j++)
			out[(size_t)i * (size_t)rf + (size_t)j] =
			    brokers[chosen[j]].id;
	}
	free(order);
	return 0;
}

int32_t
rassign_start_of(const struct rassign_broker *brokers, size_t n,
    int32_t leader0)
{
	size_t *order, i;
	int32_t start = 0;

	order = malloc((n ? n : 1) * sizeof(*order));
	if (order == NULL || rassign_order(brokers, n, order, NULL) < 0) {
		free(order);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (brokers[order[i]].id == leader0)
			start = (int32_t)i;
	free(order);
	return start;
}
