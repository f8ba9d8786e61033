/* SPDX-License-Identifier: MIT */
/*
 * RecordBatch v2: build/parse round trips for every codec, in-place offset
 * and timestamp rewrites, the builder's explicit offsets, record copies,
 * delete horizons and empty batches (what the log cleaner writes), and
 * table-driven malformed input: every header field corrupted, truncation
 * at every length, and record bytes mangled under a recomputed CRC (the
 * decoder must refuse, never over-read).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "record.h"
#include "tinytest.h"

#define MAX_INFLATE (64u << 20)

static struct rec_bytes
B(const char *s)
{
	struct rec_bytes b = { (const uint8_t *)s, s ? (int32_t)strlen(s) : -1 };

	return b;
}

static int
bytes_eq(struct rec_bytes a, const char *s)
{
	if (s == NULL)
		return a.len == -1 && a.data == NULL;
	return a.len == (int32_t)strlen(s) && memcmp(a.data, s, (size_t)a.len) == 0;
}

/* Five records covering null/empty keys and values and headers. */
static void
build_sample(struct buf *out, enum compress_codec codec)
{
	struct rec_builder b;
	struct rec_header h[3] = {
		{ B("trace"), B("abc") }, { B("x"), B(NULL) }, { B("trace"), B("") },
	};
	static const uint8_t zero_one[2] = { 0, 1 };
	struct rec_bytes bin01 = { zero_one, 2 };
	struct err e = { 0 };

	rec_builder_init(&b, codec, COMPRESS_LEVEL_DEFAULT);
	CHECK(rec_builder_add(&b, 1700000000000, B("k1"), B("v1"), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000005, B(NULL), B("v2"), h, 3) == 0);
	CHECK(rec_builder_add(&b, 1699999999990, B(""), B(NULL), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000001, B("k4"), B(""), h, 1) == 0);
	CHECK(rec_builder_add(&b, 1700000000002, B("\xff\xfe"), bin01, NULL,
	    0) == 0);
	CHECK(rec_builder_finish(&b, out, &e) == 0);
	rec_builder_release(&b);
}

static void
check_sample(const uint8_t *data, size_t len, int64_t base)
{
	struct rec_batch batch;
	struct rec_iter it;
	struct rec_record r;
	struct rec_header h;
	struct breader hr;
	struct err e = { 0 };
	int n = 0;

	CHECKF(rec_batch_parse(data, len, &batch, &e) == 0, "%s", e.msg);
	CHECK(batch.size == len);
	CHECK(batch.record_count == 5 && batch.last_offset_delta == 4);
	CHECK(batch.base_offset == base);
	CHECK(batch.base_timestamp == 1700000000000);
	CHECK(batch.max_timestamp == 1700000000005);
	CHECK(batch.producer_id == -1 && batch.base_sequence == -1);
	CHECK(rec_batch_crc_ok(&batch));
	CHECKF(rec_batch_validate(&batch, REC_VALIDATE_PRODUCE, MAX_INFLATE,
	    &e) == 0, "%s", e.msg);

	rec_iter_init(&it, MAX_INFLATE);
	CHECK(rec_iter_reset(&it, &batch, &e) == 0);
	while (rec_iter_next(&it, &r, &e) == 1) {
		CHECK(r.offset == base + n);
		switch (n) {
		case 0:
			CHECK(bytes_eq(r.key, "k1") && bytes_eq(r.value, "v1"));
			CHECK(r.timestamp == 1700000000000 && r.header_count == 0);
			break;
		case 1:
			CHECK(bytes_eq(r.key, NULL) && bytes_eq(r.value, "v2"));
			CHECK(r.timestamp == 1700000000005 && r.header_count == 3);
			br_init(&hr, r.headers, r.headers_len);
			CHECK(rec_header_next(&hr, &h, &e) == 0);
			CHECK(bytes_eq(h.key, "trace") && bytes_eq(h.value, "abc"));
			CHECK(rec_header_next(&hr, &h, &e) == 0);
			CHECK(bytes_eq(h.key, "x") && bytes_eq(h.value, NULL));
			CHECK(rec_header_next(&hr, &h, &e) == 0);
			CHECK(bytes_eq(h.key, "trace") && bytes_eq(h.value, ""));
			CHECK(br_left(&hr) == 0);
			break;
		case 2:
			CHECK(bytes_eq(r.key, "") && bytes_eq(r.value, NULL));
			CHECK(r.timestamp == 1699999999990);
			break;
		case 3:
			CHECK(bytes_eq(r.key, "k4") && bytes_eq(r.value, ""));
			CHECK(r.header_count == 1);
			break;
		case 4:
			CHECK(r.key.len == 2 && r.key.data[0] == 0xff);
			CHECK(r.value.len == 2 && r.value.data[0] == 0 &&
			    r.value.data[1] == 1);
			break;
		}
		n++;
	}
	CHECKF(n == 5, "iterated %d records: %s", n, e.msg);
	rec_iter_release(&it);
}

static void
test_record__round_trip_every_codec(void)
{
	static const enum compress_codec codecs[] = { COMPRESS_NONE,
		COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD };
	size_t i;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		struct buf out = BUF_INIT;
		struct rec_batch b;
		struct err e = { 0 };

		build_sample(&out, codecs[i]);
		CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
		CHECKF(rec_batch_codec(&b) == codecs[i], "codec %d", codecs[i]);
		check_sample(out.data, out.len, 0);
		buf_release(&out);
	}
}

static void
test_record__base_offset_rewrite_keeps_crc(void)
{
	struct buf out = BUF_INIT;

	build_sample(&out, COMPRESS_LZ4);
	rec_batch_set_base_offset(out.data, 123456789012LL);
	rec_batch_set_leader_epoch(out.data, 7);
	check_sample(out.data, out.len, 123456789012LL);
	CHECK((int32_t)be32_load(out.data + REC_OFF_LEADER_EPOCH) == 7);
	buf_release(&out);
}

static void
test_record__log_append_time(void)
{
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct rec_iter it;
	struct rec_record r;
	struct err e = { 0 };

	build_sample(&out, COMPRESS_NONE);
	rec_batch_set_log_append_time(out.data, out.len, 1800000000000LL);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	CHECK(rec_batch_crc_ok(&b));
	CHECK(b.attributes & REC_ATTR_LOG_APPEND_TIME);
	rec_iter_init(&it, MAX_INFLATE);
	CHECK(rec_iter_reset(&it, &b, &e) == 0);
	while (rec_iter_next(&it, &r, &e) == 1)
		CHECK(r.timestamp == 1800000000000LL);
	rec_iter_release(&it);
	buf_release(&out);
}

static void
test_record__several_batches_back_to_back(void)
{
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct err e = { 0 };
	size_t pos = 0, size;
	int n = 0;

	build_sample(&out, COMPRESS_NONE);
	build_sample(&out, COMPRESS_ZSTD);
	build_sample(&out, COMPRESS_GZIP);
	while (pos < out.len) {
		CHECK(rec_batch_size_peek(out.data + pos, out.len - pos, 1 << 20,
		    &size, &e) == 1);
		CHECK(rec_batch_parse(out.data + pos, out.len - pos, &b, &e) == 0);
		CHECK(size == b.size);
		check_sample(out.data + pos, b.size, 0);
		pos += b.size;
		n++;
	}
	CHECK(n == 3 && pos == out.len);
	buf_release(&out);
}

static void
test_record__size_peek(void)
{
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	size_t size;

	build_sample(&out, COMPRESS_NONE);
	CHECK(rec_batch_size_peek(out.data, 16, 1 << 20, &size, &e) == 0);
	CHECK(rec_batch_size_peek(out.data, 17, 1 << 20, &size, &e) == 1);
	CHECK(size == out.len);
	CHECK(rec_batch_size_peek(out.data, 17, out.len - 1, &size, &e) == -1);
	CHECK(strstr(e.msg, "exceeds the limit") != NULL);
	out.data[REC_OFF_MAGIC] = 1;
	CHECK(rec_batch_size_peek(out.data, 17, 1 << 20, &size, &e) == -1);
	CHECK(strstr(e.msg, "magic") != NULL);
	out.data[REC_OFF_MAGIC] = 2;
	be32_store(out.data + REC_OFF_LENGTH, 10);
	CHECK(rec_batch_size_peek(out.data, 17, 1 << 20, &size, &e) == -1);
	buf_release(&out);
}

static void
test_record__truncated_at_every_length(void)
{
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct err e = { 0 };
	size_t n;

	build_sample(&out, COMPRESS_NONE);
	for (n = 0; n < out.len; n++) {
		e.code = 0;
		CHECKF(rec_batch_parse(out.data, n, &b, &e) == -1, "len %zu", n);
		CHECK(e.code == EXIT_DATAERR);
	}
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	buf_release(&out);
}

/* Corrupt one header field, then expect parse or validate to refuse it. */
struct field_case {
	const char *what;
	size_t off;
	int width;
	int64_t value;
	int fix_crc;		/* recompute the CRC after the change */
	const char *expect;	/* substring of the error */
};

static void
put_field(uint8_t *p, int width, int64_t v)
{
	if (width == 1)
		p[0] = (uint8_t)v;
	else if (width == 2)
		be16_store(p, (uint16_t)v);
	else if (width == 4)
		be32_store(p, (uint32_t)v);
	else
		be64_store(p, (uint64_t)v);
}

static void
test_record__corrupt_header_fields(void)
{
	static const struct field_case cases[] = {
		{ "magic 1", REC_OFF_MAGIC, 1, 1, 0, "magic" },
		{ "magic 3", REC_OFF_MAGIC, 1, 3, 0, "magic" },
		{ "length short", REC_OFF_LENGTH, 4, 20, 0, "below the header" },
		{ "length negative", REC_OFF_LENGTH, 4, -1, 0, "below the header" },
		{ "length long", REC_OFF_LENGTH, 4, 100000, 0, "truncated batch" },
		{ "negative base", REC_OFF_BASE_OFFSET, 8, -5, 0, "negative base" },
		{ "count negative", REC_OFF_RECORD_COUNT, 4, -1, 1, "negative record count" },
		{ "count high", REC_OFF_RECORD_COUNT, 4, 6, 1, "does not match 6 records" },
		{ "count low", REC_OFF_RECORD_COUNT, 4, 4, 1, "" },
		{ "delta negative", REC_OFF_LAST_OFFSET_DELTA, 4, -1, 1, "negative last offset" },
		{ "delta short", REC_OFF_LAST_OFFSET_DELTA, 4, 2, 1, "" },
		{ "codec 7", REC_OFF_ATTRIBUTES, 2, 7, 1, "unknown compression" },
		{ "codec lie", REC_OFF_ATTRIBUTES, 2, COMPRESS_LZ4, 1, "lz4" },
		{ "control", REC_OFF_ATTRIBUTES, 2, REC_ATTR_CONTROL, 1, "control batch" },
		{ "crc", REC_OFF_CRC, 4, 0x12345678, 0, "bad CRC" },
		{ "attributes no crc", REC_OFF_ATTRIBUTES, 2, REC_ATTR_TRANSACTIONAL, 0, "bad CRC" },
		{ "max ts no crc", REC_OFF_MAX_TIMESTAMP, 8, 42, 0, "bad CRC" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct field_case *c = &cases[i];
		struct buf out = BUF_INIT;
		struct rec_batch b;
		struct err e = { 0 };
		int r;

		build_sample(&out, COMPRESS_NONE);
		put_field(out.data + c->off, c->width, c->value);
		if (c->fix_crc)
			be32_store(out.data + REC_OFF_CRC,
			    rec_batch_crc_compute(out.data, out.len));
		r = rec_batch_parse(out.data, out.len, &b, &e);
		if (r == 0)
			r = rec_batch_validate(&b, REC_VALIDATE_PRODUCE,
			    MAX_INFLATE, &e);
		CHECKF(r == -1, "case '%s' was accepted", c->what);
		CHECKF(e.code == EXIT_DATAERR, "case '%s' code %d", c->what,
		    e.code);
		CHECKF(strstr(e.msg, c->expect) != NULL,
		    "case '%s': message '%s' lacks '%s'", c->what, e.msg,
		    c->expect);
		buf_release(&out);
	}
}

/*
 * Flip every byte of the records area in turn (CRC recomputed so the
 * record decoder itself is exercised): each result is either a valid batch
 * or an error, and ASan checks that nothing is read out of bounds.
 */
static void
test_record__mangled_records_never_overread(void)
{
	static const uint8_t xors[] = { 0x01, 0x80, 0xff, 0x7f };
	struct buf out = BUF_INIT, copy = BUF_INIT;
	size_t pos, k;
	int refused = 0;

	build_sample(&out, COMPRESS_NONE);
	for (pos = REC_OFF_RECORDS; pos < out.len; pos++) {
		for (k = 0; k < sizeof(xors); k++) {
			struct rec_batch b;
			struct err e = { 0 };
			uint8_t *p;

			buf_clear(&copy);
			/* An exact-size heap copy so ASan sees any over-read. */
			buf_release(&copy);
			p = buf_extend(&copy, out.len);
			memcpy(p, out.data, out.len);
			copy.cap = copy.len;
			p[pos] ^= xors[k];
			be32_store(p + REC_OFF_CRC,
			    rec_batch_crc_compute(p, out.len));
			CHECK(rec_batch_parse(p, out.len, &b, &e) == 0);
			if (rec_batch_validate(&b, 0, MAX_INFLATE, &e) < 0) {
				refused++;
				CHECK(e.code == EXIT_DATAERR);
			}
		}
	}
	CHECK(refused > 0);
	buf_release(&copy);
	buf_release(&out);
}

/* Without the producer rules, a record count that lies is still caught. */
static void
test_record__count_mismatch_in_log(void)
{
	static const int32_t counts[] = { 4, 6, 1000 };
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct buf out = BUF_INIT;
		struct rec_batch b;
		struct err e = { 0 };

		build_sample(&out, COMPRESS_NONE);
		be32_store(out.data + REC_OFF_RECORD_COUNT, (uint32_t)counts[i]);
		be32_store(out.data + REC_OFF_CRC,
		    rec_batch_crc_compute(out.data, out.len));
		CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
		CHECK(rec_batch_validate(&b, 0, MAX_INFLATE, &e) == -1);
		CHECKF(strstr(e.msg, counts[i] < 5 ? "trailing bytes" :
		    "ends before its record count") != NULL, "%s", e.msg);
		buf_release(&out);
	}
}

/* Compacted batches keep gaps in offset deltas: valid in the log, not from a producer. */
static void
test_record__offset_gaps_log_vs_produce(void)
{
	struct buf rec = BUF_INIT, batch = BUF_INIT;
	static const int32_t deltas[] = { 0, 3, 7 };
	struct rec_batch b;
	struct err e = { 0 };
	uint8_t *h;
	size_t i;

	for (i = 0; i < 3; i++) {
		/* attributes, ts delta, offset delta, key null, value "v", no headers */
		int32_t body = (int32_t)(1 + 1 + varint_size(deltas[i]) + 1 + 2 + 1);

		buf_put_varint(&rec, body);
		buf_put_i8(&rec, 0);
		buf_put_varlong(&rec, 0);
		buf_put_varint(&rec, deltas[i]);
		buf_put_varint(&rec, -1);
		buf_put_varint(&rec, 1);
		buf_putc(&rec, 'v');
		buf_put_varint(&rec, 0);
	}
	h = buf_extend(&batch, REC_BATCH_HEADER_SIZE);
	memset(h, 0, REC_BATCH_HEADER_SIZE);
	buf_put(&batch, rec.data, rec.len);
	h = batch.data;
	be32_store(h + REC_OFF_LENGTH, (uint32_t)(batch.len - 12));
	h[REC_OFF_MAGIC] = 2;
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA, 8);
	be32_store(h + REC_OFF_RECORD_COUNT, 3);
	be32_store(h + REC_OFF_CRC, rec_batch_crc_compute(h, batch.len));
	CHECK(rec_batch_parse(batch.data, batch.len, &b, &e) == 0);
	CHECKF(rec_batch_validate(&b, 0, MAX_INFLATE, &e) == 0, "%s", e.msg);
	CHECK(rec_batch_validate(&b, REC_VALIDATE_PRODUCE, MAX_INFLATE, &e) == -1);
	/* A delta beyond last_offset_delta is refused even in the log. */
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA, 5);
	be32_store(h + REC_OFF_CRC, rec_batch_crc_compute(h, batch.len));
	CHECK(rec_batch_parse(batch.data, batch.len, &b, &e) == 0);
	CHECK(rec_batch_validate(&b, 0, MAX_INFLATE, &e) == -1);
	CHECK(strstr(e.msg, "out of order") != NULL);
	buf_release(&rec);
	buf_release(&batch);
}

static void
test_record__decompression_is_bounded(void)
{
	struct rec_builder bld;
	struct buf out = BUF_INIT;
	static char big[1 << 16];
	struct rec_bytes v = { (const uint8_t *)big, sizeof(big) };
	struct rec_batch b;
	struct err e = { 0 };
	int i;

	memset(big, 'a', sizeof(big));
	rec_builder_init(&bld, COMPRESS_ZSTD, COMPRESS_LEVEL_DEFAULT);
	for (i = 0; i < 64; i++)
		CHECK(rec_builder_add(&bld, 0, B(NULL), v, NULL, 0) == 0);
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	CHECK(out.len < 100000);	/* 4 MiB of 'a' compresses well */
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	CHECK(rec_batch_validate(&b, REC_VALIDATE_PRODUCE, 1 << 20, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(rec_batch_validate(&b, REC_VALIDATE_PRODUCE, 8 << 20, &e) == 0);
	rec_builder_release(&bld);
	buf_release(&out);
}

static void
test_record__builder_reuse_and_empty(void)
{
	struct rec_builder bld;
	struct buf out = BUF_INIT;
	struct err e = { 0 };

	rec_builder_init(&bld, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	CHECK(rec_builder_finish(&bld, &out, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE && out.len == 0);
	CHECK(rec_builder_add(&bld, 5, B("a"), B("b"), NULL, 0) == 0);
	CHECK(rec_builder_size(&bld) > REC_BATCH_HEADER_SIZE);
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	rec_builder_reset(&bld);
	CHECK(bld.count == 0 && rec_builder_size(&bld) == REC_BATCH_HEADER_SIZE);
	rec_builder_release(&bld);
	buf_release(&out);
}

static const enum compress_codec all_codecs[] = { COMPRESS_NONE,
	COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD };

/*
 * A batch as the cleaner rebuilds one: base offset and last offset delta
 * set, records at deltas 1, 4 and 9 (with a header), every codec; it
 * parses and validates under the log's rules, not under a producer's.
 */
static void
test_record__builder_explicit_offsets(void)
{
	static const int32_t deltas[] = { 1, 4, 9 };
	struct rec_header h = { B("h"), B("x") };
	size_t c;

	for (c = 0; c < sizeof(all_codecs) / sizeof(all_codecs[0]); c++) {
		struct rec_builder bld;
		struct buf out = BUF_INIT;
		struct rec_batch b;
		struct rec_iter it;
		struct rec_record r;
		struct err e = { 0 };
		int n = 0;
		size_t i;

		rec_builder_init(&bld, all_codecs[c], COMPRESS_LEVEL_DEFAULT);
		bld.base_offset = 5000;
		bld.last_offset_delta = 11;
		bld.producer_id = 77;
		bld.producer_epoch = 3;
		bld.base_sequence = 40;
		for (i = 0; i < 3; i++)
			CHECK(rec_builder_add_at(&bld, deltas[i],
			    1000 + (int64_t)i, B("k"), B("v"), &h, 1) == 0);
		CHECK(rec_builder_finish(&bld, &out, &e) == 0);
		CHECKF(rec_batch_parse(out.data, out.len, &b, &e) == 0, "%s",
		    e.msg);
		CHECK(b.base_offset == 5000 && b.last_offset_delta == 11);
		CHECK(rec_batch_last_offset(&b) == 5011);
		CHECK(b.record_count == 3 &&
		    rec_batch_codec(&b) == all_codecs[c]);
		CHECK(b.producer_id == 77 && b.producer_epoch == 3 &&
		    b.base_sequence == 40);
		CHECK(b.base_timestamp == 1000 && b.max_timestamp == 1002);
		CHECKF(rec_batch_validate(&b, 0, MAX_INFLATE, &e) == 0, "%s",
		    e.msg);
		CHECK(rec_batch_validate(&b, REC_VALIDATE_PRODUCE, MAX_INFLATE,
		    &e) == -1);
		rec_iter_init(&it, MAX_INFLATE);
		CHECK(rec_iter_reset(&it, &b, &e) == 0);
		while (rec_iter_next(&it, &r, &e) == 1) {
			CHECK(n < 3 && r.offset == 5000 + deltas[n]);
			CHECK(r.timestamp == 1000 + n && r.header_count == 1);
			n++;
		}
		CHECK(n == 3);
		rec_iter_release(&it);
		rec_builder_release(&bld);
		buf_release(&out);
	}
}

/* Deltas must go up; last_offset_delta may not cut the last record off. */
static void
test_record__builder_delta_rules(void)
{
	struct rec_builder bld;
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct err e = { 0 };

	rec_builder_init(&bld, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	CHECK(rec_builder_add_at(&bld, -1, 0, B("a"), B("b"), NULL, 0) == -1);
	CHECK(rec_builder_add_at(&bld, 3, 0, B("a"), B("b"), NULL, 0) == 0);
	CHECK(rec_builder_add_at(&bld, 3, 0, B("a"), B("b"), NULL, 0) == -1);
	CHECK(rec_builder_add_at(&bld, 2, 0, B("a"), B("b"), NULL, 0) == -1);
	CHECK(bld.count == 1);
	/* rec_builder_add goes on after the last delta */
	CHECK(rec_builder_add(&bld, 0, B("c"), B("d"), NULL, 0) == 0);
	CHECK(bld.last_delta == 4);
	bld.last_offset_delta = 3;
	CHECK(rec_builder_finish(&bld, &out, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE && out.len == 0);
	bld.last_offset_delta = -1;
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	CHECK(b.base_offset == 0 && b.last_offset_delta == 4 &&
	    b.record_count == 2);
	/* reset starts over: deltas from 0, base offset 0 */
	rec_builder_reset(&bld);
	CHECK(bld.last_delta == -1 && bld.last_offset_delta == -1 &&
	    bld.base_offset == 0);
	CHECK(rec_builder_add_at(&bld, 0, 0, B("a"), B("b"), NULL, 0) == 0);
	rec_builder_release(&bld);
	buf_release(&out);
}

/* Copying every record of the sample reproduces it, headers included. */
static void
test_record__builder_add_record_copies(void)
{
	size_t c;

	for (c = 0; c < sizeof(all_codecs) / sizeof(all_codecs[0]); c++) {
		struct buf in = BUF_INIT, out = BUF_INIT;
		struct rec_builder bld;
		struct rec_batch b;
		struct rec_iter it;
		struct rec_record r;
		struct err e = { 0 };

		build_sample(&in, all_codecs[c]);
		rec_batch_set_base_offset(in.data, 900);
		CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
		rec_builder_init(&bld, all_codecs[c], COMPRESS_LEVEL_DEFAULT);
		bld.base_offset = b.base_offset;
		rec_iter_init(&it, MAX_INFLATE);
		CHECK(rec_iter_reset(&it, &b, &e) == 0);
		while (rec_iter_next(&it, &r, &e) == 1)
			CHECK(rec_builder_add_record(&bld,
			    (int32_t)(r.offset - b.base_offset), &r) == 0);
		CHECK(rec_builder_finish(&bld, &out, &e) == 0);
		check_sample(out.data, out.len, 900);
		if (all_codecs[c] == COMPRESS_NONE)
			CHECK(out.len == in.len &&
			    memcmp(out.data, in.data, in.len) == 0);
		rec_iter_release(&it);
		rec_builder_release(&bld);
		buf_release(&in);
		buf_release(&out);
	}
}

/* KIP-534: bit 6 and the base timestamp carry the horizon. */
static void
test_record__builder_delete_horizon(void)
{
	struct rec_builder bld;
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct rec_iter it;
	struct rec_record r;
	struct err e = { 0 };
	int n = 0;

	rec_builder_init(&bld, COMPRESS_ZSTD, COMPRESS_LEVEL_DEFAULT);
	bld.attributes = REC_ATTR_TRANSACTIONAL;
	rec_builder_set_delete_horizon(&bld, 1900000000000LL);
	CHECK(rec_builder_add_at(&bld, 0, 1700000000000LL, B("k"), B(NULL),
	    NULL, 0) == 0);
	CHECK(rec_builder_add_at(&bld, 2, 1700000000009LL, B("j"), B("v"),
	    NULL, 0) == 0);
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	CHECK(b.attributes & REC_ATTR_DELETE_HORIZON);
	CHECK(b.attributes & REC_ATTR_TRANSACTIONAL);
	CHECK(rec_batch_codec(&b) == COMPRESS_ZSTD);
	CHECK(b.base_timestamp == 1900000000000LL);
	CHECK(b.max_timestamp == 1700000000009LL);
	CHECKF(rec_batch_validate(&b, 0, MAX_INFLATE, &e) == 0, "%s", e.msg);
	rec_iter_init(&it, MAX_INFLATE);
	CHECK(rec_iter_reset(&it, &b, &e) == 0);
	while (rec_iter_next(&it, &r, &e) == 1) {
		CHECK(r.timestamp == (n == 0 ? 1700000000000LL :
		    1700000000009LL));
		n++;
	}
	CHECK(n == 2);
	rec_iter_release(&it);
	/* reset drops the horizon, keeps the other bits */
	rec_builder_reset(&bld);
	CHECK(!(bld.attributes & REC_ATTR_DELETE_HORIZON));
	CHECK(bld.attributes & REC_ATTR_TRANSACTIONAL);
	CHECK(rec_builder_add(&bld, 5, B("k"), B("v"), NULL, 0) == 0);
	buf_clear(&out);
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	CHECK(!(b.attributes & REC_ATTR_DELETE_HORIZON));
	CHECK(b.base_timestamp == 5);
	rec_builder_release(&bld);
	buf_release(&out);
}

/* Kafka's writeEmptyHeader: identity kept, records gone. */
static void
test_record__append_empty(void)
{
	struct rec_builder bld;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct rec_batch b, x;
	struct rec_iter it;
	struct rec_record r;
	struct err e = { 0 };

	rec_builder_init(&bld, COMPRESS_GZIP, COMPRESS_LEVEL_DEFAULT);
	bld.base_offset = 300;
	bld.last_offset_delta = 6;
	bld.producer_id = 12;
	bld.producer_epoch = 2;
	bld.base_sequence = 99;
	bld.leader_epoch = 4;
	bld.attributes = REC_ATTR_TRANSACTIONAL | REC_ATTR_LOG_APPEND_TIME;
	rec_builder_set_delete_horizon(&bld, 5000);
	CHECK(rec_builder_add_at(&bld, 2, 700, B("k"), B("v"), NULL, 0) == 0);
	CHECK(rec_builder_finish(&bld, &in, &e) == 0);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	CHECK(rec_batch_append_empty(&b, &out, &e) == 0);
	CHECK(out.len == REC_BATCH_HEADER_SIZE);
	CHECK(rec_batch_parse(out.data, out.len, &x, &e) == 0);
	CHECK(rec_batch_crc_ok(&x));
	CHECK(x.base_offset == 300 && x.last_offset_delta == 6);
	CHECK(x.record_count == 0 && rec_batch_codec(&x) == COMPRESS_NONE);
	CHECK(x.producer_id == 12 && x.producer_epoch == 2 &&
	    x.base_sequence == 99 && x.leader_epoch == 4);
	CHECK(x.attributes == (REC_ATTR_TRANSACTIONAL |
	    REC_ATTR_LOG_APPEND_TIME));
	CHECK(x.base_timestamp == -1 && x.max_timestamp == b.max_timestamp);
	CHECKF(rec_batch_validate(&x, 0, MAX_INFLATE, &e) == 0, "%s", e.msg);
	rec_iter_init(&it, MAX_INFLATE);
	CHECK(rec_iter_reset(&it, &x, &e) == 0);
	CHECK(rec_iter_next(&it, &r, &e) == 0);
	rec_iter_release(&it);
	rec_builder_release(&bld);
	buf_release(&in);
	buf_release(&out);
}

/* One record as the format says, with bytes.c's encoders: the reference. */
static void
ref_record(struct buf *out, int32_t delta, int64_t ts_delta,
    struct rec_bytes key, struct rec_bytes value, const struct rec_header *h,
    int32_t nh)
{
	uint8_t tmp[1 << 16], *p = tmp;
	int32_t i;

	*p++ = 0;
	p += varlong_put(p, ts_delta);
	p += varint_put(p, delta);
	p += varint_put(p, key.len);
	if (key.len > 0)
		memcpy(p, key.data, (size_t)key.len), p += key.len;
	p += varint_put(p, value.len);
	if (value.len > 0)
		memcpy(p, value.data, (size_t)value.len), p += value.len;
	p += varint_put(p, nh);
	for (i = 0; i < nh; i++) {
		p += varint_put(p, h[i].key.len);
		memcpy(p, h[i].key.data, (size_t)h[i].key.len);
		p += h[i].key.len;
		p += varint_put(p, h[i].value.len);
		memcpy(p, h[i].value.data, (size_t)h[i].value.len);
		p += h[i].value.len;
	}
	buf_put_varint(out, (int32_t)(p - tmp));
	buf_put(out, tmp, (size_t)(p - tmp));
}

/*
 * Lengths and deltas on both sides of every varint size step (zigzag
 * makes 63/64, 8191/8192 and 1048575/1048576 the edges): the builder's
 * bytes must be exactly the reference's, with and without headers.
 */
static void
test_record__builder_varint_edges(void)
{
	static const int32_t lens[] = { -1, 0, 1, 63, 64, 65, 127, 128,
	    8191, 8192, 8193, 16383, 16384, 40000 };
	static const int64_t tsd[] = { 0, 1, 63, 64, 8191, 8192, -1, -64,
	    -65, 1048575, 1048576, 3000000000LL, -3000000000LL };
	static uint8_t big[40000];
	struct rec_header h[1] = { { B("hk"), B("hv") } };
	struct rec_builder bld;
	struct buf out = BUF_INIT, ref = BUF_INIT;
	struct err e = { 0 };
	size_t i, j;
	int nh;

	memset(big, 'v', sizeof(big));
	for (nh = 0; nh <= 1; nh++) {
		rec_builder_init(&bld, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
		buf_clear(&ref);
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct rec_bytes v = { lens[i] < 0 ? NULL : big, lens[i] };
			struct rec_bytes k = { big, (int32_t)(i * 9) };

			for (j = 0; j < sizeof(tsd) / sizeof(tsd[0]); j++) {
				int32_t d = bld.count;

				CHECK(rec_builder_add(&bld, 1000 + tsd[j],
				    j % 2 ? k : B(NULL), v, nh ? h : NULL,
				    nh) == 0);
				/* tsd[0] is 0: the base timestamp is 1000 */
				ref_record(&ref, d, tsd[j], j % 2 ? k : B(NULL),
				    v, h, nh);
			}
		}
		CHECK(rec_builder_size(&bld) == REC_BATCH_HEADER_SIZE + ref.len);
		CHECK(rec_builder_seal(&bld, &out, &e) == 0);
		CHECK(out.len == REC_BATCH_HEADER_SIZE + ref.len);
		CHECK(memcmp(out.data + REC_OFF_RECORDS, ref.data, ref.len) == 0);
		CHECK(be32_load(out.data + REC_OFF_RECORD_COUNT) ==
		    (uint32_t)(14 * 13));
		rec_builder_release(&bld);
	}
	buf_release(&out);
	buf_release(&ref);
}

/*
 * rec_builder_seal hands over the same bytes rec_builder_finish appends,
 * drops what `out` held, leaves the builder reset, and the buffers
 * keep trading places batch after batch.
 */
static void
test_record__builder_seal(void)
{
	size_t c;

	for (c = 0; c < sizeof(all_codecs) / sizeof(all_codecs[0]); c++) {
		struct rec_builder bld;
		struct buf fin = BUF_INIT, out = BUF_INIT;
		struct err e = { 0 };
		int round, i;

		rec_builder_init(&bld, all_codecs[c], COMPRESS_LEVEL_DEFAULT);
		CHECK(rec_builder_seal(&bld, &out, &e) == -1);
		CHECK(e.code == EXIT_SOFTWARE && out.len == 0);
		buf_put_str(&out, "stale bytes");
		for (round = 0; round < 4; round++) {
			struct rec_batch b;
			char v[32];

			for (i = 0; i <= round * 50; i++) {
				snprintf(v, sizeof(v), "value %d.%d", round, i);
				CHECK(rec_builder_add(&bld, 1700000000000 + i,
				    i % 3 ? B("key") : B(NULL), B(v), NULL,
				    0) == 0);
			}
			bld.base_sequence = round;
			buf_clear(&fin);
			CHECK(rec_builder_finish(&bld, &fin, &e) == 0);
			CHECK(rec_builder_seal(&bld, &out, &e) == 0);
			CHECK(out.len == fin.len);
			CHECK(memcmp(out.data, fin.data, fin.len) == 0);
			CHECK(bld.count == 0 &&
			    rec_builder_size(&bld) == REC_BATCH_HEADER_SIZE);
			CHECKF(rec_batch_parse(out.data, out.len, &b, &e) == 0,
			    "%s", e.msg);
			CHECK(b.record_count == round * 50 + 1);
			CHECK(b.base_sequence == round);
			CHECKF(rec_batch_validate(&b, REC_VALIDATE_PRODUCE,
			    MAX_INFLATE, &e) == 0, "%s", e.msg);
		}
		rec_builder_release(&bld);
		buf_release(&fin);
		buf_release(&out);
	}
}

int
main(void)
{
	TEST(test_record__round_trip_every_codec);
	TEST(test_record__base_offset_rewrite_keeps_crc);
	TEST(test_record__log_append_time);
	TEST(test_record__several_batches_back_to_back);
	TEST(test_record__size_peek);
	TEST(test_record__truncated_at_every_length);
	TEST(test_record__corrupt_header_fields);
	TEST(test_record__mangled_records_never_overread);
	TEST(test_record__count_mismatch_in_log);
	TEST(test_record__offset_gaps_log_vs_produce);
	TEST(test_record__decompression_is_bounded);
	TEST(test_record__builder_reuse_and_empty);
	TEST(test_record__builder_explicit_offsets);
	TEST(test_record__builder_delta_rules);
	TEST(test_record__builder_add_record_copies);
	TEST(test_record__builder_delete_horizon);
	TEST(test_record__append_empty);
	TEST(test_record__builder_varint_edges);
	TEST(test_record__builder_seal);
	TEST_DONE();
}
