/* SPDX-License-Identifier: MIT */
/*
 * ssh_config reading: Host pattern lists, first value wins, the global
 * section, skipped Match blocks, Include (globs, ~/.ssh-relative paths,
 * the depth limit), IdentityFile accumulation and %-expansion, and the
 * values we refuse with path:line.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sshconf.h"
#include "logtest.h"
#include "tinytest.h"
#include "banned.h"

/* The temporary directory, standing in for HOME ("<dir>/.ssh/..."). */
static char dir[64];

/* Write `text` to "<dir>/<name>"; the path goes to path. */
static void
put(const char *name, const char *text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	CHECKF(lt_write_file(path, text, strlen(text)) == 0, "%s", path);
}

/* Look `host` up in a config of `text` (in "<dir>/config"). */
static int
lookup(const char *text, const char *host, struct sshconf_host *h,
    struct err *e)
{
	char path[128];

	put("config", text, path, sizeof(path));
	err_clear(e);
	return sshconf_lookup(path, host, dir, "me", h, e);
}

static void
test_sshconf__patterns(void)
{
	CHECK(sshconf_match("*", "anything"));
	CHECK(sshconf_match("web1", "web1"));
	CHECK(!sshconf_match("web1", "web10"));
	CHECK(sshconf_match("web?", "web1"));
	CHECK(!sshconf_match("web?", "web"));
	CHECK(!sshconf_match("web?", "web12"));
	CHECK(sshconf_match("w?b*", "wEb.example.com"));
	CHECK(sshconf_match("*.example.com", "a.b.example.com"));
	CHECK(!sshconf_match("*.example.com", "example.com"));
	CHECK(sshconf_match("a*b*c", "axxbyyc"));
	CHECK(!sshconf_match("a*b*c", "axxbyy"));
	CHECK(sshconf_match("*a", "aaa"));
	CHECK(sshconf_match("**", ""));
	CHECK(!sshconf_match("?", ""));
	/* Host names compare without case. */
	CHECK(sshconf_match("Web*", "web1"));
	/* Any listed pattern may match... */
	CHECK(sshconf_match("db1 db2  \tweb*", "web3"));
	CHECK(!sshconf_match("db1 db2 web*", "cache"));
	/* ...but a matching negation vetoes the list, wherever it is. */
	CHECK(sshconf_match("*.example.com !bad.example.com",
	    "ok.example.com"));
	CHECK(!sshconf_match("*.example.com !bad.example.com",
	    "bad.example.com"));
	CHECK(!sshconf_match("!bad* *", "bad1"));
	CHECK(sshconf_match("!bad* *", "good"));
	CHECK(!sshconf_match("!b?d *", "bad"));
	/* A negation alone matches nothing, as in OpenSSH. */
	CHECK(!sshconf_match("!bad", "good"));
	CHECK(!sshconf_match("", "host"));
	CHECK(!sshconf_match("   ", "host"));
}

static void
test_sshconf__first_value_wins(void)
{
	struct sshconf_host h;
	struct err e;

	CHECK(lookup(
	    "# a comment\n"
	    "\n"
	    "Host web1\n"
	    "    User first\n"
	    "    Port 2201\n"
	    "Host web*\n"
	    "    User second\n"
	    "    Port 2202\n"
	    "    HostName %h.internal\n"
	    "Host *\n"
	    "    User third\n"
	    "    HostName other\n"
	    "    ConnectTimeout 7\n"
	    "Host web1\n"
	    "    ConnectTimeout 9\n", "web1", &h, &e) == 0);
	CHECK(strcmp(h.user, "first") == 0);
	CHECK(h.port == 2201);
	CHECKF(strcmp(h.hostname, "web1.internal") == 0, "%s", h.hostname);
	CHECK(h.connect_timeout_ms == 7000);

	/* Several patterns on one Host line; a matching negation vetoes. */
	CHECK(lookup(
	    "Host db?  *.example.com !bad.example.com\n"
	    "  User listed\n"
	    "Host *\n"
	    "  User other\n", "bad.example.com", &h, &e) == 0);
	CHECKF(strcmp(h.user, "other") == 0, "%s", h.user);
	CHECK(lookup(
	    "Host db?  *.example.com !bad.example.com\n"
	    "  User listed\n", "db7", &h, &e) == 0);
	CHECKF(strcmp(h.user, "listed") == 0, "%s", h.user);

	/* A host only "Host *" matches gets that block alone. */
	CHECK(lookup(
	    "Host web1\n  User first\n"
	    "Host *\n  User third\n", "db", &h, &e) == 0);
	CHECK(strcmp(h.user, "third") == 0 && h.port == 0);
	CHECK(h.hostname[0] == '\0');
}

static void
test_sshconf__global_section(void)
{
	struct sshconf_host h;
	struct err e;

	/* Lines before the first Host apply to every host, and win. */
	CHECK(lookup(
	    "Port 2200\n"
	    "IdentitiesOnly yes\n"
	    "Host db\n"
	    "  Port 22\n"
	    "  User dba\n"
	    "  IdentitiesOnly no\n", "db", &h, &e) == 0);
	CHECK(h.port == 2200 && h.identities_only == 1);
	CHECK(strcmp(h.user, "dba") == 0);
	CHECK(lookup("Port 2200\nHost db\n  User dba\n", "web", &h, &e) == 0);
	CHECK(h.port == 2200 && h.user[0] == '\0');
	CHECK(h.identities_only == -1);
}

static void
test_sshconf__syntax(void)
{
	struct sshconf_host h;
	struct err e;

	/* Key=value, Key = value, any case, quotes, tabs, CRLF, comments. */
	CHECKF(lookup(
	    "HOST=\"a b\" x\r\n"
	    "\tuser=ann\r\n"
	    "  PORT = 2022 # the port\n"
	    "  identityfile \"/keys/my key\"\n"
	    "  UnknownKey whatever \"unbalanced\n"
	    "  # IdentityFile /not/this\n"
	    "  StrictHostKeyChecking=no", "x", &h, &e) == 0, "%s", e.msg);
	CHECK(strcmp(h.user, "ann") == 0 && h.port == 2022);
	CHECK(h.nidentity_files == 1 &&
	    strcmp(h.identity_files[0], "/keys/my key") == 0);
	CHECK(h.strict == SSHCONF_STRICT_ACCEPT_NEW);
	/* The quoted pattern "a b" is one pattern. */
	CHECK(lookup("Host \"a b\"\n  User q\n", "a b", &h, &e) == 0);
	CHECK(strcmp(h.user, "q") == 0);
	CHECK(lookup("Host \"a b\"\n  User q\n", "a", &h, &e) == 0);
	CHECK(h.user[0] == '\0');

	CHECK(lookup("Host *\n  User \"ann\n", "x", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:2: User: "
	    "unterminated quote") != NULL, "%s", e.msg);
	CHECK(lookup("User\n", "x", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:1: User: "
	    "missing value") != NULL, "%s", e.msg);
	CHECK(lookup("User a b\n", "x", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:1: User: "
	    "unexpected 'b' after 'a'") != NULL, "%s", e.msg);
}

static void
test_sshconf__match_skipped(void)
{
	struct sshconf_host h;
	char path[128];
	struct err e;

	put(".ssh/from-match", "User from-match\n", path, sizeof(path));
	CHECK(lookup(
	    "Match host web1 exec \"true\"\n"
	    "  User matched\n"
	    "  Include from-match\n"
	    "  Port 1\n"
	    "  StrictHostKeyChecking bogus\n"
	    "Host web1\n"
	    "  Port 2\n"
	    "Match all\n"
	    "  User all\n"
	    "Host *\n"
	    "  User star\n", "web1", &h, &e) == 0);
	CHECK(h.port == 2);
	CHECKF(strcmp(h.user, "star") == 0, "%s", h.user);
	CHECK(h.strict == SSHCONF_STRICT_UNSET);
	unlink(path);
}

static void
test_sshconf__include(void)
{
	struct sshconf_host h;
	char p1[128], p2[128], p3[128], p4[128], p5[128];
	struct err e;

	snprintf(p1, sizeof(p1), "%s/.ssh/conf.d", dir);
	CHECK(mkdir(p1, 0700) == 0);
	/* glob(3) sorts: 10-a is read before 20-b. */
	put(".ssh/conf.d/20-b.conf",
	    "User bob\n"
	    "Port 2020\n", p1, sizeof(p1));
	put(".ssh/conf.d/10-a.conf",
	    "Host web*\n"
	    "  User alice\n"
	    "Host nomatch\n", p2, sizeof(p2));
	put(".ssh/conf.d/skip.txt", "User txt\n", p3, sizeof(p3));
	put(".ssh/tilde", "IdentitiesOnly yes\n", p4, sizeof(p4));
	put(".ssh/guarded", "ConnectTimeout 3\n", p5, sizeof(p5));
	CHECKF(lookup(
	    "Include conf.d/*.conf\n"
	    "StrictHostKeyChecking ask\n"
	    "Host db\n"
	    "  Include guarded\n"
	    "Host web1\n"
	    "  Include ~/.ssh/tilde nothing-here* conf.d/none.conf\n"
	    "  User carol\n", "web1", &h, &e) == 0, "%s", e.msg);
	CHECKF(strcmp(h.user, "alice") == 0, "%s", h.user);
	CHECK(h.port == 2020);
	/* A Host line inside an Include ends with that file. */
	CHECK(h.strict == SSHCONF_STRICT_YES);
	CHECK(h.identities_only == 1);
	/* Include in a block for another host is not followed. */
	CHECK(h.connect_timeout_ms == 0);

	/* Absolute paths are taken as they are. */
	{
		char text[256];

		snprintf(text, sizeof(text), "Include %s\n", p1);
		CHECK(lookup(text, "x", &h, &e) == 0);
		CHECK(strcmp(h.user, "bob") == 0);
	}

	/* An error inside an included file names that file and line. */
	put(".ssh/conf.d/20-b.conf", "User bob\nPort 0\n", p1, sizeof(p1));
	CHECK(lookup("Include conf.d/*.conf\n", "x", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "20-b.conf:2: Port '0'"),
	    "%s", e.msg);

	/* A relative Include needs a home directory. */
	{
		char path[128];

		put("config", "Include x\n", path, sizeof(path));
		err_clear(&e);
		CHECK(sshconf_lookup(path, "h", NULL, "me", &h, &e) == -1);
		CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "config:1: "
		    "Include 'x'") != NULL, "%s", e.msg);
	}
	unlink(p1);
	unlink(p2);
	unlink(p3);
	unlink(p4);
	unlink(p5);
	snprintf(p1, sizeof(p1), "%s/.ssh/conf.d", dir);
	rmdir(p1);
}

static void
test_sshconf__include_depth(void)
{
	struct sshconf_host h;
	char path[128];
	struct err e;

	/* A file that includes itself stops at the depth limit. */
	put(".ssh/loop", "Include loop\n", path, sizeof(path));
	err_clear(&e);
	CHECK(sshconf_lookup(path, "h", dir, "me", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/.ssh/loop:1: Include "
	    "'") && strstr(e.msg, "deeper than 16"), "%s", e.msg);

	/* A chain of 16 nested Includes is still fine. */
	{
		char name[32], text[64];
		int i;

		for (i = 0; i <= 16; i++) {
			snprintf(name, sizeof(name), ".ssh/chain%d", i);
			if (i < 16)
				snprintf(text, sizeof(text),
				    "Include chain%d\n", i + 1);
			else
				snprintf(text, sizeof(text), "User deep\n");
			put(name, text, path, sizeof(path));
		}
		snprintf(path, sizeof(path), "%s/.ssh/chain0", dir);
		err_clear(&e);
		CHECKF(sshconf_lookup(path, "h", dir, "me", &h, &e) == 0, "%s",
		    e.msg);
		CHECK(strcmp(h.user, "deep") == 0);
		/* One more level is too many. */
		snprintf(path, sizeof(path), "%s/.ssh/chainx", dir);
		CHECK(lt_write_file(path, "Include chain0\n", 15) == 0);
		err_clear(&e);
		CHECK(sshconf_lookup(path, "h", dir, "me", &h, &e) == -1);
		CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "chain15:1: "
		    "Include '") != NULL, "%s", e.msg);
	}
}

static void
test_sshconf__identity_files(void)
{
	struct sshconf_host h;
	char want[PATH_MAX];
	struct err e;
	int i;

	/* %h is the final HostName; %r the final User, wherever it came. */
	CHECKF(lookup(
	    "Host web1\n"
	    "  IdentityFile ~/.ssh/id_%h\n"
	    "  IdentityFile %d/k_%u_%r\n"
	    "  IdentityFile /x/%%h~\n"
	    "  IdentityFile ~\n"
	    "  HostName %h.example.com\n"
	    "Host *\n"
	    "  IdentityFile /common\n"
	    "  User deploy\n", "web1", &h, &e) == 0, "%s", e.msg);
	CHECK(h.nidentity_files == 5);
	snprintf(want, sizeof(want), "%s/.ssh/id_web1.example.com", dir);
	CHECKF(strcmp(h.identity_files[0], want) == 0, "%s",
	    h.identity_files[0]);
	snprintf(want, sizeof(want), "%s/k_me_deploy", dir);
	CHECKF(strcmp(h.identity_files[1], want) == 0, "%s",
	    h.identity_files[1]);
	CHECKF(strcmp(h.identity_files[2], "/x/%h~") == 0, "%s",
	    h.identity_files[2]);
	CHECKF(strcmp(h.identity_files[3], dir) == 0, "%s",
	    h.identity_files[3]);
	CHECK(strcmp(h.identity_files[4], "/common") == 0);

	/* Without a User, %r is the local user. */
	CHECK(lookup("IdentityFile /k/%r@%h\n", "db", &h, &e) == 0);
	CHECK(h.nidentity_files == 1 &&
	    strcmp(h.identity_files[0], "/k/me@db") == 0);

	/* Up to SSHCONF_MAX_IDENTITIES are kept; later ones are dropped. */
	{
		char text[512];
		size_t n = 0;

		for (i = 0; i < SSHCONF_MAX_IDENTITIES + 3; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "IdentityFile /k%d\n", i);
		CHECK(lookup(text, "db", &h, &e) == 0);
		CHECK(h.nidentity_files == SSHCONF_MAX_IDENTITIES);
		CHECK(strcmp(h.identity_files[SSHCONF_MAX_IDENTITIES - 1],
		    "/k7") == 0);
	}

	CHECK(lookup("Host *\n  IdentityFile /k/%p\n", "db", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:2: "
	    "IdentityFile '/k/%p': unknown token '%p'") != NULL, "%s", e.msg);
	CHECK(lookup("IdentityFile /k/%\n", "db", &h, &e) == -1);
	CHECK(e.code == EXIT_CONFIG);
	CHECK(lookup("IdentityFile ~bob/k\n", "db", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "~user") != NULL, "%s",
	    e.msg);
	CHECK(lookup("HostName %u.x\n", "db", &h, &e) == -1);
	CHECK(e.code == EXIT_CONFIG);
	CHECK(lookup("HostName 100%%\n", "db", &h, &e) == 0);
	CHECK(strcmp(h.hostname, "100%") == 0);
}

static void
test_sshconf__values(void)
{
	static const struct {
		const char *value;
		enum sshconf_strict want;
	} strict[] = {
		{ "yes", SSHCONF_STRICT_YES },
		{ "ask", SSHCONF_STRICT_YES },
		{ "YES", SSHCONF_STRICT_YES },
		{ "accept-new", SSHCONF_STRICT_ACCEPT_NEW },
		{ "no", SSHCONF_STRICT_ACCEPT_NEW },
		{ "off", SSHCONF_STRICT_ACCEPT_NEW },
	};
	struct sshconf_host h;
	char text[128], want[PATH_MAX];
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
		snprintf(text, sizeof(text), "StrictHostKeyChecking %s\n",
		    strict[i].value);
		CHECK(lookup(text, "h", &h, &e) == 0);
		CHECKF(h.strict == strict[i].want, "%s", strict[i].value);
	}
	CHECK(lookup("Host h\n\n  StrictHostKeyChecking maybe\n", "h", &h,
	    &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:3: "
	    "StrictHostKeyChecking 'maybe'") != NULL, "%s", e.msg);

	CHECK(lookup("Port 65535\n", "h", &h, &e) == 0 && h.port == 65535);
	CHECK(lookup("# x\nHost *\n  Port 0\n", "h", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:3: Port '0': ")
	    != NULL, "%s", e.msg);
	CHECK(strncmp(e.msg, dir, strlen(dir)) == 0);
	CHECK(lookup("Port 65536\n", "h", &h, &e) == -1);
	CHECKF(strstr(e.msg, "/config:1: Port '65536': ") != NULL, "%s", e.msg);
	CHECK(lookup("Port ssh\n", "h", &h, &e) == -1);
	CHECKF(strstr(e.msg, "/config:1: Port 'ssh': ") != NULL, "%s", e.msg);
	/* Lines for other hosts are not checked. */
	CHECK(lookup("Host other\n  Port 0\n", "h", &h, &e) == 0);

	CHECK(lookup("ConnectTimeout 10\n", "h", &h, &e) == 0);
	CHECK(h.connect_timeout_ms == 10000);
	CHECK(lookup("ConnectTimeout 2m\n", "h", &h, &e) == 0);
	CHECK(h.connect_timeout_ms == 120000);
	CHECK(lookup("ConnectTimeout 0\n", "h", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:1: "
	    "ConnectTimeout '0'") != NULL, "%s", e.msg);
	CHECK(lookup("ConnectTimeout soon\n", "h", &h, &e) == -1);
	CHECK(e.code == EXIT_CONFIG);

	CHECK(lookup("IdentitiesOnly no\n", "h", &h, &e) == 0);
	CHECK(h.identities_only == 0);
	CHECK(lookup("IdentitiesOnly perhaps\n", "h", &h, &e) == -1);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, "/config:1: "
	    "IdentitiesOnly 'perhaps'") != NULL, "%s", e.msg);

	/* The first file of the first UserKnownHostsFile line, expanded. */
	CHECK(lookup("UserKnownHostsFile ~/.ssh/kh_%h ~/.ssh/other\n"
	    "UserKnownHostsFile /later\n", "h", &h, &e) == 0);
	snprintf(want, sizeof(want), "%s/.ssh/kh_h", dir);
	CHECKF(strcmp(h.known_hosts, want) == 0, "%s", h.known_hosts);
	CHECK(lookup("UserKnownHostsFile none\n", "h", &h, &e) == 0);
	CHECK(strcmp(h.known_hosts, "/dev/null") == 0);

	/* Keys we do not honour are ignored, whatever their value. */
	CHECK(lookup("ForwardAgent maybe\nProxyJump a,b\nUser u\n", "h", &h,
	    &e) == 0);
	CHECK(strcmp(h.user, "u") == 0);
}

static void
test_sshconf__missing_and_unreadable(void)
{
	struct sshconf_host h;
	char path[128];
	struct err e;

	memset(&h, 0x5a, sizeof(h));
	snprintf(path, sizeof(path), "%s/no-such-config", dir);
	err_clear(&e);
	CHECK(sshconf_lookup(path, "h", dir, "me", &h, &e) == 0);
	CHECK(h.hostname[0] == '\0' && h.user[0] == '\0' && h.port == 0);
	CHECK(h.nidentity_files == 0 && h.identities_only == -1);
	CHECK(h.known_hosts[0] == '\0' && h.strict == SSHCONF_STRICT_UNSET);
	CHECK(h.connect_timeout_ms == 0);

	/* A directory is there but cannot be read. */
	err_clear(&e);
	CHECK(sshconf_lookup(dir, "h", dir, "me", &h, &e) == -1);
	CHECKF(e.code == EXIT_IOERR && strstr(e.msg, dir) != NULL, "%d %s",
	    e.code, e.msg);
}

int
main(void)
{
	char ssh[96];

	if (lt_tmpdir(dir, sizeof(dir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ssh, sizeof(ssh), "%s/.ssh", dir);
	if (mkdir(ssh, 0700) < 0) {
		perror("mkdir");
		return 1;
	}
	TEST(test_sshconf__patterns);
	TEST(test_sshconf__first_value_wins);
	TEST(test_sshconf__global_section);
	TEST(test_sshconf__syntax);
	TEST(test_sshconf__match_skipped);
	TEST(test_sshconf__include);
	TEST(test_sshconf__include_depth);
	TEST(test_sshconf__identity_files);
	TEST(test_sshconf__values);
	TEST(test_sshconf__missing_and_unreadable);
	lt_rmrf(dir);
	TEST_DONE();
}
