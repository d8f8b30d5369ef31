// out-of-bounds (command): writes far past the end of linear memory.
#include <stdint.h>

__attribute__((noinline)) void write_out_of_bounds(volatile uint32_t* p) { *p = 42; }

int main(void) {
  write_out_of_bounds((volatile uint32_t*)(uintptr_t)0xfffffff0u);
  return 0;
}
