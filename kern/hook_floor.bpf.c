// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Two empty programs on the raw sys_enter/sys_exit tracepoints: what any
 * per-syscall hook costs every syscall before it does anything (`make
 * bench`, the "unrelated syscalls" row; tools/hook_floor.c loads it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tp/sys_enter")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int floor_exit(void *ctx)
{
	return 0;
}
