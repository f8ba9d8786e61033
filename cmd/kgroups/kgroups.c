/* SPDX-License-Identifier: MIT */
/*
 * kgroups: the operator's tool for consumer groups. Lists and describes
 * groups, reports lag (table, JSON, Prometheus textfile) with threshold
 * exit codes for cron, resets committed offsets (dry run unless
 * --execute), deletes committed offsets and deletes groups. This file
 * holds main(), the command table, option parsing and the mapping of the
 * outcome to an exit status.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

static const char usage_text[] =
    "usage: kgroups [-qv] [-b brokers] [-F file] [-X key=value] command ...\n"
    "       kgroups list [-J] [-s state[,state...]]\n"
    "       kgroups describe [-Jm] group ...\n"
    "       kgroups lag [-f format] [-L lag] [-o file] [-S seconds]\n"
    "                   -a | group ...\n"
    "       kgroups reset-offsets [-eJ] -A | -t topic[:partitions] mode group\n"
    "       kgroups delete-offsets [-J] -A | -t topic[:partitions] group\n"
    "       kgroups delete [-J] group ...\n";

static const char help_text[] =
    "Commands:\n"
    "  list                    groups, their state and member count\n"
    "  describe GROUP...       summary, then offsets, lag and owners\n"
    "  lag [GROUP...|-a]       lag in offsets and seconds; thresholds\n"
    "  reset-offsets GROUP     plan (and with -e apply) new offsets\n"
    "  delete-offsets GROUP    delete committed offsets of topics the\n"
    "                          group's members do not subscribe to\n"
    "  delete GROUP...         delete groups without members\n"
    "\n"
    "  -A, --all-topics        reset, delete-offsets: every topic the\n"
    "                          group committed\n"
    "  -a, --all               lag: every consumer group\n"
    "  -b, --brokers LIST      host:port,... (else $KLOG_BROKERS)\n"
    "  -e, --execute           reset: apply the plan (default: dry run)\n"
    "  -F, --config FILE       client properties (else $KLOG_CONFIG)\n"
    "  -f, --format FORMAT     lag: table, json or prom\n"
    "  -h, --help              print this help and exit\n"
    "  -J, --json              one JSON document (-f json)\n"
    "  -L, --max-lag N         lag: exit 1 when a partition lags > N\n"
    "  -m, --members           describe: members and their partitions\n"
    "  -o, --output FILE       lag: write FILE atomically (tmp+rename)\n"
    "  -q, --quiet             print errors only\n"
    "  -S, --max-lag-seconds S lag: exit 1 when a partition lags > S s\n"
    "  -s, --state LIST        list: only groups in these states\n"
    "  -t, --topic T[:P,...]   reset, delete-offsets: topic (and\n"
    "                          partitions), repeatable\n"
    "  -V, --version           print the version and exit\n"
    "  -v, --verbose           more messages on stderr (repeatable)\n"
    "  -X, --property K=V      client property; -X list, -X dump\n"
    "Reset modes (exactly one): --to-earliest, --to-latest, --to-offset N,\n"
    "  --shift-by N, --to-datetime ISO8601, --by-duration -DUR (e.g. -1h)\n"
    "\n"
    "Exit status: 0 ok, 1 lag threshold exceeded or some offsets not\n"
    "deleted, 64 usage, 67 unknown group or topic, 69 no broker, 73\n"
    "cannot write --output, 75 group active or timeout, 76 protocol, 78\n"
    "configuration.\n";

enum {
	OPT_TO_EARLIEST = 256,
	OPT_TO_LATEST,
	OPT_TO_OFFSET,
	OPT_SHIFT_BY,
	OPT_TO_DATETIME,
	OPT_BY_DURATION
};

static const struct option long_opts[] = {
	{ "all-topics", no_argument, NULL, 'A' },
	{ "all", no_argument, NULL, 'a' },
	{ "all-groups", no_argument, NULL, 'a' },
	{ "brokers", required_argument, NULL, 'b' },
	{ "by-duration", required_argument, NULL, OPT_BY_DURATION },
	{ "execute", no_argument, NULL, 'e' },
	{ "config", required_argument, NULL, 'F' },
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'J' },
	{ "max-lag", required_argument, NULL, 'L' },
	{ "members", no_argument, NULL, 'm' },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "max-lag-seconds", required_argument, NULL, 'S' },
	{ "shift-by", required_argument, NULL, OPT_SHIFT_BY },
	{ "state", required_argument, NULL, 's' },
	{ "topic", required_argument, NULL, 't' },
	{ "to-datetime", required_argument, NULL, OPT_TO_DATETIME },
	{ "to-earliest", no_argument, NULL, OPT_TO_EARLIEST },
	{ "to-latest", no_argument, NULL, OPT_TO_LATEST },
	{ "to-offset", required_argument, NULL, OPT_TO_OFFSET },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "property", required_argument, NULL, 'X' },
	{ NULL, 0, NULL, 0 }
};

/* The command words, as relayctl has them; min/max positional args. */
static const struct {
	const char *word;
	enum kg_cmd cmd;
	size_t min, max;
} commands[] = {
	{ "list", KG_LIST, 0, 0 },
	{ "describe", KG_DESCRIBE, 1, SIZE_MAX },
	{ "lag", KG_LAG, 0, SIZE_MAX },
	{ "reset-offsets", KG_RESET, 1, 1 },
	{ "delete-offsets", KG_DELETE_OFFSETS, 1, 1 },
	{ "delete", KG_DELETE, 1, SIZE_MAX }
};

/* "list, describe, ..." from the table, for usage errors. */
static const char *
command_words(void)
{
	static char words[128];
	size_t i, len = 0;

	for (i = 0; i < ARRAY_SIZE(commands) && len < sizeof(words); i++)
		len += (size_t)snprintf(words + len, sizeof(words) - len,
		    "%s%s", i ? ", " : "", commands[i].word);
	return words;
}

/* Usage errors: "prog: <message>", the usage text, exit 64. */
#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

static void __attribute__((noreturn))
exit_stdout(void)
{
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
}

static void
print_property_list(void)
{
	size_t i;

	for (i = 0; kconf_common_keys[i] != NULL; i++)
		printf("%s\n", kconf_common_keys[i]);
}

static void
property(struct kg_opts *o, const char *arg)
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

/* -t topic[:p,p...] */
static void
add_scope(struct kg_opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t tlen = colon ? (size_t)(colon - arg) : strlen(arg);
	struct kg_scope *s;
	struct err e = { 0 };

	if (tlen == 0 || tlen > 249)
		usage_error("-t: bad topic in '%s'", arg);
	o->scopes = xrealloc(o->scopes, (o->nscopes + 1) * sizeof(*o->scopes));
	s = &o->scopes[o->nscopes++];
	memset(s, 0, sizeof(*s));
	s->topic = xmalloc(tlen + 1);
	memcpy(s->topic, arg, tlen);
	s->topic[tlen] = '\0';
	for (const char *p = colon ? colon + 1 : NULL; p != NULL;) {
		size_t n = strcspn(p, ",");
		char one[16];
		int64_t v;

		if (n == 0 || n >= sizeof(one))
			usage_error("-t: bad partition list in '%s'", arg);
		memcpy(one, p, n);
		one[n] = '\0';
		if (opt_parse_i64("-t partition", one, 0, INT32_MAX, &v,
		    &e) < 0)
			usage_error("%s", e.msg);
		s->partitions = xrealloc(s->partitions,
		    (s->npartitions + 1) * sizeof(*s->partitions));
		s->partitions[s->npartitions++] = (int32_t)v;
		p = p[n] ? p + n + 1 : NULL;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
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

/* n digits at *p into *out; false when they are not all digits. */
static bool
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * ISO 8601: YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM|+HHMM]; no zone
 * means UTC. Milliseconds since the epoch, or -1.
 */
static int64_t
parse_datetime(const char *s)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zh = 0, zm = 0, sign = 0;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) || mo < 1 || mo > 12 ||
	    d < 1 || d > 31)
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				int scale = 100;

				for (p++; isdigit((unsigned char)*p); p++) {
					ms += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &zh))
			return -1;
		if (*p == ':')
			p++;
		if (*p != '\0' && !digits(&p, 2, &zm))
			return -1;
	}
	if (*p != '\0' || h > 23 || mi > 59 || sec > 60 || zh > 23 || zm > 59)
		return -1;
	return ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) - sign * (zh * 3600 + zm * 60)) * 1000 + ms;
}

static void
set_reset(struct kg_opts *o, int c, const char *arg)
{
	struct err e = { 0 };
	int64_t v;

	o->nreset++;
	switch (c) {
	case OPT_TO_EARLIEST:
		o->reset = KG_RESET_EARLIEST;
		break;
	case OPT_TO_LATEST:
		o->reset = KG_RESET_LATEST;
		break;
	case OPT_TO_OFFSET:
		if (opt_parse_i64("--to-offset", arg, 0, INT64_MAX,
		    &o->reset_value, &e) < 0)
			usage_error("%s", e.msg);
		o->reset = KG_RESET_OFFSET;
		break;
	case OPT_SHIFT_BY:
		if (opt_parse_i64("--shift-by", arg, INT64_MIN / 2,
		    INT64_MAX / 2, &o->reset_value, &e) < 0)
			usage_error("%s", e.msg);
		o->reset = KG_RESET_SHIFT;
		break;
	case OPT_TO_DATETIME:
		if ((o->reset_value = parse_datetime(arg)) < 0)
			usage_error("--to-datetime: expected ISO 8601 like "
			    "2024-05-01T12:00:00Z, got '%s'", arg);
		o->reset = KG_RESET_TIME;
		break;
	case OPT_BY_DURATION:
		/* Always back in time; the sign is optional. */
		if (opt_parse_dur_ms("--by-duration", arg[0] == '-' ? arg + 1 :
		    arg, 0, INT64_MAX / 4, &v, &e) < 0)
			usage_error("%s", e.msg);
		o->reset_value = clock_wall_ms() - v;
		o->reset = KG_RESET_TIME;
		break;
	}
}

static void
set_format(struct kg_opts *o, enum kg_format f)
{
	if (o->format_set && o->format != f)
		usage_error("conflicting output formats (-J and -f)");
	o->format = f;
	o->format_set = true;
}

static void
set_command(struct kg_opts *o, int argc, char **argv)
{
	size_t i;

	if (optind >= argc) {
		if (o->conf_dump)
			return;
		usage_error("no command given (%s)", command_words());
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[optind], commands[i].word) == 0)
			break;
	if (i == ARRAY_SIZE(commands))
		usage_error("unknown command '%s' (valid: %s)", argv[optind],
		    command_words());
	o->cmd = commands[i].cmd;
	o->args = argv + optind + 1;
	o->nargs = (size_t)(argc - optind - 1);
	if (o->nargs < commands[i].min)
		usage_error("%s: no group given", commands[i].word);
	if (o->nargs > commands[i].max)
		usage_error("%s: unexpected argument '%s'", commands[i].word,
		    o->args[commands[i].max]);
}

/* "Do not mix modes": each option belongs to its commands. */
static void
check_combinations(const struct kg_opts *o)
{
	enum kg_cmd c = o->cmd;

	if (o->conf_dump)
		return;
	if (o->states != NULL && c != KG_LIST)
		usage_error("option -s is only for list");
	if (o->members && c != KG_DESCRIBE)
		usage_error("option -m is only for describe");
	if ((o->all || o->max_lag_set || o->max_lag_sec_set ||
	    o->output != NULL || o->format == KG_FMT_PROM) && c != KG_LAG)
		usage_error("options -a, -L, -S, -o and -f prom are only "
		    "for lag");
	if ((o->nscopes || o->all_topics) && c != KG_RESET &&
	    c != KG_DELETE_OFFSETS)
		usage_error("options -t and -A are only for reset-offsets and "
		    "delete-offsets");
	if ((o->nreset || o->execute) && c != KG_RESET)
		usage_error("options -e and --to-* are only for "
		    "reset-offsets");
	if (c == KG_LAG && o->all == (o->nargs > 0))
		usage_error("lag: give groups or -a, not %s",
		    o->all ? "both" : "neither");
	if (c == KG_RESET) {
		if (o->nreset != 1)
			usage_error("reset-offsets: give exactly one of "
			    "--to-earliest, --to-latest, --to-offset, "
			    "--shift-by, --to-datetime, --by-duration");
	}
	if ((c == KG_RESET || c == KG_DELETE_OFFSETS) &&
	    o->all_topics == (o->nscopes > 0))
		usage_error("%s: give -t topic or -A, not %s", c == KG_RESET ?
		    "reset-offsets" : "delete-offsets", o->all_topics ?
		    "both" : "neither");
}

static void
parse_options(int argc, char **argv, struct kg_opts *o)
{
	struct err e = { 0 };
	uint64_t u;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":Aab:eF:f:hJL:mo:qS:s:t:VvX:",
	    long_opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			o->all_topics = true;
			break;
		case 'a':
			o->all = true;
			break;
		case 'b':
			o->brokers = optarg;
			break;
		case 'e':
			o->execute = true;
			break;
		case 'F':
			o->config_file = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0 ||
			    strcmp(optarg, "text") == 0)
				set_format(o, KG_FMT_TABLE);
			else if (strcmp(optarg, "json") == 0)
				set_format(o, KG_FMT_JSON);
			else if (strcmp(optarg, "prom") == 0)
				set_format(o, KG_FMT_PROM);
			else
				usage_error("-f: unknown format '%s' (valid: "
				    "table, json, prom)", optarg);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit_stdout();
		case 'J':
			set_format(o, KG_FMT_JSON);
			break;
		case 'L':
			if (opt_parse_u64("-L", optarg, 0, INT64_MAX, &u,
			    &e) < 0)
				usage_error("%s", e.msg);
			o->max_lag = (int64_t)u;
			o->max_lag_set = true;
			break;
		case 'm':
			o->members = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'S':
			/* Seconds by default; a unit (500ms, 5m) also works. */
			if (opt_parse_u64("-S", optarg, 0, INT64_MAX / 1000,
			    &u, &e) == 0)
				o->max_lag_ms = (int64_t)u * 1000;
			else if (opt_parse_dur_ms("-S", optarg, 0, INT64_MAX,
			    &o->max_lag_ms, &e) < 0)
				usage_error("%s", e.msg);
			o->max_lag_sec_set = true;
			break;
		case 's':
			o->states = optarg;
			break;
		case 't':
			add_scope(o, optarg);
			break;
		case 'V':
			printf("kgroups %s\nprotocol: FindCoordinator v0-2, "
			    "DescribeGroups v0-4, ListGroups v0-2,\n"
			    "  OffsetFetch v2-5, OffsetCommit v2-7, "
			    "ListOffsets v1-3, Fetch v4-11,\n"
			    "  DeleteGroups v0-1, OffsetDelete v0\n",
			    KLOG_VERSION);
			exit_stdout();
		case 'v':
			o->verbose++;
			break;
		case 'X':
			property(o, optarg);
			break;
		case OPT_TO_EARLIEST: case OPT_TO_LATEST: case OPT_TO_OFFSET:
		case OPT_SHIFT_BY: case OPT_TO_DATETIME: case OPT_BY_DURATION:
			set_reset(o, c, optarg);
			break;
		default: {
			char msg[160];

			opt_error_text(long_opts, c, argv[optind - 1], optopt,
			    msg, sizeof(msg));
			usage_error("%s", msg);
		}
		}
	}
	set_command(o, argc, argv);
	check_combinations(o);
}

static int
write_output(const struct kg *kg, struct err *e)
{
	const struct buf *b = &kg->out;

	if (kg->o->output != NULL) {
		if (file_write_atomic(kg->o->output, b->data, b->len, e) < 0) {
			e->code = EXIT_CANTCREAT;
			return -1;
		}
		return 0;
	}
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
		return err_sys(e, EXIT_IOERR, "writing standard output");
	if (fflush(stdout) != 0)
		return err_sys(e, EXIT_IOERR, "writing standard output");
	return 0;
}

static int
kgroups_run(const struct kg_opts *o)
{
	struct kcl_config cfg;
	struct err e = { 0 };
	struct kg kg;
	int rc = -1;

	memset(&kg, 0, sizeof(kg));
	kg.o = o;
	kg.now_ms = clock_wall_ms();
	buf_init(&kg.out);
	if (kconf_client(&o->conf, o->brokers, "kgroups", &cfg, &e) < 0 ||
	    kcl_new(&cfg, &kg.k, &e) < 0) {
		if (e.code == EXIT_USAGE)
			usage_error("%s", e.msg);
		goto out;
	}
	if (kcl_metadata(kg.k, NULL, 0, false, &e) < 0) {
		if (e.code == EXIT_UNAVAILABLE)
			err_wrap(&e, "no broker reachable");
		goto out;
	}
	switch (o->cmd) {
	case KG_LIST:
		rc = kg_cmd_list(&kg, &e);
		break;
	case KG_DESCRIBE:
		rc = kg_cmd_describe(&kg, &e);
		break;
	case KG_LAG:
		rc = kg_cmd_lag(&kg, &e);
		break;
	case KG_RESET:
		rc = kg_cmd_reset(&kg, &e);
		break;
	case KG_DELETE:
		rc = kg_cmd_delete(&kg, &e);
		break;
	case KG_DELETE_OFFSETS:
		rc = kg_cmd_delete_offsets(&kg, &e);
		break;
	}
	if (rc >= 0 && write_output(&kg, &e) < 0)
		rc = -1;
out:
	if (rc < 0)
		log_errorx("%s", e.msg);
	buf_release(&kg.out);
	kcl_free(kg.k);
	if (rc < 0)
		return e.code ? e.code : EXIT_FAIL;
	return rc;
}

int
main(int argc, char **argv)
{
	struct kg_opts o;
	struct err e = { 0 };
	size_t i;
	int rc;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	kconf_init(&o.conf, NULL);

	parse_options(argc, argv, &o);
	log_init(o.quiet ? LOG_LEVEL_QUIET : o.verbose > 1 ? LOG_LEVEL_DEBUG :
	    o.verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, false, false);
	if (kconf_load(&o.conf, o.config_file, &e) < 0)
		log_fatalx(e.code, "%s", e.msg);
	if (o.conf_dump) {
		kconf_dump(&o.conf, stdout);
		exit_stdout();
	}

	rc = kgroups_run(&o);
	kconf_release(&o.conf);
	for (i = 0; i < o.nscopes; i++) {
		free(o.scopes[i].topic);
		free(o.scopes[i].partitions);
	}
	free(o.scopes);
	return rc;
}
