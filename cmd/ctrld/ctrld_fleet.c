/* SPDX-License-Identifier: MIT */
/*
 * The machinery of ctrld's host commands (ctrld_fleet.h): targets from the
 * manifest, SSH options (manifest, then ssh_config, then defaults, as the
 * command line beats the config in ssh), one forked child per target with
 * bounded parallelism, results passed back through pipes, the remote
 * script runner and the summary. Children keep libssh2 state apart from
 * each other, and a child that hangs cannot hold the others' output.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrld_fleet.h"
#include "ctrld_remote.h"
#include "log.h"
#include "sig.h"
#include "sshconf.h"
#include "util.h"
#include "banned.h"

#define RESULT_MAX 60000	/* below a pipe's buffer: a child never blocks */

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : "/";
}

static const char *
local_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *u;

	if (pw != NULL)
		return pw->pw_name;
	u = getenv("USER");
	return u != NULL ? u : "root";
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* The ssh_config file to read, or NULL for none. */
static const char *
ssh_config_path(const struct ctrld_opts *o, char *dst, size_t size)
{
	if (o->ssh_config != NULL)
		return strcmp(o->ssh_config, "none") == 0 ? NULL :
		    o->ssh_config;
	snprintf(dst, size, "%s/.ssh/config", home_dir());
	return dst;
}

/* Merge the manifest's ssh mapping, ssh_config and the options. */
static int
resolve_ssh(const struct ctrld_opts *o, const char *host,
    const struct manifest_ssh *ms, struct ssh_opts *so, struct err *e)
{
	struct sshconf_host sc;
	char cfg[PATH_MAX];
	const char *path = ssh_config_path(o, cfg, sizeof(cfg));
	int i;

	memset(so, 0, sizeof(*so));
	memset(&sc, 0, sizeof(sc));
	sc.identities_only = -1;
	if (path != NULL && sshconf_lookup(path, host, home_dir(),
	    local_user(), &sc, e) < 0)
		return -1;
	copy_str(so->host, sizeof(so->host), host);
	copy_str(so->hostname, sizeof(so->hostname),
	    sc.hostname[0] ? sc.hostname : host);
	so->port = ms->port ? ms->port : sc.port ? sc.port : 22;
	copy_str(so->user, sizeof(so->user), ms->user[0] ? ms->user :
	    sc.user[0] ? sc.user : local_user());
	if (ms->identity[0] != '\0') {
		copy_str(so->identities[0], sizeof(so->identities[0]),
		    ms->identity);
		so->nidentities = 1;
	} else {
		for (i = 0; i < sc.nidentity_files &&
		    i < SSH_MAX_IDENTITIES; i++)
			copy_str(so->identities[i], sizeof(so->identities[i]),
			    sc.identity_files[i]);
		so->nidentities = i;
	}
	so->use_agent = !(sc.identities_only == 1 && so->nidentities > 0);
	copy_str(so->known_hosts, sizeof(so->known_hosts),
	    o->known_hosts != NULL ? o->known_hosts : sc.known_hosts);
	so->accept_new = o->accept_new_host_keys ||
	    sc.strict == SSHCONF_STRICT_ACCEPT_NEW;
	so->connect_timeout_ms = o->connect_timeout_set ?
	    o->connect_timeout_ms : sc.connect_timeout_ms > 0 ?
	    sc.connect_timeout_ms : o->connect_timeout_ms;
	return 0;
}

static int
broker_target(const struct ctrld_opts *o, const struct manifest_broker *b,
    struct fleet_target *t, struct err *e)
{
	memset(t, 0, sizeof(*t));
	t->kind = FLEET_BROKER;
	t->broker_id = b->id;
	snprintf(t->label, sizeof(t->label), "broker %d", (int)b->id);
	snprintf(t->prefix, sizeof(t->prefix), "[broker %d %s] ", (int)b->id,
	    b->host);
	copy_str(t->data_dir, sizeof(t->data_dir), b->data_dir);
	t->managed = b->has_ssh;
	if (!b->has_ssh) {
		copy_str(t->ssh.host, sizeof(t->ssh.host), b->host);
		return 0;
	}
	copy_str(t->install_dir, sizeof(t->install_dir), b->ssh.install_dir);
	return resolve_ssh(o, b->host, &b->ssh, &t->ssh, e);
}

/*
 * The controller: its own ssh settings, else those of the first broker on
 * its host; unmanaged without either.
 */
static int
controller_target(const struct ctrld_opts *o, const struct manifest *m,
    struct fleet_target *t, struct err *e)
{
	const struct manifest_controller *c = &m->controller;
	const struct manifest_ssh *ms = c->has_ssh ? &c->ssh : NULL;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->kind = FLEET_CONTROLLER;
	t->broker_id = -1;
	snprintf(t->label, sizeof(t->label), "controller");
	snprintf(t->prefix, sizeof(t->prefix), "[controller %s] ", c->host);
	copy_str(t->data_dir, sizeof(t->data_dir), c->data_dir);
	for (i = 0; ms == NULL && i < m->nbrokers; i++)
		if (m->brokers[i].has_ssh &&
		    strcasecmp(m->brokers[i].host, c->host) == 0)
			ms = &m->brokers[i].ssh;
	copy_str(t->ssh.host, sizeof(t->ssh.host), c->host);
	if (ms == NULL)
		return 0;
	if (!c->data_dir_absolute)
		return err_set(e, EXIT_CONFIG, "%s:%d: controller.data_dir is "
		    "not absolute; the controller shares a host with brokers "
		    "managed over ssh and needs the path its host will use",
		    m->path, c->line);
	t->managed = true;
	copy_str(t->install_dir, sizeof(t->install_dir), ms->install_dir);
	return resolve_ssh(o, c->host, ms, &t->ssh, e);
}

static bool
selected(const struct ctrld_opts *o, int32_t id)
{
	size_t i;

	if (o->nbrokers == 0)
		return true;
	for (i = 0; i < o->nbrokers; i++)
		if (o->brokers[i] == id)
			return true;
	return false;
}

static int
check_selection(const struct ctrld_opts *o, const struct manifest *m,
    struct err *e)
{
	size_t i;

	for (i = 0; i < o->nbrokers; i++) {
		const struct manifest_broker *b = manifest_broker(m,
		    o->brokers[i]);

		if (b == NULL)
			return err_set(e, EXIT_NOUSER, "--broker %d: no such "
			    "broker in %s", (int)o->brokers[i], m->path);
		if (!b->has_ssh)
			return err_set(e, EXIT_CONFIG, "%s:%d: broker %d has no "
			    "ssh settings; add 'ssh: {}' (or more) to manage "
			    "it over ssh", m->path, b->line, (int)b->id);
	}
	return 0;
}

int
fleet_load(const struct ctrld_opts *o, struct fleet *f, bool with_controller,
    struct err *e)
{
	size_t i, managed = 0;

	memset(f, 0, sizeof(*f));
	f->o = o;
	if (manifest_load(o->manifest_path, &f->m, e) < 0 ||
	    check_selection(o, f->m, e) < 0)
		return -1;
	f->targets = xcalloc(f->m->nbrokers + 1, sizeof(*f->targets));
	for (i = 0; i < f->m->nbrokers; i++) {
		if (!selected(o, f->m->brokers[i].id))
			continue;
		if (broker_target(o, &f->m->brokers[i],
		    &f->targets[f->ntargets], e) < 0)
			return -1;
		managed += f->targets[f->ntargets++].managed;
	}
	if (with_controller && o->nbrokers == 0) {
		f->controller = &f->targets[f->ntargets];
		if (controller_target(o, f->m, f->controller, e) < 0)
			return -1;
		managed += f->targets[f->ntargets++].managed;
	}
	if (managed == 0)
		return err_set(e, EXIT_CONFIG, "%s: no broker has ssh settings; "
		    "see 'ssh' in klog-manifest(5)", f->m->path);
	sig_install(false);
	return ssh_global_init(e);
}

void
fleet_release(struct fleet *f)
{
	free(f->targets);
	manifest_free(f->m);
	memset(f, 0, sizeof(*f));
}

void
fleet_say(const struct fleet_target *t, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s", t->prefix);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write per line, so that children's lines never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

int
fleet_connect(const struct fleet *f, const struct fleet_target *t,
    struct ssh_conn **c, struct err *e)
{
	char notice[512] = "";

	(void)f;
	if (ssh_connect(&t->ssh, c, notice, sizeof(notice), e) < 0)
		return -1;
	if (notice[0] != '\0')
		fleet_say(t, "%s", notice);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Remote script                                                      */

struct remote_lines {
	const struct fleet_target *t;
	struct buf *out;
	FILE *sink;			/* stdout lines as they come */
	char last_err[400];		/* the script's last word on stderr */
};

static void
remote_line(void *arg, enum ssh_stream stream, const char *line, size_t len)
{
	struct remote_lines *rl = arg;

	if (stream == SSH_STDERR) {
		fleet_say(rl->t, "%.*s", (int)len, line);
		snprintf(rl->last_err, sizeof(rl->last_err), "%.*s", (int)len,
		    line);
		return;
	}
	if (rl->out != NULL) {
		buf_put(rl->out, line, len);
		buf_putc(rl->out, '\n');
	}
	if (rl->sink != NULL) {
		fwrite(line, 1, len, rl->sink);
		fputc('\n', rl->sink);
		fflush(rl->sink);
	}
}

static int
remote_v(const struct fleet_target *t, struct ssh_conn *c,
    struct remote_lines *rl, int64_t timeout_ms, struct err *e,
    const char *action, va_list ap)
{
	struct buf cmd = BUF_INIT;
	const char *arg;
	int rc;

	buf_put_str(&cmd, "sh -c ");
	ssh_shell_quote(&cmd, ctrld_remote_sh);
	buf_put_str(&cmd, " klog-remote ");
	ssh_shell_quote(&cmd, action);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		buf_putc(&cmd, ' ');
		ssh_shell_quote(&cmd, arg);
	}
	buf_putc(&cmd, '\0');
	rc = ssh_exec(c, (const char *)cmd.data, NULL, 0, remote_line, rl,
	    timeout_ms, &sig_stop, e);
	buf_release(&cmd);
	if (rc > 0 && rl->last_err[0] != '\0')
		err_set(e, EXIT_FAIL, "%s", rl->last_err);
	else if (rc > 0)
		err_set(e, EXIT_FAIL, "%s: remote %s failed (exit %d)",
		    t->ssh.host, action, rc);
	return rc;
}

int
fleet_remote(const struct fleet_target *t, struct ssh_conn *c,
    struct buf *out, int64_t timeout_ms, struct err *e, const char *action,
    ...)
{
	struct remote_lines rl = { t, out, NULL, "" };
	va_list ap;
	int rc;

	va_start(ap, action);
	rc = remote_v(t, c, &rl, timeout_ms, e, action, ap);
	va_end(ap);
	return rc;
}

int
fleet_remote_stream(const struct fleet_target *t, struct ssh_conn *c,
    FILE *sink, int64_t timeout_ms, struct err *e, const char *action, ...)
{
	struct remote_lines rl = { t, NULL, sink, "" };
	va_list ap;
	int rc;

	va_start(ap, action);
	rc = remote_v(t, c, &rl, timeout_ms, e, action, ap);
	va_end(ap);
	return rc;
}

const char *
fleet_kv(const struct buf *out, const char *key, char *dst, size_t size)
{
	const char *p = (const char *)out->data, *end = p + out->len;
	size_t klen = strlen(key);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			snprintf(dst, size, "%.*s", (int)(len - klen - 1),
			    p + klen + 1);
			return dst;
		}
		p += len + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The pool                                                           */

/* Result wire form: status byte, detail, NUL, json. */
static void
write_result(int fd, const struct fleet_result *r)
{
	struct buf b = BUF_INIT;
	size_t off = 0;

	buf_putc(&b, (char)('0' + r->status));
	buf_put_str(&b, r->detail);
	buf_putc(&b, '\0');
	if (r->json.len + b.len < RESULT_MAX)
		buf_put(&b, r->json.data, r->json.len);
	while (off < b.len) {
		ssize_t n = write(fd, b.data + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_release(&b);
}

static void
read_result(int fd, struct fleet_result *r)
{
	struct buf b = BUF_INIT;
	size_t dlen;

	for (;;) {
		ssize_t n;

		buf_reserve(&b, 4096);
		n = read(fd, b.data + b.len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
	}
	if (b.len < 2 || b.data[0] < '0' || b.data[0] > '0' + FLEET_SKIPPED ||
	    memchr(b.data + 1, '\0', b.len - 1) == NULL) {
		r->status = FLEET_FAILED;
		if (r->detail[0] == '\0')
			snprintf(r->detail, sizeof(r->detail),
			    "the worker process gave no result");
		buf_release(&b);
		return;
	}
	r->status = (enum fleet_status)(b.data[0] - '0');
	dlen = strlen((const char *)b.data + 1);
	snprintf(r->detail, sizeof(r->detail), "%s", b.data + 1);
	buf_put(&r->json, b.data + 2 + dlen, b.len - 2 - dlen);
	buf_release(&b);
}

static void
run_child(struct fleet *f, struct fleet_target *t, fleet_fn fn, int fd)
{
	struct fleet_result r;
	struct ssh_conn *c = NULL;
	struct err e = { 0 };

	memset(&r, 0, sizeof(r));
	if (fleet_connect(f, t, &c, &e) < 0) {
		r.status = FLEET_UNREACHABLE;
		snprintf(r.detail, sizeof(r.detail), "%s", e.msg);
		fleet_say(t, "%s", e.msg);
	} else {
		r.status = FLEET_OK;
		fn(f, t, c, &r);
		ssh_close(c);
	}
	write_result(fd, &r);
	buf_release(&r.json);
}

static pid_t
start_child(struct fleet *f, struct fleet_target *t, fleet_fn fn, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		run_child(f, t, fn, p[1]);
		close(p[1]);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

void
fleet_run(struct fleet *f, struct fleet_target **ts, size_t n, fleet_fn fn,
    struct fleet_result *results)
{
	pid_t *pids = xcalloc(n ? n : 1, sizeof(*pids));
	int *fds = xcalloc(n ? n : 1, sizeof(*fds));
	size_t next = 0, running = 0, i;

	for (;;) {
		while (next < n && running < (size_t)f->o->jobs) {
			struct fleet_result *r = &results[next];

			if (!ts[next]->managed) {
				r->status = FLEET_SKIPPED;
				snprintf(r->detail, sizeof(r->detail),
				    "no ssh settings in the manifest");
				pids[next++] = 0;
				continue;
			}
			pids[next] = start_child(f, ts[next], fn, &fds[next]);
			if (pids[next] < 0) {
				r->status = FLEET_FAILED;
				snprintf(r->detail, sizeof(r->detail),
				    "cannot start a worker: %s",
				    strerror(errno));
				pids[next++] = 0;
				continue;
			}
			next++;
			running++;
		}
		if (running == 0)
			break;
		{
			int status;
			pid_t done = waitpid(-1, &status, 0);

			if (done < 0 && errno == EINTR)
				continue;
			if (done < 0)
				break;
			for (i = 0; i < next; i++)
				if (pids[i] == done) {
					read_result(fds[i], &results[i]);
					close(fds[i]);
					pids[i] = 0;
					running--;
				}
		}
	}
	free(pids);
	free(fds);
}

void
fleet_results_release(struct fleet_result *rs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_release(&rs[i].json);
}

/* ------------------------------------------------------------------ */
/* Summary                                                            */

static const char *const status_names[] = { "ok", "failed", "unreachable",
	"skipped" };

void
fleet_summary(const char *cmd, struct fleet_target **ts,
    const struct fleet_result *rs, size_t n)
{
	size_t i;
	int hw = 4;

	for (i = 0; i < n; i++)
		if ((int)strlen(ts[i]->ssh.host) > hw)
			hw = (int)strlen(ts[i]->ssh.host);
	printf("%-12s %-*s %-12s %s\n", "TARGET", hw, "HOST", "RESULT",
	    "DETAIL");
	for (i = 0; i < n; i++) {
		printf("%-12s %-*s %-12s %s\n", ts[i]->label, hw,
		    ts[i]->ssh.host, status_names[rs[i].status], rs[i].detail);
	}
	fleet_tally(cmd, rs, n);
}

void
fleet_tally(const char *cmd, const struct fleet_result *rs, size_t n)
{
	size_t i, count[4] = { 0 };

	for (i = 0; i < n; i++)
		count[rs[i].status]++;
	printf("%s: %zu target%s: %zu ok, %zu failed, %zu unreachable",
	    cmd, n, n == 1 ? "" : "s", count[FLEET_OK], count[FLEET_FAILED],
	    count[FLEET_UNREACHABLE]);
	if (count[FLEET_SKIPPED] != 0)
		printf(", %zu skipped", count[FLEET_SKIPPED]);
	printf("\n");
	fflush(stdout);
}

int
fleet_exit_code(const struct fleet_result *rs, size_t n)
{
	size_t i, ok = 0, unreachable = 0, skipped = 0;

	for (i = 0; i < n; i++) {
		ok += rs[i].status == FLEET_OK;
		unreachable += rs[i].status == FLEET_UNREACHABLE;
		skipped += rs[i].status == FLEET_SKIPPED;
	}
	if (ok + skipped == n)
		return EXIT_OK;
	if (unreachable + skipped == n)
		return EXIT_UNAVAILABLE;
	return EXIT_FAIL;
}
