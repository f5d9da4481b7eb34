// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <signal.h>

#include "stopsig.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

int stop_signal_caught(void)
{
	return stop_signal;
}

void stop_signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed output pipe is an error return (EPIPE), not death */
	signal(SIGPIPE, SIG_IGN);
}
