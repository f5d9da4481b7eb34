/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Classic BPF (what pcap_compile makes) translated into eBPF for a
 * cgroup_skb program, which cannot run classic BPF itself. The packet
 * starts at its IP header there, as for LINKTYPE_RAW.
 */
#ifndef ZCAP_CBPF_EBPF_H
#define ZCAP_CBPF_EBPF_H

struct sock_filter;
struct bpf_insn;

/*
 * Translate prog[0..len) into *out (malloc'd, *out_len instructions).
 * The classic semantics are kept: 32-bit A and X, scratch M[0..15],
 * packet loads in network byte order, and a load outside the packet or a
 * division by zero X rejects the packet. When the filter accepts, the
 * program tail-calls entry 0 of the program array prog_array_fd and, if
 * that fails, returns 1; when it rejects, it returns 1 (the packet always
 * goes on: the filter only decides what is captured). With prog_array_fd
 * < 0 it returns 1 for accept and 0 for reject instead (tests run it so).
 * 0, -EINVAL for a program that is not valid classic BPF (a backward or
 * out-of-range jump, no final return, M[k] with k > 15, a constant
 * division by zero), -E2BIG for one too long for eBPF's jump offsets, or
 * -ENOMEM.
 */
int cbpf_to_ebpf(const struct sock_filter *prog, unsigned int len, int prog_array_fd,
		 struct bpf_insn **out, unsigned int *out_len);

#endif
