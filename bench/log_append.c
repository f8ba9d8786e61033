/* SPDX-License-Identifier: MIT */
/*
 * log_append: append throughput of the partition log store. One batch of
 * 100-byte records is built once per configuration (16 KiB and 1 MiB
 * batches) and appended again and again with assigned offsets, so the
 * clock measures plog_append (and a final plog_flush), not the builder.
 * Prints one key=value line per configuration; bench/log-append runs it
 * beside dd and formats the comparison.
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "exitcode.h"
#include "log.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

#define VALUE_SIZE 100

static const char usage_text[] =
    "usage: log_append [-hq] [-t total] -d dir\n";

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "quick", no_argument, NULL, 'q' },
	{ "total", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 }
};

/* One batch of as many 100-byte records as fit in `batch_bytes`. */
static int
build_batch(size_t batch_bytes, struct buf *out, int32_t *records,
    struct err *e)
{
	uint8_t value[VALUE_SIZE];
	struct rec_builder b;
	struct rec_bytes key = { NULL, -1 };
	struct rec_bytes val = { value, VALUE_SIZE };
	int r;

	memset(value, 'v', sizeof(value));
	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	/* a record of a 100-byte value takes at most 110 bytes */
	while (rec_builder_size(&b) + 110 <= batch_bytes)
		if (rec_builder_add(&b, 1700000000000LL + b.count, key, val,
		    NULL, 0) < 0) {
			rec_builder_release(&b);
			return err_set(e, EXIT_OSERR, "out of memory");
		}
	*records = b.count;
	r = rec_builder_finish(&b, out, e);
	rec_builder_release(&b);
	return r;
}

static int
run(const char *dir, const char *name, size_t batch_bytes, uint64_t total,
    struct err *e)
{
	struct plog_config cfg;
	struct buf batch = BUF_INIT;
	struct plog *log = NULL;
	uint64_t written = 0, appends = 0;
	double t0, t1, t2;
	int32_t per_batch = 0;
	char path[4096];
	int r = -1;

	if (snprintf(path, sizeof(path), "%s/bench-%s-0", dir, name) >=
	    (int)sizeof(path))
		return err_set(e, EXIT_USAGE, "directory name too long");
	plog_config_init(&cfg);
	/* One segment holds the run: rolls (which fsync) stay out of it. */
	cfg.segment_bytes = INT32_MAX;
	if (build_batch(batch_bytes, &batch, &per_batch, e) < 0 ||
	    plog_open(path, &cfg, 0, 0, 0, NULL, &log, e) < 0)
		goto out;
	t0 = bench_now_s();
	while (written < total) {
		if (plog_append(log, batch.data, batch.len,
		    PLOG_APPEND_ASSIGN_OFFSETS, 0, NULL, e) < 0)
			goto out;
		written += batch.len;
		appends++;
	}
	t1 = bench_now_s();
	if (plog_flush(log, e) < 0)
		goto out;
	t2 = bench_now_s();
	printf("config=%s batch_bytes=%zu records_per_batch=%" PRId32
	    " value_bytes=%d appends=%" PRIu64 " records=%" PRIu64
	    " bytes=%" PRIu64 " append_s=%.3f flush_s=%.3f"
	    " records_per_s=%.0f mb_per_s=%.1f mb_per_s_fsync=%.1f"
	    " segments=%zu\n", name, batch.len, per_batch, VALUE_SIZE, appends,
	    appends * (uint64_t)per_batch, written, t1 - t0, t2 - t1,
	    (double)(appends * (uint64_t)per_batch) / (t1 - t0),
	    (double)written / 1e6 / (t1 - t0),
	    (double)written / 1e6 / (t2 - t0), plog_segment_count(log));
	fflush(stdout);
	r = 0;
out:
	if (log != NULL && plog_close(log, r < 0 ? NULL : e) < 0)
		r = -1;
	buf_release(&batch);
	return r;
}

/* Remove the partition directory a run left (flat: segment files only). */
static void
cleanup(const char *dir, const char *name)
{
	char path[4096], file[4400];
	struct dirent *d;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/bench-%s-0", dir, name);
	if ((dp = opendir(path)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, d->d_name);
		unlink(file);
	}
	closedir(dp);
	rmdir(path);
}

int
main(int argc, char **argv)
{
	struct err e = { 0, "" };
	const char *dir = NULL;
	uint64_t total = 1ULL << 30;
	int c;

	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "d:hqt:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		case 'q':
			total = 64ULL << 20;
			break;
		case 't':
			total = bench_opt_size(usage_text, "--total", optarg,
			    1 << 20, 1ULL << 40);
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind != argc)
		log_usage(usage_text, "%s", dir == NULL ? "missing -d dir" :
		    "too many arguments");
	if (run(dir, "16k", 16384, total, &e) < 0 ||
	    (cleanup(dir, "16k"), run(dir, "1m", 1 << 20, total, &e)) < 0) {
		cleanup(dir, "16k");
		cleanup(dir, "1m");
		bench_die(EXIT_FAIL, "%s", e.msg);
	}
	cleanup(dir, "1m");
	return EXIT_OK;
}
