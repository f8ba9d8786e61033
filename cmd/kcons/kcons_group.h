/* SPDX-License-Identifier: MIT */
/*
 * Group mode internals shared by kcons_group.c (membership: join, sync,
 * the leader's assignment, heartbeats, rebalances) and kcons_coord.c
 * (requests to the coordinator: FindCoordinator, OffsetCommit,
 * OffsetFetch, LeaveGroup, and the call helpers both use).
 */
#ifndef KCONS_GROUP_H
#define KCONS_GROUP_H

#include "cproto.h"
#include "kcons.h"

/* A request whose answer is copied out, waited for or checked later. */
struct g_call {
	struct g_call *next;
	bool done;
	struct err fail;		/* code 0: answered */
	struct buf body;
	int16_t version;
};

struct kc_group {
	const char *id;
	char **protocols;		/* assignor names, preferred first */
	size_t nprotocols;
	int32_t session_ms;
	int32_t heartbeat_ms;
	int32_t rebalance_ms;
	int32_t commit_ms;
	int32_t coordinator;		/* broker id; -1 unknown */
	char *member_id;		/* "" until the coordinator gives one */
	int32_t generation;		/* -1: not a member */
	char *protocol;			/* the assignor the group chose */
	bool assigned;			/* an assignment came at least once */
	bool need_join;
	bool finishing;			/* waits go on after a signal */
	int64_t hb_due;
	int64_t commit_due;
	struct g_call *hb;		/* Heartbeat in flight */
	struct cproto_assignment prev;	/* the last assignment, for sticky */
	int32_t prev_gen;
	struct g_call *calls;		/* every call not freed yet */
};

enum g_step { G_OK = 0, G_RETRY, G_AGAIN, G_FATAL };

/*
 * Calls: kg_call_send() queues the request built on c (NULL with e set);
 * kg_call_wait() serves every connection until it is answered: 0 with
 * the body in br, -1 with e set (the call is freed), 1 on a signal (the
 * call stays listed, freed by kc_group_free()). kg_call_free() after
 * reading the body.
 */
struct g_call *kg_call_send(struct kc_group *g, struct kcl_conn *c,
    struct err *e);
int kg_call_wait(struct kc *kc, struct g_call *call, struct breader *br,
    struct err *e);
void kg_call_free(struct kc_group *g, struct g_call *call);

const char *kg_error_name(int16_t code);
bool kg_coordinator_error(int16_t code);
/* Sleep ms serving the connections; false on a signal. */
bool kg_pause_ms(struct kc *kc, int32_t ms);
/* A retriable failure; false once -m ran out (kcons then fails). */
bool kg_trouble(struct kc *kc, struct err *e);
/* The coordinator's connection, found first if needed; NULL with e. */
struct kcl_conn *kg_coordinator(struct kc *kc, struct err *e);

/* Commit the written offsets of the partitions owned; 0 or -1 with e. */
int kg_commit_written(struct kc *kc, struct err *e);
/* The committed offsets of the KC_P_RESOLVE partitions. */
enum g_step kg_fetch_committed(struct kc *kc, struct kcl_conn *c,
    struct err *e);
void kg_leave_group(struct kc *kc);

#endif
