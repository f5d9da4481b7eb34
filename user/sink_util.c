// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink.h"

static uint64_t ns_of(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + t->tv_nsec;
}

/*
 * CLOCK_REALTIME read between two CLOCK_MONOTONIC reads: the offset is
 * exact to within half the interval. The narrowest of a few tries wins,
 * so a preemption between the reads cannot skew every record's time.
 */
uint64_t mono_to_real_offset(void)
{
	uint64_t best = 0, best_span = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;
		uint64_t span;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		span = ns_of(&m2) - ns_of(&m1);
		if (span < best_span) {
			best_span = span;
			best = ns_of(&r) - (ns_of(&m1) + span / 2);
		}
	}
	return best;
}

char *rfc3339_ns(uint64_t real_ns, char buf[RFC3339_NS_LEN])
{
	/* every JSON record has one: the date and time of day change once a
	 * second at most, so they are formatted once per second, the
	 * nanoseconds by hand (gmtime + snprintf per record was a tenth of
	 * the JSON sink's time). Per thread: sinks may run on several. */
	static __thread time_t last_sec = -1;
	static __thread char last[64]; /* "YYYY-MM-DDTHH:MM:SS" */
	time_t sec = real_ns / 1000000000ULL;
	uint32_t ns = real_ns % 1000000000ULL;
	struct tm tm;

	if (sec != last_sec) {
		if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999) {
			snprintf(buf, RFC3339_NS_LEN, "?");
			return buf;
		}
		snprintf(last, sizeof(last), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last_sec = sec;
	}
	memcpy(buf, last, 19);
	buf[19] = '.';
	for (int i = 28; i > 19; i--, ns /= 10)
		buf[i] = '0' + ns % 10;
	buf[29] = 'Z';
	buf[30] = 0;
	return buf;
}
