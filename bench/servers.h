// The servers the gateway benchmarks run side by side, each on a free
// loopback port under a temporary dir, stopped with their owner: nginx (the
// baseline) and cwasid; wrk as the load generator; a one-shot client.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/http/message.h"
#include "stats.h"
#include "testbed/child_process.h"

namespace cwasi::bench {

// "%.2f" of `v`.
std::string fixed(double v, const char* fmt = "%.2f");

struct Nginx {
  testbed::ChildProcess process;
  int port = 0;
};
// nginx with `locations` in its one server block, answering once started.
Result<Nginx> startNginx(const std::filesystem::path& dir, const std::string& locations,
                         int worker_connections = 1024);

struct Cwasid {
  testbed::ChildProcess process;
  std::string url;    // "http://127.0.0.1:PORT"
  std::string token;  // the admin token
};
// cwasid with its state under `dir` and `flags` added.
Result<Cwasid> startCwasid(const std::filesystem::path& dir, const std::vector<std::string>& flags);

struct WrkResult {
  Summary s;
  double rps = 0;
  bool ok = false;
  long errors = 0;
};
// wrk --latency: 50/90/99th percentiles, mean, requests/sec.
WrkResult wrk(const std::string& url, int connections, int threads, int seconds);

// One request on a new connection (with the admin token when given).
Result<http::HttpResponse> fetch(const std::string& base, const std::string& method,
                                 const std::string& target, const std::string& body,
                                 const std::string& token = "");

// Resident memory (VmRSS, KiB), threads and open fds of a process.
struct ProcessUse {
  long rss_kib = 0;
  long threads = 0;
  long fds = 0;
};
ProcessUse processUse(int pid);

}  // namespace cwasi::bench
