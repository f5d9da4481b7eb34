/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Output file rotation for long captures, with tcpdump's options and file
 * names (tcpdump(8) -C, -G, -W):
 *
 *   -C MB   before a packet is written, a file already larger than MB
 *           millions of bytes is closed and the next one opened: FILE,
 *           FILE1, FILE2, ... With -W N the names are FILE0 .. FILE<N-1>,
 *           zero-padded to the digits of N-1, reused in a ring.
 *   -G S    the first packet S seconds or more after a file was opened
 *           starts a new one; FILE is an strftime(3) pattern expanded with
 *           the local time of the file's start. With -W N the capture stops
 *           after N files (without -C). With -C too, the count restarts at
 *           0 with each -G period: FILE0, FILE1, ...
 *
 * Every file is a new 0600 inode (user/outfile.c) renamed over its name
 * as soon as it is opened: a ring never writes into an older file.
 */
#ifndef ZCAP_ROTATE_H
#define ZCAP_ROTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "outfile.h"

struct rotate_opts {
	uint64_t size_limit; /* -C in bytes; 0: none */
	unsigned int files;  /* -W; 0: no limit */
	unsigned int period; /* -G in seconds; 0: none */
};

static inline bool rotate_wanted(const struct rotate_opts *o)
{
	return o->size_limit || o->period;
}

enum rotate_step {
	ROTATE_KEEP, /* keep writing the current file */
	ROTATE_NEXT, /* rotator_next(), then write */
	ROTATE_STOP, /* -G with -W: the last file is done */
};

struct rotator;

/* NULL with a message printed (out of memory, a name too long). */
struct rotator *rotator_new(const char *pattern, const struct rotate_opts *o);
void rotator_free(struct rotator *r);

/* Open the first file (named from now); 0 or the exit code (outfile_open),
 * a message printed. The caller commits it (outfile_commit) when the
 * capture starts. */
int rotator_open_first(struct rotator *r, double wait_s);

/* The current file: its fd and name, and the outfile to commit. */
int rotator_fd(const struct rotator *r);
const char *rotator_name(const struct rotator *r);
struct outfile *rotator_outfile(struct rotator *r);

/* Before writing a packet: whether a new file comes first, from the
 * current file's size and the wall-clock time `now`. */
enum rotate_step rotator_check(struct rotator *r, uint64_t file_bytes, time_t now);

/* Close the current file and open (and commit) the next one at `now`.
 * 0 or -errno, a message printed. */
int rotator_next(struct rotator *r, time_t now);

/* Files opened so far. */
unsigned int rotator_files(const struct rotator *r);

/* The name of file `count` of the period starting at `when` (for tests):
 * false when it does not fit in `len`. */
bool rotate_name(char *buf, size_t len, const char *pattern, const struct rotate_opts *o,
		 unsigned int count, time_t when);

#endif
