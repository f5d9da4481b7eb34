/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet attribution: which process sent or received an IP packet, and
 * which file its TCP payload came from.
 *
 * cgroup_skb programs run in softirq context as often as not, so the task
 * current when a packet passes says nothing. The owner comes instead from
 * the socket addresses in zcap's own syscall records (IO, FD, XFER, SEND
 * records carry the fd's local/remote address and port with pid, tid, comm
 * and fd): a packet belongs to the socket whose 4-tuple it carries. Records
 * that map a range of a socket's TCP sequence space to a range of a file
 * (sendfile/splice bodies: struct zrec tcp_seq/src_path/src_off) name the
 * file bytes a packet's payload came from.
 */
#ifndef ZCAP_PKTATTR_H
#define ZCAP_PKTATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch.h"

/* TCP header flags (pkt_info.tcp_flags) */
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04

/* Addresses and ports of a packet; IPv4 addresses as ::ffff:a.b.c.d so
 * that IPv4 packets match AF_INET6 sockets with mapped addresses too. */
struct pkt_info {
	uint8_t version; /* 4 or 6 */
	uint8_t proto;	 /* IPPROTO_* of the transport header */
	bool has_ports;	 /* TCP or UDP header present (first fragment) */
	uint8_t tcp_flags; /* PKT_TCP_* */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t seq;	      /* TCP sequence number of the first payload byte */
	uint32_t ack;	      /* TCP acknowledgment number */
	uint32_t payload_len; /* transport payload bytes on the wire */
};

/* Parse the IP and TCP/UDP headers of a packet (caplen bytes captured of
 * origlen). 0, or -EINVAL when the headers are not there or malformed. */
int pkt_parse(const uint8_t *pkt, size_t caplen, uint32_t origlen, struct pkt_info *out);

struct pkt_owner {
	uint32_t pid, tid;
	int32_t fd; /* -1 when no record named it */
	char comm[17];
};

struct pktattr;

struct pktattr *pktattr_new(void);
void pktattr_free(struct pktattr *a);

/* Learn socket owners and zero-copy sources from one record (any type;
 * records without socket addresses are ignored). */
void pktattr_learn(struct pktattr *a, const struct zrec *r);

/* The owner of the socket at the packet's source end (src = true: the
 * sender) or destination end (the receiver), if a record named it. */
bool pktattr_owner(struct pktattr *a, const struct pkt_info *p, bool src, struct pkt_owner *out);

typedef void (*pktattr_line_fn)(void *ctx, const char *line);

/* The same, only by the packet's exact 4-tuple (the connected socket): the
 * record of an accept() that returned after the handshake went. */
bool pktattr_owner_connected(struct pktattr *a, const struct pkt_info *p, bool src,
			     struct pkt_owner *out);

/* For each file range the packet's TCP payload came from, one line such as
 * "sendfile /srv/www/big.bin [65536, 131072)" (adjacent pieces of one file
 * merged). Returns the number of lines. */
int pktattr_sources(struct pktattr *a, const struct pkt_info *p, pktattr_line_fn fn, void *ctx);

/* A TCP socket's zero-copy call began (busy) or ended: its bodies' file
 * ranges come with the call's end (stitcher_set_busy_cb). */
void pktattr_zc_busy(struct pktattr *a, const struct zcap_fdinfo *sock, bool busy);

/* A TCP packet with payload whose sender has a zero-copy call in
 * progress: the records naming where its bytes came from are still due. */
bool pktattr_zc_pending(struct pktattr *a, const struct pkt_info *p);

/* Sockets currently known (for tests and statistics). */
size_t pktattr_sockets(const struct pktattr *a);

#endif
