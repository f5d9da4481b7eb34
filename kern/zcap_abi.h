/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * zcap event ABI: the one header shared by the BPF programs (kern/) and
 * userspace (user/). Every record in the ring buffer starts with
 * struct zcap_hdr; hdr.type says which fixed part follows and hdr.data_len
 * how many variable bytes follow that fixed part. Documented in
 * docs/event-schema.md: change both together and bump ZCAP_ABI_VERSION.
 *
 * Fixed-width types only, explicit padding, no pointers: the layout is the
 * same for the BPF target and for x86-64/arm64 userspace.
 */
#ifndef ZCAP_ABI_H
#define ZCAP_ABI_H

#ifndef __bpf__
#include <linux/types.h> /* BPF programs get these types from vmlinux.h */
#endif

#define ZCAP_ABI_VERSION 4

#define ZCAP_COMM_LEN	 16
#define ZCAP_ADDR_LEN	 16 /* IPv6-sized; IPv4 uses the first 4 bytes */
/* Payload bytes carried by one record; larger transfers become several
 * records ("chunks") of one call, in order. Power of two: BPF masks with it. */
#define ZCAP_CHUNK	 32768
#define ZCAP_PATH_MAX	 4096
#define ZCAP_ARGV_MAX	 4096
#define ZCAP_IOV_MAX	 1024 /* UIO_MAXIOV */
#define ZCAP_MMSG_MAX	 64   /* messages walked per sendmmsg/recvmmsg */
#define ZCAP_BVEC_MAX	 64   /* bio_vec segments walked per send-path event */
/* Turns of one walk in the bounded-loop build (kernels without bpf_loop,
 * kern/common.bpf.h): a turn takes the next iovec or segment with its
 * first chunk, or one more chunk. 1024 iovecs and the 32 chunks of 1 MiB
 * fit; the verifier's limit on pending branches caps it at a few thousand. */
#define ZCAP_BOUNDED_TURNS 1100

enum zcap_ev_type {
	ZCAP_EV_IO = 1,	  /* payload chunk of a read/write-family call */
	ZCAP_EV_FD = 2,	  /* fd life cycle: open, close, dup, socket, ... */
	ZCAP_EV_PROC = 3, /* process life cycle: fork, exec, exit */
	ZCAP_EV_XFER = 4, /* zero-copy syscall metadata: sendfile, splice, ... */
	ZCAP_EV_SEND = 5, /* body chunk seen on the TCP send path */
	ZCAP_EV_PKT = 6,  /* IP packet from cgroup_skb */
	ZCAP_EV_FS = 7,	  /* namespace changes: rename, link, unlink, truncate, mmap */
	ZCAP_EV_TYPE_MAX,
};

/* Syscalls (and io_uring ops) by zcap's own stable numbering, not the
 * architecture's syscall numbers. */
/* A sys_of_nr value (kern/common.bpf.h): zcap's syscall number, plus this
 * flag when the call has an enter program of its own (the loader fills it). */
#define ZCAP_NR_ENTER 0x10000

enum zcap_syscall {
	ZCAP_SYS_NONE = 0,
	/* user-buffer I/O */
	ZCAP_SYS_READ,
	ZCAP_SYS_WRITE,
	ZCAP_SYS_PREAD64,
	ZCAP_SYS_PWRITE64,
	ZCAP_SYS_READV,
	ZCAP_SYS_WRITEV,
	ZCAP_SYS_PREADV,
	ZCAP_SYS_PWRITEV,
	ZCAP_SYS_PREADV2,
	ZCAP_SYS_PWRITEV2,
	ZCAP_SYS_SENDTO,
	ZCAP_SYS_RECVFROM,
	ZCAP_SYS_SENDMSG,
	ZCAP_SYS_RECVMSG,
	ZCAP_SYS_SENDMMSG,
	ZCAP_SYS_RECVMMSG,
	/* fd life cycle */
	ZCAP_SYS_OPEN,
	ZCAP_SYS_OPENAT,
	ZCAP_SYS_OPENAT2,
	ZCAP_SYS_CREAT,
	ZCAP_SYS_CLOSE,
	ZCAP_SYS_CLOSE_RANGE,
	ZCAP_SYS_DUP,
	ZCAP_SYS_DUP2,
	ZCAP_SYS_DUP3,
	ZCAP_SYS_FCNTL,
	ZCAP_SYS_PIPE,
	ZCAP_SYS_PIPE2,
	ZCAP_SYS_SOCKET,
	ZCAP_SYS_SOCKETPAIR,
	ZCAP_SYS_ACCEPT,
	ZCAP_SYS_ACCEPT4,
	ZCAP_SYS_CONNECT,
	ZCAP_SYS_BIND,
	/* zero-copy transfers */
	ZCAP_SYS_SENDFILE64,
	ZCAP_SYS_SPLICE,
	ZCAP_SYS_TEE,
	ZCAP_SYS_VMSPLICE,
	ZCAP_SYS_COPY_FILE_RANGE,
	/* namespace / content changes (lineage) */
	ZCAP_SYS_MMAP,
	ZCAP_SYS_TRUNCATE,
	ZCAP_SYS_FTRUNCATE,
	ZCAP_SYS_RENAME,
	ZCAP_SYS_RENAMEAT,
	ZCAP_SYS_RENAMEAT2,
	ZCAP_SYS_LINK,
	ZCAP_SYS_LINKAT,
	ZCAP_SYS_UNLINK,
	ZCAP_SYS_UNLINKAT,
	ZCAP_SYS_RMDIR,
	ZCAP_SYS_MKDIR,
	ZCAP_SYS_MKDIRAT,
	ZCAP_SYS_SYMLINK,
	ZCAP_SYS_SYMLINKAT,
	/* io_uring operations (issued without a syscall of their own) */
	ZCAP_SYS_IOURING,
	/* process life cycle (ZCAP_EV_PROC) */
	ZCAP_SYS_FORK,
	ZCAP_SYS_EXEC,
	ZCAP_SYS_EXIT,
	/* added in ABI 3, at the end so that earlier numbers stay */
	ZCAP_SYS_LISTEN,
	ZCAP_SYS_MAX,
};

enum zcap_dir {
	ZCAP_DIR_NONE = 0,
	ZCAP_DIR_IN = 1,  /* data flowed into the process (read, recv) */
	ZCAP_DIR_OUT = 2, /* data flowed out of the process (write, send) */
};

enum zcap_fd_kind {
	ZCAP_FD_UNKNOWN = 0, /* fd not open (any more) when inspected */
	ZCAP_FD_FILE,	     /* regular file */
	ZCAP_FD_DIR,
	ZCAP_FD_PIPE, /* pipe or FIFO */
	ZCAP_FD_TCP,
	ZCAP_FD_UDP,
	ZCAP_FD_UNIX,
	ZCAP_FD_SOCK_OTHER, /* netlink, raw, ... */
	ZCAP_FD_CHR,	    /* tty, /dev/null, ... */
	ZCAP_FD_OTHER,	    /* eventfd, epoll, anon inodes, block devices */
	ZCAP_FD_KIND_MAX,
};

/* Why an event was lost; per-CPU counters in the "drops" map. */
enum zcap_drop_cause {
	ZCAP_DROP_RINGBUF = 0, /* ring buffer full */
	ZCAP_DROP_MAPFULL = 1, /* in-flight/filter map full */
	ZCAP_DROP_FAULT = 2,   /* user or kernel memory could not be read */
	ZCAP_DROP_MAX,
};

/* Slots of the fd_details_stats map (kern/common.bpf.h): fds of IO and
 * transfer records described from the per-connection cache, and walked. */
enum zcap_fd_details_stat {
	ZCAP_FDD_CACHED = 0,
	ZCAP_FDD_WALKED = 1,
	ZCAP_FDD_MAX,
};

/* struct zcap_io.flags (also used by zcap_send) */
#define ZCAP_F_FIRST	  0x01 /* first chunk of this call/message */
#define ZCAP_F_LAST	  0x02 /* last chunk of this call/message */
#define ZCAP_F_TRUNC	  0x04 /* fewer bytes captured than transferred (snaplen) */
#define ZCAP_F_FAULT	  0x08 /* payload read failed: data_len bytes are missing */
#define ZCAP_F_ADDR_ARG	  0x10 /* raddr/rport come from the call's sockaddr argument */
#define ZCAP_F_IOV_LIMIT  0x20 /* the iovec walk stopped at its limit: truncated */
#define ZCAP_F_NOCONTENT  0x40 /* body bytes deliberately not captured (self-test failed) */

/*
 * What an fd referred to when the event was generated, read from the
 * task's fd table in the kernel (so dup, fork and threads need no tracking).
 * Files are named by (dev, ino): userspace maps those to paths from open
 * events, or /proc for files opened before the capture started.
 */
struct zcap_fdinfo {
	__u8 kind;   /* enum zcap_fd_kind */
	__u8 family; /* AF_INET, AF_INET6, AF_UNIX, ... for sockets */
	__u16 lport; /* host byte order */
	__u16 rport; /* host byte order */
	__u8 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u8 fi_flags;	/* ZCAP_FI_* */
	__u32 dev;	/* st_dev in kernel encoding (MAJOR<<20 | MINOR) */
	__u32 flags;	/* f_flags of the open file (O_ACCMODE, O_APPEND, ...) */
	__u64 ino;	/* inode number; pipes and sockets have one too */
	__u64 peer_ino; /* unix stream peer's socket inode, 0 if none */
	__u8 laddr[ZCAP_ADDR_LEN];
	__u8 raddr[ZCAP_ADDR_LEN];
};

/* struct zcap_fdinfo.fi_flags. DELETED: the file's name is gone (unlinked,
 * or O_TMPFILE), where /proc/PID/fd says "(deleted)". */
#define ZCAP_FI_DELETED 0x01

struct zcap_hdr {
	__u16 type;	/* enum zcap_ev_type */
	__u16 hdr_len;	/* bytes from the start of the record to the data */
	__u32 data_len; /* variable bytes following the fixed part */
	__u64 ts_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid;	/* thread group id */
	__u32 tid;
	char comm[ZCAP_COMM_LEN];
	/* cgroup v2 id (the cgroup directory's inode number and file handle)
	 * of the task (bpf_get_current_cgroup_id), for packets of the socket
	 * (bpf_skb_cgroup_id; 0 when the packet has no full socket) */
	__u64 cgroup_id;
};

/*
 * ZCAP_EV_IO: one chunk of the bytes a read/write-family call moved.
 * A call (or, for sendmmsg/recvmmsg, one message) is one or more chunks
 * sharing call_id and msg_idx, in order, FIRST on the first, LAST on the
 * last. A call that moved no bytes (or failed) is one FIRST|LAST chunk
 * with data_len 0 and ret <= 0.
 */
struct zcap_io {
	struct zcap_hdr h;
	struct zcap_fdinfo f;
	__u64 call_id;	 /* unique per call, system-wide */
	__s64 ret;	 /* syscall return value */
	__u64 total_len; /* bytes moved by this call/message */
	__u64 chunk_off; /* offset of data[0] within those bytes */
	__s64 file_off;	 /* pread/pwrite/preadv offset, -1 when none */
	__u16 syscall;	 /* enum zcap_syscall */
	__u8 dir;	 /* enum zcap_dir */
	__u8 flags;	 /* ZCAP_F_* */
	__s32 fd;
	__u32 msg_idx; /* message index for sendmmsg/recvmmsg, else 0 */
	__u32 _pad;
	/* __u8 data[h.data_len] follows */
};

/*
 * ZCAP_EV_FD: the fd life cycle. Which fields mean what depends on the
 * call; the fd table after the call is described by f (for fd) and f2
 * (for fd2). data holds the path for open-family calls: the absolute path
 * from the kernel's dentry walk when ZCAP_FD_PATH_ABS, else the string the
 * process passed (relative to dirfd/cwd).
 */
struct zcap_fd_ev {
	struct zcap_hdr h;
	struct zcap_fdinfo f;
	struct zcap_fdinfo f2;
	__s64 ret;
	__u16 syscall;	/* enum zcap_syscall */
	__u16 ev_flags; /* ZCAP_FD_* below */
	/* open: new fd, dirfd; dup*: new fd, old fd; pipe/socketpair: the two
	 * fds; accept: new fd, listening fd; connect/bind/close: fd, -1;
	 * close_range: first, last (as unsigned, ~0U = all); fcntl: new fd, old fd */
	__s32 fd;
	__s32 fd2;
	__u32 oflags; /* open flags, socket type, dup3/pipe2/accept4 flags */
	__u32 mode;   /* open mode; socket domain for socket/socketpair */
	/* Sockets (connect, bind, listen, accept, accept4, socketpair). Their
	 * data is three byte strings, one after the other: the call's sockaddr
	 * (addr_len bytes), then, for a unix socket f, its own name and its
	 * peer's name (sun_path bytes as the kernel holds them; an abstract
	 * name starts with a NUL). */
	__u32 peer_pid;	 /* unix: the peer's pid as SO_PEERCRED gives it, 0 none */
	__s32 backlog;	 /* listen: the backlog argument */
	__u16 addr_len;	 /* connect/bind: the address argument; accept: the peer as returned */
	__u16 lname_len; /* f's own unix name (bind path, or the listener's for accepted ones) */
	__u16 pname_len; /* the unix peer's name */
	__u16 _pad;
	__u32 _pad2;
	/* path (open family), or the socket strings above, follows */
};

#define ZCAP_SOCKSTR_MAX 128 /* bytes per socket string (sockaddr_un is 110) */

#define ZCAP_FD_PATH_ABS 0x01 /* data is the kernel-resolved absolute path */
#define ZCAP_FD_CREATED	 0x02 /* open created the file (O_CREAT and it did not exist) */
#define ZCAP_FD_NONEMPTY 0x04 /* the file had data before the open (for O_TRUNC) */

/*
 * ZCAP_EV_PROC: fork (pid = parent tgid, child_pid/child_tid = child),
 * exec (data = argv, NUL-separated; then a NUL and the filename),
 * exit (exit_code as wait(2) status, only for the last thread of a group).
 */
struct zcap_proc_ev {
	struct zcap_hdr h;
	__u16 syscall; /* ZCAP_SYS_FORK / EXEC / EXIT */
	__u16 is_thread;
	__u32 ppid;
	__u32 child_pid;
	__u32 child_tid;
	__s32 exit_code;
	__u32 argv_len; /* bytes of argv in data; the filename follows */
};

/*
 * ZCAP_EV_XFER: metadata of a zero-copy transfer (sendfile, splice, tee,
 * vmsplice, copy_file_range): both ends and the result. Body bytes arrive
 * separately as ZCAP_EV_SEND (socket destinations) or, for vmsplice, as
 * ZCAP_EV_IO chunks of the same call_id. off_in/off_out are the offsets the
 * call used: the value behind the offset pointer, or the fd's position
 * (then ZCAP_XF_*_POS is set); -1 for pipes and sockets. xflags: the
 * call's flags argument (splice/tee/vmsplice/copy_file_range) plus the
 * ZCAP_XF_* bits; for io_uring records the opcode.
 */
#define ZCAP_XF_IN_POS	0x10000000 /* off_in is in_fd's file position */
#define ZCAP_XF_OUT_POS 0x20000000 /* off_out is out_fd's file position */
#define ZCAP_XF_CONTEXT 0x40000000 /* hidden by the port filter, sent only for the
				    * stitcher (pipe origins, file names): not output */
struct zcap_xfer_ev {
	struct zcap_hdr h;
	struct zcap_fdinfo in;
	struct zcap_fdinfo out;
	__u64 call_id;
	__s64 ret;
	__s64 off_in;  /* offset read from (file side), -1 when the fd position */
	__s64 off_out; /* offset written to, -1 when the fd position */
	__u64 len;     /* requested length */
	__u16 syscall;
	__u16 _pad0;
	__s32 fd_in;
	__s32 fd_out;
	__u32 xflags;
};

/*
 * ZCAP_EV_SEND: body bytes read on the TCP send path (page-backed
 * ITER_BVEC sends such as sendfile/splice/io_uring; user-buffer sends only
 * when no syscall is in flight, i.e. io_uring). One socket send (message)
 * is FIRST and data chunks (total_len = bytes offered, chunk_off = offset
 * of data[0] in the message), then one end record: ZCAP_F_LAST, no data,
 * total_len = bytes the kernel accepted (0 on error). seq is the TCP
 * sequence number of data[0] (of the first byte for the end record).
 * src_*: data[0]'s page belongs to this file at this offset (page cache),
 * src_ino 0 when it is no file's page.
 */
struct zcap_send_ev {
	struct zcap_hdr h;
	struct zcap_fdinfo f;
	__u64 call_id; /* of the syscall in flight on this thread, 0 for none */
	__u64 total_len;
	__u64 chunk_off;
	__u32 seq;
	__u8 iter_type;
	__u8 flags; /* ZCAP_F_* */
	__u16 syscall; /* in flight; ZCAP_SYS_IOURING when none */
	__u64 src_ino;
	__s64 src_off;
	__u32 src_dev;
	__u32 _pad;
};

/* ZCAP_EV_PKT: an IP packet (no L2 header) from cgroup_skb. */
/*
 * Packet attribution (packet output): the process that owns an inet socket,
 * keyed by the socket's two ends as that process sees them (local first).
 * Written once per socket in process context (accept, connect, bind, and
 * UDP sends, kern/syscalls.bpf.c; sockets older than the capture by
 * userspace from /proc, user/sockseed.c) into the sock_owner map, and read
 * by the cgroup_skb programs for each packet: a packet leaves the kernel
 * with its sender and receiver named, whatever task the hook runs in.
 */
struct zcap_sock_key {
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 _pad;
	__u16 lport; /* host byte order */
	__u16 rport; /* host byte order; 0 with raddr all zero: unconnected */
	__u16 _pad2;
	/* IPv4 as ::ffff:a.b.c.d; the any address (0.0.0.0, ::) all zero */
	__u8 laddr[ZCAP_ADDR_LEN];
	__u8 raddr[ZCAP_ADDR_LEN];
};

struct zcap_sock_owner {
	__u32 pid; /* tgid */
	__u32 tid; /* the thread that accepted, connected, bound or sent */
	__s32 fd;  /* its fd for the socket; -1 when not known */
	__u32 _pad;
	char comm[ZCAP_COMM_LEN];
};

/* zcap_pkt_ev.owners */
enum {
	ZCAP_PKT_SND = 1 << 0, /* snd names the socket that sent the packet */
	ZCAP_PKT_RCV = 1 << 1, /* rcv names the socket that receives it (this host) */
	/* ...by its exact 4-tuple (else a listening or unconnected socket on
	 * that port: a handshake before accept() returned) */
	ZCAP_PKT_SND_EXACT = 1 << 2,
	ZCAP_PKT_RCV_EXACT = 1 << 3,
};

struct zcap_pkt_ev {
	struct zcap_hdr h; /* pid/tid/comm: 0 (see snd, rcv) */
	__u32 pkt_len;	   /* length on the wire (skb->len) */
	__u32 ifindex;
	__u8 dir;    /* enum zcap_dir: IN = ingress, OUT = egress */
	__u8 owners; /* ZCAP_PKT_SND | ZCAP_PKT_RCV: which of snd, rcv are set */
	/* 1: the loopback delivery (ingress passage) of the packet captured at
	 * its egress with this lo_id; only its first 128 bytes follow (the
	 * headers: all of it was sent at egress) */
	__u8 lo_delivered;
	__u8 _pad[5];
	__u64 sk_cookie; /* bpf_get_socket_cookie(), 0 when no socket */
	/* loopback: the identity of its IP and transport headers (the same at
	 * the egress and ingress hooks), 0 elsewhere */
	__u64 lo_id;
	/* the owners of its two ends, from the sock_owner map */
	struct zcap_sock_owner snd, rcv;
	/* packet bytes (from the IP header on) follow */
};

/* zcap_fs_ev.fs_flags */
enum {
	/* rename family: the call discarded an inode's data (the target it
	 * replaced, evicted in the call): the new name existed before */
	ZCAP_FS_REPLACED = 1 << 0,
};

/* ZCAP_EV_FS: rename/link (data = old path NUL new path), unlink/rmdir/
 * mkdir (data = path), truncate (path), ftruncate/mmap (fd in f),
 * symlink (data = link path NUL target as passed). */
struct zcap_fs_ev {
	struct zcap_hdr h;
	struct zcap_fdinfo f;
	__s64 ret;
	__u64 arg;     /* truncate length; mmap prot<<32 | flags */
	__u16 syscall;
	__u16 path_len; /* bytes of the first path in data */
	__s32 fd;
	__s32 dirfd;
	__s32 dirfd2;
	__u32 fs_flags; /* ZCAP_FS_* */
};

/* Filter and behaviour settings, set by the loader in each object's
 * read-only data before load. */
struct zcap_config {
	__u32 self_pid;	   /* zcap's own tgid: never captured */
	__u32 snaplen;	   /* bytes per call/message to capture; 0 = no payload */
	__u8 filter_pids;  /* only tgids in the traced_pids map (followed on fork) */
	__u8 filter_comm;  /* only tasks whose comm is a key of the comm_filter map */
	__u8 filter_port;  /* only socket events with lport or rport in port_set */
	__u8 want_payload; /* 0: metadata only */
	__u16 fd_kinds;	   /* 1 << enum zcap_fd_kind of the fds shown; 0 = all */
	__u16 _pad;
	__u32 ifindex;	   /* packets of this interface only; 0 = all */
	__u32 _pad3;
	/* page -> direct-map translation for send-path bodies */
	__u64 page_offset_base;
	__u64 vmemmap_base;
	__u8 bodies_ok; /* 0: self-test failed, sizes only */
	__u8 filter_cgroup; /* --cgroup: only tasks (sockets) in cgroup_id or below it */
	/* the task's ancestor cgroup read from struct cgroup (ancestor_ids[],
	 * before 6.1), where raw tracepoints may not call
	 * bpf_get_current_ancestor_cgroup_id (5.10) */
	__u8 cgroup_walk;
	/* packet output: syscall exits name sockets' owners in sock_owner
	 * and send no records of their own */
	__u8 pkt_owners;
	__u32 cgroup_level; /* depth of cgroup_id below the cgroup2 root (root = 0) */
	__u64 cgroup_id;
	/* --port: bit (p & 7) of byte p >> 3 set = port p wanted; a bitmap
	 * answers every port with one load, however many were given */
	__u8 port_set[65536 / 8];
};

/* Key of the comm_filter map (--comm): the name as bpf_get_current_comm
 * gives it, NUL-padded. */
struct zcap_comm_key {
	char comm[ZCAP_COMM_LEN];
};
#define ZCAP_MAX_COMMS 64

#endif /* ZCAP_ABI_H */
