// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap record option parsing: values, defaults, and every bad input
 * rejected with the usage exit code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "record.h"
#include "util.h"

static int parse(struct record_args *a, ...)
{
	char *argv[32] = { "record" };
	int argc = 1;
	va_list ap;
	char *s;

	va_start(ap, a);
	while ((s = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	return record_parse_args(argc, argv, a);
}

static void test_defaults(void **state)
{
	struct record_args a;

	assert_int_equal(parse(&a, NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, DEFAULT_SNAPLEN);
	assert_int_equal(a.cap.lo.port, -1);
	assert_null(a.cap.lo.comm);
	assert_int_equal(a.cap.npids, 0);
	assert_null(a.cap.cmd);
	assert_false(a.json);
	assert_int_equal(a.cap.lo.ringbuf_bytes, DEFAULT_BUFFER_KIB * 1024ULL);
}

static void test_values(void **state)
{
	struct record_args a;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	assert_int_equal(parse(&a, "-s", "0", "--json", "-p", pid, "-p", "1", "--port", "8080",
			       "--comm", "curl", "-c", "10", "--duration", "1.5", "-B", "1024", NULL),
			 0);
	assert_int_equal(a.cap.lo.snaplen, UINT32_MAX); /* 0 = everything */
	assert_true(a.json);
	assert_int_equal(a.cap.npids, 2);
	assert_int_equal(a.cap.pids[0], getpid());
	assert_int_equal(a.cap.pids[1], 1);
	assert_int_equal(a.cap.lo.port, 8080);
	assert_string_equal(a.cap.lo.comm, "curl");
	assert_int_equal(a.cap.max_records, 10);
	assert_true(a.cap.duration > 1.49 && a.cap.duration < 1.51);
	assert_int_equal(a.cap.lo.ringbuf_bytes, 1024 * 1024);
}

static void test_command(void **state)
{
	struct record_args a;

	assert_int_equal(parse(&a, "-s", "100", "--", "echo", "-s", "hi", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, 100); /* CMD's own -s is CMD's */
	assert_non_null(a.cap.cmd);
	assert_string_equal(a.cap.cmd[0], "echo");
	assert_string_equal(a.cap.cmd[1], "-s");
	assert_string_equal(a.cap.cmd[2], "hi");
	assert_null(a.cap.cmd[3]);
}

static void test_bad_input(void **state)
{
	struct record_args a;

	assert_int_equal(parse(&a, "--bogus", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-s", "abc", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-s", "-1", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-s", "99999999999", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-s", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--port", "0", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--port", "65536", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-p", "0", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-p", "12x", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-c", "0", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--duration", "-3", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--duration", "nan", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-B", "1", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--comm", "a-name-longer-than-15", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-e", "io,bogus", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "stray", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-p", "1", "--", "true", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--user", "nobody", NULL), ZCAP_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests_name("record_args", tests, NULL, NULL);
}
