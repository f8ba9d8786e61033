/* SPDX-License-Identifier: MIT */
/*
 * YAML tree loader: node kinds and line:col for nested mappings and
 * sequences, quoted vs plain scalars, empty documents, ytree_map_get and
 * ytree_error, and table-driven refusals (syntax errors, duplicate keys,
 * anchors, aliases, non-scalar keys, nesting past the cap), each with the
 * position in "name:line:col: ..." and no leak on the error path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ytree.h"
#include "tinytest.h"

static struct ytree_doc *
load(const char *text, struct err *e)
{
	struct ytree_doc *doc = NULL;

	err_clear(e);
	if (ytree_load_string("t.yaml", text, strlen(text), &doc, e) < 0)
		return NULL;
	return doc;
}

static int
is_scalar(const struct ytree_node *n, const char *v, int line, int col)
{
	return n != NULL && n->kind == YTREE_NODE_SCALAR &&
	    strcmp(n->scalar, v) == 0 && n->line == line && n->col == col;
}

static void
test_ytree__nested_positions(void)
{
	static const char text[] =
	    "# comment\n"
	    "name: klog\n"
	    "brokers:\n"
	    "  - id: 1\n"
	    "    addr: 127.0.0.1:9092\n"
	    "  - id: 2\n"
	    "    tags: [a, \"b c\"]\n"
	    "empty:\n";
	struct err e;
	struct ytree_doc *doc = load(text, &e);
	const struct ytree_node *root, *brokers, *b0, *b1, *tags, *n;

	CHECKF(doc != NULL, "%s", e.msg);
	if (doc == NULL)
		return;
	CHECK(strcmp(doc->path, "t.yaml") == 0);
	root = doc->root;
	CHECK(root != NULL && root->kind == YTREE_NODE_MAPPING);
	CHECK(root->line == 2 && root->col == 1 && root->count == 3);
	CHECK(is_scalar(root->keys[0], "name", 2, 1));
	CHECK(is_scalar(root->items[0], "klog", 2, 7));
	CHECK(is_scalar(root->keys[1], "brokers", 3, 1));
	CHECK(is_scalar(root->keys[2], "empty", 8, 1));

	brokers = ytree_map_get(root, "brokers");
	CHECK(brokers != NULL && brokers->kind == YTREE_NODE_SEQUENCE);
	CHECK(brokers->count == 2 && brokers->line == 4 && brokers->col == 3);
	CHECK(brokers->keys == NULL);
	b0 = brokers->items[0];
	b1 = brokers->items[1];
	CHECK(b0->kind == YTREE_NODE_MAPPING && b0->line == 4 && b0->col == 5);
	CHECK(is_scalar(ytree_map_get(b0, "id"), "1", 4, 9));
	CHECK(is_scalar(ytree_map_get(b0, "addr"), "127.0.0.1:9092", 5, 11));
	CHECK(b1->kind == YTREE_NODE_MAPPING && b1->line == 6 && b1->col == 5);
	tags = ytree_map_get(b1, "tags");
	CHECK(tags != NULL && tags->kind == YTREE_NODE_SEQUENCE);
	CHECK(tags->line == 7 && tags->col == 11 && tags->count == 2);
	CHECK(is_scalar(tags->items[0], "a", 7, 12));
	CHECK(!tags->items[0]->quoted);
	CHECK(is_scalar(tags->items[1], "b c", 7, 15));
	CHECK(tags->items[1]->quoted);

	/* A key with no value is an empty plain scalar, not a missing key. */
	n = ytree_map_get(root, "empty");
	CHECK(n != NULL && n->kind == YTREE_NODE_SCALAR &&
	    n->scalar[0] == '\0' && !n->quoted);

	/* ytree_map_get on misses, non-mappings and NULL. */
	CHECK(ytree_map_get(root, "nope") == NULL);
	CHECK(ytree_map_get(root, "") == NULL);
	CHECK(ytree_map_get(brokers, "id") == NULL);
	CHECK(ytree_map_get(tags->items[0], "a") == NULL);
	CHECK(ytree_map_get(NULL, "name") == NULL);
	ytree_doc_free(doc);
}

static void
test_ytree__scalars(void)
{
	static const struct {
		const char *text;
		const char *value;
		bool quoted;
	} cases[] = {
		{ "v: plain\n", "plain", false },
		{ "v: 'single'\n", "single", true },
		{ "v: \"double\"\n", "double", true },
		{ "v: \"tab\\there\"\n", "tab\there", true },
		{ "v: 'it''s'\n", "it's", true },
		{ "v: \"\"\n", "", true },
		{ "v: ''\n", "", true },
		{ "v: 0042\n", "0042", false },
		{ "v: \"0042\"\n", "0042", true },
		{ "v: true\n", "true", false },
		{ "v: ~\n", "~", false },
		{ "v: a b  c\n", "a b  c", false },
		{ "v: x # trailing comment\n", "x", false },
		{ "v: |\n  line1\n  line2\n", "line1\nline2\n", true },
		{ "v: \"caf\xc3\xa9\"\n", "caf\xc3\xa9", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e;
		struct ytree_doc *doc = load(cases[i].text, &e);
		const struct ytree_node *v;

		CHECKF(doc != NULL, "case %zu: %s", i, e.msg);
		if (doc == NULL)
			continue;
		v = ytree_map_get(doc->root, "v");
		CHECKF(v != NULL && v->kind == YTREE_NODE_SCALAR &&
		    strcmp(v->scalar, cases[i].value) == 0 &&
		    v->quoted == cases[i].quoted, "case %zu: got '%s'", i,
		    v && v->scalar ? v->scalar : "(null)");
		ytree_doc_free(doc);
	}
}

static void
test_ytree__roots(void)
{
	static const char *const empty[] = {
		"", "\n\n", "# only a comment\n", "   \n# x\n",
	};
	struct err e;
	struct ytree_doc *doc;
	size_t i;

	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		doc = load(empty[i], &e);
		CHECKF(doc != NULL && doc->root == NULL, "case %zu: %s", i,
		    e.msg);
		ytree_doc_free(doc);
	}

	doc = load("just-a-scalar\n", &e);
	CHECK(doc != NULL && is_scalar(doc->root, "just-a-scalar", 1, 1));
	CHECK(ytree_map_get(doc ? doc->root : NULL, "x") == NULL);
	ytree_doc_free(doc);

	doc = load("- 1\n- [2, 3]\n- {a: b}\n", &e);
	CHECK(doc != NULL && doc->root->kind == YTREE_NODE_SEQUENCE &&
	    doc->root->count == 3);
	if (doc != NULL && doc->root->count == 3) {
		const struct ytree_node *r = doc->root;

		CHECK(is_scalar(r->items[0], "1", 1, 3));
		CHECK(r->items[1]->kind == YTREE_NODE_SEQUENCE &&
		    r->items[1]->count == 2 && r->items[1]->line == 2 &&
		    r->items[1]->col == 3);
		CHECK(is_scalar(ytree_map_get(r->items[2], "a"), "b", 3, 7));
	}
	ytree_doc_free(doc);

	/* Empty containers. */
	doc = load("a: []\nb: {}\n", &e);
	CHECK(doc != NULL);
	if (doc != NULL) {
		const struct ytree_node *a = ytree_map_get(doc->root, "a");
		const struct ytree_node *b = ytree_map_get(doc->root, "b");

		CHECK(a && a->kind == YTREE_NODE_SEQUENCE && a->count == 0);
		CHECK(b && b->kind == YTREE_NODE_MAPPING && b->count == 0);
		CHECK(ytree_map_get(b, "x") == NULL);
	}
	ytree_doc_free(doc);

	/* An explicit document marker and end marker. */
	doc = load("---\nk: v\n...\n", &e);
	CHECK(doc != NULL && is_scalar(ytree_map_get(doc->root, "k"), "v", 2,
	    4));
	ytree_doc_free(doc);

	/* Length is honoured: text past `len` is not parsed. */
	doc = NULL;
	CHECK(ytree_load_string("t.yaml", "a: 1\n}}}", 5, &doc, &e) == 0);
	CHECK(doc != NULL && is_scalar(ytree_map_get(doc->root, "a"), "1", 1,
	    4));
	ytree_doc_free(doc);
}

static void
test_ytree__refused(void)
{
	static const struct {
		const char *text;
		const char *msg;	/* the whole message must start so */
	} cases[] = {
		/* duplicate keys point at the second key */
		{ "a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a'" },
		{ "x:\n  k: 1\n  k: 2\n", "t.yaml:3:3: duplicate key 'k'" },
		{ "{a: 1, a: 2}\n", "t.yaml:1:8: duplicate key 'a'" },
		{ "a: 1\n'a': 2\n", "t.yaml:2:1: duplicate key 'a'" },
		{ "- {p: 1, q: 2, p: 3}\n", "t.yaml:1:16: duplicate key 'p'" },
		/* anchors and aliases */
		{ "a: &x 1\nb: *x\n", "t.yaml:1:4: anchors are not supported" },
		{ "a: &m {k: v}\n", "t.yaml:1:4: anchors are not supported" },
		{ "a: &s [1]\n", "t.yaml:1:4: anchors are not supported" },
		{ "a: 1\nb: *x\n", "t.yaml:2:4: aliases are not supported" },
		{ "- *x\n", "t.yaml:1:3: aliases are not supported" },
		/* non-scalar keys */
		{ "? [a, b]\n: v\n", "t.yaml:1:3: mapping keys must be scalars" },
		{ "{[a]: 1}\n", "t.yaml:1:2: mapping keys must be scalars" },
		{ "x:\n  ? {k: v}\n  : 1\n",
		  "t.yaml:2:5: mapping keys must be scalars" },
		/* syntax errors */
		{ "a: [1, 2\n", "t.yaml:2:1: " },
		{ "a: {b: 1\n", "t.yaml:2:1: " },
		{ "a: 'unterminated\n", "t.yaml:2:1: " },
		{ "a: 1\n b: 2\n", "t.yaml:2:3: " },
		{ "a:\n\t- x\n", "t.yaml:2:1: " },
		{ "- a\nb: c\n", "t.yaml:2:1: " },
		{ "a: b: c\n", "t.yaml:1:5: " },
		{ "]\n", "t.yaml:1:1: " },
		{ "a: \"bad \\q escape\"\n", "t.yaml:1:9: " },
		{ "a: 1\n...\n}\n", "t.yaml:3:1: " },
		/* encoding errors still carry line:col */
		{ "a: \xff\n", "t.yaml:1:4: invalid leading UTF-8 octet" },
		{ "a: 1\nb: \xc3\xa9\xff\n",
		  "t.yaml:2:5: invalid leading UTF-8 octet" },
		{ "a: 1\n\x01\n", "t.yaml:2:1: control characters" },
		/* a second document is refused, not silently dropped */
		{ "a: 1\n---\nb: 2\n",
		  "t.yaml:2:1: only one document is allowed" },
		{ "--- a\n--- b\n", "t.yaml:2:1: only one document is allowed" },
		{ "a: 1\n---\nb: }\n",
		  "t.yaml:2:1: only one document is allowed" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ytree_doc *doc = (struct ytree_doc *)&doc;
		struct err e = { 0, "" };
		int rc;

		rc = ytree_load_string("t.yaml", cases[i].text,
		    strlen(cases[i].text), &doc, &e);
		CHECKF(rc == -1, "case %zu: accepted", i);
		CHECKF(e.code == EXIT_CONFIG, "case %zu: code %d", i, e.code);
		CHECKF(strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
		    "case %zu: got '%s', want '%s...'", i, e.msg, cases[i].msg);
		/* A message follows the position. */
		CHECKF(strlen(e.msg) > strlen(cases[i].msg) ||
		    cases[i].msg[strlen(cases[i].msg) - 1] != ' ',
		    "case %zu: empty message '%s'", i, e.msg);
		/* *out is left alone on failure. */
		CHECKF(doc == (struct ytree_doc *)&doc, "case %zu: *out set", i);
	}
}

/* Nesting "[[[...]]]" or "a: a: ..." of `depth` levels. */
static char *
nested(size_t depth, int flow)
{
	size_t i, len = 0;
	char *s = malloc(depth * (2 * depth + 8) + 16);

	if (s == NULL)
		return NULL;
	if (flow) {
		for (i = 0; i < depth; i++)
			s[len++] = '[';
		for (i = 0; i < depth; i++)
			s[len++] = ']';
		s[len++] = '\n';
	} else {
		for (i = 0; i < depth; i++) {
			memset(s + len, ' ', 2 * i);
			len += 2 * i;
			memcpy(s + len, "k:\n", 3);
			len += 3;
		}
		memset(s + len, ' ', 2 * depth);
		len += 2 * depth;
		memcpy(s + len, "v\n", 2);
		len += 2;
	}
	s[len] = '\0';
	return s;
}

static void
test_ytree__depth_cap(void)
{
	static const struct {
		size_t depth;
		int flow;
		int ok;
	} cases[] = {
		{ 1, 1, 1 }, { 64, 1, 1 }, { 65, 1, 0 }, { 66, 1, 0 },
		{ 64, 0, 1 }, { 65, 0, 0 }, { 100, 0, 0 },
	};
	struct ytree_doc *doc;
	struct err e;
	size_t i;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = nested(cases[i].depth, cases[i].flow);
		if (s == NULL)
			continue;
		doc = load(s, &e);
		CHECKF((doc != NULL) == cases[i].ok, "case %zu: %s", i, e.msg);
		if (!cases[i].ok)
			CHECKF(e.code == EXIT_CONFIG &&
			    strstr(e.msg, "nesting deeper than 64 levels") &&
			    strncmp(e.msg, "t.yaml:", 7) == 0, "case %zu: %s", i,
			    e.msg);
		if (doc != NULL && cases[i].ok) {
			const struct ytree_node *n = doc->root;
			size_t d = 0;

			while (n != NULL && n->kind != YTREE_NODE_SCALAR) {
				CHECK(n->count == (cases[i].flow &&
				    d + 1 == cases[i].depth ? 0u : 1u));
				n = n->count ? n->items[0] : NULL;
				d++;
			}
			CHECKF(d == cases[i].depth, "case %zu: depth %zu", i, d);
		}
		ytree_doc_free(doc);
		free(s);
	}

	/* Far past the cap: refused early, no C stack recursion. */
	s = nested(100000, 1);
	if (s != NULL) {
		doc = load(s, &e);
		CHECK(doc == NULL && strstr(e.msg, "t.yaml:1:65: nesting"));
		ytree_doc_free(doc);
		free(s);
	}
}

static void
test_ytree__file(void)
{
	char dir[] = "/tmp/test_ytree.XXXXXX", path[64], missing[64];
	static const char text[] = "a:\n  b: [1, 2]\nc: d\nc: e\n";
	struct ytree_doc *doc = NULL;
	struct err e = { 0, "" };
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	snprintf(missing, sizeof(missing), "%s/missing.yaml", dir);

	CHECK(ytree_load_file(missing, 1 << 20, &doc, &e) == -1);
	CHECKF(e.code == EXIT_NOINPUT && strstr(e.msg, missing), "%d %s",
	    e.code, e.msg);
	CHECK(doc == NULL);

	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);

	/* The path names the document in messages. */
	err_clear(&e);
	CHECK(ytree_load_file(path, 1 << 20, &doc, &e) == -1);
	CHECK(e.code == EXIT_CONFIG);
	CHECKF(strncmp(e.msg, path, strlen(path)) == 0 &&
	    strcmp(e.msg + strlen(path), ":4:1: duplicate key 'c'") == 0, "%s",
	    e.msg);

	/* Over the size limit: refused without parsing. */
	err_clear(&e);
	CHECK(ytree_load_file(path, 4, &doc, &e) == -1);
	CHECK(e.code != 0 && e.code != EXIT_CONFIG && strstr(e.msg, path));
	CHECK(doc == NULL);

	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("a:\n  b: [1, 2]\n", f);
		fclose(f);
	}
	CHECK(ytree_load_file(path, 1 << 20, &doc, &e) == 0);
	if (doc != NULL) {
		const struct ytree_node *b;

		CHECK(strcmp(doc->path, path) == 0);
		b = ytree_map_get(ytree_map_get(doc->root, "a"), "b");
		CHECK(b && b->kind == YTREE_NODE_SEQUENCE && b->count == 2 &&
		    is_scalar(b->items[1], "2", 2, 10));
	}
	ytree_doc_free(doc);
	unlink(path);
	rmdir(dir);
}

static void
test_ytree__error_format(void)
{
	struct ytree_doc *doc;
	struct err e;
	char big[400];
	const struct ytree_node *port;

	doc = load("listen:\n  port: seventy\n", &e);
	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	port = ytree_map_get(ytree_map_get(doc->root, "listen"), "port");
	err_clear(&e);
	CHECK(ytree_error(doc, port, &e, "bad port '%s'", port->scalar) == -1);
	CHECK(e.code == EXIT_CONFIG);
	CHECKF(strcmp(e.msg, "t.yaml:2:9: bad port 'seventy'") == 0, "%s",
	    e.msg);

	/* Without a node, the document name only. */
	err_clear(&e);
	CHECK(ytree_error(doc, NULL, &e, "missing key '%s'", "brokers") == -1);
	CHECKF(strcmp(e.msg, "t.yaml: missing key 'brokers'") == 0, "%s",
	    e.msg);

	/* Long messages are truncated, never overflowed. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(ytree_error(doc, port, &e, "%s", big) == -1);
	CHECK(strncmp(e.msg, "t.yaml:2:9: xxx", 15) == 0);
	CHECK(strlen(e.msg) == sizeof(e.msg) - 1 ||
	    strlen(e.msg) < sizeof(e.msg));

	/* A NULL err is allowed. */
	CHECK(ytree_error(doc, port, NULL, "ignored") == -1);
	ytree_doc_free(doc);
	ytree_doc_free(NULL);
}

int
main(void)
{
	TEST(test_ytree__nested_positions);
	TEST(test_ytree__scalars);
	TEST(test_ytree__roots);
	TEST(test_ytree__refused);
	TEST(test_ytree__depth_cap);
	TEST(test_ytree__file);
	TEST(test_ytree__error_format);
	TEST_DONE();
}
