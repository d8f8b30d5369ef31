// Fields of JSON documents that come from outside — node registry entries,
// OCI manifests, indexes and configs, runtime specs — read without
// nlohmann's value(), which throws when the document is not an object or the
// field is there with another type. Each returns `fallback` then, as for a
// missing field. Header-only; the user links nlohmann_json.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace cwasi {

// The field `key` of `j`, or null when `j` is not an object or has no such field.
inline const nlohmann::json* jsonField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline std::string jsonString(const nlohmann::json& j, const char* key, std::string fallback = "") {
  const nlohmann::json* f = jsonField(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : fallback;
}

inline bool jsonBool(const nlohmann::json& j, const char* key, bool fallback) {
  const nlohmann::json* f = jsonField(j, key);
  return f != nullptr && f->is_boolean() ? f->get<bool>() : fallback;
}

// An integer that T holds; a float, or an integer out of T's range, is no
// value (converting it would overflow).
template <typename T>
T jsonInteger(const nlohmann::json& j, const char* key, T fallback) {
  const nlohmann::json* f = jsonField(j, key);
  // is_number_integer() holds for unsigned numbers too.
  if (f == nullptr || !f->is_number_integer()) return fallback;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (f->is_number_unsigned()) {
    const uint64_t v = f->get<uint64_t>();
    return v <= kMax ? static_cast<T>(v) : fallback;
  }
  const int64_t v = f->get<int64_t>();
  if (v >= 0) return static_cast<uint64_t>(v) <= kMax ? static_cast<T>(v) : fallback;
  const bool fits = std::numeric_limits<T>::is_signed &&
                    v >= static_cast<int64_t>(std::numeric_limits<T>::min());
  return fits ? static_cast<T>(v) : fallback;
}

// The field when it is an object, else `fallback`.
inline nlohmann::json jsonObject(const nlohmann::json& j, const char* key,
                                 nlohmann::json fallback = nlohmann::json::object()) {
  const nlohmann::json* f = jsonField(j, key);
  return f != nullptr && f->is_object() ? *f : fallback;
}

}  // namespace cwasi
