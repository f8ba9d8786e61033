/* SPDX-License-Identifier: MIT */
/*
 * Daemon signal handling, the same in every daemon: TERM and INT ask for a
 * drain and a clean exit, HUP asks for a reload (or is ignored where there
 * is nothing to reload), PIPE is ignored so that a peer closing a socket
 * fails the write instead of killing the process. The handlers only set
 * the flags below; the main loop polls and clears them.
 */
#ifndef KLOG_SIG_H
#define KLOG_SIG_H

#include <signal.h>
#include <stdbool.h>

/* Set to 1 by TERM or INT once sig_install() ran; never cleared here. */
extern volatile sig_atomic_t sig_stop;
/* Set to 1 by HUP when sig_install(true) ran; the reloader clears it. */
extern volatile sig_atomic_t sig_reload;

/*
 * Install the handlers: TERM and INT set sig_stop; HUP sets sig_reload
 * when `reload` is true and is ignored otherwise; PIPE is ignored.
 */
void sig_install(bool reload);

/* Ignore one more signal (e.g. XFSZ, so that writes fail with EFBIG). */
void sig_ignore(int sig);

#endif
