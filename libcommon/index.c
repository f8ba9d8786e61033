/* SPDX-License-Identifier: MIT */
/*
 * Offset and time indexes of a segment (see index.h). Writable indexes are
 * sparse files mapped read-write; before an entry lands on a page the page
 * is backed by writing zeros with pwrite, so a full disk shows up as an
 * ENOSPC error here rather than as SIGBUS on a store into the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "index.h"
#include "banned.h"

/* Zeros written ahead of the entries, a chunk at a time. */
#define RESERVE_CHUNK 16384
static uint8_t zero_chunk[RESERVE_CHUNK];

size_t
idx_entry_size(enum idx_kind kind)
{
	return kind == IDX_OFFSET ? IDX_OFFSET_ENTRY_SIZE : IDX_TIME_ENTRY_SIZE;
}

static size_t
page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (size_t)n : 4096;
}

static size_t
round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static const char *
kind_name(const struct idx *ix)
{
	return ix->kind == IDX_OFFSET ? "index" : "time index";
}

/* Absolute offset of entry i (both kinds). */
static int64_t
offset_at(const struct idx *ix, size_t i)
{
	if (ix->kind == IDX_OFFSET)
		return ix->base_offset + be32_load(ix->map + i * 8);
	return ix->base_offset + be32_load(ix->map + i * 12 + 8);
}

static int64_t
timestamp_at(const struct idx *ix, size_t i)
{
	return (int64_t)be64_load(ix->map + i * 12);
}

static uint32_t
position_at(const struct idx *ix, size_t i)
{
	return be32_load(ix->map + i * 8 + 4);
}

void
idx_offset_entry_at(const struct idx *ix, size_t i,
    struct idx_offset_entry *out)
{
	out->offset = offset_at(ix, i);
	out->position = position_at(ix, i);
}

void
idx_time_entry_at(const struct idx *ix, size_t i, struct idx_time_entry *out)
{
	out->timestamp = timestamp_at(ix, i);
	out->offset = offset_at(ix, i);
}

static void
idx_zero(struct idx *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->fd = -1;
}

static int
open_writable(struct idx *ix, size_t max_bytes, unsigned flags, struct err *e)
{
	size_t esz = idx_entry_size(ix->kind);
	size_t cap = max_bytes / esz * esz;
	struct stat st;
	void *map;

	if (stat(ix->path, &st) < 0 && errno == ENOENT)
		ix->missing = true;
	ix->fd = open(ix->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ix->fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to open %s '%s'",
		    kind_name(ix), ix->path);
	if (fstat(ix->fd, &st) < 0)
		return err_sys(e, EXIT_IOERR, "unable to stat %s '%s'",
		    kind_name(ix), ix->path);
	if ((flags & IDX_OPEN_TRUNCATE) && st.st_size > 0) {
		if (ftruncate(ix->fd, 0) < 0)
			return err_sys(e, EXIT_IOERR,
			    "unable to truncate %s '%s'", kind_name(ix),
			    ix->path);
		/* Forgotten entries must not come back after a crash. */
		ix->unsynced = true;
		st.st_size = 0;
	}
	ix->file_len = (size_t)st.st_size;
	ix->entries = ix->file_len / esz;
	if (cap < ix->entries * esz)
		cap = ix->entries * esz;
	if ((size_t)st.st_size != cap && ftruncate(ix->fd, (off_t)cap) < 0)
		return err_sys(e, EXIT_IOERR,
		    "unable to extend %s '%s' to %zu bytes", kind_name(ix),
		    ix->path, cap);
	map = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, ix->fd, 0);
	if (map == MAP_FAILED)
		return err_sys(e, EXIT_IOERR, "unable to map %s '%s'",
		    kind_name(ix), ix->path);
	ix->map = map;
	ix->map_len = cap;
	ix->max_entries = cap / esz;
	ix->reserved = round_up(ix->entries * esz, page_size());
	ix->writable = true;
	return 0;
}

int
idx_open(struct idx *ix, enum idx_kind kind, const char *path,
    int64_t base_offset, size_t max_bytes, unsigned flags, struct err *e)
{
	struct stat st;

	idx_zero(ix);
	ix->kind = kind;
	ix->base_offset = base_offset;
	if ((flags & IDX_OPEN_WRITABLE) && max_bytes < 2 * idx_entry_size(kind))
		return err_set(e, EXIT_SOFTWARE,
		    "%s '%s': index size %zu holds fewer than 2 entries",
		    kind_name(ix), path, max_bytes);
	ix->path = strdup(path);
	if (ix->path == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (flags & IDX_OPEN_WRITABLE) {
		if (open_writable(ix, max_bytes, flags, e) == 0)
			return 0;
		goto fail;
	}
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && (flags & IDX_OPEN_MISSING_OK)) {
			ix->missing = true;
			return 0;
		}
		err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to stat %s '%s'", kind_name(ix), path);
		goto fail;
	}
	ix->file_len = (size_t)st.st_size;
	ix->entries = ix->file_len / idx_entry_size(kind);
	return 0;
fail:
	idx_release(ix);
	return -1;
}

void
idx_release(struct idx *ix)
{
	if (ix->map != NULL)
		munmap(ix->map, ix->map_len);
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix->path);
	ix->path = NULL;
	ix->map = NULL;
	ix->map_len = 0;
	ix->fd = -1;
	ix->writable = false;
}

int
idx_map(struct idx *ix, struct err *e)
{
	size_t len = ix->entries * idx_entry_size(ix->kind);
	void *map;
	int fd;

	if (ix->map != NULL || len == 0)
		return 0;
	fd = open(ix->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, EXIT_IOERR, "unable to open %s '%s'",
		    kind_name(ix), ix->path);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return err_sys(e, EXIT_IOERR, "unable to map %s '%s'",
		    kind_name(ix), ix->path);
	ix->map = map;
	ix->map_len = len;
	return 0;
}

int
idx_trim(struct idx *ix, bool sync, struct err *e)
{
	size_t len = ix->entries * idx_entry_size(ix->kind);

	if (!ix->writable)
		return 0;
	if (sync && len > 0 && msync(ix->map, len, MS_SYNC) < 0)
		return err_sys(e, EXIT_IOERR, "unable to msync %s '%s'",
		    kind_name(ix), ix->path);
	/* Entries past `len` are never read: shrinking under the map is ok. */
	if (ftruncate(ix->fd, (off_t)len) < 0)
		return err_sys(e, EXIT_IOERR, "unable to trim %s '%s'",
		    kind_name(ix), ix->path);
	if (sync && fsync(ix->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to fsync %s '%s'",
		    kind_name(ix), ix->path);
	if (sync)
		ix->unsynced = false;
	munmap(ix->map, ix->map_len);
	close(ix->fd);
	ix->map = NULL;
	ix->map_len = 0;
	ix->fd = -1;
	ix->file_len = len;
	ix->max_entries = ix->entries;
	ix->writable = false;
	return 0;
}

int
idx_make_writable(struct idx *ix, size_t max_bytes, struct err *e)
{
	struct idx tmp;

	if (ix->writable)
		return 0;
	if (idx_open(&tmp, ix->kind, ix->path, ix->base_offset, max_bytes,
	    IDX_OPEN_WRITABLE, e) < 0)
		return -1;
	idx_release(ix);
	*ix = tmp;
	return 0;
}

int
idx_flush(struct idx *ix, struct err *e)
{
	size_t len = ix->entries * idx_entry_size(ix->kind);

	if (!ix->writable || !ix->unsynced)
		return 0;
	if (len > 0 && msync(ix->map, len, MS_SYNC) < 0)
		return err_sys(e, EXIT_IOERR, "unable to msync %s '%s'",
		    kind_name(ix), ix->path);
	if (fsync(ix->fd) < 0)
		return err_sys(e, EXIT_IOERR, "unable to fsync %s '%s'",
		    kind_name(ix), ix->path);
	ix->unsynced = false;
	return 0;
}

bool
idx_full(const struct idx *ix)
{
	if (!ix->writable)
		return true;
	if (ix->kind == IDX_TIME)
		return ix->entries + 1 >= ix->max_entries;
	return ix->entries >= ix->max_entries;
}

/* Back the bytes up to `end` with disk blocks before storing into them. */
static int
reserve(struct idx *ix, size_t end, struct err *e)
{
	size_t chunk = page_size() > RESERVE_CHUNK ? page_size() :
	    RESERVE_CHUNK;
	size_t target;

	if (end <= ix->reserved)
		return 0;
	target = round_up(end, chunk);
	if (target > ix->map_len)
		target = ix->map_len;
	while (ix->reserved < target) {
		size_t n = target - ix->reserved;
		ssize_t w;

		if (n > RESERVE_CHUNK)
			n = RESERVE_CHUNK;
		w = pwrite(ix->fd, zero_chunk, n, (off_t)ix->reserved);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_sys(e, EXIT_IOERR,
			    "unable to extend %s '%s' at %zu", kind_name(ix),
			    ix->path, ix->reserved);
		ix->reserved += (size_t)w;
	}
	return 0;
}

int
idx_reserve(struct idx *ix, size_t more, struct err *e)
{
	if (!ix->writable)
		return err_set(e, EXIT_SOFTWARE, "%s '%s' is read-only",
		    kind_name(ix), ix->path);
	if (more > ix->max_entries - ix->entries)
		more = ix->max_entries - ix->entries;
	return reserve(ix, (ix->entries + more) * idx_entry_size(ix->kind), e);
}

static int
check_append(struct idx *ix, int64_t offset, size_t limit, struct err *e)
{
	if (!ix->writable)
		return err_set(e, EXIT_SOFTWARE, "%s '%s' is read-only",
		    kind_name(ix), ix->path);
	if (ix->entries >= limit)
		return err_set(e, EXIT_SOFTWARE,
		    "%s '%s' is full (%zu entries)", kind_name(ix), ix->path,
		    ix->entries);
	if (offset < ix->base_offset ||
	    offset - ix->base_offset > IDX_MAX_RELATIVE_OFFSET)
		return err_set(e, EXIT_SOFTWARE,
		    "%s '%s': offset %" PRId64 " out of range for base %"
		    PRId64, kind_name(ix), ix->path, offset, ix->base_offset);
	return 0;
}

int
idx_append_offset(struct idx *ix, int64_t offset, uint32_t position,
    struct err *e)
{
	uint8_t *p;

	if (check_append(ix, offset, ix->max_entries, e) < 0)
		return -1;
	if (ix->entries > 0 && (offset <= offset_at(ix, ix->entries - 1) ||
	    position <= position_at(ix, ix->entries - 1)))
		return err_set(e, EXIT_SOFTWARE,
		    "index '%s': entry (%" PRId64 ", %" PRIu32
		    ") not above the last one", ix->path, offset, position);
	if (reserve(ix, (ix->entries + 1) * IDX_OFFSET_ENTRY_SIZE, e) < 0)
		return -1;
	p = ix->map + ix->entries * IDX_OFFSET_ENTRY_SIZE;
	be32_store(p, (uint32_t)(offset - ix->base_offset));
	be32_store(p + 4, position);
	ix->entries++;
	ix->unsynced = true;
	return 0;
}

int
idx_append_time(struct idx *ix, int64_t timestamp, int64_t offset, bool spare,
    struct err *e)
{
	/* An empty time index behaves as if its last timestamp were -1. */
	int64_t last_ts = -1;
	uint8_t *p;

	if (ix->writable && ix->entries > 0)
		last_ts = timestamp_at(ix, ix->entries - 1);
	if (timestamp <= last_ts)
		return 0;
	if (check_append(ix, offset,
	    spare ? ix->max_entries : ix->max_entries - 1, e) < 0)
		return -1;
	if (ix->entries > 0 && offset < offset_at(ix, ix->entries - 1))
		return err_set(e, EXIT_SOFTWARE,
		    "time index '%s': offset %" PRId64
		    " below the last entry's", ix->path, offset);
	if (reserve(ix, (ix->entries + 1) * IDX_TIME_ENTRY_SIZE, e) < 0)
		return -1;
	p = ix->map + ix->entries * IDX_TIME_ENTRY_SIZE;
	be64_store(p, (uint64_t)timestamp);
	be32_store(p + 8, (uint32_t)(offset - ix->base_offset));
	ix->entries++;
	ix->unsynced = true;
	return 0;
}

/* Number of entries whose key (offset or timestamp) is <= target. */
static size_t
count_le(const struct idx *ix, int64_t target, bool by_time)
{
	size_t lo = 0, hi = ix->entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t key = by_time ? timestamp_at(ix, mid) :
		    offset_at(ix, mid);

		if (key <= target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
idx_lookup_offset(struct idx *ix, int64_t target, struct idx_offset_entry *out,
    struct err *e)
{
	size_t n;

	out->offset = ix->base_offset;
	out->position = 0;
	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	n = count_le(ix, target, false);
	if (n == 0)
		return 0;
	idx_offset_entry_at(ix, n - 1, out);
	return 1;
}

int
idx_lookup_time(struct idx *ix, int64_t target, struct idx_time_entry *out,
    struct err *e)
{
	size_t n;

	out->timestamp = -1;
	out->offset = ix->base_offset;
	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	n = count_le(ix, target, true);
	if (n == 0)
		return 0;
	idx_time_entry_at(ix, n - 1, out);
	return 1;
}

int
idx_lookup_bound(struct idx *ix, uint64_t max_position, int64_t offset_below,
    struct idx_offset_entry *out, struct err *e)
{
	size_t lo = 0, hi = ix->entries;

	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (position_at(ix, mid) <= max_position &&
		    offset_at(ix, mid) < offset_below)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	idx_offset_entry_at(ix, lo - 1, out);
	return 1;
}

int
idx_last_offset_entry(struct idx *ix, struct idx_offset_entry *out,
    struct err *e)
{
	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	idx_offset_entry_at(ix, ix->entries - 1, out);
	return 1;
}

int
idx_last_time_entry(struct idx *ix, struct idx_time_entry *out, struct err *e)
{
	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	idx_time_entry_at(ix, ix->entries - 1, out);
	return 1;
}

int
idx_truncate_to(struct idx *ix, int64_t offset, struct err *e)
{
	size_t esz = idx_entry_size(ix->kind);
	size_t n;

	if (!ix->writable)
		return err_set(e, EXIT_SOFTWARE, "%s '%s' is read-only",
		    kind_name(ix), ix->path);
	/* Offsets are non-decreasing in both kinds: keep those < offset. */
	n = count_le(ix, offset - 1, false);
	memset(ix->map + n * esz, 0, (ix->entries - n) * esz);
	if (n < ix->entries)
		ix->unsynced = true;
	ix->entries = n;
	return 0;
}

static int
check_entry(struct idx *ix, size_t i, size_t prev, bool has_prev,
    uint64_t log_size, int64_t offset_limit, struct err *e)
{
	int64_t off = offset_at(ix, i);

	if (off >= offset_limit)
		return err_set(e, EXIT_DATAERR,
		    "%s '%s': entry %zu: offset %" PRId64 " not below %" PRId64,
		    kind_name(ix), ix->path, i, off, offset_limit);
	if (ix->kind == IDX_OFFSET) {
		uint32_t pos = position_at(ix, i);

		if (pos >= log_size)
			return err_set(e, EXIT_DATAERR,
			    "index '%s': entry %zu: position %" PRIu32
			    " beyond the log's %" PRIu64 " bytes",
			    ix->path, i, pos, log_size);
		if (has_prev && (off <= offset_at(ix, prev) ||
		    pos <= position_at(ix, prev)))
			return err_set(e, EXIT_DATAERR,
			    "index '%s': entry %zu (offset %" PRId64
			    ", position %" PRIu32 ") not above entry %zu",
			    ix->path, i, off, pos, prev);
		return 0;
	}
	if (timestamp_at(ix, i) < 0)
		return err_set(e, EXIT_DATAERR,
		    "time index '%s': entry %zu: negative timestamp %" PRId64,
		    ix->path, i, timestamp_at(ix, i));
	if (has_prev && (timestamp_at(ix, i) <= timestamp_at(ix, prev) ||
	    off < offset_at(ix, prev)))
		return err_set(e, EXIT_DATAERR,
		    "time index '%s': entry %zu (timestamp %" PRId64
		    ", offset %" PRId64 ") not above entry %zu",
		    ix->path, i, timestamp_at(ix, i), off, prev);
	return 0;
}

int
idx_check(struct idx *ix, uint64_t log_size, int64_t offset_limit, bool full,
    struct err *e)
{
	size_t esz = idx_entry_size(ix->kind);
	bool was_mapped = ix->map != NULL;
	size_t i;
	int r = 0;

	if (ix->file_len % esz != 0)
		return err_set(e, EXIT_DATAERR,
		    "%s '%s': size %zu is not a multiple of %zu", kind_name(ix),
		    ix->path, ix->file_len, esz);
	if (ix->entries == 0)
		return 0;
	if (idx_map(ix, e) < 0)
		return -1;
	if (!full) {
		r = check_entry(ix, 0, 0, false, log_size, offset_limit, e);
		if (r == 0 && ix->entries > 1)
			r = check_entry(ix, ix->entries - 1, 0, true, log_size,
			    offset_limit, e);
		if (!was_mapped && !ix->writable) {
			munmap(ix->map, ix->map_len);
			ix->map = NULL;
			ix->map_len = 0;
		}
		return r;
	}
	for (i = 0; i < ix->entries; i++)
		if (check_entry(ix, i, i - 1, i > 0, log_size, offset_limit,
		    e) < 0)
			return -1;
	return 0;
}
