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
	fprintf(out, "  %-10s %s\n  %-10s %s\n", "version", "print the version", "help",
		"this text");
	fprintf(out, "\nRun 'zcap COMMAND --help' for a command's options.\n"
		     "Exit status: 0 ok, 1 runtime failure, 2 bad usage or missing privileges;\n"
		     "with `-- CMD`, CMD's exit status.\n");
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		usage(stderr);
		return ZCAP_EXIT_USAGE;
	}
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return ZCAP_EXIT_OK;
	}
	if (!strcmp(name, "version") || !strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("zcap %s (event ABI %d)\n", ZCAP_VERSION, ZCAP_ABI_VERSION);
		return ZCAP_EXIT_OK;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(name, c->name))
			return c->run(argc - 1, argv + 1);
	zcap_err("unknown command '%s' (see 'zcap help')", name);
	return ZCAP_EXIT_USAGE;
}
