/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup v2 ids (what bpf_get_current_cgroup_id returns) to paths and
 * back. An id is the cgroup directory's kernfs id: its file handle from
 * name_to_handle_at (and its inode number). Paths are relative to the
 * cgroup2 mount's root, as /proc/PID/cgroup shows them ("/system.slice/
 * docker-<id>.scope"). The map walks the cgroup2 mount once and again
 * when it meets an id it does not know (a cgroup made later); ids still
 * unknown then (a cgroup already removed) are remembered as such.
 */
#ifndef ZCAP_CGROUPS_H
#define ZCAP_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"

struct cgroup_info {
	uint64_t id;
	const char *path; /* NULL when no cgroup has this id (any more) */
	struct container ct;
};

/* The cgroup2 mount point, from /proc/mounts (never assumed): 0 or
 * -ENOENT when cgroup2 is not mounted. */
int cgroup2_mount(char *out, size_t len);

/* --cgroup PATH: a cgroup2 directory given as a file system path
 * (/sys/fs/cgroup/x/y) or relative to the cgroup2 root (/x/y). Its id and
 * depth below the root (root = 0); 0 or -errno (-ENOENT: no such cgroup,
 * -ENOTDIR: not a cgroup2 directory). */
int cgroup_resolve(const char *path, uint64_t *id, uint32_t *level);

/* Is process pid in the cgroup with this id (at this depth below the
 * root) or below it, as /proc/PID/cgroup places it? false when it cannot
 * be told (the process is gone, its cgroup was removed). */
bool cgroup_pid_in(pid_t pid, uint64_t id, uint32_t level);

struct cgroupmap;

struct cgroupmap *cgroupmap_new(void);
void cgroupmap_free(struct cgroupmap *m);
/* The cgroup with this id; NULL for id 0 (no cgroup) or when m is NULL. */
const struct cgroup_info *cgroupmap_get(struct cgroupmap *m, uint64_t id);

#endif
