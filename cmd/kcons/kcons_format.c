/* SPDX-License-Identifier: MIT */
/*
 * Output: the -f format compiled once into a list of operations (kcat's
 * tokens plus {modifiers} for encodings and human-readable times), the
 * default "value, delimiter" fast path, the JSON envelope, and the stdout
 * writer. Records are formatted straight into one large buffer, written
 * when it fills, when kcons is about to wait for the network, or after
 * every record on a terminal and with -u. EPIPE is a quiet stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "recjson.h"
#include "util.h"
#include "kcons.h"
#include "banned.h"

#define OUT_BUFFER (1u << 20)

static const char hexdigits[] = "0123456789abcdef";

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the escape at s (s[0] == '\\') into *out; return how many
 * characters it used, or 0 when it is not one we know.
 */
static size_t
escape_at(const char *s, char *out)
{
	int hi, lo;

	switch (s[1]) {
	case 'n': *out = '\n'; return 2;
	case 'r': *out = '\r'; return 2;
	case 't': *out = '\t'; return 2;
	case '0': *out = '\0'; return 2;
	case '\\': *out = '\\'; return 2;
	case 'x':
		hi = hexval(s[2]);
		lo = hi < 0 ? -1 : hexval(s[3]);
		if (lo < 0)
			return 0;
		*out = (char)(hi << 4 | lo);
		return 4;
	default:
		return 0;
	}
}

int
kc_unescape(const char *s, struct buf *out, struct err *e)
{
	const char *p;
	size_t n;
	char c;

	for (p = s; *p != '\0'; p += n) {
		n = 1;
		c = *p;
		if (*p == '\\' && (n = escape_at(p, &c)) == 0)
			return err_set(e, EXIT_USAGE, "unknown escape '%.2s' "
			    "in '%s' (use \\n \\r \\t \\0 \\\\ or \\xNN)", p,
			    s);
		buf_putc(out, c);
	}
	return 0;
}

static struct kc_op *
add_op(struct kc_fmt *f, enum kc_tok tok)
{
	struct kc_op *op;

	f->ops = xrealloc(f->ops, (f->nops + 1) * sizeof(*f->ops));
	op = &f->ops[f->nops++];
	memset(op, 0, sizeof(*op));
	op->tok = tok;
	op->cache_sec = INT64_MIN;
	return op;
}

/* Literal bytes, merged into the previous literal when there is one. */
static void
add_lit(struct kc_fmt *f, const void *p, size_t n)
{
	struct kc_op *op;

	if (f->nops == 0 || f->ops[f->nops - 1].tok != KC_TOK_LIT) {
		op = add_op(f, KC_TOK_LIT);
		op->off = f->lits.len;
	}
	op = &f->ops[f->nops - 1];
	buf_put(&f->lits, p, n);
	op->len += n;
}

/* Apply the {modifier} text m[0..n) to op; false when it does not fit. */
static bool
modify(struct kc_op *op, const char *m, size_t n)
{
	static const struct {
		const char *name;
		enum kc_enc enc;
	} encs[] = {
		{ "raw", KC_ENC_RAW }, { "hex", KC_ENC_HEX },
		{ "base64", KC_ENC_BASE64 }, { "json", KC_ENC_JSON },
	};
	size_t i;

	switch (op->tok) {
	case KC_TOK_VALUE:
	case KC_TOK_KEY:
		for (i = 0; i < ARRAY_SIZE(encs); i++)
			if (strlen(encs[i].name) == n &&
			    memcmp(encs[i].name, m, n) == 0) {
				op->enc = encs[i].enc;
				return true;
			}
		return false;
	case KC_TOK_HEADERS:
		if (n != 4 || memcmp(m, "json", 4) != 0)
			return false;
		op->enc = KC_ENC_JSON;
		return true;
	case KC_TOK_TIMESTAMP:
		op->tok = KC_TOK_TIME;
		if (n == 3 && memcmp(m, "iso", 3) == 0) {
			op->iso = true;
			return true;
		}
		if (n > 6 && memcmp(m, "local:", 6) == 0) {
			op->local = true;
			m += 6;
			n -= 6;
		}
		if (n == 0 || memchr(m, '%', n) == NULL)
			return false;
		op->tfmt = xmalloc(n + 1);
		memcpy(op->tfmt, m, n);
		op->tfmt[n] = '\0';
		return true;
	default:
		return false;
	}
}

static int
compile_format(struct kc_fmt *f, const char *fmt, struct err *e)
{
	static const char tokens[] = "skSKRtpoTh";
	static const enum kc_tok toks[] = {
		KC_TOK_VALUE, KC_TOK_KEY, KC_TOK_VALUE_LEN, KC_TOK_KEY_LEN,
		KC_TOK_VALUE_LEN_BE32, KC_TOK_TOPIC, KC_TOK_PARTITION,
		KC_TOK_OFFSET, KC_TOK_TIMESTAMP, KC_TOK_HEADERS,
	};
	const char *p = fmt, *t, *close;
	struct kc_op *op;
	size_t n;
	char c;

	while (*p != '\0') {
		if (*p == '\\') {
			if ((n = escape_at(p, &c)) == 0)
				return err_set(e, EXIT_USAGE, "-f: unknown "
				    "escape '%.2s' (use \\n \\r \\t \\0 "
				    "\\\\ or \\xNN)", p);
			add_lit(f, &c, 1);
			p += n;
			continue;
		}
		if (*p != '%') {
			add_lit(f, p++, 1);
			continue;
		}
		if (p[1] == '%') {
			add_lit(f, "%", 1);
			p += 2;
			continue;
		}
		if (p[1] == '\0' || (t = strchr(tokens, p[1])) == NULL)
			return err_set(e, EXIT_USAGE, "-f: unknown token "
			    "'%%%.1s' (use %%s %%k %%S %%K %%R %%t %%p %%o %%T "
			    "%%h or %%%%)", p + 1);
		op = add_op(f, toks[t - tokens]);
		p += 2;
		if (*p != '{')
			continue;
		close = strchr(p, '}');
		if (close == NULL)
			return err_set(e, EXIT_USAGE, "-f: '{' after %%%c is "
			    "not closed", *t);
		if (!modify(op, p + 1, (size_t)(close - p - 1)))
			return err_set(e, EXIT_USAGE, "-f: %%%c cannot take "
			    "{%.*s} (see kcons(1))", *t, (int)(close - p - 1),
			    p + 1);
		if (op->local)
			tzset();
		p = close + 1;
	}
	return 0;
}

int
kc_fmt_compile(struct kc_fmt *f, const struct kc_opts *o, struct err *e)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->lits);
	f->null_str = o->null_literal ? "NULL" : "";
	f->null_len = strlen(f->null_str);
	if (o->json) {
		f->json = true;
		return 0;
	}
	if (o->format != NULL)
		return compile_format(f, o->format, e);
	if (o->key_delim_set) {
		add_op(f, KC_TOK_KEY);
		add_lit(f, o->key_delim.data, o->key_delim.len);
	}
	add_op(f, KC_TOK_VALUE);
	add_lit(f, o->delim.data, o->delim.len);
	f->value_only = !o->key_delim_set && f->nops == 2;
	return 0;
}

void
kc_fmt_release(struct kc_fmt *f)
{
	size_t i;

	for (i = 0; i < f->nops; i++)
		free(f->ops[i].tfmt);
	free(f->ops);
	buf_release(&f->lits);
	f->ops = NULL;
	f->nops = 0;
}

static void
put_i64(struct buf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
put_field(struct buf *b, const struct kc_fmt *f, const struct rec_bytes *v,
    enum kc_enc enc)
{
	uint8_t *o;
	int32_t i;

	if (enc == KC_ENC_JSON) {
		json_put_bytes(b, v->data, v->len);
		return;
	}
	if (v->len < 0) {
		buf_put(b, f->null_str, f->null_len);
		return;
	}
	switch (enc) {
	case KC_ENC_RAW:
		if (v->len > 0)
			buf_put(b, v->data, (size_t)v->len);
		break;
	case KC_ENC_HEX:
		if ((o = buf_extend(b, (size_t)v->len * 2)) == NULL)
			return;
		for (i = 0; i < v->len; i++) {
			*o++ = (uint8_t)hexdigits[v->data[i] >> 4];
			*o++ = (uint8_t)hexdigits[v->data[i] & 15];
		}
		break;
	case KC_ENC_BASE64:
		json_base64_put(b, v->data, (size_t)v->len);
		break;
	case KC_ENC_JSON:
		break;
	}
}

/* %h: "name=value,..." as kcat prints them, or the envelope's array. */
static int
put_headers(struct buf *b, const struct kc_fmt *f, const struct rec_record *r,
    enum kc_enc enc, struct err *e)
{
	struct rec_header h;
	struct breader br;
	int32_t i;

	br_init(&br, r->headers, r->headers_len);
	if (enc == KC_ENC_JSON)
		buf_putc(b, '[');
	for (i = 0; i < r->header_count; i++) {
		if (rec_header_next(&br, &h, e) < 0)
			return -1;
		if (i > 0)
			buf_putc(b, ',');
		if (enc == KC_ENC_JSON) {
			buf_put_str(b, "{\"key\":");
			json_put_str(b, h.key.data, (size_t)h.key.len);
			buf_put_str(b, ",\"value\":");
			json_put_bytes(b, h.value.data, h.value.len);
			buf_putc(b, '}');
			continue;
		}
		if (h.key.len > 0)
			buf_put(b, h.key.data, (size_t)h.key.len);
		buf_putc(b, '=');
		put_field(b, f, &h.value, KC_ENC_RAW);
	}
	if (enc == KC_ENC_JSON)
		buf_putc(b, ']');
	return 0;
}

/* %T{iso} and %T{strftime}; the text of a second is formatted once. */
static void
put_time(struct buf *b, struct kc_op *op, int64_t ts)
{
	int64_t sec = ts / 1000, ms = ts % 1000;
	char frac[6];

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	if (sec != op->cache_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		op->cache_len = 0;
		/* The user's strftime format: -f is theirs to write. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		if ((op->local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) !=
		    NULL)
			op->cache_len = strftime(op->cache, sizeof(op->cache),
			    op->iso ? "%Y-%m-%dT%H:%M:%S" : op->tfmt, &tm);
#pragma GCC diagnostic pop
		op->cache_sec = sec;
	}
	buf_put(b, op->cache, op->cache_len);
	if (op->iso) {
		frac[0] = '.';
		frac[1] = (char)('0' + ms / 100);
		frac[2] = (char)('0' + ms / 10 % 10);
		frac[3] = (char)('0' + ms % 10);
		frac[4] = 'Z';
		buf_put(b, frac, 5);
	}
}

static int
run_ops(struct kc *kc, const struct kc_part *p, const struct rec_record *r,
    struct err *e)
{
	struct kc_fmt *f = &kc->fmt;
	struct buf *b = &kc->out.b;
	size_t i;

	for (i = 0; i < f->nops; i++) {
		struct kc_op *op = &f->ops[i];

		switch (op->tok) {
		case KC_TOK_LIT:
			buf_put(b, f->lits.data + op->off, op->len);
			break;
		case KC_TOK_VALUE:
			put_field(b, f, &r->value, op->enc);
			break;
		case KC_TOK_KEY:
			put_field(b, f, &r->key, op->enc);
			break;
		case KC_TOK_VALUE_LEN:
			put_i64(b, r->value.len);
			break;
		case KC_TOK_KEY_LEN:
			put_i64(b, r->key.len);
			break;
		case KC_TOK_VALUE_LEN_BE32: {
			uint8_t be[4];

			be32_store(be, (uint32_t)r->value.len);
			buf_put(b, be, 4);
			break;
		}
		case KC_TOK_TOPIC:
			buf_put_str(b, p->topic);
			break;
		case KC_TOK_PARTITION:
			put_i64(b, p->id);
			break;
		case KC_TOK_OFFSET:
			put_i64(b, r->offset);
			break;
		case KC_TOK_TIMESTAMP:
			put_i64(b, r->timestamp);
			break;
		case KC_TOK_TIME:
			put_time(b, op, r->timestamp);
			break;
		case KC_TOK_HEADERS:
			if (put_headers(b, f, r, op->enc, e) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/*
 * Format with the ops (or as JSON) and report a failure. Kept out of
 * kc_fmt_record: its 516-byte struct err would cost the value-only path a
 * larger frame on every record.
 */
__attribute__((noinline)) static int
fmt_general(struct kc *kc, const struct kc_part *p,
    const struct rec_batch *batch, const struct rec_record *r)
{
	struct buf *b = &kc->out.b;
	size_t start = b->len;
	struct err e;
	int rc;

	err_clear(&e);		/* not `= { 0 }`: 516 bytes per record */
	if (kc->fmt.json) {
		rc = recjson_put_record(b, p->topic, p->id, batch, r, &e);
		buf_putc(b, '\n');
	} else {
		rc = run_ops(kc, p, r, &e);
	}
	if (rc < 0) {
		b->len = start;
		err_wrap(&e, "topic '%s' partition %" PRId32 " offset %" PRId64,
		    p->topic, p->id, r->offset);
		kc_fail(kc, &e);
		return -1;
	}
	return 0;
}

__attribute__((noinline)) static int
fmt_oom(struct kc *kc)
{
	struct err e;

	err_set(&e, EXIT_OSERR, "out of memory formatting a record");
	kc_fail(kc, &e);
	return -1;
}

int
kc_fmt_record(struct kc *kc, const struct kc_part *p,
    const struct rec_batch *batch, const struct rec_record *r)
{
	struct kc_fmt *f = &kc->fmt;
	struct buf *b = &kc->out.b;
	size_t start = b->len;

	if (f->value_only) {
		const struct kc_op *lit = &f->ops[1];
		const void *v = r->value.len >= 0 ?
		    (const void *)r->value.data : f->null_str;
		size_t vlen = r->value.len >= 0 ? (size_t)r->value.len :
		    f->null_len;
		size_t n = vlen + lit->len;

		if ((!b->failed && n <= b->cap - b->len) ||
		    buf_reserve(b, n) == 0) {
			uint8_t *dst = b->data + b->len;

			if (vlen > 0)
				memcpy(dst, v, vlen);
			if (lit->len == 1)	/* the usual "\n" */
				dst[vlen] = f->lits.data[lit->off];
			else
				memcpy(dst + vlen, f->lits.data + lit->off,
				    lit->len);
			b->len += n;
		}
	} else if (fmt_general(kc, p, batch, r) < 0) {
		return -1;
	}
	if (b->failed)
		return fmt_oom(kc);
	kc->bytes_out += b->len - start;
	if (!kc->out.hold && (kc->out.mode == KC_OUT_RECORD ||
	    b->len >= kc->out.flush_at) && kc_out_flush(&kc->out) < 0) {
		kc->stop = true;
		return -1;
	}
	return 0;
}

/* The stdout writer */

void
kc_out_init(struct kc_out *o, int fd, bool unbuffered)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	buf_init(&o->b);
	o->flush_at = OUT_BUFFER;
	o->mode = unbuffered || isatty(fd) ? KC_OUT_RECORD : KC_OUT_FULL;
	(void)buf_reserve(&o->b, OUT_BUFFER + 64 * 1024);
}

void
kc_out_release(struct kc_out *o)
{
	buf_release(&o->b);
}

int
kc_out_flush(struct kc_out *o)
{
	size_t off = 0;
	ssize_t n;

	while (off < o->b.len && !o->closed && !o->failed) {
		n = write(o->fd, o->b.data + off, o->b.len - off);
		if (n > 0) {
			off += (size_t)n;
			if (o->on_write != NULL)
				o->on_write(o->on_write_arg);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* A non-blocking stdout inherited from the caller. */
			struct pollfd pfd = { o->fd, POLLOUT, 0 };

			(void)poll(&pfd, 1, -1);
		} else if (n < 0 && errno == EPIPE) {
			log_debug("standard output was closed: stopping");
			o->closed = true;
		} else {
			log_warn("unable to write to standard output");
			o->failed = true;
		}
	}
	o->b.len = 0;
	return o->closed || o->failed ? -1 : 0;
}

#ifndef PIPE_BUF
#define PIPE_BUF 512
#endif

/* One write of what poll() says fits now; false when none does. */
static bool
write_ready(struct kc_out *o, size_t *off)
{
	struct pollfd pfd = { o->fd, POLLOUT, 0 };
	size_t n = o->b.len - *off;
	ssize_t w;

	if (poll(&pfd, 1, 0) <= 0 || pfd.revents == 0)
		return false;
	/* At most PIPE_BUF: a pipe with room for that takes it at once. */
	w = write(o->fd, o->b.data + *off, n > PIPE_BUF ? PIPE_BUF : n);
	if (w > 0) {
		*off += (size_t)w;
		if (o->on_write != NULL)
			o->on_write(o->on_write_arg);
		return true;
	}
	if (w < 0 && errno == EINTR)
		return true;
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	if (w < 0 && errno == EPIPE) {
		log_debug("standard output was closed: stopping");
		o->closed = true;
	} else {
		log_warn("unable to write to standard output");
		o->failed = true;
	}
	return false;
}

int
kc_out_flush_ready(struct kc_out *o)
{
	size_t off = 0;

	while (off < o->b.len && !o->closed && !o->failed &&
	    write_ready(o, &off))
		;
	if (off > 0) {
		memmove(o->b.data, o->b.data + off, o->b.len - off);
		o->b.len -= off;
	}
	return o->closed || o->failed ? -1 : 0;
}
