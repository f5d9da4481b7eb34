/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* zcap read: a saved capture printed as the text view (read.c: options
 * and packet files; read_jsonl.c: zcap's JSON Lines). */
#ifndef ZCAP_READ_H
#define ZCAP_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zcap_abi.h"

#define READ_MAX_FILTERS 64

struct read_opts {
	const char *file;
	char *expr;	/* pcap filter expression (packet files), NULL: none */
	uint32_t pids[READ_MAX_FILTERS];
	int npids;
	/* as zcap escapes them in comments (ESC_WORD), to compare as text */
	char comms[READ_MAX_FILTERS][ZCAP_COMM_LEN * 4 + 1];
	int ncomms;
	uint16_t ports[READ_MAX_FILTERS];
	int nports;
	uint64_t max; /* -c: records or packets printed; 0: all */
	/* JSON Lines: expr compiled for records (user/filter_expr.h), NULL: none */
	struct filter_expr *filter;
	int width;
	bool hex;
};

bool read_pid_wanted(const struct read_opts *o, uint32_t pid);
/* name: the escaped (ESC_WORD) command name */
bool read_comm_wanted(const struct read_opts *o, const char *name);
bool read_port_wanted(const struct read_opts *o, uint16_t a, uint16_t b);

/* Print a JSON Lines capture (record --json) as record prints text: 0, or
 * the exit code with one line printed. */
int read_jsonl(FILE *in, FILE *out, const struct read_opts *o);

#endif
