/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who a user given on the command line is (`--user`, `-Z`): a name from
 * the password database, or a numeric uid, with or without an entry; and
 * becoming that user as runuser(1) does.
 *
 * A name is looked up first (a user called "1000" is that user); else a
 * decimal number is a uid. A uid with a passwd entry is that entry. A uid
 * without one is what `setpriv --reuid=N --regid=N --clear-groups` makes:
 * uid N, gid N, no supplementary groups, and (runuser would refuse it)
 * HOME=/, USER=LOGNAME=N.
 */
#ifndef ZCAP_ACCOUNT_H
#define ZCAP_ACCOUNT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct account {
	uid_t uid;
	gid_t gid;
	bool in_passwd;	     /* false: a bare numeric uid */
	char name[64];	     /* the passwd name, or the number */
	char home[PATH_MAX]; /* pw_dir, or "/" */
};

/* Fill `a` for a name or a numeric uid. 0, or -ENOENT (no such user),
 * -ENAMETOOLONG (a passwd field that does not fit). */
int account_lookup(const char *spec, struct account *a);

/* The supplementary groups the account gets (initgroups(3) for a passwd
 * entry, none for a bare uid): a malloc'ed array and its length, or
 * -errno. */
int account_groups(const struct account *a, gid_t **groups, int *n);

/* Become the account for good: groups, gid, then uid (real, effective
 * and saved), so no capability survives. 0 or -errno (nothing is half
 * changed that matters: the caller exits on failure). */
int account_become(const struct account *a);

/* The environment runuser -u (util-linux) gives: HOME of the account,
 * USER and LOGNAME too unless it is root; SHELL stays as it was (runuser
 * -u runs no shell and leaves it, even for a user whose shell differs). */
int account_set_env(const struct account *a);

#endif
