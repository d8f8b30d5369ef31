#include "support/docker_registry.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "cwasi/common/subprocess.h"

namespace cwasi::testing {

DockerRegistry::DockerRegistry(Options options) {
  port_ = testbed::freePort();
  std::string config = "version: 0.1\nlog: {level: info, formatter: text}\nstorage:\n  filesystem:\n"
                       "    rootdirectory: " + (dir_ / "data").string() +
                       "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
  if (!options.username.empty()) {
    SubprocessOptions o;
    o.argv = {"htpasswd", "-Bbn", options.username, options.password};
    auto r = runSubprocess(o);
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << "htpasswd (apache2-utils) failed";
    if (r.ok()) writeText(dir_ / "htpasswd", r->out);
    config += "auth:\n  htpasswd:\n    realm: cwasi-test\n    path: " + (dir_ / "htpasswd").string() + "\n";
  }
  writeText(dir_ / "config.yml", config);
  // The access log goes to stdout and the rest to stderr: both to a file,
  // which requests() reads, and none to a pipe nobody drains.
  auto p = testbed::ChildProcess::start(
      {"sh", "-c", "exec docker-registry serve \"$0\" >>\"$1\" 2>&1", (dir_ / "config.yml").string(),
       (dir_ / "registry.log").string()});
  if (p.ok()) process_.emplace(std::move(*p));
  for (int i = 0; i < 100 && !up(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

bool DockerRegistry::up() const {
  SubprocessOptions o;
  o.argv = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://" + address() + "/v2/"};
  auto r = runSubprocess(o);
  return r.ok() && (r->out == "200" || r->out == "401");
}

void DockerRegistry::stop() {
  if (process_) process_->stop();
  process_.reset();
}

int DockerRegistry::requests(std::string_view method, std::string_view path_part) const {
  std::istringstream log(readText(dir_ / "registry.log"));
  const std::string request = "\"" + std::string(method) + " /v2/";
  int n = 0;
  for (std::string line; std::getline(log, line);) {
    const size_t at = line.find(request);
    if (at == std::string::npos) continue;
    const size_t end = line.find(" HTTP/", at);
    if (line.substr(at, end - at).find(path_part) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace cwasi::testing
