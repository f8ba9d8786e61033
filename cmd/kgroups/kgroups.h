/* SPDX-License-Identifier: MIT */
/*
 * kgroups: consumer groups and their lag. kgroups.c parses the command
 * line; kgroups_wire.c and kgroups_admin.c speak the group and offset
 * APIs (one blocking request at a time: an operator's tool, not a
 * consumer); kgroups_show.c
 * builds a group's partition view and prints list, describe and lag;
 * kgroups_reset.c plans and applies offset resets; kgroups_delete.c
 * deletes committed offsets.
 */
#ifndef KLOG_KGROUPS_H
#define KLOG_KGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "cproto.h"
#include "err.h"
#include "kconf.h"
#include "proto.h"

#define KG_JSON_VERSION 1

enum kg_cmd {
	KG_LIST,
	KG_DESCRIBE,
	KG_LAG,
	KG_RESET,
	KG_DELETE,
	KG_DELETE_OFFSETS
};

enum kg_format {
	KG_FMT_TABLE,
	KG_FMT_JSON,
	KG_FMT_PROM
};

enum kg_reset_kind {
	KG_RESET_NONE,
	KG_RESET_EARLIEST,
	KG_RESET_LATEST,
	KG_RESET_OFFSET,
	KG_RESET_SHIFT,
	KG_RESET_TIME		/* --to-datetime and --by-duration */
};

/* --topic T[:P,...]: npartitions 0 means every partition. */
struct kg_scope {
	char *topic;
	int32_t *partitions;
	size_t npartitions;
};

struct kg_opts {
	const char *brokers;
	const char *config_file;
	struct kconf conf;
	bool conf_dump;
	enum kg_cmd cmd;
	char **args;		/* positional words after the command */
	size_t nargs;
	bool all;
	const char *states;	/* list --state a,b */
	bool members;
	enum kg_format format;
	bool format_set;
	const char *output;
	bool max_lag_set, max_lag_sec_set;
	int64_t max_lag;
	int64_t max_lag_ms;
	struct kg_scope *scopes;
	size_t nscopes;
	bool all_topics;
	enum kg_reset_kind reset;
	int nreset;		/* how many --to-* options were given */
	int64_t reset_value;	/* offset, shift or timestamp (ms) */
	bool execute;
	bool quiet;
	int verbose;
};

struct kg_part {
	char *topic;
	int32_t partition;
	int64_t committed;	/* -1: nothing committed */
	int64_t start, end;	/* log start and end offsets */
	int64_t lag;		/* -1: unknown (nothing committed) */
	int64_t lag_ms;		/* -1: unknown */
	int64_t target;		/* reset-offsets: the new offset */
	int16_t error;		/* delete-offsets: the broker's answer */
	int member;		/* owner's index in members, -1 for none */
};

struct kg_member {
	char *id;
	char *client_id;
	char *host;
	struct cproto_assignment asg;
};

struct kg_group {
	char *id;
	char *state;
	char *protocol_type;
	char *protocol;		/* the assignor for consumer groups */
	int32_t coordinator;
	char *coordinator_name;
	struct kg_member *members;
	size_t nmembers;
	struct kg_part *parts;
	size_t nparts;
	int64_t sum_lag, max_lag, max_lag_ms;
};

/* One row of ListGroups. */
struct kg_listed {
	char *id;
	char *protocol_type;
	char *state;
	int32_t nmembers;
	int32_t coordinator;
};

struct kg {
	const struct kg_opts *o;
	struct kcl *k;
	struct buf out;		/* stdout text, written once at the end */
	int64_t now_ms;
};

/* kgroups_wire.c: each returns 0, or -1 with `e` set. */
char *kg_str_dup(struct proto_str s);	/* xmalloc'd; null is "" */
const char *kg_kerr_name(int16_t code);
int kg_version(struct kcl_conn *c, int16_t api, int16_t min, int16_t max,
    struct err *e);
int kg_malformed(struct kcl_conn *c, int16_t api, struct err *e);
struct kcl_conn *kg_coordinator(struct kg *kg, const char *group,
    int32_t *id, struct err *e);
int kg_describe(struct kg *kg, struct kcl_conn *c, struct kg_group *g,
    struct err *e);
int kg_offset_fetch(struct kg *kg, struct kcl_conn *c, struct kg_group *g,
    struct err *e);
/* ts -2 earliest, -1 latest, else a timestamp; fills out[i] per part. */
int kg_list_offsets(struct kg *kg, struct kg_part *parts, size_t n,
    int64_t ts, int64_t *out, struct err *e);
/* Fill lag_ms from the timestamp of the record at each committed offset. */
int kg_fetch_lag_ms(struct kg *kg, struct kg_part *parts, size_t n,
    struct err *e);
/* kgroups_admin.c */
int kg_offset_commit(struct kg *kg, struct kcl_conn *c, const char *group,
    const struct kg_part *parts, size_t n, struct err *e);
int kg_delete_group(struct kg *kg, struct kcl_conn *c, const char *group,
    struct err *e);
/*
 * OffsetDelete v0 for parts[0..n) (sorted by topic): each part's error
 * code goes to parts[i].error. A group-level error fails the call: 67
 * for an unknown group, 75 for an active group of another protocol type
 * or a coordinator to retry.
 */
int kg_offset_delete(struct kg *kg, struct kcl_conn *c, const char *group,
    struct kg_part *parts, size_t n, struct err *e);
int kg_list_groups(struct kg *kg, struct kg_listed **out, size_t *nout,
    struct err *e);
void kg_listed_free(struct kg_listed *v, size_t n);

/* kgroups_show.c */
void kg_group_release(struct kg_group *g);
int kg_group_load(struct kg *kg, const char *id, bool need_lag_ms,
    struct kcl_conn **conn, struct kg_group *g, struct err *e);
int kg_cmd_list(struct kg *kg, struct err *e);
int kg_cmd_describe(struct kg *kg, struct err *e);
int kg_cmd_lag(struct kg *kg, struct err *e);
int kg_cmd_delete(struct kg *kg, struct err *e);
void kg_table_print(struct buf *b, char ***rows, size_t nrows, size_t ncols);
char *kg_i64_cell(int64_t v);

/* kgroups_reset.c */
int kg_cmd_reset(struct kg *kg, struct err *e);
/*
 * The partitions -t/-A name for group `g` (its commits loaded), sorted by
 * topic and partition, with their current commits; *v is xmalloc'd (free
 * each topic, then v). 67 for a topic or partition that does not exist.
 */
int kg_plan_scope(struct kg *kg, const struct kg_group *g, struct kg_part **v,
    size_t *n, struct err *e);

/* kgroups_delete.c */
int kg_cmd_delete_offsets(struct kg *kg, struct err *e);

#endif
