// A task's root filesystem as containerd hands it over: a list of mounts
// (from its snapshotter: overlay, or a bind of a directory) that the shim
// mounts on the bundle's rootfs directory at Create and unmounts at Delete.
// The options are containerd's (`ro`, `rbind`, `lowerdir=...`): Linux mount
// flags by name, the rest passed on as the filesystem's data.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::shim {

// One of containerd's mounts (containerd.types.Mount, without protobuf).
struct Mount {
  std::string type;    // "overlay", "bind"...
  std::string source;  // a device, a directory, or the filesystem's name
  std::vector<std::string> options;
};

// What mount(2) takes for a list of options.
struct MountOptions {
  unsigned long flags = 0;  // MS_RDONLY, MS_BIND...
  std::string data;         // the options that are not flags, comma-separated
};

// Splits containerd's options into mount(2) flags and data ("rw" and
// "defaults" are no-ops).
MountOptions parseMountOptions(const std::vector<std::string>& options);

// Mounts that a task holds while it lives: unmounted (detached) when this
// goes away, or by unmount().
class MountedRootfs {
 public:
  // Mounts `mounts` in order on `target`, creating it if missing. Errors name
  // the mount at fault; nothing stays mounted then.
  static Result<std::unique_ptr<MountedRootfs>> mount(const std::vector<Mount>& mounts,
                                                      const std::filesystem::path& target);
  // Unmounts if unmount() did not (failures are logged).
  ~MountedRootfs();
  MountedRootfs(const MountedRootfs&) = delete;
  MountedRootfs& operator=(const MountedRootfs&) = delete;

  // Detaches the mounts now. Internal names the target when the kernel
  // refuses; calling it again does nothing. Not thread-safe.
  Result<void> unmount();
  const std::filesystem::path& target() const { return target_; }

 private:
  MountedRootfs(std::filesystem::path target, size_t layers)
      : target_(std::move(target)), layers_(layers) {}

  std::filesystem::path target_;
  size_t layers_;  // mounts stacked on target_ still mounted
};

}  // namespace cwasi::shim
