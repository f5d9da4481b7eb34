// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Decoder: accepts well-formed records of each type, rejects every
 * malformed one without reading past the buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "decode.h"

static uint8_t buf[sizeof(struct zcap_io) + ZCAP_CHUNK + 64];

static struct zcap_io *make_io(uint32_t data_len)
{
	struct zcap_io *io = (struct zcap_io *)buf;

	memset(buf, 0, sizeof(buf));
	io->h.type = ZCAP_EV_IO;
	io->h.hdr_len = sizeof(*io);
	io->h.data_len = data_len;
	io->h.pid = 42;
	io->syscall = ZCAP_SYS_WRITE;
	io->dir = ZCAP_DIR_OUT;
	io->f.kind = ZCAP_FD_PIPE;
	memset(io + 1, 'x', data_len);
	return io;
}

static void test_io_ok(void **state)
{
	struct zev ev;

	make_io(5);
	assert_int_equal(zev_decode(buf, sizeof(struct zcap_io) + 5, &ev, NULL), 0);
	assert_int_equal(ev.type, ZCAP_EV_IO);
	assert_int_equal(ev.data_len, 5);
	assert_ptr_equal(ev.data, buf + sizeof(struct zcap_io));
	assert_int_equal(ev.io->h.pid, 42);
	assert_memory_equal(ev.data, "xxxxx", 5);
}

static void test_truncated(void **state)
{
	struct zev ev;
	const char *why = NULL;

	make_io(5);
	/* shorter than the header, than the fixed part, than the data */
	assert_int_equal(zev_decode(buf, 3, &ev, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(zev_decode(buf, sizeof(struct zcap_io) - 1, &ev, NULL), -EINVAL);
	assert_int_equal(zev_decode(buf, sizeof(struct zcap_io) + 4, &ev, NULL), -EINVAL);
	assert_int_equal(zev_decode(NULL, 100, &ev, NULL), -EINVAL);
}

static void test_huge_data_len(void **state)
{
	struct zev ev;
	struct zcap_io *io = make_io(0);

	io->h.data_len = UINT32_MAX; /* must not wrap the length check */
	assert_int_equal(zev_decode(buf, sizeof(buf), &ev, NULL), -EINVAL);
	io->h.data_len = ZCAP_CHUNK + 1;
	assert_int_equal(zev_decode(buf, sizeof(struct zcap_io) + ZCAP_CHUNK + 1, &ev, NULL),
			 -EINVAL);
}

static void test_bad_type_and_abi(void **state)
{
	struct zev ev;
	struct zcap_io *io = make_io(0);

	io->h.type = 0;
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EPROTO);
	io->h.type = ZCAP_EV_TYPE_MAX;
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EPROTO);
	io->h.type = ZCAP_EV_IO;
	io->h.hdr_len = sizeof(*io) - 8; /* another ABI version */
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EPROTO);
}

static void test_enum_ranges(void **state)
{
	struct zev ev;
	struct zcap_io *io = make_io(0);

	io->syscall = ZCAP_SYS_MAX;
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EINVAL);
	io->syscall = ZCAP_SYS_READ;
	io->dir = 7;
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EINVAL);
	io->dir = ZCAP_DIR_IN;
	io->f.kind = ZCAP_FD_KIND_MAX;
	assert_int_equal(zev_decode(buf, sizeof(*io), &ev, NULL), -EINVAL);
}

static void test_proc_argv_bound(void **state)
{
	struct zcap_proc_ev *p = (struct zcap_proc_ev *)buf;
	struct zev ev;

	memset(buf, 0, sizeof(buf));
	p->h.type = ZCAP_EV_PROC;
	p->h.hdr_len = sizeof(*p);
	p->h.data_len = 4;
	p->syscall = ZCAP_SYS_EXEC;
	p->argv_len = 4;
	assert_int_equal(zev_decode(buf, sizeof(*p) + 4, &ev, NULL), 0);
	p->argv_len = 5; /* argv longer than the data */
	assert_int_equal(zev_decode(buf, sizeof(*p) + 4, &ev, NULL), -EINVAL);
	p->argv_len = 0;
	p->syscall = ZCAP_SYS_READ; /* not a process event */
	assert_int_equal(zev_decode(buf, sizeof(*p) + 4, &ev, NULL), -EINVAL);
}

static void test_fd_path_bound(void **state)
{
	struct zcap_fd_ev *f = (struct zcap_fd_ev *)buf;
	struct zev ev;

	memset(buf, 0, sizeof(buf));
	f->h.type = ZCAP_EV_FD;
	f->h.hdr_len = sizeof(*f);
	f->h.data_len = ZCAP_PATH_MAX;
	f->syscall = ZCAP_SYS_OPENAT;
	assert_int_equal(zev_decode(buf, sizeof(*f) + ZCAP_PATH_MAX, &ev, NULL), -EINVAL);
	f->h.data_len = 10;
	assert_int_equal(zev_decode(buf, sizeof(*f) + 10, &ev, NULL), 0);
	assert_int_equal(ev.fd->syscall, ZCAP_SYS_OPENAT);
}

/* The ABI's layout is what docs/event-schema.md documents. */
static void test_abi_sizes(void **state)
{
	assert_int_equal(sizeof(struct zcap_hdr), 48);
	assert_int_equal(sizeof(struct zcap_fdinfo), 64);
	assert_int_equal(sizeof(struct zcap_io), 168);
	assert_int_equal(offsetof(struct zcap_io, call_id), 112);
	assert_int_equal(sizeof(struct zcap_io) % 8, 0);
	assert_int_equal(sizeof(struct zcap_fd_ev) % 8, 0);
	assert_int_equal(sizeof(struct zcap_proc_ev) % 8, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_ok),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_huge_data_len),
		cmocka_unit_test(test_bad_type_and_abi),
		cmocka_unit_test(test_enum_ranges),
		cmocka_unit_test(test_proc_argv_bound),
		cmocka_unit_test(test_fd_path_bound),
		cmocka_unit_test(test_abi_sizes),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
