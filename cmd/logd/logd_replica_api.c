/* SPDX-License-Identifier: MIT */
/*
 * replica.sock: the Unix socket in the data directory where the local
 * replicad drives this broker's follower partitions
 * (docs/cluster-protocol.md). Its connections join the normal connection
 * machinery (same framing, same event loop) marked `replica`, and only
 * they may use the private APIs: ReplicaState (which partitions we
 * follow, from whom; a long poll on their version), ReplicaAppend (the
 * leader's batches, offsets and epochs kept) and ReplicaTruncate. The
 * socket's permissions are the data directory's: whoever may write the
 * logs may drive them.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "epochs.h"
#include "log.h"
#include "logd.h"
#include "logd_cluster.h"
#include "plog.h"
#include "record.h"
#include "util.h"
#include "banned.h"

#define REPLICA_SOCKET "replica.sock"

/* An answer's error_message (CTLPROTO_MSG_MAX, cut when longer). */
static void __attribute__((format(printf, 2, 3)))
msgf(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, CTLPROTO_MSG_MAX, fmt, ap);
	va_end(ap);
}

static int
replica_path(const struct logd *ld, char *dst, size_t size, struct err *e)
{
	if ((size_t)snprintf(dst, size, "%s/%s", ld->cfg.data_dir,
	    REPLICA_SOCKET) >= size)
		return err_set(e, EXIT_CONFIG, "replica socket path '%s/%s' is "
		    "too long", ld->cfg.data_dir, REPLICA_SOCKET);
	return 0;
}

int
replica_listen(struct logd *ld, struct err *e)
{
	struct epoll_event ev = { 0 };
	char path[PATH_MAX];

	if (replica_path(ld, path, sizeof(path), e) < 0)
		return -1;
	ld->replica_fd = net_listen_unix(path, 16, e);
	if (ld->replica_fd < 0)
		return -1;
	ev.events = EPOLLIN;
	ev.data.ptr = &ld->replica_fd;
	if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, ld->replica_fd, &ev) < 0)
		return err_sys(e, EXIT_OSERR, "epoll_ctl for '%s'", path);
	return 0;
}

void
replica_unlisten(struct logd *ld)
{
	char path[PATH_MAX];

	if (ld->replica_fd < 0)
		return;
	epoll_ctl(ld->epfd, EPOLL_CTL_DEL, ld->replica_fd, NULL);
	close(ld->replica_fd);
	ld->replica_fd = -1;
	if (replica_path(ld, path, sizeof(path), NULL) == 0)
		unlink(path);
}

/* ------------------------------------------------------------------ */
/* ReplicaState                                                       */

static void
state_partition(const struct logd *ld, const struct partition *p,
    struct ctl_replica_partition *out)
{
	const struct cluster_state *s = cluster_current_state(ld);
	const struct cluster_broker *b = s != NULL && p->leader_id >= 0 ?
	    cluster_state_broker(s, p->leader_id) : NULL;

	memset(out, 0, sizeof(*out));
	snprintf(out->topic, sizeof(out->topic), "%s", p->topic->name);
	out->partition = p->id;
	out->leader = p->leader_id;
	if (b != NULL) {
		snprintf(out->leader_host, sizeof(out->leader_host), "%s",
		    b->host);
		out->leader_port = b->port;
	} else {
		out->leader_port = -1;
	}
	out->leader_epoch = p->leader_epoch;
	out->log_start_offset = plog_start_offset(p->log);
	out->log_end_offset = plog_end_offset(p->log);
	out->last_epoch = p->epochs != NULL ? epoch_cache_latest(p->epochs) : -1;
	out->high_watermark = p->high_watermark;
}

/* Every partition this broker follows, into resp (caller frees). */
static int
state_partitions(const struct logd *ld, struct ctl_replica_state_resp *resp)
{
	size_t i, n = 0;
	int32_t j;

	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++)
			if (ld->topics[i]->parts[j]->role == PART_FOLLOWER)
				n++;
	resp->partitions = n > 0 ? calloc(n, sizeof(*resp->partitions)) : NULL;
	if (n > 0 && resp->partitions == NULL)
		return -1;
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++) {
			const struct partition *p = ld->topics[i]->parts[j];

			if (p->role == PART_FOLLOWER)
				state_partition(ld, p,
				    &resp->partitions[resp->npartitions++]);
		}
	return 0;
}

enum handle_result
handle_replica_state(struct req *q)
{
	struct ctl_replica_state_req req;
	struct ctl_replica_state_resp resp;
	int64_t version = cluster_replica_version(q->ld);
	struct err e = { 0 };

	if (ctlproto_read_replica_state_req(&q->body, &req, &e) < 0) {
		q->close_reason = "malformed ReplicaState request";
		return HANDLE_CLOSE;
	}
	/* Long poll: nothing new for replicad yet. */
	if (req.known_version == version && req.wait_ms > 0 && !q->final &&
	    q->waited_ms < req.wait_ms) {
		if (q->waited_ms == 0)
			q->c->park_deadline_ms = q->now_ms + req.wait_ms;
		return HANDLE_PARK;
	}
	memset(&resp, 0, sizeof(resp));
	resp.broker_id = q->ld->cfg.broker_id;
	resp.version = version;
	if (state_partitions(q->ld, &resp) < 0) {
		q->close_reason = "out of memory";
		return HANDLE_CLOSE;
	}
	ctlproto_write_replica_state_resp(q->out, &resp);
	free(resp.partitions);
	return HANDLE_DONE;
}

/* ------------------------------------------------------------------ */
/* ReplicaAppend and ReplicaTruncate                                  */

/*
 * The partition a private request names, when this broker follows it at
 * `epoch`; else an error code with the reason in msg.
 */
static int16_t
followed_partition(struct logd *ld, const char *topic, int32_t partition,
    int32_t epoch, struct partition **out, char *msg)
{
	struct topic *t = topic_find(ld, topic, strlen(topic));
	struct partition *p;

	*out = NULL;
	if (t == NULL || partition < 0 || partition >= t->npartitions) {
		msgf(msg, "no partition %s-%" PRId32
		    " here", topic, partition);
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	p = t->parts[partition];
	if (p->role != PART_FOLLOWER) {
		msgf(msg, "broker %" PRId32 " is %s of "
		    "%s-%" PRId32 ", not a follower", ld->cfg.broker_id,
		    p->role == PART_LEADER ? "the leader" : "no replica",
		    topic, partition);
		return KERR_NOT_LEADER_OR_FOLLOWER;
	}
	if (epoch != p->leader_epoch) {
		msgf(msg, "leader epoch %" PRId32 " of "
		    "%s-%" PRId32 " is not the current %" PRId32, epoch, topic,
		    partition, p->leader_epoch);
		return KERR_FENCED_LEADER_EPOCH;
	}
	*out = p;
	return KERR_NONE;
}

/*
 * Check a leader's batches: whole batches (replicad cut any partial
 * tail), magic 2, a good CRC each, offsets increasing. Returns KERR_NONE
 * or CORRUPT_MESSAGE with the reason in msg.
 */
static int16_t
check_batches(const uint8_t *data, size_t len, char *msg)
{
	int64_t next = -1;
	size_t pos = 0;

	while (pos < len) {
		struct rec_batch b;
		struct err e = { 0 };

		if (rec_batch_parse(data + pos, len - pos, &b, &e) < 0) {
			msgf(msg, "batch at byte %zu: %s",
			    pos, e.msg);
			return KERR_CORRUPT_MESSAGE;
		}
		if (!rec_batch_crc_ok(&b)) {
			msgf(msg, "batch at offset %" PRId64
			    ": bad CRC", b.base_offset);
			return KERR_CORRUPT_MESSAGE;
		}
		if (b.base_offset < next) {
			msgf(msg, "batch at offset %" PRId64
			    " overlaps the one before it", b.base_offset);
			return KERR_CORRUPT_MESSAGE;
		}
		next = rec_batch_last_offset(&b) + 1;
		pos += b.size;
	}
	return KERR_NONE;
}

/* New epochs among appended batches below `end` go into the cache. */
static void
assign_epochs(struct partition *p, const uint8_t *data, size_t len,
    int64_t end)
{
	size_t pos = 0;

	if (p->epochs == NULL)
		return;
	while (pos + REC_BATCH_HEADER_SIZE <= len) {
		int64_t base = (int64_t)be64_load(data + pos);
		int32_t epoch = (int32_t)be32_load(data + pos +
		    REC_OFF_LEADER_EPOCH);
		struct err e = { 0 };

		if (base >= end)
			break;
		if (epoch > epoch_cache_latest(p->epochs) &&
		    epoch_cache_assign(p->epochs, epoch, base, &e) < 0)
			log_warnx("topic=%s partition=%" PRId32 ": leader-epoch "
			    "cache: %s", p->topic->name, p->id, e.msg);
		pos += be32_load(data + pos + REC_OFF_LENGTH) +
		    REC_BATCH_LOG_OVERHEAD;
	}
}

/* Followers' high watermark: the leader's, as far as we have the data. */
static void
follower_set_hw(struct partition *p, int64_t leader_hw)
{
	int64_t leo = plog_end_offset(p->log);
	int64_t hw = leader_hw < leo ? leader_hw : leo;

	if (hw > p->high_watermark || p->high_watermark > leo)
		p->high_watermark = hw;
}

static int16_t
replica_append(struct req *q, struct partition *p,
    const struct ctl_replica_append_req *req, char *msg)
{
	/* The frame is writable, and plog_append wants a writable pointer
	 * (it rewrites nothing when offsets are kept). */
	uint8_t *data = q->frame + (req->records - q->frame);
	size_t len = (size_t)req->records_len;
	int64_t leo = plog_end_offset(p->log), first;
	struct plog_append_info info;
	struct err e = { 0 };
	bool appended;
	int16_t code;

	if (len == 0)
		return KERR_NONE;
	code = check_batches(data, len, msg);
	if (code != KERR_NONE)
		return code;
	first = (int64_t)be64_load(data);
	/* Above our end is a compacted leader's gap, as Kafka allows. */
	if (first < leo) {
		msgf(msg, "first batch at offset %" PRId64
		    " is below the log end offset %" PRId64, first, leo);
		return KERR_OFFSET_OUT_OF_RANGE;
	}
	appended = plog_append(p->log, data, len, 0, clock_wall_ms(), &info,
	    &e) == 0;
	flusher_submit(q->ld, p);
	if (!appended) {
		log_warnx("replica append: topic=%s partition=%" PRId32 ": %s",
		    p->topic->name, p->id, e.msg);
		msgf(msg, "%s", e.msg);
		code = e.code == EXIT_DATAERR ? KERR_CORRUPT_MESSAGE :
		    KERR_KAFKA_STORAGE_ERROR;
	}
	/* Whatever reached the log (all of it, unless a write failed). */
	if (plog_end_offset(p->log) > leo) {
		producers_commit(&p->producers, data, len, leo,
		    plog_end_offset(p->log));
		assign_epochs(p, data, len, plog_end_offset(p->log));
	}
	return code;
}

enum handle_result
handle_replica_append(struct req *q)
{
	struct ctl_replica_append_req req;
	struct ctl_replica_append_resp resp;
	struct partition *p = NULL;
	struct err e = { 0 };

	if (ctlproto_read_replica_append_req(&q->body, &req, &e) < 0) {
		q->close_reason = "malformed ReplicaAppend request";
		return HANDLE_CLOSE;
	}
	memset(&resp, 0, sizeof(resp));
	resp.error_code = followed_partition(q->ld, req.topic, req.partition,
	    req.leader_epoch, &p, resp.error_message);
	if (p != NULL) {
		resp.error_code = replica_append(q, p, &req, resp.error_message);
		follower_set_hw(p, req.leader_high_watermark);
	}
	resp.log_end_offset = p != NULL ? plog_end_offset(p->log) : -1;
	resp.high_watermark = p != NULL ? p->high_watermark : -1;
	if (resp.error_code == KERR_NONE)
		resp.error_message[0] = '\0';
	ctlproto_write_replica_append_resp(q->out, &resp);
	return HANDLE_DONE;
}

/* Empty the log and restart it at `offset` (truncateFullyAndStartAt). */
static int
restart_log_at(struct partition *p, int64_t offset, struct err *e)
{
	if (plog_reset_at(p->log, offset, e) < 0)
		return -1;
	if (p->epochs != NULL && epoch_cache_clear(p->epochs, e) < 0)
		return -1;
	return 0;
}

static int
truncate_log_to(struct partition *p, int64_t offset, struct err *e)
{
	if (plog_truncate_to(p->log, offset, e) < 0)
		return -1;
	if (p->epochs != NULL && epoch_cache_truncate_from_end(p->epochs,
	    plog_end_offset(p->log), e) < 0)
		return -1;
	return 0;
}

static int16_t
replica_truncate(struct partition *p, int64_t offset, char *msg)
{
	int64_t start = plog_start_offset(p->log), leo = plog_end_offset(p->log);
	struct err e = { 0 };
	int rc;

	if (offset < 0) {
		msgf(msg, "negative offset %" PRId64,
		    offset);
		return KERR_INVALID_REQUEST;
	}
	if (offset == leo)
		return KERR_NONE;
	/*
	 * Outside our log (the leader's log start moved past it, or we have
	 * less than the leader kept): start over at `offset`.
	 */
	if (offset < start || offset > leo)
		rc = restart_log_at(p, offset, &e);
	else
		rc = truncate_log_to(p, offset, &e);
	producers_load(p);
	if (p->high_watermark > plog_end_offset(p->log) || offset > leo)
		p->high_watermark = plog_end_offset(p->log);
	if (rc < 0) {
		log_warnx("replica truncate: topic=%s partition=%" PRId32
		    " to %" PRId64 ": %s", p->topic->name, p->id, offset, e.msg);
		msgf(msg, "%s", e.msg);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	log_info("topic=%s partition=%" PRId32 ": truncated from %" PRId64
	    " to %" PRId64 " for the leader", p->topic->name, p->id, leo,
	    plog_end_offset(p->log));
	return KERR_NONE;
}

enum handle_result
handle_replica_truncate(struct req *q)
{
	struct ctl_replica_truncate_req req;
	struct ctl_replica_truncate_resp resp;
	struct partition *p = NULL;
	struct err e = { 0 };

	if (ctlproto_read_replica_truncate_req(&q->body, &req, &e) < 0) {
		q->close_reason = "malformed ReplicaTruncate request";
		return HANDLE_CLOSE;
	}
	memset(&resp, 0, sizeof(resp));
	resp.error_code = followed_partition(q->ld, req.topic, req.partition,
	    req.leader_epoch, &p, resp.error_message);
	if (p != NULL)
		resp.error_code = replica_truncate(p, req.offset,
		    resp.error_message);
	resp.log_end_offset = p != NULL ? plog_end_offset(p->log) : -1;
	if (resp.error_code == KERR_NONE)
		resp.error_message[0] = '\0';
	ctlproto_write_replica_truncate_resp(q->out, &resp);
	return HANDLE_DONE;
}
