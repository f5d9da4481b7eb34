/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loader: opens the BPF objects, writes the filters into their read-only
 * data, sizes and shares their maps, loads, attaches, and hands every
 * ring-buffer record to one callback. Knows nothing of sinks.
 */
#ifndef ZCAP_LOADER_H
#define ZCAP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zcap_abi.h"

struct sock_filter;

typedef int (*loader_record_fn)(void *ctx, void *data, size_t len);

struct loader_opts {
	uint32_t snaplen;	/* bytes per call; UINT32_MAX = everything */
	bool want_payload;
	bool filter_pids;	/* only pids added with loader_trace_pid */
	const char *comms[ZCAP_MAX_COMMS]; /* --comm: these command names only */
	int ncomms;			   /* 0: any */
	bool filter_port;		   /* --port: sockets with a port in port_set only */
	uint8_t port_set[65536 / 8];	   /* bit (p & 7) of byte p >> 3: port p */
	uint16_t fd_kinds;		   /* 1 << enum zcap_fd_kind of fds shown; 0: all */
	uint32_t ifindex;		   /* packets of this interface only; 0: all */
	/* packets matching this classic BPF program only (a pcap filter
	 * expression, user/pktfilter.c); NULL: all */
	const struct sock_filter *pkt_filter;
	unsigned int pkt_filter_len;
	bool filter_cgroup;		   /* --cgroup: tasks and sockets in cgroup_id or below */
	uint64_t cgroup_id;
	uint32_t cgroup_level;		   /* cgroup_id's depth below the cgroup2 root */
	uint64_t ringbuf_bytes; /* rounded up to a power of two */
	uint32_t map_entries;	/* per-thread/per-process maps; 0: their defaults */
	/* zero-copy send path (user/part_zerocopy.c) */
	const char *send_hook;	/* "auto", "kprobe", "fentry", "tracepoint" */
	bool no_send_path;	/* do not load the send-path part */
	bool test_bad_page_base; /* test only: force a wrong direct-map base */
	bool want_fs;		/* lineage part (user/part_fs.c): fs changes, mmap, io_uring */
	bool want_packets;	/* packet part (user/part_skb.c): cgroup_skb, ZCAP_EV_PKT */
	pid_t pkt_cgroup_pid;	/* > 0: capture packets of a child cgroup this pid is moved into */
	bool quiet_optional;	/* features disabled on this kernel: collect (loader_disabled),
				 * do not warn */
	loader_record_fn on_record;
	void *ctx;
};

struct loader;

/* What a capture needs before anything is created or loaded: kernel BTF
 * and tracefs (mounted if need be). 0, or -errno with one line printed. */
int loader_preflight(void);

/* The kernel BTF to use: $ZCAP_BTF_PATH (a test/debug override), else
 * NULL for libbpf's default (/sys/kernel/btf/vmlinux). */
const char *zcap_btf_path(void);

/* 0, or a negative errno with one line already printed. */
int loader_open(struct loader **out, const struct loader_opts *o);
int loader_trace_pid(struct loader *l, pid_t pid);
/* How many traced processes (-- CMD and its descendants) are still alive. */
int loader_traced_alive(struct loader *l);
/* Wait up to timeout_ms for records and deliver them; count or -errno. */
int loader_poll(struct loader *l, int timeout_ms);
/* Deliver whatever is in the ring now. */
int loader_drain(struct loader *l);
void loader_drops(const struct loader *l, uint64_t out[ZCAP_DROP_MAX]);
/* IO records whose fd details the kernel took from its per-connection
 * cache, and those it walked (kern/syscalls.bpf.c); zeros without it. */
void loader_fd_details(const struct loader *l, uint64_t out[ZCAP_FDD_MAX]);
/* The loss counters' map fd (for -Z: can another user still read it?). */
int loader_drops_fd(const struct loader *l);
/* Packets lost per interface so far (packet part): fn(ctx, ifindex, lost). */
typedef void (*loader_pkt_lost_fn)(void *ctx, uint32_t ifindex, uint64_t lost);
void loader_pkt_lost(const struct loader *l, loader_pkt_lost_fn fn, void *ctx);
/* The sock_owner map's fd (packet output: kern/common.bpf.h), -1 if none:
 * userspace names the owners of sockets older than the capture there. */
int loader_sock_owner_fd(const struct loader *l);
/* Features disabled because their programs do not load here, "" if none:
 * "io_uring lineage (rtp_uring_complete: Invalid argument); ..." */
const char *loader_disabled(const struct loader *l);
/* Short description of the hooks attached, e.g. "tracepoint:syscalls". */
const char *loader_hooks(const struct loader *l);
void loader_close(struct loader *l);

/* Install the libbpf print callback (quiet unless verbose). */
void loader_setup_libbpf(int verbose);

#endif
