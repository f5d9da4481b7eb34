// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Choosing the send-path hook family (send_path.h).
 *
 * For each family a private instance of the zero-copy object (its own
 * maps and ring buffer, tracing only zcap itself) is loaded with only that
 * family's programs and attached; zcap then sendfile()s a random pattern
 * from a memfd over a loopback TCP pair and compares what the hook read
 * through the direct map with the pattern. The verdict tells apart "the
 * hook does not load", "it never fired" (this kernel sends sendfile
 * through a function the family does not hook) and "the bytes differ"
 * (wrong direct-map bases: then the other base candidates are tried, and
 * failing all, bodies are sizes only).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "bpf_part.h"
#include "decode.h"
#include "kbtf.h"
#include "send_path.h"
#include "util.h"
#include "zerocopy.skel.h"
#include "zerocopy_bounded.skel.h"

#define SLOTS_PER_CPU 2 /* kern/common.bpf.h */

PART_SKEL_OPENER(zerocopy)

/* x86-64 defaults when kallsyms does not name the bases (no KASLR of the
 * memory layout): 4-level, then 5-level paging. */
static const uint64_t x86_bases[][2] = {
	{ 0xffff888000000000ULL, 0xffffea0000000000ULL },
	{ 0xff11000000000000ULL, 0xffd4000000000000ULL },
};

/* Self-test pattern: several pages, sent from an unaligned offset. */
#define ST_FILE_LEN 20000
#define ST_OFF	    77
#define ST_LEN	    (ST_FILE_LEN - ST_OFF - 33)

static const char *const family_names[SEND_NFAMILIES] = { "kprobe", "fentry", "tracepoint" };

const char *send_family_name(int family)
{
	return family >= 0 && family < SEND_NFAMILIES ? family_names[family] : "none";
}

int send_family_by_name(const char *name)
{
	for (int f = 0; f < SEND_NFAMILIES; f++)
		if (!strcmp(name, family_names[f]))
			return f;
	return -1;
}

/* A family's programs for one target: the start and the result. */
struct target_progs {
	struct bpf_program *start, *end;
	const char *func;
};

enum { TGT_SENDMSG, TGT_SENDPAGES, NTARGETS };

static struct target_progs target_of(struct zerocopy_bpf *skel, int family, int target)
{
	switch (family * NTARGETS + target) {
	case SEND_KPROBE * NTARGETS + TGT_SENDMSG:
		return (struct target_progs){ skel->progs.zc_kp_sendmsg_locked,
					      skel->progs.zc_kret_sendmsg_locked,
					      "tcp_sendmsg_locked" };
	case SEND_KPROBE * NTARGETS + TGT_SENDPAGES:
		return (struct target_progs){ skel->progs.zc_kp_sendpages,
					      skel->progs.zc_kret_sendpages, "do_tcp_sendpages" };
	case SEND_FENTRY * NTARGETS + TGT_SENDMSG:
		return (struct target_progs){ skel->progs.zc_fe_sendmsg_locked,
					      skel->progs.zc_fx_sendmsg_locked,
					      "tcp_sendmsg_locked" };
	case SEND_FENTRY * NTARGETS + TGT_SENDPAGES:
		return (struct target_progs){ skel->progs.zc_fe_sendpages,
					      skel->progs.zc_fx_sendpages, "do_tcp_sendpages" };
	case SEND_TRACEPOINT * NTARGETS + TGT_SENDMSG:
		return (struct target_progs){ skel->progs.zc_tp_sendmsg_locked,
					      skel->progs.zc_tp_send_length,
					      "tcp:tcp_sendmsg_locked + sock:sock_send_length" };
	default:
		return (struct target_progs){ NULL, NULL, NULL };
	}
}

/* Does the kernel have what the family's target hooks? */
static bool target_exists(int family, int target)
{
	if (family == SEND_TRACEPOINT)
		return target == TGT_SENDMSG && kbtf_has_tracepoint("tcp_sendmsg_locked") &&
		       kbtf_has_tracepoint("sock_send_length");
	return kbtf_has_func(target == TGT_SENDMSG ? "tcp_sendmsg_locked" : "do_tcp_sendpages");
}

/* Which targets the family has here, and its description. */
static void family_targets(int family, struct send_family_result *r)
{
	static const char *const kind[SEND_NFAMILIES] = { "kprobe", "fentry", "raw_tp" };
	char *d = r->desc;
	size_t len = sizeof(r->desc);

	r->sendpages = target_exists(family, TGT_SENDPAGES);
	r->sendmsg = target_exists(family, TGT_SENDMSG);
	r->available = r->sendmsg || r->sendpages;
	snprintf(d, len, "%s", kind[family]);
	if (r->sendpages)
		snprintf(d + strlen(d), len - strlen(d), " do_tcp_sendpages");
	if (r->sendmsg)
		snprintf(d + strlen(d), len - strlen(d), "%s %s", r->sendpages ? " +" : "",
			 family == SEND_TRACEPOINT ? "tcp_sendmsg_locked + sock_send_length" :
						     "tcp_sendmsg_locked");
}

void send_path_select(struct zerocopy_bpf *skel, int family)
{
	for (int f = 0; f < SEND_NFAMILIES; f++)
		for (int t = 0; t < NTARGETS; t++) {
			struct target_progs p = target_of(skel, f, t);
			bool on = f == family && target_exists(f, t);

			if (!p.start)
				continue;
			bpf_program__set_autoload(p.start, on);
			bpf_program__set_autoload(p.end, on);
		}
}

int send_path_page_shift(void)
{
	long sz = sysconf(_SC_PAGESIZE);
	int shift = 0;

	while (sz > 1) {
		sz >>= 1;
		shift++;
	}
	return shift ? shift : 12;
}

/* ---- the private self-test instance -------------------------------------- */

struct st_collect {
	uint8_t data[ST_LEN];
	size_t got;	   /* bytes placed */
	size_t records;	   /* send records of the test's thread */
	bool mismatch_off; /* a chunk out of place */
	uint64_t accepted; /* from the end records */
	bool ended;
	bool have_seq;
	uint32_t seq0; /* TCP sequence number of the first byte */
	uint64_t src_ino;
	int64_t src_off;
	uint32_t tid;
};

static int st_on_record(void *ctx, void *raw, size_t len)
{
	struct st_collect *c = ctx;
	const struct zcap_send_ev *s;
	struct zev ev;
	uint32_t pos;

	if (zev_decode(raw, len, &ev, NULL) || ev.type != ZCAP_EV_SEND || ev.h->tid != c->tid)
		return 0;
	s = ev.send;
	c->records++;
	if (s->flags & ZCAP_F_LAST) {
		c->accepted += s->total_len;
		c->ended = true;
		return 0;
	}
	if (!c->have_seq) {
		c->have_seq = true;
		c->seq0 = s->seq;
		c->src_ino = s->src_ino;
		c->src_off = s->src_off;
	}
	/* page sends are one message per page: place chunks by TCP sequence */
	pos = s->seq - c->seq0;
	if (pos != c->got || pos + ev.data_len > sizeof(c->data)) {
		c->mismatch_off = true;
		return 0;
	}
	memcpy(c->data + pos, ev.data, ev.data_len);
	c->got += ev.data_len;
	return 0;
}

/* A connected loopback TCP pair; 0 or -errno. */
static int tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int lfd, c = -1, s = -1, err = 0;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		err = -errno;
		goto cleanup;
	}
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		goto cleanup;
	}
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		err = -errno;
cleanup:
	close(lfd);
	if (err) {
		if (c >= 0)
			close(c);
		return err;
	}
	*client = c;
	*server = s;
	return 0;
}

/* Read exactly n bytes (2 s at most). */
static bool read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			return false;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return false;
		got += r;
	}
	return true;
}

enum st_verdict { ST_SETUP_FAILED = -1, ST_PASSED, ST_NOT_FIRED, ST_BYTES_DIFFER };

/* sendfile() a random pattern to ourselves; the instance watches. The
 * verdict, with why set unless it passed. */
static enum st_verdict sendfile_selftest(int events_fd, char *why, size_t whylen, bool *origin_ok)
{
	static uint8_t pattern[ST_FILE_LEN], echo[ST_LEN];
	struct st_collect *c = calloc(1, sizeof(*c));
	enum st_verdict v = ST_SETUP_FAILED;
	struct ring_buffer *rb = NULL;
	int memfd = -1, cli = -1, srv = -1;
	off_t off = ST_OFF;
	struct stat st;
	ssize_t n;

	*origin_ok = false;
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return v;
	}
	c->tid = gettid();
	rb = ring_buffer__new(events_fd, st_on_record, c, NULL);
	if (!rb) {
		snprintf(why, whylen, "ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	if (getrandom(pattern, sizeof(pattern), 0) != sizeof(pattern)) {
		snprintf(why, whylen, "getrandom: %s", strerror(errno));
		goto cleanup;
	}
	memfd = memfd_create("zcap-selftest", MFD_CLOEXEC);
	if (memfd < 0 || write(memfd, pattern, sizeof(pattern)) != sizeof(pattern) ||
	    fstat(memfd, &st)) {
		snprintf(why, whylen, "memfd: %s", strerror(errno));
		goto cleanup;
	}
	if ((errno = -tcp_pair(&cli, &srv))) {
		snprintf(why, whylen, "loopback TCP pair: %s", strerror(errno));
		goto cleanup;
	}
	n = sendfile(cli, memfd, &off, ST_LEN);
	if (n != ST_LEN) {
		snprintf(why, whylen, "sendfile sent %zd of %d bytes", n, ST_LEN);
		goto cleanup;
	}
	if (!read_exact(srv, echo, ST_LEN) || memcmp(echo, pattern + ST_OFF, ST_LEN)) {
		snprintf(why, whylen, "the loopback peer did not receive the pattern");
		goto cleanup;
	}
	ring_buffer__consume(rb);
	v = ST_BYTES_DIFFER;
	if (!c->records) {
		snprintf(why, whylen, "the hook never fired for a sendfile to TCP");
		v = ST_NOT_FIRED;
	} else if (!c->ended || c->accepted != ST_LEN)
		snprintf(why, whylen, "the send hook saw %" PRIu64 " of %d bytes%s", c->accepted,
			 ST_LEN, c->ended ? "" : " (no result)");
	else if (c->mismatch_off || c->got != ST_LEN)
		snprintf(why, whylen, "%zu of %d body bytes read", c->got, ST_LEN);
	else if (memcmp(c->data, pattern + ST_OFF, ST_LEN))
		snprintf(why, whylen, "the bytes read through the direct map differ");
	else
		v = ST_PASSED;
	*origin_ok = c->src_ino == (uint64_t)st.st_ino && c->src_off == ST_OFF;
cleanup:
	ring_buffer__free(rb);
	if (memfd >= 0)
		close(memfd);
	if (cli >= 0)
		close(cli);
	if (srv >= 0)
		close(srv);
	free(c);
	return v;
}

/* Shrink the instance's maps: it traces one process for a moment. */
static void shrink_maps(struct zerocopy_bpf *skel, int ncpus)
{
	bpf_map__set_max_entries(skel->maps.events, 1 << 20);
	bpf_map__set_max_entries(skel->maps.scratch, ncpus * SLOTS_PER_CPU);
	bpf_map__set_max_entries(skel->maps.zc_walks, ncpus * SLOTS_PER_CPU);
	bpf_map__set_max_entries(skel->maps.inflight, 64);
	/* no dispatcher here to read the counts: a bucket past the end is
	 * none, which save_args skips */
	bpf_map__set_max_entries(skel->maps.inflight_pending, 1);
	bpf_map__set_max_entries(skel->maps.traced_pids, 8);
	bpf_map__set_max_entries(skel->maps.zc_sends, 64);
}

/* Open a private instance for family (SEND_NFAMILIES: none) with the
 * given bases; loaded, not attached. NULL with why set. */
static struct zerocopy_bpf *private_instance(int family, uint64_t pob, uint64_t vmb, char *why,
					     size_t whylen)
{
	struct zerocopy_bpf *skel = zerocopy_open_skel();
	struct zcap_config *cfg;
	struct bpf_program *prog;
	int ncpus = libbpf_num_possible_cpus(), err;

	if (!skel) {
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	/* only the family and the kernel-variable reader */
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.zc_read_kvar);
	send_path_select(skel, family);
	shrink_maps(skel, ncpus > 0 ? ncpus : 1);
	cfg = (struct zcap_config *)&skel->rodata->cfg;
	memset(cfg, 0, sizeof(*cfg));
	cfg->snaplen = UINT32_MAX;
	cfg->want_payload = 1;
	cfg->filter_pids = 1;
	cfg->bodies_ok = 1;
	cfg->page_offset_base = pob;
	cfg->vmemmap_base = vmb;
	skel->rodata->zc_page_shift = send_path_page_shift();
	err = zerocopy_bpf__load(skel);
	if (err) {
		snprintf(why, whylen, "load: %s", strerror(-err));
		zerocopy_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Value of a kernel variable at addr, through zc_read_kvar. */
static bool read_kernel_u64(struct zerocopy_bpf *skel, uint64_t addr, uint64_t *val)
{
	uint64_t args[1] = { addr };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.zc_read_kvar), &opts))
		return false;
	if (skel->bss->zc_kvar_err)
		return false;
	*val = skel->bss->zc_kvar_value;
	return true;
}

/* Addresses of page_offset_base and vmemmap_base in /proc/kallsyms. */
static bool kallsyms_bases(uint64_t *pob_addr, uint64_t *vmb_addr)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], name[256], type;
	unsigned long long addr;
	int found = 0;

	*pob_addr = *vmb_addr = 0;
	if (!f)
		return false;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (!strcmp(name, "page_offset_base"))
			*pob_addr = addr, found++;
		else if (!strcmp(name, "vmemmap_base"))
			*vmb_addr = addr, found++;
	}
	fclose(f);
	return *pob_addr && *vmb_addr;
}

struct base_candidates {
	uint64_t v[4][2];
	const char *src[4];
	int n;
};

static void add_candidate(struct base_candidates *bc, uint64_t pob, uint64_t vmb, const char *src)
{
	for (int i = 0; i < bc->n; i++)
		if (bc->v[i][0] == pob && bc->v[i][1] == vmb)
			return;
	if (bc->n < 4) {
		bc->v[bc->n][0] = pob;
		bc->v[bc->n][1] = vmb;
		bc->src[bc->n++] = src;
	}
}

static void find_candidates(struct base_candidates *bc, bool bad_base)
{
	uint64_t pa, va, pob, vmb;

	memset(bc, 0, sizeof(*bc));
	if (kallsyms_bases(&pa, &va)) {
		char why[128];
		struct zerocopy_bpf *skel = private_instance(SEND_NFAMILIES, 0, 0, why, sizeof(why));

		if (skel && read_kernel_u64(skel, pa, &pob) && read_kernel_u64(skel, va, &vmb))
			add_candidate(bc, pob, vmb, "kallsyms");
		zerocopy_bpf__destroy(skel);
	}
#if defined(__x86_64__)
	for (size_t i = 0; i < sizeof(x86_bases) / sizeof(x86_bases[0]); i++)
		add_candidate(bc, x86_bases[i][0], x86_bases[i][1], "x86-64 default");
#endif
	if (bad_base) {
		/* test only: a direct map 1 GiB off, the first candidate only */
		bc->v[0][0] += 1ULL << 30;
		bc->n = bc->n ? 1 : 0;
	}
}

/*
 * Load and attach the family in a private instance and run the self-test
 * with candidate c. -1 when it does not load or attach (why set), else the
 * self-test's verdict (why set unless it passed).
 */
static int try_family(int family, const struct base_candidates *bc, int c, bool *origin_ok,
		      char *why, size_t whylen)
{
	struct bpf_link *links[2 * NTARGETS] = { NULL };
	struct zerocopy_bpf *skel;
	__u32 me = getpid();
	__u8 one = 1;
	int rc = -1, nl = 0;

	*origin_ok = false;
	skel = private_instance(family, c < bc->n ? bc->v[c][0] : 0, c < bc->n ? bc->v[c][1] : 0,
				why, whylen);
	if (!skel)
		return -1;
	for (int t = 0; t < NTARGETS; t++) {
		struct target_progs p = target_of(skel, family, t);
		struct bpf_program *pp[2] = { p.start, p.end };

		for (int i = 0; p.start && i < 2; i++) {
			if (!bpf_program__autoload(pp[i]))
				continue;
			links[nl] = bpf_program__attach(pp[i]);
			if (!links[nl]) {
				snprintf(why, whylen, "attach %s: %s",
					 bpf_program__section_name(pp[i]), strerror(errno));
				goto cleanup;
			}
			nl++;
		}
	}
	/* with no base known the test still runs: it tells whether the hook
	 * fires, and its reads fail */
	if (bpf_map__update_elem(skel->maps.traced_pids, &me, sizeof(me), &one, sizeof(one),
				 BPF_ANY)) {
		snprintf(why, whylen, "self-test setup: %s", strerror(errno));
		goto cleanup;
	}
	rc = sendfile_selftest(bpf_map__fd(skel->maps.events), why, whylen, origin_ok);
cleanup:
	for (int i = 0; i < nl; i++)
		bpf_link__destroy(links[i]);
	zerocopy_bpf__destroy(skel);
	return rc;
}

static void append_why(struct send_path *sp, int family, const char *why)
{
	size_t n = strlen(sp->why);

	snprintf(sp->why + n, sizeof(sp->why) - n, "%s%s: %s", n ? "; " : "",
		 send_family_name(family), why);
}

/* The family's result; true when the self-test's sendfile reached it. */
static bool evaluate(int family, const struct base_candidates *bc, struct send_family_result *r,
		     uint64_t bases[2], const char **base_src)
{
	int v;

	r->tried = true;
	family_targets(family, r);
	if (!r->available) {
		snprintf(r->why, sizeof(r->why), "%s",
			 family == SEND_TRACEPOINT ?
				 "no tcp:tcp_sendmsg_locked tracepoint in this kernel" :
				 "neither tcp_sendmsg_locked nor do_tcp_sendpages in this kernel's BTF");
		return false;
	}
	v = try_family(family, bc, 0, &r->origin_ok, r->why, sizeof(r->why));
	if (v < 0)
		return false;
	r->attached = true;
	if (v == ST_NOT_FIRED || v == ST_SETUP_FAILED)
		return false;
	r->fired = true;
	for (int c = 0; v != ST_PASSED && ++c < bc->n;)
		if (try_family(family, bc, c, &r->origin_ok, r->why, sizeof(r->why)) == ST_PASSED) {
			v = ST_PASSED;
			bases[0] = bc->v[c][0];
			bases[1] = bc->v[c][1];
			*base_src = bc->src[c];
		}
	if (v == ST_PASSED && !*base_src) {
		bases[0] = bc->v[0][0];
		bases[1] = bc->v[0][1];
		*base_src = bc->src[0];
	}
	r->bytes_ok = v == ST_PASSED;
	if (r->bytes_ok)
		r->why[0] = 0;
	return true;
}

void send_path_choose(const char *want, bool try_all, bool bad_base, struct send_path *sp)
{
	struct base_candidates bc;

	memset(sp, 0, sizeof(*sp));
	sp->family = SEND_NFAMILIES;
	find_candidates(&bc, bad_base);
	for (int f = 0; f < SEND_NFAMILIES; f++) {
		struct send_family_result *r = &sp->fam[f];
		uint64_t bases[2] = { 0, 0 };
		const char *base_src = NULL;

		if (want && strcmp(want, "auto") && strcmp(want, family_names[f]))
			continue;
		if (sp->family != SEND_NFAMILIES && !try_all)
			break;
		if (!evaluate(f, &bc, r, bases, &base_src)) {
			if (sp->family == SEND_NFAMILIES)
				append_why(sp, f, r->why);
			if (zcap_verbose)
				zcap_warn("send hook %s: %s", family_names[f], r->why);
			continue;
		}
		if (sp->family != SEND_NFAMILIES)
			continue; /* doctor: the first that fired stays chosen */
		sp->family = f;
		sp->bodies_ok = r->bytes_ok;
		sp->origin_ok = r->origin_ok;
		sp->pob = bases[0];
		sp->vmb = bases[1];
		sp->base_src = base_src;
		snprintf(sp->why, sizeof(sp->why), "%s", r->why);
	}
}
