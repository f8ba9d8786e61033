/* SPDX-License-Identifier: MIT */
/*
 * Replica assignment for new partitions, as Kafka's AdminUtils does it:
 * partition p's first replica (its preferred leader) is broker
 * (p + start) mod n of the broker list, the others follow at a shift
 * that grows by one every n partitions, so leaders and followers spread
 * evenly. With racks on every broker the list alternates racks and each
 * partition takes one replica per rack before reusing a rack.
 * Deterministic: partition p's replicas depend only on p, the brokers and
 * `start`, so adding partitions later gives what creating them at once
 * would have given.
 */
#ifndef KLOG_RASSIGN_H
#define KLOG_RASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct rassign_broker {
	int32_t id;
	const char *rack;		/* NULL or "" = none */
};

/*
 * The broker order assignment walks: by id, or rack-alternating (racks
 * sorted by name, brokers by id within a rack, one from each rack in
 * turn) when every broker has a rack. Writes n indexes into `brokers`
 * to order[]. 0, or -1 with EXIT_SOFTWARE when out of memory.
 */
int rassign_order(const struct rassign_broker *brokers, size_t n,
    size_t *order, struct err *e);

/*
 * Replicas of partitions [first, first + count): out[(p - first) * rf + j]
 * is replica j of partition p. `start` picks the rotating position (any
 * value; taken mod n). EXIT_USAGE when rf < 1 or rf > n, or n == 0.
 */
int rassign_replicas(const struct rassign_broker *brokers, size_t n,
    int32_t rf, int32_t start, int32_t first, int32_t count, int32_t *out,
    struct err *e);

/* The start that makes partition 0's first replica `leader0` (0 if none). */
int32_t rassign_start_of(const struct rassign_broker *brokers, size_t n,
    int32_t leader0);

#endif
