/* SPDX-License-Identifier: MIT */
/*
 * Growable byte buffer (see buf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bytes.h"
#include "banned.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	b->failed = false;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (b->failed)
		return -1;
	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return -1;
	}
	want = b->len + extra;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = true;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

uint8_t *
buf_extend(struct buf *b, size_t n)
{
	uint8_t *p;

	if (buf_reserve(b, n) < 0)
		return NULL;
	p = b->data + b->len;
	b->len += n;
	return p;
}

void
buf_compact(struct buf *b, size_t *off, size_t slack)
{
	if (*off == b->len) {
		b->len = 0;
		*off = 0;
	} else if (*off > slack) {
		memmove(b->data, b->data + *off, b->len - *off);
		b->len -= *off;
		*off = 0;
	}
}

void
buf_put(struct buf *b, const void *p, size_t n)
{
	uint8_t *dst;

	if (n == 0)
		return;
	dst = buf_extend(b, n);
	if (dst != NULL)
		memcpy(dst, p, n);
}

void
buf_put_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	uint8_t *dst = buf_extend(b, 1);

	if (dst != NULL)
		*dst = (uint8_t)c;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n + 1) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_put_i8(struct buf *b, int8_t v)
{
	buf_putc(b, (char)v);
}

void
buf_put_i16(struct buf *b, int16_t v)
{
	uint8_t *p = buf_extend(b, 2);

	if (p != NULL)
		be16_store(p, (uint16_t)v);
}

void
buf_put_i32(struct buf *b, int32_t v)
{
	uint8_t *p = buf_extend(b, 4);

	if (p != NULL)
		be32_store(p, (uint32_t)v);
}

void
buf_put_i64(struct buf *b, int64_t v)
{
	uint8_t *p = buf_extend(b, 8);

	if (p != NULL)
		be64_store(p, (uint64_t)v);
}

void
buf_put_varint(struct buf *b, int32_t v)
{
	uint8_t tmp[5];

	buf_put(b, tmp, varint_put(tmp, v));
}

void
buf_put_varlong(struct buf *b, int64_t v)
{
	uint8_t tmp[10];

	buf_put(b, tmp, varlong_put(tmp, v));
}
