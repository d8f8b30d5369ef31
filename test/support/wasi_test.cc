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
  const bool command = (*module)->kind() == runtime::FunctionKind::kCommand;
  if (command) {
    c.input = runtime::StdinBytes{std::vector<uint8_t>(input_.begin(), input_.end())};
    c.output = runtime::OutputCapture{};
  }
  auto instance = runtime::Instance::create(eng, *module, std::move(c));
  if (!instance.ok()) {
    r.error = instance.error();
    return r;
  }
  if (command) {
    auto code = (*instance)->runMain();
    if (code.ok()) r.exit_code = *code;
    else r.error = code.error();
    r.out = (*instance)->capturedStdout();
  } else {
    auto response = (*instance)->handle(
        {reinterpret_cast<const uint8_t*>(input_.data()), input_.size()});
    if (response.ok()) {
      r.exit_code = response->status;
      r.out.assign(response->body.begin(), response->body.end());
    } else {
      r.error = response.error();
    }
  }
  r.err = (*instance)->capturedStderr();
  return r;
}

Result<std::string> invokeBytes(runtime::Engine& engine,
                                std::shared_ptr<const runtime::Module> module,
                                runtime::RunContext context, std::string_view request) {
  runtime::SpanSource source({reinterpret_cast<const uint8_t*>(request.data()), request.size()});
  runtime::VectorSink sink;
  TRY(runtime::invoke(engine, std::move(module), std::move(context), source, sink));
  return std::string(sink.data.begin(), sink.data.end());
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
