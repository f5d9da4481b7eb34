/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Minimal pcap-ng writer (libpcap 1.10 can read pcap-ng but not write it).
 *
 * One section, written in host byte order: SHB, then one IDB per interface,
 * then EPBs and ISBs. Whole blocks are assembled in memory and handed to the
 * kernel in batches (pcapng_writer_flush), so a reader at the other end of a
 * pipe (wireshark -k -i -) or a file left behind by a killed writer only
 * ever holds whole blocks (short of dying inside one write). An EPB's
 * packet bytes can stay in the caller's memory until then (data_owner):
 * the batch goes out with writev, and the bytes are never copied.
 *
 * Strings (SHB/IDB options, comments) are sanitised to valid UTF-8: see
 * pcapng_sanitize_utf8().
 *
 * Functions return 0 (or an id >= 0) on success and -errno on failure.
 * After a failed write(2) the writer is poisoned: every later call returns
 * the same error. A regular file is cut back to its last whole block (a
 * full disk leaves a readable file); a pipe may end in a partial block.
 */
#ifndef ZCAP_PCAPNG_H
#define ZCAP_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PCAPNG_LINKTYPE_RAW	101	/* raw IPv4/IPv6, no link-layer header */

/*
 * Largest snaplen accepted. libpcap (hence tcpdump) refuses blocks bigger
 * than its per-linktype maximum snaplen, which is 262144 for LINKTYPE_RAW.
 */
#define PCAPNG_MAX_SNAPLEN	262144u

/* Longest option value (the option length field is 16 bits). */
#define PCAPNG_MAX_OPTION_LEN	65535u

/* epb_flags bits 0-1: direction */
#define PCAPNG_EPB_FLAG_INBOUND	 0x1u
#define PCAPNG_EPB_FLAG_OUTBOUND 0x2u

struct pcapng_writer;

struct pcapng_shb_info {
	const char *hardware;	/* shb_hardware, NULL or "" = omit */
	const char *os;		/* shb_os */
	const char *userappl;	/* shb_userappl */
};

struct pcapng_epb {
	uint32_t if_id;		/* from pcapng_add_interface() */
	uint64_t ts_ns;		/* nanoseconds since the Unix epoch */
	const void *data;	/* caplen bytes; may be NULL when caplen == 0 */
	uint32_t caplen;	/* <= origlen and <= the interface's snaplen */
	uint32_t origlen;
	uint32_t flags;		/* epb_flags word; 0 = option omitted */
	int has_pid;		/* non-zero: write epb_processid_threadid */
	uint32_t pid, tid;
	const char *const *comments;	/* n_comments opt_comment strings; "" skipped */
	size_t n_comments;
	/*
	 * NULL: data is copied into the writer's buffer. Else data stays
	 * where it is, written from there by the next flush (writev), and
	 * data_owner goes to the release function (pcapng_writer_set_release)
	 * once it is no longer needed: after that write, at once when the
	 * data was copied after all, or when the call fails. The call always
	 * takes it.
	 */
	void *data_owner;
};

typedef void (*pcapng_release_fn)(void *ctx, void *data_owner);

/* Which struct pcapng_isb fields are written (counter value 0 is meaningful). */
enum pcapng_isb_field {
	PCAPNG_ISB_STARTTIME	= 1u << 0,
	PCAPNG_ISB_ENDTIME	= 1u << 1,
	PCAPNG_ISB_IFRECV	= 1u << 2,
	PCAPNG_ISB_IFDROP	= 1u << 3,
	PCAPNG_ISB_FILTERACCEPT	= 1u << 4,
	PCAPNG_ISB_OSDROP	= 1u << 5,
	PCAPNG_ISB_USRDELIV	= 1u << 6,
};

struct pcapng_isb {
	uint32_t if_id;
	uint64_t ts_ns;		/* when these statistics were taken */
	unsigned int present;	/* OR of enum pcapng_isb_field */
	uint64_t starttime_ns, endtime_ns;
	uint64_t ifrecv, ifdrop, filteraccept, osdrop, usrdeliv;
	const char *comment;	/* opt_comment, NULL or "" = omit */
};

/*
 * Start a section on @fd (not closed by the writer; the caller owns it) and
 * write the SHB at once. @shb may be NULL. Returns NULL with errno set.
 */
struct pcapng_writer *pcapng_writer_open(int fd, const struct pcapng_shb_info *shb);

/*
 * Write an IDB (if_name, if_description, if_tsresol = 9: timestamps are in
 * nanoseconds). @snaplen 0 means PCAPNG_MAX_SNAPLEN. Returns the interface id
 * (0, 1, ...) or -errno.
 */
int pcapng_add_interface(struct pcapng_writer *w, const char *if_name, const char *if_description,
			 uint16_t linktype, uint32_t snaplen);

/*
 * Write one EPB. -EINVAL (and nothing written) for caplen > origlen or > the
 * interface's snaplen, an unknown if_id, NULL data with caplen > 0, a NULL
 * comment, a comment longer than 65535 bytes, or more than 128 KiB of options
 * in all (libpcap would refuse the block).
 */
int pcapng_write_epb(struct pcapng_writer *w, const struct pcapng_epb *p);

/* The function EPBs' data_owner go to (none: they are not handed back). */
void pcapng_writer_set_release(struct pcapng_writer *w, pcapng_release_fn fn, void *ctx);

/* Write one ISB with the fields flagged in @s->present (and the comment).
 * -EINVAL for a comment longer than 65535 bytes. */
int pcapng_write_isb(struct pcapng_writer *w, const struct pcapng_isb *s);

/* Blocks are written in batches of 256 KiB: write the ones waiting now (a
 * live reader, a timer). 0 or the writer's sticky -errno. */
int pcapng_writer_flush(struct pcapng_writer *w);
/* Bytes of whole blocks not written yet. */
size_t pcapng_writer_pending(const struct pcapng_writer *w);

/* Write the blocks waiting and free the writer. The fd stays open. Returns
 * the sticky write error, if any. */
int pcapng_writer_close(struct pcapng_writer *w);

/*
 * Copy @len bytes of @in to @out (same length, not NUL-terminated) so the
 * result is valid UTF-8 with no control characters other than tab and
 * newline: every byte that is not part of a well-formed UTF-8 sequence
 * (stray continuation, truncated or overlong sequence, surrogate, value
 * above U+10FFFF) and every byte of a control character (C0 except \t and
 * \n, DEL, C1 U+0080..U+009F) becomes '?'. Replacing byte for byte keeps the
 * length, so a caller can size the option before sanitising. @out may be
 * @in (in place). Returns the number of bytes replaced.
 */
size_t pcapng_sanitize_utf8(char *out, const char *in, size_t len);

/*
 * write(2) all of @buf to @fd: restarts after EINTR and short writes and
 * waits in poll(2) when a non-blocking fd is full. 0 or -errno.
 */
int pcapng_write_all(int fd, const void *buf, size_t len);

/*
 * Files that stay readable after a full disk: the writers call
 * pcapng_unit_start once, then write each whole unit (block, record) with
 * pcapng_write_unit, which on failure cuts the file back to the end of the
 * last whole unit. @end is -1 (no cutting) when @fd is not a regular file.
 */
off_t pcapng_unit_start(int fd);
int pcapng_write_unit(int fd, const void *buf, size_t len, off_t *end);

/*
 * A kill -9 stops a write(2) to a regular file at a page boundary, in the
 * middle of a unit, and the writer never runs again to cut it back. So
 * the writers say in @mark, memory shared with a process that outlives
 * them (user/killguard.c), which unit they are writing: while @writing,
 * @fd's whole units end at @end. Only process @pid's writes are marked
 * (a forked child writes its own copy of the variables). NULL: none.
 */
struct pcapng_unit_mark {
	int32_t pid;
	int32_t fd;
	int64_t end;
	int32_t writing; /* __atomic: set after fd and end, cleared after the write */
};
void pcapng_set_unit_mark(struct pcapng_unit_mark *mark);

#endif /* ZCAP_PCAPNG_H */
