#include "cwasi/common/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cwasi::log {
namespace {

Level levelFromEnv() {
  const char* v = std::getenv("CWASI_LOG");
  if (v == nullptr) return Level::kWarn;
  if (std::strcmp(v, "error") == 0) return Level::kError;
  if (std::strcmp(v, "info") == 0) return Level::kInfo;
  if (std::strcmp(v, "debug") == 0) return Level::kDebug;
  return Level::kWarn;
}

const char* name(Level level) {
  switch (level) {
    case Level::kError: return "error";
    case Level::kWarn: return "warn";
    case Level::kInfo: return "info";
    case Level::kDebug: return "debug";
  }
  return "?";
}

}  // namespace

bool enabled(Level level) {
  static const Level threshold = levelFromEnv();
  return level <= threshold;
}

void write(Level level, std::string_view message) {
  // One fprintf per line: stdio locks the stream, so lines never interleave.
  std::fprintf(stderr, "cwasi[%d] %s: %.*s\n", static_cast<int>(getpid()), name(level),
               static_cast<int>(message.size()), message.data());
}

void RateLimited::warn(std::string_view what) {
  const uint64_t n = count_.fetch_add(1) + 1;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_ns_.load();
  if (now - last < 10'000'000'000 || !last_ns_.compare_exchange_strong(last, now)) return;
  count_.fetch_sub(n);
  write(Level::kWarn, std::string(what) + " (" + std::to_string(n) + " times since the last report)");
}

}  // namespace cwasi::log
