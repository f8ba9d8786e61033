/* SPDX-License-Identifier: MIT */
/*
 * Topic configuration table and values (see tconf.h). Defaults are
 * Kafka's, so a topic behaves as an operator who knows Kafka expects.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tconf.h"
#include "banned.h"

#define LMAX INT64_MAX
#define IMAX INT32_MAX

static const struct tconf_def defs[TCONF_COUNT] = {
	{ TCONF_CLEANUP_POLICY, "cleanup.policy", "log.cleanup.policy",
	  TCONF_TYPE_LIST, "delete", 0, 0, "delete,compact",
	  "delete old segments, compact to the latest value per key, or both" },
	{ TCONF_DELETE_RETENTION_MS, "delete.retention.ms",
	  "log.cleaner.delete.retention.ms", TCONF_TYPE_LONG, "86400000", 0,
	  LMAX, NULL, "how long compaction keeps tombstones" },
	{ TCONF_FLUSH_MESSAGES, "flush.messages", "log.flush.interval.messages",
	  TCONF_TYPE_LONG, "9223372036854775807", 1, LMAX, NULL,
	  "fsync after this many records" },
	{ TCONF_FLUSH_MS, "flush.ms", "log.flush.interval.ms", TCONF_TYPE_LONG,
	  "9223372036854775807", 0, LMAX, NULL,
	  "fsync after this many milliseconds" },
	{ TCONF_INDEX_INTERVAL_BYTES, "index.interval.bytes",
	  "log.index.interval.bytes", TCONF_TYPE_INT, "4096", 0, IMAX, NULL,
	  "bytes between offset index entries" },
	{ TCONF_MAX_MESSAGE_BYTES, "max.message.bytes", "message.max.bytes",
	  TCONF_TYPE_INT, "1048588", 0, IMAX, NULL,
	  "largest record batch accepted" },
	{ TCONF_MESSAGE_TIMESTAMP_TYPE, "message.timestamp.type",
	  "log.message.timestamp.type", TCONF_TYPE_STRING, "CreateTime", 0, 0,
	  "CreateTime,LogAppendTime", "producer's or broker's timestamps" },
	{ TCONF_MIN_CLEANABLE_DIRTY_RATIO, "min.cleanable.dirty.ratio",
	  "log.cleaner.min.cleanable.ratio", TCONF_TYPE_DOUBLE, "0.5", 0, 0,
	  NULL, "dirty share of the log that triggers compaction" },
	{ TCONF_MIN_INSYNC_REPLICAS, "min.insync.replicas",
	  "min.insync.replicas", TCONF_TYPE_INT, "1", 1, IMAX, NULL,
	  "in-sync replicas an acks=all write needs" },
	{ TCONF_RETENTION_BYTES, "retention.bytes", "log.retention.bytes",
	  TCONF_TYPE_LONG, "-1", -1, LMAX, NULL,
	  "partition size above which old segments go (-1: no limit)" },
	{ TCONF_RETENTION_MS, "retention.ms", "log.retention.ms",
	  TCONF_TYPE_LONG, "604800000", -1, LMAX, NULL,
	  "age after which old segments go (-1: no limit)" },
	{ TCONF_SEGMENT_BYTES, "segment.bytes", "log.segment.bytes",
	  TCONF_TYPE_INT, "1073741824", 14, IMAX, NULL,
	  "segment file size that triggers a roll" },
	{ TCONF_SEGMENT_INDEX_BYTES, "segment.index.bytes",
	  "log.index.size.max.bytes", TCONF_TYPE_INT, "10485760", 4096, IMAX,
	  NULL, "preallocated size of each offset index" },
	{ TCONF_SEGMENT_MS, "segment.ms", "log.roll.ms", TCONF_TYPE_LONG,
	  "604800000", 1, LMAX, NULL, "segment age that triggers a roll" },
	{ TCONF_UNCLEAN_LEADER_ELECTION_ENABLE, "unclean.leader.election.enable",
	  "unclean.leader.election.enable", TCONF_TYPE_BOOLEAN, "false", 0, 0,
	  NULL, "allow a replica outside the ISR to become leader" },
};

const struct tconf_def *
tconf_def(enum tconf_id id)
{
	return (unsigned)id < TCONF_COUNT ? &defs[id] : NULL;
}

const struct tconf_def *
tconf_find(const char *name, bool broker)
{
	size_t i;

	for (i = 0; i < TCONF_COUNT; i++)
		if (strcmp(broker ? defs[i].broker_name : defs[i].name,
		    name) == 0)
			return &defs[i];
	return NULL;
}

/* Whether the comma-separated list `allowed` contains [w, w+n). */
static bool
word_allowed(const char *allowed, const char *w, size_t n)
{
	const char *p = allowed;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && strncmp(p, w, n) == 0)
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}

int
tconf_validate(const struct tconf_def *d, const char *value, struct err *e)
{
	char *end;
	const char *p;

	switch (d->type) {
	case TCONF_TYPE_LONG:
	case TCONF_TYPE_INT: {
		long long v;

		/*
		 * strtoll would skip leading white space, newlines included,
		 * and tconf_format would then write a line tconf_parse refuses.
		 */
		errno = 0;
		v = strtoll(value, &end, 10);
		if (*value == '\0' || isspace((unsigned char)*value) ||
		    *end != '\0' || errno == ERANGE)
			return err_set(e, EXIT_CONFIG,
			    "%s: expected a whole number, got '%s'", d->name,
			    value);
		if (v < d->min || v > d->max)
			return err_set(e, EXIT_CONFIG,
			    "%s: %s is out of range [%" PRId64 ", %" PRId64 "]",
			    d->name, value, d->min, d->max);
		return 0;
	}
	case TCONF_TYPE_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (*value == '\0' || isspace((unsigned char)*value) ||
		    *end != '\0' || errno == ERANGE ||
		    !(v >= 0.0 && v <= 1.0))
			return err_set(e, EXIT_CONFIG,
			    "%s: expected a number from 0 to 1, got '%s'",
			    d->name, value);
		return 0;
	}
	case TCONF_TYPE_BOOLEAN:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return err_set(e, EXIT_CONFIG,
			    "%s: expected true or false, got '%s'", d->name,
			    value);
		return 0;
	case TCONF_TYPE_STRING:
		if (!word_allowed(d->allowed, value, strlen(value)))
			return err_set(e, EXIT_CONFIG,
			    "%s: '%s' is not one of %s", d->name, value,
			    d->allowed);
		return 0;
	case TCONF_TYPE_LIST:
		p = value;
		for (;;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);

			if (!word_allowed(d->allowed, p, n))
				return err_set(e, EXIT_CONFIG,
				    "%s: '%s' is not a list of %s", d->name,
				    value, d->allowed);
			if (comma == NULL)
				break;
			p = comma + 1;
		}
		return 0;
	}
	return err_set(e, EXIT_SOFTWARE, "%s: unknown type", d->name);
}

void
tconf_init(struct tconf *c)
{
	memset(c, 0, sizeof(*c));
}

void
tconf_release(struct tconf *c)
{
	size_t i;

	for (i = 0; i < TCONF_COUNT; i++) {
		free(c->values[i]);
		c->values[i] = NULL;
	}
}

int
tconf_set(struct tconf *c, const char *name, const char *value,
    struct err *e)
{
	const struct tconf_def *d = tconf_find(name, false);
	char *copy;

	if (d == NULL)
		return err_set(e, EXIT_CONFIG, "unknown topic config '%s'", name);
	if (tconf_validate(d, value, e) < 0)
		return -1;
	copy = strdup(value);
	if (copy == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	free(c->values[d->id]);
	c->values[d->id] = copy;
	return 0;
}

int
tconf_copy(struct tconf *dst, const struct tconf *src)
{
	size_t i;

	tconf_init(dst);
	for (i = 0; i < TCONF_COUNT; i++) {
		if (src->values[i] == NULL)
			continue;
		dst->values[i] = strdup(src->values[i]);
		if (dst->values[i] == NULL) {
			tconf_release(dst);
			return -1;
		}
	}
	return 0;
}

const char *
tconf_value(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id, enum tconf_source *source)
{
	enum tconf_source src = TCONF_SOURCE_DEFAULT;
	const char *v = defs[id].default_value;

	if (topic != NULL && topic->values[id] != NULL) {
		v = topic->values[id];
		src = TCONF_SOURCE_TOPIC;
	} else if (broker != NULL && broker->values[id] != NULL) {
		v = broker->values[id];
		src = TCONF_SOURCE_BROKER;
	}
	if (source != NULL)
		*source = src;
	return v;
}

int64_t
tconf_i64(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id)
{
	return strtoll(tconf_value(topic, broker, id, NULL), NULL, 10);
}

bool
tconf_bool(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id)
{
	return strcmp(tconf_value(topic, broker, id, NULL), "true") == 0;
}

double
tconf_double(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id)
{
	return strtod(tconf_value(topic, broker, id, NULL), NULL);
}

bool
tconf_has(const struct tconf *topic, const struct tconf *broker,
    enum tconf_id id, const char *word)
{
	return word_allowed(tconf_value(topic, broker, id, NULL), word,
	    strlen(word));
}

char *
tconf_format(const struct tconf *c)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < TCONF_COUNT; i++)
		if (c->values[i] != NULL)
			buf_printf(&b, "%s=%s\n", defs[i].name, c->values[i]);
	buf_putc(&b, '\0');
	if (b.failed) {
		buf_release(&b);
		return NULL;
	}
	return (char *)b.data;
}

int
tconf_parse(struct tconf *c, const char *text, const char *origin,
    struct err *e)
{
	const char *line = text;
	int lineno = 0;

	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512], *eq;

		lineno++;
		if (len == 0 || line[0] == '#')
			goto next;
		if (len >= sizeof(buf))
			return err_set(e, EXIT_CONFIG, "%s:%d: line too long",
			    origin, lineno);
		memcpy(buf, line, len);
		buf[len] = '\0';
		eq = strchr(buf, '=');
		if (eq == NULL)
			return err_set(e, EXIT_CONFIG,
			    "%s:%d: expected name=value", origin, lineno);
		*eq = '\0';
		if (tconf_set(c, buf, eq + 1, e) < 0)
			return err_wrap(e, "%s:%d", origin, lineno);
next:
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return 0;
}
