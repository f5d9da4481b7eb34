// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* -Z USER: drop root after the capture has started (privdrop.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "account.h"
#include "privdrop.h"
#include "util.h"

int privdrop_check(const struct account *a, int map_fd)
{
	int status, err;
	pid_t pid;
	__u32 key;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		zcap_err("-Z: cannot fork: %s", strerror(-err));
		return err;
	}
	if (pid == 0) {
		if (account_become(a))
			_exit(2);
		_exit(bpf_map_get_next_key(map_fd, NULL, &key) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 2) {
		zcap_err("-Z: cannot switch to user '%s'", a->name);
		return -EPERM;
	}
	if (WEXITSTATUS(status) == 1) {
		zcap_err("-Z: this kernel lets only root use the bpf() syscall "
			 "(kernel.unprivileged_bpf_disabled, before Linux 6.5): as '%s' zcap could "
			 "not count lost events; run without -Z",
			 a->name);
		return -EPERM;
	}
	return 0;
}

int privdrop_now(const struct account *a)
{
	int err = account_become(a);

	/* setresuid from root to a non-root uid clears every capability
	 * set; a failure that left us root must not go unnoticed */
	if (!err && (getuid() != a->uid || geteuid() != a->uid || getgid() != a->gid ||
		     getegid() != a->gid))
		err = -EPERM;
	if (!err && a->uid != 0 && setuid(0) == 0)
		err = -EPERM;
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	if (err)
		zcap_err("-Z: cannot switch to user '%s': %s", a->name, strerror(-err));
	return err;
}
