// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The socket strings of fd records (decoder bounds, sockaddr views) and
 * strace's flag spellings. The expected strings are what strace 6.1
 * printed for the same flags; tests/e2e/record_strace.t holds the live
 * output against strace itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "decode.h"
#include "flagnames.h"
#include "sockaddr.h"

static void test_open_flags(void **state)
{
	char b[FLAGNAMES_MAX];

	assert_string_equal(open_flags_format(0, b), "O_RDONLY");
	assert_string_equal(open_flags_format(02000000, b), "O_RDONLY|O_CLOEXEC");
	assert_string_equal(open_flags_format(01101, b), "O_WRONLY|O_CREAT|O_TRUNC");
	assert_string_equal(open_flags_format(020200002, b), "O_RDWR|O_TMPFILE");
	assert_string_equal(open_flags_format(020000000, b), "O_RDONLY|__O_TMPFILE");
	assert_string_equal(open_flags_format(04010000, b), "O_RDONLY|O_SYNC");
	assert_string_equal(open_flags_format(3, b), "O_ACCMODE");
	assert_string_equal(open_flags_format(0x80000002, b), "O_RDWR|0x80000000");
	assert_string_equal(open_flags_format(0xffffffff, b),
			    "O_ACCMODE|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_SYNC|"
			    "O_DIRECT|O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_PATH|O_TMPFILE|"
			    "FASYNC|0xff80003c");
	assert_true(open_flags_take_mode(0100));
	assert_true(open_flags_take_mode(020200000));
	assert_false(open_flags_take_mode(02000000));
	assert_string_equal(sock_flags_format(0, b), "0");
	assert_string_equal(sock_flags_format(02004000, b), "SOCK_CLOEXEC|SOCK_NONBLOCK");
	assert_string_equal(sock_flags_format(0x40000800, b), "SOCK_NONBLOCK|0x40000000");
}

static uint8_t buf[sizeof(struct zcap_fd_ev) + 512];

static struct zcap_fd_ev *make_fd(uint16_t sc, uint16_t alen, uint16_t llen, uint16_t plen)
{
	struct zcap_fd_ev *ev = (struct zcap_fd_ev *)buf;

	memset(buf, 0, sizeof(buf));
	ev->h.type = ZCAP_EV_FD;
	ev->h.hdr_len = sizeof(*ev);
	ev->h.data_len = alen + llen + plen;
	ev->syscall = sc;
	ev->addr_len = alen;
	ev->lname_len = llen;
	ev->pname_len = plen;
	return ev;
}

static void test_decoder_bounds(void **state)
{
	size_t base = sizeof(struct zcap_fd_ev);
	struct zcap_fd_ev *ev;
	struct zev z;

	make_fd(ZCAP_SYS_CONNECT, 16, 10, 20);
	assert_int_equal(zev_decode(buf, base + 46, &z, NULL), 0);
	/* lengths that do not add up to the data, or exceed a string's room */
	ev = make_fd(ZCAP_SYS_ACCEPT4, 16, 10, 20);
	ev->h.data_len = 45;
	assert_int_equal(zev_decode(buf, base + 45, &z, NULL), -EINVAL);
	make_fd(ZCAP_SYS_LISTEN, 0, ZCAP_SOCKSTR_MAX + 1, 0);
	assert_int_equal(zev_decode(buf, base + ZCAP_SOCKSTR_MAX + 1, &z, NULL), -EINVAL);
	make_fd(ZCAP_SYS_BIND, ZCAP_SOCKSTR_MAX, 0, 0);
	assert_int_equal(zev_decode(buf, base + ZCAP_SOCKSTR_MAX, &z, NULL), -EINVAL);
	/* an open's data is its path: no socket strings */
	ev = make_fd(ZCAP_SYS_OPENAT, 4, 0, 0);
	assert_int_equal(zev_decode(buf, base + 4, &z, NULL), -EINVAL);
	ev->addr_len = 0;
	assert_int_equal(zev_decode(buf, base + 4, &z, NULL), 0);
}

static void test_views(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_view v;
	struct zcap_fd_ev *ev;
	struct fd_sockstrs ss;
	uint8_t *data;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sockaddr_view((uint8_t *)&sin, sizeof(sin), &v);
	assert_int_equal(v.family, AF_INET);
	assert_string_equal(v.addr, "127.0.0.1");
	assert_int_equal(v.port, 9);
	sockaddr_view((uint8_t *)&sin, sizeof(sin) - 1, &v); /* too short for its family */
	assert_string_equal(v.addr, "?");
	sockaddr_view((uint8_t *)&sin, 1, &v);
	assert_int_equal(v.family, -1);
	/* a path ends at its first NUL, an abstract name keeps every byte */
	memcpy(sun.sun_path, "/run/s\0junk", 11);
	sockaddr_view((uint8_t *)&sun, offsetof(struct sockaddr_un, sun_path) + 11, &v);
	assert_false(v.abstract);
	assert_int_equal(v.name_len, 6);
	memcpy(sun.sun_path, "\0ab\0c", 5);
	sockaddr_view((uint8_t *)&sun, offsetof(struct sockaddr_un, sun_path) + 5, &v);
	assert_true(v.abstract);
	assert_int_equal(v.name_len, 4);
	assert_memory_equal(v.name, "ab\0c", 4);
	sockaddr_view((uint8_t *)&sun, offsetof(struct sockaddr_un, sun_path), &v);
	assert_int_equal(v.family, AF_UNIX);
	assert_int_equal(v.name_len, 0);
	assert_false(v.abstract);
	/* the three strings of a record, one after the other */
	ev = make_fd(ZCAP_SYS_ACCEPT, 2, 3, 4);
	data = (uint8_t *)(ev + 1);
	memcpy(data, &(sa_family_t){ AF_UNIX }, 2);
	memcpy(data + 2, "/a\0", 3);
	memcpy(data + 5, "\0xyz", 4);
	fd_sockstrs(ev, data, &ss);
	assert_int_equal(ss.addr.family, AF_UNIX);
	assert_int_equal(ss.addr.name_len, 0);
	assert_int_equal(ss.local.name_len, 2);
	assert_memory_equal(ss.local.name, "/a", 2);
	assert_true(ss.peer.abstract);
	assert_memory_equal(ss.peer.name, "xyz", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_flags),
		cmocka_unit_test(test_decoder_bounds),
		cmocka_unit_test(test_views),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
