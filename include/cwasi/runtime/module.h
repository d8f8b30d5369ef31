// A compiled, linked function module: ready to be instantiated any number of
// times, concurrently. Immutable once loaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cwasi::runtime {

struct RuntimeInternals;

// How a function receives its request and returns its response.
enum class FunctionKind {
  // Exports `_start`: request on stdin, response on stdout (CGI/WAGI style).
  kCommand,
  // Exports `cwasi_alloc` and `cwasi_handle`: the host writes the request into
  // linear memory and reads the response from it (see sdk/c/cwasi.h).
  kReactor,
  // Neither: can be inspected but not run.
  kUnknown,
};

const char* kindName(FunctionKind kind);

struct ImportInfo {
  std::string module;
  std::string name;
  std::string type;  // "func", "memory", "table", "global", "tag"
};

struct ExportInfo {
  std::string name;
  std::string type;
};

// How the module came to be loaded: compiled, or read back from the AOT cache.
struct LoadInfo {
  bool cache_hit = false;
  bool precompiled_input = false;
  std::chrono::nanoseconds duration{0};  // compile or deserialize time
};

class Module {
 public:
  struct Impl;
  explicit Module(std::unique_ptr<Impl> impl);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const;
  // SHA-256 of the bytes it was loaded from (hex).
  const std::string& digest() const;
  // Size of the bytes it was loaded from.
  size_t sizeBytes() const;
  FunctionKind kind() const;
  const std::vector<ImportInfo>& imports() const;
  const std::vector<ExportInfo>& exports() const;
  const LoadInfo& loadInfo() const;

 private:
  friend struct RuntimeInternals;  // the runtime's own files reach Impl
  const Impl& impl() const { return *impl_; }
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::runtime
