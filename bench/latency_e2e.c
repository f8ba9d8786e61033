/* SPDX-License-Identifier: MIT */
/*
 * latency_e2e: the two ends of bench/latency's end-to-end pipeline
 *
 *     latency_e2e gen  ... -- PRODUCER...   (a paced writer into its stdin)
 *     latency_e2e sink ... -- CONSUMER...   (a reader of its stdout)
 *
 * gen writes RATE lines a second for WARMUP + SECONDS seconds into the
 * producer's standard input. Record i is due at t0 + i / RATE (absolute
 * deadlines, so the rate holds over the whole run whatever each wake-up
 * costs); at each wake-up every record that is due goes out in one write(2).
 * A line is SIZE bytes before its newline:
 *
 *     F SSSSSSSSSSSS DDDDDDDDDDDDDDDDDDD WWWWWWWWWWWWWWWWWWW xxxx...
 *
 * F is 'w' (warm-up, checked for loss but kept out of the histogram) or 'm'
 * (measured), S the sequence number from 0, D the time the record was due
 * and W the time it was written, both CLOCK_MONOTONIC nanoseconds (one
 * machine: the sink reads the same clock). Between deadlines gen sleeps
 * with clock_nanosleep(TIMER_ABSTIME) and a 1 us timer slack, until the
 * next record is due or, with --tick-us T, until the first multiple of T
 * (from the start) at which one is: the records then go out together, each
 * still stamped with its own due time, for a wake-up and a write every T
 * instead of every record. --spin-us busy-waits the last microseconds
 * before a wake-up, which only pays on a machine with a core to spare.
 *
 * sink reads the consumer's output, takes the clock once per read(2) and
 * records for each measured line receive - due (the latency a user sees at
 * this arrival rate, including any time the record waited in gen because
 * the producer did not take its input: no coordinated omission), receive -
 * written, and written - due (gen's own lateness) in log-linear histograms:
 * exact microseconds below 1024 us, then 512 buckets per power of two
 * (under 0.2% error) up to 2^40 us. It checks every sequence number arrives
 * exactly once and stops when all COUNT have, at end of input, after
 * --idle-timeout without a line, or on SIGTERM/SIGINT. Lines of another
 * form are counted as "other"; the first line of any kind creates the
 * --ready file (bench/latency produces one marker record before starting
 * the consumer, so the file says the consumer is fetching).
 *
 * Both run their command as a child (killed with SIGTERM when they stop,
 * and by the kernel if they die: PR_SET_PDEATHSIG), report its exit status
 * and CPU seconds, and print key=value lines (sink: on stdout; gen: to
 * --report FILE or stderr). sink writes its latency histogram as
 * "upper_bound_us count" lines to --hist FILE, and with --trace FILE a
 * "sequence latency_us" line per measured record (to diagnose).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

#define F_SEQ 2			/* offsets of the fields in a line */
#define W_SEQ 12
#define F_DUE (F_SEQ + W_SEQ + 1)
#define W_TS 19
#define F_WRITTEN (F_DUE + W_TS + 1)
#define MIN_SIZE (F_WRITTEN + W_TS)	/* 54 */

static const char usage_text[] =
    "usage: latency_e2e gen [-r rate] [-s seconds] [-w warmup_seconds]\n"
    "           [-S size] [-t tick_us] [--spin-us N] [-R report]\n"
    "           [-- producer ...]\n"
    "       latency_e2e sink -n count [-H hist] [-R ready] [-T trace]\n"
    "           [-i idle_ms] [-- consumer ...]\n";

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked write or read returns EINTR. */
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child: COMMAND with its fd `child_fd` (0 or 1) on our pipe. */
struct child {
	pid_t pid;
	int fd;			/* our end of the pipe */
};

static void
child_start(struct child *c, char **argv, int child_fd)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe(p) < 0)
		log_fatal(EXIT_OSERR, "pipe");
	c->pid = fork();
	if (c->pid < 0)
		log_fatal(EXIT_OSERR, "fork");
	if (c->pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
		(void)sigaction(SIGTERM, &sa, NULL);
		(void)sigaction(SIGINT, &sa, NULL);
		(void)sigaction(SIGHUP, &sa, NULL);
		/* Never outlive the bench, even after a kill -9 of it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EXIT_SOFTWARE);
		if (dup2(p[child_fd == 0 ? 0 : 1], child_fd) < 0)
			_exit(EXIT_OSERR);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s: %s\n", prog_name(), argv[0],
		    strerror(errno));
		_exit(127);
	}
	c->fd = child_fd == 0 ? p[1] : p[0];
	close(child_fd == 0 ? p[0] : p[1]);
	(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Wait for the child (SIGTERM first when `term`); prints its status and CPU
 * seconds to `out`. Returns 0 when it exited 0 (or was ended by our
 * SIGTERM), else -1.
 */
static int
child_finish(struct child *c, bool term, FILE *out, const char *prefix)
{
	int status = 0, rc = 0;
	pid_t w;

	if (c->pid <= 0)
		return 0;
	if (term)
		(void)kill(c->pid, SIGTERM);
	while ((w = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
		if (stop_signal != 0)
			(void)kill(c->pid, SIGTERM);
	if (w < 0)
		return -1;
	if (WIFEXITED(status)) {
		fprintf(out, "%s_exit=%d\n", prefix, WEXITSTATUS(status));
		rc = WEXITSTATUS(status) == 0 ? 0 : -1;
	} else if (WIFSIGNALED(status)) {
		fprintf(out, "%s_exit=signal%d\n", prefix, WTERMSIG(status));
		rc = term && WTERMSIG(status) == SIGTERM ? 0 : -1;
	}
	fprintf(out, "%s_cpu_s=%.3f\n", prefix, bench_cpu_s(RUSAGE_CHILDREN));
	c->pid = 0;
	return rc;
}

/* Fixed-width decimal, zero-padded (the value fits: checked by callers). */
static void
put_digits(char *p, int width, uint64_t v)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

static bool
get_digits(const char *p, int width, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < width; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* gen */

static const struct option gen_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "rate", required_argument, NULL, 'r' },
	{ "report", required_argument, NULL, 'R' },
	{ "seconds", required_argument, NULL, 's' },
	{ "size", required_argument, NULL, 'S' },
	{ "spin-us", required_argument, NULL, 'p' },
	{ "tick-us", required_argument, NULL, 't' },
	{ "warmup", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 }
};

/*
 * Not bench_write_all(): a stop signal must end a write blocked on a full
 * pipe (hence no SA_RESTART) instead of retrying it.
 */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			if (stop_signal != 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static int
gen_main(int argc, char **argv)
{
	uint64_t rate = 100000, seconds = 30, warmup = 1, size = 100;
	uint64_t spin_us = 0, total, nwarm, next = 0, writes = 0;
	uint64_t max_batch, max_lag = 0;
	const char *report = NULL;
	struct child ch = { 0, STDOUT_FILENO };
	FILE *out = stderr;
	char *tmpl, *buf;
	int64_t t0, now, last_write = 0, tick_ns = 0;
	size_t line;
	int c, rc = EXIT_OK;
	bool broken = false;

	while ((c = getopt_long(argc, argv, "+hp:r:R:s:S:t:w:", gen_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'r':
			rate = bench_opt_u64(usage_text, "--rate", optarg, 1,
			    100000000);
			break;
		case 'R':
			report = optarg;
			break;
		case 's':
			seconds = bench_opt_u64(usage_text, "--seconds", optarg,
			    1, 86400);
			break;
		case 'S':
			size = bench_opt_u64(usage_text, "--size", optarg,
			    MIN_SIZE, 1 << 20);
			break;
		case 'p':
			spin_us = bench_opt_u64(usage_text, "--spin-us", optarg,
			    0, 1000000);
			break;
		case 't':
			tick_ns = (int64_t)bench_opt_u64(usage_text,
			    "--tick-us", optarg, 0, 1000000) * 1000;
			break;
		case 'w':
			warmup = bench_opt_u64(usage_text, "--warmup", optarg,
			    0, 3600);
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		default:
			log_usage(usage_text, "bad option");
		}
	}
	total = rate * (seconds + warmup);
	nwarm = rate * warmup;
	if (total >= 1000000000000ULL)
		log_usage(usage_text, "more than 10^12 records");
	if (report != NULL && (out = fopen(report, "w")) == NULL)
		log_fatal(EXIT_CANTCREAT, "%s", report);
	catch_signals();
	/* Wake-ups within a microsecond, not the default 50. */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL);
	if (optind < argc)
		child_start(&ch, argv + optind, 0);

	line = (size_t)size + 1;
	/* At most ~32 KiB a write: half a pipe, so it goes in at once. */
	max_batch = 32768 / line > 0 ? 32768 / line : 1;
	tmpl = malloc(line);
	buf = malloc(line * max_batch);
	if (tmpl == NULL || buf == NULL)
		log_fatalx(EXIT_OSERR, "out of memory");
	memset(tmpl, 'x', line);
	tmpl[line - 1] = '\n';
	tmpl[1] = tmpl[F_DUE - 1] = tmpl[F_WRITTEN - 1] = ' ';
	if (size > MIN_SIZE)
		tmpl[MIN_SIZE] = ' ';

	t0 = now_ns() + 1000000;	/* the first record 1 ms from now */
	while (next < total && stop_signal == 0) {
		int64_t due = t0 + (int64_t)(next * 1000000000 / rate);
		uint64_t n = 0;
		char *p = buf;

		now = now_ns();
		if (due > now) {
			struct timespec ts;
			int64_t at = due, wake;

			if (tick_ns > 0)	/* the first tick at or after due */
				at = t0 + (due - t0 + tick_ns - 1) / tick_ns *
				    tick_ns;
			wake = at - (int64_t)spin_us * 1000;
			if (wake > now) {
				ts.tv_sec = wake / 1000000000;
				ts.tv_nsec = wake % 1000000000;
				if (clock_nanosleep(CLOCK_MONOTONIC,
				    TIMER_ABSTIME, &ts, NULL) != 0)
					continue;	/* EINTR: check the flag */
			}
			while ((now = now_ns()) < at)
				;
		}
		/* Everything due by now, in one write. */
		while (next < total && n < max_batch) {
			due = t0 + (int64_t)(next * 1000000000 / rate);
			if (due > now)
				break;
			memcpy(p, tmpl, line);
			p[0] = next < nwarm ? 'w' : 'm';
			put_digits(p + F_SEQ, W_SEQ, next);
			put_digits(p + F_DUE, W_TS, (uint64_t)due);
			put_digits(p + F_WRITTEN, W_TS, (uint64_t)now);
			if (n == 0 && (uint64_t)(now - due) > max_lag)
				max_lag = (uint64_t)(now - due);
			p += line;
			n++;
			next++;
		}
		if (write_all(ch.fd, buf, (size_t)(p - buf)) < 0) {
			if (stop_signal == 0) {
				log_warn("writing to the producer");
				broken = true;
			}
			break;
		}
		writes++;
		last_write = now;
	}
	close(ch.fd);
	{
		double secs = (double)(last_write - t0) / 1e9;

		fprintf(out, "gen_records=%" PRIu64 "\n", next);
		fprintf(out, "gen_expected=%" PRIu64 "\n", total);
		fprintf(out, "gen_warmup_records=%" PRIu64 "\n", nwarm);
		fprintf(out, "gen_writes=%" PRIu64 "\n", writes);
		fprintf(out, "gen_seconds=%.3f\n", secs);
		fprintf(out, "gen_rate=%.0f\n", secs > 0 && next > 1 ?
		    (double)(next - 1) / secs : 0.0);
		fprintf(out, "gen_max_lag_us=%.0f\n", (double)max_lag / 1e3);
		fprintf(out, "gen_cpu_s=%.3f\n", bench_cpu_s(RUSAGE_SELF));
	}
	if (child_finish(&ch, stop_signal != 0, out, "producer") < 0 &&
	    stop_signal == 0)
		rc = EXIT_FAIL;
	if (broken || next < total)
		rc = stop_signal != 0 ? 128 + stop_signal : EXIT_FAIL;
	if (out != stderr && fclose(out) != 0)
		rc = EXIT_IOERR;
	free(tmpl);
	free(buf);
	return rc;
}

/* sink */

#define EXACT 1024		/* exact microseconds below this */
#define SUB_BITS 9		/* then 512 buckets per power of two */
#define MAX_EXP 40
#define NBUCKETS (EXACT + (MAX_EXP - 10) * (1 << SUB_BITS))

struct hist {
	uint64_t count;
	int64_t max_ns;
	uint64_t b[NBUCKETS];
};

static size_t
bucket_of(uint64_t us)
{
	int e;

	if (us < EXACT)
		return (size_t)us;
	e = 63 - __builtin_clzll(us);
	if (e >= MAX_EXP)
		return NBUCKETS - 1;
	return EXACT + (size_t)(e - 10) * (1 << SUB_BITS) +
	    (size_t)((us >> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1));
}

/* The highest value a bucket holds, in microseconds. */
static uint64_t
bucket_top(size_t i)
{
	size_t e, sub;

	if (i < EXACT)
		return i;
	e = (i - EXACT) / (1 << SUB_BITS) + 10;
	sub = (i - EXACT) % (1 << SUB_BITS);
	return ((((uint64_t)1 << SUB_BITS) + sub + 1) << (e - SUB_BITS)) - 1;
}

static void
hist_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	if (ns > h->max_ns || h->count == 0)
		h->max_ns = ns;
	h->b[bucket_of(((uint64_t)ns + 500) / 1000)]++;
	h->count++;
}

/* The value at percentile q (0-100): the top of its bucket, as HDR does. */
static double
hist_pct_us(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	size_t i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)((q / 100.0) * (double)h->count + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double top = (double)bucket_top(i);
			double max = (double)h->max_ns / 1e3;

			return top < max ? top : max;
		}
	}
	return (double)h->max_ns / 1e3;
}

static void
hist_print(const struct hist *h, FILE *out, const char *prefix)
{
	static const struct { const char *name; double q; } pcts[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p99_9", 99.9 },
		{ "p99_99", 99.99 },
	};
	size_t i;

	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		fprintf(out, "%s%s_us=%.0f\n", prefix, pcts[i].name,
		    hist_pct_us(h, pcts[i].q));
	fprintf(out, "%smax_us=%.0f\n", prefix, (double)h->max_ns / 1e3);
}

static const struct option sink_opts[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "hist", required_argument, NULL, 'H' },
	{ "idle-timeout", required_argument, NULL, 'i' },
	{ "ready", required_argument, NULL, 'R' },
	{ "trace", required_argument, NULL, 'T' },
	{ NULL, 0, NULL, 0 }
};

struct sink {
	uint64_t count, distinct, dup, reordered, bad, other, warm;
	uint64_t last_seq;
	bool any_seq;
	uint8_t *seen;
	struct hist lat, lat_written, lag;
	int64_t first_rx, last_rx;
	FILE *trace;		/* "seq latency_us" per measured record */
};

static void
sink_line(struct sink *s, const char *l, size_t len, int64_t rx)
{
	uint64_t seq, due, written;

	if (len < MIN_SIZE || (l[0] != 'm' && l[0] != 'w') ||
	    !get_digits(l + F_SEQ, W_SEQ, &seq) ||
	    !get_digits(l + F_DUE, W_TS, &due) ||
	    !get_digits(l + F_WRITTEN, W_TS, &written)) {
		s->other++;
		return;
	}
	if (seq >= s->count) {
		s->bad++;
		return;
	}
	if (s->seen[seq >> 3] & (1u << (seq & 7))) {
		s->dup++;
		return;
	}
	s->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
	s->distinct++;
	if (s->any_seq && seq < s->last_seq)
		s->reordered++;
	s->any_seq = true;
	s->last_seq = seq;
	if (s->first_rx == 0)
		s->first_rx = rx;
	s->last_rx = rx;
	if (l[0] == 'w') {
		s->warm++;
		return;
	}
	hist_add(&s->lat, rx - (int64_t)due);
	if (s->trace != NULL)
		fprintf(s->trace, "%" PRIu64 " %.1f\n", seq,
		    (double)(rx - (int64_t)due) / 1e3);
	hist_add(&s->lat_written, rx - (int64_t)written);
	hist_add(&s->lag, (int64_t)written - (int64_t)due);
}

static int
sink_main(int argc, char **argv)
{
	const char *hist_path = NULL, *ready = NULL;
	struct child ch = { 0, STDIN_FILENO };
	uint64_t idle_ms = 0;
	size_t cap = 1 << 20, have = 0, i;
	struct sink *s;
	char *buf;
	const char *why = "end of input";
	bool got_line = false, count_set = false;
	int c, rc = EXIT_OK;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		log_fatalx(EXIT_OSERR, "out of memory");
	while ((c = getopt_long(argc, argv, "+hH:i:n:R:T:", sink_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'n':
			s->count = bench_opt_u64(usage_text, "--count", optarg,
			    1, 1000000000000ULL);
			count_set = true;
			break;
		case 'H':
			hist_path = optarg;
			break;
		case 'i':
			idle_ms = bench_opt_u64(usage_text, "--idle-timeout",
			    optarg, 1, 86400000);
			break;
		case 'R':
			ready = optarg;
			break;
		case 'T':
			if ((s->trace = fopen(optarg, "w")) == NULL)
				log_fatal(EXIT_CANTCREAT, "%s", optarg);
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		default:
			log_usage(usage_text, "bad option");
		}
	}
	if (!count_set)
		log_usage(usage_text, "-n count is required");
	s->seen = calloc((size_t)(s->count / 8 + 1), 1);
	buf = malloc(cap);
	if (s->seen == NULL || buf == NULL)
		log_fatalx(EXIT_OSERR, "out of memory");
	catch_signals();
	if (optind < argc)
		child_start(&ch, argv + optind, 1);

	while (s->distinct < s->count) {
		struct pollfd pfd = { ch.fd, POLLIN, 0 };
		ssize_t n;
		int64_t rx;
		char *p, *end, *nl;

		if (stop_signal != 0) {
			why = "signal";
			break;
		}
		if (idle_ms > 0 && got_line) {
			int pr = poll(&pfd, 1, (int)idle_ms);

			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0) {
				why = "idle timeout";
				break;
			}
		}
		n = read(ch.fd, buf + have, cap - have);
		rx = now_ns();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			log_fatal(EXIT_IOERR, "read");
		if (n == 0)
			break;
		end = buf + have + n;
		for (p = buf; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
		    p = nl + 1) {
			sink_line(s, p, (size_t)(nl - p), rx);
			if (!got_line) {
				got_line = true;
				if (ready != NULL) {
					FILE *f = fopen(ready, "w");

					if (f != NULL)
						fclose(f);
				}
			}
		}
		have = (size_t)(end - p);
		if (have == cap)	/* a line longer than the buffer */
			have = 0, s->other++;
		memmove(buf, p, have);
	}
	if (s->distinct == s->count)
		why = "all received";
	close(ch.fd);

	printf("stop=%s\n", why);
	printf("expected=%" PRIu64 "\n", s->count);
	printf("received=%" PRIu64 "\n", s->distinct);
	printf("lost=%" PRIu64 "\n", s->count - s->distinct);
	printf("duplicates=%" PRIu64 "\n", s->dup);
	printf("reordered=%" PRIu64 "\n", s->reordered);
	printf("bad=%" PRIu64 "\n", s->bad);
	printf("other=%" PRIu64 "\n", s->other);
	printf("warmup=%" PRIu64 "\n", s->warm);
	printf("measured=%" PRIu64 "\n", s->lat.count);
	printf("rx_seconds=%.3f\n", (double)(s->last_rx - s->first_rx) / 1e9);
	hist_print(&s->lat, stdout, "");
	hist_print(&s->lat_written, stdout, "written_");
	hist_print(&s->lag, stdout, "lag_");
	printf("sink_cpu_s=%.3f\n", bench_cpu_s(RUSAGE_SELF));
	if (child_finish(&ch, true, stdout, "consumer") < 0)
		rc = EXIT_FAIL;
	if (hist_path != NULL) {
		FILE *f = fopen(hist_path, "w");

		if (f == NULL)
			log_fatal(EXIT_CANTCREAT, "%s", hist_path);
		fprintf(f, "# upper_bound_us count (receive - due, measured "
		    "records)\n");
		for (i = 0; i < NBUCKETS; i++)
			if (s->lat.b[i] > 0)
				fprintf(f, "%" PRIu64 " %" PRIu64 "\n",
				    bucket_top(i), s->lat.b[i]);
		if (fclose(f) != 0)
			log_fatal(EXIT_IOERR, "%s", hist_path);
	}
	if (s->trace != NULL && fclose(s->trace) != 0)
		rc = EXIT_IOERR;
	if (fflush(stdout) != 0)
		rc = EXIT_IOERR;
	free(buf);
	free(s->seen);
	free(s);
	return rc;
}

int
main(int argc, char **argv)
{
	prog_init(argv[0]);
	opterr = 1;
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return gen_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "sink") == 0)
		return sink_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("%s", usage_text);
		return EXIT_OK;
	}
	fprintf(stderr, "%s", usage_text);
	return EXIT_USAGE;
}
