// Internal to the shim layer: protobuf timestamps of the current time
// (exited_at, event envelopes).
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <chrono>

namespace cwasi::shim {

inline void setNow(google::protobuf::Timestamp* ts) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

}  // namespace cwasi::shim
