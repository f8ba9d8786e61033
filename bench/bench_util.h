/* SPDX-License-Identifier: MIT */
/*
 * What the bench helpers (bench/, bench/peers/) share: exits that name
 * what failed, range-checked numeric options, a host:port connection,
 * whole writes and reads, clocks, and a file of lines held in memory.
 * Most failures exit ("prog: <message>", exitcode.h codes): the helpers
 * are short-lived. The write and read loops return -1 to their caller.
 */
#ifndef KLOG_BENCH_UTIL_H
#define KLOG_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct option;

/* Print "prog: <message>" and exit(code). */
void bench_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* The same, with ": strerror(errno)" appended when errno is not 0. */
void bench_die_errno(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * The value of option `name` given as `arg`, a whole number in [min, max]
 * (bench_opt_size: with an optional k, m or g suffix). Otherwise prints
 * "prog: <what is wrong>" and `usage`, and exits 64.
 */
uint64_t bench_opt_u64(const char *usage, const char *name, const char *arg,
    uint64_t min, uint64_t max);
uint64_t bench_opt_size(const char *usage, const char *name, const char *arg,
    uint64_t min, uint64_t max);
/*
 * Report the getopt_long() failure `c` (':' or '?'; getopt ran with
 * opterr = 0 and an optstring starting with ':') in words, as
 * "prog: unknown option '--x'" and `usage`, and exit 64. Call it right
 * after getopt_long() returned: it reads optind and optopt.
 */
void bench_opt_error(const char *usage, const struct option *longopts, int c,
    char *const *argv) __attribute__((noreturn));

/*
 * A blocking TCP connection to "host:port" (5 s to connect), or exit: a bad
 * address prints "prog: <why>" and `usage` ("" for none) and exits 64; a
 * failed connection prints "prog: <why>" and exits with the code
 * net_connect_tcp() gave (68 no such host, 69 refused or timed out). The
 * caller closes the descriptor.
 */
int bench_connect(const char *hostport, const char *usage);

/* Write all n bytes, retrying EINTR: 0, or -1 with errno set. */
int bench_write_all(int fd, const void *p, size_t n);
/*
 * Read n bytes, retrying EINTR: returns n, fewer only at end of file, or
 * -1 with errno set.
 */
ssize_t bench_read_full(int fd, void *p, size_t n);

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);
/*
 * User + system CPU seconds of getrusage(who): RUSAGE_SELF or
 * RUSAGE_CHILDREN. 0 when getrusage() fails.
 */
double bench_cpu_s(int who);

/*
 * A file of records, one a line, held in memory: line i is
 * data[off[i]] .. data[off[i + 1] - 2], the newline not included (one is
 * added after a last line that has none). `bytes` counts the lines'
 * bytes without their newlines.
 */
struct bench_lines {
	char *data;
	size_t *off;
	size_t n;
	size_t bytes;
};

/*
 * Load `path` into *out, or exit: 66 when it cannot be opened, 74 when a
 * read fails, 71 out of memory. Release with bench_lines_release().
 */
void bench_lines_load(const char *path, struct bench_lines *out);
void bench_lines_release(struct bench_lines *l);
/* Line i (< l->n) and its length in *len, borrowed from `l`. */
const char *bench_line(const struct bench_lines *l, size_t i, size_t *len);

#endif
