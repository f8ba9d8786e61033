/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics (see log.h). The state here is process-wide by nature: there
 * is one stderr and one program name per process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

static const char *log_prog = "klog";
static enum log_level log_level = LOG_LEVEL_WARN;
static bool log_with_pid;
static bool log_with_time;

void
prog_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	log_prog = slash ? slash + 1 : argv0;
}

const char *
prog_name(void)
{
	return log_prog;
}

void
log_init(enum log_level level, bool with_pid, bool with_timestamps)
{
	log_level = level;
	log_with_pid = with_pid;
	log_with_time = with_timestamps;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void __attribute__((format(printf, 3, 0)))
log_emit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	int r;

	if (log_with_time) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n += strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
		    ts.tv_nsec / 1000000);
		n += r > 0 ? (size_t)r : 0;
	}
	if (log_with_pid)
		r = snprintf(line + n, sizeof(line) - n, "%s[%ld]: %s: ",
		    log_prog, (long)getpid(), level);
	else
		r = snprintf(line + n, sizeof(line) - n, "%s: %s: ", log_prog,
		    level);
	if (r > 0 && (size_t)r < sizeof(line) - n)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = n + (size_t)r < sizeof(line) ? n + (size_t)r : sizeof(line) - 1;
	if (errnum != 0 && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		if (r > 0)
			n = n + (size_t)r < sizeof(line) ? n + (size_t)r :
			    sizeof(line) - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so concurrent writers do not interleave. */
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(min, name, errnum)                   \
	do {                                          \
		int saved = errno;                    \
		va_list ap;                           \
		if (log_level < (min))                \
			return;                       \
		va_start(ap, fmt);                    \
		log_emit(name, errnum, fmt, ap);      \
		va_end(ap);                           \
		errno = saved;                        \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, "debug", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, "info", 0);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "warning", saved);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "warning", 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_QUIET, "error", saved);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_QUIET, "error", 0);
}

void
log_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", log_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	exit(64);
}

void
log_fatal(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit("error", saved, fmt, ap);
	va_end(ap);
	exit(code);
}

void
log_fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("error", 0, fmt, ap);
	va_end(ap);
	exit(code);
}
