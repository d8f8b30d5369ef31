// A small HTTP/1.1 server on loopback for tests of outbound HTTP: a peer
// standing in for a remote web server, which answers each request with
// bytes a test scripts and counts the connections it gets (a denied request
// must never reach it).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cwasi/common/fd.h"
#include "cwasi/common/mutex.h"

namespace cwasi::testing {

struct SeenRequest {
  std::string method, target, head, body;
};

// Serves one connection at a time, one request each; `handler` answers with
// the raw bytes to send ("" closes without answering; kStall holds the
// connection open until the server stops).
class WebServer {
 public:
  static constexpr const char* kStall = "<stall>";
  using Handler = std::function<std::string(const SeenRequest&)>;

  // Listens on `host`:0; ok() tells whether it could.
  explicit WebServer(Handler handler, std::string host = "127.0.0.1");
  ~WebServer();
  bool ok() const { return listener_.valid(); }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "") const;
  int connections() const { return connections_.load(); }
  std::vector<SeenRequest> requests() EXCLUDES(mu_);

 private:
  void serve();

  Handler handler_;
  Fd listener_;
  std::string host_;
  uint16_t port_ = 0;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  Mutex mu_;
  std::vector<SeenRequest> seen_ GUARDED_BY(mu_);
  std::thread thread_;
};

// "HTTP/1.1 STATUS X" with a Content-Length, `extra_headers` ("K: v\r\n"...) and `body`.
std::string reply(int status, const std::string& body, const std::string& extra_headers = "");

}  // namespace cwasi::testing
