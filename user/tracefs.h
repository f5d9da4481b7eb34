/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tracefs: libbpf's tracepoint attach reads event ids from it. */
#ifndef ZCAP_TRACEFS_H
#define ZCAP_TRACEFS_H

#include <stdbool.h>

/* The mounted tracefs root ("/sys/kernel/tracing" or the debugfs one), or
 * NULL when none is mounted. */
const char *tracefs_root(void);

/* Mount tracefs at /sys/kernel/tracing when it is not mounted anywhere.
 * 0 or -errno, nothing printed (for callers that report it themselves,
 * like `zcap doctor`). *mounted set when we did. */
int tracefs_mount(bool *mounted);

/* tracefs_mount, printing the one line that says why it failed. */
int tracefs_ensure(bool *mounted);

/* Does the tracepoint CATEGORY/NAME exist? (false without tracefs) */
bool tracepoint_exists(const char *category, const char *name);

#endif
