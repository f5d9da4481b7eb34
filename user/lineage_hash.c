// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "lineage_hash.h"

#define READ_BLOCK (1 << 20)

struct hash_job {
	struct hash_job *next;
	int fd;
	char *out;
	uint64_t changed_after_ns;
};

struct lin_hasher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a job was queued, or stop */
	pthread_cond_t idle;  /* the queue ran empty */
	struct hash_job *head, *tail;
	bool busy;
	bool stop;
};

int sha256_fd(int fd, char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(READ_BLOCK);
	off_t off = 0;
	int err = 0;

	out[0] = 0;
	if (!ctx || !buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -EIO;
		goto cleanup;
	}
	for (;;) {
		/* pread: the fd may be shared with nobody, but its offset is not ours to assume */
		ssize_t n = pread(fd, buf, READ_BLOCK, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, n)) {
			err = -EIO;
			goto cleanup;
		}
		off += n;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != SHA256_HEX_LEN / 2) {
		err = -EIO;
		goto cleanup;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
cleanup:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}

static void run_job(struct hash_job *j)
{
	char hex[SHA256_HEX_LEN + 1];
	struct stat st;

	if (sha256_fd(j->fd, hex) == 0 && fstat(j->fd, &st) == 0) {
		uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec;

		if (!j->changed_after_ns || mtime <= j->changed_after_ns)
			memcpy(j->out, hex, sizeof(hex));
	}
	close(j->fd);
}

static void *worker(void *arg)
{
	struct lin_hasher *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct hash_job *j;

		while (!h->head && !h->stop) {
			h->busy = false;
			pthread_cond_broadcast(&h->idle);
			pthread_cond_wait(&h->work, &h->lock);
		}
		if (!h->head)
			break;
		j = h->head;
		h->head = j->next;
		if (!h->head)
			h->tail = NULL;
		h->busy = true;
		pthread_mutex_unlock(&h->lock);
		run_job(j);
		free(j);
		pthread_mutex_lock(&h->lock);
	}
	h->busy = false;
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct lin_hasher *lin_hasher_new(void)
{
	struct lin_hasher *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->idle, NULL);
	if (pthread_create(&h->thread, NULL, worker, h)) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->work);
		pthread_cond_destroy(&h->idle);
		free(h);
		return NULL;
	}
	return h;
}

int lin_hasher_submit(struct lin_hasher *h, int fd, char *out, uint64_t changed_after_ns)
{
	struct hash_job *j = calloc(1, sizeof(*j));

	out[0] = 0;
	if (!j) {
		close(fd);
		return -ENOMEM;
	}
	j->fd = fd;
	j->out = out;
	j->changed_after_ns = changed_after_ns;
	pthread_mutex_lock(&h->lock);
	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	h->busy = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void lin_hasher_wait(struct lin_hasher *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->head || h->busy)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

void lin_hasher_free(struct lin_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->work);
	pthread_cond_destroy(&h->idle);
	free(h);
}
