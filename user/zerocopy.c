// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Zero-copy stitching: SEND chunks -> messages -> call bodies -> body
 * records split where the bytes' origin changes.
 *
 * On one thread, records arrive in the order the thread made them (one
 * ring buffer, reserved in program order): a message's chunks, its end
 * record, the next message, ..., and the call's XFER record at its exit.
 * So a thread holds at most one open message and one open call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>

#include "names.h"
#include "pathcache.h"
#include "zerocopy.h"

#define THREADS_MAX    4096	    /* threads with a body in progress */
#define PIPES_MAX      4096	    /* pipes with bytes of known origin */
#define FIFO_RUNS_MAX  65536	    /* origin runs one pipe remembers */
#define FIFO_BYTES_MAX (1ULL << 30) /* more than any pipe holds: the rest was missed */
#define ZC_ITER_BVEC   2	    /* zcap_send_ev.iter_type */

/* Where a run of bytes came from. */
struct origin {
	enum zc_src_kind kind;
	uint32_t dev;
	uint64_t ino;
	int64_t off; /* file offset of the run's first byte, -1 unknown */
	struct zcap_fdinfo sock;
	uint32_t pid;
	const char *how; /* static string */
};

struct orun {
	uint64_t len;
	struct origin o;
};

/* A list of runs; used as a FIFO from head. */
struct runs {
	struct orun *v;
	size_t head, n, cap;
	uint64_t bytes;
};

struct pipe_fifo {
	struct pipe_fifo *next;
	uint32_t dev;
	uint64_t ino;
	struct runs q;
};

/* Bytes of a body with one page origin (or none) and following TCP seqs. */
struct piece {
	uint64_t off, len; /* in the message or call */
	uint32_t seq;
	uint32_t dev;
	uint64_t ino; /* page origin; 0 none */
	int64_t src_off;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct msg {
	bool open;
	bool gap, nocontent;
	struct zcap_send_ev first;
	struct buf data; /* captured bytes, from offset 0 */
	struct pieces pieces;
};

struct call {
	bool open;
	bool gap, nocontent;
	struct zcap_send_ev first;
	struct buf data; /* captured prefix of the body */
	uint64_t len;	 /* bytes the kernel accepted */
	struct pieces pieces;
};

struct thread {
	struct thread *next;
	uint32_t tid;
	struct msg m;
	struct call c;
	bool busy; /* said busy on busy_sock (zc_busy_fn) */
	struct zcap_fdinfo busy_sock;
};

struct zerocopy {
	struct pathcache *pc;
	zrec_cb cb;
	void *ctx;
	struct thread *threads;
	unsigned int nthreads;
	struct pipe_fifo *pipes;
	unsigned int npipes;
	uint64_t incomplete;
	/* a transfer's origins, kept between calls: one malloc per sendfile
	 * was the consumer's largest cost at 1 KiB bodies */
	struct runs xfer_runs;
	zc_busy_fn busy_fn;
	void *busy_ctx;
};

const struct zc_body *zc_body_of(const struct zrec *r)
{
	if (!r || !r->ev || r->ev->type != ZCAP_EV_SEND || !r->via)
		return NULL;
	return (const struct zc_body *)r;
}

struct zerocopy *zerocopy_new(struct pathcache *pc, zrec_cb cb, void *ctx)
{
	struct zerocopy *zc = calloc(1, sizeof(*zc));

	if (!zc)
		return NULL;
	zc->pc = pc;
	zc->cb = cb;
	zc->ctx = ctx;
	return zc;
}

void zerocopy_set_busy_cb(struct zerocopy *zc, zc_busy_fn fn, void *ctx)
{
	zc->busy_fn = fn;
	zc->busy_ctx = ctx;
}

/* The thread sends on sock now (NULL: on nothing). */
static void thread_busy(struct zerocopy *zc, struct thread *t, const struct zcap_fdinfo *sock)
{
	if (t->busy && sock && !memcmp(&t->busy_sock, sock, sizeof(*sock)))
		return;
	if (t->busy && zc->busy_fn)
		zc->busy_fn(zc->busy_ctx, &t->busy_sock, false);
	t->busy = sock != NULL;
	if (!sock)
		return;
	t->busy_sock = *sock;
	if (zc->busy_fn)
		zc->busy_fn(zc->busy_ctx, sock, true);
}

static void thread_free(struct thread *t)
{
	free(t->m.data.p);
	free(t->m.pieces.v);
	free(t->c.data.p);
	free(t->c.pieces.v);
	free(t);
}

void zerocopy_free(struct zerocopy *zc)
{
	if (!zc)
		return;
	while (zc->threads) {
		struct thread *t = zc->threads;

		zc->threads = t->next;
		thread_free(t);
	}
	while (zc->pipes) {
		struct pipe_fifo *p = zc->pipes;

		zc->pipes = p->next;
		free(p->q.v);
		free(p);
	}
	free(zc->xfer_runs.v);
	free(zc);
}

uint64_t zerocopy_incomplete(const struct zerocopy *zc)
{
	return zc->incomplete;
}

/* ---- small containers ---------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int buf_add(struct buf *b, const uint8_t *p, size_t n)
{
	if (!n)
		return 0;
	if (grow((void **)&b->p, &b->cap, b->len + n, 1))
		return -ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int pieces_add(struct pieces *ps, const struct piece *p)
{
	if (!p->len)
		return 0;
	if (grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof(*p)))
		return -ENOMEM;
	ps->v[ps->n++] = *p;
	return 0;
}

static int runs_push(struct runs *r, uint64_t len, const struct origin *o)
{
	struct orun *last = r->n > r->head ? &r->v[r->n - 1] : NULL;

	if (!len)
		return 0;
	/* a run continuing the last one merges into it */
	if (last && last->o.kind == o->kind && last->o.dev == o->dev && last->o.ino == o->ino &&
	    last->o.pid == o->pid && last->o.how == o->how &&
	    !memcmp(&last->o.sock, &o->sock, sizeof(o->sock)) &&
	    ((o->off < 0 && last->o.off < 0) ||
	     (last->o.off >= 0 && o->off == last->o.off + (int64_t)last->len))) {
		last->len += len;
		r->bytes += len;
		return 0;
	}
	if (r->head && r->n == r->cap) { /* reuse the consumed front */
		memmove(r->v, r->v + r->head, (r->n - r->head) * sizeof(*r->v));
		r->n -= r->head;
		r->head = 0;
	}
	if (grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v)))
		return -ENOMEM;
	r->v[r->n].len = len;
	r->v[r->n].o = *o;
	r->n++;
	r->bytes += len;
	return 0;
}

/* Move (or, with keep, copy) the first len bytes' runs of src to dst;
 * bytes src does not have are of unknown origin. */
static int runs_take(struct runs *src, uint64_t len, struct runs *dst, bool keep)
{
	static const struct origin unknown = {.kind = ZC_SRC_UNKNOWN, .off = -1};
	size_t i = src ? src->head : 0;
	int err = 0;

	while (len && src && i < src->n && !err) {
		struct orun *run = &src->v[i];
		uint64_t n = run->len < len ? run->len : len;

		err = dst ? runs_push(dst, n, &run->o) : 0;
		len -= n;
		if (keep) {
			i++;
			continue;
		}
		src->bytes -= n;
		if (n == run->len) {
			src->head++;
			i++;
		} else {
			run->len -= n;
			if (run->o.off >= 0)
				run->o.off += n;
		}
	}
	if (src && src->head == src->n)
		src->head = src->n = 0;
	if (len && dst && !err)
		err = runs_push(dst, len, &unknown);
	return err;
}

/* ---- pipes --------------------------------------------------------------- */

static struct pipe_fifo *pipe_of(struct zerocopy *zc, const struct zcap_fdinfo *f, bool create)
{
	struct pipe_fifo **pp, *p;

	if (f->kind != ZCAP_FD_PIPE || !f->ino)
		return NULL;
	for (pp = &zc->pipes; *pp; pp = &(*pp)->next) {
		if ((*pp)->dev == f->dev && (*pp)->ino == f->ino) {
			p = *pp;
			if (pp != &zc->pipes) { /* most recently used first */
				*pp = p->next;
				p->next = zc->pipes;
				zc->pipes = p;
			}
			return p;
		}
	}
	if (!create)
		return NULL;
	if (zc->npipes >= PIPES_MAX) { /* forget the least recently used */
		for (pp = &zc->pipes; (*pp)->next; pp = &(*pp)->next)
			;
		free((*pp)->q.v);
		free(*pp);
		*pp = NULL;
		zc->npipes--;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->dev = f->dev;
	p->ino = f->ino;
	p->next = zc->pipes;
	zc->pipes = p;
	zc->npipes++;
	return p;
}

/* Bytes entered a pipe. */
static void pipe_push(struct zerocopy *zc, const struct zcap_fdinfo *f, uint64_t len,
		      const struct origin *o)
{
	struct pipe_fifo *p = pipe_of(zc, f, true);

	if (!p || runs_push(&p->q, len, o))
		return;
	/* more than a pipe can hold: whoever read the rest was not seen */
	while (p->q.bytes > FIFO_BYTES_MAX || p->q.n - p->q.head > FIFO_RUNS_MAX)
		runs_take(&p->q, p->q.v[p->q.head].len, NULL, false);
}

/* Bytes left a pipe: their runs into dst (NULL: dropped). */
static int pipe_pop(struct zerocopy *zc, const struct zcap_fdinfo *f, uint64_t len,
		    struct runs *dst, bool keep)
{
	struct pipe_fifo *p = pipe_of(zc, f, false);

	return runs_take(p ? &p->q : NULL, len, dst, keep);
}

void zerocopy_note_io(struct zerocopy *zc, const struct zcap_io *io)
{
	struct origin o = {.kind = ZC_SRC_MEMORY, .off = -1, .how = "write"};

	/* vmsplice's own chunks: its XFER record moves the pipe's bytes */
	if (!zc || io->f.kind != ZCAP_FD_PIPE || io->ret <= 0 || io->syscall == ZCAP_SYS_VMSPLICE)
		return;
	if (io->dir == ZCAP_DIR_OUT) {
		o.pid = io->h.pid;
		pipe_push(zc, &io->f, io->ret, &o);
	} else if (io->dir == ZCAP_DIR_IN) {
		pipe_pop(zc, &io->f, io->ret, NULL, false);
	}
}

/* ---- threads ------------------------------------------------------------- */

static struct thread *thread_of(struct zerocopy *zc, uint32_t tid, bool create)
{
	struct thread *t;

	for (t = zc->threads; t; t = t->next)
		if (t->tid == tid)
			return t;
	if (!create || zc->nthreads >= THREADS_MAX)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->next = zc->threads;
	zc->threads = t;
	zc->nthreads++;
	return t;
}

/* Forget a thread with nothing in progress. */
static void thread_idle(struct zerocopy *zc, struct thread *t)
{
	struct thread **pp;

	if (t->m.open || t->c.open)
		return;
	thread_busy(zc, t, NULL);
	for (pp = &zc->threads; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			zc->nthreads--;
			thread_free(t);
			return;
		}
	}
}

/* ---- body records -------------------------------------------------------- */

static const char *via_name(uint16_t sc)
{
	return sc == ZCAP_SYS_IOURING || sc == ZCAP_SYS_NONE ? "io_uring" : syscall_name(sc);
}

static bool same_origin_follows(const struct origin *a, uint64_t alen, const struct origin *b)
{
	if (a->kind != b->kind || a->dev != b->dev || a->ino != b->ino || a->pid != b->pid ||
	    a->how != b->how || memcmp(&a->sock, &b->sock, sizeof(a->sock)))
		return false;
	if (a->off < 0 || b->off < 0)
		return a->off < 0 && b->off < 0;
	return b->off == a->off + (int64_t)alen;
}

struct segment {
	uint64_t off, len;
	uint32_t seq;
	struct origin o;
};

static int emit_segment(struct zerocopy *zc, struct call *c, const struct segment *sg, int fd)
{
	struct zc_body b;
	struct zev ev;
	struct zcap_send_ev fixed = c->first;
	size_t have = 0;

	if (sg->off < c->data.len)
		have = c->data.len - sg->off < sg->len ? c->data.len - sg->off : sg->len;
	fixed.total_len = sg->len;
	fixed.chunk_off = sg->off;
	fixed.seq = sg->seq;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZCAP_EV_SEND;
	ev.h = &fixed.h;
	ev.send = &fixed;
	ev.data = have ? c->data.p + sg->off : NULL;
	ev.data_len = have;
	memset(&b, 0, sizeof(b));
	b.r.ev = &ev;
	b.r.data = ev.data;
	b.r.data_len = have;
	b.r.len = sg->len;
	/* without content nothing was cut: nothing was read */
	b.r.no_content = c->nocontent && have < sg->len;
	b.r.truncated = have < sg->len && !b.r.no_content;
	b.r.incomplete = c->gap;
	b.r.via = via_name(c->first.syscall);
	b.r.has_seq = true;
	b.r.tcp_seq = sg->seq;
	b.r.src_off = -1;
	b.call_id = c->first.call_id;
	b.fd = fd;
	b.src_kind = sg->o.kind;
	b.src_pid = sg->o.pid;
	b.src_how = sg->o.how;
	if (sg->o.kind == ZC_SRC_FILE) {
		b.src_dev = sg->o.dev;
		b.src_ino = sg->o.ino;
		b.r.src_off = sg->o.off;
		b.r.src_path = zc->pc ? pathcache_get(zc->pc, sg->o.dev, sg->o.ino) : NULL;
	} else if (sg->o.kind == ZC_SRC_SOCKET) {
		b.src_sock = sg->o.sock;
	}
	if (c->gap)
		zc->incomplete++;
	return zc->cb(&b.r, zc->ctx);
}

/* Origins of a piece: its page's file, else the runs (from the call's
 * XFER: its input file or what its input pipe held) over its range. */
static int piece_segments(struct zerocopy *zc, struct call *c, const struct piece *p,
			  const struct runs *r, struct segment *cur, bool *have_cur, int fd)
{
	uint64_t pos = p->off, end = p->off + p->len;
	int rc;

	while (pos < end) {
		struct segment sg = {.off = pos, .seq = p->seq + (uint32_t)(pos - p->off)};
		uint64_t n = end - pos;

		sg.o.off = -1;
		if (p->ino) {
			sg.o.kind = ZC_SRC_FILE;
			sg.o.dev = p->dev;
			sg.o.ino = p->ino;
			sg.o.off = p->src_off + (int64_t)(pos - p->off);
		} else if (r) {
			uint64_t at = 0;

			for (size_t i = r->head; i < r->n; at += r->v[i].len, i++) {
				if (pos >= at + r->v[i].len)
					continue;
				sg.o = r->v[i].o;
				if (sg.o.off >= 0)
					sg.o.off += pos - at;
				if (n > at + r->v[i].len - pos)
					n = at + r->v[i].len - pos;
				break;
			}
		}
		sg.len = n;
		pos += n;
		if (*have_cur && cur->off + cur->len == sg.off &&
		    cur->seq + (uint32_t)cur->len == sg.seq &&
		    same_origin_follows(&cur->o, cur->len, &sg.o)) {
			cur->len += sg.len;
			continue;
		}
		if (*have_cur && (rc = emit_segment(zc, c, cur, fd)))
			return rc;
		*cur = sg;
		*have_cur = true;
	}
	return 0;
}

static void call_reset(struct call *c)
{
	c->open = false;
	c->gap = c->nocontent = false;
	c->data.len = 0;
	c->len = 0;
	c->pieces.n = 0;
}

/* Emit the call's body, split by origin; r: origins from its XFER. */
static int call_flush(struct zerocopy *zc, struct thread *t, const struct runs *r, int fd)
{
	struct call *c = &t->c;
	struct segment cur;
	bool have_cur = false;
	uint64_t covered = 0;
	int rc = 0;

	if (!c->open)
		return 0;
	for (size_t i = 0; i < c->pieces.n && !rc; i++) {
		if (c->pieces.v[i].off != covered)
			c->gap = true;
		covered = c->pieces.v[i].off + c->pieces.v[i].len;
		rc = piece_segments(zc, c, &c->pieces.v[i], r, &cur, &have_cur, fd);
	}
	if (covered != c->len)
		c->gap = true;
	if (!rc && have_cur)
		rc = emit_segment(zc, c, &cur, fd);
	call_reset(c);
	return rc;
}

/* ---- messages ------------------------------------------------------------ */

static void msg_start(struct msg *m, const struct zcap_send_ev *s, bool gap)
{
	m->open = true;
	m->gap = gap;
	m->nocontent = false;
	m->first = *s;
	m->data.len = 0;
	m->pieces.n = 0;
}

/* The message's result: keep its first `accepted` bytes in the call. */
static int msg_end(struct zerocopy *zc, struct thread *t, uint64_t accepted)
{
	struct msg *m = &t->m;
	struct call *c = &t->c;
	uint64_t captured = m->data.len < accepted ? m->data.len : accepted;
	int rc = 0;

	m->open = false;
	/* a message of another call: that call's XFER record was lost */
	if (c->open && c->first.call_id != m->first.call_id)
		rc = call_flush(zc, t, NULL, -1);
	if (rc)
		return rc;
	if (!c->open) {
		call_reset(c);
		c->open = true;
		c->first = m->first;
	}
	c->gap |= m->gap;
	c->nocontent |= m->nocontent;
	/* data is kept as a prefix of the body: after a cut, nothing more */
	if (c->data.len == c->len && buf_add(&c->data, m->data.p, captured))
		return -ENOMEM;
	for (size_t i = 0; i < m->pieces.n; i++) {
		struct piece p = m->pieces.v[i];

		if (p.off >= captured)
			break;
		if (p.off + p.len > captured)
			p.len = captured - p.off;
		p.off += c->len;
		if (pieces_add(&c->pieces, &p))
			return -ENOMEM;
	}
	if (captured < accepted) {
		struct piece tail = {
			.off = c->len + captured,
			.len = accepted - captured,
			.seq = m->first.seq + (uint32_t)captured,
		};

		if (pieces_add(&c->pieces, &tail))
			return -ENOMEM;
	}
	c->len += accepted;
	/* no syscall (io_uring): each message is a body of its own; a user
	 * buffer's bytes come from the process's memory */
	if (!c->first.call_id) {
		struct runs r = {0};
		struct origin o = {
			.kind = ZC_SRC_MEMORY, .off = -1, .pid = c->first.h.pid, .how = "io_uring"};

		if (c->first.iter_type != ZC_ITER_BVEC && runs_push(&r, c->len, &o))
			return -ENOMEM;
		rc = call_flush(zc, t, r.n ? &r : NULL, -1);
		free(r.v);
	}
	return rc;
}

static int feed_send(struct zerocopy *zc, const struct zev *ev)
{
	const struct zcap_send_ev *s = ev->send;
	struct thread *t = thread_of(zc, s->h.tid, true);
	struct msg *m;
	int rc = 0;

	if (!t)
		return -ENOMEM;
	m = &t->m;
	if (s->flags & ZCAP_F_LAST) {
		if (!m->open) /* its chunks were lost */
			msg_start(m, s, true);
		rc = msg_end(zc, t, s->total_len);
		thread_idle(zc, t);
		return rc;
	}
	if (s->flags & ZCAP_F_FIRST) {
		/* the previous message never reported its result: keep it all */
		if (m->open && (rc = msg_end(zc, t, m->data.len)))
			return rc;
		msg_start(m, s, false);
	} else if (!m->open) {
		msg_start(m, s, true);
	}
	thread_busy(zc, t, &s->f);
	if (s->flags & ZCAP_F_NOCONTENT)
		m->nocontent = true;
	if (s->flags & ZCAP_F_FAULT)
		m->gap = true;
	if (!ev->data_len)
		return 0;
	if (s->chunk_off != m->data.len) {
		m->gap = true; /* a chunk went missing: keep what follows on */
		return 0;
	}
	{
		struct piece p = {
			.off = s->chunk_off,
			.len = ev->data_len,
			.seq = s->seq,
			.dev = s->src_dev,
			.ino = s->src_ino,
			.src_off = s->src_off,
		};
		struct piece *last = m->pieces.n ? &m->pieces.v[m->pieces.n - 1] : NULL;

		if (buf_add(&m->data, ev->data, ev->data_len))
			return -ENOMEM;
		/* chunks continuing the same file range make one piece */
		if (last && last->off + last->len == p.off &&
		    last->seq + (uint32_t)last->len == p.seq && last->ino == p.ino &&
		    last->dev == p.dev &&
		    (!p.ino || last->src_off + (int64_t)last->len == p.src_off)) {
			last->len += p.len;
			return 0;
		}
		return pieces_add(&m->pieces, &p) ? -ENOMEM : 0;
	}
}

/* ---- XFER records -------------------------------------------------------- */

static bool is_socket(unsigned int kind)
{
	return kind == ZCAP_FD_TCP || kind == ZCAP_FD_UDP || kind == ZCAP_FD_UNIX ||
	       kind == ZCAP_FD_SOCK_OTHER;
}

static bool is_tee(const struct zcap_xfer_ev *x)
{
	return x->syscall == ZCAP_SYS_TEE ||
	       (x->syscall == ZCAP_SYS_IOURING && x->xflags == IORING_OP_TEE);
}

/* Where the call's bytes came from, as runs over [0, ret): the input
 * file, or what the input pipe held (consumed, unless tee). */
static int xfer_origins(struct zerocopy *zc, const struct zcap_xfer_ev *x, struct runs *r)
{
	struct origin o = {.kind = ZC_SRC_UNKNOWN, .off = -1};
	uint64_t n = x->ret > 0 ? x->ret : 0;

	if (!n)
		return 0;
	switch (x->in.kind) {
	case ZCAP_FD_FILE:
	case ZCAP_FD_CHR:
		o.kind = ZC_SRC_FILE;
		o.dev = x->in.dev;
		o.ino = x->in.ino;
		o.off = x->in.kind == ZCAP_FD_FILE ? x->off_in : -1;
		break;
	case ZCAP_FD_PIPE:
		return pipe_pop(zc, &x->in, n, r, is_tee(x));
	case ZCAP_FD_UNKNOWN:
		if (x->syscall == ZCAP_SYS_VMSPLICE) {
			o.kind = ZC_SRC_MEMORY;
			o.pid = x->h.pid;
			o.how = "vmsplice";
		}
		break;
	default:
		if (is_socket(x->in.kind)) {
			o.kind = ZC_SRC_SOCKET;
			o.sock = x->in;
			o.how = "splice";
		}
	}
	return runs_push(r, n, &o);
}

static const char *path_of(struct zerocopy *zc, const struct zcap_fdinfo *f, pid_t pid, int fd)
{
	if (!zc->pc || !f->ino)
		return NULL;
	if (f->kind == ZCAP_FD_PIPE)
		return pathcache_get(zc->pc, f->dev, f->ino);
	if (f->kind != ZCAP_FD_FILE && f->kind != ZCAP_FD_CHR && f->kind != ZCAP_FD_DIR)
		return NULL;
	return pathcache_resolve(zc->pc, f->dev, f->ino, pid, fd);
}

static int feed_xfer(struct zerocopy *zc, const struct zev *ev)
{
	const struct zcap_xfer_ev *x = ev->xfer;
	struct thread *t = thread_of(zc, x->h.tid, false);
	struct zrec r = {.ev = ev, .data = ev->data, .data_len = ev->data_len};
	struct runs origins = zc->xfer_runs;
	int rc = 0;

	origins.head = origins.n = 0;
	origins.bytes = 0;
	/* name the files first: the bodies' sources use the same cache; the
	 * kernel sends the input file's path along */
	if (zc->pc && x->in.kind == ZCAP_FD_FILE && x->in.ino && ev->data_len &&
	    ev->data_len < ZCAP_PATH_MAX && ev->data[0] == '/' &&
	    !memchr(ev->data, 0, ev->data_len)) {
		char path[ZCAP_PATH_MAX];

		memcpy(path, ev->data, ev->data_len);
		path[ev->data_len] = 0;
		pathcache_put(zc->pc, x->in.dev, x->in.ino, path);
	}
	r.path = path_of(zc, &x->in, x->h.pid, x->fd_in);
	r.path2 = path_of(zc, &x->out, x->h.pid, x->fd_out);
	r.len = x->ret > 0 ? x->ret : 0;
	rc = xfer_origins(zc, x, &origins);
	if (!rc && t && t->m.open && t->m.first.call_id == x->call_id)
		rc = msg_end(zc, t, t->m.data.len); /* its result record was lost */
	if (!rc && t && t->c.open && t->c.first.call_id == x->call_id) {
		if (t->c.len != r.len)
			t->c.gap = true;
		rc = call_flush(zc, t, &origins, x->fd_out);
	}
	if (t)
		thread_idle(zc, t);
	/* bytes into a pipe carry their origin with them */
	if (!rc && x->out.kind == ZCAP_FD_PIPE && x->ret > 0)
		for (size_t i = origins.head; i < origins.n; i++)
			pipe_push(zc, &x->out, origins.v[i].len, &origins.v[i].o);
	zc->xfer_runs = origins; /* its array, maybe grown, for the next call */
	if (rc || (x->xflags & ZCAP_XF_CONTEXT))
		return rc;
	return zc->cb(&r, zc->ctx);
}

int zerocopy_feed(struct zerocopy *zc, const struct zev *ev)
{
	switch (ev->type) {
	case ZCAP_EV_SEND:
		return feed_send(zc, ev);
	case ZCAP_EV_XFER:
		return feed_xfer(zc, ev);
	default:
		return 0;
	}
}

int zerocopy_flush(struct zerocopy *zc)
{
	int rc = 0;

	while (zc->threads && !rc) {
		struct thread *t = zc->threads;

		if (t->m.open) {
			t->m.gap = true;
			rc = msg_end(zc, t, t->m.data.len);
		}
		if (!rc && t->c.open) {
			t->c.gap = true;
			rc = call_flush(zc, t, NULL, -1);
		}
		t->m.open = t->c.open = false;
		thread_idle(zc, t);
	}
	return rc;
}
