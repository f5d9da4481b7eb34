/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What capturing needs of this process, checked before any BPF is touched
 * (record, lineage) and reported by `zcap doctor`:
 * - CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN counts for both): load tracing
 *   programs, read user and kernel memory;
 * - tracefs: readable (it is root-only: uid 0, or CAP_DAC_OVERRIDE /
 *   CAP_DAC_READ_SEARCH), and CAP_SYS_ADMIN to mount it when it is not;
 * - packet capture (pcap-ng) only: CAP_NET_ADMIN (or CAP_SYS_ADMIN) for
 *   cgroup_skb programs.
 * In practice: run as root.
 */
#ifndef ZCAP_PRIVS_H
#define ZCAP_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* true when nothing is missing; else false and `missing` holds what is,
 * as a comma-separated phrase ("CAP_BPF, CAP_PERFMON, ..."). */
bool privs_check(bool packets, char *missing, size_t len);

/* privs_check, printing the one-line error "permission denied: run as
 * root (missing ...)" when something is missing (for uid 0 without those
 * capabilities: "root here lacks ..."). */
bool privs_ok(bool packets);

#endif
