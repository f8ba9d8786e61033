/* SPDX-License-Identifier: MIT */
/*
 * kdump-segment: offline inspection of klog (Kafka-format) segments, index
 * files, partition and data directories. This file owns main(), option
 * parsing, the output line writer (EPIPE is a quiet stop), problem
 * reporting and the mapping of what happened to one exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "crc32c.h"
#include "exitcode.h"
#include "json.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "kdump.h"
#include "banned.h"

#define KD_DEFAULT_MAX_BATCH (256u * 1024 * 1024)

static const char usage_text[] =
    "usage: kdump-segment [-CchjqRrsVv] [-d format] [-L offset] [-M size]\n"
    "                     [-m count] [-o offset] [-p position] [-T time]\n"
    "                     path ...\n";

static const char help_text[] =
    "Dump and check klog segments (.log, .index, .timeindex), partition\n"
    "directories and data directories. Files are only ever read.\n"
    "\n"
    "  -C, --verify            check everything; print problems, totals\n"
    "  -c, --count             print the exact number of data records\n"
    "  -d, --decode FORMAT     keys and values as text, hex or base64\n"
    "  -h, --help              print this help and exit\n"
    "  -j, --json              one JSON object per line\n"
    "  -L, --lookup-offset N   find the segment and batch holding offset N\n"
    "  -M, --max-batch-bytes SIZE\n"
    "                          largest batch read or inflated (256m)\n"
    "  -m, --max-records N     stop after N records\n"
    "  -o, --offset N          start at the batch holding offset N\n"
    "  -p, --position N        start at byte N of a single .log file\n"
    "  -q, --quiet             no problem lines in text; the status tells\n"
    "  -R, --records-only      records without batch lines (implies -r)\n"
    "  -r, --records           print the records of each batch\n"
    "  -s, --summary           totals: batches, records, bytes, ranges\n"
    "  -T, --lookup-timestamp T\n"
    "                          first offset with timestamp >= T (ms or\n"
    "                          RFC 3339, e.g. 2024-01-02T03:04:05Z)\n"
    "  -V, --version           print the version and codecs, and exit\n"
    "  -v, --verbose           more messages on stderr\n"
    "\n"
    "Exit status: 0 clean, 1 lookup found nothing, 64 usage, 65 corrupt\n"
    "data, 66 missing or unreadable input, 74 output error.\n";

static const struct option long_opts[] = {
	{ "verify", no_argument, NULL, 'C' },
	{ "count", no_argument, NULL, 'c' },
	{ "decode", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "lookup-offset", required_argument, NULL, 'L' },
	{ "max-batch-bytes", required_argument, NULL, 'M' },
	{ "max-records", required_argument, NULL, 'm' },
	{ "offset", required_argument, NULL, 'o' },
	{ "position", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "records-only", no_argument, NULL, 'R' },
	{ "records", no_argument, NULL, 'r' },
	{ "summary", no_argument, NULL, 's' },
	{ "lookup-timestamp", required_argument, NULL, 'T' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

/* Usage errors: "prog: <message>", the usage text, exit 64. */
#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

static void
print_version(void)
{
	int c;

	printf("kdump-segment %s\ncodecs:", KLOG_VERSION);
	for (c = COMPRESS_NONE; c <= COMPRESS_ZSTD; c++)
		printf(" %s", compress_codec_name(c));
	printf("\ncrc32c: %s\n", crc32c_impl());
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Read exactly n digits at *s into *out; advance *s. */
static bool
digits(const char **s, int n, int64_t *out)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/*
 * A timestamp: milliseconds since the epoch, or RFC 3339
 * (YYYY-MM-DDTHH:MM:SS[.fff]Z or with a +HH:MM / -HH:MM offset).
 */
static int
parse_time(const char *name, const char *s, int64_t *out, struct err *e)
{
	int64_t y, mo, d, h, mi, sec, ms = 0, oh, om, sign, frac;
	const char *p = s;
	int n;

	if (strchr(s, '-') == NULL || s[0] == '-')
		return opt_parse_i64(name, s, INT64_MIN, INT64_MAX, out, e);
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't' &&
	    *p != ' '))
		goto bad;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
	    *p++ != ':' || !digits(&p, 2, &sec))
		goto bad;
	if (*p == '.') {
		p++;
		for (n = 0; *p >= '0' && *p <= '9'; n++, p++) {
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		}
		if (n == 0)
			goto bad;
		for (frac = n; frac < 3; frac++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
		oh = om = 0;
		sign = 1;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
			goto bad;
	} else {
		goto bad;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		goto bad;
	*out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*out = (*out - sign * (oh * 3600 + om * 60)) * 1000 + ms;
	return 0;
bad:
	return err_set(e, EXIT_USAGE,
	    "%s: expected milliseconds or an RFC 3339 time, got '%s'", name, s);
}

static void
set_mode(struct kd_opts *o, enum kd_mode m, int *mode_flag, int flag)
{
	if (*mode_flag != 0 && *mode_flag != flag)
		usage_error("options -%c and -%c cannot be used together",
		    *mode_flag, flag);
	*mode_flag = flag;
	o->mode = m;
}

/* Reject dump-only options in the other modes ("do not mix modes"). */
static void
check_combinations(const struct kd_opts *o, int mode_flag, const char *seen)
{
	static const char dump_only[] = "dmopRr";
	struct stat st;
	const char *c;

	if (o->mode != KD_MODE_DUMP) {
		for (c = dump_only; *c != '\0'; c++)
			if (strchr(seen, *c) != NULL)
				usage_error("option -%c cannot be used with -%c",
				    *c, mode_flag);
	}
	if (o->has_offset && o->has_position)
		usage_error("options -o and -p cannot be used together");
	if (o->npaths == 0)
		usage_error("no path given");
	if (o->has_position && (o->npaths != 1 ||
	    (stat(o->paths[0], &st) == 0 && !S_ISREG(st.st_mode))))
		usage_error("option -p needs exactly one .log file");
}

static void
parse_options(int argc, char **argv, struct kd_opts *o)
{
	struct err e = { 0 };
	char seen[64] = "";
	size_t nseen = 0;
	int mode_flag = 0, c;
	uint64_t u;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":Ccd:hjL:M:m:o:p:qRrsT:Vv",
	    long_opts, NULL)) != -1) {
		if (c != '?' && c != ':' && nseen < sizeof(seen) - 1) {
			seen[nseen++] = (char)c;
			seen[nseen] = '\0';
		}
		switch (c) {
		case 'C':
			set_mode(o, KD_MODE_VERIFY, &mode_flag, c);
			break;
		case 'c':
			set_mode(o, KD_MODE_COUNT, &mode_flag, c);
			break;
		case 'd':
			if (strcmp(optarg, "text") == 0)
				o->decode = KD_DECODE_TEXT;
			else if (strcmp(optarg, "hex") == 0)
				o->decode = KD_DECODE_HEX;
			else if (strcmp(optarg, "base64") == 0)
				o->decode = KD_DECODE_BASE64;
			else
				usage_error("-d: unknown format '%s' (use text, "
				    "hex or base64)", optarg);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
		case 'j':
			o->json = true;
			break;
		case 'L':
			if (opt_parse_i64("-L", optarg, 0, INT64_MAX, &o->lookup,
			    &e) < 0)
				usage_error("%s", e.msg);
			set_mode(o, KD_MODE_LOOKUP_OFFSET, &mode_flag, c);
			break;
		case 'M':
			if (opt_parse_size("-M", optarg, REC_BATCH_HEADER_SIZE,
			    (uint64_t)INT32_MAX + REC_BATCH_LOG_OVERHEAD, &u,
			    &e) < 0)
				usage_error("%s", e.msg);
			o->max_batch_bytes = (size_t)u;
			break;
		case 'm':
			if (opt_parse_u64("-m", optarg, 1, UINT64_MAX,
			    &o->max_records, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'o':
			if (opt_parse_i64("-o", optarg, 0, INT64_MAX, &o->offset,
			    &e) < 0)
				usage_error("%s", e.msg);
			o->has_offset = true;
			break;
		case 'p':
			if (opt_parse_u64("-p", optarg, 0, UINT64_MAX,
			    &o->position, &e) < 0)
				usage_error("%s", e.msg);
			o->has_position = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'R':
			o->batches = false;
			/* FALLTHROUGH */
		case 'r':
			o->records = true;
			break;
		case 's':
			set_mode(o, KD_MODE_SUMMARY, &mode_flag, c);
			break;
		case 'T':
			if (parse_time("-T", optarg, &o->lookup, &e) < 0)
				usage_error("%s", e.msg);
			set_mode(o, KD_MODE_LOOKUP_TIME, &mode_flag, c);
			break;
		case 'V':
			print_version();
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
		case 'v':
			o->verbose++;
			break;
		default: {
			char msg[160];

			opt_error_text(long_opts, c, argv[optind - 1], optopt, msg,
			    sizeof(msg));
			usage_error("%s", msg);
		}
		}
	}
	o->paths = argv + optind;
	o->npaths = argc - optind;
	check_combinations(o, mode_flag, seen);
}

int
kd_emit(struct kd_ctx *ctx)
{
	struct buf *l = &ctx->line;

	if (ctx->stop) {
		buf_clear(l);
		return -1;
	}
	if (l->failed) {
		buf_clear(l);
		log_fatalx(EXIT_OSERR, "out of memory formatting output");
	}
	if (fwrite(l->data, 1, l->len, stdout) != l->len) {
		ctx->stop = true;
		if (errno != EPIPE) {
			log_warn("unable to write to standard output");
			ctx->write_failed = true;
		}
	}
	buf_clear(l);
	return ctx->stop ? -1 : 0;
}

void
kd_problem(struct kd_ctx *ctx, const char *file, uint64_t pos,
    const char *fmt, ...)
{
	char msg[512];
	struct json_obj o;
	struct buf saved;
	va_list ap;

	ctx->problems++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ctx->o->json) {
		if (!ctx->o->quiet)
			fprintf(stderr, "%s: position %" PRIu64 ": %s\n", file,
			    pos, msg);
		return;
	}
	/* A problem may arrive while a line is half built: keep that line. */
	saved = ctx->line;
	buf_init(&ctx->line);
	json_obj_begin(&o, &ctx->line);
	json_obj_cstr(&o, "type", "problem");
	json_obj_cstr(&o, "file", file);
	json_obj_u64(&o, "position", pos);
	json_obj_cstr(&o, "message", msg);
	json_obj_end(&o);
	buf_putc(&ctx->line, '\n');
	kd_emit(ctx);
	buf_release(&ctx->line);
	ctx->line = saved;
}

void
kd_fail(struct kd_ctx *ctx, int code)
{
	if (ctx->fail_code == 0)
		ctx->fail_code = code;
}

static int
exit_status(const struct kd_ctx *ctx)
{
	if (ctx->write_failed)
		return EXIT_IOERR;
	if (ctx->fail_code != 0)
		return ctx->fail_code;
	if (ctx->problems > 0)
		return EXIT_DATAERR;
	if (ctx->not_found)
		return EXIT_FAIL;
	return EXIT_OK;
}

static int
run_target(struct kd_ctx *ctx, const struct kd_target *t)
{
	const struct kd_opts *o = ctx->o;
	size_t i;

	switch (t->kind) {
	case KD_TARGET_INDEX:
	case KD_TARGET_TIMEINDEX:
		return kd_dump_index(ctx, t);
	case KD_TARGET_CHECKPOINT:
		return kd_checkpoint(ctx, t->path);
	case KD_TARGET_PART:
		break;
	}
	switch (o->mode) {
	case KD_MODE_DUMP:
		kd_part_begin(ctx);
		for (i = 0; i < t->part.nsegs && !ctx->stop; i++)
			kd_dump_segment(ctx, &t->part, i);
		return 0;
	case KD_MODE_VERIFY:
		return kd_verify_part(ctx, &t->part);
	case KD_MODE_SUMMARY:
		return kd_summary_part(ctx, &t->part);
	case KD_MODE_COUNT:
		return kd_count_part(ctx, &t->part);
	case KD_MODE_LOOKUP_OFFSET:
	case KD_MODE_LOOKUP_TIME:
		return kd_lookup_part(ctx, &t->part);
	}
	return 0;
}

static int
kd_run(const struct kd_opts *o)
{
	struct kd_targets targets = { NULL, 0, 0 };
	struct kd_ctx ctx;
	size_t i;
	int n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.o = o;
	buf_init(&ctx.line);
	rec_iter_init(&ctx.it, o->max_batch_bytes);
	kd_stats_init(&ctx.total);
	kd_stats_init(&ctx.part);
	for (n = 0; n < o->npaths; n++)
		kd_targets_add(&ctx, &targets, o->paths[n]);
	if (o->has_position && ctx.fail_code == 0 && (targets.n != 1 ||
	    targets.v[0].kind != KD_TARGET_PART || targets.v[0].part.nsegs != 1))
		usage_error("option -p needs exactly one .log file");
	for (i = 0; i < targets.n && !ctx.stop; i++)
		run_target(&ctx, &targets.v[i]);
	if (!ctx.stop) {
		if (o->mode == KD_MODE_SUMMARY)
			kd_summary_print(&ctx);
		else if (o->mode == KD_MODE_COUNT)
			kd_count_print(&ctx);
		else if (o->mode == KD_MODE_VERIFY)
			kd_verify_print(&ctx);
	}
	if (fflush(stdout) != 0 && errno != EPIPE && !ctx.write_failed) {
		log_warn("unable to write to standard output");
		ctx.write_failed = true;
	}
	kd_targets_free(&targets);
	kd_summary_release(&ctx);
	kd_stats_release(&ctx.total);
	kd_stats_release(&ctx.part);
	rec_iter_release(&ctx.it);
	buf_release(&ctx.line);
	return exit_status(&ctx);
}

int
main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	struct kd_opts o;
	struct sigaction sa;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.batches = true;
	o.decode = KD_DECODE_TEXT;
	o.max_records = UINT64_MAX;
	o.max_batch_bytes = KD_DEFAULT_MAX_BATCH;

	parse_options(argc, argv, &o);
	log_init(o.verbose > 1 ? LOG_LEVEL_DEBUG : o.verbose == 1 ?
	    LOG_LEVEL_INFO : LOG_LEVEL_WARN, false, false);

	/* A closed pipe is a normal end (| head): see EPIPE in kd_emit. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	return kd_run(&o);
}
