/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The inet sockets processes hold open, read from /proc as `ss -p` does:
 * each process's /proc/PID/fd/N that is "socket:[INODE]", and the
 * /proc/PID/net/{tcp,tcp6,udp,udp6} of each network namespace (read once
 * per namespace, through one of its processes) that give INODE its ends.
 *
 * A socket held by several processes (inherited over fork, passed over a
 * unix socket) or by several fds of one process (dup) is reported once:
 * with the lowest pid holding it, and that process's lowest fd for it.
 * Processes that exit during the scan, fds closed during it and entries
 * that cannot be read are skipped; a socket whose namespace no scanned
 * process can show any more is not reported.
 */
#ifndef ZCAP_SOCKSCAN_H
#define ZCAP_SOCKSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One line of /proc/net/{tcp,tcp6,udp,udp6}. */
struct sockscan_sock {
	uint8_t proto;	/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t family; /* AF_INET (the first 4 bytes of the addresses), AF_INET6 */
	uint8_t state;	/* the kernel's: TCP_LISTEN (10); UDP 7 unconnected, 1 connected */
	uint16_t lport, rport;	      /* host byte order */
	uint8_t laddr[16], raddr[16]; /* network byte order */
	uint64_t inode;		      /* 0: no socket file (TIME-WAIT, a request) */
};

/* The process reported as a socket's owner. */
struct sockscan_owner {
	pid_t pid;
	pid_t tid; /* = pid: which thread uses a socket is not in /proc */
	int fd;
	char comm[16];
	/* scanned processes holding the socket: more than one when it was
	 * inherited or passed, and which of them uses it is not in /proc */
	unsigned int holders;
};

/* Parse one line of /proc/net/FILE of this family (AF_INET: tcp, udp;
 * AF_INET6: tcp6, udp6) and protocol: 0 with *out filled, 1 for the
 * header line ("  sl  local_address ..."), -EINVAL for anything else. */
int sockscan_parse_line(const char *line, uint8_t proto, uint8_t family,
			struct sockscan_sock *out);

/* Scan this process? comm as /proc/PID/comm has it (no newline). */
typedef bool (*sockscan_want_fn)(void *ctx, pid_t pid, const char *comm);
/* A socket and its owner. */
typedef void (*sockscan_found_fn)(void *ctx, const struct sockscan_owner *o,
				  const struct sockscan_sock *s);

/* Scan the processes of proc_root ("/proc"; tests pass a tree of their
 * own): found() once per inet socket of the processes want() accepts.
 * 0, or -errno when proc_root cannot be read or memory runs out. */
int sockscan_run(const char *proc_root, sockscan_want_fn want, sockscan_found_fn found,
		 void *ctx);

#endif
