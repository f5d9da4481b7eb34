/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Raw ring-buffer records, as the fuzz inputs hold them, through the
 * decoder, the stitcher and a set of sinks, as `zcap record` chains them:
 * shared by the decode fuzzer (tests/fuzz/fuzz_decode.c) and the sinks'
 * golden-output test (tests/unit/test_sink_golden.c).
 *
 * Input: records, each a 2-byte little-endian length and that many bytes.
 * A length with bit 15 set asks for the header's type, hdr_len and
 * data_len to be made consistent first, so that most records get past the
 * decoder's size checks and exercise what lies behind them; the others
 * exercise the checks. Each record is copied to a buffer of its exact size
 * (aligned as the ring buffer aligns them), so ASan sees any overread.
 */
#ifndef ZCAP_REPLAY_H
#define ZCAP_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct pathcache;
struct sink;

/* Feed data to the sinks (pc may be NULL: no paths), then end them as a
 * capture ends: drops, finish, destroy. nsinks sinks; the pcap-ng sink,
 * if any, at index pcapng_idx (-1: none) also gets its ticks and a loss. */
void replay_records(const uint8_t *data, size_t size, struct pathcache *pc, struct sink **sinks,
		    int nsinks, int pcapng_idx);

#endif
