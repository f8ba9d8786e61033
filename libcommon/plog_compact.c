/* SPDX-License-Identifier: MIT */
/*
 * Log compaction of one partition log (plog_compact in plog.h), Kafka's
 * LogCleaner reduced to one pass on the caller's thread:
 *
 *  1. Plan: the dirty part runs from the cleaner checkpoint to the base of
 *     the first uncleanable segment (the one holding the high watermark,
 *     or the active one); go on only if its share of the bytes reaches
 *     min_cleanable_ratio.
 *  2. Scan batch headers over the whole log for each producer's last data
 *     batch (Kafka's lastRecordsOfActiveProducers: klog never expires
 *     producers) and for the dirty part's record count (to size the map).
 *  3. Build the offset map over the dirty part until it is full.
 *  4. Rewrite every segment from the first one up to the end of the
 *     mapped range, in groups that fit one segment, each into one new
 *     segment swapped in atomically (below); then move the checkpoint.
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
 * The swap of a group [S1..Sn] for its cleaned segment C (base of S1):
 *   a. write C as <base>.{log,index,timeindex}.cleaned, fsync, fsync dir;
 *   b. rename C to *.swap (indexes first, .log last), fsync dir: once
 *      <base>.log.swap exists the swap is committed;
 *   c. rename each file of S1..Sn to *.deleted, fsync dir, unlink them;
 *   d. rename C to its plain names (.log first), fsync dir.
 * plog_open() removes *.cleaned and the *.swap beside them (a crash in a,
 * or in b before the .log's rename: the old set stays) and finishes a
 * committed swap (a crash after it: the new set): it removes the segment
 * files whose bases lie in [C's base, C's next offset) and gives the
 * *.swap files their names. Groups are swapped one after the other; a
 * crash between groups leaves the first ones cleaned and the others as
 * they were, still a correct log: every record removed has a newer one
 * for its key that stays.
 *
 * Memory: the offset map (offset_map_bytes at most, less when the dirty
 * part has fewer records), a read window of 1 MiB or one batch, an output
 * buffer of about 1 MiB, one batch's records and a producer table of 16
 * bytes per producer id. I/O throttling: after each read and write the
 * pass sleeps for as long as it is ahead of io_bytes_per_sec (bytes read
 * plus written since the pass began).
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

/* Producer id -> last offset of its last data batch; open addressing. */
struct pid_map {
	int64_t *keys;		/* -1: empty */
	int64_t *vals;
	size_t cap;		/* a power of two */
	size_t n;
};

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

/* A pread window over one segment's .log, reused across segments. */
struct reader {
	struct seg *s;
	uint8_t *buf;
	size_t cap;
	size_t chunk;		/* preferred read size */
	uint64_t win_pos;
	size_t win_len;
};

/* Everything one pass carries. */
struct pass {
	struct plog *log;
	const struct plog_compact_opts *o;
	struct plog_compact_result *res;
	int64_t first_dirty;
	int64_t first_uncleanable;
	int64_t map_end;	/* offsets below are in the map's range */
	uint64_t dirty_records;
	struct pid_map pids;
	struct cln_map map;
	struct cln_filter filter;
	struct reader rd;
	struct rec_iter it;
	struct buf out;
	unsigned ops;		/* swap file operations so far (crash_at) */
	int64_t started_ms;
	uint64_t io_bytes;
};

/* Sleep while the pass is ahead of io_bytes_per_sec. */
static void
throttle(struct pass *p, uint64_t bytes)
{
	uint64_t rate = p->o->io_bytes_per_sec;
	int64_t elapsed, due;
	struct timespec ts;

	if (rate == 0)
		return;
	p->io_bytes += bytes;
	elapsed = clock_mono_ms() - p->started_ms;
	due = (int64_t)(p->io_bytes / rate * 1000 +
	    p->io_bytes % rate * 1000 / rate);
	if (due <= elapsed)
		return;
	ts.tv_sec = (time_t)((due - elapsed) / 1000);
	ts.tv_nsec = (long)((due - elapsed) % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		continue;
	p->res->throttled_ms += (uint64_t)(due - elapsed);
}

static void
rd_start(struct reader *r, struct seg *s, size_t chunk)
{
	r->s = s;
	r->chunk = chunk;
	r->win_pos = 0;
	r->win_len = 0;
}

/* Have bytes [pos, pos + need) of the segment in the window. */
static int
rd_fill(struct pass *p, uint64_t pos, size_t need, struct err *e)
{
	struct reader *r = &p->rd;
	uint64_t left = r->s->size - pos;
	size_t want = need > r->chunk ? need : r->chunk;

	if (pos >= r->win_pos && pos + need <= r->win_pos + r->win_len)
		return 0;
	if (want > left)
		want = (size_t)left;
	if (want > r->cap) {
		uint8_t *b = realloc(r->buf, want);

		if (b == NULL)
			return err_set(e, EXIT_OSERR, "out of memory reading "
			    "segment '%s'", r->s->log_path);
		r->buf = b;
		r->cap = want;
	}
	if (seg_pread(r->s, r->buf, want, pos, e) < 0)
		return -1;
	r->win_pos = pos;
	r->win_len = want;
	throttle(p, want);
	return 0;
}

/*
 * The batch at `pos`: its header (or, with `whole`, all of it) at *data.
 * 1, 0 at the end of the segment, -1 with EXIT_DATAERR or EXIT_IOERR.
 */
static int
rd_batch(struct pass *p, uint64_t pos, bool whole, const uint8_t **data,
    struct seg_batch_info *bi, struct err *e)
{
	struct reader *r = &p->rd;
	uint64_t left;

	if (pos >= r->s->size)
		return 0;
	left = r->s->size - pos;
	if (rd_fill(p, pos, left < REC_BATCH_HEADER_SIZE ? (size_t)left :
	    REC_BATCH_HEADER_SIZE, e) < 0)
		return -1;
	if (seg_batch_header(r->buf + (pos - r->win_pos), left > SIZE_MAX ?
	    SIZE_MAX : (size_t)left, pos, bi, e) < 0)
		return err_wrap(e, "segment '%s'", r->s->log_path);
	if (whole && rd_fill(p, pos, bi->size, e) < 0)
		return -1;
	*data = r->buf + (pos - r->win_pos);
	return 1;
}

/* Parse and CRC-check a whole batch read by rd_batch. */
static int
parse_checked(const struct pass *p, const uint8_t *data,
    const struct seg_batch_info *bi, struct rec_batch *b, struct err *e)
{
	if (rec_batch_parse(data, bi->size, b, e) < 0)
		return err_wrap(e, "segment '%s': batch at position %" PRIu64,
		    p->rd.s->log_path, bi->position);
	if (!rec_batch_crc_ok(b))
		return err_set(e, EXIT_DATAERR, "segment '%s': batch at "
		    "position %" PRIu64 ": bad crc", p->rd.s->log_path,
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
plan(struct pass *p)
{
	struct plog *log = p->log;
	int64_t cp = log->cleaner_checkpoint, u, lo;
	uint64_t clean, dirty;

	p->first_dirty = cp;
	if (cp < log->start_offset || cp > plog_end_offset(log))
		p->first_dirty = log->start_offset;
	u = p->o->first_uncleanable_offset;
	if (u > plog_active(log)->base_offset)
		u = plog_active(log)->base_offset;
	if (u < p->first_dirty)
		u = p->first_dirty;
	p->first_uncleanable = log->segs[plog_seg_index(log, u)]->base_offset;
	clean = bytes_between(log, 0, p->first_dirty);
	lo = p->first_dirty < p->first_uncleanable ? p->first_dirty :
	    p->first_uncleanable;
	dirty = bytes_between(log, plog_seg_index(log, lo),
	    p->first_uncleanable);
	p->res->first_dirty_offset = p->first_dirty;
	p->res->first_uncleanable_offset = p->first_uncleanable;
	p->res->checkpoint = log->cleaner_checkpoint;
	p->res->dirty_ratio = clean + dirty > 0 ?
	    (double)dirty / (double)(clean + dirty) : 0.0;
	return dirty > 0 && p->res->dirty_ratio >= p->o->min_cleanable_ratio;
}

/* Step 2: producers' last data batches and the dirty record count. */
static int
scan_headers(struct pass *p, struct err *e)
{
	struct seg_batch_info bi;
	const uint8_t *h;
	size_t i;
	int r;

	for (i = 0; i < p->log->nsegs; i++) {
		uint64_t pos = 0;

		rd_start(&p->rd, p->log->segs[i], HEADER_CHUNK);
		while ((r = rd_batch(p, pos, false, &h, &bi, e)) == 1) {
			int64_t pid = (int64_t)be64_load(h +
			    REC_OFF_PRODUCER_ID);
			uint16_t attr = be16_load(h + REC_OFF_ATTRIBUTES);

			pos += bi.size;
			if (attr & REC_ATTR_CONTROL)
				continue;
			if (pid >= 0 && pid_put(&p->pids, pid, bi.last_offset,
			    e) < 0)
				return -1;
			if (bi.last_offset >= p->first_dirty &&
			    bi.base_offset < p->first_uncleanable)
				p->dirty_records += be32_load(h +
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
map_batch(struct pass *p, const struct rec_batch *b, struct err *e)
{
	struct rec_record r;
	struct cln_digest d;
	int rc;

	if (rec_iter_reset(&p->it, b, e) < 0)
		return err_wrap(e, "segment '%s'", p->rd.s->log_path);
	while ((rc = rec_iter_next(&p->it, &r, e)) > 0) {
		if (r.key.len < 0 || r.offset < p->first_dirty)
			continue;
		cln_digest(r.key.data, (size_t)r.key.len, &d);
		if (cln_map_put(&p->map, &d, r.offset) == 0) {
			p->map_end = r.offset;
			p->res->map_full = true;
			return 1;
		}
	}
	if (rc < 0)
		return err_wrap(e, "segment '%s'", p->rd.s->log_path);
	return 0;
}

/*
 * Step 3 (Kafka's buildOffsetMap): map the dirty part, batch by batch,
 * until the map is full; map_end is where the mapped range ends.
 */
static int
build_map(struct pass *p, struct err *e)
{
	struct plog *log = p->log;
	struct seg_batch_info bi;
	struct rec_batch b;
	const uint8_t *data;
	size_t i;
	int r;

	if (cln_map_init(&p->map, p->o->offset_map_bytes, p->dirty_records,
	    e) < 0)
		return -1;
	p->map_end = p->first_dirty;
	for (i = plog_seg_index(log, p->first_dirty); i + 1 < log->nsegs &&
	    log->segs[i]->base_offset < p->first_uncleanable; i++) {
		struct seg *s = log->segs[i];
		uint64_t pos = 0;

		if (s->base_offset < p->first_dirty) {
			r = seg_find_batch(s, p->first_dirty, &bi, e);
			if (r < 0)
				return -1;
			pos = r == 1 ? bi.position : s->size;
		}
		rd_start(&p->rd, s, READ_CHUNK);
		while ((r = rd_batch(p, pos, true, &data, &bi, e)) == 1) {
			if (parse_checked(p, data, &bi, &b, e) < 0)
				return -1;
			if (!(b.attributes & REC_ATTR_CONTROL)) {
				r = map_batch(p, &b, e);
				if (r != 0)
					return r < 0 ? -1 : 0;
			}
			if (bi.last_offset + 1 > p->map_end)
				p->map_end = bi.last_offset + 1;
			pos += bi.size;
		}
		if (r < 0)
			return -1;
		/* Past the segment's gaps: up to the next one's base. */
		p->map_end = log->segs[i + 1]->base_offset;
	}
	return 0;
}

/*
 * The last index of the group starting at segment i, among the segments
 * below the mapped range's end (Kafka's groupSegmentsBySize).
 */
static size_t
group_end(const struct pass *p, size_t i, size_t nlist)
{
	const struct plog *log = p->log;
	const struct seg *first = log->segs[i];
	uint64_t size = first->size;
	uint64_t osize = first->oidx.entries * IDX_OFFSET_ENTRY_SIZE;
	uint64_t tsize = first->tidx.entries * IDX_TIME_ENTRY_SIZE;
	uint64_t max_index = (uint64_t)log->cfg.index_max_bytes;
	size_t j = i;

	while (j + 1 < nlist) {
		const struct seg *s = log->segs[j + 1];
		int64_t last = j + 2 < nlist ?
		    log->segs[j + 2]->base_offset - 1 :
		    p->first_uncleanable - 1;

		if (size + s->size > (uint64_t)log->cfg.segment_bytes ||
		    osize + s->oidx.entries * IDX_OFFSET_ENTRY_SIZE >
		    max_index ||
		    tsize + s->tidx.entries * IDX_TIME_ENTRY_SIZE > max_index ||
		    (s->size > 0 && last - first->base_offset >
		    IDX_MAX_RELATIVE_OFFSET))
			break;
		size += s->size;
		osize += s->oidx.entries * IDX_OFFSET_ENTRY_SIZE;
		tsize += s->tidx.entries * IDX_TIME_ENTRY_SIZE;
		j++;
	}
	return j;
}

/* Append the output buffer to the cleaned segment. */
static int
flush_out(struct pass *p, struct seg *c, struct err *e)
{
	if (p->out.len == 0)
		return 0;
	if (c->size + p->out.len > INT32_MAX)
		return err_set(e, EXIT_SOFTWARE, "segment '%s' would exceed "
		    "2 GiB", c->log_path);
	if (seg_append(c, p->out.data, p->out.len, e) < 0)
		return -1;
	throttle(p, p->out.len);
	buf_clear(&p->out);
	return 0;
}

/* Filter one old segment of the group into the cleaned segment `c`. */
static int
clean_segment(struct pass *p, struct seg *s, bool last_of_group,
    struct seg *c, struct err *e)
{
	struct plog_compact_result *res = p->res;
	struct cln_batch_result br;
	struct seg_batch_info bi;
	struct rec_batch b;
	const uint8_t *data;
	uint64_t pos = 0;
	int r;

	rd_start(&p->rd, s, READ_CHUNK);
	while ((r = rd_batch(p, pos, true, &data, &bi, e)) == 1) {
		bool keep_empty;

		if (parse_checked(p, data, &bi, &b, e) < 0)
			return -1;
		pos += bi.size;
		keep_empty = (last_of_group && pos == s->size) ||
		    (b.producer_id >= 0 && !(b.attributes & REC_ATTR_CONTROL) &&
		    pid_get(&p->pids, b.producer_id) == bi.last_offset);
		if (cln_filter_batch(&p->filter, &b, keep_empty, &p->out, &br,
		    e) < 0)
			return err_wrap(e, "segment '%s': batch at position %"
			    PRIu64, s->log_path, bi.position);
		res->batches_read++;
		res->batches_kept += br.outcome != CLN_DROPPED;
		res->batches_emptied += br.outcome == CLN_EMPTIED;
		res->records_read += (uint64_t)br.records_read;
		res->records_kept += (uint64_t)br.records_kept;
		res->records_removed += (uint64_t)br.records_removed;
		res->tombstones_dropped += (uint64_t)br.tombstones_dropped;
		if (p->out.len >= WRITE_CHUNK && flush_out(p, c, e) < 0)
			return -1;
	}
	return r < 0 ? -1 : 0;
}

/* Give the cleaned .log the modification time of `from`'s, as Kafka. */
static int
copy_mtime(struct seg *from, struct seg *c, struct err *e)
{
	struct timespec t[2];
	struct stat st;
	int fd;

	if (stat(from->log_path, &st) < 0)
		return err_sys(e, EXIT_IOERR, "unable to stat '%s'",
		    from->log_path);
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

/* Step a: the group [i..j] into a complete, fsynced *.cleaned segment. */
static int
write_cleaned(struct pass *p, size_t i, size_t j, struct seg **out,
    struct err *e)
{
	struct plog *log = p->log;
	struct seg_params params = plog_params(&log->cfg);
	size_t k, last = i;
	struct seg *c;

	for (k = i; k <= j; k++)
		if (log->segs[k]->size > 0)
			last = k;
	if (seg_create_as(log->dir, log->segs[i]->base_offset, ".cleaned",
	    &params, p->o->now_ms, &c, e) < 0)
		return -1;
	buf_clear(&p->out);
	for (k = i; k <= j; k++)
		if (clean_segment(p, log->segs[k], k == last, c, e) < 0)
			goto fail;
	if (flush_out(p, c, e) < 0 || copy_mtime(log->segs[j], c, e) < 0 ||
	    seg_make_inactive(c, e) < 0)
		goto fail;
	/* fdatasync left the time out; the names must be durable too. */
	if (fsync(c->fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync '%s'", c->log_path);
		goto fail;
	}
	if (plog_dir_fsync(log, e) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	seg_delete(c, NULL);
	return -1;
}

/*
 * Count one swap operation; 1 when crash_at says to stop before it (the
 * files stay as they are, as after a crash).
 */
static int
crash_point(struct pass *p, struct err *e)
{
	if (p->o->crash_at == 0 || ++p->ops != p->o->crash_at)
		return 0;
	p->log->failed = true;
	err_set(e, EXIT_SOFTWARE, "stopped before swap operation %u "
	    "(simulated crash)", p->ops);
	return 1;
}

/* Step c: rename the old segments' files to *.deleted, then unlink them. */
static int
retire_old(struct pass *p, size_t i, size_t j, struct err *e)
{
	char gone[PATH_MAX];
	size_t k, f;

	for (k = i; k <= j; k++) {
		struct seg *s = p->log->segs[k];
		const char *paths[3] = { s->log_path, s->oidx.path,
		    s->tidx.path };

		for (f = 0; f < 3; f++) {
			if (snprintf(gone, sizeof(gone), "%s.deleted",
			    paths[f]) >= (int)sizeof(gone))
				return err_set(e, EXIT_SOFTWARE, "path too "
				    "long: '%s'", paths[f]);
			if (crash_point(p, e))
				return -1;
			if (rename(paths[f], gone) < 0 && (errno != ENOENT ||
			    f == 0))
				return err_sys(e, EXIT_IOERR, "unable to "
				    "rename '%s'", paths[f]);
		}
	}
	if (plog_dir_fsync(p->log, e) < 0)
		return -1;
	for (k = i; k <= j; k++) {
		struct seg *s = p->log->segs[k];
		const char *paths[3] = { s->log_path, s->oidx.path,
		    s->tidx.path };

		for (f = 0; f < 3; f++) {
			snprintf(gone, sizeof(gone), "%s.deleted", paths[f]);
			if (crash_point(p, e))
				return -1;
			if (unlink(gone) < 0 && errno != ENOENT)
				return err_sys(e, EXIT_IOERR, "unable to "
				    "remove '%s'", gone);
		}
	}
	return 0;
}

/* Steps b..d for the group [i..j] and its cleaned segment c (owned). */
static int
swap_in(struct pass *p, size_t i, size_t j, struct seg *c, struct err *e)
{
	struct plog *log = p->log;
	size_t k;

	if (crash_point(p, e))
		goto stop;
	if (seg_rename(c, ".swap", e) < 0 || plog_dir_fsync(log, e) < 0) {
		/* Not committed unless the .log got its new name. */
		if (strstr(c->log_path, ".swap") == NULL) {
			seg_delete(c, NULL);
			return -1;
		}
		goto failed;
	}
	if (retire_old(p, i, j, e) < 0)
		goto failed;
	if (crash_point(p, e))
		goto stop;
	if (seg_rename(c, "", e) < 0 || plog_dir_fsync(log, e) < 0)
		goto failed;
	if (crash_point(p, e))
		goto stop;
	p->res->segments_cleaned += (int)(j - i + 1);
	p->res->segments_written++;
	for (k = i; k <= j; k++) {
		p->res->bytes_before += log->segs[k]->size;
		seg_free(log->segs[k]);
	}
	p->res->bytes_after += c->size;
	log->segs[i] = c;
	memmove(log->segs + i + 1, log->segs + j + 1,
	    (log->nsegs - j - 1) * sizeof(*log->segs));
	log->nsegs -= j - i;
	return 0;
failed:
	/* Committed: the next plog_open() finishes what is left. */
	log->failed = true;
	err_wrap(e, "swap interrupted; reopen the log to complete it");
stop:
	seg_free(c);
	return -1;
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

/* Steps 2 to 4, once plan() said to go on. */
static int
run(struct pass *p, struct err *e)
{
	struct plog *log = p->log;
	size_t i, j, nlist;
	struct seg *c;

	if (scan_headers(p, e) < 0 || build_map(p, e) < 0)
		return -1;
	p->res->keys_mapped = p->map.count;
	p->filter.map = &p->map;
	p->filter.map_end = p->map_end;
	p->filter.now_ms = p->o->now_ms;
	p->filter.delete_retention_ms = p->o->delete_retention_ms;
	p->filter.max_batch_bytes = (size_t)log->cfg.max_batch_bytes;
	for (i = 0; i + 1 < log->nsegs &&
	    log->segs[i]->base_offset < p->map_end; i++) {
		for (nlist = i; nlist + 1 < log->nsegs &&
		    log->segs[nlist]->base_offset < p->map_end; nlist++)
			continue;
		j = group_end(p, i, nlist);
		if (write_cleaned(p, i, j, &c, e) < 0 ||
		    swap_in(p, i, j, c, e) < 0)
			return -1;
	}
	log->cleaner_checkpoint = p->map_end;
	p->res->checkpoint = p->map_end;
	return 0;
}

int
plog_compact(struct plog *log, const struct plog_compact_opts *o,
    struct plog_compact_result *out, struct err *e)
{
	struct plog_compact_result scratch;
	struct pass p;
	int r;

	if (out == NULL)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	if (check_opts(log, o, e) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.log = log;
	p.o = o;
	p.res = out;
	p.started_ms = clock_mono_ms();
	if (!plan(&p))
		return 0;
	out->ran = true;
	cln_filter_init(&p.filter, MAX_INFLATE);
	rec_iter_init(&p.it, MAX_INFLATE);
	buf_init(&p.out);
	r = run(&p, e);
	buf_release(&p.out);
	rec_iter_release(&p.it);
	cln_filter_release(&p.filter);
	cln_map_release(&p.map);
	free(p.rd.buf);
	free(p.pids.keys);
	free(p.pids.vals);
	if (r < 0)
		err_wrap(e, "log '%s': compaction", log->dir);
	return r;
}
