/* SPDX-License-Identifier: MIT */
/*
 * kcons: the pipeline consumer. Reads records of one or more topics from
 * klog (or any Kafka) brokers and writes them to stdout: values one per
 * line by default, kcat-style format strings, or the klog JSON record
 * envelope. This file holds main(), option parsing, the client set-up and
 * the mapping of what happened to one exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"
#include "exitcode.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "kcons.h"
#include "banned.h"

volatile sig_atomic_t kc_signalled;

static const char usage_text[] =
    "usage: kcons [-0ehJquVvZ] [-b brokers] [-c count] [-D delim] [-F file]\n"
    "             [-f format] [-i idle] [-K delim] [-m timeout] [-o offset]\n"
    "             [-p partitions] [-X key=value] -t topic\n"
    "       kcons -G group [-Be] [-a assignor] [options] -t topic ...\n";

static const char help_text[] =
    "Write the records of TOPIC to standard output, one value per line by\n"
    "default. Every partition unless -p; from the beginning unless -o.\n"
    "With -G, share the partitions with the other members of a consumer\n"
    "group and commit the offsets of what was written.\n"
    "\n"
    "  -0, --null              end each record with a NUL byte (-D '\\0')\n"
    "  -a, --assignor LIST     group assignors: range, roundrobin, sticky,\n"
    "                          cooperative-sticky (incremental rebalancing\n"
    "                          when alone; default range,roundrobin)\n"
    "  -B, --commit-before     -G: commit before writing (at-most-once)\n"
    "  -b, --brokers LIST      host:port,... (else $KLOG_BROKERS)\n"
    "  -c, --count N           exit after N records\n"
    "  -D, --delimiter DELIM   end each record with DELIM (default \\n)\n"
    "  -e, --exit-at-end       exit at the end of the log as it was at start\n"
    "  -F, --config FILE       client properties (else $KLOG_CONFIG)\n"
    "  -f, --format FORMAT     %s value, %k key, %t %p %o %T %h, ...\n"
    "  -G, --group GROUP       consume as a member of consumer group GROUP\n"
    "  -h, --help              print this help and exit\n"
    "  -i, --idle-timeout DUR  exit when no record came for DUR (e.g. 10s)\n"
    "  -J, --json              one klog JSON record envelope per line\n"
    "  -K, --key-delimiter D   print the key, D, then the value\n"
    "  -m, --timeout DUR       give up on unreachable brokers after DUR\n"
    "                          (default 60s; 0 waits forever)\n"
    "  -o, --offset OFFSET     beginning, end, N, -N, +N, @TIME, @-DURATION,\n"
    "                          START:STOP, s@TIME, e@TIME, stored (-G)\n"
    "  -p, --partition LIST    only these partitions (N[,N...])\n"
    "  -q, --quiet             print errors only\n"
    "  -t, --topic TOPIC       topic to read (repeatable, or a,b,c)\n"
    "  -u, --unbuffered        write every record at once\n"
    "  -V, --version           print the version and exit\n"
    "  -v, --verbose           more messages on stderr (repeatable)\n"
    "  -X, --property K=V      client property; -X list, -X dump\n"
    "  -Z, --print-null        print null keys and values as NULL\n"
    "\n"
    "With -G, heartbeats come from their own thread: a blocked stdout keeps\n"
    "the membership for up to max.poll.interval.ms (-X, default 300000).\n"
    "\n"
    "Exit status: 0 done (-e, -c, -i, closed pipe, signal), 1 failed, 64\n"
    "usage, 67 unknown topic or partition, 69 no broker, 75 timeout, 78\n"
    "configuration.\n";

static const struct option long_opts[] = {
	{ "null", no_argument, NULL, '0' },
	{ "assignor", required_argument, NULL, 'a' },
	{ "commit-before", no_argument, NULL, 'B' },
	{ "brokers", required_argument, NULL, 'b' },
	{ "count", required_argument, NULL, 'c' },
	{ "delimiter", required_argument, NULL, 'D' },
	{ "exit-at-end", no_argument, NULL, 'e' },
	{ "config", required_argument, NULL, 'F' },
	{ "format", required_argument, NULL, 'f' },
	{ "group", required_argument, NULL, 'G' },
	{ "help", no_argument, NULL, 'h' },
	{ "idle-timeout", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, 'J' },
	{ "key-delimiter", required_argument, NULL, 'K' },
	{ "timeout", required_argument, NULL, 'm' },
	{ "offset", required_argument, NULL, 'o' },
	{ "partition", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "topic", required_argument, NULL, 't' },
	{ "unbuffered", no_argument, NULL, 'u' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "property", required_argument, NULL, 'X' },
	{ "print-null", no_argument, NULL, 'Z' },
	{ NULL, 0, NULL, 0 }
};

/* The properties kcons accepts on top of the client core's. */
static const char *const kcons_keys[] = {
	"fetch.wait.max.ms", "fetch.min.bytes", "fetch.max.bytes",
	"max.partition.fetch.bytes", "auto.offset.reset", "check.crcs",
	"retry.backoff.max.ms", "session.timeout.ms", "heartbeat.interval.ms",
	"max.poll.interval.ms", "auto.commit.interval.ms", NULL
};

/* Usage errors: "prog: <message>", the usage text, exit 64. */
#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

static void __attribute__((noreturn))
exit_stdout(void)
{
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
}

static void
print_version(void)
{
	int c;

	printf("kcons %s\nprotocol: Fetch v4-11, ListOffsets v1-3, "
	    "Metadata v1-6, FindCoordinator v0-2, JoinGroup v0-5,\n"
	    "          SyncGroup v0-3, Heartbeat v0-3, LeaveGroup v0-3, "
	    "OffsetCommit v2-7,\n          OffsetFetch v1-5\n"
	    "assignors: range, roundrobin, sticky, cooperative-sticky\ncodecs:",
	    KLOG_VERSION);
	for (c = COMPRESS_NONE; c <= COMPRESS_ZSTD; c++)
		printf(" %s", compress_codec_name(c));
	printf("\n");
}

static void
print_property_list(void)
{
	size_t i;

	for (i = 0; kconf_common_keys[i] != NULL; i++)
		printf("%s\n", kconf_common_keys[i]);
	for (i = 0; kcons_keys[i] != NULL; i++)
		printf("%s\n", kcons_keys[i]);
}

/* -t a,b or repeated -t: append each name once. */
static void
add_topics(struct kc_opts *o, const char *arg)
{
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ","), i;
		char *name;

		if (n == 0 || n > 249)
			usage_error("-t: bad topic name in '%s'", arg);
		name = xmalloc(n + 1);
		memcpy(name, p, n);
		name[n] = '\0';
		for (i = 0; i < o->ntopics; i++)
			if (strcmp(o->topics[i], name) == 0)
				break;
		if (i < o->ntopics) {
			free(name);
		} else {
			o->topics = xrealloc(o->topics, (o->ntopics + 1) *
			    sizeof(*o->topics));
			o->topics[o->ntopics++] = name;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

/* -p 0,3,5: each partition once, in the order given. */
static void
add_partitions(struct kc_opts *o, const char *arg)
{
	struct err e = { 0 };
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ","), i;
		char one[16];
		int64_t v;

		if (n == 0 || n >= sizeof(one))
			usage_error("-p: bad partition list '%s'", arg);
		memcpy(one, p, n);
		one[n] = '\0';
		if (opt_parse_i64("-p", one, 0, INT32_MAX, &v, &e) < 0)
			usage_error("%s", e.msg);
		for (i = 0; i < o->npartitions; i++)
			if (o->partitions[i] == (int32_t)v)
				break;
		if (i == o->npartitions) {
			o->partitions = xrealloc(o->partitions,
			    (o->npartitions + 1) * sizeof(*o->partitions));
			o->partitions[o->npartitions++] = (int32_t)v;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

static void
set_delim(struct buf *b, bool *set, const char *arg, const char *name)
{
	struct err e = { 0 };

	buf_clear(b);
	if (kc_unescape(arg, b, &e) < 0)
		usage_error("%s: %s", name, e.msg);
	*set = true;
}

static void
property(struct kc_opts *o, const char *arg)
{
	struct err e = { 0 };

	if (strcmp(arg, "list") == 0) {
		print_property_list();
		exit_stdout();
	}
	if (strcmp(arg, "dump") == 0) {
		o->conf_dump = true;
		return;
	}
	if (kconf_set_arg(&o->conf, arg, &e) < 0) {
		if (e.code == EXIT_USAGE)
			usage_error("%s", e.msg);
		log_fatalx(e.code, "%s", e.msg);
	}
}

/* "Do not mix modes": the output options exclude each other. */
static void
check_combinations(const struct kc_opts *o)
{
	if (o->ntopics == 0 && !o->conf_dump)
		usage_error("no topic given (use -t topic)");
	if (o->json && (o->format != NULL || o->delim_set ||
	    o->key_delim_set || o->null_literal))
		usage_error("option -J cannot be used with -f, -D, -0, -K "
		    "or -Z");
	if (o->format != NULL && (o->delim_set || o->key_delim_set))
		usage_error("option -f cannot be used with -D, -0 or -K "
		    "(put the delimiters in the format)");
	if (o->group == NULL && (o->assignor != NULL || o->commit_before))
		usage_error("options -a and -B need -G group");
	if (o->group == NULL && o->offset.start == KC_START_STORED)
		usage_error("-o stored needs -G group (committed offsets "
		    "belong to a consumer group)");
	if (o->group != NULL && o->partitions != NULL)
		usage_error("option -p cannot be used with -G (the group "
		    "assigns the partitions)");
	if (o->group != NULL && (o->group[0] == '\0' ||
	    strlen(o->group) > 255))
		usage_error("-G: bad group name '%s'", o->group);
}

static void
parse_options(int argc, char **argv, struct kc_opts *o)
{
	struct err e = { 0 };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv,
	    ":0a:Bb:c:D:eF:f:G:hi:JK:m:o:p:qt:uVvX:Z", long_opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->assignor = optarg;
			break;
		case 'B':
			o->commit_before = true;
			break;
		case 'G':
			o->group = optarg;
			break;
		case '0':
			buf_clear(&o->delim);
			buf_putc(&o->delim, '\0');
			o->delim_set = true;
			break;
		case 'b':
			o->brokers = optarg;
			break;
		case 'c':
			if (opt_parse_u64("-c", optarg, 1, UINT64_MAX,
			    &o->count, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'D':
			set_delim(&o->delim, &o->delim_set, optarg, "-D");
			break;
		case 'e':
			o->exit_at_end = true;
			break;
		case 'F':
			o->config_file = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit_stdout();
		case 'i':
			if (opt_parse_dur_ms("-i", optarg, 1, INT32_MAX,
			    &o->idle_ms, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'J':
			o->json = true;
			break;
		case 'K':
			set_delim(&o->key_delim, &o->key_delim_set, optarg,
			    "-K");
			break;
		case 'm':
			if (opt_parse_dur_ms("-m", optarg, 0, INT32_MAX,
			    &o->timeout_ms, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'o':
			if (kc_offset_parse(&o->offset, optarg, clock_wall_ms(),
			    &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'p':
			add_partitions(o, optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 't':
			add_topics(o, optarg);
			break;
		case 'u':
			o->unbuffered = true;
			break;
		case 'V':
			print_version();
			exit_stdout();
		case 'v':
			o->verbose++;
			break;
		case 'X':
			property(o, optarg);
			break;
		case 'Z':
			o->null_literal = true;
			break;
		default: {
			char msg[160];

			opt_error_text(long_opts, c, argv[optind - 1], optopt,
			    msg, sizeof(msg));
			usage_error("%s", msg);
		}
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	check_combinations(o);
}

void
kc_fail(struct kc *kc, const struct err *e)
{
	if (kc->fail.code == 0)
		kc->fail = *e;
	kc->stop = true;
}

void
kc_trouble(struct kc *kc, const struct err *e)
{
	if (kc->trouble_since == 0) {
		kc->trouble_since = clock_mono_ms();
		log_warnx("%s; retrying", e->msg);
	} else {
		log_debug("%s; retrying", e->msg);
	}
	kc->trouble = *e;
}

static int
read_settings(const struct kconf *c, struct kc_settings *s, struct err *e)
{
	const char *reset = kconf_get(c, "auto.offset.reset");
	int64_t v;

	if (kconf_i64(c, "fetch.wait.max.ms", 500, 0, 300000, &v, e) < 0)
		return -1;
	s->fetch_wait_ms = (int32_t)v;
	/* A parked Fetch must not look like a broker that stopped answering. */
	if (kconf_i64(c, "request.timeout.ms", 30000, 1, INT32_MAX, &v, e) < 0)
		return -1;
	if (v <= s->fetch_wait_ms)
		return err_set(e, EXIT_CONFIG, "fetch.wait.max.ms (%" PRId32
		    ") must be below request.timeout.ms (%" PRId64 ")",
		    s->fetch_wait_ms, v);
	if (kconf_i64(c, "fetch.min.bytes", 1, 0, INT32_MAX, &v, e) < 0)
		return -1;
	s->fetch_min_bytes = (int32_t)v;
	if (kconf_i64(c, "fetch.max.bytes", 50 << 20, 1024, INT32_MAX, &v,
	    e) < 0)
		return -1;
	s->fetch_max_bytes = (int32_t)v;
	if (kconf_i64(c, "max.partition.fetch.bytes", 1 << 20, 1024,
	    INT32_MAX, &v, e) < 0)
		return -1;
	s->part_max_bytes = (int32_t)v;
	if (kconf_bool(c, "check.crcs", true, &s->check_crcs, e) < 0)
		return -1;
	if (kconf_i64(c, "retry.backoff.ms", 100, 0, INT32_MAX, &v, e) < 0)
		return -1;
	s->backoff_ms = (int32_t)v;
	if (kconf_i64(c, "retry.backoff.max.ms", 1000, 0, INT32_MAX, &v,
	    e) < 0)
		return -1;
	s->backoff_max_ms = (int32_t)(v > s->backoff_ms ? v : s->backoff_ms);
	if (reset == NULL || strcmp(reset, "error") == 0 ||
	    strcmp(reset, "none") == 0)
		s->reset = KC_RESET_ERROR;
	else if (strcmp(reset, "earliest") == 0 ||
	    strcmp(reset, "smallest") == 0 || strcmp(reset, "beginning") == 0)
		s->reset = KC_RESET_EARLIEST;
	else if (strcmp(reset, "latest") == 0 ||
	    strcmp(reset, "largest") == 0 || strcmp(reset, "end") == 0)
		s->reset = KC_RESET_LATEST;
	else
		return err_set(e, EXIT_CONFIG, "auto.offset.reset: expected "
		    "earliest, latest or error, got '%s'", reset);
	return 0;
}

/* Topics and partitions from the metadata; 67 for unknown ones. */
static int
setup_partitions(struct kc *kc, struct err *e)
{
	const struct kc_opts *o = kc->o;
	size_t i, j, n = 0;

	kc->topics = xcalloc(o->ntopics, sizeof(*kc->topics));
	kc->ntopics = o->ntopics;
	for (i = 0; i < o->ntopics; i++) {
		const struct kcl_topic *t = kcl_topic(kc->k, o->topics[i]);

		if (t == NULL || t->error == KERR_UNKNOWN_TOPIC_OR_PARTITION)
			return err_set(e, EXIT_NOUSER, "topic '%s' does not "
			    "exist", o->topics[i]);
		if (t->error != KERR_NONE && t->npartitions == 0)
			return err_set(e, t->error ==
			    KERR_INVALID_TOPIC_EXCEPTION ? EXIT_NOUSER :
			    EXIT_TEMPFAIL, "topic '%s': %s", o->topics[i],
			    proto_error_name(t->error) ?
			    proto_error_name(t->error) : "unknown error");
		kc->topics[i].name = o->topics[i];
		kc->topics[i].npartitions = t->npartitions;
		for (j = 0; j < o->npartitions; j++)
			if (o->partitions[j] >= t->npartitions)
				return err_set(e, EXIT_NOUSER, "topic '%s' "
				    "has no partition %" PRId32 " (it has %"
				    PRId32 ")", o->topics[i], o->partitions[j],
				    t->npartitions);
		n += o->partitions ? o->npartitions : (size_t)t->npartitions;
	}
	kc->parts = xcalloc(n ? n : 1, sizeof(*kc->parts));
	for (i = 0; i < kc->ntopics; i++) {
		struct kc_topic *t = &kc->topics[i];
		size_t np = o->partitions ? o->npartitions :
		    (size_t)t->npartitions;

		t->map = xmalloc((size_t)(t->npartitions ? t->npartitions : 1) *
		    sizeof(*t->map));
		for (j = 0; j < (size_t)t->npartitions; j++)
			t->map[j] = -1;
		for (j = 0; j < np; j++) {
			struct kc_part *p = &kc->parts[kc->nparts];

			p->kc = kc;
			p->topic = t->name;
			p->id = o->partitions ? o->partitions[j] : (int32_t)j;
			p->leader = -1;
			p->leader_epoch = -1;
			p->need_leader = true;
			p->end = INT64_MAX;
			p->stop_ts = INT64_MAX;
			p->high_watermark = -1;
			p->max_bytes = kc->s.part_max_bytes;
			p->committed = -1;
			p->written = -1;
			p->commit_done = -1;
			if (o->group != NULL)
				p->state = KC_P_IDLE;
			t->map[p->id] = (int32_t)kc->nparts;
			kc->nparts++;
		}
	}
	return 0;
}

static void
print_summary(const struct kc *kc)
{
	size_t i;

	log_info("%" PRIu64 " records, %" PRIu64 " bytes written",
	    kc->records_out, kc->bytes_out);
	for (i = 0; i < kc->nparts; i++) {
		const struct kc_part *p = &kc->parts[i];

		log_info("topic '%s' partition %" PRId32 ": %" PRIu64
		    " records, next offset %" PRId64 "%s", p->topic, p->id,
		    p->records, p->out_offset, p->state == KC_P_DONE &&
		    p->out_offset >= p->end ? " (end reached)" : "");
	}
}

static int
exit_status(struct kc *kc)
{
	if (kc->out.failed)
		return EXIT_IOERR;
	if (kc->fail.code != 0) {
		log_errorx("%s", kc->fail.msg);
		return kc->fail.code;
	}
	return EXIT_OK;
}

static void
kc_release(struct kc *kc)
{
	size_t i;

	for (i = 0; i < kc->nleaders; i++) {
		free(kc->leaders[i]->parts);
		free(kc->leaders[i]);
	}
	free(kc->leaders);
	for (i = 0; i < kc->ntopics; i++)
		free(kc->topics[i].map);
	free(kc->topics);
	free(kc->parts);
	free(kc->chunks);
	buf_release(&kc->pending);
	rec_iter_release(&kc->it);
	kc_fmt_release(&kc->fmt);
	kc_out_release(&kc->out);
	kc_group_free(kc);
	kcl_free(kc->k);
	kc_offsets_release(kc);
}

static int
kcons_run(const struct kc_opts *o)
{
	struct kcl_config cfg;
	struct kc kc;
	struct err e = { 0 };
	int rc;

	memset(&kc, 0, sizeof(kc));
	kc.o = o;
	rec_iter_init(&kc.it, (size_t)256 << 20);
	kc_out_init(&kc.out, STDOUT_FILENO, o->unbuffered);
	if (kc_fmt_compile(&kc.fmt, o, &e) < 0)
		usage_error("%s", e.msg);
	if (o->group != NULL && kc_group_new(&kc, &e) < 0) {
		if (e.code == EXIT_USAGE)
			usage_error("%s", e.msg);
		goto fail;
	}
	if (read_settings(&o->conf, &kc.s, &e) < 0 ||
	    kconf_client(&o->conf, o->brokers, "kcons", &cfg, &e) < 0 ||
	    kcl_new(&cfg, &kc.k, &e) < 0) {
		if (e.code == EXIT_USAGE)
			usage_error("%s", e.msg);
		goto fail;
	}
	kc.cfg = cfg;
	if (kcl_metadata(kc.k, (const char *const *)o->topics, o->ntopics,
	    false, &e) < 0) {
		if (e.code == EXIT_UNAVAILABLE)
			err_wrap(&e, "no broker reachable");
		goto fail;
	}
	if (setup_partitions(&kc, &e) < 0 ||
	    (o->group == NULL && kc_resolve_offsets(&kc, &e) < 0))
		goto fail;
	(void)kc_consume(&kc);
	kc_group_finish(&kc);
	if (o->verbose > 0)
		print_summary(&kc);
	rc = exit_status(&kc);
	kc_release(&kc);
	return rc;
fail:
	log_errorx("%s", e.msg);
	kc_release(&kc);
	return e.code ? e.code : EXIT_FAIL;
}

static void
on_signal(int sig)
{
	(void)sig;
	kc_signalled = 1;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* A second signal takes the default action: a stuck write ends. */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout is EPIPE from write(): a quiet, normal end. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
}

int
main(int argc, char **argv)
{
	struct kc_opts o;
	struct err e = { 0 };
	int rc;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	kconf_init(&o.conf, kcons_keys);
	buf_init(&o.delim);
	buf_init(&o.key_delim);
	buf_putc(&o.delim, '\n');
	o.timeout_ms = 60000;

	parse_options(argc, argv, &o);
	log_init(o.quiet ? LOG_LEVEL_QUIET : o.verbose > 1 ? LOG_LEVEL_DEBUG :
	    o.verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, false, false);
	if (kconf_load(&o.conf, o.config_file, &e) < 0)
		log_fatalx(e.code, "%s", e.msg);
	if (o.conf_dump) {
		kconf_dump(&o.conf, stdout);
		exit_stdout();
	}
	install_signals();

	rc = kcons_run(&o);
	kconf_release(&o.conf);
	buf_release(&o.delim);
	buf_release(&o.key_delim);
	while (o.ntopics > 0)
		free(o.topics[--o.ntopics]);
	free(o.topics);
	free(o.partitions);
	return rc;
}
