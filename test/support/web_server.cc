#include "support/web_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>

#include "cwasi/common/net.h"

namespace cwasi::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::optional<SeenRequest> readRequest(int fd) {
  std::string data;
  const auto deadline = Clock::now() + 5s;
  size_t head_end = std::string::npos, want = 0;
  while (Clock::now() < deadline) {
    if (head_end != std::string::npos && data.size() >= head_end + 4 + want) break;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return std::nullopt;
    if (n < 0) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    data.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::string lower = data.substr(0, head_end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto cl = lower.find("content-length:"); cl != std::string::npos) {
        want = std::stoul(lower.substr(cl + 15));
      }
    }
  }
  if (head_end == std::string::npos) return std::nullopt;
  SeenRequest r;
  r.head = data.substr(0, head_end);
  r.body = data.substr(head_end + 4);
  size_t sp1 = r.head.find(' '), sp2 = r.head.find(' ', sp1 + 1);
  r.method = r.head.substr(0, sp1);
  r.target = r.head.substr(sp1 + 1, sp2 - sp1 - 1);
  return r;
}

}  // namespace

WebServer::WebServer(Handler handler, std::string host)
    : handler_(std::move(handler)), host_(std::move(host)) {
  net::Endpoint bound;
  auto fd = net::listenTcp({host_, 0}, &bound);
  if (!fd.ok()) {
    error_ = fd.error().toString();
    return;
  }
  listener_ = std::move(*fd);
  port_ = bound.port;
  thread_ = std::thread([this] { serve(); });
}

WebServer::~WebServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string WebServer::url(const std::string& path) const {
  return "http://" + net::Endpoint{host_, port_}.toString() + path;
}

std::vector<SeenRequest> WebServer::requests() {
  MutexLock lock(mu_);
  return seen_;
}

void WebServer::serve() {
  while (!stop_) {
    auto conn = net::accept(listener_.get(), net::in(50ms));
    if (!conn.ok()) continue;
    connections_.fetch_add(1);
    auto req = readRequest(conn->get());
    if (!req) continue;
    {
      MutexLock lock(mu_);
      seen_.push_back(*req);
    }
    std::string answer = handler_(*req);
    if (answer == kStall) {
      while (!stop_) std::this_thread::sleep_for(10ms);
      continue;
    }
    (void)net::sendAll(conn->get(), {reinterpret_cast<const uint8_t*>(answer.data()), answer.size()},
                       net::in(5s));
  }
}

std::string reply(int status, const std::string& body, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

}  // namespace cwasi::testing
