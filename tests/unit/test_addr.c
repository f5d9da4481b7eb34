// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Address formatting as ss(8)/tcpdump print them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "addr.h"

static void test_v4(void **state)
{
	uint8_t a[16] = { 127, 0, 0, 1 };
	char b[64];

	assert_string_equal(addr_format(AF_INET, a, b, sizeof(b)), "127.0.0.1");
	assert_string_equal(endpoint_format(AF_INET, a, 8080, b, sizeof(b)), "127.0.0.1:8080");
}

static void test_v6(void **state)
{
	uint8_t a[16] = { 0 };
	char b[64];

	a[15] = 1;
	assert_string_equal(addr_format(AF_INET6, a, b, sizeof(b)), "::1");
	assert_string_equal(endpoint_format(AF_INET6, a, 443, b, sizeof(b)), "[::1]:443");
}

static void test_v4_mapped(void **state)
{
	uint8_t a[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 };
	char b[64];

	assert_string_equal(addr_format(AF_INET6, a, b, sizeof(b)), "10.1.2.3");
	assert_string_equal(endpoint_format(AF_INET6, a, 53, b, sizeof(b)), "10.1.2.3:53");
}

static void test_unknown_family_and_short_buffer(void **state)
{
	uint8_t a[16] = { 1, 2, 3, 4 };
	char b[64], tiny[4];

	assert_string_equal(addr_format(AF_UNIX, a, b, sizeof(b)), "?");
	/* too small for the text: never overflows, says "?" */
	assert_string_equal(addr_format(AF_INET, a, tiny, sizeof(tiny)), "?");
	endpoint_format(AF_INET, a, 65535, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_unknown_family_and_short_buffer),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
