// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The shared escaping (user/escape.c) and JSON text (user/jtext.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "escape.h"
#include "jtext.h"

static void test_c_escapes(void **state)
{
	char out[64];

	esc_mem(out, "a\nb\tc\r\"\\\x1b\x7f\xff z", 13, 0);
	assert_string_equal(out, "a\\nb\\tc\\r\\\"\\\\\\x1b\\x7f\\xff z");
	/* a comm is one word: no space or bracket survives */
	esc_mem(out, "x[1] to", 7, ESC_WORD);
	assert_string_equal(out, "x\\x5b1\\x5d\\x20to");
	esc_mem(out, "plain/path.txt", 14, ESC_WORD);
	assert_string_equal(out, "plain/path.txt");
}

static void test_escape_is_printable(void **state)
{
	char out[ESC_MAX * 256 + 1];
	uint8_t all[256];
	size_t n;

	for (int i = 0; i < 256; i++)
		all[i] = i;
	n = esc_mem(out, all, 256, ESC_WORD);
	assert_int_equal(n, strlen(out));
	for (size_t i = 0; out[i]; i++)
		assert_true(out[i] >= 0x20 && out[i] < 0x7f);
	/* a quote only ever follows a backslash */
	for (size_t i = 0; out[i]; i++)
		if (out[i] == '"')
			assert_int_equal(out[i - 1], '\\');
}

static void test_utf8(void **state)
{
	size_t len;
	char *s;

	assert_true(utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	assert_false(utf8_valid("bad\xff\xfe", 5));
	assert_false(utf8_valid("\xc0\xaf", 2));	 /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
	assert_false(utf8_valid("\xe2\x82", 2));     /* cut short */
	assert_false(utf8_valid("a\0b", 3));
	s = utf8_lossy("bad\xff\xfe.txt", 9, &len);
	assert_string_equal(s, "bad\xef\xbf\xbd\xef\xbf\xbd.txt");
	assert_int_equal(len, strlen(s));
	assert_true(utf8_valid(s, len));
	free(s);
}

static char *dot(const char *s, bool label)
{
	static char buf[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	esc_dot(f, s, label);
	fclose(f);
	return buf;
}

static void test_dot(void **state)
{
	/* ids: only \" is a DOT escape; the rest stays zcap's escaped text */
	assert_string_equal(dot("new\nline \"q\" \\", false), "new\\nline \\\"q\\\" \\\\");
	/* labels read \\ and \n: the escapes are shown, not obeyed */
	assert_string_equal(dot("new\nline \"q\"", true), "new\\\\nline \\\\\\\"q\\\\\\\"");
}

static void test_jtext(void **state)
{
	json_object *o = json_object_new_object();
	char *argv[] = { "ok", "b\xff", NULL };

	jtext_add(o, "path", "bad\xff", 4);
	jtext_add_str(o, "comm", "fine");
	jtext_add_strv(o, "argv", argv);
	jtext_add_strings(o, "plain", "a\0b", 4);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"path\":\"bad\xef\xbf\xbd\",\"path_b64\":\"YmFk/w==\",\"comm\":\"fine\","
			    "\"argv\":[\"ok\",\"b\xef\xbf\xbd\"],\"argv_b64\":[\"b2s=\",\"Yv8=\"],"
			    "\"plain\":[\"a\",\"b\"]}");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_escapes), cmocka_unit_test(test_escape_is_printable),
		cmocka_unit_test(test_utf8),	  cmocka_unit_test(test_dot),
		cmocka_unit_test(test_jtext),
	};

	return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
