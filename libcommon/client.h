/* SPDX-License-Identifier: MIT */
/*
 * The Kafka client core shared by kprod, kcons, kgroups and replicad: a
 * set of broker connections driven by one poll loop. Each connection
 * queues request frames and keeps a FIFO of requests in flight (Kafka
 * answers in order, so responses are matched by position and checked by
 * correlation id). A request's callback runs from kcl_poll() with the
 * response body, or with a failure when the connection is lost or the
 * request times out. ApiVersions is asked on every new connection, and a
 * metadata cache maps topics to partitions and their leaders.
 *
 * Ownership: kcl_new() returns a client the caller frees with kcl_free(),
 * which closes every connection (pending callbacks are not called).
 * Connections and cached metadata belong to the client. Connection
 * pointers stay valid until kcl_free() (a lost connection is reused on
 * reconnect); topic, partition and broker pointers only until the next
 * kcl_metadata(), which replaces them: copy what must outlive it.
 * Not thread-safe: one thread drives a client. Callbacks may queue new
 * requests but must not call kcl_poll() or kcl_request_wait().
 */
#ifndef KLOG_CLIENT_H
#define KLOG_CLIENT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"
#include "err.h"
#include "net.h"

struct kcl_config {
	const char *bootstrap;		/* "host:port[,host:port...]" */
	const char *client_id;		/* sent in every request header */
	int connect_timeout_ms;		/* 5000 */
	int request_timeout_ms;		/* 30000 */
	int retry_backoff_ms;		/* 100: before reconnecting a broker */
	int64_t max_response_bytes;	/* 256 MiB: larger frames are refused */
};

void kcl_config_init(struct kcl_config *c);

struct kcl;
struct kcl_conn;

/*
 * A request's outcome. On success `body` reads the response body (after
 * the correlation id), valid only during the callback; on failure
 * `failure` says what went wrong (EXIT_UNAVAILABLE: connection lost or
 * refused; EXIT_TEMPFAIL: timed out; EXIT_PROTOCOL: bad response).
 */
struct kcl_response {
	struct kcl_conn *conn;
	int16_t api_key;
	int16_t api_version;
	struct breader *body;
	const struct err *failure;
};

typedef void (*kcl_callback)(struct kcl *k, const struct kcl_response *r,
    void *arg);

/* Parse the bootstrap list; connects lazily. 0, or -1 with EXIT_USAGE. */
int kcl_new(const struct kcl_config *cfg, struct kcl **out, struct err *e);
void kcl_free(struct kcl *k);

/*
 * The connection to broker `broker_id` (from metadata), or with
 * broker_id -1 the first reachable bootstrap broker. Connects (waiting at
 * most connect_timeout_ms) and negotiates ApiVersions if needed. NULL with
 * `e` set (EXIT_UNAVAILABLE, naming the broker) when it cannot.
 */
struct kcl_conn *kcl_conn(struct kcl *k, int32_t broker_id, struct err *e);

/* "host:port" and the broker id (-1 for a bootstrap connection). */
const char *kcl_conn_name(const struct kcl_conn *c);
int32_t kcl_conn_broker(const struct kcl_conn *c);
/* Requests sent and not yet answered. */
size_t kcl_conn_inflight(const struct kcl_conn *c);
size_t kcl_inflight(const struct kcl *k);

/*
 * The highest version of `api` both this client (min..max) and the broker
 * support, or -1 when none.
 */
int kcl_version(const struct kcl_conn *c, int16_t api, int16_t min,
    int16_t max);

/*
 * Build a request: kcl_request_begin() returns the buffer to write the
 * body into; kcl_request_send() frames and queues it. With `no_response`
 * (Produce acks=0) the callback runs once the bytes are written, with
 * `body` NULL and no failure. -1 with `e` set when the connection is down.
 */
struct buf *kcl_request_begin(struct kcl_conn *c, int16_t api_key,
    int16_t api_version);
/*
 * Append `len` bytes at `p` to the request being built, after what the
 * buffer holds so far, without copying them (short ranges are copied):
 * they are written from `p`, so they stay the caller's, alive and
 * unchanged, until the request's callback has run (or the request was
 * refused by kcl_request_send(), or the client freed). The buffer's bytes
 * may still be patched in place (counts, say) but never cut or moved.
 * Out of memory makes kcl_request_send() fail.
 */
void kcl_request_put_ref(struct kcl_conn *c, const void *p, size_t len);
int kcl_request_send(struct kcl_conn *c, kcl_callback cb, void *arg,
    bool no_response, struct err *e);

/*
 * Send the request built with kcl_request_begin() and wait for it (other
 * connections keep being served). On success the response body is
 * copied into `out` (cleared first). -1 with `e` as for callbacks.
 */
int kcl_request_wait(struct kcl_conn *c, struct buf *out, struct err *e);

/*
 * Do the I/O of every connection for at most timeout_ms (-1: until
 * something happens), running callbacks and expiring requests. `extra`
 * pollfds (stdin, say) are polled too and their revents filled. Returns
 * the number of extra fds ready, or -1 (EXIT_OSERR) if poll itself fails.
 */
int kcl_poll(struct kcl *k, struct pollfd *extra, int nextra, int timeout_ms,
    struct err *e);

/* Metadata cache */

struct kcl_broker {
	int32_t id;
	struct net_addr addr;
};

struct kcl_partition {
	int32_t id;
	int16_t error;		/* Kafka error code for this partition */
	int32_t leader;		/* broker id, -1 when none */
	int32_t leader_epoch;	/* -1 when the broker does not say */
};

struct kcl_topic {
	char *name;
	int16_t error;		/* e.g. 3 UNKNOWN_TOPIC_OR_PARTITION */
	bool internal;
	int32_t npartitions;
	struct kcl_partition *parts;	/* indexed by partition id */
};

/*
 * Refresh metadata for `topics` (n == 0: every topic) from a reachable
 * broker, asking it to create unknown topics when `auto_create`. Topic
 * level errors are kept in the cache, not returned. 0, or -1 with
 * EXIT_UNAVAILABLE when no broker answers.
 */
int kcl_metadata(struct kcl *k, const char *const *topics, size_t n,
    bool auto_create, struct err *e);
const struct kcl_topic *kcl_topic(const struct kcl *k, const char *name);
size_t kcl_topic_count(const struct kcl *k);
const struct kcl_topic *kcl_topic_at(const struct kcl *k, size_t i);
const struct kcl_broker *kcl_broker(const struct kcl *k, int32_t id);
int32_t kcl_controller(const struct kcl *k);
const char *kcl_cluster_id(const struct kcl *k);

#endif
