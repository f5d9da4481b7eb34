// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * zcap read of a JSON Lines capture: each record turned back into the
 * event zcap captured and printed by the text sink, so `zcap read` shows
 * what `zcap record` printed live. Every field is untrusted: a missing or
 * wrongly typed field reads as 0 / empty, a line that is not JSON ends
 * the read with its line number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "escape.h"
#include "filter_expr.h"
#include "names.h"
#include "read.h"
#include "sink.h"
#include "stitch.h"
#include "util.h"
#include "zerocopy.h"

/* One record's event and its bytes, rebuilt. */
struct rebuilt {
	union {
		struct zcap_hdr h;
		struct zcap_io io;
		struct zcap_fd_ev fd;
		struct zcap_proc_ev proc;
		struct zcap_xfer_ev xfer;
		struct zcap_send_ev send;
	};
	struct zev ev;
	struct zrec r;
	struct zc_body body; /* body records: the sink's view (zc_body_of) */
	uint8_t *data;
	char *path, *path2, *via, *how;
};

static json_object *field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int64_t num(json_object *o, const char *k, int64_t dflt)
{
	json_object *v = field(o, k);

	return v && (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_boolean))
		       ? json_object_get_int64(v)
		       : dflt;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v = field(o, k);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Standard base64 to bytes (malloc'd, *n set); NULL when malformed. */
static uint8_t *unbase64(const char *s, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *out = malloc(len / 4 * 3 + 1);
	int got;

	*n = 0;
	if (!out || len % 4) {
		free(out);
		return NULL;
	}
	got = len ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : 0;
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	while (len && s[len - 1] == '=' && got > 0) {
		len--;
		got--;
	}
	*n = got;
	return out;
}

/* A string field's bytes: K_b64 (the raw bytes, when they were not
 * UTF-8) or K. malloc'd, NUL-terminated; NULL when absent. */
static char *bytes_of(json_object *o, const char *k, size_t *n)
{
	char kb[64];
	const char *b64, *s;
	char *out;

	snprintf(kb, sizeof(kb), "%s_b64", k);
	b64 = str(o, kb);
	if (b64) {
		uint8_t *raw = unbase64(b64, n);

		if (raw) {
			raw[*n] = '\0';
			return (char *)raw;
		}
	}
	s = str(o, k);
	if (!s)
		return NULL;
	*n = strlen(s);
	out = strdup(s);
	return out;
}

static int kind_by_name(const char *name)
{
	for (int k = 0; name && k < 32; k++)
		if (!strcmp(fd_kind_name(k), name))
			return k;
	return ZCAP_FD_UNKNOWN;
}

static void addr_of(const char *s, int family, uint8_t out[ZCAP_ADDR_LEN])
{
	memset(out, 0, ZCAP_ADDR_LEN);
	if (s)
		inet_pton(family, s, out);
}

static void fdinfo_of(json_object *o, const char *prefix, struct zcap_fdinfo *f, char **path)
{
	char k[32];
	size_t n;

#define KEY(name) (snprintf(k, sizeof(k), "%s%s", prefix, name), k)
	f->kind = kind_by_name(str(o, KEY("fd_kind")));
	f->family = str(o, KEY("family")) && !strcmp(str(o, k), "inet6") ? AF_INET6 : AF_INET;
	addr_of(str(o, KEY("laddr")), f->family, f->laddr);
	addr_of(str(o, KEY("raddr")), f->family, f->raddr);
	f->lport = num(o, KEY("lport"), 0);
	f->rport = num(o, KEY("rport"), 0);
	f->ino = num(o, KEY("ino"), 0);
	f->peer_ino = num(o, KEY("peer_ino"), 0);
	if (num(o, KEY("deleted"), 0))
		f->fi_flags |= ZCAP_FI_DELETED;
	if (path)
		*path = bytes_of(o, KEY("path"), &n);
#undef KEY
}

static void hdr_of(json_object *o, unsigned int type, struct zcap_hdr *h)
{
	size_t n = 0;
	char *comm = bytes_of(o, "comm", &n);

	h->type = type;
	h->ts_ns = num(o, "ts_ns", 0);
	h->pid = num(o, "pid", 0);
	h->tid = num(o, "tid", 0);
	if (comm)
		memcpy(h->comm, comm, n < ZCAP_COMM_LEN ? n : ZCAP_COMM_LEN);
	free(comm);
}

static void data_of(struct rebuilt *b, json_object *o, const char *k)
{
	const char *s = str(o, k);

	b->data = s ? unbase64(s, &b->r.data_len) : NULL;
	b->r.data = b->data;
}

static bool rebuild_io(struct rebuilt *b, json_object *o)
{
	struct zcap_io *io = &b->io;

	hdr_of(o, ZCAP_EV_IO, &io->h);
	io->syscall = syscall_by_name(str(o, "syscall") ? str(o, "syscall") : "");
	io->fd = num(o, "fd", -1);
	fdinfo_of(o, "", &io->f, &b->path);
	io->dir = str(o, "dir") && !strcmp(str(o, "dir"), "in") ? ZCAP_DIR_IN : ZCAP_DIR_OUT;
	io->ret = num(o, "ret", 0);
	io->msg_idx = num(o, "msg", 0);
	io->file_off = num(o, "offset", -1);
	b->r.len = num(o, "len", 0);
	data_of(b, o, "data");
	b->r.truncated = num(o, "truncated", 0);
	b->r.incomplete = num(o, "incomplete", 0);
	return true;
}

/*
 * A sockaddr_jw object (user/sockaddr.c) back into the bytes it was made
 * from, at out (room for ZCAP_SOCKSTR_MAX): with sa, a sockaddr as the
 * process passed it; else a unix name's sun_path bytes as the kernel holds
 * them. Their count; 0 when absent.
 */
static size_t sockaddr_of(json_object *v, bool sa, uint8_t *out)
{
	const char *family = v ? str(v, "family") : NULL;
	size_t n = 0, off = sa ? sizeof(sa_family_t) : 0;
	sa_family_t fam;
	char *name;

	if (!v)
		return 0;
	memset(out, 0, ZCAP_SOCKSTR_MAX);
	if (!family) { /* another family: its number only */
		fam = num(v, "family", 0);
		memcpy(out, &fam, sizeof(fam));
		return sizeof(fam);
	}
	if (!strcmp(family, "inet") || !strcmp(family, "inet6")) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
		struct sockaddr_in sin = { .sin_family = AF_INET };
		const char *addr = str(v, "addr") ? str(v, "addr") : "";

		if (family[4] == '6') {
			inet_pton(AF_INET6, addr, &sin6.sin6_addr);
			sin6.sin6_port = htons(num(v, "port", 0));
			memcpy(out, &sin6, sizeof(sin6));
			return sizeof(sin6);
		}
		inet_pton(AF_INET, addr, &sin.sin_addr);
		sin.sin_port = htons(num(v, "port", 0));
		memcpy(out, &sin, sizeof(sin));
		return sizeof(sin);
	}
	fam = AF_UNIX;
	if (sa)
		memcpy(out, &fam, sizeof(fam));
	name = bytes_of(v, "path", &n);
	if (name && num(v, "abstract", 0) && n > 0) {
		/* "@name": the kernel's leading NUL, then every byte */
		n = n - 1 < ZCAP_SOCKSTR_MAX - off - 1 ? n - 1 : ZCAP_SOCKSTR_MAX - off - 1;
		memcpy(out + off + 1, name + 1, n);
		n += 1;
	} else if (name) {
		/* a path, with the NUL the kernel keeps after it */
		n = n < ZCAP_SOCKSTR_MAX - off - 1 ? n : ZCAP_SOCKSTR_MAX - off - 1;
		memcpy(out + off, name, n);
		n += 1;
	}
	free(name);
	return off + n;
}

/* connect/bind/accept's address, the unix names and peer, listen's
 * backlog: the record's data as the kernel laid it out (zcap_abi.h). */
static bool sockstrs_of(struct rebuilt *b, json_object *o)
{
	struct zcap_fd_ev *fd = &b->fd;
	uint8_t parts[3][ZCAP_SOCKSTR_MAX];
	size_t len[3];

	len[0] = sockaddr_of(field(o, "sockaddr"), true, parts[0]);
	len[1] = sockaddr_of(field(o, "unix_local"), false, parts[1]);
	len[2] = sockaddr_of(field(o, "unix_peer"), false, parts[2]);
	fd->peer_pid = num(o, "peer_pid", 0);
	fd->backlog = num(o, "backlog", 0);
	if (!len[0] && !len[1] && !len[2])
		return true;
	b->data = malloc(len[0] + len[1] + len[2]);
	if (!b->data)
		return false;
	memcpy(b->data, parts[0], len[0]);
	memcpy(b->data + len[0], parts[1], len[1]);
	memcpy(b->data + len[0] + len[1], parts[2], len[2]);
	fd->addr_len = len[0];
	fd->lname_len = len[1];
	fd->pname_len = len[2];
	b->r.data = b->data;
	b->r.data_len = len[0] + len[1] + len[2];
	return true;
}

/* A zero-copy body (sink_json's body_obj), for the text sink's body line. */
static bool rebuild_body(struct rebuilt *b, json_object *o)
{
	static const char *const kinds[] = { "unknown", "file", "socket", "memory" };
	struct zcap_send_ev *sv = &b->send;
	json_object *src = field(o, "source");
	const char *kind = src ? str(src, "kind") : NULL;
	size_t n;

	hdr_of(o, ZCAP_EV_SEND, &sv->h);
	fdinfo_of(o, "", &sv->f, NULL);
	b->body.call_id = num(o, "call_id", 0);
	b->body.fd = num(o, "fd", -1);
	for (int k = 0; kind && k <= ZC_SRC_MEMORY; k++)
		if (!strcmp(kind, kinds[k]))
			b->body.src_kind = k;
	b->r.src_off = -1;
	if (src && b->body.src_kind == ZC_SRC_FILE) {
		b->path = bytes_of(src, "path", &n);
		b->body.src_dev = num(src, "dev", 0);
		b->body.src_ino = num(src, "ino", 0);
		b->r.src_off = num(src, "offset", -1);
	} else if (src && b->body.src_kind == ZC_SRC_SOCKET) {
		fdinfo_of(src, "", &b->body.src_sock, NULL);
	} else if (src) {
		b->body.src_pid = num(src, "pid", 0);
	}
	b->how = src && str(src, "how") ? strdup(str(src, "how")) : NULL;
	b->via = strdup(str(o, "via") ? str(o, "via") : "?");
	b->body.src_how = b->how;
	b->r.via = b->via;
	b->r.src_path = b->path;
	b->r.has_seq = field(o, "tcp_seq") != NULL;
	b->r.tcp_seq = num(o, "tcp_seq", 0);
	b->r.len = num(o, "len", 0);
	data_of(b, o, "data");
	b->r.truncated = num(o, "truncated", 0);
	b->r.no_content = str(o, "content") != NULL;
	b->r.incomplete = num(o, "incomplete", 0);
	return b->via != NULL;
}

static bool rebuild_fd(struct rebuilt *b, json_object *o)
{
	struct zcap_fd_ev *fd = &b->fd;
	size_t n;

	hdr_of(o, ZCAP_EV_FD, &fd->h);
	fd->syscall = syscall_by_name(str(o, "syscall") ? str(o, "syscall") : "");
	fd->ret = num(o, "ret", 0);
	fd->fd = num(o, "fd", -1);
	fd->fd2 = num(o, "fd2", -1);
	fd->oflags = num(o, "flags", 0);
	fd->mode = num(o, "mode", 0);
	fdinfo_of(o, "", &fd->f, &b->path);
	fdinfo_of(o, "fd2_", &fd->f2, &b->path2);
	switch (fd->syscall) {
	case ZCAP_SYS_OPEN:
	case ZCAP_SYS_OPENAT:
	case ZCAP_SYS_OPENAT2:
	case ZCAP_SYS_CREAT:
		/* open's path string: the one JSON keeps */
		b->data = (uint8_t *)bytes_of(o, "path", &n);
		b->r.data = b->data;
		b->r.data_len = b->data ? n + 1 : 0;
		return true;
	default:
		return sockstrs_of(b, o);
	}
}

static bool rebuild_proc(struct rebuilt *b, json_object *o)
{
	struct zcap_proc_ev *p = &b->proc;
	json_object *argv = field(o, "argv");

	hdr_of(o, ZCAP_EV_PROC, &p->h);
	p->syscall = syscall_by_name(str(o, "syscall") ? str(o, "syscall") : "");
	p->ppid = num(o, "ppid", 0);
	p->child_pid = num(o, "child_pid", 0);
	p->child_tid = num(o, "child_tid", 0);
	p->is_thread = num(o, "thread", 0);
	if (field(o, "signal"))
		p->exit_code = num(o, "signal", 0) & 0x7f;
	else
		p->exit_code = (num(o, "exit_code", 0) & 0xff) << 8;
	if (argv && json_object_is_type(argv, json_type_array)) {
		size_t len = 0, cnt = json_object_array_length(argv);

		for (size_t i = 0; i < cnt; i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(argv, i));

			len += strlen(s ? s : "") + 1;
		}
		b->data = calloc(1, len + 1);
		if (!b->data)
			return false;
		len = 0;
		for (size_t i = 0; i < cnt; i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(argv, i));

			strcpy((char *)b->data + len, s ? s : "");
			len += strlen(s ? s : "") + 1;
		}
		p->argv_len = len;
		b->r.data = b->data;
		b->r.data_len = len;
	}
	return true;
}

static bool rebuild_xfer(struct rebuilt *b, json_object *o)
{
	struct zcap_xfer_ev *x = &b->xfer;

	hdr_of(o, ZCAP_EV_XFER, &x->h);
	x->syscall = syscall_by_name(str(o, "syscall") ? str(o, "syscall") : "");
	x->call_id = num(o, "call_id", 0);
	x->ret = num(o, "ret", 0);
	x->len = num(o, "len", 0);
	x->fd_in = num(o, "fd_in", -1);
	x->fd_out = num(o, "fd_out", -1);
	x->off_in = num(o, "off_in", -1);
	x->off_out = num(o, "off_out", -1);
	fdinfo_of(o, "in_", &x->in, &b->path);
	fdinfo_of(o, "out_", &x->out, &b->path2);
	return true;
}

static bool ports_match(const struct read_opts *o, const struct zcap_fdinfo *f)
{
	return (f->kind == ZCAP_FD_TCP || f->kind == ZCAP_FD_UDP) &&
	       read_port_wanted(o, f->lport, f->rport);
}

static bool wanted(const struct read_opts *o, const struct rebuilt *b)
{
	char comm[ZCAP_COMM_LEN * 4 + 1];

	if (o->npids && !read_pid_wanted(o, b->h.pid))
		return false;
	if (o->ncomms) {
		esc_mem(comm, b->h.comm, strnlen(b->h.comm, ZCAP_COMM_LEN), ESC_WORD);
		if (!read_comm_wanted(o, comm))
			return false;
	}
	if (!o->nports)
		return true;
	switch (b->h.type) {
	case ZCAP_EV_IO:
		return ports_match(o, &b->io.f);
	case ZCAP_EV_FD:
		return ports_match(o, &b->fd.f) || ports_match(o, &b->fd.f2);
	case ZCAP_EV_XFER:
		return ports_match(o, &b->xfer.in) || ports_match(o, &b->xfer.out);
	case ZCAP_EV_SEND:
		return ports_match(o, &b->send.f);
	default:
		return false;
	}
}

static void drops_of(json_object *o, struct zcap_stats *st)
{
	json_object *d = field(o, "drops");

	memset(st, 0, sizeof(*st));
	for (int i = 0; d && i < ZCAP_DROP_MAX; i++)
		st->drops[i] = num(d, drop_cause_name(i), 0);
}

/* "time" (RFC 3339, UTC, nanoseconds: sink_json's) in ns since the epoch;
 * false when absent or malformed. */
static bool time_of(json_object *o, uint64_t *ns)
{
	const char *s = str(o, "time"), *rest;
	struct tm tm = { 0 };
	uint64_t frac = 0;
	int digits = 0;
	time_t t;

	if (!s || !(rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) || *rest != '.')
		return false;
	for (rest++; *rest >= '0' && *rest <= '9' && digits < 9; rest++, digits++)
		frac = frac * 10 + (*rest - '0');
	if (digits != 9 || strcmp(rest, "Z") || (t = timegm(&tm)) < 0)
		return false;
	*ns = (uint64_t)t * 1000000000ULL + frac;
	return true;
}

int read_jsonl(FILE *in, FILE *out, const struct read_opts *o)
{
	bool clock_set = false;
	struct sink *sink = sink_text_new(out, o->width);
	char *line = NULL;
	size_t cap = 0;
	uint64_t lineno = 0, shown = 0;
	int rc = ZCAP_EXIT_OK;
	ssize_t len;

	if (!sink) {
		zcap_err("out of memory");
		return ZCAP_EXIT_FAIL;
	}
	sink_text_set_hex(sink, o->hex);
	/* ts_ns is CLOCK_MONOTONIC of the capturing machine's boot: its
	 * wall clock comes from the records' "time" (below); a capture
	 * without one is shown with this boot's */
	sink->mono_to_real_ns = mono_to_real_offset();
	while ((len = getline(&line, &cap, in)) > 0) {
		struct rebuilt b = { 0 };
		const struct zrec *rec;
		json_object *obj = json_tokener_parse(line);
		const char *type = obj ? str(obj, "type") : NULL;
		bool ok = true;

		lineno++;
		if (!obj || !json_object_is_type(obj, json_type_object)) {
			fflush(out);
			zcap_err("read: '%s' line %llu is not a JSON object", o->file,
				 (unsigned long long)lineno);
			json_object_put(obj);
			rc = ZCAP_EXIT_FAIL;
			break;
		}
		if (!type)
			ok = false;
		else if (!strcmp(type, "io"))
			ok = rebuild_io(&b, obj);
		else if (!strcmp(type, "fd"))
			ok = rebuild_fd(&b, obj);
		else if (!strcmp(type, "proc"))
			ok = rebuild_proc(&b, obj);
		else if (!strcmp(type, "xfer"))
			ok = rebuild_xfer(&b, obj);
		else if (!strcmp(type, "body"))
			ok = rebuild_body(&b, obj);
		else if (!strcmp(type, "drop")) {
			struct zcap_stats st;

			drops_of(obj, &st);
			sink->ops->drops(sink, &st);
			ok = false;
		} else {
			ok = false; /* the summary */
		}
		if (ok && !clock_set) {
			uint64_t real;

			if (time_of(obj, &real)) {
				sink->mono_to_real_ns = real - b.h.ts_ns;
				clock_set = true;
			}
		}
		if (ok) {
			b.ev.type = b.h.type;
			b.ev.h = &b.h;
			b.ev.raw = &b.h;
			b.ev.data = b.r.data;
			b.ev.data_len = b.r.data_len;
			b.r.ev = &b.ev;
			b.r.path = b.path;
			b.r.path2 = b.path2;
			if (b.h.type != ZCAP_EV_IO && b.h.type != ZCAP_EV_SEND)
				b.r.len = b.r.data_len;
		}
		/* a body is handed over as the zc_body the sinks know it by */
		rec = &b.r;
		if (b.h.type == ZCAP_EV_SEND) {
			b.body.r = b.r;
			rec = &b.body.r;
		}
		if (ok && wanted(o, &b) && (!o->filter || filter_expr_match_record(o->filter, rec))) {
			if (sink->ops->record(sink, rec) < 0)
				ok = false, len = -1;
			else
				shown++;
		}
		free(b.data);
		free(b.path);
		free(b.path2);
		free(b.via);
		free(b.how);
		json_object_put(obj);
		if (len < 0 || (o->max && shown >= o->max))
			break;
	}
	free(line);
	sink->ops->finish(sink, NULL);
	sink->ops->destroy(sink);
	return rc;
}
