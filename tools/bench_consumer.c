// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_consumer: events per second zcap's userspace pipeline sustains on
 * one core, without BPF: a synthetic ring-buffer stream goes through the
 * same decode -> stitch -> sink path as `zcap record` (user/capture.c).
 *
 *   bench_consumer [--sink json|text|pcapng] [--events N] [--payload BYTES]
 *
 * The stream repeats a batch of records laid out as in a BPF ring buffer
 * (8-byte aligned), with fresh timestamps and call ids on every pass so
 * that nothing is cached across passes. Timestamps advance 1 us per event
 * (a nominal 1 M events/s: it sets how many packets the pcap-ng sink holds
 * in its reordering window). Per group of four events:
 *   json/text: a TCP recv and a TCP send of BYTES each, and a pipe write of
 *              2 x BYTES in two chunks (the stitcher joins them): 3 records;
 *   pcapng:    a TCP recv and send of BYTES (they name the socket's owner)
 *              and the two IPv4/TCP packets carrying them: 4 records.
 * Output goes to /dev/null. One line on stdout:
 *   events=N records=R cpu_s=C wall_s=W events_per_s=E maxrss_kib=K
 * events_per_s is N / cpu_s: the thread's CPU time, so that other load on
 * the machine does not count against the pipeline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "pathcache.h"
#include "sink.h"
#include "sink_pcapng.h"
#include "stitch.h"

#define BATCH_GROUPS 1024 /* groups of 4 events per pass over the batch */
#define BYTES_MAX    ZCAP_CHUNK
#define EXIT_USAGE   2
#define ALIGN8(x)    (((x) + 7) & ~(size_t)7)
#define IFINDEX	     1000000 /* no such interface: not loopback, no dedup */

struct batch {
	uint8_t *buf;
	size_t len, cap;
	size_t *off; /* record offsets */
	size_t n, ncap;
};

struct run {
	struct stitcher *st;
	struct sink *sink;
	uint64_t records;
	int error;
};

static int fail(const char *msg)
{
	fprintf(stderr, "bench_consumer: %s\n", msg);
	return 1;
}

/* Append one record of `fixed` bytes plus `data_len` bytes; returns it. */
static void *batch_add(struct batch *b, size_t fixed, uint32_t data_len)
{
	size_t need = ALIGN8(fixed + data_len);
	uint8_t *rec;

	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1 << 20;
		uint8_t *nb;

		while (cap < b->len + need)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return NULL;
		b->buf = nb;
		b->cap = cap;
	}
	if (b->n == b->ncap) {
		size_t ncap = b->ncap ? b->ncap * 2 : 4096;
		size_t *no = realloc(b->off, ncap * sizeof(*no));

		if (!no)
			return NULL;
		b->off = no;
		b->ncap = ncap;
	}
	rec = b->buf + b->len;
	memset(rec, 0, need);
	b->off[b->n++] = b->len;
	b->len += need;
	return rec;
}

static void fill_hdr(struct zcap_hdr *h, unsigned int type, size_t fixed, uint32_t data_len)
{
	h->type = type;
	h->hdr_len = fixed;
	h->data_len = data_len;
	h->pid = 4242;
	h->tid = 4242;
	memcpy(h->comm, "benchsrv", 8);
}

static void tcp_fdinfo(struct zcap_fdinfo *f)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };

	f->kind = ZCAP_FD_TCP;
	f->family = AF_INET;
	f->sock_type = SOCK_STREAM;
	f->lport = 8080;
	f->rport = 40000;
	f->ino = 777;
	memcpy(f->laddr, lo, 4);
	memcpy(f->raddr, lo, 4);
}

static int add_io(struct batch *b, const struct zcap_fdinfo *f, uint16_t sys, uint8_t dir,
		  uint8_t flags, uint64_t total, uint64_t chunk_off, uint32_t len, int fd)
{
	struct zcap_io *io = batch_add(b, sizeof(*io), len);

	if (!io)
		return -ENOMEM;
	fill_hdr(&io->h, ZCAP_EV_IO, sizeof(*io), len);
	io->f = *f;
	io->ret = total;
	io->total_len = total;
	io->chunk_off = chunk_off;
	io->file_off = -1;
	io->syscall = sys;
	io->dir = dir;
	io->flags = flags;
	io->fd = fd;
	memset(io + 1, 'a' + (b->n % 26), len);
	return 0;
}

/* An IPv4/TCP packet of the 127.0.0.1:8080 <-> :40000 connection. */
static int add_pkt(struct batch *b, bool out, uint32_t seq, uint32_t len)
{
	uint32_t plen = 40 + len;
	struct zcap_pkt_ev *p = batch_add(b, sizeof(*p), plen);
	uint8_t *ip;
	uint16_t sport = out ? 8080 : 40000, dport = out ? 40000 : 8080;

	if (!p)
		return -ENOMEM;
	fill_hdr(&p->h, ZCAP_EV_PKT, sizeof(*p), plen);
	p->pkt_len = plen;
	p->ifindex = IFINDEX;
	p->dir = out ? ZCAP_DIR_OUT : ZCAP_DIR_IN;
	p->sk_cookie = 99;
	ip = (uint8_t *)(p + 1);
	ip[0] = 0x45;
	ip[2] = plen >> 8;
	ip[3] = plen & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	ip[12] = 127;
	ip[15] = 1;
	ip[16] = 127;
	ip[19] = 1;
	ip[20] = sport >> 8;
	ip[21] = sport & 0xff;
	ip[22] = dport >> 8;
	ip[23] = dport & 0xff;
	ip[24] = seq >> 24;
	ip[25] = seq >> 16;
	ip[26] = seq >> 8;
	ip[27] = seq;
	ip[32] = 5 << 4;   /* data offset: 20 bytes */
	ip[33] = 0x18;	   /* PSH|ACK */
	ip[34] = 0xff;	   /* window */
	memset(ip + 40, 'p', len);
	return 0;
}

static int build_batch(struct batch *b, const char *sink, uint32_t bytes)
{
	struct zcap_fdinfo tcp = { 0 }, pipe = { .kind = ZCAP_FD_PIPE, .ino = 555 };
	const uint8_t FL = ZCAP_F_FIRST | ZCAP_F_LAST;
	int rc = 0;

	tcp_fdinfo(&tcp);
	for (unsigned int g = 0; g < BATCH_GROUPS && !rc; g++) {
		uint32_t seq = g * bytes;

		if (!strcmp(sink, "pcapng")) {
			rc = add_io(b, &tcp, ZCAP_SYS_RECVFROM, ZCAP_DIR_IN, FL, bytes, 0, bytes, 5);
			rc = rc ?: add_pkt(b, false, seq, bytes);
			rc = rc ?: add_io(b, &tcp, ZCAP_SYS_SENDTO, ZCAP_DIR_OUT, FL, bytes, 0, bytes, 5);
			rc = rc ?: add_pkt(b, true, seq, bytes);
		} else {
			rc = add_io(b, &tcp, ZCAP_SYS_RECVFROM, ZCAP_DIR_IN, FL, bytes, 0, bytes, 5);
			rc = rc ?: add_io(b, &tcp, ZCAP_SYS_SENDTO, ZCAP_DIR_OUT, FL, bytes, 0, bytes, 5);
			rc = rc ?: add_io(b, &pipe, ZCAP_SYS_WRITE, ZCAP_DIR_OUT, ZCAP_F_FIRST,
					  2 * bytes, 0, bytes, 1);
			rc = rc ?: add_io(b, &pipe, ZCAP_SYS_WRITE, ZCAP_DIR_OUT, ZCAP_F_LAST,
					  2 * bytes, bytes, bytes, 1);
		}
	}
	return rc;
}

/* As user/capture.c's to_sinks: every whole record to the sink. */
static int to_sink(const struct zrec *r, void *ctx)
{
	struct run *run = ctx;
	int rc;

	if (run->error)
		return 0;
	run->records++;
	rc = run->sink->ops->record(run->sink, r);
	if (rc < 0)
		run->error = rc;
	return 0;
}

static double ts_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_consumer [--sink json|text|pcapng] [--events N] "
			"[--payload BYTES]\n");
}

static char null_buf[256 * 1024];

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sink", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'n' },
		{ "payload", required_argument, NULL, 'b' },
		{ 0 },
	};
	const char *sink_name = "json";
	unsigned long long events = 4000000, done = 0, ts = 1000000000ULL, call = 1;
	unsigned long bytes = 128;
	struct batch b = { 0 };
	struct run run = { 0 };
	struct pathcache *pc = NULL;
	struct rusage ru;
	FILE *null = NULL;
	int null_fd = -1, c, err = 1;
	double cpu0, wall0, cpu, wall;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 's':
			sink_name = optarg;
			break;
		case 'n':
			errno = 0;
			events = strtoull(optarg, &end, 10);
			if (errno || *end || !events) {
				usage();
				return EXIT_USAGE;
			}
			break;
		case 'b':
			errno = 0;
			bytes = strtoul(optarg, &end, 10);
			if (errno || *end || !bytes || bytes > BYTES_MAX / 2) {
				usage();
				return EXIT_USAGE;
			}
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (strcmp(sink_name, "json") && strcmp(sink_name, "text") && strcmp(sink_name, "pcapng")) {
		usage();
		return EXIT_USAGE;
	}
	if (build_batch(&b, sink_name, bytes)) {
		fail("out of memory");
		goto cleanup;
	}
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0 || !(null = fdopen(null_fd, "w"))) {
		fail("cannot open /dev/null");
		goto cleanup;
	}
	/* as zcap record buffers its -o output (user/record.c) */
	setvbuf(null, null_buf, _IOFBF, sizeof(null_buf));
	if (!strcmp(sink_name, "json")) {
		run.sink = sink_json_new(null);
	} else if (!strcmp(sink_name, "text")) {
		run.sink = sink_text_new(null, 100);
	} else {
		struct pkt_sink_opts po = {
			.fd = null_fd, .name = "/dev/null", .format = PKT_FORMAT_PCAPNG,
			.snaplen = UINT32_MAX, .quiet = true,
		};
		run.sink = sink_pcapng_new(&po);
	}
	pc = pathcache_new(0);
	run.st = pc ? stitcher_new(pc, to_sink, &run) : NULL;
	if (!run.sink || !run.st) {
		fail("cannot set up the pipeline");
		goto cleanup;
	}

	cpu0 = ts_s(CLOCK_THREAD_CPUTIME_ID);
	wall0 = ts_s(CLOCK_MONOTONIC);
	while (done < events && !run.error) {
		for (size_t i = 0; i < b.n && done < events; i++, done++) {
			struct zcap_hdr *h = (struct zcap_hdr *)(b.buf + b.off[i]);
			size_t len = (i + 1 < b.n ? b.off[i + 1] : b.len) - b.off[i];
			struct zev ev;

			h->ts_ns = ts += 1000;
			if (h->type == ZCAP_EV_IO) {
				struct zcap_io *io = (struct zcap_io *)h;

				/* a new call unless this continues the previous one */
				if (io->flags & ZCAP_F_FIRST)
					call++;
				io->call_id = call;
			}
			if (zev_decode(h, len, &ev, NULL)) {
				fail("decoder rejected a synthetic record");
				goto cleanup;
			}
			stitcher_feed(run.st, &ev);
		}
		if (!strcmp(sink_name, "pcapng"))
			sink_pcapng_tick(run.sink, ts);
	}
	stitcher_flush(run.st);
	if (run.sink->ops->finish(run.sink, &(struct zcap_stats){ .records = run.records }) ||
	    run.error) {
		fail("sink failed");
		goto cleanup;
	}
	cpu = ts_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	wall = ts_s(CLOCK_MONOTONIC) - wall0;
	getrusage(RUSAGE_SELF, &ru);
	printf("events=%llu records=%llu cpu_s=%.3f wall_s=%.3f events_per_s=%.0f maxrss_kib=%ld\n",
	       done, (unsigned long long)run.records, cpu, wall, done / cpu, ru.ru_maxrss);
	err = 0;
cleanup:
	if (run.sink)
		run.sink->ops->destroy(run.sink);
	stitcher_free(run.st);
	pathcache_free(pc);
	if (null)
		fclose(null);
	else if (null_fd >= 0)
		close(null_fd);
	free(b.buf);
	free(b.off);
	return err;
}
