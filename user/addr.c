// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

char *addr_format(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (!len)
		return buf;
	if (family == AF_INET6 && !memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)))
		family = AF_INET, addr += 12;
	if (family == AF_INET && len >= INET_ADDRSTRLEN) {
		/* by hand: inet_ntop formats IPv4 with sprintf, and every
		 * socket record prints two addresses */
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			uint8_t b = addr[i];

			if (b >= 100)
				*p++ = '0' + b / 100;
			if (b >= 10)
				*p++ = '0' + b / 10 % 10;
			*p++ = '0' + b % 10;
			*p++ = i < 3 ? '.' : 0;
		}
		return buf;
	}
	if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

char *endpoint_format(int family, const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	char a[ZCAP_ADDRSTRLEN];
	int v6 = family == AF_INET6 && memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix));

	addr_format(family, addr, a, sizeof(a));
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}
