/* SPDX-License-Identifier: MIT */
/*
 * A framed Kafka connection for replicad's poll loop, over TCP (leaders)
 * or a Unix socket (the local logd): non-blocking connect, requests
 * framed straight into the output buffer, answers matched in order by
 * correlation id and handed to callbacks from the input buffer. A failure
 * (I/O error, bad frame, overdue request) closes the connection, fails
 * every request in flight and is kept for the owner to take, so each
 * owner has one place to back off. libcommon's kcl_* client connects
 * synchronously and only to brokers it learnt from metadata; a follower
 * must not stall all its leaders on one that does not answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "proto.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

#define READ_CHUNK (64 * 1024)
#define FRAME_MAX (256 << 20)		/* KIP-74 may pass max_bytes */

void
rconn_set_name(struct rconn *c, const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(c->name))
		n = sizeof(c->name) - 1;
	memcpy(c->name, name, n);
	c->name[n] = '\0';
}

void
rconn_init(struct rconn *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	rconn_set_name(c, name);
	c->fd = -1;
	c->next_corr = 1;
	buf_init(&c->out);
	buf_init(&c->in);
}

static void
reset_io(struct rconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->connecting = false;
	buf_clear(&c->out);
	buf_clear(&c->in);
	c->out_sent = 0;
	c->in_off = 0;
	c->building = false;
}

void
rconn_release(struct rconn *c)
{
	reset_io(c);
	buf_release(&c->out);
	buf_release(&c->in);
	free(c->q);
	c->q = NULL;
	c->qlen = c->qcap = c->qhead = 0;
}

static struct rcall
q_pop(struct rconn *c)
{
	struct rcall f = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	return f;
}

void
rconn_close(struct rconn *c, const struct err *why)
{
	bool was_open = c->fd >= 0;

	reset_io(c);
	if (was_open && why != NULL) {
		c->failure = *why;
		c->failed = true;
	}
	/* Callbacks may look at the connection: it is closed by now. */
	while (c->qlen > 0) {
		struct rcall f = q_pop(c);

		if (f.cb != NULL)
			f.cb(f.arg, NULL, why);
	}
}

/* Close with the reason "<name>: <what>[: strerror(errno)]". */
static void
fail(struct rconn *c, int code, bool sys, const char *what)
{
	struct err why = { 0 };

	if (sys)
		err_sys(&why, code, "%s: %s", c->name, what);
	else
		err_set(&why, code, "%s: %s", c->name, what);
	rconn_close(c, &why);
}

bool
rconn_take_failure(struct rconn *c, struct err *out)
{
	if (!c->failed)
		return false;
	c->failed = false;
	if (out != NULL)
		*out = c->failure;
	return true;
}

bool
rconn_is_open(const struct rconn *c)
{
	return c->fd >= 0;
}

bool
rconn_is_ready(const struct rconn *c)
{
	return c->fd >= 0 && !c->connecting;
}

size_t
rconn_inflight(const struct rconn *c)
{
	return c->qlen;
}

int
rconn_open_unix(struct rconn *c, const char *path, struct err *e)
{
	reset_io(c);
	c->failed = false;
	c->fd = net_connect_unix(path, e);
	if (c->fd < 0)
		return -1;
	net_set_nonblocking(c->fd, 1);
	return 0;
}

/* Resolve host (numeric port) into a freshly allocated addrinfo list. */
static int
resolve(const char *host, const char *port, int family, int flags,
    struct addrinfo **out, struct err *e)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0)
		return err_set(e, EXIT_NOHOST, "unable to resolve '%s': %s", host,
		    gai_strerror(rc));
	return 0;
}

/*
 * Bind to the broker's own address so firewall rules in fault tests can
 * tell the brokers' traffic apart. Not fatal: an address this host does
 * not have is reported once and the kernel picks the source.
 */
static void
bind_source(int fd, int family, const char *source)
{
	static bool warned;
	struct addrinfo *ai;
	struct err e = { 0 };

	if (source == NULL || *source == '\0')
		return;
	if (resolve(source, NULL, family, AI_PASSIVE, &ai, &e) < 0) {
		if (!warned)
			log_warnx("source address: %s", e.msg);
		warned = true;
		return;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && !warned) {
		log_warn("unable to bind leader connections to '%s'", source);
		warned = true;
	}
	freeaddrinfo(ai);
}

int
rconn_open_tcp(struct rconn *c, const char *host, int32_t port,
    const char *source, struct err *e)
{
	struct addrinfo *ai;
	char portstr[16];
	int fd;

	reset_io(c);
	c->failed = false;
	snprintf(portstr, sizeof(portstr), "%d", (int)port);
	if (resolve(host, portstr, AF_UNSPEC, AI_NUMERICSERV, &ai, e) < 0)
		return err_wrap(e, "%s", c->name);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return err_sys(e, EXIT_OSERR, "%s: socket", c->name);
	}
	bind_source(fd, ai->ai_family, source);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		err_sys(e, EXIT_UNAVAILABLE, "%s: unable to connect", c->name);
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	net_set_nodelay(fd);
	c->fd = fd;
	c->connecting = true;
	c->connect_deadline = clock_mono_ms() + RD_CONNECT_TIMEOUT_MS;
	return 0;
}

/* The non-blocking connect finished one way or the other. */
static int
finish_connect(struct rconn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		errno = soerr;
		fail(c, EXIT_UNAVAILABLE, true, "unable to connect");
		return -1;
	}
	c->connecting = false;
	return 0;
}

struct buf *
rconn_begin(struct rconn *c, int16_t api_key, int16_t version)
{
	c->req_start = c->out.len;
	c->building = true;
	proto_frame_begin_request(&c->out, api_key, version, c->next_corr,
	    RD_CLIENT_ID);
	return &c->out;
}

static int
q_push(struct rconn *c, const struct rcall *f)
{
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 8, i;
		struct rcall *q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return -1;
		for (i = 0; i < c->qlen; i++)
			q[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = q;
		c->qcap = cap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = *f;
	c->qlen++;
	return 0;
}

int
rconn_send(struct rconn *c, rconn_cb cb, void *arg, int timeout_ms,
    struct err *e)
{
	struct rcall f;

	if (!c->building)
		return err_set(e, EXIT_SOFTWARE, "no request is being built");
	c->building = false;
	if (c->fd < 0) {
		c->out.len = c->req_start;
		return err_set(e, EXIT_UNAVAILABLE, "%s: not connected",
		    c->name);
	}
	if (c->out.failed) {
		c->out.len = c->req_start;
		c->out.failed = false;
		return err_set(e, EXIT_OSERR, "out of memory building a "
		    "request to %s", c->name);
	}
	proto_frame_end(&c->out, c->req_start);
	f.corr = c->next_corr;
	f.cb = cb;
	f.arg = arg;
	f.deadline = clock_mono_ms() + timeout_ms;
	if (q_push(c, &f) < 0) {
		c->out.len = c->req_start;
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	c->next_corr = c->next_corr == INT32_MAX ? 1 : c->next_corr + 1;
	return 0;
}

static void
conn_write(struct rconn *c)
{
	if (net_send_some(c->fd, c->out.data, c->out.len, &c->out_sent,
	    MSG_NOSIGNAL) < 0) {
		fail(c, EXIT_UNAVAILABLE, true, "write failed");
		return;
	}
	if (c->out_sent < c->out.len)
		return;
	c->out.len = 0;
	c->out_sent = 0;
}

/* Run the callback of every complete frame in the input buffer. */
static void
dispatch(struct rconn *c)
{
	while (c->fd >= 0) {
		size_t avail = c->in.len - c->in_off;
		const uint8_t *p = c->in.data + c->in_off;
		struct breader body;
		struct rcall f;
		int32_t size;
		int rc = proto_frame_peek(p, avail, FRAME_MAX, &size);

		if (rc < 0) {
			fail(c, EXIT_PROTOCOL, false, "answer size out of range");
			return;
		}
		if (rc == 0) {
			/* Grow once for the whole frame, not chunk by chunk. */
			if (size > 0 &&
			    buf_reserve(&c->in, 4 + (size_t)size - avail) < 0)
				fail(c, EXIT_OSERR, false, "out of memory");
			break;
		}
		if (c->qlen == 0 ||
		    c->q[c->qhead].corr != (int32_t)be32_load(p + 4)) {
			fail(c, EXIT_PROTOCOL, false, "answer does not match "
			    "the oldest request");
			return;
		}
		f = q_pop(c);
		c->in_off += 4 + (size_t)size;
		br_init(&body, p + 8, (size_t)size - 4);
		if (f.cb != NULL)
			f.cb(f.arg, &body, NULL);
	}
	buf_compact(&c->in, &c->in_off, 0);
}

static void
conn_read(struct rconn *c)
{
	for (;;) {
		ssize_t n = net_read_buf(c->fd, &c->in, READ_CHUNK);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (c->in.failed)
			fail(c, EXIT_OSERR, false, "out of memory");
		else if (n == 0)
			fail(c, EXIT_UNAVAILABLE, false, "connection closed");
		else
			fail(c, EXIT_UNAVAILABLE, true, "read failed");
		return;
	}
	dispatch(c);
}

short
rconn_events(const struct rconn *c)
{
	if (c->fd < 0)
		return 0;
	if (c->connecting)
		return POLLOUT;
	return (short)(POLLIN | (c->out_sent < c->out.len ? POLLOUT : 0));
}

void
rconn_io(struct rconn *c, short revents)
{
	if (c->fd < 0 || revents == 0)
		return;
	if (c->connecting) {
		if (finish_connect(c) < 0)
			return;
	}
	if (c->out.len > c->out_sent)
		conn_write(c);
	if (c->fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
		conn_read(c);
	/* Requests queued by callbacks go out without waiting a round. */
	if (c->fd >= 0 && !c->connecting && c->out.len > c->out_sent)
		conn_write(c);
}

int64_t
rconn_deadline(const struct rconn *c)
{
	if (c->fd < 0)
		return INT64_MAX;
	if (c->connecting)
		return c->connect_deadline;
	return c->qlen > 0 ? c->q[c->qhead].deadline : INT64_MAX;
}

void
rconn_expire(struct rconn *c, int64_t now)
{
	if (c->fd < 0 || rconn_deadline(c) > now)
		return;
	if (c->connecting)
		fail(c, EXIT_UNAVAILABLE, false, "unable to connect: "
		    "timed out");
	else
		fail(c, EXIT_TEMPFAIL, false, "no answer in time");
}

struct sync_state {
	bool done;
	struct buf *resp;
	struct err failure;
	bool failed;
};

static void
sync_cb(void *arg, struct breader *body, const struct err *failure)
{
	struct sync_state *s = arg;

	s->done = true;
	if (body == NULL) {
		s->failed = true;
		if (failure != NULL)
			s->failure = *failure;
		return;
	}
	buf_clear(s->resp);
	buf_put(s->resp, body->p, br_left(body));
}

int
rconn_call(struct rconn *c, int timeout_ms, struct buf *resp, struct err *e)
{
	struct sync_state s;

	memset(&s, 0, sizeof(s));
	s.resp = resp;
	if (rconn_send(c, sync_cb, &s, timeout_ms, e) < 0)
		return -1;
	while (!s.done) {
		struct pollfd pfd = { c->fd, rconn_events(c), 0 };
		int64_t left = rconn_deadline(c) - clock_mono_ms();

		if (left < 0)
			left = 0;
		/* A signal ends poll early; the call still finishes. */
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			pfd.revents = POLLERR;
		if (pfd.revents != 0)
			rconn_io(c, pfd.revents);
		rconn_expire(c, clock_mono_ms());
	}
	if (s.failed) {
		if (e != NULL)
			*e = s.failure;
		return -1;
	}
	if (resp->failed)
		return err_set(e, EXIT_OSERR, "out of memory");
	return 0;
}
