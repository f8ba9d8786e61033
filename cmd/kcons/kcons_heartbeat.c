/* SPDX-License-Identifier: MIT */
/*
 * The heartbeat thread of group mode (-G). It keeps the membership alive
 * while the main thread is blocked writing standard output to a slow
 * reader, as the Java consumer's heartbeat thread does. It owns a client
 * of its own (its own connection to the coordinator, found with its own
 * FindCoordinator): nothing of the main thread's client is touched here.
 *
 * The main thread publishes the member id and generation after each
 * join (generation -1 pauses the heartbeats while it joins) and stamps
 * its progress; the thread sends Heartbeat every heartbeat.interval.ms
 * and reports what the answers ask for through a mutex-protected struct,
 * writing a byte to a pipe so that a main loop waiting in poll() wakes.
 * A report is dropped when the membership it was about was replaced in
 * the meantime. When the main thread made no progress (a write blocked)
 * for max.poll.interval.ms, the thread leaves the group (LeaveGroup) and
 * stops heartbeating, so that the other members take the partitions
 * over; the main thread joins again once it gets going.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "util.h"
#include "kcons.h"
#include "kcons_group.h"
#include "banned.h"

/* FENCED_INSTANCE_ID: another member took our group.instance.id. */
#define KERR_FENCED_INSTANCE_ID 82

/* A request of the thread's: one at a time, answered into `body`. */
struct hb_call {
	bool done;
	struct err fail;		/* code 0: answered */
	int16_t version;
	struct buf body;
};

struct kc_hb {
	struct kc_hb_settings s;	/* read-only once started */
	pthread_t thread;
	int ctl[2];			/* main -> thread: look again */
	int wake[2];			/* thread -> main: a report waits */
	pthread_mutex_t mu;
	/* Under mu: the membership to keep and what the thread found. */
	char *member_id;
	int32_t generation;		/* -1: do not heartbeat */
	uint64_t epoch;			/* bumped by every kc_hb_member() */
	int64_t progress_ms;		/* the main thread's last progress */
	bool stop;
	struct kc_hb_report rep;
	/* The thread's own. */
	struct kcl *k;
	int32_t coordinator;		/* broker id; -1 unknown */
	struct hb_call call;
};

/* What the thread works from, copied out under the lock. */
struct hb_view {
	char *member_id;
	int32_t generation;
	uint64_t epoch;
	int64_t progress_ms;
};

static void
poke(int fd)
{
	ssize_t n;

	/* A full pipe already says "look": EAGAIN is fine. */
	do
		n = write(fd, "!", 1);
	while (n < 0 && errno == EINTR);
}

static void
drain(int fd)
{
	char b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

static int
pipe_nonblock(int fds[2], struct err *e)
{
	int i;

	if (pipe(fds) < 0)
		return err_sys(e, EXIT_OSERR, "pipe");
	for (i = 0; i < 2; i++)
		if (fcntl(fds[i], F_SETFL, O_NONBLOCK) < 0 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
			err_sys(e, EXIT_OSERR, "fcntl");
			close(fds[0]);
			close(fds[1]);
			fds[0] = fds[1] = -1;
			return -1;
		}
	return 0;
}

/* Copy the membership out; false once the thread must stop. */
static bool
view(struct kc_hb *h, struct hb_view *v)
{
	bool go;

	pthread_mutex_lock(&h->mu);
	go = !h->stop;
	if (v->epoch != h->epoch) {
		free(v->member_id);
		v->member_id = xstrdup(h->member_id);
		v->generation = h->generation;
		v->epoch = h->epoch;
	}
	v->progress_ms = h->progress_ms;
	pthread_mutex_unlock(&h->mu);
	return go;
}

static bool
stopping(struct kc_hb *h)
{
	bool stop;

	pthread_mutex_lock(&h->mu);
	stop = h->stop;
	pthread_mutex_unlock(&h->mu);
	return stop;
}

/* Tell the main thread, unless the membership changed meanwhile. */
static void
report(struct kc_hb *h, uint64_t epoch, unsigned flags, const struct err *e)
{
	bool sent = false;

	pthread_mutex_lock(&h->mu);
	if (epoch == h->epoch) {
		h->rep.flags |= flags;
		if ((flags & KC_HB_TROUBLE) && e != NULL)
			h->rep.trouble = *e;
		if ((flags & KC_HB_FATAL) && e != NULL)
			h->rep.fatal = *e;
		sent = true;
	}
	pthread_mutex_unlock(&h->mu);
	/* A good answer waits for the main loop's next round. */
	if (sent && (flags & ~KC_HB_OK) != 0)
		poke(h->wake[1]);
}

/* Sleep up to ms (-1: until poked), serving the thread's connections. */
static void
nap(struct kc_hb *h, int64_t ms)
{
	struct pollfd p = { h->ctl[0], POLLIN, 0 };
	struct err e = { 0 };
	int t = ms < 0 ? -1 : ms > INT32_MAX ? INT32_MAX : (int)ms;

	if (kcl_poll(h->k, &p, 1, t, &e) < 0)
		(void)poll(&p, 1, t < 0 || t > 1000 ? 1000 : t);
	if (p.revents != 0)
		drain(h->ctl[0]);
}

static void
call_cb(struct kcl *k, const struct kcl_response *r, void *arg)
{
	struct hb_call *call = arg;

	(void)k;
	call->done = true;
	call->version = r->api_version;
	if (r->failure != NULL) {
		call->fail = *r->failure;
		return;
	}
	buf_put(&call->body, r->body->p, br_left(r->body));
}

/*
 * Send the request built on c and wait for it: 0 with the body in br, -1
 * with e set, 1 when the thread must stop first (then nothing polls the
 * client again, so the callback never runs late).
 */
static int
call(struct kc_hb *h, struct kcl_conn *c, struct breader *br, struct err *e)
{
	struct hb_call *q = &h->call;

	q->done = false;
	memset(&q->fail, 0, sizeof(q->fail));
	buf_clear(&q->body);
	if (kcl_request_send(c, call_cb, q, false, e) < 0)
		return -1;
	while (!q->done) {
		if (stopping(h))
			return 1;
		nap(h, 1000);
	}
	if (q->fail.code != 0) {
		*e = q->fail;
		return -1;
	}
	br_init(br, q->body.data, q->body.len);
	return 0;
}

static int
find_coordinator(struct kc_hb *h, struct err *e)
{
	struct kcl_conn *c = kcl_conn(h->k, -1, e);
	struct breader br;
	struct buf *b;
	int16_t code;
	int32_t node;
	int v, rc;

	if (c == NULL)
		return -1;
	v = kcl_version(c, API_FIND_COORDINATOR, 0, 2);
	if (v < 0)
		return err_set(e, EXIT_PROTOCOL, "broker %s does not support "
		    "FindCoordinator v0-2", kcl_conn_name(c));
	b = kcl_request_begin(c, API_FIND_COORDINATOR, (int16_t)v);
	proto_put_cstr(b, h->s.group);
	if (v >= 1)
		buf_put_i8(b, 0);		/* key_type: group */
	if ((rc = call(h, c, &br, e)) != 0)
		return rc < 0 ? -1 : err_set(e, EXIT_TEMPFAIL, "stopping");
	if (v >= 1)
		(void)br_i32(&br);
	code = br_i16(&br);
	if (v >= 1)
		(void)proto_read_str(&br, true);
	node = br_i32(&br);
	if (!br_ok(&br))
		return err_set(e, EXIT_PROTOCOL, "broker %s: malformed "
		    "FindCoordinator response", kcl_conn_name(c));
	if (code != KERR_NONE)
		return err_set(e, EXIT_TEMPFAIL, "group '%s': no coordinator: "
		    "%s", h->s.group, kg_error_name(code));
	if (kcl_broker(h->k, node) == NULL && kcl_metadata(h->k, h->s.topics,
	    h->s.ntopics, false, e) < 0)
		return -1;
	h->coordinator = node;
	return 0;
}

static struct kcl_conn *
coordinator(struct kc_hb *h, struct err *e)
{
	struct kcl_conn *c;

	if (h->coordinator < 0 && find_coordinator(h, e) < 0)
		return NULL;
	c = kcl_conn(h->k, h->coordinator, e);
	if (c == NULL)
		h->coordinator = -1;
	return c;
}

/* What a Heartbeat answer asks for; true while the membership holds. */
static bool
answer(struct kc_hb *h, const struct hb_view *v, int16_t code)
{
	struct err e = { 0 };

	switch (code) {
	case KERR_NONE:
		report(h, v->epoch, KC_HB_OK, NULL);
		return true;
	case KERR_REBALANCE_IN_PROGRESS:
		/* Heartbeats go on: they keep the session until we join. */
		report(h, v->epoch, KC_HB_OK | KC_HB_REJOIN, NULL);
		return true;
	case KERR_UNKNOWN_MEMBER_ID:
	case KERR_ILLEGAL_GENERATION:
	case KERR_FENCED_INSTANCE_ID:
		log_warnx("group '%s': %s: joining again", h->s.group,
		    kg_error_name(code));
		report(h, v->epoch, KC_HB_LOST | (code ==
		    KERR_ILLEGAL_GENERATION ? 0 : KC_HB_NEW_MEMBER), NULL);
		return false;
	default:
		if (kg_coordinator_error(code)) {
			h->coordinator = -1;
			err_set(&e, EXIT_TEMPFAIL, "group '%s': heartbeat: %s",
			    h->s.group, kg_error_name(code));
			report(h, v->epoch, KC_HB_TROUBLE | KC_HB_COORDINATOR,
			    &e);
			return true;
		}
		err_set(&e, EXIT_FAIL, "group '%s': heartbeat failed: %s",
		    h->s.group, kg_error_name(code));
		report(h, v->epoch, KC_HB_FATAL, &e);
		return false;
	}
}

/*
 * One Heartbeat. Returns when the next one is due, or -1 when the
 * membership is over (lost, or a fatal answer) until the main thread
 * publishes a new one.
 */
static int64_t
beat(struct kc_hb *h, const struct hb_view *v, int64_t now)
{
	int64_t retry = now + h->s.backoff_ms;
	struct err e = { 0 };
	struct kcl_conn *c;
	struct breader br;
	struct buf *b;
	int16_t code;
	int ver, rc;

	if ((c = coordinator(h, &e)) == NULL) {
		report(h, v->epoch, KC_HB_TROUBLE | KC_HB_COORDINATOR, &e);
		return retry;
	}
	ver = kcl_version(c, API_HEARTBEAT, 0, 3);
	if (ver < 0) {
		err_set(&e, EXIT_PROTOCOL, "broker %s does not support "
		    "Heartbeat v0-3", kcl_conn_name(c));
		report(h, v->epoch, KC_HB_FATAL, &e);
		return -1;
	}
	b = kcl_request_begin(c, API_HEARTBEAT, (int16_t)ver);
	proto_put_cstr(b, h->s.group);
	buf_put_i32(b, v->generation);
	proto_put_cstr(b, v->member_id);
	if (ver >= 3)
		proto_put_cstr(b, NULL);	/* group_instance_id */
	if ((rc = call(h, c, &br, &e)) != 0) {
		if (rc > 0)
			return -1;
		h->coordinator = -1;
		report(h, v->epoch, KC_HB_TROUBLE | KC_HB_COORDINATOR, &e);
		return retry;
	}
	if (ver >= 1)
		(void)br_i32(&br);
	code = br_i16(&br);
	if (!br_ok(&br)) {
		err_set(&e, EXIT_PROTOCOL, "broker %s: malformed Heartbeat "
		    "response", kcl_conn_name(c));
		report(h, v->epoch, KC_HB_FATAL, &e);
		return -1;
	}
	if (!answer(h, v, code))
		return -1;
	return code == KERR_NONE || code == KERR_REBALANCE_IN_PROGRESS ?
	    now + h->s.heartbeat_ms : retry;
}

/*
 * max.poll.interval.ms passed without progress: leave, so that the group
 * moves our partitions to members that can print them, and tell the main
 * thread, which joins again as a new member once it gets going.
 */
static void
leave(struct kc_hb *h, const struct hb_view *v, int64_t idle_ms)
{
	struct err e = { 0 };
	struct kcl_conn *c;
	struct breader br;
	struct buf *b;
	int ver;

	log_warnx("group '%s': no progress for %" PRId64 " ms (standard "
	    "output blocked?), more than max.poll.interval.ms (%" PRId32
	    "): leaving the group", h->s.group, idle_ms, h->s.max_poll_ms);
	report(h, v->epoch, KC_HB_LOST | KC_HB_NEW_MEMBER | KC_HB_POLL_TIMEOUT,
	    NULL);
	if ((c = coordinator(h, &e)) == NULL ||
	    (ver = kcl_version(c, API_LEAVE_GROUP, 0, 3)) < 0)
		return;
	b = kcl_request_begin(c, API_LEAVE_GROUP, (int16_t)ver);
	proto_put_cstr(b, h->s.group);
	if (ver <= 2) {
		proto_put_cstr(b, v->member_id);
	} else {
		buf_put_i32(b, 1);
		proto_put_cstr(b, v->member_id);
		proto_put_cstr(b, NULL);
	}
	if (call(h, c, &br, &e) == 0)
		log_debug("group '%s': left", h->s.group);
}

static void *
run(void *arg)
{
	struct kc_hb *h = arg;
	struct hb_view v = { NULL, -1, 0, 0 };
	uint64_t epoch = 0;
	int64_t due = -1, now, idle;

	while (view(h, &v)) {
		now = clock_mono_ms();
		if (v.epoch != epoch) {
			/* A join just refreshed the session. */
			epoch = v.epoch;
			due = v.generation < 0 ? -1 : now + h->s.heartbeat_ms;
		}
		if (due < 0) {
			nap(h, -1);
			continue;
		}
		idle = now - v.progress_ms;
		if (idle >= h->s.max_poll_ms) {
			leave(h, &v, idle);
			due = -1;
			continue;
		}
		if (now < due) {
			nap(h, (due < v.progress_ms + h->s.max_poll_ms ? due :
			    v.progress_ms + h->s.max_poll_ms) - now);
			continue;
		}
		due = beat(h, &v, now);
	}
	free(v.member_id);
	return NULL;
}

int
kc_hb_start(const struct kc_hb_settings *s, struct kc_hb **out,
    struct err *e)
{
	struct kc_hb *h = xcalloc(1, sizeof(*h));
	sigset_t all, old;
	int rc;

	h->s = *s;
	h->ctl[0] = h->ctl[1] = h->wake[0] = h->wake[1] = -1;
	h->member_id = xstrdup("");
	h->generation = -1;
	h->coordinator = -1;
	buf_init(&h->call.body);
	pthread_mutex_init(&h->mu, NULL);
	if (pipe_nonblock(h->ctl, e) < 0 || pipe_nonblock(h->wake, e) < 0 ||
	    kcl_new(&s->client, &h->k, e) < 0)
		goto fail;
	/* Signals are the main thread's: it checks their flag. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, run, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		err_sys(e, EXIT_OSERR, "cannot start the heartbeat thread");
		goto fail;
	}
	*out = h;
	return 0;
fail:
	kcl_free(h->k);
	h->k = NULL;
	kc_hb_free(h);
	return -1;
}

void
kc_hb_member(struct kc_hb *h, const char *member_id, int32_t generation)
{
	pthread_mutex_lock(&h->mu);
	free(h->member_id);
	h->member_id = xstrdup(member_id);
	h->generation = generation;
	h->epoch++;
	memset(&h->rep, 0, sizeof(h->rep));
	h->progress_ms = clock_mono_ms();
	pthread_mutex_unlock(&h->mu);
	drain(h->wake[0]);
	poke(h->ctl[1]);
}

void
kc_hb_progress(void *arg)
{
	struct kc_hb *h = arg;
	int64_t now = clock_mono_ms();

	pthread_mutex_lock(&h->mu);
	h->progress_ms = now;
	pthread_mutex_unlock(&h->mu);
}

bool
kc_hb_lost(struct kc_hb *h)
{
	bool lost;

	pthread_mutex_lock(&h->mu);
	lost = (h->rep.flags & KC_HB_LOST) != 0;
	pthread_mutex_unlock(&h->mu);
	return lost;
}

int
kc_hb_fd(const struct kc_hb *h)
{
	return h->wake[0];
}

unsigned
kc_hb_take(struct kc_hb *h, struct kc_hb_report *out)
{
	drain(h->wake[0]);
	pthread_mutex_lock(&h->mu);
	*out = h->rep;
	memset(&h->rep, 0, sizeof(h->rep));
	pthread_mutex_unlock(&h->mu);
	return out->flags;
}

void
kc_hb_stop(struct kc_hb *h)
{
	if (h == NULL || h->k == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_mutex_unlock(&h->mu);
	poke(h->ctl[1]);
	pthread_join(h->thread, NULL);
	kcl_free(h->k);
	h->k = NULL;
}

void
kc_hb_free(struct kc_hb *h)
{
	int i;

	if (h == NULL)
		return;
	kc_hb_stop(h);
	for (i = 0; i < 2; i++) {
		if (h->ctl[i] >= 0)
			close(h->ctl[i]);
		if (h->wake[i] >= 0)
			close(h->wake[i]);
	}
	buf_release(&h->call.body);
	free(h->member_id);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
