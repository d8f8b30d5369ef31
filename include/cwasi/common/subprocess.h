// Running another program to completion: feed stdin, capture stdout/stderr,
// enforce a deadline. Used by tests and benchmarks that drive real binaries
// (cwasi, node, native programs) as a user would.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::string input;              // written to the child's stdin, which is then closed
  // Extra environment on top of this process's (K, V); an empty V unsets K.
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::string> cwd;
  std::chrono::milliseconds timeout{60000};  // the child is killed (SIGKILL) after it
  bool discard_output = false;               // stdout/stderr to /dev/null
};

struct SubprocessResult {
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  bool timed_out = false;  // killed because of the timeout
  std::string out, err;
  std::chrono::nanoseconds wall{0};  // spawn to exit
};

// Runs the program and waits for it. Errors only when it cannot be started.
// The caller must ignore SIGPIPE (a child may close its stdin early).
Result<SubprocessResult> runSubprocess(const SubprocessOptions& options);

}  // namespace cwasi
