#include "cwasi/shim/shim.h"

int main(int argc, char** argv) {
  return cwasi::shim::shimMain(std::vector<std::string>(argv + 1, argv + argc));
}
