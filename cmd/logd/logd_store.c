/* SPDX-License-Identifier: MIT */
/*
 * The data directory as a whole: meta.properties (broker.id and
 * cluster.id, written on first start and checked on every later one) and
 * the logdir that owns the lock, the clean-shutdown marker, the checkpoint
 * files and every partition's log (libcommon/logdir.h). The
 * producer-id-block file is logd_producer_id.c's. Replication adds
 * replication-offset-checkpoint, Kafka's file of high watermarks, read
 * once at start (cluster mode resumes from it) and rewritten with the
 * other checkpoints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "json.h"
#include "log.h"
#include "logd.h"
#include "logdir.h"
#include "opt.h"
#include "plog.h"
#include "util.h"
#include "banned.h"

#define META_FILE "meta.properties"
#define HW_FILE "replication-offset-checkpoint"

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

bool
store_prop_get(const char *text, const char *key, char *dst, size_t size)
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

/*
 * Check an existing meta.properties against the configuration (before
 * any log is touched); *missing says the directory is new.
 */
static int
meta_check(struct logd *ld, const char *path, bool *missing, struct err *e)
{
	char id[32], cluster[64], *text;
	int64_t stored_id;

	*missing = false;
	if (file_read_all(path, 65536, &text, NULL, e) < 0) {
		if (e->code != EXIT_NOINPUT)
			return -1;
		*missing = true;
		return 0;
	}
	if (!store_prop_get(text, "broker.id", id, sizeof(id)) ||
	    !store_prop_get(text, "cluster.id", cluster, sizeof(cluster)) ||
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

static int
meta_format(struct logd *ld, const char *path, struct err *e)
{
	char text[256];
	int n;

	if (ld->cfg.cluster_id[0] == '\0')
		new_cluster_id(ld->cfg.cluster_id, sizeof(ld->cfg.cluster_id));
	n = snprintf(text, sizeof(text), "#written by logd %s\nversion=0\n"
	    "broker.id=%" PRId32 "\ncluster.id=%s\n", KLOG_VERSION,
	    ld->cfg.broker_id, ld->cfg.cluster_id);
	log_info("formatting data directory '%s': broker.id=%" PRId32
	    " cluster.id=%s", ld->cfg.data_dir, ld->cfg.broker_id,
	    ld->cfg.cluster_id);
	return file_write_atomic(path, text, (size_t)n, e);
}

/* mkdir -p: the data directory and any missing parents. */
static int
mkdir_parents(const char *dir, struct err *e)
{
	char path[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_sys(e, EXIT_CANTCREAT,
			    "unable to create data directory '%s'", path);
		path[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* Log what opening each partition had to repair. */
static void
report_recovery(const struct logdir *dir)
{
	size_t i;
	int k;

	for (i = 0; i < ld_count(dir); i++) {
		const struct ld_partition *p = ld_partition_at(dir, i);
		const struct plog_report *r = &p->report;

		for (k = 0; k < r->ntruncations && k < PLOG_REPORT_MAX; k++)
			log_warnx("recovery cut %" PRIu64 " bytes at position %"
			    PRIu64 " of '%s': %s", r->truncations[k].bytes_cut,
			    r->truncations[k].position, r->truncations[k].path,
			    r->truncations[k].reason);
		if (r->segments_deleted > 0 || r->ntruncations > 0)
			log_warnx("recovered topic=%s partition=%" PRId32 ": %d "
			    "segments validated, %d indexes rebuilt, %d segments "
			    "deleted", p->topic, p->partition,
			    r->segments_recovered, r->indexes_rebuilt,
			    r->segments_deleted);
		else if (r->segments_recovered > 0 || r->indexes_rebuilt > 0)
			log_info("recovered topic=%s partition=%" PRId32 ": %d "
			    "segments validated, %d indexes rebuilt",
			    p->topic, p->partition, r->segments_recovered,
			    r->indexes_rebuilt);
	}
}

/*
 * Load the high watermarks of the last run. Only cluster mode needs them
 * (alone, the high watermark is the log end offset), so only there is a
 * malformed file fatal.
 */
static int
hw_checkpoint_load(struct logd *ld, struct err *e)
{
	char path[PATH_MAX];
	struct err r = { 0 };

	ld->hw_checkpoint = calloc(1, sizeof(*ld->hw_checkpoint));
	if (ld->hw_checkpoint == NULL)
		return err_set(e, EXIT_OSERR, "out of memory");
	ckpt_init(ld->hw_checkpoint);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ld->cfg.data_dir,
	    HW_FILE) >= sizeof(path))
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	if (ckpt_read(path, ld->hw_checkpoint, &r) == 0 ||
	    r.code == EXIT_NOINPUT)
		return 0;
	if (ld->cluster != NULL) {
		*e = r;
		return -1;
	}
	log_warnx("ignoring high watermarks: %s", r.msg);
	return 0;
}

bool
store_hw_get(const struct logd *ld, const char *topic, int32_t partition,
    int64_t *out)
{
	return ld->hw_checkpoint != NULL &&
	    ckpt_get(ld->hw_checkpoint, topic, partition, out) == 1;
}

void
store_checkpoint_hw(struct logd *ld)
{
	char path[PATH_MAX];
	struct ckpt c;
	struct err e = { 0 };
	size_t i;
	int32_t j;
	int rc = 0;

	if (ld->dir == NULL)
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ld->cfg.data_dir,
	    HW_FILE) >= sizeof(path))
		return;
	ckpt_init(&c);
	for (i = 0; i < ld->ntopics && rc == 0; i++)
		for (j = 0; j < ld->topics[i]->npartitions && rc == 0; j++) {
			const struct partition *p = ld->topics[i]->parts[j];

			if (p != NULL)
				rc = ckpt_set(&c, ld->topics[i]->name, p->id,
				    p->high_watermark, &e);
		}
	if (rc == 0)
		rc = ckpt_write(path, &c, &e);
	if (rc < 0)
		log_warnx("writing high watermarks: %s", e.msg);
	ckpt_release(&c);
}

int
store_open(struct logd *ld, struct err *e)
{
	struct plog_config base;
	char path[PATH_MAX];
	bool missing;

	if (mkdir_parents(ld->cfg.data_dir, e) < 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ld->cfg.data_dir,
	    META_FILE) >= sizeof(path))
		return err_set(e, EXIT_CONFIG, "data directory path too long");
	if (meta_check(ld, path, &missing, e) < 0)
		return -1;
	/*
	 * Logs open with neutral settings; each gets its topic's once the
	 * topics are known. Recovery must accept any batch that produce
	 * accepted, whatever the limits are now.
	 */
	plog_config_init(&base);
	base.max_batch_bytes = INT32_MAX;
	if (ld_open(ld->cfg.data_dir, &base, LD_OPEN_CREATE, &ld->dir, e) < 0)
		return -1;
	if (missing && meta_format(ld, path, e) < 0)
		return -1;
	if (producer_ids_open(ld, e) < 0 || hw_checkpoint_load(ld, e) < 0)
		return -1;
	if (!missing && !ld_clean_shutdown(ld->dir))
		log_info("no clean-shutdown marker in '%s': logs were recovered",
		    ld->cfg.data_dir);
	report_recovery(ld->dir);
	return 0;
}

void
store_checkpoint(struct logd *ld)
{
	struct err e = { 0 };

	if (ld->dir != NULL && ld_checkpoint(ld->dir, &e) < 0)
		log_warnx("writing checkpoints: %s", e.msg);
	store_checkpoint_hw(ld);
}

void
store_close(struct logd *ld, bool clean)
{
	struct err e = { 0 };

	if (ld->hw_checkpoint != NULL) {
		ckpt_release(ld->hw_checkpoint);
		free(ld->hw_checkpoint);
		ld->hw_checkpoint = NULL;
	}
	if (ld->dir == NULL)
		return;
	if (!clean)
		ld_free(ld->dir);
	else if (ld_close(ld->dir, &e) < 0)
		log_warnx("clean shutdown failed, the next start recovers: %s",
		    e.msg);
	ld->dir = NULL;
}
