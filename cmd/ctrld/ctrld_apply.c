/* SPDX-License-Identifier: MIT */
/*
 * `ctrld apply`: sends the manifest's topics to the controller
 * (ApplyTopics) and prints what it would do (a dry run, the default) or
 * did (--execute): create, add-partitions, set-config, unset-config,
 * unchanged, not-in-manifest (never deleted) and error (shrinking
 * partitions, changing the replication factor). Exit 1 when any topic
 * was refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctrld.h"
#include "json.h"
#include "log.h"
#include "banned.h"

static bool
is_change(const struct ctl_apply_action *a)
{
	return strcmp(a->action, "unchanged") != 0 &&
	    strcmp(a->action, "not-in-manifest") != 0 &&
	    strcmp(a->action, "error") != 0;
}

static void
count(const struct ctl_apply_resp *r, int32_t *changes, int32_t *errors)
{
	int32_t i;

	*changes = *errors = 0;
	for (i = 0; i < r->nactions; i++) {
		*changes += is_change(&r->actions[i]);
		*errors += strcmp(r->actions[i].action, "error") == 0;
	}
}

static void
print_text(const struct ctl_apply_resp *r, bool execute)
{
	int32_t i, changes, errors;
	int w = 5;

	for (i = 0; i < r->nactions; i++)
		if ((int)strlen(r->actions[i].topic) > w)
			w = (int)strlen(r->actions[i].topic);
	printf("%-*s %-15s %s\n", w, "TOPIC", "ACTION", "DETAIL");
	for (i = 0; i < r->nactions; i++)
		printf("%-*s %-15s %s\n", w, r->actions[i].topic,
		    r->actions[i].action, r->actions[i].detail);
	count(r, &changes, &errors);
	if (execute)
		printf("\napplied %" PRId32 " changes, %" PRId32 " refused\n",
		    changes, errors);
	else
		printf("\ndry run: %" PRId32 " changes, %" PRId32 " refused "
		    "(apply them with --execute)\n", changes, errors);
}

static void
print_json(const char *addr, const struct ctl_apply_resp *r, bool execute)
{
	struct buf b = BUF_INIT;
	struct json_obj top, o;
	struct json_arr a;
	int32_t i, changes, errors;

	count(r, &changes, &errors);
	json_obj_begin(&top, &b);
	json_obj_i64(&top, "version", CTRLD_JSON_VERSION);
	json_obj_cstr(&top, "controller", addr);
	json_obj_bool(&top, "dry_run", !execute);
	json_obj_key(&top, "actions");
	json_arr_begin(&a, &b);
	for (i = 0; i < r->nactions; i++) {
		json_arr_next(&a);
		json_obj_begin(&o, &b);
		json_obj_cstr(&o, "topic", r->actions[i].topic);
		json_obj_cstr(&o, "action", r->actions[i].action);
		json_obj_cstr(&o, "detail", r->actions[i].detail);
		json_obj_end(&o);
	}
	json_arr_end(&a);
	json_obj_i64(&top, "changes", changes);
	json_obj_i64(&top, "refused", errors);
	json_obj_end(&top);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	buf_release(&b);
}

int
ctrld_apply(const struct ctrld_opts *o)
{
	struct buf body = BUF_INIT, resp = BUF_INIT;
	struct ctl_apply_req q = { 0 };
	struct ctl_apply_resp r;
	struct manifest *m = NULL;
	char addr[NET_ADDR_MAX + 16];
	struct breader br;
	struct err e = { 0 };
	int32_t changes, errors;
	int rc;

	if (ctrld_client_target(o, &m, addr, sizeof(addr), &e) < 0) {
		log_errorx("%s", e.msg);
		return e.code ? e.code : EXIT_CONFIG;
	}
	ctrld_manifest_request(m, !o->execute, &q);
	ctlproto_write_apply_req(&body, &q);
	if (ctrld_call(addr, API_KLOG_APPLY_TOPICS, &body, o->timeout_ms, &resp,
	    &e) < 0) {
		log_errorx("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
		goto out;
	}
	br_init(&br, resp.data, resp.len);
	if (ctlproto_read_apply_resp(&br, &r, &e) < 0) {
		log_errorx("controller %s: %s", addr, e.msg);
		rc = EXIT_PROTOCOL;
		goto out;
	}
	if (o->json)
		print_json(addr, &r, o->execute);
	else
		print_text(&r, o->execute);
	count(&r, &changes, &errors);
	rc = errors > 0 ? EXIT_FAIL : EXIT_OK;
	if (fflush(stdout) != 0)
		rc = EXIT_IOERR;
	ctlproto_release_apply_resp(&r);
out:
	ctlproto_release_apply_req(&q);
	buf_release(&body);
	buf_release(&resp);
	manifest_free(m);
	return rc;
}
