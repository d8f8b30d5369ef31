#include "support/wasi_test.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "cwasi/common/files.h"

namespace cwasi::testing {
namespace fs = std::filesystem;

fs::path functionPath(const std::string& name) {
  return fs::path(CWASI_FUNCTIONS_DIR) / (name + ".wasm");
}
fs::path binPath(const std::string& name) { return fs::path(CWASI_BIN_DIR) / name; }
fs::path sourcePath(const std::string& rel) { return fs::path(CWASI_SOURCE_DIR) / rel; }

runtime::Engine& sharedEngine() {
  static runtime::Engine* engine = [] {
    runtime::EngineConfig c;
    c.fuel = true;
    c.max_instances = 64;
    auto e = runtime::Engine::create(c);
    if (!e.ok()) {
      ADD_FAILURE() << "engine: " << e.error().toString();
      std::abort();
    }
    return e->release();  // lives for the whole test process
  }();
  return *engine;
}

WasiResult WasiTest::run() {
  runtime::Engine& eng = engine_ ? *engine_ : sharedEngine();
  WasiResult r;
  auto module = eng.loadFile(functionPath(function_));
  if (!module.ok()) {
    ADD_FAILURE() << "cannot load " << function_ << ": " << module.error().toString();
    r.error = module.error();
    return r;
  }
  runtime::RunContext c;
  c.args = {function_ + ".wasm"};
  c.args.insert(c.args.end(), args_.begin(), args_.end());
  c.env = env_;
  c.preopens = dirs_;
  c.limits = limits_;
  c.cancel = cancel_;
  c.error_output = runtime::OutputCapture{};
  auto inv = runtime::invoke(eng, *module, std::move(c),
                             {reinterpret_cast<const uint8_t*>(input_.data()), input_.size()});
  if (!inv.ok()) {
    r.error = inv.error();
    return r;
  }
  r.exit_code = inv->status;
  r.out.assign(inv->body.begin(), inv->body.end());
  r.err = inv->stderr_text;
  return r;
}

TempDir::TempDir() {
  auto p = makeTempDir("cwasi-test-");
  if (!p.ok()) std::abort();
  path_ = *p;
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void writeText(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

std::string readText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace cwasi::testing
