/* SPDX-License-Identifier: MIT */
/*
 * kgroups reset-offsets: plan new committed offsets for a group's
 * partitions (earliest, latest, an offset, a shift, a time), print old ->
 * new, and with --execute commit them as an admin (generation -1, no
 * member id) and read them back to verify. A group with members is
 * refused (75): its consumers would overwrite the reset on their next
 * commit, or the broker would reject it.
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

static void
add_target(struct kg_part **v, size_t *n, const char *topic, int32_t id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].partition == id && strcmp((*v)[i].topic, topic) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].topic = xstrdup(topic);
	(*v)[*n].partition = id;
	(*v)[*n].committed = -1;
	(*v)[*n].member = -1;
	(*n)++;
}

static int
part_cmp(const void *a, const void *b)
{
	const struct kg_part *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : (x->partition > y->partition) -
	    (x->partition < y->partition);
}

/* The partitions in scope: --topic T[:P,...] or every committed topic. */
int
kg_plan_scope(struct kg *kg, const struct kg_group *g, struct kg_part **v,
    size_t *n, struct err *e)
{
	const struct kg_opts *o = kg->o;
	size_t i, j;

	for (i = 0; o->all_topics && i < g->nparts; i++) {
		const struct kcl_topic *t = kcl_topic(kg->k, g->parts[i].topic);
		int32_t p;

		if (t == NULL || t->npartitions == 0) {
			log_warnx("topic '%s' no longer exists; skipped",
			    g->parts[i].topic);
			continue;
		}
		for (p = 0; p < t->npartitions; p++)
			add_target(v, n, t->name, p);
	}
	for (i = 0; i < o->nscopes; i++) {
		const struct kg_scope *s = &o->scopes[i];
		const struct kcl_topic *t = kcl_topic(kg->k, s->topic);

		if (t == NULL || t->error == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
		    t->npartitions == 0)
			return err_set(e, EXIT_NOUSER, "topic '%s' does not "
			    "exist", s->topic);
		for (j = 0; j < s->npartitions; j++)
			if (s->partitions[j] >= t->npartitions)
				return err_set(e, EXIT_NOUSER, "topic '%s' has "
				    "no partition %" PRId32 " (it has %" PRId32
				    ")", s->topic, s->partitions[j],
				    t->npartitions);
		if (s->npartitions == 0)
			for (j = 0; j < (size_t)t->npartitions; j++)
				add_target(v, n, s->topic, (int32_t)j);
		for (j = 0; j < s->npartitions; j++)
			add_target(v, n, s->topic, s->partitions[j]);
	}
	/* The current commits, for old -> new. */
	for (i = 0; i < *n; i++)
		for (j = 0; j < g->nparts; j++)
			if (g->parts[j].partition == (*v)[i].partition &&
			    strcmp(g->parts[j].topic, (*v)[i].topic) == 0)
				(*v)[i].committed = g->parts[j].committed;
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), part_cmp);
	return 0;
}

static int64_t
clamp(int64_t v, const struct kg_part *p)
{
	if (v < p->start)
		return p->start;
	if (v > p->end)
		return p->end;
	return v;
}

static int
plan_targets(struct kg *kg, struct kg_part *v, size_t n, struct err *e)
{
	const struct kg_opts *o = kg->o;
	int64_t *start = xcalloc(n + 1, sizeof(*start));
	int64_t *end = xcalloc(n + 1, sizeof(*end));
	int64_t *at = NULL;
	size_t i;
	int rc = -1;

	if (kg_list_offsets(kg, v, n, -2, start, e) < 0 ||
	    kg_list_offsets(kg, v, n, -1, end, e) < 0)
		goto out;
	if (o->reset == KG_RESET_TIME) {
		at = xcalloc(n + 1, sizeof(*at));
		if (kg_list_offsets(kg, v, n, o->reset_value, at, e) < 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		struct kg_part *p = &v[i];

		p->start = start[i];
		p->end = end[i];
		switch (o->reset) {
		case KG_RESET_EARLIEST:
			p->target = p->start;
			break;
		case KG_RESET_LATEST:
			p->target = p->end;
			break;
		case KG_RESET_OFFSET:
			p->target = clamp(o->reset_value, p);
			break;
		case KG_RESET_SHIFT:
			/* Without a commit, shift from the log end. */
			p->target = clamp((p->committed >= 0 ? p->committed :
			    p->end) + o->reset_value, p);
			break;
		case KG_RESET_TIME:
			/* No record at or after the time: the log end. */
			p->target = at[i] >= 0 ? at[i] : p->end;
			break;
		case KG_RESET_NONE:
			break;
		}
	}
	rc = 0;
out:
	free(start);
	free(end);
	free(at);
	return rc;
}

/* Read the commits back; EXIT_FAIL names the first that differs. */
static int
verify(struct kg *kg, struct kcl_conn *c, const char *group,
    const struct kg_part *v, size_t n, struct err *e)
{
	struct kg_group g;
	size_t i, j;
	int rc = 0;

	memset(&g, 0, sizeof(g));
	g.id = xstrdup(group);
	if (kg_offset_fetch(kg, c, &g, e) < 0) {
		kg_group_release(&g);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		for (j = 0; j < g.nparts; j++)
			if (g.parts[j].partition == v[i].partition &&
			    strcmp(g.parts[j].topic, v[i].topic) == 0)
				break;
		if (j == g.nparts || g.parts[j].committed != v[i].target)
			rc = err_set(e, EXIT_FAIL, "group '%s' topic '%s' "
			    "partition %" PRId32 ": committed offset is %"
			    PRId64 " after the reset, not %" PRId64, group,
			    v[i].topic, v[i].partition, j == g.nparts ? -1 :
			    g.parts[j].committed, v[i].target);
	}
	kg_group_release(&g);
	return rc;
}

static void
print_plan(struct kg *kg, const struct kg_group *g, const struct kg_part *v,
    size_t n)
{
	static const char *const head[] = { "TOPIC", "PARTITION",
	    "OLD-OFFSET", "", "NEW-OFFSET" };
	struct buf *b = &kg->out;
	struct json_obj top, po;
	struct json_arr pa;
	char ***rows;
	size_t i, j;

	if (kg->o->format == KG_FMT_JSON) {
		json_obj_begin(&top, b);
		json_obj_i64(&top, "version", KG_JSON_VERSION);
		json_obj_cstr(&top, "group", g->id);
		json_obj_cstr(&top, "state", g->state);
		json_obj_bool(&top, "executed", kg->o->execute);
		json_obj_key(&top, "partitions");
		json_arr_begin(&pa, b);
		for (i = 0; i < n; i++) {
			json_arr_next(&pa);
			json_obj_begin(&po, b);
			json_obj_cstr(&po, "topic", v[i].topic);
			json_obj_i64(&po, "partition", v[i].partition);
			json_obj_key(&po, "old_offset");
			if (v[i].committed < 0)
				json_put_null(b);
			else
				json_put_i64(b, v[i].committed);
			json_obj_i64(&po, "new_offset", v[i].target);
			json_obj_end(&po);
		}
		json_arr_end(&pa);
		json_obj_end(&top);
		buf_putc(b, '\n');
		return;
	}
	rows = xcalloc(n + 1, sizeof(*rows));
	rows[0] = xcalloc(5, sizeof(char *));
	for (j = 0; j < 5; j++)
		rows[0][j] = xstrdup(head[j]);
	for (i = 0; i < n; i++) {
		char **r = rows[i + 1] = xcalloc(5, sizeof(char *));

		r[0] = xstrdup(v[i].topic);
		r[1] = kg_i64_cell(v[i].partition);
		r[2] = kg_i64_cell(v[i].committed);
		r[3] = xstrdup("->");
		r[4] = kg_i64_cell(v[i].target);
	}
	kg_table_print(b, rows, n + 1, 5);
}

int
kg_cmd_reset(struct kg *kg, struct err *e)
{
	const char *group = kg->o->args[0];
	struct kg_part *v = NULL;
	struct kcl_conn *c;
	struct kg_group g;
	size_t n = 0, i;
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
	if (g.nmembers > 0 || strcmp(g.state, "Empty") != 0) {
		err_set(e, EXIT_TEMPFAIL, "group '%s' is active (state %s, "
		    "%zu members); stop its consumers before resetting "
		    "offsets", group, g.state, g.nmembers);
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
	if (plan_targets(kg, v, n, e) < 0)
		goto out;
	if (kg->o->execute) {
		if (kg_offset_commit(kg, c, group, v, n, e) < 0 ||
		    verify(kg, c, group, v, n, e) < 0)
			goto out;
		log_info("reset %zu offsets of group '%s'", n, group);
	} else if (!kg->o->quiet) {
		log_warnx("dry run: nothing changed; add --execute to apply");
	}
	print_plan(kg, &g, v, n);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(v[i].topic);
	free(v);
	kg_group_release(&g);
	return rc;
}
