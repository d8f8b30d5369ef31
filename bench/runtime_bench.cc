// cwasi-bench runtime: how fast a function starts.
#include <cstdio>
#include <ctime>
#include <iostream>

#include "bench.h"
#include "cwasi/common/files.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path fn(const std::string& name) { return fs::path(CWASI_FUNCTIONS_DIR) / (name + ".wasm"); }

// Times `body` `n` times (after `warmup` untimed runs); stops at the first failure.
template <typename F>
std::vector<std::chrono::nanoseconds> timeIt(int n, int warmup, F&& body) {
  std::vector<std::chrono::nanoseconds> out;
  for (int i = 0; i < warmup; ++i) {
    if (!body()) return out;
  }
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    if (!body()) break;
    out.push_back(Clock::now() - t0);
  }
  return out;
}

std::string ratio(double a, double b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", a / b);
  return buf;
}

}  // namespace

int runtimeBench(const BenchOptions& o) {
  const int cold_n = o.quick ? 50 : 5000;
  const int compile_n = o.quick ? 1 : 5;
  const int load_n = o.quick ? 3 : 50;
  const int proc_n = o.quick ? 3 : 200;
  std::vector<Row> rows;
  auto cache_dir = makeTempDir("cwasi-bench-cache-");
  if (!cache_dir.ok()) return 1;

  runtime::EngineConfig config;
  config.cache_dir = *cache_dir;
  auto engine_r = runtime::Engine::create(config);
  if (!engine_r.ok()) {
    std::cerr << engine_r.error().toString() << "\n";
    return 1;
  }
  runtime::Engine& engine = **engine_r;

  // 1. In-process cold start: a fresh instance per invocation, run to completion.
  auto echo = engine.loadFile(fn("echo"));
  auto hello = engine.loadFile(fn("hello"));
  if (!echo.ok() || !hello.ok()) {
    std::cerr << "cannot load functions from " << CWASI_FUNCTIONS_DIR << "\n";
    return 1;
  }
  std::vector<uint8_t> request(64, 'r');
  bool failed = false;
  auto echo_samples = timeIt(cold_n, 100, [&] {
    runtime::SpanSource source(request);
    runtime::VectorSink sink;
    auto r = runtime::invoke(engine, *echo, {}, source, sink);
    failed |= !r.ok() || sink.data != request;
    return !failed;
  });
  auto inst_samples = timeIt(cold_n, 100, [&] {
    return runtime::Instance::create(engine, *echo, {}).ok();
  });
  auto hello_samples = timeIt(cold_n, 100, [&] {
    runtime::SpanSource source({});
    runtime::VectorSink sink;
    auto r = runtime::invoke(engine, *hello, {}, source, sink);
    failed |= !r.ok() || sink.data.size() != 18;
    return !failed;
  });
  if (failed) {
    std::cerr << "cold-start invocations failed\n";
    return 1;
  }
  Summary echo_s = summarize(echo_samples);
  rows.push_back({"in-process cold start", "echo reactor, 64 B: instantiate + handle", echo_s,
                  echo_s.p50_us <= 50 ? "goal p50 <= 50 µs: met" : "goal p50 <= 50 µs: missed"});
  rows.push_back({"in-process cold start", "echo: instantiate only (+_initialize)",
                  summarize(inst_samples), ""});
  rows.push_back({"in-process cold start", "hello command: instantiate + _start (stdout captured)",
                  summarize(hello_samples), ""});

  // 2. Compile vs AOT-cache load of a ~1 MB module.
  auto big = readFile(fn("regex-grep"));
  if (!big.ok()) return 1;
  runtime::LoadOptions no_cache;
  no_cache.use_cache = false;
  auto compile_samples = timeIt(compile_n, 0, [&] {
    return engine.loadBytes(*big, "regex-grep.wasm", no_cache).ok();
  });
  (void)engine.loadFile(fn("regex-grep"));  // populate the cache
  auto load_samples = timeIt(load_n, 1, [&] {
    auto m = engine.loadFile(fn("regex-grep"));
    return m.ok() && (*m)->loadInfo().cache_hit;
  });
  Summary compile_s = summarize(compile_samples), load_s = summarize(load_samples);
  std::string size_kb = std::to_string(big->size() / 1024) + " KiB";
  rows.push_back({"module load (" + size_kb + ")", "compile (Cranelift)", compile_s, ""});
  rows.push_back({"module load (" + size_kb + ")", "AOT cache load (verify + mmap)", load_s,
                  ratio(compile_s.p50_us, load_s.p50_us) + " faster than compiling"});

  // 3. Whole process, side by side: cwasi run vs node (WASI) vs native.
  const std::string cwasi = (fs::path(CWASI_BIN_DIR) / "cwasi").string();
  const std::string node_js = (fs::path(CWASI_SOURCE_DIR) / "test/support/node_wasi.cjs").string();
  const std::vector<std::pair<std::string, std::vector<std::string>>> procs = {
      {"native hello binary", {(fs::path(CWASI_FUNCTIONS_DIR) / "hello-native").string()}},
      {"cwasi run hello.wasm", {cwasi, "run", fn("hello").string()}},
      {"node (WASI) hello.wasm", {"node", "--no-warnings", node_js, fn("hello").string()}},
  };
  std::vector<std::pair<std::string, std::string>> env = {{"CWASI_CACHE_DIR", cache_dir->string()}};
  double native_p50 = 0;
  for (const auto& proc : procs) {
    const std::string& name = proc.first;
    const std::vector<std::string>& argv = proc.second;
    auto samples = timeIt(proc_n, 3, [&] {
      auto r = runSubprocess({.argv = argv, .env = env, .discard_output = true});
      return r.ok() && r->exit_code == 0;
    });
    if (samples.empty()) {
      std::cerr << "cannot run " << argv[0] << "\n";
      return 1;
    }
    Summary s = summarize(samples);
    if (native_p50 == 0) native_p50 = s.p50_us;
    rows.push_back({"whole process", name, s,
                    native_p50 == s.p50_us ? "baseline" : ratio(s.p50_us, native_p50) + " native"});
  }
  std::error_code ec;
  fs::remove_all(*cache_dir, ec);

  std::string header = "# cwasi-bench runtime\n\nWasmtime " + std::string(runtime::wasmtimeVersion()) +
                       ", pooling allocator, " + (o.quick ? "quick smoke run" : "full run") + ".\n";
  std::cout << header << "\n" << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "runtime", header, rows)) return 1;
  return 0;
}

int benchMain(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << "usage: cwasi-bench runtime|comm|gateway|hardening|soak|shim|kubernetes|operator|operator-scale|study|study-profile [--quick] [--out DIR]\n";
    return 2;
  }
  BenchOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--quick") {
      o.quick = true;
    } else if (args[i] == "--out" && i + 1 < args.size()) {
      o.out_dir = args[++i];
    } else {
      std::cerr << "cwasi-bench: unknown option " << args[i] << "\n";
      return 2;
    }
  }
  if (args[0] == "runtime") return runtimeBench(o);
  if (args[0] == "comm") return commBench(o);
  if (args[0] == "gateway") return gatewayBench(o);
  if (args[0] == "hardening") return hardeningBench(o);
  if (args[0] == "soak") return soakBench(o);
  if (args[0] == "shim") return shimBench(o);
  if (args[0] == "kubernetes") return kubernetesBench(o);
  if (args[0] == "operator") return operatorBench(o);
  if (args[0] == "operator-scale") return operatorScaleBench(o);
  if (args[0] == "study") return studyBench(o);
  if (args[0] == "study-profile") return studyProfileBench(o);
  std::cerr << "cwasi-bench: unknown benchmark " << args[0] << "\n";
  return 2;
}

}  // namespace cwasi::bench
