/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SHA-256 of file contents for lineage (OpenSSL EVP), on a worker thread
 * so that hashing a large input never stalls the capture loop. A job is an
 * already-open fd: the caller opens the file at the moment that matters
 * (the first read), which pins the inode even if the path is replaced.
 */
#ifndef ZCAP_LINEAGE_HASH_H
#define ZCAP_LINEAGE_HASH_H

#include <stdint.h>

#define SHA256_HEX_LEN 64

struct lin_hasher;

struct lin_hasher *lin_hasher_new(void);
/*
 * Queue fd (ownership passes) for hashing into out (SHA256_HEX_LEN + 1
 * bytes, left "" when the hash fails or cannot be trusted). When
 * changed_after_ns is non-zero and the file's mtime (CLOCK_REALTIME ns) is
 * later, the content changed after the moment it was meant to capture:
 * out stays "". 0, or -errno (fd closed, out "").
 */
int lin_hasher_submit(struct lin_hasher *h, int fd, char *out, uint64_t changed_after_ns);
/* Wait until every queued job is done. */
void lin_hasher_wait(struct lin_hasher *h);
/* Wait, stop the worker, free. */
void lin_hasher_free(struct lin_hasher *h);

/* Hash an open fd from its start now; 0 or -errno. */
int sha256_fd(int fd, char out[SHA256_HEX_LEN + 1]);

#endif
