/* SPDX-License-Identifier: MIT */
/*
 * kgroups lag: per-partition lag in offsets and in seconds (the age of
 * the record at the committed offset; 0 when caught up) for some or all
 * groups, as a table, one JSON document or Prometheus text with
 * kafka-lag-exporter's metric names, and threshold checks whose result is
 * the exit status (1 exceeded, 0 within) for cron and Nagios wrappers.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "kgroups.h"
#include "banned.h"

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
prom_label(struct buf *b, const char *name, const char *v, bool first)
{
	buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_put_str(b, "\\n");
		else
			buf_putc(b, *v);
	}
	buf_putc(b, '"');
}

static void
prom_head(struct buf *b, const char *name, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

enum part_metric { PM_OFFSET, PM_LAG, PM_LAG_SECONDS };

static void
prom_parts(struct buf *b, const struct kg_group *g, size_t ng,
    const char *name, const char *help, enum part_metric what)
{
	size_t i, j;

	prom_head(b, name, help);
	for (i = 0; i < ng; i++)
		for (j = 0; j < g[i].nparts; j++) {
			const struct kg_part *p = &g[i].parts[j];
			char part[16];
			int64_t v = what == PM_OFFSET ? p->committed :
			    what == PM_LAG ? p->lag : p->lag_ms;

			if (v < 0)
				continue;
			snprintf(part, sizeof(part), "%" PRId32, p->partition);
			buf_put_str(b, name);
			buf_putc(b, '{');
			prom_label(b, "group", g[i].id, true);
			prom_label(b, "topic", p->topic, false);
			prom_label(b, "partition", part, false);
			if (what == PM_LAG_SECONDS)
				buf_printf(b, "} %" PRId64 ".%03" PRId64 "\n",
				    v / 1000, v % 1000);
			else
				buf_printf(b, "} %" PRId64 "\n", v);
		}
}

enum group_metric { GM_MAX_LAG, GM_MAX_LAG_SECONDS, GM_SUM_LAG };

static void
prom_groups(struct buf *b, const struct kg_group *g, size_t ng,
    const char *name, const char *help, enum group_metric what)
{
	size_t i;

	prom_head(b, name, help);
	for (i = 0; i < ng; i++) {
		buf_put_str(b, name);
		buf_putc(b, '{');
		prom_label(b, "group", g[i].id, true);
		if (what == GM_MAX_LAG_SECONDS)
			buf_printf(b, "} %" PRId64 ".%03" PRId64 "\n",
			    g[i].max_lag_ms / 1000, g[i].max_lag_ms % 1000);
		else
			buf_printf(b, "} %" PRId64 "\n", what == GM_MAX_LAG ?
			    g[i].max_lag : g[i].sum_lag);
	}
}

/* Log end offsets, once per partition even when several groups read it. */
static void
prom_latest(struct buf *b, const struct kg_group *g, size_t ng, bool latest)
{
	const char *name = latest ? "kafka_partition_latest_offset" :
	    "kafka_partition_earliest_offset";
	size_t i, j, k, l;

	prom_head(b, name, latest ? "Log end offset of a partition" :
	    "Log start offset of a partition");
	for (i = 0; i < ng; i++)
		for (j = 0; j < g[i].nparts; j++) {
			const struct kg_part *p = &g[i].parts[j];
			int64_t v = latest ? p->end : p->start;
			bool seen = false;
			char part[16];

			for (k = 0; k <= i && !seen; k++)
				for (l = 0; l < (k < i ? g[k].nparts : j); l++)
					if (g[k].parts[l].partition ==
					    p->partition && strcmp(
					    g[k].parts[l].topic, p->topic) == 0) {
						seen = true;
						break;
					}
			if (v < 0 || seen)
				continue;
			snprintf(part, sizeof(part), "%" PRId32, p->partition);
			buf_put_str(b, name);
			buf_putc(b, '{');
			prom_label(b, "topic", p->topic, true);
			prom_label(b, "partition", part, false);
			buf_printf(b, "} %" PRId64 "\n", v);
		}
}

static void
lag_prom(struct buf *b, const struct kg_group *g, size_t ng, int64_t now_ms)
{
	prom_parts(b, g, ng, "kafka_consumergroup_group_offset",
	    "Last committed offset of a group for a partition", PM_OFFSET);
	prom_parts(b, g, ng, "kafka_consumergroup_group_lag",
	    "Group offset lag of a partition", PM_LAG);
	prom_parts(b, g, ng, "kafka_consumergroup_group_lag_seconds",
	    "Age in seconds of the record at the committed offset",
	    PM_LAG_SECONDS);
	prom_groups(b, g, ng, "kafka_consumergroup_group_max_lag",
	    "Max group offset lag", GM_MAX_LAG);
	prom_groups(b, g, ng, "kafka_consumergroup_group_max_lag_seconds",
	    "Max group lag in seconds", GM_MAX_LAG_SECONDS);
	prom_groups(b, g, ng, "kafka_consumergroup_group_sum_lag",
	    "Sum of group offset lag", GM_SUM_LAG);
	prom_latest(b, g, ng, true);
	prom_latest(b, g, ng, false);
	prom_head(b, "kgroups_last_success_timestamp_seconds",
	    "When kgroups last collected lag successfully");
	buf_printf(b, "kgroups_last_success_timestamp_seconds %" PRId64
	    ".%03" PRId64 "\n", now_ms / 1000, now_ms % 1000);
}

static void
json_seconds(struct json_obj *o, const char *key, int64_t ms)
{
	json_obj_key(o, key);
	if (ms < 0)
		json_put_null(o->b);
	else
		json_put_double(o->b, (double)ms / 1000.0, 3);
}

static void
lag_json(struct buf *b, const struct kg_group *g, size_t ng, int64_t now_ms,
    bool exceeded)
{
	struct json_obj top, go, po;
	struct json_arr ga, pa;
	size_t i, j;

	json_obj_begin(&top, b);
	json_obj_i64(&top, "version", KG_JSON_VERSION);
	json_obj_i64(&top, "timestamp_ms", now_ms);
	json_obj_bool(&top, "exceeded", exceeded);
	json_obj_key(&top, "groups");
	json_arr_begin(&ga, b);
	for (i = 0; i < ng; i++) {
		json_arr_next(&ga);
		json_obj_begin(&go, b);
		json_obj_cstr(&go, "group", g[i].id);
		json_obj_cstr(&go, "state", g[i].state);
		json_obj_i64(&go, "sum_lag", g[i].sum_lag);
		json_obj_i64(&go, "max_lag", g[i].max_lag);
		json_seconds(&go, "max_lag_seconds", g[i].max_lag_ms);
		json_obj_key(&go, "partitions");
		json_arr_begin(&pa, b);
		for (j = 0; j < g[i].nparts; j++) {
			const struct kg_part *p = &g[i].parts[j];

			json_arr_next(&pa);
			json_obj_begin(&po, b);
			json_obj_cstr(&po, "topic", p->topic);
			json_obj_i64(&po, "partition", p->partition);
			json_obj_i64_or_null(&po, "current_offset",
			    p->committed);
			json_obj_i64_or_null(&po, "log_end_offset", p->end);
			json_obj_i64_or_null(&po, "lag", p->lag);
			json_seconds(&po, "lag_seconds", p->lag_ms);
			json_obj_end(&po);
		}
		json_arr_end(&pa);
		json_obj_end(&go);
	}
	json_arr_end(&ga);
	json_obj_end(&top);
	buf_putc(b, '\n');
}

static char *
seconds_cell(int64_t ms)
{
	char s[40];

	if (ms < 0)
		return xstrdup("-");
	snprintf(s, sizeof(s), "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
	return xstrdup(s);
}

static void
lag_table(struct buf *b, const struct kg_group *g, size_t ng)
{
	static const char *const head[] = { "GROUP", "TOPIC", "PARTITION",
	    "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "LAG-SECONDS" };
	size_t i, j, n = 1, total = 1;
	char ***rows;

	for (i = 0; i < ng; i++)
		total += g[i].nparts;
	rows = xcalloc(total, sizeof(*rows));
	rows[0] = xcalloc(7, sizeof(char *));
	for (j = 0; j < 7; j++)
		rows[0][j] = xstrdup(head[j]);
	for (i = 0; i < ng; i++)
		for (j = 0; j < g[i].nparts; j++) {
			const struct kg_part *p = &g[i].parts[j];
			char **r = rows[n++] = xcalloc(7, sizeof(char *));

			r[0] = xstrdup(g[i].id);
			r[1] = xstrdup(p->topic);
			r[2] = kg_i64_cell(p->partition);
			r[3] = kg_i64_cell(p->committed);
			r[4] = kg_i64_cell(p->end);
			r[5] = kg_i64_cell(p->lag);
			r[6] = seconds_cell(p->lag_ms);
		}
	kg_table_print(b, rows, n, 7);
}

/* Whether a group breaks a threshold; says which on stderr. */
static bool
exceeds(const struct kg_opts *o, const struct kg_group *g)
{
	bool over = false;

	if (o->max_lag_set && g->max_lag > o->max_lag) {
		log_warnx("group '%s': lag %" PRId64 " exceeds --max-lag %"
		    PRId64, g->id, g->max_lag, o->max_lag);
		over = true;
	}
	if (o->max_lag_sec_set && g->max_lag_ms > o->max_lag_ms) {
		log_warnx("group '%s': lag %" PRId64 ".%03" PRId64 "s exceeds "
		    "--max-lag-seconds %" PRId64 ".%03" PRId64, g->id,
		    g->max_lag_ms / 1000, g->max_lag_ms % 1000,
		    o->max_lag_ms / 1000, o->max_lag_ms % 1000);
		over = true;
	}
	return over;
}

int
kg_cmd_lag(struct kg *kg, struct err *e)
{
	const struct kg_opts *o = kg->o;
	struct kg_listed *listed = NULL;
	struct kg_group *g = NULL;
	char **ids = o->args;
	size_t nids = o->nargs, ng = 0, nlisted = 0, i;
	bool over = false;
	int rc = -1;

	if (o->all) {
		if (kg_list_groups(kg, &listed, &nlisted, e) < 0)
			return -1;
		ids = xcalloc(nlisted + 1, sizeof(*ids));
		for (i = nids = 0; i < nlisted; i++)
			if (strcmp(listed[i].protocol_type, "consumer") == 0 ||
			    listed[i].protocol_type[0] == '\0')
				ids[nids++] = listed[i].id;
	}
	g = xcalloc(nids + 1, sizeof(*g));
	for (i = 0; i < nids; i++) {
		if (kg_group_load(kg, ids[i], true, NULL, &g[ng], e) < 0) {
			/* With --all a group may vanish between calls. */
			if (o->all && e->code == EXIT_NOUSER) {
				kg_group_release(&g[ng]);
				err_clear(e);
				continue;
			}
			ng++;
			goto out;
		}
		if (exceeds(o, &g[ng]))
			over = true;
		ng++;
	}
	if (o->format == KG_FMT_PROM)
		lag_prom(&kg->out, g, ng, kg->now_ms);
	else if (o->format == KG_FMT_JSON)
		lag_json(&kg->out, g, ng, kg->now_ms, over);
	else
		lag_table(&kg->out, g, ng);
	rc = over ? 1 : 0;
out:
	for (i = 0; i < ng; i++)
		kg_group_release(&g[i]);
	free(g);
	if (o->all)
		free(ids);
	kg_listed_free(listed, nlisted);
	return rc;
}
