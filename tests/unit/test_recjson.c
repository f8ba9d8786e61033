/* SPDX-License-Identifier: MIT */
/*
 * The record envelope writer: exact output for records built with the
 * batch builder (null versus empty, text versus base64, headers in order
 * with duplicates and null values, both timestamp types), topic left out,
 * integer extremes, and malformed header bytes leaving the buffer as it
 * was.
 */
#include <stdint.h>
#include <string.h>

#include "recjson.h"
#include "util.h"
#include "tinytest.h"

static struct rec_bytes
B(const char *s)
{
	struct rec_bytes b = { (const uint8_t *)s,
	    s ? (int32_t)strlen(s) : -1 };

	return b;
}

static int
buf_is(const struct buf *b, const char *want)
{
	size_t n = strlen(want);

	return !b->failed && b->len == n && memcmp(b->data, want, n) == 0;
}

/* Build one batch, parse it, and write record `idx` as JSON into out. */
static void
envelope_of(struct buf *batch_bytes, int idx, const char *topic,
    int32_t partition, struct buf *out)
{
	struct rec_batch batch;
	struct rec_iter it;
	struct rec_record r;
	struct err e = { 0 };
	int i, rc = 1;

	CHECK(rec_batch_parse(batch_bytes->data, batch_bytes->len, &batch,
	    &e) == 0);
	rec_iter_init(&it, 1 << 20);
	CHECK(rec_iter_reset(&it, &batch, &e) == 0);
	for (i = 0; i <= idx && rc == 1; i++)
		rc = rec_iter_next(&it, &r, &e);
	CHECK(rc == 1);
	if (rc == 1)
		CHECKF(recjson_put_record(out, topic, partition, &batch, &r,
		    &e) == 0, "%s", e.msg);
	rec_iter_release(&it);
}

static void
sample(struct buf *out, bool log_append)
{
	static const uint8_t bin[4] = { 0x00, 0x01, 0xfe, 0xff };
	struct rec_bytes binary = { bin, 4 };
	struct rec_header h[3] = {
		{ B("trace"), B("abc") }, { B("x"), B(NULL) },
		{ B("trace"), binary },
	};
	struct rec_builder b;
	struct err e = { 0 };

	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	b.leader_epoch = 5;
	CHECK(rec_builder_add(&b, 1700000000000, B("user-17"), binary, h,
	    3) == 0);
	CHECK(rec_builder_add(&b, 1700000000001, B(NULL), B(""), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000002, B(""), B(NULL), NULL, 0) == 0);
	CHECK(rec_builder_add(&b, 1700000000003, B("q\"\\\n"), B("caf\xc3\xa9"),
	    NULL, 0) == 0);
	CHECK(rec_builder_finish(&b, out, &e) == 0);
	rec_builder_release(&b);
	rec_batch_set_base_offset(out->data, 42);
	if (log_append)
		rec_batch_set_log_append_time(out->data, out->len,
		    1800000000000);
}

static void
test_recjson__full_record(void)
{
	struct buf batch = BUF_INIT, out = BUF_INIT;

	sample(&batch, false);
	envelope_of(&batch, 0, "orders", 3, &out);
	CHECKF(buf_is(&out, "{\"topic\":\"orders\",\"partition\":3,"
	    "\"offset\":42,\"timestamp\":1700000000000,"
	    "\"timestamp_type\":\"create\",\"key\":\"user-17\","
	    "\"value\":{\"base64\":\"AAH+/w==\"},\"headers\":["
	    "{\"key\":\"trace\",\"value\":\"abc\"},"
	    "{\"key\":\"x\",\"value\":null},"
	    "{\"key\":\"trace\",\"value\":{\"base64\":\"AAH+/w==\"}}],"
	    "\"leader_epoch\":5}"), "%.*s", (int)out.len, out.data);
	buf_release(&batch);
	buf_release(&out);
}

static void
test_recjson__null_versus_empty(void)
{
	struct buf batch = BUF_INIT, out = BUF_INIT;

	sample(&batch, false);
	envelope_of(&batch, 1, "t", 0, &out);
	CHECKF(buf_is(&out, "{\"topic\":\"t\",\"partition\":0,\"offset\":43,"
	    "\"timestamp\":1700000000001,\"timestamp_type\":\"create\","
	    "\"key\":null,\"value\":\"\",\"headers\":[],\"leader_epoch\":5}"),
	    "%.*s", (int)out.len, out.data);
	buf_clear(&out);
	envelope_of(&batch, 2, "t", 0, &out);
	CHECKF(buf_is(&out, "{\"topic\":\"t\",\"partition\":0,\"offset\":44,"
	    "\"timestamp\":1700000000002,\"timestamp_type\":\"create\","
	    "\"key\":\"\",\"value\":null,\"headers\":[],\"leader_epoch\":5}"),
	    "%.*s", (int)out.len, out.data);
	buf_release(&batch);
	buf_release(&out);
}

static void
test_recjson__escapes_and_utf8(void)
{
	struct buf batch = BUF_INIT, out = BUF_INIT;

	sample(&batch, false);
	envelope_of(&batch, 3, "we\"ird", 1, &out);
	CHECKF(buf_is(&out, "{\"topic\":\"we\\\"ird\",\"partition\":1,"
	    "\"offset\":45,\"timestamp\":1700000000003,"
	    "\"timestamp_type\":\"create\",\"key\":\"q\\\"\\\\\\n\","
	    "\"value\":\"caf\xc3\xa9\",\"headers\":[],\"leader_epoch\":5}"),
	    "%.*s", (int)out.len, out.data);
	buf_release(&batch);
	buf_release(&out);
}

static void
test_recjson__no_topic_and_log_append(void)
{
	struct buf batch = BUF_INIT, out = BUF_INIT;

	sample(&batch, true);
	envelope_of(&batch, 1, NULL, 7, &out);
	CHECKF(buf_is(&out, "{\"offset\":43,\"timestamp\":1800000000000,"
	    "\"timestamp_type\":\"log_append\",\"key\":null,\"value\":\"\","
	    "\"headers\":[],\"leader_epoch\":5}"), "%.*s", (int)out.len,
	    out.data);
	buf_release(&batch);
	buf_release(&out);
}

static void
test_recjson__integer_extremes(void)
{
	struct rec_batch batch;
	struct rec_record r;
	struct buf out = BUF_INIT;
	struct err e = { 0 };

	memset(&batch, 0, sizeof(batch));
	memset(&r, 0, sizeof(r));
	batch.leader_epoch = -1;
	r.offset = INT64_MAX;
	r.timestamp = INT64_MIN;
	r.key.len = -1;
	r.value.len = -1;
	CHECK(recjson_put_record(&out, "t", INT32_MAX, &batch, &r, &e) == 0);
	CHECKF(buf_is(&out, "{\"topic\":\"t\",\"partition\":2147483647,"
	    "\"offset\":9223372036854775807,"
	    "\"timestamp\":-9223372036854775808,\"timestamp_type\":\"create\","
	    "\"key\":null,\"value\":null,\"headers\":[],\"leader_epoch\":-1}"),
	    "%.*s", (int)out.len, out.data);
	buf_release(&out);
}

static void
test_recjson__malformed_headers_leave_buffer(void)
{
	/* One header: key length 5 but only 2 bytes follow. */
	static const uint8_t bad[] = { 0x0a, 'a', 'b' };
	struct rec_batch batch;
	struct rec_record r;
	struct buf out = BUF_INIT;
	struct err e = { 0 };

	memset(&batch, 0, sizeof(batch));
	memset(&r, 0, sizeof(r));
	r.key.len = -1;
	r.value.len = -1;
	r.header_count = 1;
	r.headers = bad;
	r.headers_len = sizeof(bad);
	buf_put_str(&out, "kept");
	CHECK(recjson_put_record(&out, "t", 0, &batch, &r, &e) == -1);
	CHECK(e.code == EXIT_DATAERR);
	CHECK(buf_is(&out, "kept"));
	buf_release(&out);
}

static void
test_recjson__timestamp_type_names(void)
{
	struct rec_batch batch;

	memset(&batch, 0, sizeof(batch));
	CHECK(strcmp(recjson_timestamp_type(&batch), "create") == 0);
	batch.attributes = REC_ATTR_LOG_APPEND_TIME;
	CHECK(strcmp(recjson_timestamp_type(&batch), "log_append") == 0);
}

int
main(void)
{
	TEST(test_recjson__full_record);
	TEST(test_recjson__null_versus_empty);
	TEST(test_recjson__escapes_and_utf8);
	TEST(test_recjson__no_topic_and_log_append);
	TEST(test_recjson__integer_extremes);
	TEST(test_recjson__malformed_headers_leave_buffer);
	TEST(test_recjson__timestamp_type_names);
	TEST_DONE();
}
