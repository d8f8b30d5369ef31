// hello (command): the smallest function. Also built natively for benchmarks.
#include <stdio.h>

int main(void) {
  puts("Hello from cwasi!");
  return 0;
}
