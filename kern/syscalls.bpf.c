// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * User-buffer I/O and the fd/process life cycle, from syscall tracepoints.
 *
 * sys_enter_* saves the arguments per thread; sys_exit_* knows how many
 * bytes moved (the return value) and reads exactly those from the user
 * buffers, walking every iovec, in ZCAP_CHUNK-sized records of one call.
 */
#include "common.bpf.h"
#include "fs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define F_DUPFD		0
#define F_DUPFD_CLOEXEC 1030

/* Send one chunk of the walk; n bytes from user address src. */
static __always_inline void emit_chunk(struct zcap_io *ev, struct walk *w, __u64 src, __u64 n)
{
	__u8 *data = (__u8 *)(ev + 1);
	__u8 flags = 0;
	__u32 len = 0;

	if (n > ZCAP_CHUNK)
		n = ZCAP_CHUNK;
	if (w->off == 0)
		flags |= ZCAP_F_FIRST;
	if (n >= w->left) {
		flags |= ZCAP_F_LAST | w->last_flags;
		w->done = 1;
	}
	if (n && bpf_probe_read_user(data, n, (void *)src) == 0) {
		len = n;
	} else if (n) {
		flags |= ZCAP_F_FAULT;
		count_drop(ZCAP_DROP_FAULT);
	}
	ev->chunk_off = w->off;
	ev->flags = flags | (ev->flags & ZCAP_F_ADDR_ARG);
	ev->h.data_len = len;
	submit(ev, sizeof(*ev) + len);
	w->off += n;
	w->left -= n;
}

ZCAP_LOOP_STEP(walk_step)
static long walk_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct walk *w;
	__u64 n;

	if (!s)
		return 1;
	w = &s->walk;
	if (w->left == 0)
		return 1;
	if (w->seg_left == 0) {
		struct iovec v;

		if (!w->iov || w->iov_idx >= w->iov_cnt)
			return 1;
		if (bpf_probe_read_user(&v, sizeof(v), (struct iovec *)w->iov + w->iov_idx)) {
			count_drop(ZCAP_DROP_FAULT);
			return 1;
		}
		w->iov_idx++;
		w->seg_base = (__u64)v.iov_base;
		w->seg_left = v.iov_len;
		/* its first chunk in the same turn: turns = iovecs + chunks */
		if (!w->seg_left)
			return 0;
	}
	n = w->seg_left;
	if (n > w->left)
		n = w->left;
	if (n > ZCAP_CHUNK)
		n = ZCAP_CHUNK;
	emit_chunk((struct zcap_io *)s->buf, w, w->seg_base, n);
	w->seg_base += n;
	w->seg_left -= n;
	return 0;
}

/*
 * Capture `moved` bytes of one call/message from a single buffer (iov == 0)
 * or an iovec array, up to the snaplen, then make sure a LAST chunk went
 * out (a call that moved nothing is one empty FIRST|LAST record).
 */
static __always_inline void walk_payload(struct scratch_slot *s, struct zcap_io *ev, __u64 buf,
					 __u64 iov, __u64 iov_cnt, __s64 moved)
{
	struct walk *w = &s->walk;
	__u64 snap = cfg.snaplen;
	__u32 key = s->key;

	__builtin_memset(w, 0, sizeof(*w));
	ev->total_len = moved > 0 ? moved : 0;
	if (moved > 0 && cfg.want_payload) {
		w->left = (__u64)moved < snap ? (__u64)moved : snap;
		if (w->left < (__u64)moved)
			w->last_flags |= ZCAP_F_TRUNC;
		if (iov) {
			if (iov_cnt > ZCAP_IOV_MAX) {
				iov_cnt = ZCAP_IOV_MAX;
				w->last_flags |= ZCAP_F_IOV_LIMIT;
			}
			w->iov = iov;
			w->iov_cnt = iov_cnt;
		} else {
			w->seg_base = buf;
			w->seg_left = w->left;
		}
		zcap_loop((w->left / ZCAP_CHUNK) + 2 * iov_cnt + 2, walk_step, &key);
	} else if (moved > 0) {
		w->last_flags |= ZCAP_F_TRUNC;
	}
	if (!w->done) {
		/* the walk stopped before the bytes did: the bounded build's turn
		 * limit (or iovecs that ended early); flagged and counted */
		if (w->left)
			w->last_flags |= ZCAP_F_TRUNC | ZCAP_F_IOV_LIMIT;
		ev->chunk_off = w->off;
		ev->flags = (w->off == 0 ? ZCAP_F_FIRST : 0) | ZCAP_F_LAST | w->last_flags |
			    (ev->flags & ZCAP_F_ADDR_ARG);
		ev->h.data_len = 0;
		submit(ev, sizeof(*ev));
	}
}

/* A sockaddr argument (sendto/recvfrom/msg_name) names the peer of an
 * unconnected socket better than the socket does. */
static __always_inline void peer_from_sockaddr(struct zcap_io *ev, __u64 uaddr)
{
	struct sockaddr_in6 sa = {};

	if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), (void *)uaddr))
		return;
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *sin = (void *)&sa;

		__builtin_memset(ev->f.raddr, 0, sizeof(ev->f.raddr));
		__builtin_memcpy(ev->f.raddr, &sin->sin_addr, 4);
		ev->f.rport = bpf_ntohs(sin->sin_port);
		ev->flags |= ZCAP_F_ADDR_ARG;
	} else if (sa.sin6_family == AF_INET6) {
		__builtin_memcpy(ev->f.raddr, &sa.sin6_addr, 16);
		ev->f.rport = bpf_ntohs(sa.sin6_port);
		ev->flags |= ZCAP_F_ADDR_ARG;
	}
}

/* Every TCP state change: the socket's cached details may be stale now. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(rtp_sock_state, struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&fd_details, &key);
	return 0;
}

/* Fill the fixed part of an IO record; false when the fd is filtered out. */
static __always_inline bool io_begin(struct zcap_io *ev, struct inflight *in, __u16 sc, __u8 dir,
				     __s64 ret)
{
	int fd = (int)in->args[0];

	fill_hdr(&ev->h, ZCAP_EV_IO, sizeof(*ev));
	fill_fd_details(&ev->f, fd);
	if (!fd_wanted(&ev->f))
		return false;
	ev->call_id = in->call_id;
	ev->ret = ret;
	ev->file_off = -1;
	ev->syscall = sc;
	ev->dir = dir;
	ev->flags = 0;
	ev->fd = fd;
	ev->msg_idx = 0;
	ev->_pad = 0;
	return true;
}

/* One msghdr's worth: address, then its iovecs. */
static __always_inline void emit_msghdr(struct scratch_slot *s, struct zcap_io *ev, __u64 umsg,
					__s64 moved)
{
	struct user_msghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), (void *)umsg)) {
		count_drop(ZCAP_DROP_FAULT);
		walk_payload(s, ev, 0, 0, 0, 0);
		return;
	}
	if (m.msg_name)
		peer_from_sockaddr(ev, (__u64)m.msg_name);
	walk_payload(s, ev, 0, (__u64)m.msg_iov, m.msg_iovlen, moved);
}

/* One message of sendmmsg/recvmmsg (s->mmsg_vec, s->mmsg_n messages). */
ZCAP_LOOP_STEP(mmsg_step)
static long mmsg_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct zcap_io *ev;
	struct mmsghdr mh = {};

	if (!s || i >= s->mmsg_n)
		return 1;
	ev = (struct zcap_io *)s->buf;
	if (bpf_probe_read_user(&mh, sizeof(mh), (struct mmsghdr *)s->mmsg_vec + i)) {
		count_drop(ZCAP_DROP_FAULT);
		return 1;
	}
	ev->msg_idx = i;
	ev->flags = 0;
	if (mh.msg_hdr.msg_name)
		peer_from_sockaddr(ev, (__u64)mh.msg_hdr.msg_name);
	walk_payload(s, ev, 0, (__u64)mh.msg_hdr.msg_iov, mh.msg_hdr.msg_iovlen, mh.msg_len);
	return 0;
}

static __always_inline int io_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc, __u8 dir)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_io *ev;
	__s64 ret = ctx->args[1];

	if (!take_inflight(sc, &in))
		return 0;
	/* packet output: the packets carry the bytes; a socket's first send
	 * names its owner (an unbound UDP socket is bound by it, after its
	 * first datagram left: the record, without payload, names that one
	 * in userspace, user/pktattr.c) */
	if (cfg.pkt_owners) {
		struct zcap_fdinfo f;

		if (ret < 0 || !fill_fd_info(&f, (int)in.args[0]) ||
		    !sock_owner_note_flags(&f, (int)in.args[0], BPF_NOEXIST))
			return 0;
	}
	s = slot_get();
	if (!s)
		return 0;
	ev = (struct zcap_io *)s->buf;
	if (!io_begin(ev, &in, sc, dir, ret))
		goto out;

	switch (sc) {
	case ZCAP_SYS_READ:
	case ZCAP_SYS_WRITE:
		walk_payload(s, ev, in.args[1], 0, 0, ret);
		break;
	case ZCAP_SYS_PREAD64:
	case ZCAP_SYS_PWRITE64:
		ev->file_off = in.args[3];
		walk_payload(s, ev, in.args[1], 0, 0, ret);
		break;
	case ZCAP_SYS_READV:
	case ZCAP_SYS_WRITEV:
		walk_payload(s, ev, 0, in.args[1], in.args[2], ret);
		break;
	case ZCAP_SYS_PREADV:
	case ZCAP_SYS_PWRITEV:
	case ZCAP_SYS_PREADV2:
	case ZCAP_SYS_PWRITEV2:
		ev->file_off = in.args[3];
		walk_payload(s, ev, 0, in.args[1], in.args[2], ret);
		break;
	case ZCAP_SYS_SENDTO:
		peer_from_sockaddr(ev, in.args[4]);
		walk_payload(s, ev, in.args[1], 0, 0, ret);
		break;
	case ZCAP_SYS_RECVFROM:
		if (ret >= 0)
			peer_from_sockaddr(ev, in.args[4]);
		walk_payload(s, ev, in.args[1], 0, 0, ret);
		break;
	case ZCAP_SYS_SENDMSG:
	case ZCAP_SYS_RECVMSG:
		emit_msghdr(s, ev, in.args[1], ret);
		break;
	case ZCAP_SYS_SENDMMSG:
	case ZCAP_SYS_RECVMMSG: {
		__u32 key = s->key;

		if (ret <= 0) {
			walk_payload(s, ev, 0, 0, 0, ret);
			break;
		}
		s->mmsg_vec = in.args[1];
		s->mmsg_n = ret > ZCAP_MMSG_MAX ? ZCAP_MMSG_MAX : ret; /* the rest counted as lost */
		if ((__u64)ret > ZCAP_MMSG_MAX)
			count_drop(ZCAP_DROP_MAPFULL);
		zcap_loop(s->mmsg_n, mmsg_step, &key);
		break;
	}
	}
out:
	slot_put(s);
	return 0;
}

/* ---- fd life cycle ---------------------------------------------------- */

static __always_inline struct zcap_fd_ev *fd_begin(struct scratch_slot *s, __u16 sc, __s64 ret,
						   int fd, int fd2)
{
	struct zcap_fd_ev *ev = (struct zcap_fd_ev *)s->buf;

	fill_hdr(&ev->h, ZCAP_EV_FD, sizeof(*ev));
	__builtin_memset(&ev->f2, 0, sizeof(ev->f2));
	ev->ret = ret;
	ev->syscall = sc;
	ev->ev_flags = 0;
	ev->fd = fd;
	ev->fd2 = fd2;
	ev->oflags = 0;
	ev->mode = 0;
	ev->peer_pid = 0;
	ev->backlog = 0;
	ev->addr_len = 0;
	ev->lname_len = 0;
	ev->pname_len = 0;
	ev->_pad = 0;
	ev->_pad2 = 0;
	return ev;
}

/* arg_port: the port of the call's own sockaddr (connect/bind), which
 * --port matches too: a refused connect's socket has no peer left. */
static __always_inline void fd_submit_port(struct zcap_fd_ev *ev, __u16 arg_port)
{
	if (!fd_wanted(&ev->f) && !fd_wanted(&ev->f2) &&
	    !(cfg.filter_port && arg_port && port_selected(arg_port) &&
	      (!cfg.fd_kinds || (cfg.fd_kinds & (1u << (ev->f.kind & 15))))))
		return;
	submit(ev, sizeof(*ev) + (ev->h.data_len & (ZCAP_PATH_MAX - 1)));
}

static __always_inline void fd_submit(struct zcap_fd_ev *ev)
{
	fd_submit_port(ev, 0);
}

/* The sun_path bytes of a unix socket's bound name (an abstract name
 * starts with a NUL; a path keeps the kernel's trailing NUL), at most
 * ZCAP_SOCKSTR_MAX, to dst; their count. */
static __always_inline __u32 unix_name(struct sock *sk, char *dst)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	int len;

	if (!ua)
		return 0;
	len = BPF_CORE_READ(ua, len) - 2; /* the address's sun_family */
	if (len <= 0)
		return 0;
	if (len > ZCAP_SOCKSTR_MAX)
		len = ZCAP_SOCKSTR_MAX;
	barrier_var(len);
	len &= 2 * ZCAP_SOCKSTR_MAX - 1;
	if (bpf_probe_read_kernel(dst, len,
				  (char *)ua + bpf_core_field_offset(struct unix_address, name) + 2))
		return 0;
	return len;
}

/*
 * Unix socket facts of an fd record's socket f (file): its name, its
 * peer's name (after the call's sockaddr, at data + ev->addr_len) and the
 * pid SO_PEERCRED would give (sk_peer_pid, set by connect, accept and
 * socketpair; a listener's own is no peer and not reported).
 */
static __always_inline void unix_facts(struct zcap_fd_ev *ev, struct file *file)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct sock *peer;
	char *data = (char *)(ev + 1);
	__u32 off = ev->addr_len & (ZCAP_SOCKSTR_MAX - 1);

	if (!sk)
		return;
	ev->lname_len = unix_name(sk, data + off);
	off += ev->lname_len & (2 * ZCAP_SOCKSTR_MAX - 1);
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	if (peer) {
		struct pid *pid = BPF_CORE_READ(sk, sk_peer_pid);

		ev->pname_len = unix_name(peer, data + (off & (4 * ZCAP_SOCKSTR_MAX - 1)));
		if (pid)
			ev->peer_pid = BPF_CORE_READ(pid, numbers[0].nr);
	}
	ev->h.data_len = ev->addr_len + ev->lname_len + ev->pname_len;
}

static __always_inline int open_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_fd_ev *ev;
	struct file *file = NULL;
	__s64 ret = ctx->args[1];
	__u64 upath;
	char *data;
	int dirfd = -100; /* AT_FDCWD */
	long n = -1;

	if (!take_inflight(sc, &in))
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = fd_begin(s, sc, ret, ret, 0);
	data = (char *)(ev + 1);
	switch (sc) {
	case ZCAP_SYS_OPEN:
		upath = in.args[0];
		ev->oflags = in.args[1];
		ev->mode = in.args[2];
		break;
	case ZCAP_SYS_CREAT:
		upath = in.args[0];
		ev->oflags = 01 | 0100 | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
		ev->mode = in.args[1];
		break;
	case ZCAP_SYS_OPENAT2: {
		struct open_how how = {};

		dirfd = in.args[0];
		upath = in.args[1];
		bpf_probe_read_user(&how, sizeof(how), (void *)in.args[2]);
		ev->oflags = how.flags;
		ev->mode = how.mode;
		break;
	}
	default: /* openat */
		dirfd = in.args[0];
		upath = in.args[1];
		ev->oflags = in.args[2];
		ev->mode = in.args[3];
	}
	ev->fd2 = dirfd;
	if (ret >= 0) {
		file = fill_fd_info(&ev->f, ret);
		if (file && (BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
			ev->ev_flags |= ZCAP_FD_CREATED;
		/* O_TRUNC: did the open discard data? (kern/fs.bpf.h; the
		 * lookup also forgets this thread's note, so it runs first) */
		if (file && open_discarded_data(ev->f.ino) && (ev->oflags & 01000))
			ev->ev_flags |= ZCAP_FD_NONEMPTY;
		/* --port, --fd-kinds: a file nobody asked for costs no path walk */
		if (!fd_wanted(&ev->f) && !fd_wanted(&ev->f2)) {
			slot_put(s);
			return 0;
		}
		if (file)
			n = file_path(s, file, sizeof(*ev));
	} else {
		__builtin_memset(&ev->f, 0, sizeof(ev->f));
	}
	if (n > 0) {
		ev->ev_flags |= ZCAP_FD_PATH_ABS;
	} else {
		n = bpf_probe_read_user_str(data, ZCAP_PATH_MAX, (void *)upath);
		n = n > 0 ? n - 1 : 0;
	}
	ev->h.data_len = n & (ZCAP_PATH_MAX - 1);
	fd_submit(ev);
	slot_put(s);
	return 0;
}

/* A sockaddr from user memory to the start of the record's data: its
 * length (at most ZCAP_SOCKSTR_MAX - 1: sockaddr_un is 110 bytes,
 * sockaddr_in6 28), 0 when unreadable. */
static __always_inline __u16 read_sockaddr(struct zcap_fd_ev *ev, __u64 uaddr, __u32 alen)
{
	if (!uaddr)
		return 0;
	if (alen > ZCAP_SOCKSTR_MAX - 1)
		alen = ZCAP_SOCKSTR_MAX - 1;
	barrier_var(alen); /* keep the mask: the verifier checks a copy otherwise */
	alen &= ZCAP_SOCKSTR_MAX - 1;
	if (!alen || bpf_probe_read_user(ev + 1, alen, (void *)uaddr))
		return 0;
	return alen;
}

/* Calls whose result is described by fd, fd2 and the fd table after it. */
static __always_inline int fd_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_fd_ev *ev;
	__s64 ret = ctx->args[1];
	int fds[2] = { -1, -1 };
	struct file *file = NULL;
	__u16 arg_port = 0;

	if (!take_inflight(sc, &in))
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = fd_begin(s, sc, ret, -1, -1);
	switch (sc) {
	case ZCAP_SYS_DUP:
	case ZCAP_SYS_FCNTL:
		ev->fd = ret;
		ev->fd2 = in.args[0];
		break;
	case ZCAP_SYS_DUP2:
	case ZCAP_SYS_DUP3:
		ev->fd = in.args[1];
		ev->fd2 = in.args[0];
		ev->oflags = sc == ZCAP_SYS_DUP3 ? in.args[2] : 0;
		break;
	case ZCAP_SYS_PIPE:
	case ZCAP_SYS_PIPE2:
	case ZCAP_SYS_SOCKETPAIR: {
		__u64 uptr = sc == ZCAP_SYS_SOCKETPAIR ? in.args[3] : in.args[0];

		if (ret == 0)
			bpf_probe_read_user(fds, sizeof(fds), (void *)uptr);
		ev->fd = fds[0];
		ev->fd2 = fds[1];
		if (sc == ZCAP_SYS_SOCKETPAIR) {
			ev->mode = in.args[0];
			ev->oflags = in.args[1];
		} else {
			ev->oflags = sc == ZCAP_SYS_PIPE2 ? in.args[1] : 0;
		}
		break;
	}
	case ZCAP_SYS_SOCKET:
		ev->fd = ret;
		ev->mode = in.args[0];
		ev->oflags = in.args[1];
		break;
	case ZCAP_SYS_ACCEPT:
	case ZCAP_SYS_ACCEPT4: {
		int alen = 0;

		ev->fd = ret;
		ev->fd2 = in.args[0];
		ev->oflags = sc == ZCAP_SYS_ACCEPT4 ? in.args[3] : 0;
		/* the peer's address as the kernel returned it, when asked for */
		if (ret >= 0 && in.args[1] && in.args[2] &&
		    bpf_probe_read_user(&alen, sizeof(alen), (void *)in.args[2]) == 0 && alen > 0)
			ev->addr_len = read_sockaddr(ev, in.args[1], alen);
		break;
	}
	case ZCAP_SYS_CONNECT:
	case ZCAP_SYS_BIND:
		ev->fd = in.args[0];
		ev->addr_len = read_sockaddr(ev, in.args[1], in.args[2]);
		/* sin_port and sin6_port are both at offset 2 */
		if (ev->addr_len >= 4) {
			__u8 *sa = (__u8 *)(ev + 1);
			__u16 family = sa[0] | sa[1] << 8;

			if (family == AF_INET || family == AF_INET6)
				arg_port = sa[2] << 8 | sa[3];
		}
		break;
	case ZCAP_SYS_LISTEN:
		ev->fd = in.args[0];
		ev->backlog = in.args[1];
		break;
	case ZCAP_SYS_CLOSE_RANGE:
		ev->fd = in.args[0];
		ev->fd2 = in.args[1];
		ev->oflags = in.args[2];
		break;
	}
	ev->h.data_len = ev->addr_len;
	/* a failed connect, bind or listen leaves its socket as it was */
	if (ev->fd >= 0 && (ret >= 0 || sc == ZCAP_SYS_CONNECT || sc == ZCAP_SYS_BIND ||
			    sc == ZCAP_SYS_LISTEN))
		file = fill_fd_info(&ev->f, ev->fd);
	else
		__builtin_memset(&ev->f, 0, sizeof(ev->f));
	/* packet output: packets from now on name their socket's owner in
	 * the kernel; the record names it for the handshake, sent before
	 * connect or accept returned (user/pktattr.c) */
	if (cfg.pkt_owners && file)
		sock_owner_note(&ev->f, ev->fd);
	if (file && ev->f.kind == ZCAP_FD_UNIX)
		unix_facts(ev, file);
	if (ev->fd2 >= 0 && sc != ZCAP_SYS_CLOSE_RANGE && sc != ZCAP_SYS_LISTEN)
		fill_fd_info(&ev->f2, ev->fd2);
	fd_submit_port(ev, arg_port);
	slot_put(s);
	return 0;
}

/* close: described at entry, while the fd still refers to something. */
ZCAP_SYSCALL_ENTER(close)
{
	struct scratch_slot *s;
	struct zcap_fd_ev *ev;
	int fd = enter_arg(ctx, 0);

	s = slot_get();
	if (!s)
		return 0;
	ev = fd_begin(s, ZCAP_SYS_CLOSE, 0, fd, -1);
	if (fill_fd_info(&ev->f, fd))
		fd_submit(ev);
	slot_put(s);
	return 0;
}

/* Packet output: a send on a bound UDP socket names its sender before the
 * datagram leaves (a socket one process bound and another sends on: the
 * one sending now). TCP sockets are named at connect and accept. */
static __always_inline int send_enter(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	if (cfg.pkt_owners) {
		int fd = enter_arg(ctx, 0);
		struct zcap_fdinfo f;

		if (fill_fd_info(&f, fd) && f.kind == ZCAP_FD_UDP)
			sock_owner_note(&f, fd);
	}
	return save_args(ctx, sc);
}

ZCAP_SYSCALL_ENTER(sendto)
{
	return send_enter(ctx, ZCAP_SYS_SENDTO);
}

ZCAP_SYSCALL_ENTER(sendmsg)
{
	return send_enter(ctx, ZCAP_SYS_SENDMSG);
}

ZCAP_SYSCALL_ENTER(sendmmsg)
{
	return send_enter(ctx, ZCAP_SYS_SENDMMSG);
}

/* fcntl: only the dup commands matter; skip the rest at entry. */
ZCAP_SYSCALL_ENTER(fcntl)
{
	__u64 cmd = enter_arg(ctx, 1);

	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return 0;
	return save_args(ctx, ZCAP_SYS_FCNTL);
}

ZCAP_SYSCALL_EXIT(fcntl)
{
	return fd_exit(ctx, ZCAP_SYS_FCNTL);
}

#define IO_SYSCALL(name, SC, DIR)                  \
	ZCAP_SYSCALL_EXIT(name)                    \
	{                                          \
		return io_exit(ctx, SC, DIR);      \
	}

#define FD_SYSCALL(name, SC, EXIT)                 \
	ZCAP_SYSCALL_EXIT(name)                    \
	{                                          \
		return EXIT(ctx, SC);              \
	}

IO_SYSCALL(read, ZCAP_SYS_READ, ZCAP_DIR_IN)
IO_SYSCALL(write, ZCAP_SYS_WRITE, ZCAP_DIR_OUT)
IO_SYSCALL(pread64, ZCAP_SYS_PREAD64, ZCAP_DIR_IN)
IO_SYSCALL(pwrite64, ZCAP_SYS_PWRITE64, ZCAP_DIR_OUT)
IO_SYSCALL(readv, ZCAP_SYS_READV, ZCAP_DIR_IN)
IO_SYSCALL(writev, ZCAP_SYS_WRITEV, ZCAP_DIR_OUT)
IO_SYSCALL(preadv, ZCAP_SYS_PREADV, ZCAP_DIR_IN)
IO_SYSCALL(pwritev, ZCAP_SYS_PWRITEV, ZCAP_DIR_OUT)
IO_SYSCALL(preadv2, ZCAP_SYS_PREADV2, ZCAP_DIR_IN)
IO_SYSCALL(pwritev2, ZCAP_SYS_PWRITEV2, ZCAP_DIR_OUT)
IO_SYSCALL(sendto, ZCAP_SYS_SENDTO, ZCAP_DIR_OUT)
IO_SYSCALL(recvfrom, ZCAP_SYS_RECVFROM, ZCAP_DIR_IN)
IO_SYSCALL(sendmsg, ZCAP_SYS_SENDMSG, ZCAP_DIR_OUT)
IO_SYSCALL(recvmsg, ZCAP_SYS_RECVMSG, ZCAP_DIR_IN)
IO_SYSCALL(sendmmsg, ZCAP_SYS_SENDMMSG, ZCAP_DIR_OUT)
IO_SYSCALL(recvmmsg, ZCAP_SYS_RECVMMSG, ZCAP_DIR_IN)

FD_SYSCALL(open, ZCAP_SYS_OPEN, open_exit)
FD_SYSCALL(openat, ZCAP_SYS_OPENAT, open_exit)
FD_SYSCALL(openat2, ZCAP_SYS_OPENAT2, open_exit)
FD_SYSCALL(creat, ZCAP_SYS_CREAT, open_exit)
FD_SYSCALL(close_range, ZCAP_SYS_CLOSE_RANGE, fd_exit)
FD_SYSCALL(dup, ZCAP_SYS_DUP, fd_exit)
FD_SYSCALL(dup2, ZCAP_SYS_DUP2, fd_exit)
FD_SYSCALL(dup3, ZCAP_SYS_DUP3, fd_exit)
FD_SYSCALL(pipe, ZCAP_SYS_PIPE, fd_exit)
FD_SYSCALL(pipe2, ZCAP_SYS_PIPE2, fd_exit)
FD_SYSCALL(socket, ZCAP_SYS_SOCKET, fd_exit)
FD_SYSCALL(socketpair, ZCAP_SYS_SOCKETPAIR, fd_exit)
FD_SYSCALL(accept, ZCAP_SYS_ACCEPT, fd_exit)
FD_SYSCALL(accept4, ZCAP_SYS_ACCEPT4, fd_exit)
FD_SYSCALL(connect, ZCAP_SYS_CONNECT, fd_exit)
FD_SYSCALL(bind, ZCAP_SYS_BIND, fd_exit)
FD_SYSCALL(listen, ZCAP_SYS_LISTEN, fd_exit)

/* Packet output's dispatch where the kernel has syscall tracepoints: only
 * the calls that name a socket's owner (user/part_syscalls.c). */
ZCAP_TP_PAIR(accept, ZCAP_SYS_ACCEPT, 3, save_args(ctx, ZCAP_SYS_ACCEPT),
	     fd_exit(ctx, ZCAP_SYS_ACCEPT))
ZCAP_TP_PAIR(accept4, ZCAP_SYS_ACCEPT4, 4, save_args(ctx, ZCAP_SYS_ACCEPT4),
	     fd_exit(ctx, ZCAP_SYS_ACCEPT4))
ZCAP_TP_PAIR(connect, ZCAP_SYS_CONNECT, 3, save_args(ctx, ZCAP_SYS_CONNECT),
	     fd_exit(ctx, ZCAP_SYS_CONNECT))
ZCAP_TP_PAIR(bind, ZCAP_SYS_BIND, 3, save_args(ctx, ZCAP_SYS_BIND),
	     fd_exit(ctx, ZCAP_SYS_BIND))
ZCAP_TP_PAIR(sendto, ZCAP_SYS_SENDTO, 6, send_enter(ctx, ZCAP_SYS_SENDTO),
	     io_exit(ctx, ZCAP_SYS_SENDTO, ZCAP_DIR_OUT))
ZCAP_TP_PAIR(sendmsg, ZCAP_SYS_SENDMSG, 3, send_enter(ctx, ZCAP_SYS_SENDMSG),
	     io_exit(ctx, ZCAP_SYS_SENDMSG, ZCAP_DIR_OUT))
ZCAP_TP_PAIR(sendmmsg, ZCAP_SYS_SENDMMSG, 4, send_enter(ctx, ZCAP_SYS_SENDMMSG),
	     io_exit(ctx, ZCAP_SYS_SENDMMSG, ZCAP_DIR_OUT))

/* ---- dispatch --------------------------------------------------------- */

SEC("raw_tp/sys_enter")
int zcap_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = ctx->args[1];
	__u32 *v = bpf_map_lookup_elem(&sys_of_nr, &nr);
	__u32 sc;

	if (!v || !*v || !want_current())
		return 0;
	sc = *v & 0xffff;
	if (port_checks_call(sc) && !fd_may_match_port(enter_arg(ctx, 0)))
		return 0;
	if (*v & ZCAP_NR_ENTER) {
		bpf_tail_call(ctx, &enter_progs, sc);
		return 0; /* no enter program loaded: nothing to save */
	}
	return save_args(ctx, sc);
}

SEC("raw_tp/sys_exit")
int zcap_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *pending = pending_bucket(tid);
	struct inflight *in;

	/* no call of this thread's bucket in flight: nearly every syscall */
	if (pending && !*pending)
		return 0;
	in = bpf_map_lookup_elem(&inflight, &tid);
	if (!in)
		return 0;
	if (!in->counted) {
		/* an earlier call's entry its exit program left behind: it
		 * says nothing about this call */
		bpf_map_delete_elem(&inflight, &tid);
		return 0;
	}
	in->counted = 0;
	if (pending)
		__sync_fetch_and_add(pending, -1);
	bpf_tail_call(ctx, &exit_progs, in->sc);
	bpf_map_delete_elem(&inflight, &tid); /* no exit program: forget it */
	return 0;
}

/* ---- process life cycle (raw tracepoints: no tracefs needed) ---------- */

SEC("raw_tp/sched_process_fork")
int BPF_PROG(rtp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct scratch_slot *s;
	struct zcap_proc_ev *ev;
	__u8 one = 1;

	if (cfg.filter_pids && ctgid != ptgid && bpf_map_lookup_elem(&traced_pids, &ptgid) &&
	    bpf_map_update_elem(&traced_pids, &ctgid, &one, BPF_ANY))
		count_drop(ZCAP_DROP_MAPFULL);
	/* --port, --fd-kinds ask for sockets: process events would be noise */
	if (!proc_wanted())
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = (struct zcap_proc_ev *)s->buf;
	fill_hdr(&ev->h, ZCAP_EV_PROC, sizeof(*ev));
	ev->syscall = ZCAP_SYS_FORK;
	ev->is_thread = ctgid == ptgid;
	ev->ppid = BPF_CORE_READ(parent, real_parent, tgid);
	ev->child_pid = ctgid;
	ev->child_tid = BPF_CORE_READ(child, pid);
	ev->exit_code = 0;
	ev->argv_len = 0;
	submit(ev, sizeof(*ev));
	slot_put(s);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(rtp_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch_slot *s;
	struct zcap_proc_ev *ev;
	__u64 start, end, len;
	char *data;
	long n;

	if (!proc_wanted())
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = (struct zcap_proc_ev *)s->buf;
	data = (char *)(ev + 1);
	fill_hdr(&ev->h, ZCAP_EV_PROC, sizeof(*ev));
	ev->syscall = ZCAP_SYS_EXEC;
	ev->is_thread = 0;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->child_pid = 0;
	ev->child_tid = 0;
	ev->exit_code = 0;
	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > ZCAP_ARGV_MAX - 1)
		len = ZCAP_ARGV_MAX - 1;
	if (len && bpf_probe_read_user(data, len, (void *)start))
		len = 0;
	ev->argv_len = len;
	n = bpf_probe_read_kernel_str(data + (len & (ZCAP_ARGV_MAX - 1)), ZCAP_PATH_MAX,
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		n = 0;
	ev->h.data_len = len + n;
	submit(ev, sizeof(*ev) + ((len + n) & (2 * ZCAP_PATH_MAX - 1)));
	slot_put(s);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(rtp_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct scratch_slot *s;
	struct zcap_proc_ev *ev;

	/* signal->live drops to 0 before the tracepoint for the last thread */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!proc_wanted())
		goto forget;
	s = slot_get();
	if (!s)
		goto forget;
	ev = (struct zcap_proc_ev *)s->buf;
	fill_hdr(&ev->h, ZCAP_EV_PROC, sizeof(*ev));
	ev->syscall = ZCAP_SYS_EXIT;
	ev->is_thread = 0;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->child_pid = 0;
	ev->child_tid = 0;
	ev->exit_code = BPF_CORE_READ(task, exit_code);
	ev->argv_len = 0;
	submit_now(ev, sizeof(*ev));
	slot_put(s);
forget:
	if (cfg.filter_pids)
		bpf_map_delete_elem(&traced_pids, &tgid);
	return 0;
}
