// stack-overflow (command): unbounded recursion on the wasm stack (no
// address-taken locals, so nothing lands on the shadow stack in memory).
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long recurse(unsigned long depth, unsigned long salt) {
  if (depth == ~0ul) return salt;  // never true; keeps the compiler from calling it infinite
  // A volatile read after the call keeps it from becoming a loop.
  return recurse(depth + 1, salt * 31 + depth) + sink;
}

int main(int argc, char** argv) {
  (void)argv;
  printf("%lu\n", recurse(0, (unsigned long)argc));
  return 0;
}
