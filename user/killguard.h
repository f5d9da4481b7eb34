/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a kill -9 of zcap leaves in its output files: whole units (pcap-ng
 * blocks, lines) only. The kernel stops a write(2) to a regular file at a
 * page boundary when a fatal signal arrives, and zcap never runs again to
 * cut the file back. So a small child process, which shares zcap's file
 * table (the output's fd outlives zcap) but not its memory or its process
 * group, waits for zcap to end; if zcap ended inside a write it had marked
 * (pcapng_unit_mark), the guard cuts that file back to the start of the
 * unit, and exits. The file is whole once the guard is gone, within
 * milliseconds of zcap; zcap's BPF objects, whose fds it shares, go with it.
 * A new output file zcap had not renamed into place yet (outfile.h) is
 * removed by the guard, so a kill -9 leaves FILE as it was and no
 * .zcap-XXXXXX beside it.
 */
#ifndef ZCAP_KILLGUARD_H
#define ZCAP_KILLGUARD_H

/* Start the guard and mark zcap's unit writes; 0 or -errno (no guard,
 * which -v says: a kill -9 may then leave a cut unit or a temporary). */
int killguard_start(void);
/* Stop and reap the guard (a normal end); nothing when none runs. */
void killguard_stop(void);

/* A new file at path (fd open on it) that is not in place yet: removed if
 * zcap dies before killguard_forget_temp(fd). Nothing without a guard;
 * at most KILLGUARD_TEMPS at once (more are not guarded). */
#define KILLGUARD_TEMPS 2
void killguard_hold_temp(int fd, const char *path);
void killguard_forget_temp(int fd);

#endif
