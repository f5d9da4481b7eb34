/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The signals that end a capture cleanly (SIGINT, SIGTERM, SIGHUP): caught
 * once, before any output exists, and asked for by whatever waits (the
 * capture loop, an output waiting for a FIFO's reader). Its own file so
 * that those need nothing else of the capture.
 */
#ifndef ZCAP_STOPSIG_H
#define ZCAP_STOPSIG_H

/* Catch SIGINT/SIGTERM/SIGHUP (they end the capture cleanly; a signal
 * caught before the capture runs still does) and ignore SIGPIPE. Call it
 * before creating any output, so no signal leaves a half-started file. */
void stop_signals_catch(void);
/* The signal caught so far (0: none). */
int stop_signal_caught(void);

#endif
