/* SPDX-License-Identifier: MIT */
/*
 * `ctrld restart --rolling`: restart one broker at a time and, before the
 * next, wait until the controller says the cluster is whole again: the
 * restarted broker has sent a heartbeat since it came back, no broker is
 * down, no partition is under-replicated or offline, and (when the
 * controller rebalances leaders) every partition is led by its preferred
 * replica. The cluster must be healthy before the first broker too, so a
 * rollout never takes down the last in-sync copy of anything. The
 * controller, when it is a target, goes last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrld_fleet.h"
#include "log.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

#define POLL_MS 500
#define PROGRESS_MS 5000

struct health {
	bool ok;
	char why[600];
};

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool
broker_alive(const struct cluster_state *s, int32_t id)
{
	const struct cluster_broker *b = cluster_state_broker(s, id);

	return b != NULL && b->alive;
}

/*
 * Is the cluster whole? `restarted` (or -1) must have been heard from in
 * the last `since_ms`.
 */
static void
assess(const struct ctl_describe_resp *r, bool want_preferred,
    int32_t restarted, int64_t since_ms, struct health *h)
{
	const struct cluster_state *s = &r->state;
	int32_t i, j, down = 0, urp = 0, offline = 0, moved = 0;
	int64_t age;

	for (i = 0; i < s->nbrokers; i++)
		down += !s->brokers[i].alive;
	for (i = 0; i < s->ntopics; i++)
		for (j = 0; j < s->topics[i].npartitions; j++) {
			const struct cluster_partition *p =
			    &s->topics[i].partitions[j];
			int32_t pref = p->nreplicas > 0 ? p->replicas[0] : -1;

			urp += p->nisr < p->nreplicas;
			offline += p->leader < 0;
			moved += want_preferred && pref >= 0 &&
			    p->leader != pref && broker_alive(s, pref) &&
			    cluster_ids_contain(p->isr, p->nisr, pref);
		}
	age = restarted >= 0 ? ctl_describe_heartbeat_age(r, restarted) : 0;
	h->ok = down == 0 && urp == 0 && offline == 0 && moved == 0 &&
	    age >= 0 && age <= since_ms;
	snprintf(h->why, sizeof(h->why), "%" PRId32 " broker%s down, %" PRId32
	    " partition%s under-replicated, %" PRId32 " offline, %" PRId32
	    " not on the preferred leader%s", down, down == 1 ? "" : "s", urp,
	    urp == 1 ? "" : "s", offline, moved,
	    restarted >= 0 && (age < 0 || age > since_ms) ?
	    ", no heartbeat yet from the restarted broker" : "");
}

static int
describe(const char *addr, int64_t timeout_ms, struct ctl_describe_resp *r,
    struct err *e)
{
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct breader br;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ctrld_call(addr, API_KLOG_DESCRIBE_CLUSTER, &body, timeout_ms,
	    &resp, e);
	if (rc == 0) {
		br_init(&br, resp.data, resp.len);
		rc = ctlproto_read_describe_resp(&br, r, e);
	}
	buf_release(&resp);
	return rc;
}

/* Poll the controller until healthy, `wait_ms` at most. */
static int
wait_healthy(const struct fleet *f, const struct fleet_target *t,
    const char *addr, int32_t restarted, int64_t t0, struct err *e)
{
	int64_t wait_ms = f->o->wait_ms ? f->o->wait_ms : CTRLD_ROLLING_WAIT_MS;
	int64_t deadline = clock_mono_ms() + wait_ms, last_say = 0;
	struct health h = { false, "the controller did not answer" };

	for (;;) {
		struct ctl_describe_resp r;
		struct err ce = { 0 };
		int64_t now = clock_mono_ms();

		if (describe(addr, 5000, &r, &ce) == 0) {
			assess(&r, f->m->controller.auto_leader_rebalance,
			    restarted, now - t0, &h);
			ctlproto_release_describe_resp(&r);
			if (h.ok)
				return 0;
		} else
			snprintf(h.why, sizeof(h.why), "%s", ce.msg);
		if (sig_stop)
			return err_set(e, EXIT_FAIL, "interrupted while "
			    "waiting for the cluster: %s", h.why);
		if (now >= deadline)
			return err_set(e, EXIT_FAIL, "the cluster is not healthy "
			    "after %" PRId64 "s: %s", wait_ms / 1000, h.why);
		if (now - last_say >= PROGRESS_MS) {
			fleet_say(t, "waiting for the cluster: %s", h.why);
			last_say = now;
		}
		sleep_ms(POLL_MS);
	}
}

/* Stop and start one target over one connection, then wait. */
static int
restart_one(struct fleet *f, struct fleet_target *t, const char *addr,
    struct fleet_result *r)
{
	struct ssh_conn *c = NULL;
	struct err e = { 0 };
	int64_t t0;
	bool ok;

	if (fleet_connect(f, t, &c, &e) < 0) {
		r->status = FLEET_UNREACHABLE;
		snprintf(r->detail, sizeof(r->detail), "%s", e.msg);
		fleet_say(t, "%s", e.msg);
		return -1;
	}
	t0 = clock_mono_ms();
	if (t->kind == FLEET_CONTROLLER)
		ok = procs_stop(f->o, t, c, "ctrld", r) == 0 &&
		    procs_start(f->o, t, c, "ctrld", r) == 0;
	else
		ok = procs_stop(f->o, t, c, "replicad", r) == 0 &&
		    procs_stop(f->o, t, c, "logd", r) == 0 &&
		    procs_start(f->o, t, c, "logd", r) == 0 &&
		    procs_start(f->o, t, c, "replicad", r) == 0;
	ssh_close(c);
	if (!ok)
		return -1;
	if (wait_healthy(f, t, addr, t->broker_id, t0, &e) < 0) {
		size_t len = strlen(r->detail);

		r->status = FLEET_FAILED;
		snprintf(r->detail + len, sizeof(r->detail) - len, "; %s",
		    e.msg);
		fleet_say(t, "%s", e.msg);
		return -1;
	}
	fleet_say(t, "the cluster is healthy again after %.1fs",
	    (double)(clock_mono_ms() - t0) / 1000.0);
	return 0;
}

void
ctrld_rolling_restart(struct fleet *f, struct fleet_result *rs)
{
	struct fleet_target *stopped_at = NULL;
	struct manifest *m = NULL;
	struct err e = { 0 };
	char addr[NET_ADDR_MAX + 16];
	size_t i, pass;

	if (ctrld_client_target(f->o, &m, addr, sizeof(addr), &e) < 0 ||
	    wait_healthy(f, &f->targets[0], addr, -1, clock_mono_ms(), &e) < 0) {
		log_errorx("not starting the rollout: %s", e.msg);
		for (i = 0; i < f->ntargets; i++) {
			rs[i].status = FLEET_FAILED;
			snprintf(rs[i].detail, sizeof(rs[i].detail),
			    "not restarted: %s", e.msg);
		}
		manifest_free(m);
		return;
	}
	manifest_free(m);
	/* Brokers first, then the controller. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < f->ntargets; i++) {
			struct fleet_target *t = &f->targets[i];

			if ((t->kind == FLEET_CONTROLLER) != (pass == 1))
				continue;
			if (!t->managed) {
				rs[i].status = FLEET_SKIPPED;
				snprintf(rs[i].detail, sizeof(rs[i].detail),
				    "no ssh settings in the manifest");
			} else if (stopped_at != NULL) {
				rs[i].status = FLEET_SKIPPED;
				snprintf(rs[i].detail, sizeof(rs[i].detail),
				    "not restarted: the rollout stopped at %s",
				    stopped_at->label);
			} else if (restart_one(f, t, addr, &rs[i]) < 0)
				stopped_at = t;
		}
}
