/* SPDX-License-Identifier: MIT */
/*
 * What an OpenSSH client config file (ssh_config(5), by default
 * ~/.ssh/config) says about one host, for the keys ctrld's SSH commands
 * honour: HostName, User, Port, IdentityFile, IdentitiesOnly,
 * UserKnownHostsFile, StrictHostKeyChecking, ConnectTimeout. As in
 * OpenSSH, the first value obtained for a key wins, Host patterns take
 * '*', '?' and '!' negation, Include (with globs; relative to ~/.ssh) is
 * followed, "Match" blocks are skipped, and other keys are ignored.
 */
#ifndef KLOG_SSHCONF_H
#define KLOG_SSHCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define SSHCONF_MAX_IDENTITIES 8

enum sshconf_strict {
	SSHCONF_STRICT_UNSET = 0,
	SSHCONF_STRICT_YES,		/* yes, ask (no prompts here: yes) */
	SSHCONF_STRICT_ACCEPT_NEW,	/* accept-new, no, off */
};

struct sshconf_host {
	char hostname[256];		/* "" = not set; %h expanded */
	char user[64];			/* "" = not set */
	int port;			/* 0 = not set */
	/* In file order; ~ and %d %h %u %r %% expanded. */
	char identity_files[SSHCONF_MAX_IDENTITIES][PATH_MAX];
	int nidentity_files;
	int identities_only;		/* -1 not set, 0 no, 1 yes */
	char known_hosts[PATH_MAX];	/* first UserKnownHostsFile; "" unset */
	enum sshconf_strict strict;
	int64_t connect_timeout_ms;	/* 0 = not set */
};

/*
 * Fill *out with what `path` says for `host` (the name as given, before
 * HostName). A missing file is not an error (nothing set). Errors:
 * EXIT_CONFIG "path:line: problem" for a bad value of a key we honour
 * (Port 0, ConnectTimeout x, StrictHostKeyChecking maybe) or Include
 * nesting deeper than 16; EXIT_IOERR when the file cannot be read.
 * `home` expands ~ and %d; `local_user` expands %u.
 */
int sshconf_lookup(const char *path, const char *host, const char *home,
    const char *local_user, struct sshconf_host *out, struct err *e);

/* Does `host` match one ssh_config pattern list ("a* !b.c ?x")? */
bool sshconf_match(const char *patterns, const char *host);

#endif
