# SPDX-License-Identifier: MIT
# wiresocket: `make` builds build/{ws,wsd,wsup,wsdown}; `make check` runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CC ?= cc
CLANG ?= clang
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Isrc
LIBS := -lsodium -lb2 -lmnl -linih -lpthread -lseccomp
TEST_LIBS := -lcunit -ljansson
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10

B := build
ifeq ($(V),1)
Q :=
else
Q := @
endif
# The layers (docs/architecture.md): src/core, src/conf, src/os, src/daemon.
LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_HDR := $(wildcard src/*/*.h)
# Fuzzers link only the pure layers, so a core or conf file that reaches into os/ or
# daemon/ fails the fuzz build. Of conf, not conf_load.c (the one conf file that opens
# files): the config fuzzer runs only the pure parse, so its input cannot name a file
# that gets opened (make layers checks that no other conf object calls open).
FUZZ_LIB_SRC := $(sort $(wildcard src/core/*.c) $(filter-out src/conf/conf_load.c,$(wildcard src/conf/*.c)))
TEST_SRC := $(sort $(wildcard tests/*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
TOOLS := $(patsubst tests/tools/%.c,$(B)/tools/%,$(TOOL_SRC))
PROGS := $(foreach p,ws wsd wsup,$(if $(wildcard cmd/$(p)/*.c),$(B)/$(p)))
MANS := $(wildcard man/*.[0-9])

lib_objs = $(patsubst src/%.c,$(1)/obj/src/%.o,$(LIB_SRC))
fuzz_lib_objs = $(patsubst src/%.c,$(B)/fuzzobj/obj/src/%.o,$(FUZZ_LIB_SRC))

.PHONY: all check check-run bench-deps unit unit-asan fuzz fuzz-smoke vectors-match spec-match man-lint layers netns bench bench-smoke \
	deps demo install clean
.SUFFIXES:
.SECONDARY:

all: $(B)/libwiresocket.a $(PROGS) $(if $(filter %/wsup,$(PROGS)),$(B)/wsdown) $(TOOLS) $(BENCHES)

# --- objects: one rule per flavour ------------------------------------------------
$(B)/obj/%.o: %.c $(LIB_HDR) $(wildcard cmd/*/*.h tests/tools/*.h)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(B)/asan/obj/%.o: %.c $(LIB_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(ASAN_FLAGS) $(WARN) -c -o $@ $<

$(B)/fuzzobj/obj/%.o: %.c $(LIB_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) $(WARN) -c -o $@ $<

$(B)/libwiresocket.a: $(call lib_objs,$(B))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/asan/libwiresocket.a: $(call lib_objs,$(B)/asan)
	@rm -f $@
	$(Q)ar rcs $@ $^

# --- programs --------------------------------------------------------------------
define prog_rule
$(B)/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard cmd/$(1)/*.c)) $(B)/libwiresocket.a
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,ws wsd wsup,$(eval $(call prog_rule,$(p))))

# Programs' own headers, and the CLI test, which links ws's objects (all but main.o:
# build/cmdws.a) and includes "ws/ws.h" (-Icmd).
$(foreach p,ws wsd wsup,$(patsubst %.c,$(B)/obj/%.o,$(wildcard cmd/$(p)/*.c))): $(wildcard cmd/*/*.h)
$(B)/obj/tests/test_ws_cli.o $(B)/asan/obj/tests/test_ws_cli.o: $(wildcard cmd/ws/*.h)
$(B)/obj/tests/test_ws_cli.o $(B)/asan/obj/tests/test_ws_cli.o: CPPFLAGS += -Icmd
$(patsubst %.c,$(B)/asan/obj/%.o,$(wildcard cmd/ws/*.c)): $(wildcard cmd/ws/*.h)
CMDWS_SRC := $(filter-out cmd/ws/main.c,$(wildcard cmd/ws/*.c))
$(B)/cmdws.a: $(patsubst %.c,$(B)/obj/%.o,$(CMDWS_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/asan/cmdws.a: $(patsubst %.c,$(B)/asan/obj/%.o,$(CMDWS_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

# The test harness's headers are named alone ("test.h", "pipe_harness.h"), from tests/fuzz too.
$(B)/fuzzobj/obj/tests/fuzz/%.o: CPPFLAGS += -Itests
# The pipeline harness (two devices in one process): unit tests and the pipeline fuzzers.
PIPE_USERS := tests/pipe_harness tests/test_pipeline tests/test_drops tests/fuzz/fuzz_tx_pipeline tests/fuzz/fuzz_rx_pipeline
$(foreach d,$(B) $(B)/asan $(B)/fuzzobj,$(patsubst %,$(d)/obj/%.o,$(PIPE_USERS))): tests/pipe_harness.h
$(B)/fuzz/fuzz_tx_pipeline $(B)/fuzz/fuzz_rx_pipeline: $(B)/fuzzobj/obj/tests/pipe_harness.o

# The daemon under ASan+UBSan, for the soak scenario.
$(B)/asan/wsd: $(patsubst %.c,$(B)/asan/obj/%.o,$(wildcard cmd/wsd/*.c)) $(B)/asan/libwiresocket.a
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

$(B)/wsdown: $(B)/wsup
	ln -f $< $@

$(B)/bench/%: $(B)/obj/bench/%.o $(B)/libwiresocket.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tools/%: $(B)/obj/tests/tools/%.o $(B)/libwiresocket.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# --- unit tests (optimised and ASan+UBSan) ------------------------------------------
$(B)/tests/unit: $(patsubst %.c,$(B)/obj/%.o,$(TEST_SRC)) $(B)/cmdws.a $(B)/libwiresocket.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(B)/asan/tests/unit: $(patsubst %.c,$(B)/asan/obj/%.o,$(TEST_SRC)) $(B)/asan/cmdws.a \
		$(B)/asan/libwiresocket.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

unit: $(B)/tests/unit
	$(B)/tests/unit

unit-asan: $(B)/asan/tests/unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(B)/asan/tests/unit

# The vectors are kept byte-identical to the shared copy when it is beside us.
vectors-match:
	@if [ -d ../shared/vectors ]; then \
		cmp tests/vectors/wiresocket-v1-vectors.json ../shared/vectors/wiresocket-v1-vectors.json && \
		echo "vectors: identical to ../shared/vectors"; \
	else echo "vectors: ../shared/vectors not present, using tests/vectors"; fi

# The protocol documents in docs/spec are kept byte-identical to the shared copy too.
spec-match:
	@if [ -d ../shared/spec ]; then \
		cmp docs/spec/wiresocket-v1.md ../shared/spec/wiresocket-v1.md && \
		cmp docs/spec/DECISIONS.md ../shared/spec/DECISIONS.md && \
		echo "spec: identical to ../shared/spec"; \
	else echo "spec: ../shared/spec not present, using docs/spec"; fi

# --- fuzzing (libFuzzer) -------------------------------------------------------------
$(B)/fuzz/%: $(B)/fuzzobj/obj/tests/fuzz/%.o $(fuzz_lib_objs)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -o $@ $^ $(LIBS)

# The pipeline fuzzers run two whole devices (tests/pipe_harness.c): every layer.
PIPE_FUZZERS := $(filter %_pipeline,$(FUZZERS))
$(PIPE_FUZZERS): $(B)/fuzz/%: $(B)/fuzzobj/obj/tests/fuzz/%.o $(B)/fuzzobj/obj/tests/pipe_harness.o \
		$(call lib_objs,$(B)/fuzzobj)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -o $@ $^ $(LIBS)

# Run every harness for a bounded time on a scratch copy of its seed corpus.
define run_fuzzers
	@set -e; for f in $(FUZZERS); do \
		name=$$(basename $$f); work=$$(mktemp -d); \
		mkdir -p tests/fuzz/corpus/$$name; \
		echo "fuzz: $$name for $(1) s"; \
		$$f -max_total_time=$(1) -print_final_stats=1 $$work tests/fuzz/corpus/$$name 2>$$work.log || \
			{ tail -n 60 $$work.log; rm -rf $$work $$work.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' $$work.log | tr '\n' ' '; echo; \
		rm -rf $$work $$work.log; \
	done
endef

fuzz: $(FUZZERS)
	$(call run_fuzzers,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZERS)
	$(call run_fuzzers,$(FUZZ_SMOKE_SECONDS))

# --- layers: the include rules of docs/architecture.md (and core's symbols) -------------
layers: $(patsubst src/%.c,$(B)/obj/src/%.o,$(wildcard src/core/*.c src/conf/*.c src/os/*.c src/daemon/*.c))
	@bash scripts/check-layers.sh $(B)
	@bash scripts/check-cycles.sh $(B) core conf os daemon
	@bash scripts/check-docs.sh

# --- everything ----------------------------------------------------------------------
man-lint:
	@for m in $(MANS); do mandoc -Tlint -W warning $$m || exit 1; done; echo "man: $(words $(MANS)) pages lint clean"

netns: all $(B)/asan/wsd
	@if [ -x netns-tests/run.sh ]; then netns-tests/run.sh; else echo "netns: no scenarios yet"; fi

bench-smoke: all
	@if [ -x bench/run.sh ]; then bench/run.sh --smoke; fi

check: deps
	$(MAKE) all
	$(MAKE) check-run

check-run: vectors-match spec-match layers unit unit-asan completion-test fuzz-smoke man-lint netns deb-check bench-smoke
	@echo "check: all passed"

bench: all
	bench/run.sh

# The contenders of bench/tunnel.sh (wireguard-go is the baseline; --others adds the rest).
bench-deps: deps
	apt-get install -y iperf3 iputils-ping iproute2 wireguard-go wireguard-tools
	@echo "for --others: apt-get install -y fastd nebula openvpn openssl tinc"


deps:
	@sh .ci/deps.sh

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

# The programs, man pages, unit, completion, /etc/wiresocket and the examples
# (the Debian package ships exactly these: tests/deb/check.sh compares).
install: $(PROGS) $(B)/wsdown
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	ln -sf wsup $(DESTDIR)$(PREFIX)/bin/wsdown
	for m in $(MANS); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/; done
	ln -sf wsup.8 $(DESTDIR)$(PREFIX)/share/man/man8/wsdown.8
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/bin/|$(PREFIX)/bin/|g' configs/wsup@.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/wsup@.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/wsup@.service
	install -D -m 0644 completions/ws $(DESTDIR)$(BASHCOMPDIR)/ws
	ln -sf ws $(DESTDIR)$(BASHCOMPDIR)/wsup
	ln -sf ws $(DESTDIR)$(BASHCOMPDIR)/wsdown
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/wiresocket
	install -d $(DESTDIR)$(PREFIX)/share/doc/wiresocket/examples
	install -m 0644 configs/*.conf $(DESTDIR)$(PREFIX)/share/doc/wiresocket/examples/

.PHONY: deb deb-check completion-test
# The Debian package, built with dpkg-buildpackage in a copy of the tree (so
# neither build/ nor the parent directory is touched); the .deb, .changes and
# .buildinfo land in build/.
deb:
	rm -rf $(B)/debsrc $(B)/wiresocket*.deb $(B)/wiresocket_*.changes $(B)/wiresocket_*.buildinfo
	mkdir -p $(B)/debsrc/wiresocket
	tar --exclude=./build --exclude=./.git --exclude=./debian/_build -cf - . | tar -C $(B)/debsrc/wiresocket -xf -
	cd $(B)/debsrc/wiresocket && dpkg-buildpackage -us -uc -b $(DEB_FLAGS)
	mv $(B)/debsrc/wiresocket*.deb $(B)/debsrc/wiresocket_*.changes $(B)/debsrc/wiresocket_*.buildinfo $(B)/
	rm -rf $(B)/debsrc

# Build the package, lintian, compare with `make install`, install it, a
# smoke test in a private namespace, purge (tests/deb/ci.sh; root).
deb-check:
	bash tests/deb/ci.sh

completion-test:
	bash tests/completion/test.sh

clean:
	rm -rf $(B)
