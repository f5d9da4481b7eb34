// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Users given on the command line, and becoming one (account.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "util.h"

static int copy(char *dst, size_t len, const char *src)
{
	return (size_t)snprintf(dst, len, "%s", src) < len ? 0 : -ENAMETOOLONG;
}

int account_lookup(const char *spec, struct account *a)
{
	struct passwd *pw = getpwnam(spec);
	uint64_t uid;

	memset(a, 0, sizeof(*a));
	/* (uid_t)-1 means "unchanged" to setuid: never a user */
	if (!pw && parse_u64(spec, 0, (uid_t)-2, &uid)) {
		pw = getpwuid(uid);
		if (!pw) {
			a->uid = uid;
			a->gid = uid;
			snprintf(a->name, sizeof(a->name), "%llu", (unsigned long long)uid);
			strcpy(a->home, "/");
			return 0;
		}
	}
	if (!pw)
		return -ENOENT;
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
	a->in_passwd = true;
	if (copy(a->name, sizeof(a->name), pw->pw_name) ||
	    copy(a->home, sizeof(a->home), pw->pw_dir))
		return -ENAMETOOLONG;
	return 0;
}

int account_groups(const struct account *a, gid_t **groups, int *n)
{
	int count = 0;

	*groups = NULL;
	*n = 0;
	if (!a->in_passwd) {
		*groups = calloc(1, sizeof(gid_t));
		return *groups ? 0 : -ENOMEM;
	}
	getgrouplist(a->name, a->gid, NULL, &count);
	*groups = calloc(count ? count : 1, sizeof(gid_t));
	if (!*groups)
		return -ENOMEM;
	if (getgrouplist(a->name, a->gid, *groups, &count) < 0) {
		free(*groups);
		*groups = NULL;
		return -EIO;
	}
	*n = count;
	return 0;
}

int account_become(const struct account *a)
{
	gid_t *groups;
	int n, err;

	err = account_groups(a, &groups, &n);
	if (err)
		return err;
	if (setgroups(n, groups) || setresgid(a->gid, a->gid, a->gid) ||
	    setresuid(a->uid, a->uid, a->uid))
		err = -errno;
	free(groups);
	return err;
}

int account_set_env(const struct account *a)
{
	if (setenv("HOME", a->home, 1))
		return -errno;
	if (a->uid != 0 && (setenv("USER", a->name, 1) || setenv("LOGNAME", a->name, 1)))
		return -errno;
	return 0;
}
