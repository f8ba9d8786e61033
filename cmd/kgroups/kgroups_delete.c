/* SPDX-License-Identifier: MIT */
/*
 * kgroups delete-offsets: delete a group's committed offsets for the
 * partitions -t/-A name, with OffsetDelete. The coordinator decides per
 * partition, as Kafka's does: an Empty group loses them all (and, left
 * without any, the group itself goes); while the group has members,
 * topics they subscribe to keep theirs (GROUP_SUBSCRIBED_TO_TOPIC). Every
 * partition gets a line; one kept makes the exit status 1, with a message
 * naming it on stderr.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

static const char *
result_name(const struct kg_part *p)
{
	return p->error == KERR_NONE ? "deleted" : kg_kerr_name(p->error);
}

static void
print_json(struct kg *kg, const struct kg_group *g, const struct kg_part *v,
    size_t n, size_t failed)
{
	struct buf *b = &kg->out;
	struct json_obj top, po;
	struct json_arr pa;
	size_t i;

	json_obj_begin(&top, b);
	json_obj_i64(&top, "version", KG_JSON_VERSION);
	json_obj_cstr(&top, "group", g->id);
	json_obj_cstr(&top, "state", g->state);
	json_obj_i64(&top, "deleted", (int64_t)(n - failed));
	json_obj_i64(&top, "failed", (int64_t)failed);
	json_obj_key(&top, "partitions");
	json_arr_begin(&pa, b);
	for (i = 0; i < n; i++) {
		json_arr_next(&pa);
		json_obj_begin(&po, b);
		json_obj_cstr(&po, "topic", v[i].topic);
		json_obj_i64(&po, "partition", v[i].partition);
		json_obj_bool(&po, "deleted", v[i].error == KERR_NONE);
		if (v[i].error == KERR_NONE)
			json_obj_null(&po, "error");
		else
			json_obj_cstr(&po, "error", kg_kerr_name(v[i].error));
		json_obj_end(&po);
	}
	json_arr_end(&pa);
	json_obj_end(&top);
	buf_putc(b, '\n');
}

static void
print_table(struct kg *kg, const struct kg_part *v, size_t n)
{
	static const char *const head[] = { "TOPIC", "PARTITION", "RESULT" };
	char ***rows = xcalloc(n + 1, sizeof(*rows));
	size_t i, j;

	rows[0] = xcalloc(3, sizeof(char *));
	for (j = 0; j < 3; j++)
		rows[0][j] = xstrdup(head[j]);
	for (i = 0; i < n; i++) {
		char **r = rows[i + 1] = xcalloc(3, sizeof(char *));

		r[0] = xstrdup(v[i].topic);
		r[1] = kg_i64_cell(v[i].partition);
		r[2] = xstrdup(result_name(&v[i]));
	}
	kg_table_print(&kg->out, rows, n + 1, 3);
}

/* Name each partition whose offset was kept on stderr; how many. */
static size_t
report_failed(const char *group, const struct kg_part *v, size_t n)
{
	size_t i, failed = 0;

	for (i = 0; i < n; i++) {
		const char *why = "";

		if (v[i].error == KERR_NONE)
			continue;
		if (v[i].error == KERR_GROUP_SUBSCRIBED_TO_TOPIC)
			why = " (a member of the group subscribes to the "
			    "topic)";
		else if (v[i].error == KERR_UNKNOWN_TOPIC_OR_PARTITION)
			why = " (no such partition)";
		log_errorx("group '%s' topic '%s' partition %" PRId32
		    ": offset not deleted: %s%s", group, v[i].topic,
		    v[i].partition, kg_kerr_name(v[i].error), why);
		failed++;
	}
	return failed;
}

int
kg_cmd_delete_offsets(struct kg *kg, struct err *e)
{
	const char *group = kg->o->args[0];
	struct kg_part *v = NULL;
	struct kcl_conn *c;
	struct kg_group g;
	size_t n = 0, i, failed;
	int rc = -1;

	memset(&g, 0, sizeof(g));
	g.id = xstrdup(group);
	if ((c = kg_coordinator(kg, group, &g.coordinator, e)) == NULL ||
	    kg_describe(kg, c, &g, e) < 0)
		goto out;
	if (strcmp(g.state, "Dead") == 0) {
		err_set(e, EXIT_NOUSER, "group '%s' does not exist", group);
		goto out;
	}
	if (kg_offset_fetch(kg, c, &g, e) < 0 ||
	    kg_plan_scope(kg, &g, &v, &n, e) < 0)
		goto out;
	if (n == 0) {
		err_set(e, EXIT_NOUSER, "group '%s' has no committed offsets "
		    "(name the topics with --topic)", group);
		goto out;
	}
	if (kg_offset_delete(kg, c, group, v, n, e) < 0)
		goto out;
	failed = report_failed(group, v, n);
	if (kg->o->format == KG_FMT_JSON)
		print_json(kg, &g, v, n, failed);
	else
		print_table(kg, v, n);
	log_info("deleted the offsets of %zu partitions of group '%s'",
	    n - failed, group);
	rc = failed > 0 ? EXIT_FAIL : EXIT_OK;
out:
	for (i = 0; i < n; i++)
		free(v[i].topic);
	free(v);
	kg_group_release(&g);
	return rc;
}
