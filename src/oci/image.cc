#include "cwasi/oci/image.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <optional>

#include "archive.h"
#include "layout.h"
#include "cwasi/common/files.h"
#include "cwasi/common/json_fields.h"
#include "cwasi/common/sha256.h"

namespace cwasi::oci {
namespace {

using json = nlohmann::json;

constexpr int kMaxIndexDepth = 4;

Result<json> parseJson(std::span<const uint8_t> bytes, const std::string& what) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalidArgument("image: " + what + " is not a JSON object");
  return j;
}

bool isWasmMediaType(const std::string& t) {
  return t == kMediaTypeWasm || t == kMediaTypeWasmLayer ||
         t == "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
}

bool isTarMediaType(const std::string& t) {
  return t.find(".tar") != std::string::npos || t.find("rootfs.diff") != std::string::npos;
}

bool isWasmMagic(std::span<const uint8_t> b) {
  return b.size() >= 4 && std::memcmp(b.data(), "\0asm", 4) == 0;
}

// The module a tar layer holds: the file the entrypoint names, or its one
// .wasm file. Read as a stream: only the module's bytes are kept.
Result<void> moduleFromLayer(std::span<const uint8_t> blob, uint64_t max_bytes, WasmImage& image) {
  std::string wanted;
  if (!image.args.empty()) {
    wanted = image.args[0];
    while (!wanted.empty() && wanted[0] == '/') wanted.erase(0, 1);
  }
  TarReader reader(blob, max_bytes);
  std::optional<std::string> found;
  std::vector<uint8_t> module;
  int wasm_files = 0;
  for (;;) {
    TRY_ASSIGN(std::optional<TarHeader> h, reader.next());
    if (!h) break;
    if (h->type != '0') continue;
    const bool is_wanted = !wanted.empty() && h->path == wanted;
    if (!is_wanted) {
      if (h->path.size() <= 5 || !h->path.ends_with(".wasm")) continue;
      if (++wasm_files > 1) continue;
    }
    TRY_ASSIGN(std::span<const uint8_t> data, reader.data());
    module.assign(data.begin(), data.end());
    found = h->path;
    if (is_wanted) break;
  }
  if (!found) return {};
  if (*found != wanted && wasm_files > 1) {
    return invalidArgument("image: several .wasm files in a layer and no entrypoint naming one");
  }
  image.module = std::move(module);
  image.module_path = "/" + *found;
  return {};
}

Result<WasmImage> fromManifest(const Layout& layout, const json& manifest, std::string ref,
                               uint64_t max_bytes) {
  WasmImage image;
  image.ref = std::move(ref);
  if (auto a = manifest.find("annotations"); a != manifest.end() && a->is_object()) {
    for (auto& [k, v] : a->items()) {
      if (v.is_string()) image.annotations[k] = v.get<std::string>();
    }
  }
  if (manifest.contains("config")) {
    const json& desc = manifest["config"];
    TRY_ASSIGN(auto bytes, layout.blob(desc));
    if (jsonString(desc, "mediaType") == kMediaTypeConfig) {
      TRY_ASSIGN(json config, parseJson(bytes, "image config"));
      if (auto c = config.find("config"); c != config.end() && c->is_object()) {
        for (const char* key : {"Entrypoint", "Cmd"}) {
          if (auto v = c->find(key); v != c->end() && v->is_array()) {
            for (const auto& s : *v) {
              if (s.is_string()) image.args.push_back(s.get<std::string>());
            }
          }
        }
      }
    }
  }
  auto layers = manifest.find("layers");
  if (layers == manifest.end() || !layers->is_array()) {
    return invalidArgument("image: manifest has no layers");
  }
  for (const json& layer : *layers) {
    const std::string type = jsonString(layer, "mediaType");
    if (isWasmMediaType(type)) {
      TRY_ASSIGN(auto bytes, layout.blob(layer));
      image.module.assign(bytes.begin(), bytes.end());
      image.module_path.clear();
      break;
    }
    if (isTarMediaType(type)) {
      TRY_ASSIGN(auto bytes, layout.blob(layer));
      TRY(moduleFromLayer(bytes, max_bytes, image));
    }
  }
  if (image.module.empty()) {
    return invalidArgument("image: no Wasm module in any layer (media types " +
                           std::string(kMediaTypeWasm) + ", " + kMediaTypeWasmLayer +
                           ", or a tar layer holding a .wasm file)");
  }
  if (!isWasmMagic(image.module)) {
    return invalidArgument("image: the module " + image.module_path + " is not WebAssembly");
  }
  return image;
}

Result<WasmImage> fromIndex(const Layout& layout, const json& index, int depth,
                            uint64_t max_bytes) {
  auto manifests = index.find("manifests");
  if (manifests == index.end() || !manifests->is_array() || manifests->empty()) {
    return invalidArgument("image: index.json lists no manifests");
  }
  // The first manifest (a Wasm platform preferred, as an image may carry several).
  const json* chosen = &(*manifests)[0];
  for (const json& m : *manifests) {
    auto p = m.find("platform");
    if (p != m.end() && p->is_object() && jsonString(*p, "architecture") == "wasm") {
      chosen = &m;
      break;
    }
  }
  TRY_ASSIGN(auto bytes, layout.blob(*chosen));
  TRY_ASSIGN(json doc, parseJson(bytes, "manifest"));
  std::string ref;
  if (auto a = chosen->find("annotations"); a != chosen->end() && a->is_object()) {
    ref = jsonString(*a, "io.containerd.image.name");
    if (ref.empty()) ref = jsonString(*a, kAnnotationRefName);
  }
  const std::string type = jsonString(*chosen, "mediaType");
  if (type == kMediaTypeIndex || doc.contains("manifests")) {
    if (depth >= kMaxIndexDepth) return invalidArgument("image: indexes nested too deeply");
    TRY_ASSIGN(WasmImage image, fromIndex(layout, doc, depth + 1, max_bytes));
    if (image.ref.empty()) image.ref = ref;
    return image;
  }
  return fromManifest(layout, doc, ref, max_bytes);
}

json descriptor(const char* media_type, std::span<const uint8_t> bytes) {
  return {{"mediaType", media_type}, {"digest", "sha256:" + sha256Hex(bytes)}, {"size", bytes.size()}};
}

std::vector<uint8_t> bytesOf(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

bool looksLikeArchive(std::span<const uint8_t> bytes) {
  return isGzip(bytes) || (bytes.size() >= 512 && std::memcmp(bytes.data() + 257, "ustar", 5) == 0);
}

Result<WasmImage> readImageArchive(std::span<const uint8_t> bytes, uint64_t max_bytes) {
  TRY_ASSIGN(Layout layout, readLayout(bytes, max_bytes));
  TRY_ASSIGN(auto index_bytes, layout.file("index.json"));
  TRY_ASSIGN(json index, parseJson(index_bytes, "index.json"));
  return fromIndex(layout, index, 0, max_bytes);
}

Result<WasmImage> readImageArchive(const std::filesystem::path& tarball, uint64_t max_bytes) {
  TRY_ASSIGN(auto bytes, readRegularFile(tarball, max_bytes));
  auto image = readImageArchive(std::span<const uint8_t>(bytes), max_bytes);
  if (!image.ok()) return std::move(image).error().withContext(tarball.string());
  return image;
}

Result<std::vector<uint8_t>> buildImageArchive(std::span<const uint8_t> module,
                                               const BuildOptions& o) {
  if (o.wasm && !isWasmMagic(module)) return invalidArgument("image: the module is not WebAssembly");
  if (o.ref.empty() || o.ref.find_first_of(" \t\n") != std::string::npos) {
    return invalidArgument("image: invalid reference '" + o.ref + "'");
  }
  std::vector<TarEntry> blobs;
  auto addBlob = [&](std::vector<uint8_t> bytes) {
    blobs.push_back({"blobs/sha256/" + sha256Hex(bytes), '0', 0644, std::move(bytes)});
  };

  json layer_desc;
  std::vector<uint8_t> layer;
  json config = {{"architecture", o.architecture}, {"os", o.os}};
  if (o.compat) {
    TRY_ASSIGN(auto tar, writeTar({{o.module_name, '0', 0755, {module.begin(), module.end()}}}));
    layer = gzip(tar);
    layer_desc = descriptor(kMediaTypeLayerGzip, layer);
    config["config"] = {{"Entrypoint", {"/" + o.module_name}}};
    config["rootfs"] = {{"type", "layers"}, {"diff_ids", {"sha256:" + sha256Hex(tar)}}};
  } else {
    layer.assign(module.begin(), module.end());
    layer_desc = descriptor(kMediaTypeWasmLayer, layer);
    config["rootfs"] = {{"type", "layers"}, {"diff_ids", {"sha256:" + sha256Hex(module)}}};
  }
  std::vector<uint8_t> config_bytes = bytesOf(config.dump());
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kMediaTypeManifest},
                   {"config", descriptor(o.compat ? kMediaTypeConfig : kMediaTypeWasmConfig,
                                         config_bytes)},
                   {"layers", {layer_desc}}};
  json annotations = json::object();
  if (o.compat && o.wasm) annotations[kAnnotationVariant] = "compat";
  for (const auto& [k, v] : o.annotations) annotations[k] = v;
  if (!annotations.empty()) manifest["annotations"] = annotations;
  std::vector<uint8_t> manifest_bytes = bytesOf(manifest.dump());

  const size_t colon = o.ref.rfind(':');
  const bool has_tag = colon != std::string::npos && o.ref.find('/', colon) == std::string::npos;
  json manifest_desc = descriptor(kMediaTypeManifest, manifest_bytes);
  manifest_desc["platform"] = {{"architecture", o.architecture}, {"os", o.os}};
  manifest_desc["annotations"] = {{"io.containerd.image.name", o.ref},
                                  {kAnnotationRefName, has_tag ? o.ref.substr(colon + 1) : "latest"}};
  json index = {{"schemaVersion", 2}, {"mediaType", kMediaTypeIndex}, {"manifests", {manifest_desc}}};

  addBlob(std::move(layer));
  addBlob(std::move(config_bytes));
  addBlob(std::move(manifest_bytes));
  std::vector<TarEntry> entries;
  entries.push_back({"oci-layout", '0', 0644, bytesOf(R"({"imageLayoutVersion":"1.0.0"})")});
  entries.push_back({"index.json", '0', 0644, bytesOf(index.dump())});
  entries.push_back({"blobs", '5', 0755, {}});
  entries.push_back({"blobs/sha256", '5', 0755, {}});
  for (auto& b : blobs) entries.push_back(std::move(b));
  return writeTar(entries);
}

}  // namespace cwasi::oci
