/* SPDX-License-Identifier: MIT */
/*
 * Cluster mode, the link to ctrld (docs/cluster-protocol.md). Two threads
 * with blocking sockets talk to ctrld: one keeps the BrokerHeartbeat long
 * poll going (which is also how ctrld's state arrives), the other sends
 * the AlterIsr and ControlledShutdown requests the event loop queues, so
 * an ISR change never waits behind the long poll. The threads never touch
 * topics or partitions: what they learn goes into a mutex-protected
 * mailbox, and an eventfd in logd's epoll set wakes the event loop, which
 * applies it (logd_cluster_state.c). While ctrld is unreachable the broker
 * keeps serving with the last state it applied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "logd_cluster.h"
#include "util.h"
#include "banned.h"

#define LINK_CONNECT_TIMEOUT_MS 2000
/* How long past wait_ms an answer may take before the link is dropped. */
#define LINK_ANSWER_SLACK_MS 10000
#define LINK_BACKOFF_MIN_MS 100
#define LINK_BACKOFF_MAX_MS 2000
/* A ClusterState of many topics is large, but not this large. */
#define LINK_FRAME_MAX (256 << 20)
#define LINK_CLIENT_ID "logd"

/* One blocking connection to ctrld, owned by one link thread. */
struct link {
	const char *name;	/* for messages */
	int fd;
	int32_t corr;
	int *shared_fd;		/* the copy cluster_free may shut down */
	bool down;		/* an outage was logged: log the recovery */
	int64_t down_since_ms;
	int backoff_ms;
	char last_logged[CLUSTER_WHY_MAX];
};

static void
cluster_lock(struct cluster *c)
{
	pthread_mutex_lock(&c->mu);
}

static void
cluster_unlock(struct cluster *c)
{
	pthread_mutex_unlock(&c->mu);
}

/* Tell the event loop the mailbox has news. */
static void
cluster_wake_loop(struct cluster *c)
{
	uint64_t one = 1;

	(void)!write(c->efd, &one, sizeof(one));
}

static bool
cluster_stopping(struct cluster *c)
{
	bool stop;

	cluster_lock(c);
	stop = c->stop;
	cluster_unlock(c);
	return stop;
}

/* Sleep `ms` unless stopped first; the caller holds no lock. */
static void
cluster_sleep(struct cluster *c, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	cluster_lock(c);
	while (!c->stop &&
	    pthread_cond_timedwait(&c->cv, &c->mu, &ts) != ETIMEDOUT)
		;
	cluster_unlock(c);
}

static void
link_close(struct cluster *c, struct link *l)
{
	if (l->fd < 0)
		return;
	cluster_lock(c);
	*l->shared_fd = -1;
	cluster_unlock(c);
	close(l->fd);
	l->fd = -1;
}

static int
link_connect(struct cluster *c, struct link *l, struct err *e)
{
	int fd;

	if (l->fd >= 0)
		return 0;
	fd = net_connect_tcp(&c->controller, LINK_CONNECT_TIMEOUT_MS, 0, e);
	if (fd < 0)
		return -1;
	cluster_lock(c);
	if (c->stop) {
		cluster_unlock(c);
		close(fd);
		return err_set(e, EXIT_UNAVAILABLE, "stopping");
	}
	*l->shared_fd = fd;
	cluster_unlock(c);
	l->fd = fd;
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len, struct err *e)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, EXIT_UNAVAILABLE, "sending to ctrld");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t len, struct err *e)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return err_set(e, EXIT_UNAVAILABLE,
			    "ctrld closed the connection");
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return err_set(e, EXIT_UNAVAILABLE,
			    "ctrld did not answer in time");
		if (n < 0)
			return err_sys(e, EXIT_UNAVAILABLE, "reading from ctrld");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Send one request whose body is in `body` and read its answer into
 * *out (malloc'd, the caller frees), positioned after the correlation id
 * in *r. `answer_ms` bounds the wait for the answer.
 */
static int
link_call(struct link *l, int16_t api_key, const struct buf *body,
    int64_t answer_ms, uint8_t **out, struct breader *r, struct err *e)
{
	struct timeval tv = { (time_t)(answer_ms / 1000),
	    (suseconds_t)(answer_ms % 1000) * 1000 };
	struct buf frame = BUF_INIT;
	uint8_t size_be[4], *data;
	int32_t size, corr = ++l->corr;
	size_t start;
	int rc;

	start = proto_frame_begin_request(&frame, api_key, CTLPROTO_VERSION,
	    corr, LINK_CLIENT_ID);
	buf_put(&frame, body->data, body->len);
	proto_frame_end(&frame, start);
	if (frame.failed || body->failed) {
		buf_release(&frame);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	rc = write_all(l->fd, frame.data, frame.len, e);
	buf_release(&frame);
	if (rc < 0 || read_all(l->fd, size_be, sizeof(size_be), e) < 0)
		return -1;
	size = (int32_t)be32_load(size_be);
	if (size < 4 || size > LINK_FRAME_MAX)
		return err_set(e, EXIT_PROTOCOL, "ctrld sent a frame of %" PRId32
		    " bytes", size);
	data = malloc((size_t)size);
	if (data == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (read_all(l->fd, data, (size_t)size, e) < 0) {
		free(data);
		return -1;
	}
	if ((int32_t)be32_load(data) != corr) {
		int32_t got = (int32_t)be32_load(data);

		free(data);
		return err_set(e, EXIT_PROTOCOL, "ctrld answered correlation id "
		    "%" PRId32 ", expected %" PRId32, got, corr);
	}
	br_init(r, data + 4, (size_t)size - 4);
	*out = data;
	return 0;
}

/* Record the link's trouble: logged once per outage, not per attempt. */
static void
link_failed(struct cluster *c, struct link *l, const char *why, bool drop)
{
	char addr[NET_ADDR_MAX];

	if (drop)
		link_close(c, l);
	net_addr_format(&c->controller, addr, sizeof(addr));
	if (!l->down)
		log_warnx("ctrld at %s: %s link: %s; retrying, serving the last "
		    "known cluster state meanwhile", addr, l->name, why);
	else if (strcmp(l->last_logged, why) != 0)
		log_debug("ctrld at %s: %s link: %s", addr, l->name, why);
	snprintf(l->last_logged, sizeof(l->last_logged), "%s", why);
	if (!l->down) {
		l->down = true;
		l->down_since_ms = clock_mono_ms();
		l->backoff_ms = LINK_BACKOFF_MIN_MS;
	}
	if (l->shared_fd == &c->hb_fd) {
		cluster_lock(c);
		c->connected = false;
		snprintf(c->last_error, sizeof(c->last_error), "%s", why);
		cluster_unlock(c);
	}
	cluster_sleep(c, l->backoff_ms);
	l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ?
	    LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static void
link_ok(struct cluster *c, struct link *l)
{
	char addr[NET_ADDR_MAX];

	if (!l->down)
		return;
	net_addr_format(&c->controller, addr, sizeof(addr));
	log_info("ctrld at %s: %s link is back after %" PRId64 " ms", addr,
	    l->name, clock_mono_ms() - l->down_since_ms);
	l->down = false;
	l->last_logged[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* The heartbeat thread                                               */

static int
heartbeat_once(struct cluster *c, struct link *l, int64_t known,
    struct ctl_heartbeat_resp *out, struct err *e)
{
	struct ctl_heartbeat_req req;
	struct buf body = BUF_INIT;
	struct breader r;
	uint8_t *data = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	req.broker_id = c->broker_id;
	req.incarnation = c->incarnation;
	snprintf(req.host, sizeof(req.host), "%s", c->host);
	req.port = c->port;
	req.known_version = known;
	req.wait_ms = c->wait_ms;
	cluster_lock(c);
	req.shutting_down = c->shutting_down;
	cluster_unlock(c);
	ctlproto_write_heartbeat_req(&body, &req);
	rc = link_call(l, API_KLOG_BROKER_HEARTBEAT, &body,
	    c->wait_ms + LINK_ANSWER_SLACK_MS, &data, &r, e);
	buf_release(&body);
	if (rc < 0)
		return -1;
	rc = ctlproto_read_heartbeat_resp(&r, out, e);
	free(data);
	return rc;
}

/* Hand a heartbeat's answer to the event loop. */
static void
heartbeat_deliver(struct cluster *c, struct ctl_heartbeat_resp *resp)
{
	cluster_lock(c);
	c->connected = true;
	c->last_error[0] = '\0';
	c->session_timeout_ms = resp->session_timeout_ms;
	c->last_heartbeat_wall_ms = clock_wall_ms();
	if (resp->state != NULL) {
		/* Only the newest state matters; an unapplied older one goes. */
		cluster_state_free(c->new_state);
		c->new_state = resp->state;
		resp->state = NULL;
	}
	cluster_unlock(c);
	cluster_wake_loop(c);
}

static void *
heartbeat_main(void *arg)
{
	struct cluster *c = arg;
	struct link l = { "heartbeat", -1, 0, &c->hb_fd, false, 0, 0, "" };
	int64_t known = -1;

	while (!cluster_stopping(c)) {
		struct ctl_heartbeat_resp resp;
		struct err e = { 0 };
		char why[CLUSTER_WHY_MAX];

		if (link_connect(c, &l, &e) < 0 ||
		    heartbeat_once(c, &l, known, &resp, &e) < 0) {
			if (!cluster_stopping(c))
				link_failed(c, &l, e.msg, true);
			continue;
		}
		if (resp.error_code != KERR_NONE) {
			/* ctrld answers but refuses us: a manifest mismatch. */
			snprintf(why, sizeof(why), "refused with %s: %s",
			    proto_error_name(resp.error_code) ?
			    proto_error_name(resp.error_code) : "an error",
			    resp.error_message[0] ? resp.error_message : "-");
			ctlproto_release_heartbeat_resp(&resp);
			l.backoff_ms = LINK_BACKOFF_MAX_MS;
			link_failed(c, &l, why, false);
			continue;
		}
		link_ok(c, &l);
		if (resp.state != NULL)
			known = resp.state->version;
		heartbeat_deliver(c, &resp);
		ctlproto_release_heartbeat_resp(&resp);
	}
	link_close(c, &l);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The request thread: AlterIsr and ControlledShutdown                */

static int
outcomes_grow(struct cluster *c, size_t more)
{
	size_t need = c->nisr_done + more, cap = c->isr_done_cap;
	struct isr_outcome *grown;

	if (need <= cap)
		return 0;
	while (cap < need)
		cap = cap ? cap * 2 : 16;
	grown = realloc(c->isr_done, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	c->isr_done = grown;
	c->isr_done_cap = cap;
	return 0;
}

/* Every item failed without an answer: tell the loop why. */
static void
alter_isr_deliver_failure(struct cluster *c, const struct ctl_isr_item *items,
    int32_t n, const char *why)
{
	int32_t i;

	cluster_lock(c);
	if (outcomes_grow(c, (size_t)n) == 0)
		for (i = 0; i < n; i++) {
			struct isr_outcome *o = &c->isr_done[c->nisr_done++];

			memset(o, 0, sizeof(*o));
			snprintf(o->r.topic, sizeof(o->r.topic), "%s",
			    items[i].topic);
			o->r.partition = items[i].partition;
			snprintf(o->why, sizeof(o->why), "%s", why);
		}
	cluster_unlock(c);
	cluster_wake_loop(c);
}

static void
alter_isr_deliver(struct cluster *c, const struct ctl_alter_isr_resp *resp)
{
	int32_t i;

	cluster_lock(c);
	if (outcomes_grow(c, (size_t)resp->nresults) == 0)
		for (i = 0; i < resp->nresults; i++) {
			struct isr_outcome *o = &c->isr_done[c->nisr_done++];

			memset(o, 0, sizeof(*o));
			o->r = resp->results[i];
			o->answered = true;
		}
	cluster_unlock(c);
	cluster_wake_loop(c);
}

static void
alter_isr_send(struct cluster *c, struct link *l, struct ctl_isr_item *items,
    int32_t n)
{
	struct ctl_alter_isr_req req = { c->broker_id, c->incarnation, items,
	    n };
	struct ctl_alter_isr_resp resp;
	struct buf body = BUF_INIT;
	struct breader r;
	uint8_t *data = NULL;
	struct err e = { 0 };
	char why[CLUSTER_WHY_MAX];
	int rc;

	ctlproto_write_alter_isr_req(&body, &req);
	rc = link_connect(c, l, &e);
	if (rc == 0)
		rc = link_call(l, API_KLOG_ALTER_ISR, &body,
		    LINK_ANSWER_SLACK_MS, &data, &r, &e);
	buf_release(&body);
	if (rc == 0) {
		rc = ctlproto_read_alter_isr_resp(&r, &resp, &e);
		free(data);
	}
	if (rc < 0) {
		/* No retry here: the leader proposes again on its next tick. */
		link_close(c, l);
		alter_isr_deliver_failure(c, items, n, e.msg);
		return;
	}
	if (resp.error_code != KERR_NONE) {
		snprintf(why, sizeof(why), "ctrld refused AlterIsr with %s: %s",
		    proto_error_name(resp.error_code) ?
		    proto_error_name(resp.error_code) : "an error",
		    resp.error_message[0] ? resp.error_message : "-");
		alter_isr_deliver_failure(c, items, n, why);
	} else {
		alter_isr_deliver(c, &resp);
	}
	ctlproto_release_alter_isr_resp(&resp);
}

static void
shutdown_send(struct cluster *c, struct link *l)
{
	struct ctl_shutdown_req req = { c->broker_id, c->incarnation };
	struct ctl_shutdown_resp resp;
	struct buf body = BUF_INIT;
	struct breader r;
	uint8_t *data = NULL;
	struct err e = { 0 };
	int rc;

	memset(&resp, 0, sizeof(resp));
	ctlproto_write_shutdown_req(&body, &req);
	rc = link_connect(c, l, &e);
	if (rc == 0)
		rc = link_call(l, API_KLOG_CONTROLLED_SHUTDOWN, &body,
		    LINK_ANSWER_SLACK_MS, &data, &r, &e);
	buf_release(&body);
	if (rc == 0) {
		rc = ctlproto_read_shutdown_resp(&r, &resp, &e);
		free(data);
	}
	if (rc < 0) {
		link_close(c, l);
		resp.error_code = KERR_UNKNOWN_SERVER_ERROR;
		ctlproto_set_message(resp.error_message, e.msg);
	}
	cluster_lock(c);
	c->shutdown_answered = true;
	c->shutdown_resp = resp;
	cluster_unlock(c);
	cluster_wake_loop(c);
}

static void *
request_main(void *arg)
{
	struct cluster *c = arg;
	struct link l = { "request", -1, 0, &c->req_fd, false, 0, 0, "" };

	for (;;) {
		struct ctl_isr_item *items;
		int32_t n;
		bool shutdown;

		cluster_lock(c);
		while (!c->stop && c->nisr_queue == 0 && !c->shutdown_queued)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop) {
			cluster_unlock(c);
			break;
		}
		items = c->isr_queue;
		n = c->nisr_queue;
		c->isr_queue = NULL;
		c->nisr_queue = c->isr_queue_cap = 0;
		shutdown = c->shutdown_queued;
		c->shutdown_queued = false;
		cluster_unlock(c);
		if (n > 0)
			alter_isr_send(c, &l, items, n);
		free(items);
		if (shutdown)
			shutdown_send(c, &l);
	}
	link_close(c, &l);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Set-up and tear-down (event loop thread)                           */

static int64_t
new_incarnation(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)clock_wall_ms() ^ (uint64_t)getpid() << 32;
	return (int64_t)(v & INT64_MAX);
}

int
cluster_new(struct logd *ld, struct err *e)
{
	struct cluster *c;
	pthread_condattr_t ca;

	if (!ld->cfg.cluster_mode)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	c->efd = c->hb_fd = c->req_fd = -1;
	c->controller = ld->cfg.controller;
	c->broker_id = ld->cfg.broker_id;
	c->incarnation = new_incarnation();
	c->wait_ms = (int32_t)ld->cfg.heartbeat_interval_ms;
	cluster_state_init(&c->state);
	/* Any value replicad cannot hold from an earlier logd of ours. */
	c->replica_version = clock_wall_ms();
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	ld->cluster = c;
	return 0;
}

/* The port ctrld must see: the advertised one, or the bound one for 0. */
static void
heartbeat_address(struct logd *ld, struct cluster *c)
{
	struct net_addr bound;
	char addr[NET_ADDR_MAX];
	struct err e = { 0 };

	snprintf(c->host, sizeof(c->host), "%s", ld->cfg.advertise.host);
	c->port = ld->cfg.advertise.port;
	if (c->port == 0 && net_local_addr(ld->listen_fd, addr, sizeof(addr),
	    &e) == 0 && net_addr_parse(addr, 0, &bound, &e) == 0)
		c->port = bound.port;
}

static int
start_thread(pthread_t *t, void *(*fn)(void *), void *arg, struct err *e)
{
	sigset_t all, old;
	int rc;

	/* Signals stay with the event loop thread (epoll_pwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return err_sys(e, EXIT_OSERR, "unable to start a ctrld link "
		    "thread");
	}
	return 0;
}

int
cluster_serve_start(struct logd *ld, struct err *e)
{
	struct cluster *c = ld->cluster;
	struct epoll_event ev = { 0 };
	char addr[NET_ADDR_MAX];

	if (c == NULL)
		return 0;
	if (replica_listen(ld, e) < 0)
		return -1;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0)
		return err_sys(e, EXIT_OSERR, "eventfd");
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, c->efd, &ev) < 0)
		return err_sys(e, EXIT_OSERR, "epoll_ctl for the ctrld link");
	heartbeat_address(ld, c);
	if (start_thread(&c->hb_thread, heartbeat_main, c, e) < 0)
		return -1;
	c->hb_started = true;
	if (start_thread(&c->req_thread, request_main, c, e) < 0)
		return -1;
	c->req_started = true;
	net_addr_format(&c->controller, addr, sizeof(addr));
	log_info("cluster mode: ctrld at %s, incarnation %" PRId64 "; "
	    "partitions wait for its state", addr, c->incarnation);
	return 0;
}

void
cluster_serve_stop(struct logd *ld)
{
	struct cluster *c = ld->cluster;

	if (c == NULL)
		return;
	replica_unlisten(ld);
	if (c->efd >= 0)
		epoll_ctl(ld->epfd, EPOLL_CTL_DEL, c->efd, NULL);
}

void
cluster_free(struct logd *ld)
{
	struct cluster *c = ld->cluster;

	if (c == NULL)
		return;
	cluster_lock(c);
	c->stop = true;
	/* Blocked reads end when their socket is shut down. */
	if (c->hb_fd >= 0)
		shutdown(c->hb_fd, SHUT_RDWR);
	if (c->req_fd >= 0)
		shutdown(c->req_fd, SHUT_RDWR);
	pthread_cond_broadcast(&c->cv);
	cluster_unlock(c);
	if (c->hb_started)
		pthread_join(c->hb_thread, NULL);
	if (c->req_started)
		pthread_join(c->req_thread, NULL);
	if (c->efd >= 0)
		close(c->efd);
	cluster_state_free(c->new_state);
	cluster_state_release(&c->state);
	free(c->isr_queue);
	free(c->isr_done);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	ld->cluster = NULL;
}

/* ------------------------------------------------------------------ */
/* The event loop's side of the mailbox                               */

void
cluster_alter_isr(struct logd *ld, struct partition *p, const int32_t *isr,
    size_t nisr)
{
	struct cluster *c = ld->cluster;
	struct ctl_isr_item item, *slot = NULL;
	int32_t i;

	if (c == NULL)
		return;
	if (nisr > CTLPROTO_MAX_REPLICAS) {
		log_warnx("AlterIsr: %zu replicas in the ISR of topic=%s "
		    "partition=%" PRId32 " is more than %d", nisr,
		    p->topic->name, p->id, CTLPROTO_MAX_REPLICAS);
		return;
	}
	memset(&item, 0, sizeof(item));
	snprintf(item.topic, sizeof(item.topic), "%s", p->topic->name);
	item.partition = p->id;
	item.leader_epoch = p->leader_epoch;
	item.partition_epoch = p->partition_epoch;
	item.nisr = (int32_t)nisr;
	memcpy(item.isr, isr, nisr * sizeof(*isr));
	cluster_lock(c);
	/* A newer proposal for a partition not sent yet replaces the older. */
	for (i = 0; i < c->nisr_queue && slot == NULL; i++)
		if (c->isr_queue[i].partition == p->id &&
		    strcmp(c->isr_queue[i].topic, item.topic) == 0)
			slot = &c->isr_queue[i];
	if (slot == NULL && c->nisr_queue == c->isr_queue_cap) {
		int32_t cap = c->isr_queue_cap ? c->isr_queue_cap * 2 : 16;
		struct ctl_isr_item *grown = realloc(c->isr_queue,
		    (size_t)cap * sizeof(*grown));

		if (grown == NULL) {
			cluster_unlock(c);
			log_warnx("AlterIsr: out of memory; topic=%s partition=%"
			    PRId32 " proposes again later", p->topic->name, p->id);
			return;
		}
		c->isr_queue = grown;
		c->isr_queue_cap = cap;
	}
	if (slot == NULL)
		slot = &c->isr_queue[c->nisr_queue++];
	*slot = item;
	pthread_cond_broadcast(&c->cv);
	cluster_unlock(c);
	p->isr_change_pending = true;
}

void
cluster_on_event(struct logd *ld)
{
	struct cluster *c = ld->cluster;
	struct cluster_state *state;
	struct isr_outcome *done;
	struct ctl_shutdown_resp shut;
	bool shut_answered;
	size_t ndone, i;
	uint64_t n;

	if (c == NULL)
		return;
	(void)!read(c->efd, &n, sizeof(n));
	cluster_lock(c);
	state = c->new_state;
	c->new_state = NULL;
	done = c->isr_done;
	ndone = c->nisr_done;
	c->isr_done = NULL;
	c->nisr_done = c->isr_done_cap = 0;
	shut_answered = c->shutdown_answered;
	shut = c->shutdown_resp;
	c->shutdown_answered = false;
	cluster_unlock(c);
	if (state != NULL)
		cluster_apply_state(ld, state);
	for (i = 0; i < ndone; i++)
		cluster_apply_isr_outcome(ld, &done[i]);
	free(done);
	if (shut_answered)
		cluster_shutdown_answered(ld, &shut);
}

/* Ask ctrld to move our leaderships away; the answer comes by mailbox. */
void
cluster_request_shutdown(struct cluster *c)
{
	cluster_lock(c);
	c->shutting_down = true;
	c->shutdown_queued = true;
	pthread_cond_broadcast(&c->cv);
	cluster_unlock(c);
}

void
cluster_link_status(struct cluster *c, struct cluster_link_status *out)
{
	cluster_lock(c);
	out->connected = c->connected;
	snprintf(out->last_error, sizeof(out->last_error), "%s", c->last_error);
	out->session_timeout_ms = c->session_timeout_ms;
	out->last_heartbeat_wall_ms = c->last_heartbeat_wall_ms;
	cluster_unlock(c);
}
