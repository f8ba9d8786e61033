/* SPDX-License-Identifier: MIT */
/*
 * The data directory as a whole, laid out as Kafka's: an exclusive lock
 * (.lock, holding the owner's pid), meta.properties (broker.id and
 * cluster.id, written on first start and checked on every later one), the
 * clean-shutdown marker (.klog_cleanshutdown) that lets a restart skip
 * log recovery, and the checkpoint files recovery-point-offset-checkpoint
 * and log-start-offset-checkpoint ("0\n<count>\n<topic> <part> <offset>").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "logd.h"
#include "opt.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

#define LOCK_FILE ".lock"
#define CLEAN_MARKER ".klog_cleanshutdown"
#define META_FILE "meta.properties"
#define RECOVERY_CKPT "recovery-point-offset-checkpoint"
#define START_CKPT "log-start-offset-checkpoint"
#define CKPT_MAX_BYTES (64 << 20)

struct ckpt_entry {
	char *topic;
	int32_t partition;
	int64_t offset;
};

/* Checkpoints read at start-up, consulted while partitions open. */
struct store_state {
	int lock_fd;
	struct ckpt_entry *recovery, *start;
	size_t nrecovery, nstart;
};

static struct store_state *
state(struct logd *ld)
{
	return (struct store_state *)ld->store;
}

static int
data_path(const struct logd *ld, const char *name, char *dst, size_t size,
    struct err *e)
{
	if ((size_t)snprintf(dst, size, "%s/%s", ld->cfg.data_dir, name) >= size)
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	return 0;
}

static int
take_lock(struct logd *ld, struct store_state *s, struct err *e)
{
	char path[PATH_MAX], pid[32], held[32] = "";
	ssize_t n;
	int len;

	if (data_path(ld, LOCK_FILE, path, sizeof(path), e) < 0)
		return -1;
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0)
		return err_sys(e, EXIT_CANTCREAT, "unable to open '%s'", path);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(s->lock_fd, held, sizeof(held) - 1, 0);
		held[n > 0 ? n : 0] = '\0';
		held[strcspn(held, "\n")] = '\0';
		return err_set(e, EXIT_TEMPFAIL, "data directory '%s' is in use "
		    "by another logd%s%s%s", ld->cfg.data_dir,
		    held[0] ? " (pid " : "", held, held[0] ? ")" : "");
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) < 0 ||
	    pwrite(s->lock_fd, pid, (size_t)len, 0) != len)
		return err_sys(e, EXIT_IOERR, "unable to write '%s'", path);
	return 0;
}

/* A random cluster id: 16 bytes in unpadded base64url, as Kafka's. */
static void
new_cluster_id(char *dst, size_t size)
{
	uint8_t raw[16];
	struct buf b = BUF_INIT;
	size_t i, j = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		int64_t t = clock_wall_ms() ^ (int64_t)getpid() << 20;

		memcpy(raw, &t, sizeof(t));
		memcpy(raw + 8, &t, sizeof(t));
	}
	json_base64_put(&b, raw, sizeof(raw));
	for (i = 0; i < b.len && j + 1 < size; i++) {
		char c = (char)b.data[i];

		if (c == '=')
			break;
		dst[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	dst[j] = '\0';
	buf_release(&b);
}

/* Value of `key=` in properties text, copied to dst; false if absent. */
static bool
prop_get(const char *text, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, "\r\n");

			if (n >= size)
				return false;
			memcpy(dst, v, n);
			dst[n] = '\0';
			return true;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

static int
check_meta(struct logd *ld, struct err *e)
{
	char path[PATH_MAX], id[32], cluster[64], line[256], *text;
	int64_t stored_id;
	int n;

	if (data_path(ld, META_FILE, path, sizeof(path), e) < 0)
		return -1;
	if (file_read_all(path, 65536, &text, NULL, e) < 0) {
		if (e->code != EXIT_NOINPUT)
			return -1;
		/* First start: format the directory. */
		if (ld->cfg.cluster_id[0] == '\0')
			new_cluster_id(ld->cfg.cluster_id,
			    sizeof(ld->cfg.cluster_id));
		n = snprintf(line, sizeof(line), "#written by logd %s\n"
		    "version=0\nbroker.id=%" PRId32 "\ncluster.id=%s\n",
		    KLOG_VERSION, ld->cfg.broker_id, ld->cfg.cluster_id);
		log_info("formatting data directory '%s': broker.id=%" PRId32
		    " cluster.id=%s", ld->cfg.data_dir, ld->cfg.broker_id,
		    ld->cfg.cluster_id);
		return file_write_atomic(path, line, (size_t)n, e);
	}
	if (!prop_get(text, "broker.id", id, sizeof(id)) ||
	    !prop_get(text, "cluster.id", cluster, sizeof(cluster)) ||
	    opt_parse_i64("broker.id", id, 0, INT32_MAX, &stored_id, e) < 0) {
		free(text);
		return err_set(e, EXIT_CONFIG, "'%s' lacks a valid broker.id or "
		    "cluster.id", path);
	}
	free(text);
	if (stored_id != ld->cfg.broker_id)
		return err_set(e, EXIT_CONFIG, "data directory '%s' belongs to "
		    "broker %" PRId64 ", not broker %" PRId32, ld->cfg.data_dir,
		    stored_id, ld->cfg.broker_id);
	if (ld->cfg.cluster_id[0] != '\0' &&
	    strcmp(ld->cfg.cluster_id, cluster) != 0)
		return err_set(e, EXIT_CONFIG, "data directory '%s' belongs to "
		    "cluster '%s', not '%s'", ld->cfg.data_dir, cluster,
		    ld->cfg.cluster_id);
	snprintf(ld->cfg.cluster_id, sizeof(ld->cfg.cluster_id), "%s", cluster);
	return 0;
}

static void
ckpt_free(struct ckpt_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].topic);
	free(v);
}

/* Read a Kafka checkpoint file; a missing file is an empty one. */
static int
ckpt_read(const char *path, struct ckpt_entry **out, size_t *n_out,
    struct err *e)
{
	char *text, *line, *next;
	struct ckpt_entry *v = NULL;
	int64_t count = 0;
	size_t n = 0;
	int lineno = 0;

	*out = NULL;
	*n_out = 0;
	if (file_read_all(path, CKPT_MAX_BYTES, &text, NULL, e) < 0)
		return e->code == EXIT_NOINPUT ? 0 : -1;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		char topic[256], extra;
		long long part, off;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "0") != 0)
				goto bad;
			continue;
		}
		if (lineno == 2) {
			if (opt_parse_i64("count", line, 0, 10000000, &count,
			    e) < 0)
				goto bad;
			v = calloc((size_t)count + 1, sizeof(*v));
			if (v == NULL)
				goto bad;
			continue;
		}
		if ((int64_t)n >= count ||
		    sscanf(line, "%255s %lld %lld %c", topic, &part, &off,
		    &extra) != 3 || part < 0 || part > INT32_MAX || off < 0)
			goto bad;
		v[n].topic = strdup(topic);
		if (v[n].topic == NULL)
			goto bad;
		v[n].partition = (int32_t)part;
		v[n].offset = off;
		n++;
	}
	if (lineno < 2 || (int64_t)n != count)
		goto bad;
	free(text);
	*out = v;
	*n_out = n;
	return 0;
bad:
	ckpt_free(v, n);
	free(text);
	return err_set(e, EXIT_DATAERR, "%s:%d: malformed checkpoint file",
	    path, lineno);
}

static int64_t
ckpt_find(const struct ckpt_entry *v, size_t n, const char *topic,
    int32_t partition)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].partition == partition && strcmp(v[i].topic, topic) == 0)
			return v[i].offset;
	return 0;
}

void
ckpt_lookup(struct logd *ld, const char *topic, int32_t partition,
    int64_t *recovery_point, int64_t *log_start_offset)
{
	struct store_state *s = state(ld);

	*recovery_point = ckpt_find(s->recovery, s->nrecovery, topic, partition);
	*log_start_offset = ckpt_find(s->start, s->nstart, topic, partition);
}

int
store_open(struct logd *ld, bool *clean, struct err *e)
{
	struct store_state *s;
	char path[PATH_MAX];

	if (mkdir(ld->cfg.data_dir, 0755) < 0 && errno != EEXIST)
		return err_sys(e, EXIT_CANTCREAT,
		    "unable to create data directory '%s'", ld->cfg.data_dir);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	s->lock_fd = -1;
	ld->store = s;
	if (take_lock(ld, s, e) < 0 || check_meta(ld, e) < 0)
		return -1;
	if (data_path(ld, CLEAN_MARKER, path, sizeof(path), e) < 0)
		return -1;
	*clean = access(path, F_OK) == 0;
	/* From here on a crash must trigger recovery at the next start. */
	if (*clean && (unlink(path) < 0 || dir_fsync_of(path, e) < 0))
		return err_sys(e, EXIT_IOERR, "unable to remove '%s'", path);
	if (!*clean)
		log_info("no clean-shutdown marker in '%s': recovering logs",
		    ld->cfg.data_dir);
	if (data_path(ld, RECOVERY_CKPT, path, sizeof(path), e) < 0 ||
	    ckpt_read(path, &s->recovery, &s->nrecovery, e) < 0)
		return -1;
	if (data_path(ld, START_CKPT, path, sizeof(path), e) < 0 ||
	    ckpt_read(path, &s->start, &s->nstart, e) < 0)
		return -1;
	return 0;
}

static int
ckpt_write(struct logd *ld, const char *name, bool recovery, struct err *e)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	size_t i, count = 0;
	int32_t j;
	int rc;

	for (i = 0; i < ld->ntopics; i++)
		count += (size_t)ld->topics[i]->npartitions;
	buf_printf(&b, "0\n%zu\n", count);
	for (i = 0; i < ld->ntopics; i++)
		for (j = 0; j < ld->topics[i]->npartitions; j++) {
			struct plog *l = ld->topics[i]->parts[j]->log;

			buf_printf(&b, "%s %" PRId32 " %" PRId64 "\n",
			    ld->topics[i]->name, j, recovery ?
			    plog_recovery_point(l) : plog_start_offset(l));
		}
	if (b.failed) {
		buf_release(&b);
		return err_set(e, EXIT_OSERR, "out of memory");
	}
	rc = data_path(ld, name, path, sizeof(path), e);
	if (rc == 0)
		rc = file_write_atomic(path, b.data, b.len, e);
	buf_release(&b);
	return rc;
}

void
store_checkpoint(struct logd *ld)
{
	struct err e = { 0 };

	if (ld->store == NULL)
		return;
	if (ckpt_write(ld, RECOVERY_CKPT, true, &e) < 0 ||
	    ckpt_write(ld, START_CKPT, false, &e) < 0)
		log_warnx("writing checkpoints: %s", e.msg);
}

void
store_close(struct logd *ld, bool clean)
{
	struct store_state *s = state(ld);
	char path[PATH_MAX];
	struct err e = { 0 };

	if (s == NULL)
		return;
	if (clean && data_path(ld, CLEAN_MARKER, path, sizeof(path), &e) == 0 &&
	    file_write_atomic(path, "", 0, &e) < 0)
		log_warnx("writing the clean-shutdown marker: %s", e.msg);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	ckpt_free(s->recovery, s->nrecovery);
	ckpt_free(s->start, s->nstart);
	free(s);
	ld->store = NULL;
}
