/* SPDX-License-Identifier: MIT */
/*
 * Topics in the controller: creation with replica assignment (rassign.h:
 * round-robin from a rotating start, rack-alternating), partitions added
 * with the same pattern, configs set and unset, and the comparison of a
 * wanted list (ApplyTopics, the manifest) with the state that `ctrld
 * apply` prints as a plan. Partitions are never removed and the
 * replication factor never changes here; both are refused per topic.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld.h"
#include "log.h"
#include "rassign.h"
#include "tconf.h"
#include "util.h"
#include "banned.h"

struct actions {
	struct ctl_apply_resp *out;
	int32_t cap;
	int32_t nerrors;
};

static void
add_action(struct actions *a, const char *topic, const char *action,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add_action(struct actions *a, const char *topic, const char *action,
    const char *fmt, ...)
{
	struct ctl_apply_action *x;
	char detail[512];
	va_list ap;

	if (a->out->nactions == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->out->actions = xrealloc(a->out->actions,
		    (size_t)a->cap * sizeof(*a->out->actions));
	}
	x = &a->out->actions[a->out->nactions++];
	memset(x, 0, sizeof(*x));
	snprintf(x->topic, sizeof(x->topic), "%s", topic);
	snprintf(x->action, sizeof(x->action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	x->detail = xstrdup(detail);
	a->nerrors += strcmp(action, "error") == 0;
}

/* Brokers in manifest order, for rassign. */
static struct rassign_broker *
assign_brokers(const struct ctrld_state *s)
{
	struct rassign_broker *v = xcalloc((size_t)s->cs.nbrokers + 1,
	    sizeof(*v));
	int32_t i;

	for (i = 0; i < s->cs.nbrokers; i++) {
		v[i].id = s->cs.brokers[i].id;
		v[i].rack = s->cs.brokers[i].rack;
	}
	return v;
}

static bool
broker_up(const struct ctrld_state *s, int32_t id)
{
	int32_t i = cluster_state_broker_index(&s->cs, id);

	return i >= 0 && s->cs.brokers[i].alive && !s->rt[i].shutting_down;
}

/*
 * Partitions [first, first + count) of `t` with `rf` replicas from
 * `start`: leader = first live replica, ISR = the live replicas (all of
 * them when none is live: the logs are equally empty), epochs 0.
 */
static int
fill_partitions(const struct ctrld_state *s, struct cluster_topic *t,
    int32_t rf, int32_t start, int32_t first, int32_t count, struct err *e)
{
	struct rassign_broker *brokers = assign_brokers(s);
	int32_t *ids = xcalloc((size_t)count * (size_t)rf, sizeof(*ids));
	int32_t i, j, rc;

	rc = rassign_replicas(brokers, (size_t)s->cs.nbrokers, rf, start,
	    first, count, ids, e);
	for (i = 0; i < count && rc == 0; i++) {
		struct cluster_partition *p = &t->partitions[first + i];

		memset(p, 0, sizeof(*p));
		p->partition = first + i;
		p->leader = -1;
		p->nreplicas = rf;
		for (j = 0; j < rf; j++) {
			int32_t id = ids[i * rf + j];

			p->replicas[j] = id;
			if (broker_up(s, id))
				p->isr[p->nisr++] = id;
		}
		if (p->nisr > 0)
			p->leader = p->isr[0];
		else {
			memcpy(p->isr, p->replicas, sizeof(p->isr));
			p->nisr = rf;
		}
	}
	free(ids);
	free(brokers);
	return rc;
}

static void
set_configs(struct cluster_topic *t, const struct ctl_config *c, int32_t n)
{
	int32_t i;

	for (i = 0; i < t->nconfigs; i++) {
		free(t->configs[i].key);
		free(t->configs[i].value);
	}
	free(t->configs);
	t->configs = n > 0 ? xcalloc((size_t)n, sizeof(*t->configs)) : NULL;
	t->nconfigs = n;
	for (i = 0; i < n; i++) {
		t->configs[i].key = xstrdup(c[i].key);
		t->configs[i].value = xstrdup(c[i].value);
	}
}

static int
create_topic(struct ctrld_state *s, const char *name, int32_t partitions,
    int32_t rf, const struct ctl_config *configs, int32_t nconfigs,
    bool internal, struct err *e)
{
	struct cluster_topic t;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.internal = internal;
	set_configs(&t, configs, nconfigs);
	t.partitions = xcalloc((size_t)partitions, sizeof(*t.partitions));
	t.npartitions = partitions;
	if (fill_partitions(s, &t, rf, s->topics_created, 0, partitions,
	    e) < 0) {
		cluster_topic_release(&t);
		return -1;
	}
	cst_queue_topic(s, &t);
	cst_put_topic(s, &t);
	log_info("topic=%s created: %" PRId32 " partitions, replication "
	    "factor %" PRId32, name, partitions, rf);
	return 0;
}

static int
add_partitions(struct ctrld_state *s, struct cluster_topic *t, int32_t want,
    struct err *e)
{
	struct rassign_broker *brokers = assign_brokers(s);
	int32_t old = t->npartitions, rf = t->partitions[0].nreplicas, start;

	start = rassign_start_of(brokers, (size_t)s->cs.nbrokers,
	    t->partitions[0].replicas[0]);
	free(brokers);
	t->partitions = xrealloc(t->partitions,
	    (size_t)want * sizeof(*t->partitions));
	if (fill_partitions(s, t, rf, start, old, want - old, e) < 0)
		return -1;
	t->npartitions = want;
	log_info("topic=%s: partitions %" PRId32 " -> %" PRId32, t->name, old,
	    want);
	return 0;
}

/* Refusals that do not depend on the current state; NULL when fine. */
static const char *
check_wanted(const struct ctrld_state *s, const struct ctl_apply_topic *w,
    char *why, size_t size)
{
	struct err e = { 0 };
	int32_t i;

	if (w->partitions < 1 || w->partitions > CTLPROTO_MAX_PARTITIONS)
		snprintf(why, size, "partitions %" PRId32 " outside 1..%d",
		    w->partitions, CTLPROTO_MAX_PARTITIONS);
	else if (w->replication_factor < 1 ||
	    w->replication_factor > s->cs.nbrokers ||
	    w->replication_factor > CTLPROTO_MAX_REPLICAS)
		snprintf(why, size, "replication factor %d with %" PRId32
		    " brokers", (int)w->replication_factor, s->cs.nbrokers);
	else
		why[0] = '\0';
	for (i = 0; i < w->nconfigs && why[0] == '\0'; i++) {
		const struct tconf_def *d = tconf_find(w->configs[i].key, false);

		if (d == NULL)
			snprintf(why, size, "unknown config '%s'",
			    w->configs[i].key);
		else if (tconf_validate(d, w->configs[i].value, &e) < 0)
			snprintf(why, size, "%.200s", e.msg);
	}
	return why[0] ? why : NULL;
}

static const char *
wanted_value(const struct ctl_apply_topic *w, const char *key)
{
	int32_t i;

	for (i = 0; i < w->nconfigs; i++)
		if (strcmp(w->configs[i].key, key) == 0)
			return w->configs[i].value;
	return NULL;
}

/* Report config differences; true when there are any. */
static bool
diff_configs(const struct cluster_topic *t, const struct ctl_apply_topic *w,
    struct actions *a)
{
	bool changed = false;
	int32_t i;

	for (i = 0; i < w->nconfigs; i++) {
		const char *old = cluster_topic_config(t, w->configs[i].key);

		if (old != NULL && strcmp(old, w->configs[i].value) == 0)
			continue;
		changed = true;
		if (old != NULL)
			add_action(a, t->name, "set-config", "%s=%s (was %s)",
			    w->configs[i].key, w->configs[i].value, old);
		else
			add_action(a, t->name, "set-config", "%s=%s",
			    w->configs[i].key, w->configs[i].value);
	}
	for (i = 0; i < t->nconfigs; i++) {
		if (wanted_value(w, t->configs[i].key) != NULL)
			continue;
		changed = true;
		add_action(a, t->name, "unset-config", "%s (was %s)",
		    t->configs[i].key, t->configs[i].value);
	}
	return changed;
}

static void
apply_existing(struct ctrld_state *s, struct cluster_topic *t,
    const struct ctl_apply_topic *w, bool dry_run, struct actions *a)
{
	int32_t rf = t->npartitions > 0 ? t->partitions[0].nreplicas : 0;
	bool more, configs;
	struct err e = { 0 };

	if (w->replication_factor != rf) {
		add_action(a, t->name, "error", "replication factor %" PRId32
		    " -> %d: changing it is not supported", rf,
		    (int)w->replication_factor);
		return;
	}
	if (w->partitions < t->npartitions) {
		add_action(a, t->name, "error", "partitions %" PRId32 " -> %"
		    PRId32 ": removing partitions is refused", t->npartitions,
		    w->partitions);
		return;
	}
	more = w->partitions > t->npartitions;
	if (more)
		add_action(a, t->name, "add-partitions", "%" PRId32 " -> %"
		    PRId32, t->npartitions, w->partitions);
	configs = diff_configs(t, w, a);
	if (!more && !configs) {
		add_action(a, t->name, "unchanged", "%" PRId32 " partitions, "
		    "replication factor %" PRId32, t->npartitions, rf);
		return;
	}
	if (dry_run)
		return;
	if (more && add_partitions(s, t, w->partitions, &e) < 0) {
		add_action(a, t->name, "error", "%s", e.msg);
		return;
	}
	if (configs) {
		set_configs(t, w->configs, w->nconfigs);
		log_info("topic=%s: configs changed", t->name);
	}
	cst_queue_topic(s, t);
}

static bool
requested(const struct ctl_apply_req *q, const char *name, int32_t before)
{
	int32_t i;

	for (i = 0; i < before; i++)
		if (strcmp(q->topics[i].name, name) == 0)
			return true;
	return false;
}

void
cst_apply(struct ctrld_state *s, const struct ctl_apply_req *q,
    struct ctl_apply_resp *out)
{
	struct actions a = { out, 0, 0 };
	char why[CTLPROTO_MSG_MAX];
	struct err e = { 0 };
	int32_t i, ti;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < q->ntopics; i++) {
		const struct ctl_apply_topic *w = &q->topics[i];

		if (requested(q, w->name, i)) {
			add_action(&a, w->name, "error", "named twice");
			continue;
		}
		if (check_wanted(s, w, why, sizeof(why)) != NULL) {
			add_action(&a, w->name, "error", "%s", why);
			continue;
		}
		ti = cluster_state_topic_index(&s->cs, w->name);
		if (ti >= 0) {
			apply_existing(s, &s->cs.topics[ti], w, q->dry_run, &a);
			continue;
		}
		add_action(&a, w->name, "create", "partitions=%" PRId32
		    " replication_factor=%d%s", w->partitions,
		    (int)w->replication_factor, w->nconfigs ? " configs" : "");
		if (!q->dry_run && create_topic(s, w->name, w->partitions,
		    w->replication_factor, w->configs, w->nconfigs, false,
		    &e) < 0)
			add_action(&a, w->name, "error", "%s", e.msg);
	}
	for (ti = 0; ti < s->cs.ntopics; ti++) {
		const struct cluster_topic *t = &s->cs.topics[ti];

		if (!t->internal && !requested(q, t->name, q->ntopics))
			add_action(&a, t->name, "not-in-manifest", "%" PRId32
			    " partitions; never deleted by apply",
			    t->npartitions);
	}
}

void
ctrld_manifest_request(const struct manifest *m, bool dry_run,
    struct ctl_apply_req *out)
{
	size_t i;
	int id;

	memset(out, 0, sizeof(*out));
	out->dry_run = dry_run;
	out->topics = xcalloc(m->ntopics + 1, sizeof(*out->topics));
	out->ntopics = (int32_t)m->ntopics;
	for (i = 0; i < m->ntopics; i++) {
		const struct manifest_topic *mt = &m->topics[i];
		struct ctl_apply_topic *t = &out->topics[i];

		snprintf(t->name, sizeof(t->name), "%.*s", CTLPROTO_NAME_MAX,
		    mt->name);
		t->partitions = mt->partitions;
		t->replication_factor = mt->replication_factor;
		t->configs = xcalloc(TCONF_COUNT, sizeof(*t->configs));
		for (id = 0; id < TCONF_COUNT; id++) {
			const char *v = mt->configs.values[id];

			if (v == NULL)
				continue;
			t->configs[t->nconfigs].key =
			    xstrdup(tconf_def((enum tconf_id)id)->name);
			t->configs[t->nconfigs++].value = xstrdup(v);
		}
	}
}

void
cst_bootstrap(struct ctrld_state *s)
{
	static const struct ctl_config compact = {
		(char *)(uintptr_t)"cleanup.policy", (char *)(uintptr_t)"compact"
	};
	struct ctl_apply_req q;
	struct ctl_apply_resp r;
	struct err e = { 0 };
	int32_t i, rf = s->m->offsets_topic_replication_factor;

	log_info("empty metadata log: creating the manifest's %zu topics and "
	    "%s", s->m->ntopics, CTRLD_OFFSETS_TOPIC);
	ctrld_manifest_request(s->m, false, &q);
	cst_apply(s, &q, &r);
	for (i = 0; i < r.nactions; i++)
		if (strcmp(r.actions[i].action, "error") == 0)
			log_warnx("topic=%s: not created: %s",
			    r.actions[i].topic, r.actions[i].detail);
	ctlproto_release_apply_req(&q);
	ctlproto_release_apply_resp(&r);
	if (cluster_state_topic_index(&s->cs, CTRLD_OFFSETS_TOPIC) >= 0)
		return;
	if (rf > s->cs.nbrokers)
		rf = s->cs.nbrokers;
	if (create_topic(s, CTRLD_OFFSETS_TOPIC,
	    s->m->offsets_topic_partitions, rf, &compact, 1, true, &e) < 0)
		log_warnx("topic=%s: not created: %s", CTRLD_OFFSETS_TOPIC,
		    e.msg);
}
