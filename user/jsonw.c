// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "escape.h"
#include "jsonw.h"

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->oom = false;
	w->depth = 0;
	w->more[0] = false;
	w->after_key = false;
}

/* The buffer grown to hold n more bytes; false (and oom) when it cannot. */
static __attribute__((noinline)) bool grow(struct jw *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->oom)
		return false;
	if (w->len + n <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

/* Room for n more bytes: inline, as every value asks (the buffer is
 * reused, so it nearly always has room). */
static inline bool reserve(struct jw *w, size_t n)
{
	if (__builtin_expect(!w->oom && w->len + n <= w->cap, 1))
		return true;
	return grow(w, n);
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (reserve(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

static void putc_(struct jw *w, char c)
{
	if (reserve(w, 1))
		w->buf[w->len++] = c;
}

/* Pretty: a new line indented two spaces per open container. */
static void newline(struct jw *w)
{
	size_t n = 1 + 2 * (size_t)w->depth;

	if (reserve(w, n)) {
		w->buf[w->len] = '\n';
		memset(w->buf + w->len + 1, ' ', n - 1);
		w->len += n;
	}
}

/* A value begins at this depth: the comma between array elements (and
 * pretty, its line). A member's key writes its own comma, so the value
 * after a key does not. */
static void value_start(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->more[w->depth])
		putc_(w, ',');
	w->more[w->depth] = true;
	if (w->pretty && w->depth)
		newline(w);
}

static void open_(struct jw *w, char c)
{
	value_start(w);
	putc_(w, c);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->depth++;
	w->more[w->depth] = false;
}

static void close_(struct jw *w, char c)
{
	if (w->depth)
		w->depth--;
	/* json-c pretty: the closing bracket on its own line, even when empty */
	if (w->pretty)
		newline(w);
	putc_(w, c);
}

void jw_obj_open(struct jw *w)
{
	open_(w, '{');
}

void jw_obj_close(struct jw *w)
{
	close_(w, '}');
}

void jw_arr_open(struct jw *w)
{
	open_(w, '[');
}

void jw_arr_close(struct jw *w)
{
	close_(w, ']');
}

/* Bytes that cannot stand for themselves in a JSON string: the control
 * characters, '"' and '\\' ('/' is left alone, as NOSLASHESCAPE does). */
static bool needs_escape(uint8_t c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

static void put_escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	/* worst case, every byte as \u00XX: one reservation */
	if (!reserve(w, 6 * n + 2))
		return;
	w->buf[w->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		char *o;

		if (!needs_escape(c)) {
			run++;
			continue;
		}
		memcpy(w->buf + w->len, s + i - run, run);
		w->len += run;
		run = 0;
		o = w->buf + w->len;
		o[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			o[1] = c;
			w->len += 2;
			break;
		case '\b':
			o[1] = 'b';
			w->len += 2;
			break;
		case '\f':
			o[1] = 'f';
			w->len += 2;
			break;
		case '\n':
			o[1] = 'n';
			w->len += 2;
			break;
		case '\r':
			o[1] = 'r';
			w->len += 2;
			break;
		case '\t':
			o[1] = 't';
			w->len += 2;
			break;
		default:
			memcpy(o + 1, "u00", 3);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 0xf];
			w->len += 6;
		}
	}
	memcpy(w->buf + w->len, s + n - run, run);
	w->len += run;
	w->buf[w->len++] = '"';
}

void jw_key(struct jw *w, const char *key)
{
	if (w->more[w->depth])
		putc_(w, ',');
	w->more[w->depth] = true;
	if (w->pretty)
		newline(w);
	put_escaped(w, key, strlen(key));
	putc_(w, ':');
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	value_start(w);
	put_escaped(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

/* Decimal digits of v, by hand: numbers are most of a record (ts_ns,
 * pid, len, ...), and snprintf was a fifth of the sink's time. */
static void put_decimal(struct jw *w, uint64_t v, bool neg)
{
	char b[24], *p = b + sizeof(b);

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	if (neg)
		*--p = '-';
	put(w, p, b + sizeof(b) - p);
}

void jw_i64(struct jw *w, int64_t v)
{
	value_start(w);
	/* the magnitude in unsigned arithmetic: INT64_MIN has no positive twin */
	put_decimal(w, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void jw_u64(struct jw *w, uint64_t v)
{
	value_start(w);
	put_decimal(w, v, false);
}

void jw_bool(struct jw *w, bool v)
{
	value_start(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jw_null(struct jw *w)
{
	value_start(w);
	put(w, "null", 4);
}

void jw_b64(struct jw *w, const void *data, size_t n)
{
	size_t out = 4 * ((n + 2) / 3);

	value_start(w);
	/* EVP_EncodeBlock writes a NUL after the text: room for it too */
	if (!reserve(w, out + 3))
		return;
	w->buf[w->len++] = '"';
	EVP_EncodeBlock((unsigned char *)w->buf + w->len, data, (int)n);
	w->len += out;
	w->buf[w->len++] = '"';
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_ki64(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_i64(w, v);
}

void jw_ku64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_u64(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_kb64(struct jw *w, const char *key, const void *data, size_t n)
{
	jw_key(w, key);
	jw_b64(w, data, n);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

void jw_scalar(struct jw *w, const char *s, size_t n)
{
	value_start(w);
	put(w, s, n);
}

/* jw_text; false when the bytes were not valid UTF-8 (something was lost) */
static bool text_value(struct jw *w, const char *s, size_t n)
{
	size_t len;
	char *v;

	if (utf8_valid(s, n)) {
		jw_strn(w, s, n);
		return true;
	}
	v = utf8_lossy(s, n, &len);
	if (!v) {
		w->oom = true;
		return false;
	}
	jw_strn(w, v, len);
	free(v);
	return false;
}

void jw_text(struct jw *w, const char *s, size_t n)
{
	text_value(w, s, n);
}

void jw_ktext(struct jw *w, const char *key, const char *s, size_t n)
{
	char k[64];

	if (!s)
		return;
	jw_key(w, key);
	/* one UTF-8 check per string: comm is in every record */
	if (!text_value(w, s, n)) {
		snprintf(k, sizeof(k), "%s_b64", key);
		jw_kb64(w, k, s, n);
	}
}

/* Strings one after the other: a NULL-terminated vector, or NUL-terminated
 * strings packed in [buf, end). */
struct strcur {
	char *const *v;
	const char *buf, *end;
};

static const char *cur_next(struct strcur *c, size_t *len)
{
	const char *s;

	if (c->v) {
		s = *c->v;
		if (s) {
			c->v++;
			*len = strlen(s);
		}
		return s;
	}
	if (c->buf >= c->end)
		return NULL;
	s = c->buf;
	*len = strnlen(s, c->end - s);
	c->buf += *len + 1;
	return s;
}

/* key = their valid UTF-8 forms; key_b64 = every string's raw bytes when
 * any form lost something (jtext's rule for lists) */
static void ktext_list(struct jw *w, const char *key, struct strcur cur)
{
	struct strcur again = cur;
	bool lossy = false;
	const char *s;
	size_t len;
	char k[64];

	jw_key(w, key);
	jw_arr_open(w);
	while ((s = cur_next(&cur, &len)))
		lossy |= !text_value(w, s, len);
	jw_arr_close(w);
	if (!lossy)
		return;
	snprintf(k, sizeof(k), "%s_b64", key);
	jw_key(w, k);
	jw_arr_open(w);
	while ((s = cur_next(&again, &len)))
		jw_b64(w, s, len);
	jw_arr_close(w);
}

void jw_ktextv(struct jw *w, const char *key, char *const *v)
{
	static char *const none[] = { NULL };

	ktext_list(w, key, (struct strcur){ .v = v ? v : none });
}

void jw_kstrings(struct jw *w, const char *key, const char *buf, size_t n)
{
	ktext_list(w, key, (struct strcur){ .buf = buf, .end = buf + n });
}
