/* SPDX-License-Identifier: MIT */
/*
 * `ctrld hosts`: per target, whether its host is reachable over SSH, the
 * release installed (and the others kept), the programs' version, which
 * of its processes run, and its data directory's size and free space; a
 * table, or with --json one document. Exit 0 when every host answered,
 * 1 when some did not, 69 when none did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld_fleet.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "banned.h"

#define JSON_VERSION 1

static const char *const broker_kinds[] = { "logd", "replicad", NULL };
static const char *const controller_kinds[] = { "ctrld", NULL };

static const char *const *
kinds_of(const struct fleet_target *t)
{
	return t->kind == FLEET_CONTROLLER ? controller_kinds : broker_kinds;
}

/* "12.3M": sizes in KiB from du/df, for the table. */
static void
human_kb(const char *kb, char *dst, size_t size)
{
	double v = strtod(kb, NULL);
	const char *units = "KMGTP";
	int u = 0;

	while (v >= 1024.0 && units[u + 1] != '\0') {
		v /= 1024.0;
		u++;
	}
	snprintf(dst, size, "%.1f%c", v, units[u]);
}

static void
json_kb(struct json_obj *o, const char *key, const struct buf *out,
    const char *name)
{
	char v[32];

	if (fleet_kv(out, name, v, sizeof(v)) == NULL)
		json_obj_null(o, key);
	else
		json_obj_i64(o, key, strtoll(v, NULL, 10) * 1024);
}

static void
json_kv_str(struct json_obj *o, const char *key, const struct buf *out,
    const char *name)
{
	char v[256];

	if (fleet_kv(out, name, v, sizeof(v)) == NULL || strcmp(v, "-") == 0)
		json_obj_null(o, key);
	else
		json_obj_cstr(o, key, v);
}

static void
json_releases(struct json_obj *o, const struct buf *out)
{
	char v[2048], *p, *save = NULL;
	struct json_arr a;

	json_obj_key(o, "releases");
	json_arr_begin(&a, o->b);
	if (fleet_kv(out, "releases", v, sizeof(v)) != NULL)
		for (p = strtok_r(v, " ", &save); p != NULL;
		    p = strtok_r(NULL, " ", &save)) {
			json_arr_next(&a);
			json_put_cstr(o->b, p);
		}
	json_arr_end(&a);
}

static void
json_head(struct json_obj *o, const struct fleet_target *t)
{
	json_obj_cstr(o, "target", t->label);
	json_obj_i64_or_null(o, "broker_id", t->broker_id);
	json_obj_cstr(o, "host", t->ssh.host);
}

/* The target's JSON object and its table row (tab-separated in detail). */
static void
describe(const struct fleet_target *t, struct ssh_conn *c,
    const struct buf *out, struct fleet_result *r)
{
	const char *const *k;
	char v[256], procs[256] = "", release[256], data[32] = "-",
	    avail[32] = "-";
	struct json_obj o, p;
	size_t len = 0;

	json_obj_begin(&o, &r->json);
	json_head(&o, t);
	json_obj_cstr(&o, "ssh", ssh_conn_name(c));
	json_obj_bool(&o, "reachable", true);
	json_obj_null(&o, "error");
	json_obj_cstr(&o, "install_dir", t->install_dir);
	json_kv_str(&o, "release", out, "release");
	json_releases(&o, out);
	json_kv_str(&o, "version", out, "version");
	json_obj_key(&o, "processes");
	json_obj_begin(&p, o.b);
	for (k = kinds_of(t); *k != NULL; k++) {
		bool up = fleet_kv(out, *k, v, sizeof(v)) != NULL &&
		    strcmp(v, "stopped") != 0;

		if (up)
			json_obj_i64(&p, *k, strtoll(v, NULL, 10));
		else
			json_obj_null(&p, *k);
		len += (size_t)snprintf(procs + len, sizeof(procs) - len,
		    "%s%s %s", len ? ", " : "", *k, up ? v : "stopped");
	}
	json_obj_end(&p);
	json_obj_cstr(&o, "data_dir", t->data_dir);
	json_obj_bool(&o, "data_dir_exists", fleet_kv(out, "data_dir", v,
	    sizeof(v)) != NULL && strcmp(v, "present") == 0);
	json_kb(&o, "data_bytes", out, "data_kb");
	json_kb(&o, "free_bytes", out, "avail_kb");
	json_obj_end(&o);

	if (fleet_kv(out, "release", release, sizeof(release)) == NULL)
		snprintf(release, sizeof(release), "-");
	if (fleet_kv(out, "data_kb", v, sizeof(v)) != NULL)
		human_kb(v, data, sizeof(data));
	if (fleet_kv(out, "avail_kb", v, sizeof(v)) != NULL)
		human_kb(v, avail, sizeof(avail));
	snprintf(r->detail, sizeof(r->detail), "%s\t%s\t%s\t%s", release,
	    procs, data, avail);
}

static void
probe_target(struct fleet *f, struct fleet_target *t, struct ssh_conn *c,
    struct fleet_result *r)
{
	const char *const *k = kinds_of(t);
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	int rc;

	rc = fleet_remote(t, c, &out, f->o->timeout_ms, &e, "probe",
	    t->install_dir, t->data_dir, k[0], k[1], (char *)NULL);
	if (rc != 0) {
		r->status = FLEET_FAILED;
		snprintf(r->detail, sizeof(r->detail), "%s", e.msg);
	} else
		describe(t, c, &out, r);
	buf_release(&out);
}

/* A target without a probe: unreachable, failed or skipped. */
static void
json_missing(struct buf *b, const struct fleet_target *t,
    const struct fleet_result *r)
{
	struct json_obj o;

	json_obj_begin(&o, b);
	json_head(&o, t);
	json_obj_bool(&o, "reachable", r->status == FLEET_FAILED);
	json_obj_cstr(&o, "error", r->detail);
	json_obj_end(&o);
}

static void
print_json(struct fleet *f, struct fleet_target **ts,
    const struct fleet_result *rs, size_t n)
{
	struct buf b = BUF_INIT;
	struct json_obj top, sum;
	struct json_arr a;
	size_t i, reachable = 0;

	json_obj_begin(&top, &b);
	json_obj_i64(&top, "version", JSON_VERSION);
	json_obj_cstr(&top, "manifest", f->m->path);
	json_obj_key(&top, "targets");
	json_arr_begin(&a, &b);
	for (i = 0; i < n; i++) {
		json_arr_next(&a);
		if (rs[i].status == FLEET_OK) {
			buf_put(&b, rs[i].json.data, rs[i].json.len);
			reachable++;
		} else {
			reachable += rs[i].status == FLEET_FAILED;
			json_missing(&b, ts[i], &rs[i]);
		}
	}
	json_arr_end(&a);
	json_obj_key(&top, "summary");
	json_obj_begin(&sum, &b);
	json_obj_i64(&sum, "targets", (int64_t)n);
	json_obj_i64(&sum, "reachable", (int64_t)reachable);
	json_obj_i64(&sum, "unreachable", (int64_t)(n - reachable));
	json_obj_end(&sum);
	json_obj_end(&top);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	buf_release(&b);
}

static void
print_table(struct fleet_target **ts, const struct fleet_result *rs,
    size_t n)
{
	static const char *const col[] = { "RELEASE", "PROCESSES", "DATA",
		"FREE" };
	size_t i;
	int hw = 4;

	for (i = 0; i < n; i++)
		if ((int)strlen(ts[i]->ssh.host) > hw)
			hw = (int)strlen(ts[i]->ssh.host);
	printf("%-12s %-*s %-9s %-20s %-30s %-8s %s\n", "TARGET", hw, "HOST",
	    "REACHABLE", col[0], col[1], col[2], col[3]);
	for (i = 0; i < n; i++) {
		char d[sizeof(rs[i].detail)], *f[4] = { NULL }, *save = NULL;
		int j;

		if (rs[i].status != FLEET_OK) {
			printf("%-12s %-*s %-9s %s\n", ts[i]->label, hw,
			    ts[i]->ssh.host, rs[i].status == FLEET_FAILED ?
			    "yes" : rs[i].status == FLEET_SKIPPED ? "-" : "no",
			    rs[i].detail);
			continue;
		}
		memcpy(d, rs[i].detail, sizeof(d));
		for (j = 0; j < 4; j++)
			f[j] = strtok_r(j ? NULL : d, "\t", &save);
		printf("%-12s %-*s %-9s %-20s %-30s %-8s %s\n", ts[i]->label,
		    hw, ts[i]->ssh.host, "yes", f[0] ? f[0] : "-",
		    f[1] ? f[1] : "-", f[2] ? f[2] : "-", f[3] ? f[3] : "-");
	}
}

int
ctrld_hosts(const struct ctrld_opts *o)
{
	struct fleet f;
	struct fleet_target **ts;
	struct fleet_result *rs;
	struct err e = { 0 };
	size_t i;
	int rc;

	if (fleet_load(o, &f, true, &e) < 0) {
		log_errorx("%s", e.msg);
		fleet_release(&f);
		return e.code ? e.code : EXIT_SOFTWARE;
	}
	ts = xcalloc(f.ntargets, sizeof(*ts));
	rs = xcalloc(f.ntargets, sizeof(*rs));
	for (i = 0; i < f.ntargets; i++)
		ts[i] = &f.targets[i];
	fleet_run(&f, ts, f.ntargets, probe_target, rs);
	if (o->json)
		print_json(&f, ts, rs, f.ntargets);
	else {
		print_table(ts, rs, f.ntargets);
		fleet_tally("hosts", rs, f.ntargets);
	}
	rc = fleet_exit_code(rs, f.ntargets);
	if (fflush(stdout) != 0)
		rc = EXIT_IOERR;
	fleet_results_release(rs, f.ntargets);
	free(rs);
	free(ts);
	fleet_release(&f);
	ssh_global_exit();
	return rc;
}
