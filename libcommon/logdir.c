/* SPDX-License-Identifier: MIT */
/*
 * A data directory of partition logs (see logdir.h): the lock, the
 * clean-shutdown marker, the checkpoint files and the enumeration of
 * `<topic>-<partition>` directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logdir.h"
#include "util.h"
#include "banned.h"

struct logdir {
	char *path;
	int lock_fd;
	bool readonly;
	bool clean;
	bool cleaner_file;	/* cleaner-offset-checkpoint is to be kept */
	struct plog_config cfg;
	struct ld_partition *parts;	/* sorted by topic, then partition */
	size_t n;
	size_t cap;
};

static int
join(char *buf, size_t size, const char *dir, const char *name,
    struct err *e)
{
	if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
		return err_set(e, EXIT_SOFTWARE, "path too long: '%s/%s'", dir,
		    name);
	return 0;
}

static int
cmp_part(const void *a, const void *b)
{
	const struct ld_partition *x = a, *y = b;
	int r = strcmp(x->topic, y->topic);

	if (r != 0)
		return r;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

/*
 * Split "<topic>-<partition>" at the last '-'. 1 with the parts set when
 * the name is one, 0 otherwise.
 */
static int
parse_part_name(const char *name, char *topic, int32_t *partition)
{
	const char *dash = strrchr(name, '-'), *p;
	int64_t v = 0;

	if (dash == NULL || dash == name || dash[1] == '\0' ||
	    (size_t)(dash - name) > CKPT_TOPIC_MAX)
		return 0;
	for (p = dash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || (p > dash + 1 && dash[1] == '0'))
			return 0;
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return 0;
	}
	memcpy(topic, name, (size_t)(dash - name));
	topic[dash - name] = '\0';
	if (!ckpt_topic_valid(topic))
		return 0;
	*partition = (int32_t)v;
	return 1;
}

static int
add_part(struct logdir *ld, const char *topic, int32_t partition,
    struct ld_partition **out, struct err *e)
{
	struct ld_partition *p;

	if (ld->n == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 16;

		p = realloc(ld->parts, cap * sizeof(*p));
		if (p == NULL)
			return err_set(e, EXIT_OSERR, "out of memory");
		ld->parts = p;
		ld->cap = cap;
	}
	p = &ld->parts[ld->n];
	memset(p, 0, sizeof(*p));
	memcpy(p->topic, topic, strlen(topic) + 1);
	p->partition = partition;
	*out = p;
	return 0;
}

/* Read a checkpoint file; a missing one is empty. */
static int
read_ckpt(const struct logdir *ld, const char *name, struct ckpt *c,
    struct err *e)
{
	char path[PATH_MAX];

	if (join(path, sizeof(path), ld->path, name, e) < 0)
		return -1;
	if (ckpt_read(path, c, e) == 0)
		return 0;
	return e != NULL && e->code == EXIT_NOINPUT ? 0 : -1;
}

static int
open_part(struct logdir *ld, const char *name, const struct ckpt *rp,
    const struct ckpt *lso, const struct ckpt *cln, struct err *e)
{
	char topic[CKPT_TOPIC_MAX + 1], path[PATH_MAX];
	int64_t recovery_point = 0, start = 0, cleaned;
	struct ld_partition *p;
	int32_t partition;
	unsigned flags = 0;
	struct stat st;

	if (!parse_part_name(name, topic, &partition))
		return 0;
	if (join(path, sizeof(path), ld->path, name, e) < 0)
		return -1;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	ckpt_get(rp, topic, partition, &recovery_point);
	ckpt_get(lso, topic, partition, &start);
	if (ld->clean)
		flags |= PLOG_OPEN_CLEAN;
	if (ld->readonly)
		flags |= PLOG_OPEN_READONLY;
	if (add_part(ld, topic, partition, &p, e) < 0)
		return -1;
	if (plog_open(path, &ld->cfg, recovery_point, start, flags, &p->report,
	    &p->log, e) < 0)
		return -1;
	if (ckpt_get(cln, topic, partition, &cleaned))
		plog_set_cleaner_checkpoint(p->log, cleaned);
	ld->n++;
	return 0;
}

/* A partition directory renamed by ld_remove(): "<name>.<ms>-delete". */
static bool
is_deleted_name(const char *name)
{
	size_t n = strlen(name);

	return n > 7 && strcmp(name + n - 7, "-delete") == 0 &&
	    strchr(name, '.') != NULL;
}

/* Remove a partition directory and the files in it (it has no subdirs). */
static int
remove_part_dir(const struct logdir *ld, const char *name, struct err *e)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if (join(path, sizeof(path), ld->path, name, e) < 0)
		return -1;
	dir = opendir(path);
	if (dir == NULL)
		return err_sys(e, EXIT_IOERR, "unable to open '%s'", path);
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (join(file, sizeof(file), path, d->d_name, e) < 0 ||
		    unlink(file) < 0) {
			if (e != NULL && e->code == 0)
				err_sys(e, EXIT_IOERR, "unable to remove '%s'",
				    file);
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	if (rmdir(path) < 0)
		return err_sys(e, EXIT_IOERR, "unable to remove '%s'", path);
	return dir_fsync_of(path, e);
}

static int
load_parts(struct logdir *ld, struct err *e)
{
	char path[PATH_MAX];
	struct ckpt rp, lso, cln;
	struct dirent *d;
	DIR *dir = NULL;
	int r = -1;

	ckpt_init(&rp);
	ckpt_init(&lso);
	ckpt_init(&cln);
	if (join(path, sizeof(path), ld->path, LD_CLEANER_FILE, e) < 0)
		goto out;
	ld->cleaner_file = access(path, F_OK) == 0;
	if (read_ckpt(ld, LD_RECOVERY_POINT_FILE, &rp, e) < 0 ||
	    read_ckpt(ld, LD_LOG_START_FILE, &lso, e) < 0 ||
	    read_ckpt(ld, LD_CLEANER_FILE, &cln, e) < 0)
		goto out;
	if ((dir = opendir(ld->path)) == NULL) {
		err_sys(e, EXIT_IOERR, "unable to open data directory '%s'",
		    ld->path);
		goto out;
	}
	while ((errno = 0, d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (is_deleted_name(d->d_name)) {
			if (!ld->readonly && remove_part_dir(ld, d->d_name, e) < 0)
				goto out;
			continue;
		}
		if (open_part(ld, d->d_name, &rp, &lso, &cln, e) < 0)
			goto out;
	}
	if (errno != 0) {
		err_sys(e, EXIT_IOERR, "unable to read data directory '%s'",
		    ld->path);
		goto out;
	}
	if (ld->n > 1)
		qsort(ld->parts, ld->n, sizeof(*ld->parts), cmp_part);
	r = 0;
out:
	if (dir != NULL)
		closedir(dir);
	ckpt_release(&rp);
	ckpt_release(&lso);
	ckpt_release(&cln);
	return r;
}

static int
take_lock(struct logdir *ld, struct err *e)
{
	char path[PATH_MAX], pid[24];
	int pid_len;

	if (join(path, sizeof(path), ld->path, LD_LOCK_FILE, e) < 0)
		return -1;
	ld->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ld->lock_fd < 0)
		return err_sys(e, EXIT_CANTCREAT,
		    "unable to open lock file '%s'", path);
	if (flock(ld->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		char held[24] = "";
		ssize_t n;

		if (errno != EWOULDBLOCK)
			return err_sys(e, EXIT_IOERR, "unable to lock '%s'",
			    path);
		n = pread(ld->lock_fd, held, sizeof(held) - 1, 0);
		held[n > 0 ? n : 0] = '\0';
		held[strcspn(held, "\n")] = '\0';
		return err_set(e, EXIT_TEMPFAIL, "data directory '%s' is in use "
		    "by another process%s%s%s", ld->path,
		    held[0] ? " (pid " : "", held, held[0] ? ")" : "");
	}
	/* The holder's pid, for the message a second process gets. */
	pid_len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(ld->lock_fd, 0) < 0 ||
	    pwrite(ld->lock_fd, pid, (size_t)pid_len, 0) != pid_len)
		return err_sys(e, EXIT_IOERR, "unable to write '%s'", path);
	return 0;
}

int
ld_open(const char *path, const struct plog_config *cfg, unsigned flags,
    struct logdir **out, struct err *e)
{
	char marker[PATH_MAX];
	struct logdir *ld;
	struct stat st;

	if (plog_config_check(cfg, e) < 0)
		return -1;
	ld = calloc(1, sizeof(*ld));
	if (ld == NULL || (ld->path = strdup(path)) == NULL) {
		free(ld);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	ld->lock_fd = -1;
	ld->cfg = *cfg;
	ld->readonly = flags & LD_OPEN_READONLY;
	if ((flags & LD_OPEN_CREATE) && !ld->readonly &&
	    mkdir(path, 0755) < 0 && errno != EEXIST) {
		err_sys(e, EXIT_CANTCREAT,
		    "unable to create data directory '%s'", path);
		goto fail;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, EXIT_NOINPUT, "data directory '%s' does not exist",
		    path);
		goto fail;
	}
	if (!ld->readonly && take_lock(ld, e) < 0)
		goto fail;
	if (join(marker, sizeof(marker), path, LD_CLEAN_SHUTDOWN_FILE, e) < 0)
		goto fail;
	ld->clean = access(marker, F_OK) == 0;
	if (load_parts(ld, e) < 0)
		goto fail;
	/* From here on a crash must not look like a clean shutdown. */
	if (ld->clean && !ld->readonly && (unlink(marker) < 0 ||
	    dir_fsync_of(marker, e) < 0)) {
		err_sys(e, EXIT_IOERR, "unable to remove '%s'", marker);
		goto fail;
	}
	*out = ld;
	return 0;
fail:
	ld_free(ld);
	return -1;
}

bool
ld_clean_shutdown(const struct logdir *ld)
{
	return ld->clean;
}

const char *
ld_path(const struct logdir *ld)
{
	return ld->path;
}

size_t
ld_count(const struct logdir *ld)
{
	return ld->n;
}

const struct ld_partition *
ld_partition_at(const struct logdir *ld, size_t i)
{
	return i < ld->n ? &ld->parts[i] : NULL;
}

struct plog *
ld_get(const struct logdir *ld, const char *topic, int32_t partition)
{
	struct ld_partition key, *p;

	if (ld->n == 0 || strlen(topic) > CKPT_TOPIC_MAX)
		return NULL;
	memcpy(key.topic, topic, strlen(topic) + 1);
	key.partition = partition;
	p = bsearch(&key, ld->parts, ld->n, sizeof(*ld->parts), cmp_part);
	return p != NULL ? p->log : NULL;
}

int
ld_create(struct logdir *ld, const char *topic, int32_t partition,
    const struct plog_config *cfg, struct plog **out, struct err *e)
{
	char name[CKPT_TOPIC_MAX + 16], path[PATH_MAX];
	struct ld_partition *p;

	if (ld->readonly)
		return err_set(e, EXIT_SOFTWARE, "data directory '%s' is open "
		    "read-only", ld->path);
	if (!ckpt_topic_valid(topic) || partition < 0)
		return err_set(e, EXIT_DATAERR, "invalid partition '%s-%" PRId32
		    "'", topic, partition);
	if (ld_get(ld, topic, partition) != NULL)
		return err_set(e, EXIT_CANTCREAT, "partition %s-%" PRId32
		    " already exists in '%s'", topic, partition, ld->path);
	snprintf(name, sizeof(name), "%s-%" PRId32, topic, partition);
	if (join(path, sizeof(path), ld->path, name, e) < 0)
		return -1;
	if (mkdir(path, 0755) < 0)
		return err_sys(e, errno == EEXIST ? EXIT_CANTCREAT : EXIT_IOERR,
		    "unable to create partition directory '%s'", path);
	if (add_part(ld, topic, partition, &p, e) < 0 ||
	    plog_open(path, cfg != NULL ? cfg : &ld->cfg, 0, 0, 0, &p->report,
	    &p->log, e) < 0 || dir_fsync_of(path, e) < 0) {
		plog_free(p->log);
		/* Leave nothing behind that a later open would take for data. */
		remove_part_dir(ld, name, NULL);
		return -1;
	}
	if (++ld->n > 1)
		qsort(ld->parts, ld->n, sizeof(*ld->parts), cmp_part);
	if (out != NULL)
		*out = ld_get(ld, topic, partition);
	return 0;
}

int
ld_remove(struct logdir *ld, const char *topic, int32_t partition,
    struct err *e)
{
	char name[CKPT_TOPIC_MAX + 16], gone[CKPT_TOPIC_MAX + 48];
	char from[PATH_MAX], to[PATH_MAX];
	struct ld_partition key, *p;
	size_t i;

	if (ld->readonly)
		return err_set(e, EXIT_SOFTWARE, "data directory '%s' is open "
		    "read-only", ld->path);
	if (strlen(topic) > CKPT_TOPIC_MAX)
		return err_set(e, EXIT_DATAERR, "invalid topic '%s'", topic);
	memcpy(key.topic, topic, strlen(topic) + 1);
	key.partition = partition;
	p = ld->n ? bsearch(&key, ld->parts, ld->n, sizeof(*ld->parts),
	    cmp_part) : NULL;
	if (p == NULL)
		return err_set(e, EXIT_DATAERR, "no partition %s-%" PRId32
		    " in '%s'", topic, partition, ld->path);
	snprintf(name, sizeof(name), "%s-%" PRId32, topic, partition);
	/*
	 * A 249-character topic leaves no room for the suffix within a
	 * 255-byte file name: shorten the topic part, as Kafka does.
	 */
	{
		char suffix[48];
		int slen = snprintf(suffix, sizeof(suffix), "-%" PRId32 ".%" PRId64
		    "-delete", partition, clock_wall_ms());
		int keep = (int)strlen(topic);

		if (keep > 255 - slen)
			keep = 255 - slen;
		snprintf(gone, sizeof(gone), "%.*s%s", keep, topic, suffix);
	}
	if (join(from, sizeof(from), ld->path, name, e) < 0 ||
	    join(to, sizeof(to), ld->path, gone, e) < 0)
		return -1;
	plog_close(p->log, NULL);
	i = (size_t)(p - ld->parts);
	memmove(ld->parts + i, ld->parts + i + 1,
	    (ld->n - i - 1) * sizeof(*ld->parts));
	ld->n--;
	/* After the rename the partition is gone even if removal stops. */
	if (rename(from, to) < 0)
		return err_sys(e, EXIT_IOERR, "unable to rename '%s'", from);
	if (dir_fsync_of(to, e) < 0)
		return -1;
	return remove_part_dir(ld, gone, e);
}

int
ld_checkpoint(struct logdir *ld, struct err *e)
{
	char path[PATH_MAX];
	struct ckpt rp, lso, cln;
	size_t i;
	int r = -1;

	if (ld->readonly)
		return 0;
	ckpt_init(&rp);
	ckpt_init(&lso);
	ckpt_init(&cln);
	for (i = 0; i < ld->n; i++) {
		const struct ld_partition *p = &ld->parts[i];
		int64_t cleaned = plog_cleaner_checkpoint(p->log);

		if (ckpt_set(&rp, p->topic, p->partition,
		    plog_recovery_point(p->log), e) < 0 ||
		    ckpt_set(&lso, p->topic, p->partition,
		    plog_start_offset(p->log), e) < 0 ||
		    (cleaned >= 0 && ckpt_set(&cln, p->topic, p->partition,
		    cleaned, e) < 0))
			goto out;
	}
	if (join(path, sizeof(path), ld->path, LD_RECOVERY_POINT_FILE, e) < 0 ||
	    ckpt_write(path, &rp, e) < 0 ||
	    join(path, sizeof(path), ld->path, LD_LOG_START_FILE, e) < 0 ||
	    ckpt_write(path, &lso, e) < 0)
		goto out;
	/* Like Kafka's, but only once some log has been compacted. */
	if (cln.count > 0 || ld->cleaner_file) {
		if (join(path, sizeof(path), ld->path, LD_CLEANER_FILE, e) < 0 ||
		    ckpt_write(path, &cln, e) < 0)
			goto out;
		ld->cleaner_file = true;
	}
	r = 0;
out:
	ckpt_release(&rp);
	ckpt_release(&lso);
	ckpt_release(&cln);
	return r;
}

int
ld_flush(struct logdir *ld, struct err *e)
{
	size_t i;

	for (i = 0; i < ld->n; i++)
		if (plog_flush(ld->parts[i].log, e) < 0)
			return -1;
	return ld_checkpoint(ld, e);
}

static int
write_marker(const struct logdir *ld, struct err *e)
{
	char path[PATH_MAX];
	int fd;

	if (join(path, sizeof(path), ld->path, LD_CLEAN_SHUTDOWN_FILE, e) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to create '%s'",
		    path);
	if (fsync(fd) < 0) {
		err_sys(e, EXIT_IOERR, "unable to fsync '%s'", path);
		close(fd);
		return -1;
	}
	close(fd);
	return dir_fsync_of(path, e);
}

int
ld_close(struct logdir *ld, struct err *e)
{
	int r = 0;
	size_t i;

	if (ld == NULL)
		return 0;
	if (!ld->readonly && ld_flush(ld, e) < 0)
		r = -1;
	for (i = 0; i < ld->n; i++) {
		if (plog_close(ld->parts[i].log, r < 0 ? NULL : e) < 0)
			r = -1;
		ld->parts[i].log = NULL;
	}
	if (r == 0 && !ld->readonly && write_marker(ld, e) < 0)
		r = -1;
	ld_free(ld);
	return r;
}

void
ld_free(struct logdir *ld)
{
	size_t i;

	if (ld == NULL)
		return;
	for (i = 0; i < ld->n; i++)
		plog_free(ld->parts[i].log);
	if (ld->lock_fd >= 0)
		close(ld->lock_fd);
	free(ld->parts);
	free(ld->path);
	free(ld);
}
