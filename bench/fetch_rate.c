/* SPDX-License-Identifier: MIT */
/*
 * fetch_rate: how fast logd serves one partition to a client that does
 * almost nothing, to hold against the sendfile-to-loopback limit of the
 * same machine (build/bench/sendfile_rate). One blocking connection sends
 * Fetch requests with a large partition limit (--max-bytes, 16 MiB by
 * default), --depth of them in flight (2: the next request is queued
 * before the answer to the current one is read), and reads the answers
 * with read(2) into a 4 MiB buffer, as sendfile_rate's reader does. Only
 * the response header and the 61-byte header of each record batch are
 * looked at (to count records and check offsets); the rest is skipped.
 *
 * First one untimed pass walks the partition from --offset to its high
 * watermark one Fetch at a time, recording where each answer starts and
 * how many records it holds (and warming the page cache). The timed part
 * then replays that plan, pipelined, pass after pass, until --seconds have
 * passed at a pass boundary; every answer must start at the planned offset
 * and hold the planned record count, so records = passes x records per
 * pass. Prints one key=value line (bytes are every byte read from the
 * socket, frames included; record_bytes the record sets alone; cpu_s this
 * process's user + system time in the timed part).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "bytes.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "record.h"
#include "banned.h"

#define READ_BUF (4u << 20)
#define CLIENT_ID "fetch_rate"

static const char usage_text[] =
    "usage: fetch_rate [-h] [-D depth] [-m max-bytes] [-o offset]"
    " [-p partition]\n"
    "                  [-s seconds] [-V version] -b host:port -t topic\n";

static const struct option long_opts[] = {
	{ "broker", required_argument, NULL, 'b' },
	{ "depth", required_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ "max-bytes", required_argument, NULL, 'm' },
	{ "offset", required_argument, NULL, 'o' },
	{ "partition", required_argument, NULL, 'p' },
	{ "seconds", required_argument, NULL, 's' },
	{ "topic", required_argument, NULL, 't' },
	{ "version", required_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/*
 * The socket's byte stream through one buffer: [r, w) is read and not yet
 * consumed; `consumed` counts every byte consumed, `got` every byte read.
 */
struct stream {
	int fd;
	uint8_t *buf;
	size_t cap, r, w;
	uint64_t consumed, got;
};

static size_t
read_some(struct stream *s, uint8_t *at, size_t room)
{
	ssize_t n;

	for (;;) {
		n = read(s->fd, at, room);
		if (n > 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			bench_die(EXIT_UNAVAILABLE,
			    "logd closed the connection");
		bench_die_errno(EXIT_OSERR, "read");
	}
	s->got += (uint64_t)n;
	return (size_t)n;
}

/* The next n (<= cap) bytes, contiguous; consumed. */
static const uint8_t *
take(struct stream *s, size_t n)
{
	const uint8_t *p;

	if (s->w - s->r < n) {
		if (s->cap - s->r < n) {
			memmove(s->buf, s->buf + s->r, s->w - s->r);
			s->w -= s->r;
			s->r = 0;
		}
		while (s->w - s->r < n)
			s->w += read_some(s, s->buf + s->w, s->cap - s->w);
	}
	p = s->buf + s->r;
	s->r += n;
	s->consumed += n;
	return p;
}

/* Look at the next n bytes without consuming them. */
static const uint8_t *
peek(struct stream *s, size_t n)
{
	const uint8_t *p = take(s, n);

	s->r -= n;
	s->consumed -= n;
	return p;
}

/* Consume and discard n bytes. */
static void
skip(struct stream *s, uint64_t n)
{
	size_t k;

	s->consumed += n;
	if (n <= s->w - s->r) {
		s->r += (size_t)n;
		return;
	}
	n -= s->w - s->r;
	s->r = s->w = 0;
	while (n > 0) {
		k = read_some(s, s->buf, s->cap);
		if (k > n) {
			s->r = (size_t)n;
			s->w = k;
			break;
		}
		n -= k;
	}
}

static int16_t
take_i16(struct stream *s)
{
	return (int16_t)be16_load(take(s, 2));
}

static int32_t
take_i32(struct stream *s)
{
	return (int32_t)be32_load(take(s, 4));
}

static int64_t
take_i64(struct stream *s)
{
	return (int64_t)be64_load(take(s, 8));
}

struct conf {
	const char *topic;
	int32_t partition;
	int32_t max_bytes;
	int16_t version;
};

static void
send_fetch(int fd, const struct conf *c, int32_t corr, int64_t offset)
{
	struct buf b = BUF_INIT;
	size_t start;
	int16_t v = c->version;

	start = proto_frame_begin_request(&b, API_FETCH, v, corr, CLIENT_ID);
	buf_put_i32(&b, -1);			/* replica_id: a consumer */
	buf_put_i32(&b, 0);			/* max_wait_ms */
	buf_put_i32(&b, 1);			/* min_bytes */
	buf_put_i32(&b, c->max_bytes);		/* max_bytes */
	buf_put_i8(&b, 0);			/* read_uncommitted */
	if (v >= 7) {
		buf_put_i32(&b, 0);		/* no fetch session */
		buf_put_i32(&b, -1);
	}
	buf_put_i32(&b, 1);			/* one topic */
	proto_put_cstr(&b, c->topic);
	buf_put_i32(&b, 1);			/* one partition */
	buf_put_i32(&b, c->partition);
	if (v >= 9)
		buf_put_i32(&b, -1);		/* current_leader_epoch */
	buf_put_i64(&b, offset);
	if (v >= 5)
		buf_put_i64(&b, -1);		/* log_start_offset */
	buf_put_i32(&b, c->max_bytes);		/* partition_max_bytes */
	if (v >= 7)
		buf_put_i32(&b, 0);		/* forgotten topics */
	if (v >= 11)
		proto_put_cstr(&b, "");		/* rack_id */
	proto_frame_end(&b, start);
	if (b.failed)
		bench_die(EXIT_OSERR, "out of memory");
	if (bench_write_all(fd, b.data, b.len) < 0)
		bench_die_errno(EXIT_OSERR, "write");
	buf_release(&b);
}

/* What one Fetch answer held. */
struct answer {
	int64_t first;		/* base offset of its first batch, -1 if none */
	int64_t next;		/* offset after its last whole batch */
	int64_t high_watermark;
	uint64_t records;
	uint64_t record_bytes;
};

/* Read one Fetch response, skipping everything but the batch headers. */
static void
read_answer(struct stream *s, const struct conf *c, int32_t corr,
    int64_t offset, struct answer *a)
{
	int32_t size, ntopics, nparts, naborted, len;
	int16_t v = c->version, error;
	uint64_t end, left;

	size = take_i32(s);
	if (size < 4)
		bench_die(EXIT_PROTOCOL, "bad frame size %" PRId32, size);
	end = s->consumed + (uint64_t)size;
	if (take_i32(s) != corr)
		bench_die(EXIT_PROTOCOL, "answer out of order");
	(void)take_i32(s);			/* throttle_time_ms */
	if (v >= 7) {
		if ((error = take_i16(s)) != 0)
			bench_die(EXIT_PROTOCOL, "Fetch failed: error %d (%s)",
			    error, proto_error_name(error) ?
			    proto_error_name(error) : "?");
		(void)take_i32(s);		/* session_id */
	}
	ntopics = take_i32(s);
	if (ntopics != 1)
		bench_die(EXIT_PROTOCOL, "%" PRId32 " topics in the answer",
		    ntopics);
	len = take_i16(s);
	if (len > 0)
		skip(s, (uint64_t)len);
	nparts = take_i32(s);
	if (nparts != 1)
		bench_die(EXIT_PROTOCOL, "%" PRId32
		    " partitions in the answer", nparts);
	(void)take_i32(s);			/* partition_index */
	error = take_i16(s);
	if (error != 0)
		bench_die(EXIT_PROTOCOL, "topic '%s' partition %" PRId32
		    " offset %" PRId64 ": error %d (%s)", c->topic,
		    c->partition, offset, error, proto_error_name(error) ?
		    proto_error_name(error) : "?");
	a->high_watermark = take_i64(s);
	(void)take_i64(s);			/* last_stable_offset */
	if (v >= 5)
		(void)take_i64(s);		/* log_start_offset */
	naborted = take_i32(s);
	if (naborted > 0)
		skip(s, (uint64_t)naborted * 16);
	if (v >= 11)
		(void)take_i32(s);		/* preferred_read_replica */
	len = take_i32(s);
	left = len > 0 ? (uint64_t)len : 0;
	if (s->consumed + left != end)
		bench_die(EXIT_PROTOCOL, "record set of %" PRId32
		    " bytes does not end the frame", len);
	a->first = -1;
	a->next = offset;
	a->records = 0;
	a->record_bytes = left;
	/* Whole batches; a trailing partial one is skipped uncounted. */
	while (left >= REC_BATCH_HEADER_SIZE) {
		const uint8_t *h = peek(s, REC_BATCH_HEADER_SIZE);
		int64_t base = (int64_t)be64_load(h + REC_OFF_BASE_OFFSET);
		uint64_t total = (uint64_t)be32_load(h + REC_OFF_LENGTH) +
		    REC_BATCH_LOG_OVERHEAD;

		if (total > left || total < REC_BATCH_HEADER_SIZE)
			break;
		if (a->first < 0)
			a->first = base;
		a->records += be32_load(h + REC_OFF_RECORD_COUNT);
		a->next = base +
		    (int32_t)be32_load(h + REC_OFF_LAST_OFFSET_DELTA) + 1;
		skip(s, total);
		left -= total;
	}
	skip(s, left);
}

struct plan {
	int64_t *offset;	/* where each Fetch of a pass starts */
	uint64_t *records;	/* and how many records it brings */
	size_t n, cap;
};

int
main(int argc, char **argv)
{
	struct err e = { 0, "" };
	struct conf c = { NULL, 0, 16 << 20, 11 };
	struct stream s;
	struct plan pl = { NULL, NULL, 0, 0 };
	struct answer a;
	const char *broker = NULL;
	uint64_t depth = 2, secs = 2, pass_records = 0, records = 0;
	uint64_t record_bytes = 0, fetches = 0, passes = 0, got0;
	int64_t offset = 0, start_offset = 0;
	size_t sent, done;
	double t0, t1, c0, c1;
	int ch;

	prog_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "b:D:hm:o:p:s:t:V:", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			broker = optarg;
			break;
		case 'D':
			depth = bench_opt_u64(usage_text, "--depth", optarg, 1,
			    64);
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		case 'm':
			c.max_bytes = (int32_t)bench_opt_size(usage_text,
			    "--max-bytes", optarg, 1024, 1ULL << 30);
			break;
		case 'o':
			if (opt_parse_i64("--offset", optarg, 0, INT64_MAX,
			    &start_offset, &e) < 0)
				log_usage(usage_text, "%s", e.msg);
			break;
		case 'p':
			c.partition = (int32_t)bench_opt_u64(usage_text,
			    "--partition", optarg, 0, INT32_MAX);
			break;
		case 's':
			secs = bench_opt_u64(usage_text, "--seconds", optarg, 0,
			    3600);
			break;
		case 't':
			c.topic = optarg;
			break;
		case 'V':
			c.version = (int16_t)bench_opt_u64(usage_text,
			    "--version", optarg, 4, 11);
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (broker == NULL || c.topic == NULL || optind != argc)
		log_usage(usage_text, "%s", optind != argc ?
		    "too many arguments" : "-b and -t are required");
	memset(&s, 0, sizeof(s));
	s.fd = bench_connect(broker, usage_text);
	net_set_nodelay(s.fd);
	s.cap = READ_BUF;
	if ((s.buf = malloc(s.cap)) == NULL)
		bench_die(EXIT_OSERR, "out of memory");

	/* The plan: one Fetch at a time up to the high watermark. */
	offset = start_offset;
	for (int32_t corr = 1;; corr++) {
		send_fetch(s.fd, &c, corr, offset);
		read_answer(&s, &c, corr, offset, &a);
		if (a.records == 0 || a.next <= offset)
			break;
		if (pl.n == pl.cap) {
			pl.cap = pl.cap ? pl.cap * 2 : 256;
			pl.offset = realloc(pl.offset, pl.cap *
			    sizeof(*pl.offset));
			pl.records = realloc(pl.records, pl.cap *
			    sizeof(*pl.records));
			if (pl.offset == NULL || pl.records == NULL)
				bench_die(EXIT_OSERR, "out of memory");
		}
		pl.offset[pl.n] = offset;
		pl.records[pl.n++] = a.records;
		pass_records += a.records;
		offset = a.next;
		if (offset >= a.high_watermark)
			break;
	}
	if (pl.n == 0)
		bench_die(EXIT_NOINPUT, "topic '%s' partition %" PRId32
		    " has no records from offset %" PRId64, c.topic,
		    c.partition, start_offset);

	/*
	 * Timed: fetch i of the stream is plan entry i % n; keep `depth` in
	 * flight; stop sending at the first pass boundary after `secs`.
	 */
	sent = done = 0;
	got0 = s.got;
	c0 = bench_cpu_s(RUSAGE_SELF);
	t0 = bench_now_s();
	bool stop = false;
	while (!stop || done < sent) {
		while (!stop && sent - done < depth) {
			if (sent % pl.n == 0 && sent > 0 &&
			    bench_now_s() - t0 >= (double)secs) {
				stop = true;
				break;
			}
			send_fetch(s.fd, &c, (int32_t)(sent & 0x7fffffff),
			    pl.offset[sent % pl.n]);
			sent++;
		}
		if (done == sent)
			break;
		size_t i = done % pl.n;

		read_answer(&s, &c, (int32_t)(done & 0x7fffffff),
		    pl.offset[i], &a);
		if (a.first != pl.offset[i] || a.records != pl.records[i])
			bench_die(EXIT_PROTOCOL, "Fetch at offset %" PRId64
			    " brought %" PRIu64 " records from offset %"
			    PRId64 ", the plan says %" PRIu64, pl.offset[i],
			    a.records, a.first, pl.records[i]);
		records += a.records;
		record_bytes += a.record_bytes;
		done++;
		if (done % pl.n == 0)
			passes++;
	}
	t1 = bench_now_s();
	c1 = bench_cpu_s(RUSAGE_SELF);
	fetches = done;
	if (records != passes * pass_records)
		bench_die(EXIT_SOFTWARE, "%" PRIu64 " records in %" PRIu64
		    " passes of %" PRIu64, records, passes, pass_records);
	printf("records_per_pass=%" PRIu64 " fetches_per_pass=%zu passes=%"
	    PRIu64 " fetches=%" PRIu64 " records=%" PRIu64 " bytes=%" PRIu64
	    " record_bytes=%" PRIu64 " secs=%.3f mb_per_s=%.1f gb_per_s=%.2f"
	    " records_per_s=%.0f cpu_s=%.3f max_bytes=%" PRId32 " depth=%"
	    PRIu64 " version=%d\n", pass_records, pl.n, passes, fetches,
	    records, s.got - got0, record_bytes, t1 - t0,
	    (double)(s.got - got0) / 1e6 / (t1 - t0),
	    (double)(s.got - got0) / 1e9 / (t1 - t0),
	    (double)records / (t1 - t0), c1 - c0, c.max_bytes, depth,
	    c.version);
	close(s.fd);
	free(s.buf);
	free(pl.offset);
	free(pl.records);
	return EXIT_OK;
}
