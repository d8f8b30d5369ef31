#include <signal.h>

#include "bench.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return cwasi::bench::benchMain(std::vector<std::string>(argv + 1, argv + argc));
}
