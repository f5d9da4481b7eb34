// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "killguard.h"
#include "pcapng.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

static struct pcapng_unit_mark *mark; /* shared with the guard */
static pid_t guard = -1;
static int zcap_pidfd = -1;
/* zcap's normal end, told to the guard: after -Z zcap may no longer
 * signal it (a root process) */
static int stop_fd = -1;

/* The guard: nothing but wait for zcap's end and look at the mark. */
static void __attribute__((noreturn)) guard_main(void)
{
	struct pollfd p[2] = { { .fd = zcap_pidfd, .events = POLLIN },
			       { .fd = stop_fd, .events = POLLIN } };
	sigset_t all;

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
		_exit(1);
	_exit(0);
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
	munmap(mark, sizeof(*mark));
	mark = NULL;
}

int killguard_start(void)
{
	int err;

	if (guard > 0)
		return 0;
	mark = mmap(NULL, sizeof(*mark), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	if (mark == MAP_FAILED) {
		mark = NULL;
		return -errno;
	}
	mark->pid = (int32_t)getpid();
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
	pcapng_set_unit_mark(mark);
	return 0;
fail:
	release();
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
