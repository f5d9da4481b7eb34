// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pcap-ng writer and classic pcap wrapper: exact bytes, errors, libpcap read-back. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <cmocka.h>

#include "pcapng.h"
#include "pcap_classic.h"

/* Expected bytes in host order: the writer uses the host's byte order. */
#define B8(v, s) (uint8_t)(((uint64_t)(v) >> (s)) & 0xff)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define U16(v) B8(v, 0), B8(v, 8)
#define U32(v) B8(v, 0), B8(v, 8), B8(v, 16), B8(v, 24)
#define U64(v) U32((uint64_t)(v) & 0xffffffffu), U32((uint64_t)(v) >> 32)
#else
#define U16(v) B8(v, 8), B8(v, 0)
#define U32(v) B8(v, 24), B8(v, 16), B8(v, 8), B8(v, 0)
#define U64(v) U32((uint64_t)(v) >> 32), U32((uint64_t)(v) & 0xffffffffu)
#endif

#define SHB_NO_OPTIONS_LEN 28

/* A 40-byte IPv4/TCP SYN 10.0.0.1:40000 -> 10.0.0.2:80 with valid checksums. */
static const uint8_t tcp_syn[40] = {
	0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x14, 0x9a,
	10, 0, 0, 1, 10, 0, 0, 2,
	0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0xff, 0xff, 0xff, 0x4e, 0x00, 0x00,
};

/* A 53-byte IPv6/UDP packet ::1:40001 -> ::1:40002, "hello" (odd length), valid checksum. */
static const uint8_t udp6[53] = {
	0x60, 0, 0, 0, 0x00, 0x0d, 17, 64,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x9c, 0x41, 0x9c, 0x42, 0x00, 0x0d, 0x83, 0x7c, 'h', 'e', 'l', 'l', 'o',
};

static int mem_fd(void)
{
	int fd = memfd_create("pcapng-test", 0);

	assert_true(fd >= 0);
	return fd;
}

static size_t fd_size(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (size_t)st.st_size;
}

/* Whole content of a file written through @fd; caller frees. */
static uint8_t *fd_contents(int fd, size_t *len)
{
	size_t size = fd_size(fd);
	uint8_t *buf = malloc(size + 1);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	*len = size;
	return buf;
}

static void assert_fd_bytes(int fd, size_t offset, const uint8_t *want, size_t want_len)
{
	size_t len;
	uint8_t *got = fd_contents(fd, &len);

	assert_int_equal(len, offset + want_len);
	assert_memory_equal(got + offset, want, want_len);
	free(got);
}

static char *temp_path(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path;
	int fd;

	assert_true(asprintf(&path, "%s/test_pcapng.XXXXXX", dir) > 0);
	fd = mkstemp(path);	/* 0600 */
	assert_true(fd >= 0);
	close(fd);
	return path;
}

/* EPBs with data_owner (written from the caller's memory): the owners
 * handed back so far, and whether write_big_stream uses them. */
static int released;
static int pieces_mode;

static void count_release(void *ctx, void *owner)
{
	assert_ptr_equal(ctx, &released);
	assert_non_null(owner);
	released++;
}

/* ---- block layout ---- */

static void test_shb_bytes(void **state)
{
	const struct pcapng_shb_info shb = { .hardware = "hw", .os = "Linux", .userappl = "zcap" };
	const uint8_t want[] = {
		U32(0x0A0D0D0A), U32(60),
		U32(0x1A2B3C4D), U16(1), U16(0),
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		U16(2), U16(2), 'h', 'w', 0, 0,
		U16(3), U16(5), 'L', 'i', 'n', 'u', 'x', 0, 0, 0,
		U16(4), U16(4), 'z', 'c', 'a', 'p',
		U16(0), U16(0),
		U32(60),
	};
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, &shb);

	assert_non_null(w);
	/* written at open, before any other call */
	assert_fd_bytes(fd, 0, want, sizeof(want));
	assert_int_equal(pcapng_writer_close(w), 0);
	close(fd);
}

static void test_shb_without_options(void **state)
{
	const uint8_t want[] = {
		U32(0x0A0D0D0A), U32(28),
		U32(0x1A2B3C4D), U16(1), U16(0),
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		U32(28),	/* no options: no opt_endofopt either */
	};
	const struct pcapng_shb_info empty = { .hardware = "", .os = NULL, .userappl = "" };
	int fd = mem_fd(), fd2 = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	struct pcapng_writer *w2 = pcapng_writer_open(fd2, &empty);

	assert_non_null(w);
	assert_non_null(w2);
	assert_fd_bytes(fd, 0, want, sizeof(want));
	assert_fd_bytes(fd2, 0, want, sizeof(want));
	pcapng_writer_close(w);
	pcapng_writer_close(w2);
	close(fd);
	close(fd2);
}

static void test_byte_order_magic(void **state)
{
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	uint8_t *got;
	uint32_t magic;
	size_t len;

	assert_non_null(w);
	got = fd_contents(fd, &len);
	assert_true(len >= 12);
	/* SHB type reads the same either way; the magic tells the order */
	assert_memory_equal(got, "\x0a\x0d\x0d\x0a", 4);
	memcpy(&magic, got + 8, 4);
	assert_int_equal(magic, 0x1A2B3C4D);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	assert_memory_equal(got + 8, "\x4d\x3c\x2b\x1a", 4);
#else
	assert_memory_equal(got + 8, "\x1a\x2b\x3c\x4d", 4);
#endif
	free(got);
	pcapng_writer_close(w);
	close(fd);
}

static void test_idb_bytes(void **state)
{
	const uint8_t want[] = {
		U32(1), U32(48),
		U16(101), U16(0), U32(1500),
		U16(2), U16(4), 'e', 't', 'h', '0',
		U16(3), U16(1), 'd', 0, 0, 0,
		U16(9), U16(1), 9, 0, 0, 0,
		U16(0), U16(0),
		U32(48),
	};
	const uint8_t want_bare[] = {
		U32(1), U32(32),
		U16(101), U16(0), U32(PCAPNG_MAX_SNAPLEN),	/* snaplen 0 = maximum */
		U16(9), U16(1), 9, 0, 0, 0,
		U16(0), U16(0),
		U32(32),
	};
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);

	assert_non_null(w);
	assert_int_equal(pcapng_add_interface(w, "eth0", "d", PCAPNG_LINKTYPE_RAW, 1500), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, SHB_NO_OPTIONS_LEN, want, sizeof(want));
	assert_int_equal(pcapng_add_interface(w, NULL, "", PCAPNG_LINKTYPE_RAW, 0), 1);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, SHB_NO_OPTIONS_LEN + sizeof(want), want_bare, sizeof(want_bare));
	assert_int_equal(pcapng_writer_close(w), 0);
	close(fd);
}

static void test_epb_bytes(void **state)
{
	const uint8_t data[3] = { 0xde, 0xad, 0xbe };
	const char *const comments[] = { "hi", "", "a\x01" };
	const struct pcapng_epb epb = {
		.if_id = 0, .ts_ns = 0x123456789ABCDEF0ull,
		.data = data, .caplen = 3, .origlen = 100,
		.flags = PCAPNG_EPB_FLAG_OUTBOUND,
		.has_pid = 1, .pid = 0x01020304, .tid = 0x05060708,
		.comments = comments, .n_comments = 3,
	};
	const uint8_t want[] = {
		U32(6), U32(76),
		U32(0), U32(0x12345678), U32(0x9ABCDEF0), U32(3), U32(100),
		0xde, 0xad, 0xbe, 0,
		U16(2), U16(4), U32(2),				/* epb_flags */
		U16(8), U16(8), U32(0x01020304), U32(0x05060708),	/* pid, tid */
		U16(1), U16(2), 'h', 'i', 0, 0,			/* opt_comment */
		U16(1), U16(2), 'a', '?', 0, 0,			/* "" skipped, \x01 -> ? */
		U16(0), U16(0),
		U32(76),
	};
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	size_t before;

	assert_non_null(w);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	before = fd_size(fd);
	assert_int_equal(pcapng_write_epb(w, &epb), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, before, want, sizeof(want));
	assert_int_equal(pcapng_writer_close(w), 0);
	close(fd);
}

static void test_epb_padding(void **state)
{
	const uint8_t data[5] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
	uint32_t caplen;

	for (caplen = 0; caplen <= 5; caplen++) {
		const struct pcapng_epb epb = {
			.ts_ns = 7, .data = caplen ? data : NULL, .caplen = caplen, .origlen = 5,
		};
		uint32_t padded = (caplen + 3) & ~3u, total = 32 + padded;
		uint8_t want[64] = {
			U32(6), U32(total), U32(0), U32(0), U32(7), U32(caplen), U32(5),
		};
		int fd = mem_fd();
		struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
		size_t before;

		assert_non_null(w);
		assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
		assert_int_equal(pcapng_writer_flush(w), 0);
		before = fd_size(fd);
		assert_int_equal(pcapng_write_epb(w, &epb), 0);
		/* data, then zero padding to 4, no options, trailing length */
		memset(want + 28, 0xaa, caplen);
		const uint8_t trailer[] = { U32(total) };

		memcpy(want + 28 + padded, trailer, 4);
		assert_int_equal(total % 4, 0);
		assert_int_equal(pcapng_writer_flush(w), 0);
		assert_fd_bytes(fd, before, want, total);
		pcapng_writer_close(w);
		close(fd);
	}
}

static void test_isb_bytes(void **state)
{
	const struct pcapng_isb isb = {
		.if_id = 1, .ts_ns = 0x0000000200000003ull,
		.present = PCAPNG_ISB_STARTTIME | PCAPNG_ISB_IFRECV | PCAPNG_ISB_OSDROP,
		.starttime_ns = 0x0000000400000005ull, .ifrecv = 0x1122334455667788ull,
		.osdrop = 7, .ifdrop = 99 /* not present: not written */,
	};
	const uint8_t want[] = {
		U32(5), U32(64),
		U32(1), U32(2), U32(3),
		U16(2), U16(8), U32(4), U32(5),		/* isb_starttime: high, low */
		U16(4), U16(8), U64(0x1122334455667788ull),	/* isb_ifrecv */
		U16(7), U16(8), U64(7),				/* isb_osdrop */
		U16(0), U16(0),
		U32(64),
	};
	const struct pcapng_isb bare = { .if_id = 0, .ts_ns = 1 };
	const uint8_t want_bare[] = { U32(5), U32(24), U32(0), U32(0), U32(1), U32(24) };
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	size_t before;

	assert_non_null(w);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 1);
	assert_int_equal(pcapng_writer_flush(w), 0);
	before = fd_size(fd);
	assert_int_equal(pcapng_write_isb(w, &isb), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, before, want, sizeof(want));
	assert_int_equal(pcapng_write_isb(w, &bare), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, before + sizeof(want), want_bare, sizeof(want_bare));
	pcapng_writer_close(w);
	close(fd);
}

/* ---- UTF-8 sanitising ---- */

struct sanitize_case {
	const char *in;
	size_t len;
	const char *out;
	size_t replaced;
};

#define CASE(in, out, n) { in, sizeof(in) - 1, out, n }

static void test_sanitize_utf8(void **state)
{
	static const struct sanitize_case cases[] = {
		CASE("plain ascii", "plain ascii", 0),
		CASE("tab\tand\nnewline", "tab\tand\nnewline", 0),
		CASE("cr\r bell\a esc\x1b del\x7f", "cr? bell? esc? del?", 4),
		CASE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0),
		CASE("c1 \xc2\x85 x", "c1 ?? x", 2),		/* U+0085 NEL is a control */
		CASE("nbsp \xc2\xa0", "nbsp \xc2\xa0", 0),	/* U+00A0 is not */
		CASE("lone \x80 cont", "lone ? cont", 1),
		CASE("ff \xff fe \xfe", "ff ? fe ?", 2),
		CASE("overlong \xc0\xaf", "overlong ??", 2),
		CASE("overlong3 \xe0\x80\xaf", "overlong3 ???", 3),
		CASE("surrogate \xed\xa0\x80", "surrogate ???", 3),
		CASE("too big \xf4\x90\x80\x80", "too big ????", 4),
		CASE("max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf", 0),	/* U+10FFFF */
		CASE("cut \xe2\x82", "cut ??", 2),		/* truncated at the end */
		CASE("cut \xe2\x82" "A", "cut ??A", 2),	/* truncated mid-string */
		CASE("\xe2\x82\xac\xe2", "\xe2\x82\xac?", 1),
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'X', sizeof(out));
		assert_int_equal(pcapng_sanitize_utf8(out, cases[i].in, cases[i].len),
				 cases[i].replaced);
		assert_memory_equal(out, cases[i].out, cases[i].len);
		assert_int_equal(out[cases[i].len], 'X');	/* never writes past len */
	}

	/* in place */
	strcpy(out, "a\x01\xc3\xa9\xff");
	assert_int_equal(pcapng_sanitize_utf8(out, out, 5), 2);
	assert_memory_equal(out, "a?\xc3\xa9?", 5);
}

static void test_shb_idb_strings_sanitised(void **state)
{
	const struct pcapng_shb_info shb = { .userappl = "z\xff" };
	const uint8_t want_name[] = { U16(2), U16(3), 'e', '\n', '?', 0 };
	const uint8_t want[] = {
		U32(0x0A0D0D0A), U32(40),
		U32(0x1A2B3C4D), U16(1), U16(0),
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		U16(4), U16(2), 'z', '?', 0, 0,
		U16(0), U16(0),
		U32(40),
	};
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, &shb);
	uint8_t *got;
	size_t len;

	assert_non_null(w);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_fd_bytes(fd, 0, want, sizeof(want));
	assert_int_equal(pcapng_add_interface(w, "e\n\x02", NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	got = fd_contents(fd, &len);
	/* IDB: 16 bytes of header fields, then if_name */
	assert_memory_equal(got + sizeof(want) + 16, want_name, sizeof(want_name));
	free(got);
	pcapng_writer_close(w);
	close(fd);
}

/* ---- errors ---- */

static void test_epb_rejects_bad_input(void **state)
{
	const uint8_t data[4] = { 1, 2, 3, 4 };
	char *huge = malloc(PCAPNG_MAX_OPTION_LEN + 2);
	const char *too_long[] = { huge };
	const char *with_null[] = { "ok", NULL };
	const char *many_big[] = { huge, huge };
	struct pcapng_epb ok = { .data = data, .caplen = 4, .origlen = 4 };
	struct pcapng_epb bad;
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	size_t size;

	assert_non_null(huge);
	memset(huge, 'x', PCAPNG_MAX_OPTION_LEN + 1);
	huge[PCAPNG_MAX_OPTION_LEN + 1] = '\0';
	assert_non_null(w);

	/* no interface yet */
	assert_int_equal(pcapng_write_epb(w, &ok), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 3), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	size = fd_size(fd);

	bad = ok, bad.caplen = 3, bad.origlen = 2;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* caplen > origlen */
	bad = ok;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* caplen > snaplen 3 */
	bad = ok, bad.caplen = 3, bad.if_id = 1;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* unknown interface */
	bad = ok, bad.caplen = 3, bad.data = NULL;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* NULL data */
	bad = ok, bad.caplen = 3, bad.comments = NULL, bad.n_comments = 1;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);
	bad.comments = with_null, bad.n_comments = 2;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);
	bad.comments = too_long, bad.n_comments = 1;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* 65536 bytes */
	huge[PCAPNG_MAX_OPTION_LEN] = '\0';
	bad.comments = many_big, bad.n_comments = 2;
	assert_int_equal(pcapng_write_epb(w, &bad), -EINVAL);	/* > 128 KiB of options */
	assert_int_equal(pcapng_write_epb(NULL, &ok), -EINVAL);
	assert_int_equal(pcapng_write_epb(w, NULL), -EINVAL);
	/* nothing of the rejected blocks reached the file */
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_int_equal(fd_size(fd), size);

	/* the writer is still usable: one 65535-byte comment is fine */
	bad.n_comments = 1;
	assert_int_equal(pcapng_write_epb(w, &bad), 0);
	assert_int_equal(pcapng_writer_flush(w), 0);
	assert_int_equal(fd_size(fd), size + 32 + 4 + 4 + 65536 + 4);
	/* NULL data is fine without data */
	bad = ok, bad.data = NULL, bad.caplen = 0;
	assert_int_equal(pcapng_write_epb(w, &bad), 0);
	assert_int_equal(pcapng_writer_close(w), 0);
	free(huge);
	close(fd);
}

static void test_other_rejections(void **state)
{
	char *huge = malloc(PCAPNG_MAX_OPTION_LEN + 2);
	struct pcapng_shb_info shb = { .os = huge };
	const struct pcapng_isb isb = { .if_id = 0 };
	struct pcapng_writer *w;
	int fd = mem_fd(), rd;

	assert_non_null(huge);
	memset(huge, 'x', PCAPNG_MAX_OPTION_LEN + 1);
	huge[PCAPNG_MAX_OPTION_LEN + 1] = '\0';

	errno = 0;
	assert_null(pcapng_writer_open(-1, NULL));
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_null(pcapng_writer_open(fd, &shb));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fd_size(fd), 0);
	rd = open("/dev/null", O_RDONLY);
	assert_true(rd >= 0);
	errno = 0;
	assert_null(pcapng_writer_open(rd, NULL));
	assert_int_equal(errno, EBADF);
	close(rd);

	w = pcapng_writer_open(fd, NULL);
	assert_non_null(w);
	assert_int_equal(pcapng_write_isb(w, &isb), -EINVAL);	/* no interface */
	assert_int_equal(pcapng_add_interface(w, huge, NULL, PCAPNG_LINKTYPE_RAW, 0), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, NULL, huge, PCAPNG_LINKTYPE_RAW, 0), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW,
					      PCAPNG_MAX_SNAPLEN + 1), -EINVAL);
	assert_int_equal(pcapng_add_interface(NULL, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), -EINVAL);
	assert_int_equal(pcapng_write_isb(w, NULL), -EINVAL);
	assert_int_equal(pcapng_write_isb(NULL, &isb), -EINVAL);
	assert_int_equal(fd_size(fd), SHB_NO_OPTIONS_LEN);
	/* the rejected IDBs did not use up interface ids */
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	assert_int_equal(pcapng_writer_close(w), 0);
	assert_int_equal(pcapng_writer_close(NULL), -EINVAL);
	/* the fd is the caller's */
	assert_int_not_equal(fcntl(fd, F_GETFD), -1);
	free(huge);
	close(fd);
}

/* A writer on a pipe (SIGPIPE ignored: its old handler in *old), with one
 * interface; the caller closes p[0] to make the reader go away. */
static struct pcapng_writer *writer_on_pipe(int p[2], void (**old)(int))
{
	struct pcapng_writer *w;

	*old = signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	w = pcapng_writer_open(p[1], NULL);
	assert_non_null(w);
	pcapng_writer_set_release(w, count_release, &released);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	return w;
}

static void test_write_error_is_sticky(void **state)
{
	const uint8_t data[4] = { 1, 2, 3, 4 };
	const struct pcapng_epb epb = { .data = data, .caplen = 4, .origlen = 4 };
	const struct pcapng_isb isb = { .if_id = 0 };
	void (*old)(int);
	int p[2];
	struct pcapng_writer *w = writer_on_pipe(p, &old);

	close(p[0]);	/* the reader (wireshark) went away */
	assert_int_equal(pcapng_write_epb(w, &epb), 0);	/* waits in the batch */
	assert_int_equal(pcapng_writer_flush(w), -EPIPE);
	assert_int_equal(pcapng_write_epb(w, &epb), -EPIPE);
	assert_int_equal(pcapng_write_isb(w, &isb), -EPIPE);
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), -EPIPE);
	assert_int_equal(pcapng_writer_close(w), -EPIPE);
	close(p[1]);
	signal(SIGPIPE, old);
}

/* ---- short writes and EINTR: whole blocks through a slow pipe ---- */

struct drain {
	int fd;
	uint8_t *buf;
	size_t len, cap;
};

/* Read the pipe in small, slow bites so the writer meets a full pipe. */
static void *drain_pipe(void *arg)
{
	struct drain *d = arg;
	uint8_t chunk[1000];

	for (;;) {
		ssize_t n = read(d->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (d->len + (size_t)n > d->cap) {
			d->cap = (d->len + (size_t)n) * 2;
			d->buf = realloc(d->buf, d->cap);
			if (!d->buf)
				break;
		}
		memcpy(d->buf + d->len, chunk, (size_t)n);
		d->len += (size_t)n;
		usleep(50);
	}
	return NULL;
}

#define BIG_LEN 200000

/* SHB, IDB, three 200 kB EPBs and an ISB; 0 or the first error. */
static int write_big_stream(int fd, const uint8_t *big)
{
	const char *comment[] = { "big" };
	struct pcapng_epb epb = { .data = big, .caplen = BIG_LEN, .origlen = BIG_LEN,
				  .comments = comment, .n_comments = 1 };
	const struct pcapng_isb isb = { .present = PCAPNG_ISB_IFRECV, .ifrecv = 3 };
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	int i, err = 0;

	if (!w)
		return -errno;
	if (pieces_mode) {
		pcapng_writer_set_release(w, count_release, &released);
		epb.data_owner = (void *)big;
	}
	if (pcapng_add_interface(w, "big", NULL, PCAPNG_LINKTYPE_RAW, 0) != 0)
		err = -1;
	for (i = 0; i < 3 && !err; i++) {
		epb.ts_ns = (uint64_t)i;
		err = pcapng_write_epb(w, &epb);
	}
	if (!err)
		err = pcapng_write_isb(w, &isb);
	if (pcapng_writer_close(w) && !err)
		err = -1;
	return err;
}

static uint8_t *reference_stream(const uint8_t *big, size_t *len)
{
	int fd = mem_fd(), mode = pieces_mode;
	uint8_t *ref;

	pieces_mode = 0; /* the reference is the copying writer's */
	assert_int_equal(write_big_stream(fd, big), 0);
	pieces_mode = mode;
	ref = fd_contents(fd, len);
	close(fd);
	return ref;
}

static uint8_t *big_payload(void)
{
	uint8_t *big = malloc(BIG_LEN);
	size_t i;

	assert_non_null(big);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	return big;
}

static void run_through_pipe(int nonblocking_writer, volatile sig_atomic_t *signals)
{
	uint8_t *big = big_payload(), *ref;
	struct drain d = { 0 };
	pthread_t reader;
	sigset_t alrm, old;
	size_t ref_len;
	int p[2];

	ref = reference_stream(big, &ref_len);
	assert_int_equal(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);	/* small pipe: many short writes */
	if (nonblocking_writer)
		assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	d.fd = p[0];

	/* the reader thread never takes SIGALRM: the writer's write() must */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	assert_int_equal(pthread_create(&reader, NULL, drain_pipe, &d), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (signals) {
		struct itimerval every = { { 0, 200 }, { 0, 200 } };

		setitimer(ITIMER_REAL, &every, NULL);
	}
	assert_int_equal(write_big_stream(p[1], big), 0);
	if (signals) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };

		setitimer(ITIMER_REAL, &off, NULL);
		assert_true(*signals > 0);
	}
	close(p[1]);
	pthread_join(reader, NULL);
	close(p[0]);

	assert_non_null(d.buf);
	assert_int_equal(d.len, ref_len);
	assert_memory_equal(d.buf, ref, ref_len);
	free(d.buf);
	free(ref);
	free(big);
}

/* Blocks wait in memory until 256 KiB of them (or a flush): one write(2)
 * per batch, whole blocks only. */
static void test_blocks_batched(void **state)
{
	static uint8_t data[1000];
	const struct pcapng_epb epb = { .data = data, .caplen = sizeof(data),
					.origlen = sizeof(data) };
	const size_t epb_len = 28 + sizeof(data) + 4; /* no options */
	int fd = mem_fd();
	struct pcapng_writer *w = pcapng_writer_open(fd, NULL);
	size_t n = 0;

	(void)state;
	assert_non_null(w);
	assert_int_equal(fd_size(fd), SHB_NO_OPTIONS_LEN); /* the SHB at once */
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	while (fd_size(fd) == SHB_NO_OPTIONS_LEN) {
		assert_int_equal(pcapng_write_epb(w, &epb), 0);
		n++;
		assert_true(n < 1000);
	}
	/* the batch went out whole when it reached 256 KiB */
	assert_int_equal(fd_size(fd), SHB_NO_OPTIONS_LEN + 32 + n * epb_len);
	assert_true(fd_size(fd) - SHB_NO_OPTIONS_LEN >= 256 * 1024);
	assert_true(fd_size(fd) - SHB_NO_OPTIONS_LEN - epb_len < 256 * 1024);
	assert_int_equal(pcapng_write_epb(w, &epb), 0);
	assert_int_equal(pcapng_writer_pending(w), epb_len);
	assert_int_equal(pcapng_writer_close(w), 0);
	assert_int_equal(fd_size(fd), SHB_NO_OPTIONS_LEN + 32 + (n + 1) * epb_len);
	close(fd);
}

/*
 * A batch the disk does not take whole: as many whole blocks as fit are
 * written, the file never ends inside one (RLIMIT_FSIZE stands in for a
 * full disk: write(2) fails with EFBIG past it). @pieces: the EPBs' data
 * is written from the caller's memory, and every owner comes back.
 */
static void full_disk_case(size_t caplen, bool pieces)
{
	static uint8_t data[128];
	struct pcapng_epb epb = { .data = data, .caplen = caplen, .origlen = caplen,
				  .data_owner = pieces ? data : NULL };
	const size_t epb_len = 28 + ((caplen + 3) & ~(size_t)3) + 4, limit = 1000;
	struct rlimit old, lim = { .rlim_cur = limit, .rlim_max = RLIM_INFINITY };
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	char *path = temp_path();
	int fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
	struct pcapng_writer *w;

	assert_true(caplen <= sizeof(data));
	assert_true(fd >= 0);
	w = pcapng_writer_open(fd, NULL);
	assert_non_null(w);
	pcapng_writer_set_release(w, count_release, &released);
	released = 0;
	assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(pcapng_write_epb(w, &epb), 0);
	assert_int_equal(pcapng_writer_pending(w), 32 + 20 * epb_len);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(pcapng_writer_close(w), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(released, pieces ? 20 : 0);
	/* SHB, IDB, then every EPB that fits whole */
	assert_int_equal(fd_size(fd), SHB_NO_OPTIONS_LEN + 32 +
					      (limit - SHB_NO_OPTIONS_LEN - 32) / epb_len * epb_len);
	close(fd);
	unlink(path);
	free(path);
}

static void test_full_disk_keeps_whole_blocks(void **state)
{
	full_disk_case(100, false);
}

static void test_nonblocking_short_writes(void **state)
{
	run_through_pipe(1, NULL);
}

/* ---- EPB data written from the caller's memory (data_owner) ---- */

/* Every length, word-aligned or not, gives the bytes a copy gives; the
 * owner comes back once, when its bytes were written, not before. */
static void test_pieces_same_bytes(void **state)
{
	static const uint32_t lens[] = { 0, 1, 3, 4, 5, 7, 8, 9, 1000, 1001, 1002, 1003 };
	uint8_t *data = big_payload();
	const char *comment[] = { "piece" };

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint8_t *got[2];
		size_t len[2];

		for (int mode = 0; mode < 2; mode++) {
			struct pcapng_epb epb = { .ts_ns = 9, .data = lens[k] ? data : NULL,
						  .caplen = lens[k], .origlen = 2000,
						  .flags = PCAPNG_EPB_FLAG_INBOUND,
						  .comments = comment, .n_comments = 1 };
			int fd = mem_fd();
			struct pcapng_writer *w = pcapng_writer_open(fd, NULL);

			assert_non_null(w);
			pcapng_writer_set_release(w, count_release, &released);
			assert_int_equal(pcapng_add_interface(w, NULL, NULL, PCAPNG_LINKTYPE_RAW, 0),
					 0);
			released = 0;
			for (int i = 0; i < 3; i++) {
				epb.data_owner = mode ? data + i : NULL;
				epb.data = lens[k] ? data + i : NULL;
				assert_int_equal(pcapng_write_epb(w, &epb), 0);
			}
			/* a piece waits for the flush; shorter than a word, it was
			 * copied and came back at once */
			assert_int_equal(released, mode && lens[k] < 4 ? 3 : 0);
			assert_int_equal(pcapng_writer_flush(w), 0);
			assert_int_equal(released, mode ? 3 : 0);
			assert_int_equal(pcapng_writer_close(w), 0);
			assert_int_equal(released, mode ? 3 : 0);
			got[mode] = fd_contents(fd, &len[mode]);
			close(fd);
		}
		assert_int_equal(len[0], len[1]);
		assert_memory_equal(got[0], got[1], len[0]);
		free(got[0]);
		free(got[1]);
	}
	free(data);
}

/* Refused, or after a write error: the owner comes back at once. */
static void test_pieces_released_on_error(void **state)
{
	static uint8_t data[64];
	struct pcapng_epb epb = { .data = data, .caplen = 64, .origlen = 64, .data_owner = data };
	void (*old)(int);
	int p[2];
	struct pcapng_writer *w = writer_on_pipe(p, &old);

	released = 0;
	epb.origlen = 10; /* caplen > origlen */
	assert_int_equal(pcapng_write_epb(w, &epb), -EINVAL);
	assert_int_equal(released, 1);
	epb.origlen = 64;
	assert_int_equal(pcapng_write_epb(w, &epb), 0);
	assert_int_equal(released, 1);
	close(p[0]); /* the reader went away */
	assert_int_equal(pcapng_writer_flush(w), -EPIPE);
	assert_int_equal(released, 2); /* not written, given back all the same */
	assert_int_equal(pcapng_write_epb(w, &epb), -EPIPE);
	assert_int_equal(released, 3);
	assert_int_equal(pcapng_writer_close(w), -EPIPE);
	close(p[1]);
	signal(SIGPIPE, old);
}

/* Short writes (a full pipe) and EINTR in the middle of the iovecs. */
static void test_pieces_through_pipe(void **state)
{
	pieces_mode = 1;
	released = 0;
	run_through_pipe(1, NULL);
	assert_int_equal(released, 3);
	pieces_mode = 0;
}

/* A batch of pieces the disk does not take whole: whole blocks only. */
static void test_pieces_full_disk(void **state)
{
	full_disk_case(101, true);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

static void test_eintr_short_writes(void **state)
{
	/* no SA_RESTART: a blocked write() returns EINTR or a short count */
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	alarms = 0;
	run_through_pipe(0, &alarms);
}

/* Also after a failed assertion: later tests must not see stray alarms. */
static int stop_alarms(void **state)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	return 0;
}

/* ---- read back with libpcap ---- */

struct want_pkt {
	uint64_t ts_ns;
	const uint8_t *data;
	uint32_t caplen, origlen;
};

static const struct want_pkt roundtrip_pkts[] = {
	{ 1700000000123456789ull, tcp_syn, sizeof(tcp_syn), sizeof(tcp_syn) },
	{ 1700000000123456790ull, tcp_syn, 20, 1500 },	/* truncated */
	{ 1700000001999999999ull, udp6, sizeof(udp6), sizeof(udp6) },
};
#define N_ROUNDTRIP (sizeof(roundtrip_pkts) / sizeof(roundtrip_pkts[0]))

static void assert_libpcap_reads(const char *path, uint32_t snaplen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							    errbuf);
	size_t n = 0;
	int rc;

	if (!p)
		fail_msg("libpcap: %s", errbuf);
	assert_int_equal(pcap_datalink(p), DLT_RAW);
	assert_int_equal(pcap_snapshot(p), snaplen);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		const struct want_pkt *want;

		assert_true(n < N_ROUNDTRIP);
		want = &roundtrip_pkts[n];
		assert_int_equal(h->ts.tv_sec, want->ts_ns / 1000000000u);
		assert_int_equal(h->ts.tv_usec, want->ts_ns % 1000000000u);	/* ns */
		assert_int_equal(h->caplen, want->caplen);
		assert_int_equal(h->len, want->origlen);
		assert_memory_equal(data, want->data, want->caplen);
		n++;
	}
	if (rc != PCAP_ERROR_BREAK)
		fail_msg("libpcap: %s", pcap_geterr(p));
	assert_int_equal(n, N_ROUNDTRIP);
	pcap_close(p);
}

/* A pcap-ng file as zcap would write it; returns its path (caller unlinks, frees). */
static char *write_pcapng_file(void)
{
	const struct pcapng_shb_info shb = { "x86_64", "Linux", "zcap test" };
	const char *comment[] = { "pid 1234 (curl) tid 1235 fd 3", "bad \x01\xff byte" };
	struct pcapng_isb isb = { .present = PCAPNG_ISB_IFRECV | PCAPNG_ISB_IFDROP, .ifrecv = 3 };
	char *path = temp_path();
	struct pcapng_writer *w;
	struct stat st;
	size_t i;
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	w = pcapng_writer_open(fd, &shb);
	assert_non_null(w);
	assert_int_equal(pcapng_add_interface(w, "zcap", "zcap test", PCAPNG_LINKTYPE_RAW, 0), 0);
	for (i = 0; i < N_ROUNDTRIP; i++) {
		const struct pcapng_epb epb = {
			.ts_ns = roundtrip_pkts[i].ts_ns, .data = roundtrip_pkts[i].data,
			.caplen = roundtrip_pkts[i].caplen, .origlen = roundtrip_pkts[i].origlen,
			.flags = i == 0 ? PCAPNG_EPB_FLAG_OUTBOUND : PCAPNG_EPB_FLAG_INBOUND,
			.has_pid = i == 0, .pid = 1234, .tid = 1235,
			.comments = comment, .n_comments = i == 0 ? 2 : 0,
		};

		assert_int_equal(pcapng_write_epb(w, &epb), 0);
	}
	isb.ts_ns = roundtrip_pkts[N_ROUNDTRIP - 1].ts_ns;
	assert_int_equal(pcapng_write_isb(w, &isb), 0);
	assert_int_equal(pcapng_writer_close(w), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
	return path;
}

static void test_pcapng_libpcap_roundtrip(void **state)
{
	char *path = write_pcapng_file();

	assert_libpcap_reads(path, PCAPNG_MAX_SNAPLEN);
	unlink(path);
	free(path);
}

/* Output of @cmd (stdout and stderr apart); NULL if it cannot run. */
static char *run_capture(const char *cmd, char **err_out)
{
	char *errpath = temp_path(), *full, *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *f, *e;

	assert_true(asprintf(&full, "%s 2>%s", cmd, errpath) > 0);
	f = popen(full, "r");
	if (f) {
		FILE *o = open_memstream(&out, &out_len);
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, o);
		fclose(o);
		if (pclose(f) != 0) {
			free(out);
			out = NULL;
		}
	}
	e = fopen(errpath, "r");
	if (e) {
		FILE *o = open_memstream(&err, &err_len);
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), e)) > 0)
			fwrite(buf, 1, n, o);
		fclose(o);
		fclose(e);
	}
	unlink(errpath);
	free(errpath);
	free(full);
	*err_out = err;
	return out;
}

/* stderr may only hold tshark's "Running as user root" notice. */
static void assert_quiet_stderr(char *err)
{
	char *save = NULL, *line;

	assert_non_null(err);
	for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(line, "Running as user"))
			fail_msg("unexpected stderr: %s", line);
}

static void test_pcapng_tshark(void **state)
{
	char *path, *cmd, *out, *err;

	if (access("/usr/bin/tshark", X_OK) != 0)
		skip();
	path = write_pcapng_file();
	assert_true(asprintf(&cmd, "/usr/bin/tshark -n -r %s -V", path) > 0);
	out = run_capture(cmd, &err);
	assert_non_null(out);
	assert_quiet_stderr(err);
	assert_null(strstr(out, "Malformed"));
	assert_null(strstr(out, "(Warning"));
	assert_null(strstr(out, "(Error"));
	assert_non_null(strstr(out, "pid 1234 (curl) tid 1235 fd 3"));
	assert_non_null(strstr(out, "bad ?? byte"));
	assert_non_null(strstr(out, "Direction: Outbound"));
	assert_non_null(strstr(out, "Direction: Inbound"));
	assert_non_null(strstr(out, "Epoch Time: 1700000000.123456789 seconds"));
	assert_non_null(strstr(out, "Epoch Time: 1700000001.999999999 seconds"));
	assert_non_null(strstr(out, "Src Port: 40000, Dst Port: 80"));
	assert_non_null(strstr(out, "Src Port: 40001, Dst Port: 40002"));
	assert_non_null(strstr(out, "Interface name: zcap"));
	free(out);
	free(err);
	free(cmd);
	unlink(path);
	free(path);
}

/* ---- classic pcap ---- */

static char *write_classic_file(uint32_t snaplen)
{
	char *path = temp_path();
	struct pcap_classic_writer *w;
	size_t i;
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	w = pcap_classic_open(fd, snaplen);
	assert_non_null(w);
	for (i = 0; i < N_ROUNDTRIP; i++) {
		const struct want_pkt *pkt = &roundtrip_pkts[i];

		assert_int_equal(pcap_classic_write(w, pkt->ts_ns, pkt->data, pkt->caplen,
						    pkt->origlen), 0);
	}
	assert_int_equal(pcap_classic_close(w), 0);
	assert_int_not_equal(fcntl(fd, F_GETFD), -1);	/* still open */
	close(fd);
	return path;
}

static void test_classic_bytes(void **state)
{
	const uint8_t want[] = {
		U32(0xA1B23C4D), U16(2), U16(4), U32(0), U32(0), U32(1500), U32(101),
		U32(1700000000), U32(123456789), U32(3), U32(60), 0xde, 0xad, 0xbe,
	};
	const uint8_t data[3] = { 0xde, 0xad, 0xbe };
	int fd = mem_fd();
	struct pcap_classic_writer *w = pcap_classic_open(fd, 1500);

	assert_non_null(w);
	/* header out at open, record out at write: nothing waits in a buffer */
	assert_fd_bytes(fd, 0, want, 24);
	assert_int_equal(pcap_classic_write(w, 1700000000123456789ull, data, 3, 60), 0);
	assert_fd_bytes(fd, 0, want, sizeof(want));
	assert_int_equal(pcap_classic_close(w), 0);
	assert_fd_bytes(fd, 0, want, sizeof(want));
	close(fd);
}

static void test_classic_libpcap_roundtrip(void **state)
{
	char *path = write_classic_file(0);

	assert_libpcap_reads(path, PCAPNG_MAX_SNAPLEN);
	unlink(path);
	free(path);
	path = write_classic_file(2000);
	assert_libpcap_reads(path, 2000);
	unlink(path);
	free(path);
}

static void test_classic_tcpdump(void **state)
{
	char *path, *cmd, *out, *err;

	if (access("/usr/bin/tcpdump", X_OK) != 0)
		skip();
	path = write_classic_file(0);
	assert_true(asprintf(&cmd, "/usr/bin/tcpdump -nn --nano -r %s", path) > 0);
	out = run_capture(cmd, &err);
	assert_non_null(out);
	assert_non_null(err);
	assert_non_null(strstr(err, "link-type RAW (Raw IP)"));
	assert_non_null(strstr(out, ".123456789 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S]"));
	assert_non_null(strstr(out, ".999999999 IP6 ::1.40001 > ::1.40002: UDP, length 5"));
	free(out);
	free(err);
	free(cmd);
	unlink(path);
	free(path);
}

static void test_classic_rejects_bad_input(void **state)
{
	const uint8_t data[4] = { 1, 2, 3, 4 };
	void (*old)(int);
	struct pcap_classic_writer *w;
	int fd = mem_fd(), p[2];

	errno = 0;
	assert_null(pcap_classic_open(-1, 0));
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_null(pcap_classic_open(fd, PCAPNG_MAX_SNAPLEN + 1));
	assert_int_equal(errno, EINVAL);

	w = pcap_classic_open(fd, 3);
	assert_non_null(w);
	/* caplen > origlen, caplen > snaplen */
	assert_int_equal(pcap_classic_write(w, 0, data, 3, 2), -EINVAL);
	assert_int_equal(pcap_classic_write(w, 0, data, 4, 4), -EINVAL);
	assert_int_equal(pcap_classic_write(w, 0, NULL, 1, 4), -EINVAL);
	assert_int_equal(pcap_classic_write(NULL, 0, data, 1, 4), -EINVAL);
	assert_int_equal(fd_size(fd), 24);
	assert_int_equal(pcap_classic_write(w, 0, NULL, 0, 4), 0);
	assert_int_equal(fd_size(fd), 24 + 16);
	assert_int_equal(pcap_classic_close(w), 0);
	assert_int_equal(pcap_classic_close(NULL), -EINVAL);
	close(fd);

	/* a vanished reader poisons the writer */
	old = signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	w = pcap_classic_open(p[1], 0);
	assert_non_null(w);
	close(p[0]);
	assert_int_equal(pcap_classic_write(w, 0, data, 4, 4), -EPIPE);
	assert_int_equal(pcap_classic_write(w, 0, data, 4, 4), -EPIPE);
	assert_int_equal(pcap_classic_close(w), -EPIPE);
	close(p[1]);
	signal(SIGPIPE, old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shb_bytes),
		cmocka_unit_test(test_shb_without_options),
		cmocka_unit_test(test_byte_order_magic),
		cmocka_unit_test(test_idb_bytes),
		cmocka_unit_test(test_epb_bytes),
		cmocka_unit_test(test_epb_padding),
		cmocka_unit_test(test_isb_bytes),
		cmocka_unit_test(test_sanitize_utf8),
		cmocka_unit_test(test_shb_idb_strings_sanitised),
		cmocka_unit_test(test_epb_rejects_bad_input),
		cmocka_unit_test(test_other_rejections),
		cmocka_unit_test(test_write_error_is_sticky),
		cmocka_unit_test(test_blocks_batched),
		cmocka_unit_test(test_full_disk_keeps_whole_blocks),
		cmocka_unit_test(test_nonblocking_short_writes),
		cmocka_unit_test_teardown(test_eintr_short_writes, stop_alarms),
		cmocka_unit_test(test_pieces_same_bytes),
		cmocka_unit_test(test_pieces_released_on_error),
		cmocka_unit_test(test_pieces_through_pipe),
		cmocka_unit_test(test_pieces_full_disk),
		cmocka_unit_test(test_pcapng_libpcap_roundtrip),
		cmocka_unit_test(test_pcapng_tshark),
		cmocka_unit_test(test_classic_bytes),
		cmocka_unit_test(test_classic_libpcap_roundtrip),
		cmocka_unit_test(test_classic_tcpdump),
		cmocka_unit_test(test_classic_rejects_bad_input),
	};

	return cmocka_run_group_tests_name("pcapng", tests, NULL, NULL);
}
