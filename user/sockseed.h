/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet output: the owners of sockets opened before the capture. The
 * kernel names a socket's owner in the sock_owner map (kern/common.bpf.h)
 * when the owner accepts, connects, binds or sends with an address; a
 * socket older than the capture (a keep-alive connection, a database
 * client's) may never do so again. Once the programs are attached, this
 * names them from /proc (user/sockscan.c): one entry per socket, keyed as
 * the kernel keys it, added only where the kernel has not written one
 * already (BPF_NOEXIST: the kernel's entry is the fresher).
 */
#ifndef ZCAP_SOCKSEED_H
#define ZCAP_SOCKSEED_H

#include <sys/types.h>

#include "loader.h"
#include "sockscan.h"

/* The processes and sockets a capture is about. */
struct sockseed_filter {
	const struct loader_opts *lo; /* --comm, --cgroup, --port */
	const pid_t *pids;	      /* -p: these processes only */
	int npids;
	pid_t self; /* never named: zcap's own sockets */
};

struct sockseed_result {
	unsigned int named;  /* entries added */
	unsigned int kernel; /* already named by the kernel */
};

/* The sock_owner key of a socket, as sock_owner_note() builds it: IPv4
 * addresses as ::ffff:a.b.c.d, the any address all zero. */
void sockseed_key(const struct sockscan_sock *s, struct zcap_sock_key *k);

/* Fill the sock_owner map (map_fd) from /proc. 0 or -errno. */
int sockseed_fill(int map_fd, const struct sockseed_filter *f, struct sockseed_result *res);

#endif
