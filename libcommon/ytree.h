/* SPDX-License-Identifier: MIT */
/*
 * A YAML document loaded into a small tree of scalars, sequences and
 * mappings (libyaml does the parsing), each node carrying its line and
 * column, so configuration and manifest errors can say file:line:col.
 * Anchors and aliases are refused, which also rules out alias bombs; size
 * is bounded by the caller's file size limit.
 */
#ifndef KLOG_YTREE_H
#define KLOG_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum ytree_node_kind {
	YTREE_NODE_SCALAR,
	YTREE_NODE_SEQUENCE,
	YTREE_NODE_MAPPING
};

struct ytree_node {
	enum ytree_node_kind kind;
	int line;		/* 1-based */
	int col;		/* 1-based */
	char *scalar;		/* SCALAR: NUL-terminated value */
	bool quoted;		/* SCALAR: was written in quotes */
	/* SEQUENCE: items; MAPPING: keys[i] -> items[i] (keys are scalars) */
	struct ytree_node **items;
	struct ytree_node **keys;
	size_t count;
};

struct ytree_doc {
	char *path;
	struct ytree_node *root;	/* NULL for an empty document */
};

/*
 * Load `path` (at most max_bytes). Errors are EXIT_NOINPUT for a missing
 * file and EXIT_CONFIG for bad YAML, with "path:line:col: message".
 * On success the caller owns *out and frees it with ytree_doc_free().
 */
int ytree_load_file(const char *path, size_t max_bytes, struct ytree_doc **out,
    struct err *e);
/* The same for text in memory; `name` is used in messages. */
int ytree_load_string(const char *name, const char *text, size_t len,
    struct ytree_doc **out, struct err *e);
void ytree_doc_free(struct ytree_doc *doc);

/* The value for `key` in a mapping node, or NULL. */
const struct ytree_node *ytree_map_get(const struct ytree_node *map,
    const char *key);

/* Set `e` to "path:line:col: <message>" for `node` (EXIT_CONFIG); returns -1. */
int ytree_error(const struct ytree_doc *doc, const struct ytree_node *node,
    struct err *e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
