#include "cwasi/shim/cgroups.h"

#include <cerrno>
#include <cstring>

#include "cwasi/common/files.h"

namespace cwasi::shim {
namespace fs = std::filesystem;
namespace {

std::string readSmall(const fs::path& p) {
  auto bytes = readFile(p);
  if (!bytes.ok()) return "";
  std::string s(bytes->begin(), bytes->end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<void> writeSmall(const fs::path& p, const std::string& value) {
  FILE* f = std::fopen(p.c_str(), "w");
  if (f == nullptr) return errnoError("open " + p.string(), errno);
  const bool ok = std::fputs(value.c_str(), f) >= 0;
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return errnoError("write " + p.string(), ok ? errno : err);
  return {};
}

// Creates `dir` and its missing parents below `hierarchy`; in a cpuset
// hierarchy each new level inherits its parent's cpus and mems.
Result<void> makeCgroup(const fs::path& hierarchy, const fs::path& rel, bool cpuset) {
  fs::path at = hierarchy;
  for (const auto& part : rel) {
    if (part.empty() || part == "/") continue;
    const fs::path parent = at;
    at /= part;
    std::error_code ec;
    if (fs::is_directory(at, ec)) continue;
    if (!fs::create_directory(at, ec) && !fs::is_directory(at)) {
      return internal("cannot create cgroup " + at.string() + ": " + ec.message());
    }
    if (cpuset) {
      for (const char* key : {"cpuset.cpus", "cpuset.mems"}) {
        if (readSmall(at / key).empty()) TRY(writeSmall(at / key, readSmall(parent / key)));
      }
    }
  }
  return {};
}

}  // namespace

Result<void> joinCgroup(const std::string& cgroups_path, pid_t pid, const fs::path& root) {
  if (cgroups_path.empty()) return {};
  const fs::path rel = fs::path(cgroups_path).relative_path();
  for (const auto& part : rel) {
    if (part == "..") return invalidArgument("cgroupsPath " + cgroups_path + " leaves the cgroup root");
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path hierarchy = entry.path();
    // v1 hierarchies only (a symlink names a co-mounted one twice).
    if (entry.is_symlink(ec) || hierarchy.filename() == "unified") continue;
    if (!fs::exists(hierarchy / "cgroup.procs", ec)) continue;
    const bool cpuset = fs::exists(hierarchy / "cpuset.cpus", ec);
    if (auto made = makeCgroup(hierarchy, rel, cpuset); !made.ok()) {
      return made.error().withContext(hierarchy.filename().string());
    }
    if (auto moved = writeSmall(hierarchy / rel / "cgroup.procs", std::to_string(pid)); !moved.ok()) {
      return internal("cannot join cgroup " + (hierarchy / rel).string() + ": " +
                      moved.error().message());
    }
  }
  return {};
}

}  // namespace cwasi::shim
