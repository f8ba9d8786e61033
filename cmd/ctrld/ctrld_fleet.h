/* SPDX-License-Identifier: MIT */
/*
 * What ctrld's host commands share (docs/ssh-management.md): the targets
 * a manifest names (brokers with ssh settings, and the controller when it
 * is managed), their SSH options merged from the manifest, ssh_config and
 * the command line, the pool that runs one forked child per target with
 * at most -j at once, the remote script runner, progress lines prefixed
 * with the target, and the summary table with its exit code.
 */
#ifndef KLOG_CTRLD_FLEET_H
#define KLOG_CTRLD_FLEET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "ctrld.h"
#include "ctrld_ssh.h"
#include "err.h"
#include "manifest.h"

enum fleet_kind { FLEET_BROKER, FLEET_CONTROLLER };

struct fleet_target {
	enum fleet_kind kind;
	int32_t broker_id;		/* -1 for the controller */
	char label[32];			/* "broker 1", "controller" */
	char prefix[320];		/* "[broker 1 127.0.0.11] " */
	bool managed;			/* has ssh settings */
	struct ssh_opts ssh;
	char install_dir[PATH_MAX];	/* remote; relative = under home */
	char data_dir[PATH_MAX];
};

enum fleet_status {
	FLEET_OK,
	FLEET_FAILED,
	FLEET_UNREACHABLE,		/* connect, host key or login failed */
	FLEET_SKIPPED			/* no ssh settings, or nothing to do */
};

/* What a child reports back to the parent (through a pipe). */
struct fleet_result {
	enum fleet_status status;
	char detail[640];
	struct buf json;		/* hosts --json: the target's object */
};

struct fleet {
	const struct ctrld_opts *o;
	struct manifest *m;
	struct fleet_target *targets;	/* selected brokers, then controller */
	size_t ntargets;
	struct fleet_target *controller;	/* in targets, or NULL */
	void *arg;			/* the command's own state, for fleet_fn */
};

/*
 * Load the manifest and build the targets: the -b brokers (or every
 * broker) and, without -b, the controller. Errors: EXIT_CONFIG for the
 * manifest, ssh_config, or no managed target; EXIT_NOUSER for a -b id
 * not in the manifest; a -b broker without ssh settings: EXIT_CONFIG.
 * Installs the signal handlers (sig_stop ends remote commands early).
 * `with_controller` false leaves the controller out (logs of a broker).
 */
int fleet_load(const struct ctrld_opts *o, struct fleet *f,
    bool with_controller, struct err *e);
void fleet_release(struct fleet *f);

/* Work on one connected target; fill r (status and detail). */
typedef void (*fleet_fn)(struct fleet *f, struct fleet_target *t,
    struct ssh_conn *c, struct fleet_result *r);

/*
 * Run fn for ts[0..n) in forked children, at most o->jobs at once, each
 * with its own SSH connection; results[i] gets ts[i]'s outcome (a target
 * that cannot be reached gets FLEET_UNREACHABLE and the reason, an
 * unmanaged one FLEET_SKIPPED). results must hold n zeroed entries;
 * release them with fleet_results_release.
 */
void fleet_run(struct fleet *f, struct fleet_target **ts, size_t n,
    fleet_fn fn, struct fleet_result *results);
void fleet_results_release(struct fleet_result *rs, size_t n);

/* Connect to one target in this process (logs, rolling restart). */
int fleet_connect(const struct fleet *f, const struct fleet_target *t,
    struct ssh_conn **c, struct err *e);

/* A progress line on stderr, "[broker 1 host] text", in one write. */
void fleet_say(const struct fleet_target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Run the remote script: `sh -c SCRIPT klog-remote action args...`
 * (args end with NULL). stderr lines are printed prefixed; stdout lines
 * are appended to `out` (may be NULL). Returns the remote exit status
 * (non-zero ones also set e, to the script's last stderr line), or -1
 * with e when the command could not run or timed out.
 */
int fleet_remote(const struct fleet_target *t, struct ssh_conn *c,
    struct buf *out, int64_t timeout_ms, struct err *e, const char *action,
    ...) __attribute__((sentinel));

/* The same, stdout lines written to `sink` as they arrive (logs -f). */
int fleet_remote_stream(const struct fleet_target *t, struct ssh_conn *c,
    FILE *sink, int64_t timeout_ms, struct err *e, const char *action, ...)
	__attribute__((sentinel));

/* The value of "key=value" in remote output, or NULL; copied into dst. */
const char *fleet_kv(const struct buf *out, const char *key, char *dst,
    size_t size);

/* The table of results on stdout and the "cmd: N targets: ..." line. */
void fleet_summary(const char *cmd, struct fleet_target **ts,
    const struct fleet_result *rs, size_t n);
/* Just the "cmd: N targets: ..." line. */
void fleet_tally(const char *cmd, const struct fleet_result *rs, size_t n);
/* 0 all ok or skipped, 69 none reachable, 1 otherwise. */
int fleet_exit_code(const struct fleet_result *rs, size_t n);

/*
 * Process control (ctrld_procs.c): start or stop one kind of process
 * ("logd", "replicad", "ctrld") on a connected target, bounded by
 * o->timeout_ms, noting what happened in r->detail (r->status becomes
 * FLEET_FAILED on failure, and -1 is returned).
 */
int procs_start(const struct ctrld_opts *o, const struct fleet_target *t,
    struct ssh_conn *c, const char *kind, struct fleet_result *r);
int procs_stop(const struct ctrld_opts *o, const struct fleet_target *t,
    struct ssh_conn *c, const char *kind, struct fleet_result *r);

/* restart --rolling (ctrld_rolling.c): rs parallel to f->targets. */
void ctrld_rolling_restart(struct fleet *f, struct fleet_result *rs);

#endif
