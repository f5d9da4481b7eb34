/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live status line on stderr: counts so far and the time since the
 * capture started, rewritten in place (\r ... erase to end of line) about
 * once a second. Only on a terminal, as tcpdump's "Got N" and dd's
 * status=progress: in a pipe or a log file a line every second is noise,
 * and the summary at the end says it all.
 */
#ifndef ZCAP_STATUS_H
#define ZCAP_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether to show it: stderr is a terminal and the records do not go to
 * that same terminal (out_fd: where they are written, -1 for none). */
bool status_wanted(int out_fd);

/* "\rzcap: TEXT, H:MM:SS\033[K" with the elapsed time appended. */
void status_show(double elapsed_s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* End the line (before the summary) when one was shown. */
void status_end(bool shown);

/* "123 bytes", "45.6 KiB", "7.0 MiB", "1.2 GiB" */
void status_bytes(uint64_t b, char *buf, size_t len);

#endif
