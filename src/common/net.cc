#include "cwasi/common/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace cwasi::net {
namespace {

int pollTimeoutMs(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > INT32_MAX ? INT32_MAX : static_cast<int>(left.count()) + 1;
}

// Waits for `events` on fd; DeadlineExceeded when the deadline passes.
Result<void> waitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int timeout = pollTimeoutMs(deadline);
    int r = ::poll(&p, 1, timeout);
    if (r > 0) return {};
    if (r == 0) return deadlineExceeded("socket operation timed out");
    if (errno != EINTR) return errnoError("poll", errno);
  }
}

Result<sockaddr_storage> resolve(const Endpoint& ep, socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  const char* host = ep.host.empty() ? nullptr : ep.host.c_str();
  if (host == nullptr) hints.ai_flags |= AI_PASSIVE;
  int rc = ::getaddrinfo(host, port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return invalidArgument("cannot resolve " + ep.toString() + ": " + gai_strerror(rc));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return ss;
}

Endpoint fromSockaddr(const sockaddr_storage& ss) {
  Endpoint ep;
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    ep.port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    ep.port = ntohs(a->sin6_port);
  }
  ep.host = buf;
  return ep;
}

Result<sockaddr_un> unixAddr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return invalidArgument("unix socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Result<void> finishConnect(int fd, Deadline deadline, const std::string& what) {
  TRY(waitFor(fd, POLLOUT, deadline));
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return errnoError("cannot connect to " + what, err);
  return {};
}

}  // namespace

std::string Endpoint::toString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parseEndpoint(std::string_view text) {
  Endpoint ep;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalidArgument("bad endpoint '" + std::string(text) + "' (want [v6]:port)");
    }
    ep.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return invalidArgument("bad endpoint '" + std::string(text) + "' (want host:port)");
    }
    ep.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  // A bracket left in the host could not be told from the brackets around an
  // IPv6 address once the endpoint is written out again (toString).
  if (ep.host.find_first_of("[]") != std::string::npos) {
    return invalidArgument("bad host in endpoint '" + std::string(text) + "'");
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535) {
    return invalidArgument("bad port in endpoint '" + std::string(text) + "'");
  }
  ep.port = static_cast<uint16_t>(v);
  return ep;
}

void tuneTcp(int fd, int buffer_bytes) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  }
}

Result<Fd> listenTcp(const Endpoint& ep, Endpoint* bound, int backlog) {
  socklen_t len = 0;
  TRY_ASSIGN(sockaddr_storage ss, resolve(ep, &len));
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoError("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return errnoError("cannot listen on " + ep.toString(), errno);
  }
  if (::listen(fd.get(), backlog) != 0) return errnoError("listen", errno);
  if (bound) {
    TRY_ASSIGN(*bound, boundEndpoint(fd.get()));
  }
  return fd;
}

Result<Endpoint> boundEndpoint(int fd) {
  sockaddr_storage actual{};
  socklen_t alen = sizeof actual;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &alen) != 0) {
    return errnoError("getsockname", errno);
  }
  return fromSockaddr(actual);
}

Result<Fd> connectTcp(const Endpoint& ep, Deadline deadline, int buffer_bytes) {
  socklen_t len = 0;
  TRY_ASSIGN(sockaddr_storage ss, resolve(ep, &len));
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoError("socket", errno);
  tuneTcp(fd.get(), buffer_bytes);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return errnoError("cannot connect to " + ep.toString(), errno);
    TRY(finishConnect(fd.get(), deadline, ep.toString()));
  }
  return fd;
}

Result<Fd> listenUnix(const std::string& path, int backlog) {
  TRY_ASSIGN(sockaddr_un addr, unixAddr(path));
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoError("socket", errno);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errnoError("cannot listen on " + path, errno);
  }
  ::chmod(path.c_str(), 0600);  // the owner only; peers are checked again on accept
  if (::listen(fd.get(), backlog) != 0) return errnoError("listen", errno);
  return fd;
}

Result<Fd> connectUnix(const std::string& path, Deadline deadline) {
  TRY_ASSIGN(sockaddr_un addr, unixAddr(path));
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoError("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return errnoError("cannot connect to " + path, errno);
    }
    TRY(finishConnect(fd.get(), deadline, path));
  }
  return fd;
}

Result<Fd> accept(int listener, Deadline deadline) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) return Fd(fd);
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN) return errnoError("accept", errno);
    auto w = waitFor(listener, POLLIN, deadline);
    if (!w.ok()) return unavailable("no connection before the deadline");
  }
}

Result<void> sendAll(int fd, std::span<const uint8_t> data, Deadline deadline) {
  return sendAllv(fd, {data}, deadline);
}

Result<void> sendAllv(int fd, std::vector<std::span<const uint8_t>> parts, Deadline deadline) {
  size_t idx = 0, off = 0;
  while (idx < parts.size()) {
    iovec iov[8];
    int n = 0;
    for (size_t i = idx; i < parts.size() && n < 8; ++i) {
      size_t skip = i == idx ? off : 0;
      if (parts[i].size() == skip) continue;
      iov[n].iov_base = const_cast<uint8_t*>(parts[i].data() + skip);
      iov[n].iov_len = parts[i].size() - skip;
      ++n;
    }
    if (n == 0) break;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        TRY(waitFor(fd, POLLOUT, deadline));
        continue;
      }
      if (errno == EPIPE || errno == ECONNRESET) return unavailable("peer closed the connection");
      return errnoError("send", errno);
    }
    auto left = static_cast<size_t>(w);
    while (idx < parts.size() && left > 0) {
      size_t avail = parts[idx].size() - off;
      if (left >= avail) {
        left -= avail;
        ++idx;
        off = 0;
      } else {
        off += left;
        left = 0;
      }
    }
    while (idx < parts.size() && parts[idx].size() == off) {
      ++idx;
      off = 0;
    }
  }
  return {};
}

Result<void> recvAll(int fd, std::span<uint8_t> data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t r = ::recv(fd, data.data() + off, data.size() - off, 0);
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return unavailable("peer closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      TRY(waitFor(fd, POLLIN, deadline));
      continue;
    }
    if (errno == ECONNRESET) return unavailable("connection reset by peer");
    return errnoError("recv", errno);
  }
  return {};
}

Result<void> sendWithFds(int fd, std::span<const uint8_t> data, std::span<const int> fds) {
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w == static_cast<ssize_t>(data.size())) return {};
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      TRY(waitFor(fd, POLLOUT, in(std::chrono::seconds(5))));
      continue;
    }
    if (w < 0) return errnoError("sendmsg", errno);
    return internal("short sendmsg with file descriptors");
  }
}

Result<Received> recvWithFds(int fd, std::span<uint8_t> data, size_t max_fds, Deadline deadline) {
  for (;;) {
    iovec iov{data.data(), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * max_fds));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {
      TRY(waitFor(fd, POLLIN, deadline));
      continue;
    }
    if (r < 0) return errnoError("recvmsg", errno);
    if (r == 0) return unavailable("peer closed the connection");
    Received out;
    out.bytes = static_cast<size_t>(r);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int f;
        std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
        out.fds.emplace_back(f);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) return invalidArgument("too many file descriptors received");
    return out;
  }
}

Result<PeerCred> peerCred(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return errnoError("SO_PEERCRED", errno);
  }
  return PeerCred{cred.pid, static_cast<int>(cred.uid), static_cast<int>(cred.gid)};
}

bool peerClosed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) return true;
  if (p.revents & POLLIN) {
    uint8_t b;
    ssize_t r = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0;
  }
  return false;
}

void raiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace cwasi::net
