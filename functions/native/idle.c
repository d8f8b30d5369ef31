// idle (native): waits for a signal. The runc side of the shim memory benchmark.
#include <unistd.h>

int main(void) {
  for (;;) pause();
}
