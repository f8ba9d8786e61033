/* SPDX-License-Identifier: MIT */
/*
 * `ctrld logs`: one broker's logd or replicad log, or the controller's,
 * read over SSH with tail(1) on the host: the last -n lines, and with -f
 * new lines as they come until SIGINT or SIGTERM (then exit 0). The log
 * goes to stdout as it is; messages about the host to stderr.
 */
#include <stdio.h>
#include <string.h>

#include "ctrld_fleet.h"
#include "log.h"
#include "sig.h"
#include "util.h"
#include "banned.h"

int
ctrld_logs(const struct ctrld_opts *o)
{
	const char *process = o->process != NULL ? o->process : "logd";
	bool controller = strcmp(process, "ctrld") == 0;
	struct fleet_target *t = NULL;
	struct ssh_conn *c = NULL;
	struct fleet f;
	struct err e = { 0 };
	char file[PATH_MAX + 16], lines[24];
	size_t i;
	int rc;

	if (fleet_load(o, &f, controller, &e) < 0)
		goto fail;
	for (i = 0; i < f.ntargets && t == NULL; i++)
		if ((f.targets[i].kind == FLEET_CONTROLLER) == controller)
			t = &f.targets[i];
	if (t == NULL || !t->managed) {
		err_set(&e, EXIT_CONFIG, "%s: the controller has no ssh "
		    "settings (controller.ssh, or a broker with ssh on %s)",
		    f.m->path, f.m->controller.host);
		goto fail;
	}
	snprintf(file, sizeof(file), "%s/%s.log", t->data_dir, process);
	snprintf(lines, sizeof(lines), "%lld", (long long)o->lines);
	if (fleet_connect(&f, t, &c, &e) < 0) {
		e.code = EXIT_UNAVAILABLE;
		goto fail;
	}
	rc = fleet_remote_stream(t, c, stdout, o->follow ? 0 : o->timeout_ms,
	    &e, "logs", file, lines, o->follow ? "1" : "0", (char *)NULL);
	ssh_close(c);
	if (rc < 0 && o->follow && sig_stop)
		rc = 0;		/* -f ends with ^C: that is the normal end */
	else if (rc != 0) {
		if (rc > 0)
			e.code = EXIT_FAIL;
		goto fail;
	}
	fleet_release(&f);
	ssh_global_exit();
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR;
fail:
	log_errorx("%s", e.msg);
	fleet_release(&f);
	ssh_global_exit();
	return e.code ? e.code : EXIT_SOFTWARE;
}
