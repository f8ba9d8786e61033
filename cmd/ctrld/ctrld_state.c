/* SPDX-License-Identifier: MIT */
/*
 * The controller's state machine: broker liveness and incarnations,
 * leader election (ISR first, preferred replica first; unclean only where
 * the topic allows it), ISR changes proposed by leaders, controlled
 * shutdown and preferred-leader rebalance. Functions here change struct
 * ctrld_state and queue the metadata records that describe each change;
 * they do no I/O, so the caller makes the records durable (ctrld_commit)
 * before it answers anyone. Every change of leader or ISR bumps the
 * partition epoch; every change of leader bumps the leader epoch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

void
cst_init(struct ctrld_state *s, const struct manifest *m, int64_t now)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	cluster_state_init(&s->cs);
	buf_init(&s->pending);
	s->m = m;
	snprintf(s->cs.cluster_id, sizeof(s->cs.cluster_id), "%s",
	    m->cluster_id);
	s->cs.brokers = xcalloc(m->nbrokers ? m->nbrokers : 1,
	    sizeof(*s->cs.brokers));
	s->rt = xcalloc(m->nbrokers ? m->nbrokers : 1, sizeof(*s->rt));
	s->cs.nbrokers = (int32_t)m->nbrokers;
	for (i = 0; i < m->nbrokers; i++) {
		struct cluster_broker *b = &s->cs.brokers[i];

		b->id = m->brokers[i].id;
		snprintf(b->host, sizeof(b->host), "%s", m->brokers[i].host);
		b->port = m->brokers[i].port;
		snprintf(b->rack, sizeof(b->rack), "%s", m->brokers[i].rack);
		/* Alive until a session passes without a word from it. */
		b->alive = true;
		s->rt[i].id = b->id;
		s->rt[i].last_hb_ms = now;
	}
}

void
cst_release(struct ctrld_state *s)
{
	cluster_state_release(&s->cs);
	free(s->rt);
	buf_release(&s->pending);
	s->rt = NULL;
}

/* ------------------------------------------------------------------ */
/* Records                                                            */

void
cst_queue_topic(struct ctrld_state *s, const struct cluster_topic *t)
{
	size_t start = mlog_rec_begin(&s->pending);

	ctlproto_write_topic(&s->pending, t);
	mlog_rec_end(&s->pending, start, MLOG_TOPIC);
	s->npending++;
}

static void
queue_partition(struct ctrld_state *s, const struct cluster_topic *t,
    const struct cluster_partition *p)
{
	size_t start = mlog_rec_begin(&s->pending);

	proto_put_cstr(&s->pending, t->name);
	ctlproto_write_partition(&s->pending, p);
	mlog_rec_end(&s->pending, start, MLOG_PARTITION);
	s->npending++;
}

static void
put_broker(struct buf *b, const struct ctrld_state *s, int32_t i)
{
	size_t start = mlog_rec_begin(b);

	buf_put_i32(b, s->cs.brokers[i].id);
	proto_put_bool(b, s->cs.brokers[i].alive);
	buf_put_i64(b, s->rt[i].incarnation);
	mlog_rec_end(b, start, MLOG_BROKER);
}

static void
queue_broker(struct ctrld_state *s, int32_t i)
{
	put_broker(&s->pending, s, i);
	s->npending++;
}

static void
put_epoch(struct buf *b, int32_t epoch)
{
	size_t start = mlog_rec_begin(b);

	buf_put_i32(b, epoch);
	mlog_rec_end(b, start, MLOG_EPOCH);
}

void
cst_start_epoch(struct ctrld_state *s)
{
	s->controller_epoch++;
	put_epoch(&s->pending, s->controller_epoch);
	s->npending++;
	/* A new version space per run: brokers always refetch the state. */
	s->cs.version = (int64_t)s->controller_epoch << 32;
}

void
cst_committed(struct ctrld_state *s)
{
	s->cs.version += s->npending;
	buf_clear(&s->pending);
	s->npending = 0;
}

void
cst_snapshot(const struct ctrld_state *s, struct buf *out)
{
	int32_t i;

	put_epoch(out, s->controller_epoch);
	for (i = 0; i < s->cs.nbrokers; i++)
		put_broker(out, s, i);
	for (i = 0; i < s->cs.ntopics; i++) {
		size_t start = mlog_rec_begin(out);

		ctlproto_write_topic(out, &s->cs.topics[i]);
		mlog_rec_end(out, start, MLOG_TOPIC);
	}
}

void
cst_put_topic(struct ctrld_state *s, struct cluster_topic *t)
{
	int32_t i = cluster_state_topic_index(&s->cs, t->name);

	if (i >= 0) {
		cluster_topic_release(&s->cs.topics[i]);
		s->cs.topics[i] = *t;
		return;
	}
	s->cs.topics = xrealloc(s->cs.topics,
	    (size_t)(s->cs.ntopics + 1) * sizeof(*s->cs.topics));
	s->cs.topics[s->cs.ntopics++] = *t;
	s->topics_created++;
}

static int
replay_broker(struct ctrld_state *s, struct breader *r, struct err *e)
{
	int32_t id = br_i32(r), i;
	bool alive = proto_read_bool(r);
	int64_t incarnation = br_i64(r);

	if (!br_ok(r))
		return err_set(e, EXIT_DATAERR, "malformed broker record");
	i = cluster_state_broker_index(&s->cs, id);
	if (i < 0) {
		log_debug("metadata log: broker %" PRId32 " is no longer in "
		    "the manifest", id);
		return 0;
	}
	s->cs.brokers[i].alive = alive;
	s->rt[i].incarnation = incarnation;
	return 0;
}

static int
replay_partition(struct ctrld_state *s, struct breader *r, struct err *e)
{
	char name[CTLPROTO_NAME_MAX + 1];
	struct cluster_partition p;
	int32_t ti;

	if (!proto_str_copy(proto_read_str(r, false), name, sizeof(name)))
		return err_set(e, EXIT_DATAERR, "malformed partition record");
	if (ctlproto_read_partition(r, &p, e) < 0)
		return err_set(e, EXIT_DATAERR, "malformed partition record");
	ti = cluster_state_topic_index(&s->cs, name);
	if (ti < 0 || p.partition < 0 ||
	    p.partition >= s->cs.topics[ti].npartitions)
		return err_set(e, EXIT_DATAERR, "partition record for unknown "
		    "partition '%s-%" PRId32 "'", name, p.partition);
	s->cs.topics[ti].partitions[p.partition] = p;
	return 0;
}

int
cst_replay_record(void *arg, int16_t type, struct breader *body,
    uint64_t offset, struct err *e)
{
	struct ctrld_state *s = arg;
	struct cluster_topic t;

	(void)offset;
	switch (type) {
	case MLOG_EPOCH:
		s->controller_epoch = br_i32(body);
		if (!br_ok(body))
			return err_set(e, EXIT_DATAERR, "malformed epoch record");
		break;
	case MLOG_BROKER:
		if (replay_broker(s, body, e) < 0)
			return -1;
		break;
	case MLOG_TOPIC:
		if (ctlproto_read_topic(body, &t, e) < 0)
			return err_set(e, EXIT_DATAERR, "malformed topic record: "
			    "%s", e->msg);
		cst_put_topic(s, &t);
		break;
	case MLOG_PARTITION:
		if (replay_partition(s, body, e) < 0)
			return -1;
		break;
	default:
		return err_set(e, EXIT_DATAERR, "unknown record type %d",
		    (int)type);
	}
	if (br_left(body) != 0)
		return err_set(e, EXIT_DATAERR, "%zu bytes after a record of "
		    "type %d", br_left(body), (int)type);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Brokers                                                            */

/* Alive, not shutting down, and not `fenced` (a restart being handled). */
static bool
electable(const struct ctrld_state *s, int32_t id, int32_t fenced)
{
	int32_t i = cluster_state_broker_index(&s->cs, id);

	return i >= 0 && id != fenced && s->cs.brokers[i].alive &&
	    !s->rt[i].shutting_down;
}

/* Dead, unknown or fenced: its log can no longer serve as leader. */
static bool
gone(const struct ctrld_state *s, int32_t id, int32_t fenced)
{
	int32_t i = cluster_state_broker_index(&s->cs, id);

	return i < 0 || id == fenced || !s->cs.brokers[i].alive;
}

static bool
unclean_allowed(const struct cluster_topic *t)
{
	const char *v = cluster_topic_config(t, "unclean.leader.election.enable");

	return v != NULL && strcmp(v, "true") == 0;
}

void
cst_format_ids(const int32_t *v, int32_t n, char *dst, size_t size)
{
	size_t off = 0;
	int32_t i;

	dst[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(dst + off, size - off, "%s%" PRId32,
		    i ? "," : "", v[i]);
}

static bool
same_set(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
	int32_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!cluster_ids_contain(b, nb, a[i]))
			return false;
	return true;
}

/* Install `n` as p's state, bumping epochs, logging and queueing it. */
static void
set_partition(struct ctrld_state *s, const struct cluster_topic *t,
    struct cluster_partition *p, struct cluster_partition *n,
    const char *why)
{
	bool new_leader = n->leader != p->leader;
	char isr[CTLPROTO_MAX_REPLICAS * 12];

	if (!new_leader && same_set(p->isr, p->nisr, n->isr, n->nisr))
		return;
	if (new_leader)
		n->leader_epoch = p->leader_epoch + 1;
	n->partition_epoch = p->partition_epoch + 1;
	cst_format_ids(n->isr, n->nisr, isr, sizeof(isr));
	if (new_leader)
		log_info("topic=%s partition=%" PRId32 ": leader %" PRId32
		    " -> %" PRId32 ", leader epoch %" PRId32 ", partition epoch "
		    "%" PRId32 ", isr [%s] (%s)", t->name, p->partition,
		    p->leader, n->leader, n->leader_epoch, n->partition_epoch,
		    isr, why);
	else
		log_info("topic=%s partition=%" PRId32 ": isr [%s], partition "
		    "epoch %" PRId32 " (%s)", t->name, p->partition, isr,
		    n->partition_epoch, why);
	*p = *n;
	queue_partition(s, t, p);
}

/* The first electable replica (preferred order) in n's ISR, or -1. */
static int32_t
pick_leader(const struct ctrld_state *s, const struct cluster_partition *n,
    int32_t fenced, bool in_isr)
{
	int32_t i;

	for (i = 0; i < n->nreplicas; i++)
		if (electable(s, n->replicas[i], fenced) &&
		    (!in_isr || cluster_ids_contain(n->isr, n->nisr, n->replicas[i])))
			return n->replicas[i];
	return -1;
}

/*
 * Recompute p's ISR and leader after brokers changed: brokers that are
 * not electable leave the ISR unless no one would remain; a leader that
 * is not electable (or not in the ISR) is replaced by the first electable
 * ISR member, else (only when the old leader is gone and the topic allows
 * it) by any electable replica with an ISR of itself, else the partition
 * stays with a leader that is shutting down or goes offline (-1).
 */
static void
reassess(struct ctrld_state *s, const struct cluster_topic *t,
    struct cluster_partition *p, int32_t fenced, const char *why)
{
	struct cluster_partition n = *p;
	int32_t i;

	n.nisr = 0;
	for (i = 0; i < p->nisr; i++)
		if (electable(s, p->isr[i], fenced))
			n.isr[n.nisr++] = p->isr[i];
	if (n.nisr == 0) {
		memcpy(n.isr, p->isr, sizeof(n.isr));
		n.nisr = p->nisr;
	}
	if (p->leader >= 0 && electable(s, p->leader, fenced) &&
	    cluster_ids_contain(n.isr, n.nisr, p->leader)) {
		set_partition(s, t, p, &n, why);
		return;
	}
	n.leader = pick_leader(s, &n, fenced, true);
	if (n.leader < 0 && gone(s, p->leader, fenced) && unclean_allowed(t)) {
		n.leader = pick_leader(s, &n, fenced, false);
		if (n.leader >= 0) {
			log_warnx("topic=%s partition=%" PRId32 ": unclean "
			    "election of broker %" PRId32 " outside the isr",
			    t->name, p->partition, n.leader);
			n.isr[0] = n.leader;
			n.nisr = 1;
		}
	}
	if (n.leader < 0 && p->leader >= 0 && !gone(s, p->leader, fenced))
		n.leader = p->leader;	/* shutting down, nowhere to go */
	set_partition(s, t, p, &n, why);
}

/* Reassess every partition that `id` replicates. */
static void
reassess_broker(struct ctrld_state *s, int32_t id, int32_t fenced,
    const char *why)
{
	int32_t ti, pi;

	for (ti = 0; ti < s->cs.ntopics; ti++) {
		struct cluster_topic *t = &s->cs.topics[ti];

		for (pi = 0; pi < t->npartitions; pi++) {
			struct cluster_partition *p = &t->partitions[pi];

			if (p->leader == id || cluster_ids_contain(p->replicas,
			    p->nreplicas, id) || cluster_ids_contain(p->isr, p->nisr, id))
				reassess(s, t, p, fenced, why);
		}
	}
}

static void
broker_died(struct ctrld_state *s, int32_t i, const char *why)
{
	char reason[96];
	int32_t id = s->cs.brokers[i].id;

	s->cs.brokers[i].alive = false;
	queue_broker(s, i);
	log_info("broker %" PRId32 " is dead: %s", id, why);
	snprintf(reason, sizeof(reason), "broker %" PRId32 " died", id);
	reassess_broker(s, id, -1, reason);
}

static void
begin_shutdown(struct ctrld_state *s, int32_t i)
{
	char reason[96];
	int32_t id = s->cs.brokers[i].id;

	s->rt[i].shutting_down = true;
	snprintf(reason, sizeof(reason), "controlled shutdown of broker %"
	    PRId32, id);
	log_info("broker %" PRId32 ": controlled shutdown, moving %" PRId32
	    " leaderships", id, cst_leaderships(s, id));
	reassess_broker(s, id, -1, reason);
}

int32_t
cst_leaderships(const struct ctrld_state *s, int32_t broker)
{
	int32_t ti, pi, n = 0;

	for (ti = 0; ti < s->cs.ntopics; ti++)
		for (pi = 0; pi < s->cs.topics[ti].npartitions; pi++)
			n += s->cs.topics[ti].partitions[pi].leader == broker;
	return n;
}

/* A heartbeat or request names a new incarnation: the broker restarted. */
static void
new_incarnation(struct ctrld_state *s, int32_t i, int64_t incarnation)
{
	struct ctrld_broker *r = &s->rt[i];
	int32_t id = s->cs.brokers[i].id;
	char reason[96];

	if (r->incarnation != 0) {
		memmove(r->old_incarnations + 1, r->old_incarnations,
		    sizeof(r->old_incarnations) - sizeof(int64_t));
		r->old_incarnations[0] = r->incarnation;
		log_info("broker %" PRId32 " restarted (incarnation %" PRIx64
		    " -> %" PRIx64 ")", id, (uint64_t)r->incarnation,
		    (uint64_t)incarnation);
	}
	r->shutting_down = false;
	if (r->incarnation != 0 && s->cs.brokers[i].alive) {
		/*
		 * Its in-memory state is gone: take its leaderships and ISR
		 * places as if it had died, then let it lead again where
		 * nobody else can (the second pass).
		 */
		snprintf(reason, sizeof(reason), "broker %" PRId32
		    " restarted", id);
		reassess_broker(s, id, id, reason);
		reassess_broker(s, id, -1, reason);
	}
	r->incarnation = incarnation;
	queue_broker(s, i);
}

static bool
stale_incarnation(const struct ctrld_broker *r, int64_t incarnation)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(r->old_incarnations); i++)
		if (r->old_incarnations[i] != 0 &&
		    r->old_incarnations[i] == incarnation)
			return true;
	return false;
}

int16_t
cst_heartbeat(struct ctrld_state *s, const struct ctl_heartbeat_req *q,
    int64_t now, char *msg)
{
	const struct manifest_broker *mb = manifest_broker(s->m, q->broker_id);
	int32_t i = cluster_state_broker_index(&s->cs, q->broker_id);
	struct ctrld_broker *r;
	char reason[96];

	if (mb == NULL || i < 0) {
		snprintf(msg, CTLPROTO_MSG_MAX, "broker id %" PRId32 " is not "
		    "in the manifest", q->broker_id);
		return KERR_INVALID_REQUEST;
	}
	if (strcmp(mb->host, q->host) != 0 || mb->port != q->port) {
		snprintf(msg, CTLPROTO_MSG_MAX, "broker %" PRId32 " is %.100s:%d "
		    "in the manifest, not %.100s:%" PRId32, q->broker_id, mb->host,
		    mb->port, q->host, q->port);
		return KERR_INVALID_REQUEST;
	}
	r = &s->rt[i];
	if (stale_incarnation(r, q->incarnation)) {
		snprintf(msg, CTLPROTO_MSG_MAX, "broker %" PRId32 ": "
		    "incarnation %" PRIx64 " was replaced by %" PRIx64,
		    q->broker_id, (uint64_t)q->incarnation,
		    (uint64_t)r->incarnation);
		return KERR_STALE_BROKER_EPOCH;
	}
	if (q->incarnation != r->incarnation)
		new_incarnation(s, i, q->incarnation);
	r->last_hb_ms = now;
	r->heard = true;
	if (!s->cs.brokers[i].alive) {
		s->cs.brokers[i].alive = true;
		queue_broker(s, i);
		log_info("broker %" PRId32 " is back", q->broker_id);
		snprintf(reason, sizeof(reason), "broker %" PRId32 " is back",
		    q->broker_id);
		reassess_broker(s, q->broker_id, -1, reason);
	}
	if (q->shutting_down && !r->shutting_down)
		begin_shutdown(s, i);
	return KERR_NONE;
}

int16_t
cst_controlled_shutdown(struct ctrld_state *s,
    const struct ctl_shutdown_req *q, int32_t *remaining, char *msg)
{
	int32_t i = cluster_state_broker_index(&s->cs, q->broker_id);

	*remaining = 0;
	if (i < 0) {
		snprintf(msg, CTLPROTO_MSG_MAX, "broker id %" PRId32 " is not "
		    "in the manifest", q->broker_id);
		return KERR_INVALID_REQUEST;
	}
	if (q->incarnation != s->rt[i].incarnation) {
		snprintf(msg, CTLPROTO_MSG_MAX, "broker %" PRId32 ": "
		    "incarnation %" PRIx64 " is not the registered one",
		    q->broker_id, (uint64_t)q->incarnation);
		return KERR_STALE_BROKER_EPOCH;
	}
	if (!s->rt[i].shutting_down)
		begin_shutdown(s, i);
	*remaining = cst_leaderships(s, q->broker_id);
	if (*remaining > 0)
		snprintf(msg, CTLPROTO_MSG_MAX, "%" PRId32 " leaderships have "
		    "no other in-sync replica", *remaining);
	return KERR_NONE;
}

void
cst_check_sessions(struct ctrld_state *s, int64_t now)
{
	int64_t timeout = s->m->controller.session_timeout_ms;
	char why[96];
	int32_t i;

	for (i = 0; i < s->cs.nbrokers; i++) {
		int64_t quiet = now - s->rt[i].last_hb_ms;

		if (!s->cs.brokers[i].alive || quiet <= timeout)
			continue;
		snprintf(why, sizeof(why), "no heartbeat for %" PRId64 " ms "
		    "(session timeout %" PRId64 " ms)", quiet, timeout);
		broker_died(s, i, why);
	}
}

void
cst_rebalance(struct ctrld_state *s)
{
	int32_t ti, pi;

	for (ti = 0; ti < s->cs.ntopics; ti++) {
		struct cluster_topic *t = &s->cs.topics[ti];

		for (pi = 0; pi < t->npartitions; pi++) {
			struct cluster_partition *p = &t->partitions[pi];
			struct cluster_partition n = *p;
			int32_t pref = p->nreplicas > 0 ? p->replicas[0] : -1;

			if (pref < 0 || p->leader == pref ||
			    !electable(s, pref, -1) ||
			    !cluster_ids_contain(p->isr, p->nisr, pref))
				continue;
			n.leader = pref;
			set_partition(s, t, p, &n, "preferred leader");
		}
	}
}

int64_t
cst_heartbeat_age(const struct ctrld_state *s, int32_t i, int64_t now)
{
	return s->rt[i].heard ? now - s->rt[i].last_hb_ms : -1;
}

/* ------------------------------------------------------------------ */
/* AlterIsr                                                           */

/* Why the proposed ISR is refused for p, or KERR_NONE. */
static int16_t
check_isr(const struct ctrld_state *s, const struct cluster_partition *p,
    const struct ctl_isr_item *it, int32_t leader)
{
	int32_t i;

	if (it->nisr == 0 || !cluster_ids_contain(it->isr, it->nisr, leader))
		return KERR_INVALID_REQUEST;
	for (i = 0; i < it->nisr; i++) {
		if (cluster_ids_contain(it->isr, i, it->isr[i]))
			return KERR_INVALID_REQUEST;	/* duplicate */
		if (!cluster_ids_contain(p->replicas, p->nreplicas, it->isr[i]))
			return KERR_INELIGIBLE_REPLICA;
		if (!cluster_ids_contain(p->isr, p->nisr, it->isr[i]) &&
		    !electable(s, it->isr[i], -1))
			return KERR_INELIGIBLE_REPLICA;
	}
	return KERR_NONE;
}

/* ctrld's current state of the partition, for every AlterIsr answer. */
static void
fill_result(const struct ctrld_state *s, struct ctl_isr_result *res)
{
	const struct cluster_partition *p = cluster_state_partition(&s->cs,
	    res->topic, res->partition);

	res->leader = -1;
	if (p == NULL)
		return;
	res->leader = p->leader;
	res->leader_epoch = p->leader_epoch;
	res->partition_epoch = p->partition_epoch;
	memcpy(res->isr, p->isr, sizeof(res->isr));
	res->nisr = p->nisr;
}

static int16_t
alter_one(struct ctrld_state *s, int32_t broker, const struct ctl_isr_item *it)
{
	int32_t ti = cluster_state_topic_index(&s->cs, it->topic);
	struct cluster_topic *t;
	struct cluster_partition *p, n;
	int16_t err;
	char why[64];

	if (ti < 0 || it->partition < 0 ||
	    it->partition >= s->cs.topics[ti].npartitions)
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	t = &s->cs.topics[ti];
	p = &t->partitions[it->partition];
	if (p->leader != broker)
		err = KERR_NOT_LEADER_OR_FOLLOWER;
	else if (it->leader_epoch < p->leader_epoch)
		err = KERR_FENCED_LEADER_EPOCH;
	else if (it->leader_epoch > p->leader_epoch)
		err = KERR_UNKNOWN_LEADER_EPOCH;
	else if (it->partition_epoch != p->partition_epoch)
		err = KERR_INVALID_UPDATE_VERSION;
	else
		err = check_isr(s, p, it, broker);
	if (err != KERR_NONE)
		return err;
	n = *p;
	memcpy(n.isr, it->isr, sizeof(n.isr));
	n.nisr = it->nisr;
	snprintf(why, sizeof(why), "AlterIsr from leader %" PRId32, broker);
	set_partition(s, t, p, &n, why);
	return KERR_NONE;
}

int16_t
cst_alter_isr(struct ctrld_state *s, const struct ctl_alter_isr_req *q,
    struct ctl_alter_isr_resp *out)
{
	int32_t i = cluster_state_broker_index(&s->cs, q->broker_id), k;
	int16_t top = KERR_NONE;

	memset(out, 0, sizeof(*out));
	if (i < 0) {
		top = KERR_INVALID_REQUEST;
		snprintf(out->error_message, sizeof(out->error_message),
		    "broker id %" PRId32 " is not in the manifest",
		    q->broker_id);
	} else if (q->incarnation != s->rt[i].incarnation) {
		top = KERR_STALE_BROKER_EPOCH;
		snprintf(out->error_message, sizeof(out->error_message),
		    "broker %" PRId32 ": incarnation %" PRIx64 " is not the "
		    "registered one", q->broker_id, (uint64_t)q->incarnation);
	}
	out->error_code = top;
	out->results = xcalloc(q->nitems ? (size_t)q->nitems : 1,
	    sizeof(*out->results));
	out->nresults = q->nitems;
	for (k = 0; k < q->nitems; k++) {
		struct ctl_isr_result *res = &out->results[k];

		memcpy(res->topic, q->items[k].topic, sizeof(res->topic));
		res->partition = q->items[k].partition;
		res->error_code = top != KERR_NONE ? top :
		    alter_one(s, q->broker_id, &q->items[k]);
		fill_result(s, res);
	}
	return top;
}
