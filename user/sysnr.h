/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* This architecture's syscall numbers for zcap's syscalls. */
#ifndef ZCAP_SYSNR_H
#define ZCAP_SYSNR_H

/* Call fn(nr, zcap_syscall, ctx) for every syscall this architecture has
 * (no open(2) on arm64, say). */
void sysnr_for_each(void (*fn)(int nr, int sc, void *ctx), void *ctx);

#endif
