/* SPDX-License-Identifier: MIT */
/*
 * pipe_lines: the fastest a program can take newline-delimited records
 * from a pipe, kprod's input path (`cat file | kprod`) without the
 * producing: read(2) into a buffer (--buffer, 64 KiB by default: a pipe's
 * capacity, and small enough to stay in the L2 cache; 4 MiB measured up to
 * 3 times slower from a cached file) and memchr(3) from one newline to the
 * next, counting lines. Reads standard input (or FILE) to its end and
 * prints one key=value line: lines, bytes, the longest line, seconds from
 * the first read to the end, lines/s and MB/s. bench/limits.sh times it
 * beside `wc -l` on the same pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

static const char usage_text[] = "usage: pipe_lines [-h] [-b buffer] [file]\n";

static const struct option long_opts[] = {
	{ "buffer", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	uint64_t lines = 0, bytes = 0, longest = 0, cur = 0, size = 64 << 10;
	double t0 = 0, t1;
	char *buf, *p, *end, *nl;
	ssize_t n;
	int c, fd = 0;

	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "b:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			size = bench_opt_size(usage_text, "--buffer", optarg, 1,
			    1ULL << 30);
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "%s", usage_text);
		return EXIT_USAGE;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0 &&
	    (fd = open(argv[optind], O_RDONLY)) < 0)
		bench_die_errno(EXIT_NOINPUT, "%s", argv[optind]);
	if ((buf = malloc(size)) == NULL)
		bench_die(EXIT_OSERR, "out of memory");
	for (;;) {
		n = read(fd, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die_errno(EXIT_IOERR, "read");
		if (n == 0)
			break;
		if (bytes == 0)
			t0 = bench_now_s();
		bytes += (uint64_t)n;
		/* One memchr per record, as a line-splitting reader does. */
		for (p = buf, end = buf + n; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL) {
				cur += (uint64_t)(end - p);
				break;
			}
			cur += (uint64_t)(nl - p);
			if (cur > longest)
				longest = cur;
			cur = 0;
			lines++;
		}
	}
	t1 = bench_now_s();
	if (bytes == 0)
		t0 = t1;
	printf("lines=%" PRIu64 " bytes=%" PRIu64 " longest=%" PRIu64
	    " buffer=%" PRIu64 " secs=%.3f lines_per_s=%.0f mb_per_s=%.1f\n",
	    lines, bytes, longest, size, t1 - t0, t1 > t0 ? (double)lines / (t1 - t0) : 0.0,
	    t1 > t0 ? (double)bytes / 1e6 / (t1 - t0) : 0.0);
	return EXIT_OK;
}
