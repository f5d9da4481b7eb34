# zcap — build, test, demo, bench, install.
#
#   make deps      install the Debian packages zcap needs (idempotent)
#   make           build build/zcap (vmlinux.h + BPF objects + skeletons + CLI)
#   make test      unit tests + end-to-end tests, plain and under ASan+UBSan
#   make demo      capture a built-in workload and show what was seen
#   make bench     benchmarks (traced vs untraced, zcap vs tcpdump/strace)
#   make fuzz      libFuzzer targets, FUZZ_TIME seconds each (default 300)
#   make soak      zcap under load for 10 minutes, RSS must stay bounded
#   make install   install zcap into $(PREFIX)/sbin, its manual pages into
#                  $(PREFIX)/share/man/man8 and its bash completion into
#                  $(PREFIX)/share/bash-completion/completions (DESTDIR honoured)
#
# SANITIZE=1 builds an ASan+UBSan variant into build-asan/.

PREFIX	?= /usr/local
CC	?= cc
CLANG	?= clang
BPFTOOL	?= bpftool
VERSION	:= 0.1.0

ifeq ($(SANITIZE),1)
BUILD	?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD	?= build
SANFLAGS :=
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')

WARN	:= -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS	?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(WARN) $(SANFLAGS) -std=gnu11 -D_GNU_SOURCE -DZCAP_VERSION='"$(VERSION)"' \
	      -I$(BUILD) -Ikern -Iuser -Ipcap-export $(shell pkg-config --cflags json-c 2>/dev/null)
LDLIBS	:= -lbpf -lelf -lz -lpcap -ljson-c -lcrypto -lcurl -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Wno-unused-function \
	      -I$(BUILD) -Ikern

KERN_SRCS  := $(wildcard kern/*.bpf.c)
# each capture object is also built with bounded loops for kernels without
# bpf_loop (< 5.17, kern/common.bpf.h); the loader picks the build
BOUNDED	   := syscalls fs zerocopy skb
SKELS	   := $(patsubst kern/%.bpf.c,$(BUILD)/%.skel.h,$(KERN_SRCS)) \
	      $(patsubst %,$(BUILD)/%_bounded.skel.h,$(BOUNDED))
USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
PCAP_SRCS  := $(wildcard pcap-export/*.c)
PCAP_OBJS  := $(patsubst pcap-export/%.c,$(BUILD)/pcap-export/%.o,$(PCAP_SRCS))
TOOL_SRCS  := $(wildcard tools/*.c)
TOOLS	   := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNITS	   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)

DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev libjson-c-dev \
	    libssl-dev libcurl4-openssl-dev libcmocka-dev liburing-dev pkg-config make gcc libclang-rt-14-dev \
	    tshark tcpdump nginx-light haproxy wrk curl strace python3 python3-jsonschema \
	    graphviz hyperfine bc valgrind qemu-system-x86 debootstrap cpio groff-base

.PHONY: all deps test unit e2e demo bench install clean fuzz fuzz-build soak asan
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/zcap $(TOOLS)

deps:
	@./tests/lib/install-deps.sh $(DEB_PKGS)

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: kern/%.bpf.c kern/zcap_abi.h $(wildcard kern/*.bpf.h) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o

$(BUILD)/%_bounded.bpf.o: kern/%.bpf.c kern/zcap_abi.h $(wildcard kern/*.bpf.h) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -DZCAP_BOUNDED_LOOPS -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) kern/zcap_abi.h $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/pcap-export/%.o: pcap-export/%.c $(wildcard pcap-export/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/zcap: $(USER_OBJS) $(PCAP_OBJS)
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/%: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ -luring -lpthread

# zcap's filter translation against libpcap's verdicts (tests/e2e/filter_expr.t)
$(BUILD)/tools/filter_diff: tools/filter_diff.c $(LIB_OBJS) $(PCAP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# drives zcap's own decode/stitch/sink objects (`make bench`)
$(BUILD)/tools/bench_consumer: tools/bench_consumer.c $(LIB_OBJS) $(PCAP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# two empty sys_enter/sys_exit programs: the hook's own cost (`make bench`)
$(BUILD)/tools/hook_floor: tools/hook_floor.c $(BUILD)/hook_floor.skel.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -lbpf -lelf -lz -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) $(PCAP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $^ $(LDLIBS) -lcmocka -o $@

# the sinks' golden output: the decode fuzzer's seeds through its replay
$(BUILD)/tests/test_sink_golden: tests/unit/test_sink_golden.c tests/fuzz/replay.c $(LIB_OBJS) \
				 $(PCAP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/fuzz $^ $(LDLIBS) -lcmocka -o $@

# libFuzzer targets (clang, ASan+UBSan whatever SANITIZE says): the event
# decoder onward through the stitcher into the sinks, the pcap-ng
# writer, and the text, JSON and lineage writers with hostile names.
# `make fuzz` runs each for FUZZ_TIME seconds (corpus and crash
# inputs under $(BUILD)/fuzz/, seeds from tests/fuzz/seeds/NAME);
# tests/e2e/fuzz_short.t runs them briefly as part of `make test`.
FUZZ_CC	   ?= clang
FUZZ_TIME  ?= 300
FUZZ_SAN   := address,undefined
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined $(WARN) \
	       -std=gnu11 -D_GNU_SOURCE -DZCAP_VERSION='"$(VERSION)"' -Ikern -Iuser -Ipcap-export \
	       $(shell pkg-config --cflags json-c 2>/dev/null)
FUZZ_LIB_SRCS := user/account.c user/cgroups.c user/container.c user/decode.c user/stitch.c \
		 user/zerocopy.c user/pathcache.c user/names.c \
		 user/addr.c user/util.c user/sink_text.c user/sink_json.c user/jsonw.c user/sink_pcapng.c \
		 user/sink_util.c user/pktattr.c user/escape.c user/jtext.c user/lineage_model.c \
		 user/lineage_out.c user/lineage_out_ol.c user/lineage_hash.c user/lineage_map.c \
		 user/fscreds.c user/flagnames.c user/sockaddr.c user/status.c user/rotate.c \
		 user/hexdump.c user/outfile.c user/killguard.c user/stopsig.c pcap-export/pcapng.c \
		 pcap-export/pcap_classic.c tests/fuzz/replay.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZERS	   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/obj/%.o: %.c $(wildcard user/*.h pcap-export/*.h) kern/zcap_abi.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZERS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		echo "zcap: $$n for $(FUZZ_TIME) s (corpus $(BUILD)/fuzz/corpus/$$n)"; \
		$$f -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=20 -print_final_stats=1 \
		    -artifact_prefix=$(BUILD)/fuzz/$$n- $(BUILD)/fuzz/corpus/$$n \
		    $$(ls -d tests/fuzz/seeds/$$n 2>/dev/null) || exit 1; \
	done

# The suite: unit tests (cmocka, TAP output) and end-to-end tests (TAP
# scripts) under one prove run, then again with the ASan+UBSan build. The
# last lines printed are prove's summary.
test: deps
	@$(MAKE) --no-print-directory all $(UNITS) fuzz-build
	@$(MAKE) --no-print-directory SANITIZE=1 all $(patsubst $(BUILD)/%,build-asan/%,$(UNITS)) \
		fuzz-build
	@./tests/run-suite.sh

unit: all $(UNITS)
	@ZCAP_BUILD=$(BUILD) ./tests/run-suite.sh --unit-only

demo: deps
	@$(MAKE) --no-print-directory all
	@./tests/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@./tests/bench/run.sh $(BUILD)

# not in `make test`: 10 minutes of steady load, zcap's RSS must stay
# bounded (tests/soak.sh; SOAK_SECS=N for a shorter run)
soak: deps
	@$(MAKE) --no-print-directory all
	@./tests/soak.sh $(BUILD)

MAN_PAGES := $(wildcard docs/man/*.8)

install: $(BUILD)/zcap
	install -D -m 0755 $(BUILD)/zcap $(DESTDIR)$(PREFIX)/sbin/zcap
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -D -m 0644 completion/zcap.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/zcap

clean:
	rm -rf build build-asan

# ---- the QEMU kernel matrix (tests/kernels/README.md) --------------------
# zcap and a selection of the e2e scripts inside guests that boot Debian's
# own kernels under QEMU; `make test` runs it once, with the plain build.
#
#   make test-kernels                  only the matrix (default: 5.10 6.1 6.12,
#                                      DEFAULT_KERNELS in tests/kernels/kernels.sh)
#   make test-kernels KERNELS="6.1"    these kernels (5.10 6.1 6.12 known)
#   make kernel-images                 fetch the kernels, build the guest root
#
# KERNELS also picks the matrix of `make test` (KERNELS= for none). Images
# are cached in build/kernels/ (rm -rf it to rebuild from scratch).
ifneq ($(origin KERNELS),undefined)
export ZCAP_KERNELS := $(KERNELS)
endif

.PHONY: test-kernels kernel-images

test-kernels: deps
	@$(MAKE) --no-print-directory all
	@ZCAP_BUILD=$(BUILD) ./tests/run-suite.sh --kernels-only

kernel-images: deps
	@./tests/kernels/kernels.sh prepare $(or $(KERNELS),$(shell tests/kernels/kernels.sh default))
