// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Packet comments of a pcap-ng file, block by block (ngcomments.h). */
#include <byteswap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngcomments.h"

#define BT_SHB		0x0A0D0D0Au
#define BT_PB		2u
#define BT_SPB		3u
#define BT_EPB		6u
#define BOM		0x1A2B3C4Du
#define BLOCK_MAX	(16u << 20) /* libpcap's own limit is lower */
#define OPT_COMMENT	1
#define COMMENTS_MAX	64

struct ngcomments {
	FILE *f;
	bool swap; /* the section is in the other byte order */
	uint8_t *buf;
	char *lines[COMMENTS_MAX];
	size_t n;
};

static uint32_t u32(const struct ngcomments *c, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return c->swap ? bswap_32(v) : v;
}

static uint16_t u16(const struct ngcomments *c, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return c->swap ? bswap_16(v) : v;
}

struct ngcomments *ngcomments_open(const char *path)
{
	struct ngcomments *c = calloc(1, sizeof(*c));
	uint32_t magic;

	if (!c)
		return NULL;
	c->f = fopen(path, "rbe");
	c->buf = malloc(BLOCK_MAX);
	if (!c->f || !c->buf || fread(&magic, 4, 1, c->f) != 1 || magic != BT_SHB) {
		ngcomments_close(c);
		return NULL;
	}
	rewind(c->f);
	return c;
}

static void clear(struct ngcomments *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	c->n = 0;
}

void ngcomments_close(struct ngcomments *c)
{
	if (!c)
		return;
	clear(c);
	if (c->f)
		fclose(c->f);
	free(c->buf);
	free(c);
}

/* The opt_comment values among the options in [p, end). */
static void options(struct ngcomments *c, const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 4) {
		uint16_t code = u16(c, p), len = u16(c, p + 2);
		size_t padded = ((size_t)len + 3) & ~(size_t)3;

		p += 4;
		if (!code || (size_t)(end - p) < len)
			return;
		if (code == OPT_COMMENT && c->n < COMMENTS_MAX &&
		    (c->lines[c->n] = strndup((const char *)p, len)))
			c->n++;
		if ((size_t)(end - p) < padded)
			return;
		p += padded;
	}
}

/* Read one block into buf: its type and total length, false at the end
 * or on a malformed block. */
static bool read_block(struct ngcomments *c, uint32_t *type, uint32_t *total)
{
	uint8_t hdr[12];

	if (fread(hdr, 12, 1, c->f) != 1)
		return false;
	memcpy(type, hdr, 4);
	if (*type == BT_SHB) { /* its byte-order magic says how to read it */
		uint32_t bom;

		memcpy(&bom, hdr + 8, 4);
		if (bom != BOM && bom != bswap_32(BOM))
			return false;
		c->swap = bom != BOM;
	} else {
		*type = u32(c, hdr);
	}
	*total = u32(c, hdr + 4);
	if (*total < 12 || *total % 4 || *total > BLOCK_MAX)
		return false;
	memcpy(c->buf, hdr, 12);
	return fread(c->buf + 12, *total - 12, 1, c->f) == 1 || *total == 12;
}

bool ngcomments_next(struct ngcomments *c, const char *const **lines, size_t *n)
{
	uint32_t type, total;

	clear(c);
	while (read_block(c, &type, &total)) {
		const uint8_t *end = c->buf + total - 4, *body = c->buf + 8;
		uint32_t caplen;

		if (type != BT_EPB && type != BT_PB && type != BT_SPB)
			continue;
		if (type != BT_SPB && end - body >= 20) {
			caplen = u32(c, body + 12);
			if (((uint64_t)caplen + 3) / 4 * 4 <= (size_t)(end - body) - 20)
				options(c, body + 20 + ((uint64_t)caplen + 3) / 4 * 4, end);
		}
		*lines = (const char *const *)c->lines;
		*n = c->n;
		return true;
	}
	return false;
}
