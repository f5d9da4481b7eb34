/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Subcommands: each takes its own argv (argv[0] is the command name). */
#ifndef ZCAP_COMMANDS_H
#define ZCAP_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_lineage(int argc, char **argv);
int cmd_read(int argc, char **argv);

#endif
