/* SPDX-License-Identifier: MIT */
/*
 * Topic configuration: the definition table (names, defaults that pass
 * their own validation), table-driven validation of every type, resolution
 * order topic > broker > default with its source, typed getters, tconf_has,
 * and the name=value serialisation round trip with file:line errors.
 */
#include <stdlib.h>
#include <string.h>

#include "tconf.h"
#include "tinytest.h"

static void
test_tconf__table(void)
{
	struct err e;
	size_t i, j;

	CHECK(tconf_def(TCONF_COUNT) == NULL);
	CHECK(tconf_def((enum tconf_id)-1) == NULL);
	for (i = 0; i < TCONF_COUNT; i++) {
		const struct tconf_def *d = tconf_def((enum tconf_id)i);

		CHECK(d != NULL && d->id == (enum tconf_id)i);
		if (d == NULL)
			continue;
		CHECKF(d->name && d->broker_name && d->default_value && d->doc,
		    "%zu", i);
		CHECKF(tconf_find(d->name, false) == d, "%s", d->name);
		CHECKF(tconf_find(d->broker_name, true) == d, "%s",
		    d->broker_name);
		err_clear(&e);
		CHECKF(tconf_validate(d, d->default_value, &e) == 0,
		    "%s default '%s': %s", d->name, d->default_value, e.msg);
		if (d->type == TCONF_TYPE_LONG || d->type == TCONF_TYPE_INT)
			CHECKF(d->min <= d->max, "%s", d->name);
		if (d->type == TCONF_TYPE_INT)
			CHECKF(d->max <= INT32_MAX && d->min >= INT32_MIN, "%s",
			    d->name);
		if (d->type == TCONF_TYPE_STRING || d->type == TCONF_TYPE_LIST)
			CHECKF(d->allowed != NULL, "%s", d->name);
		/* Names are unique, and sorted as the enum is. */
		for (j = 0; j < i; j++)
			CHECKF(strcmp(tconf_def((enum tconf_id)j)->name,
			    d->name) < 0, "%s", d->name);
	}
	CHECK(tconf_find("retention.ms", true) == NULL);
	CHECK(tconf_find("log.retention.ms", false) == NULL);
	CHECK(tconf_find("", false) == NULL);
	CHECK(tconf_find("retention.MS", false) == NULL);
	CHECK(tconf_find("message.max.bytes", true) ==
	    tconf_def(TCONF_MAX_MESSAGE_BYTES));
}

static void
test_tconf__validate(void)
{
	static const struct {
		const char *name;
		const char *value;
		int ok;
	} cases[] = {
		/* LONG with -1 meaning "no limit" */
		{ "retention.ms", "-1", 1 },
		{ "retention.ms", "0", 1 },
		{ "retention.ms", "-2", 0 },
		{ "retention.ms", "9223372036854775807", 1 },
		{ "retention.ms", "9223372036854775808", 0 },
		{ "retention.ms", "-9223372036854775809", 0 },
		{ "retention.ms", "", 0 },
		{ "retention.ms", "-", 0 },
		{ "retention.ms", "1e3", 0 },
		{ "retention.ms", "0x10", 0 },
		{ "retention.ms", "10ms", 0 },
		{ "retention.ms", "1.5", 0 },
		{ "retention.ms", "5 ", 0 },
		{ "retention.ms", " 5", 0 },
		{ "retention.ms", "\n5", 0 },
		{ "retention.ms", "\t5", 0 },
		{ "retention.bytes", "-1", 1 },
		{ "retention.bytes", "-2", 0 },
		{ "delete.retention.ms", "-1", 0 },
		{ "flush.messages", "0", 0 },
		{ "flush.messages", "1", 1 },
		{ "segment.ms", "0", 0 },
		{ "segment.ms", "1", 1 },
		/* INT */
		{ "segment.bytes", "13", 0 },
		{ "segment.bytes", "14", 1 },
		{ "segment.bytes", "2147483647", 1 },
		{ "segment.bytes", "2147483648", 0 },
		{ "segment.bytes", "-1", 0 },
		{ "segment.index.bytes", "4095", 0 },
		{ "segment.index.bytes", "4096", 1 },
		{ "min.insync.replicas", "0", 0 },
		{ "min.insync.replicas", "3", 1 },
		{ "max.message.bytes", "0", 1 },
		{ "max.message.bytes", "-1", 0 },
		{ "index.interval.bytes", "4096", 1 },
		/* LIST */
		{ "cleanup.policy", "delete", 1 },
		{ "cleanup.policy", "compact", 1 },
		{ "cleanup.policy", "compact,delete", 1 },
		{ "cleanup.policy", "delete,compact", 1 },
		{ "cleanup.policy", "compact,bogus", 0 },
		{ "cleanup.policy", "bogus", 0 },
		{ "cleanup.policy", "", 0 },
		{ "cleanup.policy", ",", 0 },
		{ "cleanup.policy", "compact,", 0 },
		{ "cleanup.policy", ",compact", 0 },
		{ "cleanup.policy", "compact,,delete", 0 },
		{ "cleanup.policy", "comp", 0 },
		{ "cleanup.policy", "compactx", 0 },
		{ "cleanup.policy", "delete,compact,x", 0 },
		{ "cleanup.policy", "Compact", 0 },
		/* STRING */
		{ "message.timestamp.type", "CreateTime", 1 },
		{ "message.timestamp.type", "LogAppendTime", 1 },
		{ "message.timestamp.type", "createtime", 0 },
		{ "message.timestamp.type", "Create", 0 },
		{ "message.timestamp.type", "CreateTime,LogAppendTime", 0 },
		{ "message.timestamp.type", "", 0 },
		/* BOOLEAN */
		{ "unclean.leader.election.enable", "true", 1 },
		{ "unclean.leader.election.enable", "false", 1 },
		{ "unclean.leader.election.enable", "1", 0 },
		{ "unclean.leader.election.enable", "yes", 0 },
		{ "unclean.leader.election.enable", "", 0 },
		{ "unclean.leader.election.enable", "truex", 0 },
		/* DOUBLE in [0, 1] */
		{ "min.cleanable.dirty.ratio", "0", 1 },
		{ "min.cleanable.dirty.ratio", "1", 1 },
		{ "min.cleanable.dirty.ratio", "0.25", 1 },
		{ "min.cleanable.dirty.ratio", "1.0001", 0 },
		{ "min.cleanable.dirty.ratio", "-0.1", 0 },
		{ "min.cleanable.dirty.ratio", "nan", 0 },
		{ "min.cleanable.dirty.ratio", "inf", 0 },
		{ "min.cleanable.dirty.ratio", "", 0 },
		{ "min.cleanable.dirty.ratio", "0.5x", 0 },
		{ "min.cleanable.dirty.ratio", " 0.5", 0 },
		{ "min.cleanable.dirty.ratio", "\n0.5", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tconf_def *d = tconf_find(cases[i].name, false);
		struct err e = { 0, "" };
		int rc;

		CHECKF(d != NULL, "%s", cases[i].name);
		if (d == NULL)
			continue;
		rc = tconf_validate(d, cases[i].value, &e);
		CHECKF((rc == 0) == cases[i].ok, "case %zu: %s='%s': rc %d %s",
		    i, cases[i].name, cases[i].value, rc, e.msg);
		if (!cases[i].ok && rc != 0) {
			/* "name: why", quoting or naming the value. */
			CHECKF(e.code == EXIT_CONFIG, "case %zu", i);
			CHECKF(strncmp(e.msg, cases[i].name,
			    strlen(cases[i].name)) == 0 &&
			    e.msg[strlen(cases[i].name)] == ':', "case %zu: %s",
			    i, e.msg);
			CHECKF(strstr(e.msg, cases[i].value) != NULL,
			    "case %zu: %s", i, e.msg);
		}
	}
}

static void
test_tconf__set(void)
{
	struct tconf c;
	struct err e = { 0, "" };

	tconf_init(&c);
	CHECK(tconf_set(&c, "retention.ms", "1000", &e) == 0);
	CHECK(c.values[TCONF_RETENTION_MS] != NULL &&
	    strcmp(c.values[TCONF_RETENTION_MS], "1000") == 0);
	/* Replacing frees the old value (LeakSanitizer checks). */
	CHECK(tconf_set(&c, "retention.ms", "2000", &e) == 0);
	CHECK(strcmp(c.values[TCONF_RETENTION_MS], "2000") == 0);
	/* A bad value leaves the old one in place. */
	CHECK(tconf_set(&c, "retention.ms", "-5", &e) == -1);
	CHECK(e.code == EXIT_CONFIG && strstr(e.msg, "out of range"));
	CHECK(strcmp(c.values[TCONF_RETENTION_MS], "2000") == 0);

	err_clear(&e);
	CHECK(tconf_set(&c, "no.such.config", "1", &e) == -1);
	CHECK(e.code == EXIT_CONFIG &&
	    strcmp(e.msg, "unknown topic config 'no.such.config'") == 0);
	/* Broker-level names are not topic configs. */
	CHECK(tconf_set(&c, "log.retention.ms", "1", &e) == -1);
	CHECK(strstr(e.msg, "'log.retention.ms'") != NULL);
	/* The set owns its copy, not the caller's string. */
	{
		char v[] = "compact";

		CHECK(tconf_set(&c, "cleanup.policy", v, &e) == 0);
		v[0] = 'X';
		CHECK(strcmp(c.values[TCONF_CLEANUP_POLICY], "compact") == 0);
	}
	tconf_release(&c);
	CHECK(c.values[TCONF_RETENTION_MS] == NULL);
	tconf_release(&c);	/* twice is harmless */
}

static void
test_tconf__resolution(void)
{
	struct tconf topic, broker;
	enum tconf_source src = 0;
	struct err e;
	const char *v;

	tconf_init(&topic);
	tconf_init(&broker);

	v = tconf_value(&topic, &broker, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "604800000") == 0 && src == TCONF_SOURCE_DEFAULT);
	v = tconf_value(NULL, NULL, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "604800000") == 0 && src == TCONF_SOURCE_DEFAULT);
	CHECK(tconf_i64(NULL, NULL, TCONF_RETENTION_MS) == 604800000);

	CHECK(tconf_set(&broker, "retention.ms", "3600000", &e) == 0);
	v = tconf_value(&topic, &broker, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "3600000") == 0 && src == TCONF_SOURCE_BROKER);
	v = tconf_value(NULL, &broker, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "3600000") == 0 && src == TCONF_SOURCE_BROKER);

	CHECK(tconf_set(&topic, "retention.ms", "-1", &e) == 0);
	v = tconf_value(&topic, &broker, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "-1") == 0 && src == TCONF_SOURCE_TOPIC);
	CHECK(tconf_i64(&topic, &broker, TCONF_RETENTION_MS) == -1);
	/* A topic override with no broker default. */
	v = tconf_value(&topic, NULL, TCONF_RETENTION_MS, &src);
	CHECK(strcmp(v, "-1") == 0 && src == TCONF_SOURCE_TOPIC);
	/* Other ids are unaffected; source may be NULL. */
	CHECK(strcmp(tconf_value(&topic, &broker, TCONF_SEGMENT_BYTES, NULL),
	    "1073741824") == 0);
	CHECK(tconf_i64(&topic, &broker, TCONF_SEGMENT_BYTES) == 1073741824);
	CHECK(tconf_i64(NULL, NULL, TCONF_FLUSH_MESSAGES) == INT64_MAX);

	/* Booleans and doubles through the same order. */
	CHECK(!tconf_bool(&topic, &broker,
	    TCONF_UNCLEAN_LEADER_ELECTION_ENABLE));
	CHECK(tconf_set(&broker, "unclean.leader.election.enable", "true",
	    &e) == 0);
	CHECK(tconf_bool(&topic, &broker,
	    TCONF_UNCLEAN_LEADER_ELECTION_ENABLE));
	CHECK(tconf_set(&topic, "unclean.leader.election.enable", "false",
	    &e) == 0);
	CHECK(!tconf_bool(&topic, &broker,
	    TCONF_UNCLEAN_LEADER_ELECTION_ENABLE));
	CHECK(tconf_double(NULL, NULL, TCONF_MIN_CLEANABLE_DIRTY_RATIO) == 0.5);
	CHECK(tconf_set(&broker, "min.cleanable.dirty.ratio", "0.25", &e) == 0);
	CHECK(tconf_double(&topic, &broker,
	    TCONF_MIN_CLEANABLE_DIRTY_RATIO) == 0.25);
	CHECK(tconf_set(&topic, "min.cleanable.dirty.ratio", "1", &e) == 0);
	CHECK(tconf_double(&topic, &broker,
	    TCONF_MIN_CLEANABLE_DIRTY_RATIO) == 1.0);

	/* tconf_has: whole words of a list value. */
	CHECK(tconf_has(NULL, NULL, TCONF_CLEANUP_POLICY, "delete"));
	CHECK(!tconf_has(NULL, NULL, TCONF_CLEANUP_POLICY, "compact"));
	CHECK(tconf_set(&broker, "cleanup.policy", "compact", &e) == 0);
	CHECK(tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "compact"));
	CHECK(!tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "delete"));
	CHECK(tconf_set(&topic, "cleanup.policy", "compact,delete", &e) == 0);
	CHECK(tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "compact"));
	CHECK(tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "delete"));
	CHECK(!tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "comp"));
	CHECK(!tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, "act,del"));
	CHECK(!tconf_has(&topic, &broker, TCONF_CLEANUP_POLICY, ""));
	CHECK(tconf_has(&topic, NULL, TCONF_CLEANUP_POLICY, "delete"));
	v = tconf_value(&topic, &broker, TCONF_CLEANUP_POLICY, &src);
	CHECK(strcmp(v, "compact,delete") == 0 && src == TCONF_SOURCE_TOPIC);

	tconf_release(&topic);
	tconf_release(&broker);
}

static void
test_tconf__format_parse(void)
{
	struct tconf a, b, c;
	struct err e = { 0, "" };
	char *text, *again;
	size_t i;

	tconf_init(&a);
	text = tconf_format(&a);
	CHECK(text != NULL && text[0] == '\0');
	free(text);

	CHECK(tconf_set(&a, "segment.bytes", "1048576", &e) == 0);
	CHECK(tconf_set(&a, "cleanup.policy", "compact,delete", &e) == 0);
	CHECK(tconf_set(&a, "retention.ms", "-1", &e) == 0);
	CHECK(tconf_set(&a, "min.cleanable.dirty.ratio", "0.1", &e) == 0);
	CHECK(tconf_set(&a, "unclean.leader.election.enable", "true", &e) == 0);
	text = tconf_format(&a);
	CHECK(text != NULL);
	if (text == NULL) {
		tconf_release(&a);
		return;
	}
	/* Table order, one name=value line each, only the overrides. */
	CHECKF(strcmp(text,
	    "cleanup.policy=compact,delete\n"
	    "min.cleanable.dirty.ratio=0.1\n"
	    "retention.ms=-1\n"
	    "segment.bytes=1048576\n"
	    "unclean.leader.election.enable=true\n") == 0, "%s", text);

	tconf_init(&b);
	CHECK(tconf_parse(&b, text, "t.conf", &e) == 0);
	for (i = 0; i < TCONF_COUNT; i++)
		CHECKF((a.values[i] == NULL && b.values[i] == NULL) ||
		    (a.values[i] && b.values[i] &&
		    strcmp(a.values[i], b.values[i]) == 0), "id %zu", i);
	again = tconf_format(&b);
	CHECK(again != NULL && strcmp(again, text) == 0);
	free(again);

	/* tconf_copy is deep and independent. */
	CHECK(tconf_copy(&c, &a) == 0);
	tconf_release(&a);
	again = tconf_format(&c);
	CHECK(again != NULL && strcmp(again, text) == 0);
	free(again);
	CHECK(tconf_set(&c, "retention.ms", "5", &e) == 0);
	CHECK(strcmp(b.values[TCONF_RETENTION_MS], "-1") == 0);
	tconf_release(&c);
	tconf_init(&a);
	CHECK(tconf_copy(&c, &a) == 0);
	for (i = 0; i < TCONF_COUNT; i++)
		CHECK(c.values[i] == NULL);
	tconf_release(&c);
	tconf_release(&b);
	free(text);

	/*
	 * Whatever tconf_set accepts must survive format/parse: a value with
	 * a leading newline once passed validation and broke the file.
	 */
	tconf_init(&a);
	CHECK(tconf_set(&a, "retention.ms", "\n5", &e) == -1);
	CHECK(tconf_set(&a, "min.cleanable.dirty.ratio", "\n0.5", &e) == -1);
	text = tconf_format(&a);
	tconf_init(&b);
	CHECK(text != NULL && tconf_parse(&b, text, "t.conf", &e) == 0);
	free(text);
	tconf_release(&b);
	tconf_release(&a);

	/* Comments, blank lines, no final newline, later lines win. */
	tconf_init(&a);
	CHECK(tconf_parse(&a,
	    "# topic overrides\n\nretention.ms=1\n#retention.ms=2\n"
	    "retention.ms=3", "t.conf", &e) == 0);
	CHECK(a.values[TCONF_RETENTION_MS] &&
	    strcmp(a.values[TCONF_RETENTION_MS], "3") == 0);
	CHECK(tconf_parse(&a, "", "t.conf", &e) == 0);
	CHECK(tconf_parse(&a, "\n\n\n", "t.conf", &e) == 0);
	/* The value is everything after the first '='. */
	CHECK(tconf_parse(&a, "cleanup.policy=compact\n", "t.conf", &e) == 0);
	tconf_release(&a);
}

static void
test_tconf__parse_malformed(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "retention.ms\n", "t.conf:1: expected name=value" },
		{ "# c\n\nbogus\n", "t.conf:3: expected name=value" },
		{ "retention.ms=1\nnope=2\n",
		  "t.conf:2: unknown topic config 'nope'" },
		{ "=5\n", "t.conf:1: unknown topic config ''" },
		{ "retention.ms=\n",
		  "t.conf:1: retention.ms: expected a whole number, got ''" },
		{ "retention.ms=-2\n", "t.conf:1: retention.ms: -2 is out of" },
		{ "retention.ms = 5\n", "t.conf:1: unknown topic config " },
		{ "retention.ms=5=6\n", "t.conf:1: retention.ms: expected a " },
		{ "cleanup.policy=delete\r\n", "t.conf:1: cleanup.policy: " },
		{ "a\nb\nc\nd\ne\nf\ng\nh\ni\nsegment.bytes=13\n", "t.conf:1: " },
		{ "\n\n\n\n\n\n\n\n\nsegment.bytes=13",
		  "t.conf:10: segment.bytes: 13 is out of range [14, " },
		{ " retention.ms=1\n", "t.conf:1: unknown topic config" },
	};
	char longline[1024];
	struct tconf c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tconf_init(&c);
		err_clear(&e);
		CHECKF(tconf_parse(&c, cases[i].text, "t.conf", &e) == -1,
		    "case %zu: accepted", i);
		CHECKF(e.code == EXIT_CONFIG, "case %zu: code %d", i, e.code);
		CHECKF(strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
		    "case %zu: got '%s', want '%s...'", i, e.msg, cases[i].msg);
		tconf_release(&c);
	}

	/* Overlong lines are refused, not truncated into something valid. */
	memset(longline, '1', sizeof(longline) - 1);
	memcpy(longline, "retention.ms=", 13);
	longline[sizeof(longline) - 1] = '\0';
	tconf_init(&c);
	CHECK(tconf_parse(&c, longline, "t.conf", &e) == -1);
	CHECKF(strcmp(e.msg, "t.conf:1: line too long") == 0, "%s", e.msg);
	tconf_release(&c);
}

int
main(void)
{
	TEST(test_tconf__table);
	TEST(test_tconf__validate);
	TEST(test_tconf__set);
	TEST(test_tconf__resolution);
	TEST(test_tconf__format_parse);
	TEST(test_tconf__parse_malformed);
	TEST_DONE();
}
