// cwasi-bench operator-scale: the operator's reconcile throughput at 1,000
// Functions. test/kubernetes/scale_test.sh brings up its own control plane
// with kwok's fake nodes (no kubelet: what is measured is the operator and
// the API server it writes to, not pods starting), creates the Functions,
// waits for every one to be Ready, then SIGKILLs the operator half-way
// through 1,000 more and restarts it. This file runs it at --workers 8 and
// --workers 1 and summarises the "SCALE key=value ..." line it prints.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "bench.h"
#include "cwasi/common/subprocess.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;

struct ScaleRun {
  int workers = 0;
  std::string load;                      // /proc/loadavg before the run (a shared machine)
  std::map<std::string, std::string> v;  // the script's "SCALE key=value ..." line
  std::string table;                     // its own Markdown table (CWASI_SCALE_OUT)
};

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the scale test at WORKERS; nothing when it failed (said on stderr).
std::optional<ScaleRun> runScale(int workers, bool quick) {
  ScaleRun run{.workers = workers};
  std::istringstream loadavg(readFile("/proc/loadavg"));
  std::string l1, l5, l15;
  loadavg >> l1 >> l5 >> l15;
  run.load = l1 + " " + l5 + " " + l15;
  const fs::path table = fs::temp_directory_path() / ("cwasi-operator-scale-" + std::to_string(getpid()) + ".md");
  SubprocessOptions opts;
  // timeout(1) sends SIGTERM first, so the script's trap still stops the
  // control plane it started; its own limit is 600 s per phase.
  opts.argv = {"timeout", "--kill-after=60", "3000", "bash",
               std::string(CWASI_SOURCE_DIR) + "/test/kubernetes/scale_test.sh",
               fs::path(CWASI_BIN_DIR).parent_path().string()};
  opts.env = {{"CWASI_SCALE_WORKERS", std::to_string(workers)}, {"CWASI_SCALE_OUT", table.string()}};
  if (quick) {
    opts.env.push_back({"CWASI_SCALE_FUNCTIONS", "100"});
    opts.env.push_back({"CWASI_SCALE_NODES", "10"});
  }
  opts.timeout = std::chrono::minutes(52);
  auto r = runSubprocess(opts);
  run.table = readFile(table);
  std::error_code ec;
  fs::remove(table, ec);
  if (!r.ok() || r->exit_code != 0) {
    std::cerr << "scale_test.sh --workers " << workers << " failed:\n"
              << (r.ok() ? r->out + r->err : r.error().toString()) << "\n";
    return std::nullopt;
  }
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("SCALE ", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    for (std::string kv; fields >> kv;) {
      if (auto eq = kv.find('='); eq != std::string::npos) run.v[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  if (!run.v.contains("ready_s")) {
    std::cerr << "scale_test.sh printed no SCALE line:\n" << r->out << "\n";
    return std::nullopt;
  }
  return run;
}

}  // namespace

int operatorScaleBench(const BenchOptions& o) {
  // --workers 8 is the measured configuration; 1 shows what the workers buy.
  std::vector<int> workers = o.quick ? std::vector<int>{8} : std::vector<int>{8, 1};
  std::vector<ScaleRun> runs;
  for (int w : workers) {
    auto run = runScale(w, o.quick);
    if (!run) return 1;
    runs.push_back(std::move(*run));
  }
  const auto& first = runs.front().v;
  const std::string n = first.at("functions");
  std::ostringstream md;
  md << "# cwasi-bench operator-scale\n\n"
     << "Produced by `cwasi-bench operator-scale" << (o.quick ? " --quick" : "")
     << (o.out_dir.empty() ? "" : " --out " + o.out_dir.string()) << "`, which runs `CWASI_SCALE_WORKERS=W "
     << "CWASI_SCALE_OUT=FILE test/kubernetes/scale_test.sh BUILD_DIR` for W in";
  for (const auto& r : runs) md << " " << r.workers;
  md << ". " << (o.quick ? "Quick smoke run. " : "")
     << "Its own control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler; Kubernetes "
        "v1.34.4) with kwok v0.8.0 faking "
     << first.at("nodes")
     << " nodes: kwok marks each scheduled pod Running and Ready at once, so the time measured is the "
        "operator's and the control plane's (Function -> Deployment + Service -> ReplicaSet -> pod "
        "-> Deployment status -> Function Ready), not a pod's start. "
     << n << " Functions (4 namespaces) are created by 10 parallel `kubectl create`; the clock runs from "
     << "the first create until `kubectl get fn` shows every one Ready (polled every 0.5 s). "
        "Operator CPU is user + system from /proc/PID/stat since its start, peak RSS its VmHWM. "
        "Restart: "
     << n << " more Functions; the operator gets SIGKILL once half of them are created, the rest are "
     << "created while it starts again; the clock runs until all " << 2 * std::stoi(n)
     << " are Ready, and includes the restarted operator resyncing the first " << n
     << ". One machine, 2 cores shared with the whole control plane (and whatever else runs): "
        "load average before each run is in the table.\n\n"
     << "Goal (issue): 1,000 Functions Ready in <= 60 s on kwok (100 fake nodes); an operator restart "
     << "mid-way loses nothing (the test checks every Function's Deployment, Service, ReplicaSet and pod).\n\n"
     << "| --workers | create -> all " << n << " Ready | Functions/s | operator CPU | operator peak RSS "
     << "| restart: -> all " << 2 * std::stoi(n) << " Ready | restarted operator CPU / peak RSS | load before |\n"
     << "|---:|---:|---:|---:|---:|---:|---:|---|\n";
  std::ostringstream csv;
  csv << "workers,functions,nodes,ready_s,functions_per_s,operator_cpu_s,operator_peak_rss_mb,restart_ready_s,"
         "restart_operator_cpu_s,restart_operator_peak_rss_mb\n";
  for (const auto& r : runs) {
    const auto& v = r.v;
    md << "| " << r.workers << " | " << v.at("ready_s") << " s | " << v.at("rate") << " | " << v.at("op_cpu_s")
       << " s | " << v.at("op_rss_mb") << " MB | " << v.at("restart_s") << " s | " << v.at("restart_cpu_s")
       << " s / " << v.at("restart_rss_mb") << " MB | " << r.load << " |\n";
    csv << r.workers << "," << v.at("functions") << "," << v.at("nodes") << "," << v.at("ready_s") << ","
        << v.at("rate") << "," << v.at("op_cpu_s") << "," << v.at("op_rss_mb") << "," << v.at("restart_s") << ","
        << v.at("restart_cpu_s") << "," << v.at("restart_rss_mb") << "\n";
  }
  md << "\nThe --workers " << runs.front().workers << " run in detail (the script's own table):\n\n"
     << runs.front().table;
  std::cout << md.str();
  if (o.out_dir.empty()) return 0;
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  std::ofstream mdf(o.out_dir / "operator-scale.md");
  mdf << md.str();
  std::ofstream csvf(o.out_dir / "operator-scale.csv");
  csvf << csv.str();
  return mdf.good() && csvf.good() ? 0 : 1;
}

}  // namespace cwasi::bench
