// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pcap filter expressions: compile, and match records (filter_expr.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <pcap/pcap.h>

#include "decode.h"
#include "filter_expr.h"
#include "util.h"

/* The cgroup_skb programs' packet limit (kern/skb.bpf.c PKT_MAX). */
#define FILTER_SNAPLEN 262144

struct filter_expr {
	struct bpf_program prog;
	pcap_t *dead;	    /* the libpcap handle it was compiled for (LINKTYPE_RAW) */
	uint8_t pkt[65535]; /* the packet a record stands for */
};

/* libpcap's struct bpf_insn is the kernel's struct sock_filter. */
struct sock_filter_layout {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter_layout),
	       "pcap's bpf_insn is classic BPF's sock_filter");

int filter_expr_compile(const char *text, struct filter_expr **out)
{
	struct filter_expr *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->dead = pcap_open_dead(DLT_RAW, FILTER_SNAPLEN);
	if (!f->dead) {
		free(f);
		return -ENOMEM;
	}
	if (pcap_compile(f->dead, &f->prog, text, 1, PCAP_NETMASK_UNKNOWN)) {
		zcap_err("invalid filter expression '%s': %s", text, pcap_geterr(f->dead));
		pcap_close(f->dead);
		free(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

const struct sock_filter *filter_expr_insns(const struct filter_expr *f, unsigned int *len)
{
	*len = f->prog.bf_len;
	return (const struct sock_filter *)f->prog.bf_insns;
}

void filter_expr_free(struct filter_expr *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	pcap_close(f->dead);
	free(f);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static bool v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

/* The packet of bytes moved on socket fi (out: from its local end),
 * payload cut to what fits in an IP packet. Its length, 0 for none. */
static size_t build_packet(uint8_t *pkt, const struct zcap_fdinfo *fi, bool out,
			   const uint8_t *data, size_t data_len)
{
	const uint8_t *src = out ? fi->laddr : fi->raddr, *dst = out ? fi->raddr : fi->laddr;
	uint16_t sport = out ? fi->lport : fi->rport, dport = out ? fi->rport : fi->lport;
	bool tcp = fi->kind == ZCAP_FD_TCP, v4;
	size_t l4 = tcp ? 20 : 8, ip, room;
	uint8_t *h;

	if ((fi->kind != ZCAP_FD_TCP && fi->kind != ZCAP_FD_UDP) ||
	    (fi->family != AF_INET && fi->family != AF_INET6))
		return 0;
	/* a dual-stack socket talking to an IPv4 peer sends IPv4 */
	v4 = fi->family == AF_INET || (v4_mapped(src) && v4_mapped(dst));
	ip = v4 ? 20 : 40;
	room = 65535 - ip - l4;
	if (data_len > room)
		data_len = room;
	memset(pkt, 0, ip + l4);
	if (v4) {
		pkt[0] = 0x45;
		put16(pkt + 2, ip + l4 + data_len);
		pkt[6] = 0x40; /* DF, as Linux sets on TCP and PMTU-probing UDP */
		pkt[8] = 64;
		pkt[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(pkt + 12, fi->family == AF_INET ? src : src + 12, 4);
		memcpy(pkt + 16, fi->family == AF_INET ? dst : dst + 12, 4);
	} else {
		pkt[0] = 0x60;
		put16(pkt + 4, l4 + data_len);
		pkt[6] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		pkt[7] = 64;
		memcpy(pkt + 8, src, 16);
		memcpy(pkt + 24, dst, 16);
	}
	h = pkt + ip;
	put16(h, sport);
	put16(h + 2, dport);
	if (tcp) {
		h[12] = 5 << 4;
		h[13] = data_len ? 0x18 : 0x10; /* PSH|ACK with data, else ACK */
	} else {
		put16(h + 4, l4 + data_len);
	}
	if (data_len)
		memcpy(h + l4, data, data_len);
	return ip + l4 + data_len;
}

bool filter_expr_match_packet(const struct filter_expr *f, const uint8_t *pkt, size_t len)
{
	struct pcap_pkthdr hdr = { .caplen = len, .len = len };

	return pcap_offline_filter(&f->prog, &hdr, pkt) != 0;
}

static bool match_fd(struct filter_expr *f, const struct zcap_fdinfo *fi, bool out,
		     const struct zrec *r, bool with_data)
{
	size_t len = build_packet(f->pkt, fi, out, with_data ? r->data : NULL,
				  with_data ? r->data_len : 0);

	return len && filter_expr_match_packet(f, f->pkt, len);
}

bool filter_expr_match_record(struct filter_expr *f, const struct zrec *r)
{
	const struct zev *ev = r->ev;

	switch (ev->type) {
	case ZCAP_EV_IO:
		return match_fd(f, &ev->io->f, ev->io->dir == ZCAP_DIR_OUT, r, true);
	case ZCAP_EV_SEND:
		return match_fd(f, &ev->send->f, true, r, true);
	case ZCAP_EV_FD:
		/* accept: the connection and the listener; connect, close: the fd */
		return match_fd(f, &ev->fd->f, true, r, false) ||
		       match_fd(f, &ev->fd->f2, true, r, false);
	case ZCAP_EV_XFER:
		/* bytes left the in-socket's peer and went out of the out-socket */
		return match_fd(f, &ev->xfer->in, false, r, false) ||
		       match_fd(f, &ev->xfer->out, true, r, false);
	}
	return false;
}
