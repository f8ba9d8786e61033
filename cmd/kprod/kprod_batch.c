/* SPDX-License-Identifier: MIT */
/*
 * Batches: one open batch per partition (a reused rec_builder, so adding a
 * record allocates nothing), sealed into a queue of batches in seal order
 * when full, flushed, or lingered and free to be sent at once (as in
 * Kafka's producer: while the request slots are taken it keeps growing).
 * A sealed batch's bytes never change while it may be on a broker, except
 * for the renumbering in kp_reset_partitions(). This file owns a batch's
 * life: sealing, the queue, acknowledgement, failure (reported here,
 * once), delivery timeouts, and the accounting against buffer.memory that
 * drives back-pressure.
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

/* Failure lines printed before the rest are only counted. */
#define KP_MAX_FAILURE_MSGS 10
/*
 * Idle batches kept for reuse: as many as buffer.memory holds at
 * batch.size (their pages stay touched), within these bounds.
 */
#define KP_MIN_FREE 16
#define KP_MAX_FREE 1024
/* Per-record overhead counted against batch.size and buffer.memory. */
#define KP_RECORD_OVERHEAD 24

static struct kp_batch *
batch_alloc(struct kprod *kp)
{
	struct kp_batch *b = kp->free_batches;

	if (b != NULL) {
		kp->free_batches = b->next;
		kp->nfree--;
		buf_clear(&b->data);
	} else {
		b = xcalloc(1, sizeof(*b));
		buf_init(&b->data);
	}
	b->next = b->prev = b->req_next = NULL;
	b->meta = NULL;
	b->attempts = 0;
	b->maybe_written = false;
	b->why[0] = '\0';
	return b;
}

static size_t
max_free(const struct kprod *kp)
{
	size_t n = kp->cfg.buffer_bytes / kp->cfg.batch_size + 2;

	return n < KP_MIN_FREE ? KP_MIN_FREE : n > KP_MAX_FREE ? KP_MAX_FREE : n;
}

static void
batch_free(struct kprod *kp, struct kp_batch *b)
{
	free(b->meta);
	b->meta = NULL;
	if (kp->nfree >= max_free(kp) || b->data.cap > 4 * kp->cfg.batch_size) {
		buf_release(&b->data);
		free(b);
		return;
	}
	b->next = kp->free_batches;
	kp->free_batches = b;
	kp->nfree++;
}

void
kp_queue_unlink(struct kp_part *p, struct kp_batch *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		p->qhead = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	else
		p->qtail = b->prev;
	b->next = b->prev = NULL;
}

/* Insert in seal order (a retried batch goes back before newer ones). */
void
kp_queue_insert(struct kp_part *p, struct kp_batch *b)
{
	struct kp_batch *at = p->qtail;

	while (at != NULL && at->serial > b->serial)
		at = at->prev;
	b->prev = at;
	b->next = at != NULL ? at->next : p->qhead;
	if (b->next != NULL)
		b->next->prev = b;
	else
		p->qtail = b;
	if (at != NULL)
		at->next = b;
	else
		p->qhead = b;
}

static struct kp_part *
part_new(struct kprod *kp, int32_t id)
{
	struct kp_part *p = xcalloc(1, sizeof(*p));

	p->id = id;
	p->leader = -1;
	rec_builder_init(&p->rb, kp->cfg.codec, kp->cfg.level);
	p->pid = kp->idempotent ? kp->pid : -1;
	p->epoch = kp->idempotent ? kp->epoch : -1;
	return p;
}

/* The exit class of a topic-level Metadata error. */
static int
topic_error_class(int16_t code)
{
	switch (code) {
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
		return EXIT_NOUSER;
	case KERR_INVALID_TOPIC_EXCEPTION:
		return EXIT_USAGE;
	case 29:	/* TOPIC_AUTHORIZATION_FAILED */
		return EXIT_NOPERM;
	default:	/* LEADER_NOT_AVAILABLE and the like: wait */
		return EXIT_TEMPFAIL;
	}
}

int
kp_parts_update(struct kprod *kp, struct err *e)
{
	const struct kcl_topic *t = kcl_topic(kp->k, kp->o->topic);
	int32_t i;

	if (t == NULL)
		return err_set(e, EXIT_PROTOCOL, "the broker did not describe "
		    "topic '%s'", kp->o->topic);
	if (t->error != KERR_NONE)
		return err_set(e, topic_error_class(t->error), "topic '%s': %s",
		    kp->o->topic, proto_error_name(t->error) ?
		    proto_error_name(t->error) : "unknown error");
	if (t->npartitions <= 0)
		return err_set(e, EXIT_TEMPFAIL, "topic '%s' has no partitions",
		    kp->o->topic);
	if (t->npartitions > kp->nparts) {
		kp->parts = xrealloc(kp->parts, (size_t)t->npartitions *
		    sizeof(*kp->parts));
		for (i = kp->nparts; i < t->npartitions; i++)
			kp->parts[i] = part_new(kp, i);
		if (kp->nparts > 0)
			log_info("topic '%s' now has %" PRId32 " partitions",
			    kp->o->topic, t->npartitions);
		kp->nparts = t->npartitions;
	}
	for (i = 0; i < kp->nparts; i++)
		kp->parts[i]->leader = i < t->npartitions ?
		    t->parts[i].leader : -1;
	return 0;
}

static void
report_failure(struct kprod *kp, int32_t partition, uint64_t recno,
    int32_t count, const char *why)
{
	if (kp->failure_msgs < KP_MAX_FAILURE_MSGS)
		log_errorx("partition %" PRId32 ": %" PRId32 " record%s from "
		    "%s %" PRIu64 " not delivered: %s", partition, count,
		    count == 1 ? "" : "s", kp_input_unit(&kp->in), recno, why);
	else if (kp->failure_msgs == KP_MAX_FAILURE_MSGS)
		log_errorx("more delivery failures follow; only their count "
		    "is shown");
	kp->failure_msgs++;
}

void
kp_fail_record(struct kprod *kp, uint64_t recno, const char *why)
{
	if (kp->failure_msgs < KP_MAX_FAILURE_MSGS)
		log_errorx("%s %" PRIu64 " not delivered: %s",
		    kp_input_unit(&kp->in), recno, why);
	else if (kp->failure_msgs == KP_MAX_FAILURE_MSGS)
		log_errorx("more delivery failures follow; only their count "
		    "is shown");
	kp->failure_msgs++;
	kp->st.failed++;
}

void
kp_seal(struct kprod *kp, struct kp_part *p)
{
	struct kp_batch *b;
	struct err e = { 0 };

	if (p->rb.count == 0)
		return;
	b = batch_alloc(kp);
	b->part = p;
	b->count = p->rb.count;
	b->base_seq = -1;
	if (kp->idempotent) {
		b->base_seq = p->next_seq;
		p->rb.producer_id = p->pid;
		p->rb.producer_epoch = p->epoch;
		p->rb.base_sequence = p->next_seq;
		/* Kafka's sequences wrap from INT32_MAX to 0. */
		p->next_seq = (int32_t)(((int64_t)p->next_seq + b->count) %
		    ((int64_t)INT32_MAX + 1));
	}
	/* The batch takes the builder's buffer; the builder gets b's. */
	if (rec_builder_seal(&p->rb, &b->data, &e) < 0)
		log_fatalx(e.code ? e.code : EXIT_SOFTWARE, "%s", e.msg);
	b->serial = ++kp->serial;
	b->bytes = p->open_bytes;
	b->mem = p->open_mem;
	b->created = p->open_since;
	b->first_recno = p->open_recno;
	b->meta = p->meta;
	p->meta = NULL;
	p->meta_cap = 0;
	p->open_bytes = p->open_mem = 0;
	kp_queue_insert(p, b);
	kp_picker_batch_sealed(kp, p->id);
}

int
kp_append(struct kprod *kp, int32_t partition, const struct kp_rec *r,
    int64_t now_wall, int64_t now)
{
	struct kp_part *p = kp->parts[partition];
	size_t payload = 0, est;
	int64_t ts;
	int32_t i;

	payload += r->key.len > 0 ? (size_t)r->key.len : 0;
	payload += r->value.len > 0 ? (size_t)r->value.len : 0;
	for (i = 0; i < r->nheaders; i++) {
		payload += r->headers[i].key.len > 0 ?
		    (size_t)r->headers[i].key.len : 0;
		payload += r->headers[i].value.len > 0 ?
		    (size_t)r->headers[i].value.len : 0;
	}
	est = payload + KP_RECORD_OVERHEAD + 10 * (size_t)r->nheaders;
	if (est + REC_BATCH_HEADER_SIZE > kp->cfg.max_request) {
		char why[128];

		snprintf(why, sizeof(why), "MESSAGE_TOO_LARGE: %zu bytes "
		    "exceed message.max.bytes (%zu)", est, kp->cfg.max_request);
		kp_fail_record(kp, r->recno, why);
		return 0;
	}
	if (p->rb.count > 0 && (rec_builder_size(&p->rb) + est >
	    kp->cfg.batch_size || p->rb.count >= kp->cfg.batch_records))
		kp_seal(kp, p);
	if (p->rb.count == 0) {
		p->open_since = now;
		p->open_recno = r->recno;
	}
	ts = r->has_timestamp ? r->timestamp : now_wall;
	if (kp->o->output != NULL)
		kp_report_note(p, r->recno, ts);
	if (rec_builder_add(&p->rb, ts, r->key, r->value, r->headers,
	    r->nheaders) < 0)
		log_fatalx(EXIT_OSERR, "out of memory building a batch");
	p->open_bytes += payload;
	p->open_mem += est;
	kp->buffered += est;
	kp->pending++;
	return 0;
}

bool
kp_open_due(const struct kprod *kp, const struct kp_part *p, int64_t now)
{
	return p->rb.count > 0 && (kp->in.is_tty ||
	    p->open_since + kp->cfg.linger_ms <= now);
}

/*
 * A lingered batch is sealed by kp_send_ready() only once it can leave at
 * once; until then it keeps growing up to batch.size, so a backlog leaves
 * in big batches rather than one read's worth each. It is sealed here at
 * its delivery timeout, for kp_expire() to fail, or when flushing: no
 * more records will come, and it must wait its turn in the queue.
 */
int64_t
kp_seal_due(struct kprod *kp, int64_t now, bool flush)
{
	int64_t next = INT64_MAX;
	int32_t i;

	for (i = 0; i < kp->nparts; i++) {
		struct kp_part *p = kp->parts[i];
		int64_t due;

		if (p->rb.count == 0)
			continue;
		due = p->open_since + kp->cfg.delivery_timeout_ms;
		if (flush || due <= now) {
			kp_seal(kp, p);
			continue;
		}
		/* A lingered batch waits for a request slot, not a time. */
		if (!kp_open_due(kp, p, now) &&
		    p->open_since + kp->cfg.linger_ms < due)
			due = p->open_since + kp->cfg.linger_ms;
		if (due < next)
			next = due;
	}
	return next;
}

/* The batch is done: acknowledged (or a duplicate of one that was). */
void
kp_batch_acked(struct kprod *kp, struct kp_batch *b, int64_t base)
{
	kp_report_batch(kp, b, base);
	kp->st.acked += (uint64_t)b->count;
	kp->st.acked_bytes += b->bytes;
	kp->pending -= (uint64_t)b->count;
	kp->buffered -= b->mem;
	batch_free(kp, b);
}

/* The batch failed for good: report it and break the sequence. */
void
kp_batch_failed(struct kprod *kp, struct kp_batch *b, const char *why)
{
	report_failure(kp, b->part->id, b->first_recno, b->count, why);
	kp->st.failed += (uint64_t)b->count;
	kp->pending -= (uint64_t)b->count;
	kp->buffered -= b->mem;
	if (kp->idempotent)
		b->part->need_reset = true;
	batch_free(kp, b);
}

int64_t
kp_expire(struct kprod *kp, int64_t now)
{
	int64_t next = INT64_MAX;
	int32_t i;

	for (i = 0; i < kp->nparts; i++) {
		struct kp_part *p = kp->parts[i];
		struct kp_batch *b;

		while ((b = p->qhead) != NULL) {
			int64_t due = b->created + kp->cfg.delivery_timeout_ms;
			char msg[sizeof(b->why) + 64];

			if (due > now) {
				if (due < next)
					next = due;
				break;
			}
			kp_queue_unlink(p, b);
			snprintf(msg, sizeof(msg), "delivery timed out after "
			    "%" PRId64 " ms%s%s%s", now - b->created,
			    b->why[0] ? " (last error: " : "", b->why,
			    b->why[0] ? ")" : "");
			kp_batch_failed(kp, b, msg);
		}
	}
	return next;
}

void
kp_abandon(struct kprod *kp)
{
	kp->st.abandoned += kp->pending;
	kp->pending = 0;
}

void
kp_parts_free(struct kprod *kp)
{
	struct kp_req *q, *qn;
	struct kp_batch *b, *bn;
	int32_t i;

	for (q = kp->reqs; q != NULL; q = qn) {
		qn = q->next;
		for (b = q->batches; b != NULL; b = bn) {
			bn = b->req_next;
			buf_release(&b->data);
			free(b->meta);
			free(b);
		}
		free(q);
	}
	kp->reqs = NULL;
	for (i = 0; i < kp->nparts; i++) {
		struct kp_part *p = kp->parts[i];

		for (b = p->qhead; b != NULL; b = bn) {
			bn = b->next;
			buf_release(&b->data);
			free(b->meta);
			free(b);
		}
		rec_builder_release(&p->rb);
		free(p->meta);
		free(p);
	}
	free(kp->parts);
	kp->parts = NULL;
	kp->nparts = 0;
	for (b = kp->free_batches; b != NULL; b = bn) {
		bn = b->next;
		buf_release(&b->data);
		free(b);
	}
	kp->free_batches = NULL;
	free(kp->brokers);
	kp->brokers = NULL;
}
