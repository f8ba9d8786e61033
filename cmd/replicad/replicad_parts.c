/* SPDX-License-Identifier: MIT */
/*
 * replicad's tables: the partitions its broker follows (sorted by topic
 * and partition, each heap-allocated so pointers survive re-sorting) and
 * one leader per broker they follow, with its connection. Also the
 * back-off arithmetic and the partition state changes every other file
 * goes through, so an error is recorded, logged and retried one way, and
 * the steps Fetch and OffsetForLeaderEpoch share: writing the topics
 * array, numbering a request, and taking its answer.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "replicad.h"
#include "util.h"
#include "banned.h"

void
rd_backoff_reset(struct rd_backoff *b)
{
	b->ms = 0;
	b->retry_at = 0;
}

void
rd_backoff_step(struct rd_backoff *b, int64_t now)
{
	if (b->ms == 0)
		b->ms = RD_BACKOFF_MIN_MS;
	else if (b->ms < RD_BACKOFF_MAX_MS / 2)
		b->ms *= 2;
	else
		b->ms = RD_BACKOFF_MAX_MS;
	b->retry_at = now + b->ms;
}

bool
rd_backoff_waiting(const struct rd_backoff *b, int64_t now)
{
	return b->ms > 0 && now < b->retry_at;
}

const char *
rd_pstate_name(enum rd_pstate s)
{
	switch (s) {
	case RD_P_TRUNCATING:
		return "truncating";
	case RD_P_FETCHING:
		return "fetching";
	case RD_P_BACKOFF:
		return "backoff";
	case RD_P_WAITING:
		return "waiting";
	case RD_P_NO_LEADER:
		return "no-leader";
	}
	return "?";
}

static int
part_cmp(const char *topic_a, int32_t part_a, const char *topic_b,
    int32_t part_b)
{
	int c = strcmp(topic_a, topic_b);

	if (c != 0)
		return c;
	return part_a < part_b ? -1 : part_a > part_b;
}

static int
part_ptr_cmp(const void *a, const void *b)
{
	const struct rd_part *x = *(struct rd_part *const *)a;
	const struct rd_part *y = *(struct rd_part *const *)b;

	return part_cmp(x->topic, x->partition, y->topic, y->partition);
}

struct rd_part *
rd_part_find(const struct replicad *rd, const char *topic, int32_t partition)
{
	size_t lo = 0, hi = rd->nparts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rd_part *p = rd->parts[mid];
		int c = part_cmp(topic, partition, p->topic, p->partition);

		if (c == 0)
			return rd->parts[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
rd_parts_sort(struct replicad *rd)
{
	if (rd->nparts > 1)
		qsort(rd->parts, rd->nparts, sizeof(*rd->parts), part_ptr_cmp);
}

void
rd_parts_sweep(struct replicad *rd)
{
	size_t i, n = 0;

	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];

		if (p->seen) {
			rd->parts[n++] = p;
			continue;
		}
		log_info("no longer following topic=%s partition=%" PRId32,
		    p->topic, p->partition);
		free(p);
	}
	rd->nparts = n;
}

bool
rd_part_has_leader(const struct rd_part *p)
{
	return p->leader >= 0 && p->leader_port > 0 &&
	    p->leader_host[0] != '\0';
}

void
rd_part_restart(struct rd_part *p)
{
	p->state = rd_part_has_leader(p) ? RD_P_TRUNCATING : RD_P_NO_LEADER;
	p->need_truncate = true;
	p->truncate_rounds = 0;
	p->stalled = false;
	p->stale = false;
	p->seq = 0;
	p->leader_hw = -1;
	p->leader_log_start = -1;
	p->hw_passed = -1;
	rd_backoff_reset(&p->backoff);
	if (p->leader < 0)
		snprintf(p->error, sizeof(p->error), "no leader");
	else if (!rd_part_has_leader(p))
		snprintf(p->error, sizeof(p->error), "no address for leader "
		    "broker %" PRId32, p->leader);
	else
		p->error[0] = '\0';
}

void
rd_part_fail(struct rd_part *p, enum rd_pstate state, int64_t now,
    const char *fmt, ...)
{
	char msg[RD_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, p->error) != 0)
		log_warnx("topic=%s partition=%" PRId32 ": %s", p->topic,
		    p->partition, msg);
	snprintf(p->error, sizeof(p->error), "%s", msg);
	p->state = state;
	p->seq = 0;
	rd_backoff_step(&p->backoff, now);
}

void
rd_part_ok(struct rd_part *p)
{
	/* Debug only: after a leader outage every partition recovers. */
	if (p->error[0] != '\0')
		log_debug("topic=%s partition=%" PRId32 ": works again",
		    p->topic, p->partition);
	p->error[0] = '\0';
	p->state = p->need_truncate ? RD_P_TRUNCATING : RD_P_FETCHING;
	rd_backoff_reset(&p->backoff);
}

bool
rd_part_eligible(const struct rd_part *p, int64_t now)
{
	if (!rd_part_has_leader(p) || p->seq != 0 || p->stale)
		return false;
	return !rd_backoff_waiting(&p->backoff, now);
}

struct rd_leader *
rd_leader_find(const struct replicad *rd, int32_t id)
{
	size_t i;

	for (i = 0; i < rd->nleaders; i++)
		if (rd->leaders[i]->id == id)
			return rd->leaders[i];
	return NULL;
}

static void
leader_name(struct rd_leader *l)
{
	char name[sizeof(l->conn.name)];

	snprintf(name, sizeof(name), "broker %" PRId32 " (%s:%" PRId32 ")",
	    l->id, l->host, l->port);
	snprintf(l->conn.name, sizeof(l->conn.name), "%s", name);
}

struct rd_leader *
rd_leader_get(struct replicad *rd, int32_t id, const char *host, int32_t port)
{
	struct rd_leader *l = rd_leader_find(rd, id), **grown;

	if (l != NULL) {
		if (l->port == port && strcmp(l->host, host) == 0)
			return l;
		/* The broker moved: what is in flight went to the old one. */
		log_info("broker %" PRId32 " is now at %s:%" PRId32, id, host,
		    port);
		rconn_close(&l->conn, NULL);
		snprintf(l->host, sizeof(l->host), "%s", host);
		l->port = port;
		l->fetch_seq = l->epoch_seq = 0;
		rd_backoff_reset(&l->backoff);
		leader_name(l);
		return l;
	}
	grown = realloc(rd->leaders, (rd->nleaders + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	rd->leaders = grown;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->rd = rd;
	l->id = id;
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->port = port;
	rconn_init(&l->conn, "");
	leader_name(l);
	rd->leaders[rd->nleaders++] = l;
	return l;
}

void
rd_leader_free(struct rd_leader *l)
{
	if (l == NULL)
		return;
	rconn_release(&l->conn);
	free(l);
}

void
rd_leaders_sweep(struct replicad *rd)
{
	size_t i, n = 0;

	for (i = 0; i < rd->nleaders; i++) {
		struct rd_leader *l = rd->leaders[i];

		if (l->used) {
			rd->leaders[n++] = l;
			continue;
		}
		log_debug("closing the connection to %s: it leads nothing "
		    "this broker follows", l->conn.name);
		rd_leader_free(l);
	}
	rd->nleaders = n;
}

void
rd_leader_fail(struct rd_leader *l, const struct err *why, int64_t now)
{
	struct replicad *rd = l->rd;
	size_t i;

	if (!l->down_logged)
		log_warnx("%s; retrying with back-off", why->msg);
	l->down_logged = true;
	l->fetch_seq = l->epoch_seq = 0;
	rd_backoff_step(&l->backoff, now);
	for (i = 0; i < rd->nparts; i++) {
		struct rd_part *p = rd->parts[i];

		if (p->leader != l->id || p->stale)
			continue;
		snprintf(p->error, sizeof(p->error), "%s", why->msg);
		p->state = RD_P_BACKOFF;
		p->seq = 0;
		p->backoff = l->backoff;
	}
}

void
rd_leader_ok(struct rd_leader *l)
{
	if (l->down_logged)
		log_info("%s answers again", l->conn.name);
	l->down_logged = false;
	rd_backoff_reset(&l->backoff);
}

const char *
rd_error_name(int16_t code)
{
	const char *name = proto_error_name(code);

	return name != NULL ? name : "UNKNOWN_ERROR";
}

void
rd_put_topics(struct buf *b, struct rd_part **parts, size_t n,
    rd_put_part_fn put)
{
	size_t i = 0, ntopics = 0, count_at = b->len;

	buf_put_i32(b, 0);
	while (i < n) {
		size_t j = i;

		while (j < n && strcmp(parts[j]->topic, parts[i]->topic) == 0)
			j++;
		proto_put_cstr(b, parts[i]->topic);
		buf_put_i32(b, (int32_t)(j - i));
		for (; i < j; i++)
			put(b, parts[i]);
		ntopics++;
	}
	if (!b->failed)
		be32_store(b->data + count_at, (uint32_t)ntopics);
}

uint64_t
rd_leader_send(struct rd_leader *l, rconn_cb cb, int timeout_ms,
    struct rd_part **parts, size_t n, int64_t now)
{
	struct err e = { 0 };
	uint64_t seq;
	size_t i;

	if (rconn_send(&l->conn, cb, l, timeout_ms, &e) < 0) {
		rd_leader_fail(l, &e, now);
		return 0;
	}
	seq = ++l->rd->next_seq;
	for (i = 0; i < n; i++)
		parts[i]->seq = seq;
	return seq;
}

void
rd_leader_answer(struct rd_leader *l, struct breader *body, uint64_t seq,
    rd_answer_fn read, const char *api)
{
	struct replicad *rd = l->rd;
	size_t i;

	if (body == NULL)
		return;
	if (read(rd, l, body, seq, clock_mono_ms()) < 0) {
		struct err why;

		err_set(&why, EXIT_PROTOCOL, "%s: malformed %s answer",
		    l->conn.name, api);
		rconn_close(&l->conn, &why);
		return;
	}
	rd_leader_ok(l);
	/* Left out of the answer: ask again next round. */
	for (i = 0; i < rd->nparts; i++)
		if (rd->parts[i]->seq == seq)
			rd->parts[i]->seq = 0;
}
