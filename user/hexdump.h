/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcpdump's -X dump: hex and ASCII, 16 bytes a line. */
#ifndef ZCAP_HEXDUMP_H
#define ZCAP_HEXDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One line per 16 bytes, as tcpdump -X prints them:
 * "\t0x0010:  4500 0034 ...  E..4..@.@.\n": the offset, the bytes in
 * groups of two (padded to 40 columns), two spaces and the bytes as ASCII,
 * '.' for everything but the graphic characters 0x21-0x7e (so untrusted
 * bytes never reach the terminal).
 */
void hexdump_x(FILE *out, const uint8_t *p, size_t n);

#endif
