/* SPDX-License-Identifier: MIT */
/*
 * rec_check_plain, and rec_batch_validate_iter which calls it for
 * uncompressed batches, against the per-record walk
 * (rec_batch_validate_walk): for every batch below, under every flag
 * combination, all give the same verdict, the same err code and the same
 * message. Valid batches come from rec_builder; the invalid
 * ones from byte flips (CRC recomputed), truncation at every length,
 * trailing bytes, header fields off by one, hand-written records with
 * wrong deltas, lengths and header counts, and a seeded fuzzer writing
 * records whose varints are overlong, overflowing or cut short.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "record.h"
#include "record_check.h"
#include "tinytest.h"

#define MAX_INFLATE (64u << 20)

static const unsigned all_flags[] = { 0, REC_VALIDATE_PRODUCE,
	REC_VALIDATE_KEYS, REC_VALIDATE_PRODUCE | REC_VALIDATE_KEYS };

/* Every refusal reason of the record validator; each must be reached. */
static const char *const reasons[] = {
	"bad CRC", "control batch", "batch has no records",
	"does not match", "batch ends before its record count",
	"bad record length", "record length exceeds the batch",
	": truncated varint", ": varint too long", ": varint out of range",
	": truncated", ": negative length", "negative header count",
	"null header key", "record length does not match its fields",
	"offset delta out of order", "offset deltas are not consecutive",
	"needs a key", "trailing bytes after the last record",
};
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

static struct {
	long accepted, refused, unparsed, compressed;
	long seen[NREASONS];
} st;

static struct rec_bytes
B(const char *s)
{
	struct rec_bytes b = { (const uint8_t *)s, s ? (int32_t)strlen(s) : -1 };

	return b;
}

static void
fix_crc(uint8_t *p, size_t len)
{
	be32_store(p + REC_OFF_CRC, rec_batch_crc_compute(p, len));
}

/* One validator's answer, for comparing with the walk's. */
struct verdict {
	int r;
	struct err e;
};

static bool
same(const struct verdict *a, const struct verdict *b)
{
	return a->r == b->r && a->e.code == b->e.code &&
	    strcmp(a->e.msg, b->e.msg) == 0;
}

/* One iterator for the whole run, as a broker keeps one for its batches. */
static struct rec_iter walk_it, fast_it;

/*
 * Compare the validators on data[0..len) under every flag set: the walk
 * is the reference, rec_check_plain and the dispatching
 * rec_batch_validate_iter must match it. The bytes are copied to an
 * exact-size heap block so ASan flags over-reads.
 */
static void
agree(const uint8_t *data, size_t len, const char *what, long n)
{
	struct rec_batch b;
	struct err e = { 0 };
	uint8_t *p;
	size_t i, k;

	p = malloc(len > 0 ? len : 1);
	if (p == NULL)
		abort();
	memcpy(p, data, len);
	if (rec_batch_parse(p, len, &b, &e) < 0) {
		st.unparsed++;
		goto out;
	}
	if (rec_batch_codec(&b) != COMPRESS_NONE) {
		CHECK(rec_check_plain(&b, 0, &e) == -1);
		CHECK(e.code == EXIT_SOFTWARE);
		st.compressed++;
		goto out;
	}
	for (i = 0; i < sizeof(all_flags) / sizeof(all_flags[0]); i++) {
		unsigned f = all_flags[i];
		struct verdict w = { 0 }, c = { 0 }, v = { 0 };

		w.r = rec_batch_validate_walk(&walk_it, &b, f, &w.e);
		c.r = rec_check_plain(&b, f, &c.e);
		v.r = rec_batch_validate_iter(&fast_it, &b, f, &v.e);
		CHECKF(same(&w, &c) && same(&w, &v),
		    "%s #%ld flags %u: walk %d (%d) '%s', check %d (%d) '%s', "
		    "validate %d (%d) '%s'", what, n, f, w.r, w.e.code,
		    w.e.msg, c.r, c.e.code, c.e.msg, v.r, v.e.code, v.e.msg);
		if (w.r == 0) {
			st.accepted++;
			continue;
		}
		st.refused++;
		for (k = 0; k < NREASONS; k++)
			if (strstr(w.e.msg, reasons[k]) != NULL)
				st.seen[k]++;
	}
out:
	free(p);
}

/* Five records covering null/empty keys and values and headers. */
static void
build_sample(struct buf *out)
{
	struct rec_builder b;
	struct rec_header h[3] = {
		{ B("trace"), B("abc") }, { B("x"), B(NULL) }, { B("trace"), B("") },
	};
	struct err e = { 0 };

	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	CHECK(rec_builder_add(&b, 1700000000000, B("k1"), B("v1"), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000005, B(NULL), B("v2"), h, 3) == 0);
	CHECK(rec_builder_add(&b, 1699999999990, B(""), B(NULL), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000001, B("k4"), B(""), h, 1) == 0);
	CHECK(rec_builder_finish(&b, out, &e) == 0);
	rec_builder_release(&b);
}

/* What kprod sends: null keys, 100-byte values, no headers. */
static void
build_values(struct buf *out, int n, size_t vlen, bool keys)
{
	static uint8_t v[70000];
	struct rec_builder b;
	struct rec_bytes val = { v, (int32_t)vlen };
	struct err e = { 0 };
	char key[16];
	int i;

	memset(v, 'x', sizeof(v));
	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK(rec_builder_add(&b, 1700000000000 + i * 1000,
		    keys ? B(key) : B(NULL), val, NULL, 0) == 0);
	}
	CHECK(rec_builder_finish(&b, out, &e) == 0);
	rec_builder_release(&b);
}

static void
test_record_check__valid_batches(void)
{
	static const size_t vlens[] = { 0, 1, 63, 64, 100, 8191, 8192, 65536 };
	struct buf out = BUF_INIT;
	size_t i;

	build_sample(&out);
	agree(out.data, out.len, "sample", 0);
	for (i = 0; i < sizeof(vlens) / sizeof(vlens[0]); i++) {
		buf_clear(&out);
		build_values(&out, 3, vlens[i], i % 2 == 0);
		agree(out.data, out.len, "values", (long)i);
	}
	buf_clear(&out);
	build_values(&out, 1000, 100, true);
	agree(out.data, out.len, "1000 records", 0);
	rec_batch_set_base_offset(out.data, INT64_MAX - 999);
	agree(out.data, out.len, "high base", 0);
	/* 11 batches, 4 flag sets: only null keys under the KEYS rule fail */
	CHECKF(st.accepted == 34 && st.refused == 10, "%ld %ld", st.accepted,
	    st.refused);
	CHECK(st.seen[17] == 10);
	buf_release(&out);
}

/*
 * Flip every byte: with the CRC recomputed (so that the record checks are
 * reached) and, for the header, without.
 */
static void
flip_every_byte(const struct buf *in, const char *what)
{
	static const uint8_t xors[] = { 0x01, 0x02, 0x40, 0x7f, 0x80, 0xfe,
		0xff };
	struct buf m = BUF_INIT;
	size_t pos, k;

	for (pos = 0; pos < in->len; pos++) {
		for (k = 0; k < sizeof(xors); k++) {
			buf_clear(&m);
			buf_put(&m, in->data, in->len);
			m.data[pos] ^= xors[k];
			if (pos < REC_OFF_CRC || pos >= REC_OFF_ATTRIBUTES)
				fix_crc(m.data, m.len);
			agree(m.data, m.len, what, (long)(pos * 16 + k));
			if (pos < REC_OFF_RECORDS) {
				memcpy(m.data, in->data, in->len);
				m.data[pos] ^= xors[k];
				agree(m.data, m.len, what, (long)pos);
			}
		}
		/* Also each byte set to 0 and to a lone continuation byte. */
		for (k = 0; k < 2 && pos >= REC_OFF_RECORDS; k++) {
			buf_clear(&m);
			buf_put(&m, in->data, in->len);
			m.data[pos] = k ? 0x80 : 0x00;
			fix_crc(m.data, m.len);
			agree(m.data, m.len, what, (long)pos);
		}
	}
	buf_release(&m);
}

static void
test_record_check__flipped_bytes(void)
{
	struct buf in = BUF_INIT;

	build_sample(&in);
	flip_every_byte(&in, "sample flip");
	buf_clear(&in);
	build_values(&in, 3, 100, false);
	flip_every_byte(&in, "values flip");
	buf_release(&in);
}

/*
 * Cut the batch at every length with the batch length and CRC made to
 * agree, so the record walk meets the early end; and grow it with
 * trailing bytes of several kinds.
 */
static void
truncate_and_extend(const struct buf *in, const char *what)
{
	static const uint8_t tails[] = { 0x00, 0x01, 0x02, 0x80, 0xff };
	struct buf m = BUF_INIT;
	size_t len, k, n;

	for (len = REC_BATCH_HEADER_SIZE; len <= in->len; len++) {
		buf_clear(&m);
		buf_put(&m, in->data, len);
		be32_store(m.data + REC_OFF_LENGTH,
		    (uint32_t)(len - REC_BATCH_LOG_OVERHEAD));
		fix_crc(m.data, m.len);
		agree(m.data, m.len, what, (long)len);
		/* Unchanged header: the parser refuses, the walk is not run. */
		agree(in->data, len, what, (long)len);
	}
	for (k = 0; k < sizeof(tails); k++) {
		for (n = 1; n <= 12; n++) {
			size_t i;

			buf_clear(&m);
			buf_put(&m, in->data, in->len);
			for (i = 0; i < n; i++)
				buf_putc(&m, (char)tails[k]);
			be32_store(m.data + REC_OFF_LENGTH,
			    (uint32_t)(m.len - REC_BATCH_LOG_OVERHEAD));
			fix_crc(m.data, m.len);
			agree(m.data, m.len, what, (long)n);
		}
	}
	buf_release(&m);
}

static void
test_record_check__truncated_and_trailing(void)
{
	struct buf in = BUF_INIT;

	build_sample(&in);
	truncate_and_extend(&in, "sample cut");
	buf_clear(&in);
	build_values(&in, 2, 300, true);
	truncate_and_extend(&in, "values cut");
	buf_release(&in);
}

/* record_count and last_offset_delta off by small amounts, each and both. */
static void
test_record_check__counts_off(void)
{
	static const int32_t adj[] = { -2, -1, 0, 1, 2, 1000, INT32_MAX };
	struct buf in = BUF_INIT, m = BUF_INIT;
	size_t i, j;

	build_sample(&in);
	for (i = 0; i < sizeof(adj) / sizeof(adj[0]); i++) {
		for (j = 0; j < sizeof(adj) / sizeof(adj[0]); j++) {
			buf_clear(&m);
			buf_put(&m, in.data, in.len);
			be32_store(m.data + REC_OFF_RECORD_COUNT,
			    (uint32_t)((int64_t)4 + adj[i]));
			be32_store(m.data + REC_OFF_LAST_OFFSET_DELTA,
			    (uint32_t)((int64_t)3 + adj[j]));
			fix_crc(m.data, m.len);
			agree(m.data, m.len, "counts", (long)(i * 16 + j));
			/* And the control bit, refused from producers only. */
			be16_store(m.data + REC_OFF_ATTRIBUTES, REC_ATTR_CONTROL);
			fix_crc(m.data, m.len);
			agree(m.data, m.len, "control", (long)(i * 16 + j));
		}
	}
	buf_release(&in);
	buf_release(&m);
}

/*
 * Hand-written records. A varint is written as `u` (already zigzagged)
 * padded with continuation bytes to `minlen` bytes: overlong encodings.
 */
static void
put_raw(struct buf *o, uint64_t u, int minlen)
{
	int n = 0;

	while (u >= 0x80 || n + 1 < minlen) {
		buf_putc(o, (char)(uint8_t)(u | 0x80));
		u >>= 7;
		n++;
	}
	buf_putc(o, (char)(uint8_t)u);
}

static uint64_t
zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Wrap record bodies into a batch with a correct CRC. */
static void
make_batch(struct buf *out, const struct buf *recs, int32_t count,
    int32_t last_delta)
{
	uint8_t *h;

	buf_clear(out);
	h = buf_extend(out, REC_BATCH_HEADER_SIZE);
	memset(h, 0, REC_BATCH_HEADER_SIZE);
	buf_put(out, recs->data, recs->len);
	h = out->data;
	be64_store(h + REC_OFF_BASE_OFFSET, 42);
	be32_store(h + REC_OFF_LENGTH,
	    (uint32_t)(out->len - REC_BATCH_LOG_OVERHEAD));
	h[REC_OFF_MAGIC] = REC_MAGIC;
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)last_delta);
	be32_store(h + REC_OFF_RECORD_COUNT, (uint32_t)count);
	be64_store(h + REC_OFF_PRODUCER_ID, UINT64_MAX);
	fix_crc(out->data, out->len);
}

/* xorshift64*: a fixed seed, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32) % n;
}

/*
 * A varint field holding `v`: mostly plain, sometimes overlong (still
 * legal, or past 5/10 bytes), overflowing 32 bits, or cut to a lone
 * continuation byte.
 */
static void
fz_varint(struct buf *o, int64_t v, bool is_long)
{
	unsigned max = is_long ? 10 : 5;
	uint64_t u = zz(v);

	switch (rnd(24)) {
	case 0:
		put_raw(o, u, (int)(1 + rnd(max + 2)));
		break;
	case 1:
		if (is_long) {
			/* 10 bytes whose last carries bits past 64: accepted */
			put_raw(o, u, 10);
			o->data[o->len - 1] |= (uint8_t)(1 + rnd(0x7f));
		} else {
			put_raw(o, (u & 0xffffffffu) |
			    (uint64_t)(1 + rnd(7)) << 32, 5);
		}
		break;
	case 2:
		buf_putc(o, (char)0x80);
		break;
	default:
		put_raw(o, u, 1);
		break;
	}
}

/* A declared length for `n` real bytes: mostly right, sometimes not. */
static int64_t
fz_len(int64_t n)
{
	static const int64_t odd[] = { -1, -2, -3, INT32_MIN, INT32_MAX, 0,
		1, 127, 128, 65535 };

	switch (rnd(20)) {
	case 0:
		return n + 1;
	case 1:
		return n - 1;
	case 2:
		return odd[rnd(sizeof(odd) / sizeof(odd[0]))];
	default:
		return n;
	}
}

/* A byte field: null (-1) or n bytes, its length possibly lying. */
static void
fz_bytes(struct buf *o, bool may_null, int32_t maxlen)
{
	int32_t n = (int32_t)rnd((uint32_t)maxlen + 1), i;

	if (may_null && rnd(4) == 0) {
		fz_varint(o, rnd(16) == 0 ? fz_len(-1) : -1, false);
		return;
	}
	fz_varint(o, fz_len(n), false);
	for (i = 0; i < n; i++)
		buf_putc(o, (char)(uint8_t)('a' + rnd(26)));
}

static void
fz_record(struct buf *recs, int32_t index, bool rare_null_hkey)
{
	struct buf body = BUF_INIT;
	int32_t nh = (int32_t)rnd(4), i, delta = index;

	buf_putc(&body, (char)(uint8_t)rnd(256));
	fz_varint(&body, rnd(8) == 0 ? (int64_t)((uint64_t)rnd(UINT32_MAX) <<
	    31) : (int64_t)rnd(2000) - 1000, true);
	if (rnd(10) == 0)
		delta = (int32_t)fz_len(index);
	fz_varint(&body, delta, false);
	fz_bytes(&body, true, 6);
	fz_bytes(&body, true, 20);
	fz_varint(&body, fz_len(nh), false);
	for (i = 0; i < nh; i++) {
		fz_bytes(&body, rare_null_hkey && rnd(8) == 0, 5);
		fz_bytes(&body, true, 5);
	}
	if (rnd(30) == 0)
		buf_putc(&body, 0);	/* a byte past the fields */
	if (rnd(40) == 0 && body.len > 0)
		body.len -= 1 + rnd((uint32_t)body.len);	/* cut short */
	fz_varint(recs, fz_len((int64_t)body.len), false);
	buf_put(recs, body.data, body.len);
	buf_release(&body);
}

static void
test_record_check__fuzzed_records(void)
{
	struct buf recs = BUF_INIT, batch = BUF_INIT;
	long round;

	for (round = 0; round < 40000; round++) {
		int32_t n = (int32_t)rnd(5), i, count = n, last;

		buf_clear(&recs);
		for (i = 0; i < n; i++)
			fz_record(&recs, i, true);
		if (rnd(25) == 0)
			buf_putc(&recs, (char)(uint8_t)rnd(256));
		if (rnd(12) == 0)
			count = (int32_t)fz_len(n);
		if (count < 0)
			count = 0;
		last = count - 1;
		if (rnd(12) == 0)
			last = (int32_t)rnd(8);
		if (last < 0)
			last = 0;
		make_batch(&batch, &recs, count, last);
		agree(batch.data, batch.len, "fuzz", round);
	}
	buf_release(&recs);
	buf_release(&batch);
}

/* The cases named one by one, so each reason has a plain example. */
static void
test_record_check__hand_written(void)
{
	struct buf recs = BUF_INIT, body = BUF_INIT, batch = BUF_INIT;
	static const int32_t klens[] = { -1, -2, -3, INT32_MIN, 0, 1, 2, 100 };
	static const int32_t deltas[][3] = { { 0, 1, 2 }, { 1, 2, 3 },
		{ 0, 2, 3 }, { 0, 0, 1 }, { 0, 1, 1 }, { 2, 1, 0 },
		{ 0, 1, 7 }, { -1, 0, 1 } };
	size_t i, j;

	/* Deltas out of order, gapped, beyond last_offset_delta. */
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		for (j = 2; j <= 8; j += 6) {
			int k;

			buf_clear(&recs);
			for (k = 0; k < 3; k++) {
				buf_clear(&body);
				buf_putc(&body, 0);
				put_raw(&body, zz(0), 1);
				put_raw(&body, zz(deltas[i][k]), 1);
				put_raw(&body, zz(k == 1 ? -1 : 1), 1);
				if (k != 1)
					buf_putc(&body, 'k');
				put_raw(&body, zz(1), 1);
				buf_putc(&body, 'v');
				put_raw(&body, zz(0), 1);
				put_raw(&recs, zz((int64_t)body.len), 1);
				buf_put(&recs, body.data, body.len);
			}
			make_batch(&batch, &recs, 3, (int32_t)j);
			agree(batch.data, batch.len, "deltas", (long)i);
		}
	}
	/* Key lengths: null, negative other than -1, past the record. */
	for (i = 0; i < sizeof(klens) / sizeof(klens[0]); i++) {
		for (j = 0; j < 3; j++) {
			buf_clear(&body);
			buf_putc(&body, 0);
			put_raw(&body, zz(0), 1);
			put_raw(&body, zz(0), 1);
			put_raw(&body, zz(klens[i]), 1);
			buf_put(&body, "kk", j);
			put_raw(&body, zz(-1), 1);
			put_raw(&body, zz(0), 1);
			buf_clear(&recs);
			put_raw(&recs, zz((int64_t)body.len), 1);
			buf_put(&recs, body.data, body.len);
			make_batch(&batch, &recs, 1, 0);
			agree(batch.data, batch.len, "key length", (long)i);
		}
	}
	/* Header counts above, below and negative; a null header key. */
	for (i = 0; i < 6; i++) {
		static const int32_t hc[] = { 0, 1, 2, 3, -1, INT32_MAX };

		for (j = 0; j < 2; j++) {
			buf_clear(&body);
			buf_putc(&body, 0);
			put_raw(&body, zz(0), 1);
			put_raw(&body, zz(0), 1);
			put_raw(&body, zz(-1), 1);
			put_raw(&body, zz(-1), 1);
			put_raw(&body, zz(hc[i]), 1);
			put_raw(&body, zz(j ? -1 : 1), 1);
			if (!j)
				buf_putc(&body, 'h');
			put_raw(&body, zz(-1), 1);
			buf_clear(&recs);
			put_raw(&recs, zz((int64_t)body.len), 1);
			buf_put(&recs, body.data, body.len);
			make_batch(&batch, &recs, 1, 0);
			agree(batch.data, batch.len, "headers", (long)i);
		}
	}
	/* Record length varint: overlong, too long, out of range, huge. */
	for (i = 1; i <= 7; i++) {
		buf_clear(&body);
		buf_putc(&body, 0);
		put_raw(&body, zz(0), 1);
		put_raw(&body, zz(0), 1);
		put_raw(&body, zz(-1), 1);
		put_raw(&body, zz(-1), 1);
		put_raw(&body, zz(0), 1);
		buf_clear(&recs);
		put_raw(&recs, zz((int64_t)body.len), (int)i);
		buf_put(&recs, body.data, body.len);
		make_batch(&batch, &recs, 1, 0);
		agree(batch.data, batch.len, "length varint", (long)i);
		buf_clear(&recs);
		put_raw(&recs, zz((int64_t)body.len) | (uint64_t)i << 32, 5);
		buf_put(&recs, body.data, body.len);
		make_batch(&batch, &recs, 1, 0);
		agree(batch.data, batch.len, "length overflow", (long)i);
		buf_clear(&recs);
		put_raw(&recs, zz(INT32_MAX - (int64_t)i), 1);
		buf_put(&recs, body.data, body.len);
		make_batch(&batch, &recs, 1, 0);
		agree(batch.data, batch.len, "length huge", (long)i);
	}
	/* Timestamp delta varlong: every length up to too long. */
	for (i = 1; i <= 12; i++) {
		buf_clear(&body);
		buf_putc(&body, 0);
		put_raw(&body, zz(-5), (int)i);
		put_raw(&body, zz(0), 1);
		put_raw(&body, zz(-1), 1);
		put_raw(&body, zz(-1), 1);
		put_raw(&body, zz(0), 1);
		buf_clear(&recs);
		put_raw(&recs, zz((int64_t)body.len), 1);
		buf_put(&recs, body.data, body.len);
		make_batch(&batch, &recs, 1, 0);
		agree(batch.data, batch.len, "ts varlong", (long)i);
	}
	/* An empty batch: fine in the log, refused from a producer. */
	buf_clear(&recs);
	make_batch(&batch, &recs, 0, 0);
	agree(batch.data, batch.len, "empty", 0);
	buf_release(&recs);
	buf_release(&body);
	buf_release(&batch);
}

/*
 * rec_batch_validate_iter walks compressed batches with the caller's
 * iterator and hands uncompressed ones to rec_check_plain. The walk points
 * the iterator at the batch; the one-pass validator leaves it alone, which
 * shows which path ran.
 */
static void
test_record_check__dispatch(void)
{
	struct rec_builder bld;
	struct rec_iter it;
	struct buf out = BUF_INIT;
	struct rec_batch b;
	struct err e = { 0 };

	rec_builder_init(&bld, COMPRESS_LZ4, COMPRESS_LEVEL_DEFAULT);
	CHECK(rec_builder_add(&bld, 1, B(NULL), B("v"), NULL, 0) == 0);
	CHECK(rec_builder_finish(&bld, &out, &e) == 0);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	rec_iter_init(&it, MAX_INFLATE);
	CHECKF(rec_batch_validate_iter(&it, &b, REC_VALIDATE_PRODUCE, &e) == 0,
	    "%s", e.msg);
	CHECK(it.batch == &b);
	CHECK(rec_batch_validate_iter(&it, &b, REC_VALIDATE_KEYS, &e) == -1);
	CHECK(strstr(e.msg, "needs a key") != NULL);
	CHECK(rec_check_plain(&b, 0, &e) == -1 && e.code == EXIT_SOFTWARE);
	/* Over its limit, the walk refuses to inflate the batch at all. */
	rec_iter_release(&it);
	rec_iter_init(&it, 0);
	CHECK(rec_batch_validate_iter(&it, &b, 0, &e) == -1);
	CHECK(rec_batch_validate(&b, 0, 0, &e) == -1);
	rec_iter_release(&it);

	buf_clear(&out);
	build_sample(&out);
	CHECK(rec_batch_parse(out.data, out.len, &b, &e) == 0);
	rec_iter_init(&it, MAX_INFLATE);
	CHECKF(rec_batch_validate_iter(&it, &b, REC_VALIDATE_PRODUCE, &e) == 0,
	    "%s", e.msg);
	CHECK(it.batch == NULL);
	CHECKF(rec_batch_validate(&b, REC_VALIDATE_PRODUCE, MAX_INFLATE,
	    &e) == 0, "%s", e.msg);
	rec_iter_release(&it);
	rec_builder_release(&bld);
	buf_release(&out);
}

/* Every reason was reached, and plenty of both verdicts. */
static void
test_record_check__coverage(void)
{
	size_t k;

	printf("# accepted %ld refused %ld unparsed %ld compressed %ld\n",
	    st.accepted, st.refused, st.unparsed, st.compressed);
	for (k = 0; k < NREASONS; k++) {
		printf("# %6ld  %s\n", st.seen[k], reasons[k]);
		CHECKF(st.seen[k] > 0, "reason '%s' never reached", reasons[k]);
	}
	CHECK(st.accepted > 1000 && st.refused > 10000);
}

int
main(void)
{
	rec_iter_init(&walk_it, MAX_INFLATE);
	rec_iter_init(&fast_it, MAX_INFLATE);
	TEST(test_record_check__valid_batches);
	TEST(test_record_check__flipped_bytes);
	TEST(test_record_check__truncated_and_trailing);
	TEST(test_record_check__counts_off);
	TEST(test_record_check__hand_written);
	TEST(test_record_check__fuzzed_records);
	TEST(test_record_check__dispatch);
	TEST(test_record_check__coverage);
	rec_iter_release(&walk_it);
	rec_iter_release(&fast_it);
	TEST_DONE();
}
