/* SPDX-License-Identifier: MIT */
/*
 * Where each partition starts and stops: start offsets are resolved per
 * partition with ListOffsets (earliest, latest, by timestamp), one
 * request per leader and kind, and the -e end is the latest offset of
 * that same snapshot. ListOffsets also serves auto.offset.reset when a
 * Fetch says OFFSET_OUT_OF_RANGE, and the metadata refresh that tells
 * each partition its leader lives here too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "util.h"
#include "kcons.h"
#include "banned.h"

#define TS_LATEST (-1)
#define TS_EARLIEST (-2)

enum lo_kind { LO_EARLIEST = 0, LO_LATEST, LO_TIME, LO_KINDS };

/* Metadata */

int
kc_refresh_metadata(struct kc *kc, struct err *e)
{
	const struct kc_opts *o = kc->o;
	size_t i;

	if (kcl_metadata(kc->k, (const char *const *)o->topics, o->ntopics,
	    false, e) < 0)
		return -1;
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];
		const struct kcl_topic *t = kcl_topic(kc->k, p->topic);
		const struct kcl_partition *kp;

		if (t == NULL || t->error == KERR_UNKNOWN_TOPIC_OR_PARTITION)
			return err_set(e, EXIT_NOUSER, "topic '%s' does not "
			    "exist any more", p->topic);
		if (p->id >= t->npartitions) {
			p->leader = -1;
			p->need_leader = true;
			continue;
		}
		kp = &t->parts[p->id];
		if (kp->leader != p->leader && p->leader >= 0)
			log_info("topic '%s' partition %" PRId32 ": leader is "
			    "now broker %" PRId32, p->topic, p->id, kp->leader);
		p->leader = kp->leader;
		p->leader_epoch = kp->leader_epoch;
		p->need_leader = kp->leader < 0;
	}
	return 0;
}

/* ListOffsets */

/*
 * One request in flight: one kind of query for the partitions of a
 * leader. One still out when its round gave up (a signal) is abandoned:
 * kept on kc->lo_abandoned until kc_offsets_release(), since the group's
 * last commit polls the client again and its answer may still come.
 */
struct lo_req {
	struct kc *kc;
	enum lo_kind kind;
	size_t *parts;
	size_t n;
	bool done;
	bool abandoned;
	struct lo_req *next;
};

static bool
retriable(int16_t code)
{
	switch (code) {
	case KERR_NOT_LEADER_OR_FOLLOWER:
	case KERR_LEADER_NOT_AVAILABLE:
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KERR_REQUEST_TIMED_OUT:
	case KERR_BROKER_NOT_AVAILABLE:
	case 9:			/* REPLICA_NOT_AVAILABLE */
	case KERR_KAFKA_STORAGE_ERROR:
	case KERR_FENCED_LEADER_EPOCH:
	case KERR_UNKNOWN_LEADER_EPOCH:
	case 78:		/* OFFSET_NOT_AVAILABLE */
		return true;
	default:
		return false;
	}
}

static const char *
error_name(int16_t code)
{
	const char *n = proto_error_name(code);

	return n ? n : "unknown error";
}

/* Write a ListOffsets v1-3 request for parts[0..n) (sorted by topic). */
static void
lo_build(struct buf *b, int v, struct kc_part *const *parts, size_t n,
    enum lo_kind kind)
{
	size_t i, j, ntopics = 0;

	buf_put_i32(b, -1);			/* replica_id */
	if (v >= 2)
		buf_put_i8(b, 0);		/* read_uncommitted */
	for (i = 0; i < n; i++)
		if (i == 0 || parts[i]->topic != parts[i - 1]->topic)
			ntopics++;
	buf_put_i32(b, (int32_t)ntopics);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && parts[j]->topic == parts[i]->topic; j++)
			;
		proto_put_cstr(b, parts[i]->topic);
		buf_put_i32(b, (int32_t)(j - i));
		for (; i < j; i++) {
			const struct kc_part *p = parts[i];

			buf_put_i32(b, p->id);
			buf_put_i64(b, kind == LO_EARLIEST ? TS_EARLIEST :
			    kind == LO_LATEST ? TS_LATEST :
			    p->kc->o->offset.start_value);
		}
	}
}

/*
 * Walk a ListOffsets v1-3 response, calling fn for each partition found
 * among ours. Returns false when the response is malformed.
 */
static bool
lo_parse(struct kc *kc, const struct kcl_response *r,
    void (*fn)(struct kc_part *p, int16_t error, int64_t offset, void *arg),
    void *arg)
{
	struct breader *br = r->body;
	int32_t nt, np, i, j;

	if (r->api_version >= 2)
		(void)br_i32(br);		/* throttle_time_ms */
	nt = proto_read_array_len(br, false, 6);
	for (i = 0; i < nt && br_ok(br); i++) {
		struct proto_str name = proto_read_str(br, false);

		np = proto_read_array_len(br, false, 22);
		for (j = 0; j < np && br_ok(br); j++) {
			int32_t id = br_i32(br);
			int16_t error = br_i16(br);
			int64_t offset;
			struct kc_part *p;

			(void)br_i64(br);	/* timestamp */
			offset = br_i64(br);
			if (!br_ok(br))
				break;
			p = kc_part_find(kc, name, id);
			if (p != NULL)
				fn(p, error, offset, arg);
		}
	}
	return br_ok(br);
}

static void
lo_store(struct kc_part *p, int16_t error, int64_t offset, void *arg)
{
	const enum lo_kind *kind = arg;

	if (error != KERR_NONE) {
		p->q_error = error;
		return;
	}
	if (*kind == LO_EARLIEST)
		p->q_earliest = offset;
	else if (*kind == LO_LATEST)
		p->q_latest = offset;
	else
		p->q_time = offset;
}

static void
lo_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct lo_req *q = arg;
	size_t i;

	(void)k;
	q->done = true;
	if (q->abandoned)
		return;
	if (r->failure != NULL) {
		kc_trouble(q->kc, r->failure);
		for (i = 0; i < q->n; i++)
			q->kc->parts[q->parts[i]].need_leader = true;
		return;
	}
	if (!lo_parse(q->kc, r, lo_store, &q->kind)) {
		struct err e;

		err_set(&e, EXIT_PROTOCOL, "broker %s: malformed ListOffsets "
		    "response", kcl_conn_name(r->conn));
		kc_fail(q->kc, &e);
	}
}

/* Which ListOffsets kinds partition p needs, as a bit set. */
static unsigned
lo_needs(const struct kc_opts *o)
{
	unsigned need = 0;

	switch (o->offset.start) {
	case KC_START_BEGINNING:
		need |= 1u << LO_EARLIEST;
		break;
	case KC_START_END:
		need |= 1u << LO_LATEST;
		break;
	case KC_START_OFFSET:
	case KC_START_TAIL:
	case KC_START_SKIP:
		need |= 1u << LO_EARLIEST | 1u << LO_LATEST;
		break;
	case KC_START_TIME:
		need |= 1u << LO_TIME | 1u << LO_LATEST;
		break;
	case KC_START_STORED:
		break;
	}
	/* A committed offset is checked against the log's bounds. */
	if (o->group != NULL)
		need |= 1u << LO_EARLIEST | 1u << LO_LATEST;
	if (o->exit_at_end || o->offset.stop == KC_STOP_END)
		need |= 1u << LO_LATEST;
	return need;
}

/* Send every query the unresolved partitions of leader `id` need. */
static int
lo_send_leader(struct kc *kc, int32_t id, unsigned need, struct lo_req **reqs,
    size_t *nreqs, struct err *e)
{
	struct kcl_conn *c = kcl_conn(kc->k, id, e);
	struct kc_part **sel;
	size_t i, n = 0;
	int v, kind;

	if (c == NULL)
		return -1;
	v = kcl_version(c, API_LIST_OFFSETS, 1, 3);
	if (v < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "ListOffsets v1-3", kcl_conn_name(c));
	sel = xcalloc(kc->nparts, sizeof(*sel));
	for (i = 0; i < kc->nparts; i++)
		if (kc->parts[i].state == KC_P_RESOLVE &&
		    !kc->parts[i].need_leader && kc->parts[i].leader == id)
			sel[n++] = &kc->parts[i];
	for (kind = 0; kind < LO_KINDS && n > 0; kind++) {
		struct lo_req *q;

		if (!(need & (1u << kind)))
			continue;
		q = xcalloc(1, sizeof(*q));
		q->kc = kc;
		q->kind = (enum lo_kind)kind;
		q->parts = xcalloc(n, sizeof(*q->parts));
		for (i = 0; i < n; i++)
			q->parts[i] = (size_t)(sel[i] - kc->parts);
		q->n = n;
		reqs[(*nreqs)++] = q;
		lo_build(kcl_request_begin(c, API_LIST_OFFSETS, (int16_t)v), v,
		    sel, n, (enum lo_kind)kind);
		if (kcl_request_send(c, lo_cb, q, false, e) < 0) {
			q->done = true;
			free(sel);
			return -1;
		}
	}
	free(sel);
	return 0;
}

static int
apply_reset_policy(struct kc *kc, struct kc_part *p, int64_t wanted,
    struct err *e)
{
	if (kc->s.reset == KC_RESET_ERROR)
		return err_set(e, EXIT_FAIL, "topic '%s' partition %" PRId32
		    ": offset %" PRId64 " is out of range (the log holds "
		    "offsets %" PRId64 " to %" PRId64 "; see "
		    "auto.offset.reset)", p->topic, p->id, wanted,
		    p->q_earliest, p->q_latest);
	p->fetch_offset = kc->s.reset == KC_RESET_EARLIEST ? p->q_earliest :
	    p->q_latest;
	log_warnx("topic '%s' partition %" PRId32 ": offset %" PRId64 " is out "
	    "of range: starting at the %s offset %" PRId64, p->topic, p->id,
	    wanted, kc->s.reset == KC_RESET_EARLIEST ? "earliest" : "latest",
	    p->fetch_offset);
	return 0;
}

/* Turn the ListOffsets answers of p into its start and stop. */
static int
settle(struct kc *kc, struct kc_part *p, struct err *e)
{
	const struct kc_offset_spec *spec = &kc->o->offset;
	int64_t v = spec->start_value, start = 0;
	enum kc_start how = spec->start;

	/* Group mode: the committed offset wins over -o. */
	if (p->committed >= 0) {
		how = KC_START_OFFSET;
		v = p->committed;
	}
	switch (how) {
	case KC_START_BEGINNING:
		start = p->q_earliest;
		break;
	case KC_START_END:
		start = p->q_latest;
		break;
	case KC_START_OFFSET:
		start = v;
		break;
	case KC_START_TAIL:
		start = p->q_latest - v < p->q_earliest ? p->q_earliest :
		    p->q_latest - v;
		break;
	case KC_START_SKIP:
		start = v > p->q_latest - p->q_earliest ? p->q_latest :
		    p->q_earliest + v;
		break;
	case KC_START_TIME:
		/* Nothing at or after the time yet: wait for new records. */
		start = p->q_time >= 0 ? p->q_time : p->q_latest;
		break;
	case KC_START_STORED:
		if (kc->s.reset == KC_RESET_ERROR)
			return err_set(e, EXIT_FAIL, "topic '%s' partition %"
			    PRId32 ": group '%s' has no committed offset (see "
			    "auto.offset.reset)", p->topic, p->id,
			    kc->o->group);
		start = kc->s.reset == KC_RESET_EARLIEST ? p->q_earliest :
		    p->q_latest;
		break;
	}
	p->fetch_offset = start;
	if (how == KC_START_OFFSET &&
	    (v < p->q_earliest || v > p->q_latest) &&
	    apply_reset_policy(kc, p, v, e) < 0)
		return -1;
	p->out_offset = p->fetch_offset;
	if (spec->stop == KC_STOP_OFFSET)
		p->end = spec->stop_value;
	else if (spec->stop == KC_STOP_TIME)
		p->stop_ts = spec->stop_value;
	if ((kc->o->exit_at_end || spec->stop == KC_STOP_END) &&
	    p->q_latest < p->end)
		p->end = p->q_latest;
	p->state = p->fetch_offset >= p->end ? KC_P_DONE : KC_P_ACTIVE;
	log_debug("topic '%s' partition %" PRId32 ": start %" PRId64 ", stop %"
	    PRId64 "%s", p->topic, p->id, p->fetch_offset, p->end,
	    p->state == KC_P_DONE ? " (nothing to read)" : "");
	return 0;
}

/* One round: ask every leader, wait for the answers, settle what we can. */
static int
resolve_round(struct kc *kc, unsigned need, struct err *e)
{
	struct lo_req **reqs = xcalloc(kc->nparts * LO_KINDS + 1,
	    sizeof(*reqs));
	size_t nreqs = 0, i, j;
	int rc = 0;

	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		p->q_earliest = p->q_latest = p->q_time = -1;
		p->q_error = KERR_NONE;
	}
	for (i = 0; i < kc->nparts && rc == 0; i++) {
		int32_t id = kc->parts[i].leader;

		if (kc->parts[i].state != KC_P_RESOLVE ||
		    kc->parts[i].need_leader)
			continue;
		for (j = 0; j < i; j++)
			if (kc->parts[j].state == KC_P_RESOLVE &&
			    !kc->parts[j].need_leader &&
			    kc->parts[j].leader == id)
				break;
		if (j < i)
			continue;
		if (lo_send_leader(kc, id, need, reqs, &nreqs, e) < 0) {
			if (e->code != EXIT_UNAVAILABLE && e->code !=
			    EXIT_TEMPFAIL) {
				rc = -1;
				break;
			}
			kc_trouble(kc, e);
			for (j = 0; j < kc->nparts; j++)
				if (kc->parts[j].leader == id)
					kc->parts[j].need_leader = true;
		}
	}
	for (;;) {
		for (i = 0; i < nreqs && reqs[i]->done; i++)
			;
		if (i == nreqs || kc_signalled)
			break;
		kc_group_alive(kc);
		if (kcl_poll(kc->k, NULL, 0, 1000, e) < 0) {
			rc = -1;
			break;
		}
	}
	if (i < nreqs)
		kc->stop = true;
	for (i = 0; i < nreqs; i++) {
		if (!reqs[i]->done) {
			reqs[i]->abandoned = true;
			reqs[i]->next = kc->lo_abandoned;
			kc->lo_abandoned = reqs[i];
			continue;
		}
		free(reqs[i]->parts);
		free(reqs[i]);
	}
	free(reqs);
	if (rc < 0 || kc->fail.code != 0 || kc_signalled) {
		if (rc == 0 && kc->fail.code != 0)
			*e = kc->fail;
		return rc < 0 || kc->fail.code != 0 ? -1 : 0;
	}
	for (i = 0; i < kc->nparts; i++) {
		struct kc_part *p = &kc->parts[i];

		if (p->state != KC_P_RESOLVE || p->need_leader)
			continue;
		if (p->q_error != KERR_NONE) {
			if (!retriable(p->q_error))
				return err_set(e, p->q_error ==
				    KERR_UNKNOWN_TOPIC_OR_PARTITION ?
				    EXIT_NOUSER : EXIT_FAIL, "topic '%s' "
				    "partition %" PRId32 ": ListOffsets "
				    "failed: %s", p->topic, p->id,
				    error_name(p->q_error));
			p->need_leader = true;
			continue;
		}
		if (((need & 1u << LO_EARLIEST) && p->q_earliest < 0) ||
		    ((need & 1u << LO_LATEST) && p->q_latest < 0)) {
			p->need_leader = true;
			continue;
		}
		if (settle(kc, p, e) < 0)
			return -1;
	}
	return 0;
}

int
kc_resolve_offsets(struct kc *kc, struct err *e)
{
	unsigned need = lo_needs(kc->o);
	int64_t deadline = kc->o->timeout_ms > 0 ? clock_mono_ms() +
	    kc->o->timeout_ms : INT64_MAX;
	int32_t backoff = kc->s.backoff_ms;
	size_t i, left;

	if (kc_refresh_metadata(kc, e) < 0)
		return -1;
	for (;;) {
		if (resolve_round(kc, need, e) < 0)
			return -1;
		for (i = 0, left = 0; i < kc->nparts; i++)
			if (kc->parts[i].state == KC_P_RESOLVE)
				left++;
		if (left == 0 || kc_signalled)
			break;
		if (clock_mono_ms() >= deadline) {
			for (i = 0; kc->parts[i].state != KC_P_RESOLVE; i++)
				;
			if (kc->trouble_since != 0)
				*e = kc->trouble;
			else
				err_set(e, EXIT_TEMPFAIL, "no leader");
			e->code = e->code == EXIT_UNAVAILABLE ?
			    EXIT_UNAVAILABLE : EXIT_TEMPFAIL;
			return err_wrap(e, "topic '%s' partition %" PRId32
			    ": cannot find the start offset within %" PRId64
			    " ms", kc->parts[i].topic, kc->parts[i].id,
			    kc->o->timeout_ms);
		}
		kc_group_alive(kc);
		if (kcl_poll(kc->k, NULL, 0, backoff, e) < 0)
			return -1;
		backoff = backoff * 2 > kc->s.backoff_max_ms ?
		    kc->s.backoff_max_ms : backoff * 2;
		if (kc_refresh_metadata(kc, e) < 0) {
			if (e->code != EXIT_UNAVAILABLE &&
			    e->code != EXIT_TEMPFAIL)
				return -1;
			kc_trouble(kc, e);
		}
	}
	kc->trouble_since = 0;
	return 0;
}

void
kc_offsets_release(struct kc *kc)
{
	while (kc->lo_abandoned != NULL) {
		struct lo_req *q = kc->lo_abandoned;

		kc->lo_abandoned = q->next;
		free(q->parts);
		free(q);
	}
}

/* auto.offset.reset while consuming */

static void
reset_store(struct kc_part *p, int16_t error, int64_t offset, void *arg)
{
	struct kc *kc = p->kc;
	struct err e;

	(void)arg;
	if (p->state != KC_P_RESET)
		return;
	if (error != KERR_NONE || offset < 0) {
		if (error != KERR_NONE && !retriable(error)) {
			err_set(&e, EXIT_FAIL, "topic '%s' partition %" PRId32
			    ": ListOffsets failed: %s", p->topic, p->id,
			    error_name(error));
			kc_fail(kc, &e);
		}
		p->need_leader = true;
		kc->need_metadata = true;
		return;
	}
	log_warnx("topic '%s' partition %" PRId32 ": offset %" PRId64 " is out "
	    "of range: going on from the %s offset %" PRId64, p->topic, p->id,
	    p->fetch_offset, kc->s.reset == KC_RESET_EARLIEST ? "earliest" :
	    "latest", offset);
	p->gen++;
	p->fetch_offset = p->out_offset = offset;
	p->state = offset >= p->end ? KC_P_DONE : KC_P_ACTIVE;
}

static void
reset_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct kc_part *p = arg;
	struct kc *kc = p->kc;

	(void)k;
	p->reset_inflight = false;
	if (r->failure != NULL) {
		kc_trouble(kc, r->failure);
		kc->need_metadata = true;
		return;
	}
	if (!lo_parse(kc, r, reset_store, NULL)) {
		struct err e;

		err_set(&e, EXIT_PROTOCOL, "broker %s: malformed ListOffsets "
		    "response", kcl_conn_name(r->conn));
		kc_fail(kc, &e);
	}
}

void
kc_reset_send(struct kc *kc, struct kc_part *p, struct kcl_conn *c)
{
	int v = kcl_version(c, API_LIST_OFFSETS, 1, 3);
	struct kc_part *one[1] = { p };
	struct err e = { 0 };

	if (v < 0) {
		err_set(&e, EXIT_PROTOCOL, "broker %s does not support "
		    "ListOffsets v1-3", kcl_conn_name(c));
		kc_fail(kc, &e);
		return;
	}
	lo_build(kcl_request_begin(c, API_LIST_OFFSETS, (int16_t)v), v, one, 1,
	    kc->s.reset == KC_RESET_EARLIEST ? LO_EARLIEST : LO_LATEST);
	if (kcl_request_send(c, reset_cb, p, false, &e) < 0) {
		kc_trouble(kc, &e);
		return;
	}
	p->reset_inflight = true;
}
