/* SPDX-License-Identifier: MIT */
/*
 * YAML tree loader over libyaml's event parser (see yaml.h). The tree is
 * built with an explicit stack, so nesting depth costs heap, not C stack,
 * and is capped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "ytree.h"
#include "banned.h"

#define YAML_MAX_DEPTH 64

static void
node_free(struct ytree_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->count; i++) {
		node_free(n->items[i]);
		if (n->keys)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->scalar);
	free(n);
}

void
ytree_doc_free(struct ytree_doc *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	free(doc->path);
	free(doc);
}

static struct ytree_node *
node_new(enum ytree_node_kind kind, const yaml_mark_t *mark)
{
	struct ytree_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	return n;
}

/*
 * Attach `child` to `parent`: a sequence appends it; a mapping takes
 * keys and values alternately (pending_key holds the key until its value).
 */
static int
node_attach(struct ytree_node *parent, struct ytree_node **pending_key,
    struct ytree_node *child)
{
	struct ytree_node **items, **keys;

	if (parent->kind == YTREE_NODE_MAPPING && *pending_key == NULL) {
		*pending_key = child;
		return 0;
	}
	items = realloc(parent->items, (parent->count + 1) * sizeof(*items));
	if (items == NULL)
		return -1;
	parent->items = items;
	if (parent->kind == YTREE_NODE_MAPPING) {
		keys = realloc(parent->keys, (parent->count + 1) * sizeof(*keys));
		if (keys == NULL)
			return -1;
		parent->keys = keys;
		keys[parent->count] = *pending_key;
		*pending_key = NULL;
	}
	items[parent->count++] = child;
	return 0;
}

struct frame {
	struct ytree_node *node;
	struct ytree_node *pending_key;
};

/*
 * libyaml gives reader errors (bad UTF-8, control characters) a byte
 * offset rather than a mark; turn it into line:col over the input string.
 */
static void
reader_error_mark(const yaml_parser_t *p, size_t *line, size_t *col)
{
	const unsigned char *s = p->input.string.start;
	size_t i, n = (size_t)(p->input.string.end - s);

	*line = 1;
	*col = 1;
	for (i = 0; i < p->problem_offset && i < n; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((s[i] & 0xc0) != 0x80) {
			(*col)++;	/* columns count characters, as marks do */
		}
	}
}

static int
parse_events(yaml_parser_t *p, struct ytree_doc *doc, struct err *e)
{
	struct frame stack[YAML_MAX_DEPTH];
	int depth = 0, done = 0, docs = 0;
	size_t line, col;
	yaml_event_t ev;

	while (!done) {
		struct ytree_node *n = NULL;

		if (!yaml_parser_parse(p, &ev))
			goto syntax;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			/* Refuse, rather than silently drop, a second document. */
			if (docs++ > 0) {
				err_set(e, EXIT_CONFIG,
				    "%s:%zu:%zu: only one document is allowed",
				    doc->path, ev.start_mark.line + 1,
				    ev.start_mark.column + 1);
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			err_set(e, EXIT_CONFIG,
			    "%s:%zu:%zu: aliases are not supported", doc->path,
			    ev.start_mark.line + 1, ev.start_mark.column + 1);
			goto fail;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor != NULL)
				goto anchor;
			n = node_new(YTREE_NODE_SCALAR, &ev.start_mark);
			if (n == NULL)
				goto oom;
			n->scalar = malloc(ev.data.scalar.length + 1);
			if (n->scalar == NULL) {
				node_free(n);
				goto oom;
			}
			memcpy(n->scalar, ev.data.scalar.value,
			    ev.data.scalar.length);
			n->scalar[ev.data.scalar.length] = '\0';
			n->quoted = ev.data.scalar.style !=
			    YAML_PLAIN_SCALAR_STYLE;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if ((ev.type == YAML_SEQUENCE_START_EVENT ?
			    ev.data.sequence_start.anchor :
			    ev.data.mapping_start.anchor) != NULL)
				goto anchor;
			if (depth == YAML_MAX_DEPTH) {
				err_set(e, EXIT_CONFIG,
				    "%s:%zu:%zu: nesting deeper than %d levels",
				    doc->path, ev.start_mark.line + 1,
				    ev.start_mark.column + 1, YAML_MAX_DEPTH);
				goto fail;
			}
			n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ?
			    YTREE_NODE_SEQUENCE : YTREE_NODE_MAPPING,
			    &ev.start_mark);
			if (n == NULL)
				goto oom;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			n = stack[depth].node;
			node_free(stack[depth].pending_key);
			stack[depth].pending_key = NULL;
			break;
		default:
			break;
		}
		if (n != NULL) {
			int opened = (ev.type == YAML_SEQUENCE_START_EVENT ||
			    ev.type == YAML_MAPPING_START_EVENT);

			if (opened) {
				stack[depth].node = n;
				stack[depth].pending_key = NULL;
				depth++;
			} else if (depth == 0) {
				doc->root = n;
			} else {
				struct frame *f = &stack[depth - 1];

				if (f->node->kind == YTREE_NODE_MAPPING &&
				    f->pending_key == NULL &&
				    n->kind != YTREE_NODE_SCALAR) {
					err_set(e, EXIT_CONFIG,
					    "%s:%d:%d: mapping keys must be scalars",
					    doc->path, n->line, n->col);
					node_free(n);
					goto fail;
				}
				if (f->node->kind == YTREE_NODE_MAPPING &&
				    f->pending_key == NULL &&
				    ytree_map_get(f->node, n->scalar) != NULL) {
					err_set(e, EXIT_CONFIG,
					    "%s:%d:%d: duplicate key '%s'",
					    doc->path, n->line, n->col, n->scalar);
					node_free(n);
					goto fail;
				}
				if (node_attach(f->node, &f->pending_key, n) < 0) {
					node_free(n);
					goto oom;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	return 0;
anchor:
	err_set(e, EXIT_CONFIG, "%s:%zu:%zu: anchors are not supported",
	    doc->path, ev.start_mark.line + 1, ev.start_mark.column + 1);
	goto fail;
syntax:
	line = p->problem_mark.line + 1;
	col = p->problem_mark.column + 1;
	if (p->error == YAML_READER_ERROR)
		reader_error_mark(p, &line, &col);
	err_set(e, EXIT_CONFIG, "%s:%zu:%zu: %s", doc->path, line, col,
	    p->problem ? p->problem : "syntax error");
	goto unwind;
oom:
	err_set(e, EXIT_OSERR, "%s: out of memory", doc->path);
fail:
	yaml_event_delete(&ev);
unwind:
	/* Free partial containers bottom-up: each is not yet attached. */
	while (depth > 0) {
		depth--;
		node_free(stack[depth].pending_key);
		node_free(stack[depth].node);
	}
	return -1;
}

int
ytree_load_string(const char *name, const char *text, size_t len,
    struct ytree_doc **out, struct err *e)
{
	struct ytree_doc *doc;
	yaml_parser_t p;
	int rc;

	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	doc->path = strdup(name);
	if (doc->path == NULL || !yaml_parser_initialize(&p)) {
		ytree_doc_free(doc);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	rc = parse_events(&p, doc, e);
	yaml_parser_delete(&p);
	if (rc < 0) {
		ytree_doc_free(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

int
ytree_load_file(const char *path, size_t max_bytes, struct ytree_doc **out,
    struct err *e)
{
	char *text;
	size_t len;
	int rc;

	if (file_read_all(path, max_bytes, &text, &len, e) < 0)
		return -1;
	rc = ytree_load_string(path, text, len, out, e);
	free(text);
	return rc;
}

const struct ytree_node *
ytree_map_get(const struct ytree_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != YTREE_NODE_MAPPING)
		return NULL;
	for (i = 0; i < map->count; i++)
		if (strcmp(map->keys[i]->scalar, key) == 0)
			return map->items[i];
	return NULL;
}

int
ytree_error(const struct ytree_doc *doc, const struct ytree_node *node,
    struct err *e, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node == NULL)
		return err_set(e, EXIT_CONFIG, "%s: %s", doc->path, msg);
	return err_set(e, EXIT_CONFIG, "%s:%d:%d: %s", doc->path, node->line,
	    node->col, msg);
}
