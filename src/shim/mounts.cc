#include "cwasi/shim/mounts.h"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "cwasi/common/log.h"

namespace cwasi::shim {

MountOptions parseMountOptions(const std::vector<std::string>& options) {
  static const std::map<std::string, unsigned long> kFlags = {
      {"ro", MS_RDONLY},        {"nosuid", MS_NOSUID},   {"nodev", MS_NODEV},
      {"noexec", MS_NOEXEC},    {"bind", MS_BIND},       {"rbind", MS_BIND | MS_REC},
      {"sync", MS_SYNCHRONOUS}, {"noatime", MS_NOATIME}, {"relatime", MS_RELATIME}};
  MountOptions out;
  for (const auto& o : options) {
    if (auto it = kFlags.find(o); it != kFlags.end()) {
      out.flags |= it->second;
    } else if (o != "rw" && o != "defaults") {
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  return out;
}

Result<std::unique_ptr<MountedRootfs>> MountedRootfs::mount(const std::vector<Mount>& mounts,
                                                           const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::create_directories(target, ec);
  // Owns what is mounted so far: a failure half-way unmounts it.
  std::unique_ptr<MountedRootfs> rootfs(new MountedRootfs(target, 0));
  for (const auto& m : mounts) {
    const MountOptions o = parseMountOptions(m.options);
    const char* type = m.type == "bind" || m.type.empty() ? nullptr : m.type.c_str();
    // Read-only is applied by a remount below (bind mounts ignore MS_RDONLY
    // on the first mount).
    if (::mount(m.source.c_str(), target.c_str(), type, o.flags & ~MS_RDONLY,
                o.data.empty() ? nullptr : o.data.c_str()) != 0) {
      const int err = errno;
      return internal("mount " + m.type + " " + m.source + " on " + target.string() + ": " +
                      std::strerror(err));
    }
    ++rootfs->layers_;
    // Best effort, as before: the guest's preopen is read-only anyway when
    // the spec says so.
    if ((o.flags & MS_BIND) && (o.flags & MS_RDONLY) &&
        ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      const int err = errno;
      CWASI_LOG(kWarn, "remount " << target.string() << " read-only: " << std::strerror(err));
    }
  }
  return rootfs;
}

Result<void> MountedRootfs::unmount() {
  for (; layers_ > 0; --layers_) {
    if (::umount2(target_.c_str(), MNT_DETACH) != 0) {
      const int err = errno;
      return internal("unmount " + target_.string() + ": " + std::strerror(err));
    }
  }
  return {};
}

MountedRootfs::~MountedRootfs() {
  if (auto r = unmount(); !r.ok()) CWASI_LOG(kWarn, r.error().message());
}

}  // namespace cwasi::shim
