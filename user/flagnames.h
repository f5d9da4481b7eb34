/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Symbolic flags as strace prints them: open(2) flags ("O_RDWR|O_CREAT|
 * O_TRUNC", the same names in the same order, leftover bits as "0x...")
 * and accept4(2)'s SOCK_* flags. Text output prints the string, JSON
 * keeps the number and adds the names as an array.
 */
#ifndef ZCAP_FLAGNAMES_H
#define ZCAP_FLAGNAMES_H

#include <stddef.h>
#include <stdint.h>

/* Room for any result. */
#define FLAGNAMES_MAX 320

/* "O_RDONLY|O_CLOEXEC" into buf (FLAGNAMES_MAX bytes); returns buf. */
char *open_flags_format(uint32_t flags, char *buf);
/* Does strace print a mode argument for these flags (O_CREAT, O_TMPFILE)? */
int open_flags_take_mode(uint32_t flags);
/* "SOCK_CLOEXEC|SOCK_NONBLOCK", or "0", into buf; returns buf. */
char *sock_flags_format(uint32_t flags, char *buf);

#endif
