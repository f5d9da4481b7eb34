// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * zc_xfer: known zero-copy sends for zcap's end-to-end tests.
 *
 *   zc_xfer [--report PATH] [--port PORT] MODE FILE OFFSET COUNT [COPY_PATH]
 *
 * Sends FILE[OFFSET, OFFSET+COUNT) over a loopback TCP connection to a
 * receiver thread of this program (listening on PORT, default any free
 * port), with MODE's calls:
 *
 *   sendfile      sendfile(2) with an explicit offset
 *   sendfile_pos  sendfile(2) from the file position (offset pointer NULL)
 *   sendfile_nb   sendfile(2) to a non-blocking socket with a small send
 *                 buffer: the kernel takes part of what each send offers
 *   splice        splice(2) file -> pipe, then pipe -> socket
 *   splice_nb     the same to a non-blocking socket with a small send buffer:
 *                 part of a pipe load stays in the pipe for the next splice
 *   vmsplice      the bytes read into memory, vmsplice(2) (two iovecs) into
 *                 a pipe, splice(2) pipe -> socket
 *   tee           splice file -> pipe A, tee(2) A -> pipe B, splice B ->
 *                 socket; A is drained with read(2)
 *   copy_file_range  copy_file_range(2) FILE -> COPY_PATH (at offset 0),
 *                 then sendfile(2) of COPY_PATH to the socket
 *   uring_splice  io_uring IORING_OP_SPLICE file -> pipe and pipe -> socket
 *   uring_send    io_uring IORING_OP_SEND from memory
 *   uring_send_zc io_uring IORING_OP_SEND_ZC from a registered buffer
 *
 *   zc_xfer --has MODE
 *
 * says whether this kernel can run MODE (exit 0 yes, 1 no, with the reason
 * on stdout): the io_uring modes need their opcodes in io_uring's own
 * probe (IORING_OP_SEND_ZC is 6.0+), the others are always there.
 *
 * Exit 0 when the receiver got exactly those bytes, 1 otherwise, 2 on bad
 * usage. Prints one JSON line (to PATH with --report, else stdout):
 *   {"mode":M,"pid":P,"tid":T,"lport":SENDER_PORT,"rport":RECEIVER_PORT,"count":N}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define PIPE_STEP 65536 /* bytes moved through a pipe at a time */

struct receiver {
	int lfd;
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static void die(const char *what)
{
	fprintf(stderr, "zc_xfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *receive(void *arg)
{
	struct receiver *r = arg;
	int fd = accept(r->lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0) {
		r->err = errno;
		return NULL;
	}
	for (;;) {
		if (r->len == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 65536;
			r->buf = realloc(r->buf, r->cap);
			if (!r->buf) {
				r->err = ENOMEM;
				break;
			}
		}
		n = read(fd, r->buf + r->len, r->cap - r->len);
		if (n <= 0) {
			if (n < 0)
				r->err = errno;
			break;
		}
		r->len += n;
	}
	close(fd);
	return NULL;
}

/* A non-blocking send that took nothing: wait until the socket takes more. */
static bool again(int sock, ssize_t n)
{
	struct pollfd p = {.fd = sock, .events = POLLOUT};

	if (n >= 0 || errno != EAGAIN)
		return false;
	poll(&p, 1, 5000);
	return true;
}

/* Move n bytes from a pipe's read end to fd with splice(2). */
static void splice_out(int pipe_r, int fd, size_t n)
{
	while (n) {
		ssize_t m = splice(pipe_r, NULL, fd, NULL, n, SPLICE_F_MOVE);

		if (again(fd, m))
			continue;
		if (m <= 0)
			die("splice pipe -> socket");
		n -= m;
	}
}

static void do_sendfile(int sock, int fd, off_t off, size_t count, bool from_pos)
{
	while (count) {
		ssize_t n;

		if (from_pos) {
			if (lseek(fd, off, SEEK_SET) < 0)
				die("lseek");
			n = sendfile(sock, fd, NULL, count);
		} else {
			n = sendfile(sock, fd, &off, count);
		}
		if (again(sock, n))
			continue;
		if (n <= 0)
			die("sendfile");
		if (from_pos)
			off += n;
		count -= n;
	}
}

static void do_splice(int sock, int fd, off_t off, size_t count)
{
	int p[2];

	if (pipe(p))
		die("pipe");
	while (count) {
		ssize_t n = splice(fd, &off, p[1], NULL, count < PIPE_STEP ? count : PIPE_STEP,
				   SPLICE_F_MOVE);

		if (n <= 0)
			die("splice file -> pipe");
		splice_out(p[0], sock, n);
		count -= n;
	}
	close(p[0]);
	close(p[1]);
}

static uint8_t *read_region(int fd, off_t off, size_t count)
{
	uint8_t *m =
		mmap(NULL, count + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t got = 0;

	if (m == MAP_FAILED)
		die("mmap");
	while (got < count) {
		ssize_t n = pread(fd, m + got, count - got, off + got);

		if (n <= 0)
			die("pread");
		got += n;
	}
	return m;
}

static void do_vmsplice(int sock, int fd, off_t off, size_t count)
{
	uint8_t *m = read_region(fd, off, count);
	size_t done = 0;
	int p[2];

	if (pipe(p))
		die("pipe");
	while (done < count) {
		size_t step = count - done < PIPE_STEP ? count - done : PIPE_STEP;
		/* two iovecs: the capture walks both */
		struct iovec iov[2] = {
			{.iov_base = m + done, .iov_len = step / 3},
			{.iov_base = m + done + step / 3, .iov_len = step - step / 3},
		};
		ssize_t n = vmsplice(p[1], iov, 2, 0);

		if (n <= 0)
			die("vmsplice");
		splice_out(p[0], sock, n);
		done += n;
	}
	close(p[0]);
	close(p[1]);
}

static void do_tee(int sock, int fd, off_t off, size_t count)
{
	static uint8_t sink[PIPE_STEP];
	int a[2], b[2];

	if (pipe(a) || pipe(b))
		die("pipe");
	while (count) {
		ssize_t n = splice(fd, &off, a[1], NULL, count < PIPE_STEP ? count : PIPE_STEP, 0);
		ssize_t t, left;

		if (n <= 0)
			die("splice file -> pipe");
		t = tee(a[0], b[1], n, 0);
		if (t != n)
			die("tee");
		splice_out(b[0], sock, t);
		for (left = n; left > 0;) {
			ssize_t r = read(a[0], sink, left);

			if (r <= 0)
				die("read pipe");
			left -= r;
		}
		count -= n;
	}
}

static void do_copy_file_range(int sock, int fd, off_t off, size_t count, const char *copy)
{
	int out = open(copy, O_RDWR | O_CREAT | O_TRUNC, 0600);
	off_t doff = 0;
	size_t left = count;

	if (out < 0)
		die("open copy");
	while (left) {
		ssize_t n = copy_file_range(fd, &off, out, &doff, left, 0);

		if (n <= 0)
			die("copy_file_range");
		left -= n;
	}
	do_sendfile(sock, out, 0, count, false);
	close(out);
}

/* Submit one request and wait for its result (and, for send_zc, for the
 * notification that the buffer is free again). */
static int uring_run(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	bool got = false, more = false;
	int res = 0;

	if (io_uring_submit(ring) < 0)
		die("io_uring_submit");
	while (!got || more) {
		if (io_uring_wait_cqe(ring, &cqe))
			die("io_uring_wait_cqe");
		if (cqe->flags & IORING_CQE_F_NOTIF) {
			more = false;
		} else {
			res = cqe->res;
			got = true;
			more = cqe->flags & IORING_CQE_F_MORE;
		}
		io_uring_cqe_seen(ring, cqe);
	}
	if (res < 0) {
		errno = -res;
		die("io_uring op");
	}
	return res;
}

static void do_uring(int sock, int fd, off_t off, size_t count, const char *mode)
{
	struct io_uring ring;
	uint8_t *m = NULL;
	int p[2];

	if (io_uring_queue_init(8, &ring, 0))
		die("io_uring_queue_init");
	if (!strcmp(mode, "uring_splice") && pipe(p))
		die("pipe");
	if (strcmp(mode, "uring_splice"))
		m = read_region(fd, off, count);
	if (!strcmp(mode, "uring_send_zc")) {
		struct iovec reg = {.iov_base = m, .iov_len = count};

		if (io_uring_register_buffers(&ring, &reg, 1))
			die("io_uring_register_buffers");
	}
	for (size_t done = 0; done < count;) {
		size_t step = count - done < PIPE_STEP ? count - done : PIPE_STEP;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		int n;

		if (!strcmp(mode, "uring_splice")) {
			io_uring_prep_splice(sqe, fd, off + done, p[1], -1, step, 0);
			n = uring_run(&ring);
			for (int left = n; left > 0;) {
				int s;

				sqe = io_uring_get_sqe(&ring);
				io_uring_prep_splice(sqe, p[0], -1, sock, -1, left, 0);
				s = uring_run(&ring);
				if (s <= 0)
					die("io_uring splice pipe -> socket");
				left -= s;
			}
		} else if (!strcmp(mode, "uring_send")) {
			io_uring_prep_send(sqe, sock, m + done, step, 0);
			n = uring_run(&ring);
		} else {
			io_uring_prep_send_zc_fixed(sqe, sock, m + done, step, 0, 0, 0);
			n = uring_run(&ring);
		}
		if (n <= 0)
			die("io_uring send");
		done += n;
	}
	io_uring_queue_exit(&ring);
}

/* --has MODE: the opcodes MODE submits, checked against the kernel's. */
static int has_mode(const char *mode)
{
	static const struct {
		const char *mode;
		int op;
	} ops[] = { { "uring_splice", IORING_OP_SPLICE },
		    { "uring_send", IORING_OP_SEND },
		    { "uring_send_zc", IORING_OP_SEND_ZC } };
	struct io_uring_probe *probe;
	bool ok;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(mode, ops[i].mode))
			continue;
		probe = io_uring_get_probe();
		if (!probe) {
			printf("no io_uring probe: %s\n", strerror(errno));
			return 1;
		}
		ok = io_uring_opcode_supported(probe, ops[i].op);
		io_uring_free_probe(probe);
		printf("%s: io_uring opcode %d %s\n", mode, ops[i].op,
		       ok ? "supported" : "not supported by this kernel");
		return ok ? 0 : 1;
	}
	printf("%s: no kernel requirement\n", mode);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct receiver r = {0};
	socklen_t alen = sizeof(a);
	struct sockaddr_in me;
	socklen_t melen = sizeof(me);
	const char *mode, *report = NULL;
	FILE *rep = stdout;
	uint8_t *want;
	pthread_t th;
	off_t off;
	size_t count;
	int fd, sock;
	bool ok, mode_nb = false;

	if (argc == 3 && !strcmp(argv[1], "--has"))
		return has_mode(argv[2]);
	while (argc > 2 && (!strcmp(argv[1], "--report") || !strcmp(argv[1], "--port"))) {
		if (!strcmp(argv[1], "--report"))
			report = argv[2];
		else
			a.sin_port = htons(atoi(argv[2]));
		argc -= 2;
		argv += 2;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: zc_xfer [--report PATH] [--port PORT] MODE FILE OFFSET "
				"COUNT [COPY_PATH]\n");
		return 2;
	}
	mode = argv[1];
	off = strtoll(argv[3], NULL, 10);
	count = strtoull(argv[4], NULL, 10);
	if (!strcmp(mode, "copy_file_range") && argc < 6) {
		fprintf(stderr, "zc_xfer: copy_file_range needs COPY_PATH\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		die(argv[2]);
	want = read_region(fd, off, count);

	r.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (r.lfd < 0 || bind(r.lfd, (struct sockaddr *)&a, sizeof(a)) || listen(r.lfd, 1) ||
	    getsockname(r.lfd, (struct sockaddr *)&a, &alen))
		die("listen");
	if (pthread_create(&th, NULL, receive, &r))
		die("pthread_create");
	sock = socket(AF_INET, SOCK_STREAM, 0);
	/* a small send buffer makes non-blocking sends partial */
	if (sock >= 0 && strstr(mode, "_nb") &&
	    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &(int){4096}, sizeof(int)))
		die("SO_SNDBUF");
	if (sock < 0 || connect(sock, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(sock, (struct sockaddr *)&me, &melen))
		die("connect");

	if (!strcmp(mode, "sendfile_nb") || !strcmp(mode, "splice_nb")) {
		if (fcntl(sock, F_SETFL, O_NONBLOCK))
			die("fcntl");
		mode_nb = true;
	}
	if (!strcmp(mode, "sendfile") || !strcmp(mode, "sendfile_nb"))
		do_sendfile(sock, fd, off, count, false);
	else if (!strcmp(mode, "sendfile_pos"))
		do_sendfile(sock, fd, off, count, true);
	else if (!strcmp(mode, "splice") || !strcmp(mode, "splice_nb"))
		do_splice(sock, fd, off, count);
	else if (!strcmp(mode, "vmsplice"))
		do_vmsplice(sock, fd, off, count);
	else if (!strcmp(mode, "tee"))
		do_tee(sock, fd, off, count);
	else if (!strcmp(mode, "copy_file_range"))
		do_copy_file_range(sock, fd, off, count, argv[5]);
	else if (!strncmp(mode, "uring_", 6) &&
		 (!strcmp(mode, "uring_splice") || !strcmp(mode, "uring_send") ||
		  !strcmp(mode, "uring_send_zc")))
		do_uring(sock, fd, off, count, mode);
	else {
		fprintf(stderr, "zc_xfer: unknown mode '%s'\n", mode);
		return 2;
	}
	if (mode_nb && fcntl(sock, F_SETFL, 0))
		die("fcntl");
	close(sock);
	pthread_join(th, NULL);
	if (r.err) {
		errno = r.err;
		die("receive");
	}
	if (report && !(rep = fopen(report, "w")))
		die(report);
	fprintf(rep,
		"{\"mode\":\"%s\",\"pid\":%d,\"tid\":%d,\"lport\":%d,\"rport\":%d,"
		"\"count\":%zu}\n",
		mode, getpid(), gettid(), ntohs(me.sin_port), ntohs(a.sin_port), count);
	if (report)
		fclose(rep);
	ok = r.len == count && !memcmp(r.buf, want, count);
	if (!ok)
		fprintf(stderr, "zc_xfer: the receiver got %zu bytes, not the %zu expected\n",
			r.len, count);
	free(r.buf);
	return ok ? 0 : 1;
}
