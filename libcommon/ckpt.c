/* SPDX-License-Identifier: MIT */
/*
 * Offset checkpoint files (see ckpt.h). The reader is strict: a file
 * that is not exactly what ckpt_write() (or Kafka) produces is refused
 * with the line at fault, rather than half-used.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ckpt.h"
#include "util.h"
#include "banned.h"

/* Checkpoint files list partitions; 64 MiB is far beyond any real one. */
#define CKPT_MAX_FILE (64u << 20)

void
ckpt_init(struct ckpt *c)
{
	c->entries = NULL;
	c->count = 0;
	c->cap = 0;
}

void
ckpt_release(struct ckpt *c)
{
	free(c->entries);
	ckpt_init(c);
}

bool
ckpt_topic_valid(const char *topic)
{
	size_t i, n = strlen(topic);

	if (n == 0 || n > CKPT_TOPIC_MAX || strcmp(topic, ".") == 0 ||
	    strcmp(topic, "..") == 0)
		return false;
	for (i = 0; i < n; i++) {
		char ch = topic[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return false;
	}
	return true;
}

static struct ckpt_entry *
find(const struct ckpt *c, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		if (c->entries[i].partition == partition &&
		    strcmp(c->entries[i].topic, topic) == 0)
			return &c->entries[i];
	return NULL;
}

static int
add(struct ckpt *c, const char *topic, int32_t partition, int64_t offset,
    struct err *e)
{
	struct ckpt_entry *ent;

	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct ckpt_entry *p = realloc(c->entries, cap * sizeof(*p));

		if (p == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		c->entries = p;
		c->cap = cap;
	}
	ent = &c->entries[c->count++];
	memcpy(ent->topic, topic, strlen(topic) + 1);
	ent->partition = partition;
	ent->offset = offset;
	return 0;
}

int
ckpt_set(struct ckpt *c, const char *topic, int32_t partition,
    int64_t offset, struct err *e)
{
	struct ckpt_entry *ent;

	if (!ckpt_topic_valid(topic))
		return err_set(e, EXIT_DATAERR, "invalid topic name '%s'",
		    topic);
	if (partition < 0 || offset < 0)
		return err_set(e, EXIT_DATAERR, "invalid checkpoint entry %s-%"
		    PRId32 " at %" PRId64, topic, partition, offset);
	if ((ent = find(c, topic, partition)) != NULL) {
		ent->offset = offset;
		return 0;
	}
	return add(c, topic, partition, offset, e);
}

int
ckpt_get(const struct ckpt *c, const char *topic, int32_t partition,
    int64_t *offset_out)
{
	const struct ckpt_entry *ent = find(c, topic, partition);

	if (ent == NULL)
		return 0;
	*offset_out = ent->offset;
	return 1;
}

bool
ckpt_parse_num(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Parse "<topic> <partition> <offset>" of `len` bytes. */
static const char *
parse_entry(const char *s, size_t len, struct ckpt_entry *out)
{
	const char *sp1 = memchr(s, ' ', len), *sp2;
	int64_t partition;

	if (sp1 == NULL)
		return "expected '<topic> <partition> <offset>'";
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - s));
	if (sp2 == NULL)
		return "expected '<topic> <partition> <offset>'";
	if ((size_t)(sp1 - s) > CKPT_TOPIC_MAX)
		return "topic name too long";
	memcpy(out->topic, s, (size_t)(sp1 - s));
	out->topic[sp1 - s] = '\0';
	if (!ckpt_topic_valid(out->topic))
		return "invalid topic name";
	if (!ckpt_parse_num(sp1 + 1, (size_t)(sp2 - sp1 - 1), INT32_MAX,
	    &partition))
		return "invalid partition";
	out->partition = (int32_t)partition;
	if (!ckpt_parse_num(sp2 + 1, len - (size_t)(sp2 + 1 - s), INT64_MAX,
	    &out->offset))
		return "invalid offset";
	return NULL;
}

/* An entry and its place in the file, for duplicate detection. */
struct placed {
	const struct ckpt_entry *ent;
	size_t index;
};

static int
cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int r = strcmp(x->ent->topic, y->ent->topic);

	if (r == 0)
		r = (x->ent->partition > y->ent->partition) -
		    (x->ent->partition < y->ent->partition);
	if (r == 0)
		r = (x->index > y->index) - (x->index < y->index);
	return r;
}

static int
check_duplicates(const char *path, const struct ckpt *c, struct err *e)
{
	struct placed *v;
	size_t i;
	int r = 0;

	if (c->count < 2)
		return 0;
	v = malloc(c->count * sizeof(*v));
	if (v == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	for (i = 0; i < c->count; i++) {
		v[i].ent = &c->entries[i];
		v[i].index = i;
	}
	qsort(v, c->count, sizeof(*v), cmp_placed);
	for (i = 1; i < c->count && r == 0; i++)
		if (v[i - 1].ent->partition == v[i].ent->partition &&
		    strcmp(v[i - 1].ent->topic, v[i].ent->topic) == 0)
			/* entries start on line 3 */
			r = err_set(e, EXIT_DATAERR, "%s:%zu: duplicate entry "
			    "for %s-%" PRId32, path, v[i].index + 3,
			    v[i].ent->topic, v[i].ent->partition);
	free(v);
	return r;
}

/* Prefix the entry's problem in `e` with "path:line: ". */
static void
at_line(const char *path, size_t line, struct err *e)
{
	char why[sizeof(e->msg)];

	if (e == NULL || e->code != EXIT_DATAERR)
		return;
	memcpy(why, e->msg, sizeof(why));
	err_set(e, EXIT_DATAERR, "%s:%zu: %s", path, line, why);
}

/* Check line 1 (the version) or 2 (the entry count, into *count). */
static int
parse_head(const char *path, size_t line, const char *p, size_t n,
    int64_t *count, struct err *e)
{
	int64_t version;

	if (line == 1 && (!ckpt_parse_num(p, n, INT64_MAX, &version) ||
	    version != 0))
		return err_set(e, EXIT_DATAERR, "%s:1: unsupported version "
		    "'%.*s' (expected 0)", path, (int)(n > 20 ? 20 : n), p);
	if (line == 2 && !ckpt_parse_num(p, n, INT32_MAX, count))
		return err_set(e, EXIT_DATAERR, "%s:2: invalid entry count "
		    "'%.*s'", path, (int)(n > 20 ? 20 : n), p);
	return 0;
}

int
ckpt_read_lines(const char *path, size_t max_size, ckpt_line_fn *fn,
    void *arg, struct err *e)
{
	char *text = NULL;
	const char *p, *end, *nl;
	int64_t count = -1;
	size_t len, line = 0, found = 0;
	int r = -1;

	if (file_read_all(path, max_size, &text, &len, e) < 0)
		return -1;
	end = text + len;
	for (p = text; p < end; p = nl + 1) {
		size_t n;

		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;	/* no final newline: tolerated */
		n = (size_t)(nl - p);
		if (line <= 2) {
			if (parse_head(path, line, p, n, &count, e) < 0)
				goto out;
		} else if ((int64_t)line - 2 > count) {
			err_set(e, EXIT_DATAERR,
			    "%s:%zu: more entries than the count of %" PRId64,
			    path, line, count);
			goto out;
		} else if (fn(arg, p, n, e) < 0) {
			at_line(path, line, e);
			goto out;
		} else {
			found++;
		}
	}
	if (line < 2) {
		err_set(e, EXIT_DATAERR, "%s:%zu: missing %s", path, line + 1,
		    line == 0 ? "version" : "entry count");
		goto out;
	}
	if ((int64_t)found != count) {
		err_set(e, EXIT_DATAERR,
		    "%s:%zu: expected %" PRId64 " entries, found %zu", path,
		    line, count, found);
		goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

static int
read_entry(void *arg, const char *line, size_t len, struct err *e)
{
	struct ckpt *c = arg;
	struct ckpt_entry ent;
	const char *why = parse_entry(line, len, &ent);

	if (why != NULL)
		return err_set(e, EXIT_DATAERR, "%s", why);
	return add(c, ent.topic, ent.partition, ent.offset, e);
}

int
ckpt_read(const char *path, struct ckpt *c, struct err *e)
{
	int r;

	c->count = 0;
	r = ckpt_read_lines(path, CKPT_MAX_FILE, read_entry, c, e);
	if (r == 0)
		r = check_duplicates(path, c, e);
	if (r < 0)
		c->count = 0;
	return r;
}

int
ckpt_write_lines(const char *path, size_t count, ckpt_put_fn *fn,
    const void *arg, struct err *e)
{
	struct buf b = BUF_INIT;
	size_t i;
	int r;

	buf_printf(&b, "0\n%zu\n", count);
	for (i = 0; i < count; i++)
		fn(arg, i, &b);
	if (b.failed) {
		buf_release(&b);
		return err_set(e, EXIT_OSERR, "out of memory writing '%s'",
		    path);
	}
	r = file_write_atomic(path, b.data, b.len, e);
	buf_release(&b);
	return r;
}

static void
put_entry(const void *arg, size_t i, struct buf *b)
{
	const struct ckpt_entry *ent = &((const struct ckpt *)arg)->entries[i];

	buf_printf(b, "%s %" PRId32 " %" PRId64 "\n", ent->topic,
	    ent->partition, ent->offset);
}

int
ckpt_write(const char *path, const struct ckpt *c, struct err *e)
{
	return ckpt_write_lines(path, c->count, put_entry, c, e);
}
