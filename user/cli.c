// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct err_capture {
	const struct argp *inner;
	void *input;
	FILE *err;
};

/* Wraps the command's parser so argp's error text lands in a buffer we
 * can reduce to one line. */
static error_t capture_parser(int key, char *arg, struct argp_state *state)
{
	struct err_capture *c = state->input;

	if (key == ARGP_KEY_INIT) {
		state->err_stream = c->err;
		state->child_inputs[0] = c->input;
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
	char *buf = NULL, *nl;
	size_t len = 0;
	int err;

	if (wants_help(argc, argv)) {
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "-h"))
				argv[i] = "--help";
		argp_parse(argp, argc, argv, 0, NULL, input);
		exit(ZCAP_EXIT_OK);
	}
	c.err = open_memstream(&buf, &len);
	if (!c.err)
		return ZCAP_EXIT_FAIL;
	err = argp_parse(&wrapper, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP, NULL, &c);
	fclose(c.err);
	if (err || len) {
		/* argp says "PROG: message\nTry ...": keep the message */
		const char *msg = buf && *buf ? buf : "invalid arguments";
		const char *colon = strstr(msg, ": ");

		if ((nl = strchr(msg, '\n')))
			*nl = 0;
		if (colon && colon < msg + strlen(msg))
			msg = colon + 2;
		zcap_err("%s: %s (see 'zcap %s --help')", cmd, msg, cmd);
		free(buf);
		return ZCAP_EXIT_USAGE;
	}
	free(buf);
	return 0;
}

int cli_split_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return i;
	return argc;
}
