// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* JSON Lines sink: one object per record; field names are a stable
 * interface (docs/event-schema.md). */
#include <errno.h>
#include <limits.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sys/socket.h>

#include "addr.h"
#include "cgroups.h"
#include "jtext.h"
#include "names.h"
#include "sink.h"
#include "zerocopy.h"

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void add_base64(json_object *o, const char *k, const uint8_t *data, size_t len)
{
	json_object_object_add(o, k, jtext_base64(data, len));
}

static json_object *hdr_obj(const char *type, const struct zcap_hdr *h)
{
	json_object *o = json_object_new_object();

	add_str(o, "type", type);
	add_u64(o, "ts_ns", h->ts_ns);
	add_int(o, "pid", h->pid);
	add_int(o, "tid", h->tid);
	jtext_add(o, "comm", h->comm, strnlen(h->comm, ZCAP_COMM_LEN));
	return o;
}

/* The fd's identity: path for files, endpoints for sockets. */
static void add_fdinfo(json_object *o, const struct zcap_fdinfo *f, const char *path,
		       const char *prefix)
{
	char k[32], a[ZCAP_ADDRSTRLEN];

	snprintf(k, sizeof(k), "%sfd_kind", prefix);
	add_str(o, k, fd_kind_name(f->kind));
	if (path) {
		snprintf(k, sizeof(k), "%spath", prefix);
		jtext_add_str(o, k, path);
	}
	if (f->kind == ZCAP_FD_TCP || f->kind == ZCAP_FD_UDP) {
		snprintf(k, sizeof(k), "%sfamily", prefix);
		add_str(o, k, f->family == AF_INET6 ? "inet6" : "inet");
		snprintf(k, sizeof(k), "%sladdr", prefix);
		add_str(o, k, addr_format(f->family, f->laddr, a, sizeof(a)));
		snprintf(k, sizeof(k), "%slport", prefix);
		add_int(o, k, f->lport);
		snprintf(k, sizeof(k), "%sraddr", prefix);
		add_str(o, k, addr_format(f->family, f->raddr, a, sizeof(a)));
		snprintf(k, sizeof(k), "%srport", prefix);
		add_int(o, k, f->rport);
	}
	if (f->kind == ZCAP_FD_PIPE || f->kind == ZCAP_FD_UNIX) {
		snprintf(k, sizeof(k), "%sino", prefix);
		add_u64(o, k, f->ino);
	}
	if (f->peer_ino) {
		snprintf(k, sizeof(k), "%speer_ino", prefix);
		add_u64(o, k, f->peer_ino);
	}
}

static json_object *io_obj(const struct zrec *r)
{
	const struct zcap_io *io = r->ev->io;
	json_object *o = hdr_obj("io", &io->h);

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
	if (r->incomplete)
		add_bool(o, "incomplete", true);
	return o;
}

static json_object *fd_obj(const struct zrec *r)
{
	const struct zcap_fd_ev *fd = r->ev->fd;
	json_object *o = hdr_obj("fd", &fd->h);

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
			jtext_add(o, "path", (const char *)r->data,
				  strnlen((const char *)r->data, r->data_len));
		add_int(o, "flags", fd->oflags);
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
	}
	return o;
}

static json_object *proc_obj(const struct zrec *r)
{
	const struct zcap_proc_ev *p = r->ev->proc;
	json_object *o = hdr_obj("proc", &p->h);

	add_str(o, "syscall", syscall_name(p->syscall));
	add_int(o, "ppid", p->ppid);
	if (p->syscall == ZCAP_SYS_FORK) {
		add_int(o, "child_pid", p->child_pid);
		add_int(o, "child_tid", p->child_tid);
		add_bool(o, "thread", p->is_thread);
	} else if (p->syscall == ZCAP_SYS_EXEC) {
		const char *file = (const char *)r->data + p->argv_len;

		jtext_add_strings(o, "argv", (const char *)r->data, p->argv_len);
		jtext_add(o, "filename", file, strnlen(file, r->data_len - p->argv_len));
	} else if (p->exit_code & 0x7f) { /* a wait(2) status */
		add_int(o, "exit_code", 128 + (p->exit_code & 0x7f));
		add_int(o, "signal", p->exit_code & 0x7f);
	} else {
		add_int(o, "exit_code", (p->exit_code >> 8) & 0xff);
	}
	return o;
}

/* Zero-copy body (user/zerocopy.c; docs/zerocopy.md). */
static json_object *body_obj(const struct zrec *r)
{
	const struct zc_body *b = zc_body_of(r);
	const struct zcap_send_ev *sv = r->ev->send;
	json_object *o = hdr_obj("body", &sv->h), *src = json_object_new_object();
	static const char *const kinds[] = { "unknown", "file", "socket", "memory" };

	add_str(o, "via", r->via);
	add_u64(o, "call_id", b->call_id);
	if (b->fd >= 0)
		add_int(o, "fd", b->fd);
	add_fdinfo(o, &sv->f, NULL, "");
	add_str(src, "kind", kinds[b->src_kind <= ZC_SRC_MEMORY ? b->src_kind : 0]);
	if (b->src_kind == ZC_SRC_FILE) {
		jtext_add_str(src, "path", r->src_path);
		add_u64(src, "dev", b->src_dev);
		add_u64(src, "ino", b->src_ino);
		if (r->src_off >= 0)
			add_int(src, "offset", r->src_off);
	} else if (b->src_kind == ZC_SRC_SOCKET) {
		add_fdinfo(src, &b->src_sock, NULL, "");
	} else if (b->src_kind == ZC_SRC_MEMORY) {
		add_int(src, "pid", b->src_pid);
	}
	if (b->src_how)
		add_str(src, "how", b->src_how);
	add_u64(src, "len", r->len);
	json_object_object_add(o, "source", src);
	if (r->has_seq)
		add_u64(o, "tcp_seq", r->tcp_seq);
	add_u64(o, "len", r->len);
	add_base64(o, "data", r->data, r->data_len);
	add_bool(o, "truncated", r->truncated);
	if (r->no_content)
		add_str(o, "content", "not captured");
	if (r->incomplete)
		add_bool(o, "incomplete", true);
	return o;
}

/* Zero-copy syscall metadata: both ends and the result. */
static json_object *xfer_obj(const struct zrec *r)
{
	const struct zcap_xfer_ev *x = r->ev->xfer;
	json_object *o = hdr_obj("xfer", &x->h);

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
	return o;
}

static int emit(struct sink *s, json_object *o)
{
	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(txt) + 1;
	int rc = 0;

	/*
	 * With `-- CMD` both zcap and CMD may write to the same pipe: flush
	 * before a line would straddle PIPE_BUF, so each write(2) carries whole
	 * lines and (up to PIPE_BUF) cannot be interleaved with CMD's output.
	 */
	if (__fpending(s->out) && __fpending(s->out) + len > PIPE_BUF && fflush(s->out))
		rc = -errno;
	if (!rc && fprintf(s->out, "%s\n", txt) < 0)
		rc = -errno;

	json_object_put(o);
	return rc;
}

/* The task's cgroup and the container its path names (user/cgroups.h). */
static void add_cgroup(struct sink *s, json_object *o, const struct zcap_hdr *h)
{
	const struct cgroup_info *cg = cgroupmap_get(s->cgroups, h->cgroup_id);

	if (!h->cgroup_id)
		return;
	add_u64(o, "cgroup_id", h->cgroup_id);
	if (!cg || !cg->path)
		return;
	jtext_add_str(o, "cgroup", cg->path);
	if (cg->ct.id[0])
		add_str(o, "container_id", cg->ct.id);
	if (cg->ct.runtime)
		add_str(o, "container_runtime", cg->ct.runtime);
	if (cg->ct.pod_uid[0])
		add_str(o, "pod_uid", cg->ct.pod_uid);
}

static int json_record(struct sink *s, const struct zrec *r)
{
	json_object *o;

	switch (r->ev->type) {
	case ZCAP_EV_IO:
		o = io_obj(r);
		break;
	case ZCAP_EV_FD:
		o = fd_obj(r);
		break;
	case ZCAP_EV_PROC:
		o = proc_obj(r);
		break;
	case ZCAP_EV_SEND:
		if (!zc_body_of(r))
			return 0;
		o = body_obj(r);
		break;
	case ZCAP_EV_XFER:
		o = xfer_obj(r);
		break;
	default:
		return 0;
	}
	if (o)
		add_cgroup(s, o, r->ev->h);
	return emit(s, o);
}

static json_object *drops_obj(const struct zcap_stats *st)
{
	json_object *d = json_object_new_object();

	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		add_u64(d, drop_cause_name(i), st->drops[i]);
	return d;
}

static void json_drops(struct sink *s, const struct zcap_stats *st)
{
	json_object *o = json_object_new_object();

	add_str(o, "type", "drop");
	json_object_object_add(o, "drops", drops_obj(st));
	emit(s, o);
	fflush(s->out);
}

static int json_finish(struct sink *s, const struct zcap_stats *st)
{
	json_object *o = json_object_new_object();

	add_str(o, "type", "summary");
	add_u64(o, "records", st->records);
	add_u64(o, "bytes", st->bytes + st->body_bytes);
	add_u64(o, "body_bytes", st->body_bytes);
	json_object_object_add(o, "drops", drops_obj(st));
	add_u64(o, "incomplete", st->incomplete);
	emit(s, o);
	return fflush(s->out) ? -errno : 0;
}

static void json_destroy(struct sink *s)
{
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
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ops = &json_ops;
	s->out = out;
	return s;
}
