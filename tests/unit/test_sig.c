/* SPDX-License-Identifier: MIT */
/*
 * Tests for sig: the handlers set the flags, HUP is ignored unless a
 * reload was asked for, and PIPE (or a signal given to sig_ignore) never
 * kills the process.
 */
#include <signal.h>
#include <stdbool.h>

#include "sig.h"
#include "tinytest.h"
#include "banned.h"

enum { STOP = 1, RELOAD = 2 };

/* Install, clear the flags, raise `sig`: which flags it set. */
static int
flags_after(bool reload, int sig)
{
	int got;

	sig_install(reload);
	sig_stop = sig_reload = 0;
	raise(sig);
	got = (sig_stop ? STOP : 0) | (sig_reload ? RELOAD : 0);
	sig_stop = sig_reload = 0;
	return got;
}

static void
test_sig__stop(void)
{
	CHECK(flags_after(false, SIGTERM) == STOP);
	CHECK(flags_after(false, SIGINT) == STOP);
	CHECK(flags_after(true, SIGTERM) == STOP);
}

static void
test_sig__hup(void)
{
	CHECK(flags_after(false, SIGHUP) == 0);
	CHECK(flags_after(true, SIGHUP) == RELOAD);
}

static void
test_sig__ignored(void)
{
	CHECK(flags_after(false, SIGPIPE) == 0);
	sig_ignore(SIGXFSZ);
	CHECK(flags_after(true, SIGXFSZ) == 0);
}

int
main(void)
{
	TEST(test_sig__stop);
	TEST(test_sig__hup);
	TEST(test_sig__ignored);
	TEST_DONE();
}
