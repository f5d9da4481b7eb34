// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hook_floor: attach two empty raw_tp programs to sys_enter and sys_exit,
 * say "attached" on stdout, and keep them until SIGINT or SIGTERM. `make
 * bench` times an unrelated workload under it next to zcap: the difference
 * between the two is zcap's own dispatch, the rest is the hook itself.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hook_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

int main(void)
{
	struct hook_floor_bpf *skel;
	int err;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = hook_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "hook_floor: cannot load the empty programs\n");
		return 1;
	}
	err = hook_floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "hook_floor: cannot attach: %s\n", strerror(-err));
		hook_floor_bpf__destroy(skel);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	hook_floor_bpf__destroy(skel);
	return 0;
}
