/* SPDX-License-Identifier: MIT */
/*
 * scaling_idle_fetchers: many idle consumers in one process. Opens N TCP
 * connections to a broker and keeps one Fetch (v4, min_bytes 1,
 * max_wait_ms W) outstanding on each for one partition of one topic,
 * sending the next as soon as the answer arrives, as a long-polling
 * consumer at the end of a quiet partition does. The first Fetch of
 * connection i goes out i * W / N ms after the start, so the answers
 * spread evenly over time instead of arriving in bursts of N.
 *
 *   scaling_idle_fetchers -b ADDR -t TOPIC [-n CONNS] [-w MAX_WAIT_MS]
 *                         [-p PARTITION] [-r READY_FILE] [-d SECONDS]
 *
 * Runs until SIGTERM or SIGINT (or for -d seconds). READY_FILE is written
 * once every connection has sent its first Fetch. At exit, and on each
 * SIGUSR1, it prints one line of key=value pairs: connections, answers,
 * answers with records, early answers (empty, well before max_wait: the
 * broker did not park the Fetch), errors, lost connections, the seconds
 * since the start and its own CPU seconds; so a caller can take the
 * difference of two SIGUSR1 lines as the rate over a window. Exit
 * 0, or 1 when a connection was lost or an answer carried an error (each
 * is then also counted on stderr), 69 when the broker is unreachable.
 * Fetches that get an error are sent again after 100 ms, not at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "bytes.h"
#include "exitcode.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

#define FETCH_VERSION 4
#define MAX_BYTES (1 << 20)
#define ERROR_BACKOFF_MS 100
#define CONNECT_TIMEOUT_MS 5000

static const char usage_text[] =
    "usage: scaling_idle_fetchers -b addr -t topic [-n conns] [-w max_wait_ms]\n"
    "                             [-p partition] [-r ready_file] [-d seconds]\n";

struct fconn {
	int fd;
	int32_t corr;
	int64_t offset;		/* the next fetch offset */
	int64_t send_at_ms;	/* -1 while a Fetch is outstanding */
	int64_t sent_ms;
	struct buf out;
	size_t out_off;
	struct buf in;
	size_t in_off;
	bool want_write;	/* EPOLLOUT is on */
};

struct fetchers {
	const char *topic;
	int32_t partition;
	int32_t max_wait;
	int epfd;
	uint64_t answers, with_data, early, errors;
	size_t scheduled;	/* connections with a send_at_ms */
};

static volatile sig_atomic_t got_stop, got_report;

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void
on_report(int sig)
{
	(void)sig;
	got_report = 1;
}

static void
set_events(struct fetchers *f, struct fconn *c, bool want_write)
{
	struct epoll_event ev = { 0 };

	if (c->want_write == want_write)
		return;
	ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_fatal(EXIT_OSERR, "epoll_ctl");
	c->want_write = want_write;
}

/* Write what is queued; -1 when the connection is lost. */
static int
flush_out(struct fetchers *f, struct fconn *c)
{
	if (net_send_some(c->fd, c->out.data, c->out.len, &c->out_off, 0) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	if (c->out_off < c->out.len) {
		set_events(f, c, true);
		return 0;
	}
	buf_clear(&c->out);
	c->out_off = 0;
	set_events(f, c, false);
	return 0;
}

static int
send_fetch(struct fetchers *f, struct fconn *c, int64_t now)
{
	size_t start;
	bool idle = c->out.len == 0;

	start = proto_frame_begin_request(&c->out, API_FETCH, FETCH_VERSION,
	    ++c->corr, "scaling_idle_fetchers");
	buf_put_i32(&c->out, -1);		/* replica_id: a consumer */
	buf_put_i32(&c->out, f->max_wait);
	buf_put_i32(&c->out, 1);		/* min_bytes */
	buf_put_i32(&c->out, MAX_BYTES);
	buf_put_i8(&c->out, 0);			/* isolation: read uncommitted */
	buf_put_i32(&c->out, 1);		/* one topic */
	proto_put_cstr(&c->out, f->topic);
	buf_put_i32(&c->out, 1);		/* one partition */
	buf_put_i32(&c->out, f->partition);
	buf_put_i64(&c->out, c->offset);
	buf_put_i32(&c->out, MAX_BYTES);
	proto_frame_end(&c->out, start);
	if (c->out.failed)
		log_fatalx(EXIT_OSERR, "out of memory");
	c->send_at_ms = -1;
	c->sent_ms = now;
	if (!idle)
		return 0;
	return flush_out(f, c);
}

/* Read one Fetch v4 answer: count it, follow the high watermark. */
static int
on_answer(struct fetchers *f, struct fconn *c, const uint8_t *p, size_t len,
    int64_t now)
{
	struct breader r;
	int32_t ntopics, i, j, nparts;
	int16_t error = KERR_NONE;
	bool data = false;

	br_init(&r, p, len);
	if ((int32_t)br_i32(&r) != c->corr) {
		log_warnx("answer out of order (correlation id)");
		return -1;
	}
	(void)br_i32(&r);			/* throttle_time_ms */
	ntopics = proto_read_array_len(&r, false, 6);
	for (i = 0; i < ntopics && br_ok(&r); i++) {
		(void)proto_read_str(&r, false);
		nparts = proto_read_array_len(&r, false, 30);
		for (j = 0; j < nparts && br_ok(&r); j++) {
			int16_t code;
			int64_t hw;
			int32_t naborted;
			struct proto_str recs;

			(void)br_i32(&r);		/* partition */
			code = br_i16(&r);
			hw = br_i64(&r);
			(void)br_i64(&r);		/* last_stable_offset */
			naborted = proto_read_array_len(&r, true, 16);
			if (naborted > 0)
				br_skip(&r, (size_t)naborted * 16);
			recs = proto_read_bytes(&r, true);
			if (code != KERR_NONE && error == KERR_NONE)
				error = code;
			if (recs.len > 0)
				data = true;
			/* Skip to the end: an idle consumer only waits. */
			if ((code == KERR_NONE || code == KERR_OFFSET_OUT_OF_RANGE) &&
			    hw >= 0 && hw != c->offset && (recs.len > 0 ||
			    code == KERR_OFFSET_OUT_OF_RANGE))
				c->offset = hw;
		}
	}
	if (!br_ok(&r)) {
		log_warnx("malformed Fetch answer");
		return -1;
	}
	f->answers++;
	if (data)
		f->with_data++;
	if (error != KERR_NONE) {
		if (f->errors++ < 5)
			log_warnx("Fetch of %s-%" PRId32 ": %s", f->topic,
			    f->partition, proto_error_name(error) ?
			    proto_error_name(error) : "unknown error");
		c->send_at_ms = now + ERROR_BACKOFF_MS;
		f->scheduled++;
		return 0;
	}
	if (!data && now - c->sent_ms < f->max_wait * 9 / 10)
		f->early++;
	return send_fetch(f, c, now);
}

static int
on_readable(struct fetchers *f, struct fconn *c, int64_t now)
{
	for (;;) {
		ssize_t n = net_read_buf(c->fd, &c->in, 64 * 1024);

		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
	}
	for (;;) {
		int32_t size;
		int rc = proto_frame_peek(c->in.data + c->in_off,
		    c->in.len - c->in_off, 64 << 20, &size);

		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (on_answer(f, c, c->in.data + c->in_off + PROTO_FRAME_HEADER,
		    (size_t)size, now) < 0)
			return -1;
		c->in_off += PROTO_FRAME_HEADER + (size_t)size;
	}
	buf_compact(&c->in, &c->in_off, 0);
	return 0;
}

static void
report(const struct fetchers *f, size_t n, size_t lost, int64_t start)
{
	printf("connections=%zu answers=%" PRIu64 " with_data=%" PRIu64
	    " early=%" PRIu64 " errors=%" PRIu64 " lost=%zu seconds=%.3f"
	    " cpu_s=%.2f\n", n, f->answers, f->with_data, f->early, f->errors,
	    lost, (double)(clock_mono_ms() - start) / 1000.0,
	    bench_cpu_s(RUSAGE_SELF));
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "connections", required_argument, NULL, 'n' },
		{ "partition", required_argument, NULL, 'p' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "topic", required_argument, NULL, 't' },
		{ "max-wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct fetchers f;
	struct fconn *conns;
	struct net_addr addr;
	struct err e = { 0 };
	struct epoll_event evs[256];
	struct sigaction sa;
	struct rlimit rl;
	const char *brokers = NULL, *ready_file = NULL;
	uint64_t n = 1000, wait = 500, part = 0, duration = 0;
	int64_t start, now, end_at = INT64_MAX;
	size_t i, started = 0, lost = 0;
	bool ready = false;
	int ch, rc = EXIT_OK;

	prog_init(argv[0]);
	memset(&f, 0, sizeof(f));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":b:d:hn:p:r:t:w:", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b': brokers = optarg; break;
		case 'd':
			duration = bench_opt_u64(usage_text, "-d", optarg, 1,
			    86400);
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'n':
			n = bench_opt_u64(usage_text, "-n", optarg, 1, 100000);
			break;
		case 'p':
			part = bench_opt_u64(usage_text, "-p", optarg, 0,
			    INT32_MAX);
			break;
		case 'r': ready_file = optarg; break;
		case 't': f.topic = optarg; break;
		case 'w':
			wait = bench_opt_u64(usage_text, "-w", optarg, 1,
			    600000);
			break;
		default:
			bench_opt_error(usage_text, long_opts, ch, argv);
		}
	}
	if (optind < argc)
		log_usage(usage_text, "unexpected argument '%s'", argv[optind]);
	if (brokers == NULL || f.topic == NULL)
		log_usage(usage_text, "-b and -t are required");
	if (net_addr_parse(brokers, 0, &addr, &e) < 0)
		log_usage(usage_text, "%s", e.msg);
	f.partition = (int32_t)part;
	f.max_wait = (int32_t)wait;

	/* One descriptor a connection, and a few more. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((f.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal(EXIT_OSERR, "epoll_create1");
	conns = xcalloc((size_t)n, sizeof(*conns));
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { 0 };
		struct fconn *c = &conns[i];

		c->fd = net_connect_tcp(&addr, CONNECT_TIMEOUT_MS, 1, &e);
		if (c->fd < 0)
			log_fatalx(e.code ? e.code : EXIT_UNAVAILABLE,
			    "connection %zu: %s", i + 1, e.msg);
		net_set_nodelay(c->fd);
		buf_init(&c->out);
		buf_init(&c->in);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(f.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			log_fatal(EXIT_OSERR, "epoll_ctl");
	}
	start = clock_mono_ms();
	for (i = 0; i < n; i++)
		conns[i].send_at_ms = start + (int64_t)(i * wait / n);
	f.scheduled = (size_t)n;
	if (duration > 0)
		end_at = start + (int64_t)duration * 1000;

	while (!got_stop && (now = clock_mono_ms()) < end_at) {
		int64_t next = end_at;
		int k, nev;

		/* First fetches (staggered) and resends after an error. */
		for (i = 0; f.scheduled > 0 && i < n; i++) {
			struct fconn *c = &conns[i];

			if (c->fd < 0 || c->send_at_ms < 0)
				continue;
			if (c->send_at_ms <= now) {
				f.scheduled--;
				if (send_fetch(&f, c, now) < 0) {
					close(c->fd);
					c->fd = -1;
					lost++;
					continue;
				}
				if (i + 1 > started)
					started = i + 1;
			} else if (c->send_at_ms < next) {
				next = c->send_at_ms;
			}
		}
		if (!ready && started == n) {
			ready = true;
			if (ready_file != NULL &&
			    file_write_atomic(ready_file, "ready\n", 6, &e) < 0)
				log_fatalx(EXIT_CANTCREAT, "%s", e.msg);
		}
		/* At most 100 ms, so a signal between checks is seen soon. */
		nev = epoll_wait(f.epfd, evs, (int)ARRAY_SIZE(evs),
		    (int)(next - now > 100 ? 100 : next - now));
		if (nev < 0 && errno != EINTR)
			log_fatal(EXIT_OSERR, "epoll_wait");
		if (got_report) {
			got_report = 0;
			report(&f, (size_t)n, lost, start);
		}
		now = clock_mono_ms();
		for (k = 0; k < nev; k++) {
			struct fconn *c = evs[k].data.ptr;
			int r = 0;

			if (c->fd < 0)
				continue;
			if (evs[k].events & EPOLLOUT)
				r = flush_out(&f, c);
			if (r == 0 && (evs[k].events & (EPOLLIN | EPOLLERR |
			    EPOLLHUP)))
				r = on_readable(&f, c, now);
			if (r < 0) {
				if (lost++ < 5)
					log_warnx("connection to %s lost", brokers);
				epoll_ctl(f.epfd, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				if (c->send_at_ms >= 0)
					f.scheduled--;
			}
		}
	}
	report(&f, (size_t)n, lost, start);
	if (lost > 0 || f.errors > 0) {
		fprintf(stderr, "%s: %zu connections lost, %" PRIu64
		    " answers with errors\n", prog_name(), lost, f.errors);
		rc = EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		buf_release(&conns[i].out);
		buf_release(&conns[i].in);
	}
	free(conns);
	close(f.epfd);
	return rc;
}
