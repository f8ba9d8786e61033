/* SPDX-License-Identifier: MIT */
/*
 * `ctrld up`, `down` and `restart`: start and stop the controller, logd
 * and replicad on the manifest's hosts through the remote script
 * (docs/ssh-management.md). Order matters: up starts the controller
 * before the brokers (they register with it), down stops the brokers
 * first (logd's controlled shutdown asks the controller to move its
 * leaderships). `restart --rolling` takes one broker at a time and waits
 * between them until the controller reports the cluster healthy again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrld_fleet.h"
#include "log.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

#define POLL_MS 500

static void
seconds_arg(int64_t ms, char *dst, size_t size)
{
	snprintf(dst, size, "%" PRId64, ms < 1000 ? 1 : (ms + 999) / 1000);
}

static const char *
id_arg(const struct fleet_target *t, char *dst, size_t size)
{
	if (t->kind == FLEET_CONTROLLER)
		return "-";
	snprintf(dst, size, "%d", (int)t->broker_id);
	return dst;
}

/* Append "logd pid 42 started" to the detail ("" pid: no pid). */
static void
note(struct fleet_result *r, const char *kind, const char *pid,
    const char *what)
{
	size_t len = strlen(r->detail);

	snprintf(r->detail + len, sizeof(r->detail) - len, "%s%s%s%s %s",
	    len ? ", " : "", kind, pid[0] ? " pid " : "", pid, what);
}

static void
failed(struct fleet_result *r, const struct err *e)
{
	size_t len = strlen(r->detail);

	r->status = FLEET_FAILED;
	snprintf(r->detail + len, sizeof(r->detail) - len, "%s%s",
	    len ? "; " : "", e->msg);
}

int
procs_start(const struct ctrld_opts *o, const struct fleet_target *t,
    struct ssh_conn *c, const char *kind, struct fleet_result *r)
{
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	char secs[24], id[24], pid[24];

	seconds_arg(o->timeout_ms, secs, sizeof(secs));
	/* The script's own wait is bounded by secs; leave it room. */
	if (fleet_remote(t, c, &out, o->timeout_ms + 30000, &e, "start", kind,
	    t->install_dir, t->data_dir, id_arg(t, id, sizeof(id)), secs,
	    (char *)NULL) != 0) {
		failed(r, &e);
		buf_release(&out);
		return -1;
	}
	if (fleet_kv(&out, "started", pid, sizeof(pid)) != NULL) {
		note(r, kind, pid, "started");
		fleet_say(t, "started %s, pid %s", kind, pid);
	} else if (fleet_kv(&out, "already", pid, sizeof(pid)) != NULL) {
		note(r, kind, pid, "already running");
		fleet_say(t, "%s already running, pid %s", kind, pid);
	}
	buf_release(&out);
	return 0;
}

int
procs_stop(const struct ctrld_opts *o, const struct fleet_target *t,
    struct ssh_conn *c, const char *kind, struct fleet_result *r)
{
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	char secs[24], pid[24];

	seconds_arg(o->timeout_ms, secs, sizeof(secs));
	fleet_say(t, "stopping %s", kind);
	if (fleet_remote(t, c, &out, o->timeout_ms + 30000, &e, "stop", kind,
	    t->data_dir, secs, o->force ? "1" : "0", (char *)NULL) != 0) {
		failed(r, &e);
		buf_release(&out);
		return -1;
	}
	if (fleet_kv(&out, "killed", pid, sizeof(pid)) != NULL) {
		note(r, kind, pid, "killed (SIGKILL)");
		fleet_say(t, "%s pid %s outlived the timeout: killed", kind,
		    pid);
	} else if (fleet_kv(&out, "stopped", pid, sizeof(pid)) != NULL &&
	    strcmp(pid, "none") != 0) {
		note(r, kind, pid, "stopped");
		fleet_say(t, "stopped %s, pid %s", kind, pid);
	} else
		note(r, kind, "", "not running");
	buf_release(&out);
	return 0;
}

static void
up_target(struct fleet *f, struct fleet_target *t, struct ssh_conn *c,
    struct fleet_result *r)
{
	if (t->kind == FLEET_CONTROLLER) {
		procs_start(f->o, t, c, "ctrld", r);
		return;
	}
	if (procs_start(f->o, t, c, "logd", r) == 0)
		procs_start(f->o, t, c, "replicad", r);
}

/* replicad first: it would only fetch from a logd that is leaving. */
static void
down_target(struct fleet *f, struct fleet_target *t, struct ssh_conn *c,
    struct fleet_result *r)
{
	if (t->kind == FLEET_CONTROLLER) {
		procs_stop(f->o, t, c, "ctrld", r);
		return;
	}
	if (procs_stop(f->o, t, c, "replicad", r) == 0)
		procs_stop(f->o, t, c, "logd", r);
}

static void
restart_target(struct fleet *f, struct fleet_target *t, struct ssh_conn *c,
    struct fleet_result *r)
{
	down_target(f, t, c, r);
	if (r->status == FLEET_OK)
		up_target(f, t, c, r);
}

/* The brokers (or the controller) among the targets, in manifest order. */
static size_t
pick(struct fleet *f, enum fleet_kind kind, const struct fleet_result *all,
    struct fleet_target **ts, size_t *idx)
{
	size_t i, n = 0;

	for (i = 0; i < f->ntargets; i++)
		if (f->targets[i].kind == kind &&
		    (all[i].status == FLEET_OK ||
		    all[i].status == FLEET_SKIPPED)) {
			idx[n] = i;
			ts[n++] = &f->targets[i];
		}
	return n;
}

/*
 * Run one phase over one kind of target, merging into all results; a
 * target that failed an earlier phase sits the later ones out.
 */
static void
phase(struct fleet *f, enum fleet_kind kind, fleet_fn fn,
    struct fleet_result *all)
{
	struct fleet_target **ts = xcalloc(f->ntargets, sizeof(*ts));
	struct fleet_result *rs = xcalloc(f->ntargets, sizeof(*rs));
	size_t *idx = xcalloc(f->ntargets, sizeof(*idx));
	size_t i, n = pick(f, kind, all, ts, idx);

	fleet_run(f, ts, n, fn, rs);
	for (i = 0; i < n; i++) {
		struct fleet_result *dst = &all[idx[i]];
		size_t len = strlen(dst->detail);

		if (dst->status == FLEET_OK || dst->status == FLEET_SKIPPED)
			dst->status = rs[i].status;
		snprintf(dst->detail + len, sizeof(dst->detail) - len, "%s%s",
		    len && rs[i].detail[0] ? "; " : "", rs[i].detail);
	}
	fleet_results_release(rs, n);
	free(rs);
	free(ts);
	free(idx);
}

static int
finish(struct fleet *f, const char *cmd, struct fleet_result *rs)
{
	struct fleet_target **ts = xcalloc(f->ntargets, sizeof(*ts));
	size_t i;
	int rc;

	for (i = 0; i < f->ntargets; i++)
		ts[i] = &f->targets[i];
	fleet_summary(cmd, ts, rs, f->ntargets);
	rc = fleet_exit_code(rs, f->ntargets);
	fleet_results_release(rs, f->ntargets);
	free(ts);
	return rc;
}

int
ctrld_procs(const struct ctrld_opts *o)
{
	struct fleet f;
	struct fleet_result *rs;
	struct err e = { 0 };
	int rc;

	if (fleet_load(o, &f, true, &e) < 0) {
		log_errorx("%s", e.msg);
		fleet_release(&f);
		return e.code ? e.code : EXIT_SOFTWARE;
	}
	rs = xcalloc(f.ntargets, sizeof(*rs));
	switch (o->cmd) {
	case CTRLD_UP:
		phase(&f, FLEET_CONTROLLER, up_target, rs);
		phase(&f, FLEET_BROKER, up_target, rs);
		rc = finish(&f, "up", rs);
		break;
	case CTRLD_DOWN:
		phase(&f, FLEET_BROKER, down_target, rs);
		phase(&f, FLEET_CONTROLLER, down_target, rs);
		rc = finish(&f, "down", rs);
		break;
	default:
		if (o->rolling) {
			ctrld_rolling_restart(&f, rs);
			rc = finish(&f, "restart --rolling", rs);
			break;
		}
		phase(&f, FLEET_BROKER, down_target, rs);
		phase(&f, FLEET_CONTROLLER, restart_target, rs);
		phase(&f, FLEET_BROKER, up_target, rs);
		rc = finish(&f, "restart", rs);
		break;
	}
	free(rs);
	fleet_release(&f);
	ssh_global_exit();
	return rc;
}
