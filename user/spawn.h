/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Running `-- CMD`: the child stops itself before exec so that tracing
 * can be set up for its pid first; nothing of CMD's start-up is missed.
 */
#ifndef ZCAP_SPAWN_H
#define ZCAP_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/* Fork a child that stops (SIGSTOP) and then execs argv[0] (PATH search)
 * once resumed, optionally as `user`. Returns its pid (stopped), or -1
 * with a message printed. */
pid_t spawn_stopped(char *const argv[], const char *user);
/* Let the stopped child run (exec). */
int spawn_resume(pid_t pid);
/* waitpid status to a shell-like exit code (128+N for signal N). */
int exit_code_of(int status);
/* Is CMD runnable (found in PATH and executable)? Message printed if not. */
bool command_runnable(const char *cmd);

#endif
