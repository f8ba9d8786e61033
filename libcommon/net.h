/* SPDX-License-Identifier: MIT */
/*
 * Sockets: "host:port" parsing (IPv4, [IPv6] and names), listening and
 * connecting (non-blocking, close-on-exec), and formatting the address a
 * socket is bound to, so `--listen 127.0.0.1:0` can report its real port.
 */
#ifndef KLOG_NET_H
#define KLOG_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

#define NET_HOST_MAX 256
#define NET_ADDR_MAX (NET_HOST_MAX + 8)

struct net_addr {
	char host[NET_HOST_MAX];	/* without brackets */
	uint16_t port;
};

/*
 * Parse "host:port", "[v6]:port" or, when default_port > 0, a bare host.
 * Port 0 is allowed (listen on any free port). EXIT_USAGE on bad input.
 */
int net_addr_parse(const char *s, int default_port, struct net_addr *out,
    struct err *e);
/* Format as host:port (brackets around IPv6 literals) into dst. */
void net_addr_format(const struct net_addr *a, char *dst, size_t dst_size);

/* A non-blocking listening TCP socket; EXIT_OSERR when bind fails. */
int net_listen_tcp(const struct net_addr *a, int backlog, struct err *e);
/* A non-blocking listening Unix socket at path (an existing socket file is replaced). */
int net_listen_unix(const char *path, int backlog, struct err *e);

/*
 * Connect to a TCP address, waiting at most timeout_ms; returns a blocking
 * or non-blocking fd as asked. EXIT_NOHOST when the name does not
 * resolve, EXIT_UNAVAILABLE when refused or timed out.
 */
int net_connect_tcp(const struct net_addr *a, int timeout_ms, int nonblocking,
    struct err *e);
int net_connect_unix(const char *path, struct err *e);

/* The local address of a bound socket as host:port. */
int net_local_addr(int fd, char *dst, size_t dst_size, struct err *e);
/* The peer address of a connected socket as host:port ("?" if unknown). */
void net_peer_addr(int fd, char *dst, size_t dst_size);

int net_set_nonblocking(int fd, int on);
void net_set_nodelay(int fd);

/*
 * Send bytes [*sent, len) of `p` on the non-blocking socket `fd` until
 * all are out or the socket is full, retrying EINTR; *sent advances past
 * what went out. `flags` go to send(2): 0 behaves as write(2). Returns 0
 * (all sent when *sent == len, else the socket is full), or -1 with errno
 * set when a send failed or sent nothing.
 */
int net_send_some(int fd, const void *p, size_t len, size_t *sent,
    int flags);

/*
 * Append to `b` what one read(2) of up to `chunk` bytes (at least; all
 * the room `b` has) gets from `fd`, retrying EINTR. Returns the byte
 * count, 0 at end of file, or -1 with errno set: EAGAIN when a
 * non-blocking fd has nothing now, ENOMEM with b->failed set when `b`
 * could not grow.
 */
ssize_t net_read_buf(int fd, struct buf *b, size_t chunk);

#endif
