/* SPDX-License-Identifier: MIT */
/*
 * ctrld: the klog controller. `ctrld run` is the daemon that owns the
 * partition state of a cluster; `ctrld status` and `ctrld apply` are the
 * operator's commands that talk to it. This file holds main(): the
 * command table, option parsing and checks, and the hand-over.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "banned.h"

static const char usage_text[] =
    "usage: ctrld [-hV] command [options]\n"
    "       ctrld run -m manifest [-nqv] [-d dir] [-l host:port]\n"
    "                 [--addr-file path] [--ready-fd n] [--snapshot-min size]\n"
    "                 [--log-timestamps]\n"
    "       ctrld status [-Jqv] [-c host:port] [-m manifest] [-t timeout]\n"
    "       ctrld apply -m manifest [-eJqv] [-c host:port] [-t timeout]\n";

static const char help_text[] =
    "\n"
    "Commands:\n"
    "  run      the controller daemon (foreground, logs to stderr)\n"
    "  status   brokers and partitions; exit 0 healthy, 1 degraded\n"
    "  apply    make the topics match the manifest (dry run by default)\n"
    "\n"
    "  -c, --controller ADDR   status, apply: controller host:port\n"
    "                          (default: the manifest's controller)\n"
    "  -d, --data-dir DIR      run: metadata log directory\n"
    "                          (default: controller.data_dir)\n"
    "  -e, --execute           apply: make the changes\n"
    "  -h, --help              print this help and exit\n"
    "  -J, --json              status, apply: one JSON document\n"
    "  -l, --listen ADDR       run: listen here, not on the manifest's\n"
    "                          controller address (port 0: any)\n"
    "  -m, --manifest FILE     the cluster manifest, klog-manifest(5)\n"
    "  -n, --check             run: check the manifest and exit\n"
    "  -q, --quiet             fewer messages on stderr\n"
    "  -t, --timeout DUR       status, apply: give up after DUR (5s)\n"
    "  -V, --version           print the version and exit\n"
    "  -v, --verbose           more messages on stderr\n"
    "      --addr-file PATH    run: write the bound address to PATH\n"
    "      --ready-fd N        run: write a newline to fd N once listening\n"
    "      --snapshot-min SIZE run: rewrite the metadata log past SIZE\n"
    "      --log-timestamps    run: prefix log lines with UTC timestamps\n"
    "\n"
    "Exit status: 0 ok (status: healthy), 1 degraded or some topics\n"
    "refused, 64 usage, 65 corrupt metadata log, 69 controller\n"
    "unreachable, 75 data directory in use, 76 protocol, 78 manifest.\n";

enum {
	OPT_ADDR_FILE = 256,
	OPT_READY_FD,
	OPT_SNAPSHOT_MIN,
	OPT_LOG_TIMESTAMPS
};

static const struct option longopts[] = {
	{ "addr-file", required_argument, NULL, OPT_ADDR_FILE },
	{ "controller", required_argument, NULL, 'c' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "execute", no_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'J' },
	{ "listen", required_argument, NULL, 'l' },
	{ "log-timestamps", no_argument, NULL, OPT_LOG_TIMESTAMPS },
	{ "manifest", required_argument, NULL, 'm' },
	{ "check", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "snapshot-min", required_argument, NULL, OPT_SNAPSHOT_MIN },
	{ "timeout", required_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

/* The command words and the options each accepts (by getopt value). */
static const struct {
	const char *word;
	enum ctrld_cmd cmd;
	const char *opts;	/* short letters; long-only ones as @ABCD */
} commands[] = {
	{ "run", CTRLD_RUN, "dlmnqv@ABCD" },
	{ "status", CTRLD_STATUS, "cJmqtv" },
	{ "apply", CTRLD_APPLY, "ceJmqtv" },
};

#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

/* The letter standing for an option in commands[].opts. */
static char
opt_letter(int ch)
{
	switch (ch) {
	case OPT_ADDR_FILE: return 'A';
	case OPT_READY_FD: return 'B';
	case OPT_SNAPSHOT_MIN: return 'C';
	case OPT_LOG_TIMESTAMPS: return 'D';
	default: return (char)ch;
	}
}

static const char *
command_words(void)
{
	static char words[64];
	size_t i, len = 0;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		len += (size_t)snprintf(words + len, sizeof(words) - len,
		    "%s%s", i ? ", " : "", commands[i].word);
	return words;
}

static const char *
opt_name(int ch)
{
	size_t i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == ch)
			return longopts[i].name;
	return "?";
}

static void
set_option(struct ctrld_opts *o, int ch, const char *arg)
{
	struct err e = { 0 };
	uint64_t n;

	switch (ch) {
	case 'c': o->controller = arg; break;
	case 'd': o->data_dir = arg; break;
	case 'e': o->execute = true; break;
	case 'J': o->json = true; break;
	case 'l': o->listen = arg; break;
	case 'm': o->manifest_path = arg; break;
	case 'n': o->check_only = true; break;
	case 'q': o->verbosity--; break;
	case 'v': o->verbosity++; break;
	case 't':
		if (opt_parse_dur_ms("--timeout", arg, 1, 3600000,
		    &o->timeout_ms, &e) < 0)
			usage_error("%s", e.msg);
		break;
	case OPT_ADDR_FILE: o->addr_file = arg; break;
	case OPT_READY_FD:
		if (opt_parse_u64("--ready-fd", arg, 0, 1 << 20, &n, &e) < 0)
			usage_error("%s", e.msg);
		o->ready_fd = (int)n;
		break;
	case OPT_SNAPSHOT_MIN:
		if (opt_parse_size("--snapshot-min", arg, 1, 1ull << 40,
		    &o->snapshot_min, &e) < 0)
			usage_error("%s", e.msg);
		break;
	case OPT_LOG_TIMESTAMPS: o->log_timestamps = true; break;
	}
}

/* Parse everything; options may come before or after the command word. */
static void
parse(int argc, char **argv, struct ctrld_opts *o, char *seen, size_t nseen)
{
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:d:ehJl:m:nqt:Vv", longopts,
	    NULL)) != -1) {
		char msg[160];

		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(EXIT_OK);
		case 'V':
			printf("ctrld %s (klog)\n", KLOG_VERSION);
			exit(EXIT_OK);
		case ':':
		case '?':
			opt_error_text(longopts, ch, argv[optind - 1], optopt,
			    msg, sizeof(msg));
			usage_error("%s", msg);
		default:
			if (strlen(seen) + 1 < nseen &&
			    strchr(seen, opt_letter(ch)) == NULL)
				seen[strlen(seen)] = opt_letter(ch);
			set_option(o, ch, optarg);
		}
	}
}

static void
check_command(struct ctrld_opts *o, int argc, char **argv, const char *seen)
{
	size_t i, c;

	if (optind >= argc)
		usage_error("no command given; commands: %s", command_words());
	for (c = 0; c < ARRAY_SIZE(commands); c++)
		if (strcmp(argv[optind], commands[c].word) == 0)
			break;
	if (c == ARRAY_SIZE(commands))
		usage_error("unknown command '%s'; commands: %s", argv[optind],
		    command_words());
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	o->cmd = commands[c].cmd;
	for (i = 0; seen[i] != '\0'; i++)
		if (strchr(commands[c].opts, seen[i]) == NULL) {
			int ch = seen[i] == 'A' ? OPT_ADDR_FILE :
			    seen[i] == 'B' ? OPT_READY_FD :
			    seen[i] == 'C' ? OPT_SNAPSHOT_MIN :
			    seen[i] == 'D' ? OPT_LOG_TIMESTAMPS : seen[i];

			usage_error("option --%s does not apply to '%s'",
			    opt_name(ch), commands[c].word);
		}
	if (o->manifest_path == NULL && (o->cmd != CTRLD_STATUS ||
	    o->controller == NULL))
		usage_error("%s needs the manifest (-m)%s", commands[c].word,
		    o->cmd == CTRLD_STATUS ? " or the controller (-c)" : "");
}

int
main(int argc, char **argv)
{
	struct ctrld_opts o;
	char seen[32] = "";
	int base;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.ready_fd = -1;
	o.timeout_ms = CTRLD_TIMEOUT_MS;
	o.snapshot_min = CTRLD_SNAPSHOT_MIN;
	parse(argc, argv, &o, seen, sizeof(seen));
	check_command(&o, argc, argv, seen);
	/* The daemon logs info by default, the commands warnings. */
	base = o.cmd == CTRLD_RUN ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
	base += o.verbosity;
	if (base < LOG_LEVEL_QUIET)
		base = LOG_LEVEL_QUIET;
	if (base > LOG_LEVEL_DEBUG)
		base = LOG_LEVEL_DEBUG;
	o.verbosity = base;
	log_init((enum log_level)o.verbosity, false, false);
	switch (o.cmd) {
	case CTRLD_RUN:
		return ctrld_run(&o);
	case CTRLD_STATUS:
		return ctrld_status(&o);
	case CTRLD_APPLY:
		return ctrld_apply(&o);
	}
	return EXIT_SOFTWARE;
}
