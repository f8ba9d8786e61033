/* SPDX-License-Identifier: MIT */
/*
 * Growable byte buffer. Writers are sticky on failure: once an allocation
 * fails, `failed` is set and later writes do nothing, so an encoder can
 * check once at the end. The buffer owns its memory: buf_release() frees.
 */
#ifndef KLOG_BUF_H
#define KLOG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed;		/* an allocation failed; contents incomplete */
};

#define BUF_INIT { NULL, 0, 0, false }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Forget the contents, keep the memory. */
void buf_clear(struct buf *b);

/* Make room for `extra` more bytes; 0 on success, -1 (and failed) if not. */
int buf_reserve(struct buf *b, size_t extra);
/* Return a pointer to `n` new bytes at the end (uninitialised), or NULL. */
uint8_t *buf_extend(struct buf *b, size_t n);

/*
 * A reader has consumed the first *off bytes of `b`: forget them. A fully
 * read buffer is emptied; otherwise the rest moves to the front once more
 * than `slack` bytes are consumed (0: always), so that input buffers do
 * not creep. *off is the read position afterwards.
 */
void buf_compact(struct buf *b, size_t *off, size_t slack);

void buf_put(struct buf *b, const void *p, size_t n);
void buf_put_str(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_put_i8(struct buf *b, int8_t v);
void buf_put_i16(struct buf *b, int16_t v);
void buf_put_i32(struct buf *b, int32_t v);
void buf_put_i64(struct buf *b, int64_t v);
void buf_put_varint(struct buf *b, int32_t v);
void buf_put_varlong(struct buf *b, int64_t v);

#endif
