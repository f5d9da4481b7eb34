/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Paths of open files by identity (device, inode). Events carry (dev, ino)
 * rather than a path: the kernel resolves paths once, at open, and this
 * cache names every later read/write, whatever dup/fork did to the fd.
 * Files opened before the capture started are named from /proc.
 */
#ifndef ZCAP_PATHCACHE_H
#define ZCAP_PATHCACHE_H

#include <stdint.h>
#include <sys/types.h>

struct pathcache;

struct pathcache *pathcache_new(unsigned int max_entries);
void pathcache_free(struct pathcache *pc);

/* Remember (or replace) the path of (dev, ino); dev in kernel encoding. */
int pathcache_put(struct pathcache *pc, uint32_t dev, uint64_t ino, const char *path);
const char *pathcache_get(const struct pathcache *pc, uint32_t dev, uint64_t ino);

/* As get, falling back to readlink(/proc/PID/fd/FD) when the fd still
 * refers to the same (dev, ino); the answer is cached. NULL if unknown. */
const char *pathcache_resolve(struct pathcache *pc, uint32_t dev, uint64_t ino, pid_t pid, int fd);

/* Learn the paths of every file PID has open now (0: zcap itself, whose
 * stdio `-- CMD` inherits). Returns how many were added. */
int pathcache_seed_pid(struct pathcache *pc, pid_t pid);

/* Kernel dev_t encoding (major << 20 | minor) to userspace dev_t. */
dev_t kernel_dev_to_dev(uint32_t kdev);

#endif
