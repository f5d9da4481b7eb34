// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: raw ring-buffer records through the decoder
 * (user/decode.c), the stitcher with its zero-copy part, the path cache,
 * and the text, JSON Lines and pcap-ng sinks, as `zcap record` chains them.
 * (The lineage sink is left out: it opens and hashes files that records
 * name, which fuzzed records would point anywhere.)
 *
 * Input: records, each a 2-byte little-endian length and that many bytes.
 * A length with bit 15 set asks for the header's type, hdr_len and
 * data_len to be made consistent first, so that most records get past the
 * decoder's size checks and exercise what lies behind them; the others
 * exercise the checks. Each record is copied to a buffer of its exact size
 * (aligned as the ring buffer aligns them), so ASan sees any overread.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "pathcache.h"
#include "sink.h"
#include "sink_pcapng.h"
#include "stitch.h"

enum { SINK_TEXT, SINK_JSON, SINK_PCAPNG, NSINKS };

struct fuzz_ctx {
	struct sink *sinks[NSINKS];
	struct zcap_stats stats;
};

static FILE *devnull;
static int devnull_fd = -1;

/* The capture loop's part (user/capture.c to_sinks): every sink gets
 * every record; a sink's error is not the fuzzer's concern. */
static int to_sinks(const struct zrec *r, void *arg)
{
	struct fuzz_ctx *c = arg;

	c->stats.records++;
	if (r->ev->type == ZCAP_EV_IO)
		c->stats.bytes += r->data_len;
	for (int i = 0; i < NSINKS; i++)
		c->sinks[i]->ops->record(c->sinks[i], r);
	return 0;
}

static void *record_copy(const uint8_t *data, size_t n, bool fix)
{
	uint8_t *rec = malloc(n ? n : 1);

	if (!rec)
		abort();
	memcpy(rec, data, n);
	if (fix && n >= sizeof(struct zcap_hdr)) {
		struct zcap_hdr *h = (struct zcap_hdr *)rec;
		size_t fixed;

		h->type = 1 + h->type % (ZCAP_EV_TYPE_MAX - 1);
		fixed = zev_fixed_size(h->type);
		h->hdr_len = fixed;
		if (n >= fixed)
			h->data_len = n - fixed;
	}
	return rec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_sink_opts po = {
		.name = "fuzz",
		.format = PKT_FORMAT_PCAPNG,
		.snaplen = UINT32_MAX,
		.quiet = true,
	};
	struct fuzz_ctx c = { 0 };
	struct pathcache *pc;
	struct stitcher *st;
	size_t off = 0;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		devnull_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (!devnull || devnull_fd < 0)
			abort();
	}
	po.fd = devnull_fd;
	pc = pathcache_new(64); /* small: its eviction runs too */
	c.sinks[SINK_TEXT] = sink_text_new(devnull, 80);
	c.sinks[SINK_JSON] = sink_json_new(devnull);
	c.sinks[SINK_PCAPNG] = sink_pcapng_new(&po);
	st = stitcher_new(pc, to_sinks, &c);
	if (!pc || !st || !c.sinks[SINK_TEXT] || !c.sinks[SINK_JSON] || !c.sinks[SINK_PCAPNG])
		abort();

	while (size - off >= 2) {
		size_t n = data[off] | (size_t)data[off + 1] << 8;
		bool fix = n & 0x8000;
		struct zev ev;
		void *rec;

		off += 2;
		n &= 0x7fff;
		if (n > size - off)
			n = size - off;
		rec = record_copy(data + off, n, fix);
		off += n;
		if (!zev_decode(rec, n, &ev, NULL)) {
			stitcher_feed(st, &ev);
			sink_pcapng_tick(c.sinks[SINK_PCAPNG], ev.h->ts_ns);
		} else {
			c.stats.bad_records++;
		}
		free(rec);
	}
	stitcher_flush(st);
	c.stats.incomplete = stitcher_incomplete(st);
	c.stats.drops[ZCAP_DROP_RINGBUF] = size;
	sink_pcapng_lost(c.sinks[SINK_PCAPNG], 1, size);
	for (int i = 0; i < NSINKS; i++) {
		if (c.sinks[i]->ops->drops)
			c.sinks[i]->ops->drops(c.sinks[i], &c.stats);
		c.sinks[i]->ops->finish(c.sinks[i], &c.stats);
		c.sinks[i]->ops->destroy(c.sinks[i]);
	}
	stitcher_free(st);
	pathcache_free(pc);
	return 0;
}
