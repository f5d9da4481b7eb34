/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A stdio stream for line-oriented outputs (text, JSON Lines, lineage)
 * that only ever writes whole lines: a partial line waits in memory until
 * its newline, so `kill -9` leaves whole lines, and a write that fails
 * part way (a full disk) cuts a regular file back to its last whole line
 * (pcapng_write_unit). The error is the stream's (ferror, errno).
 */
#ifndef ZCAP_LINEFILE_H
#define ZCAP_LINEFILE_H

#include <stdbool.h>
#include <stdio.h>

/* A stream writing to fd (left open by fclose); NULL with errno.
 * @shared_pipe: fd is a pipe another process (`-- CMD`) writes to as well;
 * each write(2) then carries whole lines within PIPE_BUF, so none is
 * interleaved with the other's writes (a longer line goes alone). */
FILE *linefile_open(int fd, bool shared_pipe);

#endif
