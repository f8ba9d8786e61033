/* SPDX-License-Identifier: MIT */
/*
 * Client properties (see kconf.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kconf.h"
#include "opt.h"
#include "util.h"
#include "banned.h"

#define KCONF_FILE_MAX (1 << 20)

const char *const kconf_common_keys[] = {
	"bootstrap.servers", "metadata.broker.list", "client.id",
	"request.timeout.ms", "socket.connection.setup.timeout.ms",
	"retry.backoff.ms", NULL
};

void
kconf_init(struct kconf *c, const char *const *tool_keys)
{
	memset(c, 0, sizeof(*c));
	c->keys = tool_keys;
}

void
kconf_release(struct kconf *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].origin);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

static bool
key_in(const char *const *keys, const char *key)
{
	size_t i;

	for (i = 0; keys != NULL && keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

static struct kconf_entry *
find(const struct kconf *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return &c->v[i];
	return NULL;
}

int
kconf_set(struct kconf *c, const char *key, const char *value,
    const char *origin, struct err *e)
{
	struct kconf_entry *x;
	char *v, *o;

	if (!key_in(kconf_common_keys, key) && !key_in(c->keys, key))
		return err_set(e, EXIT_CONFIG, "%s: unknown property '%s'",
		    origin, key);
	v = strdup(value);
	o = strdup(origin);
	if (v == NULL || o == NULL) {
		free(v);
		free(o);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	x = find(c, key);
	if (x == NULL) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			struct kconf_entry *g = realloc(c->v, cap * sizeof(*g));

			if (g == NULL) {
				free(v);
				free(o);
				return err_set(e, EXIT_OSERR, "out of memory");
			}
			c->v = g;
			c->cap = cap;
		}
		x = &c->v[c->n++];
		x->key = strdup(key);
		if (x->key == NULL) {
			c->n--;
			free(v);
			free(o);
			return err_set(e, EXIT_OSERR, "out of memory");
		}
	} else {
		free(x->value);
		free(x->origin);
	}
	x->value = v;
	x->origin = o;
	return 0;
}

int
kconf_set_arg(struct kconf *c, const char *kv, struct err *e)
{
	const char *eq = strchr(kv, '=');
	char key[128];

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return err_set(e, EXIT_USAGE, "-X: expected key=value, got '%s'",
		    kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return kconf_set(c, key, eq + 1, "-X", e);
}

/* Trim spaces at both ends in place. */
static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int
load_file(struct kconf *c, const char *path, struct err *e)
{
	char *text, *line, *next;
	int lineno = 0, rc = 0;

	if (file_read_all(path, KCONF_FILE_MAX, &text, NULL, e) < 0)
		return -1;
	for (line = text; rc == 0 && line != NULL && *line != '\0';
	    line = next) {
		char origin[PATH_MAX + 16], *eq, *key;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		eq = strchr(line, '=');
		if (eq == NULL) {
			rc = err_set(e, EXIT_CONFIG, "%s: expected key=value",
			    origin);
			break;
		}
		*eq = '\0';
		key = trim(line);
		/* -X given earlier on the command line wins. */
		if (find(c, key) != NULL && strcmp(find(c, key)->origin,
		    "-X") == 0)
			continue;
		rc = kconf_set(c, key, trim(eq + 1), origin, e);
	}
	free(text);
	return rc;
}

int
kconf_load(struct kconf *c, const char *path, struct err *e)
{
	const char *env = getenv("KLOG_CONFIG"), *home;
	char def[PATH_MAX];

	if (path != NULL)
		return load_file(c, path, e);
	if (env != NULL && *env != '\0')
		return load_file(c, env, e);
	home = getenv("HOME");
	if (home == NULL || (size_t)snprintf(def, sizeof(def),
	    "%s/.config/klog.conf", home) >= sizeof(def) ||
	    access(def, F_OK) != 0)
		return 0;
	return load_file(c, def, e);
}

const char *
kconf_get(const struct kconf *c, const char *key)
{
	const struct kconf_entry *x = find(c, key);

	return x ? x->value : NULL;
}

int
kconf_i64(const struct kconf *c, const char *key, int64_t def, int64_t min,
    int64_t max, int64_t *out, struct err *e)
{
	const struct kconf_entry *x = find(c, key);

	if (x == NULL) {
		*out = def;
		return 0;
	}
	if (opt_parse_i64(key, x->value, min, max, out, e) < 0) {
		e->code = EXIT_CONFIG;
		return err_wrap(e, "%s", x->origin);
	}
	return 0;
}

int
kconf_bool(const struct kconf *c, const char *key, bool def, bool *out,
    struct err *e)
{
	const struct kconf_entry *x = find(c, key);

	if (x == NULL)
		*out = def;
	else if (strcmp(x->value, "true") == 0)
		*out = true;
	else if (strcmp(x->value, "false") == 0)
		*out = false;
	else
		return err_set(e, EXIT_CONFIG, "%s: %s: expected true or false, "
		    "got '%s'", x->origin, key, x->value);
	return 0;
}

int
kconf_client(const struct kconf *c, const char *brokers_flag,
    const char *default_client_id, struct kcl_config *out, struct err *e)
{
	const char *env = getenv("KLOG_BROKERS"), *id;
	int64_t v;

	kcl_config_init(out);
	if (brokers_flag != NULL)
		out->bootstrap = brokers_flag;
	else if (env != NULL && *env != '\0')
		out->bootstrap = env;
	else if (kconf_get(c, "bootstrap.servers") != NULL)
		out->bootstrap = kconf_get(c, "bootstrap.servers");
	else
		out->bootstrap = kconf_get(c, "metadata.broker.list");
	if (out->bootstrap == NULL)
		return err_set(e, EXIT_USAGE, "no brokers given: use -b "
		    "host:port, KLOG_BROKERS or bootstrap.servers");
	id = kconf_get(c, "client.id");
	out->client_id = id ? id : default_client_id;
	if (kconf_i64(c, "request.timeout.ms", 30000, 1, INT32_MAX, &v, e) < 0)
		return -1;
	out->request_timeout_ms = (int)v;
	if (kconf_i64(c, "socket.connection.setup.timeout.ms", 5000, 1,
	    INT32_MAX, &v, e) < 0)
		return -1;
	out->connect_timeout_ms = (int)v;
	if (kconf_i64(c, "retry.backoff.ms", 100, 0, INT32_MAX, &v, e) < 0)
		return -1;
	out->retry_backoff_ms = (int)v;
	return 0;
}

void
kconf_dump(const struct kconf *c, FILE *f)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		fprintf(f, "%s=%s\n", c->v[i].key, c->v[i].value);
}
