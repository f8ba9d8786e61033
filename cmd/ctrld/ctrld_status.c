/* SPDX-License-Identifier: MIT */
/*
 * `ctrld status`: asks the controller for the cluster (DescribeCluster)
 * and prints a broker table, a partition table with its flags
 * (under-replicated, under-min-isr, offline) and a summary line, or all
 * of it as one JSON document. Exit 0 when healthy, 1 when degraded (a
 * broker down or a partition flagged), 69 when the controller is
 * unreachable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "banned.h"

enum {
	FLAG_UNDER_REPLICATED = 1 << 0,
	FLAG_UNDER_MIN_ISR = 1 << 1,
	FLAG_OFFLINE = 1 << 2
};

struct summary {
	int32_t brokers, down, partitions;
	int32_t under_replicated, under_min_isr, offline;
};

static int
min_isr(const struct cluster_topic *t)
{
	const char *v = cluster_topic_config(t, "min.insync.replicas");

	return v != NULL ? (int)strtol(v, NULL, 10) : 1;
}

static unsigned
partition_flags(const struct cluster_topic *t, const struct cluster_partition *p)
{
	unsigned f = 0;

	if (p->nisr < p->nreplicas)
		f |= FLAG_UNDER_REPLICATED;
	if (p->nisr < min_isr(t))
		f |= FLAG_UNDER_MIN_ISR;
	if (p->leader < 0)
		f |= FLAG_OFFLINE;
	return f;
}

static const char *const flag_names[] = { "under-replicated",
	"under-min-isr", "offline" };

/* "under-replicated,offline", or "-" without flags. */
static void
flags_text(unsigned f, char *dst, size_t size)
{
	size_t i, off = 0;

	snprintf(dst, size, "-");
	for (i = 0; i < ARRAY_SIZE(flag_names) && off < size; i++)
		if (f & (1u << i))
			off += (size_t)snprintf(dst + off, size - off, "%s%s",
			    off ? "," : "", flag_names[i]);
}

static void
summarize(const struct cluster_state *s, struct summary *sum)
{
	int32_t i, j;

	memset(sum, 0, sizeof(*sum));
	sum->brokers = s->nbrokers;
	for (i = 0; i < s->nbrokers; i++)
		sum->down += !s->brokers[i].alive;
	for (i = 0; i < s->ntopics; i++)
		for (j = 0; j < s->topics[i].npartitions; j++) {
			unsigned f = partition_flags(&s->topics[i],
			    &s->topics[i].partitions[j]);

			sum->partitions++;
			sum->under_replicated += !!(f & FLAG_UNDER_REPLICATED);
			sum->under_min_isr += !!(f & FLAG_UNDER_MIN_ISR);
			sum->offline += !!(f & FLAG_OFFLINE);
		}
}

static bool
degraded(const struct summary *sum)
{
	return sum->down > 0 || sum->under_replicated > 0 ||
	    sum->under_min_isr > 0 || sum->offline > 0;
}

static void
print_brokers(const struct ctl_describe_resp *r)
{
	const struct cluster_state *s = &r->state;
	char addr[NET_ADDR_MAX + 8], hb[32];
	int32_t i;

	printf("%-6s %-22s %-10s %-6s %s\n", "ID", "HOST:PORT", "RACK",
	    "STATE", "LAST-HEARTBEAT");
	for (i = 0; i < s->nbrokers; i++) {
		const struct cluster_broker *b = &s->brokers[i];
		int64_t age = ctl_describe_heartbeat_age(r, b->id);

		snprintf(addr, sizeof(addr), "%s:%" PRId32, b->host, b->port);
		if (age < 0)
			snprintf(hb, sizeof(hb), "never");
		else
			snprintf(hb, sizeof(hb), "%" PRId64 ".%01" PRId64 "s ago",
			    age / 1000, (age % 1000) / 100);
		printf("%-6" PRId32 " %-22s %-10s %-6s %s\n", b->id, addr,
		    b->rack[0] ? b->rack : "-", b->alive ? "up" : "down", hb);
	}
}

static int
topic_width(const struct cluster_state *s)
{
	int32_t i;
	int w = 5;

	for (i = 0; i < s->ntopics; i++)
		if ((int)strlen(s->topics[i].name) > w)
			w = (int)strlen(s->topics[i].name);
	return w;
}

static void
print_partitions(const struct cluster_state *s)
{
	char reps[CTLPROTO_MAX_REPLICAS * 12], isr[CTLPROTO_MAX_REPLICAS * 12];
	char flags[64];
	int w = topic_width(s);
	int32_t i, j;

	printf("%-*s %-9s %-6s %-6s %-12s %-12s %s\n", w, "TOPIC",
	    "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "FLAGS");
	for (i = 0; i < s->ntopics; i++) {
		const struct cluster_topic *t = &s->topics[i];

		for (j = 0; j < t->npartitions; j++) {
			const struct cluster_partition *p = &t->partitions[j];

			cst_format_ids(p->replicas, p->nreplicas, reps,
			    sizeof(reps));
			cst_format_ids(p->isr, p->nisr, isr, sizeof(isr));
			flags_text(partition_flags(t, p), flags, sizeof(flags));
			printf("%-*s %-9" PRId32 " %-6" PRId32 " %-6" PRId32
			    " %-12s %-12s %s\n", w, t->name, p->partition,
			    p->leader, p->leader_epoch, reps, isr, flags);
		}
	}
}

static void
put_ids(struct json_obj *o, const char *key, const int32_t *v, int32_t n)
{
	struct json_arr a;
	int32_t i;

	json_obj_key(o, key);
	json_arr_begin(&a, o->b);
	for (i = 0; i < n; i++) {
		json_arr_next(&a);
		json_put_i64(o->b, v[i]);
	}
	json_arr_end(&a);
}

static void
put_flags(struct json_obj *o, unsigned f)
{
	struct json_arr a;
	size_t i;

	json_obj_key(o, "flags");
	json_arr_begin(&a, o->b);
	for (i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (f & (1u << i)) {
			json_arr_next(&a);
			json_put_cstr(o->b, flag_names[i]);
		}
	json_arr_end(&a);
}

static void
json_brokers(struct json_obj *top, const struct ctl_describe_resp *r)
{
	struct json_arr a;
	int32_t i;

	json_obj_key(top, "brokers");
	json_arr_begin(&a, top->b);
	for (i = 0; i < r->state.nbrokers; i++) {
		const struct cluster_broker *b = &r->state.brokers[i];
		struct json_obj o;

		json_arr_next(&a);
		json_obj_begin(&o, top->b);
		json_obj_i64(&o, "id", b->id);
		json_obj_cstr(&o, "host", b->host);
		json_obj_i64(&o, "port", b->port);
		if (b->rack[0])
			json_obj_cstr(&o, "rack", b->rack);
		else
			json_obj_null(&o, "rack");
		json_obj_cstr(&o, "state", b->alive ? "up" : "down");
		if (ctl_describe_heartbeat_age(r, b->id) >= 0)
			json_obj_i64(&o, "last_heartbeat_ms_ago",
			    ctl_describe_heartbeat_age(r, b->id));
		else
			json_obj_null(&o, "last_heartbeat_ms_ago");
		json_obj_end(&o);
	}
	json_arr_end(&a);
}

static void
json_partitions(struct json_obj *top, const struct cluster_state *s)
{
	struct json_arr a;
	int32_t i, j;

	json_obj_key(top, "partitions");
	json_arr_begin(&a, top->b);
	for (i = 0; i < s->ntopics; i++)
		for (j = 0; j < s->topics[i].npartitions; j++) {
			const struct cluster_topic *t = &s->topics[i];
			const struct cluster_partition *p = &t->partitions[j];
			struct json_obj o;

			json_arr_next(&a);
			json_obj_begin(&o, top->b);
			json_obj_cstr(&o, "topic", t->name);
			json_obj_i64(&o, "partition", p->partition);
			json_obj_i64(&o, "leader", p->leader);
			json_obj_i64(&o, "leader_epoch", p->leader_epoch);
			json_obj_i64(&o, "partition_epoch", p->partition_epoch);
			put_ids(&o, "replicas", p->replicas, p->nreplicas);
			put_ids(&o, "isr", p->isr, p->nisr);
			put_flags(&o, partition_flags(t, p));
			json_obj_end(&o);
		}
	json_arr_end(&a);
}

static void
json_summary(struct json_obj *top, const struct summary *sum)
{
	struct json_obj o;

	json_obj_key(top, "summary");
	json_obj_begin(&o, top->b);
	json_obj_i64(&o, "brokers", sum->brokers);
	json_obj_i64(&o, "brokers_down", sum->down);
	json_obj_i64(&o, "partitions", sum->partitions);
	json_obj_i64(&o, "under_replicated", sum->under_replicated);
	json_obj_i64(&o, "under_min_isr", sum->under_min_isr);
	json_obj_i64(&o, "offline", sum->offline);
	json_obj_bool(&o, "healthy", !degraded(sum));
	json_obj_end(&o);
}

static void
print_json(const char *addr, const struct ctl_describe_resp *r,
    const struct summary *sum)
{
	struct buf b = BUF_INIT;
	struct json_obj top;

	json_obj_begin(&top, &b);
	json_obj_i64(&top, "version", CTRLD_JSON_VERSION);
	json_obj_cstr(&top, "controller", addr);
	json_obj_i64(&top, "controller_epoch", r->controller_epoch);
	json_obj_cstr(&top, "cluster_id", r->state.cluster_id);
	json_obj_i64(&top, "state_version", r->state.version);
	json_brokers(&top, r);
	json_partitions(&top, &r->state);
	json_summary(&top, sum);
	json_obj_end(&top);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	buf_release(&b);
}

static void
print_text(const struct ctl_describe_resp *r, const struct summary *sum)
{
	print_brokers(r);
	printf("\n");
	print_partitions(&r->state);
	printf("\n%s: %" PRId32 " brokers (%" PRId32 " down), %" PRId32
	    " partitions (%" PRId32 " under-replicated, %" PRId32
	    " under-min-isr, %" PRId32 " offline), controller epoch %" PRId32
	    "\n", degraded(sum) ? "degraded" : "healthy", sum->brokers,
	    sum->down, sum->partitions, sum->under_replicated,
	    sum->under_min_isr, sum->offline, r->controller_epoch);
}

int
ctrld_status(const struct ctrld_opts *o)
{
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct ctl_describe_resp r;
	struct manifest *m = NULL;
	struct summary sum;
	char addr[NET_ADDR_MAX + 16];
	struct breader br;
	struct err e = { 0 };
	int rc;

	if (ctrld_client_target(o, &m, addr, sizeof(addr), &e) < 0 ||
	    ctrld_call(addr, API_KLOG_DESCRIBE_CLUSTER, &body, o->timeout_ms,
	    &resp, &e) < 0) {
		log_errorx("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
		goto out;
	}
	br_init(&br, resp.data, resp.len);
	if (ctlproto_read_describe_resp(&br, &r, &e) < 0) {
		log_errorx("controller %s: %s", addr, e.msg);
		rc = EXIT_PROTOCOL;
		goto out;
	}
	summarize(&r.state, &sum);
	if (o->json)
		print_json(addr, &r, &sum);
	else
		print_text(&r, &sum);
	rc = degraded(&sum) ? EXIT_FAIL : EXIT_OK;
	if (fflush(stdout) != 0)
		rc = EXIT_IOERR;
	ctlproto_release_describe_resp(&r);
out:
	buf_release(&resp);
	manifest_free(m);
	return rc;
}
