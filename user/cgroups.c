// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cgroup v2 ids and paths (cgroups.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroups.h"

#define CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */
#define BUCKETS	      256
#define MAX_DEPTH     64

struct entry {
	struct entry *next;
	struct cgroup_info info;
};

struct cgroupmap {
	char mnt[PATH_MAX]; /* "" when cgroup2 is not mounted */
	struct entry *buckets[BUCKETS];
};

int cgroup2_mount(char *out, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(out, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(f);
	return err;
}

/* The kernfs id of dirfd/name: its 8-byte file handle. */
static int handle_id(int dirfd, const char *name, uint64_t *id)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + 64];
	} h = {.fh.handle_bytes = 64};
	int mount_id;

	if (name_to_handle_at(dirfd, name, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes < sizeof(*id))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int cgroup_resolve(const char *path, uint64_t *id, uint32_t *level)
{
	char mnt[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX];
	size_t mlen;
	struct statfs sfs;
	uint32_t depth = 0;
	int err;

	err = cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	mlen = strlen(mnt);
	/* a file system path under the mount, else a path below its root */
	if (!strncmp(path, mnt, mlen) && (path[mlen] == '/' || !path[mlen]))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", mnt, path);
	if (!realpath(full, real))
		return -errno;
	if (statfs(real, &sfs))
		return -errno;
	if (sfs.f_type != CGROUP2_MAGIC || strncmp(real, mnt, mlen) ||
	    (real[mlen] != '/' && real[mlen]))
		return -ENOTDIR;
	for (const char *p = real + mlen; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			depth++;
	err = handle_id(AT_FDCWD, real, id);
	if (err)
		return err;
	*level = depth;
	return 0;
}

/* The "0::/a/b" line of /proc/PID/cgroup: the path of pid's cgroup v2,
 * relative to the cgroup2 root. 0 or -errno. */
static int pid_cgroup_path(pid_t pid, char *out, size_t len)
{
	char name[40], *line = NULL;
	size_t cap = 0;
	int err = -ENOENT;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/cgroup", (int)pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (err && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = 0;
		err = snprintf(out, len, "%s", line + 3) < (int)len ? 0 : -ENAMETOOLONG;
	}
	free(line);
	fclose(f);
	return err;
}

bool cgroup_pid_in(pid_t pid, uint64_t id, uint32_t level)
{
	char path[PATH_MAX];
	uint32_t depth = 0, got_level;
	uint64_t got;

	if (pid_cgroup_path(pid, path, sizeof(path)))
		return false;
	if (level == 0)
		return true; /* the root holds every process */
	/* path cut to its first `level` components: the ancestor to compare */
	for (char *p = path; *p; p++) {
		if (*p != '/' || !p[1] || p[1] == '/')
			continue;
		if (depth++ == level) {
			*p = 0;
			break;
		}
	}
	return depth >= level && !cgroup_resolve(path, &got, &got_level) && got == id &&
	       got_level == level;
}

static struct entry *lookup(struct cgroupmap *m, uint64_t id)
{
	for (struct entry *e = m->buckets[id % BUCKETS]; e; e = e->next)
		if (e->info.id == id)
			return e;
	return NULL;
}

/* Add (or name again) id; path NULL for "no such cgroup". */
static struct entry *put(struct cgroupmap *m, uint64_t id, const char *path)
{
	struct entry *e = lookup(m, id);
	char *copy;

	if (e && path && e->info.path && !strcmp(e->info.path, path))
		return e; /* unchanged: callers may hold its strings */
	copy = path ? strdup(path) : NULL;

	if (path && !copy)
		return e;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			free(copy);
			return NULL;
		}
		e->info.id = id;
		e->next = m->buckets[id % BUCKETS];
		m->buckets[id % BUCKETS] = e;
	}
	free((char *)e->info.path);
	e->info.path = copy;
	if (copy)
		container_of_cgroup(copy, &e->info.ct);
	return e;
}

/* Every cgroup directory below dirfd (whose path is rel), depth-first. */
static void walk(struct cgroupmap *m, int dirfd, char *rel, size_t len, int depth)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		uint64_t id;
		int fd;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 1 + n >= PATH_MAX || handle_id(dirfd, de->d_name, &id))
			continue;
		rel[len] = '/';
		memcpy(rel + len + 1, de->d_name, n + 1);
		put(m, id, rel);
		if (depth < MAX_DEPTH) {
			fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				walk(m, fd, rel, len + 1 + n, depth + 1);
		}
		rel[len] = 0;
	}
	closedir(d);
}

static void scan(struct cgroupmap *m)
{
	char rel[PATH_MAX] = "";
	uint64_t id;
	int fd;

	if (!*m->mnt)
		return;
	if (!handle_id(AT_FDCWD, m->mnt, &id))
		put(m, id, "/");
	fd = open(m->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		walk(m, fd, rel, 0, 0);
}

struct cgroupmap *cgroupmap_new(void)
{
	struct cgroupmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (cgroup2_mount(m->mnt, sizeof(m->mnt)))
		*m->mnt = 0;
	scan(m);
	return m;
}

void cgroupmap_free(struct cgroupmap *m)
{
	if (!m)
		return;
	for (int i = 0; i < BUCKETS; i++) {
		while (m->buckets[i]) {
			struct entry *e = m->buckets[i];

			m->buckets[i] = e->next;
			free((char *)e->info.path);
			free(e);
		}
	}
	free(m);
}

const struct cgroup_info *cgroupmap_get(struct cgroupmap *m, uint64_t id)
{
	struct entry *e;

	if (!m || !id)
		return NULL;
	e = lookup(m, id);
	if (!e) {
		/* made after the last walk, or gone: walk again, once per id */
		scan(m);
		e = lookup(m, id);
		if (!e)
			e = put(m, id, NULL);
	}
	return e ? &e->info : NULL;
}
