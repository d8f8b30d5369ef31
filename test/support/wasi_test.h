// The shared test harness: paths of what the build produced, and WasiTest, a
// builder that runs a function in an engine and returns what a test asserts
// on (runwasi's WasiTest, in C++).
//
//   auto r = WasiTest("env-args").args({"a"}).env("K", "V").run();
//   EXPECT_EQ(r.exit_code, 0);
//   EXPECT_THAT(r.out, HasSubstr("arg[1]=a"));
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::testing {

std::filesystem::path functionPath(const std::string& name);  // <functions>/<name>.wasm
std::filesystem::path binPath(const std::string& name);       // <build>/bin/<name>
std::filesystem::path sourcePath(const std::string& rel);     // <repo>/<rel>

// A process-wide engine for tests that do not care about its configuration
// (fuel on, 1 ms ticks, no cache). Tests may run it from several threads.
runtime::Engine& sharedEngine();

struct WasiResult {
  std::optional<Error> error;  // set when the invocation failed
  int exit_code = -1;          // command exit code or reactor status
  std::string out, err;
};

class WasiTest {
 public:
  explicit WasiTest(std::string function) : function_(std::move(function)) {}
  WasiTest& engine(runtime::Engine& e) { engine_ = &e; return *this; }
  WasiTest& args(std::vector<std::string> a) { args_ = std::move(a); return *this; }
  WasiTest& env(std::string k, std::string v) { env_.emplace_back(std::move(k), std::move(v)); return *this; }
  WasiTest& input(std::string s) { input_ = std::move(s); return *this; }
  WasiTest& dir(std::filesystem::path host, std::string guest) {
    dirs_.push_back({std::move(host), std::move(guest), false});
    return *this;
  }
  WasiTest& timeoutMs(int ms) { limits_.timeout = std::chrono::milliseconds(ms); return *this; }
  WasiTest& memoryMb(uint64_t mb) { limits_.memory_bytes = mb << 20; return *this; }
  WasiTest& fuel(uint64_t f) { limits_.fuel = f; return *this; }
  WasiTest& cancel(const std::atomic<bool>* flag) { cancel_ = flag; return *this; }

  // Loads the function (failing the test if it cannot) and runs it once:
  // commands with stdin = input; reactors through handle(input).
  WasiResult run();

 private:
  std::string function_;
  runtime::Engine* engine_ = nullptr;
  std::vector<std::string> args_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::string input_;
  std::vector<runtime::Preopen> dirs_;
  runtime::Limits limits_;
  const std::atomic<bool>* cancel_ = nullptr;
};

// runtime::invoke over bytes: the response, or the invocation's error.
Result<std::string> invokeBytes(runtime::Engine& engine,
                                std::shared_ptr<const runtime::Module> module,
                                runtime::RunContext context, std::string_view request);

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

void writeText(const std::filesystem::path& p, const std::string& text);
std::string readText(const std::filesystem::path& p);

}  // namespace cwasi::testing
