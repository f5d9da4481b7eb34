// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The lineage model: turns records into per-file facts (read, written,
 * created, deleted, executed), processes, and data-flow edges between
 * files, processes and channels (pipes, FIFOs, sockets). The rules are
 * in docs/lineage.md; the comments here say how each is decided.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "lineage_model.h"
#include "names.h"
#include "pathcache.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define AT_REMOVEDIR_FLAG 0x200
#define RENAME_EXCHANGE_FLAG (1 << 1)
#define AT_SYMLINK_FOLLOW_FLAG 0x400
#define FD_SLOTS_MAX (1 << 20) /* fds above this are not tracked */

/* io_uring opcodes (uapi enum io_uring_op) that move data */
enum {
	URING_READV = 1, URING_WRITEV = 2, URING_READ_FIXED = 4, URING_WRITE_FIXED = 5,
	URING_SENDMSG = 9, URING_RECVMSG = 10, URING_OPENAT = 18, URING_READ = 22,
	URING_WRITE = 23, URING_SEND = 26, URING_RECV = 27, URING_OPENAT2 = 28,
};

static char *xstrdup(struct lineage *lg, const char *s)
{
	char *d = strdup(s);

	if (!d)
		lg->oom++;
	return d;
}

static int grow_array(void ***arr, int *n, int *cap, void *item)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		void **na = realloc(*arr, ncap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = item;
	return 0;
}

void lineage_normalize_path(char *path)
{
	char *out = path, *p = path;

	if (*p != '/')
		return; /* relative: nothing known to resolve against */
	while (*p) {
		char *seg;
		size_t n;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = p - seg;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

void lin_iso_time(uint64_t real_ns, char *buf, size_t len)
{
	time_t sec = real_ns / 1000000000ULL;
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", base, (unsigned int)(real_ns % 1000000000ULL / 1000000));
}

/* ---- entities ------------------------------------------------------------ */

static struct lin_file *file_at(struct lineage *lg, const char *path)
{
	struct lin_file *f = lmap_get(&lg->files_by_path, path);

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path)) || lmap_put(&lg->files_by_path, path, f) ||
	    grow_array((void ***)&lg->files, &lg->nfiles, &lg->cap_files, f)) {
		lmap_del(&lg->files_by_path, path);
		if (f)
			free(f->path);
		free(f);
		lg->oom++;
		return NULL;
	}
	return f;
}

static void id_key(uint32_t dev, uint64_t ino, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu32 ":%" PRIu64, dev, ino);
}

static struct lin_file *file_by_id(struct lineage *lg, uint32_t dev, uint64_t ino)
{
	char key[48];

	if (!ino)
		return NULL;
	id_key(dev, ino, key, sizeof(key));
	return lmap_get(&lg->files_by_id, key);
}

/* The content now at f's path is the inode (dev, ino). */
static void file_set_id(struct lineage *lg, struct lin_file *f, uint32_t dev, uint64_t ino)
{
	char key[48];

	if (!ino)
		return;
	f->dev = dev;
	f->ino = ino;
	id_key(dev, ino, key, sizeof(key));
	if (lmap_put(&lg->files_by_id, key, f))
		lg->oom++;
}

/* A normalized absolute path from an event's bytes, or false. */
static bool event_path(const void *data, size_t len, char *buf, size_t buflen)
{
	if (!len || len >= buflen || memchr(data, 0, len))
		return false;
	memcpy(buf, data, len);
	buf[len] = 0;
	if (buf[0] != '/')
		return false;
	lineage_normalize_path(buf);
	return true;
}

/*
 * The file an fd refers to: by identity first (follows renames the model
 * saw), then the path the stitcher found, then /proc. NULL when unknown
 * or not a regular file.
 */
static struct lin_file *file_of(struct lineage *lg, const struct zcap_fdinfo *fi, const char *path,
				pid_t pid, int fd)
{
	char buf[PATH_MAX], link[64];
	struct lin_file *f;
	struct stat st;
	ssize_t n;

	if (fi->kind != ZCAP_FD_FILE)
		return NULL;
	f = file_by_id(lg, fi->dev, fi->ino);
	if (f)
		return f;
	if (path && path[0] == '/' && strlen(path) < sizeof(buf)) {
		strcpy(buf, path);
	} else {
		if (fd < 0)
			return NULL;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(link, buf, sizeof(buf) - 1);
		if (n <= 0 || stat(link, &st) || st.st_ino != fi->ino ||
		    st.st_dev != kernel_dev_to_dev(fi->dev))
			return NULL;
		buf[n] = 0;
		if (buf[0] != '/')
			return NULL;
	}
	lineage_normalize_path(buf);
	f = file_at(lg, buf);
	if (f)
		file_set_id(lg, f, fi->dev, fi->ino);
	return f;
}

void lin_proc_node(const struct lin_proc *p, char *buf, size_t len)
{
	snprintf(buf, len, "process:%d", (int)p->pid);
}

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static char **copy_argv(char *const *argv)
{
	int n = 0;
	char **c;

	while (argv && argv[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	if (!c)
		return NULL;
	for (int i = 0; i < n; i++) {
		c[i] = strdup(argv[i]);
		if (!c[i]) {
			free_argv(c);
			return NULL;
		}
	}
	return c;
}

static struct lin_proc *proc_find(struct lineage *lg, pid_t pid)
{
	char key[16];

	snprintf(key, sizeof(key), "%d", (int)pid);
	return lmap_get(&lg->procs_by_pid, key);
}

/* A new process record (a pid seen again after its exit is a new one). */
static struct lin_proc *proc_new(struct lineage *lg, pid_t pid, pid_t ppid, uint64_t ts)
{
	struct lin_proc *p = calloc(1, sizeof(*p));
	char key[16];

	snprintf(key, sizeof(key), "%d", (int)pid);
	if (!p || lmap_put(&lg->procs_by_pid, key, p) ||
	    grow_array((void ***)&lg->procs, &lg->nprocs, &lg->cap_procs, p)) {
		lmap_del(&lg->procs_by_pid, key);
		free(p);
		lg->oom++;
		return NULL;
	}
	p->pid = pid;
	p->ppid = ppid;
	p->exit_code = -1;
	p->start_ns = ts;
	return p;
}

/* The live process of this pid, created on first sight. */
static struct lin_proc *proc_of(struct lineage *lg, pid_t pid, pid_t ppid, uint64_t ts)
{
	struct lin_proc *p = proc_find(lg, pid);

	if (p && !p->exited)
		return p;
	return proc_new(lg, pid, ppid, ts);
}

static struct fdslot *fd_slot(struct lineage *lg, struct lin_proc *p, int fd, bool create)
{
	if (!p || fd < 0 || fd >= FD_SLOTS_MAX)
		return NULL;
	if (fd >= p->nfds) {
		int n = p->nfds ? p->nfds : 64;
		struct fdslot *nf;

		if (!create)
			return NULL;
		while (n <= fd)
			n *= 2;
		nf = realloc(p->fds, n * sizeof(*nf));
		if (!nf) {
			lg->oom++;
			return NULL;
		}
		memset(nf + p->nfds, 0, (n - p->nfds) * sizeof(*nf));
		p->fds = nf;
		p->nfds = n;
	}
	return &p->fds[fd];
}

static void fd_track(struct lineage *lg, struct lin_proc *p, int fd, const struct zcap_fdinfo *fi,
		   bool trunc, bool cloexec)
{
	struct fdslot *s = fd_slot(lg, p, fd, true);

	if (!s)
		return;
	s->used = true;
	s->trunc = trunc;
	s->cloexec = cloexec;
	s->tcp_end = LIN_TCP_UNKNOWN;
	s->dev = fi->dev;
	s->ino = fi->ino;
}

/* Was this fd opened with O_TRUNC? Only trusted while the fd still refers
 * to the same file (an fd change the model missed cannot mislead it). */
static bool fd_truncating(struct lineage *lg, struct lin_proc *p, int fd,
			  const struct zcap_fdinfo *fi)
{
	struct fdslot *s = fd_slot(lg, p, fd, false);

	return s && s->used && s->trunc && s->dev == fi->dev && s->ino == fi->ino;
}

static struct lin_edge *edge_add(struct lineage *lg, const char *from, const char *to,
				 const char *via, uint64_t bytes)
{
	char key[2 * PATH_MAX + 64];
	struct lin_edge *e;

	snprintf(key, sizeof(key), "%s\x01%s\x01%s", from, to, via);
	e = lmap_get(&lg->edges_by_key, key);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->from = strdup(from)) || !(e->to = strdup(to)) ||
		    lmap_put(&lg->edges_by_key, key, e) ||
		    grow_array((void ***)&lg->edges, &lg->nedges, &lg->cap_edges, e)) {
			lmap_del(&lg->edges_by_key, key);
			if (e) {
				free(e->from);
				free(e->to);
			}
			free(e);
			lg->oom++;
			return NULL;
		}
		snprintf(e->via, sizeof(e->via), "%s", via);
	}
	e->bytes += bytes;
	return e;
}

/* A pipe, FIFO or socket as a graph node; false for anything else. Both
 * ends of one channel get the same name. */
static bool chan_node(const struct zcap_fdinfo *fi, const char *path, char *buf, size_t len)
{
	char a[ZCAP_ADDRSTRLEN + 8], b[ZCAP_ADDRSTRLEN + 8];
	int fam = fi->family == AF_INET6 ? AF_INET6 : AF_INET;

	switch (fi->kind) {
	case ZCAP_FD_PIPE:
		if (path && path[0] == '/')
			snprintf(buf, len, "fifo:%s", path);
		else
			snprintf(buf, len, "pipe:%" PRIu64, (uint64_t)fi->ino);
		return true;
	case ZCAP_FD_UNIX:
		if (fi->peer_ino)
			snprintf(buf, len, "unix:%" PRIu64 "-%" PRIu64,
				 (uint64_t)(fi->ino < fi->peer_ino ? fi->ino : fi->peer_ino),
				 (uint64_t)(fi->ino < fi->peer_ino ? fi->peer_ino : fi->ino));
		else
			snprintf(buf, len, "unix:%" PRIu64, (uint64_t)fi->ino);
		return true;
	case ZCAP_FD_TCP:
	case ZCAP_FD_UDP:
		endpoint_format(fam, fi->laddr, fi->lport, a, sizeof(a));
		endpoint_format(fam, fi->raddr, fi->rport, b, sizeof(b));
		/* the same connection seen from either end: order the ends */
		snprintf(buf, len, "%s:%s-%s", fi->kind == ZCAP_FD_TCP ? "tcp" : "udp",
			 strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a);
		return true;
	default:
		return false;
	}
}

/* ---- file facts ------------------------------------------------------------ */

static void file_node(const struct lin_file *f, char *buf, size_t len)
{
	snprintf(buf, len, "file:%s", f->path);
}

/*
 * Open `name` if it is the regular file (dev, ino) (any, when ino is 0),
 * as the --user would (nothing it could not read is hashed). A path is
 * never followed through a final symlink (`flags` O_NOFOLLOW); /proc's fd
 * links are followed, they name the process's own open file.
 */
static int open_same(const struct lineage *lg, const char *name, int flags, uint32_t dev,
		     uint64_t ino)
{
	struct stat st;
	int fd = fscreds_open(lg->creds, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (ino && (st.st_ino != ino || st.st_dev != kernel_dev_to_dev(dev)))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open the content the process just read, as close to the read as we can
 * (its own fd first, so a replaced path does not mislead; the fd may have
 * been closed and reused since, then the path), for hashing. */
static void queue_before_hash(struct lineage *lg, struct lin_file *f, pid_t pid, int fd,
			      uint32_t dev, uint64_t ino, uint64_t real_ns)
{
	char link[64];
	int hfd = -1;

	f->before_queued = true;
	if (!lg->hasher || !strncmp(f->path, "/proc/", 6) || !strncmp(f->path, "/sys/", 5))
		return;
	if (fd >= 0) {
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		hfd = open_same(lg, link, 0, dev, ino);
	}
	if (hfd < 0)
		hfd = open_same(lg, f->path, O_NOFOLLOW, dev, ino);
	if (hfd >= 0)
		lin_hasher_submit(lg->hasher, hfd, f->sha_before, real_ns);
}

/* note_read, note_write: the edge the bytes went to (NULL on failure) */
static struct lin_edge *note_read(struct lineage *lg, struct lin_file *f, struct lin_proc *p,
				  uint64_t bytes, const char *via, int fd, uint64_t ts)
{
	char from[PATH_MAX + 8], to[32];
	struct lin_edge *e;

	f->opened = true;
	f->read = true;
	f->bytes_read += bytes;
	if (pidset_add(&f->readers, p->pid))
		lg->oom++;
	if (!f->created)
		f->existed = true;
	file_node(f, from, sizeof(from));
	lin_proc_node(p, to, sizeof(to));
	e = edge_add(lg, from, to, via, bytes);
	if (!f->before_queued)
		queue_before_hash(lg, f, p->pid, fd, f->dev, f->ino, ts);
	return e;
}

static struct lin_edge *note_write(struct lineage *lg, struct lin_file *f, struct lin_proc *p,
				   uint64_t bytes, const char *via)
{
	char from[32], to[PATH_MAX + 8];

	f->opened = true;
	f->written = true;
	/* not deleted = false: writing an unlinked file's inode through an
	 * open fd leaves no name behind */
	f->bytes_written += bytes;
	if (pidset_add(&f->writers, p->pid))
		lg->oom++;
	lin_proc_node(p, from, sizeof(from));
	file_node(f, to, sizeof(to));
	return edge_add(lg, from, to, via, bytes);
}

static void note_exec(struct lineage *lg, struct lin_file *f, struct lin_proc *p, uint64_t ts)
{
	char from[PATH_MAX + 8], to[32];

	f->executed = true;
	if (!f->created)
		f->existed = true;
	file_node(f, from, sizeof(from));
	lin_proc_node(p, to, sizeof(to));
	edge_add(lg, from, to, "exec", 0);
	if (!f->before_queued)
		queue_before_hash(lg, f, p->pid, -1, f->dev, f->ino, ts);
}

/* Which end of its TCP connection a socket is: as the fd table saw it
 * made (accept: server; connect: client), else the lower port is taken
 * for the listening one (clients get ephemeral ports). */
static bool tcp_local_is_server(struct lineage *lg, struct lin_proc *p, int fd,
				const struct zcap_fdinfo *fi)
{
	struct fdslot *s = fd_slot(lg, p, fd, false);

	if (s && s->used && s->ino == fi->ino && s->tcp_end != LIN_TCP_UNKNOWN)
		return s->tcp_end == LIN_TCP_SERVER;
	return fi->lport < fi->rport;
}

/* The dataset of a TCP connection, created on first sight. */
static struct lin_peer *peer_of(struct lineage *lg, struct lin_proc *p, int fd,
				const struct zcap_fdinfo *fi, const char *chan)
{
	struct lin_peer *pe = lmap_get(&lg->peers_by_chan, chan);
	int fam = fi->family == AF_INET6 ? AF_INET6 : AF_INET;
	char srv[ZCAP_ADDRSTRLEN + 8], cli[ZCAP_ADDRSTRLEN + 8];
	bool local_srv;

	if (pe)
		return pe;
	local_srv = tcp_local_is_server(lg, p, fd, fi);
	endpoint_format(fam, local_srv ? fi->laddr : fi->raddr, local_srv ? fi->lport : fi->rport,
			srv, sizeof(srv));
	endpoint_format(fam, local_srv ? fi->raddr : fi->laddr, local_srv ? fi->rport : fi->lport,
			cli, sizeof(cli));
	pe = calloc(1, sizeof(*pe));
	if (!pe || asprintf(&pe->ns, "tcp://%s", srv) < 0 || !(pe->name = strdup(cli)) ||
	    lmap_put(&lg->peers_by_chan, chan, pe) ||
	    grow_array((void ***)&lg->peers, &lg->npeers, &lg->cap_peers, pe)) {
		lmap_del(&lg->peers_by_chan, chan);
		if (pe) {
			free(pe->ns);
			free(pe->name);
		}
		free(pe);
		lg->oom++;
		return NULL;
	}
	return pe;
}

/* Data between a process and a channel: an edge; a TCP connection is
 * also a dataset with the bytes each way. */
static void note_chan(struct lineage *lg, struct lin_proc *p, const struct zcap_fdinfo *fi,
		      const char *path, int fd, bool in, uint64_t bytes, const char *via)
{
	char chan[PATH_MAX + 80], proc[32];
	struct lin_peer *pe;

	if (!chan_node(fi, path, chan, sizeof(chan)))
		return;
	if (fi->kind == ZCAP_FD_TCP && (pe = peer_of(lg, p, fd, fi, chan))) {
		*(in ? &pe->bytes_received : &pe->bytes_sent) += bytes;
		if (pidset_add(in ? &pe->receivers : &pe->senders, p->pid))
			lg->oom++;
	}
	lin_proc_node(p, proc, sizeof(proc));
	if (in)
		edge_add(lg, chan, proc, via, bytes);
	else
		edge_add(lg, proc, chan, via, bytes);
}

/* One end of a transfer: a file (read or written) or a channel. memo (may
 * be NULL) gets where a file's bytes went: file and edge, or neither for
 * bytes that count nowhere; it stays invalid for a channel or a failure. */
static void note_end(struct lineage *lg, struct lin_proc *p, const struct zcap_fdinfo *fi,
		     const char *path, int fd, bool in, uint64_t bytes, const char *via, uint64_t ts,
		     struct lin_io_memo *memo)
{
	struct lin_edge *e = NULL;
	struct lin_file *f;
	bool counted = true;

	if (fi->kind != ZCAP_FD_FILE) {
		note_chan(lg, p, fi, path, fd, in, bytes, via);
		return;
	}
	f = file_of(lg, fi, path, p->pid, fd);
	if (!f)
		return;
	if (!in) {
		e = note_write(lg, f, p, bytes, via);
	} else if (!fd_truncating(lg, p, fd, fi)) {
		e = note_read(lg, f, p, bytes, via, fd, ts);
	} else {
		f->opened = true; /* read back through an O_TRUNC fd: its own output */
		counted = false;
	}
	if (memo && (e || !counted)) {
		memo->f = counted ? f : NULL;
		memo->e = e;
		memo->gen = lg->gen;
	}
}

/* ---- records ---------------------------------------------------------------- */

static uint64_t real_ns(const struct lineage *lg, const struct zcap_hdr *h)
{
	return h->ts_ns + lg->mono_to_real;
}

/*
 * A read or write. A process moving a file through many small calls sends
 * one record each (a build's bpftool writes 100k lines): the next record
 * of the same process, fd, file and direction, with no other record in
 * between (lg->gen: any other kind of record may change what an id, a
 * path or an fd stands for), only adds its bytes where the last one's
 * went. The rest of what note_read/note_write do is done once already.
 */
static void on_io(struct lineage *lg, const struct zrec *r)
{
	const struct zcap_io *io = r->ev->io;
	struct lin_io_memo *m = &lg->io_memo[((uint32_t)io->h.pid * 31u + (uint32_t)io->fd) %
					     LIN_IO_MEMOS];
	struct lin_proc *p;

	if (io->ret <= 0 || r->len == 0)
		return; /* nothing flowed */
	if (io->f.kind == ZCAP_FD_FILE && m->gen == lg->gen && m->pid == (pid_t)io->h.pid &&
	    m->fd == io->fd && m->dir == io->dir && m->dev == io->f.dev && m->ino == io->f.ino) {
		if (m->f) {
			*(io->dir == ZCAP_DIR_IN ? &m->f->bytes_read : &m->f->bytes_written) += r->len;
			m->e->bytes += r->len;
		}
		return;
	}
	p = proc_of(lg, io->h.pid, 0, real_ns(lg, &io->h));
	if (!p)
		return;
	m->gen = 0;
	m->pid = io->h.pid;
	m->fd = io->fd;
	m->dir = io->dir;
	m->dev = io->f.dev;
	m->ino = io->f.ino;
	note_end(lg, p, &io->f, r->path, io->fd, io->dir == ZCAP_DIR_IN, r->len,
		 io->dir == ZCAP_DIR_IN ? "read" : "write", real_ns(lg, &io->h), m);
}

static void on_open(struct lineage *lg, struct lin_proc *p, const struct zcap_fdinfo *fi, int fd,
		    uint32_t oflags, uint16_t ev_flags, const char *path)
{
	struct lin_file *f;
	char buf[PATH_MAX];

	fd_track(lg, p, fd, fi, oflags & O_TRUNC, oflags & O_CLOEXEC);
	if (fi->kind != ZCAP_FD_FILE || !path || path[0] != '/' || strlen(path) >= sizeof(buf))
		return;
	strcpy(buf, path);
	lineage_normalize_path(buf);
	f = file_at(lg, buf);
	if (!f)
		return;
	file_set_id(lg, f, fi->dev, fi->ino);
	f->opened = true;
	if ((oflags & O_TMPFILE) == O_TMPFILE) {
		/* an unnamed inode ("DIR/#INO"): it has no path until linked */
		f->created = true;
		f->anon = true;
		f->deleted = true;
	} else if (ev_flags & ZCAP_FD_CREATED) {
		f->created = true;
		f->deleted = false;
	} else if (!f->created) {
		f->existed = true;
	}
	/* O_TRUNC of an existing non-empty file changed its content */
	if ((oflags & O_TRUNC) && (ev_flags & ZCAP_FD_NONEMPTY))
		note_write(lg, f, p, 0, "truncate");
}

static void copy_fd(struct lineage *lg, struct lin_proc *p, int to, int from,
		    const struct zcap_fdinfo *fi, bool cloexec)
{
	struct fdslot *src = fd_slot(lg, p, from, false);
	bool same = src && src->used && src->dev == fi->dev && src->ino == fi->ino;
	bool trunc = same && src->trunc;
	uint8_t end = same ? src->tcp_end : LIN_TCP_UNKNOWN;
	struct fdslot *dst;

	if (to == from)
		return;
	fd_track(lg, p, to, fi, trunc, cloexec); /* may move p->fds: src is stale */
	dst = fd_slot(lg, p, to, false);
	if (dst)
		dst->tcp_end = end;
}

static void on_fd(struct lineage *lg, const struct zrec *r)
{
	const struct zcap_fd_ev *e = r->ev->fd;
	struct lin_proc *p = proc_of(lg, e->h.pid, 0, real_ns(lg, &e->h));
	struct fdslot *s;

	if (!p)
		return;
	switch (e->syscall) {
	case ZCAP_SYS_OPEN:
	case ZCAP_SYS_OPENAT:
	case ZCAP_SYS_OPENAT2:
	case ZCAP_SYS_CREAT:
		if (e->ret >= 0)
			on_open(lg, p, &e->f, e->fd, e->oflags, e->ev_flags, r->path);
		break;
	case ZCAP_SYS_DUP:
	case ZCAP_SYS_FCNTL:
	case ZCAP_SYS_DUP2:
	case ZCAP_SYS_DUP3:
		/* a failed dup3(9999, 100) must leave fd 100 alone */
		if (e->ret >= 0)
			copy_fd(lg, p, e->fd, e->fd2, &e->f,
				e->syscall == ZCAP_SYS_DUP3 && (e->oflags & O_CLOEXEC));
		break;
	case ZCAP_SYS_CLOSE:
		s = fd_slot(lg, p, e->fd, false);
		if (s)
			memset(s, 0, sizeof(*s));
		break;
	case ZCAP_SYS_CLOSE_RANGE:
		if (e->ret != 0)
			break;
		for (uint32_t fd = (uint32_t)e->fd; fd <= (uint32_t)e->fd2 && (int)fd < p->nfds; fd++) {
			if (e->oflags & CLOSE_RANGE_CLOEXEC)
				p->fds[fd].cloexec = true;
			else
				memset(&p->fds[fd], 0, sizeof(p->fds[fd]));
		}
		break;
	case ZCAP_SYS_PIPE:
	case ZCAP_SYS_PIPE2:
	case ZCAP_SYS_SOCKETPAIR:
		if (e->ret == 0) {
			fd_track(lg, p, e->fd, &e->f, false, e->oflags & O_CLOEXEC);
			fd_track(lg, p, e->fd2, &e->f2, false, e->oflags & O_CLOEXEC);
		}
		break;
	case ZCAP_SYS_SOCKET:
	case ZCAP_SYS_ACCEPT:
	case ZCAP_SYS_ACCEPT4:
		if (e->ret < 0)
			break;
		fd_track(lg, p, e->fd, &e->f, false, e->oflags & SOCK_CLOEXEC);
		if (e->syscall != ZCAP_SYS_SOCKET && (s = fd_slot(lg, p, e->fd, false)))
			s->tcp_end = LIN_TCP_SERVER;
		break;
	case ZCAP_SYS_CONNECT:
		/* a non-blocking connect returns EINPROGRESS and still connects */
		s = fd_slot(lg, p, e->fd, false);
		if ((e->ret == 0 || e->ret == -EINPROGRESS) && s && s->used)
			s->tcp_end = LIN_TCP_CLIENT;
		break;
	}
}

static char **parse_argv(const uint8_t *data, uint32_t len)
{
	const char *s = (const char *)data, *end = s + len;
	int n = 0, i = 0;
	char **argv;

	for (const char *q = s; q < end; q += strnlen(q, end - q) + 1)
		n++;
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return NULL;
	for (; s < end && i < n; i++) {
		size_t k = strnlen(s, end - s);

		argv[i] = strndup(s, k);
		if (!argv[i]) {
			free_argv(argv);
			return NULL;
		}
		s += k + 1;
	}
	return argv;
}

static void on_proc(struct lineage *lg, const struct zrec *r)
{
	const struct zcap_proc_ev *e = r->ev->proc;
	uint64_t ts = real_ns(lg, &e->h);
	struct lin_proc *p, *c;

	switch (e->syscall) {
	case ZCAP_SYS_FORK:
		if (e->is_thread)
			return; /* threads share the process's files */
		p = proc_of(lg, e->h.pid, e->ppid, ts);
		c = proc_new(lg, e->child_pid, e->h.pid, ts);
		if (!p || !c)
			return;
		/* the child starts with a copy of the parent's fd table */
		if (p->nfds) {
			c->fds = malloc(p->nfds * sizeof(*c->fds));
			if (c->fds) {
				memcpy(c->fds, p->fds, p->nfds * sizeof(*c->fds));
				c->nfds = p->nfds;
			} else {
				lg->oom++;
			}
		}
		c->argv = copy_argv(p->argv);
		c->exe = p->exe ? xstrdup(lg, p->exe) : NULL;
		break;
	case ZCAP_SYS_EXEC:
		p = proc_of(lg, e->h.pid, e->ppid, ts);
		if (!p)
			return;
		if (!p->ppid)
			p->ppid = e->ppid;
		free_argv(p->argv);
		p->argv = parse_argv(r->data, e->argv_len);
		/* the name execve was given, unless the image's own path (the
		 * fs part's exec record, either order) is already known */
		if (!p->exe_exact && e->argv_len < r->data_len) {
			free(p->exe);
			p->exe = strndup((const char *)r->data + e->argv_len,
					 strnlen((const char *)r->data + e->argv_len,
						 r->data_len - e->argv_len));
		}
		for (int fd = 0; fd < p->nfds; fd++)
			if (p->fds[fd].cloexec)
				memset(&p->fds[fd], 0, sizeof(p->fds[fd]));
		break;
	case ZCAP_SYS_EXIT:
		p = proc_find(lg, e->h.pid);
		if (!p || p->exited)
			return;
		p->exited = true;
		p->end_ns = ts;
		p->exit_code = (e->exit_code & 0x7f) ? 128 + (e->exit_code & 0x7f)
						      : (e->exit_code >> 8) & 0xff;
		break;
	}
}

/* Both names of a rename/link, normalized; false if either is unusable. */
static bool two_paths(const struct zrec *r, char *a, char *b)
{
	const struct zcap_fs_ev *e = r->ev->fs;

	if (e->path_len + 1u >= r->data_len)
		return false;
	return event_path(r->data, e->path_len, a, PATH_MAX) &&
	       event_path(r->data + e->path_len + 1, r->data_len - e->path_len - 1, b, PATH_MAX);
}

/* rename(old, new): the content at old now lives at new. The atomic-save
 * pattern (write a temporary, rename it into place) thus reports new as
 * written with old as its origin; a temporary the run created is folded
 * into new and not listed itself. */
static void do_rename(struct lineage *lg, struct lin_proc *p, const char *old, const char *new,
		      bool exchange, bool replaced)
{
	struct lin_file *fo = file_at(lg, old), *fn = file_at(lg, new);
	char from[PATH_MAX + 8], to[PATH_MAX + 8];

	if (!fo || !fn || fo == fn)
		return;
	if (exchange) {
		/* both paths now hold the other's content: both changed */
		note_write(lg, fo, p, 0, "rename");
		note_write(lg, fn, p, 0, "rename");
		return;
	}
	if (!fo->created)
		fo->existed = true;
	/* the kernel saw the target it replaced go (ZCAP_FS_REPLACED): new
	 * held other content before, now overwritten */
	if (replaced && !fn->created) {
		fn->existed = true;
		fn->written = true;
	}
	fn->written |= fo->written;
	fn->bytes_written += fo->bytes_written;
	for (int i = 0; i < fo->writers.n; i++)
		if (pidset_add(&fn->writers, fo->writers.v[i]))
			lg->oom++;
	if (!fn->existed)
		fn->created = fn->created || fo->created;
	fn->is_dir = fo->is_dir;
	fn->opened = true;
	fn->deleted = false;
	free(fn->origin);
	fn->origin = xstrdup(lg, old);
	fo->moved_away = true;
	fo->deleted = true;
	fo->successor = fn;
	if (fo->ino)
		file_set_id(lg, fn, fo->dev, fo->ino);
	if (!fo->created) {
		/* a pre-existing file moved: data flowed from old to new */
		file_node(fo, from, sizeof(from));
		file_node(fn, to, sizeof(to));
		edge_add(lg, from, to, "rename", 0);
	}
}

/* link(old, new): a new name for old's content (link fails if new exists). */
static void do_link(struct lineage *lg, const char *old, const char *new)
{
	struct lin_file *fo = file_at(lg, old), *fn = file_at(lg, new);

	if (!fo || !fn || fo == fn)
		return;
	if (!fo->created)
		fo->existed = true;
	fn->created = true;
	fn->deleted = false;
	fn->opened = true;
	fn->written |= fo->written;
	fn->bytes_written += fo->bytes_written;
	for (int i = 0; i < fo->writers.n; i++)
		if (pidset_add(&fn->writers, fo->writers.v[i]))
			lg->oom++;
	free(fn->origin);
	fn->origin = fo->anon ? NULL : xstrdup(lg, old); /* "#INO" is no name */
	fo->linked = true;
	fo->successor = fn;
	if (fo->ino)
		file_set_id(lg, fn, fo->dev, fo->ino);
}

/* "/proc/self/fd/N", "/proc/thread-self/fd/N" or "/proc/PID/fd/N" of
 * process p: the file its fd N refers to (the fd table the model keeps). */
static struct lin_file *magic_link_file(struct lineage *lg, struct lin_proc *p, const char *path)
{
	char who[24];
	int fd, end = 0;
	struct fdslot *s;

	if (sscanf(path, "/proc/%23[^/]/fd/%d%n", who, &fd, &end) != 2 || path[end])
		return NULL;
	if (strcmp(who, "self") && strcmp(who, "thread-self") && atoi(who) != p->pid)
		return NULL;
	s = fd_slot(lg, p, fd, false);
	return s && s->used ? file_by_id(lg, s->dev, s->ino) : NULL;
}

/* symlink(target, path): a new name whose content is the target text. */
static void note_symlink(struct lineage *lg, struct lin_file *f, const struct zrec *r)
{
	const struct zcap_fs_ev *e = r->ev->fs;
	size_t tlen = e->path_len + 1u < r->data_len ? r->data_len - e->path_len - 1 : 0;

	f->created = true;
	f->deleted = false;
	f->opened = true;
	free(f->link_target);
	f->link_target = strndup((const char *)r->data + e->path_len + 1, tlen);
	if (!f->link_target)
		lg->oom++;
}

static bool uring_reads(unsigned int op)
{
	return op == URING_READV || op == URING_READ_FIXED || op == URING_READ ||
	       op == URING_RECV || op == URING_RECVMSG;
}

static bool uring_writes(unsigned int op)
{
	return op == URING_WRITEV || op == URING_WRITE_FIXED || op == URING_WRITE ||
	       op == URING_SEND || op == URING_SENDMSG;
}

static void on_uring(struct lineage *lg, struct lin_proc *p, const struct zrec *r, uint64_t ts)
{
	const struct zcap_fs_ev *e = r->ev->fs;
	unsigned int op = e->arg & 0xff;
	char path[PATH_MAX];

	if (op == URING_OPENAT || op == URING_OPENAT2) {
		bool have = event_path(r->data, e->path_len, path, sizeof(path));

		/* arg bit 8: the open created the file (kern/fs.bpf.c) */
		if (e->ret >= 0 && e->fd >= 0)
			on_open(lg, p, &e->f, e->fd, e->arg >> 32,
				(e->arg & 0x100) ? ZCAP_FD_CREATED : 0, have ? path : NULL);
		return;
	}
	if (e->ret <= 0)
		return;
	if (uring_reads(op))
		note_end(lg, p, &e->f, NULL, -1, true, e->ret, "io_uring", ts, NULL);
	else if (uring_writes(op))
		note_end(lg, p, &e->f, NULL, -1, false, e->ret, "io_uring", ts, NULL);
}

static void on_mmap(struct lineage *lg, struct lin_proc *p, const struct zrec *r, uint64_t ts)
{
	const struct zcap_fs_ev *e = r->ev->fs;
	unsigned int prot = e->arg >> 32, flags = e->arg & 0xffffffff;
	unsigned int type = flags & 0x0f; /* MAP_TYPE */
	char path[PATH_MAX];
	bool have = event_path(r->data, e->path_len, path, sizeof(path));
	struct lin_file *f = file_of(lg, &e->f, have ? path : NULL, p->pid, e->fd);

	if (!f)
		return;
	f->opened = true;
	/* data flows out of the file only through a readable open file */
	if (prot & PROT_EXEC)
		f->code = true;
	if ((prot & PROT_READ) && (e->f.flags & O_ACCMODE) != O_WRONLY &&
	    !fd_truncating(lg, p, e->fd, &e->f))
		note_read(lg, f, p, 0, "mmap", e->fd, ts);
	if ((prot & PROT_WRITE) && (type == MAP_SHARED || type == MAP_SHARED_VALIDATE))
		note_write(lg, f, p, 0, "mmap");
}

static void on_fs(struct lineage *lg, const struct zrec *r)
{
	const struct zcap_fs_ev *e = r->ev->fs;
	uint64_t ts = real_ns(lg, &e->h);
	struct lin_proc *p = proc_of(lg, e->h.pid, 0, ts);
	char a[PATH_MAX], b[PATH_MAX];
	struct lin_file *f;
	bool have_a;

	if (!p)
		return;
	if (e->syscall == ZCAP_SYS_IOURING) {
		on_uring(lg, p, r, ts);
		return;
	}
	if (e->ret < 0)
		return;
	have_a = event_path(r->data, e->path_len, a, sizeof(a));
	switch (e->syscall) {
	case ZCAP_SYS_MMAP:
		on_mmap(lg, p, r, ts);
		break;
	case ZCAP_SYS_TRUNCATE:
	case ZCAP_SYS_FTRUNCATE:
		f = e->syscall == ZCAP_SYS_FTRUNCATE ? file_of(lg, &e->f, have_a ? a : NULL, p->pid, e->fd)
						     : (have_a ? file_at(lg, a) : NULL);
		if (f)
			note_write(lg, f, p, 0, "truncate");
		break;
	case ZCAP_SYS_RENAME:
	case ZCAP_SYS_RENAMEAT:
	case ZCAP_SYS_RENAMEAT2:
		if (two_paths(r, a, b))
			do_rename(lg, p, a, b, e->arg & RENAME_EXCHANGE_FLAG,
				  e->fs_flags & ZCAP_FS_REPLACED);
		break;
	case ZCAP_SYS_LINK:
	case ZCAP_SYS_LINKAT:
		if (!two_paths(r, a, b))
			break;
		/* linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW): the fd's inode,
		 * as the AT_EMPTY_PATH form names it */
		if (e->syscall == ZCAP_SYS_LINKAT && (e->arg & AT_SYMLINK_FOLLOW_FLAG) &&
		    (f = magic_link_file(lg, p, a)))
			snprintf(a, sizeof(a), "%s", f->path);
		do_link(lg, a, b);
		break;
	case ZCAP_SYS_SYMLINK:
	case ZCAP_SYS_SYMLINKAT:
		if (have_a && (f = file_at(lg, a)))
			note_symlink(lg, f, r);
		break;
	case ZCAP_SYS_UNLINK:
	case ZCAP_SYS_UNLINKAT:
	case ZCAP_SYS_RMDIR:
		if (have_a && (f = file_at(lg, a))) {
			if (!f->created)
				f->existed = true;
			f->deleted = true;
			if (e->syscall == ZCAP_SYS_RMDIR || (e->arg & AT_REMOVEDIR_FLAG))
				f->is_dir = true;
		}
		break;
	case ZCAP_SYS_MKDIR:
	case ZCAP_SYS_MKDIRAT:
		if (have_a && (f = file_at(lg, a))) {
			f->is_dir = true;
			f->created = true;
			f->deleted = false;
		}
		break;
	case ZCAP_SYS_EXEC:
		if (have_a && (f = file_at(lg, a))) {
			file_set_id(lg, f, e->f.dev, e->f.ino);
			note_exec(lg, f, p, ts);
			free(p->exe);
			p->exe = xstrdup(lg, a);
			p->exe_exact = true;
		}
		/* a script: the file named by execve, run by its interpreter */
		if (e->path_len + 1u < r->data_len &&
		    event_path(r->data + e->path_len + 1, r->data_len - e->path_len - 1, b,
			       sizeof(b)) &&
		    (f = file_at(lg, b)))
			note_exec(lg, f, p, ts);
		break;
	}
}

static void on_xfer(struct lineage *lg, const struct zrec *r)
{
	const struct zcap_xfer_ev *x = r->ev->xfer;
	uint64_t ts = real_ns(lg, &x->h);
	struct lin_proc *p;
	const char *via = syscall_name(x->syscall);

	if (x->ret <= 0)
		return;
	p = proc_of(lg, x->h.pid, 0, ts);
	if (!p)
		return;
	note_end(lg, p, &x->in, NULL, x->fd_in, true, x->ret, via, ts, NULL);
	note_end(lg, p, &x->out, NULL, x->fd_out, false, x->ret, via, ts, NULL);
}

int lineage_feed(struct lineage *lg, const struct zrec *r)
{
	uint64_t oom = lg->oom;

	/* what on_io remembered holds until a record of another kind */
	if (r->ev->type != ZCAP_EV_IO)
		lg->gen++;
	switch (r->ev->type) {
	case ZCAP_EV_IO:
		on_io(lg, r);
		break;
	case ZCAP_EV_FD:
		on_fd(lg, r);
		break;
	case ZCAP_EV_PROC:
		on_proc(lg, r);
		break;
	case ZCAP_EV_FS:
		on_fs(lg, r);
		break;
	case ZCAP_EV_XFER:
		on_xfer(lg, r);
		break;
	}
	return lg->oom > oom ? -ENOMEM : 0;
}

bool lin_file_listed(const struct lin_file *f)
{
	/* a temporary the run made and then renamed (or linked and removed)
	 * into its final name is that file's origin, not a file of its own */
	if (f->created && (f->moved_away || (f->linked && f->deleted)))
		return false;
	return f->opened || f->read || f->written || f->executed || f->created || f->deleted;
}

/* ---- life cycle ---------------------------------------------------------------- */

struct lineage *lineage_new(char *const *cmd)
{
	struct lineage *lg = calloc(1, sizeof(*lg));

	if (!lg)
		return NULL;
	lg->cmd = copy_argv(cmd);
	lg->gen = 1;
	lg->hasher = lin_hasher_new();
	lg->mono_to_real = mono_to_real_offset();
	if (gethostname(lg->host, sizeof(lg->host) - 1))
		snprintf(lg->host, sizeof(lg->host), "localhost");
	if (!lg->cmd || !lg->hasher) {
		lineage_free(lg);
		return NULL;
	}
	return lg;
}

int lineage_set_user(struct lineage *lg, const char *user)
{
	int err;

	lg->creds = calloc(1, sizeof(*lg->creds));
	if (!lg->creds)
		return -ENOMEM;
	err = fscreds_of_user(lg->creds, user);
	if (err) {
		free(lg->creds);
		lg->creds = NULL;
	}
	return err;
}

void lineage_set_drops(struct lineage *lg, const uint64_t drops[ZCAP_DROP_MAX],
		       uint64_t bad_records)
{
	memcpy(lg->drops, drops, sizeof(lg->drops));
	lg->bad_records = bad_records;
}

void lineage_set_stop_signal(struct lineage *lg, int sig)
{
	lg->stop_signal = sig;
}

void lineage_finish(struct lineage *lg, const struct timespec *start, const struct timespec *end,
		    int exit_code, uint64_t dropped_events)
{
	lg->start = *start;
	lg->end = *end;
	lg->exit_code = exit_code;
	lg->dropped = dropped_events + lg->oom;
	/* outputs: their content after the run */
	for (int i = 0; i < lg->nfiles; i++) {
		struct lin_file *f = lg->files[i];
		int fd;

		if (!lin_file_listed(f) || f->is_dir || f->deleted || !(f->written || f->created) ||
		    !strncmp(f->path, "/proc/", 6) || !strncmp(f->path, "/sys/", 5) || !f->ino)
			continue;
		/* the inode the run wrote, not what was put at its path since */
		fd = open_same(lg, f->path, O_NOFOLLOW, f->dev, f->ino);
		if (fd >= 0)
			lin_hasher_submit(lg->hasher, fd, f->sha_after, 0);
	}
	lin_hasher_wait(lg->hasher);
	/* an input the run itself changed before zcap could open it has no
	 * trustworthy "before" (the hasher compared its mtime to the read) */
}

void lineage_free(struct lineage *lg)
{
	if (!lg)
		return;
	lin_hasher_free(lg->hasher); /* first: jobs write into the files */
	if (lg->creds)
		fscreds_free(lg->creds);
	free(lg->creds);
	for (int i = 0; i < lg->nfiles; i++) {
		pidset_free(&lg->files[i]->readers);
		pidset_free(&lg->files[i]->writers);
		free(lg->files[i]->path);
		free(lg->files[i]->origin);
		free(lg->files[i]->link_target);
		free(lg->files[i]);
	}
	for (int i = 0; i < lg->nprocs; i++) {
		free_argv(lg->procs[i]->argv);
		free(lg->procs[i]->exe);
		free(lg->procs[i]->fds);
		free(lg->procs[i]);
	}
	for (int i = 0; i < lg->nedges; i++) {
		free(lg->edges[i]->from);
		free(lg->edges[i]->to);
		free(lg->edges[i]);
	}
	for (int i = 0; i < lg->npeers; i++) {
		pidset_free(&lg->peers[i]->senders);
		pidset_free(&lg->peers[i]->receivers);
		free(lg->peers[i]->ns);
		free(lg->peers[i]->name);
		free(lg->peers[i]);
	}
	free(lg->peers);
	lmap_clear(&lg->peers_by_chan);
	free(lg->files);
	free(lg->procs);
	free(lg->edges);
	lmap_clear(&lg->files_by_path);
	lmap_clear(&lg->files_by_id);
	lmap_clear(&lg->procs_by_pid);
	lmap_clear(&lg->edges_by_key);
	free_argv(lg->cmd);
	free(lg);
}

/* ---- as a sink ------------------------------------------------------------------ */

struct lineage_sink {
	struct sink base;
	struct lineage *lg;
};

static int ls_record(struct sink *s, const struct zrec *r)
{
	/* an allocation failure is counted (dropped_events), not fatal */
	lineage_feed(((struct lineage_sink *)s)->lg, r);
	return 0;
}

static int ls_finish(struct sink *s, const struct zcap_stats *st)
{
	return 0;
}

static void ls_destroy(struct sink *s)
{
	free(s);
}

static const struct sink_ops lineage_sink_ops = {
	.record = ls_record,
	.finish = ls_finish,
	.destroy = ls_destroy,
};

struct sink *lineage_sink_new(struct lineage *lg)
{
	struct lineage_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &lineage_sink_ops;
	s->lg = lg;
	return &s->base;
}
