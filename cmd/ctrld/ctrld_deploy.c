/* SPDX-License-Identifier: MIT */
/*
 * `ctrld deploy`: put the seven klog programs and the manifest on every
 * managed host as a release named by their checksums
 * (<install_dir>/releases/<version>-<hash>), uploading over SFTP only what
 * the host does not already have (in a partial upload, or in the current
 * release, copied on the host), verified there with sha256sum before the
 * `current` link is switched (docs/ssh-management.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrld_fleet.h"
#include "log.h"
#include "sha256.h"
#include "util.h"
#include "banned.h"

#define KEEP_RELEASES "3"

static const char *const programs[] = { "logd", "replicad", "ctrld", "kprod",
	"kcons", "kgroups", "kdump-segment" };

#define NFILES (sizeof(programs) / sizeof(programs[0]) + 1)

struct release_file {
	char name[32];			/* bin/logd, cluster.yaml */
	char local[PATH_MAX];
	char hash[SHA256_HEX_LEN + 1];
	uint64_t size;
	int mode;
};

struct release {
	struct release_file files[NFILES];
	size_t nfiles;
	char sums_path[PATH_MAX];	/* local temp file with SHA256SUMS */
	char name[80];			/* <version>-<12 hex> */
};

/* The directory of the running ctrld: the installed programs. */
static int
default_bin_dir(char *dst, size_t size, struct err *e)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return err_sys(e, EXIT_OSERR, "cannot find this program's "
		    "directory (/proc/self/exe); pass --bin-dir");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(dst, size, "%s", exe);
	return 0;
}

static int
add_file(struct release *rel, const char *name, const char *local, int mode,
    struct err *e)
{
	struct release_file *f = &rel->files[rel->nfiles];
	struct stat st;

	if (stat(local, &st) < 0)
		return err_sys(e, EXIT_NOINPUT, "%s", local);
	if (mode == 0755 && (!S_ISREG(st.st_mode) || access(local, X_OK) < 0))
		return err_set(e, EXIT_NOINPUT, "%s: not an executable file",
		    local);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->local, sizeof(f->local), "%s", local);
	f->mode = mode;
	if (sha256_file(local, f->hash, &f->size, e) < 0)
		return -1;
	rel->nfiles++;
	return 0;
}

/* SHA256SUMS in sha256sum's format; the release is named by its hash. */
static int
write_sums(struct release *rel, struct err *e)
{
	struct buf b = BUF_INIT;
	char hex[SHA256_HEX_LEN + 1];
	const char *tmp = getenv("TMPDIR");
	size_t i;
	int fd, rc = 0;

	for (i = 0; i < rel->nfiles; i++)
		buf_printf(&b, "%s  %s\n", rel->files[i].hash,
		    rel->files[i].name);
	sha256_hex(b.data, b.len, hex);
	snprintf(rel->name, sizeof(rel->name), "%s-%.12s", KLOG_VERSION, hex);
	snprintf(rel->sums_path, sizeof(rel->sums_path),
	    "%s/ctrld-sums-XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	fd = mkstemp(rel->sums_path);
	if (fd < 0) {
		buf_release(&b);
		return err_sys(e, EXIT_CANTCREAT, "%s", rel->sums_path);
	}
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		rc = err_sys(e, EXIT_IOERR, "%s", rel->sums_path);
	close(fd);
	buf_release(&b);
	return rc;
}

static int
build_release(const struct ctrld_opts *o, struct release *rel, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], name[32];
	size_t i;

	memset(rel, 0, sizeof(*rel));
	if (o->bin_dir != NULL)
		snprintf(dir, sizeof(dir), "%s", o->bin_dir);
	else if (default_bin_dir(dir, sizeof(dir), e) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(programs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, programs[i]);
		snprintf(name, sizeof(name), "bin/%s", programs[i]);
		if (add_file(rel, name, path, 0755, e) < 0)
			return -1;
	}
	if (add_file(rel, "cluster.yaml", o->manifest_path, 0644, e) < 0)
		return -1;
	return write_sums(rel, e);
}

/* "have HASH NAME" / "current HASH NAME": is NAME there with our hash? */
static bool
remote_has(const struct buf *out, const char *kind, const char *hash,
    const char *name)
{
	const char *p = (const char *)out->data, *end = p + out->len;
	char want[SHA256_HEX_LEN + 64];
	size_t wlen;

	wlen = (size_t)snprintf(want, sizeof(want), "%s %s %s", kind, hash,
	    name);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len == wlen && memcmp(p, want, wlen) == 0)
			return true;
		p += len + 1;
	}
	return false;
}

struct plan {
	const char *copy[NFILES];	/* from current, on the host */
	size_t ncopy;
	const struct release_file *upload[NFILES];
	size_t nupload;
	uint64_t upload_bytes;
	size_t unchanged;
};

static void
make_plan(const struct release *rel, const struct buf *out, struct plan *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < rel->nfiles; i++) {
		const struct release_file *f = &rel->files[i];

		if (remote_has(out, "have", f->hash, f->name))
			p->unchanged++;
		else if (remote_has(out, "current", f->hash, f->name))
			p->copy[p->ncopy++] = f->name;
		else {
			p->upload[p->nupload++] = f;
			p->upload_bytes += f->size;
		}
	}
}

static int
check_space(const struct fleet_target *t, const struct buf *out,
    const struct plan *p, struct err *e)
{
	char v[32];
	uint64_t avail_kb, need_kb = p->upload_bytes / 1024 + 1024;

	if (fleet_kv(out, "avail_kb", v, sizeof(v)) == NULL)
		return 0;
	avail_kb = strtoull(v, NULL, 10);
	if (avail_kb >= need_kb)
		return 0;
	return err_set(e, EXIT_IOERR, "not enough space in %s on %s: the "
	    "upload needs %" PRIu64 " MiB, %" PRIu64 " MiB free",
	    t->install_dir, t->ssh.host, need_kb / 1024, avail_kb / 1024);
}

static int
run_copies(const struct fleet_target *t, struct ssh_conn *c,
    const struct release *rel, const struct plan *p, int64_t timeout_ms,
    struct err *e)
{
	size_t i;

	for (i = 0; i < p->ncopy; i++) {
		int rc = fleet_remote(t, c, NULL, timeout_ms, e, "copy",
		    t->install_dir, rel->name, p->copy[i], (char *)NULL);

		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
run_uploads(const struct fleet_target *t, struct ssh_conn *c,
    const struct release *rel, const struct plan *p, int64_t timeout_ms,
    struct err *e)
{
	char remote[PATH_MAX * 2];
	size_t i;

	for (i = 0; i < p->nupload; i++) {
		snprintf(remote, sizeof(remote), "%s/releases/%s.partial/%s",
		    t->install_dir, rel->name, p->upload[i]->name);
		if (ssh_upload(c, p->upload[i]->local, remote,
		    p->upload[i]->mode, timeout_ms, e) < 0)
			return -1;
	}
	snprintf(remote, sizeof(remote), "%s/releases/%s.partial/SHA256SUMS",
	    t->install_dir, rel->name);
	return ssh_upload(c, rel->sums_path, remote, 0644, timeout_ms, e);
}

static int
finish(const struct fleet_target *t, struct ssh_conn *c, const char *action,
    const struct release *rel, int64_t timeout_ms, struct err *e)
{
	int rc = fleet_remote(t, c, NULL, timeout_ms, e, action,
	    t->install_dir, rel->name, KEEP_RELEASES, (char *)NULL);

	return rc == 0 ? 0 : -1;
}

static void
deploy_one(struct fleet *f, struct fleet_target *t, struct ssh_conn *c,
    struct fleet_result *r)
{
	const struct release *rel = f->arg;
	int64_t timeout_ms = f->o->timeout_ms;
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	char v[8];
	struct plan p;
	int rc;

	rc = fleet_remote(t, c, &out, timeout_ms, &e, "prepare",
	    t->install_dir, rel->name, (char *)NULL);
	if (rc != 0)
		goto fail;
	if (fleet_kv(&out, "complete", v, sizeof(v)) != NULL &&
	    strcmp(v, "1") == 0) {
		if (finish(t, c, "switch", rel, timeout_ms, &e) < 0)
			goto fail;
		snprintf(r->detail, sizeof(r->detail), "release %s: already "
		    "there, 0 uploaded", rel->name);
		goto done;
	}
	make_plan(rel, &out, &p);
	if (check_space(t, &out, &p, &e) < 0 ||
	    run_copies(t, c, rel, &p, timeout_ms, &e) < 0 ||
	    run_uploads(t, c, rel, &p, timeout_ms, &e) < 0 ||
	    finish(t, c, "commit", rel, timeout_ms, &e) < 0)
		goto fail;
	snprintf(r->detail, sizeof(r->detail), "release %s: %zu uploaded "
	    "(%.1f MiB), %zu copied on the host, %zu unchanged", rel->name,
	    p.nupload, (double)p.upload_bytes / (1024.0 * 1024.0), p.ncopy,
	    p.unchanged);
done:
	fleet_say(t, "%s", r->detail);
	buf_release(&out);
	return;
fail:
	r->status = FLEET_FAILED;
	snprintf(r->detail, sizeof(r->detail), "%s", e.msg);
	buf_release(&out);
}

/* Two targets with one host, account and directory are one install. */
static bool
same_install(const struct fleet_target *a, const struct fleet_target *b)
{
	return a->managed && b->managed &&
	    strcasecmp(a->ssh.hostname, b->ssh.hostname) == 0 &&
	    a->ssh.port == b->ssh.port &&
	    strcmp(a->ssh.user, b->ssh.user) == 0 &&
	    strcmp(a->install_dir, b->install_dir) == 0;
}

int
ctrld_deploy(const struct ctrld_opts *o)
{
	struct fleet f;
	struct release rel;
	struct fleet_target **ts = NULL;
	struct fleet_result *rs = NULL;
	struct err e = { 0 };
	size_t i, j, n = 0;
	int rc;

	if (fleet_load(o, &f, true, &e) < 0 || build_release(o, &rel, &e) < 0) {
		log_errorx("%s", e.msg);
		fleet_release(&f);
		return e.code ? e.code : EXIT_SOFTWARE;
	}
	f.arg = &rel;
	ts = xcalloc(f.ntargets, sizeof(*ts));
	for (i = 0; i < f.ntargets; i++) {
		for (j = 0; j < n; j++)
			if (same_install(ts[j], &f.targets[i]))
				break;
		if (j == n)
			ts[n++] = &f.targets[i];
	}
	rs = xcalloc(n, sizeof(*rs));
	fleet_run(&f, ts, n, deploy_one, rs);
	fleet_summary("deploy", ts, rs, n);
	rc = fleet_exit_code(rs, n);
	unlink(rel.sums_path);
	fleet_results_release(rs, n);
	free(rs);
	free(ts);
	fleet_release(&f);
	ssh_global_exit();
	return rc;
}
