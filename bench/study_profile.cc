// cwasi-bench study, §2b (study_profile.h): each function's handler timed in
// one process, many calls — the functions' own `--repeat N` mode
// (functions/study/src/lib.rs), the same source in both builds — natively and
// in one Wasm instance of cwasi's runtime configured as cwasid configures it.
// Then the variants that attribute a gap: native builds with the Wasm build's
// math library (musl's sin/cos) or without AES-NI, a simd128 Wasm build,
// Wasmtime with one of cwasi's engine settings changed (epoch interruption
// off, a small memory reservation that forces explicit bounds checks), a
// fresh instance per call (what cwasid pays besides the handler) and perf
// profiles (CWASI_PROFILER=perfmap) of the worst two.
#include "study_profile.h"

#include <wasi.h>
#include <wasmtime.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "cwasi/common/files.h"
#include "cwasi/common/result.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "bench.h"
#include "servers.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const fs::path kFunctionsDir = CWASI_FUNCTIONS_DIR;
const fs::path kBinDir = CWASI_BIN_DIR;
// Every function's default request (the paper's parameters), as §2 sends it;
// when quick, float-operation's n is 10^6 (its 2 s call would dominate).
std::string requestFor(const std::string& f, bool quick) {
  return quick && f == "float-operation" ? R"({"n": 1000000})" : "{}";
}

// One `--repeat N` run: per-call times in microseconds.
struct CallTimes {
  int calls = 0;
  double first_us = 0;   // the first call of the process or instance (cold)
  double min_us = 0;     // over the others
  double median_us = 0;  // over the others
};

Result<CallTimes> parseCallTimes(const std::string& out, const std::string& what) {
  json j = json::parse(out, nullptr, false);
  if (!j.is_object() || !j.contains("median_ns")) {
    return internal(what + ": no --repeat result in its output: " + out.substr(0, 200));
  }
  CallTimes t;
  t.calls = j.value("calls", 0);
  t.first_us = j.value("first_ns", 0.0) / 1e3;
  t.min_us = j.value("min_ns", 0.0) / 1e3;
  t.median_us = j.value("median_ns", 0.0) / 1e3;
  return t;
}

Result<CallTimes> runNative(const fs::path& binary, const std::string& request, int calls) {
  SubprocessOptions o;
  o.argv = {binary.string(), "--repeat", std::to_string(calls)};
  o.input = request;
  o.timeout = std::chrono::minutes(5);
  TRY_ASSIGN(SubprocessResult r, runSubprocess(o));
  if (r.exit_code != 0) {
    return aborted(binary.string() + " --repeat: exit " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return parseCallTimes(r.out, binary.string());
}

// Wasm through cwasi's runtime, with the engine cwasid creates (its pool of
// 512 slots, 128 MiB default memory limit, the 1 ms epoch ticker, the AOT
// cache). Generated code depends only on the engine's settings, so one
// instance running `--repeat N` times the handler as each cwasid call runs it.
class CwasidEngine {
 public:
  static Result<std::unique_ptr<CwasidEngine>> create() {
    runtime::EngineConfig c;
    c.max_instances = 512;
    c.default_memory_bytes = 128u << 20;
    c.cache_dir = runtime::defaultCacheDir();
    TRY_ASSIGN(auto engine, runtime::Engine::create(std::move(c)));
    return std::unique_ptr<CwasidEngine>(new CwasidEngine(std::move(engine)));
  }

  Result<CallTimes> repeat(const fs::path& module, const std::string& request, int calls) {
    TRY_ASSIGN(auto m, engine_->loadFile(module));
    runtime::RunContext ctx = context(module, request, {"--repeat", std::to_string(calls)});
    ctx.output = runtime::OutputCapture{};
    ctx.error_output = runtime::OutputCapture{};
    TRY_ASSIGN(auto inst, runtime::Instance::create(*engine_, m, std::move(ctx)));
    TRY_ASSIGN(int code, inst->runMain());
    if (code != 0) {
      return aborted(module.string() + " --repeat: exit " + std::to_string(code) + ": " +
                     inst->capturedStderr());
    }
    return parseCallTimes(inst->capturedStdout(), module.string());
  }

  // `calls` calls, each in a fresh instance with the request on stdin (what
  // cwasid does per call, without HTTP): instantiation, WASI start-up, the
  // handler on fresh memory, tear-down.
  Result<Summary> freshInstances(const fs::path& module, const std::string& request, int calls) {
    TRY_ASSIGN(auto m, engine_->loadFile(module));
    std::vector<std::chrono::nanoseconds> samples;
    for (int i = 0; i < calls; ++i) {
      auto start = Clock::now();
      TRY_ASSIGN(auto inst, runtime::Instance::create(*engine_, m, context(module, request, {})));
      TRY_ASSIGN(int code, inst->runMain());
      inst.reset();
      samples.push_back(Clock::now() - start);
      if (code != 0) return aborted(module.string() + ": exit " + std::to_string(code));
    }
    return summarize(std::move(samples));
  }

 private:
  explicit CwasidEngine(std::unique_ptr<runtime::Engine> engine) : engine_(std::move(engine)) {}

  static runtime::RunContext context(const fs::path& module, const std::string& request,
                                     std::vector<std::string> args) {
    runtime::RunContext ctx;
    ctx.args = {module.filename().string()};
    ctx.args.insert(ctx.args.end(), args.begin(), args.end());
    ctx.input = runtime::StdinBytes{std::vector<uint8_t>(request.begin(), request.end())};
    return ctx;
  }

  std::unique_ptr<runtime::Engine> engine_;
};

// Wasmtime's C API directly, with cwasi's engine settings (engine.cc) except
// the ones a variant changes — settings cwasi's EngineConfig does not offer
// (epoch interruption is how timeouts work; the reservation keeps bounds
// checks out of the code).
struct EngineVariant {
  std::string name;
  bool epoch = true;           // epoch interruption: a check per loop back-edge and call
  bool small_reservation = false;  // memory_reservation 0, guard 0: explicit bounds checks
};

std::string wasmtimeMessage(wasmtime_error_t* err, wasm_trap_t* trap) {
  wasm_byte_vec_t msg;
  if (err) {
    wasmtime_error_message(err, &msg);
    wasmtime_error_delete(err);
  } else {
    wasm_trap_message(trap, &msg);
    wasm_trap_delete(trap);
  }
  std::string s(msg.data, msg.size);
  wasm_byte_vec_delete(&msg);
  return s;
}

ptrdiff_t appendOutput(void* data, const unsigned char* bytes, size_t n) {
  static_cast<std::string*>(data)->append(reinterpret_cast<const char*>(bytes), n);
  return static_cast<ptrdiff_t>(n);
}

Result<CallTimes> runWasmtime(const EngineVariant& v, const fs::path& module, const std::string& request,
                              int calls) {
  TRY_ASSIGN(std::vector<uint8_t> bytes, readFile(module));
  wasm_config_t* wc = wasm_config_new();
  wasmtime_config_strategy_set(wc, WASMTIME_STRATEGY_CRANELIFT);
  wasmtime_config_cranelift_opt_level_set(wc, WASMTIME_OPT_LEVEL_SPEED);
  wasmtime_config_epoch_interruption_set(wc, v.epoch);
  wasmtime_config_max_wasm_stack_set(wc, 1u << 20);
  wasmtime_config_memory_guard_size_set(wc, v.small_reservation ? 0 : 32u << 20);
  if (v.small_reservation) wasmtime_config_memory_reservation_set(wc, 0);
  wasmtime_config_wasm_memory64_set(wc, false);
  std::unique_ptr<wasm_engine_t, decltype(&wasm_engine_delete)> engine(wasm_engine_new_with_config(wc),
                                                                        wasm_engine_delete);
  if (!engine) return internal("Wasmtime refused the configuration of " + v.name);
  wasmtime_module_t* raw_module = nullptr;
  if (auto* err = wasmtime_module_new(engine.get(), bytes.data(), bytes.size(), &raw_module)) {
    return internal(module.string() + ": " + wasmtimeMessage(err, nullptr));
  }
  std::unique_ptr<wasmtime_module_t, decltype(&wasmtime_module_delete)> m(raw_module, wasmtime_module_delete);
  std::unique_ptr<wasmtime_linker_t, decltype(&wasmtime_linker_delete)> linker(
      wasmtime_linker_new(engine.get()), wasmtime_linker_delete);
  if (auto* err = wasmtime_linker_define_wasi(linker.get())) return internal(wasmtimeMessage(err, nullptr));
  std::unique_ptr<wasmtime_store_t, decltype(&wasmtime_store_delete)> store(
      wasmtime_store_new(engine.get(), nullptr, nullptr), wasmtime_store_delete);
  wasmtime_context_t* ctx = wasmtime_store_context(store.get());
  if (v.epoch) wasmtime_context_set_epoch_deadline(ctx, uint64_t{1} << 62);

  std::string out;
  wasi_config_t* wasi = wasi_config_new();
  const std::string name = module.filename().string(), count = std::to_string(calls);
  const char* argv[] = {name.c_str(), "--repeat", count.c_str()};
  wasi_config_set_argv(wasi, 3, argv);
  wasm_byte_vec_t in;
  wasm_byte_vec_new(&in, request.size(), request.data());
  wasi_config_set_stdin_bytes(wasi, &in);
  wasi_config_set_stdout_custom(wasi, appendOutput, &out, nullptr);
  if (auto* err = wasmtime_context_set_wasi(ctx, wasi)) return internal(wasmtimeMessage(err, nullptr));

  wasmtime_instance_t instance;
  wasm_trap_t* trap = nullptr;
  if (auto* err = wasmtime_linker_instantiate(linker.get(), ctx, m.get(), &instance, &trap); err || trap) {
    return internal(module.string() + ": " + wasmtimeMessage(err, trap));
  }
  wasmtime_extern_t start;
  if (!wasmtime_instance_export_get(ctx, &instance, "_start", 6, &start) || start.kind != WASMTIME_EXTERN_FUNC) {
    return invalidArgument(module.string() + " exports no _start");
  }
  auto* err = wasmtime_func_call(ctx, &start.of.func, nullptr, 0, nullptr, 0, &trap);
  int status = 0;
  if (err && wasmtime_error_exit_status(err, &status)) {
    wasmtime_error_delete(err);
    err = nullptr;
  }
  if (err || trap) return aborted(module.string() + " (" + v.name + "): " + wasmtimeMessage(err, trap));
  if (status != 0) return aborted(module.string() + " (" + v.name + "): exit " + std::to_string(status));
  return parseCallTimes(out, module.string() + " (" + v.name + ")");
}

// "wasm[0]::function[65]::_ZN3aes4soft8fixslice9sub_bytes17h…E   -   -" →
// "aes::soft::fixslice::sub_bytes": the perf map's prefix, perf's empty
// columns and Rust's legacy mangling (length-prefixed path, hash) removed.
std::string readableSymbol(std::string s) {
  if (auto cut = s.find("  "); cut != std::string::npos) s.resize(cut);
  if (auto p = s.rfind("]::"); p != std::string::npos && s.starts_with("wasm[")) s = s.substr(p + 3);
  if (!s.starts_with("_ZN") || !s.ends_with("E")) return s;
  std::string out;
  size_t i = 3;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    size_t len = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) len = len * 10 + (s[i++] - '0');
    if (i + len > s.size()) return s;
    std::string part = s.substr(i, len);
    i += len;
    if (part.size() == 17 && part[0] == 'h') break;  // the hash
    out += (out.empty() ? "" : "::") + part;
  }
  return out.empty() ? s : out;
}

// perf's top symbols (self time) of `cwasi run MODULE --repeat N`, Wasm
// functions named through the engine's perf map (CWASI_PROFILER=perfmap).
struct Hot {
  double percent;
  std::string symbol;
};

Result<std::vector<Hot>> perfTop(const fs::path& module, int calls, const fs::path& dir) {
  const std::string request = requestFor("", false);
  const std::string data = (dir / (module.stem().string() + ".perf.data")).string();
  SubprocessOptions rec;
  rec.argv = {"perf", "record", "-F", "999", "-q", "-o", data, "--",
              (kBinDir / "cwasi").string(), "run", module.string(), "--repeat", std::to_string(calls)};
  rec.input = request;
  rec.env = {{"CWASI_PROFILER", "perfmap"}};
  rec.timeout = std::chrono::minutes(2);
  TRY_ASSIGN(SubprocessResult r, runSubprocess(rec));
  if (r.exit_code != 0) return unavailable("perf record: exit " + std::to_string(r.exit_code) + ": " + r.err);
  SubprocessOptions rep;
  rep.argv = {"perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
              "--percent-limit", "2"};
  TRY_ASSIGN(SubprocessResult p, runSubprocess(rep));
  std::error_code ec;
  fs::remove(data, ec);
  if (p.exit_code != 0) return unavailable("perf report: exit " + std::to_string(p.exit_code) + ": " + p.err);
  // "    62.10%  [.] __rem_pio2_large"
  static const std::regex kLine(R"(^\s*([0-9.]+)%\s+\[[.k]\]\s+(.+?)\s*$)");
  std::vector<Hot> hot;
  std::istringstream lines(p.out);
  for (std::string line; std::getline(lines, line) && hot.size() < 5;) {
    std::smatch m;
    if (std::regex_match(line, m, kLine)) hot.push_back({std::stod(m[1]), m[2]});
  }
  for (auto& h : hot) h.symbol = readableSymbol(h.symbol);
  if (hot.empty()) return unavailable("perf report gave no symbols");
  return hot;
}

std::string ms(double us) { return formatUs(us); }
std::string percent(double a, double b) { return fixed((a / b - 1) * 100, "%+.0f") + " %"; }

// A fresh instance's call minus its handler: what instantiation, WASI
// start-up and tear-down add. Within the calls' spread it is not measurable.
std::string outside(const Summary& fresh, const CallTimes& wasm) {
  double d = fresh.p50_us - wasm.first_us;
  return d > 0.02 * fresh.p50_us ? ms(d) : "within noise";
}

// What one function measured.
struct Measured {
  std::optional<CallTimes> native, wasm, simd;
  std::optional<CallTimes> musl_math, aes_soft;  // attribution builds (one function each)
  std::optional<CallTimes> direct, no_epoch, explicit_bounds;
  std::optional<Summary> fresh;
  std::vector<Hot> hot;
};

std::string hotText(const std::vector<Hot>& hot, size_t n) {
  std::ostringstream s;
  for (size_t i = 0; i < hot.size() && i < n; ++i) {
    s << (i ? ", " : "") << fixed(hot[i].percent, "%.0f") << " % in `" << hot[i].symbol << "`";
  }
  return s.str();
}

// The one-sentence, measured explanation of a function's gap: the main
// cause first, then every other effect of 10 % or more.
std::string explain(const std::string& f, const Measured& m) {
  if (!m.native || !m.wasm) return "not measured (a step failed)";
  const double n = m.native->median_us, w = m.wasm->median_us;
  std::ostringstream s;
  s << "compute in one instance " << ms(w) << " vs " << ms(n) << " native (" << studyRatio(w, n) << ")";
  if (f == "float-operation" && m.musl_math) {
    const double musl = m.musl_math->median_us;
    s << "; the math library: native with musl's sin/cos (what wasi-libc gives the Wasm build) takes " << ms(musl)
      << " (" << studyRatio(musl, n) << " glibc's), the remaining " << studyRatio(w, musl)
      << " is Wasm code vs native code of the same algorithm";
  } else if (f == "aes" && m.aes_soft) {
    const double soft = m.aes_soft->median_us;
    s << "; AES-NI: native without it (software AES) takes " << ms(soft) << " (" << studyRatio(soft, n)
      << "), Wasm is " << studyRatio(w, soft) << " of that (32-bit bitsliced AES against native's 64-bit)";
  }
  if (m.direct && m.no_epoch && m.direct->median_us >= 1.1 * m.no_epoch->median_us) {
    s << "; epoch-interruption checks on loop back-edges (how cwasi stops a guest at its timeout; kept) cost "
      << percent(m.direct->median_us, m.no_epoch->median_us) << " — without them " << studyRatio(m.no_epoch->median_us, n)
      << " native";
  }
  if (m.direct && m.explicit_bounds) {
    s << "; no bounds checks in the code (cwasi's 4 GiB reservation + 32 MiB guard elide them; forced, they add "
      << percent(m.explicit_bounds->median_us, m.direct->median_us) << ")";
  }
  if (m.simd && std::abs(m.simd->median_us / w - 1) >= 0.1) {
    s << "; a simd128 build takes " << studyRatio(m.simd->median_us, w) << " the Wasm time ("
      << studyRatio(m.simd->median_us, n) << " native)";
  }
  if (m.fresh && m.fresh->p50_us - m.wasm->first_us >= 0.1 * m.fresh->p50_us) {
    s << "; a fresh instance per call adds " << outside(*m.fresh, *m.wasm) << " to its " << ms(m.fresh->p50_us);
  }
  if (!m.hot.empty()) s << "; perf: " << hotText(m.hot, 2);
  return s.str();
}

}  // namespace

const std::vector<std::string>& studyComputeFunctions() {
  static const std::vector<std::string> functions = {"aes",         "float-operation", "linear-equations",
                                                     "matmul",      "fuzzysearch",     "n-body",
                                                     "prime-numbers", "whatlang"};
  return functions;
}
std::string studyRatio(double a, double b) { return b > 0 ? fixed(a / b) + "×" : "—"; }
fs::path studyWasmPath(const std::string& f, const std::string& suffix) {
  return kFunctionsDir / ("study-" + f + suffix + ".wasm");
}
fs::path studyNativePath(const std::string& f, const std::string& suffix) {
  return kFunctionsDir / "native" / ("study-" + f + suffix);
}

StudyProfile profileStudy(const std::vector<std::string>& functions, bool quick) {
  StudyProfile p;
  p.ok = true;
  auto fail = [&](const std::string& what, const Error& e) {
    std::cerr << "study profile: " << what << ": " << e.message() << "\n";
    p.ok = false;
  };
  std::ostringstream csv;
  auto row = [&](const std::string& f, const std::string& c, const std::string& metric, double v) {
    csv << "profile," << f << "," << c << "," << metric << "," << fixed(v, "%.3f") << "\n";
  };
  auto record = [&](const std::string& f, const std::string& c, const CallTimes& t) {
    row(f, c, "median_us", t.median_us);
    row(f, c, "min_us", t.min_us);
    row(f, c, "first_us", t.first_us);
    row(f, c, "calls", t.calls);
  };

  auto engine = CwasidEngine::create();
  if (!engine.ok()) {
    fail("cwasid's engine", engine.error());
    return p;
  }
  const std::vector<EngineVariant> variants = {
      {"wasmtime, cwasi's settings", true, false},
      {"epoch interruption off", false, false},
      {"explicit bounds checks (reservation 0)", true, true}};
  auto tmp = makeTempDir("cwasi-study-profile");
  std::map<std::string, Measured> res;
  for (const auto& f : functions) {
    Measured& m = res[f];
    // Calls per case: enough for ~1.5 s of Wasm per case (at least 3), from a
    // first run of 2; 2 calls when quick. The engine variants only for calls
    // under 0.2 s (float-operation's 2 s would take a minute).
    const std::string request = requestFor(f, quick);
    int calls = 2;
    bool variants_too = !quick;
    if (!quick) {
      auto probe = (*engine)->repeat(studyWasmPath(f), request, 2);
      if (!probe.ok()) {
        fail(f + " (Wasm)", probe.error());
        continue;
      }
      calls = static_cast<int>(std::clamp(1.5e6 / std::max(probe->median_us, 1.0), 3.0, 2000.0));
      variants_too = probe->median_us < 2e5;
    }
    std::cerr << "study profile: " << f << " (" << calls << " calls per case)\n";
    auto measure = [&](const std::string& c, Result<CallTimes> r, std::optional<CallTimes>& into) {
      if (!r.ok()) return fail(f + " (" + c + ")", r.error());
      record(f, c, *r);
      into = *r;
    };
    measure("native", runNative(studyNativePath(f), request, calls), m.native);
    measure("wasm", (*engine)->repeat(studyWasmPath(f), request, calls), m.wasm);
    measure("wasm-simd128", (*engine)->repeat(studyWasmPath(f, "-simd128"), request, calls), m.simd);
    if (f == "float-operation") {
      measure("native-musl-math", runNative(studyNativePath(f, "-musl-math"), request, calls), m.musl_math);
    }
    if (f == "aes") measure("native-aes-soft", runNative(studyNativePath(f, "-soft"), request, calls), m.aes_soft);
    if (variants_too) {
      measure("wasmtime", runWasmtime(variants[0], studyWasmPath(f), request, calls), m.direct);
      measure("wasmtime-no-epoch", runWasmtime(variants[1], studyWasmPath(f), request, calls), m.no_epoch);
      measure("wasmtime-explicit-bounds", runWasmtime(variants[2], studyWasmPath(f), request, calls), m.explicit_bounds);
    }
    const double first_us = m.wasm ? m.wasm->first_us : 1e6;
    const int fresh_calls = quick ? 2 : static_cast<int>(std::clamp(0.5e6 / std::max(first_us, 1.0), 2.0, 50.0));
    auto fresh = (*engine)->freshInstances(studyWasmPath(f), request, fresh_calls);
    if (!fresh.ok()) {
      fail(f + " (fresh instances)", fresh.error());
    } else {
      m.fresh = *fresh;
      row(f, "wasm-fresh-instance", "p50_us", fresh->p50_us);
      row(f, "wasm-fresh-instance", "calls", static_cast<double>(fresh->n));
    }
  }

  // perf profiles of the two largest in-process gaps (not when quick).
  std::vector<std::string> worst;
  for (const auto& [f, m] : res) {
    if (m.native && m.wasm) worst.push_back(f);
  }
  std::sort(worst.begin(), worst.end(), [&](const std::string& a, const std::string& b) {
    return res[a].wasm->median_us / res[a].native->median_us > res[b].wasm->median_us / res[b].native->median_us;
  });
  if (worst.size() > 2) worst.resize(2);
  if (!quick && tmp.ok()) {
    for (const auto& f : worst) {
      int calls = static_cast<int>(std::clamp(2e6 / res[f].wasm->median_us, 3.0, 2000.0));
      auto hot = perfTop(studyWasmPath(f), calls, *tmp);
      if (!hot.ok()) {
        fail(f + " (perf)", hot.error());
        continue;
      }
      res[f].hot = *hot;
      for (const auto& h : *hot) row(f, "wasm-perf", "percent:" + h.symbol, h.percent);
    }
  }
  if (tmp.ok()) {
    std::error_code ec;
    fs::remove_all(*tmp, ec);
  }

  std::ostringstream md;
  md << "## 2b. Where the compute time goes\n\n"
     << "Each function's handler (parse, compute, serialize; default request) timed inside one process, "
        "many calls (`--repeat N`, the same Rust source in both builds): natively, and in one Wasm instance "
        "of cwasi's runtime with cwasid's engine (Cranelift speed, epoch interruption, pooling allocator, 4 GiB "
        "reservation + 32 MiB guard). No process start, instantiation, gateway or HTTP: this ratio is the "
        "compute's. Median per call (min in the CSV); *first* = the first call in a fresh instance. "
        << (quick ? "Quick run (a smoke test, not a measurement): 2 calls per case, float-operation at n = 10^6, no engine variants, no perf.\n\n" : "\n\n")
     << "| function | native | Wasm | Wasm / native | within " << kStudyComputeGoal << "× | Wasm simd128 | simd128 / native | "
        "Wasm first call | fresh instance per call | of it outside the handler |\n"
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
  for (const auto& f : functions) {
    const Measured& m = res[f];
    auto cell = [](const std::optional<CallTimes>& t) { return t ? ms(t->median_us) : std::string("—"); };
    md << "| " << f << " | " << cell(m.native) << " | " << cell(m.wasm) << " | "
       << (m.native && m.wasm ? studyRatio(m.wasm->median_us, m.native->median_us) : "—") << " | "
       << (m.native && m.wasm ? (m.wasm->median_us <= kStudyComputeGoal * m.native->median_us ? "yes" : "no") : "—") << " | "
       << cell(m.simd) << " | "
       << (m.native && m.simd ? studyRatio(m.simd->median_us, m.native->median_us) : "—") << " | "
       << (m.wasm ? ms(m.wasm->first_us) : "—") << " | " << (m.fresh ? ms(m.fresh->p50_us) : "—") << " | "
       << (m.fresh && m.wasm ? outside(*m.fresh, *m.wasm) : "—") << " |\n";
  }
  md << "\n*fresh instance per call*: instantiate (cwasid's pool), WASI start-up, the handler on fresh memory, "
        "tear-down, in-process; *outside the handler* = that minus the first call's handler time. cwasid adds "
        "its HTTP gateway on top.\n\n"
     << "Attribution variants (median per call):\n\n"
     << "| function | variant | per call | vs native | vs Wasm |\n|---|---|---:|---:|---:|\n";
  for (const auto& f : functions) {
    const Measured& m = res[f];
    auto line = [&](const std::string& name, const std::optional<CallTimes>& t) {
      if (!t) return;
      md << "| " << f << " | " << name << " | " << ms(t->median_us) << " | "
         << (m.native ? studyRatio(t->median_us, m.native->median_us) : "—") << " | "
         << (m.wasm ? studyRatio(t->median_us, m.wasm->median_us) : "—") << " |\n";
    };
    line("native, musl's sin/cos (`libm` crate, as wasi-libc)", m.musl_math);
    line("native, software AES (`--cfg aes_force_soft`)", m.aes_soft);
    line("Wasmtime C API, cwasi's settings", m.direct);
    line("… epoch interruption off", m.no_epoch);
    line("… explicit bounds checks (memory reservation 0)", m.explicit_bounds);
  }
  bool any_hot = false;
  for (const auto& f : functions) any_hot |= !res[f].hot.empty();
  if (any_hot) {
    md << "\nperf (`perf record` of `cwasi run MODULE --repeat N` with `CWASI_PROFILER=perfmap`), self time:\n\n";
    for (const auto& f : functions) {
      if (!res[f].hot.empty()) md << "- " << f << ": " << hotText(res[f].hot, 5) << "\n";
    }
  }
  md << "\nWhere the time goes:\n\n";
  for (const auto& f : functions) {
    p.where[f] = explain(f, res[f]);
    md << "- **" << f << "**: " << p.where[f] << ".\n";
  }
  p.markdown = md.str();
  p.csv = csv.str();
  return p;
}

}  // namespace cwasi::bench

namespace cwasi::bench {

int studyProfileBench(const BenchOptions& options) {
  StudyProfile p = profileStudy(studyComputeFunctions(), options.quick);
  std::cout << p.markdown;
  if (!options.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    std::ofstream(options.out_dir / "study-profile.md") << p.markdown;
    std::ofstream(options.out_dir / "study-profile.csv") << "kind,function,case,metric,value\n" << p.csv;
  }
  return p.ok ? 0 : 1;
}

}  // namespace cwasi::bench
