/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* zcap record's options, parsed apart from running so they can be tested. */
#ifndef ZCAP_RECORD_H
#define ZCAP_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "capture.h"
#include "rotate.h"

#define DEFAULT_SNAPLEN	   16384
#define DEFAULT_BUFFER_KIB 32768

enum record_format {
	RECORD_FMT_TEXT,
	RECORD_FMT_JSON,
	RECORD_FMT_PCAPNG, /* IP packets with process comments (docs/pcapng.md) */
	RECORD_FMT_PCAP,   /* classic pcap: IP packets only */
};

struct record_args {
	struct capture_opts cap;
	bool json;
	const char *output;
	int width;
	bool width_set;
	/* --format, or from -o's extension: .pcapng/.pcap (and `-o -`) mean
	 * packets, .json JSON Lines, anything else text */
	enum record_format format;
	bool snaplen_set;
	bool events_set;
	uint64_t max_packets; /* -c with a packet format: exactly N packets */
	struct rotate_opts rot; /* -C, -G, -W: packet files in turn (rotate.h) */
	bool hex;		/* -X: payloads as hex and ASCII (text output) */
	struct account drop_to; /* -Z USER (cap.drop_to points here when given) */
	bool iface_set;	      /* -i IFACE (not any) */
	char filter_text[4096]; /* the filter expression's words, "" for none */
	struct filter_expr *filter; /* compiled (record_args_free frees it) */
};

/* Packet formats: IP packets from cgroup_skb, not syscall records. */
static inline bool record_format_packets(enum record_format f)
{
	return f == RECORD_FMT_PCAPNG || f == RECORD_FMT_PCAP;
}

/* Fill `a` from argv (argv[0] = "record"); 0, or the exit code to return
 * (ZCAP_EXIT_USAGE) with a one-line message printed. */
int record_parse_args(int argc, char **argv, struct record_args *a);
/* What record_parse_args allocated. */
void record_args_free(struct record_args *a);

#endif
