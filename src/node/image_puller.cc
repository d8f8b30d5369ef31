#include "cwasi/node/image_puller.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "cwasi/common/base64.h"
#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/oci/image.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

// docker login writes Docker Hub's entry as "https://index.docker.io/v1/";
// other hosts sometimes with a scheme too.
std::string hostOfAuthKey(std::string key) {
  if (const size_t scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (const size_t slash = key.find('/'); slash != std::string::npos) key = key.substr(0, slash);
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
  return key;
}

Result<std::string> mirrorHost(const std::string& registry, const std::string& endpoint) {
  const std::string what = "mirrors." + registry + ": '" + endpoint + "'";
  if (endpoint.rfind("https://", 0) == 0) {
    return invalidArgument(what + ": cwasid speaks plain HTTP only (http://HOST[:PORT])");
  }
  if (endpoint.rfind("http://", 0) != 0) return invalidArgument(what + " is not http://HOST[:PORT]");
  std::string host = endpoint.substr(7);
  while (!host.empty() && host.back() == '/') host.pop_back();
  if (host.empty() || host.find('/') != std::string::npos || host.find('@') != std::string::npos) {
    return invalidArgument(what + " is not http://HOST[:PORT] (no path)");
  }
  return host;
}

bool retryElsewhere(Code c) {
  return c == Code::kNotFound || c == Code::kUnavailable || c == Code::kDeadlineExceeded;
}

}  // namespace

Result<RegistryConfig> parseRegistryConfig(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalidArgument("not a JSON object");
  RegistryConfig c;
  if (auto it = doc.find("auths"); it != doc.end()) {
    if (!it->is_object()) return invalidArgument("auths must be an object of HOST: {auth}");
    for (const auto& [key, entry] : it->items()) {
      const std::string what = "auths." + key;
      if (!entry.is_object()) return invalidArgument(what + " must be an object");
      RegistryCredentials cred;
      if (auto a = entry.find("auth"); a != entry.end() && !a->is_null()) {
        if (!a->is_string()) return invalidArgument(what + ".auth must be a string");
        auto bytes = base64Decode(a->get<std::string>());
        const std::string decoded = bytes.ok() ? std::string(bytes->begin(), bytes->end()) : "";
        const size_t colon = decoded.find(':');
        if (colon == std::string::npos || colon == 0) {
          return invalidArgument(what + ".auth must be the base64 of USER:PASSWORD");
        }
        cred = {decoded.substr(0, colon), decoded.substr(colon + 1)};
      } else {
        auto u = entry.find("username");
        auto p = entry.find("password");
        if (u == entry.end() || p == entry.end() || !u->is_string() || !p->is_string() ||
            u->get<std::string>().empty()) {
          return invalidArgument(what + " needs \"auth\" (base64 of USER:PASSWORD) or "
                                        "\"username\" and \"password\"");
        }
        cred = {u->get<std::string>(), p->get<std::string>()};
      }
      c.auths[hostOfAuthKey(key)] = std::move(cred);
    }
  }
  if (auto it = doc.find("mirrors"); it != doc.end()) {
    if (!it->is_object()) return invalidArgument("mirrors must be an object of REGISTRY: [URL...]");
    for (const auto& [registry, list] : it->items()) {
      if (!list.is_array() || list.empty()) {
        return invalidArgument("mirrors." + registry + " must be a list of http:// URLs");
      }
      for (const auto& endpoint : list) {
        if (!endpoint.is_string()) {
          return invalidArgument("mirrors." + registry + " must be a list of http:// URLs");
        }
        TRY_ASSIGN(std::string host, mirrorHost(registry, endpoint.get<std::string>()));
        c.mirrors[hostOfAuthKey(registry)].push_back(std::move(host));
      }
    }
  }
  return c;
}

Result<RegistryConfig> loadRegistryConfig(const std::filesystem::path& file) {
  auto bytes = readRegularFile(file, 1 << 20);
  if (!bytes.ok()) return invalidArgument("registry config " + bytes.error().message());
  auto c = parseRegistryConfig({reinterpret_cast<const char*>(bytes->data()), bytes->size()});
  if (!c.ok()) return invalidArgument("registry config " + file.string() + ": " + c.error().message());
  return c;
}

bool isImageReference(std::string_view image) { return !image.empty() && image.front() != '/'; }

Result<ImagePuller::Pulled> ImagePuller::pull(std::string_view image, uint64_t max_bytes) const {
  if (image.rfind("./", 0) == 0 || image.rfind("../", 0) == 0) {
    return invalidArgument("image '" + std::string(image) +
                           "' is a relative path: give the absolute path on the daemon's host");
  }
  auto parsed = oci::normalizeImageReference(image);
  if (!parsed.ok()) {
    return invalidArgument("image '" + std::string(image) +
                           "' is neither an absolute path on the daemon's host nor an image "
                           "reference: " + parsed.error().message());
  }
  const oci::ImageReference ref = std::move(*parsed);
  const std::string name = ref.toString();
  std::vector<std::string> hosts;
  if (auto it = config_.mirrors.find(ref.registry); it != config_.mirrors.end()) hosts = it->second;
  // Docker Hub itself speaks HTTPS only: reachable through a mirror, or not at all.
  if (ref.registry != "docker.io") hosts.push_back(ref.registry);
  if (hosts.empty()) {
    // Most likely a file meant: say how to give one.
    const bool file_like = std::string_view(image).find(".wasm") != std::string_view::npos ||
                           std::string_view(image).find(".wat") != std::string_view::npos ||
                           std::string_view(image).find(".tar") != std::string_view::npos;
    return invalidArgument(
        "image " + name + " cannot be pulled: no mirror is configured for docker.io, and "
        "cwasid speaks plain HTTP only (add a \"mirrors\" entry to --registry-config, or name "
        "a registry: HOST:PORT/" + ref.repository + ")" +
        (file_like ? "; a module file must be given by its absolute path on the daemon's host"
                   : ""));
  }
  const auto deadline = std::chrono::steady_clock::now() + config_.pull_timeout;
  auto transportFor = [&](const std::string& host) {
    RegistryTransportOptions o;
    if (auto a = config_.auths.find(host); a != config_.auths.end()) o.credentials = a->second;
    o.deadline = deadline;
    o.request_timeout = config_.pull_timeout;
    o.max_bytes = max_bytes;
    return PlainHttpRegistryTransport(std::move(o));
  };
  // What a registry's refusal means to whoever deploys.
  auto explain = [&](const std::string& host, const Error& e) -> Error {
    const std::string at = host == ref.registry ? "" : " (mirror " + host + ")";
    switch (e.code()) {
      case Code::kNotFound:
        return notFound("image " + name + " not found" + at + ": " + e.message());
      case Code::kPermissionDenied: {
        const bool configured = config_.auths.contains(host);
        return permissionDenied("image " + name + ": registry " + host + " refused access " +
                                (configured ? "with the credentials configured for it"
                                            : "without credentials (none are configured for " +
                                                  host + " in --registry-config)") +
                                ": " + e.message());
      }
      case Code::kUnavailable:
      case Code::kDeadlineExceeded:
        return unavailable("image " + name + at + ": " + e.message());
      case Code::kDataLoss:  // the registry sent what it did not promise: 502
        return dataLoss("image " + name + at + ": " + e.message());
      case Code::kResourceExhausted:
        return resourceExhausted("image " + name + " is larger than a deployment may pull (" +
                                 std::to_string(max_bytes >> 20) + " MiB)");
      default:
        return invalidArgument("image " + name + at + ": " + e.message());
    }
  };

  std::optional<Error> failed;
  for (const std::string& host : hosts) {
    oci::ImageReference at = ref;
    at.registry = host;
    PlainHttpRegistryTransport http = transportFor(host);
    auto digest = oci::resolveDigest(at, http);
    if (!digest.ok()) {
      Error e = explain(host, digest.error());
      CWASI_LOG(kInfo, "pull: " << e.message());
      // A mirror that lacks the image or is down: the next one may have it.
      // The first NotFound is kept: it says more than a later mirror being down.
      if (!failed || (failed->code() != Code::kNotFound && e.code() == Code::kNotFound)) failed = e;
      if (retryElsewhere(digest.error().code())) continue;
      return e;
    }
    if (auto stored = state_.pulledModule(*digest)) {
      auto bytes = readRegularFile(*stored, max_bytes);
      if (bytes.ok()) return Pulled{*digest, std::move(*bytes), true};
    }
    at.reference = *digest;  // what was resolved, even if the tag moves meanwhile
    if (auto taken = takeSlot(deadline); !taken.ok()) return explain(host, taken.error());
    struct Slot {
      const ImagePuller& puller;
      ~Slot() { puller.giveSlot(); }
    } slot{*this};
    auto tarball = oci::pullImage(at, http);
    if (!tarball.ok()) return explain(host, tarball.error());
    auto img = oci::readImageArchive(std::span<const uint8_t>(*tarball), max_bytes);
    if (!img.ok() && img.error().code() == Code::kResourceExhausted) {
      return explain(host, img.error());  // a layer that inflates past the cap
    }
    if (!img.ok()) {
      return invalidArgument("image " + name + " is not a Wasm image cwasi can run: " +
                             img.error().message());
    }
    CWASI_LOG(kInfo, "pulled " << name << " (" << *digest << ") from " << host);
    return Pulled{*digest, std::move(img->module), false};
  }
  return *failed;
}

Result<void> ImagePuller::takeSlot(std::chrono::steady_clock::time_point deadline) const {
  MutexLock lock(mu_);
  while (downloading_ >= config_.max_concurrent_pulls) {
    if (!slot_freed_.waitUntil(mu_, deadline) && downloading_ >= config_.max_concurrent_pulls) {
      return unavailable("waited the pull timeout for one of the " +
                         std::to_string(config_.max_concurrent_pulls) +
                         " downloads at once (--max-concurrent-pulls) to end");
    }
  }
  ++downloading_;
  return {};
}

void ImagePuller::giveSlot() const {
  {
    MutexLock lock(mu_);
    --downloading_;
  }
  slot_freed_.notifyOne();
}

}  // namespace cwasi::node
