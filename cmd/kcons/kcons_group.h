/* SPDX-License-Identifier: MIT */
/*
 * Group mode internals shared by kcons_group.c (membership: join, sync,
 * the rejoin loop, the loop's tick), kcons_rebalance.c (what a member
 * does around a rebalance: its subscription, the leader's assignment,
 * revoking, losing and taking partitions, eager or cooperative),
 * kcons_heartbeat.c (the heartbeat thread) and kcons_coord.c (requests
 * to the coordinator: FindCoordinator, OffsetCommit, OffsetFetch,
 * LeaveGroup, and the call helpers).
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

struct kc_hb;

struct kc_group {
	const char *id;
	char **protocols;		/* assignor names, preferred first */
	size_t nprotocols;
	bool cooperative;		/* all assignors offered are KIP-429 */
	int32_t session_ms;
	int32_t heartbeat_ms;
	int32_t rebalance_ms;		/* max.poll.interval.ms */
	int32_t commit_ms;
	int32_t coordinator;		/* broker id; -1 unknown */
	char *member_id;		/* "" until the coordinator gives one */
	int32_t generation;		/* -1: not a member */
	char *protocol;			/* the assignor the group chose */
	bool assigned;			/* an assignment came at least once */
	bool need_join;
	bool lost;			/* membership gone: drop, no commit */
	bool serve;			/* a cooperative join: keep printing */
	bool serving;			/* kg_serve() is running */
	bool finishing;			/* waits go on after a signal */
	int64_t commit_due;
	struct kc_hb *hb;		/* the heartbeat thread, once joining */
	/*
	 * The last assignment and its generation: what a cooperative member
	 * owns (and reports in JoinGroup), what a sticky one owned.
	 */
	struct cproto_assignment prev;
	int32_t prev_gen;
	struct g_call *calls;		/* every call not freed yet */
};

enum g_step { G_OK = 0, G_RETRY, G_AGAIN, G_FATAL };

/* A JoinGroup answer. */
struct joined {
	int32_t generation;
	char *protocol;
	bool leader;
	size_t nmembers;
	char **ids;
	struct cproto_subscription *subs;
};

/*
 * Calls: kg_call_send() queues the request built on c (NULL with e set);
 * kg_call_wait() serves every connection until it is answered: 0 with
 * the body in br, -1 with e set (the call is freed), 1 on a signal or,
 * while a cooperative join keeps printing, a stop (the call stays
 * listed, freed by kc_group_free()). kg_call_free() after reading the
 * body.
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

/*
 * kcons_rebalance.c. kg_put_subscription() appends our JoinGroup member
 * metadata for one protocol. kg_compute_assignments() is the leader's
 * work: every member's assignment encoded into enc, member i's bytes at
 * enc[offs[i], offs[i + 1]) (EXIT_UNAVAILABLE without metadata).
 * kg_prepare_join() runs before joining: a lost membership gives up
 * every partition without committing; eager revokes everything (prints
 * what was fetched, commits what was written); cooperative only commits.
 * kg_take_assignment() applies what SyncGroup gave: partitions owned and
 * not given are revoked (printed, committed, given up), new ones wait in
 * KC_P_RESOLVE with `fresh` set; returns how many were revoked (a
 * cooperative member then joins again). kg_serve() prints what was
 * fetched while a cooperative join waits (a no-op otherwise).
 */
void kg_put_subscription(struct buf *b, const struct kc *kc,
    const char *protocol);
int kg_compute_assignments(struct kc *kc, const struct joined *j,
    struct buf *enc, size_t *offs, struct err *e);
void kg_prepare_join(struct kc *kc);
size_t kg_take_assignment(struct kc *kc, const struct cproto_assignment *a);
void kg_serve(struct kc *kc);

/*
 * kcons_heartbeat.c: the heartbeat thread, with a client of its own made
 * from `client` (strings borrowed for the thread's life). kc_hb_start()
 * starts it idle (0, or -1 with e); kc_hb_member() publishes the
 * membership to keep alive (generation -1: pause), which also counts as
 * progress and drops reports about an older one; kc_hb_progress() (a
 * kc_out write hook) stamps the main thread's progress; kc_hb_fd() is
 * readable when a report waits; kc_hb_take() moves the reports out and
 * returns their flags, kc_hb_lost() peeks at KC_HB_LOST; kc_hb_stop()
 * stops and joins the thread (idle after that); kc_hb_free() stops it
 * if needed and frees (NULL: no-op).
 */
struct kc_hb_settings {
	struct kcl_config client;
	const char *group;
	const char *const *topics;	/* for the coordinator's address */
	size_t ntopics;
	int32_t heartbeat_ms;
	int32_t max_poll_ms;
	int32_t backoff_ms;		/* after a failed heartbeat */
};

enum kc_hb_flag {
	KC_HB_OK = 1 << 0,		/* a heartbeat was answered */
	KC_HB_REJOIN = 1 << 1,		/* REBALANCE_IN_PROGRESS */
	KC_HB_LOST = 1 << 2,		/* membership gone: join again */
	KC_HB_NEW_MEMBER = 1 << 3,	/* ... forgetting the member id */
	KC_HB_COORDINATOR = 1 << 4,	/* find the coordinator again */
	KC_HB_TROUBLE = 1 << 5,		/* `trouble`: retried */
	KC_HB_FATAL = 1 << 6,		/* `fatal`: kcons must stop */
	KC_HB_POLL_TIMEOUT = 1 << 7	/* left after max.poll.interval.ms */
};

struct kc_hb_report {
	unsigned flags;
	struct err trouble;
	struct err fatal;
};

int kc_hb_start(const struct kc_hb_settings *s, struct kc_hb **out,
    struct err *e);
void kc_hb_member(struct kc_hb *h, const char *member_id,
    int32_t generation);
void kc_hb_progress(void *h);
int kc_hb_fd(const struct kc_hb *h);
unsigned kc_hb_take(struct kc_hb *h, struct kc_hb_report *out);
bool kc_hb_lost(struct kc_hb *h);
void kc_hb_stop(struct kc_hb *h);
void kc_hb_free(struct kc_hb *h);

#endif
