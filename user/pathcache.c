// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pathcache.h"

struct pc_entry {
	struct pc_entry *next;
	uint64_t ino;
	uint32_t dev;
	char path[];
};

struct pathcache {
	struct pc_entry **buckets;
	unsigned int nbuckets;
	unsigned int count;
	unsigned int max_entries;
};

dev_t kernel_dev_to_dev(uint32_t kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}

static unsigned int bucket_of(const struct pathcache *pc, uint32_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ ((uint64_t)dev << 32)) * 0x9e3779b97f4a7c15ULL;

	return (unsigned int)(h >> 32) % pc->nbuckets;
}

struct pathcache *pathcache_new(unsigned int max_entries)
{
	struct pathcache *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	pc->max_entries = max_entries ? max_entries : 65536;
	pc->nbuckets = 4099;
	pc->buckets = calloc(pc->nbuckets, sizeof(*pc->buckets));
	if (!pc->buckets) {
		free(pc);
		return NULL;
	}
	return pc;
}

static void clear(struct pathcache *pc)
{
	for (unsigned int i = 0; i < pc->nbuckets; i++) {
		struct pc_entry *e = pc->buckets[i];

		while (e) {
			struct pc_entry *next = e->next;

			free(e);
			e = next;
		}
		pc->buckets[i] = NULL;
	}
	pc->count = 0;
}

void pathcache_free(struct pathcache *pc)
{
	if (!pc)
		return;
	clear(pc);
	free(pc->buckets);
	free(pc);
}

int pathcache_put(struct pathcache *pc, uint32_t dev, uint64_t ino, const char *path)
{
	unsigned int b = bucket_of(pc, dev, ino);
	struct pc_entry **pp, *e;
	size_t n = strlen(path);

	for (pp = &pc->buckets[b]; *pp; pp = &(*pp)->next) {
		if ((*pp)->dev == dev && (*pp)->ino == ino) {
			if (!strcmp((*pp)->path, path))
				return 0;
			e = *pp;
			*pp = e->next;
			free(e);
			pc->count--;
			break;
		}
	}
	/* Bounded memory: a full cache starts over; lookups refill it. */
	if (pc->count >= pc->max_entries)
		clear(pc);
	e = malloc(sizeof(*e) + n + 1);
	if (!e)
		return -ENOMEM;
	e->dev = dev;
	e->ino = ino;
	memcpy(e->path, path, n + 1);
	e->next = pc->buckets[b];
	pc->buckets[b] = e;
	pc->count++;
	return 0;
}

const char *pathcache_get(const struct pathcache *pc, uint32_t dev, uint64_t ino)
{
	for (struct pc_entry *e = pc->buckets[bucket_of(pc, dev, ino)]; e; e = e->next)
		if (e->dev == dev && e->ino == ino)
			return e->path;
	return NULL;
}

const char *pathcache_resolve(struct pathcache *pc, uint32_t dev, uint64_t ino, pid_t pid, int fd)
{
	char link[64], target[PATH_MAX];
	const char *p = pathcache_get(pc, dev, ino);
	struct stat st;
	ssize_t n;

	if (p || pid <= 0 || fd < 0)
		return p;
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	/* the fd may have been closed or reused since the event */
	if (stat(link, &st) || st.st_ino != ino || st.st_dev != kernel_dev_to_dev(dev))
		return NULL;
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0 || target[0] != '/') /* "pipe:[...]", "socket:[...]" name nothing */
		return NULL;
	target[n] = 0;
	if (pathcache_put(pc, dev, ino, target))
		return NULL;
	return pathcache_get(pc, dev, ino);
}

int pathcache_seed_pid(struct pathcache *pc, pid_t pid)
{
	char dir[64], link[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int added = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), pid > 0 ? "/proc/%d/fd" : "/proc/self/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0 || stat(link, &st))
			continue;
		target[n] = 0;
		if (target[0] != '/')
			continue;
		if (!pathcache_put(pc, (major(st.st_dev) << 20) | minor(st.st_dev), st.st_ino, target))
			added++;
	}
	closedir(d);
	return added;
}
