/* SPDX-License-Identifier: MIT */
/*
 * The remote side of ctrld's host commands (docs/ssh-management.md):
 * cmd/ctrld/ctrld_remote.sh, one POSIX sh script that ctrld runs on a host
 * over SSH as `sh -c SCRIPT klog-remote ACTION ARG...` (probe, prepare,
 * copy, commit, switch, start, stop, logs). Results come back on stdout as
 * key=value lines, messages on stderr; exit status 0 ok, 1 failed, 3 klog
 * not installed. The Makefile embeds the script at build time
 * ($(O)/gen/ctrld_remote_sh.c), so ctrld needs no file beside it.
 */
#ifndef KLOG_CTRLD_REMOTE_H
#define KLOG_CTRLD_REMOTE_H

/* The script's text, NUL-terminated. */
extern const char ctrld_remote_sh[];

#endif
