/* SPDX-License-Identifier: MIT */
/*
 * The admin socket, <data_dir>/logd.sock, and its client `logd ctl`.
 * A client sends one line, "<command> [topic=NAME] [json]\n"; logd
 * answers with "ok" or "error: <reason>" on the first line, then the
 * body, and closes. Most commands are quick (status, topics, flush,
 * retention), so logd serves them inline with a short timeout instead of
 * tracking state; `compact` hands the connection to the log cleaner,
 * which answers it (ctl_reply) once its partitions are done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "logd.h"
#include "opt.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

#define CTL_SOCKET "logd.sock"
/* A command, "topic=" and a 249-character topic with a partition. */
#define CTL_LINE_MAX 320

static int
ctl_path(const char *dir, char *dst, size_t size, struct err *e)
{
	if ((size_t)snprintf(dst, size, "%s/%s", dir, CTL_SOCKET) >= size)
		return err_set(e, EXIT_CONFIG,
		    "admin socket path '%s/%s' is too long", dir, CTL_SOCKET);
	return 0;
}

int
ctl_listen(struct logd *ld, struct err *e)
{
	char path[PATH_MAX];

	if (ctl_path(ld->cfg.data_dir, path, sizeof(path), e) < 0)
		return -1;
	ld->ctl_fd = net_listen_unix(path, 16, e);
	return ld->ctl_fd < 0 ? -1 : 0;
}

static void
cmd_status(struct logd *ld, struct buf *out, bool json)
{
	char advertise[NET_ADDR_MAX];
	struct json_obj o;
	size_t i, parts = 0;

	for (i = 0; i < ld->ntopics; i++)
		parts += (size_t)ld->topics[i]->npartitions;
	net_addr_format(&ld->cfg.advertise, advertise, sizeof(advertise));
	if (!json) {
		buf_printf(out, "broker_id: %" PRId32 "\ncluster_id: %s\n"
		    "listen: %s\nadvertise: %s\ndata_dir: %s\ntopics: %zu\n"
		    "partitions: %zu\nconnections: %zu\nrequests: %" PRIu64
		    "\npid: %ld\n", ld->cfg.broker_id, ld->cfg.cluster_id,
		    ld->bound_addr, advertise, ld->cfg.data_dir, ld->ntopics,
		    parts, ld->nconns, ld->requests, (long)getpid());
		cluster_ctl_status(ld, out, NULL);
		return;
	}
	json_obj_begin(&o, out);
	json_obj_i64(&o, "broker_id", ld->cfg.broker_id);
	json_obj_cstr(&o, "cluster_id", ld->cfg.cluster_id);
	json_obj_cstr(&o, "listen", ld->bound_addr);
	json_obj_cstr(&o, "advertise", advertise);
	json_obj_cstr(&o, "data_dir", ld->cfg.data_dir);
	json_obj_u64(&o, "topics", ld->ntopics);
	json_obj_u64(&o, "partitions", parts);
	json_obj_u64(&o, "connections", ld->nconns);
	json_obj_u64(&o, "requests", ld->requests);
	json_obj_i64(&o, "pid", (int64_t)getpid());
	cluster_ctl_status(ld, out, &o);
	json_obj_end(&o);
	buf_putc(out, '\n');
}

static void
cmd_topics(struct logd *ld, struct buf *out, bool json)
{
	size_t i;
	int32_t j;

	if (!json)
		buf_printf(out, "%-24s %9s %14s %14s %14s %8s %14s\n", "TOPIC",
		    "PARTITION", "START-OFFSET", "END-OFFSET", "HIGH-WATERMARK",
		    "SEGMENTS", "BYTES");
	for (i = 0; i < ld->ntopics; i++) {
		const struct topic *t = ld->topics[i];

		for (j = 0; j < t->npartitions; j++) {
			const struct partition *p = t->parts[j];
			struct json_obj o;

			if (!json) {
				buf_printf(out, "%-24s %9" PRId32 " %14" PRId64
				    " %14" PRId64 " %14" PRId64 " %8zu %14" PRIu64
				    "\n", t->name, p->id,
				    plog_start_offset(p->log),
				    plog_end_offset(p->log), p->high_watermark,
				    plog_segment_count(p->log), plog_size(p->log));
				continue;
			}
			json_obj_begin(&o, out);
			json_obj_cstr(&o, "topic", t->name);
			json_obj_i64(&o, "partition", p->id);
			json_obj_i64(&o, "log_start_offset",
			    plog_start_offset(p->log));
			json_obj_i64(&o, "log_end_offset", plog_end_offset(p->log));
			json_obj_i64(&o, "high_watermark", p->high_watermark);
			json_obj_i64(&o, "recovery_point",
			    plog_recovery_point(p->log));
			json_obj_u64(&o, "segments", plog_segment_count(p->log));
			json_obj_u64(&o, "size", plog_size(p->log));
			json_obj_end(&o);
			buf_putc(out, '\n');
		}
	}
}

/* One command line: its words split in place. */
struct ctl_cmd {
	const char *name;
	const char *target;	/* compact's "topic=" value, or NULL */
	bool json;
};

/* The next space-separated word of *p (NUL-terminated in place). */
static char *
next_word(char **p)
{
	char *w = *p;

	while (*w == ' ')
		w++;
	if (*w == '\0')
		return NULL;
	*p = w;
	while (**p != '\0' && **p != ' ')
		(*p)++;
	if (**p == ' ')
		*(*p)++ = '\0';
	return w;
}

static int
ctl_parse(char *line, struct ctl_cmd *cmd, struct err *e)
{
	char *p = line, *w;

	memset(cmd, 0, sizeof(*cmd));
	cmd->name = next_word(&p);
	if (cmd->name == NULL)
		return err_set(e, EXIT_USAGE, "expected one command line");
	while ((w = next_word(&p)) != NULL) {
		if (strcmp(w, "json") == 0)
			cmd->json = true;
		else if (strncmp(w, "topic=", 6) == 0 && cmd->target == NULL)
			cmd->target = w + 6;
		else
			return err_set(e, EXIT_USAGE, "unknown argument '%s'", w);
	}
	if (cmd->target != NULL && strcmp(cmd->name, "compact") != 0)
		return err_set(e, EXIT_USAGE, "'%s' takes no topic", cmd->name);
	return 0;
}

/*
 * The topic and partition (-1: all) of "TOPIC" or "TOPIC-PARTITION"; a
 * whole name wins, since topic names may end in "-<digits>" themselves.
 */
static int
resolve_target(struct logd *ld, const char *target, struct topic **t,
    int32_t *part, struct err *e)
{
	const char *dash = strrchr(target, '-');
	struct err ignored;
	int64_t id;

	*part = -1;
	*t = topic_find(ld, target, strlen(target));
	if (*t == NULL && dash != NULL && opt_parse_i64("partition",
	    dash + 1, 0, INT32_MAX, &id, &ignored) == 0 &&
	    (*t = topic_find(ld, target, (size_t)(dash - target))) != NULL)
		*part = (int32_t)id;
	if (*t == NULL || *part >= (*t)->npartitions)
		return err_set(e, EXIT_USAGE, "unknown topic or partition '%s'",
		    target);
	if (!topic_is_compacted(ld, *t))
		return err_set(e, EXIT_USAGE, "topic '%s' is not compacted "
		    "(cleanup.policy has no compact)", (*t)->name);
	return 0;
}

/* The compacted partitions `compact [TOPIC[-PARTITION]]` names. */
static int
compact_targets(struct logd *ld, const char *target,
    struct partition ***out, size_t *nout, struct err *e)
{
	struct partition **v = NULL, **grown;
	struct topic *only = NULL;
	int32_t part = -1, j;
	size_t i, n = 0;

	if (target != NULL && resolve_target(ld, target, &only, &part, e) < 0)
		return -1;
	for (i = 0; i < ld->ntopics; i++) {
		struct topic *t = ld->topics[i];

		if ((only != NULL && t != only) || !topic_is_compacted(ld, t))
			continue;
		for (j = 0; j < t->npartitions; j++) {
			if (part >= 0 && j != part)
				continue;
			grown = realloc(v, (n + 1) * sizeof(*v));
			if (grown == NULL) {
				free(v);
				return err_set(e, EXIT_OSERR, "out of memory");
			}
			v = grown;
			v[n++] = t->parts[j];
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

/* Queue the compaction; the cleaner answers on `fd` later. */
static int
cmd_compact(struct logd *ld, const struct ctl_cmd *cmd, int fd,
    struct err *e)
{
	struct partition **parts = NULL;
	size_t n = 0;

	if (compact_targets(ld, cmd->target, &parts, &n, e) < 0)
		return -1;
	cleaner_compact(ld, parts, n, fd, cmd->json);
	free(parts);
	return 1;
}

/*
 * Run one command line; the body goes to `out`, errors to `e`. Returns
 * 0, -1, or 1 when the connection `fd` was handed over (compact).
 */
static int
ctl_run(struct logd *ld, char *line, int fd, struct buf *out,
    struct err *e)
{
	struct ctl_cmd cmd;

	if (ctl_parse(line, &cmd, e) < 0)
		return -1;
	if (strcmp(cmd.name, "status") == 0) {
		cmd_status(ld, out, cmd.json);
	} else if (strcmp(cmd.name, "topics") == 0) {
		cmd_topics(ld, out, cmd.json);
	} else if (strcmp(cmd.name, "flush") == 0) {
		if (topics_flush_all(ld, e) < 0)
			return -1;
		buf_put_str(out, cmd.json ? "{\"flushed\":true}\n" :
		    "flushed\n");
	} else if (strcmp(cmd.name, "retention") == 0) {
		topics_run_retention(ld, clock_wall_ms());
		cmd_topics(ld, out, cmd.json);
	} else if (strcmp(cmd.name, "compact") == 0) {
		return cmd_compact(ld, &cmd, fd, e);
	} else {
		return err_set(e, EXIT_USAGE, "unknown command '%s' (use status, "
		    "topics, flush, retention or compact)", cmd.name);
	}
	return 0;
}

/* Write the whole answer; a client gone or stuck (1 s) loses it. */
static void
ctl_send(int fd, const struct buf *out)
{
	const uint8_t *p = out->data;
	size_t left = out->len;

	if (out->failed)
		return;
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}

void
ctl_reply(struct logd *ld, int fd, bool json, const char *error)
{
	struct buf out = BUF_INIT;

	if (error != NULL) {
		buf_printf(&out, "error: %s\n", error);
	} else {
		buf_put_str(&out, "ok\n");
		cmd_topics(ld, &out, json);
	}
	ctl_send(fd, &out);
	buf_release(&out);
	close(fd);
}

void
ctl_unlink(struct logd *ld)
{
	char path[PATH_MAX];

	if (ctl_path(ld->cfg.data_dir, path, sizeof(path), NULL) == 0)
		unlink(path);
}

void
ctl_accept(struct logd *ld)
{
	struct timeval tv = { 1, 0 };
	char line[CTL_LINE_MAX];
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	size_t len = 0;
	int fd, r;

	fd = accept4(ld->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A stuck local client must not hold up the broker for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(line) - 1) {
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	if (strchr(line, '\n') == NULL) {
		(void)!write(fd, "error: expected one command line\n", 33);
		close(fd);
		return;
	}
	*strchr(line, '\n') = '\0';
	buf_put_str(&out, "ok\n");
	r = ctl_run(ld, line, fd, &out, &e);
	if (r == 1) {
		buf_release(&out);
		return;
	}
	if (r < 0) {
		buf_clear(&out);
		buf_printf(&out, "error: %s\n", e.msg);
	}
	ctl_send(fd, &out);
	buf_release(&out);
	close(fd);
}

static const char ctl_usage[] =
    "usage: logd ctl [-j] [-c file | -d dir | -m manifest -i id] status |\n"
    "                topics | flush | retention | compact [topic[-partition]]\n";

/* `logd ctl`: send one command to a running logd and print the answer. */
int
ctl_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "broker-id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "manifest", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct logd_opts o;
	struct logd_config cfg;
	char path[PATH_MAX], req[CTL_LINE_MAX], resp[4096];
	struct err e = { 0 };
	const char *target;
	bool json = false, first = true;
	int ch, fd, rc = EXIT_OK;
	size_t n;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "c:d:hi:jm:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': o.config_path = optarg; break;
		case 'd': o.data_dir = optarg; break;
		case 'i': o.broker_id = optarg; break;
		case 'm': o.manifest_path = optarg; break;
		case 'h':
			printf("%s", ctl_usage);
			return EXIT_OK;
		case 'j': json = true; break;
		default:
			fputs(ctl_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc && !(optind + 2 == argc &&
	    strcmp(argv[optind], "compact") == 0)) {
		fprintf(stderr, "%s: ctl: expected one command\n", prog_name());
		return EXIT_USAGE;
	}
	target = optind + 2 == argc ? argv[optind + 1] : NULL;
	if (target != NULL && (*target == '\0' ||
	    strpbrk(target, " \n") != NULL)) {
		fprintf(stderr, "%s: ctl: bad topic '%s'\n", prog_name(),
		    target);
		return EXIT_USAGE;
	}
	logd_config_init(&cfg);
	if (logd_config_load(&cfg, &o, &e) < 0 ||
	    ctl_path(cfg.data_dir, path, sizeof(path), &e) < 0) {
		fprintf(stderr, "%s: ctl: %s\n", prog_name(), e.msg);
		logd_config_release(&cfg);
		return e.code == EXIT_USAGE ? EXIT_USAGE : EXIT_CONFIG;
	}
	logd_config_release(&cfg);
	fd = net_connect_unix(path, &e);
	if (fd < 0) {
		fprintf(stderr, "%s: ctl: %s (is logd running?)\n", prog_name(),
		    e.msg);
		return EXIT_UNAVAILABLE;
	}
	n = (size_t)snprintf(req, sizeof(req), "%s%s%s%s\n", argv[optind],
	    target != NULL ? " topic=" : "", target != NULL ? target : "",
	    json ? " json" : "");
	if (n >= sizeof(req) || write(fd, req, n) != (ssize_t)n) {
		fprintf(stderr, "%s: ctl: unable to send the command\n",
		    prog_name());
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	for (;;) {
		ssize_t r = read(fd, resp, sizeof(resp));
		char *body = resp;
		size_t len;

		if (r <= 0)
			break;
		len = (size_t)r;
		if (first) {
			first = false;
			if (len >= 3 && memcmp(resp, "ok\n", 3) == 0) {
				body += 3;
				len -= 3;
			} else {
				size_t skip = len > 7 &&
				    memcmp(resp, "error: ", 7) == 0 ? 7 : 0;

				fprintf(stderr, "%s: ctl: %.*s", prog_name(),
				    (int)(len - skip), resp + skip);
				rc = EXIT_FAIL;
				continue;
			}
		}
		if (rc == EXIT_OK)
			fwrite(body, 1, len, stdout);
		else
			fwrite(body, 1, len, stderr);
	}
	close(fd);
	return rc;
}
