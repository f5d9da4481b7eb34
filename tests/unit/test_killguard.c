// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kill -9 guard (user/killguard.c), against a real kill -9 that lands
 * inside a write(2) every time: the write's buffer has a page missing under
 * userfaultfd, so the kernel copies the page before it into the file, then
 * waits, killably, for a page that never comes. Without the guard the file
 * keeps that cut page; with it, the file ends at its last whole unit.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "killguard.h"
#include "outfile.h"
#include "pcapng.h"

static const char HEAD[] = "a whole line\n";
#define HEAD_LEN (sizeof(HEAD) - 1)

/* A buffer of @pages pages whose first is there and the rest missing
 * under userfaultfd (the fd stays open, nobody answers it); NULL if not. */
static char *half_missing(long page, int pages)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *buf = mmap(NULL, page * pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	if (buf == MAP_FAILED || uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return NULL;
	memset(buf, 'x', page);
	reg.range.start = (unsigned long)buf + page;
	reg.range.len = page * (pages - 1);
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return NULL;
	return buf;
}

/* The writer: one whole unit, then a unit whose write stops after its
 * first page. Exits 2 when it cannot set that up. */
static void __attribute__((noreturn)) writer(const char *path, bool guarded, long page)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	off_t end = pcapng_unit_start(fd);
	char *buf = half_missing(page, 3);

	if (fd < 0 || !buf || (guarded && killguard_start()))
		_exit(2);
	if (pcapng_write_unit(fd, HEAD, HEAD_LEN, &end))
		_exit(2);
	pcapng_write_unit(fd, buf, page * 3, &end); /* waits for the kill */
	_exit(3);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* The guard of @parent (zcap-guard, a child of @parent), or 0. */
static pid_t guard_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (d && !found && (e = readdir(d))) {
		char path[300], stat[256], comm[32];
		int ppid = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(stat, sizeof(stat), f) &&
		    sscanf(stat, "%*d (%31[^)]) %*c %d", comm, &ppid) == 2 && ppid == parent &&
		    !strcmp(comm, "zcap-guard"))
			found = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * Run the writer, kill -9 it once the file holds the cut page, and wait
 * for its guard (reparented to us, a subreaper) to end. The file's size.
 */
static off_t killed_mid_write(bool guarded)
{
	char path[] = "/tmp/zcap-killguard-XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	struct timespec pause = { 0, 1000 * 1000 };
	pid_t pid, guard = 0;
	int fd = mkstemp(path), status, tries;
	off_t size;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		writer(path, guarded, page);
	for (tries = 0; tries < 10000 && file_size(path) != (off_t)HEAD_LEN + page; tries++) {
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* it set up */
		nanosleep(&pause, NULL);
	}
	assert_int_equal(file_size(path), (off_t)HEAD_LEN + page);
	/* named by prctl once it runs */
	for (tries = 0; guarded && tries < 10000 && !(guard = guard_of(pid)); tries++)
		nanosleep(&pause, NULL);
	assert_true(!guarded || guard > 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (guard) {
		assert_int_equal(waitpid(guard, &status, __WALL), guard);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	size = file_size(path);
	unlink(path);
	return size;
}

/* The set-up cuts a write for real: without the guard the cut page stays. */
static void test_kill_cuts_unguarded_write(void **state)
{
	(void)state;
	assert_int_equal(killed_mid_write(false), (off_t)HEAD_LEN + sysconf(_SC_PAGESIZE));
}

static void test_guard_cuts_back_to_whole_unit(void **state)
{
	(void)state;
	assert_int_equal(killed_mid_write(true), (off_t)HEAD_LEN);
}

/* A normal end: the guard is reaped, and the next unit is written whole. */
static void test_stop_reaps_guard(void **state)
{
	char path[] = "/tmp/zcap-killguard-XXXXXX";
	int fd = mkstemp(path);
	off_t end = pcapng_unit_start(fd);
	pid_t guard;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(killguard_start(), 0);
	for (int tries = 0; tries < 10000 && !(guard = guard_of(getpid())); tries++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	assert_true(guard > 0);
	assert_int_equal(pcapng_write_unit(fd, HEAD, HEAD_LEN, &end), 0);
	killguard_stop();
	assert_int_equal(kill(guard, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(guard_of(getpid()), 0);
	assert_int_equal(file_size(path), (off_t)HEAD_LEN);
	close(fd);
	unlink(path);
}

/* zcap -Z drops root after starting its guard, which stays root: the
 * stop must not need to signal it (it hung in waitpid when it did). */
static void test_stop_after_dropping_root(void **state)
{
	pid_t pid = fork();
	int status;

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20); /* a hang ends the child by SIGALRM */
		if (killguard_start())
			_exit(2);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		killguard_stop();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* How many entries of @dir (not . and ..) start with @prefix; the last
 * one's path in @name when given. */
static int dir_entries(const char *dir, const char *prefix, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if (name)
			snprintf(name, size, "%s/%s", dir, e->d_name);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void assert_file_holds(const char *path, const char *text)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, text);
}

/*
 * A zcap with its guard opens DIR/out as lineage -o does (a new file beside
 * it, renamed over it at the end), writes, and is killed -9 before the end.
 * With @swap, another user has meanwhile renamed the new file away and put
 * one of theirs under its name. Waits for the guard to end.
 */
static void kill_before_commit(const char *dir, bool swap)
{
	char out[256], temp[300], moved[300];
	pid_t pid, guard = 0;
	int ready[2], status, tries;
	char c;

	snprintf(out, sizeof(out), "%s/out", dir);
	put_file(out, "old");
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct outfile of;

		if (killguard_start() || outfile_open(&of, out, 0) || write(of.fd, "new", 3) != 3)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(3);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(dir_entries(dir, ".zcap-", temp, sizeof(temp)), 1); /* outfile's */
	if (swap) {
		snprintf(moved, sizeof(moved), "%s/moved", dir);
		assert_int_equal(rename(temp, moved), 0);
		put_file(temp, "theirs");
	}
	for (tries = 0; tries < 10000 && !(guard = guard_of(pid)); tries++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	assert_true(guard > 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(waitpid(guard, &status, __WALL), guard);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_file_holds(out, "old");
	if (swap) {
		assert_file_holds(temp, "theirs");
		assert_file_holds(moved, "new");
		unlink(temp);
		unlink(moved);
	}
	unlink(out);
}

/* lineage -o FILE killed -9 while CMD runs: FILE as it was, no temporary */
static void test_guard_removes_uncommitted_output(void **state)
{
	char dir[] = "/tmp/zcap-killguard-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	kill_before_commit(dir, false);
	assert_int_equal(dir_entries(dir, "", NULL, 0), 0);
	rmdir(dir);
}

/* The guard removes the file zcap made, never what took its name */
static void test_guard_leaves_a_swapped_name(void **state)
{
	char dir[] = "/tmp/zcap-killguard-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	kill_before_commit(dir, true);
	assert_int_equal(dir_entries(dir, "", NULL, 0), 0);
	rmdir(dir);
}

/* Committed or closed, a file is no longer the guard's: a normal end
 * keeps the committed one and has removed the other itself. */
static void test_stop_keeps_committed_output(void **state)
{
	char dir[] = "/tmp/zcap-killguard-XXXXXX", out[256], other[256];
	struct outfile of, dropped;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(killguard_start(), 0);
	assert_int_equal(outfile_open(&of, out, 0), 0);
	assert_int_equal(outfile_open(&dropped, other, 0), 0);
	assert_int_equal(write(of.fd, "new", 3), 3);
	assert_int_equal(outfile_commit(&of), 0);
	assert_int_equal(outfile_close(&dropped), 0);
	killguard_stop();
	assert_int_equal(outfile_close(&of), 0);
	assert_file_holds(out, "new");
	assert_int_equal(dir_entries(dir, "", NULL, 0), 1);
	unlink(out);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_cuts_unguarded_write),
		cmocka_unit_test(test_guard_cuts_back_to_whole_unit),
		cmocka_unit_test(test_stop_reaps_guard),
		cmocka_unit_test(test_stop_after_dropping_root),
		cmocka_unit_test(test_guard_removes_uncommitted_output),
		cmocka_unit_test(test_guard_leaves_a_swapped_name),
		cmocka_unit_test(test_stop_keeps_committed_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
