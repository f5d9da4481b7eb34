/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Socket addresses of fd records: the sockaddr a call passed or got back
 * (connect, bind, accept) and the names of unix sockets (the kernel's
 * sun_path bytes), read into one view for the text and JSON sinks.
 */
#ifndef ZCAP_SOCKADDR_H
#define ZCAP_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "jsonw.h"
#include "zcap_abi.h"

struct sockaddr_view {
	int family;	/* AF_INET, AF_INET6, AF_UNIX, other; -1: none */
	char addr[ZCAP_ADDRSTRLEN]; /* inet: as inet_ntop writes it */
	uint16_t port;
	/* unix: the name's bytes (an abstract one without its leading NUL,
	 * a path up to its first NUL); name_len 0 and !abstract: unnamed */
	const uint8_t *name;
	size_t name_len;
	bool abstract;
};

/* The three byte strings of a non-open fd record (docs/event-schema.md);
 * the decoder has checked that their lengths add up to the data. */
struct fd_sockstrs {
	struct sockaddr_view addr; /* the call's sockaddr */
	struct sockaddr_view local, peer; /* unix names of f and of its peer */
};

/* A sockaddr of len bytes as a process passed it; family -1 when too short. */
void sockaddr_view(const uint8_t *sa, size_t len, struct sockaddr_view *v);
/* The socket strings of fd record ev with data. */
void fd_sockstrs(const struct zcap_fd_ev *ev, const uint8_t *data, struct fd_sockstrs *s);

/* Text: 127.0.0.1:80, [::1]:80, "/path", @"abstract" (escaped as C), unix
 * (unnamed), family N. */
void sockaddr_fprint(FILE *out, const struct sockaddr_view *v);
/* key: a JSON object: {"family":"inet","addr":..,"port":..},
 * {"family":"unix","path":..} (an abstract name as "@name" and
 * "abstract":true), {"family":N} for other families; nothing for none. */
void sockaddr_jw(struct jw *w, const char *key, const struct sockaddr_view *v);

#endif
