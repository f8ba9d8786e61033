/* SPDX-License-Identifier: MIT */
/*
 * Client properties for kprod, kcons and kgroups, in the style of kcat and
 * librdkafka: key=value pairs from a config file (-F, else $KLOG_CONFIG,
 * else ~/.config/klog.conf when it exists) overridden by -X options, with
 * -b or $KLOG_BROKERS for the brokers. Each tool names the keys it
 * accepts, so a typo is an error instead of a silent default.
 *
 * Ownership: a struct kconf owns its strings; kconf_release() frees them.
 */
#ifndef KLOG_KCONF_H
#define KLOG_KCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "err.h"

struct kconf_entry {
	char *key;
	char *value;
	char *origin;		/* "-X", or "file:line" */
};

struct kconf {
	struct kconf_entry *v;
	size_t n, cap;
	const char *const *keys;	/* accepted keys, NULL-terminated */
};

/* Keys every tool accepts (the client core's). */
extern const char *const kconf_common_keys[];

/*
 * Start a set accepting `tool_keys` (NULL-terminated) plus the common
 * ones.
 */
void kconf_init(struct kconf *c, const char *const *tool_keys);
void kconf_release(struct kconf *c);

/* Set "key=value" (from -X); EXIT_CONFIG names the key when unknown. */
int kconf_set_arg(struct kconf *c, const char *kv, struct err *e);
int kconf_set(struct kconf *c, const char *key, const char *value,
    const char *origin, struct err *e);

/*
 * Load `path` (key=value lines, '#' comments). With path NULL, load
 * $KLOG_CONFIG or ~/.config/klog.conf if either exists. Values already
 * set (by -X) win over the file. EXIT_NOINPUT for a missing -F file,
 * EXIT_CONFIG "file:line: ..." for a bad line or key.
 */
int kconf_load(struct kconf *c, const char *path, struct err *e);

const char *kconf_get(const struct kconf *c, const char *key);
/* Typed reads with a default; a bad value is EXIT_CONFIG naming the key. */
int kconf_i64(const struct kconf *c, const char *key, int64_t def,
    int64_t min, int64_t max, int64_t *out, struct err *e);
int kconf_bool(const struct kconf *c, const char *key, bool def, bool *out,
    struct err *e);

/*
 * Fill the client core's settings: brokers from `brokers_flag` (-b), else
 * $KLOG_BROKERS, else bootstrap.servers; client.id, request.timeout.ms,
 * socket.connection.setup.timeout.ms, retry.backoff.ms. The strings stay
 * owned by `c` (or the caller for the flag).
 */
int kconf_client(const struct kconf *c, const char *brokers_flag,
    const char *default_client_id, struct kcl_config *out, struct err *e);

/* Print the effective properties as key=value (for -X dump). */
void kconf_dump(const struct kconf *c, FILE *f);

#endif
