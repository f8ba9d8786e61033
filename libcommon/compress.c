/* SPDX-License-Identifier: MIT */
/*
 * Record-batch codecs (see compress.h). Every decoder writes through
 * out_window(), which never hands out more than max_out + 1 bytes of room
 * in total, so hostile input can cost at most that much buffer. On failure
 * the output buffer is cut back to its length on entry.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ZLIB_CONST
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "bytes.h"
#include "compress.h"
#include "banned.h"

/* Smallest output step a decoder is given, and the largest first one. */
#define WINDOW_MIN 4096
#define WINDOW_FIRST_MAX (1024 * 1024)

/* Java clients (snappy-java) frame snappy like this; see compress.h. */
#define XERIAL_HEADER_LEN 16
#define XERIAL_BLOCK_MAX (32 * 1024)
static const uint8_t xerial_magic[8] = {
    0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};

/* Stands in for a NULL input of length 0, so no NULL + 0 arithmetic. */
static const uint8_t empty_input[1];

static const char *const codec_names[] = {
    [COMPRESS_NONE] = "none",
    [COMPRESS_GZIP] = "gzip",
    [COMPRESS_SNAPPY] = "snappy",
    [COMPRESS_LZ4] = "lz4",
    [COMPRESS_ZSTD] = "zstd",
};

#define NCODECS (sizeof(codec_names) / sizeof(codec_names[0]))

const char *
compress_codec_name(int codec)
{
	if (codec < 0 || (size_t)codec >= NCODECS)
		return NULL;
	return codec_names[codec];
}

int
compress_codec_parse(const char *name, enum compress_codec *out, struct err *e)
{
	size_t i;

	for (i = 0; name != NULL && i < NCODECS; i++) {
		if (strcasecmp(name, codec_names[i]) == 0) {
			*out = (enum compress_codec)i;
			return 0;
		}
	}
	return err_set(e, EXIT_USAGE,
	    "unknown compression codec '%.64s' "
	    "(use none, gzip, snappy, lz4 or zstd)",
	    name ? name : "");
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int
err_oom(struct err *e, const char *codec)
{
	return err_set(e, EXIT_OSERR, "%s: out of memory", codec);
}

static int
err_exceeds(struct err *e, const char *codec, size_t max_out)
{
	return err_set(
	    e, EXIT_DATAERR, "%s: output exceeds %zu bytes", codec, max_out);
}

/*
 * Room for the next decoder step: returns where to write and sets *avail,
 * or NULL when the buffer cannot grow. The room grows with what has been
 * produced so far (at least `hint`), but the total handed out since `start`
 * never passes max_out + 1: one byte past the limit is enough to notice
 * that a stream is too big, so a bomb never turns into a big allocation.
 */
static uint8_t *
out_window(
    struct buf *out, size_t start, size_t max_out, size_t hint, size_t *avail)
{
	size_t done = out->len - start;
	size_t limit = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX;
	size_t room = limit - done;
	size_t want = done > hint ? done : hint;

	if (want < WINDOW_MIN)
		want = WINDOW_MIN;
	want = min_size(want, room);
	if (buf_reserve(out, want) < 0)
		return NULL;
	*avail = min_size(out->cap - out->len, room);
	return out->data + out->len;
}

/*
 * A first guess at the decompressed size, to size the first window. It is
 * capped because a big input need not inflate much; later windows double.
 */
static size_t
inflate_hint(size_t len)
{
	return len < WINDOW_FIRST_MAX / 4 ? len * 4 : WINDOW_FIRST_MAX;
}

/* ---- gzip ---------------------------------------------------------- */

static int
gzip_compress(
    int level, const uint8_t *in, size_t len, struct buf *out, struct err *e)
{
	z_stream zs;
	size_t left = len, start = out->len;
	int rc, ret = -1;

	if (level == COMPRESS_LEVEL_DEFAULT)
		level = Z_DEFAULT_COMPRESSION;
	if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
		return err_set(e, EXIT_SOFTWARE,
		    "gzip: bad compression level %d (use -1 to 9)", level);
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: deflate wrapped in a gzip header and trailer. */
	rc = deflateInit2(
	    &zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK)
		return err_set(e,
		    rc == Z_MEM_ERROR ? EXIT_OSERR : EXIT_SOFTWARE,
		    "gzip: cannot start deflate: %s", zError(rc));
	if (buf_reserve(out, deflateBound(&zs, len)) < 0) {
		err_oom(e, "gzip");
		goto out;
	}
	zs.next_in = in;
	for (;;) {
		size_t room;

		/* zlib counts in uInt: feed huge inputs in slices. */
		if (zs.avail_in == 0 && left > 0) {
			zs.avail_in = (uInt)min_size(left, UINT_MAX);
			left -= zs.avail_in;
		}
		if (out->cap == out->len &&
		    buf_reserve(out, out->len - start + WINDOW_MIN) < 0) {
			err_oom(e, "gzip");
			goto out;
		}
		room = min_size(out->cap - out->len, UINT_MAX);
		zs.next_out = out->data + out->len;
		zs.avail_out = (uInt)room;
		rc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			err_set(e, EXIT_SOFTWARE, "gzip: deflate failed: %s",
			    zError(rc));
			goto out;
		}
	}
	ret = 0;
out:
	deflateEnd(&zs);
	return ret;
}

/*
 * After a gzip member ends, only another member may follow (what
 * `cat a.gz b.gz` makes); anything else is trailing garbage.
 */
static int
gzip_next_member(z_stream *zs, size_t left, struct err *e)
{
	size_t rest = zs->avail_in + left;

	if (rest < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b)
		return err_set(e, EXIT_DATAERR,
		    "gzip: %zu bytes of trailing garbage after stream", rest);
	if (inflateReset(zs) != Z_OK)
		return err_set(e, EXIT_SOFTWARE, "gzip: cannot reset inflate");
	return 0;
}

static int
gzip_decompress(const uint8_t *in, size_t len, size_t max_out, struct buf *out,
    struct err *e)
{
	z_stream zs;
	size_t left = len, start = out->len;
	int rc, ret = -1;

	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 32: accept a gzip or zlib header, whichever. */
	rc = inflateInit2(&zs, 15 + 32);
	if (rc != Z_OK)
		return err_set(e,
		    rc == Z_MEM_ERROR ? EXIT_OSERR : EXIT_SOFTWARE,
		    "gzip: cannot start inflate: %s", zError(rc));
	zs.next_in = in;
	for (;;) {
		uint8_t *dst;
		size_t room;

		if (zs.avail_in == 0 && left > 0) {
			zs.avail_in = (uInt)min_size(left, UINT_MAX);
			left -= zs.avail_in;
		}
		dst = out_window(out, start, max_out, inflate_hint(len), &room);
		if (dst == NULL) {
			err_oom(e, "gzip");
			goto out;
		}
		room = min_size(room, UINT_MAX);
		zs.next_out = dst;
		zs.avail_out = (uInt)room;
		rc = inflate(&zs, Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		if (out->len - start > max_out) {
			err_exceeds(e, "gzip", max_out);
			goto out;
		}
		switch (rc) {
		case Z_OK:
			break;
		case Z_STREAM_END:
			if (zs.avail_in == 0 && left == 0) {
				ret = 0;
				goto out;
			}
			if (gzip_next_member(&zs, left, e) < 0)
				goto out;
			break;
		case Z_BUF_ERROR:
			/* No progress with room to write: input ran out. */
			err_set(e, EXIT_DATAERR, "gzip: truncated stream");
			goto out;
		case Z_NEED_DICT:
			err_set(e, EXIT_DATAERR,
			    "gzip: stream needs a preset dictionary");
			goto out;
		case Z_DATA_ERROR:
			err_set(e, EXIT_DATAERR, "gzip: corrupt stream: %s",
			    zs.msg ? zs.msg : "bad data");
			goto out;
		case Z_MEM_ERROR:
			err_oom(e, "gzip");
			goto out;
		default:
			err_set(e, EXIT_SOFTWARE, "gzip: inflate failed: %s",
			    zError(rc));
			goto out;
		}
	}
out:
	inflateEnd(&zs);
	return ret;
}

/* ---- snappy -------------------------------------------------------- */

static int
snappy_compress_xerial(
    const uint8_t *in, size_t len, struct buf *out, struct err *e)
{
	uint8_t *p;
	size_t off, n;

	p = buf_extend(out, XERIAL_HEADER_LEN);
	if (p == NULL)
		return err_oom(e, "snappy");
	memcpy(p, xerial_magic, sizeof(xerial_magic));
	be32_store(p + 8, 1);  /* version */
	be32_store(p + 12, 1); /* oldest version that can read this */
	for (off = 0; off < len; off += n) {
		size_t clen;

		n = min_size(len - off, XERIAL_BLOCK_MAX);
		clen = snappy_max_compressed_length(n);
		if (buf_reserve(out, 4 + clen) < 0)
			return err_oom(e, "snappy");
		p = out->data + out->len;
		if (snappy_compress((const char *)in + off, n, (char *)p + 4,
			&clen) != SNAPPY_OK)
			return err_set(e, EXIT_SOFTWARE,
			    "snappy: compression of a %zu-byte block failed",
			    n);
		be32_store(p, (uint32_t)clen);
		out->len += 4 + clen;
	}
	return 0;
}

/*
 * Decode one raw snappy block. The block states its decompressed length
 * up front, so the max_out check happens before anything is allocated.
 */
static int
snappy_block(const uint8_t *in, size_t len, size_t max_out, size_t start,
    struct buf *out, struct err *e)
{
	size_t ulen, n, done = out->len - start;

	if (snappy_uncompressed_length((const char *)in, len, &ulen) !=
	    SNAPPY_OK)
		return err_set(e, EXIT_DATAERR,
		    "snappy: corrupt block (bad length header)");
	if (ulen > max_out - done)
		return err_exceeds(e, "snappy", max_out);
	/* At least one byte, so the write pointer is never NULL + len. */
	if (buf_reserve(out, ulen ? ulen : 1) < 0)
		return err_oom(e, "snappy");
	n = ulen;
	if (snappy_uncompress((const char *)in, len,
		(char *)out->data + out->len, &n) != SNAPPY_OK ||
	    n != ulen)
		return err_set(e, EXIT_DATAERR, "snappy: corrupt block");
	out->len += n;
	return 0;
}

static int
snappy_decompress(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out, struct err *e)
{
	struct breader r;
	size_t start = out->len;

	if (len < sizeof(xerial_magic) ||
	    memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
		return snappy_block(in, len, max_out, start, out, e);

	/* The version words are not checked: every writer uses 1 and 1. */
	if (len < XERIAL_HEADER_LEN)
		return err_set(
		    e, EXIT_DATAERR, "snappy: truncated xerial header");
	br_init(&r, in + XERIAL_HEADER_LEN, len - XERIAL_HEADER_LEN);
	while (br_left(&r) > 0) {
		size_t at = XERIAL_HEADER_LEN + br_pos(&r);
		const uint8_t *blk;
		uint32_t n;

		if (br_left(&r) < 4)
			return err_set(e, EXIT_DATAERR,
			    "snappy: truncated block header at offset %zu", at);
		n = br_u32(&r);
		if (n > br_left(&r))
			return err_set(e, EXIT_DATAERR,
			    "snappy: truncated block at offset %zu "
			    "(length %u, %zu bytes left)",
			    at, n, br_left(&r));
		blk = br_bytes(&r, n);
		if (snappy_block(blk, n, max_out, start, out, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- lz4 ----------------------------------------------------------- */

/*
 * LZ4F_getErrorCode() is only declared for static linking, so allocation
 * failures are told apart by their (stable) error name.
 */
static int
lz4_is_oom(size_t code)
{
	return strcmp(LZ4F_getErrorName(code), "ERROR_allocation_failed") == 0;
}

/*
 * Frames as Kafka's Java client writes them: 64 KiB independent blocks,
 * no content size, no checksums beyond the header's. Linked blocks would
 * break readers that decode each block on its own.
 */
static int
lz4_compress(
    int level, const uint8_t *in, size_t len, struct buf *out, struct err *e)
{
	LZ4F_preferences_t prefs;
	size_t bound, n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	/* LZ4F clamps levels above its maximum; below 1 is fast mode. */
	prefs.compressionLevel = level == COMPRESS_LEVEL_DEFAULT ? 0 : level;
	bound = LZ4F_compressFrameBound(len, &prefs);
	if (LZ4F_isError(bound))
		return err_set(e, EXIT_SOFTWARE,
		    "lz4: cannot bound %zu bytes: %s", len,
		    LZ4F_getErrorName(bound));
	if (buf_reserve(out, bound) < 0)
		return err_oom(e, "lz4");
	n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
	if (LZ4F_isError(n)) {
		if (lz4_is_oom(n))
			return err_oom(e, "lz4");
		return err_set(e, EXIT_SOFTWARE, "lz4: compression failed: %s",
		    LZ4F_getErrorName(n));
	}
	out->len += n;
	return 0;
}

/*
 * LZ4F_decompress() keeps the history it needs in its own buffers (no
 * stableDst), which matters because the output buffer may move between
 * steps. Concatenated frames are decoded one after another.
 */
static int
lz4_decompress(const uint8_t *in, size_t len, size_t max_out, struct buf *out,
    struct err *e)
{
	LZ4F_dctx *dctx = NULL;
	LZ4F_errorCode_t rc;
	size_t left = len, start = out->len;
	int ret = -1;

	rc = LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
	if (LZ4F_isError(rc))
		return err_oom(e, "lz4");
	for (;;) {
		uint8_t *dst;
		size_t room, srcn, hint;

		dst = out_window(out, start, max_out, inflate_hint(len), &room);
		if (dst == NULL) {
			err_oom(e, "lz4");
			goto out;
		}
		srcn = left;
		hint = LZ4F_decompress(dctx, dst, &room, in, &srcn, NULL);
		if (LZ4F_isError(hint)) {
			if (lz4_is_oom(hint))
				err_oom(e, "lz4");
			else
				err_set(e, EXIT_DATAERR,
				    "lz4: corrupt frame at offset %zu: %s",
				    len - left, LZ4F_getErrorName(hint));
			goto out;
		}
		in += srcn;
		left -= srcn;
		out->len += room;
		if (out->len - start > max_out) {
			err_exceeds(e, "lz4", max_out);
			goto out;
		}
		if (hint == 0 && left == 0)
			break;
		if (hint != 0 && srcn == 0 && room == 0) {
			err_set(e, EXIT_DATAERR,
			    left == 0 ? "lz4: truncated frame"
				      : "lz4: decoder stalled");
			goto out;
		}
	}
	ret = 0;
out:
	LZ4F_freeDecompressionContext(dctx);
	return ret;
}

/* ---- zstd ---------------------------------------------------------- */

static int
zstd_compress(
    int level, const uint8_t *in, size_t len, struct buf *out, struct err *e)
{
	size_t bound, n;

	if (level == COMPRESS_LEVEL_DEFAULT)
		level = ZSTD_CLEVEL_DEFAULT;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return err_set(e, EXIT_SOFTWARE,
		    "zstd: bad compression level %d (use %d to %d)", level,
		    ZSTD_minCLevel(), ZSTD_maxCLevel());
	bound = ZSTD_compressBound(len);
	if (ZSTD_isError(bound))
		return err_set(
		    e, EXIT_SOFTWARE, "zstd: cannot bound %zu bytes", len);
	if (buf_reserve(out, bound) < 0)
		return err_oom(e, "zstd");
	n = ZSTD_compress(out->data + out->len, bound, in, len, level);
	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation)
			return err_oom(e, "zstd");
		return err_set(e, EXIT_SOFTWARE, "zstd: compression failed: %s",
		    ZSTD_getErrorName(n));
	}
	out->len += n;
	return 0;
}

/*
 * Streaming, so the output grows only as far as the data really goes. A
 * frame that declares a content size above max_out is refused at once: the
 * decoder would fail on it anyway, either for size or for the mismatch.
 */
static int
zstd_decompress(const uint8_t *in, size_t len, size_t max_out, struct buf *out,
    struct err *e)
{
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer ib = {in, len, 0};
	unsigned long long fcs;
	size_t start = out->len;
	int ret = -1;

	fcs = ZSTD_getFrameContentSize(in, len);
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
	    fcs > max_out)
		return err_exceeds(e, "zstd", max_out);
	dctx = ZSTD_createDCtx();
	if (dctx == NULL)
		return err_oom(e, "zstd");
	for (;;) {
		ZSTD_outBuffer ob;
		size_t room, hint, before = ib.pos;
		uint8_t *dst;

		dst = out_window(out, start, max_out, inflate_hint(len), &room);
		if (dst == NULL) {
			err_oom(e, "zstd");
			goto out;
		}
		ob.dst = dst;
		ob.size = room;
		ob.pos = 0;
		hint = ZSTD_decompressStream(dctx, &ob, &ib);
		if (ZSTD_isError(hint)) {
			if (ZSTD_getErrorCode(hint) ==
			    ZSTD_error_memory_allocation)
				err_oom(e, "zstd");
			else
				err_set(e, EXIT_DATAERR,
				    "zstd: corrupt frame near offset %zu: %s",
				    ib.pos, ZSTD_getErrorName(hint));
			goto out;
		}
		out->len += ob.pos;
		if (out->len - start > max_out) {
			err_exceeds(e, "zstd", max_out);
			goto out;
		}
		if (hint == 0 && ib.pos == ib.size)
			break;
		if (hint != 0 && ib.pos == before && ob.pos == 0) {
			err_set(e, EXIT_DATAERR,
			    ib.pos == ib.size ? "zstd: truncated frame"
					      : "zstd: decoder stalled");
			goto out;
		}
	}
	ret = 0;
out:
	ZSTD_freeDCtx(dctx);
	return ret;
}

/* ---- entry points -------------------------------------------------- */

int
compress_append(enum compress_codec codec, int level, const void *in,
    size_t len, struct buf *out, struct err *e)
{
	size_t start = out->len;
	int rc;

	if (in == NULL) {
		if (len > 0)
			return err_set(e, EXIT_SOFTWARE,
			    "compress: NULL input of %zu bytes", len);
		in = empty_input;
	}
	switch (codec) {
	case COMPRESS_NONE:
		buf_put(out, in, len);
		rc = out->failed ? err_oom(e, "none") : 0;
		break;
	case COMPRESS_GZIP:
		rc = gzip_compress(level, in, len, out, e);
		break;
	case COMPRESS_SNAPPY:
		rc = snappy_compress_xerial(in, len, out, e);
		break;
	case COMPRESS_LZ4:
		rc = lz4_compress(level, in, len, out, e);
		break;
	case COMPRESS_ZSTD:
		rc = zstd_compress(level, in, len, out, e);
		break;
	default:
		return err_set(e, EXIT_SOFTWARE,
		    "compress: unknown compression codec %d", (int)codec);
	}
	if (rc < 0)
		out->len = start;
	return rc;
}

int
decompress_append(enum compress_codec codec, const void *in, size_t len,
    size_t max_out, struct buf *out, struct err *e)
{
	size_t start = out->len;
	int rc;

	if (in == NULL) {
		if (len > 0)
			return err_set(e, EXIT_SOFTWARE,
			    "decompress: NULL input of %zu bytes", len);
		in = empty_input;
	}
	switch (codec) {
	case COMPRESS_NONE:
		if (len > max_out)
			return err_exceeds(e, "none", max_out);
		buf_put(out, in, len);
		rc = out->failed ? err_oom(e, "none") : 0;
		break;
	case COMPRESS_GZIP:
		rc = gzip_decompress(in, len, max_out, out, e);
		break;
	case COMPRESS_SNAPPY:
		rc = snappy_decompress(in, len, max_out, out, e);
		break;
	case COMPRESS_LZ4:
		rc = lz4_decompress(in, len, max_out, out, e);
		break;
	case COMPRESS_ZSTD:
		rc = zstd_decompress(in, len, max_out, out, e);
		break;
	default:
		/* Codecs come from batch attributes: bad data, not a bug. */
		return err_set(e, EXIT_DATAERR, "unknown compression codec %d",
		    (int)codec);
	}
	if (rc < 0)
		out->len = start;
	return rc;
}
