/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ZCAP_FD_NONEMPTY: did an O_TRUNC open throw data away? The open's exit
 * cannot tell (the size is 0 by then) and its entry cannot find the inode
 * without a path lookup, so the truncation itself is watched: while a
 * traced thread is inside an open-family call, kern/fs.bpf.c notes the
 * inode whose data the kernel discards (page-cache folios removed, ext4
 * blocks or delayed-allocation reservations freed) in this map, and the
 * open's exit (kern/syscalls.bpf.c) sets the flag when that inode is the
 * one it opened. Shared between the two objects by the loader.
 */
#ifndef ZCAP_FS_BPF_H
#define ZCAP_FS_BPF_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* i_ino whose data was discarded */
} trunc_ino SEC(".maps");

/* At an open's exit: forget this thread's note; true when it names ino. */
static __always_inline bool open_discarded_data(__u64 ino)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *seen = bpf_map_lookup_elem(&trunc_ino, &tid);
	bool hit;

	if (!seen)
		return false;
	hit = *seen == ino;
	bpf_map_delete_elem(&trunc_ino, &tid);
	return hit;
}

/* At a rename's exit: forget this thread's note; true when the call
 * discarded any inode's data (only the replaced target can be). */
static __always_inline bool call_discarded_data(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_delete_elem(&trunc_ino, &tid) == 0;
}

#endif /* ZCAP_FS_BPF_H */
