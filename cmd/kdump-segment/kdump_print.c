/* SPDX-License-Identifier: MIT */
/*
 * Output of the dump mode: one line per batch and per record, as text
 * (logfmt-like "name=value" pairs, field names as in JSON) or as NDJSON
 * (batch objects, and records in the klog record envelope). Text output
 * never sends raw control bytes or invalid UTF-8 to a terminal: keys and
 * values are quoted with C-style escapes, or shown in hex or base64.
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "recjson.h"
#include "kdump.h"
#include "banned.h"

static const char hexdigits[] = "0123456789abcdef";

/* Code points shown escaped although printable: they reorder or hide text. */
static bool
deceptive(uint32_t cp)
{
	return (cp >= 0x80 && cp < 0xa0) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

static void
put_hex_byte(struct buf *b, uint8_t c)
{
	char x[4] = { '\\', 'x', hexdigits[c >> 4], hexdigits[c & 15] };

	buf_put(b, x, sizeof(x));
}

/* Quoted text with C-style escapes; valid, visible UTF-8 stays as is. */
static void
put_escaped(struct buf *b, const uint8_t *p, size_t len)
{
	uint32_t cp;
	size_t n, i;

	buf_putc(b, '"');
	while (len > 0) {
		uint8_t c = *p;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf_putc(b, (char)c);
			p++;
			len--;
			continue;
		}
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\n') {
			buf_put_str(b, "\\n");
		} else if (c == '\r') {
			buf_put_str(b, "\\r");
		} else if (c == '\t') {
			buf_put_str(b, "\\t");
		} else if (c >= 0x80 &&
		    (n = json_utf8_decode(p, len, &cp)) > 0) {
			if (deceptive(cp))
				for (i = 0; i < n; i++)
					put_hex_byte(b, p[i]);
			else
				buf_put(b, p, n);
			p += n;
			len -= n;
			continue;
		} else {
			put_hex_byte(b, c);
		}
		p++;
		len--;
	}
	buf_putc(b, '"');
}

void
kd_put_text(struct buf *b, const void *data, int64_t len, enum kd_decode dec)
{
	const uint8_t *p = data;
	int64_t i;

	if (len < 0) {
		buf_put_str(b, "null");
		return;
	}
	switch (dec) {
	case KD_DECODE_TEXT:
		put_escaped(b, p, (size_t)len);
		break;
	case KD_DECODE_HEX:
		buf_putc(b, '"');
		for (i = 0; i < len; i++) {
			buf_putc(b, hexdigits[p[i] >> 4]);
			buf_putc(b, hexdigits[p[i] & 15]);
		}
		buf_putc(b, '"');
		break;
	case KD_DECODE_BASE64:
		buf_putc(b, '"');
		json_base64_put(b, p, (size_t)len);
		buf_putc(b, '"');
		break;
	}
}

void
kd_put_word(struct buf *b, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '/' || c == '+' || c == ':' || c == ','))
			break;
	}
	if (len > 0 && i == len)
		buf_put(b, p, len);
	else
		put_escaped(b, p, len);
}

/* "commit", "abort" or NULL, from a control record's key. */
static const char *
control_type(const struct rec_record *r)
{
	int16_t type;

	if (r->key.len < 4)
		return NULL;
	type = (int16_t)be16_load(r->key.data + 2);
	return type == 0 ? "abort" : type == 1 ? "commit" : NULL;
}

static void
put_part_json(struct json_obj *o, const struct kd_part *part)
{
	if (part == NULL || part->topic == NULL)
		return;
	json_obj_cstr(o, "topic", part->topic);
	json_obj_i64(o, "partition", part->partition);
}

void
kd_print_file(struct kd_ctx *ctx, const char *kind, const char *path,
    uint64_t size, const struct kd_part *part, const struct kd_segment *seg)
{
	struct buf *l = &ctx->line;

	/* JSON lines carry "file"; records-only output has no headings. */
	if (ctx->o->json || !ctx->o->batches)
		return;
	buf_printf(l, "%s path=", kind);
	kd_put_word(l, path, strlen(path));
	buf_printf(l, " size=%" PRIu64, size);
	if (seg != NULL && seg->base_known)
		buf_printf(l, " base_offset=%" PRId64, seg->base_offset);
	if (part != NULL && part->topic != NULL) {
		buf_put_str(l, " topic=");
		kd_put_word(l, part->topic, strlen(part->topic));
		buf_printf(l, " partition=%" PRId32, part->partition);
	}
	buf_putc(l, '\n');
	kd_emit(ctx);
}

static void
print_batch_json(struct kd_ctx *ctx, const struct kd_scan *s,
    const struct rec_batch *b, uint64_t pos, bool crc_ok)
{
	const char *codec = compress_codec_name(rec_batch_codec(b));
	struct json_obj o;

	json_obj_begin(&o, &ctx->line);
	json_obj_cstr(&o, "type", "batch");
	json_obj_cstr(&o, "file", s->seg->log);
	put_part_json(&o, s->part);
	json_obj_i64(&o, "base_offset", b->base_offset);
	json_obj_i64(&o, "last_offset", rec_batch_last_offset(b));
	json_obj_i64(&o, "count", b->record_count);
	json_obj_u64(&o, "position", pos);
	json_obj_u64(&o, "size", b->size);
	json_obj_i64(&o, "magic", b->magic);
	json_obj_u64(&o, "crc", b->crc);
	json_obj_bool(&o, "crc_valid", crc_ok);
	json_obj_cstr(&o, "compression", codec ? codec : "unknown");
	json_obj_cstr(&o, "timestamp_type", recjson_timestamp_type(b));
	json_obj_i64(&o, "base_timestamp", b->base_timestamp);
	json_obj_i64(&o, "max_timestamp", b->max_timestamp);
	json_obj_i64(&o, "producer_id", b->producer_id);
	json_obj_i64(&o, "producer_epoch", b->producer_epoch);
	json_obj_i64(&o, "base_sequence", b->base_sequence);
	json_obj_i64(&o, "last_sequence", kd_last_sequence(b));
	json_obj_i64(&o, "leader_epoch", b->leader_epoch);
	json_obj_bool(&o, "transactional",
	    (b->attributes & REC_ATTR_TRANSACTIONAL) != 0);
	json_obj_bool(&o, "control", (b->attributes & REC_ATTR_CONTROL) != 0);
	json_obj_end(&o);
}

static void
print_batch(struct kd_ctx *ctx, const struct kd_scan *s,
    const struct rec_batch *b, uint64_t pos, bool crc_ok)
{
	const char *codec = compress_codec_name(rec_batch_codec(b));
	struct buf *l = &ctx->line;

	if (ctx->o->json) {
		print_batch_json(ctx, s, b, pos, crc_ok);
	} else {
		buf_printf(l, "batch base_offset=%" PRId64 " last_offset=%"
		    PRId64 " count=%" PRId32 " position=%" PRIu64 " size=%zu"
		    " magic=%d crc=0x%08" PRIx32 " crc_valid=%s compression=%s"
		    " timestamp_type=%s base_timestamp=%" PRId64
		    " max_timestamp=%" PRId64, b->base_offset,
		    rec_batch_last_offset(b), b->record_count, pos, b->size,
		    b->magic, b->crc, crc_ok ? "true" : "false",
		    codec ? codec : "unknown", recjson_timestamp_type(b), b->base_timestamp,
		    b->max_timestamp);
		buf_printf(l, " producer_id=%" PRId64 " producer_epoch=%d"
		    " base_sequence=%" PRId32 " last_sequence=%" PRId32
		    " leader_epoch=%" PRId32 " transactional=%s control=%s",
		    b->producer_id, b->producer_epoch, b->base_sequence,
		    kd_last_sequence(b), b->leader_epoch,
		    b->attributes & REC_ATTR_TRANSACTIONAL ? "true" : "false",
		    b->attributes & REC_ATTR_CONTROL ? "true" : "false");
	}
	buf_putc(l, '\n');
	kd_emit(ctx);
}

static int
put_headers_text(struct buf *l, const struct rec_record *r,
    enum kd_decode dec, struct err *e)
{
	struct rec_header h;
	struct breader br;
	int32_t i;

	br_init(&br, r->headers, r->headers_len);
	buf_put_str(l, " headers=[");
	for (i = 0; i < r->header_count; i++) {
		if (rec_header_next(&br, &h, e) < 0)
			return -1;
		if (i > 0)
			buf_putc(l, ' ');
		kd_put_word(l, h.key.data, (size_t)h.key.len);
		buf_putc(l, '=');
		kd_put_text(l, h.value.data, h.value.len, dec);
	}
	buf_putc(l, ']');
	return 0;
}

static void
print_record(struct kd_ctx *ctx, const struct kd_part *part,
    const struct rec_batch *b, const struct rec_record *r)
{
	const struct kd_opts *o = ctx->o;
	struct buf *l = &ctx->line;
	struct err e = { 0 };
	const char *ctl;
	int rc;

	if (o->json) {
		rc = recjson_put_record(l, part ? part->topic : NULL,
		    part ? part->partition : -1, b, r, &e);
	} else {
		buf_printf(l, "%srecord offset=%" PRId64 " timestamp=%" PRId64
		    " key=", o->batches ? "  " : "", r->offset, r->timestamp);
		kd_put_text(l, r->key.data, r->key.len, o->decode);
		buf_put_str(l, " value=");
		kd_put_text(l, r->value.data, r->value.len, o->decode);
		rc = put_headers_text(l, r, o->decode, &e);
		if ((b->attributes & REC_ATTR_CONTROL) &&
		    (ctl = control_type(r)) != NULL)
			buf_printf(l, " control=%s", ctl);
	}
	buf_putc(l, '\n');
	if (rc < 0) {
		/* rec_iter_next checked the headers: this cannot happen. */
		buf_clear(l);
		log_warnx("record at offset %" PRId64 ": %s", r->offset, e.msg);
		return;
	}
	kd_emit(ctx);
	ctx->records_out++;
}

/* Records of one batch; control records stay out of the JSON envelope. */
static void
dump_records(struct kd_ctx *ctx, const struct kd_scan *s,
    const struct rec_batch *b, uint64_t pos)
{
	const struct kd_opts *o = ctx->o;
	struct rec_record r;
	struct err e = { 0 };
	int rc;

	if (o->json && (b->attributes & REC_ATTR_CONTROL))
		return;
	if (rec_iter_reset(&ctx->it, b, &e) < 0) {
		kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
		return;
	}
	while (!ctx->stop && ctx->records_out < o->max_records &&
	    (rc = rec_iter_next(&ctx->it, &r, &e)) != 0) {
		if (rc < 0) {
			kd_problem(ctx, s->seg->log, pos, "%s", e.msg);
			return;
		}
		if (o->has_offset && r.offset < o->offset)
			continue;
		print_record(ctx, s->part, b, &r);
	}
}

static int
dump_batch(struct kd_scan *s, const struct rec_batch *b, uint64_t pos,
    bool crc_ok)
{
	struct kd_ctx *ctx = s->ctx;
	const struct kd_opts *o = ctx->o;

	if (o->has_offset && rec_batch_last_offset(b) < o->offset)
		return 1;
	if (o->batches)
		print_batch(ctx, s, b, pos, crc_ok);
	if (o->records)
		dump_records(ctx, s, b, pos);
	else
		ctx->records_out += (uint64_t)b->record_count;
	if (ctx->records_out >= o->max_records)
		ctx->stop = true;
	return ctx->stop ? 0 : 1;
}

int
kd_dump_segment(struct kd_ctx *ctx, const struct kd_part *part, size_t i)
{
	const struct kd_opts *o = ctx->o;
	const struct kd_segment *seg = &part->segs[i];
	struct kd_scan s;
	struct kd_file f;
	struct err e = { 0 };
	uint64_t entry;
	int rc;

	if (seg->log == NULL)
		return 0;
	/* -o: skip whole segments that end before the offset. */
	if (o->has_offset && i + 1 < part->nsegs &&
	    part->segs[i + 1].base_known &&
	    part->segs[i + 1].base_offset <= o->offset)
		return 0;
	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.part = part;
	s.seg = seg;
	s.check_order = true;
	s.fn = dump_batch;
	if (o->has_position) {
		s.start = o->position;
	} else if (o->has_offset) {
		if (kd_file_open(&f, seg->log, &e) < 0) {
			log_warnx("%s", e.msg);
			kd_fail(ctx, e.code);
			return -1;
		}
		s.start = kd_seek_offset(ctx, seg, &f, o->offset, &entry);
		kd_file_close(&f);
	}
	ctx->files++;
	if (!o->json && o->batches) {
		if (kd_file_open(&f, seg->log, &e) == 0) {
			kd_print_file(ctx, "segment", seg->log, f.size, part,
			    seg);
			kd_file_close(&f);
		}
	}
	if (s.start > 0)
		ctx->have_prev = false;
	rc = kd_scan_log(&s);
	if (rc == 0 && o->has_position && s.start > s.size)
		log_warnx("position %" PRIu64 " is beyond the end of '%s' (%"
		    PRIu64 " bytes)", s.start, seg->log, s.size);
	return rc;
}
