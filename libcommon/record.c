/* SPDX-License-Identifier: MIT */
/*
 * RecordBatch v2 codec (see record.h for the byte layout). Decoding never
 * trusts a length: every size and count from the bytes is checked against
 * what is left before use, and errors name the record and the reason.
 */
#include <inttypes.h>
#include <string.h>

#include "crc32c.h"
#include "record.h"
#include "record_check.h"
#include "banned.h"

#define REC_MIN_LENGTH (REC_BATCH_HEADER_SIZE - REC_BATCH_LOG_OVERHEAD)

int
rec_batch_size_peek(const uint8_t *p, size_t len, size_t max_size,
    size_t *size, struct err *e)
{
	int32_t length;

	if (len < REC_OFF_MAGIC + 1)
		return 0;
	length = (int32_t)be32_load(p + REC_OFF_LENGTH);
	if (length < REC_MIN_LENGTH)
		return err_set(e, EXIT_DATAERR,
		    "batch length %" PRId32 " is below the header size %d",
		    length, REC_MIN_LENGTH);
	if ((size_t)length + REC_BATCH_LOG_OVERHEAD > max_size)
		return err_set(e, EXIT_DATAERR,
		    "batch size %zu exceeds the limit %zu",
		    (size_t)length + REC_BATCH_LOG_OVERHEAD, max_size);
	if (p[REC_OFF_MAGIC] != REC_MAGIC)
		return err_set(e, EXIT_DATAERR,
		    "unsupported magic %d (only 2 is supported)",
		    (int8_t)p[REC_OFF_MAGIC]);
	*size = (size_t)length + REC_BATCH_LOG_OVERHEAD;
	return 1;
}

int
rec_batch_parse(const void *data, size_t len, struct rec_batch *out,
    struct err *e)
{
	const uint8_t *p = data;
	struct rec_batch b;

	if (len < REC_BATCH_HEADER_SIZE)
		return err_set(e, EXIT_DATAERR,
		    "truncated batch header: %zu of %d bytes", len,
		    REC_BATCH_HEADER_SIZE);
	b.base_offset = (int64_t)be64_load(p + REC_OFF_BASE_OFFSET);
	b.length = (int32_t)be32_load(p + REC_OFF_LENGTH);
	b.leader_epoch = (int32_t)be32_load(p + REC_OFF_LEADER_EPOCH);
	b.magic = (int8_t)p[REC_OFF_MAGIC];
	b.crc = be32_load(p + REC_OFF_CRC);
	b.attributes = (int16_t)be16_load(p + REC_OFF_ATTRIBUTES);
	b.last_offset_delta = (int32_t)be32_load(p + REC_OFF_LAST_OFFSET_DELTA);
	b.base_timestamp = (int64_t)be64_load(p + REC_OFF_BASE_TIMESTAMP);
	b.max_timestamp = (int64_t)be64_load(p + REC_OFF_MAX_TIMESTAMP);
	b.producer_id = (int64_t)be64_load(p + REC_OFF_PRODUCER_ID);
	b.producer_epoch = (int16_t)be16_load(p + REC_OFF_PRODUCER_EPOCH);
	b.base_sequence = (int32_t)be32_load(p + REC_OFF_BASE_SEQUENCE);
	b.record_count = (int32_t)be32_load(p + REC_OFF_RECORD_COUNT);
	b.data = p;

	if (b.magic != REC_MAGIC)
		return err_set(e, EXIT_DATAERR,
		    "unsupported magic %d (only 2 is supported)", b.magic);
	if (b.length < REC_MIN_LENGTH)
		return err_set(e, EXIT_DATAERR,
		    "batch length %" PRId32 " is below the header size %d",
		    b.length, REC_MIN_LENGTH);
	b.size = (size_t)b.length + REC_BATCH_LOG_OVERHEAD;
	if (b.size > len)
		return err_set(e, EXIT_DATAERR,
		    "truncated batch: length says %zu bytes, %zu present",
		    b.size, len);
	if (b.base_offset < 0)
		return err_set(e, EXIT_DATAERR, "negative base offset %" PRId64,
		    b.base_offset);
	if (b.record_count < 0)
		return err_set(e, EXIT_DATAERR, "negative record count %" PRId32,
		    b.record_count);
	if (b.last_offset_delta < 0)
		return err_set(e, EXIT_DATAERR,
		    "negative last offset delta %" PRId32, b.last_offset_delta);
	if (b.base_offset > INT64_MAX - b.last_offset_delta)
		return err_set(e, EXIT_DATAERR,
		    "last offset overflows: base %" PRId64 " delta %" PRId32,
		    b.base_offset, b.last_offset_delta);
	if (compress_codec_name(rec_batch_codec(&b)) == NULL)
		return err_set(e, EXIT_DATAERR, "unknown compression codec %d",
		    rec_batch_codec(&b));
	*out = b;
	return 0;
}

uint32_t
rec_batch_crc_compute(const uint8_t *batch, size_t size)
{
	return crc32c(0, batch + REC_OFF_ATTRIBUTES, size - REC_OFF_ATTRIBUTES);
}

bool
rec_batch_crc_ok(const struct rec_batch *b)
{
	return rec_batch_crc_compute(b->data, b->size) == b->crc;
}

void
rec_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
	be64_store(batch + REC_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void
rec_batch_set_leader_epoch(uint8_t *batch, int32_t epoch)
{
	be32_store(batch + REC_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void
rec_batch_set_log_append_time(uint8_t *batch, size_t size, int64_t timestamp)
{
	uint16_t attr = be16_load(batch + REC_OFF_ATTRIBUTES);

	be16_store(batch + REC_OFF_ATTRIBUTES, attr | REC_ATTR_LOG_APPEND_TIME);
	be64_store(batch + REC_OFF_MAX_TIMESTAMP, (uint64_t)timestamp);
	be32_store(batch + REC_OFF_CRC, rec_batch_crc_compute(batch, size));
}

void
rec_iter_init(struct rec_iter *it, size_t max_decompressed)
{
	memset(it, 0, sizeof(*it));
	buf_init(&it->inflated);
	it->max_decompressed = max_decompressed;
}

void
rec_iter_release(struct rec_iter *it)
{
	buf_release(&it->inflated);
	it->batch = NULL;
}

int
rec_iter_reset(struct rec_iter *it, const struct rec_batch *b, struct err *e)
{
	const uint8_t *body = b->data + REC_OFF_RECORDS;
	size_t body_len = b->size - REC_OFF_RECORDS;
	enum compress_codec codec = rec_batch_codec(b);

	it->batch = b;
	it->index = 0;
	it->prev_delta = -1;
	if (codec == COMPRESS_NONE) {
		br_init(&it->r, body, body_len);
		return 0;
	}
	buf_clear(&it->inflated);
	if (decompress_append(codec, body, body_len, it->max_decompressed,
	    &it->inflated, e) < 0) {
		br_init(&it->r, NULL, 0);
		return err_wrap(e, "batch at offset %" PRId64, b->base_offset);
	}
	br_init(&it->r, it->inflated.data, it->inflated.len);
	return 0;
}

/* Read a nullable byte field (length varint, then bytes). */
static void
read_bytes_field(struct breader *r, struct rec_bytes *out)
{
	int32_t len = br_varint(r);

	out->data = NULL;
	out->len = -1;
	if (len < -1) {
		br_fail(r, "negative length");
		return;
	}
	if (len == -1)
		return;
	out->data = br_bytes(r, (size_t)len);
	out->len = out->data ? len : -1;
}

/* Walk `count` headers to validate them; leaves r after the last one. */
static void
skip_headers(struct breader *r, int32_t count)
{
	struct rec_bytes k, v;
	int32_t i;

	for (i = 0; i < count && br_ok(r); i++) {
		read_bytes_field(r, &k);
		if (br_ok(r) && k.len < 0)
			br_fail(r, "null header key");
		read_bytes_field(r, &v);
	}
}

static int
iter_fail(struct rec_iter *it, struct err *e, const char *why)
{
	return err_set(e, EXIT_DATAERR,
	    "batch at offset %" PRId64 ", record %" PRId32 ": %s",
	    it->batch->base_offset, it->index, why);
}

int
rec_iter_next(struct rec_iter *it, struct rec_record *out, struct err *e)
{
	const struct rec_batch *b = it->batch;
	struct breader rec;
	const uint8_t *body;
	int32_t length, offset_delta;
	int64_t ts_delta;

	if (it->index == b->record_count) {
		if (br_left(&it->r) != 0)
			return iter_fail(it, e, "trailing bytes after the last record");
		return 0;
	}
	if (br_left(&it->r) == 0)
		return iter_fail(it, e, "batch ends before its record count");
	length = br_varint(&it->r);
	if (!br_ok(&it->r) || length < 0)
		return iter_fail(it, e, "bad record length");
	body = br_bytes(&it->r, (size_t)length);
	if (body == NULL)
		return iter_fail(it, e, "record length exceeds the batch");

	br_init(&rec, body, (size_t)length);
	out->attributes = br_i8(&rec);
	ts_delta = br_varlong(&rec);
	offset_delta = br_varint(&rec);
	read_bytes_field(&rec, &out->key);
	read_bytes_field(&rec, &out->value);
	out->header_count = br_varint(&rec);
	if (br_ok(&rec) && out->header_count < 0)
		br_fail(&rec, "negative header count");
	out->headers = rec.p;
	skip_headers(&rec, out->header_count);
	if (!br_ok(&rec))
		return iter_fail(it, e, rec.fail);
	out->headers_len = (size_t)(rec.p - out->headers);
	if (br_left(&rec) != 0)
		return iter_fail(it, e, "record length does not match its fields");
	if (offset_delta <= it->prev_delta ||
	    offset_delta > b->last_offset_delta)
		return iter_fail(it, e, "offset delta out of order");

	it->prev_delta = offset_delta;
	out->offset = b->base_offset + offset_delta;
	if (b->attributes & REC_ATTR_LOG_APPEND_TIME)
		out->timestamp = b->max_timestamp;
	else
		out->timestamp = b->base_timestamp + ts_delta;
	it->index++;
	return 1;
}

int
rec_header_next(struct breader *r, struct rec_header *out, struct err *e)
{
	read_bytes_field(r, &out->key);
	if (br_ok(r) && out->key.len < 0)
		br_fail(r, "null header key");
	read_bytes_field(r, &out->value);
	if (!br_ok(r))
		return err_set(e, EXIT_DATAERR, "bad record header: %s", r->fail);
	return 0;
}

int
rec_batch_check_header(const struct rec_batch *b, unsigned flags,
    struct err *e)
{
	uint32_t crc = rec_batch_crc_compute(b->data, b->size);

	if (crc != b->crc)
		return err_set(e, EXIT_DATAERR,
		    "batch at offset %" PRId64 ": bad CRC: stored 0x%08" PRIx32
		    ", computed 0x%08" PRIx32, b->base_offset, b->crc, crc);
	if (!(flags & REC_VALIDATE_PRODUCE))
		return 0;
	if (b->attributes & REC_ATTR_CONTROL)
		return err_set(e, EXIT_DATAERR,
		    "control batch not accepted from a producer");
	if (b->record_count == 0)
		return err_set(e, EXIT_DATAERR, "batch has no records");
	if (b->last_offset_delta != b->record_count - 1)
		return err_set(e, EXIT_DATAERR, "last offset delta %" PRId32
		    " does not match %" PRId32 " records",
		    b->last_offset_delta, b->record_count);
	return 0;
}

int
rec_batch_validate_walk(struct rec_iter *it, const struct rec_batch *b,
    unsigned flags, struct err *e)
{
	struct rec_record rec;
	int r;

	if (rec_batch_check_header(b, flags, e) < 0)
		return -1;
	r = rec_iter_reset(it, b, e);
	while (r == 0 && (r = rec_iter_next(it, &rec, e)) > 0) {
		if ((flags & REC_VALIDATE_PRODUCE) &&
		    rec.offset - b->base_offset != it->index - 1)
			return iter_fail(it, e, "offset deltas are not consecutive");
		if ((flags & REC_VALIDATE_KEYS) && rec.key.len < 0)
			return iter_fail(it, e,
			    "a compacted topic needs a key on every record");
		r = 0;
	}
	return r < 0 ? -1 : 0;
}

int
rec_batch_validate_iter(struct rec_iter *it, const struct rec_batch *b,
    unsigned flags, struct err *e)
{
	/*
	 * Most batches are uncompressed, and for them the one-pass
	 * validator gives the walk's answers in about half its
	 * instructions (no reader or record struct per record).
	 */
	if (rec_batch_codec(b) == COMPRESS_NONE)
		return rec_check_plain(b, flags, e);
	return rec_batch_validate_walk(it, b, flags, e);
}

int
rec_batch_validate(const struct rec_batch *b, unsigned flags,
    size_t max_decompressed, struct err *e)
{
	struct rec_iter it;
	int r;

	rec_iter_init(&it, max_decompressed);
	r = rec_batch_validate_iter(&it, b, flags, e);
	rec_iter_release(&it);
	return r;
}

void
rec_builder_init(struct rec_builder *b, enum compress_codec codec, int level)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->records);
	buf_init(&b->scratch);
	b->codec = codec;
	b->level = level;
	b->producer_id = -1;
	b->producer_epoch = -1;
	b->base_sequence = -1;
	b->leader_epoch = -1;
	b->last_offset_delta = -1;
	b->last_delta = -1;
}

void
rec_builder_reset(struct rec_builder *b)
{
	buf_clear(&b->records);
	buf_clear(&b->scratch);
	b->count = 0;
	b->base_timestamp = 0;
	b->max_timestamp = 0;
	b->base_offset = 0;
	b->last_offset_delta = -1;
	b->last_delta = -1;
	b->fixed_base_timestamp = false;
	b->attributes &= (int16_t)~REC_ATTR_DELETE_HORIZON;
}

void
rec_builder_set_delete_horizon(struct rec_builder *b, int64_t horizon_ms)
{
	b->attributes |= REC_ATTR_DELETE_HORIZON;
	b->base_timestamp = horizon_ms;
	b->fixed_base_timestamp = true;
}

void
rec_builder_release(struct rec_builder *b)
{
	buf_release(&b->records);
	buf_release(&b->scratch);
}

/*
 * The builder keeps REC_BATCH_HEADER_SIZE bytes free at the front of
 * `records` (allocated with the first record), so that finishing writes
 * the header in place in front of the bodies instead of moving them.
 * records.len is 0 or the header room plus the encoded records.
 */

/* Zigzag varints, inlined: the builder writes five or more per record. */
/* Most varints in a batch (deltas, lengths) take one or two bytes. */
static inline size_t
uvarint_len(uint64_t u)
{
	size_t n = 3;

	if (u < 0x80)
		return 1;
	if (u < 0x4000)
		return 2;
	for (u >>= 21; u != 0; u >>= 7)
		n++;
	return n;
}

static inline uint64_t
zz32(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t
zz64(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline uint8_t *
uvarint_write(uint8_t *p, uint64_t u)
{
	if (u < 0x80) {
		*p = (uint8_t)u;
		return p + 1;
	}
	if (u < 0x4000) {
		p[0] = (uint8_t)(u | 0x80);
		p[1] = (uint8_t)(u >> 7);
		return p + 2;
	}
	while (u >= 0x80) {
		*p++ = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	*p++ = (uint8_t)u;
	return p;
}

static inline size_t
bytes_field_size(struct rec_bytes f)
{
	return uvarint_len(zz32(f.len)) + (f.len > 0 ? (size_t)f.len : 0);
}

static inline uint8_t *
put_bytes_field(uint8_t *p, struct rec_bytes f)
{
	p = uvarint_write(p, zz32(f.len));
	if (f.len > 0) {
		memcpy(p, f.data, (size_t)f.len);
		p += f.len;
	}
	return p;
}

/*
 * `n` more bytes at the end of the records (after the header room when
 * this is the first record), or NULL when memory runs out.
 */
static inline uint8_t *
records_extend(struct rec_builder *b, size_t n)
{
	struct buf *r = &b->records;
	size_t need = n + (r->len == 0 ? REC_BATCH_HEADER_SIZE : 0);
	uint8_t *p;

	if ((r->failed || r->cap - r->len < need) && buf_reserve(r, need) < 0)
		return NULL;
	if (r->len == 0)
		r->len = REC_BATCH_HEADER_SIZE;
	p = r->data + r->len;
	r->len += n;
	return p;
}

/* Account for a record's timestamp; returns its delta from the base. */
static inline int64_t
builder_timestamp(struct rec_builder *b, int64_t timestamp)
{
	if (b->count == 0) {
		if (!b->fixed_base_timestamp)
			b->base_timestamp = timestamp;
		b->max_timestamp = timestamp;
	} else if (timestamp > b->max_timestamp) {
		b->max_timestamp = timestamp;
	}
	return timestamp - b->base_timestamp;
}

/*
 * builder_put for the common record without headers (every record of a
 * plain producer): the same bytes, with less to decide.
 */
static int
builder_put_plain(struct rec_builder *b, int32_t offset_delta,
    int64_t timestamp, struct rec_bytes key, struct rec_bytes value)
{
	uint64_t ts = zz64(builder_timestamp(b, timestamp));
	uint64_t od = zz32(offset_delta);
	size_t body, total;
	uint8_t *p;

	body = 2 + uvarint_len(ts) + uvarint_len(od) + bytes_field_size(key) +
	    bytes_field_size(value);
	if (body > INT32_MAX)
		return -1;
	total = uvarint_len(zz32((int32_t)body)) + body;
	p = records_extend(b, total);
	if (p == NULL)
		return -1;
	p = uvarint_write(p, zz32((int32_t)body));
	*p++ = 0;		/* record attributes: unused in v2 */
	p = uvarint_write(p, ts);
	p = uvarint_write(p, od);
	p = put_bytes_field(p, key);
	p = put_bytes_field(p, value);
	*p = 0;			/* no headers */
	b->count++;
	b->last_delta = offset_delta;
	return 0;
}

/*
 * Encode one record at offset_delta. Its headers come either from an
 * array or, when `raw` is not NULL, as already encoded bytes.
 */
static int
builder_put(struct rec_builder *b, int32_t offset_delta, int64_t timestamp,
    struct rec_bytes key, struct rec_bytes value,
    const struct rec_header *headers, int32_t nheaders, const uint8_t *raw,
    size_t raw_len)
{
	int64_t ts_delta;
	size_t body, total;
	uint8_t *p;
	int32_t i;

	if (offset_delta < 0 || offset_delta <= b->last_delta || nheaders < 0)
		return -1;
	ts_delta = builder_timestamp(b, timestamp);
	body = 1 + uvarint_len(zz64(ts_delta)) +
	    uvarint_len(zz32(offset_delta)) + bytes_field_size(key) +
	    bytes_field_size(value) + uvarint_len(zz32(nheaders));
	if (raw != NULL)
		body += raw_len;
	else
		for (i = 0; i < nheaders; i++)
			body += bytes_field_size(headers[i].key) +
			    bytes_field_size(headers[i].value);
	if (body > INT32_MAX)
		return -1;
	total = uvarint_len(zz32((int32_t)body)) + body;
	p = records_extend(b, total);
	if (p == NULL)
		return -1;
	p = uvarint_write(p, zz32((int32_t)body));
	*p++ = 0;		/* record attributes: unused in v2 */
	p = uvarint_write(p, zz64(ts_delta));
	p = uvarint_write(p, zz32(offset_delta));
	p = put_bytes_field(p, key);
	p = put_bytes_field(p, value);
	p = uvarint_write(p, zz32(nheaders));
	if (raw != NULL && raw_len > 0)
		memcpy(p, raw, raw_len);
	else if (raw == NULL)
		for (i = 0; i < nheaders; i++) {
			p = put_bytes_field(p, headers[i].key);
			p = put_bytes_field(p, headers[i].value);
		}
	b->count++;
	b->last_delta = offset_delta;
	return 0;
}

int
rec_builder_add(struct rec_builder *b, int64_t timestamp,
    struct rec_bytes key, struct rec_bytes value,
    const struct rec_header *headers, int32_t nheaders)
{
	if (b->last_delta == INT32_MAX)
		return -1;
	if (nheaders == 0)
		return builder_put_plain(b, b->last_delta + 1, timestamp, key,
		    value);
	return builder_put(b, b->last_delta + 1, timestamp, key, value,
	    headers, nheaders, NULL, 0);
}

int
rec_builder_add_at(struct rec_builder *b, int32_t offset_delta,
    int64_t timestamp, struct rec_bytes key, struct rec_bytes value,
    const struct rec_header *headers, int32_t nheaders)
{
	return builder_put(b, offset_delta, timestamp, key, value, headers,
	    nheaders, NULL, 0);
}

int
rec_builder_add_record(struct rec_builder *b, int32_t offset_delta,
    const struct rec_record *r)
{
	static const uint8_t none[1];

	if (r->headers == NULL && (r->headers_len > 0 || r->header_count > 0))
		return -1;
	return builder_put(b, offset_delta, r->timestamp, r->key, r->value,
	    NULL, r->header_count, r->headers != NULL ? r->headers : none,
	    r->headers_len);
}

/*
 * Complete the batch in place: compress the bodies when the codec asks
 * (into `scratch`, behind header room of its own), write the header in
 * front and set the CRC. Returns the buffer holding the whole batch
 * (records or scratch), or NULL with `e` set.
 */
static struct buf *
builder_complete(struct rec_builder *b, struct err *e)
{
	struct buf *whole = &b->records;
	size_t size;
	uint8_t *h;

	if (b->count == 0) {
		err_set(e, EXIT_SOFTWARE, "cannot finish an empty batch");
		return NULL;
	}
	if (b->last_offset_delta >= 0 && b->last_offset_delta < b->last_delta) {
		err_set(e, EXIT_SOFTWARE, "last offset delta %" PRId32
		    " is below the last record's %" PRId32,
		    b->last_offset_delta, b->last_delta);
		return NULL;
	}
	if (b->records.failed || b->records.len < REC_BATCH_HEADER_SIZE) {
		err_set(e, EXIT_OSERR, "out of memory building a batch");
		return NULL;
	}
	if (b->codec != COMPRESS_NONE) {
		buf_clear(&b->scratch);
		if (buf_extend(&b->scratch, REC_BATCH_HEADER_SIZE) == NULL) {
			err_set(e, EXIT_OSERR, "out of memory building a batch");
			return NULL;
		}
		if (compress_append(b->codec, b->level,
		    b->records.data + REC_BATCH_HEADER_SIZE,
		    b->records.len - REC_BATCH_HEADER_SIZE, &b->scratch, e) < 0)
			return NULL;
		whole = &b->scratch;
	}
	size = whole->len;
	if (size - REC_BATCH_LOG_OVERHEAD > INT32_MAX) {
		err_set(e, EXIT_DATAERR, "batch of %zu bytes is too large",
		    size);
		return NULL;
	}
	h = whole->data;
	be64_store(h + REC_OFF_BASE_OFFSET, (uint64_t)b->base_offset);
	be32_store(h + REC_OFF_LENGTH, (uint32_t)(size - REC_BATCH_LOG_OVERHEAD));
	be32_store(h + REC_OFF_LEADER_EPOCH, (uint32_t)b->leader_epoch);
	h[REC_OFF_MAGIC] = REC_MAGIC;
	be16_store(h + REC_OFF_ATTRIBUTES,
	    (uint16_t)((b->attributes & ~REC_ATTR_COMPRESSION_MASK) | b->codec));
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA, (uint32_t)
	    (b->last_offset_delta >= 0 ? b->last_offset_delta : b->last_delta));
	be64_store(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
	be64_store(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
	be64_store(h + REC_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
	be16_store(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
	be32_store(h + REC_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
	be32_store(h + REC_OFF_RECORD_COUNT, (uint32_t)b->count);
	be32_store(h + REC_OFF_CRC, rec_batch_crc_compute(h, size));
	return whole;
}

int
rec_builder_finish(struct rec_builder *b, struct buf *out, struct err *e)
{
	const struct buf *whole = builder_complete(b, e);

	if (whole == NULL)
		return -1;
	buf_put(out, whole->data, whole->len);
	if (out->failed)
		return err_set(e, EXIT_OSERR, "out of memory building a batch");
	return 0;
}

int
rec_builder_seal(struct rec_builder *b, struct buf *out, struct err *e)
{
	struct buf *whole = builder_complete(b, e), spare;
	size_t size;

	if (whole == NULL)
		return -1;
	size = whole->len;
	spare = *out;
	*out = *whole;
	*whole = spare;
	rec_builder_reset(b);
	/*
	 * Expect the next batch to be as large as this one: growing by
	 * doubling would copy it and touch new pages several times over.
	 * Failing here is harmless (clearing forgets it): the first record
	 * asks again and reports.
	 */
	if (whole == &b->records && b->records.cap < size &&
	    buf_reserve(&b->records, size) < 0)
		buf_clear(&b->records);
	return 0;
}

int
rec_batch_append_empty(const struct rec_batch *b, struct buf *out,
    struct err *e)
{
	uint16_t keep = REC_ATTR_LOG_APPEND_TIME | REC_ATTR_TRANSACTIONAL |
	    REC_ATTR_CONTROL;
	uint8_t *h = buf_extend(out, REC_BATCH_HEADER_SIZE);

	if (h == NULL)
		return err_set(e, EXIT_OSERR, "out of memory building a batch");
	be64_store(h + REC_OFF_BASE_OFFSET, (uint64_t)b->base_offset);
	be32_store(h + REC_OFF_LENGTH,
	    REC_BATCH_HEADER_SIZE - REC_BATCH_LOG_OVERHEAD);
	be32_store(h + REC_OFF_LEADER_EPOCH, (uint32_t)b->leader_epoch);
	h[REC_OFF_MAGIC] = REC_MAGIC;
	be16_store(h + REC_OFF_ATTRIBUTES, (uint16_t)b->attributes & keep);
	be32_store(h + REC_OFF_LAST_OFFSET_DELTA,
	    (uint32_t)b->last_offset_delta);
	be64_store(h + REC_OFF_BASE_TIMESTAMP, (uint64_t)-1);
	be64_store(h + REC_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
	be64_store(h + REC_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
	be16_store(h + REC_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
	be32_store(h + REC_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
	be32_store(h + REC_OFF_RECORD_COUNT, 0);
	be32_store(h + REC_OFF_CRC,
	    rec_batch_crc_compute(h, REC_BATCH_HEADER_SIZE));
	return 0;
}
