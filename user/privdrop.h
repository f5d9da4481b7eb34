/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `zcap record -Z USER`, as tcpdump has it: once the BPF programs are
 * attached, the maps and ring buffer open and the output file created,
 * zcap becomes USER (groups, gid, uid: no capability survives) for the
 * rest of the capture. What it still does then needs no privilege: it
 * reads the ring buffer (mmap'ed, epoll), writes the output it holds
 * open, reads the loss counters through the map fds it holds (the bpf()
 * syscall on an fd it has is not root-only since Linux 6.5, nor before
 * with kernel.unprivileged_bpf_disabled=0), and closes its fds, which
 * detaches everything. What needs root at the end is done by a process
 * that kept it: the child cgroup of `-o FILE.pcapng -- CMD` is removed
 * by its reaper (user/part_skb.c) once zcap has exited.
 */
#ifndef ZCAP_PRIVDROP_H
#define ZCAP_PRIVDROP_H

struct account;

/* Can USER still read the loss counters through map_fd? Tried in a
 * forked child that becomes USER. 0, or -errno with one line printed. */
int privdrop_check(const struct account *a, int map_fd);

/* Become USER for good and make sure root cannot be regained. 0, or
 * -errno with one line printed. */
int privdrop_now(const struct account *a);

#endif
