// Testbed: a second "host" on this machine — a network namespace joined to
// the current one by a veth pair, with addresses we assign from a small
// private /30. Only traffic between the two ends of that pair is ever sent.
// Everything is removed when the object goes away. Needs root and iproute2.
#pragma once

#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::testbed {

class NetnsLink {
 public:
  // Creates namespace "cwasi-<tag>-<pid>" and the veth pair; `subnet` picks
  // 10.213.<subnet>.0/30 (use different ones for concurrent links).
  static Result<NetnsLink> create(const std::string& tag, int subnet);
  NetnsLink(NetnsLink&& o) noexcept;
  NetnsLink& operator=(NetnsLink&&) = delete;
  ~NetnsLink();

  const std::string& name() const { return ns_; }
  const std::string& hostAddress() const { return host_ip_; }  // our end
  const std::string& nsAddress() const { return ns_ip_; }      // inside the namespace
  // argv prefixed to run a command inside the namespace.
  std::vector<std::string> exec(std::vector<std::string> argv) const;

 private:
  NetnsLink() = default;
  std::string ns_, veth_host_, host_ip_, ns_ip_;
};

}  // namespace cwasi::testbed
