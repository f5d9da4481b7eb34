// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <sys/syscall.h>

#include "sysnr.h"
#include "zcap_abi.h"

struct sysnr {
	int nr;
	int sc;
};

#define S(name, sc) { SYS_##name, sc },

static const struct sysnr table[] = {
	S(read, ZCAP_SYS_READ)
	S(write, ZCAP_SYS_WRITE)
	S(pread64, ZCAP_SYS_PREAD64)
	S(pwrite64, ZCAP_SYS_PWRITE64)
	S(readv, ZCAP_SYS_READV)
	S(writev, ZCAP_SYS_WRITEV)
	S(preadv, ZCAP_SYS_PREADV)
	S(pwritev, ZCAP_SYS_PWRITEV)
	S(preadv2, ZCAP_SYS_PREADV2)
	S(pwritev2, ZCAP_SYS_PWRITEV2)
	S(sendto, ZCAP_SYS_SENDTO)
	S(recvfrom, ZCAP_SYS_RECVFROM)
	S(sendmsg, ZCAP_SYS_SENDMSG)
	S(recvmsg, ZCAP_SYS_RECVMSG)
	S(sendmmsg, ZCAP_SYS_SENDMMSG)
	S(recvmmsg, ZCAP_SYS_RECVMMSG)
#ifdef SYS_open
	S(open, ZCAP_SYS_OPEN)
#endif
	S(openat, ZCAP_SYS_OPENAT)
	S(openat2, ZCAP_SYS_OPENAT2)
#ifdef SYS_creat
	S(creat, ZCAP_SYS_CREAT)
#endif
	S(close, ZCAP_SYS_CLOSE)
	S(close_range, ZCAP_SYS_CLOSE_RANGE)
	S(dup, ZCAP_SYS_DUP)
#ifdef SYS_dup2
	S(dup2, ZCAP_SYS_DUP2)
#endif
	S(dup3, ZCAP_SYS_DUP3)
	S(fcntl, ZCAP_SYS_FCNTL)
#ifdef SYS_pipe
	S(pipe, ZCAP_SYS_PIPE)
#endif
	S(pipe2, ZCAP_SYS_PIPE2)
	S(socket, ZCAP_SYS_SOCKET)
	S(socketpair, ZCAP_SYS_SOCKETPAIR)
#ifdef SYS_accept
	S(accept, ZCAP_SYS_ACCEPT)
#endif
	S(accept4, ZCAP_SYS_ACCEPT4)
	S(connect, ZCAP_SYS_CONNECT)
	S(bind, ZCAP_SYS_BIND)
	S(listen, ZCAP_SYS_LISTEN)
	S(sendfile, ZCAP_SYS_SENDFILE64)
	S(splice, ZCAP_SYS_SPLICE)
	S(tee, ZCAP_SYS_TEE)
	S(vmsplice, ZCAP_SYS_VMSPLICE)
	S(copy_file_range, ZCAP_SYS_COPY_FILE_RANGE)
	S(mmap, ZCAP_SYS_MMAP)
	S(truncate, ZCAP_SYS_TRUNCATE)
	S(ftruncate, ZCAP_SYS_FTRUNCATE)
#ifdef SYS_rename
	S(rename, ZCAP_SYS_RENAME)
#endif
	S(renameat, ZCAP_SYS_RENAMEAT)
	S(renameat2, ZCAP_SYS_RENAMEAT2)
#ifdef SYS_link
	S(link, ZCAP_SYS_LINK)
#endif
	S(linkat, ZCAP_SYS_LINKAT)
#ifdef SYS_unlink
	S(unlink, ZCAP_SYS_UNLINK)
#endif
	S(unlinkat, ZCAP_SYS_UNLINKAT)
#ifdef SYS_rmdir
	S(rmdir, ZCAP_SYS_RMDIR)
#endif
#ifdef SYS_mkdir
	S(mkdir, ZCAP_SYS_MKDIR)
#endif
	S(mkdirat, ZCAP_SYS_MKDIRAT)
#ifdef SYS_symlink
	S(symlink, ZCAP_SYS_SYMLINK)
#endif
	S(symlinkat, ZCAP_SYS_SYMLINKAT)
};

void sysnr_for_each(void (*fn)(int nr, int sc, void *ctx), void *ctx)
{
	for (unsigned int i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		fn(table[i].nr, table[i].sc, ctx);
}
