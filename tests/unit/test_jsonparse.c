/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON parsing: the token layout, string decoding (escapes,
 * surrogate pairs), integers at the int64 edges, and a table of malformed
 * documents each rejected at the expected column; limits on length, depth
 * and the number of values.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonparse.h"
#include "util.h"
#include "tinytest.h"

static int
parse(struct jp_doc *d, const char *s, struct err *e)
{
	return jp_parse(d, s, strlen(s), e);
}

static void
test_jsonparse__layout(void)
{
	static const char s[] =
	    " {\"a\":[1,2,{\"b\":null}],\"c\":\"x\",\"d\":{},\"e\":true} ";
	struct jp_doc d;
	struct err e = { 0 };
	size_t a, c;

	jp_init(&d, NULL);
	CHECK(parse(&d, s, &e) == 0);
	CHECK(d.tok[0].type == JP_OBJECT && d.tok[0].count == 4);
	CHECK(d.tok[0].next == d.ntok);
	CHECK(jp_column(&d, 0) == 2);
	CHECK(jp_str_eq(&d, 1, "a"));
	a = jp_obj_get(&d, 0, "a");
	CHECK(a == 2 && d.tok[a].type == JP_ARRAY && d.tok[a].count == 3);
	CHECK(d.tok[3].type == JP_NUMBER && d.tok[4].type == JP_NUMBER);
	CHECK(d.tok[5].type == JP_OBJECT && d.tok[5].count == 1);
	CHECK(d.tok[7].type == JP_NULL);
	CHECK(d.tok[a].next == 8);
	c = jp_obj_get(&d, 0, "c");
	CHECK(c == 9 && d.tok[c].type == JP_STRING && d.tok[c].len == 3);
	CHECK(d.tok[jp_obj_get(&d, 0, "d")].type == JP_OBJECT);
	CHECK(d.tok[jp_obj_get(&d, 0, "d")].count == 0);
	CHECK(d.tok[jp_obj_get(&d, 0, "e")].type == JP_TRUE);
	CHECK(jp_obj_get(&d, 0, "missing") == 0);
	CHECK(jp_obj_get(&d, a, "a") == 0);	/* not an object */
	/* scalars at the top level */
	CHECK(parse(&d, "\"s\"", &e) == 0 && d.ntok == 1);
	CHECK(parse(&d, "false", &e) == 0 && d.tok[0].type == JP_FALSE);
	CHECK(parse(&d, " -0.5e+3 ", &e) == 0 && !d.tok[0].integer);
	CHECK(parse(&d, "[]", &e) == 0 && d.tok[0].count == 0);
	jp_release(&d);
}

static void
test_jsonparse__strings(void)
{
	static const struct {
		const char *json;
		const char *want;
		size_t want_len;
	} cases[] = {
		{ "\"\"", "", 0 },
		{ "\"plain\"", "plain", 5 },
		{ "\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7 },
		{ "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5 },
		{ "\"\\u0000x\"", "\0x", 2 },
		{ "\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5 },
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },
		{ "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
		  "caf\xc3\xa9 \xf0\x9f\x98\x80", 10 },
		{ "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
		  "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11 },
	};
	struct jp_doc d;
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	size_t i;

	jp_init(&d, NULL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECKF(parse(&d, cases[i].json, &e) == 0, "case %zu: %s", i,
		    e.msg);
		buf_clear(&b);
		CHECK(jp_str_decode(&d, 0, &b) == 0);
		CHECKF(b.len == cases[i].want_len && (b.len == 0 ||
		    memcmp(b.data, cases[i].want, b.len) == 0), "case %zu", i);
		if (memchr(cases[i].want, '\0', cases[i].want_len) == NULL)
			CHECKF(jp_str_eq(&d, 0, cases[i].want), "case %zu", i);
	}
	CHECK(parse(&d, "\"a\\nb\"", &e) == 0);
	CHECK(!jp_str_eq(&d, 0, "a\nbc"));
	CHECK(!jp_str_eq(&d, 0, "a\n"));
	CHECK(!jp_str_eq(&d, 0, "anb"));
	CHECK(parse(&d, "1", &e) == 0 && !jp_str_eq(&d, 0, "1"));
	buf_release(&b);
	jp_release(&d);
}

static void
test_jsonparse__integers(void)
{
	static const struct {
		const char *json;
		int ok;
		int64_t want;
	} cases[] = {
		{ "0", 1, 0 },
		{ "-0", 1, 0 },
		{ "42", 1, 42 },
		{ "-17", 1, -17 },
		{ "1700000000000", 1, 1700000000000LL },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "-9223372036854775808", 1, INT64_MIN },
		{ "9223372036854775808", 0, 0 },
		{ "-9223372036854775809", 0, 0 },
		{ "99999999999999999999999", 0, 0 },
		{ "1.0", 0, 0 },
		{ "1e3", 0, 0 },
		{ "\"1\"", 0, 0 },
	};
	struct jp_doc d;
	struct err e = { 0 };
	size_t i;
	int64_t v;

	jp_init(&d, NULL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECKF(parse(&d, cases[i].json, &e) == 0, "case %zu", i);
		v = -1;
		CHECKF((jp_i64(&d, 0, &v) == 0) == cases[i].ok, "case %zu", i);
		if (cases[i].ok)
			CHECKF(v == cases[i].want, "case %zu: %lld", i,
			    (long long)v);
	}
	jp_release(&d);
}

/* Malformed text, each with the column the error must name. */
static void
test_jsonparse__malformed(void)
{
	static const struct {
		const char *json;
		size_t len;		/* 0: strlen */
		size_t col;
		const char *why;
	} cases[] = {
		{ "", 0, 1, "unexpected end of input" },
		{ "   ", 0, 4, "unexpected end of input" },
		{ "{", 0, 2, "expected a string key" },
		{ "{\"a\"", 0, 5, "expected ':'" },
		{ "{\"a\":", 0, 6, "unexpected end of input" },
		{ "{\"a\":1", 0, 7, "unterminated object" },
		{ "{\"a\":1,}", 0, 8, "expected a string key" },
		{ "{a:1}", 0, 2, "expected a string key" },
		{ "{'a':1}", 0, 2, "expected a string key" },
		{ "{\"a\" 1}", 0, 6, "expected ':'" },
		{ "{\"a\":1 \"b\":2}", 0, 8, "expected ',' or '}'" },
		{ "[1,]", 0, 4, "unexpected character" },
		{ "[1 2]", 0, 4, "expected ',' or ']'" },
		{ "[", 0, 2, "unexpected end of input" },
		{ "[1", 0, 3, "unterminated array" },
		{ "01", 0, 2, "leading zero" },
		{ "-", 0, 2, "expected a digit" },
		{ "-a", 0, 2, "expected a digit" },
		{ "1.", 0, 3, "expected a digit after '.'" },
		{ "1.e5", 0, 3, "expected a digit after '.'" },
		{ "1e", 0, 3, "exponent" },
		{ "1e+", 0, 4, "exponent" },
		{ "+1", 0, 1, "unexpected character" },
		{ ".5", 0, 1, "unexpected character" },
		{ "tru", 0, 1, "unexpected character" },
		{ "nul", 0, 1, "unexpected character" },
		{ "True", 0, 1, "unexpected character" },
		{ "NaN", 0, 1, "unexpected character" },
		{ "\"abc", 0, 5, "unterminated string" },
		{ "\"a\\", 0, 3, "unterminated string" },
		{ "\"a\tb\"", 0, 3, "control character" },
		{ "\"a\nb\"", 0, 3, "control character" },
		{ "\"\\x41\"", 0, 2, "invalid escape" },
		{ "\"\\'\"", 0, 2, "invalid escape" },
		{ "\"\\u12\"", 0, 2, "\\u escape" },
		{ "\"\\u12G4\"", 0, 2, "\\u escape" },
		{ "\"\\ud800\"", 0, 2, "surrogate" },
		{ "\"\\ud800\\u0041\"", 0, 2, "surrogate" },
		{ "\"\\udc00\"", 0, 2, "lone low surrogate" },
		{ "\"\xff\"", 0, 2, "invalid UTF-8" },
		{ "\"\xc3\"", 0, 2, "invalid UTF-8" },
		{ "\"\xc0\xaf\"", 0, 2, "invalid UTF-8" },
		{ "\"\xed\xa0\x80\"", 0, 2, "invalid UTF-8" },
		{ "{} {}", 0, 4, "after the JSON value" },
		{ "1 2", 0, 3, "after the JSON value" },
		{ "{}x", 0, 3, "after the JSON value" },
		{ "/* c */ 1", 0, 1, "unexpected character" },
		{ "\xef\xbb\xbf{}", 0, 1, "unexpected character" },
		{ "[1]\0", 4, 4, "after the JSON value" },
		{ "\"a\0b\"", 5, 3, "control character" },
	};
	struct jp_doc d;
	struct err e;
	size_t i;

	jp_init(&d, NULL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[64];
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].json);

		memset(&e, 0, sizeof(e));
		CHECKF(jp_parse(&d, cases[i].json, len, &e) == -1,
		    "case %zu parsed", i);
		CHECKF(e.code == EXIT_DATAERR, "case %zu", i);
		snprintf(want, sizeof(want), "column %zu: ", cases[i].col);
		CHECKF(strncmp(e.msg, want, strlen(want)) == 0 &&
		    strstr(e.msg, cases[i].why) != NULL, "case %zu: got '%s'",
		    i, e.msg);
		CHECK(d.ntok == 0);
	}
	jp_release(&d);
}

static void
test_jsonparse__limits(void)
{
	struct jp_limits lim = { 16, 3, 5 };
	struct jp_doc d;
	struct err e = { 0 };
	char deep[300];
	size_t i;

	jp_init(&d, &lim);
	CHECK(parse(&d, "[[[1]]]", &e) == 0);
	CHECK(parse(&d, "[[[[1]]]]", &e) == -1);
	CHECK(strstr(e.msg, "column 4: nested too deeply") != NULL);
	CHECK(parse(&d, "[1,2,3,4]", &e) == 0);
	CHECK(parse(&d, "[1,2,3,4,5]", &e) == -1);
	CHECK(strstr(e.msg, "column 10: too many values") != NULL);
	CHECK(parse(&d, "\"0123456789abcdef\"", &e) == -1);
	CHECK(strstr(e.msg, "text longer than 16 bytes") != NULL);
	jp_release(&d);

	/* the default depth stops a deep document without a crash */
	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = '[';
	deep[sizeof(deep) - 1] = '\0';
	jp_init(&d, NULL);
	CHECK(parse(&d, deep, &e) == -1);
	CHECK(strstr(e.msg, "nested too deeply") != NULL);
	/* the token array is reused and grows past its first size */
	{
		struct buf b = BUF_INIT;

		buf_putc(&b, '[');
		for (i = 0; i < 1000; i++)
			buf_printf(&b, "%s%zu", i ? "," : "", i);
		buf_putc(&b, ']');
		CHECK(jp_parse(&d, (const char *)b.data, b.len, &e) == 0);
		CHECK(d.ntok == 1001 && d.tok[0].count == 1000);
		buf_release(&b);
	}
	jp_release(&d);
}

int
main(void)
{
	TEST(test_jsonparse__layout);
	TEST(test_jsonparse__strings);
	TEST(test_jsonparse__integers);
	TEST(test_jsonparse__malformed);
	TEST(test_jsonparse__limits);
	TEST_DONE();
}
