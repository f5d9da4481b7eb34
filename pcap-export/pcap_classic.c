// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Classic pcap via libpcap's pcap_dump on a stdio stream of our own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "pcap_classic.h"
#include "pcapng.h"

#define RECORD_HEADER_LEN 16	/* ts_sec, ts_nsec, caplen, len */

struct pcap_classic_writer {
	int fd;
	off_t pos;		/* end of the last whole record; -1 when not seekable */
	int error;		/* sticky -errno of the first failed write */
	uint32_t snaplen;
	pcap_t *dead;
	pcap_dumper_t *dumper;	/* owns @stream */
	FILE *stream;
	char *stdio_buf;
};

/*
 * stdio hands us whole records: the buffer holds one record and we flush
 * after each, so every call is one record (or the file header). Write it
 * with the same loop as the pcap-ng writer instead of stdio's, which gives
 * up on EINTR.
 */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct pcap_classic_writer *w = cookie;
	int err;

	if (w->error) {
		errno = -w->error;
		return 0;
	}
	/* each flush is one whole record */
	err = pcapng_write_unit(w->fd, buf, len, &w->pos);
	if (err) {
		w->error = err;
		errno = -err;
		return 0;	/* fopencookie: 0 reports an error */
	}
	return (ssize_t)len;
}

/* The caller owns the fd: closing the stream must not close it. */
static int stream_close(void *cookie)
{
	return 0;
}

static int flush(struct pcap_classic_writer *w)
{
	if (pcap_dump_flush(w->dumper) == 0 && !w->error)
		return 0;
	if (!w->error)
		w->error = errno ? -errno : -EIO;
	return w->error;
}

struct pcap_classic_writer *pcap_classic_open(int fd, uint32_t snaplen)
{
	cookie_io_functions_t io = { .write = stream_write, .close = stream_close };
	struct pcap_classic_writer *w;
	int err = -ENOMEM;

	if (fd < 0 || snaplen > PCAPNG_MAX_SNAPLEN) {
		errno = fd < 0 ? EBADF : EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	w->pos = pcapng_unit_start(fd);
	w->snaplen = snaplen ? snaplen : PCAPNG_MAX_SNAPLEN;

	w->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, (int)w->snaplen,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!w->dead)
		goto cleanup;
	w->stream = fopencookie(w, "w", io);
	if (!w->stream)
		goto cleanup;
	/* big enough for any record, so stdio never splits one across writes */
	w->stdio_buf = malloc(RECORD_HEADER_LEN + w->snaplen);
	if (!w->stdio_buf ||
	    setvbuf(w->stream, w->stdio_buf, _IOFBF, RECORD_HEADER_LEN + w->snaplen))
		goto cleanup;
	w->dumper = pcap_dump_fopen(w->dead, w->stream);
	/*
	 * From here the stream is the dumper's. On failure libpcap may or may
	 * not have closed it: rather leak it than close it twice.
	 */
	w->stream = NULL;
	if (!w->dumper) {
		err = -EIO;
		goto cleanup;
	}
	err = flush(w);		/* the file header, now */
	if (err)
		goto cleanup;
	return w;

cleanup:
	if (w->error)
		err = w->error;
	pcap_classic_close(w);
	errno = -err;
	return NULL;
}

int pcap_classic_write(struct pcap_classic_writer *w, uint64_t ts_ns, const void *data,
		       uint32_t caplen, uint32_t origlen)
{
	struct pcap_pkthdr hdr;

	if (!w || caplen > origlen || caplen > w->snaplen || (!data && caplen))
		return -EINVAL;
	if (w->error)
		return w->error;

	/* with nanosecond precision, libpcap stores tv_usec as nanoseconds */
	hdr.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
	hdr.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000u);
	hdr.caplen = caplen;
	hdr.len = origlen;
	pcap_dump((u_char *)w->dumper, &hdr, data ? data : (const void *)"");
	return flush(w);
}

int pcap_classic_close(struct pcap_classic_writer *w)
{
	int err;

	if (!w)
		return -EINVAL;
	if (w->dumper) {
		flush(w);
		pcap_dump_close(w->dumper);
	}
	if (w->stream)
		fclose(w->stream);
	if (w->dead)
		pcap_close(w->dead);
	err = w->error;
	free(w->stdio_buf);
	free(w);
	return err;
}
