/* SPDX-License-Identifier: MIT */
/*
 * The topic registry: topics sorted by name, each with its partitions,
 * and its persistence in the data directory. A topic is the file
 * topics.d/<name>.conf ("partitions=N" then its config overrides) plus
 * Kafka's partition directories <name>-<n>/, whose logs the logdir owns
 * (partitions borrow them). Deletion renames the file to <name>.del
 * (short enough for 249-character names) before removing any data, so a
 * crash mid-way is
 * finished at the next start instead of leaving half a topic. Partition
 * directories without a topic file (copied in by hand) are adopted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "logdir.h"
#include "opt.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

#define TOPICS_DIR "topics.d"
#define TOPIC_NAME_MAX 249
#define TOPIC_FILE_MAX (64 * 1024)

int
topic_name_check(const char *name, size_t len, const char **why)
{
	size_t i;

	if (len == 0) {
		*why = "topic name is empty";
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	if (len > TOPIC_NAME_MAX) {
		*why = "topic name is longer than 249 characters";
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		*why = "topic name cannot be '.' or '..'";
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
			*why = "topic names use only ASCII letters, digits, '.', "
			    "'_' and '-'";
			return KERR_INVALID_TOPIC_EXCEPTION;
		}
	}
	*why = NULL;
	return KERR_NONE;
}

static int
topic_cmp(const char *name, size_t len, const struct topic *t)
{
	size_t tl = strlen(t->name);
	int c = memcmp(name, t->name, len < tl ? len : tl);

	if (c != 0)
		return c;
	return len < tl ? -1 : len > tl;
}

/* Index of `name`, or of where it would go (with *found false). */
static size_t
topic_index(const struct logd *ld, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = ld->ntopics;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = topic_cmp(name, len, ld->topics[mid]);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

struct topic *
topic_find(struct logd *ld, const char *name, size_t len)
{
	bool found;
	size_t i;

	if (name == NULL)
		return NULL;
	i = topic_index(ld, name, len, &found);
	return found ? ld->topics[i] : NULL;
}

struct partition *
partition_find(struct logd *ld, struct proto_str topic, int32_t id)
{
	struct topic *t;

	if (topic.len < 0)
		return NULL;
	t = topic_find(ld, topic.p, (size_t)topic.len);
	if (t == NULL || id < 0 || id >= t->npartitions)
		return NULL;
	return t->parts[id];
}

/* The log settings a partition gets from its topic and broker configs. */
static void
plog_config_for(const struct logd *ld, const struct topic *t,
    struct plog_config *pc)
{
	const struct tconf *tc = &t->conf, *bd = &ld->cfg.topic_defaults;

	plog_config_init(pc);
	pc->segment_bytes = tconf_i64(tc, bd, TCONF_SEGMENT_BYTES);
	pc->segment_ms = tconf_i64(tc, bd, TCONF_SEGMENT_MS);
	pc->index_interval_bytes = tconf_i64(tc, bd, TCONF_INDEX_INTERVAL_BYTES);
	pc->index_max_bytes = tconf_i64(tc, bd, TCONF_SEGMENT_INDEX_BYTES);
	pc->retention_ms = tconf_i64(tc, bd, TCONF_RETENTION_MS);
	pc->retention_bytes = tconf_i64(tc, bd, TCONF_RETENTION_BYTES);
	pc->flush_messages = tconf_i64(tc, bd, TCONF_FLUSH_MESSAGES);
	pc->flush_ms = tconf_i64(tc, bd, TCONF_FLUSH_MS);
	/* Recovery must accept any batch produce accepted, even after a
	 * later config change lowered the limit. */
	pc->max_batch_bytes = INT32_MAX;
}

void
partition_apply_config(struct logd *ld, struct partition *p)
{
	struct plog_config pc;
	struct err e = { 0 };

	plog_config_for(ld, p->topic, &pc);
	if (plog_set_config(p->log, &pc, &e) < 0)
		log_warnx("topic=%s partition=%" PRId32 ": %s", p->topic->name,
		    p->id, e.msg);
	ld->flush_parts_stale = true;
}

/* Attach partition `id` of `t`, creating its log when it is new. */
static int
partition_open(struct logd *ld, struct topic *t, int32_t id, struct err *e)
{
	struct plog_config pc;
	struct partition *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	p->topic = t;
	p->id = id;
	plog_config_for(ld, t, &pc);
	p->log = ld_get(ld->dir, t->name, id);
	if (p->log == NULL) {
		if (ld_create(ld->dir, t->name, id, &pc, &p->log, e) < 0) {
			free(p);
			return -1;
		}
	} else if (plog_set_config(p->log, &pc, e) < 0) {
		free(p);
		return -1;
	}
	/* A roll must not stall the loop on the disk (logd_flusher.c). */
	plog_defer_roll_flush(p->log);
	p->leader_epoch = 0;
	/* Role, high watermark and leader-epoch cache: logd_replica.c. */
	if (replica_open(ld, p, e) < 0) {
		free(p);
		return -1;
	}
	producers_load(p);
	t->parts[id] = p;
	ld->flush_parts_stale = true;
	return 0;
}

static void
partition_free(struct logd *ld, struct partition *p)
{
	if (p == NULL)
		return;
	/* Fetches parked on p re-run (and find it gone). */
	park_partition_gone(ld, p);
	flusher_forget(ld, p);
	ld->flush_parts_stale = true;
	producers_release(&p->producers);
	replica_release(p);
	free(p);
}

/* Free the registry's view of a topic; the logs stay with the logdir. */
static void
topic_free(struct logd *ld, struct topic *t)
{
	int32_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npartitions; i++)
		partition_free(ld, t->parts[i]);
	free(t->parts);
	tconf_release(&t->conf);
	free(t->name);
	free(t);
}

static int
topic_file_path(const struct logd *ld, const char *name, const char *ext,
    char *dst, size_t size, struct err *e)
{
	if ((size_t)snprintf(dst, size, "%s/%s/%s%s", ld->cfg.data_dir,
	    TOPICS_DIR, name, ext) >= size)
		return err_set(e, EXIT_CONFIG, "topic path too long for '%s'",
		    name);
	return 0;
}

static int
topic_save(const struct logd *ld, const struct topic *t, struct err *e)
{
	char path[PATH_MAX], *conf;
	struct buf b = BUF_INIT;
	int rc;

	if (topic_file_path(ld, t->name, ".conf", path, sizeof(path), e) < 0)
		return -1;
	conf = tconf_format(&t->conf);
	if (conf == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	buf_printf(&b, "partitions=%" PRId32 "\n%s", t->npartitions, conf);
	free(conf);
	rc = b.failed ? err_set(e, EXIT_OSERR, "out of memory") :
	    file_write_atomic(path, b.data, b.len, e);
	buf_release(&b);
	return rc;
}

static int
topic_insert(struct logd *ld, struct topic *t, struct err *e)
{
	bool found;
	size_t i = topic_index(ld, t->name, strlen(t->name), &found);

	if (found)
		return err_set(e, EXIT_SOFTWARE, "topic '%s' exists", t->name);
	if (ld->ntopics == ld->topics_cap) {
		size_t cap = ld->topics_cap ? ld->topics_cap * 2 : 16;
		struct topic **grown = realloc(ld->topics, cap * sizeof(*grown));

		if (grown == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		ld->topics = grown;
		ld->topics_cap = cap;
	}
	memmove(ld->topics + i + 1, ld->topics + i,
	    (ld->ntopics - i) * sizeof(*ld->topics));
	ld->topics[i] = t;
	ld->ntopics++;
	return 0;
}

static struct topic *
topic_alloc(const char *name, int32_t partitions, const struct tconf *conf)
{
	struct topic *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->name = strdup(name);
	t->parts = calloc((size_t)partitions, sizeof(*t->parts));
	if (t->name == NULL || t->parts == NULL ||
	    (conf != NULL ? tconf_copy(&t->conf, conf) :
	    (tconf_init(&t->conf), 0)) < 0) {
		free(t->name);
		free(t->parts);
		free(t);
		return NULL;
	}
	t->npartitions = partitions;
	t->internal = name[0] == '_' && name[1] == '_';
	return t;
}

/* Open partitions 0..n-1 of a topic being loaded or created. */
static int
topic_open_partitions(struct logd *ld, struct topic *t, struct err *e)
{
	int32_t i;

	for (i = 0; i < t->npartitions; i++)
		if (partition_open(ld, t, i, e) < 0)
			return err_wrap(e, "topic '%s' partition %" PRId32,
			    t->name, i);
	return 0;
}

/*
 * Kafka refuses a topic whose name equals an existing one once '.' and
 * '_' are treated alike (their metric names would collide); so do we.
 */
static const struct topic *
topic_collision(const struct logd *ld, const char *name)
{
	size_t i, j, n = strlen(name);

	for (i = 0; i < ld->ntopics; i++) {
		const char *other = ld->topics[i]->name;

		if (strlen(other) != n || strcmp(other, name) == 0)
			continue;
		for (j = 0; j < n; j++) {
			char a = name[j] == '.' ? '_' : name[j];
			char b = other[j] == '.' ? '_' : other[j];

			if (a != b)
				break;
		}
		if (j == n)
			return ld->topics[i];
	}
	return NULL;
}

int
topic_create(struct logd *ld, const char *name, int32_t partitions,
    const struct tconf *conf, struct topic **out, struct err *e)
{
	const struct topic *clash = topic_collision(ld, name);
	struct topic *t;

	if (clash != NULL)
		return err_set(e, EXIT_DATAERR, "topic '%s' collides with "
		    "existing topic '%s' ('.' and '_' are treated alike)",
		    name, clash->name);
	t = topic_alloc(name, partitions, conf);

	if (t == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (topic_save(ld, t, e) < 0 ||
	    topic_open_partitions(ld, t, e) < 0 ||
	    topic_insert(ld, t, e) < 0) {
		char path[PATH_MAX];
		int32_t i;

		for (i = 0; i < t->npartitions; i++)
			if (t->parts[i] != NULL)
				ld_remove(ld->dir, name, i, NULL);
		if (topic_file_path(ld, name, ".conf", path, sizeof(path),
		    NULL) == 0)
			unlink(path);
		topic_free(ld, t);
		return -1;
	}
	if (out != NULL)
		*out = t;
	return 0;
}

int
topic_add_partitions(struct logd *ld, struct topic *t, int32_t total,
    struct err *e)
{
	struct partition **grown;
	int32_t old = t->npartitions, i;

	grown = realloc(t->parts, (size_t)total * sizeof(*grown));
	if (grown == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	t->parts = grown;
	for (i = old; i < total; i++)
		t->parts[i] = NULL;
	t->npartitions = total;
	for (i = old; i < total; i++)
		if (partition_open(ld, t, i, e) < 0)
			break;
	if (i < total || topic_save(ld, t, e) < 0) {
		int32_t j;

		for (j = old; j < total; j++) {
			if (t->parts[j] != NULL)
				ld_remove(ld->dir, t->name, j, NULL);
			partition_free(ld, t->parts[j]);
			t->parts[j] = NULL;
		}
		t->npartitions = old;
		return -1;
	}
	return 0;
}

int
topic_set_config(struct logd *ld, struct topic *t, const struct tconf *conf,
    struct err *e)
{
	struct tconf old = t->conf;
	int32_t i;

	if (tconf_copy(&t->conf, conf) < 0) {
		t->conf = old;
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	if (topic_save(ld, t, e) < 0) {
		tconf_release(&t->conf);
		t->conf = old;
		return -1;
	}
	tconf_release(&old);
	for (i = 0; i < t->npartitions; i++)
		partition_apply_config(ld, t->parts[i]);
	return 0;
}

/*
 * Remove every partition of `name` the logdir holds, then the topic's
 * ".del" file: the second half of a deletion.
 */
static int
topic_remove_data(struct logd *ld, const char *name, struct err *e)
{
	char path[PATH_MAX];
	size_t i = 0;

	while (i < ld_count(ld->dir)) {
		const struct ld_partition *p = ld_partition_at(ld->dir, i);

		if (strcmp(p->topic, name) != 0) {
			i++;
			continue;
		}
		if (ld_remove(ld->dir, name, p->partition, e) < 0)
			return -1;
	}
	if (topic_file_path(ld, name, ".del", path, sizeof(path), e) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return err_sys(e, EXIT_IOERR, "unable to remove '%s'", path);
	return dir_fsync_of(path, e);
}

int
topic_delete(struct logd *ld, struct topic *t, struct err *e)
{
	char from[PATH_MAX], to[PATH_MAX], name[TOPIC_NAME_MAX + 1];
	bool found;
	size_t i = topic_index(ld, t->name, strlen(t->name), &found);
	int32_t j;

	if (topic_file_path(ld, t->name, ".conf", from, sizeof(from), e) < 0 ||
	    topic_file_path(ld, t->name, ".del", to, sizeof(to), e) < 0)
		return -1;
	if (rename(from, to) < 0)
		return err_sys(e, EXIT_IOERR, "unable to rename '%s'", from);
	/* A pass over a partition must not outlive it. */
	for (j = 0; j < t->npartitions; j++)
		cleaner_forget(ld, t->parts[j]);
	memmove(ld->topics + i, ld->topics + i + 1,
	    (ld->ntopics - i - 1) * sizeof(*ld->topics));
	ld->ntopics--;
	snprintf(name, sizeof(name), "%s", t->name);
	topic_free(ld, t);
	return topic_remove_data(ld, name, e);
}

/* Parse "partitions=N" then config lines; `text` is modified. */
static int
topic_parse_file(char *text, const char *path, int32_t *partitions,
    struct tconf *conf, struct err *e)
{
	char *nl = strchr(text, '\n');
	int64_t n;

	if (strncmp(text, "partitions=", 11) != 0 || nl == NULL)
		return err_set(e, EXIT_DATAERR,
		    "%s:1: expected partitions=N", path);
	*nl = '\0';
	if (opt_parse_i64("partitions", text + 11, 1, 1000000, &n, e) < 0)
		return err_set(e, EXIT_DATAERR, "%s:1: bad partition count '%s'",
		    path, text + 11);
	*partitions = (int32_t)n;
	/* Lines are numbered from 2 in messages by parsing after line 1. */
	return tconf_parse(conf, nl + 1, path, e);
}

static int
topic_load_one(struct logd *ld, const char *file, struct err *e)
{
	char path[PATH_MAX], name[TOPIC_NAME_MAX + 1], *text;
	size_t len = strlen(file) - 5;	/* ".conf" */
	struct tconf conf;
	struct topic *t;
	int32_t partitions = 0;
	const char *why;

	if (len > TOPIC_NAME_MAX ||
	    topic_name_check(file, len, &why) != KERR_NONE) {
		log_warnx("ignoring '%s/%s': not a topic file", TOPICS_DIR, file);
		return 0;
	}
	memcpy(name, file, len);
	name[len] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", ld->cfg.data_dir,
	    TOPICS_DIR, file) >= sizeof(path))
		return err_set(e, EXIT_CONFIG, "path too long for '%s'", file);
	if (file_read_all(path, TOPIC_FILE_MAX, &text, NULL, e) < 0)
		return -1;
	tconf_init(&conf);
	if (topic_parse_file(text, path, &partitions, &conf, e) < 0) {
		free(text);
		tconf_release(&conf);
		return -1;
	}
	free(text);
	t = topic_alloc(name, partitions, &conf);
	tconf_release(&conf);
	if (t == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	if (topic_open_partitions(ld, t, e) < 0 ||
	    topic_insert(ld, t, e) < 0) {
		topic_free(ld, t);
		return -1;
	}
	return 0;
}

/* Finish a deletion interrupted by a crash. */
static void
topic_finish_delete(struct logd *ld, const char *file)
{
	char name[TOPIC_NAME_MAX + 1];
	size_t len = strlen(file) - strlen(".del");
	struct err e = { 0 };

	if (len > TOPIC_NAME_MAX)
		return;
	memcpy(name, file, len);
	name[len] = '\0';
	if (topic_remove_data(ld, name, &e) < 0)
		log_warnx("finishing deletion of topic '%s': %s", name, e.msg);
	else
		log_info("finished deleting topic '%s'", name);
}

/*
 * Partition directories with no topic file become topics with default
 * settings (their count is one more than the highest partition found);
 * stray partitions of a known topic beyond its count are reported.
 */
static int
adopt_orphans(struct logd *ld, struct err *e)
{
	size_t i = 0;

	while (i < ld_count(ld->dir)) {
		const struct ld_partition *p = ld_partition_at(ld->dir, i);
		char name[TOPIC_NAME_MAX + 1];
		struct topic *t;
		int32_t count = 0;
		size_t j;

		t = topic_find(ld, p->topic, strlen(p->topic));
		if (t != NULL) {
			if (p->partition >= t->npartitions)
				log_warnx("ignoring partition directory '%s-%"
				    PRId32 "': topic '%s' has %" PRId32
				    " partitions", p->topic, p->partition,
				    p->topic, t->npartitions);
			i++;
			continue;
		}
		snprintf(name, sizeof(name), "%s", p->topic);
		for (j = i; j < ld_count(ld->dir) &&
		    strcmp(ld_partition_at(ld->dir, j)->topic, name) == 0; j++)
			if (ld_partition_at(ld->dir, j)->partition >= count)
				count = ld_partition_at(ld->dir, j)->partition + 1;
		log_warnx("adopting partition directories of topic '%s' that "
		    "had no %s file: %" PRId32 " partitions, default settings",
		    name, TOPICS_DIR, count);
		if (topic_create(ld, name, count, NULL, NULL, e) < 0)
			return -1;
		i = 0;		/* creating partitions re-sorts the logdir */
	}
	return 0;
}

int
topics_load(struct logd *ld, struct err *e)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (store_open(ld, e) < 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ld->cfg.data_dir,
	    TOPICS_DIR) >= sizeof(path))
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_sys(e, EXIT_CANTCREAT, "unable to create '%s'", path);
	d = opendir(path);
	if (d == NULL)
		return err_sys(e, EXIT_IOERR, "unable to open '%s'", path);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".del") == 0)
			topic_finish_delete(ld, de->d_name);
		else if (n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0)
			rc = topic_load_one(ld, de->d_name, e);
	}
	closedir(d);
	if (rc == 0)
		rc = adopt_orphans(ld, e);
	if (rc == 0)
		log_info("loaded %zu topics from '%s'", ld->ntopics,
		    ld->cfg.data_dir);
	return rc;
}

void
topics_close(struct logd *ld, bool clean)
{
	size_t i;

	/* The high watermarks, while the partitions are still there. */
	if (clean)
		store_checkpoint_hw(ld);
	for (i = 0; i < ld->ntopics; i++)
		topic_free(ld, ld->topics[i]);
	free(ld->topics);
	ld->topics = NULL;
	ld->ntopics = 0;
	free(ld->flush_parts);
	ld->flush_parts = NULL;
	ld->nflush_parts = ld->flush_parts_cap = 0;
	store_close(ld, clean);
}

void
topics_run_retention(struct logd *ld, int64_t now_ms)
{
	size_t i;
	int32_t j;

	for (i = 0; i < ld->ntopics; i++) {
		struct topic *t = ld->topics[i];

		if (!tconf_has(&t->conf, &ld->cfg.topic_defaults,
		    TCONF_CLEANUP_POLICY, "delete"))
			continue;
		for (j = 0; j < t->npartitions; j++) {
			struct partition *p = t->parts[j];
			struct plog_retention_result res;
			struct err e = { 0 };
			int r;

			memset(&res, 0, sizeof(res));
			r = plog_retention(p->log, now_ms, p->high_watermark,
			    &res, &e);
			/* Time retention may roll the active segment. */
			flusher_submit(ld, p);
			if (r < 0) {
				log_warnx("retention: topic=%s partition=%" PRId32
				    ": %s", t->name, p->id, e.msg);
				continue;
			}
			if (res.deleted_by_time + res.deleted_by_size +
			    res.deleted_by_start > 0)
				log_info("retention deleted %d segments (%"
				    PRIu64 " bytes): topic=%s partition=%" PRId32
				    " log_start_offset=%" PRId64,
				    res.deleted_by_time + res.deleted_by_size +
				    res.deleted_by_start, res.bytes_deleted,
				    t->name, p->id, res.log_start_offset);
		}
	}
}

/*
 * The partitions whose topic (or the broker default) sets flush.ms: by
 * default none, and the flush timer then has nothing to walk. Rebuilt
 * after partitions come or go or a config changes.
 */
static void
flush_parts_rebuild(struct logd *ld)
{
	size_t i;
	int32_t j;

	ld->nflush_parts = 0;
	ld->flush_parts_stale = false;
	for (i = 0; i < ld->ntopics; i++) {
		struct topic *t = ld->topics[i];

		if (tconf_i64(&t->conf, &ld->cfg.topic_defaults,
		    TCONF_FLUSH_MS) == PLOG_NEVER)
			continue;
		for (j = 0; j < t->npartitions; j++) {
			if (t->parts[j] == NULL)
				continue;
			if (ld->nflush_parts == ld->flush_parts_cap) {
				size_t cap = ld->flush_parts_cap ?
				    ld->flush_parts_cap * 2 : 16;

				ld->flush_parts = xrealloc(ld->flush_parts,
				    cap * sizeof(*ld->flush_parts));
				ld->flush_parts_cap = cap;
			}
			ld->flush_parts[ld->nflush_parts++] = t->parts[j];
		}
	}
}

bool
topics_flush_timed(const struct logd *ld)
{
	return ld->flush_parts_stale || ld->nflush_parts > 0;
}

void
topics_flush_due(struct logd *ld, int64_t now_ms)
{
	size_t i;

	if (ld->flush_parts_stale)
		flush_parts_rebuild(ld);
	for (i = 0; i < ld->nflush_parts; i++) {
		struct partition *p = ld->flush_parts[i];
		struct err e = { 0 };

		if (plog_maybe_flush(p->log, now_ms, &e) < 0)
			log_warnx("flush: topic=%s partition=%" PRId32
			    ": %s", p->topic->name, p->id, e.msg);
	}
}

int
topics_flush_all(struct logd *ld, struct err *e)
{
	return ld_flush(ld->dir, e);
}

bool
topic_is_compacted(const struct logd *ld, const struct topic *t)
{
	return tconf_has(&t->conf, &ld->cfg.topic_defaults,
	    TCONF_CLEANUP_POLICY, "compact");
}

void
partition_compact_opts(const struct logd *ld, const struct partition *p,
    int64_t now_ms, struct plog_compact_opts *o)
{
	const struct tconf *tc = &p->topic->conf, *bd = &ld->cfg.topic_defaults;

	plog_compact_opts_init(o);
	o->now_ms = now_ms;
	o->min_cleanable_ratio = tconf_double(tc, bd,
	    TCONF_MIN_CLEANABLE_DIRTY_RATIO);
	o->delete_retention_ms = tconf_i64(tc, bd, TCONF_DELETE_RETENTION_MS);
	o->offset_map_bytes = (uint64_t)ld->cfg.cleaner_dedupe_buffer_bytes;
	o->io_bytes_per_sec = (uint64_t)ld->cfg.cleaner_io_bytes_per_sec;
	/* Records not yet committed may still be cut; leave them be. */
	o->first_uncleanable_offset = p->high_watermark;
}

/*
 * Hand every compacted partition to the cleaner thread, which cleans
 * those dirty enough one after the other (logd_cleaner.c).
 */
void
topics_run_compaction(struct logd *ld, int64_t now_ms)
{
	size_t i;
	int32_t j;

	(void)now_ms;
	for (i = 0; i < ld->ntopics; i++) {
		struct topic *t = ld->topics[i];

		if (!topic_is_compacted(ld, t))
			continue;
		for (j = 0; j < t->npartitions; j++)
			cleaner_schedule(ld, t->parts[j]);
	}
}
