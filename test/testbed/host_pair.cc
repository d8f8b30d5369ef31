#include "testbed/host_pair.h"

#include <fstream>

namespace cwasi::testbed {

Result<std::unique_ptr<HostPair>> HostPair::create(const HostPairOptions& o) {
  auto pair = std::unique_ptr<HostPair>(new HostPair());
  host::HostConfig a;
  a.engine.max_instances = o.max_instances;
  a.ring_bytes = o.ring_bytes;
  a.default_timeout = o.default_timeout;
  for (const auto& [name, path] : o.caller_functions) a.functions.push_back({name, path});

  if (o.mode == comm::Mode::kEmbedded) {
    for (const auto& [name, path] : o.target_functions) a.functions.push_back({name, path});
    a.policy = comm::ModePolicy::kEmbedded;
  } else {
    std::vector<std::string> argv = {o.cwasi_binary.string(), "serve", "--ring-kb",
                                     std::to_string(o.ring_bytes / 1024)};
    for (const auto& [name, path] : o.target_functions) {
      argv.push_back("--function");
      argv.push_back(name + "=" + path.string());
    }
    if (o.mode == comm::Mode::kLocal) {
      argv.insert(argv.end(), {"--runtime-dir", (o.work_dir / "rt").string()});
      a.runtime_dir = o.work_dir / "rt";
      a.policy = comm::ModePolicy::kLocal;
    } else if (o.mode == comm::Mode::kRemote) {
      std::string listen = (o.netns ? o.netns->nsAddress() : std::string("127.0.0.1")) + ":0";
      argv.insert(argv.end(), {"--listen", listen});
      if (!o.token.empty()) argv.insert(argv.end(), {"--token", o.token});
      a.cluster_file = o.work_dir / "cluster.json";
      a.token = o.token;
      a.policy = comm::ModePolicy::kRemote;
    } else {
      argv.insert(argv.end(), {"--redis", o.redis});
      a.redis = o.redis;
      a.policy = comm::ModePolicy::kRedis;
    }
    if (o.netns) argv = o.netns->exec(argv);
    TRY_ASSIGN(ChildProcess target,
               ChildProcess::start(argv, {{"CWASI_CACHE_DIR", (o.work_dir / "cache").string()}}));
    pair->target_.emplace(std::move(target));
    auto line = pair->target_->readLine(std::chrono::seconds(120));
    if (!line || line->rfind("cwasi serve: ready", 0) != 0) {
      return unavailable("target host did not start: " + line.value_or("<no output>"));
    }
    if (o.mode == comm::Mode::kRemote) {
      auto at = line->find("tcp=");
      std::string addr = line->substr(at + 4, line->find(' ', at) - at - 4);
      std::ofstream cluster(a.cluster_file);
      cluster << "{\"functions\": {";
      bool first = true;
      for (const auto& [name, path] : o.target_functions) {
        cluster << (first ? "" : ", ") << "\"" << name << "\": \"" << addr << "\"";
        first = false;
      }
      cluster << "}}";
    }
  }
  TRY_ASSIGN(pair->caller_, host::FunctionHost::start(std::move(a)));
  return pair;
}

int HostPair::stopTarget() {
  if (!target_ || !target_->running()) return 0;
  return target_->stop();
}

HostPair::~HostPair() {
  stopTarget();
  caller_.reset();
}

}  // namespace cwasi::testbed
