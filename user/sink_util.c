// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <time.h>

#include "sink.h"

uint64_t mono_to_real_offset(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)(r.tv_sec - m.tv_sec) * 1000000000ULL + (r.tv_nsec - m.tv_nsec);
}
