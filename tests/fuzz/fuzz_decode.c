// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: raw ring-buffer records through the decoder
 * (user/decode.c), the stitcher with its zero-copy part, the path cache,
 * and the text, JSON Lines and pcap-ng sinks, as `zcap record` chains them.
 * (The lineage sink is left out: it opens and hashes files that records
 * name, which fuzzed records would point anywhere.)
 * Input: see tests/fuzz/replay.h (shared with tests/unit/test_sink_golden.c).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathcache.h"
#include "sink.h"
#include "sink_pcapng.h"
#include "replay.h"

enum { SINK_TEXT, SINK_JSON, SINK_PCAPNG, NSINKS };

static FILE *devnull;
static int devnull_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_sink_opts po = {
		.name = "fuzz",
		.format = PKT_FORMAT_PCAPNG,
		.snaplen = UINT32_MAX,
		.quiet = true,
	};
	struct sink *sinks[NSINKS];
	struct pathcache *pc;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		devnull_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (!devnull || devnull_fd < 0)
			abort();
	}
	po.fd = devnull_fd;
	pc = pathcache_new(64); /* small: its eviction runs too */
	sinks[SINK_TEXT] = sink_text_new(devnull, 80);
	sinks[SINK_JSON] = sink_json_new(devnull);
	sinks[SINK_PCAPNG] = sink_pcapng_new(&po);
	if (!pc || !sinks[SINK_TEXT] || !sinks[SINK_JSON] || !sinks[SINK_PCAPNG])
		abort();
	replay_records(data, size, pc, sinks, NSINKS, SINK_PCAPNG);
	pathcache_free(pc);
	return 0;
}
