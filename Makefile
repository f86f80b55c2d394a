# pgwire -- build glue.
#
# Shared variables first; each area of the project keeps its targets in its
# own marked section below (the Python extension itself is built by
# setup.py).

CC       ?= cc
GCC      ?= gcc
CLANG    ?= clang
PYTHON   ?= python3
VALGRIND ?= valgrind

# The warning set of the pure C core (STYLE.md 8.8).  -Wconversion applies
# to src/core (and its tests) only.
CORE_WARN = -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
            -Wstrict-prototypes -Wmissing-prototypes -Wconversion
CORE_SRC  = $(wildcard src/core/*.c)
CORE_HDR  = $(wildcard src/core/*.h)

# Sanitizer flags (also usable by other sections).
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
SAN_ENV   = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all
all: ctest

# ======================================================================
# C protocol core: unit tests, sanitizers, valgrind, fuzzing
# (src/core, tests/c, tests/fuzz)
# ======================================================================

CTEST_SRC = $(wildcard tests/c/*.c)
CTEST_HDR = $(wildcard tests/c/*.h)
CTEST_DIR = tests/c/build
CTEST_DEP = $(CORE_SRC) $(CORE_HDR) $(CTEST_SRC) $(CTEST_HDR)
# The sanitizer build: clang when present, else gcc.
ASAN_CC  ?= $(shell command -v $(CLANG) >/dev/null 2>&1 && echo $(CLANG) || echo $(GCC))

FUZZ_DIR    = tests/fuzz/build
FUZZ_CORPUS = tests/fuzz/corpus
FUZZ_DICT   = tests/fuzz/pgwire.dict
FUZZ_RUNS  ?= 200000
FUZZ_FLAGS  = -O1 -g -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_HELPER = tests/c/pgc_dump.c

.PHONY: ctest ctest-asan ctest-valgrind ctest-clang core-check ctest-all \
        fuzz fuzz-smoke fuzz-corpus

$(CTEST_DIR)/test_core: $(CTEST_DEP)
	@mkdir -p $(CTEST_DIR)
	$(GCC) $(CORE_WARN) -O2 -g -o $@ $(CORE_SRC) $(CTEST_SRC)

$(CTEST_DIR)/test_core_clang: $(CTEST_DEP)
	@mkdir -p $(CTEST_DIR)
	$(CLANG) $(CORE_WARN) -O2 -g -o $@ $(CORE_SRC) $(CTEST_SRC)

$(CTEST_DIR)/test_core_asan: $(CTEST_DEP)
	@mkdir -p $(CTEST_DIR)
	$(ASAN_CC) $(CORE_WARN) $(SAN_FLAGS) -o $@ $(CORE_SRC) $(CTEST_SRC)

$(CTEST_DIR)/test_core_vg: $(CTEST_DEP)
	@mkdir -p $(CTEST_DIR)
	$(GCC) $(CORE_WARN) -O1 -g -o $@ $(CORE_SRC) $(CTEST_SRC)

ctest: $(CTEST_DIR)/test_core
	$<

ctest-clang: $(CTEST_DIR)/test_core_clang
	$<

ctest-asan: $(CTEST_DIR)/test_core_asan
	$(SAN_ENV) $<

ctest-valgrind: $(CTEST_DIR)/test_core_vg
	$(VALGRIND) --error-exitcode=99 --leak-check=full $<

# src/core alone, with both compilers and no Python include path.
core-check:
	@for cc in $(GCC) $(CLANG); do \
	    for f in $(CORE_SRC); do \
	        $$cc $(CORE_WARN) -c $$f -o /dev/null || exit 1; \
	    done; \
	    echo "core-check: $$cc ok"; \
	done

ctest-all: core-check ctest ctest-clang ctest-asan ctest-valgrind

# ----------------------------------------------------------------------
# libFuzzer targets (tests/fuzz; clang -fsanitize=fuzzer,address,undefined)
#   fuzz_stream   the backend byte stream in fuzz-chosen chunks: framing,
#                 every message parser, the startup/auth machine
#   fuzz_errors   ErrorResponse/NoticeResponse fields and every accessor
#                 the binding uses, framed and chunked
#   fuzz_scram    SCRAM server-first/server-final messages, strict base64
#   fuzz_cert     the certificate DER walker (channel binding)
#   fuzz_conn     the request engine: a request queue from the first bytes,
#                 the rest as server bytes in fuzz-chosen chunks
#   fuzz_sqlscan  the placeholder converter (%s/%(name)s -> $n): identity
#                 without '%', one $n per placeholder, names inside the
#                 input, errors at a '%', exact-size output buffers
#   decoders      every binary decoder of the extension (fuzz_decoders.py;
#                 smoke: replay of the recorded values + a seeded loop;
#                 long runs: atheris, see fuzz-decoders below)
# make fuzz-smoke            bounded runs (FUZZ_RUNS each; CI: 30000)
# make fuzz-long FUZZ_SECONDS=600
#                            each target for FUZZ_SECONDS in turn; new inputs
#                            go to tests/fuzz/build/long-<target>, crashes
#                            to tests/fuzz/build/crash-<target>-*
# make fuzz-record           re-record the seeds from a throwaway server
#                            (tests/fuzz/record_traffic.py; not run in CI)
# Reproduce a crash: tests/fuzz/build/fuzz_<target> <crash file>
# ----------------------------------------------------------------------
FUZZ_TARGETS  = stream errors scram conn sqlscan cert
FUZZ_SECONDS ?= 600
# -max_len per target (the others: 4096)
FUZZ_MAXLEN   = case $$t in stream) echo 100000;; errors) echo 65536;; \
                scram) echo 2048;; conn) echo 16384;; *) echo 4096;; esac
FUZZ_DEC_SMOKE ?= 1000

.PHONY: fuzz-long fuzz-record fuzz-decoders-smoke

# Every target: tests/fuzz/fuzz_<name>.c with the core (and the message
# dumper of tests/c, which the stream and errors targets use).
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_HELPER) $(CTEST_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(FUZZ_DIR)
	$(CLANG) $(CORE_WARN) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_HELPER) $(CORE_SRC)

fuzz: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))

# Bounded runs over the seed corpus; new inputs go to build/, never into
# the committed seeds.
fuzz-smoke: fuzz fuzz-decoders-smoke
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/work-$$t || exit 1; \
	    echo "fuzz-smoke: $$t"; \
	    $(SAN_ENV) $(FUZZ_DIR)/fuzz_$$t -runs=$(FUZZ_RUNS) \
	        -dict=$(FUZZ_DICT) -max_len=$$($(FUZZ_MAXLEN)) \
	        -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
	        $(FUZZ_DIR)/work-$$t $(FUZZ_CORPUS)/$$t || exit 1; \
	done

# The decoders, with the extension as built (make so / pip install -e):
# every recorded value replayed, then a seeded mutation loop that also
# draws from the recorded values.
fuzz-decoders-smoke:
	PYTHONPATH=$(CURDIR) $(PYTHON) tests/fuzz/fuzz_decoders.py \
	    --replay $(FUZZ_CORPUS)/decoders
	PYTHONPATH=$(CURDIR) $(PYTHON) tests/fuzz/fuzz_decoders.py \
	    --random --seed 1 \
	    --per-oid $(FUZZ_DEC_SMOKE) --corpus $(FUZZ_CORPUS)/decoders

# Long runs: each target for FUZZ_SECONDS, one after the other (then the
# decoders under atheris for as long).  The committed seeds are read, not
# written; what libFuzzer keeps goes to build/long-<target> and is reused
# by the next long run.
fuzz-long: fuzz
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/long-$$t || exit 1; \
	    echo "fuzz-long: $$t for $(FUZZ_SECONDS) s"; \
	    $(SAN_ENV) $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -dict=$(FUZZ_DICT) -max_len=$$($(FUZZ_MAXLEN)) \
	        -timeout=20 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
	        $(FUZZ_DIR)/long-$$t $(FUZZ_CORPUS)/$$t || exit 1; \
	done
	$(MAKE) fuzz-decoders FUZZ_DEC_RUNS=-1 FUZZ_DEC_TIME=$(FUZZ_SECONDS)

# Re-record the seeds (stream, errors, scram, decoders) from a workload
# run against a throwaway server through a recording relay.
fuzz-record:
	PYTHONPATH=$(CURDIR) $(PYTHON) tests/fuzz/record_traffic.py --out $(FUZZ_CORPUS)

# Regenerate the unit-test seeds (the streams of tests/c).
fuzz-corpus: $(CTEST_DIR)/test_core
	@mkdir -p $(FUZZ_CORPUS)/stream $(FUZZ_CORPUS)/scram
	$(CTEST_DIR)/test_core --write-corpus $(FUZZ_CORPUS)

# ======================================================================
# Python extension under ASan/UBSan: the whole pytest suite
# ======================================================================
# The sanitized extension is built into a private copy of the package so
# the normal in-place build is left alone.  gcc's runtime is preloaded
# into the (unsanitized) interpreter; leaks are not checked here (CPython
# does not free everything at exit), memory errors and UB abort the run.
ASAN_PY_DIR = build/asan-py
PYTEST_ARGS ?=
# what to run (PYTEST_ARGS are options: files there run on top of tests/)
PYTEST_PATHS ?= tests

.PHONY: pytest-asan
pytest-asan:
	rm -rf $(ASAN_PY_DIR) && mkdir -p $(ASAN_PY_DIR)
	PGWIRE_TEST_HOOKS=1 PGWIRE_SANITIZE=1 CC=$(GCC) $(PYTHON) setup.py -q \
	    build_ext --build-temp $(ASAN_PY_DIR)/tmp \
	    --build-lib $(ASAN_PY_DIR)/lib
	cp -r pgwire $(ASAN_PY_DIR)/pkg && rm -f $(ASAN_PY_DIR)/pkg/_pgwire*.so
	cp $(ASAN_PY_DIR)/lib/pgwire/_pgwire*.so $(ASAN_PY_DIR)/pkg/
	mkdir -p $(ASAN_PY_DIR)/path && mv $(ASAN_PY_DIR)/pkg $(ASAN_PY_DIR)/path/pgwire
	# PYTHONSAFEPATH: `-m` would put the checkout first on sys.path, and
	# its pgwire/ (with the plain in-place build) shadow the sanitized copy
	PYTHONPATH=$(CURDIR)/$(ASAN_PY_DIR)/path PYTHONMALLOC=malloc \
	PYTHONSAFEPATH=1 \
	LD_PRELOAD="$$($(GCC) -print-file-name=libasan.so) $$($(GCC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) $(PYTEST_PATHS)

# ----------------------------------------------------------------------
# Codec decoder fuzzing: make fuzz-decoders (tests/fuzz/fuzz_decoders.py,
# needs `pip install atheris`)
# ----------------------------------------------------------------------
# 1. atheris, coverage-guided, a bounded run: the extension is built by
#    clang with SanitizerCoverage only (a preloaded ASan runtime would take
#    the coverage callbacks from atheris' libFuzzer) into a private copy;
#    new inputs and crash files go to build/, never into the repository.
# 2. The seeds, every input atheris kept and a seeded random run, replayed
#    against an ASan/UBSan build (as pytest-asan above).
FUZZ_DEC_DIR    = build/fuzz-dec
FUZZ_DEC_RUNS  ?= 1000000
FUZZ_DEC_SEED  ?= 1
FUZZ_DEC_PEROID ?= 3000
# -max_total_time for atheris (0: none; fuzz-long sets it)
FUZZ_DEC_TIME  ?= 0

# $(call fuzz_dec_build,DIR,ENV): build into DIR, package copy at DIR/path
define fuzz_dec_build
	rm -rf $(1) && mkdir -p $(1)
	PGWIRE_TEST_HOOKS=1 $(2) $(PYTHON) setup.py -q build_ext \
	    --build-temp $(1)/tmp \
	    --build-lib $(1)/lib
	mkdir -p $(1)/path && cp -r pgwire $(1)/path/pgwire
	rm -f $(1)/path/pgwire/_pgwire*.so
	cp $(1)/lib/pgwire/_pgwire*.so $(1)/path/pgwire/
endef

.PHONY: fuzz-decoders
fuzz-decoders:
	$(call fuzz_dec_build,$(FUZZ_DEC_DIR)/cov,CC=$(CLANG) \
	    LDSHARED="$(CLANG) -shared" \
	    CFLAGS="-fsanitize=fuzzer-no-link -g -Wno-unused-command-line-argument")
	rm -rf $(FUZZ_DEC_DIR)/seeds && mkdir -p $(FUZZ_DEC_DIR)/work
	PYTHONPATH=$(CURDIR)/$(FUZZ_DEC_DIR)/cov/path $(PYTHON) \
	    tests/fuzz/fuzz_decoders.py --write-corpus $(FUZZ_DEC_DIR)/seeds
	PYTHONPATH=$(CURDIR)/$(FUZZ_DEC_DIR)/cov/path $(PYTHON) \
	    tests/fuzz/fuzz_decoders.py -runs=$(FUZZ_DEC_RUNS) -max_len=4096 \
	    -max_total_time=$(FUZZ_DEC_TIME) \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DEC_DIR)/ \
	    $(FUZZ_DEC_DIR)/work $(FUZZ_DEC_DIR)/seeds $(FUZZ_CORPUS)/decoders
	$(call fuzz_dec_build,$(FUZZ_DEC_DIR)/asan,PGWIRE_SANITIZE=1 CC=$(GCC))
	PYTHONPATH=$(CURDIR)/$(FUZZ_DEC_DIR)/asan/path PYTHONMALLOC=malloc \
	LD_PRELOAD="$$($(GCC) -print-file-name=libasan.so) $$($(GCC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    sh -c '$(PYTHON) tests/fuzz/fuzz_decoders.py --replay \
	        $(FUZZ_DEC_DIR)/seeds $(FUZZ_DEC_DIR)/work \
	        $(FUZZ_CORPUS)/decoders && \
	    $(PYTHON) tests/fuzz/fuzz_decoders.py --random \
	        --seed $(FUZZ_DEC_SEED) --per-oid $(FUZZ_DEC_PEROID)'

# ======================================================================
# The extension, rebuilt in place without disturbing running processes:
# the new .so is renamed over the old one (a new inode), so a pytest or
# benchmark run that has the old one mapped keeps working.  With the test
# hooks of src/ext/codec_debug.c (PGWIRE_TEST_HOOKS, setup.py).
SO_DIR = build/so
.PHONY: so
so:
	PGWIRE_TEST_HOOKS=1 $(PYTHON) setup.py -q build_ext \
	    --build-temp $(SO_DIR)/tmp \
	    --build-lib $(SO_DIR)/lib
	for f in $(SO_DIR)/lib/pgwire/_pgwire*.so; do \
	    cp $$f pgwire/.so.new && mv -f pgwire/.so.new pgwire/$$(basename $$f); \
	done

# ======================================================================
# asyncpg's own test suite against pgwire (scripts/asyncpg-suite.sh;
# tools/asyncpg_suite/).  Fetches the asyncpg 0.32.0 sdist into
# build/asyncpg-suite, runs its tests through a name-only import shim on a
# throwaway server, classifies each failure; fails on a regression against
# tools/asyncpg_suite/passing.txt.  APGSUITE_ARGS=--update-baseline rewrites
# the baseline.
# ======================================================================
APGSUITE_ARGS ?=
.PHONY: asyncpg-suite
asyncpg-suite:
	bash scripts/asyncpg-suite.sh $(APGSUITE_ARGS)

# ======================================================================
# C formatting (.clang-format): `make format` rewrites the C sources in
# place, `make format-check` lists the files a format pass would change
# and fails if there is one.  Covers src/, tests/c/ and the fuzz targets.
# ======================================================================
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(shell git ls-files 'src/*.c' 'src/*.h' 'tests/c/*.c' \
                   'tests/c/*.h' 'tests/fuzz/*.c' 'tests/fuzz/*.h')
.PHONY: format format-check
format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	@bad=0; for f in $(FORMAT_FILES); do \
	    $(CLANG_FORMAT) $$f | cmp -s $$f - || { echo "format-check: $$f"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then \
	    echo "format-check: run 'make format' (clang-format, .clang-format)"; \
	    exit 1; \
	fi
