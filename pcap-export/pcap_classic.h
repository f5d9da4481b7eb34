/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Classic pcap output through libpcap's pcap_dump, shaped like the pcap-ng
 * writer: raw IP packets (DLT_RAW, stored as LINKTYPE_RAW 101 in the file),
 * nanosecond timestamps (magic 0xA1B23C4D).
 *
 * Each record goes out in one write loop and is flushed at once, so a pipe
 * reader or a file left by a killed writer holds whole records. Functions
 * return 0 or -errno; after a failed write every later call returns the same
 * error. The fd is never closed by the writer.
 */
#ifndef ZCAP_PCAP_CLASSIC_H
#define ZCAP_PCAP_CLASSIC_H

#include <stdint.h>

struct pcap_classic_writer;

/*
 * Write the file header to @fd at once. @snaplen 0 means PCAPNG_MAX_SNAPLEN
 * (262144), larger values are refused (-EINVAL), as libpcap would not read
 * them back. Returns NULL with errno set.
 */
struct pcap_classic_writer *pcap_classic_open(int fd, uint32_t snaplen);

/* One record; -EINVAL if caplen > origlen, caplen > snaplen or data is NULL with caplen > 0. */
int pcap_classic_write(struct pcap_classic_writer *w, uint64_t ts_ns, const void *data,
		       uint32_t caplen, uint32_t origlen);

/* Flush and free. The fd stays open. Returns the sticky write error, if any. */
int pcap_classic_close(struct pcap_classic_writer *w);

#endif /* ZCAP_PCAP_CLASSIC_H */
