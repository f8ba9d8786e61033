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

struct breader {
	const uint8_t *start;	/* first byte, for reporting positions */
	const uint8_t *p;	/* next byte to read */
	const uint8_t *end;	/* one past the last readable byte */
	const char *fail;	/* NULL, or what went wrong first */
	size_t fail_at;		/* position of the first failure */
};

void br_init(struct breader *r, const void *data, size_t len);

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

/* Mark the reader failed with `why` (kept only if it is the first). */
void br_fail(struct breader *r, const char *why);

int8_t br_i8(struct breader *r);
int16_t br_i16(struct breader *r);
int32_t br_i32(struct breader *r);
int64_t br_i64(struct breader *r);
uint32_t br_u32(struct breader *r);

/* Zigzag varints as in protobuf and Kafka; at most 5 / 10 bytes. */
int32_t br_varint(struct breader *r);
int64_t br_varlong(struct breader *r);
/* Unsigned varint (Kafka's compact lengths); at most 5 bytes. */
uint32_t br_uvarint(struct breader *r);

/* Return a pointer to the next n bytes and skip them; NULL on shortfall. */
const uint8_t *br_bytes(struct breader *r, size_t n);
void br_skip(struct breader *r, size_t n);

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
