// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * filter_diff: holds zcap's classic -> eBPF translation (user/cbpf_ebpf.c)
 * against libpcap. For each filter expression it loads the translation as
 * a cgroup_skb program and runs it in the kernel (BPF_PROG_TEST_RUN) on
 * every packet of FILE (IP packets, each a 4-byte little-endian length
 * and its bytes), and on each packet cut short at every length from its
 * IP header to 128 bytes (loads past the end), comparing each verdict with libpcap's
 * (pcap_offline_filter) on the same bytes. One line per expression on
 * stdout; exit 1 when any verdict differs.
 *
 *   filter_diff FILE EXPR...        (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <unistd.h>

#include "cbpf_ebpf.h"
#include "filter_expr.h"

#define ETH_HLEN 14
#define TEST_MAX 3000

struct packets {
	unsigned char **data;
	unsigned int *len;
	size_t n;
};

static int read_packets(const char *path, struct packets *pk)
{
	FILE *f = fopen(path, "rb");
	unsigned char hdr[4];

	if (!f) {
		perror(path);
		return -1;
	}
	while (fread(hdr, 1, 4, f) == 4) {
		unsigned int len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (unsigned int)hdr[3] << 24;
		unsigned char *d = len <= 65536 ? malloc(len ? len : 1) : NULL;

		pk->data = realloc(pk->data, (pk->n + 1) * sizeof(*pk->data));
		pk->len = realloc(pk->len, (pk->n + 1) * sizeof(*pk->len));
		if (!d || !pk->data || !pk->len || fread(d, 1, len, f) != len) {
			fprintf(stderr, "%s: bad packet %zu\n", path, pk->n);
			free(d);
			fclose(f);
			return -1;
		}
		pk->data[pk->n] = d;
		pk->len[pk->n++] = len;
	}
	fclose(f);
	return 0;
}

static int kernel_verdict(int prog_fd, const unsigned char *pkt, unsigned int len)
{
	/* test runs of cgroup_skb take an Ethernet frame and start the
	 * program at its network header, as a real cgroup_skb run */
	unsigned char frame[ETH_HLEN + TEST_MAX] = { [12] = 0x08 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = ETH_HLEN + len,
		    .repeat = 1);

	if (len && pkt[0] >> 4 == 6) {
		frame[12] = 0x86;
		frame[13] = 0xdd;
	}
	memcpy(frame + ETH_HLEN, pkt, len);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return opts.retval;
}

static int check(const char *expr, const struct packets *pk, struct filter_expr *f)
{
	const struct sock_filter *insns;
	struct bpf_insn *prog;
	unsigned int n, ninsns, runs = 0, bad = 0;
	char log[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log, .log_size = sizeof(log),
		    .expected_attach_type = BPF_CGROUP_INET_EGRESS);
	int fd, err;

	insns = filter_expr_insns(f, &n);
	err = cbpf_to_ebpf(insns, n, -1, &prog, &ninsns);
	if (err) {
		fprintf(stderr, "%s: translation failed: %s\n", expr, strerror(-err));
		return -1;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "filter_diff", "Dual BSD/GPL", prog, ninsns,
			   &lo);
	free(prog);
	if (fd < 0) {
		fprintf(stderr, "%s: load failed: %s\n%s\n", expr, strerror(errno), log);
		return -1;
	}
	for (size_t i = 0; i < pk->n; i++) {
		/* test runs take at most a page: longer packets are tested as
		 * their first TEST_MAX bytes (both sides see the same bytes) */
		unsigned int full = pk->len[i] < TEST_MAX ? pk->len[i] : TEST_MAX;

		/* whole, then cut to every shorter length of its headers */
		/* the kernel's test runs want the IP header whole, as every
		 * packet a cgroup_skb program sees has it */
		unsigned int min = full && pk->data[i][0] >> 4 == 6 ? 40 : 20;

		for (unsigned int len = full + 1; len-- > min;) {
			int want, got;

			if (len < full && len > 128)
				continue;
			want = filter_expr_match_packet(f, pk->data[i], len);
			got = kernel_verdict(fd, pk->data[i], len);
			runs++;
			if (got < 0) {
				fprintf(stderr, "%s: test run of packet %zu cut to %u failed: %s\n",
					expr, i, len, strerror(-got));
				close(fd);
				return -1;
			}
			if (!!got != !!want) {
				if (bad++ < 5)
					fprintf(stderr,
						"%s: packet %zu cut to %u: libpcap %d, kernel %d\n",
						expr, i, len, want, got);
			}
		}
	}
	close(fd);
	printf("%s: %u runs over %zu packets, %u disagree (%u eBPF instructions)\n", expr, runs,
	       pk->n, bad, ninsns);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct packets pk = { 0 };
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: filter_diff FILE EXPR...\n");
		return 2;
	}
	if (read_packets(argv[1], &pk))
		return 1;
	for (int i = 2; i < argc; i++) {
		struct filter_expr *f;
		int r;

		if (filter_expr_compile(argv[i], &f))
			return 2;
		r = check(argv[i], &pk, f);
		filter_expr_free(f);
		if (r)
			rc = 1;
	}
	for (size_t i = 0; i < pk.n; i++)
		free(pk.data[i]);
	free(pk.data);
	free(pk.len);
	return rc;
}
