/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet sink (`zcap record -o FILE.pcapng`, `.pcap`, `-o -`): writes
 * the IP packets of ZCAP_EV_PKT records with the process and source file
 * each one belongs to (user/pktattr.c), learned from the other records,
 * which it receives too. Packets are held for a short window, longer for
 * those a record is still due for (an accept after the handshake, the end
 * of a sendfile), so that records arriving after them still name them;
 * they are written in the order captured, whole blocks at a time.
 */
#ifndef ZCAP_SINK_PCAPNG_H
#define ZCAP_SINK_PCAPNG_H

#include <stdbool.h>
#include <stdint.h>

#include "sink.h"

struct rotator;

/* How long a packet waits for the records that name its owner or the file
 * range it carries, at most. */
#define PKT_HOLD_NS 500000000ULL
/* How long every packet waits: for its loopback delivery (the next records
 * of the CPU that sent it), for records of other CPUs stamped before it, and
 * for the records of calls that return at once (connect on loopback, an
 * unbound socket's first datagram). A packet no record is still due for
 * goes out after this, not after PKT_HOLD_NS: held packets cost the
 * consumer cache misses, page faults and allocations in proportion to how
 * many wait (docs/performance.md). */
#define PKT_SETTLE_NS 20000000ULL

enum pkt_format {
	PKT_FORMAT_PCAPNG, /* blocks with process comments, direction, statistics */
	PKT_FORMAT_PCAP,   /* classic pcap through libpcap: packets only */
};

struct pkt_sink_opts {
	int fd;		      /* output, not closed by the sink */
	const char *name;     /* for messages: the path, or "stdout" */
	enum pkt_format format;
	uint32_t snaplen;     /* bytes per packet; UINT32_MAX = whole packets */
	uint64_t max_packets; /* stop after this many (-c); 0 = no limit */
	bool owned_only;      /* only packets of sockets a captured process used (-p, --comm) */
	bool progress;	      /* a one-line summary on stderr every second */
	bool quiet;	      /* no summary at the end */
	struct rotator *rot;  /* -C/-G/-W (user/rotate.h): fd is its first file; NULL: none */
};

/* NULL with a message printed when the output cannot be started. */
struct sink *sink_pcapng_new(const struct pkt_sink_opts *o);

/* Write the packets whose window has passed by now (CLOCK_MONOTONIC ns)
 * and update the live summary. 1 once max_packets are written, -errno
 * once a write failed, else 0. */
int sink_pcapng_tick(struct sink *s, uint64_t now_ns);

/* Packets of interface ifindex lost in the kernel so far (cumulative),
 * reported in that interface's statistics block at the end. */
void sink_pcapng_lost(struct sink *s, uint32_t ifindex, uint64_t lost);

#endif
