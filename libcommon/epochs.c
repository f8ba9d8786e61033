/* SPDX-License-Identifier: MIT */
/*
 * The leader-epoch cache (see epochs.h), with the semantics of Kafka's
 * LeaderEpochFileCache: entries are kept with strictly increasing epochs
 * and strictly increasing start offsets; every change is written to
 * `leader-epoch-checkpoint` at once (temp file, fsync, rename) so the file
 * never misses an epoch the log may hold, unless the file already holds
 * exactly those entries. Writes may be deferred over a sequence of
 * changes that involves no append (a partition's opening), so that only
 * the net change is written. The file has the framing of the
 * offset checkpoints, read and written by ckpt's line functions, which
 * are strict: a file that is not exactly what this module (or Kafka)
 * writes is refused with the line at fault.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ckpt.h"
#include "epochs.h"
#include "util.h"
#include "banned.h"

#define EPOCHS_FILE "leader-epoch-checkpoint"
/* A cache holds one entry per leader change still in the log. */
#define EPOCHS_MAX_FILE (16u << 20)

struct epoch_cache {
	char path[PATH_MAX];
	struct epoch_entry *v;		/* ascending epochs and offsets */
	size_t n, cap;
	struct epoch_entry *disk;	/* what the file holds, when on_disk */
	size_t ndisk, capdisk;
	bool on_disk;			/* the file exists with `disk` in it */
	bool deferred;			/* writes held until epoch_cache_flush */
};

void
epoch_cache_close(struct epoch_cache *c)
{
	if (c == NULL)
		return;
	free(c->v);
	free(c->disk);
	free(c);
}

int32_t
epoch_cache_latest(const struct epoch_cache *c)
{
	return c->n > 0 ? c->v[c->n - 1].epoch : -1;
}

size_t
epoch_cache_count(const struct epoch_cache *c)
{
	return c->n;
}

const struct epoch_entry *
epoch_cache_entry(const struct epoch_cache *c, size_t i)
{
	return i < c->n ? &c->v[i] : NULL;
}

static int
push(struct epoch_cache *c, int32_t epoch, int64_t start, struct err *e)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct epoch_entry *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].epoch = epoch;
	c->v[c->n].start_offset = start;
	c->n++;
	return 0;
}

static void
put_entry(const void *arg, size_t i, struct buf *b)
{
	const struct epoch_cache *c = arg;
	const struct epoch_entry *ent = &c->v[i];

	buf_printf(b, "%" PRId32 " %" PRId64 "\n", ent->epoch,
	    ent->start_offset);
}

/* Remember the entries as what the file now holds. */
static int
note_on_disk(struct epoch_cache *c, struct err *e)
{
	if (c->capdisk < c->n) {
		struct epoch_entry *v = realloc(c->disk, c->n * sizeof(*v));

		if (v == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		c->disk = v;
		c->capdisk = c->n;
	}
	if (c->n > 0)
		memcpy(c->disk, c->v, c->n * sizeof(*c->v));
	c->ndisk = c->n;
	c->on_disk = true;
	return 0;
}

static bool
same_as_disk(const struct epoch_cache *c)
{
	return c->on_disk && c->ndisk == c->n &&
	    (c->n == 0 || memcmp(c->disk, c->v, c->n * sizeof(*c->v)) == 0);
}

/*
 * Persist the entries, unless writes are deferred or the file already
 * holds exactly them: each write is a temp file, two fsyncs and a rename,
 * and a start would otherwise drop and re-add the entry of every empty
 * partition (truncation at end offset 0, then the leader's assign).
 */
static int
write_file(struct epoch_cache *c, struct err *e)
{
	if (c->deferred || same_as_disk(c))
		return 0;
	if (ckpt_write_lines(c->path, c->n, put_entry, c, e) < 0) {
		/* The rename may have happened: rewrite next time. */
		c->on_disk = false;
		return -1;
	}
	return note_on_disk(c, e);
}

/* Parse "<epoch> <start offset>" and check it extends the cache. */
static const char *
parse_entry(const struct epoch_cache *c, const char *s, size_t len,
    struct epoch_entry *out)
{
	const char *sp = memchr(s, ' ', len);
	int64_t epoch;

	if (sp == NULL)
		return "expected '<epoch> <start offset>'";
	if (!ckpt_parse_num(s, (size_t)(sp - s), INT32_MAX, &epoch))
		return "invalid epoch";
	if (!ckpt_parse_num(sp + 1, len - (size_t)(sp + 1 - s), INT64_MAX,
	    &out->start_offset))
		return "invalid start offset";
	out->epoch = (int32_t)epoch;
	/* Kafka's assign() keeps both columns strictly increasing. */
	if (c->n > 0 && out->epoch <= c->v[c->n - 1].epoch)
		return "epoch not above the previous entry's";
	if (c->n > 0 && out->start_offset <= c->v[c->n - 1].start_offset)
		return "start offset not above the previous entry's";
	return NULL;
}

static int
read_entry(void *arg, const char *line, size_t len, struct err *e)
{
	struct epoch_cache *c = arg;
	struct epoch_entry ent;
	const char *why = parse_entry(c, line, len, &ent);

	if (why != NULL)
		return err_set(e, EXIT_DATAERR, "%s", why);
	return push(c, ent.epoch, ent.start_offset, e);
}

/* Read the checkpoint file into the empty cache `c` (absent: empty). */
static int
read_file(struct epoch_cache *c, struct err *e)
{
	if (ckpt_read_lines(c->path, EPOCHS_MAX_FILE, read_entry, c, e) < 0)
		return e->code == EXIT_NOINPUT ? 0 : -1;
	c->on_disk = true;
	return 0;
}

int
epoch_cache_open(const char *dir, struct epoch_cache **out, struct err *e)
{
	struct epoch_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/%s", dir,
	    EPOCHS_FILE) >= sizeof(c->path)) {
		free(c);
		return err_set(e, EXIT_IOERR, "path too long: '%s/%s'", dir,
		    EPOCHS_FILE);
	}
	if (read_file(c, e) < 0 || (c->on_disk && note_on_disk(c, e) < 0)) {
		epoch_cache_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
epoch_cache_defer(struct epoch_cache *c)
{
	c->deferred = true;
}

int
epoch_cache_flush(struct epoch_cache *c, struct err *e)
{
	c->deferred = false;
	return write_file(c, e);
}

int
epoch_cache_assign(struct epoch_cache *c, int32_t epoch,
    int64_t start_offset, struct err *e)
{
	const struct epoch_entry *last = c->n ? &c->v[c->n - 1] : NULL;

	if (epoch < 0 || start_offset < 0)
		return err_set(e, EXIT_SOFTWARE, "'%s': invalid leader epoch "
		    "entry (epoch %" PRId32 ", start offset %" PRId64 ")",
		    c->path, epoch, start_offset);
	/* The latest epoch at or after its known start: nothing new. */
	if (last != NULL && last->epoch == epoch &&
	    start_offset >= last->start_offset)
		return 0;
	/*
	 * Entries the new one contradicts (a later or equal epoch, or an
	 * offset it now claims) describe a log that was truncated: drop them.
	 */
	while (c->n > 0 && (c->v[c->n - 1].epoch >= epoch ||
	    c->v[c->n - 1].start_offset >= start_offset))
		c->n--;
	if (push(c, epoch, start_offset, e) < 0)
		return -1;
	return write_file(c, e);
}

int
epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset,
    struct err *e)
{
	size_t n = c->n;

	if (end_offset < 0)
		return 0;
	while (n > 0 && c->v[n - 1].start_offset >= end_offset)
		n--;
	if (n == c->n)
		return 0;
	c->n = n;
	return write_file(c, e);
}

int
epoch_cache_truncate_from_start(struct epoch_cache *c,
    int64_t start_offset, struct err *e)
{
	size_t drop = 0;

	while (drop < c->n && c->v[drop].start_offset <= start_offset)
		drop++;
	if (drop == 0)
		return 0;
	/* The last entry at or below the new start still owns it. */
	if (drop == 1 && c->v[0].start_offset == start_offset)
		return 0;
	c->v[drop - 1].start_offset = start_offset;
	memmove(c->v, c->v + drop - 1, (c->n - drop + 1) * sizeof(*c->v));
	c->n -= drop - 1;
	return write_file(c, e);
}

int
epoch_cache_clear(struct epoch_cache *c, struct err *e)
{
	c->n = 0;
	return write_file(c, e);
}

void
epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t epoch,
    int64_t log_end_offset, int32_t *out_epoch, int64_t *out_end_offset)
{
	size_t i;

	*out_epoch = -1;
	*out_end_offset = -1;
	if (epoch < 0 || c->n == 0)
		return;
	/* The current epoch is still being written: it ends at the LEO. */
	if (epoch == c->v[c->n - 1].epoch) {
		*out_epoch = epoch;
		*out_end_offset = log_end_offset;
		return;
	}
	/* The first entry above the requested epoch ends it. */
	for (i = 0; i < c->n && c->v[i].epoch <= epoch; i++)
		;
	if (i == c->n)
		return;		/* above every known epoch */
	*out_end_offset = c->v[i].start_offset;
	/*
	 * Below every known epoch: Kafka (KIP-279) answers with the epoch as
	 * asked and where the first known one starts, so the follower keeps
	 * what lies below the leader's oldest history.
	 */
	*out_epoch = i > 0 ? c->v[i - 1].epoch : epoch;
}
