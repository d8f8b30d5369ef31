// memory-bomb (command): allocates and touches memory until it is stopped.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Chunks are chained so that they escape: otherwise the compiler may delete
// the allocations as unused.
struct chunk {
  struct chunk* next;
};
static struct chunk* volatile head;

int main(void) {
  for (unsigned long total = 0;; total += 1 << 20) {
    struct chunk* p = malloc(1 << 20);
    if (!p) {
      // Reached only if the host lets allocation fail instead of trapping.
      fprintf(stderr, "memory-bomb: malloc failed after %lu MiB\n", total >> 20);
      return 3;
    }
    memset(p, 0xab, 1 << 20);
    p->next = head;
    head = p;
  }
}
