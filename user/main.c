// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap: command table and global help. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util.h"
#include "zcap_abi.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "capture I/O of processes (text, JSON Lines, pcap-ng)" },
	{ "doctor", cmd_doctor, "check what this kernel and machine allow" },
	{ "read", cmd_read, "print a saved capture (pcap-ng, pcap, JSON Lines) as text" },
	{ "lineage", cmd_lineage, "run a command and record which files it read, wrote, made" },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: zcap COMMAND [OPTION...]\n\n"
		     "Capture what processes send and receive through sockets, pipes and files,\n"
		     "including the bodies of zero-copy sends, with eBPF.\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "  %-10s %s\n  %-10s %s\n", "version", "print the version", "help [COMMAND]",
		"this text, or COMMAND's options");
	fprintf(out, "\nRun 'zcap COMMAND --help' (or 'zcap help COMMAND') for a command's options;\n"
		     "manual pages: zcap(8), zcap-record(8), zcap-read(8), zcap-lineage(8),\n"
		     "zcap-doctor(8).\n"
		     "Exit status: 0 ok, 1 runtime failure, 2 bad usage or missing privileges;\n"
		     "with `-- CMD`, CMD's exit status.\n");
}

static const struct command *command_named(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(name, c->name))
			return c;
	return NULL;
}

/* `zcap help COMMAND` is `zcap COMMAND --help`, as git and systemctl have it. */
static int help(int argc, char **argv)
{
	const struct command *c;
	char *sub[3];

	if (argc > 3) {
		zcap_err("help: too many arguments (zcap help [COMMAND])");
		return ZCAP_EXIT_USAGE;
	}
	if (argc < 3 || !strcmp(argv[2], "help")) {
		usage(stdout);
		return ZCAP_EXIT_OK;
	}
	if (!strcmp(argv[2], "version")) {
		printf("Usage: zcap version\nPrint zcap's version and its event ABI version.\n");
		return ZCAP_EXIT_OK;
	}
	c = command_named(argv[2]);
	if (!c) {
		zcap_err("help: unknown command '%s' (see 'zcap help')", argv[2]);
		return ZCAP_EXIT_USAGE;
	}
	sub[0] = argv[2];
	sub[1] = "--help";
	sub[2] = NULL;
	return c->run(2, sub);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	const struct command *c;

	if (!name) {
		usage(stderr);
		return ZCAP_EXIT_USAGE;
	}
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h"))
		return help(argc, argv);
	if (!strcmp(name, "version") || !strcmp(name, "--version") || !strcmp(name, "-V")) {
		if (argc > 2) {
			zcap_err("version: unexpected argument '%s' (zcap version takes none)",
				 argv[2]);
			return ZCAP_EXIT_USAGE;
		}
		printf("zcap %s (event ABI %d)\n", ZCAP_VERSION, ZCAP_ABI_VERSION);
		return ZCAP_EXIT_OK;
	}
	c = command_named(name);
	if (c)
		return c->run(argc - 1, argv + 1);
	zcap_err("unknown command '%s' (see 'zcap help')", name);
	return ZCAP_EXIT_USAGE;
}
