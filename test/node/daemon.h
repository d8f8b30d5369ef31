// cwasid as the tests drive it: the real daemon binary on a free port, and
// real clients (curl; our own client where many run at once).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cwasi/common/files.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/http/client.h"
#include "support/wasi_test.h"
#include "testbed/child_process.h"

namespace cwasi::node::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using cwasi::testing::binPath;
using cwasi::testing::functionPath;
using cwasi::testing::readText;

struct Reply {
  int status = 0;
  std::string body;
  std::string headers;  // curl -D output
};

// Runs curl; the status comes from -w, the headers from -D.
inline Reply curl(std::vector<std::string> args) {
  auto dir = makeTempDir("cwasi-curl-");
  EXPECT_TRUE(dir.ok());
  const std::string headers = (*dir / "h").string();
  std::vector<std::string> argv = {"curl", "-sS", "-D", headers, "-o", "-", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions o;
  o.argv = argv;
  o.timeout = 60s;
  auto r = runSubprocess(o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  Reply reply;
  const size_t nl = r->out.rfind('\n');
  reply.body = r->out.substr(0, nl);
  reply.status = std::atoi(r->out.c_str() + nl + 1);
  reply.headers = readText(headers);
  fs::remove_all(*dir);
  return reply;
}

class Daemon {
 public:
  // Starts cwasid on a free port with `state` as its state dir; `wrapper`
  // (setpriv, prlimit...) runs it.
  static std::unique_ptr<Daemon> start(const fs::path& state, std::vector<std::string> extra = {},
                                       std::vector<std::string> wrapper = {}) {
    auto d = std::unique_ptr<Daemon>(new Daemon());
    std::vector<std::string> argv = wrapper;
    argv.insert(argv.end(), {binPath("cwasid").string(), "--gateway", "127.0.0.1:0",
                                     "--state-dir", state.string(), "--runtime-dir",
                                     (state.parent_path() / "run").string(),
                                     "--scale-interval-ms", "50", "--stable-window-ms", "300"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = testbed::ChildProcess::start(argv);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
    d->process_.emplace(std::move(*p));
    auto line = d->process_->readLine(30s);
    EXPECT_TRUE(line.has_value());
    std::smatch m;
    std::string text = line.value_or("");
    EXPECT_TRUE(std::regex_search(text, m, std::regex("gateway=(http://[0-9.]+:[0-9]+)"))) << text;
    d->url = m[1];
    d->token = readText(state / "token");
    while (!d->token.empty() && d->token.back() == '\n') d->token.pop_back();
    EXPECT_EQ(d->token.size(), 48u);
    return d;
  }

  int stop() { return process_->stop(); }
  int pid() const { return process_->pid(); }
  testbed::ChildProcess& process() { return *process_; }

  // Our own client, for concurrency.
  http::HttpResponse fetch(const std::string& method, const std::string& target, const std::string& body,
                     http::Headers headers = {}, bool admin = false) {
    if (admin) headers.emplace_back("Authorization", "Bearer " + token);
    auto parsed = http::parseUrl(url_with(target));
    EXPECT_TRUE(parsed.ok());
    auto r = http::httpFetch(*parsed, method, headers, body, 60s);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : http::HttpResponse{};
  }

  Reply admin(const std::string& method, const std::string& target, const std::string& body = "") {
    std::vector<std::string> args = {"-X", method, "-H", "Authorization: Bearer " + token};
    if (!body.empty()) {
      args.push_back("--data-binary");
      args.push_back(body);
    }
    args.push_back(url_with(target));
    return curl(args);
  }

  Reply deploy(json spec, const std::string& method = "POST") {
    return admin(method, "/system/functions", spec.dump());
  }

  Reply invoke(const std::string& name, const std::string& body, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data-binary", body};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url_with("/function/" + name));
    return curl(args);
  }

  json status(const std::string& name) {
    Reply r = admin("GET", "/system/function/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  std::string metrics() { return curl({url_with("/metrics")}).body; }

  std::string url_with(const std::string& target) const { return url + target; }

  std::string url, token;

 private:
  std::optional<testbed::ChildProcess> process_;
};

inline json spec(const std::string& name, const std::string& function, json extra = json::object()) {
  json j = {{"service", name}, {"image", functionPath(function).string()}};
  j.update(extra);
  return j;
}

// A test with its own cwasid, state in a temp dir; extraFlags() for more.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = makeTempDir("cwasid-test-");
    ASSERT_TRUE(dir.ok());
    root_ = *dir;
    daemon_ = Daemon::start(root_ / "state", extraFlags());
  }
  void TearDown() override {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
    fs::remove_all(root_);
  }
  virtual std::vector<std::string> extraFlags() { return {}; }

  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
};

// The value of a metric line (labels given exactly as rendered), or -1.
inline double metric(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::atof(text.c_str() + pos + series.size() + 1);
    ++pos;
  }
  return -1;
}

}  // namespace cwasi::node::testing
