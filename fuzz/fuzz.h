// What the fuzz targets share: the input as text, and a check that stops the
// run when a decoder breaks a promise of its own (a round trip that does not
// come back, an index outside a ring) — a finding like a crash is.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace cwasi::fuzz {

inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A directory of this process's own, made at first use and removed at exit,
// for targets whose decoder reads files or sockets. In memory (/dev/shm)
// where there is one: a file rewritten per input would be flushed to disk.
inline const std::filesystem::path& scratchDir() {
  struct Dir {
    Dir() : path(base() / ("cwasi-fuzz-" + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
    static std::filesystem::path base() {
      std::error_code ec;
      return std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                           : std::filesystem::temp_directory_path();
    }
    std::filesystem::path path;
  };
  static const Dir dir;
  return dir.path;
}

[[noreturn]] inline void broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace cwasi::fuzz

#define FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::cwasi::fuzz::broken(#cond, __FILE__, __LINE__))
