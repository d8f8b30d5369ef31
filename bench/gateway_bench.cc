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
#include "cwasi/node/http_server.h"
#include "testbed/child_process.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

fs::path fn(const std::string& name) { return fs::path(CWASI_FUNCTIONS_DIR) / (name + ".wasm"); }

std::string fixed(double v, const char* fmt = "%.2f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

double toUs(double v, const std::string& unit) {
  if (unit == "us") return v;
  if (unit == "ms") return v * 1e3;
  if (unit == "s") return v * 1e6;
  return v / 1e3;  // ns
}

struct WrkResult {
  Summary s;
  double rps = 0;
  bool ok = false;
  long errors = 0;
};

// wrk --latency: 50/75/90/99th percentiles, mean, requests/sec.
WrkResult wrk(const std::string& url, int connections, int threads, int seconds) {
  WrkResult w;
  SubprocessOptions o;
  o.argv = {"wrk", "-t" + std::to_string(threads), "-c" + std::to_string(connections),
            "-d" + std::to_string(seconds) + "s", "--latency", url};
  o.timeout = std::chrono::seconds(seconds + 30);
  auto r = runSubprocess(o);
  if (!r.ok() || r->exit_code != 0) {
    std::cerr << "wrk failed: " << (r.ok() ? r->err : r.error().message()) << "\n";
    return w;
  }
  const std::string& out = r->out;
  std::smatch m;
  auto pct = [&](const char* p) {
    std::regex re(std::string("\\s") + p + "%\\s+([0-9.]+)(us|ms|s)\\b");
    return std::regex_search(out, m, re) ? toUs(std::stod(m[1]), m[2]) : 0.0;
  };
  w.s.p50_us = pct("50");
  w.s.p90_us = pct("90");
  w.s.p99_us = pct("99");
  if (std::regex_search(out, m, std::regex("Latency\\s+([0-9.]+)(us|ms|s)"))) {
    w.s.mean_us = toUs(std::stod(m[1]), m[2]);
  }
  if (std::regex_search(out, m, std::regex("([0-9]+) requests in"))) w.s.n = std::stoul(m[1]);
  if (std::regex_search(out, m, std::regex("Requests/sec:\\s+([0-9.]+)"))) w.rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex("Non-2xx or 3xx responses: ([0-9]+)"))) w.errors = std::stol(m[1]);
  w.ok = w.s.n > 0 && w.errors == 0;
  if (!w.ok) std::cerr << "wrk against " << url << ":\n" << out;
  return w;
}

Result<node::HttpResponse> fetch(const std::string& base, const std::string& method,
                                 const std::string& target, const std::string& body,
                                 const std::string& token = "") {
  TRY_ASSIGN(auto url, node::parseHttpUrl(base + target));
  node::Headers h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return node::httpFetch(url, method, h, body, 30s);
}

}  // namespace

int gatewayBench(const BenchOptions& o) {
  const int seconds = o.quick ? 1 : 10;
  const int cold_n = o.quick ? 5 : 300;
  const int wf_n = o.quick ? 5 : 1000;
  auto dir = makeTempDir("cwasi-bench-gw-");
  if (!dir.ok()) return 1;
  std::vector<Row> rows;

  // nginx, returning the same bytes.
  const int nginx_port = testbed::freePort();
  const std::string conf = "worker_processes auto; daemon off; pid " + (*dir / "nginx.pid").string() +
                           "; error_log " + (*dir / "nginx.err").string() +
                           ";\nevents { worker_connections 1024; }\nhttp { access_log off; "
                           "server { listen 127.0.0.1:" + std::to_string(nginx_port) +
                           "; location / { return 200 \"ok\"; } } }\n";
  if (!writeFileAtomic(*dir / "nginx.conf", {reinterpret_cast<const uint8_t*>(conf.data()), conf.size()}).ok()) {
    return 1;
  }
  auto nginx = testbed::ChildProcess::start(
      {"nginx", "-p", dir->string(), "-c", (*dir / "nginx.conf").string()});
  if (!nginx.ok()) {
    std::cerr << "cannot start nginx: " << nginx.error().message() << "\n";
    return 1;
  }

  auto daemon = testbed::ChildProcess::start(
      {(fs::path(CWASI_BIN_DIR) / "cwasid").string(), "--gateway", "127.0.0.1:0", "--state-dir",
       (*dir / "state").string(), "--runtime-dir", (*dir / "run").string()},
      {{"CWASI_CACHE_DIR", (*dir / "cache").string()}});
  if (!daemon.ok()) return 1;
  auto line = daemon->readLine(30s);
  std::smatch m;
  std::string text = line.value_or("");
  if (!std::regex_search(text, m, std::regex("gateway=(http://[0-9.:]+)"))) {
    std::cerr << "cwasid did not start: " << text << "\n";
    return 1;
  }
  const std::string gw = m[1];
  auto token_bytes = readFile(*dir / "state" / "token");
  if (!token_bytes.ok()) return 1;
  std::string token(token_bytes->begin(), token_bytes->end());
  token.erase(token.find_last_not_of("\n ") + 1);

  for (const char* f : {"noop", "upper"}) {
    auto r = fetch(gw, "POST", "/system/functions",
                   json{{"service", f}, {"image", fn(f).string()}, {"maxScale", 100}}.dump(), token);
    if (!r.ok() || r->status != 202) {
      std::cerr << "deploy " << f << " failed\n";
      return 1;
    }
  }
  // Wait until nginx answers.
  for (int i = 0; i < 100; ++i) {
    auto r = fetch("http://127.0.0.1:" + std::to_string(nginx_port), "GET", "/", "");
    if (r.ok() && r->status == 200) break;
    std::this_thread::sleep_for(50ms);
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

  daemon->stop();
  nginx->stop();
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
