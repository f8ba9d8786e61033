/* SPDX-License-Identifier: MIT */
/*
 * ctrld: the klog controller. `ctrld run` is the daemon that owns the
 * partition state of a cluster; `ctrld status` and `ctrld apply` are the
 * operator's commands that talk to it; deploy, up, down, restart, hosts
 * and logs manage the manifest's hosts over SSH. This file holds main(): the
 * command table, option parsing and checks, and the hand-over.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
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
    "       ctrld apply -m manifest [-eJqv] [-c host:port] [-t timeout]\n"
    "       ctrld deploy -m manifest [-b id]... [-j n] [--bin-dir dir]\n"
    "       ctrld up|down -m manifest [-b id]... [-j n] [-t timeout] [--force]\n"
    "       ctrld restart -m manifest [-b id]... [-j n] [-t timeout] [--force]\n"
    "                 [--rolling [--wait dur] [-c host:port]]\n"
    "       ctrld hosts -m manifest [-J] [-b id]... [-j n]\n"
    "       ctrld logs -m manifest (-b id | --process ctrld) [-f] [-n lines]\n"
    "                 [--process logd|replicad]\n"
    "       host commands also take: [-F ssh_config] [--known-hosts file]\n"
    "                 [--accept-new-host-keys] [--connect-timeout dur]\n";

static const char help_text[] =
    "\n"
    "Commands:\n"
    "  run      the controller daemon (foreground, logs to stderr)\n"
    "  status   brokers and partitions; exit 0 healthy, 1 degraded\n"
    "  apply    make the topics match the manifest (dry run by default)\n"
    "  deploy   copy the programs and the manifest to every host (SFTP)\n"
    "  up       start the controller, then logd and replicad on each host\n"
    "  down     stop them (SIGTERM, then wait; SIGKILL only with --force)\n"
    "  restart  down then up; --rolling: one broker at a time, waiting for\n"
    "           the cluster to be healthy between brokers\n"
    "  hosts    per host: reachable, release installed, processes, disk\n"
    "  logs     a broker's (or the controller's) log over SSH\n"
    "\n"
    "  -b, --broker ID[,ID]    host commands: only these brokers\n"
    "  -c, --controller ADDR   status, apply, restart: controller host:port\n"
    "                          (default: the manifest's controller)\n"
    "  -d, --data-dir DIR      run: metadata log directory\n"
    "                          (default: controller.data_dir)\n"
    "  -e, --execute           apply: make the changes\n"
    "  -F, --ssh-config FILE   ssh_config to read (~/.ssh/config; none)\n"
    "  -f, --follow            logs: keep printing new lines\n"
    "  -h, --help              print this help and exit\n"
    "  -J, --json              status, apply, hosts: one JSON document\n"
    "  -j, --jobs N            host commands: N hosts at once (10)\n"
    "  -l, --listen ADDR       run: listen here, not on the manifest's\n"
    "                          controller address (port 0: any)\n"
    "  -m, --manifest FILE     the cluster manifest, klog-manifest(5)\n"
    "  -n, --check             run: check the manifest and exit\n"
    "  -n, --lines N           logs: the last N lines (100)\n"
    "  -q, --quiet             fewer messages on stderr\n"
    "  -t, --timeout DUR       status, apply: give up after DUR (5s);\n"
    "                          host commands: per remote step (60s)\n"
    "  -V, --version           print the version and exit\n"
    "  -v, --verbose           more messages on stderr\n"
    "      --accept-new-host-keys  learn unknown host keys (never changed\n"
    "                          ones), like StrictHostKeyChecking=accept-new\n"
    "      --addr-file PATH    run: write the bound address to PATH\n"
    "      --bin-dir DIR       deploy: take the programs from DIR (default:\n"
    "                          the directory of this ctrld)\n"
    "      --connect-timeout DUR  SSH connect and login (10s)\n"
    "      --force             down, restart: SIGKILL what outlives -t\n"
    "      --known-hosts FILE  known_hosts (default ~/.ssh/known_hosts)\n"
    "      --log-timestamps    run: prefix log lines with UTC timestamps\n"
    "      --process NAME      logs: logd (default), replicad or ctrld\n"
    "      --ready-fd N        run: write a newline to fd N once listening\n"
    "      --rolling           restart: one broker at a time\n"
    "      --snapshot-min SIZE run: rewrite the metadata log past SIZE\n"
    "      --wait DUR          restart --rolling: wait at most DUR for the\n"
    "                          cluster to be healthy after a broker (5m)\n"
    "\n"
    "Exit status: 0 ok (status: healthy), 1 degraded, some topics refused\n"
    "or some hosts failed, 64 usage, 65 corrupt metadata log, 69\n"
    "controller unreachable or no host reachable, 75 data directory in\n"
    "use, 76 protocol, 78 manifest.\n";

enum {
	OPT_ADDR_FILE = 256,
	OPT_READY_FD,
	OPT_SNAPSHOT_MIN,
	OPT_LOG_TIMESTAMPS,
	OPT_BIN_DIR,
	OPT_FORCE,
	OPT_ROLLING,
	OPT_WAIT,
	OPT_PROCESS,
	OPT_KNOWN_HOSTS,
	OPT_ACCEPT_NEW,
	OPT_CONNECT_TIMEOUT,
	OPT_LINES
};

static const struct option longopts[] = {
	{ "accept-new-host-keys", no_argument, NULL, OPT_ACCEPT_NEW },
	{ "addr-file", required_argument, NULL, OPT_ADDR_FILE },
	{ "bin-dir", required_argument, NULL, OPT_BIN_DIR },
	{ "broker", required_argument, NULL, 'b' },
	{ "check", no_argument, NULL, 'n' },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "controller", required_argument, NULL, 'c' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "execute", no_argument, NULL, 'e' },
	{ "follow", no_argument, NULL, 'f' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "json", no_argument, NULL, 'J' },
	{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
	{ "lines", required_argument, NULL, OPT_LINES },
	{ "listen", required_argument, NULL, 'l' },
	{ "log-timestamps", no_argument, NULL, OPT_LOG_TIMESTAMPS },
	{ "manifest", required_argument, NULL, 'm' },
	{ "process", required_argument, NULL, OPT_PROCESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "rolling", no_argument, NULL, OPT_ROLLING },
	{ "snapshot-min", required_argument, NULL, OPT_SNAPSHOT_MIN },
	{ "ssh-config", required_argument, NULL, 'F' },
	{ "timeout", required_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ NULL, 0, NULL, 0 }
};

/*
 * Long-only options stand for these letters in commands[].opts; -n is
 * --check for run but --lines (N) for logs, the letter 'N'.
 */
static const struct {
	int opt;
	char letter;
} long_letters[] = {
	{ OPT_ADDR_FILE, 'A' }, { OPT_READY_FD, 'B' },
	{ OPT_SNAPSHOT_MIN, 'C' }, { OPT_LOG_TIMESTAMPS, 'D' },
	{ OPT_BIN_DIR, 'E' }, { OPT_FORCE, 'G' }, { OPT_ROLLING, 'H' },
	{ OPT_WAIT, 'I' }, { OPT_PROCESS, 'K' }, { OPT_KNOWN_HOSTS, 'L' },
	{ OPT_ACCEPT_NEW, 'M' }, { OPT_CONNECT_TIMEOUT, 'O' },
	{ OPT_LINES, 'N' },
};

/* What every host command takes: -F and the long SSH options. */
#define SSH_OPTS "FLMOjq"

/* The command words and the options each accepts (by letter). */
static const struct {
	const char *word;
	enum ctrld_cmd cmd;
	const char *opts;
} commands[] = {
	{ "run", CTRLD_RUN, "dlmnqvABCD" },
	{ "status", CTRLD_STATUS, "cJmqtv" },
	{ "apply", CTRLD_APPLY, "ceJmqtv" },
	{ "deploy", CTRLD_DEPLOY, "bmtvE" SSH_OPTS },
	{ "up", CTRLD_UP, "bmtv" SSH_OPTS },
	{ "down", CTRLD_DOWN, "bmtvG" SSH_OPTS },
	{ "restart", CTRLD_RESTART, "bcmtvGHI" SSH_OPTS },
	{ "hosts", CTRLD_HOSTS, "bJmtv" SSH_OPTS },
	{ "logs", CTRLD_LOGS, "bfmtvKN" SSH_OPTS },
};

#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

static char
opt_letter(int ch)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(long_letters); i++)
		if (long_letters[i].opt == ch)
			return long_letters[i].letter;
	return (char)ch;
}

static int
letter_opt(char letter)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(long_letters); i++)
		if (long_letters[i].letter == letter)
			return long_letters[i].opt;
	return letter;
}

static const char *
command_words(void)
{
	static char words[128];
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

	if (ch == OPT_LINES)
		return "lines";
	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == ch)
			return longopts[i].name;
	return "?";
}

static int
command_index(const char *word)
{
	size_t c;

	for (c = 0; c < ARRAY_SIZE(commands); c++)
		if (strcmp(word, commands[c].word) == 0)
			return (int)c;
	return -1;
}

/*
 * The command word before getopt runs, so that -n can mean --lines for
 * logs: the first argument naming a command that is not the value of an
 * option (short options with values here: b c d F j l m t).
 */
static int
prescan_command(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t j;

		if (strcmp(a, "--") == 0)
			return -1;
		if (a[0] != '-')
			return command_index(a);
		if (a[1] == '-') {
			for (j = 0; longopts[j].name != NULL; j++)
				if (longopts[j].has_arg == required_argument &&
				    strcmp(a + 2, longopts[j].name) == 0)
					i++;
			continue;
		}
		/* -xyz: a letter taking a value ends the cluster. */
		for (j = 1; a[j] != '\0'; j++)
			if (strchr("bcdFjlmt", a[j]) != NULL) {
				if (a[j + 1] == '\0')
					i++;
				break;
			}
	}
	return -1;
}

static void
parse_brokers(struct ctrld_opts *o, const char *arg)
{
	const char *p = arg;

	while (*p != '\0') {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 0 || v > INT32_MAX ||
		    (*end != ',' && *end != '\0'))
			usage_error("--broker: '%s' is not a list of broker ids",
			    arg);
		if (o->nbrokers == CTRLD_MAX_SELECTED)
			usage_error("--broker: more than %d ids",
			    CTRLD_MAX_SELECTED);
		o->brokers[o->nbrokers++] = (int32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (arg[0] == '\0')
		usage_error("--broker: an empty list");
}

static void
parse_dur(const char *name, const char *arg, int64_t max, int64_t *dst)
{
	struct err e = { 0 };

	if (opt_parse_dur_ms(name, arg, 1, max, dst, &e) < 0)
		usage_error("%s", e.msg);
}

static void
parse_count(const char *name, const char *arg, uint64_t min, uint64_t max,
    int64_t *dst)
{
	struct err e = { 0 };
	uint64_t n;

	if (opt_parse_u64(name, arg, min, max, &n, &e) < 0)
		usage_error("%s", e.msg);
	*dst = (int64_t)n;
}

static void
set_option(struct ctrld_opts *o, int ch, const char *arg)
{
	struct err e = { 0 };
	int64_t n;

	switch (ch) {
	case 'b': parse_brokers(o, arg); break;
	case 'c': o->controller = arg; break;
	case 'd': o->data_dir = arg; break;
	case 'e': o->execute = true; break;
	case 'F': o->ssh_config = arg; break;
	case 'f': o->follow = true; break;
	case 'J': o->json = true; break;
	case 'j':
		parse_count("--jobs", arg, 1, 1000, &n);
		o->jobs = (int)n;
		break;
	case 'l': o->listen = arg; break;
	case 'm': o->manifest_path = arg; break;
	case 'n': o->check_only = true; break;
	case 'q': o->verbosity--; break;
	case 'v': o->verbosity++; break;
	case 't':
		parse_dur("--timeout", arg, 3600000, &o->timeout_ms);
		o->timeout_set = true;
		break;
	case OPT_ADDR_FILE: o->addr_file = arg; break;
	case OPT_READY_FD:
		parse_count("--ready-fd", arg, 0, 1 << 20, &n);
		o->ready_fd = (int)n;
		break;
	case OPT_SNAPSHOT_MIN:
		if (opt_parse_size("--snapshot-min", arg, 1, 1ull << 40,
		    &o->snapshot_min, &e) < 0)
			usage_error("%s", e.msg);
		break;
	case OPT_LOG_TIMESTAMPS: o->log_timestamps = true; break;
	case OPT_BIN_DIR: o->bin_dir = arg; break;
	case OPT_FORCE: o->force = true; break;
	case OPT_ROLLING: o->rolling = true; break;
	case OPT_WAIT: parse_dur("--wait", arg, 86400000, &o->wait_ms); break;
	case OPT_PROCESS:
		if (strcmp(arg, "logd") != 0 && strcmp(arg, "replicad") != 0 &&
		    strcmp(arg, "ctrld") != 0)
			usage_error("--process: '%s' is not logd, replicad or "
			    "ctrld", arg);
		o->process = arg;
		break;
	case OPT_KNOWN_HOSTS: o->known_hosts = arg; break;
	case OPT_ACCEPT_NEW: o->accept_new_host_keys = true; break;
	case OPT_CONNECT_TIMEOUT:
		parse_dur("--connect-timeout", arg, 3600000,
		    &o->connect_timeout_ms);
		o->connect_timeout_set = true;
		break;
	case OPT_LINES:
		parse_count("--lines", arg, 0, 100000000, &o->lines);
		break;
	}
}

/* Parse everything; options may come before or after the command word. */
static void
parse(int argc, char **argv, struct ctrld_opts *o, char *seen, size_t nseen)
{
	int c = prescan_command(argc, argv), ch;
	bool logs = c >= 0 && commands[c].cmd == CTRLD_LOGS;
	const char *shortopts = logs ? ":b:c:d:eF:fhJj:l:m:n:qt:Vv" :
	    ":b:c:d:eF:fhJj:l:m:nqt:Vv";

	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		char msg[160];

		if (ch == 'n' && logs)
			ch = OPT_LINES;
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

static bool
is_host_command(enum ctrld_cmd cmd)
{
	return cmd != CTRLD_RUN && cmd != CTRLD_STATUS && cmd != CTRLD_APPLY;
}

/* Combinations getopt cannot see. */
static void
check_combinations(struct ctrld_opts *o, const char *word)
{
	if (o->cmd == CTRLD_RESTART && !o->rolling &&
	    (o->wait_ms != 0 || o->controller != NULL))
		usage_error("restart: --wait and --controller go with "
		    "--rolling");
	if (o->cmd != CTRLD_LOGS)
		return;
	if (o->process != NULL && strcmp(o->process, "ctrld") == 0) {
		if (o->nbrokers != 0)
			usage_error("logs: --process ctrld is the controller's "
			    "log; leave out --broker");
		return;
	}
	if (o->nbrokers != 1)
		usage_error("%s: name one broker (-b ID) or --process ctrld",
		    word);
}

static void
check_command(struct ctrld_opts *o, int argc, char **argv, const char *seen)
{
	size_t i;
	int c;

	if (optind >= argc)
		usage_error("no command given; commands: %s", command_words());
	c = command_index(argv[optind]);
	if (c < 0)
		usage_error("unknown command '%s'; commands: %s", argv[optind],
		    command_words());
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	o->cmd = commands[c].cmd;
	for (i = 0; seen[i] != '\0'; i++)
		if (strchr(commands[c].opts, seen[i]) == NULL)
			usage_error("option --%s does not apply to '%s'",
			    opt_name(letter_opt(seen[i])), commands[c].word);
	if (o->manifest_path == NULL && (o->cmd != CTRLD_STATUS ||
	    o->controller == NULL))
		usage_error("%s needs the manifest (-m)%s", commands[c].word,
		    o->cmd == CTRLD_STATUS ? " or the controller (-c)" : "");
	check_combinations(o, commands[c].word);
	if (is_host_command(o->cmd) && !o->timeout_set)
		o->timeout_ms = CTRLD_HOST_TIMEOUT_MS;
}

int
main(int argc, char **argv)
{
	struct ctrld_opts o;
	char seen[64] = "";
	int base;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.ready_fd = -1;
	o.timeout_ms = CTRLD_TIMEOUT_MS;
	o.snapshot_min = CTRLD_SNAPSHOT_MIN;
	o.jobs = CTRLD_JOBS;
	o.lines = CTRLD_LOG_LINES;
	o.connect_timeout_ms = CTRLD_CONNECT_TIMEOUT_MS;
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
	case CTRLD_DEPLOY:
		return ctrld_deploy(&o);
	case CTRLD_UP:
	case CTRLD_DOWN:
	case CTRLD_RESTART:
		return ctrld_procs(&o);
	case CTRLD_HOSTS:
		return ctrld_hosts(&o);
	case CTRLD_LOGS:
		return ctrld_logs(&o);
	}
	return EXIT_SOFTWARE;
}
