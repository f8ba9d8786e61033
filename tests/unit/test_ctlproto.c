/* SPDX-License-Identifier: MIT */
/*
 * Private cluster protocol codecs: every message survives encode, decode,
 * encode byte for byte; every truncation of every message fails cleanly
 * (ASan catches leaks and overreads); hostile counts, long strings and
 * misnumbered partitions are refused; ClusterState copies and lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "proto.h"
#include "tinytest.h"

static struct ctl_config sample_configs[2] = {
	{ (char *)(uintptr_t)"cleanup.policy", (char *)(uintptr_t)"compact" },
	{ (char *)(uintptr_t)"min.insync.replicas", (char *)(uintptr_t)"2" },
};

static struct cluster_partition sample_parts[2] = {
	{ 0, 1, 3, 7, 3, 2, { 1, 2, 3 }, { 1, 2 } },
	{ 1, -1, 4, 9, 3, 1, { 2, 3, 1 }, { 2 } },
};

static struct cluster_topic sample_topics[2] = {
	{ "orders", false, sample_configs, 2, sample_parts, 2 },
	{ "__consumer_offsets", true, NULL, 0, sample_parts, 1 },
};

static struct cluster_broker sample_brokers[3] = {
	{ 1, "127.0.0.1", 9092, "a", true },
	{ 2, "127.0.0.1", 9093, "", false },
	{ 3, "host-3.example", 9094, "b", true },
};

static void
sample_state(struct cluster_state *s)
{
	cluster_state_init(s);
	snprintf(s->cluster_id, sizeof(s->cluster_id), "klog-test");
	s->version = 42;
	s->brokers = sample_brokers;
	s->nbrokers = 3;
	s->topics = sample_topics;
	s->ntopics = 2;
}

/* One message type: write a sample, and decode + re-encode a body. */
struct codec {
	const char *name;
	void (*write_sample)(struct buf *b);
	int (*reencode)(struct breader *r, struct buf *out, struct err *e);
};

#define REENCODE(fn, type, rd, wr, rel)                                    \
	static int fn(struct breader *r, struct buf *out, struct err *e)   \
	{                                                                  \
		type m;                                                    \
		if (rd(r, &m, e) < 0)                                      \
			return -1;                                         \
		wr(out, &m);                                               \
		rel;                                                       \
		return 0;                                                  \
	}

static void
w_state(struct buf *b)
{
	struct cluster_state s;

	sample_state(&s);
	ctlproto_write_cluster_state(b, &s);
}
REENCODE(r_state, struct cluster_state, ctlproto_read_cluster_state,
    ctlproto_write_cluster_state, cluster_state_release(&m))

static void
w_hb_req(struct buf *b)
{
	struct ctl_heartbeat_req m = { 3, 0x1234567890LL, "127.0.0.1", 9094,
		17, 500, true };

	ctlproto_write_heartbeat_req(b, &m);
}
REENCODE(r_hb_req, struct ctl_heartbeat_req, ctlproto_read_heartbeat_req,
    ctlproto_write_heartbeat_req, (void)0)

static void
w_hb_resp(struct buf *b)
{
	struct cluster_state s;
	struct ctl_heartbeat_resp m = { 0, "", 6000, &s };

	sample_state(&s);
	ctlproto_write_heartbeat_resp(b, &m);
}

static void
w_hb_resp_null(struct buf *b)
{
	struct ctl_heartbeat_resp m = { KERR_STALE_BROKER_EPOCH, "old", 6000,
		NULL };

	ctlproto_write_heartbeat_resp(b, &m);
}
REENCODE(r_hb_resp, struct ctl_heartbeat_resp, ctlproto_read_heartbeat_resp,
    ctlproto_write_heartbeat_resp, ctlproto_release_heartbeat_resp(&m))

static struct ctl_isr_item sample_items[3] = {
	{ "a", 0, 1, 2, 2, { 1, 2 } },
	{ "a", 1, 1, 5, 1, { 3 } },
	{ "b", 0, 0, 0, 3, { 1, 2, 3 } },
};

static void
w_isr_req(struct buf *b)
{
	struct ctl_alter_isr_req m = { 1, 99, sample_items, 3 };

	ctlproto_write_alter_isr_req(b, &m);
}
REENCODE(r_isr_req, struct ctl_alter_isr_req, ctlproto_read_alter_isr_req,
    ctlproto_write_alter_isr_req, ctlproto_release_alter_isr_req(&m))

static void
w_isr_resp(struct buf *b)
{
	struct ctl_isr_result res[2] = {
		{ "a", 0, KERR_INVALID_UPDATE_VERSION, 1, 1, 3, 2, { 1, 2 } },
		{ "b", 4, 0, 2, 7, 8, 1, { 2 } },
	};
	struct ctl_alter_isr_resp m = { 0, "", res, 2 };

	ctlproto_write_alter_isr_resp(b, &m);
}
REENCODE(r_isr_resp, struct ctl_alter_isr_resp, ctlproto_read_alter_isr_resp,
    ctlproto_write_alter_isr_resp, ctlproto_release_alter_isr_resp(&m))

static void
w_sd_req(struct buf *b)
{
	struct ctl_shutdown_req m = { 2, -5 };

	ctlproto_write_shutdown_req(b, &m);
}
REENCODE(r_sd_req, struct ctl_shutdown_req, ctlproto_read_shutdown_req,
    ctlproto_write_shutdown_req, (void)0)

static void
w_sd_resp(struct buf *b)
{
	struct ctl_shutdown_resp m = { 0, "moved", 3 };

	ctlproto_write_shutdown_resp(b, &m);
}
REENCODE(r_sd_resp, struct ctl_shutdown_resp, ctlproto_read_shutdown_resp,
    ctlproto_write_shutdown_resp, (void)0)

static void
w_describe(struct buf *b)
{
	struct ctl_broker_age ages[2] = { { 1, 12 }, { 2, -1 } };
	struct ctl_describe_resp m = { 0, "", 4, { "", 0, NULL, 0, NULL, 0 },
		ages, 2 };

	sample_state(&m.state);
	ctlproto_write_describe_resp(b, &m);
}
REENCODE(r_describe, struct ctl_describe_resp, ctlproto_read_describe_resp,
    ctlproto_write_describe_resp, ctlproto_release_describe_resp(&m))

static void
w_apply_req(struct buf *b)
{
	struct ctl_apply_topic t[2] = {
		{ "orders", 6, 3, sample_configs, 2 },
		{ "logs", 1, 1, NULL, 0 },
	};
	struct ctl_apply_req m = { true, t, 2 };

	ctlproto_write_apply_req(b, &m);
}
REENCODE(r_apply_req, struct ctl_apply_req, ctlproto_read_apply_req,
    ctlproto_write_apply_req, ctlproto_release_apply_req(&m))

static void
w_apply_resp(struct buf *b)
{
	struct ctl_apply_action a[2] = {
		{ "orders", "add-partitions", (char *)(uintptr_t)"3 -> 6" },
		{ "", "error", (char *)(uintptr_t)"shrinking refused" },
	};
	struct ctl_apply_resp m = { 0, "", a, 2 };

	ctlproto_write_apply_resp(b, &m);
}
REENCODE(r_apply_resp, struct ctl_apply_resp, ctlproto_read_apply_resp,
    ctlproto_write_apply_resp, ctlproto_release_apply_resp(&m))

static void
w_rs_req(struct buf *b)
{
	struct ctl_replica_state_req m = { -1, 1000 };

	ctlproto_write_replica_state_req(b, &m);
}
REENCODE(r_rs_req, struct ctl_replica_state_req,
    ctlproto_read_replica_state_req, ctlproto_write_replica_state_req,
    (void)0)

static void
w_rs_resp(struct buf *b)
{
	struct ctl_replica_partition p[2] = {
		{ "orders", 0, 1, "127.0.0.1", 9092, 3, 0, 100, 2, 90 },
		{ "orders", 1, -1, "", 0, 0, 5, 5, -1, 5 },
	};
	struct ctl_replica_state_resp m = { 0, "", 2, 11, p, 2 };

	ctlproto_write_replica_state_resp(b, &m);
}
REENCODE(r_rs_resp, struct ctl_replica_state_resp,
    ctlproto_read_replica_state_resp, ctlproto_write_replica_state_resp,
    ctlproto_release_replica_state_resp(&m))

static void
w_ra_req(struct buf *b)
{
	static const uint8_t rec[5] = { 1, 2, 3, 4, 5 };
	struct ctl_replica_append_req m = { "orders", 2, 7, 1000, rec, 5 };

	ctlproto_write_replica_append_req(b, &m);
}
REENCODE(r_ra_req, struct ctl_replica_append_req,
    ctlproto_read_replica_append_req, ctlproto_write_replica_append_req,
    (void)0)

static void
w_ra_resp(struct buf *b)
{
	struct ctl_replica_append_resp m = { KERR_OFFSET_OUT_OF_RANGE, "gap",
		77, 70 };

	ctlproto_write_replica_append_resp(b, &m);
}
REENCODE(r_ra_resp, struct ctl_replica_append_resp,
    ctlproto_read_replica_append_resp, ctlproto_write_replica_append_resp,
    (void)0)

static void
w_rt_req(struct buf *b)
{
	struct ctl_replica_truncate_req m = { "orders", 0, 3, 55 };

	ctlproto_write_replica_truncate_req(b, &m);
}
REENCODE(r_rt_req, struct ctl_replica_truncate_req,
    ctlproto_read_replica_truncate_req, ctlproto_write_replica_truncate_req,
    (void)0)

static void
w_rt_resp(struct buf *b)
{
	struct ctl_replica_truncate_resp m = { 0, "", 55 };

	ctlproto_write_replica_truncate_resp(b, &m);
}
REENCODE(r_rt_resp, struct ctl_replica_truncate_resp,
    ctlproto_read_replica_truncate_resp, ctlproto_write_replica_truncate_resp,
    (void)0)

static const struct codec codecs[] = {
	{ "ClusterState", w_state, r_state },
	{ "BrokerHeartbeat req", w_hb_req, r_hb_req },
	{ "BrokerHeartbeat resp", w_hb_resp, r_hb_resp },
	{ "BrokerHeartbeat resp null", w_hb_resp_null, r_hb_resp },
	{ "AlterIsr req", w_isr_req, r_isr_req },
	{ "AlterIsr resp", w_isr_resp, r_isr_resp },
	{ "ControlledShutdown req", w_sd_req, r_sd_req },
	{ "ControlledShutdown resp", w_sd_resp, r_sd_resp },
	{ "DescribeCluster resp", w_describe, r_describe },
	{ "ApplyTopics req", w_apply_req, r_apply_req },
	{ "ApplyTopics resp", w_apply_resp, r_apply_resp },
	{ "ReplicaState req", w_rs_req, r_rs_req },
	{ "ReplicaState resp", w_rs_resp, r_rs_resp },
	{ "ReplicaAppend req", w_ra_req, r_ra_req },
	{ "ReplicaAppend resp", w_ra_resp, r_ra_resp },
	{ "ReplicaTruncate req", w_rt_req, r_rt_req },
	{ "ReplicaTruncate resp", w_rt_resp, r_rt_resp },
};

static void
test_ctlproto__round_trip(void)
{
	size_t i;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		struct buf a = BUF_INIT, b = BUF_INIT;
		struct breader r;
		struct err e = { 0 };

		codecs[i].write_sample(&a);
		br_init(&r, a.data, a.len);
		CHECKF(codecs[i].reencode(&r, &b, &e) == 0, "%s: %s",
		    codecs[i].name, e.msg);
		CHECKF(br_left(&r) == 0, "%s: %zu bytes left", codecs[i].name,
		    br_left(&r));
		CHECKF(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
		    "%s: re-encoding differs", codecs[i].name);
		buf_release(&a);
		buf_release(&b);
	}
}

static void
test_ctlproto__truncated(void)
{
	size_t i, n;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		struct buf a = BUF_INIT;

		codecs[i].write_sample(&a);
		for (n = 0; n < a.len; n++) {
			struct buf b = BUF_INIT;
			struct breader r;
			struct err e = { 0 };
			/* A copy of exactly n bytes, so ASan sees overreads. */
			uint8_t *cut = malloc(n ? n : 1);

			memcpy(cut, a.data, n);
			br_init(&r, cut, n);
			CHECKF(codecs[i].reencode(&r, &b, &e) == -1 &&
			    e.code == EXIT_PROTOCOL, "%s cut at %zu",
			    codecs[i].name, n);
			free(cut);
			buf_release(&b);
		}
		buf_release(&a);
	}
}

/* Decode `data` as a ClusterState and expect refusal mentioning `why`. */
static void
expect_state_refused(const struct buf *data, const char *why)
{
	struct cluster_state s;
	struct breader r;
	struct err e = { 0 };

	br_init(&r, data->data, data->len);
	CHECKF(ctlproto_read_cluster_state(&r, &s, &e) == -1 &&
	    strstr(e.msg, why) != NULL, "want '%s', got '%s'", why, e.msg);
	CHECK(s.ntopics == 0 && s.topics == NULL && s.brokers == NULL);
}

static void
state_head(struct buf *b, int32_t nbrokers)
{
	proto_put_cstr(b, "c");
	buf_put_i64(b, 1);
	buf_put_i32(b, nbrokers);
}

static void
test_ctlproto__hostile_counts(void)
{
	struct buf b = BUF_INIT;
	int i;

	state_head(&b, INT32_MAX);		/* beyond the frame */
	expect_state_refused(&b, "array length exceeds the frame");
	buf_clear(&b);
	state_head(&b, -2);
	expect_state_refused(&b, "bad array length");
	buf_clear(&b);
	state_head(&b, CTLPROTO_MAX_BROKERS + 1);	/* bytes present */
	buf_extend(&b, 13 * (CTLPROTO_MAX_BROKERS + 1));
	expect_state_refused(&b, "too many brokers");
	buf_clear(&b);

	/* One topic whose partition has 33 replicas. */
	state_head(&b, 0);
	buf_put_i32(&b, 1);
	proto_put_cstr(&b, "t");
	proto_put_bool(&b, false);
	buf_put_i32(&b, 0);
	buf_put_i32(&b, 1);
	for (i = 0; i < 4; i++)
		buf_put_i32(&b, 0);
	buf_put_i32(&b, CTLPROTO_MAX_REPLICAS + 1);
	for (i = 0; i <= CTLPROTO_MAX_REPLICAS; i++)
		buf_put_i32(&b, i);
	buf_put_i32(&b, 0);
	expect_state_refused(&b, "too many replicas");
	buf_release(&b);
}

static void
test_ctlproto__bad_fields(void)
{
	struct cluster_topic t = { "t", false, NULL, 0, NULL, 0 };
	struct cluster_partition p[2] = { { 0 }, { 0 } };
	struct buf b = BUF_INIT;
	char longname[300];

	/* Partition 1 numbered 0: refused, so partitions[p] is p. */
	t.partitions = p;
	t.npartitions = 2;
	state_head(&b, 0);
	buf_put_i32(&b, 1);
	ctlproto_write_topic(&b, &t);
	expect_state_refused(&b, "partitions not numbered");
	buf_clear(&b);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	state_head(&b, 0);
	buf_put_i32(&b, 1);
	proto_put_cstr(&b, longname);
	buf_put(&b, "\0\0\0\0\0\0\0\0\0", 9);	/* rest of the topic */
	expect_state_refused(&b, "bad topic name");
	buf_clear(&b);

	state_head(&b, 0);
	buf_put_i32(&b, 1);
	proto_put_str(&b, "a\0b", 3);
	buf_put(&b, "\0\0\0\0\0\0\0\0\0", 9);	/* rest of the topic */
	expect_state_refused(&b, "bad topic name");
	buf_clear(&b);

	state_head(&b, 0);
	buf_put_i32(&b, 1);
	proto_put_cstr(&b, "");
	buf_put(&b, "\0\0\0\0\0\0\0\0\0", 9);	/* rest of the topic */
	expect_state_refused(&b, "empty topic name");
	buf_release(&b);
}

static void
test_ctlproto__isr_items_capped(void)
{
	struct ctl_alter_isr_req m;
	struct breader r;
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	int32_t t;

	/* Many topics each claiming the max partitions: the total cap bites. */
	buf_put_i32(&b, 1);
	buf_put_i64(&b, 1);
	buf_put_i32(&b, 3);
	for (t = 0; t < 3; t++) {
		proto_put_cstr(&b, "t");
		buf_put_i32(&b, CTLPROTO_MAX_PARTITIONS);
		memset(buf_extend(&b, 16 * CTLPROTO_MAX_PARTITIONS), 0,
		    16 * CTLPROTO_MAX_PARTITIONS);
	}
	br_init(&r, b.data, b.len);
	CHECK(ctlproto_read_alter_isr_req(&r, &m, &e) == -1);
	CHECKF(strstr(e.msg, "too many items") != NULL, "%s", e.msg);
	CHECK(m.items == NULL && m.nitems == 0);
	buf_release(&b);
}

static void
test_ctlproto__state_copy_and_lookup(void)
{
	struct cluster_state s, c, *d;
	const struct cluster_partition *p;
	struct err e = { 0 };

	sample_state(&s);
	CHECK(cluster_state_copy(&s, &c, &e) == 0);
	CHECK(c.topics != s.topics && c.topics[0].configs != s.topics[0].configs);
	p = cluster_state_partition(&c, "orders", 1);
	CHECK(p != NULL && p->leader == -1 && p->partition_epoch == 9);
	CHECK(cluster_state_partition(&c, "orders", 2) == NULL);
	CHECK(cluster_state_partition(&c, "nope", 0) == NULL);
	CHECK(cluster_partition_has_replica(p, 1));
	CHECK(!cluster_partition_in_isr(p, 1) && cluster_partition_in_isr(p, 2));
	CHECK(strcmp(cluster_topic_config(&c.topics[0], "cleanup.policy"),
	    "compact") == 0);
	CHECK(cluster_topic_config(&c.topics[1], "cleanup.policy") == NULL);
	CHECK(cluster_state_broker(&c, 3) != NULL &&
	    strcmp(cluster_state_broker(&c, 3)->rack, "b") == 0);
	CHECK(cluster_state_broker(&c, 9) == NULL);
	CHECK(cluster_state_topic_index(&c, "__consumer_offsets") == 1);
	d = cluster_state_dup(&c);
	CHECK(d != NULL && d->version == 42 && d->topics[1].internal);
	cluster_state_free(d);
	cluster_state_release(&c);
	CHECK(c.ntopics == 0 && c.version == -1);
	cluster_state_free(NULL);
}

static void
test_ctlproto__names(void)
{
	CHECK(strcmp(ctlproto_api_name(API_KLOG_ALTER_ISR), "AlterIsr") == 0);
	CHECK(ctlproto_is_private(API_KLOG_REPLICA_TRUNCATE));
	CHECK(!ctlproto_is_private(API_FETCH));
	CHECK(!ctlproto_is_private(32005));
	CHECK(strcmp(proto_error_name(KERR_STALE_BROKER_EPOCH),
	    "STALE_BROKER_EPOCH") == 0);
	CHECK(strcmp(proto_error_name(KERR_INVALID_UPDATE_VERSION),
	    "INVALID_UPDATE_VERSION") == 0);
	CHECK(strcmp(proto_error_name(KERR_INELIGIBLE_REPLICA),
	    "INELIGIBLE_REPLICA") == 0);
}

int
main(void)
{
	TEST(test_ctlproto__round_trip);
	TEST(test_ctlproto__truncated);
	TEST(test_ctlproto__hostile_counts);
	TEST(test_ctlproto__bad_fields);
	TEST(test_ctlproto__isr_items_capped);
	TEST(test_ctlproto__state_copy_and_lookup);
	TEST(test_ctlproto__names);
	TEST_DONE();
}
