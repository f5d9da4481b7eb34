// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Hook probing's pure parts: lockdown and mounts parsing, and which
 * send-path hook --send-hook=auto picks from a set of probe results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe.h"

static void test_lockdown(void **state)
{
	char out[24];

	assert_true(probe_parse_lockdown("none [integrity] confidentiality\n", out, sizeof(out)));
	assert_string_equal(out, "integrity");
	assert_true(probe_parse_lockdown("[none] integrity confidentiality\n", out, sizeof(out)));
	assert_string_equal(out, "none");
	assert_true(probe_parse_lockdown("none integrity [confidentiality]", out, sizeof(out)));
	assert_string_equal(out, "confidentiality");
	/* malformed: no brackets, empty, unterminated, too long for out */
	assert_false(probe_parse_lockdown("none integrity", out, sizeof(out)));
	assert_false(probe_parse_lockdown("[] none", out, sizeof(out)));
	assert_false(probe_parse_lockdown("none [integrity", out, sizeof(out)));
	assert_false(probe_parse_lockdown("", out, sizeof(out)));
	assert_false(probe_parse_lockdown("[integrity]", out, 9));
	assert_true(probe_parse_lockdown("[integrity]", out, 10));
	assert_string_equal(out, "integrity");
}

static void test_cmdline_lockdown(void **state)
{
	char out[24];

	assert_true(probe_cmdline_lockdown("console=ttyS0 lockdown=integrity quiet\n", out,
					   sizeof(out)));
	assert_string_equal(out, "integrity");
	/* the kernel only raises the level: the highest of several wins */
	assert_true(probe_cmdline_lockdown("lockdown=confidentiality lockdown=integrity", out,
					   sizeof(out)));
	assert_string_equal(out, "confidentiality");
	/* after "--" the arguments are init's, not the kernel's */
	assert_false(probe_cmdline_lockdown("quiet -- lockdown=integrity", out, sizeof(out)));
	assert_false(probe_cmdline_lockdown("quiet nolockdown=integrity", out, sizeof(out)));
	assert_false(probe_cmdline_lockdown("lockdown=bogus lockdown=none", out, sizeof(out)));
	assert_false(probe_cmdline_lockdown("", out, sizeof(out)));
	assert_false(probe_cmdline_lockdown("lockdown=integrity", out, 9));
}

static char *write_mounts(const char *text)
{
	char *path = strdup("/tmp/zcap-test-mounts.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_cgroup2(void **state)
{
	char out[64], *path;

	path = write_mounts("sysfs /sys sysfs rw 0 0\n"
			    "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
			    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
			    "cgroup2 /other cgroup2 rw 0 0\n");
	assert_true(probe_find_cgroup2(path, out, sizeof(out)));
	assert_string_equal(out, "/sys/fs/cgroup/unified"); /* the first one */
	unlink(path);
	free(path);

	/* mount points with spaces are escaped as \040 in mounts(5) */
	path = write_mounts("none /my\\040cgroups cgroup2 rw 0 0\n");
	assert_true(probe_find_cgroup2(path, out, sizeof(out)));
	assert_string_equal(out, "/my cgroups");
	/* too long for out: not truncated, not found */
	assert_false(probe_find_cgroup2(path, out, 11));
	unlink(path);
	free(path);

	path = write_mounts("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n");
	assert_false(probe_find_cgroup2(path, out, sizeof(out)));
	unlink(path);
	free(path);

	assert_false(probe_find_cgroup2("/nonexistent/mounts", out, sizeof(out)));
}

static void test_hook_names(void **state)
{
	static const char *const want[PROBE_NHOOKS] = {
		"kprobe", "fentry", "raw_tp", "tracepoint", "cgroup_skb", "ringbuf", "bpf_loop",
	};

	for (int h = 0; h < PROBE_NHOOKS; h++)
		assert_string_equal(probe_hook_name(h), want[h]);
	assert_string_equal(probe_hook_name(PROBE_NHOOKS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockdown),
		cmocka_unit_test(test_cmdline_lockdown),
		cmocka_unit_test(test_cgroup2),
		cmocka_unit_test(test_hook_names),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
