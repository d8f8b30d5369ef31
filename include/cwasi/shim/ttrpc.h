// ttrpc, containerd's RPC protocol for shims: protobuf messages over a unix
// socket, each in a frame with a 10-byte header (length u32 BE, stream id u32
// BE, type u8: 1 request / 2 response, flags u8), at most 4 MiB. A request
// is ttrpc's Request{service, method, payload, timeout_nano, metadata}; the
// answer a Response{status (google.rpc.Status), payload}.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/fd.h"
#include "cwasi/common/result.h"

namespace cwasi::shim {

inline constexpr uint32_t kMaxFrameBytes = 4u << 20;
inline constexpr uint8_t kFrameRequest = 1;
inline constexpr uint8_t kFrameResponse = 2;

struct Frame {
  uint32_t stream = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  std::string payload;
};

// Reads one frame; InvalidArgument for a frame over the limit, Unavailable
// when the peer closed.
Result<Frame> readFrame(int fd, std::chrono::steady_clock::time_point deadline);
Result<void> writeFrame(int fd, const Frame& frame, std::chrono::steady_clock::time_point deadline);

using Metadata = std::vector<std::pair<std::string, std::string>>;

// The one place where cwasi's errors meet ttrpc's statuses (google.rpc.Status):
// the codes are gRPC's on both sides, number for number.
struct TtrpcStatus {
  int32_t code = 0;  // google.rpc.Code; 0 = OK
  std::string message;
};
// What a server answers for a method that failed with `error`.
TtrpcStatus ttrpcStatusFor(const Error& error);
// The Error a client returns for a non-OK `status`; codes outside gRPC's
// become Unknown.
Error errorForTtrpcStatus(const TtrpcStatus& status);

// One method: the request's payload in, the response's payload out, or an
// Error that becomes the response's status (ttrpcStatusFor).
using TtrpcMethod = std::function<Result<std::string>(const std::string& payload, const Metadata&)>;

class TtrpcServer {
 public:
  TtrpcServer();
  ~TtrpcServer();  // lets answers being made go out (1 s at most), stops serving, joins

  // Registers "service/method" before serve(). Unknown methods answer
  // Unimplemented.
  void handle(const std::string& service, const std::string& method, TtrpcMethod fn);
  // Serves connections on `listener` on their own threads, until destroyed.
  void serve(Fd listener);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class TtrpcClient {
 public:
  // "unix:///path" or "/path".
  static Result<std::unique_ptr<TtrpcClient>> connect(const std::string& address,
                                                      std::chrono::milliseconds timeout);
  // One call; an Error with the server's status code when it failed.
  Result<std::string> call(const std::string& service, const std::string& method,
                           const std::string& payload, const Metadata& metadata,
                           std::chrono::milliseconds timeout);

 private:
  explicit TtrpcClient(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
  uint32_t next_stream_ = 1;
};

// "unix:///run/x.sock" -> "/run/x.sock"; plain paths pass through.
std::string socketPath(const std::string& address);

}  // namespace cwasi::shim
