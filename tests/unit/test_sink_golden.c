// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON Lines sink's exact bytes, held against a golden file:
 * every decode-fuzzer seed (tests/fuzz/seeds/fuzz_decode, 200+ inputs of
 * every event type, hostile names and broken records among them) replayed
 * through decode -> stitch -> sink as zcap record chains them. The golden
 * files were written by the sinks as they were before the JSON sink moved
 * from json-c object trees to the streaming writer (user/jsonw.c), so a
 * rewrite of a sink for speed must keep every byte.
 *
 * No path cache (paths would come from this machine's /proc); not the text
 * sink (its times are wall-clock, per machine). To rewrite the file after
 * a deliberate change of the output:
 *   ZCAP_GOLDEN_WRITE=1 build/tests/test_sink_golden
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "replay.h"
#include "sink.h"

#define SEEDS  "tests/fuzz/seeds/fuzz_decode"
#define GOLDEN "tests/unit/golden/"
/* 2026-01-01T00:00:00Z, as the CLOCK_REALTIME - CLOCK_MONOTONIC offset */
#define GOLDEN_REAL_OFFSET 1767225600000000000ULL

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(len ? len : 1);
		if (buf && fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		*n = len;
	}
	fclose(f);
	return buf;
}

/* Every seed through the JSON sink, each seed's output after a line
 * naming it; the whole text in *out (malloc'd). */
static void replay_all(char **out, size_t *len)
{
	FILE *mem = open_memstream(out, len);
	struct dirent **names;
	int n = scandir(SEEDS, &names, NULL, by_name);

	assert_non_null(mem);
	assert_true(n > 100);
	for (int i = 0; i < n; i++) {
		char path[512];
		struct sink *s;
		uint8_t *data;
		size_t size;

		if (names[i]->d_name[0] == '.')
			goto next;
		snprintf(path, sizeof(path), "%s/%s", SEEDS, names[i]->d_name);
		data = slurp(path, &size);
		assert_non_null(data);
		fprintf(mem, "== %s\n", names[i]->d_name);
		fflush(mem);
		s = sink_json_new(mem);
		assert_non_null(s);
		/* "time" = ts_ns + this offset; the machine's own would change it */
		s->mono_to_real_ns = GOLDEN_REAL_OFFSET;
		replay_records(data, size, NULL, &s, 1, -1);
		fflush(mem);
		free(data);
next:
		free(names[i]);
	}
	free(names);
	assert_int_equal(fclose(mem), 0);
}

static void check_golden(const char *file)
{
	char path[256], *got = NULL, *want;
	size_t got_len = 0, want_len = 0;

	snprintf(path, sizeof(path), "%s%s", GOLDEN, file);
	replay_all(&got, &got_len);
	if (getenv("ZCAP_GOLDEN_WRITE")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(got, 1, got_len, f), got_len);
		assert_int_equal(fclose(f), 0);
	}
	want = (char *)slurp(path, &want_len);
	assert_non_null(want);
	for (size_t i = 0; i < got_len && i < want_len; i++) {
		if (got[i] != want[i]) {
			size_t from = i > 200 ? i - 200 : 0;

			print_error("%s: first difference at byte %zu:\n got: %.300s\nwant: %.300s\n",
				    file, i, got + from, want + from);
			fail();
		}
	}
	assert_int_equal(got_len, want_len);
	free(got);
	free(want);
}

static void test_json_golden(void **state)
{
	check_golden("sink_json.jsonl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_golden),
	};

	return cmocka_run_group_tests_name("sink_golden", tests, NULL, NULL);
}
