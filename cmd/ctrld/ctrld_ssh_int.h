/* SPDX-License-Identifier: MIT */
/*
 * Private to the two halves of ctrld's SSH transport: ctrld_ssh.c (socket,
 * session, commands, SFTP) and ctrld_ssh_auth.c (known_hosts, keys). Holds
 * the connection struct, the EAGAIN wait both use, and the steps of
 * ssh_connect that live in the auth file. Nothing else includes it.
 */
#ifndef KLOG_CTRLD_SSH_INT_H
#define KLOG_CTRLD_SSH_INT_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "ctrld_ssh.h"
#include "err.h"

struct ssh_conn {
	int fd;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;	/* started by the first upload */
	bool handshaken;
	bool broken;		/* abandoned mid-packet: no further use */
	char hostport[300];	/* "host:port", for messages about the host */
	char name[400];		/* "user@host:port" */
};

/*
 * ctrld_ssh.c
 */

/* libssh2's last error on the session, in words; never NULL. */
const char *ssh_session_error(struct ssh_conn *c);

/* Errors after which the session cannot go on (as opposed to refusals). */
bool ssh_is_link_error(int rc);

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOPPED };

/*
 * After an EAGAIN: wait until the socket is ready for what libssh2 blocked
 * on, for at most WAIT_SLICE_MS; the caller then repeats its call. Says
 * WAIT_TIMEOUT once `deadline` (clock_mono_ms) has passed, WAIT_STOPPED
 * once *stop (may be NULL) is non-zero.
 */
enum wait_result ssh_wait(struct ssh_conn *c, int64_t deadline,
    volatile sig_atomic_t *stop);

/*
 * Set `code` for a wait that ended early and return -1: the formatted
 * subject, then "timed out after 5s" (timeout_ms) or "interrupted".
 */
int ssh_wait_failed(struct err *e, int code, enum wait_result w,
    int64_t timeout_ms, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * ctrld_ssh_auth.c: called by ssh_connect
 */

/* known_hosts, read for one host. */
struct ssh_known {
	LIBSSH2_KNOWNHOSTS *hosts;	/* NULL until loaded */
	char path[PATH_MAX];
	char name[300];		/* "host", or "[host]:port" off port 22 */
};

/*
 * Before the handshake: read o->known_hosts (~/.ssh/known_hosts when "")
 * into *k (zeroed by the caller), and have the session ask for the host
 * key types known for this host first. A missing file knows no host. -1
 * with e set (EXIT_NOPERM, EXIT_OSERR); either way the caller releases *k
 * with ssh_known_release.
 */
int ssh_known_load(struct ssh_conn *c, const struct ssh_opts *o,
    struct ssh_known *k, struct err *e);
void ssh_known_release(struct ssh_known *k);

/*
 * After the handshake: accept the server's host key if *k has it; learn
 * it when unknown and o->accept_new (the notice, if any, goes to
 * `notice`). Otherwise -1 with EXIT_NOPERM.
 */
int ssh_hostkey_check(struct ssh_conn *c, const struct ssh_opts *o,
    struct ssh_known *k, char *notice, size_t notice_size, struct err *e);

/*
 * Log in as o->user with a key: ssh-agent, then the identity files (the
 * default ones when none are given), by `deadline`. -1 with
 * EXIT_NOPERM (no key accepted) or EXIT_UNAVAILABLE (link lost, timeout).
 */
int ssh_authenticate(struct ssh_conn *c, const struct ssh_opts *o,
    int64_t deadline, struct err *e);

#endif
