#include "cwasi/oci/distribution.h"

#include <strings.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "archive.h"
#include "cwasi/common/json_fields.h"
#include "cwasi/common/sha256.h"
#include "cwasi/oci/image.h"
#include "layout.h"

namespace cwasi::oci {
namespace {

using json = nlohmann::json;

constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
constexpr char kDockerManifestList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr char kAccept[] =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool validDigest(std::string_view d) {
  if (d.size() != 7 + 64 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string digestOf(std::span<const uint8_t> bytes) { return "sha256:" + sha256Hex(bytes); }

std::string base(const ImageReference& ref) {
  return "http://" + ref.registry + "/v2/" + ref.repository;
}

// The registry's own words for a refusal, when it gave any.
Error refusal(const std::string& what, const RegistryResponse& r) {
  std::string detail(r.body.begin(), r.body.end());
  if (detail.size() > 300) detail.resize(300);
  const std::string msg = what + ": the registry answered " + std::to_string(r.status) +
                          (detail.empty() ? "" : " " + detail);
  switch (r.status) {
    case 401:
    case 403: return permissionDenied(msg);
    case 404: return notFound(msg);
    default: return unavailable(msg);
  }
}

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Uploads one blob unless the registry has it.
Result<void> pushBlob(const ImageReference& ref, const std::string& digest,
                      std::span<const uint8_t> bytes, RegistryTransport& http) {
  TRY_ASSIGN(RegistryResponse head, http.send({"HEAD", base(ref) + "/blobs/" + digest, {}, {}}));
  if (head.status == 200) return {};
  TRY_ASSIGN(RegistryResponse start, http.send({"POST", base(ref) + "/blobs/uploads/", {}, {}}));
  if (start.status != 202) return refusal("starting the upload of " + digest, start);
  std::string location = start.header("Location");
  if (location.empty()) return unavailable("the registry gave no upload location for " + digest);
  if (location[0] == '/') location = "http://" + ref.registry + location;
  location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
  TRY_ASSIGN(RegistryResponse put,
             http.send({"PUT", location, {{"Content-Type", "application/octet-stream"}}, bytes}));
  if (put.status != 201) return refusal("uploading " + digest, put);
  return {};
}

Result<void> pushManifest(const ImageReference& ref, const std::string& reference,
                          const std::string& media_type, std::span<const uint8_t> bytes,
                          RegistryTransport& http) {
  TRY_ASSIGN(RegistryResponse put, http.send({"PUT", base(ref) + "/manifests/" + reference,
                                              {{"Content-Type", media_type}}, bytes}));
  if (put.status != 201) return refusal("putting the manifest " + reference, put);
  return {};
}

// Fetches what `reference` (a tag or digest) names; checks it against the
// digest it claims, or that the registry gives.
Result<RegistryResponse> getManifest(const ImageReference& ref, const std::string& reference,
                                     RegistryTransport& http) {
  TRY_ASSIGN(RegistryResponse r,
             http.send({"GET", base(ref) + "/manifests/" + reference, {{"Accept", kAccept}}, {}}));
  if (r.status != 200) return refusal("manifest " + ref.repository + ":" + reference, r);
  const std::string expected = validDigest(reference) ? reference : r.header("Docker-Content-Digest");
  if (!expected.empty() && digestOf(r.body) != expected) {
    return dataLoss("manifest " + reference + " does not match its digest " + expected);
  }
  return r;
}

Result<std::vector<uint8_t>> getBlob(const ImageReference& ref, const json& descriptor,
                                     RegistryTransport& http) {
  const std::string digest = jsonString(descriptor, "digest");
  if (!validDigest(digest)) return invalidArgument("pulled manifest names a bad digest '" + digest + "'");
  TRY_ASSIGN(RegistryResponse r, http.send({"GET", base(ref) + "/blobs/" + digest, {}, {}}));
  if (r.status != 200) return refusal("blob " + digest, r);
  if (digestOf(r.body) != digest) return dataLoss("blob " + digest + " does not match its digest");
  return std::move(r.body);
}

// From an index, the manifest to pull: wasm first, then linux/amd64, else the first.
Result<json> pickManifest(const json& index) {
  if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty()) {
    return invalidArgument("the image index lists no manifests");
  }
  const json& all = index["manifests"];
  for (const char* os : {"wasip1", "wasi", "linux"}) {
    for (const auto& m : all) {
      const json p = jsonObject(m, "platform");
      const std::string arch = jsonString(p, "architecture");
      if (jsonString(p, "os") == os && (arch == "wasm" || (std::string(os) == "linux" && arch == "amd64"))) {
        return m;
      }
    }
  }
  return all[0];
}

}  // namespace

std::string ImageReference::toString() const {
  return registry + "/" + repository + (validDigest(reference) ? "@" : ":") + reference;
}

std::string ImageReference::tag() const { return validDigest(reference) ? "" : reference; }

Result<ImageReference> parseImageReference(std::string_view text) {
  ImageReference r;
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return invalidArgument("image reference '" + std::string(text) +
                           "' names no registry (REGISTRY/REPOSITORY[:TAG|@DIGEST])");
  }
  r.registry = std::string(text.substr(0, slash));
  std::string_view rest = text.substr(slash + 1);
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    r.reference = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!validDigest(r.reference)) return invalidArgument("bad digest in '" + std::string(text) + "'");
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    r.reference = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  } else {
    r.reference = "latest";
  }
  r.repository = std::string(rest);
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
           c == '-';
  };
  if (r.repository.empty() || r.repository.front() == '/' || r.repository.back() == '/' ||
      r.repository.find("//") != std::string::npos ||
      !std::all_of(r.repository.begin(), r.repository.end(), ok)) {
    return invalidArgument("bad repository '" + r.repository +
                           "' (lowercase letters, digits, '.', '_', '-', '/')");
  }
  if (!validDigest(r.reference) && !validTag(r.reference)) {
    return invalidArgument("bad tag in '" + std::string(text) +
                           "' (letters, digits, '_', '.', '-', up to 128, not starting with '.' or '-')");
  }
  return r;
}

bool validTag(std::string_view tag) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (tag.empty() || tag.size() > 128 || !word(tag[0])) return false;
  return std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

Result<ImageReference> normalizeImageReference(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view first = text.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      return parseImageReference(text);
    }
  }
  // Docker Hub's: official images live under library/.
  const std::string name(text);
  return parseImageReference(slash == std::string_view::npos ? "docker.io/library/" + name
                                                             : "docker.io/" + name);
}

std::string RegistryResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  }
  return "";
}

Result<std::string> pushImage(std::span<const uint8_t> tarball, const ImageReference& ref,
                              RegistryTransport& http) {
  TRY_ASSIGN(Layout layout, readLayout(tarball, kMaxImageBytes));
  TRY_ASSIGN(auto index_bytes, layout.file("index.json"));
  json index = json::parse(index_bytes.begin(), index_bytes.end(), nullptr, false);
  if (index.is_discarded() || !index.contains("manifests") || !index["manifests"].is_array() ||
      index["manifests"].empty()) {
    return invalidArgument("image: index.json lists no manifests");
  }
  const std::string tag = ref.tag().empty() ? "latest" : ref.tag();
  for (const auto& desc : index["manifests"]) {
    TRY_ASSIGN(auto manifest_bytes, layout.blob(desc));
    json manifest = json::parse(manifest_bytes.begin(), manifest_bytes.end(), nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("layers")) {
      return invalidArgument("image: a manifest in the archive is not an image manifest");
    }
    std::vector<json> blobs = {jsonObject(manifest, "config")};
    for (const auto& l : manifest["layers"]) blobs.push_back(l);
    for (const auto& b : blobs) {
      TRY_ASSIGN(auto bytes, layout.blob(b));
      TRY(pushBlob(ref, b["digest"], bytes, http));
    }
    const std::string media_type = jsonString(desc, "mediaType", kMediaTypeManifest);
    const std::string digest = desc["digest"];
    // One manifest: the tag names it. Several: each by digest, the index by the tag.
    TRY(pushManifest(ref, index["manifests"].size() == 1 ? tag : digest, media_type,
                     manifest_bytes, http));
    if (index["manifests"].size() == 1) return digest;
  }
  json pushed = {{"schemaVersion", 2}, {"mediaType", kMediaTypeIndex}, {"manifests", index["manifests"]}};
  const std::string body = pushed.dump();
  TRY(pushManifest(ref, tag, kMediaTypeIndex, bytesOf(body), http));
  return digestOf(bytesOf(body));
}

Result<std::string> resolveDigest(const ImageReference& ref, RegistryTransport& http) {
  if (validDigest(ref.reference)) return ref.reference;
  TRY_ASSIGN(RegistryResponse head, http.send({"HEAD", base(ref) + "/manifests/" + ref.reference,
                                               {{"Accept", kAccept}}, {}}));
  if (head.status != 200) return refusal("manifest " + ref.repository + ":" + ref.reference, head);
  if (std::string digest = head.header("Docker-Content-Digest"); validDigest(digest)) return digest;
  TRY_ASSIGN(RegistryResponse got, getManifest(ref, ref.reference, http));
  return digestOf(got.body);
}

Result<std::vector<uint8_t>> pullImage(const ImageReference& ref, RegistryTransport& http) {
  TRY_ASSIGN(RegistryResponse top, getManifest(ref, ref.reference, http));
  json doc = json::parse(top.body.begin(), top.body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalidArgument("the manifest is not JSON");
  const std::string type = jsonString(doc, "mediaType", top.header("Content-Type"));
  json platform = {{"architecture", "wasm"}, {"os", "wasip1"}};
  std::vector<uint8_t> manifest_bytes = std::move(top.body);
  if (type == kMediaTypeIndex || type == kDockerManifestList || doc.contains("manifests")) {
    TRY_ASSIGN(json chosen, pickManifest(doc));
    platform = jsonObject(chosen, "platform", platform);
    TRY_ASSIGN(RegistryResponse m, getManifest(ref, jsonString(chosen, "digest"), http));
    manifest_bytes = std::move(m.body);
    doc = json::parse(manifest_bytes.begin(), manifest_bytes.end(), nullptr, false);
    if (doc.is_discarded() || !doc.contains("layers")) return invalidArgument("the manifest is not JSON");
  } else if (doc.contains("config")) {
    platform = json::object();  // the config says; the index entry stays plain
  }
  std::vector<TarEntry> entries;
  entries.push_back({"oci-layout", '0', 0644, {}});
  const std::string layout_text = R"({"imageLayoutVersion":"1.0.0"})";
  entries.back().data.assign(layout_text.begin(), layout_text.end());
  entries.push_back({"blobs", '5', 0755, {}});
  entries.push_back({"blobs/sha256", '5', 0755, {}});
  std::vector<json> blobs = {jsonObject(doc, "config")};
  for (const auto& l : doc["layers"]) blobs.push_back(l);
  for (size_t i = 0; i < blobs.size(); ++i) {
    TRY_ASSIGN(auto bytes, getBlob(ref, blobs[i], http));
    if (i == 0 && platform.empty()) {  // the platform, as the image's config states it
      json config = json::parse(bytes.begin(), bytes.end(), nullptr, false);
      if (config.is_object() && config.contains("os") && config.contains("architecture")) {
        platform = {{"architecture", config["architecture"]}, {"os", config["os"]}};
      }
    }
    entries.push_back({"blobs/sha256/" + sha256Hex(bytes), '0', 0644, std::move(bytes)});
  }
  const std::string media_type = jsonString(doc, "mediaType", kMediaTypeManifest) ==
                                         kDockerManifest
                                     ? kDockerManifest
                                     : kMediaTypeManifest;
  json desc = {{"mediaType", media_type},
               {"digest", digestOf(manifest_bytes)},
               {"size", manifest_bytes.size()},
               {"annotations", {{"io.containerd.image.name", ref.toString()},
                                {kAnnotationRefName, ref.tag().empty() ? ref.reference : ref.tag()}}}};
  if (!platform.empty()) desc["platform"] = platform;
  entries.push_back({"blobs/sha256/" + sha256Hex(manifest_bytes), '0', 0644, std::move(manifest_bytes)});
  const std::string index = json{{"schemaVersion", 2}, {"mediaType", kMediaTypeIndex},
                                 {"manifests", {desc}}}.dump();
  entries.push_back({"index.json", '0', 0644, {index.begin(), index.end()}});
  return writeTar(entries);
}

}  // namespace cwasi::oci
