/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked byte reader and varint codec (see bytes.h): the slow,
 * out-of-line half of the readers, and the encoders.
 */
#include "bytes.h"
#include "banned.h"

void
br_fail(struct breader *r, const char *why)
{
	if (r->fail != NULL)
		return;
	r->fail = why;
	r->fail_at = br_pos(r);
	/* Park the cursor at the end so that later reads fail cheaply. */
	r->p = r->end;
}

const uint8_t *
br_take_slow(struct breader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->fail != NULL)
		return NULL;
	if (br_left(r) < n) {
		br_fail(r, "truncated");
		return NULL;
	}
	r->p += n;
	return p;
}

/* Read an unsigned base-128 varint of at most `max_bytes` bytes. */
static uint64_t
br_raw_varint(struct breader *r, unsigned max_bytes)
{
	uint64_t v = 0;
	unsigned i;

	if (r->fail != NULL)
		return 0;
	for (i = 0; i < max_bytes; i++) {
		uint8_t b;

		if (r->p == r->end) {
			br_fail(r, "truncated varint");
			return 0;
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0)
			return v;
	}
	br_fail(r, "varint too long");
	return 0;
}

int32_t
br_varint_slow(struct breader *r)
{
	uint64_t u = br_raw_varint(r, 5);

	if (u > UINT32_MAX) {
		br_fail(r, "varint out of range");
		return 0;
	}
	return (int32_t)((uint32_t)(u >> 1) ^ -(uint32_t)(u & 1));
}

int64_t
br_varlong_slow(struct breader *r)
{
	uint64_t u = br_raw_varint(r, 10);

	return (int64_t)((u >> 1) ^ -(u & 1));
}

uint32_t
br_uvarint_slow(struct breader *r)
{
	uint64_t u = br_raw_varint(r, 5);

	if (u > UINT32_MAX) {
		br_fail(r, "varint out of range");
		return 0;
	}
	return (uint32_t)u;
}

static size_t
raw_varint_put(uint8_t *out, uint64_t u)
{
	size_t n = 0;

	while (u >= 0x80) {
		out[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	out[n++] = (uint8_t)u;
	return n;
}

static size_t
raw_varint_size(uint64_t u)
{
	size_t n = 1;

	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

static inline uint32_t
zigzag32(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t
zigzag64(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

size_t
varint_put(uint8_t *out, int32_t v)
{
	return raw_varint_put(out, zigzag32(v));
}

size_t
varlong_put(uint8_t *out, int64_t v)
{
	return raw_varint_put(out, zigzag64(v));
}

size_t
uvarint_put(uint8_t *out, uint32_t v)
{
	return raw_varint_put(out, v);
}

size_t
varint_size(int32_t v)
{
	return raw_varint_size(zigzag32(v));
}

size_t
varlong_size(int64_t v)
{
	return raw_varint_size(zigzag64(v));
}
