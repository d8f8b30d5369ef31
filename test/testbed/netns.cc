#include "testbed/netns.h"

#include <unistd.h>

#include "cwasi/common/subprocess.h"

namespace cwasi::testbed {
namespace {

Result<void> ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  auto r = runSubprocess({.argv = args, .timeout = std::chrono::seconds(10)});
  if (!r.ok()) return std::move(r).error();
  if (r->exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    return failedPrecondition("`" + cmd + "` failed: " + r->err);
  }
  return {};
}

}  // namespace

Result<NetnsLink> NetnsLink::create(const std::string& tag, int subnet) {
  if (subnet < 0 || subnet > 255) return invalidArgument("subnet must be 0..255");
  NetnsLink l;
  const std::string id = std::to_string(::getpid() % 100000);
  l.ns_ = "cwasi-" + tag + "-" + id;
  l.veth_host_ = "cw" + id + "h" + std::to_string(subnet);  // <= 15 characters
  std::string veth_ns = "cw" + id + "n" + std::to_string(subnet);
  std::string net = "10.213." + std::to_string(subnet) + ".";
  l.host_ip_ = net + "1";
  l.ns_ip_ = net + "2";
  // A leftover from a crashed run of the same pid would make `add` fail.
  (void)ip({"netns", "del", l.ns_});
  (void)ip({"link", "del", l.veth_host_});
  TRY(ip({"netns", "add", l.ns_}));
  NetnsLink guard(std::move(l));  // cleans up if a later step fails
  TRY(ip({"link", "add", guard.veth_host_, "type", "veth", "peer", "name", veth_ns}));
  TRY(ip({"link", "set", veth_ns, "netns", guard.ns_}));
  TRY(ip({"addr", "add", guard.host_ip_ + "/30", "dev", guard.veth_host_}));
  TRY(ip({"link", "set", guard.veth_host_, "up"}));
  TRY(ip({"netns", "exec", guard.ns_, "ip", "addr", "add", guard.ns_ip_ + "/30", "dev", veth_ns}));
  TRY(ip({"netns", "exec", guard.ns_, "ip", "link", "set", veth_ns, "up"}));
  TRY(ip({"netns", "exec", guard.ns_, "ip", "link", "set", "lo", "up"}));
  return guard;
}

NetnsLink::NetnsLink(NetnsLink&& o) noexcept
    : ns_(std::move(o.ns_)),
      veth_host_(std::move(o.veth_host_)),
      host_ip_(std::move(o.host_ip_)),
      ns_ip_(std::move(o.ns_ip_)) {
  o.ns_.clear();
}

NetnsLink::~NetnsLink() {
  if (ns_.empty()) return;
  (void)ip({"link", "del", veth_host_});  // removes both ends
  (void)ip({"netns", "del", ns_});
}

std::vector<std::string> NetnsLink::exec(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns_});
  return argv;
}

}  // namespace cwasi::testbed
