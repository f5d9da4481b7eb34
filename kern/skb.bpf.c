// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IP packets from cgroup_skb ingress/egress programs (ZCAP_EV_PKT), for
 * `zcap record -o FILE.pcapng`. Attached at the cgroup2 root (system-wide)
 * or at the child cgroup `-- CMD` runs in. The packet starts at its IP
 * header here (no L2 header: LINKTYPE_RAW). Which process owns a packet is
 * decided in userspace (user/pktattr.c): these programs often run in
 * softirq context, where the current task is whoever was interrupted.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Largest packet copied: GSO packets before segmentation reach 64 KiB and,
 * with BIG TCP (loopback here: tso_max_size 524280), more; 256 KiB is also
 * libpcap's limit for LINKTYPE_RAW. Power of two, so a mask bounds
 * lengths for the verifier. */
#define PKT_MAX	 262144
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD

/* A packet record under construction; ring buffer records need their
 * bytes in one place, and 64 KiB does not fit on the stack. */
struct pkt_slot {
	__u64 busy; /* taken by a program run on this CPU */
	struct zcap_pkt_ev ev;
	__u8 data[PKT_MAX];
};

/* SLOTS_PER_CPU per possible CPU; user/part_skb.c sets max_entries.
 * Two per CPU: a softirq (ingress) can interrupt an egress run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct pkt_slot);
} pkt_slots SEC(".maps");

/* Packets lost per interface (ring full, no free slot), by ifindex: the
 * pcap-ng writer reports them in each interface's statistics block. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} pkt_lost SEC(".maps");

static __always_inline void count_lost(__u32 ifindex, __u32 cause)
{
	__u64 one = 1, *n;

	count_drop(cause);
	n = bpf_map_lookup_elem(&pkt_lost, &ifindex);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&pkt_lost, &ifindex, &one, BPF_NOEXIST);
}

static __always_inline struct pkt_slot *pkt_slot_get(void)
{
	__u32 base = bpf_get_smp_processor_id() * SLOTS_PER_CPU;

	for (__u32 k = 0; k < SLOTS_PER_CPU; k++) {
		__u32 key = base + k;
		struct pkt_slot *s = bpf_map_lookup_elem(&pkt_slots, &key);

		if (s && slot_take(&s->busy))
			return s;
	}
	return NULL;
}

/* --port: does the packet's TCP/UDP header carry one of the ports?
 * Fragments other than the first and IPv6 extension headers do not match. */
static __always_inline bool pkt_port_wanted(struct __sk_buff *skb)
{
	__u16 ports[2];
	__u32 l4off;
	__u8 proto;

	if (!cfg.filter_port)
		return true;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return false;
		if (ip.frag_off & bpf_htons(0x1fff))
			return false;
		proto = ip.protocol;
		l4off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return false;
		proto = ip6.nexthdr;
		l4off = sizeof(ip6);
	} else {
		return false;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	if (bpf_skb_load_bytes(skb, l4off & 0xff, ports, sizeof(ports)))
		return false;
	return port_selected(bpf_ntohs(ports[0])) || port_selected(bpf_ntohs(ports[1]));
}

static __always_inline int capture(struct __sk_buff *skb, __u8 dir)
{
	__u32 len = skb->len, ifindex = skb->ifindex, n, got = 0;
	struct pkt_slot *s;

	/* -i IFACE; a filter expression ran before (user/part_skb.c) */
	if (cfg.ifindex && ifindex != cfg.ifindex)
		return 1;
	if (!pkt_port_wanted(skb))
		return 1;
	/* --cgroup: the packet's socket is in that cgroup or below it */
	if (cfg.filter_cgroup &&
	    bpf_skb_ancestor_cgroup_id(skb, cfg.cgroup_level) != cfg.cgroup_id)
		return 1;
	s = pkt_slot_get();
	if (!s) {
		count_lost(ifindex, ZCAP_DROP_MAPFULL);
		return 1;
	}
	n = len;
	if (n > cfg.snaplen)
		n = cfg.snaplen;
	if (n > PKT_MAX)
		n = PKT_MAX;
	__builtin_memset(&s->ev, 0, sizeof(s->ev));
	s->ev.h.type = ZCAP_EV_PKT;
	s->ev.h.hdr_len = sizeof(s->ev);
	s->ev.h.ts_ns = bpf_ktime_get_ns();
	/* the socket's cgroup (the current task is often not its owner here) */
	s->ev.h.cgroup_id = bpf_skb_cgroup_id(skb);
	s->ev.pkt_len = len;
	s->ev.ifindex = ifindex;
	s->ev.dir = dir;
	s->ev.sk_cookie = bpf_get_socket_cookie(skb);
	if (n) {
		/* 1..PKT_MAX in a form the verifier can follow */
		n = ((n - 1) & (PKT_MAX - 1)) + 1;
		/* bpf_skb_load_bytes reads paged data too (sendfile bodies) */
		if (bpf_skb_load_bytes(skb, 0, s->data, n) == 0)
			got = n;
		else
			count_drop(ZCAP_DROP_FAULT);
	}
	s->ev.h.data_len = got;
	if (bpf_ringbuf_output(&events, &s->ev, sizeof(s->ev) + got,
			       ringbuf_wakeup_flag(sizeof(s->ev) + got)))
		count_lost(ifindex, ZCAP_DROP_RINGBUF);
	s->busy = 0;
	return 1; /* observe only: always let the packet through */
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	return capture(skb, ZCAP_DIR_IN);
}

SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	return capture(skb, ZCAP_DIR_OUT);
}
