/* SPDX-License-Identifier: MIT */
/*
 * idle_topics: create (or delete) topics in bulk for the benchmarks, with
 * CreateTopics (DeleteTopics) requests of up to 1000 topics each, so that
 * 1,000 topics, a 512-partition topic or a topic with its own flush
 * settings take one round trip instead of one client process apiece.
 *
 *   idle_topics -b ADDR [-p PARTITIONS] [-c key=value]... NAME...
 *       create the topics NAME... (PARTITIONS each, default 1) with the
 *       topic configs given (flush.messages=1, say)
 *   idle_topics -b ADDR -n COUNT [-p PARTITIONS] [-c key=value]... PREFIX
 *       create PREFIX0 .. PREFIX<COUNT-1>
 *   idle_topics -b ADDR -D [-n COUNT] NAME...|PREFIX
 *       delete them instead
 *
 * Prints one line: what was done, how many topics and how long it took.
 * Exit 0 when every topic was created (deleted), 1 when the broker refused
 * some (each refusal is printed with its error), 69 when no broker answers,
 * 64 on usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "buf.h"
#include "bytes.h"
#include "client.h"
#include "exitcode.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

#define PER_REQUEST 1000
#define TIMEOUT_MS 600000
#define MAX_CONFIGS 32

static const char usage_text[] =
    "usage: idle_topics -b addr [-D] [-n count] [-p partitions]\n"
    "                   [-c key=value]... name...\n";

struct cfg_pair {
	char *key;
	const char *value;
};

static const char *
ename(int code)
{
	return proto_error_name(code) ? proto_error_name(code) : "UNKNOWN";
}

/* One CreateTopics (or DeleteTopics) request for names[0..n). */
static int
one_request(struct kcl_conn *c, bool delete, char **names, size_t n,
    int32_t partitions, const struct cfg_pair *cfg, size_t ncfg,
    size_t *failed, struct err *e)
{
	struct buf resp = BUF_INIT, *b;
	struct breader r;
	int v;
	int32_t i, count;
	size_t k;

	if (delete) {
		if ((v = kcl_version(c, API_DELETE_TOPICS, 1, 1)) < 0)
			return err_set(e, EXIT_PROTOCOL, "%s: no DeleteTopics v1",
			    kcl_conn_name(c));
		b = kcl_request_begin(c, API_DELETE_TOPICS, (int16_t)v);
		buf_put_i32(b, (int32_t)n);
		for (k = 0; k < n; k++)
			proto_put_cstr(b, names[k]);
		buf_put_i32(b, TIMEOUT_MS);
	} else {
		if ((v = kcl_version(c, API_CREATE_TOPICS, 2, 2)) < 0)
			return err_set(e, EXIT_PROTOCOL, "%s: no CreateTopics v2",
			    kcl_conn_name(c));
		b = kcl_request_begin(c, API_CREATE_TOPICS, (int16_t)v);
		buf_put_i32(b, (int32_t)n);
		for (k = 0; k < n; k++) {
			size_t j;

			proto_put_cstr(b, names[k]);
			buf_put_i32(b, partitions);
			buf_put_i16(b, -1);	/* replication: the broker's */
			buf_put_i32(b, 0);	/* no assignments */
			buf_put_i32(b, (int32_t)ncfg);
			for (j = 0; j < ncfg; j++) {
				proto_put_cstr(b, cfg[j].key);
				proto_put_cstr(b, cfg[j].value);
			}
		}
		buf_put_i32(b, TIMEOUT_MS);
		proto_put_bool(b, false);	/* validate_only */
	}
	if (kcl_request_wait(c, &resp, e) < 0) {
		buf_release(&resp);
		return -1;
	}
	br_init(&r, resp.data, resp.len);
	(void)br_i32(&r);			/* throttle_time_ms */
	count = proto_read_array_len(&r, false, 4);
	for (i = 0; i < count && br_ok(&r); i++) {
		struct proto_str name = proto_read_str(&r, false);
		int16_t code = br_i16(&r);
		struct proto_str msg = { NULL, -1 };

		if (!delete)
			msg = proto_read_str(&r, true);
		if (br_ok(&r) && code != KERR_NONE) {
			(*failed)++;
			fprintf(stderr, "%s: %.*s: %s%s%.*s\n", prog_name(),
			    (int)name.len, name.p, ename(code),
			    msg.len > 0 ? ": " : "", msg.len > 0 ? (int)msg.len : 0,
			    msg.len > 0 ? msg.p : "");
		}
	}
	if (!br_ok(&r) || count != (int32_t)n) {
		buf_release(&resp);
		return err_set(e, EXIT_PROTOCOL, "%s: malformed %s response",
		    kcl_conn_name(c), delete ? "DeleteTopics" : "CreateTopics");
	}
	buf_release(&resp);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "delete", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "count", required_argument, NULL, 'n' },
		{ "partitions", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct cfg_pair cfg[MAX_CONFIGS];
	struct kcl_config kc;
	struct kcl *k = NULL;
	struct kcl_conn *conn;
	struct err e = { 0 };
	const char *brokers = NULL;
	char **names;
	size_t ncfg = 0, nnames, i, failed = 0;
	uint64_t count = 0, partitions = 1;
	bool delete = false;
	int64_t t0;
	int ch, rc = EXIT_OK;

	prog_init(argv[0]);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":b:c:Dhn:p:", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b': brokers = optarg; break;
		case 'c': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg)
				log_usage(usage_text, "-c: expected key=value, "
				    "got '%s'", optarg);
			if (ncfg == MAX_CONFIGS)
				log_usage(usage_text, "-c: at most %d configs",
				    MAX_CONFIGS);
			cfg[ncfg].key = xstrdup(optarg);
			cfg[ncfg].key[eq - optarg] = '\0';
			cfg[ncfg].value = eq + 1;
			ncfg++;
			break;
		}
		case 'D': delete = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'n':
			count = bench_opt_u64(usage_text, "-n", optarg, 1,
			    1000000);
			break;
		case 'p':
			partitions = bench_opt_u64(usage_text, "-p", optarg, 1,
			    1000000);
			break;
		default:
			bench_opt_error(usage_text, long_opts, ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (brokers == NULL)
		log_usage(usage_text, "no broker given (use -b host:port)");
	if (argc == 0)
		log_usage(usage_text, "no topic given");
	if (count > 0 && argc != 1)
		log_usage(usage_text, "-n takes one name prefix");
	if (count > 0) {
		nnames = (size_t)count;
		names = xcalloc(nnames, sizeof(*names));
		for (i = 0; i < nnames; i++) {
			size_t len = strlen(argv[0]) + 24;

			names[i] = xmalloc(len);
			snprintf(names[i], len, "%s%zu", argv[0], i);
		}
	} else {
		nnames = (size_t)argc;
		names = xcalloc(nnames, sizeof(*names));
		for (i = 0; i < nnames; i++)
			names[i] = xstrdup(argv[i]);
	}

	kcl_config_init(&kc);
	kc.bootstrap = brokers;
	kc.client_id = "idle_topics";
	kc.request_timeout_ms = TIMEOUT_MS;
	t0 = clock_mono_ms();
	if (kcl_new(&kc, &k, &e) < 0 || (conn = kcl_conn(k, -1, &e)) == NULL) {
		log_errorx("%s", e.msg);
		rc = e.code == EXIT_USAGE ? EXIT_USAGE : EXIT_UNAVAILABLE;
		goto out;
	}
	for (i = 0; i < nnames; i += PER_REQUEST) {
		size_t n = nnames - i < PER_REQUEST ? nnames - i : PER_REQUEST;

		if (one_request(conn, delete, names + i, n, (int32_t)partitions,
		    cfg, ncfg, &failed, &e) < 0) {
			log_errorx("%s", e.msg);
			rc = e.code ? e.code : EXIT_FAIL;
			goto out;
		}
	}
	if (delete)
		printf("deleted %zu topics in %" PRId64 " ms\n",
		    nnames - failed, clock_mono_ms() - t0);
	else
		printf("created %zu topics of %" PRIu64 " partitions in %"
		    PRId64 " ms\n", nnames - failed, partitions,
		    clock_mono_ms() - t0);
	if (failed > 0) {
		fprintf(stderr, "%s: %zu of %zu topics refused\n", prog_name(),
		    failed, nnames);
		rc = EXIT_FAIL;
	}
out:
	kcl_free(k);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	for (i = 0; i < ncfg; i++)
		free(cfg[i].key);
	return rc;
}
