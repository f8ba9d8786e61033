/* SPDX-License-Identifier: MIT */
/*
 * redis_stream: Redis Streams as a peer of klog in bench/peers.sh (hiredis).
 * Reads FILE (one record a line) into memory first, then, with the clock
 * running:
 *   produce  XADD KEY * v <line> for every line, pipelined: --pipeline
 *            commands are written in one go, and the next window is
 *            written before the replies of the previous one are read, so
 *            the server always has a window to work on;
 *   consume  XREAD COUNT --count STREAMS KEY <last id> from 0-0 until every
 *            line has come back, each value checked against its line.
 * Prints one key=value line: mode, records, bytes, secs, records_per_s.
 * Exit 0 only when every record was acknowledged (produce) or read back
 * in order and intact (consume).
 */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

static const char usage_text[] =
    "usage: redis_stream [-h] [-C count] [-P pipeline] -a host:port -k key"
    " -f file produce|consume\n";

static const struct option long_opts[] = {
	{ "addr", required_argument, NULL, 'a' },
	{ "count", required_argument, NULL, 'C' },
	{ "file", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "key", required_argument, NULL, 'k' },
	{ "pipeline", required_argument, NULL, 'P' },
	{ NULL, 0, NULL, 0 }
};

static void
flush_out(redisContext *c)
{
	int done = 0;

	do
		if (redisBufferWrite(c, &done) != REDIS_OK)
			bench_die(EXIT_UNAVAILABLE, "write: %s", c->errstr);
	while (!done);
}

static redisReply *
get_reply(redisContext *c)
{
	void *reply = NULL;

	if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL)
		bench_die(EXIT_UNAVAILABLE, "read: %s", c->errstr);
	return reply;
}

/* Read the replies to `n` XADDs: each must be an entry id. */
static void
read_acks(redisContext *c, size_t n)
{
	redisReply *r;

	while (n-- > 0) {
		r = get_reply(c);
		if (r->type != REDIS_REPLY_STRING)
			bench_die(EXIT_FAIL, "XADD: %s",
			    r->type == REDIS_REPLY_ERROR ? r->str :
			    "unexpected reply");
		freeReplyObject(r);
	}
}

static void
produce(redisContext *c, const char *key, const struct bench_lines *l,
    size_t pipeline)
{
	const char *argv[5] = { "XADD", key, "*", "v", NULL };
	size_t argvlen[5] = { 4, strlen(key), 1, 1, 0 };
	size_t i = 0, k, inflight = 0, this;

	while (i < l->n) {
		this = l->n - i < pipeline ? l->n - i : pipeline;
		for (k = 0; k < this; k++, i++) {
			argv[4] = bench_line(l, i, &argvlen[4]);
			if (redisAppendCommandArgv(c, 5, argv, argvlen) !=
			    REDIS_OK)
				bench_die(EXIT_OSERR, "out of memory");
		}
		flush_out(c);
		read_acks(c, inflight);
		inflight = this;
	}
	read_acks(c, inflight);
}

static void
consume(redisContext *c, const char *key, const struct bench_lines *l,
    long count)
{
	char countbuf[32], last[64] = "0-0";
	const char *argv[6] = { "XREAD", "COUNT", countbuf, "STREAMS", key,
	    last };
	size_t argvlen[6] = { 5, 5, 0, 7, strlen(key), 0 };
	redisReply *r, *entries, *e, *id, *fv;
	size_t got = 0, j, len;
	const char *want;

	argvlen[2] = (size_t)snprintf(countbuf, sizeof(countbuf), "%ld", count);
	while (got < l->n) {
		argvlen[5] = strlen(last);
		if ((r = redisCommandArgv(c, 6, argv, argvlen)) == NULL)
			bench_die(EXIT_UNAVAILABLE, "XREAD: %s", c->errstr);
		if (r->type == REDIS_REPLY_NIL) {
			freeReplyObject(r);
			break;		/* no more entries */
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
		    r->element[0]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->elements != 2 ||
		    r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
			bench_die(EXIT_FAIL, "XREAD: %s",
			    r->type == REDIS_REPLY_ERROR ? r->str :
			    "unexpected reply");
		entries = r->element[0]->element[1];
		for (j = 0; j < entries->elements; j++) {
			e = entries->element[j];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    (id = e->element[0])->type != REDIS_REPLY_STRING ||
			    (fv = e->element[1])->type != REDIS_REPLY_ARRAY ||
			    fv->elements != 2 ||
			    fv->element[1]->type != REDIS_REPLY_STRING)
				bench_die(EXIT_FAIL, "XREAD: unexpected entry");
			if (got >= l->n)
				bench_die(EXIT_FAIL, "more than %zu entries",
				    l->n);
			want = bench_line(l, got, &len);
			if (fv->element[1]->len != len ||
			    memcmp(fv->element[1]->str, want, len) != 0)
				bench_die(EXIT_FAIL, "entry %zu (id %s) differs"
				    " from line %zu", got + 1, id->str,
				    got + 1);
			got++;
			if (j + 1 == entries->elements) {
				if (id->len >= sizeof(last))
					bench_die(EXIT_FAIL,
					    "entry id too long");
				memcpy(last, id->str, id->len + 1);
			}
		}
		freeReplyObject(r);
	}
	if (got != l->n)
		bench_die(EXIT_FAIL, "read %zu entries back, expected %zu", got,
		    l->n);
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *key = NULL, *file = NULL, *mode, *colon;
	long pipeline = 1000, count = 1000, port;
	char host[256];
	struct bench_lines l;
	redisContext *c;
	double t0, t1;
	int ch;

	prog_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "a:C:f:hk:P:", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'C':
			count = (long)bench_opt_u64(usage_text, "--count",
			    optarg, 1, 1000000);
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		case 'k':
			key = optarg;
			break;
		case 'P':
			pipeline = (long)bench_opt_u64(usage_text,
			    "--pipeline", optarg, 1, 1000000);
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (addr == NULL || key == NULL || file == NULL || optind + 1 != argc ||
	    (strcmp(argv[optind], "produce") != 0 &&
	    strcmp(argv[optind], "consume") != 0)) {
		fprintf(stderr, "%s", usage_text);
		return EXIT_USAGE;
	}
	mode = argv[optind];
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= sizeof(host))
		log_usage(usage_text, "--addr: want host:port, not '%s'", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = (long)bench_opt_u64(usage_text, "--addr port", colon + 1, 1,
	    65535);

	bench_lines_load(file, &l);
	/* A server that accepts and never answers must not hang the bench. */
	if ((c = redisConnectWithTimeout(host, (int)port,
	    (struct timeval){ .tv_sec = 5 })) == NULL || c->err)
		bench_die(EXIT_UNAVAILABLE, "connect to %s: %s", addr,
		    c != NULL ? c->errstr : "out of memory");
	t0 = bench_now_s();
	if (mode[0] == 'p')
		produce(c, key, &l, (size_t)pipeline);
	else
		consume(c, key, &l, count);
	t1 = bench_now_s();
	printf("mode=%s records=%zu bytes=%zu secs=%.3f records_per_s=%.0f\n",
	    mode, l.n, l.bytes, t1 - t0, (double)l.n / (t1 - t0));
	redisFree(c);
	bench_lines_release(&l);
	return EXIT_OK;
}
