/* SPDX-License-Identifier: MIT */
/*
 * mklog: write deterministic records into a partition directory through
 * the plog API, for tests and benchmarks (the directory and its parents
 * are created if missing). Values are "value-<i>" padded with 'x' (or
 * deterministic non-UTF-8 bytes with -B); the directory is closed cleanly
 * unless --unclean simulates a crash.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "compress.h"
#include "exitcode.h"
#include "log.h"
#include "opt.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static const char usage_text[] =
    "usage: mklog [-BHh] [-b count] [-k keys] [-n count] [-s size]\n"
    "             [-T step] [-t ms] [-z codec] [--index-interval bytes]\n"
    "             [--segment-bytes bytes] [--unclean] dir\n";

static const char help_text[] =
    "Write records into the partition directory DIR (created if missing).\n"
    "\n"
    "  -B                  binary values (deterministic, not UTF-8)\n"
    "  -b N                records per batch (100)\n"
    "  -H                  two headers per record: h1=\"a\", h2=null\n"
    "  -h, --help          print this help and exit\n"
    "  -k N                keys cycle \"key-<i%N>\"; 0 = null keys (0)\n"
    "  -n N                number of records (1000)\n"
    "  -s N                value size in bytes (100)\n"
    "  -T MS               timestamp step per record (1)\n"
    "  -t MS               first record timestamp (1700000000000)\n"
    "  -z CODEC            none, gzip, snappy, lz4 or zstd (none)\n"
    "  --index-interval N  index.interval.bytes (4096)\n"
    "  --segment-bytes N   segment.bytes (1073741824)\n"
    "  --unclean           exit without closing (simulates a crash)\n"
    "\n"
    "Prints \"records N batches B end_offset E\". Exit status: 0 done,\n"
    "1 failure, 64 usage.\n";

enum { OPT_INDEX_INTERVAL = 256, OPT_SEGMENT_BYTES, OPT_UNCLEAN };

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "index-interval", required_argument, NULL, OPT_INDEX_INTERVAL },
	{ "segment-bytes", required_argument, NULL, OPT_SEGMENT_BYTES },
	{ "unclean", no_argument, NULL, OPT_UNCLEAN },
	{ NULL, 0, NULL, 0 }
};

struct mklog_opts {
	uint64_t records;
	uint64_t per_batch;
	uint64_t value_size;
	uint64_t keys;
	enum compress_codec codec;
	int64_t first_ts;
	int64_t ts_step;
	bool headers;
	bool binary;
	bool unclean;
	struct plog_config cfg;
	const char *dir;
};

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	exit(EXIT_USAGE);
}

static void
parse_opts(int argc, char **argv, struct mklog_opts *o)
{
	struct err e = { 0, "" };
	uint64_t u;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "BHb:hk:n:s:T:t:z:", long_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'B':
			o->binary = true;
			break;
		case 'H':
			o->headers = true;
			break;
		case 'b':
			r = opt_parse_u64("-b", optarg, 1, INT32_MAX,
			    &o->per_batch, &e);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(EXIT_OK);
		case 'k':
			r = opt_parse_u64("-k", optarg, 0, INT32_MAX, &o->keys,
			    &e);
			break;
		case 'n':
			r = opt_parse_u64("-n", optarg, 0, INT64_MAX / 2,
			    &o->records, &e);
			break;
		case 's':
			r = opt_parse_u64("-s", optarg, 0, 64 << 20,
			    &o->value_size, &e);
			break;
		case 'T':
			r = opt_parse_i64("-T", optarg, 0, INT32_MAX,
			    &o->ts_step, &e);
			break;
		case 't':
			r = opt_parse_i64("-t", optarg, 0, INT64_MAX / 2,
			    &o->first_ts, &e);
			break;
		case 'z':
			r = compress_codec_parse(optarg, &o->codec, &e);
			break;
		case OPT_INDEX_INTERVAL:
			r = opt_parse_u64("--index-interval", optarg, 0,
			    INT32_MAX, &u, &e);
			o->cfg.index_interval_bytes = (int64_t)u;
			break;
		case OPT_SEGMENT_BYTES:
			r = opt_parse_size("--segment-bytes", optarg,
			    REC_BATCH_HEADER_SIZE, INT32_MAX, &u, &e);
			o->cfg.segment_bytes = (int64_t)u;
			break;
		case OPT_UNCLEAN:
			o->unclean = true;
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			exit(EXIT_USAGE);
		}
		if (r < 0)
			usage_error("%s", e.msg);
	}
	if (argc - optind != 1)
		usage_error(argc - optind == 0 ? "missing directory" :
		    "too many arguments");
	o->dir = argv[optind];
}

/* Record i's value: "value-<i>" then 'x', or bytes that are not UTF-8. */
static void
fill_value(uint8_t *v, size_t size, uint64_t i, bool binary)
{
	char head[32];
	size_t n, j;

	if (binary) {
		for (j = 0; j < size; j++)
			v[j] = (uint8_t)(0x80 | ((i * 131 + j * 17) & 0x7f));
		if (size > 0)
			v[0] = 0xff;
		return;
	}
	n = (size_t)snprintf(head, sizeof(head), "value-%" PRIu64, i);
	if (n > size)
		n = size;
	memcpy(v, head, n);
	memset(v + n, 'x', size - n);
}

/* Create the parents of `dir`, as mkdir -p would (plog makes `dir`). */
static int
make_parents(const char *dir, struct err *e)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return err_set(e, EXIT_USAGE, "path too long: '%s'", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_sys(e, EXIT_CANTCREAT, "unable to create '%s'",
			    path);
		path[i] = '/';
	}
	return 0;
}

static int
run(const struct mklog_opts *o, uint64_t *batches_out, struct plog **logp,
    struct err *e)
{
	static const uint8_t hval[] = "a";
	struct rec_header hdrs[2] = {
		{ { (const uint8_t *)"h1", 2 }, { hval, 1 } },
		{ { (const uint8_t *)"h2", 2 }, { NULL, -1 } },
	};
	struct rec_builder b;
	struct buf batch = BUF_INIT;
	uint8_t *value;
	char key[32];
	uint64_t i;
	int r = -1;

	value = malloc(o->value_size ? o->value_size : 1);
	if (value == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	rec_builder_init(&b, o->codec, COMPRESS_LEVEL_DEFAULT);
	if (make_parents(o->dir, e) < 0 ||
	    plog_open(o->dir, &o->cfg, 0, 0, 0, NULL, logp, e) < 0)
		goto out;
	for (i = 0; i < o->records; i++) {
		struct rec_bytes k = { NULL, -1 };
		struct rec_bytes v = { value, (int32_t)o->value_size };

		if (o->keys > 0)
			k = (struct rec_bytes){ (const uint8_t *)key,
			    snprintf(key, sizeof(key), "key-%" PRIu64,
			    i % o->keys) };
		fill_value(value, o->value_size, i, o->binary);
		if (rec_builder_add(&b, o->first_ts + (int64_t)i * o->ts_step,
		    k, v, o->headers ? hdrs : NULL, o->headers ? 2 : 0) < 0) {
			err_set(e, EXIT_OSERR, "out of memory");
			goto out;
		}
		if ((uint64_t)b.count < o->per_batch && i + 1 < o->records)
			continue;
		buf_clear(&batch);
		if (rec_builder_finish(&b, &batch, e) < 0 ||
		    plog_append(*logp, batch.data, batch.len,
		    PLOG_APPEND_ASSIGN_OFFSETS, clock_wall_ms(), NULL, e) < 0)
			goto out;
		rec_builder_reset(&b);
		(*batches_out)++;
	}
	r = 0;
out:
	rec_builder_release(&b);
	buf_release(&batch);
	free(value);
	return r;
}

int
main(int argc, char **argv)
{
	struct mklog_opts o;
	struct plog *log = NULL;
	struct err e = { 0, "" };
	uint64_t batches = 0;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.records = 1000;
	o.per_batch = 100;
	o.value_size = 100;
	o.codec = COMPRESS_NONE;
	o.first_ts = 1700000000000LL;
	o.ts_step = 1;
	plog_config_init(&o.cfg);
	/* a test tool: big batches are the caller's business */
	o.cfg.max_batch_bytes = INT32_MAX;
	parse_opts(argc, argv, &o);

	if (run(&o, &batches, &log, &e) < 0) {
		fprintf(stderr, "%s: %s\n", prog_name(), e.msg);
		plog_close(log, NULL);
		return EXIT_FAIL;
	}
	printf("records %" PRIu64 " batches %" PRIu64 " end_offset %" PRId64
	    "\n", o.records, batches, plog_end_offset(log));
	if (o.unclean) {
		/* A crash: nothing trimmed, flushed or freed. */
		fflush(stdout);
		_exit(EXIT_OK);
	}
	if (plog_flush(log, &e) < 0) {
		plog_close(log, NULL);
		fprintf(stderr, "%s: %s\n", prog_name(), e.msg);
		return EXIT_FAIL;
	}
	if (plog_close(log, &e) < 0) {
		fprintf(stderr, "%s: %s\n", prog_name(), e.msg);
		return EXIT_FAIL;
	}
	if (fflush(stdout) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}
