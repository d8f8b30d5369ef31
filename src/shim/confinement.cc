#include "cwasi/shim/confinement.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace cwasi::shim {
namespace {

// Refused with EPERM.
constexpr int kDenied[] = {
    SYS_ptrace,        SYS_process_vm_readv, SYS_process_vm_writev, SYS_kexec_load,
    SYS_kexec_file_load, SYS_init_module,    SYS_finit_module,      SYS_delete_module,
    SYS_reboot,        SYS_swapon,           SYS_swapoff,           SYS_bpf,
    SYS_perf_event_open, SYS_keyctl,         SYS_add_key,           SYS_request_key,
    SYS_userfaultfd,   SYS_open_by_handle_at, SYS_settimeofday,     SYS_clock_settime,
    SYS_adjtimex,      SYS_clock_adjtime,    SYS_chroot,            SYS_pivot_root,
    SYS_acct,          SYS_iopl,             SYS_ioperm,            SYS_syslog,
    SYS_quotactl,      SYS_lookup_dcookie,   SYS_personality,
};

}  // namespace

Result<void> confineShim() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errnoError("no_new_privs", errno);
  std::vector<sock_filter> f;
  // Another architecture's calling convention would slip past the numbers: refuse it.
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  // x32 system calls (bit 30) would alias the numbers below.
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  for (int nr : kDenied) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
    return errnoError("seccomp", errno);
  }
  return {};
}

}  // namespace cwasi::shim
