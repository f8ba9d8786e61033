/* SPDX-License-Identifier: MIT */
/*
 * compact: run one log-compaction pass (plog_compact) over a partition
 * directory, for tests: opens the log, compacts it with the options
 * given, prints the pass's result as "name value" lines and closes the
 * log cleanly. The cleaner checkpoint is not kept between runs unless
 * given with -c (logd keeps it in cleaner-offset-checkpoint).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exitcode.h"
#include "log.h"
#include "opt.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static const char usage_text[] =
    "usage: compact [-h] [-b bytes] [-c offset] [-d ms] [-m bytes]\n"
    "               [-r ratio] [-t ms] [-u offset]\n"
    "               [--segment-bytes bytes] dir\n";

static const char help_text[] =
    "Run one compaction pass over the partition directory DIR.\n"
    "\n"
    "  -b N                I/O limit in bytes per second (0: none)\n"
    "  -c N                cleaner checkpoint to start from (none)\n"
    "  -d MS               delete.retention.ms (86400000)\n"
    "  -h, --help          print this help and exit\n"
    "  -m N                offset map bytes (134217728)\n"
    "  -r R                min.cleanable.dirty.ratio, 0 to 1 (0.5)\n"
    "  -t MS               the pass's wall clock (now)\n"
    "  -u N                first uncleanable offset (none)\n"
    "  --segment-bytes N   segment.bytes (1073741824)\n"
    "\n"
    "Prints the result, one \"name value\" per line. Exit status: 0 done\n"
    "(whether or not the pass ran), 64 usage, 66 no such directory, or\n"
    "the error's class.\n";

enum { OPT_SEGMENT_BYTES = 256 };

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "segment-bytes", required_argument, NULL, OPT_SEGMENT_BYTES },
	{ NULL, 0, NULL, 0 }
};

struct compact_opts {
	struct plog_compact_opts co;
	struct plog_config cfg;
	int64_t checkpoint;
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

static int
parse_ratio(const char *s, double *out, struct err *e)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return err_set(e, EXIT_USAGE, "-r: '%s' is not a ratio in "
		    "[0, 1]", s);
	*out = v;
	return 0;
}

static void
parse_opts(int argc, char **argv, struct compact_opts *o)
{
	struct err e = { 0, "" };
	uint64_t u;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "b:c:d:hm:r:t:u:", long_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'b':
			r = opt_parse_size("-b", optarg, 0, UINT64_MAX / 1000,
			    &o->co.io_bytes_per_sec, &e);
			break;
		case 'c':
			r = opt_parse_i64("-c", optarg, 0, INT64_MAX,
			    &o->checkpoint, &e);
			break;
		case 'd':
			r = opt_parse_i64("-d", optarg, 0, INT64_MAX,
			    &o->co.delete_retention_ms, &e);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(EXIT_OK);
		case 'm':
			r = opt_parse_size("-m", optarg, 0, UINT64_MAX,
			    &o->co.offset_map_bytes, &e);
			break;
		case 'r':
			r = parse_ratio(optarg, &o->co.min_cleanable_ratio, &e);
			break;
		case 't':
			r = opt_parse_i64("-t", optarg, 0, INT64_MAX,
			    &o->co.now_ms, &e);
			break;
		case 'u':
			r = opt_parse_i64("-u", optarg, 0, INT64_MAX,
			    &o->co.first_uncleanable_offset, &e);
			break;
		case OPT_SEGMENT_BYTES:
			r = opt_parse_size("--segment-bytes", optarg,
			    REC_BATCH_HEADER_SIZE, INT32_MAX, &u, &e);
			o->cfg.segment_bytes = (int64_t)u;
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

static void
print_result(const struct plog_compact_result *r)
{
	printf("ran %d\n", r->ran ? 1 : 0);
	printf("dirty_ratio %.3f\n", r->dirty_ratio);
	printf("first_dirty_offset %" PRId64 "\n", r->first_dirty_offset);
	printf("first_uncleanable_offset %" PRId64 "\n",
	    r->first_uncleanable_offset);
	printf("checkpoint %" PRId64 "\n", r->checkpoint);
	printf("map_full %d\n", r->map_full ? 1 : 0);
	printf("keys_mapped %" PRIu64 "\n", r->keys_mapped);
	printf("segments_cleaned %d\n", r->segments_cleaned);
	printf("segments_written %d\n", r->segments_written);
	printf("bytes_before %" PRIu64 "\n", r->bytes_before);
	printf("bytes_after %" PRIu64 "\n", r->bytes_after);
	printf("batches_read %" PRIu64 "\n", r->batches_read);
	printf("batches_kept %" PRIu64 "\n", r->batches_kept);
	printf("batches_emptied %" PRIu64 "\n", r->batches_emptied);
	printf("records_read %" PRIu64 "\n", r->records_read);
	printf("records_kept %" PRIu64 "\n", r->records_kept);
	printf("records_removed %" PRIu64 "\n", r->records_removed);
	printf("tombstones_dropped %" PRIu64 "\n", r->tombstones_dropped);
}

int
main(int argc, char **argv)
{
	struct plog_compact_result res;
	struct compact_opts o;
	struct plog *log = NULL;
	struct err e = { 0, "" };
	struct stat st;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	plog_compact_opts_init(&o.co);
	plog_config_init(&o.cfg);
	o.cfg.max_batch_bytes = INT32_MAX;
	o.checkpoint = -1;
	parse_opts(argc, argv, &o);

	if (stat(o.dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: no such directory: '%s'\n", prog_name(),
		    o.dir);
		return EXIT_NOINPUT;
	}
	if (plog_open(o.dir, &o.cfg, 0, 0, 0, NULL, &log, &e) < 0)
		goto fail;
	plog_set_cleaner_checkpoint(log, o.checkpoint);
	if (plog_compact(log, &o.co, &res, &e) < 0 ||
	    plog_flush(log, &e) < 0)
		goto fail;
	if (plog_close(log, &e) < 0) {
		log = NULL;
		goto fail;
	}
	print_result(&res);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR;
fail:
	fprintf(stderr, "%s: %s\n", prog_name(), e.msg);
	plog_free(log);
	return e.code != 0 ? e.code : EXIT_SOFTWARE;
}
