/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A streaming JSON writer for the hot path (record --json): values are
 * formatted straight into one growing buffer, no object tree per record.
 * The text is what json-c prints with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE for the same calls, or with `pretty` set
 * JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE (the lineage
 * record; tests/unit/test_jsonw.c holds the two side by side), so readers
 * see the same bytes either way.
 *
 * Keys are the caller's own literals; strings from outside (paths, comm)
 * go through jw_ktext, which keeps the output valid UTF-8 the way
 * user/jtext.c does for json-c ("K" lossy, "K_b64" the raw bytes).
 */
#ifndef ZCAP_JSONW_H
#define ZCAP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 32

struct jw {
	char *buf;
	size_t len, cap;
	bool oom;		/* an allocation failed: the text is unusable */
	bool pretty;		/* json-c's PRETTY layout: a line per member, 2-space indent */
	unsigned int depth;
	bool after_key;		/* a key was written: its value comes next */
	bool more[JW_MAX_DEPTH]; /* a value is already open at this depth */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* Start the next document in the same buffer. */
void jw_reset(struct jw *w);

void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);

/* A member's key (inside an object); the value follows. */
void jw_key(struct jw *w, const char *key);

/* Values */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_i64(struct jw *w, int64_t v);
void jw_u64(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* n bytes in standard base64 (with padding) as a string. */
void jw_b64(struct jw *w, const void *data, size_t n);

/* key + value in one call */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_ki64(struct jw *w, const char *key, int64_t v);
void jw_ku64(struct jw *w, const char *key, uint64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_kb64(struct jw *w, const char *key, const void *data, size_t n);

/* Untrusted bytes as a string value: their valid UTF-8 form (every byte
 * outside a well-formed sequence as U+FFFD, user/escape.c). */
void jw_text(struct jw *w, const char *s, size_t n);

/* Bytes appended as they are, outside the JSON grammar (a line's end). */
void jw_raw(struct jw *w, const char *s, size_t n);

/* n bytes of text that already is one JSON scalar (a number, string,
 * true/false/null as json-c prints it), as the next value. */
void jw_scalar(struct jw *w, const char *s, size_t n);

/* Untrusted bytes: key = their valid UTF-8 form, and key_b64 = the raw
 * bytes in base64 when that form lost something (jtext_add's rule).
 * s NULL: nothing. */
void jw_ktext(struct jw *w, const char *key, const char *s, size_t n);

/* A list of untrusted strings (v NULL-terminated; NULL: empty): key = an
 * array of their valid UTF-8 forms, and key_b64 = an array of every
 * string's raw bytes in base64 when any form lost something
 * (jtext_add_strv's rule). */
void jw_ktextv(struct jw *w, const char *key, char *const *v);
/* The same for n bytes of NUL-terminated strings (argv as exec saw it). */
void jw_kstrings(struct jw *w, const char *key, const char *buf, size_t n);

#endif
