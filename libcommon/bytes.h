/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked reading of big-endian integers and zigzag varints from
 * untrusted bytes, and the matching encoders. A reader never reads past its
 * end: every getter checks the bytes left first and, on shortfall or a
 * malformed varint, marks the reader failed and returns 0. Callers check
 * br_ok() once after a run of reads (the "sticky error" pattern), which
 * keeps decoders short without giving up safety.
 */
#ifndef KLOG_BYTES_H
#define KLOG_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big-endian loads and stores on memory already known to be long enough. */
static inline uint16_t
be16_load(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
be32_load(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64_load(const uint8_t *p)
{
	return (uint64_t)be32_load(p) << 32 | be32_load(p + 4);
}

static inline void
be16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
be64_store(uint8_t *p, uint64_t v)
{
	be32_store(p, (uint32_t)(v >> 32));
	be32_store(p + 4, (uint32_t)v);
}

struct breader {
	const uint8_t *start;	/* first byte, for reporting positions */
	const uint8_t *p;	/* next byte to read */
	const uint8_t *end;	/* one past the last readable byte */
	const char *fail;	/* NULL, or what went wrong first */
	size_t fail_at;		/* position of the first failure */
};
/*
 * Once failed, p == end (br_fail parks it there and only the readers move
 * p), so a read that finds bytes left also knows the reader is healthy.
 */

#if defined(__GNUC__)
#define BR_LIKELY(x) __builtin_expect(!!(x), 1)
#define BR_COLD __attribute__((cold))
#else
#define BR_LIKELY(x) (x)
#define BR_COLD
#endif

static inline void
br_init(struct breader *r, const void *data, size_t len)
{
	r->start = data;
	r->p = data;
	r->end = r->p + len;
	r->fail = NULL;
	r->fail_at = 0;
}

static inline size_t
br_left(const struct breader *r)
{
	return (size_t)(r->end - r->p);
}

static inline size_t
br_pos(const struct breader *r)
{
	return (size_t)(r->p - r->start);
}

static inline bool
br_ok(const struct breader *r)
{
	return r->fail == NULL;
}

/*
 * Mark the reader failed with `why` (kept only if it is the first) and
 * park the cursor at the end, so that every later read fails.
 */
void br_fail(struct breader *r, const char *why) BR_COLD;

/*
 * The getters below are inline: decoders call several per record. Each
 * one checks the bytes left (and the sticky failure) before it reads; the
 * uncommon cases (shortfall, multi-byte varints) are out of line in
 * bytes.c. The br_*_slow() functions are that out-of-line part and are
 * not meant to be called directly.
 */
const uint8_t *br_take_slow(struct breader *r, size_t n) BR_COLD;
int32_t br_varint_slow(struct breader *r);
int64_t br_varlong_slow(struct breader *r);
uint32_t br_uvarint_slow(struct breader *r);

/* The next n bytes, skipped; NULL (reader failed) when fewer are left. */
static inline const uint8_t *
br_take(struct breader *r, size_t n)
{
	const uint8_t *p = r->p;

	/* n == 0 must still see a failure: p == end passes the length test. */
	if (BR_LIKELY((size_t)(r->end - p) >= n &&
	    (n != 0 || r->fail == NULL))) {
		r->p = p + n;
		return p;
	}
	return br_take_slow(r, n);
}

static inline int8_t
br_i8(struct breader *r)
{
	const uint8_t *p = br_take(r, 1);

	return p ? (int8_t)p[0] : 0;
}

static inline int16_t
br_i16(struct breader *r)
{
	const uint8_t *p = br_take(r, 2);

	return p ? (int16_t)be16_load(p) : 0;
}

static inline int32_t
br_i32(struct breader *r)
{
	const uint8_t *p = br_take(r, 4);

	return p ? (int32_t)be32_load(p) : 0;
}

static inline int64_t
br_i64(struct breader *r)
{
	const uint8_t *p = br_take(r, 8);

	return p ? (int64_t)be64_load(p) : 0;
}

static inline uint32_t
br_u32(struct breader *r)
{
	const uint8_t *p = br_take(r, 4);

	return p ? be32_load(p) : 0;
}

/*
 * Fast path of the varint readers: a varint of one or two bytes (every
 * length and delta of a typical record) when that many bytes are left.
 * Such a varint is never too long or out of range. Returns false, reading
 * nothing, for anything else; the slow path then decodes or fails.
 */
static inline bool
br_varint_short(struct breader *r, uint32_t *out)
{
	const uint8_t *p = r->p;
	size_t left = (size_t)(r->end - p);

	if (left == 0)		/* also when failed (see struct breader) */
		return false;
	if (BR_LIKELY((p[0] & 0x80) == 0)) {
		*out = p[0];
		r->p = p + 1;
		return true;
	}
	if (left >= 2 && (p[1] & 0x80) == 0) {
		*out = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
		r->p = p + 2;
		return true;
	}
	return false;
}

/* Zigzag varints as in protobuf and Kafka; at most 5 / 10 bytes. */
static inline int32_t
br_varint(struct breader *r)
{
	uint32_t u;

	if (BR_LIKELY(br_varint_short(r, &u)))
		return (int32_t)((u >> 1) ^ (0u - (u & 1)));
	return br_varint_slow(r);
}

static inline int64_t
br_varlong(struct breader *r)
{
	uint32_t u;

	/* Below 2^14, so the zigzag fits 32 bits. */
	if (BR_LIKELY(br_varint_short(r, &u)))
		return (int32_t)((u >> 1) ^ (0u - (u & 1)));
	return br_varlong_slow(r);
}

/* Unsigned varint (Kafka's compact lengths); at most 5 bytes. */
static inline uint32_t
br_uvarint(struct breader *r)
{
	uint32_t u;

	if (BR_LIKELY(br_varint_short(r, &u)))
		return u;
	return br_uvarint_slow(r);
}

/* Return a pointer to the next n bytes and skip them; NULL on shortfall. */
static inline const uint8_t *
br_bytes(struct breader *r, size_t n)
{
	return br_take(r, n);
}

static inline void
br_skip(struct breader *r, size_t n)
{
	(void)br_take(r, n);
}

/*
 * Encode a zigzag varint into `out` (room for 5 / 10 bytes); return the
 * number of bytes written.
 */
size_t varint_put(uint8_t *out, int32_t v);
size_t varlong_put(uint8_t *out, int64_t v);
size_t uvarint_put(uint8_t *out, uint32_t v);
/* Encoded sizes without encoding. */
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);

#endif
