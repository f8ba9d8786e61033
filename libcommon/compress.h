/* SPDX-License-Identifier: MIT */
/*
 * Record-batch compression codecs, numbered as in the batch attributes:
 * gzip (zlib), snappy (raw, and the xerial framing Java clients write),
 * lz4 (the LZ4 frame format Kafka uses for magic 2) and zstd.
 * Decompression is bounded: output beyond `max_out` bytes is an error
 * (a decompression bomb never becomes an unbounded allocation).
 */
#ifndef KLOG_COMPRESS_H
#define KLOG_COMPRESS_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum compress_codec {
	COMPRESS_NONE = 0,
	COMPRESS_GZIP = 1,
	COMPRESS_SNAPPY = 2,
	COMPRESS_LZ4 = 3,
	COMPRESS_ZSTD = 4
};

#define COMPRESS_LEVEL_DEFAULT (-1000)

/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown(N)" is not returned: NULL for bad codecs. */
const char *compress_codec_name(int codec);
/* Parse a codec name; 0 on success, -1 with EXIT_USAGE. */
int compress_codec_parse(const char *name, enum compress_codec *out,
    struct err *e);

/*
 * Compress `len` bytes of `in`, appending the compressed form to `out`.
 * Snappy output uses the xerial framing (readable by every client).
 * `level` is codec-specific; COMPRESS_LEVEL_DEFAULT picks the codec's
 * default. Returns 0, or -1 with `e` set (EXIT_SOFTWARE / EXIT_OSERR).
 */
int compress_append(enum compress_codec codec, int level, const void *in,
    size_t len, struct buf *out, struct err *e);

/*
 * Decompress `len` bytes of `in`, appending the result to `out`. Fails with
 * EXIT_DATAERR if the input is malformed or inflates to more than
 * `max_out` bytes; `out` then holds an unspecified partial result.
 */
int decompress_append(enum compress_codec codec, const void *in, size_t len,
    size_t max_out, struct buf *out, struct err *e);

#endif
