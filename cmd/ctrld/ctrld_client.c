/* SPDX-License-Identifier: MIT */
/*
 * The client side of `ctrld status` and `ctrld apply`: where the
 * controller is (-c, else the manifest) and one blocking request over a
 * fresh TCP connection, bounded by a deadline (poll before every read and
 * write). An operator's tool: no pipelining, no retries.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrld.h"
#include "util.h"
#include "banned.h"

#define CORRELATION_ID 1
#define MAX_RESPONSE (256 << 20)

int
ctrld_client_target(const struct ctrld_opts *o, struct manifest **m,
    char *addr, size_t addr_size, struct err *e)
{
	*m = NULL;
	if (o->manifest_path != NULL &&
	    manifest_load(o->manifest_path, m, e) < 0)
		return -1;
	if (o->controller != NULL)
		snprintf(addr, addr_size, "%s", o->controller);
	else if (*m != NULL)
		snprintf(addr, addr_size, "%s:%d", (*m)->controller.host,
		    (*m)->controller.port);
	else
		return err_set(e, EXIT_USAGE, "give the manifest (-m) or the "
		    "controller address (-c)");
	return 0;
}

/* Wait until fd is ready for `events` before `deadline`; 0 or -1. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	int64_t left;
	int n;

	do {
		left = deadline - clock_mono_ms();
		if (left <= 0)
			return -1;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static int
send_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
		n = write(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes; 0, -1 on error/timeout, -2 on end of file. */
static int
recv_all(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
		n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0)
			return -2;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
exchange(int fd, const char *addr, const struct buf *req, int64_t deadline,
    struct buf *resp, struct err *e)
{
	uint8_t head[8];
	uint32_t size;
	int rc;

	if (send_all(fd, req->data, req->len, deadline) < 0)
		return err_set(e, EXIT_UNAVAILABLE, "controller %s: request "
		    "not sent (timeout or connection lost)", addr);
	rc = recv_all(fd, head, sizeof(head), deadline);
	if (rc == -2)
		return err_set(e, EXIT_PROTOCOL, "controller %s closed the "
		    "connection without answering", addr);
	if (rc < 0)
		return err_set(e, EXIT_UNAVAILABLE, "controller %s: no answer "
		    "in time", addr);
	size = be32_load(head);
	if (size < 4 || size > MAX_RESPONSE ||
	    (int32_t)be32_load(head + 4) != CORRELATION_ID)
		return err_set(e, EXIT_PROTOCOL, "controller %s: malformed "
		    "response frame", addr);
	buf_clear(resp);
	if (size > 4 && buf_extend(resp, size - 4) == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (recv_all(fd, resp->data, size - 4, deadline) < 0)
		return err_set(e, EXIT_UNAVAILABLE, "controller %s: response "
		    "cut short", addr);
	return 0;
}

int
ctrld_call(const char *addr, int16_t api_key, const struct buf *body,
    int64_t timeout_ms, struct buf *resp, struct err *e)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct buf req = BUF_INIT;
	struct net_addr a;
	size_t start;
	int fd, rc;

	if (net_addr_parse(addr, 0, &a, e) < 0)
		return -1;
	fd = net_connect_tcp(&a, (int)timeout_ms, 1, e);
	if (fd < 0) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, EXIT_UNAVAILABLE, "controller unreachable: "
		    "%s", why);
	}
	start = proto_frame_begin_request(&req, api_key, CTLPROTO_VERSION,
	    CORRELATION_ID, "ctrld");
	if (body->len > 0)
		buf_put(&req, body->data, body->len);
	proto_frame_end(&req, start);
	rc = exchange(fd, addr, &req, deadline, resp, e);
	buf_release(&req);
	close(fd);
	return rc;
}
