/* SPDX-License-Identifier: MIT */
/*
 * logd configuration: built-in defaults, then the broker's section of the
 * cluster manifest (-m), then the YAML file (a flat mapping of Kafka-style
 * broker keys), then each `-o key=value`, then the dedicated flags
 * (--data-dir, --listen, ...). Unknown keys and bad values are errors
 * naming file:line:col or the flag. A `controller` (from either source)
 * turns on cluster mode, where ctrld owns the topics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "manifest.h"
#include "opt.h"
#include "ytree.h"
#include "banned.h"

#define CONFIG_MAX_BYTES (1 << 20)

void
logd_config_init(struct logd_config *cfg)
{
	struct err e;

	memset(cfg, 0, sizeof(*cfg));
	cfg->broker_id = 0;
	net_addr_parse("127.0.0.1:9092", 0, &cfg->listen, &e);
	cfg->num_partitions = 1;
	cfg->default_replication_factor = 1;
	cfg->auto_create_topics = true;
	cfg->delete_topic_enable = true;
	cfg->retention_check_interval_ms = 300000;
	cfg->socket_request_max_bytes = 104857600;
	cfg->connections_max_idle_ms = 600000;
	cfg->max_connections = 10000;
	cfg->shutdown_timeout_ms = 30000;
	cfg->max_conn_output_bytes = 64 << 20;
	cfg->offsets_topic_partitions = 50;
	cfg->group_initial_delay_ms = 3000;
	cfg->group_min_session_ms = 6000;
	cfg->group_max_session_ms = 1800000;
	cfg->offsets_retention_ms = 7 * 24 * 3600 * 1000LL;
	cfg->offset_metadata_max_bytes = 4096;
	cfg->replica_lag_time_max_ms = 10000;
	cfg->cleaner_io_bytes_per_sec = 0;
	cfg->cleaner_dedupe_buffer_bytes = 128 << 20;
	cfg->heartbeat_interval_ms = 500;
	cfg->controlled_shutdown_timeout_ms = 10000;
	tconf_init(&cfg->topic_defaults);
}

void
logd_config_release(struct logd_config *cfg)
{
	tconf_release(&cfg->topic_defaults);
}

static int
parse_bool(const char *key, const char *v, bool *out, struct err *e)
{
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return err_set(e, EXIT_CONFIG, "%s: expected true or false, got '%s'",
		    key, v);
	return 0;
}

static int
parse_num(const char *key, const char *v, int64_t min, int64_t max,
    int64_t *out, struct err *e)
{
	if (opt_parse_i64(key, v, min, max, out, e) < 0) {
		e->code = EXIT_CONFIG;
		return -1;
	}
	return 0;
}

/*
 * Kafka's hours/minutes spellings of retention and roll times, turned into
 * the ms key. The ms key wins when both are given, as in Kafka, so the
 * coarse ones only fill an unset value.
 */
static int
set_coarse_time(struct logd_config *cfg, const char *key, const char *v,
    const char *ms_key, int64_t unit_ms, struct err *e)
{
	const struct tconf_def *d = tconf_find(ms_key, true);
	char ms[32];
	int64_t n;

	if (parse_num(key, v, -1, INT64_MAX / unit_ms, &n, e) < 0)
		return -1;
	if (cfg->topic_defaults.values[d->id] != NULL)
		return 0;
	snprintf(ms, sizeof(ms), "%" PRId64, n < 0 ? -1 : n * unit_ms);
	return tconf_set(&cfg->topic_defaults, d->name, ms, e);
}

/* Apply one setting; the error says `key: why` (callers add where). */
static int
config_set(struct logd_config *cfg, const char *key, const char *v,
    struct err *e)
{
	const struct tconf_def *d;
	int64_t n;

	if (strcmp(key, "broker.id") == 0) {
		if (parse_num(key, v, 0, INT32_MAX, &n, e) < 0)
			return -1;
		cfg->broker_id = (int32_t)n;
	} else if (strcmp(key, "data.dir") == 0 || strcmp(key, "log.dirs") == 0) {
		if (*v == '\0' || strlen(v) >= sizeof(cfg->data_dir) - 64)
			return err_set(e, EXIT_CONFIG, "%s: bad path '%s'", key, v);
		if (strchr(v, ',') != NULL)
			return err_set(e, EXIT_CONFIG,
			    "%s: one data directory per logd, got '%s'", key, v);
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", v);
	} else if (strcmp(key, "listen") == 0) {
		if (net_addr_parse(v, 0, &cfg->listen, e) < 0)
			return err_wrap(e, "%s", key);
	} else if (strcmp(key, "advertise") == 0) {
		if (net_addr_parse(v, 0, &cfg->advertise, e) < 0)
			return err_wrap(e, "%s", key);
		cfg->advertise_set = true;
	} else if (strcmp(key, "controller") == 0) {
		if (net_addr_parse(v, 0, &cfg->controller, e) < 0 ||
		    cfg->controller.port == 0) {
			/* A bad address is the file's fault: exit 78, not 64. */
			return err_set(e, EXIT_CONFIG, "%s: expected ctrld's "
			    "host:port, got '%s'", key, v);
		}
		cfg->cluster_mode = true;
	} else if (strcmp(key, "broker.heartbeat.interval.ms") == 0) {
		return parse_num(key, v, 10, 600000, &cfg->heartbeat_interval_ms,
		    e);
	} else if (strcmp(key, "controlled.shutdown.timeout.ms") == 0) {
		return parse_num(key, v, 0, 3600000,
		    &cfg->controlled_shutdown_timeout_ms, e);
	} else if (strcmp(key, "cluster.id") == 0) {
		if (*v == '\0' || strlen(v) >= sizeof(cfg->cluster_id))
			return err_set(e, EXIT_CONFIG, "%s: bad cluster id '%s'",
			    key, v);
		snprintf(cfg->cluster_id, sizeof(cfg->cluster_id), "%s", v);
	} else if (strcmp(key, "num.partitions") == 0) {
		if (parse_num(key, v, 1, 1000000, &n, e) < 0)
			return -1;
		cfg->num_partitions = (int32_t)n;
	} else if (strcmp(key, "default.replication.factor") == 0) {
		if (parse_num(key, v, 1, INT16_MAX, &n, e) < 0)
			return -1;
		cfg->default_replication_factor = (int32_t)n;
	} else if (strcmp(key, "auto.create.topics.enable") == 0) {
		return parse_bool(key, v, &cfg->auto_create_topics, e);
	} else if (strcmp(key, "delete.topic.enable") == 0) {
		return parse_bool(key, v, &cfg->delete_topic_enable, e);
	} else if (strcmp(key, "log.retention.check.interval.ms") == 0) {
		return parse_num(key, v, 1, INT64_MAX,
		    &cfg->retention_check_interval_ms, e);
	} else if (strcmp(key, "socket.request.max.bytes") == 0) {
		return parse_num(key, v, 1024, INT32_MAX,
		    &cfg->socket_request_max_bytes, e);
	} else if (strcmp(key, "connections.max.idle.ms") == 0) {
		return parse_num(key, v, 1, INT64_MAX,
		    &cfg->connections_max_idle_ms, e);
	} else if (strcmp(key, "max.connections") == 0) {
		return parse_num(key, v, 1, INT32_MAX, &cfg->max_connections, e);
	} else if (strcmp(key, "shutdown.timeout.ms") == 0) {
		return parse_num(key, v, 0, INT64_MAX, &cfg->shutdown_timeout_ms,
		    e);
	} else if (strcmp(key, "offsets.topic.num.partitions") == 0) {
		if (parse_num(key, v, 1, 10000, &n, e) < 0)
			return -1;
		cfg->offsets_topic_partitions = (int32_t)n;
	} else if (strcmp(key, "group.initial.rebalance.delay.ms") == 0) {
		return parse_num(key, v, 0, INT32_MAX, &cfg->group_initial_delay_ms,
		    e);
	} else if (strcmp(key, "group.min.session.timeout.ms") == 0) {
		return parse_num(key, v, 1, INT32_MAX, &cfg->group_min_session_ms,
		    e);
	} else if (strcmp(key, "group.max.session.timeout.ms") == 0) {
		return parse_num(key, v, 1, INT32_MAX, &cfg->group_max_session_ms,
		    e);
	} else if (strcmp(key, "offsets.retention.minutes") == 0) {
		if (parse_num(key, v, 1, INT64_MAX / 60000, &n, e) < 0)
			return -1;
		cfg->offsets_retention_ms = n * 60000;
	} else if (strcmp(key, "replica.lag.time.max.ms") == 0) {
		return parse_num(key, v, 1, INT32_MAX,
		    &cfg->replica_lag_time_max_ms, e);
	} else if (strcmp(key, "offset.metadata.max.bytes") == 0) {
		return parse_num(key, v, 0, INT32_MAX,
		    &cfg->offset_metadata_max_bytes, e);
	} else if (strcmp(key, "log.cleaner.io.max.bytes.per.second") == 0) {
		return parse_num(key, v, 0, INT64_MAX,
		    &cfg->cleaner_io_bytes_per_sec, e);
	} else if (strcmp(key, "log.cleaner.dedupe.buffer.size") == 0) {
		/* At least one key fits; Kafka caps a thread's map at 2 GiB. */
		return parse_num(key, v, 1024, INT32_MAX,
		    &cfg->cleaner_dedupe_buffer_bytes, e);
	} else if (strcmp(key, "log.retention.hours") == 0) {
		return set_coarse_time(cfg, key, v, "log.retention.ms", 3600000, e);
	} else if (strcmp(key, "log.retention.minutes") == 0) {
		return set_coarse_time(cfg, key, v, "log.retention.ms", 60000, e);
	} else if (strcmp(key, "log.roll.hours") == 0) {
		return set_coarse_time(cfg, key, v, "log.roll.ms", 3600000, e);
	} else if ((d = tconf_find(key, true)) != NULL) {
		/* Validate under the broker-level name the user wrote. */
		struct tconf_def as_given = *d;

		as_given.name = key;
		if (tconf_validate(&as_given, v, e) < 0)
			return -1;
		return tconf_set(&cfg->topic_defaults, d->name, v, e);
	} else {
		return err_set(e, EXIT_CONFIG, "unknown setting '%s'", key);
	}
	return 0;
}

static int
load_file(struct logd_config *cfg, const char *path, struct err *e)
{
	struct ytree_doc *doc;
	const struct ytree_node *root;
	size_t i;
	int rc = 0;

	if (ytree_load_file(path, CONFIG_MAX_BYTES, &doc, e) < 0) {
		if (e->code == EXIT_NOINPUT)
			e->code = EXIT_CONFIG;
		return -1;
	}
	root = doc->root;
	if (root != NULL && root->kind != YTREE_NODE_MAPPING)
		rc = ytree_error(doc, root, e,
		    "expected a mapping of settings (key: value)");
	for (i = 0; rc == 0 && root != NULL && i < root->count; i++) {
		const struct ytree_node *k = root->keys[i], *v = root->items[i];

		if (v->kind != YTREE_NODE_SCALAR) {
			rc = ytree_error(doc, v, e, "%s: expected a single value",
			    k->scalar);
			break;
		}
		if (config_set(cfg, k->scalar, v->scalar, e) < 0) {
			char msg[sizeof(e->msg)];

			/* An unknown key is the key's fault, a bad value the value's. */
			snprintf(msg, sizeof(msg), "%s", e->msg);
			rc = ytree_error(doc, strncmp(msg, "unknown setting", 15) ?
			    v : k, e, "%s", msg);
		}
	}
	ytree_doc_free(doc);
	return rc;
}

/*
 * The broker's section of the cluster manifest, as the first layer above
 * the defaults: the config file, -o and flags may still override it.
 * The broker id comes from --broker-id (it picks the section).
 */
static int
load_manifest(struct logd_config *cfg, const struct logd_opts *o,
    struct err *e)
{
	const struct manifest_broker *b;
	struct manifest *m;
	char addr[NET_ADDR_MAX];
	int64_t id;

	if (o->broker_id == NULL)
		return err_set(e, EXIT_USAGE, "-m needs --broker-id (-i) to "
		    "pick the broker's section of '%s'", o->manifest_path);
	if (opt_parse_i64("--broker-id", o->broker_id, 0, INT32_MAX, &id,
	    e) < 0)
		return -1;
	if (manifest_load(o->manifest_path, &m, e) < 0) {
		if (e->code == EXIT_NOINPUT)
			e->code = EXIT_CONFIG;
		return -1;
	}
	b = manifest_broker(m, (int32_t)id);
	if (b == NULL) {
		err_set(e, EXIT_CONFIG, "%s: no broker with id %" PRId64
		    " in the manifest", o->manifest_path, id);
		manifest_free(m);
		return -1;
	}
	cfg->broker_id = b->id;
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", b->data_dir);
	snprintf(cfg->cluster_id, sizeof(cfg->cluster_id), "%s", m->cluster_id);
	snprintf(addr, sizeof(addr), "%s:%d", b->host, b->port);
	/* Peers and clients are told the manifest's address, so listen there. */
	if (net_addr_parse(addr, 0, &cfg->listen, e) < 0 ||
	    net_addr_parse(addr, 0, &cfg->advertise, e) < 0)
		goto bad;
	cfg->advertise_set = true;
	snprintf(addr, sizeof(addr), "%s:%d", m->controller.host,
	    m->controller.port);
	if (net_addr_parse(addr, 0, &cfg->controller, e) < 0)
		goto bad;
	cfg->cluster_mode = true;
	cfg->heartbeat_interval_ms = m->controller.heartbeat_interval_ms;
	cfg->offsets_topic_partitions = m->offsets_topic_partitions;
	manifest_free(m);
	return 0;
bad:
	e->code = EXIT_CONFIG;
	err_wrap(e, "%s: broker %" PRId64, o->manifest_path, id);
	manifest_free(m);
	return -1;
}

/* Cluster mode: what only makes sense with one broker is off. */
static int
check_cluster_mode(struct logd_config *cfg, struct err *e)
{
	if (!cfg->cluster_mode)
		return 0;
	if (cfg->cluster_id[0] == '\0')
		return err_set(e, EXIT_CONFIG, "controller: cluster mode needs "
		    "cluster.id (the manifest's cluster name), or start with -m");
	/* ctrld creates and deletes topics; clients never do. */
	cfg->auto_create_topics = false;
	return 0;
}

/* Advertise what clients can connect to: never a wildcard address. */
static void
default_advertise(struct logd_config *cfg)
{
	if (cfg->advertise_set)
		return;
	cfg->advertise = cfg->listen;
	if (strcmp(cfg->listen.host, "0.0.0.0") == 0 ||
	    strcmp(cfg->listen.host, "::") == 0) {
		char host[NET_HOST_MAX];

		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			snprintf(cfg->advertise.host, sizeof(cfg->advertise.host),
			    "%s", host);
		}
	}
}

int
logd_config_load(struct logd_config *cfg, const struct logd_opts *o,
    struct err *e)
{
	size_t i;

	if (o->manifest_path != NULL && load_manifest(cfg, o, e) < 0)
		return -1;
	if (o->config_path != NULL && load_file(cfg, o->config_path, e) < 0)
		return -1;
	for (i = 0; i < o->noverrides; i++) {
		const char *kv = o->overrides[i], *eq = strchr(kv, '=');
		char key[128];

		if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key))
			return err_set(e, EXIT_USAGE,
			    "-o: expected key=value, got '%s'", kv);
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		if (config_set(cfg, key, eq + 1, e) < 0)
			return err_wrap(e, "-o");
	}
	if (o->data_dir != NULL && config_set(cfg, "data.dir", o->data_dir, e) < 0)
		return err_wrap(e, "--data-dir");
	if (o->listen != NULL && config_set(cfg, "listen", o->listen, e) < 0)
		return err_wrap(e, "--listen");
	if (o->advertise != NULL &&
	    config_set(cfg, "advertise", o->advertise, e) < 0)
		return err_wrap(e, "--advertise");
	if (o->broker_id != NULL &&
	    config_set(cfg, "broker.id", o->broker_id, e) < 0)
		return err_wrap(e, "--broker-id");
	if (cfg->data_dir[0] == '\0')
		return err_set(e, EXIT_CONFIG,
		    "no data directory: set data.dir in the config or --data-dir");
	if (cfg->default_replication_factor != 1 && !cfg->cluster_mode)
		return err_set(e, EXIT_CONFIG,
		    "default.replication.factor: %" PRId32 " needs a cluster; a "
		    "single logd holds one replica", cfg->default_replication_factor);
	default_advertise(cfg);
	return check_cluster_mode(cfg, e);
}

void
logd_reload(struct logd *ld)
{
	struct logd_config fresh;
	struct err e = { 0 };
	size_t i;
	int32_t j;

	logd_config_init(&fresh);
	if (logd_config_load(&fresh, ld->opts, &e) < 0) {
		log_warnx("SIGHUP: keeping the running configuration: %s", e.msg);
		logd_config_release(&fresh);
		return;
	}
	if (fresh.cluster_mode != ld->cfg.cluster_mode ||
	    (fresh.cluster_mode && (fresh.controller.port !=
	    ld->cfg.controller.port || strcmp(fresh.controller.host,
	    ld->cfg.controller.host) != 0)))
		log_warnx("SIGHUP: controller takes effect only after a restart");
	if (fresh.broker_id != ld->cfg.broker_id ||
	    strcmp(fresh.data_dir, ld->cfg.data_dir) != 0 ||
	    strcmp(fresh.listen.host, ld->cfg.listen.host) != 0 ||
	    (fresh.listen.port != ld->cfg.listen.port &&
	    ld->cfg.listen.port != 0))
		log_warnx("SIGHUP: broker.id, data.dir and listen take effect "
		    "only after a restart");
	/* Everything below is read per request or per timer tick. */
	tconf_release(&ld->cfg.topic_defaults);
	ld->cfg.topic_defaults = fresh.topic_defaults;
	tconf_init(&fresh.topic_defaults);
	ld->cfg.num_partitions = fresh.num_partitions;
	ld->cfg.auto_create_topics = fresh.auto_create_topics;
	ld->cfg.delete_topic_enable = fresh.delete_topic_enable;
	ld->cfg.retention_check_interval_ms = fresh.retention_check_interval_ms;
	ld->cfg.socket_request_max_bytes = fresh.socket_request_max_bytes;
	ld->cfg.connections_max_idle_ms = fresh.connections_max_idle_ms;
	ld->cfg.max_connections = fresh.max_connections;
	ld->cfg.shutdown_timeout_ms = fresh.shutdown_timeout_ms;
	ld->cfg.group_initial_delay_ms = fresh.group_initial_delay_ms;
	ld->cfg.group_min_session_ms = fresh.group_min_session_ms;
	ld->cfg.group_max_session_ms = fresh.group_max_session_ms;
	ld->cfg.offsets_retention_ms = fresh.offsets_retention_ms;
	ld->cfg.offset_metadata_max_bytes = fresh.offset_metadata_max_bytes;
	ld->cfg.replica_lag_time_max_ms = fresh.replica_lag_time_max_ms;
	ld->cfg.cleaner_io_bytes_per_sec = fresh.cleaner_io_bytes_per_sec;
	ld->cfg.cleaner_dedupe_buffer_bytes = fresh.cleaner_dedupe_buffer_bytes;
	ld->cfg.controlled_shutdown_timeout_ms =
	    fresh.controlled_shutdown_timeout_ms;
	logd_config_release(&fresh);
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++)
			partition_apply_config(ld, ld->topics[i]->parts[j]);
	log_info("SIGHUP: configuration reloaded");
}
