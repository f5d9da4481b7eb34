// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "killguard.h"
#include "pcapng.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

/* A new file not in place yet, for the guard to remove: fd < 0 is none. */
struct guarded_temp {
	int32_t fd; /* __atomic: set after path, cleared first */
	char path[PATH_MAX];
};

/* What zcap tells its guard: the page is shared, zcap writes, the guard
 * reads once zcap is gone */
struct guard_page {
	struct pcapng_unit_mark unit;
	struct guarded_temp temps[KILLGUARD_TEMPS];
};

static struct guard_page *page;
static pid_t guard = -1;
static int zcap_pidfd = -1;
/* zcap's normal end, told to the guard: after -Z zcap may no longer
 * signal it (a root process) */
static int stop_fd = -1;

/* The file at t->path if it is still the one zcap made (t->fd: the file
 * table is shared); another user may have renamed it in a directory they
 * write, and whatever they put there stays. */
static void remove_temp(const struct guarded_temp *t)
{
	int fd = __atomic_load_n(&t->fd, __ATOMIC_ACQUIRE);
	struct stat made, there;

	if (fd < 0 || fstat(fd, &made) ||
	    fstatat(AT_FDCWD, t->path, &there, AT_SYMLINK_NOFOLLOW) ||
	    made.st_dev != there.st_dev || made.st_ino != there.st_ino)
		return;
	unlink(t->path);
}

/* The guard: nothing but wait for zcap's end and look at the mark. */
static void __attribute__((noreturn)) guard_main(void)
{
	struct pollfd p[2] = { { .fd = zcap_pidfd, .events = POLLIN },
			       { .fd = stop_fd, .events = POLLIN } };
	struct pcapng_unit_mark *mark = &page->unit;
	sigset_t all;
	int rc = 0;

	/* out of the terminal's and zcap's process group: a ^C or a kill
	 * of the group ends zcap, and the guard still does its part */
	setsid();
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "zcap-guard");
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	/* zcap ended or stopped us: after a normal end nothing is marked */
	if (__atomic_load_n(&mark->writing, __ATOMIC_ACQUIRE) && ftruncate(mark->fd, mark->end))
		rc = 1;
	for (int i = 0; i < KILLGUARD_TEMPS; i++)
		remove_temp(&page->temps[i]);
	_exit(rc);
}

/* Back to no guard: its fds and the shared page go. */
static void release(void)
{
	if (zcap_pidfd >= 0)
		close(zcap_pidfd);
	if (stop_fd >= 0)
		close(stop_fd);
	zcap_pidfd = stop_fd = -1;
	guard = -1;
	munmap(page, sizeof(*page));
	page = NULL;
}

int killguard_start(void)
{
	int err;

	if (guard > 0)
		return 0;
	page = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	if (page == MAP_FAILED) {
		page = NULL;
		return -errno;
	}
	page->unit.pid = (int32_t)getpid();
	for (int i = 0; i < KILLGUARD_TEMPS; i++)
		page->temps[i].fd = -1;
	zcap_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0); /* close-on-exec */
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (zcap_pidfd < 0 || stop_fd < 0) {
		err = -errno;
		goto fail;
	}
	/* like fork(), but sharing the file table; exit signal 0: a wait
	 * for zcap's children (CMD) never sees it */
	guard = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_FILES, NULL, NULL, NULL, NULL);
	if (guard < 0) {
		err = -errno;
		goto fail;
	}
	if (guard == 0)
		guard_main();
	pcapng_set_unit_mark(&page->unit);
	return 0;
fail:
	release();
	if (zcap_verbose)
		zcap_err("no guard for kill -9 (%s): a kill -9 may cut the output's last unit "
			 "or leave a .zcap-XXXXXX file", strerror(-err));
	return err;
}

void killguard_stop(void)
{
	if (guard <= 0)
		return;
	pcapng_set_unit_mark(NULL);
	if (eventfd_write(stop_fd, 1) == 0)
		while (waitpid(guard, NULL, __WCLONE) < 0 && errno == EINTR)
			;
	release();
}

/* Only zcap's own calls: a forked child's are about its copy of the fds */
static bool zcap_has_guard(void)
{
	return page && page->unit.pid == (int32_t)getpid();
}

void killguard_hold_temp(int fd, const char *path)
{
	size_t len = strlen(path);

	if (!zcap_has_guard() || fd < 0 || len >= PATH_MAX)
		return;
	for (int i = 0; i < KILLGUARD_TEMPS; i++) {
		struct guarded_temp *t = &page->temps[i];

		if (t->fd >= 0)
			continue;
		memcpy(t->path, path, len + 1);
		__atomic_store_n(&t->fd, fd, __ATOMIC_RELEASE);
		return;
	}
}

void killguard_forget_temp(int fd)
{
	if (!zcap_has_guard() || fd < 0)
		return;
	for (int i = 0; i < KILLGUARD_TEMPS; i++)
		if (page->temps[i].fd == fd)
			__atomic_store_n(&page->temps[i].fd, -1, __ATOMIC_RELEASE);
}
