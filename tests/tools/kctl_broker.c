/* SPDX-License-Identifier: MIT */
/*
 * kctl_broker: a fake broker *client* of ctrld for tests. It speaks only
 * the broker side of the private protocol (BrokerHeartbeat, AlterIsr,
 * ControlledShutdown) with ctlproto, so liveness, elections, ISR fencing
 * and controlled shutdown can be tested before real brokers speak it. It
 * does not stand in for logd: it serves nothing.
 *
 *   kctl_broker -c ADDR -i ID -p PORT [-H HOST] [-I INC] run
 *       heartbeat (long poll) until SIGTERM; then a controlled shutdown:
 *       ControlledShutdown, heartbeats until it leads nothing, exit 0
 *   kctl_broker ... alter-isr TOPIC PARTITION ISR [PARTITION_EPOCH]
 *       propose ISR ("1,2") at the current leader epoch and partition
 *       epoch (or the one given); prints "ERROR leader=.. isr=.."
 *   kctl_broker ... shutdown     prints "ERROR remaining=N"
 *   kctl_broker ... heartbeat    prints "ERROR version=V"
 * Exit 0 when the answer was NONE, 1 for any other error code, 69 when
 * ctrld is unreachable, 64 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"
#include "exitcode.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

#define TIMEOUT_MS 5000
#define WAIT_MS 200

static const char usage_text[] =
    "usage: kctl_broker -c addr -i id -p port [-H host] [-I incarnation]\n"
    "                   run | heartbeat | shutdown |\n"
    "                   alter-isr topic partition isr [partition-epoch]\n";

struct broker {
	const char *ctrl;
	int32_t id;
	const char *host;
	int32_t port;
	int64_t incarnation;
	int fd;
	int32_t corr;
	bool retry;		/* run: ride out a controller restart */
};

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int
io_wait(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	int n;

	do
		n = poll(&p, 1, TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static int
io_all(int fd, uint8_t *p, size_t len, bool out)
{
	while (len > 0) {
		ssize_t n;

		if (io_wait(fd, out ? POLLOUT : POLLIN) < 0)
			return -1;
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
connect_ctrl(struct broker *b)
{
	struct net_addr a;
	struct err e = { 0 };

	if (b->fd >= 0)
		return 0;
	if (net_addr_parse(b->ctrl, 0, &a, &e) < 0 ||
	    (b->fd = net_connect_tcp(&a, TIMEOUT_MS, 1, &e)) < 0) {
		if (!b->retry)
			log_fatalx(EXIT_UNAVAILABLE, "%s", e.msg);
		return -1;
	}
	return 0;
}

/*
 * One request; the response body (after the correlation id) in resp.
 * A lost controller is fatal, or -1 in `run` (which retries).
 */
static int
call(struct broker *b, int16_t key, const struct buf *body, struct buf *resp)
{
	struct buf req = BUF_INIT;
	uint8_t head[8];
	size_t start;
	uint32_t size = 0;
	int rc = -1;

	if (connect_ctrl(b) < 0)
		return -1;
	start = proto_frame_begin_request(&req, key, 0, ++b->corr,
	    "kctl_broker");
	buf_put(&req, body->data, body->len);
	proto_frame_end(&req, start);
	if (io_all(b->fd, req.data, req.len, true) == 0 &&
	    io_all(b->fd, head, 8, false) == 0) {
		size = be32_load(head);
		if (size < 4 || size > (64u << 20) ||
		    (int32_t)be32_load(head + 4) != b->corr)
			log_fatalx(EXIT_PROTOCOL, "controller %s: bad frame",
			    b->ctrl);
		buf_clear(resp);
		buf_extend(resp, size - 4);
		rc = size == 4 ? 0 : io_all(b->fd, resp->data, size - 4,
		    false);
	}
	buf_release(&req);
	if (rc == 0)
		return 0;
	close(b->fd);
	b->fd = -1;
	if (!b->retry)
		log_fatalx(EXIT_UNAVAILABLE, "controller %s: no answer",
		    b->ctrl);
	return -1;
}

static const char *
ename(int code)
{
	return proto_error_name(code) ? proto_error_name(code) : "UNKNOWN";
}

/* A heartbeat; returns the error code, *state replaced when sent. */
static int
heartbeat(struct broker *b, int64_t known, int32_t wait_ms, bool stopping,
    struct cluster_state *state)
{
	struct ctl_heartbeat_req q;
	struct ctl_heartbeat_resp r;
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct breader br;
	struct err e = { 0 };

	memset(&q, 0, sizeof(q));
	q.broker_id = b->id;
	q.incarnation = b->incarnation;
	snprintf(q.host, sizeof(q.host), "%s", b->host);
	q.port = b->port;
	q.known_version = known;
	q.wait_ms = wait_ms;
	q.shutting_down = stopping;
	ctlproto_write_heartbeat_req(&body, &q);
	if (call(b, API_KLOG_BROKER_HEARTBEAT, &body, &resp) < 0) {
		buf_release(&body);
		buf_release(&resp);
		return -1;
	}
	br_init(&br, resp.data, resp.len);
	if (ctlproto_read_heartbeat_resp(&br, &r, &e) < 0)
		log_fatalx(EXIT_PROTOCOL, "%s", e.msg);
	if (r.error_code != 0)
		log_warnx("heartbeat: %s: %s", ename(r.error_code),
		    r.error_message);
	if (r.state != NULL) {
		cluster_state_release(state);
		*state = *r.state;
		free(r.state);
		r.state = NULL;
	}
	buf_release(&body);
	buf_release(&resp);
	return r.error_code;
}

static int
shutdown_req(struct broker *b, int32_t *remaining)
{
	struct ctl_shutdown_req q = { b->id, b->incarnation };
	struct ctl_shutdown_resp r;
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct breader br;
	struct err e = { 0 };

	ctlproto_write_shutdown_req(&body, &q);
	*remaining = -1;
	if (call(b, API_KLOG_CONTROLLED_SHUTDOWN, &body, &resp) < 0) {
		buf_release(&body);
		buf_release(&resp);
		return -1;
	}
	br_init(&br, resp.data, resp.len);
	if (ctlproto_read_shutdown_resp(&br, &r, &e) < 0)
		log_fatalx(EXIT_PROTOCOL, "%s", e.msg);
	*remaining = r.remaining_leaderships;
	buf_release(&body);
	buf_release(&resp);
	return r.error_code;
}

static int32_t
leads(const struct cluster_state *s, int32_t id)
{
	int32_t i, j, n = 0;

	for (i = 0; i < s->ntopics; i++)
		for (j = 0; j < s->topics[i].npartitions; j++)
			n += s->topics[i].partitions[j].leader == id;
	return n;
}

static int
cmd_run(struct broker *b)
{
	struct cluster_state st;
	struct sigaction sa;
	int32_t remaining;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	cluster_state_init(&st);
	b->retry = true;
	while (!got_term)
		if (heartbeat(b, st.version, WAIT_MS, false, &st) != 0)
			poll(NULL, 0, WAIT_MS);	/* ctrld is away: retry */
	/* Controlled shutdown, as logd does on SIGTERM. */
	rc = shutdown_req(b, &remaining);
	log_info("controlled shutdown: %s, %" PRId32 " leaderships left",
	    ename(rc), remaining);
	for (int i = 0; i < 50 && leads(&st, b->id) > 0; i++)
		heartbeat(b, st.version, WAIT_MS, true, &st);
	cluster_state_release(&st);
	return EXIT_OK;
}

static int
parse_isr(const char *s, int32_t *isr)
{
	int32_t n = 0;

	while (*s != '\0' && n < CTLPROTO_MAX_REPLICAS) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			return -1;
		isr[n++] = (int32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static int
cmd_alter_isr(struct broker *b, char **args, int nargs)
{
	struct ctl_alter_isr_req q = { b->id, b->incarnation, NULL, 1 };
	struct ctl_alter_isr_resp r;
	struct ctl_isr_item it;
	const struct cluster_partition *p;
	struct cluster_state st;
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct breader br;
	struct err e = { 0 };
	char isr[256] = "";
	int32_t i;
	int rc;

	if (nargs < 3 || nargs > 4)
		log_usage(usage_text, "alter-isr needs topic, partition, isr");
	memset(&it, 0, sizeof(it));
	snprintf(it.topic, sizeof(it.topic), "%s", args[0]);
	it.partition = (int32_t)strtol(args[1], NULL, 10);
	it.nisr = parse_isr(args[2], it.isr);
	cluster_state_init(&st);
	heartbeat(b, -1, 0, false, &st);
	p = cluster_state_partition(&st, it.topic, it.partition);
	if (p != NULL) {
		it.leader_epoch = p->leader_epoch;
		it.partition_epoch = p->partition_epoch;
	}
	if (nargs == 4)
		it.partition_epoch = (int32_t)strtol(args[3], NULL, 10);
	q.items = &it;
	ctlproto_write_alter_isr_req(&body, &q);
	call(b, API_KLOG_ALTER_ISR, &body, &resp);
	br_init(&br, resp.data, resp.len);
	if (ctlproto_read_alter_isr_resp(&br, &r, &e) < 0 || r.nresults != 1)
		log_fatalx(EXIT_PROTOCOL, "AlterIsr: %s", e.msg);
	for (i = 0; i < r.results[0].nisr; i++)
		snprintf(isr + strlen(isr), sizeof(isr) - strlen(isr), "%s%"
		    PRId32, i ? "," : "", r.results[0].isr[i]);
	rc = r.results[0].error_code;
	printf("%s leader=%" PRId32 " leader_epoch=%" PRId32
	    " partition_epoch=%" PRId32 " isr=%s\n", ename(rc),
	    r.results[0].leader, r.results[0].leader_epoch,
	    r.results[0].partition_epoch, isr);
	ctlproto_release_alter_isr_resp(&r);
	cluster_state_release(&st);
	buf_release(&body);
	buf_release(&resp);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

int
main(int argc, char **argv)
{
	struct broker b = { NULL, -1, "127.0.0.1", 0, 1, -1, 0, false };
	struct cluster_state st;
	struct err e = { 0 };
	int64_t v;
	int32_t remaining;
	int ch, rc;

	prog_init(argv[0]);
	log_init(LOG_LEVEL_INFO, false, false);
	while ((ch = getopt(argc, argv, "c:H:hI:i:p:")) != -1) {
		switch (ch) {
		case 'c': b.ctrl = optarg; break;
		case 'H': b.host = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'I':
		case 'i':
		case 'p':
			if (opt_parse_i64("option", optarg, 0, INT64_MAX, &v,
			    &e) < 0)
				log_usage(usage_text, "%s", e.msg);
			if (ch == 'I')
				b.incarnation = v;
			else if (ch == 'i')
				b.id = (int32_t)v;
			else
				b.port = (int32_t)v;
			break;
		default: log_usage(usage_text, "bad option");
		}
	}
	if (b.ctrl == NULL || b.id < 0 || optind >= argc)
		log_usage(usage_text, "need -c, -i and a command");
	if (strcmp(argv[optind], "run") == 0)
		return cmd_run(&b);
	if (strcmp(argv[optind], "alter-isr") == 0)
		return cmd_alter_isr(&b, argv + optind + 1, argc - optind - 1);
	if (strcmp(argv[optind], "shutdown") == 0) {
		rc = shutdown_req(&b, &remaining);
		printf("%s remaining=%" PRId32 "\n", ename(rc), remaining);
		return rc == 0 ? EXIT_OK : EXIT_FAIL;
	}
	if (strcmp(argv[optind], "heartbeat") == 0) {
		cluster_state_init(&st);
		rc = heartbeat(&b, -1, 0, false, &st);
		printf("%s version=%" PRId64 "\n", ename(rc), st.version);
		cluster_state_release(&st);
		return rc == 0 ? EXIT_OK : EXIT_FAIL;
	}
	log_usage(usage_text, "unknown command '%s'", argv[optind]);
}
