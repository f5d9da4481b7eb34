// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stddef.h>
#include <string.h>

#include "names.h"

static const char *const syscall_names[ZCAP_SYS_MAX] = {
	[ZCAP_SYS_NONE] = "none",
	[ZCAP_SYS_READ] = "read",
	[ZCAP_SYS_WRITE] = "write",
	[ZCAP_SYS_PREAD64] = "pread64",
	[ZCAP_SYS_PWRITE64] = "pwrite64",
	[ZCAP_SYS_READV] = "readv",
	[ZCAP_SYS_WRITEV] = "writev",
	[ZCAP_SYS_PREADV] = "preadv",
	[ZCAP_SYS_PWRITEV] = "pwritev",
	[ZCAP_SYS_PREADV2] = "preadv2",
	[ZCAP_SYS_PWRITEV2] = "pwritev2",
	[ZCAP_SYS_SENDTO] = "sendto",
	[ZCAP_SYS_RECVFROM] = "recvfrom",
	[ZCAP_SYS_SENDMSG] = "sendmsg",
	[ZCAP_SYS_RECVMSG] = "recvmsg",
	[ZCAP_SYS_SENDMMSG] = "sendmmsg",
	[ZCAP_SYS_RECVMMSG] = "recvmmsg",
	[ZCAP_SYS_OPEN] = "open",
	[ZCAP_SYS_OPENAT] = "openat",
	[ZCAP_SYS_OPENAT2] = "openat2",
	[ZCAP_SYS_CREAT] = "creat",
	[ZCAP_SYS_CLOSE] = "close",
	[ZCAP_SYS_CLOSE_RANGE] = "close_range",
	[ZCAP_SYS_DUP] = "dup",
	[ZCAP_SYS_DUP2] = "dup2",
	[ZCAP_SYS_DUP3] = "dup3",
	[ZCAP_SYS_FCNTL] = "fcntl",
	[ZCAP_SYS_PIPE] = "pipe",
	[ZCAP_SYS_PIPE2] = "pipe2",
	[ZCAP_SYS_SOCKET] = "socket",
	[ZCAP_SYS_SOCKETPAIR] = "socketpair",
	[ZCAP_SYS_ACCEPT] = "accept",
	[ZCAP_SYS_ACCEPT4] = "accept4",
	[ZCAP_SYS_CONNECT] = "connect",
	[ZCAP_SYS_BIND] = "bind",
	[ZCAP_SYS_SENDFILE64] = "sendfile",
	[ZCAP_SYS_SPLICE] = "splice",
	[ZCAP_SYS_TEE] = "tee",
	[ZCAP_SYS_VMSPLICE] = "vmsplice",
	[ZCAP_SYS_COPY_FILE_RANGE] = "copy_file_range",
	[ZCAP_SYS_MMAP] = "mmap",
	[ZCAP_SYS_TRUNCATE] = "truncate",
	[ZCAP_SYS_FTRUNCATE] = "ftruncate",
	[ZCAP_SYS_RENAME] = "rename",
	[ZCAP_SYS_RENAMEAT] = "renameat",
	[ZCAP_SYS_RENAMEAT2] = "renameat2",
	[ZCAP_SYS_LINK] = "link",
	[ZCAP_SYS_LINKAT] = "linkat",
	[ZCAP_SYS_UNLINK] = "unlink",
	[ZCAP_SYS_UNLINKAT] = "unlinkat",
	[ZCAP_SYS_RMDIR] = "rmdir",
	[ZCAP_SYS_MKDIR] = "mkdir",
	[ZCAP_SYS_MKDIRAT] = "mkdirat",
	[ZCAP_SYS_SYMLINK] = "symlink",
	[ZCAP_SYS_SYMLINKAT] = "symlinkat",
	[ZCAP_SYS_IOURING] = "io_uring",
	[ZCAP_SYS_FORK] = "fork",
	[ZCAP_SYS_EXEC] = "exec",
	[ZCAP_SYS_EXIT] = "exit",
	[ZCAP_SYS_LISTEN] = "listen",
};

const char *syscall_name(unsigned int sc)
{
	if (sc >= ZCAP_SYS_MAX || !syscall_names[sc])
		return "?";
	return syscall_names[sc];
}

int syscall_by_name(const char *name)
{
	for (int i = 0; i < ZCAP_SYS_MAX; i++)
		if (syscall_names[i] && !strcmp(syscall_names[i], name))
			return i;
	return -1;
}

const char *fd_kind_name(unsigned int kind)
{
	static const char *const names[ZCAP_FD_KIND_MAX] = {
		[ZCAP_FD_UNKNOWN] = "unknown", [ZCAP_FD_FILE] = "file",
		[ZCAP_FD_DIR] = "dir",	       [ZCAP_FD_PIPE] = "pipe",
		[ZCAP_FD_TCP] = "tcp",	       [ZCAP_FD_UDP] = "udp",
		[ZCAP_FD_UNIX] = "unix",       [ZCAP_FD_SOCK_OTHER] = "socket",
		[ZCAP_FD_CHR] = "chr",	       [ZCAP_FD_OTHER] = "other",
	};

	return kind < ZCAP_FD_KIND_MAX ? names[kind] : "unknown";
}

const char *dir_name(unsigned int dir)
{
	return dir == ZCAP_DIR_IN ? "in" : dir == ZCAP_DIR_OUT ? "out" : "-";
}

const char *drop_cause_name(unsigned int cause)
{
	static const char *const names[ZCAP_DROP_MAX] = {
		[ZCAP_DROP_RINGBUF] = "ring_full",
		[ZCAP_DROP_MAPFULL] = "map_full",
		[ZCAP_DROP_FAULT] = "read_fault",
	};

	return cause < ZCAP_DROP_MAX ? names[cause] : "?";
}
