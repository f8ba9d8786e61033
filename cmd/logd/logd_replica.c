/* SPDX-License-Identifier: MIT */
/*
 * The leader's side of replication (docs/cluster-protocol.md, "Leader
 * side"): each partition's leader-epoch cache and role, the followers'
 * positions learnt from their Fetch requests, the high watermark as the
 * smallest log end offset over the ISR (never moving back), ISR shrink
 * and expand proposals to ctrld, and waking parked requests (consumer
 * fetches, acks=all produces) when something they wait on changes.
 * Single-broker mode is the degenerate case: the ISR is this broker
 * alone, so the high watermark is the log end offset.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

static bool
ids_contain(const int32_t *v, size_t n, int32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* "1,2,3" for log lines. */
static const char *
ids_str(const int32_t *v, size_t n, char *dst, size_t size)
{
	size_t i, at = 0;

	dst[0] = '\0';
	for (i = 0; i < n && at + 12 < size; i++)
		at += (size_t)snprintf(dst + at, size - at, "%s%" PRId32,
		    i ? "," : "", v[i]);
	return dst;
}

/* Re-parked requests re-check what they wait for on the next loop turn. */
static void
wake(struct logd *ld)
{
	ld->appended = true;
}

static struct follower *
follower_find(const struct partition *p, int32_t id)
{
	size_t i;

	for (i = 0; i < p->nfollowers; i++)
		if (p->followers[i].broker_id == id)
			return &p->followers[i];
	return NULL;
}

static void
proposal_clear(struct partition *p)
{
	free(p->proposed_isr);
	p->proposed_isr = NULL;
	p->nproposed_isr = 0;
}

/*
 * Make p->followers the replicas other than us. Entries of followers
 * still listed keep their state unless `reset`; new ones start unknown,
 * caught up now when in the ISR (Kafka's resetReplicaState), so a new
 * leader gives each member a full lag period to fetch.
 */
static void
followers_sync(struct logd *ld, struct partition *p, int64_t now_ms,
    bool reset)
{
	struct follower *v = NULL;
	size_t i, n = 0;

	if (p->nreplicas > 0)
		v = xcalloc(p->nreplicas, sizeof(*v));
	for (i = 0; i < p->nreplicas; i++) {
		int32_t id = p->replicas[i];
		const struct follower *old = follower_find(p, id);
		struct follower *f;

		if (id == ld->cfg.broker_id || ids_contain(p->replicas, i, id))
			continue;
		f = &v[n++];
		if (old != NULL && !reset) {
			*f = *old;
			continue;
		}
		f->broker_id = id;
		f->log_end_offset = -1;
		f->last_fetch_ms = 0;
		f->leader_leo_at_fetch = -1;
		f->last_caught_up_ms = ids_contain(p->isr, p->nisr, id) ?
		    now_ms : 0;
	}
	free(p->followers);
	p->followers = v;
	p->nfollowers = n;
}

static void
followers_clear(struct partition *p)
{
	free(p->followers);
	p->followers = NULL;
	p->nfollowers = 0;
}

/* Where the current leader epoch starts, or -1 when the cache lacks it. */
static int64_t
epoch_start_offset(const struct partition *p)
{
	size_t n = p->epochs ? epoch_cache_count(p->epochs) : 0;
	const struct epoch_entry *last;

	if (n == 0)
		return -1;
	last = epoch_cache_entry(p->epochs, n - 1);
	return last->epoch == p->leader_epoch ? last->start_offset : -1;
}

/* Leading at p->leader_epoch: it starts at our log end offset. */
static void
epoch_begin(struct partition *p)
{
	struct err e = { 0 };

	if (p->epochs == NULL || p->leader_epoch < 0 ||
	    p->leader_epoch <= epoch_cache_latest(p->epochs))
		return;
	if (epoch_cache_assign(p->epochs, p->leader_epoch,
	    plog_end_offset(p->log), &e) < 0)
		log_warnx("leader epoch cache: topic=%s partition=%" PRId32
		    " epoch=%" PRId32 ": %s", p->topic->name, p->id,
		    p->leader_epoch, e.msg);
}

/* Replace an owned id array with a copy of `ids`. */
static void
ids_set(int32_t **dst, size_t *ndst, const int32_t *ids, size_t n)
{
	int32_t *v = NULL;

	if (n > 0) {
		v = xcalloc(n, sizeof(*v));
		memcpy(v, ids, n * sizeof(*v));
	}
	free(*dst);
	*dst = v;
	*ndst = n;
}

void
replica_init_standalone(struct logd *ld, struct partition *p)
{
	int32_t self = ld->cfg.broker_id;

	ids_set(&p->replicas, &p->nreplicas, &self, 1);
	ids_set(&p->isr, &p->nisr, &self, 1);
	followers_clear(p);
	proposal_clear(p);
	p->role = PART_LEADER;
	p->leader_id = self;
	p->partition_epoch = 0;
	p->isr_change_pending = false;
	/* A data directory that led at a later epoch keeps counting from it. */
	if (p->epochs != NULL && p->leader_epoch < epoch_cache_latest(p->epochs))
		p->leader_epoch = epoch_cache_latest(p->epochs);
	epoch_begin(p);
	p->high_watermark = plog_end_offset(p->log);
}

int
replica_open(struct logd *ld, struct partition *p, struct err *e)
{
	struct err w = { 0 };
	int64_t start = plog_start_offset(p->log);
	int64_t end = plog_end_offset(p->log), hw;

	if (epoch_cache_open(plog_dir(p->log), &p->epochs, e) < 0)
		return -1;
	/*
	 * Recovery may have cut the log below epochs the cache recorded, and
	 * retention may have deleted the start of the oldest: trim, as
	 * Kafka's log loading does. Nothing is appended meanwhile, so the
	 * file is written once for the net change: an empty log's (0, 0),
	 * dropped at end offset 0 and assigned again as we lead, costs
	 * nothing. A failed write is repeated next time.
	 */
	epoch_cache_defer(p->epochs);
	if (epoch_cache_truncate_from_end(p->epochs, end, &w) < 0 ||
	    epoch_cache_truncate_from_start(p->epochs, start, &w) < 0)
		log_warnx("leader epoch cache: topic=%s partition=%" PRId32
		    ": %s", p->topic->name, p->id, w.msg);
	if (ld->cluster == NULL) {
		replica_init_standalone(ld, p);
	} else {
		/* ctrld's state says what we are; until then, nothing. */
		p->role = PART_NONE;
		p->leader_id = -1;
		if (!store_hw_get(ld, p->topic->name, p->id, &hw))
			hw = start;
		p->high_watermark = hw < start ? start : hw > end ? end : hw;
	}
	if (epoch_cache_flush(p->epochs, &w) < 0)
		log_warnx("leader epoch cache: topic=%s partition=%" PRId32
		    ": %s", p->topic->name, p->id, w.msg);
	return 0;
}

void
replica_release(struct partition *p)
{
	free(p->replicas);
	free(p->isr);
	p->replicas = p->isr = NULL;
	p->nreplicas = p->nisr = 0;
	followers_clear(p);
	proposal_clear(p);
	epoch_cache_close(p->epochs);
	p->epochs = NULL;
}

/*
 * The ISR members the high watermark waits for: the confirmed ISR, and
 * while our change is in flight the larger of it and the proposal (their
 * union), so that the high watermark never counts on a member ctrld may
 * not have accepted (KIP-497's maximal ISR).
 */
static int64_t
isr_min_leo(struct logd *ld, const struct partition *p, int64_t leo)
{
	const int32_t *sets[2] = { p->isr, p->proposed_isr };
	size_t lens[2] = { p->nisr, p->nproposed_isr }, s, i;
	int64_t low = leo;

	if (!p->isr_change_pending)
		lens[1] = 0;
	for (s = 0; s < 2; s++)
		for (i = 0; i < lens[s]; i++) {
			const struct follower *f;

			if (sets[s][i] == ld->cfg.broker_id)
				continue;
			f = follower_find(p, sets[s][i]);
			/* Unknown positions hold it back until they fetch. */
			if (f == NULL || f->log_end_offset < low)
				low = f ? f->log_end_offset : -1;
		}
	return low;
}

void
replica_update_hw(struct logd *ld, struct partition *p)
{
	int64_t hw;

	if (p->role != PART_LEADER)
		return;
	hw = isr_min_leo(ld, p, plog_end_offset(p->log));
	if (hw <= p->high_watermark)
		return;
	p->high_watermark = hw;
	/* Consumer fetches on p and acks=all produces re-check. */
	park_wake_partition(ld, p);
}

/* Send `ids` to ctrld as p's new ISR, remembering it until answered. */
static void
propose_isr(struct logd *ld, struct partition *p, const int32_t *ids,
    size_t n, const char *why)
{
	char from[128], to[128];

	log_info("proposing ISR change (%s): topic=%s partition=%" PRId32
	    " leader_epoch=%" PRId32 " isr=%s new_isr=%s", why,
	    p->topic->name, p->id, p->leader_epoch,
	    ids_str(p->isr, p->nisr, from, sizeof(from)),
	    ids_str(ids, n, to, sizeof(to)));
	ids_set(&p->proposed_isr, &p->nproposed_isr, ids, n);
	cluster_alter_isr(ld, p, ids, n);
}

/*
 * A follower outside the ISR that reached the high watermark and the
 * start of our epoch holds everything committed: propose adding it.
 */
static void
maybe_expand_isr(struct logd *ld, struct partition *p,
    const struct follower *f)
{
	int64_t epoch_start = epoch_start_offset(p);
	int32_t *ids;

	if (p->role != PART_LEADER || p->isr_change_pending ||
	    ids_contain(p->isr, p->nisr, f->broker_id))
		return;
	if (f->log_end_offset < p->high_watermark || epoch_start < 0 ||
	    f->log_end_offset < epoch_start)
		return;
	ids = xcalloc(p->nisr + 1, sizeof(*ids));
	if (p->nisr > 0)
		memcpy(ids, p->isr, p->nisr * sizeof(*ids));
	ids[p->nisr] = f->broker_id;
	propose_isr(ld, p, ids, p->nisr + 1, "follower caught up");
	free(ids);
}

int16_t
replica_follower_fetch(struct logd *ld, struct partition *p,
    int32_t broker_id, int64_t fetch_offset, int64_t now_ms)
{
	struct follower *f = follower_find(p, broker_id);
	int64_t leo = plog_end_offset(p->log);

	if (p->role != PART_LEADER || f == NULL)
		return KERR_NOT_LEADER_OR_FOLLOWER;
	if (fetch_offset < plog_start_offset(p->log) || fetch_offset > leo)
		return KERR_OFFSET_OUT_OF_RANGE;
	/*
	 * Kafka's Replica.updateFetchState: caught up now when it asks from
	 * our end; caught up at its previous fetch when it now asks from
	 * where our end was then.
	 */
	if (fetch_offset >= leo) {
		if (now_ms > f->last_caught_up_ms)
			f->last_caught_up_ms = now_ms;
	} else if (fetch_offset >= f->leader_leo_at_fetch &&
	    f->last_fetch_ms > f->last_caught_up_ms) {
		f->last_caught_up_ms = f->last_fetch_ms;
	}
	f->log_end_offset = fetch_offset;
	f->leader_leo_at_fetch = leo;
	f->last_fetch_ms = now_ms;
	replica_update_hw(ld, p);
	maybe_expand_isr(ld, p, f);
	return KERR_NONE;
}

/*
 * Propose dropping ISR members that have not been caught up within
 * replica.lag.time.max.ms (Kafka's isCaughtUp: at our end, or caught up
 * recently). The leader always stays.
 */
static void
maybe_shrink_isr(struct logd *ld, struct partition *p, int64_t now_ms)
{
	int64_t leo = plog_end_offset(p->log), lag = ld->cfg.replica_lag_time_max_ms;
	int32_t *keep;
	size_t i, n = 0;

	if (p->role != PART_LEADER || p->isr_change_pending || p->nisr <= 1)
		return;
	keep = xcalloc(p->nisr, sizeof(*keep));
	for (i = 0; i < p->nisr; i++) {
		int32_t id = p->isr[i];
		const struct follower *f = follower_find(p, id);

		if (id == ld->cfg.broker_id || (f != NULL &&
		    (f->log_end_offset == leo ||
		    now_ms - f->last_caught_up_ms <= lag)))
			keep[n++] = id;
		else
			log_warnx("follower out of sync: topic=%s partition=%"
			    PRId32 " broker=%" PRId32 " log_end_offset=%" PRId64
			    " leader_log_end_offset=%" PRId64 " caught_up_ms_ago=%"
			    PRId64, p->topic->name, p->id, id,
			    f ? f->log_end_offset : -1, leo,
			    f ? now_ms - f->last_caught_up_ms : -1);
	}
	if (n < p->nisr)
		propose_isr(ld, p, keep, n, "followers lagging");
	free(keep);
}

/* Retention moved the log start: the epoch cache follows it. */
static void
trim_epochs(struct partition *p)
{
	const struct epoch_entry *first;
	struct err e = { 0 };

	if (p->epochs == NULL || epoch_cache_count(p->epochs) == 0)
		return;
	first = epoch_cache_entry(p->epochs, 0);
	if (first->start_offset >= plog_start_offset(p->log))
		return;
	if (epoch_cache_truncate_from_start(p->epochs,
	    plog_start_offset(p->log), &e) < 0)
		log_warnx("leader epoch cache: topic=%s partition=%" PRId32
		    ": %s", p->topic->name, p->id, e.msg);
}

static void
tick_partition(struct logd *ld, struct partition *p, int64_t now_ms)
{
	size_t i;

	trim_epochs(p);
	if (p->role != PART_LEADER)
		return;
	maybe_shrink_isr(ld, p, now_ms);
	for (i = 0; i < p->nfollowers; i++)
		maybe_expand_isr(ld, p, &p->followers[i]);
}

void
replica_tick(struct logd *ld, int64_t now_ms)
{
	int64_t every = ld->cfg.replica_lag_time_max_ms / 2;
	size_t i;
	int32_t j;

	if (now_ms < ld->next_replica_tick_ms)
		return;
	ld->next_replica_tick_ms = now_ms + (every > 0 ? every : 1);
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++)
			if (ld->topics[i]->parts[j] != NULL)
				tick_partition(ld, ld->topics[i]->parts[j],
				    now_ms);
}

void
replica_role_changed(struct logd *ld, struct partition *p,
    enum part_role old_role, int32_t old_epoch)
{
	int64_t now = clock_mono_ms();
	bool new_term = old_role != PART_LEADER ||
	    p->leader_epoch != old_epoch;

	/* The group coordinator loads or drops an offsets partition's groups. */
	groups_partition_moved(ld, p);
	if (p->role != PART_LEADER) {
		followers_clear(p);
		proposal_clear(p);
		/* Waiting acks=all produces and fetches learn they lost it. */
		if (old_role == PART_LEADER)
			wake(ld);
		return;
	}
	epoch_begin(p);
	followers_sync(ld, p, now, new_term);
	if (new_term)
		proposal_clear(p);
	log_info("leading topic=%s partition=%" PRId32 " leader_epoch=%"
	    PRId32 " log_end_offset=%" PRId64 " high_watermark=%" PRId64,
	    p->topic->name, p->id, p->leader_epoch, plog_end_offset(p->log),
	    p->high_watermark);
	replica_update_hw(ld, p);
	wake(ld);
}

void
replica_isr_changed(struct logd *ld, struct partition *p)
{
	if (!p->isr_change_pending)
		proposal_clear(p);
	if (p->role != PART_LEADER)
		return;
	followers_sync(ld, p, clock_mono_ms(), false);
	/* A smaller ISR may let the high watermark move ... */
	replica_update_hw(ld, p);
	/* ... and waiting acks=all produces must re-check its size. */
	wake(ld);
}

bool
replica_ack_ready(struct logd *ld, const struct partition *p, int32_t epoch,
    int64_t required, int16_t *error)
{
	int64_t min_isr = tconf_i64(&p->topic->conf, &ld->cfg.topic_defaults,
	    TCONF_MIN_INSYNC_REPLICAS);

	*error = KERR_NONE;
	if (p->role != PART_LEADER || p->leader_epoch != epoch) {
		*error = KERR_NOT_LEADER_OR_FOLLOWER;
		return true;
	}
	if (p->high_watermark >= required && (int64_t)p->nisr >= min_isr)
		return true;
	if ((int64_t)p->nisr < min_isr) {
		*error = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
		return true;
	}
	return false;
}

int16_t
replica_check_leader(const struct partition *p, int32_t current_epoch)
{
	/* Kafka fences by epoch first: a stale client learns it is stale. */
	if (current_epoch >= 0 && current_epoch < p->leader_epoch)
		return KERR_FENCED_LEADER_EPOCH;
	if (current_epoch > p->leader_epoch)
		return KERR_UNKNOWN_LEADER_EPOCH;
	return p->role == PART_LEADER ? KERR_NONE :
	    KERR_NOT_LEADER_OR_FOLLOWER;
}
