/* SPDX-License-Identifier: MIT */
/*
 * replicad: follower replication beside one logd (see replicad.h). This
 * file holds main(): the command line, the data directory (given, or the
 * broker's from the cluster manifest) and the hand-over to the daemon or
 * to `replicad status`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manifest.h"
#include "opt.h"
#include "replicad.h"
#include "banned.h"

static const char usage_text[] =
    "usage: replicad [run] [-nqv] [-s host] [--ready-fd n] [--log-timestamps]\n"
    "                (-d dir | -m manifest -i id)\n"
    "       replicad status [-j] (-d dir | -m manifest -i id)\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
	if (f != stdout)
		return;
	fputs("\n"
	    "  -d, --data-dir DIR     the local logd's data directory\n"
	    "  -m, --manifest FILE    cluster manifest (with -i)\n"
	    "  -i, --broker-id ID     this broker's id in the manifest\n"
	    "  -s, --source-addr HOST bind leader connections to HOST\n"
	    "                         (default with -m: the broker's host)\n"
	    "  -n, --check            check the configuration and exit\n"
	    "  -j, --json             status as one JSON object\n"
	    "      --ready-fd N       write a newline to fd N once running\n"
	    "      --log-timestamps   prefix log lines with UTC timestamps\n"
	    "  -q, --quiet            log warnings and errors only\n"
	    "  -v, --verbose          log debug messages\n"
	    "  -V, --version          print the version\n"
	    "  -h, --help             print this help\n"
	    "\n"
	    "run (the default) follows the leaders of the partitions the local\n"
	    "logd replicates; status shows each partition's lag. See "
	    "replicad(8).\n", f);
}

#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

/* Options that only one command takes, to refuse them on the other. */
struct seen {
	bool run_only;			/* -n, -s, --ready-fd, --log-timestamps */
	bool status_only;		/* -j */
};

static void
parse_command(struct rd_opts *o, int argc, char **argv)
{
	if (optind == argc)
		return;
	if (strcmp(argv[optind], "run") == 0)
		o->command = RD_CMD_RUN;
	else if (strcmp(argv[optind], "status") == 0)
		o->command = RD_CMD_STATUS;
	else
		usage_error("unknown command '%s' (use run or status)",
		    argv[optind]);
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
}

static void
check_combinations(const struct rd_opts *o, const struct seen *s)
{
	if (o->command == RD_CMD_STATUS && s->run_only)
		usage_error("-n, -s, --ready-fd and --log-timestamps are for run");
	if (o->command == RD_CMD_RUN && s->status_only)
		usage_error("-j is for status");
	if (o->data_dir != NULL && o->manifest != NULL)
		usage_error("give -d or -m, not both");
	if (o->manifest != NULL && o->broker_id < 0)
		usage_error("-m needs -i (this broker's id)");
	if (o->manifest == NULL && o->data_dir == NULL)
		usage_error("give -d dir, or -m manifest and -i id");
}

static void
parse_options(struct rd_opts *o, struct seen *s, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "broker-id", required_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'n' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "log-timestamps", no_argument, NULL, 'T' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "source-addr", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct err e = { 0 };
	uint64_t n;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":d:hi:jm:nqs:Vv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': o->data_dir = optarg; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'i':
			if (opt_parse_u64("-i", optarg, 0, INT32_MAX, &n, &e) < 0)
				usage_error("%s", e.msg);
			o->broker_id = (int32_t)n;
			break;
		case 'j': o->json = s->status_only = true; break;
		case 'm': o->manifest = optarg; break;
		case 'n': o->check_only = s->run_only = true; break;
		case 'q': o->verbosity = LOG_LEVEL_WARN; break;
		case 'R':
			if (opt_parse_u64("--ready-fd", optarg, 0, 1 << 20, &n,
			    &e) < 0)
				usage_error("%s", e.msg);
			o->ready_fd = (int)n;
			s->run_only = true;
			break;
		case 's': o->source_addr = optarg; s->run_only = true; break;
		case 'T': o->log_timestamps = s->run_only = true; break;
		case 'V':
			printf("replicad %s (klog)\n", KLOG_VERSION);
			exit(EXIT_OK);
		case 'v': o->verbosity = LOG_LEVEL_DEBUG; break;
		default: {
			char msg[160];

			opt_error_text(longopts, ch, argv[optind - 1], optopt, msg,
			    sizeof(msg));
			usage_error("%s", msg);
		}
		}
	}
}

/* Run or ask for the broker the manifest names with -i. */
static int
with_manifest(const struct rd_opts *o)
{
	const struct manifest_broker *b;
	struct manifest *m = NULL;
	struct err e = { 0 };
	int rc;

	if (manifest_load(o->manifest, &m, &e) < 0) {
		log_errorx("%s", e.msg);
		return e.code ? e.code : EXIT_CONFIG;
	}
	b = manifest_broker(m, o->broker_id);
	if (b == NULL) {
		log_errorx("%s: no broker with id %d", o->manifest,
		    (int)o->broker_id);
		manifest_free(m);
		return EXIT_CONFIG;
	}
	if (o->command == RD_CMD_STATUS)
		rc = rd_status_main(o, b->data_dir);
	else
		rc = rd_run(o, b->data_dir,
		    o->source_addr ? o->source_addr : b->host);
	manifest_free(m);
	return rc;
}

int
main(int argc, char **argv)
{
	struct rd_opts o;
	struct seen s = { false, false };

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.command = RD_CMD_RUN;
	o.broker_id = -1;
	o.ready_fd = -1;
	o.verbosity = LOG_LEVEL_INFO;
	parse_options(&o, &s, argc, argv);
	parse_command(&o, argc, argv);
	check_combinations(&o, &s);
	log_init(o.verbosity, false, false);
	if (o.manifest != NULL)
		return with_manifest(&o);
	if (o.command == RD_CMD_STATUS)
		return rd_status_main(&o, o.data_dir);
	return rd_run(&o, o.data_dir, o.source_addr);
}
