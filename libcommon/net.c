/* SPDX-License-Identifier: MIT */
/*
 * Sockets (see net.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "opt.h"
#include "banned.h"

int
net_addr_parse(const char *s, int default_port, struct net_addr *out,
    struct err *e)
{
	const char *host = s, *colon, *port_s = NULL;
	size_t host_len;
	uint64_t port;

	if (s == NULL || *s == '\0')
		return err_set(e, EXIT_USAGE, "empty address");
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return err_set(e, EXIT_USAGE,
			    "bad address '%s': missing ']'", s);
		host = s + 1;
		host_len = (size_t)(close - host);
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != '\0')
			return err_set(e, EXIT_USAGE,
			    "bad address '%s': expected ':' after ']'", s);
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return err_set(e, EXIT_USAGE,
			    "bad address '%s': write IPv6 as [addr]:port", s);
		host_len = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port_s = colon + 1;
	}
	if (host_len == 0 || host_len >= sizeof(out->host))
		return err_set(e, EXIT_USAGE, "bad address '%s': bad host", s);
	if (port_s == NULL) {
		if (default_port <= 0)
			return err_set(e, EXIT_USAGE,
			    "bad address '%s': expected host:port", s);
		port = (uint64_t)default_port;
	} else if (opt_parse_u64("port", port_s, 0, 65535, &port, e) < 0) {
		return err_set(e, EXIT_USAGE, "bad address '%s': bad port", s);
	}
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	out->port = (uint16_t)port;
	return 0;
}

void
net_addr_format(const struct net_addr *a, char *dst, size_t dst_size)
{
	if (strchr(a->host, ':') != NULL)
		snprintf(dst, dst_size, "[%s]:%u", a->host, a->port);
	else
		snprintf(dst, dst_size, "%s:%u", a->host, a->port);
}

static int
resolve(const struct net_addr *a, int passive, struct addrinfo **res,
    struct err *e)
{
	struct addrinfo hints;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(port, sizeof(port), "%u", a->port);
	rc = getaddrinfo(a->host, port, &hints, res);
	if (rc != 0)
		return err_set(e, EXIT_NOHOST, "unable to resolve '%s': %s",
		    a->host, gai_strerror(rc));
	return 0;
}

int
net_listen_tcp(const struct net_addr *a, int backlog, struct err *e)
{
	struct addrinfo *res, *ai;
	char addr[NET_ADDR_MAX];
	int fd = -1, one = 1;

	if (resolve(a, 1, &res, e) < 0)
		return -1;
	net_addr_format(a, addr, sizeof(addr));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		err_sys(e, EXIT_OSERR, "unable to listen on %s", addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && (e == NULL || e->code == 0))
		err_set(e, EXIT_OSERR, "unable to listen on %s", addr);
	return fd;
}

int
net_listen_unix(const char *path, int backlog, struct err *e)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, EXIT_OSERR, "socket path too long: '%s'", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, EXIT_OSERR, "unable to create socket");
	/* Replace a stale socket, but never a file that is not one. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, backlog) < 0) {
		err_sys(e, EXIT_OSERR, "unable to listen on '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
wait_connected(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int rc, soerr = 0;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rc < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int
net_connect_tcp(const struct net_addr *a, int timeout_ms, int nonblocking,
    struct err *e)
{
	struct addrinfo *res, *ai;
	char addr[NET_ADDR_MAX];
	int fd = -1;

	if (resolve(a, 0, &res, e) < 0)
		return -1;
	net_addr_format(a, addr, sizeof(addr));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_connected(fd, timeout_ms) == 0))
			break;
		err_sys(e, EXIT_UNAVAILABLE, "unable to connect to %s", addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (e != NULL && e->code == 0)
			err_set(e, EXIT_UNAVAILABLE, "unable to connect to %s",
			    addr);
		return -1;
	}
	net_set_nodelay(fd);
	if (!nonblocking)
		net_set_nonblocking(fd, 0);
	return fd;
}

int
net_connect_unix(const char *path, struct err *e)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, EXIT_USAGE, "socket path too long: '%s'", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, EXIT_OSERR, "unable to create socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err_sys(e, EXIT_UNAVAILABLE, "unable to connect to '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void
format_sockaddr(const struct sockaddr_storage *ss, char *dst, size_t dst_size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(dst, dst_size, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(dst, dst_size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(dst, dst_size, "local");
	}
}

int
net_local_addr(int fd, char *dst, size_t dst_size, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return err_sys(e, EXIT_OSERR, "getsockname");
	format_sockaddr(&ss, dst, dst_size);
	return 0;
}

void
net_peer_addr(int fd, char *dst, size_t dst_size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(dst, dst_size, "?");
		return;
	}
	format_sockaddr(&ss, dst, dst_size);
}

int
net_set_nonblocking(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

void
net_set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
net_send_some(int fd, const void *p, size_t len, size_t *sent, int flags)
{
	const uint8_t *bytes = p;

	while (*sent < len) {
		ssize_t n = send(fd, bytes + *sent, len - *sent, flags);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		*sent += (size_t)n;
	}
	return 0;
}

ssize_t
net_read_buf(int fd, struct buf *b, size_t chunk)
{
	ssize_t n;

	if (buf_reserve(b, chunk) < 0) {
		errno = ENOMEM;
		return -1;
	}
	do
		n = read(fd, b->data + b->len, b->cap - b->len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}
