// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pcap-ng writer: block layout per draft-ietf-opsawg-pcapng. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "escape.h"
#include "pcapng.h"

#define BT_SHB	0x0A0D0D0Au
#define BT_IDB	0x00000001u
#define BT_ISB	0x00000005u
#define BT_EPB	0x00000006u

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT	0
#define OPT_COMMENT	1
#define OPT_SHB_HARDWARE 2
#define OPT_SHB_OS	3
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME	2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL	9
#define OPT_EPB_FLAGS	2
#define OPT_EPB_PROCESSID_THREADID 8
#define OPT_ISB_STARTTIME 2
#define OPT_ISB_ENDTIME	3
#define OPT_ISB_IFRECV	4
#define OPT_ISB_IFDROP	5
#define OPT_ISB_FILTERACCEPT 6
#define OPT_ISB_OSDROP	7
#define OPT_ISB_USRDELIV 8

/*
 * libpcap refuses blocks whose options exceed 128 KiB beyond the maximum
 * snaplen; keep EPB options within that so tcpdump can still read the file.
 */
#define MAX_EPB_OPTIONS	131072u

#define PAD4(n) (((n) + 3u) & ~(size_t)3u)

/*
 * Output blocks: whole blocks accumulate here, written once at least this
 * many bytes wait, or on pcapng_writer_flush (the capture's 100 ms timer)
 * and at close: one write(2) per few hundred packets, not one per packet.
 */
#define OUT_FLUSH_BYTES (256u << 10)

/* iovecs per writev(2) call (Linux's IOV_MAX): a batch of small pieces
 * goes in several. Every write(2) that ends inside a new block of the file
 * costs ext4 a zeroing of the rest of it: fewer, larger writes. (A kill -9
 * inside one is cut back by the unit mark, below.) */
#define IOV_BATCH 1024

/* The output buffer: whole blocks in [0, start), the one being assembled
 * from start on; err sticks at the first allocation failure. */
struct block {
	uint8_t *p;
	size_t start, len, cap;
	int err;
};

/*
 * Packet data an EPB takes from the caller's memory instead of copying it
 * into the buffer (pcapng_epb.data_owner): the output waiting is the
 * buffer cut at each piece's buf_at, with the piece's bytes in the cut.
 */
struct piece {
	size_t buf_at; /* the buffer's bytes before this offset come first */
	const void *data;
	size_t len;
	void *owner; /* handed to the release function once written */
};

struct pcapng_writer {
	int fd;
	off_t pos;		/* end of the last block written; -1 when not seekable */
	int error;		/* sticky -errno after a failed write */
	uint32_t n_ifaces;
	uint32_t *snaplens;	/* per interface id */
	struct block blk;	/* blocks not written yet, then the one being built */
	struct piece *pieces;	/* in output order */
	size_t n_pieces, cap_pieces, piece_bytes;
	struct iovec *iov;	/* the output as iovecs, built at each flush */
	pcapng_release_fn release;
	void *release_ctx;
};

static void *block_reserve(struct block *b, size_t n)
{
	void *at;

	if (b->err)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

static void put_bytes(struct block *b, const void *data, size_t n)
{
	void *at = block_reserve(b, n);

	if (at && n)
		memcpy(at, data, n);
}

static void put_zeros(struct block *b, size_t n)
{
	void *at = block_reserve(b, n);

	if (at && n)
		memset(at, 0, n);
}

static void put_u16(struct block *b, uint16_t v)
{
	put_bytes(b, &v, sizeof(v));
}

static void put_u32(struct block *b, uint32_t v)
{
	put_bytes(b, &v, sizeof(v));
}

static void put_u64(struct block *b, uint64_t v)
{
	put_bytes(b, &v, sizeof(v));
}

/* pcap-ng timestamps are two 32-bit words, high first, not one u64. */
static void put_ts(struct block *b, uint64_t ts)
{
	put_u32(b, (uint32_t)(ts >> 32));
	put_u32(b, (uint32_t)ts);
}

static void pad_to_4(struct block *b)
{
	put_zeros(b, PAD4(b->len) - b->len);
}

static void block_begin(struct block *b, uint32_t type)
{
	b->start = b->len;
	b->err = 0;
	put_u32(b, type);
	put_u32(b, 0);		/* total length, filled in by block_end() */
}

static void opt_header(struct block *b, uint16_t code, uint16_t len)
{
	put_u16(b, code);
	put_u16(b, len);
}

static void opt_raw(struct block *b, uint16_t code, const void *val, uint16_t len)
{
	opt_header(b, code, len);
	put_bytes(b, val, len);
	pad_to_4(b);
}

static void opt_u32(struct block *b, uint16_t code, uint32_t v)
{
	opt_raw(b, code, &v, sizeof(v));
}

static void opt_u64(struct block *b, uint16_t code, uint64_t v)
{
	opt_raw(b, code, &v, sizeof(v));
}

static void opt_ts(struct block *b, uint16_t code, uint64_t ts)
{
	opt_header(b, code, 8);
	put_ts(b, ts);
}

/* Bytes a string option takes in the block; 0 for NULL or "". */
static size_t opt_string_size(const char *s)
{
	return s && *s ? 4 + PAD4(strlen(s)) : 0;
}

static int check_string(const char *s)
{
	return s && strlen(s) > PCAPNG_MAX_OPTION_LEN ? -EINVAL : 0;
}

/* A UTF-8 option from a C string, sanitised in place in the block. */
static void opt_string(struct block *b, uint16_t code, const char *s)
{
	size_t len;
	char *at;

	if (!s || !*s)
		return;
	len = strlen(s);
	opt_header(b, code, (uint16_t)len);
	at = block_reserve(b, len);
	if (at)
		pcapng_sanitize_utf8(at, s, len);
	pad_to_4(b);
}

static void opt_end(struct block *b, size_t options_start)
{
	if (b->len > options_start)
		opt_header(b, OPT_ENDOFOPT, 0);
}

/* Fill in both total-length fields; @outside: bytes of the block in a
 * piece (not in the buffer). */
static int block_end(struct block *b, size_t outside)
{
	uint32_t total;

	put_u32(b, 0);
	if (b->err)
		return b->err;
	if (b->len - b->start + outside > UINT32_MAX)
		return -EINVAL;
	total = (uint32_t)(b->len - b->start + outside);
	memcpy(b->p + b->start + 4, &total, 4);
	memcpy(b->p + b->len - 4, &total, 4);
	return 0;
}

/*
 * writev(2) bytes [off, off + len) of the iovecs, whole: restart after
 * EINTR and short writes, wait on a non-blocking fd, so the bytes reach
 * the fd whole or the writer is poisoned.
 */
static int write_iov_range(int fd, const struct iovec *iov, size_t n, size_t off, size_t len)
{
	struct iovec part[IOV_BATCH];

	while (len) {
		size_t k = 0, want = 0;
		ssize_t done;

		while (n && off >= iov->iov_len) {
			off -= iov->iov_len;
			iov++;
			n--;
		}
		for (size_t i = 0; i < n && k < IOV_BATCH && want < len; i++) {
			size_t skip = i ? 0 : off, l = iov[i].iov_len - skip;

			if (l > len - want)
				l = len - want;
			part[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, l };
			want += l;
		}
		if (!k)
			return -EIO;
		done = writev(fd, part, (int)k);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			return -errno;
		}
		if (done == 0)
			return -EIO;
		off += (size_t)done;
		len -= (size_t)done;
	}
	return 0;
}

static struct pcapng_unit_mark *unit_mark;

void pcapng_set_unit_mark(struct pcapng_unit_mark *mark)
{
	unit_mark = mark;
}

/* Whether this write is marked; the mark says where it starts. */
static bool mark_unit(int fd, off_t end)
{
	struct pcapng_unit_mark *m = unit_mark;

	if (!m || end < 0 || m->pid != (int32_t)getpid())
		return false;
	m->fd = fd;
	m->end = end;
	__atomic_store_n(&m->writing, 1, __ATOMIC_RELEASE);
	return true;
}

/* The same as a unit: when it fails (a full disk took part of it) a
 * regular file is cut back to @end, so it ends with the last whole unit
 * and readers need no repair; a kill -9 meanwhile leaves that to whoever
 * watches the mark. */
static int write_iov_unit(int fd, const struct iovec *iov, size_t n, size_t off, size_t len,
			  off_t *end)
{
	bool marked = mark_unit(fd, *end);
	int err = write_iov_range(fd, iov, n, off, len);

	if (err) {
		if (*end >= 0 && ftruncate(fd, *end) == 0)
			lseek(fd, *end, SEEK_SET);
	} else if (*end >= 0) {
		*end += (off_t)len;
	}
	if (marked)
		__atomic_store_n(&unit_mark->writing, 0, __ATOMIC_RELEASE);
	return err;
}

int pcapng_write_all(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return write_iov_range(fd, &v, 1, 0, len);
}

off_t pcapng_unit_start(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return lseek(fd, 0, SEEK_CUR);
	return -1;
}

int pcapng_write_unit(int fd, const void *buf, size_t len, off_t *end)
{
	struct iovec v = { (void *)buf, len };

	return write_iov_unit(fd, &v, 1, 0, len, end);
}

/* The output waiting as iovecs: buffer runs with the pieces between
 * (@iov: room for 2 * n_pieces + 1). */
static size_t output_iov(const struct pcapng_writer *w, struct iovec *iov)
{
	size_t n = 0, at = 0;

	for (size_t i = 0; i < w->n_pieces; i++) {
		const struct piece *pc = &w->pieces[i];

		if (pc->buf_at > at)
			iov[n++] = (struct iovec){ w->blk.p + at, pc->buf_at - at };
		iov[n++] = (struct iovec){ (void *)pc->data, pc->len };
		at = pc->buf_at;
	}
	if (w->blk.len > at)
		iov[n++] = (struct iovec){ w->blk.p + at, w->blk.len - at };
	return n;
}

/* Copy @len bytes at output offset @off (a block's length field: always
 * in a buffer run, but read through the iovecs all the same). */
static void iov_read(const struct iovec *iov, size_t n, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (size_t i = 0, l; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		l = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		memcpy(d, (uint8_t *)iov[i].iov_base + off, l);
		d += l;
		len -= l;
		off = 0;
	}
}

/* Hand the pieces from @first on back to their owners; they leave the
 * output. */
static void release_pieces(struct pcapng_writer *w, size_t first)
{
	for (size_t i = first; i < w->n_pieces; i++) {
		w->piece_bytes -= w->pieces[i].len;
		if (w->release)
			w->release(w->release_ctx, w->pieces[i].owner);
	}
	w->n_pieces = first;
}

int pcapng_writer_flush(struct pcapng_writer *w)
{
	struct block *b = &w->blk;
	size_t n, total = b->len + w->piece_bytes;
	struct iovec one, *iov = w->n_pieces ? w->iov : &one;
	int err;

	if (w->error || !total) {
		release_pieces(w, 0);
		return w->error;
	}
	n = output_iov(w, iov);
	err = write_iov_unit(w->fd, iov, n, 0, total, &w->pos);
	if (err && w->pos >= 0) {
		/* the batch did not fit (a full disk) and was cut off: as
		 * many of its blocks as fit, whole, one by one */
		for (size_t off = 0, len; off + 8 <= total; off += len) {
			uint32_t blen;

			iov_read(iov, n, off + 4, &blen, 4);
			len = blen;
			if (!len || write_iov_unit(w->fd, iov, n, off, len, &w->pos))
				break;
		}
	}
	b->start = b->len = 0;
	release_pieces(w, 0);
	if (err)
		w->error = err;
	return err;
}

size_t pcapng_writer_pending(const struct pcapng_writer *w)
{
	return w ? w->blk.len + w->piece_bytes : 0;
}

/* The block just built joins the output; written once enough wait. */
static int block_flush(struct pcapng_writer *w)
{
	struct block *b = &w->blk;
	size_t outside = 0, first = w->n_pieces;
	int err;

	/* the block's own piece: cut after its start (an earlier block's
	 * piece is cut before that block's trailer) */
	while (first && w->pieces[first - 1].buf_at > b->start)
		outside += w->pieces[--first].len;
	err = block_end(b, outside);
	if (err) {
		b->len = b->start; /* dropped: the writer stays usable */
		release_pieces(w, first);
		return err;
	}
	return pcapng_writer_pending(w) >= OUT_FLUSH_BYTES ? pcapng_writer_flush(w) : 0;
}

/* The packet's bytes, in whole words, as a piece of the output: the buffer
 * stays word-aligned, so the options after it are padded as ever. False
 * (the caller copies them) when the list cannot grow. */
static bool add_piece(struct pcapng_writer *w, const void *data, size_t len, void *owner)
{
	if (w->n_pieces == w->cap_pieces) {
		size_t cap = w->cap_pieces ? 2 * w->cap_pieces : 16;
		struct piece *pieces = realloc(w->pieces, cap * sizeof(*pieces));
		struct iovec *iov;

		if (!pieces)
			return false;
		w->pieces = pieces;
		/* a buffer run before each piece, and one after the last */
		iov = realloc(w->iov, (2 * cap + 1) * sizeof(*iov));
		if (!iov)
			return false;
		w->iov = iov;
		w->cap_pieces = cap;
	}
	w->pieces[w->n_pieces++] = (struct piece){ w->blk.len, data, len, owner };
	w->piece_bytes += len;
	return true;
}

static int write_shb(struct pcapng_writer *w, const struct pcapng_shb_info *shb)
{
	struct block *b = &w->blk;
	size_t opts;

	if (shb && (check_string(shb->hardware) || check_string(shb->os) ||
		    check_string(shb->userappl)))
		return -EINVAL;

	block_begin(b, BT_SHB);
	put_u32(b, BYTE_ORDER_MAGIC);
	put_u16(b, 1);			/* major version */
	put_u16(b, 0);			/* minor version */
	put_u64(b, UINT64_MAX);		/* section length -1: not known */
	opts = b->len;
	if (shb) {
		opt_string(b, OPT_SHB_HARDWARE, shb->hardware);
		opt_string(b, OPT_SHB_OS, shb->os);
		opt_string(b, OPT_SHB_USERAPPL, shb->userappl);
	}
	opt_end(b, opts);
	/* at once: a live reader (wireshark -k -i -) starts from it, and a
	 * bad fd shows here */
	return block_flush(w) ?: pcapng_writer_flush(w);
}

struct pcapng_writer *pcapng_writer_open(int fd, const struct pcapng_shb_info *shb)
{
	struct pcapng_writer *w;
	int err;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	w->pos = pcapng_unit_start(fd);
	err = write_shb(w, shb);
	if (err) {
		pcapng_writer_close(w);
		errno = -err;
		return NULL;
	}
	return w;
}

int pcapng_add_interface(struct pcapng_writer *w, const char *if_name, const char *if_description,
			 uint16_t linktype, uint32_t snaplen)
{
	struct block *b;
	uint32_t *snaplens;
	uint8_t tsresol = 9;	/* 10^-9 s: timestamps are in nanoseconds */
	size_t opts;
	int err;

	if (!w || snaplen > PCAPNG_MAX_SNAPLEN || check_string(if_name) ||
	    check_string(if_description) || w->n_ifaces >= INT_MAX)
		return -EINVAL;
	if (w->error)
		return w->error;
	if (!snaplen)
		snaplen = PCAPNG_MAX_SNAPLEN;

	snaplens = realloc(w->snaplens, (w->n_ifaces + 1) * sizeof(*snaplens));
	if (!snaplens)
		return -ENOMEM;
	w->snaplens = snaplens;

	b = &w->blk;
	block_begin(b, BT_IDB);
	put_u16(b, linktype);
	put_u16(b, 0);			/* reserved */
	put_u32(b, snaplen);
	opts = b->len;
	opt_string(b, OPT_IF_NAME, if_name);
	opt_string(b, OPT_IF_DESCRIPTION, if_description);
	opt_raw(b, OPT_IF_TSRESOL, &tsresol, 1);
	opt_end(b, opts);
	err = block_flush(w);
	if (err)
		return err;

	w->snaplens[w->n_ifaces] = snaplen;
	return (int)w->n_ifaces++;
}

static int check_epb(const struct pcapng_writer *w, const struct pcapng_epb *p)
{
	size_t opts = 12 + 16 + 4, i;	/* epb_flags, pid/tid, opt_endofopt */

	if (p->if_id >= w->n_ifaces || p->caplen > p->origlen ||
	    p->caplen > w->snaplens[p->if_id] || (!p->data && p->caplen) ||
	    (!p->comments && p->n_comments))
		return -EINVAL;
	for (i = 0; i < p->n_comments; i++) {
		if (!p->comments[i] || check_string(p->comments[i]))
			return -EINVAL;
		opts += opt_string_size(p->comments[i]);
		if (opts > MAX_EPB_OPTIONS)
			return -EINVAL;
	}
	return 0;
}

void pcapng_writer_set_release(struct pcapng_writer *w, pcapng_release_fn fn, void *ctx)
{
	w->release = fn;
	w->release_ctx = ctx;
}

/* Give an owner back now: its data was copied, or the EPB refused. */
static void release_now(struct pcapng_writer *w, const struct pcapng_epb *p)
{
	if (w && p && p->data_owner && w->release)
		w->release(w->release_ctx, p->data_owner);
}

int pcapng_write_epb(struct pcapng_writer *w, const struct pcapng_epb *p)
{
	struct block *b;
	size_t opts, i, whole = 0;
	int err;

	if (!w || !p) {
		release_now(w, p);
		return -EINVAL;
	}
	err = check_epb(w, p);
	if (!err)
		err = w->error;
	if (err) {
		release_now(w, p);
		return err;
	}

	b = &w->blk;
	block_begin(b, BT_EPB);
	put_u32(b, p->if_id);
	put_ts(b, p->ts_ns);
	put_u32(b, p->caplen);
	put_u32(b, p->origlen);
	if (p->data_owner && p->caplen >= 4 && !b->err) {
		whole = p->caplen & ~(size_t)3;
		if (!add_piece(w, p->data, whole, p->data_owner))
			whole = 0;
	}
	if (p->caplen > whole) /* data may be NULL when caplen is 0 */
		put_bytes(b, (const uint8_t *)p->data + whole, p->caplen - whole);
	if (!whole)
		release_now(w, p); /* copied */
	pad_to_4(b);
	opts = b->len;
	if (p->flags)
		opt_u32(b, OPT_EPB_FLAGS, p->flags);
	if (p->has_pid) {
		uint32_t ids[2] = { p->pid, p->tid };

		opt_raw(b, OPT_EPB_PROCESSID_THREADID, ids, sizeof(ids));
	}
	for (i = 0; i < p->n_comments; i++)
		opt_string(b, OPT_COMMENT, p->comments[i]);
	opt_end(b, opts);
	return block_flush(w);
}

int pcapng_write_isb(struct pcapng_writer *w, const struct pcapng_isb *s)
{
	struct block *b;
	size_t opts;

	if (!w || !s || s->if_id >= w->n_ifaces || check_string(s->comment))
		return -EINVAL;
	if (w->error)
		return w->error;

	b = &w->blk;
	block_begin(b, BT_ISB);
	put_u32(b, s->if_id);
	put_ts(b, s->ts_ns);
	opts = b->len;
	if (s->present & PCAPNG_ISB_STARTTIME)
		opt_ts(b, OPT_ISB_STARTTIME, s->starttime_ns);
	if (s->present & PCAPNG_ISB_ENDTIME)
		opt_ts(b, OPT_ISB_ENDTIME, s->endtime_ns);
	if (s->present & PCAPNG_ISB_IFRECV)
		opt_u64(b, OPT_ISB_IFRECV, s->ifrecv);
	if (s->present & PCAPNG_ISB_IFDROP)
		opt_u64(b, OPT_ISB_IFDROP, s->ifdrop);
	if (s->present & PCAPNG_ISB_FILTERACCEPT)
		opt_u64(b, OPT_ISB_FILTERACCEPT, s->filteraccept);
	if (s->present & PCAPNG_ISB_OSDROP)
		opt_u64(b, OPT_ISB_OSDROP, s->osdrop);
	if (s->present & PCAPNG_ISB_USRDELIV)
		opt_u64(b, OPT_ISB_USRDELIV, s->usrdeliv);
	opt_string(b, OPT_COMMENT, s->comment);
	opt_end(b, opts);
	return block_flush(w);
}

int pcapng_writer_close(struct pcapng_writer *w)
{
	int err;

	if (!w)
		return -EINVAL;
	err = pcapng_writer_flush(w);
	free(w->blk.p);
	free(w->snaplens);
	free(w->pieces);
	free(w->iov);
	free(w);
	return err;
}

static int is_control(uint32_t cp)
{
	if (cp == '\t' || cp == '\n')
		return 0;
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

size_t pcapng_sanitize_utf8(char *out, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, replaced = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		/* a run of printable ASCII (nearly every comment) as it is */
		for (n = 0; i + n < len && ((s[i + n] >= 0x20 && s[i + n] < 0x7f) ||
					    s[i + n] == '\t' || s[i + n] == '\n');
		     n++)
			;
		if (n) {
			if (out != in)
				memmove(out + i, s + i, n);
			i += n;
			continue;
		}
		n = utf8_char(s + i, len - i, &cp);
		if (n && !is_control(cp)) {
			memmove(out + i, s + i, n);
		} else {
			/* a bad byte alone; a control character whole */
			if (!n)
				n = 1;
			memset(out + i, '?', n);
			replaced += n;
		}
		i += n;
	}
	return replaced;
}
