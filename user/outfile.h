/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Output files (record -o, lineage -o). Captures hold secrets and zcap
 * runs as root in directories other users write to (/tmp): the output is
 * always a new 0600 inode zcap created (O_EXCL in FILE's directory,
 * renamed over FILE by outfile_commit), never an existing file another
 * user could have opened or owns, never whatever a symlink points to.
 * FIFOs and character devices (/dev/null) are written in place. A kill -9
 * before the commit leaves PATH as it was: zcap's guard (killguard.h)
 * removes the new file.
 */
#ifndef ZCAP_OUTFILE_H
#define ZCAP_OUTFILE_H

#include <stdbool.h>

struct outfile {
	const char *path; /* as given */
	char *tmp;	  /* the new file, until committed; NULL when in place */
	int fd;
};

/*
 * Open PATH for writing. A FIFO waits for its reader, saying so once on
 * stderr, for at most wait_s seconds (0: no limit) and not past a stop
 * signal (stopsig.h). Returns 0, or the exit code with one
 * line printed: ZCAP_EXIT_USAGE for a path zcap will not write (a
 * symlink, directory, block device, socket; a directory it cannot create
 * a file in), ZCAP_EXIT_FAIL when no reader came.
 */
int outfile_open(struct outfile *of, const char *path, double wait_s);

/* The new file replaces PATH (nothing to do in place); 0 or -errno. */
int outfile_commit(struct outfile *of);

/* Close; an uncommitted new file is removed (PATH stays as it was).
 * 0 or -errno of close(2). */
int outfile_close(struct outfile *of);

#endif
