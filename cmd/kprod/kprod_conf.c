/* SPDX-License-Identifier: MIT */
/*
 * kprod's client properties: the keys it accepts (Kafka and librdkafka
 * names, each with its alias), their defaults, and their resolution into
 * struct kp_cfg. When both a key and its alias are set, the key wins.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kprod.h"
#include "banned.h"

struct prop {
	const char *key;
	const char *alias;
	const char *def;
	const char *what;
};

static const struct prop props[] = {
	{ "acks", "request.required.acks", "all",
	  "0, 1 or all (-1): replicas that must have a batch" },
	{ "allow.auto.create.topics", NULL, "true",
	  "ask the broker to create a missing topic" },
	{ "batch.num.messages", NULL, "1000000", "most records in one batch" },
	{ "batch.size", NULL, "1000000",
	  "largest batch in bytes, before compression" },
	{ "buffer.memory", NULL, "33554432",
	  "bytes held (unacknowledged) before input reading pauses" },
	{ "compression.level", NULL, "-1", "codec level (-1: its default)" },
	{ "compression.type", "compression.codec", "none",
	  "none, gzip, snappy, lz4 or zstd" },
	{ "delivery.timeout.ms", "message.timeout.ms", "120000",
	  "time a record may take to be acknowledged, retries included" },
	{ "enable.idempotence", NULL, "true",
	  "exactly-once per partition (with acks=all; see kprod(1))" },
	{ "linger.ms", "queue.buffering.max.ms", "5",
	  "how long a batch waits for more records" },
	{ "max.in.flight.requests.per.connection", "max.in.flight", "5",
	  "requests sent and not yet answered, per broker" },
	{ "message.max.bytes", "max.request.size", "1048576",
	  "largest record and Produce request in bytes" },
	{ "metadata.max.age.ms", "topic.metadata.refresh.interval.ms",
	  "300000", "metadata refresh interval" },
	{ "partitioner", NULL, "murmur2",
	  "murmur2, crc32 (consistent), random or roundrobin" },
	{ "queue.buffering.max.kbytes", NULL, "32768",
	  "buffer.memory in KiB (librdkafka's name)" },
	{ "queue.buffering.max.messages", NULL, "1000000",
	  "records held before input reading pauses" },
	{ "retries", "message.send.max.retries", "2147483647",
	  "resends of a batch after a retriable error" },
	{ "retry.backoff.max.ms", NULL, "1000",
	  "upper bound of the exponential retry backoff" },
};

/* Every key kprod accepts besides kconf's common ones, NULL-terminated. */
const char *const kp_conf_keys[] = {
	"acks", "request.required.acks", "allow.auto.create.topics",
	"batch.num.messages", "batch.size", "buffer.memory",
	"compression.level", "compression.type", "compression.codec",
	"delivery.timeout.ms", "message.timeout.ms", "enable.idempotence",
	"linger.ms", "queue.buffering.max.ms",
	"max.in.flight.requests.per.connection", "max.in.flight",
	"message.max.bytes", "max.request.size", "metadata.max.age.ms",
	"topic.metadata.refresh.interval.ms", "partitioner",
	"queue.buffering.max.kbytes", "queue.buffering.max.messages",
	"retries", "message.send.max.retries", "retry.backoff.max.ms", NULL
};

static const struct {
	const char *name;
	enum kp_partitioner p;
} partitioners[] = {
	{ "murmur2", KP_PART_MURMUR2 },
	{ "murmur2_random", KP_PART_MURMUR2 },
	{ "crc32", KP_PART_CRC32 },
	{ "consistent", KP_PART_CRC32 },
	{ "random", KP_PART_RANDOM },
	{ "roundrobin", KP_PART_ROUNDROBIN },
};

const char *
kp_partitioner_name(enum kp_partitioner p)
{
	switch (p) {
	case KP_PART_MURMUR2:
		return "murmur2";
	case KP_PART_CRC32:
		return "crc32";
	case KP_PART_RANDOM:
		return "random";
	case KP_PART_ROUNDROBIN:
		return "roundrobin";
	}
	return "?";
}

int
kp_partitioner_parse(const char *s, enum kp_partitioner *out)
{
	size_t i;

	for (i = 0; i < sizeof(partitioners) / sizeof(partitioners[0]); i++)
		if (strcmp(s, partitioners[i].name) == 0) {
			*out = partitioners[i].p;
			return 0;
		}
	return -1;
}

/* The key of the pair that is set (the key itself wins), or the key. */
static const char *
which(const struct kconf *c, const char *key, const char *alias)
{
	if (kconf_get(c, key) == NULL && alias != NULL &&
	    kconf_get(c, alias) != NULL)
		return alias;
	return key;
}

static int
get_i64(const struct kconf *c, const char *key, const char *alias,
    int64_t def, int64_t min, int64_t max, int64_t *out, struct err *e)
{
	return kconf_i64(c, which(c, key, alias), def, min, max, out, e);
}

static int
parse_acks(const struct kconf *c, int16_t *out, struct err *e)
{
	const char *key = which(c, "acks", "request.required.acks");
	const char *v = kconf_get(c, key);

	if (v == NULL || strcmp(v, "all") == 0 || strcmp(v, "-1") == 0)
		*out = -1;
	else if (strcmp(v, "0") == 0)
		*out = 0;
	else if (strcmp(v, "1") == 0)
		*out = 1;
	else
		return err_set(e, EXIT_CONFIG, "%s: expected 0, 1, all or -1, "
		    "got '%s'", key, v);
	return 0;
}

/* Apply the -a, -z and -P flags over the properties. */
static int
apply_flags(struct kp_opts *o, struct err *e)
{
	if (o->acks != NULL &&
	    kconf_set(&o->conf, "acks", o->acks, "-a", e) < 0)
		return -1;
	if (o->compression != NULL && kconf_set(&o->conf, "compression.type",
	    o->compression, "-z", e) < 0)
		return -1;
	if (o->partitioner != NULL && kconf_set(&o->conf, "partitioner",
	    o->partitioner, "-P", e) < 0)
		return -1;
	return 0;
}

static int
resolve_idempotence(const struct kconf *c, struct kp_cfg *out, struct err *e)
{
	bool explicit = kconf_get(c, "enable.idempotence") != NULL, on;

	if (kconf_bool(c, "enable.idempotence", true, &on, e) < 0)
		return -1;
	if (!on) {
		out->idempotence = KP_IDEMP_OFF;
		return 0;
	}
	if (out->acks == -1 && out->max_inflight <= 5 && out->retries > 0) {
		out->idempotence = explicit ? KP_IDEMP_REQUIRED :
		    KP_IDEMP_DEFAULT;
		return 0;
	}
	out->idempotence = KP_IDEMP_OFF;
	if (!explicit)
		return 0;
	if (out->acks != -1)
		return err_set(e, EXIT_CONFIG, "enable.idempotence=true needs "
		    "acks=all");
	if (out->retries == 0)
		return err_set(e, EXIT_CONFIG, "enable.idempotence=true needs "
		    "retries > 0");
	return err_set(e, EXIT_CONFIG, "enable.idempotence=true needs "
	    "max.in.flight.requests.per.connection <= 5");
}

int
kp_conf_resolve(struct kp_opts *o, struct kp_cfg *out, struct err *e)
{
	const struct kconf *c = &o->conf;
	const char *v;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if (kconf_load(&o->conf, o->config_file, e) < 0)
		return -1;
	if (apply_flags(o, e) < 0)
		return -1;
	if (kconf_client(c, o->brokers, "kprod", &out->client, e) < 0) {
		/* -X dump shows the properties even without brokers. */
		if (!o->dump || e->code != EXIT_USAGE ||
		    kconf_client(c, "", "kprod", &out->client, e) < 0)
			return -1;
	}
	if (parse_acks(c, &out->acks, e) < 0)
		return -1;
	v = kconf_get(c, which(c, "compression.type", "compression.codec"));
	if (v == NULL)
		out->codec = COMPRESS_NONE;
	else if (compress_codec_parse(v, &out->codec, e) < 0) {
		e->code = EXIT_CONFIG;
		return -1;
	}
	if (get_i64(c, "compression.level", NULL, -1, -1, 22, &n, e) < 0)
		return -1;
	out->level = n < 0 ? COMPRESS_LEVEL_DEFAULT : (int)n;
	if (get_i64(c, "batch.size", NULL, 1000000, 1, 1 << 30, &n, e) < 0)
		return -1;
	out->batch_size = (size_t)n;
	if (get_i64(c, "batch.num.messages", NULL, 1000000, 1, INT32_MAX,
	    &out->batch_records, e) < 0)
		return -1;
	if (get_i64(c, "linger.ms", "queue.buffering.max.ms", 5, 0, 900000,
	    &out->linger_ms, e) < 0)
		return -1;
	if (kconf_get(c, "buffer.memory") == NULL &&
	    kconf_get(c, "queue.buffering.max.kbytes") != NULL) {
		if (get_i64(c, "queue.buffering.max.kbytes", NULL, 32768, 1,
		    INT32_MAX, &n, e) < 0)
			return -1;
		n *= 1024;
	} else if (get_i64(c, "buffer.memory", NULL, 32 << 20, 1024,
	    INT64_MAX / 2, &n, e) < 0) {
		return -1;
	}
	out->buffer_bytes = (size_t)n;
	if (get_i64(c, "queue.buffering.max.messages", NULL, 1000000, 1,
	    INT64_MAX / 2, &out->buffer_records, e) < 0)
		return -1;
	if (get_i64(c, "retries", "message.send.max.retries", INT32_MAX, 0,
	    INT32_MAX, &out->retries, e) < 0)
		return -1;
	out->backoff_ms = out->client.retry_backoff_ms;
	if (get_i64(c, "retry.backoff.max.ms", NULL, 1000, 0, INT32_MAX,
	    &out->backoff_max_ms, e) < 0)
		return -1;
	if (out->backoff_max_ms < out->backoff_ms)
		out->backoff_max_ms = out->backoff_ms;
	if (get_i64(c, "delivery.timeout.ms", "message.timeout.ms", 120000, 1,
	    INT32_MAX, &out->delivery_timeout_ms, e) < 0)
		return -1;
	if (get_i64(c, "max.in.flight.requests.per.connection",
	    "max.in.flight", 5, 1, 1000, &n, e) < 0)
		return -1;
	out->max_inflight = (int)n;
	if (get_i64(c, "message.max.bytes", "max.request.size", 1048576, 1024,
	    1 << 30, &n, e) < 0)
		return -1;
	out->max_request = (size_t)n;
	if (kconf_bool(c, "allow.auto.create.topics", true, &out->auto_create,
	    e) < 0)
		return -1;
	if (get_i64(c, "metadata.max.age.ms",
	    "topic.metadata.refresh.interval.ms", 300000, 100, INT32_MAX,
	    &out->metadata_max_age_ms, e) < 0)
		return -1;
	v = kconf_get(c, "partitioner");
	out->partitioner = KP_PART_MURMUR2;
	if (v != NULL && kp_partitioner_parse(v, &out->partitioner) < 0)
		return err_set(e, EXIT_CONFIG, "partitioner: unknown "
		    "partitioner '%s' (use murmur2, crc32, random or "
		    "roundrobin)", v);
	return resolve_idempotence(c, out, e);
}

void
kp_conf_list(void)
{
	size_t i;

	printf("%-40s %-12s %s\n", "property (alias)", "default", "meaning");
	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		char name[96];

		if (props[i].alias != NULL)
			snprintf(name, sizeof(name), "%s (%s)", props[i].key,
			    props[i].alias);
		else
			snprintf(name, sizeof(name), "%s", props[i].key);
		printf("%-40s %-12s %s\n", name, props[i].def, props[i].what);
	}
	printf("%-40s %-12s %s\n", "bootstrap.servers (metadata.broker.list)",
	    "-", "brokers, host:port,... (after -b and KLOG_BROKERS)");
	printf("%-40s %-12s %s\n", "client.id", "kprod",
	    "client id sent to the brokers");
	printf("%-40s %-12s %s\n", "request.timeout.ms", "30000",
	    "time a broker has to answer a request");
	printf("%-40s %-12s %s\n", "retry.backoff.ms", "100",
	    "first retry backoff, doubled on each retry");
	printf("%-40s %-12s %s\n", "socket.connection.setup.timeout.ms",
	    "5000", "time to connect to a broker");
}

void
kp_conf_dump(const struct kp_cfg *c)
{
	const char *acks = c->acks == -1 ? "all" : c->acks == 0 ? "0" : "1";
	const char *idem = c->idempotence == KP_IDEMP_OFF ? "false" : "true";

	printf("acks=%s\n", acks);
	printf("allow.auto.create.topics=%s\n",
	    c->auto_create ? "true" : "false");
	printf("batch.num.messages=%" PRId64 "\n", c->batch_records);
	printf("batch.size=%zu\n", c->batch_size);
	printf("bootstrap.servers=%s\n", c->client.bootstrap);
	printf("buffer.memory=%zu\n", c->buffer_bytes);
	printf("client.id=%s\n", c->client.client_id);
	printf("compression.level=%d\n",
	    c->level == COMPRESS_LEVEL_DEFAULT ? -1 : c->level);
	printf("compression.type=%s\n", compress_codec_name(c->codec));
	printf("delivery.timeout.ms=%" PRId64 "\n", c->delivery_timeout_ms);
	printf("enable.idempotence=%s\n", idem);
	printf("linger.ms=%" PRId64 "\n", c->linger_ms);
	printf("max.in.flight.requests.per.connection=%d\n", c->max_inflight);
	printf("message.max.bytes=%zu\n", c->max_request);
	printf("metadata.max.age.ms=%" PRId64 "\n", c->metadata_max_age_ms);
	printf("partitioner=%s\n", kp_partitioner_name(c->partitioner));
	printf("queue.buffering.max.messages=%" PRId64 "\n", c->buffer_records);
	printf("request.timeout.ms=%d\n", c->client.request_timeout_ms);
	printf("retries=%" PRId64 "\n", c->retries);
	printf("retry.backoff.max.ms=%" PRId64 "\n", c->backoff_max_ms);
	printf("retry.backoff.ms=%" PRId64 "\n", c->backoff_ms);
	printf("socket.connection.setup.timeout.ms=%d\n",
	    c->client.connect_timeout_ms);
}
