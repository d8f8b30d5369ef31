#include "cwasi/node/deployment.h"

#include <algorithm>
#include <span>

#include <nlohmann/json.hpp>

#include "cwasi/comm/frame.h"
#include "cwasi/comm/outbound.h"

namespace cwasi::node {
namespace {

using json = nlohmann::json;

Result<std::map<std::string, std::string>> stringMap(const json& j, const char* field) {
  std::map<std::string, std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return invalidArgument(std::string(field) + " must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      out[k] = v.dump();
    } else {
      return invalidArgument(std::string(field) + "." + k + " must be a string");
    }
  }
  return out;
}

Result<std::string> stringField(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalidArgument(std::string(field) + " must be a string");
  return it->get<std::string>();
}

// An integer given as a JSON number or a string (labels are strings).
Result<int> intValue(const json& v, const std::string& what, int lo, int hi) {
  long long n = 0;
  if (v.is_number_integer()) {
    n = v.get<long long>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != 0) return invalidArgument(what + " must be an integer, got '" + s + "'");
  } else {
    return invalidArgument(what + " must be an integer");
  }
  if (n < lo || n > hi) {
    return invalidArgument(what + " must be between " + std::to_string(lo) + " and " +
                           std::to_string(hi));
  }
  return static_cast<int>(n);
}

Result<std::chrono::milliseconds> durationValue(const json& v, const std::string& what) {
  if (v.is_number_integer() && v.get<long long>() >= 0) return std::chrono::milliseconds(v.get<long long>());
  if (v.is_string()) {
    auto d = parseDuration(v.get<std::string>());
    if (!d.ok()) return invalidArgument(what + ": " + d.error().message());
    return d;
  }
  return invalidArgument(what + " must be a duration (\"30s\", \"500ms\") or milliseconds");
}

// "12.5Mi" -> (12.5, "Mi"): plain decimal digits only — no sign, exponent,
// hex, "nan" or "inf", which strtod would take.
Result<std::pair<double, std::string>> decimalPrefix(const std::string& s, const char* what) {
  size_t i = 0, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0 || digits > 18) return invalidArgument(std::string("bad ") + what + " '" + s + "'");
  return std::make_pair(std::strtod(s.substr(0, i).c_str(), nullptr), s.substr(i));
}

}  // namespace

Result<uint64_t> parseByteSize(const std::string& s) {
  TRY_ASSIGN(auto number, decimalPrefix(s, "size"));
  const double v = number.first;
  const std::string unit = number.second;
  static const std::map<std::string, double> kUnits = {
      {"", 1},          {"B", 1},         {"K", 1e3},       {"k", 1e3},         {"M", 1e6},
      {"G", 1e9},       {"Ki", 1024.0},   {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"KB", 1e3},
      {"MB", 1e6},      {"GB", 1e9},      {"KiB", 1024.0},  {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return invalidArgument("bad size unit in '" + s + "' (use Ki, Mi, Gi)");
  const double bytes = v * it->second;
  if (bytes > 1e15) return invalidArgument("size '" + s + "' is too large");
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::milliseconds> parseDuration(const std::string& s) {
  TRY_ASSIGN(auto number, decimalPrefix(s, "duration"));
  const double v = number.first;
  const std::string unit = number.second;
  double ms = 0;
  if (unit.empty() || unit == "ms") {
    ms = v;
  } else if (unit == "s") {
    ms = v * 1e3;
  } else if (unit == "m") {
    ms = v * 60e3;
  } else if (unit == "h") {
    ms = v * 3600e3;
  } else {
    return invalidArgument("bad duration unit in '" + s + "' (use ms, s, m, h)");
  }
  if (ms > 1e12) return invalidArgument("duration '" + s + "' is too long");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<void> checkName(std::string_view kind, const std::string& name) {
  if (dns1123Label(name)) return {};
  return invalidArgument("invalid " + std::string(kind) + " name '" + name +
                         "': use lowercase letters, digits and '-', starting and ending with "
                         "a letter or digit, up to 63 (a DNS-1123 label, as Kubernetes and "
                         "OpenFaaS require)");
}


namespace {

// Every field a deployment (or its stored record) may carry.
constexpr const char* kFields[] = {
    "service", "name", "image", "module", "storedModule", "digest", "imageDigest", "namespace",
    "envProcess", "envVars", "secrets", "constraints", "labels", "annotations", "limits", "requests",
    "readOnlyRootFilesystem", "createdAt", "trustDomain", "minScale", "maxScale",
    "targetConcurrency", "maxInflight", "timeout", "scaleToZeroAfter", "public",
    "allowedOutboundHosts"};

Result<void> onlyKnownFields(const json& j, std::span<const char* const> known, const std::string& in) {
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (std::find_if(known.begin(), known.end(), [&](const char* f) { return key == f; }) ==
        known.end()) {
      return invalidArgument(in + key + ": cwasid does not support this field");
    }
  }
  return {};
}

Result<std::vector<std::string>> stringList(const json& j, const char* field) {
  std::vector<std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return invalidArgument(std::string(field) + " must be a list of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return invalidArgument(std::string(field) + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// "limits" or "requests": {memory, cpu}, checked, kept as given.
Result<Resources> resources(const json& j, const char* field, uint64_t* bytes, int* millis) {
  Resources r;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return r;
  if (!it->is_object()) return invalidArgument(std::string(field) + " must be an object");
  static constexpr const char* kKnown[] = {"memory", "cpu"};
  TRY(onlyKnownFields(*it, kKnown, std::string(field) + "."));
  TRY_ASSIGN(r.memory, stringField(*it, "memory"));
  TRY_ASSIGN(r.cpu, stringField(*it, "cpu"));
  if (!r.memory.empty()) {
    auto b = parseByteSize(r.memory);
    if (!b.ok()) return invalidArgument(std::string(field) + ".memory: " + b.error().message());
    // Linear memory grows by 64 KiB pages; less than one would read as "no limit".
    if (*b < 65536) return invalidArgument(std::string(field) + ".memory: '" + r.memory + "' is below 64Ki");
    *bytes = *b;
  }
  if (!r.cpu.empty()) {
    auto m = parseCpu(r.cpu);
    if (!m.ok()) return invalidArgument(std::string(field) + ".cpu: " + m.error().message());
    *millis = *m;
  }
  return r;
}

}  // namespace

Result<void> checkNamespace(std::string_view ns) {
  if (ns.empty() || ns == kFunctionNamespace) return {};
  return invalidArgument("namespace: cwasid has one namespace, " + std::string(kFunctionNamespace) +
                         "; got '" + std::string(ns) + "'");
}

Result<int> parseCpu(const std::string& s) {
  const bool milli = !s.empty() && s.back() == 'm';
  TRY_ASSIGN(auto number, decimalPrefix(milli ? s.substr(0, s.size() - 1) : s, "cpu"));
  if (!number.second.empty()) return invalidArgument("bad cpu '" + s + "' (use cores, 0.5, or millicores, 500m)");
  const double m = milli ? number.first : number.first * 1000;
  if (m < 1) return invalidArgument("cpu '" + s + "' is below 1m");
  if (m > 1e6) return invalidArgument("cpu '" + s + "' is too large");
  return static_cast<int>(m + 0.5);
}

int Deployment::inflightCap() const {
  int cap = max_inflight > 0 ? max_inflight : max_scale * target_concurrency;
  if (cpu_millis > 0) cap = std::min(cap, (cpu_millis + 999) / 1000);
  return cap;
}

Result<Deployment> parseDeployment(const json& j) {
  if (!j.is_object()) return invalidArgument("a deployment must be a JSON object");
  TRY(onlyKnownFields(j, kFields, ""));
  Deployment d;
  TRY_ASSIGN(d.name, stringField(j, "service"));
  if (d.name.empty()) {
    TRY_ASSIGN(d.name, stringField(j, "name"));
  }
  if (d.name.empty()) return invalidArgument("service (the function's name) is required");
  TRY(checkName("function", d.name));
  TRY_ASSIGN(std::string ns, stringField(j, "namespace"));
  TRY(checkNamespace(ns));
  TRY_ASSIGN(d.image, stringField(j, "image"));
  if (d.image.empty()) {
    TRY_ASSIGN(d.image, stringField(j, "module"));
  }
  TRY_ASSIGN(d.module, stringField(j, "storedModule"));
  TRY_ASSIGN(d.digest, stringField(j, "digest"));
  TRY_ASSIGN(d.image_digest, stringField(j, "imageDigest"));
  if (d.image.empty() && d.module.empty()) {
    return invalidArgument("image (an image reference, or the absolute path of a .wasm/.wat "
                           "module or an OCI image tarball on the daemon's host) is required");
  }
  TRY_ASSIGN(d.env_process, stringField(j, "envProcess"));
  TRY_ASSIGN(d.env, stringMap(j, "envVars"));
  TRY_ASSIGN(d.labels, stringMap(j, "labels"));
  TRY_ASSIGN(d.annotations, stringMap(j, "annotations"));
  TRY_ASSIGN(d.response, trigger::responseModeFrom(d.annotations));
  TRY_ASSIGN(d.secrets, stringList(j, "secrets"));
  for (size_t i = 0; i < d.secrets.size(); ++i) {
    if (auto r = checkName("secret", d.secrets[i]); !r.ok()) {
      return invalidArgument("secrets: " + r.error().message());
    }
    if (std::find(d.secrets.begin(), d.secrets.begin() + static_cast<ptrdiff_t>(i), d.secrets[i]) !=
        d.secrets.begin() + static_cast<ptrdiff_t>(i)) {
      return invalidArgument("secrets: '" + d.secrets[i] + "' is named twice");
    }
  }
  TRY_ASSIGN(std::vector<std::string> constraints, stringList(j, "constraints"));
  if (!constraints.empty()) {
    return invalidArgument("constraints: cwasid runs functions on this one node and places "
                           "nothing; deploy without them (the Kubernetes operator places "
                           "functions)");
  }
  TRY_ASSIGN(d.allowed_outbound_hosts, stringList(j, "allowedOutboundHosts"));
  if (auto grants = comm::OutboundGrants::parse(d.allowed_outbound_hosts); !grants.ok()) {
    return grants.error().withContext("allowedOutboundHosts");
  }
  TRY_ASSIGN(d.created_at, stringField(j, "createdAt"));
  TRY_ASSIGN(std::string domain, stringField(j, "trustDomain"));
  if (!domain.empty()) d.trust_domain = domain;
  if (auto it = j.find("readOnlyRootFilesystem"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalidArgument("readOnlyRootFilesystem must be true or false");
    d.read_only_root_filesystem = it->get<bool>();
  }

  TRY_ASSIGN(d.limits, resources(j, "limits", &d.memory_bytes, &d.cpu_millis));
  uint64_t requested_bytes = 0;
  int requested_millis = 0;
  TRY_ASSIGN(d.requests, resources(j, "requests", &requested_bytes, &requested_millis));
  if (d.memory_bytes != 0 && requested_bytes > d.memory_bytes) {
    return invalidArgument("requests.memory (" + d.requests.memory + ") exceeds limits.memory (" +
                           d.limits.memory + ")");
  }
  if (d.cpu_millis != 0 && requested_millis > d.cpu_millis) {
    return invalidArgument("requests.cpu (" + d.requests.cpu + ") exceeds limits.cpu (" +
                           d.limits.cpu + ")");
  }

  // Labels first, then explicit fields override.
  const auto& l = d.labels;
  if (auto it = l.find("com.openfaas.scale.min"); it != l.end()) {
    TRY_ASSIGN(d.min_scale, intValue(it->second, "label com.openfaas.scale.min", 0, 1000));
  }
  if (auto it = l.find("com.openfaas.scale.max"); it != l.end()) {
    TRY_ASSIGN(d.max_scale, intValue(it->second, "label com.openfaas.scale.max", 1, 1000));
  }
  if (auto it = l.find("com.openfaas.scale.target"); it != l.end()) {
    TRY_ASSIGN(d.target_concurrency,
               intValue(it->second, "label com.openfaas.scale.target", 1, 100000));
  }
  if (auto it = l.find("com.openfaas.scale.type"); it != l.end()) {
    if (it->second == "rps") {
      d.scale_metric = ScaleMetric::kRps;
    } else if (it->second != "capacity") {
      return invalidArgument("label com.openfaas.scale.type: cwasid scales by 'capacity' (in "
                             "flight) or 'rps', not '" + it->second + "'");
    }
  }
  if (auto it = l.find("com.openfaas.scale.zero"); it != l.end() && it->second == "true") {
    d.min_scale = 0;
  }
  if (auto it = l.find("com.openfaas.scale.zero-duration"); it != l.end()) {
    TRY_ASSIGN(d.scale_to_zero_after,
               durationValue(it->second, "label com.openfaas.scale.zero-duration"));
  }
  if (auto it = j.find("minScale"); it != j.end()) {
    TRY_ASSIGN(d.min_scale, intValue(*it, "minScale", 0, 1000));
  }
  if (auto it = j.find("maxScale"); it != j.end()) {
    TRY_ASSIGN(d.max_scale, intValue(*it, "maxScale", 1, 1000));
  }
  if (auto it = j.find("targetConcurrency"); it != j.end()) {
    TRY_ASSIGN(d.target_concurrency, intValue(*it, "targetConcurrency", 1, 100000));
  }
  if (auto it = j.find("maxInflight"); it != j.end()) {
    TRY_ASSIGN(d.max_inflight, intValue(*it, "maxInflight", 0, 1000000));
  }
  if (auto it = j.find("timeout"); it != j.end()) {
    TRY_ASSIGN(d.timeout, durationValue(*it, "timeout"));
  }
  if (auto it = j.find("scaleToZeroAfter"); it != j.end()) {
    TRY_ASSIGN(d.scale_to_zero_after, durationValue(*it, "scaleToZeroAfter"));
  }
  if (auto it = j.find("public"); it != j.end()) {
    if (!it->is_boolean()) return invalidArgument("public must be true or false");
    d.is_public = it->get<bool>();
  }
  if (d.min_scale > d.max_scale) {
    return invalidArgument("minScale (" + std::to_string(d.min_scale) + ") exceeds maxScale (" +
                           std::to_string(d.max_scale) + ")");
  }
  return d;
}

json toJson(const Deployment& d) {
  json j = {{"service", d.name},
            {"image", d.image},
            {"storedModule", d.module},
            {"digest", d.digest},
            {"envVars", d.env},
            {"labels", d.labels},
            {"annotations", d.annotations},
            {"trustDomain", d.trust_domain},
            {"createdAt", d.created_at},
            {"minScale", d.min_scale},
            {"maxScale", d.max_scale},
            {"targetConcurrency", d.target_concurrency},
            {"maxInflight", d.max_inflight},
            {"timeout", d.timeout.count()},
            {"scaleToZeroAfter", d.scale_to_zero_after.count()},
            {"public", d.is_public}};
  if (!d.image_digest.empty()) j["imageDigest"] = d.image_digest;
  if (!d.env_process.empty()) j["envProcess"] = d.env_process;
  if (!d.secrets.empty()) j["secrets"] = d.secrets;
  if (!d.allowed_outbound_hosts.empty()) j["allowedOutboundHosts"] = d.allowed_outbound_hosts;
  if (d.read_only_root_filesystem) j["readOnlyRootFilesystem"] = true;
  auto resourcesJson = [](const Resources& r) {
    json out = json::object();
    if (!r.memory.empty()) out["memory"] = r.memory;
    if (!r.cpu.empty()) out["cpu"] = r.cpu;
    return out;
  };
  if (json l = resourcesJson(d.limits); !l.empty()) j["limits"] = l;
  if (json r = resourcesJson(d.requests); !r.empty()) j["requests"] = r;
  return j;
}

}  // namespace cwasi::node
