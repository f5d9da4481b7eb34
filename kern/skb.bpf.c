// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IP packets from cgroup_skb ingress/egress programs (ZCAP_EV_PKT), for
 * `zcap record -o FILE.pcapng`. Attached at the cgroup2 root (system-wide)
 * or at the child cgroup `-- CMD` runs in. The packet starts at its IP
 * header here (no L2 header: LINKTYPE_RAW). Which process owns a packet is
 * read from the sock_owner map (kern/common.bpf.h), which the syscall
 * programs fill in process context: these programs often run in softirq
 * context, where the current task is whoever was interrupted.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Largest packet copied: GSO packets before segmentation reach 64 KiB and,
 * with BIG TCP (loopback here: tso_max_size 524280), more; 256 KiB is also
 * libpcap's limit for LINKTYPE_RAW. */
#define PKT_MAX	   262144
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD
/* Every network namespace's loopback device has this ifindex. */
#define LOOPBACK_IFINDEX 1
#define LO_RECENT	 16 /* loopback packets per CPU remembered from egress */

/* Packets lost per interface (ring full), by ifindex: the pcap-ng writer
 * reports them in each interface's statistics block. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} pkt_lost SEC(".maps");

/*
 * Loopback packets pass two hooks: the sender's egress, then the
 * receiver's ingress, on the same CPU (loopback_xmit queues to this CPU's
 * backlog). tcpdump on lo shows each packet once, as delivered, so the
 * bytes are copied once, at egress, and the ingress passage, recognised
 * by the packet's identity (a hash of its IP and transport headers: the
 * IPv4 ID and checksum, TCP sequence, acknowledgment and timestamps), is
 * sent as a record of its headers only that gives the egress copy its
 * delivery time and the receiver's cgroup (user/sink_pcapng.c). Ingress packets
 * whose egress was not captured (the sender outside the cgroup, or
 * filtered out by --cgroup) are written; so are the pieces of an egress
 * packet delivered split (a GSO send): the sink then drops the egress
 * copy they cover (user/sink_pcapng.c), as tcpdump shows the pieces.
 */
struct lo_recent {
	__u64 id[LO_RECENT];
	__u32 next;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lo_recent);
} lo_recent SEC(".maps");

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

/* The headers a packet is attributed and filtered by. */
struct pkt_hdrs {
	__u8 proto;
	bool ports; /* TCP or UDP header present (first fragment) */
	__u16 sport, dport; /* host order */
	__u8 saddr[ZCAP_ADDR_LEN], daddr[ZCAP_ADDR_LEN]; /* as struct zcap_sock_key */
	__u64 id; /* identity, for loopback's two passages */
};

static __always_inline __u64 mix(__u64 h, __u64 v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static __always_inline void v4_mapped(__u8 out[ZCAP_ADDR_LEN], __u32 a)
{
	__u32 w[4] = { 0, 0, a ? bpf_htonl(0xffff) : 0, a };

	__builtin_memcpy(out, w, sizeof(w));
}

/* IPv4/IPv6 and TCP/UDP headers; false for anything else (still captured,
 * unattributed). IPv6 extension headers are not followed. */
static __always_inline bool parse_hdrs(struct __sk_buff *skb, struct pkt_hdrs *p)
{
	__u64 l4[4] = {};
	__u32 l4off;
	__u64 h = 0xcbf29ce484222325ULL;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return false;
		p->proto = ip.protocol;
		v4_mapped(p->saddr, ip.saddr);
		v4_mapped(p->daddr, ip.daddr);
		/* ID and header checksum differ between any two packets */
		h = mix(h, ((__u64)ip.id << 32) | ((__u64)ip.check << 16) | ip.tot_len);
		h = mix(h, ((__u64)ip.saddr << 32) | ip.daddr);
		if (ip.frag_off & bpf_htons(0x1fff))
			goto done;
		l4off = (ip.ihl * 4) & 0x3c;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return false;
		p->proto = ip6.nexthdr;
		__builtin_memcpy(p->saddr, &ip6.saddr, ZCAP_ADDR_LEN);
		__builtin_memcpy(p->daddr, &ip6.daddr, ZCAP_ADDR_LEN);
		h = mix(h, ip6.payload_len);
		l4off = sizeof(ip6);
	} else {
		return false;
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		goto done;
	/* TCP: ports, sequence, acknowledgment, flags, window, checksum and
	 * (usually) the timestamps; UDP: its 8-byte header */
	if (bpf_skb_load_bytes(skb, l4off, l4, sizeof(l4)) &&
	    bpf_skb_load_bytes(skb, l4off, l4, 8))
		goto done;
	p->ports = true;
	p->sport = bpf_ntohs((__u16)l4[0]);
	p->dport = bpf_ntohs((__u16)(l4[0] >> 16));
	h = mix(mix(mix(mix(h, l4[0]), l4[1]), l4[2]), l4[3]);
done:
	p->id = h;
	return true;
}

/* --port: does the packet's TCP/UDP header carry one of the ports? */
static __always_inline bool pkt_port_wanted(const struct pkt_hdrs *p, bool parsed)
{
	if (!cfg.filter_port)
		return true;
	return parsed && p->ports && (port_selected(p->sport) || port_selected(p->dport));
}

/* Remember a captured loopback egress packet on this CPU. */
static __always_inline void lo_remember(__u64 id)
{
	__u32 zero = 0;
	struct lo_recent *r = bpf_map_lookup_elem(&lo_recent, &zero);

	if (!r)
		return;
	r->id[r->next & (LO_RECENT - 1)] = id;
	r->next++;
}

/* Was this loopback ingress packet captured at its egress? (Forgets it.) */
static __always_inline bool lo_seen(__u64 id)
{
	__u32 zero = 0;
	struct lo_recent *r = bpf_map_lookup_elem(&lo_recent, &zero);

	if (!r)
		return false;
	for (int i = 0; i < LO_RECENT; i++) {
		if (r->id[i] == id) {
			r->id[i] = 0;
			return true;
		}
	}
	return false;
}

/* The owner of one end (the local one: laddr/lport), as
 * user/pktattr.c once matched it: the connected socket, then one bound to
 * any address, then an unconnected one on that address, then on any. */
static __always_inline struct zcap_sock_owner *owner_of(const struct pkt_hdrs *p, bool src,
						       bool *exact)
{
	struct zcap_sock_key k = {};
	struct zcap_sock_owner *o;

	k.proto = p->proto;
	k.lport = src ? p->sport : p->dport;
	k.rport = src ? p->dport : p->sport;
	__builtin_memcpy(k.laddr, src ? p->saddr : p->daddr, ZCAP_ADDR_LEN);
	__builtin_memcpy(k.raddr, src ? p->daddr : p->saddr, ZCAP_ADDR_LEN);
	o = bpf_map_lookup_elem(&sock_owner, &k);
	*exact = o != NULL;
	if (o)
		return o;
	__builtin_memset(k.laddr, 0, ZCAP_ADDR_LEN);
	o = bpf_map_lookup_elem(&sock_owner, &k);
	if (o)
		return o;
	__builtin_memcpy(k.laddr, src ? p->saddr : p->daddr, ZCAP_ADDR_LEN);
	__builtin_memset(k.raddr, 0, ZCAP_ADDR_LEN);
	k.rport = 0;
	o = bpf_map_lookup_elem(&sock_owner, &k);
	if (o)
		return o;
	__builtin_memset(k.laddr, 0, ZCAP_ADDR_LEN);
	return bpf_map_lookup_elem(&sock_owner, &k);
}

/* Sender and receiver: a hook sees one end of the packet, the sender at
 * egress and the receiver at ingress; on loopback both are on this host. */
static __always_inline void attribute(struct zcap_pkt_ev *ev, const struct pkt_hdrs *p,
				      bool loopback)
{
	struct zcap_sock_owner *o;
	bool exact;

	if (!p->ports)
		return;
	if (ev->dir == ZCAP_DIR_OUT || loopback) {
		o = owner_of(p, true, &exact);
		if (o) {
			ev->snd = *o;
			ev->owners |= ZCAP_PKT_SND | (exact ? ZCAP_PKT_SND_EXACT : 0);
		}
	}
	if (ev->dir == ZCAP_DIR_IN || loopback) {
		o = owner_of(p, false, &exact);
		if (o) {
			ev->rcv = *o;
			ev->owners |= ZCAP_PKT_RCV | (exact ? ZCAP_PKT_RCV_EXACT : 0);
		}
	}
}

/* One copy: the packet goes from the skb straight into a ring record.
 * Ring reservations have a size fixed when the program is verified, so
 * the record is the next power of two up (the consumer reads data_len). */
static __always_inline int emit(struct __sk_buff *skb, const struct zcap_pkt_ev *meta, __u32 n,
				const __u32 cap)
{
	__u64 flags = ringbuf_wakeup_flag(sizeof(*meta) + cap);
	struct zcap_pkt_ev *ev = bpf_ringbuf_reserve(&events, sizeof(*meta) + cap, 0);

	if (!ev)
		return -1;
	__builtin_memcpy(ev, meta, sizeof(*meta));
	if (n) {
		/* 1..cap in a form the verifier can follow */
		n = ((n - 1) & (cap - 1)) + 1;
		/* bpf_skb_load_bytes reads paged data too (sendfile bodies) */
		if (bpf_skb_load_bytes(skb, 0, (void *)(ev + 1), n) == 0)
			ev->h.data_len = n;
		else
			count_drop(ZCAP_DROP_FAULT);
	}
	bpf_ringbuf_submit(ev, flags);
	return 0;
}

#define EMIT_UP_TO(cap)                                    \
	if (n <= (cap))                                    \
		return emit(skb, meta, n, (cap))

static __always_inline int emit_sized(struct __sk_buff *skb, const struct zcap_pkt_ev *meta,
				      __u32 n)
{
	if (!n)
		return emit(skb, meta, 0, 8);
	EMIT_UP_TO(128);
	EMIT_UP_TO(256);
	EMIT_UP_TO(512);
	EMIT_UP_TO(1024);
	EMIT_UP_TO(2048);
	EMIT_UP_TO(4096);
	EMIT_UP_TO(8192);
	EMIT_UP_TO(16384);
	EMIT_UP_TO(32768);
	EMIT_UP_TO(65536);
	EMIT_UP_TO(131072);
	return emit(skb, meta, n, PKT_MAX);
}

static __always_inline int capture(struct __sk_buff *skb, __u8 dir)
{
	__u32 len = skb->len, ifindex = skb->ifindex, n;
	bool loopback = ifindex == LOOPBACK_IFINDEX, parsed;
	struct pkt_hdrs p = {};
	struct zcap_pkt_ev ev;

	/* -i IFACE; a filter expression ran before (user/part_skb.c) */
	if (cfg.ifindex && ifindex != cfg.ifindex)
		return 1;
	parsed = parse_hdrs(skb, &p);
	if (!pkt_port_wanted(&p, parsed))
		return 1;
	/* --cgroup: the packet's socket is in that cgroup or below it */
	if (cfg.filter_cgroup &&
	    bpf_skb_ancestor_cgroup_id(skb, cfg.cgroup_level) != cfg.cgroup_id)
		return 1;
	__builtin_memset(&ev, 0, sizeof(ev));
	ev.h.type = ZCAP_EV_PKT;
	ev.h.hdr_len = sizeof(ev);
	ev.h.ts_ns = bpf_ktime_get_ns();
	/* the socket's cgroup (the current task is often not its owner here) */
	ev.h.cgroup_id = bpf_skb_cgroup_id(skb);
	ev.pkt_len = len;
	ev.ifindex = ifindex;
	ev.dir = dir;
	ev.sk_cookie = bpf_get_socket_cookie(skb);
	if (loopback && parsed) {
		ev.lo_id = p.id;
		if (dir == ZCAP_DIR_IN && lo_seen(p.id)) {
			/* its bytes went at its egress: the headers name it */
			ev.lo_delivered = 1;
			if (emit(skb, &ev, len < 128 ? len : 128, 128))
				count_lost(ifindex, ZCAP_DROP_RINGBUF);
			return 1;
		}
	}
	if (parsed)
		attribute(&ev, &p, loopback);
	n = len;
	if (n > cfg.snaplen)
		n = cfg.snaplen;
	if (n > PKT_MAX)
		n = PKT_MAX;
	if (emit_sized(skb, &ev, n)) {
		count_lost(ifindex, ZCAP_DROP_RINGBUF);
		return 1;
	}
	if (loopback && dir == ZCAP_DIR_OUT && parsed)
		lo_remember(p.id);
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
