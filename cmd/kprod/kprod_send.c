/* SPDX-License-Identifier: MIT */
/*
 * Produce requests: a request to a broker carries the queue head of each of
 * its partitions (Kafka takes one batch per partition per request), or its
 * lingered open batch, sealed on the spot so that it grew for as long as
 * no request could take it, and up to max.in.flight requests are
 * pipelined per broker. A retry resends
 * the same sealed batch, so with idempotence the broker recognises it by
 * producer id and sequence and never appends it twice.
 *
 * Ordering: after a retriable error a partition "drains" (sends nothing
 * until its batches in flight are back), then resends from the head of its
 * queue, so sequences reach the broker in order. When a partition's
 * sequence breaks for good (a batch failed, or the broker lost the
 * producer's state) it needs a new producer id: once nothing is in
 * flight, queued batches that never reached a broker are renumbered from
 * sequence 0, and those that might have are failed rather than risk a
 * duplicate.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kprod.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

static int64_t
backoff_ms(const struct kprod *kp, int attempts)
{
	int64_t ms = kp->cfg.backoff_ms;

	while (--attempts > 0 && ms < kp->cfg.backoff_max_ms)
		ms *= 2;
	return ms < kp->cfg.backoff_max_ms ? ms : kp->cfg.backoff_max_ms;
}

static struct kp_broker_state *
broker_state(struct kprod *kp, int32_t id)
{
	size_t i;

	for (i = 0; i < kp->nbrokers; i++)
		if (kp->brokers[i].id == id)
			return &kp->brokers[i];
	kp->brokers = xrealloc(kp->brokers, (kp->nbrokers + 1) *
	    sizeof(*kp->brokers));
	kp->brokers[kp->nbrokers].id = id;
	kp->brokers[kp->nbrokers].backoff_until = 0;
	return &kp->brokers[kp->nbrokers++];
}

static bool
retriable(int16_t code)
{
	switch (code) {
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KERR_LEADER_NOT_AVAILABLE:
	case KERR_NOT_LEADER_OR_FOLLOWER:
	case KERR_REQUEST_TIMED_OUT:
	case KERR_BROKER_NOT_AVAILABLE:
	case KERR_NOT_ENOUGH_REPLICAS:
	case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case KERR_KAFKA_STORAGE_ERROR:
	case KERR_FENCED_LEADER_EPOCH:
	case KERR_UNKNOWN_LEADER_EPOCH:
	case 13:	/* NETWORK_EXCEPTION */
	case 89:	/* THROTTLING_QUOTA_EXCEEDED */
		return true;
	default:
		return false;
	}
}

/* Errors after which the batch might be in the log all the same. */
static bool
may_have_appended(int16_t code)
{
	return code == KERR_REQUEST_TIMED_OUT ||
	    code == KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
}

/* Errors that say the leader moved: refresh the metadata. */
static bool
stale_leader(int16_t code)
{
	return code == KERR_NOT_LEADER_OR_FOLLOWER ||
	    code == KERR_LEADER_NOT_AVAILABLE ||
	    code == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
	    code == KERR_FENCED_LEADER_EPOCH ||
	    code == KERR_UNKNOWN_LEADER_EPOCH ||
	    code == KERR_BROKER_NOT_AVAILABLE;
}

/*
 * An attempt failed with Kafka error `code`, or with code -1 when the
 * connection failed or timed out (`why` then says how). Retry or fail.
 */
static void
batch_error(struct kprod *kp, struct kp_batch *b, int16_t code,
    const char *why, int64_t now)
{
	struct kp_part *p = b->part;
	const char *name = proto_error_name(code);
	bool retry;

	if (code == -1 || may_have_appended(code))
		b->maybe_written = true;
	if (code == -1)
		snprintf(b->why, sizeof(b->why), "%s", why);
	else
		snprintf(b->why, sizeof(b->why), "%s", name ? name : "error");
	if (code == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER) {
		/*
		 * Expected when an earlier batch is being retried (or failed
		 * and a reset is coming): this one was not appended either.
		 */
		retry = kp->idempotent && (p->need_reset || (p->qhead != NULL &&
		    p->qhead->serial < b->serial));
	} else {
		retry = code == -1 || retriable(code);
	}
	if (retry && b->attempts <= kp->cfg.retries &&
	    now - b->created < kp->cfg.delivery_timeout_ms) {
		kp_queue_insert(p, b);
		p->draining = true;
		p->backoff_until = now + backoff_ms(kp, b->attempts);
		kp->st.retries++;
		if (code == -1 || stale_leader(code))
			kp->need_metadata = true;
		log_debug("partition %" PRId32 ": retrying a batch of %" PRId32
		    " records (attempt %d): %s", p->id, b->count,
		    b->attempts + 1, b->why);
		return;
	}
	if (retry && now - b->created >= kp->cfg.delivery_timeout_ms) {
		char msg[sizeof(b->why) + 64];

		snprintf(msg, sizeof(msg), "delivery timed out after %" PRId64
		    " ms (last error: %s)", now - b->created, b->why);
		kp_batch_failed(kp, b, msg);
		return;
	}
	kp_batch_failed(kp, b, b->why);
}

/* Find and unlink the batch for partition `id` in the request. */
static struct kp_batch *
req_take(struct kp_req *q, int32_t id)
{
	struct kp_batch **at;

	for (at = &q->batches; *at != NULL; at = &(*at)->req_next) {
		if ((*at)->part->id == id) {
			struct kp_batch *b = *at;

			*at = b->req_next;
			b->req_next = NULL;
			return b;
		}
	}
	return NULL;
}

static void
req_unlink(struct kprod *kp, struct kp_req *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		kp->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
}

/* Parse a ProduceResponse v3-7 and settle each batch it names. */
static int
parse_response(struct kprod *kp, struct kp_req *q, struct breader *r,
    int64_t now)
{
	int32_t ntopics = proto_read_array_len(r, false, 6), i, j;

	for (i = 0; i < ntopics && br_ok(r); i++) {
		int32_t nparts;

		(void)proto_read_str(r, false);
		nparts = proto_read_array_len(r, false, 14);
		for (j = 0; j < nparts && br_ok(r); j++) {
			int32_t index = br_i32(r);
			int16_t code = br_i16(r);
			int64_t base = br_i64(r);
			struct kp_batch *b;

			if (q->version >= 2)
				(void)br_i64(r);	/* log append time */
			if (q->version >= 5)
				(void)br_i64(r);	/* log start offset */
			if (!br_ok(r) || (b = req_take(q, index)) == NULL)
				continue;
			b->part->inflight--;
			if (code == KERR_NONE || (kp->idempotent &&
			    code == KERR_DUPLICATE_SEQUENCE_NUMBER))
				kp_batch_acked(kp, b, base);
			else
				batch_error(kp, b, code, NULL, now);
		}
	}
	return br_ok(r) ? 0 : -1;
}

static void
produce_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct kp_req *q = arg;
	struct kprod *kp = q->kp;
	int64_t now = clock_mono_ms();
	const char *why = NULL;
	struct kp_batch *b;

	(void)k;
	req_unlink(kp, q);
	if (r->failure != NULL) {
		why = r->failure->msg;
		kp->need_metadata = true;
	} else if (r->body != NULL && parse_response(kp, q, r->body, now) < 0) {
		log_warnx("broker %s: malformed Produce response",
		    kcl_conn_name(r->conn));
		why = "malformed Produce response";
	} else if (r->body != NULL && q->batches != NULL) {
		why = "partition missing from the Produce response";
	}
	/* acks=0: written to the socket is delivered. */
	while ((b = q->batches) != NULL) {
		q->batches = b->req_next;
		b->req_next = NULL;
		b->part->inflight--;
		if (why == NULL)
			kp_batch_acked(kp, b, -1);
		else
			batch_error(kp, b, -1, why, now);
	}
	free(q);
}

/*
 * Whether the partition has a batch to send now: its queue head, or else
 * its open batch once lingered (send_one() seals it then).
 */
static bool
sendable(struct kprod *kp, struct kp_part *p, int64_t now, int64_t *wake)
{
	if (p->need_reset)
		return false;
	if (p->qhead == NULL && !kp_open_due(kp, p, now))
		return false;
	if (p->leader < 0) {
		/* No leader known: only fresh metadata can tell one. */
		kp->need_metadata = true;
		return false;
	}
	if (now < p->backoff_until) {
		if (p->backoff_until < *wake)
			*wake = p->backoff_until;
		return false;
	}
	if (p->draining) {
		if (p->inflight > 0)
			return false;
		p->draining = false;
	}
	return p->inflight < kp->cfg.max_inflight;
}

/* Put a request's batches back at the head of their queues. */
static void
req_undo(struct kp_req *q)
{
	struct kp_batch *b;

	while ((b = q->batches) != NULL) {
		q->batches = b->req_next;
		b->req_next = NULL;
		b->part->inflight--;
		b->attempts--;
		kp_queue_insert(b->part, b);
	}
}

/* Build and queue one Produce request to `c`; false when nothing went. */
static bool
send_one(struct kprod *kp, struct kcl_conn *c, int32_t broker, int64_t now,
    int64_t *wake)
{
	int v = kcl_version(c, API_PRODUCE, 3, 7);
	struct kp_batch **tail, *b;
	struct kp_req *q;
	size_t size = 0, count_at;
	int32_t i, n = 0, start;
	struct buf *out;
	struct err e = { 0 };

	if (v < 0 || (kp->cfg.codec == COMPRESS_ZSTD && v < 7)) {
		kp->fatal_code = EXIT_PROTOCOL;
		err_set(&kp->fatal, EXIT_PROTOCOL, "broker %s does not support "
		    "Produce v%d-7%s", kcl_conn_name(c),
		    kp->cfg.codec == COMPRESS_ZSTD ? 7 : 3,
		    kp->cfg.codec == COMPRESS_ZSTD ? " (needed for zstd)" : "");
		return false;
	}
	q = xcalloc(1, sizeof(*q));
	q->kp = kp;
	q->version = (int16_t)v;
	tail = &q->batches;
	/* Start at a rotating partition so a full request is fair. */
	start = kp->send_rr++ % kp->nparts;
	for (i = 0; i < kp->nparts; i++) {
		struct kp_part *p = kp->parts[(start + i) % kp->nparts];

		if (p->leader != broker || !sendable(kp, p, now, wake))
			continue;
		if (p->qhead == NULL) {
			if (n > 0 && size + rec_builder_size(&p->rb) + 8 >
			    kp->cfg.max_request)
				break;
			kp_seal(kp, p);
		}
		b = p->qhead;
		if (n > 0 && size + b->data.len + 8 > kp->cfg.max_request)
			break;
		kp_queue_unlink(p, b);
		p->inflight++;
		b->attempts++;
		*tail = b;
		tail = &b->req_next;
		size += b->data.len + 8;
		n++;
	}
	if (n == 0) {
		free(q);
		return false;
	}
	out = kcl_request_begin(c, API_PRODUCE, (int16_t)v);
	proto_put_cstr(out, NULL);		/* transactional id */
	buf_put_i16(out, kp->cfg.acks);
	buf_put_i32(out, (int32_t)kp->produce_timeout_ms);
	buf_put_i32(out, 1);
	proto_put_cstr(out, kp->o->topic);
	count_at = out->len;
	buf_put_i32(out, n);
	for (b = q->batches; b != NULL; b = b->req_next) {
		buf_put_i32(out, b->part->id);
		/* The batch outlives the request: it is sent in place. */
		buf_put_i32(out, (int32_t)b->data.len);
		kcl_request_put_ref(c, b->data.data, b->data.len);
	}
	if (!out->failed)
		be32_store(out->data + count_at, (uint32_t)n);
	if (kcl_request_send(c, produce_cb, q, kp->cfg.acks == 0, &e) < 0) {
		log_debug("broker %s: %s", kcl_conn_name(c), e.msg);
		req_undo(q);
		free(q);
		broker_state(kp, broker)->backoff_until = now +
		    kp->cfg.backoff_ms;
		kp->need_metadata = true;
		return false;
	}
	q->next = kp->reqs;
	if (q->next != NULL)
		q->next->prev = q;
	kp->reqs = q;
	kp->batches_sent += (uint64_t)n;
	return true;
}

int64_t
kp_send_ready(struct kprod *kp, int64_t now)
{
	int64_t wake = INT64_MAX;
	int32_t i, leaders[64];
	size_t nl = 0, j;

	/* The brokers that lead a partition with something to send. */
	for (i = 0; i < kp->nparts && nl < sizeof(leaders) /
	    sizeof(leaders[0]); i++) {
		struct kp_part *p = kp->parts[i];

		if (!sendable(kp, p, now, &wake))
			continue;
		for (j = 0; j < nl && leaders[j] != p->leader; j++)
			;
		if (j == nl)
			leaders[nl++] = p->leader;
	}
	for (j = 0; j < nl && kp->fatal_code == 0; j++) {
		struct kp_broker_state *bs = broker_state(kp, leaders[j]);
		struct kcl_conn *c;
		struct err e = { 0 };

		if (now < bs->backoff_until) {
			if (bs->backoff_until < wake)
				wake = bs->backoff_until;
			continue;
		}
		/* May connect, which runs other callbacks meanwhile. */
		c = kcl_conn(kp->k, leaders[j], &e);
		if (c == NULL) {
			log_debug("%s", e.msg);
			bs->backoff_until = now + kp->cfg.backoff_ms;
			if (bs->backoff_until < wake)
				wake = bs->backoff_until;
			kp->need_metadata = true;
			continue;
		}
		while ((int)kcl_conn_inflight(c) < kp->cfg.max_inflight &&
		    send_one(kp, c, leaders[j], now, &wake))
			;
	}
	return wake;
}

int
kp_init_producer_id(struct kprod *kp, struct err *e)
{
	struct buf resp = BUF_INIT;
	int attempt, rc = -1;

	for (attempt = 0; attempt < 10; attempt++) {
		struct kcl_conn *c = kcl_conn(kp->k, -1, e);
		struct breader r;
		struct buf *b;
		int64_t pid;
		int16_t code, epoch;
		int v;

		if (c == NULL)
			break;
		v = kcl_version(c, API_INIT_PRODUCER_ID, 0, 1);
		if (v < 0) {
			err_set(e, EXIT_UNAVAILABLE, "broker %s does not "
			    "support InitProducerId, which idempotence needs",
			    kcl_conn_name(c));
			rc = -2;
			break;
		}
		b = kcl_request_begin(c, API_INIT_PRODUCER_ID, (int16_t)v);
		proto_put_cstr(b, NULL);	/* transactional id */
		buf_put_i32(b, 60000);		/* transaction timeout */
		if (kcl_request_wait(c, &resp, e) < 0)
			goto again;
		br_init(&r, resp.data, resp.len);
		(void)br_i32(&r);		/* throttle */
		code = br_i16(&r);
		pid = br_i64(&r);
		epoch = br_i16(&r);
		if (!br_ok(&r)) {
			err_set(e, EXIT_PROTOCOL, "broker %s: malformed "
			    "InitProducerId response", kcl_conn_name(c));
			break;
		}
		if (code == KERR_NONE) {
			kp->pid = pid;
			kp->epoch = epoch;
			log_debug("producer id %" PRId64 " epoch %d", pid,
			    epoch);
			rc = 0;
			break;
		}
		err_set(e, code == 31 ? EXIT_NOPERM : EXIT_PROTOCOL,
		    "InitProducerId: %s", proto_error_name(code) ?
		    proto_error_name(code) : "unknown error");
		if (code != KERR_COORDINATOR_NOT_AVAILABLE &&
		    code != KERR_NOT_COORDINATOR &&
		    code != KERR_COORDINATOR_LOAD_IN_PROGRESS && code != 51)
			break;
again:
		if (kcl_poll(kp->k, NULL, 0, (int)backoff_ms(kp, attempt + 1),
		    NULL) < 0)
			break;
	}
	buf_release(&resp);
	return rc;
}

/* Stamp a sealed batch with a new producer id and first sequence. */
static void
restamp(struct kp_part *p, struct kp_batch *b)
{
	uint8_t *d = b->data.data;

	b->base_seq = p->next_seq;
	be64_store(d + REC_OFF_PRODUCER_ID, (uint64_t)p->pid);
	be16_store(d + REC_OFF_PRODUCER_EPOCH, (uint16_t)p->epoch);
	be32_store(d + REC_OFF_BASE_SEQUENCE, (uint32_t)b->base_seq);
	be32_store(d + REC_OFF_CRC, rec_batch_crc_compute(d, b->data.len));
	p->next_seq += b->count;
}

int64_t
kp_reset_partitions(struct kprod *kp)
{
	int64_t now = clock_mono_ms(), wake = INT64_MAX;
	bool fetched = false;
	struct err e = { 0 };
	int32_t i;

	for (i = 0; i < kp->nparts; i++) {
		struct kp_part *p = kp->parts[i];
		struct kp_batch *b, *next;

		if (!p->need_reset || p->inflight > 0)
			continue;
		if (now < p->backoff_until) {
			if (p->backoff_until < wake)
				wake = p->backoff_until;
			continue;
		}
		if (!fetched && kp_init_producer_id(kp, &e) < 0) {
			log_warnx("partition %" PRId32 ": no new producer id "
			    "yet: %s", p->id, e.msg);
			p->backoff_until = now + kp->cfg.backoff_max_ms;
			if (p->backoff_until < wake)
				wake = p->backoff_until;
			continue;
		}
		fetched = true;
		p->pid = kp->pid;
		p->epoch = kp->epoch;
		p->next_seq = 0;
		for (b = p->qhead; b != NULL; b = next) {
			next = b->next;
			if (!b->maybe_written) {
				restamp(p, b);
				continue;
			}
			kp_queue_unlink(p, b);
			kp_batch_failed(kp, b, "outcome unknown after the "
			    "producer's sequence was reset");
		}
		/* After the loop: kp_batch_failed() asks for another reset. */
		p->need_reset = false;
		log_info("partition %" PRId32 ": new producer id %" PRId64,
		    p->id, p->pid);
	}
	return wake;
}
