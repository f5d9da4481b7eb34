/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Decoder: turns one raw ring-buffer record into a validated view. The
 * only place that trusts nothing about the bytes; everything downstream
 * relies on its checks (lengths, enum ranges, NUL-free strings bounded).
 */
#ifndef ZCAP_DECODE_H
#define ZCAP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "zcap_abi.h"

struct zev {
	unsigned int type; /* enum zcap_ev_type */
	const struct zcap_hdr *h;
	union {
		const struct zcap_io *io;
		const struct zcap_fd_ev *fd;
		const struct zcap_proc_ev *proc;
		const struct zcap_xfer_ev *xfer;
		const struct zcap_send_ev *send;
		const struct zcap_pkt_ev *pkt;
		const struct zcap_fs_ev *fs;
		const void *raw;
	};
	const uint8_t *data;
	uint32_t data_len;
};

/* 0 and *out filled, or a negative errno (-EINVAL malformed, -EPROTO
 * unknown type or ABI size); *why, when non-NULL, says what was wrong. */
int zev_decode(const void *buf, size_t len, struct zev *out, const char **why);

/* Is an fd record of this syscall's data the socket strings (sockaddr,
 * unix names), rather than a path (the open family)? */
bool fd_has_sockstrs(unsigned int syscall);

/* The fixed size each event type must have (0 for unknown types). */
size_t zev_fixed_size(unsigned int type);

#endif
