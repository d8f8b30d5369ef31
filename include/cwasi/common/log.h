// Leveled logging to stderr. The level comes from CWASI_LOG
// (error|warn|info|debug; default warn) once per process; it is the one piece
// of process-wide state in cwasi, as in every logger.
#pragma once

#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace cwasi::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Whether messages at `level` are written. Thread-safe.
bool enabled(Level level);
// Writes one line "cwasi[<pid>] <level>: <message>". Thread-safe.
void write(Level level, std::string_view message);

// Logs a repeated failure (accept() out of fds, say) at most once every ten
// seconds, with how many times it happened since: a flood of failures is not
// a flood of log lines. Thread-safe.
class RateLimited {
 public:
  void warn(std::string_view what);

 private:
  std::atomic<int64_t> last_ns_{INT64_MIN / 2};
  std::atomic<uint64_t> count_{0};
};

}  // namespace cwasi::log

// CWASI_LOG(kDebug, "resolved " << name << " to " << mode): the stream
// expression is evaluated only when the level is enabled.
#define CWASI_LOG(level, stream_expr)                                    \
  do {                                                                   \
    if (::cwasi::log::enabled(::cwasi::log::Level::level)) {             \
      std::ostringstream cwasi_log_os_;                                  \
      cwasi_log_os_ << stream_expr;                                      \
      ::cwasi::log::write(::cwasi::log::Level::level, cwasi_log_os_.str()); \
    }                                                                    \
  } while (0)
