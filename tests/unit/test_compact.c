/* SPDX-License-Identifier: MIT */
/*
 * Log compaction (plog_compact, cleaner.h): every pass is checked record
 * by record against a model of what Kafka's cleaner keeps (the latest
 * record per key, tombstones until their delete horizon, records without
 * a key, everything past the mapped range), and batch by batch for
 * preserved offsets and producer fields. Also: every codec, the dirty
 * ratio, a small offset map, the high watermark, reads, time lookups,
 * truncation and retention on cleaned segments, a crash before every file
 * operation of the swap (and inside the renames), read-only opens, the
 * cleaner checkpoint in a data directory, throttling, the key digest and
 * the offset map. The pass in steps (as logd's cleaner thread runs it):
 * steps on another thread while the log is appended to and read, commits
 * refused after a record deletion, truncation or retention changed the
 * log, a stop at every point, and old segments' descriptors surviving
 * their swap.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "bytes.h"
#include "cleaner.h"
#include "ckpt.h"
#include "logdir.h"
#include "logtest.h"
#include "plog.h"
#include "record.h"
#include "tinytest.h"
#include "util.h"

#define MAXR 12000
#define MAXB 4000
#define MAX_INFLATE (64u << 20)
#define TS0 1700000000000LL

static char root[64];

/* One record as the test wrote it. */
struct mrec {
	int64_t offset;
	int key;		/* -1: null key */
	int val;		/* -1: tombstone (null value) */
	int64_t ts;
	int64_t horizon;	/* the delete horizon its batch got, -1 */
	bool alive;
};

/* One batch as the test wrote it. */
struct mbatch {
	int64_t base, last;
	int64_t pid;
	int16_t epoch;
	int32_t seq;
};

struct model {
	struct mrec r[MAXR];
	int n;
	struct mbatch b[MAXB];
	int nb;
};

/* What reading the log back gives. */
struct seen {
	struct mrec r[MAXR];
	int n;
	struct {
		int64_t base, last, pid, base_ts, max_ts;
		int16_t epoch, attr;
		int32_t seq, count;
		int64_t seg;
	} b[MAXB];
	int nb;
};

static struct model M, OLD;
static struct seen S;

static void
mkdir_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", root, name);
	lt_rmrf(buf);
}

/* Segments of ~`seg` bytes, dense indexes. */
static void
config(struct plog_config *c, int64_t seg)
{
	plog_config_init(c);
	c->segment_bytes = seg;
	c->index_interval_bytes = 128;
	c->index_max_bytes = 1 << 16;
	c->retention_ms = -1;
}

static void
opts(struct plog_compact_opts *o, int64_t now)
{
	plog_compact_opts_init(o);
	o->min_cleanable_ratio = 0.0;
	o->delete_retention_ms = 1000;
	o->now_ms = now;
}

/*
 * Append one batch: record i has key keys[i] (-1 null) and value vals[i]
 * (-1 tombstone); producer fields when pid >= 0.
 */
static int
append_keys(struct plog *log, struct model *m, enum compress_codec codec,
    int64_t pid, int16_t epoch, int32_t seq, const int *keys,
    const int *vals, int n)
{
	struct plog_append_info info;
	struct rec_builder b;
	struct buf out = BUF_INIT;
	struct err e;
	char k[32], v[64];
	int i, r = 0;

	rec_builder_init(&b, codec, COMPRESS_LEVEL_DEFAULT);
	b.producer_id = pid;
	b.producer_epoch = pid >= 0 ? epoch : -1;
	b.base_sequence = pid >= 0 ? seq : -1;
	for (i = 0; i < n && r == 0; i++) {
		struct rec_bytes kb = { NULL, -1 }, vb = { NULL, -1 };

		if (keys[i] >= 0)
			kb = (struct rec_bytes){ (const uint8_t *)k,
			    snprintf(k, sizeof(k), "key-%d", keys[i]) };
		if (vals[i] >= 0)
			vb = (struct rec_bytes){ (const uint8_t *)v,
			    snprintf(v, sizeof(v), "value-%d-padpadpadpad",
			    vals[i]) };
		r = rec_builder_add(&b, TS0 + m->n + i, kb, vb, NULL, 0);
	}
	if (r == 0)
		r = rec_builder_finish(&b, &out, &e);
	rec_builder_release(&b);
	if (r == 0)
		r = plog_append(log, out.data, out.len,
		    PLOG_APPEND_ASSIGN_OFFSETS, 0, &info, &e);
	buf_release(&out);
	if (r < 0 || m->n + n > MAXR || m->nb >= MAXB)
		return -1;
	for (i = 0; i < n; i++) {
		struct mrec *x = &m->r[m->n + i];

		x->offset = info.first_offset + i;
		x->key = keys[i];
		x->val = vals[i];
		x->ts = TS0 + m->n + i;
		x->horizon = -1;
		x->alive = true;
	}
	m->b[m->nb].base = info.first_offset;
	m->b[m->nb].last = info.last_offset;
	m->b[m->nb].pid = pid;
	m->b[m->nb].epoch = epoch;
	m->b[m->nb].seq = seq;
	m->nb++;
	m->n += n;
	return 0;
}

/*
 * `nb` batches of `per` records, keys key0 + (record number % nkeys),
 * values the record number.
 */
static int
fill_from(struct plog *log, struct model *m, enum compress_codec codec,
    int nb, int per, int nkeys, int key0)
{
	int keys[64], vals[64], i, j;

	for (i = 0; i < nb; i++) {
		for (j = 0; j < per; j++) {
			keys[j] = key0 + (m->n + j) % nkeys;
			vals[j] = m->n + j;
		}
		if (append_keys(log, m, codec, -1, 0, 0, keys, vals, per) < 0)
			return -1;
	}
	return 0;
}

static int
fill(struct plog *log, struct model *m, enum compress_codec codec, int nb,
    int per, int nkeys)
{
	return fill_from(log, m, codec, nb, per, nkeys, 0);
}

static int
parse_num(const uint8_t *p, int32_t len, const char *prefix)
{
	char tmp[64];
	size_t n = strlen(prefix);

	if (len < 0 || (size_t)len >= sizeof(tmp) || (size_t)len <= n ||
	    memcmp(p, prefix, n) != 0)
		return -2;
	memcpy(tmp, p, (size_t)len);
	tmp[len] = '\0';
	return (int)strtol(tmp + n, NULL, 10);
}

/* Read every batch and record of the log through plog_read. */
static int
read_log(struct plog *log, struct seen *s)
{
	int64_t off = plog_start_offset(log), end = plog_end_offset(log);
	struct rec_iter it;
	struct err e;
	int r = -1;

	s->n = 0;
	s->nb = 0;
	rec_iter_init(&it, MAX_INFLATE);
	while (off < end) {
		struct plog_slice sl;
		uint8_t *buf;
		size_t pos = 0;

		if (plog_read(log, off, 1 << 20, end, &sl, &e) != 0 ||
		    sl.length == 0)
			goto out;
		buf = malloc(sl.length);
		if (buf == NULL || pread(sl.fd, buf, sl.length,
		    (off_t)sl.position) != (ssize_t)sl.length) {
			free(buf);
			goto out;
		}
		while (pos < sl.length) {
			struct rec_batch b;
			struct rec_record rec;
			int rc;

			if (rec_batch_parse(buf + pos, sl.length - pos, &b,
			    &e) < 0 || rec_batch_validate_iter(&it, &b, 0,
			    &e) < 0 || s->nb >= MAXB) {
				printf("# bad batch at %zu: %s\n", pos, e.msg);
				free(buf);
				goto out;
			}
			s->b[s->nb].base = b.base_offset;
			s->b[s->nb].last = rec_batch_last_offset(&b);
			s->b[s->nb].pid = b.producer_id;
			s->b[s->nb].epoch = b.producer_epoch;
			s->b[s->nb].seq = b.base_sequence;
			s->b[s->nb].count = b.record_count;
			s->b[s->nb].attr = b.attributes;
			s->b[s->nb].base_ts = b.base_timestamp;
			s->b[s->nb].max_ts = b.max_timestamp;
			s->b[s->nb].seg = -1;
			s->nb++;
			rec_iter_reset(&it, &b, &e);
			while ((rc = rec_iter_next(&it, &rec, &e)) == 1) {
				struct mrec *x = &s->r[s->n];

				if (s->n >= MAXR)
					break;
				x->offset = rec.offset;
				x->key = rec.key.len < 0 ? -1 :
				    parse_num(rec.key.data, rec.key.len,
				    "key-");
				x->val = rec.value.len < 0 ? -1 :
				    parse_num(rec.value.data, rec.value.len,
				    "value-");
				x->ts = rec.timestamp;
				x->horizon = (b.attributes &
				    REC_ATTR_DELETE_HORIZON) ?
				    b.base_timestamp : -1;
				x->alive = true;
				s->n++;
			}
			pos += b.size;
			off = rec_batch_last_offset(&b) + 1;
		}
		free(buf);
	}
	r = 0;
out:
	rec_iter_release(&it);
	return r;
}

/* The log holds exactly the model's live records. */
static void
check_model(struct plog *log, const struct model *m, const char *what)
{
	int i, j = 0, bad = 0;

	CHECKF(read_log(log, &S) == 0, "%s: log unreadable", what);
	for (i = 0; i < m->n && bad < 5; i++) {
		const struct mrec *x = &m->r[i];

		if (!x->alive)
			continue;
		if (j >= S.n || S.r[j].offset != x->offset ||
		    S.r[j].key != x->key || S.r[j].val != x->val ||
		    S.r[j].ts != x->ts) {
			CHECKF(0, "%s: record %d: expected offset %" PRId64
			    " key %d val %d, got offset %" PRId64 " key %d "
			    "val %d", what, j, x->offset, x->key, x->val,
			    j < S.n ? S.r[j].offset : -1,
			    j < S.n ? S.r[j].key : -9,
			    j < S.n ? S.r[j].val : -9);
			bad++;
		}
		j++;
	}
	CHECKF(bad > 0 || j == S.n, "%s: %d records, expected %d", what, S.n,
	    j);
	for (i = 1; i < S.nb; i++)
		CHECK(S.b[i].base > S.b[i - 1].last);
}

/*
 * kdump-segment --verify finds nothing wrong in dir (when the program is
 * built: the unit tests run from the top of the tree).
 */
static void
check_kdump(const char *dir)
{
	char cmd[512];
	int r;

	if (access("bin/kdump-segment", X_OK) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "bin/kdump-segment -q -C '%s' >/dev/null "
	    "2>&1", dir);
	r = system(cmd);
	CHECKF(r == 0, "kdump-segment -C %s: status %d", dir, r);
}

static int
count_alive(const struct model *m)
{
	int i, n = 0;

	for (i = 0; i < m->n; i++)
		n += m->r[i].alive;
	return n;
}

/* Base of the first segment at or above `offset` (the log end if none). */
static int64_t
seg_at_or_above(struct plog *log, int64_t offset)
{
	struct plog_segment_info si;
	struct err e;
	size_t i;

	for (i = 0; i < plog_segment_count(log); i++)
		if (plog_segment_info(log, i, &si, &e) == 0 &&
		    si.base_offset >= offset)
			return si.base_offset;
	return plog_end_offset(log);
}

/*
 * Apply one pass to the model: below map_end, the latest live record of
 * each key stays (tombstones until their horizon has passed); live
 * tombstones in the segments the pass rewrote get a horizon.
 */
static void
model_pass(struct model *m, int64_t map_end, int64_t rewritten_end,
    int64_t now, int64_t retention)
{
	static int64_t latest[MAXR];
	int i;

	for (i = 0; i < MAXR; i++)
		latest[i] = -1;
	for (i = 0; i < m->n; i++) {
		const struct mrec *x = &m->r[i];

		if (x->alive && x->key >= 0 && x->offset < map_end &&
		    x->offset > latest[x->key])
			latest[x->key] = x->offset;
	}
	for (i = 0; i < m->n; i++) {
		struct mrec *x = &m->r[i];

		if (!x->alive || x->offset >= rewritten_end)
			continue;
		if (x->key >= 0 && x->offset < map_end) {
			if (x->offset < latest[x->key] || (x->val < 0 &&
			    x->horizon >= 0 && now >= x->horizon)) {
				x->alive = false;
				continue;
			}
		}
		if (x->val < 0 && x->horizon < 0)
			x->horizon = now + retention;
	}
}

/* Run a pass and apply it to the model; returns plog_compact's value. */
static int
compact(struct plog *log, struct model *m, const struct plog_compact_opts *o,
    struct plog_compact_result *res, struct err *e)
{
	int r = plog_compact(log, o, res, e);

	if (r == 0 && res->ran)
		model_pass(m, res->checkpoint, seg_at_or_above(log,
		    res->checkpoint), o->now_ms, o->delete_retention_ms);
	return r;
}

/* Reading from every offset gives the batch holding the next survivor. */
static void
check_reads(struct plog *log, const struct model *m)
{
	int64_t off, end = plog_end_offset(log);
	int i = 0, bad = 0;

	for (off = plog_start_offset(log); off < end && bad < 3; off++) {
		struct plog_slice sl;
		struct rec_batch b;
		uint8_t hdr[REC_BATCH_HEADER_SIZE];
		struct err e;

		while (i < m->n && (!m->r[i].alive || m->r[i].offset < off))
			i++;
		if (plog_read(log, off, 1, end, &sl, &e) != 0 ||
		    sl.length < REC_BATCH_HEADER_SIZE ||
		    pread(sl.fd, hdr, sizeof(hdr), (off_t)sl.position) !=
		    (ssize_t)sizeof(hdr)) {
			CHECKF(0, "read at %" PRId64 " failed", off);
			bad++;
			continue;
		}
		be32_store(hdr + REC_OFF_LENGTH, REC_BATCH_HEADER_SIZE - 12);
		CHECK(rec_batch_parse(hdr, sizeof(hdr), &b, &e) == 0);
		/* the batch holds or follows `off`; no survivor is skipped */
		if (rec_batch_last_offset(&b) < off ||
		    (i < m->n && b.base_offset > m->r[i].offset)) {
			CHECKF(0, "read at %" PRId64 ": batch %" PRId64 "..%"
			    PRId64, off, b.base_offset,
			    rec_batch_last_offset(&b));
			bad++;
		}
	}
}

/* Time lookups find the first live record at or after a timestamp. */
static void
check_times(struct plog *log, const struct model *m)
{
	int i, j, bad = 0;

	for (i = 0; i < m->n && bad < 3; i += 7) {
		int64_t ts = m->r[i].ts, off, got_ts;
		struct err e;
		int r;

		for (j = i; j < m->n && !m->r[j].alive; j++)
			continue;
		r = plog_offset_for_timestamp(log, ts, &off, &got_ts, &e);
		if (j == m->n) {
			CHECK(r == 0);
			continue;
		}
		if (r != 1 || off != m->r[j].offset || got_ts != m->r[j].ts) {
			CHECKF(0, "time %" PRId64 ": r %d offset %" PRId64
			    ", expected %" PRId64, ts, r, r == 1 ? off : -1,
			    m->r[j].offset);
			bad++;
		}
	}
}

static void
test_compact__digest_and_map(void)
{
	struct cln_digest a, b;
	struct cln_map m;
	struct err e;
	int i, stored = 0;

	/* MurmurHash3 x64 128 reference values */
	cln_murmur3_128("", 0, 0, &a);
	CHECK(a.h1 == 0 && a.h2 == 0);
	cln_murmur3_128("hello", 5, 0, &a);
	CHECKF(a.h1 == 0xcbd8a7b341bd9b02ULL && a.h2 == 0x5b1e906a48ae1d19ULL,
	    "%016" PRIx64 "%016" PRIx64, a.h1, a.h2);
	cln_murmur3_128("The quick brown fox jumps over the lazy dog", 43, 0,
	    &a);
	CHECKF(a.h1 == 0xe34bbc7bbc071b6cULL && a.h2 == 0x7a433ca9c49a9347ULL,
	    "%016" PRIx64 "%016" PRIx64, a.h1, a.h2);
	/* every tail length differs */
	for (i = 0; i < 40; i++) {
		char k[40];

		memset(k, 'x', sizeof(k));
		cln_digest(k, (size_t)i, &a);
		cln_digest(k, (size_t)i + 1, &b);
		CHECK(a.h1 != b.h1 || a.h2 != b.h2);
	}
	/* too small for one key */
	CHECK(cln_map_init(&m, CLN_SLOT_BYTES, 100, &e) == -1 &&
	    e.code == EXIT_USAGE);
	/* 10 slots hold 9 keys; an existing key can always be updated */
	CHECK(cln_map_init(&m, 10 * CLN_SLOT_BYTES, 1000, &e) == 0);
	CHECK(m.nslots == 10 && m.limit == 9);
	for (i = 0; i < 20; i++) {
		char k[16];

		cln_digest(k, (size_t)snprintf(k, sizeof(k), "k%d", i), &a);
		stored += cln_map_put(&m, &a, 100 + i);
	}
	CHECK(stored == 9 && m.count == 9);
	cln_digest("k3", 2, &a);
	CHECK(cln_map_get(&m, &a) == 103);
	CHECK(cln_map_put(&m, &a, 500) == 1 && cln_map_get(&m, &a) == 500);
	cln_digest("k15", 3, &a);
	CHECK(cln_map_get(&m, &a) == -1);
	cln_map_release(&m);
	/* sized down to the keys expected */
	CHECK(cln_map_init(&m, 1 << 20, 90, &e) == 0);
	CHECK(m.nslots < 110 && m.limit >= 90);
	cln_map_release(&m);
}

/* Build one batch of tombstones or values for keys k<first>.. at `base`. */
static void
one_batch(struct buf *out, int64_t base, int first, int n, bool tombstones,
    int16_t attributes)
{
	struct rec_builder b;
	struct err e;
	char k[16];
	int i;

	rec_builder_init(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT);
	b.attributes = attributes;
	b.base_offset = base;
	for (i = 0; i < n; i++) {
		struct rec_bytes kb = { (const uint8_t *)k,
		    snprintf(k, sizeof(k), "k%d", first + i) };
		struct rec_bytes vb = { (const uint8_t *)"v", tombstones ? -1 :
		    1 };

		if (tombstones)
			vb.data = NULL;
		CHECK(rec_builder_add(&b, TS0 + i, kb, vb, NULL, 0) == 0);
	}
	CHECK(rec_builder_finish(&b, out, &e) == 0);
	rec_builder_release(&b);
}

/* The batch filter's outcomes, one by one. */
static void
test_compact__filter_batch(void)
{
	struct cln_batch_result br;
	struct cln_filter f;
	struct cln_digest d;
	struct cln_map m;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct rec_batch b, x;
	struct err e;
	char k[16];
	int i;

	CHECK(cln_map_init(&m, 1 << 16, 100, &e) == 0);
	/* k0..k9 latest at offsets 100..109 */
	for (i = 0; i < 10; i++) {
		cln_digest(k, (size_t)snprintf(k, sizeof(k), "k%d", i), &d);
		CHECK(cln_map_put(&m, &d, 100 + i) == 1);
	}
	cln_filter_init(&f, MAX_INFLATE);
	f.map = &m;
	f.map_end = 200;
	f.now_ms = 5000;
	f.delete_retention_ms = 100;

	/* all superseded: dropped, or emptied when asked */
	one_batch(&in, 10, 0, 5, false, 0);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_DROPPED && out.len == 0);
	CHECK(br.records_read == 5 && br.records_removed == 5);
	CHECK(cln_filter_batch(&f, &b, true, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_EMPTIED && out.len == REC_BATCH_HEADER_SIZE);
	CHECK(rec_batch_parse(out.data, out.len, &x, &e) == 0);
	CHECK(x.base_offset == 10 && rec_batch_last_offset(&x) == 14 &&
	    x.record_count == 0);
	/* the latest values, past the map or not: copied as they are */
	buf_clear(&in);
	buf_clear(&out);
	one_batch(&in, 105, 5, 5, false, 0);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_COPIED && out.len == in.len &&
	    memcmp(out.data, in.data, in.len) == 0);
	/* a control batch is never touched */
	buf_clear(&in);
	buf_clear(&out);
	one_batch(&in, 10, 0, 2, false, REC_ATTR_CONTROL);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_COPIED && out.len == in.len);
	/* latest tombstones: rebuilt with a horizon, then copied, dropped */
	buf_clear(&in);
	buf_clear(&out);
	one_batch(&in, 105, 5, 5, true, 0);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_REBUILT && br.records_kept == 5);
	CHECK(rec_batch_parse(out.data, out.len, &x, &e) == 0);
	CHECK((x.attributes & REC_ATTR_DELETE_HORIZON) &&
	    x.base_timestamp == 5100);
	CHECK(out.len > in.len);	/* wider timestamp deltas */
	buf_clear(&in);
	buf_put(&in, out.data, out.len);
	buf_clear(&out);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	f.now_ms = 5099;
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_COPIED && br.tombstones_dropped == 0);
	buf_clear(&out);
	f.now_ms = 5100;
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_DROPPED && br.tombstones_dropped == 5);
	/* a rebuild that would grow past max_batch_bytes keeps the original */
	buf_clear(&in);
	buf_clear(&out);
	one_batch(&in, 105, 5, 5, true, 0);
	CHECK(rec_batch_parse(in.data, in.len, &b, &e) == 0);
	f.now_ms = 5000;
	f.max_batch_bytes = in.len;
	CHECK(cln_filter_batch(&f, &b, false, &out, &br, &e) == 0);
	CHECK(br.outcome == CLN_COPIED && out.len == in.len &&
	    memcmp(out.data, in.data, in.len) == 0);
	CHECK(br.records_kept == 5 && br.records_removed == 0);
	cln_filter_release(&f);
	cln_map_release(&m);
	buf_release(&in);
	buf_release(&out);
}

/* Many updates of a few keys shrink to the latest per key. */
static void
test_compact__latest_per_key(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	uint64_t before;
	size_t nseg;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "latest");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 200, 10, 37) == 0);
	nseg = plog_segment_count(log);
	before = plog_size(log);
	CHECKF(nseg > 10, "%zu segments", nseg);
	opts(&o, TS0 + 100000);
	CHECKF(compact(log, &M, &o, &res, &e) == 0, "%s", e.msg);
	CHECK(res.ran && !res.map_full);
	CHECK(res.first_dirty_offset == 0);
	CHECK(res.checkpoint == res.first_uncleanable_offset);
	CHECK(plog_cleaner_checkpoint(log) == res.checkpoint);
	CHECK(res.segments_cleaned == (int)nseg - 1);
	CHECK(res.records_read == res.records_kept + res.records_removed);
	CHECK(res.bytes_after < res.bytes_before / 5);
	CHECK(plog_size(log) < before);
	CHECK(res.keys_mapped == 37);
	check_model(log, &M, "after one pass");
	check_reads(log, &M);
	check_times(log, &M);
	/* at most one record per key below the checkpoint */
	CHECKF(count_alive(&M) <= 37 + (int)(M.n - res.checkpoint),
	    "%d alive", count_alive(&M));
	/* reopened, cleanly and not */
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	check_model(log, &M, "reopened");
	check_reads(log, &M);
	plog_free(log);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_CLEAN, NULL, &log, &e) == 0);
	check_model(log, &M, "reopened clean");
	/* nothing dirty: nothing to do */
	plog_set_cleaner_checkpoint(log, res.checkpoint);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && !res.ran);
	/* more updates: the clean part is cleaned again with them */
	CHECK(fill(log, &M, COMPRESS_NONE, 150, 10, 53) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.checkpoint == plog_end_offset(log));
	check_model(log, &M, "second pass");
	CHECK(count_alive(&M) == 53);
	check_reads(log, &M);
	check_times(log, &M);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/* The ratio gates a pass; the high watermark bounds it. */
static void
test_compact__ratio_and_bound(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	size_t nseg;
	int64_t hw;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "ratio");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 100, 10, 20) == 0);
	opts(&o, TS0);
	/* an empty log, or one with only the active segment: nothing */
	nseg = plog_segment_count(log);
	/* half the log is dirty when the checkpoint is in the middle */
	plog_set_cleaner_checkpoint(log, 500);
	o.min_cleanable_ratio = 0.9;
	CHECK(compact(log, &M, &o, &res, &e) == 0);
	CHECK(!res.ran && res.dirty_ratio > 0.3 && res.dirty_ratio < 0.7);
	CHECK(plog_segment_count(log) == nseg);
	CHECK(plog_cleaner_checkpoint(log) == 500);
	check_model(log, &M, "below the ratio");
	/* a checkpoint past the end counts as none: all dirty */
	plog_set_cleaner_checkpoint(log, 1 << 30);
	o.first_uncleanable_offset = 0;
	CHECK(compact(log, &M, &o, &res, &e) == 0 && !res.ran);
	CHECK(res.first_dirty_offset == 0 && res.dirty_ratio == 0.0);
	/* the high watermark: its segment and later ones stay */
	o.min_cleanable_ratio = 0.5;
	hw = 600;
	o.first_uncleanable_offset = hw;
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.first_uncleanable_offset <= hw);
	CHECK(res.checkpoint == res.first_uncleanable_offset);
	CHECK(seg_at_or_above(log, res.checkpoint) == res.checkpoint);
	check_model(log, &M, "bounded");
	{
		int i;

		for (i = 0; i < M.n; i++)
			if (M.r[i].offset >= res.checkpoint)
				CHECK(M.r[i].alive);
	}
	check_reads(log, &M);
	CHECK(plog_close(log, &e) == 0);
}

/* Tombstones stay until delete.retention.ms after their first pass. */
static void
test_compact__tombstones(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int keys[10], vals[10], i, n;
	int64_t t0 = TS0 + 1000000;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "tombstones");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 60, 10, 30) == 0);
	/* delete keys 0..9 */
	for (i = 0; i < 10; i++) {
		keys[i] = i;
		vals[i] = -1;
	}
	CHECK(append_keys(log, &M, COMPRESS_NONE, -1, 0, 0, keys, vals,
	    10) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, t0);
	o.delete_retention_ms = 5000;
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.tombstones_dropped == 0);
	check_model(log, &M, "tombstones kept");
	/* the deleted keys are down to their tombstones, with a horizon */
	for (i = 0, n = 0; i < S.n; i++) {
		if (S.r[i].key >= 0 && S.r[i].key < 10) {
			CHECK(S.r[i].val == -1 && S.r[i].horizon == t0 + 5000);
			n++;
		}
	}
	CHECK(n == 10);
	/* before the horizon they stay (new data has other keys) */
	CHECK(fill_from(log, &M, COMPRESS_NONE, 5, 10, 30, 100) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	o.now_ms = t0 + 4999;
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.tombstones_dropped == 0);
	check_model(log, &M, "before the horizon");
	/* at the horizon they go */
	CHECK(fill_from(log, &M, COMPRESS_NONE, 1, 5, 30, 200) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	o.now_ms = t0 + 5000;
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	check_model(log, &M, "after the horizon");
	for (i = 0, n = 0; i < S.n; i++)
		n += S.r[i].val == -1;
	CHECKF(n == 0 && res.tombstones_dropped == 10, "%d tombstones left, "
	    "%" PRIu64 " dropped", n, res.tombstones_dropped);
	for (i = 0; i < S.n; i++)
		CHECK(S.r[i].key >= 10);
	check_reads(log, &M);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/*
 * Batches keep base and last offsets and producer fields; an emptied
 * batch stays (without records) only as a producer's last or its group's
 * last.
 */
static void
test_compact__batch_fields(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int keys[8], vals[8], i, j, k, empties = 0;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "fields");
	config(&c, 1 << 20);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	/* pid 7: one batch of keys 0..3; pid 8: two batches */
	for (i = 0; i < 4; i++) {
		keys[i] = i;
		vals[i] = i;
	}
	CHECK(append_keys(log, &M, COMPRESS_NONE, 7, 2, 100, keys, vals,
	    4) == 0);
	keys[0] = 10;
	CHECK(append_keys(log, &M, COMPRESS_NONE, 8, 1, 0, keys, vals, 1) == 0);
	keys[0] = 11;
	CHECK(append_keys(log, &M, COMPRESS_NONE, 8, 1, 1, keys, vals, 1) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	/* a batch that keeps only its middle record */
	for (i = 0; i < 5; i++) {
		keys[i] = 20 + i;
		vals[i] = 100 + i;
	}
	CHECK(append_keys(log, &M, COMPRESS_NONE, 9, 0, 50, keys, vals,
	    5) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	/* supersede keys 0..3, 10, 20, 21, 23, 24 */
	for (i = 0; i < 4; i++) {
		keys[i] = i;
		vals[i] = 1000 + i;
	}
	keys[4] = 10;
	vals[4] = 1010;
	CHECK(append_keys(log, &M, COMPRESS_NONE, -1, 0, 0, keys, vals,
	    5) == 0);
	keys[0] = 20;
	keys[1] = 21;
	keys[2] = 23;
	keys[3] = 24;
	CHECK(append_keys(log, &M, COMPRESS_NONE, 9, 0, 55, keys, vals,
	    4) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	memcpy(&OLD, &M, sizeof(OLD));
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	check_model(log, &M, "fields");
	/* one group: the pid 8 first batch went, pid 7's stayed empty */
	CHECK(res.segments_written == 1 && res.segments_cleaned == 3);
	for (i = 0; i < S.nb; i++) {
		for (j = 0; j < OLD.nb; j++)
			if (OLD.b[j].base == S.b[i].base)
				break;
		CHECKF(j < OLD.nb, "batch %" PRId64 " unknown", S.b[i].base);
		if (j == OLD.nb)
			continue;
		CHECK(S.b[i].last == OLD.b[j].last);
		CHECK(S.b[i].pid == OLD.b[j].pid);
		if (OLD.b[j].pid >= 0)
			CHECK(S.b[i].epoch == OLD.b[j].epoch &&
			    S.b[i].seq == OLD.b[j].seq);
		if (S.b[i].count == 0) {
			empties++;
			/* only pid 7's batch (its last) went empty */
			CHECK(S.b[i].pid == 7 && S.b[i].base == 0 &&
			    S.b[i].last == 3);
		}
	}
	CHECK(empties == 1);
	/* pid 8's first batch (offset 4) is gone, its second stays */
	for (i = 0, k = 0; i < S.nb; i++)
		k += S.b[i].base == 4 ? 1 : S.b[i].base == 5 ? 10 : 0;
	CHECK(k == 10);
	/* the 5-record batch kept its base and last offsets around key 22 */
	for (i = 0; i < S.nb; i++)
		if (S.b[i].pid == 9 && S.b[i].seq == 50)
			CHECK(S.b[i].base == 6 && S.b[i].last == 10 &&
			    S.b[i].count == 1);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/* Several groups: each cleaned segment still ends where its group did. */
static void
test_compact__groups(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog_segment_info si, sn;
	struct plog *log;
	struct err e;
	char dir[128];
	size_t i, before;
	int k;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "groups");
	config(&c, 2048);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	/* small segments (rolled) group together; full ones do not */
	for (k = 0; k < 12; k++) {
		CHECK(fill(log, &M, COMPRESS_NONE, 1, 3, 4) == 0);
		CHECK(plog_roll(log, 0, &e) == 0);
	}
	CHECK(fill(log, &M, COMPRESS_NONE, 40, 5, 4) == 0);
	before = plog_segment_count(log);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECKF(res.segments_written > 1 && res.segments_written <
	    res.segments_cleaned, "%d written for %d", res.segments_written,
	    res.segments_cleaned);
	CHECK(plog_segment_count(log) == before -
	    (size_t)(res.segments_cleaned - res.segments_written));
	check_model(log, &M, "groups");
	/* segment i's last batch ends right below segment i + 1 */
	for (i = 0; i + 2 < plog_segment_count(log); i++) {
		int64_t last = -1;
		int j;

		CHECK(plog_segment_info(log, i, &si, &e) == 0);
		CHECK(plog_segment_info(log, i + 1, &sn, &e) == 0);
		for (j = 0; j < S.nb; j++)
			if (S.b[j].base >= si.base_offset &&
			    S.b[j].base < sn.base_offset)
				last = S.b[j].last;
		CHECKF(last == sn.base_offset - 1, "segment %zu ends at %"
		    PRId64 ", next at %" PRId64, i, last, sn.base_offset);
	}
	check_reads(log, &M);
	check_times(log, &M);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/* Every codec: rebuilt batches keep theirs, records stay exact. */
static void
test_compact__codecs(void)
{
	static const enum compress_codec codecs[] = { COMPRESS_NONE,
		COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD };
	size_t ci;

	for (ci = 0; ci < sizeof(codecs) / sizeof(codecs[0]); ci++) {
		struct plog_compact_result res;
		struct plog_compact_opts o;
		struct plog_config c;
		struct plog *log;
		struct err e;
		char dir[128], name[32];
		int i, rebuilt = 0;

		memset(&M, 0, sizeof(M));
		snprintf(name, sizeof(name), "codec-%zu", ci);
		mkdir_in(dir, sizeof(dir), name);
		config(&c, 4096);
		CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
		CHECK(fill(log, &M, codecs[ci], 80, 20, 45) == 0);
		CHECK(plog_roll(log, 0, &e) == 0);
		opts(&o, TS0);
		CHECKF(compact(log, &M, &o, &res, &e) == 0 && res.ran, "%s",
		    e.msg);
		check_model(log, &M, compress_codec_name(codecs[ci]));
		for (i = 0; i < S.nb; i++) {
			CHECK((S.b[i].attr & REC_ATTR_COMPRESSION_MASK) ==
			    (S.b[i].count == 0 ? 0 : (int)codecs[ci]));
			rebuilt += S.b[i].count > 0 && S.b[i].count < 20;
		}
		CHECK(rebuilt > 0);
		CHECK(count_alive(&M) == 45);
		check_reads(log, &M);
		CHECK(plog_close(log, &e) == 0);
		check_kdump(dir);
	}
}

/* A map too small for the dirty part cleans a prefix, then the rest. */
static void
test_compact__small_map(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t prev = 0, fu;
	int passes = 0;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "smallmap");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	/* 300 distinct keys, then updates of them */
	CHECK(fill(log, &M, COMPRESS_LZ4, 30, 10, 1000) == 0);
	CHECK(fill(log, &M, COMPRESS_LZ4, 30, 10, 300) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	fu = plog_end_offset(log);
	opts(&o, TS0);
	o.offset_map_bytes = 100 * CLN_SLOT_BYTES;	/* 90 keys */
	do {
		CHECKF(compact(log, &M, &o, &res, &e) == 0 && res.ran, "%s",
		    e.msg);
		CHECK(res.first_dirty_offset == prev);
		CHECK(res.checkpoint > prev);
		CHECK(res.keys_mapped <= 90);
		CHECK(res.map_full == (res.checkpoint < fu));
		CHECK(plog_cleaner_checkpoint(log) == res.checkpoint);
		check_model(log, &M, "small map");
		prev = res.checkpoint;
	} while (res.map_full && ++passes < 100);
	CHECKF(prev == fu, "checkpoint %" PRId64 " after %d passes", prev,
	    passes);
	CHECK(passes > 3);
	/* now everything below is one record per key */
	CHECK(count_alive(&M) == 300);
	check_reads(log, &M);
	/* a map with no room at all is refused */
	CHECK(fill(log, &M, COMPRESS_LZ4, 3, 10, 300) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	o.offset_map_bytes = CLN_SLOT_BYTES;
	CHECK(plog_compact(log, &o, &res, &e) == -1 && e.code == EXIT_USAGE);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/* Records without a key stay; control batches stay as they were. */
static void
test_compact__null_keys(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int keys[4] = { -1, 1, -1, 1 }, vals[4] = { 0, 1, 2, 3 }, i;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "nullkeys");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (i = 0; i < 10; i++)
		CHECK(append_keys(log, &M, COMPRESS_NONE, -1, 0, 0, keys, vals,
		    4) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	check_model(log, &M, "null keys");
	CHECK(count_alive(&M) == 21);
	CHECK(plog_close(log, &e) == 0);
}

/* Truncation, retention and time lookups on cleaned segments. */
static void
test_compact__then_truncate_and_retain(void)
{
	struct plog_retention_result rr;
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_segment_info si;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t cut;
	int i;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "truncate");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_GZIP, 120, 10, 200) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	check_model(log, &M, "before truncation");
	/* cut in the middle of the cleaned part */
	cut = res.checkpoint / 2;
	for (i = 0; i < M.n && M.r[i].offset < cut; i++)
		continue;
	for (; i < M.n && !M.r[i].alive; i++)
		continue;
	CHECK(i < M.n);
	cut = M.r[i].offset;
	CHECK(plog_truncate_to(log, cut, &e) == 0);
	/* everything from the batch holding `cut` on went */
	for (i = 0; i < M.n; i++)
		if (M.r[i].offset >= cut)
			M.r[i].alive = false;
	CHECK(read_log(log, &S) == 0);
	{
		int64_t end = plog_end_offset(log);

		for (i = 0; i < M.n; i++)
			if (M.r[i].offset >= end)
				M.r[i].alive = false;
	}
	check_model(log, &M, "truncated");
	check_times(log, &M);
	/* the log goes on, and retention by size drops cleaned segments */
	CHECK(fill(log, &M, COMPRESS_GZIP, 5, 10, 200) == 0);
	check_model(log, &M, "appended after truncation");
	c.retention_bytes = 1;
	CHECK(plog_set_config(log, &c, &e) == 0);
	CHECK(plog_retention(log, TS0, INT64_MAX, &rr, &e) == 0);
	CHECK(rr.deleted_by_size > 0 && plog_segment_count(log) == 1);
	CHECK(plog_segment_info(log, 0, &si, &e) == 0 && si.active);
	for (i = 0; i < M.n; i++)
		if (M.r[i].offset < plog_start_offset(log))
			M.r[i].alive = false;
	check_model(log, &M, "after retention");
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);
}

/* The log a crash test starts from: one group of 4 small segments. */
static void
crash_log(const char *dir, struct plog **logp)
{
	struct plog_config c;
	struct err e;
	int k;

	memset(&M, 0, sizeof(M));
	config(&c, 1 << 20);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, logp, &e) == 0);
	for (k = 0; k < 4; k++) {
		CHECK(fill(*logp, &M, k % 2 ? COMPRESS_ZSTD : COMPRESS_NONE,
		    6, 5, 9) == 0);
		CHECK(plog_roll(*logp, 0, &e) == 0);
	}
	CHECK(fill(*logp, &M, COMPRESS_NONE, 2, 5, 9) == 0);
	memcpy(&OLD, &M, sizeof(OLD));
}

/* No *.cleaned, *.swap or *.deleted is left in dir. */
static void
check_no_leftovers(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	CHECK(dp != NULL);
	if (dp == NULL)
		return;
	while ((d = readdir(dp)) != NULL)
		CHECKF(strstr(d->d_name, ".cleaned") == NULL &&
		    strstr(d->d_name, ".swap") == NULL &&
		    strstr(d->d_name, ".deleted") == NULL, "left: %s",
		    d->d_name);
	closedir(dp);
}

static int
rename_in(const char *dir, const char *from, const char *to)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	return rename(a, b);
}

/*
 * Reopen after a simulated crash: read-only first (the files as they
 * are), then for real; both must show the old set or the new one.
 * Returns 1 for the new set, 0 for the old, -1 for neither.
 */
static int
reopen_after_crash(const char *dir, const struct model *old,
    const struct model *new, size_t nseg_old, size_t nseg_new)
{
	struct plog_report rep;
	struct plog_config c;
	struct plog *log;
	struct err e;
	int which = -1, ro;
	int fails = tt_failed_checks;

	config(&c, 1 << 20);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_READONLY, NULL, &log,
	    &e) == 0);
	if (log == NULL)
		return -1;
	ro = plog_segment_count(log) == nseg_new;
	check_model(log, ro ? new : old, "read-only after a crash");
	plog_free(log);
	CHECKF(plog_open(dir, &c, 0, 0, 0, &rep, &log, &e) == 0, "%s", e.msg);
	which = plog_segment_count(log) == nseg_new ? 1 :
	    plog_segment_count(log) == nseg_old ? 0 : -1;
	CHECK(which == ro);
	check_model(log, which == 1 ? new : old, which == 1 ? "new set" :
	    "old set");
	CHECK(rep.swaps_completed <= 1);
	check_reads(log, which == 1 ? new : old);
	CHECK(plog_close(log, &e) == 0);
	check_no_leftovers(dir);
	check_kdump(dir);
	return tt_failed_checks == fails ? which : -1;
}

/* A crash before each file operation of the swap, and inside renames. */
static void
test_compact__crash_at_every_step(void)
{
	static struct model NEW;
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog *log;
	struct err e;
	char dir[128], name[32], a[64], b[64];
	size_t nseg_old, nseg_new;
	unsigned step;
	int r, which, last = -1, olds = 0, news = 0;

	/* the reference run */
	mkdir_in(dir, sizeof(dir), "crash-ref");
	crash_log(dir, &log);
	nseg_old = plog_segment_count(log);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.segments_cleaned == 4 && res.segments_written == 1);
	nseg_new = plog_segment_count(log);
	memcpy(&NEW, &M, sizeof(NEW));
	check_model(log, &NEW, "reference");
	CHECK(plog_close(log, &e) == 0);

	for (step = 1; step < 100; step++) {
		snprintf(name, sizeof(name), "crash-%u", step);
		mkdir_in(dir, sizeof(dir), name);
		crash_log(dir, &log);
		o.crash_at = step;
		r = plog_compact(log, &o, &res, &e);
		if (r == 0) {
			/* past the last operation: a normal pass */
			CHECK(res.ran && plog_segment_count(log) == nseg_new);
			check_model(log, &NEW, "no crash");
			CHECK(plog_close(log, &e) == 0);
			break;
		}
		CHECKF(e.code == EXIT_SOFTWARE &&
		    strstr(e.msg, "simulated crash") != NULL, "%s", e.msg);
		/* the failed log refuses more work */
		CHECK(plog_compact(log, &o, &res, &e) == -1);
		plog_free(log);
		which = reopen_after_crash(dir, &OLD, &NEW, nseg_old,
		    nseg_new);
		CHECKF(which >= 0, "step %u", step);
		/* once new, never old again */
		CHECKF(which >= last, "step %u went back to the old set",
		    step);
		last = which;
		olds += which == 0;
		news += which == 1;
	}
	CHECKF(step > 10 && olds >= 1 && news >= 3, "%u steps, %d old, %d new",
	    step, olds, news);

	/* .cleaned -> .swap half done (indexes renamed): the old set */
	mkdir_in(dir, sizeof(dir), "crash-half-swap");
	crash_log(dir, &log);
	o.crash_at = 1;
	CHECK(plog_compact(log, &o, &res, &e) == -1);
	plog_free(log);
	snprintf(a, sizeof(a), "%020d.index.cleaned", 0);
	snprintf(b, sizeof(b), "%020d.index.swap", 0);
	CHECK(rename_in(dir, a, b) == 0);
	snprintf(a, sizeof(a), "%020d.timeindex.cleaned", 0);
	snprintf(b, sizeof(b), "%020d.timeindex.swap", 0);
	CHECK(rename_in(dir, a, b) == 0);
	CHECK(reopen_after_crash(dir, &OLD, &NEW, nseg_old, nseg_new) == 0);

	/* .swap -> final half done (.log renamed): the new set */
	mkdir_in(dir, sizeof(dir), "crash-half-final");
	crash_log(dir, &log);
	o.crash_at = 2 + 4 * 3 * 2;	/* before the rename to final names */
	CHECK(plog_compact(log, &o, &res, &e) == -1);
	plog_free(log);
	snprintf(a, sizeof(a), "%020d.log.swap", 0);
	snprintf(b, sizeof(b), "%020d.log", 0);
	CHECK(rename_in(dir, a, b) == 0);
	CHECK(reopen_after_crash(dir, &OLD, &NEW, nseg_old, nseg_new) == 1);

	/* an uncommitted .swap beside a .cleaned goes too */
	mkdir_in(dir, sizeof(dir), "crash-stale-swap");
	crash_log(dir, &log);
	o.crash_at = 1;
	CHECK(plog_compact(log, &o, &res, &e) == -1);
	plog_free(log);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/%020d.log.swap", dir, 0);
		CHECK(lt_write_file(p, "garbage", 7) == 0);
	}
	CHECK(reopen_after_crash(dir, &OLD, &NEW, nseg_old, nseg_new) == 0);
}

/* Crashes with several groups: each group is swapped on its own. */
static void
test_compact__crash_with_groups(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], name[32];
	unsigned step;
	int k, i, j;

	opts(&o, TS0);
	config(&c, 2048);
	for (step = 1; step < 200; step++) {
		int latest[64];

		memset(&M, 0, sizeof(M));
		snprintf(name, sizeof(name), "gcrash-%u", step);
		mkdir_in(dir, sizeof(dir), name);
		CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
		for (k = 0; k < 3; k++)
			CHECK(fill(log, &M, COMPRESS_NONE, 13, 5, 31) == 0);
		CHECK(plog_roll(log, 0, &e) == 0);
		o.crash_at = step;
		if (plog_compact(log, &o, &res, &e) == 0) {
			CHECK(res.segments_written > 1);
			CHECK(plog_close(log, &e) == 0);
			break;
		}
		plog_free(log);
		CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
		/* every survivor is an original; every key's latest is there */
		CHECK(read_log(log, &S) == 0);
		for (k = 0; k < 31; k++)
			latest[k] = -1;
		for (i = 0; i < M.n; i++)
			latest[M.r[i].key] = i;
		for (i = 0, j = 0; i < S.n; i++) {
			while (j < M.n && M.r[j].offset < S.r[i].offset)
				j++;
			CHECK(j < M.n && M.r[j].offset == S.r[i].offset &&
			    M.r[j].key == S.r[i].key &&
			    M.r[j].val == S.r[i].val);
			if (j < M.n && latest[M.r[j].key] == j)
				latest[M.r[j].key] = -2;
		}
		for (k = 0; k < 31; k++)
			CHECKF(latest[k] == -2, "step %u: key %d lost", step,
			    k);
		CHECK(plog_close(log, &e) == 0);
		check_no_leftovers(dir);
	}
	CHECK(step > 20 && step < 200);
}

/* The data directory keeps the cleaner checkpoint across restarts. */
static void
test_compact__logdir_checkpoint(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct logdir *ld;
	struct plog *log;
	struct ckpt ck;
	struct err e;
	char dir[128], path[256];
	int64_t cp, got;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "datadir");
	config(&c, 4096);
	CHECK(ld_open(dir, &c, LD_OPEN_CREATE, &ld, &e) == 0);
	CHECK(ld_create(ld, "compacted", 0, NULL, &log, &e) == 0);
	CHECK(ld_create(ld, "plain", 0, NULL, NULL, &e) == 0);
	snprintf(path, sizeof(path), "%s/%s", dir, LD_CLEANER_FILE);
	CHECK(ld_checkpoint(ld, &e) == 0);
	/* no log compacted yet: no file */
	CHECK(!lt_exists(path));
	CHECK(fill(log, &M, COMPRESS_NONE, 60, 10, 40) == 0);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	cp = res.checkpoint;
	CHECK(ld_close(ld, &e) == 0);
	ckpt_init(&ck);
	CHECK(ckpt_read(path, &ck, &e) == 0);
	CHECK(ck.count == 1 && ckpt_get(&ck, "compacted", 0, &got) == 1 &&
	    got == cp);
	ckpt_release(&ck);
	CHECK(ld_open(dir, &c, 0, &ld, &e) == 0);
	CHECK(plog_cleaner_checkpoint(ld_get(ld, "compacted", 0)) == cp);
	CHECK(plog_cleaner_checkpoint(ld_get(ld, "plain", 0)) == -1);
	check_model(ld_get(ld, "compacted", 0), &M, "logdir reopened");
	/* the file stays, even when it becomes empty */
	plog_set_cleaner_checkpoint(ld_get(ld, "compacted", 0), -1);
	CHECK(ld_checkpoint(ld, &e) == 0);
	ckpt_init(&ck);
	CHECK(ckpt_read(path, &ck, &e) == 0 && ck.count == 0);
	ckpt_release(&ck);
	CHECK(ld_close(ld, &e) == 0);
}

/* io_bytes_per_sec slows a pass down. */
static void
test_compact__throttle(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "throttle");
	config(&c, 8192);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 100, 10, 30) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, TS0);
	o.io_bytes_per_sec = 1 << 20;	/* ~60 KiB read: ~60 ms */
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECKF(res.throttled_ms >= 20, "%" PRIu64 " ms", res.throttled_ms);
	check_model(log, &M, "throttled");
	CHECK(plog_close(log, &e) == 0);
}

/* Bad options and logs that cannot be compacted. */
static void
test_compact__refusals(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "refuse");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	opts(&o, TS0);
	/* an empty log: nothing to do */
	CHECK(plog_compact(log, &o, &res, &e) == 0 && !res.ran);
	CHECK(plog_compact(log, &o, NULL, &e) == 0);
	o.min_cleanable_ratio = 1.5;
	CHECK(plog_compact(log, &o, &res, &e) == -1 && e.code == EXIT_USAGE);
	opts(&o, TS0);
	o.delete_retention_ms = -1;
	CHECK(plog_compact(log, &o, &res, &e) == -1 && e.code == EXIT_USAGE);
	CHECK(fill(log, &M, COMPRESS_NONE, 20, 10, 5) == 0);
	CHECK(plog_close(log, &e) == 0);
	CHECK(plog_open(dir, &c, 0, 0, PLOG_OPEN_READONLY, NULL, &log,
	    &e) == 0);
	opts(&o, TS0);
	CHECK(plog_compact(log, &o, &res, &e) == -1 &&
	    e.code == EXIT_SOFTWARE);
	plog_free(log);
}

/* A step on another thread, as logd's cleaner runs it. */
struct step_thread {
	pthread_t t;
	struct plog_compact_job *job;
	int rc;
	struct err e;
};

static void *
step_main(void *arg)
{
	struct step_thread *st = arg;

	st->rc = plog_compact_step(st->job, &st->e);
	return NULL;
}

/* The last record appended reads back. */
static void
check_tail(struct plog *log)
{
	int64_t end = plog_end_offset(log);
	struct plog_slice sl;
	struct err e;

	CHECK(plog_read(log, end - 1, 1, end, &sl, &e) == 0 &&
	    sl.length > 0 && sl.fd >= 0);
}

/*
 * Steps run on a thread while this one appends (rolling new segments)
 * and reads: appends are not changes that make a job stale, and the
 * result is the same as a pass on its own.
 */
static void
test_compact__steps_threaded(void)
{
	const struct plog_compact_result *res;
	struct plog_compact_job *job;
	struct plog_compact_opts o;
	struct step_thread st;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128];
	int k, groups = 0;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "threaded");
	config(&c, 2048);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	for (k = 0; k < 3; k++)
		CHECK(fill(log, &M, k == 1 ? COMPRESS_ZSTD : COMPRESS_NONE, 13,
		    5, 31) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, TS0);
	CHECKF(plog_compact_prepare(log, &o, &job, &e) == 0, "%s", e.msg);
	if (job == NULL)
		return;
	CHECK(plog_compact_job_result(job)->ran);
	for (;;) {
		memset(&st, 0, sizeof(st));
		st.job = job;
		CHECK(pthread_create(&st.t, NULL, step_main, &st) == 0);
		/* keys 100.., so the pass's model stays as it is */
		CHECK(fill_from(log, &M, COMPRESS_NONE, 3, 5, 7, 100) == 0);
		check_tail(log);
		pthread_join(st.t, NULL);
		CHECKF(st.rc >= 0, "%s", st.e.msg);
		if (st.rc != 1)
			break;
		CHECKF(plog_compact_commit(log, job, &e) == 0, "%s", e.msg);
		groups++;
	}
	CHECK(groups > 1);
	CHECK(plog_compact_finish(log, job, &e) == 0);
	res = plog_compact_job_result(job);
	CHECK(res->segments_written == groups);
	CHECK(plog_cleaner_checkpoint(log) == res->checkpoint);
	model_pass(&M, res->checkpoint, seg_at_or_above(log, res->checkpoint),
	    o.now_ms, o.delete_retention_ms);
	plog_compact_job_free(job);
	check_model(log, &M, "threaded steps");
	check_reads(log, &M);
	CHECK(plog_close(log, &e) == 0);
	check_no_leftovers(dir);
	check_kdump(dir);
}

/* The records below `offset` are gone from the model (deleted, cut). */
static void
model_drop(struct model *m, int64_t below, int64_t from)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->r[i].offset < below || m->r[i].offset >= from)
			m->r[i].alive = false;
}

/* A log of several groups and a job with its first group written. */
static struct plog_compact_job *
stale_setup(const char *dir, struct plog **logp)
{
	struct plog_compact_job *job = NULL;
	struct plog_compact_opts o;
	struct plog_config c;
	struct err e;
	int k;

	memset(&M, 0, sizeof(M));
	config(&c, 2048);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, logp, &e) == 0);
	for (k = 0; k < 3; k++)
		CHECK(fill(*logp, &M, COMPRESS_NONE, 13, 5, 31) == 0);
	CHECK(plog_roll(*logp, 0, &e) == 0);
	opts(&o, TS0);
	CHECK(plog_compact_prepare(*logp, &o, &job, &e) == 0);
	CHECKF(job != NULL && plog_compact_step(job, &e) == 1, "%s", e.msg);
	return job;
}

/* A second segment's base: what a deletion or a cut aims at. */
static int64_t
second_base(struct plog *log)
{
	struct plog_segment_info si;
	struct err e;

	CHECK(plog_segment_info(log, 1, &si, &e) == 0);
	return si.base_offset;
}

/*
 * Whatever changes the segments under a job (record deletion, retention,
 * truncation) makes its commit or finish refuse: the cleaned files go
 * and the log is as the change left it.
 */
static void
test_compact__stale(void)
{
	struct plog_retention_result rr;
	struct plog_compact_job *job;
	struct plog *log;
	struct err e;
	char dir[128];
	int64_t cut, cp;

	/* DeleteRecords removes the first segment */
	mkdir_in(dir, sizeof(dir), "stale-delete");
	job = stale_setup(dir, &log);
	cut = second_base(log);
	CHECK(plog_delete_records_before(log, cut, &e) == 0);
	CHECK(!plog_compact_current(log, job));
	CHECK(plog_compact_commit(log, job, &e) == PLOG_COMPACT_STALE);
	check_no_leftovers(dir);
	CHECK(plog_compact_step(job, &e) == 0);
	plog_compact_job_free(job);
	model_drop(&M, cut, INT64_MAX);
	check_model(log, &M, "after a deletion");
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);

	/* a truncation (a follower's) into the cleaned range */
	mkdir_in(dir, sizeof(dir), "stale-truncate");
	job = stale_setup(dir, &log);
	cut = second_base(log) + 2;
	CHECK(plog_truncate_to(log, cut, &e) == 0);
	CHECK(plog_compact_commit(log, job, &e) == PLOG_COMPACT_STALE);
	plog_compact_job_free(job);
	check_no_leftovers(dir);
	model_drop(&M, 0, plog_end_offset(log));
	check_model(log, &M, "after a truncation");
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);

	/* retention by size, once every group is in: no checkpoint */
	mkdir_in(dir, sizeof(dir), "stale-retention");
	job = stale_setup(dir, &log);
	while (plog_compact_commit(log, job, &e) == 0 &&
	    plog_compact_step(job, &e) == 1)
		continue;
	cp = plog_cleaner_checkpoint(log);
	{
		struct plog_config c;

		config(&c, 2048);
		c.retention_bytes = 1;
		CHECK(plog_set_config(log, &c, &e) == 0);
	}
	CHECK(plog_retention(log, TS0, INT64_MAX, &rr, &e) == 0);
	CHECK(rr.deleted_by_size > 0);
	CHECK(plog_compact_finish(log, job, &e) == PLOG_COMPACT_STALE);
	CHECK(plog_cleaner_checkpoint(log) == cp);
	plog_compact_job_free(job);
	check_no_leftovers(dir);
	CHECK(plog_close(log, &e) == 0);
	check_kdump(dir);

}

/* opts.stop: asked `left` more times before it says stop. */
static bool
stop_after(void *arg)
{
	int *left = arg;

	return (*left)-- <= 0;
}

/*
 * A stop at each point where the pass asks: the step fails with
 * EXIT_TEMPFAIL, freeing the job removes its files and the log is as it
 * was; a throttled pass stops within a slice, not at the end of a sleep.
 */
static void
test_compact__stop(void)
{
	struct plog_compact_job *job;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog *log;
	struct err e;
	char dir[128], name[32];
	int n, left, r = -1, stops = 0;
	int64_t t0;

	config(&c, 2048);
	for (n = 0; n < 400; n++) {
		memset(&M, 0, sizeof(M));
		snprintf(name, sizeof(name), "stop-%d", n);
		mkdir_in(dir, sizeof(dir), name);
		CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
		CHECK(fill(log, &M, COMPRESS_NONE, 30, 5, 31) == 0);
		CHECK(plog_roll(log, 0, &e) == 0);
		opts(&o, TS0);
		left = n;
		o.stop = stop_after;
		o.stop_arg = &left;
		CHECK(plog_compact_prepare(log, &o, &job, &e) == 0);
		while ((r = plog_compact_step(job, &e)) == 1)
			CHECK(plog_compact_commit(log, job, &e) == 0);
		if (r < 0) {
			CHECKF(e.code == EXIT_TEMPFAIL, "%s", e.msg);
			stops++;
		}
		plog_compact_job_free(job);
		if (r == 0)
			break;
		/* committed groups stay; the rest is as it was */
		check_no_leftovers(dir);
		check_kdump(dir);
		CHECK(plog_close(log, &e) == 0);
	}
	CHECKF(r == 0 && stops > 5, "%d stops", stops);
	CHECK(plog_close(log, &e) == 0);

	/* 1 KiB/s: the pass would take minutes; the stop takes a slice */
	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "stop-throttled");
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 30, 5, 31) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	opts(&o, TS0);
	o.io_bytes_per_sec = 1024;
	left = 3;
	o.stop = stop_after;
	o.stop_arg = &left;
	CHECK(plog_compact_prepare(log, &o, &job, &e) == 0);
	t0 = clock_mono_ms();
	CHECK(plog_compact_step(job, &e) == -1 && e.code == EXIT_TEMPFAIL);
	CHECKF(clock_mono_ms() - t0 < 1000, "%" PRId64 " ms",
	    clock_mono_ms() - t0);
	plog_compact_job_free(job);
	check_model(log, &M, "stopped while throttled");
	CHECK(plog_close(log, &e) == 0);
	check_no_leftovers(dir);
}

/*
 * A reader's duplicate of an old segment's descriptor (logd's responses
 * keep one) reads the old bytes after the segment is swapped out.
 */
static void
test_compact__old_fd_survives_swap(void)
{
	struct plog_compact_result res;
	struct plog_compact_opts o;
	struct plog_config c;
	struct plog_slice sl;
	struct plog *log;
	struct err e;
	char dir[128];
	uint8_t *before, *after;
	int fd;

	memset(&M, 0, sizeof(M));
	mkdir_in(dir, sizeof(dir), "old-fd");
	config(&c, 4096);
	CHECK(plog_open(dir, &c, 0, 0, 0, NULL, &log, &e) == 0);
	CHECK(fill(log, &M, COMPRESS_NONE, 40, 5, 3) == 0);
	CHECK(plog_roll(log, 0, &e) == 0);
	CHECK(plog_read(log, 0, 4096, plog_end_offset(log), &sl, &e) == 0);
	CHECK(sl.length > 0);
	fd = dup(sl.fd);
	before = malloc(sl.length);
	after = malloc(sl.length);
	CHECK(fd >= 0 && before != NULL && after != NULL);
	CHECK(pread(fd, before, sl.length, (off_t)sl.position) ==
	    (ssize_t)sl.length);
	opts(&o, TS0);
	CHECK(compact(log, &M, &o, &res, &e) == 0 && res.ran);
	CHECK(res.records_removed > 0);
	CHECK(pread(fd, after, sl.length, (off_t)sl.position) ==
	    (ssize_t)sl.length);
	CHECK(memcmp(before, after, sl.length) == 0);
	check_model(log, &M, "after the swap");
	close(fd);
	free(before);
	free(after);
	CHECK(plog_close(log, &e) == 0);
}

int
main(void)
{
	if (lt_tmpdir(root, sizeof(root)) < 0) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	TEST(test_compact__digest_and_map);
	TEST(test_compact__filter_batch);
	TEST(test_compact__latest_per_key);
	TEST(test_compact__ratio_and_bound);
	TEST(test_compact__tombstones);
	TEST(test_compact__batch_fields);
	TEST(test_compact__groups);
	TEST(test_compact__codecs);
	TEST(test_compact__small_map);
	TEST(test_compact__null_keys);
	TEST(test_compact__then_truncate_and_retain);
	TEST(test_compact__crash_at_every_step);
	TEST(test_compact__crash_with_groups);
	TEST(test_compact__logdir_checkpoint);
	TEST(test_compact__throttle);
	TEST(test_compact__refusals);
	TEST(test_compact__steps_threaded);
	TEST(test_compact__stale);
	TEST(test_compact__stop);
	TEST(test_compact__old_fd_survives_swap);
	if (getenv("KLOG_UNIT_KEEP") == NULL)
		lt_rmrf(root);
	else
		printf("# kept %s\n", root);
	TEST_DONE();
}
