/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics on stderr: "prog: level: message" for tools and
 * "prog[pid]: level: message" for daemons. The `x` variants do not append
 * strerror(errno) (as err(3) and OpenBSD's log.c). All save errno.
 * The level check happens before any formatting.
 */
#ifndef KLOG_LOG_H
#define KLOG_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_QUIET = -1,	/* only fatal */
	LOG_LEVEL_WARN = 0,	/* default for tools */
	LOG_LEVEL_INFO = 1,	/* default for daemons; -v for tools */
	LOG_LEVEL_DEBUG = 2
};

/* Set the program name used in messages (basename of argv0). */
void prog_init(const char *argv0);
const char *prog_name(void);

/* Daemons print their pid after the name; timestamps are optional. */
void log_init(enum log_level level, bool with_pid, bool with_timestamps);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error the caller handles (cleanup, exit status) itself. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A usage error, as every program reports one: "prog: <message>" and
 * then `usage` on stderr, exit 64.
 */
void log_usage(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print and exit(code). */
void log_fatal(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void log_fatalx(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
