/* SPDX-License-Identifier: MIT */
/*
 * Sockets: table-driven host:port parsing (IPv4, [IPv6], names, default
 * ports, malformed input), format round trips, listening on port 0 and
 * reading back the real port, connecting (blocking and not), refused and
 * unresolvable peers with their exit codes, and Unix sockets in a temp dir.
 * Everything stays on the loopback interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "tinytest.h"

static void
test_net__addr_parse(void)
{
	static const struct {
		const char *s;
		int default_port;
		int ok;
		const char *host;
		unsigned port;
	} cases[] = {
		{ "127.0.0.1:9092", 0, 1, "127.0.0.1", 9092 },
		{ "localhost:1", 0, 1, "localhost", 1 },
		{ "broker-1.example.com:65535", 0, 1, "broker-1.example.com",
		  65535 },
		{ "127.0.0.1:0", 0, 1, "127.0.0.1", 0 },
		{ "[::1]:9092", 0, 1, "::1", 9092 },
		{ "[fe80::1%lo]:7", 0, 1, "fe80::1%lo", 7 },
		{ "[::1]", 9092, 1, "::1", 9092 },
		{ "kafka", 9092, 1, "kafka", 9092 },
		{ "kafka:19092", 9092, 1, "kafka", 19092 },
		{ "kafka", 0, 0, NULL, 0 },
		{ "kafka", -1, 0, NULL, 0 },
		{ "[::1]", 0, 0, NULL, 0 },
		{ "kafka:", 0, 0, NULL, 0 },
		{ "kafka:", 9092, 0, NULL, 0 },
		{ ":9092", 0, 0, NULL, 0 },
		{ "kafka:65536", 0, 0, NULL, 0 },
		{ "kafka:99999999999999999999", 0, 0, NULL, 0 },
		{ "kafka:-1", 0, 0, NULL, 0 },
		{ "kafka:+1", 0, 0, NULL, 0 },
		{ "kafka: 1", 0, 0, NULL, 0 },
		{ "kafka:1 ", 0, 0, NULL, 0 },
		{ "kafka:0x10", 0, 0, NULL, 0 },
		{ "kafka:port", 0, 0, NULL, 0 },
		{ "a:b:c", 0, 0, NULL, 0 },
		{ "::1", 9092, 0, NULL, 0 },
		{ "::1:9092", 0, 0, NULL, 0 },
		{ "[::1", 0, 0, NULL, 0 },
		{ "[::1:9092", 0, 0, NULL, 0 },
		{ "[::1]9092", 0, 0, NULL, 0 },
		{ "[::1]:", 0, 0, NULL, 0 },
		{ "[]:9092", 0, 0, NULL, 0 },
		{ "[::1]:x", 0, 0, NULL, 0 },
		{ "[::1]:65536", 0, 0, NULL, 0 },
		{ "", 0, 0, NULL, 0 },
		{ "", 9092, 0, NULL, 0 },
		{ ":", 9092, 0, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr a;
		struct err e = { 0, "" };
		int rc;

		memset(&a, 0x5a, sizeof(a));
		rc = net_addr_parse(cases[i].s, cases[i].default_port, &a, &e);
		CHECKF((rc == 0) == cases[i].ok, "case %zu '%s': rc %d %s", i,
		    cases[i].s, rc, e.msg);
		if (cases[i].ok && rc == 0) {
			CHECKF(strcmp(a.host, cases[i].host) == 0 &&
			    a.port == cases[i].port, "case %zu: %s %u", i,
			    a.host, a.port);
		} else if (!cases[i].ok && rc != 0) {
			CHECKF(e.code == EXIT_USAGE, "case %zu: code %d", i,
			    e.code);
			/* The message quotes the input (or says it is empty). */
			CHECKF(cases[i].s[0] == '\0' ?
			    strcmp(e.msg, "empty address") == 0 :
			    strstr(e.msg, cases[i].s) != NULL,
			    "case %zu: %s", i, e.msg);
		}
	}

	/* NULL is an empty address, not a crash. */
	{
		struct net_addr a;
		struct err e = { 0, "" };

		CHECK(net_addr_parse(NULL, 9092, &a, &e) == -1);
		CHECK(e.code == EXIT_USAGE);
	}

	/* Host length limit: NET_HOST_MAX - 1 fits, NET_HOST_MAX does not. */
	{
		char s[NET_HOST_MAX + 16];
		struct net_addr a;
		struct err e = { 0, "" };

		memset(s, 'h', NET_HOST_MAX - 1);
		memcpy(s + NET_HOST_MAX - 1, ":1", 3);
		CHECK(net_addr_parse(s, 0, &a, &e) == 0 &&
		    strlen(a.host) == NET_HOST_MAX - 1 && a.port == 1);
		memset(s, 'h', NET_HOST_MAX);
		memcpy(s + NET_HOST_MAX, ":1", 3);
		CHECK(net_addr_parse(s, 0, &a, &e) == -1 &&
		    e.code == EXIT_USAGE);
		s[0] = '[';
		memcpy(s + NET_HOST_MAX, "]:1", 4);
		CHECK(net_addr_parse(s, 0, &a, &e) == 0 &&
		    strlen(a.host) == NET_HOST_MAX - 1);
		memset(s + 1, 'h', NET_HOST_MAX);
		memcpy(s + NET_HOST_MAX + 1, "]:1", 4);
		CHECK(net_addr_parse(s, 0, &a, &e) == -1);
	}
}

static void
test_net__addr_format(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "127.0.0.1:9092", "127.0.0.1:9092" },
		{ "[::1]:9092", "[::1]:9092" },
		{ "[::ffff:127.0.0.1]:0", "[::ffff:127.0.0.1]:0" },
		{ "kafka", "kafka:9092" },
		{ "[2001:db8::1]", "[2001:db8::1]:9092" },
		{ "h:65535", "h:65535" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr a, b;
		struct err e = { 0, "" };
		char s[NET_ADDR_MAX];

		CHECKF(net_addr_parse(cases[i].in, 9092, &a, &e) == 0,
		    "case %zu: %s", i, e.msg);
		net_addr_format(&a, s, sizeof(s));
		CHECKF(strcmp(s, cases[i].out) == 0, "case %zu: %s", i, s);
		/* The formatted form parses back to the same address. */
		CHECK(net_addr_parse(s, 0, &b, &e) == 0 &&
		    strcmp(a.host, b.host) == 0 && a.port == b.port);
	}

	/* A short destination is truncated and terminated. */
	{
		struct net_addr a = { "127.0.0.1", 9092 };
		char s[6];

		net_addr_format(&a, s, sizeof(s));
		CHECK(strcmp(s, "127.0") == 0);
	}
	/* The longest host still fits NET_ADDR_MAX with brackets and port. */
	{
		struct net_addr a;
		char s[NET_ADDR_MAX];

		memset(a.host, ':', NET_HOST_MAX - 1);
		a.host[NET_HOST_MAX - 1] = '\0';
		a.port = 65535;
		net_addr_format(&a, s, sizeof(s));
		CHECK(strlen(s) == NET_HOST_MAX - 1 + 8 && s[0] == '[' &&
		    strcmp(s + NET_HOST_MAX, "]:65535") == 0);
	}
}

/* Parse the port out of "host:port" or "[v6]:port". */
static long
port_of(const char *s)
{
	const char *c = strrchr(s, ':');

	return c ? strtol(c + 1, NULL, 10) : -1;
}

static void
test_net__tcp(void)
{
	struct net_addr a;
	struct err e = { 0, "" };
	char local[NET_ADDR_MAX], peer[NET_ADDR_MAX], addr[NET_ADDR_MAX];
	int lfd, cfd, sfd, fl;
	long port;

	CHECK(net_addr_parse("127.0.0.1:0", 0, &a, &e) == 0);
	lfd = net_listen_tcp(&a, 16, &e);
	CHECKF(lfd >= 0, "%s", e.msg);
	if (lfd < 0)
		return;
	/* Non-blocking and close-on-exec, as promised. */
	CHECK((fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
	CHECK((fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);

	CHECK(net_local_addr(lfd, local, sizeof(local), &e) == 0);
	port = port_of(local);
	CHECKF(strncmp(local, "127.0.0.1:", 10) == 0 && port > 0 &&
	    port <= 65535, "%s", local);

	/* The reported address is one we can connect to. */
	CHECK(net_addr_parse(local, 0, &a, &e) == 0 && a.port == port);
	err_clear(&e);
	cfd = net_connect_tcp(&a, 2000, 0, &e);
	CHECKF(cfd >= 0, "%s", e.msg);
	if (cfd >= 0) {
		/* Blocking when asked, close-on-exec always. */
		CHECK((fcntl(cfd, F_GETFL) & O_NONBLOCK) == 0);
		CHECK((fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0);
		net_peer_addr(cfd, peer, sizeof(peer));
		CHECKF(strcmp(peer, local) == 0, "%s vs %s", peer, local);
		sfd = accept(lfd, NULL, NULL);
		CHECK(sfd >= 0);
		if (sfd >= 0) {
			char buf[4] = { 0 };

			CHECK(write(cfd, "ping", 4) == 4);
			CHECK(read(sfd, buf, 4) == 4 &&
			    memcmp(buf, "ping", 4) == 0);
			net_peer_addr(sfd, addr, sizeof(addr));
			CHECK(net_local_addr(cfd, local, sizeof(local), &e) ==
			    0 && strcmp(addr, local) == 0);
			close(sfd);
		}
		close(cfd);
	}

	/* Non-blocking connect, then toggling the flag. */
	cfd = net_connect_tcp(&a, 2000, 1, &e);
	CHECKF(cfd >= 0, "%s", e.msg);
	if (cfd >= 0) {
		fl = fcntl(cfd, F_GETFL);
		CHECK((fl & O_NONBLOCK) != 0);
		CHECK(net_set_nonblocking(cfd, 0) == 0);
		CHECK((fcntl(cfd, F_GETFL) & O_NONBLOCK) == 0);
		CHECK(net_set_nonblocking(cfd, 1) == 0);
		CHECK((fcntl(cfd, F_GETFL) & O_NONBLOCK) != 0);
		close(cfd);
	}
	CHECK(net_set_nonblocking(-1, 1) == -1);

	/* The port is taken: a second listener on it fails with EXIT_OSERR. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%ld", port);
	CHECK(net_addr_parse(addr, 0, &a, &e) == 0);
	err_clear(&e);
	CHECK(net_listen_tcp(&a, 16, &e) == -1);
	CHECKF(e.code == EXIT_OSERR && strstr(e.msg, addr), "%d %s", e.code,
	    e.msg);
	close(lfd);

	/* Now closed: refused, EXIT_UNAVAILABLE naming the address. */
	err_clear(&e);
	CHECK(net_connect_tcp(&a, 2000, 0, &e) == -1);
	CHECKF(e.code == EXIT_UNAVAILABLE && strstr(e.msg, addr), "%d %s",
	    e.code, e.msg);

	/* A name that cannot resolve: EXIT_NOHOST. */
	CHECK(net_addr_parse("nonexistent.invalid:9092", 0, &a, &e) == 0);
	err_clear(&e);
	CHECK(net_connect_tcp(&a, 2000, 0, &e) == -1);
	CHECKF(e.code == EXIT_NOHOST && strstr(e.msg, "nonexistent.invalid"),
	    "%d %s", e.code, e.msg);
	err_clear(&e);
	CHECK(net_listen_tcp(&a, 16, &e) == -1);
	CHECK(e.code == EXIT_NOHOST);

	/* Not a socket. */
	CHECK(net_local_addr(-1, local, sizeof(local), &e) == -1);
	CHECK(e.code == EXIT_OSERR);
	net_peer_addr(-1, peer, sizeof(peer));
	CHECK(strcmp(peer, "?") == 0);
}

static void
test_net__tcp6(void)
{
	struct net_addr a;
	struct err e = { 0, "" };
	char local[NET_ADDR_MAX];
	int lfd, cfd;

	CHECK(net_addr_parse("[::1]:0", 0, &a, &e) == 0);
	lfd = net_listen_tcp(&a, 4, &e);
	if (lfd < 0) {
		/* No IPv6 loopback in this sandbox: nothing more to check. */
		printf("# skipping IPv6: %s\n", e.msg);
		return;
	}
	CHECK(net_local_addr(lfd, local, sizeof(local), &e) == 0);
	CHECKF(strncmp(local, "[::1]:", 6) == 0 && port_of(local) > 0, "%s",
	    local);
	CHECK(net_addr_parse(local, 0, &a, &e) == 0);
	cfd = net_connect_tcp(&a, 2000, 0, &e);
	CHECKF(cfd >= 0, "%s", e.msg);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
}

static void
test_net__unix(void)
{
	char dir[] = "/tmp/test_net.XXXXXX", path[128], file[128];
	char local[NET_ADDR_MAX], longpath[200];
	struct err e = { 0, "" };
	struct stat st;
	int lfd, lfd2, cfd, sfd;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	snprintf(file, sizeof(file), "%s/precious", dir);

	/* Nobody listening yet. */
	CHECK(net_connect_unix(path, &e) == -1);
	CHECK(e.code == EXIT_UNAVAILABLE && strstr(e.msg, path));

	lfd = net_listen_unix(path, 4, &e);
	CHECKF(lfd >= 0, "%s", e.msg);
	if (lfd < 0)
		goto out;
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
	CHECK((fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK(net_local_addr(lfd, local, sizeof(local), &e) == 0 &&
	    strcmp(local, "local") == 0);

	cfd = net_connect_unix(path, &e);
	CHECKF(cfd >= 0, "%s", e.msg);
	if (cfd >= 0) {
		sfd = accept(lfd, NULL, NULL);
		CHECK(sfd >= 0);
		if (sfd >= 0) {
			char buf[3] = { 0 };

			CHECK(write(cfd, "hi\n", 3) == 3);
			CHECK(read(sfd, buf, 3) == 3 &&
			    memcmp(buf, "hi\n", 3) == 0);
			close(sfd);
		}
		close(cfd);
	}
	close(lfd);

	/* A stale socket file left by a dead daemon is replaced. */
	lfd = net_listen_unix(path, 4, &e);
	CHECKF(lfd >= 0, "%s", e.msg);
	cfd = lfd >= 0 ? net_connect_unix(path, &e) : -1;
	CHECK(cfd >= 0);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);

	/* Any other file at the path is left alone, and listen fails. */
	f = fopen(file, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("keep me\n", f);
		fclose(f);
	}
	err_clear(&e);
	lfd2 = net_listen_unix(file, 4, &e);
	CHECK(lfd2 == -1);
	CHECKF(e.code == EXIT_OSERR && strstr(e.msg, file), "%s", e.msg);
	CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
	if (lfd2 >= 0)
		close(lfd2);
	/* Connecting to a regular file is refused too. */
	CHECK(net_connect_unix(file, &e) == -1 && e.code == EXIT_UNAVAILABLE);

	/* A path longer than sun_path is refused, not truncated. */
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	err_clear(&e);
	CHECK(net_listen_unix(longpath, 4, &e) == -1 && e.code != 0 &&
	    strstr(e.msg, "too long"));
	err_clear(&e);
	CHECK(net_connect_unix(longpath, &e) == -1 && e.code != 0 &&
	    strstr(e.msg, "too long"));
out:
	unlink(path);
	unlink(file);
	rmdir(dir);
}

static void
test_net__send_some_read_buf(void)
{
	struct buf in = BUF_INIT;
	char big[256 * 1024];
	size_t sent = 0, total = 0;
	int sv[2];
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	net_set_nonblocking(sv[0], 1);
	net_set_nonblocking(sv[1], 1);

	/* Nothing there yet: EAGAIN, and the buffer stays empty. */
	CHECK(net_read_buf(sv[1], &in, 16) == -1 && errno == EAGAIN);
	CHECK(in.len == 0 && !in.failed);

	/* A full socket stops the send with 0 and part of it sent. */
	memset(big, 'x', sizeof(big));
	big[0] = 'a';
	CHECK(net_send_some(sv[0], big, sizeof(big), &sent, 0) == 0);
	CHECK(sent > 0 && sent < sizeof(big));
	while ((n = net_read_buf(sv[1], &in, 4096)) > 0)
		total += (size_t)n;
	CHECK(n == -1 && errno == EAGAIN);
	CHECK(total == sent && in.len == sent && in.data[0] == 'a');
	/* The rest goes on where it stopped. */
	while (sent < sizeof(big)) {
		CHECK(net_send_some(sv[0], big, sizeof(big), &sent, 0) == 0);
		while ((n = net_read_buf(sv[1], &in, 4096)) > 0)
			total += (size_t)n;
	}
	CHECK(total == sizeof(big) && in.len == sizeof(big));

	/* The peer gone: end of file for the reader, EPIPE for the sender. */
	close(sv[1]);
	sent = 0;
	CHECK(net_send_some(sv[0], "z", 1, &sent, MSG_NOSIGNAL) == -1);
	CHECK(errno == EPIPE && sent == 0);
	close(sv[0]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[0]);
	CHECK(net_read_buf(sv[1], &in, 16) == 0);
	close(sv[1]);
	buf_release(&in);
}

int
main(void)
{
	TEST(test_net__addr_parse);
	TEST(test_net__addr_format);
	TEST(test_net__tcp);
	TEST(test_net__tcp6);
	TEST(test_net__unix);
	TEST(test_net__send_some_read_buf);
	TEST_DONE();
}
