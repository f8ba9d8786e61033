/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for compress.c: round trips for every codec, the max_out
 * bound (exact fits, bombs), truncated and garbage input, the xerial and
 * LZ4 frame layouts other clients rely on, and codec names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "bytes.h"
#include "compress.h"
#include "tinytest.h"
#include "banned.h"

static const enum compress_codec all_codecs[] = {
    COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD};
/* The codecs that really compress (and so can be truncated). */
static const enum compress_codec real_codecs[] = {
    COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
prng(uint64_t *s)
{
	/* xorshift64*: deterministic, good enough to defeat compressors */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint8_t *
random_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	for (i = 0; p != NULL && i < n; i++)
		p[i] = (uint8_t)(prng(&seed) >> 56);
	return p;
}

/* Words picked at random: compresses well but not trivially. */
static uint8_t *
text_bytes(size_t n, uint64_t seed)
{
	static const char *const words[] = {"offset", "partition", "leader",
	    "replica", "segment", "topic", "batch", "record", "timestamp",
	    "producer", "epoch", "commit", "log", "kafka", "klog", "header",
	    "key", "value", "\n", " "};
	uint8_t *p = malloc(n ? n : 1);
	size_t i = 0;

	while (p != NULL && i < n) {
		const char *w = words[prng(&seed) % NELEM(words)];
		size_t k = strlen(w);

		if (k > n - i)
			k = n - i;
		memcpy(p + i, w, k);
		i += k;
	}
	return p;
}

static void
compress_ok(enum compress_codec c, int level, const void *in, size_t len,
    struct buf *out)
{
	struct err e = {0, ""};
	int rc = compress_append(c, level, in, len, out, &e);

	CHECKF(rc == 0, "compress %s of %zu bytes: %s", compress_codec_name(c),
	    len, e.msg);
}

/* Compress, decompress with max_out == len, compare; true if all is well. */
static int
roundtrip(enum compress_codec c, int level, const uint8_t *data, size_t len)
{
	struct buf z = BUF_INIT, plain = BUF_INIT;
	struct err e = {0, ""};
	int rc, ok;

	rc = compress_append(c, level, data, len, &z, &e);
	CHECKF(rc == 0, "compress %s of %zu bytes: %s", compress_codec_name(c),
	    len, e.msg);
	rc = decompress_append(c, z.data, z.len, len, &plain, &e);
	CHECKF(rc == 0, "decompress %s of %zu bytes: %s",
	    compress_codec_name(c), len, e.msg);
	ok = rc == 0 && plain.len == len &&
	     (len == 0 || memcmp(plain.data, data, len) == 0);
	CHECKF(ok, "%s round trip of %zu bytes differs (got %zu bytes)",
	    compress_codec_name(c), len, plain.len);
	buf_release(&z);
	buf_release(&plain);
	return ok;
}

static void
test_compress__roundtrip_sizes(void)
{
	static const size_t sizes[] = {0, 1, 100, 64 * 1024 + 3};
	size_t i, j;

	for (i = 0; i < NELEM(all_codecs); i++) {
		for (j = 0; j < NELEM(sizes); j++) {
			uint8_t *t = text_bytes(sizes[j], j + 1);
			uint8_t *r = random_bytes(sizes[j], j + 100);

			roundtrip(
			    all_codecs[i], COMPRESS_LEVEL_DEFAULT, t, sizes[j]);
			roundtrip(
			    all_codecs[i], COMPRESS_LEVEL_DEFAULT, r, sizes[j]);
			free(t);
			free(r);
		}
	}
}

static void
test_compress__roundtrip_large(void)
{
	size_t ntext = 1024 * 1024, nrand = 256 * 1024, i;
	uint8_t *t = text_bytes(ntext, 42);
	uint8_t *r = random_bytes(nrand, 43);

	for (i = 0; i < NELEM(all_codecs); i++) {
		struct buf z = BUF_INIT;

		roundtrip(all_codecs[i], COMPRESS_LEVEL_DEFAULT, t, ntext);
		roundtrip(all_codecs[i], COMPRESS_LEVEL_DEFAULT, r, nrand);
		/* Text must actually shrink (none aside). */
		compress_ok(
		    all_codecs[i], COMPRESS_LEVEL_DEFAULT, t, ntext, &z);
		if (all_codecs[i] != COMPRESS_NONE)
			CHECKF(z.len < ntext / 2, "%s: %zu -> %zu bytes",
			    compress_codec_name(all_codecs[i]), ntext, z.len);
		buf_release(&z);
	}
	free(t);
	free(r);
}

static void
test_compress__levels(void)
{
	size_t n = 100 * 1000;
	uint8_t *t = text_bytes(n, 7);
	struct buf z = BUF_INIT;
	struct err e = {0, ""};

	roundtrip(COMPRESS_GZIP, 1, t, n);
	roundtrip(COMPRESS_GZIP, 9, t, n);
	roundtrip(COMPRESS_GZIP, 0, t, n);
	roundtrip(COMPRESS_LZ4, 1, t, n);
	roundtrip(COMPRESS_LZ4, 9, t, n);  /* LZ4 HC */
	roundtrip(COMPRESS_LZ4, 17, t, n); /* Kafka's maximum; clamped */
	roundtrip(COMPRESS_ZSTD, 1, t, n);
	roundtrip(COMPRESS_ZSTD, 19, t, n);
	roundtrip(COMPRESS_ZSTD, -5, t, n);
	roundtrip(COMPRESS_SNAPPY, 5, t, n); /* snappy has no levels */

	CHECK(compress_append(COMPRESS_GZIP, 10, t, n, &z, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE);
	CHECK(strstr(e.msg, "gzip: bad compression level 10") == e.msg);
	CHECK(z.len == 0);
	CHECK(compress_append(COMPRESS_ZSTD, 1000, t, n, &z, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE);
	CHECK(strstr(e.msg, "zstd: bad compression level") == e.msg);
	CHECK(z.len == 0);
	buf_release(&z);
	free(t);
}

/* Compressed data is appended after existing contents, both ways. */
static void
test_compress__append(void)
{
	static const char prefix[] = "existing contents";
	size_t plen = sizeof(prefix) - 1, n = 40000, i;
	uint8_t *t = text_bytes(n, 9);

	for (i = 0; i < NELEM(all_codecs); i++) {
		enum compress_codec c = all_codecs[i];
		struct buf z = BUF_INIT, alone = BUF_INIT, plain = BUF_INIT;
		struct err e = {0, ""};

		buf_put(&z, prefix, plen);
		compress_ok(c, COMPRESS_LEVEL_DEFAULT, t, n, &z);
		compress_ok(c, COMPRESS_LEVEL_DEFAULT, t, n, &alone);
		CHECK(z.len == plen + alone.len);
		CHECK(memcmp(z.data, prefix, plen) == 0);
		CHECK(memcmp(z.data + plen, alone.data, alone.len) == 0);

		buf_put(&plain, prefix, plen);
		CHECKF(decompress_append(
			   c, z.data + plen, z.len - plen, n, &plain, &e) == 0,
		    "%s: %s", compress_codec_name(c), e.msg);
		CHECK(plain.len == plen + n);
		CHECK(memcmp(plain.data, prefix, plen) == 0);
		CHECK(plain.len == plen + n &&
		      memcmp(plain.data + plen, t, n) == 0);

		/* Twice more: the second result follows the first. */
		CHECK(decompress_append(
			  c, alone.data, alone.len, n, &plain, &e) == 0);
		CHECK(plain.len == plen + 2 * n &&
		      memcmp(plain.data + plen + n, t, n) == 0);
		buf_release(&z);
		buf_release(&alone);
		buf_release(&plain);
	}
	free(t);
}

/*
 * max_out bounds what one call appends: a size that fits exactly passes,
 * one byte less fails with EXIT_DATAERR, and existing data is untouched.
 */
static void
test_compress__max_out_exact(void)
{
	static const size_t sizes[] = {1, 1000, 64 * 1024 + 3};
	size_t i, j;

	for (i = 0; i < NELEM(all_codecs); i++) {
		for (j = 0; j < NELEM(sizes); j++) {
			enum compress_codec c = all_codecs[i];
			const char *name = compress_codec_name(c);
			size_t n = sizes[j];
			uint8_t *t = text_bytes(n, j + 11);
			struct buf z = BUF_INIT, plain = BUF_INIT;
			struct err e = {0, ""};
			char want[64];
			int rc;

			compress_ok(c, COMPRESS_LEVEL_DEFAULT, t, n, &z);
			buf_put(&plain, "keep", 4);
			rc = decompress_append(c, z.data, z.len, n, &plain, &e);
			CHECKF(rc == 0 && plain.len == 4 + n,
			    "%s, %zu bytes, max_out == size: %s", name, n,
			    e.msg);

			buf_clear(&plain);
			buf_put(&plain, "keep", 4);
			rc = decompress_append(
			    c, z.data, z.len, n - 1, &plain, &e);
			snprintf(want, sizeof(want),
			    "%s: output exceeds %zu bytes", name, n - 1);
			CHECKF(rc == -1 && e.code == EXIT_DATAERR,
			    "%s, %zu bytes, max_out == size - 1: rc %d", name,
			    n, rc);
			CHECKF(strcmp(e.msg, want) == 0, "message '%s'", e.msg);
			CHECK(plain.len >= 4 &&
			      memcmp(plain.data, "keep", 4) == 0);
			CHECK(plain.len <= 4 + n);
			buf_release(&z);
			buf_release(&plain);
			free(t);
		}
	}
}

/* A zstd frame without a content size, as streaming writers produce. */
static void
zstd_no_content_size(const void *in, size_t len, struct buf *out)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t bound = ZSTD_compressBound(len), n;

	CHECK(cctx != NULL);
	CHECK(buf_reserve(out, bound) == 0);
	CHECK(!ZSTD_isError(
	    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	n = ZSTD_compress2(cctx, out->data + out->len, bound, in, len);
	CHECK(!ZSTD_isError(n));
	if (!ZSTD_isError(n))
		out->len += n;
	CHECK(ZSTD_getFrameContentSize(out->data, out->len) ==
	      ZSTD_CONTENTSIZE_UNKNOWN);
	ZSTD_freeCCtx(cctx);
}

/* A single raw snappy block, as some non-Java clients send. */
static void
snappy_raw(const void *in, size_t len, struct buf *out)
{
	size_t clen = snappy_max_compressed_length(len);

	CHECK(buf_reserve(out, clen) == 0);
	CHECK(snappy_compress(in, len, (char *)out->data + out->len, &clen) ==
	      SNAPPY_OK);
	out->len += clen;
}

static void
check_bomb(const char *what, enum compress_codec c, const struct buf *z)
{
	struct buf plain = BUF_INIT;
	struct err e = {0, ""};
	int rc;

	rc = decompress_append(c, z->data, z->len, 64 * 1024, &plain, &e);
	CHECKF(rc == -1 && e.code == EXIT_DATAERR, "%s bomb: rc %d", what, rc);
	CHECKF(strstr(e.msg, "output exceeds 65536 bytes") != NULL,
	    "%s bomb: '%s'", what, e.msg);
	/* Bounded by max_out (+ buf's power-of-two rounding), not 4 MiB. */
	CHECKF(plain.cap <= 256 * 1024, "%s bomb: buffer grew to %zu bytes",
	    what, plain.cap);
	buf_release(&plain);
}

static void
test_compress__bomb(void)
{
	size_t n = 4 * 1024 * 1024, i;
	uint8_t *zeros = calloc(1, n);
	struct buf z = BUF_INIT;

	CHECK(zeros != NULL);
	for (i = 0; i < NELEM(all_codecs); i++) {
		buf_clear(&z);
		compress_ok(
		    all_codecs[i], COMPRESS_LEVEL_DEFAULT, zeros, n, &z);
		check_bomb(
		    compress_codec_name(all_codecs[i]), all_codecs[i], &z);
	}
	/* No declared size to refuse early: the streaming bound must hold. */
	buf_clear(&z);
	zstd_no_content_size(zeros, n, &z);
	check_bomb("zstd (no content size)", COMPRESS_ZSTD, &z);
	buf_clear(&z);
	snappy_raw(zeros, n, &z);
	check_bomb("raw snappy", COMPRESS_SNAPPY, &z);
	buf_release(&z);
	free(zeros);
}

/*
 * Every proper prefix of a compressed stream is refused. The exception is
 * xerial snappy cut exactly between blocks: the framing has no end marker,
 * so that is a valid shorter stream (the header alone is an empty one).
 */
static void
test_compress__truncated(void)
{
	size_t i, j, k;

	for (i = 0; i < NELEM(real_codecs); i++) {
		enum compress_codec c = real_codecs[i];
		static const size_t sizes[] = {100, 10000, 70000};

		for (j = 0; j < NELEM(sizes); j++) {
			uint8_t *t = j == 0 ? random_bytes(sizes[j], 5)
					    : text_bytes(sizes[j], 5);
			struct buf z = BUF_INIT;
			size_t cuts[16], ncuts = 0;

			compress_ok(c, COMPRESS_LEVEL_DEFAULT, t, sizes[j], &z);
			for (k = 0; k < 10 && k < z.len; k++)
				cuts[ncuts++] = k;
			cuts[ncuts++] = z.len / 3;
			cuts[ncuts++] = z.len / 2;
			cuts[ncuts++] = z.len - 4;
			cuts[ncuts++] = z.len - 1;
			for (k = 0; k < ncuts; k++) {
				struct buf plain = BUF_INIT;
				struct err e = {0, ""};
				int rc;

				if (c == COMPRESS_SNAPPY && cuts[k] == 16)
					continue;
				rc = decompress_append(
				    c, z.data, cuts[k], sizes[j], &plain, &e);
				CHECKF(rc == -1 && e.code == EXIT_DATAERR,
				    "%s: %zu of %zu bytes: rc %d",
				    compress_codec_name(c), cuts[k], z.len, rc);
				CHECKF(strncmp(e.msg, compress_codec_name(c),
					   strlen(compress_codec_name(c))) == 0,
				    "message '%s'", e.msg);
				CHECK(plain.len == 0);
				buf_release(&plain);
			}
			buf_release(&z);
			free(t);
		}
	}
}

static void
test_compress__truncated_messages(void)
{
	uint8_t *t = text_bytes(10000, 3);
	struct buf z = BUF_INIT, plain = BUF_INIT;
	struct err e = {0, ""};

	compress_ok(COMPRESS_LZ4, COMPRESS_LEVEL_DEFAULT, t, 10000, &z);
	CHECK(decompress_append(
		  COMPRESS_LZ4, z.data, z.len - 1, 10000, &plain, &e) == -1);
	CHECKF(strcmp(e.msg, "lz4: truncated frame") == 0, "'%s'", e.msg);
	buf_clear(&z);
	compress_ok(COMPRESS_ZSTD, COMPRESS_LEVEL_DEFAULT, t, 10000, &z);
	CHECK(decompress_append(
		  COMPRESS_ZSTD, z.data, z.len - 1, 10000, &plain, &e) == -1);
	CHECKF(strcmp(e.msg, "zstd: truncated frame") == 0, "'%s'", e.msg);
	buf_clear(&z);
	compress_ok(COMPRESS_GZIP, COMPRESS_LEVEL_DEFAULT, t, 10000, &z);
	CHECK(decompress_append(
		  COMPRESS_GZIP, z.data, z.len - 1, 10000, &plain, &e) == -1);
	CHECKF(strcmp(e.msg, "gzip: truncated stream") == 0, "'%s'", e.msg);
	buf_clear(&z);
	compress_ok(COMPRESS_SNAPPY, COMPRESS_LEVEL_DEFAULT, t, 10000, &z);
	CHECK(decompress_append(
		  COMPRESS_SNAPPY, z.data, z.len - 1, 10000, &plain, &e) == -1);
	CHECKF(strstr(e.msg, "snappy: truncated block at offset 16") == e.msg,
	    "'%s'", e.msg);
	CHECK(decompress_append(
		  COMPRESS_SNAPPY, z.data, 18, 10000, &plain, &e) == -1);
	CHECKF(
	    strcmp(e.msg, "snappy: truncated block header at offset 16") == 0,
	    "'%s'", e.msg);
	CHECK(decompress_append(
		  COMPRESS_SNAPPY, z.data, 12, 10000, &plain, &e) == -1);
	CHECKF(strcmp(e.msg, "snappy: truncated xerial header") == 0, "'%s'",
	    e.msg);
	CHECK(plain.len == 0);
	buf_release(&z);
	buf_release(&plain);
	free(t);
}

/* Random bytes: a clean EXIT_DATAERR, never a crash or a big buffer. */
static void
test_compress__garbage(void)
{
	static const size_t sizes[] = {1, 2, 3, 7, 16, 17, 64, 1000, 5000};
	size_t i, j;
	uint64_t seed;

	for (i = 0; i < NELEM(real_codecs); i++) {
		for (j = 0; j < NELEM(sizes); j++) {
			for (seed = 1; seed <= 20; seed++) {
				enum compress_codec c = real_codecs[i];
				uint8_t *g = random_bytes(sizes[j], seed * 977);
				struct buf plain = BUF_INIT;
				struct err e = {0, ""};
				int rc;

				rc = decompress_append(
				    c, g, sizes[j], 1 << 20, &plain, &e);
				CHECKF(rc == -1 && e.code == EXIT_DATAERR,
				    "%s: %zu bytes of garbage (seed %llu): "
				    "rc %d",
				    compress_codec_name(c), sizes[j],
				    (unsigned long long)seed, rc);
				CHECK(plain.len == 0);
				buf_release(&plain);
				free(g);
			}
		}
	}
}

/*
 * Valid streams with one byte flipped: without a checksum a flip may still
 * decode, so only demand a clean answer within max_out.
 */
static void
test_compress__bitflips(void)
{
	size_t n = 5000, i, k;
	uint8_t *t = text_bytes(n, 77);
	uint64_t seed = 99;

	for (i = 0; i < NELEM(real_codecs); i++) {
		enum compress_codec c = real_codecs[i];
		struct buf z = BUF_INIT;

		compress_ok(c, COMPRESS_LEVEL_DEFAULT, t, n, &z);
		for (k = 0; k < 300; k++) {
			struct buf plain = BUF_INIT;
			struct err e = {0, ""};
			size_t at = (size_t)(prng(&seed) % z.len);
			uint8_t bit = (uint8_t)(1u << (prng(&seed) % 8));
			int rc;

			z.data[at] ^= bit;
			rc = decompress_append(c, z.data, z.len, n, &plain, &e);
			CHECKF(rc == 0 || e.code == EXIT_DATAERR,
			    "%s: flip at %zu: rc %d code %d",
			    compress_codec_name(c), at, rc, e.code);
			CHECK(plain.len <= n);
			z.data[at] ^= bit;
			buf_release(&plain);
		}
		buf_release(&z);
	}
	free(t);
}

static void
test_compress__empty_input(void)
{
	size_t i;

	for (i = 0; i < NELEM(all_codecs); i++) {
		enum compress_codec c = all_codecs[i];
		struct buf plain = BUF_INIT;
		struct err e = {0, ""};
		int rc = decompress_append(c, NULL, 0, 100, &plain, &e);

		if (c == COMPRESS_NONE)
			CHECK(rc == 0 && plain.len == 0);
		else
			CHECKF(rc == -1 && e.code == EXIT_DATAERR,
			    "%s: empty input: rc %d", compress_codec_name(c),
			    rc);
		buf_release(&plain);
	}
}

static void
test_compress__raw_snappy(void)
{
	static const size_t sizes[] = {0, 1, 100, 100000};
	size_t j;

	for (j = 0; j < NELEM(sizes); j++) {
		uint8_t *t = text_bytes(sizes[j], 21);
		struct buf z = BUF_INIT, plain = BUF_INIT;
		struct err e = {0, ""};
		int rc;

		snappy_raw(t, sizes[j], &z);
		rc = decompress_append(
		    COMPRESS_SNAPPY, z.data, z.len, sizes[j], &plain, &e);
		CHECKF(rc == 0, "raw snappy of %zu bytes: %s", sizes[j], e.msg);
		CHECK(plain.len == sizes[j]);
		CHECK(sizes[j] == 0 || memcmp(plain.data, t, sizes[j]) == 0);
		if (sizes[j] > 0) {
			rc = decompress_append(COMPRESS_SNAPPY, z.data, z.len,
			    sizes[j] - 1, &plain, &e);
			CHECK(rc == -1 && e.code == EXIT_DATAERR);
		}
		buf_release(&z);
		buf_release(&plain);
		free(t);
	}
}

/* The xerial layout snappy-java expects, block by block. */
static void
test_compress__xerial_format(void)
{
	static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
	size_t n = 64 * 1024 + 3, total = 0, blocks = 0;
	uint8_t *t = text_bytes(n, 31);
	struct buf z = BUF_INIT;
	struct breader r;

	compress_ok(COMPRESS_SNAPPY, COMPRESS_LEVEL_DEFAULT, t, n, &z);
	CHECK(z.len > 16 && memcmp(z.data, magic, 8) == 0);
	CHECK(be32_load(z.data + 8) == 1);
	CHECK(be32_load(z.data + 12) == 1);
	br_init(&r, z.data + 16, z.len - 16);
	while (br_left(&r) > 0 && br_ok(&r)) {
		uint32_t clen = br_u32(&r);
		const uint8_t *blk = br_bytes(&r, clen);
		size_t ulen = 0;

		CHECK(blk != NULL);
		if (blk == NULL)
			break;
		CHECK(snappy_uncompressed_length(
			  (const char *)blk, clen, &ulen) == SNAPPY_OK);
		CHECK(ulen <= 32 * 1024);
		total += ulen;
		blocks++;
	}
	CHECK(br_ok(&r));
	CHECKF(blocks == 3, "%zu blocks", blocks);
	CHECK(total == n);

	/* Empty input: the header alone, which reads back as nothing. */
	buf_clear(&z);
	compress_ok(COMPRESS_SNAPPY, COMPRESS_LEVEL_DEFAULT, t, 0, &z);
	CHECK(z.len == 16);
	buf_release(&z);
	free(t);
}

static void
test_compress__xerial_bad_block(void)
{
	uint8_t *t = text_bytes(1000, 32);
	struct buf z = BUF_INIT, plain = BUF_INIT;
	struct err e = {0, ""};

	compress_ok(COMPRESS_SNAPPY, COMPRESS_LEVEL_DEFAULT, t, 1000, &z);
	/* A block length far past the end of the input. */
	be32_store(z.data + 16, 0x7fffffff);
	CHECK(decompress_append(
		  COMPRESS_SNAPPY, z.data, z.len, 1000, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECKF(
	    strstr(e.msg, "snappy: truncated block") == e.msg, "'%s'", e.msg);
	/* A zero-length block is not a valid snappy block. */
	be32_store(z.data + 16, 0);
	CHECK(decompress_append(
		  COMPRESS_SNAPPY, z.data, 20, 1000, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(plain.len == 0);
	buf_release(&z);
	buf_release(&plain);
	free(t);
}

/* Independent 64 KiB blocks, as Kafka's Java LZ4 reader requires. */
static void
test_compress__lz4_frame_format(void)
{
	uint8_t *t = text_bytes(200000, 41);
	struct buf z = BUF_INIT;
	uint8_t flg, bd;

	compress_ok(COMPRESS_LZ4, COMPRESS_LEVEL_DEFAULT, t, 200000, &z);
	CHECK(z.len > 7);
	CHECK(z.data[0] == 0x04 && z.data[1] == 0x22 && z.data[2] == 0x4d &&
	      z.data[3] == 0x18);
	flg = z.data[4];
	bd = z.data[5];
	CHECK((flg >> 6) == 1);	     /* version 01 */
	CHECK((flg & 0x20) != 0);    /* block independence */
	CHECK((flg & 0x08) == 0);    /* no content size */
	CHECK(((bd >> 4) & 7) == 4); /* 64 KiB maximum block size */
	buf_release(&z);
	free(t);
}

/* Frames other writers make: content size, checksums, several frames. */
static void
test_compress__lz4_other_frames(void)
{
	size_t n = 150000, bound, a, b;
	uint8_t *t = text_bytes(n, 51);
	LZ4F_preferences_t prefs;
	struct buf z = BUF_INIT, plain = BUF_INIT;
	struct err e = {0, ""};

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max4MB;
	prefs.frameInfo.blockMode = LZ4F_blockLinked;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	prefs.frameInfo.contentSize = n;
	bound = LZ4F_compressFrameBound(n, &prefs);
	CHECK(buf_reserve(&z, 2 * bound) == 0);
	a = LZ4F_compressFrame(z.data, bound, t, n, &prefs);
	CHECK(!LZ4F_isError(a));
	b = LZ4F_compressFrame(z.data + a, bound, t, n, &prefs);
	CHECK(!LZ4F_isError(b));
	z.len = a + b;

	CHECKF(decompress_append(COMPRESS_LZ4, z.data, a, n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == n && memcmp(plain.data, t, n) == 0);
	buf_clear(&plain);
	CHECKF(decompress_append(
		   COMPRESS_LZ4, z.data, a + b, 2 * n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == 2 * n && memcmp(plain.data + n, t, n) == 0);
	buf_clear(&plain);
	CHECK(decompress_append(
		  COMPRESS_LZ4, z.data, a + b, 2 * n - 1, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	/* A corrupted content checksum is caught. */
	z.data[a - 1] ^= 1;
	CHECK(decompress_append(COMPRESS_LZ4, z.data, a, n, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECKF(strstr(e.msg, "lz4: corrupt frame") == e.msg, "'%s'", e.msg);
	buf_release(&z);
	buf_release(&plain);
	free(t);
}

static void
test_compress__gzip_members(void)
{
	size_t n = 30000;
	uint8_t *t = text_bytes(n, 61);
	struct buf z = BUF_INIT, plain = BUF_INIT, zl = BUF_INIT;
	struct err e = {0, ""};
	uLongf zlen;

	compress_ok(COMPRESS_GZIP, COMPRESS_LEVEL_DEFAULT, t, n, &z);
	CHECK(z.len > 3 && z.data[0] == 0x1f && z.data[1] == 0x8b &&
	      z.data[2] == 8);
	/* Two members back to back (`cat a.gz b.gz`) read as one stream. */
	compress_ok(COMPRESS_GZIP, 1, t, n, &z);
	CHECKF(decompress_append(
		   COMPRESS_GZIP, z.data, z.len, 2 * n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == 2 * n && memcmp(plain.data + n, t, n) == 0);
	/* Anything else after a member is refused. */
	buf_put(&z, "junk", 4);
	buf_clear(&plain);
	CHECK(decompress_append(
		  COMPRESS_GZIP, z.data, z.len, 2 * n, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECKF(strcmp(e.msg,
		   "gzip: 4 bytes of trailing garbage after stream") == 0,
	    "'%s'", e.msg);
	/* A zlib-wrapped stream is accepted too (header auto-detection). */
	zlen = compressBound(n);
	CHECK(buf_reserve(&zl, zlen) == 0);
	CHECK(compress2(zl.data, &zlen, t, n, 6) == Z_OK);
	zl.len = zlen;
	buf_clear(&plain);
	CHECKF(decompress_append(
		   COMPRESS_GZIP, zl.data, zl.len, n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == n && memcmp(plain.data, t, n) == 0);
	buf_release(&z);
	buf_release(&zl);
	buf_release(&plain);
	free(t);
}

static void
test_compress__zstd_no_content_size(void)
{
	size_t n = 300000;
	uint8_t *t = text_bytes(n, 71);
	struct buf z = BUF_INIT, plain = BUF_INIT;
	struct err e = {0, ""};

	zstd_no_content_size(t, n, &z);
	CHECKF(
	    decompress_append(COMPRESS_ZSTD, z.data, z.len, n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == n && memcmp(plain.data, t, n) == 0);
	buf_clear(&plain);
	CHECK(decompress_append(
		  COMPRESS_ZSTD, z.data, z.len, n - 1, &plain, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(strcmp(e.msg, "zstd: output exceeds 299999 bytes") == 0);
	/* Two frames back to back decode as their concatenation. */
	compress_ok(COMPRESS_ZSTD, COMPRESS_LEVEL_DEFAULT, t, n, &z);
	buf_clear(&plain);
	CHECKF(decompress_append(
		   COMPRESS_ZSTD, z.data, z.len, 2 * n, &plain, &e) == 0,
	    "%s", e.msg);
	CHECK(plain.len == 2 * n && memcmp(plain.data + n, t, n) == 0);
	buf_release(&z);
	buf_release(&plain);
	free(t);
}

static void
test_compress__codec_names(void)
{
	static const char *const bad[] = {
	    "", "gz", "zstd ", "lz4x", "NONE!", "snappy\n", "7"};
	enum compress_codec c = COMPRESS_ZSTD;
	struct err e = {0, ""};
	size_t i;

	CHECK(strcmp(compress_codec_name(COMPRESS_NONE), "none") == 0);
	CHECK(strcmp(compress_codec_name(COMPRESS_GZIP), "gzip") == 0);
	CHECK(strcmp(compress_codec_name(COMPRESS_SNAPPY), "snappy") == 0);
	CHECK(strcmp(compress_codec_name(COMPRESS_LZ4), "lz4") == 0);
	CHECK(strcmp(compress_codec_name(COMPRESS_ZSTD), "zstd") == 0);
	CHECK(compress_codec_name(-1) == NULL);
	CHECK(compress_codec_name(5) == NULL);
	CHECK(compress_codec_name(7) == NULL);

	for (i = 0; i < NELEM(all_codecs); i++) {
		CHECK(compress_codec_parse(
			  compress_codec_name(all_codecs[i]), &c, &e) == 0);
		CHECK(c == all_codecs[i]);
	}
	CHECK(compress_codec_parse("GZIP", &c, &e) == 0 && c == COMPRESS_GZIP);
	CHECK(compress_codec_parse("Snappy", &c, &e) == 0 &&
	      c == COMPRESS_SNAPPY);
	CHECK(compress_codec_parse("LZ4", &c, &e) == 0 && c == COMPRESS_LZ4);
	CHECK(compress_codec_parse("ZStd", &c, &e) == 0 && c == COMPRESS_ZSTD);
	CHECK(compress_codec_parse("None", &c, &e) == 0 && c == COMPRESS_NONE);

	for (i = 0; i < NELEM(bad); i++) {
		char want[128];

		c = COMPRESS_LZ4;
		CHECKF(
		    compress_codec_parse(bad[i], &c, &e) == -1, "'%s'", bad[i]);
		CHECK(e.code == EXIT_USAGE);
		CHECK(c == COMPRESS_LZ4);
		snprintf(want, sizeof(want),
		    "unknown compression codec '%s' "
		    "(use none, gzip, snappy, lz4 or zstd)",
		    bad[i]);
		CHECKF(strcmp(e.msg, want) == 0, "'%s'", e.msg);
	}
	CHECK(compress_codec_parse(NULL, &c, &e) == -1 && e.code == EXIT_USAGE);
}

static void
test_compress__unknown_codec(void)
{
	struct buf out = BUF_INIT;
	struct err e = {0, ""};

	CHECK(compress_append((enum compress_codec)7, COMPRESS_LEVEL_DEFAULT,
		  "x", 1, &out, &e) == -1);
	CHECK(e.code == EXIT_SOFTWARE);
	CHECK(decompress_append(
		  (enum compress_codec)5, "x", 1, 100, &out, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(strcmp(e.msg, "unknown compression codec 5") == 0);
	CHECK(out.len == 0);
	/* A NULL err is allowed: the return value still says -1. */
	CHECK(decompress_append(COMPRESS_LZ4, "x", 1, 100, &out, NULL) == -1);
	buf_release(&out);
}

int
main(void)
{
	TEST(test_compress__roundtrip_sizes);
	TEST(test_compress__roundtrip_large);
	TEST(test_compress__levels);
	TEST(test_compress__append);
	TEST(test_compress__max_out_exact);
	TEST(test_compress__bomb);
	TEST(test_compress__truncated);
	TEST(test_compress__truncated_messages);
	TEST(test_compress__garbage);
	TEST(test_compress__bitflips);
	TEST(test_compress__empty_input);
	TEST(test_compress__raw_snappy);
	TEST(test_compress__xerial_format);
	TEST(test_compress__xerial_bad_block);
	TEST(test_compress__lz4_frame_format);
	TEST(test_compress__lz4_other_frames);
	TEST(test_compress__gzip_members);
	TEST(test_compress__zstd_no_content_size);
	TEST(test_compress__codec_names);
	TEST(test_compress__unknown_codec);
	TEST_DONE();
}
