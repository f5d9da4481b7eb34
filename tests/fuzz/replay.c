// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "replay.h"
#include "sink.h"
#include "sink_pcapng.h"
#include "stitch.h"

struct replay_ctx {
	struct sink **sinks;
	int nsinks;
	struct zcap_stats stats;
};

/* The capture loop's part (user/capture.c to_sinks): every sink gets
 * every record; a sink's error is not the caller's concern. */
static int to_sinks(const struct zrec *r, void *arg)
{
	struct replay_ctx *c = arg;

	c->stats.records++;
	if (r->ev->type == ZCAP_EV_IO)
		c->stats.bytes += r->data_len;
	for (int i = 0; i < c->nsinks; i++)
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

void replay_records(const uint8_t *data, size_t size, struct pathcache *pc, struct sink **sinks,
		    int nsinks, int pcapng_idx)
{
	struct replay_ctx c = { .sinks = sinks, .nsinks = nsinks };
	struct stitcher *st = stitcher_new(pc, to_sinks, &c);
	size_t off = 0;

	if (!st)
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
			if (pcapng_idx >= 0)
				sink_pcapng_tick(sinks[pcapng_idx], ev.h->ts_ns);
		} else {
			c.stats.bad_records++;
		}
		free(rec);
	}
	stitcher_flush(st);
	c.stats.incomplete = stitcher_incomplete(st);
	c.stats.iov_limited = stitcher_iov_limited(st);
	c.stats.drops[ZCAP_DROP_RINGBUF] = size;
	if (pcapng_idx >= 0)
		sink_pcapng_lost(sinks[pcapng_idx], 1, size);
	for (int i = 0; i < nsinks; i++) {
		if (sinks[i]->ops->drops)
			sinks[i]->ops->drops(sinks[i], &c.stats);
		sinks[i]->ops->finish(sinks[i], &c.stats);
		sinks[i]->ops->destroy(sinks[i]);
	}
	stitcher_free(st);
}
