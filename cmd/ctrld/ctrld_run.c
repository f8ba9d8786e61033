/* SPDX-License-Identifier: MIT */
/*
 * `ctrld run`: load the manifest, lock the controller's data directory,
 * replay the metadata log (or bootstrap the manifest's topics into an
 * empty one), start a new controller epoch, listen, and serve until
 * SIGTERM or SIGINT. Brokers keep their last known state while ctrld is
 * down; after a restart every broker gets one session timeout to
 * heartbeat before it is declared dead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrld.h"
#include "log.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

/* Say at start-up when the manifest asks for what the log lacks. */
static void
hint_manifest_changes(struct ctrld_state *s)
{
	struct ctl_apply_req q;
	struct ctl_apply_resp r;
	int32_t i, n = 0;

	ctrld_manifest_request(s->m, true, &q);
	cst_apply(s, &q, &r);
	for (i = 0; i < r.nactions; i++)
		n += strcmp(r.actions[i].action, "unchanged") != 0 &&
		    strcmp(r.actions[i].action, "not-in-manifest") != 0;
	if (n > 0)
		log_info("the manifest asks for %" PRId32 " topic changes the "
		    "metadata log does not have; `ctrld apply` lists them", n);
	ctlproto_release_apply_req(&q);
	ctlproto_release_apply_resp(&r);
}

static int
load_state(struct ctrld *c, const char *dir, struct err *e)
{
	size_t n = 0;

	cst_init(&c->st, c->m, clock_mono_ms());
	if (mlog_open(&c->log, dir, c->o->snapshot_min, e) < 0 ||
	    mlog_replay(&c->log, cst_replay_record, &c->st, &n, e) < 0)
		return -1;
	if (n == 0) {
		cst_bootstrap(&c->st);
	} else {
		log_info("replayed %zu records from '%s': %" PRId32 " topics, "
		    "controller epoch %" PRId32, n, c->log.path,
		    c->st.cs.ntopics, c->st.controller_epoch);
		hint_manifest_changes(&c->st);
	}
	cst_start_epoch(&c->st);
	ctrld_commit(c);
	c->changed = false;
	if (mlog_wants_rewrite(&c->log)) {
		struct buf snap = BUF_INIT;
		int rc;

		cst_snapshot(&c->st, &snap);
		rc = mlog_rewrite(&c->log, &snap, e);
		buf_release(&snap);
		return rc;
	}
	return 0;
}

static int
announce(struct ctrld *c, struct err *e)
{
	if (net_local_addr(c->listen_fd, c->bound, sizeof(c->bound), e) < 0)
		return -1;
	if (c->o->addr_file != NULL) {
		char line[NET_ADDR_MAX + 1];
		size_t n = strlen(c->bound);

		memcpy(line, c->bound, n);
		line[n++] = '\n';
		if (file_write_atomic(c->o->addr_file, line, n, e) < 0)
			return -1;
	}
	log_info("listening on %s: cluster %s, controller epoch %" PRId32
	    ", %" PRId32 " brokers, %" PRId32 " topics", c->bound,
	    c->st.cs.cluster_id, c->st.controller_epoch, c->st.cs.nbrokers,
	    c->st.cs.ntopics);
	if (c->o->ready_fd >= 0) {
		(void)!write(c->o->ready_fd, "\n", 1);
		close(c->o->ready_fd);
	}
	return 0;
}

static int
listen_addr(const struct ctrld *c, struct net_addr *a, struct err *e)
{
	char dflt[NET_ADDR_MAX];

	if (c->o->listen != NULL)
		return net_addr_parse(c->o->listen, 0, a, e);
	snprintf(dflt, sizeof(dflt), "%s:%d", c->m->controller.host,
	    c->m->controller.port);
	return net_addr_parse(dflt, 0, a, e);
}

static int
serve(struct ctrld *c, struct err *e)
{
	const char *dir = c->o->data_dir ? c->o->data_dir :
	    c->m->controller.data_dir;
	struct net_addr a;

	if (listen_addr(c, &a, e) < 0)
		return -1;
	if (c->o->check_only) {
		printf("configuration OK\n");
		return 0;
	}
	log_init(c->o->verbosity, true, c->o->log_timestamps);
	/* Topic changes go through `ctrld apply`, not a reload. */
	sig_install(false);
	if (load_state(c, dir, e) < 0)
		return -1;
	c->listen_fd = net_listen_tcp(&a, 128, e);
	if (c->listen_fd < 0 || announce(c, e) < 0)
		return -1;
	if (ctrld_serve(c, &sig_stop, e) < 0)
		return -1;
	log_info("stopped");
	return 0;
}

int
ctrld_run(const struct ctrld_opts *o)
{
	struct ctrld c;
	struct err e = { 0 };
	int rc = EXIT_OK;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.epfd = c.listen_fd = -1;
	c.log.fd = c.log.lock_fd = -1;
	if (manifest_load(o->manifest_path, &c.m, &e) < 0) {
		log_errorx("%s", e.msg);
		return e.code ? e.code : EXIT_CONFIG;
	}
	if (serve(&c, &e) < 0) {
		log_errorx("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
	}
	if (c.listen_fd >= 0)
		close(c.listen_fd);
	mlog_close(&c.log);
	if (c.st.rt != NULL)
		cst_release(&c.st);
	manifest_free(c.m);
	return rc;
}
