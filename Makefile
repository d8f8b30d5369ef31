# The two commands of the README: `make run` and `make test`. Both set up the
# machine (scripts/setup.sh, idempotent) and build first.
BUILD_DIR ?= build
# The second build of `make test` and `make fuzz`: ASan+UBSan, with the
# libFuzzer targets; no benchmarks. Wasmtime comes from the same Cargo cache.
SANITIZE_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all setup configure build test test-tools sanitize-configure sanitize-build sanitize-test fuzz run bench clean k8s cluster \
	cluster-down

all: build

setup:
	scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Kubernetes and kwok (Go, from the module proxy, cached outside the clone)
# are built before the tests run, so that no test's timeout pays for a cold
# build (a first `up` killed half-way left a cluster behind once).
test-tools: setup
	scripts/k8s-build.sh
	scripts/kwok-build.sh

test: build test-tools
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	$(MAKE) sanitize-test

sanitize-configure: setup
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ $(CMAKE_FLAGS) \
	  -DCWASI_FUZZ=ON -DCWASI_SANITIZE=address,undefined -DCWASI_BUILD_BENCH=OFF

sanitize-build: sanitize-configure
	cmake --build $(SANITIZE_DIR) -j $(JOBS)

# The unit tests (no containerd, Kubernetes or network namespace) and the
# tests of cwasid as a process under ASan+UBSan, then each fuzz target
# briefly (CWASI_FUZZ_SMOKE_SECONDS).
# No ASAN_OPTIONS: Wasmtime's SIGSEGV handler (wasm traps) chains with
# ASan's, which lets a program install its own (allow_user_segv_handler=1 is
# the default), and Wasmtime leaks nothing LeakSanitizer reports.
sanitize-test: sanitize-build
	UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS) -L 'unit|requires-daemon'
	ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS) -L fuzz

# Each fuzz target for FUZZ_SECONDS on a copy of its corpus (fuzz/README.md).
fuzz: sanitize-configure
	cmake --build $(SANITIZE_DIR) -j $(JOBS) --target fuzzers
	ls $(SANITIZE_DIR)/fuzz/*_fuzz | xargs -P $(JOBS) -I{} sh -c \
	  'fuzz/run.sh {} fuzz/corpus/$$(basename {} _fuzz) $(FUZZ_SECONDS)'

run: build
	scripts/demo.sh $(BUILD_DIR)

bench: build
	$(BUILD_DIR)/bin/cwasi-bench runtime --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench comm --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench gateway --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench hardening --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench soak --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench shim --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench kubernetes --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench operator --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench operator-scale --out bench/results
	$(BUILD_DIR)/bin/cwasi-bench study --out bench/results

# A real Kubernetes cluster on this machine (README: Kubernetes): control plane,
# containerd with the runc and cwasi runtime handlers, NODES=2 adds node-2 in a
# network namespace. Kubernetes is built once from the Go module proxy (k8s/).
NODES ?= 1

k8s:
	scripts/k8s-build.sh

cluster: build
	BUILD_DIR=$(BUILD_DIR) scripts/cluster.sh up $(NODES)

cluster-down:
	BUILD_DIR=$(BUILD_DIR) scripts/cluster.sh down

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR)
