// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* JSON Lines sink: one object per record; field names are a stable
 * interface (docs/event-schema.md). Records are formatted straight into
 * one reused buffer by the streaming writer (user/jsonw.c): no object
 * tree per record. tests/unit/test_sink_golden.c holds the bytes. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "cgroups.h"
#include "escape.h"
#include "flagnames.h"
#include "jsonw.h"
#include "names.h"
#include "sink.h"
#include "sockaddr.h"
#include "zerocopy.h"

struct json_sink {
	struct sink s; /* first: the sink API hands this back */
	struct jw w;
};

static void add_str(struct jw *o, const char *k, const char *v)
{
	jw_kstr(o, k, v);
}

static void add_int(struct jw *o, const char *k, int64_t v)
{
	jw_ki64(o, k, v);
}

static void add_u64(struct jw *o, const char *k, uint64_t v)
{
	jw_ku64(o, k, v);
}

static void add_bool(struct jw *o, const char *k, bool v)
{
	jw_kbool(o, k, v);
}

static void add_base64(struct jw *o, const char *k, const uint8_t *data, size_t len)
{
	jw_kb64(o, k, data, len);
}

/* Opens the record's object: json_record closes it (after the cgroup).
 * real_off: the sink's CLOCK_REALTIME - CLOCK_MONOTONIC, for "time". */
static void hdr_obj(struct jw *o, uint64_t real_off, const char *type, const struct zcap_hdr *h)
{
	char t[RFC3339_NS_LEN];

	jw_obj_open(o);
	add_str(o, "type", type);
	add_u64(o, "ts_ns", h->ts_ns);
	add_str(o, "time", rfc3339_ns(h->ts_ns + real_off, t));
	add_int(o, "pid", h->pid);
	add_int(o, "tid", h->tid);
	jw_ktext(o, "comm", h->comm, strnlen(h->comm, ZCAP_COMM_LEN));
}

/* prefix + name into k (no snprintf: this runs for every field of every
 * fd in a record) */
static const char *pkey(char k[32], const char *prefix, const char *name)
{
	size_t p = strlen(prefix), n = strlen(name);

	if (p + n >= 32)
		return name; /* not with zcap's own prefixes and names */
	memcpy(k, prefix, p);
	memcpy(k + p, name, n + 1);
	return k;
}

/* The fd's identity: path for files, endpoints for sockets. */
static void add_fdinfo(struct jw *o, const struct zcap_fdinfo *f, const char *path,
		       const char *prefix)
{
	char k[32], a[ZCAP_ADDRSTRLEN];

	add_str(o, pkey(k, prefix, "fd_kind"), fd_kind_name(f->kind));
	if (path)
		jw_ktext(o, pkey(k, prefix, "path"), path, strlen(path));
	if (f->kind == ZCAP_FD_TCP || f->kind == ZCAP_FD_UDP) {
		add_str(o, pkey(k, prefix, "family"), f->family == AF_INET6 ? "inet6" : "inet");
		add_str(o, pkey(k, prefix, "laddr"), addr_format(f->family, f->laddr, a, sizeof(a)));
		add_int(o, pkey(k, prefix, "lport"), f->lport);
		add_str(o, pkey(k, prefix, "raddr"), addr_format(f->family, f->raddr, a, sizeof(a)));
		add_int(o, pkey(k, prefix, "rport"), f->rport);
	}
	if (f->kind == ZCAP_FD_PIPE || f->kind == ZCAP_FD_UNIX)
		add_u64(o, pkey(k, prefix, "ino"), f->ino);
	if (f->peer_ino)
		add_u64(o, pkey(k, prefix, "peer_ino"), f->peer_ino);
	if (f->fi_flags & ZCAP_FI_DELETED)
		add_bool(o, pkey(k, prefix, "deleted"), true);
}

/* "O_RDONLY|O_CLOEXEC" as the array ["O_RDONLY","O_CLOEXEC"] */
static void add_flag_names(struct jw *o, const char *names)
{
	jw_key(o, "flag_names");
	jw_arr_open(o);
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, "|");

		jw_strn(o, p, n);
		p += n + (p[n] == '|');
	}
	jw_arr_close(o);
}

/* connect/bind/accept's address, listen's backlog, unix names and peer */
static void add_sock_facts(struct jw *o, const struct zrec *r)
{
	const struct zcap_fd_ev *fd = r->ev->fd;
	char names[FLAGNAMES_MAX];
	struct fd_sockstrs ss;

	fd_sockstrs(fd, r->data, &ss);
	sockaddr_jw(o, "sockaddr", &ss.addr);
	sockaddr_jw(o, "unix_local", &ss.local);
	sockaddr_jw(o, "unix_peer", &ss.peer);
	if (fd->peer_pid)
		add_int(o, "peer_pid", fd->peer_pid);
	if (fd->syscall == ZCAP_SYS_LISTEN)
		add_int(o, "backlog", fd->backlog);
	if (fd->syscall == ZCAP_SYS_ACCEPT4 && fd->oflags)
		add_flag_names(o, sock_flags_format(fd->oflags, names));
}

static void io_obj(struct jw *o, uint64_t real_off, const struct zrec *r)
{
	const struct zcap_io *io = r->ev->io;
	hdr_obj(o, real_off, "io", &io->h);

	add_str(o, "syscall", syscall_name(io->syscall));
	add_int(o, "fd", io->fd);
	add_fdinfo(o, &io->f, r->path, "");
	add_str(o, "dir", dir_name(io->dir));
	add_int(o, "ret", io->ret);
	add_u64(o, "len", r->len);
	if (io->syscall == ZCAP_SYS_SENDMMSG || io->syscall == ZCAP_SYS_RECVMMSG)
		add_int(o, "msg", io->msg_idx);
	if (io->file_off >= 0)
		add_int(o, "offset", io->file_off);
	add_base64(o, "data", r->data, r->data_len);
	add_bool(o, "truncated", r->truncated);
	if (r->iov_limit)
		add_bool(o, "iov_limit", true);
	if (r->incomplete)
		add_bool(o, "incomplete", true);
}

static void fd_obj(struct jw *o, uint64_t real_off, const struct zrec *r)
{
	const struct zcap_fd_ev *fd = r->ev->fd;
	char names[FLAGNAMES_MAX];

	hdr_obj(o, real_off, "fd", &fd->h);

	add_str(o, "syscall", syscall_name(fd->syscall));
	add_int(o, "ret", fd->ret);
	add_int(o, "fd", fd->fd);
	add_fdinfo(o, &fd->f, r->path, "");
	switch (fd->syscall) {
	case ZCAP_SYS_OPEN:
	case ZCAP_SYS_OPENAT:
	case ZCAP_SYS_OPENAT2:
	case ZCAP_SYS_CREAT:
		if (!r->path || fd->ret < 0)
			jw_ktext(o, "path", (const char *)r->data,
				 strnlen((const char *)r->data, r->data_len));
		add_int(o, "flags", fd->oflags);
		add_flag_names(o, open_flags_format(fd->oflags, names));
		add_int(o, "mode", fd->mode);
		add_bool(o, "created", fd->ev_flags & ZCAP_FD_CREATED);
		break;
	case ZCAP_SYS_CLOSE:
		break;
	default:
		add_int(o, "fd2", fd->fd2);
		if (fd->f2.kind != ZCAP_FD_UNKNOWN)
			add_fdinfo(o, &fd->f2, r->path2, "fd2_");
		if (fd->oflags)
			add_int(o, "flags", fd->oflags);
		add_sock_facts(o, r);
	}
}

static void proc_obj(struct jw *o, uint64_t real_off, const struct zrec *r)
{
	const struct zcap_proc_ev *p = r->ev->proc;
	hdr_obj(o, real_off, "proc", &p->h);

	add_str(o, "syscall", syscall_name(p->syscall));
	add_int(o, "ppid", p->ppid);
	if (p->syscall == ZCAP_SYS_FORK) {
		add_int(o, "child_pid", p->child_pid);
		add_int(o, "child_tid", p->child_tid);
		add_bool(o, "thread", p->is_thread);
	} else if (p->syscall == ZCAP_SYS_EXEC) {
		const char *file = (const char *)r->data + p->argv_len;

		jw_kstrings(o, "argv", (const char *)r->data, p->argv_len);
		jw_ktext(o, "filename", file, strnlen(file, r->data_len - p->argv_len));
	} else if (p->exit_code & 0x7f) { /* a wait(2) status */
		add_int(o, "exit_code", 128 + (p->exit_code & 0x7f));
		add_int(o, "signal", p->exit_code & 0x7f);
	} else {
		add_int(o, "exit_code", (p->exit_code >> 8) & 0xff);
	}
}

/* Zero-copy body (user/zerocopy.c; docs/zerocopy.md). */
static void body_obj(struct jw *o, uint64_t real_off, const struct zrec *r)
{
	const struct zc_body *b = zc_body_of(r);
	const struct zcap_send_ev *sv = r->ev->send;
	static const char *const kinds[] = { "unknown", "file", "socket", "memory" };

	hdr_obj(o, real_off, "body", &sv->h);
	add_str(o, "via", r->via);
	add_u64(o, "call_id", b->call_id);
	if (b->fd >= 0)
		add_int(o, "fd", b->fd);
	add_fdinfo(o, &sv->f, NULL, "");
	jw_key(o, "source");
	jw_obj_open(o);
	add_str(o, "kind", kinds[b->src_kind <= ZC_SRC_MEMORY ? b->src_kind : 0]);
	if (b->src_kind == ZC_SRC_FILE) {
		if (r->src_path)
			jw_ktext(o, "path", r->src_path, strlen(r->src_path));
		add_u64(o, "dev", b->src_dev);
		add_u64(o, "ino", b->src_ino);
		if (r->src_off >= 0)
			add_int(o, "offset", r->src_off);
	} else if (b->src_kind == ZC_SRC_SOCKET) {
		add_fdinfo(o, &b->src_sock, NULL, "");
	} else if (b->src_kind == ZC_SRC_MEMORY) {
		add_int(o, "pid", b->src_pid);
	}
	if (b->src_how)
		add_str(o, "how", b->src_how);
	add_u64(o, "len", r->len);
	jw_obj_close(o);
	if (r->has_seq)
		add_u64(o, "tcp_seq", r->tcp_seq);
	add_u64(o, "len", r->len);
	add_base64(o, "data", r->data, r->data_len);
	add_bool(o, "truncated", r->truncated);
	if (r->no_content)
		add_str(o, "content", "not captured");
	if (r->incomplete)
		add_bool(o, "incomplete", true);
}

/* Zero-copy syscall metadata: both ends and the result. */
static void xfer_obj(struct jw *o, uint64_t real_off, const struct zrec *r)
{
	const struct zcap_xfer_ev *x = r->ev->xfer;
	hdr_obj(o, real_off, "xfer", &x->h);

	add_str(o, "syscall", syscall_name(x->syscall));
	add_u64(o, "call_id", x->call_id);
	add_int(o, "ret", x->ret);
	add_u64(o, "len", x->len);
	add_int(o, "fd_in", x->fd_in);
	add_fdinfo(o, &x->in, r->path, "in_");
	if (x->off_in >= 0)
		add_int(o, "off_in", x->off_in);
	add_int(o, "fd_out", x->fd_out);
	add_fdinfo(o, &x->out, r->path2, "out_");
	if (x->off_out >= 0)
		add_int(o, "off_out", x->off_out);
	add_int(o, "flags", x->xflags & ~(ZCAP_XF_IN_POS | ZCAP_XF_OUT_POS));
	if (x->xflags & ZCAP_XF_IN_POS)
		add_bool(o, "off_in_from_pos", true);
	if (x->xflags & ZCAP_XF_OUT_POS)
		add_bool(o, "off_out_from_pos", true);
}

/* The record in w as one line. */
static int emit(struct sink *s, struct jw *w)
{
	if (w->oom)
		return -ENOMEM;
	/* the newline goes in the buffer: one fwrite per line */
	jw_raw(w, "\n", 1);
	if (fwrite(w->buf, 1, w->len, s->out) != w->len)
		return -errno;
	return 0;
}

/* The task's cgroup and the container its path names (user/cgroups.h). */
static void add_cgroup(struct sink *s, struct jw *o, const struct zcap_hdr *h)
{
	const struct cgroup_info *cg = cgroupmap_get(s->cgroups, h->cgroup_id);

	if (!h->cgroup_id)
		return;
	add_u64(o, "cgroup_id", h->cgroup_id);
	if (!cg || !cg->path)
		return;
	jw_ktext(o, "cgroup", cg->path, strlen(cg->path));
	if (cg->ct.id[0])
		add_str(o, "container_id", cg->ct.id);
	if (cg->ct.runtime)
		add_str(o, "container_runtime", cg->ct.runtime);
	if (cg->ct.pod_uid[0])
		add_str(o, "pod_uid", cg->ct.pod_uid);
}

static struct jw *writer(struct sink *s)
{
	struct jw *w = &((struct json_sink *)s)->w;

	jw_reset(w);
	return w;
}

static int json_record(struct sink *s, const struct zrec *r)
{
	struct jw *w = writer(s);

	switch (r->ev->type) {
	case ZCAP_EV_IO:
		io_obj(w, s->mono_to_real_ns, r);
		break;
	case ZCAP_EV_FD:
		fd_obj(w, s->mono_to_real_ns, r);
		break;
	case ZCAP_EV_PROC:
		proc_obj(w, s->mono_to_real_ns, r);
		break;
	case ZCAP_EV_SEND:
		if (!zc_body_of(r))
			return 0;
		body_obj(w, s->mono_to_real_ns, r);
		break;
	case ZCAP_EV_XFER:
		xfer_obj(w, s->mono_to_real_ns, r);
		break;
	default:
		return 0;
	}
	/* the record's object is still open: its cgroup ends it */
	add_cgroup(s, w, r->ev->h);
	jw_obj_close(w);
	return emit(s, w);
}

static void drops_obj(struct jw *o, const struct zcap_stats *st)
{
	jw_key(o, "drops");
	jw_obj_open(o);
	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		add_u64(o, drop_cause_name(i), st->drops[i]);
	jw_obj_close(o);
}

static void json_drops(struct sink *s, const struct zcap_stats *st)
{
	struct jw *o = writer(s);

	jw_obj_open(o);
	add_str(o, "type", "drop");
	drops_obj(o, st);
	jw_obj_close(o);
	emit(s, o);
	fflush(s->out);
}

static int json_finish(struct sink *s, const struct zcap_stats *st)
{
	struct jw *o = writer(s);
	int rc;

	jw_obj_open(o);
	add_str(o, "type", "summary");
	add_u64(o, "records", st->records);
	add_u64(o, "bytes", st->bytes + st->body_bytes);
	add_u64(o, "body_bytes", st->body_bytes);
	drops_obj(o, st);
	add_u64(o, "incomplete", st->incomplete);
	add_u64(o, "iov_limit", st->iov_limited);
	jw_obj_close(o);
	rc = emit(s, o);
	if (fflush(s->out) && !rc)
		rc = -errno;
	return rc;
}

static void json_destroy(struct sink *s)
{
	jw_free(&((struct json_sink *)s)->w);
	free(s);
}

static const struct sink_ops json_ops = {
	.record = json_record,
	.drops = json_drops,
	.finish = json_finish,
	.destroy = json_destroy,
};

struct sink *sink_json_new(FILE *out)
{
	struct json_sink *js = calloc(1, sizeof(*js));

	if (!js)
		return NULL;
	js->s.ops = &json_ops;
	js->s.out = out;
	js->s.mono_to_real_ns = mono_to_real_offset();
	jw_init(&js->w);
	return &js->s;
}
