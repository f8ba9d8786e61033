/* SPDX-License-Identifier: MIT */
/*
 * Who is at the other end, and who we are to it (see ctrld_ssh.h): the
 * known_hosts check of ssh_connect (read line by line, the host's known
 * key types asked for first, unknown keys appended only with accept_new,
 * changed ones refused with the line that differs) and key authentication
 * (ssh-agent, then identity files; encrypted keys are spotted and skipped,
 * never prompted for). A failure says what was tried and what to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ctrld_ssh_int.h"
#include "json.h"
#include "util.h"
#include "banned.h"

enum {
	KEY_FILE_MAX = 64 * 1024
};

/* Host key types, in OpenSSH's order of preference. */
static const struct key_type {
	int hostkey;		/* LIBSSH2_HOSTKEY_TYPE_* */
	int known;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char *name;	/* as OpenSSH prints it */
	const char *method;
} key_types[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	  "ED25519", "ssh-ed25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	  "ECDSA", "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	  "ECDSA", "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	  "ECDSA", "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA,
	  "RSA", "ssh-rsa" },
	{ LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS,
	  "DSA", "ssh-dss" },
};

/* "$HOME/rel" (the password database when HOME is unset); -1 if none. */
static int
home_path(const char *rel, char *dst, size_t size)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (home == NULL || *home == '\0') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL)
		return -1;
	n = snprintf(dst, size, "%s/%s", home, rel);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * known_hosts
 */

static const struct key_type *
key_type_of(int hostkey)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(key_types); i++)
		if (key_types[i].hostkey == hostkey)
			return &key_types[i];
	return NULL;
}

/*
 * Host key algorithms to ask for: the types known_hosts already has for
 * this host first (as OpenSSH does, so that a known ECDSA key is not
 * reported unknown because the server also has ED25519), then the rest.
 * Hashed entries cannot be matched by name here; they get the default
 * order, which is OpenSSH's.
 */
static void
known_prefs(const struct ssh_known *k, char *dst, size_t size)
{
	struct libssh2_knownhost *h = NULL;
	bool have[ARRAY_SIZE(key_types)] = { false };
	size_t i, used = 0;
	int pass, n;

	while (libssh2_knownhost_get(k->hosts, &h, h) == 0) {
		if (h->name == NULL || strcmp(h->name, k->name) != 0)
			continue;
		for (i = 0; i < ARRAY_SIZE(key_types); i++)
			if ((h->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) ==
			    key_types[i].known)
				have[i] = true;
	}
	dst[0] = '\0';
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ARRAY_SIZE(key_types); i++) {
			if (have[i] != (pass == 0))
				continue;
			n = snprintf(dst + used, size - used, "%s%s",
			    used ? "," : "", key_types[i].method);
			if (n > 0 && (size_t)n < size - used)
				used += (size_t)n;
		}
	}
}

/*
 * Read known_hosts line by line: libssh2_knownhost_readfile stops at the
 * first line it cannot parse (@cert-authority, @revoked, sk- keys), and
 * OpenSSH skips those. A missing file knows no host.
 */
static int
known_read(struct ssh_conn *c, const struct ssh_opts *o, struct ssh_known *k,
    struct err *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (o->known_hosts[0] != '\0')
		snprintf(k->path, sizeof(k->path), "%s", o->known_hosts);
	else if (home_path(".ssh/known_hosts", k->path, sizeof(k->path)) < 0)
		return err_set(e, EXIT_NOPERM,
		    "%s: no home directory to find known_hosts in; pass "
		    "--known-hosts", c->hostport);
	/*
	 * OpenSSH's form, looked up as such (checkp with a port would also
	 * take a plain "host" line for another port).
	 */
	if (o->port == 22)
		snprintf(k->name, sizeof(k->name), "%s", o->host);
	else
		snprintf(k->name, sizeof(k->name), "[%s]:%d", o->host, o->port);
	k->hosts = libssh2_knownhost_init(c->session);
	if (k->hosts == NULL)
		return err_set(e, EXIT_OSERR, "%s: out of memory", c->hostport);
	f = fopen(k->path, "r");
	if (f == NULL && errno == ENOENT)
		return 0;
	if (f == NULL)
		return err_sys(e, EXIT_NOPERM, "%s: cannot read '%s'",
		    c->hostport, k->path);
	while ((n = getline(&line, &cap, f)) > 0)
		(void)libssh2_knownhost_readline(k->hosts, line, (size_t)n,
		    LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	free(line);
	fclose(f);
	return 0;
}

int
ssh_known_load(struct ssh_conn *c, const struct ssh_opts *o,
    struct ssh_known *k, struct err *e)
{
	char prefs[256];

	if (known_read(c, o, k, e) < 0)
		return -1;
	known_prefs(k, prefs, sizeof(prefs));
	(void)libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY,
	    prefs);
	return 0;
}

void
ssh_known_release(struct ssh_known *k)
{
	if (k->hosts != NULL)
		libssh2_knownhost_free(k->hosts);
	k->hosts = NULL;
}

/* The line of known_hosts holding a different key for the host; 0: none. */
static int
known_line(struct ssh_conn *c, const struct ssh_known *k, const char *key,
    size_t len, int mask)
{
	LIBSSH2_KNOWNHOSTS *one;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int no = 0, found = 0;
	FILE *f = fopen(k->path, "r");

	if (f == NULL)
		return 0;
	while (found == 0 && (n = getline(&line, &cap, f)) > 0) {
		no++;
		one = libssh2_knownhost_init(c->session);
		if (one == NULL)
			break;
		if (libssh2_knownhost_readline(one, line, (size_t)n,
		    LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0 &&
		    libssh2_knownhost_checkp(one, k->name, -1, key, len, mask,
		    NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
			found = no;
		libssh2_knownhost_free(one);
	}
	free(line);
	fclose(f);
	return found;
}

/* known_hosts files beyond this are not searched (only appended to). */
#define KNOWN_HOSTS_MAX (16u << 20)

/*
 * Whether known_hosts holds `line` (ending in '\n') as a whole line.
 * Called under the caller's lock, so a line another worker appended a
 * moment ago is seen. An unreadable file says no: a duplicate line is
 * harmless, a lost one is not.
 */
static bool
known_has_line(const char *path, const char *line, size_t len)
{
	struct err e = { 0 };
	char *text = NULL;
	size_t n = 0, at = 0;
	bool found = false;

	if (file_read_all(path, KNOWN_HOSTS_MAX, &text, &n, &e) < 0)
		return false;
	while (!found && at < n) {
		const char *nl = memchr(text + at, '\n', n - at);
		size_t l = nl != NULL ? (size_t)(nl - (text + at)) + 1 : n - at;

		found = l == len && memcmp(text + at, line, len) == 0;
		at += l;
	}
	free(text);
	return found;
}

/*
 * Append one line, creating the file 0600 (and its directory 0700).
 * Parallel ctrld workers may learn the same key at once (the controller
 * and a broker on one host): under an exclusive flock each looks again
 * and only the first appends; O_APPEND and a single write keep lines
 * whole for writers that do not lock.
 */
static int
known_append(const struct ssh_known *k, const char *line, size_t len,
    struct err *e)
{
	char dir[PATH_MAX], text[8192], last = '\n';
	char *slash;
	struct stat st;
	size_t n = 0;
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%s", k->path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return err_sys(e, EXIT_NOPERM, "cannot create '%s'",
			    dir);
	}
	if (len == 0 || len > sizeof(text) - 1)
		return err_set(e, EXIT_SOFTWARE, "known_hosts line too long");
	fd = open(k->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, EXIT_NOPERM, "cannot open '%s'", k->path);
	if (flock(fd, LOCK_EX) < 0) {
		err_sys(e, EXIT_NOPERM, "cannot lock '%s'", k->path);
		close(fd);
		return -1;
	}
	if (known_has_line(k->path, line, len)) {
		close(fd);
		return 0;
	}
	/* A last line without its newline would swallow ours. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		text[n++] = '\n';
	memcpy(text + n, line, len);
	n += len;
	if (write(fd, text, n) != (ssize_t)n)
		r = err_sys(e, EXIT_NOPERM, "cannot write '%s'", k->path);
	/* Closing releases the lock. */
	if (close(fd) < 0 && r == 0)
		r = err_sys(e, EXIT_NOPERM, "cannot write '%s'", k->path);
	return r;
}

/* "SHA256:<base64 without padding>", as OpenSSH prints it. */
static void
fingerprint(struct ssh_conn *c, char *dst, size_t size)
{
	const char *h = libssh2_hostkey_hash(c->session,
	    LIBSSH2_HOSTKEY_HASH_SHA256);
	struct buf b = BUF_INIT;

	snprintf(dst, size, "SHA256:?");
	if (h == NULL)
		return;
	json_base64_put(&b, h, 32);
	while (b.len > 0 && b.data[b.len - 1] == '=')
		b.len--;
	if (!b.failed)
		snprintf(dst, size, "SHA256:%.*s", (int)b.len,
		    (const char *)b.data);
	buf_release(&b);
}

static int
known_learn(struct ssh_conn *c, struct ssh_known *k, const char *key,
    size_t len, const struct key_type *kt, const char *fp, char *notice,
    size_t notice_size, struct err *e)
{
	struct libssh2_knownhost *entry = NULL;
	char line[8192];
	size_t n = 0;

	if (libssh2_knownhost_addc(k->hosts, k->name, NULL, key, len, NULL, 0,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kt->known, &entry) != 0 ||
	    libssh2_knownhost_writeline(k->hosts, entry, line, sizeof(line),
	    &n, LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
		return err_set(e, EXIT_SOFTWARE, "%s: cannot format the host "
		    "key for known_hosts: %s", c->hostport,
		    ssh_session_error(c));
	if (known_append(k, line, n, e) < 0)
		return err_wrap(e, "%s: adding the host key", c->hostport);
	if (notice != NULL && notice_size > 0)
		snprintf(notice, notice_size, "added %s key %s for %s to %s",
		    kt->name, fp, k->name, k->path);
	return 0;
}

int
ssh_hostkey_check(struct ssh_conn *c, const struct ssh_opts *o,
    struct ssh_known *k, char *notice, size_t notice_size, struct err *e)
{
	const struct key_type *kt;
	const char *key;
	size_t len = 0;
	int type = 0, mask, rc, line;
	char fp[64], at[32] = "";

	key = libssh2_session_hostkey(c->session, &len, &type);
	kt = key_type_of(type);
	if (key == NULL || kt == NULL)
		return err_set(e, EXIT_NOPERM, "%s: unsupported host key type "
		    "%d", c->hostport, type);
	fingerprint(c, fp, sizeof(fp));
	mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kt->known;
	rc = libssh2_knownhost_checkp(k->hosts, k->name, -1, key, len, mask,
	    NULL);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		return 0;
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
		line = known_line(c, k, key, len, mask);
		if (line > 0)
			snprintf(at, sizeof(at), " line %d", line);
		return err_set(e, EXIT_NOPERM, "%s: host key (%s %s) does not "
		    "match %s%s: possible man-in-the-middle; not connecting",
		    c->hostport, kt->name, fp, k->path, at);
	}
	if (rc != LIBSSH2_KNOWNHOST_CHECK_NOTFOUND)
		return err_set(e, EXIT_NOPERM, "%s: checking the host key "
		    "against %s: %s", c->hostport, k->path,
		    ssh_session_error(c));
	if (!o->accept_new)
		return err_set(e, EXIT_NOPERM, "%s: host key is not in %s (%s "
		    "%s); add it, or pass --accept-new-host-keys", c->hostport,
		    k->path, kt->name, fp);
	return known_learn(c, k, key, len, kt, fp, notice, notice_size, e);
}

/*
 * Authentication
 */

struct auth {
	const struct ssh_opts *o;
	int64_t deadline;
	char tried[400];	/* "agent, /x/id_ed25519, ..." */
	int offered, offered_rsa;
	char encrypted[PATH_MAX];	/* the first encrypted key skipped */
};

static void
tried_add(struct auth *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
tried_add(struct auth *a, const char *fmt, ...)
{
	size_t used = strlen(a->tried);
	va_list ap;

	if (used > 0 && used + 2 < sizeof(a->tried)) {
		memcpy(a->tried + used, ", ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(a->tried + used, sizeof(a->tried) - used, fmt, ap);
	va_end(ap);
}

/* Take an SSH string (uint32 length, bytes) off the front of p[0..left). */
static int
take_string(const uint8_t **p, size_t *left, const uint8_t **s, size_t *len)
{
	uint32_t n;

	if (*left < 4)
		return -1;
	n = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	if (n > *left - 4)
		return -1;
	*s = *p + 4;
	*len = n;
	*p += 4 + (size_t)n;
	*left -= 4 + (size_t)n;
	return 0;
}

/* A public key blob starts with its type name. */
static bool
blob_is_rsa(const uint8_t *blob, size_t len)
{
	const uint8_t *s;
	size_t n;

	return take_string(&blob, &len, &s, &n) == 0 && n == 7 &&
	    memcmp(s, "ssh-rsa", 7) == 0;
}

struct key_info {
	bool encrypted;
	bool rsa;
};

/*
 * An OpenSSH private key is the base64 of "openssh-key-v1\0", string
 * cipher, string kdf, string kdf options, uint32 count, string public key,
 * ...: the cipher says whether it is encrypted, the (clear) public key its
 * type. Anything unexpected is left for libssh2 to judge.
 */
static void
openssh_key_info(const char *text, struct key_info *ki)
{
	static const char magic[] = "openssh-key-v1";
	const char *p = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----");
	const char *end = strstr(text, "-----END OPENSSH PRIVATE KEY-----");
	struct buf b64 = BUF_INIT, raw = BUF_INIT;
	const uint8_t *q, *s;
	size_t left, n;

	if (p == NULL || end == NULL || end < p)
		return;
	for (p += 35; p < end; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			buf_putc(&b64, *p);
	if (b64.failed || b64.len == 0 || json_base64_decode(
	    (const char *)b64.data, b64.len, &raw, NULL) < 0)
		goto out;
	q = raw.data;
	left = raw.len;
	if (left < sizeof(magic) || memcmp(q, magic, sizeof(magic)) != 0)
		goto out;
	q += sizeof(magic);
	left -= sizeof(magic);
	if (take_string(&q, &left, &s, &n) < 0)
		goto out;
	ki->encrypted = !(n == 4 && memcmp(s, "none", 4) == 0);
	if (take_string(&q, &left, &s, &n) < 0 ||
	    take_string(&q, &left, &s, &n) < 0 || left < 4)
		goto out;
	q += 4;
	left -= 4;
	if (take_string(&q, &left, &s, &n) == 0)
		ki->rsa = blob_is_rsa(s, n);
out:
	buf_release(&b64);
	buf_release(&raw);
}

static int
key_classify(const char *path, struct key_info *ki)
{
	char *text;

	memset(ki, 0, sizeof(*ki));
	if (file_read_all(path, KEY_FILE_MAX, &text, NULL, NULL) < 0)
		return -1;
	if (strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----") != NULL) {
		openssh_key_info(text, ki);
	} else {
		/*
		 * PEM: "Proc-Type: 4,ENCRYPTED", or PKCS#8's
		 * "BEGIN ENCRYPTED PRIVATE KEY".
		 */
		ki->encrypted = strstr(text, "ENCRYPTED") != NULL;
		ki->rsa = strstr(text, "BEGIN RSA PRIVATE KEY") != NULL;
	}
	free(text);
	return 0;
}

/* After an EAGAIN: 0 to try again, -1 when the connect timeout is up. */
static int
auth_wait(struct ssh_conn *c, const struct auth *a, struct err *e)
{
	enum wait_result w = ssh_wait(c, a->deadline, NULL);

	if (w == WAIT_READY)
		return 0;
	return ssh_wait_failed(e, EXIT_UNAVAILABLE, w,
	    a->o->connect_timeout_ms, "%s: authentication", c->name);
}

/* The server's answer to a key: 1 accepted, 0 refused, -1 link lost. */
static int
auth_answer(struct ssh_conn *c, int rc, struct err *e)
{
	if (rc == 0)
		return 1;
	if (ssh_is_link_error(rc))
		return err_set(e, EXIT_UNAVAILABLE, "%s: authentication: %s",
		    c->name, ssh_session_error(c));
	return 0;
}

/* 1: authenticated already ("none"), 0: publickey offered, -1: error. */
static int
auth_offered(struct ssh_conn *c, struct auth *a, struct err *e)
{
	const char *user = a->o->user;
	char *list, *tok, *save = NULL, copy[256];

	while ((list = libssh2_userauth_list(c->session, user,
	    (unsigned)strlen(user))) == NULL) {
		if (libssh2_userauth_authenticated(c->session))
			return 1;
		if (libssh2_session_last_errno(c->session) !=
		    LIBSSH2_ERROR_EAGAIN)
			return err_set(e, EXIT_UNAVAILABLE, "%s: asking for "
			    "authentication methods: %s", c->name,
			    ssh_session_error(c));
		if (auth_wait(c, a, e) < 0)
			return -1;
	}
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "publickey") == 0)
			return 0;
	return err_set(e, EXIT_NOPERM, "%s: the server takes no public keys "
	    "(it offers %s)", c->name, list);
}

/* The keys of ssh-agent: 1 accepted, 0 none accepted, -1 error. */
static int
auth_agent(struct ssh_conn *c, struct auth *a, struct err *e)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	struct libssh2_agent_publickey *id = NULL;
	LIBSSH2_AGENT *agent;
	int rc, result = 0, n = 0;

	if (!a->o->use_agent || sock == NULL || *sock == '\0')
		return 0;
	agent = libssh2_agent_init(c->session);
	if (agent == NULL)
		return err_set(e, EXIT_OSERR, "%s: out of memory", c->name);
	if (libssh2_agent_connect(agent) != 0) {
		tried_add(a, "agent (unreachable)");
		goto out;
	}
	if (libssh2_agent_list_identities(agent) != 0) {
		tried_add(a, "agent (no answer)");
		goto out;
	}
	while (result == 0 && libssh2_agent_get_identity(agent, &id, id) == 0) {
		n++;
		a->offered++;
		if (blob_is_rsa(id->blob, id->blob_len))
			a->offered_rsa++;
		while ((rc = libssh2_agent_userauth(agent, a->o->user, id)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (auth_wait(c, a, e) < 0) {
				result = -1;
				goto out;
			}
		result = auth_answer(c, rc, e);
	}
	tried_add(a, n > 0 ? "agent" : "agent (no keys)");
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return result;
}

/* One identity file: 1 accepted, 0 not (noted in a->tried), -1 error. */
static int
auth_file(struct ssh_conn *c, struct auth *a, const char *path,
    struct err *e)
{
	char pub[PATH_MAX + 8];
	const char *pubp = NULL;
	struct key_info ki;
	int rc, n;

	if (access(path, R_OK) != 0) {
		tried_add(a, "%s (%s)", path, errno == ENOENT ?
		    "no such file" : strerror(errno));
		return 0;
	}
	if (key_classify(path, &ki) < 0) {
		tried_add(a, "%s (unreadable)", path);
		return 0;
	}
	if (ki.encrypted) {
		tried_add(a, "%s (encrypted)", path);
		if (a->encrypted[0] == '\0')
			snprintf(a->encrypted, sizeof(a->encrypted), "%s",
			    path);
		return 0;
	}
	/* Without the .pub, libssh2 derives the public key itself. */
	n = snprintf(pub, sizeof(pub), "%s.pub", path);
	if (n > 0 && (size_t)n < sizeof(pub) && access(pub, R_OK) == 0)
		pubp = pub;
	a->offered++;
	a->offered_rsa += ki.rsa;
	while ((rc = libssh2_userauth_publickey_fromfile(c->session,
	    a->o->user, pubp, path, NULL)) == LIBSSH2_ERROR_EAGAIN)
		if (auth_wait(c, a, e) < 0)
			return -1;
	if ((n = auth_answer(c, rc, e)) != 0)
		return n;
	if (rc == LIBSSH2_ERROR_FILE)
		tried_add(a, "%s (unusable: %s)", path, ssh_session_error(c));
	else
		tried_add(a, "%s", path);
	return 0;
}

static int
auth_failed(struct ssh_conn *c, const struct auth *a, struct err *e)
{
	char hint[PATH_MAX + 64] = "";

	if (a->tried[0] == '\0')
		return err_set(e, EXIT_NOPERM, "%s: no key to offer (no "
		    "ssh-agent, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)",
		    c->name);
	if (a->encrypted[0] != '\0')
		snprintf(hint, sizeof(hint), "; key %s is encrypted; add it "
		    "to ssh-agent", a->encrypted);
	else if (a->offered > 0 && a->offered == a->offered_rsa)
		snprintf(hint, sizeof(hint), "; only RSA keys were offered, "
		    "which libssh2 signs with SHA-1 (ssh-rsa) and OpenSSH 8.8 "
		    "and later refuse: use an ed25519 key");
	return err_set(e, EXIT_NOPERM, "%s: no key accepted (tried %s)%s",
	    c->name, a->tried, hint);
}

int
ssh_authenticate(struct ssh_conn *c, const struct ssh_opts *o,
    int64_t deadline, struct err *e)
{
	static const char *const defaults[] = {
		".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa"
	};
	struct auth a;
	char path[PATH_MAX];
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	a.o = o;
	a.deadline = deadline;
	rc = auth_offered(c, &a, e);
	if (rc == 0)
		rc = auth_agent(c, &a, e);
	for (i = 0; rc == 0 && i < (size_t)o->nidentities &&
	    i < SSH_MAX_IDENTITIES; i++)
		rc = auth_file(c, &a, o->identities[i], e);
	for (i = 0; rc == 0 && o->nidentities == 0 &&
	    i < ARRAY_SIZE(defaults); i++)
		if (home_path(defaults[i], path, sizeof(path)) == 0 &&
		    access(path, F_OK) == 0)
			rc = auth_file(c, &a, path, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return auth_failed(c, &a, e);
}
