/* SPDX-License-Identifier: MIT */
/*
 * The cluster manifest (see manifest.h and klog-manifest(5)): the ytree of
 * the file, walked section by section into struct manifest. Every scalar is
 * text and its key decides the type, so quoting never changes a value; only
 * a plain empty value, ~ or null means "not set". Every refusal names
 * file:line:col, the key path (brokers[1].port) and the offending value.
 */
/* realpath(3) is XSI: relative paths resolve against the real directory. */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "manifest.h"
#include "ytree.h"
#include "banned.h"

#define TOPIC_NAME_MAX (MANIFEST_NAME_MAX - 1)	/* 249, as Kafka */
#define PARTITIONS_MAX 100000
#define OFFSETS_PARTITIONS_MAX 10000	/* logd's offsets.topic.num.partitions */
#define SESSION_DEFAULT_MS 6000
#define HEARTBEAT_DEFAULT_MS 500
#define REBALANCE_DEFAULT_MS 10000
#define MANIFEST_INSTALL_DIR_DEFAULT "klog"

struct keydef {
	const char *name;
	bool required;
};

/* One load in progress. */
struct mf_load {
	const struct ytree_doc *doc;
	struct manifest *m;
	struct err *e;
	char base[PATH_MAX];	/* the manifest's directory; "" until needed */
	char kp[320];		/* key path of the value being reported */
	const struct ytree_node *first_rack;	/* a broker with a rack */
	const struct ytree_node *first_norack;	/* a broker without */
};

static int
fail(struct mf_load *ld, const struct ytree_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set EXIT_CONFIG "path:line:col: message" (1:1 without a node). */
static int
fail(struct mf_load *ld, const struct ytree_node *n, const char *fmt, ...)
{
	char msg[sizeof(ld->e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(ld->e, EXIT_CONFIG, "%s:%d:%d: %s", ld->doc->path,
	    n ? n->line : 1, n ? n->col : 1, msg);
}

/* "ctx.key" (or "key" at the top level), valid until the next call. */
static const char *
keypath(struct mf_load *ld, const char *ctx, const char *key)
{
	if (snprintf(ld->kp, sizeof(ld->kp), "%s%s%s", ctx, *ctx ? "." : "",
	    key) < 0)
		ld->kp[0] = '\0';
	return ld->kp;
}

/* A plain empty value, ~ or null: the key is as good as absent. */
static bool
is_null(const struct ytree_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->kind != YTREE_NODE_SCALAR || n->quoted)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->scalar, nulls[i]) == 0)
			return true;
	return false;
}

/* The value of `key` in `map`, or NULL when absent or null. */
static const struct ytree_node *
value_of(const struct ytree_node *map, const char *key)
{
	const struct ytree_node *v = ytree_map_get(map, key);

	return v == NULL || is_null(v) ? NULL : v;
}

static const char *
kind_name(enum ytree_node_kind kind)
{
	switch (kind) {
	case YTREE_NODE_SCALAR:
		return "a single value";
	case YTREE_NODE_SEQUENCE:
		return "a list";
	case YTREE_NODE_MAPPING:
		return "a mapping";
	}
	return "something else";
}

static int
expect_kind(struct mf_load *ld, const struct ytree_node *n,
    enum ytree_node_kind kind, const char *path)
{
	if (n->kind == kind)
		return 0;
	if (n->kind == YTREE_NODE_SCALAR)
		return fail(ld, n, "%s: expected %s, got '%s'", path,
		    kind_name(kind), n->scalar);
	return fail(ld, n, "%s: expected %s, got %s", path, kind_name(kind),
	    kind_name(n->kind));
}

/*
 * Refuse keys not in `keys` (naming the valid ones) and required keys that
 * are missing (at the mapping) or null (at the value).
 */
static int
check_keys(struct mf_load *ld, const struct ytree_node *map, const char *ctx,
    const struct keydef *keys)
{
	char valid[256];
	size_t i, j, len = 0;

	valid[0] = '\0';
	for (j = 0; keys[j].name != NULL && len < sizeof(valid); j++)
		len += (size_t)snprintf(valid + len, sizeof(valid) - len, "%s%s",
		    j ? ", " : "", keys[j].name);
	for (i = 0; i < map->count; i++) {
		const char *k = map->keys[i]->scalar;

		for (j = 0; keys[j].name != NULL; j++)
			if (strcmp(keys[j].name, k) == 0)
				break;
		if (keys[j].name == NULL)
			return fail(ld, map->keys[i],
			    "%s%sunknown key '%s'; valid keys: %s", ctx,
			    *ctx ? ": " : "", k, valid);
	}
	for (j = 0; keys[j].name != NULL; j++) {
		const struct ytree_node *v = ytree_map_get(map, keys[j].name);

		if (!keys[j].required)
			continue;
		if (v == NULL)
			return fail(ld, map, "%s%smissing required key '%s'",
			    ctx, *ctx ? ": " : "", keys[j].name);
		if (is_null(v))
			return fail(ld, v, "%s: missing value",
			    keypath(ld, ctx, keys[j].name));
	}
	return 0;
}

/*
 * A whole decimal number in [min, max]: optional '-', digits, nothing
 * else. Leading zeros are refused: YAML 1.1 tools read 0750 as octal.
 */
static int
scalar_int(struct mf_load *ld, const struct ytree_node *n, const char *path,
    int64_t min, int64_t max, int64_t *out)
{
	const char *s = n->scalar, *d;
	char *end;
	long long v;

	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	d = s + (*s == '-');
	if (!isdigit((unsigned char)*d))
		return fail(ld, n, "%s: expected a whole number, got '%s'",
		    path, s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return fail(ld, n, "%s: expected a whole number, got '%s'",
		    path, s);
	if (d[0] == '0' && d[1] != '\0')
		return fail(ld, n, "%s: leading zeros are not allowed, got '%s'",
		    path, s);
	if (errno == ERANGE || v < min || v > max)
		return fail(ld, n, "%s: %s is out of range [%" PRId64 ", %"
		    PRId64 "]", path, s, min, max);
	*out = v;
	return 0;
}

static int
scalar_bool(struct mf_load *ld, const struct ytree_node *n, const char *path,
    bool *out)
{
	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	if (strcmp(n->scalar, "true") == 0)
		*out = true;
	else if (strcmp(n->scalar, "false") == 0)
		*out = false;
	else
		return fail(ld, n, "%s: expected true or false, got '%s'", path,
		    n->scalar);
	return 0;
}

/* Optional integer `key` of `map` into *out (left alone when not set). */
static int
opt_int(struct mf_load *ld, const struct ytree_node *map, const char *ctx,
    const char *key, int64_t min, int64_t max, int64_t *out)
{
	const struct ytree_node *n = value_of(map, key);

	if (n == NULL)
		return 0;
	return scalar_int(ld, n, keypath(ld, ctx, key), min, max, out);
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* 1..max-1 characters of [A-Za-z0-9._-]. */
static int
scalar_name(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst, size_t max)
{
	const char *s = n->scalar;
	size_t i, len;

	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= max)
		return fail(ld, n, "%s: '%s' must be 1 to %zu characters", path,
		    s, max - 1);
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return fail(ld, n, "%s: '%s' may use only letters, "
			    "digits, '.', '_' and '-'", path, s);
	memcpy(dst, s, len + 1);
	return 0;
}

/* A free-form word (rack): 1..max-1 printable characters, no spaces. */
static int
scalar_word(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst, size_t max)
{
	const char *s = n->scalar;
	size_t i, len;

	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= max)
		return fail(ld, n, "%s: '%s' must be 1 to %zu characters", path,
		    s, max - 1);
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)s[i]))
			return fail(ld, n, "%s: '%s' must not contain spaces or "
			    "control characters", path, s);
	memcpy(dst, s, len + 1);
	return 0;
}

/*
 * A host name or IP address that others connect to: letters, digits and
 * ".-_:%" (IPv6 literals without brackets), never starting with '-' (it
 * reaches ssh's command line), never a wildcard address.
 */
static int
scalar_host(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst)
{
	const char *s = n->scalar;
	size_t i, len;

	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= MANIFEST_HOST_MAX)
		return fail(ld, n, "%s: '%s' must be 1 to %d characters", path,
		    s, MANIFEST_HOST_MAX - 1);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_:%", s[i]))
			break;
	if (i < len || s[0] == '-')
		return fail(ld, n, "%s: '%s' is not a host name or IP address "
		    "(write IPv6 addresses without brackets)", path, s);
	if (strcmp(s, "0.0.0.0") == 0 || strcmp(s, "::") == 0)
		return fail(ld, n, "%s: '%s' is a wildcard address; give the "
		    "address clients and peers connect to", path, s);
	memcpy(dst, s, len + 1);
	return 0;
}

/*
 * The directory holding the manifest, absolute and without symbolic links
 * when it exists, so "../x" in a path means what the kernel would make of it.
 */
static int
base_dir(struct mf_load *ld, const struct ytree_node *n)
{
	char dir[PATH_MAX], cwd[PATH_MAX];
	const char *p = ld->doc->path, *slash = strrchr(p, '/');
	size_t len = slash == NULL ? 0 : (size_t)(slash - p);

	if (len >= sizeof(dir))
		return fail(ld, n, "manifest path is too long");
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (len == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, p, len);
		dir[len] = '\0';
	}
	if (realpath(dir, ld->base) != NULL)
		return 0;
	if (dir[0] == '/') {
		memcpy(ld->base, dir, strlen(dir) + 1);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return err_sys(ld->e, EXIT_OSERR,
		    "unable to resolve relative paths in '%s'", p);
	if ((size_t)snprintf(ld->base, sizeof(ld->base), "%s/%s", cwd, dir) >=
	    sizeof(ld->base))
		return fail(ld, n, "manifest path is too long");
	return 0;
}

/*
 * Drop "." components, repeated and trailing slashes in place. ".." is
 * kept: only the kernel knows what it means after a symbolic link.
 */
static void
path_clean(char *p)
{
	char *r = p, *w = p;

	while (*r != '\0') {
		if (r[0] == '/' && (r[1] == '/' || (r[1] == '.' &&
		    (r[2] == '/' || r[2] == '\0')))) {
			r += r[1] == '/' ? 1 : 2;
			continue;
		}
		*w++ = *r++;
	}
	if (w > p + 1 && w[-1] == '/')
		w--;
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/*
 * A path: "~" and "~/..." from $HOME, a relative one against the
 * manifest's directory (leading ".." taken off that directory, which has
 * no symbolic links), then cleaned.
 */
static int
scalar_path(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst, size_t size)
{
	const char *s = n->scalar, *prefix = "", *home;
	char base[PATH_MAX];
	size_t i;

	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	if (s[0] == '\0')
		return fail(ld, n, "%s: must not be empty", path);
	for (i = 0; s[i] != '\0'; i++)
		if (iscntrl((unsigned char)s[i]))
			return fail(ld, n, "%s: '%s' contains a control character",
			    path, s);
	if (s[0] == '~') {
		if (s[1] != '\0' && s[1] != '/')
			return fail(ld, n, "%s: '%s': only '~/' is expanded, "
			    "not '~user/'", path, s);
		home = getenv("HOME");
		if (home == NULL || home[0] != '/')
			return fail(ld, n, "%s: '%s': HOME is not set to an "
			    "absolute path", path, s);
		prefix = home;
		s++;
	} else if (s[0] != '/') {
		if (ld->base[0] == '\0' && base_dir(ld, n) < 0)
			return -1;
		memcpy(base, ld->base, sizeof(base));
		while (s[0] == '.' && s[1] == '/')
			s += 2;
		while (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0')) {
			char *last = strrchr(base, '/');

			if (last != NULL)
				last[last == base] = '\0';
			s += 2 + (s[2] == '/');
		}
		prefix = base;
	}
	if ((size_t)snprintf(dst, size, "%s%s%s", prefix,
	    *prefix && s[0] != '/' ? "/" : "", s) >= size)
		return fail(ld, n, "%s: '%s' is too long", path, n->scalar);
	path_clean(dst);
	return 0;
}

static int
parse_cluster(struct mf_load *ld, const struct ytree_node *root)
{
	return scalar_name(ld, value_of(root, "cluster"), "cluster",
	    ld->m->cluster_id, sizeof(ld->m->cluster_id));
}

static int
controller_timeouts(struct mf_load *ld, const struct ytree_node *map)
{
	struct manifest_controller *c = &ld->m->controller;
	const struct ytree_node *hb = value_of(map, "heartbeat_interval_ms");
	const struct ytree_node *n;

	if (opt_int(ld, map, "controller", "session_timeout_ms", 1, INT32_MAX,
	    &c->session_timeout_ms) < 0 ||
	    opt_int(ld, map, "controller", "heartbeat_interval_ms", 1,
	    INT32_MAX, &c->heartbeat_interval_ms) < 0 ||
	    opt_int(ld, map, "controller", "leader_rebalance_interval_ms", 1,
	    INT32_MAX, &c->leader_rebalance_interval_ms) < 0)
		return -1;
	n = value_of(map, "auto_leader_rebalance");
	if (n != NULL && scalar_bool(ld, n, "controller.auto_leader_rebalance",
	    &c->auto_leader_rebalance) < 0)
		return -1;
	if (c->heartbeat_interval_ms < c->session_timeout_ms)
		return 0;
	/* Point at whichever of the two the file sets. */
	n = hb != NULL ? hb : value_of(map, "session_timeout_ms");
	return fail(ld, n, "controller: heartbeat_interval_ms %" PRId64
	    " must be below session_timeout_ms %" PRId64,
	    c->heartbeat_interval_ms, c->session_timeout_ms);
}

static int parse_ssh(struct mf_load *ld, const struct ytree_node *map,
    const char *ctx, struct manifest_ssh *ssh);

static int
parse_controller(struct mf_load *ld, const struct ytree_node *map)
{
	static const struct keydef keys[] = {
		{ "host", true }, { "port", true }, { "data_dir", true },
		{ "session_timeout_ms", false },
		{ "heartbeat_interval_ms", false },
		{ "auto_leader_rebalance", false },
		{ "leader_rebalance_interval_ms", false },
		{ "ssh", false }, { NULL, false },
	};
	struct manifest_controller *c = &ld->m->controller;
	const struct ytree_node *n;
	int64_t port;

	c->session_timeout_ms = SESSION_DEFAULT_MS;
	c->heartbeat_interval_ms = HEARTBEAT_DEFAULT_MS;
	c->auto_leader_rebalance = true;
	c->leader_rebalance_interval_ms = REBALANCE_DEFAULT_MS;
	if (expect_kind(ld, map, YTREE_NODE_MAPPING, "controller") < 0 ||
	    check_keys(ld, map, "controller", keys) < 0)
		return -1;
	if (scalar_host(ld, value_of(map, "host"), "controller.host",
	    c->host) < 0 ||
	    scalar_int(ld, value_of(map, "port"), "controller.port", 1, 65535,
	    &port) < 0 ||
	    scalar_path(ld, value_of(map, "data_dir"), "controller.data_dir",
	    c->data_dir, sizeof(c->data_dir)) < 0)
		return -1;
	c->port = (int)port;
	c->line = map->line;
	c->data_dir_absolute = value_of(map, "data_dir")->scalar[0] == '/';
	n = value_of(map, "ssh");
	c->has_ssh = n != NULL;
	c->ssh.port = 0;
	snprintf(c->ssh.install_dir, sizeof(c->ssh.install_dir), "%s",
	    MANIFEST_INSTALL_DIR_DEFAULT);
	if (n != NULL && parse_ssh(ld, n, "controller", &c->ssh) < 0)
		return -1;
	if (c->has_ssh && !c->data_dir_absolute)
		return fail(ld, value_of(map, "data_dir"), "controller.data_dir: "
		    "'%s' is not absolute; a controller managed over ssh needs "
		    "the path its host will use",
		    value_of(map, "data_dir")->scalar);
	return controller_timeouts(ld, map);
}

/*
 * A directory on the remote host: never resolved here, since "~" and
 * relative paths mean the remote user's home. "~/x" is kept as "x"
 * (relative paths are under the home for both sh and SFTP).
 */
static int
remote_dir(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst, size_t size)
{
	const char *s;
	size_t i;

	if (n == NULL) {
		snprintf(dst, size, "%s", MANIFEST_INSTALL_DIR_DEFAULT);
		return 0;
	}
	if (expect_kind(ld, n, YTREE_NODE_SCALAR, path) < 0)
		return -1;
	s = n->scalar;
	if (s[0] == '~' && s[1] == '/')
		s += 2;
	else if (s[0] == '~')
		return fail(ld, n, "%s: '%s': only '~/' is understood, not "
		    "'~user/'", path, n->scalar);
	if (s[0] == '\0' || strcmp(s, ".") == 0)
		return fail(ld, n, "%s: '%s' names the home directory itself; "
		    "give a directory of its own", path, n->scalar);
	for (i = 0; s[i] != '\0'; i++)
		if (iscntrl((unsigned char)s[i]))
			return fail(ld, n, "%s: '%s' contains a control "
			    "character", path, n->scalar);
	if (strlen(s) >= size)
		return fail(ld, n, "%s: '%s' is too long", path, n->scalar);
	memcpy(dst, s, strlen(s) + 1);
	path_clean(dst);
	return 0;
}

static int
parse_ssh(struct mf_load *ld, const struct ytree_node *map, const char *ctx,
    struct manifest_ssh *ssh)
{
	static const struct keydef keys[] = {
		{ "user", false }, { "port", false }, { "identity", false },
		{ "install_dir", false }, { NULL, false },
	};
	const struct ytree_node *n;
	char path[64];
	int64_t port = 0;

	snprintf(path, sizeof(path), "%s.ssh", ctx);
	if (expect_kind(ld, map, YTREE_NODE_MAPPING, path) < 0 ||
	    check_keys(ld, map, path, keys) < 0 ||
	    opt_int(ld, map, path, "port", 1, 65535, &port) < 0)
		return -1;
	ssh->port = (int)port;
	n = value_of(map, "user");
	if (n != NULL && scalar_name(ld, n, keypath(ld, path, "user"),
	    ssh->user, sizeof(ssh->user)) < 0)
		return -1;
	if (ssh->user[0] == '-')
		return fail(ld, n, "%s.user: '%s' must not start with '-'", path,
		    ssh->user);
	n = value_of(map, "identity");
	if (n != NULL && scalar_path(ld, n, keypath(ld, path, "identity"),
	    ssh->identity, sizeof(ssh->identity)) < 0)
		return -1;
	return remote_dir(ld, value_of(map, "install_dir"),
	    keypath(ld, path, "install_dir"), ssh->install_dir,
	    sizeof(ssh->install_dir));
}

/* Racks are all or nothing, as Kafka's rack-aware assignment wants. */
static int
check_rack(struct mf_load *ld, const struct ytree_node *map, const char *ctx)
{
	const struct ytree_node *rack = value_of(map, "rack");

	if (rack != NULL && ld->first_rack == NULL)
		ld->first_rack = map;
	if (rack == NULL && ld->first_norack == NULL)
		ld->first_norack = map;
	if (ld->first_rack == NULL || ld->first_norack == NULL)
		return 0;
	if (rack != NULL)
		return fail(ld, rack, "%s.rack: set here but not for the broker "
		    "at line %d; give every broker a rack or none", ctx,
		    ld->first_norack->line);
	return fail(ld, map, "%s: no rack, but the broker at line %d has one; "
	    "give every broker a rack or none", ctx, ld->first_rack->line);
}

/* This broker against the controller and the brokers before it. */
static int
broker_clashes(struct mf_load *ld, const struct ytree_node *map, size_t idx,
    const char *ctx)
{
	const struct manifest_broker *b = &ld->m->brokers[idx];
	const struct manifest_controller *c = &ld->m->controller;
	size_t i;

	if (strcasecmp(b->host, c->host) == 0 && b->port == c->port)
		return fail(ld, value_of(map, "port"), "%s.port: %s:%d is the "
		    "controller's address", ctx, b->host, b->port);
	if (strcasecmp(b->host, c->host) == 0 &&
	    strcmp(b->data_dir, c->data_dir) == 0)
		return fail(ld, value_of(map, "data_dir"), "%s.data_dir: '%s' "
		    "is the controller's data_dir on %s", ctx, b->data_dir,
		    b->host);
	for (i = 0; i < idx; i++) {
		const struct manifest_broker *o = &ld->m->brokers[i];

		if (o->id == b->id)
			return fail(ld, value_of(map, "id"), "%s.id: duplicate "
			    "broker id %" PRId32 " (also at line %d)", ctx,
			    b->id, o->line);
		if (strcasecmp(o->host, b->host) != 0)
			continue;
		if (o->port == b->port)
			return fail(ld, value_of(map, "port"), "%s.port: %s:%d "
			    "is also broker %" PRId32 "'s (line %d)", ctx,
			    b->host, b->port, o->id, o->line);
		if (strcmp(o->data_dir, b->data_dir) == 0)
			return fail(ld, value_of(map, "data_dir"), "%s.data_dir: "
			    "'%s' is also broker %" PRId32 "'s on %s (line %d)",
			    ctx, b->data_dir, o->id, b->host, o->line);
	}
	return 0;
}

static int
parse_broker(struct mf_load *ld, const struct ytree_node *map, size_t idx)
{
	static const struct keydef keys[] = {
		{ "id", true }, { "host", true }, { "port", true },
		{ "data_dir", true }, { "rack", false }, { "ssh", false },
		{ NULL, false },
	};
	struct manifest_broker *b = &ld->m->brokers[idx];
	const struct ytree_node *n;
	char ctx[40];
	int64_t v;

	snprintf(ctx, sizeof(ctx), "brokers[%zu]", idx);
	if (expect_kind(ld, map, YTREE_NODE_MAPPING, ctx) < 0 ||
	    check_keys(ld, map, ctx, keys) < 0)
		return -1;
	b->line = map->line;
	if (scalar_int(ld, value_of(map, "id"), keypath(ld, ctx, "id"), 0,
	    INT32_MAX, &v) < 0)
		return -1;
	b->id = (int32_t)v;
	if (scalar_host(ld, value_of(map, "host"), keypath(ld, ctx, "host"),
	    b->host) < 0 ||
	    scalar_int(ld, value_of(map, "port"), keypath(ld, ctx, "port"), 1,
	    65535, &v) < 0)
		return -1;
	b->port = (int)v;
	if (scalar_path(ld, value_of(map, "data_dir"),
	    keypath(ld, ctx, "data_dir"), b->data_dir, sizeof(b->data_dir)) < 0)
		return -1;
	b->data_dir_absolute = value_of(map, "data_dir")->scalar[0] == '/';
	n = value_of(map, "rack");
	if (n != NULL && scalar_word(ld, n, keypath(ld, ctx, "rack"), b->rack,
	    sizeof(b->rack)) < 0)
		return -1;
	n = value_of(map, "ssh");
	b->has_ssh = n != NULL;
	b->ssh.port = 0;
	snprintf(b->ssh.install_dir, sizeof(b->ssh.install_dir), "%s",
	    MANIFEST_INSTALL_DIR_DEFAULT);
	if (n != NULL && parse_ssh(ld, n, ctx, &b->ssh) < 0)
		return -1;
	if (b->has_ssh && !b->data_dir_absolute)
		return fail(ld, value_of(map, "data_dir"), "%s.data_dir: '%s' is "
		    "not absolute; a broker managed over ssh needs the path "
		    "its host will use", ctx, value_of(map, "data_dir")->scalar);
	if (check_rack(ld, map, ctx) < 0)
		return -1;
	return broker_clashes(ld, map, idx, ctx);
}

static int
parse_brokers(struct mf_load *ld, const struct ytree_node *seq)
{
	size_t i;

	if (expect_kind(ld, seq, YTREE_NODE_SEQUENCE, "brokers") < 0)
		return -1;
	if (seq->count == 0)
		return fail(ld, seq, "brokers: at least one broker is needed");
	ld->m->brokers = calloc(seq->count, sizeof(*ld->m->brokers));
	if (ld->m->brokers == NULL)
		return err_set(ld->e, EXIT_OSERR, "out of memory");
	for (i = 0; i < seq->count; i++) {
		if (parse_broker(ld, seq->items[i], i) < 0)
			return -1;
		ld->m->nbrokers++;
	}
	return 0;
}

/* Every topic-level config name, for the unknown-config message. */
static void
config_names(char *dst, size_t size)
{
	size_t i, len = 0;

	dst[0] = '\0';
	for (i = 0; i < TCONF_COUNT && len < size; i++)
		len += (size_t)snprintf(dst + len, size - len, "%s%s",
		    i ? ", " : "", tconf_def((enum tconf_id)i)->name);
}

/*
 * A configs mapping into `c`, on top of what it holds: each value
 * validated by tconf; a null value removes the one inherited.
 */
static int
parse_configs(struct mf_load *ld, const struct ytree_node *map,
    const char *ctx, struct tconf *c)
{
	char names[400];
	size_t i;

	if (expect_kind(ld, map, YTREE_NODE_MAPPING, ctx) < 0)
		return -1;
	for (i = 0; i < map->count; i++) {
		const struct ytree_node *k = map->keys[i], *v = map->items[i];
		const struct tconf_def *d = tconf_find(k->scalar, false);
		struct err te;

		if (d == NULL) {
			config_names(names, sizeof(names));
			return fail(ld, k, "%s: unknown topic config '%s'; "
			    "valid: %s", ctx, k->scalar, names);
		}
		if (is_null(v)) {
			free(c->values[d->id]);
			c->values[d->id] = NULL;
			continue;
		}
		if (v->kind != YTREE_NODE_SCALAR)
			return fail(ld, v, "%s.%s: expected a single value, got "
			    "%s (write lists as \"compact,delete\")", ctx,
			    d->name, kind_name(v->kind));
		if (tconf_set(c, d->name, v->scalar, &te) < 0) {
			if (te.code != EXIT_CONFIG)
				return err_set(ld->e, te.code, "%s", te.msg);
			return fail(ld, v, "%s.%s", ctx, te.msg);
		}
	}
	return 0;
}

/* A replication factor: at least 1, at most the number of brokers. */
static int
scalar_rf(struct mf_load *ld, const struct ytree_node *n, const char *path,
    int16_t *out)
{
	int64_t v;

	if (scalar_int(ld, n, path, 1, INT16_MAX, &v) < 0)
		return -1;
	if ((size_t)v > ld->m->nbrokers)
		return fail(ld, n, "%s: %" PRId64 " is above the number of "
		    "brokers (%zu)", path, v, ld->m->nbrokers);
	*out = (int16_t)v;
	return 0;
}

/* min.insync.replicas in `c` (or the built-in 1) against `rf`. */
static int
check_min_insync(struct mf_load *ld, const struct tconf *c, int16_t rf,
    const struct ytree_node *where, const char *ctx, const char *from)
{
	int64_t mir = tconf_i64(c, NULL, TCONF_MIN_INSYNC_REPLICAS);

	if (mir <= rf)
		return 0;
	return fail(ld, where, "%s: min.insync.replicas %" PRId64 "%s is above "
	    "the replication factor %d", ctx, mir, from, rf);
}

static int
parse_defaults(struct mf_load *ld, const struct ytree_node *map)
{
	static const struct keydef keys[] = {
		{ "partitions", false }, { "replication_factor", false },
		{ "configs", false }, { "offsets_topic_partitions", false },
		{ "offsets_topic_replication_factor", false }, { NULL, false },
	};
	struct manifest *m = ld->m;
	const struct ytree_node *n;
	int64_t v;

	if (map == NULL)
		return 0;
	if (expect_kind(ld, map, YTREE_NODE_MAPPING, "defaults") < 0 ||
	    check_keys(ld, map, "defaults", keys) < 0)
		return -1;
	v = m->default_partitions;
	if (opt_int(ld, map, "defaults", "partitions", 1, PARTITIONS_MAX,
	    &v) < 0)
		return -1;
	m->default_partitions = (int32_t)v;
	v = m->offsets_topic_partitions;
	if (opt_int(ld, map, "defaults", "offsets_topic_partitions", 1,
	    OFFSETS_PARTITIONS_MAX, &v) < 0)
		return -1;
	m->offsets_topic_partitions = (int32_t)v;
	n = value_of(map, "replication_factor");
	if (n != NULL && scalar_rf(ld, n, "defaults.replication_factor",
	    &m->default_replication_factor) < 0)
		return -1;
	n = value_of(map, "offsets_topic_replication_factor");
	if (n != NULL && scalar_rf(ld, n,
	    "defaults.offsets_topic_replication_factor",
	    &m->offsets_topic_replication_factor) < 0)
		return -1;
	n = value_of(map, "configs");
	if (n == NULL)
		return 0;
	if (parse_configs(ld, n, "defaults.configs", &m->default_configs) < 0)
		return -1;
	n = value_of(n, "min.insync.replicas");
	return check_min_insync(ld, &m->default_configs,
	    m->default_replication_factor, n, "defaults.configs", "");
}

/*
 * Kafka's topic name rules (as logd's topic_name_check), plus: names
 * starting with "__" are klog's internal topics.
 */
static int
topic_name(struct mf_load *ld, const struct ytree_node *n, const char *path,
    char *dst)
{
	if (scalar_name(ld, n, path, dst, TOPIC_NAME_MAX + 1) < 0)
		return -1;
	if (strcmp(dst, ".") == 0 || strcmp(dst, "..") == 0)
		return fail(ld, n, "%s: a topic cannot be named '%s'", path, dst);
	if (strncmp(dst, "__", 2) == 0)
		return fail(ld, n, "%s: '%s': names starting with '__' are "
		    "reserved for internal topics", path, dst);
	return 0;
}

/* Names equal once '.' and '_' are alike collide in Kafka's metrics. */
static bool
names_collide(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (*a != *b && !((*a == '.' || *a == '_') &&
		    (*b == '.' || *b == '_')))
			return false;
	return *a == *b;
}

static int
topic_clashes(struct mf_load *ld, const struct ytree_node *n, size_t idx,
    const char *path)
{
	const struct manifest_topic *t = &ld->m->topics[idx];
	size_t i;

	for (i = 0; i < idx; i++) {
		const struct manifest_topic *o = &ld->m->topics[i];

		if (strcmp(o->name, t->name) == 0)
			return fail(ld, n, "%s: duplicate topic '%s' (also at "
			    "line %d)", path, t->name, o->line);
		if (names_collide(o->name, t->name))
			return fail(ld, n, "%s: topic '%s' collides with '%s' "
			    "(line %d): '.' and '_' are treated alike", path,
			    t->name, o->name, o->line);
	}
	return 0;
}

static int
parse_topic(struct mf_load *ld, const struct ytree_node *map, size_t idx)
{
	static const struct keydef keys[] = {
		{ "name", true }, { "partitions", false },
		{ "replication_factor", false }, { "configs", false },
		{ NULL, false },
	};
	struct manifest_topic *t = &ld->m->topics[idx];
	const struct ytree_node *n, *mir;
	char ctx[40], cfgctx[56];
	int64_t v = ld->m->default_partitions;

	snprintf(ctx, sizeof(ctx), "topics[%zu]", idx);
	snprintf(cfgctx, sizeof(cfgctx), "%s.configs", ctx);
	if (tconf_copy(&t->configs, &ld->m->default_configs) < 0)
		return err_set(ld->e, EXIT_OSERR, "out of memory");
	if (expect_kind(ld, map, YTREE_NODE_MAPPING, ctx) < 0 ||
	    check_keys(ld, map, ctx, keys) < 0)
		return -1;
	t->line = map->line;
	n = value_of(map, "name");
	if (topic_name(ld, n, keypath(ld, ctx, "name"), t->name) < 0 ||
	    topic_clashes(ld, n, idx, keypath(ld, ctx, "name")) < 0 ||
	    opt_int(ld, map, ctx, "partitions", 1, PARTITIONS_MAX, &v) < 0)
		return -1;
	t->partitions = (int32_t)v;
	t->replication_factor = ld->m->default_replication_factor;
	n = value_of(map, "replication_factor");
	if (n != NULL && scalar_rf(ld, n, keypath(ld, ctx, "replication_factor"),
	    &t->replication_factor) < 0)
		return -1;
	n = value_of(map, "configs");
	if (n != NULL && parse_configs(ld, n, cfgctx, &t->configs) < 0)
		return -1;
	mir = n != NULL ? value_of(n, "min.insync.replicas") : NULL;
	if (mir != NULL)
		return check_min_insync(ld, &t->configs, t->replication_factor,
		    mir, cfgctx, "");
	n = value_of(map, "replication_factor");
	return check_min_insync(ld, &t->configs, t->replication_factor,
	    n != NULL ? n : map, ctx, " (from defaults.configs)");
}

static int
parse_topics(struct mf_load *ld, const struct ytree_node *seq)
{
	size_t i;

	if (seq == NULL)
		return 0;
	if (expect_kind(ld, seq, YTREE_NODE_SEQUENCE, "topics") < 0)
		return -1;
	if (seq->count == 0)
		return 0;
	ld->m->topics = calloc(seq->count, sizeof(*ld->m->topics));
	if (ld->m->topics == NULL)
		return err_set(ld->e, EXIT_OSERR, "out of memory");
	for (i = 0; i < seq->count; i++) {
		/* Counted first: manifest_free releases its configs. */
		ld->m->ntopics++;
		if (parse_topic(ld, seq->items[i], i) < 0)
			return -1;
	}
	return 0;
}

static int
parse_root(struct mf_load *ld, const struct ytree_node *root)
{
	static const struct keydef keys[] = {
		{ "cluster", true }, { "controller", true },
		{ "defaults", false }, { "brokers", true }, { "topics", false },
		{ NULL, false },
	};
	struct manifest *m = ld->m;
	int16_t rf3;

	if (root == NULL)
		return fail(ld, NULL, "empty manifest: expected cluster, "
		    "controller and brokers");
	if (expect_kind(ld, root, YTREE_NODE_MAPPING, "manifest") < 0 ||
	    check_keys(ld, root, "", keys) < 0 ||
	    parse_cluster(ld, root) < 0 ||
	    parse_controller(ld, value_of(root, "controller")) < 0 ||
	    parse_brokers(ld, value_of(root, "brokers")) < 0)
		return -1;
	/* Defaults need the broker count; topics need the defaults. */
	rf3 = (int16_t)(m->nbrokers < 3 ? m->nbrokers : 3);
	m->default_partitions = 1;
	m->default_replication_factor = rf3;
	m->offsets_topic_partitions = 50;
	m->offsets_topic_replication_factor = rf3;
	if (parse_defaults(ld, value_of(root, "defaults")) < 0)
		return -1;
	return parse_topics(ld, value_of(root, "topics"));
}

static int
manifest_from_doc(const struct ytree_doc *doc, const char *path,
    struct manifest **out, struct err *e)
{
	struct mf_load ld;
	struct manifest *m;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	tconf_init(&m->default_configs);
	if ((size_t)snprintf(m->path, sizeof(m->path), "%s", path) >=
	    sizeof(m->path)) {
		free(m);
		return err_set(e, EXIT_CONFIG, "manifest path is too long");
	}
	memset(&ld, 0, sizeof(ld));
	ld.doc = doc;
	ld.m = m;
	ld.e = e;
	if (parse_root(&ld, doc->root) < 0) {
		manifest_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int
manifest_load_string(const char *name, const char *text, size_t len,
    struct manifest **out, struct err *e)
{
	struct ytree_doc *doc;
	int rc;

	if (ytree_load_string(name, text, len, &doc, e) < 0)
		return -1;
	rc = manifest_from_doc(doc, name, out, e);
	ytree_doc_free(doc);
	return rc;
}

int
manifest_load(const char *path, struct manifest **out, struct err *e)
{
	struct ytree_doc *doc;
	int rc;

	if (ytree_load_file(path, MANIFEST_MAX_BYTES, &doc, e) < 0) {
		/* Too large is the manifest's fault, not the data's. */
		if (e != NULL && e->code == EXIT_DATAERR)
			e->code = EXIT_CONFIG;
		return -1;
	}
	rc = manifest_from_doc(doc, path, out, e);
	ytree_doc_free(doc);
	return rc;
}

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ntopics; i++)
		tconf_release(&m->topics[i].configs);
	tconf_release(&m->default_configs);
	free(m->topics);
	free(m->brokers);
	free(m);
}

const struct manifest_broker *
manifest_broker(const struct manifest *m, int32_t id)
{
	size_t i;

	for (i = 0; i < m->nbrokers; i++)
		if (m->brokers[i].id == id)
			return &m->brokers[i];
	return NULL;
}

const struct manifest_topic *
manifest_topic(const struct manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ntopics; i++)
		if (strcmp(m->topics[i].name, name) == 0)
			return &m->topics[i];
	return NULL;
}
