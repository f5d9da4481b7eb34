// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Packet sink: pcap-ng (or classic pcap) from ZCAP_EV_PKT records. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "escape.h"
#include "pcap_classic.h"
#include "pcapng.h"
#include "pktattr.h"
#include "rotate.h"
#include "sink_pcapng.h"
#include "status.h"
#include "util.h"

#define IFACES_MAX	 256
#define PKT_SNAP_MAX	 262144 /* kern/skb.bpf.c PKT_MAX */
/* Beyond this, packets go out before their window. Held packets are read
 * once more to be written: a cap the CPU's caches can keep near holds the
 * consumer's cost, where 256 MiB of them (64 KiB bodies at the bench's
 * rate) cost it page faults and cache misses enough to lose twice the
 * events (docs/performance.md). */
#define QUEUE_BYTES_MAX	 (32u << 20)
/* From this size on a packet's bytes are written from where they are held
 * (pcapng_epb.data_owner), not copied into the writer's buffer first: the
 * ring record is the one copy userspace makes. Below it a copy costs less
 * than an iovec. */
#define PIECE_MIN	 512
#define LO_BUCKETS	 4096	     /* power of two */
/* Queued packets up to 2 KiB with their struct qpkt come from free lists
 * of 512, 1024 and 2048-byte blocks: the queue holds thousands at once,
 * too many for malloc's per-thread cache, and malloc proper was the
 * consumer's largest cost at 1 KiB bodies. */
#define QPKT_CLASSES	 3
#define QPKT_CLASS_MIN	 512
#define QPKT_SPARE_MAX	 4096 /* blocks kept for reuse per class, at most */
#define COMMENTS_MAX	 8

struct iface {
	uint32_t ifindex;
	int if_id; /* pcap-ng interface id, -1 until its IDB is written */
	bool loopback;
	char name[IF_NAMESIZE];
	uint64_t seen, written, lost;
	/* at the start of the current file (-C/-G): its ISB counts from there */
	uint64_t file_seen, file_written, file_lost;
};

struct qpkt {
	struct qpkt *next, *prev; /* next: the free list's link too */
	/* loopback egress packets waiting for their ingress copies, by flow */
	struct qpkt *lo_next, **lo_pprev;
	uint64_t ts;
	struct iface *ifc;
	uint32_t pkt_len, caplen;
	uint8_t dir;
	bool parsed;
	bool copied; /* loopback egress packet whose ingress copies were captured */
	uint8_t owners; /* ZCAP_PKT_SND | ZCAP_PKT_RCV: named in the kernel */
	uint32_t copied_bytes; /* of its TCP payload, seen at ingress */
	uint64_t lo_id;	       /* of its headers (kern/skb.bpf.c), loopback only */
	uint64_t cgroup_id;    /* of the socket it was seen at, 0 if none */
	struct zcap_sock_owner snd, rcv;
	struct pkt_info pi;
	uint8_t data[];
};

/*
 * Lines built, by what they say: a flow's packets name the same processes
 * and cgroup packet after packet, and formatting them was most of the
 * sink's time per small packet. Owner lines are kept per (pid, tid, fd) in
 * a small table, not only the last one: a server's connections take turns
 * and each names its own fd.
 */
#define OWNER_LINES 64 /* power of two */

struct owner_line_cache {
	bool valid;
	struct pkt_owner o;
	char line[128];
};

struct cgroup_line_cache {
	bool valid;
	uint64_t id;
	char *lines[3]; /* cgroup, container, pod; NULL when not said */
};

struct pkt_sink {
	struct sink base; /* first: the capture loop sees a struct sink */
	struct pkt_sink_opts o;
	struct pcapng_writer *ng;
	struct pcap_classic_writer *classic;
	uint32_t snaplen; /* as written in the IDBs / file header */
	struct pktattr *attr;
	struct qpkt *qhead, *qtail;
	size_t qbytes;
	uint64_t watermark; /* newest record time seen */
	struct iface ifs[IFACES_MAX];
	int nifs;
	struct qpkt *lo_egress[LO_BUCKETS];
	struct owner_line_cache snd_line[OWNER_LINES], rcv_line[OWNER_LINES];
	struct cgroup_line_cache cgroup_line;
	struct qpkt *spare[QPKT_CLASSES]; /* free blocks by size class */
	size_t n_spare[QPKT_CLASSES];
	uint64_t written, bytes, filtered, duplicates, kernel_drops;
	uint64_t drops[ZCAP_DROP_MAX]; /* events lost in the kernel, by cause */
	uint64_t start_real_ns, start_mono_ns, last_progress_ns, last_write_ns;
	uint64_t file_start_ns; /* wall clock at the current file's start */
	bool progress_shown;
	bool done;
	int error;
};

static uint64_t real_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool is_loopback(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool lo = false;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr))
		lo = ifr.ifr_flags & IFF_LOOPBACK;
	close(fd);
	return lo;
}

static struct iface *iface_get(struct pkt_sink *s, uint32_t ifindex)
{
	struct iface *ifc;

	for (int i = 0; i < s->nifs; i++)
		if (s->ifs[i].ifindex == ifindex)
			return &s->ifs[i];
	if (s->nifs >= IFACES_MAX)
		return NULL;
	ifc = &s->ifs[s->nifs++];
	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = ifindex;
	ifc->if_id = -1;
	/* names are those of zcap's network namespace */
	if (!if_indextoname(ifindex, ifc->name))
		snprintf(ifc->name, sizeof(ifc->name), "if%u", ifindex);
	else
		ifc->loopback = is_loopback(ifc->name);
	return ifc;
}

static int iface_idb(struct pkt_sink *s, struct iface *ifc)
{
	char desc[96];
	int id;

	if (ifc->if_id >= 0 || !s->ng)
		return 0;
	snprintf(desc, sizeof(desc), "zcap cgroup_skb ingress/egress, ifindex %u%s", ifc->ifindex,
		 ifc->loopback ? ", loopback: each packet once" : "");
	id = pcapng_add_interface(s->ng, ifc->name, desc, PCAPNG_LINKTYPE_RAW, s->snaplen);
	if (id < 0)
		return id;
	ifc->if_id = id;
	return 0;
}

/* The size class of a queued packet; QPKT_CLASSES when it has none. */
static int qpkt_class(size_t data_len)
{
	size_t n = sizeof(struct qpkt) + data_len;
	int c = 0;

	while (c < QPKT_CLASSES && n > (size_t)QPKT_CLASS_MIN << c)
		c++;
	return c;
}

static struct qpkt *qpkt_alloc(struct pkt_sink *s, size_t data_len)
{
	int c = qpkt_class(data_len);
	struct qpkt *q;

	if (c == QPKT_CLASSES)
		return malloc(sizeof(*q) + data_len);
	if (!s->spare[c])
		return malloc((size_t)QPKT_CLASS_MIN << c);
	q = s->spare[c];
	s->spare[c] = q->next;
	s->n_spare[c]--;
	return q;
}

static void qpkt_free(struct pkt_sink *s, struct qpkt *q)
{
	int c = q ? qpkt_class(q->caplen) : QPKT_CLASSES;

	if (c < QPKT_CLASSES && s->n_spare[c] < QPKT_SPARE_MAX) {
		q->next = s->spare[c];
		s->spare[c] = q;
		s->n_spare[c]++;
		return;
	}
	free(q);
}

static size_t flow_bucket(const struct pkt_info *pi)
{
	struct {
		uint8_t saddr[16], daddr[16];
		uint16_t sport, dport;
		uint32_t proto;
	} k = {.sport = pi->sport, .dport = pi->dport, .proto = pi->proto};

	memcpy(k.saddr, pi->saddr, 16);
	memcpy(k.daddr, pi->daddr, 16);
	return hash_bytes(&k, sizeof(k)) & (LO_BUCKETS - 1);
}

static bool same_flow(const struct pkt_info *a, const struct pkt_info *b)
{
	return a->proto == b->proto && a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16);
}

static void lo_unlink(struct qpkt *q)
{
	if (!q->lo_pprev)
		return;
	*q->lo_pprev = q->lo_next;
	if (q->lo_next)
		q->lo_next->lo_pprev = q->lo_pprev;
	q->lo_pprev = NULL;
}

/*
 * On loopback a packet passes the sender's egress hook and then, as the
 * device delivered it, the receiver's ingress hook. tcpdump on lo shows
 * the delivered packets, once each. The kernel (kern/skb.bpf.c) drops an
 * ingress passage whose egress it captured on the same CPU, so nearly
 * every packet comes once. What still comes twice: an egress packet
 * delivered in other pieces (a GSO send split before delivery) and, rarely,
 * a copy the per-CPU memory missed. So an ingress packet is kept and marks
 * the egress packet it is a copy (same header identity) or a segment of;
 * the egress packet is written only when no copy came.
 */
static void lo_match_ingress(struct pkt_sink *s, const struct qpkt *in)
{
	for (struct qpkt *e = s->lo_egress[flow_bucket(&in->pi)]; e; e = e->lo_next) {
		int64_t start, end;

		if (e->copied || !same_flow(&e->pi, &in->pi))
			continue;
		if (e->lo_id == in->lo_id && e->pkt_len == in->pkt_len) {
			e->copied = true;
			return;
		}
		if (in->pi.proto != IPPROTO_TCP || !in->pi.payload_len || !e->pi.payload_len ||
		    in->pi.ack != e->pi.ack)
			continue;
		/* a segment of e: its bytes lie within e's (sequence numbers wrap) */
		start = (int32_t)(in->pi.seq - e->pi.seq);
		end = start + in->pi.payload_len;
		if (start < 0 || end > e->pi.payload_len)
			continue;
		e->copied_bytes += in->pi.payload_len;
		if (e->copied_bytes >= e->pi.payload_len)
			e->copied = true;
		return;
	}
}

/* Take q out of the time-ordered queue. */
static void queue_unlink(struct pkt_sink *s, struct qpkt *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		s->qhead = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		s->qtail = q->prev;
	q->next = q->prev = NULL;
}

static void queue_in_time_order(struct pkt_sink *s, struct qpkt *q);

/* The loopback delivery of an egress packet (kern/skb.bpf.c sent its bytes
 * once, at egress): the egress copy becomes the delivered one, as tcpdump
 * shows it: stamped at delivery, inbound, in the receiver's cgroup. */
static void lo_delivered(struct pkt_sink *s, const struct zcap_pkt_ev *pe,
			 const struct pkt_info *pi)
{
	for (struct qpkt *e = s->lo_egress[flow_bucket(pi)]; e; e = e->lo_next) {
		if (e->copied || e->lo_id != pe->lo_id || e->pkt_len != pe->pkt_len)
			continue;
		lo_unlink(e);
		queue_unlink(s, e);
		e->ts = pe->h.ts_ns;
		e->dir = ZCAP_DIR_IN;
		e->cgroup_id = pe->h.cgroup_id;
		queue_in_time_order(s, e);
		return;
	}
}

/* A packet's comments: lines it owns (freed after the write) or lines of
 * the sink's caches. */
struct comments {
	const char *lines[COMMENTS_MAX];
	char *owned[COMMENTS_MAX];
	size_t n;
};

static void add_line(void *ctx, const char *line)
{
	struct comments *c = ctx;

	if (c->n < COMMENTS_MAX && (c->owned[c->n] = strdup(line)))
		c->lines[c->n] = c->owned[c->n], c->n++;
}

static void add_cached(struct comments *c, const char *line)
{
	if (c->n < COMMENTS_MAX)
		c->lines[c->n] = line, c->owned[c->n++] = NULL;
}

static void comments_free(struct comments *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->owned[i]);
}

static void owner_line(struct comments *c, struct owner_line_cache *table, const char *prefix,
		       const struct pkt_owner *o)
{
	struct owner_line_cache *lc =
		&table[(o->pid * 0x9e3779b1u ^ o->tid * 0x85ebca6bu ^ (uint32_t)o->fd) % OWNER_LINES];
	char comm[ESC_MAX * ZCAP_COMM_LEN + 1];
	int n;

	if (lc->valid && lc->o.pid == o->pid && lc->o.tid == o->tid && lc->o.fd == o->fd &&
	    !strcmp(lc->o.comm, o->comm)) {
		add_cached(c, lc->line);
		return;
	}
	/* a comm "x\nto pid 1" or "x fd 9" must not read as another field */
	esc_mem(comm, o->comm, strnlen(o->comm, ZCAP_COMM_LEN), ESC_WORD);
	n = snprintf(lc->line, sizeof(lc->line), "%spid %u tid %u comm %s", prefix, o->pid,
		     o->tid, comm);
	if (o->fd >= 0 && n > 0 && (size_t)n < sizeof(lc->line))
		snprintf(lc->line + n, sizeof(lc->line) - n, " fd %d", o->fd);
	lc->o = *o;
	lc->valid = true;
	add_cached(c, lc->line);
}

static void cgroup_cache_clear(struct cgroup_line_cache *lc)
{
	for (int i = 0; i < 3; i++) {
		free(lc->lines[i]);
		lc->lines[i] = NULL;
	}
	lc->valid = false;
}

/* "cgroup PATH" of the socket the packet was seen at (the sender's at
 * egress, the receiver's at ingress), and "container RUNTIME ID" and
 * "pod UID" when the path names them. */
static void cgroup_lines(struct comments *c, struct cgroup_line_cache *lc, struct cgroupmap *map,
			 uint64_t id)
{
	const struct cgroup_info *cg;

	if (!lc->valid || lc->id != id) {
		cgroup_cache_clear(lc);
		lc->valid = true;
		lc->id = id;
		cg = cgroupmap_get(map, id);
		if (cg && cg->path) {
			/* any byte but '/' can be in a cgroup's name */
			char *path = esc_strdup(cg->path, 0);

			if (path && asprintf(&lc->lines[0], "cgroup %s", path) < 0)
				lc->lines[0] = NULL;
			free(path);
			if (cg->ct.id[0] && asprintf(&lc->lines[1], "container %s %s",
						     cg->ct.runtime ? cg->ct.runtime : "unknown",
						     cg->ct.id) < 0)
				lc->lines[1] = NULL;
			if (cg->ct.pod_uid[0] && asprintf(&lc->lines[2], "pod %s", cg->ct.pod_uid) < 0)
				lc->lines[2] = NULL;
		}
	}
	for (int i = 0; i < 3; i++)
		if (lc->lines[i])
			add_cached(c, lc->lines[i]);
}

static int write_packet(struct pkt_sink *s, struct qpkt *q, const struct comments *c,
			const struct pkt_owner *owner, bool *taken)
{
	uint32_t caplen = q->caplen < s->snaplen ? q->caplen : s->snaplen;
	uint64_t ts = q->ts + s->base.mono_to_real_ns;
	struct pcapng_epb epb = {
		.ts_ns = ts,
		.data = q->data,
		.caplen = caplen,
		.origlen = q->pkt_len,
		.flags = q->dir == ZCAP_DIR_IN ? PCAPNG_EPB_FLAG_INBOUND : PCAPNG_EPB_FLAG_OUTBOUND,
		.comments = c->lines,
		.n_comments = c->n,
	};
	int rc;

	if (s->classic)
		return pcap_classic_write(s->classic, ts, q->data, caplen, q->pkt_len);
	rc = iface_idb(s, q->ifc);
	if (rc)
		return rc;
	epb.if_id = q->ifc->if_id;
	if (owner) {
		epb.has_pid = 1;
		epb.pid = owner->pid;
		epb.tid = owner->tid;
	}
	if (caplen >= PIECE_MIN) {
		epb.data_owner = q;
		*taken = true;
	}
	return pcapng_write_epb(s->ng, &epb);
}

static int open_writer(struct pkt_sink *s);
static int write_isbs(struct pkt_sink *s);

/* -C/-G: end this file (its statistics blocks) and start the next, a
 * whole pcap-ng of its own (SHB, IDBs as packets need them; every packet
 * carries its owner's comments, so nothing else is repeated). */
static int rotate(struct pkt_sink *s, time_t now)
{
	int rc = s->ng ? write_isbs(s) : 0;
	int rc2 = s->ng ? pcapng_writer_close(s->ng) : pcap_classic_close(s->classic);

	s->ng = NULL;
	s->classic = NULL;
	if (rc || rc2)
		return rc ? rc : rc2;
	rc = rotator_next(s->o.rot, now);
	if (rc)
		return rc;
	s->o.fd = rotator_fd(s->o.rot);
	s->o.name = rotator_name(s->o.rot);
	for (int i = 0; i < s->nifs; i++) {
		struct iface *ifc = &s->ifs[i];

		ifc->if_id = -1;
		ifc->file_seen = ifc->seen;
		ifc->file_written = ifc->written;
		ifc->file_lost = ifc->lost;
	}
	s->file_start_ns = real_now_ns();
	return open_writer(s);
}

/* Before a packet is written, as tcpdump does: the file's size (-C) and
 * the packet's time (-G) decide whether it goes into a new file. */
static int maybe_rotate(struct pkt_sink *s, const struct qpkt *q)
{
	off_t size = lseek(s->o.fd, 0, SEEK_CUR) + (off_t)pcapng_writer_pending(s->ng);
	time_t when = (q->ts + s->base.mono_to_real_ns) / 1000000000ULL;

	switch (rotator_check(s->o.rot, size > 0 ? (uint64_t)size : 0, when)) {
	case ROTATE_KEEP:
		return 0;
	case ROTATE_STOP:
		s->done = true;
		return 0;
	default:
		return rotate(s, when);
	}
}

static bool owner_from_kernel(const struct zcap_sock_owner *k, struct pkt_owner *o)
{
	size_t clen = strnlen(k->comm, ZCAP_COMM_LEN);

	o->pid = k->pid;
	o->tid = k->tid;
	o->fd = k->fd;
	memcpy(o->comm, k->comm, clen);
	o->comm[clen] = 0;
	return true;
}

/* One end's owner: the kernel's answer by the exact 4-tuple, else the
 * accept() or connect() record of that 4-tuple (it returned after the
 * handshake, which the kernel named by the listener), else the kernel's
 * listener or unconnected socket, else the records' (user/pktattr.c). */
static bool packet_owner(struct pkt_sink *s, const struct qpkt *q, bool src, struct pkt_owner *o)
{
	unsigned int known = src ? ZCAP_PKT_SND : ZCAP_PKT_RCV;
	unsigned int exact = src ? ZCAP_PKT_SND_EXACT : ZCAP_PKT_RCV_EXACT;
	const struct zcap_sock_owner *k = src ? &q->snd : &q->rcv;

	if (q->owners & exact)
		return owner_from_kernel(k, o);
	if (q->parsed && pktattr_owner_connected(s->attr, &q->pi, src, o))
		return true;
	if (q->owners & known)
		return owner_from_kernel(k, o);
	return q->parsed && pktattr_owner(s->attr, &q->pi, src, o);
}

/* Attribute and write (or filter out) the oldest queued packet. True when
 * the writer took q (it frees it); else the caller does. */
static bool emit(struct pkt_sink *s, struct qpkt *q)
{
	struct pkt_owner snd, rcv;
	struct comments c = { 0 };
	bool have_snd = false, have_rcv = false, taken = false;
	bool out = q->dir == ZCAP_DIR_OUT;
	struct iface *ifc;
	uint32_t pkt_len;
	int rc;

	if (s->done || s->error)
		return false;
	if (q->copied) {
		s->duplicates++;
		return false;
	}
	q->ifc->seen++;
	/* Named in the kernel (the sock_owner map, kern/skb.bpf.c), else by
	 * the records: connect and accept for the handshake sent before they
	 * returned, send-path records of zero-copy bodies (user/pktattr.c).
	 * A hook sees one end: the sender at egress, the receiver at ingress.
	 * On loopback both ends are processes of this host. */
	if (out || q->ifc->loopback)
		have_snd = packet_owner(s, q, true, &snd);
	if (!out || q->ifc->loopback)
		have_rcv = packet_owner(s, q, false, &rcv);
	if (s->o.owned_only && !have_snd && !have_rcv) {
		s->filtered++;
		return false;
	}
	if (s->ng) {
		/* the sender unprefixed, as users read "which process sent it" */
		if (have_snd)
			owner_line(&c, s->snd_line, "", &snd);
		if (have_rcv)
			owner_line(&c, s->rcv_line, "to ", &rcv);
		if (q->parsed)
			pktattr_sources(s->attr, &q->pi, add_line, &c);
		cgroup_lines(&c, &s->cgroup_line, s->base.cgroups, q->cgroup_id);
	}
	rc = s->o.rot ? maybe_rotate(s, q) : 0;
	/* once the writer took q, its flush may free q at once */
	ifc = q->ifc;
	pkt_len = q->pkt_len;
	if (!rc && !s->done)
		rc = write_packet(s, q, &c, have_snd ? &snd : have_rcv ? &rcv : NULL, &taken);
	comments_free(&c);
	if (rc) {
		s->error = rc;
		return taken;
	}
	if (s->done)
		return taken; /* -G with -W: the last file is full */
	ifc->written++;
	s->written++;
	s->bytes += pkt_len;
	if (s->o.max_packets && s->written >= s->o.max_packets)
		s->done = true;
	return taken;
}

/* Could a record still to come name this end of a TCP packet better? The
 * kernel matched it to a listener (a handshake before accept() returned),
 * or named nothing for a SYN (sent before connect() returned). */
static bool owner_due(struct pkt_sink *s, const struct qpkt *q, bool src)
{
	unsigned int known = src ? ZCAP_PKT_SND : ZCAP_PKT_RCV;
	unsigned int exact = src ? ZCAP_PKT_SND_EXACT : ZCAP_PKT_RCV_EXACT;
	struct pkt_owner o;

	if (q->owners & exact)
		return false;
	if (!(q->owners & known) && !(q->pi.tcp_flags & PKT_TCP_SYN))
		return false;
	return !pktattr_owner_connected(s->attr, &q->pi, src, &o);
}

/* Is a record that changes what this packet says still due? */
static bool records_due(struct pkt_sink *s, const struct qpkt *q)
{
	bool out = q->dir == ZCAP_DIR_OUT;

	if (!q->parsed || q->pi.proto != IPPROTO_TCP || (q->pi.tcp_flags & PKT_TCP_RST))
		return false;
	if ((out || q->ifc->loopback) && owner_due(s, q, true))
		return true;
	if ((!out || q->ifc->loopback) && owner_due(s, q, false))
		return true;
	return pktattr_zc_pending(s->attr, &q->pi);
}

/* May the oldest queued packet be written, at `now`? After PKT_SETTLE_NS
 * unless a record is still due for it, after PKT_HOLD_NS at the latest. */
static bool head_ready(struct pkt_sink *s, uint64_t now)
{
	const struct qpkt *q = s->qhead;

	if (q->ts + PKT_HOLD_NS <= now || s->qbytes > QUEUE_BYTES_MAX)
		return true;
	return q->ts + PKT_SETTLE_NS <= now && !records_due(s, q);
}

/* Write the queued packets that are ready (everything when all). */
static void flush_queue(struct pkt_sink *s, uint64_t now, bool all)
{
	while (s->qhead && (all || head_ready(s, now))) {
		struct qpkt *q = s->qhead;

		queue_unlink(s, q);
		s->qbytes -= sizeof(*q) + q->caplen;
		lo_unlink(q);
		if (!emit(s, q))
			qpkt_free(s, q);
	}
}

/*
 * Records of different CPUs reach the ring slightly out of time order (a
 * hook takes its timestamp before it copies the packet): keep the queue
 * sorted, so the file never shows an ACK before the data it acknowledges.
 */
static void queue_in_time_order(struct pkt_sink *s, struct qpkt *q)
{
	struct qpkt *after = s->qtail;

	while (after && after->ts > q->ts)
		after = after->prev;
	q->prev = after;
	q->next = after ? after->next : s->qhead;
	if (q->next)
		q->next->prev = q;
	else
		s->qtail = q;
	if (after)
		after->next = q;
	else
		s->qhead = q;
}

static int enqueue(struct pkt_sink *s, const struct zrec *r)
{
	const struct zcap_pkt_ev *pe = r->ev->pkt;
	struct iface *ifc = iface_get(s, pe->ifindex);
	struct pkt_info pi;
	struct qpkt *q;

	if (!ifc)
		return 0; /* more interfaces than any sane machine: not written */
	if (pe->lo_delivered) {
		if (!pkt_parse(r->data, r->data_len, pe->pkt_len, &pi))
			lo_delivered(s, pe, &pi);
		return 0;
	}
	/* the packet's bytes are copied over: only the header needs zeroes */
	q = qpkt_alloc(s, r->data_len);
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->ts = pe->h.ts_ns;
	q->ifc = ifc;
	q->pkt_len = pe->pkt_len;
	q->caplen = r->data_len;
	q->dir = pe->dir;
	q->cgroup_id = pe->h.cgroup_id;
	q->owners = pe->owners;
	q->snd = pe->snd;
	q->rcv = pe->rcv;
	q->lo_id = pe->lo_id;
	memcpy(q->data, r->data, r->data_len);
	q->parsed = !pkt_parse(q->data, q->caplen, q->pkt_len, &q->pi);
	if (ifc->loopback && q->parsed) {
		if (q->dir == ZCAP_DIR_OUT) {
			struct qpkt **head = &s->lo_egress[flow_bucket(&q->pi)];

			q->lo_next = *head;
			if (*head)
				(*head)->lo_pprev = &q->lo_next;
			*head = q;
			q->lo_pprev = head;
		} else {
			lo_match_ingress(s, q);
		}
	}
	queue_in_time_order(s, q);
	s->qbytes += sizeof(*q) + q->caplen;
	return 0;
}

static int pkt_record(struct sink *base, const struct zrec *r)
{
	struct pkt_sink *s = (struct pkt_sink *)base;
	int rc = 0;

	if (s->error)
		return s->error;
	if (s->done)
		return 0;
	if (r->ev->type == ZCAP_EV_PKT)
		rc = enqueue(s, r);
	else
		pktattr_learn(s->attr, r);
	if (r->ev->h->ts_ns > s->watermark)
		s->watermark = r->ev->h->ts_ns;
	flush_queue(s, s->watermark, false);
	return rc ? rc : s->error;
}

static uint64_t lost_total(const struct pkt_sink *s)
{
	uint64_t n = 0;

	for (int i = 0; i < s->nifs; i++)
		n += s->ifs[i].lost;
	return n;
}

static void show_progress(struct pkt_sink *s)
{
	char b[32];

	status_bytes(s->bytes, b, sizeof(b));
	status_show((mono_now_ns() - s->start_mono_ns) / 1e9,
		    "%llu packets, %s, %llu packets lost, %llu events lost",
		    (unsigned long long)s->written, b, (unsigned long long)lost_total(s),
		    (unsigned long long)s->kernel_drops);
	s->progress_shown = true;
}

int sink_pcapng_tick(struct sink *base, uint64_t now_ns)
{
	struct pkt_sink *s = (struct pkt_sink *)base;

	if (!s->error && !s->done)
		flush_queue(s, now_ns, false);
	/* the file's blocks go out in batches: at least every 100 ms */
	if (s->ng && !s->error && now_ns - s->last_write_ns >= 100000000ULL) {
		s->last_write_ns = now_ns;
		s->error = pcapng_writer_flush(s->ng);
	}
	if (s->o.progress && now_ns - s->last_progress_ns >= 1000000000ULL) {
		s->last_progress_ns = now_ns;
		show_progress(s);
	}
	return s->error ? s->error : s->done;
}

void sink_pcapng_lost(struct sink *base, uint32_t ifindex, uint64_t lost)
{
	struct pkt_sink *s = (struct pkt_sink *)base;
	struct iface *ifc = iface_get(s, ifindex);

	if (ifc && lost > ifc->lost)
		ifc->lost = lost;
}

static void pkt_drops(struct sink *base, const struct zcap_stats *st)
{
	struct pkt_sink *s = (struct pkt_sink *)base;

	s->kernel_drops = 0;
	for (int i = 0; i < ZCAP_DROP_MAX; i++) {
		s->kernel_drops += st->drops[i];
		s->drops[i] = st->drops[i];
	}
}

/* One statistics block per interface: what zcap saw there, lost and wrote. */
static int write_isbs(struct pkt_sink *s)
{
	uint64_t now = real_now_ns();
	char lost[160];
	int rc;

	/* not only packets: any lost event may have named a packet's owner */
	snprintf(lost, sizeof(lost),
		 "zcap events lost (all interfaces): %llu ring full, %llu map full, "
		 "%llu read faults",
		 (unsigned long long)s->drops[ZCAP_DROP_RINGBUF],
		 (unsigned long long)s->drops[ZCAP_DROP_MAPFULL],
		 (unsigned long long)s->drops[ZCAP_DROP_FAULT]);
	/* a capture without a packet still describes an interface (loopback):
	 * libpcap, so tcpdump -r and zcap read, refuse a pcap-ng with no IDB */
	if (!s->nifs) {
		unsigned int lo = if_nametoindex("lo");

		iface_get(s, lo ? lo : 1);
	}
	for (int i = 0; i < s->nifs; i++) {
		struct iface *ifc = &s->ifs[i];
		struct pcapng_isb isb = {
			.ts_ns = now,
			.present = PCAPNG_ISB_STARTTIME | PCAPNG_ISB_ENDTIME | PCAPNG_ISB_IFRECV |
				   PCAPNG_ISB_IFDROP | PCAPNG_ISB_USRDELIV,
			.starttime_ns = s->file_start_ns,
			.endtime_ns = now,
			.ifrecv = ifc->seen - ifc->file_seen + ifc->lost - ifc->file_lost,
			.ifdrop = ifc->lost - ifc->file_lost,
			.usrdeliv = ifc->written - ifc->file_written,
			.comment = lost,
		};

		rc = iface_idb(s, ifc);
		if (rc)
			return rc;
		isb.if_id = ifc->if_id;
		rc = pcapng_write_isb(s->ng, &isb);
		if (rc)
			return rc;
	}
	return 0;
}

static int pkt_finish(struct sink *base, const struct zcap_stats *st)
{
	struct pkt_sink *s = (struct pkt_sink *)base;
	char b[32];
	int rc;

	pkt_drops(base, st);
	flush_queue(s, 0, true);
	if (s->ng && !s->error)
		s->error = write_isbs(s);
	rc = s->ng ? pcapng_writer_close(s->ng) : pcap_classic_close(s->classic);
	s->ng = NULL;
	s->classic = NULL;
	if (!s->error)
		s->error = rc;
	/* the last counts, as the summary below has them */
	if (s->progress_shown)
		show_progress(s);
	status_end(s->progress_shown);
	if (!s->o.quiet) {
		status_bytes(s->bytes, b, sizeof(b));
		if (s->o.rot && rotator_files(s->o.rot) > 1)
			fprintf(stderr, "zcap: %llu packets (%s) written to %u files, the last %s; "
				"%llu packets lost",
				(unsigned long long)s->written, b, rotator_files(s->o.rot), s->o.name,
				(unsigned long long)lost_total(s));
		else
			fprintf(stderr, "zcap: %llu packets (%s) written to %s; %llu packets lost",
				(unsigned long long)s->written, b, s->o.name,
				(unsigned long long)lost_total(s));
		if (s->filtered)
			fprintf(stderr, "; %llu of other processes left out",
				(unsigned long long)s->filtered);
		fputc('\n', stderr);
	}
	return s->error;
}

static void pkt_destroy(struct sink *base)
{
	struct pkt_sink *s = (struct pkt_sink *)base;

	if (s->ng)
		pcapng_writer_close(s->ng);
	if (s->classic)
		pcap_classic_close(s->classic);
	while (s->qhead) {
		struct qpkt *q = s->qhead;

		s->qhead = q->next;
		free(q);
	}
	for (int c = 0; c < QPKT_CLASSES; c++) {
		while (s->spare[c]) {
			struct qpkt *q = s->spare[c];

			s->spare[c] = q->next;
			free(q);
		}
	}
	pktattr_free(s->attr);
	cgroup_cache_clear(&s->cgroup_line);
	free(s);
}

static void pkt_zc_busy(struct sink *base, const struct zcap_fdinfo *sock, bool busy)
{
	pktattr_zc_busy(((struct pkt_sink *)base)->attr, sock, busy);
}

static const struct sink_ops pkt_ops = {
	.record = pkt_record,
	.drops = pkt_drops,
	.finish = pkt_finish,
	.destroy = pkt_destroy,
	.zc_busy = pkt_zc_busy,
};

/* The writer is done with a packet it wrote from the queue's memory. */
static void release_packet(void *ctx, void *owner)
{
	qpkt_free(ctx, owner);
}

static int open_writer(struct pkt_sink *s)
{
	struct utsname u;
	char os[2 * sizeof(u.release) + 2] = "", hw[sizeof(u.machine)] = "";
	struct pcapng_shb_info shb = {
		.hardware = hw,
		.os = os,
		.userappl = "zcap " ZCAP_VERSION,
	};

	if (s->o.format == PKT_FORMAT_PCAP) {
		s->classic = pcap_classic_open(s->o.fd, s->snaplen);
		return s->classic ? 0 : -errno;
	}
	if (!uname(&u)) {
		snprintf(os, sizeof(os), "%s %s", u.sysname, u.release);
		snprintf(hw, sizeof(hw), "%s", u.machine);
	}
	s->ng = pcapng_writer_open(s->o.fd, &shb);
	if (!s->ng)
		return -errno;
	pcapng_writer_set_release(s->ng, release_packet, s);
	return 0;
}

struct sink *sink_pcapng_new(const struct pkt_sink_opts *o)
{
	struct pkt_sink *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		goto nomem;
	s->o = *o;
	s->base.ops = &pkt_ops;
	s->base.mono_to_real_ns = mono_to_real_offset();
	s->snaplen = o->snaplen < PKT_SNAP_MAX ? o->snaplen : PKT_SNAP_MAX;
	s->attr = pktattr_new();
	if (!s->attr)
		goto nomem;
	s->start_real_ns = real_now_ns();
	s->file_start_ns = s->start_real_ns;
	s->last_progress_ns = mono_now_ns();
	s->start_mono_ns = s->last_progress_ns;
	err = open_writer(s);
	if (err) {
		zcap_err("cannot write '%s': %s", o->name, strerror(-err));
		pkt_destroy(&s->base);
		return NULL;
	}
	return &s->base;
nomem:
	zcap_err("out of memory");
	if (s)
		pkt_destroy(&s->base);
	return NULL;
}
