/* SPDX-License-Identifier: MIT */
/*
 * A group's view (state, members and their assignments, committed, start
 * and end offsets, lag) and the read-only commands over it: list,
 * describe, lag (table, JSON, Prometheus) and delete. Output is built in
 * kg->out and written once, so --output can replace a file atomically.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

void
kg_group_release(struct kg_group *g)
{
	size_t i;

	for (i = 0; i < g->nmembers; i++) {
		free(g->members[i].id);
		free(g->members[i].client_id);
		free(g->members[i].host);
		cproto_assignment_release(&g->members[i].asg);
	}
	free(g->members);
	for (i = 0; i < g->nparts; i++)
		free(g->parts[i].topic);
	free(g->parts);
	free(g->id);
	free(g->state);
	free(g->protocol_type);
	free(g->protocol);
	free(g->coordinator_name);
	memset(g, 0, sizeof(*g));
}

static struct kg_part *
part_get(struct kg_group *g, const char *topic, int32_t id)
{
	struct kg_part *p;
	size_t i;

	for (i = 0; i < g->nparts; i++)
		if (g->parts[i].partition == id &&
		    strcmp(g->parts[i].topic, topic) == 0)
			return &g->parts[i];
	g->parts = xrealloc(g->parts, (g->nparts + 1) * sizeof(*g->parts));
	p = &g->parts[g->nparts++];
	memset(p, 0, sizeof(*p));
	p->topic = xstrdup(topic);
	p->partition = id;
	p->committed = p->start = p->end = p->lag = p->lag_ms = -1;
	p->member = -1;
	return p;
}

static int
part_cmp(const void *a, const void *b)
{
	const struct kg_part *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : (x->partition > y->partition) -
	    (x->partition < y->partition);
}

/* Owners from the decoded assignments; assigned partitions get a row. */
static void
add_assigned(struct kg_group *g)
{
	size_t i;
	int32_t t, j;

	for (i = 0; i < g->nmembers; i++) {
		const struct cproto_assignment *a = &g->members[i].asg;

		for (t = 0; t < a->ntopics; t++)
			for (j = 0; j < a->topics[t].npartitions; j++)
				part_get(g, a->topics[t].topic,
				    a->topics[t].partitions[j])->member =
				    (int)i;
	}
}

int
kg_group_load(struct kg *kg, const char *id, bool need_lag_ms,
    struct kcl_conn **conn, struct kg_group *g, struct err *e)
{
	int64_t *start = NULL, *end = NULL;
	struct kcl_conn *c;
	size_t i;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	g->id = xstrdup(id);
	if ((c = kg_coordinator(kg, id, &g->coordinator, e)) == NULL)
		return -1;
	g->coordinator_name = xstrdup(kcl_conn_name(c));
	if (conn != NULL)
		*conn = c;
	if (kg_describe(kg, c, g, e) < 0)
		return -1;
	if (strcmp(g->state, "Dead") == 0)
		return err_set(e, EXIT_NOUSER, "group '%s' does not exist", id);
	if (kg_offset_fetch(kg, c, g, e) < 0)
		return -1;
	add_assigned(g);
	if (g->nparts > 1)
		qsort(g->parts, g->nparts, sizeof(*g->parts), part_cmp);
	start = xcalloc(g->nparts + 1, sizeof(*start));
	end = xcalloc(g->nparts + 1, sizeof(*end));
	if (kg_list_offsets(kg, g->parts, g->nparts, -2, start, e) < 0 ||
	    kg_list_offsets(kg, g->parts, g->nparts, -1, end, e) < 0)
		goto out;
	for (i = 0; i < g->nparts; i++) {
		struct kg_part *p = &g->parts[i];

		p->start = start[i];
		p->end = end[i];
		if (p->committed >= 0 && p->end >= 0)
			p->lag = p->end > p->committed ?
			    p->end - p->committed : 0;
		if (p->lag > g->max_lag)
			g->max_lag = p->lag;
		if (p->lag > 0)
			g->sum_lag += p->lag;
	}
	if (need_lag_ms && kg_fetch_lag_ms(kg, g->parts, g->nparts, e) < 0)
		goto out;
	for (i = 0; i < g->nparts; i++)
		if (g->parts[i].lag_ms > g->max_lag_ms)
			g->max_lag_ms = g->parts[i].lag_ms;
	rc = 0;
out:
	free(start);
	free(end);
	return rc;
}

char *
kg_i64_cell(int64_t v)
{
	char s[32];

	if (v < 0)
		return xstrdup("-");
	snprintf(s, sizeof(s), "%" PRId64, v);
	return xstrdup(s);
}

/* Left-aligned columns two spaces apart; frees the cells and rows. */
void
kg_table_print(struct buf *b, char ***rows, size_t nrows, size_t ncols)
{
	size_t *w = xcalloc(ncols, sizeof(*w)), i, j;

	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncols; j++)
			if (strlen(rows[i][j]) > w[j])
				w[j] = strlen(rows[i][j]);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			if (j + 1 < ncols)
				buf_printf(b, "%-*s  ", (int)w[j], rows[i][j]);
			else
				buf_printf(b, "%s\n", rows[i][j]);
			free(rows[i][j]);
		}
		free(rows[i]);
	}
	free(rows);
	free(w);
}

static char **
row_new(size_t ncols, const char *const *cells)
{
	char **r = xcalloc(ncols, sizeof(*r));
	size_t j;

	for (j = 0; j < ncols; j++)
		r[j] = cells ? xstrdup(cells[j]) : NULL;
	return r;
}

static bool
state_wanted(const char *filter, const char *state)
{
	const char *p = filter;

	if (filter == NULL)
		return true;
	for (;;) {
		size_t n = strcspn(p, ",");

		if (n == strlen(state) && strncasecmp(p, state, n) == 0)
			return true;
		if (p[n] == '\0')
			return false;
		p += n + 1;
	}
}

int
kg_cmd_list(struct kg *kg, struct err *e)
{
	static const char *const head[] = { "GROUP", "STATE", "MEMBERS",
	    "PROTOCOL-TYPE", "COORDINATOR" };
	struct kg_listed *v = NULL;
	size_t n = 0, i, nrows = 0;
	char ***rows;
	struct json_obj top;
	struct json_arr arr;

	if (kg_list_groups(kg, &v, &n, e) < 0)
		return -1;
	rows = xcalloc(n + 1, sizeof(*rows));
	rows[nrows++] = row_new(5, head);
	json_obj_begin(&top, &kg->out);
	json_obj_i64(&top, "version", KG_JSON_VERSION);
	json_obj_key(&top, "groups");
	json_arr_begin(&arr, &kg->out);
	for (i = 0; i < n; i++) {
		struct json_obj g;
		char **r;

		if (!state_wanted(kg->o->states, v[i].state))
			continue;
		json_arr_next(&arr);
		json_obj_begin(&g, &kg->out);
		json_obj_cstr(&g, "group", v[i].id);
		json_obj_cstr(&g, "state", v[i].state);
		json_obj_i64(&g, "members", v[i].nmembers);
		json_obj_cstr(&g, "protocol_type", v[i].protocol_type);
		json_obj_i64(&g, "coordinator", v[i].coordinator);
		json_obj_end(&g);
		r = rows[nrows++] = row_new(5, NULL);
		r[0] = xstrdup(v[i].id);
		r[1] = xstrdup(v[i].state);
		r[2] = kg_i64_cell(v[i].nmembers);
		r[3] = xstrdup(v[i].protocol_type[0] ? v[i].protocol_type :
		    "-");
		r[4] = kg_i64_cell(v[i].coordinator);
	}
	json_arr_end(&arr);
	json_obj_end(&top);
	if (kg->o->format == KG_FMT_JSON) {
		buf_putc(&kg->out, '\n');
		while (nrows > 0) {
			size_t j;

			nrows--;
			for (j = 0; j < 5; j++)
				free(rows[nrows][j]);
			free(rows[nrows]);
		}
		free(rows);
	} else {
		buf_clear(&kg->out);
		kg_table_print(&kg->out, rows, nrows, 5);
	}
	kg_listed_free(v, n);
	return 0;
}

static void
json_assignment(struct buf *b, const struct cproto_assignment *a)
{
	struct json_arr ta, pa;
	int32_t t, j;

	json_arr_begin(&ta, b);
	for (t = 0; t < a->ntopics; t++) {
		struct json_obj o;

		json_arr_next(&ta);
		json_obj_begin(&o, b);
		json_obj_cstr(&o, "topic", a->topics[t].topic);
		json_obj_key(&o, "partitions");
		json_arr_begin(&pa, b);
		for (j = 0; j < a->topics[t].npartitions; j++) {
			json_arr_next(&pa);
			json_put_i64(b, a->topics[t].partitions[j]);
		}
		json_arr_end(&pa);
		json_obj_end(&o);
	}
	json_arr_end(&ta);
}

static void
describe_json(struct buf *b, const struct kg_group *g)
{
	struct json_obj o, m, p;
	struct json_arr arr;
	size_t i;

	json_obj_begin(&o, b);
	json_obj_cstr(&o, "group", g->id);
	json_obj_i64(&o, "coordinator", g->coordinator);
	json_obj_cstr(&o, "coordinator_address", g->coordinator_name);
	json_obj_cstr(&o, "state", g->state);
	json_obj_cstr(&o, "protocol_type", g->protocol_type);
	json_obj_cstr(&o, "assignor", g->protocol);
	json_obj_i64(&o, "total_lag", g->sum_lag);
	json_obj_key(&o, "members");
	json_arr_begin(&arr, b);
	for (i = 0; i < g->nmembers; i++) {
		json_arr_next(&arr);
		json_obj_begin(&m, b);
		json_obj_cstr(&m, "member_id", g->members[i].id);
		json_obj_cstr(&m, "client_id", g->members[i].client_id);
		json_obj_cstr(&m, "host", g->members[i].host);
		json_obj_key(&m, "assignment");
		json_assignment(b, &g->members[i].asg);
		json_obj_end(&m);
	}
	json_arr_end(&arr);
	json_obj_key(&o, "partitions");
	json_arr_begin(&arr, b);
	for (i = 0; i < g->nparts; i++) {
		const struct kg_part *q = &g->parts[i];
		const struct kg_member *mm = q->member >= 0 ?
		    &g->members[q->member] : NULL;

		json_arr_next(&arr);
		json_obj_begin(&p, b);
		json_obj_cstr(&p, "topic", q->topic);
		json_obj_i64(&p, "partition", q->partition);
		json_obj_i64_or_null(&p, "current_offset", q->committed);
		json_obj_i64_or_null(&p, "log_start_offset", q->start);
		json_obj_i64_or_null(&p, "log_end_offset", q->end);
		json_obj_i64_or_null(&p, "lag", q->lag);
		if (mm == NULL) {
			json_obj_null(&p, "member_id");
			json_obj_null(&p, "client_id");
			json_obj_null(&p, "host");
		} else {
			json_obj_cstr(&p, "member_id", mm->id);
			json_obj_cstr(&p, "client_id", mm->client_id);
			json_obj_cstr(&p, "host", mm->host);
		}
		json_obj_end(&p);
	}
	json_arr_end(&arr);
	json_obj_end(&o);
}

static char *
assignment_cell(const struct cproto_assignment *a)
{
	struct buf b = BUF_INIT;
	int32_t t, j;
	char *s;

	for (t = 0; t < a->ntopics; t++) {
		buf_printf(&b, "%s%s:", t ? ";" : "", a->topics[t].topic);
		for (j = 0; j < a->topics[t].npartitions; j++)
			buf_printf(&b, "%s%" PRId32, j ? "," : "",
			    a->topics[t].partitions[j]);
	}
	buf_putc(&b, '\0');
	s = xstrdup(a->ntopics ? (const char *)b.data : "-");
	buf_release(&b);
	return s;
}

static void
describe_text(struct buf *b, const struct kg_group *g, bool members)
{
	static const char *const head[] = { "TOPIC", "PARTITION",
	    "CURRENT-OFFSET", "LOG-START-OFFSET", "LOG-END-OFFSET", "LAG",
	    "MEMBER-ID", "CLIENT-ID", "HOST" };
	static const char *const mhead[] = { "MEMBER-ID", "CLIENT-ID", "HOST",
	    "PARTITIONS" };
	char ***rows;
	size_t i, n = 0;

	buf_printf(b, "GROUP        %s\n", g->id);
	buf_printf(b, "COORDINATOR  %" PRId32 " (%s)\n", g->coordinator,
	    g->coordinator_name);
	buf_printf(b, "STATE        %s\n", g->state);
	buf_printf(b, "ASSIGNOR     %s\n", g->protocol[0] ? g->protocol : "-");
	buf_printf(b, "MEMBERS      %zu\n", g->nmembers);
	buf_printf(b, "TOTAL-LAG    %" PRId64 "\n\n", g->sum_lag);
	if (members) {
		rows = xcalloc(g->nmembers + 1, sizeof(*rows));
		rows[n++] = row_new(4, mhead);
		for (i = 0; i < g->nmembers; i++) {
			char **r = rows[n++] = row_new(4, NULL);

			r[0] = xstrdup(g->members[i].id);
			r[1] = xstrdup(g->members[i].client_id);
			r[2] = xstrdup(g->members[i].host);
			r[3] = assignment_cell(&g->members[i].asg);
		}
		kg_table_print(b, rows, n, 4);
		return;
	}
	rows = xcalloc(g->nparts + 1, sizeof(*rows));
	rows[n++] = row_new(9, head);
	for (i = 0; i < g->nparts; i++) {
		const struct kg_part *p = &g->parts[i];
		const struct kg_member *m = p->member >= 0 ?
		    &g->members[p->member] : NULL;
		char **r = rows[n++] = row_new(9, NULL);

		r[0] = xstrdup(p->topic);
		r[1] = kg_i64_cell(p->partition);
		r[2] = kg_i64_cell(p->committed);
		r[3] = kg_i64_cell(p->start);
		r[4] = kg_i64_cell(p->end);
		r[5] = kg_i64_cell(p->lag);
		r[6] = xstrdup(m ? m->id : "-");
		r[7] = xstrdup(m ? m->client_id : "-");
		r[8] = xstrdup(m ? m->host : "-");
	}
	kg_table_print(b, rows, n, 9);
}

int
kg_cmd_describe(struct kg *kg, struct err *e)
{
	const struct kg_opts *o = kg->o;
	bool json = o->format == KG_FMT_JSON;
	struct json_obj top;
	struct json_arr arr;
	size_t i;

	if (json) {
		json_obj_begin(&top, &kg->out);
		json_obj_i64(&top, "version", KG_JSON_VERSION);
		json_obj_key(&top, "groups");
		json_arr_begin(&arr, &kg->out);
	}
	for (i = 0; i < o->nargs; i++) {
		struct kg_group g;

		if (kg_group_load(kg, o->args[i], false, NULL, &g, e) < 0) {
			kg_group_release(&g);
			return -1;
		}
		if (json) {
			json_arr_next(&arr);
			describe_json(&kg->out, &g);
		} else {
			if (i > 0)
				buf_putc(&kg->out, '\n');
			describe_text(&kg->out, &g, o->members);
		}
		kg_group_release(&g);
	}
	if (json) {
		json_arr_end(&arr);
		json_obj_end(&top);
		buf_putc(&kg->out, '\n');
	}
	return 0;
}

int
kg_cmd_delete(struct kg *kg, struct err *e)
{
	const struct kg_opts *o = kg->o;
	struct json_obj top;
	struct json_arr arr;
	size_t i;

	json_obj_begin(&top, &kg->out);
	json_obj_i64(&top, "version", KG_JSON_VERSION);
	json_obj_key(&top, "deleted");
	json_arr_begin(&arr, &kg->out);
	for (i = 0; i < o->nargs; i++) {
		struct kg_group g;
		struct kcl_conn *c;

		memset(&g, 0, sizeof(g));
		g.id = xstrdup(o->args[i]);
		if ((c = kg_coordinator(kg, g.id, &g.coordinator, e)) == NULL ||
		    kg_describe(kg, c, &g, e) < 0)
			goto fail;
		if (strcmp(g.state, "Dead") == 0) {
			err_set(e, EXIT_NOUSER, "group '%s' does not exist",
			    g.id);
			goto fail;
		}
		if (g.nmembers > 0) {
			err_set(e, EXIT_TEMPFAIL, "group '%s' is active "
			    "(state %s, %zu members); stop its consumers "
			    "first", g.id, g.state, g.nmembers);
			goto fail;
		}
		if (kg_delete_group(kg, c, g.id, e) < 0)
			goto fail;
		json_arr_next(&arr);
		json_put_cstr(&kg->out, g.id);
		log_info("deleted group '%s'", g.id);
		kg_group_release(&g);
		continue;
fail:
		kg_group_release(&g);
		return -1;
	}
	json_arr_end(&arr);
	json_obj_end(&top);
	if (o->format == KG_FMT_JSON) {
		buf_putc(&kg->out, '\n');
	} else {
		buf_clear(&kg->out);
		for (i = 0; i < o->nargs; i++)
			buf_printf(&kg->out, "deleted group %s\n", o->args[i]);
	}
	return 0;
}
