// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The OpenLineage spool (ol_spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "ol_spool.h"
#include "outfile.h"
#include "util.h"

static int not_ours(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 077)) {
		zcap_err("openlineage: spool '%s' is not a private file of zcap's user (a regular "
			 "file, mode 0600): not used",
			 path);
		return -EPERM;
	}
	return 0;
}

/*
 * The spool, open and locked: the inode at path when the lock was taken
 * (a flush that emptied or rewrote it meanwhile replaced or removed the
 * one opened before: open again). -ENOENT when absent and !create.
 */
static int lock_spool(const char *path, bool create)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat st, at;
		int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
		int err;

		if (fd < 0) {
			err = -errno;
			if (err != -ENOENT || create)
				zcap_err("openlineage: spool '%s': %s", path,
					 err == -ELOOP ? "is a symbolic link" : strerror(-err));
			return err;
		}
		if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
			err = -errno;
			zcap_err("openlineage: spool '%s': %s", path, strerror(-err));
			close(fd);
			return err;
		}
		if (lstat(path, &at) || at.st_dev != st.st_dev || at.st_ino != st.st_ino) {
			close(fd);
			continue;
		}
		err = not_ours(path, &st);
		if (err) {
			close(fd);
			return err;
		}
		return fd;
	}
	zcap_err("openlineage: spool '%s' keeps being replaced", path);
	return -EAGAIN;
}

int ol_spool_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		zcap_err("openlineage: spool '%s': %s", path, strerror(errno));
		return -EPERM;
	}
	if (S_ISLNK(st.st_mode)) {
		zcap_err("openlineage: spool '%s' is a symbolic link: not used", path);
		return -ELOOP;
	}
	return not_ours(path, &st);
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		s += w;
		n -= w;
	}
	return 0;
}

static int write_events(int fd, char *const *events, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++) {
		err = write_all(fd, events[i], strlen(events[i]));
		if (!err)
			err = write_all(fd, "\n", 1);
	}
	if (!err && fsync(fd))
		err = -errno;
	return err;
}

/* The spool's directory when it is missing: ours, 0700 (the default
 * /var/spool/zcap/ on a first use). */
static void make_dir_of(const char *path)
{
	char *copy = strdup(path);

	if (copy && mkdir(dirname(copy), 0700) && errno != EEXIST)
		errno = 0; /* the open that follows says why */
	free(copy);
}

int ol_spool_append(const char *path, char *const *events, int n)
{
	int fd, err;

	make_dir_of(path);
	fd = lock_spool(path, true);
	if (fd < 0)
		return fd;
	if (lseek(fd, 0, SEEK_END) < 0)
		err = -errno;
	else
		err = write_events(fd, events, n);
	if (err)
		zcap_err("openlineage: cannot write spool '%s': %s", path, strerror(-err));
	close(fd); /* unlocks */
	return err;
}

/* The whole file, NUL-terminated; NULL with errno. */
static char *read_all(int fd)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap * 2 + 65536);

			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += r;
	}
	buf[len] = 0;
	return buf;
}

/* The events from the first undelivered one on replace the spool (a new
 * file renamed over it, while the old one is still locked). */
static int keep_rest(const char *path, char *const *events, int n)
{
	struct outfile of;
	int err;

	if (outfile_open(&of, path, 0))
		return -EPERM;
	err = write_events(of.fd, events, n);
	if (!err)
		err = outfile_commit(&of);
	outfile_close(&of);
	if (err)
		zcap_err("openlineage: cannot rewrite spool '%s': %s", path, strerror(-err));
	return err;
}

int ol_spool_flush(const char *path, int (*send)(void *ctx, const char *json), void *ctx,
		   int *sent, int *left)
{
	char **events = NULL, *text, *save = NULL;
	int fd, n = 0, done = 0, dropped = 0, err = 0;

	*sent = *left = 0;
	fd = lock_spool(path, false);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	text = read_all(fd);
	if (!text) {
		err = -errno;
		zcap_err("openlineage: cannot read spool '%s': %s", path, strerror(-err));
		goto out;
	}
	events = calloc(strlen(text) / 2 + 1, sizeof(*events));
	if (!events) {
		err = -ENOMEM;
		goto out;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);

		/* a line a crash cut short is no event: no server takes it */
		if (!o || !json_object_is_type(o, json_type_object)) {
			zcap_warn("openlineage: spool '%s': event %d is not a JSON object, dropped",
				  path, n + 1);
			json_object_put(o);
			dropped++;
			continue;
		}
		json_object_put(o);
		events[n++] = line;
	}
	while (done < n && send(ctx, events[done]) == 0)
		done++;
	*sent = done;
	*left = n - done;
	if (done == n) {
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	} else if (done > 0 || dropped) {
		err = keep_rest(path, events + done, n - done);
	}
out:
	free(events);
	free(text);
	close(fd);
	return err;
}
