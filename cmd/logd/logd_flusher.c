/* SPDX-License-Identifier: MIT */
/*
 * The flusher: one thread that makes rolled segments durable while the
 * event loop serves (Kafka flushes a rolled segment on its scheduler
 * too). A roll used to fdatasync the old segment on the loop, and a
 * 1 GiB segment took the disk about a second, during which no partition
 * was served. Now the loop takes a flush job (plog_flush_take: the job
 * owns its descriptors), the thread syncs it, and the loop finishes it
 * (plog_flush_job_finish moves the recovery point) when the thread
 * wakes it through an eventfd. So a plog is still touched by the loop
 * alone.
 *
 * Jobs run one at a time in the order taken, which plog_flush_take
 * relies on (each starts where the previous ended). A partition freed
 * meanwhile leaves its jobs behind: they still run, nothing is
 * finished. At shutdown the thread finishes the job it has, the rest are
 * dropped; the clean close syncs every log anyway (ld_close).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "plog.h"
#include "banned.h"

struct flush_item {
	struct partition *p;	/* NULL once the partition is freed */
	struct plog_flush_job *job;
	bool ok;
	struct err err;
	struct flush_item *next;
};

/* A FIFO of items. */
struct flush_list {
	struct flush_item *head;
	struct flush_item **tail;
};

struct flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;		/* the thread wakes the loop */
	bool stop;
	struct flush_list todo;	/* taken, not run */
	struct flush_item *running;
	struct flush_list done;	/* run, not finished */
};

static void
list_init(struct flush_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
list_push(struct flush_list *l, struct flush_item *it)
{
	it->next = NULL;
	*l->tail = it;
	l->tail = &it->next;
}

static struct flush_item *
list_pop(struct flush_list *l)
{
	struct flush_item *it = l->head;

	if (it != NULL && (l->head = it->next) == NULL)
		l->tail = &l->head;
	return it;
}

static void
item_free(struct flush_item *it)
{
	plog_flush_job_free(it->job);
	free(it);
}

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct flush_item *it;

		while (!f->stop && f->todo.head == NULL)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop)
			break;
		it = f->running = list_pop(&f->todo);
		pthread_mutex_unlock(&f->mu);
		it->ok = plog_flush_job_run(it->job, &it->err) == 0;
		pthread_mutex_lock(&f->mu);
		f->running = NULL;
		list_push(&f->done, it);
		/* An eventfd write cannot block while the loop reads it. */
		(void)!write(f->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
finish(struct flush_item *it)
{
	struct partition *p = it->p;

	if (p == NULL)
		return;
	if (!it->ok)
		log_warnx("flush: topic=%s partition=%" PRId32 " below offset %"
		    PRId64 ": %s; the partition takes no more writes",
		    p->topic->name, p->id, plog_flush_job_end(it->job),
		    it->err.msg);
	plog_flush_job_finish(p->log, it->job, it->ok);
}

void
flusher_submit(struct logd *ld, struct partition *p)
{
	struct flusher *f = ld->flusher;
	struct plog_flush_job *job;
	struct flush_item *it;
	struct err e = { 0 };
	int r;

	if (!plog_flush_due(p->log))
		return;
	if ((r = plog_flush_take(p->log, &job, &e)) <= 0) {
		if (r < 0)
			log_warnx("flush: topic=%s partition=%" PRId32 ": %s",
			    p->topic->name, p->id, e.msg);
		return;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL)
		f = NULL;
	else {
		it->p = p;
		it->job = job;
	}
	/* No thread (starting, stopping) or no memory: sync right here. */
	if (f == NULL) {
		bool ok = plog_flush_job_run(job, &e) == 0;

		if (!ok)
			log_warnx("flush: topic=%s partition=%" PRId32 ": %s",
			    p->topic->name, p->id, e.msg);
		plog_flush_job_finish(p->log, job, ok);
		plog_flush_job_free(job);
		free(it);
		return;
	}
	pthread_mutex_lock(&f->mu);
	list_push(&f->todo, it);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
flusher_on_wakeup(struct logd *ld)
{
	struct flusher *f = ld->flusher;
	struct flush_list done;
	struct flush_item *it;
	uint64_t n;

	(void)!read(f->efd, &n, sizeof(n));
	pthread_mutex_lock(&f->mu);
	done = f->done;
	list_init(&f->done);
	pthread_mutex_unlock(&f->mu);
	if (done.head == NULL)
		return;
	while ((it = list_pop(&done)) != NULL) {
		finish(it);
		item_free(it);
	}
}

void
flusher_forget(struct logd *ld, struct partition *p)
{
	struct flusher *f = ld->flusher;
	struct flush_item *it;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	for (it = f->todo.head; it != NULL; it = it->next)
		if (it->p == p)
			it->p = NULL;
	if (f->running != NULL && f->running->p == p)
		f->running->p = NULL;
	for (it = f->done.head; it != NULL; it = it->next)
		if (it->p == p)
			it->p = NULL;
	pthread_mutex_unlock(&f->mu);
}

int
flusher_start(struct logd *ld, struct err *e)
{
	struct epoll_event ev = { 0 };
	struct flusher *f;
	sigset_t all, old;
	int r;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	list_init(&f->todo);
	list_init(&f->done);
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		free(f);
		return err_sys(e, EXIT_OSERR, "eventfd for the flusher");
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &ld->flusher;
	if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, f->efd, &ev) < 0) {
		err_sys(e, EXIT_OSERR, "epoll_ctl for the flusher's eventfd");
		goto fail;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	/* Signals are the loop's: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&f->thread, NULL, flusher_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		err_sys(e, EXIT_OSERR, "unable to start the flusher thread");
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		epoll_ctl(ld->epfd, EPOLL_CTL_DEL, f->efd, NULL);
		goto fail;
	}
	ld->flusher = f;
	return 0;
fail:
	close(f->efd);
	free(f);
	return -1;
}

void
flusher_stop(struct logd *ld)
{
	struct flusher *f = ld->flusher;
	struct flush_item *it;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	epoll_ctl(ld->epfd, EPOLL_CTL_DEL, f->efd, NULL);
	close(f->efd);
	while ((it = list_pop(&f->done)) != NULL) {
		finish(it);
		item_free(it);
	}
	while ((it = list_pop(&f->todo)) != NULL)
		item_free(it);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	ld->flusher = NULL;
}
