/* SPDX-License-Identifier: MIT */
/*
 * Cluster mode on the event loop thread: applying ctrld's state to the
 * local topics and partitions (create what this broker replicates,
 * delete what ctrld no longer has, set each partition's role, leader,
 * epochs, replicas and ISR, and tell logd_replica.c), AlterIsr answers,
 * controlled shutdown, and the cluster view Metadata and `logd ctl`
 * report. Until the first state arrives every partition is PART_NONE: a
 * restarted broker serves nothing before ctrld has said who leads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "logd.h"
#include "logd_cluster.h"
#include "util.h"
#include "banned.h"

/* After a failed topic creation or deletion, try again this often. */
#define APPLY_RETRY_MS 5000

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static bool
ids_equal(const int32_t *a, size_t na, const int32_t *b, int32_t nb)
{
	return na == (size_t)nb &&
	    (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* Replace an owned id array with a copy of src; -1 when out of memory. */
static int
ids_set(int32_t **dst, size_t *n, const int32_t *src, int32_t count)
{
	int32_t *v = NULL;

	if (count > 0) {
		v = malloc((size_t)count * sizeof(*v));
		if (v == NULL)
			return -1;
		memcpy(v, src, (size_t)count * sizeof(*v));
	}
	free(*dst);
	*dst = v;
	*n = (size_t)count;
	return 0;
}

/* "[1,2,3]" for messages. */
static const char *
ids_text(const int32_t *v, size_t n, char *dst, size_t size)
{
	size_t i, at = 0;

	dst[at++] = '[';
	for (i = 0; i < n && at + 14 < size; i++)
		at += (size_t)snprintf(dst + at, size - at, "%s%" PRId32,
		    i ? "," : "", v[i]);
	snprintf(dst + at, size - at, "]");
	return dst;
}

static const char *
role_name(enum part_role r)
{
	switch (r) {
	case PART_LEADER: return "leader";
	case PART_FOLLOWER: return "follower";
	case PART_NONE: break;
	}
	return "none";
}

static bool
topic_has_replica(const struct cluster_topic *ct, int32_t broker)
{
	int32_t i;

	for (i = 0; i < ct->npartitions; i++)
		if (cluster_partition_has_replica(&ct->partitions[i], broker))
			return true;
	return false;
}

/* How many partitions of the applied state this broker leads. */
static int32_t
leaderships(const struct cluster *c)
{
	int32_t i, j, n = 0;

	for (i = 0; i < c->state.ntopics; i++)
		for (j = 0; j < c->state.topics[i].npartitions; j++)
			if (c->state.topics[i].partitions[j].leader ==
			    c->broker_id)
				n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* Partitions                                                         */

void
cluster_partition_unassigned(struct partition *p)
{
	p->role = PART_NONE;
	p->leader_id = -1;
	p->partition_epoch = 0;
	p->isr_change_pending = false;
	free(p->replicas);
	p->replicas = NULL;
	p->nreplicas = 0;
	free(p->isr);
	p->isr = NULL;
	p->nisr = 0;
}

/* The state ctrld gives a partition: role, leader, epochs, sets. */
static enum part_role
role_for(const struct cluster_partition *cp, int32_t self)
{
	if (cp == NULL)
		return PART_NONE;
	if (cp->leader == self)
		return PART_LEADER;
	return cluster_partition_has_replica(cp, self) ? PART_FOLLOWER :
	    PART_NONE;
}

/* A followed partition changed: replicad's ReplicaState must see it. */
static void
followed_changed(struct logd *ld)
{
	ld->cluster->replica_version++;
	ld->appended = true;	/* re-runs parked ReplicaState requests */
}

/* One line per change; the first state's many are summed up instead. */
static void
log_assignment(const struct logd *ld, const struct partition *p)
{
	char isr[128];

	if (p->role == PART_NONE || ld->cluster->first_apply) {
		log_debug("topic=%s partition=%" PRId32 ": not a replica here",
		    p->topic->name, p->id);
		return;
	}
	log_info("topic=%s partition=%" PRId32 ": %s, leader %" PRId32
	    " epoch %" PRId32 ", isr %s", p->topic->name, p->id,
	    role_name(p->role), p->leader_id, p->leader_epoch,
	    ids_text(p->isr, p->nisr, isr, sizeof(isr)));
}

/* The partition left ctrld's state (its topic shrank or went). */
static void
apply_unassigned(struct logd *ld, struct partition *p)
{
	enum part_role old_role = p->role;

	if (old_role == PART_NONE && p->leader_id < 0)
		return;
	cluster_partition_unassigned(p);
	if (old_role == PART_FOLLOWER)
		followed_changed(ld);
	if (old_role != PART_NONE)
		replica_role_changed(ld, p, old_role, p->leader_epoch);
}

static void
apply_partition(struct logd *ld, struct partition *p,
    const struct cluster_partition *cp)
{
	struct cluster *c = ld->cluster;
	enum part_role old_role = p->role, role = role_for(cp, c->broker_id);
	int32_t old_epoch = p->leader_epoch, old_leader = p->leader_id;
	bool moved, isr_changed;

	if (cp == NULL) {
		apply_unassigned(ld, p);
		return;
	}
	moved = role != old_role || cp->leader_epoch != old_epoch ||
	    cp->leader != old_leader;
	/*
	 * An AlterIsr answer may have brought a newer ISR than a heartbeat
	 * that was already on its way: never step back within an epoch.
	 */
	if (!moved && cp->partition_epoch < p->partition_epoch)
		return;
	isr_changed = !ids_equal(p->isr, p->nisr, cp->isr, cp->nisr);
	if (ids_set(&p->replicas, &p->nreplicas, cp->replicas,
	    cp->nreplicas) < 0 || ids_set(&p->isr, &p->nisr, cp->isr,
	    cp->nisr) < 0) {
		log_warnx("out of memory applying topic=%s partition=%" PRId32,
		    p->topic->name, p->id);
		c->apply_failed = true;
		return;
	}
	p->role = role;
	p->leader_id = cp->leader;
	p->leader_epoch = cp->leader_epoch;
	p->partition_epoch = cp->partition_epoch;
	if (moved) {
		log_assignment(ld, p);
		if (old_role == PART_FOLLOWER || role == PART_FOLLOWER)
			followed_changed(ld);
		if (old_role != PART_NONE || role != PART_NONE)
			replica_role_changed(ld, p, old_role, old_epoch);
	} else if (isr_changed) {
		replica_isr_changed(ld, p);
	}
}

static void
apply_partitions(struct logd *ld)
{
	struct cluster *c = ld->cluster;
	size_t i, led = 0, followed = 0;
	int32_t j;

	for (i = 0; i < ld->ntopics; i++) {
		struct topic *t = ld->topics[i];
		const struct cluster_topic *ct = cluster_state_topic(&c->state,
		    t->name);

		for (j = 0; j < t->npartitions; j++) {
			apply_partition(ld, t->parts[j],
			    ct != NULL && j < ct->npartitions ?
			    &ct->partitions[j] : NULL);
			led += t->parts[j]->role == PART_LEADER;
			followed += t->parts[j]->role == PART_FOLLOWER;
		}
	}
	if (c->first_apply)
		log_info("leading %zu partitions, following %zu", led,
		    followed);
	c->first_apply = false;
}

/* ------------------------------------------------------------------ */
/* Topics                                                             */

/* The topic's configs as ctrld has them; keys logd lacks are skipped. */
static void
state_conf(const struct cluster_topic *ct, struct tconf *out)
{
	int32_t i;

	tconf_init(out);
	for (i = 0; i < ct->nconfigs; i++) {
		struct err e = { 0 };

		if (tconf_set(out, ct->configs[i].key, ct->configs[i].value,
		    &e) < 0)
			log_debug("topic=%s: ignoring config from ctrld: %s",
			    ct->name, e.msg);
	}
}

static bool
conf_equal(const struct tconf *a, const struct tconf *b)
{
	char *fa = tconf_format(a), *fb = tconf_format(b);
	bool eq = fa != NULL && fb != NULL && strcmp(fa, fb) == 0;

	free(fa);
	free(fb);
	return eq;
}

/* Bring one local topic (maybe new) in line with ctrld's. */
static int
sync_topic(struct logd *ld, const struct cluster_topic *ct)
{
	struct topic *t = topic_find(ld, ct->name, strlen(ct->name));
	struct tconf conf;
	struct err e = { 0 };

	if (t == NULL && !topic_has_replica(ct, ld->cluster->broker_id))
		return 0;
	state_conf(ct, &conf);
	if (t == NULL) {
		/* New partitions start PART_NONE (replica_open); the state
		 * applied below gives them their roles. */
		if (topic_create(ld, ct->name, ct->npartitions, &conf, &t,
		    &e) < 0)
			goto fail;
		log_info("created topic '%s' with %" PRId32 " partitions for "
		    "ctrld", ct->name, ct->npartitions);
	} else if (!conf_equal(&t->conf, &conf)) {
		if (topic_set_config(ld, t, &conf, &e) < 0)
			goto fail;
		log_info("topic '%s': configs updated from ctrld", t->name);
	}
	if (ct->npartitions > t->npartitions) {
		if (topic_add_partitions(ld, t, ct->npartitions, &e) < 0)
			goto fail;
		log_info("topic '%s' now has %" PRId32 " partitions for ctrld",
		    t->name, t->npartitions);
	}
	tconf_release(&conf);
	return 0;
fail:
	log_warnx("applying ctrld's topic '%s': %s; retrying in %d ms",
	    ct->name, e.msg, APPLY_RETRY_MS);
	tconf_release(&conf);
	return -1;
}

/*
 * ctrld no longer has these topics: delete them here too. Internal
 * topics (the group coordinator's __consumer_offsets) are logd's own
 * when ctrld does not manage them.
 */
static int
delete_stale_topics(struct logd *ld)
{
	const struct cluster_state *s = &ld->cluster->state;
	size_t i = ld->ntopics;
	int rc = 0;

	while (i-- > 0) {
		struct topic *t = ld->topics[i];
		char name[CTLPROTO_NAME_MAX + 1];
		struct err e = { 0 };

		if (t->internal || cluster_state_topic(s, t->name) != NULL)
			continue;
		snprintf(name, sizeof(name), "%s", t->name);
		if (topic_delete(ld, t, &e) < 0) {
			log_warnx("deleting topic '%s' that ctrld no longer has: "
			    "%s", name, e.msg);
			rc = -1;
			continue;
		}
		log_warnx("deleted topic '%s': ctrld no longer has it", name);
	}
	return rc;
}

static void
apply_current(struct logd *ld)
{
	struct cluster *c = ld->cluster;
	int32_t i;
	int rc = 0;

	for (i = 0; i < c->state.ntopics; i++)
		if (sync_topic(ld, &c->state.topics[i]) < 0)
			rc = -1;
	if (delete_stale_topics(ld) < 0)
		rc = -1;
	c->apply_failed = rc < 0;
	c->next_apply_retry_ms = clock_mono_ms() + APPLY_RETRY_MS;
	apply_partitions(ld);
}

void
cluster_apply_state(struct logd *ld, struct cluster_state *s)
{
	struct cluster *c = ld->cluster;

	if (strcmp(s->cluster_id, ld->cfg.cluster_id) != 0) {
		if (!c->id_mismatch_logged)
			log_errorx("ctrld runs cluster '%s' but this broker "
			    "belongs to cluster '%s': ignoring its state",
			    s->cluster_id, ld->cfg.cluster_id);
		c->id_mismatch_logged = true;
		cluster_state_free(s);
		return;
	}
	c->id_mismatch_logged = false;
	c->first_apply = !c->have_state;
	if (c->first_apply)
		log_info("first cluster state from ctrld: version %" PRId64
		    ", %" PRId32 " brokers, %" PRId32 " topics", s->version,
		    s->nbrokers, s->ntopics);
	else
		log_debug("cluster state version %" PRId64, s->version);
	/* Move the state in: the struct's contents now belong to c->state. */
	cluster_state_release(&c->state);
	c->state = *s;
	free(s);
	c->have_state = true;
	apply_current(ld);
}

/* ------------------------------------------------------------------ */
/* AlterIsr answers                                                   */

/* Keep the state Metadata reports in step with a confirmed ISR. */
static void
patch_state_isr(struct cluster *c, const struct ctl_isr_result *r)
{
	int32_t ti = cluster_state_topic_index(&c->state, r->topic);
	struct cluster_partition *cp;

	if (ti < 0 || r->partition < 0 ||
	    r->partition >= c->state.topics[ti].npartitions)
		return;
	cp = &c->state.topics[ti].partitions[r->partition];
	if (cp->leader_epoch != r->leader_epoch ||
	    cp->partition_epoch > r->partition_epoch)
		return;
	cp->partition_epoch = r->partition_epoch;
	cp->nisr = r->nisr;
	memcpy(cp->isr, r->isr, (size_t)r->nisr * sizeof(*cp->isr));
}

void
cluster_apply_isr_outcome(struct logd *ld, const struct isr_outcome *o)
{
	const struct ctl_isr_result *r = &o->r;
	struct topic *t = topic_find(ld, r->topic, strlen(r->topic));
	struct partition *p;
	char isr[128];

	if (t == NULL || r->partition < 0 || r->partition >= t->npartitions)
		return;
	p = t->parts[r->partition];
	p->isr_change_pending = false;
	if (!o->answered) {
		log_warnx("ISR change of topic=%s partition=%" PRId32 " not "
		    "confirmed: %s", t->name, p->id, o->why);
	} else if (r->error_code != KERR_NONE) {
		log_warnx("ctrld refused the ISR change of topic=%s partition=%"
		    PRId32 " with %s; it has leader %" PRId32 " epoch %" PRId32
		    " partition epoch %" PRId32 " isr %s", t->name, p->id,
		    proto_error_name(r->error_code) ?
		    proto_error_name(r->error_code) : "an error", r->leader,
		    r->leader_epoch, r->partition_epoch,
		    ids_text(r->isr, (size_t)r->nisr, isr, sizeof(isr)));
	}
	/* Refused or not, ctrld's answer is its current view: take it when
	 * it is about our epoch and not older than what we have. */
	if (o->answered && r->leader == p->leader_id &&
	    r->leader_epoch == p->leader_epoch &&
	    r->partition_epoch >= p->partition_epoch) {
		if (ids_set(&p->isr, &p->nisr, r->isr, r->nisr) == 0) {
			p->partition_epoch = r->partition_epoch;
			patch_state_isr(ld->cluster, r);
			if (r->error_code == KERR_NONE)
				log_info("topic=%s partition=%" PRId32 ": isr %s "
				    "(partition epoch %" PRId32 ")", t->name,
				    p->id, ids_text(p->isr, p->nisr, isr,
				    sizeof(isr)), p->partition_epoch);
		}
	}
	replica_isr_changed(ld, p);
}

/* ------------------------------------------------------------------ */
/* Controlled shutdown                                                */

void
cluster_shutdown_answered(struct logd *ld, const struct ctl_shutdown_resp *r)
{
	struct cluster *c = ld->cluster;

	if (c->stop_phase != CLUSTER_STOP_WAITING)
		return;
	if (r->error_code != KERR_NONE) {
		log_warnx("controlled shutdown: ctrld did not take it (%s: %s); "
		    "stopping without moving leadership",
		    proto_error_name(r->error_code) ?
		    proto_error_name(r->error_code) : "error",
		    r->error_message[0] ? r->error_message : "-");
		c->stop_phase = CLUSTER_STOP_DONE;
		return;
	}
	c->stop_answered = true;
	c->stop_remaining = r->remaining_leaderships;
	if (r->remaining_leaderships > 0)
		log_warnx("controlled shutdown: ctrld could not move %" PRId32
		    " leaderships (no other in-sync replica)",
		    r->remaining_leaderships);
}

static void
shutdown_begin(struct logd *ld)
{
	struct cluster *c = ld->cluster;
	struct cluster_link_status ls;
	int64_t now = clock_mono_ms();

	cluster_link_status(c, &ls);
	if (ld->cfg.controlled_shutdown_timeout_ms == 0 || !ls.connected) {
		if (!ls.connected)
			log_warnx("controlled shutdown: ctrld unreachable (%s); "
			    "stopping without moving leadership",
			    ls.last_error[0] ? ls.last_error : "not connected");
		c->stop_phase = CLUSTER_STOP_DONE;
		return;
	}
	log_info("controlled shutdown: asking ctrld to move %" PRId32
	    " leaderships away (at most %" PRId64 " ms)", leaderships(c),
	    ld->cfg.controlled_shutdown_timeout_ms);
	cluster_request_shutdown(c);
	c->stop_phase = CLUSTER_STOP_WAITING;
	c->stop_started_ms = now;
	c->stop_deadline_ms = now + ld->cfg.controlled_shutdown_timeout_ms;
}

bool
cluster_stop_ready(struct logd *ld)
{
	struct cluster *c = ld->cluster;
	int64_t now = clock_mono_ms();

	if (c == NULL || c->stop_phase == CLUSTER_STOP_DONE)
		return true;
	if (c->stop_phase == CLUSTER_STOP_NONE) {
		shutdown_begin(ld);
		return c->stop_phase == CLUSTER_STOP_DONE;
	}
	if (c->stop_answered && leaderships(c) <= c->stop_remaining) {
		if (c->stop_remaining > 0)
			log_info("controlled shutdown: done in %" PRId64 " ms, "
			    "still leading %" PRId32 " partitions", now -
			    c->stop_started_ms, c->stop_remaining);
		else
			log_info("controlled shutdown: leadership moved in %"
			    PRId64 " ms", now - c->stop_started_ms);
		c->stop_phase = CLUSTER_STOP_DONE;
	} else if (now >= c->stop_deadline_ms) {
		log_warnx("controlled shutdown: still leading %" PRId32
		    " partitions after %" PRId64 " ms "
		    "(controlled.shutdown.timeout.ms); stopping anyway",
		    leaderships(c), now - c->stop_started_ms);
		c->stop_phase = CLUSTER_STOP_DONE;
	}
	return c->stop_phase == CLUSTER_STOP_DONE;
}

/* ------------------------------------------------------------------ */
/* Timers and views                                                   */

void
cluster_tick(struct logd *ld, int64_t now_ms)
{
	struct cluster *c = ld->cluster;

	if (c != NULL && c->have_state && c->apply_failed &&
	    now_ms >= c->next_apply_retry_ms)
		apply_current(ld);
}

const struct cluster_state *
cluster_current_state(const struct logd *ld)
{
	return ld->cluster != NULL && ld->cluster->have_state ?
	    &ld->cluster->state : NULL;
}

int64_t
cluster_replica_version(const struct logd *ld)
{
	return ld->cluster != NULL ? ld->cluster->replica_version : -1;
}

static void
status_partition_json(struct buf *out, const struct partition *p)
{
	struct json_obj o;
	struct json_arr a;
	size_t i;

	json_obj_begin(&o, out);
	json_obj_cstr(&o, "topic", p->topic->name);
	json_obj_i64(&o, "partition", p->id);
	json_obj_cstr(&o, "role", role_name(p->role));
	json_obj_i64(&o, "leader", p->leader_id);
	json_obj_i64(&o, "leader_epoch", p->leader_epoch);
	json_obj_i64(&o, "partition_epoch", p->partition_epoch);
	json_obj_key(&o, "replicas");
	json_arr_begin(&a, out);
	for (i = 0; i < p->nreplicas; i++) {
		json_arr_next(&a);
		json_put_i64(out, p->replicas[i]);
	}
	json_arr_end(&a);
	json_obj_key(&o, "isr");
	json_arr_begin(&a, out);
	for (i = 0; i < p->nisr; i++) {
		json_arr_next(&a);
		json_put_i64(out, p->isr[i]);
	}
	json_arr_end(&a);
	json_obj_bool(&o, "isr_change_pending", p->isr_change_pending);
	json_obj_i64(&o, "high_watermark", p->high_watermark);
	json_obj_end(&o);
}

static void
status_json(struct logd *ld, struct buf *out, struct json_obj *o)
{
	struct cluster *c = ld->cluster;
	struct cluster_link_status ls;
	char addr[NET_ADDR_MAX];
	struct json_obj lo;
	struct json_arr a;
	size_t i;
	int32_t j;

	json_obj_cstr(o, "mode", "cluster");
	net_addr_format(&c->controller, addr, sizeof(addr));
	json_obj_cstr(o, "controller", addr);
	cluster_link_status(c, &ls);
	json_obj_key(o, "controller_link");
	json_obj_begin(&lo, out);
	json_obj_bool(&lo, "connected", ls.connected);
	if (ls.last_error[0] != '\0')
		json_obj_cstr(&lo, "last_error", ls.last_error);
	else
		json_obj_null(&lo, "last_error");
	json_obj_i64(&lo, "incarnation", c->incarnation);
	json_obj_i64(&lo, "session_timeout_ms", ls.session_timeout_ms);
	json_obj_i64(&lo, "state_version", c->have_state ? c->state.version :
	    -1);
	json_obj_end(&lo);
	json_obj_key(o, "cluster_partitions");
	json_arr_begin(&a, out);
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++) {
			json_arr_next(&a);
			status_partition_json(out, ld->topics[i]->parts[j]);
		}
	json_arr_end(&a);
}

static void
status_text(struct logd *ld, struct buf *out)
{
	struct cluster *c = ld->cluster;
	struct cluster_link_status ls;
	char addr[NET_ADDR_MAX], reps[128], isr[128];
	size_t i;
	int32_t j;

	net_addr_format(&c->controller, addr, sizeof(addr));
	cluster_link_status(c, &ls);
	buf_printf(out, "mode: cluster\ncontroller: %s\ncontroller_link: %s\n",
	    addr, ls.connected ? "connected" : "down");
	if (ls.last_error[0] != '\0')
		buf_printf(out, "controller_error: %s\n", ls.last_error);
	buf_printf(out, "state_version: %" PRId64 "\n", c->have_state ?
	    c->state.version : -1);
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++) {
			const struct partition *p = ld->topics[i]->parts[j];

			buf_printf(out, "partition: %s-%" PRId32 " role=%s "
			    "leader=%" PRId32 " leader_epoch=%" PRId32
			    " partition_epoch=%" PRId32 " replicas=%s isr=%s%s\n",
			    p->topic->name, p->id, role_name(p->role),
			    p->leader_id, p->leader_epoch, p->partition_epoch,
			    ids_text(p->replicas, p->nreplicas, reps,
			    sizeof(reps)), ids_text(p->isr, p->nisr, isr,
			    sizeof(isr)), p->isr_change_pending ?
			    " (isr change pending)" : "");
		}
}

void
cluster_ctl_status(struct logd *ld, struct buf *out, struct json_obj *o)
{
	if (ld->cluster == NULL) {
		if (o != NULL)
			json_obj_cstr(o, "mode", "single");
		else
			buf_put_str(out, "mode: single\n");
		return;
	}
	if (o != NULL)
		status_json(ld, out, o);
	else
		status_text(ld, out);
}
