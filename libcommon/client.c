/* SPDX-License-Identifier: MIT */
/*
 * The Kafka client core (see client.h). Requests are framed straight into
 * the connection's output buffer (one copy of any payload), except byte
 * ranges added by reference: those are written in place with writev(),
 * between the buffer's bytes at the position they were added at.
 * Responses are parsed in place from the input buffer and handed to
 * callbacks. A
 * request that times out fails its whole connection, as Kafka clients do:
 * answers come in order, so nothing behind it could be trusted.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

#define READ_CHUNK (64 * 1024)
/* Ranges shorter than this are copied: an iovec costs more. */
#define REF_MIN_BYTES 1024
/* iovecs per writev(), within IOV_MAX (1024 on Linux, 16 at least) */
#ifdef IOV_MAX
#if IOV_MAX < 64
#define WRITE_IOVS IOV_MAX
#endif
#endif
#ifndef WRITE_IOVS
#define WRITE_IOVS 64
#endif

/* Bytes sent from where they are, after out.data[0..at). */
struct out_ref {
	size_t at;
	const uint8_t *p;
	size_t len;
};

struct inflight {
	int32_t corr;
	int16_t api, version;
	kcl_callback cb;
	void *arg;
	int64_t deadline;
	bool no_response;
	uint64_t end;		/* output position when fully written */
};

struct kcl_conn {
	struct kcl *k;
	int32_t broker_id;
	struct net_addr addr;
	char name[NET_ADDR_MAX];
	int fd;
	/*
	 * The output: out's bytes with the refs spliced in at their
	 * positions. out_sent and out_base count both. The write cursor is
	 * segment w_seg (2i: out's bytes before ref i, or after the last
	 * one; 2i + 1: ref i) at offset w_off.
	 */
	struct buf out;
	size_t out_sent;
	uint64_t out_base;	/* bytes written before out.data[0] */
	struct out_ref *refs;
	size_t nrefs, refs_cap;
	size_t ref_bytes;	/* the refs' total length */
	size_t w_seg, w_off;
	struct buf in;
	size_t in_off;
	struct inflight *q;
	size_t qhead, qlen, qcap;
	bool have_versions;
	int16_t vmin[API_KEY_MAX + 1], vmax[API_KEY_MAX + 1];
	/* the request being built */
	size_t req_start;
	size_t req_nrefs, req_ref_bytes;	/* refs before it */
	int16_t req_api, req_version;
	int32_t req_corr;
	bool building;
};

struct kcl {
	struct kcl_config cfg;
	char *client_id;
	struct net_addr *boot;
	size_t nboot;
	struct kcl_conn **conns;
	size_t nconns;
	int32_t next_corr;
	struct kcl_broker *brokers;
	size_t nbrokers;
	struct kcl_topic *topics;	/* sorted by name */
	size_t ntopics;
	int32_t controller;
	char *cluster_id;
};

void
kcl_config_init(struct kcl_config *c)
{
	memset(c, 0, sizeof(*c));
	c->client_id = "klog";
	c->connect_timeout_ms = 5000;
	c->request_timeout_ms = 30000;
	c->retry_backoff_ms = 100;
	c->max_response_bytes = 256 << 20;
}

int
kcl_new(const struct kcl_config *cfg, struct kcl **out, struct err *e)
{
	struct kcl *k;
	const char *p;

	if (cfg->bootstrap == NULL || *cfg->bootstrap == '\0')
		return err_set(e, EXIT_USAGE, "no brokers given (use -b "
		    "host:port or KLOG_BROKERS)");
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	k->cfg = *cfg;
	k->controller = -1;
	k->next_corr = 1;
	k->client_id = strdup(cfg->client_id ? cfg->client_id : "klog");
	if (k->client_id == NULL)
		goto oom;
	for (p = cfg->bootstrap; *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char one[NET_ADDR_MAX];
		struct net_addr *grown;

		if (n == 0 || n >= sizeof(one)) {
			err_set(e, EXIT_USAGE, "bad broker list '%s'",
			    cfg->bootstrap);
			goto fail;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		grown = realloc(k->boot, (k->nboot + 1) * sizeof(*grown));
		if (grown == NULL)
			goto oom;
		k->boot = grown;
		if (net_addr_parse(one, 9092, &k->boot[k->nboot], e) < 0)
			goto fail;
		k->nboot++;
		p += n;
		if (*p == ',')
			p++;
	}
	*out = k;
	return 0;
oom:
	err_set(e, EXIT_OSERR, "out of memory");
fail:
	kcl_free(k);
	return -1;
}

static void
topic_release(struct kcl_topic *t)
{
	free(t->name);
	free(t->parts);
}

static void
conn_free(struct kcl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	buf_release(&c->out);
	buf_release(&c->in);
	free(c->refs);
	free(c->q);
	free(c);
}

void
kcl_free(struct kcl *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nconns; i++)
		conn_free(k->conns[i]);
	for (i = 0; i < k->ntopics; i++)
		topic_release(&k->topics[i]);
	free(k->topics);
	free(k->conns);
	free(k->brokers);
	free(k->boot);
	free(k->cluster_id);
	free(k->client_id);
	free(k);
}

const char *
kcl_conn_name(const struct kcl_conn *c)
{
	return c->name;
}

int32_t
kcl_conn_broker(const struct kcl_conn *c)
{
	return c->broker_id;
}

size_t
kcl_conn_inflight(const struct kcl_conn *c)
{
	return c->qlen;
}

size_t
kcl_inflight(const struct kcl *k)
{
	size_t i, n = 0;

	for (i = 0; i < k->nconns; i++)
		n += k->conns[i]->qlen;
	return n;
}

int
kcl_version(const struct kcl_conn *c, int16_t api, int16_t min, int16_t max)
{
	int16_t lo, hi;

	if (api < 0 || api > API_KEY_MAX || !c->have_versions ||
	    c->vmax[api] < 0)
		return -1;
	lo = min > c->vmin[api] ? min : c->vmin[api];
	hi = max < c->vmax[api] ? max : c->vmax[api];
	return lo <= hi ? hi : -1;
}

static struct inflight *
q_at(struct kcl_conn *c, size_t i)
{
	return &c->q[(c->qhead + i) % c->qcap];
}

static int
q_push(struct kcl_conn *c, const struct inflight *f)
{
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 16, i;
		struct inflight *q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return -1;
		for (i = 0; i < c->qlen; i++)
			q[i] = *q_at(c, i);
		free(c->q);
		c->q = q;
		c->qcap = cap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = *f;
	c->qlen++;
	return 0;
}

static struct inflight
q_pop(struct kcl_conn *c)
{
	struct inflight f = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	return f;
}

/* Forget the output (written, or dropped with the connection). */
static void
out_reset(struct kcl_conn *c)
{
	buf_clear(&c->out);
	c->out_sent = 0;
	c->nrefs = 0;
	c->ref_bytes = 0;
	c->w_seg = c->w_off = 0;
}

/* Drop the request being built from the output. */
static void
out_drop_request(struct kcl_conn *c)
{
	c->out.len = c->req_start;
	c->nrefs = c->req_nrefs;
	c->ref_bytes = c->req_ref_bytes;
}

/* Where the output that may be written ends: not inside a request. */
static size_t
out_end(const struct kcl_conn *c)
{
	if (c->building)
		return c->req_start + c->req_ref_bytes;
	return c->out.len + c->ref_bytes;
}

/* Segment `seg` of the output (see struct kcl_conn). */
static void
out_segment(const struct kcl_conn *c, size_t seg, const uint8_t **p,
    size_t *len)
{
	size_t i = seg / 2, from, to;

	if (seg % 2 == 1) {
		*p = c->refs[i].p;
		*len = c->refs[i].len;
		return;
	}
	from = i > 0 ? c->refs[i - 1].at : 0;
	to = i < c->nrefs ? c->refs[i].at : c->out.len;
	*p = c->out.data + from;
	*len = to - from;
}

/* Close the connection and fail everything in flight with `why`. */
static void
conn_fail(struct kcl_conn *c, const struct err *why)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	out_reset(c);
	buf_clear(&c->in);
	c->out_base = 0;
	c->in_off = 0;
	c->have_versions = false;
	c->building = false;
	while (c->qlen > 0) {
		struct inflight f = q_pop(c);
		struct kcl_response r = { c, f.api, f.version, NULL, why };

		if (f.cb != NULL)
			f.cb(c->k, &r, f.arg);
	}
}

static struct kcl_conn *
conn_new(struct kcl *k, int32_t id, const struct net_addr *addr)
{
	struct kcl_conn *c = calloc(1, sizeof(*c)), **grown;

	if (c == NULL)
		return NULL;
	grown = realloc(k->conns, (k->nconns + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(c);
		return NULL;
	}
	k->conns = grown;
	k->conns[k->nconns++] = c;
	c->k = k;
	c->broker_id = id;
	c->addr = *addr;
	c->fd = -1;
	net_addr_format(addr, c->name, sizeof(c->name));
	buf_init(&c->out);
	buf_init(&c->in);
	return c;
}

struct buf *
kcl_request_begin(struct kcl_conn *c, int16_t api_key, int16_t api_version)
{
	c->req_start = c->out.len;
	c->req_nrefs = c->nrefs;
	c->req_ref_bytes = c->ref_bytes;
	c->req_api = api_key;
	c->req_version = api_version;
	c->req_corr = c->k->next_corr++;
	if (c->k->next_corr == INT32_MAX)
		c->k->next_corr = 1;
	c->building = true;
	proto_frame_begin_request(&c->out, api_key, api_version, c->req_corr,
	    c->k->client_id);
	return &c->out;
}

void
kcl_request_put_ref(struct kcl_conn *c, const void *p, size_t len)
{
	struct out_ref *r;

	if (!c->building || c->out.failed || len == 0)
		return;
	if (len < REF_MIN_BYTES) {
		buf_put(&c->out, p, len);
		return;
	}
	if (c->nrefs == c->refs_cap) {
		size_t cap = c->refs_cap ? c->refs_cap * 2 : 16;
		struct out_ref *grown = realloc(c->refs, cap * sizeof(*grown));

		if (grown == NULL) {
			c->out.failed = true;
			return;
		}
		c->refs = grown;
		c->refs_cap = cap;
	}
	r = &c->refs[c->nrefs++];
	r->at = c->out.len;
	r->p = p;
	r->len = len;
	c->ref_bytes += len;
}

int
kcl_request_send(struct kcl_conn *c, kcl_callback cb, void *arg,
    bool no_response, struct err *e)
{
	struct inflight f;
	size_t size;

	if (!c->building)
		return err_set(e, EXIT_SOFTWARE, "no request is being built");
	c->building = false;
	if (c->fd < 0) {
		out_drop_request(c);
		return err_set(e, EXIT_UNAVAILABLE, "broker %s: not connected",
		    c->name);
	}
	if (c->out.failed) {
		out_drop_request(c);
		c->out.failed = false;
		return err_set(e, EXIT_OSERR, "out of memory building a request");
	}
	size = c->out.len - c->req_start - PROTO_FRAME_HEADER +
	    (c->ref_bytes - c->req_ref_bytes);
	if (size > INT32_MAX) {
		out_drop_request(c);
		return err_set(e, EXIT_SOFTWARE, "request of %zu bytes too "
		    "large for a frame", size);
	}
	be32_store(c->out.data + c->req_start, (uint32_t)size);
	memset(&f, 0, sizeof(f));
	f.corr = c->req_corr;
	f.api = c->req_api;
	f.version = c->req_version;
	f.cb = cb;
	f.arg = arg;
	f.deadline = clock_mono_ms() + c->k->cfg.request_timeout_ms;
	f.no_response = no_response;
	f.end = c->out_base + c->out.len + c->ref_bytes;
	if (q_push(c, &f) < 0) {
		out_drop_request(c);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	return 0;
}

/* Complete acks=0 requests at the head of the queue once written. */
static void
complete_written(struct kcl_conn *c)
{
	uint64_t written = c->out_base + c->out_sent;

	while (c->qlen > 0 && q_at(c, 0)->no_response &&
	    q_at(c, 0)->end <= written) {
		struct inflight f = q_pop(c);
		struct kcl_response r = { c, f.api, f.version, NULL, NULL };

		if (f.cb != NULL)
			f.cb(c->k, &r, f.arg);
	}
}

/* Up to `max` iovecs for the next `limit` bytes from the cursor. */
static int
out_iov(const struct kcl_conn *c, struct iovec *iov, int max, size_t limit)
{
	size_t seg = c->w_seg, off = c->w_off;
	int n = 0;

	while (n < max && limit > 0 && seg <= 2 * c->nrefs) {
		const uint8_t *p;
		size_t len, take;

		out_segment(c, seg, &p, &len);
		if (len > off) {
			take = len - off < limit ? len - off : limit;
			/* writev() only reads the bytes. */
			iov[n].iov_base = (void *)(uintptr_t)(p + off);
			iov[n].iov_len = take;
			n++;
			limit -= take;
		}
		seg++;
		off = 0;
	}
	return n;
}

/* Move the cursor over `n` written bytes. */
static void
out_advance(struct kcl_conn *c, size_t n)
{
	c->out_sent += n;
	while (n > 0) {
		const uint8_t *p;
		size_t len;

		/* The last segment grows with later requests: stay in it. */
		if (c->w_seg == 2 * c->nrefs) {
			c->w_off += n;
			return;
		}
		out_segment(c, c->w_seg, &p, &len);
		if (n < len - c->w_off) {
			c->w_off += n;
			return;
		}
		n -= len - c->w_off;
		c->w_seg++;
		c->w_off = 0;
	}
}

static int
conn_write(struct kcl_conn *c)
{
	size_t end = out_end(c);

	while (c->out_sent < end) {
		struct iovec iov[WRITE_IOVS];
		int n = out_iov(c, iov, WRITE_IOVS, end - c->out_sent);
		ssize_t w = writev(c->fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			struct err why;

			err_sys(&why, EXIT_UNAVAILABLE, "broker %s: write "
			    "failed", c->name);
			conn_fail(c, &why);
			return -1;
		}
		out_advance(c, (size_t)w);
	}
	if (!c->building && c->out_sent == c->out.len + c->ref_bytes) {
		c->out_base += c->out_sent;
		out_reset(c);
	}
	complete_written(c);
	return 0;
}

static void
conn_protocol_error(struct kcl_conn *c, const char *what)
{
	struct err why;

	err_set(&why, EXIT_PROTOCOL, "broker %s: %s", c->name, what);
	conn_fail(c, &why);
}

/* Dispatch every complete response frame in the input buffer. */
static void
conn_dispatch(struct kcl_conn *c)
{
	while (c->fd >= 0) {
		size_t avail = c->in.len - c->in_off;
		uint8_t *p = c->in.data + c->in_off;
		int32_t size, corr;
		int rc;
		struct inflight f;
		struct breader body;
		struct kcl_response r;

		rc = proto_frame_peek(p, avail, c->k->cfg.max_response_bytes,
		    &size);
		if (rc < 0) {
			conn_protocol_error(c, "response size out of range");
			return;
		}
		if (rc == 0)
			break;
		complete_written(c);
		corr = (int32_t)be32_load(p + 4);
		if (c->qlen == 0 || q_at(c, 0)->no_response ||
		    q_at(c, 0)->corr != corr) {
			conn_protocol_error(c, "response does not match the "
			    "oldest request");
			return;
		}
		f = q_pop(c);
		br_init(&body, p + 8, (size_t)size - 4);
		r.conn = c;
		r.api_key = f.api;
		r.api_version = f.version;
		r.body = &body;
		r.failure = NULL;
		c->in_off += 4 + (size_t)size;
		if (f.cb != NULL)
			f.cb(c->k, &r, f.arg);
	}
	buf_compact(&c->in, &c->in_off, c->in.cap / 2);
}

/* Fail the connection after net_read_buf() returned `n` (0 or -1). */
static void
conn_read_fail(struct kcl_conn *c, ssize_t n)
{
	struct err why;

	if (c->in.failed)
		err_set(&why, EXIT_OSERR, "out of memory reading from "
		    "broker %s", c->name);
	else if (n == 0)
		err_set(&why, EXIT_UNAVAILABLE, "broker %s closed the "
		    "connection", c->name);
	else
		err_sys(&why, EXIT_UNAVAILABLE, "broker %s: read failed",
		    c->name);
	conn_fail(c, &why);
}

static int
conn_read(struct kcl_conn *c)
{
	for (;;) {
		ssize_t n = net_read_buf(c->fd, &c->in, READ_CHUNK);

		if (n > 0) {
			if ((size_t)n < READ_CHUNK)
				break;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_read_fail(c, n);
		return -1;
	}
	conn_dispatch(c);
	return 0;
}

static void
expire_requests(struct kcl *k, int64_t now)
{
	size_t i;

	for (i = 0; i < k->nconns; i++) {
		struct kcl_conn *c = k->conns[i];

		if (c->fd >= 0 && c->qlen > 0 && q_at(c, 0)->deadline <= now) {
			struct err why;

			err_set(&why, EXIT_TEMPFAIL, "broker %s: request timed out "
			    "after %d ms", c->name, k->cfg.request_timeout_ms);
			conn_fail(c, &why);
		}
	}
}

int
kcl_poll(struct kcl *k, struct pollfd *extra, int nextra, int timeout_ms,
    struct err *e)
{
	struct pollfd stack[64], *pfd = stack;
	struct kcl_conn *map_stack[64], **map = map_stack;
	size_t n = 0, i, need = k->nconns + (size_t)nextra;
	int64_t now = clock_mono_ms(), deadline = INT64_MAX;
	int rc, ready = 0;

	if (need > 64) {
		pfd = calloc(need, sizeof(*pfd));
		map = calloc(need, sizeof(*map));
		if (pfd == NULL || map == NULL) {
			if (pfd != stack)
				free(pfd);
			if (map != map_stack)
				free(map);
			return err_set(e, EXIT_OSERR, "out of memory");
		}
	}
	for (i = 0; i < k->nconns; i++) {
		struct kcl_conn *c = k->conns[i];

		if (c->fd < 0)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN |
		    (c->out_sent < out_end(c) ? POLLOUT : 0);
		pfd[n].revents = 0;
		map[n++] = c;
		if (c->qlen > 0 && q_at(c, 0)->deadline < deadline)
			deadline = q_at(c, 0)->deadline;
	}
	for (i = 0; i < (size_t)nextra; i++) {
		extra[i].revents = 0;
		pfd[n + i] = extra[i];
	}
	if (deadline != INT64_MAX &&
	    (timeout_ms < 0 || deadline - now < timeout_ms))
		timeout_ms = deadline > now ? (int)(deadline - now) : 0;
	/* A signal ends the wait early; the caller checks its flags. */
	rc = poll(pfd, n + (size_t)nextra, timeout_ms);
	if (rc < 0 && errno != EINTR) {
		err_sys(e, EXIT_OSERR, "poll");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct kcl_conn *c = map[i];

		if (c->fd != pfd[i].fd)
			continue;
		if (pfd[i].revents & POLLOUT)
			if (conn_write(c) < 0)
				continue;
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			conn_read(c);
	}
	for (i = 0; i < (size_t)nextra; i++) {
		extra[i].revents = pfd[n + i].revents;
		if (extra[i].revents != 0)
			ready++;
	}
	/* Requests queued by callbacks go out without waiting a round. */
	for (i = 0; i < k->nconns; i++)
		if (k->conns[i]->fd >= 0 &&
		    k->conns[i]->out_sent < out_end(k->conns[i]))
			conn_write(k->conns[i]);
	expire_requests(k, clock_mono_ms());
	rc = ready;
out:
	if (pfd != stack)
		free(pfd);
	if (map != map_stack)
		free(map);
	return rc;
}

struct wait_state {
	bool done;
	struct err err;
	bool failed;
	struct buf *out;
};

static void
wait_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct wait_state *w = arg;

	(void)k;
	w->done = true;
	if (r->failure != NULL) {
		w->err = *r->failure;
		w->failed = true;
		return;
	}
	if (w->out != NULL && r->body != NULL) {
		buf_clear(w->out);
		buf_put(w->out, r->body->p, br_left(r->body));
	}
}

int
kcl_request_wait(struct kcl_conn *c, struct buf *out, struct err *e)
{
	struct wait_state w;

	memset(&w, 0, sizeof(w));
	w.out = out;
	if (kcl_request_send(c, wait_cb, &w, false, e) < 0)
		return -1;
	if (conn_write(c) < 0 && !w.done)
		return err_set(e, EXIT_UNAVAILABLE, "broker %s: write failed",
		    c->name);
	while (!w.done)
		if (kcl_poll(c->k, NULL, 0, -1, e) < 0)
			return -1;
	if (w.failed) {
		if (e != NULL)
			*e = w.err;
		return -1;
	}
	if (out != NULL && out->failed)
		return err_set(e, EXIT_OSERR, "out of memory");
	return 0;
}

/* Ask ApiVersions v0 on a fresh connection and keep the ranges. */
static int
negotiate(struct kcl_conn *c, struct err *e)
{
	struct buf resp = BUF_INIT;
	struct breader r;
	int32_t n, i;
	int16_t code;
	int rc = -1;

	kcl_request_begin(c, API_API_VERSIONS, 0);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	code = br_i16(&r);
	n = proto_read_array_len(&r, false, 6);
	if (!br_ok(&r) || code != 0) {
		err_set(e, EXIT_PROTOCOL, "broker %s: ApiVersions failed (%s)",
		    c->name, code ? proto_error_name(code) : "malformed");
		goto out;
	}
	for (i = 0; i <= API_KEY_MAX; i++)
		c->vmin[i] = c->vmax[i] = -1;
	for (i = 0; i < n; i++) {
		int16_t key = br_i16(&r), lo = br_i16(&r), hi = br_i16(&r);

		if (key >= 0 && key <= API_KEY_MAX) {
			c->vmin[key] = lo;
			c->vmax[key] = hi;
		}
	}
	if (!br_ok(&r)) {
		err_set(e, EXIT_PROTOCOL, "broker %s: malformed ApiVersions",
		    c->name);
		goto out;
	}
	c->have_versions = true;
	rc = 0;
out:
	buf_release(&resp);
	return rc;
}

static int
conn_connect(struct kcl_conn *c, struct err *e)
{
	struct err why = { 0 };

	c->fd = net_connect_tcp(&c->addr, c->k->cfg.connect_timeout_ms, 1, e);
	if (c->fd < 0)
		return -1;
	if (negotiate(c, e) < 0) {
		why = *e;
		conn_fail(c, &why);
		*e = why;
		return -1;
	}
	return 0;
}

static struct kcl_conn *
conn_find_addr(struct kcl *k, const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < k->nconns; i++)
		if (k->conns[i]->addr.port == a->port &&
		    strcmp(k->conns[i]->addr.host, a->host) == 0)
			return k->conns[i];
	return NULL;
}

struct kcl_conn *
kcl_conn(struct kcl *k, int32_t broker_id, struct err *e)
{
	struct kcl_conn *c = NULL;
	size_t i;

	if (broker_id >= 0) {
		const struct kcl_broker *b = kcl_broker(k, broker_id);

		for (i = 0; i < k->nconns; i++)
			if (k->conns[i]->broker_id == broker_id)
				c = k->conns[i];
		if (c == NULL && b != NULL) {
			c = conn_find_addr(k, &b->addr);
			if (c == NULL)
				c = conn_new(k, broker_id, &b->addr);
			if (c == NULL) {
				err_set(e, EXIT_OSERR, "out of memory");
				return NULL;
			}
			c->broker_id = broker_id;
		}
		if (c == NULL) {
			err_set(e, EXIT_UNAVAILABLE, "broker %" PRId32
			    " is not in the cluster metadata", broker_id);
			return NULL;
		}
		if (c->fd < 0 && conn_connect(c, e) < 0)
			return NULL;
		return c;
	}
	/* Any broker: one already connected, else the bootstrap list. */
	for (i = 0; i < k->nconns; i++)
		if (k->conns[i]->fd >= 0 && k->conns[i]->have_versions)
			return k->conns[i];
	for (i = 0; i < k->nboot; i++) {
		c = conn_find_addr(k, &k->boot[i]);
		if (c == NULL && (c = conn_new(k, -1, &k->boot[i])) == NULL) {
			err_set(e, EXIT_OSERR, "out of memory");
			return NULL;
		}
		if (c->fd >= 0 || conn_connect(c, e) == 0)
			return c;
	}
	for (i = 0; i < k->nbrokers; i++) {
		c = kcl_conn(k, k->brokers[i].id, e);
		if (c != NULL)
			return c;
	}
	if (k->nboot > 1)
		err_wrap(e, "no broker of '%s' is reachable", k->cfg.bootstrap);
	return NULL;
}

/* Metadata */

static int
topic_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kcl_topic *)a)->name,
	    ((const struct kcl_topic *)b)->name);
}

const struct kcl_topic *
kcl_topic(const struct kcl *k, const char *name)
{
	struct kcl_topic key;

	if (k->ntopics == 0)
		return NULL;
	key.name = (char *)(uintptr_t)name;
	return bsearch(&key, k->topics, k->ntopics, sizeof(key), topic_cmp);
}

size_t
kcl_topic_count(const struct kcl *k)
{
	return k->ntopics;
}

const struct kcl_topic *
kcl_topic_at(const struct kcl *k, size_t i)
{
	return i < k->ntopics ? &k->topics[i] : NULL;
}

const struct kcl_broker *
kcl_broker(const struct kcl *k, int32_t id)
{
	size_t i;

	for (i = 0; i < k->nbrokers; i++)
		if (k->brokers[i].id == id)
			return &k->brokers[i];
	return NULL;
}

int32_t
kcl_controller(const struct kcl *k)
{
	return k->controller;
}

const char *
kcl_cluster_id(const struct kcl *k)
{
	return k->cluster_id;
}

/* Insert or replace `t` in the sorted topic cache (takes ownership). */
static int
topic_store(struct kcl *k, struct kcl_topic *t)
{
	struct kcl_topic *old = (struct kcl_topic *)(uintptr_t)kcl_topic(k,
	    t->name), *grown;
	size_t i;

	if (old != NULL) {
		topic_release(old);
		*old = *t;
		return 0;
	}
	grown = realloc(k->topics, (k->ntopics + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	k->topics = grown;
	for (i = k->ntopics; i > 0 && strcmp(k->topics[i - 1].name,
	    t->name) > 0; i--)
		k->topics[i] = k->topics[i - 1];
	k->topics[i] = *t;
	k->ntopics++;
	return 0;
}

static int
parse_brokers(struct kcl *k, struct breader *r, int16_t v, struct err *e)
{
	int32_t n = proto_read_array_len(r, false, 10), i;
	struct kcl_broker *b;

	if (!br_ok(r))
		return err_set(e, EXIT_PROTOCOL, "malformed Metadata brokers");
	b = calloc((size_t)n + 1, sizeof(*b));
	if (b == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	for (i = 0; i < n; i++) {
		struct proto_str host;

		b[i].id = br_i32(r);
		host = proto_read_str(r, false);
		b[i].addr.port = (uint16_t)br_i32(r);
		if (v >= 1)
			(void)proto_read_str(r, true);	/* rack */
		if (!br_ok(r) || !proto_str_copy(host, b[i].addr.host,
		    sizeof(b[i].addr.host))) {
			free(b);
			return err_set(e, EXIT_PROTOCOL,
			    "malformed Metadata broker entry");
		}
	}
	free(k->brokers);
	k->brokers = b;
	k->nbrokers = (size_t)n;
	/* Adopt bootstrap connections that turn out to be known brokers. */
	for (i = 0; i < n; i++) {
		struct kcl_conn *c = conn_find_addr(k, &b[i].addr);

		if (c != NULL && c->broker_id < 0)
			c->broker_id = b[i].id;
	}
	return 0;
}

static int
parse_topic(struct kcl *k, struct breader *r, int16_t v, struct err *e)
{
	struct kcl_topic t;
	struct proto_str name;
	int32_t n, i;

	memset(&t, 0, sizeof(t));
	t.error = br_i16(r);
	name = proto_read_str(r, false);
	if (v >= 1)
		t.internal = proto_read_bool(r);
	n = proto_read_array_len(r, false, 26);
	if (!br_ok(r) || name.len < 0)
		return err_set(e, EXIT_PROTOCOL, "malformed Metadata topic");
	t.name = malloc((size_t)name.len + 1);
	t.parts = calloc((size_t)n + 1, sizeof(*t.parts));
	if (t.name == NULL || t.parts == NULL) {
		topic_release(&t);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	memcpy(t.name, name.p, (size_t)name.len);
	t.name[name.len] = '\0';
	for (i = 0; i < n; i++)
		t.parts[i].leader = -1;
	for (i = 0; i < n && br_ok(r); i++) {
		int16_t err = br_i16(r);
		int32_t id = br_i32(r), leader = br_i32(r), epoch = -1, m;

		if (v >= 7)
			epoch = br_i32(r);
		m = proto_read_array_len(r, false, 4);	/* replicas */
		br_skip(r, (size_t)m * 4);
		m = proto_read_array_len(r, false, 4);	/* isr */
		br_skip(r, (size_t)m * 4);
		if (v >= 5) {
			m = proto_read_array_len(r, false, 4);
			br_skip(r, (size_t)m * 4);
		}
		/* Partitions may come in any order: index by id. */
		if (id < 0 || id >= n) {
			br_fail(r, "partition id out of range");
			break;
		}
		t.parts[id].id = id;
		t.parts[id].error = err;
		t.parts[id].leader = leader;
		t.parts[id].leader_epoch = epoch;
	}
	if (!br_ok(r)) {
		topic_release(&t);
		return err_set(e, EXIT_PROTOCOL, "malformed Metadata partitions");
	}
	t.npartitions = n;
	if (topic_store(k, &t) < 0) {
		topic_release(&t);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	return 0;
}

static int
metadata_from(struct kcl *k, struct kcl_conn *c, const char *const *topics,
    size_t n, bool auto_create, struct err *e)
{
	int v = kcl_version(c, API_METADATA, 1, 6);
	struct buf resp = BUF_INIT, *b;
	struct breader r;
	struct proto_str cluster;
	int32_t ntopics, i;
	size_t j;
	int rc = -1;

	if (v < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "Metadata v1-6", c->name);
	b = kcl_request_begin(c, API_METADATA, (int16_t)v);
	if (n == 0) {
		buf_put_i32(b, -1);
	} else {
		buf_put_i32(b, (int32_t)n);
		for (j = 0; j < n; j++)
			proto_put_cstr(b, topics[j]);
	}
	if (v >= 4)
		proto_put_bool(b, auto_create);
	if (kcl_request_wait(c, &resp, e) < 0)
		goto out;
	br_init(&r, resp.data, resp.len);
	if (v >= 3)
		(void)br_i32(&r);		/* throttle */
	if (parse_brokers(k, &r, (int16_t)v, e) < 0)
		goto out;
	if (v >= 2) {
		cluster = proto_read_str(&r, true);
		free(k->cluster_id);
		k->cluster_id = NULL;
		if (cluster.len >= 0 && (k->cluster_id =
		    malloc((size_t)cluster.len + 1)) != NULL) {
			memcpy(k->cluster_id, cluster.p, (size_t)cluster.len);
			k->cluster_id[cluster.len] = '\0';
		}
	}
	k->controller = br_i32(&r);
	ntopics = proto_read_array_len(&r, false, 9);
	if (!br_ok(&r)) {
		err_set(e, EXIT_PROTOCOL, "broker %s: malformed Metadata",
		    c->name);
		goto out;
	}
	for (i = 0; i < ntopics; i++)
		if (parse_topic(k, &r, (int16_t)v, e) < 0)
			goto out;
	rc = 0;
out:
	buf_release(&resp);
	if (rc < 0 && e != NULL && e->code == EXIT_PROTOCOL)
		err_wrap(e, "broker %s", c->name);
	return rc;
}

int
kcl_metadata(struct kcl *k, const char *const *topics, size_t n,
    bool auto_create, struct err *e)
{
	struct kcl_conn *c;
	size_t attempt;

	/* A broker that fails mid-request is dropped; try the others. */
	for (attempt = 0; attempt <= k->nboot + k->nbrokers; attempt++) {
		c = kcl_conn(k, -1, e);
		if (c == NULL)
			return -1;
		if (metadata_from(k, c, topics, n, auto_create, e) == 0)
			return 0;
		if (e != NULL && e->code != EXIT_UNAVAILABLE &&
		    e->code != EXIT_TEMPFAIL)
			return -1;
	}
	return -1;
}
