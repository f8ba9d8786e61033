/* SPDX-License-Identifier: MIT */
/*
 * JSON writing, UTF-8 validation and base64 (see json.h). Everything is
 * byte-oriented; numbers use printf, so programs keep the C locale (none of
 * ours calls setlocale) to get '.' as the decimal point.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "banned.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
json_utf8_decode(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	if (len == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		n = 1;
		min = 0;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		/* continuation byte, C0/C1 (always overlong) or F5..FF */
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = c;
	return n;
}

bool
json_utf8_valid(const void *s, size_t len)
{
	const uint8_t *p = s;
	size_t n;

	while (len > 0) {
		/* ASCII fast path: most keys and values are plain text. */
		if (*p < 0x80) {
			p++;
			len--;
			continue;
		}
		n = json_utf8_decode(p, len, NULL);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

void
json_put_str(struct buf *b, const void *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = s, *run = s;
	size_t n;

	buf_putc(b, '"');
	while (len > 0) {
		uint8_t c = *p;
		char esc = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			p++;
			len--;
			continue;
		}
		if (c >= 0x80) {
			n = json_utf8_decode(p, len, NULL);
			if (n > 0) {
				p += n;
				len -= n;
				continue;
			}
		}
		/* Flush the plain run, then write this byte escaped. */
		buf_put(b, run, (size_t)(p - run));
		switch (c) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\b': esc = 'b'; break;
		case '\f': esc = 'f'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		default: break;
		}
		if (esc != 0) {
			buf_putc(b, '\\');
			buf_putc(b, esc);
		} else if (c < 0x20) {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 15] };

			buf_put(b, u, sizeof(u));
		} else {
			buf_put_str(b, "\xef\xbf\xbd");	/* U+FFFD */
		}
		p++;
		len--;
		run = p;
	}
	buf_put(b, run, (size_t)(p - run));
	buf_putc(b, '"');
}

void
json_put_cstr(struct buf *b, const char *s)
{
	json_put_str(b, s, strlen(s));
}

void
json_put_i64(struct buf *b, int64_t v)
{
	buf_printf(b, "%" PRId64, v);
}

void
json_put_u64(struct buf *b, uint64_t v)
{
	buf_printf(b, "%" PRIu64, v);
}

void
json_put_bool(struct buf *b, bool v)
{
	buf_put_str(b, v ? "true" : "false");
}

void
json_put_null(struct buf *b)
{
	buf_put_str(b, "null");
}

void
json_put_double(struct buf *b, double v, int decimals)
{
	if (isnan(v) || isinf(v)) {
		json_put_null(b);
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 17)
		decimals = 17;
	buf_printf(b, "%.*f", decimals, v);
}

size_t
json_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
json_base64_put(struct buf *b, const void *in, size_t len)
{
	const uint8_t *p = in;
	uint8_t *o;
	uint32_t v;

	o = buf_extend(b, json_base64_len(len));
	if (o == NULL)
		return;
	for (; len >= 3; p += 3, len -= 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*o++ = (uint8_t)b64_alphabet[v >> 18];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
		*o++ = (uint8_t)b64_alphabet[v & 63];
	}
	if (len == 0)
		return;
	v = (uint32_t)p[0] << 16 | (len == 2 ? (uint32_t)p[1] << 8 : 0);
	*o++ = (uint8_t)b64_alphabet[v >> 18];
	*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
	*o++ = len == 2 ? (uint8_t)b64_alphabet[(v >> 6) & 63] : '=';
	*o = '=';
}

/* The 6-bit value of a base64 character, or -1. */
static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
json_base64_decode(const char *in, size_t len, struct buf *out, struct err *e)
{
	size_t i, data_len = len, pad = 0, tail, start = out->len;
	uint32_t acc = 0;
	int bits = 0, v;
	uint8_t *o;

	/* Padding, when present, must complete a 4-character group. */
	while (data_len > 0 && in[data_len - 1] == '=' && pad < 2) {
		data_len--;
		pad++;
	}
	if (pad > 0 && len % 4 != 0)
		return err_set(e, EXIT_DATAERR,
		    "base64: padding at position %zu does not end a "
		    "4-character group", data_len);
	tail = data_len % 4;
	if (tail == 1)
		return err_set(e, EXIT_DATAERR,
		    "base64: length %zu is not a valid encoded length",
		    data_len);
	if (pad > 0 && (4 - tail) % 4 != pad)
		return err_set(e, EXIT_DATAERR,
		    "base64: wrong amount of padding at position %zu", data_len);
	if (data_len == 0)
		return 0;
	o = buf_extend(out, data_len / 4 * 3 + (tail ? tail - 1 : 0));
	if (o == NULL)
		return err_set(e, EXIT_OSERR, "base64: out of memory");
	for (i = 0; i < data_len; i++) {
		v = b64_value(in[i]);
		if (v < 0) {
			out->len = start;
			return err_set(e, EXIT_DATAERR,
			    "base64: invalid character at position %zu", i);
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) {
		out->len = start;
		return err_set(e, EXIT_DATAERR,
		    "base64: non-zero padding bits at position %zu",
		    data_len - 1);
	}
	return 0;
}

void
json_put_bytes(struct buf *b, const void *data, int64_t len)
{
	if (len < 0 || (data == NULL && len > 0)) {
		json_put_null(b);
		return;
	}
	if (json_utf8_valid(data, (size_t)len)) {
		json_put_str(b, data, (size_t)len);
		return;
	}
	buf_put_str(b, "{\"base64\":\"");
	json_base64_put(b, data, (size_t)len);
	buf_put_str(b, "\"}");
}

void
json_obj_begin(struct json_obj *o, struct buf *b)
{
	o->b = b;
	o->first = true;
	buf_putc(b, '{');
}

void
json_obj_key(struct json_obj *o, const char *key)
{
	if (!o->first)
		buf_putc(o->b, ',');
	o->first = false;
	json_put_cstr(o->b, key);
	buf_putc(o->b, ':');
}

void
json_obj_end(struct json_obj *o)
{
	buf_putc(o->b, '}');
}

void
json_obj_i64(struct json_obj *o, const char *key, int64_t v)
{
	json_obj_key(o, key);
	json_put_i64(o->b, v);
}

void
json_obj_u64(struct json_obj *o, const char *key, uint64_t v)
{
	json_obj_key(o, key);
	json_put_u64(o->b, v);
}

void
json_obj_bool(struct json_obj *o, const char *key, bool v)
{
	json_obj_key(o, key);
	json_put_bool(o->b, v);
}

void
json_obj_null(struct json_obj *o, const char *key)
{
	json_obj_key(o, key);
	json_put_null(o->b);
}

void
json_obj_cstr(struct json_obj *o, const char *key, const char *s)
{
	json_obj_key(o, key);
	json_put_cstr(o->b, s);
}

void
json_obj_bytes(struct json_obj *o, const char *key, const void *data,
    int64_t len)
{
	json_obj_key(o, key);
	json_put_bytes(o->b, data, len);
}

void
json_obj_i64_or_null(struct json_obj *o, const char *key, int64_t v)
{
	if (v < 0)
		json_obj_null(o, key);
	else
		json_obj_i64(o, key, v);
}

void
json_obj_cstr_or_null(struct json_obj *o, const char *key, const char *s)
{
	if (*s == '\0')
		json_obj_null(o, key);
	else
		json_obj_cstr(o, key, s);
}

void
json_arr_begin(struct json_arr *a, struct buf *b)
{
	a->b = b;
	a->first = true;
	buf_putc(b, '[');
}

void
json_arr_next(struct json_arr *a)
{
	if (!a->first)
		buf_putc(a->b, ',');
	a->first = false;
}

void
json_arr_end(struct json_arr *a)
{
	buf_putc(a->b, ']');
}
