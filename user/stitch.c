// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pathcache.h"
#include "stitch.h"
#include "zerocopy.h"

/* More calls than this half-assembled at once means LAST chunks were lost. */
#define PENDING_MAX 512

struct pending {
	struct pending *next;
	struct zcap_io first; /* fixed part of the first chunk seen */
	uint8_t *buf;
	size_t len, cap;
	bool gap;
};

struct stitcher {
	struct pathcache *pc;
	zrec_cb cb;
	void *ctx;
	struct pending *head; /* newest first */
	struct zerocopy *zc;   /* zero-copy bodies (user/zerocopy.c) */
	unsigned int npending;
	uint64_t incomplete;
	uint64_t iov_limited;
};

struct stitcher *stitcher_new(struct pathcache *pc, zrec_cb cb, void *ctx)
{
	struct stitcher *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->pc = pc;
	st->cb = cb;
	st->ctx = ctx;
	st->zc = zerocopy_new(pc, cb, ctx);
	if (!st->zc) {
		free(st);
		return NULL;
	}
	return st;
}

void stitcher_set_busy_cb(struct stitcher *st, zc_busy_fn fn, void *ctx)
{
	zerocopy_set_busy_cb(st->zc, fn, ctx);
}

static void pending_free(struct pending *p)
{
	free(p->buf);
	free(p);
}

void stitcher_free(struct stitcher *st)
{
	if (!st)
		return;
	while (st->head) {
		struct pending *p = st->head;

		st->head = p->next;
		pending_free(p);
	}
	zerocopy_free(st->zc);
	free(st);
}

uint64_t stitcher_incomplete(const struct stitcher *st)
{
	return st->incomplete + zerocopy_incomplete(st->zc);
}

uint64_t stitcher_iov_limited(const struct stitcher *st)
{
	return st->iov_limited;
}

static bool names_a_file(unsigned int kind)
{
	return kind == ZCAP_FD_FILE || kind == ZCAP_FD_DIR || kind == ZCAP_FD_CHR ||
	       kind == ZCAP_FD_PIPE;
}

static const char *path_of(struct stitcher *st, const struct zcap_fdinfo *f, pid_t pid, int fd)
{
	if (!st->pc || !names_a_file(f->kind) || !f->ino)
		return NULL;
	/* a pipe has a path only if it is a FIFO that open() named */
	if (f->kind == ZCAP_FD_PIPE)
		return pathcache_get(st->pc, f->dev, f->ino);
	return pathcache_resolve(st->pc, f->dev, f->ino, pid, fd);
}

static int emit_io(struct stitcher *st, const struct zcap_io *io, const uint8_t *data, size_t len,
		   bool gap)
{
	struct zev ev = {
		.type = ZCAP_EV_IO,
		.h = &io->h,
		.io = io,
		.data = data,
		.data_len = len,
	};
	struct zrec r = {
		.ev = &ev,
		.data = data,
		.data_len = len,
		.len = io->total_len,
		.incomplete = gap,
	};

	r.path = path_of(st, &io->f, io->h.pid, io->fd);
	r.truncated = len < io->total_len && !gap;
	r.iov_limit = io->flags & ZCAP_F_IOV_LIMIT;
	if (gap)
		st->incomplete++;
	if (r.iov_limit)
		st->iov_limited++;
	zerocopy_note_io(st->zc, io);
	return st->cb(&r, st->ctx);
}

static struct pending **find_pending(struct stitcher *st, uint64_t call_id, uint32_t msg_idx)
{
	for (struct pending **pp = &st->head; *pp; pp = &(*pp)->next)
		if ((*pp)->first.call_id == call_id && (*pp)->first.msg_idx == msg_idx)
			return pp;
	return NULL;
}

static int append(struct pending *p, const uint8_t *data, size_t len)
{
	if (!len) /* an empty chunk: p->buf may still be NULL */
		return 0;
	if (p->len + len > p->cap) {
		size_t cap = p->cap ? p->cap : 65536;
		uint8_t *nb;

		while (cap < p->len + len)
			cap *= 2;
		nb = realloc(p->buf, cap);
		if (!nb)
			return -ENOMEM;
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return 0;
}

/* Drop the oldest pending record (tail) as incomplete. */
static int evict_oldest(struct stitcher *st)
{
	struct pending **pp = &st->head;
	struct pending *p;
	int rc;

	while ((*pp)->next)
		pp = &(*pp)->next;
	p = *pp;
	*pp = NULL;
	st->npending--;
	rc = emit_io(st, &p->first, p->buf, p->len, true);
	pending_free(p);
	return rc;
}

static int feed_io(struct stitcher *st, const struct zev *ev)
{
	const struct zcap_io *io = ev->io;
	struct pending **pp, *p;
	bool gap = io->flags & ZCAP_F_FAULT;
	int rc = 0;

	pp = find_pending(st, io->call_id, io->msg_idx);
	if (!pp) {
		/* the common case: a whole call in one record, no copy */
		if ((io->flags & ZCAP_F_LAST) && (io->flags & ZCAP_F_FIRST))
			return emit_io(st, io, ev->data, ev->data_len, gap);
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->first = *io;
		/* a middle chunk with no FIRST: the start was lost */
		p->gap = !(io->flags & ZCAP_F_FIRST) || io->chunk_off != 0;
		p->next = st->head;
		st->head = p;
		st->npending++;
		pp = &st->head;
	}
	p = *pp;
	if (io->chunk_off != p->first.chunk_off + p->len && !p->gap)
		p->gap = true;
	if (gap)
		p->gap = true;
	if (append(p, ev->data, ev->data_len))
		return -ENOMEM;
	if (io->flags & ZCAP_F_LAST) {
		*pp = p->next;
		st->npending--;
		p->first.flags |= io->flags;
		rc = emit_io(st, &p->first, p->buf, p->len, p->gap);
		pending_free(p);
	}
	while (!rc && st->npending > PENDING_MAX)
		rc = evict_oldest(st);
	return rc;
}

static int feed_fd(struct stitcher *st, const struct zev *ev)
{
	const struct zcap_fd_ev *fd = ev->fd;
	struct zrec r = { .ev = ev, .data = ev->data, .data_len = ev->data_len, .len = ev->data_len };
	char path[ZCAP_PATH_MAX];

	if ((fd->ev_flags & ZCAP_FD_PATH_ABS) && fd->f.ino && st->pc && ev->data_len) {
		memcpy(path, ev->data, ev->data_len);
		path[ev->data_len] = 0;
		if (!memchr(path, 0, ev->data_len))
			pathcache_put(st->pc, fd->f.dev, fd->f.ino, path);
	}
	r.path = path_of(st, &fd->f, fd->h.pid, fd->fd);
	r.path2 = path_of(st, &fd->f2, fd->h.pid, fd->fd2);
	return st->cb(&r, st->ctx);
}

int stitcher_feed(struct stitcher *st, const struct zev *ev)
{
	struct zrec r = { .ev = ev, .data = ev->data, .data_len = ev->data_len, .len = ev->data_len };

	switch (ev->type) {
	case ZCAP_EV_IO:
		return feed_io(st, ev);
	case ZCAP_EV_FD:
		return feed_fd(st, ev);
	case ZCAP_EV_XFER:
	case ZCAP_EV_SEND:
		return zerocopy_feed(st->zc, ev);
	default:
		return st->cb(&r, st->ctx);
	}
}

int stitcher_flush(struct stitcher *st)
{
	int rc = 0;

	while (st->head && !rc)
		rc = evict_oldest(st);
	if (!rc)
		rc = zerocopy_flush(st->zc);
	return rc;
}
