/* SPDX-License-Identifier: MIT */
/*
 * kprod: produce records read from standard input or files to a klog (or
 * Kafka) topic. This file owns main(), option parsing and the signal
 * flag; kp_run() (kprod_run.c) does the work and returns the exit status.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"
#include "exitcode.h"
#include "kprod.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "banned.h"

static volatile sig_atomic_t kp_nsignals;

static const char usage_text[] =
    "usage: kprod [-0hJqsVvWZ] [-a acks] [-b brokers] [-c count] [-D delim]\n"
    "             [-E policy] [-F file] [-H name[=value]] [-K delim] [-k key]\n"
    "             [-m timeout] [-o format] [-P partitioner] [-p partition]\n"
    "             [-w timeout] [-X key=value] [-z codec] -t topic [file ...]\n";

static const char help_text[] =
    "Produce the records of standard input (or of each file) to a topic:\n"
    "one record per line by default, sent in batches, every record\n"
    "acknowledged before a zero exit.\n"
    "\n"
    "  -0, --null               records end with a NUL byte (-D '\\0')\n"
    "  -a, --acks ACKS          0, 1 or all (default all)\n"
    "  -b, --brokers LIST       host:port,... (else $KLOG_BROKERS)\n"
    "  -c, --count N            stop after N records\n"
    "  -D, --delimiter DELIM    record delimiter: \\n (default), \\t, \\0,\n"
    "                           \\xNN, or any bytes\n"
    "  -E, --on-error POLICY    bad input record: fail (exit 65) or skip\n"
    "  -F, --config FILE        client properties (else $KLOG_CONFIG)\n"
    "  -H, --header NAME[=VAL]  header on every record (repeatable;\n"
    "                           NAME alone is a null value)\n"
    "  -h, --help               print this help and exit\n"
    "  -J, --json               read klog JSON record envelopes, one a line\n"
    "  -K, --key-delimiter DELIM  split each record into key DELIM value\n"
    "  -k, --key KEY            key of records that have none\n"
    "  -m, --metadata-timeout T how long to wait for the topic (5s)\n"
    "  -o, --output FORMAT      print a line per acknowledged record:\n"
    "                           %t topic, %p partition, %o offset,\n"
    "                           %l input line, %T timestamp, \\n\n"
    "  -P, --partitioner NAME   murmur2 (default: Java's placement of keys),\n"
    "                           crc32, random or roundrobin\n"
    "  -p, --partition N        produce to partition N only\n"
    "  -q, --quiet              print errors only\n"
    "  -s, --progress           print the rate on stderr every second\n"
    "  -t, --topic TOPIC        the topic to produce to\n"
    "  -V, --version            print the version and exit\n"
    "  -v, --verbose            print a summary at the end (-vv: debug)\n"
    "  -W, --whole-file         each file (or all of stdin) is one record\n"
    "  -w, --flush-timeout T    time to deliver what is pending at the end\n"
    "                           or after SIGINT/SIGTERM (30s)\n"
    "  -X, --property KEY=VAL   client property (-X list: all; -X dump)\n"
    "  -Z, --null-empty         send empty keys and values as null\n"
    "  -z, --compression CODEC  none, gzip, snappy, lz4 or zstd\n"
    "\n"
    "Exit status: 0 every record acknowledged, 1 some not delivered, 64\n"
    "usage, 65 bad input record, 66 missing input file, 67 unknown topic\n"
    "or partition, 69 no broker, 75 flush timeout, 78 configuration.\n";

static const struct option long_opts[] = {
	{ "null", no_argument, NULL, '0' },
	{ "acks", required_argument, NULL, 'a' },
	{ "brokers", required_argument, NULL, 'b' },
	{ "count", required_argument, NULL, 'c' },
	{ "delimiter", required_argument, NULL, 'D' },
	{ "on-error", required_argument, NULL, 'E' },
	{ "config", required_argument, NULL, 'F' },
	{ "header", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'J' },
	{ "key-delimiter", required_argument, NULL, 'K' },
	{ "key", required_argument, NULL, 'k' },
	{ "metadata-timeout", required_argument, NULL, 'm' },
	{ "output", required_argument, NULL, 'o' },
	{ "partitioner", required_argument, NULL, 'P' },
	{ "partition", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, 's' },
	{ "topic", required_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "whole-file", no_argument, NULL, 'W' },
	{ "flush-timeout", required_argument, NULL, 'w' },
	{ "property", required_argument, NULL, 'X' },
	{ "null-empty", no_argument, NULL, 'Z' },
	{ "compression", required_argument, NULL, 'z' },
	{ NULL, 0, NULL, 0 }
};

int
kp_signals(void)
{
	return (int)kp_nsignals;
}

/*
 * The first SIGINT/SIGTERM asks the loop to stop reading and flush. The
 * second exits at once, from here, because the client core's synchronous
 * waits (connecting, metadata) do not look at the flag.
 */
static void
on_signal(int sig)
{
	static const char msg[] = "kprod: error: second signal: exiting "
	    "without delivering what is pending\n";

	(void)sig;
	if (kp_nsignals > 0) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(EXIT_TEMPFAIL);
	}
	kp_nsignals = 1;
}

/* Usage errors: "prog: <message>", the usage text, exit 64. */
#define usage_error(...) log_usage(usage_text, __VA_ARGS__)

static void
print_version(void)
{
	int c;

	printf("kprod %s\ncodecs:", KLOG_VERSION);
	for (c = COMPRESS_NONE; c <= COMPRESS_ZSTD; c++)
		printf(" %s", compress_codec_name(c));
	printf("\npartitioners: murmur2 crc32 random roundrobin\n"
	    "apis: Produce v3-7, InitProducerId v0-1, Metadata v1-6, "
	    "ApiVersions v0\n");
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A delimiter with C-style escapes: \n \t \r \0 \\ \xNN, and so on. */
static void
parse_delim(int flag, const char *s, uint8_t *out, size_t *len)
{
	size_t n = 0;

	while (*s != '\0') {
		int c = (unsigned char)*s++;

		if (n == KP_DELIM_MAX)
			usage_error("-%c: delimiter longer than %d bytes", flag,
			    KP_DELIM_MAX);
		if (c == '\\') {
			switch (*s++) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '0': c = '\0'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'v': c = '\v'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (hexval(s[0]) < 0 || hexval(s[1]) < 0)
					usage_error("-%c: \\x needs two hex "
					    "digits", flag);
				c = hexval(s[0]) * 16 + hexval(s[1]);
				s += 2;
				break;
			default:
				usage_error("-%c: unknown escape in '%s' (use "
				    "\\n \\t \\r \\0 \\\\ or \\xNN)", flag,
				    s - 2);
			}
		}
		out[n++] = (uint8_t)c;
	}
	if (n == 0)
		usage_error("-%c: empty delimiter", flag);
	*len = n;
}

/* -H name=value, name= (empty value) or name (null value). */
static void
add_header(struct kp_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct rec_header *h;

	if (eq == arg || *arg == '\0')
		usage_error("-H: empty header name in '%s'", arg);
	o->headers = xrealloc(o->headers, ((size_t)o->nheaders + 1) *
	    sizeof(*o->headers));
	h = &o->headers[o->nheaders++];
	h->key.data = (const uint8_t *)arg;
	h->key.len = (int32_t)(eq ? (size_t)(eq - arg) : strlen(arg));
	h->value.data = eq ? (const uint8_t *)eq + 1 : NULL;
	h->value.len = eq ? (int32_t)strlen(eq + 1) : -1;
}

/* Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..". */
static bool
topic_name_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void
check_combinations(const struct kp_opts *o, const char *seen, bool dump)
{
	static const char not_json[] = "KkHZW";
	const char *c;

	if (strchr(seen, '0') != NULL && strchr(seen, 'D') != NULL)
		usage_error("options -0 and -D cannot be used together");
	if (o->json)
		for (c = not_json; *c != '\0'; c++)
			if (strchr(seen, *c) != NULL)
				usage_error("option -%c cannot be used with -J",
				    *c);
	if (o->partition >= 0 && o->partitioner != NULL)
		usage_error("options -p and -P cannot be used together");
	if (o->topic == NULL && !dump)
		usage_error("no topic given (use -t topic)");
	if (o->topic != NULL && !topic_name_ok(o->topic))
		usage_error("-t: invalid topic name '%s' (1-249 of a-z A-Z "
		    "0-9 . _ -)", o->topic);
}

static void
parse_options(int argc, char **argv, struct kp_opts *o, bool *dump)
{
	struct err e = { 0 };
	char seen[128] = "";
	size_t nseen = 0;
	enum compress_codec codec;
	enum kp_partitioner part;
	int64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv,
	    ":0a:b:c:D:E:F:H:hJK:k:m:o:P:p:qst:VvWw:X:Zz:", long_opts,
	    NULL)) != -1) {
		if (c != '?' && c != ':' && nseen < sizeof(seen) - 1) {
			seen[nseen++] = (char)c;
			seen[nseen] = '\0';
		}
		switch (c) {
		case '0':
			o->delim[0] = '\0';
			o->delim_len = 1;
			break;
		case 'a':
			if (strcmp(optarg, "all") != 0 &&
			    strcmp(optarg, "-1") != 0 &&
			    strcmp(optarg, "0") != 0 &&
			    strcmp(optarg, "1") != 0)
				usage_error("-a: expected 0, 1, all or -1, got "
				    "'%s'", optarg);
			o->acks = optarg;
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
			parse_delim('D', optarg, o->delim, &o->delim_len);
			break;
		case 'E':
			if (strcmp(optarg, "fail") != 0 &&
			    strcmp(optarg, "skip") != 0)
				usage_error("-E: expected fail or skip, got "
				    "'%s'", optarg);
			o->skip_bad = strcmp(optarg, "skip") == 0;
			break;
		case 'F':
			o->config_file = optarg;
			break;
		case 'H':
			add_header(o, optarg);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
		case 'J':
			o->json = true;
			break;
		case 'K':
			parse_delim('K', optarg, o->key_delim,
			    &o->key_delim_len);
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'm':
			if (opt_parse_dur_ms("-m", optarg, 1, INT32_MAX,
			    &o->metadata_timeout_ms, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'o':
			if (kp_format_check(optarg, &e) < 0)
				usage_error("%s", e.msg);
			o->output = optarg;
			break;
		case 'P':
			if (kp_partitioner_parse(optarg, &part) < 0)
				usage_error("-P: unknown partitioner '%s' (use "
				    "murmur2, crc32, random or roundrobin)",
				    optarg);
			o->partitioner = optarg;
			break;
		case 'p':
			if (opt_parse_i64("-p", optarg, -1, INT32_MAX, &v,
			    &e) < 0)
				usage_error("%s", e.msg);
			o->partition = (int32_t)v;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 's':
			o->progress = true;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'V':
			print_version();
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR);
		case 'v':
			o->verbose++;
			break;
		case 'W':
			o->whole_file = true;
			break;
		case 'w':
			if (opt_parse_dur_ms("-w", optarg, 0, INT32_MAX,
			    &o->flush_timeout_ms, &e) < 0)
				usage_error("%s", e.msg);
			break;
		case 'X':
			if (strcmp(optarg, "list") == 0) {
				kp_conf_list();
				exit(fflush(stdout) == 0 ? EXIT_OK :
				    EXIT_IOERR);
			}
			if (strcmp(optarg, "dump") == 0) {
				*dump = true;
				break;
			}
			if (kconf_set_arg(&o->conf, optarg, &e) < 0) {
				if (e.code == EXIT_USAGE)
					usage_error("%s", e.msg);
				log_fatalx(e.code, "%s", e.msg);
			}
			break;
		case 'Z':
			o->null_empty = true;
			break;
		case 'z':
			if (compress_codec_parse(optarg, &codec, &e) < 0)
				usage_error("-z: %s", e.msg);
			o->compression = optarg;
			break;
		default: {
			char msg[160];

			opt_error_text(long_opts, c, argv[optind - 1], optopt,
			    msg, sizeof(msg));
			usage_error("%s", msg);
		}
		}
	}
	o->files = argv + optind;
	o->nfiles = argc - optind;
	check_combinations(o, seen, *dump);
}

int
main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	struct kp_opts o;
	struct sigaction sa;
	bool dump = false;
	int rc;

	prog_init(argv[0]);
	memset(&o, 0, sizeof(o));
	o.partition = -1;
	o.delim[0] = '\n';
	o.delim_len = 1;
	o.flush_timeout_ms = 30000;
	o.metadata_timeout_ms = 5000;
	kconf_init(&o.conf, kp_conf_keys);

	parse_options(argc, argv, &o, &dump);
	o.dump = dump;
	log_init(o.quiet ? LOG_LEVEL_QUIET : o.verbose > 1 ? LOG_LEVEL_DEBUG :
	    o.verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, false, false);

	/* Broker sockets may close under us: EPIPE, not a fatal signal. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: a signal must end a wait in poll() or read(). */
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* The -o report: line by line on a terminal, in blocks otherwise. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	rc = dump ? kp_dump(&o) : kp_run(&o);
	kconf_release(&o.conf);
	free(o.headers);
	return rc;
}
