// Internal to the shim layer: wall-clock times as protobuf timestamps
// (exited_at, event envelopes).
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <chrono>

namespace cwasi::shim {

inline void setTimestamp(google::protobuf::Timestamp* ts, std::chrono::system_clock::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

inline void setNow(google::protobuf::Timestamp* ts) {
  setTimestamp(ts, std::chrono::system_clock::now());
}

}  // namespace cwasi::shim
