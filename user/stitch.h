/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stitcher: joins the chunks of one call (or one sendmmsg/recvmmsg
 * message) into a record, names files through the path cache, and hands
 * whole records to a callback (the sinks). Chunks of a call arrive in
 * order, possibly interleaved with other CPUs' records.
 */
#ifndef ZCAP_STITCH_H
#define ZCAP_STITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct zrec {
	const struct zev *ev;  /* the event; for IO the first chunk's fields */
	const uint8_t *data;   /* payload (IO: all chunks joined), else ev->data */
	size_t data_len;
	uint64_t len;	       /* bytes the call moved (IO), else data_len */
	bool truncated;	       /* snaplen or a limit cut the payload */
	bool incomplete;       /* chunks lost or unreadable: data has gaps */
	bool iov_limit;	       /* the kernel's walk over the buffers hit its limit */
	const char *path;      /* path of the fd's file (files, dirs, devices) */
	const char *path2;     /* of the second fd (fd records) */

	/* Zero-copy bodies (ZCAP_EV_SEND records, user/zerocopy.c) */
	const char *via;       /* "sendfile", "splice", "vmsplice", "tee", "io_uring", ... */
	const char *src_path;  /* file the body bytes came from, NULL if unknown */
	int64_t src_off;       /* offset of data[0] in src_path, -1 if unknown */
	bool has_seq;
	uint32_t tcp_seq;      /* TCP sequence number of data[0] */
	bool no_content;       /* body bytes deliberately not captured (self-test failed) */
};

/* Return non-zero to stop: stitcher_feed passes it back. */
typedef int (*zrec_cb)(const struct zrec *r, void *ctx);

struct pathcache;
struct stitcher;

struct stitcher *stitcher_new(struct pathcache *pc, zrec_cb cb, void *ctx);
/*
 * A socket's zero-copy body is in progress (busy) or over. Its packets can
 * go out before the records naming their file ranges do (those come at the
 * call's end), so a packet sink holds the socket's packets while it is
 * busy. Said once when a thread's message begins and once when the thread
 * has nothing open any more; sock is the socket the thread sends on.
 */
typedef void (*zc_busy_fn)(void *ctx, const struct zcap_fdinfo *sock, bool busy);
void stitcher_set_busy_cb(struct stitcher *st, zc_busy_fn fn, void *ctx);
void stitcher_free(struct stitcher *st);
int stitcher_feed(struct stitcher *st, const struct zev *ev);
/* Emit every partial record as incomplete (end of capture). */
int stitcher_flush(struct stitcher *st);
/* Records emitted incomplete so far. */
uint64_t stitcher_incomplete(const struct stitcher *st);
/* Records the kernel cut at its walk limit (ZCAP_F_IOV_LIMIT) so far. */
uint64_t stitcher_iov_limited(const struct stitcher *st);

#endif
