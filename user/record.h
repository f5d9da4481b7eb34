/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* zcap record's options, parsed apart from running so they can be tested. */
#ifndef ZCAP_RECORD_H
#define ZCAP_RECORD_H

#include <stdbool.h>

#include "capture.h"

#define DEFAULT_SNAPLEN	   16384
#define DEFAULT_BUFFER_KIB 32768

struct record_args {
	struct capture_opts cap;
	bool json;
	const char *output;
	int width;
	bool width_set;
};

/* Fill `a` from argv (argv[0] = "record"); 0, or the exit code to return
 * (ZCAP_EXIT_USAGE) with a one-line message printed. */
int record_parse_args(int argc, char **argv, struct record_args *a);

#endif
