/* SPDX-License-Identifier: MIT */
/*
 * sendfile_rate: how fast this machine moves a page-cached file into a
 * loopback TCP socket with sendfile(2), the path logd serves Fetch with.
 * A file of --size bytes is written once (so it sits in the page cache),
 * then sent whole, again and again, over one connection to 127.0.0.1
 * until --seconds have passed. The reader, a child process, read()s into
 * a 4 MiB buffer and throws the bytes away; the clock stops when it has
 * received everything. The socket buffers are left to the kernel's
 * autotuning unless --rcvbuf/--sndbuf set them (which turns autotuning
 * off and is capped by net.core.rmem_max/wmem_max). Prints one key=value
 * line; bench/limits.sh formats it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

#define READ_BUF (4u << 20)

static const char usage_text[] =
    "usage: sendfile_rate [-h] [-r rcvbuf] [-S sndbuf] [-s size] [-t seconds]"
    " -d dir\n";

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "rcvbuf", required_argument, NULL, 'r' },
	{ "sndbuf", required_argument, NULL, 'S' },
	{ "size", required_argument, NULL, 's' },
	{ "seconds", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 }
};

static void
write_all(int fd, const void *p, size_t n)
{
	if (bench_write_all(fd, p, n) < 0)
		bench_die_errno(EXIT_OSERR, "write");
}

static void
set_buf(int fd, int opt, uint64_t bytes, const char *what)
{
	int v = (int)bytes;

	if (bytes > 0 && setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		bench_die_errno(EXIT_OSERR, "setsockopt %s", what);
}

static int
get_buf(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* The child: read the socket to EOF, then report the byte count. */
static void __attribute__((noreturn))
reader(int lfd, int report)
{
	uint64_t total = 0;
	char *buf;
	ssize_t n;
	int fd;

	if ((buf = malloc(READ_BUF)) == NULL)
		bench_die_errno(EXIT_OSERR, "out of memory");
	do
		fd = accept(lfd, NULL, NULL);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		bench_die_errno(EXIT_OSERR, "accept");
	for (;;) {
		n = read(fd, buf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die_errno(EXIT_OSERR, "read");
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	write_all(report, &total, sizeof(total));
	_exit(0);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	uint64_t size = 256ULL << 20, rcvbuf = 0, sndbuf = 0, secs = 2;
	uint64_t sent = 0, got = 0, passes = 0;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char path[4096], *chunk;
	int c, lfd, sfd, ffd, rep[2], status, snd_eff;
	double t0, t1;
	pid_t pid;
	ssize_t n;

	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "d:hr:S:s:t:", long_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		case 'r':
			rcvbuf = bench_opt_size(usage_text, "--rcvbuf", optarg,
			    0, 1ULL << 30);
			break;
		case 'S':
			sndbuf = bench_opt_size(usage_text, "--sndbuf", optarg,
			    0, 1ULL << 30);
			break;
		case 's':
			size = bench_opt_size(usage_text, "--size", optarg,
			    1 << 20, 1ULL << 40);
			break;
		case 't':
			secs = bench_opt_u64(usage_text, "--seconds", optarg, 1,
			    3600);
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind != argc)
		log_usage(usage_text, "%s", dir == NULL ? "missing -d dir" :
		    "too many arguments");
	signal(SIGPIPE, SIG_IGN);

	/* The file: written once, so its pages are cached, then unlinked. */
	if (snprintf(path, sizeof(path), "%s/sendfile_rate.XXXXXX", dir) >=
	    (int)sizeof(path))
		log_usage(usage_text, "directory name too long");
	if ((ffd = mkstemp(path)) < 0)
		bench_die_errno(EXIT_OSERR, "%s", path);
	unlink(path);
	if ((chunk = malloc(1 << 20)) == NULL)
		bench_die_errno(EXIT_OSERR, "out of memory");
	memset(chunk, 'x', 1 << 20);
	for (uint64_t w = 0; w < size; w += 1 << 20)
		write_all(ffd, chunk, size - w < (1 << 20) ?
		    (size_t)(size - w) : (size_t)(1 << 20));
	free(chunk);

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		bench_die_errno(EXIT_OSERR, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* set before listen(): accepted sockets inherit it */
	set_buf(lfd, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		bench_die_errno(EXIT_OSERR, "listen on 127.0.0.1");
	if (pipe(rep) < 0)
		bench_die_errno(EXIT_OSERR, "pipe");
	if ((pid = fork()) < 0)
		bench_die_errno(EXIT_OSERR, "fork");
	if (pid == 0) {
		close(rep[0]);
		reader(lfd, rep[1]);
	}
	close(rep[1]);
	close(lfd);
	if ((sfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		bench_die_errno(EXIT_OSERR, "socket");
	set_buf(sfd, SO_SNDBUF, sndbuf, "SO_SNDBUF");
	if (connect(sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bench_die_errno(EXIT_OSERR, "connect");

	t0 = bench_now_s();
	do {
		off_t off = 0;

		while ((uint64_t)off < size) {
			n = sendfile(sfd, ffd, &off,
			    (size_t)(size - (uint64_t)off));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				bench_die_errno(EXIT_OSERR, "sendfile");
			sent += (uint64_t)n;
		}
		passes++;
	} while (bench_now_s() - t0 < (double)secs);
	snd_eff = get_buf(sfd, SO_SNDBUF);
	if (shutdown(sfd, SHUT_WR) < 0)
		bench_die_errno(EXIT_OSERR, "shutdown");
	do
		n = read(rep[0], &got, sizeof(got));
	while (n < 0 && errno == EINTR);
	t1 = bench_now_s();
	if (n != (ssize_t)sizeof(got))
		bench_die_errno(EXIT_OSERR, "the reader did not report");
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die(EXIT_OSERR, "the reader failed");
	if (got != sent)
		bench_die(EXIT_OSERR, "sent %" PRIu64 " bytes, the reader got %"
		    PRIu64, sent, got);
	printf("file_bytes=%" PRIu64 " passes=%" PRIu64 " bytes=%" PRIu64
	    " secs=%.3f mb_per_s=%.1f gb_per_s=%.2f sndbuf=%d rcvbuf=%" PRIu64
	    "\n", size, passes, sent, t1 - t0, (double)sent / 1e6 / (t1 - t0),
	    (double)sent / 1e9 / (t1 - t0), snd_eff, rcvbuf);
	close(sfd);
	close(ffd);
	return EXIT_OK;
}
