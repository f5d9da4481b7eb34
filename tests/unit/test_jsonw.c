// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The streaming JSON writer (user/jsonw.c) against json-c, the oracle:
 * the same calls must give the same bytes as json-c's PLAIN|NOSLASHESCAPE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include <time.h>

#include "jsonw.h"
#include "jtext.h"
#include "sink.h"

static const char *jc_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void assert_same(struct jw *w, json_object *o)
{
	const char *want = jc_text(o);

	assert_false(w->oom);
	assert_int_equal(w->len, strlen(want));
	assert_memory_equal(w->buf, want, w->len);
	json_object_put(o);
}

/* Every byte value in a string, and each at both ends of a run. */
static void test_strings_every_byte(void **state)
{
	struct jw w;

	jw_init(&w);
	for (int c = 0; c < 0x80; c++) {
		char s[5] = { 'a', (char)c, 'b', (char)c, 0 };
		size_t n = c ? 4 : 1; /* json-c strings stop at NUL: NUL alone below */
		json_object *o = json_object_new_object();

		jw_reset(&w);
		jw_obj_open(&w);
		jw_key(&w, "k");
		jw_strn(&w, s, n);
		jw_key(&w, s);
		jw_bool(&w, true);
		jw_obj_close(&w);
		json_object_object_add(o, "k", json_object_new_string_len(s, (int)n));
		json_object_object_add(o, s, json_object_new_boolean(true));
		assert_same(&w, o);
	}
	/* valid multi-byte UTF-8 passes through */
	{
		const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80/\"\\";
		json_object *o = json_object_new_array();

		jw_reset(&w);
		jw_arr_open(&w);
		jw_str(&w, s);
		jw_str(&w, "");
		jw_arr_close(&w);
		json_object_array_add(o, json_object_new_string(s));
		json_object_array_add(o, json_object_new_string(""));
		assert_same(&w, o);
	}
	/* a NUL inside a string */
	{
		json_object *o = json_object_new_array();

		jw_reset(&w);
		jw_arr_open(&w);
		jw_strn(&w, "a\0b", 3);
		jw_arr_close(&w);
		json_object_array_add(o, json_object_new_string_len("a\0b", 3));
		assert_same(&w, o);
	}
	jw_free(&w);
}

static void test_numbers(void **state)
{
	static const int64_t i[] = { 0, 1, -1, 9, 10, -10, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN };
	static const uint64_t u[] = { 0, 1, 9, 10, 99, 100, 1ULL << 53, UINT64_MAX - 1, UINT64_MAX };
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct jw w;
	char k[16];

	jw_init(&w);
	jw_obj_open(&w);
	for (size_t n = 0; n < sizeof(i) / sizeof(i[0]); n++) {
		snprintf(k, sizeof(k), "i%zu", n);
		jw_ki64(&w, k, i[n]);
		json_object_object_add(o, k, json_object_new_int64(i[n]));
	}
	jw_key(&w, "u");
	jw_arr_open(&w);
	for (size_t n = 0; n < sizeof(u) / sizeof(u[0]); n++) {
		jw_u64(&w, u[n]);
		json_object_array_add(a, json_object_new_uint64(u[n]));
	}
	jw_arr_close(&w);
	json_object_object_add(o, "u", a);
	jw_kbool(&w, "f", false);
	json_object_object_add(o, "f", json_object_new_boolean(false));
	jw_key(&w, "n");
	jw_null(&w);
	json_object_object_add(o, "n", NULL);
	jw_obj_close(&w);
	assert_same(&w, o);
	jw_free(&w);
}

/* Nesting: empty containers, objects in arrays in objects, and commas. */
/* A document with every kind of nesting: empty object and array, an
 * array in an array, objects in arrays and objects; written by the
 * writer, and the same as a json-c tree. */
static void nested_doc(struct jw *w)
{
	jw_obj_open(w);
	jw_kstr(w, "type", "io");
	jw_key(w, "empty");
	jw_obj_open(w);
	jw_obj_close(w);
	jw_key(w, "list");
	jw_arr_open(w);
	jw_arr_open(w);
	jw_arr_close(w);
	jw_obj_open(w);
	jw_ku64(w, "a", 1);
	jw_key(w, "d");
	jw_obj_open(w);
	jw_kstr(w, "x", "y");
	jw_obj_close(w);
	jw_obj_close(w);
	jw_i64(w, -3);
	jw_arr_close(w);
	jw_ku64(w, "last", 7);
	jw_obj_close(w);
}

static json_object *nested_json(void)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object *e = json_object_new_object(), *d = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("io"));
	json_object_object_add(o, "empty", json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	json_object_object_add(d, "x", json_object_new_string("y"));
	json_object_object_add(e, "a", json_object_new_uint64(1));
	json_object_object_add(e, "d", d);
	json_object_array_add(a, e);
	json_object_array_add(a, json_object_new_int64(-3));
	json_object_object_add(o, "list", a);
	json_object_object_add(o, "last", json_object_new_uint64(7));
	return o;
}

static void test_nesting(void **state)
{
	struct jw w;

	jw_init(&w);
	nested_doc(&w);
	assert_same(&w, nested_json());

	/* reset: a second document in the same buffer starts clean */
	jw_reset(&w);
	jw_obj_open(&w);
	jw_obj_close(&w);
	assert_int_equal(w.len, 2);
	assert_memory_equal(w.buf, "{}", 2);
	jw_free(&w);
}

static void assert_same_pretty(struct jw *w, json_object *o)
{
	const char *want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE);

	assert_false(w->oom);
	assert_int_equal(w->len, strlen(want));
	assert_memory_equal(w->buf, want, w->len);
	json_object_put(o);
}

/* Pretty (the lineage record's layout): json-c's PRETTY | NOSLASHESCAPE,
 * the nested document, a top-level empty array, null members, scalars
 * as text, and lists of untrusted strings as jtext_add_strv and
 * jtext_add_strings build them. */
static void test_pretty(void **state)
{
	char *argv[] = { "make", "caf\xe9", "", NULL };
	char *plain[] = { "a", NULL };
	const char packed[] = "ls\0-l\0\xff";
	json_object *o;
	struct jw w;

	jw_init(&w);
	w.pretty = true;
	nested_doc(&w);
	assert_same_pretty(&w, nested_json());

	jw_reset(&w);
	jw_arr_open(&w);
	jw_arr_close(&w);
	assert_same_pretty(&w, json_object_new_array());

	jw_reset(&w);
	jw_obj_open(&w);
	jw_ktextv(&w, "argv", argv);
	jw_ktextv(&w, "plain", plain);
	jw_ktextv(&w, "none", NULL);
	jw_kstrings(&w, "packed", packed, sizeof(packed) - 1);
	jw_key(&w, "n");
	jw_null(&w);
	jw_key(&w, "s");
	jw_scalar(&w, "-3", 2);
	jw_ku64(&w, "max", UINT64_MAX);
	jw_obj_close(&w);
	o = json_object_new_object();
	jtext_add_strv(o, "argv", argv);
	jtext_add_strv(o, "plain", plain);
	jtext_add_strv(o, "none", NULL);
	jtext_add_strings(o, "packed", packed, sizeof(packed) - 1);
	json_object_object_add(o, "n", NULL);
	json_object_object_add(o, "s", json_object_new_int(-3));
	json_object_object_add(o, "max", json_object_new_uint64(UINT64_MAX));
	assert_same_pretty(&w, o);
	jw_free(&w);
}

/* Base64 and untrusted text: the same as jtext's json-c forms. */
static void test_b64_and_text(void **state)
{
	uint8_t bytes[300];
	struct jw w;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 37 + 11);
	jw_init(&w);
	for (size_t n = 0; n <= sizeof(bytes); n += (n < 8 ? 1 : 97)) {
		json_object *o = json_object_new_object();

		jw_reset(&w);
		jw_obj_open(&w);
		jw_kb64(&w, "data", bytes, n);
		jw_ktext(&w, "path", (const char *)bytes, n);
		jw_ktext(&w, "comm", "fine", 4);
		jw_ktext(&w, "none", NULL, 0);
		jw_obj_close(&w);
		json_object_object_add(o, "data", jtext_base64(bytes, n));
		jtext_add(o, "path", (const char *)bytes, n);
		jtext_add(o, "comm", "fine", 4);
		jtext_add(o, "none", NULL, 0);
		assert_same(&w, o);
	}
	jw_free(&w);
}

/* A large document: the buffer grows and every byte stays. */
static void test_growth(void **state)
{
	json_object *a = json_object_new_array();
	char s[100];
	struct jw w;

	jw_init(&w);
	jw_arr_open(&w);
	for (int i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "item \"%d\"\n", i);
		jw_str(&w, s);
		json_object_array_add(a, json_object_new_string(s));
	}
	jw_arr_close(&w);
	assert_same(&w, a);
	jw_free(&w);
}

/* JSON "time" (user/sink_util.c, its second cached) against gmtime and
 * snprintf, within a second, across seconds, and going back. */
static void test_rfc3339(void **state)
{
	static const uint64_t t[] = { 0, 999999999, 1000000000, 1798761600000000001ULL,
				      1798761600999999999ULL, 1798761601000000000ULL,
				      1798761600000000123ULL, 253402300799ULL * 1000000000ULL + 999999999ULL };
	char got[RFC3339_NS_LEN], want[RFC3339_NS_LEN];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		time_t sec = t[i] / 1000000000ULL;
		struct tm tm;

		assert_non_null(gmtime_r(&sec, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned int)(t[i] % 1000000000ULL));
		assert_string_equal(rfc3339_ns(t[i], got), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_every_byte),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_b64_and_text),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
