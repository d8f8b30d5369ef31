#include "cwasi/comm/locality.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cwasi/comm/frame.h"
#include "cwasi/common/files.h"
#include "cwasi/common/json_fields.h"
#include "cwasi/common/log.h"

namespace cwasi::comm {
namespace fs = std::filesystem;
using nlohmann::json;

uint64_t processStartTime(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return 0;
  // Field 22 (starttime), counted after the ")" that ends the command name.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::stoull(field);
  }
  return 0;
}

NodeRegistry::NodeRegistry(fs::path runtime_dir) : dir_(std::move(runtime_dir) / "functions") {}

Result<void> NodeRegistry::publish(const RegistryEntry& e) {
  if (!validName(e.name)) return invalidArgument("invalid function name '" + e.name + "'");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return internal("cannot create " + dir_.string() + ": " + ec.message());
  json j = {{"name", e.name},   {"socket", e.socket}, {"trust_domain", e.trust_domain},
            {"pid", e.pid},     {"start_time", e.start_time}};
  std::string text = j.dump();
  return writeFileAtomic(dir_ / (e.name + ".json"),
                         {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void NodeRegistry::withdraw(const std::string& name) {
  auto current = readFile(dir_ / (name + ".json"));
  if (!current.ok()) return;
  json j = json::parse(current->begin(), current->end(), nullptr, false);
  if (jsonInteger<pid_t>(j, "pid", 0) == getpid()) {
    std::error_code ec;
    fs::remove(dir_ / (name + ".json"), ec);
  }
}

std::optional<RegistryEntry> NodeRegistry::lookup(const std::string& name) {
  constexpr auto kTtl = std::chrono::seconds(1);
  auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end() && now - it->second.at < kTtl) return it->second.entry;
  }
  auto entry = read(name);
  MutexLock lock(mu_);
  cache_[name] = {entry, now};
  return entry;
}

void NodeRegistry::invalidate(const std::string& name) {
  MutexLock lock(mu_);
  cache_.erase(name);
}

std::optional<RegistryEntry> NodeRegistry::read(const std::string& name) {
  if (!validName(name)) return std::nullopt;
  fs::path file = dir_ / (name + ".json");
  auto bytes = readFile(file);
  if (!bytes.ok()) return std::nullopt;
  json j = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!j.is_object()) {
    CWASI_LOG(kWarn, "ignoring malformed registry entry " << file.string());
    return std::nullopt;
  }
  RegistryEntry e;
  // Any process of the node may write here: a field of the wrong type reads
  // as missing (the entry is then stale), never as an exception.
  e.name = jsonString(j, "name");
  e.socket = jsonString(j, "socket");
  e.trust_domain = jsonString(j, "trust_domain", "default");
  e.pid = jsonInteger<pid_t>(j, "pid", 0);
  e.start_time = jsonInteger<uint64_t>(j, "start_time", 0);
  bool alive = e.pid > 0 && (::kill(e.pid, 0) == 0 || errno == EPERM) &&
               processStartTime(e.pid) == e.start_time;
  if (!alive || e.socket.empty()) {
    CWASI_LOG(kInfo, "removing stale registry entry for " << name << " (pid " << e.pid << ")");
    std::error_code ec;
    fs::remove(file, ec);
    return std::nullopt;
  }
  return e;
}

Result<std::map<std::string, std::string>> ClusterMap::parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object() || !j.contains("functions") || !j["functions"].is_object()) {
    return invalidArgument("cluster map must be {\"functions\": {\"name\": \"host:port\"}}");
  }
  std::map<std::string, std::string> out;
  for (auto& [name, addr] : j["functions"].items()) {
    if (!addr.is_string() || !validName(name)) {
      return invalidArgument("bad cluster map entry for '" + name + "'");
    }
    out[name] = addr.get<std::string>();
  }
  return out;
}

void ClusterMap::reloadIfChanged() {
  auto now = std::chrono::steady_clock::now();
  if (loaded_ && now - checked_ < std::chrono::milliseconds(250)) return;
  checked_ = now;
  std::error_code ec;
  auto mtime = fs::last_write_time(file_, ec);
  if (ec || (loaded_ && mtime == loaded_mtime_)) return;
  auto bytes = readFile(file_);
  if (!bytes.ok()) return;
  auto parsed = parse({reinterpret_cast<const char*>(bytes->data()), bytes->size()});
  if (!parsed.ok()) {
    CWASI_LOG(kWarn, "cluster map " << file_.string() << ": " << parsed.error().message());
    return;
  }
  map_ = std::move(*parsed);
  loaded_mtime_ = mtime;
  loaded_ = true;
}

std::optional<std::string> ClusterMap::lookup(const std::string& name) {
  MutexLock lock(mu_);
  reloadIfChanged();
  auto it = map_.find(name);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

LocalityResolver::LocalityResolver(LocalLookup local, NodeRegistry* registry, ClusterMap* cluster,
                                   ModePolicy policy, CommStats& stats)
    : local_(std::move(local)),
      registry_(registry),
      cluster_(cluster),
      policy_(policy),
      stats_(stats) {}

void LocalityResolver::routeFailed(std::string_view target, const Route& route) {
  if (route.mode == Mode::kLocal && registry_ != nullptr) registry_->invalidate(std::string(target));
}

Result<Route> LocalityResolver::resolve(std::string_view target, std::string_view caller_domain) {
  const std::string name(target);
  auto decide = [&](Route r) -> Result<Route> {
    stats_.decisions[static_cast<int>(r.mode)].fetch_add(1, std::memory_order_relaxed);
    CWASI_LOG(kDebug, "route " << name << " -> " << modeName(r.mode)
                               << (r.endpoint.empty() ? "" : " " + r.endpoint));
    return r;
  };
  const bool any = policy_ == ModePolicy::kAuto;
  bool other_domain = false;
  if (any || policy_ == ModePolicy::kEmbedded) {
    if (auto domain = local_(target)) {
      if (*domain == caller_domain) return decide({Mode::kEmbedded, ""});
      other_domain = true;  // loaded here, but embedding would cross trust domains
    }
  }
  if ((any || policy_ == ModePolicy::kLocal) && registry_ != nullptr) {
    if (auto e = registry_->lookup(name)) return decide({Mode::kLocal, e->socket});
  }
  if ((any || policy_ == ModePolicy::kRemote) && cluster_ != nullptr) {
    if (auto addr = cluster_->lookup(name)) return decide({Mode::kRemote, *addr});
  }
  if (policy_ == ModePolicy::kRedis) return decide({Mode::kRedis, ""});
  if (other_domain) {
    return permissionDenied("function " + name + " is in another trust domain and no " +
                            "local or remote route reaches it");
  }
  return notFound("no function named " + name + " (policy " + policyName(policy_) + ")");
}

}  // namespace cwasi::comm
