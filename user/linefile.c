// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "linefile.h"
#include "pcapng.h"

struct linefile {
	int fd;
	int err; /* a write failed: the stream stays failed */
	off_t end;  /* end of the last whole line in a regular file, else -1 */
	char *part; /* bytes after the last newline written */
	size_t len, cap;
};

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
	err = pcapng_write_unit(lf->fd, lf->part, whole, &lf->end);
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

FILE *linefile_open(int fd)
{
	static const cookie_io_functions_t io = { .write = lf_write, .close = lf_close };
	struct linefile *lf = calloc(1, sizeof(*lf));
	FILE *f;

	if (!lf)
		return NULL;
	lf->fd = fd;
	lf->end = pcapng_unit_start(fd);
	f = fopencookie(lf, "w", io);
	if (!f)
		free(lf);
	return f;
}
