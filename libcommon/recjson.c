/* SPDX-License-Identifier: MIT */
/*
 * The record envelope writer (see recjson.h). Consumers write millions of
 * records a second through here, so integers are formatted by hand rather
 * than through printf, and each fixed key is one memcpy.
 */
#include <string.h>

#include "json.h"
#include "recjson.h"
#include "banned.h"

#define PUT_LIT(b, s) buf_put((b), (s), sizeof(s) - 1)

/* Append v in decimal. */
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

const char *
recjson_timestamp_type(const struct rec_batch *batch)
{
	return batch->attributes & REC_ATTR_LOG_APPEND_TIME ? "log_append" :
	    "create";
}

/* Headers as [{"key":"k","value":B},...], in order, duplicates kept. */
static int
put_headers(struct buf *b, const struct rec_record *rec, struct err *e)
{
	struct rec_header h;
	struct breader r;
	int32_t i;

	br_init(&r, rec->headers, rec->headers_len);
	buf_putc(b, '[');
	for (i = 0; i < rec->header_count; i++) {
		if (rec_header_next(&r, &h, e) < 0)
			return -1;
		if (i > 0)
			buf_putc(b, ',');
		PUT_LIT(b, "{\"key\":");
		json_put_str(b, h.key.data, (size_t)h.key.len);
		PUT_LIT(b, ",\"value\":");
		json_put_bytes(b, h.value.data, h.value.len);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	return 0;
}

int
recjson_put_record(struct buf *b, const char *topic, int32_t partition,
    const struct rec_batch *batch, const struct rec_record *rec,
    struct err *e)
{
	size_t start = b->len;

	buf_putc(b, '{');
	if (topic != NULL) {
		PUT_LIT(b, "\"topic\":");
		json_put_cstr(b, topic);
		PUT_LIT(b, ",\"partition\":");
		put_i64(b, partition);
		buf_putc(b, ',');
	}
	PUT_LIT(b, "\"offset\":");
	put_i64(b, rec->offset);
	PUT_LIT(b, ",\"timestamp\":");
	put_i64(b, rec->timestamp);
	if (batch->attributes & REC_ATTR_LOG_APPEND_TIME)
		PUT_LIT(b, ",\"timestamp_type\":\"log_append\",\"key\":");
	else
		PUT_LIT(b, ",\"timestamp_type\":\"create\",\"key\":");
	json_put_bytes(b, rec->key.data, rec->key.len);
	PUT_LIT(b, ",\"value\":");
	json_put_bytes(b, rec->value.data, rec->value.len);
	PUT_LIT(b, ",\"headers\":");
	if (put_headers(b, rec, e) < 0) {
		b->len = start;
		return -1;
	}
	PUT_LIT(b, ",\"leader_epoch\":");
	put_i64(b, batch->leader_epoch);
	buf_putc(b, '}');
	return 0;
}
