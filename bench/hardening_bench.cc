// cwasi-bench hardening: cwasid and nginx side by side under what used to
// break cwasid — 10,000 idle connections, 100 unauthenticated 16 MiB bodies,
// 100 clients that ask for 16 MiB and do not read it — then cwasid alone
// where nginx has nothing alike (async results larger than the queue's
// budget, callbacks to a host that never answers), and their throughput on
// the everyday path (wrk).
// cwasi-bench soak: a million invocations through cwasid, its memory, threads
// and fds sampled as they go.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench.h"
#include "cwasi/common/files.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"
#include "cwasi/http/client.h"
#include "cwasi/http/server.h"
#include "servers.h"
#include "stats.h"

namespace cwasi::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A process and its children (nginx's workers), added up.
ProcessUse treeUse(int pid) {
  ProcessUse total = processUse(pid);
  for (int child : testbed::childrenOf(pid)) {
    ProcessUse u = processUse(child);
    total.rss_kib += u.rss_kib;
    total.threads += u.threads;
    total.fds += u.fds;
  }
  return total;
}

std::string mib(long kib) { return fixed(kib / 1024.0, "%.0f") + " MB"; }

int portOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// Requests, each on a new connection, timed by the client.
Summary timedRequests(const std::string& base, const std::string& method, const std::string& path,
                      int n, int* failures) {
  std::vector<std::chrono::nanoseconds> samples;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    auto r = fetch(base, method, path, "");
    samples.push_back(Clock::now() - t0);
    if (!r.ok() || r->status != 200) ++*failures;
  }
  return summarize(samples);
}

struct Server {
  std::string name;
  std::string base;       // "http://127.0.0.1:PORT"
  int pid;
  std::string ready_path;  // a normal request
  std::string method;
};

// Holds `n` idle connections to `s`, then measures it and a normal request.
bool idleConnections(const Server& s, int n, std::vector<Row>& rows) {
  const ProcessUse before = treeUse(s.pid);
  std::vector<Fd> held;
  held.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto fd = net::connectTcp({"127.0.0.1", static_cast<uint16_t>(portOf(s.base))}, net::in(5s));
    if (!fd.ok()) {
      std::cerr << s.name << ": connection " << i << ": " << fd.error().message() << "\n";
      return false;
    }
    held.push_back(std::move(*fd));
  }
  std::this_thread::sleep_for(1s);
  const ProcessUse during = treeUse(s.pid);
  int failures = 0;
  Summary normal = timedRequests(s.base, s.method, s.ready_path, 200, &failures);
  size_t still_open = 0;
  for (const Fd& fd : held) still_open += !net::peerClosed(fd.get());
  rows.push_back({std::to_string(n) + " idle connections held", s.name + " " + s.ready_path, normal,
                  std::to_string(during.threads) + " threads, RSS " + mib(during.rss_kib) + " (+" +
                      mib(during.rss_kib - before.rss_kib) + "), " + std::to_string(still_open) +
                      " held, " + std::to_string(failures) + " failed"});
  return true;
}

// `n` clients each send a 16 MiB body to a route that wants none (no
// token); the server's peak resident memory meanwhile.
void unwantedBodies(const Server& s, const std::string& path, int n, std::vector<Row>& rows) {
  const std::string body(16u << 20, 'x');
  const ProcessUse before = treeUse(s.pid);
  std::atomic<bool> done{false};
  long peak = before.rss_kib;
  std::thread sampler([&] {
    while (!done.load()) {
      peak = std::max(peak, treeUse(s.pid).rss_kib);
      std::this_thread::sleep_for(5ms);
    }
  });
  std::atomic<int> answered{0};
  std::vector<std::chrono::nanoseconds> times(static_cast<size_t>(n));
  std::vector<std::thread> clients;
  for (int i = 0; i < n; ++i) {
    clients.emplace_back([&, i] {
      const auto t0 = Clock::now();
      auto fd = net::connectTcp({"127.0.0.1", static_cast<uint16_t>(portOf(s.base))}, net::in(5s));
      if (!fd.ok()) return;
      const std::string head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n";
      (void)net::sendAll(fd->get(), {reinterpret_cast<const uint8_t*>(head.data()), head.size()},
                         net::in(10s));
      (void)net::sendAll(fd->get(), {reinterpret_cast<const uint8_t*>(body.data()), body.size()},
                         net::in(30s));
      char buf[64];
      ssize_t got = ::recv(fd->get(), buf, sizeof buf, 0);
      if (got > 12 && std::string(buf, 12).find(" 401") != std::string::npos) ++answered;
      times[static_cast<size_t>(i)] = Clock::now() - t0;
    });
  }
  for (auto& t : clients) t.join();
  done = true;
  sampler.join();
  rows.push_back({std::to_string(n) + " unauthenticated 16 MiB bodies", s.name + " POST " + path,
                  summarize(times),
                  "peak RSS " + mib(peak) + " (+" + mib(peak - before.rss_kib) + "), " +
                      std::to_string(answered.load()) + " got their 401"});
}

// Peak resident memory of a process tree while it is sampled.
class PeakRss {
 public:
  explicit PeakRss(int pid) : pid_(pid), before_(treeUse(pid).rss_kib), peak_(before_) {
    sampler_ = std::thread([this] {
      while (!done_.load()) {
        peak_ = std::max(peak_.load(), treeUse(pid_).rss_kib);
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~PeakRss() { stop(); }
  void stop() {
    done_ = true;
    if (sampler_.joinable()) sampler_.join();
  }
  std::string text() const {
    return "peak RSS " + mib(peak_.load()) + " (+" + mib(peak_.load() - before_) + ")";
  }

 private:
  const int pid_;
  const long before_;
  std::atomic<long> peak_;
  std::atomic<bool> done_{false};
  std::thread sampler_;
};

// Another client's requests while an attack runs: `n` of them, each on a
// new connection, timed by the client; those that did not get a 200 counted.
Summary othersRequests(const std::string& base, const std::string& method, const std::string& path,
                       const std::string& body, int n, int* failures) {
  std::vector<std::chrono::nanoseconds> samples;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    auto r = fetch(base, method, path, body);
    samples.push_back(Clock::now() - t0);
    if (!r.ok() || r->status != 200) ++*failures;
  }
  return summarize(samples);
}

// `n` clients each ask for a 16 MiB response and never read it (or, `read`,
// read it as it comes: what making the responses costs by itself, warm
// instances included); meanwhile another client POSTs 64 KiB bodies, timed.
void bigResponses(const Server& s, const std::string& method, const std::string& path,
                  const std::string& body, const std::string& probe_path, int n, bool read,
                  std::vector<Row>& rows) {
  PeakRss peak(s.pid);
  std::vector<Fd> held;
  std::atomic<bool> stop_reading{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < n; ++i) {
    auto fd = net::connectTcp({"127.0.0.1", static_cast<uint16_t>(portOf(s.base))}, net::in(5s));
    if (!fd.ok()) continue;
    const std::string request = method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)net::sendAll(fd->get(), {reinterpret_cast<const uint8_t*>(request.data()), request.size()},
                       net::in(5s));
    if (read) {
      readers.emplace_back([fd = fd->get(), &stop_reading] {
        std::vector<char> buf(256u << 10);
        size_t got = 0;
        while (!stop_reading.load() && got < (16u << 20)) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 100) <= 0) continue;
          const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
      });
    }
    held.push_back(std::move(*fd));
  }
  std::this_thread::sleep_for(2s);  // every response made, and stuck (or read)
  int failures = 0;
  const std::string probe(64u << 10, 'p');
  Summary others = othersRequests(s.base, "POST", probe_path, probe, 200, &failures);
  peak.stop();
  stop_reading = true;
  for (auto& t : readers) t.join();
  rows.push_back({std::to_string(n) + " clients ask for 16 MiB and " +
                      (read ? "read it" : "do not read"),
                  s.name + ": others POST 64 KiB " + probe_path, others,
                  peak.text() + ", " + std::to_string(failures) + " of 200 others failed"});
}

bool deploy(const Cwasid& d, const json& spec) {
  auto r = fetch(d.url, "POST", "/system/functions", spec.dump(), d.token);
  if (r.ok() && r->status == 202) return true;
  std::cerr << "deploying " << spec["service"] << " failed\n";
  return false;
}

// A listener that takes connections (the kernel's backlog) and never answers.
struct SilentHost {
  Fd fd = *net::listenTcp({"127.0.0.1", 0});
  std::string url() const { return "http://" + net::boundEndpoint(fd.get())->toString() + "/"; }
};

// A callback receiver: when the call `id`'s callback came.
class Receiver {
 public:
  Receiver() {
    http::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    server_ = *http::HttpServer::start(c, [this](http::HttpRequest& req) {
      MutexLock lock(mu_);
      got_[req.header("X-Call-Id")] = Clock::now();
      cv_.notifyAll();
      return http::HttpResponse::text(200, "ok");
    });
  }
  std::string url() const { return "http://" + server_->address() + "/done"; }
  std::optional<Clock::time_point> waitFor(const std::string& id, std::chrono::seconds timeout) {
    MutexLock lock(mu_);
    const auto deadline = Clock::now() + timeout;
    while (!got_.contains(id)) {
      if (!cv_.waitUntil(mu_, deadline) && !got_.contains(id)) return std::nullopt;
    }
    return got_[id];
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::map<std::string, Clock::time_point> got_ GUARDED_BY(mu_);
  std::unique_ptr<http::HttpServer> server_;  // last: stops first
};

// An async call; its X-Call-Id, empty when it was not accepted.
std::string submitAsync(const Cwasid& d, const std::string& function, const std::string& body,
                        const std::string& callback) {
  auto parsed = http::parseUrl(d.url + "/async-function/" + function);
  auto r = http::httpFetch(*parsed, "POST", {{"X-Callback-Url", callback}}, body, 10s);
  if (!r.ok() || r->status != 202) return "";
  for (const auto& [k, v] : r->headers) {
    if (k == "X-Call-Id") return v;
  }
  return "";
}

// Issue 21 #4: async calls whose results are far larger than the queue's
// budget, their callbacks going to a host that never answers (so the
// results wait); the daemon's memory, and another client's calls meanwhile.
void largeAsyncResults(const Cwasid& d, int n, std::vector<Row>& rows) {
  SilentHost silent;
  PeakRss peak(d.process.pid());
  int accepted = 0;
  for (int i = 0; i < n; ++i) accepted += !submitAsync(d, "bytes", std::to_string(32u << 20), silent.url()).empty();
  std::this_thread::sleep_for(3s);  // run, their results made
  int failures = 0;
  Summary others = othersRequests(d.url, "POST", "/function/noop", "", 200, &failures);
  peak.stop();
  rows.push_back({std::to_string(n) + " async calls with 32 MiB results, callbacks unanswered",
                  "cwasid: others POST /function/noop", others,
                  std::to_string(accepted) + " accepted, " + peak.text() + " (--async-queue-bytes 256 MiB), " +
                      std::to_string(failures) + " of 200 others failed"});
}

// Issue 21 #5: callbacks to a host that never answers, then one to a live
// receiver: how long the live one waits for its callback.
void blackHoleCallbacks(const Cwasid& d, int n, std::vector<Row>& rows) {
  SilentHost silent;
  Receiver live;
  for (int i = 0; i < n; ++i) (void)submitAsync(d, "noop", "", silent.url());
  std::vector<std::chrono::nanoseconds> waits;
  int lost = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    const std::string id = submitAsync(d, "noop", "", live.url());
    auto at = id.empty() ? std::nullopt : live.waitFor(id, 60s);
    if (!at) {
      ++lost;
      continue;
    }
    waits.push_back(*at - t0);
  }
  auto metrics = fetch(d.url, "GET", "/metrics", "");
  std::string dropped = "0";
  if (metrics.ok()) {
    const std::string key = "cwasi_async_callbacks_total{outcome=\"dropped\"} ";
    if (size_t at = metrics->body.find(key); at != std::string::npos) {
      dropped = metrics->body.substr(at + key.size(), metrics->body.find('\n', at) - at - key.size());
    }
  }
  rows.push_back({std::to_string(n) + " callbacks to a host that never answers",
                  "cwasid: another caller's call → its callback", summarize(waits),
                  std::to_string(lost) + " of 20 not delivered within 60 s; " + dropped +
                      " dropped (cwasi_async_callbacks_total)"});
}

bool deployNoop(const Cwasid& d) {
  auto r = fetch(d.url, "POST", "/system/functions",
                 json{{"service", "noop"},
                      {"image", (fs::path(CWASI_FUNCTIONS_DIR) / "noop.wasm").string()},
                      {"maxScale", 100}}
                     .dump(),
                 d.token);
  if (r.ok() && r->status == 202) return true;
  std::cerr << "deploying noop failed\n";
  return false;
}

}  // namespace

int hardeningBench(const BenchOptions& o) {
  const int idle = o.quick ? 300 : 10000;
  const int bodies = o.quick ? 10 : 100;
  const int seconds = o.quick ? 1 : 10;
  net::raiseFdLimit();
  auto dir = makeTempDir("cwasi-bench-hard-");
  if (!dir.ok()) return 1;
  std::vector<Row> rows;
  // The 16 MiB file nginx serves to clients that do not read it.
  {
    std::string big(16u << 20, 0);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    if (!writeFileAtomic(*dir / "big", {reinterpret_cast<const uint8_t*>(big.data()), big.size()}).ok()) {
      return 1;
    }
  }
  auto nginx = startNginx(*dir,
                          "client_header_timeout 60s; location / { return 200 \"ok\"; } "
                          "location = /big { alias " + (*dir / "big").string() + "; } "
                          "location /system/ { client_max_body_size 16m; return 401; }",
                          idle + 1000);
  auto daemon = startCwasid(*dir, {"--max-connections", std::to_string(idle + 1000),
                                   "--header-timeout-ms", "60000"});
  if (!nginx.ok() || !daemon.ok() || !deployNoop(*daemon)) {
    std::cerr << "cannot start the servers\n";
    return 1;
  }
  const std::string nginx_url = "http://127.0.0.1:" + std::to_string(nginx->port);
  const Server ng{"nginx", nginx_url, nginx->process.pid(), "/", "GET"};
  const Server gw{"cwasid", daemon->url, daemon->process.pid(), "/healthz", "GET"};
  const Server fn{"cwasid", daemon->url, daemon->process.pid(), "/function/noop", "POST"};
  if (!idleConnections(ng, idle, rows) || !idleConnections(gw, idle, rows) ||
      !idleConnections(fn, idle, rows)) {
    return 1;
  }
  unwantedBodies(ng, "/system/functions", bodies, rows);
  unwantedBodies(gw, "/system/functions", bodies, rows);
  // The same 16 MiB each: nginx sends a file, cwasid a function's answer.
  bigResponses(ng, "GET", "/big", "", "/", bodies, false, rows);
  const std::string functions = CWASI_FUNCTIONS_DIR;
  if (!deploy(*daemon, {{"service", "bytes"},
                        {"image", (fs::path(functions) / "bytes.wasm").string()},
                        {"limits", {{"memory", "160Mi"}}},
                        {"maxScale", 100}}) ||
      !deploy(*daemon, {{"service", "upper"}, {"image", (fs::path(functions) / "upper.wasm").string()}})) {
    return 1;
  }
  // Read first: its peak is what making the responses costs (the function's
  // warm instances keep their memory); then unread, on top of that.
  for (bool read : {true, false}) {
    bigResponses(gw, "POST", "/function/bytes", std::to_string(16u << 20), "/function/upper", bodies,
                 read, rows);
  }
  largeAsyncResults(*daemon, o.quick ? 4 : 30, rows);
  blackHoleCallbacks(*daemon, o.quick ? 20 : 1200, rows);

  for (int conns : {1, 64}) {
    double nginx_rps = 0;
    const std::string group = "wrk -c" + std::to_string(conns);
    for (const auto& [name, url] : std::vector<std::pair<std::string, std::string>>{
             {"nginx: return 200 \"ok\"", nginx_url + "/"},
             {"cwasid GET /healthz", daemon->url + "/healthz"},
             {"cwasid /function/noop", daemon->url + "/function/noop"}}) {
      WrkResult w = wrk(url, conns, conns == 1 ? 1 : 2, seconds);
      if (!w.ok) return 1;
      if (nginx_rps == 0) nginx_rps = w.rps;
      rows.push_back({group, name, w.s,
                      fixed(w.rps, "%.0f") + " req/s" +
                          (nginx_rps == w.rps ? "" : ", " + fixed(100 * w.rps / nginx_rps, "%.0f") +
                                                         "% of nginx")});
    }
  }
  daemon->process.stop();
  nginx->process.stop();
  std::error_code ec;
  fs::remove_all(*dir, ec);

  const std::string header =
      "# cwasi-bench hardening\n\ncwasid and nginx side by side, one run, same 2-core machine "
      "(clients included). Idle connections: opened, held 1 s, then 200 normal requests each on "
      "a new connection, timed by the client; threads and RSS of the server (nginx: master and "
      "workers added up). Unwanted bodies: clients each send 16 MiB to a route that answers 401 "
      "without them; peak RSS sampled every 5 ms. Large responses: clients each ask for 16 MiB "
      "(nginx: a file; cwasid: the bytes function) and read it as it comes, or never read; 2 s "
      "later another client POSTs 64 KiB 200 times, timed (cwasid: read first, then unread, "
      "so that the unread row's growth is on top of the function's warm instances). Async results: calls of the bytes function answering "
      "32 MiB each, their callbacks to a host that takes the connection and never answers; 3 s "
      "later another client calls noop 200 times. Callbacks: that many async calls whose "
      "callbacks go to the silent host, then 20 calls (one at a time) whose callbacks go to a "
      "live receiver: submit to callback received. wrk: " + std::to_string(seconds) +
      " s per case. " + (o.quick ? "Quick smoke run." : "Full run.") + "\n";
  std::cout << header << "\n" << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "hardening", header, rows)) return 1;
  return 0;
}

int soakBench(const BenchOptions& o) {
  const uint64_t target = o.quick ? 20000 : 1000000;
  auto dir = makeTempDir("cwasi-bench-soak-");
  if (!dir.ok()) return 1;
  auto daemon = startCwasid(*dir, {});
  if (!daemon.ok() || !deployNoop(*daemon)) return 1;
  std::vector<Row> rows;
  const ProcessUse start = processUse(daemon->process.pid());
  rows.push_back({"soak", "after 0 invocations", {}, "RSS " + mib(start.rss_kib) + ", " +
                  std::to_string(start.fds) + " fds, " + std::to_string(start.threads) + " threads"});
  uint64_t done = 0;
  ProcessUse first{}, last{};
  while (done < target) {
    WrkResult w = wrk(daemon->url + "/function/noop", 16, 2, o.quick ? 1 : 5);
    if (!w.ok) return 1;
    done += w.s.n;
    last = processUse(daemon->process.pid());
    if (first.rss_kib == 0) first = last;
    rows.push_back({"soak", "after " + std::to_string(done) + " invocations", w.s,
                    fixed(w.rps, "%.0f") + " req/s, RSS " + mib(last.rss_kib) + ", " +
                        std::to_string(last.fds) + " fds, " + std::to_string(last.threads) +
                        " threads"});
  }
  rows.push_back({"soak", "first chunk → last", {},
                  "RSS " + mib(first.rss_kib) + " → " + mib(last.rss_kib) + " (" +
                      fixed(100.0 * (last.rss_kib - first.rss_kib) / std::max(1L, first.rss_kib),
                            "%+.1f") +
                      "%), fds " + std::to_string(first.fds) + " → " + std::to_string(last.fds) +
                      ", threads " + std::to_string(first.threads) + " → " +
                      std::to_string(last.threads)});
  daemon->process.stop();
  std::error_code ec;
  fs::remove_all(*dir, ec);
  const std::string header =
      "# cwasi-bench soak\n\n" + std::to_string(done) +
      " invocations of the noop function through cwasid (wrk -c16, chunks of " +
      (o.quick ? "1" : "5") + " s); after each chunk the daemon's RSS, open fds and threads. " +
      (o.quick ? "Quick smoke run." : "Full run.") + "\n";
  std::cout << header << "\n" << markdownTable(rows);
  if (!o.out_dir.empty() && !writeReport(o.out_dir, "soak", header, rows)) return 1;
  return 0;
}

}  // namespace cwasi::bench
