// cwasi-bench kubernetes: Wasm pods (cwasi) against static native pods
// (runc) on the same local cluster, side by side in one run — apply a
// Deployment → every pod Ready, and → the first HTTP response, for N = 1 and
// N = 10 replicas; memory per running pod. The cluster is driven with the
// real kubectl by bench/kubernetes_bench.sh, which prints raw samples; this
// file summarises them next to the published figures.
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "bench.h"
#include "cwasi/common/subprocess.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// What a measuring script printed: samples per group and case, in order.
struct ScriptSamples {
  std::map<std::string, std::map<std::string, std::vector<std::chrono::nanoseconds>>> samples;
  std::vector<std::string> order;  // groups as first seen
  std::map<std::string, long> mem;
};

// Runs bench/SCRIPT BUILD_DIR REPS and parses its "SAMPLE group|case|ms"
// and "MEM case|KiB" lines; nothing when it failed (said on stderr).
std::optional<ScriptSamples> runScript(const std::string& script, const BenchOptions& o) {
  const fs::path build = fs::path(CWASI_BIN_DIR).parent_path();
  SubprocessOptions run;
  run.argv = {"bash", std::string(CWASI_SOURCE_DIR) + "/bench/" + script, build.string(), o.quick ? "1" : "5"};
  run.timeout = std::chrono::minutes(40);
  auto r = runSubprocess(run);
  if (!r.ok() || r->exit_code != 0) {
    std::cerr << script << " failed: " << (r.ok() ? r->err : r.error().toString()) << "\n";
    return std::nullopt;
  }
  ScriptSamples s;
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line.substr(line.find(' ') + 1));
    std::string a, b, c;
    std::getline(in, a, '|');
    std::getline(in, b, '|');
    std::getline(in, c);
    if (line.rfind("SAMPLE ", 0) == 0) {
      if (!s.samples.contains(a)) s.order.push_back(a);
      s.samples[a][b].push_back(std::chrono::milliseconds(std::stol(c)));
    } else if (line.rfind("MEM ", 0) == 0) {
      s.mem[a] = std::stol(b);
    }
  }
  return s;
}

// Per group, runc's row (the baseline) then cwasi's, compared.
std::vector<Row> runcAgainstCwasi(ScriptSamples& s, const std::string& runc_case, const std::string& cwasi_case) {
  std::vector<Row> rows;
  for (const auto& group : s.order) {
    Summary runc = summarize(s.samples[group]["runc"]);
    Summary wasm = summarize(s.samples[group]["cwasi"]);
    rows.push_back({group, runc_case, runc, "baseline"});
    rows.push_back({group, cwasi_case, wasm, fixed(runc.p50_us / wasm.p50_us) + "x faster than runc"});
  }
  return rows;
}

}  // namespace

int kubernetesBench(const BenchOptions& o) {
  auto s = runScript("kubernetes_bench.sh", o);
  if (!s) return 1;
  std::vector<Row> rows =
      runcAgainstCwasi(*s, "runc: static native HTTP server", "cwasi: hello.wasm behind CWASI_HTTP_PORT");
  std::ostringstream header;
  header << "# cwasi-bench kubernetes\n\n"
         << (o.quick ? "Quick smoke run. " : "")
         << "One local node (scripts/cluster.sh), containerd 1.6 with the runc and cwasi handlers, "
            "no readiness probes (Ready = the containers started, as kubelet reports it after its "
            "relist, about every second); the first response is polled on each IP that CNI "
            "hands out. Times include kubectl's own.\n\n"
         << "Memory per running pod (its cgroup's usage, N = 10): runc " << s->mem["runc"]
         << " KiB, cwasi " << s->mem["cwasi"] << " KiB (the pod's shim with its engine).\n\n"
         << "Published (JNSM 2023): Wasm pods start in 0.80-0.84 s, containers in 1.70-1.74 s. "
            "Goal: Wasm pods Ready and answering >= 3x faster than runc, p50 <= 0.5 s.\n\n";
  std::cout << header.str() << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "kubernetes", header.str(), rows)) return 1;
  return 0;
}

int operatorBench(const BenchOptions& o) {
  auto s = runScript("operator_bench.sh", o);
  if (!s) return 1;
  std::vector<Row> rows = runcAgainstCwasi(
      *s, "runc: Deployment + Service (static native HTTP server, readiness probe 1 s)",
      "cwasi: Function (hello.wasm) through the operator");
  std::ostringstream header;
  header << "# cwasi-bench operator\n\n"
         << (o.quick ? "Quick smoke run. " : "")
         << "One local node with cwasi's stack (make cluster: operator, node agent). A Function "
            "goes apply -> operator -> Deployment + Service -> kubelet -> shim; the baseline is the "
            "same objects written by hand for a native runc pod, with the same readiness probe "
            "(httpGet, 1 s period). The first response is polled with curl on the Service's "
            "ClusterIP (kube-proxy must have programmed it), read with kubectl once it exists. "
            "Times include kubectl's own. kube-proxy keeps its default minSyncPeriod (1 s): a pod "
            "that turns ready within 1 s of its Service's creation reaches iptables 1 s after "
            "that creation, for either runtime.\n\n"
         << "Goal: apply -> first response <= 1 s p50 (Wasm).\n\n";
  std::cout << header.str() << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "operator", header.str(), rows)) return 1;
  return 0;
}

}  // namespace cwasi::bench
