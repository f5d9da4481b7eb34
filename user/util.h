/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Error reporting, exit codes and number parsing shared by all commands. */
#ifndef ZCAP_UTIL_H
#define ZCAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (documented in README and `zcap --help`). With `-- CMD`,
 * zcap exits with CMD's status instead (128+N when killed by signal N). */
enum zcap_exit {
	ZCAP_EXIT_OK = 0,
	ZCAP_EXIT_FAIL = 1,  /* runtime failure: BPF load/attach, I/O error, no BTF/tracefs */
	ZCAP_EXIT_USAGE = 2, /* bad input or environment: flags, numbers, privileges */
};

/* The one error printer: "zcap: <message>\n" on stderr. */
void zcap_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void zcap_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int zcap_verbose;

/* Parse a whole decimal number in [min, max]; false (and errno) otherwise. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Seconds with an optional fraction ("2", "0.5"); false when malformed. */
bool parse_seconds(const char *s, double *out);

/* CLOCK_MONOTONIC in seconds. */
double mono_now_s(void);

/* Keep freed memory in the heap (big buffers reused without page faults). */
void keep_freed_memory(void);

/* A hash of n bytes for hash tables, 8 bytes at a time: per-packet lookups
 * keyed by addresses and ports hashed byte by byte were a visible share of
 * the packet sink's time. Any low bits make a good bucket index. */
uint64_t hash_bytes(const void *p, size_t n);

#endif
