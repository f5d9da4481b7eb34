// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int zcap_verbose;

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "zcap: %s%s\n", prefix, line);
}

void zcap_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("", fmt, ap);
	va_end(ap);
}

void zcap_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("warning: ", fmt, ap);
	va_end(ap);
}

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
		errno = EINVAL;
		return false;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end) {
		errno = errno ? errno : EINVAL;
		return false;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return false;
	}
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == ' ')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

int create_output(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		zcap_err("cannot write '%s': is a directory", path);
		return -1;
	}
	/* O_NOFOLLOW: never write through a symlink planted in a shared dir */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		zcap_err("cannot write '%s': %s", path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	/* an existing file keeps its mode on O_TRUNC: captures hold secrets
	 * (regular files only: -o /dev/null must stay usable by everyone) */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && fchmod(fd, 0600) && errno != EPERM)
		zcap_warn("cannot chmod '%s': %s", path, strerror(errno));
	return fd;
}
