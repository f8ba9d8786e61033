/* SPDX-License-Identifier: MIT */
/*
 * Private to logd's cluster-mode files: struct cluster, shared by the
 * ctrld link (logd_cluster.c, two threads and a mailbox), the state
 * applier (logd_cluster_state.c, event loop) and replica.sock
 * (logd_replica_api.c). Fields are grouped by who may touch them: set
 * once before the threads start, under `mu`, or the event loop's alone.
 */
#ifndef LOGD_CLUSTER_H
#define LOGD_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctlproto.h"
#include "logd.h"

/* Room for "what failed: ctrld's message" in the link's reports. */
#define CLUSTER_WHY_MAX 512

/* An AlterIsr outcome for the loop: ctrld's answer, or why none came. */
struct isr_outcome {
	struct ctl_isr_result r;	/* without an answer: topic, partition */
	bool answered;
	char why[CLUSTER_WHY_MAX];	/* no answer (or a refusal of all) */
};

/* Controlled shutdown progress (event loop). */
enum cluster_stop_phase {
	CLUSTER_STOP_NONE,
	CLUSTER_STOP_WAITING,	/* asked ctrld, waiting to lead nothing */
	CLUSTER_STOP_DONE
};

struct cluster {
	/* Set before the threads start, then read-only. */
	struct net_addr controller;
	int32_t broker_id;
	int64_t incarnation;		/* random per start */
	char host[CTLPROTO_HOST_MAX];	/* what heartbeats say we are */
	int32_t port;
	int32_t wait_ms;		/* the long poll's wait */
	int efd;			/* eventfd: the threads wake the loop */
	pthread_t hb_thread, req_thread;
	bool hb_started, req_started;

	/* The mailbox and link status, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* work for the request thread; stop */
	bool stop;
	int hb_fd, req_fd;		/* shut down to unblock the threads */
	bool shutting_down;		/* heartbeats say so */
	struct ctl_isr_item *isr_queue;	/* AlterIsr items not sent yet */
	int32_t nisr_queue, isr_queue_cap;
	bool shutdown_queued;		/* a ControlledShutdown to send */
	struct cluster_state *new_state;	/* newest state not applied */
	struct isr_outcome *isr_done;
	size_t nisr_done, isr_done_cap;
	bool shutdown_answered;
	struct ctl_shutdown_resp shutdown_resp;
	bool connected;			/* the last heartbeat was answered */
	char last_error[CLUSTER_WHY_MAX];
	int64_t session_timeout_ms;
	int64_t last_heartbeat_wall_ms;

	/* The event loop's alone. */
	struct cluster_state state;	/* the applied state */
	bool have_state;
	bool first_apply;		/* applying the first state: quieter */
	bool id_mismatch_logged;
	bool apply_failed;		/* retry the apply on the timer */
	int64_t next_apply_retry_ms;
	int64_t replica_version;	/* ReplicaState's version */
	enum cluster_stop_phase stop_phase;
	int64_t stop_started_ms;
	int64_t stop_deadline_ms;
	int32_t stop_remaining;		/* leaderships ctrld could not move */
	bool stop_answered;
};

/* A copy of the link status for `logd ctl status`. */
struct cluster_link_status {
	bool connected;
	char last_error[CLUSTER_WHY_MAX];
	int64_t session_timeout_ms;
	int64_t last_heartbeat_wall_ms;	/* 0: never */
};

/* logd_cluster.c */
void cluster_request_shutdown(struct cluster *c);
void cluster_link_status(struct cluster *c, struct cluster_link_status *out);

/* logd_cluster_state.c (event loop) */
/* Apply a new state; takes ownership of `s`. */
void cluster_apply_state(struct logd *ld, struct cluster_state *s);
void cluster_apply_isr_outcome(struct logd *ld, const struct isr_outcome *o);
void cluster_shutdown_answered(struct logd *ld,
    const struct ctl_shutdown_resp *r);

/* logd_replica_api.c: <data_dir>/replica.sock */
int replica_listen(struct logd *ld, struct err *e);
void replica_unlisten(struct logd *ld);

#endif
