#!/usr/bin/env bash
# Installs everything cwasi needs to build, test and benchmark, by package name.
# Idempotent: packages already present are skipped; safe to run before every build.
#   scripts/setup.sh            build, test and benchmark packages
#   scripts/setup.sh cluster    also what the local Kubernetes cluster needs (scripts/cluster.sh)
set -euo pipefail

PACKAGES=(
  # host toolchain and build; shellcheck lints the shell scripts (make test's lint.shellcheck)
  build-essential clang lld cmake ninja-build pkg-config git shellcheck
  # the ASan/UBSan/libFuzzer runtimes of make test's sanitizer build
  libclang-rt-14-dev
  # guest toolchain (wasm32-wasi)
  wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
  wabt
  # Rust guest SDK (sdk/rust): Debian's rustc/cargo carry a wasm32-wasi std
  # (rustup's toolchain here has none); rust-lld comes from lld-14
  rustc cargo libstd-rust-dev-wasm32 lld-14
  # libraries
  libssl-dev libboost-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libyaml-cpp-dev zlib1g-dev libcli11-dev
  protobuf-compiler libprotobuf-dev libhiredis-dev
  # containerd protos (shim) and ttrpc.proto
  golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev golang-github-containerd-cgroups-dev
  librust-ttrpc-dev
  # real components used by tests and benchmarks
  containerd runc redis-server iproute2 curl wrk hyperfine nodejs nginx-light docker-registry
  # htpasswd (bcrypt) for the registry behind Basic auth in node_test
  apache2-utils
  # benchmark plots; the study's Debian-based baseline image and its profile
  # of Wasm functions (cwasi-bench study: perf with CWASI_PROFILER=perfmap)
  gnuplot-nox debootstrap linux-perf
  # the fortune files the study's functions (functions/study, built with the
  # Rust above) take their text corpora from (Debian 12 has no fortunes-fr)
  fortunes fortunes-min fortunes-de fortunes-it fortunes-es fortunes-ru
  # user-manager's users API (functions/study/users-api): a throwaway
  # PostgreSQL cluster per run, served over REST by Python's standard library
  postgresql python3-psycopg2
)

# The local Kubernetes cluster (make cluster): etcd, CNI plugins, kube-proxy's
# and kubelet's host tools (nftables: `down` drops the empty tables iptables-nft
# leaves), a local image registry, the static pause image's compiler, certificates.
CLUSTER_PACKAGES=(
  etcd-server containernetworking-plugins iptables conntrack socat ethtool
  nftables musl-tools openssl
)
case "${1:-}" in
  "") ;;
  cluster) PACKAGES+=("${CLUSTER_PACKAGES[@]}") ;;
  *) echo "usage: $0 [cluster]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node (the reference WASI runtime in tests) may come from outside Debian on
# some machines; accept any node >= 18 already on PATH.
if command -v node >/dev/null 2>&1; then
  tmp=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust toolchain for the Wasmtime C API crate. Wasmtime 48 needs rustc >= 1.95,
# newer than Debian 12's; the machine image provides it through rustup.
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo (Rust >= 1.95) is required to build Wasmtime's C API; none on PATH" >&2
  exit 1
fi
# Go >= 1.24 for the Go guest SDK's functions (sdk/go, go:wasmexport), built by
# CMake, and for the operator. Debian 12's golang is 1.19; the machine image
# provides a newer one in /usr/local/go.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [[ -z "$go_minor" ]] || ((go_minor < 24)); then
  echo "setup: Go >= 1.24 is required for the Go SDK's functions (sdk/go); found: $(go env GOVERSION 2>/dev/null || echo none)" >&2
  exit 1
fi
echo "setup: ok"
