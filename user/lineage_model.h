/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The lineage model's data, shared by the model (lineage_model.c) and
 * the writers (lineage_out*.c). */
#ifndef ZCAP_LINEAGE_MODEL_H
#define ZCAP_LINEAGE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "fscreds.h"
#include "lineage.h"
#include "lineage_hash.h"
#include "lineage_map.h"

struct lin_file {
	char *path;
	uint32_t dev; /* kernel encoding; identity of the content at path */
	uint64_t ino;
	bool is_dir;
	bool opened, read, written, executed, created, deleted;
	bool existed;	 /* known to have existed before the run changed it */
	bool moved_away; /* renamed to another path */
	bool linked;	 /* hard-linked to another path */
	bool code;	 /* mapped executable (a library): not a data source */
	bool anon;	 /* an O_TMPFILE: no name until linked into place */
	char *link_target; /* a symlink the run made: its target as given */
	struct lin_file *successor; /* the path it was renamed/linked to */
	uint64_t bytes_read, bytes_written;
	struct pidset readers, writers;
	char *origin; /* the temporary name renamed/linked into place */
	bool before_queued;
	char sha_before[SHA256_HEX_LEN + 1];
	char sha_after[SHA256_HEX_LEN + 1];
};

/* A TCP connection of a traced process as a dataset that joins across
 * hosts: namespace "tcp://SERVER:PORT" (the listening end), name
 * "CLIENT:PORT" — the same from both ends of the connection. */
struct lin_peer {
	char *ns, *name;
	uint64_t bytes_sent, bytes_received; /* by the traced processes */
	struct pidset senders, receivers;
};

/* What lineage needs to know of one fd of a process. */
struct fdslot {
	bool used;
	bool trunc;   /* opened with O_TRUNC: never an input through this fd */
	bool cloexec; /* closed by exec */
	uint8_t tcp_end; /* LIN_TCP_*: which end of a connection the socket is */
	uint32_t dev;
	uint64_t ino;
};

enum { LIN_TCP_UNKNOWN, LIN_TCP_SERVER, LIN_TCP_CLIENT };

struct lin_proc {
	pid_t pid, ppid;
	char **argv; /* NULL-terminated, of the last exec (inherited on fork) */
	char *exe;
	bool exe_exact; /* exe from the exec's own image (kern/fs.bpf.c), not inherited */
	bool exited;
	int exit_code; /* shell-like: 128+N for signal N */
	uint64_t start_ns, end_ns; /* CLOCK_REALTIME ns; 0 unknown */
	struct fdslot *fds;
	int nfds;
	char run_id[37]; /* UUID for OpenLineage */
};

struct lin_edge {
	char *from, *to;
	char via[24];
	uint64_t bytes;
};

/* Where on_io's last file bytes of one process and fd went (lineage_model.c). */
struct lin_io_memo {
	uint64_t gen; /* lineage.gen it holds for; 0 never */
	pid_t pid;
	int fd;
	uint32_t dev;
	uint8_t dir;
	uint64_t ino;
	struct lin_file *f; /* NULL: the bytes count nowhere (read through O_TRUNC) */
	struct lin_edge *e;
};
#define LIN_IO_MEMOS 64

struct lineage {
	char **cmd;
	struct lmap files_by_path; /* path -> lin_file */
	struct lmap files_by_id;   /* "dev:ino" -> lin_file */
	struct lmap procs_by_pid;  /* "pid" -> newest lin_proc */
	struct lmap edges_by_key;  /* "from\x01to\x01via" -> lin_edge */
	struct lmap peers_by_chan; /* channel node "tcp:A-B" -> lin_peer */
	struct lin_peer **peers;
	int npeers, cap_peers;
	char host[256]; /* this machine's name: file datasets' namespace */
	struct lin_file **files;
	int nfiles, cap_files;
	struct lin_proc **procs;
	int nprocs, cap_procs;
	struct lin_edge **edges;
	int nedges, cap_edges;
	uint64_t mono_to_real;
	struct timespec start, end;
	int exit_code;
	int stop_signal; /* zcap was stopped by it before CMD exited; 0 none */
	uint64_t dropped;
	uint64_t oom; /* allocation failures: the record is incomplete */
	uint64_t drops[ZCAP_DROP_MAX]; /* of dropped: events lost in the kernel, by cause */
	uint64_t bad_records;	       /* of dropped: records the decoder rejected */
	struct lin_hasher *hasher;
	struct fscreds *creds; /* --user: files are opened for hashing as USER */
	uint64_t gen; /* records of other kinds than I/O so far, plus 1 */
	struct lin_io_memo io_memo[LIN_IO_MEMOS];
};

/* Is this file entry part of the output (not a temporary absorbed into
 * the path it was renamed or linked to)? */
bool lin_file_listed(const struct lin_file *f);
/* Node names used in edges and the graph formats. */
void lin_proc_node(const struct lin_proc *p, char *buf, size_t len);

/* Edges with absorbed temporaries replaced by their final files and
 * duplicates merged; *out is an array of *n edges to free with
 * lin_edges_free. 0 or -ENOMEM. */
int lin_edges_resolved(struct lineage *lg, struct lin_edge ***out, int *n);
void lin_edges_free(struct lin_edge **edges, int n);
/* The listed file a (possibly absorbed) file's content ended up in. */
struct lin_file *lin_file_final(struct lin_file *f);

/* "2024-01-02T03:04:05.678Z" from CLOCK_REALTIME ns. */
void lin_iso_time(uint64_t real_ns, char *buf, size_t len);

#endif
