/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Zero-copy stitching stage (docs/zerocopy.md): turns ZCAP_EV_SEND chunks
 * into body records, trimmed to what the kernel accepted, and names where
 * every body byte came from: the file and offset of its page-cache page,
 * the sendfile's input file, or what a pipe held (a per-pipe FIFO of origin
 * ranges, fed by splice/tee/vmsplice/sendfile and by reads and writes of
 * pipes, follows bytes through pipe chains to their first origin).
 * ZCAP_EV_XFER records pass through after the bodies of their call.
 */
#ifndef ZCAP_ZEROCOPY_H
#define ZCAP_ZEROCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "stitch.h"

enum zc_src_kind {
	ZC_SRC_UNKNOWN = 0, /* not known (bytes entered a pipe unseen) */
	ZC_SRC_FILE,	    /* a file: src_path (when known), dev/ino, offset */
	ZC_SRC_SOCKET,	    /* received from a socket and spliced on */
	ZC_SRC_MEMORY,	    /* a process's memory: vmsplice, write to a pipe, io_uring send */
};

/* A body record as the sinks see it: r.ev->type == ZCAP_EV_SEND with
 * r.via set. zc_body_of() gives the rest. */
struct zc_body {
	struct zrec r;
	uint64_t call_id; /* of the syscall that sent it, 0 for none */
	int fd;		  /* the socket's fd when known, else -1 */
	enum zc_src_kind src_kind;
	uint32_t src_dev; /* ZC_SRC_FILE */
	uint64_t src_ino;
	struct zcap_fdinfo src_sock; /* ZC_SRC_SOCKET */
	uint32_t src_pid;	     /* ZC_SRC_MEMORY: whose memory */
	const char *src_how;	     /* ZC_SRC_MEMORY/SOCKET: "vmsplice", "write", "splice", ... */
};

/* The body behind a record, or NULL when r is not a body record. */
const struct zc_body *zc_body_of(const struct zrec *r);

struct pathcache;
struct zerocopy;

struct zerocopy *zerocopy_new(struct pathcache *pc, zrec_cb cb, void *ctx);
/* See stitcher_set_busy_cb (user/stitch.h). */
void zerocopy_set_busy_cb(struct zerocopy *zc, zc_busy_fn fn, void *ctx);
void zerocopy_free(struct zerocopy *zc);
/* A ZCAP_EV_XFER or ZCAP_EV_SEND event; the callback's result or -errno. */
int zerocopy_feed(struct zerocopy *zc, const struct zev *ev);
/* A whole read/write-family record: keeps pipe FIFOs in step. */
void zerocopy_note_io(struct zerocopy *zc, const struct zcap_io *io);
/* End of capture: emit every body still held (incomplete when unfinished). */
int zerocopy_flush(struct zerocopy *zc);
/* Body records emitted with gaps so far. */
uint64_t zerocopy_incomplete(const struct zerocopy *zc);

#endif
