/* SPDX-License-Identifier: MIT */
/*
 * throughput_admin: the topic administration bench/throughput needs and
 * no klog tool offers: CreateTopics with a partition count (so the timed
 * runs do not include auto-creation) and DeleteTopics (so a benchmark of
 * 24 topics of a gigabyte each does not fill the disk).
 *
 *   throughput_admin -b host:port create TOPIC PARTITIONS
 *   throughput_admin -b host:port delete TOPIC...
 *
 * Exit 0 when every topic was created or deleted, 1 with the error names
 * on stderr when not, 69 when the broker cannot be reached, 64 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "bytes.h"
#include "exitcode.h"
#include "log.h"
#include "proto.h"
#include "banned.h"

#define TIMEOUT_MS 30000

static const char usage_text[] =
    "usage: throughput_admin -b host:port create topic partitions\n"
    "       throughput_admin -b host:port delete topic...\n";

/* n bytes from the broker, or exit 69: a short read is a reset. */
static void
read_all(int fd, uint8_t *p, size_t n)
{
	ssize_t r = bench_read_full(fd, p, n);

	if (r == (ssize_t)n)
		return;
	if (r >= 0)
		errno = ECONNRESET;
	bench_die_errno(EXIT_UNAVAILABLE, "read");
}

/* Send the framed request in `b`; the response body (after the id) in `out`. */
static void
roundtrip(int fd, struct buf *b, struct buf *out)
{
	uint8_t h[4];
	int32_t size;

	if (b->failed)
		bench_die_errno(EXIT_OSERR, "out of memory");
	if (bench_write_all(fd, b->data, b->len) < 0)
		bench_die_errno(EXIT_UNAVAILABLE, "write");
	read_all(fd, h, 4);
	size = (int32_t)be32_load(h);
	if (size < 4 || size > (64 << 20))
		bench_die(EXIT_PROTOCOL, "bad response size %" PRId32, size);
	buf_clear(out);
	read_all(fd, buf_extend(out, (size_t)size), (size_t)size);
}

/* Check the [name, error_code] results; 0 if all NONE. */
static int
results(struct breader *r, bool have_throttle, bool have_message)
{
	int32_t n, i;
	int rc = 0;

	(void)br_i32(r);			/* correlation id */
	if (have_throttle)
		(void)br_i32(r);
	n = proto_read_array_len(r, false, 4);
	for (i = 0; i < n && br_ok(r); i++) {
		struct proto_str name = proto_read_str(r, false);
		int16_t code = br_i16(r);
		struct proto_str msg = { NULL, -1 };

		if (have_message)
			msg = proto_read_str(r, true);
		if (code != 0 && br_ok(r)) {
			const char *ename = proto_error_name(code);

			fprintf(stderr, "%s: topic '%.*s': %s%s%.*s\n",
			    prog_name(), (int)name.len, name.p,
			    ename ? ename : "error",
			    msg.len > 0 ? ": " : "", msg.len > 0 ?
			    (int)msg.len : 0, msg.len > 0 ? msg.p : "");
			rc = 1;
		}
	}
	if (!br_ok(r)) {
		fprintf(stderr, "%s: malformed response\n", prog_name());
		return EXIT_PROTOCOL;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct buf b = BUF_INIT, out = BUF_INIT;
	struct breader r;
	const char *broker = NULL;
	uint64_t parts;
	size_t start;
	int fd, ch, rc;

	prog_init(argv[0]);
	while ((ch = getopt(argc, argv, "b:h")) != -1) {
		switch (ch) {
		case 'b':
			broker = optarg;
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (broker == NULL || argc < 2 ||
	    (strcmp(argv[0], "create") == 0 && argc != 3) ||
	    (strcmp(argv[0], "create") != 0 && strcmp(argv[0], "delete") != 0)) {
		fprintf(stderr, "%s", usage_text);
		return EXIT_USAGE;
	}
	fd = bench_connect(broker, "");
	if (strcmp(argv[0], "create") == 0) {
		parts = bench_opt_u64("", "partitions", argv[2], 1, 100000);
		/* CreateTopics v1: topics, timeout_ms, validate_only */
		start = proto_frame_begin_request(&b, API_CREATE_TOPICS, 1, 1,
		    "throughput_admin");
		buf_put_i32(&b, 1);
		proto_put_cstr(&b, argv[1]);
		buf_put_i32(&b, (int32_t)parts);
		buf_put_i16(&b, 1);		/* replication factor */
		buf_put_i32(&b, 0);		/* assignments */
		buf_put_i32(&b, 0);		/* configs */
		buf_put_i32(&b, TIMEOUT_MS);
		proto_put_bool(&b, false);
		proto_frame_end(&b, start);
		roundtrip(fd, &b, &out);
		br_init(&r, out.data, out.len);
		rc = results(&r, false, true);
	} else {
		/* DeleteTopics v1: topic names, timeout_ms */
		start = proto_frame_begin_request(&b, API_DELETE_TOPICS, 1, 1,
		    "throughput_admin");
		buf_put_i32(&b, argc - 1);
		for (int i = 1; i < argc; i++)
			proto_put_cstr(&b, argv[i]);
		buf_put_i32(&b, TIMEOUT_MS);
		proto_frame_end(&b, start);
		roundtrip(fd, &b, &out);
		br_init(&r, out.data, out.len);
		rc = results(&r, true, false);
	}
	close(fd);
	buf_release(&b);
	buf_release(&out);
	return rc;
}
