#include "cwasi/cli/cli.h"

int main(int argc, char** argv) {
  return cwasi::cli::runDaemon(std::vector<std::string>(argv + 1, argv + argc));
}
