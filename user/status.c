// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The live status line on stderr (status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

bool status_wanted(int out_fd)
{
	struct stat err, out;

	if (!isatty(STDERR_FILENO))
		return false;
	/* records on the same terminal: a rewritten line would cut into them */
	if (out_fd >= 0 && isatty(out_fd) && !fstat(out_fd, &out) && !fstat(STDERR_FILENO, &err) &&
	    out.st_rdev == err.st_rdev)
		return false;
	return true;
}

void status_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= 10ULL << 30)
		snprintf(buf, len, "%.1f GiB", b / (double)(1ULL << 30));
	else if (b >= 10ULL << 20)
		snprintf(buf, len, "%.1f MiB", b / (double)(1ULL << 20));
	else if (b >= 10ULL << 10)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)b);
}

void status_show(double elapsed_s, const char *fmt, ...)
{
	unsigned long s = elapsed_s > 0 ? (unsigned long)elapsed_s : 0;
	va_list ap;

	fputs("\rzcap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ", %lu:%02lu:%02lu\033[K", s / 3600, s / 60 % 60, s % 60);
	fflush(stderr);
}

void status_end(bool shown)
{
	if (shown)
		fputc('\n', stderr);
}
