#include <gtest/gtest.h>
#include <signal.h>

int main(int argc, char** argv) {
  // Tests drive child processes through pipes: a child that exits early must
  // not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
