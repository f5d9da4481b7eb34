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
	/* text: what a preview shows (the terminal's width, else 100) */
	assert_true(a.width > 0 && a.width <= DEFAULT_SNAPLEN);
	assert_int_equal(a.cap.lo.snaplen, a.width);
	assert_true(a.cap.lo.want_payload);
	assert_false(a.cap.lo.filter_port);
	assert_int_equal(a.cap.lo.ncomms, 0);
	assert_int_equal(a.cap.lo.fd_kinds, 0);
	assert_int_equal(a.cap.lo.ifindex, 0);
	assert_null(a.filter);
	assert_int_equal(a.cap.npids, 0);
	assert_null(a.cap.cmd);
	assert_false(a.json);
	assert_int_equal(a.cap.lo.ringbuf_bytes, DEFAULT_BUFFER_KIB * 1024ULL);
}

/* Text output captures what --width shows, unless -s, -X or an
 * expression wants more; other formats keep -s's default. */
static void test_text_snaplen(void **state)
{
	struct record_args a;

	assert_int_equal(parse(&a, "--json", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, DEFAULT_SNAPLEN);
	assert_int_equal(parse(&a, "--width", "37", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, 37);
	assert_int_equal(parse(&a, "--width", "30000", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, DEFAULT_SNAPLEN);
	assert_int_equal(parse(&a, "--width", "0", NULL), 0);
	assert_false(a.cap.lo.want_payload);
	assert_int_equal(parse(&a, "-s", "500", "--width", "37", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, 500);
	assert_int_equal(parse(&a, "-X", "--width", "37", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, DEFAULT_SNAPLEN);
	assert_int_equal(parse(&a, "--width", "37", "tcp", "port", "80", NULL), 0);
	assert_int_equal(a.cap.lo.snaplen, DEFAULT_SNAPLEN);
	record_args_free(&a);
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
	assert_true(a.cap.lo.filter_port);
	assert_int_equal(a.cap.lo.port_set[8080 / 8], 1 << (8080 % 8));
	assert_int_equal(a.cap.lo.ncomms, 1);
	assert_string_equal(a.cap.lo.comms[0], "curl");
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

static void test_filters(void **state)
{
	struct record_args a;

	assert_int_equal(parse(&a, "--port", "80", "--port", "443", "--comm", "curl", "--comm",
			       "wget", "--pid", "1", "--fd-kinds", "tcp", "--fd-kinds", "pipe,file",
			       NULL),
			 0);
	assert_true(a.cap.lo.filter_port);
	for (unsigned int p = 1; p < 65536; p++)
		assert_int_equal(!!(a.cap.lo.port_set[p / 8] & (1 << (p % 8))), p == 80 || p == 443);
	assert_int_equal(a.cap.lo.ncomms, 2);
	assert_string_equal(a.cap.lo.comms[0], "curl");
	assert_string_equal(a.cap.lo.comms[1], "wget");
	assert_int_equal(a.cap.npids, 1);
	assert_int_equal(a.cap.pids[0], 1);
	assert_int_equal(a.cap.lo.fd_kinds,
			 1 << ZCAP_FD_TCP | 1 << ZCAP_FD_PIPE | 1 << ZCAP_FD_FILE | 1 << ZCAP_FD_DIR);

	/* the expression's words, joined; text output matches records */
	assert_int_equal(parse(&a, "tcp", "port", "80", "--", "true", NULL), 0);
	assert_string_equal(a.filter_text, "tcp port 80");
	assert_non_null(a.filter);
	assert_ptr_equal(a.cap.record_filter, a.filter);
	assert_null(a.cap.lo.pkt_filter);
	record_args_free(&a);

	/* packet output runs it in the kernel; -i names the interface */
	assert_int_equal(parse(&a, "-o", "x.pcapng", "-i", "lo", "udp or icmp", NULL), 0);
	assert_non_null(a.cap.lo.pkt_filter);
	assert_true(a.cap.lo.pkt_filter_len > 2);
	assert_null(a.cap.record_filter);
	assert_int_equal(a.cap.lo.ifindex, 1);
	record_args_free(&a);
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
	assert_int_equal(parse(&a, "tcp", "port", NULL), ZCAP_EXIT_USAGE); /* libpcap: syntax */
	assert_int_equal(parse(&a, "-o", "x.pcapng", "tcp[999999999999]", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-i", "no-such-iface0", "-o", "x.pcapng", NULL),
			 ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-i", "lo", NULL), ZCAP_EXIT_USAGE); /* text: no interface */
	assert_int_equal(parse(&a, "--fd-kinds", "socket,bogus", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--fd-kinds", "", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--fd-kinds", "pipe", "-o", "x.pcapng", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "-p", "1", "--", "true", NULL), ZCAP_EXIT_USAGE);
	assert_int_equal(parse(&a, "--user", "nobody", NULL), ZCAP_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_text_snaplen),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests_name("record_args", tests, NULL, NULL);
}
