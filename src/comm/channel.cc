#include "cwasi/comm/channel.h"

#include <cstring>

namespace cwasi::comm {

const char* modeName(Mode mode) {
  switch (mode) {
    case Mode::kEmbedded: return "embedded";
    case Mode::kLocal: return "local";
    case Mode::kRemote: return "remote";
    case Mode::kRedis: return "redis";
  }
  return "?";
}

const char* policyName(ModePolicy p) {
  switch (p) {
    case ModePolicy::kAuto: return "auto";
    case ModePolicy::kEmbedded: return "embedded";
    case ModePolicy::kLocal: return "local";
    case ModePolicy::kRemote: return "remote";
    case ModePolicy::kRedis: return "redis";
  }
  return "?";
}

Result<ModePolicy> parsePolicy(std::string_view text) {
  for (auto p : {ModePolicy::kAuto, ModePolicy::kEmbedded, ModePolicy::kLocal,
                 ModePolicy::kRemote, ModePolicy::kRedis}) {
    if (text == policyName(p)) return p;
  }
  return invalidArgument("unknown mode policy '" + std::string(text) +
                         "' (auto, embedded, local, remote or redis)");
}

uint32_t CallOptions::remainingMs() const {
  if (deadline == std::chrono::steady_clock::time_point::max()) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 1;  // already late: the shortest real deadline
  return left.count() > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(left.count());
}

}  // namespace cwasi::comm
