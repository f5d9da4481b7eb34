// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Output rotation (-C, -G, -W) with tcpdump's file names: see rotate.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotate.h"
#include "util.h"

struct rotator {
	char *pattern;
	struct rotate_opts o;
	int digits;	     /* of -W N - 1: FILE0 .. FILE<N-1> sort as numbers */
	unsigned int count;  /* -C number of the current file in its period */
	unsigned int opened; /* files so far */
	time_t period_start; /* -G: when the current file's period began */
	char name[PATH_MAX];
	struct outfile cur;
};

static int digits_for(unsigned int files)
{
	int d = 0;

	for (unsigned int x = files ? files - 1 : 0; x; x /= 10)
		d++;
	return d;
}

bool rotate_name(char *buf, size_t len, const char *pattern, const struct rotate_opts *o,
		 unsigned int count, time_t when)
{
	int digits = o->size_limit ? digits_for(o->files) : 0;
	char base[PATH_MAX];
	struct tm tm;
	int n;

	if (o->period) {
		/* strftime returns 0 for an empty result too: a pattern of
		 * only, say, "%p" in a locale without AM/PM; never here */
		if (!localtime_r(&when, &tm) || !strftime(base, sizeof(base), pattern, &tm))
			return false;
	} else if (snprintf(base, sizeof(base), "%s", pattern) >= (int)sizeof(base)) {
		return false;
	}
	if (!count && !digits)
		n = snprintf(buf, len, "%s", base);
	else
		n = snprintf(buf, len, "%s%0*u", base, digits, count);
	return n > 0 && (size_t)n < len;
}

struct rotator *rotator_new(const char *pattern, const struct rotate_opts *o)
{
	struct rotator *r = calloc(1, sizeof(*r));

	if (!r || !(r->pattern = strdup(pattern))) {
		free(r);
		zcap_err("out of memory");
		return NULL;
	}
	r->o = *o;
	r->digits = digits_for(o->files);
	r->cur.fd = -1;
	return r;
}

void rotator_free(struct rotator *r)
{
	if (!r)
		return;
	outfile_close(&r->cur);
	free(r->pattern);
	free(r);
}

static int open_named(struct rotator *r, time_t now, double wait_s)
{
	if (!rotate_name(r->name, sizeof(r->name), r->pattern, &r->o, r->count, now)) {
		zcap_err("cannot write '%s': the file name is too long (or empty) after "
			 "expanding it",
			 r->pattern);
		return ZCAP_EXIT_USAGE;
	}
	r->opened++;
	return outfile_open(&r->cur, r->name, wait_s);
}

int rotator_open_first(struct rotator *r, double wait_s)
{
	r->period_start = time(NULL);
	return open_named(r, r->period_start, wait_s);
}

int rotator_fd(const struct rotator *r)
{
	return r->cur.fd;
}

const char *rotator_name(const struct rotator *r)
{
	return r->name;
}

struct outfile *rotator_outfile(struct rotator *r)
{
	return &r->cur;
}

unsigned int rotator_files(const struct rotator *r)
{
	return r->opened;
}

enum rotate_step rotator_check(struct rotator *r, uint64_t file_bytes, time_t now)
{
	/* -G first: a new period also starts a new -C sequence */
	if (r->o.period && now - r->period_start >= (time_t)r->o.period) {
		if (!r->o.size_limit && r->o.files && r->opened >= r->o.files)
			return ROTATE_STOP;
		return ROTATE_NEXT;
	}
	if (r->o.size_limit && file_bytes > r->o.size_limit)
		return ROTATE_NEXT;
	return ROTATE_KEEP;
}

int rotator_next(struct rotator *r, time_t now)
{
	int rc;

	if (r->o.period && now - r->period_start >= (time_t)r->o.period) {
		r->period_start = now;
		r->count = 0;
	} else {
		r->count++;
		if (r->o.files && r->count >= r->o.files)
			r->count = 0;
	}
	rc = outfile_close(&r->cur);
	if (rc) {
		zcap_err("cannot write '%s': %s", r->name, strerror(-rc));
		return rc;
	}
	/* in place (a FIFO, /dev/null) is never rotated: only new files */
	if (open_named(r, now, 0))
		return -EIO;
	rc = outfile_commit(&r->cur);
	if (rc)
		zcap_err("cannot write '%s': %s", r->name, strerror(-rc));
	return rc;
}
