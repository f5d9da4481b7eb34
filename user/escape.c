// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int esc_byte(uint8_t c, char esc[ESC_MAX], unsigned int flags)
{
	static const char hex[] = "0123456789abcdef";

	esc[0] = '\\';
	switch (c) {
	case '\n':
		esc[1] = 'n';
		return 2;
	case '\r':
		esc[1] = 'r';
		return 2;
	case '\t':
		esc[1] = 't';
		return 2;
	case '"':
	case '\\':
		esc[1] = c;
		return 2;
	}
	if (c < 0x20 || c >= 0x7f || ((flags & ESC_WORD) && (c == ' ' || c == '[' || c == ']'))) {
		esc[1] = 'x';
		esc[2] = hex[c >> 4];
		esc[3] = hex[c & 0xf];
		return 4;
	}
	esc[0] = c;
	return 1;
}

size_t esc_mem(char *out, const void *s, size_t n, unsigned int flags)
{
	const uint8_t *p = s;
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += esc_byte(p[i], out + len, flags);
	out[len] = 0;
	return len;
}

void esc_fwrite(FILE *f, const void *s, size_t n, unsigned int flags)
{
	const uint8_t *p = s;
	char buf[512];
	size_t used = 0;

	/* built in a local buffer: a stdio call per byte is slow */
	for (size_t i = 0; i < n; i++) {
		if (used + ESC_MAX > sizeof(buf)) {
			fwrite(buf, 1, used, f);
			used = 0;
		}
		used += esc_byte(p[i], buf + used, flags);
	}
	fwrite(buf, 1, used, f);
}

void esc_fputs(FILE *f, const char *s, unsigned int flags)
{
	esc_fwrite(f, s, strlen(s), flags);
}

char *esc_strdup(const char *s, unsigned int flags)
{
	size_t n = strlen(s);
	char *out = malloc(ESC_MAX * n + 1);

	if (out)
		esc_mem(out, s, n, flags);
	return out;
}

size_t utf8_char(const uint8_t *s, size_t avail, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, 0xC0/0xC1, 0xF5..0xFF */
	}
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

bool utf8_valid(const void *s, size_t n)
{
	const uint8_t *p = s;
	uint32_t cp;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(p + i, n - i, &cp);

		if (!k || !cp)
			return false;
		i += k;
	}
	return true;
}

char *utf8_lossy(const void *s, size_t n, size_t *len)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const uint8_t *p = s;
	char *out = malloc(3 * n + 1);
	size_t o = 0;
	uint32_t cp;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(p + i, n - i, &cp);

		if (k && cp) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	if (len)
		*len = o;
	return out;
}

void esc_dot(FILE *f, const char *s, bool label)
{
	char esc[ESC_MAX];

	for (; *s; s++) {
		int n = esc_byte((uint8_t)*s, esc, 0);

		/*
		 * In a DOT literal only \" is an escape; a label also reads
		 * \\ and \n: double the escapes' backslashes there, so the
		 * label shows exactly the escaped name.
		 */
		for (int i = 0; i < n; i++) {
			if (label && esc[i] == '\\')
				fputs("\\\\", f);
			else if (esc[i] == '"')
				fputs(label ? "\\\"" : "\"", f);
			else
				fputc(esc[i], f);
		}
	}
}
