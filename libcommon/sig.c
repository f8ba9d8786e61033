/* SPDX-License-Identifier: MIT */
/*
 * Daemon signal handling (see sig.h). The flags live here so that the
 * handler only ever assigns to a volatile sig_atomic_t, the one thing a
 * handler may do with static storage.
 */
#include <signal.h>
#include <string.h>

#include "sig.h"
#include "banned.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_reload = 1;
	else
		sig_stop = 1;
}

static void
set_handler(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

void
sig_install(bool reload)
{
	set_handler(SIGTERM, on_signal);
	set_handler(SIGINT, on_signal);
	set_handler(SIGHUP, reload ? on_signal : SIG_IGN);
	set_handler(SIGPIPE, SIG_IGN);
}

void
sig_ignore(int sig)
{
	set_handler(sig, SIG_IGN);
}
