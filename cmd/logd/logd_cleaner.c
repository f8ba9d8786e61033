/* SPDX-License-Identifier: MIT */
/*
 * The log cleaner: one thread that compacts partitions while the event
 * loop serves (Kafka's LogCleaner thread). The thread only runs
 * plog_compact_step() on the job it was handed: reading a snapshot of
 * the log through descriptors the job owns, building the offset map and
 * writing *.cleaned segments. Everything that touches a partition's log
 * (planning and snapshotting, swapping a cleaned group in, the cleaner
 * checkpoint, freeing the job and its uncommitted files) runs on the
 * event loop, which the thread wakes through an eventfd. So a plog is
 * still touched by the loop alone.
 *
 * Hand-over: the job is the thread's while the state is RUNNING and the
 * loop's otherwise; the state changes under the mutex. The loop alone
 * keeps the queue of partitions to clean and the `logd ctl compact`
 * connections waiting for them. A deleted partition leaves the queue,
 * and a pass over it is told to stop and its output removed. A pass
 * whose log changed under it (retention, truncation) is discarded by the
 * commit and queued again. At shutdown the thread is told to stop (it
 * looks between reads and while throttled), joined, and the job's
 * uncommitted files removed, so only a crash leaves *.cleaned files
 * (which plog_open removes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

/* How long `logd ctl compact` waits for its partitions. */
#define CTL_WAIT_MS (10 * 60 * 1000)
/* Passes a partition gets in a row while its log keeps changing. */
#define MAX_ATTEMPTS 3

enum cleaner_state {
	CLEANER_IDLE,		/* no job */
	CLEANER_RUNNING,	/* the thread has the job */
	CLEANER_READY,		/* a cleaned group waits for its commit */
	CLEANER_DONE		/* the step returned 0 or -1 */
};

/* A `logd ctl compact` connection waiting for its partitions. */
struct waiter {
	int fd;			/* -1 once answered */
	bool json;
	int pending;		/* queued partitions not finished */
	int64_t deadline_ms;	/* monotonic */
	char error[256];	/* the first failure */
	struct waiter *next;
};

/* A partition to clean and who waits for it. */
struct item {
	struct partition *p;	/* NULL once its topic is deleted */
	struct waiter **waiters;
	size_t nwaiters;
	int attempts;
	int64_t started_ms;
	struct item *next;
};

struct cleaner {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;		/* the thread wakes the loop */
	atomic_bool stop;	/* shutdown */
	atomic_bool cancel;	/* the running pass's partition is gone */
	/* Under mu. */
	enum cleaner_state state;
	int step_rc;
	struct err step_err;
	/* The thread's while RUNNING, the loop's otherwise. */
	struct plog_compact_job *job;
	/* The loop's alone. */
	struct item *running;
	struct item *head, *tail;
	struct waiter *waiters;
};

/* opts.stop of every pass: polled by the thread between reads. */
static bool
should_stop(void *arg)
{
	struct cleaner *c = arg;

	return atomic_load(&c->stop) || atomic_load(&c->cancel);
}

static void *
cleaner_main(void *arg)
{
	struct cleaner *c = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct plog_compact_job *job;
		struct err e = { 0 };
		int rc;

		while (!atomic_load(&c->stop) && c->state != CLEANER_RUNNING)
			pthread_cond_wait(&c->cv, &c->mu);
		if (atomic_load(&c->stop))
			break;
		job = c->job;
		pthread_mutex_unlock(&c->mu);
		rc = plog_compact_step(job, &e);
		pthread_mutex_lock(&c->mu);
		c->step_rc = rc;
		c->step_err = e;
		c->state = rc == 1 ? CLEANER_READY : CLEANER_DONE;
		/* An eventfd write cannot block while the loop reads it. */
		(void)!write(c->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void
set_state(struct cleaner *c, enum cleaner_state s)
{
	pthread_mutex_lock(&c->mu);
	c->state = s;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
waiter_free(struct cleaner *c, struct waiter *w)
{
	struct waiter **pp;

	for (pp = &c->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	free(w);
}

static void
waiter_answer(struct logd *ld, struct waiter *w, const char *error)
{
	if (w->fd < 0)
		return;
	ctl_reply(ld, w->fd, w->json, error);
	w->fd = -1;
}

/* One of the waiter's partitions is finished (`error` NULL: fine). */
static void
waiter_done(struct logd *ld, struct waiter *w, const char *error)
{
	if (error != NULL && w->error[0] == '\0')
		snprintf(w->error, sizeof(w->error), "%s", error);
	if (--w->pending > 0)
		return;
	waiter_answer(ld, w, w->error[0] != '\0' ? w->error : NULL);
	waiter_free(ld->cleaner, w);
}

static struct item *
item_new(struct partition *p)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL)
		log_warnx("compaction: topic=%s partition=%" PRId32 ": out of "
		    "memory", p->topic->name, p->id);
	else
		it->p = p;
	return it;
}

static int
item_add_waiter(struct item *it, struct waiter *w)
{
	struct waiter **grown = realloc(it->waiters,
	    (it->nwaiters + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	it->waiters = grown;
	it->waiters[it->nwaiters++] = w;
	w->pending++;
	return 0;
}

/* The item is done with: tell its waiters, free it. */
static void
item_finish(struct logd *ld, struct item *it, const char *error)
{
	size_t i;

	for (i = 0; i < it->nwaiters; i++)
		waiter_done(ld, it->waiters[i], error);
	free(it->waiters);
	free(it);
}

static struct item *
queue_find(const struct cleaner *c, const struct partition *p)
{
	struct item *it;

	for (it = c->head; it != NULL; it = it->next)
		if (it->p == p)
			return it;
	return NULL;
}

static void
queue_push(struct cleaner *c, struct item *it)
{
	it->next = NULL;
	if (c->tail != NULL)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
}

static struct item *
queue_pop(struct cleaner *c)
{
	struct item *it = c->head;

	if (it == NULL)
		return NULL;
	c->head = it->next;
	if (c->head == NULL)
		c->tail = NULL;
	it->next = NULL;
	return it;
}

/* Queue `it` again, joining an item queued since for the same partition. */
static void
queue_again(struct logd *ld, struct cleaner *c, struct item *it)
{
	struct item *q = queue_find(c, it->p);
	size_t i;

	if (q == NULL) {
		queue_push(c, it);
		return;
	}
	for (i = 0; i < it->nwaiters; i++)
		if (item_add_waiter(q, it->waiters[i]) < 0)
			waiter_done(ld, it->waiters[i], "out of memory");
		else
			it->waiters[i]->pending--;
	free(it->waiters);
	free(it);
}

/* Free the running pass (removing what it did not commit), go idle. */
static struct item *
take_running(struct cleaner *c)
{
	struct item *it = c->running;

	plog_compact_job_free(c->job);
	c->job = NULL;
	c->running = NULL;
	set_state(c, CLEANER_IDLE);
	return it;
}

static void
fail_item(struct logd *ld, struct item *it, const char *msg)
{
	char error[256];

	log_warnx("compaction: topic=%s partition=%" PRId32 ": %s",
	    it->p->topic->name, it->p->id, msg);
	snprintf(error, sizeof(error), "compaction of topic=%s partition=%"
	    PRId32 ": %s", it->p->topic->name, it->p->id, msg);
	item_finish(ld, it, error);
}

/* The pass was discarded (its log changed): try again, a few times. */
static void
retry_running(struct logd *ld, struct cleaner *c)
{
	struct item *it = take_running(c);

	if (it->p == NULL) {
		item_finish(ld, it, NULL);
		return;
	}
	log_info("compaction discarded: topic=%s partition=%" PRId32
	    ": the log changed under it (retention, truncation); %s",
	    it->p->topic->name, it->p->id, it->attempts + 1 < MAX_ATTEMPTS ?
	    "trying again" : "giving up until the next round");
	if (++it->attempts < MAX_ATTEMPTS) {
		queue_again(ld, c, it);
		return;
	}
	fail_item(ld, it, "discarded: the log kept changing under it");
}

/* Plan a pass over the item's partition and hand it to the thread. */
static void
start(struct logd *ld, struct cleaner *c, struct item *it)
{
	struct plog_compact_opts o;
	struct plog_compact_job *job;
	struct err e = { 0 };

	if (it->p == NULL) {
		item_finish(ld, it, NULL);
		return;
	}
	partition_compact_opts(ld, it->p, clock_wall_ms(), &o);
	o.stop = should_stop;
	o.stop_arg = c;
	if (plog_compact_prepare(it->p->log, &o, &job, &e) < 0) {
		fail_item(ld, it, e.msg);
		return;
	}
	if (!plog_compact_job_result(job)->ran) {
		plog_compact_job_free(job);
		item_finish(ld, it, NULL);
		return;
	}
	log_info("compaction started: topic=%s partition=%" PRId32
	    " dirty_ratio=%.2f first_dirty_offset=%" PRId64,
	    it->p->topic->name, it->p->id,
	    plog_compact_job_result(job)->dirty_ratio,
	    plog_compact_job_result(job)->first_dirty_offset);
	atomic_store(&c->cancel, false);
	c->job = job;
	c->running = it;
	it->started_ms = clock_mono_ms();
	set_state(c, CLEANER_RUNNING);
}

/* Start queued passes until one runs (most find nothing to do). */
static void
pump(struct logd *ld)
{
	struct cleaner *c = ld->cleaner;
	struct item *it;

	while (c->running == NULL && (it = queue_pop(c)) != NULL)
		start(ld, c, it);
}

/* The running item's partition went away: its pass is over. */
static bool
running_orphaned(struct logd *ld, struct cleaner *c)
{
	if (c->running->p != NULL)
		return false;
	item_finish(ld, take_running(c), NULL);
	return true;
}

/*
 * After a commit or finish that returned `r`: a stale job is run again,
 * a failure fails the item. Whether the pass goes on (`r` was 0).
 */
static bool
step_went_through(struct logd *ld, struct cleaner *c, int r,
    const struct err *e)
{
	if (r == PLOG_COMPACT_STALE) {
		retry_running(ld, c);
		return false;
	}
	if (r < 0) {
		fail_item(ld, take_running(c), e->msg);
		return false;
	}
	return true;
}

/* A cleaned group is ready: swap it in and let the thread go on. */
static void
on_ready(struct logd *ld, struct cleaner *c)
{
	struct err e = { 0 };
	int r;

	if (running_orphaned(ld, c))
		return;
	r = plog_compact_commit(c->running->p->log, c->job, &e);
	if (step_went_through(ld, c, r, &e))
		set_state(c, CLEANER_RUNNING);
}

static void
report(const struct item *it, const struct plog_compact_result *res)
{
	if (res->segments_cleaned == 0)
		return;
	log_info("compacted topic=%s partition=%" PRId32 ": %d segments, %"
	    PRIu64 " -> %" PRIu64 " bytes, %" PRIu64 " records removed, %"
	    PRId64 " ms (%" PRIu64 " ms throttled)", it->p->topic->name,
	    it->p->id, res->segments_cleaned, res->bytes_before,
	    res->bytes_after, res->records_removed,
	    clock_mono_ms() - it->started_ms, res->throttled_ms);
}

/* The thread is through with the pass: move the checkpoint, answer. */
static void
on_done(struct logd *ld, struct cleaner *c)
{
	struct item *it = c->running;
	struct err e = { 0 };
	int r;

	if (running_orphaned(ld, c))
		return;
	/* A read error may only mean a truncation cut what it read. */
	if (c->step_rc < 0 && !plog_compact_current(it->p->log, c->job)) {
		retry_running(ld, c);
		return;
	}
	if (c->step_rc < 0) {
		fail_item(ld, take_running(c), c->step_err.msg);
		return;
	}
	r = plog_compact_finish(it->p->log, c->job, &e);
	if (!step_went_through(ld, c, r, &e))
		return;
	report(it, plog_compact_job_result(c->job));
	item_finish(ld, take_running(c), NULL);
}

void
cleaner_on_wakeup(struct logd *ld)
{
	struct cleaner *c = ld->cleaner;
	enum cleaner_state st;
	uint64_t n;

	if (c == NULL)
		return;
	while (read(c->efd, &n, sizeof(n)) < 0 && errno == EINTR)
		continue;
	pthread_mutex_lock(&c->mu);
	st = c->state;
	pthread_mutex_unlock(&c->mu);
	/* From READY and DONE only the loop moves on: nothing is missed. */
	if (st == CLEANER_READY)
		on_ready(ld, c);
	else if (st == CLEANER_DONE)
		on_done(ld, c);
	pump(ld);
}

void
cleaner_schedule(struct logd *ld, struct partition *p)
{
	struct cleaner *c = ld->cleaner;
	struct item *it;

	if (c == NULL || queue_find(c, p) != NULL ||
	    (c->running != NULL && c->running->p == p))
		return;
	if ((it = item_new(p)) == NULL)
		return;
	queue_push(c, it);
	pump(ld);
}

void
cleaner_compact(struct logd *ld, struct partition **parts, size_t n,
    int fd, bool json)
{
	struct cleaner *c = ld->cleaner;
	struct waiter *w;
	size_t i;

	if (c == NULL || (w = calloc(1, sizeof(*w))) == NULL) {
		ctl_reply(ld, fd, json, c == NULL ? "the log cleaner is not "
		    "running" : "out of memory");
		return;
	}
	w->fd = fd;
	w->json = json;
	w->deadline_ms = clock_mono_ms() + CTL_WAIT_MS;
	w->next = c->waiters;
	c->waiters = w;
	/* A pass running now may predate what the client wrote: queue one. */
	w->pending = 1;
	for (i = 0; i < n; i++) {
		struct item *it = queue_find(c, parts[i]);

		if (it == NULL && (it = item_new(parts[i])) != NULL)
			queue_push(c, it);
		if (it == NULL || item_add_waiter(it, w) < 0)
			snprintf(w->error, sizeof(w->error), "out of memory");
	}
	/* Only now may finished partitions answer the client. */
	waiter_done(ld, w, NULL);
	pump(ld);
}

void
cleaner_forget(struct logd *ld, struct partition *p)
{
	struct cleaner *c = ld->cleaner;
	struct item **pp, *it;

	if (c == NULL)
		return;
	for (pp = &c->head; *pp != NULL;) {
		it = *pp;
		if (it->p != p) {
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		if (c->tail == it)
			c->tail = NULL;
		item_finish(ld, it, NULL);
	}
	/* The tail may have been dropped: find it again. */
	for (c->tail = c->head; c->tail != NULL && c->tail->next != NULL;
	    c->tail = c->tail->next)
		continue;
	if (c->running != NULL && c->running->p == p) {
		c->running->p = NULL;
		atomic_store(&c->cancel, true);
	}
}

int64_t
cleaner_next_deadline(const struct logd *ld)
{
	const struct waiter *w;
	int64_t t = INT64_MAX;

	if (ld->cleaner == NULL)
		return t;
	for (w = ld->cleaner->waiters; w != NULL; w = w->next)
		if (w->fd >= 0 && w->deadline_ms < t)
			t = w->deadline_ms;
	return t;
}

void
cleaner_tick(struct logd *ld, int64_t now_ms)
{
	struct waiter *w;
	char msg[128];

	if (ld->cleaner == NULL)
		return;
	/* Answered waiters stay until their partitions are done. */
	for (w = ld->cleaner->waiters; w != NULL; w = w->next) {
		if (w->fd < 0 || now_ms < w->deadline_ms)
			continue;
		snprintf(msg, sizeof(msg), "compaction still running after %d "
		    "s; it goes on in the background", CTL_WAIT_MS / 1000);
		waiter_answer(ld, w, msg);
	}
}

int
cleaner_start(struct logd *ld, struct err *e)
{
	struct epoll_event ev = { 0 };
	struct cleaner *c;
	sigset_t all, old;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		free(c);
		return err_sys(e, EXIT_OSERR, "eventfd");
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &ld->cleaner;
	if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, c->efd, &ev) < 0) {
		err_sys(e, EXIT_OSERR, "epoll_ctl for the cleaner's eventfd");
		goto fail;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	atomic_init(&c->stop, false);
	atomic_init(&c->cancel, false);
	/* Signals are the loop's: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&c->thread, NULL, cleaner_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		err_sys(e, EXIT_OSERR, "unable to start the log cleaner thread");
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		goto fail;
	}
	ld->cleaner = c;
	return 0;
fail:
	close(c->efd);
	free(c);
	return -1;
}

void
cleaner_stop(struct logd *ld)
{
	struct cleaner *c = ld->cleaner;
	const char *why = "logd is shutting down";
	struct item *it;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->stop, true);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	epoll_ctl(ld->epfd, EPOLL_CTL_DEL, c->efd, NULL);
	close(c->efd);
	if (c->running != NULL) {
		plog_compact_job_free(c->job);
		item_finish(ld, c->running, why);
	}
	while ((it = queue_pop(c)) != NULL)
		item_finish(ld, it, why);
	while (c->waiters != NULL) {
		waiter_answer(ld, c->waiters, why);
		waiter_free(c, c->waiters);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	ld->cleaner = NULL;
}
