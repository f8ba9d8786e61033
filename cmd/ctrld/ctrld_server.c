/* SPDX-License-Identifier: MIT */
/*
 * ctrld's event loop: one thread, epoll, Kafka framing. Requests on a
 * connection run one at a time in order; a BrokerHeartbeat with nothing
 * new to say parks (the connection is not read meanwhile) until the state
 * version changes or its wait passes, so brokers learn changes at once.
 * Timers declare silent brokers dead and run the preferred-leader
 * rebalance. Every change is made durable (ctrld_commit) before any
 * answer or parked heartbeat is released.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrld.h"
#include "log.h"
#include "util.h"
#include "banned.h"

#define MIN_FRAME 10		/* api_key, version, correlation, client id */
#define READ_CHUNK (64 * 1024)
#define SESSION_CHECK_MS 100
#define MAX_CONNECTIONS 4096
#define DRAIN_MS 2000
#define MAX_CONN_OUTPUT (16 << 20)	/* stop reading a client that lags */

static bool
conn_backlogged(const struct ctrld_conn *k)
{
	return k->out.len - k->out_off > MAX_CONN_OUTPUT;
}

static void
conn_update_events(struct ctrld *c, struct ctrld_conn *k)
{
	struct epoll_event ev = { 0 };
	bool want_write = k->out.len > k->out_off;
	bool want_read = !k->parked && !k->peer_closed && !conn_backlogged(k);

	ev.events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
	ev.data.ptr = k;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		log_warn("epoll_ctl for %s", k->peer);
	k->want_write = want_write;
}

static void
conn_close(struct ctrld *c, struct ctrld_conn *k)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	buf_release(&k->in);
	buf_release(&k->out);
	if (k->prev)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	c->nconns--;
	free(k);
}

/* Write what the socket takes; -1 when the connection must close. */
static int
conn_flush(struct ctrld *c, struct ctrld_conn *k)
{
	while (k->out.len > k->out_off) {
		ssize_t n = write(k->fd, k->out.data + k->out_off,
		    k->out.len - k->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				log_warn("write to %s", k->peer);
			return -1;
		}
		k->out_off += (size_t)n;
	}
	if (k->out_off == k->out.len) {
		buf_clear(&k->out);
		k->out_off = 0;
	}
	if (k->peer_closed && k->out.len == 0 && !k->parked)
		return -1;
	conn_update_events(c, k);
	return 0;
}

/* Run the frame at the head of k's input; `final` forbids parking. */
static enum ctrld_handled
run_frame(struct ctrld *c, struct ctrld_conn *k, int64_t now, bool final)
{
	const uint8_t *p = k->in.data + k->in_off;
	size_t size = be32_load(p);
	struct proto_req_header h;
	struct breader r;
	enum ctrld_handled res;

	br_init(&r, p + PROTO_FRAME_HEADER, size);
	proto_read_req_header(&r, &h);
	if (!br_ok(&r)) {
		log_warnx("closing connection from %s: malformed request "
		    "header", k->peer);
		return CTRLD_CLOSE;
	}
	res = ctrld_dispatch(c, k, &h, &r, now, final, &k->out);
	if (res == CTRLD_CLOSE)
		log_warnx("closing connection from %s: %s request (api key %d "
		    "v%d, correlation id %" PRId32 ") refused", k->peer,
		    ctlproto_api_name(h.api_key) ? ctlproto_api_name(h.api_key) :
		    "unknown", h.api_key, h.api_version, h.correlation_id);
	if (res == CTRLD_PARK && !k->parked) {
		k->parked = true;
		/* ctrld_dispatch set park_deadline_ms. */
	}
	if (res == CTRLD_DONE) {
		k->parked = false;
		k->in_off += PROTO_FRAME_HEADER + size;
	}
	return res;
}

/* Run complete frames in order; -1 when the connection was closed. */
static int
conn_process(struct ctrld *c, struct ctrld_conn *k, int64_t now)
{
	while (!k->parked && !conn_backlogged(k)) {
		size_t avail = k->in.len - k->in_off;
		int32_t size;

		if (avail < PROTO_FRAME_HEADER)
			break;
		size = (int32_t)be32_load(k->in.data + k->in_off);
		if (size < MIN_FRAME || size > CTRLD_MAX_REQUEST) {
			log_warnx("closing connection from %s: request size %"
			    PRId32 " outside [%d, %d]", k->peer, size,
			    MIN_FRAME, CTRLD_MAX_REQUEST);
			conn_close(c, k);
			return -1;
		}
		if (avail < PROTO_FRAME_HEADER + (size_t)size)
			break;
		if (run_frame(c, k, now, c->stopping) == CTRLD_CLOSE) {
			conn_close(c, k);
			return -1;
		}
	}
	if (k->in_off == k->in.len) {
		buf_clear(&k->in);
		k->in_off = 0;
	}
	ctrld_commit(c);
	if (conn_flush(c, k) < 0) {
		conn_close(c, k);
		return -1;
	}
	return 0;
}

static void
conn_on_readable(struct ctrld *c, struct ctrld_conn *k, int64_t now)
{
	size_t budget = 4 * READ_CHUNK;	/* then let others have a turn */

	while (budget > 0) {
		ssize_t n;

		if (buf_reserve(&k->in, READ_CHUNK) < 0) {
			conn_close(c, k);
			return;
		}
		n = read(k->fd, k->in.data + k->in.len, k->in.cap - k->in.len);
		if (n > 0) {
			k->in.len += (size_t)n;
			budget -= (size_t)n > budget ? budget : (size_t)n;
			continue;
		}
		if (n == 0) {
			k->peer_closed = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != ECONNRESET)
			log_warn("read from %s", k->peer);
		conn_close(c, k);
		return;
	}
	(void)conn_process(c, k, now);
}

static void
accept_conns(struct ctrld *c)
{
	for (;;) {
		struct epoll_event ev = { 0 };
		struct ctrld_conn *k;
		int fd = accept4(c->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept");
			return;
		}
		if (c->nconns >= MAX_CONNECTIONS) {
			log_warnx("refusing a connection: %d connections open",
			    MAX_CONNECTIONS);
			close(fd);
			continue;
		}
		k = xcalloc(1, sizeof(*k));
		k->fd = fd;
		buf_init(&k->in);
		buf_init(&k->out);
		net_peer_addr(fd, k->peer, sizeof(k->peer));
		net_set_nodelay(fd);
		ev.events = EPOLLIN;
		ev.data.ptr = k;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("epoll_ctl for %s", k->peer);
			close(fd);
			free(k);
			continue;
		}
		k->next = c->conns;
		if (c->conns)
			c->conns->prev = k;
		c->conns = k;
		c->nconns++;
		log_debug("connection from %s", k->peer);
	}
}

/* Re-run parked heartbeats: all when `all` (a change), else those due. */
static void
wake_parked(struct ctrld *c, int64_t now, bool all)
{
	struct ctrld_conn *k, *next;

	for (k = c->conns; k != NULL; k = next) {
		bool due;

		next = k->next;
		if (!k->parked)
			continue;
		due = c->stopping || now >= k->park_deadline_ms;
		if (!all && !due)
			continue;
		if (run_frame(c, k, now, due) == CTRLD_CLOSE) {
			conn_close(c, k);
			continue;
		}
		if (!k->parked)
			(void)conn_process(c, k, now);
	}
}

void
ctrld_commit(struct ctrld *c)
{
	struct err e = { 0 };

	if (c->st.npending == 0)
		return;
	if (mlog_append(&c->log, &c->st.pending, &e) < 0)
		/* Memory and disk would disagree: restart from the log. */
		log_fatalx(e.code ? e.code : EXIT_IOERR, "%s", e.msg);
	cst_committed(&c->st);
	if (mlog_wants_rewrite(&c->log)) {
		struct buf snap = BUF_INIT;

		cst_snapshot(&c->st, &snap);
		if (mlog_rewrite(&c->log, &snap, &e) < 0)
			log_warnx("metadata log not rewritten: %s", e.msg);
		buf_release(&snap);
	}
	/* The loop wakes parked heartbeats (never from inside a handler). */
	c->changed = true;
}

static int64_t
next_deadline(const struct ctrld *c)
{
	int64_t t = c->next_session_check_ms;
	const struct ctrld_conn *k;

	if (c->m->controller.auto_leader_rebalance && c->next_rebalance_ms < t)
		t = c->next_rebalance_ms;
	for (k = c->conns; k != NULL; k = k->next)
		if (k->parked && k->park_deadline_ms < t)
			t = k->park_deadline_ms;
	return t;
}

static void
run_timers(struct ctrld *c, int64_t now)
{
	if (now >= c->next_session_check_ms) {
		cst_check_sessions(&c->st, now);
		c->next_session_check_ms = now + SESSION_CHECK_MS;
	}
	if (c->m->controller.auto_leader_rebalance &&
	    now >= c->next_rebalance_ms) {
		cst_rebalance(&c->st);
		c->next_rebalance_ms = now +
		    c->m->controller.leader_rebalance_interval_ms;
	}
	ctrld_commit(c);
}

/* Answer parked heartbeats: every one after a change, else those due. */
static void
release_parked(struct ctrld *c, int64_t now)
{
	while (c->changed) {
		c->changed = false;
		wake_parked(c, now, true);
	}
	wake_parked(c, now, false);
}

static void
handle_event(struct ctrld *c, const struct epoll_event *ev, int64_t now)
{
	struct ctrld_conn *k = ev->data.ptr;

	if (ev->data.ptr == &c->listen_fd) {
		accept_conns(c);
		return;
	}
	if (ev->events & (EPOLLERR | EPOLLHUP)) {
		log_debug("connection from %s hung up", k->peer);
		conn_close(c, k);
		return;
	}
	if (ev->events & EPOLLOUT) {
		if (conn_flush(c, k) < 0) {
			conn_close(c, k);
			return;
		}
		/* Output drained: requests held back can run. */
		if (!k->parked && k->in.len > k->in_off &&
		    conn_process(c, k, now) < 0)
			return;
	}
	if (ev->events & EPOLLIN)
		conn_on_readable(c, k, now);
}

/* After SIGTERM: answer parked heartbeats and flush, briefly. */
static void
drain(struct ctrld *c, const sigset_t *mask)
{
	int64_t deadline = clock_mono_ms() + DRAIN_MS;
	struct epoll_event evs[64];

	c->stopping = true;
	wake_parked(c, clock_mono_ms(), true);
	while (clock_mono_ms() < deadline) {
		struct ctrld_conn *k;
		bool pending = false;
		int i, n;

		for (k = c->conns; k != NULL; k = k->next)
			pending |= k->out.len > k->out_off;
		if (!pending)
			break;
		n = epoll_pwait(c->epfd, evs, 64,
		    (int)(deadline - clock_mono_ms()), mask);
		for (i = 0; i < n; i++) {
			k = evs[i].data.ptr;
			if (evs[i].data.ptr == &c->listen_fd)
				continue;
			if (conn_flush(c, k) < 0)
				conn_close(c, k);
		}
	}
	while (c->conns != NULL)
		conn_close(c, c->conns);
}

int
ctrld_serve(struct ctrld *c, volatile sig_atomic_t *stop, struct err *e)
{
	struct epoll_event ev = { 0 }, evs[128];
	sigset_t block, orig;
	int64_t now = clock_mono_ms();

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return err_sys(e, EXIT_OSERR, "epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = &c->listen_fd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev) < 0)
		return err_sys(e, EXIT_OSERR, "epoll_ctl");
	/* Signals only arrive inside epoll_pwait: no lost wake-up. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	c->next_session_check_ms = now + SESSION_CHECK_MS;
	c->next_rebalance_ms = now + c->m->controller.leader_rebalance_interval_ms;
	while (!*stop) {
		int64_t wait = next_deadline(c) - clock_mono_ms();
		int i, n;

		if (wait < 0)
			wait = 0;
		n = epoll_pwait(c->epfd, evs, 128, (int)(wait > 1000 ? 1000 :
		    wait), &orig);
		if (n < 0 && errno != EINTR)
			return err_sys(e, EXIT_OSERR, "epoll_wait");
		now = clock_mono_ms();
		for (i = 0; i < n; i++)
			handle_event(c, &evs[i], now);
		run_timers(c, now);
		release_parked(c, now);
	}
	log_info("shutting down: %zu connections", c->nconns);
	close(c->listen_fd);
	c->listen_fd = -1;
	drain(c, &orig);
	close(c->epfd);
	return 0;
}
