// For the OCI fuzz targets: documents that refer to each other by digest,
// written as text. An input is parts separated by "\n====\n"; in a part,
// "@K" (K a digit) stands for "sha256:<hex>" of part K and "#K" for its size,
// for parts before it. A part that starts with "tar:" or "tgz:" becomes a
// layer: a tar (gzip'd for tgz:) of one file per line, "path=content". So a
// fuzzer can write an image whose digests match, which it could never hash
// its way to.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/sha256.h"
#include "oci/archive.h"

namespace cwasi::fuzz {

inline std::vector<uint8_t> bytesOf(std::string_view s) { return {s.begin(), s.end()}; }

inline std::vector<std::string> splitParts(std::string_view text) {
  constexpr std::string_view kSep = "\n====\n";
  std::vector<std::string> parts;
  for (;;) {
    const size_t at = text.find(kSep);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + kSep.size());
  }
}

// A "tar:"/"tgz:" part as a layer; other parts as they are.
inline std::vector<uint8_t> layerOf(const std::string& part) {
  const bool tgz = part.rfind("tgz:", 0) == 0;
  if (!tgz && part.rfind("tar:", 0) != 0) return bytesOf(part);
  std::vector<oci::TarEntry> entries;
  std::string_view rest = std::string_view(part).substr(4);
  while (!rest.empty()) {
    const std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    entries.push_back({std::string(line.substr(0, eq)), '0', 0644, bytesOf(line.substr(eq + 1))});
  }
  auto tar = oci::writeTar(entries);
  if (!tar.ok()) return bytesOf(part);
  return tgz ? oci::gzip(*tar) : std::move(*tar);
}

// Every part as bytes, its references to earlier parts resolved.
inline std::vector<std::vector<uint8_t>> resolveParts(const std::vector<std::string>& parts) {
  std::vector<std::vector<uint8_t>> out;
  for (const std::string& part : parts) {
    std::string text;
    for (size_t i = 0; i < part.size(); ++i) {
      const char c = part[i];
      const size_t k = i + 1 < part.size() ? static_cast<size_t>(part[i + 1] - '0') : 10;
      if ((c == '@' || c == '#') && k < out.size()) {
        text += c == '@' ? "sha256:" + sha256Hex(out[k]) : std::to_string(out[k].size());
        ++i;
      } else {
        text += c;
      }
    }
    out.push_back(layerOf(text));
  }
  return out;
}

}  // namespace cwasi::fuzz
