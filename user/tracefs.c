// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "tracefs.h"
#include "util.h"

#define TRACEFS_MAGIC 0x74726163
#define TRACEFS_DIR   "/sys/kernel/tracing"
#define DEBUGFS_DIR   "/sys/kernel/debug/tracing"

static bool is_tracefs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == TRACEFS_MAGIC;
}

/* Where tracefs is looked for and mounted: $ZCAP_TRACEFS_PATH (a test and
 * debug override, the only place looked at then), else the standard one. */
static const char *tracefs_dir(void)
{
	const char *dir = getenv("ZCAP_TRACEFS_PATH");

	return dir && *dir ? dir : NULL;
}

const char *tracefs_root(void)
{
	if (tracefs_dir())
		return is_tracefs(tracefs_dir()) ? tracefs_dir() : NULL;
	if (is_tracefs(TRACEFS_DIR))
		return TRACEFS_DIR;
	if (is_tracefs(DEBUGFS_DIR))
		return DEBUGFS_DIR;
	return NULL;
}

/* A test/debug directory (ZCAP_TRACEFS_PATH) is left as it was found.
 * (The standard place stays mounted, as the kernel's automount would.) */
static void unmount_override(void)
{
	umount2(tracefs_dir(), MNT_DETACH);
}

int tracefs_mount(bool *mounted)
{
	if (mounted)
		*mounted = false;
	if (tracefs_root())
		return 0;
	if (mount("nodev", tracefs_dir() ? tracefs_dir() : TRACEFS_DIR, "tracefs", 0, NULL))
		return -errno;
	if (tracefs_dir())
		atexit(unmount_override);
	if (mounted)
		*mounted = true;
	return 0;
}

int tracefs_ensure(bool *mounted)
{
	const char *dir = tracefs_dir() ? tracefs_dir() : TRACEFS_DIR;
	int err = tracefs_mount(mounted);

	if (err)
		zcap_err("tracefs is not mounted and mounting it at %s failed: %s "
			 "(mount it: mount -t tracefs nodev %s)",
			 dir, strerror(-err), dir);
	return err;
}

bool tracepoint_exists(const char *category, const char *name)
{
	const char *root = tracefs_root();
	char path[PATH_MAX];

	if (!root)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", root, category, name);
	return access(path, F_OK) == 0;
}
