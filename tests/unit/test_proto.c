/* SPDX-License-Identifier: MIT */
/*
 * Kafka wire primitives: request header v1, int16 strings and int32 bytes
 * (null allowed or refused, lengths past the frame), array counts bounded
 * by the bytes left, frames whose size prefix matches what follows, the
 * bounded string copy, and the error and API name tables. Malformed input
 * is table-driven; a refused read must fail the reader, never over-read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "proto.h"
#include "tinytest.h"

/* A heap copy, so ASan catches any read past `len`. */
static uint8_t *
dup_exact(const void *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	if (d != NULL && len > 0)
		memcpy(d, p, len);
	return d;
}

static void
test_proto__req_header(void)
{
	struct buf b = BUF_INIT;
	struct proto_req_header h;
	struct breader r;
	size_t start;

	start = proto_frame_begin_request(&b, API_METADATA, 9, 0x01020304,
	    "kprod");
	buf_put_i32(&b, 42);	/* body */
	proto_frame_end(&b, start);
	CHECK(!b.failed && b.len == 4 + 2 + 2 + 4 + 2 + 5 + 4);
	CHECK(be32_load(b.data) == b.len - 4);
	CHECK(memcmp(b.data + 4, "\x00\x03\x00\x09\x01\x02\x03\x04\x00\x05kprod",
	    15) == 0);

	br_init(&r, b.data + 4, b.len - 4);
	proto_read_req_header(&r, &h);
	CHECK(br_ok(&r));
	CHECK(h.api_key == API_METADATA && h.api_version == 9 &&
	    h.correlation_id == 0x01020304);
	CHECK(proto_str_eq(h.client_id, "kprod"));
	CHECK(br_i32(&r) == 42 && br_left(&r) == 0 && br_ok(&r));
	buf_release(&b);

	/* A null client id is allowed. */
	start = proto_frame_begin_request(&b, API_API_VERSIONS, 0, -7, NULL);
	proto_frame_end(&b, start);
	CHECK(b.len == 14 && be32_load(b.data) == 10);
	br_init(&r, b.data + 4, b.len - 4);
	proto_read_req_header(&r, &h);
	CHECK(br_ok(&r) && h.correlation_id == -7);
	CHECK(h.client_id.len == -1 && h.client_id.p == NULL);
	buf_release(&b);
}

static void
test_proto__req_header_malformed(void)
{
	static const struct {
		const char *data;
		size_t len;
	} cases[] = {
		{ "", 0 },
		{ "\x00\x03", 2 },
		{ "\x00\x03\x00\x09", 4 },
		{ "\x00\x03\x00\x09\x00\x00\x00", 7 },
		{ "\x00\x03\x00\x09\x00\x00\x00\x01", 8 },	/* no client id */
		{ "\x00\x03\x00\x09\x00\x00\x00\x01\x00", 9 },
		{ "\x00\x03\x00\x09\x00\x00\x00\x01\x00\x05kpro", 14 },
		{ "\x00\x03\x00\x09\x00\x00\x00\x01\xff\xfe", 10 },
		{ "\x00\x03\x00\x09\x00\x00\x00\x01\x80\x00", 10 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d = dup_exact(cases[i].data, cases[i].len);
		struct proto_req_header h;
		struct breader r;

		if (d == NULL)
			continue;
		br_init(&r, d, cases[i].len);
		proto_read_req_header(&r, &h);
		CHECKF(!br_ok(&r), "case %zu: accepted", i);
		CHECKF(h.client_id.p == NULL && h.client_id.len == -1,
		    "case %zu: client id set", i);
		free(d);
	}
}

static void
test_proto__strings(void)
{
	static const struct {
		const char *data;
		size_t len;
		bool nullable;
		int ok;
		int32_t want_len;	/* -1: null */
		const char *want;
		size_t left;		/* bytes left after a good read */
	} cases[] = {
		{ "\x00\x03" "abc", 5, false, 1, 3, "abc", 0 },
		{ "\x00\x03" "abcd", 6, false, 1, 3, "abc", 1 },
		{ "\x00\x00", 2, false, 1, 0, "", 0 },
		{ "\x00\x00" "x", 3, true, 1, 0, "", 1 },
		{ "\xff\xff", 2, true, 1, -1, NULL, 0 },
		{ "\xff\xff" "ab", 4, true, 1, -1, NULL, 2 },
		{ "\xff\xff", 2, false, 0, -1, NULL, 0 },
		{ "\xff\xfe", 2, true, 0, -1, NULL, 0 },
		{ "\x80\x00", 2, true, 0, -1, NULL, 0 },
		{ "\x00\x04" "abc", 5, true, 0, -1, NULL, 0 },
		{ "\x7f\xff" "abc", 5, true, 0, -1, NULL, 0 },
		{ "\x00", 1, true, 0, -1, NULL, 0 },
		{ "", 0, true, 0, -1, NULL, 0 },
		{ "\x00\x01", 2, false, 0, -1, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d = dup_exact(cases[i].data, cases[i].len);
		struct proto_str s;
		struct breader r;

		if (d == NULL)
			continue;
		br_init(&r, d, cases[i].len);
		s = proto_read_str(&r, cases[i].nullable);
		CHECKF(br_ok(&r) == (cases[i].ok == 1), "case %zu", i);
		CHECKF(s.len == cases[i].want_len, "case %zu: len %d", i,
		    (int)s.len);
		if (cases[i].want == NULL)
			CHECKF(s.p == NULL, "case %zu", i);
		else
			CHECKF(s.p != NULL && proto_str_eq(s, cases[i].want),
			    "case %zu", i);
		if (cases[i].ok)
			CHECKF(br_left(&r) == cases[i].left, "case %zu", i);
		free(d);
	}
}

static void
test_proto__bytes(void)
{
	static const struct {
		const char *data;
		size_t len;
		bool nullable;
		int ok;
		int32_t want_len;
	} cases[] = {
		{ "\x00\x00\x00\x02" "\x00\x01", 6, false, 1, 2 },
		{ "\x00\x00\x00\x00", 4, false, 1, 0 },
		{ "\xff\xff\xff\xff", 4, true, 1, -1 },
		{ "\xff\xff\xff\xff", 4, false, 0, -1 },
		{ "\xff\xff\xff\xfe", 4, true, 0, -1 },
		{ "\x80\x00\x00\x00", 4, true, 0, -1 },
		{ "\x00\x00\x00\x03" "ab", 6, true, 0, -1 },
		{ "\x7f\xff\xff\xff" "ab", 6, true, 0, -1 },
		{ "\x00\x00\x00", 3, true, 0, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d = dup_exact(cases[i].data, cases[i].len);
		struct proto_str s;
		struct breader r;

		if (d == NULL)
			continue;
		br_init(&r, d, cases[i].len);
		s = proto_read_bytes(&r, cases[i].nullable);
		CHECKF(br_ok(&r) == (cases[i].ok == 1), "case %zu", i);
		CHECKF(s.len == cases[i].want_len, "case %zu: len %d", i,
		    (int)s.len);
		CHECKF((s.p == NULL) == (s.len < 0), "case %zu", i);
		if (s.len > 0)
			CHECK(memcmp(s.p, d + 4, (size_t)s.len) == 0);
		free(d);
	}
}

static void
test_proto__array_len(void)
{
	static const struct {
		const char *data;
		size_t len;
		bool nullable;
		size_t min_elem;
		int ok;
		int32_t want;
	} cases[] = {
		{ "\x00\x00\x00\x00", 4, false, 4, 1, 0 },
		{ "\x00\x00\x00\x02" "abcdefgh", 12, false, 4, 1, 2 },
		{ "\x00\x00\x00\x02" "abcdefg", 11, false, 4, 0, 0 },
		{ "\x00\x00\x00\x03" "abcdefgh", 12, false, 4, 0, 0 },
		{ "\x00\x00\x00\x08" "abcdefgh", 12, false, 1, 1, 8 },
		{ "\x00\x00\x00\x09" "abcdefgh", 12, false, 1, 0, 0 },
		/* min_elem_size 0 is treated as 1 */
		{ "\x00\x00\x00\x08" "abcdefgh", 12, false, 0, 1, 8 },
		{ "\x00\x00\x00\x09" "abcdefgh", 12, false, 0, 0, 0 },
		{ "\x00\x00\x00\x01", 4, false, 1, 0, 0 },
		{ "\xff\xff\xff\xff", 4, true, 4, 1, -1 },
		{ "\xff\xff\xff\xff", 4, false, 4, 0, 0 },
		{ "\xff\xff\xff\xfe", 4, true, 4, 0, 0 },
		{ "\x80\x00\x00\x00", 4, true, 4, 0, 0 },
		{ "\x7f\xff\xff\xff" "abcd", 8, false, 1, 0, 0 },
		/* a huge element size never overflows the bound */
		{ "\x00\x00\x00\x01" "abcd", 8, false, SIZE_MAX, 0, 0 },
		{ "\x00\x00\x00\x00", 4, false, SIZE_MAX, 1, 0 },
		{ "\x00\x00", 2, true, 1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d = dup_exact(cases[i].data, cases[i].len);
		struct breader r;
		int32_t n;

		if (d == NULL)
			continue;
		br_init(&r, d, cases[i].len);
		n = proto_read_array_len(&r, cases[i].nullable,
		    cases[i].min_elem);
		CHECKF(br_ok(&r) == (cases[i].ok == 1), "case %zu", i);
		CHECKF(n == cases[i].want, "case %zu: got %d", i, (int)n);
		/* Only the count is consumed on success. */
		if (cases[i].ok)
			CHECKF(br_left(&r) == cases[i].len - 4, "case %zu", i);
		free(d);
	}
}

static void
test_proto__put_and_read_back(void)
{
	static const uint8_t bin[3] = { 0, 0xff, 7 };
	struct buf b = BUF_INIT;
	struct breader r;
	struct proto_str s;

	proto_put_cstr(&b, "topic");
	proto_put_cstr(&b, NULL);
	proto_put_cstr(&b, "");
	proto_put_str(&b, "abcdef", 2);
	proto_put_bytes(&b, bin, 3);
	proto_put_bytes(&b, NULL, -1);
	proto_put_bytes(&b, NULL, -5);
	proto_put_bytes(&b, bin, 0);
	proto_put_bool(&b, true);
	proto_put_bool(&b, false);
	CHECK(!b.failed);

	br_init(&r, b.data, b.len);
	CHECK(proto_str_eq(proto_read_str(&r, false), "topic"));
	s = proto_read_str(&r, true);
	CHECK(s.len == -1 && s.p == NULL);
	s = proto_read_str(&r, false);
	CHECK(s.len == 0 && s.p != NULL && proto_str_eq(s, ""));
	CHECK(proto_str_eq(proto_read_str(&r, false), "ab"));
	s = proto_read_bytes(&r, false);
	CHECK(s.len == 3 && memcmp(s.p, bin, 3) == 0);
	CHECK(proto_read_bytes(&r, true).len == -1);
	CHECK(proto_read_bytes(&r, true).len == -1);	/* -5 wrote null */
	s = proto_read_bytes(&r, false);
	CHECK(s.len == 0 && s.p != NULL);
	CHECK(proto_read_bool(&r) == true);
	CHECK(proto_read_bool(&r) == false);
	CHECK(br_ok(&r) && br_left(&r) == 0);
	/* Reading past the end fails the reader. */
	CHECK(proto_read_bool(&r) == false && !br_ok(&r));
	buf_release(&b);

	/* Any non-zero byte is true. */
	br_init(&r, "\x02", 1);
	CHECK(proto_read_bool(&r) == true && br_ok(&r));

	/* Strings longer than int16 are clamped, keeping the frame sane. */
	{
		size_t big = 40000;
		char *p = malloc(big);

		if (p != NULL) {
			memset(p, 'x', big);
			proto_put_str(&b, p, big);
			CHECK(b.len == 2 + INT16_MAX);
			br_init(&r, b.data, b.len);
			s = proto_read_str(&r, false);
			CHECK(br_ok(&r) && s.len == INT16_MAX &&
			    br_left(&r) == 0);
			free(p);
		}
		buf_release(&b);
	}
}

static void
test_proto__str_copy_eq(void)
{
	struct proto_str abc = { "abcXYZ", 3 }, empty = { "", 0 };
	struct proto_str null = { NULL, -1 };
	char dst[8];

	memset(dst, '#', sizeof(dst));
	CHECK(proto_str_copy(abc, dst, sizeof(dst)) && strcmp(dst, "abc") == 0);
	CHECK(proto_str_copy(abc, dst, 4) && strcmp(dst, "abc") == 0);
	/* No room for the NUL: refused, dst untouched. */
	memset(dst, '#', sizeof(dst));
	CHECK(!proto_str_copy(abc, dst, 3));
	CHECK(dst[0] == '#' && dst[3] == '#');
	CHECK(!proto_str_copy(abc, dst, 0));
	CHECK(!proto_str_copy(null, dst, sizeof(dst)));
	CHECK(proto_str_copy(empty, dst, 1) && dst[0] == '\0');
	CHECK(!proto_str_copy(empty, dst, 0));

	CHECK(proto_str_eq(abc, "abc"));
	CHECK(!proto_str_eq(abc, "abcX"));
	CHECK(!proto_str_eq(abc, "ab"));
	CHECK(!proto_str_eq(abc, "abd"));
	CHECK(proto_str_eq(empty, ""));
	CHECK(!proto_str_eq(null, ""));
	CHECK(!proto_str_eq(null, "abc"));
}

static void
test_proto__frames(void)
{
	struct buf b = BUF_INIT;
	struct breader r;
	size_t s1, s2;

	/* Two frames back to back in one buffer: each prefix is its own. */
	s1 = proto_frame_begin_response(&b, 7);
	buf_put_i16(&b, KERR_NONE);
	proto_frame_end(&b, s1);
	s2 = proto_frame_begin_response(&b, -2);
	proto_frame_end(&b, s2);
	CHECK(s1 == 0 && s2 == 10);
	CHECK(b.len == 18);
	CHECK(be32_load(b.data) == 6);
	CHECK(be32_load(b.data + 4) == 7);
	CHECK(be32_load(b.data + s2) == 4);
	CHECK((int32_t)be32_load(b.data + s2 + 4) == -2);

	/* A frame begun after other data; end patches only its own prefix. */
	buf_clear(&b);
	buf_put(&b, "junk", 4);
	s1 = proto_frame_begin_request(&b, API_FETCH, 11, 99, "c");
	proto_put_bytes(&b, "xyz", 3);
	proto_frame_end(&b, s1);
	CHECK(s1 == 4 && memcmp(b.data, "junk", 4) == 0);
	CHECK(be32_load(b.data + 4) == b.len - 8);
	br_init(&r, b.data + 8, be32_load(b.data + 4));
	{
		struct proto_req_header h;

		proto_read_req_header(&r, &h);
		CHECK(h.api_key == API_FETCH && h.api_version == 11 &&
		    h.correlation_id == 99 && proto_str_eq(h.client_id, "c"));
		CHECK(proto_str_eq(proto_read_bytes(&r, false), "xyz"));
		CHECK(br_ok(&r) && br_left(&r) == 0);
	}

	/* A start past the end is ignored rather than writing out of bounds. */
	proto_frame_end(&b, b.len);
	proto_frame_end(&b, b.len - 3);
	CHECK(be32_load(b.data + 4) == b.len - 8);
	buf_release(&b);
}

static void
test_proto__frame_peek(void)
{
	static const struct {
		const char *bytes;	/* the size prefix, then some body */
		size_t avail;
		int32_t max;
		int rc;
		int32_t size;
	} cases[] = {
		{ "", 0, 100, 0, 0 },			/* nothing yet */
		{ "\0\0\0", 3, 100, 0, 0 },		/* no whole prefix */
		{ "\0\0\0\4", 4, 100, 0, 4 },	/* the body is missing */
		{ "\0\0\0\4abc", 7, 100, 0, 4 },	/* one byte short */
		{ "\0\0\0\4abcd", 8, 100, 1, 4 },	/* exactly one frame */
		{ "\0\0\0\4abcdXY", 10, 100, 1, 4 },	/* and more after it */
		{ "\0\0\0\3abc", 7, 100, -1, 0 },	/* no correlation id */
		{ "\xff\xff\xff\xff", 4, 100, -1, 0 },	/* negative */
		{ "\0\0\0\x65", 4, 100, -1, 0 },	/* above max */
		{ "\0\0\0\x64", 4, 100, 0, 100 },	/* max itself */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = dup_exact(cases[i].bytes, cases[i].avail);
		int32_t size = -7;
		int rc = proto_frame_peek(p, cases[i].avail, cases[i].max,
		    &size);

		CHECKF(rc == cases[i].rc && size == cases[i].size,
		    "case %zu: rc %d size %d", i, rc, (int)size);
		free(p);
	}
}

static void
test_proto__names(void)
{
	static const int kerrs[] = {
		KERR_UNKNOWN_SERVER_ERROR, KERR_NONE, KERR_OFFSET_OUT_OF_RANGE,
		KERR_CORRUPT_MESSAGE, KERR_UNKNOWN_TOPIC_OR_PARTITION,
		KERR_INVALID_FETCH_SIZE, KERR_LEADER_NOT_AVAILABLE,
		KERR_NOT_LEADER_OR_FOLLOWER, KERR_REQUEST_TIMED_OUT,
		KERR_BROKER_NOT_AVAILABLE, KERR_MESSAGE_TOO_LARGE,
		KERR_COORDINATOR_LOAD_IN_PROGRESS,
		KERR_COORDINATOR_NOT_AVAILABLE, KERR_NOT_COORDINATOR,
		KERR_INVALID_TOPIC_EXCEPTION, KERR_RECORD_LIST_TOO_LARGE,
		KERR_NOT_ENOUGH_REPLICAS, KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
		KERR_INVALID_REQUIRED_ACKS, KERR_ILLEGAL_GENERATION,
		KERR_INCONSISTENT_GROUP_PROTOCOL, KERR_INVALID_GROUP_ID,
		KERR_UNKNOWN_MEMBER_ID, KERR_INVALID_SESSION_TIMEOUT,
		KERR_REBALANCE_IN_PROGRESS, KERR_INVALID_TIMESTAMP,
		KERR_UNSUPPORTED_VERSION, KERR_TOPIC_ALREADY_EXISTS,
		KERR_INVALID_PARTITIONS, KERR_INVALID_REPLICATION_FACTOR,
		KERR_INVALID_REPLICA_ASSIGNMENT, KERR_INVALID_CONFIG,
		KERR_NOT_CONTROLLER, KERR_INVALID_REQUEST,
		KERR_POLICY_VIOLATION, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
		KERR_DUPLICATE_SEQUENCE_NUMBER, KERR_INVALID_PRODUCER_EPOCH,
		KERR_KAFKA_STORAGE_ERROR, KERR_UNKNOWN_PRODUCER_ID,
		KERR_NON_EMPTY_GROUP, KERR_GROUP_ID_NOT_FOUND,
		KERR_FENCED_LEADER_EPOCH, KERR_UNKNOWN_LEADER_EPOCH,
		KERR_UNSUPPORTED_COMPRESSION_TYPE, KERR_MEMBER_ID_REQUIRED,
		KERR_INVALID_RECORD,
	};
	static const int apis[] = {
		API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA,
		API_OFFSET_COMMIT, API_OFFSET_FETCH, API_FIND_COORDINATOR,
		API_JOIN_GROUP, API_HEARTBEAT, API_LEAVE_GROUP, API_SYNC_GROUP,
		API_DESCRIBE_GROUPS, API_LIST_GROUPS, API_SASL_HANDSHAKE,
		API_API_VERSIONS, API_CREATE_TOPICS, API_DELETE_TOPICS,
		API_DELETE_RECORDS, API_INIT_PRODUCER_ID,
		API_OFFSET_FOR_LEADER_EPOCH, API_DESCRIBE_CONFIGS,
		API_ALTER_CONFIGS, API_CREATE_PARTITIONS, API_DELETE_GROUPS,
	};
	const char *n;
	size_t i;

	/* Every code the header names has a name. */
	for (i = 0; i < sizeof(kerrs) / sizeof(kerrs[0]); i++)
		CHECKF(proto_error_name(kerrs[i]) != NULL, "error %d",
		    kerrs[i]);
	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		CHECKF(proto_api_name(apis[i]) != NULL, "api %d", apis[i]);

	/* Kafka's spelling, spot-checked. */
	n = proto_error_name(KERR_NONE);
	CHECK(n && strcmp(n, "NONE") == 0);
	n = proto_error_name(KERR_UNKNOWN_SERVER_ERROR);
	CHECK(n && strcmp(n, "UNKNOWN_SERVER_ERROR") == 0);
	n = proto_error_name(KERR_OFFSET_OUT_OF_RANGE);
	CHECK(n && strcmp(n, "OFFSET_OUT_OF_RANGE") == 0);
	n = proto_error_name(KERR_NOT_LEADER_OR_FOLLOWER);
	CHECK(n && strcmp(n, "NOT_LEADER_OR_FOLLOWER") == 0);
	n = proto_error_name(KERR_INVALID_RECORD);
	CHECK(n && strcmp(n, "INVALID_RECORD") == 0);
	n = proto_error_name(KERR_UNKNOWN_TOPIC_OR_PARTITION);
	CHECK(n && strcmp(n, "UNKNOWN_TOPIC_OR_PARTITION") == 0);
	n = proto_api_name(API_PRODUCE);
	CHECK(n && strcmp(n, "Produce") == 0);
	n = proto_api_name(API_API_VERSIONS);
	CHECK(n && strcmp(n, "ApiVersions") == 0);
	n = proto_api_name(API_OFFSET_FOR_LEADER_EPOCH);
	CHECK(n && strcmp(n, "OffsetForLeaderEpoch") == 0);
	n = proto_api_name(API_DELETE_GROUPS);
	CHECK(n && strcmp(n, "DeleteGroups") == 0);

	/* Unknown codes give NULL, never a neighbour's name. */
	CHECK(proto_error_name(-2) == NULL);
	CHECK(proto_error_name(11) == NULL);
	CHECK(proto_error_name(10000) == NULL);
	CHECK(proto_api_name(-1) == NULL);
	CHECK(proto_api_name(4) == NULL);
	CHECK(proto_api_name(API_KEY_MAX + 1) == NULL);
	CHECK(proto_api_name(32767) == NULL);
}

int
main(void)
{
	TEST(test_proto__req_header);
	TEST(test_proto__req_header_malformed);
	TEST(test_proto__strings);
	TEST(test_proto__bytes);
	TEST(test_proto__array_len);
	TEST(test_proto__put_and_read_back);
	TEST(test_proto__str_copy_eq);
	TEST(test_proto__frames);
	TEST(test_proto__frame_peek);
	TEST(test_proto__names);
	TEST_DONE();
}
