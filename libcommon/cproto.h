/* SPDX-License-Identifier: MIT */
/*
 * Kafka's ConsumerProtocol layouts, carried as opaque bytes by JoinGroup
 * (member metadata = subscription) and SyncGroup/DescribeGroups (member
 * assignment). Both start with an int16 version; newer versions only add
 * fields at the end, so a decoder reads what it knows and ignores the rest.
 *
 *   subscription: version i16, topics [string], user_data bytes (nullable),
 *                 v1+: owned_partitions [topic string, partitions [i32]],
 *                 v2+: generation_id i32, v3+: rack_id string (nullable)
 *   assignment:   version i16, [topic string, partitions [i32]],
 *                 user_data bytes (nullable)
 *
 * Ownership: decoded structs own their strings and arrays; release them
 * with cproto_*_release(). Encoders append to a caller's buffer.
 */
#ifndef KLOG_CPROTO_H
#define KLOG_CPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* One topic and its partitions (assignment and owned partitions). */
struct cproto_topic_parts {
	char *topic;
	int32_t *partitions;
	int32_t npartitions;
};

struct cproto_assignment {
	int16_t version;
	struct cproto_topic_parts *topics;
	int32_t ntopics;
	uint8_t *user_data;	/* NULL when null or empty */
	int32_t user_data_len;	/* -1: null */
};

struct cproto_subscription {
	int16_t version;
	char **topics;
	int32_t ntopics;
	uint8_t *user_data;
	int32_t user_data_len;	/* -1: null */
	struct cproto_topic_parts *owned;	/* v1+ */
	int32_t nowned;
	int32_t generation;	/* v2+, else -1 */
	char *rack;		/* v3+, NULL when null or absent */
};

/*
 * Decode an assignment from data[0..len). Zero bytes (a member without an
 * assignment yet) decode to an empty assignment. 0, or -1 with
 * EXIT_PROTOCOL and what is malformed; *out needs release either way.
 */
int cproto_assignment_decode(const void *data, size_t len,
    struct cproto_assignment *out, struct err *e);
void cproto_assignment_release(struct cproto_assignment *a);

/* Decode a subscription; the same contract as for assignments. */
int cproto_subscription_decode(const void *data, size_t len,
    struct cproto_subscription *out, struct err *e);
void cproto_subscription_release(struct cproto_subscription *s);

/* Append the encodings of `a` and `s` (at their `version`) to `b`. */
void cproto_assignment_encode(struct buf *b, const struct cproto_assignment *a);
void cproto_subscription_encode(struct buf *b,
    const struct cproto_subscription *s);

/*
 * Client-side assignors (cproto_assign.c), computing exactly what the
 * Java and librdkafka assignors of the same name compute so that mixed
 * groups agree:
 *   "range"      per topic, the members subscribed to it sorted by member
 *                id each take a contiguous range; the first
 *                npartitions % nmembers members take one more;
 *   "roundrobin" every subscribed topic-partition, sorted by topic then
 *                partition, dealt to the members sorted by id in turn,
 *                skipping members not subscribed to the topic;
 *   "sticky"     (KIP-54) balanced, keeping the partitions each member
 *                owned (its StickyAssignorUserData, else its v1 owned
 *                partitions; a partition claimed twice goes to the newer
 *                generation): only the leader computes it, so members
 *                agree; the choice of what moves is not Java's to the
 *                letter;
 *   "cooperative-sticky"  (KIP-429) the same balance, reading the owned
 *                partitions of the subscription (v1+) dated by its
 *                generation (v2+, else the 4-byte user data of Java's
 *                CooperativeStickyAssignor or librdkafka's sticky user
 *                data); a partition that moves from the member still
 *                owning it to another is left out of this round (its
 *                owner revokes it and joins again; the next round hands
 *                it over), as is one claimed by two members at the same
 *                generation.
 * `members[i].sub` is the member's decoded subscription; topics unknown
 * to `topics` (no metadata) are skipped. out[0..nmembers) is filled in
 * member order (version 0, topics sorted by name, partitions ascending);
 * the caller releases each with cproto_assignment_release(). 0, or -1
 * with EXIT_USAGE for an unknown assignor name or EXIT_SOFTWARE when out
 * of memory (out[] then holds nothing to release).
 */
struct cproto_member {
	const char *member_id;
	const struct cproto_subscription *sub;
};

struct cproto_topic_meta {
	const char *topic;
	int32_t npartitions;
};

int cproto_assign(const char *assignor, const struct cproto_member *members,
    size_t nmembers, const struct cproto_topic_meta *topics, size_t ntopics,
    struct cproto_assignment *out, struct err *e);
/* true for the names cproto_assign() knows. */
int cproto_assignor_known(const char *name);
/*
 * true for assignors that support the cooperative rebalance protocol
 * (KIP-429: members keep consuming what they keep and revoke only what
 * moves): "cooperative-sticky". Such assignors support eager too.
 */
int cproto_assignor_cooperative(const char *name);

#endif
