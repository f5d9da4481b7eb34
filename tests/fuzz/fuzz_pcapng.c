// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the pcap-ng writer (pcap-export/pcapng.c) driven by
 * fuzzed calls — interfaces with any names and snaplens, packets of any
 * size with any comments and options, statistics blocks, UTF-8
 * sanitising, packet bytes copied or written from the caller's memory
 * (data_owner) — writing into a memory file. Every owner must come back
 * exactly once. Afterwards the file must be
 * what the header promises: a sequence of whole blocks (both length fields
 * equal, multiples of 4), each EPB within its interface's snaplen, every
 * option inside its block, every string option free of control bytes and
 * of bytes that never occur in UTF-8. Any violation aborts.
 *
 * Input: a byte code. Each operation is one byte (which call) and its
 * arguments taken from the bytes that follow; a string is a length byte
 * and that many bytes, or (length byte 255) a 2-byte length and one byte
 * repeated, for the strings longer than an option can hold.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcapng.h"

#define MAX_IFACES   64
#define MAX_COMMENTS 6

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t u8(struct input *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static uint16_t u16(struct input *in)
{
	return u8(in) | (uint16_t)u8(in) << 8;
}

static uint32_t u32(struct input *in)
{
	return u16(in) | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct input *in)
{
	return u32(in) | (uint64_t)u32(in) << 32;
}

/* A NUL-terminated string (malloc'd; may hold an early NUL). */
static char *str(struct input *in)
{
	size_t n = u8(in);
	char *s;

	if (n == 255) {
		size_t len = u16(in) + 60000; /* around the 65535-byte option limit */
		char fill = (char)u8(in);

		s = malloc(len + 1);
		if (!s)
			abort();
		memset(s, fill, len);
		s[len] = 0;
		return s;
	}
	if (n > in->left)
		n = in->left;
	s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, in->p, n);
	s[n] = 0;
	in->p += n;
	in->left -= n;
	return s;
}

/* ---- checking what was written ------------------------------------------- */

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_pcapng: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                            \
		}                                                                           \
	} while (0)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* No control bytes (but tab and newline), no bytes UTF-8 never uses. */
static void check_text(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(s[i] >= 0x20 || s[i] == '\t' || s[i] == '\n');
		CHECK(s[i] != 0x7f && s[i] != 0xc0 && s[i] != 0xc1 && s[i] < 0xf5);
	}
}

/* Options from opt to end: each inside, string options clean. */
static void check_options(uint32_t type, const uint8_t *opt, const uint8_t *end)
{
	while (opt < end) {
		uint16_t code, len;

		CHECK(end - opt >= 4);
		code = rd16(opt);
		len = rd16(opt + 2);
		opt += 4;
		if (code == 0) {
			CHECK(len == 0 && opt == end);
			return;
		}
		CHECK((size_t)(end - opt) >= ((len + 3u) & ~3u));
		/* comments everywhere; SHB hardware/os/userappl; IDB name/description */
		if (code == 1 || (type == 0x0A0D0D0A && code <= 4) || (type == 1 && code <= 3))
			check_text(opt, len);
		opt += (len + 3u) & ~3u;
	}
}

static void check_file(int fd, const uint32_t *snaplens, int nifs)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *buf, *p;
	int seen_ifs = 0;

	CHECK(size >= 28);
	buf = malloc(size);
	CHECK(buf && pread(fd, buf, size, 0) == size);
	p = buf;
	CHECK(rd32(p) == 0x0A0D0D0A);
	while (p < buf + size) {
		uint32_t type, len;

		CHECK(buf + size - p >= 12);
		type = rd32(p);
		len = rd32(p + 4);
		CHECK(len >= 12 && len % 4 == 0 && len <= (size_t)(buf + size - p));
		CHECK(rd32(p + len - 4) == len);
		switch (type) {
		case 0x0A0D0D0A:
			CHECK(len >= 28 && rd32(p + 8) == 0x1A2B3C4D);
			check_options(type, p + 24, p + len - 4);
			break;
		case 1: /* IDB */
			CHECK(len >= 20 && seen_ifs < nifs && rd32(p + 12) == snaplens[seen_ifs]);
			seen_ifs++;
			check_options(type, p + 16, p + len - 4);
			break;
		case 6: { /* EPB */
			uint32_t if_id = rd32(p + 8), caplen = rd32(p + 20), origlen = rd32(p + 24);

			CHECK(len >= 32 && if_id < (uint32_t)seen_ifs);
			CHECK(caplen <= origlen && caplen <= snaplens[if_id]);
			CHECK(28 + ((caplen + 3u) & ~3u) <= len - 4);
			check_options(type, p + 28 + ((caplen + 3u) & ~3u), p + len - 4);
			break;
		}
		case 5: /* ISB */
			CHECK(len >= 24 && rd32(p + 8) < (uint32_t)seen_ifs);
			check_options(type, p + 20, p + len - 4);
			break;
		default:
			CHECK(!"unknown block type");
		}
		p += len;
	}
	CHECK(seen_ifs == nifs);
	free(buf);
}

/* ---- the calls ----------------------------------------------------------- */

static uint8_t packet[PCAPNG_MAX_SNAPLEN + 64];

/* EPBs handed over with a data_owner, and owners handed back. */
static unsigned long owned, released;

static void count_release(void *ctx, void *owner)
{
	CHECK(ctx == &released && owner == packet);
	released++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint32_t snaplens[MAX_IFACES];
	struct pcapng_shb_info shb;
	struct pcapng_writer *w;
	char *hw, *os, *appl;
	int fd, nifs = 0;

	fd = memfd_create("fuzz_pcapng", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	hw = str(&in);
	os = str(&in);
	appl = str(&in);
	shb = (struct pcapng_shb_info){ .hardware = hw, .os = os, .userappl = appl };
	w = pcapng_writer_open(fd, u8(&in) & 1 ? &shb : NULL);
	free(hw);
	free(os);
	free(appl);
	if (!w) {
		CHECK(errno == EINVAL); /* a string too long for an option */
		close(fd);
		return 0;
	}
	owned = released = 0;
	pcapng_writer_set_release(w, count_release, &released);
	while (in.left) {
		switch (u8(&in) % 4) {
		case 0: { /* interface */
			char *name = str(&in), *desc = str(&in);
			uint16_t linktype = u16(&in);
			uint32_t snaplen = u32(&in) % (PCAPNG_MAX_SNAPLEN + 2);
			int id;

			if (nifs < MAX_IFACES) {
				id = pcapng_add_interface(w, name, desc, linktype, snaplen);
				if (id >= 0) {
					CHECK(id == nifs);
					snaplens[nifs++] = snaplen ? snaplen : PCAPNG_MAX_SNAPLEN;
				} else {
					CHECK(id == -EINVAL);
				}
			}
			free(name);
			free(desc);
			break;
		}
		case 1: { /* packet */
			char *comments[MAX_COMMENTS];
			struct pcapng_epb epb = { 0 };
			size_t n = u8(&in) % (MAX_COMMENTS + 1);
			uint8_t how;
			int rc;

			epb.if_id = u8(&in) % (MAX_IFACES + 1);
			epb.ts_ns = u64(&in);
			epb.caplen = u32(&in) % (PCAPNG_MAX_SNAPLEN + 64);
			epb.origlen = u32(&in);
			how = u8(&in);
			epb.data = how & 1 ? packet : NULL;
			if (how & 2) { /* by reference: the owner must come back */
				epb.data_owner = packet;
				owned++;
			}
			epb.flags = u32(&in);
			epb.has_pid = u8(&in) & 1;
			epb.pid = u32(&in);
			epb.tid = u32(&in);
			for (size_t i = 0; i < n; i++)
				comments[i] = str(&in);
			epb.comments = (const char *const *)comments;
			epb.n_comments = n;
			rc = pcapng_write_epb(w, &epb);
			CHECK(rc == 0 || rc == -EINVAL);
			for (size_t i = 0; i < n; i++)
				free(comments[i]);
			break;
		}
		case 2: { /* statistics */
			struct pcapng_isb isb = {
				.if_id = u8(&in) % (MAX_IFACES + 1),
				.ts_ns = u64(&in),
				.present = u8(&in),
				.starttime_ns = u64(&in),
				.endtime_ns = u64(&in),
				.ifrecv = u64(&in),
				.ifdrop = u64(&in),
			};
			int rc = pcapng_write_isb(w, &isb);

			CHECK(rc == 0 || rc == -EINVAL);
			break;
		}
		default: { /* sanitising, in place and into another buffer */
			char *s = str(&in);
			size_t len = strlen(s);
			char *out = malloc(len + 1);

			CHECK(out);
			pcapng_sanitize_utf8(out, s, len);
			check_text((const uint8_t *)out, len);
			pcapng_sanitize_utf8(s, s, len);
			CHECK(!memcmp(s, out, len));
			free(out);
			free(s);
		}
		}
	}
	CHECK(pcapng_writer_close(w) == 0);
	CHECK(released == owned);
	check_file(fd, snaplens, nifs);
	close(fd);
	return 0;
}
