/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A capture session: loader -> decoder -> stitcher -> sinks, until a
 * signal, a count, a duration or the end of `-- CMD`. Shared by `record`
 * and `lineage`.
 */
#ifndef ZCAP_CAPTURE_H
#define ZCAP_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "loader.h"
#include "sink.h"

struct account;
struct filter_expr;
struct outfile;

#define CAPTURE_MAX_PIDS 64

struct capture_opts {
	struct loader_opts lo;	/* on_record/ctx are set by capture_run */
	pid_t pids[CAPTURE_MAX_PIDS];
	int npids;
	char **cmd;		/* NULL-terminated argv, or NULL */
	const char *user;	/* run cmd as this user */
	/* -Z: become this user once the capture has started (privdrop.h) */
	const struct account *drop_to;
	uint64_t max_records;	/* 0: no limit */
	double duration;	/* seconds; 0: no limit */
	bool quiet;		/* no "capturing" line or summary */
	bool status;		/* the live status line on stderr (status.h) */
	bool wait_all;		/* with cmd: wait for every traced process, not just cmd */
	unsigned int event_mask; /* 1 << ZCAP_EV_* to pass to sinks; 0 = all */
	/* text/JSON: records whose socket matches this expression only */
	struct filter_expr *record_filter;
	/* Packet output (record -o FILE.pcapng): tick runs after every ring
	 * poll with the CLOCK_MONOTONIC time in ns and returns 0 to go on, 1
	 * to stop (-c) or -errno of a failed write (-EPIPE: the reader of the
	 * output left, as when the loop notices it); pkt_lost gets each interface's lost packets before the sinks
	 * finish. With lo.want_packets and cmd, CMD gets its own cgroup. */
	int (*tick)(void *ctx, uint64_t now_ns);
	void (*pkt_lost)(void *ctx, uint32_t ifindex, uint64_t lost);
	void *hook_ctx;
	double linger; /* seconds captured after CMD ended (its last packets) */
	/* The output, for messages ("cannot write 'NAME': ...") and, with
	 * watch_out, to stop as soon as the reader of a pipe goes away. */
	const char *out_name;
	int out_fd;
	bool watch_out;
	/* a new -o file, committed (renamed over FILE) once the capture runs */
	struct outfile *out_file;
};

struct capture_result {
	bool cmd_ran;
	bool cmd_exited; /* cmd ended while we captured */
	int cmd_status;	 /* waitpid status of cmd */
	int stop_signal; /* signal that ended the capture, 0 if none */
	struct zcap_stats stats;
	int error;	 /* negative errno of a sink/loader failure, 0 if none */
};

/* Exit code for zcap itself follows from the result (see capture_exit_code). */
int capture_run(const struct capture_opts *o, struct sink **sinks, int nsinks,
		struct capture_result *res);
int capture_exit_code(const struct capture_opts *o, const struct capture_result *res);

/* Fail (exit 2 message) unless we may capture syscalls (privs.h). */
bool have_privileges(void);

#endif
