// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The OpenLineage spool (user/ol_spool.c): order kept, events removed
 * only once delivered, the file removed when empty, a cut line dropped,
 * and a spool that is not zcap's own private file never used. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ol_spool.h"

struct sent {
	char *got[16];
	int n;
	int accept; /* how many more the "server" takes */
};

static int fake_send(void *ctx, const char *json)
{
	struct sent *s = ctx;

	if (s->accept == 0)
		return -1;
	s->accept--;
	s->got[s->n++] = strdup(json);
	return 0;
}

static void sent_free(struct sent *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->got[i]);
	memset(s, 0, sizeof(*s));
}

static char *spool_in(char *dir)
{
	char *path = NULL;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/spool.jsonl", dir) > 0);
	return path;
}

static void test_order_and_partial_flush(void **state)
{
	char dir[] = "/tmp/zcap-spool-XXXXXX";
	char *path = spool_in(dir);
	char *first[] = { "{\"n\":1}", "{\"n\":2}" }, *second[] = { "{\"n\":3}" };
	struct sent s = { .accept = 1 };
	struct stat st;
	int sent, left;

	assert_int_equal(ol_spool_check(path), 0); /* absent is fine */
	assert_int_equal(ol_spool_append(path, first, 2), 0);
	assert_int_equal(ol_spool_append(path, second, 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the server takes one, then fails: two stay, in order */
	assert_int_equal(ol_spool_flush(path, fake_send, &s, &sent, &left), 0);
	assert_int_equal(sent, 1);
	assert_int_equal(left, 2);
	assert_string_equal(s.got[0], "{\"n\":1}");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	sent_free(&s);

	s.accept = 10;
	assert_int_equal(ol_spool_flush(path, fake_send, &s, &sent, &left), 0);
	assert_int_equal(sent, 2);
	assert_int_equal(left, 0);
	assert_string_equal(s.got[0], "{\"n\":2}");
	assert_string_equal(s.got[1], "{\"n\":3}");
	assert_int_equal(stat(path, &st), -1); /* empty: gone */
	sent_free(&s);

	/* nothing spooled: nothing sent, no error */
	assert_int_equal(ol_spool_flush(path, fake_send, &s, &sent, &left), 0);
	assert_int_equal(sent + left + s.n, 0);
	rmdir(dir);
	free(path);
}

static void test_cut_line_dropped(void **state)
{
	char dir[] = "/tmp/zcap-spool-XXXXXX";
	char *path = spool_in(dir);
	struct sent s = { .accept = 10 };
	int fd, sent, left;
	const char text[] = "{\"n\":1}\n{\"n\":2, \"cut";

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(ol_spool_flush(path, fake_send, &s, &sent, &left), 0);
	assert_int_equal(sent, 1);
	assert_int_equal(left, 0);
	assert_string_equal(s.got[0], "{\"n\":1}");
	assert_int_equal(access(path, F_OK), -1);
	sent_free(&s);
	rmdir(dir);
	free(path);
}

static void test_not_ours_refused(void **state)
{
	char dir[] = "/tmp/zcap-spool-XXXXXX";
	char *path = spool_in(dir), *ev[] = { "{}" };
	struct sent s = { .accept = 10 };
	int fd, sent, left;

	/* readable by others: someone else may have written it */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "{}\n", 3), 3);
	close(fd);
	assert_true(ol_spool_check(path) < 0);
	assert_true(ol_spool_append(path, ev, 1) < 0);
	assert_true(ol_spool_flush(path, fake_send, &s, &sent, &left) < 0);
	assert_int_equal(s.n, 0);
	unlink(path);

	/* a symlink: never followed */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_true(ol_spool_check(path) < 0);
	assert_true(ol_spool_append(path, ev, 1) < 0);
	assert_true(ol_spool_flush(path, fake_send, &s, &sent, &left) < 0);
	assert_int_equal(s.n, 0);
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_partial_flush),
		cmocka_unit_test(test_cut_line_dropped),
		cmocka_unit_test(test_not_ours_refused),
	};

	return cmocka_run_group_tests_name("ol_spool", tests, NULL, NULL);
}
