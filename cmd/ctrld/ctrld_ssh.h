/* SPDX-License-Identifier: MIT */
/*
 * The SSH transport of ctrld's host commands (docs/ssh-management.md):
 * one libssh2 session to one host, opened with a connect timeout, the
 * host key checked against known_hosts (unknown keys learnt only when
 * asked), key authentication only (ssh-agent, then identity files; never
 * a password or passphrase prompt), then remote commands and SFTP uploads
 * over it. Every error names the host:port and what failed.
 */
#ifndef KLOG_CTRLD_SSH_H
#define KLOG_CTRLD_SSH_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define SSH_MAX_IDENTITIES 8

/* How to reach one host: the manifest and ssh_config already merged. */
struct ssh_opts {
	char host[256];		/* the name in the manifest: messages */
	char hostname[256];	/* what to connect to (ssh_config HostName) */
	int port;
	char user[64];		/* never empty: the local user by default */
	/* Explicit keys (manifest identity, ssh_config IdentityFile); when
	 * none, ~/.ssh/id_ed25519, id_ecdsa, id_rsa, those that exist. */
	char identities[SSH_MAX_IDENTITIES][PATH_MAX];
	int nidentities;
	bool use_agent;		/* try SSH_AUTH_SOCK first (IdentitiesOnly
				   with explicit keys turns it off) */
	char known_hosts[PATH_MAX];	/* "" = ~/.ssh/known_hosts */
	bool accept_new;	/* learn unknown host keys (never changed ones) */
	int64_t connect_timeout_ms;	/* TCP connect + handshake + auth */
};

struct ssh_conn;

/* Once per process, before any other call (libssh2_init). */
int ssh_global_init(struct err *e);
void ssh_global_exit(void);

/*
 * Connect, check the host key, authenticate. On failure *out is NULL and
 * e->code is EXIT_UNAVAILABLE (connect refused or timed out, handshake
 * failed) or EXIT_NOPERM (host key unknown or changed, no key accepted,
 * an encrypted key without an agent), the message naming
 * "user@host:port" and the cause, e.g.
 *   "127.0.0.12:2222: host key is not in /home/u/.ssh/known_hosts
 *    (ED25519 SHA256:...); add it, or pass --accept-new-host-keys"
 *   "127.0.0.12:2222: host key does not match /home/u/.ssh/known_hosts
 *    line 3: possible man-in-the-middle; not connecting"
 *   "root@127.0.0.12:2222: no key accepted (tried agent, /x/id_ed25519)"
 * With accept_new an unknown key is appended to known_hosts (created
 * mode 0600, in OpenSSH's "[host]:port" form off port 22) and a notice
 * "added ... to known_hosts" is left in *notice (may be NULL) for the
 * caller to print.
 */
int ssh_connect(const struct ssh_opts *o, struct ssh_conn **out,
    char *notice, size_t notice_size, struct err *e);
/* Disconnect politely and free; NULL is a no-op. */
void ssh_close(struct ssh_conn *c);
/* "user@host:port" for messages. */
const char *ssh_conn_name(const struct ssh_conn *c);

enum ssh_stream { SSH_STDOUT = 1, SSH_STDERR = 2 };
/*
 * One complete line (without the newline; a last unterminated line is
 * delivered too) as it arrives, also NUL-terminated (line[len] == '\0';
 * len counts any NUL bytes the command wrote). Borrowed for the call only.
 */
typedef void (*ssh_line_fn)(void *arg, enum ssh_stream stream,
    const char *line, size_t len);

/*
 * Run `cmd` through the remote user's shell in their home directory,
 * writing `in` (inlen bytes, may be NULL) to its stdin and then EOF.
 * Lines go to `fn` as they arrive. Returns the command's exit status
 * (0-255; a signal-killed command gives 128 + a guess of 1), or -1 with e
 * set: EXIT_TEMPFAIL when timeout_ms (<= 0: none) passes or *stop
 * (may be NULL) turns non-zero, the remote command then being closed;
 * EXIT_UNAVAILABLE when the connection drops.
 */
int ssh_exec(struct ssh_conn *c, const char *cmd, const void *in,
    size_t inlen, ssh_line_fn fn, void *arg, int64_t timeout_ms,
    volatile sig_atomic_t *stop, struct err *e);

/*
 * Copy the local file to `remote` (relative paths are under the remote
 * home) over SFTP with `mode`, replacing it. The remote directory must
 * exist. Errors name the host and file: "127.0.0.12:2222: writing
 * klog/releases/x/bin/logd: no space left on device" (EXIT_IOERR),
 * permission denied (EXIT_NOPERM), no such remote directory
 * (EXIT_CANTCREAT), missing local file (EXIT_NOINPUT).
 */
int ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
    int mode, int64_t timeout_ms, struct err *e);

/* Append `s` to `b` quoted for a POSIX shell ('...' with '\'' inside). */
void ssh_shell_quote(struct buf *b, const char *s);

#endif
