// Names that reach paths, URLs and Kubernetes objects: one definition of a
// DNS-1123 label for every layer that checks one.
#pragma once

#include <algorithm>
#include <string_view>

namespace cwasi {

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, up to 63 — the function, secret and trust
// domain names OpenFaaS and Kubernetes accept (so never "." or "..").
inline bool dns1123Label(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-'; });
}

}  // namespace cwasi
