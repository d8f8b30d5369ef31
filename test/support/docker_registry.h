// Debian's docker-registry (the CNCF distribution registry) for tests that
// push and pull: on a free loopback port, storage and log in a temp dir,
// optionally behind htpasswd Basic auth. Stopped and removed with its owner.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "support/wasi_test.h"
#include "testbed/child_process.h"

namespace cwasi::testing {

class DockerRegistry {
 public:
  struct Options {
    // When set, every request needs these credentials (htpasswd, bcrypt).
    std::string username;
    std::string password;
  };
  explicit DockerRegistry(Options options = {});

  // Answers on /v2/ (200, or 401 when it wants credentials).
  bool up() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Stops it (SIGTERM); its storage stays until the object goes.
  void stop();
  // How many requests of `method` whose path contains `path_part` its access
  // log shows ("GET", "/blobs/").
  int requests(std::string_view method, std::string_view path_part) const;

 private:
  TempDir dir_;
  int port_ = 0;
  std::optional<testbed::ChildProcess> process_;
};

}  // namespace cwasi::testing
