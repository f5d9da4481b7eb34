// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lineage_map.h"

struct lmap_ent {
	struct lmap_ent *next;
	void *val;
	char key[]; /* NUL-terminated copy */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct lmap_ent **slot_of(const struct lmap *m, const char *key)
{
	struct lmap_ent **pp = &m->buckets[hash_str(key) & (m->nbuckets - 1)];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

void *lmap_get(const struct lmap *m, const char *key)
{
	struct lmap_ent **pp;

	if (!m->nbuckets)
		return NULL;
	pp = slot_of(m, key);
	return *pp ? (*pp)->val : NULL;
}

/* Double the bucket array once the map is as full as it is wide. */
static int grow(struct lmap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
	struct lmap_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			size_t k = hash_str(e->key) & (nb - 1);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

int lmap_put(struct lmap *m, const char *key, void *val)
{
	struct lmap_ent **pp, *e;
	size_t klen = strlen(key);

	if (m->count >= m->nbuckets && grow(m))
		return -ENOMEM;
	pp = slot_of(m, key);
	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, klen + 1);
	e->val = val;
	e->next = NULL;
	*pp = e;
	m->count++;
	return 0;
}

void lmap_del(struct lmap *m, const char *key)
{
	struct lmap_ent **pp, *e;

	if (!m->nbuckets)
		return;
	pp = slot_of(m, key);
	e = *pp;
	if (!e)
		return;
	*pp = e->next;
	free(e);
	m->count--;
}

void lmap_clear(struct lmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

bool pidset_has(const struct pidset *s, pid_t pid)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return true;
	return false;
}

int pidset_add(struct pidset *s, pid_t pid)
{
	if (pidset_has(s, pid))
		return 0;
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 4;
		pid_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = pid;
	return 0;
}

void pidset_free(struct pidset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
