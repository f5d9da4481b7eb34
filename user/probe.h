/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime hook probing: which BPF hook types this kernel lets zcap load
 * and attach, found by trying each one (kern/probe.bpf.c), never from the
 * kernel version. Used by `zcap doctor`; the send path has its own,
 * stricter test (send_path.h).
 */
#ifndef ZCAP_PROBE_H
#define ZCAP_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum probe_hook {
	PROBE_KPROBE,	  /* kprobe on tcp_sendmsg */
	PROBE_FENTRY,	  /* fentry on tcp_sendmsg */
	PROBE_RAW_TP,	  /* raw tracepoint sys_enter */
	PROBE_TRACEPOINT, /* tracepoint syscalls/sys_enter_getpid (needs tracefs) */
	PROBE_CGROUP_SKB, /* cgroup_skb/egress at the cgroup2 root */
	PROBE_RINGBUF,	  /* BPF ring buffer map + helpers */
	PROBE_BPF_LOOP,	  /* bpf_loop helper */
	PROBE_NHOOKS,
};

struct hook_status {
	bool probed;	 /* false: not tried (e.g. no privileges) */
	bool ok;
	char why[192];	 /* why not; when ok, an optional detail */
};

struct hook_support {
	struct hook_status hook[PROBE_NHOOKS];

	/* Facts that need no privileges (probe_facts). */
	bool btf_ok;			/* kernel BTF found and parsed */
	bool btf_sysfs;			/* ... at /sys/kernel/btf/vmlinux */
	/* "none", "integrity", "confidentiality" from securityfs, else the
	 * floor set by the boot command line and kernel config; "" unknown */
	char lockdown[24];
	char cgroup2[PATH_MAX];		/* first cgroup2 mount; "" none */
	const char *tracefs;		/* mounted tracefs root or NULL */

	/* Set by probe_hooks. */
	bool tracefs_mounted;		/* probe_hooks mounted it */
	char tracefs_why[192];		/* why tracefs is unusable */
};

/* Fill the facts that need no privileges; clears everything else. */
void probe_facts(struct hook_support *hs);

/* probe_facts, then mount tracefs if needed (tracefs_mount) and try every
 * hook type: open kern/probe.bpf.c with only that program enabled, load,
 * attach, detach, destroy. libbpf stays quiet unless zcap_verbose.
 * Returns how many hook types work, or -errno when the probe object could
 * not be opened at all (every hook's why then says so). */
int probe_hooks(struct hook_support *hs);

/* Probe one hook type into hs->hook[h] (hs from probe_facts or
 * probe_hooks; the tracepoint probe needs hs->tracefs set). 0 when it
 * loads and attaches, else -errno with hs->hook[h].why saying why. */
int probe_hook(struct hook_support *hs, enum probe_hook h);

/* Short name of a hook type ("kprobe", "raw_tp", ...). */
const char *probe_hook_name(enum probe_hook h);

/* Parsers, public for the unit tests. */
/* The active mode in /sys/kernel/security/lockdown's text
 * ("none [integrity] confidentiality" -> "integrity"); false if none. */
bool probe_parse_lockdown(const char *text, char *out, size_t outlen);
/* The highest lockdown= level on a kernel command line (before "--");
 * false when it sets none. */
bool probe_cmdline_lockdown(const char *cmdline, char *out, size_t outlen);
/* Mount point of the first cgroup2 file system in a mounts(5)-format file;
 * false when there is none or the file cannot be read. */
bool probe_find_cgroup2(const char *mounts_path, char *out, size_t outlen);

#endif
