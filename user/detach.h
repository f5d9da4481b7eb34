/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef ZCAP_DETACH_H
#define ZCAP_DETACH_H

#include <bpf/libbpf.h>

/* Destroy every attached link of a skeleton at once, from several
 * threads. Each tracepoint detach waits for an RCU grace period (~80 ms
 * measured here); concurrent waiters share grace periods, so detaching
 * ~70 syscall tracepoints takes about one period instead of seconds. */
void skel_detach_parallel(struct bpf_object_skeleton *s);

#endif
