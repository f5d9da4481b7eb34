/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What /proc/PID/stat says of a process: its name and whether it is a
 * kernel thread (no user memory, so no user I/O for zcap to capture). */
#ifndef ZCAP_PROCSTAT_H
#define ZCAP_PROCSTAT_H

#include <stdbool.h>
#include <sys/types.h>

struct procstat {
	char comm[64]; /* as the kernel shows it (16 bytes at most today) */
	bool kernel_thread;
};

/* 0, or -errno (-ENOENT: no such process). */
int procstat_read(pid_t pid, struct procstat *out);

#endif
