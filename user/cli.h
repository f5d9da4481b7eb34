/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Command-line plumbing shared by the subcommands. */
#ifndef ZCAP_CLI_H
#define ZCAP_CLI_H

#include <argp.h>
#include <errno.h>

/* argp_parse with zcap's conventions: --help/--usage print and exit 0;
 * any error is one line "zcap: CMD: what (see 'zcap CMD --help')" and
 * returns ZCAP_EXIT_USAGE. 0 on success. */
int cli_parse(const struct argp *argp, int argc, char **argv, void *input, const char *cmd);

/* From an argp parser: record a one-line usage error (the first one wins)
 * and return EINVAL from the parser. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_fail and return from the argp parser */
#define CLI_FAIL(...)                  \
	do {                           \
		cli_fail(__VA_ARGS__); \
		return EINVAL;         \
	} while (0)

/* argp keys of the options every capturing command has */
enum {
	CLI_OPT_USER = 0x1000,
	CLI_OPT_MAP_ENTRIES,
};

struct capture_opts;

/* From an argp parser: -B, --map-entries and --user, shared by record and
 * lineage. 0 when handled, EINVAL after cli_fail, ARGP_ERR_UNKNOWN for any
 * other key. */
int cli_capture_opt(int key, const char *arg, struct capture_opts *c);

/* Split argv at the first "--": returns the index of "--" or argc. */
int cli_split_command(int argc, char **argv);

#endif
