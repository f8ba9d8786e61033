/* SPDX-License-Identifier: MIT */
/*
 * The pieces the bench helpers share (see bench_util.h). Built on
 * libcommon's log, opt and net modules; unlike libcommon, these exit on
 * failure, since every caller would only print the error and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "banned.h"

#define CONNECT_TIMEOUT_MS 5000

static void __attribute__((format(printf, 3, 0), noreturn))
vdie(int code, int errnum, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name());
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
	exit(code);
}

void
bench_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(code, 0, fmt, ap);
}

void
bench_die_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vdie(code, saved, fmt, ap);
}

uint64_t
bench_opt_u64(const char *usage, const char *name, const char *arg,
    uint64_t min, uint64_t max)
{
	struct err e = { 0, "" };
	uint64_t v;

	if (opt_parse_u64(name, arg, min, max, &v, &e) < 0)
		log_usage(usage, "%s", e.msg);
	return v;
}

uint64_t
bench_opt_size(const char *usage, const char *name, const char *arg,
    uint64_t min, uint64_t max)
{
	struct err e = { 0, "" };
	uint64_t v;

	if (opt_parse_size(name, arg, min, max, &v, &e) < 0)
		log_usage(usage, "%s", e.msg);
	return v;
}

void
bench_opt_error(const char *usage, const struct option *longopts, int c,
    char *const *argv)
{
	char msg[160];

	opt_error_text(longopts, c, argv[optind - 1], optopt, msg, sizeof(msg));
	log_usage(usage, "%s", msg);
}

int
bench_connect(const char *hostport, const char *usage)
{
	struct err e = { 0, "" };
	struct net_addr addr;
	int fd;

	if (net_addr_parse(hostport, 0, &addr, &e) < 0)
		log_usage(usage, "%s", e.msg);
	if ((fd = net_connect_tcp(&addr, CONNECT_TIMEOUT_MS, 0, &e)) < 0)
		bench_die(e.code, "%s", e.msg);
	return fd;
}

int
bench_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
bench_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu_s(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Index the lines of data[0, len), which ends with a newline. */
static void
index_lines(struct bench_lines *l, size_t len)
{
	size_t cap = 1024, i;

	if ((l->off = malloc(cap * sizeof(*l->off))) == NULL)
		bench_die(EXIT_OSERR, "out of memory");
	l->n = 0;
	l->off[0] = 0;
	for (i = 0; i < len; i++) {
		if (l->data[i] != '\n')
			continue;
		if (l->n + 2 > cap) {
			cap *= 2;
			if ((l->off = realloc(l->off, cap * sizeof(*l->off))) ==
			    NULL)
				bench_die(EXIT_OSERR, "out of memory");
		}
		l->off[++l->n] = i + 1;
	}
	l->bytes = len - l->n;
}

void
bench_lines_load(const char *path, struct bench_lines *out)
{
	struct stat st;
	size_t size;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		bench_die(EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	size = (size_t)st.st_size;
	/* One byte more, for the newline a last line may lack. */
	if ((out->data = malloc(size + 1)) == NULL)
		bench_die(EXIT_OSERR, "out of memory");
	if ((r = bench_read_full(fd, out->data, size)) != (ssize_t)size)
		bench_die(EXIT_IOERR, "%s: read: %s", path,
		    r < 0 ? strerror(errno) : "short file");
	close(fd);
	if (size > 0 && out->data[size - 1] != '\n')
		out->data[size++] = '\n';
	index_lines(out, size);
}

void
bench_lines_release(struct bench_lines *l)
{
	free(l->off);
	free(l->data);
	l->off = NULL;
	l->data = NULL;
	l->n = l->bytes = 0;
}

const char *
bench_line(const struct bench_lines *l, size_t i, size_t *len)
{
	*len = l->off[i + 1] - l->off[i] - 1;
	return l->data + l->off[i];
}
