/* SPDX-License-Identifier: MIT */
/*
 * The daemon: one thread and one poll loop. Each round first lets every
 * party start what it can (the local logd's long poll, connects to
 * leaders, OffsetForLeaderEpoch and Fetch requests), then waits for I/O
 * or the next retry time, then runs the answers. One thread keeps each
 * partition's state in one place with no locks: a partition is in at
 * most one request at a time and changes only between requests. Leaders'
 * I/O runs before the local logd's, whose answers may replace the leader
 * table the round's poll set points into.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "replicad.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

#define WAKE_MAX_MS 1000

/* Whether some partition waits on `l` (a connection is worth having). */
static bool
leader_has_work(const struct replicad *rd, const struct rd_leader *l)
{
	size_t i;

	for (i = 0; i < rd->nparts; i++)
		if (rd->parts[i]->leader == l->id && !rd->parts[i]->stale)
			return true;
	return false;
}

static void
leader_tick(struct replicad *rd, struct rd_leader *l, int64_t now)
{
	struct err e = { 0 };

	if (rconn_take_failure(&l->conn, &e))
		rd_leader_fail(l, &e, now);
	if (!rconn_is_open(&l->conn)) {
		if (rd_backoff_waiting(&l->backoff, now) ||
		    !leader_has_work(rd, l))
			return;
		log_debug("connecting to %s", l->conn.name);
		if (rconn_open_tcp(&l->conn, l->host, l->port, rd->source_addr,
		    &e) < 0)
			rd_leader_fail(l, &e, now);
		return;
	}
	if (!rconn_is_ready(&l->conn))
		return;
	rd_epoch_send(rd, l, now);
	rd_fetch_send(rd, l, now);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * A back-off's retry time, when it is still ahead. One already due has
 * been acted on by this round's ticks, or waits for something else (a
 * leader with nothing to follow, a partition waiting for a new state):
 * waking for it again would spin.
 */
static int64_t
retry_ahead(const struct rd_backoff *b, int64_t now, int64_t t)
{
	if (b->ms > 0 && b->retry_at > now)
		return min64(t, b->retry_at);
	return t;
}

/* Milliseconds until the next timer (back-off or request deadline). */
static int
next_wake(const struct replicad *rd, int64_t now)
{
	int64_t t = now + WAKE_MAX_MS;
	size_t i;

	t = retry_ahead(&rd->local_backoff, now, t);
	t = min64(t, rconn_deadline(&rd->state_conn));
	for (i = 0; i < rd->nleaders; i++) {
		const struct rd_leader *l = rd->leaders[i];

		if (!rconn_is_open(&l->conn))
			t = retry_ahead(&l->backoff, now, t);
		t = min64(t, rconn_deadline(&l->conn));
	}
	for (i = 0; i < rd->nparts; i++)
		t = retry_ahead(&rd->parts[i]->backoff, now, t);
	return t <= now ? 0 : (int)(t - now);
}

/* One round; -1 when poll itself fails. */
static int
loop_once(struct replicad *rd)
{
	struct pollfd *pfd;
	int64_t now = clock_mono_ms();
	size_t i, n = 0, nl;
	int rc;

	rd_local_tick(rd, now);
	for (i = 0; i < rd->nleaders; i++)
		leader_tick(rd, rd->leaders[i], now);
	nl = rd->nleaders;
	pfd = xcalloc(nl + 2, sizeof(*pfd));
	for (i = 0; i < nl; i++) {
		pfd[n].fd = rd->leaders[i]->conn.fd;
		pfd[n++].events = rconn_events(&rd->leaders[i]->conn);
	}
	pfd[n].fd = rd->state_conn.fd;
	pfd[n++].events = rconn_events(&rd->state_conn);
	pfd[n].fd = rd->ctl_fd;
	pfd[n++].events = POLLIN;
	rc = poll(pfd, n, sig_stop ? 0 : next_wake(rd, now));
	if (rc < 0 && errno != EINTR) {
		log_error("poll");
		free(pfd);
		return -1;
	}
	for (i = 0; rc > 0 && i < nl; i++)
		rconn_io(&rd->leaders[i]->conn, pfd[i].revents);
	if (rc > 0)
		rconn_io(&rd->state_conn, pfd[nl].revents);
	if (rc > 0 && pfd[nl + 1].revents != 0)
		rd_ctl_accept(rd);
	free(pfd);
	now = clock_mono_ms();
	for (i = 0; i < rd->nleaders; i++)
		rconn_expire(&rd->leaders[i]->conn, now);
	rconn_expire(&rd->state_conn, now);
	return 0;
}

static int
set_paths(struct replicad *rd, const char *data_dir, struct err *e)
{
	struct stat st;

	if ((size_t)snprintf(rd->data_dir, sizeof(rd->data_dir), "%s",
	    data_dir) >= sizeof(rd->data_dir) ||
	    (size_t)snprintf(rd->sock_path, sizeof(rd->sock_path), "%s/%s",
	    data_dir, RD_REPLICA_SOCKET) >= sizeof(rd->sock_path) ||
	    (size_t)snprintf(rd->ctl_path, sizeof(rd->ctl_path), "%s/%s",
	    data_dir, RD_CTL_SOCKET) >= sizeof(rd->ctl_path))
		return err_set(e, EXIT_CONFIG, "data directory path too long: "
		    "'%s'", data_dir);
	if (stat(data_dir, &st) < 0)
		return err_sys(e, EXIT_NOINPUT, "data directory '%s'", data_dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EXIT_NOINPUT, "data directory '%s' is not a "
		    "directory", data_dir);
	return 0;
}

static void
rd_init(struct replicad *rd, const struct rd_opts *o, const char *source)
{
	memset(rd, 0, sizeof(*rd));
	rd->opts = o;
	rd->source_addr = source;
	rd->broker_id = -1;
	rd->version = -1;
	rd->ctl_fd = -1;
	rd->stop = &sig_stop;
	rconn_init(&rd->state_conn, "");
	rconn_init(&rd->apply_conn, "");
	buf_init(&rd->req);
	buf_init(&rd->resp);
}

static void
rd_release(struct replicad *rd)
{
	size_t i;

	for (i = 0; i < rd->nleaders; i++)
		rd_leader_free(rd->leaders[i]);
	free(rd->leaders);
	for (i = 0; i < rd->nparts; i++)
		free(rd->parts[i]);
	free(rd->parts);
	rconn_release(&rd->state_conn);
	rconn_release(&rd->apply_conn);
	rd_ctl_close(rd);
	buf_release(&rd->req);
	buf_release(&rd->resp);
}

/* "local logd ('<path>')" in messages, or without the path if too long. */
static void
local_names(struct replicad *rd)
{
	char name[RD_NAME_MAX];

	if ((size_t)snprintf(name, sizeof(name), "local logd ('%s')",
	    rd->sock_path) >= sizeof(name))
		snprintf(name, sizeof(name), "local logd");
	rconn_set_name(&rd->state_conn, name);
	rconn_set_name(&rd->apply_conn, name);
}

static void
signal_ready(int fd)
{
	if (fd < 0)
		return;
	(void)!write(fd, "\n", 1);
	close(fd);
}

int
rd_run(const struct rd_opts *o, const char *data_dir, const char *source)
{
	struct replicad rd;
	struct err e = { 0 };
	int rc = EXIT_OK;

	rd_init(&rd, o, source);
	if (set_paths(&rd, data_dir, &e) < 0) {
		log_errorx("%s", e.msg);
		rd_release(&rd);
		return e.code;
	}
	local_names(&rd);
	if (o->check_only) {
		printf("configuration OK\n");
		rd_release(&rd);
		return EXIT_OK;
	}
	log_init(o->verbosity, true, o->log_timestamps);
	if (rd_ctl_listen(&rd, &e) < 0) {
		log_errorx("%s", e.msg);
		rd_release(&rd);
		return e.code;
	}
	/* Nothing to reload: the data directory is fixed for the run. */
	sig_install(false);
	log_info("started: data_dir=%s local=%s admin=%s", rd.data_dir,
	    rd.sock_path, rd.ctl_path);
	signal_ready(o->ready_fd);
	while (!sig_stop)
		if (loop_once(&rd) < 0) {
			rc = EXIT_OSERR;
			break;
		}
	if (rd.exit_code != 0)
		rc = rd.exit_code;
	rd_release(&rd);
	log_info("stopped");
	return rc;
}
