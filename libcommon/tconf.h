/* SPDX-License-Identifier: MIT */
/*
 * Topic configuration: the per-topic settings klog honours, under Kafka's
 * names, with their types, defaults, the broker-level key that supplies a
 * cluster-wide default, and validation. A topic stores only its overrides;
 * the effective value is override, else broker default, else built-in.
 */
#ifndef KLOG_TCONF_H
#define KLOG_TCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum tconf_id {
	TCONF_CLEANUP_POLICY,
	TCONF_DELETE_RETENTION_MS,
	TCONF_FLUSH_MESSAGES,
	TCONF_FLUSH_MS,
	TCONF_INDEX_INTERVAL_BYTES,
	TCONF_MAX_MESSAGE_BYTES,
	TCONF_MESSAGE_TIMESTAMP_TYPE,
	TCONF_MIN_CLEANABLE_DIRTY_RATIO,
	TCONF_MIN_INSYNC_REPLICAS,
	TCONF_RETENTION_BYTES,
	TCONF_RETENTION_MS,
	TCONF_SEGMENT_BYTES,
	TCONF_SEGMENT_INDEX_BYTES,
	TCONF_SEGMENT_MS,
	TCONF_UNCLEAN_LEADER_ELECTION_ENABLE,
	TCONF_COUNT
};

enum tconf_type {
	TCONF_TYPE_LONG,
	TCONF_TYPE_INT,
	TCONF_TYPE_BOOLEAN,
	TCONF_TYPE_STRING,	/* one of `allowed` */
	TCONF_TYPE_LIST,	/* comma-separated subset of `allowed` */
	TCONF_TYPE_DOUBLE
};

struct tconf_def {
	enum tconf_id id;
	const char *name;		/* topic-level name */
	const char *broker_name;	/* broker-level default's name */
	enum tconf_type type;
	const char *default_value;
	int64_t min, max;		/* LONG and INT */
	const char *allowed;		/* STRING and LIST: "a,b,c" */
	const char *doc;		/* one line, for describe output */
};

const struct tconf_def *tconf_def(enum tconf_id id);
/* Look up by topic-level name, or by broker-level name when `broker`. */
const struct tconf_def *tconf_find(const char *name, bool broker);

/* Check `value` against the definition; EXIT_CONFIG "name: why" on error. */
int tconf_validate(const struct tconf_def *d, const char *value,
    struct err *e);

/*
 * A set of values indexed by tconf_id; NULL means unset. The set owns its
 * strings (tconf_release frees them).
 */
struct tconf {
	char *values[TCONF_COUNT];
};

void tconf_init(struct tconf *c);
void tconf_release(struct tconf *c);
/* Validate and set (replacing any earlier value); -1 with e on bad values. */
int tconf_set(struct tconf *c, const char *name, const char *value,
    struct err *e);
int tconf_copy(struct tconf *dst, const struct tconf *src);

/*
 * Where an effective value comes from, as DescribeConfigs reports it.
 */
enum tconf_source {
	TCONF_SOURCE_TOPIC = 1,		/* DYNAMIC_TOPIC_CONFIG */
	TCONF_SOURCE_BROKER = 4,	/* STATIC_BROKER_CONFIG */
	TCONF_SOURCE_DEFAULT = 5	/* DEFAULT_CONFIG */
};

/* The effective string value: topic override, broker default, built-in. */
const char *tconf_value(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id, enum tconf_source *source);
int64_t tconf_i64(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id);
bool tconf_bool(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id);
double tconf_double(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id);
/* Whether a LIST value contains `word` (cleanup.policy has "compact"). */
bool tconf_has(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id, const char *word);

/* Serialise overrides as "name=value\n" lines, and parse them back. */
char *tconf_format(const struct tconf *c);
int tconf_parse(struct tconf *c, const char *text, const char *origin,
    struct err *e);

#endif
