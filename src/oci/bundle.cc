#include "cwasi/oci/bundle.h"

#include <nlohmann/json.hpp>

#include "cwasi/common/files.h"
#include "cwasi/common/json_fields.h"

namespace cwasi::oci {

Result<RuntimeSpec> parseRuntimeSpec(std::string_view text, const std::filesystem::path& bundle) {
  using json = nlohmann::json;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalidArgument("config.json is not a JSON object");
  RuntimeSpec s;
  const json& process = j.value("process", json::object());
  if (!process.is_object()) return invalidArgument("config.json: process must be an object");
  auto args = process.find("args");
  if (args == process.end() || !args->is_array() || args->empty()) {
    return invalidArgument("config.json: process.args is empty (args[0] names the Wasm module)");
  }
  for (const auto& a : *args) {
    if (!a.is_string()) return invalidArgument("config.json: process.args must be strings");
    s.args.push_back(a.get<std::string>());
  }
  if (auto env = process.find("env"); env != process.end() && env->is_array()) {
    for (const auto& e : *env) {
      if (!e.is_string()) continue;
      const std::string kv = e.get<std::string>();
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      s.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  if (auto cwd = process.find("cwd"); cwd != process.end() && cwd->is_string()) s.cwd = *cwd;
  std::string root = "rootfs";
  if (auto r = j.find("root"); r != j.end() && r->is_object()) {
    root = jsonString(*r, "path", root);
    s.root_readonly = jsonBool(*r, "readonly", false);
  }
  s.root = std::filesystem::path(root).is_absolute() ? std::filesystem::path(root) : bundle / root;
  if (auto linux_ = j.find("linux"); linux_ != j.end() && linux_->is_object()) {
    if (auto cg = linux_->find("cgroupsPath"); cg != linux_->end() && cg->is_string()) {
      s.cgroups_path = cg->get<std::string>();
    }
    if (auto ns = linux_->find("namespaces"); ns != linux_->end() && ns->is_array()) {
      for (const auto& n : *ns) {
        if (jsonString(n, "type") != "network") continue;
        const std::string path = jsonString(n, "path");
        if (!path.empty() && !std::filesystem::path(path).is_absolute()) {
          return invalidArgument("config.json: the network namespace path must be absolute");
        }
        s.network_namespace = path;
      }
    }
    auto res = linux_->find("resources");
    if (res != linux_->end() && res->is_object()) {
      auto mem = res->find("memory");
      if (mem != res->end() && mem->is_object()) {
        auto limit = mem->find("limit");
        if (limit != mem->end() && limit->is_number_integer() && limit->get<int64_t>() > 0) {
          s.memory_limit = static_cast<uint64_t>(limit->get<int64_t>());
        }
      }
    }
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (v.is_string()) s.annotations[k] = v.get<std::string>();
    }
  }
  return s;
}

Result<RuntimeSpec> readRuntimeSpec(const std::filesystem::path& bundle) {
  TRY_ASSIGN(auto bytes, readFile(bundle / "config.json"));
  return parseRuntimeSpec(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                          bundle);
}

}  // namespace cwasi::oci
