/* SPDX-License-Identifier: MIT */
/*
 * The cluster manifest: a full three-node manifest round-trips every field,
 * defaults apply (replication factors from the broker count, controller
 * timings, offsets topic), topic configs inherit defaults.configs and
 * override or unset them, quoting changes nothing, paths resolve against
 * $HOME and the manifest's directory, the examples load, and a table of
 * invalid manifests each fails with EXIT_CONFIG at the right line:col
 * naming the offending key or value.
 */
/* realpath(3) is XSI. */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "tinytest.h"

static struct manifest *
load(const char *text, struct err *e)
{
	struct manifest *m = NULL;

	err_clear(e);
	if (manifest_load_string("t.yaml", text, strlen(text), &m, e) < 0)
		return NULL;
	return m;
}

static const char full[] =
    "# a full manifest\n"
    "cluster: demo.prod-1\n"
    "controller:\n"
    "  host: 10.0.0.10\n"
    "  port: 9390\n"
    "  data_dir: /var/lib/klog/ctrld\n"
    "  session_timeout_ms: 8000\n"
    "  heartbeat_interval_ms: 250\n"
    "  auto_leader_rebalance: false\n"
    "  leader_rebalance_interval_ms: 30000\n"
    "defaults:\n"
    "  partitions: 4\n"
    "  replication_factor: 2\n"
    "  configs: { min.insync.replicas: 2, retention.ms: 3600000 }\n"
    "  offsets_topic_partitions: 10\n"
    "  offsets_topic_replication_factor: 3\n"
    "brokers:\n"
    "  - id: 1\n"
    "    host: 10.0.0.1\n"
    "    port: 9391\n"
    "    data_dir: /var/lib/klog/b1\n"
    "    rack: r1\n"
    "    ssh: { user: klog, port: 2222, identity: /etc/klog/id_ed25519 }\n"
    "  - id: 2\n"
    "    host: kafka-2.example.com\n"
    "    port: 9391\n"
    "    data_dir: /var/lib/klog/b2/\n"
    "    rack: r2\n"
    "    ssh: {}\n"
    "  - id: 30\n"
    "    host: 10.0.0.1\n"
    "    port: 9392\n"
    "    data_dir: /var/lib/klog//b30\n"
    "    rack: r1\n"
    "topics:\n"
    "  - name: events\n"
    "    partitions: 6\n"
    "    replication_factor: 3\n"
    "    configs:\n"
    "      min.insync.replicas: 2\n"
    "      unclean.leader.election.enable: true\n"
    "      cleanup.policy: compact,delete\n"
    "  - name: audit_log.v2\n";

static void
test_manifest__round_trip(void)
{
	const struct manifest_broker *b;
	const struct manifest_topic *t;
	struct manifest *m;
	struct err e;

	m = load(full, &e);
	CHECKF(m != NULL, "%s", e.msg);
	if (m == NULL)
		return;
	CHECK(strcmp(m->path, "t.yaml") == 0);
	CHECK(strcmp(m->cluster_id, "demo.prod-1") == 0);
	CHECK(strcmp(m->controller.host, "10.0.0.10") == 0);
	CHECK(m->controller.port == 9390);
	CHECK(strcmp(m->controller.data_dir, "/var/lib/klog/ctrld") == 0);
	CHECK(m->controller.session_timeout_ms == 8000);
	CHECK(m->controller.heartbeat_interval_ms == 250);
	CHECK(!m->controller.auto_leader_rebalance);
	CHECK(m->controller.leader_rebalance_interval_ms == 30000);

	CHECK(m->default_partitions == 4);
	CHECK(m->default_replication_factor == 2);
	CHECK(m->offsets_topic_partitions == 10);
	CHECK(m->offsets_topic_replication_factor == 3);
	CHECK(m->default_configs.values[TCONF_MIN_INSYNC_REPLICAS] &&
	    strcmp(m->default_configs.values[TCONF_MIN_INSYNC_REPLICAS],
	    "2") == 0);
	CHECK(m->default_configs.values[TCONF_RETENTION_MS] &&
	    strcmp(m->default_configs.values[TCONF_RETENTION_MS],
	    "3600000") == 0);
	CHECK(m->default_configs.values[TCONF_CLEANUP_POLICY] == NULL);

	CHECK(m->nbrokers == 3);
	if (m->nbrokers == 3) {
		b = &m->brokers[0];
		CHECK(b->id == 1 && b->port == 9391 && b->line == 18);
		CHECK(strcmp(b->host, "10.0.0.1") == 0);
		CHECK(strcmp(b->data_dir, "/var/lib/klog/b1") == 0);
		CHECK(strcmp(b->rack, "r1") == 0);
		CHECK(b->has_ssh && b->ssh.port == 2222);
		CHECK(strcmp(b->ssh.user, "klog") == 0);
		CHECK(strcmp(b->ssh.identity, "/etc/klog/id_ed25519") == 0);
		b = &m->brokers[1];
		CHECK(b->id == 2 && b->port == 9391 && b->line == 24);
		CHECK(strcmp(b->host, "kafka-2.example.com") == 0);
		CHECK(strcmp(b->data_dir, "/var/lib/klog/b2") == 0);
		CHECK(strcmp(b->rack, "r2") == 0);
		/* An empty ssh section: SSH with every default. */
		CHECK(b->has_ssh && b->ssh.port == 0 && b->ssh.user[0] == '\0'
		    && b->ssh.identity[0] == '\0');
		b = &m->brokers[2];
		CHECK(b->id == 30 && b->port == 9392 && b->line == 30);
		CHECK(strcmp(b->data_dir, "/var/lib/klog/b30") == 0);
		CHECK(!b->has_ssh && b->ssh.port == 0);
	}
	CHECK(manifest_broker(m, 30) == &m->brokers[2]);
	CHECK(manifest_broker(m, 3) == NULL);

	CHECK(m->ntopics == 2);
	t = manifest_topic(m, "events");
	CHECK(t != NULL && t == &m->topics[0]);
	if (t != NULL) {
		CHECK(t->partitions == 6 && t->replication_factor == 3);
		CHECK(t->line == 36);
		CHECK(tconf_i64(&t->configs, NULL,
		    TCONF_MIN_INSYNC_REPLICAS) == 2);
		CHECK(tconf_bool(&t->configs, NULL,
		    TCONF_UNCLEAN_LEADER_ELECTION_ENABLE));
		CHECK(tconf_has(&t->configs, NULL, TCONF_CLEANUP_POLICY,
		    "compact"));
		/* Inherited from defaults.configs. */
		CHECK(tconf_i64(&t->configs, NULL, TCONF_RETENTION_MS) ==
		    3600000);
	}
	/* A topic that says nothing gets every default. */
	t = manifest_topic(m, "audit_log.v2");
	CHECK(t != NULL && t == &m->topics[1]);
	if (t != NULL) {
		CHECK(t->partitions == 4 && t->replication_factor == 2);
		CHECK(t->line == 43);
		CHECK(tconf_i64(&t->configs, NULL,
		    TCONF_MIN_INSYNC_REPLICAS) == 2);
		CHECK(t->configs.values[TCONF_UNCLEAN_LEADER_ELECTION_ENABLE] ==
		    NULL);
	}
	CHECK(manifest_topic(m, "nope") == NULL);
	manifest_free(m);
	manifest_free(NULL);
}

#define CLUSTER "cluster: c\n"
#define CTRL "controller:\n  host: h\n  port: 9000\n  data_dir: /c\n"
#define BROKER(id, port)                                                   \
	"  - id: " id "\n    host: h\n    port: " port "\n"                \
	"    data_dir: /b" id "\n"

static void
test_manifest__defaults(void)
{
	static const struct {
		int nbrokers;
		int rf;
	} cases[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 5, 3 } };
	struct manifest *m;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		size_t len;
		int j;

		len = (size_t)snprintf(text, sizeof(text),
		    CLUSTER CTRL "brokers:\n");
		for (j = 1; j <= cases[i].nbrokers; j++)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "  - {id: %d, host: h, port: %d, data_dir: /b%d}\n",
			    j, 9000 + j, j);
		snprintf(text + len, sizeof(text) - len,
		    "topics:\n  - name: t\n");
		m = load(text, &e);
		CHECKF(m != NULL, "case %zu: %s", i, e.msg);
		if (m == NULL)
			continue;
		CHECK(m->nbrokers == (size_t)cases[i].nbrokers);
		CHECK(m->default_replication_factor == cases[i].rf);
		CHECK(m->offsets_topic_replication_factor == cases[i].rf);
		CHECK(m->offsets_topic_partitions == 50);
		CHECK(m->default_partitions == 1);
		CHECK(m->controller.session_timeout_ms == 6000);
		CHECK(m->controller.heartbeat_interval_ms == 500);
		CHECK(m->controller.auto_leader_rebalance);
		CHECK(m->controller.leader_rebalance_interval_ms == 10000);
		CHECK(m->ntopics == 1 && m->topics[0].partitions == 1 &&
		    m->topics[0].replication_factor == cases[i].rf);
		CHECK(m->brokers[0].rack[0] == '\0' && !m->brokers[0].has_ssh);
		manifest_free(m);
	}

	/* No topics at all, written three ways. */
	m = load(CLUSTER CTRL "brokers:\n" BROKER("0", "9001"), &e);
	CHECKF(m != NULL && m->ntopics == 0 && m->topics == NULL &&
	    m->brokers[0].id == 0, "%s", e.msg);
	manifest_free(m);
	m = load(CLUSTER CTRL "brokers:\n" BROKER("1", "9001") "topics: []\n"
	    "defaults:\n", &e);
	CHECKF(m != NULL && m->ntopics == 0 && m->default_partitions == 1,
	    "%s", e.msg);
	manifest_free(m);
	m = load(CLUSTER CTRL "brokers:\n" BROKER("1", "9001") "topics: ~\n",
	    &e);
	CHECKF(m != NULL && m->ntopics == 0, "%s", e.msg);
	manifest_free(m);
}

static void
test_manifest__config_inheritance(void)
{
	static const char text[] =
	    CLUSTER CTRL "brokers:\n" BROKER("1", "9001") BROKER("2", "9002")
	    BROKER("3", "9003")
	    "defaults:\n"
	    "  configs:\n"
	    "    min.insync.replicas: 2\n"
	    "    retention.ms: 1000\n"
	    "    cleanup.policy: compact\n"
	    "topics:\n"
	    "  - name: a\n"
	    "  - name: b\n"
	    "    configs:\n"
	    "      retention.ms: 2000\n"
	    "      cleanup.policy: ~\n"
	    "      segment.bytes: 1048576\n"
	    "  - name: c\n"
	    "    replication_factor: 1\n"
	    "    configs: { min.insync.replicas: 1 }\n";
	const struct manifest_topic *t;
	struct manifest *m;
	struct err e;

	m = load(text, &e);
	CHECKF(m != NULL, "%s", e.msg);
	if (m == NULL)
		return;
	t = manifest_topic(m, "a");
	CHECK(t != NULL && t->replication_factor == 3);
	if (t != NULL) {
		CHECK(strcmp(t->configs.values[TCONF_RETENTION_MS], "1000") == 0);
		CHECK(strcmp(t->configs.values[TCONF_CLEANUP_POLICY],
		    "compact") == 0);
		CHECK(strcmp(t->configs.values[TCONF_MIN_INSYNC_REPLICAS],
		    "2") == 0);
		CHECK(t->configs.values[TCONF_SEGMENT_BYTES] == NULL);
	}
	t = manifest_topic(m, "b");
	CHECK(t != NULL);
	if (t != NULL) {
		/* Overridden, unset (back to the built-in), added, kept. */
		CHECK(strcmp(t->configs.values[TCONF_RETENTION_MS], "2000") == 0);
		CHECK(t->configs.values[TCONF_CLEANUP_POLICY] == NULL);
		CHECK(tconf_has(&t->configs, NULL, TCONF_CLEANUP_POLICY,
		    "delete"));
		CHECK(strcmp(t->configs.values[TCONF_SEGMENT_BYTES],
		    "1048576") == 0);
		CHECK(strcmp(t->configs.values[TCONF_MIN_INSYNC_REPLICAS],
		    "2") == 0);
	}
	t = manifest_topic(m, "c");
	CHECK(t != NULL && t->replication_factor == 1);
	if (t != NULL)
		CHECK(tconf_i64(&t->configs, NULL,
		    TCONF_MIN_INSYNC_REPLICAS) == 1);
	/* The defaults themselves are untouched by the topics. */
	CHECK(strcmp(m->default_configs.values[TCONF_RETENTION_MS],
	    "1000") == 0);
	CHECK(m->default_configs.values[TCONF_SEGMENT_BYTES] == NULL);
	manifest_free(m);
}

/* Quoting changes nothing: the key decides the type. Null means unset. */
static void
test_manifest__scalars(void)
{
	static const char quoted[] =
	    "cluster: \"2024\"\n"
	    "controller: {host: 'h', port: \"9000\", data_dir: \"/c\","
	    " auto_leader_rebalance: \"true\", session_timeout_ms: '7000'}\n"
	    "brokers:\n"
	    "  - {id: \"7\", host: h, port: '9001', data_dir: /b,"
	    " rack: ~, ssh: null}\n"
	    "topics:\n"
	    "  - {name: \"007\", partitions: \"2\","
	    " configs: {retention.ms: \"-1\","
	    " unclean.leader.election.enable: 'false'}}\n";
	struct manifest *m;
	struct err e;

	m = load(quoted, &e);
	CHECKF(m != NULL, "%s", e.msg);
	if (m == NULL)
		return;
	CHECK(strcmp(m->cluster_id, "2024") == 0);
	CHECK(m->controller.port == 9000 && m->controller.auto_leader_rebalance);
	CHECK(m->controller.session_timeout_ms == 7000);
	CHECK(m->brokers[0].id == 7 && m->brokers[0].port == 9001);
	CHECK(m->brokers[0].rack[0] == '\0' && !m->brokers[0].has_ssh);
	CHECK(strcmp(m->topics[0].name, "007") == 0);
	CHECK(m->topics[0].partitions == 2);
	CHECK(tconf_i64(&m->topics[0].configs, NULL, TCONF_RETENTION_MS) == -1);
	manifest_free(m);

	/* A quoted "~" is text, not null. */
	m = load(CLUSTER CTRL "brokers:\n" BROKER("1", "9001") "    rack: '~'\n",
	    &e);
	CHECKF(m != NULL && strcmp(m->brokers[0].rack, "~") == 0, "%s", e.msg);
	manifest_free(m);
}

struct bad_case {
	const char *text;
	const char *pos;	/* the message starts so */
	const char *what;	/* and contains this */
};

static void
run_bad(const struct bad_case *cases, size_t n, const char *table)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct manifest *m = (struct manifest *)&m;
		struct err e = { 0, "" };
		int rc;

		rc = manifest_load_string("t.yaml", cases[i].text,
		    strlen(cases[i].text), &m, &e);
		CHECKF(rc == -1, "%s %zu: accepted", table, i);
		CHECKF(e.code == EXIT_CONFIG, "%s %zu: code %d (%s)", table, i,
		    e.code, e.msg);
		CHECKF(strncmp(e.msg, cases[i].pos, strlen(cases[i].pos)) == 0 &&
		    strstr(e.msg, cases[i].what) != NULL,
		    "%s %zu: got '%s', want '%s...%s'", table, i, e.msg,
		    cases[i].pos, cases[i].what);
		CHECKF(m == (struct manifest *)&m, "%s %zu: *out set", table, i);
	}
}

#define HEAD2 CLUSTER CTRL "brokers:\n" BROKER("1", "9001") BROKER("2", "9002")
/* HEAD2 ends on line 14. */

static void
test_manifest__bad_keys(void)
{
	static const struct bad_case cases[] = {
		{ "", "t.yaml:1:1: ", "empty manifest" },
		{ "# nothing\n", "t.yaml:1:1: ", "empty manifest" },
		{ "- a\n", "t.yaml:1:1: ", "manifest: expected a mapping, got a list" },
		{ "cluster: [\n", "t.yaml:2:1: ", "" },
		{ HEAD2 "topic:\n  - name: x\n", "t.yaml:15:1: ",
		  "unknown key 'topic'; valid keys: cluster, controller, "
		  "defaults, brokers, topics" },
		{ CLUSTER "controller:\n  host: h\n  port: 9000\n  data_dir: /c\n"
		  "  hots: x\n" "brokers:\n" BROKER("1", "9001"), "t.yaml:6:3: ",
		  "controller: unknown key 'hots'; valid keys: host, port, "
		  "data_dir, session_timeout_ms, heartbeat_interval_ms, "
		  "auto_leader_rebalance, leader_rebalance_interval_ms" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001") "    rak: r1\n",
		  "t.yaml:11:5: ", "brokers[0]: unknown key 'rak'; valid keys: "
		  "id, host, port, data_dir, rack, ssh" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {user: k, key: x}\n", "t.yaml:11:20: ",
		  "brokers[0].ssh: unknown key 'key'; valid keys: user, port, "
		  "identity" },
		{ HEAD2 "topics:\n  - name: x\n    partiton: 3\n", "t.yaml:17:5: ",
		  "topics[0]: unknown key 'partiton'; valid keys: name, "
		  "partitions, replication_factor, configs" },
		{ HEAD2 "defaults:\n  partition: 3\n", "t.yaml:16:3: ",
		  "defaults: unknown key 'partition'; valid keys: partitions, " },
		{ HEAD2 "topics:\n  - name: x\n    configs:\n"
		  "      retention.msec: 5\n", "t.yaml:18:7: ",
		  "topics[0].configs: unknown topic config 'retention.msec'; "
		  "valid: cleanup.policy, " },
		{ HEAD2 "defaults:\n  configs: {log.retention.ms: 5}\n",
		  "t.yaml:16:13: ", "defaults.configs: unknown topic config "
		  "'log.retention.ms'; valid: cleanup.policy, delete.retention.ms" },
		/* missing required keys: at the parent mapping */
		{ CTRL "brokers:\n" BROKER("1", "9001"), "t.yaml:1:1: ",
		  "missing required key 'cluster'" },
		{ CLUSTER CTRL, "t.yaml:1:1: ", "missing required key 'brokers'" },
		{ CLUSTER "brokers:\n" BROKER("1", "9001"), "t.yaml:1:1: ",
		  "missing required key 'controller'" },
		{ CLUSTER "controller:\n  host: h\n  port: 9000\n"
		  "brokers:\n" BROKER("1", "9001"), "t.yaml:3:3: ",
		  "controller: missing required key 'data_dir'" },
		{ CLUSTER CTRL "brokers:\n  - id: 1\n    host: h\n"
		  "    data_dir: /b\n", "t.yaml:7:5: ",
		  "brokers[0]: missing required key 'port'" },
		{ HEAD2 "  - {id: 3, port: 9003, data_dir: /b3}\n",
		  "t.yaml:15:5: ", "brokers[2]: missing required key 'host'" },
		{ HEAD2 "topics:\n  - partitions: 3\n", "t.yaml:16:5: ",
		  "topics[0]: missing required key 'name'" },
		/* null where a value is required: at the value */
		{ CLUSTER "controller:\n  host: ~\n  port: 9000\n  data_dir: /c\n"
		  "brokers:\n" BROKER("1", "9001"), "t.yaml:3:9: ",
		  "controller.host: missing value" },
		{ "cluster:\n" CTRL "brokers:\n" BROKER("1", "9001"),
		  "t.yaml:", "cluster: missing value" },
		/* wrong shapes */
		{ CLUSTER CTRL "brokers: []\n", "t.yaml:6:10: ",
		  "brokers: at least one broker is needed" },
		{ CLUSTER CTRL "brokers:\n  id: 1\n", "t.yaml:7:3: ",
		  "brokers: expected a list, got a mapping" },
		{ CLUSTER "controller: 127.0.0.1:9000\n" "brokers:\n"
		  BROKER("1", "9001"), "t.yaml:2:13: ",
		  "controller: expected a mapping, got '127.0.0.1:9000'" },
		{ CLUSTER CTRL "brokers:\n  - 127.0.0.1:9001\n", "t.yaml:7:5: ",
		  "brokers[0]: expected a mapping, got '127.0.0.1:9001'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "[9001]"),
		  "t.yaml:9:11: ", "brokers[0].port: expected a single value, "
		  "got a list" },
		{ HEAD2 "topics:\n  name: x\n", "t.yaml:16:3: ",
		  "topics: expected a list, got a mapping" },
		{ HEAD2 "topics:\n  - name: x\n    configs: [a]\n",
		  "t.yaml:17:14: ", "topics[0].configs: expected a mapping, "
		  "got a list" },
		{ HEAD2 "topics:\n  - name: x\n    configs:\n"
		  "      cleanup.policy: [compact, delete]\n", "t.yaml:18:23: ",
		  "write lists as \"compact,delete\"" },
		{ HEAD2 "defaults: 3\n", "t.yaml:15:11: ",
		  "defaults: expected a mapping, got '3'" },
	};

	run_bad(cases, sizeof(cases) / sizeof(cases[0]), "bad_keys");
}

#define CTRL_WITH(extra)                                                   \
	CLUSTER "controller:\n  host: h\n  port: 9000\n  data_dir: /c\n"   \
	extra "brokers:\n" BROKER("1", "9001")

static void
test_manifest__bad_numbers(void)
{
	static const struct bad_case cases[] = {
		{ CLUSTER "controller:\n  host: h\n  port: 93x1\n"
		  "  data_dir: /c\n" "brokers:\n" BROKER("1", "9001"),
		  "t.yaml:4:9: ", "controller.port: expected a whole number, "
		  "got '93x1'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "0"), "t.yaml:9:11: ",
		  "brokers[0].port: 0 is out of range [1, 65535]" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "65536"), "t.yaml:9:11: ",
		  "brokers[0].port: 65536 is out of range [1, 65535]" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "-1"), "t.yaml:9:11: ",
		  "brokers[0].port: -1 is out of range [1, 65535]" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "09001"), "t.yaml:9:11: ",
		  "brokers[0].port: leading zeros are not allowed, got '09001'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "'9001 '"),
		  "t.yaml:9:11: ", "expected a whole number, got '9001 '" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "+9001"), "t.yaml:9:11: ",
		  "expected a whole number, got '+9001'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001.0"), "t.yaml:9:11: ",
		  "expected a whole number, got '9001.0'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "0x2329"), "t.yaml:9:11: ",
		  "expected a whole number, got '0x2329'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("2147483648", "9001"),
		  "t.yaml:7:9: ", "brokers[0].id: 2147483648 is out of range "
		  "[0, 2147483647]" },
		{ CLUSTER CTRL "brokers:\n" BROKER("-1", "9001"), "t.yaml:7:9: ",
		  "brokers[0].id: -1 is out of range [0, 2147483647]" },
		{ CLUSTER CTRL "brokers:\n" BROKER("99999999999999999999", "9001"),
		  "t.yaml:7:9: ", "99999999999999999999 is out of range" },
		{ CLUSTER CTRL "brokers:\n" BROKER("one", "9001"), "t.yaml:7:9: ",
		  "brokers[0].id: expected a whole number, got 'one'" },
		{ HEAD2 "topics:\n  - name: x\n    partitions: 0\n",
		  "t.yaml:17:17: ", "topics[0].partitions: 0 is out of range "
		  "[1, 100000]" },
		{ HEAD2 "topics:\n  - name: x\n    partitions: 100001\n",
		  "t.yaml:17:17: ", "100001 is out of range [1, 100000]" },
		{ HEAD2 "defaults:\n  partitions: -3\n", "t.yaml:16:15: ",
		  "defaults.partitions: -3 is out of range [1, 100000]" },
		{ HEAD2 "defaults:\n  offsets_topic_partitions: 10001\n",
		  "t.yaml:16:29: ", "defaults.offsets_topic_partitions: 10001 "
		  "is out of range [1, 10000]" },
		{ CTRL_WITH("  session_timeout_ms: 0\n"), "t.yaml:6:23: ",
		  "controller.session_timeout_ms: 0 is out of range" },
		{ CTRL_WITH("  heartbeat_interval_ms: 6000\n"), "t.yaml:6:26: ",
		  "controller: heartbeat_interval_ms 6000 must be below "
		  "session_timeout_ms 6000" },
		{ CTRL_WITH("  session_timeout_ms: 400\n"), "t.yaml:6:23: ",
		  "heartbeat_interval_ms 500 must be below session_timeout_ms 400" },
		{ CTRL_WITH("  leader_rebalance_interval_ms: 5s\n"),
		  "t.yaml:6:33: ", "expected a whole number, got '5s'" },
		{ CTRL_WITH("  auto_leader_rebalance: yes\n"), "t.yaml:6:26: ",
		  "controller.auto_leader_rebalance: expected true or false, "
		  "got 'yes'" },
		{ CTRL_WITH("  auto_leader_rebalance: True\n"), "t.yaml:6:26: ",
		  "expected true or false, got 'True'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {port: 0}\n", "t.yaml:11:17: ",
		  "brokers[0].ssh.port: 0 is out of range [1, 65535]" },
		/* replication factors */
		{ HEAD2 "topics:\n  - name: x\n    replication_factor: 3\n",
		  "t.yaml:17:25: ", "topics[0].replication_factor: 3 is above "
		  "the number of brokers (2)" },
		{ HEAD2 "topics:\n  - name: x\n    replication_factor: 0\n",
		  "t.yaml:17:25: ", "0 is out of range [1, 32767]" },
		{ HEAD2 "defaults:\n  replication_factor: 3\n", "t.yaml:16:23: ",
		  "defaults.replication_factor: 3 is above the number of "
		  "brokers (2)" },
		{ HEAD2 "defaults:\n  offsets_topic_replication_factor: 4\n",
		  "t.yaml:16:37: ", "defaults.offsets_topic_replication_factor: "
		  "4 is above the number of brokers (2)" },
		/* topic configs go through tconf */
		{ HEAD2 "topics:\n  - name: x\n    configs:\n"
		  "      unclean.leader.election.enable: yes\n", "t.yaml:18:39: ",
		  "topics[0].configs.unclean.leader.election.enable: expected "
		  "true or false, got 'yes'" },
		{ HEAD2 "topics:\n  - name: x\n    configs:\n"
		  "      min.insync.replicas: two\n", "t.yaml:18:28: ",
		  "topics[0].configs.min.insync.replicas: expected a whole "
		  "number, got 'two'" },
		{ HEAD2 "topics:\n  - name: x\n    configs:\n"
		  "      segment.bytes: 10\n", "t.yaml:18:22: ",
		  "topics[0].configs.segment.bytes: 10 is out of range" },
		{ HEAD2 "defaults:\n  configs:\n    cleanup.policy: compacted\n",
		  "t.yaml:17:21: ", "defaults.configs.cleanup.policy: "
		  "'compacted' is not a list of delete,compact" },
		/* min.insync.replicas against the replication factor */
		{ HEAD2 "topics:\n  - name: x\n    replication_factor: 1\n"
		  "    configs:\n      min.insync.replicas: 2\n", "t.yaml:19:28: ",
		  "topics[0].configs: min.insync.replicas 2 is above the "
		  "replication factor 1" },
		{ HEAD2 "defaults:\n  configs: {min.insync.replicas: 2}\n"
		  "topics:\n  - name: x\n    replication_factor: 1\n",
		  "t.yaml:19:25: ", "topics[0]: min.insync.replicas 2 (from "
		  "defaults.configs) is above the replication factor 1" },
		{ HEAD2 "defaults:\n  replication_factor: 1\n"
		  "  configs: {min.insync.replicas: 2}\n"
		  "topics:\n  - name: x\n", "t.yaml:17:34: ",
		  "defaults.configs: min.insync.replicas 2 is above the "
		  "replication factor 1" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "defaults:\n  configs: {min.insync.replicas: 2}\n",
		  "t.yaml:12:34: ", "min.insync.replicas 2 is above the "
		  "replication factor 1" },
	};

	run_bad(cases, sizeof(cases) / sizeof(cases[0]), "bad_numbers");
}

static void
test_manifest__bad_values(void)
{
	static const struct bad_case cases[] = {
		/* duplicates among brokers and with the controller */
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "  - {id: 1, host: h2, port: 9001, data_dir: /x}\n",
		  "t.yaml:11:10: ", "brokers[1].id: duplicate broker id 1 "
		  "(also at line 7)" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001") BROKER("2", "9001"),
		  "t.yaml:13:11: ", "brokers[1].port: h:9001 is also broker 1's "
		  "(line 7)" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "  - {id: 2, host: H, port: 9001, data_dir: /x}\n",
		  "t.yaml:11:28: ", "brokers[1].port: H:9001 is also broker 1's" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9000"), "t.yaml:9:11: ",
		  "brokers[0].port: h:9000 is the controller's address" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "  - {id: 2, host: h, port: 9002, data_dir: /b1/}\n",
		  "t.yaml:11:44: ", "brokers[1].data_dir: '/b1' is also broker "
		  "1's on h (line 7)" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: h, port: 9001, data_dir: /c}\n",
		  "t.yaml:7:44: ", "brokers[0].data_dir: '/c' is the "
		  "controller's data_dir on h" },
		/* names and hosts */
		{ "cluster: my cluster\n" CTRL "brokers:\n" BROKER("1", "9001"),
		  "t.yaml:1:10: ", "cluster: 'my cluster' may use only letters, "
		  "digits, '.', '_' and '-'" },
		{ "cluster: ''\n" CTRL "brokers:\n" BROKER("1", "9001"),
		  "t.yaml:1:10: ", "cluster: '' must be 1 to 63 characters" },
		{ CLUSTER "controller:\n  host: 0.0.0.0\n  port: 9000\n"
		  "  data_dir: /c\n" "brokers:\n" BROKER("1", "9001"),
		  "t.yaml:3:9: ", "controller.host: '0.0.0.0' is a wildcard "
		  "address" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: -oProxyCommand=x, port: 9001, data_dir: /b}\n",
		  "t.yaml:7:19: ", "brokers[0].host: '-oProxyCommand=x' is not "
		  "a host name or IP address" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: '[::1]', port: 9001, data_dir: /b}\n",
		  "t.yaml:7:19: ", "'[::1]' is not a host name or IP address "
		  "(write IPv6 addresses without brackets)" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {user: -l}\n", "t.yaml:11:17: ",
		  "brokers[0].ssh.user: '-l' must not start with '-'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {user: 'a b'}\n", "t.yaml:11:17: ",
		  "brokers[0].ssh.user: 'a b' may use only letters" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {install_dir: ~klog/x}\n", "t.yaml:11:24: ",
		  "brokers[0].ssh.install_dir: '~klog/x': only '~/' is "
		  "understood" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    ssh: {install_dir: '~/'}\n", "t.yaml:11:24: ",
		  "'~/' names the home directory itself" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: h, port: 9001, data_dir: b1, ssh: {}}\n",
		  "t.yaml:7:44: ", "brokers[0].data_dir: 'b1' is not absolute; "
		  "a broker managed over ssh" },
		{ CLUSTER "controller:\n  host: h\n  port: 9000\n"
		  "  data_dir: ~/c\n  ssh: {user: k}\n" "brokers:\n"
		  BROKER("1", "9001"), "t.yaml:5:13: ", "controller.data_dir: "
		  "'~/c' is not absolute; a controller managed over ssh" },
		{ CLUSTER "controller:\n  host: h\n  port: 9000\n"
		  "  data_dir: /c\n  ssh: {user: -x}\n" "brokers:\n"
		  BROKER("1", "9001"), "t.yaml:6:15: ",
		  "controller.ssh.user: '-x' must not start with '-'" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001")
		  "    rack: 'rack 1'\n", "t.yaml:11:11: ",
		  "brokers[0].rack: 'rack 1' must not contain spaces" },
		/* racks: all brokers or none */
		{ HEAD2 "  - {id: 3, host: h, port: 9003, data_dir: /b3,"
		  " rack: r1}\n", "t.yaml:15:55: ", "brokers[2].rack: set here "
		  "but not for the broker at line 7" },
		{ CLUSTER CTRL "brokers:\n" BROKER("1", "9001") "    rack: r1\n"
		  BROKER("2", "9002"), "t.yaml:12:5: ", "brokers[1]: no rack, but "
		  "the broker at line 7 has one" },
		/* paths */
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: h, port: 9001, data_dir: ~klog/b}\n",
		  "t.yaml:7:44: ", "brokers[0].data_dir: '~klog/b': only '~/' is "
		  "expanded" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: h, port: 9001, data_dir: \"/b\\n\"}\n",
		  "t.yaml:7:44: ", "contains a control character" },
		{ CLUSTER CTRL "brokers:\n"
		  "  - {id: 1, host: h, port: 9001, data_dir: ''}\n",
		  "t.yaml:7:44: ", "brokers[0].data_dir: must not be empty" },
		/* topic names, as Kafka checks them */
		{ HEAD2 "topics:\n  - name: my topic\n", "t.yaml:16:11: ",
		  "topics[0].name: 'my topic' may use only letters" },
		{ HEAD2 "topics:\n  - name: a/b\n", "t.yaml:16:11: ",
		  "'a/b' may use only letters" },
		{ HEAD2 "topics:\n  - name: .\n", "t.yaml:16:11: ",
		  "topics[0].name: a topic cannot be named '.'" },
		{ HEAD2 "topics:\n  - name: '..'\n", "t.yaml:16:11: ",
		  "a topic cannot be named '..'" },
		{ HEAD2 "topics:\n  - name: __consumer_offsets\n",
		  "t.yaml:16:11: ", "'__consumer_offsets': names starting with "
		  "'__' are reserved" },
		{ HEAD2 "topics:\n  - name: \"caf\xc3\xa9\"\n", "t.yaml:16:11: ",
		  "may use only letters" },
		{ HEAD2 "topics:\n  - name: a\n  - name: b\n  - name: a\n",
		  "t.yaml:18:11: ", "topics[2].name: duplicate topic 'a' (also "
		  "at line 16)" },
		{ HEAD2 "topics:\n  - name: a.b\n  - name: a_b\n",
		  "t.yaml:17:11: ", "topics[1].name: topic 'a_b' collides with "
		  "'a.b' (line 16)" },
	};

	run_bad(cases, sizeof(cases) / sizeof(cases[0]), "bad_values");
}

static void
test_manifest__topic_name_length(void)
{
	char text[1024], name[260];
	struct manifest *m;
	struct err e;

	memset(name, 'x', 249);
	name[249] = '\0';
	snprintf(text, sizeof(text), HEAD2 "topics:\n  - name: %s\n", name);
	m = load(text, &e);
	CHECKF(m != NULL && strlen(m->topics[0].name) == 249, "%s", e.msg);
	manifest_free(m);

	memcpy(name + 249, "x", 2);
	snprintf(text, sizeof(text), HEAD2 "topics:\n  - name: %s\n", name);
	m = load(text, &e);
	CHECK(m == NULL && e.code == EXIT_CONFIG);
	CHECKF(strncmp(e.msg, "t.yaml:16:11: topics[0].name: 'xxx", 34) == 0 &&
	    strstr(e.msg, "' must be 1 to 249 characters"), "%s", e.msg);

	/* Different hosts may share ports and data dirs. */
	m = load(CLUSTER CTRL "brokers:\n"
	    "  - {id: 1, host: h, port: 9100, data_dir: /d}\n"
	    "  - {id: 2, host: h2, port: 9100, data_dir: /d}\n"
	    "  - {id: 3, host: fe80::1%eth0, port: 9100, data_dir: /c}\n", &e);
	CHECKF(m != NULL && m->nbrokers == 3, "%s", e.msg);
	manifest_free(m);
}

/* install_dir is a remote path: defaulted, "~/" stripped, never resolved. */
static void
test_manifest__ssh_dirs(void)
{
	struct manifest *m;
	struct err e;

	m = load(CLUSTER "controller:\n  host: h\n  port: 9000\n"
	    "  data_dir: /c\n  ssh: {port: 2222, install_dir: /opt/klog/}\n"
	    "brokers:\n"
	    "  - {id: 1, host: h, port: 9001, data_dir: /b1, ssh: {}}\n"
	    "  - {id: 2, host: h2, port: 9001, data_dir: /b2,"
	    " ssh: {install_dir: ~/k2}}\n"
	    "  - {id: 3, host: h3, port: 9001, data_dir: /b3,"
	    " ssh: {install_dir: rel/dir}}\n"
	    "  - {id: 4, host: h4, port: 9001, data_dir: b4}\n", &e);
	CHECKF(m != NULL, "%s", e.msg);
	if (m == NULL)
		return;
	CHECK(m->controller.has_ssh && m->controller.ssh.port == 2222);
	CHECK(strcmp(m->controller.ssh.install_dir, "/opt/klog") == 0);
	CHECK(m->controller.data_dir_absolute);
	CHECK(strcmp(m->brokers[0].ssh.install_dir, "klog") == 0);
	CHECK(strcmp(m->brokers[1].ssh.install_dir, "k2") == 0);
	CHECK(strcmp(m->brokers[2].ssh.install_dir, "rel/dir") == 0);
	/* Without ssh a relative data_dir is fine: it resolves here. */
	CHECK(!m->brokers[3].has_ssh && !m->brokers[3].data_dir_absolute);
	CHECK(m->brokers[3].data_dir[0] == '/');
	manifest_free(m);

	m = load(CLUSTER CTRL "brokers:\n" BROKER("1", "9001"), &e);
	CHECKF(m != NULL && !m->controller.has_ssh, "%s", e.msg);
	manifest_free(m);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
test_manifest__paths(void)
{
	static const char text[] =
	    CLUSTER
	    "controller: {host: h, port: 9000, data_dir: ctrld}\n"
	    "brokers:\n"
	    "  - {id: 1, host: h, port: 9001, data_dir: ./data/b1/}\n"
	    "  - {id: 2, host: h, port: 9002, data_dir: ../up/b2}\n"
	    "  - {id: 3, host: h, port: 9003, data_dir: ~/klog/b3}\n"
	    "  - {id: 4, host: h, port: 9004, data_dir: '~'}\n"
	    "  - {id: 5, host: h, port: 9005, data_dir: ../../..}\n"
	    "  - {id: 6, host: h, port: 9006, data_dir: a/../b}\n"
	    "  - {id: 7, host: h, port: 9007, data_dir: /b7,"
	    " ssh: {identity: keys/id}}\n"
	    "  - {id: 8, host: h, port: 9008, data_dir: /b8,"
	    " ssh: {identity: ~/.ssh/id_ed25519}}\n";
	char dir[] = "/tmp/klog-manifest-XXXXXX", real[PATH_MAX];
	char sub[64], path[96], want[PATH_MAX + 64];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	struct manifest *m = NULL;
	struct err e;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(realpath(dir, real) != NULL);
	snprintf(sub, sizeof(sub), "%s/conf", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof(path), "%s/cluster.yaml", sub);

	err_clear(&e);
	CHECK(manifest_load(path, &m, &e) == -1 && m == NULL);
	CHECKF(e.code == EXIT_NOINPUT && strstr(e.msg, path), "%d %s", e.code,
	    e.msg);

	CHECK(write_file(path, text) == 0);
	setenv("HOME", "/home/op/", 1);
	err_clear(&e);
	CHECK(manifest_load(path, &m, &e) == 0);
	CHECKF(m != NULL, "%s", e.msg);
	if (m != NULL && m->nbrokers == 8) {
		CHECK(strcmp(m->path, path) == 0);
		snprintf(want, sizeof(want), "%s/conf/ctrld", real);
		CHECKF(strcmp(m->controller.data_dir, want) == 0, "%s",
		    m->controller.data_dir);
		snprintf(want, sizeof(want), "%s/conf/data/b1", real);
		CHECKF(strcmp(m->brokers[0].data_dir, want) == 0, "%s",
		    m->brokers[0].data_dir);
		snprintf(want, sizeof(want), "%s/conf/keys/id", real);
		CHECKF(strcmp(m->brokers[6].ssh.identity, want) == 0, "%s",
		    m->brokers[6].ssh.identity);
		/* A leading ".." leaves the manifest's real directory. */
		snprintf(want, sizeof(want), "%s/up/b2", real);
		CHECKF(strcmp(m->brokers[1].data_dir, want) == 0, "%s",
		    m->brokers[1].data_dir);
		CHECKF(strcmp(m->brokers[2].data_dir, "/home/op/klog/b3") == 0,
		    "%s", m->brokers[2].data_dir);
		CHECKF(strcmp(m->brokers[7].ssh.identity,
		    "/home/op/.ssh/id_ed25519") == 0, "%s",
		    m->brokers[7].ssh.identity);
		CHECKF(strcmp(m->brokers[3].data_dir, "/home/op") == 0, "%s",
		    m->brokers[3].data_dir);
		CHECK(m->brokers[4].data_dir[0] == '/');
		/* ".." after a name is the kernel's business (symlinks). */
		snprintf(want, sizeof(want), "%s/conf/a/../b", real);
		CHECKF(strcmp(m->brokers[5].data_dir, want) == 0, "%s",
		    m->brokers[5].data_dir);
	}
	manifest_free(m);
	m = NULL;

	/* "~/" needs an absolute HOME. */
	unsetenv("HOME");
	err_clear(&e);
	CHECK(manifest_load(path, &m, &e) == -1 && m == NULL);
	CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, ":6:44: brokers[2]."
	    "data_dir: '~/klog/b3': HOME is not set"), "%s", e.msg);
	if (home != NULL)
		setenv("HOME", home, 1);
	free(home);

	/* A manifest over the size limit is a configuration error. */
	{
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (f != NULL) {
			CHECK(fseek(f, MANIFEST_MAX_BYTES, SEEK_SET) == 0);
			fputc('\n', f);
			fclose(f);
		}
		err_clear(&e);
		CHECK(manifest_load(path, &m, &e) == -1 && m == NULL);
		CHECKF(e.code == EXIT_CONFIG && strstr(e.msg, path), "%d %s",
		    e.code, e.msg);
	}

	/* From a string, relative paths resolve against the name's directory. */
	snprintf(want, sizeof(want), "%s/conf/cluster.yaml", dir);
	CHECK(manifest_load_string(want, text, strlen(text), &m, &e) == 0);
	if (m != NULL) {
		snprintf(want, sizeof(want), "%s/conf/ctrld", real);
		CHECKF(strcmp(m->controller.data_dir, want) == 0, "%s",
		    m->controller.data_dir);
	}
	manifest_free(m);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* The shipped examples load as they are (run from the repository root). */
static void
test_manifest__examples(void)
{
	const struct manifest_topic *t;
	struct manifest *m = NULL;
	struct err e;

	err_clear(&e);
	CHECKF(manifest_load("examples/cluster-1.yaml", &m, &e) == 0, "%s",
	    e.msg);
	if (m != NULL) {
		CHECK(m->nbrokers == 1 && m->brokers[0].port == 9392);
		CHECK(m->controller.port == 9390);
		CHECK(strcmp(m->brokers[0].data_dir, "/tmp/klog-cluster1/b1") == 0);
		CHECK(m->offsets_topic_replication_factor == 1);
	}
	manifest_free(m);
	m = NULL;

	err_clear(&e);
	CHECKF(manifest_load("examples/cluster-3.yaml", &m, &e) == 0, "%s",
	    e.msg);
	if (m != NULL) {
		CHECK(m->nbrokers == 3 && m->controller.port == 9490);
		CHECK(m->brokers[0].port == 9491 && m->brokers[1].port == 9492 &&
		    m->brokers[2].port == 9493);
		CHECK(strcmp(m->brokers[2].data_dir, "/tmp/klog-cluster3/b3") == 0);
		CHECK(strcmp(m->controller.data_dir, "/tmp/klog-cluster3/ctrld") ==
		    0);
		t = manifest_topic(m, "events");
		CHECK(t != NULL && t->partitions == 6 &&
		    t->replication_factor == 3 &&
		    tconf_i64(&t->configs, NULL, TCONF_MIN_INSYNC_REPLICAS) == 2);
	}
	manifest_free(m);
}

int
main(void)
{
	TEST(test_manifest__round_trip);
	TEST(test_manifest__defaults);
	TEST(test_manifest__config_inheritance);
	TEST(test_manifest__scalars);
	TEST(test_manifest__bad_keys);
	TEST(test_manifest__bad_numbers);
	TEST(test_manifest__bad_values);
	TEST(test_manifest__topic_name_length);
	TEST(test_manifest__paths);
	TEST(test_manifest__ssh_dirs);
	TEST(test_manifest__examples);
	TEST_DONE();
}
