// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Packet attribution (user/pktattr.c) and the packet sink's loopback and
 * counting rules (user/sink_pcapng.c): owners by socket tuple with the
 * wildcard fallbacks, zero-copy source lines, one copy per loopback packet
 * (GSO segments included), -c, -p filtering, read back through libpcap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <cmocka.h>

#include "pktattr.h"
#include "sink_pcapng.h"

static const uint8_t LOCAL[4] = { 127, 0, 0, 1 };
static const uint8_t NET_A[4] = { 192, 168, 1, 2 };
static const uint8_t NET_B[4] = { 10, 0, 0, 9 };
static const uint8_t DNS[4] = { 8, 8, 8, 8 };

/* IPv4 + TCP (20 + 20 bytes) or UDP header; returns the header length.
 * The packet on the wire is that plus payload bytes (not all captured). */
static size_t mk_ip4(uint8_t *b, uint8_t proto, const uint8_t *src, const uint8_t *dst,
		     uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	size_t l4 = proto == IPPROTO_TCP ? 20 : 8;

	memset(b, 0, 20 + l4);
	b[0] = 0x45;
	b[6] = 0x40; /* DF */
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	b[20] = sport >> 8;
	b[21] = sport;
	b[22] = dport >> 8;
	b[23] = dport;
	if (proto == IPPROTO_TCP) {
		for (int i = 0; i < 4; i++) {
			b[24 + i] = seq >> (24 - 8 * i);
			b[28 + i] = ack >> (24 - 8 * i);
		}
		b[32] = 5 << 4;
		b[33] = flags;
	}
	return 20 + l4;
}

/* A record naming a socket: an IO record (fd >= 0) or a SEND record. */
struct fake {
	union {
		struct zcap_io io;
		struct zcap_fd_ev fd;
		struct zcap_send_ev send;
	};
	struct zev ev;
	struct zrec r;
};

static void fill_sock(struct zcap_fdinfo *f, int family, int kind, const uint8_t *laddr,
		      uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->family = family;
	f->lport = lport;
	f->rport = rport;
	if (family == AF_INET6) { /* IPv4-mapped, as a dual-stack socket sees IPv4 peers */
		memcpy(f->laddr, mapped, 12);
		memcpy(f->raddr, mapped, 12);
		memcpy(f->laddr + 12, laddr, 4);
		memcpy(f->raddr + 12, raddr, 4);
	} else {
		memcpy(f->laddr, laddr, 4);
		memcpy(f->raddr, raddr, 4);
	}
}

static void fill_hdr(struct zcap_hdr *h, int type, uint32_t pid, uint32_t tid, const char *comm,
		     uint64_t ts)
{
	h->type = type;
	h->pid = pid;
	h->tid = tid;
	h->ts_ns = ts;
	strncpy(h->comm, comm, sizeof(h->comm));
}

static const struct zrec *io_rec(struct fake *k, uint32_t pid, uint32_t tid, const char *comm,
				 int fd, int family, int kind, const uint8_t *laddr, uint16_t lport,
				 const uint8_t *raddr, uint16_t rport)
{
	memset(k, 0, sizeof(*k));
	fill_hdr(&k->io.h, ZCAP_EV_IO, pid, tid, comm, 1000);
	k->io.h.hdr_len = sizeof(k->io);
	fill_sock(&k->io.f, family, kind, laddr, lport, raddr, rport);
	k->io.fd = fd;
	k->ev.type = ZCAP_EV_IO;
	k->ev.h = &k->io.h;
	k->ev.io = &k->io;
	k->r.ev = &k->ev;
	return &k->r;
}

/* accept(): f = the connection, f2 = the listener. */
static const struct zrec *accept_rec(struct fake *k, uint32_t pid, const char *comm, int fd,
				     int lfd, const uint8_t *laddr, uint16_t lport,
				     const uint8_t *raddr, uint16_t rport)
{
	static const uint8_t any[4];

	memset(k, 0, sizeof(*k));
	fill_hdr(&k->fd.h, ZCAP_EV_FD, pid, pid, comm, 1000);
	k->fd.h.hdr_len = sizeof(k->fd);
	fill_sock(&k->fd.f, AF_INET, ZCAP_FD_TCP, laddr, lport, raddr, rport);
	fill_sock(&k->fd.f2, AF_INET, ZCAP_FD_TCP, any, lport, any, 0);
	k->fd.syscall = ZCAP_SYS_ACCEPT4;
	k->fd.fd = fd;
	k->fd.fd2 = lfd;
	k->ev.type = ZCAP_EV_FD;
	k->ev.h = &k->fd.h;
	k->ev.fd = &k->fd;
	k->r.ev = &k->ev;
	return &k->r;
}

/* A zero-copy body record: [seq, seq + len) came from [off, off + len) of path. */
static const struct zrec *send_rec(struct fake *k, uint32_t pid, const char *comm,
				   const uint8_t *laddr, uint16_t lport, const uint8_t *raddr,
				   uint16_t rport, uint32_t seq, uint64_t len, const char *path,
				   int64_t off)
{
	memset(k, 0, sizeof(*k));
	fill_hdr(&k->send.h, ZCAP_EV_SEND, pid, pid, comm, 1000);
	k->send.h.hdr_len = sizeof(k->send);
	fill_sock(&k->send.f, AF_INET, ZCAP_FD_TCP, laddr, lport, raddr, rport);
	k->ev.type = ZCAP_EV_SEND;
	k->ev.h = &k->send.h;
	k->ev.send = &k->send;
	k->r.ev = &k->ev;
	k->r.len = len;
	k->r.via = "sendfile";
	k->r.src_path = path;
	k->r.src_off = off;
	k->r.has_seq = true;
	k->r.tcp_seq = seq;
	return &k->r;
}

static void parse4(struct pkt_info *pi, uint8_t proto, const uint8_t *src, const uint8_t *dst,
		   uint16_t sport, uint16_t dport, uint32_t seq, uint32_t payload)
{
	uint8_t b[64];
	size_t n = mk_ip4(b, proto, src, dst, sport, dport, seq, 0, 0x18);

	assert_int_equal(pkt_parse(b, n, n + payload, pi), 0);
}

static void test_parse(void **state)
{
	uint8_t b[128];
	struct pkt_info pi;
	size_t n = mk_ip4(b, IPPROTO_TCP, NET_A, NET_B, 40000, 80, 0xfffffff0, 77, 0x12);
	static const uint8_t mapped_a[16] = { [10] = 0xff, [11] = 0xff, 192, 168, 1, 2 };

	assert_int_equal(pkt_parse(b, n, n + 1000, &pi), 0);
	assert_int_equal(pi.version, 4);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_true(pi.has_ports);
	assert_memory_equal(pi.saddr, mapped_a, 16);
	assert_int_equal(pi.sport, 40000);
	assert_int_equal(pi.dport, 80);
	assert_int_equal(pi.seq, 0xfffffff0);
	assert_int_equal(pi.ack, 77);
	assert_int_equal(pi.tcp_flags, 0x12);
	assert_int_equal(pi.payload_len, 1000); /* from the wire length, not the capture */

	/* a later fragment: addresses but no ports */
	b[6] = 0x00;
	b[7] = 0x10;
	assert_int_equal(pkt_parse(b, n, n, &pi), 0);
	assert_false(pi.has_ports);
	/* too short, not IP */
	assert_int_equal(pkt_parse(b, 19, 19, &pi), -EINVAL);
	b[0] = 0x55;
	assert_int_equal(pkt_parse(b, n, n, &pi), -EINVAL);
	assert_int_equal(pkt_parse(NULL, 0, 0, &pi), -EINVAL);

	/* IPv6, hop-by-hop options, then UDP ::1:5000 -> ::1:53 with 12 payload bytes */
	memset(b, 0, sizeof(b));
	b[0] = 0x60;
	b[6] = 0; /* next: hop-by-hop */
	b[23] = 1;
	b[39] = 1;
	b[40] = IPPROTO_UDP;
	b[41] = 0; /* 8 bytes */
	b[48] = 5000 >> 8;
	b[49] = 5000 & 0xff;
	b[51] = 53;
	assert_int_equal(pkt_parse(b, 56, 56 + 12, &pi), 0);
	assert_int_equal(pi.version, 6);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 5000);
	assert_int_equal(pi.dport, 53);
	assert_int_equal(pi.payload_len, 12);
	assert_int_equal(pi.saddr[15], 1);
	/* the extension header cut off: no ports, no crash */
	assert_int_equal(pkt_parse(b, 44, 56, &pi), 0);
	assert_false(pi.has_ports);
}

static void test_owners(void **state)
{
	struct pktattr *a = pktattr_new();
	struct pkt_owner o;
	struct pkt_info pi;
	struct fake k;
	static const uint8_t any[4];

	/* curl's connected socket; the server's accepted one and its listener */
	pktattr_learn(a, io_rec(&k, 100, 101, "curl", 5, AF_INET, ZCAP_FD_TCP, LOCAL, 40000,
				LOCAL, 8080));
	pktattr_learn(a, accept_rec(&k, 200, "python3", 7, 3, LOCAL, 8080, LOCAL, 40000));
	assert_int_equal(pktattr_sockets(a), 3);

	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 40000, 8080, 1, 10);
	assert_true(pktattr_owner(a, &pi, true, &o));
	assert_int_equal(o.pid, 100);
	assert_int_equal(o.tid, 101);
	assert_int_equal(o.fd, 5);
	assert_string_equal(o.comm, "curl");
	assert_true(pktattr_owner(a, &pi, false, &o));
	assert_int_equal(o.pid, 200);
	assert_int_equal(o.fd, 7);
	assert_string_equal(o.comm, "python3");

	/* a handshake from a client no record named yet: the listener's owner */
	parse4(&pi, IPPROTO_TCP, NET_B, LOCAL, 5555, 8080, 1, 0);
	assert_true(pktattr_owner(a, &pi, false, &o));
	assert_int_equal(o.pid, 200);
	assert_int_equal(o.fd, 3);
	assert_false(pktattr_owner(a, &pi, true, &o)); /* the remote end */
	/* by the exact 4-tuple only: the accepted socket, not the listener */
	assert_false(pktattr_owner_connected(a, &pi, false, &o));
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 40000, 8080, 1, 10);
	assert_true(pktattr_owner_connected(a, &pi, false, &o));
	assert_int_equal(o.fd, 7);
	parse4(&pi, IPPROTO_TCP, NET_B, LOCAL, 5555, 8080, 1, 0);
	/* same port, other protocol; other port */
	parse4(&pi, IPPROTO_UDP, NET_B, LOCAL, 5555, 8080, 0, 0);
	assert_false(pktattr_owner(a, &pi, false, &o));
	parse4(&pi, IPPROTO_TCP, NET_B, LOCAL, 5555, 8081, 1, 0);
	assert_false(pktattr_owner(a, &pi, false, &o));

	/* a dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d */
	pktattr_learn(a, io_rec(&k, 300, 300, "nginx", 9, AF_INET6, ZCAP_FD_TCP, NET_A, 443,
				NET_B, 6000));
	parse4(&pi, IPPROTO_TCP, NET_B, NET_A, 6000, 443, 1, 100);
	assert_true(pktattr_owner(a, &pi, false, &o));
	assert_int_equal(o.pid, 300);
	assert_int_equal(o.fd, 9);

	/* unconnected UDP sendto(): any local address, the destination from the call */
	pktattr_learn(a, io_rec(&k, 400, 401, "dig", 4, AF_INET, ZCAP_FD_UDP, any, 5353, DNS, 53));
	parse4(&pi, IPPROTO_UDP, NET_A, DNS, 5353, 53, 0, 30);
	assert_true(pktattr_owner(a, &pi, true, &o));
	assert_int_equal(o.pid, 400);

	/* a send-path record has no fd: the fd its process used stays ... */
	pktattr_learn(a, send_rec(&k, 100, "curl", LOCAL, 40000, LOCAL, 8080, 1, 0, NULL, 0));
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 40000, 8080, 1, 10);
	assert_true(pktattr_owner(a, &pi, true, &o));
	assert_int_equal(o.fd, 5);
	/* ... unless another process now uses the socket (inherited fd) */
	pktattr_learn(a, send_rec(&k, 150, "child", LOCAL, 40000, LOCAL, 8080, 1, 0, NULL, 0));
	assert_true(pktattr_owner(a, &pi, true, &o));
	assert_int_equal(o.pid, 150);
	assert_int_equal(o.fd, -1);
	assert_string_equal(o.comm, "child");
	/* sockets not bound yet name nothing */
	pktattr_learn(a, io_rec(&k, 500, 500, "x", 3, AF_INET, ZCAP_FD_TCP, any, 0, any, 0));
	assert_int_equal(pktattr_sockets(a), 5);
	pktattr_free(a);
}

struct lines {
	int n;
	char l[8][256];
};

static void collect(void *ctx, const char *line)
{
	struct lines *ls = ctx;

	assert_true(ls->n < 8);
	snprintf(ls->l[ls->n++], sizeof(ls->l[0]), "%s", line);
}

static void test_sources(void **state)
{
	struct pktattr *a = pktattr_new();
	struct lines ls = { 0 };
	struct pkt_info pi;
	struct fake k;

	/* two sendfile chunks, contiguous in the file and the stream */
	pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 80, LOCAL, 40000, 1000, 100,
				  "/srv/www/big.bin", 65536));
	pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 80, LOCAL, 40000, 1100, 100,
				  "/srv/www/big.bin", 65636));
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 1050, 100);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 1);
	assert_string_equal(ls.l[0], "sendfile /srv/www/big.bin [65586, 65686)");

	/* headers before the body: only the body's part is named */
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 900, 150);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 1);
	assert_string_equal(ls.l[0], "sendfile /srv/www/big.bin [65536, 65586)");
	/* the other direction, or bytes before/after: nothing */
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 40000, 80, 1050, 100);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 0);
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 1200, 100);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 0);
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 1000, 0); /* pure ACK */
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 0);

	/* a jump in the file: two lines; sequence numbers wrap */
	pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 81, LOCAL, 40001, 0xffffffc0, 64,
				  "/a", 0));
	pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 81, LOCAL, 40001, 0, 64, "/a", 4096));
	pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 81, LOCAL, 40001, 64, 10, "/b", -1));
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 81, 40001, 0xffffffe0, 100);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 3);
	assert_string_equal(ls.l[0], "sendfile /a [32, 64)");
	assert_string_equal(ls.l[1], "sendfile /a [4096, 4160)");
	assert_string_equal(ls.l[2], "sendfile /b (4 bytes, offset unknown)");
	pktattr_free(a);
}

/* A socket's zero-copy call in progress: its payload packets wait for the
 * ranges; its ACKs, the other direction and other sockets do not; two
 * calls at once (two threads) keep it busy until both ended. */
static void test_zc_pending(void **state)
{
	struct pktattr *a = pktattr_new();
	struct zcap_fdinfo sock, other;
	struct pkt_info pi, ack, back, elsewhere;

	fill_sock(&sock, AF_INET, ZCAP_FD_TCP, LOCAL, 80, LOCAL, 40000);
	fill_sock(&other, AF_INET, ZCAP_FD_UDP, LOCAL, 53, LOCAL, 40000);
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 1000, 100);
	parse4(&ack, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 1000, 0);
	parse4(&back, IPPROTO_TCP, LOCAL, LOCAL, 40000, 80, 1000, 100);
	parse4(&elsewhere, IPPROTO_TCP, LOCAL, LOCAL, 80, 40001, 1000, 100);
	assert_false(pktattr_zc_pending(a, &pi));
	pktattr_zc_busy(a, &sock, true);
	pktattr_zc_busy(a, &other, true); /* not TCP: no flow */
	assert_true(pktattr_zc_pending(a, &pi));
	assert_false(pktattr_zc_pending(a, &ack));
	assert_false(pktattr_zc_pending(a, &back));
	assert_false(pktattr_zc_pending(a, &elsewhere));
	pktattr_zc_busy(a, &sock, true);
	pktattr_zc_busy(a, &sock, false);
	assert_true(pktattr_zc_pending(a, &pi));
	pktattr_zc_busy(a, &sock, false);
	assert_false(pktattr_zc_pending(a, &pi));
	pktattr_zc_busy(a, &sock, false); /* one end too many: stays idle */
	pktattr_zc_busy(a, &sock, true);
	assert_true(pktattr_zc_pending(a, &pi));
	pktattr_free(a);
}

/* A keep-alive flow with hundreds of ranges, some recorded out of order
 * (two CPUs' records): a packet from the middle, the oldest and the newest
 * find exactly theirs, and the ring keeps the newest RANGES_MAX (1024). */
static void test_sources_long_flow(void **state)
{
	struct pktattr *a = pktattr_new();
	struct lines ls = { 0 };
	struct pkt_info pi;
	struct fake k;
	char path[32];

	(void)state;
	for (uint32_t i = 0; i < 1500; i++) {
		/* records 2k and 2k+1 swapped in the middle third */
		uint32_t j = i >= 500 && i < 1000 ? i ^ 1 : i;

		snprintf(path, sizeof(path), "/f%u", j);
		pktattr_learn(a, send_rec(&k, 1, "nginx", LOCAL, 80, LOCAL, 40000, 5000 + 1000 * j,
					  1000, path, 0));
	}
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 5000 + 1000 * 700 + 500, 1000);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 2);
	assert_string_equal(ls.l[0], "sendfile /f700 [500, 1000)");
	assert_string_equal(ls.l[1], "sendfile /f701 [0, 500)");
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 5000 + 1000 * 1499, 1000);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 1);
	assert_string_equal(ls.l[0], "sendfile /f1499 [0, 1000)");
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 5000 + 1000 * 476, 3000);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 3);
	assert_string_equal(ls.l[0], "sendfile /f476 [0, 1000)");
	assert_string_equal(ls.l[2], "sendfile /f478 [0, 1000)");
	/* older than the ring keeps, and newer than any range: nothing */
	ls.n = 0;
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 5000 + 1000 * 475, 1000);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 0);
	parse4(&pi, IPPROTO_TCP, LOCAL, LOCAL, 80, 40000, 5000 + 1000 * 1500, 1000);
	assert_int_equal(pktattr_sources(a, &pi, collect, &ls), 0);
	pktattr_free(a);
}

/* ---- the sink: what reaches the file ---- */

struct sinkrun {
	char path[64];
	int fd;
	struct sink *s;
	uint32_t lo;
	uint64_t ts;
};

static void sink_start(struct sinkrun *sr, uint64_t max_packets, bool owned_only)
{
	struct pkt_sink_opts o = {
		.name = "test",
		.format = PKT_FORMAT_PCAPNG,
		.snaplen = UINT32_MAX,
		.max_packets = max_packets,
		.owned_only = owned_only,
		.quiet = true,
	};

	snprintf(sr->path, sizeof(sr->path), "/tmp/zcap-test-pktattr.XXXXXX");
	sr->fd = mkstemp(sr->path);
	assert_true(sr->fd >= 0);
	o.fd = sr->fd;
	sr->s = sink_pcapng_new(&o);
	assert_non_null(sr->s);
	sr->lo = if_nametoindex("lo");
	assert_true(sr->lo > 0);
	sr->ts = 1000000;
}

/* Feed one packet of `hdr` bytes captured (+ payload on the wire). */
static void feed_pkt(struct sinkrun *sr, uint32_t ifindex, int dir, const uint8_t *hdr,
		     size_t caplen, uint32_t payload)
{
	struct {
		struct zcap_pkt_ev pe;
		uint8_t data[64];
	} rec;
	struct zev ev = { .type = ZCAP_EV_PKT };
	struct zrec r = { .ev = &ev };

	memset(&rec, 0, sizeof(rec));
	rec.pe.h.type = ZCAP_EV_PKT;
	rec.pe.h.ts_ns = sr->ts++;
	rec.pe.h.data_len = caplen;
	rec.pe.pkt_len = caplen + payload;
	rec.pe.ifindex = ifindex;
	rec.pe.dir = dir;
	memcpy(rec.data, hdr, caplen);
	ev.h = &rec.pe.h;
	ev.pkt = &rec.pe;
	ev.data = rec.data;
	ev.data_len = caplen;
	r.data = rec.data;
	r.data_len = caplen;
	assert_int_equal(sr->s->ops->record(sr->s, &r), 0);
}

/* Finish, then read the file back with libpcap: packets' wire lengths. */
static int sink_finish(struct sinkrun *sr, uint32_t *lens, int max, char *file, size_t filelen)
{
	struct zcap_stats st = { 0 };
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	FILE *f;
	int n = 0;

	assert_int_equal(sr->s->ops->finish(sr->s, &st), 0);
	sr->s->ops->destroy(sr->s);
	close(sr->fd);
	p = pcap_open_offline(sr->path, err);
	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), DLT_RAW);
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_true(n < max);
		lens[n++] = h->len;
	}
	pcap_close(p);
	f = fopen(sr->path, "rb");
	assert_non_null(f);
	memset(file, 0, filelen);
	assert_true(fread(file, 1, filelen - 1, f) > 0);
	fclose(f);
	unlink(sr->path);
	return n;
}

static bool file_has(const char *file, size_t len, const char *s)
{
	return memmem(file, len, s, strlen(s)) != NULL;
}

static void test_sink_loopback(void **state)
{
	static char file[16384];
	struct sinkrun sr;
	uint32_t lens[16];
	uint8_t syn[64], big[64], seg1[64], seg2[64], lone[64];
	size_t n;
	struct fake k;

	sink_start(&sr, 0, false);
	sr.s->ops->record(sr.s, io_rec(&k, 100, 101, "curl", 5, AF_INET, ZCAP_FD_TCP, LOCAL,
				       40000, LOCAL, 8080));
	/* a SYN seen leaving and arriving: once */
	n = mk_ip4(syn, IPPROTO_TCP, LOCAL, LOCAL, 40000, 8080, 7, 0, 0x02);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_OUT, syn, n, 0);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_IN, syn, n, 0);
	/* a 3000-byte GSO packet that arrives as two 1500-byte segments */
	n = mk_ip4(big, IPPROTO_TCP, LOCAL, LOCAL, 8080, 40000, 500, 8, 0x18);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_OUT, big, n, 3000);
	mk_ip4(seg1, IPPROTO_TCP, LOCAL, LOCAL, 8080, 40000, 500, 8, 0x10);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_IN, seg1, n, 1500);
	mk_ip4(seg2, IPPROTO_TCP, LOCAL, LOCAL, 8080, 40000, 2000, 8, 0x18);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_IN, seg2, n, 1500);
	/* the receiver not captured: the egress copy is all there is */
	n = mk_ip4(lone, IPPROTO_TCP, LOCAL, LOCAL, 40000, 8080, 8, 3500, 0x10);
	feed_pkt(&sr, sr.lo, ZCAP_DIR_OUT, lone, n, 0);
	assert_int_equal(sink_finish(&sr, lens, 16, file, sizeof(file)), 4);
	assert_int_equal(lens[0], 40);	 /* SYN */
	assert_int_equal(lens[1], 1540); /* the segments, not the GSO packet */
	assert_int_equal(lens[2], 1540);
	assert_int_equal(lens[3], 40);
	/* curl named on every packet: as sender, and as receiver ("to pid ...") */
	assert_true(file_has(file, sizeof(file), "pid 100 tid 101 comm curl fd 5"));
}

static void test_sink_count_and_filter(void **state)
{
	static char file[16384];
	struct sinkrun sr;
	uint32_t lens[16];
	uint8_t p[64];
	size_t n;
	struct fake k;

	/* -c 2: exactly two packets, and the tick says stop */
	sink_start(&sr, 2, false);
	n = mk_ip4(p, IPPROTO_UDP, NET_A, NET_B, 1, 2, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		feed_pkt(&sr, sr.lo + 1000, ZCAP_DIR_OUT, p, n, 10 * i);
	assert_false(sink_pcapng_tick(sr.s, 0)); /* held for their window */
	assert_true(sink_pcapng_tick(sr.s, sr.ts + PKT_HOLD_NS));
	assert_int_equal(sink_finish(&sr, lens, 16, file, sizeof(file)), 2);
	assert_int_equal(lens[0], 28);
	assert_int_equal(lens[1], 38);

	/* -p: packets of sockets no captured process used are left out; a
	 * handshake that precedes the record naming its socket is kept */
	sink_start(&sr, 0, true);
	n = mk_ip4(p, IPPROTO_TCP, NET_B, NET_A, 6000, 443, 1, 0, 0x02);
	feed_pkt(&sr, sr.lo + 1000, ZCAP_DIR_IN, p, n, 0);
	n = mk_ip4(p, IPPROTO_TCP, NET_B, NET_A, 7000, 22, 1, 0, 0x02);
	feed_pkt(&sr, sr.lo + 1000, ZCAP_DIR_IN, p, n, 0);
	n = mk_ip4(p, IPPROTO_TCP, NET_B, NET_A, 6001, 443, 1, 0, 0x02);
	feed_pkt(&sr, sr.lo + 1000, ZCAP_DIR_IN, p, n, 0);
	sr.s->ops->record(sr.s, accept_rec(&k, 300, "nginx", 9, 6, NET_A, 443, NET_B, 6000));
	sink_pcapng_lost(sr.s, sr.lo + 1000, 5);
	assert_int_equal(sink_finish(&sr, lens, 16, file, sizeof(file)), 2);
	assert_true(file_has(file, sizeof(file), "pid 300 tid 300 comm nginx fd 9"));
	/* not yet accepted: the listener's owner */
	assert_true(file_has(file, sizeof(file), "pid 300 tid 300 comm nginx fd 6"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_sources_long_flow),
		cmocka_unit_test(test_zc_pending),
		cmocka_unit_test(test_sink_loopback),
		cmocka_unit_test(test_sink_count_and_filter),
	};

	return cmocka_run_group_tests_name("pktattr", tests, NULL, NULL);
}
