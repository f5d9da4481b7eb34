/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Socket address formatting. */
#ifndef ZCAP_ADDR_H
#define ZCAP_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ZCAP_ADDRSTRLEN 46 /* INET6_ADDRSTRLEN */

/* Format a 4- (AF_INET) or 16-byte (AF_INET6) address; IPv4-mapped IPv6
 * addresses print as dotted quads, as ss(8) and tcpdump do. Writes "?"
 * for other families. Returns buf. */
char *addr_format(int family, const uint8_t *addr, char *buf, size_t len);

/* "addr:port", with [addr]:port for IPv6. */
char *endpoint_format(int family, const uint8_t addr[16], uint16_t port, char *buf, size_t len);

#endif
