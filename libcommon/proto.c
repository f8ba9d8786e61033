/* SPDX-License-Identifier: MIT */
/*
 * Kafka wire primitives (see proto.h).
 */
#include <string.h>

#include "proto.h"
#include "banned.h"

struct code_name {
	int code;
	const char *name;
};

static const struct code_name error_names[] = {
	{ -1, "UNKNOWN_SERVER_ERROR" }, { 0, "NONE" },
	{ 1, "OFFSET_OUT_OF_RANGE" }, { 2, "CORRUPT_MESSAGE" },
	{ 3, "UNKNOWN_TOPIC_OR_PARTITION" }, { 4, "INVALID_FETCH_SIZE" },
	{ 5, "LEADER_NOT_AVAILABLE" }, { 6, "NOT_LEADER_OR_FOLLOWER" },
	{ 7, "REQUEST_TIMED_OUT" }, { 8, "BROKER_NOT_AVAILABLE" },
	{ 9, "REPLICA_NOT_AVAILABLE" }, { 10, "MESSAGE_TOO_LARGE" },
	{ 13, "NETWORK_EXCEPTION" }, { 14, "COORDINATOR_LOAD_IN_PROGRESS" },
	{ 15, "COORDINATOR_NOT_AVAILABLE" }, { 16, "NOT_COORDINATOR" },
	{ 17, "INVALID_TOPIC_EXCEPTION" }, { 18, "RECORD_LIST_TOO_LARGE" },
	{ 19, "NOT_ENOUGH_REPLICAS" }, { 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND" },
	{ 21, "INVALID_REQUIRED_ACKS" }, { 22, "ILLEGAL_GENERATION" },
	{ 23, "INCONSISTENT_GROUP_PROTOCOL" }, { 24, "INVALID_GROUP_ID" },
	{ 25, "UNKNOWN_MEMBER_ID" }, { 26, "INVALID_SESSION_TIMEOUT" },
	{ 27, "REBALANCE_IN_PROGRESS" }, { 28, "INVALID_COMMIT_OFFSET_SIZE" },
	{ 29, "TOPIC_AUTHORIZATION_FAILED" }, { 30, "GROUP_AUTHORIZATION_FAILED" },
	{ 31, "CLUSTER_AUTHORIZATION_FAILED" }, { 32, "INVALID_TIMESTAMP" },
	{ 35, "UNSUPPORTED_VERSION" }, { 36, "TOPIC_ALREADY_EXISTS" },
	{ 37, "INVALID_PARTITIONS" }, { 38, "INVALID_REPLICATION_FACTOR" },
	{ 39, "INVALID_REPLICA_ASSIGNMENT" }, { 40, "INVALID_CONFIG" },
	{ 41, "NOT_CONTROLLER" }, { 42, "INVALID_REQUEST" },
	{ 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT" }, { 44, "POLICY_VIOLATION" },
	{ 45, "OUT_OF_ORDER_SEQUENCE_NUMBER" }, { 46, "DUPLICATE_SEQUENCE_NUMBER" },
	{ 47, "INVALID_PRODUCER_EPOCH" }, { 48, "INVALID_TXN_STATE" },
	{ 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" },
	{ 56, "KAFKA_STORAGE_ERROR" }, { 59, "UNKNOWN_PRODUCER_ID" },
	{ 68, "NON_EMPTY_GROUP" }, { 69, "GROUP_ID_NOT_FOUND" },
	{ 73, "TOPIC_DELETION_DISABLED" },
	{ 74, "FENCED_LEADER_EPOCH" }, { 75, "UNKNOWN_LEADER_EPOCH" },
	{ 76, "UNSUPPORTED_COMPRESSION_TYPE" }, { 77, "STALE_BROKER_EPOCH" },
	{ 78, "OFFSET_NOT_AVAILABLE" },
	{ 79, "MEMBER_ID_REQUIRED" }, { 82, "FENCED_INSTANCE_ID" },
	{ 86, "GROUP_SUBSCRIBED_TO_TOPIC" },
	{ 87, "INVALID_RECORD" }, { 89, "THROTTLING_QUOTA_EXCEEDED" },
	{ 90, "PRODUCER_FENCED" }, { 95, "INVALID_UPDATE_VERSION" },
	{ 107, "INELIGIBLE_REPLICA" },
};

static const struct code_name api_names[] = {
	{ 0, "Produce" }, { 1, "Fetch" }, { 2, "ListOffsets" },
	{ 3, "Metadata" }, { 8, "OffsetCommit" }, { 9, "OffsetFetch" },
	{ 10, "FindCoordinator" }, { 11, "JoinGroup" }, { 12, "Heartbeat" },
	{ 13, "LeaveGroup" }, { 14, "SyncGroup" }, { 15, "DescribeGroups" },
	{ 16, "ListGroups" }, { 17, "SaslHandshake" }, { 18, "ApiVersions" },
	{ 19, "CreateTopics" }, { 20, "DeleteTopics" }, { 21, "DeleteRecords" },
	{ 22, "InitProducerId" }, { 23, "OffsetForLeaderEpoch" },
	{ 32, "DescribeConfigs" }, { 33, "AlterConfigs" },
	{ 36, "SaslAuthenticate" }, { 37, "CreatePartitions" },
	{ 42, "DeleteGroups" }, { 47, "OffsetDelete" },
};

static const char *
lookup(const struct code_name *t, size_t n, int code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

const char *
proto_error_name(int code)
{
	return lookup(error_names, sizeof(error_names) / sizeof(error_names[0]),
	    code);
}

const char *
proto_api_name(int api_key)
{
	return lookup(api_names, sizeof(api_names) / sizeof(api_names[0]),
	    api_key);
}

struct proto_str
proto_read_str(struct breader *r, bool nullable)
{
	struct proto_str s = { NULL, -1 };
	int16_t len = br_i16(r);

	if (!br_ok(r))
		return s;
	if (len < 0) {
		if (len != -1 || !nullable)
			br_fail(r, "bad string length");
		return s;
	}
	s.p = (const char *)br_bytes(r, (size_t)len);
	s.len = s.p ? len : -1;
	return s;
}

struct proto_str
proto_read_bytes(struct breader *r, bool nullable)
{
	struct proto_str s = { NULL, -1 };
	int32_t len = br_i32(r);

	if (!br_ok(r))
		return s;
	if (len < 0) {
		if (len != -1 || !nullable)
			br_fail(r, "bad bytes length");
		return s;
	}
	s.p = (const char *)br_bytes(r, (size_t)len);
	s.len = s.p ? len : -1;
	return s;
}

int32_t
proto_read_array_len(struct breader *r, bool nullable, size_t min_elem_size)
{
	int32_t n = br_i32(r);

	if (!br_ok(r))
		return 0;
	if (n < 0) {
		if (n != -1 || !nullable) {
			br_fail(r, "bad array length");
			return 0;
		}
		return -1;
	}
	if (min_elem_size == 0)
		min_elem_size = 1;
	if ((size_t)n > br_left(r) / min_elem_size) {
		br_fail(r, "array length exceeds the frame");
		return 0;
	}
	return n;
}

bool
proto_read_bool(struct breader *r)
{
	return br_i8(r) != 0;
}

void
proto_read_req_header(struct breader *r, struct proto_req_header *out)
{
	out->api_key = br_i16(r);
	out->api_version = br_i16(r);
	out->correlation_id = br_i32(r);
	out->client_id = proto_read_str(r, true);
}

bool
proto_str_copy(struct proto_str s, char *dst, size_t dst_size)
{
	if (s.len < 0 || (size_t)s.len >= dst_size)
		return false;
	memcpy(dst, s.p, (size_t)s.len);
	dst[s.len] = '\0';
	return true;
}

bool
proto_str_eq(struct proto_str s, const char *cstr)
{
	size_t n = strlen(cstr);

	return s.len >= 0 && (size_t)s.len == n && memcmp(s.p, cstr, n) == 0;
}

void
proto_put_str(struct buf *b, const char *s, size_t len)
{
	if (len > INT16_MAX)
		len = INT16_MAX;
	buf_put_i16(b, (int16_t)len);
	buf_put(b, s, len);
}

void
proto_put_cstr(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_put_i16(b, -1);
		return;
	}
	proto_put_str(b, s, strlen(s));
}

void
proto_put_bytes(struct buf *b, const void *p, int32_t len)
{
	buf_put_i32(b, len < 0 ? -1 : len);
	if (len > 0)
		buf_put(b, p, (size_t)len);
}

void
proto_put_bool(struct buf *b, bool v)
{
	buf_put_i8(b, v ? 1 : 0);
}

size_t
proto_frame_begin_response(struct buf *b, int32_t correlation_id)
{
	size_t start = b->len;

	buf_put_i32(b, 0);
	buf_put_i32(b, correlation_id);
	return start;
}

size_t
proto_frame_begin_request(struct buf *b, int16_t api_key, int16_t api_version,
    int32_t correlation_id, const char *client_id)
{
	size_t start = b->len;

	buf_put_i32(b, 0);
	buf_put_i16(b, api_key);
	buf_put_i16(b, api_version);
	buf_put_i32(b, correlation_id);
	proto_put_cstr(b, client_id);
	return start;
}

void
proto_frame_end(struct buf *b, size_t start)
{
	if (b->failed || b->len < start + PROTO_FRAME_HEADER)
		return;
	be32_store(b->data + start,
	    (uint32_t)(b->len - start - PROTO_FRAME_HEADER));
}

int
proto_frame_peek(const uint8_t *p, size_t avail, int32_t max,
    int32_t *out_size)
{
	int32_t size;

	*out_size = 0;
	if (avail < 4)
		return 0;
	size = (int32_t)be32_load(p);
	if (size < 4 || size > max)
		return -1;
	*out_size = size;
	return avail >= 4 + (size_t)size;
}
