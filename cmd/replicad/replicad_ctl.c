/* SPDX-License-Identifier: MIT */
/*
 * The admin socket, <data_dir>/replicad.sock, and its client `replicad
 * status`, in the manner of `logd ctl`: the client sends one line,
 * "status" or "status json"; replicad answers "ok <unhealthy>" (the count
 * of partitions in error, plus one while the local logd is unreachable)
 * or "error: <reason>" on the first line, then the body, and closes.
 * The answer is built from memory at once, so it is served inline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "net.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

#define CTL_LINE_MAX 256
#define STATUS_MAX (64 << 20)

int
rd_ctl_listen(struct replicad *rd, struct err *e)
{
	int fd = net_connect_unix(rd->ctl_path, NULL);

	/* A live replicad answers there: never take its socket over. */
	if (fd >= 0) {
		close(fd);
		return err_set(e, EXIT_CANTCREAT, "another replicad runs on "
		    "'%s' (its admin socket '%s' answers)", rd->data_dir,
		    rd->ctl_path);
	}
	rd->ctl_fd = net_listen_unix(rd->ctl_path, 16, e);
	return rd->ctl_fd < 0 ? -1 : 0;
}

void
rd_ctl_close(struct replicad *rd)
{
	if (rd->ctl_fd < 0)
		return;
	close(rd->ctl_fd);
	rd->ctl_fd = -1;
	unlink(rd->ctl_path);
}

static int64_t
part_lag(const struct rd_part *p)
{
	if (p->leader_hw < 0)
		return -1;
	return p->leader_hw > p->leo ? p->leader_hw - p->leo : 0;
}

static size_t
unhealthy(const struct replicad *rd)
{
	size_t i, n = rd->local_error[0] != '\0';

	for (i = 0; i < rd->nparts; i++)
		if (rd->parts[i]->error[0] != '\0')
			n++;
	return n;
}

/* "-" for unknown (-1) numbers in the table. */
static const char *
num(char *dst, size_t size, int64_t v)
{
	if (v < 0)
		return "-";
	snprintf(dst, size, "%" PRId64, v);
	return dst;
}

static void
status_text(const struct replicad *rd, struct buf *out)
{
	char a[24], b[24], c[24];
	size_t i;

	buf_printf(out, "broker_id: %s\ndata_dir: %s\nlocal_logd: %s%s\n"
	    "state_version: %s\nleaders: %zu\npartitions: %zu\nunhealthy: %zu\n"
	    "pid: %ld\n\n", num(a, sizeof(a), rd->broker_id), rd->data_dir,
	    rd->local_error[0] ? "unreachable: " : "connected",
	    rd->local_error, num(b, sizeof(b), rd->version), rd->nleaders,
	    rd->nparts, unhealthy(rd), (long)getpid());
	buf_printf(out, "%-24s %9s %6s %6s %14s %14s %10s %-10s %s\n", "TOPIC",
	    "PARTITION", "LEADER", "EPOCH", "LOCAL-LEO", "LEADER-HW", "LAG",
	    "STATE", "ERROR");
	for (i = 0; i < rd->nparts; i++) {
		const struct rd_part *p = rd->parts[i];

		buf_printf(out, "%-24s %9" PRId32 " %6" PRId32 " %6" PRId32
		    " %14" PRId64 " %14s %10s %-10s %s\n", p->topic,
		    p->partition, p->leader, p->leader_epoch, p->leo,
		    num(a, sizeof(a), p->leader_hw),
		    num(c, sizeof(c), part_lag(p)), rd_pstate_name(p->state),
		    p->error[0] ? p->error : "-");
	}
}

static void
status_part_json(const struct rd_part *p, struct buf *out)
{
	struct json_obj o;

	json_obj_begin(&o, out);
	json_obj_cstr(&o, "topic", p->topic);
	json_obj_i64(&o, "partition", p->partition);
	json_obj_i64(&o, "leader", p->leader);
	json_obj_i64(&o, "leader_epoch", p->leader_epoch);
	json_obj_i64(&o, "log_start_offset", p->log_start);
	json_obj_i64(&o, "log_end_offset", p->leo);
	json_obj_i64(&o, "high_watermark", p->hw);
	json_obj_i64_or_null(&o, "leader_high_watermark", p->leader_hw);
	json_obj_i64_or_null(&o, "lag", part_lag(p));
	json_obj_cstr(&o, "state", rd_pstate_name(p->state));
	json_obj_cstr_or_null(&o, "error", p->error);
	json_obj_u64(&o, "appended_batches", p->appended_batches);
	json_obj_end(&o);
}

static void
status_json(const struct replicad *rd, struct buf *out)
{
	struct json_obj o, local;
	struct json_arr arr;
	size_t i;

	json_obj_begin(&o, out);
	json_obj_i64_or_null(&o, "broker_id", rd->broker_id);
	json_obj_cstr(&o, "data_dir", rd->data_dir);
	json_obj_i64(&o, "pid", (int64_t)getpid());
	json_obj_key(&o, "local_logd");
	json_obj_begin(&local, out);
	json_obj_cstr(&local, "socket", rd->sock_path);
	json_obj_bool(&local, "connected", rd->local_error[0] == '\0');
	json_obj_cstr_or_null(&local, "error", rd->local_error);
	json_obj_end(&local);
	json_obj_i64_or_null(&o, "state_version", rd->version);
	json_obj_u64(&o, "unhealthy", unhealthy(rd));
	json_obj_key(&o, "leaders");
	json_arr_begin(&arr, out);
	for (i = 0; i < rd->nleaders; i++) {
		const struct rd_leader *l = rd->leaders[i];
		struct json_obj lo;

		json_arr_next(&arr);
		json_obj_begin(&lo, out);
		json_obj_i64(&lo, "broker_id", l->id);
		json_obj_cstr(&lo, "host", l->host);
		json_obj_i64(&lo, "port", l->port);
		json_obj_bool(&lo, "connected", rconn_is_ready(&l->conn));
		json_obj_end(&lo);
	}
	json_arr_end(&arr);
	json_obj_key(&o, "partitions");
	json_arr_begin(&arr, out);
	for (i = 0; i < rd->nparts; i++) {
		json_arr_next(&arr);
		status_part_json(rd->parts[i], out);
	}
	json_arr_end(&arr);
	json_obj_end(&o);
	buf_putc(out, '\n');
}

/* Run one command line; the whole answer goes to `out`. */
static void
ctl_run(const struct replicad *rd, char *line, struct buf *out)
{
	bool json = false;
	char *sp = strchr(line, ' ');

	if (sp != NULL) {
		*sp = '\0';
		if (strcmp(sp + 1, "json") != 0) {
			buf_printf(out, "error: unknown argument '%s'\n", sp + 1);
			return;
		}
		json = true;
	}
	if (strcmp(line, "status") != 0) {
		buf_printf(out, "error: unknown command '%s' (use status)\n",
		    line);
		return;
	}
	buf_printf(out, "ok %zu\n", unhealthy(rd));
	if (json)
		status_json(rd, out);
	else
		status_text(rd, out);
}

static void
write_all(int fd, const struct buf *b)
{
	const uint8_t *p = b->data;
	size_t left = b->failed ? 0 : b->len;

	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		left -= (size_t)n;
	}
}

void
rd_ctl_accept(struct replicad *rd)
{
	struct timeval tv = { 1, 0 };
	char line[CTL_LINE_MAX], *nl;
	struct buf out = BUF_INIT;
	size_t len = 0;
	int fd;

	fd = accept4(rd->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A stuck local client must not hold replication up for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(line) - 1 && memchr(line, '\n', len) == NULL) {
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	nl = strchr(line, '\n');
	if (nl == NULL) {
		buf_put_str(&out, "error: expected one command line\n");
	} else {
		*nl = '\0';
		ctl_run(rd, line, &out);
	}
	write_all(fd, &out);
	buf_release(&out);
	close(fd);
}

/* Read the whole answer (replicad closes when done). */
static int
read_answer(int fd, struct buf *b, struct err *e)
{
	for (;;) {
		ssize_t n;

		if (buf_reserve(b, 4096) < 0)
			return err_set(e, EXIT_OSERR, "out of memory");
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, EXIT_UNAVAILABLE, "reading the answer");
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		if (b->len > STATUS_MAX)
			return err_set(e, EXIT_PROTOCOL, "answer too large");
	}
}

/* Print the body of an "ok N" answer; the exit code. */
static int
print_answer(const struct buf *b, const char *path)
{
	const char *s = (const char *)b->data, *nl;
	size_t len = b->len;
	uint64_t bad = 0;
	int used = 0;

	nl = len > 0 ? memchr(s, '\n', len) : NULL;
	if (nl != NULL && len > 7 && memcmp(s, "error: ", 7) == 0) {
		fprintf(stderr, "%s: status: %.*s\n", prog_name(),
		    (int)(nl - s - 7), s + 7);
		return EXIT_FAIL;
	}
	if (nl == NULL || sscanf(s, "ok %" SCNu64 "%n", &bad, &used) != 1 ||
	    s + used != nl) {
		fprintf(stderr, "%s: status: unexpected answer from '%s'\n",
		    prog_name(), path);
		return EXIT_PROTOCOL;
	}
	fwrite(nl + 1, 1, len - (size_t)(nl + 1 - s), stdout);
	if (fflush(stdout) != 0)
		return EXIT_IOERR;
	return bad > 0 ? EXIT_FAIL : EXIT_OK;
}

int
rd_status_main(const struct rd_opts *o, const char *data_dir)
{
	struct timeval tv = { 10, 0 };
	char path[PATH_MAX], req[32];
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	size_t n;
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir,
	    RD_CTL_SOCKET) >= sizeof(path)) {
		fprintf(stderr, "%s: status: data directory path too long\n",
		    prog_name());
		return EXIT_CONFIG;
	}
	fd = net_connect_unix(path, &e);
	if (fd < 0) {
		fprintf(stderr, "%s: status: %s (is replicad running?)\n",
		    prog_name(), e.msg);
		return EXIT_UNAVAILABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = (size_t)snprintf(req, sizeof(req), "status%s\n",
	    o->json ? " json" : "");
	if (write(fd, req, n) != (ssize_t)n || read_answer(fd, &b, &e) < 0) {
		fprintf(stderr, "%s: status: '%s': %s\n", prog_name(), path,
		    e.msg[0] ? e.msg : "unable to send the command");
		close(fd);
		buf_release(&b);
		return EXIT_UNAVAILABLE;
	}
	close(fd);
	rc = print_answer(&b, path);
	buf_release(&b);
	return rc;
}
