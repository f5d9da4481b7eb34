/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * zcap lineage: which files a command and its descendants read, wrote,
 * created, deleted and executed, and how data flowed between them
 * (docs/lineage.md). The model is fed whole records (as a sink), then
 * finished (hashes); the writers of lineage_out.h turn it into a record.
 */
#ifndef ZCAP_LINEAGE_H
#define ZCAP_LINEAGE_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "sink.h"

struct lineage;

/* cmd: the command's argv (NULL-terminated, copied). NULL on ENOMEM. */
struct lineage *lineage_new(char *const *cmd);
void lineage_free(struct lineage *lg);

/* CMD runs as USER (--user): hash only what USER could read; 0 or -errno. */
int lineage_set_user(struct lineage *lg, const char *user);

/* Feed one record; 0 or -ENOMEM. */
int lineage_feed(struct lineage *lg, const struct zrec *r);

/* A sink feeding lg (lg outlives the sink; the sink writes nothing). */
struct sink *lineage_sink_new(struct lineage *lg);

/*
 * End of the run: wall-clock start/end, CMD's exit code, events lost.
 * Hashes the outputs' final contents and waits for every hash.
 */
/* zcap was stopped by signal sig while CMD still ran (before
 * lineage_finish): the record says the run was interrupted. */
void lineage_set_stop_signal(struct lineage *lg, int sig);
void lineage_finish(struct lineage *lg, const struct timespec *start, const struct timespec *end,
		    int exit_code, uint64_t dropped_events);

/* The causes of the events lost (before lineage_finish): the kernel's
 * counters by enum zcap_drop_cause and the records the decoder rejected.
 * The record lists them under "drops". */
void lineage_set_drops(struct lineage *lg, const uint64_t drops[ZCAP_DROP_MAX],
		       uint64_t bad_records);

/* Lexically normalize an absolute path ("//", ".", ".."), in place. */
void lineage_normalize_path(char *path);

#endif
