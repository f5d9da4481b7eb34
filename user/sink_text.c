// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Text sink: one strace/tcpdump-like line per record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "addr.h"
#include "names.h"
#include "sink.h"

struct text_sink {
	struct sink s;
	int width; /* payload preview columns; 0 = none */
};

static void print_prefix(struct sink *s, const struct zcap_hdr *h)
{
	uint64_t real = h->ts_ns + s->mono_to_real_ns;
	time_t sec = real / 1000000000ULL;
	struct tm tm;
	char comm[ZCAP_COMM_LEN + 1];

	localtime_r(&sec, &tm);
	memcpy(comm, h->comm, ZCAP_COMM_LEN);
	comm[ZCAP_COMM_LEN] = 0;
	fprintf(s->out, "%02d:%02d:%02d.%06u %s[%u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		(unsigned int)(real % 1000000000ULL / 1000), comm, h->pid);
	if (h->tid != h->pid)
		fprintf(s->out, "/%u", h->tid);
	fputs("] ", s->out);
}

/* "3<tcp 10.0.0.1:5000->10.0.0.2:80>" */
static void print_fd(FILE *out, int fd, const struct zcap_fdinfo *f, const char *path)
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
		if (path)
			fprintf(out, "%s %s", fd_kind_name(f->kind), path);
		else
			fprintf(out, "%s:[%llu]", fd_kind_name(f->kind), (unsigned long long)f->ino);
		break;
	default:
		if (path)
			fputs(path, out);
		else
			fputs(fd_kind_name(f->kind), out);
	}
	fputc('>', out);
}

/* C-style escaped preview of at most `width` output columns. */
static void print_payload(FILE *out, const uint8_t *p, size_t n, int width, bool more)
{
	int col = 0;

	if (width <= 0)
		return;
	fputs(" \"", out);
	for (size_t i = 0; i < n; i++) {
		char esc[8];
		uint8_t c = p[i];

		if (c == '\n')
			strcpy(esc, "\\n");
		else if (c == '\r')
			strcpy(esc, "\\r");
		else if (c == '\t')
			strcpy(esc, "\\t");
		else if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		if (col + (int)strlen(esc) > width) {
			more = true;
			break;
		}
		fputs(esc, out);
		col += strlen(esc);
	}
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
		fprintf(out, " (%s)", strerror((int)-io->ret));
	else if (io->syscall == ZCAP_SYS_SENDMMSG || io->syscall == ZCAP_SYS_RECVMMSG)
		fprintf(out, " [%llu bytes]", (unsigned long long)r->len);
	fprintf(out, " %s", io->dir == ZCAP_DIR_IN ? "<" : ">");
	print_payload(out, r->data, r->data_len, t->width, r->truncated);
	if (r->incomplete)
		fputs(" [incomplete]", out);
	fputc('\n', out);
}

static void print_fdev(struct text_sink *t, const struct zrec *r)
{
	const struct zcap_fd_ev *fd = r->ev->fd;
	FILE *out = t->s.out;

	fprintf(out, "%s(", syscall_name(fd->syscall));
	switch (fd->syscall) {
	case ZCAP_SYS_OPEN:
	case ZCAP_SYS_OPENAT:
	case ZCAP_SYS_OPENAT2:
	case ZCAP_SYS_CREAT:
		fprintf(out, "\"%.*s\", 0%o) = ", (int)r->data_len, (const char *)r->data,
			fd->oflags);
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
	default:
		if (fd->fd2 >= 0 && fd->f2.kind != ZCAP_FD_UNKNOWN) {
			print_fd(out, fd->fd2, &fd->f2, r->path2);
			fputs(") ", out);
		} else {
			fputs(") ", out);
		}
		fputs("= ", out);
		if (fd->fd >= 0 && fd->ret >= 0 && fd->f.kind != ZCAP_FD_UNKNOWN)
			print_fd(out, fd->fd, &fd->f, r->path);
		else
			fprintf(out, "%lld", (long long)fd->ret);
	}
	if (fd->ret < 0)
		fprintf(out, " (%s)", strerror((int)-fd->ret));
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

			fprintf(out, "%s\"%.*s\"", s == (const char *)r->data ? "" : ", ", (int)n, s);
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

static int text_record(struct sink *s, const struct zrec *r)
{
	struct text_sink *t = (struct text_sink *)s;

	if (r->ev->type != ZCAP_EV_IO && r->ev->type != ZCAP_EV_FD && r->ev->type != ZCAP_EV_PROC)
		return 0;
	print_prefix(s, r->ev->h);
	switch (r->ev->type) {
	case ZCAP_EV_IO:
		print_io(t, r);
		break;
	case ZCAP_EV_FD:
		print_fdev(t, r);
		break;
	default:
		print_proc(t, r);
	}
	return ferror(s->out) ? -EIO : 0;
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
