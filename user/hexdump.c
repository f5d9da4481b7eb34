// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tcpdump's -X dump (hexdump.h). */
#include "hexdump.h"

#define BYTES_PER_LINE 16
#define HEX_COLUMNS    40 /* 8 groups of " xxxx" */

void hexdump_x(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += BYTES_PER_LINE) {
		size_t len = n - off < BYTES_PER_LINE ? n - off : BYTES_PER_LINE;
		char hex[HEX_COLUMNS + 1], ascii[BYTES_PER_LINE + 1];
		size_t h = 0;

		for (size_t i = 0; i < len; i++) {
			uint8_t c = p[off + i];

			/* a space before each pair of bytes */
			h += snprintf(hex + h, sizeof(hex) - h, i % 2 ? "%02x" : " %02x", c);
			ascii[i] = c > 0x20 && c < 0x7f ? (char)c : '.';
		}
		ascii[len] = '\0';
		fprintf(out, "\t0x%04zx: %-*s  %s\n", off, HEX_COLUMNS, hex, ascii);
	}
}
