/* SPDX-License-Identifier: MIT */
/*
 * throughput_exec: run a command and say what it cost, for
 * bench/throughput. The command inherits standard input, output and error;
 * its wall time (CLOCK_MONOTONIC, fork to reaped), user and system CPU and
 * peak RSS (getrusage(RUSAGE_CHILDREN) once it is reaped: the only child,
 * microsecond resolution) are
 * written as one key=value line to FILE:
 *
 *   throughput_exec -o FILE -- command [arg...]
 *   -> wall_s=0.412345 user_s=0.123456 sys_s=0.045678 maxrss_kb=12345 status=0
 *
 * The exit status is the command's (128 + signal if it was killed; 127 if
 * it could not be run).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	const char *outpath = NULL;
	struct rusage ru;
	double t0, t1;
	FILE *out;
	pid_t pid, w;
	int ch, status, code;

	prog_init(argv[0]);
	while ((ch = getopt(argc, argv, "+ho:")) != -1) {
		switch (ch) {
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			printf("usage: throughput_exec -o file -- command [arg...]\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "usage: throughput_exec -o file -- "
			    "command [arg...]\n");
			return EXIT_USAGE;
		}
	}
	if (outpath == NULL || optind >= argc) {
		fprintf(stderr, "usage: throughput_exec -o file -- command "
		    "[arg...]\n");
		return EXIT_USAGE;
	}
	if ((out = fopen(outpath, "w")) == NULL)
		bench_die_errno(EXIT_CANTCREAT, "%s", outpath);
	t0 = bench_now_s();
	if ((pid = fork()) < 0)
		bench_die_errno(EXIT_OSERR, "fork");
	if (pid == 0) {
		fclose(out);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "%s: %s: %s\n", prog_name(), argv[optind],
		    strerror(errno));
		_exit(127);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	t1 = bench_now_s();
	if (w < 0)
		bench_die_errno(EXIT_OSERR, "waitpid");
	/* The only child this process ever had: its rusage is the children's. */
	getrusage(RUSAGE_CHILDREN, &ru);
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
	fprintf(out, "wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kb=%ld "
	    "status=%d\n", t1 - t0, tv_s(ru.ru_utime), tv_s(ru.ru_stime),
	    ru.ru_maxrss, code);
	if (fclose(out) != 0)
		bench_die_errno(EXIT_IOERR, "%s", outpath);
	return code;
}
