/* SPDX-License-Identifier: MIT */
/*
 * kprod's input: stdin or files, read with read() into one large buffer
 * and split in place with memchr (no copy, no allocation per record), or
 * taken whole (-W). A record never spans two files. Records longer than
 * message.max.bytes are dropped and reported, not buffered without bound.
 * JSON lines (-J) are decoded from the klog record envelope into a reused
 * scratch buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "kprod.h"
#include "banned.h"

#define KP_INBUF (4u << 20)
#define KP_INBUF_TTY (64u << 10)
/* Linux's default pipe-max-size: the most an unprivileged process gets. */
#define KP_PIPE_BYTES (1u << 20)

struct kp_hdr_off {
	size_t koff, voff;
	int32_t klen, vlen;
};

static int
check_file(const char *path, struct err *e)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, EXIT_NOINPUT, "unable to open '%s'", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, EXIT_NOINPUT, "'%s' is a directory", path);
	}
	close(fd);
	return 0;
}

/*
 * A pipe holds 64 KiB by default, so a fast writer (`cat file | kprod`)
 * and kprod take turns every 64 KiB, two context switches each. A larger
 * pipe lets the writer run ahead; read() still returns whatever is there,
 * so nothing waits longer. Best effort: a smaller pipe-max-size or another
 * kind of input keeps what it has.
 */
static void
widen_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, (int)KP_PIPE_BYTES);
}

/* Open the next input, or mark the input done. */
static int
open_next(struct kp_input *in, struct err *e)
{
	const struct kp_opts *o = in->o;
	const char *path;

	in->file_eof = false;
	in->start = in->end = in->scan = 0;
	if (o->nfiles == 0 && in->next_file == 0) {
		path = "-";
	} else if (in->next_file < o->nfiles) {
		path = o->files[in->next_file];
	} else {
		in->done = true;
		return 0;
	}
	in->next_file++;
	if (strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
		in->name = "standard input";
	} else {
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		in->name = path;
		if (in->fd < 0)
			return err_sys(e, EXIT_NOINPUT, "unable to open '%s'",
			    path);
	}
	in->is_tty = isatty(in->fd) == 1;
	widen_pipe(in->fd);
	return 0;
}

static void
close_current(struct kp_input *in)
{
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

int
kp_input_open(struct kp_input *in, const struct kp_opts *o, size_t max_record,
    struct err *e)
{
	struct jp_limits lim = { 0, 32, 1u << 20 };
	int i;

	memset(in, 0, sizeof(*in));
	in->o = o;
	in->fd = -1;
	in->max_record = max_record;
	for (i = 0; i < o->nfiles; i++)
		if (check_file(o->files[i], e) < 0)
			return -1;
	lim.max_len = max_record + 1;
	jp_init(&in->jd, &lim);
	buf_init(&in->jbytes);
	buf_init(&in->jtmp);
	if (open_next(in, e) < 0)
		return -1;
	in->cap = in->is_tty ? KP_INBUF_TTY : KP_INBUF;
	in->buf = malloc(in->cap);
	if (in->buf == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	return 0;
}

void
kp_input_close(struct kp_input *in)
{
	close_current(in);
	free(in->buf);
	in->buf = NULL;
	free(in->jh);
	free(in->joff);
	jp_release(&in->jd);
	buf_release(&in->jbytes);
	buf_release(&in->jtmp);
}

const char *
kp_input_unit(const struct kp_input *in)
{
	const struct kp_opts *o = in->o;

	return o->delim_len == 1 && o->delim[0] == '\n' && !o->whole_file ?
	    "line" : "record";
}

bool
kp_input_ready(const struct kp_input *in)
{
	struct pollfd p;

	if (in->done || in->fd < 0 || in->file_eof)
		return false;
	p.fd = in->fd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) == 1;
}

/* Room at the end of the buffer: compact, or grow up to a record's size. */
static int
make_room(struct kp_input *in, struct err *e)
{
	size_t limit = in->max_record + in->o->delim_len + 1;
	uint8_t *grown;
	size_t cap;

	if (in->end < in->cap)
		return 0;
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->scan -= in->start;
		in->start = 0;
		return 0;
	}
	if (in->cap >= limit)
		return 0;	/* full: kp_input_next drops the record */
	cap = in->cap * 2 < limit ? in->cap * 2 : limit;
	grown = realloc(in->buf, cap);
	if (grown == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	in->buf = grown;
	in->cap = cap;
	return 0;
}

long
kp_input_fill(struct kp_input *in, struct err *e)
{
	ssize_t n;

	if (in->done)
		return 0;
	if (in->fd < 0 && open_next(in, e) < 0)
		return -1;
	if (in->done || in->file_eof)
		return 0;
	if (make_room(in, e) < 0)
		return -1;
	if (in->end == in->cap)
		return 0;
	n = read(in->fd, in->buf + in->end, in->cap - in->end);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return err_sys(e, EXIT_IOERR, "unable to read '%s'", in->name);
	}
	if (n == 0)
		in->file_eof = true;
	in->end += (size_t)n;
	in->bytes_read += (size_t)n;
	return n;
}

/* The first delimiter in buf[from..end), or NULL. */
static const uint8_t *
find_delim(const struct kp_input *in, size_t from)
{
	const uint8_t *d = in->o->delim, *p = in->buf + from;
	const uint8_t *end = in->buf + in->end;
	size_t dlen = in->o->delim_len;

	if (dlen == 1)
		return memchr(p, d[0], (size_t)(end - p));
	while ((size_t)(end - p) >= dlen) {
		p = memchr(p, d[0], (size_t)(end - p) - dlen + 1);
		if (p == NULL)
			return NULL;
		if (memcmp(p, d, dlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* First occurrence of the key delimiter in line[0..len), or NULL. */
static const uint8_t *
find_key_delim(const struct kp_opts *o, const uint8_t *line, size_t len)
{
	const uint8_t *p = line, *end = line + len;
	size_t dlen = o->key_delim_len;

	while ((size_t)(end - p) >= dlen) {
		p = memchr(p, o->key_delim[0], (size_t)(end - p) - dlen + 1);
		if (p == NULL)
			return NULL;
		if (memcmp(p, o->key_delim, dlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

static inline enum kp_next
text_record(struct kp_input *in, const uint8_t *line, size_t len,
    struct kp_rec *out)
{
	const struct kp_opts *o = in->o;
	const uint8_t *kd = NULL;

	out->key.data = NULL;
	out->key.len = -1;
	out->value.data = line;
	out->value.len = (int32_t)len;
	if (o->key_delim_len > 0 &&
	    (kd = find_key_delim(o, line, len)) != NULL) {
		out->key.data = line;
		out->key.len = (int32_t)(kd - line);
		out->value.data = kd + o->key_delim_len;
		out->value.len = (int32_t)(len - (size_t)out->key.len -
		    o->key_delim_len);
	}
	if (out->key.len < 0 && o->key != NULL) {
		out->key.data = (const uint8_t *)o->key;
		out->key.len = (int32_t)strlen(o->key);
	}
	if (o->null_empty) {
		if (out->key.len == 0)
			out->key.data = NULL, out->key.len = -1;
		if (out->value.len == 0)
			out->value.data = NULL, out->value.len = -1;
	}
	out->headers = o->headers;
	out->nheaders = o->nheaders;
	out->has_timestamp = false;
	out->partition = -1;
	return KP_NEXT_RECORD;
}

static enum kp_next
json_fail(struct err *e, const struct jp_doc *d, size_t tok, const char *what)
{
	err_set(e, EXIT_DATAERR, "column %zu: %s", jp_column(d, tok), what);
	return KP_NEXT_BAD;
}

/*
 * Decode an envelope byte field (null, a string, or {"base64": "..."})
 * into in->jbytes; *off and *len say where (len -1 for null).
 */
static int
json_bytes(struct kp_input *in, size_t t, size_t *off, int32_t *len,
    struct err *e)
{
	const struct jp_doc *d = &in->jd;
	const struct jp_token *tok = &d->tok[t];
	const char *text;
	size_t n, s;

	*off = in->jbytes.len;
	*len = -1;
	if (tok->type == JP_NULL)
		return 0;
	if (tok->type == JP_STRING) {
		if (jp_str_decode(d, t, &in->jbytes) < 0)
			return err_set(e, EXIT_OSERR, "out of memory");
		*len = (int32_t)(in->jbytes.len - *off);
		return 0;
	}
	if (tok->type != JP_OBJECT || tok->count != 1 ||
	    !jp_str_eq(d, t + 1, "base64") || d->tok[t + 2].type != JP_STRING) {
		json_fail(e, d, t, "expected null, a string or "
		    "{\"base64\":\"...\"}");
		return -1;
	}
	s = t + 2;
	text = d->text + d->tok[s].start + 1;
	n = d->tok[s].len - 2;
	if (d->tok[s].escaped) {
		buf_clear(&in->jtmp);
		if (jp_str_decode(d, s, &in->jtmp) < 0)
			return err_set(e, EXIT_OSERR, "out of memory");
		text = (const char *)in->jtmp.data;
		n = in->jtmp.len;
	}
	if (json_base64_decode(text, n, &in->jbytes, e) < 0) {
		if (e->code == EXIT_DATAERR) {
			char why[sizeof(e->msg)];
			const char *w = why;

			memcpy(why, e->msg, sizeof(why));
			if (strncmp(w, "base64: ", 8) == 0)
				w += 8;
			err_set(e, EXIT_DATAERR, "column %zu: bad base64 "
			    "string: %s", jp_column(d, s), w);
		}
		return -1;
	}
	*len = (int32_t)(in->jbytes.len - *off);
	return 0;
}

static int
json_headers(struct kp_input *in, size_t arr, struct err *e)
{
	const struct jp_doc *d = &in->jd;
	uint32_t n = d->tok[arr].count, i;
	size_t el = arr + 1;

	if (n > in->jh_cap) {
		struct rec_header *h = realloc(in->jh, n * sizeof(*h));
		struct kp_hdr_off *ho;

		if (h == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		in->jh = h;
		ho = realloc(in->joff, n * sizeof(*ho));
		if (ho == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		in->joff = ho;
		in->jh_cap = n;
	}
	for (i = 0; i < n; i++, el = d->tok[el].next) {
		struct kp_hdr_off *ho = &in->joff[i];
		size_t k, v;

		if (d->tok[el].type != JP_OBJECT) {
			json_fail(e, d, el, "a header must be an object");
			return -1;
		}
		k = jp_obj_get(d, el, "key");
		if (k == 0 || d->tok[k].type != JP_STRING) {
			json_fail(e, d, el, "a header needs a string \"key\"");
			return -1;
		}
		if (json_bytes(in, k, &ho->koff, &ho->klen, e) < 0)
			return -1;
		ho->voff = in->jbytes.len;
		ho->vlen = -1;
		v = jp_obj_get(d, el, "value");
		if (v != 0 && json_bytes(in, v, &ho->voff, &ho->vlen, e) < 0)
			return -1;
	}
	return (int)n;
}

/* A known envelope field, by index in `fields` below. */
enum { F_KEY, F_VALUE, F_HEADERS, F_PARTITION, F_TIMESTAMP, F_COUNT };

static const char *const fields[F_COUNT] = {
	"key", "value", "headers", "partition", "timestamp"
};

static enum kp_next
json_record(struct kp_input *in, const uint8_t *line, size_t len,
    struct kp_rec *out, struct err *e)
{
	struct jp_doc *d = &in->jd;
	size_t at[F_COUNT] = { 0 }, m, koff = 0, voff = 0, i;
	int32_t klen = -1, vlen = -1, nh = 0, f;
	int64_t v;

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			break;
	if (i == len)
		return KP_NEXT_SKIP;
	if (jp_parse(d, (const char *)line, len, e) < 0)
		return KP_NEXT_BAD;
	if (d->tok[0].type != JP_OBJECT)
		return json_fail(e, d, 0, "expected a JSON object (the klog "
		    "record envelope)");
	m = 1;
	for (i = 0; i < d->tok[0].count; i++, m = d->tok[m + 1].next) {
		for (f = 0; f < F_COUNT; f++) {
			if (!jp_str_eq(d, m, fields[f]))
				continue;
			if (at[f] != 0) {
				char why[64];

				snprintf(why, sizeof(why), "duplicate key "
				    "\"%s\"", fields[f]);
				return json_fail(e, d, m, why);
			}
			at[f] = m + 1;
		}
	}
	if (at[F_VALUE] == 0)
		return json_fail(e, d, 0, "no \"value\" field");
	buf_clear(&in->jbytes);
	if (at[F_KEY] != 0 && json_bytes(in, at[F_KEY], &koff, &klen, e) < 0)
		return KP_NEXT_BAD;
	if (json_bytes(in, at[F_VALUE], &voff, &vlen, e) < 0)
		return KP_NEXT_BAD;
	if (at[F_HEADERS] != 0 && d->tok[at[F_HEADERS]].type != JP_NULL) {
		if (d->tok[at[F_HEADERS]].type != JP_ARRAY)
			return json_fail(e, d, at[F_HEADERS], "\"headers\" "
			    "must be an array of {\"key\",\"value\"} objects");
		if ((nh = json_headers(in, at[F_HEADERS], e)) < 0)
			return KP_NEXT_BAD;
	}
	out->partition = -1;
	if (at[F_PARTITION] != 0 && d->tok[at[F_PARTITION]].type != JP_NULL) {
		if (jp_i64(d, at[F_PARTITION], &v) < 0 || v < -1 ||
		    v > INT32_MAX)
			return json_fail(e, d, at[F_PARTITION], "\"partition\" "
			    "must be a partition number");
		out->partition = (int32_t)v;
	}
	out->has_timestamp = false;
	if (at[F_TIMESTAMP] != 0 && d->tok[at[F_TIMESTAMP]].type != JP_NULL) {
		/* -1 is Kafka's "no timestamp": kept as it is. */
		if (jp_i64(d, at[F_TIMESTAMP], &v) < 0 || v < -1)
			return json_fail(e, d, at[F_TIMESTAMP], "\"timestamp\" "
			    "must be milliseconds since the epoch");
		out->timestamp = v;
		out->has_timestamp = true;
	}
	/* Pointers last: decoding may have moved jbytes. */
	out->key.data = klen >= 0 ? in->jbytes.data + koff : NULL;
	out->key.len = klen;
	out->value.data = vlen >= 0 ? in->jbytes.data + voff : NULL;
	out->value.len = vlen;
	for (f = 0; f < nh; f++) {
		const struct kp_hdr_off *ho = &in->joff[f];

		in->jh[f].key.data = in->jbytes.data + ho->koff;
		in->jh[f].key.len = ho->klen;
		in->jh[f].value.data = ho->vlen >= 0 ?
		    in->jbytes.data + ho->voff : NULL;
		in->jh[f].value.len = ho->vlen;
	}
	out->headers = nh > 0 ? in->jh : NULL;
	out->nheaders = nh;
	return KP_NEXT_RECORD;
}

/* Inline: once per input record. */
static inline enum kp_next
make_record(struct kp_input *in, const uint8_t *p, size_t len,
    struct kp_rec *out, struct err *e)
{
	in->recno++;
	out->recno = in->recno;
	if (in->o->json)
		return json_record(in, p, len, out, e);
	return text_record(in, p, len, out);
}

/* The rest of a file is one record (-W). */
static enum kp_next
next_whole(struct kp_input *in, struct kp_rec *out, struct err *e)
{
	size_t len = in->end - in->start;

	if (in->skipping) {
		in->start = in->end = in->scan = 0;
		if (!in->file_eof)
			return KP_NEXT_NONE;
		in->skipping = false;
		close_current(in);
		return KP_NEXT_NONE;
	}
	if (len > in->max_record) {
		in->recno++;
		in->skipping = true;
		in->start = in->end = in->scan = 0;
		return KP_NEXT_TOO_LONG;
	}
	if (!in->file_eof)
		return KP_NEXT_NONE;
	in->start = in->end;
	close_current(in);
	return make_record(in, in->buf, len, out, e);
}

enum kp_next
kp_input_next(struct kp_input *in, struct kp_rec *out, struct err *e)
{
	size_t dlen = in->o->delim_len;

	for (;;) {
		const uint8_t *d;
		size_t from;

		if (in->done || in->fd < 0)
			return KP_NEXT_NONE;
		if (in->o->whole_file)
			return next_whole(in, out, e);
		d = find_delim(in, in->scan);
		if (d != NULL) {
			from = in->start;
			in->start = (size_t)(d - in->buf) + dlen;
			in->scan = in->start;
			if (in->skipping) {
				in->skipping = false;
				continue;
			}
			return make_record(in, in->buf + from,
			    (size_t)(d - in->buf) - from, out, e);
		}
		if (in->file_eof) {
			from = in->start;
			in->start = in->scan = in->end;
			if (from < in->end && !in->skipping)
				return make_record(in, in->buf + from,
				    in->end - from, out, e);
			in->skipping = false;
			close_current(in);
			continue;
		}
		/* Keep a possible partial delimiter for the next read. */
		in->scan = in->end - in->start >= dlen ?
		    in->end - (dlen - 1) : in->start;
		if (in->skipping) {
			in->start = in->scan;
			return KP_NEXT_NONE;
		}
		if (in->end - in->start > in->max_record + dlen - 1) {
			in->recno++;
			in->skipping = true;
			in->start = in->scan;
			return KP_NEXT_TOO_LONG;
		}
		return KP_NEXT_NONE;
	}
}
