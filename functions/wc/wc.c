// wc (command): counts lines, words and bytes of stdin, like `wc`.
#include <ctype.h>
#include <stdio.h>

int main(void) {
  unsigned long lines = 0, words = 0, bytes = 0;
  int in_word = 0;
  static char buf[65536];  // not on the 64 KiB shadow stack
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = (unsigned char)buf[i];
      if (c == '\n') ++lines;
      if (isspace(c)) {
        in_word = 0;
      } else if (!in_word) {
        in_word = 1;
        ++words;
      }
    }
    bytes += n;
  }
  printf("%lu %lu %lu\n", lines, words, bytes);
  return 0;
}
