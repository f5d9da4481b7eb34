// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account.h"
#include "spawn.h"
#include "util.h"

bool command_runnable(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/')) {
		struct stat st;

		/* a directory passes access(X_OK) but cannot be run */
		if (access(cmd, X_OK) == 0 && stat(cmd, &st) == 0 && S_ISDIR(st.st_mode)) {
			zcap_err("cannot run '%s': %s", cmd, strerror(EISDIR));
			return false;
		}
		if (access(cmd, X_OK) == 0)
			return true;
		zcap_err("cannot run '%s': %s", cmd, strerror(errno));
		return false;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", cmd);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	zcap_err("cannot run '%s': command not found", cmd);
	return false;
}

/* As runuser -u USER: USER's ids and groups, HOME, USER, LOGNAME, SHELL. */
static int become_user(const struct account *a)
{
	int err = account_become(a);

	if (!err)
		err = account_set_env(a);
	if (err) {
		zcap_err("cannot switch to user '%s': %s", a->name, strerror(-err));
		return -1;
	}
	return 0;
}

pid_t spawn_stopped(char *const argv[], const char *user)
{
	struct account acct;
	pid_t pid;
	int status;

	if (user && account_lookup(user, &acct)) {
		zcap_err("unknown user '%s'", user);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		zcap_err("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (user && become_user(&acct))
			_exit(126);
		raise(SIGSTOP);
		execvp(argv[0], argv);
		zcap_err("cannot run '%s': %s", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		zcap_err("child %d did not start", (int)pid);
		return -1;
	}
	return pid;
}

int spawn_resume(pid_t pid)
{
	return kill(pid, SIGCONT) ? -errno : 0;
}

int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return ZCAP_EXIT_FAIL;
}
