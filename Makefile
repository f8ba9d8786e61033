# SPDX-License-Identifier: MIT
# klog: one non-recursive GNU Makefile. `make` builds libcommon.a and every
# program under cmd/ into bin/; `make test` installs missing dependencies
# (Debian, as root), builds, and runs the unit and Bats suites.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

# O is the object tree, BIN where programs land; `make asan` overrides both.
O ?= build
BIN ?= bin

CC ?= cc
STD = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wvla \
       -Wundef -fno-common
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2 -g
SAN ?=
CFLAGS ?=
CPPFLAGS ?=
LDFLAGS ?=

PKGS = zlib liblz4 libzstd yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(STD) $(WARN) $(OPT) $(SAN) -MMD -MP $(CFLAGS)
ALL_CPPFLAGS = -Ilibcommon -DKLOG_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CPPFLAGS)
LIBS = $(PKG_LIBS) -lsnappy -lm

ifneq ($(V),1)
Q = @
msg = @printf '  %-6s %s\n' $(1) $(2);
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all clean install uninstall test check unit bats asan test-asan \
        check-asan deps lint lint-man bench bench-deps bench-smoke tools

LIB_SRC := $(sort $(wildcard libcommon/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
LIB := $(O)/libcommon.a

PROGS := $(notdir $(patsubst %/,%,$(sort $(wildcard cmd/*/))))
PROG_BINS := $(PROGS:%=$(BIN)/%)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:%.c=$(O)/%)

# Helpers for tests and benchmarks: built, never installed.
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(O)/tools/%)
# bench/bench_util.c is no helper: its object is linked into each of them.
BENCH_UTIL_OBJ := $(O)/bench/bench_util.o
BENCH_SRC := $(filter-out bench/bench_util.c,$(sort $(wildcard bench/*.c)))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

all: $(PROG_BINS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(call msg,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# <prog>_LIBS: what one program links on top (kcons: its heartbeat thread;
# ctrld: SSH). <prog>_EXTRA_OBJ: objects from outside cmd/<prog>/, such as
# generated sources (ctrld: its remote script, see below).
kcons_LIBS := -pthread
ctrld_LIBS := -lssh2
ctrld_EXTRA_OBJ := $(O)/gen/ctrld_remote_sh.o
define prog_rule
$(1)_OBJ := $$(patsubst %.c,$(O)/%.o,$$(sort $$(wildcard cmd/$(1)/*.c))) \
    $$($(1)_EXTRA_OBJ)
$(BIN)/$(1): $$($(1)_OBJ) $(LIB)
	@mkdir -p $(BIN)
	$$(call msg,LD,$$@)$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $$@ $$($(1)_OBJ) $(LIB) $(LIBS) $$($(1)_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

# ctrld runs cmd/ctrld/ctrld_remote.sh on the hosts it manages: embedded as
# one C string (const char ctrld_remote_sh[], cmd/ctrld/ctrld_remote.h),
# a line of the script a line of C. Backslashes, double quotes and question
# marks (trigraphs) are escaped.
$(O)/gen/ctrld_remote_sh.c: cmd/ctrld/ctrld_remote.sh
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@){ \
	    printf '/* Generated from %s by the Makefile: do not edit. */\n' $<; \
	    printf '#include "ctrld_remote.h"\n\nconst char ctrld_remote_sh[] =\n'; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	        -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	    printf ';\n'; } >$@
$(O)/gen/%.o: $(O)/gen/%.c
	$(call msg,CC,$<)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
$(O)/gen/ctrld_remote_sh.o: ALL_CPPFLAGS += -Icmd/ctrld

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIB)
	$(call msg,LD,$@)$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)
$(O)/tools/%: $(O)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)
$(O)/bench/%: $(O)/bench/%.o $(BENCH_UTIL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $@ $< \
	    $(BENCH_UTIL_OBJ) $(LIB) $(LIBS)

# Test and tool objects only get the unit-test header directory on top.
$(O)/tests/%.o: ALL_CPPFLAGS += -Itests/unit

unit: $(UNIT_BINS)
tools: $(TOOL_BINS)

# Installs the Debian packages the build and tests need, when missing.
deps:
	$(Q)./install.sh --deps --if-missing

test check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh --bin $(BIN) --obj $(O)

# The fault suites at soak size (KLOG_SOAK=1: more kills, longer outages),
# one file at a time: tens of minutes, for local runs.
.PHONY: test-long
test-long: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)KLOG_SOAK=1 BATS_JOBS=1 tests/run.sh --bin $(BIN) --obj $(O) \
	    --filter '3[28]-*-faults'

SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(Q)$(MAKE) --no-print-directory O=build-asan BIN=build-asan/bin \
	    OPT="-O1 -g" SAN="$(SAN_FLAGS)" all

test-asan check-asan: deps
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1 \
	    tests/run.sh --bin build-asan/bin --obj build-asan

# The peers' clients of bench/peers.sh link hiredis and libnats (and, as
# every bench helper, bench_util.o and libcommon): built for the
# benchmarks only, so that `make` and `make test` never need them.
PEER_SRC := $(sort $(wildcard bench/peers/*.c))
PEER_BINS := $(PEER_SRC:bench/peers/%.c=$(O)/bench/%)
$(O)/bench/redis_stream: PEER_PKG := hiredis
$(O)/bench/nats_js: PEER_PKG := libnats
$(PEER_BINS): $(O)/bench/%: bench/peers/%.c $(BENCH_UTIL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC) $(ALL_CPPFLAGS) -Ibench $(ALL_CFLAGS) \
	    $$(pkg-config --cflags $(PEER_PKG)) $(LDFLAGS) -o $@ $< \
	    $(BENCH_UTIL_OBJ) $(LIB) $(LIBS) $$(pkg-config --libs $(PEER_PKG))

bench-deps:
	$(Q)./install.sh --bench-deps --if-missing

# `make bench`: every benchmark at full size (BENCH_ARGS=--quick: smaller);
# `make bench-smoke`: each one for seconds with tiny counts, no verdicts on
# speed, so that CI keeps the suite running.
bench: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all $(PEER_BINS)
	$(Q)bench/run.sh $(BENCH_ARGS)

bench-smoke: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all $(PEER_BINS)
	$(Q)bench/run.sh --smoke

MAN_PAGES := $(sort $(wildcard man/man1/*.1 man/man5/*.5 man/man8/*.8))

install: $(PROG_BINS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(PROG_BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MAN_PAGES); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%)
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

# Every C file includes banned.h; man pages pass mandoc's lint.
lint: lint-man
	$(Q)missing=$$(grep -L '#include "banned.h"' libcommon/*.c cmd/*/*.c); \
	    if [ -n "$$missing" ]; then echo "missing banned.h: $$missing"; exit 1; fi

lint-man:
	$(Q)if command -v mandoc >/dev/null; then \
	    mandoc -Tlint -W warning $(MAN_PAGES); else echo "mandoc not installed"; fi

clean:
	rm -rf build build-asan build-clang bin

-include $(shell find $(O) -name '*.d' 2>/dev/null)
