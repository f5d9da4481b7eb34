// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * iogen: known I/O for zcap's end-to-end tests.
 *
 *   iogen [--report PATH] [--delay-ms N] [--wait-stdin] [--exit N] [--port N]
 *         MODE PAYLOAD_FILE
 *
 * Reads PAYLOAD_FILE into memory, moves exactly those bytes with MODE's
 * syscalls (glibc wrappers that map 1:1 to the syscall of the same name,
 * or syscall(2) itself for fdlife's fd calls; a call that moves less than
 * asked is repeated for the rest), checks that what came back equals the
 * payload, and writes a JSON report listing every operation a capture
 * should show:
 *
 *   {"mode":M,"pid":P,["child_pid":C,]"payload_len":N,"payload_fd":PF,
 *    "report_fd":RF,"exit":E,"t0_ns":T0,"t1_ns":T1,"ops":[OP,...]
 *    [,"fdops":[FDOP,...]]}
 *   OP = {"syscall":S,"pid":P,"tid":T,"fd":F,"dir":"in"|"out","len":L,
 *         "off":O,"kind":K [,"iovcnt":I] [,"pos":FILE_OFFSET] [,"msg":IDX]
 *         [,"laddr":A,"lport":N] [,"raddr":A,"rport":N] [,"ino":I]
 *         [,"peer_ino":I] [,"path":ABSOLUTE_PATH]}
 *
 * The op moved payload[O, O+L). pos is the offset argument of positional
 * calls; rport comes from the call's address where it has one (UDP).
 *
 * fdops (mode fdlife) lists every fd life-cycle call (listen too), in order, as zcap's
 * "fd" records describe it:
 *
 *   FDOP = {"syscall":S,"pid":P,"tid":T,"ret":R,"fd":F [,"fd2":F2],"kind":K
 *           [,"path":P] [,"lport":N] [,"rport":N] [,"kind2":K2] [,"created":B]}
 *
 * fd/fd2 as in docs/event-schema.md (dup*: new, old; pipe/socketpair: both
 * ends; accept: new, listener; close_range: first, last; connect, bind, listen,
 * socket: fd2 -1; open and close have no fd2); kind/path/ports/inodes
 * describe fd after the call (close: before it; "unknown" once closed),
 * kind2 what fd2 refers to.
 *
 * Rules that keep the capture easy to check:
 * - the payload fd and the report fd stay open until exit and every fd a
 *   mode uses stays open until the mode is done, so no fd number means two
 *   things between t0_ns and t1_ns (CLOCK_MONOTONIC, zcap's clock) --
 *   except in mode fdlife, whose point is fd numbers that change meaning
 *   (each op still names what its fd was at the time);
 * - no other I/O happens on the fds the report names;
 * - the report is written with one write(2) after t1_ns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_IO	   1
#define EXIT_USAGE 2

#define PAYLOAD_MAX (256u << 20)
#define PIPE_FITS   65536u /* default pipe capacity: one write never blocks */
#define UDP_MAX	    8192u
#define OPS_MAX	    65536u
#define IOV_MAX_USED 1024 /* UIO_MAXIOV: the most one vector call takes */
#define FDOPS_MAX   64
#define NO_FD2	    (-1000) /* struct fdop.fd2 of calls without one */

/* Syscalls iogen issues for payload bytes. */
enum call {
	CALL_READ,
	CALL_WRITE,
	CALL_PREAD64,
	CALL_PWRITE64,
	CALL_READV,
	CALL_WRITEV,
	CALL_PREADV,
	CALL_PWRITEV,
	CALL_PREADV2,
	CALL_PWRITEV2,
	CALL_SENDTO,
	CALL_RECVFROM,
	CALL_SENDMSG,
	CALL_RECVMSG,
	CALL_SENDMMSG,
	CALL_RECVMMSG,
};

static const struct {
	const char *name;
	bool out;
	bool positional;
	bool vector;
} calls[] = {
	[CALL_READ] = { "read", false, false, false },
	[CALL_WRITE] = { "write", true, false, false },
	[CALL_PREAD64] = { "pread64", false, true, false },
	[CALL_PWRITE64] = { "pwrite64", true, true, false },
	[CALL_READV] = { "readv", false, false, true },
	[CALL_WRITEV] = { "writev", true, false, true },
	[CALL_PREADV] = { "preadv", false, true, true },
	[CALL_PWRITEV] = { "pwritev", true, true, true },
	[CALL_PREADV2] = { "preadv2", false, true, true },
	[CALL_PWRITEV2] = { "pwritev2", true, true, true },
	[CALL_SENDTO] = { "sendto", true, false, false },
	[CALL_RECVFROM] = { "recvfrom", false, false, false },
	[CALL_SENDMSG] = { "sendmsg", true, false, true },
	[CALL_RECVMSG] = { "recvmsg", false, false, true },
	[CALL_SENDMMSG] = { "sendmmsg", true, false, true },
	[CALL_RECVMMSG] = { "recvmmsg", false, false, true },
};

/* What an fd is, as the report describes it. */
struct endpoint {
	int fd;
	const char *kind;	 /* "file", "pipe", "tcp", "udp", "unix" */
	const char *path;	 /* files */
	int lport, rport;	 /* inet sockets; rport -1 when unconnected */
	unsigned long long ino;	 /* pipes and unix sockets */
	unsigned long long peer_ino; /* unix: the other end's inode */
};

/* One syscall the capture should show. */
struct op {
	enum call call;
	struct endpoint ep; /* a copy: the mode's endpoints are gone when the report is written */
	int pid, tid;
	int rport;	 /* from the call's address argument, else the socket's */
	size_t off, len; /* slice of the payload moved */
	long long pos;	 /* file offset argument of positional calls */
	int iovcnt;	 /* vector calls */
	int msg;	 /* sendmmsg/recvmmsg message index, -1 otherwise */
};

/* Shared with a forked child so its operations land in the same report;
 * slots are claimed atomically so threads need no lock. */
struct op_log {
	unsigned int count;
	struct op ops[];
};

struct payload {
	uint8_t *data;
	size_t len;
	int fd;
	char path[PATH_MAX]; /* absolute */
};

struct options {
	const char *report_path;
	unsigned long delay_ms;
	bool wait_stdin;
	int exit_code;
	unsigned long port; /* tcp/udp/mmsg: the receiving socket's port, 0 = any */
};

/* One fd life-cycle call (mode fdlife), described as zcap names it. */
struct fdop {
	const char *syscall;
	int pid, tid;
	long ret;
	int fd, fd2; /* fd2 NO_FD2 when the record has none (open, close) */
	struct endpoint ep;
	const char *kind2; /* what fd2 refers to; NULL when it is no fd */
	int created;	   /* open: 0/1; -1 otherwise */
};

struct mode {
	const char *name;
	int (*run)(const struct payload *p, const struct options *o);
	size_t min, max; /* payload sizes the mode can move as described */
	const char *what;
};

static struct op_log *op_log;
static pid_t child_pid; /* fork mode */
static char temp_path[PATH_MAX];
static struct fdop fdops[FDOPS_MAX];
static unsigned int nfdops;
static unsigned short bind_port; /* --port, network byte order */

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errmsg(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "iogen: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}

static void log_op(const struct op *op)
{
	unsigned int slot = __atomic_fetch_add(&op_log->count, 1, __ATOMIC_SEQ_CST);

	/* Overflow is reported by write_report; dropping here keeps I/O going. */
	if (slot < OPS_MAX)
		op_log->ops[slot] = *op;
}

/*
 * Cut len bytes into k parts of different sizes, each at least 1 byte when
 * len >= k, so that iovec and message boundaries fall at irregular places.
 * Weights 1..k in a shuffled order (5 is coprime with every k used here).
 */
static void split_uneven(size_t len, int k, size_t parts[])
{
	size_t weight_sum = (size_t)k * (k + 1) / 2, base = len >= (size_t)k ? 1 : 0;
	size_t spread = len - base * k, used = 0;
	int i;

	for (i = 0; i < k - 1; i++) {
		parts[i] = base + spread * ((i * 5) % k + 1) / weight_sum;
		used += parts[i];
	}
	parts[k - 1] = len - used;
}

static void build_iov(uint8_t *base, size_t len, int k, struct iovec iov[])
{
	size_t parts[IOV_MAX_USED];
	int i;

	split_uneven(len, k, parts);
	for (i = 0; i < k; i++) {
		iov[i].iov_base = base;
		iov[i].iov_len = parts[i];
		base += parts[i];
	}
}

static void describe(struct endpoint *ep, int fd, const char *kind, const char *path)
{
	struct sockaddr_in sin;
	socklen_t alen = sizeof(sin);
	struct stat st;

	memset(ep, 0, sizeof(*ep));
	ep->fd = fd;
	ep->kind = kind;
	ep->path = path;
	ep->lport = ep->rport = -1;
	if (!fstat(fd, &st))
		ep->ino = st.st_ino;
	if (strcmp(kind, "tcp") && strcmp(kind, "udp"))
		return;
	if (!getsockname(fd, (struct sockaddr *)&sin, &alen))
		ep->lport = ntohs(sin.sin_port);
	alen = sizeof(sin);
	if (!getpeername(fd, (struct sockaddr *)&sin, &alen))
		ep->rport = ntohs(sin.sin_port);
}

/*
 * One transfer of payload[off, off+len) through one syscall kind, repeated
 * while the kernel moves less than asked (each call is one op). buf is the
 * payload for out calls and a receive buffer indexed like the payload for
 * in calls.
 */
struct xfer {
	const struct endpoint *ep;
	enum call call;
	uint8_t *buf;
	size_t off, len;
	long long pos;		  /* positional calls: file offset of buf[off] */
	int iovcnt;		  /* vector calls */
	struct sockaddr_in *peer; /* send: destination, recv: filled with source; NULL if none */
	bool one_call;		  /* everything must move in one call (datagrams) */
};

static ssize_t issue(const struct xfer *x, uint8_t *p, size_t n, off_t pos)
{
	struct iovec iov[IOV_MAX_USED];
	struct msghdr msg = { 0 };
	socklen_t alen = sizeof(*x->peer);
	struct sockaddr *sa = (struct sockaddr *)x->peer;
	int fd = x->ep->fd;

	if (calls[x->call].vector)
		build_iov(p, n, x->iovcnt, iov);
	msg.msg_name = x->peer;
	msg.msg_namelen = x->peer ? sizeof(*x->peer) : 0;
	msg.msg_iov = iov;
	msg.msg_iovlen = x->iovcnt;

	switch (x->call) {
	case CALL_READ:
		return read(fd, p, n);
	case CALL_WRITE:
		return write(fd, p, n);
	case CALL_PREAD64:
		return pread(fd, p, n, pos);
	case CALL_PWRITE64:
		return pwrite(fd, p, n, pos);
	case CALL_READV:
		return readv(fd, iov, x->iovcnt);
	case CALL_WRITEV:
		return writev(fd, iov, x->iovcnt);
	case CALL_PREADV:
		return preadv(fd, iov, x->iovcnt, pos);
	case CALL_PWRITEV:
		return pwritev(fd, iov, x->iovcnt, pos);
	case CALL_PREADV2:
		return preadv2(fd, iov, x->iovcnt, pos, 0);
	case CALL_PWRITEV2:
		return pwritev2(fd, iov, x->iovcnt, pos, 0);
	case CALL_SENDTO:
		return sendto(fd, p, n, 0, sa, x->peer ? alen : 0);
	case CALL_RECVFROM:
		return recvfrom(fd, p, n, 0, sa, x->peer ? &alen : NULL);
	case CALL_SENDMSG:
		return sendmsg(fd, &msg, 0);
	case CALL_RECVMSG:
		return recvmsg(fd, &msg, 0);
	default:
		errno = EINVAL; /* mmsg calls have their own mode */
		return -1;
	}
}

static int transfer(const struct xfer *x)
{
	const char *name = calls[x->call].name;
	size_t done = 0;

	while (done < x->len) {
		ssize_t ret = issue(x, x->buf + x->off + done, x->len - done, x->pos + done);
		struct op op = { .call = x->call, .ep = *x->ep, .pid = getpid(), .tid = gettid(),
				 .rport = x->ep->rport, .off = x->off + done, .pos = -1,
				 .msg = -1 };

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			errmsg("%s on fd %d: %s", name, x->ep->fd, strerror(errno));
			return -1;
		}
		if (ret == 0) {
			errmsg("%s on fd %d: end of data after %zu of %zu bytes", name, x->ep->fd,
			       done, x->len);
			return -1;
		}
		op.len = ret;
		if (calls[x->call].positional)
			op.pos = x->pos + done;
		if (calls[x->call].vector)
			op.iovcnt = x->iovcnt;
		if (x->peer)
			op.rport = ntohs(x->peer->sin_port);
		log_op(&op);
		done += ret;
		if (x->one_call && done != x->len) {
			errmsg("%s on fd %d moved %zu of %zu bytes in one call", name, x->ep->fd,
			       done, x->len);
			return -1;
		}
	}
	return 0;
}

/* What came back must be the payload: otherwise the report would lie. */
static int verify(const struct payload *p, const uint8_t *got, size_t off, size_t len,
		  const char *what)
{
	size_t i;

	for (i = off; i < off + len; i++) {
		if (got[i] != p->data[i]) {
			errmsg("%s: byte %zu differs from the payload", what, i);
			return -1;
		}
	}
	return 0;
}

/* pipe(2) itself where the architecture has it: glibc's pipe() issues pipe2 */
static int make_pipe(int fds[2])
{
#ifdef SYS_pipe
	return syscall(SYS_pipe, fds);
#else
	return pipe2(fds, 0);
#endif
}

static void close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* A temporary file named after pid and mode, opened with exactly flags. */
static int open_temp(const char *mode, int flags)
{
	const char *dir = getenv("TMPDIR");
	char real[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	/* zcap names files by the kernel's absolute path: report the same */
	if (!realpath(dir, real)) {
		errmsg("temporary directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(temp_path, sizeof(temp_path), "%s/iogen-%d-%s", real, getpid(), mode) >=
	    (int)sizeof(temp_path)) {
		errmsg("temporary directory %s: path too long", real);
		return -1;
	}
	fd = open(temp_path, flags, 0600);
	if (fd < 0)
		errmsg("%s: %s", temp_path, strerror(errno));
	return fd;
}

/* port in network byte order, 0 = any */
static int udp_socket(struct sockaddr_in *bound, unsigned short port)
{
	socklen_t alen = sizeof(*bound);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(bound, 0, sizeof(*bound));
	bound->sin_family = AF_INET;
	bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bound->sin_port = port;
	if (fd < 0 || bind(fd, (struct sockaddr *)bound, sizeof(*bound)) ||
	    getsockname(fd, (struct sockaddr *)bound, &alen)) {
		errmsg("UDP socket on 127.0.0.1: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A transfer on a second thread, for the receiving end of a stream that
 * may hold less than the whole payload in flight. */
struct reader {
	pthread_t thread;
	struct xfer x;
	int rc;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->rc = transfer(&r->x);
	return NULL;
}

static int reader_start(struct reader *r)
{
	int err = pthread_create(&r->thread, NULL, reader_main, r);

	if (err)
		errmsg("pthread_create: %s", strerror(err));
	return err ? -1 : 0;
}

/* Send with one xfer while a reader thread receives with another. */
static int stream_both_ways(const struct xfer *send, struct reader *r)
{
	int rc;

	if (reader_start(r))
		return -1;
	rc = transfer(send);
	if (rc) /* the peer will never see the rest: unblock the reader */
		shutdown(send->ep->fd, SHUT_WR);
	pthread_join(r->thread, NULL);
	return rc || r->rc ? -1 : 0;
}

static int mode_pipe_rw(const struct payload *p, const struct options *o)
{
	int fds[2] = { -1, -1 }, rc = -1;
	struct endpoint rd, wr;
	uint8_t *back = malloc(p->len);

	if (!back || make_pipe(fds)) {
		errmsg("pipe: %s", strerror(errno));
		goto cleanup;
	}
	describe(&rd, fds[0], "pipe", NULL);
	describe(&wr, fds[1], "pipe", NULL);
	if (transfer(&(struct xfer){ .ep = &wr, .call = CALL_WRITE, .buf = p->data, .len = p->len,
				     .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &rd, .call = CALL_READ, .buf = back, .len = p->len }) ||
	    verify(p, back, 0, p->len, "pipe read"))
		goto cleanup;
	rc = 0;
cleanup:
	close_fds(fds, 2);
	free(back);
	return rc;
}

static int mode_file_rw(const struct payload *p, const struct options *o)
{
	size_t half = p->len / 2;
	int fd = -1, rc = -1;
	struct endpoint f;
	uint8_t *back = malloc(p->len);

	if (!back) {
		errmsg("out of memory");
		goto cleanup;
	}
	fd = open_temp("file-rw", O_CREAT | O_RDWR);
	if (fd < 0)
		goto cleanup;
	describe(&f, fd, "file", temp_path);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_WRITE, .buf = p->data, .len = p->len,
				     .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &f, .call = CALL_PWRITE64, .buf = p->data, .off = half,
				     .len = p->len - half, .pos = half }))
		goto cleanup;
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_PREAD64, .buf = back, .off = half,
				     .len = p->len - half, .pos = half }) ||
	    verify(p, back, half, p->len - half, "pread64"))
		goto cleanup;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		errmsg("lseek: %s", strerror(errno));
		goto cleanup;
	}
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_READ, .buf = back, .len = p->len }) ||
	    verify(p, back, 0, p->len, "read after lseek"))
		goto cleanup;
	rc = 0;
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(temp_path);
	}
	free(back);
	return rc;
}

static int mode_vec(const struct payload *p, const struct options *o)
{
	int fds[3] = { -1, -1, -1 }, rc = -1;
	struct endpoint rd, wr, f;
	uint8_t *back = malloc(p->len);

	if (!back || make_pipe(fds)) {
		errmsg("pipe: %s", strerror(errno));
		goto cleanup;
	}
	describe(&rd, fds[0], "pipe", NULL);
	describe(&wr, fds[1], "pipe", NULL);
	if (transfer(&(struct xfer){ .ep = &wr, .call = CALL_WRITEV, .buf = p->data, .len = p->len,
				     .iovcnt = 8, .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &rd, .call = CALL_READV, .buf = back, .len = p->len,
				     .iovcnt = 3 }) ||
	    verify(p, back, 0, p->len, "readv"))
		goto cleanup;

	fds[2] = open_temp("vec", O_CREAT | O_RDWR);
	if (fds[2] < 0)
		goto cleanup;
	describe(&f, fds[2], "file", temp_path);
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_PWRITEV, .buf = p->data, .len = p->len,
				     .iovcnt = 4 }) ||
	    transfer(&(struct xfer){ .ep = &f, .call = CALL_PREADV, .buf = back, .len = p->len,
				     .iovcnt = 3 }) ||
	    verify(p, back, 0, p->len, "preadv"))
		goto cleanup;
	/* a second copy after the first, so the offsets differ from 0 */
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_PWRITEV2, .buf = p->data,
				     .len = p->len, .pos = p->len, .iovcnt = 4 }) ||
	    transfer(&(struct xfer){ .ep = &f, .call = CALL_PREADV2, .buf = back, .len = p->len,
				     .pos = p->len, .iovcnt = 3 }) ||
	    verify(p, back, 0, p->len, "preadv2"))
		goto cleanup;
	rc = 0;
cleanup:
	if (fds[2] >= 0)
		unlink(temp_path);
	close_fds(fds, 3);
	free(back);
	return rc;
}

static int mode_udp(const struct payload *p, const struct options *o)
{
	struct sockaddr_in a_addr, b_addr, from;
	int fds[2] = { -1, -1 }, rc = -1;
	struct endpoint a, b;
	uint8_t *back = malloc(p->len);

	if (!back) {
		errmsg("out of memory");
		goto cleanup;
	}
	fds[0] = udp_socket(&a_addr, 0);
	if (fds[0] < 0)
		goto cleanup;
	fds[1] = udp_socket(&b_addr, bind_port);
	if (fds[1] < 0)
		goto cleanup;
	describe(&a, fds[0], "udp", NULL);
	describe(&b, fds[1], "udp", NULL);

	if (transfer(&(struct xfer){ .ep = &a, .call = CALL_SENDTO, .buf = p->data, .len = p->len,
				     .peer = &b_addr, .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &b, .call = CALL_RECVFROM, .buf = back, .len = p->len,
				     .peer = &from, .one_call = true }) ||
	    verify(p, back, 0, p->len, "recvfrom"))
		goto cleanup;
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &a, .call = CALL_SENDMSG, .buf = p->data, .len = p->len,
				     .iovcnt = 3, .peer = &b_addr, .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &b, .call = CALL_RECVMSG, .buf = back, .len = p->len,
				     .iovcnt = 3, .peer = &from, .one_call = true }) ||
	    verify(p, back, 0, p->len, "recvmsg"))
		goto cleanup;
	rc = 0;
cleanup:
	close_fds(fds, 2);
	free(back);
	return rc;
}

static int mode_tcp(const struct payload *p, const struct options *o)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int fds[3] = { -1, -1, -1 }, rc = -1; /* listener, client, accepted */
	struct endpoint client, server;
	struct reader r = { 0 };
	uint8_t *back = malloc(p->len);

	if (!back) {
		errmsg("out of memory");
		goto cleanup;
	}
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = bind_port;
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fds[0], 1) || getsockname(fds[0], (struct sockaddr *)&addr, &alen)) {
		errmsg("TCP listener on 127.0.0.1: %s", strerror(errno));
		goto cleanup;
	}
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[1] < 0 || connect(fds[1], (struct sockaddr *)&addr, sizeof(addr))) {
		errmsg("TCP connect to 127.0.0.1:%d: %s", ntohs(addr.sin_port), strerror(errno));
		goto cleanup;
	}
	fds[2] = accept(fds[0], NULL, NULL);
	if (fds[2] < 0) {
		errmsg("accept: %s", strerror(errno));
		goto cleanup;
	}
	describe(&client, fds[1], "tcp", NULL);
	describe(&server, fds[2], "tcp", NULL);

	/* client -> server: sendto/recvfrom without addresses */
	r.x = (struct xfer){ .ep = &server, .call = CALL_RECVFROM, .buf = back, .len = p->len };
	if (stream_both_ways(&(struct xfer){ .ep = &client, .call = CALL_SENDTO, .buf = p->data,
					     .len = p->len },
			     &r) ||
	    verify(p, back, 0, p->len, "TCP recvfrom"))
		goto cleanup;
	/* server -> client: sendmsg/recvmsg with 3 iovecs */
	memset(back, 0, p->len);
	r.x = (struct xfer){ .ep = &client, .call = CALL_RECVMSG, .buf = back, .len = p->len,
			     .iovcnt = 3 };
	if (stream_both_ways(&(struct xfer){ .ep = &server, .call = CALL_SENDMSG, .buf = p->data,
					     .len = p->len, .iovcnt = 3 },
			     &r) ||
	    verify(p, back, 0, p->len, "TCP recvmsg"))
		goto cleanup;
	rc = 0;
cleanup:
	close_fds(fds, 3);
	free(back);
	return rc;
}

static int mode_mmsg(const struct payload *p, const struct options *o)
{
	struct sockaddr_in a_addr, b_addr, from[2];
	struct iovec send_iov[2][2], recv_iov[2][2];
	struct mmsghdr send_msgs[2], recv_msgs[2];
	int fds[2] = { -1, -1 }, rc = -1, sent, got, i;
	struct endpoint a, b;
	size_t part[2], off[2], cut;
	uint8_t *back = malloc(p->len);

	if (!back) {
		errmsg("out of memory");
		goto cleanup;
	}
	fds[0] = udp_socket(&a_addr, 0);
	if (fds[0] < 0)
		goto cleanup;
	fds[1] = udp_socket(&b_addr, bind_port);
	if (fds[1] < 0)
		goto cleanup;
	describe(&a, fds[0], "udp", NULL);
	describe(&b, fds[1], "udp", NULL);

	split_uneven(p->len, 2, part);
	off[0] = 0;
	off[1] = part[0];
	memset(send_msgs, 0, sizeof(send_msgs));
	memset(recv_msgs, 0, sizeof(recv_msgs));
	for (i = 0; i < 2; i++) {
		build_iov(p->data + off[i], part[i], 2, send_iov[i]);
		send_msgs[i].msg_hdr.msg_name = &b_addr;
		send_msgs[i].msg_hdr.msg_namelen = sizeof(b_addr);
		send_msgs[i].msg_hdr.msg_iov = send_iov[i];
		send_msgs[i].msg_hdr.msg_iovlen = 2;
		/* the receiving side cuts each message at a different place */
		cut = part[i] - part[i] / 4;
		recv_iov[i][0] = (struct iovec){ back + off[i], cut };
		recv_iov[i][1] = (struct iovec){ back + off[i] + cut, part[i] - cut };
		recv_msgs[i].msg_hdr.msg_name = &from[i];
		recv_msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		recv_msgs[i].msg_hdr.msg_iov = recv_iov[i];
		recv_msgs[i].msg_hdr.msg_iovlen = 2;
	}

	sent = sendmmsg(fds[0], send_msgs, 2, 0);
	if (sent != 2) {
		errmsg("sendmmsg: %s", sent < 0 ? strerror(errno) : "fewer than 2 messages");
		goto cleanup;
	}
	for (i = 0; i < 2; i++)
		log_op(&(struct op){ .call = CALL_SENDMMSG, .ep = a, .pid = getpid(),
				     .tid = gettid(), .rport = ntohs(b_addr.sin_port),
				     .off = off[i], .len = send_msgs[i].msg_len, .pos = -1,
				     .iovcnt = 2, .msg = i });
	/* without MSG_WAITFORONE a blocking recvmmsg waits for both */
	got = recvmmsg(fds[1], recv_msgs, 2, 0, NULL);
	if (got != 2) {
		errmsg("recvmmsg: %s", got < 0 ? strerror(errno) : "fewer than 2 messages");
		goto cleanup;
	}
	for (i = 0; i < 2; i++) {
		if (recv_msgs[i].msg_len != part[i] || send_msgs[i].msg_len != part[i]) {
			errmsg("mmsg: message %d moved %u/%u bytes, expected %zu", i,
			       send_msgs[i].msg_len, recv_msgs[i].msg_len, part[i]);
			goto cleanup;
		}
		log_op(&(struct op){ .call = CALL_RECVMMSG, .ep = b, .pid = getpid(),
				     .tid = gettid(), .rport = ntohs(from[i].sin_port),
				     .off = off[i], .len = recv_msgs[i].msg_len, .pos = -1,
				     .iovcnt = 2, .msg = i });
	}
	if (verify(p, back, 0, p->len, "recvmmsg"))
		goto cleanup;
	rc = 0;
cleanup:
	close_fds(fds, 2);
	free(back);
	return rc;
}

static int mode_big(const struct payload *p, const struct options *o)
{
	int fd = open_temp("big", O_CREAT | O_WRONLY | O_TRUNC), rc = -1;
	struct endpoint f;
	struct stat st;

	if (fd < 0)
		return -1;
	describe(&f, fd, "file", temp_path);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_WRITE, .buf = p->data, .len = p->len,
				     .one_call = true }))
		goto cleanup;
	if (fstat(fd, &st) || (size_t)st.st_size != p->len) {
		errmsg("%s: size after write is not %zu", temp_path, p->len);
		goto cleanup;
	}
	rc = 0;
cleanup:
	close(fd);
	unlink(temp_path);
	return rc;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int mode_fork(const struct payload *p, const struct options *o)
{
	int fds[2] = { -1, -1 }, rc = -1, status;
	struct endpoint rd, wr;
	uint8_t *back = malloc(p->len);

	if (!back || make_pipe(fds)) {
		errmsg("pipe: %s", strerror(errno));
		goto cleanup;
	}
	describe(&rd, fds[0], "pipe", NULL);
	describe(&wr, fds[1], "pipe", NULL);
	child_pid = fork();
	if (child_pid < 0) {
		errmsg("fork: %s", strerror(errno));
		goto cleanup;
	}
	if (child_pid == 0) {
		close(fds[0]);
		sleep_ms(o->delay_ms);
		/* _exit: the parent owns the report and the buffers */
		_exit(transfer(&(struct xfer){ .ep = &wr, .call = CALL_WRITE, .buf = p->data,
					       .len = p->len }) ?
			      EXIT_IO :
			      0);
	}
	/* without the write end the read sees EOF if the child dies early */
	close(fds[1]);
	fds[1] = -1;
	/* read only after the delay too: a capture attached meanwhile then sees
	 * the parent's read() enter, not just return */
	sleep_ms(o->delay_ms);
	rc = transfer(&(struct xfer){ .ep = &rd, .call = CALL_READ, .buf = back, .len = p->len });
	while (waitpid(child_pid, &status, 0) < 0) {
		if (errno != EINTR) {
			errmsg("waitpid %d: %s", child_pid, strerror(errno));
			rc = -1;
			goto cleanup;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		errmsg("child %d failed (wait status 0x%x)", child_pid, status);
		rc = -1;
	}
	if (!rc)
		rc = verify(p, back, 0, p->len, "pipe read from the child");
cleanup:
	close_fds(fds, 2);
	free(back);
	return rc;
}

static int mode_unix(const struct payload *p, const struct options *o)
{
	int fds[2] = { -1, -1 }, rc = -1;
	struct endpoint ends[2];
	struct reader r = { 0 };
	uint8_t *back = malloc(p->len);

	if (!back || socketpair(AF_UNIX, SOCK_STREAM, 0, fds)) {
		errmsg("socketpair: %s", strerror(errno));
		goto cleanup;
	}
	describe(&ends[0], fds[0], "unix", NULL);
	describe(&ends[1], fds[1], "unix", NULL);
	ends[0].peer_ino = ends[1].ino;
	ends[1].peer_ino = ends[0].ino;
	r.x = (struct xfer){ .ep = &ends[1], .call = CALL_READ, .buf = back, .len = p->len };
	if (stream_both_ways(&(struct xfer){ .ep = &ends[0], .call = CALL_WRITE, .buf = p->data,
					     .len = p->len },
			     &r) ||
	    verify(p, back, 0, p->len, "unix read"))
		goto cleanup;
	rc = 0;
cleanup:
	close_fds(fds, 2);
	free(back);
	return rc;
}

static int mode_manyvec(const struct payload *p, const struct options *o)
{
	int fd = open_temp("manyvec", O_CREAT | O_RDWR | O_TRUNC), rc = -1;
	struct endpoint f;
	uint8_t *back = malloc(p->len);

	if (fd < 0 || !back) {
		if (!back)
			errmsg("out of memory");
		goto cleanup;
	}
	describe(&f, fd, "file", temp_path);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_WRITEV, .buf = p->data, .len = p->len,
				     .iovcnt = IOV_MAX_USED, .one_call = true }) ||
	    transfer(&(struct xfer){ .ep = &f, .call = CALL_PREADV, .buf = back, .len = p->len,
				     .iovcnt = IOV_MAX_USED - 1 }) ||
	    verify(p, back, 0, p->len, "preadv"))
		goto cleanup;
	rc = 0;
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(temp_path);
	}
	free(back);
	return rc;
}

/* The payload fd was opened before --wait-stdin: a capture attached with
 * -p meanwhile must name its file without having seen the open. */
static int mode_held(const struct payload *p, const struct options *o)
{
	struct endpoint f;
	uint8_t *back = malloc(p->len);
	int rc = -1;

	if (!back) {
		errmsg("out of memory");
		return -1;
	}
	describe(&f, p->fd, "file", p->path);
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_PREAD64, .buf = back, .len = p->len }) ||
	    verify(p, back, 0, p->len, "pread64"))
		goto cleanup;
	if (lseek(p->fd, 0, SEEK_SET) != 0) {
		errmsg("lseek: %s", strerror(errno));
		goto cleanup;
	}
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &f, .call = CALL_READ, .buf = back, .len = p->len }) ||
	    verify(p, back, 0, p->len, "read after lseek"))
		goto cleanup;
	rc = 0;
cleanup:
	free(back);
	return rc;
}

/* ---- mode fdlife: fd numbers that change meaning ---------------------- */

#define FDLIFE_PARTS 16

/* Log an fd life-cycle call; kind/path describe fd now (or, for close,
 * what it was). An error (ret < 0) is printed and returned. */
static long fdop(const char *syscall, long ret, int fd, int fd2, const char *kind,
		 const char *path, const char *kind2)
{
	struct fdop *f;

	if (ret < 0) {
		errmsg("%s: %s", syscall, strerror(errno));
		return ret;
	}
	if (nfdops >= FDOPS_MAX) {
		errmsg("more than %d fd operations", FDOPS_MAX);
		return -1;
	}
	f = &fdops[nfdops++];
	f->syscall = syscall;
	f->pid = getpid();
	f->tid = gettid();
	f->ret = ret;
	f->fd = fd;
	f->fd2 = fd2;
	f->kind2 = kind2;
	f->created = -1;
	describe(&f->ep, fd, kind, path);
	return ret;
}

static int fdlife_open(const char *path, bool *created)
{
	struct stat st;
	long fd;

	*created = stat(path, &st) != 0;
	fd = syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	/* zcap's open records name the file, not the dirfd */
	if (fdop("openat", fd, fd, NO_FD2, "file", path, NULL) < 0)
		return -1;
	fdops[nfdops - 1].created = *created;
	return fd;
}

/* Close through the log; what fd referred to comes from ep. */
static int fdlife_close(struct endpoint *ep)
{
	struct endpoint was = *ep;
	int fd = ep->fd;

	if (fd < 0)
		return 0;
	ep->fd = -1;
	if (fdop("close", syscall(SYS_close, fd), fd, NO_FD2, was.kind, was.path, NULL) < 0)
		return -1;
	fdops[nfdops - 1].ep = was;
	return 0;
}

/* One slice out through wr and, unless rd is NULL, back in through rd. */
static int fdlife_hop(const struct payload *p, uint8_t *back, const size_t off[],
		      const size_t len[], int i, const struct endpoint *wr, enum call wc,
		      const struct endpoint *rd, enum call rdc)
{
	if (transfer(&(struct xfer){ .ep = wr, .call = wc, .buf = p->data, .off = off[i],
				     .len = len[i], .one_call = true }))
		return -1;
	if (!rd)
		return 0;
	return transfer(&(struct xfer){ .ep = rd, .call = rdc, .buf = back, .off = off[i],
					.len = len[i] }) ||
			       verify(p, back, off[i], len[i], calls[rdc].name) ?
		       -1 :
		       0;
}

static int fdlife_temp(char *path, const char *suffix)
{
	const char *dir = getenv("TMPDIR");
	char real[PATH_MAX];

	if (!dir || !*dir)
		dir = "/tmp";
	if (!realpath(dir, real) ||
	    snprintf(path, PATH_MAX, "%s/iogen-%d-%s", real, getpid(), suffix) >= PATH_MAX) {
		errmsg("temporary directory %s: unusable", dir);
		return -1;
	}
	return 0;
}

/* A TCP connection to the listener at addr: connect, then accept or accept4. */
static int fdlife_tcp(struct endpoint *lis, const struct sockaddr_in *addr, struct endpoint *cl,
		      struct endpoint *sv, bool use_accept4)
{
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

	if (fdop("socket", fd, fd, -1, "tcp", NULL, NULL) < 0)
		return -1;
	describe(cl, fd, "tcp", NULL);
	if (fdop("connect", syscall(SYS_connect, fd, addr, sizeof(*addr)), fd, -1, "tcp", NULL,
		 NULL) < 0)
		return -1;
	describe(cl, fd, "tcp", NULL);
	if (use_accept4)
		fd = syscall(SYS_accept4, lis->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		fd = syscall(SYS_accept, lis->fd, NULL, NULL);
	if (fdop(use_accept4 ? "accept4" : "accept", fd, fd, lis->fd, "tcp", NULL, "tcp") < 0)
		return -1;
	describe(sv, fd, "tcp", NULL);
	return 0;
}

static int mode_fdlife(const struct payload *p, const struct options *o)
{
	enum { A, D, N100, N101, F102, F103, B, P0, P1, Q0, Q1, U0, U1, L, C, S, C2, S2, D0,
	       D1, T, NEP };
	static char path_a[PATH_MAX], path_b[PATH_MAX];
	struct endpoint ep[NEP];
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	size_t len[FDLIFE_PARTS], off[FDLIFE_PARTS];
	uint8_t *back = malloc(p->len);
	int fds[2], i, rc = -1;
	bool created;
	long r;

	for (i = 0; i < NEP; i++)
		ep[i] = (struct endpoint){ .fd = -1 };
	split_uneven(p->len, FDLIFE_PARTS, len);
	for (off[0] = 0, i = 1; i < FDLIFE_PARTS; i++)
		off[i] = off[i - 1] + len[i - 1];
	if (!back || fdlife_temp(path_a, "fdlife-a") || fdlife_temp(path_b, "fdlife-b")) {
		if (!back)
			errmsg("out of memory");
		goto cleanup;
	}

	/* one file through every kind of dup: every write names file A */
	r = fdlife_open(path_a, &created);
	if (r < 0)
		goto cleanup;
	describe(&ep[A], r, "file", path_a);
	if (fdlife_hop(p, back, off, len, 0, &ep[A], CALL_WRITE, NULL, 0))
		goto cleanup;
	r = syscall(SYS_dup, ep[A].fd);
	if (fdop("dup", r, r, ep[A].fd, "file", path_a, "file") < 0)
		goto cleanup;
	describe(&ep[D], r, "file", path_a);
	if (fdlife_hop(p, back, off, len, 1, &ep[D], CALL_WRITE, NULL, 0))
		goto cleanup;
	r = syscall(SYS_dup2, ep[A].fd, 100);
	if (fdop("dup2", r, 100, ep[A].fd, "file", path_a, "file") < 0)
		goto cleanup;
	describe(&ep[N100], 100, "file", path_a);
	if (fdlife_hop(p, back, off, len, 2, &ep[N100], CALL_WRITE, NULL, 0))
		goto cleanup;
	r = syscall(SYS_dup3, ep[A].fd, 101, O_CLOEXEC);
	if (fdop("dup3", r, 101, ep[A].fd, "file", path_a, "file") < 0)
		goto cleanup;
	describe(&ep[N101], 101, "file", path_a);
	if (fdlife_hop(p, back, off, len, 3, &ep[N101], CALL_WRITE, NULL, 0))
		goto cleanup;
	r = syscall(SYS_fcntl, ep[A].fd, F_DUPFD, 102);
	if (fdop("fcntl", r, r, ep[A].fd, "file", path_a, "file") < 0)
		goto cleanup;
	describe(&ep[F102], r, "file", path_a);
	if (fdlife_hop(p, back, off, len, 4, &ep[F102], CALL_WRITE, NULL, 0))
		goto cleanup;
	r = syscall(SYS_fcntl, ep[A].fd, F_DUPFD_CLOEXEC, 103);
	if (fdop("fcntl", r, r, ep[A].fd, "file", path_a, "file") < 0)
		goto cleanup;
	describe(&ep[F103], r, "file", path_a);
	if (ep[F102].fd != 102 || ep[F103].fd != 103) {
		errmsg("F_DUPFD gave fds %d and %d, not 102 and 103", ep[F102].fd, ep[F103].fd);
		goto cleanup;
	}
	if (fdlife_hop(p, back, off, len, 5, &ep[F103], CALL_WRITE, NULL, 0) ||
	    fdlife_close(&ep[A]) ||
	    /* the original is gone; its dup still names the file */
	    fdlife_hop(p, back, off, len, 6, &ep[D], CALL_WRITE, NULL, 0))
		goto cleanup;

	/* fd 100 now means file B */
	r = fdlife_open(path_b, &created);
	if (r < 0)
		goto cleanup;
	describe(&ep[B], r, "file", path_b);
	r = syscall(SYS_dup2, ep[B].fd, 100);
	if (fdop("dup2", r, 100, ep[B].fd, "file", path_b, "file") < 0)
		goto cleanup;
	describe(&ep[N100], 100, "file", path_b);
	if (fdlife_hop(p, back, off, len, 7, &ep[N100], CALL_WRITE, NULL, 0))
		goto cleanup;
	/* file A holds slices 0..6, written through five fds sharing one offset */
	memset(back, 0, p->len);
	if (transfer(&(struct xfer){ .ep = &ep[D], .call = CALL_PREAD64, .buf = back,
				     .len = off[7] }) ||
	    verify(p, back, 0, off[7], "pread64 of file A"))
		goto cleanup;

	/* pipes: pipe(2), and pipe2's write end dup3'ed over fd 101 */
	r = make_pipe(fds);
	if (fdop("pipe", r, fds[0], fds[1], "pipe", NULL, "pipe") < 0)
		goto cleanup;
	describe(&ep[P0], fds[0], "pipe", NULL);
	describe(&ep[P1], fds[1], "pipe", NULL);
	if (fdlife_hop(p, back, off, len, 8, &ep[P1], CALL_WRITE, &ep[P0], CALL_READ))
		goto cleanup;
	r = syscall(SYS_pipe2, fds, O_CLOEXEC);
	if (fdop("pipe2", r, fds[0], fds[1], "pipe", NULL, "pipe") < 0)
		goto cleanup;
	describe(&ep[Q0], fds[0], "pipe", NULL);
	describe(&ep[Q1], fds[1], "pipe", NULL);
	r = syscall(SYS_dup3, ep[Q1].fd, 101, 0);
	if (fdop("dup3", r, 101, ep[Q1].fd, "pipe", NULL, "pipe") < 0)
		goto cleanup;
	describe(&ep[N101], 101, "pipe", NULL);
	if (fdlife_hop(p, back, off, len, 9, &ep[N101], CALL_WRITE, &ep[Q0], CALL_READ))
		goto cleanup;

	/* unix stream pair */
	r = syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, fds);
	if (fdop("socketpair", r, fds[0], fds[1], "unix", NULL, "unix") < 0)
		goto cleanup;
	describe(&ep[U0], fds[0], "unix", NULL);
	describe(&ep[U1], fds[1], "unix", NULL);
	ep[U0].peer_ino = ep[U1].ino;
	ep[U1].peer_ino = ep[U0].ino;
	fdops[nfdops - 1].ep.peer_ino = ep[U1].ino;
	if (fdlife_hop(p, back, off, len, 10, &ep[U0], CALL_WRITE, &ep[U1], CALL_READ))
		goto cleanup;

	/* TCP: socket, bind, listen; two connections (accept, accept4) */
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (fdop("socket", r, r, -1, "tcp", NULL, NULL) < 0)
		goto cleanup;
	describe(&ep[L], r, "tcp", NULL);
	r = syscall(SYS_bind, ep[L].fd, &addr, sizeof(addr));
	if (fdop("bind", r, ep[L].fd, -1, "tcp", NULL, NULL) < 0)
		goto cleanup;
	describe(&ep[L], ep[L].fd, "tcp", NULL);
	if (fdop("listen", syscall(SYS_listen, ep[L].fd, 2), ep[L].fd, -1, "tcp", NULL, NULL) < 0)
		goto cleanup;
	if (getsockname(ep[L].fd, (struct sockaddr *)&addr, &alen)) {
		errmsg("getsockname: %s", strerror(errno));
		goto cleanup;
	}
	if (fdlife_tcp(&ep[L], &addr, &ep[C], &ep[S], false) ||
	    fdlife_hop(p, back, off, len, 11, &ep[C], CALL_WRITE, &ep[S], CALL_READ) ||
	    fdlife_tcp(&ep[L], &addr, &ep[C2], &ep[S2], true) ||
	    fdlife_hop(p, back, off, len, 12, &ep[S2], CALL_SENDTO, &ep[C2], CALL_RECVFROM))
		goto cleanup;

	/* UDP: a connected socket write()s to a bound one */
	r = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	if (fdop("socket", r, r, -1, "udp", NULL, NULL) < 0)
		goto cleanup;
	describe(&ep[D0], r, "udp", NULL);
	addr.sin_port = 0;
	r = syscall(SYS_bind, ep[D0].fd, &addr, sizeof(addr));
	if (fdop("bind", r, ep[D0].fd, -1, "udp", NULL, NULL) < 0)
		goto cleanup;
	alen = sizeof(addr);
	if (getsockname(ep[D0].fd, (struct sockaddr *)&addr, &alen)) {
		errmsg("getsockname: %s", strerror(errno));
		goto cleanup;
	}
	describe(&ep[D0], ep[D0].fd, "udp", NULL);
	r = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	if (fdop("socket", r, r, -1, "udp", NULL, NULL) < 0)
		goto cleanup;
	describe(&ep[D1], r, "udp", NULL);
	r = syscall(SYS_connect, ep[D1].fd, &addr, sizeof(addr));
	if (fdop("connect", r, ep[D1].fd, -1, "udp", NULL, NULL) < 0)
		goto cleanup;
	describe(&ep[D1], ep[D1].fd, "udp", NULL);
	if (fdlife_hop(p, back, off, len, 13, &ep[D1], CALL_WRITE, &ep[D0], CALL_READ))
		goto cleanup;

	/* close_range takes 102 and 103 (file A); 102 comes back as a unix socket */
	r = syscall(SYS_close_range, 102, 103, 0);
	if (fdop("close_range", r, 102, 103, "unknown", NULL, NULL) < 0)
		goto cleanup;
	ep[F102].fd = ep[F103].fd = -1;
	r = syscall(SYS_dup2, ep[U0].fd, 102);
	if (fdop("dup2", r, 102, ep[U0].fd, "unix", NULL, "unix") < 0)
		goto cleanup;
	fdops[nfdops - 1].ep.peer_ino = ep[U1].ino;
	describe(&ep[F102], 102, "unix", NULL);
	ep[F102].peer_ino = ep[U1].ino;
	if (fdlife_hop(p, back, off, len, 14, &ep[F102], CALL_WRITE, &ep[U1], CALL_READ))
		goto cleanup;
	/* a socket's F_DUPFD twin is the same connection */
	r = syscall(SYS_fcntl, ep[C].fd, F_DUPFD, 0);
	if (fdop("fcntl", r, r, ep[C].fd, "tcp", NULL, "tcp") < 0)
		goto cleanup;
	describe(&ep[T], r, "tcp", NULL);
	if (fdlife_hop(p, back, off, len, 15, &ep[T], CALL_WRITE, &ep[S], CALL_READ))
		goto cleanup;
	rc = 0;
cleanup:
	/* every close is part of the story (and of the report) */
	for (i = 0; i < NEP; i++) {
		/* U0's socket is gone once U0 and its dup 102 are closed */
		if (i == U1 && ep[U0].fd < 0 && (ep[F102].fd < 0 || strcmp(ep[F102].kind, "unix")))
			ep[U1].peer_ino = 0;
		if (fdlife_close(&ep[i]))
			rc = -1;
	}
	if (*path_a)
		unlink(path_a);
	if (*path_b)
		unlink(path_b);
	free(back);
	return rc;
}

/* ---- mode sockets: addresses, unix names and peers, open flags -------- */

/* Mode-specific facts for the report (mode sockets), a JSON fragment that
 * starts with a comma. */
static char report_extra[256];

/* A port on 127.0.0.1 with nothing bound to it now (a connect is refused). */
static int closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &alen))
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A connect that must fail with want (errno), on a new socket of family. */
static int connect_fails(int family, const void *sa, socklen_t len, int want, const char *what)
{
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0) {
		errmsg("socket for %s: %s", what, strerror(errno));
		return -1;
	}
	if (connect(fd, sa, len) == 0 || errno != want) {
		errmsg("connect to %s: %s, not %s", what, strerror(errno), strerror(want));
		close(fd);
		return -1;
	}
	return fd; /* left open: fd numbers stay unique in the run */
}

static pid_t peercred_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ? -1 : cred.pid;
}

/* A unix stream listener at sun (len bytes: a path or an abstract name). */
static int unix_listener(const struct sockaddr_un *sun, socklen_t len, int backlog)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)sun, len) ||
	    (backlog >= 0 && listen(fd, backlog))) {
		errmsg("unix listener: %s", strerror(errno));
		return -1;
	}
	return fd;
}

/* The child of the unix path pair: connect, check SO_PEERCRED names the
 * parent, then one byte each way. Its exit status says how it went. */
static int unix_client(const struct sockaddr_un *sun, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char c = 'c';

	if (fd < 0 || connect(fd, (const struct sockaddr *)sun, len))
		return 3;
	if (peercred_pid(fd) != getppid())
		return 4;
	return write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1 ? 0 : 5;
}

static int mode_sockets(const struct payload *p, const struct options *o)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_un sun = { .sun_family = AF_UNIX }, abs = { .sun_family = AF_UNIX }, got;
	static const char abs_name[] = "iogen-%d-abs\001\"q\377 x";
	char path_a[PATH_MAX], path_b[PATH_MAX], dir[PATH_MAX];
	socklen_t alen = sizeof(sin), ulen, abs_len;
	int lis, c1, c2, ul, ua, al, ac, aa, fd, port, status, rc = -1;
	pid_t accepted_cred;
	char c;

	if (fdlife_temp(path_a, "sockets-a") || fdlife_temp(path_b, "sockets-b") ||
	    fdlife_temp(sun.sun_path, "sockets-sock") || fdlife_temp(dir, "") ||
	    strlen(sun.sun_path) >= sizeof(sun.sun_path)) {
		errmsg("temporary names do not fit");
		return -1;
	}
	*strrchr(dir, '/') = 0;
	ulen = offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path) + 1;
	abs_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		  snprintf(abs.sun_path + 1, sizeof(abs.sun_path) - 1, abs_name, getpid());

	/* refused connects: TCP over IPv4 and IPv6, a unix socket nobody listens on */
	port = closed_port();
	sin.sin_port = htons(port);
	sin6.sin6_port = htons(port);
	if (port < 0 ||
	    connect_fails(AF_INET, &sin, sizeof(sin), ECONNREFUSED, "a closed IPv4 port") < 0)
		return -1;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd >= 0) { /* whatever the result (no IPv6 on lo): strace sees the same */
		connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	}

	/* TCP: listen; a non-blocking connect (EINPROGRESS or done), accept4
	 * with the peer's address, a blocking one and accept without */
	lis = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_port = htons(o->port);
	if (lis < 0 || bind(lis, (struct sockaddr *)&sin, sizeof(sin)) || listen(lis, 7) ||
	    getsockname(lis, (struct sockaddr *)&sin, &alen)) {
		errmsg("tcp listener: %s", strerror(errno));
		return -1;
	}
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c1 < 0 || (connect(c1, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS)) {
		errmsg("non-blocking connect: %s", strerror(errno));
		return -1;
	}
	alen = sizeof(sin6);
	if (accept4(lis, (struct sockaddr *)&sin6, &alen, SOCK_CLOEXEC | SOCK_NONBLOCK) < 0) {
		errmsg("accept4: %s", strerror(errno));
		return -1;
	}
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	if (c2 < 0 || connect(c2, (struct sockaddr *)&sin, sizeof(sin)) ||
	    accept(lis, NULL, NULL) < 0) {
		errmsg("connect/accept: %s", strerror(errno));
		return -1;
	}

	/* unix, a path: a forked client; each side's peer is the other's pid */
	unlink(sun.sun_path);
	ul = unix_listener(&sun, ulen, 3);
	if (ul < 0)
		return -1;
	child_pid = fork();
	if (child_pid < 0) {
		errmsg("fork: %s", strerror(errno));
		return -1;
	}
	if (child_pid == 0)
		_exit(unix_client(&sun, ulen));
	alen = sizeof(got);
	ua = accept4(ul, (struct sockaddr *)&got, &alen, 0);
	accepted_cred = ua < 0 ? -1 : peercred_pid(ua);
	if (ua < 0 || read(ua, &c, 1) != 1 || write(ua, &c, 1) != 1) {
		errmsg("unix accept: %s", strerror(errno));
		return -1;
	}
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || accepted_cred != child_pid) {
		errmsg("unix client: status 0x%x, accepted peer %d", status, accepted_cred);
		return -1;
	}
	unlink(sun.sun_path);

	/* unix, an abstract name with bytes that need escaping */
	al = unix_listener(&abs, abs_len, 1);
	ac = socket(AF_UNIX, SOCK_STREAM, 0);
	alen = sizeof(got);
	if (al < 0 || ac < 0 || connect(ac, (struct sockaddr *)&abs, abs_len) ||
	    (aa = accept(al, (struct sockaddr *)&got, &alen)) < 0) {
		errmsg("abstract unix socket: %s", strerror(errno));
		return -1;
	}
	/* bound, not listening: refused */
	unlink(path_b);
	memcpy(sun.sun_path, path_b, strlen(path_b) + 1);
	ulen = offsetof(struct sockaddr_un, sun_path) + strlen(path_b) + 1;
	if (unix_listener(&sun, ulen, -1) < 0 ||
	    connect_fails(AF_UNIX, &sun, ulen, ECONNREFUSED, "a unix socket without listen") < 0)
		return -1;
	unlink(path_b);

	/* opens with strace's favourite flags; two files lose their names */
	if (open(p->path, O_RDONLY | O_CLOEXEC) < 0 ||
	    open(path_a, O_WRONLY | O_CREAT | O_TRUNC, 0640) < 0 ||
	    (fd = open(path_a, O_RDWR | O_APPEND | O_NONBLOCK)) < 0 || write(fd, p->data, 1) != 1 ||
	    open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) < 0 ||
	    open(p->path, O_PATH | O_NOFOLLOW) < 0) {
		errmsg("open: %s", strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDWR | O_TMPFILE, 0600);
	if (fd >= 0 && write(fd, p->data, 1) != 1)
		return -1;
	fd = open(path_b, O_WRONLY | O_CREAT | O_EXCL | O_SYNC, 0600);
	if (fd < 0 || unlink(path_b) || write(fd, p->data, 1) != 1) {
		errmsg("deleted file: %s", strerror(errno));
		return -1;
	}
	/* fails, but strace still names every flag (and the unknown bit) */
	open("/nonexistent-iogen/x", O_RDONLY | O_NOATIME | O_DSYNC | FASYNC | 0x1000000);
	unlink(path_a);
	snprintf(report_extra, sizeof(report_extra),
		 ",\"refused_port\":%d,\"unix_accepted_peercred\":%d", port, accepted_cred);
	rc = 0;
	return rc;
}

static const struct mode modes[] = {
	{ "pipe-rw", mode_pipe_rw, 1, PIPE_FITS, "write() into a pipe, read() it back" },
	{ "file-rw", mode_file_rw, 2, PAYLOAD_MAX,
	  "temp file: write(), pwrite64() 2nd half, pread64() it, lseek+read()" },
	{ "vec", mode_vec, 64, PIPE_FITS,
	  "pipe: writev(8 iovecs), readv(3); temp file: pwritev/preadv, pwritev2/preadv2" },
	{ "udp", mode_udp, 3, UDP_MAX,
	  "UDP 127.0.0.1: sendto/recvfrom, sendmsg/recvmsg (3 iovecs)" },
	{ "tcp", mode_tcp, 3, PAYLOAD_MAX,
	  "TCP 127.0.0.1: sendto/recvfrom, then back with sendmsg/recvmsg (3 iovecs)" },
	{ "mmsg", mode_mmsg, 8, UDP_MAX, "UDP: sendmmsg/recvmmsg, 2 messages of 2 iovecs" },
	{ "big", mode_big, 1, PAYLOAD_MAX, "one write() of everything to a temp file" },
	{ "fork", mode_fork, 1, PAYLOAD_MAX, "forked child write()s to a pipe, parent read()s" },
	{ "unix", mode_unix, 1, PAYLOAD_MAX, "socketpair(AF_UNIX, SOCK_STREAM): write(), read()" },
	{ "manyvec", mode_manyvec, IOV_MAX_USED, PAYLOAD_MAX,
	  "temp file: writev(1024 iovecs), preadv(1023 iovecs)" },
	{ "held", mode_held, 1, PAYLOAD_MAX,
	  "pread64(), lseek+read() of the payload fd (opened before --wait-stdin)" },
	{ "fdlife", mode_fdlife, FDLIFE_PARTS, PIPE_FITS,
	  "a slice through each of open/dup/dup2/dup3/F_DUPFD fds, pipe, pipe2, socketpair, "
	  "TCP accept/accept4, UDP connect, close_range; fds reused (reports fdops)" },
	{ "sockets", mode_sockets, 1, PAYLOAD_MAX,
	  "refused connects (TCP v4/v6, unix), TCP listen/accept4/accept, unix path with a "
	  "forked peer, abstract name, opens with many flags, two deleted files written" },
};

/* A growing string for the report. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->s ? sb->s + sb->len : NULL, sb->s ? sb->cap - sb->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		return;
	}
	if (!sb->s || sb->len + n + 1 > sb->cap) {
		size_t cap = (sb->cap ? sb->cap : 4096);
		char *s;

		while (cap < sb->len + n + 1)
			cap *= 2;
		s = realloc(sb->s, cap);
		if (!s) {
			sb->failed = true;
			return;
		}
		sb->s = s;
		sb->cap = cap;
		va_start(ap, fmt);
		vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += n;
}

static void sb_json_string(struct strbuf *sb, const char *s)
{
	sb_printf(sb, "\"");
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			sb_printf(sb, "\\%c", c);
		else if (c < 0x20)
			sb_printf(sb, "\\u%04x", c);
		else
			sb_printf(sb, "%c", c);
	}
	sb_printf(sb, "\"");
}

static void sb_op(struct strbuf *sb, const struct op *op)
{
	const struct endpoint *ep = &op->ep;

	sb_printf(sb,
		  "{\"syscall\":\"%s\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"dir\":\"%s\","
		  "\"len\":%zu,\"off\":%zu,\"kind\":\"%s\"",
		  calls[op->call].name, op->pid, op->tid, ep->fd,
		  calls[op->call].out ? "out" : "in", op->len, op->off, ep->kind);
	if (op->iovcnt)
		sb_printf(sb, ",\"iovcnt\":%d", op->iovcnt);
	if (op->pos >= 0)
		sb_printf(sb, ",\"pos\":%lld", op->pos);
	if (op->msg >= 0)
		sb_printf(sb, ",\"msg\":%d", op->msg);
	if (ep->lport >= 0)
		sb_printf(sb, ",\"laddr\":\"127.0.0.1\",\"lport\":%d", ep->lport);
	if (op->rport >= 0)
		sb_printf(sb, ",\"raddr\":\"127.0.0.1\",\"rport\":%d", op->rport);
	if (!strcmp(ep->kind, "pipe") || !strcmp(ep->kind, "unix"))
		sb_printf(sb, ",\"ino\":%llu", ep->ino);
	if (ep->peer_ino)
		sb_printf(sb, ",\"peer_ino\":%llu", ep->peer_ino);
	if (ep->path) {
		sb_printf(sb, ",\"path\":");
		sb_json_string(sb, ep->path);
	}
	sb_printf(sb, "}");
}

static void sb_fdop(struct strbuf *sb, const struct fdop *f)
{
	const struct endpoint *ep = &f->ep;

	sb_printf(sb, "{\"syscall\":\"%s\",\"pid\":%d,\"tid\":%d,\"ret\":%ld,\"fd\":%d",
		  f->syscall, f->pid, f->tid, f->ret, f->fd);
	if (f->fd2 != NO_FD2)
		sb_printf(sb, ",\"fd2\":%d", f->fd2);
	sb_printf(sb, ",\"kind\":\"%s\"", ep->kind);
	if (ep->path) {
		sb_printf(sb, ",\"path\":");
		sb_json_string(sb, ep->path);
	}
	if (ep->lport >= 0)
		sb_printf(sb, ",\"lport\":%d", ep->lport);
	if (ep->rport >= 0)
		sb_printf(sb, ",\"rport\":%d", ep->rport);
	if (!strcmp(ep->kind, "pipe") || !strcmp(ep->kind, "unix"))
		sb_printf(sb, ",\"ino\":%llu", ep->ino);
	if (ep->peer_ino)
		sb_printf(sb, ",\"peer_ino\":%llu", ep->peer_ino);
	if (f->kind2)
		sb_printf(sb, ",\"kind2\":\"%s\"", f->kind2);
	if (f->created >= 0)
		sb_printf(sb, ",\"created\":%s", f->created ? "true" : "false");
	sb_printf(sb, "}");
}

static unsigned long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int write_report(int fd, const struct mode *m, const struct payload *p, int exit_code,
			unsigned long long t0, unsigned long long t1)
{
	struct strbuf sb = { 0 };
	unsigned int i, n = op_log->count;
	ssize_t ret;
	int rc = -1;

	if (n > OPS_MAX) {
		errmsg("more than %u operations: the report would be incomplete", OPS_MAX);
		return -1;
	}
	sb_printf(&sb, "{\"mode\":\"%s\",\"pid\":%d", m->name, getpid());
	if (child_pid > 0)
		sb_printf(&sb, ",\"child_pid\":%d", child_pid);
	sb_printf(&sb,
		  ",\"payload_len\":%zu,\"payload_fd\":%d,\"report_fd\":%d,\"exit\":%d,"
		  "\"t0_ns\":%llu,\"t1_ns\":%llu,\"ops\":[",
		  p->len, p->fd, fd, exit_code, t0, t1);
	for (i = 0; i < n; i++) {
		if (i)
			sb_printf(&sb, ",");
		sb_op(&sb, &op_log->ops[i]);
	}
	sb_printf(&sb, "]");
	if (nfdops) {
		sb_printf(&sb, ",\"fdops\":[");
		for (i = 0; i < nfdops; i++) {
			if (i)
				sb_printf(&sb, ",");
			sb_fdop(&sb, &fdops[i]);
		}
		sb_printf(&sb, "]");
	}
	sb_printf(&sb, "%s}\n", report_extra);
	if (sb.failed) {
		errmsg("report: out of memory");
		goto cleanup;
	}
	ret = write(fd, sb.s, sb.len);
	if (ret != (ssize_t)sb.len) {
		errmsg("writing the report: %s", ret < 0 ? strerror(errno) : "short write");
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(sb.s);
	return rc;
}

/* Whole file into memory; the fd stays open (see the top comment). */
static int load_payload(const char *path, struct payload *p)
{
	size_t cap = 0;
	struct stat st;
	ssize_t ret;

	memset(p, 0, sizeof(*p));
	p->fd = open(path, O_RDONLY);
	if (p->fd < 0 || fstat(p->fd, &st) || !realpath(path, p->path)) {
		errmsg("payload %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		errmsg("payload %s: is a directory", path);
		return -1;
	}
	for (;;) {
		if (p->len == cap) {
			uint8_t *d;

			if (cap >= PAYLOAD_MAX) {
				errmsg("payload %s: larger than %u bytes", path, PAYLOAD_MAX);
				return -1;
			}
			cap = cap ? cap * 2 : (st.st_size > 0 ? (size_t)st.st_size + 1 : 65536);
			if (cap > PAYLOAD_MAX)
				cap = PAYLOAD_MAX;
			d = realloc(p->data, cap);
			if (!d) {
				errmsg("payload %s: out of memory", path);
				return -1;
			}
			p->data = d;
		}
		ret = read(p->fd, p->data + p->len, cap - p->len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			errmsg("payload %s: %s", path, strerror(errno));
			return -1;
		}
		if (ret == 0)
			return 0;
		p->len += ret;
	}
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: iogen [OPTIONS] MODE PAYLOAD_FILE\n"
		"Moves PAYLOAD_FILE's bytes with MODE's syscalls; reports each operation.\n\n"
		"  --report PATH   write the report to PATH (0600), one write(2) at the end\n"
		"  --delay-ms N    sleep N ms before the I/O (fork: both, after the fork)\n"
		"  --wait-stdin    read one byte (or EOF) from stdin first (fork: before forking)\n"
		"  --exit N        exit status on success (default 0)\n"
		"  --port N        tcp: listen on port N; udp, mmsg: receive on port N\n"
		"  -h, --help      this text\n\nModes (payload sizes):\n");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(out, "  %-8s %s (%zu..%zu bytes)\n", modes[i].name, modes[i].what,
			modes[i].min, modes[i].max);
	fprintf(out, "\nExit status: 0 (or --exit N) ok, 1 I/O failure, 2 usage error.\n");
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

enum { OPT_REPORT = 0x100, OPT_DELAY, OPT_WAIT_STDIN, OPT_EXIT, OPT_PORT };

static int parse_args(int argc, char **argv, struct options *o, const struct mode **mode,
		      const char **payload_path)
{
	static const struct option longopts[] = {
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "delay-ms", required_argument, NULL, OPT_DELAY },
		{ "wait-stdin", no_argument, NULL, OPT_WAIT_STDIN },
		{ "exit", required_argument, NULL, OPT_EXIT },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long n;
	size_t i;
	int c;

	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPORT:
			o->report_path = optarg;
			break;
		case OPT_DELAY:
			if (!parse_ulong(optarg, 3600000, &o->delay_ms)) {
				errmsg("--delay-ms: '%s' is not 0..3600000 (ms)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_WAIT_STDIN:
			o->wait_stdin = true;
			break;
		case OPT_EXIT:
			if (!parse_ulong(optarg, 255, &n)) {
				errmsg("--exit: '%s' is not an exit status (0..255)", optarg);
				return EXIT_USAGE;
			}
			o->exit_code = n;
			break;
		case OPT_PORT:
			if (!parse_ulong(optarg, 65535, &o->port) || !o->port) {
				errmsg("--port: '%s' is not a port (1..65535)", optarg);
				return EXIT_USAGE;
			}
			bind_port = htons(o->port);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			errmsg("option %s needs an argument", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				errmsg("unknown option -%c (try --help)", optopt);
			else
				errmsg("unknown option %s (try --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		errmsg("expected MODE PAYLOAD_FILE, got %d argument%s (try --help)", argc - optind,
		       argc - optind == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[optind], modes[i].name))
			*mode = &modes[i];
	if (!*mode) {
		errmsg("unknown mode '%s' (try --help)", argv[optind]);
		return EXIT_USAGE;
	}
	*payload_path = argv[optind + 1];
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	const struct mode *m = NULL;
	const char *payload_path = NULL;
	struct payload p = { .fd = -1 };
	unsigned long long t0, t1;
	int report_fd = -1, rc;
	char c;

	rc = parse_args(argc, argv, &o, &m, &payload_path);
	if (rc >= 0)
		return rc;
	rc = EXIT_IO;
	if (load_payload(payload_path, &p))
		goto cleanup;
	if (p.len < m->min || p.len > m->max) {
		errmsg("mode %s moves %zu..%zu bytes; %s has %zu", m->name, m->min, m->max,
		       payload_path, p.len);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (o.report_path) {
		report_fd = open(o.report_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (report_fd < 0 || fchmod(report_fd, 0600)) {
			errmsg("report %s: %s", o.report_path, strerror(errno));
			goto cleanup;
		}
	}
	op_log = mmap(NULL, sizeof(*op_log) + OPS_MAX * sizeof(struct op), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (op_log == MAP_FAILED) {
		op_log = NULL;
		errmsg("mmap: %s", strerror(errno));
		goto cleanup;
	}
	if (o.wait_stdin && read(STDIN_FILENO, &c, 1) < 0) {
		errmsg("--wait-stdin: %s", strerror(errno));
		goto cleanup;
	}
	if (m->run != mode_fork)
		sleep_ms(o.delay_ms);

	t0 = monotonic_ns();
	if (m->run(&p, &o))
		goto cleanup;
	t1 = monotonic_ns();
	if (report_fd >= 0 && write_report(report_fd, m, &p, o.exit_code, t0, t1))
		goto cleanup;
	rc = o.exit_code;
cleanup:
	if (op_log)
		munmap(op_log, sizeof(*op_log) + OPS_MAX * sizeof(struct op));
	if (report_fd >= 0)
		close(report_fd);
	if (p.fd >= 0)
		close(p.fd);
	free(p.data);
	return rc;
}
