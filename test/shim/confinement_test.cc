// The shim's self-confinement, applied in a child process (it cannot be
// undone in the test process): no_new_privs set, the denied system calls
// refused with EPERM, ordinary ones still working.
#include "cwasi/shim/confinement.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace cwasi::shim {
namespace {

// Runs `check` in a confined child; its exit code (0: all held).
int inConfinedChild(int (*check)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!confineShim().ok()) _exit(100);
    _exit(check());
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

TEST(Confinement, NoNewPrivilegesAndTheDeniedCallsAreRefused) {
  EXPECT_EQ(inConfinedChild([] {
              if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 1;
              if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != -1 || errno != EPERM) return 2;
              if (::syscall(SYS_init_module, nullptr, 0, "") != -1 || errno != EPERM) return 3;
              if (::syscall(SYS_bpf, 0, nullptr, 0) != -1 || errno != EPERM) return 4;
              if (::syscall(SYS_userfaultfd, 0) != -1 || errno != EPERM) return 5;
              return 0;
            }),
            0);
}

TEST(Confinement, WhatTheShimNeedsStillWorks) {
  EXPECT_EQ(inConfinedChild([] {
              int p[2];
              if (::pipe(p) != 0) return 1;
              if (::write(p[1], "x", 1) != 1) return 2;
              if (::getpid() <= 0) return 3;
              // setns and mount are allowed: a bad fd is EBADF/EINVAL, not EPERM.
              if (::syscall(SYS_setns, -1, 0) != -1 || errno == EPERM) return 4;
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace cwasi::shim
