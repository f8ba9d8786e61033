/* SPDX-License-Identifier: MIT */
/*
 * One-pass validator for uncompressed batches (see record_check.h). It
 * walks the records with local varint decoding, bounded by the record's
 * or the batch's end, and reports the first failure with the reason and
 * record index that rec_iter_next (record.c) and br_* (bytes.c) would
 * give, so verdicts and log lines do not depend on whether
 * rec_batch_validate_iter took this path or the walk.
 * tests/unit/test_record_check.c holds the two to the same answers.
 */
#include <inttypes.h>

#include "record_check.h"
#include "banned.h"

/*
 * The rest of a base-128 varint of at most `max` bytes at *pp, not read
 * past `end`; the reasons are breader's (br_raw_varint in bytes.c).
 * Returns NULL with *pp advanced and *out set, or why it is malformed.
 */
static const char *
varint_slow(const uint8_t **pp, const uint8_t *end, unsigned max,
    uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < max; i++) {
		uint8_t c;

		if (p == end)
			return "truncated varint";
		c = *p++;
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			*pp = p;
			*out = v;
			return NULL;
		}
	}
	return "varint too long";
}

/* An unsigned varint; records mostly hold 1- and 2-byte ones, kept inline. */
static inline const char *
get_raw(const uint8_t **pp, const uint8_t *end, unsigned max, uint64_t *out)
{
	const uint8_t *p = *pp;

	if (p < end && p[0] < 0x80) {
		*out = p[0];
		*pp = p + 1;
		return NULL;
	}
	/* p[0] has its continuation bit here whenever p < end. */
	if (end - p >= 2 && p[1] < 0x80) {
		*out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		*pp = p + 2;
		return NULL;
	}
	return varint_slow(pp, end, max, out);
}

/*
 * A varint of at most 5 bytes that must fit 32 bits (br_varint), left
 * zigzagged: u is even for v >= 0 (v = u / 2), odd for v < 0, and 1 is -1.
 * Deciding signs and null fields on u saves decoding what is only tested.
 */
static inline const char *
get_zz32(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
	const char *why;
	uint64_t u;

	if ((why = get_raw(pp, end, 5, &u)) != NULL)
		return why;
	if (u > UINT32_MAX)
		return "varint out of range";
	*out = (uint32_t)u;
	return NULL;
}

static inline int32_t
unzigzag32(uint32_t u)
{
	return (int32_t)((u >> 1) ^ -(u & 1));
}

/* Skip a nullable byte field; *null tells whether it was null (-1). */
static inline const char *
skip_bytes_field(const uint8_t **pp, const uint8_t *end, bool *null)
{
	const char *why;
	uint32_t u;

	if ((why = get_zz32(pp, end, &u)) != NULL)
		return why;
	*null = u == 1;
	if (u & 1)
		return u == 1 ? NULL : "negative length";
	if ((size_t)(end - *pp) < (size_t)(u >> 1))
		return "truncated";
	*pp += u >> 1;
	return NULL;
}

/*
 * Check the fields of the record body [p, end) in the order rec_iter_next
 * reads them. Returns NULL with the zigzagged offset delta and whether
 * the key is null set, or the first reason the record is malformed.
 */
static inline const char *
check_fields(const uint8_t *p, const uint8_t *end, uint32_t *delta,
    bool *null_key)
{
	const char *why;
	uint64_t ts_delta;
	uint32_t nheaders, i;
	bool null;

	if (p == end)
		return "truncated";	/* no attributes byte */
	p++;
	/* Any 64-bit timestamp delta is valid; only its encoding counts. */
	if ((why = get_raw(&p, end, 10, &ts_delta)) != NULL)
		return why;
	if ((why = get_zz32(&p, end, delta)) != NULL ||
	    (why = skip_bytes_field(&p, end, null_key)) != NULL ||
	    (why = skip_bytes_field(&p, end, &null)) != NULL ||
	    (why = get_zz32(&p, end, &nheaders)) != NULL)
		return why;
	if (nheaders & 1)
		return "negative header count";
	/* Each header takes 2 bytes or more: a lying count soon runs out. */
	for (i = 0; i < nheaders >> 1; i++) {
		if ((why = skip_bytes_field(&p, end, &null)) != NULL)
			return why;
		if (null)
			return "null header key";
		if ((why = skip_bytes_field(&p, end, &null)) != NULL)
			return why;
	}
	if (p != end)
		return "record length does not match its fields";
	return NULL;
}

static int
record_fail(const struct rec_batch *b, int32_t index, const char *why,
    struct err *e)
{
	return err_set(e, EXIT_DATAERR,
	    "batch at offset %" PRId64 ", record %" PRId32 ": %s",
	    b->base_offset, index, why);
}

int
rec_check_plain(const struct rec_batch *b, unsigned flags, struct err *e)
{
	const uint8_t *p = b->data + REC_OFF_RECORDS;
	const uint8_t *end = b->data + b->size;
	uint32_t length, delta;
	int64_t prev = -1;
	int32_t i;
	bool null_key;
	const char *why;

	if (rec_batch_codec(b) != COMPRESS_NONE)
		return err_set(e, EXIT_SOFTWARE,
		    "batch at offset %" PRId64 ": compressed batch given to "
		    "the uncompressed validator", b->base_offset);
	if (rec_batch_check_header(b, flags, e) < 0)
		return -1;
	for (i = 0; i < b->record_count; i++) {
		if (p == end)
			return record_fail(b, i,
			    "batch ends before its record count", e);
		if (get_zz32(&p, end, &length) != NULL || (length & 1))
			return record_fail(b, i, "bad record length", e);
		if ((size_t)(end - p) < (size_t)(length >> 1))
			return record_fail(b, i,
			    "record length exceeds the batch", e);
		if ((why = check_fields(p, p + (length >> 1), &delta,
		    &null_key)) != NULL)
			return record_fail(b, i, why, e);
		p += length >> 1;
		/* A producer's deltas are 0, 1, 2...: one test when they are. */
		if ((flags & REC_VALIDATE_PRODUCE) && delta == 2 * (uint32_t)i) {
			prev = i;
		} else {
			int32_t d = unzigzag32(delta);

			if (d <= prev || d > b->last_offset_delta)
				return record_fail(b, i,
				    "offset delta out of order", e);
			prev = d;
			/*
			 * The iterator has counted this record by the time
			 * rec_batch_validate_walk's own rules run: their
			 * messages name index + 1.
			 */
			if ((flags & REC_VALIDATE_PRODUCE) && d != i)
				return record_fail(b, i + 1,
				    "offset deltas are not consecutive", e);
		}
		if ((flags & REC_VALIDATE_KEYS) && null_key)
			return record_fail(b, i + 1,
			    "a compacted topic needs a key on every record", e);
	}
	if (p != end)
		return record_fail(b, i, "trailing bytes after the last record",
		    e);
	return 0;
}
