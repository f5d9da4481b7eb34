// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Text sink: one strace/tcpdump-like line per record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "addr.h"
#include "escape.h"
#include "flagnames.h"
#include "hexdump.h"
#include "names.h"
#include "sink.h"
#include "sockaddr.h"
#include "zerocopy.h"

struct text_sink {
	struct sink s;
	int width; /* payload preview columns; 0 = none */
	bool hex;  /* -X: the payload as hex and ASCII after the line */
};

/* A failed call's error text; a value no syscall returns is not negated
 * (-INT64_MIN does not exist). */
static const char *ret_error(int64_t ret)
{
	return ret >= -4095 ? strerror((int)-ret) : "not an errno";
}

static void print_prefix(struct sink *s, const struct zcap_hdr *h)
{
	uint64_t real = h->ts_ns + s->mono_to_real_ns;
	time_t sec = real / 1000000000ULL;
	struct tm tm;

	localtime_r(&sec, &tm);
	fprintf(s->out, "%02d:%02d:%02d.%06u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		(unsigned int)(real % 1000000000ULL / 1000));
	/* untrusted: a comm "x[1] read(" must not pass for a second prefix */
	esc_fwrite(s->out, h->comm, strnlen(h->comm, ZCAP_COMM_LEN), ESC_WORD);
	fprintf(s->out, "[%u", h->pid);
	if (h->tid != h->pid)
		fprintf(s->out, "/%u", h->tid);
	fputs("] ", s->out);
}

/* A unix socket of an fd record: its names and its peer's pid. */
struct unix_facts {
	const struct sockaddr_view *local, *peer;
	uint32_t peer_pid;
};

/* "unix:[INO->PEER_INO] NAME peer NAME peer pid N", each part where known */
static void print_unix(FILE *out, const struct zcap_fdinfo *f, const struct unix_facts *u)
{
	fprintf(out, "unix:[%llu", (unsigned long long)f->ino);
	if (f->peer_ino)
		fprintf(out, "->%llu", (unsigned long long)f->peer_ino);
	fputc(']', out);
	if (u->local->family == AF_UNIX) {
		fputc(' ', out);
		sockaddr_fprint(out, u->local);
	}
	if (u->peer->family == AF_UNIX) {
		fputs(" peer ", out);
		sockaddr_fprint(out, u->peer);
	}
	if (u->peer_pid)
		fprintf(out, " peer pid %u", u->peer_pid);
}

/* "3<tcp 10.0.0.1:5000->10.0.0.2:80>"; "3</tmp/f>(deleted)" for a file
 * whose name is gone, as strace -y prints it. u: unix facts, or NULL. */
static void print_fd_unix(FILE *out, int fd, const struct zcap_fdinfo *f, const char *path,
			  const struct unix_facts *u)
{
	char l[64], r[64];

	fprintf(out, "%d<", fd);
	switch (f->kind) {
	case ZCAP_FD_TCP:
	case ZCAP_FD_UDP:
		fprintf(out, "%s %s->%s", fd_kind_name(f->kind),
			endpoint_format(f->family, f->laddr, f->lport, l, sizeof(l)),
			endpoint_format(f->family, f->raddr, f->rport, r, sizeof(r)));
		break;
	case ZCAP_FD_PIPE:
	case ZCAP_FD_UNIX:
		if (f->kind == ZCAP_FD_UNIX && u) {
			print_unix(out, f, u);
		} else if (path) {
			fprintf(out, "%s ", fd_kind_name(f->kind));
			esc_fputs(out, path, 0);
		} else
			fprintf(out, "%s:[%llu]", fd_kind_name(f->kind), (unsigned long long)f->ino);
		break;
	default:
		if (path)
			esc_fputs(out, path, 0);
		else
			fputs(fd_kind_name(f->kind), out);
	}
	fputc('>', out);
	if (f->fi_flags & ZCAP_FI_DELETED)
		fputs("(deleted)", out);
}

static void print_fd(FILE *out, int fd, const struct zcap_fdinfo *f, const char *path)
{
	print_fd_unix(out, fd, f, path, NULL);
}

/* C-style escaped preview of at most `width` output columns. */
static void print_payload(FILE *out, const uint8_t *p, size_t n, int width, bool more)
{
	size_t fit, col = 0;

	if (width <= 0)
		return;
	for (fit = 0; fit < n; fit++) {
		char esc[ESC_MAX];
		size_t len = esc_byte(p[fit], esc, 0);

		if (col + len > (size_t)width) {
			more = true;
			break;
		}
		col += len;
	}
	fputs(" \"", out);
	esc_fwrite(out, p, fit, 0);
	fputc('"', out);
	if (more)
		fputs("...", out);
}

static void print_io(struct text_sink *t, const struct zrec *r)
{
	const struct zcap_io *io = r->ev->io;
	FILE *out = t->s.out;

	fprintf(out, "%s(", syscall_name(io->syscall));
	print_fd(out, io->fd, &io->f, r->path);
	if (io->syscall == ZCAP_SYS_SENDMMSG || io->syscall == ZCAP_SYS_RECVMMSG)
		fprintf(out, ", msg %u", io->msg_idx);
	if (io->file_off >= 0)
		fprintf(out, ", @%lld", (long long)io->file_off);
	if ((io->flags & ZCAP_F_ADDR_ARG) && io->f.kind != ZCAP_FD_TCP) {
		char a[64];

		fprintf(out, ", %s", endpoint_format(io->f.family ? io->f.family : AF_INET,
						     io->f.raddr, io->f.rport, a, sizeof(a)));
	}
	fprintf(out, ") = %lld", (long long)io->ret);
	if (io->ret < 0)
		fprintf(out, " (%s)", ret_error(io->ret));
	else if (io->syscall == ZCAP_SYS_SENDMMSG || io->syscall == ZCAP_SYS_RECVMMSG)
		fprintf(out, " [%llu bytes]", (unsigned long long)r->len);
	fprintf(out, " %s", io->dir == ZCAP_DIR_IN ? "<" : ">");
	print_payload(out, r->data, r->data_len, t->width, r->truncated);
	if (r->iov_limit)
		fputs(" [iov limit]", out);
	if (r->incomplete)
		fputs(" [incomplete]", out);
	fputc('\n', out);
	if (t->hex)
		hexdump_x(out, r->data, r->data_len);
}

static void print_fdev(struct text_sink *t, const struct zrec *r)
{
	const struct zcap_fd_ev *fd = r->ev->fd;
	FILE *out = t->s.out;
	char names[FLAGNAMES_MAX];
	struct fd_sockstrs ss;
	struct unix_facts u = { &ss.local, &ss.peer, fd->peer_pid };

	if (fd_has_sockstrs(fd->syscall))
		fd_sockstrs(fd, r->data, &ss);
	else
		fd_sockstrs(&(struct zcap_fd_ev){ 0 }, NULL, &ss);
	fprintf(out, "%s(", syscall_name(fd->syscall));
	switch (fd->syscall) {
	case ZCAP_SYS_OPEN:
	case ZCAP_SYS_OPENAT:
	case ZCAP_SYS_OPENAT2:
	case ZCAP_SYS_CREAT:
		fputc('"', out);
		esc_fwrite(out, r->data, strnlen((const char *)r->data, r->data_len), 0);
		fprintf(out, "\", %s", open_flags_format(fd->oflags, names));
		if (open_flags_take_mode(fd->oflags))
			fprintf(out, ", %#03o", fd->mode);
		fputs(") = ", out);
		if (fd->ret >= 0)
			print_fd(out, fd->fd, &fd->f, r->path);
		else
			fprintf(out, "%lld", (long long)fd->ret);
		break;
	case ZCAP_SYS_CLOSE:
		print_fd(out, fd->fd, &fd->f, r->path);
		fputc(')', out);
		break;
	case ZCAP_SYS_CLOSE_RANGE:
		fprintf(out, "%d, %u) = %lld", fd->fd, (unsigned int)fd->fd2, (long long)fd->ret);
		break;
	case ZCAP_SYS_CONNECT:
	case ZCAP_SYS_BIND:
	case ZCAP_SYS_LISTEN:
		/* "connect(3<tcp ...>, 127.0.0.1:9) = -1 (Connection refused)" */
		print_fd_unix(out, fd->fd, &fd->f, r->path, &u);
		if (fd->syscall == ZCAP_SYS_LISTEN) {
			fprintf(out, ", %d", fd->backlog);
		} else if (ss.addr.family >= 0) {
			fputs(", ", out);
			sockaddr_fprint(out, &ss.addr);
		}
		fprintf(out, ") = %lld", (long long)fd->ret);
		break;
	case ZCAP_SYS_ACCEPT:
	case ZCAP_SYS_ACCEPT4:
		/* "accept4(3<tcp ...>, 127.0.0.1:41234, SOCK_CLOEXEC) = 4<tcp ...>" */
		print_fd(out, fd->fd2, &fd->f2, r->path2);
		if (ss.addr.family >= 0) {
			fputs(", ", out);
			sockaddr_fprint(out, &ss.addr);
		}
		if (fd->syscall == ZCAP_SYS_ACCEPT4)
			fprintf(out, ", %s", sock_flags_format(fd->oflags, names));
		fputs(") = ", out);
		if (fd->ret >= 0)
			print_fd_unix(out, fd->fd, &fd->f, r->path, &u);
		else
			fprintf(out, "%lld", (long long)fd->ret);
		break;
	default:
		if (fd->fd2 >= 0 && fd->f2.kind != ZCAP_FD_UNKNOWN) {
			print_fd(out, fd->fd2, &fd->f2, r->path2);
			fputs(") ", out);
		} else {
			fputs(") ", out);
		}
		fputs("= ", out);
		if (fd->fd >= 0 && fd->ret >= 0 && fd->f.kind != ZCAP_FD_UNKNOWN)
			print_fd_unix(out, fd->fd, &fd->f, r->path, &u);
		else
			fprintf(out, "%lld", (long long)fd->ret);
	}
	if (fd->ret < 0)
		fprintf(out, " (%s)", ret_error(fd->ret));
	fputc('\n', out);
}

static void print_proc(struct text_sink *t, const struct zrec *r)
{
	const struct zcap_proc_ev *p = r->ev->proc;
	FILE *out = t->s.out;

	switch (p->syscall) {
	case ZCAP_SYS_FORK:
		fprintf(out, "%s -> %u/%u\n", p->is_thread ? "thread" : "fork", p->child_pid,
			p->child_tid);
		break;
	case ZCAP_SYS_EXEC: {
		const char *s = (const char *)r->data, *end = s + p->argv_len;

		fputs("exec [", out);
		while (s < end) {
			size_t n = strnlen(s, end - s);

			fprintf(out, "%s\"", s == (const char *)r->data ? "" : ", ");
			esc_fwrite(out, s, n, 0);
			fputc('"', out);
			s += n + 1;
		}
		fputs("]\n", out);
		break;
	}
	default:
		if (p->exit_code & 0x7f)
			fprintf(out, "killed by signal %d\n", p->exit_code & 0x7f);
		else
			fprintf(out, "exit %d\n", (p->exit_code >> 8) & 0xff);
	}
}

/* "body sendfile 5<tcp a->b> seq 123 [1000 bytes from /f@0] > "..."" */
static void print_body(struct text_sink *t, const struct zrec *r)
{
	const struct zc_body *b = zc_body_of(r);
	const struct zcap_send_ev *sv = r->ev->send;
	FILE *out = t->s.out;
	char a[64];

	fprintf(out, "body %s ", r->via);
	print_fd(out, b->fd, &sv->f, NULL);
	fprintf(out, " seq %u [%llu bytes", r->tcp_seq, (unsigned long long)r->len);
	switch (b->src_kind) {
	case ZC_SRC_FILE:
		if (r->src_path) {
			fputs(" from ", out);
			esc_fputs(out, r->src_path, 0);
		} else
			fprintf(out, " from file %u:%llu", b->src_dev,
				(unsigned long long)b->src_ino);
		if (r->src_off >= 0)
			fprintf(out, "@%lld", (long long)r->src_off);
		break;
	case ZC_SRC_SOCKET:
		fprintf(out, " from %s %s",
			fd_kind_name(b->src_sock.kind),
			endpoint_format(b->src_sock.family, b->src_sock.raddr, b->src_sock.rport, a,
					sizeof(a)));
		break;
	case ZC_SRC_MEMORY:
		fprintf(out, " from memory of %u%s%s", b->src_pid, b->src_how ? " by " : "",
			b->src_how ? b->src_how : "");
		break;
	default:
		break;
	}
	fputs("] >", out);
	if (r->no_content)
		fputs(" (content not captured)", out);
	else
		print_payload(out, r->data, r->data_len, t->width, r->truncated);
	if (r->incomplete)
		fputs(" [incomplete]", out);
	fputc('\n', out);
	if (t->hex && !r->no_content)
		hexdump_x(out, r->data, r->data_len);
}

/* "splice(3</f>@0 -> 5<pipe:[7]>, 4096) = 4096" */
static void print_xfer(struct text_sink *t, const struct zrec *r)
{
	const struct zcap_xfer_ev *x = r->ev->xfer;
	FILE *out = t->s.out;

	fprintf(out, "%s(", syscall_name(x->syscall));
	if (x->in.kind != ZCAP_FD_UNKNOWN)
		print_fd(out, x->fd_in, &x->in, r->path);
	else
		fputs("memory", out);
	if (x->off_in >= 0)
		fprintf(out, "@%lld", (long long)x->off_in);
	fputs(" -> ", out);
	if (x->out.kind != ZCAP_FD_UNKNOWN)
		print_fd(out, x->fd_out, &x->out, r->path2);
	else
		fputs("memory", out);
	if (x->off_out >= 0)
		fprintf(out, "@%lld", (long long)x->off_out);
	fprintf(out, ", %llu) = %lld", (unsigned long long)x->len, (long long)x->ret);
	if (x->ret < 0)
		fprintf(out, " (%s)", ret_error(x->ret));
	fputc('\n', out);
}

static int text_record(struct sink *s, const struct zrec *r)
{
	struct text_sink *t = (struct text_sink *)s;

	if (r->ev->type != ZCAP_EV_IO && r->ev->type != ZCAP_EV_FD && r->ev->type != ZCAP_EV_PROC &&
	    r->ev->type != ZCAP_EV_XFER && !zc_body_of(r))
		return 0;
	errno = 0; /* a failed write leaves why (ENOSPC, EPIPE) here */
	print_prefix(s, r->ev->h);
	switch (r->ev->type) {
	case ZCAP_EV_IO:
		print_io(t, r);
		break;
	case ZCAP_EV_SEND:
		print_body(t, r);
		break;
	case ZCAP_EV_XFER:
		print_xfer(t, r);
		break;
	case ZCAP_EV_FD:
		print_fdev(t, r);
		break;
	default:
		print_proc(t, r);
	}
	if (ferror(s->out))
		return errno ? -errno : -EIO;
	return 0;
}

static void text_drops(struct sink *s, const struct zcap_stats *st)
{
	fprintf(s->out, "-- lost events so far: %llu ring full, %llu map full, %llu read faults\n",
		(unsigned long long)st->drops[ZCAP_DROP_RINGBUF],
		(unsigned long long)st->drops[ZCAP_DROP_MAPFULL],
		(unsigned long long)st->drops[ZCAP_DROP_FAULT]);
}

static int text_finish(struct sink *s, const struct zcap_stats *st)
{
	return fflush(s->out) ? -errno : 0;
}

static void text_destroy(struct sink *s)
{
	free(s);
}

void sink_text_set_hex(struct sink *s, bool on)
{
	((struct text_sink *)s)->hex = on;
}

static const struct sink_ops text_ops = {
	.record = text_record,
	.drops = text_drops,
	.finish = text_finish,
	.destroy = text_destroy,
};

struct sink *sink_text_new(FILE *out, int width)
{
	struct text_sink *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->s.ops = &text_ops;
	t->s.out = out;
	t->s.mono_to_real_ns = mono_to_real_offset();
	t->width = width;
	return &t->s;
}
