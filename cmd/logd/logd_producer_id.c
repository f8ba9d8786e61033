/* SPDX-License-Identifier: MIT */
/*
 * InitProducerId (v0-1) for idempotent producers, and the file that keeps
 * producer ids unique across restarts. As Kafka's ProducerIdManager, ids
 * are reserved in blocks of PID_BLOCK_SIZE: <data.dir>/producer-id-block
 * records the last block reserved and is replaced atomically before any
 * id of a new block is handed out; a restart starts a fresh block after
 * it, so the unused rest of the old one is skipped, never reused.
 *
 * Ids must also be unique across the brokers of a cluster: after a
 * failover the new leader must not hand out an id the old one gave a
 * producer whose sequences are in the replicated state. Rather than asking
 * the controller for blocks (as Kafka does), each broker owns the ids whose
 * top bits are its broker id: id = broker.id << PID_BROKER_SHIFT | counter.
 *
 * Transactions are not supported: a request with a transactional id gets
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED (INVALID_REQUEST for an empty
 * one, as Kafka), which both librdkafka and the Java client treat as
 * fatal rather than retrying forever.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd.h"
#include "opt.h"
#include "util.h"
#include "banned.h"

#define PID_FILE "producer-id-block"
#define PID_FILE_MAX 4096
#define PID_BLOCK_SIZE 1000
#define PID_BROKER_SHIFT 40		/* 2^40 ids per broker */
#define PID_COUNTER_MAX ((INT64_C(1) << PID_BROKER_SHIFT) - 1)
#define PID_BROKER_MAX ((INT64_C(1) << (62 - PID_BROKER_SHIFT)) - 1)

static int
pid_file_path(const struct logd *ld, char *dst, size_t size, struct err *e)
{
	if ((size_t)snprintf(dst, size, "%s/%s", ld->cfg.data_dir, PID_FILE) >=
	    size)
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	return 0;
}

int
producer_ids_open(struct logd *ld, struct err *e)
{
	char path[PATH_MAX], end[32], *text;
	int64_t v;

	ld->pid_next = 0;
	ld->pid_block_end = -1;
	if (ld->cfg.broker_id > PID_BROKER_MAX)
		return err_set(e, EXIT_CONFIG, "broker.id %" PRId32 " is above "
		    "%" PRId64 ", the largest that gets its own producer ids",
		    ld->cfg.broker_id, PID_BROKER_MAX);
	if (pid_file_path(ld, path, sizeof(path), e) < 0)
		return -1;
	if (file_read_all(path, PID_FILE_MAX, &text, NULL, e) < 0) {
		if (e->code != EXIT_NOINPUT)
			return -1;
		memset(e, 0, sizeof(*e));	/* a new directory */
		return 0;
	}
	if (!store_prop_get(text, "block.end", end, sizeof(end)) ||
	    opt_parse_i64("block.end", end, 0, PID_COUNTER_MAX, &v,
	    e) < 0) {
		free(text);
		return err_set(e, EXIT_DATAERR, "'%s' lacks a valid block.end; "
		    "producer ids could repeat", path);
	}
	free(text);
	ld->pid_block_end = v;
	ld->pid_next = v + 1;	/* the next id needs a new block */
	return 0;
}

/* Reserve the block after the last one and persist it. 0 or -1. */
static int
reserve_block(struct logd *ld, struct err *e)
{
	int64_t start = ld->pid_block_end + 1, end;
	char path[PATH_MAX], text[256];
	int n;

	if (start > PID_COUNTER_MAX - PID_BLOCK_SIZE)
		return err_set(e, EXIT_SOFTWARE, "producer ids are exhausted");
	end = start + PID_BLOCK_SIZE - 1;
	if (pid_file_path(ld, path, sizeof(path), e) < 0)
		return -1;
	n = snprintf(text, sizeof(text), "#written by logd %s\nversion=1\n"
	    "broker.id=%" PRId32 "\nblock.start=%" PRId64 "\nblock.end=%"
	    PRId64 "\n", KLOG_VERSION, ld->cfg.broker_id, start, end);
	if (file_write_atomic(path, text, (size_t)n, e) < 0)
		return -1;
	ld->pid_block_end = end;
	ld->pid_next = start;
	log_info("reserved producer ids %" PRId64 "-%" PRId64, start, end);
	return 0;
}

enum handle_result
handle_init_producer_id(struct req *q)
{
	struct breader *r = &q->body;
	struct proto_str tid = proto_read_str(r, true);
	int16_t err = KERR_NONE, epoch = -1;
	int64_t id = -1;
	struct err e = { 0 };

	(void)br_i32(r);			/* transaction_timeout_ms */
	if (!br_ok(r) || br_left(r) != 0)
		return HANDLE_CLOSE;
	if (tid.len == 0) {
		err = KERR_INVALID_REQUEST;
	} else if (tid.len > 0) {
		log_info("refusing transactional id '%.*s' from %s: "
		    "transactions are not supported", (int)tid.len, tid.p,
		    q->c->peer);
		err = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	} else if (q->ld->pid_next > q->ld->pid_block_end &&
	    reserve_block(q->ld, &e) < 0) {
		log_warnx("unable to reserve producer ids: %s", e.msg);
		err = KERR_COORDINATOR_NOT_AVAILABLE;	/* clients retry */
	} else {
		id = (int64_t)q->ld->cfg.broker_id << PID_BROKER_SHIFT |
		    q->ld->pid_next++;
		epoch = 0;
		log_debug("producer id %" PRId64 " for %s", id, q->c->peer);
	}
	buf_put_i32(q->out, 0);			/* throttle_time_ms */
	buf_put_i16(q->out, err);
	buf_put_i64(q->out, id);
	buf_put_i16(q->out, epoch);
	return HANDLE_DONE;
}
