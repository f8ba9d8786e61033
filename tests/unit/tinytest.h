/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness in the spirit of redis's testhelp.h: CHECK()
 * records a failure with file:line and carries on; TEST() runs a case and
 * prints one TAP line; TEST_DONE() prints the plan and sets the exit status.
 */
#ifndef KLOG_TINYTEST_H
#define KLOG_TINYTEST_H

#include <stdio.h>

static int tt_failed_checks;
static int tt_case_failed;
static int tt_cases;
static int tt_cases_failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("# %s:%d: check failed: %s\n", __FILE__,    \
			    __LINE__, #cond);                              \
			tt_failed_checks++;                                \
			tt_case_failed = 1;                                \
		}                                                          \
	} while (0)

/* CHECK with a formatted explanation printed on failure. */
#define CHECKF(cond, ...)                                                  \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("# %s:%d: check failed: %s: ", __FILE__,    \
			    __LINE__, #cond);                              \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
			tt_failed_checks++;                                \
			tt_case_failed = 1;                                \
		}                                                          \
	} while (0)

#define TEST(fn)                                                           \
	do {                                                               \
		tt_case_failed = 0;                                        \
		fn();                                                      \
		tt_cases++;                                                \
		if (tt_case_failed)                                        \
			tt_cases_failed++;                                 \
		printf("%s %d - %s\n", tt_case_failed ? "not ok" : "ok",   \
		    tt_cases, #fn);                                        \
		fflush(stdout);                                            \
	} while (0)

#define TEST_DONE()                                                        \
	do {                                                               \
		printf("1..%d\n", tt_cases);                               \
		return tt_cases_failed ? 1 : 0;                            \
	} while (0)

#endif
