// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Sockets of processes from /proc (sockscan.h) and their sock_owner keys
 * (sockseed.h): the /proc/net line parser on the kernel's formats and on
 * mangled lines, a /proc tree of our own (shared sockets, vanished
 * processes, unreadable and odd entries), and the live /proc against
 * sockets this test opens (thousands of them, shared with a child). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "sockscan.h"
#include "sockseed.h"

/* An address as the kernel prints it in /proc/net: each 32-bit word as
 * %08X of its value in host byte order. */
static void kernel_hex(const uint8_t *addr, int words, char *out)
{
	for (int i = 0; i < words; i++) {
		uint32_t w;

		memcpy(&w, addr + 4 * i, 4);
		sprintf(out + 8 * i, "%08X", w);
	}
}

/* A /proc/net line (tcp's layout; udp's differs after the inode). */
static void net_line(char *out, size_t len, int family, const char *laddr, uint16_t lport,
		     const char *raddr, uint16_t rport, unsigned st, unsigned long long inode)
{
	uint8_t l[16], r[16];
	char lh[33], rh[33];
	int words = family == AF_INET ? 1 : 4;

	assert_int_equal(inet_pton(family, laddr, l), 1);
	assert_int_equal(inet_pton(family, raddr, r), 1);
	kernel_hex(l, words, lh);
	kernel_hex(r, words, rh);
	snprintf(out, len,
		 "%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000     0        "
		 "0 %llu 1 0000000000000000 100 0 0 10 0\n",
		 7, lh, lport, rh, rport, st, inode);
}

static void assert_addr(const uint8_t *got, int family, const char *want)
{
	uint8_t w[16] = {};

	assert_int_equal(inet_pton(family, want, w), 1);
	assert_memory_equal(got, w, family == AF_INET ? 4 : 16);
}

static void test_parse_ipv4(void **state)
{
	struct sockscan_sock s;
	char line[256];

	net_line(line, sizeof(line), AF_INET, "127.0.0.1", 8080, "0.0.0.0", 0, 0x0A, 12345);
	assert_int_equal(sockscan_parse_line(line, IPPROTO_TCP, AF_INET, &s), 0);
	assert_int_equal(s.proto, IPPROTO_TCP);
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.state, 10);
	assert_int_equal(s.lport, 8080);
	assert_int_equal(s.rport, 0);
	assert_addr(s.laddr, AF_INET, "127.0.0.1");
	assert_addr(s.raddr, AF_INET, "0.0.0.0");
	assert_int_equal(s.inode, 12345);

	net_line(line, sizeof(line), AF_INET, "10.1.2.3", 40000, "192.168.200.9", 443, 1,
		 18446744073709551615ULL);
	assert_int_equal(sockscan_parse_line(line, IPPROTO_UDP, AF_INET, &s), 0);
	assert_int_equal(s.proto, IPPROTO_UDP);
	assert_addr(s.laddr, AF_INET, "10.1.2.3");
	assert_addr(s.raddr, AF_INET, "192.168.200.9");
	assert_int_equal(s.lport, 40000);
	assert_int_equal(s.rport, 443);
	assert_true(s.inode == UINT64_MAX);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* as /proc/net/tcp has it on this (little-endian) machine */
	assert_int_equal(sockscan_parse_line("   3: 0100007F:0CEA 0200007F:D431 01 00000000:00000000 "
					     "02:000A7E2E 00000000  1000        0 98765 2 "
					     "ffff8880 20 4 30 10 -1",
					     IPPROTO_TCP, AF_INET, &s),
			 0);
	assert_addr(s.laddr, AF_INET, "127.0.0.1");
	assert_addr(s.raddr, AF_INET, "127.0.0.2");
	assert_int_equal(s.lport, 3306);
	assert_int_equal(s.rport, 54321);
	assert_int_equal(s.inode, 98765);
#endif
}

static void test_parse_ipv6(void **state)
{
	struct sockscan_sock s;
	char line[256];

	net_line(line, sizeof(line), AF_INET6, "::1", 443, "fe80::1:2:3:4", 65535, 1, 77);
	assert_int_equal(sockscan_parse_line(line, IPPROTO_TCP, AF_INET6, &s), 0);
	assert_int_equal(s.family, AF_INET6);
	assert_addr(s.laddr, AF_INET6, "::1");
	assert_addr(s.raddr, AF_INET6, "fe80::1:2:3:4");
	assert_int_equal(s.lport, 443);
	assert_int_equal(s.rport, 65535);
	assert_int_equal(s.inode, 77);

	net_line(line, sizeof(line), AF_INET6, "::ffff:127.0.0.1", 80, "::ffff:10.0.0.7", 5555,
		 1, 78);
	assert_int_equal(sockscan_parse_line(line, IPPROTO_TCP, AF_INET6, &s), 0);
	assert_addr(s.laddr, AF_INET6, "::ffff:127.0.0.1");
	assert_addr(s.raddr, AF_INET6, "::ffff:10.0.0.7");

	net_line(line, sizeof(line), AF_INET6, "::", 53, "::", 0, 7, 79);
	assert_int_equal(sockscan_parse_line(line, IPPROTO_UDP, AF_INET6, &s), 0);
	assert_addr(s.laddr, AF_INET6, "::");
	assert_int_equal(s.state, 7);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	assert_int_equal(sockscan_parse_line("  12: 0000000000000000FFFF00000100007F:0050 "
					     "0000000000000000FFFF00000100007F:A2C4 01 "
					     "00000000:00000000 00:00000000 00000000     0        "
					     "0 4242 1 0000000000000000 20 4 31 10 -1\n",
					     IPPROTO_TCP, AF_INET6, &s),
			 0);
	assert_addr(s.laddr, AF_INET6, "::ffff:127.0.0.1");
	assert_int_equal(s.rport, 0xA2C4);
	assert_int_equal(s.inode, 4242);
#endif
}

static void test_parse_header_and_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"garbage",
		"0: ",
		":",
		"x: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 1",
		"0 0100007F:0050 00000000:0000 0A 0 0 0 0 0 1",		   /* no colon */
		"0: 0100007:0050 00000000:0000 0A 0 0 0 0 0 1",		   /* 7 digits */
		"0: 0100007FF:0050 00000000:0000 0A 0 0 0 0 0 1",	   /* 9 digits */
		"0: 0100007F:050 00000000:0000 0A 0 0 0 0 0 1",		   /* short port */
		"0: 0100007F:00500 00000000:0000 0A 0 0 0 0 0 1",	   /* long port */
		"0: 0100007F-0050 00000000:0000 0A 0 0 0 0 0 1",	   /* no ':' */
		"0: 0100007G:0050 00000000:0000 0A 0 0 0 0 0 1",	   /* not hex */
		"0: +100007F:0050 00000000:0000 0A 0 0 0 0 0 1",	   /* sign */
		"0: 0100007F:0050 00000000:0000 0A0 0 0 0 0 0 1",	   /* state */
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0",		   /* no inode */
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 -1",	   /* negative */
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 12x",	   /* inode text */
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 18446744073709551616",
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 99999999999999999999999",
		"0: 00000000000000000000000001000000:0050 "
		"00000000000000000000000000000000:0000 0A 0 0 0 0 0 1", /* v6 in a v4 table */
	};
	struct sockscan_sock s;

	assert_int_equal(sockscan_parse_line("  sl  local_address rem_address   st tx_queue "
					     "rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
					     IPPROTO_TCP, AF_INET, &s),
			 1);
	assert_int_equal(sockscan_parse_line("   sl  local_address                         "
					     "remote_address                        st tx_queue "
					     "rx_queue tr tm->when retrnsmt   uid  timeout inode "
					     "ref pointer drops\n",
					     IPPROTO_UDP, AF_INET6, &s),
			 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sockscan_parse_line(bad[i], IPPROTO_TCP, AF_INET, &s), -EINVAL);
	/* a v4 line in a v6 table, an unknown family */
	assert_int_equal(sockscan_parse_line("0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 1",
					     IPPROTO_TCP, AF_INET6, &s),
			 -EINVAL);
	assert_int_equal(sockscan_parse_line("0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 1",
					     IPPROTO_TCP, AF_UNIX, &s),
			 -EINVAL);
	/* the minimal well-formed line, for contrast */
	assert_int_equal(sockscan_parse_line("0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 1",
					     IPPROTO_TCP, AF_INET, &s),
			 0);
}

/* Every prefix of a line and random mutations of it (bytes replaced,
 * removed, repeated; seeded): the parser returns 0, 1 or -EINVAL, never
 * reads past the NUL (ASan build), and a prefix cut before the inode's
 * first digit never parses. */
static void test_parse_mangled(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFabcdefx:-+ \t\n\0";
	char valid[2][256], buf[600];
	struct sockscan_sock s;
	unsigned int seed = 12345;

	net_line(valid[0], sizeof(valid[0]), AF_INET, "127.0.0.1", 80, "127.0.0.1", 41000, 1,
		 123456);
	net_line(valid[1], sizeof(valid[1]), AF_INET6, "::ffff:1.2.3.4", 80, "::", 0, 10, 654321);
	for (int v = 0; v < 2; v++) {
		int family = v ? AF_INET6 : AF_INET;
		size_t len = strlen(valid[v]);
		const char *inode = strstr(valid[v], v ? " 654321 " : " 123456 ") + 1;

		for (size_t cut = 0; cut <= len; cut++) {
			char *p = malloc(cut + 1); /* exact size: ASan sees any overread */
			int rc;

			memcpy(p, valid[v], cut);
			p[cut] = 0;
			rc = sockscan_parse_line(p, IPPROTO_TCP, family, &s);
			assert_int_equal(rc, cut > (size_t)(inode - valid[v]) ? 0 : -EINVAL);
			free(p);
		}
		for (int round = 0; round < 50000; round++) {
			size_t n = len;
			int rc;
			char *p;

			memcpy(buf, valid[v], len);
			for (int edits = 1 + rand_r(&seed) % 4; edits; edits--) {
				size_t at = n ? (size_t)rand_r(&seed) % n : 0;

				switch (rand_r(&seed) % 3) {
				case 0: /* replace */
					if (n)
						buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
					break;
				case 1: /* remove */
					if (n) {
						memmove(buf + at, buf + at + 1, n - at - 1);
						n--;
					}
					break;
				default: /* repeat a stretch */
					if (n + 40 < sizeof(buf)) {
						size_t k = 1 + rand_r(&seed) % 40;

						k = k > n - at ? n - at : k;
						memmove(buf + at + k, buf + at, n - at);
						n += k;
					}
				}
			}
			p = malloc(n + 1);
			memcpy(p, buf, n);
			p[n] = 0;
			rc = sockscan_parse_line(p, IPPROTO_TCP, family, &s);
			assert_true(rc == 0 || rc == 1 || rc == -EINVAL);
			if (!rc)
				assert_int_equal(s.family, family);
			free(p);
		}
	}
}

static void test_key(void **state)
{
	struct sockscan_sock s = { .proto = IPPROTO_TCP, .family = AF_INET, .lport = 80,
				   .rport = 41000 };
	struct zcap_sock_key k, want;

	inet_pton(AF_INET, "127.0.0.1", s.laddr);
	inet_pton(AF_INET, "10.9.8.7", s.raddr);
	memset(&k, 0xAA, sizeof(k)); /* padding is zeroed */
	sockseed_key(&s, &k);
	memset(&want, 0, sizeof(want));
	want.proto = IPPROTO_TCP;
	want.lport = 80;
	want.rport = 41000;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", want.laddr);
	inet_pton(AF_INET6, "::ffff:10.9.8.7", want.raddr);
	assert_memory_equal(&k, &want, sizeof(k));

	/* the any address is all zero, in either family */
	memset(s.laddr, 0, 16);
	memset(s.raddr, 0, 16);
	s.rport = 0;
	sockseed_key(&s, &k);
	memset(want.laddr, 0, 16);
	memset(want.raddr, 0, 16);
	want.rport = 0;
	assert_memory_equal(&k, &want, sizeof(k));
	s.family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:0.0.0.0", s.laddr);
	sockseed_key(&s, &k);
	assert_memory_equal(&k, &want, sizeof(k));

	/* IPv6, and IPv4-mapped on an IPv6 socket: as they are */
	s.proto = IPPROTO_UDP;
	inet_pton(AF_INET6, "::1", s.laddr);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", s.raddr);
	s.rport = 53;
	sockseed_key(&s, &k);
	want.proto = IPPROTO_UDP;
	want.rport = 53;
	inet_pton(AF_INET6, "::1", want.laddr);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", want.raddr);
	assert_memory_equal(&k, &want, sizeof(k));
}

/* ------------------------------------------------- a /proc of our own */

struct found {
	int n;
	struct {
		struct sockscan_owner o;
		struct sockscan_sock s;
	} e[8192];
	/* want(): which pids were asked about; reject: not scanned */
	pid_t asked[64];
	int nasked;
	pid_t reject, kill_at;
};

static bool want_all(void *ctx, pid_t pid, const char *comm)
{
	struct found *f = ctx;

	if (f->nasked < 64)
		f->asked[f->nasked++] = pid;
	if (pid == f->kill_at) {
		/* the process is gone between its comm and its fds */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return pid != f->reject;
}

static void collect(void *ctx, const struct sockscan_owner *o, const struct sockscan_sock *s)
{
	struct found *f = ctx;

	assert_true(f->n < (int)(sizeof(f->e) / sizeof(f->e[0])));
	f->e[f->n].o = *o;
	f->e[f->n].s = *s;
	f->n++;
}

/* The entry for inode, or NULL. */
static const struct sockscan_owner *owner_of(const struct found *f, uint64_t inode)
{
	const struct sockscan_owner *o = NULL;

	for (int i = 0; i < f->n; i++)
		if (f->e[i].s.inode == inode) {
			assert_null(o); /* once each */
			o = &f->e[i].o;
		}
	return o;
}

static char root[] = "/tmp/zcap-sockscan-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void link_to(const char *rel, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* A process in the tree: comm (NULL: none), netns link (NULL: none), fd
 * dir (fds: "N=target,..."; NULL: no fd dir). */
static void proc(const char *pid, const char *comm, const char *netns, const char *fds)
{
	char rel[128], spec[256], *save, *item;

	dir(pid);
	if (comm) {
		snprintf(rel, sizeof(rel), "%s/comm", pid);
		put(rel, comm);
	}
	snprintf(rel, sizeof(rel), "%s/ns", pid);
	dir(rel);
	if (netns) {
		snprintf(rel, sizeof(rel), "%s/ns/net", pid);
		link_to(rel, netns);
	}
	if (!fds)
		return;
	snprintf(rel, sizeof(rel), "%s/fd", pid);
	dir(rel);
	snprintf(spec, sizeof(spec), "%s", fds);
	for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		*eq = 0;
		snprintf(rel, sizeof(rel), "%s/fd/%s", pid, item);
		link_to(rel, eq + 1);
	}
}

static void test_tree(void **state)
{
	static struct found f;
	char tcp[1024], l1[256], l2[256], l3[256];
	const struct sockscan_owner *o;

	assert_non_null(mkdtemp(root));
	/* 100 and 200 share socket 500 (fork), 200 twice (dup): 100's fd 3 */
	proc("100", "srv\n", "net:[1]", "3=socket:[500],4=pipe:[9],7=socket:[501],8=socket:[]");
	proc("200", "kid\n", "net:[1]", "5=socket:[500],2=socket:[500],x=socket:[502],"
					"9=socket:[12,10=anon_inode:[eventfd]");
	/* gone before its comm was read; its socket 503 is not reported */
	proc("150", NULL, "net:[1]", "3=socket:[503]");
	/* no fd dir (exited meanwhile), a broken netns link */
	proc("160", "nofds\n", "net:[1]", NULL);
	proc("170", "badns\n", "net:[x]", "3=socket:[504]");
	/* rejected by want(): its socket 505 is not reported */
	proc("180", "zcap\n", "net:[1]", "3=socket:[505]");
	/* netns 2: 300's net dir is gone, the table is read through 301 */
	proc("300", "other\n", "net:[2]", "3=socket:[600]");
	proc("301", "other two long comm name\n", "net:[2]", "9=socket:[601]");
	dir("abc");
	dir("0");
	put("400", "a file, not a process\n");
	dir("100/net");
	net_line(l1, sizeof(l1), AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, 0x0A, 500);
	net_line(l2, sizeof(l2), AF_INET, "127.0.0.1", 80, "127.0.0.1", 41000, 1, 501);
	net_line(l3, sizeof(l3), AF_INET, "127.0.0.1", 80, "127.0.0.1", 41001, 6, 0);
	snprintf(tcp, sizeof(tcp),
		 "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
		 "   uid  timeout inode\n%s%snot a socket line at all\n%s", l1, l3, l2);
	put("100/net/tcp", tcp);
	/* IPv6 off here: no tcp6; udp6 names sockets only 180, 170, 150 hold */
	net_line(l1, sizeof(l1), AF_INET6, "::", 53, "::", 0, 7, 505);
	net_line(l2, sizeof(l2), AF_INET6, "::1", 54, "::", 0, 7, 504);
	net_line(l3, sizeof(l3), AF_INET6, "::1", 55, "::", 0, 7, 503);
	snprintf(tcp, sizeof(tcp), "%s%s%s", l1, l2, l3);
	put("100/net/udp6", tcp);
	dir("301/net");
	net_line(l1, sizeof(l1), AF_INET, "10.0.0.1", 5353, "0.0.0.0", 0, 7, 600);
	net_line(l2, sizeof(l2), AF_INET, "10.0.0.1", 5354, "10.0.0.2", 53, 1, 601);
	snprintf(tcp, sizeof(tcp), "%s%s", l1, l2);
	put("301/net/udp", tcp);

	f.reject = 180;
	assert_int_equal(sockscan_run(root, want_all, collect, &f), 0);
	assert_int_equal(f.n, 4);
	o = owner_of(&f, 500);
	assert_non_null(o);
	assert_int_equal(o->pid, 100);
	assert_int_equal(o->tid, 100);
	assert_int_equal(o->fd, 3);
	assert_string_equal(o->comm, "srv");
	assert_int_equal(o->holders, 2);
	o = owner_of(&f, 501);
	assert_non_null(o);
	assert_int_equal(o->fd, 7);
	assert_int_equal(o->holders, 1);
	o = owner_of(&f, 600);
	assert_non_null(o);
	assert_int_equal(o->pid, 300);
	assert_int_equal(o->fd, 3);
	assert_string_equal(o->comm, "other");
	o = owner_of(&f, 601);
	assert_non_null(o);
	assert_int_equal(o->pid, 301);
	assert_int_equal(o->fd, 9);
	assert_string_equal(o->comm, "other two long "); /* 15 bytes, as the kernel's */
	for (int i = 0; i < f.n; i++) {
		if (f.e[i].s.inode == 501) {
			assert_int_equal(f.e[i].s.proto, IPPROTO_TCP);
			assert_int_equal(f.e[i].s.rport, 41000);
			assert_int_equal(f.e[i].s.state, 1);
		} else if (f.e[i].s.inode == 601) {
			assert_int_equal(f.e[i].s.proto, IPPROTO_UDP);
			assert_addr(f.e[i].s.raddr, AF_INET, "10.0.0.2");
		}
	}
	assert_int_equal(sockscan_run("/nonexistent/proc", want_all, collect, &f), -ENOENT);
	snprintf(tcp, sizeof(tcp), "rm -rf '%s'", root);
	assert_int_equal(system(tcp), 0);
}

/* ---------------------------------------------------- the live /proc */

#define MANY 3000

static bool want_pids(void *ctx, pid_t pid, const char *comm)
{
	struct found *f = ctx;
	bool ok = false;

	for (int i = 0; i < f->nasked; i++)
		ok |= f->asked[i] == pid;
	if (ok && pid == f->kill_at) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ok;
}

static uint64_t inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static pid_t hold_fds(void)
{
	int p[2];
	pid_t kid;
	char c;

	assert_int_equal(pipe(p), 0);
	kid = fork();
	assert_true(kid >= 0);
	if (!kid) {
		/* a failed assertion in the parent leaves no child behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (write(p[1], "r", 1) == 1)
			pause(); /* holds every fd the test opened */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return kid;
}

static void test_live(void **state)
{
	static struct found f;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct rlimit rl;
	int lis, cli, acc, dual, udp[MANY], high = -1, many;
	const struct sockscan_owner *o;
	pid_t kid;

	/* a big fd table: as many sockets as the limit allows, up to MANY */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 200000 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 200000 ? rl.rlim_max : 200000;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	many = rl.rlim_cur > MANY + 100 ? MANY : (int)rl.rlim_cur - 100;

	lis = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lis, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lis, 8), 0);
	assert_int_equal(getsockname(lis, (struct sockaddr *)&a, &alen), 0);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
	acc = accept(lis, NULL, NULL);
	assert_true(acc >= 0);
	/* an IPv6 socket connected to the IPv4 listener: v4-mapped ends */
	dual = socket(AF_INET6, SOCK_STREAM, 0);
	a6.sin6_port = a.sin_port;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	assert_int_equal(connect(dual, (struct sockaddr *)&a6, sizeof(a6)), 0);
	for (int i = 0; i < many; i++) {
		struct sockaddr_in u = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		udp[i] = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(udp[i] >= 0);
		assert_int_equal(bind(udp[i], (struct sockaddr *)&u, sizeof(u)), 0);
	}
	/* a far fd number, and a dup: the lower fd is named */
	if (rl.rlim_cur > 150000)
		high = dup2(cli, 150000);
	kid = hold_fds();

	/* the child alone: every socket, with the child's fds */
	memset(&f, 0, sizeof(f));
	f.asked[f.nasked++] = kid;
	assert_int_equal(sockscan_run("/proc", want_pids, collect, &f), 0);
	assert_int_equal(f.n, 4 + many);
	o = owner_of(&f, inode_of(cli));
	assert_non_null(o);
	assert_int_equal(o->pid, kid);
	assert_int_equal(o->tid, kid);
	assert_int_equal(o->fd, cli);
	assert_string_equal(o->comm, "test_sockscan");
	assert_int_equal(o->holders, 1); /* its dup at fd 150000 is the same process */
	for (int i = 0; i < f.n; i++) {
		const struct sockscan_sock *s = &f.e[i].s;
		uint16_t port = ntohs(a.sin_port);

		if (s->inode == inode_of(lis)) {
			assert_int_equal(s->state, 10);
			assert_int_equal(s->lport, port);
			assert_int_equal(s->rport, 0);
			assert_int_equal(f.e[i].o.fd, lis);
		} else if (s->inode == inode_of(acc)) {
			assert_int_equal(s->lport, port);
			assert_addr(s->raddr, AF_INET, "127.0.0.1");
			assert_int_equal(f.e[i].o.fd, acc);
		} else if (s->inode == inode_of(dual)) {
			assert_int_equal(s->family, AF_INET6);
			assert_addr(s->raddr, AF_INET6, "::ffff:127.0.0.1");
			assert_int_equal(s->rport, port);
			assert_int_equal(f.e[i].o.fd, dual);
		} else if (s->inode != inode_of(cli)) {
			struct sockaddr_in u;
			socklen_t ulen = sizeof(u);
			int fd = f.e[i].o.fd;

			assert_true(fd >= udp[0] && fd <= udp[many - 1]);
			assert_int_equal(s->inode, inode_of(fd));
			assert_int_equal(getsockname(fd, (struct sockaddr *)&u, &ulen), 0);
			assert_int_equal(s->proto, IPPROTO_UDP);
			assert_int_equal(s->lport, ntohs(u.sin_port));
		}
	}

	/* shared by fork: the lower pid is named (the test, the parent) */
	memset(&f, 0, sizeof(f));
	f.asked[f.nasked++] = kid;
	f.asked[f.nasked++] = getpid();
	assert_int_equal(sockscan_run("/proc", want_pids, collect, &f), 0);
	assert_int_equal(f.n, 4 + many);
	assert_int_equal(owner_of(&f, inode_of(acc))->pid, getpid() < kid ? getpid() : kid);
	assert_int_equal(owner_of(&f, inode_of(acc))->holders, 2);

	/* the child dies after want() said yes: scanned without it */
	memset(&f, 0, sizeof(f));
	f.asked[f.nasked++] = kid;
	f.kill_at = kid;
	assert_int_equal(sockscan_run("/proc", want_pids, collect, &f), 0);
	assert_int_equal(f.n, 0);

	for (int i = 0; i < many; i++)
		close(udp[i]);
	if (high >= 0)
		close(high);
	close(lis);
	close(cli);
	close(acc);
	close(dual);
}

/* ------------------------------------------ sock_owner from /proc */

static bool lookup(int map, int family, const char *laddr, uint16_t lport, const char *raddr,
		   uint16_t rport, uint8_t proto, struct zcap_sock_owner *o)
{
	struct sockscan_sock s = { .proto = proto, .family = family, .lport = lport,
				   .rport = rport };
	struct zcap_sock_key k;

	inet_pton(family, laddr, s.laddr);
	inet_pton(family, raddr, s.raddr);
	sockseed_key(&s, &k);
	return !bpf_map_lookup_elem(map, &k, o);
}

static int map_count(int map)
{
	struct zcap_sock_key k, next;
	int n = 0;

	for (void *prev = NULL; !bpf_map_get_next_key(map, prev, &next); prev = &k, n++)
		k = next;
	return n;
}

/* sockseed_fill into a map of the sock_owner layout: the keys the kernel
 * would look up, the capture's -p and --port, a kernel entry kept
 * (BPF_NOEXIST), a listener shared by two processes left out. */
static void test_seed(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in c = a, u = a;
	socklen_t alen = sizeof(a);
	struct loader_opts lo = {};
	struct sockseed_filter f = { .lo = &lo };
	struct sockseed_result r;
	struct zcap_sock_owner o, kernel = { .pid = 1, .tid = 1, .fd = 9, .comm = "kernel" };
	struct zcap_sock_key k;
	struct sockscan_sock ks = { .proto = IPPROTO_TCP, .family = AF_INET };
	uint16_t port, cport, uport;
	int lis, cli, acc, udp, map;
	pid_t kid, pids[2];

	map = bpf_map_create(BPF_MAP_TYPE_HASH, "seed_test", sizeof(struct zcap_sock_key),
			     sizeof(struct zcap_sock_owner), 1024, NULL);
	if (map < 0)
		skip(); /* not root */
	lis = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lis, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lis, 8), 0);
	assert_int_equal(getsockname(lis, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
	acc = accept(lis, NULL, NULL);
	assert_int_equal(getsockname(cli, (struct sockaddr *)&c, &alen), 0);
	cport = ntohs(c.sin_port);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	u.sin_addr.s_addr = 0;
	assert_int_equal(bind(udp, (struct sockaddr *)&u, sizeof(u)), 0);
	assert_int_equal(getsockname(udp, (struct sockaddr *)&u, &alen), 0);
	uport = ntohs(u.sin_port);
	kid = hold_fds();

	/* -p KID: its four sockets; the accepted one the kernel named first */
	ks.lport = port;
	ks.rport = cport;
	memcpy(ks.laddr, &a.sin_addr, 4);
	memcpy(ks.raddr, &a.sin_addr, 4);
	sockseed_key(&ks, &k);
	assert_int_equal(bpf_map_update_elem(map, &k, &kernel, BPF_NOEXIST), 0);
	pids[0] = kid;
	f.pids = pids;
	f.npids = 1;
	assert_int_equal(sockseed_fill(map, &f, &r), 0);
	assert_int_equal(r.named, 3);
	assert_int_equal(r.kernel, 1);
	assert_int_equal(map_count(map), 4);
	assert_true(lookup(map, AF_INET, "127.0.0.1", port, "0.0.0.0", 0, IPPROTO_TCP, &o));
	assert_int_equal(o.pid, kid);
	assert_int_equal(o.tid, kid);
	assert_int_equal(o.fd, lis);
	assert_string_equal(o.comm, "test_sockscan");
	assert_true(lookup(map, AF_INET, "127.0.0.1", cport, "127.0.0.1", port, IPPROTO_TCP, &o));
	assert_int_equal(o.fd, cli);
	assert_true(lookup(map, AF_INET, "127.0.0.1", port, "127.0.0.1", cport, IPPROTO_TCP, &o));
	assert_int_equal(o.pid, 1); /* the kernel's entry stays */
	assert_true(lookup(map, AF_INET6, "::", uport, "::", 0, IPPROTO_UDP, &o));
	assert_int_equal(o.fd, udp);

	/* this process and KID, --port PORT: the listener both hold is left
	 * out, the UDP socket has no such port; the lower pid is named */
	for (k = (struct zcap_sock_key){}; !bpf_map_get_next_key(map, NULL, &k);)
		bpf_map_delete_elem(map, &k);
	pids[1] = getpid();
	f.npids = 2;
	lo.filter_port = true;
	lo.port_set[port >> 3] |= 1 << (port & 7);
	assert_int_equal(sockseed_fill(map, &f, &r), 0);
	assert_int_equal(r.named, 2);
	assert_int_equal(map_count(map), 2);
	assert_false(lookup(map, AF_INET, "127.0.0.1", port, "0.0.0.0", 0, IPPROTO_TCP, &o));
	assert_true(lookup(map, AF_INET, "127.0.0.1", port, "127.0.0.1", cport, IPPROTO_TCP, &o));
	assert_int_equal(o.pid, getpid() < kid ? getpid() : kid);
	assert_int_equal(o.fd, acc);

	/* zcap itself is never named */
	for (k = (struct zcap_sock_key){}; !bpf_map_get_next_key(map, NULL, &k);)
		bpf_map_delete_elem(map, &k);
	f.self = getpid() < kid ? getpid() : kid;
	assert_int_equal(sockseed_fill(map, &f, &r), 0);
	assert_true(lookup(map, AF_INET, "127.0.0.1", port, "127.0.0.1", cport, IPPROTO_TCP, &o));
	assert_int_equal(o.pid, getpid() < kid ? kid : getpid());
	assert_int_equal(sockseed_fill(-1, &f, &r), -EBADF);

	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(map);
	close(lis);
	close(cli);
	close(acc);
	close(udp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_header_and_malformed),
		cmocka_unit_test(test_parse_mangled),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_seed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
