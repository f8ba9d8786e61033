/* SPDX-License-Identifier: MIT */
/*
 * Exit codes shared by every klog program: sysexits.h values under our own
 * names, so libcommon can classify an error once and main() can map it.
 */
#ifndef KLOG_EXITCODE_H
#define KLOG_EXITCODE_H

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* "no" or partial: some targets failed */
	EXIT_USAGE = 64,
	EXIT_DATAERR = 65,	/* corrupt segment or record */
	EXIT_NOINPUT = 66,
	EXIT_NOUSER = 67,	/* named object unknown (topic, group) */
	EXIT_NOHOST = 68,
	EXIT_UNAVAILABLE = 69,	/* peer or broker unreachable */
	EXIT_SOFTWARE = 70,	/* internal error detected */
	EXIT_OSERR = 71,
	EXIT_CANTCREAT = 73,
	EXIT_IOERR = 74,
	EXIT_TEMPFAIL = 75,	/* timeout, not leader: retry */
	EXIT_PROTOCOL = 76,
	EXIT_NOPERM = 77,
	EXIT_CONFIG = 78
};

#endif
