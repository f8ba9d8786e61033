/* SPDX-License-Identifier: MIT */
/*
 * Byte reader and varints: encodings at the edges of each range, overlong
 * and truncated varints, sticky failure, and big-endian loads.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "bytes.h"
#include "tinytest.h"

static void
test_bytes__varint_edges(void)
{
	static const int32_t vals[] = { 0, 1, -1, 63, -64, 64, -65, 8191,
		-8192, 8192, INT32_MAX, INT32_MIN, 1 << 20, -(1 << 20) };
	static const size_t sizes[] = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 5, 5,
		4, 3 };
	uint8_t tmp[5];
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct breader r;
		size_t n = varint_put(tmp, vals[i]);

		CHECKF(n == sizes[i], "value %d size %zu", vals[i], n);
		CHECK(n == varint_size(vals[i]));
		br_init(&r, tmp, n);
		CHECK(br_varint(&r) == vals[i]);
		CHECK(br_ok(&r) && br_left(&r) == 0);
	}
	/* Kafka's examples: zigzag 0 -> 00, -1 -> 01, 1 -> 02, 300 -> d8 04 */
	CHECK(varint_put(tmp, 300) == 2 && tmp[0] == 0xd8 && tmp[1] == 0x04);
	CHECK(varint_put(tmp, -1) == 1 && tmp[0] == 0x01);
}

static void
test_bytes__varlong_edges(void)
{
	static const int64_t vals[] = { 0, -1, 1, INT64_MAX, INT64_MIN,
		(int64_t)1 << 35, -((int64_t)1 << 35), 1700000000000LL };
	uint8_t tmp[10];
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct breader r;
		size_t n = varlong_put(tmp, vals[i]);

		CHECK(n == varlong_size(vals[i]) && n <= 10);
		br_init(&r, tmp, n);
		CHECK(br_varlong(&r) == vals[i]);
		CHECK(br_ok(&r) && br_left(&r) == 0);
	}
	CHECK(varlong_put(tmp, INT64_MIN) == 10);
}

static void
test_bytes__malformed_varints(void)
{
	static const uint8_t overlong32[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t big32[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t overlong64[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t cut[] = { 0x80, 0x80 };
	struct breader r;

	br_init(&r, overlong32, sizeof(overlong32));
	(void)br_varint(&r);
	CHECK(!br_ok(&r));
	br_init(&r, big32, sizeof(big32));
	(void)br_varint(&r);
	CHECK(!br_ok(&r));
	br_init(&r, overlong64, sizeof(overlong64));
	(void)br_varlong(&r);
	CHECK(!br_ok(&r));
	br_init(&r, cut, sizeof(cut));
	(void)br_varint(&r);
	CHECK(!br_ok(&r) && strstr(r.fail, "truncated") != NULL);
	br_init(&r, cut, 0);
	(void)br_varlong(&r);
	CHECK(!br_ok(&r));
}

/*
 * The inline readers decode one- and two-byte varints themselves and hand
 * everything else to bytes.c: check both sides of that line, at the very
 * end of the input, and that a failed reader yields 0 from either path.
 */
static void
test_bytes__varint_fast_path_edges(void)
{
	static const int64_t vals[] = { 0, -1, 1, -64, 63, 64, -65, -8192,
		8191, 8192, -8193 };
	static const uint8_t cut2[] = { 0x81 };		/* wants a 2nd byte */
	static const uint8_t cut3[] = { 0x81, 0x82 };	/* wants a 3rd */
	static const uint8_t u5[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t u5big[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
	static const uint8_t two[] = { 0x02, 0x04 };
	uint8_t tmp[12];
	struct breader r;
	size_t i, n;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		n = varlong_put(tmp, vals[i]);
		br_init(&r, tmp, n);
		CHECKF(br_varlong(&r) == vals[i], "varlong %lld",
		    (long long)vals[i]);
		CHECK(br_ok(&r) && br_left(&r) == 0);
		n = varint_put(tmp, (int32_t)vals[i]);
		br_init(&r, tmp, n);
		CHECKF(br_varint(&r) == vals[i], "varint %lld",
		    (long long)vals[i]);
		CHECK(br_ok(&r) && br_left(&r) == 0);
		CHECK(varint_size((int32_t)vals[i]) == n);
	}
	br_init(&r, cut2, sizeof(cut2));
	CHECK(br_varint(&r) == 0 && !br_ok(&r));
	CHECK(strstr(r.fail, "truncated") != NULL && r.fail_at == 1);
	br_init(&r, cut3, sizeof(cut3));
	CHECK(br_varlong(&r) == 0 && !br_ok(&r));
	CHECK(strstr(r.fail, "truncated") != NULL);
	br_init(&r, cut3, sizeof(cut3));
	CHECK(br_uvarint(&r) == 0 && !br_ok(&r));
	n = uvarint_put(tmp, 300);
	br_init(&r, tmp, n);
	CHECK(n == 2 && br_uvarint(&r) == 300 && br_ok(&r));
	br_init(&r, u5, sizeof(u5));
	CHECK(br_uvarint(&r) == UINT32_MAX && br_ok(&r));
	br_init(&r, u5big, sizeof(u5big));
	CHECK(br_uvarint(&r) == 0 && !br_ok(&r));
	CHECK(strstr(r.fail, "out of range") != NULL);
	/* A failed reader reads nothing more, even where bytes were left. */
	br_init(&r, two, sizeof(two));
	CHECK(br_varint(&r) == 1);
	(void)br_i16(&r);
	CHECK(!br_ok(&r) && br_left(&r) == 0);
	CHECK(br_varint(&r) == 0 && br_varlong(&r) == 0);
	CHECK(br_uvarint(&r) == 0 && br_bytes(&r, 0) == NULL);
	CHECK(r.fail_at == 1 && strstr(r.fail, "truncated") != NULL);
	/* Zero bytes from a healthy reader at its end are fine. */
	br_init(&r, two, sizeof(two));
	CHECK(br_bytes(&r, 2) == two && br_bytes(&r, 0) == two + 2);
	CHECK(br_ok(&r));
}

static void
test_bytes__reader_is_sticky(void)
{
	static const uint8_t d[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 };
	struct breader r;

	br_init(&r, d, sizeof(d));
	CHECK(br_i32(&r) == 0x01020304);
	CHECK(br_i32(&r) == 0);		/* only 2 bytes left */
	CHECK(!br_ok(&r) && r.fail_at == 4);
	CHECK(br_i8(&r) == 0);		/* stays failed */
	CHECK(br_bytes(&r, 0) == NULL);
	br_init(&r, d, sizeof(d));
	CHECK(br_i16(&r) == 0x0102);
	CHECK(br_bytes(&r, 4) == d + 2 && br_left(&r) == 0);
	CHECK(br_bytes(&r, 1) == NULL && !br_ok(&r));
	br_init(&r, d, sizeof(d));
	br_skip(&r, SIZE_MAX);
	CHECK(!br_ok(&r));
}

static void
test_bytes__big_endian(void)
{
	uint8_t b[8];

	be64_store(b, 0x0102030405060708ULL);
	CHECK(b[0] == 1 && b[7] == 8);
	CHECK(be64_load(b) == 0x0102030405060708ULL);
	be32_store(b, 0xdeadbeef);
	CHECK(be32_load(b) == 0xdeadbeef);
	be16_store(b, 0xfffe);
	CHECK(be16_load(b) == 0xfffe);
}

static void
test_bytes__buf_writers(void)
{
	struct buf b = BUF_INIT;
	struct breader r;
	int i;

	buf_put_i8(&b, -2);
	buf_put_i16(&b, -3);
	buf_put_i32(&b, -4);
	buf_put_i64(&b, -5);
	buf_put_varint(&b, -6);
	buf_put_varlong(&b, -7);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	CHECK(!b.failed);
	br_init(&r, b.data, b.len);
	CHECK(br_i8(&r) == -2 && br_i16(&r) == -3 && br_i32(&r) == -4);
	CHECK(br_i64(&r) == -5 && br_varint(&r) == -6 && br_varlong(&r) == -7);
	CHECK(br_ok(&r) && memcmp(r.p, "0,1,2,", 6) == 0);
	buf_release(&b);
}

int
main(void)
{
	TEST(test_bytes__varint_edges);
	TEST(test_bytes__varlong_edges);
	TEST(test_bytes__malformed_varints);
	TEST(test_bytes__varint_fast_path_edges);
	TEST(test_bytes__reader_is_sticky);
	TEST(test_bytes__big_endian);
	TEST(test_bytes__buf_writers);
	TEST_DONE();
}
