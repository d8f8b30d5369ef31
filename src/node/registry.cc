#include "cwasi/node/registry.h"

#include "cwasi/common/rfc3339.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/oci/image.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

// The largest image or module a deployment may name.
using oci::kMaxImageBytes;

// An error about a module, without what the file says: a WAT parse error
// quotes the offending line, and the file may be one the client could not
// read itself. Only a binary module's error (about its structure) is passed
// on; the full error is logged.
Error withoutContents(const std::string& image, std::span<const uint8_t> bytes, const Error& e) {
  CWASI_LOG(kInfo, "deploy of " << image << " refused: " << e.message());
  const bool binary = bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 'a' && bytes[2] == 's' &&
                      bytes[3] == 'm';
  if (!binary) {
    return invalidArgument(image + " is not a module cwasi can load (neither a valid binary "
                                   "WebAssembly module nor valid WAT text)");
  }
  return invalidArgument(image + " is not a module cwasi can load: " + e.message());
}

// faas-cli appends ":latest" to an image without a tag, so "/abs/x.wasm"
// arrives as "/abs/x.wasm:latest": a path that does not exist but names an
// existing file once a trailing ":TAG" is dropped is that file.
std::filesystem::path withoutTagSuffix(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  const std::string text = path.string();
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || text.find('/', colon) != std::string::npos) return path;
  if (!oci::validTag(std::string_view(text).substr(colon + 1))) return path;
  std::filesystem::path untagged = text.substr(0, colon);
  return std::filesystem::is_regular_file(untagged, ec) ? untagged : path;
}

// The module bytes a module file or an OCI image tarball on this host holds.
Result<std::vector<uint8_t>> moduleFromFile(const std::string& image) {
  const std::filesystem::path path = withoutTagSuffix(image);
  auto bytes = readRegularFile(path, kMaxImageBytes);
  if (!bytes.ok()) {
    const Code code = bytes.error().code() == Code::kResourceExhausted ? Code::kResourceExhausted
                                                                       : Code::kInvalidArgument;
    return Error(code, "image " + bytes.error().message());
  }
  if (oci::looksLikeArchive(*bytes)) {
    auto img = oci::readImageArchive(std::span<const uint8_t>(*bytes));
    if (!img.ok()) return invalidArgument(image + ": " + img.error().message());
    return std::move(img->module);
  }
  return bytes;
}

}  // namespace

void FunctionLog::write(std::string_view text) {
  if (text.empty()) return;
  const auto now = std::chrono::system_clock::now();
  const std::string ts = formatRfc3339(now);
  MutexLock lock(mu_);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) lines_.push_back({++last_seq_, now, ts, std::string(text.substr(pos, end - pos))});
    pos = end + 1;
  }
  while (lines_.size() > max_lines_) lines_.pop_front();
}

std::vector<FunctionLog::Line> FunctionLog::tail(size_t n) const {
  MutexLock lock(mu_);
  const size_t skip = lines_.size() > n ? lines_.size() - n : 0;
  return {lines_.begin() + static_cast<std::ptrdiff_t>(skip), lines_.end()};
}

std::vector<FunctionLog::Line> FunctionLog::after(uint64_t seq) const {
  MutexLock lock(mu_);
  // Numbers are consecutive: line `seq` is at seq - front.seq.
  const uint64_t front = lines_.empty() ? 1 : lines_.front().seq;
  const uint64_t skip = seq < front ? 0 : std::min<uint64_t>(lines_.size(), seq - front + 1);
  return {lines_.begin() + static_cast<std::ptrdiff_t>(skip), lines_.end()};
}

FunctionRegistry::FunctionRegistry(host::FunctionHost& host, StateDir& state,
                                   trigger::Metrics& metrics,
                                   const Clock& clock, std::chrono::milliseconds stable_window,
                                   const ImagePuller* images, size_t running_ceiling)
    : host_(host),
      state_(state),
      metrics_(metrics),
      clock_(clock),
      stable_window_(stable_window),
      images_(images),
      running_ceiling_(running_ceiling) {}

Result<FunctionRegistry::ImageModule> FunctionRegistry::moduleOf(const std::string& image) const {
  if (!isImageReference(image)) {
    TRY_ASSIGN(std::vector<uint8_t> bytes, moduleFromFile(image));
    return ImageModule{std::move(bytes), ""};
  }
  if (images_ == nullptr) {
    return failedPrecondition("image " + image + ": this host pulls no images (give the absolute "
                              "path of a module or an OCI image tarball)");
  }
  TRY_ASSIGN(ImagePuller::Pulled pulled, images_->pull(image, kMaxImageBytes));
  return ImageModule{std::move(pulled.module), std::move(pulled.digest)};
}

ScalePolicy FunctionRegistry::policyFor(const Deployment& d) const {
  ScalePolicy p;
  p.min_replicas = d.min_scale;
  p.max_replicas = d.max_scale;
  p.by_rate = d.scale_metric == ScaleMetric::kRps;
  p.target = d.target_concurrency;
  p.max_inflight = d.inflightCap();
  p.scale_to_zero_after = d.scale_to_zero_after;
  p.stable_window = stable_window_;
  return p;
}

std::vector<std::string> FunctionRegistry::restore() {
  std::vector<std::string> errors;
  MutexLock lock(change_mu_);
  for (Deployment& d : state_.loadFunctions(&errors)) {
    const std::string name = d.name;
    // A record from before createdAt.
    if (d.created_at.empty()) d.created_at = formatRfc3339(std::chrono::system_clock::now());
    if (auto r = install(std::move(d), false); !r.ok()) {
      errors.push_back("function " + name + ": " + r.error().message());
    }
  }
  for (Workflow& w : state_.loadWorkflows(&errors)) {
    const std::string name = w.name;
    MutexLock l(mu_);
    workflows_[name] = std::make_shared<const Workflow>(std::move(w));
  }
  return errors;
}

Result<std::shared_ptr<const DeployedTarget>> FunctionRegistry::install(Deployment d,
                                                                       bool persist) {
  std::shared_ptr<const DeployedTarget> previous = find(d.name);
  auto entry = std::make_shared<DeployedTarget>();
  const auto now = clock_.now();
  const ScalePolicy policy = policyFor(d);
  // maxInflight run at once (at most the ceiling) and as many more wait.
  const auto cap = static_cast<size_t>(policy.max_inflight);
  const size_t running = running_ceiling_ > 0 ? std::min(cap, running_ceiling_) : cap;
  if (previous) {
    previous->scaler->setPolicy(policy, now);
    previous->limiter->setCapacity(running, cap);
    entry->scaler = previous->scaler;
    entry->limiter = previous->limiter;
    entry->stats = previous->stats;
    entry->log = previous->log;
  } else {
    entry->scaler = std::make_shared<Scaler>(policy, now);
    entry->limiter = std::make_shared<trigger::Limiter>(running, cap);
    entry->stats = std::make_shared<trigger::TargetStats>();
    entry->log = std::make_shared<FunctionLog>();
  }
  entry->load = entry->scaler;
  entry->name = d.name;
  entry->timeout = d.timeout;
  entry->response = d.response;
  TRY(secretsExist(d));
  host::FunctionSpec spec(d.name, state_.modulePath(d.module));
  spec.trust_domain = d.trust_domain;
  TRY_ASSIGN(spec.allowed_outbound_hosts, comm::OutboundGrants::parse(d.allowed_outbound_hosts));
  spec.limits.memory_bytes = d.memory_bytes;
  spec.env.assign(d.env.begin(), d.env.end());
  // OpenFaaS's envProcess is the watchdog's fprocess variable.
  if (!d.env_process.empty()) spec.env.emplace_back("fprocess", d.env_process);
  if (!d.secrets.empty()) {
    spec.preopens.push_back({state_.path() / "secret-views" / d.name, kSecretsMount, false});
  }
  spec.log = entry->log;
  // A transaction: the module is loaded and checked, then its record and
  // secrets written, and only then does it serve. A bad module or a full
  // disk leaves the old function serving and its record as it was.
  TRY_ASSIGN(host::Prepared prepared, host_.prepare(std::move(spec)));
  auto undo = [&] {
    if (previous) {
      if (persist) (void)state_.saveFunction(previous->deployment);
      (void)state_.writeSecretView(d.name, previous->deployment.secrets);
    } else {
      if (persist) (void)state_.removeFunction(d.name);
      (void)state_.removeSecretView(d.name);
    }
  };
  if (persist) TRY(state_.saveFunction(d));
  if (auto view = state_.writeSecretView(d.name, d.secrets); !view.ok()) {
    undo();
    return std::move(view).error();
  }
  if (auto committed = host_.commit(std::move(prepared)); !committed.ok()) {
    undo();
    return std::move(committed).error();
  }
  entry->deployment = std::move(d);
  {
    MutexLock lock(mu_);
    functions_[entry->deployment.name] = entry;
  }
  metrics_.setReplicas(entry->deployment.name, entry->scaler->replicas());
  return std::shared_ptr<const DeployedTarget>(entry);
}

Result<void> FunctionRegistry::secretsExist(const Deployment& d) const {
  for (const auto& s : d.secrets) {
    if (!state_.hasSecret(s)) {
      return invalidArgument("secret '" + s + "' does not exist (create it first: faas-cli "
                             "secret create " + s + ")");
    }
  }
  return {};
}

void FunctionRegistry::collectModules() {
  std::set<std::string> in_use;
  MutexLock lock(mu_);
  for (const auto& [name, e] : functions_) in_use.insert(e->deployment.module);
  state_.collectModules(in_use);
}

Result<std::shared_ptr<const DeployedTarget>> FunctionRegistry::deploy(Deployment d, bool update) {
  if (d.image.empty()) return invalidArgument("image is required");
  // Read (or pulled) before taking the lock: a slow or huge file, or a slow
  // registry, holds up no one else.
  TRY_ASSIGN(ImageModule image_module, moduleOf(d.image));
  const std::vector<uint8_t>& bytes = image_module.bytes;
  MutexLock lock(change_mu_);
  const std::shared_ptr<const DeployedTarget> existing = find(d.name);
  if (update && !existing) return notFound("no function " + d.name + " to update");
  TRY(secretsExist(d));
  if (!update && existing) {
    return alreadyExists("function " + d.name + " exists (use PUT to update it)");
  }
  d.created_at = existing ? existing->deployment.created_at
                          : formatRfc3339(std::chrono::system_clock::now());
  TRY_ASSIGN(StateDir::StoredModule stored, state_.storeModule(bytes));
  d.module = stored.path.string();
  d.digest = stored.digest;
  d.image_digest = image_module.image_digest;
  if (!d.image_digest.empty()) {
    // Only a cache: without the record the next deploy pulls again.
    if (auto r = state_.rememberPull(d.image_digest, stored); !r.ok()) {
      CWASI_LOG(kWarn, "state: cannot record the pull of " << d.image << ": " << r.error().message());
    }
  }
  const std::string image = d.image;
  auto entry = install(std::move(d), true);
  collectModules();
  if (!entry.ok()) {
    // A module the host refuses is the client's to fix.
    if (entry.error().code() == Code::kInternal || entry.error().code() == Code::kUnknown ||
        entry.error().code() == Code::kAborted || entry.error().code() == Code::kFailedPrecondition ||
        entry.error().code() == Code::kInvalidArgument) {
      return withoutContents(image, bytes, entry.error());
    }
    return std::move(entry).error();
  }
  CWASI_LOG(kInfo, (update ? "updated " : "deployed ")
                       << (*entry)->deployment.name << " ("
                       << (*entry)->deployment.digest.substr(0, 12) << ")");
  return entry;
}

Result<void> FunctionRegistry::remove(const std::string& name) {
  MutexLock lock(change_mu_);
  {
    MutexLock l(mu_);
    if (functions_.erase(name) == 0) return notFound("no function " + name);
  }
  host_.remove(name);
  (void)state_.removeFunction(name);
  (void)state_.removeSecretView(name);
  collectModules();
  metrics_.setReplicas(name, 0);
  CWASI_LOG(kInfo, "removed " << name);
  return {};
}

Result<int> FunctionRegistry::scale(const std::string& name, int replicas) {
  auto entry = find(name);
  if (!entry) return notFound("no function " + name);
  const int set = entry->scaler->scaleTo(replicas, clock_.now());
  if (set == 0) {
    host_.unload(name);
  } else if (auto r = host_.load(name); !r.ok()) {
    return unavailable(r.error().message());
  }
  metrics_.setReplicas(name, set);
  return set;
}

std::shared_ptr<const DeployedTarget> FunctionRegistry::find(std::string_view name) const {
  MutexLock lock(mu_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const DeployedTarget>> FunctionRegistry::list() const {
  MutexLock lock(mu_);
  std::vector<std::shared_ptr<const DeployedTarget>> out;
  for (const auto& [name, e] : functions_) out.push_back(e);
  return out;
}

Result<void> FunctionRegistry::putSecret(const std::string& name, std::span<const uint8_t> value,
                                         bool update) {
  TRY(checkName("secret", name));
  MutexLock lock(change_mu_);
  const bool exists = state_.hasSecret(name);
  if (update && !exists) return notFound("no secret " + name + " to update");
  if (!update && exists) return alreadyExists("secret " + name + " exists (update it instead)");
  TRY(state_.saveSecret(name, value));
  for (const auto& e : list()) {
    const auto& names = e->deployment.secrets;
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    if (auto view = state_.writeSecretView(e->deployment.name, names); !view.ok()) {
      return internal("secret " + name + " saved, but " + e->deployment.name +
                      " does not see it yet: " + view.error().message());
    }
  }
  return {};
}

Result<void> FunctionRegistry::removeSecret(const std::string& name) {
  TRY(checkName("secret", name));
  MutexLock lock(change_mu_);
  if (!state_.hasSecret(name)) return notFound("no secret " + name);
  std::string users;
  for (const auto& e : list()) {
    const auto& names = e->deployment.secrets;
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    users += (users.empty() ? "" : ", ") + e->deployment.name;
  }
  if (!users.empty()) {
    return failedPrecondition("secret " + name + " is used by " + users +
                              "; remove it from them first");
  }
  return state_.removeSecret(name);
}

std::vector<std::string> FunctionRegistry::secrets() const { return state_.secretNames(); }

Result<void> FunctionRegistry::deployWorkflow(Workflow w) {
  MutexLock lock(change_mu_);
  TRY(state_.saveWorkflow(w));
  const std::string name = w.name;
  MutexLock l(mu_);
  workflows_[name] = std::make_shared<const Workflow>(std::move(w));
  return {};
}

Result<void> FunctionRegistry::removeWorkflow(const std::string& name) {
  MutexLock lock(change_mu_);
  {
    MutexLock l(mu_);
    if (workflows_.erase(name) == 0) return notFound("no workflow " + name);
  }
  return state_.removeWorkflow(name);
}

std::shared_ptr<const Workflow> FunctionRegistry::findWorkflow(std::string_view name) const {
  MutexLock lock(mu_);
  auto it = workflows_.find(name);
  return it == workflows_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Workflow>> FunctionRegistry::workflows() const {
  MutexLock lock(mu_);
  std::vector<std::shared_ptr<const Workflow>> out;
  for (const auto& [name, w] : workflows_) out.push_back(w);
  return out;
}

json statusJson(const DeployedTarget& e, bool loaded) {
  const Deployment& d = e.deployment;
  // faas-provider's FunctionStatus: what was submitted, as submitted, with
  // empty fields left out as its omitempty does.
  json j = toJson(d);
  j.erase("service");
  j.erase("storedModule");
  j["name"] = d.name;
  j["namespace"] = kFunctionNamespace;
  j["labels"]["faas_function"] = d.name;
  for (const char* field : {"envVars", "annotations"}) {
    if (j[field].empty()) j.erase(field);
  }
  j["invocationCount"] = e.stats->invocations.load();
  j["coldStarts"] = e.stats->cold_starts.load();
  j["replicas"] = e.scaler->replicas();
  j["availableReplicas"] = loaded ? e.scaler->replicas() : 0;
  j["inflight"] = e.scaler->inflight();
  return j;
}

}  // namespace cwasi::node
