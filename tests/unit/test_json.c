/* SPDX-License-Identifier: MIT */
/*
 * JSON helpers: string escaping, strict UTF-8, base64 both ways (RFC 4648
 * test vectors and malformed input), the record envelope's byte fields and
 * the object/array writers.
 */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "tinytest.h"

/* Whether b holds exactly the NUL-terminated text `want`. */
static int
buf_is(const struct buf *b, const char *want)
{
	size_t n = strlen(want);

	return !b->failed && b->len == n &&
	    (n == 0 || memcmp(b->data, want, n) == 0);
}

static void
test_json__utf8_valid(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
		{ "", 0, true },
		{ "plain ascii", 11, true },
		{ "\0nul", 4, true },
		{ "caf\xc3\xa9", 5, true },
		{ "\xe2\x82\xac", 3, true },		/* U+20AC */
		{ "\xf0\x9f\x98\x80", 4, true },	/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, true },	/* U+10FFFF */
		{ "\xef\xbf\xbf", 3, true },		/* U+FFFF */
		{ "\x80", 1, false },			/* lone continuation */
		{ "\xc3", 1, false },			/* truncated */
		{ "\xe2\x82", 2, false },		/* truncated */
		{ "\xc0\xaf", 2, false },		/* overlong '/' */
		{ "\xc1\xbf", 2, false },		/* overlong */
		{ "\xe0\x80\xaf", 3, false },		/* overlong */
		{ "\xf0\x80\x80\xaf", 4, false },	/* overlong */
		{ "\xed\xa0\x80", 3, false },		/* surrogate D800 */
		{ "\xed\xbf\xbf", 3, false },		/* surrogate DFFF */
		{ "\xf4\x90\x80\x80", 4, false },	/* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xff", 1, false },
		{ "ok\xc3\x28", 4, false },		/* bad continuation */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		CHECKF(json_utf8_valid(cases[i].s, cases[i].len) == cases[i].ok,
		    "case %zu", i);
}

static void
test_json__utf8_decode(void)
{
	uint32_t cp = 0;

	CHECK(json_utf8_decode((const uint8_t *)"A", 1, &cp) == 1 && cp == 'A');
	CHECK(json_utf8_decode((const uint8_t *)"\xc3\xa9", 2, &cp) == 2 &&
	    cp == 0xe9);
	CHECK(json_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp) ==
	    4 && cp == 0x1f600);
	CHECK(json_utf8_decode((const uint8_t *)"\xf0\x9f\x98", 3, &cp) == 0);
	CHECK(json_utf8_decode((const uint8_t *)"", 0, &cp) == 0);
}

static void
test_json__string_escaping(void)
{
	struct buf b = BUF_INIT;

	json_put_str(&b, "a\"b\\c/d", 7);
	CHECK(buf_is(&b, "\"a\\\"b\\\\c/d\""));
	buf_clear(&b);
	json_put_str(&b, "\b\f\n\r\t\x01\x1f\x7f", 8);
	CHECK(buf_is(&b, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\""));
	buf_clear(&b);
	json_put_str(&b, "\0x", 2);
	CHECK(buf_is(&b, "\"\\u0000x\""));
	buf_clear(&b);
	/* Valid UTF-8 passes through, invalid bytes become U+FFFD. */
	json_put_str(&b, "caf\xc3\xa9 \xff!", 8);
	CHECK(buf_is(&b, "\"caf\xc3\xa9 \xef\xbf\xbd!\""));
	buf_clear(&b);
	json_put_cstr(&b, "");
	CHECK(buf_is(&b, "\"\""));
	buf_release(&b);
}

static void
test_json__base64_vectors(void)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		buf_clear(&b);
		json_base64_put(&b, vec[i][0], strlen(vec[i][0]));
		CHECKF(buf_is(&b, vec[i][1]), "encode %zu", i);
		CHECK(json_base64_len(strlen(vec[i][0])) == strlen(vec[i][1]));
		buf_clear(&b);
		CHECKF(json_base64_decode(vec[i][1], strlen(vec[i][1]), &b,
		    &e) == 0 && buf_is(&b, vec[i][0]), "decode %zu", i);
	}
	/* Padding is optional on input. */
	buf_clear(&b);
	CHECK(json_base64_decode("Zm8", 3, &b, &e) == 0 && buf_is(&b, "fo"));
	buf_clear(&b);
	CHECK(json_base64_decode("Zg", 2, &b, &e) == 0 && buf_is(&b, "f"));
	buf_release(&b);
}

static void
test_json__base64_roundtrip_binary(void)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	struct err e = { 0 };
	uint8_t all[256];
	size_t n;

	for (n = 0; n < sizeof(all); n++)
		all[n] = (uint8_t)(255 - n);
	for (n = 0; n <= sizeof(all); n++) {
		buf_clear(&enc);
		buf_clear(&dec);
		json_base64_put(&enc, all, n);
		CHECK(enc.len == json_base64_len(n));
		CHECKF(json_base64_decode((const char *)enc.data, enc.len, &dec,
		    &e) == 0, "n=%zu: %s", n, e.msg);
		CHECKF(dec.len == n && (n == 0 || memcmp(dec.data, all, n) == 0),
		    "n=%zu", n);
	}
	buf_release(&enc);
	buf_release(&dec);
}

static void
test_json__base64_malformed(void)
{
	static const char *const bad[] = {
		"Z",		/* impossible length */
		"Zm9vY",	/* impossible length */
		"Zm9v Yg==",	/* whitespace */
		"Zm9v\nYg==",
		"Zm-v",		/* url-safe alphabet */
		"Zm_v",
		"Zg=",		/* padding that does not end a group */
		"Zg===",
		"Zm9=Yg==",	/* padding in the middle */
		"Zh==",		/* non-zero leftover bits */
		"Zm9=",		/* leftover bits (canonical is Zm8=) */
		"Z===",
		"====",
		"Zm8==",
	};
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_clear(&b);
		buf_put_str(&b, "keep");
		err_clear(&e);
		CHECKF(json_base64_decode(bad[i], strlen(bad[i]), &b, &e) == -1,
		    "case %zu accepted", i);
		CHECKF(e.code == EXIT_DATAERR && strstr(e.msg, "base64") != NULL,
		    "case %zu: %s", i, e.msg);
		CHECKF(buf_is(&b, "keep"), "case %zu changed the output", i);
	}
	err_clear(&e);
	CHECK(json_base64_decode("Zm9v!mFy", 8, &b, &e) == -1);
	CHECK(strstr(e.msg, "position 4") != NULL);
	buf_release(&b);
}

static void
test_json__bytes_field(void)
{
	struct buf b = BUF_INIT;

	json_put_bytes(&b, NULL, -1);
	CHECK(buf_is(&b, "null"));
	buf_clear(&b);
	json_put_bytes(&b, "", 0);
	CHECK(buf_is(&b, "\"\""));
	buf_clear(&b);
	json_put_bytes(&b, NULL, 0);
	CHECK(buf_is(&b, "\"\""));
	buf_clear(&b);
	json_put_bytes(&b, "user-17", 7);
	CHECK(buf_is(&b, "\"user-17\""));
	buf_clear(&b);
	json_put_bytes(&b, "line\n\"q\"", 8);
	CHECK(buf_is(&b, "\"line\\n\\\"q\\\"\""));
	buf_clear(&b);
	json_put_bytes(&b, "\x00\x01\x02\x03", 4);	/* valid UTF-8 */
	CHECK(buf_is(&b, "\"\\u0000\\u0001\\u0002\\u0003\""));
	buf_clear(&b);
	json_put_bytes(&b, "\x00\x01\x02\x03\xff", 5);
	CHECK(buf_is(&b, "{\"base64\":\"AAECA/8=\"}"));
	buf_clear(&b);
	json_put_bytes(&b, "\xed\xa0\x80", 3);	/* surrogate: not UTF-8 */
	CHECK(buf_is(&b, "{\"base64\":\"7aCA\"}"));
	buf_release(&b);
}

static void
test_json__objects_and_arrays(void)
{
	struct buf b = BUF_INIT;
	struct json_obj o, h;
	struct json_arr a;

	json_obj_begin(&o, &b);
	json_obj_cstr(&o, "topic", "orders");
	json_obj_i64(&o, "offset", -1);
	json_obj_u64(&o, "big", UINT64_MAX);
	json_obj_bool(&o, "ok", true);
	json_obj_null(&o, "none");
	json_obj_bytes(&o, "key", NULL, -1);
	json_obj_key(&o, "headers");
	json_arr_begin(&a, &b);
	json_arr_next(&a);
	json_obj_begin(&h, &b);
	json_obj_cstr(&h, "key", "x");
	json_obj_bytes(&h, "value", "\xff", 1);
	json_obj_end(&h);
	json_arr_next(&a);
	json_put_i64(&b, 7);
	json_arr_end(&a);
	json_obj_key(&o, "ratio");
	json_put_double(&b, 2.0 / 3.0, 2);
	json_obj_end(&o);
	CHECK(buf_is(&b, "{\"topic\":\"orders\",\"offset\":-1,"
	    "\"big\":18446744073709551615,\"ok\":true,\"none\":null,"
	    "\"key\":null,\"headers\":[{\"key\":\"x\",\"value\":"
	    "{\"base64\":\"/w==\"}},7],\"ratio\":0.67}"));
	buf_clear(&b);
	json_obj_begin(&o, &b);
	json_obj_end(&o);
	json_arr_begin(&a, &b);
	json_arr_end(&a);
	CHECK(buf_is(&b, "{}[]"));
	buf_release(&b);
}

static void
test_json__or_null(void)
{
	struct buf b = BUF_INIT;
	struct json_obj o;

	json_obj_begin(&o, &b);
	json_obj_i64_or_null(&o, "a", 0);
	json_obj_i64_or_null(&o, "b", 42);
	json_obj_i64_or_null(&o, "c", -1);
	json_obj_cstr_or_null(&o, "d", "x");
	json_obj_cstr_or_null(&o, "e", "");
	json_obj_end(&o);
	CHECK(buf_is(&b, "{\"a\":0,\"b\":42,\"c\":null,\"d\":\"x\","
	    "\"e\":null}"));
	buf_release(&b);
}

int
main(void)
{
	TEST(test_json__utf8_valid);
	TEST(test_json__utf8_decode);
	TEST(test_json__string_escaping);
	TEST(test_json__base64_vectors);
	TEST(test_json__base64_roundtrip_binary);
	TEST(test_json__base64_malformed);
	TEST(test_json__bytes_field);
	TEST(test_json__objects_and_arrays);
	TEST(test_json__or_null);
	TEST_DONE();
}
