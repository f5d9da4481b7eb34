// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "linefile.h"
#include "pcapng.h"

struct linefile {
	int fd;
	bool shared; /* another process writes to the same pipe */
	int err; /* a write failed: the stream stays failed */
	off_t end;  /* end of the last whole line in a regular file, else -1 */
	char *part; /* bytes after the last newline written */
	size_t len, cap;
};

/* How many bytes the whole lines at the start of [p, p + n) take that fit
 * in @limit bytes together; at least one line. n ends with a newline. */
static size_t lines_within(const char *p, size_t n, size_t limit)
{
	size_t piece = 0;

	while (piece < n) {
		size_t next = (size_t)((const char *)memchr(p + piece, '\n', n - piece) - p) + 1;

		if (piece && next > limit)
			break;
		piece = next;
	}
	return piece;
}

/* [p, p + n) in writes of whole lines within @limit bytes (a longer line
 * alone). 0 or -errno. */
static int write_pieces(struct linefile *lf, const char *p, size_t n, size_t limit)
{
	while (n) {
		size_t piece = lines_within(p, n, limit);
		int err = pcapng_write_unit(lf->fd, p, piece, &lf->end);

		if (err)
			return err;
		p += piece;
		n -= piece;
	}
	return 0;
}

/*
 * Whole lines in one write(2); when a file does not take them all (a full
 * disk), again line by line, so that it keeps every line that fits, as the
 * pcap-ng writer does with blocks. Into a pipe CMD writes to as well, in
 * pieces within PIPE_BUF, which the kernel never interleaves with CMD's
 * writes. 0 or -errno.
 */
static int write_lines(struct linefile *lf, const char *p, size_t n)
{
	int err;

	if (lf->shared)
		return write_pieces(lf, p, n, PIPE_BUF);
	err = pcapng_write_unit(lf->fd, p, n, &lf->end);
	if (!err || lf->end < 0)
		return err;
	return write_pieces(lf, p, n, 1);
}

static ssize_t lf_write(void *cookie, const char *buf, size_t n)
{
	struct linefile *lf = cookie;
	size_t whole = 0;
	int err;

	if (lf->err) {
		errno = lf->err;
		return 0;
	}
	if (lf->len + n > lf->cap) {
		size_t cap = (lf->len + n) * 2;
		char *p = realloc(lf->part, cap);

		if (!p) {
			errno = ENOMEM;
			return 0;
		}
		lf->part = p;
		lf->cap = cap;
	}
	memcpy(lf->part + lf->len, buf, n);
	lf->len += n;
	for (size_t i = lf->len; i > 0; i--) {
		if (lf->part[i - 1] == '\n') {
			whole = i;
			break;
		}
	}
	if (!whole)
		return n;
	err = write_lines(lf, lf->part, whole);
	if (err) {
		lf->err = -err;
		errno = -err;
		return 0;
	}
	memmove(lf->part, lf->part + whole, lf->len - whole);
	lf->len -= whole;
	return n;
}

/* A partial line left at the end is dropped: whole lines only. */
static int lf_close(void *cookie)
{
	struct linefile *lf = cookie;

	free(lf->part);
	free(lf);
	return 0;
}

FILE *linefile_open(int fd, bool shared_pipe)
{
	static const cookie_io_functions_t io = { .write = lf_write, .close = lf_close };
	struct linefile *lf = calloc(1, sizeof(*lf));
	FILE *f;

	if (!lf)
		return NULL;
	lf->fd = fd;
	lf->shared = shared_pipe;
	lf->end = pcapng_unit_start(fd);
	f = fopencookie(lf, "w", io);
	if (!f)
		free(lf);
	return f;
}
