// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Lineage model: records in, per-file facts out. Covers what the
 * end-to-end tests cannot reach yet (ZCAP_EV_XFER records) and the fd
 * bookkeeping rules (O_TRUNC fds through dup, fork and a failed dup3). */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "lineage_model.h"
#include "lineage_out.h"

#define PID 4242

static struct lineage *new_model(void)
{
	char *cmd[] = { "test", NULL };
	struct lineage *lg = lineage_new(cmd);

	assert_non_null(lg);
	return lg;
}

static void hdr(struct zcap_hdr *h, unsigned int type, size_t size, uint32_t pid)
{
	memset(h, 0, size);
	h->type = type;
	h->hdr_len = size;
	h->pid = pid;
	h->tid = pid;
	h->ts_ns = 1;
}

static void feed(struct lineage *lg, unsigned int type, const void *raw, const void *data,
		 size_t len, const char *path)
{
	struct zev ev = { .type = type, .raw = raw, .data = data, .data_len = len };
	struct zrec r = { .ev = &ev, .data = data, .data_len = len, .len = len, .path = path };

	ev.h = raw;
	assert_int_equal(lineage_feed(lg, &r), 0);
}

static void file_info(struct zcap_fdinfo *f, uint64_t ino, uint32_t flags)
{
	memset(f, 0, sizeof(*f));
	f->kind = ZCAP_FD_FILE;
	f->dev = 42;
	f->ino = ino;
	f->flags = flags;
}

static void open_file(struct lineage *lg, uint32_t pid, int fd, const char *path, uint64_t ino,
		      uint32_t oflags, uint16_t ev_flags)
{
	struct zcap_fd_ev e;

	hdr(&e.h, ZCAP_EV_FD, sizeof(e), pid);
	file_info(&e.f, ino, oflags & ~(O_CREAT | O_TRUNC));
	e.syscall = ZCAP_SYS_OPENAT;
	e.ret = fd;
	e.fd = fd;
	e.fd2 = -100;
	e.oflags = oflags;
	e.ev_flags = ev_flags | ZCAP_FD_PATH_ABS;
	feed(lg, ZCAP_EV_FD, &e, path, strlen(path), path);
}

static void fd_call(struct lineage *lg, uint32_t pid, uint16_t sc, int ret, int fd, int fd2,
		    uint64_t ino)
{
	struct zcap_fd_ev e;

	hdr(&e.h, ZCAP_EV_FD, sizeof(e), pid);
	file_info(&e.f, ino, O_RDWR);
	e.syscall = sc;
	e.ret = ret;
	e.fd = fd;
	e.fd2 = fd2;
	feed(lg, ZCAP_EV_FD, &e, NULL, 0, NULL);
}

static void io(struct lineage *lg, uint32_t pid, int fd, uint64_t ino, uint8_t dir, int64_t n,
	       const char *path)
{
	struct zcap_io e;

	hdr(&e.h, ZCAP_EV_IO, sizeof(e), pid);
	file_info(&e.f, ino, O_RDWR);
	e.syscall = dir == ZCAP_DIR_IN ? ZCAP_SYS_READ : ZCAP_SYS_WRITE;
	e.dir = dir;
	e.fd = fd;
	e.ret = n;
	e.total_len = n;
	e.flags = ZCAP_F_FIRST | ZCAP_F_LAST;
	{
		struct zev ev = { .type = ZCAP_EV_IO, .raw = &e, .h = &e.h };
		struct zrec r = { .ev = &ev, .len = n, .path = path };

		assert_int_equal(lineage_feed(lg, &r), 0);
	}
}

static struct lin_file *file(struct lineage *lg, const char *path)
{
	return lmap_get(&lg->files_by_path, path);
}

/* copy_file_range through ZCAP_EV_XFER: source read, destination written. */
static void test_xfer(void **state)
{
	struct lineage *lg = new_model();
	struct zcap_xfer_ev x;
	struct lin_file *in, *out;

	open_file(lg, PID, 3, "/w/in", 10, O_RDONLY, 0);
	open_file(lg, PID, 4, "/w/out", 11, O_WRONLY | O_CREAT | O_TRUNC, ZCAP_FD_CREATED);
	hdr(&x.h, ZCAP_EV_XFER, sizeof(x), PID);
	file_info(&x.in, 10, O_RDONLY);
	file_info(&x.out, 11, O_WRONLY);
	x.syscall = ZCAP_SYS_COPY_FILE_RANGE;
	x.fd_in = 3;
	x.fd_out = 4;
	x.ret = 12;
	feed(lg, ZCAP_EV_XFER, &x, NULL, 0, NULL);
	in = file(lg, "/w/in");
	out = file(lg, "/w/out");
	assert_non_null(in);
	assert_non_null(out);
	assert_true(in->read && !in->written && !in->created);
	assert_true(out->written && out->created && !out->read);
	assert_int_equal(in->bytes_read, 12);
	assert_int_equal(out->bytes_written, 12);
	lineage_free(lg);
}

/* An O_TRUNC fd never makes its file an input, whatever dup, fork and a
 * failed dup3 do to the fd numbers; a plain O_RDWR fd does. */
static void test_trunc_fd(void **state)
{
	struct lineage *lg = new_model();
	struct zcap_proc_ev f;

	open_file(lg, PID, 3, "/w/zip", 20, O_RDWR | O_CREAT | O_TRUNC, ZCAP_FD_CREATED);
	fd_call(lg, PID, ZCAP_SYS_DUP2, 100, 100, 3, 20);
	fd_call(lg, PID, ZCAP_SYS_DUP3, -9, 100, 9999, 0); /* EBADF: fd 100 unchanged */
	io(lg, PID, 100, 20, ZCAP_DIR_OUT, 5, "/w/zip");
	io(lg, PID, 100, 20, ZCAP_DIR_IN, 5, "/w/zip");
	hdr(&f.h, ZCAP_EV_PROC, sizeof(f), PID);
	f.syscall = ZCAP_SYS_FORK;
	f.child_pid = PID + 1;
	f.child_tid = PID + 1;
	feed(lg, ZCAP_EV_PROC, &f, NULL, 0, NULL);
	io(lg, PID + 1, 100, 20, ZCAP_DIR_IN, 5, "/w/zip"); /* inherited */
	assert_true(file(lg, "/w/zip")->written);
	assert_false(file(lg, "/w/zip")->read);

	open_file(lg, PID, 4, "/w/rw", 21, O_RDWR, 0);
	io(lg, PID, 4, 21, ZCAP_DIR_IN, 3, "/w/rw");
	io(lg, PID, 4, 21, ZCAP_DIR_OUT, 3, "/w/rw");
	assert_true(file(lg, "/w/rw")->read && file(lg, "/w/rw")->written);
	/* fd 4 closed, then reused by an O_TRUNC open of another file */
	fd_call(lg, PID, ZCAP_SYS_CLOSE, 0, 4, -1, 21);
	open_file(lg, PID, 4, "/w/t2", 22, O_RDWR | O_TRUNC, 0);
	io(lg, PID, 4, 22, ZCAP_DIR_IN, 3, "/w/t2");
	assert_false(file(lg, "/w/t2")->read);
	lineage_free(lg);
}

static void fs_two(struct lineage *lg, uint16_t sc, const char *a, const char *b)
{
	struct zcap_fs_ev e;
	char data[256];
	size_t la = strlen(a), lb = strlen(b);

	hdr(&e.h, ZCAP_EV_FS, sizeof(e), PID);
	e.syscall = sc;
	e.path_len = la;
	memcpy(data, a, la + 1);
	memcpy(data + la + 1, b, lb);
	feed(lg, ZCAP_EV_FS, &e, data, la + 1 + lb, NULL);
}

/* Atomic save: the temporary is folded into the final name, its origin. */
static void test_atomic_save(void **state)
{
	struct lineage *lg = new_model();
	struct lin_file *fin;

	open_file(lg, PID, 3, "/w/doc", 30, O_RDONLY, 0);
	io(lg, PID, 3, 30, ZCAP_DIR_IN, 9, "/w/doc");
	open_file(lg, PID, 4, "/w/.doc.tmp", 31, O_WRONLY | O_CREAT | O_EXCL, ZCAP_FD_CREATED);
	io(lg, PID, 4, 31, ZCAP_DIR_OUT, 10, "/w/.doc.tmp");
	fs_two(lg, ZCAP_SYS_RENAME, "/w/.doc.tmp", "/w/./sub/../doc");
	fin = file(lg, "/w/doc");
	assert_true(fin->read && fin->written && !fin->created && !fin->deleted);
	assert_string_equal(fin->origin, "/w/.doc.tmp");
	assert_int_equal(fin->bytes_written, 10);
	assert_false(lin_file_listed(file(lg, "/w/.doc.tmp")));
	/* later writes to the renamed inode land on the final name */
	io(lg, PID, 4, 31, ZCAP_DIR_OUT, 1, "/w/.doc.tmp");
	assert_int_equal(fin->bytes_written, 11);
	lineage_free(lg);
}

static uint64_t edge_bytes(struct lineage *lg, const char *from, const char *to, const char *via)
{
	char key[256];
	struct lin_edge *e;

	snprintf(key, sizeof(key), "%s\x01%s\x01%s", from, to, via);
	e = lmap_get(&lg->edges_by_key, key);
	return e ? e->bytes : 0;
}

/*
 * Many small reads and writes (on_io reuses where the last record of the
 * same process and fd went): exact totals per file and edge, two fds and
 * two processes interleaved, a rename in between moving later bytes to
 * the new name, and reads through an O_TRUNC fd counting nowhere.
 */
static void test_small_io_totals(void **state)
{
	struct lineage *lg = new_model();
	struct lin_file *a, *b, *c, *d;

	open_file(lg, PID, 3, "/w/a", 50, O_RDONLY, 0);
	open_file(lg, PID, 4, "/w/b", 51, O_WRONLY | O_CREAT, ZCAP_FD_CREATED);
	open_file(lg, PID + 1, 5, "/w/b", 51, O_WRONLY | O_APPEND, 0);
	for (int i = 0; i < 100; i++) {
		io(lg, PID, 3, 50, ZCAP_DIR_IN, 7, "/w/a");
		io(lg, PID, 4, 51, ZCAP_DIR_OUT, 3, "/w/b");
		if (i % 10 == 0)
			io(lg, PID + 1, 5, 51, ZCAP_DIR_OUT, 2, "/w/b");
	}
	a = file(lg, "/w/a");
	b = file(lg, "/w/b");
	assert_int_equal(a->bytes_read, 700);
	assert_int_equal(b->bytes_written, 320);
	assert_int_equal(b->writers.n, 2);
	assert_int_equal(edge_bytes(lg, "file:/w/a", "process:4242", "read"), 700);
	assert_int_equal(edge_bytes(lg, "process:4242", "file:/w/b", "write"), 300);
	assert_int_equal(edge_bytes(lg, "process:4243", "file:/w/b", "write"), 20);

	/* renamed while open: the bytes after the rename go to the new name */
	fs_two(lg, ZCAP_SYS_RENAME, "/w/b", "/w/c");
	for (int i = 0; i < 5; i++)
		io(lg, PID, 4, 51, ZCAP_DIR_OUT, 1, "/w/b");
	c = file(lg, "/w/c");
	assert_int_equal(c->bytes_written, 325);
	assert_int_equal(edge_bytes(lg, "process:4242", "file:/w/c", "write"), 5);
	assert_int_equal(edge_bytes(lg, "process:4242", "file:/w/b", "write"), 300);

	/* an O_TRUNC fd reads back its own output: no bytes read */
	open_file(lg, PID, 6, "/w/d", 52, O_RDWR | O_TRUNC, 0);
	io(lg, PID, 6, 52, ZCAP_DIR_OUT, 4, "/w/d");
	io(lg, PID, 6, 52, ZCAP_DIR_IN, 4, "/w/d");
	io(lg, PID, 6, 52, ZCAP_DIR_IN, 4, "/w/d");
	d = file(lg, "/w/d");
	assert_int_equal(d->bytes_written, 4);
	assert_int_equal(d->bytes_read, 0);
	assert_false(d->read);

	/* the fd closed and opened again on another file */
	fd_call(lg, PID, ZCAP_SYS_CLOSE, 0, 3, -1, 50);
	open_file(lg, PID, 3, "/w/e", 53, O_RDONLY, 0);
	io(lg, PID, 3, 53, ZCAP_DIR_IN, 9, "/w/e");
	assert_int_equal(file(lg, "/w/e")->bytes_read, 9);
	assert_int_equal(a->bytes_read, 700);
	lineage_free(lg);
}

/*
 * The JSON record is written by the streaming writer in json-c's pretty
 * layout: json-c, reading it back and printing it again, must give the
 * very same bytes (a path that is not UTF-8, null members, an extra
 * object with nested members and an empty array included).
 */
static void test_json_layout(void **state)
{
	struct lineage *lg = new_model();
	json_object *extra = json_object_new_object(), *ol = json_object_new_object(), *back;
	char *text = NULL;
	size_t len = 0;
	const char *again;
	FILE *f;

	open_file(lg, PID, 3, "/w/in\xff.txt", 40, O_RDONLY, 0);
	io(lg, PID, 3, 40, ZCAP_DIR_IN, 5, "/w/in\xff.txt");
	open_file(lg, PID, 4, "/w/.out.tmp", 41, O_WRONLY | O_CREAT | O_EXCL, ZCAP_FD_CREATED);
	io(lg, PID, 4, 41, ZCAP_DIR_OUT, 12, "/w/.out.tmp");
	fs_two(lg, ZCAP_SYS_RENAME, "/w/.out.tmp", "/w/out");
	json_object_object_add(ol, "url", json_object_new_string("http://h:5000/api/v1/lineage"));
	json_object_object_add(ol, "events", json_object_new_uint64(3));
	json_object_object_add(ol, "none", NULL);
	json_object_object_add(ol, "list", json_object_new_array());
	json_object_object_add(extra, "openlineage_http", ol);
	lineage_finish(lg, &(struct timespec){ 1, 0 }, &(struct timespec){ 2, 5000000 }, 0, 0);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(lineage_write_json_with(lg, f, extra), 0);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 0 && text[len - 1] == '\n');
	assert_non_null(strstr(text, "\"path_b64\":\"L3cvaW7/LnR4dA==\""));
	assert_non_null(strstr(text, "\"origin\":\"/w/.out.tmp\""));
	back = json_tokener_parse(text);
	assert_non_null(back);
	again = json_object_to_json_string_ext(back, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE);
	assert_int_equal(strlen(again), len - 1);
	assert_memory_equal(again, text, len - 1);
	json_object_put(back);
	free(text);
	lineage_free(lg);
}

static void test_normalize(void **state)
{
	static const char *const cases[][2] = {
		{ "/a/b/../c", "/a/c" }, { "//a///b/", "/a/b" }, { "/a/./b/.", "/a/b" },
		{ "/..", "/" },		 { "/a/..", "/" },	 { "rel/x", "rel/x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		strcpy(buf, cases[i][0]);
		lineage_normalize_path(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xfer),
		cmocka_unit_test(test_trunc_fd),
		cmocka_unit_test(test_atomic_save),
		cmocka_unit_test(test_small_io_totals),
		cmocka_unit_test(test_json_layout),
		cmocka_unit_test(test_normalize),
	};

	return cmocka_run_group_tests_name("lineage", tests, NULL, NULL);
}
