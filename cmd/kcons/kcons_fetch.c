/* SPDX-License-Identifier: MIT */
/*
 * The consume loop. Partitions are grouped by leader and each leader gets
 * one Fetch (v4-11) at a time naming all its partitions; the broker parks
 * it up to fetch.wait.max.ms when there is nothing new, so following a
 * quiet topic costs no CPU. When a response arrives its callback notes
 * the complete batches, moves each fetch offset past them and sends the
 * next Fetch at once; the records then print while the broker prepares
 * the next answer: straight from the response, still in the callback,
 * when the main loop of a standalone consumer polls (kc->borrow), else
 * from a copy in `pending` that the main loop prints (a group member may
 * have to commit first, and other waits run callbacks too). A trailing
 * partial batch is left for the next Fetch. Lost connections back off and
 * reconnect, leader changes refresh the metadata, and out-of-range
 * offsets follow auto.offset.reset.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "util.h"
#include "kcons.h"
#include "banned.h"

/* Longest kcl_poll() wait: signals are checked at least this often. */
#define POLL_MAX_MS 1000

static void fetch_cb(struct kcl *k, const struct kcl_response *r, void *arg);

struct kc_part *
kc_part_find(struct kc *kc, struct proto_str topic, int32_t id)
{
	size_t i;

	for (i = 0; i < kc->ntopics; i++) {
		const struct kc_topic *t = &kc->topics[i];

		if (!proto_str_eq(topic, t->name))
			continue;
		if (id < 0 || id >= t->npartitions || t->map[id] < 0)
			return NULL;
		return &kc->parts[t->map[id]];
	}
	return NULL;
}

struct kc_leader *
kc_leader_get(struct kc *kc, int32_t id)
{
	struct kc_leader *l;
	size_t i;

	for (i = 0; i < kc->nleaders; i++)
		if (kc->leaders[i]->id == id)
			return kc->leaders[i];
	l = xcalloc(1, sizeof(*l));
	l->kc = kc;
	l->id = id;
	l->parts = xcalloc(kc->nparts, sizeof(*l->parts));
	kc->leaders = xrealloc(kc->leaders, (kc->nleaders + 1) *
	    sizeof(*kc->leaders));
	kc->leaders[kc->nleaders++] = l;
	return l;
}

static bool
fetchable(const struct kc_part *p, int32_t leader)
{
	return p->state == KC_P_ACTIVE && !p->inflight && !p->need_leader &&
	    p->leader == leader && p->fetch_offset < p->end;
}

/* A broker failed us: back off before the next try, find the leaders again. */
static void
leader_failed(struct kc *kc, struct kc_leader *l, const struct err *why)
{
	int32_t b = l->backoff_ms;

	b = b == 0 ? kc->s.backoff_ms : b * 2;
	l->backoff_ms = b > kc->s.backoff_max_ms ? kc->s.backoff_max_ms : b;
	l->retry_at = clock_mono_ms() + l->backoff_ms;
	kc->need_metadata = true;
	kc_trouble(kc, why);
}

/*
 * Build and queue one Fetch for every fetchable partition of leader l,
 * starting at a rotating position so that no partition is always last
 * under fetch.max.bytes.
 */
static void
fetch_send(struct kc *kc, struct kc_leader *l, struct kcl_conn *c)
{
	struct err e = { 0 };
	struct buf *b;
	size_t i, ntopics = 0;
	int v;

	if (l->inflight || kc->stop)
		return;
	l->nparts = 0;
	for (i = 0; i < kc->nparts; i++) {
		size_t j = (l->rotate + i) % kc->nparts;

		if (fetchable(&kc->parts[j], l->id))
			l->parts[l->nparts++] = j;
	}
	if (l->nparts == 0)
		return;
	l->rotate = (l->rotate + 1) % kc->nparts;
	v = kcl_version(c, API_FETCH, 4, 11);
	if (v < 0) {
		err_set(&e, EXIT_PROTOCOL, "broker %s does not support Fetch "
		    "v4-11", kcl_conn_name(c));
		kc_fail(kc, &e);
		return;
	}
	b = kcl_request_begin(c, API_FETCH, (int16_t)v);
	buf_put_i32(b, -1);			/* replica_id: a consumer */
	buf_put_i32(b, kc->s.fetch_wait_ms);
	buf_put_i32(b, kc->s.fetch_min_bytes);
	buf_put_i32(b, kc->s.fetch_max_bytes);
	buf_put_i8(b, 0);			/* read_uncommitted */
	if (v >= 7) {
		buf_put_i32(b, 0);		/* no fetch session */
		buf_put_i32(b, -1);
	}
	for (i = 0; i < l->nparts; i++)
		if (i == 0 || kc->parts[l->parts[i]].topic !=
		    kc->parts[l->parts[i - 1]].topic)
			ntopics++;
	buf_put_i32(b, (int32_t)ntopics);
	for (i = 0; i < l->nparts;) {
		const char *topic = kc->parts[l->parts[i]].topic;
		size_t j;

		for (j = i; j < l->nparts && kc->parts[l->parts[j]].topic ==
		    topic; j++)
			;
		proto_put_cstr(b, topic);
		buf_put_i32(b, (int32_t)(j - i));
		for (; i < j; i++) {
			struct kc_part *p = &kc->parts[l->parts[i]];

			buf_put_i32(b, p->id);
			if (v >= 9)
				buf_put_i32(b, p->leader_epoch);
			buf_put_i64(b, p->fetch_offset);
			if (v >= 5)
				buf_put_i64(b, -1);	/* log_start_offset */
			buf_put_i32(b, p->max_bytes);
		}
	}
	if (v >= 7)
		buf_put_i32(b, 0);		/* forgotten topics */
	if (v >= 11)
		proto_put_cstr(b, "");		/* rack_id */
	if (kcl_request_send(c, fetch_cb, l, false, &e) < 0) {
		leader_failed(kc, l, &e);
		return;
	}
	for (i = 0; i < l->nparts; i++)
		kc->parts[l->parts[i]].inflight = true;
	l->inflight = true;
}

static void
add_chunk(struct kc *kc, struct kc_part *p, const uint8_t *data, size_t len)
{
	struct kc_chunk *c;

	if (kc->nchunks == kc->capchunks) {
		kc->capchunks = kc->capchunks ? kc->capchunks * 2 : 64;
		kc->chunks = xrealloc(kc->chunks, kc->capchunks *
		    sizeof(*kc->chunks));
	}
	c = &kc->chunks[kc->nchunks++];
	c->p = p;
	c->gen = p->gen;
	c->off = kc->pending.len;
	c->len = len;
	if (kc->borrow) {
		c->data = data;		/* fetch_cb prints it before returning */
		return;
	}
	c->data = NULL;
	buf_put(&kc->pending, data, len);
	if (kc->pending.failed) {
		struct err e;

		err_set(&e, EXIT_OSERR, "out of memory holding fetched "
		    "records");
		kc_fail(kc, &e);
	}
}

/*
 * Keep the complete batches of a partition's record set and move its
 * fetch offset past them. Only the batch framing is read here; CRCs and
 * records are checked when printed.
 */
static void
take_records(struct kc *kc, struct kc_part *p, const uint8_t *data,
    size_t len)
{
	int64_t next = p->fetch_offset;
	size_t pos = 0, size;
	struct err e;
	int rc;

	err_clear(&e);
	while (pos < len) {
		int64_t last;

		rc = rec_batch_size_peek(data + pos, len - pos,
		    (size_t)INT32_MAX + REC_BATCH_LOG_OVERHEAD, &size, &e);
		if (rc < 0) {
			err_wrap(&e, "topic '%s' partition %" PRId32
			    ": offset %" PRId64, p->topic, p->id, next);
			kc_fail(kc, &e);
			return;
		}
		if (rc == 0 || size > len - pos)
			break;		/* a partial batch: next time */
		last = (int64_t)be64_load(data + pos + REC_OFF_BASE_OFFSET) +
		    (int32_t)be32_load(data + pos + REC_OFF_LAST_OFFSET_DELTA);
		if (last + 1 > next)
			next = last + 1;
		pos += size;
	}
	if (pos > 0) {
		add_chunk(kc, p, data, pos);
		p->fetch_offset = next;
		return;
	}
	if (len == 0)
		return;
	/* Not even one whole batch: it is larger than our limit. */
	if (p->max_bytes < kc->s.fetch_max_bytes) {
		p->max_bytes = p->max_bytes > kc->s.fetch_max_bytes / 2 ?
		    kc->s.fetch_max_bytes : p->max_bytes * 2;
		log_info("topic '%s' partition %" PRId32 ": batch at offset %"
		    PRId64 " is larger than the fetch size; asking for %" PRId32
		    " bytes", p->topic, p->id, p->fetch_offset, p->max_bytes);
		return;
	}
	err_set(&e, EXIT_FAIL, "topic '%s' partition %" PRId32 ": the batch at "
	    "offset %" PRId64 " is larger than fetch.max.bytes (%" PRId32 ")",
	    p->topic, p->id, p->fetch_offset, kc->s.fetch_max_bytes);
	kc_fail(kc, &e);
}

static bool
leadership_error(int16_t code)
{
	switch (code) {
	case KERR_NOT_LEADER_OR_FOLLOWER:
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KERR_LEADER_NOT_AVAILABLE:
	case KERR_FENCED_LEADER_EPOCH:
	case KERR_UNKNOWN_LEADER_EPOCH:
	case KERR_REQUEST_TIMED_OUT:
	case KERR_BROKER_NOT_AVAILABLE:
	case KERR_KAFKA_STORAGE_ERROR:
	case 9:			/* REPLICA_NOT_AVAILABLE */
	case 78:		/* OFFSET_NOT_AVAILABLE */
		return true;
	default:
		return false;
	}
}

static void
partition_result(struct kc *kc, struct kcl_conn *c, struct kc_part *p,
    int16_t code, int64_t hw, struct proto_str records)
{
	struct err e = { 0 };
	const char *name = proto_error_name(code);

	if (p->state != KC_P_ACTIVE)
		return;		/* done or resetting: drop what came */
	if (code == KERR_NONE) {
		p->high_watermark = hw;
		if (records.len > 0)
			take_records(kc, p, (const uint8_t *)records.p,
			    (size_t)records.len);
		return;
	}
	if (code == KERR_OFFSET_OUT_OF_RANGE) {
		if (kc->s.reset == KC_RESET_ERROR) {
			err_set(&e, EXIT_FAIL, "topic '%s' partition %" PRId32
			    ": offset %" PRId64 " is out of range (high "
			    "watermark %" PRId64 "; see auto.offset.reset)",
			    p->topic, p->id, p->fetch_offset, hw);
			kc_fail(kc, &e);
			return;
		}
		p->state = KC_P_RESET;
		kc_reset_send(kc, p, c);
		return;
	}
	if (leadership_error(code)) {
		err_set(&e, EXIT_TEMPFAIL, "topic '%s' partition %" PRId32
		    ": broker %s: %s", p->topic, p->id, kcl_conn_name(c),
		    name ? name : "error");
		p->need_leader = true;
		kc->need_metadata = true;
		kc_trouble(kc, &e);
		return;
	}
	err_set(&e, EXIT_FAIL, "topic '%s' partition %" PRId32 ": fetch from "
	    "broker %s failed: %s (error %d)", p->topic, p->id,
	    kcl_conn_name(c), name ? name : "unknown", code);
	kc_fail(kc, &e);
}

/* Parse a Fetch response; false when it is malformed. */
static bool
fetch_parse(struct kc *kc, const struct kcl_response *r)
{
	struct breader *br = r->body;
	int16_t v = r->api_version, top = KERR_NONE;
	int32_t nt, np, i, j;

	(void)br_i32(br);			/* throttle_time_ms */
	if (v >= 7) {
		top = br_i16(br);
		(void)br_i32(br);		/* session_id */
	}
	nt = proto_read_array_len(br, false, 6);
	for (i = 0; i < nt && br_ok(br); i++) {
		struct proto_str topic = proto_read_str(br, false);

		np = proto_read_array_len(br, false, 30);
		for (j = 0; j < np && br_ok(br); j++) {
			int32_t id = br_i32(br), naborted;
			int16_t code = br_i16(br);
			int64_t hw = br_i64(br);
			struct proto_str records;
			struct kc_part *p;

			(void)br_i64(br);	/* last_stable_offset */
			if (v >= 5)
				(void)br_i64(br);	/* log_start_offset */
			naborted = proto_read_array_len(br, true, 16);
			if (naborted > 0)
				br_skip(br, (size_t)naborted * 16);
			if (v >= 11)
				(void)br_i32(br);	/* preferred replica */
			records = proto_read_bytes(br, true);
			if (!br_ok(br))
				break;
			p = kc_part_find(kc, topic, id);
			if (p == NULL || !p->inflight)
				continue;
			p->inflight = false;
			partition_result(kc, r->conn, p,
			    top != KERR_NONE ? top : code, hw, records);
		}
	}
	return br_ok(br);
}

static void
fetch_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct kc_leader *l = arg;
	struct kc *kc = l->kc;
	struct err e;
	size_t i;
	bool ok;

	(void)k;
	l->inflight = false;
	if (r->failure != NULL) {
		for (i = 0; i < l->nparts; i++)
			kc->parts[l->parts[i]].inflight = false;
		leader_failed(kc, l, r->failure);
		return;
	}
	ok = fetch_parse(kc, r);
	/* Partitions the response left out are simply asked again. */
	for (i = 0; i < l->nparts; i++)
		kc->parts[l->parts[i]].inflight = false;
	if (!ok) {
		err_set(&e, EXIT_PROTOCOL, "broker %s: malformed Fetch "
		    "response", kcl_conn_name(r->conn));
		kc_fail(kc, &e);
		goto out;
	}
	l->backoff_ms = 0;
	l->retry_at = 0;
	if (!kc->need_metadata && kc->trouble_since != 0) {
		log_info("fetching again from broker %s",
		    kcl_conn_name(r->conn));
		kc->trouble_since = 0;
	}
	/*
	 * Pipelining: the next Fetch goes out before these records print,
	 * unless a response is already waiting to be printed (a cooperative
	 * join prints only what stdout takes): the loop sends it later.
	 */
	if (kc->pending.len < (size_t)kc->s.fetch_max_bytes)
		fetch_send(kc, l, r->conn);
out:
	/* Borrowed chunks point into r: print (or, stopped, drop) them now. */
	if (kc->borrow)
		kc_drain_pending(kc);
}

static void
part_done(struct kc_part *p)
{
	p->state = KC_P_DONE;
}

/* Print the records of one batch that lie in [out_offset, end). */
static void
print_batch(struct kc *kc, struct kc_part *p, const struct rec_batch *b)
{
	struct rec_record r;
	struct err e;
	int rc;

	err_clear(&e);		/* cheaper than `= { 0 }` (516 bytes) */
	if (kc->s.check_crcs && !rec_batch_crc_ok(b)) {
		err_set(&e, EXIT_DATAERR, "topic '%s' partition %" PRId32
		    ": batch at offset %" PRId64 " has a bad CRC", p->topic,
		    p->id, b->base_offset);
		kc_fail(kc, &e);
		return;
	}
	if (!(b->attributes & REC_ATTR_CONTROL)) {
		if (rec_iter_reset(&kc->it, b, &e) < 0)
			goto corrupt;
		while ((rc = rec_iter_next(&kc->it, &r, &e)) > 0) {
			if (r.offset < p->out_offset)
				continue;
			if (r.offset >= p->end || r.timestamp >= p->stop_ts) {
				part_done(p);
				return;
			}
			if (kc_fmt_record(kc, p, b, &r) < 0)
				return;
			p->out_offset = r.offset + 1;
			p->records++;
			if (++kc->records_out == kc->o->count) {
				kc->stop = true;
				return;
			}
			if (kc->stop)
				return;
		}
		if (rc < 0)
			goto corrupt;
	}
	/* Past compacted-away offsets and control records too. */
	if (rec_batch_last_offset(b) + 1 > p->out_offset)
		p->out_offset = rec_batch_last_offset(b) + 1;
	if (p->out_offset >= p->end)
		part_done(p);
	return;
corrupt:
	err_wrap(&e, "topic '%s' partition %" PRId32, p->topic, p->id);
	e.code = EXIT_DATAERR;
	kc_fail(kc, &e);
}

/* Print everything fetched so far, in the order it arrived. */
void
kc_drain_pending(struct kc *kc)
{
	struct rec_batch b;
	struct err e;
	uint64_t before = kc->records_out;
	size_t i, pos;

	err_clear(&e);
	/* --commit-before: nothing prints unless its commit went through. */
	if (kc->g != NULL && kc->nchunks > 0 && !kc_group_before_print(kc))
		i = kc->nchunks;
	else
		i = 0;
	for (; i < kc->nchunks && !kc->stop; i++) {
		const struct kc_chunk *c = &kc->chunks[i];
		const uint8_t *data = c->data != NULL ? c->data :
		    kc->pending.data + c->off;
		struct kc_part *p = c->p;

		for (pos = 0; pos < c->len && !kc->stop; pos += b.size) {
			if (c->gen != p->gen || p->state != KC_P_ACTIVE)
				break;
			/* Others own our partitions now: drop the rest. */
			if (kc->g != NULL && kc_group_lost(kc))
				break;
			if (rec_batch_parse(data + pos, c->len - pos, &b,
			    &e) < 0) {
				err_wrap(&e, "topic '%s' partition %" PRId32,
				    p->topic, p->id);
				kc_fail(kc, &e);
				break;
			}
			if (rec_batch_last_offset(&b) >= p->out_offset)
				print_batch(kc, p, &b);
		}
	}
	if (kc->records_out != before)
		kc->last_record_ms = clock_mono_ms();
	kc->nchunks = 0;
	buf_clear(&kc->pending);
}

/*
 * Every partition reached its end. A group member with no partition is
 * never done: one may come (the next cooperative round hands over what
 * was withheld, or a member leaves).
 */
static bool
all_done(const struct kc *kc)
{
	size_t i, owned = 0;

	if (kc->g != NULL && !kc_group_assigned(kc))
		return false;
	for (i = 0; i < kc->nparts; i++) {
		if (kc->parts[i].state != KC_P_DONE &&
		    kc->parts[i].state != KC_P_IDLE)
			return false;
		owned += kc->parts[i].state != KC_P_IDLE;
	}
	return kc->g == NULL || owned > 0;
}

/* Send Fetches (and reset queries) that are due; may connect. */
static void
send_due(struct kc *kc, int64_t now)
{
	struct err e = { 0 };
	size_t i;

	for (i = 0; i < kc->nparts && !kc->stop; i++) {
		struct kc_part *p = &kc->parts[i];
		struct kc_leader *l;
		struct kcl_conn *c;

		if (p->need_leader || p->leader < 0)
			continue;
		l = kc_leader_get(kc, p->leader);
		if (now < l->retry_at)
			continue;
		if (p->state == KC_P_RESET && !p->reset_inflight) {
			if ((c = kcl_conn(kc->k, l->id, &e)) == NULL)
				leader_failed(kc, l, &e);
			else
				kc_reset_send(kc, p, c);
			continue;
		}
		if (l->inflight || !fetchable(p, l->id))
			continue;
		c = kcl_conn(kc->k, l->id, &e);
		if (c == NULL) {
			leader_failed(kc, l, &e);
			continue;
		}
		fetch_send(kc, l, c);
	}
}

/* Metadata refresh with its own backoff; leaders may have moved. */
static void
refresh_due(struct kc *kc, int64_t now)
{
	struct err e = { 0 };
	int32_t b;
	size_t i;

	if (!kc->need_metadata || now < kc->metadata_at)
		return;
	if (kc_refresh_metadata(kc, &e) < 0) {
		if (e.code != EXIT_UNAVAILABLE && e.code != EXIT_TEMPFAIL) {
			kc_fail(kc, &e);
			return;
		}
		b = kc->metadata_backoff_ms;
		b = b == 0 ? kc->s.backoff_ms : b * 2;
		kc->metadata_backoff_ms = b > kc->s.backoff_max_ms ?
		    kc->s.backoff_max_ms : b;
		kc->metadata_at = now + kc->metadata_backoff_ms;
		kc_trouble(kc, &e);
		return;
	}
	kc->metadata_backoff_ms = 0;
	kc->need_metadata = false;
	for (i = 0; i < kc->nparts; i++)
		if (kc->parts[i].state != KC_P_DONE && kc->parts[i].need_leader)
			kc->need_metadata = true;
	if (kc->need_metadata)
		kc->metadata_at = now + kc->s.backoff_max_ms;
}

/* Stop when -m, -i or a signal says so; false to stop. */
static bool
check_limits(struct kc *kc, int64_t now)
{
	const struct kc_opts *o = kc->o;
	struct err e;

	if (kc_signalled) {
		log_info("interrupted: stopping");
		return false;
	}
	if (o->timeout_ms > 0 && kc->trouble_since != 0 &&
	    now - kc->trouble_since >= o->timeout_ms) {
		e = kc->trouble;
		e.code = e.code == EXIT_UNAVAILABLE ? EXIT_UNAVAILABLE :
		    EXIT_TEMPFAIL;
		err_wrap(&e, "giving up after %" PRId64 " ms", o->timeout_ms);
		kc_fail(kc, &e);
		return false;
	}
	if (o->idle_ms > 0 && now - kc->last_record_ms >= o->idle_ms) {
		log_info("no record for %" PRId64 " ms: stopping", o->idle_ms);
		return false;
	}
	return true;
}

/* How long kcl_poll may wait before something is due. */
static int
poll_timeout(const struct kc *kc, int64_t now)
{
	int64_t t = POLL_MAX_MS, due;
	size_t i;

	for (i = 0; i < kc->nleaders; i++) {
		due = kc->leaders[i]->retry_at - now;
		if (due > 0 && due < t)
			t = due;
	}
	if (kc->need_metadata && kc->metadata_at - now < t)
		t = kc->metadata_at - now;
	if (kc->o->idle_ms > 0 && kc->last_record_ms + kc->o->idle_ms - now < t)
		t = kc->last_record_ms + kc->o->idle_ms - now;
	if (kc->o->timeout_ms > 0 && kc->trouble_since != 0 &&
	    kc->trouble_since + kc->o->timeout_ms - now < t)
		t = kc->trouble_since + kc->o->timeout_ms - now;
	if (kc->g != NULL && kc_group_poll_ms(kc, now) < t)
		t = kc_group_poll_ms(kc, now);
	return t < 0 ? 0 : (int)t;
}

/* A pipe or socket on stdout reports its reader leaving through poll. */
static bool
stdout_pollable(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode));
}

int
kc_consume(struct kc *kc)
{
	struct pollfd fds[2];
	struct err e = { 0 };
	int nout = stdout_pollable(kc->out.fd) ? 1 : 0, nfds, rc;
	int64_t now;

	kc->last_record_ms = clock_mono_ms();
	while (!kc->stop) {
		kc_drain_pending(kc);
		if (kc->stop || all_done(kc))
			break;
		now = clock_mono_ms();
		if (!check_limits(kc, now))
			break;
		if (kc->g != NULL && !kc_group_tick(kc, now))
			break;
		if (kc->g != NULL && all_done(kc))
			break;
		refresh_due(kc, now);
		send_due(kc, now);
		if (kc->stop)
			break;
		/* Idle from here on: hand over what is buffered. */
		if (kc->out.b.len > 0 && kc_out_flush(&kc->out) < 0) {
			kc->stop = true;
			break;
		}
		if (kc->g != NULL)
			kc_group_written(kc);
		/* stdout's reader leaving; the heartbeat thread's news. */
		nfds = 0;
		if (nout > 0)
			fds[nfds++] = (struct pollfd){ kc->out.fd, 0, 0 };
		if (kc->g != NULL && kc_group_poll_fd(kc) >= 0)
			fds[nfds++] = (struct pollfd){ kc_group_poll_fd(kc),
			    POLLIN, 0 };
		/*
		 * Standalone, fetch callbacks print in place: nothing is
		 * pending now (drained above) and no commit comes first.
		 */
		kc->borrow = kc->g == NULL && kc->nchunks == 0;
		rc = kcl_poll(kc->k, fds, nfds, poll_timeout(kc, now), &e);
		kc->borrow = false;
		if (rc < 0) {
			kc_fail(kc, &e);
			break;
		}
		if (nout > 0 && (fds[0].revents & (POLLERR | POLLHUP))) {
			log_debug("standard output was closed: stopping");
			kc->out.closed = true;
			break;
		}
	}
	if (kc_out_flush(&kc->out) < 0 && kc->out.failed)
		return -1;
	return kc->fail.code != 0 ? -1 : 0;
}
