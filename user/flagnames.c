// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel's own values (asm/fcntl.h), not glibc's: glibc defines
 * O_LARGEFILE as 0 on 64-bit targets, while the kernel still sees and
 * strace still names the bit. Nothing here may include <fcntl.h>.
 */
#include <stdio.h>
#include <string.h>
#include <asm/fcntl.h>

#include "flagnames.h"

struct flagname {
	uint32_t bits;
	const char *name;
};

/* strace 6's order, which is not by value: a combined name (O_SYNC,
 * O_TMPFILE) comes before the bits it is made of. */
static const struct flagname open_flags[] = {
	{ O_CREAT, "O_CREAT" },
	{ O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },
	{ O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },
	{ O_NONBLOCK, "O_NONBLOCK" },
	{ O_SYNC, "O_SYNC" },
	{ O_DSYNC, "O_DSYNC" },
	{ __O_SYNC, "__O_SYNC" },
	{ O_DIRECT, "O_DIRECT" },
	{ O_LARGEFILE, "O_LARGEFILE" },
	{ O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" },
	{ O_PATH, "O_PATH" },
	{ O_TMPFILE, "O_TMPFILE" },
	{ O_DIRECTORY, "O_DIRECTORY" },
	{ __O_TMPFILE, "__O_TMPFILE" },
	{ FASYNC, "FASYNC" },
};

static const char *const accmodes[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };

/* Append each table name whose bits are all set, then the rest in hex. */
static void append_names(char *buf, size_t off, uint32_t flags, const struct flagname *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((flags & t[i].bits) != t[i].bits)
			continue;
		off += snprintf(buf + off, FLAGNAMES_MAX - off, "%s%s", off ? "|" : "", t[i].name);
		flags &= ~t[i].bits;
	}
	if (flags || !off)
		snprintf(buf + off, FLAGNAMES_MAX - off, "%s%#x", off ? "|" : "", flags);
}

char *open_flags_format(uint32_t flags, char *buf)
{
	size_t off = snprintf(buf, FLAGNAMES_MAX, "%s", accmodes[flags & O_ACCMODE]);

	append_names(buf, off, flags & ~O_ACCMODE, open_flags,
		     sizeof(open_flags) / sizeof(open_flags[0]));
	return buf;
}

int open_flags_take_mode(uint32_t flags)
{
	return (flags & O_CREAT) || (flags & __O_TMPFILE);
}

char *sock_flags_format(uint32_t flags, char *buf)
{
	/* SOCK_CLOEXEC and SOCK_NONBLOCK are O_CLOEXEC and O_NONBLOCK */
	static const struct flagname sock_flags[] = {
		{ O_CLOEXEC, "SOCK_CLOEXEC" },
		{ O_NONBLOCK, "SOCK_NONBLOCK" },
	};

	buf[0] = 0;
	append_names(buf, 0, flags, sock_flags, 2);
	return buf;
}
