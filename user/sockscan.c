// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The inet sockets of processes, from /proc (sockscan.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockscan.h"
#include "util.h"

/* ------------------------------------------------------------ one line */

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool at_field_end(const char *p)
{
	return *p == ' ' || *p == '\t' || *p == '\n' || !*p;
}

/* Exactly n hex digits (the kernel prints them with %0NX). */
static bool hex_digits(const char **p, int n, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i]; /* a NUL is no digit: never read past it */
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*p += n;
	*out = v;
	return true;
}

/* "ADDR:PORT": the kernel prints each 32-bit word of the address as the
 * number it is in host byte order (%08X of a __be32): stored back as that
 * number, the word's bytes are the address's bytes. */
static bool endpoint(const char **p, uint8_t family, uint8_t addr[16], uint16_t *port)
{
	int words = family == AF_INET ? 1 : 4;
	uint32_t w, v;

	memset(addr, 0, 16);
	for (int i = 0; i < words; i++) {
		if (!hex_digits(p, 8, &w))
			return false;
		memcpy(addr + 4 * i, &w, 4);
	}
	if (**p != ':')
		return false;
	(*p)++;
	if (!hex_digits(p, 4, &v) || !at_field_end(*p))
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Past one whitespace-separated field (at least one character). */
static bool skip_field(const char **p)
{
	const char *start;

	*p = skip_blanks(*p);
	start = *p;
	while (!at_field_end(*p))
		(*p)++;
	return *p > start;
}

/* A decimal number that fits 64 bits, ending the field. */
static bool decimal_field(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p = skip_blanks(*p);

	for (; **p >= '0' && **p <= '9'; (*p)++) {
		uint64_t d = (uint64_t)(**p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (*p == s || !at_field_end(*p))
		return false;
	*out = v;
	return true;
}

/*
 * "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000
 * 00000000     0        0 12345 1 ..." (tcp, udp alike up to the inode:
 * sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode).
 */
int sockscan_parse_line(const char *line, uint8_t proto, uint8_t family,
			struct sockscan_sock *out)
{
	const char *p = skip_blanks(line);
	uint32_t st;
	uint64_t v;

	if (!strncmp(p, "sl ", 3))
		return 1;
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->proto = proto;
	out->family = family;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':')
		return -EINVAL;
	p = skip_blanks(p);
	if (!endpoint(&p, family, out->laddr, &out->lport))
		return -EINVAL;
	p = skip_blanks(p);
	if (!endpoint(&p, family, out->raddr, &out->rport))
		return -EINVAL;
	p = skip_blanks(p);
	if (!hex_digits(&p, 2, &st) || !at_field_end(p))
		return -EINVAL;
	out->state = (uint8_t)st;
	/* tx_queue:rx_queue tr:tm->when retrnsmt uid timeout */
	for (int i = 0; i < 5; i++)
		if (!skip_field(&p))
			return -EINVAL;
	if (!decimal_field(&p, &v))
		return -EINVAL;
	out->inode = v;
	return 0;
}

/* ------------------------------------------------------- the processes */

struct proc_ent {
	pid_t pid;
	uint64_t netns;
	char comm[16];
};

struct fd_ent {
	uint64_t inode;
	pid_t pid;
	int fd;
	uint32_t proc; /* index into scan.procs */
	bool reported;
};

struct scan {
	int root; /* proc_root, open */
	struct proc_ent *procs;
	size_t nprocs, procs_cap;
	struct fd_ent *fds;
	size_t nfds, fds_cap;
};

/* Grow *arr (of size elements) to hold one more; false when out of memory. */
static bool reserve(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t want;
	void *p;

	if (n < *cap)
		return true;
	want = *cap ? *cap * 2 : 64;
	p = reallocarray(*arr, want, size);
	if (!p)
		return false;
	*arr = p;
	*cap = want;
	return true;
}

/* "prefix[N]" (a /proc link target: "socket:[123]", "net:[4026531840]"). */
static bool bracketed_number(const char *s, const char *prefix, uint64_t *out)
{
	size_t plen = strlen(prefix), len = strlen(s);
	char digits[24];

	if (strncmp(s, prefix, plen) || len < plen + 3 || s[plen] != '[' || s[len - 1] != ']' ||
	    len - plen - 2 >= sizeof(digits))
		return false;
	memcpy(digits, s + plen + 1, len - plen - 2);
	digits[len - plen - 2] = 0;
	return parse_u64(digits, 0, UINT64_MAX, out);
}

static bool read_link(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dirfd, name, buf, len - 1);

	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}

/* /proc/PID/comm without its newline; false when it cannot be read (the
 * process is gone). */
static bool read_comm(int root, pid_t pid, char comm[16])
{
	char path[32], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	fd = openat(root, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(comm, 16, "%.15s", buf);
	return true;
}

/* The socket fds of one process; -ENOMEM, else 0 (a process that went
 * away, or whose fds cannot be read, has none). */
static int scan_fds(struct scan *s, pid_t pid, uint32_t proc)
{
	char path[32], target[64];
	struct dirent *de;
	int dfd, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	dfd = openat(s->root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		uint64_t fd, inode;

		if (!parse_u64(de->d_name, 0, INT32_MAX, &fd) ||
		    !read_link(dirfd(d), de->d_name, target, sizeof(target)) ||
		    !bracketed_number(target, "socket:", &inode))
			continue; /* not a socket, or closed meanwhile */
		if (!reserve((void **)&s->fds, &s->fds_cap, s->nfds, sizeof(*s->fds))) {
			err = -ENOMEM;
			break;
		}
		s->fds[s->nfds++] = (struct fd_ent){
			.inode = inode, .pid = pid, .fd = (int)fd, .proc = proc
		};
	}
	closedir(d);
	return err;
}

/* Each wanted process that holds a socket: its comm, netns and socket fds. */
static int scan_procs(struct scan *s, sockscan_want_fn want, void *ctx)
{
	struct dirent *de;
	int dfd, err = 0;
	DIR *d;

	dfd = dup(s->root);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		struct proc_ent *pe;
		char path[32], target[64];
		uint64_t pid;
		size_t before = s->nfds;

		if (!parse_u64(de->d_name, 1, INT32_MAX, &pid))
			continue;
		if (!reserve((void **)&s->procs, &s->procs_cap, s->nprocs, sizeof(*s->procs))) {
			err = -ENOMEM;
			break;
		}
		pe = &s->procs[s->nprocs];
		pe->pid = (pid_t)pid;
		snprintf(path, sizeof(path), "%d/ns/net", (int)pid);
		if (!read_comm(s->root, pe->pid, pe->comm) || !want(ctx, pe->pid, pe->comm) ||
		    !read_link(s->root, path, target, sizeof(target)) ||
		    !bracketed_number(target, "net:", &pe->netns))
			continue;
		err = scan_fds(s, pe->pid, (uint32_t)s->nprocs);
		if (s->nfds > before)
			s->nprocs++; /* only processes with sockets are kept */
	}
	closedir(d);
	return err;
}

/* ----------------------------------------------- the namespaces' tables */

static int fd_order(const void *a, const void *b)
{
	const struct fd_ent *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* The first (lowest pid, then lowest fd) holder of inode, or NULL. */
static struct fd_ent *holder(struct scan *s, uint64_t inode)
{
	size_t lo = 0, hi = s->nfds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->fds[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nfds && s->fds[lo].inode == inode ? &s->fds[lo] : NULL;
}

static const struct {
	const char *name;
	uint8_t proto, family;
} tables[] = {
	{ "tcp", IPPROTO_TCP, AF_INET },
	{ "tcp6", IPPROTO_TCP, AF_INET6 },
	{ "udp", IPPROTO_UDP, AF_INET },
	{ "udp6", IPPROTO_UDP, AF_INET6 },
};

/* One table of a namespace (netdir: /proc/PID/net, open): each line whose
 * socket a scanned process holds goes to found(). false when it cannot
 * be opened (no IPv6 here; the process went away). */
static bool read_table(struct scan *s, int netdir, int t, sockscan_found_fn found, void *ctx)
{
	int fd = openat(netdir, tables[t].name, O_RDONLY | O_CLOEXEC);
	struct sockscan_owner o;
	struct sockscan_sock sk;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (fd < 0)
		return false;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	while (getline(&line, &cap, f) > 0) {
		struct fd_ent *h;

		if (sockscan_parse_line(line, tables[t].proto, tables[t].family, &sk) ||
		    !sk.inode || !(h = holder(s, sk.inode)) || h->reported)
			continue;
		h->reported = true;
		o = (struct sockscan_owner){ .pid = h->pid, .tid = h->pid, .fd = h->fd, .holders = 1 };
		/* the holders follow in pid order */
		for (const struct fd_ent *e = h + 1; e < s->fds + s->nfds && e->inode == h->inode;
		     e++)
			o.holders += e->pid != e[-1].pid;
		memcpy(o.comm, s->procs[h->proc].comm, sizeof(o.comm));
		found(ctx, &o, &sk);
	}
	free(line);
	fclose(f);
	return true;
}

static int netns_order(const void *a, const void *b)
{
	const struct proc_ent *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Each namespace's tables once, through the first of its processes that
 * still shows them. 0 or -ENOMEM. */
static int read_namespaces(struct scan *s, sockscan_found_fn found, void *ctx)
{
	struct proc_ent *order;
	size_t i = 0;

	if (!s->nprocs)
		return 0;
	/* the fd entries index procs: sort a copy */
	order = malloc(s->nprocs * sizeof(*order));
	if (!order)
		return -ENOMEM;
	memcpy(order, s->procs, s->nprocs * sizeof(*order));
	qsort(order, s->nprocs, sizeof(*order), netns_order);
	while (i < s->nprocs) {
		size_t end = i;
		bool done = false;

		while (end < s->nprocs && order[end].netns == order[i].netns)
			end++;
		for (size_t j = i; j < end && !done; j++) {
			char path[32];
			int netdir;

			snprintf(path, sizeof(path), "%d/net", (int)order[j].pid);
			netdir = openat(s->root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (netdir < 0)
				continue;
			for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
				done |= read_table(s, netdir, (int)t, found, ctx);
			close(netdir);
		}
		i = end;
	}
	free(order);
	return 0;
}

int sockscan_run(const char *proc_root, sockscan_want_fn want, sockscan_found_fn found,
		 void *ctx)
{
	struct scan s = { .root = -1 };
	int err;

	s.root = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.root < 0)
		return -errno;
	err = scan_procs(&s, want, ctx);
	if (err)
		goto cleanup;
	if (s.nfds)
		qsort(s.fds, s.nfds, sizeof(*s.fds), fd_order);
	err = read_namespaces(&s, found, ctx);
cleanup:
	free(s.fds);
	free(s.procs);
	close(s.root);
	return err;
}
