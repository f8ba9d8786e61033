/* SPDX-License-Identifier: MIT */
/*
 * Request dispatch: the table of APIs logd advertises (only those that
 * work, only non-flexible versions) and ApiVersions itself. An unknown
 * API or version closes the connection, as Kafka does, except for
 * ApiVersions, which answers newer versions with UNSUPPORTED_VERSION in
 * the v0 layout and keeps the connection (KIP-511; librdkafka relies on it).
 */
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "logd.h"
#include "banned.h"

typedef enum handle_result (*handler_fn)(struct req *);

struct api_entry {
	int16_t key;
	int16_t min;
	int16_t max;
	handler_fn fn;
};

static enum handle_result handle_api_versions(struct req *q);

static const struct api_entry apis[] = {
	{ API_PRODUCE, 0, 7, handle_produce },
	{ API_FETCH, 4, 11, handle_fetch },
	{ API_LIST_OFFSETS, 0, 3, handle_list_offsets },
	{ API_METADATA, 0, 6, handle_metadata },
	{ API_OFFSET_COMMIT, 2, 7, handle_offset_commit },
	{ API_OFFSET_FETCH, 1, 5, handle_offset_fetch },
	{ API_FIND_COORDINATOR, 0, 2, handle_find_coordinator },
	{ API_JOIN_GROUP, 0, 5, handle_join_group },
	{ API_HEARTBEAT, 0, 3, handle_heartbeat },
	{ API_LEAVE_GROUP, 0, 3, handle_leave_group },
	{ API_SYNC_GROUP, 0, 3, handle_sync_group },
	{ API_DESCRIBE_GROUPS, 0, 4, handle_describe_groups },
	{ API_LIST_GROUPS, 0, 2, handle_list_groups },
	{ API_API_VERSIONS, 0, 2, handle_api_versions },
	{ API_CREATE_TOPICS, 0, 4, handle_create_topics },
	{ API_DELETE_TOPICS, 0, 3, handle_delete_topics },
	{ API_INIT_PRODUCER_ID, 0, 1, handle_init_producer_id },
	{ API_OFFSET_FOR_LEADER_EPOCH, 0, 3, handle_offset_for_leader_epoch },
	{ API_DESCRIBE_CONFIGS, 0, 2, handle_describe_configs },
	{ API_CREATE_PARTITIONS, 0, 1, handle_create_partitions },
	{ API_DELETE_GROUPS, 0, 1, handle_delete_groups },
	{ API_OFFSET_DELETE, 0, 0, handle_offset_delete },
};

/*
 * Private APIs (docs/cluster-protocol.md), answered only on replica.sock
 * connections and never listed in ApiVersions; on the client port they
 * are unknown keys like any other.
 */
static const struct api_entry private_apis[] = {
	{ (int16_t)API_KLOG_REPLICA_STATE, 0, 0, handle_replica_state },
	{ (int16_t)API_KLOG_REPLICA_APPEND, 0, 0, handle_replica_append },
	{ (int16_t)API_KLOG_REPLICA_TRUNCATE, 0, 0, handle_replica_truncate },
};

static const struct api_entry *
api_find(int16_t key, bool replica_conn)
{
	size_t i;

	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		if (apis[i].key == key)
			return &apis[i];
	for (i = 0; replica_conn && i < sizeof(private_apis) /
	    sizeof(private_apis[0]); i++)
		if (private_apis[i].key == key)
			return &private_apis[i];
	return NULL;
}

static enum handle_result
handle_api_versions(struct req *q)
{
	struct buf *b = q->out;
	size_t i;

	if (q->hdr.api_version > 2) {
		buf_put_i16(b, KERR_UNSUPPORTED_VERSION);
		buf_put_i32(b, 1);
		buf_put_i16(b, API_API_VERSIONS);
		buf_put_i16(b, 0);
		buf_put_i16(b, 2);
		return HANDLE_DONE;
	}
	buf_put_i16(b, KERR_NONE);
	buf_put_i32(b, (int32_t)(sizeof(apis) / sizeof(apis[0])));
	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		buf_put_i16(b, apis[i].key);
		buf_put_i16(b, apis[i].min);
		buf_put_i16(b, apis[i].max);
	}
	if (q->hdr.api_version >= 1)
		buf_put_i32(b, 0);	/* throttle_time_ms */
	return HANDLE_DONE;
}

enum handle_result
logd_dispatch(struct req *q)
{
	const struct api_entry *api = api_find(q->hdr.api_key, q->c->replica);
	enum handle_result res;
	size_t start, files = 0, i;

	if (api == NULL) {
		q->close_reason = "unknown API key";
		return HANDLE_CLOSE;
	}
	if (api->key != API_API_VERSIONS &&
	    (q->hdr.api_version < api->min || q->hdr.api_version > api->max)) {
		q->close_reason = "unsupported API version";
		return HANDLE_CLOSE;
	}
	q->resp = resp_new();
	if (q->resp == NULL) {
		q->close_reason = "out of memory";
		return HANDLE_CLOSE;
	}
	q->out = &q->resp->mem;
	start = proto_frame_begin_response(q->out, q->hdr.correlation_id);
	res = api->fn(q);
	if (res != HANDLE_DONE || q->resp == NULL)
		return res;
	if (q->out->failed) {
		q->close_reason = "out of memory building the response";
		return HANDLE_CLOSE;
	}
	/* The size prefix counts the file slices spliced into the frame. */
	for (i = 0; i < q->resp->nfiles; i++)
		files += q->resp->files[i].len;
	be32_store(q->out->data + start,
	    (uint32_t)(q->out->len + files - start - PROTO_FRAME_HEADER));
	return HANDLE_DONE;
}

void
logd_api_versions_print(void)
{
	size_t i;

	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		printf("  %-16s key %2d  versions %d-%d\n",
		    proto_api_name(apis[i].key), apis[i].key, apis[i].min,
		    apis[i].max);
}
