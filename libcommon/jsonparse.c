/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON parsing into a flat token array (see jsonparse.h). A
 * recursive descent whose depth is bounded by the nesting limit; each
 * string is checked for UTF-8 and escapes once, during the parse, so that
 * later decoding cannot fail on content.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonparse.h"
#include "banned.h"

struct parser {
	struct jp_doc *d;
	const uint8_t *s;
	size_t pos, len;
	size_t depth;
	struct err *e;
};

void
jp_init(struct jp_doc *d, const struct jp_limits *lim)
{
	memset(d, 0, sizeof(*d));
	if (lim != NULL) {
		d->lim = *lim;
	} else {
		d->lim.max_len = JP_DEFAULT_MAX_LEN;
		d->lim.max_depth = JP_DEFAULT_MAX_DEPTH;
		d->lim.max_tokens = JP_DEFAULT_MAX_TOKENS;
	}
	if (d->lim.max_len > UINT32_MAX)
		d->lim.max_len = UINT32_MAX;
	if (d->lim.max_tokens > UINT32_MAX)
		d->lim.max_tokens = UINT32_MAX;
}

void
jp_release(struct jp_doc *d)
{
	free(d->tok);
	d->tok = NULL;
	d->ntok = d->cap = 0;
}

const char *
jp_type_name(enum jp_type t)
{
	switch (t) {
	case JP_NULL:
		return "null";
	case JP_FALSE:
	case JP_TRUE:
		return "boolean";
	case JP_NUMBER:
		return "number";
	case JP_STRING:
		return "string";
	case JP_ARRAY:
		return "array";
	case JP_OBJECT:
		return "object";
	}
	return "?";
}

size_t
jp_column(const struct jp_doc *d, size_t i)
{
	return i < d->ntok ? (size_t)d->tok[i].start + 1 : 1;
}

/* Fail at byte `at` (0-based) with a message; returns -1. */
static int
fail_at(struct parser *p, size_t at, const char *what)
{
	return err_set(p->e, EXIT_DATAERR, "column %zu: %s", at + 1, what);
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Append a token; returns its index, or -1 (limits, memory). */
static long
push(struct parser *p, enum jp_type type, size_t start)
{
	struct jp_doc *d = p->d;
	struct jp_token *t;

	if (d->ntok >= d->lim.max_tokens) {
		fail_at(p, start, "too many values");
		return -1;
	}
	if (d->ntok == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct jp_token *grown;

		if (cap > d->lim.max_tokens)
			cap = d->lim.max_tokens;
		grown = realloc(d->tok, cap * sizeof(*grown));
		if (grown == NULL) {
			err_set(p->e, EXIT_OSERR, "out of memory parsing JSON");
			return -1;
		}
		d->tok = grown;
		d->cap = cap;
	}
	t = &d->tok[d->ntok];
	memset(t, 0, sizeof(*t));
	t->type = (uint8_t)type;
	t->start = (uint32_t)start;
	return (long)d->ntok++;
}

static int
hex4(const uint8_t *s, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		uint8_t c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Check a \u escape at s[pos] ('\\'); sets *used to its length (6 or 12). */
static int
check_unicode_escape(struct parser *p, size_t pos, size_t *used)
{
	uint32_t hi, lo;

	if (p->len - pos < 6 || hex4(p->s + pos + 2, &hi) < 0)
		return fail_at(p, pos, "bad \\u escape (want 4 hex digits)");
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail_at(p, pos, "lone low surrogate in a \\u escape");
	if (hi < 0xd800 || hi > 0xdbff) {
		*used = 6;
		return 0;
	}
	if (p->len - pos < 12 || p->s[pos + 6] != '\\' ||
	    p->s[pos + 7] != 'u' || hex4(p->s + pos + 8, &lo) < 0 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return fail_at(p, pos, "high surrogate not followed by a low "
		    "surrogate escape");
	*used = 12;
	return 0;
}

static int
parse_string(struct parser *p)
{
	size_t start = p->pos;
	bool escaped = false;
	long t;

	p->pos++;		/* the opening quote */
	for (;;) {
		uint8_t c;

		/* The common case: plain printable ASCII. */
		while (p->pos < p->len && (c = p->s[p->pos]) >= 0x20 &&
		    c < 0x80 && c != '"' && c != '\\')
			p->pos++;
		if (p->pos >= p->len)
			return fail_at(p, p->pos, "unterminated string");
		c = p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail_at(p, p->pos, "control character in a "
			    "string (escape it)");
		if (c >= 0x80) {
			size_t n = json_utf8_decode(p->s + p->pos,
			    p->len - p->pos, NULL);

			if (n == 0)
				return fail_at(p, p->pos, "invalid UTF-8 in a "
				    "string");
			p->pos += n;
			continue;
		}
		/* a backslash */
		escaped = true;
		if (p->pos + 1 >= p->len)
			return fail_at(p, p->pos, "unterminated string");
		switch (p->s[p->pos + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p->pos += 2;
			break;
		case 'u': {
			size_t used = 0;

			if (check_unicode_escape(p, p->pos, &used) < 0)
				return -1;
			p->pos += used;
			break;
		}
		default:
			return fail_at(p, p->pos, "invalid escape in a string");
		}
	}
	p->pos++;		/* the closing quote */
	if ((t = push(p, JP_STRING, start)) < 0)
		return -1;
	p->d->tok[t].escaped = escaped;
	p->d->tok[t].len = (uint32_t)(p->pos - start);
	p->d->tok[t].next = (uint32_t)p->d->ntok;
	return 0;
}

static bool
is_digit(const struct parser *p, size_t i)
{
	return i < p->len && p->s[i] >= '0' && p->s[i] <= '9';
}

static int
parse_number(struct parser *p)
{
	size_t start = p->pos, i = p->pos;
	bool integer = true;
	long t;

	if (p->s[i] == '-')
		i++;
	if (!is_digit(p, i))
		return fail_at(p, i, "expected a digit");
	if (p->s[i] == '0') {
		i++;
		if (is_digit(p, i))
			return fail_at(p, i, "leading zero in a number");
	} else {
		while (is_digit(p, i))
			i++;
	}
	if (i < p->len && p->s[i] == '.') {
		integer = false;
		i++;
		if (!is_digit(p, i))
			return fail_at(p, i, "expected a digit after '.'");
		while (is_digit(p, i))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		integer = false;
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (!is_digit(p, i))
			return fail_at(p, i, "expected a digit in the "
			    "exponent");
		while (is_digit(p, i))
			i++;
	}
	p->pos = i;
	if ((t = push(p, JP_NUMBER, start)) < 0)
		return -1;
	p->d->tok[t].integer = integer;
	p->d->tok[t].len = (uint32_t)(i - start);
	p->d->tok[t].next = (uint32_t)p->d->ntok;
	return 0;
}

static int
parse_literal(struct parser *p, const char *word, enum jp_type type)
{
	size_t n = strlen(word), start = p->pos;
	long t;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail_at(p, p->pos, "unexpected character");
	p->pos += n;
	if ((t = push(p, type, start)) < 0)
		return -1;
	p->d->tok[t].len = (uint32_t)n;
	p->d->tok[t].next = (uint32_t)p->d->ntok;
	return 0;
}

static int parse_value(struct parser *p);

/* An array or object; `close` is ']' or '}'. */
static int
parse_container(struct parser *p, enum jp_type type)
{
	uint8_t close = type == JP_ARRAY ? ']' : '}';
	size_t start = p->pos;
	uint32_t count = 0;
	long t;

	if (++p->depth > p->d->lim.max_depth)
		return fail_at(p, p->pos, "nested too deeply");
	if ((t = push(p, type, start)) < 0)
		return -1;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		if (type == JP_OBJECT) {
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail_at(p, p->pos, "expected a string "
				    "key");
			if (parse_string(p) < 0)
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail_at(p, p->pos, "expected ':' after "
				    "a key");
			p->pos++;
		}
		if (parse_value(p) < 0)
			return -1;
		count++;
		skip_ws(p);
		if (p->pos >= p->len)
			return fail_at(p, p->pos, type == JP_ARRAY ?
			    "unterminated array" : "unterminated object");
		if (p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		if (p->s[p->pos] != ',')
			return fail_at(p, p->pos, type == JP_ARRAY ?
			    "expected ',' or ']'" : "expected ',' or '}'");
		p->pos++;
	}
done:
	p->depth--;
	p->d->tok[t].count = count;
	p->d->tok[t].len = (uint32_t)(p->pos - start);
	p->d->tok[t].next = (uint32_t)p->d->ntok;
	return 0;
}

static int
parse_value(struct parser *p)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail_at(p, p->pos, "unexpected end of input");
	switch (p->s[p->pos]) {
	case '{':
		return parse_container(p, JP_OBJECT);
	case '[':
		return parse_container(p, JP_ARRAY);
	case '"':
		return parse_string(p);
	case 't':
		return parse_literal(p, "true", JP_TRUE);
	case 'f':
		return parse_literal(p, "false", JP_FALSE);
	case 'n':
		return parse_literal(p, "null", JP_NULL);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(p);
	default:
		return fail_at(p, p->pos, "unexpected character");
	}
}

int
jp_parse(struct jp_doc *d, const char *text, size_t len, struct err *e)
{
	struct parser p;

	d->text = text;
	d->len = len;
	d->ntok = 0;
	if (len > d->lim.max_len)
		return err_set(e, EXIT_DATAERR, "column %zu: text longer than "
		    "%zu bytes", d->lim.max_len + 1, d->lim.max_len);
	memset(&p, 0, sizeof(p));
	p.d = d;
	p.s = (const uint8_t *)text;
	p.len = len;
	p.e = e;
	if (parse_value(&p) < 0)
		goto fail;
	skip_ws(&p);
	if (p.pos != p.len) {
		fail_at(&p, p.pos, "unexpected text after the JSON value");
		goto fail;
	}
	return 0;
fail:
	d->ntok = 0;
	return -1;
}

/*
 * Decode the next character of string content at *s (below end) into
 * out[0..4); returns the number of bytes written. The content was
 * validated by the parse.
 */
static size_t
decode_next(const uint8_t **s, uint8_t out[4])
{
	const uint8_t *p = *s;
	uint32_t cp, lo;

	if (*p != '\\') {
		out[0] = *p;
		*s = p + 1;
		return 1;
	}
	switch (p[1]) {
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		(void)hex4(p + 2, &cp);
		*s = p + 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			(void)hex4(p + 8, &lo);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			*s = p + 12;
		}
		if (cp < 0x80) {
			out[0] = (uint8_t)cp;
			return 1;
		}
		if (cp < 0x800) {
			out[0] = (uint8_t)(0xc0 | cp >> 6);
			out[1] = (uint8_t)(0x80 | (cp & 0x3f));
			return 2;
		}
		if (cp < 0x10000) {
			out[0] = (uint8_t)(0xe0 | cp >> 12);
			out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			out[2] = (uint8_t)(0x80 | (cp & 0x3f));
			return 3;
		}
		out[0] = (uint8_t)(0xf0 | cp >> 18);
		out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (uint8_t)(0x80 | (cp & 0x3f));
		return 4;
	default:		/* '"', '\\', '/' stand for themselves */
		out[0] = p[1];
		break;
	}
	*s = p + 2;
	return 1;
}

bool
jp_str_eq(const struct jp_doc *d, size_t i, const char *s)
{
	const struct jp_token *t = &d->tok[i];
	const uint8_t *p = (const uint8_t *)d->text + t->start + 1;
	const uint8_t *end = p + t->len - 2;
	size_t n = strlen(s), at = 0;

	if (t->type != JP_STRING)
		return false;
	if (!t->escaped)
		return t->len - 2 == n && memcmp(p, s, n) == 0;
	while (p < end) {
		uint8_t ch[4];
		size_t k = decode_next(&p, ch);

		if (n - at < k || memcmp(s + at, ch, k) != 0)
			return false;
		at += k;
	}
	return at == n;
}

int
jp_str_decode(const struct jp_doc *d, size_t i, struct buf *out)
{
	const struct jp_token *t = &d->tok[i];
	const uint8_t *p = (const uint8_t *)d->text + t->start + 1;
	const uint8_t *end = p + t->len - 2;

	if (!t->escaped) {
		buf_put(out, p, t->len - 2);
		return out->failed ? -1 : 0;
	}
	/* Decoding never grows the text: reserve once, then write. */
	if (buf_reserve(out, t->len) < 0)
		return -1;
	while (p < end) {
		const uint8_t *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = bs ? (size_t)(bs - p) : (size_t)(end - p);

		memcpy(out->data + out->len, p, run);
		out->len += run;
		p += run;
		if (p < end)
			out->len += decode_next(&p, out->data + out->len);
	}
	return 0;
}

int
jp_i64(const struct jp_doc *d, size_t i, int64_t *out)
{
	const struct jp_token *t = &d->tok[i];
	const char *p = d->text + t->start, *end = p + t->len;
	bool neg = false;
	uint64_t v = 0, limit;

	if (t->type != JP_NUMBER || !t->integer)
		return -1;
	if (*p == '-') {
		neg = true;
		p++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (v > (limit - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

size_t
jp_obj_get(const struct jp_doc *d, size_t obj, const char *key)
{
	size_t m, i;

	if (obj >= d->ntok || d->tok[obj].type != JP_OBJECT)
		return 0;
	m = obj + 1;
	for (i = 0; i < d->tok[obj].count; i++) {
		if (jp_str_eq(d, m, key))
			return m + 1;
		m = d->tok[m + 1].next;
	}
	return 0;
}
