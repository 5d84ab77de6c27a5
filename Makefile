# sekisho - the two commands: `make run` and `make test`.
#
#   make run    install what is missing, build, start sekishod on its
#               embedded defaults (SQLite, local spool, Maildir sink)
#   make test   install what is missing, build with ASan+UBSan, run every test
#   make build  build only (release, in build/)
#   make web    build the console only (web/dist; npm ci when the lockfile changed)
#   make bench  benchmarks side by side with peers (not tests)

BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     := $(if $(CI),ON,OFF)

.PHONY: all deps web build build-test run test bench fuzz clean

all: build

deps:
	@sh scripts/install-deps.sh

# The console (web/, TypeScript): `npm ci` from the committed lockfile only
# when node_modules is missing or older than package-lock.json, then the
# Vite build into web/dist (served by sekishod at "/").
web: deps
	@cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
		npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build

build: deps web
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEKISHO_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The test build is optimised (-O2) as well as sanitized: some warnings
# (-Wmaybe-uninitialized, -Wclobbered) only exist at -O2, and -Werror in CI
# must see them.
build-test: deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEKISHO_SANITIZE=ON -DSEKISHO_WERROR=$(WERROR) >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

run: build
	@sh scripts/run-demo.sh $(BUILD)

# The plain build ($(BUILD)) is there for the valgrind leg of the suite.
test: build build-test
	@cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		SEKISHO_VALGRIND_BUILD=$(abspath $(BUILD)) \
		ctest --output-on-failure -j $(JOBS)

bench: build
	@sh bench/relay.sh $(BUILD)
	@sh bench/scan.sh $(BUILD)

# Long fuzzing runs (not part of make test, which only replays the saved
# corpora): FUZZ_TIME seconds per harness; new inputs go to build-fuzz/found/.
FUZZ_TIME ?= 300
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEKISHO_SANITIZE=ON -DSEKISHO_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@for f in build-fuzz/fuzz_*; do case $$f in *_replay) continue;; esac; \
		n=$$(basename $$f); mkdir -p build-fuzz/found/$$n; \
		echo "== $$n ($(FUZZ_TIME) s)"; \
		$$f -max_total_time=$(FUZZ_TIME) build-fuzz/found/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
