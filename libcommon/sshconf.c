/* SPDX-License-Identifier: MIT */
/*
 * ssh_config(5) reader (see sshconf.h). One pass over the file and its
 * Includes, line by line. A block is "active" when its lines apply to the
 * host: before the first Host, or after a Host line that matched. Only
 * active lines are checked and stored, and only the first value of a key
 * is kept. IdentityFile and UserKnownHostsFile are stored as written and
 * %-expanded at the end, as OpenSSH does, so that %h and %r see the final
 * HostName and User whatever order the lines came in.
 */
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opt.h"
#include "sshconf.h"
#include "util.h"
#include "banned.h"

#define SSHCONF_MAX_DEPTH 16		/* OpenSSH's READCONF_MAX_DEPTH */
#define SSHCONF_MAX_BYTES (1024 * 1024)	/* a config is a few KiB */
#define SSHCONF_WS " \t\r\n"

/* What one lookup is for, and where its results go. */
struct sc_ctx {
	const char *host;
	const char *home;		/* NULL or "": ~ and %d are errors */
	const char *local_user;
	struct sshconf_host *out;
	struct err *e;
};

/* The file being read: for messages, Include depth and block state. */
struct sc_file {
	const char *path;
	int line;
	int depth;
	bool active;
};

enum sc_tok { SC_TOK_END, SC_TOK_OK, SC_TOK_BADQUOTE };

static int read_config(struct sc_ctx *c, const char *path, int depth);

static bool
same_char(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/*
 * '*' and '?' glob of n pattern bytes against s, ignoring ASCII case
 * because host names do. Greedy with one backtrack point: the last '*'.
 */
static bool
glob_match(const char *p, size_t n, const char *s)
{
	size_t i = 0, star = (size_t)-1;
	const char *mark = s;

	while (*s != '\0') {
		if (i < n && p[i] == '*') {
			star = i++;
			mark = s;
		} else if (i < n && (p[i] == '?' || same_char(p[i], *s))) {
			i++;
			s++;
		} else if (star != (size_t)-1) {
			i = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (i < n && p[i] == '*')
		i++;
	return i == n;
}

/*
 * Apply one pattern of a Host list: a plain match sets *matched; false
 * means a negated pattern matched, which vetoes the whole list.
 */
static bool
pattern_apply(const char *pat, size_t n, const char *host, bool *matched)
{
	if (n > 0 && pat[0] == '!')
		return !glob_match(pat + 1, n - 1, host);
	if (glob_match(pat, n, host))
		*matched = true;
	return true;
}

bool
sshconf_match(const char *patterns, const char *host)
{
	bool matched = false;
	const char *p = patterns;
	size_t n;

	for (;;) {
		p += strspn(p, SSHCONF_WS);
		n = strcspn(p, SSHCONF_WS);
		if (n == 0)
			return matched;
		if (!pattern_apply(p, n, host, &matched))
			return false;
		p += n;
	}
}

/*
 * Cut the next argument out of *pp, in place (unquoting only shrinks it):
 * whitespace separates, double quotes group and are dropped, and an
 * unquoted '#' starting an argument comments out the rest of the line.
 */
static enum sc_tok
next_arg(char **pp, char **out)
{
	char *r = *pp + strspn(*pp, SSHCONF_WS), *w;
	bool quoted = false;

	if (*r == '\0' || *r == '#') {
		*pp = r;
		return SC_TOK_END;
	}
	*out = w = r;
	for (; *r != '\0'; r++) {
		if (*r == '"')
			quoted = !quoted;
		else if (!quoted && strchr(SSHCONF_WS, *r) != NULL)
			break;
		else
			*w++ = *r;
	}
	if (quoted)
		return SC_TOK_BADQUOTE;
	*pp = *r != '\0' ? r + 1 : r;
	*w = '\0';
	return SC_TOK_OK;
}

/* "Key value", "Key=value", "Key = value": cut the key, *pp at the value. */
static char *
split_key(char **pp)
{
	char *p = *pp + strspn(*pp, SSHCONF_WS), *key = p;
	bool eq;

	p += strcspn(p, SSHCONF_WS "=");
	if (*p != '\0') {
		eq = *p == '=';
		*p++ = '\0';
		p += strspn(p, SSHCONF_WS);
		if (!eq && *p == '=')
			p += 1 + strspn(p + 1, SSHCONF_WS);
	}
	*pp = p;
	return key;
}

static int
bad_quote(struct sc_ctx *c, const struct sc_file *f, const char *key)
{
	return err_set(c->e, EXIT_CONFIG, "%s:%d: %s: unterminated quote",
	    f->path, f->line, key);
}

/* The single argument of `key`; a missing or an extra one is an error. */
static int
one_arg(struct sc_ctx *c, const struct sc_file *f, const char *key,
    char *rest, char **out)
{
	enum sc_tok t = next_arg(&rest, out);
	char *extra;

	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, key);
	if (t == SC_TOK_END || **out == '\0')
		return err_set(c->e, EXIT_CONFIG, "%s:%d: %s: missing value",
		    f->path, f->line, key);
	t = next_arg(&rest, &extra);
	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, key);
	if (t == SC_TOK_OK)
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s: unexpected '%s' after '%s'", f->path, f->line,
		    key, extra, *out);
	return 0;
}

static bool
has_home(const struct sc_ctx *c)
{
	return c->home != NULL && c->home[0] != '\0';
}

/* A leading ~ needs a home directory; ~user is not worth a passwd lookup. */
static int
check_tilde(struct sc_ctx *c, const struct sc_file *f, const char *key,
    const char *v)
{
	if (v[0] != '~')
		return 0;
	if (v[1] != '/' && v[1] != '\0')
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': ~user is not supported", f->path, f->line,
		    key, v);
	if (!has_home(c))
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': no home directory for ~", f->path, f->line,
		    key, v);
	return 0;
}

/*
 * Check, while the line number is known, that expand() will manage v:
 * only the %-tokens in `tokens` (plus %%), and a home when %d needs one.
 */
static int
check_tokens(struct sc_ctx *c, const struct sc_file *f, const char *key,
    const char *v, const char *tokens)
{
	const char *p;

	for (p = strchr(v, '%'); p != NULL; p = strchr(p + 2, '%')) {
		if (p[1] == '\0' ||
		    (p[1] != '%' && strchr(tokens, p[1]) == NULL))
			return err_set(c->e, EXIT_CONFIG,
			    "%s:%d: %s '%s': unknown token '%%%c' (use %%%%"
			    " for a '%%')", f->path, f->line, key, v,
			    p[1] != '\0' ? p[1] : ' ');
		if (p[1] == 'd' && !has_home(c))
			return err_set(c->e, EXIT_CONFIG,
			    "%s:%d: %s '%s': no home directory for %%d",
			    f->path, f->line, key, v);
	}
	return 0;
}

/* A file name: ~ and the tokens IdentityFile takes. */
static int
check_path(struct sc_ctx *c, const struct sc_file *f, const char *key,
    const char *v)
{
	if (check_tilde(c, f, key, v) < 0)
		return -1;
	return check_tokens(c, f, key, v, "dhur");
}

/* Append s to dst[0..*len) within size; -1 when it does not fit. */
static int
append(char *dst, size_t size, size_t *len, const char *s, size_t n)
{
	if (n >= size - *len)
		return -1;
	memcpy(dst + *len, s, n);
	*len += n;
	dst[*len] = '\0';
	return 0;
}

/*
 * Expand the tokens %d %h %u %r %% of a value check_tokens accepted, and
 * a leading ~ when `tilde`. `host` is what %h means (the host itself for
 * HostName, the final HostName for paths). -1 when dst is too small.
 */
static int
expand(const struct sc_ctx *c, const char *in, bool tilde, const char *host,
    char *dst, size_t size)
{
	const char *user = c->out->user[0] != '\0' ? c->out->user :
	    c->local_user != NULL ? c->local_user : "";
	const char *v;
	size_t len = 0;

	dst[0] = '\0';
	if (tilde && in[0] == '~') {
		if (append(dst, size, &len, c->home, strlen(c->home)) < 0)
			return -1;
		in++;
	}
	for (; *in != '\0'; in++) {
		if (*in != '%') {
			if (append(dst, size, &len, in, 1) < 0)
				return -1;
			continue;
		}
		switch (*++in) {
		case 'd': v = c->home; break;
		case 'h': v = host; break;
		case 'u': v = c->local_user != NULL ? c->local_user : ""; break;
		case 'r': v = user; break;
		default: v = "%"; break;
		}
		if (append(dst, size, &len, v, strlen(v)) < 0)
			return -1;
	}
	return 0;
}

static int
kw_hostname(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	char *v, buf[sizeof(c->out->hostname)];

	if (one_arg(c, f, key, rest, &v) < 0 ||
	    check_tokens(c, f, key, v, "h") < 0)
		return -1;
	if (expand(c, v, false, c->host, buf, sizeof(buf)) < 0)
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': longer than %zu bytes once expanded",
		    f->path, f->line, key, v, sizeof(buf) - 1);
	if (c->out->hostname[0] == '\0')
		memcpy(c->out->hostname, buf, sizeof(buf));
	return 0;
}

static int
kw_user(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0)
		return -1;
	if (strlen(v) >= sizeof(c->out->user))
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': longer than %zu bytes", f->path, f->line,
		    key, v, sizeof(c->out->user) - 1);
	if (c->out->user[0] == '\0')
		snprintf(c->out->user, sizeof(c->out->user), "%s", v);
	return 0;
}

static int
kw_port(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	struct err pe;
	uint64_t port;
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0)
		return -1;
	if (opt_parse_u64(key, v, 1, 65535, &port, &pe) < 0)
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': expected a number from 1 to 65535",
		    f->path, f->line, key, v);
	if (c->out->port == 0)
		c->out->port = (int)port;
	return 0;
}

static int
kw_identityfile(struct sc_ctx *c, struct sc_file *f, const char *key,
    char *rest)
{
	struct sshconf_host *o = c->out;
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0 || check_path(c, f, key, v) < 0)
		return -1;
	if (strlen(v) >= sizeof(o->identity_files[0]))
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%.64s...': longer than %zu bytes", f->path,
		    f->line, key, v, sizeof(o->identity_files[0]) - 1);
	/* Beyond the limit ssh would still try them; we keep the first few. */
	if (o->nidentity_files >= SSHCONF_MAX_IDENTITIES)
		return 0;
	snprintf(o->identity_files[o->nidentity_files++],
	    sizeof(o->identity_files[0]), "%s", v);
	return 0;
}

/* yes/no flags; OpenSSH also takes true/false. */
static int
kw_identitiesonly(struct sc_ctx *c, struct sc_file *f, const char *key,
    char *rest)
{
	int yes;
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0)
		return -1;
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		yes = 1;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		yes = 0;
	else
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': expected yes or no", f->path, f->line, key,
		    v);
	if (c->out->identities_only < 0)
		c->out->identities_only = yes;
	return 0;
}

/* Several files may follow; the first is the one we read and append to. */
static int
kw_knownhosts(struct sc_ctx *c, struct sc_file *f, const char *key,
    char *rest)
{
	struct sshconf_host *o = c->out;
	const char *v;
	enum sc_tok t;
	char *arg, *more;

	t = next_arg(&rest, &arg);
	v = arg;
	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, key);
	if (t == SC_TOK_END || *v == '\0')
		return err_set(c->e, EXIT_CONFIG, "%s:%d: %s: missing value",
		    f->path, f->line, key);
	while ((t = next_arg(&rest, &more)) == SC_TOK_OK)
		;
	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, key);
	/* "none" turns known hosts off: an empty file learns nothing. */
	if (strcmp(v, "none") == 0)
		v = "/dev/null";
	if (check_path(c, f, key, v) < 0)
		return -1;
	if (strlen(v) >= sizeof(o->known_hosts))
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%.64s...': longer than %zu bytes", f->path,
		    f->line, key, v, sizeof(o->known_hosts) - 1);
	if (o->known_hosts[0] == '\0')
		snprintf(o->known_hosts, sizeof(o->known_hosts), "%s", v);
	return 0;
}

static int
kw_strict(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	/* OpenSSH's multistate_strict_hostkey, "ask" read as "yes". */
	static const struct {
		const char *name;
		enum sshconf_strict value;
	} names[] = {
		{ "yes", SSHCONF_STRICT_YES },
		{ "ask", SSHCONF_STRICT_YES },
		{ "true", SSHCONF_STRICT_YES },
		{ "accept-new", SSHCONF_STRICT_ACCEPT_NEW },
		{ "no", SSHCONF_STRICT_ACCEPT_NEW },
		{ "off", SSHCONF_STRICT_ACCEPT_NEW },
		{ "false", SSHCONF_STRICT_ACCEPT_NEW },
	};
	size_t i;
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(v, names[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(names))
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: %s '%s': expected yes, ask, accept-new, no or off",
		    f->path, f->line, key, v);
	if (c->out->strict == SSHCONF_STRICT_UNSET)
		c->out->strict = names[i].value;
	return 0;
}

/* Seconds, as ssh_config(5) says; a unit (10s, 2m) is accepted as well. */
static int
kw_timeout(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	struct err pe;
	int64_t v64;
	size_t n;
	char *v;

	if (one_arg(c, f, key, rest, &v) < 0)
		return -1;
	n = strlen(v);
	if (isdigit((unsigned char)v[n - 1])) {
		if (opt_parse_i64(key, v, 1, INT64_MAX / 1000, &v64, &pe) < 0)
			goto bad;
		v64 *= 1000;
	} else if (opt_parse_dur_ms(key, v, 1, INT64_MAX, &v64, &pe) < 0) {
		goto bad;
	}
	if (c->out->connect_timeout_ms == 0)
		c->out->connect_timeout_ms = v64;
	return 0;
bad:
	return err_set(c->e, EXIT_CONFIG,
	    "%s:%d: %s '%s': expected a number of seconds greater than 0",
	    f->path, f->line, key, v);
}

/* Where an Include pattern points: ~ expanded, relative to ~/.ssh. */
static int
include_pattern(struct sc_ctx *c, const struct sc_file *f, const char *arg,
    char *dst, size_t size)
{
	int n;

	if (arg[0] == '/') {
		n = snprintf(dst, size, "%s", arg);
	} else {
		/* '%' stays literal here: OpenSSH expands no tokens in it. */
		if (check_tilde(c, f, "Include", arg) < 0)
			return -1;
		if (!has_home(c))
			return err_set(c->e, EXIT_CONFIG,
			    "%s:%d: Include '%s': no home directory for a "
			    "relative path", f->path, f->line, arg);
		if (arg[0] == '~')
			n = snprintf(dst, size, "%s%s", c->home, arg + 1);
		else
			n = snprintf(dst, size, "%s/.ssh/%s", c->home, arg);
	}
	if (n < 0 || (size_t)n >= size)
		return err_set(c->e, EXIT_CONFIG,
		    "%s:%d: Include '%.64s...': path too long", f->path,
		    f->line, arg);
	return 0;
}

/* Read every file one Include pattern names, in glob(3)'s sorted order. */
static int
include_one(struct sc_ctx *c, const struct sc_file *f, const char *arg)
{
	char pattern[PATH_MAX];
	glob_t g;
	size_t i;
	int r, rc = 0;

	if (include_pattern(c, f, arg, pattern, sizeof(pattern)) < 0)
		return -1;
	r = glob(pattern, 0, NULL, &g);
	/* As in OpenSSH, an Include that names nothing is not an error. */
	if (r == GLOB_NOMATCH)
		return 0;
	if (r != 0)
		return err_set(c->e, EXIT_IOERR,
		    "%s:%d: Include '%s': unable to expand '%s' "
		    "(glob error %d)", f->path, f->line, arg, pattern, r);
	for (i = 0; i < g.gl_pathc && rc == 0; i++) {
		if (f->depth >= SSHCONF_MAX_DEPTH)
			rc = err_set(c->e, EXIT_CONFIG,
			    "%s:%d: Include '%s': nested deeper than %d files "
			    "(a loop?)", f->path, f->line, g.gl_pathv[i],
			    SSHCONF_MAX_DEPTH);
		else
			rc = read_config(c, g.gl_pathv[i], f->depth + 1);
	}
	globfree(&g);
	return rc;
}

static int
kw_include(struct sc_ctx *c, struct sc_file *f, const char *key, char *rest)
{
	enum sc_tok t;
	bool any = false;
	char *arg;

	while ((t = next_arg(&rest, &arg)) == SC_TOK_OK) {
		any = true;
		if (include_one(c, f, arg) < 0)
			return -1;
	}
	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, key);
	if (!any)
		return err_set(c->e, EXIT_CONFIG, "%s:%d: %s: missing value",
		    f->path, f->line, key);
	return 0;
}

/* A Host line decides whether the lines up to the next Host/Match apply. */
static int
kw_host(struct sc_ctx *c, struct sc_file *f, char *rest)
{
	bool matched = false, vetoed = false;
	enum sc_tok t;
	char *pat;

	while ((t = next_arg(&rest, &pat)) == SC_TOK_OK)
		if (!vetoed && !pattern_apply(pat, strlen(pat), c->host,
		    &matched))
			vetoed = true;
	if (t == SC_TOK_BADQUOTE)
		return bad_quote(c, f, "Host");
	f->active = matched && !vetoed;
	return 0;
}

typedef int sc_keyword_fn(struct sc_ctx *, struct sc_file *, const char *,
    char *);

static sc_keyword_fn *
find_keyword(const char *key, const char **name)
{
	static const struct {
		const char *name;
		sc_keyword_fn *fn;
	} keywords[] = {
		{ "ConnectTimeout", kw_timeout },
		{ "HostName", kw_hostname },
		{ "IdentitiesOnly", kw_identitiesonly },
		{ "IdentityFile", kw_identityfile },
		{ "Include", kw_include },
		{ "Port", kw_port },
		{ "StrictHostKeyChecking", kw_strict },
		{ "User", kw_user },
		{ "UserKnownHostsFile", kw_knownhosts },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keywords); i++)
		if (strcasecmp(key, keywords[i].name) == 0) {
			*name = keywords[i].name;
			return keywords[i].fn;
		}
	return NULL;
}

static int
process_line(struct sc_ctx *c, struct sc_file *f, char *line)
{
	char *rest = line, *key = split_key(&rest);
	sc_keyword_fn *fn;
	const char *name;

	if (key[0] == '\0' || key[0] == '#')
		return 0;
	if (strcasecmp(key, "Host") == 0)
		return kw_host(c, f, rest);
	/* Match criteria (exec, canonical, ...) are not ours to judge. */
	if (strcasecmp(key, "Match") == 0) {
		f->active = false;
		return 0;
	}
	if (!f->active || (fn = find_keyword(key, &name)) == NULL)
		return 0;
	return fn(c, f, name, rest);
}

/*
 * Read one file at Include depth `depth`. Its lines start active: the
 * top file's global section, or an Include that was itself active. A
 * Host line in it ends with the file, as in OpenSSH.
 */
static int
read_config(struct sc_ctx *c, const char *path, int depth)
{
	struct sc_file f = { .path = path, .depth = depth, .active = true };
	char *data, *line, *end, *nl;
	struct err re;
	size_t len;
	int rc = 0;

	err_clear(&re);
	if (file_read_all(path, SSHCONF_MAX_BYTES, &data, &len, &re) < 0) {
		/* No ~/.ssh/config is the usual case, not a problem. */
		if (re.code == EXIT_NOINPUT)
			return 0;
		return err_set(c->e, re.code == EXIT_DATAERR ? EXIT_CONFIG :
		    EXIT_IOERR, "%s", re.msg);
	}
	end = data + len;
	for (line = data; line < end && rc == 0; line = nl) {
		nl = memchr(line, '\n', (size_t)(end - line));
		nl = nl != NULL ? nl : end;
		*nl++ = '\0';
		f.line++;
		rc = process_line(c, &f, line);
	}
	free(data);
	return rc;
}

/* Expand one stored path in place; %h is the final HostName. */
static int
expand_stored(struct sc_ctx *c, const char *key, char *path, size_t size)
{
	const char *host = c->out->hostname[0] != '\0' ? c->out->hostname :
	    c->host;
	char buf[PATH_MAX];

	if (size > sizeof(buf))
		size = sizeof(buf);
	if (expand(c, path, true, host, buf, size) < 0)
		return err_set(c->e, EXIT_CONFIG,
		    "%s '%.64s': longer than %zu bytes once expanded", key,
		    path, size - 1);
	memcpy(path, buf, strlen(buf) + 1);
	return 0;
}

int
sshconf_lookup(const char *path, const char *host, const char *home,
    const char *local_user, struct sshconf_host *out, struct err *e)
{
	struct sc_ctx c = { host, home, local_user, out, e };
	int i;

	memset(out, 0, sizeof(*out));
	out->identities_only = -1;
	out->strict = SSHCONF_STRICT_UNSET;
	if (read_config(&c, path, 0) < 0)
		return -1;
	for (i = 0; i < out->nidentity_files; i++)
		if (expand_stored(&c, "IdentityFile", out->identity_files[i],
		    sizeof(out->identity_files[i])) < 0)
			return -1;
	if (out->known_hosts[0] != '\0' &&
	    expand_stored(&c, "UserKnownHostsFile", out->known_hosts,
	    sizeof(out->known_hosts)) < 0)
		return -1;
	return 0;
}
