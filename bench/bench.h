// The cwasi-bench subcommands.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cwasi::bench {

struct BenchOptions {
  bool quick = false;             // a few iterations: the CI smoke test
  std::filesystem::path out_dir;  // where to write <name>.md/.csv; empty: stdout only
};

// In-process cold start (instantiate + run), compile vs AOT-cache load, and
// whole-process `cwasi run` vs Node's WASI vs the native binary.
int runtimeBench(const BenchOptions& options);

// Every mode (embedded, local, remote over loopback and across network
// namespaces, redis) side by side: A→B payloads of 2–100 MB, round trips,
// fan-out/fan-in, next to memcpy.
int commBench(const BenchOptions& options);

// cwasid under wrk next to nginx, cold vs warm starts, a workflow vs the
// client chaining calls.
int gatewayBench(const BenchOptions& options);

// cwasid next to nginx under 10,000 idle connections and unwanted 16 MiB
// bodies (threads, RSS, a normal request's latency), and on the everyday
// path under wrk.
int hardeningBench(const BenchOptions& options);

// A million invocations through cwasid, RSS, fds and threads sampled.
int soakBench(const BenchOptions& options);

// containerd-shim-cwasi-v1 against runc under one real containerd: ctr run
// end to end, memory per idle task, image sizes.
int shimBench(const BenchOptions& options);

// Wasm pods (cwasi) against native pods (runc) on the local cluster: apply →
// Ready and → first HTTP response for 1 and 10 replicas, memory per pod.
int kubernetesBench(const BenchOptions& options);
int operatorBench(const BenchOptions& options);

// The operator's reconcile throughput: 1,000 Functions to Ready on kwok's fake
// nodes (test/kubernetes/scale_test.sh) at --workers 8 and 1, its CPU and
// peak RSS, and a SIGKILL restart half-way through 1,000 more.
int operatorScaleBench(const BenchOptions& options);

// The study's functions (functions/study) as Wasm and as containers' native
// binaries: artifact sizes, warm execution serial and concurrent (cwasid vs the
// binary's HTTP server), cold start, and pod deployment on the local cluster
// (bench/study_bench.sh; not in --quick, nor with CWASI_STUDY_CLUSTER=0).
int studyBench(const BenchOptions& options);

// §2b of the study alone (study_profile.h): each compute function's handler
// timed in-process, native vs Wasm, and the variants that attribute the gap.
int studyProfileBench(const BenchOptions& options);

// Parses "SUBCOMMAND [--quick] [--out DIR]" and runs it.
int benchMain(const std::vector<std::string>& args);

}  // namespace cwasi::bench
