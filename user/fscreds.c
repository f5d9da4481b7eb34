// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "account.h"
#include "fscreds.h"

int fscreds_of_user(struct fscreds *c, const char *user)
{
	struct account a;
	int err;

	c->groups = NULL;
	c->ngroups = 0;
	err = account_lookup(user, &a);
	if (err)
		return err;
	c->uid = a.uid;
	c->gid = a.gid;
	/* the groups CMD gets (spawn.c) */
	return account_groups(&a, &c->groups, &c->ngroups);
}

void fscreds_free(struct fscreds *c)
{
	free(c->groups);
	c->groups = NULL;
}

int fscreds_open(const struct fscreds *c, const char *path, int flags)
{
	int nsaved, fd = -1, err = EPERM;
	gid_t fsgid, *saved;
	uid_t fsuid;

	if (!c)
		return open(path, flags);
	nsaved = getgroups(0, NULL);
	saved = calloc(nsaved > 0 ? nsaved : 1, sizeof(gid_t));
	if (!saved || getgroups(nsaved, saved) != nsaved) {
		free(saved);
		errno = ENOMEM;
		return -1;
	}
	fsuid = syscall(SYS_setfsuid, -1);
	fsgid = syscall(SYS_setfsgid, -1);
	/* groups, then gid, then uid; opened only if all three took */
	if (!syscall(SYS_setgroups, c->ngroups, c->groups)) {
		syscall(SYS_setfsgid, c->gid);
		syscall(SYS_setfsuid, c->uid);
		if ((uid_t)syscall(SYS_setfsuid, -1) == c->uid &&
		    (gid_t)syscall(SYS_setfsgid, -1) == c->gid) {
			fd = open(path, flags);
			err = errno;
		}
	}
	syscall(SYS_setfsuid, fsuid);
	syscall(SYS_setfsgid, fsgid);
	syscall(SYS_setgroups, nsaved, saved);
	free(saved);
	if (fd < 0)
		errno = err;
	return fd;
}
