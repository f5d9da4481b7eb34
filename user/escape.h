/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one place untrusted strings (paths, comm, argv, payloads) are made
 * safe for an output: C-style escapes for text and pcap-ng comments, valid
 * UTF-8 for JSON (with the raw bytes kept beside it, user/jtext.c), DOT
 * string literals. Every sink uses these; none escapes on its own.
 */
#ifndef ZCAP_ESCAPE_H
#define ZCAP_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Escape flags */
#define ESC_WORD 0x1 /* also ' ', '[' and ']': a comm can never look like another field */

/* The longest escape of one byte ("\xff") */
#define ESC_MAX 4

/*
 * One byte C-style escaped into esc: \n \r \t \" \\ as such, other bytes
 * below 0x20 or from 0x7f as \xNN, the rest (and with ESC_WORD not ' ',
 * '[', ']') as themselves. Returns its length (1 to ESC_MAX). Reversible:
 * the output is printable ASCII and never holds a lone '"'.
 */
int esc_byte(uint8_t c, char esc[ESC_MAX], unsigned int flags);

/* n bytes escaped into out (room for ESC_MAX * n + 1), NUL-terminated;
 * the escaped length. */
size_t esc_mem(char *out, const void *s, size_t n, unsigned int flags);

/* The NUL-terminated s escaped to f (or n bytes of it with esc_fwrite). */
void esc_fputs(FILE *f, const char *s, unsigned int flags);
void esc_fwrite(FILE *f, const void *s, size_t n, unsigned int flags);

/* s escaped into a malloc'd string; NULL on ENOMEM. */
char *esc_strdup(const char *s, unsigned int flags);

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), its code point in *cp; 0 if the
 * byte at s does not start one.
 */
size_t utf8_char(const uint8_t *s, size_t avail, uint32_t *cp);

/* Are these n bytes valid UTF-8 (with no NUL)? */
bool utf8_valid(const void *s, size_t n);

/* A valid UTF-8 copy of n bytes: every byte that does not belong to a
 * well-formed sequence (and NUL) becomes U+FFFD. malloc'd, NUL-terminated,
 * its length in *len (may be NULL); NULL on ENOMEM. */
char *utf8_lossy(const void *s, size_t n, size_t *len);

/*
 * The inside of a DOT (Graphviz) quoted string holding esc_mem(s):
 * control bytes, backslashes, quotes and non-ASCII bytes escaped, so two
 * names never become one node and nothing ends the literal early. With
 * label, the escapes are shown as written (labels interpret backslashes).
 */
void esc_dot(FILE *f, const char *s, bool label);

#endif
