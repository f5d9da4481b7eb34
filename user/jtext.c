// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "escape.h"
#include "jtext.h"

char *jtext_b64_dup(const void *data, size_t n)
{
	char *b64 = malloc(4 * ((n + 2) / 3) + 1);

	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, data, (int)n);
	return b64;
}

json_object *jtext_base64(const void *data, size_t n)
{
	char *b64 = jtext_b64_dup(data, n);
	json_object *o;

	if (!b64)
		return NULL;
	o = json_object_new_string_len(b64, (int)(4 * ((n + 2) / 3)));
	free(b64);
	return o;
}

json_object *jtext_new(const char *s, size_t n)
{
	json_object *o;
	size_t len;
	char *v;

	if (utf8_valid(s, n))
		return json_object_new_string_len(s, (int)n);
	v = utf8_lossy(s, n, &len);
	if (!v)
		return NULL;
	o = json_object_new_string_len(v, (int)len);
	free(v);
	return o;
}

static void b64_key(char *k, size_t size, const char *key)
{
	snprintf(k, size, "%s_b64", key);
}

void jtext_add(json_object *o, const char *key, const char *s, size_t n)
{
	char k[64];

	if (!s)
		return;
	json_object_object_add(o, key, jtext_new(s, n));
	if (!utf8_valid(s, n)) {
		b64_key(k, sizeof(k), key);
		json_object_object_add(o, k, jtext_base64(s, n));
	}
}

void jtext_add_str(json_object *o, const char *key, const char *s)
{
	if (s)
		jtext_add(o, key, s, strlen(s));
}

void jtext_add_or_null(json_object *o, const char *key, const char *s)
{
	if (s && *s)
		jtext_add_str(o, key, s);
	else
		json_object_object_add(o, key, NULL);
}

/* Both arrays of one list; b64 only kept when needed. */
struct strlist {
	json_object *text, *b64;
	bool lossy;
};

static void list_add(struct strlist *l, const char *s, size_t n)
{
	json_object_array_add(l->text, jtext_new(s, n));
	json_object_array_add(l->b64, jtext_base64(s, n));
	if (!utf8_valid(s, n))
		l->lossy = true;
}

static void list_put(struct strlist *l, json_object *o, const char *key)
{
	char k[64];

	json_object_object_add(o, key, l->text);
	if (l->lossy) {
		b64_key(k, sizeof(k), key);
		json_object_object_add(o, k, l->b64);
	} else {
		json_object_put(l->b64);
	}
}

void jtext_add_strings(json_object *o, const char *key, const char *buf, size_t n)
{
	struct strlist l = { json_object_new_array(), json_object_new_array(), false };
	const char *s = buf, *end = buf + n;

	while (s < end) {
		size_t len = strnlen(s, end - s);

		list_add(&l, s, len);
		s += len + 1;
	}
	list_put(&l, o, key);
}

void jtext_add_strv(json_object *o, const char *key, char *const *v)
{
	struct strlist l = { json_object_new_array(), json_object_new_array(), false };

	for (; v && *v; v++)
		list_add(&l, *v, strlen(*v));
	list_put(&l, o, key);
}
