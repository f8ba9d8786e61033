/* SPDX-License-Identifier: MIT */
/*
 * The SSH transport of ctrld's host commands (see ctrld_ssh.h): owns the
 * socket and libssh2 session of one host from connect to close, remote
 * commands and SFTP uploads; the host key and login are ctrld_ssh_auth.c's.
 * The session is non-blocking throughout: a call that says EAGAIN waits on
 * the socket in slices of at most WAIT_SLICE_MS, so deadlines and *stop are
 * seen. libssh2 keeps one half-sent packet at a time and refuses any other
 * (LIBSSH2_ERROR_BAD_USE) until the same call completes it, hence the
 * "sticky" step of ssh_exec and the `broken` flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "ctrld_ssh_int.h"
#include "util.h"
#include "banned.h"

enum {
	WAIT_SLICE_MS = 200,	/* longest poll: how late *stop may be seen */
	CLOSE_GRACE_MS = 1000,	/* to close what a timeout gave up on */
	LINE_MAX_BYTES = 64 * 1024,	/* longer lines arrive in pieces */
	READ_CHUNK = 32 * 1024,
	UPLOAD_BUF = 256 * 1024,
	UPLOAD_CHUNK = 64 * 1024	/* refill when this much is free */
};

int
ssh_global_init(struct err *e)
{
	int rc = libssh2_init(0);

	if (rc != 0)
		return err_set(e, EXIT_SOFTWARE, "libssh2_init failed (%d)",
		    rc);
	return 0;
}

void
ssh_global_exit(void)
{
	libssh2_exit();
}

const char *
ssh_conn_name(const struct ssh_conn *c)
{
	return c->name;
}

static int64_t
deadline_after(int64_t ms)
{
	return ms > 0 ? clock_mono_ms() + ms : INT64_MAX;
}

static const char *
fmt_ms(char *dst, size_t size, int64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(dst, size, "%llds", (long long)(ms / 1000));
	else
		snprintf(dst, size, "%lldms", (long long)ms);
	return dst;
}

const char *
ssh_session_error(struct ssh_conn *c)
{
	char *msg = NULL;

	/* libssh2 says just "transport read" when the peer hangs up. */
	if (libssh2_session_last_error(c->session, &msg, NULL, 0) ==
	    LIBSSH2_ERROR_SOCKET_DISCONNECT)
		return "connection closed by the server";
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

bool
ssh_is_link_error(int rc)
{
	static const int link[] = {
		LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_INVALID_MAC,
		LIBSSH2_ERROR_ALLOC, LIBSSH2_ERROR_SOCKET_SEND,
		LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_DECRYPT,
		LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_PROTO,
		LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_BAD_USE,
		LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_ENCRYPT,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(link); i++)
		if (rc == link[i])
			return true;
	return false;
}

static bool
outbound_pending(struct ssh_conn *c)
{
	return (libssh2_session_block_directions(c->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
}

static enum wait_result
wait_check(int64_t deadline, volatile sig_atomic_t *stop)
{
	if (stop != NULL && *stop)
		return WAIT_STOPPED;
	return clock_mono_ms() < deadline ? WAIT_READY : WAIT_TIMEOUT;
}

enum wait_result
ssh_wait(struct ssh_conn *c, int64_t deadline, volatile sig_atomic_t *stop)
{
	int dir = libssh2_session_block_directions(c->session);
	int64_t left = deadline - clock_mono_ms();
	struct pollfd p = { .fd = c->fd, .events = 0 };
	enum wait_result w = wait_check(deadline, stop);

	if (w != WAIT_READY)
		return w;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	/*
	 * Errors (EINTR: perhaps the signal that set *stop) just end the
	 * slice: the caller's retry or the next check decides.
	 */
	(void)poll(&p, 1, left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS);
	return WAIT_READY;
}

int
ssh_wait_failed(struct err *e, int code, enum wait_result w,
    int64_t timeout_ms, const char *fmt, ...)
{
	char what[sizeof(e->msg)], d[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (w == WAIT_STOPPED)
		return err_set(e, code, "%s interrupted", what);
	return err_set(e, code, "%s timed out after %s", what,
	    fmt_ms(d, sizeof(d), timeout_ms));
}

/*
 * TCP
 */

/* One address, connected before the deadline; -1 with errno (ETIMEDOUT). */
static int
tcp_try(const struct addrinfo *ai, int64_t deadline)
{
	struct pollfd p;
	socklen_t len = sizeof(int);
	int fd, rc, soerr = 0, saved;
	int64_t left;

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	p.fd = fd;
	p.events = POLLOUT;
	for (;;) {
		left = deadline - clock_mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr == 0)
		return fd;
	errno = soerr;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
tcp_connect(struct ssh_conn *c, const struct ssh_opts *o, int64_t deadline,
    struct err *e)
{
	struct addrinfo hints, *res, *ai;
	char port[16], via[300] = "", d[32];
	int rc, last = ECONNREFUSED, one = 1;

	if (strcmp(o->hostname, o->host) != 0)
		snprintf(via, sizeof(via), " (%s)", o->hostname);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", o->port);
	rc = getaddrinfo(o->hostname, port, &hints, &res);
	if (rc != 0)
		return err_set(e, EXIT_UNAVAILABLE,
		    "connect to %s%s: cannot resolve '%s': %s", c->hostport,
		    via, o->hostname,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
		c->fd = tcp_try(ai, deadline);
		if (c->fd < 0)
			last = errno;
	}
	freeaddrinfo(res);
	if (c->fd >= 0) {
		/* Commands are small request/answer exchanges: no Nagle. */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		return 0;
	}
	if (last == ETIMEDOUT)
		return err_set(e, EXIT_UNAVAILABLE,
		    "connect to %s%s: timed out after %s", c->hostport, via,
		    fmt_ms(d, sizeof(d), o->connect_timeout_ms));
	return err_set(e, EXIT_UNAVAILABLE, "connect to %s%s: %s", c->hostport,
	    via, strerror(last));
}

/*
 * Handshake and host key: known_hosts is read first, since it decides
 * which host key algorithm to ask for.
 */
static int
session_start(struct ssh_conn *c, const struct ssh_opts *o, int64_t deadline,
    char *notice, size_t notice_size, struct err *e)
{
	struct ssh_known k = { NULL, "", "" };
	enum wait_result w;
	int rc = -1;

	c->session = libssh2_session_init();
	if (c->session == NULL)
		return err_set(e, EXIT_OSERR, "%s: out of memory", c->hostport);
	libssh2_session_set_blocking(c->session, 0);
	if (ssh_known_load(c, o, &k, e) < 0)
		goto out;
	while ((rc = libssh2_session_handshake(c->session, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN) {
		if ((w = ssh_wait(c, deadline, NULL)) != WAIT_READY) {
			rc = ssh_wait_failed(e, EXIT_UNAVAILABLE, w,
			    o->connect_timeout_ms, "%s: ssh handshake",
			    c->hostport);
			goto out;
		}
	}
	if (rc != 0) {
		rc = err_set(e, EXIT_UNAVAILABLE, "%s: ssh handshake failed: "
		    "%s", c->hostport, ssh_session_error(c));
		goto out;
	}
	c->handshaken = true;
	rc = ssh_hostkey_check(c, o, &k, notice, notice_size, e);
out:
	ssh_known_release(&k);
	return rc;
}

int
ssh_connect(const struct ssh_opts *o, struct ssh_conn **out, char *notice,
    size_t notice_size, struct err *e)
{
	int64_t deadline = deadline_after(o->connect_timeout_ms);
	struct ssh_conn *c;

	*out = NULL;
	if (notice != NULL && notice_size > 0)
		notice[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(e, EXIT_OSERR, "%s: out of memory", o->host);
	c->fd = -1;
	snprintf(c->hostport, sizeof(c->hostport), "%s:%d", o->host, o->port);
	snprintf(c->name, sizeof(c->name), "%s@%s:%d", o->user, o->host,
	    o->port);
	if (tcp_connect(c, o, deadline, e) < 0 ||
	    session_start(c, o, deadline, notice, notice_size, e) < 0 ||
	    ssh_authenticate(c, o, deadline, e) < 0) {
		ssh_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->session != NULL) {
		/*
		 * Say goodbye (bounded), then cut the socket so that freeing
		 * the channels and SFTP does not wait for the peer.
		 */
		libssh2_session_set_blocking(c->session, 1);
		libssh2_session_set_timeout(c->session, CLOSE_GRACE_MS);
		if (c->handshaken && !c->broken)
			(void)libssh2_session_disconnect(c->session, "bye");
		if (c->fd >= 0)
			(void)shutdown(c->fd, SHUT_RDWR);
		if (c->sftp != NULL)
			(void)libssh2_sftp_shutdown(c->sftp);
		(void)libssh2_session_free(c->session);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/*
 * Commands
 */

enum exec_step { STEP_NONE, STEP_WRITE, STEP_READ_OUT, STEP_READ_ERR };

struct exec {
	struct ssh_conn *c;
	LIBSSH2_CHANNEL *ch;
	const char *in;
	size_t inlen, inoff;
	bool input_done;	/* all of `in` and EOF sent, or given up */
	bool eof[3];		/* by enum ssh_stream */
	struct buf line[3];	/* the partial line of each stream */
	ssh_line_fn fn;
	void *arg;
	enum exec_step sticky;	/* repeat first: left a packet half-sent */
};

/*
 * Hand one line to fn, NUL-terminated in place (the byte after it is
 * ours: the newline, the next line's first byte, or the room that
 * lines_deliver reserves).
 */
static void
line_emit(struct exec *x, enum ssh_stream s, uint8_t *p, size_t len)
{
	uint8_t saved = p[len];

	p[len] = '\0';
	if (x->fn != NULL)
		x->fn(x->arg, s, (const char *)p, len);
	p[len] = saved;
}

/* Deliver the complete lines of a stream; with `flush` the rest too. */
static void
lines_deliver(struct exec *x, enum ssh_stream s, bool flush)
{
	struct buf *b = &x->line[s];
	size_t off = 0;
	uint8_t *nl;

	if (b->len == 0 || buf_reserve(b, 1) < 0)
		return;
	while ((nl = memchr(b->data + off, '\n', b->len - off)) != NULL) {
		line_emit(x, s, b->data + off, (size_t)(nl - b->data) - off);
		off = (size_t)(nl - b->data) + 1;
	}
	for (; b->len - off >= LINE_MAX_BYTES; off += LINE_MAX_BYTES)
		line_emit(x, s, b->data + off, LINE_MAX_BYTES);
	if (flush && off < b->len) {
		line_emit(x, s, b->data + off, b->len - off);
		off = b->len;
	}
	buf_compact(b, &off, 0);
}

static int
exec_lost(struct exec *x, struct err *e)
{
	return err_set(e, EXIT_UNAVAILABLE, "%s: connection lost while "
	    "running a command: %s", x->c->hostport, ssh_session_error(x->c));
}

/* The steps: 1 progress, 0 would block, -1 error. */
static int
exec_write(struct exec *x, struct err *e)
{
	ssize_t n;
	int rc;

	if (x->inoff < x->inlen) {
		n = libssh2_channel_write(x->ch, x->in + x->inoff,
		    x->inlen - x->inoff);
		/* 0: the remote window is shut, as good as EAGAIN */
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
			return 0;
		if (n > 0) {
			x->inoff += (size_t)n;
			return 1;
		}
		if (ssh_is_link_error((int)n))
			return exec_lost(x, e);
		/*
		 * The command closed its end without reading it all; its
		 * output and status still count.
		 */
		x->input_done = true;
		return 1;
	}
	rc = libssh2_channel_send_eof(x->ch);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return 0;
	if (rc < 0 && ssh_is_link_error(rc))
		return exec_lost(x, e);
	x->input_done = true;
	return 1;
}

static int
exec_read(struct exec *x, enum ssh_stream s, struct err *e)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	n = libssh2_channel_read_ex(x->ch, s == SSH_STDERR ?
	    SSH_EXTENDED_DATA_STDERR : 0, chunk, sizeof(chunk));
	if (n == LIBSSH2_ERROR_EAGAIN)
		return 0;
	if (n < 0)
		return exec_lost(x, e);
	if (n == 0) {
		x->eof[s] = true;
		lines_deliver(x, s, true);
		return 1;
	}
	buf_put(&x->line[s], chunk, (size_t)n);
	lines_deliver(x, s, false);
	if (x->line[s].failed)
		return err_set(e, EXIT_OSERR, "%s: out of memory reading "
		    "command output", x->c->hostport);
	return 1;
}

static int
exec_step(struct exec *x, enum exec_step step, struct err *e)
{
	switch (step) {
	case STEP_WRITE:
		return x->input_done ? 0 : exec_write(x, e);
	case STEP_READ_OUT:
		return x->eof[SSH_STDOUT] ? 0 : exec_read(x, SSH_STDOUT, e);
	case STEP_READ_ERR:
		return x->eof[SSH_STDERR] ? 0 : exec_read(x, SSH_STDERR, e);
	default:
		return 0;
	}
}

/*
 * One round: every step once, or only the sticky one. Returns 1 when
 * something moved (or data waits in libssh2's queue), 0 when the socket
 * must be waited for, -1 on error.
 */
static int
exec_round(struct exec *x, struct err *e)
{
	enum exec_step step;
	int rc, progress = 0;

	if (x->sticky != STEP_NONE) {
		rc = exec_step(x, x->sticky, e);
		if (rc != 0 || !outbound_pending(x->c))
			x->sticky = STEP_NONE;
		return rc;
	}
	for (step = STEP_WRITE; step <= STEP_READ_ERR; step++) {
		rc = exec_step(x, step, e);
		if (rc < 0)
			return -1;
		progress |= rc;
		if (rc == 0 && outbound_pending(x->c)) {
			x->sticky = step;
			return progress;
		}
	}
	/*
	 * Reading stderr may have queued stdout data or the EOF: a poll
	 * would not see what libssh2 already took off the socket.
	 */
	if (libssh2_poll_channel_read(x->ch, 1) || libssh2_channel_eof(x->ch))
		return 1;
	return progress;
}

/* Open the channel and start the command. */
static int
exec_start(struct exec *x, const char *cmd, int64_t deadline,
    volatile sig_atomic_t *stop, enum wait_result *w, struct err *e)
{
	struct ssh_conn *c = x->c;
	int rc;

	while ((x->ch = libssh2_channel_open_session(c->session)) == NULL) {
		if (libssh2_session_last_errno(c->session) !=
		    LIBSSH2_ERROR_EAGAIN)
			return err_set(e, EXIT_UNAVAILABLE, "%s: cannot open a "
			    "session channel: %s", c->hostport,
			    ssh_session_error(c));
		/* libssh2 would resume this open in the next one. */
		if ((*w = ssh_wait(c, deadline, stop)) != WAIT_READY) {
			c->broken = true;
			return -1;
		}
	}
	while ((rc = libssh2_channel_exec(x->ch, cmd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if ((*w = ssh_wait(c, deadline, stop)) != WAIT_READY)
			return -1;
	if (rc != 0)
		return err_set(e, EXIT_UNAVAILABLE, "%s: cannot start the "
		    "command: %s", c->hostport, ssh_session_error(c));
	return 0;
}

/* After EOF: wait for the close, then the exit status (or signal). */
static int
exec_status(struct exec *x, int64_t deadline, volatile sig_atomic_t *stop,
    enum wait_result *w, struct err *e)
{
	static const struct { const char *name; int num; } sigs[] = {
		{ "HUP", 1 }, { "INT", 2 }, { "QUIT", 3 }, { "ILL", 4 },
		{ "TRAP", 5 }, { "ABRT", 6 }, { "BUS", 7 }, { "FPE", 8 },
		{ "KILL", 9 }, { "USR1", 10 }, { "SEGV", 11 }, { "USR2", 12 },
		{ "PIPE", 13 }, { "ALRM", 14 }, { "TERM", 15 },
	};
	struct ssh_conn *c = x->c;
	char *sig = NULL;
	size_t i;
	int rc, status = 128 + 1;

	/* Our close waits for the peer's, which follows the exit status. */
	while ((rc = libssh2_channel_close(x->ch)) == LIBSSH2_ERROR_EAGAIN)
		if ((*w = ssh_wait(c, deadline, stop)) != WAIT_READY)
			return -1;
	if (rc != 0 && ssh_is_link_error(rc))
		return exec_lost(x, e);
	if (libssh2_channel_get_exit_signal(x->ch, &sig, NULL, NULL, NULL,
	    NULL, NULL) != 0 || sig == NULL)
		return libssh2_channel_get_exit_status(x->ch) & 0xff;
	/* Linux numbers; the name comes without "SIG" from OpenSSH. */
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		if (strcmp(sig + (strncmp(sig, "SIG", 3) == 0 ? 3 : 0),
		    sigs[i].name) == 0)
			status = 128 + sigs[i].num;
	libssh2_free(c->session, sig);
	return status;
}

/*
 * Free the channel. One given up on gets our EOF and CLOSE (sent within
 * CLOSE_GRACE_MS) but is not waited for: sshd answers only when the
 * command ends, and libssh2_session_free reaps it.
 */
static void
channel_drop(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	int64_t grace = deadline_after(CLOSE_GRACE_MS);

	/* A half-sent packet blocks every other one: the session is lost. */
	if (outbound_pending(c)) {
		c->broken = true;
		return;
	}
	while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN) {
		if (!outbound_pending(c))
			return;
		if (ssh_wait(c, grace, NULL) != WAIT_READY) {
			c->broken = true;
			return;
		}
	}
}

/* Whether an earlier timeout left the session unusable (EXIT_UNAVAILABLE). */
static int
conn_check(struct ssh_conn *c, struct err *e)
{
	if (c->broken)
		return err_set(e, EXIT_UNAVAILABLE, "%s: connection unusable "
		    "after an interrupted transfer", c->hostport);
	return 0;
}

int
ssh_exec(struct ssh_conn *c, const char *cmd, const void *in, size_t inlen,
    ssh_line_fn fn, void *arg, int64_t timeout_ms,
    volatile sig_atomic_t *stop, struct err *e)
{
	int64_t deadline = deadline_after(timeout_ms);
	enum wait_result w = WAIT_READY;
	struct exec x;
	int rc, i;

	if (conn_check(c, e) < 0)
		return -1;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.in = in;
	x.inlen = in != NULL ? inlen : 0;
	x.fn = fn;
	x.arg = arg;
	for (i = 0; i < 3; i++)
		buf_init(&x.line[i]);
	w = wait_check(deadline, stop);
	rc = w == WAIT_READY ? exec_start(&x, cmd, deadline, stop, &w, e) : -1;
	while (rc == 0 && (!x.eof[SSH_STDOUT] || !x.eof[SSH_STDERR] ||
	    x.sticky != STEP_NONE)) {
		/* Checked each round too: output may never pause. */
		if ((w = wait_check(deadline, stop)) != WAIT_READY)
			rc = -1;
		else if ((rc = exec_round(&x, e)) == 0 &&
		    (w = ssh_wait(c, deadline, stop)) != WAIT_READY)
			rc = -1;
		else if (rc > 0)
			rc = 0;
	}
	if (rc == 0)
		rc = exec_status(&x, deadline, stop, &w, e);
	if (w != WAIT_READY)
		rc = ssh_wait_failed(e, EXIT_TEMPFAIL, w, timeout_ms,
		    "command on %s", c->hostport);
	if (x.ch != NULL)
		channel_drop(c, x.ch);
	for (i = 0; i < 3; i++)
		buf_release(&x.line[i]);
	return rc;
}

/*
 * SFTP
 */

/* "host:port: writing <remote>: <why>", the why from the SFTP status. */
static int
sftp_failed(struct ssh_conn *c, const char *remote, bool writing,
    struct err *e)
{
	unsigned long st;
	const char *why;
	int code = EXIT_IOERR;
	char num[48];

	if (libssh2_session_last_errno(c->session) !=
	    LIBSSH2_ERROR_SFTP_PROTOCOL)
		return err_set(e, EXIT_UNAVAILABLE, "%s: writing %s: %s",
		    c->hostport, remote, ssh_session_error(c));
	st = libssh2_sftp_last_error(c->sftp);
	switch (st) {
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		why = "no space left on device";
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
		code = EXIT_NOPERM;
		why = "permission denied";
		break;
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		code = EXIT_CANTCREAT;
		why = "no such directory";
		break;
	case LIBSSH2_FX_WRITE_PROTECT:
		why = "read-only file system";
		break;
	case LIBSSH2_FX_FAILURE:
		/* SFTP v3 has no ENOSPC: sftp-server says "failure". */
		why = writing ? "write failed (disk full?)" :
		    "cannot create (sftp status 4: failure)";
		break;
	default:
		snprintf(num, sizeof(num), "sftp status %lu", st);
		why = num;
		break;
	}
	return err_set(e, code, "%s: writing %s: %s", c->hostport, remote,
	    why);
}

/*
 * libssh2_sftp_init failed. A server without "Subsystem sftp" refuses the
 * request, which libssh2 words only as this CHANNEL_FAILURE text.
 */
static int
sftp_start_failed(struct ssh_conn *c, struct err *e)
{
	char *msg = NULL;

	if (libssh2_session_last_error(c->session, &msg, NULL, 0) ==
	    LIBSSH2_ERROR_CHANNEL_FAILURE && msg != NULL &&
	    strcmp(msg, "Unable to request SFTP subsystem") == 0)
		return err_set(e, EXIT_UNAVAILABLE, "%s: the SSH server offers "
		    "no SFTP subsystem (sshd_config: Subsystem sftp ...); "
		    "deploy needs it", c->hostport);
	return err_set(e, EXIT_UNAVAILABLE, "%s: cannot start sftp: %s",
	    c->hostport, ssh_session_error(c));
}

/*
 * After an EAGAIN while opening: 0 to try again, -1 when the deadline is
 * up (*w says why). libssh2 would resume the request in the next call of
 * its kind, so the session is given up.
 */
static int
sftp_wait(struct ssh_conn *c, int64_t deadline, enum wait_result *w)
{
	*w = ssh_wait(c, deadline, NULL);
	if (*w == WAIT_READY)
		return 0;
	c->broken = true;
	return -1;
}

/* SFTP start, file open (and mode, which an existing file keeps). */
static int
sftp_open(struct ssh_conn *c, const char *remote, int mode, int64_t deadline,
    LIBSSH2_SFTP_HANDLE **out, enum wait_result *w, struct err *e)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int rc;

	while (c->sftp == NULL &&
	    (c->sftp = libssh2_sftp_init(c->session)) == NULL) {
		if (libssh2_session_last_errno(c->session) !=
		    LIBSSH2_ERROR_EAGAIN)
			return sftp_start_failed(c, e);
		if (sftp_wait(c, deadline, w) < 0)
			return -1;
	}
	while ((*out = libssh2_sftp_open(c->sftp, remote, LIBSSH2_FXF_WRITE |
	    LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, mode)) == NULL) {
		if (libssh2_session_last_errno(c->session) !=
		    LIBSSH2_ERROR_EAGAIN)
			return sftp_failed(c, remote, false, e);
		if (sftp_wait(c, deadline, w) < 0)
			return -1;
	}
	memset(&attrs, 0, sizeof(attrs));
	attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	attrs.permissions = (unsigned long)mode & 07777;
	while ((rc = libssh2_sftp_fsetstat(*out, &attrs)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (sftp_wait(c, deadline, w) < 0)
			return -1;
	return rc == 0 ? 0 : sftp_failed(c, remote, false, e);
}

/*
 * Copy fd to the handle. The buffer is topped up as libssh2 acknowledges
 * data: it takes each call's bytes past those it already sent, so a fuller
 * buffer keeps more write requests in flight.
 */
static int
upload_copy(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *h, int fd,
    const char *local, const char *remote, char *buf, int64_t deadline,
    enum wait_result *w, struct err *e)
{
	size_t off = 0, len = 0;
	bool at_eof = false;
	ssize_t n;

	for (;;) {
		if (!at_eof && UPLOAD_BUF - (len - off) >= UPLOAD_CHUNK) {
			memmove(buf, buf + off, len - off);
			len -= off;
			off = 0;
			n = read(fd, buf + len, UPLOAD_BUF - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_sys(e, EXIT_IOERR, "reading '%s'",
				    local);
			at_eof = n == 0;
			len += (size_t)n;
		}
		if (off == len && at_eof)
			return 0;
		if ((*w = wait_check(deadline, NULL)) != WAIT_READY)
			return -1;
		n = libssh2_sftp_write(h, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return sftp_failed(c, remote, true, e);
		if ((*w = ssh_wait(c, deadline, NULL)) != WAIT_READY)
			return -1;
	}
}

/* Close the handle, bounded by `deadline`; the handle is freed. */
static int
upload_close(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *remote,
    int64_t deadline, enum wait_result *w, struct err *e)
{
	int rc;

	while ((rc = libssh2_sftp_close_handle(h)) == LIBSSH2_ERROR_EAGAIN)
		if ((*w = ssh_wait(c, deadline, NULL)) != WAIT_READY)
			return -1;
	return rc == 0 ? 0 : sftp_failed(c, remote, true, e);
}

/* Close a handle given up on, waiting at most CLOSE_GRACE_MS. */
static void
upload_drop(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *h)
{
	int64_t grace = deadline_after(CLOSE_GRACE_MS);

	/* Broken: one try, which frees the handle unless it would block. */
	while (libssh2_sftp_close_handle(h) == LIBSSH2_ERROR_EAGAIN)
		if (c->broken || ssh_wait(c, grace, NULL) != WAIT_READY) {
			c->broken = true;
			return;
		}
}

int
ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
    int mode, int64_t timeout_ms, struct err *e)
{
	int64_t deadline = deadline_after(timeout_ms);
	enum wait_result w = WAIT_READY;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	char *buf = NULL;
	int fd, rc = -1;

	if (conn_check(c, e) < 0)
		return -1;
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "reading '%s'", local);
	buf = malloc(UPLOAD_BUF);
	if (buf == NULL) {
		err_set(e, EXIT_OSERR, "out of memory uploading '%s'", local);
		goto out;
	}
	if (sftp_open(c, remote, mode, deadline, &h, &w, e) < 0 ||
	    upload_copy(c, h, fd, local, remote, buf, deadline, &w, e) < 0)
		goto out;
	rc = upload_close(c, h, remote, deadline, &w, e);
	if (rc == 0 || w == WAIT_READY)
		h = NULL;
out:
	if (w != WAIT_READY) {
		rc = ssh_wait_failed(e, EXIT_TEMPFAIL, w, timeout_ms,
		    "%s: writing %s:", c->hostport, remote);
		/* A half-sent packet blocks every other one. */
		if (outbound_pending(c))
			c->broken = true;
	}
	if (h != NULL)
		upload_drop(c, h);
	free(buf);
	close(fd);
	return rc;
}

void
ssh_shell_quote(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_put_str(b, "'\\''");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}
