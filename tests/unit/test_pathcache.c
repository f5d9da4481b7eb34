// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Path cache (the fd table's replacement): names by (dev, ino), /proc
 * fallback only when the fd still refers to the same file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "pathcache.h"

static void test_put_get_replace(void **state)
{
	struct pathcache *pc = pathcache_new(8);

	assert_null(pathcache_get(pc, 1, 2));
	assert_int_equal(pathcache_put(pc, 1, 2, "/a"), 0);
	assert_string_equal(pathcache_get(pc, 1, 2), "/a");
	assert_null(pathcache_get(pc, 2, 2)); /* same ino, other device */
	assert_int_equal(pathcache_put(pc, 1, 2, "/b"), 0); /* renamed */
	assert_string_equal(pathcache_get(pc, 1, 2), "/b");
	pathcache_free(pc);
}

static void test_bounded(void **state)
{
	struct pathcache *pc = pathcache_new(4);
	char p[16];

	for (int i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		assert_int_equal(pathcache_put(pc, 1, i, p), 0);
	}
	/* the newest survives a reset */
	assert_string_equal(pathcache_get(pc, 1, 99), "/f99");
	pathcache_free(pc);
}

static uint32_t to_kdev(dev_t d)
{
	return (major(d) << 20) | minor(d);
}

static void test_proc_fallback(void **state)
{
	struct pathcache *pc = pathcache_new(8);
	char tmpl[] = "/tmp/zcap-pc-XXXXXX";
	int fd = mkstemp(tmpl);
	struct stat st;
	const char *p;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = pathcache_resolve(pc, to_kdev(st.st_dev), st.st_ino, getpid(), fd);
	assert_non_null(p);
	assert_string_equal(p, tmpl);
	/* a different identity than the fd's: no answer, not a wrong one */
	assert_null(pathcache_resolve(pc, to_kdev(st.st_dev), st.st_ino + 1, getpid(), fd));
	assert_null(pathcache_resolve(pc, 5, 6, getpid(), 9999));
	close(fd);
	unlink(tmpl);
	pathcache_free(pc);
}

static void test_kernel_dev(void **state)
{
	dev_t d = kernel_dev_to_dev((8u << 20) | 3u);

	assert_int_equal(major(d), 8);
	assert_int_equal(minor(d), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_proc_fallback),
		cmocka_unit_test(test_kernel_dev),
	};

	return cmocka_run_group_tests_name("pathcache", tests, NULL, NULL);
}
