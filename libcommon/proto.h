/* SPDX-License-Identifier: MIT */
/*
 * Kafka wire protocol primitives shared by logd and the clients: frame
 * layout, request header v1 / response header v0, API keys, error codes,
 * and readers/writers for the non-flexible types (int16-length strings,
 * int32-length bytes, int32-counted arrays). Messages themselves are
 * decoded by their handlers with these, field by field, as the schemas in
 * Kafka's protocol guide list them.
 *
 * Frame: int32 size (bytes that follow), then
 *   request:  api_key i16, api_version i16, correlation_id i32,
 *             client_id nullable string, body
 *   response: correlation_id i32, body
 */
#ifndef KLOG_PROTO_H
#define KLOG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bytes.h"

enum proto_api_key {
	API_PRODUCE = 0,
	API_FETCH = 1,
	API_LIST_OFFSETS = 2,
	API_METADATA = 3,
	API_OFFSET_COMMIT = 8,
	API_OFFSET_FETCH = 9,
	API_FIND_COORDINATOR = 10,
	API_JOIN_GROUP = 11,
	API_HEARTBEAT = 12,
	API_LEAVE_GROUP = 13,
	API_SYNC_GROUP = 14,
	API_DESCRIBE_GROUPS = 15,
	API_LIST_GROUPS = 16,
	API_SASL_HANDSHAKE = 17,
	API_API_VERSIONS = 18,
	API_CREATE_TOPICS = 19,
	API_DELETE_TOPICS = 20,
	API_DELETE_RECORDS = 21,
	API_INIT_PRODUCER_ID = 22,
	API_OFFSET_FOR_LEADER_EPOCH = 23,
	API_DESCRIBE_CONFIGS = 32,
	API_ALTER_CONFIGS = 33,
	API_CREATE_PARTITIONS = 37,
	API_DELETE_GROUPS = 42,
	API_OFFSET_DELETE = 47,
	API_KEY_MAX = 74
};

/* Wire error codes (Kafka's numbering); see kafka-error-codes.txt. */
enum proto_error {
	KERR_UNKNOWN_SERVER_ERROR = -1,
	KERR_NONE = 0,
	KERR_OFFSET_OUT_OF_RANGE = 1,
	KERR_CORRUPT_MESSAGE = 2,
	KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
	KERR_INVALID_FETCH_SIZE = 4,
	KERR_LEADER_NOT_AVAILABLE = 5,
	KERR_NOT_LEADER_OR_FOLLOWER = 6,
	KERR_REQUEST_TIMED_OUT = 7,
	KERR_BROKER_NOT_AVAILABLE = 8,
	KERR_MESSAGE_TOO_LARGE = 10,
	KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
	KERR_COORDINATOR_NOT_AVAILABLE = 15,
	KERR_NOT_COORDINATOR = 16,
	KERR_INVALID_TOPIC_EXCEPTION = 17,
	KERR_RECORD_LIST_TOO_LARGE = 18,
	KERR_NOT_ENOUGH_REPLICAS = 19,
	KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
	KERR_INVALID_REQUIRED_ACKS = 21,
	KERR_ILLEGAL_GENERATION = 22,
	KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
	KERR_INVALID_GROUP_ID = 24,
	KERR_UNKNOWN_MEMBER_ID = 25,
	KERR_INVALID_SESSION_TIMEOUT = 26,
	KERR_REBALANCE_IN_PROGRESS = 27,
	KERR_INVALID_TIMESTAMP = 32,
	KERR_UNSUPPORTED_VERSION = 35,
	KERR_TOPIC_ALREADY_EXISTS = 36,
	KERR_INVALID_PARTITIONS = 37,
	KERR_INVALID_REPLICATION_FACTOR = 38,
	KERR_INVALID_REPLICA_ASSIGNMENT = 39,
	KERR_INVALID_CONFIG = 40,
	KERR_NOT_CONTROLLER = 41,
	KERR_INVALID_REQUEST = 42,
	KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
	KERR_POLICY_VIOLATION = 44,
	KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
	KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
	KERR_INVALID_PRODUCER_EPOCH = 47,
	KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
	KERR_KAFKA_STORAGE_ERROR = 56,
	KERR_TOPIC_DELETION_DISABLED = 73,
	KERR_UNKNOWN_PRODUCER_ID = 59,
	KERR_NON_EMPTY_GROUP = 68,
	KERR_GROUP_ID_NOT_FOUND = 69,
	KERR_FENCED_LEADER_EPOCH = 74,
	KERR_UNKNOWN_LEADER_EPOCH = 75,
	KERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
	KERR_STALE_BROKER_EPOCH = 77,
	KERR_MEMBER_ID_REQUIRED = 79,
	KERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
	KERR_INVALID_RECORD = 87,
	KERR_INVALID_UPDATE_VERSION = 95,
	KERR_INELIGIBLE_REPLICA = 107
};

/* Name of an error code ("OFFSET_OUT_OF_RANGE"), or NULL when unknown. */
const char *proto_error_name(int code);
/* Name of an API key ("Produce"), or NULL when unknown. */
const char *proto_api_name(int api_key);

/* A borrowed string or byte field; len -1 means null (p is then NULL). */
struct proto_str {
	const char *p;
	int32_t len;
};

struct proto_req_header {
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	struct proto_str client_id;
};

#define PROTO_FRAME_HEADER 4	/* the int32 size prefix */

/* Read header v1 fields from a request frame body (after the size). */
void proto_read_req_header(struct breader *r, struct proto_req_header *out);

/* int16 length + bytes; -1 is null. `nullable` false makes null a failure. */
struct proto_str proto_read_str(struct breader *r, bool nullable);
/* int32 length + bytes; -1 is null. */
struct proto_str proto_read_bytes(struct breader *r, bool nullable);
/*
 * An int32 array count: -1 (null) only when `nullable`; otherwise a count
 * no larger than the bytes left divided by `min_elem_size`, so a hostile
 * count can never size an allocation beyond the frame.
 */
int32_t proto_read_array_len(struct breader *r, bool nullable,
    size_t min_elem_size);
bool proto_read_bool(struct breader *r);

/* Copy a protocol string into a NUL-terminated buffer; false if it does not fit or is null. */
bool proto_str_copy(struct proto_str s, char *dst, size_t dst_size);
bool proto_str_eq(struct proto_str s, const char *cstr);

void proto_put_str(struct buf *b, const char *s, size_t len);
void proto_put_cstr(struct buf *b, const char *s);	/* NULL writes null */
void proto_put_bytes(struct buf *b, const void *p, int32_t len);	/* -1: null */
void proto_put_bool(struct buf *b, bool v);

/*
 * Start a frame in `b`: reserves the size prefix and writes the response
 * header v0 (or, for requests, header v1). Returns the frame's start for
 * proto_frame_end(), which patches the size.
 */
size_t proto_frame_begin_response(struct buf *b, int32_t correlation_id);
size_t proto_frame_begin_request(struct buf *b, int16_t api_key,
    int16_t api_version, int32_t correlation_id, const char *client_id);
void proto_frame_end(struct buf *b, size_t start);

/*
 * Look at the size-prefixed response frame at `p`, with `avail` bytes
 * there. Returns 1 when the whole frame is there, 0 when more bytes are
 * needed, -1 when its size is below 4 (no room for a correlation id) or
 * above `max`. *out_size is the size field (the bytes after it) once it
 * can be read and is in range, else 0.
 */
int proto_frame_peek(const uint8_t *p, size_t avail, int32_t max,
    int32_t *out_size);

#endif
