/* SPDX-License-Identifier: MIT */
/*
 * The YAML cluster manifest (klog-manifest(5)): the cluster id, where the
 * controller listens and keeps its metadata log, every broker (id, address,
 * data dir, rack, ssh settings) and the topics the cluster should have.
 * Loading validates everything and names file:line:col on any problem
 * (EXIT_CONFIG), so ctrld, logd -m and replicad -m trust what they get.
 */
#ifndef KLOG_MANIFEST_H
#define KLOG_MANIFEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tconf.h"

#define MANIFEST_HOST_MAX 256
#define MANIFEST_NAME_MAX 250		/* Kafka's limit on topic names */
#define MANIFEST_MAX_BYTES (4u << 20)	/* larger files are refused */

struct manifest_ssh {
	char user[64];			/* "" = the local user */
	int port;			/* 0 when not given: ssh_config, 22 */
	char identity[PATH_MAX];	/* "" = ~/.ssh/id_* or the agent */
	/* The klog directory on the host, as the remote side reads it:
	 * absolute, or relative to the remote user's home ("~/x" is
	 * stored as "x"). Default "klog". */
	char install_dir[PATH_MAX];
};

struct manifest_broker {
	int32_t id;			/* >= 0, unique */
	char host[MANIFEST_HOST_MAX];	/* address clients and peers use */
	int port;			/* unique per host */
	char data_dir[PATH_MAX];	/* absolute (relative ones resolved
					   against the manifest's directory) */
	char rack[64];			/* "" = none */
	bool data_dir_absolute;		/* written as an absolute path */
	bool has_ssh;
	struct manifest_ssh ssh;
	int line;			/* where it was defined, for messages */
};

struct manifest_topic {
	char name[MANIFEST_NAME_MAX + 1];
	int32_t partitions;		/* defaults.partitions when not given */
	int16_t replication_factor;	/* <= number of brokers */
	struct tconf configs;		/* defaults.configs, then the topic's */
	int line;
};

struct manifest_controller {
	char host[MANIFEST_HOST_MAX];
	int port;
	char data_dir[PATH_MAX];	/* the metadata log lives here */
	int64_t session_timeout_ms;	/* broker liveness; default 6000 */
	int64_t heartbeat_interval_ms;	/* brokers' long-poll; default 500 */
	bool auto_leader_rebalance;	/* default true */
	int64_t leader_rebalance_interval_ms;	/* default 10000 */
	bool data_dir_absolute;		/* written as an absolute path */
	bool has_ssh;			/* controller.ssh given */
	struct manifest_ssh ssh;
	int line;
};

struct manifest {
	char path[PATH_MAX];
	char cluster_id[64];		/* [A-Za-z0-9._-], non-empty */
	struct manifest_controller controller;
	struct manifest_broker *brokers;	/* in file order */
	size_t nbrokers;
	struct manifest_topic *topics;		/* in file order */
	size_t ntopics;
	int32_t default_partitions;		/* defaults.partitions, 1 */
	int16_t default_replication_factor;	/* min(3, brokers) */
	struct tconf default_configs;		/* defaults.configs */
	int32_t offsets_topic_partitions;	/* 50 */
	int16_t offsets_topic_replication_factor; /* min(3, brokers) */
};

/*
 * Load and validate `path`. Errors: EXIT_NOINPUT for a missing file,
 * EXIT_IOERR when it cannot be read, EXIT_CONFIG with "path:line:col:
 * problem" for anything invalid (unknown key, duplicate broker id or
 * host:port, replication factor above the broker count, bad number, bad
 * topic name or config) or a file over MANIFEST_MAX_BYTES, EXIT_OSERR when
 * out of memory. Every scalar is text whose key decides its type (quoting
 * changes nothing); a plain empty value, ~ or null means "not set". On
 * success the caller owns *out and frees it with manifest_free(); on
 * failure *out is left alone.
 */
int manifest_load(const char *path, struct manifest **out, struct err *e);
/* The same from text in memory (`name` is used in messages; tests). */
int manifest_load_string(const char *name, const char *text, size_t len,
    struct manifest **out, struct err *e);
/* Free a loaded manifest; NULL is a no-op. */
void manifest_free(struct manifest *m);

/* Lookups by broker id and topic name; NULL when not in the manifest. */
const struct manifest_broker *manifest_broker(const struct manifest *m,
    int32_t id);
const struct manifest_topic *manifest_topic(const struct manifest *m,
    const char *name);

#endif
