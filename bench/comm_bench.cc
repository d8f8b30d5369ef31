// cwasi-bench comm: the CWASI experiment, reproduced and extended. Function A
// (bench-caller) sends payloads of 2–100 MB to function B, which checksums
// them and replies (and, to separate moving from working, to B = sink, which
// only answers the length); round trips of 64 B, 1 KB, 64 KB; fan-out/fan-in
// of 10 and 100. Every mode side by side in one run — embedded, local,
// remote over loopback, remote across network namespaces, and the Redis
// baseline — next to memcpy, the physical limit.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "bench.h"
#include "cwasi/common/files.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/runtime/abi.h"
#include "testbed/host_pair.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using comm::Mode;
using ns = std::chrono::nanoseconds;

fs::path fn(const std::string& name) { return fs::path(CWASI_FUNCTIONS_DIR) / (name + ".wasm"); }
constexpr uint64_t kMB = 1u << 20;

struct Setup {
  std::string label;
  Mode mode;
  bool netns = false;
};

struct Measurement {
  std::string experiment;  // "A→B checksum", "round trip", ...
  uint64_t size = 0;       // payload bytes per message
  uint64_t messages = 1;   // payloads per operation (fan-out)
  std::string mode;
  Summary s;
  double cpu_ms_per_op = 0;
};

// CPU time (user + system) of a set of processes, in milliseconds.
double cpuMs(const std::vector<pid_t>& pids) {
  double total = 0;
  static const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  for (pid_t pid : pids) {
    if (pid == getpid()) {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      total += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
      continue;
    }
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(f, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    total += (utime + stime) * tick_ms;
  }
  return total;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Runs bench-caller: `iterations` calls timed inside the guest.
Result<std::vector<ns>> guestTimedCalls(host::FunctionHost& host, char kind,
                                        const std::string& target, uint64_t size, int iterations) {
  std::string req = std::string(1, kind) + " " + target + " " + std::to_string(size) + " " +
                    std::to_string(iterations);
  auto invoked = host.invoke("bench-caller", bytes(req));
  if (!invoked.ok()) return invoked.error().withContext("bench-caller failed");
  host::Response& r = *invoked;
  if (r.body.size() < 8) return internal("bench-caller answered too little");
  int32_t status;
  uint32_t count;
  std::memcpy(&status, r.body.data(), 4);
  std::memcpy(&count, r.body.data() + 4, 4);
  if (status != 0) {
    return internal("call " + std::to_string(count) + " to " + target + " of " +
                    std::to_string(size) + " bytes ended with status " + std::to_string(status));
  }
  std::vector<ns> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t v;
    std::memcpy(&v, r.body.data() + 8 + 8 * i, 8);
    out.emplace_back(v);
  }
  return out;
}

// One fan-out/fan-in round: N workers wait, the producer sends N payloads,
// each worker forwards a digest to the collector. Timed from the producer's
// start to the collector's answer.
Result<ns> fanRound(host::FunctionHost& host, int n, uint64_t size) {
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int i = 0; i < n; ++i) {
    workers.emplace_back([&] {
      auto r = host.call("worker", bytes("work collector"));
      if (!r.ok()) ++failures;
    });
  }
  Result<std::vector<uint8_t>> collected = internal("not run");
  Clock::time_point done;
  std::thread collector([&] {
    collected = host.call("collector", bytes("collect " + std::to_string(n)));
    done = Clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them reach cwasi_recv
  auto start = Clock::now();
  auto produced = host.invoke("producer", bytes("produce " + std::to_string(n) + " " +
                                                std::to_string(size) + " worker"));
  collector.join();
  for (auto& w : workers) w.join();
  if (!produced.ok()) return internal("producer failed");
  if (!collected.ok() || failures.load() != 0) {
    return internal("fan round failed (" + std::to_string(failures.load()) + " workers failed)");
  }
  return ns(done - start);
}

std::string fmtRate(double v, const char* unit) {
  char b[48];
  if (v >= 1e6) std::snprintf(b, sizeof b, "%.2fM %s", v / 1e6, unit);
  else if (v >= 1e4) std::snprintf(b, sizeof b, "%.0f %s", v, unit);
  else std::snprintf(b, sizeof b, "%.1f %s", v, unit);
  return b;
}

std::string sizeLabel(uint64_t b) {
  if (b >= kMB) return std::to_string(b / kMB) + " MB";
  if (b >= 1024) return std::to_string(b / 1024) + " KB";
  return std::to_string(b) + " B";
}

// memcpy of `size` bytes: into pages already touched (cache/TLB warm) and
// into fresh pages (what a fresh instance's memory costs).
std::pair<Summary, Summary> memcpyLimit(uint64_t size, int iterations) {
  std::vector<uint8_t> src(size, 0x5a), dst(size, 0);
  std::vector<ns> warm, cold;
  for (int i = 0; i < iterations; ++i) {
    auto t0 = Clock::now();
    std::memcpy(dst.data(), src.data(), size);
    warm.push_back(Clock::now() - t0);
    void* fresh = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    t0 = Clock::now();
    std::memcpy(fresh, src.data(), size);
    cold.push_back(Clock::now() - t0);
    ::munmap(fresh, size);
  }
  return {summarize(warm), summarize(cold)};
}

}  // namespace

int commBench(const BenchOptions& o) {
  const std::vector<uint64_t> sizes =
      o.quick ? std::vector<uint64_t>{2 * kMB, 10 * kMB}
              : std::vector<uint64_t>{2 * kMB, 10 * kMB, 30 * kMB, 60 * kMB, 100 * kMB};
  auto itersFor = [&](uint64_t size) {
    if (o.quick) return 3;
    return size <= 2 * kMB ? 40 : size <= 10 * kMB ? 20 : size <= 30 * kMB ? 10 : 6;
  };
  const std::vector<uint64_t> rt_sizes = {64, 1024, 64 * 1024};
  const int rt_iters = o.quick ? 30 : 3000;
  const std::vector<int> fans = {10, 100};
  const uint64_t fan_size = kMB;
  const int fan_reps = o.quick ? 1 : 5;

  auto work = makeTempDir("cwasi-bench-comm-");
  if (!work.ok()) return 1;
  auto redis = testbed::RedisProcess::start();
  if (!redis.ok()) {
    std::cerr << "cwasi-bench comm: " << redis.error().message() << "\n";
    return 1;
  }
  auto link = testbed::NetnsLink::create("bench", 200 + getpid() % 50);
  if (!link.ok()) {
    std::cerr << "cwasi-bench comm: cannot create the network namespace: "
              << link.error().message() << "\n";
    return 1;
  }

  std::vector<Setup> setups = {{"embedded", Mode::kEmbedded},
                               {"local", Mode::kLocal},
                               {"remote (loopback)", Mode::kRemote},
                               {"remote (netns veth)", Mode::kRemote, true},
                               {"redis (baseline)", Mode::kRedis}};
  std::vector<Measurement> rows;
  for (const auto& setup : setups) {
    std::cerr << "cwasi-bench comm: " << setup.label << "\n";
    testbed::HostPairOptions hp;
    hp.mode = setup.mode;
    hp.cwasi_binary = fs::path(CWASI_BIN_DIR) / "cwasi";
    hp.caller_functions = {{"bench-caller", fn("bench-caller")}, {"producer", fn("fan")}};
    hp.target_functions = {{"checksum", fn("checksum")}, {"sink", fn("sink")},
                           {"echo", fn("echo")},         {"worker", fn("fan")},
                           {"collector", fn("fan")}};
    hp.work_dir = *work / setup.label.substr(0, setup.label.find(' '));
    hp.work_dir += setup.netns ? "-ns" : "";
    fs::create_directories(hp.work_dir);
    hp.token = "bench-token";
    hp.redis = redis->address();
    hp.netns = setup.netns ? &*link : nullptr;
    auto pair = testbed::HostPair::create(hp);
    if (!pair.ok()) {
      std::cerr << "cwasi-bench comm: " << setup.label << ": " << pair.error().message() << "\n";
      return 1;
    }
    host::FunctionHost& host = (*pair)->caller();
    std::vector<pid_t> pids = {getpid(), redis->pid()};
    if ((*pair)->target()) pids.push_back((*pair)->target()->pid());

    auto measure = [&](const std::string& experiment, uint64_t size, uint64_t messages,
                       auto&& run) -> bool {
      double cpu0 = cpuMs(pids);
      auto samples = run();
      double cpu1 = cpuMs(pids);
      if (!samples.ok()) {
        std::cerr << "cwasi-bench comm: " << setup.label << " " << experiment << " "
                  << sizeLabel(size) << ": " << samples.error().message() << "\n";
        return false;
      }
      Measurement m{experiment, size, messages, setup.label, summarize(*samples),
                    (cpu1 - cpu0) / static_cast<double>(samples->size())};
      rows.push_back(m);
      return true;
    };
    for (uint64_t size : sizes) {
      if (!measure("A→B: B checksums and replies", size, 1,
                   [&] { return guestTimedCalls(host, 'c', "checksum", size, itersFor(size)); })) {
        return 1;
      }
    }
    for (uint64_t size : sizes) {
      if (!measure("A→B transfer only (B answers the length)", size, 1,
                   [&] { return guestTimedCalls(host, 's', "sink", size, itersFor(size)); })) {
        return 1;
      }
    }
    for (uint64_t size : rt_sizes) {
      int iters = setup.mode == Mode::kRedis ? std::max(10, rt_iters / 6) : rt_iters;
      if (!measure("round trip (echo)", size, 1,
                   [&] { return guestTimedCalls(host, 'e', "echo", size, iters); })) {
        return 1;
      }
    }
    for (int n : fans) {
      if (!measure("fan-out/fan-in " + std::to_string(n), fan_size, static_cast<uint64_t>(n),
                   [&]() -> Result<std::vector<ns>> {
                     std::vector<ns> out;
                     for (int r = 0; r < fan_reps; ++r) {
                       TRY_ASSIGN(ns t, fanRound(host, n, fan_size));
                       out.push_back(t);
                     }
                     return out;
                   })) {
        return 1;
      }
    }
    if ((*pair)->stopTarget() != 0) std::cerr << "cwasi-bench comm: target host exited badly\n";
  }

  // The physical limit, in the same run.
  std::vector<std::pair<uint64_t, std::pair<Summary, Summary>>> limits;
  for (uint64_t size : sizes) limits.push_back({size, memcpyLimit(size, o.quick ? 3 : 10)});

  // --- Report ---
  std::map<std::pair<std::string, uint64_t>, double> redis_p50;
  for (const auto& m : rows) {
    if (m.mode.rfind("redis", 0) == 0) redis_p50[{m.experiment, m.size}] = m.s.p50_us;
  }
  std::ostringstream md, csv;
  md << "# cwasi-bench comm\n\n"
     << (o.quick ? "Quick smoke run. " : "")
     << "Latency per operation as timed inside function A (each call includes B's fresh "
        "instance). Throughput = payload bytes / p50. CPU = user+system of every process "
        "involved (caller, target host, Redis) per operation.\n\n";
  md << "| experiment | size | mode | p50 | p99 | MB/s | ops/s | CPU/op | vs redis |\n"
     << "|---|---:|---|---:|---:|---:|---:|---:|---:|\n";
  csv << "experiment,size_bytes,messages,mode,n,p50_us,p90_us,p99_us,mean_us,mb_per_s,ops_per_s,"
         "cpu_ms_per_op,speedup_vs_redis\n";
  for (const auto& m : rows) {
    double mbps = static_cast<double>(m.size * m.messages) / kMB / (m.s.p50_us / 1e6);
    double ops = 1e6 / m.s.mean_us;
    double vs = redis_p50.count({m.experiment, m.size}) ? redis_p50[{m.experiment, m.size}] / m.s.p50_us : 0;
    char cpu[32], vsb[32];
    std::snprintf(cpu, sizeof cpu, "%.2f ms", m.cpu_ms_per_op);
    std::snprintf(vsb, sizeof vsb, "%.1fx", vs);
    md << "| " << m.experiment << " | " << sizeLabel(m.size)
       << (m.messages > 1 ? " ×" + std::to_string(m.messages) : "") << " | " << m.mode << " | "
       << formatUs(m.s.p50_us) << " | " << formatUs(m.s.p99_us) << " | " << fmtRate(mbps, "")
       << " | " << fmtRate(ops, "") << " | " << cpu << " | " << (vs > 0 ? vsb : "-") << " |\n";
    char line[512];
    std::snprintf(line, sizeof line, "\"%s\",%llu,%llu,\"%s\",%zu,%.3f,%.3f,%.3f,%.3f,%.2f,%.2f,%.4f,%.3f\n",
                  m.experiment.c_str(), static_cast<unsigned long long>(m.size),
                  static_cast<unsigned long long>(m.messages), m.mode.c_str(), m.s.n, m.s.p50_us,
                  m.s.p90_us, m.s.p99_us, m.s.mean_us, mbps, ops, m.cpu_ms_per_op, vs);
    csv << line;
  }
  md << "\n## memcpy, the physical limit (same run)\n\n| size | memcpy warm p50 | memcpy into fresh pages p50 |\n|---:|---:|---:|\n";
  for (const auto& [size, l] : limits) {
    md << "| " << sizeLabel(size) << " | " << formatUs(l.first.p50_us) << " | "
       << formatUs(l.second.p50_us) << " |\n";
    char line[256];
    std::snprintf(line, sizeof line, "\"memcpy warm\",%llu,1,\"memcpy\",%zu,%.3f,%.3f,%.3f,%.3f,,,,\n"
                  "\"memcpy fresh pages\",%llu,1,\"memcpy\",%zu,%.3f,%.3f,%.3f,%.3f,,,,\n",
                  static_cast<unsigned long long>(size), l.first.n, l.first.p50_us, l.first.p90_us,
                  l.first.p99_us, l.first.mean_us, static_cast<unsigned long long>(size),
                  l.second.n, l.second.p50_us, l.second.p90_us, l.second.p99_us, l.second.mean_us);
    csv << line;
  }

  // Goals of the issue, checked against this run.
  auto p50 = [&](const std::string& exp, const std::string& mode, uint64_t size) -> double {
    for (const auto& m : rows) {
      if (m.experiment == exp && m.mode == mode && m.size == size) return m.s.p50_us;
    }
    return -1;
  };
  auto memcpyFresh = [&](uint64_t size) {
    for (const auto& [s, l] : limits) if (s == size) return l.second.p50_us;
    return -1.0;
  };
  const std::string xfer = "A→B transfer only (B answers the length)";
  const std::string chk = "A→B: B checksums and replies";
  md << "\n## Goals\n\n";
  auto goal = [&](const std::string& what, double value_us, double limit_us) {
    md << "- " << what << ": " << formatUs(value_us) << " (goal " << formatUs(limit_us) << ") — "
       << (value_us >= 0 && value_us <= limit_us ? "met" : "missed") << "\n";
  };
  for (uint64_t size : sizes) {
    goal("embedded transfer of " + sizeLabel(size) + " within 2x memcpy into fresh pages",
         p50(xfer, "embedded", size), 2 * memcpyFresh(size));
  }
  goal("local 2 MB (B checksums)", p50(chk, "local", 2 * kMB), 500);
  if (!o.quick) goal("local 100 MB (B checksums)", p50(chk, "local", 100 * kMB), 25000);
  goal("local 1 KB round trip p50", p50("round trip (echo)", "local", 1024), 20);
  for (const char* mode : {"embedded", "local", "remote (loopback)", "remote (netns veth)"}) {
    double r = p50(chk, "redis (baseline)", 2 * kMB), d = p50(chk, mode, 2 * kMB);
    md << "- " << mode << " ≥ 10x faster than Redis at 2 MB: " << (d > 0 ? r / d : 0) << "x — "
       << (d > 0 && r / d >= 10 ? "met" : "missed") << "\n";
  }

  std::cout << md.str();
  if (!o.out_dir.empty()) {
    fs::create_directories(o.out_dir);
    std::ofstream(o.out_dir / "comm.md") << md.str();
    std::ofstream(o.out_dir / "comm.csv") << csv.str();
    // Plot: p50 latency against payload size, one line per mode, from a
    // plain table (one row per size, one column per mode, then memcpy).
    std::ofstream dat(o.out_dir / "comm_plot.dat");
    for (uint64_t size : sizes) {
      dat << size / kMB;
      for (const auto& setup : setups) dat << " " << p50(chk, setup.label, size) / 1000;
      dat << " " << memcpyFresh(size) / 1000 << "\n";
    }
    dat.close();
    std::ofstream gp(o.out_dir / "comm.gnuplot");
    gp << "set terminal png size 1000,600\nset output '" << (o.out_dir / "comm.png").string()
       << "'\nset title 'A→B: B checksums and replies — p50 latency by mode'\n"
       << "set xlabel 'payload (MB)'\nset ylabel 'ms (log scale)'\nset logscale y\n"
       << "set key top left\nset grid\nplot ";
    for (size_t i = 0; i < setups.size(); ++i) {
      gp << "'" << (o.out_dir / "comm_plot.dat").string() << "' using 1:" << i + 2
         << " with linespoints lw 2 title '" << setups[i].label << "', ";
    }
    gp << "'" << (o.out_dir / "comm_plot.dat").string() << "' using 1:" << setups.size() + 2
       << " with linespoints dashtype 2 title 'memcpy into fresh pages'\n";
    gp.close();
    auto plotted = runSubprocess({.argv = {"gnuplot", (o.out_dir / "comm.gnuplot").string()}});
    if (!plotted.ok() || plotted->exit_code != 0) {
      std::cerr << "cwasi-bench comm: gnuplot failed: "
                << (plotted.ok() ? plotted->err : plotted.error().message()) << "\n";
      return 1;
    }
  }
  std::error_code ec;
  fs::remove_all(*work, ec);
  return 0;
}

}  // namespace cwasi::bench
