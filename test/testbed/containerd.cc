#include "testbed/containerd.h"

#include <signal.h>

#include <thread>

#include "cwasi/common/files.h"

namespace cwasi::testbed {

namespace fs = std::filesystem;

Result<std::unique_ptr<ContainerdProcess>> ContainerdProcess::start(
    const fs::path& dir, std::vector<std::pair<std::string, std::string>> env) {
  std::unique_ptr<ContainerdProcess> owned(new ContainerdProcess(dir, std::move(env)));
  ContainerdProcess& c = *owned;
  const std::string config = "version = 2\nroot = \"" + (dir / "root").string() + "\"\nstate = \"" +
                             (dir / "state").string() +
                             "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"" +
                             c.socket_ + "\"\n[ttrpc]\n  address = \"" + c.socket_ + ".ttrpc\"\n";
  TRY(writeFileAtomic(dir / "config.toml", {reinterpret_cast<const uint8_t*>(config.data()), config.size()}));
  TRY(c.launch());
  return owned;
}

Result<void> ContainerdProcess::launch() {
  std::vector<std::pair<std::string, std::string>> env = env_;
  TRY_ASSIGN(ChildProcess p, ChildProcess::start({"containerd", "--config", (dir_ / "config.toml").string(),
                                                  "--log-level", "error"},
                                                 env));
  process_.emplace(std::move(p));
  for (int i = 0; i < 300; ++i) {
    if (ctr({"version"}, std::chrono::seconds(5)).exit_code == 0) return {};
    if (process_->wait(std::chrono::milliseconds(0)) != -1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return unavailable("containerd did not start (see its stderr)");
}

Result<void> ContainerdProcess::restart() {
  if (process_) process_->stop();
  process_.reset();
  return launch();
}

SubprocessResult ContainerdProcess::ctr(const std::vector<std::string>& args,
                                        std::chrono::milliseconds timeout,
                                        const std::string& input) const {
  SubprocessOptions o;
  o.input = input;
  o.argv = {"ctr", "-a", socket_};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.timeout = timeout;
  auto r = runSubprocess(o);
  if (!r.ok()) {
    SubprocessResult failed;
    failed.err = r.error().message();
    return failed;
  }
  return *r;
}

std::vector<int> ContainerdProcess::shimPids() const {
  return processesWithCmdline({"containerd-shim-cwasi-v1", socket_});
}

ContainerdProcess::~ContainerdProcess() {
  if (!process_) return;
  process_->stop();
  for (int pid : shimPids()) ::kill(pid, SIGKILL);
}

}  // namespace cwasi::testbed
