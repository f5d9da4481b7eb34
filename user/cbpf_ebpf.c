// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Classic BPF -> eBPF for cgroup_skb programs (see cbpf_ebpf.h). Written
 * from the two instruction sets' definitions; the kernel does the same
 * conversion for socket filters, but cgroup_skb programs have no LD_ABS
 * and must use bpf_skb_load_bytes, which also reaches paged data.
 *
 * Registers: R6 the context, R7 A, R8 X. Stack: M[k] at fp-64+4k, the
 * buffer packet loads land in at fp-72. Each classic instruction becomes
 * a fixed number of eBPF ones, so a first pass counts them and a second
 * emits with every jump offset known; cBPF only jumps forward, so the
 * result has no loops and verifies on every kernel (5.10 included).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/filter.h>

#include "cbpf_ebpf.h"

#define REG_CTX	 BPF_REG_6
#define REG_A	 BPF_REG_7
#define REG_X	 BPF_REG_8
#define MEM_OFF	 (-64) /* M[0]; 16 words up to the frame pointer */
#define LOAD_OFF (-72) /* packet bytes land here */
#define NMEM	 16

struct emitter {
	struct bpf_insn *buf;	/* NULL: only count */
	unsigned int n;		/* instructions so far */
	const unsigned int *at; /* eBPF index of classic insn i; at[len] = reject, then accept */
	unsigned int len;	/* classic instructions */
	int map_fd;
	int err;
};

static void emit(struct emitter *e, __u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	if (e->buf) {
		struct bpf_insn *i = &e->buf[e->n];

		memset(i, 0, sizeof(*i));
		i->code = code;
		i->dst_reg = dst;
		i->src_reg = src;
		i->off = off;
		i->imm = imm;
	}
	e->n++;
}

/* A jump to eBPF instruction `target` (known in the second pass). */
static void emit_jump(struct emitter *e, __u8 code, __u8 dst, __u8 src, __s32 imm,
		      unsigned int target)
{
	long off = 0;

	if (e->buf) {
		off = (long)target - (long)(e->n + 1);
		if (off < -32768 || off > 32767) {
			e->err = -E2BIG;
			off = 0;
		}
	}
	emit(e, code, dst, src, (__s16)off, imm);
}

static unsigned int reject_at(const struct emitter *e)
{
	return e->at ? e->at[e->len] : 0;
}

static unsigned int accept_at(const struct emitter *e)
{
	return reject_at(e) + 2;
}

static __u8 size_code(int size)
{
	return size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
}

/* dst = the size bytes of the packet at offset (k, plus X when indexed),
 * big-endian as classic BPF reads them; a load beyond the packet rejects. */
static void emit_load(struct emitter *e, __u8 dst, int size, __u32 k, bool indexed)
{
	emit(e, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, REG_CTX, 0, 0);
	if (indexed) {
		/* 32-bit: X + k wraps as in classic BPF */
		emit(e, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_2, REG_X, 0, 0);
		emit(e, BPF_ALU | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, (__s32)k);
	} else {
		emit(e, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, (__s32)k);
	}
	emit(e, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	emit(e, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, LOAD_OFF);
	emit(e, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, size);
	emit(e, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_skb_load_bytes);
	emit_jump(e, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, reject_at(e));
	emit(e, BPF_LDX | BPF_MEM | size_code(size), dst, BPF_REG_10, LOAD_OFF, 0);
	if (size > 1)
		emit(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8);
}

static int load_size(__u16 code)
{
	switch (BPF_SIZE(code)) {
	case BPF_W:
		return 4;
	case BPF_H:
		return 2;
	case BPF_B:
		return 1;
	}
	return 0;
}

/* The classic jump's target as a classic index, -1 when out of range. */
static long jump_target(const struct emitter *e, unsigned int pc, __u32 delta)
{
	return delta < e->len - pc - 1 ? (long)(pc + 1 + delta) : -1;
}

static unsigned int target_at(const struct emitter *e, long t)
{
	return e->at ? e->at[t] : 0;
}

static int emit_ld(struct emitter *e, const struct sock_filter *f, __u8 dst)
{
	int size = load_size(f->code);

	switch (BPF_MODE(f->code)) {
	case BPF_IMM:
		emit(e, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, (__s32)f->k);
		return 0;
	case BPF_LEN: /* __sk_buff.len: the IP packet's length here */
		emit(e, BPF_LDX | BPF_MEM | BPF_W, dst, REG_CTX, offsetof(struct __sk_buff, len),
		     0);
		return 0;
	case BPF_MEM:
		if (f->k >= NMEM)
			return -EINVAL;
		emit(e, BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_10, MEM_OFF + 4 * (int)f->k, 0);
		return 0;
	case BPF_ABS:
	case BPF_IND:
		if (dst != REG_A || !size)
			return -EINVAL;
		emit_load(e, dst, size, f->k, BPF_MODE(f->code) == BPF_IND);
		return 0;
	case BPF_MSH: /* X = 4 * (P[k] & 0xf): an IPv4 header length */
		if (dst != REG_X || size != 1)
			return -EINVAL;
		emit_load(e, dst, 1, f->k, false);
		emit(e, BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, 0xf);
		emit(e, BPF_ALU | BPF_LSH | BPF_K, dst, 0, 0, 2);
		return 0;
	}
	return -EINVAL;
}

static int emit_alu(struct emitter *e, const struct sock_filter *f)
{
	__u8 op = BPF_OP(f->code);

	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_MUL:
	case BPF_OR:
	case BPF_AND:
	case BPF_XOR:
	case BPF_LSH:
	case BPF_RSH:
	case BPF_DIV:
	case BPF_MOD:
		break;
	case BPF_NEG:
		emit(e, BPF_ALU | BPF_NEG, REG_A, 0, 0, 0);
		return 0;
	default:
		return -EINVAL;
	}
	if (BPF_SRC(f->code) == BPF_X) {
		/* classic BPF rejects the packet on a division by zero;
		 * eBPF would go on with 0 */
		if (op == BPF_DIV || op == BPF_MOD)
			emit_jump(e, BPF_JMP32 | BPF_JEQ | BPF_K, REG_X, 0, 0, reject_at(e));
		emit(e, BPF_ALU | op | BPF_X, REG_A, REG_X, 0, 0);
		return 0;
	}
	if (((op == BPF_DIV || op == BPF_MOD) && !f->k) ||
	    ((op == BPF_LSH || op == BPF_RSH) && f->k >= 32))
		return -EINVAL; /* the kernel's classic checker refuses these too */
	emit(e, BPF_ALU | op | BPF_K, REG_A, 0, 0, (__s32)f->k);
	return 0;
}

static int emit_jmp(struct emitter *e, unsigned int pc, const struct sock_filter *f)
{
	__u8 op = BPF_OP(f->code);
	long t, fl;

	if (op == BPF_JA) {
		t = jump_target(e, pc, f->k);
		if (t < 0)
			return -EINVAL;
		emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, target_at(e, t));
		return 0;
	}
	if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET)
		return -EINVAL;
	t = jump_target(e, pc, f->jt);
	fl = jump_target(e, pc, f->jf);
	if (t < 0 || fl < 0)
		return -EINVAL;
	/* the same comparisons, on the low 32 bits (JMP32, Linux 5.1+) */
	if (BPF_SRC(f->code) == BPF_X)
		emit_jump(e, BPF_JMP32 | op | BPF_X, REG_A, REG_X, 0, target_at(e, t));
	else
		emit_jump(e, BPF_JMP32 | op | BPF_K, REG_A, 0, (__s32)f->k, target_at(e, t));
	if (f->jf)
		emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, target_at(e, fl));
	return 0;
}

static int emit_one(struct emitter *e, unsigned int pc, const struct sock_filter *f)
{
	switch (BPF_CLASS(f->code)) {
	case BPF_LD:
		return emit_ld(e, f, REG_A);
	case BPF_LDX:
		return emit_ld(e, f, REG_X);
	case BPF_ST:
	case BPF_STX:
		if (f->k >= NMEM)
			return -EINVAL;
		emit(e, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10,
		     BPF_CLASS(f->code) == BPF_ST ? REG_A : REG_X, MEM_OFF + 4 * (int)f->k, 0);
		return 0;
	case BPF_ALU:
		return emit_alu(e, f);
	case BPF_JMP:
		return emit_jmp(e, pc, f);
	case BPF_RET:
		/* any non-zero length accepts: zcap's snaplen (-s) cuts */
		if (BPF_RVAL(f->code) == BPF_K) {
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, f->k ? accept_at(e) : reject_at(e));
			return 0;
		}
		if (BPF_RVAL(f->code) != BPF_A)
			return -EINVAL;
		emit_jump(e, BPF_JMP32 | BPF_JEQ | BPF_K, REG_A, 0, 0, reject_at(e));
		emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, accept_at(e));
		return 0;
	case BPF_MISC:
		if (BPF_MISCOP(f->code) == BPF_TAX)
			emit(e, BPF_ALU | BPF_MOV | BPF_X, REG_X, REG_A, 0, 0);
		else if (BPF_MISCOP(f->code) == BPF_TXA)
			emit(e, BPF_ALU | BPF_MOV | BPF_X, REG_A, REG_X, 0, 0);
		else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* Registers and M[] start at zero; the verifier wants the stack written
 * before it is read, and a program that reads M[k] first reads 0. */
static void emit_prologue(struct emitter *e)
{
	emit(e, BPF_ALU64 | BPF_MOV | BPF_X, REG_CTX, BPF_REG_1, 0, 0);
	emit(e, BPF_ALU | BPF_MOV | BPF_K, REG_A, 0, 0, 0);
	emit(e, BPF_ALU | BPF_MOV | BPF_K, REG_X, 0, 0, 0);
	for (int off = MEM_OFF; off < 0; off += 8)
		emit(e, BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, off, 0);
}

/* Reject (at[len]): let the packet go on uncaptured. Accept (2 after):
 * tail-call the capture program, or return 1 when no array is given. */
static void emit_epilogue(struct emitter *e)
{
	emit(e, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, e->map_fd < 0 ? 0 : 1);
	emit(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	if (e->map_fd >= 0) {
		emit(e, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, REG_CTX, 0, 0);
		emit(e, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, e->map_fd);
		emit(e, 0, 0, 0, 0, 0);
		emit(e, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0);
		emit(e, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call);
	}
	emit(e, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	emit(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* One pass: counting (e->buf NULL) or emitting. */
static int translate(struct emitter *e, const struct sock_filter *prog, unsigned int *at)
{
	int err;

	e->n = 0;
	emit_prologue(e);
	for (unsigned int pc = 0; pc < e->len; pc++) {
		if (at)
			at[pc] = e->n;
		err = emit_one(e, pc, &prog[pc]);
		if (err)
			return err;
	}
	if (at)
		at[e->len] = e->n;
	emit_epilogue(e);
	return e->err;
}

int cbpf_to_ebpf(const struct sock_filter *prog, unsigned int len, int prog_array_fd,
		 struct bpf_insn **out, unsigned int *out_len)
{
	struct emitter e = { .len = len, .map_fd = prog_array_fd };
	unsigned int *at;
	int err;

	*out = NULL;
	*out_len = 0;
	/* every path ends in a return: jumps stay inside, the last is one */
	if (!len || len > BPF_MAXINSNS || BPF_CLASS(prog[len - 1].code) != BPF_RET)
		return -EINVAL;
	at = calloc(len + 1, sizeof(*at));
	if (!at)
		return -ENOMEM;
	err = translate(&e, prog, at);
	if (!err) {
		e.buf = calloc(e.n, sizeof(*e.buf));
		e.at = at;
		err = e.buf ? translate(&e, prog, NULL) : -ENOMEM;
	}
	free(at);
	if (err) {
		free(e.buf);
		return err;
	}
	*out = e.buf;
	*out_len = e.n;
	return 0;
}
