// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Stitcher: chunks of one call join in order; interleaved calls stay
 * apart; lost chunks make a record incomplete, never silently short. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pathcache.h"
#include "stitch.h"

struct got {
	int n;
	uint64_t call[8];
	uint8_t data[8][256];
	size_t len[8];
	uint64_t total[8];
	bool trunc[8], incomplete[8];
	const char *path[8];
};

static int collect(const struct zrec *r, void *ctx)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	g->call[g->n] = r->ev->type == ZCAP_EV_IO ? r->ev->io->call_id : 0;
	assert_true(r->data_len <= sizeof(g->data[0]));
	if (r->data_len) /* an XFER record has no data: NULL */
		memcpy(g->data[g->n], r->data, r->data_len);
	g->len[g->n] = r->data_len;
	g->total[g->n] = r->len;
	g->trunc[g->n] = r->truncated;
	g->incomplete[g->n] = r->incomplete;
	g->path[g->n] = r->path;
	g->n++;
	return 0;
}

static uint8_t rec[sizeof(struct zcap_io) + 64];

static void set_hdr(struct zcap_hdr *h, uint16_t type, uint16_t hdr_len, size_t data_len,
		    uint32_t tid)
{
	h->type = type;
	h->hdr_len = hdr_len;
	h->data_len = data_len;
	h->pid = h->tid = tid;
}

/* Feed one chunk of call `call` covering [off, off+len) of "total" bytes. */
#define FEED_INO 4242

static void feed(struct stitcher *st, uint64_t call, uint64_t off, const char *bytes,
		 uint64_t total, uint8_t flags)
{
	struct zcap_io *io = (struct zcap_io *)rec;
	size_t len = strlen(bytes);
	struct zev ev = { .type = ZCAP_EV_IO };

	memset(rec, 0, sizeof(rec));
	set_hdr(&io->h, ZCAP_EV_IO, sizeof(*io), len, 1);
	io->call_id = call;
	io->chunk_off = off;
	io->total_len = total;
	io->ret = total;
	io->syscall = ZCAP_SYS_WRITE;
	io->flags = flags;
	io->f.kind = ZCAP_FD_PIPE;
	io->f.dev = 0;
	io->f.ino = FEED_INO; /* inode 0 means "unknown" to the stitcher */
	memcpy(io + 1, bytes, len);
	ev.h = &io->h;
	ev.io = io;
	ev.data = (const uint8_t *)(io + 1);
	ev.data_len = len;
	assert_int_equal(stitcher_feed(st, &ev), 0);
}

static void test_single_chunk(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 7, 0, "hello", 5, ZCAP_F_FIRST | ZCAP_F_LAST);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], 5);
	assert_memory_equal(g.data[0], "hello", 5);
	assert_false(g.trunc[0]);
	assert_false(g.incomplete[0]);
	stitcher_free(st);
}

static void test_interleaved_calls(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 1, 0, "abc", 9, ZCAP_F_FIRST);
	feed(st, 2, 0, "XY", 4, ZCAP_F_FIRST);
	feed(st, 1, 3, "def", 9, 0);
	feed(st, 2, 2, "Z!", 4, ZCAP_F_LAST);
	feed(st, 1, 6, "ghi", 9, ZCAP_F_LAST);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.call[0], 2);
	assert_memory_equal(g.data[0], "XYZ!", 4);
	assert_int_equal(g.call[1], 1);
	assert_int_equal(g.len[1], 9);
	assert_memory_equal(g.data[1], "abcdefghi", 9);
	assert_false(g.incomplete[1]);
	stitcher_free(st);
}

static void test_truncated_by_snaplen(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 3, 0, "abcd", 1000, ZCAP_F_FIRST | ZCAP_F_LAST | ZCAP_F_TRUNC);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], 4);
	assert_int_equal(g.total[0], 1000);
	assert_true(g.trunc[0]);
	assert_false(g.incomplete[0]);
	stitcher_free(st);
}

static void test_lost_middle_chunk(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 4, 0, "abc", 9, ZCAP_F_FIRST);
	feed(st, 4, 6, "ghi", 9, ZCAP_F_LAST); /* [3,6) lost */
	assert_int_equal(g.n, 1);
	assert_true(g.incomplete[0]);
	assert_false(g.trunc[0]);
	assert_int_equal(stitcher_incomplete(st), 1);
	stitcher_free(st);
}

static void test_lost_last_chunk_flushed(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 5, 0, "abc", 9, ZCAP_F_FIRST);
	assert_int_equal(g.n, 0);
	assert_int_equal(stitcher_flush(st), 0);
	assert_int_equal(g.n, 1);
	assert_true(g.incomplete[0]);
	assert_memory_equal(g.data[0], "abc", 3);
	stitcher_free(st);
}

static void test_fault_marks_incomplete(void **state)
{
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	feed(st, 6, 0, "", 5, ZCAP_F_FIRST | ZCAP_F_LAST | ZCAP_F_FAULT);
	assert_int_equal(g.n, 1);
	assert_true(g.incomplete[0]);
	stitcher_free(st);
}

static void test_fifo_named_by_open(void **state)
{
	struct pathcache *pc = pathcache_new(16);
	struct got g = { 0 };
	struct stitcher *st = stitcher_new(pc, collect, &g);

	pathcache_put(pc, 0, FEED_INO, "/tmp/fifo");
	feed(st, 8, 0, "x", 1, ZCAP_F_FIRST | ZCAP_F_LAST);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.path[0], "/tmp/fifo");
	stitcher_free(st);
	pathcache_free(pc);
}

struct busy_log {
	int n;
	bool busy[8];
	int bodies_before[8]; /* body records emitted before each call */
	uint16_t lport[8];
	struct got *g;
};

static void note_busy(void *ctx, const struct zcap_fdinfo *sock, bool busy)
{
	struct busy_log *b = ctx;

	assert_true(b->n < 8);
	b->busy[b->n] = busy;
	b->lport[b->n] = sock->lport;
	b->bodies_before[b->n++] = b->g->n;
}

static void feed_send(struct stitcher *st, uint32_t tid, uint64_t call, uint16_t lport,
		      uint8_t flags, const char *bytes, uint64_t total)
{
	uint8_t buf[sizeof(struct zcap_send_ev) + 64];
	struct zcap_send_ev *s = (struct zcap_send_ev *)buf;
	size_t len = strlen(bytes);
	struct zev ev = { .type = ZCAP_EV_SEND };

	memset(buf, 0, sizeof(buf));
	set_hdr(&s->h, ZCAP_EV_SEND, sizeof(*s), len, tid);
	s->f.kind = ZCAP_FD_TCP;
	s->f.family = 2;
	s->f.lport = lport;
	s->f.rport = 40000;
	s->call_id = call;
	s->total_len = total;
	s->iter_type = 2; /* bio_vec: page-backed */
	s->flags = flags;
	s->syscall = ZCAP_SYS_SENDFILE64;
	memcpy(s + 1, bytes, len);
	ev.h = &s->h;
	ev.send = s;
	ev.data = len ? (const uint8_t *)(s + 1) : NULL;
	ev.data_len = len;
	assert_int_equal(stitcher_feed(st, &ev), 0);
}

static void feed_xfer(struct stitcher *st, uint32_t tid, uint64_t call, uint16_t lport,
		      int64_t ret)
{
	struct zcap_xfer_ev x;
	struct zev ev = { .type = ZCAP_EV_XFER };

	memset(&x, 0, sizeof(x));
	set_hdr(&x.h, ZCAP_EV_XFER, sizeof(x), 0, tid);
	x.in.kind = ZCAP_FD_FILE;
	x.out.kind = ZCAP_FD_TCP;
	x.out.family = 2;
	x.out.lport = lport;
	x.out.rport = 40000;
	x.call_id = call;
	x.ret = x.len = ret;
	x.off_in = 0;
	x.off_out = -1;
	x.syscall = ZCAP_SYS_SENDFILE64;
	x.fd_in = 3;
	x.fd_out = 4;
	ev.h = &x.h;
	ev.xfer = &x;
	assert_int_equal(stitcher_feed(st, &ev), 0);
}

/* A socket is busy from its sendfile's first message until the call's
 * XFER, said after the bodies went out; a thread moving on to another
 * socket (its XFER lost) ends the first one's busy state. */
static void test_zc_busy(void **state)
{
	struct got g = { 0 };
	struct busy_log b = { .g = &g };
	struct stitcher *st = stitcher_new(NULL, collect, &g);

	assert_non_null(st);
	stitcher_set_busy_cb(st, note_busy, &b);
	feed_send(st, 5, 7, 80, ZCAP_F_FIRST, "body", 8);
	assert_int_equal(b.n, 1);
	assert_true(b.busy[0]);
	assert_int_equal(b.lport[0], 80);
	feed_send(st, 5, 7, 80, 0, "more", 8);
	feed_send(st, 5, 7, 80, ZCAP_F_LAST, "", 8);
	assert_int_equal(b.n, 1); /* the call goes on until its XFER */
	feed_xfer(st, 5, 7, 80, 8);
	assert_int_equal(b.n, 2);
	assert_false(b.busy[1]);
	assert_true(b.bodies_before[1] >= 1); /* its body went out first */

	feed_send(st, 5, 8, 81, ZCAP_F_FIRST, "x", 1);
	feed_send(st, 5, 8, 81, ZCAP_F_LAST, "", 1);
	feed_send(st, 5, 9, 82, ZCAP_F_FIRST, "y", 1);
	assert_int_equal(b.n, 5);
	assert_true(b.busy[2] && !b.busy[3] && b.busy[4]);
	assert_int_equal(b.lport[3], 81);
	assert_int_equal(b.lport[4], 82);
	assert_int_equal(stitcher_flush(st), 0);
	assert_int_equal(b.n, 6);
	assert_false(b.busy[5]);
	stitcher_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_chunk),
		cmocka_unit_test(test_interleaved_calls),
		cmocka_unit_test(test_truncated_by_snaplen),
		cmocka_unit_test(test_lost_middle_chunk),
		cmocka_unit_test(test_lost_last_chunk_flushed),
		cmocka_unit_test(test_fault_marks_incomplete),
		cmocka_unit_test(test_fifo_named_by_open),
		cmocka_unit_test(test_zc_busy),
	};

	return cmocka_run_group_tests_name("stitch", tests, NULL, NULL);
}
