// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "escape.h"
#include "pktattr.h"
#include "util.h"

#define SOCK_BUCKETS	16384 /* power of two */
#define SOCK_MAX	(1 << 17)
#define FLOW_BUCKETS	1024 /* power of two */
#define FLOWS_MAX	4096
#define RANGES_MAX	1024 /* zero-copy ranges remembered per TCP flow */
#define PIECES_MAX	32   /* source pieces named per packet */
#define IPV6_EXT_MAX	8

/* One end of a socket, as the local process sees it. Compared and hashed
 * as bytes: always built from a zeroed struct. */
struct tuple_key {
	uint8_t proto;
	uint8_t _pad;
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
};

struct sock_ent {
	struct sock_ent *next;
	struct tuple_key k;
	struct pkt_owner o;
	uint64_t ts; /* of the last record that named it */
};

/* [seq, seq + len) of a flow came from [off, off + len) of path. */
struct zc_range {
	uint32_t seq;
	uint64_t len;
	int64_t off;
	char *path;
	char via[16];
};

struct zc_flow {
	struct zc_flow *next;
	struct tuple_key k;
	struct zc_range *r; /* ring of cap entries, n used, head = oldest */
	unsigned int cap, n, head;
	uint64_t ts;
	unsigned int busy; /* zero-copy calls in progress (pktattr_zc_busy) */
};

struct pktattr {
	struct sock_ent *socks[SOCK_BUCKETS];
	size_t nsocks;
	uint64_t newest_ts;
	struct zc_flow *flows[FLOW_BUCKETS];
	size_t nflows;
};

static uint32_t key_hash(const struct tuple_key *k)
{
	return (uint32_t)hash_bytes(k, sizeof(*k));
}

static bool is_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

/* 16-byte form: IPv4 as ::ffff:a.b.c.d; any address (0.0.0.0, ::,
 * ::ffff:0.0.0.0) as all zeroes. */
static void norm_addr(int family, const uint8_t *in, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, 16);
	if (family == AF_INET) {
		if (is_zero(in, 4))
			return;
		memcpy(out, mapped, 12);
		memcpy(out + 12, in, 4);
	} else if (family == AF_INET6) {
		if (!memcmp(in, mapped, 12) && is_zero(in + 12, 4))
			return;
		memcpy(out, in, 16);
	}
}

int pkt_parse(const uint8_t *pkt, size_t caplen, uint32_t origlen, struct pkt_info *out)
{
	size_t l4off;
	uint8_t proto;

	memset(out, 0, sizeof(*out));
	if (!pkt || caplen < 1)
		return -EINVAL;
	out->version = pkt[0] >> 4;
	if (out->version == 4) {
		size_t ihl = (pkt[0] & 0x0f) * 4u;

		if (caplen < 20 || ihl < 20 || caplen < ihl)
			return -EINVAL;
		proto = pkt[9];
		norm_addr(AF_INET, pkt + 12, out->saddr);
		norm_addr(AF_INET, pkt + 16, out->daddr);
		l4off = ihl;
		out->proto = proto;
		/* later fragments carry no transport header */
		if (((pkt[6] & 0x1f) << 8 | pkt[7]) != 0)
			return 0;
	} else if (out->version == 6) {
		if (caplen < 40)
			return -EINVAL;
		norm_addr(AF_INET6, pkt + 8, out->saddr);
		norm_addr(AF_INET6, pkt + 24, out->daddr);
		proto = pkt[6];
		l4off = 40;
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			if (proto == 0 || proto == 43 || proto == 60) { /* hop-by-hop, routing, dst */
				if (caplen < l4off + 8)
					return 0;
				proto = pkt[l4off];
				l4off += (pkt[l4off + 1] + 1) * 8u;
			} else if (proto == 44) { /* fragment */
				if (caplen < l4off + 8)
					return 0;
				if (((pkt[l4off + 2] << 8 | pkt[l4off + 3]) & 0xfff8) != 0) {
					out->proto = pkt[l4off];
					return 0;
				}
				proto = pkt[l4off];
				l4off += 8;
			} else {
				break;
			}
		}
		out->proto = proto;
	} else {
		return -EINVAL;
	}
	if (proto == IPPROTO_TCP) {
		size_t doff;

		if (caplen < l4off + 20)
			return 0;
		doff = (pkt[l4off + 12] >> 4) * 4u;
		out->sport = pkt[l4off] << 8 | pkt[l4off + 1];
		out->dport = pkt[l4off + 2] << 8 | pkt[l4off + 3];
		out->seq = (uint32_t)pkt[l4off + 4] << 24 | pkt[l4off + 5] << 16 |
			   pkt[l4off + 6] << 8 | pkt[l4off + 7];
		out->ack = (uint32_t)pkt[l4off + 8] << 24 | pkt[l4off + 9] << 16 |
			   pkt[l4off + 10] << 8 | pkt[l4off + 11];
		out->tcp_flags = pkt[l4off + 13];
		out->has_ports = true;
		if (doff >= 20 && origlen > l4off + doff)
			out->payload_len = origlen - l4off - doff;
	} else if (proto == IPPROTO_UDP) {
		if (caplen < l4off + 8)
			return 0;
		out->sport = pkt[l4off] << 8 | pkt[l4off + 1];
		out->dport = pkt[l4off + 2] << 8 | pkt[l4off + 3];
		out->has_ports = true;
		if (origlen > l4off + 8)
			out->payload_len = origlen - l4off - 8;
	}
	return 0;
}

struct pktattr *pktattr_new(void)
{
	return calloc(1, sizeof(struct pktattr));
}

/* A flow's range i, oldest first. The ring's cap doubles from 16 up to
 * RANGES_MAX, so it is always a power of two. */
_Static_assert((RANGES_MAX & (RANGES_MAX - 1)) == 0, "RANGES_MAX is a power of two");
static struct zc_range *flow_range(const struct zc_flow *f, unsigned int i)
{
	return &f->r[(f->head + i) & (f->cap - 1)];
}

static void flow_free(struct zc_flow *f)
{
	for (unsigned int i = 0; i < f->n; i++)
		free(flow_range(f, i)->path);
	free(f->r);
	free(f);
}

void pktattr_free(struct pktattr *a)
{
	if (!a)
		return;
	for (size_t b = 0; b < SOCK_BUCKETS; b++) {
		while (a->socks[b]) {
			struct sock_ent *e = a->socks[b];

			a->socks[b] = e->next;
			free(e);
		}
	}
	for (size_t b = 0; b < FLOW_BUCKETS; b++) {
		while (a->flows[b]) {
			struct zc_flow *f = a->flows[b];

			a->flows[b] = f->next;
			flow_free(f);
		}
	}
	free(a);
}

size_t pktattr_sockets(const struct pktattr *a)
{
	return a->nsocks;
}

static struct sock_ent *sock_find(struct pktattr *a, const struct tuple_key *k)
{
	for (struct sock_ent *e = a->socks[key_hash(k) & (SOCK_BUCKETS - 1)]; e; e = e->next)
		if (!memcmp(&e->k, k, sizeof(*k)))
			return e;
	return NULL;
}

/* Forget sockets no record named for a long time: halve the age limit
 * until the table is back under three quarters of its size. */
static void sock_evict(struct pktattr *a)
{
	uint64_t age = 60ULL * 1000000000ULL;

	while (a->nsocks > SOCK_MAX * 3 / 4 && age) {
		uint64_t cutoff = a->newest_ts > age ? a->newest_ts - age : 0;

		for (size_t b = 0; b < SOCK_BUCKETS; b++) {
			for (struct sock_ent **pp = &a->socks[b]; *pp;) {
				struct sock_ent *e = *pp;

				if (e->ts <= cutoff) {
					*pp = e->next;
					free(e);
					a->nsocks--;
				} else {
					pp = &e->next;
				}
			}
		}
		age /= 2;
	}
}

/* The key of the packet's sender (src) or receiver end, as that end sees it. */
static void packet_key(const struct pkt_info *p, bool src, struct tuple_key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	k->lport = src ? p->sport : p->dport;
	k->rport = src ? p->dport : p->sport;
	memcpy(k->laddr, src ? p->saddr : p->daddr, 16);
	memcpy(k->raddr, src ? p->daddr : p->saddr, 16);
}

static bool key_of(const struct zcap_fdinfo *f, struct tuple_key *k)
{
	memset(k, 0, sizeof(*k));
	if (f->kind == ZCAP_FD_TCP)
		k->proto = IPPROTO_TCP;
	else if (f->kind == ZCAP_FD_UDP)
		k->proto = IPPROTO_UDP;
	else
		return false;
	if (!f->lport)
		return false; /* not bound yet: no packet can carry it */
	k->lport = f->lport;
	k->rport = f->rport;
	norm_addr(f->family, f->laddr, k->laddr);
	norm_addr(f->family, f->raddr, k->raddr);
	return true;
}

static void learn_sock(struct pktattr *a, const struct zcap_fdinfo *f, const struct zcap_hdr *h,
		       int fd)
{
	struct tuple_key k;
	struct sock_ent *e;
	size_t clen;

	if (!key_of(f, &k))
		return;
	if (h->ts_ns > a->newest_ts)
		a->newest_ts = h->ts_ns;
	e = sock_find(a, &k);
	if (!e) {
		if (a->nsocks >= SOCK_MAX)
			sock_evict(a);
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->k = k;
		e->o.fd = -1;
		e->next = a->socks[key_hash(&k) & (SOCK_BUCKETS - 1)];
		a->socks[key_hash(&k) & (SOCK_BUCKETS - 1)] = e;
		a->nsocks++;
	}
	/* a record without an fd (send path) keeps the fd its process used */
	if (fd >= 0)
		e->o.fd = fd;
	else if (e->o.pid != h->pid)
		e->o.fd = -1;
	e->o.pid = h->pid;
	e->o.tid = h->tid;
	clen = strnlen(h->comm, ZCAP_COMM_LEN);
	memcpy(e->o.comm, h->comm, clen);
	e->o.comm[clen] = 0;
	e->ts = h->ts_ns;
}

static struct zc_flow *flow_find(struct pktattr *a, const struct tuple_key *k)
{
	for (struct zc_flow *f = a->flows[key_hash(k) & (FLOW_BUCKETS - 1)]; f; f = f->next)
		if (!memcmp(&f->k, k, sizeof(*k)))
			return f;
	return NULL;
}

static void flow_drop_oldest(struct pktattr *a)
{
	struct zc_flow **oldest = NULL;

	for (size_t b = 0; b < FLOW_BUCKETS; b++)
		for (struct zc_flow **pp = &a->flows[b]; *pp; pp = &(*pp)->next)
			if (!oldest || (*pp)->ts < (*oldest)->ts)
				oldest = pp;
	if (oldest) {
		struct zc_flow *f = *oldest;

		*oldest = f->next;
		flow_free(f);
		a->nflows--;
	}
}

static struct zc_flow *flow_get(struct pktattr *a, const struct tuple_key *k)
{
	struct zc_flow *f = flow_find(a, k);

	if (f)
		return f;
	if (a->nflows >= FLOWS_MAX)
		flow_drop_oldest(a);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->k = *k;
	f->next = a->flows[key_hash(k) & (FLOW_BUCKETS - 1)];
	a->flows[key_hash(k) & (FLOW_BUCKETS - 1)] = f;
	a->nflows++;
	return f;
}

/* Make room for one more range: grow the ring, or forget the oldest. */
static bool flow_room(struct zc_flow *f)
{
	struct zc_range *nr;
	unsigned int cap;

	if (f->n < f->cap)
		return true;
	if (f->cap >= RANGES_MAX) {
		free(f->r[f->head].path);
		f->head = (f->head + 1) & (f->cap - 1);
		f->n--;
		return true;
	}
	cap = f->cap ? f->cap * 2 : 16;
	nr = calloc(cap, sizeof(*nr));
	if (!nr)
		return false;
	for (unsigned int i = 0; i < f->n; i++)
		nr[i] = *flow_range(f, i);
	free(f->r);
	f->r = nr;
	f->cap = cap;
	f->head = 0;
	return true;
}

static void learn_range(struct pktattr *a, const struct zcap_fdinfo *fi, const struct zrec *r)
{
	uint64_t len = r->len > r->data_len ? r->len : r->data_len;
	struct tuple_key k;
	struct zc_range *rg;
	struct zc_flow *f;

	if (fi->kind != ZCAP_FD_TCP || !len || !key_of(fi, &k))
		return;
	f = flow_get(a, &k);
	if (!f || !flow_room(f))
		return;
	rg = flow_range(f, f->n);
	memset(rg, 0, sizeof(*rg));
	/* escaped once here: it is only ever shown in comments */
	rg->path = esc_strdup(r->src_path, 0);
	if (!rg->path)
		return;
	rg->seq = r->tcp_seq;
	rg->len = len;
	rg->off = r->src_off;
	snprintf(rg->via, sizeof(rg->via), "%s", r->via && *r->via ? r->via : "zero-copy");
	f->n++;
	f->ts = r->ev->h->ts_ns;
}

void pktattr_zc_busy(struct pktattr *a, const struct zcap_fdinfo *sock, bool busy)
{
	struct tuple_key k;
	struct zc_flow *f;

	if (sock->kind != ZCAP_FD_TCP || !key_of(sock, &k))
		return;
	f = busy ? flow_get(a, &k) : flow_find(a, &k);
	if (!f)
		return;
	if (busy) {
		f->busy++;
		f->ts = a->newest_ts;
	} else if (f->busy) {
		f->busy--;
	}
}

bool pktattr_zc_pending(struct pktattr *a, const struct pkt_info *p)
{
	struct tuple_key k;
	struct zc_flow *f;

	if (p->proto != IPPROTO_TCP || !p->has_ports || !p->payload_len)
		return false;
	packet_key(p, true, &k);
	f = flow_find(a, &k);
	return f && f->busy;
}

void pktattr_learn(struct pktattr *a, const struct zrec *r)
{
	const struct zev *ev = r->ev;
	const struct zcap_fdinfo *body_sock = NULL;

	switch (ev->type) {
	case ZCAP_EV_IO:
		learn_sock(a, &ev->io->f, ev->h, ev->io->fd);
		body_sock = &ev->io->f;
		break;
	case ZCAP_EV_FD:
		learn_sock(a, &ev->fd->f, ev->h, ev->fd->fd);
		learn_sock(a, &ev->fd->f2, ev->h, ev->fd->fd2);
		break;
	case ZCAP_EV_XFER:
		learn_sock(a, &ev->xfer->in, ev->h, ev->xfer->fd_in);
		learn_sock(a, &ev->xfer->out, ev->h, ev->xfer->fd_out);
		body_sock = &ev->xfer->out;
		break;
	case ZCAP_EV_SEND:
		learn_sock(a, &ev->send->f, ev->h, -1);
		body_sock = &ev->send->f;
		break;
	default:
		return;
	}
	if (body_sock && r->has_seq && r->src_path)
		learn_range(a, body_sock, r);
}

/* The connected socket; unless exact, then one bound to any address
 * (unconnected UDP sendto), a listener or unconnected socket on that
 * address, on any address. */
static bool owner_lookup(struct pktattr *a, const struct pkt_info *p, bool src, bool exact,
			 struct pkt_owner *out)
{
	struct tuple_key k;
	struct sock_ent *e;

	if (!p->has_ports)
		return false;
	packet_key(p, src, &k);
	e = sock_find(a, &k);
	if (!e && !exact) {
		memset(k.laddr, 0, 16);
		e = sock_find(a, &k);
		if (!e) {
			memcpy(k.laddr, src ? p->saddr : p->daddr, 16);
			memset(k.raddr, 0, 16);
			k.rport = 0;
			e = sock_find(a, &k);
		}
		if (!e) {
			memset(k.laddr, 0, 16);
			e = sock_find(a, &k);
		}
	}
	if (!e)
		return false;
	*out = e->o;
	return true;
}

bool pktattr_owner_connected(struct pktattr *a, const struct pkt_info *p, bool src,
			     struct pkt_owner *out)
{
	return owner_lookup(a, p, src, true, out);
}

bool pktattr_owner(struct pktattr *a, const struct pkt_info *p, bool src, struct pkt_owner *out)
{
	return owner_lookup(a, p, src, false, out);
}

struct piece {
	uint32_t start, end; /* within the packet's payload */
	int64_t off;	     /* file offset of start, -1 unknown */
	const struct zc_range *rg;
};

/* How far out of sequence order two ranges can be: records of two CPUs. */
#define RANGES_SWAPPED 8

/* Where a newest-first search for the packet's ranges begins: past the
 * first range that starts after the packet ends (found as if the ranges
 * were in sequence order) by as many as may be swapped. */
static unsigned int scan_end(const struct zc_flow *f, const struct pkt_info *p)
{
	unsigned int lo = 0, hi = f->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int32_t start = (int32_t)(flow_range(f, mid)->seq - p->seq);

		if (start >= (int64_t)p->payload_len)
			hi = mid;
		else
			lo = mid + 1;
	}
	return f->n - lo > RANGES_SWAPPED ? lo + RANGES_SWAPPED : f->n;
}

static bool continues(const struct piece *prev, const struct piece *p)
{
	if (p->start > prev->end || strcmp(prev->rg->path, p->rg->path) ||
	    strcmp(prev->rg->via, p->rg->via))
		return false;
	if (prev->off < 0 || p->off < 0)
		return prev->off == p->off;
	/* the same file bytes continue at the same place */
	return prev->off + (int64_t)(p->start - prev->start) == p->off;
}

int pktattr_sources(struct pktattr *a, const struct pkt_info *p, pktattr_line_fn fn, void *ctx)
{
	struct piece pieces[PIECES_MAX];
	struct tuple_key k;
	struct zc_flow *f;
	int n = 0, lines = 0;

	if (p->proto != IPPROTO_TCP || !p->has_ports || !p->payload_len)
		return 0;
	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_TCP;
	k.lport = p->sport;
	k.rport = p->dport;
	memcpy(k.laddr, p->saddr, 16);
	memcpy(k.raddr, p->daddr, 16);
	f = flow_find(a, &k);
	if (!f)
		return 0;
	/* Newest first from the packet's place: ranges come in sequence order
	 * (a socket's sends are serialised; records of two CPUs may swap a
	 * little), so once several in a row end before the packet starts, the
	 * older ones do too. A busy keep-alive connection keeps RANGES_MAX of
	 * them, and a packet held for the sink's window has hundreds newer
	 * than itself: those are skipped by bisection, not one by one. */
	for (unsigned int i = scan_end(f, p), behind = 0;
	     i-- > 0 && n < PIECES_MAX && behind < RANGES_SWAPPED;) {
		const struct zc_range *rg = flow_range(f, i);
		/* sequence arithmetic is modulo 2^32: distances as signed */
		int64_t start = (int32_t)(rg->seq - p->seq), end = start + (int64_t)rg->len;
		int64_t cs = start > 0 ? start : 0;
		int64_t ce = end < p->payload_len ? end : p->payload_len;
		struct piece pc;
		int j;

		behind = end <= 0 ? behind + 1 : 0;
		if (cs >= ce)
			continue;
		pc.start = cs;
		pc.end = ce;
		pc.off = rg->off >= 0 ? rg->off + (cs - start) : -1;
		pc.rg = rg;
		/* keep pieces sorted by where they start in the payload */
		for (j = n; j > 0 && pieces[j - 1].start > pc.start; j--)
			pieces[j] = pieces[j - 1];
		pieces[j] = pc;
		n++;
	}
	for (int i = 0; i < n;) {
		struct piece m = pieces[i++];
		char *line = NULL;
		int len;

		while (i < n && continues(&m, &pieces[i])) {
			if (pieces[i].end > m.end)
				m.end = pieces[i].end;
			i++;
		}
		if (m.off >= 0)
			len = asprintf(&line, "%s %s [%lld, %lld)", m.rg->via, m.rg->path,
				       (long long)m.off, (long long)(m.off + (m.end - m.start)));
		else
			len = asprintf(&line, "%s %s (%u bytes, offset unknown)", m.rg->via,
				       m.rg->path, m.end - m.start);
		if (len < 0)
			break;
		fn(ctx, line);
		free(line);
		lines++;
	}
	return lines;
}
