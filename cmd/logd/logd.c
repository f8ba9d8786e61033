/* SPDX-License-Identifier: MIT */
/*
 * logd: the klog broker. Owns one data directory of partition logs and
 * speaks the Kafka protocol to clients. This file holds main(): options,
 * configuration, signals, and the hand-over to the event loop.
 */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "opt.h"
#include "record.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

static const char usage_text[] =
    "usage: logd [-hnqVv] [-c file] [-d dir] [-l host:port] [-a host:port]\n"
    "            [-i id] [-m manifest] [-o key=value] [--addr-file path]\n"
    "            [--ready-fd n] [--log-timestamps]\n"
    "       logd ctl [-j] [-c file | -d dir | -m manifest -i id] command\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stdout)
		fputs("\n"
		    "  -c, --config FILE      YAML file of broker settings\n"
		    "  -d, --data-dir DIR     data directory (data.dir)\n"
		    "  -l, --listen ADDR      address to listen on (default 127.0.0.1:9092)\n"
		    "  -a, --advertise ADDR   address clients are told to use\n"
		    "  -i, --broker-id ID     broker id (broker.id, default 0)\n"
		    "  -m, --manifest FILE    cluster mode: this broker's section of\n"
		    "                         the cluster manifest (needs -i)\n"
		    "  -o, --set KEY=VALUE    any setting, e.g. -o log.retention.hours=24\n"
		    "  -n, --check            check the configuration and exit\n"
		    "      --addr-file PATH   write the bound address to PATH\n"
		    "      --ready-fd N       write a newline to fd N once listening\n"
		    "      --log-timestamps   prefix log lines with UTC timestamps\n"
		    "  -q, --quiet            log warnings and errors only\n"
		    "  -v, --verbose          log debug messages\n"
		    "  -V, --version          print the version and supported APIs\n"
		    "  -h, --help             print this help\n"
		    "\n"
		    "commands for logd ctl: status, topics, flush, retention\n"
		    "see logd(8) for every setting\n", f);
}

static void
print_version(void)
{
	printf("logd %s (klog)\n", KLOG_VERSION);
	printf("record format: RecordBatch v2; codecs: none gzip snappy lz4 zstd\n");
	printf("Kafka APIs:\n");
	logd_api_versions_print();
}


static int
bad_usage(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog_name(), msg);
	usage(stderr);
	return EXIT_USAGE;
}

/* Descriptors per partition (its active segment's three files). */
#define FDS_PER_PARTITION 3
/* Room for connections, older segments being read, state files. */
#define FDS_RESERVE 256

/*
 * Each partition keeps its active segment's .log, .index and .timeindex
 * open, and connections, older segments being read and the cleaner need
 * more: allow as many descriptors as the hard limit does (epoll only,
 * no select(), so high descriptor numbers are fine).
 */
static void
raise_nofile_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("unable to read the open file limit");
		return;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("unable to raise the open file limit from %"
			    PRIuMAX " to %" PRIuMAX, (uintmax_t)was,
			    (uintmax_t)rl.rlim_max);
			return;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		log_info("open file limit: unlimited");
	else if (was != rl.rlim_cur)
		log_info("open file limit raised to %" PRIuMAX " (was %" PRIuMAX
		    ")", (uintmax_t)rl.rlim_cur, (uintmax_t)was);
	else
		log_info("open file limit: %" PRIuMAX, (uintmax_t)rl.rlim_cur);
}

/* Warn when the partitions found leave too few descriptors to serve. */
static void
check_nofile_limit(const struct logd *ld)
{
	uintmax_t nparts = 0, need;
	struct rlimit rl;
	size_t i;

	for (i = 0; i < ld->ntopics; i++)
		nparts += (uintmax_t)ld->topics[i]->npartitions;
	need = nparts * FDS_PER_PARTITION + FDS_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    (uintmax_t)rl.rlim_cur >= need)
		return;
	log_warnx("open file limit %" PRIuMAX " is low for %" PRIuMAX
	    " partitions (%d open files each): new segments, topics and "
	    "connections may fail with \"Too many open files\"; raise the "
	    "hard limit (ulimit -Hn, systemd LimitNOFILE=) to at least %"
	    PRIuMAX, (uintmax_t)rl.rlim_cur, nparts, FDS_PER_PARTITION, need);
}

static int
logd_run(struct logd_opts *o)
{
	struct logd ld;
	struct err e = { 0 };
	int rc = EXIT_OK;

	memset(&ld, 0, sizeof(ld));
	ld.listen_fd = ld.ctl_fd = ld.epfd = ld.replica_fd = -1;
	ld.opts = o;
	logd_config_init(&ld.cfg);
	if (logd_config_load(&ld.cfg, o, &e) < 0) {
		if (e.code == EXIT_USAGE) {
			rc = bad_usage(e.msg);
			goto out;
		}
		log_errorx("%s", e.msg);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (o->check_only) {
		printf("configuration OK\n");
		goto out;
	}
	log_init(o->verbosity, true, o->log_timestamps);
	sig_install(true);
	/* A file size limit must fail the write (EFBIG), not kill the broker. */
	sig_ignore(SIGXFSZ);
	raise_nofile_limit();
	if (cluster_new(&ld, &e) < 0 || topics_load(&ld, &e) < 0 ||
	    groups_load(&ld, &e) < 0) {
		log_errorx("%s", e.msg);
		if (strstr(e.msg, strerror(EMFILE)) != NULL)
			log_warnx("each partition holds %d open files: raise "
			    "the hard open file limit (ulimit -Hn, systemd "
			    "LimitNOFILE=)", FDS_PER_PARTITION);
		rc = e.code ? e.code : EXIT_SOFTWARE;
		groups_free(&ld);
		topics_close(&ld, false);
		goto out;
	}
	check_nofile_limit(&ld);
	if (logd_serve(&ld, o, &sig_stop, &sig_reload, &e) < 0) {
		log_errorx("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
		cluster_free(&ld);
		groups_free(&ld);
		topics_close(&ld, false);
		goto out;
	}
	cluster_free(&ld);
	groups_free(&ld);
	topics_close(&ld, true);
	log_info("stopped");
out:
	cluster_free(&ld);
	logd_config_release(&ld.cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "advertise", required_argument, NULL, 'a' },
		{ "addr-file", required_argument, NULL, 'A' },
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "broker-id", required_argument, NULL, 'i' },
		{ "listen", required_argument, NULL, 'l' },
		{ "log-timestamps", no_argument, NULL, 'T' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "check", no_argument, NULL, 'n' },
		{ "set", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct logd_opts o;
	struct err e = { 0 };
	uint64_t n;
	int ch, rc;

	prog_init(argv[0]);
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	o.ready_fd = -1;
	o.verbosity = LOG_LEVEL_INFO;
	o.overrides = xcalloc((size_t)argc, sizeof(*o.overrides));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:c:d:hi:l:m:no:qVv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a': o.advertise = optarg; break;
		case 'A': o.addr_file = optarg; break;
		case 'c': o.config_path = optarg; break;
		case 'd': o.data_dir = optarg; break;
		case 'h': usage(stdout); free(o.overrides); return EXIT_OK;
		case 'i': o.broker_id = optarg; break;
		case 'l': o.listen = optarg; break;
		case 'm': o.manifest_path = optarg; break;
		case 'n': o.check_only = true; break;
		case 'o': o.overrides[o.noverrides++] = optarg; break;
		case 'q': o.verbosity = LOG_LEVEL_WARN; break;
		case 'R':
			if (opt_parse_u64("--ready-fd", optarg, 0, 1 << 20, &n,
			    &e) < 0) {
				free(o.overrides);
				return bad_usage(e.msg);
			}
			o.ready_fd = (int)n;
			break;
		case 'T': o.log_timestamps = true; break;
		case 'V': print_version(); free(o.overrides); return EXIT_OK;
		case 'v': o.verbosity = LOG_LEVEL_DEBUG; break;
		default: {
			char msg[160];

			opt_error_text(longopts, ch, argv[optind - 1], optopt, msg,
			    sizeof(msg));
			free(o.overrides);
			return bad_usage(msg);
		}
		}
	}
	if (optind < argc) {
		free(o.overrides);
		return bad_usage("unexpected argument; see logd -h");
	}
	log_init(o.verbosity, false, false);
	rc = logd_run(&o);
	free(o.overrides);
	return rc;
}
