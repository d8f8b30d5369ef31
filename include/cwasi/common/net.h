// Sockets with errors as values: TCP and unix-domain listen/connect, whole
// transfers with deadlines, fd passing. Sockets are non-blocking; transfers
// try the syscall first and poll only when it would block.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/fd.h"
#include "cwasi/common/result.h"

namespace cwasi::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline Deadline never() { return Deadline::max(); }
inline Deadline in(std::chrono::milliseconds d) { return Clock::now() + d; }

// "host:port" (IPv4 dotted quad or name; "[v6]:port" for IPv6).
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string toString() const;
};
Result<Endpoint> parseEndpoint(std::string_view text);

// Listens on `ep` (port 0 picks one); `bound` receives the actual endpoint.
Result<Fd> listenTcp(const Endpoint& ep, Endpoint* bound = nullptr, int backlog = 512);
// The address a socket is bound to.
Result<Endpoint> boundEndpoint(int fd);
// Connects with TCP_NODELAY and `buffer_bytes` socket buffers (0: system default).
Result<Fd> connectTcp(const Endpoint& ep, Deadline deadline, int buffer_bytes = 0);
// Tunes an accepted TCP socket like connectTcp does.
void tuneTcp(int fd, int buffer_bytes);

Result<Fd> listenUnix(const std::string& path, int backlog = 512);
Result<Fd> connectUnix(const std::string& path, Deadline deadline);

// Accepts one connection (non-blocking result), waiting up to `deadline`.
// Unavailable when `deadline` passes; the listener stays usable.
Result<Fd> accept(int listener, Deadline deadline);

// Sends/receives exactly data.size() bytes. Unavailable when the peer closed
// or reset, DeadlineExceeded past `deadline`.
Result<void> sendAll(int fd, std::span<const uint8_t> data, Deadline deadline);
Result<void> recvAll(int fd, std::span<uint8_t> data, Deadline deadline);
// Gathers several buffers into one sendmsg where possible.
Result<void> sendAllv(int fd, std::vector<std::span<const uint8_t>> parts, Deadline deadline);

// SCM_RIGHTS: sends `data` (at least 1 byte) with file descriptors.
Result<void> sendWithFds(int fd, std::span<const uint8_t> data, std::span<const int> fds);
// Receives up to data.size() bytes and up to `max_fds` descriptors.
struct Received {
  size_t bytes = 0;
  std::vector<Fd> fds;
};
Result<Received> recvWithFds(int fd, std::span<uint8_t> data, size_t max_fds, Deadline deadline);

// The connected unix peer's credentials.
struct PeerCred {
  int pid = 0, uid = -1, gid = -1;
};
Result<PeerCred> peerCred(int fd);

// True when the peer has closed or reset (without consuming data).
bool peerClosed(int fd);

// Raises this process's soft limit of open files to its hard limit: a
// server's connection caps are then what its flags say, not the shell's
// default of 1024.
void raiseFdLimit();

}  // namespace cwasi::net
