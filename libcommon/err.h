/* SPDX-License-Identifier: MIT */
/*
 * Error buffers: library functions return 0 or -1 and describe a failure in
 * a caller-supplied struct err (a message plus the exit-code class it
 * belongs to). libcommon never prints and never exits.
 */
#ifndef KLOG_ERR_H
#define KLOG_ERR_H

#include "exitcode.h"

struct err {
	int code;		/* enum exit_code; 0 while no error is set */
	char msg[512];
};

/*
 * Record an error of class `code` and return -1, so that callers can write
 * `return err_set(e, EXIT_DATAERR, "...", ...)`. `e` may be NULL.
 */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set, appending ": strerror(errno)" to the message. */
int err_sys(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context ("segment 'x': <msg>"). */
int err_wrap(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
