// cat-file (command): copies the file named by argv[1] (inside a granted
// directory) to stdout. Exits 1 with a message when it cannot open it.
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: cat-file PATH\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "cat-file: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  static char buf[65536];  // not on the 64 KiB shadow stack
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (fwrite(buf, 1, n, stdout) != n) {
      fprintf(stderr, "cat-file: write failed: %s\n", strerror(errno));
      return 1;
    }
  }
  fclose(f);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "cat-file: write failed: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}
