/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Opening a file with another user's file-system credentials (fsuid,
 * fsgid, groups) from root: what `lineage --user USER` hashes must be
 * what USER could read itself. Only the calling thread's credentials
 * change (raw syscalls, not glibc's process-wide wrappers), and only for
 * the open.
 */
#ifndef ZCAP_FSCREDS_H
#define ZCAP_FSCREDS_H

#include <stdbool.h>
#include <sys/types.h>

struct fscreds {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* USER's credentials; 0 or -errno (-ENOENT: no such user). */
int fscreds_of_user(struct fscreds *c, const char *user);
void fscreds_free(struct fscreds *c);

/* open(path, flags) as c (NULL: as we are); -1 with errno. */
int fscreds_open(const struct fscreds *c, const char *path, int flags);

#endif
