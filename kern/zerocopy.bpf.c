// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Zero-copy transfers (docs/zerocopy.md).
 *
 * 1. Syscall metadata (ZCAP_EV_XFER): sendfile, splice, tee, vmsplice and
 *    copy_file_range through the shared sys_enter/sys_exit dispatch. The
 *    enter program resolves the offsets the call will use (the value behind
 *    the offset pointer, or the file position), because both change by the
 *    exit. vmsplice's user iovecs are also sent as ZCAP_EV_IO chunks.
 * 2. Body bytes on the TCP send path (ZCAP_EV_SEND), wherever they come
 *    from: page-backed ITER_BVEC messages (sendfile, splice to a socket,
 *    io_uring) are read page by page through the kernel's direct map;
 *    user-buffer messages only when no syscall is in flight on the thread
 *    (io_uring), since the syscall capture has those bytes already.
 *    Three interchangeable hooks feed the same code: the tcp_sendmsg_locked
 *    tracepoint plus sock_send_length (the send's result), or a kprobe or
 *    fentry on tcp_sendmsg_locked plus its return. user/part_zerocopy.c
 *    enables one set.
 * 3. zc_read_kvar: reads one kernel variable for user space (test run), to
 *    learn page_offset_base/vmemmap_base when kallsyms names them.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user/part_zerocopy.c before load. */
const volatile __u32 zc_page_shift = 12;

#define O_ACCMODE 3
#define O_RDONLY  0
/* Segments walked per message: a 1 MiB pipe of 4 KiB pages is 256. */
#define ZC_SEGS_MAX 4096

/* ---- per-thread send state -------------------------------------------- */

/* The send being captured on a thread, between its first hook firing and
 * its result. The tracepoint fires once per loop iteration of
 * tcp_sendmsg_locked: only the first firing of a message walks it. */
struct zc_send {
	__u64 msg;  /* struct msghdr * of the message */
	__u64 sk;   /* struct sock * it goes to */
	__u64 left; /* bytes the iterator still held at the last firing */
	__u64 call_id;
	__u64 offered;	/* bytes the message held at its first firing */
	__u64 captured; /* bytes of it captured */
	__u64 budget;	/* snaplen left for the call before this message */
	__u32 seq;	/* write_seq at the first firing */
	__u16 sc;
	__u8 active;
	__u8 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct zc_send);
} zc_sends SEC(".maps");

/* State of a payload walk, one per scratch slot (same key), in map memory
 * so that loop steps converge in the verifier. */
struct zc_walk {
	__u64 vec;	/* next struct bio_vec / struct iovec */
	__u64 nr_segs;	/* segments left at vec */
	__u64 seg_page; /* BVEC: struct page * of the segment's first page */
	__u64 seg_poff; /* BVEC: offset of the next byte from seg_page's start */
	__u64 seg_addr; /* UBUF/IOVEC: address of the next byte */
	__u64 seg_left; /* bytes left in the current segment */
	__u64 skip;	/* bytes of the next segment already sent (iov_offset) */
	__u64 msg_left; /* bytes of the message not walked yet */
	__u64 cap_left; /* bytes still to capture */
	__u64 off;	/* offset of the next byte in the message */
	__u64 total;	/* IO walks: bytes the call moved */
	__u32 seq0;
	__u8 iter;     /* ZC_IT_* */
	__u8 user_vec; /* iovec array in user memory (vmsplice) */
	__u8 done;
	__u8 last_flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256); /* as many as scratch slots; set by user space */
	__type(key, __u32);
	__type(value, struct zc_walk);
} zc_walks SEC(".maps");

enum { ZC_IT_UBUF, ZC_IT_IOVEC, ZC_IT_BVEC, ZC_IT_OTHER };

/* Kernel variable read by zc_read_kvar. */
__u64 zc_kvar_value = 0;
__s64 zc_kvar_err = 0;

static __always_inline struct zc_walk *walk_of(struct scratch_slot *s)
{
	return bpf_map_lookup_elem(&zc_walks, &s->key);
}

/* ---- file paths, once per file ------------------------------------------ */

/* A file whose path a transfer record carried, and the name it had then:
 * its dentry, that dentry's parent and name hash (a rename changes them). */
struct path_key {
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct path_seen {
	__u64 dentry, parent, hash_len;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct path_key);
	__type(value, struct path_seen);
} xfer_paths SEC(".maps");

/* Has this file's path not been sent yet, or has its name changed since?
 * sendfile of the same file on every request walked its dentries each
 * time. (A renamed parent directory goes unnoticed: the old path stays.) */
static __always_inline bool path_news(struct file *file, const struct zcap_fdinfo *fi)
{
	struct path_key k = { .ino = fi->ino, .dev = fi->dev };
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct path_seen now = {
		.dentry = (__u64)d,
		.parent = (__u64)BPF_CORE_READ(d, d_parent),
		.hash_len = BPF_CORE_READ(d, d_name.hash_len),
	};
	struct path_seen *was = bpf_map_lookup_elem(&xfer_paths, &k);

	if (was && was->dentry == now.dentry && was->parent == now.parent &&
	    was->hash_len == now.hash_len)
		return false;
	bpf_map_update_elem(&xfer_paths, &k, &now, BPF_ANY);
	return true;
}

/* ---- socket identity from a struct sock -------------------------------- */

/* A TCP socket's two ends: what sock_owner is keyed by. */
static __always_inline void fill_sk_ends(struct zcap_fdinfo *fi, struct sock *sk)
{
	__builtin_memset(fi, 0, sizeof(*fi));
	if (!sk)
		return;
	fi->kind = ZCAP_FD_TCP;
	fi->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	fill_inet_addrs(fi, sk);
}

static __always_inline void fill_sk_info(struct zcap_fdinfo *fi, struct sock *sk)
{
	struct inode *inode;

	fill_sk_ends(fi, sk);
	if (!sk)
		return;
	fi->sock_type = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
	inode = BPF_CORE_READ(sk, sk_socket, file, f_inode);
	if (inode) {
		fi->ino = BPF_CORE_READ(inode, i_ino);
		fi->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	}
}

/* ---- pages -------------------------------------------------------------- */

/*
 * Which file and offset a page holds, from its folio's page-cache mapping
 * (sendfile and splice from files send page-cache pages). The mapping is
 * trusted only when its inode points back at it: a page that is not in a
 * page cache (anonymous, slab, page pool) overlays other data there.
 */
/* struct page before folios (5.16): the head page holds mapping and index */
struct page___prefolio {
	struct address_space *mapping;
	unsigned long index;
} __attribute__((preserve_access_index));

static __always_inline void page_origin(struct zcap_send_ev *ev, __u64 page, __u64 in_page)
{
	__u64 psize = bpf_core_type_size(struct page);
	struct address_space *mapping;
	struct inode *host;
	__u64 head = 0, first, index;

	ev->src_ino = 0;
	ev->src_off = -1;
	ev->src_dev = 0;
	if (!psize)
		return;
	if (bpf_probe_read_kernel(
		    &head, sizeof(head),
		    (void *)(page + bpf_core_field_offset(struct page, compound_head))))
		return;
	first = (head & 1) ? head - 1 : page; /* a tail page names its head */
	if (bpf_core_type_exists(struct folio)) {
		struct folio *folio = (void *)first;

		mapping = BPF_CORE_READ(folio, mapping);
		index = BPF_CORE_READ(folio, index);
	} else {
		struct page___prefolio *hp = (void *)first;

		mapping = BPF_CORE_READ(hp, mapping);
		index = BPF_CORE_READ(hp, index);
	}
	if (!mapping || ((__u64)mapping & 3)) /* none, anonymous, movable/KSM */
		return;
	host = BPF_CORE_READ(mapping, host);
	if (!host || BPF_CORE_READ(host, i_mapping) != mapping)
		return;
	index += (page - first) / psize;
	ev->src_off = (index << zc_page_shift) + in_page;
	ev->src_ino = BPF_CORE_READ(host, i_ino);
	ev->src_dev = BPF_CORE_READ(host, i_sb, s_dev);
}

/* The struct pages of up to 64 TiB of memory: the x86-64 direct map's size
 * with 4-level paging. */
#define ZC_VMEMMAP_PAGES (1ULL << 34)

/*
 * struct page * -> its address in the direct map; 0 for a page outside the
 * vmemmap these bases describe (a wrong base: the self-test's own bad base,
 * or a kernel laid out otherwise). Its address would be non-canonical, and
 * 5.10 warns (ex_handler_uaccess) when bpf_probe_read_kernel faults there;
 * the caller counts a read fault instead.
 */
static __always_inline __u64 page_address(__u64 page)
{
	__u64 psize = bpf_core_type_size(struct page);
	__u64 pfn;

	if (!psize || page < cfg.vmemmap_base)
		return 0;
	pfn = (page - cfg.vmemmap_base) / psize;
	if (pfn >= ZC_VMEMMAP_PAGES)
		return 0;
	return cfg.page_offset_base + (pfn << zc_page_shift);
}

/* ---- the send walk ------------------------------------------------------ */

/* Next segment of the message's iterator; false when there is none. */
static __always_inline bool next_segment(struct zc_walk *w)
{
	__u64 len, skip = w->skip;

	if (!w->nr_segs)
		return false;
	if (w->iter == ZC_IT_BVEC) {
		struct bio_vec bv;

		if (bpf_probe_read_kernel(&bv, sizeof(bv), (void *)w->vec))
			return false;
		w->vec += bpf_core_type_size(struct bio_vec);
		w->seg_page = (__u64)bv.bv_page;
		w->seg_poff = bv.bv_offset + skip;
		len = bv.bv_len;
	} else {
		struct iovec v;
		long err;

		if (w->user_vec)
			err = bpf_probe_read_user(&v, sizeof(v), (void *)w->vec);
		else
			err = bpf_probe_read_kernel(&v, sizeof(v), (void *)w->vec);
		if (err)
			return false;
		w->vec += sizeof(struct iovec);
		w->seg_addr = (__u64)v.iov_base + skip;
		len = v.iov_len;
	}
	w->nr_segs--;
	w->skip = 0;
	w->seg_left = len > skip ? len - skip : 0;
	if (w->seg_left > w->msg_left)
		w->seg_left = w->msg_left;
	return true;
}

ZCAP_LOOP_STEP(send_step)
static long send_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct zc_walk *w = bpf_map_lookup_elem(&zc_walks, slot_key);
	struct zcap_send_ev *ev;
	__u64 n, kaddr, page_mask = (1ULL << zc_page_shift) - 1;
	__u8 flags = 0;
	__u32 len = 0;

	if (!s || !w)
		return 1;
	if (!w->cap_left || !w->msg_left)
		return 1;
	if (!w->seg_left) {
		if (!next_segment(w))
			return 1;
		/* its first chunk in the same turn: turns = segments + chunks,
		 * which matters where turns are bounded (kern/common.bpf.h) */
		if (!w->seg_left)
			return 0;
	}
	ev = (struct zcap_send_ev *)s->buf;
	n = w->seg_left;
	if (n > w->cap_left)
		n = w->cap_left;
	if (n > ZCAP_CHUNK)
		n = ZCAP_CHUNK;
	if (w->iter == ZC_IT_BVEC) {
		__u64 psize = bpf_core_type_size(struct page);
		__u64 page = w->seg_page + (w->seg_poff >> zc_page_shift) * psize;
		__u64 in_page = w->seg_poff & page_mask;
		__s64 first_off;
		__u64 first_ino;

		page_origin(ev, page, in_page);
		/* a segment stays inside one folio, but do not rely on it:
		 * cut the chunk where the file offsets stop following on */
		if (ev->src_ino && in_page + n > page_mask + 1) {
			__u64 last = (in_page + n - 1) >> zc_page_shift;

			first_off = ev->src_off;
			first_ino = ev->src_ino;
			page_origin(ev, page + last * psize, 0);
			if (ev->src_ino != first_ino ||
			    ev->src_off !=
				    first_off - (__s64)in_page + (__s64)(last << zc_page_shift))
				n = page_mask + 1 - in_page;
			page_origin(ev, page, in_page);
		}
		if (n > ZCAP_CHUNK)
			n = ZCAP_CHUNK;
		kaddr = page_address(w->seg_page);
		if (kaddr && bpf_probe_read_kernel(ev + 1, n, (void *)(kaddr + w->seg_poff)) == 0)
			len = n;
	} else {
		ev->src_ino = 0;
		ev->src_off = -1;
		ev->src_dev = 0;
		if (bpf_probe_read_user(ev + 1, n, (void *)w->seg_addr) == 0)
			len = n;
	}
	if (!len) {
		flags |= ZCAP_F_FAULT;
		count_drop(ZCAP_DROP_FAULT);
	}
	if (w->off == 0)
		flags |= ZCAP_F_FIRST;
	ev->chunk_off = w->off;
	ev->seq = w->seq0 + (__u32)w->off;
	ev->flags = flags;
	ev->h.data_len = len;
	submit(ev, sizeof(*ev) + len);
	w->off += n;
	w->seg_poff += n;
	w->seg_addr += n;
	w->seg_left -= n;
	w->msg_left -= n;
	w->cap_left -= n;
	return 0;
}

/* Before 5.14 the iterator's kind was bits of iov_iter.type (ITER_BVEC =
 * 16, ...) beside the direction bit; then it became the u8 iter_type. */
struct iov_iter___typebits {
	unsigned int type;
} __attribute__((preserve_access_index));

static __always_inline __u8 iter_kind(struct msghdr *msg)
{
	__u8 t;

	if (!bpf_core_field_exists(msg->msg_iter.iter_type)) {
		struct iov_iter___typebits *it = (void *)&msg->msg_iter;
		unsigned int bits = BPF_CORE_READ(it, type);

		if (bits & bpf_core_enum_value(enum iter_type, ITER_BVEC))
			return ZC_IT_BVEC;
		if (bits & bpf_core_enum_value(enum iter_type, ITER_IOVEC))
			return ZC_IT_IOVEC;
		return ZC_IT_OTHER;
	}
	t = BPF_CORE_READ(msg, msg_iter.iter_type);

	if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	    t == bpf_core_enum_value(enum iter_type, ITER_UBUF))
		return ZC_IT_UBUF;
	if (t == bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		return ZC_IT_IOVEC;
	if (t == bpf_core_enum_value(enum iter_type, ITER_BVEC))
		return ZC_IT_BVEC;
	return ZC_IT_OTHER;
}

/* Where a send's bytes are: a message's iterator (tcp_sendmsg_locked), or
 * one page range (do_tcp_sendpages, the pre-6.5 sendfile/splice path). */
struct zc_source {
	struct msghdr *msg; /* NULL: page */
	__u64 page;
	__u64 offset;
	__u64 size;
};

/* Point the walk at the source's bytes; the iterator kind, 0 if none. */
static __always_inline __u8 walk_source(struct zc_walk *w, const struct zc_source *src,
					__u64 *left)
{
	struct msghdr *msg = src->msg;
	__u8 it;

	__builtin_memset(w, 0, sizeof(*w));
	if (!msg) {
		w->iter = ZC_IT_BVEC;
		w->seg_page = src->page;
		w->seg_poff = src->offset;
		w->seg_left = src->size;
		*left = src->size;
		return ZC_IT_BVEC;
	}
	*left = BPF_CORE_READ(msg, msg_iter.count);
	it = iter_kind(msg);
	w->iter = it;
	if (it == ZC_IT_UBUF) {
		w->seg_addr = (__u64)BPF_CORE_READ(msg, msg_iter.ubuf) +
			      BPF_CORE_READ(msg, msg_iter.iov_offset);
		w->seg_left = *left;
	} else if (it != ZC_IT_OTHER) {
		w->vec = (__u64)BPF_CORE_READ(msg, msg_iter.bvec); /* same union for iovecs */
		w->nr_segs = BPF_CORE_READ(msg, msg_iter.nr_segs);
		w->skip = BPF_CORE_READ(msg, msg_iter.iov_offset);
		if (w->nr_segs > ZC_SEGS_MAX)
			w->nr_segs = ZC_SEGS_MAX;
	}
	return it;
}

/*
 * A send reached the TCP send path. The first firing for a message walks
 * every byte the iterator still holds (up to the call's snaplen budget);
 * later firings of the same message are ignored (the tracepoint fires once
 * per copy-loop iteration). A page send is a message of one segment.
 */
static __always_inline int on_send_start(struct sock *sk, const struct zc_source *src)
{
	struct msghdr *msg = src->msg;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct zc_send *st = bpf_map_lookup_elem(&zc_sends, &tid);
	struct zc_send nst = {};
	struct scratch_slot *s;
	struct zcap_send_ev *ev;
	struct inflight *in;
	struct zc_walk *w;
	__u64 left, budget, loops;
	__u32 key;
	__u8 it;

	if (!want_current())
		return 0;
	/* What is news here is decided on the iterator's kind alone, before a
	 * slot is taken or the message walked. */
	it = msg ? iter_kind(msg) : ZC_IT_BVEC;
	if (it == ZC_IT_OTHER)
		return 0;
	/* packet output: the packets carry user-buffer sends whole; only a
	 * page-backed body's file origin is news. A socket no syscall named
	 * (io_uring's accept and connect, one passed over a unix socket) gets
	 * its sender as owner here. */
	if (cfg.pkt_owners && it != ZC_IT_BVEC) {
		struct zcap_fdinfo f;

		fill_sk_ends(&f, sk);
		sock_owner_note_new(&f);
		return 0;
	}
	in = bpf_map_lookup_elem(&inflight, &tid);
	/* user memory of a captured syscall: the syscall capture has it */
	if (it != ZC_IT_BVEC && in)
		return 0;
	if (msg && st && st->active && st->msg == (__u64)msg &&
	    BPF_CORE_READ(msg, msg_iter.count) <= st->left) {
		/* a later loop iteration of the same message */
		st->left = BPF_CORE_READ(msg, msg_iter.count);
		return 0;
	}
	s = slot_get();
	if (!s)
		return 0;
	w = walk_of(s);
	if (!w)
		goto out;
	it = walk_source(w, src, &left);
	if (it == ZC_IT_OTHER || !left)
		goto out;
	nst.msg = (__u64)msg;
	nst.sk = (__u64)sk;
	nst.left = left;
	nst.offered = left;
	nst.call_id = in ? in->call_id : 0;
	nst.sc = in ? in->sc : ZCAP_SYS_IOURING;
	nst.seq = BPF_CORE_READ((struct tcp_sock *)sk, write_seq);
	nst.active = 1;
	budget = cfg.want_payload && cfg.bodies_ok ? cfg.snaplen : 0;
	if (st && nst.call_id && st->call_id == nst.call_id && !st->active)
		budget = st->budget; /* the call's next message: what is left of it */
	nst.budget = budget;

	ev = (struct zcap_send_ev *)s->buf;
	fill_hdr(&ev->h, ZCAP_EV_SEND, sizeof(*ev));
	fill_sk_info(&ev->f, sk);
	if (!fd_wanted(&ev->f))
		goto out;
	ev->call_id = nst.call_id;
	ev->total_len = left;
	ev->iter_type = it; /* 0 user buffer, 1 iovec, 2 bio_vec (zcap's numbering) */
	ev->syscall = nst.sc;
	ev->_pad = 0;

	w->msg_left = left;
	w->cap_left = budget < left ? budget : left;
	w->seq0 = nst.seq;
	key = s->key;
	loops = w->cap_left / ZCAP_CHUNK + 2 * w->nr_segs + 4;
	/* page boundaries may cut chunks where file offsets jump */
	if (it == ZC_IT_BVEC)
		loops += (w->cap_left >> zc_page_shift);
	if (loops > (1 << 20))
		loops = 1 << 20;
	if (w->cap_left)
		zcap_loop(loops, send_step, &key);
	nst.captured = w->off;
	if (w->off == 0) {
		/* nothing captured (snaplen, self-test failed): a FIRST record
		 * still says the message began, with its first byte's origin */
		ev->src_ino = 0;
		ev->src_off = -1;
		ev->src_dev = 0;
		if (it == ZC_IT_BVEC && (w->seg_left || next_segment(w)))
			page_origin(ev,
				    w->seg_page + (w->seg_poff >> zc_page_shift) *
							  bpf_core_type_size(struct page),
				    w->seg_poff & ((1ULL << zc_page_shift) - 1));
		ev->chunk_off = 0;
		ev->seq = nst.seq;
		ev->flags = ZCAP_F_FIRST | ZCAP_F_TRUNC |
			    (cfg.want_payload && !cfg.bodies_ok ? ZCAP_F_NOCONTENT : 0);
		ev->h.data_len = 0;
		submit(ev, sizeof(*ev));
	}
	if (bpf_map_update_elem(&zc_sends, &tid, &nst, BPF_ANY))
		count_drop(ZCAP_DROP_MAPFULL);
out:
	slot_put(s);
	return 0;
}

static __always_inline int on_sendmsg(struct sock *sk, struct msghdr *msg)
{
	struct zc_source src = { .msg = msg };

	return msg ? on_send_start(sk, &src) : 0;
}

static __always_inline int on_sendpage(struct sock *sk, struct page *page, int offset, size_t size)
{
	struct zc_source src = { .page = (__u64)page, .offset = offset, .size = size };

	return page ? on_send_start(sk, &src) : 0;
}

/* The message's result: how many of the offered bytes the kernel took. */
static __always_inline int on_send_end(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct zc_send *st = bpf_map_lookup_elem(&zc_sends, &tid);
	struct scratch_slot *s;
	struct zcap_send_ev *ev;
	__u64 accepted, kept;

	if (!st || !st->active)
		return 0;
	st->active = 0;
	accepted = ret > 0 ? ret : 0;
	kept = st->captured < accepted ? st->captured : accepted;
	st->budget = st->budget > kept ? st->budget - kept : 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = (struct zcap_send_ev *)s->buf;
	fill_hdr(&ev->h, ZCAP_EV_SEND, sizeof(*ev));
	fill_sk_info(&ev->f, (struct sock *)st->sk);
	ev->call_id = st->call_id;
	ev->total_len = accepted;
	ev->chunk_off = 0;
	ev->seq = st->seq;
	ev->iter_type = 0;
	ev->flags = ZCAP_F_LAST;
	ev->syscall = st->sc;
	ev->src_ino = 0;
	ev->src_off = -1;
	ev->src_dev = 0;
	ev->_pad = 0;
	submit(ev, sizeof(*ev));
	slot_put(s);
	return 0;
}

/*
 * The hooks. One family is enabled (user/send_path.c): the raw
 * tracepoints, or kprobes, or fentry/fexit. Within a family,
 * tcp_sendmsg_locked carries every send on 6.5+ kernels (sendfile and
 * splice as ITER_BVEC) and user-buffer sends before; do_tcp_sendpages
 * carries sendfile and splice before 6.5 (sendpage: one page range per
 * call). Each is loaded only where the kernel's BTF has the function.
 */

/* Family "tracepoint": fires once per copy-loop iteration. */
SEC("raw_tp/tcp_sendmsg_locked")
int BPF_PROG(zc_tp_sendmsg_locked, struct sock *sk, struct msghdr *msg, struct sk_buff *skb,
	     int size_goal)
{
	return on_sendmsg(sk, msg);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(zc_tp_send_length, struct sock *sk, int ret, int flags)
{
	return on_send_end(ret);
}

/* Family "kprobe": once per call, before the copy loop. */
SEC("kprobe/tcp_sendmsg_locked")
int BPF_KPROBE(zc_kp_sendmsg_locked, struct sock *sk, struct msghdr *msg, size_t size)
{
	return on_sendmsg(sk, msg);
}

SEC("kretprobe/tcp_sendmsg_locked")
int BPF_KRETPROBE(zc_kret_sendmsg_locked, int ret)
{
	return on_send_end(ret);
}

SEC("kprobe/do_tcp_sendpages")
int BPF_KPROBE(zc_kp_sendpages, struct sock *sk, struct page *page, int offset, size_t size)
{
	return on_sendpage(sk, page, offset, size);
}

SEC("kretprobe/do_tcp_sendpages")
int BPF_KRETPROBE(zc_kret_sendpages, long ret)
{
	return on_send_end(ret);
}

/* Family "fentry". */
SEC("fentry/tcp_sendmsg_locked")
int BPF_PROG(zc_fe_sendmsg_locked, struct sock *sk, struct msghdr *msg, size_t size)
{
	return on_sendmsg(sk, msg);
}

SEC("fexit/tcp_sendmsg_locked")
int BPF_PROG(zc_fx_sendmsg_locked, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	return on_send_end(ret);
}

/* do_tcp_sendpages is not in this kernel's vmlinux.h (gone in 6.5): its
 * arguments as the 5.x/6.1 prototype declares them */
SEC("fentry/do_tcp_sendpages")
int BPF_PROG(zc_fe_sendpages, struct sock *sk, struct page *page, int offset, size_t size)
{
	return on_sendpage(sk, page, offset, size);
}

SEC("fexit/do_tcp_sendpages")
int BPF_PROG(zc_fx_sendpages, struct sock *sk, struct page *page, int offset, size_t size,
	     int flags, long ret)
{
	return on_send_end(ret);
}

/* ---- syscall metadata --------------------------------------------------- */

/* Offset a call will use on fd: *uptr when given, else a regular file's
 * position (pos_flag into *flags); -1 for anything else. */
static __always_inline __s64 resolve_off(int fd, __u64 uptr, __u32 pos_flag, __u64 *flags)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct file *file;
	__s64 off = -1;

	if (uptr) {
		if (bpf_probe_read_user(&off, sizeof(off), (void *)uptr))
			off = -1;
		return off;
	}
	file = fd_to_file(task, fd);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFREG)
		return -1;
	*flags |= pos_flag;
	return BPF_CORE_READ(file, f_pos);
}

/* call_seq is per object: ids made here are tagged so that they never
 * equal the syscall part's */
#define ZC_CALL_TAG (1ULL << 52) /* ids stay exact as IEEE doubles (JSON) */

static __always_inline struct inflight *saved_call(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in;

	save_args(ctx, sc);
	in = bpf_map_lookup_elem(&inflight, &tid);
	if (in)
		in->call_id |= ZC_CALL_TAG;
	return in;
}

/*
 * The saved arguments, rewritten for the exit program: args[IN_OFF] and
 * args[OUT_OFF] hold the offsets resolved at entry, args[XFL] the call's
 * flags argument with ZCAP_XF_* bits.
 *   sendfile(out, in, *off, count)              -> off_in in args[4], flags in args[5]
 *   splice/copy_file_range(in, *off_in, out, *off_out, len, flags)
 *                                               -> args[1], args[3], args[5]
 */
static __always_inline int sendfile_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct inflight *in = saved_call(ctx, ZCAP_SYS_SENDFILE64);
	__u64 flags = 0;

	if (!in)
		return 0;
	in->args[4] = resolve_off(in->args[1], in->args[2], ZCAP_XF_IN_POS, &flags);
	in->args[5] = flags;
	return 0;
}

ZCAP_SYSCALL_ENTER(sendfile)
{
	return sendfile_enter(ctx);
}

static __always_inline int enter_two_offsets(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	struct inflight *in = saved_call(ctx, sc);
	__u64 flags;

	if (!in)
		return 0;
	flags = in->args[5] & 0xffffffff;
	in->args[1] = resolve_off(in->args[0], in->args[1], ZCAP_XF_IN_POS, &flags);
	in->args[3] = resolve_off(in->args[2], in->args[3], ZCAP_XF_OUT_POS, &flags);
	in->args[5] = flags;
	return 0;
}

ZCAP_SYSCALL_ENTER(splice)
{
	return enter_two_offsets(ctx, ZCAP_SYS_SPLICE);
}

ZCAP_SYSCALL_ENTER(copy_file_range)
{
	return enter_two_offsets(ctx, ZCAP_SYS_COPY_FILE_RANGE);
}

/* vmsplice: the user memory moved, as ZCAP_EV_IO chunks of the call. */
ZCAP_LOOP_STEP(vms_step)
static long vms_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct zc_walk *w = bpf_map_lookup_elem(&zc_walks, slot_key);
	struct zcap_io *ev;
	__u8 flags = 0;
	__u32 len = 0;
	__u64 n;

	if (!s || !w || !w->cap_left)
		return 1;
	if (!w->seg_left) {
		if (!next_segment(w))
			return 1;
		/* its first chunk in the same turn: turns = segments + chunks,
		 * which matters where turns are bounded (kern/common.bpf.h) */
		if (!w->seg_left)
			return 0;
	}
	ev = (struct zcap_io *)s->buf;
	n = w->seg_left;
	if (n > w->cap_left)
		n = w->cap_left;
	if (n > ZCAP_CHUNK)
		n = ZCAP_CHUNK;
	if (bpf_probe_read_user(ev + 1, n, (void *)w->seg_addr) == 0) {
		len = n;
	} else {
		flags |= ZCAP_F_FAULT;
		count_drop(ZCAP_DROP_FAULT);
	}
	if (w->off == 0)
		flags |= ZCAP_F_FIRST;
	if (n >= w->cap_left) {
		flags |= ZCAP_F_LAST | w->last_flags;
		w->done = 1;
	}
	ev->chunk_off = w->off;
	ev->flags = flags;
	ev->h.data_len = len;
	submit(ev, sizeof(*ev) + len);
	w->off += n;
	w->seg_addr += n;
	w->seg_left -= n;
	w->msg_left -= n;
	w->cap_left -= n;
	return 0;
}

static __always_inline void vmsplice_payload(struct scratch_slot *s, struct inflight *in, __s64 ret,
					     const struct zcap_fdinfo *pipe)
{
	struct zcap_io *ev = (struct zcap_io *)s->buf;
	struct zc_walk *w = walk_of(s);
	__u64 moved = ret > 0 ? ret : 0, snap = cfg.want_payload ? cfg.snaplen : 0;
	__u32 key = s->key;

	if (!w)
		return;
	fill_hdr(&ev->h, ZCAP_EV_IO, sizeof(*ev));
	__builtin_memcpy(&ev->f, pipe, sizeof(ev->f));
	ev->call_id = in->call_id;
	ev->ret = ret;
	ev->total_len = moved;
	ev->file_off = -1;
	ev->syscall = ZCAP_SYS_VMSPLICE;
	/* the pipe's write end takes user memory; its read end fills it */
	ev->dir = (pipe->flags & O_ACCMODE) == O_RDONLY ? ZCAP_DIR_IN : ZCAP_DIR_OUT;
	ev->fd = in->args[0];
	ev->msg_idx = 0;
	ev->_pad = 0;

	__builtin_memset(w, 0, sizeof(*w));
	w->iter = ZC_IT_IOVEC;
	w->user_vec = 1;
	w->vec = in->args[1];
	w->nr_segs = in->args[2] < ZCAP_IOV_MAX ? in->args[2] : ZCAP_IOV_MAX;
	w->msg_left = moved;
	w->cap_left = moved < snap ? moved : snap;
	if (w->cap_left < moved)
		w->last_flags = ZCAP_F_TRUNC;
	if (w->cap_left)
		zcap_loop(w->cap_left / ZCAP_CHUNK + 2 * w->nr_segs + 2, vms_step, &key);
	if (!w->done) {
		ev->chunk_off = w->off;
		ev->flags = (w->off == 0 ? ZCAP_F_FIRST : 0) | ZCAP_F_LAST |
			    (w->off < moved ? ZCAP_F_TRUNC : 0) |
			    (w->cap_left ? ZCAP_F_IOV_LIMIT : 0); /* the walk stopped early */
		ev->h.data_len = 0;
		submit(ev, sizeof(*ev));
	}
}

static __always_inline int xfer_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_xfer_ev *x;
	struct file *in_file = NULL;
	__s64 ret = ctx->args[1];

	if (!take_inflight(sc, &in))
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	x = (struct zcap_xfer_ev *)s->buf;
	__builtin_memset(x, 0, sizeof(*x));
	fill_hdr(&x->h, ZCAP_EV_XFER, sizeof(*x));
	x->call_id = in.call_id;
	x->ret = ret;
	x->syscall = sc;
	x->off_in = -1;
	x->off_out = -1;
	switch (sc) {
	case ZCAP_SYS_SENDFILE64:
		x->fd_out = in.args[0];
		x->fd_in = in.args[1];
		x->off_in = in.args[4];
		x->len = in.args[3];
		x->xflags = in.args[5];
		break;
	case ZCAP_SYS_SPLICE:
	case ZCAP_SYS_COPY_FILE_RANGE:
		x->fd_in = in.args[0];
		x->off_in = in.args[1];
		x->fd_out = in.args[2];
		x->off_out = in.args[3];
		x->len = in.args[4];
		x->xflags = in.args[5];
		break;
	case ZCAP_SYS_TEE:
		x->fd_in = in.args[0];
		x->fd_out = in.args[1];
		x->len = in.args[2];
		x->xflags = in.args[3];
		break;
	default: /* vmsplice(fd, iov, nr_segs, flags): the pipe is one end */
		x->fd_in = -1;
		x->fd_out = -1;
		x->len = 0;
		x->xflags = in.args[3];
		break;
	}
	if (sc == ZCAP_SYS_VMSPLICE) {
		struct zcap_fdinfo pipe;

		fill_fd_info(&pipe, in.args[0]);
		if ((pipe.flags & O_ACCMODE) == O_RDONLY) {
			x->fd_in = in.args[0];
			__builtin_memcpy(&x->in, &pipe, sizeof(pipe));
		} else {
			x->fd_out = in.args[0];
			__builtin_memcpy(&x->out, &pipe, sizeof(pipe));
		}
	} else {
		in_file = fill_fd_details(&x->in, x->fd_in);
		fill_fd_details(&x->out, x->fd_out);
	}
	/* A transfer into or out of a pipe that the fd filters hide is still
	 * sent, marked as context: the stitcher needs it to name the file
	 * behind a spliced body the filter does show (user/zerocopy.c) */
	if (!fd_wanted(&x->in) && !fd_wanted(&x->out)) {
		if (x->in.kind != ZCAP_FD_PIPE && x->out.kind != ZCAP_FD_PIPE)
			goto out;
		x->xflags |= ZCAP_XF_CONTEXT;
	}
	/* the input file's path: its open may be long gone or filtered out;
	 * once per file (userspace keeps it by dev and inode) */
	if (in_file && x->in.kind == ZCAP_FD_FILE && path_news(in_file, &x->in)) {
		int n = file_path(s, in_file, sizeof(*x));

		if (n > 0)
			x->h.data_len = n & (ZCAP_PATH_MAX - 1);
	}
	submit(x, sizeof(*x) + (x->h.data_len & (ZCAP_PATH_MAX - 1)));
	if (sc == ZCAP_SYS_VMSPLICE && !(x->xflags & ZCAP_XF_CONTEXT)) {
		struct zcap_fdinfo pipe;

		__builtin_memcpy(&pipe, x->fd_in >= 0 ? &x->in : &x->out, sizeof(pipe));
		vmsplice_payload(s, &in, ret, &pipe);
	}
out:
	slot_put(s);
	return 0;
}

ZCAP_SYSCALL_EXIT(sendfile)
{
	return xfer_exit(ctx, ZCAP_SYS_SENDFILE64);
}

ZCAP_SYSCALL_EXIT(splice)
{
	return xfer_exit(ctx, ZCAP_SYS_SPLICE);
}

ZCAP_SYSCALL_EXIT(tee)
{
	return xfer_exit(ctx, ZCAP_SYS_TEE);
}

ZCAP_SYSCALL_EXIT(vmsplice)
{
	return xfer_exit(ctx, ZCAP_SYS_VMSPLICE);
}

ZCAP_SYSCALL_EXIT(copy_file_range)
{
	return xfer_exit(ctx, ZCAP_SYS_COPY_FILE_RANGE);
}

/* Packet output's dispatch where the kernel has syscall tracepoints
 * (kern/common.bpf.h): the transfers whose file bytes packets carry. */
ZCAP_TP_PAIR(sendfile64, ZCAP_SYS_SENDFILE64, 4, sendfile_enter(ctx),
	     xfer_exit(ctx, ZCAP_SYS_SENDFILE64))
ZCAP_TP_PAIR(splice, ZCAP_SYS_SPLICE, 6, enter_two_offsets(ctx, ZCAP_SYS_SPLICE),
	     xfer_exit(ctx, ZCAP_SYS_SPLICE))
ZCAP_TP_PAIR(copy_file_range, ZCAP_SYS_COPY_FILE_RANGE, 6,
	     enter_two_offsets(ctx, ZCAP_SYS_COPY_FILE_RANGE),
	     xfer_exit(ctx, ZCAP_SYS_COPY_FILE_RANGE))
ZCAP_TP_PAIR(tee, ZCAP_SYS_TEE, 4, (saved_call(ctx, ZCAP_SYS_TEE), 0),
	     xfer_exit(ctx, ZCAP_SYS_TEE))
ZCAP_TP_PAIR(vmsplice, ZCAP_SYS_VMSPLICE, 4, (saved_call(ctx, ZCAP_SYS_VMSPLICE), 0),
	     xfer_exit(ctx, ZCAP_SYS_VMSPLICE))

/* ---- kernel variables for user space ------------------------------------ */

/* Run with BPF_PROG_TEST_RUN, args[0] = the variable's address. */
SEC("raw_tp")
int zc_read_kvar(struct bpf_raw_tracepoint_args *ctx)
{
	zc_kvar_err =
		bpf_probe_read_kernel(&zc_kvar_value, sizeof(zc_kvar_value), (void *)ctx->args[0]);
	return 0;
}
