/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The opt_comment options of a pcap-ng file's packets, in file order
 * (zcap read). libpcap reads the packets but does not hand out block
 * options, and zcap's comments name each packet's processes: this walks
 * the same file's blocks beside libpcap, one packet block (EPB, SPB or
 * the obsolete PB, the blocks libpcap returns as packets) per call. Both
 * byte orders, any number of sections; every length is checked against
 * the block, and a malformed block ends the walk (libpcap reports it).
 */
#ifndef ZCAP_NGCOMMENTS_H
#define ZCAP_NGCOMMENTS_H

#include <stdbool.h>
#include <stddef.h>

struct ngcomments;

/* NULL when the file is not pcap-ng (classic pcap has no comments) or
 * cannot be opened. */
struct ngcomments *ngcomments_open(const char *path);
void ngcomments_close(struct ngcomments *c);

/* The comments of the next packet block: *n strings (NUL-terminated,
 * unchecked bytes), valid until the next call. False at the end. */
bool ngcomments_next(struct ngcomments *c, const char *const **lines, size_t *n);

#endif
