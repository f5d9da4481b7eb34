// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Feature probes for `zcap doctor` and --send-hook=auto (user/probe.c):
 * one do-nothing program per hook type. User space enables one program at
 * a time and tries to load and attach it, so what this kernel allows is
 * learned by asking it, not from its version number.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sized to the page size by user space (it must be a multiple of it). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_rb SEC(".maps");

SEC("kprobe/tcp_sendmsg")
int probe_kprobe(void *ctx)
{
	return 0;
}

SEC("fentry/tcp_sendmsg")
int probe_fentry(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int probe_tracepoint(void *ctx)
{
	return 0;
}

/* 1 lets the packet through: this one is attached at the cgroup root for
 * a moment, and 0 would drop every packet the machine sends meanwhile. */
SEC("cgroup_skb/egress")
int probe_cgroup_skb(struct __sk_buff *skb)
{
	return 1;
}

static long loop_step(__u32 index, void *ctx)
{
	return 0;
}

/* raw_tp like zcap's own programs; loaded only, never attached. */
SEC("raw_tp")
int probe_bpf_loop(void *ctx)
{
	bpf_loop(4, loop_step, NULL, 0);
	return 0;
}

SEC("raw_tp")
int probe_ringbuf(void *ctx)
{
	__u64 *slot = bpf_ringbuf_reserve(&probe_rb, sizeof(*slot), 0);

	if (slot)
		bpf_ringbuf_discard(slot, 0);
	return 0;
}
