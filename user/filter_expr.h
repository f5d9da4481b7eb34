/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A pcap filter expression (`zcap record 'tcp port 80'`), compiled by
 * libpcap as tcpdump compiles it, for packets that start at their IP
 * header (LINKTYPE_RAW: what the cgroup_skb programs see and zcap's
 * pcap-ng files hold). Packet output runs the program in the kernel
 * (user/cbpf_ebpf.c); text and JSON output match each record's socket
 * against it here.
 */
#ifndef ZCAP_FILTER_EXPR_H
#define ZCAP_FILTER_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch.h"

struct filter_expr;
struct sock_filter;

/* 0, or -EINVAL with libpcap's message printed ("zcap: ..."); -ENOMEM. */
int filter_expr_compile(const char *text, struct filter_expr **out);
/* The compiled classic BPF program. */
const struct sock_filter *filter_expr_insns(const struct filter_expr *f, unsigned int *len);
/* Does the IP packet pkt[0..len) match? */
bool filter_expr_match_packet(const struct filter_expr *f, const uint8_t *pkt, size_t len);
/*
 * Does a record match? Its socket is made into the packet it stands
 * for, an IP header and a TCP (flags ACK, and PSH with data) or UDP
 * header from the record's addresses and ports in the direction the
 * bytes went, followed by its captured payload, and run through the
 * program. Records of other fds and of processes have no packet: they
 * never match. f holds the packet it builds.
 */
bool filter_expr_match_record(struct filter_expr *f, const struct zrec *r);
void filter_expr_free(struct filter_expr *f);

#endif
