# etl: keeps Elasticsearch in sync with the PostgreSQL movie catalogue.
#
#   make             build bin/etl-supervisor, bin/etl-worker, bin/etlctl
#   make demo        install what is missing, run the whole stack natively
#   make demo-stop   stop a running demo and what a killed one left running
#   make test        install what is missing, build, run unit and integration tests
#                    (OpenSearch 2.19.1, then the worker and supervisor ones again
#                    against Elasticsearch 7.10.2), test-valgrind, then the
#                    same again against binaries built with ASan/UBSan
#                    (OpenSearch only), then fuzz-smoke and test-compose
#   make test-asan   only the ASan/UBSan pass
#   make test-valgrind  the unit tests and full loads of the sample under memcheck
#   make test-compose  boot the Compose stack with podman and check it (tests/compose)
#   make clean-compose remove the images and cache that test-compose keeps
#   make lint        clang-format check, cppcheck, clang-tidy
#   make fuzz        every libFuzzer target for FUZZ_SECONDS (60) each
#   make fuzz-smoke  every libFuzzer target briefly (part of make test)
#   make bench       speed and memory benchmarks
#   make soak        random writes and faults for SOAK_MINUTES (default 10),
#                    then every index compared with PostgreSQL (tests/soak)
#   make man         the man pages, into build/man (docs/man/gen_man.py)
#   make install     PREFIX=/usr/local SYSCONFDIR=PREFIX/etc (/etc when PREFIX=/usr)
#                    DESTDIR=; make uninstall the same (docs/operations.md)
#   make deb         the Debian package, build/deb/etl_VERSION-N_ARCH.deb (debian/)
#   make test-package  make deb, then lintian, systemd-analyze verify and the
#                    package installed and run in a Debian 12 container (tests/package)
#
# See README.md and docs/.

PREFIX  ?= /usr/local
DESTDIR ?=
# etl.ini's directory is SYSCONFDIR/etl; the programs read SYSCONFDIR/etl/etl.ini
# when no -c is given.  A Debian layout (PREFIX=/usr) keeps it in /etc.
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
# The SQL and mapping files the installed etl.ini names, and the database's SQL.
DATADIR ?= $(PREFIX)/share/etl
MANDIR  ?= $(PREFIX)/share/man
PYTHON  ?= /usr/bin/python3
PKG_CONFIG ?= pkg-config
VERSION := 0.2.0

PKGS     := libpq libcurl jansson inih
# Only etl-supervisor serves HTTP (the metrics) and talks to systemd
# (sd_notify): only it links these.
HTTP_PKG := libmicrohttpd
SYSTEMD_PKG := libsystemd
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -DETL_VERSION='"$(VERSION)"' -DETL_SYSCONFDIR='"$(SYSCONFDIR)"' \
            -DETL_DATADIR='"$(DATADIR)"' -Icommon
DEPFLAGS := -MMD -MP

# Build flavours: the default, and one with sanitizers (make test-asan).
BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD    := build-asan
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
# libFuzzer targets (make fuzz): clang, every object instrumented.
ifeq ($(FUZZ),1)
BUILD    := build-fuzz
CC       := clang
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all
endif
BIN := $(if $(filter 1,$(SANITIZE)),$(BUILD)/bin,bin)

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(HTTP_PKG) $(SYSTEMD_PKG) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
HTTP_LIBS  := $(shell $(PKG_CONFIG) --libs $(HTTP_PKG) 2>/dev/null)
SYSTEMD_LIBS := $(shell $(PKG_CONFIG) --libs $(SYSTEMD_PKG) 2>/dev/null)

# Each program's sources: its own folder, and common/ which all three link.
# etlctl is a program of its own (supervisor/etlctl/); it shares only
# common/ with etl-supervisor.
COMMON_SRC     := $(wildcard common/*.c)
WORKER_SRC     := $(wildcard worker/*.c)
SUPERVISOR_SRC := $(wildcard supervisor/*.c)
ETLCTL_SRC     := $(wildcard supervisor/etlctl/*.c)
# The file holding each program's main().
MAIN_SRC       := worker/main.c supervisor/main.c supervisor/etlctl/etlctl.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROGRAMS := $(BIN)/etl-worker $(BIN)/etl-supervisor $(BIN)/etlctl

.PHONY: all deps test unit integration integration-es7 test-asan test-valgrind test-compose \
        clean-compose unit-bins lint format bench soak demo demo-stop man install uninstall clean fuzz fuzz-smoke \
        fuzz-build deb test-package
all: $(PROGRAMS)

# The compiled-in default config path follows SYSCONFDIR: this stamp holds
# the value the objects were built with, rewritten (and so everything
# rebuilt) only when it changes.
SYSCONFDIR_STAMP := $(BUILD)/sysconfdir.stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(SYSCONFDIR_STAMP) 2>/dev/null)" = '$(SYSCONFDIR) $(DATADIR)' ] \
    || printf '%s\n' '$(SYSCONFDIR) $(DATADIR)' >$(SYSCONFDIR_STAMP); })

# The source revision, `git describe` (the release tag, the commits since,
# the commit; -dirty for local edits), or REVISION=... from outside (a
# build without .git: the etl image, a package from a tarball); only the
# objects that print it are rebuilt when it changes (its own stamp).
REVISION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION_STAMP := $(BUILD)/revision.stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(REVISION_STAMP) 2>/dev/null)" = '$(REVISION)' ] \
    || printf '%s\n' '$(REVISION)' >$(REVISION_STAMP); })
REVISION_OBJS := $(call obj,worker/main.c supervisor/main.c supervisor/etlctl/etlctl.c \
                   supervisor/metrics_text.c)
$(REVISION_OBJS): CPPFLAGS += -DETL_REVISION='"$(REVISION)"'
$(REVISION_OBJS): $(REVISION_STAMP)

$(BUILD)/%.o: %.c $(SYSCONFDIR_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BIN)/etl-worker: $(call obj,$(WORKER_SRC) $(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BIN)/etl-supervisor: $(call obj,$(SUPERVISOR_SRC) $(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(HTTP_LIBS) $(SYSTEMD_LIBS) -lm

$(BIN)/etlctl: $(call obj,$(ETLCTL_SRC) $(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# Unit tests (cmocka): tests/unit/test_NAME.c links against everything of
# the three programs but their mains (so function names must be unique
# across worker/, supervisor/ and supervisor/etlctl/).
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
LIB_OBJS   := $(call obj,$(filter-out $(MAIN_SRC),$(COMMON_SRC) $(WORKER_SRC) \
                $(SUPERVISOR_SRC) $(ETLCTL_SRC)))

# The tests include the headers of the programs' folders by name.
PROGRAM_INCLUDES := -Iworker -Isupervisor -Isupervisor/etlctl
$(BUILD)/tests/unit/%.o: CPPFLAGS += $(PROGRAM_INCLUDES)
# test_exit_status checks docs/operations.md against common/exit_status.h,
# from whatever directory it runs in.
$(BUILD)/tests/unit/test_exit_status.o: CPPFLAGS += -DETL_OPERATIONS_MD='"$(abspath docs/operations.md)"'
# test_schema_version checks the compiled-in schema version against the
# migration files.
$(BUILD)/tests/unit/test_schema_version.o: CPPFLAGS += \
    -DETL_MIGRATIONS_DIR='"$(abspath etc/postgres/migrations)"'

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(HTTP_LIBS) $(SYSTEMD_LIBS) $(shell $(PKG_CONFIG) --libs cmocka) -lm

deps:
	@compose/native/install-deps.sh

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do $$t || rc=1; done; exit $$rc

integration: $(PROGRAMS)
	ETL_BIN_DIR=$(abspath $(BIN)) $(PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS) \
	    $(INTEGRATION_IGNORE) tests/integration

# Test files the second and third passes of make test leave out, to keep
# it inside CI's budget: what they test does not change with the engine or
# the sanitizers.  test_install.py builds and installs binaries of its own
# (normal flags), test_man.py reads the pages made from --help, and
# test_schema.py and test_check.py test PostgreSQL's schema and the
# configuration.  The ASan pass leaves out test_cluster.py too (6 minutes
# of starting and killing nodes): the normal build runs it against both
# engines.
SAME_ON_EVERY_PASS := $(addprefix --ignore=tests/integration/,test_install.py test_man.py)
ES7_IGNORE  := $(SAME_ON_EVERY_PASS) $(addprefix --ignore=tests/integration/,test_schema.py \
                 test_check.py)
ASAN_IGNORE := $(SAME_ON_EVERY_PASS) --ignore=tests/integration/test_cluster.py

# The worker and supervisor tests (not tests/integration/admin) once more,
# against Elasticsearch 7.10.2 instead of OpenSearch 2.19.1 (README.md,
# "Search engines").
integration-es7: $(PROGRAMS)
	ETL_TEST_ENGINE=elasticsearch7 ETL_BIN_DIR=$(abspath $(BIN)) $(PYTHON) -m pytest \
	    -p no:cacheprovider $(PYTEST_ARGS) tests/integration --ignore=tests/integration/admin \
	    $(ES7_IGNORE)

# The suite runs twice: with the normal build, then with ASan/UBSan (any
# sanitizer report fails it), so CI keeps both green.  The second engine
# runs with the normal build only: CI's time budget has room for one more
# pass, not two.  memcheck (test-valgrind) adds two minutes; then every
# fuzz target for FUZZ_SMOKE_SECONDS, and the Compose stack.
test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) integration-es7
	$(MAKE) test-valgrind
	$(MAKE) SANITIZE=1 INTEGRATION_IGNORE='$(ASAN_IGNORE)' all unit integration
	$(MAKE) fuzz-smoke
	$(MAKE) test-compose
	$(MAKE) test-package

test-asan: deps
	$(MAKE) SANITIZE=1 all unit integration

# The unit tests and a full load of the sample (movies with two changes,
# genres, persons) under valgrind's memcheck, the normal build (memcheck
# cannot run ASan binaries): any error or definite leak fails it
# (tests/valgrind/, docs/testing.md).
test-valgrind: deps
	$(MAKE) SANITIZE=0 FUZZ=0 all unit-bins
	ETL_BIN_DIR=$(abspath bin) ETL_UNIT_DIR=$(abspath build/tests) $(PYTHON) -m pytest \
	    -p no:cacheprovider $(PYTEST_ARGS) tests/valgrind

# The Compose stack booted for real with podman and docker-compose 1.29
# (compose/test/, tests/compose/); images and the debootstrap tarball are
# kept for the next run (/var/cache/etl-compose-test) until clean-compose.
test-compose: deps
	compose/test/install-podman.sh
	compose/test/build-images.sh
	$(PYTHON) -m pytest -p no:cacheprovider -s --durations=0 $(PYTEST_ARGS) tests/compose

clean-compose:
	compose/test/clean-images.sh

# The Debian package (debian/), built by dpkg-buildpackage in a copy of the
# tree (build/deb/src: objects of its own, the Debian layout and
# dpkg-buildflags' hardening), so the working tree's build is left alone;
# the .deb, .changes and .buildinfo land in build/deb.  Not part of all.
# debian/changelog's version must be VERSION-N.
DEB_DIR  := build/deb
DEB_JOBS ?= 2
deb:
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); case $$v in $(VERSION)-*) ;; \
	    *) echo "debian/changelog: version $$v is not $(VERSION)-N (Makefile VERSION)" >&2; exit 1;; esac
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached --others --exclude-standard | \
	    tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="parallel=$(DEB_JOBS) $$DEB_BUILD_OPTIONS" \
	    dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	rm -rf $(DEB_DIR)/src
	@ls $(DEB_DIR)/*.deb

# The package checked (tests/package/): lintian without errors, the unit
# by systemd-analyze verify, and the .deb installed with apt in a clean
# Debian 12 container (podman, the base image of make test-compose) where
# the supervisor runs as the unit says against the test PostgreSQL and
# search node (--network=host).
test-package: deps
	compose/test/install-podman.sh
	CONTAINERS_CONF=$(abspath compose/test/containers.conf) \
	    CONTAINERS_REGISTRIES_CONF=$(abspath compose/test/registries.conf) compose/test/base-image.sh
	$(MAKE) deb
	CONTAINERS_CONF=$(abspath compose/test/containers.conf) \
	    CONTAINERS_REGISTRIES_CONF=$(abspath compose/test/registries.conf) \
	    ETL_DEB_DIR=$(abspath $(DEB_DIR)) $(PYTHON) -m pytest -p no:cacheprovider -s --durations=0 \
	    $(PYTEST_ARGS) tests/package

# Fuzzing (libFuzzer, clang): tests/fuzz/fuzz_NAME.c is one target, linked
# like the unit tests, seeded from tests/fuzz/corpus/NAME/.  make fuzz runs
# each for FUZZ_SECONDS and keeps what it learns in build-fuzz/corpus/NAME;
# make fuzz-smoke (run by make test) works on a temp copy of the seeds.  A
# crash stops the run and leaves its input in build-fuzz/artifacts/.  One
# target runs at a time.  See docs/testing.md.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_RUN      = for t in $(FUZZ_NAMES); do \
	    corpus=$(1)/$$t; mkdir -p $$corpus build-fuzz/artifacts; \
	    cp -R tests/fuzz/corpus/$$t/. $$corpus/; \
	    echo "fuzz $$t: $(2) s"; \
	    build-fuzz/fuzz/fuzz_$$t -max_total_time=$(2) -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/artifacts/$$t- $$corpus 2>build-fuzz/fuzz_$$t.log \
	        || { tail -n 60 build-fuzz/fuzz_$$t.log; exit 1; }; \
	    grep -E 'DONE|^stat::(number_of_executed_units|peak_rss_mb)' \
	        build-fuzz/fuzz_$$t.log | tail -n 3; \
	done

# The parsers live in common/ and worker/: the supervisor and etlctl are
# not linked (nor built by clang).
FUZZ_LIB_OBJS := $(call obj,$(filter-out $(MAIN_SRC),$(COMMON_SRC) $(WORKER_SRC)))

$(BUILD)/tests/fuzz/%.o: CPPFLAGS += $(PROGRAM_INCLUDES)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

fuzz:
	$(MAKE) FUZZ=1 fuzz-build
	@$(call FUZZ_RUN,build-fuzz/corpus,$(FUZZ_SECONDS))

fuzz-smoke:
	$(MAKE) FUZZ=1 fuzz-build
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	    $(call FUZZ_RUN,$$tmp,$(FUZZ_SMOKE_SECONDS))

# Every C file clang-format checks.  clang-tidy runs one file per process:
# clang-tidy 14 reports a false valist warning (LLVM 41311) when several
# files share one run.
C_FILES  := common/*.[ch] worker/*.[ch] supervisor/*.[ch] supervisor/etlctl/*.[ch] tests/unit/*.[ch] \
            tests/fuzz/*.[ch]
LINT_SRC := $(COMMON_SRC) $(WORKER_SRC) $(SUPERVISOR_SRC) $(ETLCTL_SRC)
lint:
	clang-format --dry-run --Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE \
	    -Icommon common worker supervisor
	printf '%s\n' $(LINT_SRC) | xargs -P$$(nproc) -I{} \
	    clang-tidy --quiet {} -- $(WARN) $(CPPFLAGS) $(PKG_CFLAGS)
	printf '%s\n' $(wildcard tests/unit/*.c tests/fuzz/*.c) | xargs -P$$(nproc) -I{} \
	    clang-tidy --quiet {} -- $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(PROGRAM_INCLUDES) \
	    $$($(PKG_CONFIG) --cflags cmocka)

format:
	clang-format -i $(C_FILES)

bench: deps all
	$(PYTHON) tests/bench/run.py

# Not part of make test: it runs for SOAK_MINUTES (default 10); see
# docs/testing.md.  ETL_BIN_DIR picks the binaries (the ASan build's, say).
soak: deps all
	ETL_BIN_DIR=$${ETL_BIN_DIR:-$(abspath $(BIN))} $(PYTHON) tests/soak/run.py

demo: deps all
	compose/native/demo.sh

demo-stop:
	compose/native/demo.sh stop

# make install: the programs to PREFIX/bin; etl.ini to SYSCONFDIR/etl only
# when none is there (an edited one is kept: the new one goes beside it as
# etl.ini.dist, unless both are the same); the index SQL and mappings, and
# the database's SQL (not the sample data), to DATADIR; the man pages to
# MANDIR.  The installed
# etl.ini names its SQL and mapping files by absolute paths under DATADIR
# (relative ones would be read beside the ini file).  make uninstall
# removes all of it but an etl.ini that differs from the one installed.
SHARE_FILES := $(wildcard etc/sql/README.md etc/sql/*/*.sql etc/elasticsearch/*.json \
                 etc/postgres/sql/*.sql etc/postgres/migrations/*.sql)
ETC_DIR     := $(DESTDIR)$(SYSCONFDIR)/etl
INSTALL_INI := $(BUILD)/etl.ini

$(INSTALL_INI): etc/etl.ini $(SYSCONFDIR_STAMP) Makefile
	@mkdir -p $(dir $@)
	sed -E '/^(mapping|documents|changes)[[:space:]]*=/ s#([=[:space:]])(sql|elasticsearch)/#\1$(DATADIR)/\2/#g' \
	    etc/etl.ini >$@.tmp && mv $@.tmp $@

# The man pages, each from its one source so they cannot drift: a
# program's from its --help (as built: the default config path in it is
# SYSCONFDIR's), etl.ini(5) from the comments of the etl.ini installed.
MAN8       := $(patsubst $(BIN)/%,$(BUILD)/man/%.8,$(PROGRAMS))
MAN5       := $(BUILD)/man/etl.ini.5
MAN_GEN    := docs/man/gen_man.py

$(BUILD)/man/%.8: $(BIN)/% $(MAN_GEN)
	@mkdir -p $(dir $@)
	$(PYTHON) $(MAN_GEN) program $< 8 $@

$(MAN5): $(INSTALL_INI) $(MAN_GEN)
	@mkdir -p $(dir $@)
	$(PYTHON) $(MAN_GEN) ini $< $@

man: $(MAN8) $(MAN5)

install: all $(INSTALL_INI) man
	install -d $(DESTDIR)$(PREFIX)/bin $(ETC_DIR) $(DESTDIR)$(DATADIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	for f in $(SHARE_FILES); do install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$${f#etc/}; done
	if [ ! -e $(ETC_DIR)/etl.ini ]; then install -m 0644 $(INSTALL_INI) $(ETC_DIR)/etl.ini; \
	elif cmp -s $(INSTALL_INI) $(ETC_DIR)/etl.ini; then rm -f $(ETC_DIR)/etl.ini.dist; \
	else install -m 0644 $(INSTALL_INI) $(ETC_DIR)/etl.ini.dist; \
	    echo "$(ETC_DIR)/etl.ini kept; the new one is $(ETC_DIR)/etl.ini.dist"; fi

uninstall: $(INSTALL_INI)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,etl-supervisor etl-worker etlctl)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) $(DESTDIR)$(MANDIR)/man5/etl.ini.5
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/,$(patsubst etc/%,%,$(SHARE_FILES)))
	find $(DESTDIR)$(DATADIR) -depth -type d -empty -delete 2>/dev/null || true
	rm -f $(ETC_DIR)/etl.ini.dist
	if cmp -s $(INSTALL_INI) $(ETC_DIR)/etl.ini; then rm -f $(ETC_DIR)/etl.ini; \
	elif [ -e $(ETC_DIR)/etl.ini ]; then echo "$(ETC_DIR)/etl.ini differs from the one installed: kept"; fi
	rmdir $(ETC_DIR) 2>/dev/null || true

clean:
	rm -rf build build-asan build-fuzz bin

-include $(shell find build build-asan build-fuzz -name '*.d' 2>/dev/null)
