// cat (command): copies its request (stdin) to its response (stdout), so
// that a test chooses the CGI output a function gives, malformed included.
#include <stdio.h>

int main(void) {
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    if (fwrite(buf, 1, n, stdout) != n) return 1;
  }
  return 0;
}
