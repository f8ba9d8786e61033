/* SPDX-License-Identifier: MIT */
/*
 * Log compaction of one partition log (plog_compact in plog.h), Kafka's
 * LogCleaner for one log, as a job in steps so that the reading and
 * writing can run on a cleaner thread while the log's thread serves:
 *
 *  1. Plan (prepare, the log's thread): the dirty part runs from the
 *     cleaner checkpoint to the base of the first uncleanable segment
 *     (the one holding the high watermark, or the active one); go on
 *     only if its share of the bytes reaches min_cleanable_ratio. Then
 *     snapshot every segment: base, size, index sizes and a descriptor
 *     of its own, so nothing later reads the log's structures.
 *  2. Scan batch headers over the whole snapshot for each producer's last
 *     data batch (Kafka's lastRecordsOfActiveProducers: klog never
 *     expires producers) and for the dirty part's record count (to size
 *     the map).
 *  3. Build the offset map over the dirty part until it is full.
 *  4. Rewrite every segment from the first one up to the end of the
 *     mapped range, in groups that fit one segment, each into one new
 *     segment under *.cleaned names, which the log's thread then swaps
 *     in atomically (plog_compact_swap.c); finally move the checkpoint.
 * Steps 2 to 4 are plog_compact_step() and touch only the job.
 *
 * Tombstones: the delete horizon travels in the batch, as in Kafka 3
 * (KIP-534). The first pass that keeps a tombstone stamps its batch with
 * horizon = now + delete_retention_ms; a later pass at or after the
 * horizon drops it. No file times are involved.
 *
 * Records without a key are kept (a compacted topic refuses them at
 * produce; Kafka's cleaner would drop them). klog has no transactions
 * yet: control batches are copied as they are and transactional batches
 * are cleaned like any other (no aborted-transaction tracking).
 *
 * Empty batches: a batch whose records all go is dropped, except the last
 * data batch of a producer (its sequence numbers must survive) and the
 * last batch of each group. Kafka keeps the round's last batch so the
 * cleaned range's end stays known; keeping every group's last one also
 * makes a cleaned segment end exactly where its group ended, which is
 * what lets crash recovery tell which old segments a swap replaces.
 *
 * Memory: the offset map (offset_map_bytes at most, less when the dirty
 * part has fewer records), a read window of 1 MiB or one batch, an output
 * buffer of about 1 MiB, one batch's records and a producer table of 16
 * bytes per producer id. Descriptors: one per segment until the headers
 * are scanned, then one per segment still to rewrite. I/O throttling:
 * after each read and write the step sleeps for as long as it is ahead
 * of io_bytes_per_sec (bytes read plus written since the pass began), in
 * slices between which opts.stop is asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "cleaner.h"
#include "plog.h"
#include "plog_compact_impl.h"
#include "plog_impl.h"
#include "record.h"
#include "segment.h"
#include "util.h"
#include "banned.h"

/* Preferred read size for whole batches, and for header scans. */
#define READ_CHUNK (1u << 20)
#define HEADER_CHUNK 4096u
/* The output buffer goes to the cleaned segment past this size. */
#define WRITE_CHUNK (1u << 20)
/* Bound on one batch's decompressed records. */
#define MAX_INFLATE (128u << 20)
/* Longest throttle sleep between two looks at opts.stop. */
#define THROTTLE_SLICE_MS 50

void
plog_compact_opts_init(struct plog_compact_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_cleanable_ratio = 0.5;
	o->delete_retention_ms = 86400000;
	o->offset_map_bytes = 128u << 20;
	o->now_ms = clock_wall_ms();
	o->io_bytes_per_sec = 0;
	o->first_uncleanable_offset = INT64_MAX;
}

int64_t
plog_cleaner_checkpoint(const struct plog *log)
{
	return log->cleaner_checkpoint;
}

void
plog_set_cleaner_checkpoint(struct plog *log, int64_t offset)
{
	log->cleaner_checkpoint = offset < 0 ? -1 : offset;
}

static int
pid_put(struct pid_map *m, int64_t pid, int64_t last, struct err *e)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct pid_map g = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };

		g.keys = malloc(g.cap * sizeof(*g.keys));
		g.vals = malloc(g.cap * sizeof(*g.vals));
		if (g.keys == NULL || g.vals == NULL) {
			free(g.keys);
			free(g.vals);
			return err_set(e, EXIT_OSERR, "out of memory");
		}
		for (i = 0; i < g.cap; i++)
			g.keys[i] = -1;
		for (i = 0; i < m->cap; i++)
			if (m->keys[i] >= 0 &&
			    pid_put(&g, m->keys[i], m->vals[i], e) < 0)
				return -1;
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	i = (size_t)((uint64_t)pid * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);
	while (m->keys[i] >= 0 && m->keys[i] != pid)
		i = (i + 1) & (m->cap - 1);
	if (m->keys[i] < 0)
		m->n++;
	m->keys[i] = pid;
	m->vals[i] = last;
	return 0;
}

static int64_t
pid_get(const struct pid_map *m, int64_t pid)
{
	size_t i;

	if (m->cap == 0)
		return -1;
	i = (size_t)((uint64_t)pid * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);
	while (m->keys[i] >= 0) {
		if (m->keys[i] == pid)
			return m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

/* 1 with `e` set when opts.stop asks the pass to end, else 0. */
static int
stopped(const struct plog_compact_job *j, struct err *e)
{
	if (j->o.stop == NULL || !j->o.stop(j->o.stop_arg))
		return 0;
	err_set(e, EXIT_TEMPFAIL, "compaction stopped");
	return 1;
}

/*
 * Sleep while the pass is ahead of io_bytes_per_sec, in slices so that
 * a stop request is seen promptly even at a very low rate.
 */
static int
throttle(struct plog_compact_job *j, uint64_t bytes, struct err *e)
{
	uint64_t rate = j->o.io_bytes_per_sec;
	int64_t due, left;

	if (rate == 0)
		return 0;
	j->io_bytes += bytes;
	due = (int64_t)(j->io_bytes / rate * 1000 +
	    j->io_bytes % rate * 1000 / rate);
	while ((left = due - (clock_mono_ms() - j->started_ms)) > 0) {
		int64_t nap = left < THROTTLE_SLICE_MS ? left :
		    THROTTLE_SLICE_MS;
		struct timespec ts = { 0, (long)nap * 1000000L };

		if (stopped(j, e))
			return -1;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			continue;
		j->res.throttled_ms += (uint64_t)nap;
	}
	return 0;
}

/* Read exactly `len` bytes of a snapshot segment at `pos`. */
static int
snap_pread(const struct snap_seg *s, void *buf, size_t len, uint64_t pos,
    struct err *e)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(s->fd, p, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, EXIT_IOERR, "segment '%s': read at "
			    "position %" PRIu64, s->path, pos);
		if (n == 0)
			return err_set(e, EXIT_IOERR, "segment '%s': "
			    "unexpected end of file at %" PRIu64, s->path,
			    pos);
		p += n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void
rd_start(struct reader *r, struct snap_seg *s, size_t chunk)
{
	r->s = s;
	r->chunk = chunk;
	r->win_pos = 0;
	r->win_len = 0;
}

/* Have bytes [pos, pos + need) of the segment in the window. */
static int
rd_fill(struct plog_compact_job *j, uint64_t pos, size_t need,
    struct err *e)
{
	struct reader *r = &j->rd;
	uint64_t left = r->s->size - pos;
	size_t want = need > r->chunk ? need : r->chunk;

	if (pos >= r->win_pos && pos + need <= r->win_pos + r->win_len)
		return 0;
	if (stopped(j, e))
		return -1;
	if (want > left)
		want = (size_t)left;
	if (want > r->cap) {
		uint8_t *b = realloc(r->buf, want);

		if (b == NULL)
			return err_set(e, EXIT_OSERR, "out of memory reading "
			    "segment '%s'", r->s->path);
		r->buf = b;
		r->cap = want;
	}
	if (snap_pread(r->s, r->buf, want, pos, e) < 0)
		return -1;
	r->win_pos = pos;
	r->win_len = want;
	return throttle(j, want, e);
}

/*
 * The batch at `pos`: its header (or, with `whole`, all of it) at *data.
 * 1, 0 at the end of the segment, -1 with EXIT_DATAERR or EXIT_IOERR.
 */
static int
rd_batch(struct plog_compact_job *j, uint64_t pos, bool whole,
    const uint8_t **data, struct seg_batch_info *bi, struct err *e)
{
	struct reader *r = &j->rd;
	uint64_t left;

	if (pos >= r->s->size)
		return 0;
	left = r->s->size - pos;
	if (rd_fill(j, pos, left < REC_BATCH_HEADER_SIZE ? (size_t)left :
	    REC_BATCH_HEADER_SIZE, e) < 0)
		return -1;
	if (seg_batch_header(r->buf + (pos - r->win_pos), left > SIZE_MAX ?
	    SIZE_MAX : (size_t)left, pos, bi, e) < 0)
		return err_wrap(e, "segment '%s'", r->s->path);
	if (whole && rd_fill(j, pos, bi->size, e) < 0)
		return -1;
	*data = r->buf + (pos - r->win_pos);
	return 1;
}

/* Parse and CRC-check a whole batch read by rd_batch. */
static int
parse_checked(const struct plog_compact_job *j, const uint8_t *data,
    const struct seg_batch_info *bi, struct rec_batch *b, struct err *e)
{
	if (rec_batch_parse(data, bi->size, b, e) < 0)
		return err_wrap(e, "segment '%s': batch at position %" PRIu64,
		    j->rd.s->path, bi->position);
	if (!rec_batch_crc_ok(b))
		return err_set(e, EXIT_DATAERR, "segment '%s': batch at "
		    "position %" PRIu64 ": bad crc", j->rd.s->path,
		    bi->position);
	return 0;
}

/* Size in bytes of the segments with base < `below`, from index `from`. */
static uint64_t
bytes_between(const struct plog *log, size_t from, int64_t below)
{
	uint64_t n = 0;
	size_t i;

	for (i = from; i < log->nsegs && log->segs[i]->base_offset < below;
	    i++)
		n += log->segs[i]->size;
	return n;
}

/*
 * Step 1: the dirty range and the ratio (Kafka's cleanableOffsets and
 * calculateCleanableBytes). 1 to go on, 0 when there is nothing to do.
 */
static int
plan(struct plog_compact_job *j, const struct plog *log)
{
	int64_t cp = log->cleaner_checkpoint, u, lo;
	uint64_t clean, dirty;

	j->first_dirty = cp;
	if (cp < log->start_offset || cp > plog_end_offset(log))
		j->first_dirty = log->start_offset;
	u = j->o.first_uncleanable_offset;
	if (u > plog_active(log)->base_offset)
		u = plog_active(log)->base_offset;
	if (u < j->first_dirty)
		u = j->first_dirty;
	j->first_uncleanable = log->segs[plog_seg_index(log, u)]->base_offset;
	clean = bytes_between(log, 0, j->first_dirty);
	lo = j->first_dirty < j->first_uncleanable ? j->first_dirty :
	    j->first_uncleanable;
	dirty = bytes_between(log, plog_seg_index(log, lo),
	    j->first_uncleanable);
	j->res.first_dirty_offset = j->first_dirty;
	j->res.first_uncleanable_offset = j->first_uncleanable;
	j->res.checkpoint = log->cleaner_checkpoint;
	j->res.dirty_ratio = clean + dirty > 0 ?
	    (double)dirty / (double)(clean + dirty) : 0.0;
	return dirty > 0 && j->res.dirty_ratio >= j->o.min_cleanable_ratio;
}

/*
 * A descriptor of the segment's .log that the job owns: it keeps reading
 * the same file whatever the log does with it (delete, close).
 */
static int
own_fd(struct seg *s, struct err *e)
{
	int fd = s->fd >= 0 ? fcntl(s->fd, F_DUPFD_CLOEXEC, 0) :
	    open(s->log_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open segment '%s'",
		    s->log_path);
	return fd;
}

/* Copy what the steps need of every segment (the log's thread). */
static int
snapshot(struct plog_compact_job *j, struct plog *log, struct err *e)
{
	struct seg_batch_info bi;
	struct seg *s;
	size_t i;
	int r;

	j->segs = calloc(log->nsegs, sizeof(*j->segs));
	if (j->segs == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	for (i = 0; i < log->nsegs; i++) {
		struct snap_seg *t = &j->segs[j->nsegs++];

		s = log->segs[i];
		t->fd = -1;
		t->base = s->base_offset;
		t->size = s->size;
		t->oidx_bytes = (uint64_t)s->oidx.entries *
		    IDX_OFFSET_ENTRY_SIZE;
		t->tidx_bytes = (uint64_t)s->tidx.entries *
		    IDX_TIME_ENTRY_SIZE;
		if ((t->path = strdup(s->log_path)) == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		if ((t->fd = own_fd(s, e)) < 0)
			return -1;
	}
	/* The index lookup is the log's: done here, not in the step. */
	j->dirty_idx = plog_seg_index(log, j->first_dirty);
	s = log->segs[j->dirty_idx];
	if (s->base_offset < j->first_dirty) {
		r = seg_find_batch(s, j->first_dirty, &bi, e);
		if (r < 0)
			return -1;
		j->dirty_pos = r == 1 ? bi.position : s->size;
	}
	return 0;
}

static int
check_opts(const struct plog *log, const struct plog_compact_opts *o,
    struct err *e)
{
	if (log->readonly)
		return err_set(e, EXIT_SOFTWARE, "log '%s' is open read-only",
		    log->dir);
	if (log->failed)
		return err_set(e, EXIT_IOERR, "log '%s' failed; reopen it to "
		    "recover", log->dir);
	if (!(o->min_cleanable_ratio >= 0.0 && o->min_cleanable_ratio <= 1.0))
		return err_set(e, EXIT_USAGE, "min_cleanable_ratio %g is not "
		    "in [0, 1]", o->min_cleanable_ratio);
	if (o->delete_retention_ms < 0)
		return err_set(e, EXIT_USAGE, "delete_retention_ms %" PRId64
		    " is negative", o->delete_retention_ms);
	if (o->first_uncleanable_offset < 0)
		return err_set(e, EXIT_USAGE, "first_uncleanable_offset %"
		    PRId64 " is negative", o->first_uncleanable_offset);
	return 0;
}

int
plog_compact_prepare(struct plog *log, const struct plog_compact_opts *o,
    struct plog_compact_job **out, struct err *e)
{
	struct plog_compact_job *j;

	*out = NULL;
	if (check_opts(log, o, e) < 0)
		return -1;
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->dir = strdup(log->dir)) == NULL) {
		free(j);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	j->o = *o;
	j->cfg = log->cfg;
	j->gen = log->gen;
	cln_filter_init(&j->filter, MAX_INFLATE);
	rec_iter_init(&j->it, MAX_INFLATE);
	buf_init(&j->out);
	j->res.ran = plan(j, log);
	if (j->res.ran && snapshot(j, log, e) < 0) {
		plog_compact_job_free(j);
		return err_wrap(e, "log '%s': compaction", log->dir);
	}
	*out = j;
	return 0;
}

/* Step 2: producers' last data batches and the dirty record count. */
static int
scan_headers(struct plog_compact_job *j, struct err *e)
{
	struct seg_batch_info bi;
	const uint8_t *h;
	size_t i;
	int r;

	for (i = 0; i < j->nsegs; i++) {
		uint64_t pos = 0;

		rd_start(&j->rd, &j->segs[i], HEADER_CHUNK);
		while ((r = rd_batch(j, pos, false, &h, &bi, e)) == 1) {
			int64_t pid = (int64_t)be64_load(h +
			    REC_OFF_PRODUCER_ID);
			uint16_t attr = be16_load(h + REC_OFF_ATTRIBUTES);

			pos += bi.size;
			if (attr & REC_ATTR_CONTROL)
				continue;
			if (pid >= 0 && pid_put(&j->pids, pid, bi.last_offset,
			    e) < 0)
				return -1;
			if (bi.last_offset >= j->first_dirty &&
			    bi.base_offset < j->first_uncleanable)
				j->dirty_records += be32_load(h +
				    REC_OFF_RECORD_COUNT);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * Map the keyed records of one batch at or above first_dirty. 1 when the
 * map filled up (map_end is then set), 0 otherwise, -1.
 */
static int
map_batch(struct plog_compact_job *j, const struct rec_batch *b,
    struct err *e)
{
	struct rec_record r;
	struct cln_digest d;
	int rc;

	if (rec_iter_reset(&j->it, b, e) < 0)
		return err_wrap(e, "segment '%s'", j->rd.s->path);
	while ((rc = rec_iter_next(&j->it, &r, e)) > 0) {
		if (r.key.len < 0 || r.offset < j->first_dirty)
			continue;
		cln_digest(r.key.data, (size_t)r.key.len, &d);
		if (cln_map_put(&j->map, &d, r.offset) == 0) {
			j->map_end = r.offset;
			j->res.map_full = true;
			return 1;
		}
	}
	if (rc < 0)
		return err_wrap(e, "segment '%s'", j->rd.s->path);
	return 0;
}

/*
 * Step 3 (Kafka's buildOffsetMap): map the dirty part, batch by batch,
 * until the map is full; map_end is where the mapped range ends.
 */
static int
build_map(struct plog_compact_job *j, struct err *e)
{
	struct seg_batch_info bi;
	struct rec_batch b;
	const uint8_t *data;
	size_t i;
	int r;

	if (cln_map_init(&j->map, j->o.offset_map_bytes, j->dirty_records,
	    e) < 0)
		return -1;
	j->map_end = j->first_dirty;
	for (i = j->dirty_idx; i + 1 < j->nsegs &&
	    j->segs[i].base < j->first_uncleanable; i++) {
		uint64_t pos = i == j->dirty_idx ? j->dirty_pos : 0;

		rd_start(&j->rd, &j->segs[i], READ_CHUNK);
		while ((r = rd_batch(j, pos, true, &data, &bi, e)) == 1) {
			if (parse_checked(j, data, &bi, &b, e) < 0)
				return -1;
			if (!(b.attributes & REC_ATTR_CONTROL)) {
				r = map_batch(j, &b, e);
				if (r != 0)
					return r < 0 ? -1 : 0;
			}
			if (bi.last_offset + 1 > j->map_end)
				j->map_end = bi.last_offset + 1;
			pos += bi.size;
		}
		if (r < 0)
			return -1;
		/* Past the segment's gaps: up to the next one's base. */
		j->map_end = j->segs[i + 1].base;
	}
	return 0;
}

/*
 * Steps 2 and 3, then what step 4 needs: the filter's rules and the
 * segments to rewrite. The others' descriptors are closed at once.
 */
static int
map_dirty(struct plog_compact_job *j, struct err *e)
{
	size_t i;

	j->started_ms = clock_mono_ms();
	if (scan_headers(j, e) < 0 || build_map(j, e) < 0)
		return -1;
	j->res.keys_mapped = j->map.count;
	j->filter.map = &j->map;
	j->filter.map_end = j->map_end;
	j->filter.now_ms = j->o.now_ms;
	j->filter.delete_retention_ms = j->o.delete_retention_ms;
	j->filter.max_batch_bytes = (size_t)j->cfg.max_batch_bytes;
	for (j->nlist = 0; j->nlist + 1 < j->nsegs &&
	    j->segs[j->nlist].base < j->map_end; j->nlist++)
		continue;
	for (i = j->nlist; i < j->nsegs; i++) {
		if (j->segs[i].fd >= 0)
			close(j->segs[i].fd);
		j->segs[i].fd = -1;
	}
	j->mapped = true;
	return 0;
}

/*
 * The last index of the group starting at segment i, among the segments
 * to rewrite (Kafka's groupSegmentsBySize).
 */
static size_t
group_end(const struct plog_compact_job *j, size_t i)
{
	const struct snap_seg *first = &j->segs[i];
	uint64_t size = first->size;
	uint64_t osize = first->oidx_bytes;
	uint64_t tsize = first->tidx_bytes;
	uint64_t max_index = (uint64_t)j->cfg.index_max_bytes;
	size_t k = i;

	while (k + 1 < j->nlist) {
		const struct snap_seg *s = &j->segs[k + 1];
		int64_t last = k + 2 < j->nlist ? j->segs[k + 2].base - 1 :
		    j->first_uncleanable - 1;

		if (size + s->size > (uint64_t)j->cfg.segment_bytes ||
		    osize + s->oidx_bytes > max_index ||
		    tsize + s->tidx_bytes > max_index ||
		    (s->size > 0 && last - first->base >
		    IDX_MAX_RELATIVE_OFFSET))
			break;
		size += s->size;
		osize += s->oidx_bytes;
		tsize += s->tidx_bytes;
		k++;
	}
	return k;
}

/* Append the output buffer to the cleaned segment. */
static int
flush_out(struct plog_compact_job *j, struct seg *c, struct err *e)
{
	size_t n = j->out.len;

	if (n == 0)
		return 0;
	if (c->size + n > INT32_MAX)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' would exceed "
		    "2 GiB", c->log_path);
	if (seg_append(c, j->out.data, n, e) < 0)
		return -1;
	buf_clear(&j->out);
	return throttle(j, n, e);
}

static void
count_batch(struct plog_compact_result *res,
    const struct cln_batch_result *br)
{
	res->batches_read++;
	res->batches_kept += br->outcome != CLN_DROPPED;
	res->batches_emptied += br->outcome == CLN_EMPTIED;
	res->records_read += (uint64_t)br->records_read;
	res->records_kept += (uint64_t)br->records_kept;
	res->records_removed += (uint64_t)br->records_removed;
	res->tombstones_dropped += (uint64_t)br->tombstones_dropped;
}

/* Filter one old segment of the group into the cleaned segment `c`. */
static int
clean_segment(struct plog_compact_job *j, struct snap_seg *s,
    bool last_of_group, struct seg *c, struct err *e)
{
	struct cln_batch_result br;
	struct seg_batch_info bi;
	struct rec_batch b;
	const uint8_t *data;
	uint64_t pos = 0;
	int r;

	rd_start(&j->rd, s, READ_CHUNK);
	while ((r = rd_batch(j, pos, true, &data, &bi, e)) == 1) {
		bool keep_empty;

		if (parse_checked(j, data, &bi, &b, e) < 0)
			return -1;
		pos += bi.size;
		keep_empty = (last_of_group && pos == s->size) ||
		    (b.producer_id >= 0 && !(b.attributes & REC_ATTR_CONTROL) &&
		    pid_get(&j->pids, b.producer_id) == bi.last_offset);
		if (cln_filter_batch(&j->filter, &b, keep_empty, &j->out, &br,
		    e) < 0)
			return err_wrap(e, "segment '%s': batch at position %"
			    PRIu64, s->path, bi.position);
		count_batch(&j->res, &br);
		if (j->out.len >= WRITE_CHUNK && flush_out(j, c, e) < 0)
			return -1;
	}
	return r < 0 ? -1 : 0;
}

/* Give the cleaned .log the modification time of `from`'s, as Kafka. */
static int
copy_mtime(const struct snap_seg *from, struct seg *c, struct err *e)
{
	struct timespec t[2];
	struct stat st;
	int fd;

	if (fstat(from->fd, &st) < 0)
		return err_sys(e, EXIT_IOERR, "unable to stat '%s'",
		    from->path);
	if ((fd = seg_fd(c, e)) < 0)
		return -1;
	t[0].tv_sec = 0;
	t[0].tv_nsec = UTIME_OMIT;
	t[1] = st.st_mtim;
	if (futimens(fd, t) < 0)
		return err_sys(e, EXIT_IOERR, "unable to set the time of '%s'",
		    c->log_path);
	return 0;
}

/*
 * Step 4a: the group [i..k] into a complete, fsynced *.cleaned segment;
 * the old segments' descriptors are closed once read, so their space
 * goes as soon as the swap removes them.
 */
static int
write_cleaned(struct plog_compact_job *j, size_t i, size_t k,
    struct seg **out, struct err *e)
{
	struct seg_params params = plog_params(&j->cfg);
	size_t n, last = i;
	struct seg *c;

	for (n = i; n <= k; n++)
		if (j->segs[n].size > 0)
			last = n;
	if (seg_create_as(j->dir, j->segs[i].base, ".cleaned", &params,
	    j->o.now_ms, &c, e) < 0)
		return -1;
	buf_clear(&j->out);
	for (n = i; n <= k; n++)
		if (clean_segment(j, &j->segs[n], n == last, c, e) < 0)
			goto fail;
	if (flush_out(j, c, e) < 0 || copy_mtime(&j->segs[k], c, e) < 0 ||
	    seg_make_inactive(c, e) < 0)
		goto fail;
	/* fdatasync left the time out; the names must be durable too. */
	if (fsync(c->fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync '%s'", c->log_path);
		goto fail;
	}
	if (dir_fsync_of(c->log_path, e) < 0)
		goto fail;
	for (n = i; n <= k; n++) {
		if (j->segs[n].fd >= 0)
			close(j->segs[n].fd);
		j->segs[n].fd = -1;
	}
	*out = c;
	return 0;
fail:
	seg_delete(c, NULL);
	return -1;
}

int
plog_compact_step(struct plog_compact_job *j, struct err *e)
{
	size_t k;

	if (j->over || !j->res.ran)
		return 0;
	if (j->cleaned != NULL)
		return err_set(e, EXIT_SOFTWARE, "log '%s': compaction: the "
		    "cleaned segment at %" PRId64 " is not committed yet",
		    j->dir, j->cleaned->base_offset);
	if (!j->mapped && map_dirty(j, e) < 0)
		goto fail;
	if (j->next >= j->nlist)
		return 0;
	k = group_end(j, j->next);
	if (write_cleaned(j, j->next, k, &j->cleaned, e) < 0)
		goto fail;
	j->gi = j->next;
	j->gj = k;
	j->next = k + 1;
	return 1;
fail:
	j->over = true;
	return err_wrap(e, "log '%s': compaction", j->dir);
}

const struct plog_compact_result *
plog_compact_job_result(const struct plog_compact_job *j)
{
	return &j->res;
}

void
plog_compact_job_free(struct plog_compact_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	/* Not committed: the files would only be removed at the next open. */
	if (j->cleaned != NULL)
		seg_delete(j->cleaned, NULL);
	for (i = 0; i < j->nsegs; i++) {
		if (j->segs[i].fd >= 0)
			close(j->segs[i].fd);
		free(j->segs[i].path);
	}
	free(j->segs);
	buf_release(&j->out);
	rec_iter_release(&j->it);
	cln_filter_release(&j->filter);
	cln_map_release(&j->map);
	free(j->rd.buf);
	free(j->pids.keys);
	free(j->pids.vals);
	free(j->dir);
	free(j);
}
