/* SPDX-License-Identifier: MIT */
/*
 * JSON output helpers shared by the tools that speak the klog record
 * envelope (docs: RECORD-JSON.md): string escaping, strict UTF-8
 * validation, base64 (RFC 4648, standard alphabet) in both directions, and
 * the envelope's byte-field rule: null / "utf-8 text" / {"base64":"..."}.
 * Writers append to a struct buf and never fail on their own: a buf that
 * runs out of memory turns `failed` and the caller checks once at the end.
 * Nothing here allocates except through the buf it is given.
 */
#ifndef KLOG_JSON_H
#define KLOG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * Decode one UTF-8 sequence at p[0..len). Returns its length (1-4) and sets
 * *cp, or 0 when the bytes there are not a complete, well-formed sequence:
 * overlong forms, surrogates (U+D800..U+DFFF) and values above U+10FFFF
 * are rejected, as RFC 3629 requires. `cp` may be NULL.
 */
size_t json_utf8_decode(const uint8_t *p, size_t len, uint32_t *cp);

/* Whether s[0..len) is entirely well-formed UTF-8 (empty input is). */
bool json_utf8_valid(const void *s, size_t len);

/*
 * Append s[0..len) as a quoted JSON string. '"', '\\' and control
 * characters are escaped (\n, \t, ... or \u00XX). Input should be UTF-8;
 * each byte that is not part of a well-formed sequence is written as
 * U+FFFD, so the output is always valid JSON (lossy only for such bytes;
 * use json_put_bytes to keep arbitrary bytes).
 */
void json_put_str(struct buf *b, const void *s, size_t len);
/* json_put_str for a NUL-terminated string. */
void json_put_cstr(struct buf *b, const char *s);

/* Scalars. json_put_double writes null for NaN and infinities. */
void json_put_i64(struct buf *b, int64_t v);
void json_put_u64(struct buf *b, uint64_t v);
void json_put_bool(struct buf *b, bool v);
void json_put_null(struct buf *b);
void json_put_double(struct buf *b, double v, int decimals);

/* Length of the base64 text for n input bytes (with '=' padding). */
size_t json_base64_len(size_t n);

/* Append the padded base64 text of in[0..len) (no quotes). */
void json_base64_put(struct buf *b, const void *in, size_t len);

/*
 * Decode base64 text in[0..len) and append the bytes to `out`. Accepts
 * the standard alphabet, with or without '=' padding; rejects any other
 * character (whitespace included), a length that cannot be base64, and
 * non-zero bits left over in the last character (so that each byte string
 * has exactly one accepted encoding). Returns 0, or -1 with EXIT_DATAERR
 * and the position of the first bad character, leaving `out` as it was;
 * EXIT_OSERR if `out` fails to grow.
 */
int json_base64_decode(const char *in, size_t len, struct buf *out,
    struct err *e);

/*
 * Append a byte field of the record envelope: `null` when len < 0 (data
 * may then be NULL), a JSON string when the bytes are valid UTF-8 (empty
 * bytes give ""), and {"base64":"..."} otherwise. Lossless: a reader gets
 * back exactly the bytes (or null) that were written.
 */
void json_put_bytes(struct buf *b, const void *data, int64_t len);

/*
 * Objects and arrays with automatic commas. A json_obj lives on the
 * caller's stack for the time the object is being written; nest by
 * starting a new json_obj (or json_arr) right after json_obj_key().
 *
 *	struct json_obj o;
 *	json_obj_begin(&o, b);
 *	json_obj_i64(&o, "offset", 42);
 *	json_obj_key(&o, "headers");
 *	... write any value ...
 *	json_obj_end(&o);
 */
struct json_obj {
	struct buf *b;
	bool first;
};

void json_obj_begin(struct json_obj *o, struct buf *b);
/* Write the separator and "key": ; the caller writes the value next. */
void json_obj_key(struct json_obj *o, const char *key);
void json_obj_end(struct json_obj *o);

/* Key plus value in one call. */
void json_obj_i64(struct json_obj *o, const char *key, int64_t v);
void json_obj_u64(struct json_obj *o, const char *key, uint64_t v);
void json_obj_bool(struct json_obj *o, const char *key, bool v);
void json_obj_null(struct json_obj *o, const char *key);
void json_obj_cstr(struct json_obj *o, const char *key, const char *s);
void json_obj_bytes(struct json_obj *o, const char *key, const void *data,
    int64_t len);
/* `v`, or null when it is negative (unknown, as -1 offsets are). */
void json_obj_i64_or_null(struct json_obj *o, const char *key, int64_t v);
/* `s`, or null when it is empty (no error message, no rack). */
void json_obj_cstr_or_null(struct json_obj *o, const char *key,
    const char *s);

struct json_arr {
	struct buf *b;
	bool first;
};

void json_arr_begin(struct json_arr *a, struct buf *b);
/* Write the separator before the next element; the caller writes it. */
void json_arr_next(struct json_arr *a);
void json_arr_end(struct json_arr *a);

#endif
