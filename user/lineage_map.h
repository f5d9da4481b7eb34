/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small containers for the lineage model: a string-keyed hash map (keys
 * copied, values borrowed) and a set of pids kept in insertion order.
 */
#ifndef ZCAP_LINEAGE_MAP_H
#define ZCAP_LINEAGE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lmap_ent;

struct lmap {
	struct lmap_ent **buckets;
	size_t nbuckets;
	size_t count;
};

/* A zeroed struct lmap is an empty map. */
void *lmap_get(const struct lmap *m, const char *key);
/* Insert or replace; 0 or -ENOMEM. */
int lmap_put(struct lmap *m, const char *key, void *val);
void lmap_del(struct lmap *m, const char *key);
/* Free the map's own memory (not the values). */
void lmap_clear(struct lmap *m);

struct pidset {
	pid_t *v;
	int n, cap;
};

bool pidset_has(const struct pidset *s, pid_t pid);
/* Add unless present; 0 or -ENOMEM. */
int pidset_add(struct pidset *s, pid_t pid);
void pidset_free(struct pidset *s);

#endif
