// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The zero-copy part (kern/zerocopy.bpf.c): sendfile/splice/tee/vmsplice/
 * copy_file_range metadata, and body bytes on the TCP send path.
 *
 * Before the real object loads, a private instance of the same object
 * (its own maps and ring buffer, tracing only zcap itself) tries each
 * send-path hook in turn and runs the page-translation self-test: zcap
 * sendfile()s a random pattern from a memfd over a loopback TCP pair and
 * compares what the hook read through the direct map with the pattern.
 * Only when they are equal are body bytes captured; otherwise sizes only.
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
#include "detach.h"
#include "util.h"
#include "zerocopy.skel.h"

#define SLOTS_PER_CPU 2 /* kern/common.bpf.h */

/* x86-64 defaults when kallsyms does not name the bases (no KASLR of the
 * memory layout): 4-level, then 5-level paging. */
static const uint64_t x86_bases[][2] = {
	{0xffff888000000000ULL, 0xffffea0000000000ULL},
	{0xff11000000000000ULL, 0xffd4000000000000ULL},
};

/* Self-test pattern: several pages, sent from an unaligned offset. */
#define ST_FILE_LEN 20000
#define ST_OFF	    77
#define ST_LEN	    (ST_FILE_LEN - ST_OFF - 33)

enum hook_set { HOOK_KPROBE, HOOK_FENTRY, HOOK_TRACEPOINT, NHOOKS };

static const char *const hook_names[NHOOKS] = {"kprobe", "fentry", "tracepoint"};
static const char *const hook_desc[NHOOKS] = {
	"kprobe tcp_sendmsg_locked",
	"fentry tcp_sendmsg_locked",
	"raw_tp tcp_sendmsg_locked + sock_send_length",
};

static void hook_progs(struct zerocopy_bpf *skel, enum hook_set h, struct bpf_program *out[2])
{
	switch (h) {
	case HOOK_KPROBE:
		out[0] = skel->progs.zc_kp_sendmsg_locked;
		out[1] = skel->progs.zc_kret_sendmsg_locked;
		break;
	case HOOK_FENTRY:
		out[0] = skel->progs.zc_fe_sendmsg_locked;
		out[1] = skel->progs.zc_fx_sendmsg_locked;
		break;
	default:
		out[0] = skel->progs.zc_tp_sendmsg_locked;
		out[1] = skel->progs.zc_tp_send_length;
	}
}

/* Load only hook set h (or none when h == NHOOKS) of the send path. */
static void choose_hook(struct zerocopy_bpf *skel, enum hook_set h)
{
	for (int i = 0; i < NHOOKS; i++) {
		struct bpf_program *p[2];

		hook_progs(skel, i, p);
		bpf_program__set_autoload(p[0], (int)h == i);
		bpf_program__set_autoload(p[1], (int)h == i);
	}
}

static int page_shift(void)
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
	bool mismatch_off; /* a chunk out of place */
	bool nocontent;
	uint64_t accepted; /* from the end record */
	bool ended;
	uint64_t src_ino;
	int64_t src_off;
	uint32_t tid;
};

static int st_on_record(void *ctx, void *raw, size_t len)
{
	struct st_collect *c = ctx;
	const struct zcap_send_ev *s;
	struct zev ev;

	if (zev_decode(raw, len, &ev, NULL) || ev.type != ZCAP_EV_SEND || ev.h->tid != c->tid)
		return 0;
	s = ev.send;
	if (s->flags & ZCAP_F_LAST) {
		c->accepted += s->total_len;
		c->ended = true;
		return 0;
	}
	if (s->flags & ZCAP_F_NOCONTENT)
		c->nocontent = true;
	if (s->chunk_off == 0 && (s->flags & ZCAP_F_FIRST)) {
		c->src_ino = s->src_ino;
		c->src_off = s->src_off;
	}
	if (s->chunk_off + ev.data_len > sizeof(c->data) || s->chunk_off != c->got) {
		c->mismatch_off = true;
		return 0;
	}
	memcpy(c->data + s->chunk_off, ev.data, ev.data_len);
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

/* sendfile() a random pattern to ourselves; the instance watches. Returns
 * 0 when the captured body is the pattern, else -1 with why set. */
static int sendfile_selftest(int events_fd, char *why, size_t whylen, bool *origin_ok)
{
	static uint8_t pattern[ST_FILE_LEN], echo[ST_LEN];
	struct st_collect *c = calloc(1, sizeof(*c));
	struct ring_buffer *rb = NULL;
	int memfd = -1, cli = -1, srv = -1, rc = -1;
	off_t off = ST_OFF;
	struct stat st;
	ssize_t n;

	*origin_ok = false;
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return -1;
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
	if (!c->ended || c->accepted != ST_LEN)
		snprintf(why, whylen, "the send hook saw %" PRIu64 " of %d bytes%s", c->accepted,
			 ST_LEN, c->ended ? "" : " (no result)");
	else if (c->mismatch_off || c->got != ST_LEN)
		snprintf(why, whylen, "%zu of %d body bytes read", c->got, ST_LEN);
	else if (memcmp(c->data, pattern + ST_OFF, ST_LEN))
		snprintf(why, whylen, "the bytes read through the direct map differ");
	else
		rc = 0;
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
	return rc;
}

/* Shrink the instance's maps: it traces one process for a moment. */
static void shrink_maps(struct zerocopy_bpf *skel, int ncpus)
{
	bpf_map__set_max_entries(skel->maps.events, 1 << 20);
	bpf_map__set_max_entries(skel->maps.scratch, ncpus * SLOTS_PER_CPU);
	bpf_map__set_max_entries(skel->maps.zc_walks, ncpus * SLOTS_PER_CPU);
	bpf_map__set_max_entries(skel->maps.inflight, 64);
	bpf_map__set_max_entries(skel->maps.traced_pids, 8);
	bpf_map__set_max_entries(skel->maps.zc_sends, 64);
}

/* Open a private instance for hook set h (NHOOKS: none) with the given
 * bases; loaded, not attached. NULL with why set. */
static struct zerocopy_bpf *private_instance(enum hook_set h, uint64_t pob, uint64_t vmb, char *why,
					     size_t whylen)
{
	struct zerocopy_bpf *skel = zerocopy_bpf__open_opts(part_open_opts());
	struct zcap_config *cfg;
	struct bpf_program *prog;
	int ncpus = libbpf_num_possible_cpus(), err;

	if (!skel) {
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	/* only the hook set and the kernel-variable reader */
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.zc_read_kvar);
	if (h != NHOOKS)
		choose_hook(skel, h);
	shrink_maps(skel, ncpus > 0 ? ncpus : 1);
	cfg = (struct zcap_config *)&skel->rodata->cfg;
	memset(cfg, 0, sizeof(*cfg));
	cfg->snaplen = UINT32_MAX;
	cfg->want_payload = 1;
	cfg->filter_pids = 1;
	cfg->bodies_ok = 1;
	cfg->page_offset_base = pob;
	cfg->vmemmap_base = vmb;
	skel->rodata->zc_page_shift = page_shift();
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
	uint64_t args[1] = {addr};
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
		struct zerocopy_bpf *skel = private_instance(NHOOKS, 0, 0, why, sizeof(why));

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

struct send_path_choice {
	int hook; /* enum hook_set; NHOOKS: none attached */
	bool bodies_ok;
	bool origin_ok;
	uint64_t pob, vmb;
	const char *base_src;
	char why[192];
};

/*
 * Load and attach hook set h in a private instance and run the self-test
 * with candidate c. Returns -1 when the hook does not load or attach
 * (why set), 0 otherwise with *ok the self-test's verdict (why set when
 * false).
 */
static int try_hook(enum hook_set h, const struct base_candidates *bc, int c, bool *ok,
		    bool *origin_ok, char *why, size_t whylen)
{
	struct zerocopy_bpf *skel;
	struct bpf_link *links[2] = {NULL, NULL};
	struct bpf_program *p[2];
	__u32 me = getpid();
	__u8 one = 1;
	int rc = -1;

	*ok = false;
	*origin_ok = false;
	skel = private_instance(h, c < bc->n ? bc->v[c][0] : 0, c < bc->n ? bc->v[c][1] : 0, why,
				whylen);
	if (!skel)
		return -1;
	hook_progs(skel, h, p);
	for (int i = 0; i < 2; i++) {
		links[i] = bpf_program__attach(p[i]);
		if (!links[i]) {
			snprintf(why, whylen, "attach %s: %s", bpf_program__section_name(p[i]),
				 strerror(errno));
			goto cleanup;
		}
	}
	rc = 0;
	if (c >= bc->n) {
		snprintf(why, whylen, "no direct-map base known for this kernel");
		goto cleanup;
	}
	if (bpf_map__update_elem(skel->maps.traced_pids, &me, sizeof(me), &one, sizeof(one),
				 BPF_ANY)) {
		snprintf(why, whylen, "self-test setup: %s", strerror(errno));
		goto cleanup;
	}
	*ok = sendfile_selftest(bpf_map__fd(skel->maps.events), why, whylen, origin_ok) == 0;
cleanup:
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(links[i]);
	zerocopy_bpf__destroy(skel);
	return rc;
}

/* The first hook set that loads and attaches (o->send_hook "auto"), or the
 * one asked for; then the first base candidate that passes the self-test. */
static void choose_send_path(const struct loader_opts *o, struct send_path_choice *ch)
{
	struct base_candidates bc;
	char why[192] = "";
	bool ok, origin_ok;

	memset(ch, 0, sizeof(*ch));
	ch->hook = NHOOKS;
	find_candidates(&bc, o->test_bad_page_base);
	for (int h = 0; h < NHOOKS; h++) {
		const char *want = o->send_hook ? o->send_hook : "auto";

		if (strcmp(want, "auto") && strcmp(want, hook_names[h]))
			continue;
		if (try_hook(h, &bc, 0, &ok, &origin_ok, why, sizeof(why))) {
			if (zcap_verbose)
				zcap_warn("send hook %s: %s", hook_names[h], why);
			snprintf(ch->why + strlen(ch->why), sizeof(ch->why) - strlen(ch->why),
				 "%s%s: %s", *ch->why ? "; " : "", hook_names[h], why);
			continue;
		}
		ch->hook = h;
		for (int c = 1; !ok && c < bc.n; c++)
			if (try_hook(h, &bc, c, &ok, &origin_ok, why, sizeof(why)) == 0 && ok) {
				ch->pob = bc.v[c][0];
				ch->vmb = bc.v[c][1];
				ch->base_src = bc.src[c];
			}
		if (ok && !ch->base_src) {
			ch->pob = bc.v[0][0];
			ch->vmb = bc.v[0][1];
			ch->base_src = bc.src[0];
		}
		ch->bodies_ok = ok;
		ch->origin_ok = origin_ok;
		snprintf(ch->why, sizeof(ch->why), "%s", why);
		return;
	}
}

/* ---- the part ---------------------------------------------------------- */

static void *zc_open(void)
{
	return zerocopy_bpf__open_opts(part_open_opts());
}

static struct bpf_object *zc_object(void *skel)
{
	return ((struct zerocopy_bpf *)skel)->obj;
}

static struct zcap_config *zc_config(void *skel)
{
	return (struct zcap_config *)&((struct zerocopy_bpf *)skel)->rodata->cfg;
}

static int zc_prepare(void *skel_, const struct loader_opts *o, char *desc, size_t len)
{
	struct zerocopy_bpf *skel = skel_;
	struct zcap_config *cfg = zc_config(skel);
	struct send_path_choice ch;
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus <= 0)
		ncpus = 1;
	bpf_map__set_max_entries(skel->maps.zc_walks, ncpus * SLOTS_PER_CPU);
	bpf_program__set_autoload(skel->progs.zc_read_kvar, false);
	skel->rodata->zc_page_shift = page_shift();
	if (o->send_hook && strcmp(o->send_hook, "auto") && strcmp(o->send_hook, "kprobe") &&
	    strcmp(o->send_hook, "fentry") && strcmp(o->send_hook, "tracepoint")) {
		zcap_err("unknown send hook '%s' (auto, kprobe, fentry, tracepoint)", o->send_hook);
		return -EINVAL;
	}
	if (o->no_send_path) {
		choose_hook(skel, NHOOKS);
		snprintf(desc, len, "zero-copy syscalls");
		return 0;
	}
	choose_send_path(o, &ch);
	if (ch.hook == NHOOKS && o->send_hook && strcmp(o->send_hook, "auto")) {
		zcap_err("--send-hook=%s does not work here: %s (`zcap doctor` checks the kernel)",
			 o->send_hook, ch.why);
		return -EOPNOTSUPP;
	}
	if (ch.hook == NHOOKS) {
		zcap_warn("zero-copy bodies are not captured: no send-path hook attaches (%s)",
			  ch.why);
		choose_hook(skel, NHOOKS);
		snprintf(desc, len, "zero-copy syscalls");
		return 0;
	}
	choose_hook(skel, ch.hook);
	cfg->page_offset_base = ch.pob;
	cfg->vmemmap_base = ch.vmb;
	cfg->bodies_ok = ch.bodies_ok;
	if (!ch.bodies_ok)
		zcap_warn("zero-copy bodies: page-translation self-test failed (%s); sizes only, "
			  "content not captured",
			  ch.why);
	else if (zcap_verbose)
		zcap_warn("zero-copy bodies: self-test passed (%s bases %#" PRIx64 "/%#" PRIx64
			  ", page origins %s)",
			  ch.base_src, ch.pob, ch.vmb, ch.origin_ok ? "verified" : "unverified");
	snprintf(desc, len, "zero-copy syscalls, %s%s", hook_desc[ch.hook],
		 ch.bodies_ok ? "" : " (sizes only)");
	return 0;
}

static int zc_load(void *skel)
{
	return zerocopy_bpf__load(skel);
}

static int zc_attach(void *skel, const struct loader_opts *o)
{
	int err = zerocopy_bpf__attach(skel);

	if (err)
		zcap_err("cannot attach the zero-copy programs: %s (`zcap doctor` checks the "
			 "kernel)",
			 strerror(-err));
	return err;
}

static void zc_destroy(void *skel)
{
	if (skel)
		skel_detach_parallel(((struct zerocopy_bpf *)skel)->skeleton);
	zerocopy_bpf__destroy(skel);
}

const struct bpf_part part_zerocopy = {
	.name = "zerocopy",
	.open = zc_open,
	.object = zc_object,
	.config = zc_config,
	.prepare = zc_prepare,
	.load = zc_load,
	.attach = zc_attach,
	.destroy = zc_destroy,
};
