#include "servers.h"

#include <dirent.h>

#include <cstdio>
#include <iostream>
#include <regex>
#include <thread>

#include "cwasi/common/files.h"
#include "cwasi/http/client.h"
#include "cwasi/common/subprocess.h"

namespace cwasi::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string fixed(double v, const char* fmt) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

namespace {

double toUs(double v, const std::string& unit) {
  if (unit == "us") return v;
  if (unit == "ms") return v * 1e3;
  if (unit == "s") return v * 1e6;
  return v / 1e3;  // ns
}

}  // namespace

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

Result<http::HttpResponse> fetch(const std::string& base, const std::string& method,
                                 const std::string& target, const std::string& body,
                                 const std::string& token) {
  TRY_ASSIGN(auto url, http::parseUrl(base + target));
  http::Headers h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return http::httpFetch(url, method, h, body, 30s);
}


Result<Nginx> startNginx(const fs::path& dir, const std::string& locations, int worker_connections) {
  const int port = testbed::freePort();
  const std::string conf =
      "worker_processes auto; daemon off; worker_rlimit_nofile " +
      std::to_string(2 * worker_connections + 64) + "; pid " + (dir / "nginx.pid").string() +
      "; error_log " + (dir / "nginx.err").string() + ";\nevents { worker_connections " +
      std::to_string(worker_connections) + "; }\nhttp { access_log off; client_body_temp_path " +
      (dir / "nginx-body").string() + "; server { listen 127.0.0.1:" + std::to_string(port) +
      "; " + locations + " } }\n";
  TRY(writeFileAtomic(dir / "nginx.conf", {reinterpret_cast<const uint8_t*>(conf.data()), conf.size()}));
  TRY_ASSIGN(testbed::ChildProcess p, testbed::ChildProcess::start(
                                          {"nginx", "-p", dir.string(), "-c",
                                           (dir / "nginx.conf").string()}));
  for (int i = 0; i < 100; ++i) {
    auto r = fetch("http://127.0.0.1:" + std::to_string(port), "GET", "/", "");
    if (r.ok()) return Nginx{std::move(p), port};
    std::this_thread::sleep_for(50ms);
  }
  return unavailable("nginx did not answer on port " + std::to_string(port));
}

Result<Cwasid> startCwasid(const fs::path& dir, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {(fs::path(CWASI_BIN_DIR) / "cwasid").string(), "--gateway",
                                   "127.0.0.1:0", "--state-dir", (dir / "state").string(),
                                   "--runtime-dir", (dir / "run").string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  TRY_ASSIGN(testbed::ChildProcess p,
             testbed::ChildProcess::start(argv, {{"CWASI_CACHE_DIR", (dir / "cache").string()}}));
  const std::string line = p.readLine(30s).value_or("");
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("gateway=(http://[0-9.:]+)"))) {
    return unavailable("cwasid did not start: " + line);
  }
  Cwasid c{std::move(p), m[1], ""};
  TRY_ASSIGN(std::vector<uint8_t> token, readFile(dir / "state" / "token"));
  c.token.assign(token.begin(), token.end());
  c.token.erase(c.token.find_last_not_of("\n ") + 1);
  return c;
}

ProcessUse processUse(int pid) {
  ProcessUse u;
  u.rss_kib = testbed::procStatus(pid, "VmRSS");
  u.threads = testbed::procStatus(pid, "Threads");
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = ::readdir(d)) u.fds += e->d_name[0] != '.';
    ::closedir(d);
  }
  return u;
}

}  // namespace cwasi::bench
