/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Untrusted strings in JSON (every JSON writer: record --json, lineage's
 * JSON, PROV and OpenLineage). JSON text must be valid UTF-8, paths and
 * argv are bytes: a field "K" holds the string with every invalid byte as
 * U+FFFD, and only when that lost something, "K_b64" holds the raw bytes
 * in base64 (docs/event-schema.md, docs/lineage.md).
 */
#ifndef ZCAP_JTEXT_H
#define ZCAP_JTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* n bytes in standard base64 (with padding), malloc'd; NULL on ENOMEM. */
char *jtext_b64_dup(const void *data, size_t n);

/* n bytes in standard base64 (with padding) as a JSON string. */
json_object *jtext_base64(const void *data, size_t n);

/* The readable (valid UTF-8) string of n bytes. */
json_object *jtext_new(const char *s, size_t n);

/* o[key] = jtext_new(s), and o[key_b64] = base64 of s when s is not valid
 * UTF-8. s NULL: nothing. */
void jtext_add(json_object *o, const char *key, const char *s, size_t n);
void jtext_add_str(json_object *o, const char *key, const char *s);
/* The same, and o[key] = null for NULL or "". */
void jtext_add_or_null(json_object *o, const char *key, const char *s);

/* o[key] = an array of the NUL-terminated strings in the n bytes of buf
 * (argv as exec saw it), and o[key_b64] = the array of their raw bytes in
 * base64 when any is not valid UTF-8. */
void jtext_add_strings(json_object *o, const char *key, const char *buf, size_t n);

/* The same for a NULL-terminated vector (NULL: an empty array). */
void jtext_add_strv(json_object *o, const char *key, char *const *v);

#endif
