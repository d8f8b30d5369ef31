// cwasi-bench gateway: the node daemon under a real HTTP load generator (wrk),
// side by side with nginx returning the same two bytes, and with the
// gateway's own /healthz (its HTTP path without a function); cold start from
// zero replicas vs a warm invocation; a 3-step workflow vs the client making
// the 3 calls itself.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "bench.h"
#include "cwasi/common/files.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/http/server.h"
#include "testbed/child_process.h"
#include "servers.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

fs::path fn(const std::string& name) { return fs::path(CWASI_FUNCTIONS_DIR) / (name + ".wasm"); }

}  // namespace

int gatewayBench(const BenchOptions& o) {
  const int seconds = o.quick ? 1 : 10;
  const int cold_n = o.quick ? 5 : 300;
  const int wf_n = o.quick ? 5 : 1000;
  auto dir = makeTempDir("cwasi-bench-gw-");
  if (!dir.ok()) return 1;
  std::vector<Row> rows;

  auto nginx = startNginx(*dir, "location / { return 200 \"ok\"; }");
  if (!nginx.ok()) {
    std::cerr << nginx.error().message() << "\n";
    return 1;
  }
  const int nginx_port = nginx->port;
  auto daemon = startCwasid(*dir, {});
  if (!daemon.ok()) {
    std::cerr << daemon.error().message() << "\n";
    return 1;
  }
  const std::string gw = daemon->url;
  const std::string& token = daemon->token;

  for (const char* f : {"noop", "upper"}) {
    auto r = fetch(gw, "POST", "/system/functions",
                   json{{"service", f}, {"image", fn(f).string()}, {"maxScale", 100}}.dump(), token);
    if (!r.ok() || r->status != 202) {
      std::cerr << "deploy " << f << " failed\n";
      return 1;
    }
  }

  // Throughput and latency under wrk.
  struct Target {
    std::string name, url;
  };
  const std::vector<Target> targets = {
      {"nginx: return 200 \"ok\"", "http://127.0.0.1:" + std::to_string(nginx_port) + "/"},
      {"cwasid GET /healthz (no function)", gw + "/healthz"},
      {"cwasid /function/noop (Wasm instance per request)", gw + "/function/noop"},
  };
  for (int conns : {1, 64}) {
    double nginx_rps = 0;
    const std::string group = "wrk -c" + std::to_string(conns);
    for (const auto& t : targets) {
      WrkResult w = wrk(t.url, conns, conns == 1 ? 1 : 2, seconds);
      if (!w.ok) return 1;
      if (nginx_rps == 0) nginx_rps = w.rps;
      rows.push_back({group, t.name, w.s,
                      fixed(w.rps, "%.0f") + " req/s" +
                          (nginx_rps == w.rps ? "" : ", " + fixed(100 * w.rps / nginx_rps, "%.0f") + "% of nginx")});
    }
  }

  // Cold start from zero replicas vs warm, as the gateway measures it
  // (X-Duration-Seconds: admission, module load from the AOT cache,
  // instantiation, run).
  std::vector<std::chrono::nanoseconds> cold, warm, cold_client, warm_client;
  // One invocation: the gateway's and the client's timings; false on failure.
  auto timed = [&](bool want_cold, std::vector<std::chrono::nanoseconds>* server,
                   std::vector<std::chrono::nanoseconds>* client) {
    auto t0 = Clock::now();
    auto r = fetch(gw, "POST", "/function/upper", "x");
    auto elapsed = Clock::now() - t0;
    if (!r.ok() || r->status != 200 || r->body != "X") return false;
    if ((r->header("X-Cold-Start") == "true") != want_cold) {
      std::cerr << "expected a " << (want_cold ? "cold" : "warm") << " start\n";
      return false;
    }
    if (server) {
      server->push_back(std::chrono::nanoseconds(
          static_cast<int64_t>(std::stod(r->header("X-Duration-Seconds")) * 1e9)));
      client->push_back(elapsed);
    }
    return true;
  };
  for (int i = 0; i < cold_n; ++i) {
    auto s = fetch(gw, "POST", "/system/scale-function/upper", R"({"replicas": 0})", token);
    if (!s.ok() || s->status != 202) return 1;
    // Cold, then warm once the module has served a few requests.
    if (!timed(true, &cold, &cold_client)) return 1;
    for (int k = 0; k < 3; ++k) {
      if (!timed(false, nullptr, nullptr)) return 1;
    }
    if (!timed(false, &warm, &warm_client)) return 1;
  }
  Summary warm_s = summarize(warm);
  Summary cold_s = summarize(cold);
  rows.push_back({"start (server side)", "warm invocation", warm_s, "baseline"});
  rows.push_back({"start (server side)", "cold start from zero replicas", cold_s,
                  fixed(cold_s.p50_us / warm_s.p50_us) + "x warm"});
  Summary warm_c = summarize(warm_client);
  Summary cold_c = summarize(cold_client);
  rows.push_back({"start (client, new connection)", "warm invocation", warm_c, "baseline"});
  rows.push_back({"start (client, new connection)", "cold start from zero replicas", cold_c,
                  fixed(cold_c.p50_us / warm_c.p50_us) + "x warm"});

  // A 3-step workflow against the client chaining the calls itself.
  auto w = fetch(gw, "POST", "/system/workflows", "name: three\nsequence: [upper, upper, upper]\n", token);
  if (!w.ok() || w->status != 202) return 1;
  const std::string payload(1024, 'a');
  std::vector<std::chrono::nanoseconds> wf, chain;
  for (int i = 0; i < wf_n; ++i) {
    auto t0 = Clock::now();
    auto r = fetch(gw, "POST", "/workflow/three", payload);
    wf.push_back(Clock::now() - t0);
    if (!r.ok() || r->status != 200 || r->body != std::string(1024, 'A')) return 1;
    t0 = Clock::now();
    std::string data = payload;
    for (int k = 0; k < 3; ++k) {
      auto c = fetch(gw, "POST", "/function/upper", data);
      if (!c.ok() || c->status != 200) return 1;
      data = c->body;
    }
    chain.push_back(Clock::now() - t0);
  }
  Summary chain_s = summarize(chain);
  Summary wf_s = summarize(wf);
  rows.push_back({"3-step chain, 1 KB", "client makes 3 calls", chain_s, "baseline"});
  rows.push_back({"3-step chain, 1 KB", "workflow (steps embedded in cwasid)", wf_s,
                  fixed(chain_s.p50_us / wf_s.p50_us) + "x faster"});

  daemon->process.stop();
  nginx->process.stop();
  std::error_code ec;
  fs::remove_all(*dir, ec);

  std::string header =
      "# cwasi-bench gateway\n\nwrk " + std::string(o.quick ? "1 s" : "10 s") +
      " per case on the same 2-core machine as the servers (wrk's own CPU use included);"
      " nginx with worker_processes auto. Latency percentiles are wrk's (p90 column is wrk's 90%)."
      " " + (o.quick ? "Quick smoke run." : "Full run.") + "\n";
  std::cout << header << "\n" << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "gateway", header, rows)) return 1;
  return 0;
}

}  // namespace cwasi::bench
