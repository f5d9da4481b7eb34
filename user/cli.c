// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "capture.h"
#include "cli.h"
#include "util.h"

struct err_capture {
	const struct argp *inner;
	void *input;
};

static char cli_error[512];

void cli_fail(const char *fmt, ...)
{
	va_list ap;

	if (cli_error[0])
		return; /* keep the first */
	va_start(ap, fmt);
	vsnprintf(cli_error, sizeof(cli_error), fmt, ap);
	va_end(ap);
}

/* Wraps the command's parser so argp's error text lands in a buffer we
 * can reduce to one line. */
static error_t capture_parser(int key, char *arg, struct argp_state *state)
{
	struct err_capture *c = state->input;

	if (key == ARGP_KEY_INIT)
		state->child_inputs[0] = c->input;
	/* getopt rejected an option: name it (argp was told not to print) */
	if (key == ARGP_KEY_ERROR && !cli_error[0]) {
		int i = state->next > 0 && state->next <= state->argc ? state->next - 1 : 0;

		cli_fail("unrecognized option or missing argument: '%s'", state->argv[i]);
	}
	return ARGP_ERR_UNKNOWN;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-?") ||
		    !strncmp(argv[i], "--usage", 7) || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

int cli_parse(const struct argp *argp, int argc, char **argv, void *input, const char *cmd)
{
	struct argp_child children[] = { { argp, 0, NULL, 0 }, { 0 } };
	struct argp wrapper = { .parser = capture_parser, .children = children,
				.doc = argp->doc, .args_doc = argp->args_doc };
	struct err_capture c = { .inner = argp, .input = input };
	char prog[64];
	int err;

	/* argp names the program after argv[0] in --help */
	snprintf(prog, sizeof(prog), "zcap %s", cmd);
	argv[0] = prog;
	if (wants_help(argc, argv)) {
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "-h"))
				argv[i] = "--help";
		argp_parse(argp, argc, argv, 0, NULL, input);
		exit(ZCAP_EXIT_OK);
	}
	cli_error[0] = 0;
	err = argp_parse(&wrapper, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP | ARGP_NO_ERRS, NULL,
			 &c);
	if (err || cli_error[0]) {
		zcap_err("%s: %s (see 'zcap %s --help')", cmd,
			 cli_error[0] ? cli_error : "invalid arguments", cmd);
		return ZCAP_EXIT_USAGE;
	}
	return 0;
}

int cli_split_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return i;
	return argc;
}

int cli_capture_opt(int key, const char *arg, struct capture_opts *c)
{
	struct account acct;
	uint64_t v;

	switch (key) {
	case 'B':
		/* the ring's size is a u32 power of two: 2 GiB at most */
		if (!parse_u64(arg, 16, 2U << 20, &v))
			CLI_FAIL("invalid buffer size '%s' (16 to %u KiB)", arg, 2U << 20);
		c->lo.ringbuf_bytes = v * 1024;
		return 0;
	case CLI_OPT_MAP_ENTRIES:
		if (!parse_u64(arg, 16, 1U << 24, &v))
			CLI_FAIL("invalid --map-entries '%s' (16 to %u)", arg, 1U << 24);
		c->lo.map_entries = v;
		return 0;
	case CLI_OPT_USER:
		if (account_lookup(arg, &acct))
			CLI_FAIL("unknown user '%s' (a name or a numeric uid)", arg);
		c->user = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}
