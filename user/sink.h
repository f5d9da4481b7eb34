/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sinks: where whole records go (text, JSON Lines, pcap-ng, lineage).
 * Data only flows in: a sink never reaches back into the loader.
 */
#ifndef ZCAP_SINK_H
#define ZCAP_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stitch.h"

/* Totals handed to sinks when drops are noticed and at the end. */
struct zcap_stats {
	uint64_t records;
	uint64_t bytes; /* payload bytes captured by syscall records */
	uint64_t body_bytes; /* of zero-copy bodies (sendfile, splice, ...) */
	uint64_t drops[ZCAP_DROP_MAX];
	uint64_t incomplete; /* records with gaps */
	uint64_t iov_limited; /* records the kernel's buffer walk cut at its limit */
	uint64_t bad_records; /* ring records the decoder rejected */
};

struct sink;
struct cgroupmap;

struct sink_ops {
	/* 0, or a negative errno: the capture stops (e.g. EPIPE) */
	int (*record)(struct sink *s, const struct zrec *r);
	/* drop counters went up since the last call (cumulative totals) */
	void (*drops)(struct sink *s, const struct zcap_stats *st);
	/* end of capture: write trailers, flush */
	int (*finish)(struct sink *s, const struct zcap_stats *st);
	void (*destroy)(struct sink *s);
	/* optional: a socket's zero-copy body began or ended (stitcher_set_busy_cb) */
	void (*zc_busy)(struct sink *s, const struct zcap_fdinfo *sock, bool busy);
};

struct sink {
	const struct sink_ops *ops;
	FILE *out;
	uint64_t mono_to_real_ns; /* add to ts_ns for wall-clock time */
	/* names the cgroup ids of records (user/cgroups.h); NULL: JSON
	 * carries the bare "cgroup_id", pcap-ng no cgroup comment */
	struct cgroupmap *cgroups;
};

/* Text: one line per record, payload escaped and cut to `width` columns
 * (0: no payload preview). */
struct sink *sink_text_new(FILE *out, int width);
/* -X: after each record line its payload as tcpdump -X prints one
 * (user/hexdump.h). */
void sink_text_set_hex(struct sink *s, bool on);
/* JSON Lines with stable field names (docs/event-schema.md). */
struct sink *sink_json_new(FILE *out);

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns (ts_ns is CLOCK_MONOTONIC:
 * bpf_ktime_get_ns). Taken once per capture, so every record of it is on
 * one time line with its packets' pcap-ng timestamps. */
uint64_t mono_to_real_offset(void);

/* "2026-12-04T17:40:01.123456789Z": UTC, RFC 3339 with nanoseconds. */
#define RFC3339_NS_LEN 64
char *rfc3339_ns(uint64_t real_ns, char buf[RFC3339_NS_LEN]);

#endif
