// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "killguard.h"
#include "stopsig.h"
#include "outfile.h"
#include "util.h"

static int refuse(const char *path, const char *why)
{
	zcap_err("cannot write '%s': %s", path, why);
	return ZCAP_EXIT_USAGE;
}

/* A new 0600 file beside path: O_EXCL never reuses an inode, and never
 * follows a symlink planted under the random name. */
static int open_new(struct outfile *of)
{
	char *copy = strdup(of->path);

	if (!copy || asprintf(&of->tmp, "%s/.zcap-XXXXXX", dirname(copy)) < 0) {
		free(copy);
		of->tmp = NULL;
		return refuse(of->path, strerror(ENOMEM));
	}
	free(copy);
	of->fd = mkostemp(of->tmp, O_CLOEXEC); /* mode 0600 */
	if (of->fd < 0) {
		free(of->tmp);
		of->tmp = NULL;
		return refuse(of->path, strerror(errno));
	}
	killguard_hold_temp(of->fd, of->tmp);
	return 0;
}

/* A FIFO or character device, opened without following a link and
 * checked to be the node lstat saw; a FIFO without a reader is waited for. */
static int open_in_place(struct outfile *of, const struct stat *seen, double wait_s)
{
	bool fifo = S_ISFIFO(seen->st_mode), said = false;
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	double waited = 0;
	struct stat st;

	for (;;) {
		of->fd = open(of->path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
						(fifo ? O_NONBLOCK : 0));
		if (of->fd >= 0 || !fifo || errno != ENXIO)
			break;
		if (!said) {
			zcap_err("waiting for a reader of the FIFO '%s'", of->path);
			said = true;
		}
		if (stop_signal_caught() || (wait_s > 0 && waited >= wait_s)) {
			zcap_err("cannot write '%s': no reader opened the FIFO", of->path);
			return ZCAP_EXIT_FAIL;
		}
		nanosleep(&pause, NULL);
		waited += 0.05;
	}
	if (of->fd < 0)
		return refuse(of->path, errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(of->fd, &st) || (st.st_mode & S_IFMT) != (seen->st_mode & S_IFMT) ||
	    st.st_dev != seen->st_dev || st.st_ino != seen->st_ino) {
		close(of->fd);
		of->fd = -1;
		return refuse(of->path, "replaced while opening it");
	}
	/* blocking from now on, as a pipe on stdout */
	if (fifo)
		fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

int outfile_open(struct outfile *of, const char *path, double wait_s)
{
	struct stat st;

	of->path = path;
	of->tmp = NULL;
	of->fd = -1;
	if (lstat(path, &st)) {
		if (errno != ENOENT)
			return refuse(path, strerror(errno));
		return open_new(of);
	}
	if (S_ISLNK(st.st_mode))
		return refuse(path, "is a symbolic link");
	if (S_ISDIR(st.st_mode))
		return refuse(path, strerror(EISDIR));
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
		return open_in_place(of, &st, wait_s);
	if (!S_ISREG(st.st_mode))
		return refuse(path, S_ISBLK(st.st_mode)
					    ? "is a block device"
					    : "is not a regular file, FIFO or character device");
	return open_new(of);
}

int outfile_commit(struct outfile *of)
{
	if (!of->tmp)
		return 0;
	if (rename(of->tmp, of->path))
		return -errno;
	killguard_forget_temp(of->fd);
	free(of->tmp);
	of->tmp = NULL;
	return 0;
}

int outfile_close(struct outfile *of)
{
	int err = 0;

	if (of->tmp)
		killguard_forget_temp(of->fd);
	if (of->fd >= 0 && close(of->fd))
		err = -errno;
	of->fd = -1;
	if (of->tmp) {
		unlink(of->tmp);
		free(of->tmp);
		of->tmp = NULL;
	}
	return err;
}
