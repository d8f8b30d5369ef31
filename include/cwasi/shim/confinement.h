// The serving shim runs guests in its own process (unlike runc's shims), so
// beside Wasmtime's sandbox it confines itself: no new privileges (nothing it
// execs gains any), and a seccomp filter that refuses (EPERM) the system calls
// a shim never needs and an escaped guest would want: ptrace and process_vm_*,
// kernel modules, kexec, reboot, swap, bpf, perf, keyrings, userfaultfd,
// open_by_handle_at, clock and time setting, chroot/pivot_root, acct, iopl.
// What it needs stays: mount and umount (rootfs), setns (the pod's network).
#pragma once

#include "cwasi/common/result.h"

namespace cwasi::shim {

// Applies both to the calling process (every thread it starts afterwards
// inherits them). Irreversible. Internal when the kernel refuses.
Result<void> confineShim();

}  // namespace cwasi::shim
